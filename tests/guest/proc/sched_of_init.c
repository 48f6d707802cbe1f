/* The scheduling and priority queries of pid 1, the init every task
 * descends from (under mactux the namespace's init, which has no host
 * process, read as a process in the defaults): they answer, with a
 * time-sharing policy, priority 0, a nice value in range and every online
 * CPU. (A host's own init may differ in its policy flags and nice value.)
 * Python's test_posix asks its parent this way. (Raw calls: musl's
 * sched_getscheduler and sched_getparam are ENOSYS stubs.) */
#define _GNU_SOURCE
#include "../test.h"
#include <sched.h>
#include <sys/resource.h>

int main(void)
{
	T_BEGIN();
	int policy = (int)syscall(SYS_sched_getscheduler, 1) & ~SCHED_RESET_ON_FORK;
	CHECK("sched_getscheduler(1): time-sharing", policy == SCHED_OTHER || policy == SCHED_BATCH || policy == SCHED_IDLE);
	struct sched_param p = { .sched_priority = 7 };
	CHECK_OK("sched_getparam(1)", syscall(SYS_sched_getparam, 1, &p));
	CHECK_EQ("its priority", p.sched_priority, 0);
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 1);
	CHECK("getpriority(PRIO_PROCESS, 1)", errno == 0 && nice >= -20 && nice <= 19);
	cpu_set_t set;
	CHECK_OK("sched_getaffinity(1)", sched_getaffinity(1, sizeof set, &set));
	CHECK_EQ("every online CPU", CPU_COUNT(&set), (int)sysconf(_SC_NPROCESSORS_ONLN));
	struct timespec ts;
	CHECK_OK("sched_rr_get_interval(1)", sched_rr_get_interval(1, &ts));
	T_DONE();
}
