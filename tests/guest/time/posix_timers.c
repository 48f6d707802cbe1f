/* POSIX per-process timers (timer_create(2) and friends): signals with
 * SI_TIMER, si_timerid, si_value and si_overrun; periodic timers; a timer
 * aimed at one thread (SIGEV_THREAD_ID); SIGEV_NONE read with
 * timer_gettime; TIMER_ABSTIME; the C library's SIGEV_THREAD; CPU-time
 * clocks; deletion; and the kernel's errors. The kernel interface is
 * called directly where the C libraries differ (the timer_t of glibc and
 * musl is not the kernel's id in every case). Every wait is bounded; no
 * check depends on how long anything took. */
#include "../test.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

#ifndef SIGEV_THREAD_ID
#define SIGEV_THREAD_ID 4
#endif

/* The kernel's struct sigevent (64 bytes). */
struct k_sigevent {
	union sigval value;
	int signo;
	int notify;
	int tid;
	int pad[11];
};

static int k_timer_create(clockid_t clock, struct k_sigevent *ev, int *id)
{
	return syscall(SYS_timer_create, clock, ev, id);
}

static int k_settime(int id, int flags, const struct itimerspec *new, struct itimerspec *old)
{
	return syscall(SYS_timer_settime, id, flags, new, old);
}

static int k_gettime(int id, struct itimerspec *cur)
{
	return syscall(SYS_timer_gettime, id, cur);
}

static int k_getoverrun(int id)
{
	return syscall(SYS_timer_getoverrun, id);
}

static int k_delete(int id)
{
	return syscall(SYS_timer_delete, id);
}

static long long ns_of(struct timespec t)
{
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static struct itimerspec spec(long long value_ns, long long interval_ns)
{
	struct itimerspec s = {
		.it_interval = {interval_ns / 1000000000, interval_ns % 1000000000},
		.it_value = {value_ns / 1000000000, value_ns % 1000000000},
	};
	return s;
}

static int block(int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	return sigprocmask(SIG_BLOCK, &s, NULL);
}

static int unblock(int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	return sigprocmask(SIG_UNBLOCK, &s, NULL);
}

/* Waits at most 10 s for `sig` (blocked) and returns its number, or -1. */
static int wait_for(int sig, siginfo_t *si)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	struct timespec limit = {10, 0};
	memset(si, 0, sizeof *si);
	return sigtimedwait(&s, si, &limit);
}

/* Takes every pending instance of `sig` (blocked) without waiting. */
static void drain(int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	struct timespec zero = {0, 0};
	while (sigtimedwait(&s, NULL, &zero) == sig)
		;
}

static int is_pending(int sig)
{
	sigset_t s;
	sigpending(&s);
	return sigismember(&s, sig);
}

static void errors(void)
{
	struct k_sigevent ev = {.notify = SIGEV_SIGNAL, .signo = SIGUSR1};
	int id = -1;

	CHECK_ERR("unknown clock", k_timer_create(99, &ev, &id), EINVAL);
	CHECK_ERR("CLOCK_MONOTONIC_RAW has no timers", k_timer_create(CLOCK_MONOTONIC_RAW, &ev, &id), EOPNOTSUPP);
	CHECK_ERR("CLOCK_MONOTONIC_COARSE has no timers", k_timer_create(CLOCK_MONOTONIC_COARSE, &ev, &id),
		  EOPNOTSUPP);
	/* A negative id with low bits 3 is CLOCKFD: a dynamic clock, which has no timers. */
	CHECK_ERR("clock fd id", k_timer_create((clockid_t)(~0u << 3 | 3), &ev, &id), EOPNOTSUPP);
	/* Kind 3 is CPUCLOCK_MAX: a thread CPU clock of that kind names no clock. */
	CHECK_ERR("bad CPU clock kind", k_timer_create((clockid_t)(~0u << 3 | 4 | 3), &ev, &id), EINVAL);
	CHECK_ERR("sigevent unreadable", k_timer_create(CLOCK_MONOTONIC, (void *)8, &id), EFAULT);
	CHECK_ERR("timer id unwritable", k_timer_create(CLOCK_MONOTONIC, &ev, (void *)8), EFAULT);
	ev.notify = 3;
	CHECK_ERR("unknown sigev_notify", k_timer_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
	ev.notify = SIGEV_THREAD_ID | SIGEV_NONE;
	CHECK_ERR("SIGEV_THREAD_ID | SIGEV_NONE", k_timer_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
	ev.notify = SIGEV_SIGNAL;
	ev.signo = 0;
	CHECK_ERR("signal 0", k_timer_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
	ev.signo = 65;
	CHECK_ERR("signal 65", k_timer_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
	ev.notify = SIGEV_THREAD_ID;
	ev.signo = SIGUSR1;
	ev.tid = 0x3ffffff0;
	CHECK_ERR("SIGEV_THREAD_ID to no thread", k_timer_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
	ev.notify = SIGEV_NONE;
	ev.signo = 0;
	CHECK_OK("SIGEV_NONE needs no signal", k_timer_create(CLOCK_MONOTONIC, &ev, &id));

	struct itimerspec s = spec(0, 0), bad = spec(0, 0);
	bad.it_value.tv_nsec = 1000000000;
	CHECK_ERR("settime, no such timer", k_settime(id + 1000, 0, &s, NULL), EINVAL);
	CHECK_ERR("settime, NULL new value", k_settime(id, 0, NULL, NULL), EINVAL);
	CHECK_ERR("settime, tv_nsec out of range", k_settime(id, 0, &bad, NULL), EINVAL);
	bad = spec(0, 0);
	bad.it_interval.tv_sec = -1;
	CHECK_ERR("settime, negative interval", k_settime(id, 0, &bad, NULL), EINVAL);
	CHECK_ERR("settime, new value unreadable", k_settime(id, 0, (void *)8, NULL), EFAULT);
	CHECK_ERR("gettime, no such timer", k_gettime(id + 1000, &s), EINVAL);
	CHECK_ERR("gettime, unwritable", k_gettime(id, (void *)8), EFAULT);
	CHECK_ERR("getoverrun, no such timer", k_getoverrun(id + 1000), EINVAL);
	CHECK_ERR("delete, no such timer", k_delete(id + 1000), EINVAL);
	CHECK_OK("delete", k_delete(id));
	CHECK_ERR("delete twice", k_delete(id), EINVAL);
	CHECK_ERR("settime after delete", k_settime(id, 0, &s, NULL), EINVAL);
}

static volatile sig_atomic_t fired, bad_code, bad_id, bad_value;
static volatile int expected_id;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	fired++;
	if (si->si_code != SI_TIMER)
		bad_code++;
	if (si->si_timerid != expected_id)
		bad_id++;
	if (si->si_value.sival_int != 42)
		bad_value++;
}

/* A periodic timer fires again and again; each signal says which timer. */
static void periodic(void)
{
	struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	struct k_sigevent ev = {.notify = SIGEV_SIGNAL, .signo = SIGUSR1, .value.sival_int = 42};
	int id;
	CHECK_OK("create periodic", k_timer_create(CLOCK_MONOTONIC, &ev, &id));
	expected_id = id;
	struct itimerspec s = spec(2000000, 2000000);
	CHECK_OK("arm periodic", k_settime(id, 0, &s, NULL));
	for (int i = 0; i < 10000 && fired < 5; i++)
		t_sleep_ms(1);
	struct itimerspec old;
	s = spec(0, 0);
	CHECK_OK("disarm periodic", k_settime(id, 0, &s, &old));
	CHECK_EQ("old interval", ns_of(old.it_interval), 2000000);
	CHECK("old value within the period", ns_of(old.it_value) > 0 && ns_of(old.it_value) <= 2000000);
	CHECK("fired five times", fired >= 5);
	CHECK_EQ("si_code SI_TIMER", bad_code, 0);
	CHECK_EQ("si_timerid", bad_id, 0);
	CHECK_EQ("si_value", bad_value, 0);
	struct itimerspec cur;
	CHECK_OK("gettime disarmed", k_gettime(id, &cur));
	CHECK_EQ("disarmed value", ns_of(cur.it_value), 0);
	CHECK_EQ("disarmed interval", ns_of(cur.it_interval), 0);
	CHECK_OK("delete periodic", k_delete(id));
}

/* While its signal is pending, a timer does not queue another: the
 * periods that pass are counted in si_overrun and timer_getoverrun. */
static void overrun(void)
{
	int sig = SIGRTMIN + 2;
	block(sig);
	struct k_sigevent ev = {.notify = SIGEV_SIGNAL, .signo = sig, .value.sival_int = 7};
	int id;
	CHECK_OK("create for overrun", k_timer_create(CLOCK_MONOTONIC, &ev, &id));
	struct itimerspec s = spec(1000000, 1000000);
	CHECK_OK("arm 1 ms period", k_settime(id, 0, &s, NULL));
	CHECK_EQ("no overrun before a delivery", k_getoverrun(id), 0);
	t_sleep_ms(40);
	CHECK("pending while blocked", is_pending(sig));
	siginfo_t si;
	CHECK_EQ("taken", wait_for(sig, &si), sig);
	/* 40 ms of 1 ms periods passed since the first expiry: at least 30. */
	CHECK("si_overrun counts the periods", si.si_overrun >= 30);
	CHECK_EQ("timer_getoverrun equals si_overrun", k_getoverrun(id), si.si_overrun);
	CHECK_EQ("overrun signal's si_timerid", si.si_timerid, id);
	CHECK_EQ("overrun signal's si_value", si.si_value.sival_int, 7);
	CHECK_OK("delete overrun timer", k_delete(id));
	drain(sig);
	unblock(sig);
}

static volatile int worker_tid, handler_tid;
static volatile sig_atomic_t worker_done;

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	handler_tid = syscall(SYS_gettid);
	if (si->si_code == SI_TIMER && si->si_value.sival_int == 99)
		worker_done = 1;
	else
		worker_done = 2;
}

static void *worker(void *arg)
{
	(void)arg;
	worker_tid = syscall(SYS_gettid);
	for (int i = 0; i < 10000 && !worker_done; i++) {
		struct timespec t = {0, 1000000};
		nanosleep(&t, NULL);
	}
	return NULL;
}

/* SIGEV_THREAD_ID: the signal goes to the chosen thread, not to whichever
 * thread of the process happens to take it. */
static void thread_id(void)
{
	struct sigaction sa = {.sa_sigaction = on_usr2, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	pthread_t th;
	if (pthread_create(&th, NULL, worker, NULL) != 0) {
		CHECK("pthread_create", 0);
		return;
	}
	for (int i = 0; i < 10000 && !worker_tid; i++)
		t_sleep_ms(1);
	struct k_sigevent ev = {.notify = SIGEV_THREAD_ID, .signo = SIGUSR2, .value.sival_int = 99, .tid = worker_tid};
	int id;
	CHECK_OK("create SIGEV_THREAD_ID", k_timer_create(CLOCK_MONOTONIC, &ev, &id));
	struct itimerspec s = spec(5000000, 0);
	CHECK_OK("arm SIGEV_THREAD_ID", k_settime(id, 0, &s, NULL));
	/* The main thread does not block SIGUSR2 and keeps entering the
	 * kernel: a signal for the process could be taken here. */
	for (int i = 0; i < 10000 && !worker_done; i++)
		t_sleep_ms(1);
	pthread_join(th, NULL);
	CHECK_EQ("SIGEV_THREAD_ID siginfo", worker_done, 1);
	CHECK("handled on the chosen thread", handler_tid == worker_tid);
	CHECK_OK("delete SIGEV_THREAD_ID", k_delete(id));
}

/* SIGEV_NONE: nothing is sent; timer_gettime shows the time left. */
static void sigev_none(void)
{
	struct k_sigevent ev = {.notify = SIGEV_NONE};
	int id;
	CHECK_OK("create SIGEV_NONE", k_timer_create(CLOCK_MONOTONIC, &ev, &id));
	struct itimerspec s = spec(10000000000LL, 0), cur;
	CHECK_OK("arm 10 s", k_settime(id, 0, &s, NULL));
	CHECK_OK("gettime 10 s", k_gettime(id, &cur));
	CHECK("value within 10 s", ns_of(cur.it_value) > 0 && ns_of(cur.it_value) <= 10000000000LL);
	CHECK_EQ("one-shot interval", ns_of(cur.it_interval), 0);
	s = spec(1, 0);
	CHECK_OK("arm 1 ns", k_settime(id, 0, &s, NULL));
	t_sleep_ms(2);
	CHECK_OK("gettime expired", k_gettime(id, &cur));
	CHECK_EQ("expired SIGEV_NONE shows 0", ns_of(cur.it_value), 0);
	s = spec(1, 3000000000LL);
	CHECK_OK("arm periodic SIGEV_NONE", k_settime(id, 0, &s, NULL));
	t_sleep_ms(2);
	CHECK_OK("gettime periodic SIGEV_NONE", k_gettime(id, &cur));
	CHECK("next period ahead", ns_of(cur.it_value) > 0 && ns_of(cur.it_value) <= 3000000000LL);
	CHECK_EQ("periodic interval", ns_of(cur.it_interval), 3000000000LL);
	CHECK_EQ("SIGEV_NONE overrun", k_getoverrun(id), 0);
	CHECK_OK("delete SIGEV_NONE", k_delete(id));
}

/* TIMER_ABSTIME: an expiry on the clock itself; one in the past fires at once. */
static void abstime(void)
{
	int sig = SIGRTMIN + 3;
	block(sig);
	struct k_sigevent ev = {.notify = SIGEV_SIGNAL, .signo = sig, .value.sival_int = 5};
	int id;
	CHECK_OK("create for TIMER_ABSTIME", k_timer_create(CLOCK_REALTIME, &ev, &id));
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct itimerspec s = spec(ns_of(now) + 5000000, 0);
	CHECK_OK("arm absolute", k_settime(id, TIMER_ABSTIME, &s, NULL));
	siginfo_t si;
	CHECK_EQ("absolute expiry", wait_for(sig, &si), sig);
	CHECK_EQ("absolute si_code", si.si_code, SI_TIMER);
	struct itimerspec cur;
	CHECK_OK("gettime after the one shot", k_gettime(id, &cur));
	CHECK_EQ("expired one-shot shows 0", ns_of(cur.it_value), 0);
	s = spec(ns_of(now) - 1000000000LL, 0);
	CHECK_OK("arm in the past", k_settime(id, TIMER_ABSTIME, &s, NULL));
	CHECK_EQ("past expiry fires at once", wait_for(sig, &si), sig);
	CHECK_EQ("past expiry's value", si.si_value.sival_int, 5);
	CHECK_OK("delete absolute", k_delete(id));
	unblock(sig);
}

/* A deleted (or disarmed) timer sends nothing more. */
static void deleted(void)
{
	int sig = SIGRTMIN + 4;
	block(sig);
	struct k_sigevent ev = {.notify = SIGEV_SIGNAL, .signo = sig};
	int a, b;
	CHECK_OK("create a", k_timer_create(CLOCK_MONOTONIC, &ev, &a));
	CHECK_OK("create b", k_timer_create(CLOCK_MONOTONIC, &ev, &b));
	CHECK("distinct ids", a != b);
	struct itimerspec s = spec(200000000, 200000000), z = spec(0, 0);
	CHECK_OK("arm a", k_settime(a, 0, &s, NULL));
	CHECK_OK("arm b", k_settime(b, 0, &s, NULL));
	CHECK_OK("delete a", k_delete(a));
	CHECK_OK("disarm b", k_settime(b, 0, &z, NULL));
	t_sleep_ms(300);
	CHECK("nothing sent", !is_pending(sig));
	CHECK_OK("delete b", k_delete(b));
	unblock(sig);
}

/* Without a sigevent: SIGALRM to the process, the timer id as its value. */
static void default_event(void)
{
	block(SIGALRM);
	int id;
	CHECK_OK("create without sigevent", k_timer_create(CLOCK_MONOTONIC, NULL, &id));
	struct itimerspec s = spec(1000000, 0);
	CHECK_OK("arm default", k_settime(id, 0, &s, NULL));
	siginfo_t si;
	CHECK_EQ("default signal SIGALRM", wait_for(SIGALRM, &si), SIGALRM);
	CHECK_EQ("default si_code", si.si_code, SI_TIMER);
	CHECK_EQ("default value is the id", si.si_value.sival_int, id);
	CHECK_OK("delete default", k_delete(id));
	unblock(SIGALRM);
}

/* CPU-time clocks: the process's and the calling thread's. */
static void cpu_clocks(void)
{
	int sig = SIGRTMIN + 5;
	block(sig);
	clockid_t clocks[3] = {CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, 0};
	const char *names[3] = {"process CPU clock", "thread CPU clock", "clock_getcpuclockid clock"};
	if (clock_getcpuclockid(0, &clocks[2]) != 0)
		clocks[2] = CLOCK_PROCESS_CPUTIME_ID;
	for (int c = 0; c < 3; c++) {
		struct k_sigevent ev = {.notify = SIGEV_SIGNAL, .signo = sig};
		int id;
		char what[80];
		snprintf(what, sizeof what, "create on the %s", names[c]);
		CHECK_OK(what, k_timer_create(clocks[c], &ev, &id));
		struct itimerspec s = spec(20000000, 0);
		k_settime(id, 0, &s, NULL);
		/* Spin until the signal comes, at most 10 s of CPU time. */
		struct timespec start, now;
		clock_gettime(clocks[c], &start);
		volatile unsigned long spin = 0;
		do {
			for (int i = 0; i < 100000; i++)
				spin++;
			clock_gettime(clocks[c], &now);
		} while (!is_pending(sig) && ns_of(now) - ns_of(start) < 10000000000LL);
		snprintf(what, sizeof what, "expiry on the %s", names[c]);
		siginfo_t si;
		CHECK_EQ(what, wait_for(sig, &si), sig);
		k_delete(id);
	}
	unblock(sig);
}

static volatile int thread_notified, notify_tid, notify_value;

static void notify(union sigval v)
{
	notify_value = v.sival_int;
	notify_tid = syscall(SYS_gettid);
	__atomic_store_n(&thread_notified, 1, __ATOMIC_SEQ_CST);
}

/* The C library's SIGEV_THREAD: the function runs on a thread of its own. */
static void sigev_thread(void)
{
	struct sigevent ev;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_THREAD;
	ev.sigev_notify_function = notify;
	ev.sigev_value.sival_int = 1234;
	timer_t t;
	CHECK_OK("timer_create SIGEV_THREAD", timer_create(CLOCK_MONOTONIC, &ev, &t));
	struct itimerspec s = spec(5000000, 0);
	CHECK_OK("timer_settime SIGEV_THREAD", timer_settime(t, 0, &s, NULL));
	for (int i = 0; i < 10000 && !__atomic_load_n(&thread_notified, __ATOMIC_SEQ_CST); i++)
		t_sleep_ms(1);
	CHECK("notify function ran", thread_notified);
	CHECK_EQ("notify function's value", notify_value, 1234);
	CHECK("on another thread", notify_tid != syscall(SYS_gettid));
	CHECK_OK("timer_delete SIGEV_THREAD", timer_delete(t));
}

/* A fork child has none of its parent's timers, and can make its own;
 * execve deletes them. The child reports through its exit status. */
static void fork_and_exec(const char *self)
{
	int sig = SIGRTMIN + 6;
	block(sig);
	struct k_sigevent ev = {.notify = SIGEV_SIGNAL, .signo = sig};
	int id;
	CHECK_OK("create before fork", k_timer_create(CLOCK_MONOTONIC, &ev, &id));
	struct itimerspec s = spec(2000000, 2000000), cur;
	CHECK_OK("arm before fork", k_settime(id, 0, &s, NULL));
	pid_t pid = fork();
	if (pid == 0) {
		int status = 0;
		if (k_gettime(id, &cur) != -1 || errno != EINVAL)
			status |= 1;
		if (is_pending(sig))
			status |= 2;
		int mine;
		struct itimerspec once = spec(1000000, 0);
		siginfo_t si;
		if (k_timer_create(CLOCK_MONOTONIC, &ev, &mine) != 0 || k_settime(mine, 0, &once, NULL) != 0 ||
		    wait_for(sig, &si) != sig || si.si_timerid != mine)
			status |= 4;
		_exit(status);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	CHECK_EQ("fork child: no inherited timer, its own one fires", status, 0);
	CHECK_OK("parent's timer still there", k_gettime(id, &cur));
	CHECK_EQ("parent's timer still periodic", ns_of(cur.it_interval), 2000000);
	pid = fork();
	if (pid == 0) {
		char arg[16];
		snprintf(arg, sizeof arg, "%d", id);
		execl(self, self, "after-exec", arg, (char *)NULL);
		_exit(99);
	}
	status = -1;
	waitpid(pid, &status, 0);
	CHECK_EQ("execve deletes the timers", status, 0);
	CHECK_OK("delete before fork", k_delete(id));
	drain(sig);
	unblock(sig);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "after-exec") == 0) {
		/* Started by fork_and_exec in a child that had a timer: gone. */
		struct itimerspec cur;
		return k_gettime(atoi(argv[2]), &cur) == -1 && errno == EINVAL ? 0 : 1;
	}
	T_BEGIN();
	alarm(60);
	errors();
	periodic();
	overrun();
	thread_id();
	sigev_none();
	abstime();
	deleted();
	default_event();
	cpu_clocks();
	/* Before sigev_thread: no other thread may be running while it forks
	 * (the C library's notify thread may still be ending afterwards). */
	fork_and_exec("/proc/self/exe");
	sigev_thread();
	T_DONE();
}
