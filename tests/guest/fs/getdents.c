/* getdents64 over a directory the test fills; names printed sorted. */
#include "../test.h"
#include <stdint.h>

struct t_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();

	char name[32];
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof name, "file-%02d", i);
		t_write_file(name, "x");
	}
	mkdir("subdir", 0755);
	symlink("file-00", "symlink");

	int fd = open(".", O_RDONLY | O_DIRECTORY);
	char *names[64];
	unsigned char types[64];
	int n = 0, calls = 0;
	char buf[512]; /* small, so several calls are needed */
	for (;;) {
		long r = syscall(SYS_getdents64, fd, buf, sizeof buf);
		if (r <= 0) {
			CHECK_EQ("getdents64 ends with 0", r, 0);
			break;
		}
		calls++;
		for (long off = 0; off < r;) {
			struct t_dirent64 *d = (struct t_dirent64 *)(buf + off);
			if (n < 64) {
				types[n] = d->d_type;
				names[n++] = strdup(d->d_name);
			}
			off += d->d_reclen;
		}
	}
	CHECK("getdents64 needed several calls", calls > 1);
	CHECK_EQ("entry count incl . and ..", n, 44);
	/* Sort names together with their types. */
	char *sorted[64];
	for (int i = 0; i < n; i++) {
		sorted[i] = malloc(strlen(names[i]) + 2);
		sprintf(sorted[i], "%c%s", types[i] == DT_DIR ? 'd' : types[i] == DT_LNK ? 'l' : types[i] == DT_REG ? 'f' : '?', names[i]);
	}
	qsort(sorted, n, sizeof *sorted, cmp);
	for (int i = 0; i < n; i++)
		printf("entry %s\n", sorted[i]);

	CHECK_EQ("getdents64 at end again returns 0", syscall(SYS_getdents64, fd, buf, sizeof buf), 0);
	lseek(fd, 0, SEEK_SET);
	CHECK("getdents64 after rewind returns entries", syscall(SYS_getdents64, fd, buf, sizeof buf) > 0);
	CHECK_ERR("getdents64 buffer too small -> EINVAL", syscall(SYS_getdents64, fd, buf, 1), EINVAL);
	close(fd);
	fd = open("file-00", O_RDONLY);
	CHECK_ERR("getdents64 on a file -> ENOTDIR", syscall(SYS_getdents64, fd, buf, sizeof buf), ENOTDIR);
	close(fd);
	CHECK_ERR("getdents64 bad fd -> EBADF", syscall(SYS_getdents64, 99, buf, sizeof buf), EBADF);

	/* readdir via libc sees the same count. */
	DIR *d = opendir(".");
	int count = 0;
	while (readdir(d))
		count++;
	closedir(d);
	CHECK_EQ("readdir count", count, 44);

	t_tmpdir_end();
	T_DONE();
}
