/* dup/dup2/dup3, fcntl (FD flags, status flags, F_DUPFD_CLOEXEC, record locks), close, close_range. */
#include "../test.h"

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();

	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	int d = dup(fd);
	CHECK("dup returns a new fd", d > fd);
	CHECK_EQ("dup clears FD_CLOEXEC", fcntl(d, F_GETFD), 0);
	write(fd, "abc", 3);
	CHECK_EQ("dup shares the offset", lseek(d, 0, SEEK_CUR), 3);
	close(d);

	CHECK_EQ("dup2 to chosen fd", dup2(fd, 20), 20);
	CHECK_EQ("dup2 same fd returns it", dup2(fd, fd), fd);
	CHECK_ERR("dup2 bad old fd -> EBADF", dup2(99, 21), EBADF);
	CHECK_EQ("dup3 O_CLOEXEC", syscall(SYS_dup3, fd, 21, O_CLOEXEC), 21);
	CHECK_EQ("dup3 sets FD_CLOEXEC", fcntl(21, F_GETFD), FD_CLOEXEC);
	CHECK_ERR("dup3 same fd -> EINVAL", syscall(SYS_dup3, fd, fd, 0), EINVAL);
	CHECK_ERR("dup3 bad flags -> EINVAL", syscall(SYS_dup3, fd, 22, O_NONBLOCK), EINVAL);
	CHECK_ERR("dup of closed fd -> EBADF", dup(77), EBADF);

	CHECK_EQ("F_GETFD initially 0", fcntl(fd, F_GETFD), 0);
	CHECK_OK("F_SETFD FD_CLOEXEC", fcntl(fd, F_SETFD, FD_CLOEXEC));
	CHECK_EQ("F_GETFD reads FD_CLOEXEC", fcntl(fd, F_GETFD), FD_CLOEXEC);
	fcntl(fd, F_SETFD, 0);

	int fl = fcntl(fd, F_GETFL);
	CHECK_EQ("F_GETFL access mode", fl & O_ACCMODE, O_RDWR);
	CHECK_EQ("F_GETFL no O_APPEND", fl & O_APPEND, 0);
	CHECK_OK("F_SETFL O_APPEND|O_NONBLOCK", fcntl(fd, F_SETFL, fl | O_APPEND | O_NONBLOCK));
	fl = fcntl(fd, F_GETFL);
	CHECK_EQ("F_GETFL has O_APPEND", fl & O_APPEND, O_APPEND);
	CHECK_EQ("F_GETFL has O_NONBLOCK", fl & O_NONBLOCK, O_NONBLOCK);
	CHECK_EQ("status flags shared by dup2 copy", fcntl(20, F_GETFL) & O_APPEND, O_APPEND);
	fcntl(fd, F_SETFL, O_RDONLY);
	CHECK_EQ("F_SETFL ignores access mode", fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);

	int c = fcntl(fd, F_DUPFD_CLOEXEC, 30);
	CHECK_EQ("F_DUPFD_CLOEXEC picks >= arg", c, 30);
	CHECK_EQ("F_DUPFD_CLOEXEC sets FD_CLOEXEC", fcntl(c, F_GETFD), FD_CLOEXEC);
	CHECK_EQ("F_DUPFD picks next free", fcntl(fd, F_DUPFD, 30), 31);
	CHECK_ERR("fcntl bad cmd -> EINVAL", fcntl(fd, 12345), EINVAL);
	CHECK_ERR("fcntl bad fd -> EBADF", fcntl(99, F_GETFD), EBADF);

	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	CHECK_OK("F_SETLK write lock", fcntl(fd, F_SETLK, &lk));
	struct flock q = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	CHECK_OK("F_GETLK", fcntl(fd, F_GETLK, &q));
	CHECK_EQ("F_GETLK own lock does not conflict", q.l_type, F_UNLCK);
	lk.l_type = F_UNLCK;
	CHECK_OK("F_SETLK unlock", fcntl(fd, F_SETLK, &lk));
	lk.l_type = 42;
	CHECK_ERR("F_SETLK bad type -> EINVAL", fcntl(fd, F_SETLK, &lk), EINVAL);

	CHECK_OK("close", close(c));
	CHECK_ERR("close again -> EBADF", close(c), EBADF);
	CHECK_ERR("close -1 -> EBADF", close(-1), EBADF);

	CHECK_EQ("close_range 20..31", syscall(SYS_close_range, 20, 31, 0), 0);
	CHECK_ERR("fd 20 closed", fcntl(20, F_GETFD), EBADF);
	CHECK_ERR("fd 31 closed", fcntl(31, F_GETFD), EBADF);
	CHECK_EQ("fd below range stays open", fcntl(fd, F_GETFD) >= 0, 1);
	CHECK_ERR("close_range first > last -> EINVAL", syscall(SYS_close_range, 10, 5, 0), EINVAL);
	CHECK_ERR("close_range bad flags -> EINVAL", syscall(SYS_close_range, 10, 20, 0x1000), EINVAL);
	dup2(fd, 40);
	CHECK_EQ("close_range CLOSE_RANGE_CLOEXEC", syscall(SYS_close_range, 40, 40, 4), 0);
	CHECK_EQ("CLOSE_RANGE_CLOEXEC marks fd", fcntl(40, F_GETFD), FD_CLOEXEC);
	close(40);
	close(fd);

	t_tmpdir_end();
	T_DONE();
}
