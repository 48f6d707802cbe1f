// build: -pthread
/* Memory calls (mmap, mprotect, munmap, brk) made from rewritten sites
 * while a pest interrupts the threads making them with SIGUSR2: every call
 * returns its own result and keeps the syscall ABI (registers, xmm, rcx,
 * r11, flags, red zone), the memory behaves as the calls said (a fresh
 * mapping reads zero and keeps what is written; after mprotect PROT_READ a
 * write faults), and every signal sent runs its handler. */
#include "site_regs.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

/* mmap = 9, mprotect = 10, munmap = 11, brk = 12. */
SITE_FN(site_mmap, "mov $9, %eax")
SITE_FN(site_mprotect, "mov $10, %eax")
SITE_FN(site_munmap, "mov $11, %eax")
SITE_FN(site_brk, "mov $12, %eax")

#define WORKERS 3
#define CALLS 2000
#define LEN (64 * 1024)

static volatile long usr2_handled;

static void on_usr2(int sig)
{
	(void)sig;
	__atomic_fetch_add(&usr2_handled, 1, __ATOMIC_RELAXED);
}

static __thread sigjmp_buf fault_jump;
static __thread volatile int expect_fault;

static void on_segv(int sig)
{
	(void)sig;
	if (expect_fault)
		siglongjmp(fault_jump, 1);
	_exit(99);
}

/* Whether a write to `p` faults (the handler jumps back). */
static int write_faults(volatile char *p)
{
	if (sigsetjmp(fault_jump, 1)) {
		expect_fault = 0;
		return 1;
	}
	expect_fault = 1;
	*p = 1;
	expect_fault = 0;
	return 0;
}

static void *worker(void *arg)
{
	long id = (long)arg, bad = 0;
	const char *why = "";
	for (long i = 0; i < CALLS; i++) {
		struct site_regs r;
		/* mmap(NULL, LEN, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0):
		 * rdi, rsi, rdx, r10, r8, r9. */
		fill(&r, (uint64_t)(id << 32 | i));
		r.in[9] = 0;
		r.in[10] = LEN;
		r.in[11] = PROT_READ | PROT_WRITE;
		r.in[4] = MAP_PRIVATE | MAP_ANONYMOUS;
		r.in[2] = (uint64_t)-1;
		r.in[3] = 0;
		site_mmap(&r);
		char *p = (char *)r.rax;
		if ((long)r.rax < 0 || (r.rax & 4095) != 0 || !abi_kept(&r, &why)) {
			if (!bad)
				fprintf(stderr, "worker %ld mmap %ld: %s (rax %ld)\n", id, i, why, (long)r.rax);
			bad++;
			continue;
		}
		if (p[0] != 0 || p[LEN - 1] != 0)
			bad++;
		p[LEN / 2] = (char)i;
		if (p[LEN / 2] != (char)i)
			bad++;

		fill(&r, (uint64_t)(id << 40 | i));
		r.in[9] = (uint64_t)(uintptr_t)p;
		r.in[10] = LEN;
		r.in[11] = PROT_READ;
		site_mprotect(&r);
		if (r.rax != 0 || !abi_kept(&r, &why)) {
			if (!bad)
				fprintf(stderr, "worker %ld mprotect %ld: %s (rax %ld)\n", id, i, why, (long)r.rax);
			bad++;
		}
		if (i % 100 == 0 && !write_faults(p + LEN / 2))
			bad++;
		if (p[LEN / 2] != (char)i)
			bad++;

		fill(&r, (uint64_t)(id << 48 | i));
		r.in[9] = (uint64_t)(uintptr_t)p;
		r.in[10] = LEN;
		site_munmap(&r);
		if (r.rax != 0 || !abi_kept(&r, &why)) {
			if (!bad)
				fprintf(stderr, "worker %ld munmap %ld: %s (rax %ld)\n", id, i, why, (long)r.rax);
			bad++;
		}

		/* brk(0) asks where the break is: the same answer every time
		 * (no thread here moves it). */
		fill(&r, (uint64_t)(id << 56 | i));
		r.in[9] = 0;
		site_brk(&r);
		static uint64_t first_break;
		uint64_t seen = __atomic_load_n(&first_break, __ATOMIC_RELAXED);
		if (seen == 0)
			__atomic_compare_exchange_n(&first_break, &seen, r.rax, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		seen = __atomic_load_n(&first_break, __ATOMIC_RELAXED);
		if (r.rax == 0 || r.rax != seen || !abi_kept(&r, &why)) {
			if (!bad)
				fprintf(stderr, "worker %ld brk %ld: %s (rax %lx)\n", id, i, why, (unsigned long)r.rax);
			bad++;
		}
	}
	storm_worker_done();
	return (void *)bad;
}

int main(void)
{
	T_BEGIN();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_segv;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);

	/* Enough calls first for a runtime that rewrites a site only once
	 * the process has made many. */
	for (int i = 0; i < 1000; i++)
		syscall(SYS_getppid);

	long bad = storm_run(WORKERS, worker);
	CHECK_EQ("under a signal storm, every memory call returned its result and kept the ABI", bad, 0L);
	CHECK("the storm's signals ran their handler", usr2_handled > 0);
	T_DONE();
}
