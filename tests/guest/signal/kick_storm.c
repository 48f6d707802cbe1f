// build: -pthread
/* Syscalls made while other threads send signals to the caller without
 * pause: every call is made exactly once and returns its own result. A
 * signal that arrives as a thread enters a syscall must not swallow the
 * call (a runtime that interrupts its threads with the same host signal
 * its syscall trap raises loses the trap when the two meet: the call
 * comes back with its own number, never made). The calls alternate
 * between getppid and getpid so that a call answered with the other's
 * result, or with its number, is told apart. */
#include "../test.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#define WORKERS 3
#define CALLS 40000

static pid_t pid, ppid;
static volatile int stop, done;
static volatile long handled;
static pthread_t workers[WORKERS];
static pthread_barrier_t start;

static void on_usr1(int sig)
{
	(void)sig;
	__atomic_fetch_add(&handled, 1, __ATOMIC_RELAXED);
}

static void *worker(void *arg)
{
	(void)arg;
	long bad = 0;
	pthread_barrier_wait(&start);
	for (long i = 0; i < CALLS; i++) {
		long want = (i & 1) ? pid : ppid;
		long got = syscall((i & 1) ? SYS_getpid : SYS_getppid);
		if (got != want) {
			if (!bad)
				fprintf(stderr, "call %ld: got %ld want %ld\n", i, got, want);
			bad++;
		}
	}
	/* Alive until the pest stops: a signal to an ended thread is undefined. */
	__atomic_fetch_add(&done, 1, __ATOMIC_SEQ_CST);
	while (!stop)
		sched_yield();
	return (void *)bad;
}

static void *pest(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);
	while (!stop)
		for (int i = 0; i < WORKERS; i++)
			pthread_kill(workers[i], SIGUSR1);
	return NULL;
}

int main(void)
{
	T_BEGIN();
	alarm(60);
	pid = getpid();
	ppid = getppid();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	pthread_barrier_init(&start, NULL, WORKERS + 2);
	for (long i = 0; i < WORKERS; i++)
		pthread_create(&workers[i], NULL, worker, NULL);
	pthread_t p[1];
	pthread_create(&p[0], NULL, pest, NULL);
	pthread_barrier_wait(&start);
	while (__atomic_load_n(&done, __ATOMIC_SEQ_CST) < WORKERS)
		sched_yield();
	stop = 1;
	pthread_join(p[0], NULL);
	long bad = 0;
	for (int i = 0; i < WORKERS; i++) {
		void *ret;
		pthread_join(workers[i], &ret);
		bad += (long)ret;
	}
	CHECK_EQ("every call returned its own result", bad, 0L);
	CHECK("the handler ran", handled > 0);
	T_DONE();
}
