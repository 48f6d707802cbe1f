/* Null-syscall cost: calls syscall(SYS_getppid) (or SYS_getpid) N times and
 * prints the mean cost per call. The program times itself with
 * CLOCK_MONOTONIC around the loop only, so process start-up and tear-down
 * are excluded.
 *
 * Under mactux getppid is a round trip to the daemon and getpid is answered
 * from the runtime's cache, so the null-syscall figure (the trap cost) uses
 * getpid; getppid measures the daemon round trip.
 *
 * clock_gettime, fstat, uname and read64 (64 bytes from /dev/zero) copy a
 * small result into the caller's memory: they show what copying to guest
 * memory costs on top of the trap.
 *
 * libc_clock_gettime calls clock_gettime(CLOCK_MONOTONIC) through libc,
 * which uses the vDSO when the auxiliary vector names one: the cost of a
 * clock read as programs see it (no syscall at all natively).
 *
 * usage: getppid_loop [N] [getppid|getpid|clock_gettime|libc_clock_gettime|fstat|uname|read64]
 *        (default N = 1000000, getppid)
 * output: "getppid_loop: call=<c> N=<n> total_ns=<t> ns_per_call=<x>"
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include "timing.h"

int main(int argc, char **argv)
{
    long n = arg_n(argc, argv, 1000000L, "getppid_loop");
    const char *call = argc > 2 ? argv[2] : "getppid";
    long nr;
    long a0 = 0, a1 = 0, a2 = 0;
    struct timespec ts;
    struct stat st;
    struct utsname un;
    char buf[64];
    if (strcmp(call, "getppid") == 0)
        nr = SYS_getppid;
    else if (strcmp(call, "getpid") == 0)
        nr = SYS_getpid;
    else if (strcmp(call, "clock_gettime") == 0)
        nr = SYS_clock_gettime, a0 = CLOCK_MONOTONIC, a1 = (long)&ts;
    else if (strcmp(call, "libc_clock_gettime") == 0) {
        long sink = 0;
        long long t0 = now_ns();
        for (long i = 0; i < n; i++)
            sink += clock_gettime(CLOCK_MONOTONIC, &ts);
        long long t1 = now_ns();
        if (sink != 0)
            fprintf(stderr, "unexpected result\n");
        printf("getppid_loop: call=%s N=%ld total_ns=%lld ns_per_call=%.2f\n",
               call, n, t1 - t0, (double)(t1 - t0) / (double)n);
        return 0;
    } else if (strcmp(call, "fstat") == 0)
        nr = SYS_fstat, a0 = 1, a1 = (long)&st;
    else if (strcmp(call, "uname") == 0)
        nr = SYS_uname, a0 = (long)&un;
    else if (strcmp(call, "read64") == 0)
        nr = SYS_read, a0 = open("/dev/zero", O_RDONLY), a1 = (long)buf, a2 = sizeof buf;
    else {
        fprintf(stderr, "getppid_loop: unknown call %s (getppid, getpid, clock_gettime, libc_clock_gettime, fstat, uname or read64)\n", call);
        return 2;
    }
    long sink = 0;
    long long t0 = now_ns();
    for (long i = 0; i < n; i++)
        sink += syscall(nr, a0, a1, a2);
    long long t1 = now_ns();
    if (sink < 0) /* keep the calls observable; none of them fails */
        fprintf(stderr, "unexpected result\n");
    printf("getppid_loop: call=%s N=%ld total_ns=%lld ns_per_call=%.2f\n",
           call, n, t1 - t0, (double)(t1 - t0) / (double)n);
    return 0;
}
