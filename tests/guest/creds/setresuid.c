/* setresuid/setresgid/setreuid/setuid/setfsuid transitions as root and the EPERM cases
 * after dropping root (kernel/sys.c rules), with raw syscalls (no glibc broadcast). */
#include "creds.h"

static void res_transitions(void)
{
	CHECK_OK("setresuid(1000, 2000, 0)", syscall(SYS_setresuid, 1000, 2000, 0));
	check_res("after setresuid(1000, 2000, 0)", 1000, 2000, 0);
	/* Saved is 0, so any of 1000, 2000, 0 may be set without CAP_SETUID. */
	CHECK_OK("setresuid(2000, 1000, -1) among own ids", syscall(SYS_setresuid, 2000, 1000, -1));
	check_res("after swap", 2000, 1000, 0);
	CHECK_ERR("setresuid to a new id without CAP_SETUID -> EPERM", syscall(SYS_setresuid, -1, 3000, -1), EPERM);
	CHECK_OK("setresuid(-1, 0, -1) back to root through saved", syscall(SYS_setresuid, -1, 0, -1));
	check_res("euid 0 again", 2000, 0, 0);
	CHECK_OK("setresuid(3000, -1, -1) with CAP_SETUID back", syscall(SYS_setresuid, 3000, -1, -1));
	CHECK_OK("setresuid(-1,-1,-1) is a no-op", syscall(SYS_setresuid, -1, -1, -1));
	check_res("after no-op", 3000, 0, 0);
}

static void res_gid_transitions(void)
{
	CHECK_OK("setresgid(100, 200, 300)", syscall(SYS_setresgid, 100, 200, 300));
	check_resg("after setresgid", 100, 200, 300);
	CHECK_OK("drop root: setresuid(1000,1000,1000)", syscall(SYS_setresuid, 1000, 1000, 1000));
	CHECK_OK("setresgid among own gids", syscall(SYS_setresgid, 300, 100, 200));
	check_resg("after permuting", 300, 100, 200);
	CHECK_ERR("setresgid to a new gid -> EPERM", syscall(SYS_setresgid, -1, 0, -1), EPERM);
	CHECK_ERR("setgid to a new gid -> EPERM", syscall(SYS_setgid, 0), EPERM);
	CHECK_OK("setgid to the saved gid", syscall(SYS_setgid, 200));
	check_resg("setgid without CAP_SETGID changes only effective", 300, 200, 200);
	CHECK_ERR("setgid(-1) -> EINVAL", syscall(SYS_setgid, -1), EINVAL);
}

static void reuid_rules(void)
{
	CHECK_OK("setresuid(1000, 2000, 3000)", syscall(SYS_setresuid, 1000, 2000, 3000));
	/* Capabilities are gone: only the unprivileged rules apply now. */
	CHECK_OK("setreuid(-1, 3000): effective to saved", syscall(SYS_setreuid, -1, 3000));
	check_res("saved follows effective (not the real uid)", 1000, 3000, 3000);
	CHECK_OK("setreuid(-1, 1000): effective to real", syscall(SYS_setreuid, -1, 1000));
	check_res("saved unchanged when effective becomes real", 1000, 1000, 3000);
	CHECK_OK("setreuid(1000, 3000)", syscall(SYS_setreuid, 1000, 3000));
	check_res("setting real sets saved to effective", 1000, 3000, 3000);
	CHECK_ERR("setreuid real to saved-only id -> EPERM", syscall(SYS_setreuid, 2000, -1), EPERM);
	CHECK_ERR("setreuid effective to a new id -> EPERM", syscall(SYS_setreuid, -1, 4000), EPERM);
	CHECK_OK("setreuid(3000, 1000): swap", syscall(SYS_setreuid, 3000, 1000));
	check_res("after swap", 3000, 1000, 1000);
}

static void fsuid_values(void)
{
	CHECK_EQ("setfsuid(-1) answers the fs uid (0)", syscall(SYS_setfsuid, -1), 0);
	CHECK_EQ("setfsuid(1234) answers the old 0", syscall(SYS_setfsuid, 1234), 0);
	CHECK_EQ("setfsuid(-1) now answers 1234", syscall(SYS_setfsuid, -1), 1234);
	CHECK_EQ("setfsgid(77) answers the old 0", syscall(SYS_setfsgid, 77), 0);
	CHECK_EQ("setfsgid(-1) answers 77", syscall(SYS_setfsgid, -1), 77);
	CHECK_OK("setresuid(1000, 1000, 1000)", syscall(SYS_setresuid, 1000, 1000, 1000));
	CHECK_EQ("fs uid follows the effective uid", syscall(SYS_setfsuid, -1), 1000);
	CHECK_EQ("setfsuid(0) refused: still answers 1000", syscall(SYS_setfsuid, 0), 1000);
	CHECK_EQ("fs uid unchanged", syscall(SYS_setfsuid, -1), 1000);
}

static void nobody_for_good(void)
{
	CHECK_OK("setgid(nogroup)", syscall(SYS_setgid, NOBODY));
	CHECK_OK("setuid(nobody)", syscall(SYS_setuid, NOBODY));
	check_res("all nobody", NOBODY, NOBODY, NOBODY);
	CHECK_ERR("setuid(0) after dropping -> EPERM", syscall(SYS_setuid, 0), EPERM);
	CHECK_ERR("seteuid(0) after dropping -> EPERM", syscall(SYS_setresuid, -1, 0, -1), EPERM);
	CHECK_ERR("setgid(0) after dropping -> EPERM", syscall(SYS_setgid, 0), EPERM);
	CHECK_OK("setuid(nobody) again is allowed", syscall(SYS_setuid, NOBODY));
	CHECK_EQ("getuid", getuid(), NOBODY);
	CHECK_EQ("getegid", getegid(), NOBODY);
}

static void seteuid_and_back(void)
{
	CHECK_OK("seteuid(1000) keeps saved root", seteuid(1000));
	check_res("temporarily 1000", 0, 1000, 0);
	CHECK_ERR("setgid without CAP_SETGID in effect -> EPERM", syscall(SYS_setgid, 4242), EPERM);
	CHECK_OK("seteuid(0) back", seteuid(0));
	CHECK_OK("setgid(4242) with CAP_SETGID again", syscall(SYS_setgid, 4242));
	check_resg("setgid as root sets all", 4242, 4242, 4242);
}

int main(void)
{
	T_BEGIN();
	if (!creds_need_root())
		T_DONE();
	in_child("setresuid transitions", res_transitions);
	in_child("setresgid transitions", res_gid_transitions);
	in_child("setreuid saved-uid rules", reuid_rules);
	in_child("setfsuid return values", fsuid_values);
	in_child("drop to nobody", nobody_for_good);
	in_child("seteuid and back", seteuid_and_back);
	T_DONE();
}
