/* Process creation: fork() + waitpid() N times.
 *
 * Each iteration: fork(); the child calls _exit(0) at once; the parent
 * waits for it with waitpid() and checks that it exited with status 0.
 * Every iteration is timed on its own with CLOCK_MONOTONIC (fork to the end
 * of waitpid), after a few untimed warm-up iterations, so process start-up
 * is excluded.
 *
 * usage: fork_wait [N]      (default N = 200)
 * output: "fork_wait: N=<n> mean_us=<m> p50_us=<a> p99_us=<b> max_us=<c>"
 * Exit status 0 only if every fork succeeded and every child exited 0.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "timing.h"

#define WARMUP 5

static int once(void *unused)
{
    (void)unused;
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork_wait: fork");
        return -1;
    }
    if (pid == 0)
        _exit(0);
    int st;
    if (waitpid(pid, &st, 0) != pid) {
        perror("fork_wait: waitpid");
        return -1;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "fork_wait: child status 0x%x, want exit 0\n", st);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long n = arg_n(argc, argv, 200L, "fork_wait");
    long long *t = calloc((size_t)n, sizeof *t);
    if (!t)
        return 2;
    long long sum = time_each(t, n, WARMUP, once, NULL);
    if (sum < 0)
        return 1;
    printf("fork_wait: N=%ld mean_us=%.1f p50_us=%.1f p99_us=%.1f max_us=%.1f\n",
           n, sum / 1e3 / (double)n, pct(t, n, 50) / 1e3, pct(t, n, 99) / 1e3,
           t[n - 1] / 1e3);
    return 0;
}
