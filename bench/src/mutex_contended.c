/* A contended pthread mutex: 4 threads take turns on one mutex.
 *
 * Each of 4 threads locks the mutex, does a short critical section (a
 * shared counter and WORK additions to a shared array, some 50-100 ns) and
 * unlocks, then does as much work outside the lock, N/4 times. The lock is
 * held about half the time, so a thread on the other CPU, or one that
 * preempted a holder, often finds it taken and sleeps in FUTEX_WAIT until
 * the holder's unlock wakes it (FUTEX_WAKE): the figure mixes the fast path
 * with futex calls and context switches. (With an empty critical section a
 * thread does thousands of lock/unlock pairs per time slice and hardly ever
 * meets another.) The threads start together (a barrier); the whole run is
 * timed with CLOCK_MONOTONIC from the barrier to the last join, and the
 * counter is checked at the end. How contended it was shows in the voluntary
 * context switches of the process over the run (getrusage ru_nvcsw, summed
 * over its threads: a thread that sleeps in FUTEX_WAIT switches), per
 * thousand operations.
 *
 * usage: mutex_contended [N]     (default N = 400000, rounded down to a multiple of 4)
 * output: "mutex_contended: N=<n> threads=4 ns_per_op=.. mops_per_s=.. sleeps_per_kop=.."
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "timing.h"

#define THREADS 4
#define WORK 32

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start_line;
static long counter;
static long per_thread;
static volatile long shared[8];

static void work(volatile long *cells, long seed)
{
    for (long k = 0; k < WORK; k++)
        cells[k & 7] += seed + k;
}

static void *worker(void *unused)
{
    (void)unused;
    pthread_barrier_wait(&start_line);
    volatile long mine[8] = {0};
    for (long i = 0; i < per_thread; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        work(shared, i);
        pthread_mutex_unlock(&lock);
        work(mine, i);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long n = arg_n(argc, argv, 400000L, "mutex_contended");
    per_thread = n / THREADS;
    if (per_thread == 0)
        per_thread = 1;
    n = per_thread * THREADS;
    pthread_t t[THREADS];
    int err = pthread_barrier_init(&start_line, NULL, THREADS + 1);
    for (int i = 0; err == 0 && i < THREADS; i++) {
        err = pthread_create(&t[i], NULL, worker, NULL);
        if (err != 0) {
            fprintf(stderr, "mutex_contended: pthread_create: %s\n", strerror(err));
            return 1; /* the started threads wait at the barrier: exit ends them */
        }
    }
    if (err != 0) {
        fprintf(stderr, "mutex_contended: pthread_barrier_init: %s\n", strerror(err));
        return 1;
    }
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    pthread_barrier_wait(&start_line);
    long long start = now_ns();
    for (int i = 0; i < THREADS; i++) {
        if ((err = pthread_join(t[i], NULL)) != 0) {
            fprintf(stderr, "mutex_contended: pthread_join: %s\n", strerror(err));
            return 1;
        }
    }
    long long ns = now_ns() - start;
    getrusage(RUSAGE_SELF, &after);
    if (counter != n) {
        fprintf(stderr, "mutex_contended: counter %ld, want %ld\n", counter, n);
        return 1;
    }
    printf("mutex_contended: N=%ld threads=%d ns_per_op=%.2f mops_per_s=%.2f sleeps_per_kop=%.2f\n",
           n, THREADS, (double)ns / (double)n, (double)n * 1e3 / (double)ns,
           (double)(after.ru_nvcsw - before.ru_nvcsw) * 1e3 / (double)n);
    return 0;
}
