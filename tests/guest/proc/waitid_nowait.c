/* waitid(2) with WNOWAIT: the state is reported and the child stays
 * waitable (Go's os/exec waits this way before it reaps), for an exit and
 * for a stop; then the real wait reaps it, and a third wait finds nothing. */
#include "../test.h"
#include <signal.h>
#include <sys/wait.h>

int main(void)
{
	T_BEGIN();
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	CHECK_OK("waitid WNOWAIT", waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
	CHECK_EQ("pid", si.si_pid, pid);
	CHECK_EQ("code", si.si_code, CLD_EXITED);
	CHECK_EQ("status", si.si_status, 7);
	memset(&si, 0, sizeof si);
	CHECK_OK("again: still there", waitid(P_ALL, 0, &si, WEXITED | WNOWAIT));
	CHECK_EQ("same pid", si.si_pid, pid);
	int st = 0;
	CHECK_EQ("waitpid reaps it", waitpid(pid, &st, 0), pid);
	CHECK("exit status 7", WIFEXITED(st) && WEXITSTATUS(st) == 7);
	CHECK_ERR("nothing left", waitid(P_ALL, 0, &si, WEXITED | WNOWAIT), ECHILD);

	pid = fork();
	if (pid == 0) {
		raise(SIGSTOP);
		_exit(0);
	}
	memset(&si, 0, sizeof si);
	CHECK_OK("waitid WSTOPPED|WNOWAIT", waitid(P_PID, pid, &si, WSTOPPED | WNOWAIT));
	CHECK_EQ("stopped code", si.si_code, CLD_STOPPED);
	CHECK_EQ("stop signal", si.si_status, SIGSTOP);
	memset(&si, 0, sizeof si);
	CHECK_OK("the stop is still reported", waitid(P_PID, pid, &si, WSTOPPED));
	CHECK_EQ("stopped code again", si.si_code, CLD_STOPPED);
	kill(pid, SIGCONT);
	CHECK_EQ("reaped after continuing", waitpid(pid, &st, 0), pid);
	CHECK_ERR("no children left", waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT), ECHILD);
	T_DONE();
}
