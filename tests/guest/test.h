/*
 * test.h - tiny check library for guest programs.
 *
 * Every guest program pins one Linux behaviour. It prints one deterministic line per
 * check ("ok <what>" or "FAIL <what>: got X want Y") so that its stdout under
 * `mactux run` can be compared byte for byte with the native run, and returns nonzero
 * from main if any check failed (T_DONE()).
 *
 * Never print pids, addresses, times or random names: only what Linux guarantees.
 *
 * The leading `//` lines of a guest source may state the expected native outcome
 * and extra compiler flags (given to every variant):
 *   // expect: exit 42
 *   // expect: signal 11
 *   // build: -pthread
 * Without an expectation the program must exit 0.
 */
#ifndef MACTUX_TEST_H
#define MACTUX_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static __attribute__((unused)) int t_failures;

static __attribute__((unused)) void t_ok(const char *what) { printf("ok %s\n", what); }

static __attribute__((unused)) void t_fail_ll(const char *what, long long got, long long want)
{
	printf("FAIL %s: got %lld want %lld\n", what, got, want);
	t_failures++;
}

/* Line-buffer stdout so a crash under emulation still shows the checks that ran. */
#define T_BEGIN() setvbuf(stdout, NULL, _IOLBF, 0)
#define T_DONE()                                                            \
	do {                                                                \
		fflush(stdout);                                             \
		return t_failures ? 1 : 0;                                  \
	} while (0)

/* CHECK(what, cond): cond must hold. */
#define CHECK(what, cond)                                                   \
	do {                                                                \
		if (cond)                                                   \
			t_ok(what);                                         \
		else {                                                      \
			printf("FAIL %s: condition %s is false (errno %d)\n", \
			       what, #cond, errno);                         \
			t_failures++;                                       \
		}                                                           \
	} while (0)

/* CHECK_EQ(what, got, want): integer equality. */
#define CHECK_EQ(what, got, want)                                           \
	do {                                                                \
		long long t_got_ = (long long)(got);                        \
		long long t_want_ = (long long)(want);                      \
		if (t_got_ == t_want_)                                      \
			t_ok(what);                                         \
		else                                                        \
			t_fail_ll(what, t_got_, t_want_);                   \
	} while (0)

/* CHECK_OK(what, ret): a call returning -1 on error must succeed. */
#define CHECK_OK(what, ret)                                                 \
	do {                                                                \
		errno = 0;                                                  \
		long long t_ret_ = (long long)(ret);                        \
		if (t_ret_ != -1)                                           \
			t_ok(what);                                         \
		else {                                                      \
			printf("FAIL %s: got -1 errno %d (%s) want success\n", \
			       what, errno, strerror(errno));               \
			t_failures++;                                       \
		}                                                           \
	} while (0)

/* CHECK_ERR(what, ret, err): a call returning -1 on error must fail with errno err. */
#define CHECK_ERR(what, ret, err)                                           \
	do {                                                                \
		errno = 0;                                                  \
		long long t_ret_ = (long long)(ret);                        \
		int t_errno_ = errno;                                       \
		if (t_ret_ == -1 && t_errno_ == (err))                      \
			t_ok(what);                                         \
		else {                                                      \
			printf("FAIL %s: got %lld errno %d want -1 errno %d (%s)\n", \
			       what, t_ret_, t_errno_, (err), #err);        \
			t_failures++;                                       \
		}                                                           \
	} while (0)

/* CHECK_STR(what, got, want): string equality; got may be NULL. */
#define CHECK_STR(what, got, want)                                          \
	do {                                                                \
		const char *t_got_ = (got);                                 \
		const char *t_want_ = (want);                               \
		if (t_got_ && strcmp(t_got_, t_want_) == 0)                 \
			t_ok(what);                                         \
		else {                                                      \
			printf("FAIL %s: got \"%s\" want \"%s\"\n", what,   \
			       t_got_ ? t_got_ : "(null)", t_want_);        \
			t_failures++;                                       \
		}                                                           \
	} while (0)

/* CHECK_MEM(what, got, want, n): n bytes equal. */
#define CHECK_MEM(what, got, want, n)                                       \
	do {                                                                \
		if (memcmp((got), (want), (n)) == 0)                        \
			t_ok(what);                                         \
		else {                                                      \
			printf("FAIL %s: bytes differ\n", what);            \
			t_failures++;                                       \
		}                                                           \
	} while (0)

/* Raw syscall numbers that older libc headers (musl 1.2.3) may lack. */
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_renameat2
#define SYS_renameat2 316
#endif
#ifndef SYS_statx
#define SYS_statx 332
#endif
#ifndef SYS_getrandom
#define SYS_getrandom 318
#endif
#ifndef SYS_copy_file_range
#define SYS_copy_file_range 326
#endif
#ifndef SYS_preadv2
#define SYS_preadv2 327
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

/*
 * A private scratch directory under /tmp; the program chdirs into it so every path it
 * uses is relative and nothing random is ever printed. t_tmpdir_end() removes it.
 */
static __attribute__((unused)) char t_tmpdir_path[64];
static __attribute__((unused)) int t_tmpdir_fd = -1;

static __attribute__((unused)) void t_tmpdir_begin(void)
{
	strcpy(t_tmpdir_path, "/tmp/mactux-guest-XXXXXX");
	if (!mkdtemp(t_tmpdir_path) || chdir(t_tmpdir_path) != 0) {
		printf("FAIL cannot create scratch directory (errno %d)\n", errno);
		exit(2);
	}
	t_tmpdir_fd = open(t_tmpdir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Remove everything below directory fd dirfd (recursively), without following symlinks. */
static __attribute__((unused)) void t_rm_tree_at(int dirfd)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd, e->d_name, 0) == 0)
			continue;
		int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0) {
			fchmod(sub, 0700);
			t_rm_tree_at(sub);
			close(sub);
		}
		unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

static __attribute__((unused)) void t_tmpdir_end(void)
{
	if (t_tmpdir_fd < 0)
		return;
	if (chdir("/") != 0)
		return;
	t_rm_tree_at(t_tmpdir_fd);
	close(t_tmpdir_fd);
	t_tmpdir_fd = -1;
	if (rmdir(t_tmpdir_path) != 0)
		printf("FAIL scratch directory not removed (errno %d)\n", errno);
}

/* Write a whole string to a new file (mode 0644); returns 0 on success. */
static __attribute__((unused)) int t_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	size_t n = strlen(text);
	ssize_t w = write(fd, text, n);
	close(fd);
	return w == (ssize_t)n ? 0 : -1;
}

/* Read a whole (small) file into buf, NUL-terminated; returns bytes read or -1. */
static __attribute__((unused)) ssize_t t_read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t got = 0;
	while (got + 1 < cap) {
		ssize_t r = read(fd, buf + got, cap - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = 0;
	close(fd);
	return (ssize_t)got;
}


/* Sleeps `ms` milliseconds (under a second): how the thread and event
 * programs give another thread or process time to block first. */
static __attribute__((unused)) void t_pause_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	nanosleep(&ts, NULL);
}

/* Sleeps `ms` milliseconds in full, a signal handler run meanwhile or not. */
static __attribute__((unused)) void t_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* An absolute time `ms` from now on `clock` (for the calls that take one). */
static __attribute__((unused)) struct timespec t_in_ms(clockid_t clock, long ms)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	ts.tv_nsec += (ms % 1000) * 1000000L;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

/* Waits, 1 ms at a time and at most 5 s, until `cond` holds; the value of
 * `cond` at the end (whether it came true). */
#define T_WAIT_UNTIL(cond)                                                  \
	({                                                                  \
		int t_n_ = 0;                                               \
		while (!(cond) && t_n_++ < 5000)                            \
			t_sleep_ms(1);                                      \
		(cond);                                                     \
	})

/* What /proc/self/fd/FD links to, NUL-terminated in buf (empty when it
 * cannot be read); readlink's return value. */
static __attribute__((unused)) ssize_t t_fd_link(int fd, char *buf, size_t cap)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, buf, cap - 1);
	buf[n > 0 ? n : 0] = 0;
	return n;
}

/* An int socket option, or -1000 - errno when getsockopt fails (so a
 * check shows which errno). */
static __attribute__((unused)) int t_sockopt_int(int s, int level, int name)
{
	int v = -1;
	socklen_t l = sizeof v;
	if (getsockopt(s, level, name, &v, &l) < 0)
		return -1000 - errno;
	return v;
}

/* How many threads process `pid` has (0: this one): the entries of
 * /proc/PID/task other than . and .. (-1 if it cannot be listed). */
static __attribute__((unused)) int t_task_count_of(pid_t pid)
{
	char path[64];
	if (pid)
		snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	else
		snprintf(path, sizeof path, "/proc/self/task");
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static __attribute__((unused)) int t_task_count(void) { return t_task_count_of(0); }
#endif
