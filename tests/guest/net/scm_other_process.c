/* SCM_RIGHTS to another process of files with no host object behind them:
 * a process that did not inherit them (the receiver is forked before they
 * are made) gets the same open file descriptions. An eventfd's counter is
 * the sender's both ways; a timerfd armed by the sender after the send
 * expires for the receiver; a signalfd reads the receiver's own signals;
 * a pidfd of a third process turns readable in the receiver when that
 * process exits. MSG_PEEK receives them as well, and the next recvmsg
 * again. Every wait is bounded (timed polls, a 5 s alarm). */
#define _GNU_SOURCE
#include "../test.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scm_fds.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* One byte from the other side, within 5 s: the lockstep of the two. */
static int wait_byte(int s)
{
	struct pollfd p = { s, POLLIN, 0 };
	char b;
	return poll(&p, 1, 5000) == 1 && read(s, &b, 1) == 1 ? 0 : -1;
}

static void say(int s) { (void)!write(s, "!", 1); }

static int readable_within(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* The receiver: checks what arrives, reports on stdout, exits 0 when all
 * held. Its fds are the four sent, in order: eventfd, timerfd, signalfd,
 * pidfd. */
static int receiver(int s)
{
	int peeked[4], fds[4];
	CHECK_EQ("MSG_PEEK receives the four fds", recv_fds(s, peeked, MSG_PEEK), 4);
	CHECK_EQ("recvmsg receives them again", recv_fds(s, fds, 0), 4);
	for (int i = 0; i < 4; i++)
		close(peeked[i]);

	char link[64] = "";
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fds[0]);
	ssize_t n = readlink(path, link, sizeof link - 1);
	if (n > 0)
		link[n] = 0;
	CHECK_STR("the eventfd's link names it", link, "anon_inode:[eventfd]");
	CHECK_EQ("close-on-exec from MSG_CMSG_CLOEXEC", fcntl(fds[0], F_GETFD), FD_CLOEXEC);

	uint64_t v = 0;
	CHECK_EQ("the eventfd holds what the sender wrote", read(fds[0], &v, 8), 8);
	CHECK_EQ("its value", v, 7);
	v = 3;
	CHECK_EQ("write 3 to it", write(fds[0], &v, 8), 8);
	say(s);

	/* The sender arms the timer once it has the 3. */
	CHECK("the timerfd, armed by the sender after the send, expires here", readable_within(fds[1], 5000));
	v = 0;
	CHECK_EQ("read its expirations", read(fds[1], &v, 8), 8);
	CHECK("at least one", v >= 1);

	/* A signalfd reads the signals of whoever reads it. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	say(s);
	CHECK("the signalfd turns readable for a SIGUSR2 sent to this process", readable_within(fds[2], 5000));
	struct signalfd_siginfo si;
	memset(&si, 0, sizeof si);
	CHECK_EQ("read one siginfo", read(fds[2], &si, sizeof si), (long)sizeof si);
	CHECK_EQ("it is SIGUSR2", si.ssi_signo, SIGUSR2);
	CHECK_EQ("sent by the sender", si.ssi_pid, getppid());

	/* The pidfd names a third process, which the sender ends now. */
	CHECK("the pidfd is not readable while its process lives", !readable_within(fds[3], 0));
	say(s);
	CHECK("it turns readable when the process exits", readable_within(fds[3], 5000));
	return t_failures ? 1 : 0;
}

int main(void)
{
	T_BEGIN();
	alarm(20);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		perror("socketpair");
		return 1;
	}
	pid_t recv_pid = fork();
	if (recv_pid == 0) {
		/* Its report comes out whole at its exit, while the sender waits
		 * for it: the output does not depend on scheduling. */
		static char report[1 << 14];
		setvbuf(stdout, report, _IOFBF, sizeof report);
		close(sv[0]);
		int rc = receiver(sv[1]);
		fflush(stdout);
		_exit(rc);
	}
	close(sv[1]);
	pid_t sleeper = fork();
	if (sleeper == 0) {
		pause();
		_exit(0);
	}

	/* Made after the receiver was forked: it inherits none of them. */
	int ev = eventfd(7, EFD_CLOEXEC);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	int pfd = (int)syscall(SYS_pidfd_open, sleeper, 0);
	CHECK("eventfd, timerfd, signalfd and pidfd made", ev >= 0 && tfd >= 0 && sfd >= 0 && pfd >= 0);
	int out[4] = { ev, tfd, sfd, pfd };
	CHECK_OK("send the four to the other process", send_fds(sv[0], out, 4));

	CHECK_OK("the receiver wrote to the eventfd", wait_byte(sv[0]));
	uint64_t v = 0;
	CHECK_EQ("read what it wrote", read(ev, &v, 8), 8);
	CHECK_EQ("its value", v, 3);

	struct itimerspec its = { { 0, 0 }, { 0, 20 * 1000 * 1000 } };
	CHECK_OK("arm the timer", timerfd_settime(tfd, 0, &its, NULL));

	CHECK_OK("the receiver blocks SIGUSR2", wait_byte(sv[0]));
	CHECK_OK("send it SIGUSR2", kill(recv_pid, SIGUSR2));

	CHECK_OK("the receiver watches the pidfd", wait_byte(sv[0]));
	kill(sleeper, SIGKILL);
	waitpid(sleeper, NULL, 0);

	int status = -1;
	CHECK_EQ("wait for the receiver", waitpid(recv_pid, &status, 0), recv_pid);
	CHECK("all its checks held", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	T_DONE();
}
