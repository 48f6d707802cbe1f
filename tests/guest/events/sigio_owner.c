/* Signal-driven I/O whose owner is another process (fcntl(2) F_SETOWN):
 * the owner gets the signal exactly as it would for a file of its own,
 * with si_code POLL_IN and the fd and band of the event (F_SETSIG), or a
 * plain SIGIO with si_code SI_KERNEL; a process group owner reaches every
 * member, the process that armed the file among them. The parent arms a
 * pipe for its fork child; the child checks what it gets and says so by
 * its exit status. Every signal is blocked and taken with sigtimedwait,
 * every wait bounded. */
#include "../test.h"
#include "sigwait.h"
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#define RT (SIGRTMIN + 3)


static const long BAND_IN = POLLIN | POLLRDNORM;

/* In the child: waits for `sig` and checks its siginfo against a pipe
 * event on `fd` (plain: SI_KERNEL). Exit status: the failures. */
static void child_checks(int go, int sig, int fd, int plain)
{
	siginfo_t si;
	char c = 'r';
	if (write(go, &c, 1) != 1)
		_exit(100);
	int bad = 0;
	if (take(sig, &si) != sig)
		_exit(50);
	if (plain) {
		bad += si.si_code != SI_KERNEL;
	} else {
		bad += si.si_code != POLL_IN;
		bad += si.si_fd != fd;
		bad += si.si_band != BAND_IN;
	}
	_exit(bad);
}

/* Arms pipe `p` for owner `owner` with signal `sig` (0: plain SIGIO),
 * forks a child that takes the signal, writes once the child is ready,
 * and returns the child's exit status. */
static int one_case(const char *what, int sig, int by_group)
{
	int p[2], go[2];
	char c;
	if (pipe(p) < 0 || pipe(go) < 0)
		return -1;
	pid_t child = fork();
	if (child == 0) {
		close(go[0]);
		child_checks(go[1], sig ? sig : SIGIO, p[0], sig == 0);
	}
	close(go[1]);
	CHECK_EQ("child ready", read(go[0], &c, 1), 1);
	pid_t owner = by_group ? -getpgrp() : child;
	CHECK_OK(what, fcntl(p[0], F_SETOWN, owner));
	CHECK_OK("F_SETSIG", fcntl(p[0], F_SETSIG, sig));
	CHECK_OK("O_ASYNC", fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_ASYNC));
	CHECK_EQ("write", write(p[1], "x", 1), 1);
	int st = -1;
	CHECK_EQ("child exits", waitpid(child, &st, 0), child);
	close(p[0]);
	close(p[1]);
	close(go[0]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 200;
}

int main(void)
{
	T_BEGIN();
	block_signal(SIGIO);
	block_signal(RT);
	siginfo_t si;

	CHECK_EQ("another process: F_SETSIG signal with POLL_IN, si_fd, si_band", one_case("owner: the child", RT, 0), 0);
	CHECK_EQ("another process: plain SIGIO is SI_KERNEL", one_case("owner: the child", 0, 0), 0);

	/* A group with the parent and the child in it. */
	CHECK_OK("own group", setpgid(0, 0));
	CHECK_EQ("group: the child's signal", one_case("owner: the group", RT, 1), 0);
	CHECK_EQ("group: the parent's own signal", take(RT, &si), RT);
	CHECK_EQ("group: parent's POLL_IN", si.si_code, POLL_IN);
	T_DONE();
}
