/* epoll_wait on a ready fd: an eventfd holding a count, registered level
 * triggered, so each epoll_wait(…, 0) returns it at once; N calls timed as
 * a whole after 1000 untimed ones. The cost of one turn of an event loop
 * with work waiting.
 *
 * usage: epoll_ready [N]     (default 200000)
 * output: "epoll_ready: N=<n> ns_per_call=.."
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "timing.h"

int main(int argc, char **argv)
{
    long n = arg_n(argc, argv, 200000L, "epoll_ready");
    int ep = epoll_create1(0), ev = eventfd(1, 0);
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = 7}, out[4];
    if (ep < 0 || ev < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) != 0) {
        perror("epoll_ready: setup");
        return 1;
    }
    for (int i = 0; i < 1000; i++)
        epoll_wait(ep, out, 4, 0);
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        if (epoll_wait(ep, out, 4, 0) != 1 || out[0].data.u64 != 7) {
            fprintf(stderr, "epoll_ready: the ready eventfd was not reported\n");
            return 1;
        }
    }
    printf("epoll_ready: N=%ld ns_per_call=%.1f\n", n, (double)(now_ns() - t0) / (double)n);
    return 0;
}
