/* Scheduling policies seen and set across tasks: a fork child inherits its
 * parent's policy and reads it by the parent's pid; the parent reads the
 * policy the child set for itself and sets the child's, which the child
 * then reads; SCHED_RESET_ON_FORK is reported by sched_getscheduler and
 * sched_getattr (SCHED_FLAG_RESET_ON_FORK) and is not inherited (a fair
 * policy is: sched_fork resets only real-time ones and a negative nice
 * value). Only moves an unprivileged task may make are made. */
#include "../test.h"
#include <sched.h>
#include <stdint.h>
#include <sys/wait.h>

static long getsched(pid_t pid) { return syscall(SYS_sched_getscheduler, pid); }

static long setsched(pid_t pid, int policy)
{
	struct sched_param p = { 0 };
	return syscall(SYS_sched_setscheduler, pid, policy, &p);
}

static void step(int fd)
{
	char c = 0;
	if (write(fd, &c, 1) != 1)
		_exit(3);
}

static void wait_step(int fd)
{
	char c;
	if (read(fd, &c, 1) != 1)
		_exit(3);
}

int main(void)
{
	T_BEGIN();
	CHECK_OK("SCHED_BATCH", setsched(0, SCHED_BATCH));
	int up[2], down[2];
	if (pipe(up) != 0 || pipe(down) != 0)
		return 2;
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		int bad = 0;
		bad |= getsched(0) != SCHED_BATCH;
		bad |= (getsched(getppid()) != SCHED_BATCH) << 1;
		bad |= (setsched(0, SCHED_OTHER) != 0) << 2;
		step(up[1]);
		wait_step(down[0]); /* the parent set SCHED_BATCH for us */
		bad |= (getsched(0) != SCHED_BATCH) << 3;
		_exit(bad);
	}
	wait_step(up[0]);
	CHECK_EQ("the child's own choice, read by its pid", getsched(child), SCHED_OTHER);
	CHECK_OK("the parent sets the child's", setsched(child, SCHED_BATCH));
	step(down[1]);
	int st = 0;
	waitpid(child, &st, 0);
	CHECK_EQ("the child saw all of it (bits of what it missed)", WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);

	CHECK_OK("SCHED_BATCH with SCHED_RESET_ON_FORK", setsched(0, SCHED_BATCH | SCHED_RESET_ON_FORK));
	CHECK_EQ("sched_getscheduler reports the flag", getsched(0), SCHED_BATCH | SCHED_RESET_ON_FORK);
	uint32_t attr[14] = { 0 };
	CHECK_OK("sched_getattr", syscall(SYS_sched_getattr, 0, attr, sizeof attr, 0));
	CHECK_EQ("its policy without the flag", attr[1], SCHED_BATCH);
	CHECK_EQ("SCHED_FLAG_RESET_ON_FORK in sched_flags", attr[2], 1);
	fflush(stdout);
	child = fork();
	if (child == 0)
		_exit(getsched(0) == SCHED_BATCH ? 0 : 1);
	waitpid(child, &st, 0);
	CHECK("a fork child keeps SCHED_BATCH, without the flag", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	T_DONE();
}
