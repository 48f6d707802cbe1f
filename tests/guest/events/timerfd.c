/* timerfd: one-shot and periodic timers with their expiration counts,
 * absolute times, gettime, disarming, non-blocking reads, the settime
 * reset of the count, TFD_IOC_SET_TICKS, what the fd looks like, and the
 * EINVAL/EFAULT/EBADF/EPERM answers. Counts are checked against their
 * lower bounds only (a sleep lasts at least as long as asked). */
#include "../test.h"
#include <poll.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif
#ifndef CLOCK_REALTIME_ALARM
#define CLOCK_REALTIME_ALARM 8
#endif
#ifndef CLOCK_BOOTTIME_ALARM
#define CLOCK_BOOTTIME_ALARM 9
#endif

/* An address no program maps: its own value is hidden from the compiler. */
static void *volatile bad = (void *)8;

#define MS 1000000L

static void sleep_ns(long ns)
{
	struct timespec t = {ns / 1000000000L, ns % 1000000000L};
	while (nanosleep(&t, &t) != 0 && errno == EINTR) {
	}
}

static struct itimerspec its(long value_ns, long interval_ns)
{
	struct itimerspec s;
	s.it_value.tv_sec = value_ns / 1000000000L;
	s.it_value.tv_nsec = value_ns % 1000000000L;
	s.it_interval.tv_sec = interval_ns / 1000000000L;
	s.it_interval.tv_nsec = interval_ns % 1000000000L;
	return s;
}

static long long ns_of(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static void one_shot(const char *name, int clock)
{
	char what[96];
	int fd = timerfd_create(clock, 0);
	snprintf(what, sizeof what, "%s: timerfd_create", name);
	CHECK_OK(what, fd);
	struct itimerspec s = its(20 * MS, 0);
	snprintf(what, sizeof what, "%s: arm 20ms", name);
	CHECK_OK(what, timerfd_settime(fd, 0, &s, NULL));
	uint64_t n = 0;
	snprintf(what, sizeof what, "%s: blocking read waits for the expiry", name);
	CHECK_EQ(what, read(fd, &n, 8), 8);
	snprintf(what, sizeof what, "%s: one expiration", name);
	CHECK_EQ(what, n, 1);
	struct itimerspec cur;
	timerfd_gettime(fd, &cur);
	snprintf(what, sizeof what, "%s: expired one-shot is disarmed", name);
	CHECK(what, cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
	close(fd);
}

int main(void)
{
	T_BEGIN();
	alarm(30);

	one_shot("monotonic", CLOCK_MONOTONIC);
	one_shot("realtime", CLOCK_REALTIME);
	one_shot("boottime", CLOCK_BOOTTIME);

	/* Non-blocking: EAGAIN until it expires; the flags show in F_GETFL. */
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	CHECK_OK("create TFD_NONBLOCK|TFD_CLOEXEC", fd);
	CHECK_EQ("O_RDWR|O_NONBLOCK", fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR | O_NONBLOCK);
	CHECK_EQ("FD_CLOEXEC", fcntl(fd, F_GETFD), FD_CLOEXEC);
	uint64_t n = 0;
	CHECK_ERR("disarmed read is EAGAIN", read(fd, &n, 8), EAGAIN);
	struct itimerspec cur;
	CHECK_OK("gettime of a new timer", timerfd_gettime(fd, &cur));
	CHECK(("new timer is disarmed, no period"),
	      ns_of(cur.it_value) == 0 && ns_of(cur.it_interval) == 0);
	struct itimerspec s = its(10000 * MS, 0);
	CHECK_OK("arm 10s", timerfd_settime(fd, 0, &s, NULL));
	CHECK_ERR("armed, not expired: EAGAIN", read(fd, &n, 8), EAGAIN);

	/* gettime: the time left and the period; settime returns the old one. */
	s = its(10000 * MS, 5000 * MS);
	struct itimerspec old;
	CHECK_OK("re-arm 10s every 5s", timerfd_settime(fd, 0, &s, &old));
	CHECK(("old value is at most 10s and not 0"), ns_of(old.it_value) > 0 && ns_of(old.it_value) <= 10000 * MS);
	CHECK_EQ("old interval 0", ns_of(old.it_interval), 0);
	timerfd_gettime(fd, &cur);
	CHECK(("time left at most 10s and above 5s"), ns_of(cur.it_value) <= 10000 * MS && ns_of(cur.it_value) > 5000 * MS);
	CHECK_EQ("interval 5s", ns_of(cur.it_interval), 5000 * MS);

	/* Disarming with a zero value keeps the interval (Linux's tintv). */
	s = its(0, 3000 * MS);
	CHECK_OK("disarm", timerfd_settime(fd, 0, &s, &old));
	CHECK_EQ("old interval 5s", ns_of(old.it_interval), 5000 * MS);
	timerfd_gettime(fd, &cur);
	CHECK_EQ("disarmed: no time left", ns_of(cur.it_value), 0);
	CHECK_EQ("disarmed: interval as set", ns_of(cur.it_interval), 3000 * MS);
	CHECK_ERR("disarmed read is EAGAIN again", read(fd, &n, 8), EAGAIN);

	/* Periodic: at least one expiration per period slept. */
	s = its(10 * MS, 10 * MS);
	CHECK_OK("arm every 10ms", timerfd_settime(fd, 0, &s, NULL));
	sleep_ns(105 * MS);
	n = 0;
	CHECK_EQ("periodic read", read(fd, &n, 8), 8);
	CHECK(("at least 10 expirations in 105ms"), n >= 10);
	timerfd_gettime(fd, &cur);
	/* Linux shows 0 when the next expiry has just passed (a preempted
	 * reader), so the time left is only bounded by the period. */
	CHECK(("periodic timer: at most a period to go"), ns_of(cur.it_value) <= 10 * MS && ns_of(cur.it_interval) == 10 * MS);

	/* A new setting resets the count. */
	s = its(1 * MS, 0);
	timerfd_settime(fd, 0, &s, NULL);
	sleep_ns(5 * MS);
	s = its(10000 * MS, 0);
	CHECK_OK("settime over an expired timer", timerfd_settime(fd, 0, &s, NULL));
	CHECK_ERR("the count starts again from 0", read(fd, &n, 8), EAGAIN);

	/* Absolute times, in the future and in the past. */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	s = its(0, 0);
	s.it_value = now;
	s.it_value.tv_nsec += 20 * MS;
	if (s.it_value.tv_nsec >= 1000000000L) {
		s.it_value.tv_sec++;
		s.it_value.tv_nsec -= 1000000000L;
	}
	CHECK_OK("TFD_TIMER_ABSTIME in 20ms", timerfd_settime(fd, TFD_TIMER_ABSTIME, &s, NULL));
	struct pollfd p = {fd, POLLIN, 0};
	CHECK_EQ("poll waits for the absolute expiry", poll(&p, 1, -1), 1);
	n = 0;
	CHECK_EQ("read after abstime", read(fd, &n, 8), 8);
	CHECK_EQ("abstime: one expiration", n, 1);
	s.it_value = now; /* now in the past */
	CHECK_OK("TFD_TIMER_ABSTIME in the past", timerfd_settime(fd, TFD_TIMER_ABSTIME, &s, NULL));
	n = 0;
	CHECK_EQ("a past absolute time expires at once", read(fd, &n, 8), 8);
	CHECK_EQ("past abstime: one expiration", n, 1);
	s.it_value.tv_sec = 1;
	s.it_value.tv_nsec = 0;
	s.it_interval = (struct timespec){0, 0};
	CHECK_OK("TFD_TIMER_CANCEL_ON_SET is accepted", timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &s, NULL));
	CHECK_EQ("...and the timer expires", read(fd, &n, 8), 8);

	/* TFD_IOC_SET_TICKS sets the count the next read returns. */
	uint64_t ticks = 5;
	CHECK_OK("TFD_IOC_SET_TICKS 5", ioctl(fd, TFD_IOC_SET_TICKS, &ticks));
	n = 0;
	CHECK_EQ("read after SET_TICKS", read(fd, &n, 8), 8);
	CHECK_EQ("count is 5", n, 5);
	ticks = 0;
	CHECK_ERR("TFD_IOC_SET_TICKS 0 is EINVAL", ioctl(fd, TFD_IOC_SET_TICKS, &ticks), EINVAL);
	CHECK_ERR("TFD_IOC_SET_TICKS with a bad pointer", ioctl(fd, TFD_IOC_SET_TICKS, bad), EFAULT);
	CHECK_ERR("another ioctl is ENOTTY", ioctl(fd, FIONREAD, &ticks), ENOTTY);

	/* What the fd is. */
	struct stat st;
	CHECK_OK("fstat", fstat(fd, &st));
	CHECK_EQ("no file type, mode 0600", st.st_mode, 0600);
	char link[64] = {0};
	CHECK_OK("readlink", t_fd_link(fd, link, sizeof link));
	CHECK_STR("link name", link, "anon_inode:[timerfd]");

	/* Errors. */
	char small[4];
	CHECK_ERR("read of 4 bytes is EINVAL", read(fd, small, 4), EINVAL);
	CHECK_ERR("read of 4 bytes to a bad address is EINVAL too", read(fd, bad, 4), EINVAL);
	ticks = 3;
	ioctl(fd, TFD_IOC_SET_TICKS, &ticks);
	CHECK_ERR("read to a bad address is EFAULT", read(fd, bad, 8), EFAULT);
	CHECK_ERR("write is EINVAL", write(fd, &n, 8), EINVAL);
	CHECK_ERR("unknown clock", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
	CHECK_ERR("CLOCK_MONOTONIC_RAW", timerfd_create(CLOCK_MONOTONIC_RAW, 0), EINVAL);
	CHECK_ERR("unknown create flag", timerfd_create(CLOCK_MONOTONIC, 1), EINVAL);
	s = its(1000 * MS, 0);
	CHECK_ERR("unknown settime flag", timerfd_settime(fd, 4, &s, NULL), EINVAL);
	s.it_value.tv_nsec = 1000000000L;
	CHECK_ERR("tv_nsec of 1e9", timerfd_settime(fd, 0, &s, NULL), EINVAL);
	s = its(1000 * MS, 0);
	s.it_interval.tv_sec = -1;
	CHECK_ERR("negative interval", timerfd_settime(fd, 0, &s, NULL), EINVAL);
	CHECK_ERR("new_value NULL", timerfd_settime(fd, 0, NULL, NULL), EFAULT);
	CHECK_ERR("gettime to a bad address", timerfd_gettime(fd, bad), EFAULT);
	int pfd[2];
	pipe(pfd);
	s = its(1000 * MS, 0);
	CHECK_ERR("settime of a pipe", timerfd_settime(pfd[0], 0, &s, NULL), EINVAL);
	CHECK_ERR("gettime of a pipe", timerfd_gettime(pfd[0], &cur), EINVAL);
	CHECK_ERR("settime of a closed fd", timerfd_settime(999, 0, &s, NULL), EBADF);
	/* The alarm clocks need CAP_WAKE_ALARM. */
	for (int c = CLOCK_REALTIME_ALARM; c <= CLOCK_BOOTTIME_ALARM; c++) {
		int afd = timerfd_create(c, 0);
		if (geteuid() == 0)
			CHECK(("alarm clock for root"), afd >= 0);
		else
			CHECK(("alarm clock without CAP_WAKE_ALARM is EPERM"), afd == -1 && errno == EPERM);
		if (afd >= 0)
			close(afd);
	}
	T_DONE();
}
