/* The micro rows that are not null syscalls: one operation repeated N times,
 * timed as a whole with CLOCK_MONOTONIC after N/10 untimed repetitions
 * (start-up and the first page faults excluded).
 *
 *   pipe      write 1 byte into a pipe, read it back (same thread): two calls
 *   openclose open(PATH, O_RDONLY) + close: path lookup and a new descriptor
 *   stat      stat(PATH): path lookup and a 144-byte copy to the caller
 *   mmap      mmap 64 KiB anonymous private, write one byte, munmap: two
 *             calls and one page fault (the write makes the mapping real,
 *             as every program that maps memory does)
 *   compute   N rounds of an integer hash (xorshift and multiply), no call
 *             at all: what a runtime costs code that never leaves user space
 *
 * Every operation checks its result; any failure exits 1 naming the call, so
 * a fast failure is never reported as a figure. compute prints its checksum
 * (check=), which must equal the native one; the others print check=ok.
 *
 * usage: micro OP N [PATH]      (PATH: an existing file, for openclose/stat)
 * output: "micro: op=<op> N=<n> total_ns=<t> ns_per_op=<x> check=<c>"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "timing.h"

#define MAP_LEN (64 * 1024)

static int fds[2];
static const char *path;
static uint64_t hash_state = 0x9e3779b97f4a7c15ULL;

static int fail(const char *what)
{
    fprintf(stderr, "micro: %s: %s\n", what, strerror(errno));
    return -1;
}

static int op_pipe(void)
{
    char c = 'x', d = 0;
    if (write(fds[1], &c, 1) != 1)
        return fail("write to the pipe");
    if (read(fds[0], &d, 1) != 1)
        return fail("read from the pipe");
    if (d != c) {
        fprintf(stderr, "micro: read back %d, wrote %d\n", d, c);
        return -1;
    }
    return 0;
}

static int op_openclose(void)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail("open");
    if (close(fd) != 0)
        return fail("close");
    return 0;
}

static int op_stat(void)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return fail("stat");
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "micro: stat: %s is not a regular file\n", path);
        return -1;
    }
    return 0;
}

static int op_mmap(void)
{
    char *p = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return fail("mmap");
    p[MAP_LEN / 2] = 1;
    if (munmap(p, MAP_LEN) != 0)
        return fail("munmap");
    return 0;
}

/* 64 rounds of xorshift64* per op, so one op is long enough to time. */
static int op_compute(void)
{
    uint64_t x = hash_state;
    for (int i = 0; i < 64; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x *= 0x2545f4914f6cdd1dULL;
    }
    hash_state = x;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: micro pipe|openclose|stat|mmap|compute N [PATH]\n");
        return 2;
    }
    const char *op = argv[1];
    long n = strtol(argv[2], NULL, 10);
    if (n <= 0) {
        fprintf(stderr, "micro: N must be positive\n");
        return 2;
    }
    path = argc > 3 ? argv[3] : "/etc/passwd";
    int (*step)(void);
    if (strcmp(op, "pipe") == 0) {
        if (pipe(fds) != 0) {
            fail("pipe");
            return 1;
        }
        step = op_pipe;
    } else if (strcmp(op, "openclose") == 0)
        step = op_openclose;
    else if (strcmp(op, "stat") == 0)
        step = op_stat;
    else if (strcmp(op, "mmap") == 0)
        step = op_mmap;
    else if (strcmp(op, "compute") == 0)
        step = op_compute;
    else {
        fprintf(stderr, "micro: unknown op %s\n", op);
        return 2;
    }
    for (long i = 0; i < n / 10; i++)
        if (step() != 0)
            return 1;
    long long t0 = now_ns();
    for (long i = 0; i < n; i++)
        if (step() != 0)
            return 1;
    long long t1 = now_ns();
    char check[32] = "ok";
    if (step == op_compute)
        snprintf(check, sizeof check, "%016llx", (unsigned long long)hash_state);
    printf("micro: op=%s N=%ld total_ns=%lld ns_per_op=%.2f check=%s\n",
           op, n, t1 - t0, (double)(t1 - t0) / (double)n, check);
    return 0;
}
