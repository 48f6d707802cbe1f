/* ioprio_set(2) and ioprio_get(2) on the caller: the best-effort and idle
 * classes with their levels read back, by pid 0, the caller's pid, its
 * process group and its user; the none class back to none; a fork child
 * and a program it executes keep the value; EINVAL for an unknown class,
 * a level with the none class and an unknown `which`; ESRCH for no such
 * task or group. The program leads a process group of its own first, so
 * that the group's value is its own. (The real-time class needs
 * privilege, and a user's value is the best of all its tasks': both are
 * left out so that the program runs alike anywhere.) */
#include "../test.h"
#include <sys/wait.h>

#define WHO_PROCESS 1
#define WHO_PGRP 2
#define CLASS(c, l) (((c) << 13) | (l))

static long ioget(int which, int who) { return syscall(SYS_ioprio_get, which, who); }
static long ioset(int which, int who, int prio) { return syscall(SYS_ioprio_set, which, who, prio); }

int main(int argc, char **argv)
{
	if (argc > 1) {
		printf("after execve: %#lx\n", ioget(WHO_PROCESS, 0));
		return 0;
	}
	T_BEGIN();
	CHECK_OK("a process group of its own", setpgid(0, 0));
	CHECK_OK("best effort, level 4", ioset(WHO_PROCESS, 0, CLASS(2, 4)));
	CHECK_EQ("reads back", ioget(WHO_PROCESS, 0), CLASS(2, 4));
	CHECK_EQ("by the caller's pid", ioget(WHO_PROCESS, getpid()), CLASS(2, 4));
	CHECK_EQ("by its process group", ioget(WHO_PGRP, 0), CLASS(2, 4));
	CHECK_OK("idle", ioset(WHO_PROCESS, getpid(), CLASS(3, 0)));
	CHECK_EQ("idle reads back", ioget(WHO_PROCESS, 0), CLASS(3, 0));
	CHECK_OK("none", ioset(WHO_PROCESS, 0, CLASS(0, 0)));
	CHECK_EQ("none reads as 0", ioget(WHO_PROCESS, 0), 0);

	CHECK_ERR("class 5", ioset(WHO_PROCESS, 0, CLASS(5, 0)), EINVAL);
	CHECK_ERR("class 7", ioset(WHO_PROCESS, 0, CLASS(7, 0)), EINVAL);
	CHECK_ERR("a level with the none class", ioset(WHO_PROCESS, 0, CLASS(0, 1)), EINVAL);
	CHECK_ERR("unknown which", ioset(9, 0, CLASS(2, 0)), EINVAL);
	CHECK_ERR("unknown which for get", ioget(9, 0), EINVAL);
	CHECK_ERR("no such task", ioget(WHO_PROCESS, 4194000), ESRCH);
	CHECK_ERR("no such group", ioget(WHO_PGRP, 4194000), ESRCH);
	CHECK_EQ("nothing refused changed it", ioget(WHO_PROCESS, 0), 0);

	CHECK_OK("best effort, level 6", ioset(WHO_PGRP, 0, CLASS(2, 6)));
	pid_t pid = fork();
	if (pid == 0)
		_exit(ioget(WHO_PROCESS, 0) == CLASS(2, 6) ? 0 : 1);
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK("a fork child has it", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "child", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	CHECK("the program it executes ran", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	T_DONE();
}
