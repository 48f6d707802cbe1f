// build: -pthread
/* SIGRTMAX (64) between processes, and threads woken by other threads while
 * the process ignores it: sigqueue from a child reaches a handler with its
 * value, code and sender; an ignored SIGRTMAX is discarded; its default
 * action ends the process with that signal; SIG_IGN survives execve; and a
 * thread asleep in sigwaitinfo is still woken by pthread_kill while
 * SIGRTMAX is ignored (a runtime that interrupts its threads with a host
 * signal of that number must not let the guest's disposition reach it). */
#include "../test.h"
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

static volatile sig_atomic_t got_sig, got_code, got_value, got_pid;

static void on_rtmax(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_sig = sig;
	got_code = si->si_code;
	got_value = si->si_value.sival_int;
	got_pid = si->si_pid;
}

/* A child that sends SIGRTMAX to its parent with sigqueue and exits. */
static pid_t send_from_child(int value)
{
	pid_t parent = getpid();
	pid_t c = fork();
	if (c == 0) {
		union sigval v = { .sival_int = value };
		_exit(sigqueue(parent, SIGRTMAX, v) == 0 ? 0 : 1);
	}
	return c;
}

static int reap(pid_t c)
{
	int st = 0;
	while (waitpid(c, &st, 0) < 0 && errno == EINTR) {
	}
	return st;
}

static void *sleeper(void *arg)
{
	(void)arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	siginfo_t si;
	return (void *)(long)sigwaitinfo(&s, &si);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "check-ignored") == 0) {
		struct sigaction old;
		sigaction(SIGRTMAX, NULL, &old);
		return old.sa_handler == SIG_IGN ? 0 : 3;
	}
	T_BEGIN();
	alarm(30);
	CHECK_EQ("SIGRTMAX is 64", SIGRTMAX, 64);

	/* A handler, with the signal blocked until sigsuspend. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGRTMAX);
	sigprocmask(SIG_BLOCK, &block, &old);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_rtmax;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGRTMAX, &sa, NULL);
	pid_t c = send_from_child(4242);
	int st = reap(c);
	CHECK_EQ("the child's sigqueue succeeded", WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
	sigset_t pend;
	sigpending(&pend);
	CHECK_EQ("it waits pending while blocked", sigismember(&pend, SIGRTMAX), 1);
	while (!got_sig)
		sigsuspend(&old);
	CHECK_EQ("the handler got SIGRTMAX", got_sig, SIGRTMAX);
	CHECK_EQ("si_code is SI_QUEUE", got_code, SI_QUEUE);
	CHECK_EQ("si_value came along", got_value, 4242);
	CHECK_EQ("si_pid is the child", got_pid, c);
	sigprocmask(SIG_SETMASK, &old, NULL);

	/* Ignored: discarded (Linux keeps a blocked one pending, as its
	 * disposition may change before it is unblocked). */
	signal(SIGRTMAX, SIG_IGN);
	got_sig = 0;
	c = send_from_child(1);
	st = reap(c);
	CHECK_EQ("sigqueue of an ignored signal succeeds", WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	sigpending(&pend);
	CHECK_EQ("an ignored SIGRTMAX is not left pending", sigismember(&pend, SIGRTMAX), 0);
	CHECK_EQ("and reaches no handler", got_sig, 0);
	sigprocmask(SIG_BLOCK, &block, NULL);
	c = send_from_child(2);
	reap(c);
	for (int i = 0; i < 100 && (sigpending(&pend), !sigismember(&pend, SIGRTMAX)); i++)
		nanosleep(&ts, NULL);
	CHECK_EQ("a blocked ignored SIGRTMAX stays pending", sigismember(&pend, SIGRTMAX), 1);
	sigprocmask(SIG_SETMASK, &old, NULL);
	sigpending(&pend);
	CHECK_EQ("and is dropped when unblocked", sigismember(&pend, SIGRTMAX), 0);
	CHECK_EQ("without reaching a handler", got_sig, 0);

	/* Ignored across execve. */
	c = fork();
	if (c == 0) {
		char *args[] = { argv[0], "check-ignored", NULL };
		execv("/proc/self/exe", args);
		_exit(4);
	}
	st = reap(c);
	CHECK_EQ("SIG_IGN of SIGRTMAX survives execve", WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);

	/* Other threads are still woken while SIGRTMAX is ignored. */
	sigset_t u;
	sigemptyset(&u);
	sigaddset(&u, SIGUSR1);
	sigprocmask(SIG_BLOCK, &u, NULL);
	pthread_t t;
	pthread_create(&t, NULL, sleeper, NULL);
	nanosleep(&ts, NULL);
	pthread_kill(t, SIGUSR1);
	void *ret;
	pthread_join(t, &ret);
	CHECK_EQ("a thread in sigwaitinfo is woken by pthread_kill", (long)ret, (long)SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &u, NULL);

	/* The default action ends the process with SIGRTMAX. The child says
	 * when its disposition is back to the default: until then it ignores
	 * SIGRTMAX as we do, and a signal sent earlier would be discarded. */
	int ready[2];
	CHECK_OK("pipe", pipe(ready));
	c = fork();
	if (c == 0) {
		signal(SIGRTMAX, SIG_DFL);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	char r;
	CHECK_EQ("the child's SIGRTMAX is back to the default", read(ready[0], &r, 1), 1);
	siginfo_t forged;
	memset(&forged, 0, sizeof forged);
	forged.si_signo = SIGRTMAX;
	forged.si_code = SI_USER;
	CHECK_ERR("rt_sigqueueinfo with SI_USER to another process", syscall(SYS_rt_sigqueueinfo, c, SIGRTMAX, &forged), EPERM);
	forged.si_code = SI_TKILL;
	CHECK_ERR("rt_sigqueueinfo with SI_TKILL to another process", syscall(SYS_rt_sigqueueinfo, c, SIGRTMAX, &forged), EPERM);
	kill(c, SIGRTMAX);
	st = reap(c);
	CHECK_EQ("the default action kills with SIGRTMAX", WIFSIGNALED(st) ? WTERMSIG(st) : -1, SIGRTMAX);
	T_DONE();
}
