/* A process-shared futex wait in a task whose other thread is busy with
 * calls about other processes at the same time: each wait is woken by a
 * forked child and must end in 0, EAGAIN (the word already changed) or
 * its timeout, never in another error. A System V semaphore wait the
 * same way. */
#include "../test.h"
#define T_FUTEX_WAIT 0
#define T_FUTEX_WAKE 1
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/wait.h>

#define ROUNDS 100

static atomic_int stop;
static atomic_int other_pid;

/* Asks about another process all the time. */
static void *busy(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		int p = atomic_load(&other_pid);
		if (p > 0) {
			kill(p, 0);
			getpgid(p);
		}
		getppid();
	}
	return NULL;
}

int main(void)
{
	T_BEGIN();
	atomic_int *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK("mmap shared anonymous", word != MAP_FAILED);
	pthread_t t;
	CHECK_EQ("start the busy thread", pthread_create(&t, NULL, busy, NULL), 0);

	int bad = 0;
	for (int i = 0; i < ROUNDS; i++) {
		atomic_store(word, 0);
		pid_t pid = fork();
		if (pid == 0) {
			t_sleep_ms(1);
			atomic_store(word, 1);
			syscall(SYS_futex, word, T_FUTEX_WAKE, 1, NULL, NULL, 0);
			_exit(0);
		}
		atomic_store(&other_pid, pid);
		int waits = 0;
		while (atomic_load(word) == 0 && waits < 200) {
			struct timespec ts = { 0, 50 * 1000000L };
			long r = syscall(SYS_futex, word, T_FUTEX_WAIT, 0, &ts, NULL, 0);
			if (r != 0 && errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT)
				bad++;
			waits++;
		}
		waitpid(pid, NULL, 0);
	}
	CHECK_EQ("every shared futex wait ended in 0, EAGAIN or its timeout", bad, 0);

	int sem = semget(IPC_PRIVATE, 1, 0600);
	CHECK("semget", sem >= 0);
	int sem_bad = 0;
	for (int i = 0; i < ROUNDS / 2; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			t_sleep_ms(1);
			struct sembuf up = { 0, 1, 0 };
			_exit(semop(sem, &up, 1) == 0 ? 0 : 1);
		}
		atomic_store(&other_pid, pid);
		struct sembuf down = { 0, -1, 0 };
		if (semop(sem, &down, 1) != 0)
			sem_bad++;
		waitpid(pid, NULL, 0);
	}
	CHECK_EQ("every semop wait ended when the child posted", sem_bad, 0);
	semctl(sem, 0, IPC_RMID);

	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	T_DONE();
}
