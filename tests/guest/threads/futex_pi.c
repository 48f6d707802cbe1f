/*
 * PI futexes: the kernel's word protocol (FUTEX_LOCK_PI, LOCK_PI2, TRYLOCK_PI,
 * UNLOCK_PI: owner TID, FUTEX_WAITERS, FUTEX_OWNER_DIED), its errors, timeouts and
 * restart after a signal, and the glibc/musl mutexes built on it: PTHREAD_PRIO_INHERIT
 * under contention, trylock, and a robust PI mutex whose owner thread has exited
 * (futex_pi_exit.c has the owner exit while a waiter waits).
 */
#include "../test.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

/* From linux/futex.h, which musl-gcc's include path lacks. */
#define FUTEX_WAKE 1
#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_TRYLOCK_PI 8
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_CMP_REQUEUE_PI 12
#define FUTEX_LOCK_PI2 13
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_LOCK_PI_PRIVATE (FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_UNLOCK_PI_PRIVATE (FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_TRYLOCK_PI_PRIVATE (FUTEX_TRYLOCK_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAITERS 0x80000000u
#define FUTEX_OWNER_DIED 0x40000000u
#define FUTEX_TID_MASK 0x3fffffffu

static long futex(_Atomic uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts, uint32_t *uaddr2,
		  uint32_t val3)
{
	return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

/* A thread that takes a PI word, holds it until told, then unlocks it. */
struct holder {
	_Atomic uint32_t *word;
	atomic_int locked, release;
	long lock_ret, unlock_ret;
	int lock_errno, unlock_errno;
	pid_t tid;
};

static void *hold(void *arg)
{
	struct holder *h = arg;
	h->tid = gettid_();
	h->lock_ret = futex(h->word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
	h->lock_errno = errno;
	atomic_store(&h->locked, 1);
	T_WAIT_UNTIL(atomic_load(&h->release));
	h->unlock_ret = futex(h->word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
	h->unlock_errno = errno;
	return NULL;
}

/* A thread that blocks in FUTEX_LOCK_PI and checks what it was handed. */
struct locker {
	_Atomic uint32_t *word;
	long ret;
	int err;
	uint32_t word_after;
	pid_t tid;
};

static void *lock_and_unlock(void *arg)
{
	struct locker *l = arg;
	l->tid = gettid_();
	l->ret = futex(l->word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
	l->err = errno;
	l->word_after = atomic_load(l->word);
	futex(l->word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

static void raw_protocol(void)
{
	_Atomic uint32_t w = 0;
	uint32_t me = (uint32_t)gettid_();

	CHECK_EQ("LOCK_PI on a free word", futex(&w, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), 0);
	CHECK("the word holds the owner's tid", atomic_load(&w) == me);
	CHECK_ERR("LOCK_PI by the owner", futex(&w, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), EDEADLK);
	CHECK_ERR("TRYLOCK_PI by the owner", futex(&w, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EDEADLK);
	CHECK_EQ("UNLOCK_PI by the owner", futex(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0), 0);
	CHECK_EQ("the word is free again", atomic_load(&w), 0);
	CHECK_ERR("UNLOCK_PI of a free word", futex(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EPERM);
	atomic_store(&w, me + 1);
	CHECK_ERR("UNLOCK_PI of another's word", futex(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EPERM);

	CHECK_EQ("TRYLOCK_PI on a free word", (atomic_store(&w, 0), futex(&w, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0)), 0);
	CHECK("TRYLOCK_PI took it", atomic_load(&w) == me);
	futex(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);

	/* A free word with bits left over: OWNER_DIED stays, WAITERS goes. */
	atomic_store(&w, FUTEX_OWNER_DIED);
	CHECK_EQ("LOCK_PI of an OWNER_DIED word", futex(&w, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), 0);
	CHECK("OWNER_DIED is kept for the new owner", atomic_load(&w) == (FUTEX_OWNER_DIED | me));
	CHECK_EQ("UNLOCK_PI of it", futex(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0), 0);
	CHECK_EQ("UNLOCK_PI clears OWNER_DIED", atomic_load(&w), 0);
	atomic_store(&w, FUTEX_WAITERS);
	CHECK_EQ("LOCK_PI of a word with only WAITERS", futex(&w, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), 0);
	CHECK("WAITERS is not kept", atomic_load(&w) == me);
	futex(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);

	/* An owner that is no live task: ESRCH, with WAITERS set on the way. */
	atomic_store(&w, FUTEX_TID_MASK);
	CHECK_ERR("LOCK_PI of a dead owner's word", futex(&w, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), ESRCH);
	CHECK("the word got FUTEX_WAITERS", atomic_load(&w) == (FUTEX_TID_MASK | FUTEX_WAITERS));
	CHECK_ERR("TRYLOCK_PI of a dead owner's word", futex(&w, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0), ESRCH);

	/* Argument errors. */
	atomic_store(&w, 0);
	struct timespec bad = {0, 1000000000L};
	CHECK_ERR("LOCK_PI with tv_nsec out of range", futex(&w, FUTEX_LOCK_PI_PRIVATE, 0, &bad, NULL, 0), EINVAL);
	CHECK_ERR("LOCK_PI with FUTEX_CLOCK_REALTIME",
		  futex(&w, FUTEX_LOCK_PI_PRIVATE | FUTEX_CLOCK_REALTIME, 0, NULL, NULL, 0), ENOSYS);
	CHECK_ERR("UNLOCK_PI with FUTEX_CLOCK_REALTIME",
		  futex(&w, FUTEX_UNLOCK_PI_PRIVATE | FUTEX_CLOCK_REALTIME, 0, NULL, NULL, 0), ENOSYS);
	CHECK_ERR("an unknown futex operation", futex(&w, 14 | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0), ENOSYS);
	CHECK_ERR("it again", futex(&w, 14 | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0), ENOSYS);
	char buf[8] __attribute__((aligned(4)));
	CHECK_ERR("LOCK_PI of an unaligned word",
		  futex((_Atomic uint32_t *)(buf + 1), FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), EINVAL);
	CHECK_EQ("the word is still free", atomic_load(&w), 0);
}

static int usr1_seen;
static void on_usr1(int sig) { (void)sig; usr1_seen++; }

struct kicker {
	pid_t target;
	struct holder *h;
};

/* Interrupts the main thread's FUTEX_LOCK_PI with a signal, then lets the holder go. */
static void *kick(void *arg)
{
	struct kicker *k = arg;
	t_sleep_ms(50);
	syscall(SYS_tgkill, getpid(), k->target, SIGUSR1);
	t_sleep_ms(50);
	atomic_store(&k->h->release, 1);
	return NULL;
}

static void contention_protocol(void)
{
	_Atomic uint32_t w = 0;
	struct holder h = {.word = &w};
	pthread_t ht;
	pthread_create(&ht, NULL, hold, &h);
	T_WAIT_UNTIL(atomic_load(&h.locked));
	CHECK_EQ("the holder took the word", h.lock_ret, 0);

	CHECK_ERR("TRYLOCK_PI of a held word", futex(&w, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EAGAIN);
	CHECK("a failed TRYLOCK_PI leaves FUTEX_WAITERS set", atomic_load(&w) == (FUTEX_WAITERS | (uint32_t)h.tid));
	struct timespec rt = t_in_ms(CLOCK_REALTIME, 30);
	CHECK_ERR("LOCK_PI times out (absolute CLOCK_REALTIME)", futex(&w, FUTEX_LOCK_PI_PRIVATE, 0, &rt, NULL, 0),
		  ETIMEDOUT);
	struct timespec mono = t_in_ms(CLOCK_MONOTONIC, 30);
	CHECK_ERR("LOCK_PI2 times out (absolute CLOCK_MONOTONIC)", futex(&w, FUTEX_LOCK_PI2 | FUTEX_PRIVATE_FLAG, 0, &mono, NULL, 0),
		  ETIMEDOUT);
	rt = t_in_ms(CLOCK_REALTIME, 30);
	CHECK_ERR("LOCK_PI2|FUTEX_CLOCK_REALTIME times out",
		  futex(&w, FUTEX_LOCK_PI2 | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME, 0, &rt, NULL, 0), ETIMEDOUT);
	struct timespec past = {0, 0};
	CHECK_ERR("LOCK_PI with a timeout long past", futex(&w, FUTEX_LOCK_PI_PRIVATE, 0, &past, NULL, 0), ETIMEDOUT);
	CHECK("the holder still owns it", (atomic_load(&w) & FUTEX_TID_MASK) == (uint32_t)h.tid);
	CHECK_ERR("UNLOCK_PI by a non-owner", futex(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EPERM);

	/* A blocked PI waiter: FUTEX_WAKE on the word refuses it, the unlock hands over. */
	struct locker l = {.word = &w};
	pthread_t lt;
	pthread_create(&lt, NULL, lock_and_unlock, &l);
	t_sleep_ms(50);
	CHECK_ERR("FUTEX_WAKE with a PI waiter", futex(&w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), EINVAL);
	atomic_store(&h.release, 1);
	pthread_join(ht, NULL);
	CHECK_EQ("the holder's UNLOCK_PI", h.unlock_ret, 0);
	pthread_join(lt, NULL);
	CHECK_EQ("the waiter's LOCK_PI returned", l.ret, 0);
	CHECK("the unlock handed the word to the waiter, with WAITERS",
	      l.word_after == (FUTEX_WAITERS | (uint32_t)l.tid));
	CHECK_EQ("the word is free at the end", atomic_load(&w), 0);

	/* A signal during FUTEX_LOCK_PI: the handler runs, the call goes on (no EINTR,
	 * even without SA_RESTART). */
	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	struct holder h2 = {.word = &w};
	pthread_create(&ht, NULL, hold, &h2);
	T_WAIT_UNTIL(atomic_load(&h2.locked));
	struct kicker k = {.target = gettid_(), .h = &h2};
	pthread_t kt;
	pthread_create(&kt, NULL, kick, &k);
	long r = futex(&w, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
	CHECK_EQ("LOCK_PI interrupted by a handler still takes the lock", r, 0);
	CHECK_EQ("the handler ran once", usr1_seen, 1);
	CHECK("the main thread owns the word", (atomic_load(&w) & FUTEX_TID_MASK) == (uint32_t)gettid_());
	CHECK_EQ("UNLOCK_PI", futex(&w, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0), 0);
	pthread_join(ht, NULL);
	pthread_join(kt, NULL);
}

/* FUTEX_WAIT_REQUEUE_PI / FUTEX_CMP_REQUEUE_PI: a condition variable word `c`
 * whose waiters are moved to the PI lock `m`. */
static _Atomic uint32_t c, m;

struct rq_waiter {
	long ret;
	int err;
	int owned; /* whether it held m when it returned */
	atomic_int started;
};

static void *wait_requeue(void *arg)
{
	struct rq_waiter *w = arg;
	atomic_store(&w->started, 1);
	w->ret = futex(&c, FUTEX_WAIT_REQUEUE_PI | FUTEX_PRIVATE_FLAG, 0, NULL, (uint32_t *)&m, 0);
	w->err = errno;
	w->owned = (atomic_load(&m) & FUTEX_TID_MASK) == (uint32_t)gettid_();
	if (w->ret == 0)
		futex(&m, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

/* Requeues (waking at most one) until `want` waiters were handled; returns how many. */
static long requeue_until(long want, int nr_requeue)
{
	long total = 0;
	for (int i = 0; i < 5000 && total < want; i++) {
		long r = futex(&c, FUTEX_CMP_REQUEUE_PI | FUTEX_PRIVATE_FLAG, 1, (struct timespec *)(long)nr_requeue,
			       (uint32_t *)&m, 0);
		if (r < 0)
			return -errno;
		total += r;
		if (total < want)
			t_sleep_ms(1);
	}
	return total;
}

static void requeue_pi(void)
{
	CHECK_ERR("CMP_REQUEUE_PI waking 2", futex(&c, FUTEX_CMP_REQUEUE_PI | FUTEX_PRIVATE_FLAG, 2, NULL, (uint32_t *)&m, 0),
		  EINVAL);
	CHECK_ERR("CMP_REQUEUE_PI onto the same word",
		  futex(&c, FUTEX_CMP_REQUEUE_PI | FUTEX_PRIVATE_FLAG, 1, NULL, (uint32_t *)&c, 0), EINVAL);
	CHECK_ERR("CMP_REQUEUE_PI with a stale value",
		  futex(&c, FUTEX_CMP_REQUEUE_PI | FUTEX_PRIVATE_FLAG, 1, NULL, (uint32_t *)&m, 7), EAGAIN);
	CHECK_EQ("CMP_REQUEUE_PI with nobody waiting",
		 futex(&c, FUTEX_CMP_REQUEUE_PI | FUTEX_PRIVATE_FLAG, 1, NULL, (uint32_t *)&m, 0), 0);
	CHECK_ERR("WAIT_REQUEUE_PI with a stale value",
		  futex(&c, FUTEX_WAIT_REQUEUE_PI | FUTEX_PRIVATE_FLAG, 5, NULL, (uint32_t *)&m, 0), EAGAIN);
	CHECK_ERR("WAIT_REQUEUE_PI onto the same word",
		  futex(&c, FUTEX_WAIT_REQUEUE_PI | FUTEX_PRIVATE_FLAG, 0, NULL, (uint32_t *)&c, 0), EINVAL);
	struct timespec t = t_in_ms(CLOCK_MONOTONIC, 30);
	CHECK_ERR("WAIT_REQUEUE_PI times out",
		  futex(&c, FUTEX_WAIT_REQUEUE_PI | FUTEX_PRIVATE_FLAG, 0, &t, (uint32_t *)&m, 0), ETIMEDOUT);

	/* m is free: the requeue takes it for the waiter and wakes it. */
	struct rq_waiter w1 = {0};
	pthread_t t1;
	pthread_create(&t1, NULL, wait_requeue, &w1);
	T_WAIT_UNTIL(atomic_load(&w1.started));
	CHECK_EQ("CMP_REQUEUE_PI takes the free lock for the waiter", requeue_until(1, 0), 1);
	pthread_join(t1, NULL);
	CHECK_EQ("WAIT_REQUEUE_PI returned", w1.ret, 0);
	CHECK("it returned holding the PI lock", w1.owned);
	CHECK_EQ("and gave it back", atomic_load(&m), 0);

	/* m is held: both waiters move to it and get it in turn. */
	CHECK_EQ("lock m", futex(&m, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), 0);
	struct rq_waiter w2 = {0}, w3 = {0};
	pthread_t t2, t3;
	pthread_create(&t2, NULL, wait_requeue, &w2);
	pthread_create(&t3, NULL, wait_requeue, &w3);
	T_WAIT_UNTIL(atomic_load(&w2.started) && atomic_load(&w3.started));
	CHECK_EQ("CMP_REQUEUE_PI moves both waiters to the held lock", requeue_until(2, 1), 2);
	CHECK("the held word got FUTEX_WAITERS", atomic_load(&m) == (FUTEX_WAITERS | (uint32_t)gettid_()));
	CHECK_EQ("nobody is left on the condition word", futex(&c, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 0);
	CHECK_EQ("unlock m", futex(&m, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0), 0);
	pthread_join(t2, NULL);
	pthread_join(t3, NULL);
	CHECK("both waiters returned 0", w2.ret == 0 && w3.ret == 0);
	CHECK("both held the lock when they returned", w2.owned && w3.owned);
	CHECK_EQ("m is free at the end", atomic_load(&m), 0);
}

/* PTHREAD_PRIO_INHERIT mutexes. */
#define THREADS 4
#define ROUNDS 20000
static pthread_mutex_t pi_mutex;
static long counter;

static void *count(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&pi_mutex);
		long c = counter;
		if (i % 64 == 0)
			sched_yield(); /* invite contention while holding it */
		counter = c + 1;
		pthread_mutex_unlock(&pi_mutex);
	}
	return NULL;
}

static atomic_int trylock_result = -1;
static void *try_it(void *arg)
{
	(void)arg;
	atomic_store(&trylock_result, pthread_mutex_trylock(&pi_mutex));
	return NULL;
}

static void prio_inherit_mutex(void)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	CHECK_EQ("setprotocol PTHREAD_PRIO_INHERIT", pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT), 0);
	CHECK_EQ("init a PI mutex", pthread_mutex_init(&pi_mutex, &a), 0);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, count, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ("4 threads counted under the PI mutex", counter, THREADS * ROUNDS);

	CHECK_EQ("lock it", pthread_mutex_lock(&pi_mutex), 0);
	pthread_t tt;
	pthread_create(&tt, NULL, try_it, NULL);
	pthread_join(tt, NULL);
	CHECK_EQ("trylock from another thread", atomic_load(&trylock_result), EBUSY);
	CHECK_EQ("unlock it", pthread_mutex_unlock(&pi_mutex), 0);
	pthread_create(&tt, NULL, try_it, NULL);
	pthread_join(tt, NULL);
	CHECK_EQ("trylock of the free mutex from another thread", atomic_load(&trylock_result), 0);
	pthread_mutex_destroy(&pi_mutex);
}

/* A robust PI mutex whose owner thread exits while holding it. */
static pthread_mutex_t robust;

static void *lock_and_exit(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&robust);
	return NULL;
}

static void robust_pi_mutex(void)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	CHECK_EQ("setrobust", pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST), 0);
	CHECK_EQ("init a robust PI mutex", pthread_mutex_init(&robust, &a), 0);

	/* The owner exits; then the main thread locks. */
	pthread_t t;
	pthread_create(&t, NULL, lock_and_exit, NULL);
	pthread_join(t, NULL);
	CHECK_EQ("lock after the owner died", pthread_mutex_lock(&robust), EOWNERDEAD);
	CHECK_EQ("make it consistent", pthread_mutex_consistent(&robust), 0);
	CHECK_EQ("unlock", pthread_mutex_unlock(&robust), 0);
	CHECK_EQ("lock again", pthread_mutex_lock(&robust), 0);
	CHECK_EQ("unlock again", pthread_mutex_unlock(&robust), 0);

	pthread_mutex_destroy(&robust);
}

int main(void)
{
	T_BEGIN();
	alarm(60);
	raw_protocol();
	contention_protocol();
	requeue_pi();
	prio_inherit_mutex();
	robust_pi_mutex();
	T_DONE();
}
