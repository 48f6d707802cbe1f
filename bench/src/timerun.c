/* Wall-clock timer for short commands (fallback when hyperfine is absent).
 *
 * usage: timerun RUNS WARMUP CMD [ARGS...]
 * Runs CMD WARMUP times untimed, then RUNS times, each with stdio on
 * /dev/null, timing fork -> exec -> wait with CLOCK_MONOTONIC. Prints
 * "median_ms=<m> mean_ms=<a> min_ms=<lo> max_ms=<hi> runs=<n>".
 * Fails (exit 1) as soon as CMD exits non-zero.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int run_once(char **argv)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: timerun RUNS WARMUP CMD [ARGS...]\n");
        return 2;
    }
    int runs = atoi(argv[1]), warm = atoi(argv[2]);
    if (runs <= 0 || warm < 0) {
        fprintf(stderr, "timerun: bad RUNS/WARMUP\n");
        return 2;
    }
    char **cmd = argv + 3;
    double *t = calloc((size_t)runs, sizeof *t);
    if (!t)
        return 2;
    for (int i = 0; i < warm; i++) {
        int rc = run_once(cmd);
        if (rc != 0) {
            fprintf(stderr, "timerun: command failed (status %d)\n", rc);
            return 1;
        }
    }
    double sum = 0;
    for (int i = 0; i < runs; i++) {
        double a = now_ms();
        int rc = run_once(cmd);
        t[i] = now_ms() - a;
        if (rc != 0) {
            fprintf(stderr, "timerun: command failed (status %d)\n", rc);
            return 1;
        }
        sum += t[i];
    }
    qsort(t, (size_t)runs, sizeof *t, cmp);
    double med = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
    printf("median_ms=%.3f mean_ms=%.3f min_ms=%.3f max_ms=%.3f runs=%d\n",
           med, sum / runs, t[0], t[runs - 1], runs);
    return 0;
}
