/* What execve hands the new program: fds that shared an open file before
 * still share it (one offset; closing one leaves the other open), pending
 * blocked signals with their siginfo, the name
 * it was executed by in AT_EXECFN and as a script's name for the #!
 * interpreter, and E2BIG for an argument longer than MAX_ARG_STRLEN. */
#include "../test.h"
#include <limits.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/wait.h>

static int child_status(pid_t pid)
{
	int st = -1;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

/* In the new program: fds 5 and 6 share one open file. */
static int shared_fds(void)
{
	if (write(5, "A", 1) != 1)
		return 10;
	if (lseek(6, 0, SEEK_CUR) != 1)
		return 11; /* the offset is shared */
	close(5);
	if (write(6, "B", 1) != 1)
		return 12; /* closing fd 5 left fd 6 open */
	int other = open("/dev/null", O_RDONLY); /* may take the number 5 */
	if (write(6, "C", 1) != 1)
		return 13;
	close(other);
	return 0;
}

/* Started through a #! line naming this binary: argv[1] is the script as executed. */
static int as_interpreter(char **argv)
{
	if (strcmp(argv[1], "./script") != 0)
		return 20;
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	if (!execfn || strcmp(execfn, "./script") != 0)
		return 21;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "shared-fds") == 0)
		return shared_fds();
	if (argc == 3 && strcmp(argv[2], "from-script") == 0)
		return as_interpreter(argv);
	if (argc == 2 && strcmp(argv[1], "execfn") == 0) {
		const char *execfn = (const char *)getauxval(AT_EXECFN);
		return execfn && strcmp(execfn, "/proc/self/exe") == 0 ? 0 : 30;
	}
	if (argc == 3 && strcmp(argv[1], "pending") == 0) {
		sigset_t set;
		sigpending(&set);
		if (!sigismember(&set, SIGUSR1))
			return 40;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		siginfo_t si;
		if (sigwaitinfo(&set, &si) != SIGUSR1)
			return 41;
		if (si.si_code != SI_USER || si.si_pid != atoi(argv[2]))
			return 42; /* kill() from the same process, before the exec */
		return 0;
	}
	if (argc > 1)
		return 1; /* an argument no mode knows */

	T_BEGIN();
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return 2;
	self[n] = 0;
	char dir[] = "/tmp/exec_state.XXXXXX";
	if (!mkdtemp(dir))
		return 2;
	char file[64];
	snprintf(file, sizeof file, "%s/out", dir);

	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 5);
	dup2(fd, 6);
	close(fd);
	pid_t pid = fork();
	if (pid == 0) {
		char *args[] = { self, "shared-fds", NULL };
		execv(self, args);
		_exit(99);
	}
	CHECK_EQ("fds sharing a file before execve share it after", child_status(pid), 0);
	char got[8] = { 0 };
	CHECK_EQ("both fds wrote into the one file", pread(6, got, sizeof got - 1, 0), 3);
	CHECK_STR("in order, at the shared offset", got, "ABC");
	close(5);
	close(6);

	pid = fork();
	if (pid == 0) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		kill(getpid(), SIGUSR1);
		char me[16];
		snprintf(me, sizeof me, "%d", (int)getpid());
		char *args[] = { self, "pending", me, NULL };
		execv(self, args);
		_exit(99);
	}
	CHECK_EQ("a blocked pending signal stays pending, with its siginfo", child_status(pid), 0);

	pid = fork();
	if (pid == 0) {
		char *args[] = { "anything", "execfn", NULL };
		execv("/proc/self/exe", args);
		_exit(99);
	}
	CHECK_EQ("AT_EXECFN is the path given to execve", child_status(pid), 0);

	char script[64];
	snprintf(script, sizeof script, "%s/script", dir);
	FILE *f = fopen(script, "w");
	fprintf(f, "#!%s\n", self);
	fclose(f);
	chmod(script, 0755);
	pid = fork();
	if (pid == 0) {
		if (chdir(dir) != 0)
			_exit(98);
		char *args[] = { "./script", "from-script", NULL };
		execv("./script", args);
		_exit(99);
	}
	CHECK_EQ("a #! interpreter gets the script by the name it was executed by", child_status(pid), 0);

	size_t big = 128 * 1024; /* one byte over MAX_ARG_STRLEN with its NUL */
	char *arg = malloc(big + 1);
	memset(arg, 'x', big);
	arg[big] = 0;
	char *args[] = { self, arg, NULL };
	CHECK_ERR("an argument longer than MAX_ARG_STRLEN -> E2BIG", execv(self, args), E2BIG);
	arg[big - 1] = 0;
	pid = fork();
	if (pid == 0) {
		execv(self, args); /* exactly MAX_ARG_STRLEN: allowed; exits 1 on the unknown argument */
		_exit(errno == E2BIG ? 98 : 99);
	}
	CHECK_EQ("an argument of exactly MAX_ARG_STRLEN is accepted", child_status(pid), 1);

	unlink(script);
	unlink(file);
	rmdir(dir);
	T_DONE();
}
