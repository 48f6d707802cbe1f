/* A Linux file name is any bytes but '/' and NUL: names that are not valid
 * UTF-8 (Latin-1 here) are created, found, listed, renamed, linked to and
 * removed with every byte as given, also as a directory in the working
 * directory's path and as a symlink target. */
#include "../test.h"

static int listed(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;
	while (d && (e = readdir(d)))
		found |= strcmp(e->d_name, name) == 0;
	if (d)
		closedir(d);
	return found;
}

int main(void)
{
	T_BEGIN();
	char dir[] = "/tmp/byte_names.XXXXXX";
	if (!mkdtemp(dir) || chdir(dir) != 0)
		return 2;
	const char *latin = "caf\xe9";     /* "café" in Latin-1 */
	const char *other = "n\xfe\xff";
	const char *sub = "d\xe9j\xe0";

	int fd = open(latin, O_WRONLY | O_CREAT | O_EXCL, 0644);
	CHECK("create a Latin-1 name", fd >= 0);
	CHECK_EQ("write to it", write(fd, "x", 1), 1);
	close(fd);
	struct stat st;
	CHECK_OK("stat it by the same bytes", stat(latin, &st));
	CHECK_EQ("its size", st.st_size, 1);
	CHECK("readdir lists the exact bytes", listed(".", latin));
	CHECK_ERR("the UTF-8 spelling is another name", stat("caf\xc3\xa9", &st), ENOENT);
	CHECK_OK("rename to another such name", rename(latin, other));
	CHECK("the new name is listed", listed(".", other) && !listed(".", latin));
	CHECK_OK("symlink to it", symlink(other, "link"));
	char target[64] = { 0 };
	CHECK_EQ("readlink gives the target's bytes", readlink("link", target, sizeof target - 1), 3);
	CHECK_STR("exactly", target, other);
	CHECK_OK("stat through the link", stat("link", &st));

	CHECK_OK("mkdir a Latin-1 directory", mkdir(sub, 0755));
	CHECK_OK("chdir into it", chdir(sub));
	char cwd[256];
	CHECK("getcwd", getcwd(cwd, sizeof cwd) != NULL);
	char want[256];
	snprintf(want, sizeof want, "%s/%s", dir, sub);
	CHECK_STR("getcwd ends with its bytes", cwd, want);
	char self[256] = { 0 };
	CHECK("/proc/self/cwd is readable", readlink("/proc/self/cwd", self, sizeof self - 1) > 0);
	CHECK_STR("/proc/self/cwd gives the same bytes", self, want);
	fd = open("../link", O_RDONLY);
	CHECK("open through .. and the link", fd >= 0);
	char fdlink[256] = { 0 };
	CHECK("/proc/self/fd/N is readable", t_fd_link(fd, fdlink, sizeof fdlink) > 0);
	snprintf(want, sizeof want, "%s/%s", dir, other);
	CHECK_STR("and names the file by its bytes", fdlink, want);
	close(fd);
	CHECK_OK("chdir back", chdir(dir));

	CHECK_OK("unlink the link", unlink("link"));
	CHECK_OK("unlink the file", unlink(other));
	CHECK_OK("rmdir the directory", rmdir(sub));
	CHECK("nothing is left", !listed(".", other) && !listed(".", sub));
	chdir("/");
	CHECK_OK("rmdir the scratch directory", rmdir(dir));
	T_DONE();
}
