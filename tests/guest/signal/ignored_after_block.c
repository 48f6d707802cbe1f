/* A signal Linux ignores by default (SIGWINCH, SIGCHLD, SIGURG), blocked
 * once and unblocked again, is still ignored: sent while the process
 * sleeps in poll or read, it interrupts neither (no EINTR, the poll runs
 * to its timeout, the read returns the data that comes later), and it is
 * not left pending. While blocked, it stays pending, as ever. */
#include "../test.h"
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* A child that sends `sig` to the parent every 10 ms for 200 ms, then
 * writes a byte to `fd`. */
static pid_t pest(int sig, int fd)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		for (int i = 0; i < 20; i++) {
			kill(parent, sig);
			nanosleep(&ts, NULL);
		}
		if (write(fd, "x", 1) != 1)
			_exit(2);
		_exit(0);
	}
	return pid;
}

int main(void)
{
	T_BEGIN();
	sigset_t set, pending;
	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGURG);

	/* Blocked: a sent SIGWINCH stays pending. */
	CHECK_OK("block", sigprocmask(SIG_BLOCK, &set, NULL));
	CHECK_OK("kill SIGWINCH while blocked", kill(getpid(), SIGWINCH));
	sigpending(&pending);
	CHECK("pending while blocked", sigismember(&pending, SIGWINCH));
	/* Unblocked: an ignored pending signal is dropped. */
	CHECK_OK("unblock", sigprocmask(SIG_UNBLOCK, &set, NULL));
	sigpending(&pending);
	CHECK("not pending once unblocked", !sigismember(&pending, SIGWINCH));

	int sigs[] = { SIGWINCH, SIGURG, SIGCHLD };
	const char *names[] = { "SIGWINCH", "SIGURG", "SIGCHLD" };
	for (int k = 0; k < 3; k++) {
		int p[2];
		if (pipe(p) != 0)
			break;
		pid_t pid = pest(sigs[k], p[1]);
		char what[96];
		/* poll with nothing to wait for: runs to its timeout. */
		double t0 = now_s();
		int n = poll(NULL, 0, 100);
		double took = now_s() - t0;
		snprintf(what, sizeof what, "%s does not interrupt poll", names[k]);
		CHECK(what, n == 0 && took >= 0.095);
		/* read: returns the byte written after the signals. */
		char c = 0;
		ssize_t r = read(p[0], &c, 1);
		snprintf(what, sizeof what, "%s does not interrupt read", names[k]);
		CHECK(what, r == 1 && c == 'x');
		int st = 0;
		waitpid(pid, &st, 0);
		snprintf(what, sizeof what, "%s sender exited 0", names[k]);
		CHECK(what, WIFEXITED(st) && WEXITSTATUS(st) == 0);
		sigpending(&pending);
		snprintf(what, sizeof what, "%s not left pending", names[k]);
		CHECK(what, !sigismember(&pending, sigs[k]));
		close(p[0]);
		close(p[1]);
	}
	T_DONE();
}
