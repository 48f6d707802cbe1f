/* A fork early in a process's life, right after its first few dozen
 * syscalls, and then many syscalls from one site in the child and the
 * parent: both finish (a runtime that prepares work on a helper thread
 * at that point must not hand the child something half done, which
 * would hang it), and each call returns its own result. The alarm ends
 * a hung run. */
#include "../test.h"
#include <sys/wait.h>

static long calls(long n, long want)
{
	long bad = 0;
	for (long i = 0; i < n; i++)
		if (syscall(SYS_getpid) != want)
			bad++;
	return bad;
}

int main(void)
{
	T_BEGIN();
	alarm(30);
	int rounds_ok = 0;
	for (int round = 0; round < 8; round++) {
		for (int i = 0; i < 70; i++)
			syscall(SYS_getppid);
		pid_t c = fork();
		if (c == 0)
			_exit(calls(2000, getpid()) == 0 ? 0 : 1);
		long bad = calls(2000, getpid());
		int st = 0;
		waitpid(c, &st, 0);
		if (bad == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			rounds_ok++;
	}
	CHECK_EQ("every round's parent and child made their calls", rounds_ok, 8);
	T_DONE();
}
