// build: -pthread
/* Robust mutexes: when the owner thread ends while holding one, the next
 * locker gets EOWNERDEAD (glibc leaves this to the kernel's walk of the
 * dead thread's robust list, musl walks it itself in pthread_exit); made
 * consistent the mutex works on, left inconsistent it becomes
 * ENOTRECOVERABLE. The same across processes with a process-shared robust
 * mutex whose owner process exits: that one is always the kernel's walk
 * (set_robust_list, exit_robust_list). */
#include "../test.h"
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>

static void *lock_and_leave(void *m)
{
	pthread_mutex_lock(m);
	return NULL; /* ends holding it */
}

static void *lock_three_and_leave(void *arg)
{
	pthread_mutex_t *m = arg;
	for (int i = 0; i < 3; i++)
		pthread_mutex_lock(&m[i]);
	return NULL;
}

static void init_robust(pthread_mutex_t *m, int pshared)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (pshared)
		pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

static void owner_thread_dies(pthread_mutex_t *m)
{
	pthread_t t;
	pthread_create(&t, NULL, lock_and_leave, m);
	pthread_join(t, NULL);
}

int main(void)
{
	T_BEGIN();
	alarm(30); /* a hang becomes a SIGALRM death, not a stuck suite */
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	int robust = -1;
	CHECK_EQ("pthread_mutexattr_setrobust", pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST), 0);
	pthread_mutexattr_getrobust(&a, &robust);
	CHECK_EQ("pthread_mutexattr_getrobust", robust, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_destroy(&a);

	pthread_mutex_t m1;
	init_robust(&m1, 0);
	owner_thread_dies(&m1);
	CHECK_EQ("lock after the owner died is EOWNERDEAD", pthread_mutex_lock(&m1), EOWNERDEAD);
	CHECK_EQ("pthread_mutex_consistent", pthread_mutex_consistent(&m1), 0);
	CHECK_EQ("unlock", pthread_mutex_unlock(&m1), 0);
	CHECK_EQ("lock again works normally", pthread_mutex_lock(&m1), 0);
	CHECK_EQ("pthread_mutex_consistent on a consistent mutex is EINVAL", pthread_mutex_consistent(&m1), EINVAL);
	CHECK_EQ("unlock again", pthread_mutex_unlock(&m1), 0);

	pthread_mutex_t m2;
	init_robust(&m2, 0);
	owner_thread_dies(&m2);
	CHECK_EQ("trylock after the owner died is EOWNERDEAD", pthread_mutex_trylock(&m2), EOWNERDEAD);
	CHECK_EQ("unlock without making it consistent", pthread_mutex_unlock(&m2), 0);
	CHECK_EQ("lock is then ENOTRECOVERABLE", pthread_mutex_lock(&m2), ENOTRECOVERABLE);
	CHECK_EQ("trylock is ENOTRECOVERABLE too", pthread_mutex_trylock(&m2), ENOTRECOVERABLE);

	/* Several robust mutexes held at once by the dying thread: the kernel
	 * walks its whole list. */
	pthread_mutex_t m3[3];
	for (int i = 0; i < 3; i++)
		init_robust(&m3[i], 0);
	pthread_t t;
	pthread_create(&t, NULL, lock_three_and_leave, m3);
	pthread_join(t, NULL);
	int dead = 0;
	for (int i = 0; i < 3; i++) {
		dead += pthread_mutex_lock(&m3[i]) == EOWNERDEAD;
		pthread_mutex_consistent(&m3[i]);
		pthread_mutex_unlock(&m3[i]);
	}
	CHECK_EQ("each of three abandoned mutexes reports EOWNERDEAD", dead, 3);

	/* Across processes: the child locks and exits. */
	pthread_mutex_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK("mmap shared", shared != MAP_FAILED);
	init_robust(shared, 1);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		pthread_mutex_lock(shared);
		_exit(0);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	CHECK_EQ("the child exited holding the mutex", st, 0);
	CHECK_EQ("the parent's lock is EOWNERDEAD", pthread_mutex_lock(shared), EOWNERDEAD);
	CHECK_EQ("consistent", pthread_mutex_consistent(shared), 0);
	CHECK_EQ("unlock", pthread_mutex_unlock(shared), 0);
	T_DONE();
}
