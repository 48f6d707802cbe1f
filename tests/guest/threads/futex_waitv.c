/*
 * futex_waitv(2) and the futex2 calls futex_wake(2), futex_wait(2), futex_requeue(2):
 * argument checks (EINVAL, EFAULT), EAGAIN on a changed word, absolute timeouts on
 * either clock, and a wake on one futex returning its index. Also FUTEX_WAKE's
 * count of 0, which wakes one waiter.
 */
#include "../test.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#define SYS_futex_wake_ 454
#define SYS_futex_wait_ 455
#define SYS_futex_requeue_ 456

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX2_SIZE_U8 0x00
#define FUTEX2_SIZE_U32 0x02
#define FUTEX2_PRIVATE 128

struct waitv {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};

static long waitv(struct waitv *w, unsigned n, unsigned flags, const struct timespec *ts, clockid_t clock)
{
	return syscall(SYS_futex_waitv, w, n, flags, ts, clock);
}

static long futex_wake2(void *uaddr, unsigned long mask, int nr, unsigned flags)
{
	return syscall(SYS_futex_wake_, uaddr, mask, nr, flags);
}

static long futex_wait2(void *uaddr, unsigned long val, unsigned long mask, unsigned flags, const struct timespec *ts,
			clockid_t clock)
{
	return syscall(SYS_futex_wait_, uaddr, val, mask, flags, ts, clock);
}

/* Wakes `op` on `word` until a waiter is found (bounded); returns how many were woken. */
static long wake_until_one(_Atomic uint32_t *word, int op, int count)
{
	for (int i = 0; i < 5000; i++) {
		long r = syscall(SYS_futex, word, op, count, NULL, NULL, 0);
		if (r != 0)
			return r;
		t_sleep_ms(1);
	}
	return 0;
}

#define N 5
static _Atomic uint32_t words[N];
static struct waitv vec[N];

struct waiter {
	long ret;
	int err;
	unsigned flags;
};

static void *wait_all(void *arg)
{
	struct waiter *w = arg;
	struct waitv v[N];
	for (int i = 0; i < N; i++)
		v[i] = (struct waitv){.val = 0, .uaddr = (uintptr_t)&words[i], .flags = w->flags};
	w->ret = waitv(v, N, 0, NULL, 0);
	w->err = errno;
	return NULL;
}

static _Atomic uint32_t single;
static void *wait_single(void *arg)
{
	struct waiter *w = arg;
	w->ret = futex_wait2((void *)&single, 0, ~0u, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE, NULL, 0);
	w->err = errno;
	return NULL;
}

static void *wait_classic(void *arg)
{
	struct waiter *w = arg;
	w->ret = syscall(SYS_futex, &single, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0);
	w->err = errno;
	return NULL;
}

static void waitv_checks(void)
{
	for (int i = 0; i < N; i++)
		vec[i] = (struct waitv){.val = 0, .uaddr = (uintptr_t)&words[i], .flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE};
	struct timespec t;

	CHECK_ERR("flags must be 0", waitv(vec, N, 1, NULL, 0), EINVAL);
	CHECK_ERR("no futexes", waitv(vec, 0, 0, NULL, 0), EINVAL);
	CHECK_ERR("129 futexes", waitv(vec, 129, 0, NULL, 0), EINVAL);
	CHECK_ERR("a null array", waitv(NULL, 1, 0, NULL, 0), EINVAL);
	t = t_in_ms(CLOCK_MONOTONIC, 10);
	CHECK_ERR("a clock that is neither MONOTONIC nor REALTIME", waitv(vec, N, 0, &t, CLOCK_BOOTTIME), EINVAL);
	struct timespec bad = {0, 1000000000L};
	CHECK_ERR("tv_nsec out of range", waitv(vec, N, 0, &bad, CLOCK_MONOTONIC), EINVAL);
	CHECK_ERR("an unreadable timeout", waitv(vec, N, 0, (struct timespec *)8, CLOCK_MONOTONIC), EFAULT);

	struct waitv v[3];
	memcpy(v, vec, sizeof v);
	v[1].flags = FUTEX2_SIZE_U8;
	CHECK_ERR("an 8-bit futex", waitv(v, 3, 0, NULL, 0), EINVAL);
	memcpy(v, vec, sizeof v);
	v[2].reserved = 1;
	CHECK_ERR("__reserved set", waitv(v, 3, 0, NULL, 0), EINVAL);
	memcpy(v, vec, sizeof v);
	v[2].flags |= 0x100;
	CHECK_ERR("an unknown flag", waitv(v, 3, 0, NULL, 0), EINVAL);
	memcpy(v, vec, sizeof v);
	v[1].val = 1ull << 32;
	CHECK_ERR("a value wider than 32 bits", waitv(v, 3, 0, NULL, 0), EINVAL);
	memcpy(v, vec, sizeof v);
	v[2].uaddr += 1;
	CHECK_ERR("an unaligned futex", waitv(v, 3, 0, NULL, 0), EINVAL);

	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(page, 4096);
	memcpy(v, vec, sizeof v);
	v[2].uaddr = (uintptr_t)page;
	CHECK_ERR("an unmapped futex", waitv(v, 3, 0, NULL, 0), EFAULT);
	CHECK_ERR("an unmapped array", waitv((struct waitv *)page, 1, 0, NULL, 0), EFAULT);
	memcpy(v, vec, sizeof v);
	v[1].val = 3;
	v[2].uaddr = (uintptr_t)page;
	CHECK_ERR("a changed word before an unmapped one", waitv(v, 3, 0, NULL, 0), EAGAIN);
	memcpy(v, vec, sizeof v);
	v[2].val = 9;
	CHECK_ERR("a changed word", waitv(v, 3, 0, NULL, 0), EAGAIN);

	t = t_in_ms(CLOCK_MONOTONIC, 30);
	CHECK_ERR("times out on CLOCK_MONOTONIC", waitv(vec, N, 0, &t, CLOCK_MONOTONIC), ETIMEDOUT);
	t = t_in_ms(CLOCK_REALTIME, 30);
	CHECK_ERR("times out on CLOCK_REALTIME", waitv(vec, N, 0, &t, CLOCK_REALTIME), ETIMEDOUT);
	t = (struct timespec){0, 0};
	CHECK_ERR("a timeout long past", waitv(vec, N, 0, &t, CLOCK_MONOTONIC), ETIMEDOUT);

	/* A wake on one of them returns its index: private entries, private wake. */
	struct waiter w = {.flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE};
	pthread_t th;
	pthread_create(&th, NULL, wait_all, &w);
	CHECK_EQ("FUTEX_WAKE_PRIVATE on futex 3 finds the waiter", wake_until_one(&words[3], FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1), 1);
	pthread_join(th, NULL);
	CHECK_EQ("futex_waitv returns index 3", w.ret, 3);

	/* Shared entries (on private memory), a shared wake on the last one. */
	w = (struct waiter){.flags = FUTEX2_SIZE_U32};
	pthread_create(&th, NULL, wait_all, &w);
	CHECK_EQ("FUTEX_WAKE on futex 4 finds the waiter", wake_until_one(&words[4], FUTEX_WAKE, 1), 1);
	pthread_join(th, NULL);
	CHECK_EQ("futex_waitv returns index 4", w.ret, 4);

	/* A futex2 wake of futex 0. */
	w = (struct waiter){.flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE};
	pthread_create(&th, NULL, wait_all, &w);
	long r = 0;
	for (int i = 0; i < 5000 && r == 0; i++) {
		r = futex_wake2((void *)&words[0], ~0u, 1, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE);
		if (r == 0)
			t_sleep_ms(1);
	}
	CHECK_EQ("futex_wake on futex 0 finds the waiter", r, 1);
	pthread_join(th, NULL);
	CHECK_EQ("futex_waitv returns index 0", w.ret, 0);
}

static void futex2_checks(void)
{
	struct timespec t;
	CHECK_ERR("futex_wait: a changed word", futex_wait2((void *)&single, 1, ~0u, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE, NULL, 0),
		  EAGAIN);
	CHECK_ERR("futex_wait: mask 0", futex_wait2((void *)&single, 0, 0, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE, NULL, 0), EINVAL);
	CHECK_ERR("futex_wait: a 64-bit mask",
		  futex_wait2((void *)&single, 0, 1ull << 32, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE, NULL, 0), EINVAL);
	CHECK_ERR("futex_wait: an 8-bit futex", futex_wait2((void *)&single, 0, ~0u, FUTEX2_SIZE_U8, NULL, 0), EINVAL);
	t = t_in_ms(CLOCK_MONOTONIC, 30);
	CHECK_ERR("futex_wait: times out", futex_wait2((void *)&single, 0, ~0u, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE, &t,
						    CLOCK_MONOTONIC),
		  ETIMEDOUT);
	t = t_in_ms(CLOCK_REALTIME, 30);
	CHECK_ERR("futex_wait: times out on CLOCK_REALTIME",
		  futex_wait2((void *)&single, 0, ~0u, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE, &t, CLOCK_REALTIME), ETIMEDOUT);
	CHECK_ERR("futex_wake: mask 0", futex_wake2((void *)&single, 0, 1, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE), EINVAL);
	CHECK_ERR("futex_wake: an unknown flag", futex_wake2((void *)&single, ~0u, 1, FUTEX2_SIZE_U32 | 0x100), EINVAL);
	CHECK_EQ("futex_wake: nobody waits", futex_wake2((void *)&single, ~0u, 1, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE), 0);

	/* futex_wait woken by futex_wake; a count of 0 wakes nobody. */
	struct waiter w = {0};
	pthread_t th;
	pthread_create(&th, NULL, wait_single, &w);
	t_sleep_ms(20);
	CHECK_EQ("futex_wake with nr 0 wakes nobody", futex_wake2((void *)&single, ~0u, 0, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE), 0);
	long r = 0;
	for (int i = 0; i < 5000 && r == 0; i++) {
		r = futex_wake2((void *)&single, ~0u, 1, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE);
		if (r == 0)
			t_sleep_ms(1);
	}
	CHECK_EQ("futex_wake finds the futex_wait waiter", r, 1);
	pthread_join(th, NULL);
	CHECK_EQ("futex_wait returned 0", w.ret, 0);

	/* FUTEX_WAKE with a count of 0 wakes one waiter (futex_wake stops after the first). */
	w = (struct waiter){0};
	pthread_create(&th, NULL, wait_classic, &w);
	CHECK_EQ("FUTEX_WAKE with a count of 0 wakes one", wake_until_one(&single, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 0), 1);
	pthread_join(th, NULL);
	CHECK_EQ("FUTEX_WAIT returned 0", w.ret, 0);

	/* futex_requeue: the waiter moves from `single` to words[1]. */
	struct waitv two[2] = {
		{.val = 0, .uaddr = (uintptr_t)&single, .flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE},
		{.val = 0, .uaddr = (uintptr_t)&words[1], .flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE},
	};
	CHECK_ERR("futex_requeue: flags must be 0", syscall(SYS_futex_requeue_, two, 1, 0, 1), EINVAL);
	CHECK_ERR("futex_requeue: a null array", syscall(SYS_futex_requeue_, NULL, 0, 0, 1), EINVAL);
	CHECK_ERR("futex_requeue: a negative count", syscall(SYS_futex_requeue_, two, 0, -1, 1), EINVAL);
	two[0].val = 5;
	CHECK_ERR("futex_requeue: a changed word", syscall(SYS_futex_requeue_, two, 0, 0, 1), EAGAIN);
	two[0].val = 0;
	w = (struct waiter){0};
	pthread_create(&th, NULL, wait_single, &w);
	r = 0;
	for (int i = 0; i < 5000 && r == 0; i++) {
		r = syscall(SYS_futex_requeue_, two, 0, 0, 1);
		if (r == 0)
			t_sleep_ms(1);
	}
	CHECK_EQ("futex_requeue moves the waiter", r, 1);
	CHECK_EQ("nobody is left on the first futex", futex_wake2((void *)&single, ~0u, 1, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE), 0);
	CHECK_EQ("a wake of the second finds it", futex_wake2((void *)&words[1], ~0u, 1, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE), 1);
	pthread_join(th, NULL);
	CHECK_EQ("its futex_wait returned 0", w.ret, 0);
}

int main(void)
{
	T_BEGIN();
	alarm(60);
	waitv_checks();
	futex2_checks();
	T_DONE();
}
