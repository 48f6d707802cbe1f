// build: -pthread
/* timerfd and signalfd in epoll: an expiry and a queued signal are
 * reported as EPOLLIN with the registration's data, only while ready; a
 * thread asleep in epoll_wait (no timeout: the alarm() watchdog fails the
 * program if nothing wakes it) wakes for either. */
#include "../test.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

enum { TIMER = 1, SIGNALS = 2 };

static int ep, tfd, sfd;
static volatile int woke_for;

static void arm(long ms)
{
	struct itimerspec s = {{0, 0}, {ms / 1000, (ms % 1000) * 1000000L}};
	timerfd_settime(tfd, 0, &s, NULL);
}

static void *sleeper(void *arg)
{
	(void)arg;
	struct epoll_event ev;
	if (epoll_wait(ep, &ev, 1, -1) == 1)
		woke_for = (int)ev.data.u64;
	return NULL;
}

int main(void)
{
	T_BEGIN();
	alarm(30);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	sfd = signalfd(-1, &s, SFD_NONBLOCK);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TIMER};
	CHECK_OK("epoll_ctl ADD timerfd", epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev));
	ev.data.u64 = SIGNALS;
	CHECK_OK("epoll_ctl ADD signalfd", epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev));

	struct epoll_event out[4];
	CHECK_EQ("nothing ready", epoll_wait(ep, out, 4, 0), 0);
	arm(20);
	CHECK_EQ("epoll_wait sleeps until the expiry", epoll_wait(ep, out, 4, -1), 1);
	CHECK_EQ("the timerfd's data", out[0].data.u64, TIMER);
	CHECK_EQ("EPOLLIN", out[0].events, EPOLLIN);
	uint64_t n;
	CHECK_EQ("read the count", read(tfd, &n, 8), 8);
	CHECK_EQ("quiet again", epoll_wait(ep, out, 4, 0), 0);

	kill(getpid(), SIGUSR1);
	CHECK_EQ("a queued signal is reported", epoll_wait(ep, out, 4, 0), 1);
	CHECK_EQ("the signalfd's data", out[0].data.u64, SIGNALS);
	CHECK_EQ("EPOLLIN for the signalfd", out[0].events, EPOLLIN);
	struct signalfd_siginfo si;
	CHECK_EQ("read the signal", read(sfd, &si, sizeof si), (long)sizeof si);
	CHECK_EQ("quiet after the read", epoll_wait(ep, out, 4, 0), 0);

	/* Another thread asleep in epoll_wait wakes for a signal to the process. */
	pthread_t th;
	pthread_create(&th, NULL, sleeper, NULL);
	t_pause_ms(30);
	kill(getpid(), SIGUSR1);
	pthread_join(th, NULL);
	CHECK_EQ("the sleeper woke for the signalfd", woke_for, SIGNALS);
	read(sfd, &si, sizeof si);

	/* ...and for an expiry. */
	woke_for = 0;
	pthread_create(&th, NULL, sleeper, NULL);
	arm(30);
	pthread_join(th, NULL);
	CHECK_EQ("the sleeper woke for the timerfd", woke_for, TIMER);
	T_DONE();
}
