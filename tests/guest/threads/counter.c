// build: -pthread
/* Eight threads each add one a million times to a counter under a mutex,
 * and to an atomic counter: both totals are exact (lost wakeups or a lock
 * that is not mutual exclusion show up as a wrong total or a hang). */
#include "../test.h"
#include <pthread.h>
#include <stdatomic.h>

enum { THREADS = 8, ROUNDS = 1000000 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static atomic_long atomic_counter;

static void *add_locked(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static void *add_atomic(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++)
		atomic_fetch_add_explicit(&atomic_counter, 1, memory_order_relaxed);
	return NULL;
}

static int run(void *(*fn)(void *))
{
	pthread_t t[THREADS];
	int ok = 0;
	for (int i = 0; i < THREADS; i++)
		ok += pthread_create(&t[i], NULL, fn, NULL) == 0;
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	return ok;
}

int main(void)
{
	T_BEGIN();
	alarm(50); /* a hang becomes a SIGALRM death, not a stuck suite */
	CHECK_EQ("eight threads for the mutex counter", run(add_locked), THREADS);
	CHECK_EQ("mutex-protected total is exact", counter, (long)THREADS * ROUNDS);
	CHECK_EQ("eight threads for the atomic counter", run(add_atomic), THREADS);
	CHECK_EQ("atomic total is exact", atomic_load(&atomic_counter), (long)THREADS * ROUNDS);
	T_DONE();
}
