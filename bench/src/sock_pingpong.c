/* The floor for a daemon round trip: a ping-pong over a Unix stream socket
 * between two native processes.
 *
 * The parent writes a 16-byte message (about one small request frame) to a
 * socketpair and reads the child's echo, N times, timing each round trip on
 * its own with CLOCK_MONOTONIC after 200 untimed ones. Each round trip costs
 * two wake-ups of a blocked process, as a request to mactuxd does (its
 * client and its worker thread block on the socket), without any
 * serialization, trap or async runtime.
 *
 * With "tcp" the two processes talk over a TCP connection on 127.0.0.1
 * (an ephemeral port, TCP_NODELAY) instead: the loopback latency a client
 * and server see.
 *
 * usage: sock_pingpong [N [tcp]]     (default 20000, a Unix socketpair)
 * output: "sock_pingpong: N=<n> mean_us=.. p50_us=.. p90_us=.. p99_us=..
 *          p999_us=.. max_us=.."
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "timing.h"

#define WARMUP 200
#define MSG 16

/* one full message each way; 0 on success */
static int xfer(int fd, char *buf, int send_first)
{
    for (int dir = 0; dir < 2; dir++) {
        int sending = dir == 0 ? send_first : !send_first;
        size_t done = 0;
        while (done < MSG) {
            ssize_t r = sending ? write(fd, buf + done, MSG - done)
                                : read(fd, buf + done, MSG - done);
            if (r <= 0)
                return -1;
            done += (size_t)r;
        }
    }
    return 0;
}

/* One round trip from the parent's end. */
static int ping(void *fd)
{
    char buf[MSG] = "ping";
    return xfer(*(int *)fd, buf, 1);
}

int main(int argc, char **argv)
{
    long n = arg_n(argc, argv, 20000L, "sock_pingpong");
    int sv[2];
    int tcp = argc > 2 && strcmp(argv[2], "tcp") == 0;
    if (tcp) {
        /* A listener on an ephemeral loopback port; the parent's end is
         * the accepted socket, the child's the connecting one. */
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
            getsockname(l, (struct sockaddr *)&a, &len) != 0) {
            perror("sock_pingpong: listen");
            return 1;
        }
        sv[1] = socket(AF_INET, SOCK_STREAM, 0);
        if (sv[1] < 0 || connect(sv[1], (struct sockaddr *)&a, sizeof a) != 0) {
            perror("sock_pingpong: connect");
            return 1;
        }
        sv[0] = accept(l, NULL, NULL);
        if (sv[0] < 0) {
            perror("sock_pingpong: accept");
            return 1;
        }
        close(l);
        setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(sv[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    } else if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        perror("sock_pingpong: socketpair");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("sock_pingpong: fork");
        return 1;
    }
    if (pid == 0) { /* echo until the parent closes its end */
        char b[MSG];
        close(sv[0]);
        while (xfer(sv[1], b, 0) == 0)
            ;
        _exit(0);
    }
    close(sv[1]);
    long long *t = calloc((size_t)n, sizeof *t);
    if (!t)
        return 2;
    long long sum = time_each(t, n, WARMUP, ping, &sv[0]);
    if (sum < 0)
        goto broken;
    close(sv[0]);
    waitpid(pid, NULL, 0);
    printf("sock_pingpong: N=%ld mean_us=%.2f p50_us=%.2f p90_us=%.2f p99_us=%.2f "
           "p999_us=%.2f max_us=%.2f\n",
           n, sum / 1e3 / (double)n, pct(t, n, 50) / 1e3, pct(t, n, 90) / 1e3,
           pct(t, n, 99) / 1e3, pct(t, n, 99.9) / 1e3, t[n - 1] / 1e3);
    return 0;
broken:
    fprintf(stderr, "sock_pingpong: the echo process went away\n");
    close(sv[0]);
    waitpid(pid, NULL, 0);
    return 1;
}
