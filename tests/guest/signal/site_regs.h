/* A syscall site the runtime rewrites, run with known registers: the
 * shape (`setnr; syscall` after nops, padding after the `syscall`), what
 * each call records, and the check that it kept the Linux syscall ABI.
 * Shared by the guest programs that interrupt such sites with signals. */
#ifndef SITE_REGS_H
#define SITE_REGS_H

#include "../test.h"
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

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

/* A signal storm over worker threads: `storm_run` starts `n` workers,
 * then a pest that sends each SIGUSR2 every 200 µs until they are all
 * done. A worker ends with `storm_worker_done`, which keeps it alive
 * until the pest has stopped (a signal sent to a thread that has ended
 * is undefined). */
#define STORM_MAX 8
static pthread_t storm_threads[STORM_MAX];
static int storm_n;
static volatile int storm_stop;
static volatile long storm_done;

static void storm_worker_done(void)
{
	__atomic_fetch_add(&storm_done, 1, __ATOMIC_SEQ_CST);
	struct timespec ts = { 0, 1000000 };
	for (int i = 0; i < 10000 && !storm_stop; i++)
		nanosleep(&ts, NULL);
}

static void *storm_pest(void *arg)
{
	(void)arg;
	struct timespec ts = { 0, 200000 };
	while (!storm_stop) {
		for (int i = 0; i < storm_n; i++)
			pthread_kill(storm_threads[i], SIGUSR2);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* Runs `worker` on n threads (its argument: the thread's index) under the
 * pest, at most 60 s; the sum of what the workers returned. */
static long storm_run(int n, void *(*worker)(void *))
{
	storm_n = n < STORM_MAX ? n : STORM_MAX;
	for (long i = 0; i < storm_n; i++)
		pthread_create(&storm_threads[i], NULL, worker, (void *)i);
	pthread_t p;
	pthread_create(&p, NULL, storm_pest, NULL);
	struct timespec wait = { 0, 1000000 };
	for (int i = 0; i < 60000 && __atomic_load_n(&storm_done, __ATOMIC_SEQ_CST) < storm_n; i++)
		nanosleep(&wait, NULL);
	storm_stop = 1;
	pthread_join(p, NULL);
	long bad = 0;
	for (int i = 0; i < storm_n; i++) {
		void *ret;
		pthread_join(storm_threads[i], &ret);
		bad += (long)ret;
	}
	return bad;
}

#endif
