/* An eventfd shared across fork, as Linux shares the open file description:
 * the eventfd(2) example (a child writes, its parent reads the sum); a
 * parent blocked in read, in poll and in epoll_wait woken by its child's
 * write; a child's read emptying the parent's counter; a writer blocked on
 * a full counter in one process released by a read in the other; a
 * grandchild's write seen by the grandparent. */
#include "../test.h"
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

static int wait_child(pid_t pid)
{
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int write_u64(int fd, uint64_t v)
{
	return write(fd, &v, 8) == 8 ? 0 : -1;
}

int main(void)
{
	T_BEGIN();
	uint64_t v = 0;

	/* The eventfd(2) example: the child writes 1, 2, 3; the parent reads 6. */
	int efd = eventfd(0, 0);
	CHECK("eventfd", efd >= 0);
	pid_t pid = fork();
	if (pid == 0) {
		for (uint64_t i = 1; i <= 3; i++)
			if (write_u64(efd, i) != 0)
				_exit(1);
		_exit(0);
	}
	CHECK_EQ("the writing child exits 0", wait_child(pid), 0);
	CHECK_EQ("read after the child's writes", read(efd, &v, 8), 8);
	CHECK_EQ("the parent reads the child's sum", (long)v, 6);

	/* A blocked read in the parent, woken by the child's write. */
	pid = fork();
	if (pid == 0) {
		t_sleep_ms(50);
		_exit(write_u64(efd, 7) == 0 ? 0 : 1);
	}
	v = 0;
	CHECK_EQ("a blocked read returns once the child writes", read(efd, &v, 8), 8);
	CHECK_EQ("it reads the child's value", (long)v, 7);
	CHECK_EQ("child exits 0", wait_child(pid), 0);

	/* poll and epoll in the parent, woken by the child's write. */
	pid = fork();
	if (pid == 0) {
		t_sleep_ms(50);
		_exit(write_u64(efd, 1) == 0 ? 0 : 1);
	}
	struct pollfd p = {.fd = efd, .events = POLLIN};
	CHECK_EQ("poll wakes for the child's write", poll(&p, 1, 5000), 1);
	CHECK_EQ("POLLIN", p.revents, POLLIN);
	CHECK_EQ("child exits 0", wait_child(pid), 0);
	CHECK_EQ("read it", read(efd, &v, 8), 8);

	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 42}, out;
	CHECK_OK("epoll_ctl ADD", epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev));
	pid = fork();
	if (pid == 0) {
		t_sleep_ms(50);
		_exit(write_u64(efd, 2) == 0 ? 0 : 1);
	}
	CHECK_EQ("epoll_wait wakes for the child's write", epoll_wait(ep, &out, 1, 5000), 1);
	CHECK_EQ("with the registered data", (long)out.data.u64, 42);
	CHECK_EQ("child exits 0", wait_child(pid), 0);
	CHECK_EQ("read it", read(efd, &v, 8), 8);
	CHECK_EQ("the value the child wrote", (long)v, 2);
	close(ep);

	/* The child reads what the parent wrote; the parent then finds it empty. */
	int nb = eventfd(5, EFD_NONBLOCK | EFD_SEMAPHORE);
	pid = fork();
	if (pid == 0) {
		uint64_t x = 0;
		_exit(read(nb, &x, 8) == 8 && x == 1 ? 0 : 1);
	}
	CHECK_EQ("the child takes one unit of the semaphore", wait_child(pid), 0);
	int taken = 0;
	while (read(nb, &v, 8) == 8)
		taken++;
	CHECK_EQ("the parent finds the four left", taken, 4);
	CHECK_EQ("then EAGAIN", errno, EAGAIN);

	/* A writer blocked on a full counter in the child, released by the
	 * parent's read. */
	int full = eventfd(0, 0);
	CHECK_OK("fill to the maximum", write_u64(full, UINT64_MAX - 1));
	pid = fork();
	if (pid == 0)
		_exit(write_u64(full, 3) == 0 ? 0 : 1);
	t_sleep_ms(50);
	CHECK_EQ("read the maximum", read(full, &v, 8), 8);
	CHECK("it was the maximum", v == UINT64_MAX - 1);
	CHECK_EQ("the child's blocked write completes", wait_child(pid), 0);
	CHECK_EQ("read the child's value", read(full, &v, 8), 8);
	CHECK_EQ("which is 3", (long)v, 3);

	/* A grandchild's write. */
	pid = fork();
	if (pid == 0) {
		pid_t g = fork();
		if (g == 0)
			_exit(write_u64(efd, 11) == 0 ? 0 : 1);
		_exit(wait_child(g));
	}
	CHECK_EQ("the grandchild wrote", wait_child(pid), 0);
	CHECK_EQ("read it", read(efd, &v, 8), 8);
	CHECK_EQ("the grandchild's value", (long)v, 11);
	T_DONE();
}
