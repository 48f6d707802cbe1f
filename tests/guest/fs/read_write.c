/* read/write, pread64/pwrite64, readv/writev, preadv/pwritev and lseek. */
#include "../test.h"
#include <sys/uio.h>

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	char buf[64];

	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK_EQ("write", write(fd, "0123456789", 10), 10);
	CHECK_EQ("write with length 0", write(fd, "x", 0), 0);
	CHECK_EQ("offset after write", lseek(fd, 0, SEEK_CUR), 10);
	CHECK_EQ("read at EOF returns 0", read(fd, buf, sizeof buf), 0);

	CHECK_EQ("lseek SEEK_SET", lseek(fd, 2, SEEK_SET), 2);
	memset(buf, 0, sizeof buf);
	CHECK_EQ("read 3", read(fd, buf, 3), 3);
	CHECK_STR("read data", buf, "234");
	CHECK_EQ("lseek SEEK_CUR", lseek(fd, 1, SEEK_CUR), 6);
	CHECK_EQ("lseek SEEK_END", lseek(fd, -2, SEEK_END), 8);
	CHECK_ERR("lseek negative result -> EINVAL", lseek(fd, -100, SEEK_SET), EINVAL);
	CHECK_ERR("lseek bad whence -> EINVAL", lseek(fd, 0, 42), EINVAL);
	CHECK_EQ("offset unchanged after failed lseek", lseek(fd, 0, SEEK_CUR), 8);
	CHECK_EQ("lseek past end", lseek(fd, 20, SEEK_SET), 20);
	CHECK_EQ("write past end", write(fd, "Z", 1), 1);
	struct stat st;
	fstat(fd, &st);
	CHECK_EQ("size after write past end", st.st_size, 21);
	memset(buf, 'x', sizeof buf);
	CHECK_EQ("pread hole", pread(fd, buf, 3, 10), 3);
	CHECK_MEM("hole reads as zeros", buf, "\0\0\0", 3);

	CHECK_EQ("pwrite64", syscall(SYS_pwrite64, fd, "ab", 2, 4), 2);
	CHECK_EQ("pwrite leaves offset", lseek(fd, 0, SEEK_CUR), 21);
	memset(buf, 0, sizeof buf);
	CHECK_EQ("pread64", syscall(SYS_pread64, fd, buf, 4, 3), 4);
	CHECK_STR("pread data", buf, "3ab6");
	CHECK_ERR("pread negative offset -> EINVAL", syscall(SYS_pread64, fd, buf, 1, (long)-1), EINVAL);
	CHECK_EQ("pread beyond EOF returns 0", pread(fd, buf, 4, 1000), 0);

	ftruncate(fd, 0);
	lseek(fd, 0, SEEK_SET);
	struct iovec iov[3] = {
		{ .iov_base = "abc", .iov_len = 3 },
		{ .iov_base = "", .iov_len = 0 },
		{ .iov_base = "defgh", .iov_len = 5 },
	};
	CHECK_EQ("writev", writev(fd, iov, 3), 8);
	lseek(fd, 0, SEEK_SET);
	char a[2], b[10];
	memset(b, 0, sizeof b);
	struct iovec riov[2] = { { a, 2 }, { b, 9 } };
	CHECK_EQ("readv short", readv(fd, riov, 2), 8);
	CHECK_MEM("readv first", a, "ab", 2);
	CHECK_STR("readv second", b, "cdefgh");
	CHECK_ERR("readv iovcnt -1 -> EINVAL", syscall(SYS_readv, fd, riov, (long)-1), EINVAL);
	CHECK_ERR("writev iovcnt 1025 -> EINVAL", syscall(SYS_writev, fd, iov, 1025), EINVAL);

	struct iovec piov[2] = { { "XY", 2 }, { "Z", 1 } };
	CHECK_EQ("pwritev", pwritev(fd, piov, 2, 1), 3);
	memset(a, 0, 2);
	memset(b, 0, sizeof b);
	struct iovec priov[2] = { { a, 2 }, { b, 3 } };
	CHECK_EQ("preadv", preadv(fd, priov, 2, 0), 5);
	CHECK_MEM("preadv first", a, "aX", 2);
	CHECK_STR("preadv second", b, "YZe");
	CHECK_EQ("preadv leaves offset", lseek(fd, 0, SEEK_CUR), 8);
	close(fd);

	CHECK_ERR("read closed fd -> EBADF", read(fd, buf, 1), EBADF);
	CHECK_ERR("lseek on a pipe -> ESPIPE", ({ int p[2]; pipe(p); int r = lseek(p[0], 0, SEEK_SET); int e = errno; close(p[0]); close(p[1]); errno = e; r; }), ESPIPE);

	t_tmpdir_end();
	T_DONE();
}
