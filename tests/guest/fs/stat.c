/* stat/fstat/lstat, newfstatat with AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH, statx. */
#include "../test.h"
#include <stdint.h>

/* struct statx as in include/uapi/linux/stat.h (musl 1.2.3 has no statx). */
struct t_statx_ts { int64_t tv_sec; uint32_t tv_nsec; int32_t reserved; };
struct t_statx {
	uint32_t stx_mask, stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink, stx_uid, stx_gid;
	uint16_t stx_mode, pad1;
	uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
	struct t_statx_ts stx_atime, stx_btime, stx_ctime, stx_mtime;
	uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
	uint64_t spare[14];
};
#define T_STATX_BASIC_STATS 0x7ffU

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	umask(022);

	t_write_file("f", "0123456789");
	symlink("f", "link");
	mkdir("d", 0755);

	struct stat st, lst, fst;
	CHECK_OK("stat", stat("f", &st));
	CHECK("stat S_ISREG", S_ISREG(st.st_mode));
	CHECK_EQ("stat permission bits", st.st_mode & 07777, 0644);
	CHECK_EQ("stat size", st.st_size, 10);
	CHECK_EQ("stat nlink", st.st_nlink, 1);
	CHECK_EQ("stat uid", st.st_uid, geteuid());
	CHECK_EQ("stat gid", st.st_gid, getegid());
	CHECK("stat blksize > 0", st.st_blksize > 0);

	CHECK_OK("lstat", lstat("link", &lst));
	CHECK("lstat S_ISLNK", S_ISLNK(lst.st_mode));
	CHECK_EQ("lstat symlink size is target length", lst.st_size, 1);
	struct stat via;
	CHECK_OK("stat through symlink", stat("link", &via));
	CHECK_EQ("stat follows symlink (same inode)", via.st_ino, st.st_ino);
	CHECK_EQ("stat follows symlink (same dev)", via.st_dev, st.st_dev);

	int fd = open("f", O_RDONLY);
	CHECK_OK("fstat", fstat(fd, &fst));
	CHECK_EQ("fstat same inode as stat", fst.st_ino, st.st_ino);
	CHECK_EQ("fstat size", fst.st_size, 10);

	struct stat ds;
	CHECK_OK("stat directory", stat("d", &ds));
	CHECK("directory S_ISDIR", S_ISDIR(ds.st_mode));
	CHECK_EQ("new directory nlink", ds.st_nlink, 2);

	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	struct stat ns;
	CHECK_OK("newfstatat relative", fstatat(dfd, "f", &ns, 0));
	CHECK_EQ("newfstatat inode", ns.st_ino, st.st_ino);
	CHECK_OK("newfstatat AT_SYMLINK_NOFOLLOW", fstatat(dfd, "link", &ns, AT_SYMLINK_NOFOLLOW));
	CHECK("AT_SYMLINK_NOFOLLOW sees the link", S_ISLNK(ns.st_mode));
	CHECK_OK("newfstatat AT_EMPTY_PATH", syscall(SYS_newfstatat, fd, "", &ns, AT_EMPTY_PATH));
	CHECK_EQ("AT_EMPTY_PATH stats the fd", ns.st_ino, st.st_ino);
	CHECK_ERR("newfstatat empty path without flag -> ENOENT", syscall(SYS_newfstatat, fd, "", &ns, 0), ENOENT);
	CHECK_ERR("newfstatat bad flags -> EINVAL", syscall(SYS_newfstatat, dfd, "f", &ns, 0x80000000), EINVAL);
	CHECK_ERR("stat missing -> ENOENT", stat("missing", &ns), ENOENT);
	CHECK_ERR("stat through file -> ENOTDIR", stat("f/x", &ns), ENOTDIR);
	CHECK_ERR("fstat bad fd -> EBADF", fstat(99, &ns), EBADF);

	struct t_statx sx;
	memset(&sx, 0, sizeof sx);
	CHECK_OK("statx", syscall(SYS_statx, dfd, "f", 0, T_STATX_BASIC_STATS, &sx));
	CHECK_EQ("statx basic stats in mask", sx.stx_mask & T_STATX_BASIC_STATS, T_STATX_BASIC_STATS);
	CHECK_EQ("statx size", sx.stx_size, 10);
	CHECK_EQ("statx inode", sx.stx_ino, st.st_ino);
	CHECK_EQ("statx mode", sx.stx_mode, st.st_mode);
	CHECK_EQ("statx nlink", sx.stx_nlink, 1);
	CHECK_EQ("statx mtime matches stat", sx.stx_mtime.tv_sec, st.st_mtime);
	CHECK_OK("statx AT_SYMLINK_NOFOLLOW", syscall(SYS_statx, dfd, "link", AT_SYMLINK_NOFOLLOW, T_STATX_BASIC_STATS, &sx));
	CHECK("statx sees the link", S_ISLNK(sx.stx_mode));
	CHECK_OK("statx AT_EMPTY_PATH", syscall(SYS_statx, fd, "", AT_EMPTY_PATH, T_STATX_BASIC_STATS, &sx));
	CHECK_EQ("statx AT_EMPTY_PATH inode", sx.stx_ino, st.st_ino);
	CHECK_ERR("statx missing -> ENOENT", syscall(SYS_statx, dfd, "missing", 0, T_STATX_BASIC_STATS, &sx), ENOENT);
	CHECK_ERR("statx reserved mask bit -> EINVAL", syscall(SYS_statx, dfd, "f", 0, 0x80000000U, &sx), EINVAL);

	close(fd);
	close(dfd);
	t_tmpdir_end();
	T_DONE();
}
