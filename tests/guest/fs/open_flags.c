/* open/openat flags: O_CREAT|O_EXCL, O_DIRECTORY, O_TRUNC, O_APPEND, O_NOFOLLOW, ENOENT. */
#include "../test.h"

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	char buf[64];

	int fd = open("f", O_WRONLY | O_CREAT | O_EXCL, 0644);
	CHECK("open O_CREAT|O_EXCL new file", fd >= 0);
	CHECK_EQ("write 5 bytes", write(fd, "hello", 5), 5);
	close(fd);

	CHECK_ERR("open O_CREAT|O_EXCL existing -> EEXIST", open("f", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	CHECK_ERR("open O_DIRECTORY on a file -> ENOTDIR", open("f", O_RDONLY | O_DIRECTORY), ENOTDIR);
	CHECK_ERR("open missing without O_CREAT -> ENOENT", open("missing", O_RDONLY), ENOENT);
	CHECK_ERR("open missing/child -> ENOENT", open("missing/child", O_RDONLY), ENOENT);
	CHECK_ERR("open f/child (file as dir) -> ENOTDIR", open("f/child", O_RDONLY), ENOTDIR);
	CHECK_ERR("open directory O_WRONLY -> EISDIR", open(".", O_WRONLY), EISDIR);

	fd = open(".", O_RDONLY | O_DIRECTORY);
	CHECK("open O_DIRECTORY on a directory", fd >= 0);
	CHECK_ERR("read on a directory -> EISDIR", read(fd, buf, sizeof buf), EISDIR);
	close(fd);

	fd = open("f", O_WRONLY | O_APPEND);
	CHECK("open O_APPEND", fd >= 0);
	lseek(fd, 0, SEEK_SET);
	CHECK_EQ("append write", write(fd, " world", 6), 6);
	CHECK_EQ("offset after append is end", lseek(fd, 0, SEEK_CUR), 11);
	close(fd);
	CHECK_EQ("file length after append", t_read_file("f", buf, sizeof buf), 11);
	CHECK_STR("file contents after append", buf, "hello world");

	fd = open("f", O_RDWR | O_TRUNC);
	CHECK("open O_TRUNC", fd >= 0);
	struct stat st;
	fstat(fd, &st);
	CHECK_EQ("size after O_TRUNC", st.st_size, 0);
	close(fd);

	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	fd = openat(dfd, "g", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CHECK("openat relative to dirfd creates", fd >= 0);
	CHECK_EQ("openat O_CLOEXEC sets FD_CLOEXEC", fcntl(fd, F_GETFD), FD_CLOEXEC);
	close(fd);
	CHECK_OK("created file visible by path", access("g", F_OK));
	CHECK_ERR("openat bad dirfd -> EBADF", openat(999, "g", O_RDONLY), EBADF);
	int gfd = open("g", O_RDONLY);
	CHECK_ERR("openat file as dirfd -> ENOTDIR", openat(gfd, "x", O_RDONLY), ENOTDIR);
	close(gfd);
	fd = openat(dfd, "/", O_RDONLY | O_DIRECTORY);
	CHECK("openat absolute path ignores dirfd", fd >= 0);
	close(fd);

	CHECK_OK("symlink", symlink("f", "link"));
	CHECK_ERR("open O_NOFOLLOW on symlink -> ELOOP", open("link", O_RDONLY | O_NOFOLLOW), ELOOP);
	fd = open("link", O_RDONLY | O_PATH | O_NOFOLLOW);
	CHECK("open O_PATH|O_NOFOLLOW on symlink", fd >= 0);
	close(fd);
	CHECK_ERR("open with empty path -> ENOENT", open("", O_RDONLY), ENOENT);

	fd = open("f", O_RDONLY);
	CHECK_ERR("write on O_RDONLY fd -> EBADF", write(fd, "x", 1), EBADF);
	close(fd);
	fd = open("f", O_WRONLY);
	CHECK_ERR("read on O_WRONLY fd -> EBADF", read(fd, buf, 1), EBADF);
	close(fd);

	int first = open("f", O_RDONLY);
	close(first);
	fd = open("f", O_RDONLY);
	CHECK_EQ("lowest free fd is reused", fd, first);
	close(fd);
	close(dfd);

	t_tmpdir_end();
	T_DONE();
}
