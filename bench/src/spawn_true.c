/* Process creation and exec: posix_spawn("/bin/true") + waitpid() N times.
 *
 * glibc's posix_spawn creates the child with clone(CLONE_VM | CLONE_VFORK)
 * on a stack of its own: the parent is suspended until the child has called
 * execve (or failed). Each iteration is timed on its own with
 * CLOCK_MONOTONIC, from posix_spawn to the end of waitpid, so it covers
 * clone, execve of a dynamic program, its whole run and the reaping; a few
 * untimed warm-up iterations come first.
 *
 * usage: spawn_true [N] [PROG]     (default N = 200, PROG = /bin/true)
 * output: "spawn_true: N=<n> mean_ms=<m> p50_ms=<a> p99_ms=<b> max_ms=<c>"
 * Exit status 0 only if every spawn succeeded and every child exited 0.
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "timing.h"

#define WARMUP 3

extern char **environ;

static int once(void *arg)
{
    char *prog = arg;
    char *argv[] = { prog, NULL };
    pid_t pid;
    int rc = posix_spawn(&pid, prog, NULL, NULL, argv, environ);
    if (rc != 0) {
        fprintf(stderr, "spawn_true: posix_spawn(%s): %s\n", prog, strerror(rc));
        return -1;
    }
    int st;
    if (waitpid(pid, &st, 0) != pid) {
        perror("spawn_true: waitpid");
        return -1;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "spawn_true: %s status 0x%x, want exit 0\n", prog, st);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long n = arg_n(argc, argv, 200L, "spawn_true");
    char *prog = argc > 2 ? argv[2] : "/bin/true";
    long long *t = calloc((size_t)n, sizeof *t);
    if (!t)
        return 2;
    long long sum = time_each(t, n, WARMUP, once, prog);
    if (sum < 0)
        return 1;
    printf("spawn_true: N=%ld mean_ms=%.3f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
           n, sum / 1e6 / (double)n, pct(t, n, 50) / 1e6, pct(t, n, 99) / 1e6,
           t[n - 1] / 1e6);
    return 0;
}
