/* Raw clone(2), through the libc clone() wrapper and without pthreads: a
 * thread made with the flags pthread_create uses (CLONE_SETTLS with a block
 * whose first word points to itself, CLONE_PARENT_SETTID, and
 * CLONE_CHILD_CLEARTID whose futex wake lets the parent wait for its end);
 * the flag combinations Linux refuses with EINVAL; clone3's size checks;
 * and a process that shares memory (CLONE_VM without CLONE_THREAD), waited
 * for with its exit signal SIGCHLD or, with none, only with __WALL.
 *
 * The thread child runs with a TLS block libc knows nothing about, so it
 * makes no libc call and touches no errno: raw syscalls only. */
#include "../test.h"
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define T_FUTEX_WAIT 0
#define STACK_SIZE (64 * 1024)

static long raw_syscall0(long nr)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr) : "rcx", "r11", "memory");
	return ret;
}

/* What the thread child saw, read by the parent after the CLEARTID wake. */
struct tls_block {
	struct tls_block *self;
	long pad[15]; /* room for anything read at a small %fs offset */
};
static struct tls_block tls_block;
static volatile pid_t child_tid_word;
static pid_t parent_tid_word;
static volatile long seen_pid, seen_tid, seen_ptid;
static volatile uintptr_t seen_fs0;

__attribute__((no_stack_protector)) static int thread_child(void *arg)
{
	(void)arg;
	uintptr_t fs0;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(fs0));
	seen_fs0 = fs0;
	seen_pid = raw_syscall0(SYS_getpid);
	seen_tid = raw_syscall0(SYS_gettid);
	seen_ptid = parent_tid_word; /* written by the kernel before the child ran */
	return 0;
}

static volatile int shared_var;
__attribute__((no_stack_protector)) static int vm_child(void *arg)
{
	shared_var = (int)(intptr_t)arg;
	return 9;
}

static int never_runs(void *arg)
{
	(void)arg;
	return 0;
}

static void *new_stack_top(void)
{
	char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	return stack == MAP_FAILED ? NULL : stack + STACK_SIZE;
}

/* struct clone_args of include/uapi/linux/sched.h (CLONE_ARGS_SIZE_VER2). */
struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
		cgroup;
};

int main(void)
{
	T_BEGIN();
	alarm(30); /* a hang becomes a SIGALRM death, not a stuck suite */
	void *stack = new_stack_top();
	CHECK("mmap a stack", stack != NULL);

	tls_block.self = &tls_block;
	child_tid_word = -1; /* the kernel writes 0 here when the thread ends */
	int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
		    CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
	int tid = clone(thread_child, stack, flags, NULL, &parent_tid_word, &tls_block, &child_tid_word);
	CHECK("clone a thread", tid > 0);
	/* Wait as pthread_join does (a shared futex: the kernel's CLEARTID wake
	 * is a shared one). Only the wake ends a wait early: a wait that runs
	 * into its 5 s timeout means the word was cleared without a wake. */
	int timed_out = 0;
	for (int i = 0; i < 4; i++) {
		pid_t v = child_tid_word;
		if (v == 0)
			break;
		struct timespec ts = { 5, 0 };
		if (syscall(SYS_futex, &child_tid_word, T_FUTEX_WAIT, v, &ts, NULL, 0) == -1 && errno == ETIMEDOUT)
			timed_out++;
	}
	CHECK_EQ("CLONE_CHILD_CLEARTID zeroed the tid word at the thread's end", child_tid_word, 0);
	CHECK_EQ("and woke the futex waiter on it", timed_out, 0);
	CHECK("CLONE_PARENT_SETTID stored the thread's tid", parent_tid_word == tid);
	CHECK("the thread saw the same tid", seen_tid == tid && seen_ptid == tid);
	CHECK("the thread's tid differs from the pid", tid != getpid());
	CHECK("the thread's getpid is the process's", seen_pid == getpid());
	CHECK("CLONE_SETTLS: %fs:0 in the thread is the TLS block", seen_fs0 == (uintptr_t)&tls_block);
	int st;
	CHECK_ERR("a CLONE_THREAD thread is not a child to wait for", waitpid(-1, &st, __WALL | WNOHANG), ECHILD);

	CHECK_ERR("CLONE_THREAD without CLONE_SIGHAND is EINVAL",
		  clone(never_runs, stack, CLONE_VM | CLONE_THREAD, NULL), EINVAL);
	CHECK_ERR("CLONE_SIGHAND without CLONE_VM is EINVAL", clone(never_runs, stack, CLONE_SIGHAND, NULL), EINVAL);
	CHECK_ERR("CLONE_FS with CLONE_NEWNS is EINVAL", clone(never_runs, stack, CLONE_FS | CLONE_NEWNS, NULL),
		  EINVAL);

	struct {
		struct clone_args_v2 args;
		unsigned char tail[40];
	} big;
	memset(&big, 0, sizeof big);
	big.args.exit_signal = SIGCHLD;
	CHECK_ERR("clone3 with a size below 64 is EINVAL", syscall(SYS_clone3, &big.args, 32), EINVAL);
	big.tail[12] = 1;
	CHECK_ERR("clone3 with unknown nonzero trailing bytes is E2BIG", syscall(SYS_clone3, &big, sizeof big), E2BIG);
	CHECK_ERR("clone3 with a size over a page is E2BIG", syscall(SYS_clone3, &big, 4097), E2BIG);

	/* A process sharing our memory: it writes, we read after waiting. */
	fflush(stdout);
	int pid = clone(vm_child, new_stack_top(), CLONE_VM | SIGCHLD, (void *)41);
	CHECK("clone CLONE_VM | SIGCHLD", pid > 0);
	st = -1;
	CHECK("waitpid for it", waitpid(pid, &st, 0) == pid);
	CHECK("it exited with its function's value", WIFEXITED(st) && WEXITSTATUS(st) == 9);
	CHECK_EQ("its write to shared memory is seen", shared_var, 41);

	pid = clone(vm_child, new_stack_top(), CLONE_VM, (void *)42);
	CHECK("clone CLONE_VM with no exit signal", pid > 0);
	CHECK_ERR("waitpid without __WALL does not see it", waitpid(pid, &st, 0), ECHILD);
	st = -1;
	CHECK("waitpid with __WALL does", waitpid(pid, &st, __WALL) == pid);
	CHECK("it exited with its function's value", WIFEXITED(st) && WEXITSTATUS(st) == 9);
	CHECK_EQ("its write is seen", shared_var, 42);
	T_DONE();
}
