/* A bad user pointer gives EFAULT (raw syscalls, so libc never touches it). */
#include "../test.h"

#define BAD ((void *)1)

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();

	int fd = open("f", O_RDWR | O_CREAT, 0644);
	write(fd, "abc", 3);
	lseek(fd, 0, SEEK_SET);
	CHECK_ERR("read into bad pointer -> EFAULT", syscall(SYS_read, fd, BAD, 3), EFAULT);
	CHECK_ERR("write from bad pointer -> EFAULT", syscall(SYS_write, fd, BAD, 3), EFAULT);
	CHECK_ERR("stat bad path pointer -> EFAULT", syscall(SYS_stat, BAD, BAD), EFAULT);
	CHECK_ERR("stat bad buffer -> EFAULT", syscall(SYS_stat, "f", BAD), EFAULT);
	CHECK_ERR("fstat bad buffer -> EFAULT", syscall(SYS_fstat, fd, BAD), EFAULT);
	CHECK_ERR("open bad path -> EFAULT", syscall(SYS_openat, AT_FDCWD, BAD, O_RDONLY), EFAULT);
	CHECK_ERR("pipe2 bad pointer -> EFAULT", syscall(SYS_pipe2, BAD, 0), EFAULT);
	CHECK_ERR("getcwd bad pointer -> EFAULT", syscall(SYS_getcwd, BAD, 100), EFAULT);
	CHECK_ERR("readv bad iovec -> EFAULT", syscall(SYS_readv, fd, BAD, 1), EFAULT);
	CHECK_ERR("clock_gettime bad pointer -> EFAULT", syscall(SYS_clock_gettime, 0, BAD), EFAULT);
	CHECK_ERR("uname bad pointer -> EFAULT", syscall(SYS_uname, BAD), EFAULT);
	CHECK_EQ("read of 0 bytes to bad pointer is fine", syscall(SYS_read, fd, BAD, 0), 0);
	CHECK_EQ("offset unchanged after faults", lseek(fd, 0, SEEK_CUR), 0);
	char ok[4];
	CHECK_EQ("fd still usable", read(fd, ok, 3), 3);
	close(fd);

	t_tmpdir_end();
	T_DONE();
}
