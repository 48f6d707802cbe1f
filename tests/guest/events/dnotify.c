/* Directory notification (fcntl(2) F_NOTIFY, Documentation/filesystems/
 * dnotify.rst): on a directory fd, DN_CREATE, DN_DELETE, DN_RENAME,
 * DN_MODIFY, DN_ATTRIB and DN_ACCESS each signal the process that set them
 * (F_NOTIFY makes it the file's owner): plain SIGIO (si_code SI_KERNEL),
 * or the F_SETSIG signal with si_code POLL_MSG, si_fd and si_band. One
 * signal, then the notification is gone, unless DN_MULTISHOT; a second
 * F_NOTIFY adds its events to the first; 0 removes; closing any fd of the
 * description ends it; a fork child's change signals the parent. A
 * non-directory is ENOTDIR (except for 0), an O_PATH fd EBADF, and bits
 * Linux does not know are ignored. Every signal is blocked and taken with
 * sigtimedwait, every wait bounded. */
#include "../test.h"
#include "sigwait.h"
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#define RT (SIGRTMIN + 1)

static void touch(const char *name)
{
	int f = open(name, O_CREAT | O_WRONLY, 0600);
	if (f >= 0)
		close(f);
}

/* The scratch directory (several runs share the working directory). */
static char dir_name[] = "/tmp/dnotify.XXXXXX";

/* `name` inside the scratch directory (one buffer per call site's slot). */
static const char *in(const char *name)
{
	static char bufs[4][64];
	static int next;
	char *b = bufs[next++ % 4];
	snprintf(b, sizeof bufs[0], "%s/%s", dir_name, name);
	return b;
}

static const long BAND_MSG = POLLIN | POLLRDNORM | POLLMSG;

int main(void)
{
	T_BEGIN();
	block_signal(SIGIO);
	block_signal(RT);
	siginfo_t si;

	CHECK("mkdtemp", mkdtemp(dir_name) != NULL);
	int dir = open(dir_name, O_RDONLY | O_DIRECTORY);
	CHECK_OK("open the directory", dir);
	int file = open(in("f"), O_CREAT | O_RDWR, 0600);
	CHECK_OK("open a file in it", file);

	/* Errors. */
	errno = 0;
	CHECK_EQ("a regular file is ENOTDIR", fcntl(file, F_NOTIFY, DN_CREATE), -1);
	CHECK_EQ("errno ENOTDIR", errno, ENOTDIR);
	CHECK_EQ("0 on a regular file removes nothing, no error", fcntl(file, F_NOTIFY, 0), 0);
	CHECK_EQ("DN_MULTISHOT alone is a removal too", fcntl(file, F_NOTIFY, DN_MULTISHOT), 0);
	int path = open(dir_name, O_PATH);
	errno = 0;
	CHECK_EQ("an O_PATH fd is EBADF", fcntl(path, F_NOTIFY, DN_CREATE), -1);
	CHECK_EQ("errno EBADF", errno, EBADF);
	close(path);

	/* One shot, plain SIGIO; F_NOTIFY makes the caller the owner. */
	CHECK_EQ("owner before", fcntl(dir, F_GETOWN), 0);
	CHECK_OK("DN_CREATE", fcntl(dir, F_NOTIFY, DN_CREATE));
	CHECK("F_NOTIFY made me the owner", fcntl(dir, F_GETOWN) == getpid());
	CHECK("nothing before a change", !another(SIGIO));
	touch(in("a"));
	CHECK_EQ("create: SIGIO", take(SIGIO, &si), SIGIO);
	CHECK_EQ("create: SI_KERNEL", si.si_code, SI_KERNEL);
	drain(SIGIO);
	touch(in("b"));
	CHECK("one shot: no second signal", !another(SIGIO));

	/* Only the events asked for. */
	CHECK_OK("DN_DELETE alone", fcntl(dir, F_NOTIFY, DN_DELETE));
	touch(in("c"));
	CHECK("a creation is not a deletion", !another(SIGIO));
	CHECK_OK("unlink", unlink(in("c")));
	CHECK_EQ("delete: SIGIO", take(SIGIO, &si), SIGIO);
	drain(SIGIO);

	/* F_SETSIG: POLL_MSG with si_fd and si_band; DN_MULTISHOT; a second
	 * F_NOTIFY adds to the first. */
	CHECK_OK("F_SETSIG", fcntl(dir, F_SETSIG, RT));
	CHECK_OK("DN_DELETE | DN_MULTISHOT", fcntl(dir, F_NOTIFY, DN_DELETE | DN_MULTISHOT));
	CHECK_OK("DN_CREATE added", fcntl(dir, F_NOTIFY, DN_CREATE));
	touch(in("d"));
	CHECK_EQ("added create: F_SETSIG signal", take(RT, &si), RT);
	CHECK_EQ("si_code POLL_MSG", si.si_code, POLL_MSG);
	CHECK_EQ("si_fd", si.si_fd, dir);
	CHECK_EQ("si_band", si.si_band, BAND_MSG);
	drain(RT);
	for (int i = 0; i < 3; i++) {
		char base[] = "x0";
		base[1] = (char)('0' + i);
		const char *name = in(base);
		touch(name);
		drain(RT);
		CHECK_OK("multishot: unlink", unlink(name));
		CHECK_EQ("multishot: a signal each time", take(RT, &si), RT);
		drain(RT);
	}
	CHECK_OK("0 removes", fcntl(dir, F_NOTIFY, 0));
	touch(in("e"));
	CHECK_OK("unlink after removal", unlink(in("e")));
	CHECK("no signal after removal", !another(RT));

	/* Each other event. */
	CHECK_OK("DN_RENAME", fcntl(dir, F_NOTIFY, DN_RENAME | DN_MULTISHOT));
	CHECK_OK("rename", rename(in("a"), in("a2")));
	CHECK_EQ("rename: signal", take(RT, &si), RT);
	drain(RT);
	CHECK_OK("DN_MODIFY", fcntl(dir, F_NOTIFY, 0) | fcntl(dir, F_NOTIFY, DN_MODIFY | DN_MULTISHOT));
	CHECK_EQ("write", write(file, "abc", 3), 3);
	CHECK_EQ("modify: signal", take(RT, &si), RT);
	drain(RT);
	CHECK_OK("DN_ATTRIB", fcntl(dir, F_NOTIFY, 0) | fcntl(dir, F_NOTIFY, DN_ATTRIB | DN_MULTISHOT));
	CHECK_OK("fchmod", fchmod(file, 0640));
	CHECK_EQ("attrib: signal", take(RT, &si), RT);
	drain(RT);
	CHECK_OK("DN_ACCESS", fcntl(dir, F_NOTIFY, 0) | fcntl(dir, F_NOTIFY, DN_ACCESS | DN_MULTISHOT));
	char buf[4];
	CHECK_EQ("read", pread(file, buf, sizeof buf, 0), 3);
	CHECK_EQ("access: signal", take(RT, &si), RT);
	drain(RT);

	/* Closing one fd of the description ends it, a dup left open or not. */
	int copy = dup(dir);
	CHECK_OK("dup", copy);
	CHECK_OK("close the fd F_NOTIFY was set on", close(dir));
	CHECK_EQ("read again", pread(file, buf, sizeof buf, 0), 3);
	CHECK("no signal after close", !another(RT));

	/* A fork child's change signals the parent, the owner. */
	CHECK_OK("DN_CREATE through the dup", fcntl(copy, F_NOTIFY, DN_CREATE | DN_MULTISHOT));
	pid_t c = fork();
	if (c == 0) {
		touch(in("child"));
		_exit(0);
	}
	int st;
	CHECK_EQ("child", waitpid(c, &st, 0), c);
	CHECK_EQ("the child's creation signals the parent", take(RT, &si), RT);
	CHECK_EQ("si_fd is the dup", si.si_fd, copy);
	drain(RT);
	CHECK_OK("remove", fcntl(copy, F_NOTIFY, 0));
	close(copy);
	close(file);

	const char *names[] = { "a2", "b", "d", "f", "child" };
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
		unlink(in(names[i]));
	CHECK_OK("rmdir", rmdir(dir_name));
	T_DONE();
}
