/* copy_file_range and sendfile between regular files; copy_file_range
 * from a /proc file (another file system) is EXDEV. */
#include "../test.h"
#include <sys/sendfile.h>

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	char buf[64];

	t_write_file("src", "abcdefghijklmnopqrstuvwxyz");
	int in = open("src", O_RDONLY);
	int out = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);

	CHECK_EQ("copy_file_range 10", syscall(SYS_copy_file_range, in, NULL, out, NULL, 10, 0), 10);
	CHECK_EQ("copy_file_range advances in offset", lseek(in, 0, SEEK_CUR), 10);
	CHECK_EQ("copy_file_range advances out offset", lseek(out, 0, SEEK_CUR), 10);
	loff_t off_in = 20, off_out = 100;
	CHECK_EQ("copy_file_range with offsets", syscall(SYS_copy_file_range, in, &off_in, out, &off_out, 100, 0), 6);
	CHECK_EQ("off_in updated", off_in, 26);
	CHECK_EQ("off_out updated", off_out, 106);
	CHECK_EQ("fd offset untouched with explicit offset", lseek(in, 0, SEEK_CUR), 10);
	CHECK_EQ("copy_file_range at EOF returns 0", syscall(SYS_copy_file_range, in, &off_in, out, NULL, 10, 0), 0);
	CHECK_ERR("copy_file_range bad flags -> EINVAL", syscall(SYS_copy_file_range, in, NULL, out, NULL, 1, 1), EINVAL);
	CHECK_ERR("copy_file_range bad fd -> EBADF", syscall(SYS_copy_file_range, 99, NULL, out, NULL, 1, 0), EBADF);
	memset(buf, 0, sizeof buf);
	pread(out, buf, 10, 0);
	CHECK_STR("copied head", buf, "abcdefghij");
	memset(buf, 0, sizeof buf);
	pread(out, buf, 6, 100);
	CHECK_STR("copied tail", buf, "uvwxyz");

	int out2 = open("dst2", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	lseek(in, 0, SEEK_SET);
	CHECK_EQ("sendfile 5", sendfile(out2, in, NULL, 5), 5);
	CHECK_EQ("sendfile advances in offset", lseek(in, 0, SEEK_CUR), 5);
	off_t off = 23;
	CHECK_EQ("sendfile with offset, short at EOF", sendfile(out2, in, &off, 10), 3);
	CHECK_EQ("sendfile offset updated", off, 26);
	CHECK_EQ("sendfile at EOF returns 0", sendfile(out2, in, &off, 10), 0);
	CHECK_ERR("sendfile to read-only fd -> EBADF", sendfile(in, in, NULL, 1), EBADF);
	{
		/* A pipe or a socket is no input for sendfile into a socket. */
		int sv[2], pp[2];
		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		pipe(pp);
		write(pp[1], "ab", 2);
		write(sv[1], "cd", 2);
		off_t o = 0;
		CHECK_ERR("sendfile from a pipe -> EINVAL", sendfile(sv[0], pp[0], NULL, 10), EINVAL);
		CHECK_ERR("... even of 0 bytes", sendfile(sv[0], pp[0], NULL, 0), EINVAL);
		CHECK_ERR("... with an offset -> ESPIPE", sendfile(sv[0], pp[0], &o, 10), ESPIPE);
		CHECK_ERR("sendfile from a socket -> EINVAL", sendfile(sv[1], sv[0], NULL, 10), EINVAL);
		char two[3] = { 0 };
		fcntl(pp[0], F_SETFL, O_NONBLOCK);
		CHECK_EQ("the pipe kept its data", read(pp[0], two, 2), 2);
		CHECK_STR("... intact", two, "ab");
		close(sv[0]);
		close(sv[1]);
		close(pp[0]);
		close(pp[1]);
	}
	close(out2);
	t_read_file("dst2", buf, sizeof buf);
	CHECK_STR("sendfile result", buf, "abcdexyz");

	/* vfs_copy_file_range: across file systems without a copy method of
	 * their own, EXDEV (cp then reads and writes). */
	int proc = open("/proc/self/status", O_RDONLY);
	int out3 = open("dst3", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK_ERR("copy_file_range from /proc -> EXDEV", syscall(SYS_copy_file_range, proc, NULL, out3, NULL, 16, 0), EXDEV);
	close(proc);
	close(out3);

	close(in);
	close(out);
	t_tmpdir_end();
	T_DONE();
}
