/* A process that ignores SIGCHLD leaves no zombies: its children are reaped
 * at once and waitpid answers ECHILD once they are gone (wait(2)). */
#include "../test.h"
#include <signal.h>
#include <sys/wait.h>

int main(void)
{
	T_BEGIN();
	CHECK("ignore SIGCHLD", signal(SIGCHLD, SIG_IGN) != SIG_ERR);
	pid_t pid = fork();
	if (pid == 0)
		_exit(3);
	CHECK("fork", pid > 0);
	int st = 0;
	CHECK_ERR("waitpid after the child exits", waitpid(-1, &st, 0), ECHILD);
	CHECK_ERR("waitpid for that very child", waitpid(pid, &st, WNOHANG), ECHILD);

	/* Back to SIG_DFL: children are waited for again. */
	CHECK("default SIGCHLD", signal(SIGCHLD, SIG_DFL) != SIG_ERR);
	pid = fork();
	if (pid == 0)
		_exit(4);
	CHECK_EQ("waitpid reaps the child", waitpid(pid, &st, 0), pid);
	CHECK("exit status 4", WIFEXITED(st) && WEXITSTATUS(st) == 4);
	T_DONE();
}
