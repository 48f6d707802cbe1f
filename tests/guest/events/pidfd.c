/* pidfd_open(2), pidfd_send_signal(2) (on a /proc/PID directory fd too), pidfd_getfd(2), waitid(P_PIDFD),
 * clone's CLONE_PIDFD and clone3's pidfd field: the flags and errors, a
 * pidfd turning readable in poll and select once its process has exited,
 * what /proc/self/fd and fdinfo show. */
#include "../test.h"
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif
#define PIDFD_NONBLOCK O_NONBLOCK

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static int pidfd_send_signal(int fd, int sig, siginfo_t *info, unsigned flags)
{
	return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}
static int pidfd_getfd(int fd, int target, unsigned flags) { return syscall(SYS_pidfd_getfd, fd, target, flags); }

/* A child that exits with `code` once a byte arrives on the returned pipe. */
static pid_t child_waiting(int *go, int code)
{
	int p[2];
	if (pipe(p) != 0)
		exit(2);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(3);
		_exit(code);
	}
	close(p[0]);
	*go = p[1];
	return pid;
}

static int is_readable(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int n = poll(&p, 1, ms);
	return n == 1 && (p.revents & POLLIN);
}

struct clone_args_v0 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }

int main(void)
{
	T_BEGIN();
	char link[64], path[64], buf[256];

	/* Our own process. */
	int self = pidfd_open(getpid(), 0);
	CHECK("pidfd_open of self", self >= 0);
	CHECK_EQ("pidfd is close-on-exec", fcntl(self, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	CHECK_EQ("pidfd is O_RDWR", fcntl(self, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR);
	t_fd_link(self, link, sizeof link);
	CHECK_STR("pidfd link name", link, "anon_inode:[pidfd]");
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", self);
	FILE *f = fopen(path, "r");
	int shown = -1;
	while (f && fgets(buf, sizeof buf, f))
		if (!strncmp(buf, "Pid:", 4))
			shown = atoi(buf + 4);
	if (f)
		fclose(f);
	CHECK_EQ("fdinfo Pid: is the target", shown, getpid());
	CHECK("a live process is not readable", !is_readable(self, 0));
	CHECK_ERR("reading a pidfd", read(self, buf, 8), EINVAL);
	CHECK_ERR("unknown flags", pidfd_open(getpid(), 1), EINVAL);
	CHECK_ERR("pid 0", pidfd_open(0, 0), EINVAL);
	CHECK_ERR("negative pid", pidfd_open(-1, 0), EINVAL);
	siginfo_t si;
	CHECK_ERR("waitid on a non-child pidfd", waitid(P_PIDFD, self, &si, WEXITED | WNOHANG), ECHILD);
	CHECK_EQ("signal 0 to self", pidfd_send_signal(self, 0, NULL, 0), 0);
	CHECK_ERR("pidfd_send_signal flags", pidfd_send_signal(self, 0, NULL, 8), EINVAL);
	CHECK_ERR("pidfd_send_signal bad signal", pidfd_send_signal(self, 65, NULL, 0), EINVAL);
	CHECK_ERR("pidfd_send_signal on a closed fd", pidfd_send_signal(999, 0, NULL, 0), EBADF);
	CHECK_ERR("pidfd_send_signal on a pipe", pidfd_send_signal(1, 0, NULL, 0), EBADF);
	CHECK_ERR("waitid P_PIDFD on a non-pidfd", waitid(P_PIDFD, 1, &si, WEXITED | WNOHANG), EBADF);

	/* A /proc/PID directory fd names its process to pidfd_send_signal. */
	snprintf(path, sizeof path, "/proc/%d", getpid());
	int procdir = open(path, O_RDONLY | O_DIRECTORY);
	CHECK("open /proc/PID", procdir >= 0);
	signal(SIGUSR1, on_usr1);
	CHECK_EQ("signal through /proc/self's dir", pidfd_send_signal(procdir, SIGUSR1, NULL, 0), 0);
	CHECK_EQ("the handler ran", got_usr1, 1);
	close(procdir);
	int tmpdir = open("/tmp", O_RDONLY | O_DIRECTORY);
	CHECK_ERR("another directory", pidfd_send_signal(tmpdir, 0, NULL, 0), EBADF);
	close(tmpdir);
	pid_t sleeper = fork();
	if (sleeper == 0) {
		pause();
		_exit(0);
	}
	snprintf(path, sizeof path, "/proc/%d", sleeper);
	procdir = open(path, O_RDONLY | O_DIRECTORY);
	CHECK_EQ("SIGKILL through a child's /proc dir", pidfd_send_signal(procdir, SIGKILL, NULL, 0), 0);
	int st = 0;
	CHECK_EQ("the child is reaped", waitpid(sleeper, &st, 0), sleeper);
	CHECK("killed by SIGKILL", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	close(procdir);

	/* pidfd_getfd of our own fds. */
	int pf[2];
	pipe(pf);
	int got = pidfd_getfd(self, pf[1], 0);
	CHECK("pidfd_getfd of self", got >= 0 && got != pf[1]);
	CHECK_EQ("pidfd_getfd sets close-on-exec", fcntl(got, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	CHECK_EQ("the copy writes to the same pipe", write(got, "x", 1), 1);
	CHECK_EQ("read through the original", read(pf[0], buf, 1), 1);
	CHECK_ERR("pidfd_getfd flags", pidfd_getfd(self, pf[1], 1), EINVAL);
	CHECK_ERR("pidfd_getfd of a closed fd", pidfd_getfd(self, 999, 0), EBADF);
	CHECK_ERR("pidfd_getfd through a non-pidfd", pidfd_getfd(pf[0], pf[1], 0), EBADF);
	close(got);

	/* A child: readable once it has exited, reaped through the pidfd. */
	int go;
	pid_t kid = child_waiting(&go, 7);
	int pfd = pidfd_open(kid, PIDFD_NONBLOCK);
	CHECK("pidfd_open of a child", pfd >= 0);
	CHECK_EQ("PIDFD_NONBLOCK sets O_NONBLOCK", fcntl(pfd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	CHECK("not readable while it runs", !is_readable(pfd, 0));
	memset(&si, 0xff, sizeof si);
	CHECK_EQ("WNOHANG while it runs", waitid(P_PIDFD, pfd, &si, WEXITED | WNOHANG), 0);
	CHECK_EQ("WNOHANG leaves si_pid 0", si.si_pid, 0);
	CHECK_ERR("a nonblocking pidfd does not wait", waitid(P_PIDFD, pfd, &si, WEXITED), EAGAIN);
	CHECK_EQ("signal 0 to the child", pidfd_send_signal(pfd, 0, NULL, 0), 0);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ee = { .events = EPOLLIN, .data.u32 = 7 };
	CHECK_OK("epoll_ctl ADD of a pidfd", epoll_ctl(ep, EPOLL_CTL_ADD, pfd, &ee));
	CHECK_EQ("epoll: nothing while it runs", epoll_wait(ep, &ee, 1, 0), 0);
	write(go, "g", 1);
	memset(&ee, 0, sizeof ee);
	CHECK_EQ("epoll: woken by the exit", epoll_wait(ep, &ee, 1, 10000), 1);
	CHECK_EQ("epoll: EPOLLIN", ee.events & EPOLLIN, EPOLLIN);
	CHECK_EQ("epoll: data", ee.data.u32, 7);
	close(ep);
	CHECK("readable once it exits", is_readable(pfd, 10000));
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(pfd, &rs);
	struct timeval tv = { 5, 0 };
	CHECK_EQ("select says readable", select(pfd + 1, &rs, NULL, NULL, &tv), 1);
	CHECK_EQ("a zombie still takes signal 0", pidfd_send_signal(pfd, 0, NULL, 0), 0);
	int again = pidfd_open(kid, 0);
	CHECK("pidfd_open of a zombie", again >= 0);
	CHECK("the zombie's second pidfd is readable", is_readable(again, 0));
	close(again);
	memset(&si, 0, sizeof si);
	CHECK_EQ("waitid P_PIDFD", waitid(P_PIDFD, pfd, &si, WEXITED), 0);
	CHECK_EQ("si_pid", si.si_pid, kid);
	CHECK_EQ("si_code", si.si_code, CLD_EXITED);
	CHECK_EQ("si_status", si.si_status, 7);
	CHECK_ERR("reaped: waitid again", waitid(P_PIDFD, pfd, &si, WEXITED | WNOHANG), ECHILD);
	CHECK_ERR("reaped: pidfd_send_signal", pidfd_send_signal(pfd, 0, NULL, 0), ESRCH);
	CHECK("reaped: still readable", is_readable(pfd, 0));
	CHECK_ERR("pidfd_open of a reaped pid", pidfd_open(kid, 0), ESRCH);
	close(pfd);
	close(go);

	/* A grandchild: another task's process, reaped by its own parent. */
	int gp[2], rel[2];
	pipe(gp);
	pipe(rel);
	pid_t mid = fork();
	if (mid == 0) {
		pid_t g = fork();
		if (g == 0) {
			char c;
			close(rel[1]);
			read(rel[0], &c, 1);
			_exit(0);
		}
		write(gp[1], &g, sizeof g);
		waitpid(g, NULL, 0);
		_exit(0);
	}
	close(rel[0]);
	pid_t grand = 0;
	read(gp[0], &grand, sizeof grand);
	int gfd = pidfd_open(grand, 0);
	CHECK("pidfd_open of a grandchild", gfd >= 0);
	CHECK("a running grandchild is not readable", !is_readable(gfd, 0));
	CHECK_EQ("signal 0 to a grandchild", pidfd_send_signal(gfd, 0, NULL, 0), 0);
	CHECK_ERR("waitid on a grandchild's pidfd", waitid(P_PIDFD, gfd, &si, WEXITED | WNOHANG), ECHILD);
	write(rel[1], "g", 1);
	CHECK("readable once the grandchild exits", is_readable(gfd, 10000));
	waitpid(mid, NULL, 0);
	CHECK_ERR("its parent reaped it: pidfd_send_signal", pidfd_send_signal(gfd, 0, NULL, 0), ESRCH);
	close(gfd);

	/* A signal through a pidfd. */
	kid = child_waiting(&go, 0);
	pfd = pidfd_open(kid, 0);
	CHECK_EQ("pidfd_send_signal SIGTERM", pidfd_send_signal(pfd, SIGTERM, NULL, 0), 0);
	memset(&si, 0, sizeof si);
	CHECK_EQ("blocking waitid P_PIDFD", waitid(P_PIDFD, pfd, &si, WEXITED), 0);
	CHECK_EQ("killed", si.si_code, CLD_KILLED);
	CHECK_EQ("by SIGTERM", si.si_status, SIGTERM);
	close(pfd);
	close(go);

	/* clone(CLONE_PIDFD): the pidfd comes back through parent_tid. */
	int cfd = -1;
	CHECK_ERR("CLONE_PIDFD with CLONE_PARENT_SETTID",
		  syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &cfd, 0, 0), EINVAL);
	long c = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &cfd, 0, 0);
	if (c == 0)
		_exit(5);
	CHECK("clone CLONE_PIDFD", c > 0 && cfd >= 0);
	CHECK_EQ("its pidfd is close-on-exec", fcntl(cfd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	memset(&si, 0, sizeof si);
	CHECK_EQ("waitid on the clone's pidfd", waitid(P_PIDFD, cfd, &si, WEXITED), 0);
	CHECK_EQ("clone child's pid", si.si_pid, c);
	CHECK_EQ("clone child's status", si.si_status, 5);
	close(cfd);

	/* clone3's pidfd field. */
	int c3fd = -1;
	struct clone_args_v0 ca;
	memset(&ca, 0, sizeof ca);
	ca.flags = CLONE_PIDFD;
	ca.pidfd = (uintptr_t)&c3fd;
	ca.exit_signal = SIGCHLD;
	c = syscall(SYS_clone3, &ca, sizeof ca);
	if (c == 0)
		_exit(6);
	CHECK("clone3 CLONE_PIDFD", c > 0 && c3fd >= 0);
	memset(&si, 0, sizeof si);
	CHECK_EQ("waitid on clone3's pidfd", waitid(P_PIDFD, c3fd, &si, WEXITED), 0);
	CHECK_EQ("clone3 child's status", si.si_status, 6);
	close(c3fd);
	T_DONE();
}
