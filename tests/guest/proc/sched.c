/* getcpu, sched_getaffinity, sched_yield, sched_getscheduler/getparam, getpriority. */
#include "../test.h"
#include <sched.h>
#include <sys/resource.h>

int main(void)
{
	T_BEGIN();
	unsigned cpu = 9999, node = 9999;
	CHECK_OK("getcpu", syscall(SYS_getcpu, &cpu, &node, NULL));
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	CHECK("cpu below configured count", (long)cpu < ncpu || ncpu <= 0);
	CHECK("node set", node != 9999);
	CHECK_OK("getcpu with NULLs", syscall(SYS_getcpu, NULL, NULL, NULL));

	cpu_set_t set;
	CPU_ZERO(&set);
	long r = syscall(SYS_sched_getaffinity, 0, sizeof set, &set);
	CHECK("raw sched_getaffinity returns a size", r > 0 && r <= (long)sizeof set && r % 8 == 0);
	CHECK("at least one cpu", CPU_COUNT(&set) >= 1);
	CHECK_ERR("sched_getaffinity tiny size -> EINVAL", syscall(SYS_sched_getaffinity, 0, 1, &set), EINVAL);
	CHECK_OK("sched_setaffinity to the same set", sched_setaffinity(0, sizeof set, &set));
	CHECK_OK("sched_yield", sched_yield());
	CHECK_EQ("sched_getscheduler SCHED_OTHER", syscall(SYS_sched_getscheduler, 0), SCHED_OTHER);
	struct sched_param sp;
	CHECK_OK("sched_getparam", syscall(SYS_sched_getparam, 0, &sp));
	CHECK_EQ("priority 0 for SCHED_OTHER", sp.sched_priority, 0);
	CHECK_EQ("sched_get_priority_max OTHER", sched_get_priority_max(SCHED_OTHER), 0);
	CHECK_EQ("sched_get_priority_max FIFO", sched_get_priority_max(SCHED_FIFO), 99);
	CHECK_ERR("sched_getscheduler missing pid -> ESRCH", syscall(SYS_sched_getscheduler, 0x3ffffff0), ESRCH);
	errno = 0;
	int prio = getpriority(PRIO_PROCESS, 0);
	CHECK("getpriority succeeds", errno == 0 && prio >= -20 && prio <= 19);
	T_DONE();
}
