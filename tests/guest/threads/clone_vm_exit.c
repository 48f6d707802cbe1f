// expect: exit 3
// build: -pthread
/* exit_group of a process whose CLONE_VM child (a process sharing its
 * memory, not a thread) still runs: the process ends with its status, its
 * other thread (asleep in pause) with it, and the child runs on to its own
 * end, whose output still comes. */
#include "../test.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include "raw_syscall.h"

#define STACK_SIZE (64 * 1024)

/* Outlives its parent's exit_group a little, then says so. */
__attribute__((no_stack_protector)) static int child(void *arg)
{
	(void)arg;
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	raw2(SYS_nanosleep, (long)&ts, 0);
	static const char line[] = "the child ran on to its end\n";
	raw3(SYS_write, 1, (long)line, sizeof line - 1);
	return 0;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	T_BEGIN();
	alarm(30); /* a hang becomes a SIGALRM death, not a stuck suite */
	pthread_t t;
	CHECK("a thread that sleeps in pause", pthread_create(&t, NULL, sleeper, NULL) == 0);
	char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	CHECK("mmap a stack", stack != MAP_FAILED);
	fflush(stdout);
	int pid = clone(child, stack + STACK_SIZE, CLONE_VM | SIGCHLD, NULL);
	CHECK("clone CLONE_VM | SIGCHLD", pid > 0);
	fflush(stdout);
	syscall(SYS_exit_group, 3);
	return 1; /* not reached */
}
