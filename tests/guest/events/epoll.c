// build: -pthread
/* epoll(7): level and edge triggering, EPOLLONESHOT and re-arming with
 * EPOLL_CTL_MOD, the data word, pipes, eventfds and nested epoll fds,
 * registrations tied to the open file description (close of one of two
 * dups), the error codes of epoll_ctl and epoll_wait, maxevents, timeouts,
 * a wait woken by another thread, and epoll_pwait's signal mask. */
#include "../test.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>

static int add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event e = { .events = events, .data.u64 = data };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

static int mod(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event e = { .events = events, .data.u64 = data };
	return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

static void *late_writer(void *arg)
{
	int fd = *(int *)arg;
	t_pause_ms(50);
	write(fd, "x", 1);
	return NULL;
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }

int main(void)
{
	T_BEGIN();
	struct epoll_event ev[8];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK("epoll_create1", ep >= 0);
	CHECK_EQ("cloexec", fcntl(ep, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	CHECK_ERR("epoll_create(0)", syscall(SYS_epoll_create, 0), EINVAL);
	CHECK_ERR("epoll_create1 flags", epoll_create1(1), EINVAL);
	int p[2];
	pipe(p);

	/* Level triggered: reported while data stays. */
	CHECK_OK("add read end", add(ep, p[0], EPOLLIN, 42));
	CHECK_ERR("add twice", add(ep, p[0], EPOLLIN, 1), EEXIST);
	CHECK_EQ("nothing yet", epoll_wait(ep, ev, 8, 0), 0);
	write(p[1], "ab", 2);
	CHECK_EQ("readable", epoll_wait(ep, ev, 8, 0), 1);
	CHECK_EQ("events", ev[0].events, EPOLLIN);
	CHECK_EQ("data", ev[0].data.u64, 42);
	CHECK_EQ("level: again", epoll_wait(ep, ev, 8, 0), 1);

	/* Edge triggered: once per edge. */
	CHECK_OK("mod to edge", mod(ep, p[0], EPOLLIN | EPOLLET, 43));
	CHECK_EQ("edge: first", epoll_wait(ep, ev, 8, 0), 1);
	CHECK_EQ("edge: data", ev[0].data.u64, 43);
	CHECK_EQ("edge: not again", epoll_wait(ep, ev, 8, 0), 0);
	char buf[8];
	CHECK_EQ("drain", read(p[0], buf, sizeof buf), 2);
	CHECK_EQ("edge: empty", epoll_wait(ep, ev, 8, 0), 0);
	write(p[1], "c", 1);
	CHECK_EQ("edge: new data is a new edge", epoll_wait(ep, ev, 8, 0), 1);
	read(p[0], buf, sizeof buf);

	/* One-shot: disabled after one report until re-armed. */
	CHECK_OK("mod to oneshot", mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 44));
	write(p[1], "d", 1);
	CHECK_EQ("oneshot: first", epoll_wait(ep, ev, 8, 0), 1);
	CHECK_EQ("oneshot: disabled", epoll_wait(ep, ev, 8, 0), 0);
	CHECK_OK("re-arm", mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 45));
	CHECK_EQ("oneshot: re-armed", epoll_wait(ep, ev, 8, 0), 1);
	CHECK_EQ("oneshot: new data", ev[0].data.u64, 45);
	read(p[0], buf, sizeof buf);
	CHECK_OK("delete", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
	CHECK_ERR("delete again", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), ENOENT);
	CHECK_ERR("mod unregistered", mod(ep, p[0], EPOLLIN, 0), ENOENT);

	/* Writable end, EPOLLHUP when the reader goes. */
	int q[2];
	pipe(q);
	CHECK_OK("add write end", add(ep, q[1], EPOLLOUT, 7));
	CHECK_EQ("writable", epoll_wait(ep, ev, 8, 0), 1);
	CHECK_EQ("EPOLLOUT", ev[0].events, EPOLLOUT);
	close(q[0]);
	CHECK_EQ("reader gone", epoll_wait(ep, ev, 8, 0), 1);
	CHECK_EQ("EPOLLOUT|EPOLLERR", ev[0].events, EPOLLOUT | EPOLLERR);
	CHECK_OK("delete write end", epoll_ctl(ep, EPOLL_CTL_DEL, q[1], NULL));
	close(q[1]);

	/* Several ready, maxevents smaller than that. */
	int e1 = eventfd(1, 0), e2 = eventfd(1, 0), e3 = eventfd(0, 0);
	add(ep, e1, EPOLLIN, 1);
	add(ep, e2, EPOLLIN, 2);
	add(ep, e3, EPOLLIN, 3);
	CHECK_EQ("two of three ready", epoll_wait(ep, ev, 8, 0), 2);
	CHECK_EQ("maxevents 1", epoll_wait(ep, ev, 1, 0), 1);
	int first = (int)ev[0].data.u64;
	CHECK_EQ("maxevents 1 again", epoll_wait(ep, ev, 1, 0), 1);
	CHECK("the other one comes next", (int)ev[0].data.u64 != first);

	/* The registration follows the open file description. */
	int dup_e1 = dup(e1);
	close(e1);
	CHECK_EQ("closed fd, dup open: still reported", epoll_wait(ep, ev, 8, 0), 2);
	close(dup_e1);
	CHECK_EQ("last reference closed: gone", epoll_wait(ep, ev, 8, 0), 1);
	CHECK_EQ("the remaining one", ev[0].data.u64, 2);

	/* Nested epoll. */
	int outer = epoll_create1(0);
	CHECK_OK("epoll in epoll", add(outer, ep, EPOLLIN, 99));
	CHECK_EQ("outer sees inner ready", epoll_wait(outer, ev, 8, 0), 1);
	CHECK_EQ("outer data", ev[0].data.u64, 99);
	CHECK_ERR("cycle", add(ep, outer, EPOLLIN, 0), ELOOP);
	CHECK_ERR("itself", add(ep, ep, EPOLLIN, 0), EINVAL);

	/* Error codes. */
	int reg = open("/proc/self/exe", O_RDONLY);
	CHECK_ERR("regular file", add(ep, reg, EPOLLIN, 0), EPERM);
	CHECK_ERR("not an epoll fd", add(p[0], e2, EPOLLIN, 0), EINVAL);
	CHECK_ERR("bad fd", add(ep, 1000, EPOLLIN, 0), EBADF);
	CHECK_ERR("bad op", epoll_ctl(ep, 7, e2, &ev[0]), EINVAL);
	CHECK_ERR("bad event pointer", epoll_ctl(ep, EPOLL_CTL_ADD, e3, (void *)8), EFAULT);
	CHECK_ERR("exclusive with oneshot", add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 0), EINVAL);
	CHECK_OK("exclusive", add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 0));
	CHECK_ERR("exclusive cannot be modified", mod(ep, p[0], EPOLLIN, 0), EINVAL);
	CHECK_ERR("maxevents 0", epoll_wait(ep, ev, 0, 0), EINVAL);
	CHECK_ERR("maxevents negative", syscall(SYS_epoll_wait, ep, ev, -1, 0), EINVAL);
	CHECK_ERR("events not writable", syscall(SYS_epoll_wait, ep, (void *)8, 1, 0), EFAULT);
	CHECK_ERR("wait on non-epoll", epoll_wait(e2, ev, 1, 0), EINVAL);
	epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);
	close(reg);

	/* A blocking wait woken by another thread; and a timeout. */
	epoll_ctl(ep, EPOLL_CTL_DEL, e2, NULL);
	add(ep, p[0], EPOLLIN, 5);
	CHECK_EQ("timeout", epoll_wait(ep, ev, 8, 30), 0);
	pthread_t t;
	pthread_create(&t, NULL, late_writer, &p[1]);
	CHECK_EQ("woken by the thread's write", epoll_wait(ep, ev, 8, 5000), 1);
	CHECK_EQ("woken data", ev[0].data.u64, 5);
	pthread_join(t, NULL);
	read(p[0], buf, sizeof buf);

	/* epoll_pwait: the signal blocked outside is let through during the wait. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t block, none;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	kill(getpid(), SIGUSR1);
	sigemptyset(&none);
	CHECK_ERR("pwait lets the pending signal in", epoll_pwait(ep, ev, 8, 5000, &none), EINTR);
	CHECK("handler ran", got_usr1);
	T_DONE();
}
