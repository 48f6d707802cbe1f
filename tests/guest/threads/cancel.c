// build: -pthread
/* Deferred cancellation: a thread blocked in pthread_cond_wait, sleep,
 * nanosleep or read() of an empty pipe is cancelled, as is one reaching
 * pthread_testcancel; cleanup handlers run (in reverse order of push),
 * join returns PTHREAD_CANCELED, and a cancel while cancellation is
 * disabled waits until it is enabled again. */
#include "../test.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

static atomic_int ready;
static atomic_int go_on;
static char cleanup_log[64];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void note(void *what)
{
	pthread_mutex_lock(&log_lock);
	strcat(cleanup_log, what);
	pthread_mutex_unlock(&log_lock);
}

/* Waits (bounded) until the thread says it is about to block. */
static void wait_ready(void)
{
	for (int i = 0; i < 5000 && !atomic_load(&ready); i++)
		t_pause_ms(1);
}

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;

static void unlock_mutex(void *arg)
{
	note("u");
	pthread_mutex_unlock(arg);
}

static void *in_cond_wait(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	pthread_cleanup_push(unlock_mutex, &m);
	atomic_store(&ready, 1);
	for (;;)
		pthread_cond_wait(&c, &m);
	pthread_cleanup_pop(1);
	return NULL;
}

static void *in_sleep(void *arg)
{
	(void)arg;
	pthread_cleanup_push(note, "s");
	atomic_store(&ready, 1);
	for (;;)
		sleep(100);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *in_nanosleep(void *arg)
{
	(void)arg;
	pthread_cleanup_push(note, "n");
	atomic_store(&ready, 1);
	struct timespec ts = { 100, 0 };
	for (;;)
		nanosleep(&ts, NULL);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *in_read(void *arg)
{
	int fd = *(int *)arg;
	char byte;
	pthread_cleanup_push(note, "r");
	atomic_store(&ready, 1);
	for (;;)
		if (read(fd, &byte, 1) >= 0)
			note("!"); /* nothing is ever written */
	pthread_cleanup_pop(0);
	return NULL;
}

static void *at_testcancel(void *arg)
{
	(void)arg;
	pthread_cleanup_push(note, "1");
	pthread_cleanup_push(note, "2");
	atomic_store(&ready, 1);
	while (!atomic_load(&go_on))
		; /* no cancellation point in this loop */
	pthread_testcancel();
	note("!"); /* never reached */
	pthread_cleanup_pop(0);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *cancel_disabled(void *arg)
{
	(void)arg;
	int old = -1;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	pthread_cleanup_push(note, "d");
	atomic_store(&ready, 1);
	while (!atomic_load(&go_on))
		t_pause_ms(1); /* nanosleep is a cancellation point, but disabled */
	note("e");
	pthread_setcancelstate(old, NULL);
	pthread_testcancel();
	note("!");
	pthread_cleanup_pop(0);
	return NULL;
}

/* Starts fn, waits until it is about to block, cancels it, joins it. */
static void cancel_one(const char *what, void *(*fn)(void *), void *arg, const char *want_log, int wait_go)
{
	atomic_store(&ready, 0);
	atomic_store(&go_on, 0);
	cleanup_log[0] = 0;
	pthread_t t;
	if (pthread_create(&t, NULL, fn, arg) != 0) {
		printf("FAIL %s: pthread_create\n", what);
		return;
	}
	wait_ready();
	t_pause_ms(10); /* usually in the blocking call by now; either way it is cancelled */
	int r = pthread_cancel(t);
	if (wait_go) {
		t_pause_ms(10);
		atomic_store(&go_on, 1);
	}
	void *ret = NULL;
	int j = pthread_join(t, &ret);
	char line[160];
	snprintf(line, sizeof line, "%s: pthread_cancel and join succeed", what);
	CHECK(line, r == 0 && j == 0);
	snprintf(line, sizeof line, "%s: join returns PTHREAD_CANCELED", what);
	CHECK(line, ret == PTHREAD_CANCELED);
	snprintf(line, sizeof line, "%s: cleanup handlers ran", what);
	CHECK_STR(line, cleanup_log, want_log);
}

int main(void)
{
	T_BEGIN();
	alarm(30); /* a hang becomes a SIGALRM death, not a stuck suite */
	cancel_one("pthread_cond_wait", in_cond_wait, NULL, "u", 0);
	CHECK_EQ("the mutex was released by the cleanup handler", pthread_mutex_trylock(&m), 0);
	pthread_mutex_unlock(&m);
	cancel_one("sleep", in_sleep, NULL, "s", 0);
	cancel_one("nanosleep", in_nanosleep, NULL, "n", 0);
	int p[2];
	if (pipe(p) != 0)
		return 2;
	cancel_one("read of an empty pipe", in_read, &p[0], "r", 0);
	close(p[0]);
	close(p[1]);
	cancel_one("pthread_testcancel", at_testcancel, NULL, "21", 1);
	cancel_one("cancel while disabled", cancel_disabled, NULL, "ed", 1);
	T_DONE();
}
