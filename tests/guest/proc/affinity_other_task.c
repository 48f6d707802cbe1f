/* CPU masks seen and set across tasks: a fork child inherits its parent's
 * mask and reads it by the parent's pid; the parent reads the mask the
 * child set for itself and sets the child's, which the child reads. */
#include "../test.h"
#include <sched.h>
#include <sys/wait.h>

static int only_cpu0(pid_t pid)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	return sched_getaffinity(pid, sizeof s, &s) == 0 && CPU_ISSET(0, &s) && CPU_COUNT(&s) == 1;
}

static int set_cpu0(pid_t pid)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(0, &s);
	return sched_setaffinity(pid, sizeof s, &s);
}

int main(void)
{
	T_BEGIN();
	cpu_set_t all;
	CHECK_OK("read the mask", sched_getaffinity(0, sizeof all, &all));
	int up[2], down[2];
	if (pipe(up) != 0 || pipe(down) != 0)
		return 2;
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		char c;
		int bad = 0;
		bad |= (set_cpu0(0) != 0);
		bad |= !only_cpu0(getppid()) << 1; /* not yet: the parent has all */
		if (write(up[1], "x", 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(9);
		bad |= !only_cpu0(0) << 2;
		_exit(bad);
	}
	char c;
	if (read(up[0], &c, 1) != 1)
		return 2;
	CHECK("the child's own mask, read by its pid", only_cpu0(child));
	CHECK_OK("the parent pins itself to CPU 0", set_cpu0(0));
	CHECK_OK("and sets the child's too", set_cpu0(child));
	if (write(down[1], "x", 1) != 1)
		return 2;
	int st = 0;
	waitpid(child, &st, 0);
	/* The child read its parent's mask before the parent pinned itself:
	 * all CPUs, so "only CPU 0" was false there on a machine with more. */
	int want = CPU_COUNT(&all) > 1 ? 2 : 0;
	CHECK_EQ("what the child saw (bits)", WIFEXITED(st) ? WEXITSTATUS(st) : -1, want);
	fflush(stdout);
	child = fork();
	if (child == 0)
		_exit(only_cpu0(0) && only_cpu0(getppid()) ? 0 : 1);
	waitpid(child, &st, 0);
	CHECK("a fork child inherits the mask and reads its parent's", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	T_DONE();
}
