/* SCM_RIGHTS with files that are no host object here: /dev/null and an
 * eventfd passed through a socketpair to the same process arrive as the
 * same open file descriptions (shared counter, shared status flags);
 * MSG_PEEK receives them too, and the next recvmsg again; /dev/null sent
 * from a child process arrives as /dev/null. Every wait is bounded
 * (MSG_DONTWAIT, a timed poll). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scm_fds.h"

static int failures;
#define CHECK(c, ...) do { if (!(c)) { printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); failures++; } } while (0)

static int is_dev_null(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
}

int main(void) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
        perror("socketpair");
        return 1;
    }
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int ev = eventfd(5, EFD_CLOEXEC);
    CHECK(null >= 0 && ev >= 0, "open /dev/null, eventfd");
    int out[2] = { null, ev };
    CHECK(send_fds(sv[0], out, 2) == 0, "sendmsg SCM_RIGHTS: %s", strerror(errno));

    int peeked[4], got[4];
    CHECK(recv_fds(sv[1], peeked, MSG_PEEK) == 2, "MSG_PEEK receives the two fds");
    CHECK(recv_fds(sv[1], got, 0) == 2, "recvmsg receives them again");
    close(peeked[0]);
    close(peeked[1]);

    CHECK(is_dev_null(got[0]), "the first is /dev/null (1:3)");
    CHECK((fcntl(got[0], F_GETFL) & O_ACCMODE) == O_WRONLY, "with the sender's access mode");
    CHECK(write(got[0], "abc", 3) == 3, "and takes writes");
    CHECK(fcntl(got[0], F_GETFD) == FD_CLOEXEC, "MSG_CMSG_CLOEXEC");

    uint64_t v = 0;
    CHECK(read(got[1], &v, 8) == 8 && v == 5, "the eventfd's counter is the sender's: %llu", (unsigned long long)v);
    v = 2;
    CHECK(write(ev, &v, 8) == 8, "write to the original");
    v = 0;
    CHECK(read(got[1], &v, 8) == 8 && v == 2, "seen through the received fd: %llu", (unsigned long long)v);
    CHECK(fcntl(got[1], F_SETFL, O_NONBLOCK) == 0, "F_SETFL");
    CHECK(fcntl(ev, F_GETFL) & O_NONBLOCK, "one open file description: the flag is the original's too");
    CHECK(read(ev, &v, 8) == -1 && errno == EAGAIN, "empty and non-blocking");

    /* From another process: /dev/null still arrives as /dev/null. */
    pid_t child = fork();
    if (child == 0) {
        int n = open("/dev/null", O_RDONLY | O_CLOEXEC);
        _exit(send_fds(sv[0], &n, 1) == 0 ? 0 : 1);
    }
    int status = -1;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child sent its fd");
    int from_child[4];
    CHECK(recv_fds(sv[1], from_child, 0) == 1, "one fd from the child");
    CHECK(is_dev_null(from_child[0]), "it is /dev/null");
    char b;
    CHECK(read(from_child[0], &b, 1) == 0, "reading /dev/null gives end of file");
    CHECK((fcntl(from_child[0], F_GETFL) & O_ACCMODE) == O_RDONLY, "read-only, as the child opened it");

    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
