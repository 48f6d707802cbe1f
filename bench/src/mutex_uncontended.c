/* An uncontended pthread mutex: N lock/unlock pairs by one thread.
 *
 * The loop runs in a second thread while the main thread waits in
 * pthread_join, so the process is multi-threaded as in real use; no other
 * thread touches the mutex, so every lock takes the user-space fast path (one
 * atomic compare-and-swap, no system call). Timed as a whole with
 * CLOCK_MONOTONIC; a counter incremented under the lock is checked at the end.
 *
 * usage: mutex_uncontended [N]     (default N = 10000000)
 * output: "mutex_uncontended: N=<n> ns_per_op=.. mops_per_s=.."
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "timing.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile long counter;
static long n;
static long long elapsed_ns;

static void *locker(void *unused)
{
    (void)unused;
    long long start = now_ns();
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    elapsed_ns = now_ns() - start;
    return NULL;
}

int main(int argc, char **argv)
{
    n = arg_n(argc, argv, 10000000L, "mutex_uncontended");
    pthread_t t;
    int err = pthread_create(&t, NULL, locker, NULL);
    if (err == 0)
        err = pthread_join(t, NULL);
    if (err != 0) {
        fprintf(stderr, "mutex_uncontended: pthread_create/join: %s\n", strerror(err));
        return 1;
    }
    if (counter != n) {
        fprintf(stderr, "mutex_uncontended: counter %ld, want %ld\n", counter, n);
        return 1;
    }
    printf("mutex_uncontended: N=%ld ns_per_op=%.2f mops_per_s=%.1f\n",
           n, (double)elapsed_ns / (double)n, (double)n * 1e3 / (double)elapsed_ns);
    return 0;
}
