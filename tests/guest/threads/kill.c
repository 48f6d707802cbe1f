// build: -pthread
/* Signals and threads: pthread_kill runs the handler in the chosen thread,
 * a process-directed signal goes to the one thread that does not block it,
 * sigwait in one thread takes a signal the others block, and tgkill (raw
 * syscall) reaches the thread with that tid. */
#include "../test.h"
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

static pid_t tid(void) { return (pid_t)syscall(SYS_gettid); }

/* Which thread ran the handler: each thread sets its index. */
static __thread int my_index = -1;
static volatile sig_atomic_t handled_by = -2;
static volatile sig_atomic_t handled_count;
static volatile sig_atomic_t handler_tid_matched;
static pthread_t target;
static volatile pid_t target_tid;
static volatile sig_atomic_t handler_self_is_target;

static void on_usr1(int sig)
{
	(void)sig;
	handled_by = my_index;
	handler_self_is_target = pthread_equal(pthread_self(), target);
	handler_tid_matched = tid() == target_tid;
	/* Last: the main thread reads the others once it sees the count. */
	handled_count++;
}

static sigset_t usr1_set(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	return s;
}

static sem_t started, finish;

/* Waits with SIGUSR1 blocked or not, then for `finish`, so that a
 * process-directed signal has a choice of threads. */
struct waiter {
	int index;
	int unblock;
};

static void *waiter(void *arg)
{
	struct waiter *w = arg;
	my_index = w->index;
	if (w->unblock) {
		target_tid = tid();
		sigset_t s = usr1_set();
		pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	}
	sem_post(&started);
	while (sem_wait(&finish) != 0)
		; /* EINTR from the handler */
	return NULL;
}

static void *sigwaiter(void *arg)
{
	(void)arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	int sig = 0;
	sem_post(&started);
	int r = sigwait(&s, &sig);
	return (void *)(intptr_t)(r == 0 ? sig : -r);
}

int main(void)
{
	T_BEGIN();
	alarm(30); /* a hang becomes a SIGALRM death, not a stuck suite */
	my_index = 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sem_init(&started, 0, 0);
	sem_init(&finish, 0, 0);

	/* pthread_kill to one of three threads that all leave SIGUSR1 unblocked. */
	pthread_t t[3];
	struct waiter w[3];
	for (int i = 0; i < 3; i++) {
		w[i] = (struct waiter){ i + 1, 0 };
		pthread_create(&t[i], NULL, waiter, &w[i]);
	}
	for (int i = 0; i < 3; i++)
		sem_wait(&started);
	target = t[1];
	sigset_t s = usr1_set();
	pthread_sigmask(SIG_BLOCK, &s, NULL); /* main stays out of it */
	CHECK_EQ("pthread_kill", pthread_kill(target, SIGUSR1), 0);
	for (int i = 0; i < 5000 && !handled_count; i++)
		t_pause_ms(1);
	CHECK_EQ("the handler ran in the chosen thread", handled_by, 2);
	CHECK_EQ("pthread_self() in the handler is the target", handler_self_is_target, 1);
	CHECK_EQ("pthread_kill with signal 0 checks the thread", pthread_kill(target, 0), 0);
	CHECK_EQ("pthread_kill with an invalid signal is EINVAL", pthread_kill(target, 999), EINVAL);
	for (int i = 0; i < 3; i++)
		sem_post(&finish);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ("the handler ran once", handled_count, 1);

	/* A process-directed signal: everyone blocks SIGUSR1 but thread 3. New
	 * threads inherit main's mask (SIGUSR1 blocked). */
	handled_count = 0;
	handled_by = -2;
	for (int i = 0; i < 3; i++) {
		w[i] = (struct waiter){ i + 1, i == 2 };
		pthread_create(&t[i], NULL, waiter, &w[i]);
	}
	for (int i = 0; i < 3; i++)
		sem_wait(&started);
	target = t[2];
	CHECK_OK("kill(getpid(), SIGUSR1)", kill(getpid(), SIGUSR1));
	for (int i = 0; i < 5000 && !handled_count; i++)
		t_pause_ms(1);
	CHECK_EQ("the one thread that does not block it handled it", handled_by, 3);
	CHECK_EQ("its tid is that thread's", handler_tid_matched, 1);
	sigset_t pending;
	sigpending(&pending);
	CHECK_EQ("nothing is left pending", sigismember(&pending, SIGUSR1), 0);

	/* tgkill to the same thread by its tid. */
	handled_count = 0;
	handled_by = -2;
	CHECK_OK("tgkill(getpid(), tid, SIGUSR1)", syscall(SYS_tgkill, getpid(), target_tid, SIGUSR1));
	for (int i = 0; i < 5000 && !handled_count; i++)
		t_pause_ms(1);
	CHECK_EQ("tgkill reached the thread with that tid", handled_by, 3);
	CHECK_EQ("handler saw that tid", handler_tid_matched, 1);
	CHECK_OK("tgkill with signal 0 checks the thread", syscall(SYS_tgkill, getpid(), target_tid, 0));
	CHECK_ERR("tgkill with an invalid tid is EINVAL", syscall(SYS_tgkill, getpid(), -1, 0), EINVAL);
	CHECK_ERR("tgkill with an invalid tgid is EINVAL", syscall(SYS_tgkill, 0, target_tid, 0), EINVAL);
	CHECK_ERR("tgkill of the thread in another thread group is ESRCH",
		  syscall(SYS_tgkill, getppid(), target_tid, 0), ESRCH);
	for (int i = 0; i < 3; i++)
		sem_post(&finish);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);

	/* A thread blocked in sigwait takes a process-directed signal that every
	 * thread blocks. */
	sigset_t usr2;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	pthread_t sw;
	pthread_create(&sw, NULL, sigwaiter, NULL);
	sem_wait(&started);
	CHECK_OK("kill(getpid(), SIGUSR2)", kill(getpid(), SIGUSR2));
	void *got = NULL;
	pthread_join(sw, &got);
	CHECK_EQ("sigwait in the other thread returned SIGUSR2", (intptr_t)got, SIGUSR2);
	sigpending(&pending);
	CHECK_EQ("and it is no longer pending", sigismember(&pending, SIGUSR2), 0);

	/* A thread-directed signal blocked by its target stays pending for that
	 * thread only. */
	pthread_kill(pthread_self(), SIGUSR2);
	sigpending(&pending);
	CHECK_EQ("a blocked pthread_kill to self is pending", sigismember(&pending, SIGUSR2), 1);
	int sig = 0;
	CHECK_EQ("sigwait takes it", sigwait(&usr2, &sig), 0);
	CHECK_EQ("it is SIGUSR2", sig, SIGUSR2);
	T_DONE();
}
