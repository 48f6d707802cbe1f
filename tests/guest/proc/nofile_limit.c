/* RLIMIT_NOFILE bounds new fds at once when lowered, and again when
 * raised: open, dup and F_DUPFD give EMFILE at the limit, dup2 to a number
 * at or above it EBADF, F_DUPFD from it EINVAL; raising it lets the same
 * calls through. mmap is bounded by RLIMIT_AS the same way. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static int failures;
#define CHECK(c, ...) do { if (!(c)) { printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); failures++; } } while (0)

int main(void) {
    struct rlimit old;
    getrlimit(RLIMIT_NOFILE, &old);
    int probe = open("/dev/null", O_RDONLY); /* the lowest free fd */
    close(probe);
    struct rlimit low = { (rlim_t)probe + 2, old.rlim_max };
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0, "setrlimit");
    int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY);
    CHECK(a == probe && b == probe + 1, "two fds below the limit: %d %d", a, b);
    errno = 0;
    CHECK(open("/dev/null", O_RDONLY) == -1 && errno == EMFILE, "open at the limit: EMFILE (%d)", errno);
    errno = 0;
    CHECK(dup(a) == -1 && errno == EMFILE, "dup at the limit: EMFILE (%d)", errno);
    errno = 0;
    CHECK(dup2(a, probe + 2) == -1 && errno == EBADF, "dup2 to the limit: EBADF (%d)", errno);
    errno = 0;
    CHECK(fcntl(a, F_DUPFD, probe + 2) == -1 && errno == EINVAL, "F_DUPFD from the limit: EINVAL (%d)", errno);
    close(b);
    struct rlimit more = { (rlim_t)probe + 4, old.rlim_max };
    CHECK(setrlimit(RLIMIT_NOFILE, &more) == 0, "raise");
    int c = open("/dev/null", O_RDONLY), d = open("/dev/null", O_RDONLY), e = open("/dev/null", O_RDONLY);
    CHECK(c == probe + 1 && d == probe + 2 && e == probe + 3, "raised: %d %d %d", c, d, e);
    errno = 0;
    CHECK(open("/dev/null", O_RDONLY) == -1 && errno == EMFILE, "the new limit: EMFILE (%d)", errno);
    close(a);
    close(c);
    close(d);
    close(e);
    setrlimit(RLIMIT_NOFILE, &old);

    /* RLIMIT_AS: a mapping beyond it fails, and fits again once raised. */
    struct rlimit as_old;
    getrlimit(RLIMIT_AS, &as_old);
    void *big = mmap(NULL, 1ul << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(big != MAP_FAILED, "a 1 GiB reservation without a limit");
    if (big != MAP_FAILED)
        munmap(big, 1ul << 30);
    struct rlimit as_low = { 8ul << 30, as_old.rlim_max };
    if (as_old.rlim_cur == RLIM_INFINITY) {
        CHECK(setrlimit(RLIMIT_AS, &as_low) == 0, "set RLIMIT_AS");
        errno = 0;
        void *huge = mmap(NULL, 16ul << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        CHECK(huge == MAP_FAILED && errno == ENOMEM, "16 GiB beyond an 8 GiB RLIMIT_AS: ENOMEM (%d)", errno);
        if (huge != MAP_FAILED)
            munmap(huge, 16ul << 30);
        setrlimit(RLIMIT_AS, &as_old);
        huge = mmap(NULL, 16ul << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        CHECK(huge != MAP_FAILED, "fits again once the limit is gone");
        if (huge != MAP_FAILED)
            munmap(huge, 16ul << 30);
    }
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
