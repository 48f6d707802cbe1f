/* A handler that clobbers SSE registers does not change them for the interrupted code; the
 * handler's ucontext carries the interrupted xmm values; syscalls leave xmm registers alone. */
#include "../test.h"
#include <signal.h>
#include <stdint.h>
#include <ucontext.h>

static volatile uint32_t seen_xmm9_lane0;
static volatile double fsum;

static void clobber(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	if (uc->uc_mcontext.fpregs)
		seen_xmm9_lane0 = uc->uc_mcontext.fpregs->_xmm[9].element[0];
	__asm__ volatile("pcmpeqd %%xmm9, %%xmm9\n\tpxor %%xmm10, %%xmm10\n\tpcmpeqd %%xmm0, %%xmm0" ::: "xmm0", "xmm9", "xmm10");
	for (int i = 1; i < 50; i++)
		fsum += 1.0 / i;
}

int main(void)
{
	T_BEGIN();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = clobber;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);

	uint32_t in9[4] = { 0x11111111, 0x22222222, 0x33333333, 0x44444444 };
	uint32_t in10[4] = { 0xdeadbeef, 0xcafef00d, 0x01234567, 0x89abcdef };
	uint32_t out9[4], out10[4];
	long pid = getpid();
	/* kill(getpid(), SIGUSR1) issued directly, so the compiler keeps nothing in xmm across it. */
	__asm__ volatile("movdqu %[a], %%xmm9\n\t"
			 "movdqu %[b], %%xmm10\n\t"
			 "mov $62, %%eax\n\t"
			 "mov %[pid], %%rdi\n\t"
			 "mov $10, %%esi\n\t"
			 "syscall\n\t"
			 "movdqu %%xmm9, %[c]\n\t"
			 "movdqu %%xmm10, %[d]"
			 : [c] "=m"(out9), [d] "=m"(out10)
			 : [a] "m"(in9), [b] "m"(in10), [pid] "r"(pid)
			 : "rax", "rdi", "rsi", "rcx", "r11", "xmm9", "xmm10", "memory");
	CHECK("handler saw the interrupted xmm9", seen_xmm9_lane0 == 0x11111111);
	CHECK_MEM("xmm9 survives the handler", out9, in9, sizeof in9);
	CHECK_MEM("xmm10 survives the handler", out10, in10, sizeof in10);

	/* A plain syscall (getppid) leaves every xmm register as it was. */
	uint32_t o[4];
	__asm__ volatile("movdqu %[a], %%xmm15\n\t"
			 "mov $110, %%eax\n\t"
			 "syscall\n\t"
			 "movdqu %%xmm15, %[c]"
			 : [c] "=m"(o)
			 : [a] "m"(in10)
			 : "rax", "rcx", "r11", "xmm15", "memory");
	CHECK_MEM("xmm15 survives a syscall", o, in10, sizeof in10);

	/* Floating point state (rounding mode) is per context too. */
	volatile double x = 1.0, y = 3.0;
	double before = x / y;
	raise(SIGUSR1);
	CHECK("arithmetic unchanged after a handler", x / y == before);
	T_DONE();
}
