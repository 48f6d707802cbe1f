// build: -pthread
/* Edge-triggered epoll on a socket registered for both EPOLLIN and EPOLLOUT,
 * as Go's netpoller and other event loops register every connection: the
 * socket is writable at once, and that edge is reported; data arriving
 * later is a new edge for EPOLLIN and must be reported too (with the
 * socket's whole readiness, EPOLLIN|EPOLLOUT), also to a thread already
 * asleep in epoll_wait. Then the same for a TCP connection accepted from a
 * listener that is itself edge-registered. POLLRDHUP in poll too. */
#include "../test.h"
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>

static int add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event e = { .events = events, .data.u64 = data };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

struct late {
	int fd;
	const char *what;
};

static void *late_writer(void *arg)
{
	struct late *l = arg;
	t_pause_ms(50);
	write(l->fd, l->what, 1);
	return NULL;
}

/* After the EPOLLOUT edge of `fd` was reported, data written to `peer`
 * (now, then by a thread while the caller sleeps) is reported. */
static void check_in_after_out(const char *what, int ep, int fd, int peer)
{
	struct epoll_event ev[4];
	char buf[8];
	CHECK_OK(what, add(ep, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, 5));
	CHECK_EQ("writable edge", epoll_wait(ep, ev, 4, 0), 1);
	CHECK_EQ("writable edge events", ev[0].events, EPOLLOUT);
	CHECK_EQ("reported once", epoll_wait(ep, ev, 4, 0), 0);
	CHECK_ERR("nothing to read yet", read(fd, buf, sizeof buf), EAGAIN);

	write(peer, "a", 1);
	CHECK_EQ("data is a new edge", epoll_wait(ep, ev, 4, 1000), 1);
	CHECK_EQ("events: all that is ready", ev[0].events, EPOLLIN | EPOLLOUT);
	CHECK_EQ("data", ev[0].data.u64, 5);
	CHECK_EQ("quiet again", epoll_wait(ep, ev, 4, 0), 0);
	CHECK_EQ("read", read(fd, buf, sizeof buf), 1);
	CHECK_ERR("drained", read(fd, buf, sizeof buf), EAGAIN);

	/* The same while asleep. */
	pthread_t t;
	struct late l = { peer, "b" };
	pthread_create(&t, NULL, late_writer, &l);
	CHECK_EQ("woken by data", epoll_wait(ep, ev, 4, 5000), 1);
	CHECK_EQ("woken: events", ev[0].events, EPOLLIN | EPOLLOUT);
	pthread_join(t, NULL);
	CHECK_EQ("read the late byte", read(fd, buf, sizeof buf), 1);

	/* The peer's shutdown is a new edge too. */
	shutdown(peer, SHUT_WR);
	CHECK_EQ("peer shut down", epoll_wait(ep, ev, 4, 1000), 1);
	CHECK_EQ("shutdown events", ev[0].events, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	CHECK_EQ("poll sees the shutdown", poll(&p, 1, 0), 1);
	CHECK_EQ("poll: POLLRDHUP", p.revents, POLLIN | POLLRDHUP);
	CHECK_OK("delete", epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL));
}

int main(void)
{
	T_BEGIN();
	int ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK("epoll_create1", ep >= 0);

	int sv[2];
	CHECK_OK("socketpair", socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
	check_in_after_out("unix socket", ep, sv[0], sv[1]);
	close(sv[0]);
	close(sv[1]);

	/* TCP: a listener registered for edges, a connection accepted on its
	 * edge, then that connection as above. */
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	CHECK_OK("bind", bind(l, (struct sockaddr *)&a, sizeof a));
	CHECK_OK("listen", listen(l, 8));
	getsockname(l, (struct sockaddr *)&a, &alen);
	CHECK_OK("add listener", add(ep, l, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, 1));
	struct epoll_event ev[4];
	CHECK_EQ("idle listener", epoll_wait(ep, ev, 4, 0), 0);
	CHECK_ERR("nothing to accept", accept4(l, NULL, NULL, SOCK_NONBLOCK), EAGAIN);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int r = connect(c, (struct sockaddr *)&a, sizeof a);
	CHECK("connect started", r == 0 || errno == EINPROGRESS);
	CHECK_EQ("listener edge", epoll_wait(ep, ev, 4, 1000), 1);
	CHECK_EQ("listener events", ev[0].events, EPOLLIN);
	int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	CHECK("accept", s >= 0);
	check_in_after_out("accepted tcp socket", ep, s, c);
	close(s);
	close(c);
	close(l);
	T_DONE();
}
