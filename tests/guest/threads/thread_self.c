// build: -pthread
/* /proc/thread-self names the calling thread (PID/task/TID), in the main
 * thread and in another one, and its comm is that thread's name. */
#include "../test.h"
#include <pthread.h>
#include <stdint.h>

static int names_me(void)
{
	char got[64] = {0}, want[64];
	if (readlink("/proc/thread-self", got, sizeof got - 1) < 0)
		return 0;
	snprintf(want, sizeof want, "%d/task/%ld", getpid(), (long)syscall(SYS_gettid));
	return strcmp(got, want) == 0;
}

static int comm_is(const char *name)
{
	char buf[32] = {0};
	int fd = open("/proc/thread-self/comm", O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	char want[32];
	snprintf(want, sizeof want, "%s\n", name);
	return n > 0 && strcmp(buf, want) == 0;
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "worker-b");
	intptr_t ok = names_me() | comm_is("worker-b") << 1;
	return (void *)ok;
}

int main(void)
{
	alarm(30);
	CHECK("/proc/thread-self in the main thread", names_me());
	pthread_t t;
	void *ret = NULL;
	CHECK_EQ("create", pthread_create(&t, NULL, worker, NULL), 0);
	pthread_join(t, &ret);
	CHECK_EQ("/proc/thread-self in another thread", (intptr_t)ret & 1, 1);
	CHECK_EQ("its comm is that thread's name", (intptr_t)ret >> 1 & 1, 1);
	T_DONE();
}
