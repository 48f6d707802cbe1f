// build: -pthread
/* vfork in a threaded process: only the calling thread waits for the child;
 * the others run on, and what they store meanwhile, even next to the
 * caller's stack frame, is still there when vfork returns, beside what the
 * child stored in that frame before _exit. Go's os/exec (clone with
 * CLONE_VM|CLONE_VFORK from one goroutine while the others allocate) and
 * posix_spawn in a threaded program rely on both. */
#include "../test.h"
#include <pthread.h>
#include <sys/wait.h>

/* The words another thread stores while the caller is in vfork: in the
 * caller's frame, reached through this pointer. */
static volatile long *words;
static volatile int go;

static void *stores_while_parked(void *arg)
{
	(void)arg;
	while (!go)
		t_pause_ms(1);
	/* The caller is in vfork by now: its child sleeps 100 ms before it
	 * exits. */
	t_pause_ms(20);
	for (int i = 0; i < 8; i++)
		words[i] = 1000 + i;
	return NULL;
}

static __attribute__((noinline)) int run(long *seen_by_thread, long *seen_from_child)
{
	volatile long frame[8] = { 0 };
	volatile long from_child = 0;
	words = frame;
	pthread_t t;
	if (pthread_create(&t, NULL, stores_while_parked, NULL) != 0)
		return -1;
	go = 1;
	pid_t p = vfork();
	if (p == 0) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		from_child = 7;
		_exit(3);
	}
	int st = -1;
	int ok = p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 3;
	pthread_join(t, NULL);
	long sum = 0;
	for (int i = 0; i < 8; i++)
		sum += frame[i];
	*seen_by_thread = sum;
	*seen_from_child = from_child;
	return ok;
}

int main(void)
{
	T_BEGIN();
	long by_thread = 0, from_child = 0;
	CHECK_EQ("the vfork child ran and exited 3", run(&by_thread, &from_child), 1);
	CHECK_EQ("what the child stored in the frame reaches the parent", from_child, 7);
	CHECK_EQ("what another thread stored during the vfork is kept", by_thread, 8 * 1000 + 28);
	T_DONE();
}
