/* rt_sigaction/rt_sigprocmask bookkeeping: handlers and masks read back as set; errors. */
#include "../test.h"
#include <signal.h>

static void handler(int sig) { (void)sig; }

int main(void)
{
	T_BEGIN();
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	CHECK_OK("sigaction SIGUSR1", sigaction(SIGUSR1, &sa, NULL));
	memset(&old, 0, sizeof old);
	CHECK_OK("sigaction read back", sigaction(SIGUSR1, NULL, &old));
	CHECK("handler read back", old.sa_handler == handler);
	CHECK("SA_RESTART read back", (old.sa_flags & SA_RESTART) != 0);
	CHECK("mask read back", sigismember(&old.sa_mask, SIGUSR2) == 1);
	CHECK("mask has nothing else", sigismember(&old.sa_mask, SIGINT) == 0);
	sa.sa_handler = SIG_IGN;
	CHECK_OK("sigaction returns the old action", sigaction(SIGUSR1, &sa, &old));
	CHECK("old action was the handler", old.sa_handler == handler);
	sigaction(SIGUSR1, NULL, &old);
	CHECK("SIG_IGN read back", old.sa_handler == SIG_IGN);
	sigaction(SIGTERM, NULL, &old);
	CHECK("SIGTERM default is SIG_DFL", old.sa_handler == SIG_DFL);

	sa.sa_handler = handler;
	CHECK_ERR("sigaction SIGKILL -> EINVAL", sigaction(SIGKILL, &sa, NULL), EINVAL);
	CHECK_ERR("sigaction SIGSTOP -> EINVAL", sigaction(SIGSTOP, &sa, NULL), EINVAL);
	CHECK_OK("sigaction SIGKILL read-only query", sigaction(SIGKILL, NULL, &old));
	CHECK_ERR("sigaction signal 0 -> EINVAL", syscall(SYS_rt_sigaction, 0, NULL, &old, 8), EINVAL);
	CHECK_ERR("sigaction signal 65 -> EINVAL", syscall(SYS_rt_sigaction, 65, NULL, &old, 8), EINVAL);
	CHECK_ERR("rt_sigaction sigsetsize 4 -> EINVAL", syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 4), EINVAL);

	sigset_t set, cur;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	CHECK_OK("sigprocmask SIG_BLOCK SIGUSR2", sigprocmask(SIG_BLOCK, &set, NULL));
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK("SIGUSR2 blocked", sigismember(&cur, SIGUSR2) == 1);
	CHECK("SIGUSR1 not blocked", sigismember(&cur, SIGUSR1) == 0);
	sigemptyset(&set);
	sigaddset(&set, SIGKILL);
	sigaddset(&set, SIGSTOP);
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 8);
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &cur, 8);
	CHECK("SIGKILL cannot be blocked", sigismember(&cur, SIGKILL) == 0);
	CHECK("SIGSTOP cannot be blocked", sigismember(&cur, SIGSTOP) == 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	CHECK_OK("sigprocmask SIG_UNBLOCK", sigprocmask(SIG_UNBLOCK, &set, NULL));
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK("SIGUSR2 unblocked", sigismember(&cur, SIGUSR2) == 0);
	sigaddset(&set, SIGINT);
	CHECK_OK("sigprocmask SIG_SETMASK", sigprocmask(SIG_SETMASK, &set, NULL));
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK("SIG_SETMASK sets SIGINT", sigismember(&cur, SIGINT) == 1);
	CHECK_ERR("rt_sigprocmask bad how -> EINVAL", syscall(SYS_rt_sigprocmask, 42, &set, NULL, 8), EINVAL);
	CHECK_ERR("rt_sigprocmask sigsetsize 4 -> EINVAL", syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 4), EINVAL);

	/* A blocked signal raised stays pending and shows in sigpending. */
	raise(SIGINT);
	sigset_t pend;
	sigpending(&pend);
	CHECK("blocked SIGINT is pending", sigismember(&pend, SIGINT) == 1);
	signal(SIGINT, SIG_IGN);
	sigpending(&pend);
	CHECK("ignoring discards the pending signal", sigismember(&pend, SIGINT) == 0);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	T_DONE();
}
