/* A parent and a child it made with clone(CLONE_VM | SIGCHLD): a process
 * of its own that shares the parent's memory. The child prints "ready
 * PID" and waits (10 s at most) for a signal sent from outside: by pid
 * (tests/tests/signals.rs sends it with kill(2) natively and with `mactux
 * kill` under mactux) or by a terminal to the foreground group (^C).
 * Both have a handler for SIGUSR1 and SIGINT; the handler tells them
 * apart by pid (the memory, and so the flags, are shared). The child's
 * exit status says what it got; the parent then says what it got. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../guest/threads/raw_syscall.h"

#define STACK_SIZE (64 * 1024)

static volatile sig_atomic_t parent_got[65], child_got[65];
static volatile long parent_pid;

static void handler(int sig)
{
	if (raw0(SYS_getpid) == parent_pid)
		parent_got[sig] = 1;
	else
		child_got[sig] = 1;
}

/* The child shares the parent's TLS: raw calls only. */
__attribute__((no_stack_protector)) static int child(void *arg)
{
	(void)arg;
	char line[32] = "ready ";
	long pid = raw0(SYS_getpid), n = 6;
	char digits[16];
	int d = 0;
	do {
		digits[d++] = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid > 0);
	while (d > 0)
		line[n++] = digits[--d];
	line[n++] = '\n';
	raw3(SYS_write, 1, (long)line, n);
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	for (int i = 0; i < 1000; i++) {
		if (child_got[SIGUSR1] || child_got[SIGINT])
			return 10 + child_got[SIGUSR1] + 2 * child_got[SIGINT];
		raw3(SYS_nanosleep, (long)&tick, 0, 0);
	}
	return 99;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	parent_pid = getpid();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	pid_t pid = clone(child, stack + STACK_SIZE, CLONE_VM | SIGCHLD, NULL);
	if (pid < 0) {
		perror("clone");
		return 1;
	}
	int status;
	pid_t w;
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (w != pid) {
		perror("waitpid");
		return 1;
	}
	if (WIFEXITED(status))
		printf("child exited %d\n", WEXITSTATUS(status));
	else
		printf("child killed by signal %d\n", WTERMSIG(status));
	printf("parent got SIGUSR1: %d\nparent got SIGINT: %d\n", (int)parent_got[SIGUSR1], (int)parent_got[SIGINT]);
	return 0;
}
