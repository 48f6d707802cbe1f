/* A handler with SA_ONSTACK runs on the sigaltstack, which reports SS_ONSTACK and cannot be
 * changed from there; siglongjmp leaves the handler; a stack overflow is caught on it. */
#include "../test.h"
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>

static char altbuf[64 * 1024];
static volatile int on_alt, reported_onstack, change_errno;
static sigjmp_buf env;

static void on_usr1(int sig)
{
	(void)sig;
	char local;
	uintptr_t p = (uintptr_t)&local;
	on_alt = p >= (uintptr_t)altbuf && p < (uintptr_t)altbuf + sizeof altbuf;
	stack_t cur;
	sigaltstack(NULL, &cur);
	reported_onstack = (cur.ss_flags & SS_ONSTACK) != 0;
	stack_t other = { .ss_sp = altbuf, .ss_size = sizeof altbuf, .ss_flags = 0 };
	errno = 0;
	if (sigaltstack(&other, NULL) == -1)
		change_errno = errno;
}

static void jump_out(int sig)
{
	(void)sig;
	siglongjmp(env, 7);
}

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static volatile int depth_reached;
static int recurse(int n)
{
	volatile char pad[4096];
	pad[0] = (char)n;
	depth_reached = n;
	return recurse(n + 1) + pad[0];
}

int main(void)
{
	T_BEGIN();
	stack_t ss = { .ss_sp = altbuf, .ss_size = sizeof altbuf, .ss_flags = 0 }, old;
	CHECK_OK("sigaltstack", sigaltstack(&ss, NULL));
	CHECK_OK("sigaltstack read back", sigaltstack(NULL, &old));
	CHECK("read back the same stack", old.ss_sp == altbuf && old.ss_size == sizeof altbuf);
	CHECK_EQ("not on it outside a handler", old.ss_flags, 0);
	stack_t tiny = { .ss_sp = altbuf, .ss_size = 16, .ss_flags = 0 };
	CHECK_ERR("too small -> ENOMEM", sigaltstack(&tiny, NULL), ENOMEM);
	stack_t bad = { .ss_sp = altbuf, .ss_size = sizeof altbuf, .ss_flags = 99 };
	CHECK_ERR("bad flags -> EINVAL", sigaltstack(&bad, NULL), EINVAL);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	CHECK_EQ("handler ran on the alternate stack", on_alt, 1);
	CHECK_EQ("SS_ONSTACK reported inside", reported_onstack, 1);
	CHECK_EQ("changing it there -> EPERM", change_errno, EPERM);

	sa.sa_flags = 0;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	CHECK_EQ("without SA_ONSTACK the normal stack", on_alt, 0);

	sa.sa_handler = jump_out;
	sigaction(SIGUSR2, &sa, NULL);
	int r = sigsetjmp(env, 1);
	if (r == 0) {
		raise(SIGUSR2);
		printf("FAIL siglongjmp did not leave the handler\n");
	}
	CHECK_EQ("siglongjmp out of a handler", r, 7);
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK("the handler's mask is undone", sigismember(&cur, SIGUSR2) == 0);

	/* Stack overflow: only an alternate stack can run the SIGSEGV handler. */
	sa.sa_handler = jump_out;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGSEGV, &sa, NULL);
	r = sigsetjmp(env, 1);
	if (r == 0)
		recurse(0);
	CHECK_EQ("stack overflow caught on the alternate stack", r, 7);
	CHECK("recursed deeply first", depth_reached > 100);
	T_DONE();
}
