/* getcwd/chdir/fchdir. Never prints the scratch directory's random name. */
#include "../test.h"

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	char base[256], buf[256];

	CHECK("getcwd", getcwd(base, sizeof base) != NULL);
	CHECK_STR("getcwd is the scratch directory", base, t_tmpdir_path);
	mkdir("a", 0755);
	mkdir("a/b", 0755);
	CHECK_OK("chdir relative", chdir("a/b"));
	getcwd(buf, sizeof buf);
	CHECK_STR("getcwd after chdir", buf + strlen(base), "/a/b");
	CHECK_OK("chdir ..", chdir(".."));
	getcwd(buf, sizeof buf);
	CHECK_STR("getcwd after ..", buf + strlen(base), "/a");
	CHECK_ERR("chdir missing -> ENOENT", chdir("missing"), ENOENT);
	t_write_file("file", "x");
	CHECK_ERR("chdir to a file -> ENOTDIR", chdir("file"), ENOTDIR);
	symlink("b", "lb");
	CHECK_OK("chdir through symlink", chdir("lb"));
	getcwd(buf, sizeof buf);
	CHECK_STR("getcwd resolves the symlink", buf + strlen(base), "/a/b");

	int fd = open(base, O_RDONLY | O_DIRECTORY);
	CHECK_OK("fchdir", fchdir(fd));
	getcwd(buf, sizeof buf);
	CHECK_STR("getcwd after fchdir", buf, base);
	close(fd);
	fd = open("a/file", O_RDONLY);
	CHECK_ERR("fchdir to a file -> ENOTDIR", fchdir(fd), ENOTDIR);
	close(fd);
	CHECK_ERR("fchdir bad fd -> EBADF", fchdir(99), EBADF);

	CHECK_ERR("getcwd buffer too small -> ERANGE", syscall(SYS_getcwd, buf, 2), ERANGE);
	long n = syscall(SYS_getcwd, buf, sizeof buf);
	CHECK_EQ("raw getcwd returns length incl NUL", n, (long)strlen(base) + 1);

	CHECK_OK("chdir /", chdir("/"));
	getcwd(buf, sizeof buf);
	CHECK_STR("getcwd at root", buf, "/");
	CHECK_OK("chdir /tmp/../tmp", chdir("/tmp/../tmp"));
	getcwd(buf, sizeof buf);
	CHECK_STR("getcwd normalized", buf, "/tmp");
	chdir(base);

	/* A removed cwd reports ENOENT from getcwd. */
	mkdir("gone", 0755);
	chdir("gone");
	rmdir("../gone");
	CHECK_ERR("getcwd of removed directory -> ENOENT", syscall(SYS_getcwd, buf, sizeof buf), ENOENT);
	struct stat st;
	CHECK_OK("stat . in a removed directory", stat(".", &st));
	CHECK_EQ("a removed directory has no links", st.st_nlink, 0);
	CHECK_ERR("creating in a removed directory -> ENOENT", open("new", O_CREAT | O_WRONLY, 0644), ENOENT);
	chdir(base);

	/* The working directory is the directory, not its name. */
	mkdir("old", 0755);
	chdir("old");
	CHECK_OK("rename the working directory", rename("../old", "../renamed"));
	CHECK_OK("stat . after the rename", stat(".", &st));
	CHECK(". is still a directory", S_ISDIR(st.st_mode));
	t_write_file("made-here", "y");
	chdir(base);
	CHECK_OK("a file made in the renamed working directory is there", access("renamed/made-here", F_OK));
	CHECK_ERR("and not under the old name", access("old/made-here", F_OK), ENOENT);

	t_tmpdir_end();
	T_DONE();
}
