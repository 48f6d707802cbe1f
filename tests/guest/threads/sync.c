// build: -pthread
/* Synchronisation between threads: mutex kinds (normal, recursive,
 * errorcheck), condition variables (signal, broadcast, timed waits on
 * CLOCK_REALTIME and CLOCK_MONOTONIC), rwlocks, barriers, POSIX semaphores,
 * pthread_once and spinlocks. Every wait is bounded by a timeout or by the
 * watchdog alarm. */
#include "../test.h"
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <time.h>

/* Runs fn(arg) in a new thread and returns what it returned. */
static intptr_t in_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	void *ret = (void *)-1;
	if (pthread_create(&t, NULL, fn, arg) != 0)
		return -1;
	pthread_join(t, &ret);
	return (intptr_t)ret;
}

static void *trylock_mutex(void *m) { return (void *)(intptr_t)pthread_mutex_trylock(m); }
static void *unlock_mutex(void *m) { return (void *)(intptr_t)pthread_mutex_unlock(m); }

static void mutexes(void)
{
	pthread_mutex_t normal = PTHREAD_MUTEX_INITIALIZER;
	CHECK_EQ("lock a normal mutex", pthread_mutex_lock(&normal), 0);
	CHECK_EQ("trylock of a held mutex is EBUSY", pthread_mutex_trylock(&normal), EBUSY);
	CHECK_EQ("another thread's trylock is EBUSY", in_thread(trylock_mutex, &normal), EBUSY);
	CHECK_EQ("unlock it", pthread_mutex_unlock(&normal), 0);
	CHECK_EQ("another thread's trylock then succeeds", in_thread(trylock_mutex, &normal), 0);
	CHECK_EQ("and the mutex stays held after that thread ends", pthread_mutex_trylock(&normal), EBUSY);

	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_t rec;
	pthread_mutex_init(&rec, &a);
	CHECK_EQ("recursive lock", pthread_mutex_lock(&rec), 0);
	CHECK_EQ("recursive lock again", pthread_mutex_lock(&rec), 0);
	CHECK_EQ("recursive trylock by the owner", pthread_mutex_trylock(&rec), 0);
	CHECK_EQ("another thread's trylock of it is EBUSY", in_thread(trylock_mutex, &rec), EBUSY);
	CHECK_EQ("unlock 1 of 3", pthread_mutex_unlock(&rec), 0);
	CHECK_EQ("unlock 2 of 3", pthread_mutex_unlock(&rec), 0);
	CHECK_EQ("still held after 2 of 3 unlocks", in_thread(trylock_mutex, &rec), EBUSY);
	CHECK_EQ("unlock 3 of 3", pthread_mutex_unlock(&rec), 0);
	CHECK_EQ("unlocking a free recursive mutex is EPERM", pthread_mutex_unlock(&rec), EPERM);

	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_t ec;
	pthread_mutex_init(&ec, &a);
	CHECK_EQ("errorcheck lock", pthread_mutex_lock(&ec), 0);
	CHECK_EQ("errorcheck relock is EDEADLK", pthread_mutex_lock(&ec), EDEADLK);
	CHECK_EQ("errorcheck unlock by another thread is EPERM", in_thread(unlock_mutex, &ec), EPERM);
	CHECK_EQ("errorcheck unlock", pthread_mutex_unlock(&ec), 0);
	CHECK_EQ("errorcheck unlock of a free mutex is EPERM", pthread_mutex_unlock(&ec), EPERM);
	struct timespec ts = t_in_ms(CLOCK_REALTIME, 50);
	CHECK_EQ("pthread_mutex_timedlock of a free mutex", pthread_mutex_timedlock(&ec, &ts), 0);
	ts = t_in_ms(CLOCK_REALTIME, 50);
	CHECK_EQ("pthread_mutex_timedlock by the owner is EDEADLK", pthread_mutex_timedlock(&ec, &ts), EDEADLK);
	pthread_mutex_unlock(&ec);
	pthread_mutexattr_destroy(&a);
}

static void *timedlock_held(void *m)
{
	struct timespec ts = t_in_ms(CLOCK_REALTIME, 50);
	return (void *)(intptr_t)pthread_mutex_timedlock(m, &ts);
}

/* A queue of one: the producer signals, the consumer waits on a predicate. */
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static int q_items, q_taken, q_gate, q_waiting;

static void *consumer(void *arg)
{
	(void)arg;
	int got = 0;
	pthread_mutex_lock(&q_lock);
	while (got < 5) {
		while (q_items == 0)
			pthread_cond_wait(&q_cond, &q_lock);
		q_items--;
		got++;
	}
	pthread_mutex_unlock(&q_lock);
	return (void *)(intptr_t)got;
}

static void *gate_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&q_lock);
	q_waiting++;
	while (!q_gate)
		pthread_cond_wait(&q_cond, &q_lock);
	q_taken++;
	pthread_mutex_unlock(&q_lock);
	return NULL;
}

static void condvars(void)
{
	CHECK_EQ("another thread's timedlock of a held mutex is ETIMEDOUT",
		 (pthread_mutex_lock(&q_lock), in_thread(timedlock_held, &q_lock)), ETIMEDOUT);
	pthread_mutex_unlock(&q_lock);

	pthread_t c;
	pthread_create(&c, NULL, consumer, NULL);
	for (int i = 0; i < 5; i++) {
		pthread_mutex_lock(&q_lock);
		q_items++;
		pthread_cond_signal(&q_cond);
		pthread_mutex_unlock(&q_lock);
		t_pause_ms(2);
	}
	void *got = NULL;
	pthread_join(c, &got);
	CHECK_EQ("the consumer took five items signalled one by one", (intptr_t)got, 5);

	pthread_t w[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&w[i], NULL, gate_waiter, NULL);
	/* Wait (bounded) until all three are in pthread_cond_wait. */
	for (int i = 0; i < 5000; i++) {
		pthread_mutex_lock(&q_lock);
		int n = q_waiting;
		pthread_mutex_unlock(&q_lock);
		if (n == 3)
			break;
		t_pause_ms(1);
	}
	pthread_mutex_lock(&q_lock);
	q_gate = 1;
	pthread_cond_broadcast(&q_cond);
	pthread_mutex_unlock(&q_lock);
	for (int i = 0; i < 3; i++)
		pthread_join(w[i], NULL);
	CHECK_EQ("broadcast woke all three waiters", q_taken, 3);

	pthread_mutex_lock(&q_lock);
	struct timespec ts = t_in_ms(CLOCK_REALTIME, 30);
	CHECK_EQ("pthread_cond_timedwait on CLOCK_REALTIME times out", pthread_cond_timedwait(&q_cond, &q_lock, &ts),
		 ETIMEDOUT);
	CHECK_EQ("and returns with the mutex held", pthread_mutex_trylock(&q_lock), EBUSY);
	pthread_mutex_unlock(&q_lock);

	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	CHECK_EQ("pthread_condattr_setclock CLOCK_MONOTONIC", pthread_condattr_setclock(&ca, CLOCK_MONOTONIC), 0);
	clockid_t clk = -1;
	pthread_condattr_getclock(&ca, &clk);
	CHECK_EQ("pthread_condattr_getclock", clk, CLOCK_MONOTONIC);
	pthread_cond_t mono;
	pthread_cond_init(&mono, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&q_lock);
	ts = t_in_ms(CLOCK_MONOTONIC, 30);
	CHECK_EQ("pthread_cond_timedwait on CLOCK_MONOTONIC times out", pthread_cond_timedwait(&mono, &q_lock, &ts),
		 ETIMEDOUT);
	pthread_mutex_unlock(&q_lock);
	pthread_cond_destroy(&mono);
}

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static void *tryrdlock(void *arg)
{
	(void)arg;
	int r = pthread_rwlock_tryrdlock(&rw);
	if (r == 0)
		pthread_rwlock_unlock(&rw);
	return (void *)(intptr_t)r;
}
static void *trywrlock(void *arg)
{
	(void)arg;
	int r = pthread_rwlock_trywrlock(&rw);
	if (r == 0)
		pthread_rwlock_unlock(&rw);
	return (void *)(intptr_t)r;
}
static void *timedwrlock(void *arg)
{
	(void)arg;
	struct timespec ts = t_in_ms(CLOCK_REALTIME, 30);
	return (void *)(intptr_t)pthread_rwlock_timedwrlock(&rw, &ts);
}

static void rwlocks(void)
{
	CHECK_EQ("rdlock", pthread_rwlock_rdlock(&rw), 0);
	CHECK_EQ("another reader gets in", in_thread(tryrdlock, NULL), 0);
	CHECK_EQ("a writer's trywrlock is EBUSY", in_thread(trywrlock, NULL), EBUSY);
	CHECK_EQ("a writer's timedwrlock is ETIMEDOUT", in_thread(timedwrlock, NULL), ETIMEDOUT);
	CHECK_EQ("unlock the read lock", pthread_rwlock_unlock(&rw), 0);
	CHECK_EQ("wrlock", pthread_rwlock_wrlock(&rw), 0);
	CHECK_EQ("a reader's tryrdlock is EBUSY", in_thread(tryrdlock, NULL), EBUSY);
	CHECK_EQ("a writer's trywrlock is EBUSY", in_thread(trywrlock, NULL), EBUSY);
	CHECK_EQ("unlock the write lock", pthread_rwlock_unlock(&rw), 0);
	CHECK_EQ("a writer gets in once free", in_thread(trywrlock, NULL), 0);
}

static pthread_barrier_t barrier;
static int before_barrier;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static void *at_barrier(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&count_lock);
	before_barrier++;
	pthread_mutex_unlock(&count_lock);
	int r = pthread_barrier_wait(&barrier);
	/* Past the barrier, every thread has arrived. */
	pthread_mutex_lock(&count_lock);
	int all = before_barrier == 4;
	pthread_mutex_unlock(&count_lock);
	if (r == PTHREAD_BARRIER_SERIAL_THREAD)
		return (void *)(intptr_t)(all ? 2 : 0);
	return (void *)(intptr_t)(r == 0 && all ? 1 : 0);
}

static void barriers(void)
{
	CHECK_EQ("pthread_barrier_init for 4", pthread_barrier_init(&barrier, NULL, 4), 0);
	for (int round = 0; round < 2; round++) {
		pthread_t t[4];
		before_barrier = 0;
		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, at_barrier, NULL);
		int serial = 0, plain = 0;
		for (int i = 0; i < 4; i++) {
			void *r = NULL;
			pthread_join(t[i], &r);
			serial += (intptr_t)r == 2;
			plain += (intptr_t)r == 1;
		}
		CHECK_EQ(round ? "reused barrier: one serial thread" : "one thread gets PTHREAD_BARRIER_SERIAL_THREAD",
			 serial, 1);
		CHECK_EQ(round ? "reused barrier: three get 0, all after every arrival"
			       : "three get 0, all after every arrival",
			 plain, 3);
	}
	pthread_barrier_destroy(&barrier);
}

static sem_t sem;
static void *posts_later(void *arg)
{
	(void)arg;
	t_pause_ms(20);
	sem_post(&sem);
	return NULL;
}

static void semaphores(void)
{
	CHECK_OK("sem_init 0", sem_init(&sem, 0, 0));
	CHECK_ERR("sem_trywait on 0 is EAGAIN", sem_trywait(&sem), EAGAIN);
	struct timespec ts = t_in_ms(CLOCK_REALTIME, 30);
	CHECK_ERR("sem_timedwait times out", sem_timedwait(&sem, &ts), ETIMEDOUT);
	ts.tv_nsec = 1000000000L;
	CHECK_ERR("sem_timedwait with a bad tv_nsec is EINVAL", sem_timedwait(&sem, &ts), EINVAL);
	pthread_t t;
	pthread_create(&t, NULL, posts_later, NULL);
	CHECK_OK("sem_wait woken by another thread's sem_post", sem_wait(&sem));
	pthread_join(t, NULL);
	sem_post(&sem);
	sem_post(&sem);
	int v = -1;
	sem_getvalue(&sem, &v);
	CHECK_EQ("sem_getvalue after two posts", v, 2);
	CHECK_OK("sem_trywait takes one", sem_trywait(&sem));
	ts = t_in_ms(CLOCK_REALTIME, 30);
	CHECK_OK("sem_timedwait takes the other", sem_timedwait(&sem, &ts));
	sem_getvalue(&sem, &v);
	CHECK_EQ("sem_getvalue is back to 0", v, 0);
	sem_destroy(&sem);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;
static void init_once(void)
{
	t_pause_ms(10); /* the other callers must wait for it */
	once_runs++;
}
static void *call_once(void *arg)
{
	(void)arg;
	pthread_once(&once, init_once);
	return (void *)(intptr_t)once_runs;
}

static pthread_spinlock_t spin;
static long spin_count;
static void *spin_adds(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		pthread_spin_lock(&spin);
		spin_count++;
		pthread_spin_unlock(&spin);
	}
	return NULL;
}
static void *spin_trylock(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)pthread_spin_trylock(&spin);
}

int main(void)
{
	T_BEGIN();
	alarm(30); /* a hang becomes a SIGALRM death, not a stuck suite */
	mutexes();
	condvars();
	rwlocks();
	barriers();
	semaphores();

	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, call_once, NULL);
	int saw_done = 0;
	for (int i = 0; i < 4; i++) {
		void *r = NULL;
		pthread_join(t[i], &r);
		saw_done += (intptr_t)r == 1;
	}
	CHECK_EQ("pthread_once ran the routine once", once_runs, 1);
	CHECK_EQ("every caller returned after it had run", saw_done, 4);

	CHECK_EQ("pthread_spin_init", pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE), 0);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, spin_adds, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ("four threads' increments under a spinlock", spin_count, 80000);
	pthread_spin_lock(&spin);
	CHECK_EQ("pthread_spin_trylock of a held lock is EBUSY", in_thread(spin_trylock, NULL), EBUSY);
	pthread_spin_unlock(&spin);
	CHECK_EQ("pthread_spin_trylock of a free lock", pthread_spin_trylock(&spin), 0);
	pthread_spin_unlock(&spin);
	pthread_spin_destroy(&spin);
	T_DONE();
}
