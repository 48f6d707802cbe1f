/* Edge-triggered epoll on the kinds of fd Linux serves itself: a new
 * event while the file is still readable is a new edge when Linux wakes
 * the file's waiters for it. An eventfd write (even while the count is
 * not zero), a signal newly queued for a signalfd (another standard
 * signal, a real-time one again; not a standard one already pending) and
 * a new inotify event each report again; a timerfd's later expiry before
 * it is read does not (Linux restarts a periodic timerfd's timer at the
 * read), nor does nothing at all. Waits are epoll_wait with timeout 0
 * after the event is made, except for the timer. */
#include "../test.h"
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

static int ep;

static int ready(void)
{
	struct epoll_event e[4];
	return epoll_wait(ep, e, 4, 0);
}

static int add(int fd)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLET, .data.fd = fd };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

int main(void)
{
	T_BEGIN();
	ep = epoll_create1(0);
	CHECK_OK("epoll_create1", ep);

	uint64_t one = 1;
	int efd = eventfd(0, EFD_NONBLOCK);
	CHECK_OK("eventfd: EPOLLIN | EPOLLET", add(efd));
	CHECK_EQ("eventfd: nothing yet", ready(), 0);
	CHECK_EQ("eventfd: write", write(efd, &one, 8), 8);
	CHECK_EQ("eventfd: reported", ready(), 1);
	CHECK_EQ("eventfd: not again", ready(), 0);
	CHECK_EQ("eventfd: write while readable", write(efd, &one, 8), 8);
	CHECK_EQ("eventfd: a new edge", ready(), 1);
	CHECK_EQ("eventfd: not again after it", ready(), 0);
	close(efd);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_NONBLOCK);
	CHECK_OK("signalfd: EPOLLIN | EPOLLET", add(sfd));
	CHECK_EQ("signalfd: nothing yet", ready(), 0);
	CHECK_OK("signalfd: SIGUSR1", kill(getpid(), SIGUSR1));
	CHECK_EQ("signalfd: reported", ready(), 1);
	CHECK_EQ("signalfd: not again", ready(), 0);
	CHECK_OK("signalfd: SIGUSR1 again", kill(getpid(), SIGUSR1));
	CHECK_EQ("signalfd: one already pending is no new edge", ready(), 0);
	CHECK_OK("signalfd: SIGUSR2", kill(getpid(), SIGUSR2));
	CHECK_EQ("signalfd: another signal is a new edge", ready(), 1);
	union sigval v = { 0 };
	CHECK_OK("signalfd: SIGRTMIN", sigqueue(getpid(), SIGRTMIN, v));
	CHECK_EQ("signalfd: a real-time signal is a new edge", ready(), 1);
	CHECK_OK("signalfd: SIGRTMIN again", sigqueue(getpid(), SIGRTMIN, v));
	CHECK_EQ("signalfd: queued again, a new edge again", ready(), 1);
	CHECK_EQ("signalfd: not again after it", ready(), 0);
	struct signalfd_siginfo ssi[8];
	CHECK("signalfd: read them", read(sfd, ssi, sizeof ssi) > 0);
	close(sfd);

	char dir[] = "/tmp/epoll_et_own.XXXXXX";
	CHECK("mkdtemp", mkdtemp(dir) != NULL);
	char path[64];
	snprintf(path, sizeof path, "%s/f", dir);
	int ino = inotify_init1(IN_NONBLOCK);
	CHECK_OK("inotify: watch", inotify_add_watch(ino, dir, IN_CREATE | IN_DELETE));
	CHECK_OK("inotify: EPOLLIN | EPOLLET", add(ino));
	CHECK_EQ("inotify: nothing yet", ready(), 0);
	close(open(path, O_CREAT | O_RDWR, 0600));
	CHECK_EQ("inotify: creation reported", ready(), 1);
	CHECK_EQ("inotify: not again", ready(), 0);
	CHECK_OK("inotify: unlink", unlink(path));
	CHECK_EQ("inotify: a new event is a new edge", ready(), 1);
	CHECK_EQ("inotify: not again after it", ready(), 0);
	close(ino);
	CHECK_OK("rmdir", rmdir(dir));

	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	CHECK_OK("timerfd: EPOLLIN | EPOLLET", add(tfd));
	struct itimerspec its = { { 0, 20 * 1000 * 1000 }, { 0, 20 * 1000 * 1000 } };
	CHECK_OK("timerfd: every 20 ms", timerfd_settime(tfd, 0, &its, NULL));
	struct epoll_event e[4];
	CHECK_EQ("timerfd: first expiry", epoll_wait(ep, e, 4, 5000), 1);
	struct timespec ts = { 0, 60 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	CHECK_EQ("timerfd: later expiries before a read are no new edge", ready(), 0);
	uint64_t n;
	CHECK_EQ("timerfd: read", read(tfd, &n, 8), 8);
	CHECK("timerfd: at least two expirations", n >= 2);
	close(tfd);
	T_DONE();
}
