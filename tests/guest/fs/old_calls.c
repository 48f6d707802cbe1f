/* The older and the newer file calls that libcs no longer make but old
 * static binaries and some programs still do: getdents (struct
 * linux_dirent), utime, utimes, futimesat; and readahead,
 * sync_file_range, fchmodat2. Each with Linux's checks and errors. */
#include "../test.h"
#include <dirent.h>
#include <utime.h>
#include <sys/time.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYNC_FILE_RANGE_WAIT_BEFORE
#define SYNC_FILE_RANGE_WAIT_BEFORE 1
#define SYNC_FILE_RANGE_WRITE 2
#define SYNC_FILE_RANGE_WAIT_AFTER 4
#endif

/* Linux's struct linux_dirent: d_type is the record's last byte. */
struct old_dirent {
	unsigned long d_ino;
	unsigned long d_off;
	unsigned short d_reclen;
	char d_name[];
};

struct dirent64_rec {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Finds `name` in the records of getdents (old != 0) or getdents64: its
 * d_type, or -1. Checks each record's length and NUL. */
static int find_entry(const char *buf, long n, const char *name, int old, int *bad)
{
	int found = -1;
	for (long off = 0; off < n;) {
		unsigned short reclen;
		const char *ent_name;
		unsigned char type;
		if (old) {
			const struct old_dirent *d = (const void *)(buf + off);
			reclen = d->d_reclen;
			ent_name = d->d_name;
			type = (unsigned char)buf[off + reclen - 1];
		} else {
			const struct dirent64_rec *d = (const void *)(buf + off);
			reclen = d->d_reclen;
			ent_name = d->d_name;
			type = d->d_type;
		}
		if (reclen == 0 || reclen % 8 != 0 || memchr(ent_name, 0, reclen) == NULL)
			(*bad)++;
		if (reclen == 0)
			break;
		if (strcmp(ent_name, name) == 0)
			found = type;
		off += reclen;
	}
	return found;
}

static void check_getdents(void)
{
	char buf[4096];
	int bad = 0;
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	long n = syscall(SYS_getdents, dfd, buf, sizeof buf);
	CHECK("getdents reads entries", n > 0);
	CHECK_EQ("getdents: file is DT_REG", find_entry(buf, n, "file", 1, &bad), DT_REG);
	CHECK_EQ("getdents: sub is DT_DIR", find_entry(buf, n, "sub", 1, &bad), DT_DIR);
	CHECK_EQ("getdents: link is DT_LNK", find_entry(buf, n, "link", 1, &bad), DT_LNK);
	CHECK_EQ("getdents: . is there", find_entry(buf, n, ".", 1, &bad), DT_DIR);
	CHECK_EQ("getdents: records well formed", bad, 0);
	CHECK_EQ("getdents at the end returns 0", syscall(SYS_getdents, dfd, buf, sizeof buf), 0);
	lseek(dfd, 0, SEEK_SET);
	long n64 = syscall(SYS_getdents64, dfd, buf, sizeof buf);
	CHECK_EQ("getdents64 sees the same file", find_entry(buf, n64, "file", 0, &bad), DT_REG);
	lseek(dfd, 0, SEEK_SET);
	CHECK_ERR("getdents with a 10-byte buffer -> EINVAL", syscall(SYS_getdents, dfd, buf, 10), EINVAL);
	CHECK_ERR("getdents into a bad pointer -> EFAULT", syscall(SYS_getdents, dfd, (void *)8, sizeof buf), EFAULT);
	int f = open("file", O_RDONLY);
	CHECK_ERR("getdents of a file -> ENOTDIR", syscall(SYS_getdents, f, buf, sizeof buf), ENOTDIR);
	CHECK_ERR("getdents of a bad fd -> EBADF", syscall(SYS_getdents, 999, buf, sizeof buf), EBADF);
	close(f);
	close(dfd);
}

static void check_times(void)
{
	struct stat st;
	struct utimbuf ub = {.actime = 1000000000, .modtime = 1100000000};
	CHECK_OK("utime sets both times", syscall(SYS_utime, "file", &ub));
	stat("file", &st);
	CHECK_EQ("utime: atime", st.st_atime, 1000000000);
	CHECK_EQ("utime: mtime", st.st_mtime, 1100000000);
	CHECK_EQ("utime: whole seconds", st.st_mtim.tv_nsec, 0);

	struct timeval tv[2] = {{1200000000, 250000}, {1300000000, 999999}};
	CHECK_OK("utimes sets both times", syscall(SYS_utimes, "file", tv));
	stat("file", &st);
	CHECK_EQ("utimes: atime", st.st_atime, 1200000000);
	CHECK_EQ("utimes: atime usec", st.st_atim.tv_nsec, 250000000);
	CHECK_EQ("utimes: mtime usec", st.st_mtim.tv_nsec, 999999000);
	tv[1].tv_usec = 1000000;
	CHECK_ERR("utimes tv_usec 1000000 -> EINVAL", syscall(SYS_utimes, "file", tv), EINVAL);
	tv[1].tv_usec = -1;
	CHECK_ERR("utimes tv_usec -1 -> EINVAL", syscall(SYS_utimes, "file", tv), EINVAL);
	CHECK_ERR("utimes of a missing file -> ENOENT", syscall(SYS_utimes, "nothing", NULL), ENOENT);
	CHECK_ERR("utimes with a bad pointer -> EFAULT", syscall(SYS_utimes, "file", (void *)8), EFAULT);
	CHECK_ERR("utime with a bad path -> EFAULT", syscall(SYS_utime, (void *)8, NULL), EFAULT);

	time_t before = time(NULL);
	CHECK_OK("utimes(NULL) sets now", syscall(SYS_utimes, "file", NULL));
	stat("file", &st);
	/* time() reads the coarse clock, and a file's new times may come from
	 * a finer one (multigrain timestamps), a tick apart: a second's slack
	 * either way. */
	CHECK("utimes(NULL): mtime is now", st.st_mtime >= before - 1 && st.st_mtime <= time(NULL) + 1);

	int dfd = open("sub", O_RDONLY | O_DIRECTORY);
	struct timeval tv2[2] = {{1400000000, 0}, {1500000000, 0}};
	CHECK_OK("futimesat relative to a dirfd", syscall(SYS_futimesat, dfd, "inner", tv2));
	stat("sub/inner", &st);
	CHECK_EQ("futimesat: mtime", st.st_mtime, 1500000000);
	int f = open("file", O_RDONLY);
	CHECK_OK("futimesat with a NULL path: the fd's file", syscall(SYS_futimesat, f, NULL, tv2));
	stat("file", &st);
	CHECK_EQ("futimesat(fd, NULL): atime", st.st_atime, 1400000000);
	CHECK_ERR("futimesat(AT_FDCWD, NULL) -> EFAULT", syscall(SYS_futimesat, AT_FDCWD, NULL, tv2), EFAULT);
	CHECK_ERR("futimesat with a bad dirfd -> EBADF", syscall(SYS_futimesat, 999, "inner", tv2), EBADF);
	close(f);
	close(dfd);
}

static void check_readahead_sync(void)
{
	int f = open("file", O_RDONLY);
	CHECK_OK("readahead of a regular file", syscall(SYS_readahead, f, 0L, 4096L));
	CHECK_ERR("readahead with a negative count -> EINVAL", syscall(SYS_readahead, f, 0L, -1L), EINVAL);
	int w = open("file", O_WRONLY);
	CHECK_ERR("readahead of a write-only fd -> EBADF", syscall(SYS_readahead, w, 0L, 10L), EBADF);
	int dfd = open("sub", O_RDONLY | O_DIRECTORY);
	CHECK_ERR("readahead of a directory -> EINVAL", syscall(SYS_readahead, dfd, 0L, 10L), EINVAL);
	int p[2];
	pipe(p);
	CHECK_ERR("readahead of a pipe -> EINVAL", syscall(SYS_readahead, p[0], 0L, 10L), EINVAL);
	CHECK_ERR("readahead of a bad fd -> EBADF", syscall(SYS_readahead, 999, 0L, 10L), EBADF);

	int all = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
	CHECK_OK("sync_file_range write and wait", syscall(SYS_sync_file_range, w, 0L, 0L, all));
	CHECK_OK("sync_file_range of a read-only fd", syscall(SYS_sync_file_range, f, 0L, 100L, SYNC_FILE_RANGE_WRITE));
	CHECK_OK("sync_file_range of a directory", syscall(SYS_sync_file_range, dfd, 0L, 0L, SYNC_FILE_RANGE_WRITE));
	CHECK_ERR("sync_file_range unknown flag -> EINVAL", syscall(SYS_sync_file_range, w, 0L, 0L, 8), EINVAL);
	CHECK_ERR("sync_file_range negative offset -> EINVAL", syscall(SYS_sync_file_range, w, -1L, 0L, 0), EINVAL);
	CHECK_ERR("sync_file_range overflowing range -> EINVAL",
		  syscall(SYS_sync_file_range, w, 0x7fffffffffffff00L, 0x1000L, 0), EINVAL);
	CHECK_ERR("sync_file_range of a pipe -> ESPIPE", syscall(SYS_sync_file_range, p[1], 0L, 0L, 0), ESPIPE);
	CHECK_ERR("sync_file_range of a bad fd -> EBADF", syscall(SYS_sync_file_range, 999, 0L, 0L, 0), EBADF);
	close(p[0]);
	close(p[1]);
	close(dfd);
	close(w);
	close(f);
}

static void check_fchmodat2(void)
{
	struct stat st;
	CHECK_OK("fchmodat2 without flags", syscall(SYS_fchmodat2, AT_FDCWD, "file", 0600, 0));
	stat("file", &st);
	CHECK_EQ("fchmodat2: mode", st.st_mode & 07777, 0600);
	CHECK_OK("fchmodat2 NOFOLLOW on a file", syscall(SYS_fchmodat2, AT_FDCWD, "file", 0640, AT_SYMLINK_NOFOLLOW));
	stat("file", &st);
	CHECK_EQ("fchmodat2 NOFOLLOW: mode", st.st_mode & 07777, 0640);
	CHECK_ERR("fchmodat2 NOFOLLOW on a symlink -> EOPNOTSUPP",
		  syscall(SYS_fchmodat2, AT_FDCWD, "link", 0600, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP);
	stat("file", &st);
	CHECK_EQ("the link's target kept its mode", st.st_mode & 07777, 0640);
	CHECK_OK("fchmodat2 follows a symlink without the flag", syscall(SYS_fchmodat2, AT_FDCWD, "link", 0604, 0));
	stat("file", &st);
	CHECK_EQ("fchmodat2 through the link: mode", st.st_mode & 07777, 0604);
	int opath = open("file", O_PATH);
	CHECK_OK("fchmodat2 AT_EMPTY_PATH on an O_PATH fd", syscall(SYS_fchmodat2, opath, "", 0644, AT_EMPTY_PATH));
	stat("file", &st);
	CHECK_EQ("fchmodat2 AT_EMPTY_PATH: mode", st.st_mode & 07777, 0644);
	CHECK_ERR("fchmodat2 empty path without the flag -> ENOENT", syscall(SYS_fchmodat2, opath, "", 0644, 0), ENOENT);
	CHECK_ERR("fchmodat2 unknown flag -> EINVAL", syscall(SYS_fchmodat2, AT_FDCWD, "file", 0644, 0x1), EINVAL);
	CHECK_ERR("fchmodat2 of a missing file -> ENOENT", syscall(SYS_fchmodat2, AT_FDCWD, "nothing", 0644, 0), ENOENT);
	close(opath);
}

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	t_write_file("file", "some data\n");
	mkdir("sub", 0755);
	t_write_file("sub/inner", "x");
	symlink("file", "link");

	check_getdents();
	check_times();
	check_readahead_sync();
	check_fchmodat2();

	t_tmpdir_end();
	T_DONE();
}
