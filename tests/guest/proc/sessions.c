/* Process groups and sessions across fork: setpgid, setsid, getpgid, getsid and their errors. */
#include "../test.h"
#include <sys/wait.h>

/* Child side: report a value to the parent through a pipe. */
static void put(int fd, long v)
{
	if (write(fd, &v, sizeof v) != sizeof v)
		_exit(99);
}

static long get(int fd)
{
	long v = -12345;
	if (read(fd, &v, sizeof v) != sizeof v)
		return -12345;
	return v;
}

static int status_of(pid_t pid)
{
	int st = -1;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(void)
{
	T_BEGIN();
	pid_t me = getpid();
	pid_t sid = getsid(0);
	pid_t pgrp = getpgrp();
	/* A session or group whose leader lives outside the pid namespace reads as 0. */
	CHECK("getsid(0) >= 0", sid >= 0);
	CHECK_EQ("getsid(self) == getsid(0)", getsid(me), sid);
	CHECK_ERR("getsid of a missing pid -> ESRCH", getsid(0x3ffffff0), ESRCH);
	CHECK_ERR("setpgid with a negative pgid -> EINVAL", setpgid(0, -1), EINVAL);
	CHECK_ERR("setpgid of a pid that is not a child -> ESRCH", setpgid(0x3ffffff0, 0), ESRCH);

	/* Child 1 is made a group leader by its parent, then tries setsid. */
	int up[2], down[2];
	if (pipe(up) != 0 || pipe(down) != 0)
		return 2;
	pid_t c = fork();
	if (c == 0) {
		close(up[0]);
		close(down[1]);
		put(up[1], getsid(0));
		put(up[1], getpgrp());
		get(down[0]);
		put(up[1], getpgrp());
		put(up[1], setpgid(0, 0) == 0 ? getpgrp() : -errno);
		put(up[1], setsid() == -1 ? errno : 0);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	CHECK_EQ("child inherits the session", get(up[0]), sid);
	CHECK_EQ("child inherits the process group", get(up[0]), pgrp);
	CHECK_OK("parent moves the child into a group of its own", setpgid(c, c));
	CHECK_EQ("getpgid(child) names the new group", getpgid(c), c);
	put(down[1], 1);
	CHECK_EQ("the child sees its new group", get(up[0]), c);
	CHECK_EQ("setpgid(0, 0) in a group leader keeps the group", get(up[0]), c);
	CHECK_EQ("setsid in a group leader -> EPERM", get(up[0]), EPERM);
	close(up[0]);
	close(down[1]);
	CHECK_EQ("child 1 exits 0", status_of(c), 0);

	/* Child 2 starts a session; the parent watches it from outside. */
	if (pipe(up) != 0 || pipe(down) != 0)
		return 2;
	c = fork();
	if (c == 0) {
		close(up[0]);
		close(down[1]);
		pid_t s = setsid();
		put(up[1], s);
		put(up[1], getsid(0));
		put(up[1], getpgrp());
		put(up[1], setsid() == -1 ? errno : 0);
		put(up[1], setpgid(0, pgrp) == -1 ? errno : 0);
		get(down[0]);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	CHECK_EQ("setsid returns the new session id", get(up[0]), c);
	CHECK_EQ("getsid(0) in the new session", get(up[0]), c);
	CHECK_EQ("the session leader leads its group", get(up[0]), c);
	CHECK_EQ("setsid twice -> EPERM", get(up[0]), EPERM);
	CHECK_EQ("setpgid in a session leader -> EPERM", get(up[0]), EPERM);
	CHECK_EQ("getsid(child) from the parent", getsid(c), c);
	CHECK_EQ("getpgid(child) from the parent", getpgid(c), c);
	CHECK_ERR("setpgid of a session leader -> EPERM", setpgid(c, pgrp), EPERM);
	CHECK_EQ("our own session is unchanged", getsid(0), sid);
	put(down[1], 1);
	CHECK_EQ("child 2 exits 0", status_of(c), 0);
	CHECK_ERR("getsid of a reaped child -> ESRCH", getsid(c), ESRCH);
	T_DONE();
}
