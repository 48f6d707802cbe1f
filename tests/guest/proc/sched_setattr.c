/* sched_setattr(2) on the caller: a fair policy and its nice value set
 * together and read back by sched_getattr, sched_getscheduler and
 * getpriority; size 0 read as 48; SCHED_FLAG_KEEP_POLICY and
 * SCHED_FLAG_KEEP_PARAMS keep what they name (the latter the policy too:
 * the kernel then skips setting both); a nice value out of range
 * clamped; E2BIG (with the kernel's size written back) for a size below 48,
 * above a page, or with a non-zero tail past what the kernel knows; EINVAL
 * for NULL, a negative pid, flags, a negative or unknown policy, unknown
 * sched_flags, a priority a fair policy does not take or a real-time one
 * needs, utilization clamps in a 48-byte struct and deadline parameters
 * that do not hold; ESRCH; EFAULT. The nice value only goes up, so the
 * program needs no privilege. */
#include "../test.h"
#include "sched_attr.h"
#include <sched.h>
#include <sys/resource.h>


#define KEEP_POLICY 0x08
#define KEEP_PARAMS 0x10
#define UTIL_CLAMP_MIN 0x20
#define RESET_ON_FORK 0x01

static long setattr(pid_t pid, struct attr *a, unsigned flags)
{
	return syscall(SYS_sched_setattr, pid, a, flags);
}

static struct attr fair(uint32_t size, uint32_t policy, int nice)
{
	struct attr a;
	memset(&a, 0, sizeof a);
	a.size = size;
	a.policy = policy;
	a.nice = nice;
	return a;
}

static struct attr now(void)
{
	struct attr a;
	memset(&a, 0, sizeof a);
	if (syscall(SYS_sched_getattr, 0, &a, 56, 0) != 0)
		a.policy = 0xffff;
	return a;
}

int main(void)
{
	T_BEGIN();
	struct attr a = fair(0, SCHED_OTHER, 0);
	CHECK_OK("size 0 is the first version's 48", setattr(0, &a, 0));

	a = fair(48, SCHED_BATCH, 5);
	CHECK_OK("SCHED_BATCH at nice 5", setattr(0, &a, 0));
	CHECK_EQ("sched_getattr reads the policy", now().policy, SCHED_BATCH);
	CHECK_EQ("and the nice value", now().nice, 5);
	CHECK_EQ("sched_getscheduler agrees", syscall(SYS_sched_getscheduler, 0), SCHED_BATCH);
	errno = 0;
	CHECK_EQ("getpriority agrees", getpriority(PRIO_PROCESS, 0), 5);

	a = fair(56, 77, 7);
	a.flags = KEEP_POLICY;
	CHECK_OK("SCHED_FLAG_KEEP_POLICY ignores the policy field", setattr(0, &a, 0));
	CHECK_EQ("the policy kept", now().policy, SCHED_BATCH);
	CHECK_EQ("the nice value set", now().nice, 7);

	a = fair(56, SCHED_OTHER, 0);
	a.flags = KEEP_PARAMS;
	CHECK_OK("SCHED_FLAG_KEEP_PARAMS", setattr(0, &a, 0));
	CHECK_EQ("the policy kept with the parameters", now().policy, SCHED_BATCH);
	CHECK_EQ("the nice value kept", now().nice, 7);
	a.flags = 0;
	a.nice = 7;
	CHECK_OK("SCHED_OTHER again", setattr(0, &a, 0));
	CHECK_EQ("the policy set", now().policy, SCHED_OTHER);

	a = fair(64, SCHED_OTHER, 8);
	CHECK_OK("a longer struct with a zero tail", setattr(0, &a, 0));
	CHECK_EQ("nice 8", now().nice, 8);

	a = fair(47, SCHED_OTHER, 8);
	CHECK_ERR("size 47", setattr(0, &a, 0), E2BIG);
	CHECK_EQ("E2BIG writes the kernel's size back", a.size, 56);
	a = fair(4097, SCHED_OTHER, 8);
	CHECK_ERR("size above a page", setattr(0, &a, 0), E2BIG);
	a = fair(64, SCHED_OTHER, 8);
	a.beyond[1] = 1;
	CHECK_ERR("a non-zero byte past 56", setattr(0, &a, 0), E2BIG);
	CHECK_EQ("its size written back too", a.size, 56);

	a = fair(48, SCHED_OTHER, 8);
	CHECK_ERR("NULL", setattr(0, NULL, 0), EINVAL);
	CHECK_ERR("pid -1", setattr(-1, &a, 0), EINVAL);
	CHECK_ERR("flags 1", setattr(0, &a, 1), EINVAL);
	a.policy = 0x80000000u;
	CHECK_ERR("a negative policy", setattr(0, &a, 0), EINVAL);
	a.policy = 4;
	CHECK_ERR("policy 4", setattr(0, &a, 0), EINVAL);
	a = fair(48, SCHED_OTHER, 8);
	a.flags = 0x100;
	CHECK_ERR("an unknown sched_flags bit", setattr(0, &a, 0), EINVAL);
	a = fair(48, SCHED_OTHER, 8);
	a.priority = 1;
	CHECK_ERR("SCHED_OTHER with priority 1", setattr(0, &a, 0), EINVAL);
	a = fair(48, SCHED_FIFO, 0);
	CHECK_ERR("SCHED_FIFO with priority 0", setattr(0, &a, 0), EINVAL);
	a.priority = 100;
	CHECK_ERR("SCHED_FIFO with priority 100", setattr(0, &a, 0), EINVAL);
	a = fair(48, SCHED_OTHER, 8);
	a.flags = UTIL_CLAMP_MIN;
	CHECK_ERR("utilization clamps in 48 bytes", setattr(0, &a, 0), EINVAL);
	a = fair(48, 6 /* SCHED_DEADLINE */, 0);
	CHECK_ERR("SCHED_DEADLINE with deadline 0", setattr(0, &a, 0), EINVAL);
	a.runtime = 100; /* below 1024 ns */
	a.deadline = a.period = 10000000;
	CHECK_ERR("SCHED_DEADLINE with a runtime below 1 us", setattr(0, &a, 0), EINVAL);
	a.runtime = 20000000;
	CHECK_ERR("SCHED_DEADLINE with runtime above deadline", setattr(0, &a, 0), EINVAL);
	CHECK_EQ("nothing refused changed anything", now().nice, 8);

	a = fair(48, SCHED_OTHER, 100);
	CHECK_OK("nice 100", setattr(0, &a, 0));
	CHECK_EQ("is clamped to 19", now().nice, 19);

	a = fair(48, SCHED_OTHER, 19);
	CHECK_ERR("no such task", setattr(4194000, &a, 0), ESRCH);
	CHECK_ERR("a bad pointer", setattr(0, (struct attr *)8, 0), EFAULT);
	/* Last: without privilege, a later call must keep the flag. */
	a = fair(56, SCHED_OTHER, 19);
	a.flags = RESET_ON_FORK;
	CHECK_OK("SCHED_FLAG_RESET_ON_FORK is taken", setattr(0, &a, 0));
	T_DONE();
}
