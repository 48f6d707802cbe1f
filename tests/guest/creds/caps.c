/* capget/capset version probing and EPERM rules, PR_SET_KEEPCAPS across a drop of root,
 * PR_CAPBSET_READ/DROP, PR_CAP_AMBIENT (capabilities(7), kernel/capability.c). */
#include "creds.h"
#include <sys/prctl.h>

/* <linux/capability.h>, spelled out so musl builds need no kernel headers. */
#define V1 0x19980330
#define V2 0x20071026
#define V3 0x20080522
struct cap_header {
	unsigned version;
	int pid;
};
struct cap_data {
	unsigned effective, permitted, inheritable;
};
#define CAP_SETGID 6
#define CAP_SETUID 7
#define CAP_SETPCAP 8
#define CAP_NET_RAW 13

/* The caller's permitted set at start (root's: every capability the machine grants). */
static unsigned full_lo, full_hi;

static int capget_(struct cap_header *h, struct cap_data *d) { return syscall(SYS_capget, h, d); }
static int capset_(struct cap_header *h, struct cap_data *d) { return syscall(SYS_capset, h, d); }

static void probing(void)
{
	struct cap_header h = {0, 0};
	struct cap_data d[2];
	CHECK_ERR("capget with version 0 -> EINVAL", capget_(&h, d), EINVAL);
	CHECK_EQ("the preferred version is written back", h.version, V3);
	h.version = 0x12345678;
	CHECK_OK("a probe without data succeeds", capget_(&h, NULL));
	CHECK_EQ("and writes the version too", h.version, V3);
	h.version = V3;
	CHECK_OK("capget v3", capget_(&h, d));
	CHECK("root: effective has CAP_SETUID", d[0].effective & 1u << CAP_SETUID);
	CHECK("root: high word has CAP_LAST_CAP", d[1].effective >= 0x100);
	CHECK_EQ("root: permitted = effective", d[0].permitted, d[0].effective);
	CHECK_EQ("root: inheritable empty", d[0].inheritable, 0);
	h.version = V1;
	memset(d, 0xee, sizeof d);
	CHECK_OK("capget v1", capget_(&h, d));
	CHECK_EQ("v1 fills one word", d[0].effective, full_lo);
	CHECK_EQ("v1 leaves the second alone", d[1].effective, 0xeeeeeeeeu);
	h.version = V2;
	CHECK_OK("capget v2", capget_(&h, d));
	h.version = V3;
	h.pid = -1;
	CHECK_ERR("capget of pid -1 -> EINVAL", capget_(&h, d), EINVAL);
	h.pid = 0x3ffffff0;
	CHECK_ERR("capget of a missing pid -> ESRCH", capget_(&h, d), ESRCH);
	h.pid = getpid();
	CHECK_OK("capget of own pid", capget_(&h, d));
	h.pid = 1;
	CHECK_ERR("capset of another pid -> EPERM", capset_(&h, d), EPERM);
	h.version = 0;
	h.pid = 0;
	CHECK_ERR("capset with a bad version -> EINVAL", capset_(&h, d), EINVAL);
	CHECK_EQ("capset writes the version back", h.version, V3);
}

static void setting(void)
{
	struct cap_header h = {V3, 0};
	struct cap_data d[2] = {{0}};
	d[0].permitted = 1u << CAP_SETUID | 1u << CAP_NET_RAW;
	d[0].effective = 1u << CAP_SETUID;
	CHECK_OK("capset to a smaller permitted set", capset_(&h, d));
	struct cap_data got[2];
	CHECK_OK("capget", capget_(&h, got));
	CHECK_EQ("permitted as set", got[0].permitted, d[0].permitted);
	CHECK_EQ("effective as set", got[0].effective, d[0].effective);
	CHECK_EQ("high words empty", got[1].permitted, 0);
	d[0].permitted |= 1u << CAP_SETGID;
	CHECK_ERR("capset raising permitted -> EPERM", capset_(&h, d), EPERM);
	d[0].permitted = 1u << CAP_SETUID;
	d[0].effective = 1u << CAP_NET_RAW;
	CHECK_ERR("capset effective outside permitted -> EPERM", capset_(&h, d), EPERM);
	d[0].effective = 0;
	d[0].inheritable = 1u << CAP_SETGID;
	CHECK_ERR("inheritable beyond permitted without CAP_SETPCAP -> EPERM", capset_(&h, d), EPERM);
	d[0].inheritable = 1u << CAP_SETUID;
	CHECK_OK("inheritable within permitted", capset_(&h, d));
	CHECK_ERR("setgid without CAP_SETGID -> EPERM", syscall(SYS_setgid, 55), EPERM);
	CHECK_EQ("ambient raise of an inheritable+permitted cap", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SETUID, 0, 0), 0);
	CHECK_EQ("ambient is set", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_SETUID, 0, 0), 1);
	CHECK_ERR("ambient raise of a missing cap -> EPERM", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SETGID, 0, 0), EPERM);
	CHECK_ERR("ambient of no capability -> EINVAL", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 99, 0, 0), EINVAL);
	CHECK_OK("ambient clear", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
	CHECK_EQ("ambient cleared", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_SETUID, 0, 0), 0);
}

static void bounding(void)
{
	CHECK_EQ("CAPBSET_READ CAP_NET_RAW", prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0), 1);
	CHECK_ERR("CAPBSET_READ of no capability -> EINVAL", prctl(PR_CAPBSET_READ, 99, 0, 0, 0), EINVAL);
	CHECK_OK("CAPBSET_DROP CAP_NET_RAW", prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0));
	CHECK_EQ("dropped from the bounding set", prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0), 0);
	CHECK_OK("drop root", syscall(SYS_setresuid, 1000, 1000, 1000));
	CHECK_ERR("CAPBSET_DROP without CAP_SETPCAP -> EPERM", prctl(PR_CAPBSET_DROP, CAP_SETUID, 0, 0, 0), EPERM);
}

static void keepcaps(void)
{
	struct cap_header h = {V3, 0};
	struct cap_data d[2];
	CHECK_EQ("PR_GET_KEEPCAPS is 0", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0), 0);
	CHECK_ERR("PR_SET_KEEPCAPS 2 -> EINVAL", prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0), EINVAL);
	CHECK_OK("PR_SET_KEEPCAPS 1", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
	CHECK_EQ("PR_GET_KEEPCAPS is 1", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0), 1);
	CHECK_OK("setresuid(1000,1000,1000) with keepcaps", syscall(SYS_setresuid, 1000, 1000, 1000));
	CHECK_OK("capget", capget_(&h, d));
	CHECK_EQ("permitted kept", d[0].permitted, full_lo);
	CHECK_EQ("effective cleared (euid left 0)", d[0].effective, 0);
	d[0].effective = 1u << CAP_SETUID;
	d[1].effective = 0;
	CHECK_OK("raise CAP_SETUID into effective", capset_(&h, d));
	CHECK_OK("setuid(2000) with CAP_SETUID as non-root", syscall(SYS_setuid, 2000));
	check_res("all 2000", 2000, 2000, 2000);
}

static void no_keepcaps(void)
{
	struct cap_header h = {V3, 0};
	struct cap_data d[2];
	CHECK_OK("setresuid(1000,1000,1000) without keepcaps", syscall(SYS_setresuid, 1000, 1000, 1000));
	CHECK_OK("capget", capget_(&h, d));
	CHECK_EQ("permitted cleared", d[0].permitted, 0);
	CHECK_EQ("effective cleared", d[0].effective, 0);
}

static void seteuid_caps(void)
{
	struct cap_header h = {V3, 0};
	struct cap_data d[2];
	CHECK_OK("seteuid(1000)", syscall(SYS_setresuid, -1, 1000, -1));
	CHECK_OK("capget", capget_(&h, d));
	CHECK_EQ("effective cleared", d[0].effective, 0);
	CHECK_EQ("permitted kept (saved uid is 0)", d[0].permitted, full_lo);
	CHECK_OK("seteuid(0)", syscall(SYS_setresuid, -1, 0, -1));
	CHECK_OK("capget", capget_(&h, d));
	CHECK_EQ("effective restored", d[0].effective, full_lo);
	CHECK_EQ("setfsuid(1000) answers 0", syscall(SYS_setfsuid, 1000), 0);
	CHECK_OK("capget", capget_(&h, d));
	CHECK_EQ("fs capabilities dropped (CHOWN..FSETID, LINUX_IMMUTABLE, MKNOD)", d[0].effective, full_lo & ~0x0800021fu);
	CHECK_EQ("and MAC_OVERRIDE", d[1].effective, full_hi & ~1u);
	CHECK_EQ("setfsuid(0) answers 1000", syscall(SYS_setfsuid, 0), 1000);
	CHECK_OK("capget", capget_(&h, d));
	CHECK_EQ("fs capabilities back", d[0].effective, full_lo);
}

int main(void)
{
	T_BEGIN();
	if (!creds_need_root())
		T_DONE();
	struct cap_header h = {V3, 0};
	struct cap_data d[2];
	CHECK_OK("capget at start", capget_(&h, d));
	full_lo = d[0].permitted;
	full_hi = d[1].permitted;
	CHECK_EQ("root starts with effective = permitted", d[0].effective, full_lo);
	CHECK_EQ("root starts with effective = permitted (high)", d[1].effective, full_hi);
	in_child("version probing", probing);
	in_child("capset rules", setting);
	in_child("bounding set", bounding);
	in_child("keepcaps", keepcaps);
	in_child("no keepcaps", no_keepcaps);
	in_child("seteuid and caps", seteuid_caps);
	T_DONE();
}
