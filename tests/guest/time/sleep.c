/* nanosleep and clock_nanosleep (relative and TIMER_ABSTIME) sleep at least as asked; errors. */
#include "../test.h"
#include <time.h>

static long long now_ns(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void)
{
	T_BEGIN();
	long long t0 = now_ns(CLOCK_MONOTONIC);
	struct timespec req = { 0, 20 * 1000 * 1000 }, rem = { 99, 99 };
	CHECK_OK("nanosleep 20ms", nanosleep(&req, &rem));
	CHECK("nanosleep slept at least 20ms", now_ns(CLOCK_MONOTONIC) - t0 >= 20000000);

	struct timespec zero = { 0, 0 };
	CHECK_OK("nanosleep 0", nanosleep(&zero, NULL));
	struct timespec bad = { 0, 1000000000 };
	CHECK_ERR("nanosleep tv_nsec 1e9 -> EINVAL", syscall(SYS_nanosleep, &bad, NULL), EINVAL);
	struct timespec neg = { -1, 0 };
	CHECK_ERR("nanosleep negative -> EINVAL", syscall(SYS_nanosleep, &neg, NULL), EINVAL);
	struct timespec negns = { 0, -1 };
	CHECK_ERR("nanosleep negative nsec -> EINVAL", syscall(SYS_nanosleep, &negns, NULL), EINVAL);

	t0 = now_ns(CLOCK_MONOTONIC);
	req.tv_nsec = 10 * 1000 * 1000;
	CHECK_EQ("clock_nanosleep relative", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, NULL), 0);
	CHECK("clock_nanosleep slept at least 10ms", now_ns(CLOCK_MONOTONIC) - t0 >= 10000000);

	long long target = now_ns(CLOCK_MONOTONIC) + 15000000;
	struct timespec abs = { target / 1000000000, target % 1000000000 };
	CHECK_EQ("clock_nanosleep TIMER_ABSTIME", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL), 0);
	CHECK("woke at or after the deadline", now_ns(CLOCK_MONOTONIC) >= target);
	struct timespec past = { 1, 0 };
	CHECK_EQ("TIMER_ABSTIME in the past returns at once", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL), 0);

	long long rt = now_ns(CLOCK_REALTIME) + 5000000;
	struct timespec rabs = { rt / 1000000000, rt % 1000000000 };
	CHECK_EQ("clock_nanosleep REALTIME absolute", syscall(SYS_clock_nanosleep, CLOCK_REALTIME, TIMER_ABSTIME, &rabs, NULL), 0);

	CHECK_ERR("clock_nanosleep invalid clock -> EINVAL", syscall(SYS_clock_nanosleep, 12345, 0, &req, NULL), EINVAL);
	CHECK_ERR("clock_nanosleep bad nsec -> EINVAL", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &bad, NULL), EINVAL);
	/* libc's clock_nanosleep returns the error instead of setting errno. */
	CHECK_EQ("libc clock_nanosleep returns EINVAL", clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL), EINVAL);
	T_DONE();
}
