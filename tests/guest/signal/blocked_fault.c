// expect: signal 11
/* A fault whose signal is blocked still kills (force_sig_fault), with SIGSEGV. */
#include "../test.h"
#include <signal.h>

static void handler(int sig) { (void)sig; printf("FAIL handler ran\n"); }

int main(void)
{
	T_BEGIN();
	signal(SIGSEGV, handler);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGSEGV);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ok about to fault\n");
	fflush(stdout);
	volatile int *p = (volatile int *)8;
	return *p;
}
