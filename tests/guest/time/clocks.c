/* clock_gettime/clock_getres/gettimeofday/time: monotonic order, plausible wall time, errors. */
#include "../test.h"
#include <sys/time.h>
#include <time.h>

#define Y2020 1577836800L

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void)
{
	T_BEGIN();
	struct timespec a, b, res;

	CHECK_OK("clock_gettime CLOCK_REALTIME", clock_gettime(CLOCK_REALTIME, &a));
	CHECK("realtime after 2020", a.tv_sec > Y2020);
	CHECK("realtime nsec in range", a.tv_nsec >= 0 && a.tv_nsec < 1000000000);

	int mono_ok = 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 1000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (ns(b) < ns(a))
			mono_ok = 0;
		a = b;
	}
	CHECK("CLOCK_MONOTONIC never goes back", mono_ok);
	CHECK_OK("raw clock_gettime MONOTONIC", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &a));
	CHECK("raw monotonic not before libc monotonic", ns(a) >= ns(b));

	clockid_t ids[] = { CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
			    CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID };
	const char *names[] = { "MONOTONIC_RAW", "REALTIME_COARSE", "MONOTONIC_COARSE", "BOOTTIME", "PROCESS_CPUTIME_ID",
				"THREAD_CPUTIME_ID" };
	char what[80];
	for (unsigned i = 0; i < sizeof ids / sizeof *ids; i++) {
		snprintf(what, sizeof what, "clock_gettime %s", names[i]);
		CHECK_OK(what, syscall(SYS_clock_gettime, ids[i], &a));
		snprintf(what, sizeof what, "clock_getres %s", names[i]);
		CHECK_OK(what, syscall(SYS_clock_getres, ids[i], &res));
	}
	CHECK_OK("clock_getres MONOTONIC", clock_getres(CLOCK_MONOTONIC, &res));
	CHECK("MONOTONIC resolution is 1ns", res.tv_sec == 0 && res.tv_nsec == 1);
	CHECK_OK("clock_getres NULL", syscall(SYS_clock_getres, CLOCK_REALTIME, NULL));
	CHECK_ERR("clock_gettime invalid clock -> EINVAL", syscall(SYS_clock_gettime, 12345, &a), EINVAL);
	CHECK_ERR("clock_getres invalid clock -> EINVAL", syscall(SYS_clock_getres, -100, &res), EINVAL);
	CHECK_ERR("clock_settime without privilege or bad value -> EINVAL",
		  ({ struct timespec bad = { 0, 2000000000 }; (int)syscall(SYS_clock_settime, CLOCK_REALTIME, &bad); }), EINVAL);

	struct timeval tv;
	CHECK_OK("gettimeofday", gettimeofday(&tv, NULL));
	CHECK("gettimeofday after 2020", tv.tv_sec > Y2020);
	CHECK("usec in range", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	struct timezone tz;
	CHECK_OK("raw gettimeofday with timezone", syscall(SYS_gettimeofday, &tv, &tz));
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	CHECK("gettimeofday agrees with CLOCK_REALTIME", rt.tv_sec - tv.tv_sec >= 0 && rt.tv_sec - tv.tv_sec <= 2);

	time_t t1 = time(NULL);
	time_t t2;
	CHECK("time() after 2020", t1 > Y2020);
	long r = syscall(SYS_time, &t2);
	/* time(2) reads the coarse clock, updated once a tick: just after a
	 * second turns it may still show the one before what t1 read. */
	CHECK("raw time returns and stores the same", r == t2 && r >= t1 - 1 && r - t1 <= 2);
	T_DONE();
}
