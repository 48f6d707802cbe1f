/* A timerfd turns readable when it expires, with no call from the program:
 * poll and select sleep until then, report POLLIN alone, and a fork
 * child's copy of an armed timer expires in the child too. The sleeps
 * have no timeout, so a timer that never wakes them fails the program by
 * its alarm() watchdog rather than passing late. */
#include "../test.h"
#include <poll.h>
#include <stdint.h>
#include <sys/select.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#define MS 1000000L

static void arm(int fd, long value_ns, long interval_ns)
{
	struct itimerspec s = {{interval_ns / 1000000000L, interval_ns % 1000000000L},
			       {value_ns / 1000000000L, value_ns % 1000000000L}};
	timerfd_settime(fd, 0, &s, NULL);
}

int main(void)
{
	T_BEGIN();
	alarm(30);
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	CHECK_OK("timerfd_create", fd);

	struct pollfd p = {fd, POLLIN | POLLOUT | POLLPRI, 0};
	CHECK_EQ("disarmed: not ready", poll(&p, 1, 0), 0);
	arm(fd, 30 * MS, 0);
	CHECK_EQ("armed: not ready yet", poll(&p, 1, 0), 0);
	CHECK_EQ("poll sleeps until the expiry", poll(&p, 1, -1), 1);
	CHECK_EQ("POLLIN alone (no POLLOUT, no POLLRDNORM)", p.revents, POLLIN);
	CHECK_EQ("still ready until read", poll(&p, 1, 0), 1);
	uint64_t n = 0;
	CHECK_EQ("read", read(fd, &n, 8), 8);
	CHECK_EQ("one expiration", n, 1);
	CHECK_EQ("not ready after the read", poll(&p, 1, 0), 0);

	/* Among other fds: a pipe that stays empty. */
	int pfd[2];
	pipe(pfd);
	arm(fd, 20 * MS, 0);
	struct pollfd two[2] = {{pfd[0], POLLIN, 0}, {fd, POLLIN, 0}};
	CHECK_EQ("poll of a pipe and a timerfd", poll(two, 2, -1), 1);
	CHECK_EQ("the pipe is quiet", two[0].revents, 0);
	CHECK_EQ("the timerfd is readable", two[1].revents, POLLIN);
	read(fd, &n, 8);

	/* select. */
	arm(fd, 20 * MS, 0);
	fd_set r;
	FD_ZERO(&r);
	FD_SET(fd, &r);
	FD_SET(pfd[0], &r);
	int maxfd = fd > pfd[0] ? fd : pfd[0];
	CHECK_EQ("select sleeps until the expiry", select(maxfd + 1, &r, NULL, NULL, NULL), 1);
	CHECK("select: the timerfd is readable", FD_ISSET(fd, &r) && !FD_ISSET(pfd[0], &r));
	read(fd, &n, 8);

	/* Periodic: readable again after each read. */
	arm(fd, 10 * MS, 10 * MS);
	int rounds = 0;
	for (int i = 0; i < 3; i++) {
		p.events = POLLIN;
		if (poll(&p, 1, -1) != 1 || read(fd, &n, 8) != 8 || n < 1)
			break;
		rounds++;
	}
	CHECK_EQ("periodic: readable again after each read", rounds, 3);
	arm(fd, 0, 0);

	/* A fork child's copy of an armed timer expires in the child. */
	arm(fd, 50 * MS, 0);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(20);
		struct pollfd c = {fd, POLLIN, 0};
		int r1 = poll(&c, 1, -1);
		uint64_t cn = 0;
		int r2 = read(fd, &cn, 8);
		_exit(r1 == 1 && r2 == 8 && cn == 1 ? 0 : 1);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	CHECK("the child's poll saw the expiry", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	T_DONE();
}
