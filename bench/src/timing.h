/* Helpers shared by the benchmark programs: the N argument, a monotonic
 * clock in nanoseconds, per-iteration timing, and nearest-rank percentiles
 * of sorted samples. */
#ifndef MACTUX_BENCH_TIMING_H
#define MACTUX_BENCH_TIMING_H

#include <stdio.h>
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

/* N from argv[1], `def` without one; exits 2, naming `prog`, unless positive. */
static inline long arg_n(int argc, char **argv, long def, const char *prog)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : def;
    if (n <= 0) {
        fprintf(stderr, "%s: N must be positive\n", prog);
        exit(2);
    }
    return n;
}

/* Runs step(arg) `warmup` times untimed, then n times each timed on its own
 * into t, which it sorts. Returns the sum in ns, or -1 as soon as a step
 * fails (returns non-zero). */
static inline long long time_each(long long *t, long n, int warmup, int (*step)(void *), void *arg)
{
    for (int i = 0; i < warmup; i++)
        if (step(arg) != 0)
            return -1;
    long long sum = 0;
    for (long i = 0; i < n; i++) {
        long long a = now_ns();
        if (step(arg) != 0)
            return -1;
        t[i] = now_ns() - a;
        sum += t[i];
    }
    qsort(t, (size_t)n, sizeof *t, cmp_ll);
    return sum;
}

#endif
