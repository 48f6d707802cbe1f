/* Futex ping-pong between two threads of one process.
 *
 * Two 32-bit words, ping and pong. The main thread sets ping to 1 and wakes
 * it (FUTEX_WAKE_PRIVATE), then waits until pong is 1 (FUTEX_WAIT_PRIVATE
 * while it reads 0) and clears it; the other thread does the mirror image.
 * One round trip is one message each way; N round trips are timed as a
 * whole with CLOCK_MONOTONIC after 1000 untimed ones. A waiter checks the
 * word before it sleeps, so on two free CPUs some waits never sleep: the
 * output counts the FUTEX_WAIT calls that did (returned 0) per round trip.
 * These are the calls pthread mutexes and condition variables make when
 * they block, and the path the runtime's direct futex wake-ups take.
 *
 * Every wait has a 10 s timeout: a lost wake-up fails the run (exit 1)
 * instead of hanging it.
 *
 * usage: futex_pingpong [N]     (default N = 20000)
 * output: "futex_pingpong: N=<n> ns_per_rt=.. rt_per_s=.. sleeps_per_rt=.."
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "timing.h"

#define WARMUP 1000
#define WAIT_S 10

static _Atomic uint32_t ping, pong;
static long total; /* warm-up plus timed round trips */

/* Sleeps while *word is 0. Returns the number of waits that slept, or -1. */
static long wait_for(_Atomic uint32_t *word)
{
    long slept = 0;
    const struct timespec limit = {WAIT_S, 0};
    while (atomic_load_explicit(word, memory_order_acquire) == 0) {
        long r = syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 0, &limit, NULL, 0);
        if (r == 0)
            slept++;
        else if (errno == ETIMEDOUT) {
            fprintf(stderr, "futex_pingpong: no wake-up within %d s\n", WAIT_S);
            return -1;
        } else if (errno != EAGAIN && errno != EINTR) {
            fprintf(stderr, "futex_pingpong: FUTEX_WAIT: %s\n", strerror(errno));
            return -1;
        }
    }
    atomic_store_explicit(word, 0, memory_order_relaxed);
    return slept;
}

static int post(_Atomic uint32_t *word)
{
    atomic_store_explicit(word, 1, memory_order_release);
    if (syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) < 0) {
        fprintf(stderr, "futex_pingpong: FUTEX_WAKE: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

static void *ponger(void *unused)
{
    (void)unused;
    long slept = 0;
    for (long i = 0; i < total; i++) {
        long s = wait_for(&ping);
        if (s < 0 || post(&pong) != 0)
            return (void *)-1L;
        slept += s;
    }
    return (void *)slept;
}

/* n round trips from the main thread; the number of sleeping waits, or -1 */
static long rounds(long n)
{
    long slept = 0;
    for (long i = 0; i < n; i++) {
        if (post(&ping) != 0)
            return -1;
        long s = wait_for(&pong);
        if (s < 0)
            return -1;
        slept += s;
    }
    return slept;
}

int main(int argc, char **argv)
{
    long n = arg_n(argc, argv, 20000L, "futex_pingpong");
    total = WARMUP + n;
    pthread_t t;
    int err = pthread_create(&t, NULL, ponger, NULL);
    if (err != 0) {
        fprintf(stderr, "futex_pingpong: pthread_create: %s\n", strerror(err));
        return 1;
    }
    long mine = rounds(WARMUP);
    long long start = now_ns();
    long timed = mine < 0 ? -1 : rounds(n);
    long long ns = now_ns() - start;
    if (mine < 0 || timed < 0)
        return 1; /* the other thread may be stuck in a wait: exit ends it */
    void *theirs;
    if ((err = pthread_join(t, &theirs)) != 0) {
        fprintf(stderr, "futex_pingpong: pthread_join: %s\n", strerror(err));
        return 1;
    }
    if ((long)theirs < 0)
        return 1;
    /* Sleeps of both threads, warm-up included for the other one: an upper
     * bound of the timed part's share, good enough to tell "mostly slept"
     * from "mostly spun". */
    double sleeps = (double)(timed + (long)theirs * n / total) / (double)n;
    printf("futex_pingpong: N=%ld ns_per_rt=%.1f rt_per_s=%.0f sleeps_per_rt=%.2f\n",
           n, (double)ns / (double)n, (double)n * 1e9 / (double)ns, sleeps);
    return 0;
}
