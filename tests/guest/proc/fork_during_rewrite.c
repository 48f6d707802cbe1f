// build: -pthread
/* Forks while another thread makes syscalls as fast as it can (a runtime
 * that rewrites syscall sites starts doing so, and builds what it needs
 * for that, while the forks happen), each child then making many syscalls
 * from one site itself: every child finishes, and every call returns its
 * own result. A child that inherited something half built by the other
 * thread would hang; the alarm ends such a run. */
#include "../test.h"
#include <pthread.h>
#include <sys/wait.h>

static volatile int stop;

static long calls(long n, long want)
{
	long bad = 0;
	for (long i = 0; i < n; i++)
		if (syscall(SYS_getpid) != want)
			bad++;
	return bad;
}

static void *busy(void *arg)
{
	long ppid = (long)arg, bad = 0;
	while (!stop)
		if (syscall(SYS_getppid) != ppid)
			bad++;
	return (void *)bad;
}

int main(void)
{
	T_BEGIN();
	alarm(30);
	pthread_t t;
	pthread_create(&t, NULL, busy, (void *)(long)getppid());
	int rounds_ok = 0;
	for (int round = 0; round < 20; round++) {
		pid_t c = fork();
		if (c == 0)
			_exit(calls(600, getpid()) == 0 ? 0 : 1);
		int st = 0;
		waitpid(c, &st, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			rounds_ok++;
	}
	stop = 1;
	void *bad;
	pthread_join(t, &bad);
	CHECK_EQ("every child made its calls", rounds_ok, 20);
	CHECK_EQ("the busy thread's calls returned the parent's pid", (long)bad, 0L);
	T_DONE();
}
