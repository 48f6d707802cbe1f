/* Directory notification (F_NOTIFY) outlives execve while its fd stays
 * open, as Linux keeps a dnotify mark with the open file and its owner:
 * the new program gets the F_SETSIG signal, with si_fd and POLL_MSG, for
 * each file created in the directory (DN_MULTISHOT), and F_GETSIG still
 * shows the signal. The signal is blocked before the exec (the mask is
 * kept) and taken with sigtimedwait; every wait is bounded. The new
 * program is this one again (/proc/self/exe). */
#include "../test.h"
#include "sigwait.h"
#include <signal.h>
#include <stdlib.h>

#define RT (SIGRTMIN + 2)

static void touch(const char *dir, const char *name)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int f = open(path, O_CREAT | O_WRONLY, 0600);
	if (f >= 0)
		close(f);
}

static void remove_all(const char *dir)
{
	const char *names[] = { "a", "b", "c" };
	for (int i = 0; i < 3; i++) {
		char path[128];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* The new program: the fd and the directory come in argv. */
static int after_exec(int fd, const char *dir)
{
	T_BEGIN();
	siginfo_t si;
	CHECK_EQ("F_GETSIG still shows the signal", fcntl(fd, F_GETSIG), RT);
	touch(dir, "a");
	CHECK_EQ("a creation signals the new program", take(RT, &si), RT);
	CHECK_EQ("si_code POLL_MSG", si.si_code, POLL_MSG);
	CHECK_EQ("si_fd the directory's fd", si.si_fd, fd);
	touch(dir, "b");
	CHECK_EQ("another one too (DN_MULTISHOT)", take(RT, &si), RT);
	CHECK_OK("F_NOTIFY 0 removes it", fcntl(fd, F_NOTIFY, 0));
	touch(dir, "c");
	struct timespec zero = { 0, 50 * 1000 * 1000 };
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, RT);
	CHECK_EQ("then nothing", sigtimedwait(&one, &si, &zero), -1);
	remove_all(dir);
	T_DONE();
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "after") == 0)
		return after_exec(atoi(argv[2]), argv[3]);
	T_BEGIN();
	static char dir[] = "/tmp/dnotify_exec.XXXXXX";
	CHECK("mkdtemp", mkdtemp(dir) != NULL);
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK_OK("open the directory (not close-on-exec)", fd);
	block_signal(RT);
	CHECK_OK("F_SETSIG", fcntl(fd, F_SETSIG, RT));
	CHECK_OK("F_NOTIFY DN_CREATE | DN_MULTISHOT", fcntl(fd, F_NOTIFY, DN_CREATE | DN_MULTISHOT));
	char fd_arg[16];
	snprintf(fd_arg, sizeof fd_arg, "%d", fd);
	char *args[] = { argv[0], "after", fd_arg, dir, NULL };
	fflush(stdout);
	execv("/proc/self/exe", args);
	CHECK_OK("execv", -1);
	remove_all(dir);
	T_DONE();
}
