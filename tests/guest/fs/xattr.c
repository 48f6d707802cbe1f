/* Extended attributes (xattr(7)) of files in a scratch directory under
 * /tmp: set, get, list and remove a user. attribute by path, by fd and
 * without following a symlink; the size queries (size 0), ERANGE for a
 * short buffer, XATTR_CREATE (EEXIST) and XATTR_REPLACE (ENODATA), an
 * empty value, a directory's own, EPERM for a user. attribute on a
 * symlink, ENODATA after removal; EINVAL for unknown flags, ERANGE for an
 * empty or too long name, E2BIG for a value over 64 KiB, EOPNOTSUPP for a
 * name without a namespace and for /proc files (which list nothing),
 * EBADF for a closed or O_PATH fd, ENOENT, EFAULT. Where the file system
 * takes no user attributes the program says so and stops, natively too. */
#include "../test.h"
#include <sys/xattr.h>

static int listed(const char *list, ssize_t n, const char *name)
{
	for (ssize_t i = 0; i < n; i += strlen(list + i) + 1)
		if (strcmp(list + i, name) == 0)
			return 1;
	return 0;
}

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	int fd = open("f", O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return 2;
	if (setxattr("f", "user.probe", "x", 1, 0) != 0) {
		printf("no user attributes here: %s\n", strerror(errno));
		t_tmpdir_end();
		T_DONE();
	}
	CHECK_OK("remove the probe", removexattr("f", "user.probe"));

	CHECK_OK("setxattr", setxattr("f", "user.color", "blue", 4, 0));
	char buf[256];
	CHECK_EQ("getxattr with size 0 gives the size", getxattr("f", "user.color", NULL, 0), 4);
	memset(buf, 0, sizeof buf);
	CHECK_EQ("getxattr reads the value", getxattr("f", "user.color", buf, sizeof buf), 4);
	CHECK_STR("the value", buf, "blue");
	CHECK_ERR("a short buffer", getxattr("f", "user.color", buf, 2), ERANGE);
	CHECK_ERR("XATTR_CREATE on an existing one", setxattr("f", "user.color", "red", 3, XATTR_CREATE), EEXIST);
	CHECK_ERR("XATTR_REPLACE on a missing one", setxattr("f", "user.size", "9", 1, XATTR_REPLACE), ENODATA);
	CHECK_OK("XATTR_REPLACE on an existing one", setxattr("f", "user.color", "green", 5, XATTR_REPLACE));
	CHECK_EQ("the new value's size", getxattr("f", "user.color", NULL, 0), 5);
	CHECK_OK("an empty value", setxattr("f", "user.empty", "", 0, 0));
	CHECK_EQ("reads as 0 bytes", getxattr("f", "user.empty", buf, sizeof buf), 0);
	CHECK_OK("fsetxattr", fsetxattr(fd, "user.by_fd", "1", 1, 0));
	CHECK_EQ("fgetxattr", fgetxattr(fd, "user.color", buf, sizeof buf), 5);

	char list[1024];
	ssize_t need = listxattr("f", NULL, 0);
	ssize_t n = listxattr("f", list, sizeof list);
	CHECK("listxattr's size query matches the list", need == n && n > 0);
	CHECK("the list names all three", listed(list, n, "user.color") && listed(list, n, "user.empty") && listed(list, n, "user.by_fd"));
	CHECK_ERR("a short list buffer", listxattr("f", list, 3), ERANGE);
	n = flistxattr(fd, list, sizeof list);
	CHECK("flistxattr too", n == need && listed(list, n, "user.by_fd"));

	CHECK_OK("a directory's own", setxattr(".", "user.dir", "d", 1, 0));
	CHECK_EQ("read back", getxattr(".", "user.dir", buf, sizeof buf), 1);
	CHECK_OK("symlink", symlink("f", "link"));
	CHECK_EQ("getxattr follows it", getxattr("link", "user.color", buf, sizeof buf), 5);
	CHECK_ERR("lgetxattr does not", lgetxattr("link", "user.color", buf, sizeof buf), ENODATA);
	CHECK_ERR("a user attribute on a symlink", lsetxattr("link", "user.x", "1", 1, 0), EPERM);
	CHECK_EQ("llistxattr of the link", llistxattr("link", list, sizeof list), 0);

	CHECK_OK("removexattr", removexattr("f", "user.empty"));
	CHECK_ERR("gone", getxattr("f", "user.empty", buf, sizeof buf), ENODATA);
	CHECK_ERR("removing it again", removexattr("f", "user.empty"), ENODATA);
	CHECK_OK("fremovexattr", fremovexattr(fd, "user.by_fd"));
	CHECK_OK("lremovexattr of a directory", lremovexattr(".", "user.dir"));

	CHECK_ERR("unknown flags", setxattr("f", "user.a", "1", 1, 4), EINVAL);
	CHECK_ERR("an empty name", setxattr("f", "", "1", 1, 0), ERANGE);
	char longname[300];
	memcpy(longname, "user.", 5);
	memset(longname + 5, 'n', sizeof longname - 6);
	longname[sizeof longname - 1] = 0;
	CHECK_ERR("a name over 255 bytes", getxattr("f", longname, buf, sizeof buf), ERANGE);
	static char big[65537];
	CHECK_ERR("a value over 64 KiB", setxattr("f", "user.big", big, sizeof big, 0), E2BIG);
	CHECK_ERR("a name without a namespace", setxattr("f", "color", "1", 1, 0), EOPNOTSUPP);
	CHECK_ERR("no such file", getxattr("nothere", "user.color", buf, sizeof buf), ENOENT);
	CHECK_ERR("a bad name pointer", syscall(SYS_getxattr, "f", 8L, buf, sizeof buf), EFAULT);
	CHECK_ERR("a bad value pointer", syscall(SYS_setxattr, "f", "user.a", 8L, 4L, 0), EFAULT);
	CHECK_ERR("a bad buffer", syscall(SYS_getxattr, "f", "user.color", 8L, sizeof buf), EFAULT);
	CHECK_ERR("/proc files take none", getxattr("/proc/self/status", "user.color", buf, sizeof buf), EOPNOTSUPP);
	CHECK_EQ("and list none", listxattr("/proc/self/status", list, sizeof list), 0);
	int path_fd = open("f", O_PATH);
	CHECK_ERR("an O_PATH fd", fgetxattr(path_fd, "user.color", buf, sizeof buf), EBADF);
	close(path_fd);
	close(fd);
	CHECK_ERR("a closed fd", fgetxattr(fd, "user.color", buf, sizeof buf), EBADF);

	CHECK_OK("clean up", unlink("link") == 0 && unlink("f") == 0 ? 0 : -1);
	chdir("/");
	CHECK_OK("rmdir the scratch directory", rmdir(t_tmpdir_path));
	T_DONE();
}
