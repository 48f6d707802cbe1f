/* Pids that other processes put into what a process reads are its own
 * namespace's pids: si_pid of SIGCHLD and of a signal a child sends, taken
 * by sigwaitinfo or by a handler, and l_pid of a lock a child holds. */
#include "../test.h"
#include <signal.h>
#include <sys/wait.h>

static volatile pid_t handler_pid;
static void on_usr2(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	handler_pid = si->si_pid;
}

int main(void)
{
	T_BEGIN();
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);

	pid_t parent = getpid();
	pid_t child = fork();
	if (child == 0) {
		kill(parent, SIGUSR1);
		_exit(7);
	}
	siginfo_t si;
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	CHECK_EQ("sigwaitinfo takes the child's SIGUSR1", sigwaitinfo(&usr1, &si), SIGUSR1);
	CHECK_EQ("its si_pid is the child's pid", si.si_pid, child);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	CHECK_EQ("sigwaitinfo takes SIGCHLD", sigwaitinfo(&chld, &si), SIGCHLD);
	CHECK_EQ("SIGCHLD's si_pid is the child's pid", si.si_pid, child);
	CHECK_EQ("SIGCHLD's si_code is CLD_EXITED", si.si_code, CLD_EXITED);
	CHECK_EQ("SIGCHLD's si_status is the exit status", si.si_status, 7);
	waitpid(child, NULL, 0);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_usr2;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR2, &sa, NULL);
	child = fork();
	if (child == 0) {
		kill(parent, SIGUSR2);
		_exit(0);
	}
	waitpid(child, NULL, 0);
	for (int i = 0; i < 1000 && !handler_pid; i++)
		usleep(1000);
	CHECK_EQ("a handler's si_pid is the sender's pid", handler_pid, child);

	/* The lock file lives in a private scratch directory, never in /tmp itself. */
	t_tmpdir_begin();
	int fd = open("locked", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int ready[2], done[2];
	if (fd < 0 || pipe(ready) != 0 || pipe(done) != 0)
		return 2;
	child = fork();
	if (child == 0) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
		char c = 0;
		if (fcntl(fd, F_SETLK, &fl) != 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1 || read(done[0], &c, 1) != 1)
			_exit(2);
		_exit(0);
	}
	char c;
	if (read(ready[0], &c, 1) != 1)
		return 2;
	struct flock probe = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	CHECK_OK("F_GETLK", fcntl(fd, F_GETLK, &probe));
	CHECK_EQ("F_GETLK finds the child's write lock", probe.l_type, F_WRLCK);
	CHECK_EQ("l_pid is the child's pid", probe.l_pid, child);
	if (write(done[1], "x", 1) != 1)
		return 2;
	int st = 0;
	waitpid(child, &st, 0);
	CHECK_EQ("the child held the lock", WEXITSTATUS(st), 0);
	close(fd);
	t_tmpdir_end();
	T_DONE();
}
