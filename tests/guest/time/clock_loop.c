/* Reads every common clock a thousand times through libc: readings in order, the
 * wall clock plausible. tests/tests/vdso.rs runs it under --trace, where none of
 * these reads may appear (the vDSO answers them without a trap). */
#include "../test.h"
#include <sys/time.h>

#define Y2020 1577836800L
#define READS 1000

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void)
{
	T_BEGIN();
	clockid_t ids[] = { CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME, CLOCK_MONOTONIC_COARSE };
	const char *names[] = { "MONOTONIC", "REALTIME", "BOOTTIME", "MONOTONIC_COARSE" };
	char what[96];
	for (unsigned c = 0; c < sizeof ids / sizeof *ids; c++) {
		struct timespec prev = { 0, 0 }, t;
		int ok = 1;
		for (int i = 0; i < READS; i++) {
			if (clock_gettime(ids[c], &t) != 0 || (c != 1 && ns(t) < ns(prev)))
				ok = 0;
			prev = t;
		}
		snprintf(what, sizeof what, "%d reads of CLOCK_%s", READS, names[c]);
		CHECK(what, ok);
	}
	struct timeval tv;
	int ok = 1;
	for (int i = 0; i < READS; i++)
		if (gettimeofday(&tv, NULL) != 0 || tv.tv_sec < Y2020 || tv.tv_usec >= 1000000)
			ok = 0;
	CHECK("1000 gettimeofday calls", ok);
	ok = 1;
	time_t prev = 0;
	for (int i = 0; i < READS; i++) {
		time_t t = time(NULL);
		if (t < Y2020 || t < prev)
			ok = 0;
		prev = t;
	}
	CHECK("1000 time calls", ok);
	T_DONE();
}
