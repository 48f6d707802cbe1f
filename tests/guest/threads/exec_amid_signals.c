/* execve from one thread while the others keep signalling one another
 * with pthread_kill, as Go's runtime preempts its threads with SIGURG: the
 * exec must win, whatever arrives during it. SIGURG is ignored by default,
 * so one that stays pending across the exec is harmless on Linux too. Each
 * round runs in a child process; every wait is bounded (alarm). */
#define _GNU_SOURCE
#include "../test.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 30
#define SENDERS 3

static pthread_t threads[SENDERS + 1];
static atomic_int started, go;

static void on_urg(int sig) { (void)sig; }

static void *sender(void *arg)
{
	long me = (long)arg;
	atomic_fetch_add(&started, 1);
	/* Every thread's id is known before the first signal. */
	while (!atomic_load(&go))
		sched_yield();
	for (unsigned long i = 0;; i++) {
		/* The main thread and the other senders, in turn. */
		long to = (me + 1 + i % SENDERS) % (SENDERS + 1);
		pthread_kill(threads[to], SIGURG);
		if (i % 4 == 0)
			t_pause_ms(0);
	}
	return NULL;
}

/* One round, in a child: senders signal one another and the main thread,
 * which then execs this program again to exit 0. */
static void round_child(const char *self)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_urg;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGURG, &sa, NULL);
	threads[0] = pthread_self();
	for (long i = 1; i <= SENDERS; i++)
		if (pthread_create(&threads[i], NULL, sender, (void *)i) != 0)
			_exit(3);
	while (atomic_load(&started) < SENDERS)
		sched_yield();
	atomic_store(&go, 1);
	/* A few milliseconds of signals first, counted by the clock alone. */
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec < 3000000L);
	char *argv[] = { (char *)self, "exec'd", NULL };
	execv(self, argv);
	_exit(4);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "exec'd") == 0)
		return 0;
	T_BEGIN();
	alarm(60);
	int survived = 0, other = 0;
	for (int r = 0; r < ROUNDS; r++) {
		pid_t c = fork();
		if (c == 0)
			round_child("/proc/self/exe");
		int st = -1;
		if (waitpid(c, &st, 0) != c)
			break;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			survived++;
		else if (other++ == 0)
			printf("round %d: %s %d\n", r, WIFSIGNALED(st) ? "killed by signal" : "exit status",
			       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	}
	CHECK_EQ("rounds whose exec went through amid pthread_kill traffic", survived, ROUNDS);
	T_DONE();
}
