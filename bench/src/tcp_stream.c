/* TCP loopback throughput: a child writes N MiB in 64 KiB writes over a
 * connection on 127.0.0.1 (an ephemeral port) and the parent reads them
 * all; the parent's time from the first read to the last byte is the
 * figure. Bulk transfer is where a runtime's per-call cost matters least.
 *
 * usage: tcp_stream [N]     (default 256 MiB)
 * output: "tcp_stream: N=<MiB> mb_per_s=.."
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "timing.h"

#define CHUNK 65536

int main(int argc, char **argv)
{
    long n = arg_n(argc, argv, 256L, "tcp_stream");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &len) != 0) {
        perror("tcp_stream: listen");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("tcp_stream: fork");
        return 1;
    }
    if (pid == 0) {
        static char buf[CHUNK];
        memset(buf, 'x', sizeof buf);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) != 0)
            _exit(1);
        for (long i = 0; i < n * (1048576 / CHUNK); i++) {
            size_t done = 0;
            while (done < CHUNK) {
                ssize_t w = write(c, buf + done, CHUNK - done);
                if (w <= 0)
                    _exit(1);
                done += (size_t)w;
            }
        }
        close(c);
        _exit(0);
    }
    int s = accept(l, NULL, NULL);
    if (s < 0) {
        perror("tcp_stream: accept");
        return 1;
    }
    static char buf[CHUNK];
    long long total = 0, want = n * 1048576LL, t0 = 0;
    while (total < want) {
        ssize_t r = read(s, buf, sizeof buf);
        if (r <= 0)
            break;
        if (t0 == 0)
            t0 = now_ns();
        total += r;
    }
    long long t = now_ns() - t0;
    int st = 0;
    waitpid(pid, &st, 0);
    if (total != want || st != 0) {
        fprintf(stderr, "tcp_stream: got %lld of %lld bytes\n", total, want);
        return 1;
    }
    printf("tcp_stream: N=%ld mb_per_s=%.1f\n", n, (double)total / 1048576.0 / ((double)t / 1e9));
    return 0;
}
