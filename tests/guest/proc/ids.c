/* getpid/gettid/getppid, uid/gid family, getgroups, getresuid/getresgid, getpgrp/getsid. */
#include "../test.h"
#include <grp.h>

int main(void)
{
	T_BEGIN();
	pid_t pid = getpid();
	CHECK("getpid positive", pid > 0);
	CHECK_EQ("gettid == getpid in a single thread", syscall(SYS_gettid), pid);
	CHECK_EQ("raw getpid == libc getpid", syscall(SYS_getpid), pid);
	CHECK("getppid positive", getppid() > 0);
	CHECK("getppid differs from getpid", getppid() != pid);
	/* 0 when the group leader lives outside the pid namespace (containers). */
	CHECK("getpgrp >= 0", getpgrp() >= 0);
	CHECK_EQ("getpgid(0) == getpgrp", getpgid(0), getpgrp());
	CHECK_EQ("getpgid(self) == getpgrp", getpgid(pid), getpgrp());
	/* Sessions and groups have their own test: proc/sessions.c. */
	CHECK_ERR("getpgid of a missing pid -> ESRCH", getpgid(0x3ffffff0), ESRCH);

	uid_t r, e, s;
	gid_t gr, ge, gs;
	CHECK_OK("getresuid", getresuid(&r, &e, &s));
	CHECK_EQ("getuid == real", getuid(), r);
	CHECK_EQ("geteuid == effective", geteuid(), e);
	CHECK_EQ("saved == effective at start", s, e);
	CHECK_OK("getresgid", getresgid(&gr, &ge, &gs));
	CHECK_EQ("getgid == real", getgid(), gr);
	CHECK_EQ("getegid == effective", getegid(), ge);
	CHECK_EQ("raw getuid", syscall(SYS_getuid), getuid());
	CHECK_EQ("raw getegid", syscall(SYS_getegid), getegid());

	int n = getgroups(0, NULL);
	CHECK("getgroups(0) count >= 0", n >= 0);
	gid_t groups[256];
	CHECK_EQ("getgroups fills the same count", getgroups(256, groups), n);
	if (n > 1)
		CHECK_ERR("getgroups with too small a buffer -> EINVAL", syscall(SYS_getgroups, 1, groups), EINVAL);
	else
		t_ok("getgroups with too small a buffer -> EINVAL");
	CHECK_ERR("getgroups negative size -> EINVAL", syscall(SYS_getgroups, -1, groups), EINVAL);

	/* Setting ids to their current values is always allowed. */
	CHECK_OK("setresuid(-1,-1,-1)", syscall(SYS_setresuid, -1, -1, -1));
	CHECK_OK("setresgid(-1,-1,-1)", syscall(SYS_setresgid, -1, -1, -1));
	T_DONE();
}
