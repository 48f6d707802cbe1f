/* PR_SET_PDEATHSIG: the value reads back, a bad signal is EINVAL, a fork
 * child starts without it, execve keeps it, and the signal arrives when the
 * parent ends (Go's SysProcAttr.Pdeathsig, supervisors' helpers). A change
 * of the effective uid clears it (checked when run as root). */
#include "../test.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static int report_fd = -1;

static void on_usr1(int sig)
{
	(void)sig;
	char c = 'S';
	if (write(report_fd, &c, 1) != 1)
		_exit(5);
	_exit(0);
}

static int pdeathsig(void)
{
	int sig = -1;
	if (prctl(PR_GET_PDEATHSIG, &sig) != 0)
		return -2;
	return sig;
}

/* The exec'd image: says what it kept, then waits for the signal. */
static int after_exec(int fd)
{
	report_fd = fd;
	signal(SIGUSR1, on_usr1);
	char c = pdeathsig() == SIGUSR1 ? 'K' : 'L';
	if (write(fd, &c, 1) != 1)
		return 6;
	alarm(10);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "after-exec") == 0)
		return after_exec(atoi(argv[2]));
	T_BEGIN();
	CHECK_EQ("none at first", pdeathsig(), 0);
	CHECK_OK("set SIGUSR2", prctl(PR_SET_PDEATHSIG, SIGUSR2));
	CHECK_EQ("it reads back", pdeathsig(), SIGUSR2);
	CHECK_ERR("signal 65: EINVAL", prctl(PR_SET_PDEATHSIG, 65), EINVAL);
	CHECK_EQ("a refused value leaves it", pdeathsig(), SIGUSR2);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0)
		_exit(pdeathsig() == 0 ? 0 : 1);
	int st = -1;
	CHECK("a fork child starts without it", waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (geteuid() == 0) {
		CHECK_OK("seteuid(65534)", seteuid(65534));
		CHECK_EQ("a new effective uid clears it", pdeathsig(), 0);
		CHECK_OK("seteuid(0)", seteuid(0));
	} else {
		t_ok("a new effective uid clears it (run as root to check)");
	}
	CHECK_OK("clear it", prctl(PR_SET_PDEATHSIG, 0));

	/* The grandchild sets it, execs, and is signalled when its parent (the
	 * middle process) exits. */
	int p[2];
	CHECK_OK("pipe", pipe(p));
	fflush(stdout);
	pid_t middle = fork();
	if (middle == 0) {
		close(p[0]);
		int ready[2];
		if (pipe(ready) != 0)
			_exit(7);
		pid_t g = fork();
		if (g == 0) {
			close(ready[0]);
			if (prctl(PR_SET_PDEATHSIG, SIGUSR1) != 0)
				_exit(8);
			char fd[16];
			snprintf(fd, sizeof fd, "%d", p[1]);
			/* Tell the middle process it may go once the flag is set. */
			if (write(ready[1], "r", 1) != 1)
				_exit(9);
			execl("/proc/self/exe", argv[0], "after-exec", fd, (char *)NULL);
			_exit(10);
		}
		close(ready[1]);
		char r;
		if (read(ready[0], &r, 1) != 1)
			_exit(11);
		/* Let the exec happen before this process ends. */
		t_pause_ms(200);
		_exit(0);
	}
	close(p[1]);
	st = -1;
	CHECK("the middle process ends", waitpid(middle, &st, 0) == middle && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char got[2] = { 0, 0 };
	CHECK_EQ("execve kept it", read(p[0], &got[0], 1), 1);
	CHECK_EQ("... as SIGUSR1", got[0], 'K');
	CHECK_EQ("the signal came when the parent ended", read(p[0], &got[1], 1), 1);
	CHECK_EQ("... SIGUSR1's handler ran", got[1], 'S');
	close(p[0]);
	T_DONE();
}
