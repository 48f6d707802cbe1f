// build: -pthread
/* One `mov $nr,%eax; syscall` site run many times (the shape the runtime
 * rewrites into a direct entry after its second trap), from several threads
 * that start on it together (so that it is rewritten while they run it)
 * while another thread keeps interrupting them with a signal, and a
 * blocking read on a `xor %eax,%eax; syscall` site (glibc's read)
 * interrupted by a handler with and without SA_RESTART. Each call checks the Linux syscall ABI: every register but
 * rax, rcx and r11 kept (xmm0-15 too), rcx = the address after the `syscall`, r11 = the
 * flags at the call and the flags as they were, the 128-byte red zone under %rsp untouched; the
 * handler sees the thread at the site (after the `syscall`, or on it when
 * the call is to be restarted). */
#include "../test.h"
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>

#include "site_regs.h"

SITE_FN(site_getpid, "mov $39, %eax")
/* read as glibc's wrapper has it: `xor %eax,%eax; syscall` (a two-byte
 * instruction before the `syscall`), followed by padding after the `ret`. */
SITE_FN(site_read, "xor %eax, %eax")
/* A site only the workers run, all starting together: its second trap is
 * rewritten while the other threads run it. */
SITE_FN(site_getpid_workers, "mov $39, %eax")

#define WORKERS 4
#define CALLS 3000

static volatile long usr2_seen;
static pid_t pid;

static void on_usr2(int sig) { (void)sig; __atomic_fetch_add(&usr2_seen, 1, __ATOMIC_RELAXED); }

static pthread_barrier_t start;

static void *worker(void *arg)
{
	long id = (long)arg, bad = 0;
	const char *why = "";
	pthread_barrier_wait(&start);
	for (long i = 0; i < CALLS; i++) {
		struct site_regs r;
		fill(&r, (uint64_t)(id << 32 | i));
		site_getpid_workers(&r);
		if ((long)r.rax != pid || !abi_kept(&r, &why)) {
			if (!bad)
				fprintf(stderr, "worker %ld call %ld: %s (rax %ld)\n", id, i, why, (long)r.rax);
			bad++;
		}
	}
	storm_worker_done();
	return (void *)bad;
}

/* The blocking read: a helper interrupts it, then supplies a byte. */
static int pipefd[2];
static pthread_t reader;
static volatile uint64_t handler_rip;

static void on_usr1(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	handler_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
}

static void *interrupter(void *arg)
{
	(void)arg;
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	pthread_kill(reader, SIGUSR1);
	nanosleep(&ts, NULL);
	if (write(pipefd[1], "x", 1) != 1)
		return (void *)1;
	return NULL;
}

static char byte;

/* Rounds of a read interrupted by SIGUSR1; returns the number of rounds
 * whose result, handler context and registers were as Linux has them. */
static int interrupted_reads(int restart, int rounds)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | (restart ? SA_RESTART : 0);
	sigaction(SIGUSR1, &sa, NULL);
	int good = 0;
	for (int i = 0; i < rounds; i++) {
		pthread_t t;
		struct site_regs r;
		fill(&r, 0xabc0000ull + (uint64_t)i);
		r.in[9] = (uint64_t)pipefd[0];
		r.in[10] = (uint64_t)(uintptr_t)&byte;
		r.in[11] = 1;
		handler_rip = 0;
		pthread_create(&t, NULL, interrupter, NULL);
		site_read(&r);
		pthread_join(t, NULL);
		const char *why = "";
		long want = restart ? 1 : -EINTR;
		uint64_t want_rip = restart ? r.site_end - 2 : r.site_end;
		if ((long)r.rax == want && abi_kept(&r, &why) && handler_rip == want_rip)
			good++;
		else
			fprintf(stderr, "read round %d (restart %d): rax %ld, %s, handler rip %s\n", i, restart, (long)r.rax, why,
				handler_rip == want_rip ? "right" : "wrong");
		if (!restart && read(pipefd[0], &byte, 1) != 1)
			fprintf(stderr, "drain failed\n");
	}
	return good;
}

int main(void)
{
	T_BEGIN();
	pid = getpid();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);

	/* Enough calls from elsewhere first for a runtime that rewrites only
	 * once a process has made many syscalls. */
	for (int i = 0; i < 1000; i++)
		syscall(SYS_getppid);
	struct site_regs r;
	fill(&r, 1);
	site_getpid(&r);
	const char *why = "";
	CHECK_EQ("first call returns the pid", (long)r.rax, (long)pid);
	CHECK("first call keeps the syscall ABI", abi_kept(&r, &why));
	fill(&r, 2);
	site_getpid(&r);
	CHECK_EQ("second call returns the pid", (long)r.rax, (long)pid);
	CHECK("second call keeps the syscall ABI", abi_kept(&r, &why));
	fill(&r, 3);
	site_getpid(&r);
	CHECK_EQ("third call returns the pid", (long)r.rax, (long)pid);
	CHECK("third call keeps the syscall ABI", abi_kept(&r, &why));

	pthread_barrier_init(&start, NULL, WORKERS);
	long bad = storm_run(WORKERS, worker);
	CHECK_EQ("threads: every call returned the pid and kept the ABI", bad, 0L);

	CHECK_OK("pipe", pipe(pipefd));
	reader = pthread_self();
	CHECK_EQ("SA_RESTART: reads restarted, handler saw the syscall", interrupted_reads(1, 5), 5);
	CHECK_EQ("no SA_RESTART: reads failed with EINTR, handler saw the site", interrupted_reads(0, 5), 5);
	T_DONE();
}
