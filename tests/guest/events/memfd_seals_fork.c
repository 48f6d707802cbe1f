/* A memfd's seals belong to the file, as on Linux: a seal a fork child
 * adds holds in its parent, and a child that execs keeps the memfd with
 * the same seals, through both its fd and a reopen of it through
 * /proc/self/fd, which stay one file (a seal added through one shows
 * through the other, and in the parent). */
#include "../test.h"
#include <sys/wait.h>

#ifndef SYS_memfd_create
#define SYS_memfd_create 319
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 2
#endif

#define MEMFD 10
#define REOPENED 11

static int child_status(pid_t pid)
{
	int st = -1;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

/* After the exec: both fds show the seals the parent added; a seal added
 * through the reopened fd shows through the other. */
static int after_exec(void)
{
	if (fcntl(MEMFD, F_GET_SEALS) != F_SEAL_GROW)
		return 10;
	if (fcntl(REOPENED, F_GET_SEALS) != F_SEAL_GROW)
		return 11;
	if (pwrite(MEMFD, "!", 1, 5) != -1 || errno != EPERM)
		return 12;
	if (fcntl(REOPENED, F_ADD_SEALS, F_SEAL_SHRINK) != 0)
		return 13;
	if (fcntl(MEMFD, F_GET_SEALS) != (F_SEAL_GROW | F_SEAL_SHRINK))
		return 14;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "after-exec") == 0)
		return after_exec();
	T_BEGIN();
	int fd = (int)syscall(SYS_memfd_create, "seals", MFD_ALLOW_SEALING);
	CHECK_EQ("memfd_create at fd 10", dup2(fd, MEMFD), MEMFD);
	close(fd);
	CHECK_EQ("write hello", write(MEMFD, "hello", 5), 5);

	/* A seal the child adds holds in the parent. */
	pid_t pid = fork();
	if (pid == 0)
		_exit(fcntl(MEMFD, F_ADD_SEALS, F_SEAL_GROW) == 0 ? 0 : 1);
	CHECK_EQ("the child adds F_SEAL_GROW", child_status(pid), 0);
	CHECK_EQ("the parent sees it", fcntl(MEMFD, F_GET_SEALS), F_SEAL_GROW);
	CHECK_ERR("and cannot grow the file", pwrite(MEMFD, "!", 1, 5), EPERM);
	CHECK_OK("but may shrink it", ftruncate(MEMFD, 5));

	/* A child that execs keeps the memfd and its reopen as one file. */
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", MEMFD);
	fd = open(path, O_RDWR);
	CHECK_EQ("reopen through /proc/self/fd at fd 11", dup2(fd, REOPENED), REOPENED);
	close(fd);
	pid = fork();
	if (pid == 0) {
		char self[4096];
		ssize_t l = readlink("/proc/self/exe", self, sizeof self - 1);
		if (l <= 0)
			_exit(4);
		self[l] = 0;
		execl(self, self, "after-exec", (char *)NULL);
		_exit(5);
	}
	CHECK_EQ("the new program finds the seals through both fds and adds one", child_status(pid), 0);
	CHECK_EQ("the parent sees the seal added after the exec", fcntl(MEMFD, F_GET_SEALS), F_SEAL_GROW | F_SEAL_SHRINK);
	CHECK_ERR("and cannot shrink the file", ftruncate(MEMFD, 1), EPERM);
	T_DONE();
}
