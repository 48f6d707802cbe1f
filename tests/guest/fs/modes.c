/* chmod/fchmod/fchmodat, umask, truncate/ftruncate, utimensat, access/faccessat. */
#include "../test.h"
#include <sys/time.h>

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	struct stat st;

	CHECK_EQ("umask returns previous", (umask(027), umask(027)), 027);
	int fd = open("f", O_RDWR | O_CREAT, 0666);
	fstat(fd, &st);
	CHECK_EQ("umask 027 applied to 0666", st.st_mode & 07777, 0640);
	mkdir("d", 0777);
	stat("d", &st);
	CHECK_EQ("umask 027 applied to mkdir 0777", st.st_mode & 07777, 0750);
	umask(0);
	int g = open("g", O_RDWR | O_CREAT, 0666);
	fstat(g, &st);
	CHECK_EQ("umask 0 keeps 0666", st.st_mode & 07777, 0666);
	close(g);
	umask(022);

	CHECK_OK("chmod", chmod("f", 0600));
	stat("f", &st);
	CHECK_EQ("chmod result", st.st_mode & 07777, 0600);
	CHECK_OK("fchmod", fchmod(fd, 0751));
	fstat(fd, &st);
	CHECK_EQ("fchmod result", st.st_mode & 07777, 0751);
	CHECK("mode keeps the file type", S_ISREG(st.st_mode));
	CHECK_OK("fchmodat", fchmodat(AT_FDCWD, "f", 01644, 0));
	stat("f", &st);
	CHECK_EQ("fchmodat sticky bit", st.st_mode & 07777, 01644);
	CHECK_ERR("chmod missing -> ENOENT", chmod("missing", 0644), ENOENT);

	CHECK_OK("ftruncate grow", ftruncate(fd, 100));
	fstat(fd, &st);
	CHECK_EQ("size after ftruncate", st.st_size, 100);
	CHECK_OK("truncate shrink", truncate("f", 7));
	stat("f", &st);
	CHECK_EQ("size after truncate", st.st_size, 7);
	CHECK_ERR("ftruncate negative -> EINVAL", ftruncate(fd, -1), EINVAL);
	CHECK_ERR("truncate directory -> EISDIR", truncate("d", 0), EISDIR);
	int ro = open("f", O_RDONLY);
	CHECK_ERR("ftruncate read-only fd -> EINVAL", ftruncate(ro, 0), EINVAL);
	close(ro);

	struct timespec ts[2] = { { 1000000000, 123456789 }, { 1500000000, 987654321 } };
	CHECK_OK("utimensat", utimensat(AT_FDCWD, "f", ts, 0));
	stat("f", &st);
	CHECK_EQ("atime sec", st.st_atim.tv_sec, 1000000000);
	CHECK_EQ("atime nsec", st.st_atim.tv_nsec, 123456789);
	CHECK_EQ("mtime sec", st.st_mtim.tv_sec, 1500000000);
	CHECK_EQ("mtime nsec", st.st_mtim.tv_nsec, 987654321);
	struct timespec omit[2] = { { 0, UTIME_OMIT }, { 1600000000, 0 } };
	CHECK_OK("utimensat UTIME_OMIT", utimensat(AT_FDCWD, "f", omit, 0));
	stat("f", &st);
	CHECK_EQ("UTIME_OMIT keeps atime", st.st_atim.tv_sec, 1000000000);
	CHECK_EQ("mtime updated", st.st_mtim.tv_sec, 1600000000);
	struct timespec now[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
	CHECK_OK("futimens UTIME_NOW", futimens(fd, now));
	fstat(fd, &st);
	CHECK("UTIME_NOW is recent", st.st_mtim.tv_sec > 1600000000);
	struct timespec bad[2] = { { 0, 1000000000 }, { 0, 0 } };
	CHECK_ERR("utimensat bad nsec -> EINVAL", utimensat(AT_FDCWD, "f", bad, 0), EINVAL);
	symlink("f", "s");
	CHECK_OK("utimensat AT_SYMLINK_NOFOLLOW", utimensat(AT_FDCWD, "s", ts, AT_SYMLINK_NOFOLLOW));
	lstat("s", &st);
	CHECK_EQ("symlink mtime set", st.st_mtim.tv_sec, 1500000000);
	stat("f", &st);
	CHECK("target mtime untouched", st.st_mtim.tv_sec != 1500000000);
	struct timeval tv[2] = { { 1234, 0 }, { 5678, 0 } };
	CHECK_OK("utimes", utimes("f", tv));
	stat("f", &st);
	CHECK_EQ("utimes mtime", st.st_mtime, 5678);

	CHECK_OK("access F_OK", access("f", F_OK));
	CHECK_OK("access R_OK", access("f", R_OK));
	CHECK_OK("access R_OK|W_OK", access("f", R_OK | W_OK));
	CHECK_ERR("access missing -> ENOENT", access("missing", F_OK), ENOENT);
	CHECK_ERR("access bad mode -> EINVAL", access("f", 0100), EINVAL);
	CHECK_OK("faccessat", faccessat(AT_FDCWD, "d", R_OK | X_OK, 0));
	CHECK_ERR("faccessat missing -> ENOENT", faccessat(AT_FDCWD, "missing", F_OK, 0), ENOENT);
	CHECK_ERR("faccessat through file -> ENOTDIR", faccessat(AT_FDCWD, "f/x", F_OK, 0), ENOTDIR);
	CHECK_OK("faccessat2 AT_EACCESS", syscall(SYS_faccessat2, AT_FDCWD, "f", R_OK, AT_EACCESS));
	chmod("f", 0644);
	CHECK_ERR("X_OK on a 0644 file -> EACCES", access("f", X_OK), EACCES);

	close(fd);
	t_tmpdir_end();
	T_DONE();
}
