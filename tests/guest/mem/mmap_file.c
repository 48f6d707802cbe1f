/* File mappings: contents, offset, MAP_SHARED writes reach the file, MAP_PRIVATE copies, msync. */
#include "../test.h"
#include <sys/mman.h>

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	long page = sysconf(_SC_PAGESIZE);

	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *data = malloc(2 * page);
	for (long i = 0; i < 2 * page; i++)
		data[i] = 'a' + i % 26;
	write(fd, data, 2 * page);
	write(fd, "tail", 4);

	char *m = mmap(NULL, 2 * page, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK("mmap file private", m != MAP_FAILED);
	CHECK_MEM("file mapping contents", m, data, 2 * page);
	munmap(m, 2 * page);

	m = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 2 * page);
	CHECK("mmap file at page offset", m != MAP_FAILED);
	CHECK_MEM("tail page contents", m, "tail", 4);
	int zero = 1;
	for (long i = 4; i < page; i++)
		if (m[i])
			zero = 0;
	CHECK("bytes past EOF in the last page are zero", zero);
	munmap(m, page);

	m = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK("mmap file shared", m != MAP_FAILED);
	memcpy(m, "SHARED", 6);
	CHECK_OK("msync MS_SYNC", msync(m, page, MS_SYNC));
	char buf[8] = { 0 };
	pread(fd, buf, 6, 0);
	CHECK_STR("shared write reached the file", buf, "SHARED");
	pwrite(fd, "pwrite", 6, 0);
	CHECK_MEM("file write visible in shared map", m, "pwrite", 6);
	CHECK_ERR("msync bad flags -> EINVAL", msync(m, page, MS_SYNC | MS_ASYNC), EINVAL);
	CHECK_ERR("msync unaligned -> EINVAL", msync(m + 1, page, MS_SYNC), EINVAL);
	munmap(m, page);

	m = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	memcpy(m, "PRIVAT", 6);
	memset(buf, 0, sizeof buf);
	pread(fd, buf, 6, 0);
	CHECK_STR("private write stays private", buf, "pwrite");
	munmap(m, page);

	int ro = open("f", O_RDONLY);
	void *r = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
	CHECK_EQ("shared writable map of read-only fd fails", r == MAP_FAILED, 1);
	CHECK_EQ("errno EACCES", errno, EACCES);
	r = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
	CHECK("private writable map of read-only fd is fine", r != MAP_FAILED);
	munmap(r, page);
	close(ro);

	/* The mapping outlives the fd. */
	m = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	CHECK_MEM("mapping survives close", m, "pwrite", 6);
	munmap(m, page);

	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	r = mmap(NULL, page, PROT_READ, MAP_PRIVATE, dfd, 0);
	CHECK_EQ("mmap a directory fails", r == MAP_FAILED, 1);
	CHECK_EQ("errno ENODEV", errno, ENODEV);
	close(dfd);

	t_tmpdir_end();
	T_DONE();
}
