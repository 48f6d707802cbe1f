/* Every kind of event fd survives execve, as Linux keeps every fd without
 * FD_CLOEXEC: a child sets up an eventfd (shared with its parent by fork),
 * a signalfd, three timerfds, an epoll fd, an inotify fd, a sealed memfd,
 * two pidfds and a NETLINK_ROUTE socket, then executes this program again.
 * The new program finds each fd open, with the same /proc/self/fd link and
 * fstat, and working: the eventfd's count and its wakeups shared with the
 * parent, the signalfd's set and a signal of it pending since before, the timers still armed and counting (an
 * expiration from before the exec included, TFD_TIMER_ABSTIME too), the
 * epoll registrations of the fds that survived with their data (a dup's
 * and a closed dup's too, not the close-on-exec one's), the inotify watch
 * with its wd and an event queued before the exec, the memfd's seals, the
 * pidfds still naming their processes, the netlink socket's port id and an
 * answer queued before the exec. */
#include "../test.h"
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_memfd_create
#define SYS_memfd_create 319
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 2
#endif
#ifndef AF_NETLINK
#define AF_NETLINK 16
#endif
struct sockaddr_nl { unsigned short nl_family, nl_pad; uint32_t nl_pid, nl_groups; };
struct nlmsghdr { uint32_t nlmsg_len; uint16_t nlmsg_type, nlmsg_flags; uint32_t nlmsg_seq, nlmsg_pid; };
#define NLM_F_REQUEST 1
#define NLM_F_DUMP 0x300
#define NLMSG_DONE 3
#define RTM_NEWLINK 16
#define RTM_GETLINK 18

/* The fds, at fixed numbers the new program knows. */
enum {
	EFD = 10,       /* eventfd, created by the parent before the fork */
	SFD = 11,       /* signalfd of SIGUSR1 and SIGUSR2 */
	TFD_PERIOD = 12, /* CLOCK_MONOTONIC, every 5 ms */
	TFD_ABS = 13,   /* CLOCK_REALTIME, TFD_TIMER_ABSTIME, 200 ms ahead */
	TFD_DONE = 14,  /* one-shot, expired before the exec, TFD_NONBLOCK */
	EPFD = 15,
	PIPE_R = 16,
	EFD_DUP = 17,   /* dup of EFD, registered with its own data */
	PIPE_DUP = 18,  /* dup of PIPE_R, registered, closed before the exec */
	PIPE_W = 19,
	INO = 20,
	MEMFD = 21,
	PIDFD_SELF = 22,
	PIDFD_CHILD = 23,
	NLSOCK = 24,
	READY_R = 25,   /* the new program tells the parent it is ready */
	READY_W = 26,
	EFD_CLOEXEC_FD = 27,
};

static const int kept[] = {EFD, SFD, TFD_PERIOD, TFD_ABS, TFD_DONE, EPFD, PIPE_R, EFD_DUP, INO, MEMFD, PIDFD_SELF, PIDFD_CHILD, NLSOCK};
#define NKEPT (int)(sizeof kept / sizeof kept[0])

static void move_to(int fd, int want)
{
	if (fd == want)
		return;
	if (dup2(fd, want) != want) {
		printf("FAIL dup2 to %d (errno %d)\n", want, errno);
		exit(3);
	}
	close(fd);
}

static int send_getlink(int seq)
{
	struct {
		struct nlmsghdr h;
		unsigned char family;
		unsigned char pad[3];
	} req = {{sizeof req, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, (uint32_t)seq, 0}, 0, {0}};
	return send(NLSOCK, &req, sizeof req, 0) == (ssize_t)sizeof req ? 0 : -1;
}

/* Reads a link dump of sequence `seq` to its NLMSG_DONE; the number of
 * links, or -1. */
static int read_dump(int seq)
{
	static char buf[65536];
	int links = 0;
	for (int i = 0; i < 1000; i++) {
		struct pollfd p = {.fd = NLSOCK, .events = POLLIN};
		if (poll(&p, 1, 5000) != 1)
			return -1;
		ssize_t n = recv(NLSOCK, buf, sizeof buf, 0);
		if (n <= 0)
			return -1;
		for (char *at = buf; at + sizeof(struct nlmsghdr) <= buf + n;) {
			struct nlmsghdr *h = (struct nlmsghdr *)at;
			if (h->nlmsg_len < sizeof *h || (int)h->nlmsg_seq != seq)
				return -1;
			if (h->nlmsg_type == NLMSG_DONE)
				return links;
			if (h->nlmsg_type == RTM_NEWLINK)
				links++;
			at += (h->nlmsg_len + 3) & ~3u;
		}
	}
	return -1;
}

/* "fd:mode:dev:ino:link" of an fd, as the new program compares it. */
static void describe(int fd, char *out, size_t len)
{
	char path[64], link[256] = "";
	struct stat st = {0};
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, link, sizeof link - 1);
	link[n > 0 ? n : 0] = 0;
	fstat(fd, &st);
	snprintf(out, len, "%d:%o:%llu:%llu:%s", fd, (unsigned)st.st_mode, (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino, link);
}

static long ms_of(struct timespec t) { return t.tv_sec * 1000 + t.tv_nsec / 1000000; }

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The new program: argv = self "after" wd nl_pid child_pid child_status descriptions... */
static int after_exec(int argc, char **argv)
{
	T_BEGIN();
	int wd = atoi(argv[2]);
	unsigned nl_pid = (unsigned)strtoul(argv[3], NULL, 10);
	pid_t grandchild = atoi(argv[4]);
	char what[128];

	/* Each fd is open, not close-on-exec, and looks as it did. */
	for (int i = 0; i < NKEPT && 5 + i < argc; i++) {
		char now[512];
		int fd = kept[i];
		snprintf(what, sizeof what, "fd %d is open and not close-on-exec", fd);
		CHECK_EQ(what, fcntl(fd, F_GETFD), 0);
		describe(fd, now, sizeof now);
		snprintf(what, sizeof what, "fd %d: the same /proc/self/fd link, mode and inode", fd);
		CHECK_STR(what, now, argv[5 + i]);
	}
	CHECK_ERR("the close-on-exec eventfd is gone", fcntl(EFD_CLOEXEC_FD, F_GETFD), EBADF);
	CHECK_ERR("the closed dup is gone", fcntl(PIPE_DUP, F_GETFD), EBADF);

	/* epoll: the registrations of the surviving files, with their data. */
	struct epoll_event evs[8];
	int n = epoll_wait(EPFD, evs, 8, 5000);
	CHECK_EQ("epoll_wait reports the four surviving registrations", n, 4);
	uint64_t data[8];
	for (int i = 0; i < n && i < 8; i++) {
		data[i] = evs[i].data.u64;
		CHECK_EQ("each is EPOLLIN", evs[i].events, EPOLLIN);
	}
	if (n == 4) {
		qsort(data, 4, sizeof data[0], cmp_u64);
		CHECK_EQ("the eventfd's data", data[0], 0x1010);
		CHECK_EQ("the pipe's data", data[1], 0x1616);
		CHECK_EQ("the eventfd dup's data", data[2], 0x1717);
		CHECK_EQ("the closed pipe dup's data", data[3], 0x1818);
	}

	/* eventfd: the count written before the exec, then a wakeup by the
	 * parent, then a write the parent reads. */
	uint64_t v = 0;
	CHECK_EQ("read the eventfd", read(EFD, &v, 8), 8);
	CHECK_EQ("the count written before the exec", (long)v, 5);
	CHECK_EQ("tell the parent", write(READY_W, "r", 1), 1);
	struct pollfd p = {.fd = EFD, .events = POLLIN};
	CHECK_EQ("poll wakes for the parent's write", poll(&p, 1, 5000), 1);
	CHECK_EQ("read it", read(EFD_DUP, &v, 8), 8);
	CHECK_EQ("the parent's value", (long)v, 9);
	v = 7;
	CHECK_EQ("write for the parent", write(EFD, &v, 8), 8);

	/* signalfd: the SIGUSR1 pending since before the exec is read, and
	 * its set is still SIGUSR1 and SIGUSR2. */
	p = (struct pollfd){.fd = SFD, .events = POLLIN};
	CHECK_EQ("the signal pending before the exec makes it ready", poll(&p, 1, 5000), 1);
	struct signalfd_siginfo si;
	CHECK_EQ("read its record", read(SFD, &si, sizeof si), (long)sizeof si);
	CHECK_EQ("of SIGUSR1", si.ssi_signo, SIGUSR1);
	raise(SIGTERM);
	CHECK_EQ("SIGTERM (not in the set) leaves the signalfd unready", poll(&p, 1, 0), 0);
	raise(SIGUSR2);
	CHECK_EQ("SIGUSR2 makes it ready", poll(&p, 1, 5000), 1);
	CHECK_EQ("read a record", read(SFD, &si, sizeof si), (long)sizeof si);
	CHECK_EQ("of SIGUSR2", si.ssi_signo, SIGUSR2);
	sigset_t term;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	struct timespec zero = {0, 0};
	CHECK_EQ("SIGTERM is still pending", sigtimedwait(&term, NULL, &zero), SIGTERM);

	/* timerfds. */
	struct itimerspec cur;
	CHECK_OK("timerfd_gettime of the periodic timer", timerfd_gettime(TFD_PERIOD, &cur));
	CHECK_EQ("its period is 5 ms", ms_of(cur.it_interval), 5);
	/* Armed, but it_value alone cannot show it: Linux reports 0 when the
	 * next expiry has already passed (a preempted reader), so check only
	 * that no more than one period is left. */
	CHECK("at most one period to go", cur.it_value.tv_sec == 0 && ms_of(cur.it_value) <= 5);
	p = (struct pollfd){.fd = TFD_PERIOD, .events = POLLIN};
	CHECK_EQ("the periodic timer expires", poll(&p, 1, 5000), 1);
	v = 0;
	CHECK_EQ("read its count", read(TFD_PERIOD, &v, 8), 8);
	CHECK("at least one expiration", v >= 1);

	CHECK_OK("timerfd_gettime of the absolute timer", timerfd_gettime(TFD_ABS, &cur));
	CHECK_EQ("no period", ms_of(cur.it_interval), 0);
	CHECK("at most 200 ms to go", ms_of(cur.it_value) <= 200);
	p = (struct pollfd){.fd = TFD_ABS, .events = POLLIN};
	CHECK_EQ("the absolute timer expires", poll(&p, 1, 5000), 1);
	CHECK_EQ("read its count", read(TFD_ABS, &v, 8), 8);
	CHECK_EQ("one expiration", (long)v, 1);

	CHECK_EQ("the one-shot timer is still non-blocking", fcntl(TFD_DONE, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	v = 0;
	CHECK_EQ("its expiration from before the exec is read", read(TFD_DONE, &v, 8), 8);
	CHECK_EQ("one", (long)v, 1);
	CHECK_ERR("then nothing", read(TFD_DONE, &v, 8), EAGAIN);

	/* inotify: the event queued before the exec, then a new one, same wd. */
	char ibuf[4096] __attribute__((aligned(8)));
	p = (struct pollfd){.fd = INO, .events = POLLIN};
	CHECK_EQ("the inotify fd is ready", poll(&p, 1, 5000), 1);
	ssize_t got = read(INO, ibuf, sizeof ibuf);
	struct inotify_event *ie = (struct inotify_event *)ibuf;
	CHECK("read the event from before the exec", got >= (ssize_t)sizeof *ie);
	CHECK_EQ("its wd", ie->wd, wd);
	CHECK_EQ("IN_CREATE", ie->mask, IN_CREATE);
	CHECK_STR("its name", ie->len ? ie->name : "", "before");
	int fd = open("after", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	CHECK_EQ("a new event", poll(&p, 1, 5000), 1);
	got = read(INO, ibuf, sizeof ibuf);
	CHECK("read it", got >= (ssize_t)sizeof *ie);
	CHECK_EQ("the same wd", ie->wd, wd);
	CHECK_STR("its name", ie->len ? ie->name : "", "after");

	/* memfd: its seals and contents. */
	CHECK_EQ("the memfd's seals", fcntl(MEMFD, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW);
	char mb[8] = "";
	CHECK_EQ("pread its contents", pread(MEMFD, mb, 5, 0), 5);
	CHECK_MEM("hello", mb, "hello", 5);
	CHECK_ERR("F_SEAL_GROW still refuses growing", pwrite(MEMFD, "!", 1, 5), EPERM);
	CHECK_ERR("F_SEAL_SHRINK still refuses shrinking", ftruncate(MEMFD, 1), EPERM);

	/* pidfds: this process and an exited child. */
	CHECK_OK("pidfd_send_signal(0) to this process", syscall(SYS_pidfd_send_signal, PIDFD_SELF, 0, NULL, 0));
	char info[512] = "", want[64];
	snprintf(what, sizeof what, "/proc/self/fdinfo/%d", PIDFD_SELF);
	int ifd = open(what, O_RDONLY | O_CLOEXEC);
	ssize_t il = ifd >= 0 ? read(ifd, info, sizeof info - 1) : -1;
	info[il > 0 ? il : 0] = 0;
	close(ifd);
	snprintf(want, sizeof want, "Pid:\t%d\n", (int)getpid());
	CHECK("its fdinfo names this process", strstr(info, want) != NULL);
	p = (struct pollfd){.fd = PIDFD_CHILD, .events = POLLIN};
	CHECK_EQ("the exited child's pidfd is readable", poll(&p, 1, 5000), 1);
	siginfo_t ws = {0};
	CHECK_OK("waitid(P_PIDFD)", waitid(P_PIDFD, PIDFD_CHILD, &ws, WEXITED));
	CHECK_EQ("reaps that child", ws.si_pid, grandchild);
	CHECK_EQ("with its status", ws.si_status, 7);

	/* netlink: the port id, the answer queued before the exec, a new one. */
	struct sockaddr_nl nl = {0};
	socklen_t nl_len = sizeof nl;
	CHECK_OK("getsockname of the netlink socket", getsockname(NLSOCK, (struct sockaddr *)&nl, &nl_len));
	CHECK("the same port id", nl.nl_pid == nl_pid);
	CHECK("the dump asked before the exec is read", read_dump(1) > 0);
	CHECK_OK("ask again", send_getlink(2));
	CHECK("and read the new dump", read_dump(2) > 0);
	T_DONE();
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "after") == 0)
		return after_exec(argc, argv);
	T_BEGIN();
	t_tmpdir_begin();
	char self[4096];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
	if (sl <= 0)
		return 2;
	self[sl] = 0;

	/* The eventfd the parent keeps too. */
	move_to(eventfd(0, 0), EFD);
	uint64_t v = 5;
	CHECK_EQ("write 5 to the eventfd", write(EFD, &v, 8), 8);
	int ready[2];
	CHECK_OK("pipe", pipe(ready));
	move_to(ready[0], READY_R);
	move_to(ready[1], READY_W);

	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		close(READY_R);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigaddset(&set, SIGUSR2);
		move_to(signalfd(-1, &set, 0), SFD);
		sigaddset(&set, SIGTERM);
		sigprocmask(SIG_BLOCK, &set, NULL);
		raise(SIGUSR1); /* pending across the exec */

		move_to(timerfd_create(CLOCK_MONOTONIC, 0), TFD_PERIOD);
		struct itimerspec its = {{0, 5000000}, {0, 5000000}};
		timerfd_settime(TFD_PERIOD, 0, &its, NULL);
		move_to(timerfd_create(CLOCK_REALTIME, 0), TFD_ABS);
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		now.tv_nsec += 200000000;
		if (now.tv_nsec >= 1000000000) {
			now.tv_sec++;
			now.tv_nsec -= 1000000000;
		}
		its = (struct itimerspec){{0, 0}, now};
		timerfd_settime(TFD_ABS, TFD_TIMER_ABSTIME, &its, NULL);
		move_to(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK), TFD_DONE);
		its = (struct itimerspec){{0, 0}, {0, 1000000}};
		timerfd_settime(TFD_DONE, 0, &its, NULL);

		int pp[2];
		if (pipe(pp) != 0)
			_exit(3);
		move_to(pp[0], PIPE_R);
		move_to(pp[1], PIPE_W);
		dup2(EFD, EFD_DUP);
		dup2(PIPE_R, PIPE_DUP);
		int cloexec_efd = eventfd(1, EFD_CLOEXEC);
		if (dup3(cloexec_efd, EFD_CLOEXEC_FD, O_CLOEXEC) != EFD_CLOEXEC_FD)
			_exit(3);
		close(cloexec_efd);
		move_to(epoll_create1(0), EPFD);
		struct epoll_event ev = {.events = EPOLLIN};
		int regs[][2] = {{EFD, 0x1010}, {PIPE_R, 0x1616}, {EFD_DUP, 0x1717}, {PIPE_DUP, 0x1818}, {EFD_CLOEXEC_FD, 0xdead}};
		for (int i = 0; i < 5; i++) {
			ev.data.u64 = regs[i][1];
			if (epoll_ctl(EPFD, EPOLL_CTL_ADD, regs[i][0], &ev) != 0)
				_exit(4);
		}
		close(PIPE_DUP);
		if (write(PIPE_W, "x", 1) != 1)
			_exit(3);

		move_to(inotify_init1(0), INO);
		int wd = inotify_add_watch(INO, ".", IN_CREATE);
		close(open("before", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
		int queued = 0;
		ioctl(INO, FIONREAD, &queued); /* the event is queued, not read */

		move_to((int)syscall(SYS_memfd_create, "keep", MFD_ALLOW_SEALING), MEMFD);
		if (write(MEMFD, "hello", 5) != 5 || fcntl(MEMFD, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0)
			_exit(5);

		pid_t grandchild = fork();
		if (grandchild == 0)
			_exit(7);
		move_to((int)syscall(SYS_pidfd_open, getpid(), 0), PIDFD_SELF);
		move_to((int)syscall(SYS_pidfd_open, grandchild, 0), PIDFD_CHILD);

		move_to(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0), NLSOCK);
		struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
		socklen_t nl_len = sizeof nl;
		if (bind(NLSOCK, (struct sockaddr *)&nl, sizeof nl) != 0 ||
		    getsockname(NLSOCK, (struct sockaddr *)&nl, &nl_len) != 0 || send_getlink(1) != 0)
			_exit(6);

		/* The one-shot timer expires before the exec. */
		t_sleep_ms(20);

		static char descs[NKEPT][512];
		char wd_s[16], nl_s[16], gc_s[16];
		snprintf(wd_s, sizeof wd_s, "%d", wd);
		snprintf(nl_s, sizeof nl_s, "%u", nl.nl_pid);
		snprintf(gc_s, sizeof gc_s, "%d", (int)grandchild);
		char *args[5 + NKEPT + 1] = {self, "after", wd_s, nl_s, gc_s};
		for (int i = 0; i < NKEPT; i++) {
			describe(kept[i], descs[i], sizeof descs[i]);
			args[5 + i] = descs[i];
		}
		args[5 + NKEPT] = NULL;
		execv(self, args);
		printf("FAIL execv (errno %d)\n", errno);
		_exit(9);
	}
	/* Nothing is printed until the new program is done, so the output
	 * keeps its order. */
	close(READY_W);
	char c;
	ssize_t was_ready = read(READY_R, &c, 1);
	v = 9;
	ssize_t wrote = write(EFD, &v, 8);
	int status = 0;
	waitpid(child, &status, 0);
	CHECK_EQ("the new program was ready", was_ready, 1);
	CHECK_EQ("the parent wrote 9 for it", wrote, 8);
	CHECK_EQ("the new program passes its checks", WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status), 0);
	struct pollfd p = {.fd = EFD, .events = POLLIN};
	CHECK_EQ("its write is seen by the parent", poll(&p, 1, 5000), 1);
	CHECK_EQ("read it", read(EFD, &v, 8), 8);
	CHECK_EQ("the new program's value", (long)v, 7);
	t_tmpdir_end();
	T_DONE();
}
