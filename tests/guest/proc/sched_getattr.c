/* sched_getattr(2): the calling thread's policy, nice value and priority
 * in a struct sched_attr whose size field says how much was written
 * (min(size, 56)); a larger buffer's tail is zeroed and a smaller one's
 * end untouched; a policy set by sched_setscheduler and a nice value set
 * by setpriority read back; EINVAL for a size below 48 or above a page, a
 * NULL pointer, a negative pid or flags; ESRCH for no such task; EFAULT. */
#include "../test.h"
#include "sched_attr.h"
#include <sched.h>
#include <sys/resource.h>


static long getattr(pid_t pid, struct attr *a, unsigned size, unsigned flags)
{
	return syscall(SYS_sched_getattr, pid, a, size, flags);
}

int main(void)
{
	T_BEGIN();
	struct attr a;
	memset(&a, 0xff, sizeof a);
	CHECK_OK("sched_getattr with a larger buffer", getattr(0, &a, sizeof a, 0));
	CHECK_EQ("size is the kernel's", a.size, 56);
	CHECK_EQ("SCHED_OTHER", a.policy, SCHED_OTHER);
	CHECK_EQ("no flags", a.flags, 0);
	CHECK_EQ("nice 0", a.nice, 0);
	CHECK_EQ("priority 0", a.priority, 0);
	/* sched_runtime is the fair slice since Linux 6.12, 0 before. */
	CHECK("no deadline parameters", a.deadline == 0 && a.period == 0);
	CHECK_EQ("the tail zeroed", a.beyond[0], 0);

	memset(&a, 0xff, sizeof a);
	CHECK_OK("sched_getattr of 48 bytes", getattr(getpid(), &a, 48, 0));
	CHECK_EQ("size 48", a.size, 48);
	CHECK_EQ("the rest untouched", a.util_min, 0xffffffffu);

	struct sched_param sp = { 0 };
	/* The raw call: musl's wrapper is ENOSYS by design. */
	CHECK_OK("SCHED_BATCH", syscall(SYS_sched_setscheduler, 0, SCHED_BATCH, &sp));
	CHECK_OK("nice 5", setpriority(PRIO_PROCESS, 0, 5));
	CHECK_OK("sched_getattr again", getattr(0, &a, 56, 0));
	CHECK_EQ("SCHED_BATCH reads back", a.policy, SCHED_BATCH);
	CHECK_EQ("nice 5 reads back", a.nice, 5);

	CHECK_ERR("size 47", getattr(0, &a, 47, 0), EINVAL);
	CHECK_ERR("size 4097", getattr(0, &a, 4097, 0), EINVAL);
	CHECK_ERR("flags 1", getattr(0, &a, 56, 1), EINVAL);
	CHECK_ERR("a NULL attr", getattr(0, NULL, 56, 0), EINVAL);
	CHECK_ERR("pid -1", getattr(-1, &a, 56, 0), EINVAL);
	CHECK_ERR("no such task", getattr(0x3ffffff0, &a, 56, 0), ESRCH);
	CHECK_ERR("a bad pointer", getattr(0, (struct attr *)8, 56, 0), EFAULT);
	T_DONE();
}
