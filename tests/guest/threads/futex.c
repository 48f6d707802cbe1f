// build: -pthread
/* Raw futex(2) with threads as waiters: FUTEX_WAIT (EAGAIN on a changed
 * value, ETIMEDOUT after a relative timeout), FUTEX_WAKE counts,
 * FUTEX_WAIT_BITSET absolute timeouts on CLOCK_MONOTONIC and with
 * FUTEX_CLOCK_REALTIME, FUTEX_WAKE_BITSET masks, FUTEX_CMP_REQUEUE and
 * FUTEX_WAKE_OP counts, and the errors for a bad address, a misaligned one
 * and an unknown operation.
 *
 * Counts are exact because no wake is issued before every waiter is known to
 * be queued: FUTEX_CMP_REQUEUE from the word the waiters wait on to a second
 * word returns how many it moved, so moving until all are counted both
 * proves they are queued and gathers them on the second word. */
#include "../test.h"
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

/* include/uapi/linux/futex.h (musl ships no linux/ headers). */
#define T_FUTEX_WAIT 0
#define T_FUTEX_WAKE 1
#define T_FUTEX_CMP_REQUEUE 4
#define T_FUTEX_WAKE_OP 5
#define T_FUTEX_WAIT_BITSET 9
#define T_FUTEX_WAKE_BITSET 10
#define T_FUTEX_PRIVATE 128
#define T_FUTEX_CLOCK_REALTIME 256
#define T_FUTEX_OP(op, oparg, cmp, cmparg) \
	((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))
#define T_FUTEX_OP_SET 0
#define T_FUTEX_OP_ADD 1
#define T_FUTEX_OP_OPARG_SHIFT 8
#define T_FUTEX_OP_CMP_EQ 0
#define T_FUTEX_OP_CMP_GT 4

#define P(op) ((op) | T_FUTEX_PRIVATE)

static long futex(void *addr, int op, long val, const void *timeout_or_val2, void *addr2, unsigned val3)
{
	return syscall(SYS_futex, addr, op, val, timeout_or_val2, addr2, val3);
}

struct waiter {
	pthread_t thread;
	atomic_int *word;
	int op;
	unsigned bitset;
	long ret;
	int err;
};

static void *wait_once(void *arg)
{
	struct waiter *w = arg;
	errno = 0;
	w->ret = futex(w->word, w->op, 0, NULL, NULL, w->bitset);
	w->err = errno;
	return NULL;
}

static void start(struct waiter *w, atomic_int *word, int op, unsigned bitset)
{
	*w = (struct waiter){ .word = word, .op = op, .bitset = bitset, .ret = -2 };
	pthread_create(&w->thread, NULL, wait_once, w);
}

/* Moves waiters of `from` (value 0) to `to` until n were moved (at most 5 s);
 * returns how many were moved. */
static long gather(atomic_int *from, atomic_int *to, long n)
{
	long moved = 0;
	for (int i = 0; i < 5000 && moved < n; i++) {
		long r = futex(from, P(T_FUTEX_CMP_REQUEUE), 0, (void *)(uintptr_t)INT_MAX, to, 0);
		if (r > 0)
			moved += r;
		else
			t_pause_ms(1);
	}
	return moved;
}

/* Joins the waiters; counts those whose FUTEX_WAIT returned 0. */
static int join_woken(struct waiter *w, int n)
{
	int woken = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(w[i].thread, NULL);
		woken += w[i].ret == 0;
	}
	return woken;
}

int main(void)
{
	T_BEGIN();
	alarm(30); /* a hang becomes a SIGALRM death, not a stuck suite */
	static atomic_int a, b, c, x, y;
	struct timespec rel = { 0, 20 * 1000000L };

	atomic_store(&a, 1);
	CHECK_ERR("FUTEX_WAIT on a changed value is EAGAIN", futex(&a, P(T_FUTEX_WAIT), 0, NULL, NULL, 0), EAGAIN);
	CHECK_ERR("shared FUTEX_WAIT on a changed value is EAGAIN", futex(&a, T_FUTEX_WAIT, 0, NULL, NULL, 0), EAGAIN);
	atomic_store(&a, 0);
	CHECK_ERR("FUTEX_WAIT with a relative timeout is ETIMEDOUT", futex(&a, P(T_FUTEX_WAIT), 0, &rel, NULL, 0),
		  ETIMEDOUT);
	struct timespec bad = { 0, 1000000000L };
	CHECK_ERR("FUTEX_WAIT with tv_nsec of 10^9 is EINVAL", futex(&a, P(T_FUTEX_WAIT), 0, &bad, NULL, 0), EINVAL);
	CHECK_EQ("FUTEX_WAKE with no waiter returns 0", futex(&a, P(T_FUTEX_WAKE), 1, NULL, NULL, 0), 0);

	/* FUTEX_WAKE counts. */
	struct waiter w[3];
	for (int i = 0; i < 3; i++)
		start(&w[i], &a, P(T_FUTEX_WAIT), 0);
	CHECK_EQ("FUTEX_CMP_REQUEUE gathers three waiters", gather(&a, &b, 3), 3);
	CHECK_EQ("FUTEX_WAKE of the old word wakes none", futex(&a, P(T_FUTEX_WAKE), INT_MAX, NULL, NULL, 0), 0);
	CHECK_EQ("FUTEX_WAKE 2 of 3 returns 2", futex(&b, P(T_FUTEX_WAKE), 2, NULL, NULL, 0), 2);
	CHECK_EQ("FUTEX_WAKE all returns the last 1", futex(&b, P(T_FUTEX_WAKE), INT_MAX, NULL, NULL, 0), 1);
	CHECK_EQ("each waiter's FUTEX_WAIT returned 0", join_woken(w, 3), 3);

	/* FUTEX_CMP_REQUEUE: wake one, requeue one, leave one. */
	CHECK_ERR("FUTEX_CMP_REQUEUE with a changed value is EAGAIN",
		  futex(&a, P(T_FUTEX_CMP_REQUEUE), 1, (void *)1, &b, 5), EAGAIN);
	CHECK_ERR("FUTEX_CMP_REQUEUE with a negative count is EINVAL",
		  futex(&a, P(T_FUTEX_CMP_REQUEUE), -1, (void *)1, &b, 0), EINVAL);
	for (int i = 0; i < 3; i++)
		start(&w[i], &a, P(T_FUTEX_WAIT), 0);
	CHECK_EQ("gather three waiters", gather(&a, &b, 3), 3);
	CHECK_EQ("FUTEX_CMP_REQUEUE wake 1, requeue 1 returns 2",
		 futex(&b, P(T_FUTEX_CMP_REQUEUE), 1, (void *)1, &c, 0), 2);
	CHECK_EQ("one waiter was requeued", futex(&c, P(T_FUTEX_WAKE), INT_MAX, NULL, NULL, 0), 1);
	CHECK_EQ("one waiter was left", futex(&b, P(T_FUTEX_WAKE), INT_MAX, NULL, NULL, 0), 1);
	CHECK_EQ("all three woken", join_woken(w, 3), 3);

	/* FUTEX_WAIT_BITSET takes an absolute timeout. */
	struct timespec abs = t_in_ms(CLOCK_MONOTONIC, 20);
	CHECK_ERR("FUTEX_WAIT_BITSET absolute on CLOCK_MONOTONIC is ETIMEDOUT",
		  futex(&a, P(T_FUTEX_WAIT_BITSET), 0, &abs, NULL, ~0u), ETIMEDOUT);
	abs = t_in_ms(CLOCK_REALTIME, 20);
	CHECK_ERR("FUTEX_WAIT_BITSET absolute with FUTEX_CLOCK_REALTIME is ETIMEDOUT",
		  futex(&a, P(T_FUTEX_WAIT_BITSET) | T_FUTEX_CLOCK_REALTIME, 0, &abs, NULL, ~0u), ETIMEDOUT);
	abs = (struct timespec){ 1, 0 };
	CHECK_ERR("FUTEX_WAIT_BITSET with a time long past is ETIMEDOUT",
		  futex(&a, P(T_FUTEX_WAIT_BITSET), 0, &abs, NULL, ~0u), ETIMEDOUT);
	CHECK_ERR("FUTEX_WAIT_BITSET with bitset 0 is EINVAL", futex(&a, P(T_FUTEX_WAIT_BITSET), 0, NULL, NULL, 0),
		  EINVAL);

	/* FUTEX_WAKE_BITSET wakes only waiters whose bitset intersects (kept
	 * through a requeue). */
	start(&w[0], &a, P(T_FUTEX_WAIT_BITSET), 0x1);
	CHECK_EQ("gather a bitset waiter", gather(&a, &b, 1), 1);
	CHECK_EQ("FUTEX_WAKE_BITSET with a disjoint bitset wakes none",
		 futex(&b, P(T_FUTEX_WAKE_BITSET), INT_MAX, NULL, NULL, 0x6), 0);
	CHECK_EQ("FUTEX_WAKE_BITSET with an intersecting bitset wakes it",
		 futex(&b, P(T_FUTEX_WAKE_BITSET), INT_MAX, NULL, NULL, 0x3), 1);
	CHECK_EQ("its FUTEX_WAIT_BITSET returned 0", join_woken(w, 1), 1);

	/* FUTEX_WAKE_OP: one waiter on x, one on y; y += 5 and, as y was 0,
	 * the waiter on y is woken too. */
	start(&w[0], &a, P(T_FUTEX_WAIT), 0);
	CHECK_EQ("gather a waiter for x", gather(&a, &x, 1), 1);
	start(&w[1], &c, P(T_FUTEX_WAIT), 0);
	CHECK_EQ("gather a waiter for y", gather(&c, &y, 1), 1);
	CHECK_EQ("FUTEX_WAKE_OP wakes one on each word",
		 futex(&x, P(T_FUTEX_WAKE_OP), 1, (void *)1, &y,
		       T_FUTEX_OP(T_FUTEX_OP_ADD, 5, T_FUTEX_OP_CMP_EQ, 0)), 2);
	CHECK_EQ("FUTEX_WAKE_OP added 5 to y", atomic_load(&y), 5);
	CHECK_EQ("both waiters woken", join_woken(w, 2), 2);
	CHECK_EQ("FUTEX_WAKE_OP set, comparison false, no waiters",
		 futex(&x, P(T_FUTEX_WAKE_OP), 1, (void *)1, &y,
		       T_FUTEX_OP(T_FUTEX_OP_SET, 9, T_FUTEX_OP_CMP_GT, 100)), 0);
	CHECK_EQ("y is 9", atomic_load(&y), 9);
	futex(&x, P(T_FUTEX_WAKE_OP), 1, (void *)1, &y,
	      T_FUTEX_OP(T_FUTEX_OP_SET | T_FUTEX_OP_OPARG_SHIFT, 4, T_FUTEX_OP_CMP_EQ, 0));
	CHECK_EQ("FUTEX_OP_OPARG_SHIFT sets y to 1 << 4", atomic_load(&y), 16);

	/* Errors. */
	void *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(gone, 4096);
	CHECK_ERR("FUTEX_WAIT on an unmapped address is EFAULT", futex(gone, P(T_FUTEX_WAIT), 0, NULL, NULL, 0),
		  EFAULT);
	CHECK_ERR("FUTEX_WAKE_OP on an unmapped second word is EFAULT",
		  futex(&x, P(T_FUTEX_WAKE_OP), 1, (void *)1, gone,
			T_FUTEX_OP(T_FUTEX_OP_ADD, 1, T_FUTEX_OP_CMP_EQ, 0)), EFAULT);
	CHECK_ERR("FUTEX_WAIT on a misaligned address is EINVAL",
		  futex((char *)&a + 1, P(T_FUTEX_WAIT), 0, NULL, NULL, 0), EINVAL);
	CHECK_ERR("FUTEX_WAKE on a misaligned address is EINVAL",
		  futex((char *)&a + 2, P(T_FUTEX_WAKE), 1, NULL, NULL, 0), EINVAL);
	CHECK_ERR("an unknown futex operation is ENOSYS", futex(&a, P(99), 0, NULL, NULL, 0), ENOSYS);
	CHECK_ERR("FUTEX_CLOCK_REALTIME with FUTEX_WAKE is ENOSYS",
		  futex(&a, P(T_FUTEX_WAKE) | T_FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0), ENOSYS);
	T_DONE();
}
