// build: -pthread
/* eventfd(2): counter semantics, EFD_SEMAPHORE, EFD_NONBLOCK, the 8-byte
 * rule, the overflow limit, readiness in poll and select, a read blocked
 * in one thread woken by a write in another, a signal interrupting a
 * blocked read, and what fstat and /proc/self/fd show. */
#include "../test.h"
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/time.h>
#include <time.h>

static void *writer(void *arg)
{
	int fd = *(int *)arg;
	t_pause_ms(50);
	uint64_t v = 7;
	write(fd, &v, 8);
	return NULL;
}

static void on_alarm(int sig) { (void)sig; }

/* Reads the count down after a pause, making room for a blocked write. */
static void *reader(void *arg)
{
	int fd = *(int *)arg;
	t_pause_ms(50);
	uint64_t v;
	read(fd, &v, 8);
	return NULL;
}

int main(void)
{
	T_BEGIN();
	uint64_t v = 0;
	int fd = eventfd(3, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK("eventfd", fd >= 0);
	CHECK_EQ("cloexec set", fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	CHECK_EQ("O_NONBLOCK and O_RDWR", fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ACCMODE), O_NONBLOCK | O_RDWR);
	CHECK_EQ("read takes the whole count", read(fd, &v, 8), 8);
	CHECK_EQ("count was the initial value", v, 3);
	CHECK_ERR("empty nonblocking read", read(fd, &v, 8), EAGAIN);
	CHECK_ERR("short read", read(fd, &v, 4), EINVAL);
	v = 5;
	CHECK_EQ("write", write(fd, &v, 8), 8);
	CHECK_EQ("write adds", write(fd, &v, 8), 8);
	uint64_t two[2] = { 0, 0 };
	CHECK_EQ("a longer buffer reads 8", read(fd, two, 16), 8);
	CHECK_EQ("sum is 10", two[0], 10);
	CHECK_ERR("short write", write(fd, &v, 7), EINVAL);
	v = UINT64_MAX;
	CHECK_ERR("write of 2^64-1", write(fd, &v, 8), EINVAL);
	v = UINT64_MAX - 1;
	CHECK_EQ("write up to the limit", write(fd, &v, 8), 8);
	v = 1;
	CHECK_ERR("write past the limit", write(fd, &v, 8), EAGAIN);
	struct pollfd p = { fd, POLLIN | POLLOUT, 0 };
	CHECK_EQ("full: poll says readable only", poll(&p, 1, 0), 1);
	CHECK_EQ("full: revents", p.revents, POLLIN);
	CHECK_EQ("drain", read(fd, &v, 8), 8);
	p.revents = 0;
	CHECK_EQ("empty: poll says writable only", poll(&p, 1, 0), 1);
	CHECK_EQ("empty: revents", p.revents, POLLOUT);
	p.events = POLLIN;
	CHECK_EQ("empty: poll for input times out", poll(&p, 1, 20), 0);
	CHECK_ERR("flags are checked", eventfd(0, 0x4000000), EINVAL);

	int sem = eventfd(2, EFD_SEMAPHORE);
	CHECK_EQ("semaphore read", read(sem, &v, 8), 8);
	CHECK_EQ("semaphore gives 1", v, 1);
	CHECK_EQ("semaphore read again", read(sem, &v, 8), 8);
	CHECK_EQ("semaphore gives 1 again", v, 1);

	/* A blocking read woken by a thread's write. */
	pthread_t t;
	pthread_create(&t, NULL, writer, &sem);
	v = 0;
	CHECK_EQ("blocked read returns", read(sem, &v, 8), 8);
	CHECK_EQ("woken with 1", v, 1);
	pthread_join(t, NULL);
	CHECK_EQ("rest of the count", read(sem, &v, 8) == 8 && v == 1, 1);

	/* select on an eventfd becoming readable. */
	pthread_create(&t, NULL, writer, &sem);
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(sem, &rs);
	struct timeval tv = { 5, 0 };
	CHECK_EQ("select wakes on the write", select(sem + 1, &rs, NULL, NULL, &tv), 1);
	CHECK("select marks it", FD_ISSET(sem, &rs));
	pthread_join(t, NULL);

	/* A signal with a handler (no SA_RESTART) interrupts a blocked read. */
	int empty = eventfd(0, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 50000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK_ERR("signal interrupts the read", read(empty, &v, 8), EINTR);

	/* A write that does not fit waits for a read, even while a write of 1
	 * would fit (POLLOUT), and then adds its whole value. */
	int big = eventfd(0, 0);
	v = UINT64_MAX - 10;
	write(big, &v, 8);
	p.fd = big;
	p.events = POLLOUT;
	CHECK_EQ("room for 1: POLLOUT", poll(&p, 1, 0), 1);
	pthread_create(&t, NULL, reader, &big);
	v = 100;
	CHECK_EQ("a write of 100 waits for the read", write(big, &v, 8), 8);
	pthread_join(t, NULL);
	CHECK_EQ("then the count is 100", read(big, &v, 8) == 8 && v == 100, 1);
	setitimer(ITIMER_REAL, &it, NULL);
	v = UINT64_MAX - 1;
	write(big, &v, 8);
	v = 5;
	CHECK_ERR("a signal interrupts a blocked write", write(big, &v, 8), EINTR);

	struct stat st;
	CHECK_OK("fstat", fstat(fd, &st));
	CHECK_EQ("anonymous inode: no file type", st.st_mode & S_IFMT, 0);
	CHECK_EQ("mode 0600", st.st_mode & 0777, 0600);
	char link[64];
	t_fd_link(fd, link, sizeof link);
	CHECK_STR("/proc/self/fd names it", link, "anon_inode:[eventfd]");
	T_DONE();
}
