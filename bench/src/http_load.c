/* An HTTP load generator, always run natively: starts the server command
 * it is given (http_server.c, itself run natively or under a launcher),
 * reads the port it prints, then keeps C keep-alive connections busy, each
 * sending its next GET as soon as the previous response is complete, until
 * N responses have arrived; 10% of N first, untimed. Then asks the server
 * to quit (GET /quit) and waits for it.
 *
 * usage: http_load N C server-command...
 * output: "http_load: N=<n> conc=<c> req_per_s=.. us_per_req=.."
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "timing.h"

#define BUF_LEN 8192

#define REQUEST(path) "GET " path " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: http_load\r\nAccept: */*\r\n\r\n"
static const char request[] = REQUEST("/index.html");
static const char quit_request[] = REQUEST("/quit");

struct conn {
    int fd;
    size_t have;       /* bytes of the current response read so far */
    long long need;    /* its total length once the head is complete, else -1 */
    char buf[BUF_LEN]; /* the head (and what follows it in the same read) */
};

static pid_t server;

static void fail(const char *what)
{
    fprintf(stderr, "http_load: %s: %s\n", what, strerror(errno));
    if (server > 0)
        kill(server, SIGKILL);
    exit(1);
}

static void send_request(struct conn *c, const char *req)
{
    size_t len = strlen(req);
    if (write(c->fd, req, len) != (ssize_t)len)
        fail("write");
    c->have = 0;
    c->need = -1;
}

static int connect_to(int port, int nonblock)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        fail("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (nonblock && fcntl(fd, F_SETFL, O_NONBLOCK) != 0)
        fail("fcntl");
    return fd;
}

/* Reads what the connection has; returns 1 when its response is complete. */
static int take(struct conn *c)
{
    for (;;) {
        char scratch[BUF_LEN];
        char *dst = c->need < 0 ? c->buf + c->have : scratch;
        size_t room = c->need < 0 ? BUF_LEN - c->have : sizeof scratch;
        ssize_t n = read(c->fd, dst, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0) {
            errno = n == 0 ? ECONNRESET : errno;
            fail("read");
        }
        c->have += (size_t)n;
        if (c->need < 0) {
            char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
            if (end == NULL) {
                if (c->have == BUF_LEN) {
                    errno = EMSGSIZE;
                    fail("response head");
                }
                continue;
            }
            char *cl = memmem(c->buf, (size_t)(end - c->buf), "Content-Length: ", 16);
            if (cl == NULL) {
                errno = EPROTO;
                fail("response without Content-Length");
            }
            c->need = (end + 4 - c->buf) + atoll(cl + 16);
        }
        if ((long long)c->have > c->need) {
            errno = EPROTO;
            fail("more bytes than one response");
        }
        if ((long long)c->have == c->need)
            return 1;
    }
}

int main(int argc, char **argv)
{
    long n = arg_n(argc, argv, 20000L, "http_load");
    int conc = argc > 2 ? atoi(argv[2]) : 0;
    if (conc <= 0 || conc > 256 || argc < 4) {
        fprintf(stderr, "usage: http_load N C server-command...\n");
        return 2;
    }
    int out[2];
    if (pipe(out) != 0)
        fail("pipe");
    server = fork();
    if (server < 0)
        fail("fork");
    if (server == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execvp(argv[3], argv + 3);
        perror("http_load: exec");
        _exit(127);
    }
    close(out[1]);
    char line[64] = {0};
    size_t got = 0;
    alarm(30); /* a server that never prints its port ends the run */
    while (got < sizeof line - 1 && memchr(line, '\n', got) == NULL) {
        ssize_t r = read(out[0], line + got, sizeof line - 1 - got);
        if (r <= 0)
            fail("reading the server's port");
        got += (size_t)r;
    }
    alarm(0);
    int port = 0;
    if (sscanf(line, "port=%d", &port) != 1 || port <= 0)
        fail("the server printed no port");

    struct conn *conns = calloc((size_t)conc, sizeof *conns);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (conns == NULL || ep < 0)
        fail("setup");
    for (int i = 0; i < conc; i++) {
        conns[i].fd = connect_to(port, 1);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) != 0)
            fail("epoll_ctl");
    }
    long warm = n / 10, total = warm + n, sent = 0, done = 0;
    long long t0 = 0;
    for (int i = 0; i < conc && sent < total; i++, sent++)
        send_request(&conns[i], request);
    struct epoll_event evs[256];
    while (done < total) {
        int k = epoll_wait(ep, evs, 256, 10000);
        if (k == 0) {
            errno = ETIMEDOUT;
            fail("no response for 10 s");
        }
        if (k < 0) {
            if (errno == EINTR)
                continue;
            fail("epoll_wait");
        }
        for (int i = 0; i < k; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!take(c))
                continue;
            if (++done == warm)
                t0 = now_ns();
            if (sent < total) {
                send_request(c, request);
                sent++;
            }
        }
    }
    long long dt = now_ns() - t0;

    struct conn q = {.fd = connect_to(port, 0)};
    send_request(&q, quit_request);
    while (!take(&q))
        ;
    int status;
    if (waitpid(server, &status, 0) != server)
        fail("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "http_load: the server ended with status %#x\n", status);
        return 1;
    }
    printf("http_load: N=%ld conc=%d req_per_s=%.0f us_per_req=%.2f\n", n, conc, (double)n * 1e9 / (double)dt,
           (double)dt / 1e3 / (double)n);
    return 0;
}
