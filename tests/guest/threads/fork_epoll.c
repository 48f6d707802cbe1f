// build: -pthread
/* A fork while another thread is inside epoll_ctl or epoll_wait on the
 * same epoll instance: the child's copy of the instance must be usable
 * (Linux's epoll has no lock a fork could leave held in the child). One
 * thread adds and removes a pipe and waits on the instance in a loop; the
 * main thread forks again and again, and each child adds, waits on and
 * removes a file of its own on its copy, then exits. Every child wait is
 * bounded: a child still running after 10 s counts as hung and is
 * killed. */
#include "../test.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#define FORKS 150

static int ep;
static int busy_pipe[2];
static atomic_int stop;

static void *hammer(void *arg)
{
	(void)arg;
	struct epoll_event ev = { .events = EPOLLIN };
	struct epoll_event out[4];
	while (!atomic_load(&stop)) {
		ev.data.fd = busy_pipe[0];
		epoll_ctl(ep, EPOLL_CTL_ADD, busy_pipe[0], &ev);
		epoll_wait(ep, out, 4, 0);
		epoll_ctl(ep, EPOLL_CTL_DEL, busy_pipe[0], NULL);
	}
	return NULL;
}

/* In the child: uses its copy of the instance; 0 when all went well. */
static int child_uses_copy(void)
{
	int p[2];
	if (pipe(p) < 0)
		return 1;
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = p[0] };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) < 0)
		return 2;
	if (write(p[1], "x", 1) != 1)
		return 3;
	struct epoll_event out[4];
	int n = epoll_wait(ep, out, 4, 1000);
	int found = 0;
	for (int i = 0; i < n; i++)
		found |= out[i].data.fd == p[0];
	if (!found)
		return 4;
	if (epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) < 0)
		return 5;
	return 0;
}

/* Waits at most 10 s for `c`; its exit status, or -1 if it hung. */
static int wait_bounded(pid_t c)
{
	int st;
	for (int i = 0; i < 1000; i++) {
		pid_t r = waitpid(c, &st, WNOHANG);
		if (r == c)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	kill(c, SIGKILL);
	waitpid(c, &st, 0);
	return -1;
}

int main(void)
{
	T_BEGIN();
	ep = epoll_create1(0);
	CHECK_OK("epoll_create1", ep);
	CHECK_OK("pipe", pipe(busy_pipe));
	pthread_t t;
	CHECK_EQ("thread", pthread_create(&t, NULL, hammer, NULL), 0);
	int hung = 0, failed = 0;
	for (int i = 0; i < FORKS && !hung; i++) {
		pid_t c = fork();
		if (c == 0)
			_exit(child_uses_copy());
		if (c < 0) {
			failed++;
			break;
		}
		int st = wait_bounded(c);
		if (st < 0)
			hung++;
		else if (st != 0)
			failed++;
	}
	atomic_store(&stop, 1);
	CHECK_EQ("join", pthread_join(t, NULL), 0);
	CHECK_EQ("no child hung on its copy of the instance", hung, 0);
	CHECK_EQ("every child used its copy", failed, 0);
	T_DONE();
}
