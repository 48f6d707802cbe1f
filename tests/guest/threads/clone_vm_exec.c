/* execve in a process that shares its parent's memory (clone with
 * CLONE_VM, without CLONE_THREAD or CLONE_VFORK): the new program runs
 * under the child's pid with the parent as its parent, in memory of its
 * own, while the parent runs on; the child's CLONE_CHILD_CLEARTID word is
 * cleared and woken at the exec (the memory was shared); the parent waits
 * for it with its status and can signal it; a failed execve returns to
 * the child, in the shared memory, which goes on.
 *
 * The child shares the parent's TLS (no CLONE_SETTLS), so it makes raw
 * syscalls only. The new program is this one again (/proc/self/exe). */
#include "../test.h"
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include "raw_syscall.h"

#define STACK_SIZE (64 * 1024)
#define FUTEX_WAIT 0

extern char **environ;

static const char *exec_path;
static char *exec_argv[6];
static volatile long exec_errno;

__attribute__((no_stack_protector)) static int exec_child(void *arg)
{
	(void)arg;
	long r = raw3(SYS_execve, (long)exec_path, (long)exec_argv, (long)environ);
	exec_errno = -r;
	raw1(SYS_exit_group, 3);
	return 0;
}

static void *new_stack_top(void)
{
	char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	return stack == MAP_FAILED ? NULL : stack + STACK_SIZE;
}

/* The new program: "report FD" writes its pid and parent's pid to FD and
 * exits 42; "sleep FD" blocks reading FD until a signal ends it. */
static int as_new_program(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int fd = atoi(argv[2]);
	if (strcmp(argv[1], "report") == 0) {
		long ids[2] = { getpid(), getppid() };
		return write(fd, ids, sizeof ids) == sizeof ids ? 42 : 2;
	}
	if (strcmp(argv[1], "sleep") == 0) {
		char b;
		return read(fd, &b, 1) < 0 ? 4 : 5;
	}
	return 2;
}

/* Waits (5 s at most) for the child's CLONE_CHILD_CLEARTID word to be 0. */
static int cleared(volatile pid_t *ctid)
{
	for (int i = 0; i < 500 && *ctid != 0; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		pid_t seen = *ctid;
		if (seen != 0)
			syscall(SYS_futex, ctid, FUTEX_WAIT, seen, &ts, NULL, 0);
	}
	return *ctid == 0;
}

static char fd_arg[16];

static pid_t start(const char *path, const char *mode, int fd, volatile pid_t *ctid)
{
	exec_path = path;
	snprintf(fd_arg, sizeof fd_arg, "%d", fd);
	exec_argv[0] = "clone_vm_exec";
	exec_argv[1] = (char *)mode;
	exec_argv[2] = fd_arg;
	exec_argv[3] = NULL;
	exec_errno = 0;
	int flags = CLONE_VM | SIGCHLD;
	if (ctid)
		flags |= CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
	return clone(exec_child, new_stack_top(), flags, NULL, NULL, NULL, ctid);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return as_new_program(argc, argv);
	T_BEGIN();

	/* The new program reports its ids; the exec clears the tid word. */
	int p[2];
	CHECK_OK("pipe", pipe(p));
	static volatile pid_t ctid = -1;
	pid_t pid = start("/proc/self/exe", "report", p[1], &ctid);
	CHECK("clone(CLONE_VM)", pid > 0);
	CHECK("the exec clears and wakes the CLONE_CHILD_CLEARTID word", cleared(&ctid));
	close(p[1]);
	long ids[2] = { 0, 0 };
	CHECK_EQ("the new program's report", read(p[0], ids, sizeof ids), sizeof ids);
	CHECK_EQ("it runs under the child's pid", ids[0], pid);
	CHECK_EQ("with the caller as its parent", ids[1], getpid());
	close(p[0]);
	int status = -1;
	CHECK_EQ("waitpid finds it", waitpid(pid, &status, 0), pid);
	CHECK("it exited", WIFEXITED(status));
	CHECK_EQ("with the new program's status", WEXITSTATUS(status), 42);
	CHECK_EQ("the exec did not come back", exec_errno, 0);

	/* Signalled by pid once it runs the new program. */
	CHECK_OK("pipe", pipe(p));
	pid = start("/proc/self/exe", "sleep", p[0], NULL);
	CHECK("clone(CLONE_VM) again", pid > 0);
	/* A report from the sleeper would need another pipe: wait until its
	 * /proc entry shows the new program instead. */
	char want[64], got[64] = "";
	snprintf(want, sizeof want, "/proc/%d/cmdline", pid);
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(want, "r");
		size_t n = f ? fread(got, 1, sizeof got - 1, f) : 0;
		if (f)
			fclose(f);
		got[n] = 0;
		if (strcmp(got, "clone_vm_exec") == 0 && n > strlen(got) && strcmp(got + strlen(got) + 1, "sleep") == 0)
			break;
		usleep(10000);
	}
	CHECK("the new program runs (its cmdline)", strcmp(got, "clone_vm_exec") == 0);
	CHECK_OK("kill it with SIGTERM", kill(pid, SIGTERM));
	status = -1;
	CHECK_EQ("waitpid finds it", waitpid(pid, &status, 0), pid);
	CHECK("SIGTERM ended it", WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	close(p[0]);
	close(p[1]);

	/* A failed execve returns to the child. */
	pid = start("/nonexistent/clone_vm_exec", "report", 1, NULL);
	CHECK("clone(CLONE_VM) once more", pid > 0);
	status = -1;
	CHECK_EQ("waitpid finds it", waitpid(pid, &status, 0), pid);
	CHECK("it went on to exit 3", WIFEXITED(status) && WEXITSTATUS(status) == 3);
	CHECK_EQ("execve told it ENOENT, in the shared memory", exec_errno, ENOENT);
	T_DONE();
}
