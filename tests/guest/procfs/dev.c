/* /dev/null, /dev/zero, /dev/full, /dev/urandom, /dev/random, /dev/fd/N, /dev/stdout. */
#include "../test.h"
#include <sys/sysmacros.h>

int main(void)
{
	T_BEGIN();
	char buf[64];
	struct stat st;

	int fd = open("/dev/null", O_RDWR);
	CHECK("open /dev/null", fd >= 0);
	CHECK_EQ("read /dev/null -> 0", read(fd, buf, sizeof buf), 0);
	CHECK_EQ("write /dev/null succeeds", write(fd, "abc", 3), 3);
	fstat(fd, &st);
	CHECK("/dev/null is a char device", S_ISCHR(st.st_mode));
	CHECK("/dev/null is 1:3", major(st.st_rdev) == 1 && minor(st.st_rdev) == 3);
	close(fd);

	fd = open("/dev/zero", O_RDWR);
	memset(buf, 'x', sizeof buf);
	CHECK_EQ("read /dev/zero", read(fd, buf, sizeof buf), 64);
	int zero = 1;
	for (int i = 0; i < 64; i++)
		zero &= buf[i] == 0;
	CHECK("/dev/zero gives zeros", zero);
	CHECK_EQ("write /dev/zero succeeds", write(fd, "abc", 3), 3);
	close(fd);

	fd = open("/dev/full", O_WRONLY);
	CHECK_ERR("write /dev/full -> ENOSPC", write(fd, "abc", 3), ENOSPC);
	close(fd);
	fd = open("/dev/full", O_RDONLY);
	CHECK_EQ("read /dev/full gives bytes", read(fd, buf, 8), 8);
	close(fd);

	unsigned char r1[32], r2[32];
	fd = open("/dev/urandom", O_RDONLY);
	CHECK_EQ("read /dev/urandom", read(fd, r1, sizeof r1), 32);
	CHECK_EQ("read /dev/urandom again", read(fd, r2, sizeof r2), 32);
	CHECK("urandom draws differ", memcmp(r1, r2, 32) != 0);
	close(fd);
	fd = open("/dev/random", O_RDONLY);
	CHECK_EQ("read /dev/random", read(fd, r1, 16), 16);
	close(fd);

	CHECK_OK("stat /dev/fd/1", stat("/dev/fd/1", &st));
	CHECK_OK("lstat /dev/stdout", lstat("/dev/stdout", &st));
	CHECK("/dev/stdout is a symlink", S_ISLNK(st.st_mode));
	CHECK_EQ("readlink /dev/stdout", readlink("/dev/stdout", buf, sizeof buf), 15);
	CHECK_MEM("/dev/stdout -> /proc/self/fd/1", buf, "/proc/self/fd/1", 15);
	fd = open("/dev/stdout", O_WRONLY);
	CHECK("open /dev/stdout", fd >= 0);
	CHECK_EQ("write via /dev/stdout", write(fd, "via /dev/stdout\n", 16), 16);
	close(fd);
	fd = open("/dev/fd/1", O_WRONLY);
	CHECK_EQ("write via /dev/fd/1", write(fd, "via /dev/fd/1\n", 14), 14);
	close(fd);
	CHECK_OK("stat /dev/tty exists", lstat("/dev/tty", &st));
	CHECK_OK("/dev/shm is a directory", stat("/dev/shm", &st));
	CHECK("/dev/pts is a directory", stat("/dev/pts", &st) == 0 && S_ISDIR(st.st_mode));
	CHECK_ERR("a pty that does not exist -> ENOENT", stat("/dev/pts/999999", &st), ENOENT);
	/* ttyname() of a terminal names it under /dev/pts; without one, ENOTTY. */
	if (isatty(0)) {
		char *name = ttyname(0);
		CHECK("ttyname(0) is under /dev/pts or a tty", name && (strncmp(name, "/dev/pts/", 9) == 0 || strncmp(name, "/dev/tty", 8) == 0));
	} else {
		errno = 0;
		CHECK("ttyname of a non-terminal is NULL with ENOTTY", ttyname(0) == NULL && errno == ENOTTY);
	}
	T_DONE();
}
