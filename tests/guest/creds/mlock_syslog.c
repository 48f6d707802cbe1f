/* mlock(2) and its family, and syslog(2): their errors, and the checks that
 * hang on the caller's capabilities and limits (CAP_IPC_LOCK with
 * RLIMIT_MEMLOCK, CAP_SYSLOG under dmesg_restrict), as root and after a
 * child drops to nobody. */
#include "creds.h"
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/resource.h>

#define PAGE 4096

static char *region;

static void as_nobody_with_a_small_limit(void)
{
	struct rlimit rl = { 2 * PAGE, 2 * PAGE };
	CHECK_OK("setrlimit MEMLOCK 2 pages", setrlimit(RLIMIT_MEMLOCK, &rl));
	CHECK_OK("setuid nobody", setuid(NOBODY));
	CHECK_OK("within the limit", mlock(region, PAGE));
	CHECK_ERR("beyond the limit", mlock(region, 8 * PAGE), ENOMEM);
	CHECK_OK("munlock", munlock(region, PAGE));
	CHECK_ERR("mlockall beyond the limit", mlockall(MCL_CURRENT), ENOMEM);
	CHECK_ERR("kernel log without CAP_SYSLOG", klogctl(10, NULL, 0), EPERM);
	CHECK_ERR("unknown action without CAP_SYSLOG", klogctl(99, NULL, 0), EPERM);
}

static void as_nobody_with_no_limit(void)
{
	struct rlimit rl = { 0, 0 };
	CHECK_OK("setrlimit MEMLOCK 0", setrlimit(RLIMIT_MEMLOCK, &rl));
	CHECK_OK("setuid nobody", setuid(NOBODY));
	CHECK_ERR("mlock with a zero limit", mlock(region, PAGE), EPERM);
	CHECK_ERR("mlockall with a zero limit", mlockall(MCL_CURRENT), EPERM);
	CHECK_OK("munlock needs nothing", munlock(region, PAGE));
	CHECK_OK("munlockall needs nothing", munlockall());
}

int main(void)
{
	T_BEGIN();
	if (!creds_need_root())
		T_DONE();
	region = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK("mmap", region != MAP_FAILED);

	CHECK_OK("mlock", mlock(region, 4 * PAGE));
	unsigned char vec[4];
	CHECK_OK("mincore", mincore(region, 4 * PAGE, vec));
	CHECK_EQ("locked pages are resident", (vec[0] & 1) + (vec[1] & 1) + (vec[2] & 1) + (vec[3] & 1), 4);
	CHECK_OK("mlock of an unaligned start", mlock(region + 100, PAGE));
	CHECK_OK("mlock of nothing", mlock(region, 0));
	CHECK_OK("munlock", munlock(region, 4 * PAGE));
	CHECK_OK("mlock2 MLOCK_ONFAULT", syscall(SYS_mlock2, region, PAGE, MLOCK_ONFAULT));
	CHECK_ERR("mlock2 unknown flag", syscall(SYS_mlock2, region, PAGE, 2), EINVAL);

	/* A hole: ENOMEM, locked or not. */
	CHECK_OK("munmap the middle", munmap(region + 8 * PAGE, PAGE));
	CHECK_ERR("mlock over a hole", mlock(region + 7 * PAGE, 3 * PAGE), ENOMEM);
	CHECK_ERR("munlock over a hole", munlock(region + 7 * PAGE, 3 * PAGE), ENOMEM);
	CHECK_ERR("mlock wrapping around", mlock((void *)(~0UL - PAGE), 4 * PAGE), EINVAL);

	CHECK_ERR("mlockall(0)", mlockall(0), EINVAL);
	CHECK_ERR("mlockall(MCL_ONFAULT) alone", mlockall(MCL_ONFAULT), EINVAL);
	CHECK_ERR("mlockall unknown flag", mlockall(MCL_CURRENT | 8), EINVAL);
	CHECK_OK("mlockall(MCL_CURRENT)", mlockall(MCL_CURRENT));
	CHECK_OK("munlockall", munlockall());

	/* The kernel log, as root: sizes and reads with their errors. */
	CHECK("SIZE_BUFFER", klogctl(10, NULL, 0) > 0);
	CHECK("SIZE_UNREAD", klogctl(9, NULL, 0) >= 0);
	char buf[64];
	CHECK_OK("READ_ALL of 0 bytes", klogctl(3, buf, 0));
	CHECK_ERR("READ_ALL without a buffer", klogctl(3, NULL, 10), EINVAL);
	CHECK_ERR("READ_ALL of a negative length", klogctl(3, buf, -1), EINVAL);
	CHECK_ERR("CONSOLE_LEVEL 9", klogctl(8, NULL, 9), EINVAL);
	CHECK_ERR("CONSOLE_LEVEL 0", klogctl(8, NULL, 0), EINVAL);
	CHECK_ERR("unknown action", klogctl(11, NULL, 0), EINVAL);

	in_child("as nobody with a small limit", as_nobody_with_a_small_limit);
	in_child("as nobody with no limit", as_nobody_with_no_limit);
	T_DONE();
}
