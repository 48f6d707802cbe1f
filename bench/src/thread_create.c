/* Thread creation: pthread_create() + pthread_join() N times.
 *
 * Each iteration starts a thread that only returns its argument plus one;
 * the main thread joins it and checks the value. Every iteration is timed on
 * its own with CLOCK_MONOTONIC (create to the end of join), after a few
 * untimed warm-up iterations. Under glibc that is clone3 (clone on ENOSYS)
 * with CLONE_VM|CLONE_THREAD|CLONE_SETTLS|CLONE_CHILD_CLEARTID..., the new
 * thread's set_robust_list and rseq, its exit, and a futex wait on the tid
 * word the kernel clears; the stack comes from glibc's cache after the first
 * iteration.
 *
 * usage: thread_create [N]      (default N = 2000)
 * output: "thread_create: N=<n> mean_us=.. p50_us=.. p99_us=.. max_us=.."
 * Exit status 0 only if every create and join succeeded with the right value.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "timing.h"

#define WARMUP 20

static void *plus_one(void *arg)
{
    return (void *)((uintptr_t)arg + 1);
}

static int once(void *counter)
{
    uintptr_t *i = counter;
    pthread_t t;
    void *ret;
    int err = pthread_create(&t, NULL, plus_one, (void *)*i);
    if (err != 0) {
        fprintf(stderr, "thread_create: pthread_create: %s\n", strerror(err));
        return -1;
    }
    err = pthread_join(t, &ret);
    if (err != 0) {
        fprintf(stderr, "thread_create: pthread_join: %s\n", strerror(err));
        return -1;
    }
    if ((uintptr_t)ret != *i + 1) {
        fprintf(stderr, "thread_create: the thread returned %p, want %p\n", ret, (void *)(*i + 1));
        return -1;
    }
    (*i)++;
    return 0;
}

int main(int argc, char **argv)
{
    long n = arg_n(argc, argv, 2000L, "thread_create");
    long long *t = calloc((size_t)n, sizeof *t);
    if (!t)
        return 2;
    uintptr_t counter = 0;
    long long sum = time_each(t, n, WARMUP, once, &counter);
    if (sum < 0)
        return 1;
    printf("thread_create: N=%ld mean_us=%.2f p50_us=%.2f p99_us=%.2f max_us=%.2f\n",
           n, sum / 1e3 / (double)n, pct(t, n, 50) / 1e3, pct(t, n, 99) / 1e3,
           t[n - 1] / 1e3);
    return 0;
}
