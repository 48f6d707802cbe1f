// build: -pthread
/* Signal-driven I/O (fcntl(2): O_ASYNC, F_SETOWN, F_SETOWN_EX, F_SETSIG):
 * the owner gets SIGIO (si_code SI_KERNEL) or the F_SETSIG signal, one
 * queued per event with its POLL_* reason, si_fd and si_band, for pipes,
 * unix and inet sockets (data, room to write, a new connection, the peer's
 * hang-up) and terminals; a thread owner gets it alone, a process group
 * owner gets it, a fork child's write signals the parent, a child that
 * sets itself as owner takes the signals over, an execve keeps it all, and
 * none comes after O_ASYNC is turned off. Every signal is blocked and taken with sigtimedwait. */
#include "../test.h"
#include "sigwait.h"
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#define RT (SIGRTMIN + 2)


static int make_async(int fd, int sig)
{
	if (fcntl(fd, F_SETOWN, getpid()) < 0 || fcntl(fd, F_SETSIG, sig) < 0)
		return -1;
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC);
}

static const long BAND_IN = POLLIN | POLLRDNORM;
static const long BAND_OUT = POLLOUT | POLLWRNORM | POLLWRBAND;
static const long BAND_HUP = POLLHUP | POLLERR;

static void pipes(void)
{
	int p[2];
	siginfo_t si;
	CHECK_OK("pipe", pipe(p));
	CHECK_OK("pipe: O_ASYNC, owner me, no F_SETSIG", make_async(p[0], 0));
	CHECK_EQ("pipe: write", write(p[1], "abc", 3), 3);
	CHECK_EQ("pipe: SIGIO", take(SIGIO, &si), SIGIO);
	CHECK_EQ("pipe: plain SIGIO is SI_KERNEL", si.si_code, SI_KERNEL);
	char buf[16];
	CHECK_EQ("pipe: read", read(p[0], buf, sizeof buf), 3);
	CHECK_OK("pipe: F_SETSIG SIGIO", fcntl(p[0], F_SETSIG, SIGIO));
	CHECK_EQ("pipe: write again", write(p[1], "d", 1), 1);
	CHECK_EQ("pipe: SIGIO with F_SETSIG", take(SIGIO, &si), SIGIO);
	CHECK_EQ("pipe: POLL_IN", si.si_code, POLL_IN);
	CHECK_EQ("pipe: si_fd", si.si_fd, p[0]);
	CHECK_EQ("pipe: si_band", si.si_band, BAND_IN);
	CHECK_EQ("pipe: read again", read(p[0], buf, sizeof buf), 1);
	CHECK_OK("pipe: O_ASYNC off", fcntl(p[0], F_SETFL, 0));
	CHECK_EQ("pipe: write with O_ASYNC off", write(p[1], "e", 1), 1);
	CHECK("pipe: no signal with O_ASYNC off", !another(SIGIO));
	close(p[0]);
	close(p[1]);
}

static void unix_sockets(void)
{
	int sv[2];
	siginfo_t si;
	CHECK_OK("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHECK_OK("unix: owner me", fcntl(sv[0], F_SETOWN, getpid()));
	CHECK_OK("unix: F_SETSIG", fcntl(sv[0], F_SETSIG, RT));
	int on = 1;
	CHECK_OK("unix: FIOASYNC", ioctl(sv[0], FIOASYNC, &on));
	for (int i = 0; i < 3; i++)
		CHECK_EQ("unix: send", write(sv[1], "x", 1), 1);
	int n = 0, good = 0;
	while (take(RT, &si) == RT) {
		n++;
		if (si.si_code == POLL_IN && si.si_fd == sv[0] && si.si_band == BAND_IN)
			good++;
		if (n == 3)
			break;
	}
	CHECK_EQ("unix: one queued signal per send", n, 3);
	CHECK_EQ("unix: each POLL_IN with si_fd and si_band", good, 3);
	CHECK("unix: no fourth", !another(RT));
	char buf[4096];
	CHECK_EQ("unix: read", read(sv[0], buf, sizeof buf), 3);

	/* A description with O_ASYNC keeps signalling through a dup after the
	 * first fd is closed, naming the fd O_ASYNC was set through. */
	int old = sv[0];
	int dup_fd = dup(sv[0]);
	CHECK_OK("unix: dup", dup_fd);
	CHECK_OK("unix: close the first fd", close(sv[0]));
	CHECK_EQ("unix: send to the dup", write(sv[1], "y", 1), 1);
	CHECK_EQ("unix: signal through the dup", take(RT, &si), RT);
	CHECK_EQ("unix: si_fd is the fd O_ASYNC was set on", si.si_fd, old);
	CHECK_EQ("unix: read the dup", read(dup_fd, buf, sizeof buf), 1);

	/* The peer hangs up. */
	CHECK_OK("unix: peer closes", close(sv[1]));
	CHECK_EQ("unix: hang-up signal", take(RT, &si), RT);
	CHECK_EQ("unix: POLL_HUP", si.si_code, POLL_HUP);
	CHECK_EQ("unix: hang-up band", si.si_band, BAND_HUP);
	drain(RT);
	close(dup_fd);

	/* Room to write again after the socket was full. */
	CHECK_OK("socketpair 2", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHECK_OK("unix: nonblocking writer", fcntl(sv[0], F_SETFL, O_NONBLOCK));
	CHECK_OK("unix: nonblocking reader", fcntl(sv[1], F_SETFL, O_NONBLOCK));
	CHECK_OK("unix: writer async", make_async(sv[0], RT));
	memset(buf, 'z', sizeof buf);
	long filled = 0;
	for (int i = 0; i < 100000; i++) {
		ssize_t w = write(sv[0], buf, sizeof buf);
		if (w < 0)
			break;
		filled += w;
	}
	CHECK("unix: filled until EAGAIN", filled > 0 && errno == EAGAIN);
	CHECK("unix: no signal while full", !another(RT));
	while (read(sv[1], buf, sizeof buf) > 0)
		;
	CHECK_EQ("unix: room signal", take(RT, &si), RT);
	CHECK_EQ("unix: POLL_OUT", si.si_code, POLL_OUT);
	CHECK_EQ("unix: POLL_OUT si_fd", si.si_fd, sv[0]);
	CHECK_EQ("unix: POLL_OUT band", si.si_band, BAND_OUT);
	drain(RT);
	close(sv[0]);
	close(sv[1]);
}

static void inet_listener(void)
{
	siginfo_t si;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_OK("inet: socket", l);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	CHECK_OK("inet: bind", bind(l, (struct sockaddr *)&a, sizeof a));
	CHECK_OK("inet: listen", listen(l, 4));
	CHECK_OK("inet: getsockname", getsockname(l, (struct sockaddr *)&a, &len));
	CHECK_OK("inet: listener async", make_async(l, RT));
	int c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_OK("inet: connect", connect(c, (struct sockaddr *)&a, sizeof a));
	CHECK_EQ("inet: new connection signal", take(RT, &si), RT);
	CHECK_EQ("inet: new connection is POLL_IN", si.si_code, POLL_IN);
	CHECK_EQ("inet: on the listener", si.si_fd, l);
	drain(RT);
	int s = accept(l, NULL, NULL);
	CHECK_OK("inet: accept", s);
	CHECK_EQ("inet: accepted socket has no O_ASYNC", fcntl(s, F_GETFL) & O_ASYNC, 0);
	CHECK_OK("inet: accepted async", make_async(s, RT));
	CHECK_EQ("inet: send", write(c, "hi", 2), 2);
	CHECK_EQ("inet: data signal", take(RT, &si), RT);
	CHECK_EQ("inet: data POLL_IN", si.si_code, POLL_IN);
	CHECK_EQ("inet: data si_fd", si.si_fd, s);
	drain(RT);
	close(c);
	close(s);
	close(l);
	drain(RT);
}

static void terminal(void)
{
	siginfo_t si;
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	CHECK_OK("pty: posix_openpt", m);
	CHECK_OK("pty: grantpt", grantpt(m));
	CHECK_OK("pty: unlockpt", unlockpt(m));
	int s = open(ptsname(m), O_RDWR | O_NOCTTY);
	CHECK_OK("pty: open the terminal", s);
	CHECK_OK("pty: master async", make_async(m, RT));
	CHECK_EQ("pty: write a line", write(s, "ab\n", 3), 3);
	CHECK_EQ("pty: input signal", take(RT, &si), RT);
	CHECK_EQ("pty: POLL_IN", si.si_code, POLL_IN);
	CHECK_EQ("pty: si_fd", si.si_fd, m);
	drain(RT);
	close(s);
	close(m);
	drain(RT);
}

static int pipe_fds[2];
static volatile int helper_saw;

static void *helper(void *arg)
{
	(void)arg;
	for (int i = 0; i < 500; i++) {
		sigset_t pend;
		sigpending(&pend);
		if (sigismember(&pend, RT)) {
			helper_saw = 1;
			siginfo_t si;
			take(RT, &si);
			return NULL;
		}
		usleep(10000);
	}
	return NULL;
}

static void thread_owner(void)
{
	CHECK_OK("thread: pipe", pipe(pipe_fds));
	pthread_t t;
	CHECK_EQ("thread: start", pthread_create(&t, NULL, helper, NULL), 0);
	/* The helper's tid: the only other thread; ask it through /proc. */
	pid_t tid = 0;
	char path[64];
	for (int i = 0; i < 100 && !tid; i++) {
		snprintf(path, sizeof path, "/proc/self/task");
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			pid_t n = atoi(e->d_name);
			if (n > 0 && n != getpid())
				tid = n;
		}
		if (d)
			closedir(d);
	}
	CHECK("thread: found the helper", tid > 0);
	struct f_owner_ex ex = { F_OWNER_TID, tid };
	CHECK_OK("thread: F_SETOWN_EX to the helper", fcntl(pipe_fds[0], F_SETOWN_EX, &ex));
	CHECK_OK("thread: F_SETSIG", fcntl(pipe_fds[0], F_SETSIG, RT));
	CHECK_OK("thread: O_ASYNC", fcntl(pipe_fds[0], F_SETFL, O_ASYNC));
	CHECK_EQ("thread: write", write(pipe_fds[1], "x", 1), 1);
	pthread_join(t, NULL);
	CHECK("thread: the helper had it pending", helper_saw);
	sigset_t pend;
	sigpending(&pend);
	CHECK("thread: not pending for the process", !sigismember(&pend, RT));
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	drain(RT);
}

static void group_owner(void)
{
	int p[2];
	siginfo_t si;
	CHECK_OK("group: pipe", pipe(p));
	CHECK_OK("group: F_SETOWN to my group", fcntl(p[0], F_SETOWN, -getpgrp()));
	CHECK_OK("group: O_ASYNC", fcntl(p[0], F_SETFL, O_ASYNC));
	CHECK_EQ("group: write", write(p[1], "x", 1), 1);
	CHECK_EQ("group: SIGIO", take(SIGIO, &si), SIGIO);
	close(p[0]);
	close(p[1]);
	drain(SIGIO);
}

static void fork_child(void)
{
	int p[2];
	siginfo_t si;
	CHECK_OK("fork: pipe", pipe(p));
	CHECK_OK("fork: async, owner me", make_async(p[0], 0));
	pid_t c = fork();
	if (c == 0) {
		write(p[1], "x", 1);
		_exit(0);
	}
	int st;
	CHECK_EQ("fork: child", waitpid(c, &st, 0), c);
	CHECK_EQ("fork: the child's write signals the parent", take(SIGIO, &si), SIGIO);
	char buf[8];
	CHECK_EQ("fork: read", read(p[0], buf, sizeof buf), 1);

	/* A child that makes itself the owner takes the signals over. */
	c = fork();
	if (c == 0) {
		if (fcntl(p[0], F_SETOWN, getpid()) < 0)
			_exit(2);
		write(p[1], "y", 1);
		_exit(take(SIGIO, &si) == SIGIO ? 0 : 3);
	}
	CHECK_EQ("fork: owner child", waitpid(c, &st, 0), c);
	CHECK("fork: the child that owns the file got SIGIO", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK("fork: the parent got none", !another(SIGIO));
	close(p[0]);
	close(p[1]);
}

/* The image execve started: the pipe's O_ASYNC, owner and F_SETSIG are
 * still there (the mask that blocks RT too). */
static int after_exec(const char *rfd, const char *wfd)
{
	int r = atoi(rfd), w = atoi(wfd);
	siginfo_t si;
	if (fcntl(r, F_GETSIG) != RT || fcntl(r, F_GETOWN) != getpid() || !(fcntl(r, F_GETFL) & O_ASYNC))
		return 2;
	if (write(w, "x", 1) != 1)
		return 3;
	if (take(RT, &si) != RT)
		return 4;
	return si.si_code == POLL_IN && si.si_fd == r ? 0 : 5;
}

static void exec_keeps(void)
{
	int p[2];
	CHECK_OK("exec: pipe", pipe(p));
	pid_t c = fork();
	if (c == 0) {
		char r[16], w[16];
		snprintf(r, sizeof r, "%d", p[0]);
		snprintf(w, sizeof w, "%d", p[1]);
		if (make_async(p[0], RT) < 0)
			_exit(6);
		execl("/proc/self/exe", "sigio", "exec", r, w, (char *)NULL);
		_exit(7);
	}
	int st;
	CHECK_EQ("exec: child", waitpid(c, &st, 0), c);
	CHECK_EQ("exec: the new image gets the signal", WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st), 0);
	close(p[0]);
	close(p[1]);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "exec") == 0)
		return after_exec(argv[2], argv[3]);
	T_BEGIN();
	/* A group of our own: a group owner must not reach whoever started us. */
	setpgid(0, 0);
	sigset_t all;
	sigemptyset(&all);
	sigaddset(&all, SIGIO);
	sigaddset(&all, RT);
	CHECK_OK("block SIGIO and the F_SETSIG signal", sigprocmask(SIG_BLOCK, &all, NULL));
	pipes();
	unix_sockets();
	inet_listener();
	terminal();
	thread_owner();
	group_owner();
	fork_child();
	exec_keeps();
	T_DONE();
}
