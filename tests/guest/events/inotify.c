/* inotify(7): the flags and errors of inotify_init1, inotify_add_watch and
 * inotify_rm_watch; the events a directory and a file report for what this
 * program and a child do to them (names, IN_ISDIR, move cookies, padding),
 * IN_ONESHOT, IN_MASK_ADD/IN_MASK_CREATE, IN_IGNORED, IN_Q_OVERFLOW; read's
 * buffer rule, FIONREAD, poll, and a blocking read woken by a child. */
#include "../test.h"
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>

#ifndef IN_MASK_CREATE
#define IN_MASK_CREATE 0x10000000
#endif

static char evbuf[65536] __attribute__((aligned(8)));

static const char *names(uint32_t m)
{
	static char out[256];
	static const struct { uint32_t bit; const char *name; } t[] = {
		{ IN_ACCESS, "ACCESS" }, { IN_MODIFY, "MODIFY" }, { IN_ATTRIB, "ATTRIB" },
		{ IN_CLOSE_WRITE, "CLOSE_WRITE" }, { IN_CLOSE_NOWRITE, "CLOSE_NOWRITE" }, { IN_OPEN, "OPEN" },
		{ IN_MOVED_FROM, "MOVED_FROM" }, { IN_MOVED_TO, "MOVED_TO" }, { IN_CREATE, "CREATE" },
		{ IN_DELETE, "DELETE" }, { IN_DELETE_SELF, "DELETE_SELF" }, { IN_MOVE_SELF, "MOVE_SELF" },
		{ IN_Q_OVERFLOW, "Q_OVERFLOW" }, { IN_IGNORED, "IGNORED" }, { IN_ISDIR, "ISDIR" },
	};
	out[0] = 0;
	for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++)
		if (m & t[i].bit) {
			if (out[0])
				strcat(out, "|");
			strcat(out, t[i].name);
		}
	return out;
}

/* Reads what is queued now (nonblocking fd) and prints one line per
 * event: the watch's label, the mask, the name and its padded length;
 * move pairs are checked to share a nonzero cookie. */
static int dump(int fd, const char *what, int wd_a, int wd_b)
{
	int count = 0;
	uint32_t cookie = 0;
	ssize_t n;
	printf("-- %s\n", what);
	while ((n = read(fd, evbuf, sizeof evbuf)) > 0) {
		for (char *p = evbuf; p < evbuf + n;) {
			struct inotify_event *e = (struct inotify_event *)p;
			const char *label = e->wd == wd_a ? "A" : e->wd == wd_b ? "B" : e->wd == -1 ? "-" : "?";
			printf("%s %s %s len=%u\n", label, names(e->mask), e->len ? e->name : "", e->len);
			/* A rename within the watched directory queues MOVED_FROM and
			 * MOVED_TO with one cookie; a move across directories has a
			 * cookie of its own on each side. */
			if (e->mask & IN_MOVED_TO)
				printf("  cookie %s\n", e->cookie == 0 ? "zero" : e->cookie == cookie ? "paired" : "own");
			else if (e->mask & IN_MOVED_FROM)
				CHECK("move cookie set", e->cookie != 0);
			else if (e->cookie != 0)
				CHECK("no cookie outside moves", 0);
			cookie = (e->mask & IN_MOVED_FROM) ? e->cookie : 0;
			p += sizeof *e + e->len;
			count++;
		}
	}
	if (n < 0 && errno != EAGAIN)
		printf("FAIL read: errno %d\n", errno), t_failures++;
	return count;
}

static void touch(const char *name)
{
	int f = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (f >= 0)
		close(f);
}

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();

	CHECK_ERR("inotify_init1 bad flags", inotify_init1(1), EINVAL);
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	CHECK("inotify_init1", fd >= 0);
	CHECK_EQ("IN_CLOEXEC", fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	CHECK_EQ("O_RDONLY|O_NONBLOCK", fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY | O_NONBLOCK);
	char link[64];
	t_fd_link(fd, link, sizeof link);
	CHECK_STR("link name", link, "anon_inode:inotify");
	CHECK_ERR("nothing queued", read(fd, evbuf, sizeof evbuf), EAGAIN);
	int plain = inotify_init();
	CHECK("inotify_init", plain >= 0);
	CHECK_EQ("inotify_init blocks", fcntl(plain, F_GETFL) & O_NONBLOCK, 0);
	close(plain);

	/* Errors. */
	mkdir("d", 0755);
	touch("f");
	symlink("f", "lnk");
	CHECK_ERR("add_watch on a closed fd", inotify_add_watch(999, ".", IN_CREATE), EBADF);
	CHECK_ERR("add_watch on a non-inotify fd", inotify_add_watch(1, ".", IN_CREATE), EINVAL);
	CHECK_ERR("empty mask", inotify_add_watch(fd, ".", 0), EINVAL);
	CHECK_ERR("IN_MASK_ADD|IN_MASK_CREATE", inotify_add_watch(fd, ".", IN_CREATE | IN_MASK_ADD | IN_MASK_CREATE), EINVAL);
	CHECK_ERR("missing path", inotify_add_watch(fd, "nope", IN_CREATE), ENOENT);
	CHECK_ERR("IN_ONLYDIR on a file", inotify_add_watch(fd, "f", IN_MODIFY | IN_ONLYDIR), ENOTDIR);
	CHECK_ERR("rm_watch of an unknown wd", inotify_rm_watch(fd, 12345), EINVAL);
	CHECK_ERR("rm_watch on a non-inotify fd", inotify_rm_watch(1, 1), EINVAL);

	/* The same file twice is one watch. */
	int wf = inotify_add_watch(fd, "f", IN_MODIFY);
	CHECK("watch f", wf >= 1);
	CHECK_EQ("through the symlink: same wd", inotify_add_watch(fd, "lnk", IN_ATTRIB), wf);
	CHECK_ERR("IN_MASK_CREATE on a watched file", inotify_add_watch(fd, "f", IN_MODIFY | IN_MASK_CREATE), EEXIST);
	int wl = inotify_add_watch(fd, "lnk", IN_ATTRIB | IN_DONT_FOLLOW);
	CHECK("IN_DONT_FOLLOW watches the link itself", wl >= 1 && wl != wf);
	/* f now watches IN_ATTRIB only; IN_MASK_ADD brings IN_MODIFY back. */
	CHECK_EQ("IN_MASK_ADD", inotify_add_watch(fd, "f", IN_MODIFY | IN_MASK_ADD), wf);
	int w = open("f", O_WRONLY);
	write(w, "x", 1);
	close(w);
	chmod("f", 0600);
	dump(fd, "f: modify and attrib", wf, -1);
	CHECK_OK("rm_watch", inotify_rm_watch(fd, wf));
	CHECK_ERR("rm_watch twice", inotify_rm_watch(fd, wf), EINVAL);
	CHECK_OK("rm_watch of the link", inotify_rm_watch(fd, wl));
	dump(fd, "after rm_watch", wf, wl);

	/* A directory: what this program does in it. */
	int wd = inotify_add_watch(fd, ".", IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_ONLYDIR);
	CHECK("watch the directory", wd >= 1);
	w = open("new", O_WRONLY | O_CREAT, 0644);
	write(w, "abc", 3);
	close(w);
	chmod("new", 0600);
	rename("new", "renamed");
	rename("renamed", "d/inside");
	rename("d/inside", "back");
	unlink("back");
	mkdir("sub", 0755);
	rmdir("sub");
	touch("a_name_of_exactly_31_bytes_long");
	unlink("a_name_of_exactly_31_bytes_long");
	dump(fd, "directory", wd, -1);

	/* The same from a child process. */
	pid_t kid = fork();
	if (kid == 0) {
		touch("from_child");
		unlink("from_child");
		_exit(0);
	}
	waitpid(kid, NULL, 0);
	dump(fd, "a child's changes", wd, -1);

	/* read's buffer and FIONREAD. */
	touch("x");
	int avail = -1;
	CHECK_OK("FIONREAD", ioctl(fd, FIONREAD, &avail));
	/* IN_CREATE x and IN_CLOSE_WRITE x: 16 + 16 bytes each. */
	CHECK_EQ("FIONREAD counts whole records", avail, 64);
	struct pollfd p = { fd, POLLIN, 0 };
	CHECK_EQ("poll: readable", poll(&p, 1, 0), 1);
	CHECK_ERR("a buffer smaller than the event", read(fd, evbuf, 16), EINVAL);
	CHECK_EQ("a buffer of one event", read(fd, evbuf, 40), 32);
	CHECK_EQ("the next one", read(fd, evbuf, sizeof evbuf), 32);
	p.revents = 0;
	CHECK_EQ("poll: drained", poll(&p, 1, 0), 0);

	/* IN_ONESHOT, IN_DELETE_SELF and IN_MOVE_SELF on files. */
	touch("one");
	int wo = inotify_add_watch(fd, "one", IN_MODIFY | IN_ONESHOT);
	w = open("one", O_WRONLY);
	write(w, "1", 1);
	write(w, "2", 1);
	close(w);
	dump(fd, "oneshot", wo, wd);
	touch("gone");
	int wg = inotify_add_watch(fd, "gone", IN_DELETE_SELF | IN_MOVE_SELF);
	rename("gone", "moved");
	unlink("moved");
	dump(fd, "move and delete self", wg, wd);
	CHECK_ERR("the deleted file's watch is gone", inotify_rm_watch(fd, wg), EINVAL);

	/* A blocking read woken by a child. */
	int bfd = inotify_init1(0);
	int wb = inotify_add_watch(bfd, ".", IN_CREATE);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ee = { .events = EPOLLIN, .data.u32 = 9 };
	CHECK_OK("epoll_ctl ADD of an inotify fd", epoll_ctl(ep, EPOLL_CTL_ADD, bfd, &ee));
	CHECK_EQ("epoll: nothing queued", epoll_wait(ep, &ee, 1, 0), 0);
	kid = fork();
	if (kid == 0) {
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
		touch("late");
		_exit(0);
	}
	memset(&ee, 0, sizeof ee);
	CHECK_EQ("epoll: woken by the child's creation", epoll_wait(ep, &ee, 1, 10000), 1);
	CHECK_EQ("epoll: EPOLLIN and data", ee.events == EPOLLIN && ee.data.u32 == 9, 1);
	close(ep);
	ssize_t n = read(bfd, evbuf, sizeof evbuf);
	struct inotify_event *e = (struct inotify_event *)evbuf;
	CHECK("blocking read woken", n >= (ssize_t)sizeof *e && e->wd == wb && (e->mask & IN_CREATE) && !strcmp(e->name, "late"));
	waitpid(kid, NULL, 0);
	close(bfd);

	/* Overflow: more events than the queue holds (two names alternate, so
	 * none merges with the one before). */
	int ofd = inotify_init1(IN_NONBLOCK);
	inotify_add_watch(ofd, ".", IN_MODIFY);
	int fa = open("ova", O_WRONLY | O_CREAT, 0644), fb = open("ovb", O_WRONLY | O_CREAT, 0644);
	for (int i = 0; i < 17000; i++) {
		write(fa, "a", 1);
		write(fb, "b", 1);
	}
	close(fa);
	close(fb);
	int total = 0, overflows = 0, last_overflow = 0;
	while ((n = read(ofd, evbuf, sizeof evbuf)) > 0)
		for (char *q = evbuf; q < evbuf + n;) {
			e = (struct inotify_event *)q;
			total++;
			last_overflow = (e->mask & IN_Q_OVERFLOW) != 0;
			if (last_overflow) {
				overflows++;
				CHECK_EQ("overflow wd", e->wd, -1);
			}
			q += sizeof *e + e->len;
		}
	CHECK_EQ("one overflow event", overflows, 1);
	CHECK("it comes last", last_overflow);
	CHECK_EQ("the queue held max_queued_events", total, 16384 + 1);
	close(ofd);

	close(fd);
	t_tmpdir_end();
	T_DONE();
}
