/* Pseudo-terminals: posix_openpt, grantpt/unlockpt/ptsname, TIOCGPTN, TIOCGPTPEER,
 * line discipline between the two ends, ttyname, and TIOCSCTTY in a new session. */
#include "../test.h"
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER 0x5441
#endif

/* The major of /proc/self/stat's tty_nr (field 7). */
static int ctty_major(void)
{
	char buf[1024];
	if (t_read_file("/proc/self/stat", buf, sizeof buf) <= 0)
		return -1;
	char *p = strrchr(buf, ')');
	int field = 2;
	while (p && field < 7) {
		p = strchr(p + 1, ' ');
		field++;
	}
	return p ? (int)(strtoul(p + 1, NULL, 10) >> 8) : -1;
}

int main(void)
{
	T_BEGIN();
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	CHECK("posix_openpt", m >= 0);
	CHECK_OK("grantpt", grantpt(m));
	CHECK_OK("unlockpt", unlockpt(m));
	char name[64] = "";
	const char *pn = ptsname(m);
	if (pn)
		snprintf(name, sizeof name, "%s", pn);
	CHECK("ptsname is under /dev/pts", strncmp(name, "/dev/pts/", 9) == 0);
	unsigned int n = 12345;
	CHECK_OK("TIOCGPTN", ioctl(m, TIOCGPTN, &n));
	CHECK_EQ("TIOCGPTN agrees with ptsname", (long)n, strtol(name + 9, NULL, 10));

	int s = open(name, O_RDWR | O_NOCTTY);
	CHECK("open the replica", s >= 0);
	CHECK("the replica is a terminal", isatty(s));
	CHECK("the master is a terminal", isatty(m));
	const char *tn = ttyname(s);
	CHECK_STR("ttyname names the replica", tn ? tn : "(null)", name);
	struct stat by_name, by_fd;
	CHECK("stat of the name and fstat of the fd agree",
	      stat(name, &by_name) == 0 && fstat(s, &by_fd) == 0 && by_name.st_rdev == by_fd.st_rdev && S_ISCHR(by_fd.st_mode));

	char buf[64];
	CHECK_EQ("write to the master", write(m, "ping\n", 5), 5);
	ssize_t got = read(s, buf, sizeof buf);
	CHECK_MEM("the replica reads the line", buf, "ping\n", got == 5 ? 5 : 0);
	/* The master sees the echo of its input first, then the replica's output with ONLCR. */
	CHECK_EQ("write to the replica", write(s, "pong\n", 5), 5);
	char all[64] = "";
	size_t have = 0;
	while (have < 12) {
		got = read(m, all + have, sizeof all - 1 - have);
		if (got <= 0)
			break;
		have += got;
	}
	CHECK_MEM("the master reads echo and output, NL as CR NL", all, "ping\r\npong\r\n", 12);

	int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	CHECK("TIOCGPTPEER opens the replica", peer >= 0);
	struct stat peer_st;
	CHECK("the peer is the same terminal", peer >= 0 && fstat(peer, &peer_st) == 0 && peer_st.st_rdev == by_fd.st_rdev);
	int p[2];
	if (pipe(p) != 0)
		return 2;
	CHECK_ERR("TIOCGPTN on a pipe -> ENOTTY", ioctl(p[0], TIOCGPTN, &n), ENOTTY);
	CHECK_ERR("TIOCGPTPEER on a pipe -> ENOTTY", ioctl(p[0], TIOCGPTPEER, O_RDWR), ENOTTY);
	close(p[0]);
	close(p[1]);

	/* A new session takes the replica as its controlling terminal. */
	pid_t c = fork();
	if (c == 0) {
		if (setsid() < 0)
			_exit(10);
		if (ctty_major() != 0)
			_exit(11);
		if (ioctl(s, TIOCSCTTY, 0) != 0)
			_exit(12);
		if (ctty_major() != 136)
			_exit(13);
		if (tcgetpgrp(s) != getpid())
			_exit(14);
		int t = open("/dev/tty", O_RDWR);
		if (t < 0)
			_exit(15);
		_exit(0);
	}
	int st = -1;
	waitpid(c, &st, 0);
	CHECK_EQ("setsid + TIOCSCTTY in a child", WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st), 0);
	if (peer >= 0)
		close(peer);
	close(s);
	close(m);
	T_DONE();
}
