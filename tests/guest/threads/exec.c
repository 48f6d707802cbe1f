// build: -pthread
/* execve from a thread that is not the main one: every other thread ends,
 * the exec'ing thread takes over the thread group leader's pid, and the new
 * image starts with a single thread whose tid is that pid. The program
 * execs itself (/proc/self/exe) with "image PID", and the new image checks
 * what it sees. */
#include "../test.h"
#include <pthread.h>
#include <semaphore.h>

static pid_t tid(void) { return (pid_t)syscall(SYS_gettid); }

static int new_image(const char *old_pid, const char *old_tid)
{
	CHECK("image: getpid() is the pid before execve", getpid() == atoi(old_pid));
	CHECK("image: the exec'ing thread's old tid was not the pid", atoi(old_tid) != atoi(old_pid));
	CHECK("image: gettid() equals getpid()", tid() == getpid());
	CHECK_EQ("image: /proc/self/task lists one task", t_task_count(), 1);
	char path[64], line[256] = "";
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", getpid());
	CHECK("image: that task is the pid", t_read_file(path, line, sizeof line) > 0);
	T_DONE();
}

static sem_t started;
static void *blocks(void *arg)
{
	sem_post(&started);
	for (;;)
		pause();
	return arg;
}

static char pid_arg[16], tid_arg[16];
static void *execs(void *arg)
{
	(void)arg;
	snprintf(pid_arg, sizeof pid_arg, "%d", getpid());
	snprintf(tid_arg, sizeof tid_arg, "%d", tid());
	char *argv[] = { "exec-image", "image", pid_arg, tid_arg, NULL };
	char *envp[] = { NULL };
	fflush(stdout);
	execve("/proc/self/exe", argv, envp);
	printf("FAIL execve from a thread: errno %d\n", errno);
	exit(1);
}

int main(int argc, char **argv)
{
	T_BEGIN();
	if (argc == 4 && strcmp(argv[1], "image") == 0)
		return new_image(argv[2], argv[3]);
	alarm(30); /* a hang becomes a SIGALRM death, not a stuck suite (kept across execve) */
	sem_init(&started, 0, 0);
	pthread_t a, b;
	pthread_create(&a, NULL, blocks, NULL);
	pthread_create(&b, NULL, blocks, NULL);
	sem_wait(&started);
	sem_wait(&started);
	CHECK_EQ("three tasks before execve", t_task_count(), 3);
	pthread_t e;
	pthread_create(&e, NULL, execs, NULL);
	pthread_join(e, NULL); /* never returns: the execve ends this thread */
	printf("FAIL the main thread survived execve\n");
	return 1;
}
