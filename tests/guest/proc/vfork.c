/* vfork and posix_spawn: the parent sees what the child stored in its frame before
 * _exit (glibc's posix_spawn reports a failed exec that way), exit statuses, and
 * posix_spawn errors for missing programs. */
#include "../test.h"
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

/* noinline: the child stores into this frame, as in the classic vfork idiom. */
static __attribute__((noinline)) int exec_error_through_vfork(const char *path)
{
	volatile int err = 0;
	pid_t p = vfork();
	if (p == 0) {
		execl(path, path, (char *)NULL);
		err = errno;
		_exit(127);
	}
	int st = -1;
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 127)
		return -1;
	return err;
}

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	char noexec[128];
	snprintf(noexec, sizeof noexec, "%s/noexec", t_tmpdir_path);
	int fd = open(noexec, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "#!/bin/sh\n", 10) != 10 || close(fd) != 0 || chmod(noexec, 0644) != 0)
		return 2;
	CHECK_EQ("vfork child's errno from a failed exec reaches the parent", exec_error_through_vfork("/nonexistent/program"), ENOENT);
	CHECK_EQ("... EACCES for a file that is not executable", exec_error_through_vfork(noexec), EACCES);

	pid_t p = vfork();
	if (p == 0)
		_exit(42);
	int st = -1;
	CHECK_EQ("waitpid the vfork child", waitpid(p, &st, 0), p);
	CHECK("vfork child's exit status", WIFEXITED(st) && WEXITSTATUS(st) == 42);

	char *argv[] = {"prog", NULL};
	pid_t child = -1;
	CHECK_EQ("posix_spawn of a missing program -> ENOENT", posix_spawn(&child, "/nonexistent/program", NULL, NULL, argv, environ), ENOENT);
	CHECK_EQ("posix_spawnp of a missing command -> ENOENT", posix_spawnp(&child, "no-such-command-here", NULL, NULL, argv, environ), ENOENT);
	CHECK_EQ("posix_spawn of a file without x bit -> EACCES", posix_spawn(&child, noexec, NULL, NULL, argv, environ), EACCES);
	char *sh_argv[] = {"sh", "-c", "exit 7", NULL};
	CHECK_EQ("posix_spawn of sh", posix_spawn(&child, "/bin/sh", NULL, NULL, sh_argv, environ), 0);
	st = -1;
	CHECK_EQ("waitpid the spawned sh", waitpid(child, &st, 0), child);
	CHECK("spawned sh exits 7", WIFEXITED(st) && WEXITSTATUS(st) == 7);
	CHECK_EQ("system() runs a command", WEXITSTATUS(system("exit 5")), 5);
	t_tmpdir_end();
	T_DONE();
}
