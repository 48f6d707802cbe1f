/* A SIGSEGV handler sees si_signo/si_code/si_addr of a NULL read and can escape with siglongjmp;
 * raise() and kill() of self run a SIGUSR1 handler synchronously. */
#include "../test.h"
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>

static sigjmp_buf env;
static volatile int seen_signo, seen_code;
static volatile uintptr_t seen_addr;
static volatile int usr1_count;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	seen_signo = sig;
	seen_code = si->si_code;
	seen_addr = (uintptr_t)si->si_addr;
	siglongjmp(env, 1);
}

static void on_usr1(int sig) { usr1_count += sig == SIGUSR1; }

int main(void)
{
	T_BEGIN();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(env, 1) == 0) {
		volatile int *p = (volatile int *)16;
		(void)*p;
		printf("FAIL no fault\n");
	}
	CHECK_EQ("handler got SIGSEGV", seen_signo, SIGSEGV);
	CHECK_EQ("si_code SEGV_MAPERR", seen_code, SEGV_MAPERR);
	CHECK_EQ("si_addr is the faulting address", seen_addr, 16);
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK("siglongjmp restored the mask", sigismember(&cur, SIGSEGV) == 0);

	signal(SIGUSR1, on_usr1);
	CHECK_OK("raise SIGUSR1", raise(SIGUSR1));
	CHECK_EQ("handler ran once", usr1_count, 1);
	CHECK_OK("kill self SIGUSR1", kill(getpid(), SIGUSR1));
	CHECK_EQ("handler ran twice", usr1_count, 2);
	CHECK_OK("kill signal 0 probes", kill(getpid(), 0));
	CHECK_ERR("kill bad signal -> EINVAL", kill(getpid(), 99), EINVAL);
	T_DONE();
}
