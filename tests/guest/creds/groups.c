/* getgroups/setgroups as root and after dropping CAP_SETGID. */
#include "creds.h"

static void groups(void)
{
	gid_t set[3] = {300, 100, 200};
	gid_t got[8];
	CHECK_OK("setgroups(3)", syscall(SYS_setgroups, 3, set));
	CHECK_EQ("getgroups(0) counts", syscall(SYS_getgroups, 0, NULL), 3);
	CHECK_ERR("getgroups(2) too small -> EINVAL", syscall(SYS_getgroups, 2, got), EINVAL);
	CHECK_EQ("getgroups(8)", syscall(SYS_getgroups, 8, got), 3);
	CHECK("the list is sorted", got[0] == 100 && got[1] == 200 && got[2] == 300);
	CHECK_ERR("setgroups over NGROUPS_MAX -> EINVAL", syscall(SYS_setgroups, 65537, set), EINVAL);
	CHECK_ERR("setgroups bad pointer -> EFAULT", syscall(SYS_setgroups, 2, (void *)8), EFAULT);
	CHECK_OK("setgroups(0) clears", syscall(SYS_setgroups, 0, NULL));
	CHECK_EQ("no groups left", syscall(SYS_getgroups, 0, NULL), 0);
	CHECK_OK("setgroups(1) again", syscall(SYS_setgroups, 1, set));
	CHECK_OK("drop to 1000", syscall(SYS_setresuid, 1000, 1000, 1000));
	CHECK_ERR("setgroups without CAP_SETGID -> EPERM", syscall(SYS_setgroups, 1, set), EPERM);
	CHECK_ERR("EPERM comes before the size check", syscall(SYS_setgroups, 65537, set), EPERM);
	CHECK_EQ("groups kept", syscall(SYS_getgroups, 0, NULL), 1);
}

int main(void)
{
	T_BEGIN();
	if (!creds_need_root())
		T_DONE();
	in_child("groups", groups);
	T_DONE();
}
