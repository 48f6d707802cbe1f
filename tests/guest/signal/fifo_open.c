/* Opening a FIFO sleeps until the other end is opened, and a signal ends
 * that sleep as it ends a read: EINTR when a handler without SA_RESTART
 * runs, a restart with SA_RESTART, and nothing at all for a signal that is
 * ignored (SIGCHLD of an exiting child). creat() of a FIFO sleeps the same. */
#include "../test.h"
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

static volatile int fired;
static void on_alarm(int sig) { (void)sig; fired++; }

static void arm_ms(int ms)
{
	struct itimerval it = { { 0, 0 }, { 0, ms * 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

static void handle_alarm(int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = flags;
	sigaction(SIGALRM, &sa, NULL);
}

/* A child that opens the FIFO for writing after `ms` and closes it again. */
static pid_t writer_after(const char *fifo, int ms)
{
	pid_t pid = fork();
	if (pid == 0) {
		usleep(ms * 1000);
		int fd = open(fifo, O_WRONLY);
		_exit(fd < 0 ? 1 : 0);
	}
	return pid;
}

static int exit_code(pid_t pid)
{
	int st = -1;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

int main(void)
{
	T_BEGIN();
	char dir[] = "/tmp/fifo_open.XXXXXX";
	if (!mkdtemp(dir))
		return 2;
	char fifo[64];
	snprintf(fifo, sizeof fifo, "%s/f", dir);
	CHECK_OK("mkfifo", mkfifo(fifo, 0600));

	handle_alarm(0);
	arm_ms(50);
	CHECK_ERR("open O_RDONLY interrupted by a handler -> EINTR", open(fifo, O_RDONLY), EINTR);
	CHECK_EQ("the handler ran", fired, 1);
	arm_ms(50);
	CHECK_ERR("open O_WRONLY interrupted by a handler -> EINTR", open(fifo, O_WRONLY), EINTR);
	arm_ms(50);
	CHECK_ERR("creat of a FIFO interrupted by a handler -> EINTR", creat(fifo, 0600), EINTR);
	CHECK_EQ("the handler ran each time", fired, 3);

	handle_alarm(SA_RESTART);
	pid_t w = writer_after(fifo, 300);
	arm_ms(50);
	int fd = open(fifo, O_RDONLY);
	CHECK("SA_RESTART: the open restarts and succeeds once a writer comes", fd >= 0);
	CHECK_EQ("the handler ran", fired, 4);
	close(fd);
	CHECK_EQ("the writer opened it", exit_code(w), 0);

	/* SIGCHLD is ignored by default: a child exiting while we sleep in open
	 * must not end the sleep. */
	pid_t quick = fork();
	if (quick == 0)
		_exit(0);
	w = writer_after(fifo, 300);
	fd = open(fifo, O_RDONLY);
	CHECK("an ignored SIGCHLD does not interrupt the open", fd >= 0);
	close(fd);
	CHECK_EQ("the quick child exited", exit_code(quick), 0);
	CHECK_EQ("the writer opened it", exit_code(w), 0);

	unlink(fifo);
	rmdir(dir);
	T_DONE();
}
