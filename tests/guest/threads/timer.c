// build: -pthread
/* POSIX timers: SIGEV_SIGNAL, SIGEV_THREAD_ID (raw syscalls: the signal goes
 * to the one thread named by sigev_notify_thread_id) and SIGEV_THREAD (the
 * libc runs the function in another thread); timer_settime, timer_gettime,
 * timer_getoverrun, timer_delete, and a periodic timer that fires N times
 * before it is deleted. Signals are taken with sigtimedwait, so every wait
 * is bounded. */
#include "../test.h"
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

static pid_t tid(void) { return (pid_t)syscall(SYS_gettid); }

#define T_SIGEV_THREAD_ID 4

/* struct sigevent as the kernel reads it (include/uapi/asm-generic/siginfo.h). */
struct k_sigevent {
	union sigval value;
	int signo;
	int notify;
	int tid;
	int pad[11];
};

static const struct timespec five_s = { 5, 0 };

static sigset_t one_signal(int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	return s;
}

static long long ns(struct timespec ts) { return ts.tv_sec * 1000000000LL + ts.tv_nsec; }

static sem_t ready, fired;
static volatile pid_t target_tid;
struct thread_id_result {
	int sig;
	int code;
	int value;
};

static void *waits_for_timer(void *arg)
{
	struct thread_id_result *r = arg;
	target_tid = tid();
	sem_post(&ready);
	sigset_t s = one_signal(SIGUSR2);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	r->sig = sigtimedwait(&s, &si, &five_s);
	r->code = si.si_code;
	r->value = si.si_value.sival_int;
	return NULL;
}

static pthread_t main_thread;
static volatile int notify_value, notify_in_other_thread;
static void notify(union sigval v)
{
	notify_value = v.sival_int;
	notify_in_other_thread = !pthread_equal(pthread_self(), main_thread);
	sem_post(&fired);
}

int main(void)
{
	T_BEGIN();
	alarm(30); /* a hang becomes a SIGALRM death, not a stuck suite */
	main_thread = pthread_self();
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &block, NULL); /* inherited by every thread */
	sigset_t usr1 = one_signal(SIGUSR1);
	siginfo_t si;

	/* SIGEV_SIGNAL, one shot. */
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	sev.sigev_value.sival_int = 42;
	timer_t t;
	CHECK_OK("timer_create SIGEV_SIGNAL", timer_create(CLOCK_MONOTONIC, &sev, &t));
	struct itimerspec its = { { 0, 0 }, { 0, 10 * 1000000L } }, got;
	CHECK_OK("timer_settime 10 ms", timer_settime(t, 0, &its, NULL));
	memset(&si, 0, sizeof si);
	CHECK_EQ("the timer's signal arrives", sigtimedwait(&usr1, &si, &five_s), SIGUSR1);
	CHECK_EQ("si_code is SI_TIMER", si.si_code, SI_TIMER);
	CHECK_EQ("si_value is the sigev_value", si.si_value.sival_int, 42);
	CHECK_OK("timer_gettime", timer_gettime(t, &got));
	CHECK("an expired one-shot timer is disarmed", ns(got.it_value) == 0 && ns(got.it_interval) == 0);
	CHECK_EQ("timer_getoverrun", timer_getoverrun(t), 0);

	its = (struct itimerspec){ { 0, 0 }, { 10, 0 } };
	timer_settime(t, 0, &its, NULL);
	timer_gettime(t, &got);
	CHECK("timer_gettime shows the time left", ns(got.it_value) > 0 && ns(got.it_value) <= 10000000000LL);
	struct itimerspec old, off = { { 0, 0 }, { 0, 0 } };
	CHECK_OK("disarm", timer_settime(t, 0, &off, &old));
	CHECK("the old value comes back", ns(old.it_value) > 0 && ns(old.it_value) <= 10000000000LL);
	timer_gettime(t, &got);
	CHECK_EQ("a disarmed timer reads 0", ns(got.it_value), 0);
	its.it_value.tv_nsec = 1000000000L;
	CHECK_ERR("timer_settime with tv_nsec of 10^9 is EINVAL", timer_settime(t, 0, &its, NULL), EINVAL);
	struct itimerspec past = { { 0, 0 }, { 1, 0 } };
	CHECK_OK("TIMER_ABSTIME with a time long past", timer_settime(t, TIMER_ABSTIME, &past, NULL));
	CHECK_EQ("fires at once", sigtimedwait(&usr1, &si, &five_s), SIGUSR1);

	/* Periodic: five expiries, then deleted. */
	its = (struct itimerspec){ { 0, 5 * 1000000L }, { 0, 5 * 1000000L } };
	timer_settime(t, 0, &its, NULL);
	int n = 0;
	for (int i = 0; i < 5; i++)
		n += sigtimedwait(&usr1, &si, &five_s) == SIGUSR1;
	CHECK_EQ("a periodic timer fired five times", n, 5);
	CHECK_OK("timer_delete", timer_delete(t));
	CHECK_ERR("timer_gettime of a deleted timer is EINVAL", timer_gettime(t, &got), EINVAL);
	struct timespec zero = { 0, 0 };
	while (sigtimedwait(&usr1, &si, &zero) == SIGUSR1)
		; /* one may have been queued before the delete */

	/* Overruns: expiries while the signal is pending are counted. */
	CHECK_OK("timer_create for overruns", timer_create(CLOCK_MONOTONIC, &sev, &t));
	its = (struct itimerspec){ { 0, 1000000L }, { 0, 1000000L } };
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	timer_settime(t, 0, &its, NULL);
	do {
		struct timespec ms = { 0, 1000000L };
		nanosleep(&ms, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (ns(now) - ns(start) < 30000000LL);
	memset(&si, 0, sizeof si);
	CHECK_EQ("the 1 ms periodic timer's signal", sigtimedwait(&usr1, &si, &five_s), SIGUSR1);
	CHECK("si_overrun counts the expiries missed while it was pending", si.si_overrun >= 1);
	CHECK("timer_getoverrun too", timer_getoverrun(t) >= 1);
	timer_delete(t);
	while (sigtimedwait(&usr1, &si, &zero) == SIGUSR1)
		;

	/* SIGEV_THREAD_ID: the signal goes to the named thread only. */
	sem_init(&ready, 0, 0);
	struct thread_id_result r = { 0, 0, 0 };
	pthread_t waiter;
	pthread_create(&waiter, NULL, waits_for_timer, &r);
	sem_wait(&ready);
	struct k_sigevent ksev;
	memset(&ksev, 0, sizeof ksev);
	ksev.notify = T_SIGEV_THREAD_ID;
	ksev.signo = SIGUSR2;
	ksev.value.sival_int = 77;
	ksev.tid = target_tid;
	int kid = -1;
	CHECK_OK("timer_create SIGEV_THREAD_ID (syscall)", syscall(SYS_timer_create, CLOCK_MONOTONIC, &ksev, &kid));
	its = (struct itimerspec){ { 0, 0 }, { 0, 10 * 1000000L } };
	CHECK_OK("timer_settime (syscall)", syscall(SYS_timer_settime, kid, 0, &its, NULL));
	pthread_join(waiter, NULL);
	CHECK_EQ("the named thread took the signal", r.sig, SIGUSR2);
	CHECK_EQ("si_code is SI_TIMER", r.code, SI_TIMER);
	CHECK_EQ("si_value is the sigev_value", r.value, 77);
	sigset_t pending;
	sigpending(&pending);
	CHECK_EQ("nothing pending for main", sigismember(&pending, SIGUSR2), 0);
	CHECK_OK("timer_delete (syscall)", syscall(SYS_timer_delete, kid));
	/* Raw calls: musl 1.2.3's timer_delete returns -EINVAL without errno. */
	CHECK_ERR("timer_delete of a deleted timer is EINVAL", syscall(SYS_timer_delete, kid), EINVAL);
	CHECK_ERR("timer_gettime of a deleted timer is EINVAL (syscall)", syscall(SYS_timer_gettime, kid, &got),
		  EINVAL);
	ksev.tid = getppid();
	CHECK_ERR("SIGEV_THREAD_ID naming a task of another process is EINVAL",
		  syscall(SYS_timer_create, CLOCK_MONOTONIC, &ksev, &kid), EINVAL);

	/* SIGEV_THREAD: the libc calls the function in another thread. */
	sem_init(&fired, 0, 0);
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = notify;
	sev.sigev_value.sival_int = 99;
	CHECK_OK("timer_create SIGEV_THREAD", timer_create(CLOCK_MONOTONIC, &sev, &t));
	its = (struct itimerspec){ { 0, 0 }, { 0, 10 * 1000000L } };
	CHECK_OK("timer_settime", timer_settime(t, 0, &its, NULL));
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	CHECK_OK("the notify function ran", sem_timedwait(&fired, &deadline));
	CHECK_EQ("with the sigev_value", notify_value, 99);
	CHECK_EQ("in a thread other than main", notify_in_other_thread, 1);
	CHECK_OK("timer_delete", timer_delete(t));
	T_DONE();
}
