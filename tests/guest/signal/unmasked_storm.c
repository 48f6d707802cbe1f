// build: -pthread
/* Calls that may sleep (fcntl, write) made from rewritten sites while
 * signals keep arriving, and signals that arrive just as such a call
 * returns.
 *
 * Workers run an fcntl(F_GETFD) site and a 1-byte write to a pipe while a
 * pest interrupts them with SIGUSR2: every call returns its own result and
 * keeps the syscall ABI (registers, xmm, rcx, r11, flags, red zone).
 *
 * Then one thread alternates fcntl calls with spinning in user space, no
 * call at all, while it owes a handler run: the main thread sends it
 * SIGUSR1 and waits until the handler has run before it sends the next.
 * Linux runs the handler at once, wherever the thread was when the signal
 * came (in the call, on its way back, or spinning); a signal taken on the
 * way back and left for the next call would leave the spinning thread
 * owing it for good (bounded here by a 5-second spin). */
#include "site_regs.h"

#include <pthread.h>
#include <signal.h>

/* fcntl = 72, write = 1: both marked to run with signals open. */
SITE_FN(site_fcntl, "mov $72, %eax")
SITE_FN(site_write, "mov $1, %eax")

#define WORKERS 3
#define CALLS 3000
#define ROUNDS 10000

static int pipefd[2];
static volatile int stop_drain;
static pthread_barrier_t start;

static void on_usr2(int sig) { (void)sig; }

static void *drain(void *arg)
{
	(void)arg;
	char buf[4096];
	while (!stop_drain)
		if (read(pipefd[0], buf, sizeof buf) <= 0)
			break;
	return NULL;
}

static void *worker(void *arg)
{
	long id = (long)arg, bad = 0;
	const char *why = "";
	static const char byte = 'x';
	pthread_barrier_wait(&start);
	for (long i = 0; i < CALLS; i++) {
		struct site_regs r;
		fill(&r, (uint64_t)(id << 32 | i));
		r.in[9] = (uint64_t)pipefd[0];
		r.in[10] = F_GETFD;
		r.in[11] = 0;
		site_fcntl(&r);
		if ((long)r.rax != FD_CLOEXEC || !abi_kept(&r, &why)) {
			if (!bad)
				fprintf(stderr, "worker %ld fcntl %ld: %s (rax %ld)\n", id, i, why, (long)r.rax);
			bad++;
		}
		fill(&r, (uint64_t)(id << 40 | i));
		r.in[9] = (uint64_t)pipefd[1];
		r.in[10] = (uint64_t)(uintptr_t)&byte;
		r.in[11] = 1;
		site_write(&r);
		if ((long)r.rax != 1 || !abi_kept(&r, &why)) {
			if (!bad)
				fprintf(stderr, "worker %ld write %ld: %s (rax %ld)\n", id, i, why, (long)r.rax);
			bad++;
		}
	}
	storm_worker_done();
	return (void *)bad;
}

/* The second part: signals sent, handlers run, and rounds where the
 * spinning thread waited in vain. */
static volatile long sent, handled, stranded, calls_bad;
static volatile int stop_spinner;

static void on_usr1(int sig) { (void)sig; __atomic_fetch_add(&handled, 1, __ATOMIC_SEQ_CST); }

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *spinner(void *arg)
{
	(void)arg;
	const char *why = "";
	for (long i = 0; !stop_spinner; i++) {
		struct site_regs r;
		fill(&r, (uint64_t)i);
		r.in[9] = (uint64_t)pipefd[0];
		r.in[10] = F_GETFD;
		r.in[11] = 0;
		site_fcntl(&r);
		if ((long)r.rax != FD_CLOEXEC || !abi_kept(&r, &why))
			calls_bad++;
		/* Owed a handler: wait for it without a call. The clock is
		 * read through the vDSO, which is no call either. */
		if (__atomic_load_n(&handled, __ATOMIC_SEQ_CST) < __atomic_load_n(&sent, __ATOMIC_SEQ_CST)) {
			double until = now() + 5;
			while (__atomic_load_n(&handled, __ATOMIC_SEQ_CST) < __atomic_load_n(&sent, __ATOMIC_SEQ_CST) && now() < until)
				;
			if (__atomic_load_n(&handled, __ATOMIC_SEQ_CST) < __atomic_load_n(&sent, __ATOMIC_SEQ_CST)) {
				stranded++;
				return NULL;
			}
		}
	}
	return NULL;
}

int main(void)
{
	T_BEGIN();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	CHECK_OK("pipe2", pipe2(pipefd, O_CLOEXEC));

	/* Enough calls first for a runtime that rewrites a site only once
	 * the process has made many. */
	for (int i = 0; i < 1000; i++)
		syscall(SYS_getppid);

	pthread_t d;
	pthread_create(&d, NULL, drain, NULL);
	pthread_barrier_init(&start, NULL, WORKERS);
	long bad = storm_run(WORKERS, worker);
	CHECK_EQ("under a signal storm, every call returned its result and kept the ABI", bad, 0L);

	pthread_t s;
	pthread_create(&s, NULL, spinner, NULL);
	unsigned seed = 1;
	for (int i = 0; i < ROUNDS && !stranded; i++) {
		/* Counted once sent: the spinner waits only for a signal that
		 * is on its way, not for a sender that has not run yet. */
		pthread_kill(s, SIGUSR1);
		__atomic_fetch_add(&sent, 1, __ATOMIC_SEQ_CST);
		/* The next one only after this one ran: two could merge. */
		double until = now() + 10;
		while (__atomic_load_n(&handled, __ATOMIC_SEQ_CST) < __atomic_load_n(&sent, __ATOMIC_SEQ_CST) && now() < until && !stranded) {
			struct timespec ts = { 0, 20000 };
			nanosleep(&ts, NULL);
		}
		seed = seed * 1103515245 + 12345;
		struct timespec gap = { 0, (long)(seed >> 16) % 20000 };
		nanosleep(&gap, NULL);
	}
	stop_spinner = 1;
	pthread_join(s, NULL);
	CHECK_EQ("no signal was left for a later call", (long)stranded, 0L);
	CHECK_EQ("every signal sent ran its handler", (long)handled, (long)sent);
	CHECK_EQ("the spinning thread's calls returned their result and kept the ABI", (long)calls_bad, 0L);
	stop_drain = 1;
	close(pipefd[1]);
	pthread_join(d, NULL);
	T_DONE();
}
