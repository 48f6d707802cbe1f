/* A small HTTP/1.1 server of the kind event-driven servers are: one
 * process, non-blocking sockets, epoll, accept4, keep-alive. Every request
 * (a head ending in an empty line) is answered with the same 612-byte page,
 * the size of nginx's default page; a request for /quit is answered and
 * then the server exits 0. Driven by http_load.c.
 *
 * usage: http_server      (listens on an ephemeral port of 127.0.0.1)
 * output: "port=<n>" on stdout once it listens
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BODY_LEN 612
#define MAX_CONN 1024
#define BUF_LEN 4096

struct conn {
    int fd;
    size_t have; /* bytes of an unfinished request head in buf */
    char buf[BUF_LEN];
};

static char response[BODY_LEN + 256];
static size_t response_len;

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* Writes the whole response; the client reads each before it sends the
 * next request, so the socket buffer always has room. */
static int reply(int fd)
{
    size_t off = 0;
    while (off < response_len) {
        ssize_t n = write(fd, response + off, response_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

/* Answers every complete request head in c->buf. Returns 1 after /quit,
 * -1 when the connection is to be closed, 0 otherwise. */
static int serve(struct conn *c)
{
    for (;;) {
        char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
        if (end == NULL)
            return c->have == BUF_LEN ? -1 : 0;
        int quit = c->have >= 9 && memcmp(c->buf, "GET /quit", 9) == 0;
        if (reply(c->fd) != 0)
            return -1;
        if (quit)
            return 1;
        size_t used = (size_t)(end + 4 - c->buf);
        memmove(c->buf, c->buf + used, c->have - used);
        c->have -= used;
    }
}

int main(void)
{
    char body[BODY_LEN];
    memset(body, 'x', sizeof body);
    response_len = (size_t)snprintf(response, sizeof response,
                                    "HTTP/1.1 200 OK\r\nServer: http_server\r\nContent-Type: text/html\r\n"
                                    "Content-Length: %d\r\nConnection: keep-alive\r\n\r\n",
                                    BODY_LEN);
    memcpy(response + response_len, body, BODY_LEN);
    response_len += BODY_LEN;

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ls < 0)
        die("http_server: socket");
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 511) != 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &sl) != 0)
        die("http_server: listen");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) != 0)
        die("http_server: epoll");
    printf("port=%d\n", ntohs(sa.sin_port));
    fflush(stdout);

    struct epoll_event evs[64];
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("http_server: epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == NULL) {
                for (;;) {
                    int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = calloc(1, sizeof *nc);
                    if (nc == NULL)
                        die("http_server: calloc");
                    nc->fd = fd;
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = nc};
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev) != 0)
                        die("http_server: epoll_ctl");
                }
                continue;
            }
            int verdict = 0;
            for (;;) {
                ssize_t got = read(c->fd, c->buf + c->have, BUF_LEN - c->have);
                if (got > 0) {
                    c->have += (size_t)got;
                    verdict = serve(c);
                    if (verdict != 0)
                        break;
                    continue;
                }
                if (got < 0 && (errno == EAGAIN || errno == EINTR))
                    break;
                verdict = -1; /* EOF or error */
                break;
            }
            if (verdict == 1)
                return 0;
            if (verdict < 0) {
                close(c->fd);
                free(c);
            }
        }
    }
}
