// build: -pthread
/* fork in a threaded process: pthread_atfork handlers run in their order
 * (prepare handlers in reverse order of registration, parent and child
 * handlers in order), the child has a single thread and can make new ones,
 * and a mutex another thread held at fork time is usable in the child once
 * the child handler has reinitialised it. */
#include "../test.h"
#include <pthread.h>
#include <semaphore.h>
#include <sys/wait.h>

static char order[32];
static void add(char c)
{
	size_t n = strlen(order);
	if (n + 1 < sizeof order) {
		order[n] = c;
		order[n + 1] = 0;
	}
}
static void prepare1(void) { add('p'); }
static void prepare2(void) { add('P'); }
static void parent1(void) { add('a'); }
static void parent2(void) { add('A'); }
static void child1(void) { add('c'); }

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static void child2(void)
{
	add('C');
	/* The thread that held it does not exist in the child. */
	pthread_mutex_init(&held, NULL);
}

static sem_t holding, release;
static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&held);
	sem_post(&holding);
	sem_wait(&release);
	pthread_mutex_unlock(&held);
	return NULL;
}

static void *child_thread(void *arg) { return arg; }

int main(void)
{
	T_BEGIN();
	alarm(30); /* a hang becomes a SIGALRM death, not a stuck suite */
	CHECK_EQ("pthread_atfork first", pthread_atfork(prepare1, parent1, child1), 0);
	CHECK_EQ("pthread_atfork second", pthread_atfork(prepare2, parent2, child2), 0);
	sem_init(&holding, 0, 0);
	sem_init(&release, 0, 0);
	pthread_t h;
	pthread_create(&h, NULL, holder, NULL);
	sem_wait(&holding);
	CHECK_EQ("a thread holds the mutex", pthread_mutex_trylock(&held), EBUSY);
	CHECK_EQ("two tasks before fork", t_task_count(), 2);

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		/* The child prints while the parent waits for it. */
		CHECK_STR("child: handlers ran as prepare 2, prepare 1, child 1, child 2", order, "PpcC");
		CHECK_EQ("child: one task", t_task_count(), 1);
		CHECK_EQ("child: the reinitialised mutex locks", pthread_mutex_trylock(&held), 0);
		CHECK_EQ("child: and unlocks", pthread_mutex_unlock(&held), 0);
		pthread_t t;
		void *ret = NULL;
		int made = pthread_create(&t, NULL, child_thread, (void *)9) == 0;
		CHECK("child: a new thread can be created", made);
		CHECK("child: and joined with its value", made && pthread_join(t, &ret) == 0 && ret == (void *)9);
		fflush(stdout);
		_exit(t_failures ? 1 : 0);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	CHECK_EQ("the child exited 0", st, 0);
	CHECK_STR("parent: handlers ran as prepare 2, prepare 1, parent 1, parent 2", order, "PpaA");
	CHECK_EQ("parent: the mutex is still held by the other thread", pthread_mutex_trylock(&held), EBUSY);
	sem_post(&release);
	pthread_join(h, NULL);
	CHECK_EQ("parent: free once that thread unlocks it", pthread_mutex_trylock(&held), 0);
	pthread_mutex_unlock(&held);
	T_DONE();
}
