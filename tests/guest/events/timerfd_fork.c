/* A timerfd is shared with a fork child, as Linux shares the open file
 * description: the child's read takes the expiration the parent would have
 * read; a setting the child makes is the parent's timer's; a parent asleep
 * in poll wakes when a timer the child armed expires; a child that execs
 * keeps the same timer, and its read after the exec takes the expiration
 * from the parent too. Every wait is bounded. */
#include "../test.h"
#include <poll.h>
#include <stdint.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#define MS 1000000L
#define TFD 10

static void arm(int fd, long value_ns, long interval_ns)
{
	struct itimerspec s = {{interval_ns / 1000000000L, interval_ns % 1000000000L},
			       {value_ns / 1000000000L, value_ns % 1000000000L}};
	timerfd_settime(fd, 0, &s, NULL);
}

static int child_status(pid_t pid)
{
	int st = -1;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

/* Waits (bounded) for the timer and reads one expiration. */
static int read_one(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	uint64_t n = 0;
	if (poll(&p, 1, 5000) != 1)
		return 1;
	if (read(fd, &n, 8) != 8)
		return 2;
	return n == 1 ? 0 : 3;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "after-exec") == 0)
		return read_one(TFD);
	T_BEGIN();
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	CHECK_EQ("timerfd_create at fd 10", dup2(fd, TFD), TFD);
	close(fd);
	uint64_t n = 0;

	/* The child reads the expiration; the parent finds none left. */
	arm(TFD, 20 * MS, 0);
	pid_t pid = fork();
	if (pid == 0)
		_exit(read_one(TFD));
	CHECK_EQ("the child reads the expiration", child_status(pid), 0);
	CHECK_ERR("the parent finds it taken", read(TFD, &n, 8), EAGAIN);

	/* A setting the child makes is the parent's timer's. */
	pid = fork();
	if (pid == 0) {
		arm(TFD, 3600 * 1000 * MS, 7 * MS);
		_exit(0);
	}
	CHECK_EQ("the child sets the timer", child_status(pid), 0);
	struct itimerspec cur;
	CHECK_OK("timerfd_gettime in the parent", timerfd_gettime(TFD, &cur));
	CHECK_EQ("shows the child's period", cur.it_interval.tv_nsec, 7 * MS);
	CHECK("and that it is armed", cur.it_value.tv_sec > 0);

	/* The parent asleep in poll wakes when the timer the child armed expires. */
	arm(TFD, 0, 0);
	int go[2];
	CHECK_OK("pipe", pipe(go));
	pid = fork();
	if (pid == 0) {
		char c;
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		arm(TFD, 20 * MS, 0);
		struct pollfd p = {TFD, POLLIN, 0};
		_exit(poll(&p, 1, 5000) == 1 ? 0 : 2);
	}
	CHECK_EQ("start the child", write(go[1], "g", 1), 1);
	struct pollfd p = {TFD, POLLIN, 0};
	CHECK_EQ("the parent's poll wakes at the child's timer's expiry", poll(&p, 1, 5000), 1);
	CHECK_EQ("the child saw it too", child_status(pid), 0);
	CHECK_EQ("the parent reads it", read(TFD, &n, 8), 8);
	CHECK_EQ("one expiration", (long)n, 1);

	/* A child that execs keeps the shared timer. */
	arm(TFD, 50 * MS, 0);
	pid = fork();
	if (pid == 0) {
		char self[4096];
		ssize_t l = readlink("/proc/self/exe", self, sizeof self - 1);
		if (l <= 0)
			_exit(4);
		self[l] = 0;
		execl(self, self, "after-exec", (char *)NULL);
		_exit(5);
	}
	CHECK_EQ("the new program reads the expiration", child_status(pid), 0);
	CHECK_ERR("the parent finds it taken", read(TFD, &n, 8), EAGAIN);
	CHECK_OK("timerfd_gettime", timerfd_gettime(TFD, &cur));
	CHECK("the one-shot timer is disarmed", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
	T_DONE();
}
