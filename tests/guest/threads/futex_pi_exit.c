/*
 * A PI futex whose owner thread exits while another thread waits for it: the kernel
 * hands the lock to the waiter (exit_pi_state_list) and marks the word
 * FUTEX_OWNER_DIED (fixup_pi_state_owner). So a waiter on a robust PI mutex gets
 * EOWNERDEAD (musl marks the word in user space and leaves the hand-over to the
 * kernel), and a waiter on a plain PI word gets the lock, marked FUTEX_OWNER_DIED.
 */
#include "../test.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_WAITERS 0x80000000u
#define FUTEX_OWNER_DIED 0x40000000u

static long futex(_Atomic uint32_t *uaddr, int op)
{
	return syscall(SYS_futex, uaddr, op | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0);
}

static pthread_mutex_t robust;
static atomic_int owner_locked, waiter_started;

static void *lock_and_exit(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&robust);
	atomic_store(&owner_locked, 1);
	T_WAIT_UNTIL(atomic_load(&waiter_started));
	t_sleep_ms(50); /* the waiter blocks meanwhile (or finds the owner dead: same answer) */
	return NULL;
}

static atomic_int waiter_result = -1;
static void *wait_for_robust(void *arg)
{
	(void)arg;
	atomic_store(&waiter_started, 1);
	int r = pthread_mutex_lock(&robust);
	if (r == EOWNERDEAD)
		pthread_mutex_consistent(&robust);
	atomic_store(&waiter_result, r);
	pthread_mutex_unlock(&robust);
	return NULL;
}

static _Atomic uint32_t word;

static void *raw_lock_and_exit(void *arg)
{
	(void)arg;
	futex(&word, FUTEX_LOCK_PI);
	/* Exits once the waiter is queued (it set FUTEX_WAITERS on the way). */
	T_WAIT_UNTIL(atomic_load(&word) & FUTEX_WAITERS);
	return NULL;
}

struct got {
	long ret;
	uint32_t word_after, tid;
};

static void *raw_wait(void *arg)
{
	struct got *g = arg;
	g->tid = (uint32_t)syscall(SYS_gettid);
	g->ret = futex(&word, FUTEX_LOCK_PI);
	g->word_after = atomic_load(&word);
	futex(&word, FUTEX_UNLOCK_PI);
	return NULL;
}

int main(void)
{
	T_BEGIN();
	alarm(10);

	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	CHECK_EQ("init a robust PI mutex", pthread_mutex_init(&robust, &a), 0);
	pthread_t t, w;
	pthread_create(&t, NULL, lock_and_exit, NULL);
	T_WAIT_UNTIL(atomic_load(&owner_locked));
	pthread_create(&w, NULL, wait_for_robust, NULL);
	pthread_join(t, NULL);
	pthread_join(w, NULL);
	CHECK_EQ("the waiter got EOWNERDEAD", atomic_load(&waiter_result), EOWNERDEAD);
	CHECK_EQ("lock once consistent", pthread_mutex_lock(&robust), 0);
	CHECK_EQ("unlock", pthread_mutex_unlock(&robust), 0);

	struct got g = {0};
	pthread_create(&t, NULL, raw_lock_and_exit, NULL);
	T_WAIT_UNTIL(atomic_load(&word) != 0);
	pthread_create(&w, NULL, raw_wait, &g);
	pthread_join(t, NULL);
	pthread_join(w, NULL);
	CHECK_EQ("the waiter of a plain PI word got it when its owner exited", g.ret, 0);
	CHECK("the word named the waiter, with FUTEX_WAITERS and FUTEX_OWNER_DIED",
	      g.word_after == (FUTEX_WAITERS | FUTEX_OWNER_DIED | g.tid));
	CHECK_EQ("the word is free at the end", atomic_load(&word), 0);
	T_DONE();
}
