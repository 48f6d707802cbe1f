// build: -pthread
/* Per-thread data: __thread variables start from their initial values in
 * every thread and stay private to it, errno is per thread, and
 * pthread_key_create values are per thread with destructors that run at
 * thread exit (again while they set a new value, never for NULL). */
#include "../test.h"
#include <pthread.h>
#include <stdint.h>

enum { THREADS = 4 };

static __thread int tls_init = 5;
static __thread long tls_zero;
static __thread char tls_name[8] = "main";

static pthread_barrier_t all_set;

struct result {
	int started_init, started_zero, started_name;
	int kept_own;
	int errno_kept;
	uintptr_t addr;
};
static struct result results[THREADS];

static void *tls_worker(void *arg)
{
	int i = (int)(intptr_t)arg;
	struct result *r = &results[i];
	r->started_init = tls_init == 5;
	r->started_zero = tls_zero == 0;
	r->started_name = strcmp(tls_name, "main") == 0;
	tls_init = 100 + i;
	tls_zero = 1000L * i;
	snprintf(tls_name, sizeof tls_name, "t%d", i);
	errno = 70 + i;
	/* Every thread has written its values before any reads them back. */
	pthread_barrier_wait(&all_set);
	char want[8];
	snprintf(want, sizeof want, "t%d", i);
	r->kept_own = tls_init == 100 + i && tls_zero == 1000L * i && strcmp(tls_name, want) == 0;
	r->errno_kept = errno == 70 + i;
	r->addr = (uintptr_t)&tls_init;
	return NULL;
}

static pthread_key_t key;
static pthread_mutex_t dtor_lock = PTHREAD_MUTEX_INITIALIZER;
static int dtor_calls[THREADS + 1];
static int dtor_null_calls;
static int slots[THREADS + 1];
static int reset_done;

/* The destructor of the last thread sets a value again once: it is then
 * called again (up to PTHREAD_DESTRUCTOR_ITERATIONS rounds). */
static void dtor(void *value)
{
	pthread_mutex_lock(&dtor_lock);
	if (!value)
		dtor_null_calls++;
	else
		dtor_calls[(int *)value - slots]++;
	int again = value == &slots[THREADS - 1] && !reset_done;
	if (again)
		reset_done = 1;
	pthread_mutex_unlock(&dtor_lock);
	if (again)
		pthread_setspecific(key, value);
}

static void *key_worker(void *arg)
{
	int i = (int)(intptr_t)arg;
	int fresh = pthread_getspecific(key) == NULL;
	if (i != 0) /* thread 0 leaves its value NULL: no destructor call */
		pthread_setspecific(key, &slots[i]);
	pthread_barrier_wait(&all_set);
	int own = i == 0 ? pthread_getspecific(key) == NULL : pthread_getspecific(key) == &slots[i];
	return (void *)(intptr_t)(fresh && own);
}

int main(void)
{
	T_BEGIN();
	alarm(30); /* a hang becomes a SIGALRM death, not a stuck suite */
	pthread_barrier_init(&all_set, NULL, THREADS);
	tls_init = 6;
	tls_zero = 7;
	strcpy(tls_name, "changed");
	errno = 3;
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, tls_worker, (void *)(intptr_t)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	int init = 0, zero = 0, name = 0, kept = 0, err = 0, distinct = 1;
	for (int i = 0; i < THREADS; i++) {
		init += results[i].started_init;
		zero += results[i].started_zero;
		name += results[i].started_name;
		kept += results[i].kept_own;
		err += results[i].errno_kept;
		for (int j = 0; j < i; j++)
			distinct &= results[i].addr != results[j].addr;
		distinct &= results[i].addr != (uintptr_t)&tls_init;
	}
	CHECK_EQ("each thread starts with the initial __thread int", init, THREADS);
	CHECK_EQ("each thread starts with a zero __thread long", zero, THREADS);
	CHECK_EQ("each thread starts with the initial __thread string", name, THREADS);
	CHECK_EQ("each thread keeps its own values while others write theirs", kept, THREADS);
	CHECK_EQ("each thread keeps its own errno", err, THREADS);
	CHECK("each thread's __thread variable has its own address", distinct);
	CHECK("main's __thread values are untouched",
	      tls_init == 6 && tls_zero == 7 && strcmp(tls_name, "changed") == 0);
	CHECK_EQ("main's errno is untouched", errno, 3);

	CHECK_EQ("pthread_key_create", pthread_key_create(&key, dtor), 0);
	CHECK_EQ("main sets its value", pthread_setspecific(key, &slots[THREADS]), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, key_worker, (void *)(intptr_t)i);
	int fine = 0;
	for (int i = 0; i < THREADS; i++) {
		void *r = NULL;
		pthread_join(t[i], &r);
		fine += (intptr_t)r == 1;
	}
	CHECK_EQ("each thread starts with NULL and sees only its own value", fine, THREADS);
	CHECK("main's value is its own", pthread_getspecific(key) == &slots[THREADS]);
	CHECK_EQ("no destructor call for a NULL value", dtor_null_calls, 0);
	CHECK_EQ("no destructor call for thread 0, which set nothing", dtor_calls[0], 0);
	CHECK_EQ("the destructor ran once for thread 1's value", dtor_calls[1], 1);
	CHECK_EQ("the destructor ran once for thread 2's value", dtor_calls[2], 1);
	CHECK_EQ("the destructor ran again for the value set from a destructor", dtor_calls[THREADS - 1], 2);
	CHECK_EQ("no destructor for main (it has not exited)", dtor_calls[THREADS], 0);
	CHECK_EQ("pthread_key_delete", pthread_key_delete(key), 0);
	T_DONE();
}
