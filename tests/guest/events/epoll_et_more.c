// build: -pthread
/* Edge-triggered epoll on pipes and sockets (epoll(7)): each arrival of
 * data on a file still readable since the last report is a new edge and
 * is reported again (with every event ready then), a read that leaves
 * data behind is no edge, nothing new is nothing, and a waiter asleep on
 * a file reported readable wakes for more data. */
#include "../test.h"
#include <pthread.h>
#include <sys/epoll.h>

static int ep_wait(int ep, int ms, unsigned *events)
{
	struct epoll_event ev = { 0 };
	int n = epoll_wait(ep, &ev, 1, ms);
	if (events)
		*events = n == 1 ? ev.events : 0;
	return n;
}

static void more_data(const char *what, int r, int w)
{
	char line[128];
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = r };
	CHECK_OK("epoll_ctl ADD", epoll_ctl(ep, EPOLL_CTL_ADD, r, &ev));
	snprintf(line, sizeof line, "%s: nothing yet", what);
	CHECK_EQ(line, ep_wait(ep, 0, NULL), 0);
	CHECK_EQ("write", write(w, "a", 1), 1);
	snprintf(line, sizeof line, "%s: first data is an edge", what);
	CHECK_EQ(line, ep_wait(ep, 0, NULL), 1);
	snprintf(line, sizeof line, "%s: reported once", what);
	CHECK_EQ(line, ep_wait(ep, 0, NULL), 0);
	CHECK_EQ("write more", write(w, "b", 1), 1);
	snprintf(line, sizeof line, "%s: more data while still readable is an edge", what);
	CHECK_EQ(line, ep_wait(ep, 0, NULL), 1);
	snprintf(line, sizeof line, "%s: and is reported once", what);
	CHECK_EQ(line, ep_wait(ep, 0, NULL), 0);
	char c;
	CHECK_EQ("read one of two bytes", read(r, &c, 1), 1);
	snprintf(line, sizeof line, "%s: a read leaving data is no edge", what);
	CHECK_EQ(line, ep_wait(ep, 0, NULL), 0);
	CHECK_EQ("write a third", write(w, "c", 1), 1);
	snprintf(line, sizeof line, "%s: a third arrival is an edge", what);
	CHECK_EQ(line, ep_wait(ep, 0, NULL), 1);
	close(ep);
}

static int sleeper_ep;
static int sleeper_got;

static void *sleeper(void *arg)
{
	(void)arg;
	sleeper_got = ep_wait(sleeper_ep, 5000, NULL);
	return NULL;
}

int main(void)
{
	T_BEGIN();
	int p[2], sv[2];
	CHECK_OK("pipe", pipe(p));
	more_data("pipe", p[0], p[1]);
	CHECK_OK("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	more_data("unix socket", sv[0], sv[1]);
	close(sv[0]);
	close(sv[1]);

	/* Both directions: more data on a socket reported readable and
	 * writable reports both again, as Linux reports what is ready. */
	CHECK_OK("socketpair 2", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.fd = sv[0] };
	CHECK_OK("ADD in and out", epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev));
	unsigned got;
	CHECK_EQ("writable at once", ep_wait(ep, 0, &got), 1);
	CHECK_EQ("only writable", got, EPOLLOUT);
	CHECK_EQ("data", write(sv[1], "x", 1), 1);
	CHECK_EQ("data: an edge", ep_wait(ep, 0, &got), 1);
	CHECK_EQ("data: in and out", got, EPOLLIN | EPOLLOUT);
	CHECK_EQ("more data", write(sv[1], "y", 1), 1);
	CHECK_EQ("more data: an edge", ep_wait(ep, 0, &got), 1);
	CHECK_EQ("more data: in and out", got, EPOLLIN | EPOLLOUT);
	CHECK_EQ("then quiet", ep_wait(ep, 0, &got), 0);
	close(ep);

	/* A waiter asleep on a socket already reported readable wakes for
	 * more data. */
	sleeper_ep = epoll_create1(0);
	ev.events = EPOLLIN | EPOLLET;
	CHECK_OK("ADD for the sleeper", epoll_ctl(sleeper_ep, EPOLL_CTL_ADD, sv[0], &ev));
	CHECK_EQ("readable (xy unread)", ep_wait(sleeper_ep, 0, NULL), 1);
	pthread_t t;
	CHECK_EQ("start the sleeper", pthread_create(&t, NULL, sleeper, NULL), 0);
	usleep(100 * 1000);
	CHECK_EQ("more data for the sleeper", write(sv[1], "z", 1), 1);
	pthread_join(t, NULL);
	CHECK_EQ("the sleeper woke with the edge", sleeper_got, 1);
	T_DONE();
}
