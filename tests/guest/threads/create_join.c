// build: -pthread
/* Creating and ending threads: pthread_create/join and the values threads
 * return, a detached thread, pthread_self/pthread_equal, thread ids, the
 * /proc/self/task listing, pthread_exit of one thread while the others go
 * on (also of the main thread), and exit() from a non-main thread ending
 * the whole thread group with its status (exit_group). */
#include "../test.h"
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

static pid_t tid(void) { return (pid_t)syscall(SYS_gettid); }

/* A joined thread leaves /proc/self/task a moment after pthread_join returns
 * (the kernel clears the tid word, which join waits for, before it reaps the
 * thread), so a count that must drop is polled, for at most 5 s. */
static int task_count_settled(int want)
{
	int n = t_task_count();
	for (int i = 0; i < 5000 && n != want; i++) {
		t_pause_ms(1);
		n = t_task_count();
	}
	return n;
}

struct seen {
	pthread_t self;
	pid_t pid;
	pid_t tid;
};

static void *returns_arg_times_ten(void *arg)
{
	return (void *)((intptr_t)arg * 10);
}

static void *records_ids(void *arg)
{
	struct seen *s = arg;
	s->self = pthread_self();
	s->pid = getpid();
	s->tid = tid();
	return NULL;
}

static sem_t detached_done;
static int detached_ran;
static void *detached(void *arg)
{
	(void)arg;
	detached_ran = 1;
	sem_post(&detached_done);
	return NULL;
}

/* Each waiter waits for its own semaphore, so the one to end is chosen. */
static sem_t release[4];
static void *waits_for_release(void *arg)
{
	sem_wait(&release[(intptr_t)arg]);
	return arg;
}

/* pthread_exit from a nested call: nothing after it runs. */
static int after_exit_ran;
static void __attribute__((noinline)) leave(void) { pthread_exit((void *)42); }
static void *exits_early(void *arg)
{
	(void)arg;
	leave();
	after_exit_ran = 1;
	return (void *)1;
}

static void *calls_exit(void *arg)
{
	(void)arg;
	t_pause_ms(20);
	exit(33);
}

static void *sleeps_forever(void *arg)
{
	for (;;)
		pause();
	return arg;
}

static pthread_t main_thread;
static void *waits_for_main_then_exits(void *arg)
{
	(void)arg;
	/* The main thread has called pthread_exit; this one goes on. */
	t_pause_ms(20);
	exit(pthread_equal(pthread_self(), main_thread) ? 1 : 5);
}

static int child_status(pid_t pid)
{
	int st = 0;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

int main(void)
{
	T_BEGIN();
	alarm(30); /* a hang becomes a SIGALRM death, not a stuck suite */

	pthread_t t[4];
	int created = 0;
	for (int i = 0; i < 4; i++)
		created += pthread_create(&t[i], NULL, returns_arg_times_ten, (void *)(intptr_t)(i + 1)) == 0;
	CHECK_EQ("four threads created", created, 4);
	int right = 0;
	for (int i = 0; i < 4; i++) {
		void *ret = NULL;
		if (pthread_join(t[i], &ret) == 0 && (intptr_t)ret == (i + 1) * 10)
			right++;
	}
	CHECK_EQ("pthread_join returns each thread's value", right, 4);

	struct seen s;
	pthread_t th;
	CHECK_EQ("create the id recorder", pthread_create(&th, NULL, records_ids, &s), 0);
	CHECK_EQ("join it", pthread_join(th, NULL), 0);
	CHECK("pthread_self in the thread equals the pthread_t create gave", pthread_equal(s.self, th));
	CHECK("pthread_self in main differs from the thread's", !pthread_equal(pthread_self(), th));
	CHECK("getpid in a thread is the process's pid", s.pid == getpid());
	CHECK("gettid in a thread differs from getpid", s.tid != s.pid);
	CHECK("gettid in main equals getpid", tid() == getpid());

	sem_init(&detached_done, 0, 0);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	CHECK_EQ("create a detached thread", pthread_create(&th, &attr, detached, NULL), 0);
	pthread_attr_destroy(&attr);
	CHECK_OK("its completion is seen through a semaphore", sem_wait(&detached_done));
	CHECK_EQ("the detached thread ran", detached_ran, 1);
	CHECK_EQ("create a thread to detach", pthread_create(&th, NULL, detached, NULL), 0);
	CHECK_EQ("pthread_detach", pthread_detach(th), 0);
	CHECK_OK("the detached thread finishes", sem_wait(&detached_done));

	CHECK_EQ("/proc/self/task lists only main", task_count_settled(1), 1);
	for (int i = 0; i < 4; i++)
		sem_init(&release[i], 0, 0);
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, waits_for_release, (void *)(intptr_t)i);
	CHECK_EQ("/proc/self/task lists four tasks with three threads alive", t_task_count(), 4);
	sem_post(&release[0]);
	pthread_join(t[0], NULL);
	CHECK_EQ("three tasks after one thread ends", task_count_settled(3), 3);
	sem_post(&release[1]);
	sem_post(&release[2]);
	pthread_join(t[1], NULL);
	pthread_join(t[2], NULL);
	CHECK_EQ("one task after all threads end", task_count_settled(1), 1);
	/* Another task sees the same: the ended threads are gone from
	 * /proc/PID/task (polled for at most 5 s, while this one waits). */
	fflush(stdout);
	pid_t me = getpid();
	pid_t looker = fork();
	if (looker == 0) {
		for (int i = 0; i < 5000; i++) {
			if (t_task_count_of(me) == 1)
				_exit(0);
			t_pause_ms(1);
		}
		_exit(t_task_count_of(me) == -1 ? 99 : t_task_count_of(me));
	}
	CHECK_EQ("another task sees one task left", child_status(looker), 0);

	pthread_t quitter, stayer;
	pthread_create(&stayer, NULL, waits_for_release, (void *)3);
	pthread_create(&quitter, NULL, exits_early, NULL);
	void *ret = NULL;
	CHECK_EQ("join the thread that called pthread_exit", pthread_join(quitter, &ret), 0);
	CHECK_EQ("pthread_exit's value is what join returns", (intptr_t)ret, 42);
	CHECK_EQ("nothing after pthread_exit ran", after_exit_ran, 0);
	CHECK_EQ("the other thread is still there", task_count_settled(2), 2);
	sem_post(&release[3]);
	CHECK_EQ("join the other thread", pthread_join(stayer, &ret), 0);
	CHECK_EQ("it went on to return its value", (intptr_t)ret, 3);

	/* exit() in a non-main thread ends every thread, with its status. */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(10);
		pthread_t a, b;
		pthread_create(&a, NULL, sleeps_forever, NULL);
		pthread_create(&b, NULL, calls_exit, NULL);
		pthread_join(a, NULL); /* never returns: the exit ends this thread too */
		_exit(1);
	}
	CHECK_EQ("exit() in a thread ends the process with its status", child_status(pid), 33);

	/* The main thread may leave with pthread_exit; the process lives on. */
	pid = fork();
	if (pid == 0) {
		alarm(10);
		main_thread = pthread_self();
		pthread_t a;
		pthread_create(&a, NULL, waits_for_main_then_exits, NULL);
		pthread_exit(NULL);
	}
	CHECK_EQ("after main's pthread_exit another thread ends the process", child_status(pid), 5);
	T_DONE();
}
