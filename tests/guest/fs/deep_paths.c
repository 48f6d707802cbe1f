/* Paths of many directories, walked as Linux walks them whatever the names
 * on the way are: plain directories, a symlink in the middle (relative,
 * absolute, to a file, dangling, looping), `..` after a run of names and
 * after a symlink, `//` and `.`, a file in the middle (ENOTDIR), a missing
 * directory (ENOENT), a name over NAME_MAX (ENAMETOOLONG), a directory
 * without search permission for its owner, and runs that cross into /proc
 * and /dev. The same answers through stat, lstat, open, access, and
 * fstatat from a directory fd. */
#include "../test.h"
#include <limits.h>

static int is_reg(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static long size_of(const char *p, int follow)
{
	struct stat st;
	int r = follow ? stat(p, &st) : lstat(p, &st);
	return r == 0 ? (long)st.st_size : -errno;
}

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	char abs[PATH_MAX];
	CHECK("getcwd", getcwd(abs, sizeof abs) != NULL);

	CHECK_OK("mkdir a", mkdir("a", 0755));
	CHECK_OK("mkdir a/b", mkdir("a/b", 0755));
	CHECK_OK("mkdir a/b/c", mkdir("a/b/c", 0755));
	CHECK_OK("mkdir a/b/c/d", mkdir("a/b/c/d", 0755));
	CHECK_OK("write a/b/c/d/f", t_write_file("a/b/c/d/f", "12345"));
	CHECK_OK("write a/b/g", t_write_file("a/b/g", "123"));
	CHECK_OK("relative link a/b/up -> ../b/c", symlink("../b/c", "a/b/up"));
	CHECK_OK("link to a file a/b/tofile -> c/d/f", symlink("c/d/f", "a/b/tofile"));
	CHECK_OK("dangling link a/b/nowhere", symlink("no/such/dir", "a/b/nowhere"));
	CHECK_OK("looping link a/b/loop", symlink("loop/x", "a/b/loop"));
	char target[PATH_MAX + 16];
	snprintf(target, sizeof target, "%s/a/b/c", abs);
	CHECK_OK("absolute link a/abs -> $tmp/a/b/c", symlink(target, "a/abs"));

	CHECK_EQ("a run of directories", size_of("a/b/c/d/f", 1), 5);
	CHECK_EQ("the same with // and .", size_of("a//b/./c/d//f", 1), 5);
	char full[PATH_MAX + 32];
	snprintf(full, sizeof full, "%s/a/b/c/d/f", abs);
	CHECK_EQ("the same from /", size_of(full, 1), 5);
	CHECK_EQ("a relative symlink in the middle", size_of("a/b/up/d/f", 1), 5);
	CHECK_EQ("an absolute symlink in the middle", size_of("a/abs/d/f", 1), 5);
	CHECK_EQ("`..` after a run", size_of("a/b/c/d/../../g", 1), 3);
	CHECK_EQ("`..` after a run that went through a symlink", size_of("a/b/up/d/../../g", 1), 3);
	CHECK_EQ("`..` out of everything stays at the root", size_of("a/b/c/../../../../../../../../..", 1) > 0, 1);
	CHECK_EQ("a symlink to a file, followed", size_of("a/b/tofile", 1), 5);
	CHECK_EQ("and not followed", size_of("a/b/tofile", 0), 5);
	CHECK_ERR("a symlink to a file in the middle", stat("a/b/tofile/x/y", &(struct stat){ 0 }), ENOTDIR);
	CHECK_ERR("a file in the middle", stat("a/b/c/d/f/x/y", &(struct stat){ 0 }), ENOTDIR);
	CHECK_ERR("a missing directory in the middle", stat("a/b/nope/d/f", &(struct stat){ 0 }), ENOENT);
	CHECK_ERR("a dangling symlink in the middle", stat("a/b/nowhere/x/y", &(struct stat){ 0 }), ENOENT);
	CHECK_ERR("a looping symlink in the middle", stat("a/b/loop/x/y", &(struct stat){ 0 }), ELOOP);
	char longname[300];
	memset(longname, 'n', 256);
	longname[256] = 0;
	char longpath[400];
	snprintf(longpath, sizeof longpath, "a/b/%s/c/d", longname);
	CHECK_ERR("a name over NAME_MAX in the middle", stat(longpath, &(struct stat){ 0 }), ENAMETOOLONG);
	CHECK_ERR("a trailing slash on a file", stat("a/b/c/d/f/", &(struct stat){ 0 }), ENOTDIR);
	CHECK("a trailing slash on a directory", size_of("a/b/c/d/", 1) > 0);

	int fd = open("a/b/up/d/f", O_RDONLY | O_CLOEXEC);
	CHECK("open through a symlink in the middle", fd >= 0);
	char buf[8] = { 0 };
	CHECK_EQ("and read", read(fd, buf, sizeof buf), 5);
	close(fd);
	CHECK_OK("access of a deep file", access("a/b/c/d/f", R_OK));
	int dfd = open("a", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	CHECK_OK("fstatat from a directory fd", fstatat(dfd, "b/c/d/f", &st, 0));
	CHECK_EQ("sees the file", st.st_size, 5);
	CHECK_OK("fstatat from a directory fd with `..`", fstatat(dfd, "b/c/d/../../g", &st, 0));
	CHECK_EQ("sees the other file", st.st_size, 3);
	close(dfd);
	CHECK_OK("chdir into a run", chdir("a/b/c/d"));
	CHECK_EQ("then a name in it", size_of("f", 1), 5);
	CHECK_EQ("and `..` from there", size_of("../../g", 1), 3);
	CHECK_OK("chdir back", chdir(abs));

	/* A directory its owner cannot search: root passes, others do not. */
	CHECK_OK("chmod a/b/c 0", chmod("a/b/c", 0));
	if (geteuid() == 0)
		CHECK_EQ("root searches a mode-0 directory", size_of("a/b/c/d/f", 1), 5);
	else
		CHECK_ERR("no search permission in the middle", stat("a/b/c/d/f", &st), EACCES);
	CHECK_OK("chmod a/b/c back", chmod("a/b/c", 0755));

	CHECK("a run into /proc", is_reg("/proc/self/status"));
	CHECK("and into /proc's fd links", size_of("/proc/self/fd/0", 0) >= 0);
	CHECK_ERR("and a missing name below /proc", stat("/proc/self/nope/x", &st), ENOENT);
	CHECK("a run into /dev", stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
	CHECK_ERR("out of /proc with `..`", stat("/proc/self/../../nope", &st), ENOENT);
	CHECK_OK("back out of /proc with `..`", stat("/proc/self/../../tmp", &st));

	t_tmpdir_end();
	T_DONE();
}
