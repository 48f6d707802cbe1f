/* Latency distribution of one system call, each call timed on its own.
 *
 * Calls syscall(SYS_getppid) (or SYS_getpid) N times, reading
 * CLOCK_MONOTONIC before and after every call, and prints percentiles in
 * microseconds. Under mactux getppid asks the daemon (one RPC round trip
 * over its Unix socket) while getpid is answered from the runtime's cache,
 * so the difference between the two is the cost of the round trip.
 *
 * The figures include one clock_gettime pair; "timer_p50_us" is the median
 * of N back-to-back pairs with nothing between them, for reference.
 * 200 untimed calls come first (connection set-up, page faults).
 *
 * usage: getppid_lat [N] [getppid|getpid]     (default 20000 getppid)
 * output: "getppid_lat: call=<c> N=<n> mean_us=.. p50_us=.. p90_us=..
 *          p99_us=.. p999_us=.. max_us=.. timer_p50_us=.."
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "timing.h"

#define WARMUP 200

int main(int argc, char **argv)
{
    long n = arg_n(argc, argv, 20000L, "getppid_lat");
    const char *call = argc > 2 ? argv[2] : "getppid";
    long nr;
    if (strcmp(call, "getppid") == 0)
        nr = SYS_getppid;
    else if (strcmp(call, "getpid") == 0)
        nr = SYS_getpid;
    else if (strcmp(call, "getpgrp") == 0)
        nr = SYS_getpgrp;
    else {
        fprintf(stderr, "getppid_lat: unknown call %s (getppid, getpgrp or getpid)\n", call);
        return 2;
    }
    long long *t = calloc((size_t)n, sizeof *t);
    if (!t)
        return 2;

    long first = syscall(nr), bad = 0;
    if (first <= 0) {
        fprintf(stderr, "getppid_lat: %s returned %ld\n", call, first);
        return 1;
    }
    for (int i = 0; i < WARMUP; i++)
        bad += syscall(nr) != first;
    long long sum = 0;
    for (long i = 0; i < n; i++) {
        long long a = now_ns();
        long r = syscall(nr);
        long long b = now_ns();
        bad += r != first;
        t[i] = b - a;
        sum += t[i];
    }
    if (bad) { /* the parent and our own pid do not change during the run */
        fprintf(stderr, "getppid_lat: %s changed its answer %ld times\n", call, bad);
        return 1;
    }
    qsort(t, (size_t)n, sizeof *t, cmp_ll);
    double mean = sum / 1e3 / (double)n;
    double p50 = pct(t, n, 50) / 1e3, p90 = pct(t, n, 90) / 1e3;
    double p99 = pct(t, n, 99) / 1e3, p999 = pct(t, n, 99.9) / 1e3;
    double mx = t[n - 1] / 1e3;

    for (long i = 0; i < n; i++) {
        long long a = now_ns();
        long long b = now_ns();
        t[i] = b - a;
    }
    qsort(t, (size_t)n, sizeof *t, cmp_ll);
    printf("getppid_lat: call=%s N=%ld mean_us=%.2f p50_us=%.2f p90_us=%.2f "
           "p99_us=%.2f p999_us=%.2f max_us=%.2f timer_p50_us=%.3f\n",
           call, n, mean, p50, p90, p99, p999, mx, pct(t, n, 50) / 1e3);
    return 0;
}
