/* A signal sent with tgkill to a thread that waits for it in sigwaitinfo
 * (and so blocks it, as it must) wakes that thread: the wait has no
 * timeout, and the alarm() watchdog ends the program if it never does. */
#include "../test.h"
#include <pthread.h>
#include <signal.h>

static volatile int worker_tid;
static int got;

static void *worker(void *arg)
{
	(void)arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	worker_tid = syscall(SYS_gettid);
	siginfo_t si;
	got = sigwaitinfo(&s, &si);
	return NULL;
}

int main(void)
{
	T_BEGIN();
	alarm(20);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	pthread_t th;
	CHECK_EQ("pthread_create", pthread_create(&th, NULL, worker, NULL), 0);
	while (!worker_tid) {
		struct timespec t = {0, 1000000};
		nanosleep(&t, NULL);
	}
	/* Let the worker reach its wait (it gets the signal either way). */
	struct timespec t = {0, 50000000};
	nanosleep(&t, NULL);
	CHECK_OK("tgkill", syscall(SYS_tgkill, getpid(), worker_tid, SIGUSR1));
	pthread_join(th, NULL);
	CHECK_EQ("sigwaitinfo woke with the signal", got, SIGUSR1);
	T_DONE();
}
