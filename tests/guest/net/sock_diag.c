/* NETLINK_SOCK_DIAG as ss uses it: a SOCK_DIAG_BY_FAMILY dump of listening
 * TCP sockets finds this process's listener by port and inode, one of Unix
 * sockets finds its listener on an abstract name with UNIX_DIAG_NAME
 * (tests/guest/procfs/net_sockets.c has a path name), and a protocol
 * without a diag handler ends the dump with ENOENT in its NLMSG_DONE.
 * Every receive is bounded. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* The kernel's structures (include/uapi/linux/{netlink,sock_diag,
 * inet_diag,unix_diag}.h), written out: musl has no kernel headers. */
#define NETLINK_SOCK_DIAG 4
#define SOCK_DIAG_BY_FAMILY 20
#define NLM_F_REQUEST 1
#define NLM_F_DUMP 0x300
#define NLMSG_ERROR 2
#define NLMSG_DONE 3
#define UDIAG_SHOW_NAME 1
#define UNIX_DIAG_NAME 0
struct nlmsghdr { uint32_t nlmsg_len; uint16_t nlmsg_type, nlmsg_flags; uint32_t nlmsg_seq, nlmsg_pid; };
struct nlmsgerr { int error; struct nlmsghdr msg; };
struct nlattr { uint16_t nla_len, nla_type; };
struct inet_diag_sockid { uint16_t sport, dport; uint32_t src[4], dst[4]; uint32_t ifindex; uint32_t cookie[2]; };
struct inet_diag_req_v2 { uint8_t family, protocol, ext, pad; uint32_t states; struct inet_diag_sockid id; };
struct inet_diag_msg { uint8_t family, state, timer, retrans; struct inet_diag_sockid id; uint32_t expires, rqueue, wqueue, uid, inode; };
struct unix_diag_req { uint8_t family, protocol; uint16_t pad; uint32_t states, ino, show, cookie[2]; };
struct unix_diag_msg { uint8_t family, type, state, pad; uint32_t ino, cookie[2]; };
#define ALIGN4(n) (((n) + 3u) & ~3u)
#define HDRLEN ALIGN4(sizeof(struct nlmsghdr))

static int failures;
#define CHECK(c, ...) do { if (!(c)) { printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); failures++; } } while (0)

static unsigned long ino_of(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

/* Sends `req` (len bytes after the header) as a dump request; calls `each`
 * for every message until NLMSG_DONE; returns the error NLMSG_DONE or an
 * NLMSG_ERROR carries (0: none). */
static int dump(int nl, void *req, size_t len, void (*each)(struct nlmsghdr *, void *), void *arg) {
    char buf[16384] __attribute__((aligned(8)));
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    memset(buf, 0, HDRLEN + len);
    h->nlmsg_len = HDRLEN + len;
    h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    h->nlmsg_seq = 7;
    memcpy(buf + HDRLEN, req, len);
    if (send(nl, buf, h->nlmsg_len, 0) < 0)
        return -errno;
    for (;;) {
        struct pollfd p = { nl, POLLIN, 0 };
        if (poll(&p, 1, 5000) != 1)
            return -ETIMEDOUT;
        ssize_t n = recv(nl, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0)
            return -EIO;
        for (size_t off = 0; off + HDRLEN <= (size_t)n;) {
            struct nlmsghdr *m = (struct nlmsghdr *)(buf + off);
            if (m->nlmsg_len < HDRLEN || off + m->nlmsg_len > (size_t)n)
                return -EIO;
            if (m->nlmsg_type == NLMSG_DONE) /* with the dump's error, if any */
                return *(int *)(buf + off + HDRLEN);
            if (m->nlmsg_type == NLMSG_ERROR)
                return ((struct nlmsgerr *)(buf + off + HDRLEN))->error;
            each(m, arg);
            off += ALIGN4(m->nlmsg_len);
        }
    }
}

struct want { unsigned short port; unsigned long ino; const char *path; int found; };

static void inet_each(struct nlmsghdr *m, void *arg) {
    struct want *w = arg;
    struct inet_diag_msg *d = (struct inet_diag_msg *)((char *)m + HDRLEN);
    if (ntohs(d->id.sport) == w->port && d->inode == w->ino && d->state == 10 /* TCP_LISTEN */)
        w->found = 1;
}

static void unix_each(struct nlmsghdr *m, void *arg) {
    struct want *w = arg;
    struct unix_diag_msg *d = (struct unix_diag_msg *)((char *)m + HDRLEN);
    if (d->ino != w->ino)
        return;
    size_t off = HDRLEN + sizeof *d;
    while (off + sizeof(struct nlattr) <= m->nlmsg_len) {
        struct nlattr *a = (struct nlattr *)((char *)m + off);
        if (a->nla_len < sizeof *a || off + a->nla_len > m->nlmsg_len)
            break;
        size_t plen = a->nla_len - sizeof *a;
        /* An abstract name: a NUL, then its bytes. */
        if (a->nla_type == UNIX_DIAG_NAME && plen == strlen(w->path) + 1 && ((char *)(a + 1))[0] == 0 && memcmp((char *)(a + 1) + 1, w->path, plen - 1) == 0)
            w->found = d->state == 10 && d->type == SOCK_STREAM;
        off += ALIGN4(a->nla_len);
    }
}

static void ignore(struct nlmsghdr *m, void *arg) {
    (void)m;
    (void)arg;
}

int main(void) {
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0) {
        perror("socket NETLINK_SOCK_DIAG");
        return 1;
    }
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    if (bind(tcp, (struct sockaddr *)&a, sizeof a) || listen(tcp, 4) || getsockname(tcp, (struct sockaddr *)&a, &alen)) {
        perror("listener");
        return 1;
    }
    struct inet_diag_req_v2 r = { .family = AF_INET, .protocol = IPPROTO_TCP, .states = 1 << 10 };
    struct want w = { .port = ntohs(a.sin_port), .ino = ino_of(tcp) };
    CHECK(dump(nl, &r, sizeof r, inet_each, &w) == 0, "the TCP dump");
    CHECK(w.found, "the listener on port %u, inode %lu, is in it", w.port, w.ino);

    /* An abstract name: its bytes after the leading NUL, no NUL after. */
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    char name[64];
    int nlen = snprintf(name, sizeof name, "sockdiag-test-%d", (int)getpid());
    memcpy(un.sun_path + 1, name, nlen);
    int us = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(us, (struct sockaddr *)&un, offsetof(struct sockaddr_un, sun_path) + 1 + nlen) || listen(us, 2)) {
        perror("unix listener");
        return 1;
    }
    struct unix_diag_req ur = { .family = AF_UNIX, .states = 1 << 10, .show = UDIAG_SHOW_NAME };
    struct want uw = { .ino = ino_of(us), .path = name };
    CHECK(dump(nl, &ur, sizeof ur, unix_each, &uw) == 0, "the Unix dump");
    CHECK(uw.found, "the Unix listener @%s is in it", name);

    struct inet_diag_req_v2 bad = { .family = AF_INET, .protocol = 200, .states = ~0u };
    int e = dump(nl, &bad, sizeof bad, ignore, NULL); CHECK(e == -ENOENT, "a protocol without a diag handler: ENOENT (%d)", e);

    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
