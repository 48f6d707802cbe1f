/* preadv2(2)/pwritev2(2) flags (RWF_HIPRI, RWF_DSYNC, RWF_SYNC, RWF_NOWAIT,
 * RWF_APPEND; EOPNOTSUPP for an unknown one), offset -1 meaning the file
 * position, and fcntl F_GETPIPE_SZ/F_SETPIPE_SZ. */
#include "../test.h"
#include <sys/uio.h>

#ifndef RWF_HIPRI
#define RWF_HIPRI 0x01
#define RWF_DSYNC 0x02
#define RWF_SYNC 0x04
#define RWF_NOWAIT 0x08
#define RWF_APPEND 0x10
#endif
#ifndef SYS_pwritev2
#define SYS_pwritev2 328
#endif
#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#endif

static ssize_t rd(int fd, void *b, size_t n, off_t off, int flags)
{
	struct iovec v = { b, n };
	return syscall(SYS_preadv2, fd, &v, 1, (long)off, 0L, flags);
}

static ssize_t wr(int fd, const void *b, size_t n, off_t off, int flags)
{
	struct iovec v = { (void *)b, n };
	return syscall(SYS_pwritev2, fd, &v, 1, (long)off, 0L, flags);
}

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	char buf[64];
	int f = open("file", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK_EQ("pwritev2 at an offset", wr(f, "hello", 5, 0, 0), 5);
	CHECK_EQ("the position stays", lseek(f, 0, SEEK_CUR), 0);
	CHECK_EQ("pwritev2 at -1 uses the position", wr(f, "HE", 2, -1, RWF_DSYNC), 2);
	CHECK_EQ("and moves it", lseek(f, 0, SEEK_CUR), 2);
	CHECK_EQ("RWF_SYNC", wr(f, "L", 1, 2, RWF_SYNC), 1);
	CHECK_EQ("RWF_HIPRI", wr(f, "L", 1, 3, RWF_HIPRI), 1);
	CHECK_EQ("RWF_APPEND ignores the offset", wr(f, "!", 1, 0, RWF_APPEND), 1);
	CHECK_EQ("size", lseek(f, 0, SEEK_END), 6);
	lseek(f, 1, SEEK_SET);
	CHECK_EQ("RWF_APPEND at -1", wr(f, "?", 1, -1, RWF_APPEND), 1);
	CHECK_EQ("moves the position to the end", lseek(f, 0, SEEK_CUR), 7);
	CHECK_EQ("preadv2 at an offset", rd(f, buf, sizeof buf, 0, RWF_HIPRI), 7);
	CHECK_MEM("data", buf, "HELLo!?", 7);
	lseek(f, 4, SEEK_SET);
	CHECK_EQ("preadv2 at -1", rd(f, buf, 2, -1, 0), 2);
	CHECK_EQ("moves the position", lseek(f, 0, SEEK_CUR), 6);
	CHECK_ERR("unknown flag, read", rd(f, buf, 2, 0, 0x10000), EOPNOTSUPP);
	CHECK_ERR("unknown flag, write", wr(f, "x", 1, 0, 0x10000), EOPNOTSUPP);
	CHECK_ERR("offset below -1", rd(f, buf, 2, -2, 0), EINVAL);

	int p[2];
	pipe(p);
	CHECK_ERR("RWF_NOWAIT on an empty pipe", rd(p[0], buf, 8, -1, RWF_NOWAIT), EAGAIN);
	CHECK_ERR("an offset on a pipe", rd(p[0], buf, 8, 0, 0), ESPIPE);
	CHECK_EQ("pwritev2 into a pipe", wr(p[1], "pipe", 4, -1, 0), 4);
	CHECK_EQ("RWF_NOWAIT with data", rd(p[0], buf, 8, -1, RWF_NOWAIT), 4);

	CHECK_EQ("F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ), 65536);
	CHECK_EQ("F_SETPIPE_SZ rounds up to a power of two pages", fcntl(p[1], F_SETPIPE_SZ, 3 * 4096), 16384);
	CHECK_EQ("F_GETPIPE_SZ after", fcntl(p[0], F_GETPIPE_SZ), 16384);
	CHECK_EQ("F_SETPIPE_SZ below a page", fcntl(p[1], F_SETPIPE_SZ, 1), 4096);
	CHECK_ERR("F_GETPIPE_SZ of a file", fcntl(f, F_GETPIPE_SZ), EBADF);
	CHECK_ERR("F_SETPIPE_SZ of a file", fcntl(f, F_SETPIPE_SZ, 4096), EBADF);
	static char big[8192];
	fcntl(p[1], F_SETPIPE_SZ, 16384);
	CHECK_EQ("fill two pages", write(p[1], big, sizeof big), sizeof big);
	CHECK_ERR("F_SETPIPE_SZ below what the pipe holds", fcntl(p[1], F_SETPIPE_SZ, 1), EBUSY);
	t_tmpdir_end();
	T_DONE();
}
