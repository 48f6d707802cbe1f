/* Timing helpers shared by the benchmark programs: a monotonic clock in
 * nanoseconds and nearest-rank percentiles of sorted samples. */
#ifndef MACTUX_BENCH_TIMING_H
#define MACTUX_BENCH_TIMING_H

#include <stdlib.h>
#include <time.h>

static inline long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* nearest-rank percentile of a sorted array */
static inline long long pct(const long long *v, long n, double p)
{
    long k = (long)(p / 100.0 * (double)n + 0.999999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

#endif
