/* symlink/readlink/link/rename/renameat2/unlink/rmdir/mkdir, ELOOP and ENAMETOOLONG. */
#include "../test.h"

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	char buf[256];
	struct stat st;

	t_write_file("f", "data");
	CHECK_OK("symlink", symlink("f", "s"));
	CHECK_ERR("symlink over existing -> EEXIST", symlink("f", "s"), EEXIST);
	memset(buf, 0, sizeof buf);
	CHECK_EQ("readlink length", readlink("s", buf, sizeof buf), 1);
	CHECK_STR("readlink target", buf, "f");
	CHECK_EQ("readlink truncates silently", readlink("s", buf, 0 + 1), 1);
	CHECK_ERR("readlink on a file -> EINVAL", readlink("f", buf, sizeof buf), EINVAL);
	CHECK_ERR("readlink missing -> ENOENT", readlink("missing", buf, sizeof buf), ENOENT);
	CHECK_ERR("readlink bufsiz 0 -> EINVAL", syscall(SYS_readlink, "s", buf, 0), EINVAL);
	CHECK_OK("symlink to missing target (dangling)", symlink("nowhere", "dangling"));
	CHECK_ERR("stat dangling -> ENOENT", stat("dangling", &st), ENOENT);
	CHECK_OK("lstat dangling", lstat("dangling", &st));
	memset(buf, 0, sizeof buf);
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	CHECK_EQ("readlinkat", readlinkat(dfd, "dangling", buf, sizeof buf), 7);
	CHECK_STR("readlinkat target", buf, "nowhere");

	CHECK_OK("link", link("f", "hard"));
	stat("f", &st);
	CHECK_EQ("nlink after link", st.st_nlink, 2);
	CHECK_ERR("link to existing name -> EEXIST", link("f", "hard"), EEXIST);
	mkdir("d", 0755);
	CHECK_ERR("link a directory -> EPERM", link("d", "dlink"), EPERM);

	CHECK_OK("rename", rename("hard", "renamed"));
	CHECK_ERR("old name gone", access("hard", F_OK), ENOENT);
	t_write_file("other", "other");
	CHECK_OK("rename over existing file", rename("other", "renamed"));
	CHECK_EQ("renamed file has new contents", t_read_file("renamed", buf, sizeof buf), 5);
	stat("f", &st);
	CHECK_EQ("nlink after replacing the hard link", st.st_nlink, 1);
	CHECK_ERR("rename file over directory -> EISDIR", rename("f", "d"), EISDIR);
	CHECK_ERR("rename directory over file -> ENOTDIR", rename("d", "f"), ENOTDIR);
	CHECK_ERR("rename directory into itself -> EINVAL", rename("d", "d/sub"), EINVAL);
	CHECK_ERR("rename missing -> ENOENT", rename("missing", "x"), ENOENT);

	CHECK_ERR("renameat2 RENAME_NOREPLACE existing -> EEXIST",
		  syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "renamed", 1), EEXIST);
	CHECK_OK("renameat2 RENAME_NOREPLACE new name", syscall(SYS_renameat2, AT_FDCWD, "renamed", AT_FDCWD, "r2", 1));
	CHECK_OK("renameat2 RENAME_EXCHANGE", syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "r2", 2));
	t_read_file("f", buf, sizeof buf);
	CHECK_STR("exchanged contents", buf, "other");
	CHECK_ERR("renameat2 NOREPLACE|EXCHANGE -> EINVAL", syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "r2", 3), EINVAL);

	CHECK_OK("mkdir", mkdir("d/sub", 0755));
	CHECK_ERR("mkdir existing -> EEXIST", mkdir("d", 0755), EEXIST);
	CHECK_ERR("mkdir over a file -> EEXIST", mkdir("f", 0755), EEXIST);
	CHECK_ERR("mkdir missing parent -> ENOENT", mkdir("none/x", 0755), ENOENT);
	CHECK_ERR("rmdir non-empty -> ENOTEMPTY", rmdir("d"), ENOTEMPTY);
	CHECK_ERR("rmdir a file -> ENOTDIR", rmdir("f"), ENOTDIR);
	CHECK_ERR("rmdir . -> EINVAL", rmdir("d/sub/."), EINVAL);
	CHECK_ERR("unlink a directory -> EISDIR", unlink("d/sub"), EISDIR);
	CHECK_OK("rmdir empty", rmdir("d/sub"));
	CHECK_OK("unlinkat AT_REMOVEDIR", unlinkat(dfd, "d", AT_REMOVEDIR));
	CHECK_OK("unlink file", unlink("r2"));
	CHECK_ERR("unlink missing -> ENOENT", unlink("r2"), ENOENT);
	CHECK_OK("unlink symlink not target", unlink("s"));
	CHECK_OK("target still exists", access("f", F_OK));
	CHECK_ERR("unlinkat bad flags -> EINVAL", unlinkat(dfd, "f", 0x1), EINVAL);

	/* An open file survives its unlink. */
	int fd = open("f", O_RDONLY);
	unlink("f");
	CHECK_EQ("read unlinked open file", read(fd, buf, sizeof buf), 5);
	fstat(fd, &st);
	CHECK_EQ("unlinked file nlink 0", st.st_nlink, 0);
	close(fd);

	CHECK_OK("symlink loop a->b", symlink("b", "a"));
	CHECK_OK("symlink loop b->a", symlink("a", "b"));
	CHECK_ERR("open symlink loop -> ELOOP", open("a", O_RDONLY), ELOOP);
	CHECK_ERR("stat symlink loop -> ELOOP", stat("a/x", &st), ELOOP);
	CHECK_OK("self symlink", symlink("self", "self"));
	CHECK_ERR("open self symlink -> ELOOP", open("self", O_RDONLY), ELOOP);

	char longname[300];
	memset(longname, 'n', 256);
	longname[256] = 0;
	CHECK_ERR("component of 256 bytes -> ENAMETOOLONG", open(longname, O_RDONLY | O_CREAT, 0644), ENAMETOOLONG);
	longname[255] = 0;
	fd = open(longname, O_RDONLY | O_CREAT, 0644);
	CHECK("component of 255 bytes is fine", fd >= 0);
	close(fd);
	unlink(longname);
	char *huge = malloc(5000);
	for (int i = 0; i < 4999; i++)
		huge[i] = (i % 2) ? '/' : 'a';
	huge[4999] = 0;
	CHECK_ERR("path of 4999 bytes -> ENAMETOOLONG", open(huge, O_RDONLY), ENAMETOOLONG);
	free(huge);

	close(dfd);
	t_tmpdir_end();
	T_DONE();
}
