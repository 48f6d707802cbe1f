/* Closing a pipe's read end takes effect at once, also while the task's
 * fds are being published for other tasks' /proc/PID/fd: a write right
 * after the close fails with EPIPE every time. Each round makes a new pipe
 * and sleeps a millisecond in poll on it (a call that may sleep is what
 * publishes a changed fd table), then closes the reader and writes. */
#include "../test.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#define ROUNDS 2000

int main(void)
{
	T_BEGIN();
	signal(SIGPIPE, SIG_IGN);
	int found = 0, made = 0;
	for (int i = 0; i < ROUNDS; i++) {
		int q[2];
		if (pipe(q) != 0)
			break;
		made++;
		struct pollfd p = { q[0], POLLIN, 0 };
		poll(&p, 1, 1);
		close(q[0]);
		if (write(q[1], "x", 1) != -1 || errno != EPIPE)
			found++;
		close(q[1]);
	}
	CHECK_EQ("pipes made", made, ROUNDS);
	CHECK_EQ("writes that found the closed reader still there", found, 0);
	T_DONE();
}
