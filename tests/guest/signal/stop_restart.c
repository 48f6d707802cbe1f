/* A stop signal with the default action (SIGTSTP from the terminal, SIGSTOP)
 * stops a task blocked in read() on a pipe; after SIGCONT the read is
 * restarted, as no handler ran: the caller never sees EINTR (man 7 signal,
 * "Interruption of system calls and library functions by stop signals"
 * lists the few calls that fail with EINTR instead; read of a pipe is not
 * one of them). The parent sees the stop and the continue with waitpid. */
#include "../test.h"
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static void nap_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	nanosleep(&ts, NULL);
}

/* Stops the child with `sig`, checks it stopped, continues it, gives it its
 * byte; returns the child's exit status. */
static int stop_and_continue(int sig)
{
	int to_child[2], ready[2];
	if (pipe(to_child) || pipe(ready))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(to_child[1]);
		close(ready[0]);
		signal(SIGTSTP, SIG_DFL);
		if (write(ready[1], "r", 1) != 1)
			_exit(10);
		char c = 0;
		ssize_t n = read(to_child[0], &c, 1);
		if (n == 1 && c == 'x')
			_exit(0);
		_exit(n < 0 && errno == EINTR ? 2 : 3);
	}
	close(to_child[0]);
	close(ready[1]);
	char c;
	CHECK_EQ("the child is about to read", read(ready[0], &c, 1), 1);
	nap_ms(50); /* let it block in read */
	CHECK_OK("stop it", kill(pid, sig));
	int st = 0;
	CHECK_EQ("waitpid WUNTRACED sees it", waitpid(pid, &st, WUNTRACED), pid);
	CHECK("stopped by that signal", WIFSTOPPED(st) && WSTOPSIG(st) == sig);
	CHECK_OK("continue it", kill(pid, SIGCONT));
	CHECK_EQ("waitpid WCONTINUED sees it", waitpid(pid, &st, WCONTINUED), pid);
	CHECK("continued", WIFCONTINUED(st));
	nap_ms(50); /* let it go back into its read */
	CHECK_EQ("give it its byte", write(to_child[1], "x", 1), 1);
	CHECK_EQ("waitpid for its end", waitpid(pid, &st, 0), pid);
	close(to_child[1]);
	close(ready[0]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

int main(void)
{
	T_BEGIN();
	CHECK_EQ("SIGTSTP: the read went on after SIGCONT (2: EINTR)", stop_and_continue(SIGTSTP), 0);
	CHECK_EQ("SIGSTOP: likewise", stop_and_continue(SIGSTOP), 0);
	CHECK_EQ("SIGTTIN: likewise", stop_and_continue(SIGTTIN), 0);
	T_DONE();
}
