/* Null-syscall cost: calls syscall(SYS_getppid) (or SYS_getpid) N times and
 * prints the mean cost per call. The program times itself with
 * CLOCK_MONOTONIC around the loop only, so process start-up and tear-down
 * are excluded.
 *
 * Under mactux getppid is a round trip to the daemon and getpid is answered
 * from the runtime's cache, so the null-syscall figure (the trap cost) uses
 * getpid; getppid measures the daemon round trip.
 *
 * usage: getppid_loop [N] [getppid|getpid]   (default N = 1000000, getppid)
 * output: "getppid_loop: call=<c> N=<n> total_ns=<t> ns_per_call=<x>"
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "timing.h"

int main(int argc, char **argv)
{
    long n = arg_n(argc, argv, 1000000L, "getppid_loop");
    const char *call = argc > 2 ? argv[2] : "getppid";
    long nr;
    if (strcmp(call, "getppid") == 0)
        nr = SYS_getppid;
    else if (strcmp(call, "getpid") == 0)
        nr = SYS_getpid;
    else {
        fprintf(stderr, "getppid_loop: unknown call %s (getppid or getpid)\n", call);
        return 2;
    }
    long sink = 0;
    long long t0 = now_ns();
    for (long i = 0; i < n; i++)
        sink += syscall(nr);
    long long t1 = now_ns();
    if (sink < 0) /* keep the calls observable; neither call fails */
        fprintf(stderr, "unexpected result\n");
    printf("getppid_loop: call=%s N=%ld total_ns=%lld ns_per_call=%.2f\n",
           call, n, t1 - t0, (double)(t1 - t0) / (double)n);
    return 0;
}
