/* /proc/net/{tcp,tcp6,udp,unix,route,snmp,sockstat}: the socket tables list the sockets with the inode numbers
 * that /proc/PID/fd shows, and a stat of another process's followed
 * /proc/PID/fd/N gives the socket's inode (what netstat -p, lsof and ss
 * rely on). Every wait is bounded. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;
#define CHECK(c, ...) do { if (!(c)) { printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); failures++; } } while (0)

static unsigned long ino_of(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

/* Finds the row of `file` whose local address is `local` ("0100007F:1F90");
 * returns its state and inode through the pointers. */
static int find_row(const char *file, const char *local, unsigned *state, unsigned long *inode) {
    FILE *f = fopen(file, "r");
    if (!f)
        return 0;
    char line[512];
    int found = 0;
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return 0;
    }
    while (fgets(line, sizeof line, f)) {
        char loc[64], rem[64];
        unsigned st, uid;
        unsigned long ino;
        if (sscanf(line, " %*d: %63s %63s %x %*x:%*x %*x:%*x %*x %u %*d %lu", loc, rem, &st, &uid, &ino) == 5 && strcmp(loc, local) == 0) {
            *state = st;
            *inode = ino;
            found = 1;
            break;
        }
    }
    fclose(f);
    return found;
}

static int unix_row(const char *path, unsigned *flags, unsigned long *inode) {
    FILE *f = fopen("/proc/net/unix", "r");
    if (!f)
        return 0;
    char line[512];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        char p[256] = "";
        unsigned fl;
        unsigned long ino;
        if (sscanf(line, "%*s %*x %*x %x %*x %*x %lu %255s", &fl, &ino, p) == 3 && strcmp(p, path) == 0) {
            *flags = fl;
            *inode = ino;
            found = 1;
            break;
        }
    }
    fclose(f);
    return found;
}

int main(void) {
    unsigned state = 0;
    unsigned long ino = 0;
    char local[64];

    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (tcp < 0 || bind(tcp, (struct sockaddr *)&a, sizeof a) || listen(tcp, 4) || getsockname(tcp, (struct sockaddr *)&a, &len)) {
        perror("tcp listener");
        return 1;
    }
    snprintf(local, sizeof local, "0100007F:%04X", ntohs(a.sin_port));
    CHECK(find_row("/proc/net/tcp", local, &state, &ino), "/proc/net/tcp lists %s", local);
    CHECK(state == 0x0A, "listening (0A): %02X", state);
    CHECK(ino == ino_of(tcp), "its inode is the socket's: %lu, %lu", ino, ino_of(tcp));
    char link[64], target[64], want[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", tcp);
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    snprintf(want, sizeof want, "socket:[%lu]", ino_of(tcp));
    CHECK(strcmp(target, want) == 0, "%s reads %s", link, target);

    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in u = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    len = sizeof u;
    if (udp < 0 || bind(udp, (struct sockaddr *)&u, sizeof u) || getsockname(udp, (struct sockaddr *)&u, &len)) {
        perror("udp socket");
        return 1;
    }
    snprintf(local, sizeof local, "0100007F:%04X", ntohs(u.sin_port));
    CHECK(find_row("/proc/net/udp", local, &state, &ino), "/proc/net/udp lists %s", local);
    CHECK(state == 0x07 && ino == ino_of(udp), "unconnected (07), its inode: %02X %lu", state, ino);

    int v6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    len = sizeof s6;
    if (v6 >= 0 && bind(v6, (struct sockaddr *)&s6, sizeof s6) == 0 && listen(v6, 1) == 0 && getsockname(v6, (struct sockaddr *)&s6, &len) == 0) {
        snprintf(local, sizeof local, "00000000000000000000000001000000:%04X", ntohs(s6.sin6_port));
        CHECK(find_row("/proc/net/tcp6", local, &state, &ino), "/proc/net/tcp6 lists %s", local);
        CHECK(state == 0x0A && ino == ino_of(v6), "listening, its inode");
    } /* else: no IPv6 loopback on this machine */

    char dir[] = "/tmp/netsockXXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    snprintf(un.sun_path, sizeof un.sun_path, "%s/s", dir);
    int us = socket(AF_UNIX, SOCK_STREAM, 0);
    if (us < 0 || bind(us, (struct sockaddr *)&un, sizeof un) || listen(us, 1)) {
        perror("unix listener");
        return 1;
    }
    unsigned flags = 0;
    CHECK(unix_row(un.sun_path, &flags, &ino), "/proc/net/unix lists %s", un.sun_path);
    CHECK(flags == 0x10000 && ino == ino_of(us), "listening (__SO_ACCEPTCON), its inode: %x %lu", flags, ino);

    /* Another process's fd: the followed link stats as the socket. */
    int ready[2], hold[2];
    if (pipe(ready) || pipe(hold)) {
        perror("pipe");
        return 1;
    }
    pid_t child = fork();
    if (child == 0) {
        char b;
        close(ready[0]);
        close(hold[1]);
        write(ready[1], "r", 1);
        read(hold[0], &b, 1); /* until the parent is done, or gone */
        _exit(0);
    }
    close(ready[1]);
    close(hold[0]);
    char b;
    read(ready[0], &b, 1);
    snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)child, tcp);
    struct stat st = { 0 };
    int ok = 0;
    for (int i = 0; i < 300 && !ok; i++) { /* the child's view may come a moment late */
        ok = stat(link, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == ino_of(tcp);
        if (!ok)
            usleep(10000);
    }
    CHECK(ok, "stat %s: a socket with the same inode (mode %o, ino %lu)", link, st.st_mode, (unsigned long)st.st_ino);
    n = readlink(link, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    snprintf(want, sizeof want, "socket:[%lu]", ino_of(tcp));
    CHECK(strcmp(target, want) == 0, "%s reads %s", link, target);
    close(hold[1]);
    waitpid(child, NULL, 0);

    /* /proc/net/route: Linux's header, every line padded to 127 bytes, and
     * the route to a local address's network is there (netstat -r). */
    FILE *rf = fopen("/proc/net/route", "r");
    CHECK(rf != NULL, "/proc/net/route opens");
    if (rf) {
        char line[256];
        int lines = 0, padded = 1;
        while (fgets(line, sizeof line, rf)) {
            if (lines++ == 0)
                CHECK(strncmp(line, "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT ", 70) == 0, "the route header: %s", line);
            padded &= strlen(line) == 128;
        }
        fclose(rf);
        CHECK(lines >= 1 && padded, "%d lines, each 127 bytes and a newline", lines);
    }

    /* The protocol counters netstat -s and ss -s read. */
    FILE *snmp = fopen("/proc/net/snmp", "r");
    char first[64] = "";
    CHECK(snmp && fgets(first, sizeof first, snmp) && strncmp(first, "Ip: Forwarding DefaultTTL", 25) == 0, "/proc/net/snmp: %s", first);
    if (snmp)
        fclose(snmp);
    FILE *ss = fopen("/proc/net/sockstat", "r");
    CHECK(ss && fgets(first, sizeof first, ss) && strncmp(first, "sockets: used ", 14) == 0, "/proc/net/sockstat: %s", first);
    if (ss)
        fclose(ss);

    unlink(un.sun_path);
    rmdir(dir);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
