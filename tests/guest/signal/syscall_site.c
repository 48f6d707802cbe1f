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

struct site_regs {
	uint64_t in[12];   /* rbx rbp r8 r9 r10 r12 r13 r14 r15 rdi rsi rdx */
	uint64_t rax, rcx, r11, flags, redzone_ok;
	uint64_t out[12];  /* same order as `in` */
	uint64_t site_end; /* the address after the `syscall` */
	uint64_t xin[32];  /* xmm0..xmm15 before the call */
	uint64_t xout[32]; /* and after */
	uint64_t ah_after; /* SF ZF AF PF CF after the call, as `lahf` reads them */
};

_Static_assert(offsetof(struct site_regs, ah_after) == 752, "the site functions store ah_after at 752");

/* A site function: loads the registers from the struct (rdi), fills the red
 * zone, sets CF, runs `setnr; syscall` after nops (so that no instruction
 * before can be read as swallowing `setnr`), then checks the red zone and
 * stores every register back. The flags expected in r11 are recorded after
 * `setnr` (a `xor` changes them). A jump over alignment padding follows
 * the `syscall`, as compilers align a branch target. */
#define SITE_FN(name, setnr)                                                \
	__asm__(".text\n"                                                   \
		".globl " #name "\n"                                        \
		".type " #name ",@function\n"                              \
		#name ":\n"                                                 \
		"	push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n" \
		"	sub $264, %rsp\n"                                  \
		"	mov %rdi, 256(%rsp)\n"                             \
		"	stc\n"                                              \
		"	" setnr "\n"                                       \
		"	pushfq; pop %rax\n"                                \
		"	mov %rax, 120(%rdi)\n"                             \
		"	lea 1f(%rip), %rax\n"                              \
		"	mov %rax, 232(%rdi)\n"                             \
		"	mov $0x5a5a5a5a5a5a5a5a, %rax\n"                  \
		"	mov %rax, -8(%rsp); mov %rax, -16(%rsp); mov %rax, -24(%rsp); mov %rax, -32(%rsp)\n" \
		"	mov %rax, -40(%rsp); mov %rax, -48(%rsp); mov %rax, -56(%rsp); mov %rax, -64(%rsp)\n" \
		"	mov %rax, -72(%rsp); mov %rax, -80(%rsp); mov %rax, -88(%rsp); mov %rax, -96(%rsp)\n" \
		"	mov %rax, -104(%rsp); mov %rax, -112(%rsp); mov %rax, -120(%rsp); mov %rax, -128(%rsp)\n" \
"	movdqu 240(%rdi), %xmm0\n" \
		"	movdqu 256(%rdi), %xmm1\n" \
		"	movdqu 272(%rdi), %xmm2\n" \
		"	movdqu 288(%rdi), %xmm3\n" \
		"	movdqu 304(%rdi), %xmm4\n" \
		"	movdqu 320(%rdi), %xmm5\n" \
		"	movdqu 336(%rdi), %xmm6\n" \
		"	movdqu 352(%rdi), %xmm7\n" \
		"	movdqu 368(%rdi), %xmm8\n" \
		"	movdqu 384(%rdi), %xmm9\n" \
		"	movdqu 400(%rdi), %xmm10\n" \
		"	movdqu 416(%rdi), %xmm11\n" \
		"	movdqu 432(%rdi), %xmm12\n" \
		"	movdqu 448(%rdi), %xmm13\n" \
		"	movdqu 464(%rdi), %xmm14\n" \
		"	movdqu 480(%rdi), %xmm15\n" \
		"	mov 0(%rdi), %rbx; mov 8(%rdi), %rbp; mov 16(%rdi), %r8; mov 24(%rdi), %r9\n" \
		"	mov 32(%rdi), %r10; mov 40(%rdi), %r12; mov 48(%rdi), %r13; mov 56(%rdi), %r14\n" \
		"	mov 64(%rdi), %r15; mov 80(%rdi), %rsi; mov 88(%rdi), %rdx; mov 72(%rdi), %rdi\n" \
		"	stc\n"                                              \
		"	nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop\n" \
		"	" setnr "\n"                                       \
		"	syscall\n"                                          \
		"1:\n"                                                      \
		"	jmp 5f\n"                                          \
		"	.p2align 4\n"                                      \
		"	.skip 16, 0x90\n"                                  \
		"5:\n"                                                      \
		"	mov %rax, 0(%rsp); mov %rcx, 8(%rsp); mov %r11, 16(%rsp)\n" \
		"	lahf; movzbl %ah, %eax; mov %rax, 32(%rsp)\n"     \
		"	movq $1, 24(%rsp)\n"                               \
		"	mov $0x5a5a5a5a5a5a5a5a, %rax\n"                  \
		"	mov $-128, %rcx\n"                                 \
		"2:	cmp %rax, (%rsp,%rcx)\n"                            \
		"	je 3f\n"                                            \
		"	movq $0, 24(%rsp)\n"                               \
		"3:	add $8, %rcx\n"                                     \
		"	jnz 2b\n"                                           \
		"	mov 256(%rsp), %rax\n"                             \
		"	mov %rbx, 136(%rax); mov %rbp, 144(%rax); mov %r8, 152(%rax); mov %r9, 160(%rax)\n" \
		"	mov %r10, 168(%rax); mov %r12, 176(%rax); mov %r13, 184(%rax); mov %r14, 192(%rax)\n" \
		"	mov %r15, 200(%rax); mov %rdi, 208(%rax); mov %rsi, 216(%rax); mov %rdx, 224(%rax)\n" \
"	movdqu %xmm0, 496(%rax)\n" \
		"	movdqu %xmm1, 512(%rax)\n" \
		"	movdqu %xmm2, 528(%rax)\n" \
		"	movdqu %xmm3, 544(%rax)\n" \
		"	movdqu %xmm4, 560(%rax)\n" \
		"	movdqu %xmm5, 576(%rax)\n" \
		"	movdqu %xmm6, 592(%rax)\n" \
		"	movdqu %xmm7, 608(%rax)\n" \
		"	movdqu %xmm8, 624(%rax)\n" \
		"	movdqu %xmm9, 640(%rax)\n" \
		"	movdqu %xmm10, 656(%rax)\n" \
		"	movdqu %xmm11, 672(%rax)\n" \
		"	movdqu %xmm12, 688(%rax)\n" \
		"	movdqu %xmm13, 704(%rax)\n" \
		"	movdqu %xmm14, 720(%rax)\n" \
		"	movdqu %xmm15, 736(%rax)\n" \
		"	mov 0(%rsp), %rcx; mov %rcx, 96(%rax)\n"           \
		"	mov 8(%rsp), %rcx; mov %rcx, 104(%rax)\n"          \
		"	mov 16(%rsp), %rcx; mov %rcx, 112(%rax)\n"         \
		"	mov 24(%rsp), %rcx; mov %rcx, 128(%rax)\n"         \
		"	mov 32(%rsp), %rcx; mov %rcx, 752(%rax)\n"         \
		"	add $264, %rsp\n"                                  \
		"	pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n" \
		"	ret\n"                                              \
		".size " #name ", . - " #name "\n");                       \
	void name(struct site_regs *r);

SITE_FN(site_getpid, "mov $39, %eax")
/* read as glibc's wrapper has it: `xor %eax,%eax; syscall` (a two-byte
 * instruction before the `syscall`), followed by padding after the `ret`. */
SITE_FN(site_read, "xor %eax, %eax")
/* A site only the workers run, all starting together: its second trap is
 * rewritten while the other threads run it. */
SITE_FN(site_getpid_workers, "mov $39, %eax")

/* Whether a call kept the ABI; the first problem is kept for the report. */
static int abi_kept(const struct site_regs *r, const char **why)
{
	static const char *names[12] = { "rbx", "rbp", "r8", "r9", "r10", "r12", "r13", "r14", "r15", "rdi", "rsi", "rdx" };
	for (int i = 0; i < 12; i++)
		if (r->out[i] != r->in[i]) {
			*why = names[i];
			return 0;
		}
	if (r->rcx != r->site_end) {
		*why = "rcx";
		return 0;
	}
	if (r->r11 != r->flags) {
		*why = "r11";
		return 0;
	}
	/* The flags themselves are as they were at the call (sysret takes
	 * them from r11): the low byte, which `stc` or the `xor` set. */
	if (r->ah_after != (r->flags & 0xff)) {
		*why = "flags";
		return 0;
	}
	if (memcmp(r->xin, r->xout, sizeof r->xin) != 0) {
		*why = "xmm";
		return 0;
	}
	if (!r->redzone_ok) {
		*why = "red zone";
		return 0;
	}
	return 1;
}

static void fill(struct site_regs *r, uint64_t seed)
{
	memset(r, 0, sizeof *r);
	for (int i = 0; i < 12; i++)
		r->in[i] = 0x1111111111111111ull * (uint64_t)(i + 1) ^ seed;
	for (int i = 0; i < 32; i++)
		r->xin[i] = 0x0101010101010101ull * (uint64_t)(i + 7) ^ seed;
}

#define WORKERS 4
#define CALLS 3000

static volatile int stop_pest;
static volatile long usr2_seen;
static pid_t pid;
static pthread_t workers[WORKERS];

static void on_usr2(int sig) { (void)sig; __atomic_fetch_add(&usr2_seen, 1, __ATOMIC_RELAXED); }

/* Workers stay alive until the pest has stopped: a signal sent to a
 * thread that has ended is undefined. */
static volatile int workers_done;
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
	__atomic_fetch_add(&workers_done, 1, __ATOMIC_SEQ_CST);
	struct timespec ts = { 0, 1000000 };
	for (int i = 0; i < 10000 && !stop_pest; i++)
		nanosleep(&ts, NULL);
	return (void *)bad;
}

static void *pest(void *arg)
{
	(void)arg;
	struct timespec ts = { 0, 200000 };
	while (!stop_pest) {
		for (int i = 0; i < WORKERS; i++)
			pthread_kill(workers[i], SIGUSR2);
		nanosleep(&ts, NULL);
	}
	return NULL;
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
	for (long i = 0; i < WORKERS; i++)
		pthread_create(&workers[i], NULL, worker, (void *)i);
	pthread_t p;
	pthread_create(&p, NULL, pest, NULL);
	struct timespec wait = { 0, 1000000 };
	for (int i = 0; i < 60000 && __atomic_load_n(&workers_done, __ATOMIC_SEQ_CST) < WORKERS; i++)
		nanosleep(&wait, NULL);
	stop_pest = 1;
	pthread_join(p, NULL);
	long bad = 0;
	for (int i = 0; i < WORKERS; i++) {
		void *ret;
		pthread_join(workers[i], &ret);
		bad += (long)ret;
	}
	CHECK_EQ("threads: every call returned the pid and kept the ABI", bad, 0L);

	CHECK_OK("pipe", pipe(pipefd));
	reader = pthread_self();
	CHECK_EQ("SA_RESTART: reads restarted, handler saw the syscall", interrupted_reads(1, 5), 5);
	CHECK_EQ("no SA_RESTART: reads failed with EINTR, handler saw the site", interrupted_reads(0, 5), 5);
	T_DONE();
}
