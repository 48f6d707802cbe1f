/* Timeouts at their edges, in every call that takes one: zero, already past,
 * invalid (EINVAL), missing where the call needs one (EFAULT), and as large
 * as a timespec holds, which means "a very long time", never a crash. Each
 * blocking call is given something that makes it return at once, so a huge
 * timeout never has to run out. */
#include "../test.h"
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <time.h>

/* futex(2) operations (include/uapi/linux/futex.h; musl ships no linux/ headers). */
#define T_FUTEX_WAIT 0
#define T_FUTEX_WAIT_BITSET 9
#define T_FUTEX_PRIVATE 128
#define T_FUTEX_CLOCK_REALTIME 256

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts, uint32_t val3)
{
	return syscall(SYS_futex, uaddr, op | T_FUTEX_PRIVATE, val, ts, NULL, val3);
}

int main(void)
{
	T_BEGIN();
	const struct timespec huge = {LLONG_MAX, 999999999};
	const struct timespec bad_nsec = {0, 1000000000};
	const struct timespec negative = {-1, 0};
	const struct timespec zero = {0, 0};
	const struct timespec one_ms = {0, 1000000};
	uint32_t word = 1;

	CHECK_ERR("FUTEX_WAIT, huge timeout, value differs", futex(&word, T_FUTEX_WAIT, 2, &huge, 0), EAGAIN);
	CHECK_ERR("FUTEX_WAIT, nsec out of range", futex(&word, T_FUTEX_WAIT, 1, &bad_nsec, 0), EINVAL);
	CHECK_ERR("FUTEX_WAIT, negative timeout", futex(&word, T_FUTEX_WAIT, 1, &negative, 0), EINVAL);
	CHECK_ERR("FUTEX_WAIT, 1 ms", futex(&word, T_FUTEX_WAIT, 1, &one_ms, 0), ETIMEDOUT);
	CHECK_ERR("FUTEX_WAIT, zero timeout", futex(&word, T_FUTEX_WAIT, 1, &zero, 0), ETIMEDOUT);
	CHECK_ERR("FUTEX_WAIT_BITSET, deadline in the past", futex(&word, T_FUTEX_WAIT_BITSET, 1, &one_ms, ~0u),
		  ETIMEDOUT);
	CHECK_ERR("FUTEX_WAIT_BITSET, huge realtime deadline, value differs",
		  futex(&word, T_FUTEX_WAIT_BITSET | T_FUTEX_CLOCK_REALTIME, 2, &huge, ~0u), EAGAIN);
	CHECK_ERR("FUTEX_WAIT_BITSET, bitset 0", futex(&word, T_FUTEX_WAIT_BITSET, 1, &one_ms, 0), EINVAL);

	/* The poll family: a pipe with data in it is ready at once. */
	int p[2];
	if (pipe(p) != 0 || write(p[1], "x", 1) != 1)
		return 2;
	struct pollfd pfd = {.fd = p[0], .events = POLLIN};
	CHECK_EQ("ppoll, huge timeout, fd ready", syscall(SYS_ppoll, &pfd, 1, &huge, NULL, 8), 1);
	CHECK_ERR("ppoll, nsec out of range", syscall(SYS_ppoll, &pfd, 1, &bad_nsec, NULL, 8), EINVAL);
	CHECK_ERR("ppoll, negative timeout", syscall(SYS_ppoll, &pfd, 1, &negative, NULL, 8), EINVAL);
	CHECK_EQ("ppoll, no fds, 1 ms", syscall(SYS_ppoll, NULL, 0, &one_ms, NULL, 8), 0);
	CHECK_EQ("poll, INT_MAX ms, fd ready", poll(&pfd, 1, INT_MAX), 1);

	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	struct timespec ts = huge;
	CHECK_EQ("pselect6, huge timeout, fd ready", syscall(SYS_pselect6, p[0] + 1, &rd, NULL, NULL, &ts, NULL), 1);
	FD_SET(p[0], &rd);
	ts = bad_nsec;
	CHECK_ERR("pselect6, nsec out of range", syscall(SYS_pselect6, p[0] + 1, &rd, NULL, NULL, &ts, NULL), EINVAL);
	FD_SET(p[0], &rd);
	struct timeval tv = {LONG_MAX, 999999};
	CHECK_EQ("select, huge timeval, fd ready", syscall(SYS_select, p[0] + 1, &rd, NULL, NULL, &tv), 1);
	/* select normalises microseconds beyond a second; only negatives are refused. */
	FD_SET(p[0], &rd);
	tv = (struct timeval){0, 1000000};
	CHECK_EQ("select, 10^6 usec, fd ready", syscall(SYS_select, p[0] + 1, &rd, NULL, NULL, &tv), 1);
	FD_SET(p[0], &rd);
	tv = (struct timeval){-1, 0};
	CHECK_ERR("select, negative timeval", syscall(SYS_select, p[0] + 1, &rd, NULL, NULL, &tv), EINVAL);

	/* select, pselect6 and ppoll write back the time left (Linux only). */
	FD_SET(p[0], &rd);
	tv = (struct timeval){5, 0};
	syscall(SYS_select, p[0] + 1, &rd, NULL, NULL, &tv);
	long long left_us = tv.tv_sec * 1000000LL + tv.tv_usec;
	CHECK("select writes back the time left", left_us > 4000000 && left_us <= 5000000);
	FD_SET(p[0], &rd);
	ts = (struct timespec){5, 0};
	syscall(SYS_pselect6, p[0] + 1, &rd, NULL, NULL, &ts, NULL);
	long long left_ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	CHECK("pselect6 writes back the time left", left_ns > 4000000000LL && left_ns <= 5000000000LL);
	ts = (struct timespec){5, 0};
	syscall(SYS_ppoll, &pfd, 1, &ts, NULL, 8);
	left_ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	CHECK("ppoll writes back the time left", left_ns > 4000000000LL && left_ns <= 5000000000LL);
	int q[2];
	if (pipe(q) != 0)
		return 2;
	FD_ZERO(&rd);
	FD_SET(q[0], &rd);
	tv = (struct timeval){0, 1000};
	CHECK_EQ("select times out on an empty pipe", syscall(SYS_select, q[0] + 1, &rd, NULL, NULL, &tv), 0);
	CHECK("select leaves no time after timing out", tv.tv_sec == 0 && tv.tv_usec == 0);
	struct timespec *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro == MAP_FAILED)
		return 2;
	*ro = (struct timespec){5, 0};
	mprotect(ro, 4096, PROT_READ);
	CHECK_EQ("ppoll with its timeout in read-only memory still succeeds", syscall(SYS_ppoll, &pfd, 1, ro, NULL, 8),
		 1);
	CHECK("and the read-only timeout is left alone", ro->tv_sec == 5 && ro->tv_nsec == 0);

	/* rt_sigtimedwait: a pending blocked signal is taken at once. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR1);
	CHECK_EQ("rt_sigtimedwait, huge timeout, signal pending", syscall(SYS_rt_sigtimedwait, &set, NULL, &huge, 8),
		 SIGUSR1);
	CHECK_ERR("rt_sigtimedwait, zero timeout, none pending", syscall(SYS_rt_sigtimedwait, &set, NULL, &zero, 8),
		  EAGAIN);
	CHECK_ERR("rt_sigtimedwait, 1 ms, none pending", syscall(SYS_rt_sigtimedwait, &set, NULL, &one_ms, 8), EAGAIN);
	CHECK_ERR("rt_sigtimedwait, nsec out of range", syscall(SYS_rt_sigtimedwait, &set, NULL, &bad_nsec, 8),
		  EINVAL);

	CHECK_ERR("nanosleep, nsec out of range", syscall(SYS_nanosleep, &bad_nsec, NULL), EINVAL);
	CHECK_ERR("nanosleep, negative", syscall(SYS_nanosleep, &negative, NULL), EINVAL);
	CHECK_ERR("nanosleep, no timespec", syscall(SYS_nanosleep, NULL, NULL), EFAULT);
	CHECK_EQ("nanosleep, zero", syscall(SYS_nanosleep, &zero, NULL), 0);
	/* clock_nanosleep returns the error number instead of setting errno. */
	CHECK_EQ("clock_nanosleep, absolute deadline in the past",
		 clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &one_ms, NULL), 0);
	CHECK_EQ("clock_nanosleep, nsec out of range", clock_nanosleep(CLOCK_MONOTONIC, 0, &bad_nsec, NULL), EINVAL);
	T_DONE();
}
