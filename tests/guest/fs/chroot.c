/* chroot(2) in a scratch tree under /tmp, done by a child so that the
 * parent can remove the tree: absolute paths, absolute symlinks and ".."
 * stay inside the new root; the working directory under it keeps its
 * place and is named from the new root; a fork child inherits the root;
 * ENOTDIR, ENOENT and EFAULT. Without the privilege (EPERM) the program
 * says so, natively too. */
#include "../test.h"
#include <sys/wait.h>

static int read_str(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t got = read(fd, buf, n - 1);
	close(fd);
	buf[got > 0 ? got : 0] = 0;
	return got > 0 ? 0 : -1;
}

static void in_child(const char *dir)
{
	char buf[256], sub[300];
	snprintf(sub, sizeof sub, "%s/sub", dir);
	if (chdir(sub) != 0)
		_exit(2);
	if (chroot(dir) != 0) {
		printf("chroot: %s\n", strerror(errno));
		fflush(stdout);
		_exit(0);
	}
	CHECK("getcwd names the working directory from the new root", getcwd(buf, sizeof buf) && strcmp(buf, "/sub") == 0);
	CHECK("an absolute path is inside it", read_str("/etc/f", buf, sizeof buf) == 0 && strcmp(buf, "inside\n") == 0);
	CHECK("so is an absolute symlink's target", read_str("/lnk", buf, sizeof buf) == 0 && strcmp(buf, "inside\n") == 0);
	CHECK("a relative path starts at the working directory", read_str("../etc/f", buf, sizeof buf) == 0 && strcmp(buf, "inside\n") == 0);
	struct stat root, up;
	CHECK("/.. is / itself", stat("/", &root) == 0 && stat("/../..", &up) == 0 && root.st_ino == up.st_ino && root.st_dev == up.st_dev);
	CHECK_ERR("the old root's files are out of reach", open("/tmp", O_RDONLY), ENOENT);
	pid_t kid = fork();
	if (kid == 0)
		_exit(read_str("/etc/f", buf, sizeof buf) == 0 && strcmp(buf, "inside\n") == 0 ? 0 : 1);
	int st = 0;
	waitpid(kid, &st, 0);
	CHECK("a fork child has the root too", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_OK("chroot into a subdirectory of it", chroot("/etc/.."));
	CHECK_OK("chdir /", chdir("/"));
	CHECK("still the same tree", read_str("/etc/f", buf, sizeof buf) == 0);
	fflush(stdout);
	_exit(t_failures ? 1 : 0);
}

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	const char *dir = t_tmpdir_path;
	char p[300];
	snprintf(p, sizeof p, "%s/etc", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/sub", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/etc/f", dir);
	int fd = open(p, O_WRONLY | O_CREAT, 0644);
	write(fd, "inside\n", 7);
	close(fd);
	snprintf(p, sizeof p, "%s/lnk", dir);
	symlink("/etc/f", p);

	snprintf(p, sizeof p, "%s/etc/f", dir);
	CHECK_ERR("a file is not a root", chroot(p), ENOTDIR);
	CHECK_ERR("nor a missing path", chroot("/nonexistent-root"), ENOENT);
	CHECK_ERR("a bad pointer", syscall(SYS_chroot, 8L), EFAULT);
	fflush(stdout);
	pid_t child = fork();
	if (child == 0)
		in_child(dir);
	int st = 0;
	waitpid(child, &st, 0);
	CHECK("the chrooted child passed", WIFEXITED(st) && WEXITSTATUS(st) == 0);

	snprintf(p, sizeof p, "%s/lnk", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/etc/f", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/etc", dir);
	rmdir(p);
	snprintf(p, sizeof p, "%s/sub", dir);
	rmdir(p);
	chdir("/");
	CHECK_OK("remove the scratch tree", rmdir(dir));
	T_DONE();
}
