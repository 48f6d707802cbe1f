/* A process that shares its parent's memory without being a thread
 * (clone with CLONE_VM, without CLONE_THREAD): its own pid, tid and parent;
 * exit_group ends it alone (with a thread of its own); without CLONE_FILES or CLONE_FS it works on
 * copies of the fd table and the working directory, with them on the
 * parent's; its dispositions are a copy; its exit signal reaches the
 * parent with its pid; kill(2) from the parent or from another process
 * reaches it, not the parent (a handler it installed; SIGTERM or SIGKILL
 * while it sleeps in a read); a fork of the parent meanwhile is a process
 * of its own that ends when it exits.
 *
 * The children share the parent's TLS (no CLONE_SETTLS), so they make
 * raw syscalls only and the parent waits while they run. */
#include "../test.h"
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "raw_syscall.h"

#define STACK_SIZE (64 * 1024)

static void *new_stack_top(void)
{
	char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	return stack == MAP_FAILED ? NULL : stack + STACK_SIZE;
}

/* What the identity child saw. */
static volatile long seen_pid, seen_ppid, seen_tid;

__attribute__((no_stack_protector)) static int ids_child(void *arg)
{
	(void)arg;
	seen_pid = raw0(SYS_getpid);
	seen_ppid = raw0(SYS_getppid);
	seen_tid = raw0(SYS_gettid);
	raw1(SYS_exit_group, 5);
	return 0; /* not reached */
}

/* Closes the fd it is given; 0 when that worked. */
__attribute__((no_stack_protector)) static int close_child(void *arg)
{
	return raw1(SYS_close, (long)(intptr_t)arg) == 0 ? 0 : 1;
}

/* chdir("/"): 0 when that worked. */
__attribute__((no_stack_protector)) static int chdir_child(void *arg)
{
	(void)arg;
	return raw1(SYS_chdir, (long)"/") == 0 ? 0 : 1;
}

/* Ignores SIGUSR2 in its own dispositions. */
__attribute__((no_stack_protector)) static int ignore_child(void *arg)
{
	(void)arg;
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		unsigned long mask;
	} act = { SIG_IGN, 0, 0, 0 };
	return raw4(SYS_rt_sigaction, SIGUSR2, (long)&act, 0, 8) == 0 ? 0 : 1;
}

static int sync_pipe[2];
static volatile int got_usr1;

__attribute__((no_stack_protector)) static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

/* Blocks SIGUSR1, installs a handler, tells the parent, then waits for
 * the signal in rt_sigsuspend: 7 when the handler ran. */
__attribute__((no_stack_protector)) static int handler_child(void *arg)
{
	(void)arg;
	unsigned long usr1 = 1UL << (SIGUSR1 - 1), none = 0;
	raw4(SYS_rt_sigprocmask, SIG_BLOCK, (long)&usr1, 0, 8);
	/* The restorer: a CLONE_VM child has the parent's, which libc set up
	 * for its own handlers; taken from there. */
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		unsigned long mask;
	} act, old;
	raw4(SYS_rt_sigaction, SIGCHLD, 0, (long)&old, 8);
	act.handler = (void *)on_usr1;
	act.flags = old.flags;
	act.restorer = old.restorer;
	act.mask = 0;
	if (raw4(SYS_rt_sigaction, SIGUSR1, (long)&act, 0, 8) != 0)
		return 1;
	char c = 'r';
	raw3(SYS_write, sync_pipe[1], (long)&c, 1);
	raw3(SYS_rt_sigsuspend, (long)&none, 8, 0);
	return got_usr1 ? 7 : 2;
}

/* Sleeps in a read nobody answers. */
__attribute__((no_stack_protector)) static int reader_child(void *arg)
{
	(void)arg;
	char c = 'r';
	raw3(SYS_write, sync_pipe[1], (long)&c, 1);
	raw3(SYS_read, (long)(intptr_t)arg, (long)&c, 1);
	return 3;
}

static volatile int chld_count;
static volatile pid_t chld_pid;
static volatile int chld_code, chld_status;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	chld_count++;
	chld_pid = si->si_pid;
	chld_code = si->si_code;
	chld_status = si->si_status;
}

static void on_usr2(int sig)
{
	(void)sig;
}

/* kill(pid, sig) from another process (a fork child of ours): 0 when the
 * kill worked there. */
static int kill_from_elsewhere(pid_t pid, int sig)
{
	fflush(stdout);
	pid_t killer = fork();
	if (killer == 0)
		_exit(kill(pid, sig) == 0 ? 0 : 1);
	int st = -1;
	if (killer < 0 || waitpid(killer, &st, 0) != killer)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A thread of a CLONE_VM child: says who it is, then sleeps in a read. */
static volatile long thread_pid, thread_tid;
static int idle_fd;

__attribute__((no_stack_protector)) static int sleeper_thread(void *arg)
{
	(void)arg;
	thread_pid = raw0(SYS_getpid);
	thread_tid = raw0(SYS_gettid);
	char c;
	raw3(SYS_read, idle_fd, (long)&c, 1);
	return 0;
}

/* Starts a thread that sleeps, waits until it is running, then ends its
 * whole process with exit_group(6). */
__attribute__((no_stack_protector)) static int threaded_child(void *arg)
{
	int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
	if (clone(sleeper_thread, arg, flags, NULL) <= 0)
		return 1;
	while (thread_tid == 0)
		raw0(SYS_sched_yield);
	raw1(SYS_exit_group, 6);
	return 2; /* not reached */
}

/* Starts `fn` as a CLONE_VM child with `flags` and waits for it. */
static int run_child(int (*fn)(void *), void *arg, int flags, pid_t *pid_out)
{
	fflush(stdout);
	pid_t pid = clone(fn, new_stack_top(), CLONE_VM | flags | SIGCHLD, arg);
	if (pid_out)
		*pid_out = pid;
	if (pid <= 0)
		return -1;
	int st = -1;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

int main(void)
{
	T_BEGIN();
	alarm(30); /* a hang becomes a SIGALRM death, not a stuck suite */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_chld;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	CHECK_OK("a SIGCHLD handler", sigaction(SIGCHLD, &sa, NULL));

	pid_t pid;
	int st = run_child(ids_child, NULL, 0, &pid);
	CHECK("exit_group in the child ends it alone, with its status", WIFEXITED(st) && WEXITSTATUS(st) == 5);
	CHECK("its getpid is the pid clone returned", seen_pid == pid);
	CHECK("its gettid is its pid", seen_tid == pid);
	CHECK("its getppid is the parent", seen_ppid == getpid());
	CHECK("its pid is not the parent's", pid != getpid());
	CHECK_EQ("the parent got one SIGCHLD", chld_count, 1);
	CHECK("naming the child", chld_pid == pid);
	CHECK_EQ("with CLD_EXITED", chld_code, CLD_EXITED);
	CHECK_EQ("and its exit status", chld_status, 5);
	CHECK_ERR("no child is left", waitpid(-1, &st, __WALL | WNOHANG), ECHILD);

	int fds[2];
	CHECK_OK("a pipe", pipe(fds));
	st = run_child(close_child, (void *)(intptr_t)fds[0], 0, NULL);
	CHECK("without CLONE_FILES the child closes its own copy", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK("the parent's fd stays open", fcntl(fds[0], F_GETFD) != -1);
	st = run_child(close_child, (void *)(intptr_t)fds[0], CLONE_FILES, NULL);
	CHECK("with CLONE_FILES the child closes the shared one", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_ERR("the parent's fd is closed", fcntl(fds[0], F_GETFD), EBADF);
	close(fds[1]);

	char before[4096], after[4096];
	CHECK("getcwd", getcwd(before, sizeof before) != NULL);
	st = run_child(chdir_child, NULL, 0, NULL);
	CHECK("without CLONE_FS the child changes its own directory", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK("the parent's stays", getcwd(after, sizeof after) && strcmp(before, after) == 0);
	st = run_child(chdir_child, NULL, CLONE_FS, NULL);
	CHECK("with CLONE_FS the child changes the shared one", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK("the parent's is now /", getcwd(after, sizeof after) && strcmp(after, "/") == 0);
	CHECK_OK("back", chdir(before));

	signal(SIGUSR2, on_usr2);
	st = run_child(ignore_child, NULL, 0, NULL);
	CHECK("the child ignores SIGUSR2 in its own dispositions", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct sigaction cur;
	CHECK("the parent's handler stays", sigaction(SIGUSR2, NULL, &cur) == 0 && cur.sa_handler == on_usr2);

	CHECK_OK("a pipe to hear from the children", pipe(sync_pipe));
	fflush(stdout);
	pid = clone(handler_child, new_stack_top(), CLONE_VM | SIGCHLD, NULL);
	CHECK("clone a child that waits for SIGUSR1", pid > 0);
	char c;
	CHECK_EQ("it is ready", read(sync_pipe[0], &c, 1), 1);
	CHECK_EQ("it has not ended", waitpid(pid, &st, WNOHANG), 0);
	CHECK_OK("kill it with SIGUSR1", kill(pid, SIGUSR1));
	st = -1;
	CHECK("waitpid", waitpid(pid, &st, 0) == pid);
	CHECK("its own handler ran", WIFEXITED(st) && WEXITSTATUS(st) == 7);

	fflush(stdout);
	pid = clone(handler_child, new_stack_top(), CLONE_VM | SIGCHLD, NULL);
	CHECK("clone another child that waits for SIGUSR1", pid > 0);
	CHECK_EQ("it is ready", read(sync_pipe[0], &c, 1), 1);
	CHECK_EQ("another process kills it with SIGUSR1", kill_from_elsewhere(pid, SIGUSR1), 0);
	st = -1;
	CHECK("waitpid", waitpid(pid, &st, 0) == pid);
	CHECK("its own handler ran", WIFEXITED(st) && WEXITSTATUS(st) == 7);

	int idle[2];
	CHECK_OK("a pipe nobody writes", pipe(idle));
	idle_fd = idle[0];
	st = run_child(threaded_child, new_stack_top(), 0, &pid);
	CHECK("a child's exit_group ends its thread sleeping in a read, and it alone",
	      WIFEXITED(st) && WEXITSTATUS(st) == 6);
	CHECK("its thread's getpid was the child's", thread_pid == pid);
	CHECK("its thread's tid was its own", thread_tid != pid && thread_tid != getpid());
	fflush(stdout);
	pid = clone(reader_child, new_stack_top(), CLONE_VM | SIGCHLD, (void *)(intptr_t)idle[0]);
	CHECK("clone a child that sleeps in a read", pid > 0);
	CHECK_EQ("it is about to read", read(sync_pipe[0], &c, 1), 1);
	/* A fork meanwhile copies the parent alone: its child ends at once. */
	pid_t forked = fork();
	if (forked == 0)
		_exit(4);
	st = -1;
	CHECK("a fork child of the parent", forked > 0 && waitpid(forked, &st, 0) == forked);
	CHECK("ends on its own", WIFEXITED(st) && WEXITSTATUS(st) == 4);
	CHECK_OK("SIGKILL it", kill(pid, SIGKILL));
	st = -1;
	CHECK("waitpid", waitpid(pid, &st, 0) == pid);
	CHECK("it was killed by SIGKILL", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

	/* From another process: the signal is the child's, not ours (both
	 * would end us at their default). */
	int sigs[] = { SIGTERM, SIGKILL };
	for (int i = 0; i < 2; i++) {
		fflush(stdout);
		pid = clone(reader_child, new_stack_top(), CLONE_VM | SIGCHLD, (void *)(intptr_t)idle[0]);
		CHECK("clone a child that sleeps in a read", pid > 0);
		CHECK_EQ("it is about to read", read(sync_pipe[0], &c, 1), 1);
		CHECK_EQ("another process kills it", kill_from_elsewhere(pid, sigs[i]), 0);
		st = -1;
		CHECK("waitpid", waitpid(pid, &st, 0) == pid);
		CHECK("it was killed by that signal", WIFSIGNALED(st) && WTERMSIG(st) == sigs[i]);
	}
	CHECK("the parent lives on", getpid() > 0);
	T_DONE();
}
