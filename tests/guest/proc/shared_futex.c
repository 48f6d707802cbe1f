/* Futexes and process-shared semaphores and mutexes in memory that a parent
 * and its fork child share (MAP_SHARED anonymous and a shared file
 * mapping): a waiter in one process is woken by the other. */
#include "../test.h"
#include <pthread.h>
#include <stdatomic.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

/* futex(2) operations (include/uapi/linux/futex.h; musl ships no linux/ headers). */
#define T_FUTEX_WAIT 0
#define T_FUTEX_WAKE 1
#define T_FUTEX_PRIVATE 128

static long futex(atomic_int *addr, int op, int val)
{
	return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

struct shared {
	atomic_int word;
	atomic_int child_ready;
	sem_t sem;
	pthread_mutex_t mutex;
	int counter;
};

/* The child waits on the raw futex until the parent flips the word. */
static void raw_futex(struct shared *s, const char *what)
{
	atomic_store(&s->word, 0);
	atomic_store(&s->child_ready, 0);
	pid_t pid = fork();
	if (pid == 0) {
		atomic_store(&s->child_ready, 1);
		while (atomic_load(&s->word) == 0)
			futex(&s->word, T_FUTEX_WAIT, 0);
		_exit(atomic_load(&s->word) == 7 ? 0 : 1);
	}
	while (!atomic_load(&s->child_ready))
		t_pause_ms(1);
	t_pause_ms(30); /* let the child reach FUTEX_WAIT */
	atomic_store(&s->word, 7);
	long woken = futex(&s->word, T_FUTEX_WAKE, 1);
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(what, WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK("FUTEX_WAKE returned 0 or 1", woken == 0 || woken == 1);
}

int main(void)
{
	T_BEGIN();
	struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK("mmap shared anonymous", s != MAP_FAILED);

	raw_futex(s, "raw futex across fork (shared anonymous)");

	/* A private futex op on private memory never crosses processes: a wait
	 * with a mismatched value fails at once with EAGAIN. */
	atomic_int private_word = 5;
	CHECK_ERR("FUTEX_WAIT on a changed value", futex(&private_word, T_FUTEX_WAIT | T_FUTEX_PRIVATE, 4), EAGAIN);

	/* A process-shared semaphore: the child posts after a delay. */
	CHECK_OK("sem_init pshared", sem_init(&s->sem, 1, 0));
	pid_t pid = fork();
	if (pid == 0) {
		t_pause_ms(30);
		sem_post(&s->sem);
		_exit(0);
	}
	CHECK_OK("sem_wait woken by the child", sem_wait(&s->sem));
	waitpid(pid, NULL, 0);

	/* A process-shared mutex guarding a counter both processes increment. */
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	CHECK_OK("pthread_mutex_init pshared", pthread_mutex_init(&s->mutex, &ma));
	s->counter = 0;
	enum { ROUNDS = 2000 };
	pid = fork();
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&s->mutex);
		int c = s->counter;
		if (i % 97 == 0)
			sched_yield();
		s->counter = c + 1;
		pthread_mutex_unlock(&s->mutex);
	}
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	CHECK_EQ("counter under a process-shared mutex", s->counter, 2 * ROUNDS);

	/* The same through a shared file mapping. */
	/* The file lives in a private scratch directory, never in /tmp itself. */
	t_tmpdir_begin();
	int fd = open("shared", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	CHECK("create the file", fd >= 0);
	unlink("shared");
	CHECK_OK("ftruncate", ftruncate(fd, 4096));
	struct shared *f = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK("mmap shared file", f != MAP_FAILED);
	raw_futex(f, "raw futex across fork (shared file mapping)");
	t_tmpdir_end();
	T_DONE();
}
