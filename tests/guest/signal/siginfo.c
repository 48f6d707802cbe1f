/* SA_SIGINFO handlers see si_signo/si_code/si_pid/si_value; blocked signals stay pending
 * until unblocked; SA_RESETHAND, SA_NODEFER, sigsuspend, sigtimedwait and the saved mask. */
#include "../test.h"
#include <signal.h>
#include <time.h>

static volatile int got_signo, got_code, got_pid, got_value, calls, depth, max_depth, mask_had_usr2;

static void on_info(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	got_signo = sig;
	got_code = si->si_code;
	got_pid = si->si_pid;
	got_value = si->si_value.sival_int;
	mask_had_usr2 = sigismember(&uc->uc_sigmask, SIGUSR2);
	calls++;
}

static volatile int total;
static void on_nodefer(int sig)
{
	depth++;
	total++;
	if (depth > max_depth)
		max_depth = depth;
	if (total < 3)
		raise(sig);
	depth--;
}

int main(void)
{
	T_BEGIN();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_info;
	sa.sa_flags = SA_SIGINFO;
	CHECK_OK("sigaction SIGUSR1", sigaction(SIGUSR1, &sa, NULL));

	CHECK_OK("kill self", kill(getpid(), SIGUSR1));
	CHECK_EQ("si_signo", got_signo, SIGUSR1);
	CHECK_EQ("si_code SI_USER from kill", got_code, SI_USER);
	CHECK("si_pid is the sender", got_pid == getpid());
	CHECK_OK("raise", raise(SIGUSR1));
	CHECK_EQ("si_code SI_TKILL from raise", got_code, SI_TKILL);

	union sigval v = { .sival_int = 1234 };
	CHECK_OK("sigqueue self", sigqueue(getpid(), SIGUSR1, v));
	CHECK_EQ("si_code SI_QUEUE", got_code, SI_QUEUE);
	CHECK_EQ("si_value carried", got_value, 1234);

	/* Blocked: pending until unblocked, then delivered once with the old mask in uc. */
	sigset_t set, old, pend;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, &old);
	calls = 0;
	raise(SIGUSR1);
	raise(SIGUSR1);
	CHECK_EQ("blocked signal does not run", calls, 0);
	sigpending(&pend);
	CHECK("blocked signal is pending", sigismember(&pend, SIGUSR1) == 1);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	CHECK_EQ("unblocking delivers a standard signal once", calls, 1);
	CHECK_EQ("uc_sigmask holds the mask before delivery", mask_had_usr2, 1);
	sigprocmask(SIG_SETMASK, &old, NULL);

	/* Real-time signals queue every instance. */
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	sigaction(SIGRTMIN + 1, &sa, NULL);
	sigprocmask(SIG_BLOCK, &set, NULL);
	calls = 0;
	raise(SIGRTMIN + 1);
	raise(SIGRTMIN + 1);
	raise(SIGRTMIN + 1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	CHECK_EQ("real-time signal queued three times", calls, 3);

	/* sigtimedwait takes a blocked pending signal without running its handler. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaction(SIGUSR2, &sa, NULL);
	sigprocmask(SIG_BLOCK, &set, NULL);
	calls = 0;
	raise(SIGUSR2);
	siginfo_t si;
	struct timespec ts = { 1, 0 };
	CHECK_EQ("sigtimedwait returns the signal", sigtimedwait(&set, &si, &ts), SIGUSR2);
	CHECK_EQ("sigtimedwait siginfo si_signo", si.si_signo, SIGUSR2);
	CHECK("sigtimedwait siginfo si_code says a process sent it", si.si_code <= 0);
	CHECK_EQ("handler did not run", calls, 0);
	ts.tv_sec = 0;
	ts.tv_nsec = 20 * 1000 * 1000;
	CHECK_ERR("sigtimedwait times out", sigtimedwait(&set, &si, &ts), EAGAIN);

	/* sigsuspend: the handler runs with the temporary mask, the old mask comes back. */
	raise(SIGUSR2);
	sigset_t none;
	sigemptyset(&none);
	CHECK_ERR("sigsuspend returns EINTR", sigsuspend(&none), EINTR);
	CHECK_EQ("sigsuspend ran the handler", calls, 1);
	sigprocmask(SIG_BLOCK, NULL, &old);
	CHECK("sigsuspend restored the mask", sigismember(&old, SIGUSR2) == 1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);

	/* SA_RESETHAND: the second signal gets the default action back. */
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigaction(SIGURG, &sa, NULL);
	calls = 0;
	raise(SIGURG);
	struct sigaction now;
	sigaction(SIGURG, NULL, &now);
	CHECK_EQ("SA_RESETHAND ran once", calls, 1);
	CHECK("SA_RESETHAND restored SIG_DFL", now.sa_handler == SIG_DFL);

	/* SA_NODEFER: the handler can be re-entered by its own signal. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_nodefer;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	CHECK_EQ("SA_NODEFER nests", max_depth, 3);
	sa.sa_flags = 0;
	max_depth = depth = total = 0;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	CHECK_EQ("without SA_NODEFER the signal waits", max_depth, 1);
	CHECK_EQ("and runs after the handler returns", total, 3);

	/* Ignored and default-ignored signals do nothing. */
	signal(SIGUSR1, SIG_IGN);
	CHECK_OK("ignored signal", raise(SIGUSR1));
	CHECK_OK("default-ignored SIGCHLD", raise(SIGCHLD));
	T_DONE();
}
