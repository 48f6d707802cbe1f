/* memfd_create(2) and file sealing (fcntl F_ADD_SEALS/F_GET_SEALS): the
 * flags and the name limit, a memfd read, written, mapped, truncated and
 * stat'ed like a file, what /proc/self/fd shows, each seal refusing what
 * it forbids with EPERM, EBUSY for F_SEAL_WRITE over a shared writable
 * mapping. */
#include "../test.h"
#include <sys/mman.h>
#include <sys/uio.h>

#ifndef SYS_memfd_create
#define SYS_memfd_create 319
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

static int memfd(const char *name, unsigned flags) { return syscall(SYS_memfd_create, name, flags); }

int main(void)
{
	T_BEGIN();
	char buf[300], link[300], path[64];
	struct stat st;

	int fd = memfd("scratch", MFD_CLOEXEC | MFD_EXEC);
	CHECK("memfd_create", fd >= 0);
	CHECK_EQ("MFD_CLOEXEC", fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	CHECK_EQ("open read-write", fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	CHECK_OK("fstat", fstat(fd, &st));
	CHECK_EQ("a regular file", st.st_mode & S_IFMT, S_IFREG);
	CHECK_EQ("mode 0777", st.st_mode & 07777, 0777);
	CHECK_EQ("empty", st.st_size, 0);
	t_fd_link(fd, link, sizeof link);
	CHECK_STR("link name", link, "/memfd:scratch (deleted)");
	CHECK_EQ("write", write(fd, "hello world", 11), 11);
	CHECK_EQ("size follows", (fstat(fd, &st), st.st_size), 11);
	CHECK_EQ("pread", pread(fd, buf, 5, 6), 5);
	CHECK_MEM("pread data", buf, "world", 5);
	CHECK_EQ("lseek", lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ("read", read(fd, buf, sizeof buf), 11);
	CHECK_OK("ftruncate to a page", ftruncate(fd, 4096));
	char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK("mmap shared", m != MAP_FAILED);
	if (m != MAP_FAILED) {
		memcpy(m, "HELLO", 5);
		CHECK_EQ("pread sees the mapping's store", pread(fd, buf, 5, 0), 5);
		CHECK_MEM("stored bytes", buf, "HELLO", 5);
		munmap(m, 4096);
	}
	CHECK_ERR("seals without MFD_ALLOW_SEALING", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
	CHECK_EQ("F_GET_SEALS without sealing", fcntl(fd, F_GET_SEALS), F_SEAL_SEAL);
	close(fd);

	/* Flags and names. */
	CHECK_ERR("unknown flag", memfd("x", 0x100), EINVAL);
	CHECK_ERR("MFD_EXEC with MFD_NOEXEC_SEAL", memfd("x", MFD_EXEC | MFD_NOEXEC_SEAL), EINVAL);
	CHECK_ERR("a huge page size without MFD_HUGETLB", memfd("x", 21U << 26), EINVAL);
	memset(buf, 'n', 249);
	buf[249] = 0;
	fd = memfd(buf, MFD_EXEC);
	CHECK("a 249-byte name", fd >= 0);
	close(fd);
	buf[249] = 'n';
	buf[250] = 0;
	CHECK_ERR("a 250-byte name", memfd(buf, MFD_EXEC), EINVAL);
	CHECK_ERR("a bad name pointer", memfd((const char *)8, MFD_EXEC), EFAULT);
	fd = memfd("", MFD_EXEC);
	CHECK("an empty name", fd >= 0);
	t_fd_link(fd, link, sizeof link);
	CHECK_STR("empty name's link", link, "/memfd: (deleted)");
	CHECK_ERR("F_GET_SEALS on a plain file", fcntl(0, F_GET_SEALS), EINVAL);
	close(fd);

	fd = memfd("noexec", MFD_NOEXEC_SEAL);
	CHECK("MFD_NOEXEC_SEAL", fd >= 0);
	CHECK_EQ("MFD_NOEXEC_SEAL is not close-on-exec", fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	CHECK_EQ("MFD_NOEXEC_SEAL mode 0666", (fstat(fd, &st), st.st_mode & 07777), 0666);
	CHECK_EQ("MFD_NOEXEC_SEAL seals", fcntl(fd, F_GET_SEALS), F_SEAL_EXEC);
	close(fd);

	/* Seals. */
	fd = memfd("sealed", MFD_ALLOW_SEALING | MFD_EXEC);
	CHECK_EQ("no seals yet", fcntl(fd, F_GET_SEALS), 0);
	CHECK_EQ("write 8", write(fd, "abcdefgh", 8), 8);
	CHECK_ERR("unknown seal", fcntl(fd, F_ADD_SEALS, 0x100), EINVAL);
	CHECK_OK("F_SEAL_SHRINK", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
	CHECK_ERR("shrink", ftruncate(fd, 4), EPERM);
	CHECK_OK("grow", ftruncate(fd, 16));
	CHECK_OK("F_SEAL_GROW", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
	CHECK_ERR("grow sealed", ftruncate(fd, 32), EPERM);
	CHECK_OK("same size", ftruncate(fd, 16));
	CHECK_EQ("write inside", pwrite(fd, "XY", 2, 0), 2);
	CHECK_ERR("write past the end", pwrite(fd, "XY", 2, 16), EPERM);
	CHECK_EQ("lseek to the end", lseek(fd, 0, SEEK_END), 16);
	CHECK_ERR("write at the end", write(fd, "Z", 1), EPERM);
	char *w = mmap(NULL, 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK("shared writable mapping", w != MAP_FAILED);
	CHECK_ERR("F_SEAL_WRITE while mapped writable", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY);
	munmap(w, 16);
	char *r = mmap(NULL, 16, PROT_READ, MAP_SHARED, fd, 0);
	CHECK("shared read-only mapping", r != MAP_FAILED);
	/* A shared mapping of a writable fd may become writable (VM_MAYWRITE). */
	CHECK_ERR("F_SEAL_WRITE while mapped shared from a writable fd", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY);
	munmap(r, 16);
	CHECK_OK("F_SEAL_WRITE", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	r = mmap(NULL, 16, PROT_READ, MAP_SHARED, fd, 0);
	CHECK("shared read-only mapping after F_SEAL_WRITE", r != MAP_FAILED);
	CHECK_EQ("seals now", fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
	CHECK_ERR("write sealed", pwrite(fd, "Q", 1, 0), EPERM);
	struct iovec iov = { (void *)"Q", 1 };
	CHECK_ERR("writev sealed", pwritev(fd, &iov, 1, 0), EPERM);
	CHECK_ERR("mmap shared writable sealed", (long)mmap(NULL, 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EPERM);
	char *p = mmap(NULL, 16, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK("a private writable mapping still works", p != MAP_FAILED);
	CHECK_EQ("reads still work", pread(fd, buf, 3, 0), 3);
	CHECK_MEM("data", buf, "XYc", 3);
	if (r != MAP_FAILED)
		CHECK_MEM("the read-only mapping sees it", r, "XYc", 3);
	CHECK_OK("F_SEAL_SEAL", fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
	CHECK_ERR("no more seals", fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), EPERM);
	CHECK_ERR("not even none", fcntl(fd, F_ADD_SEALS, 0), EPERM);
	close(fd);

	fd = memfd("future", MFD_ALLOW_SEALING | MFD_EXEC);
	ftruncate(fd, 4096);
	w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK_OK("F_SEAL_FUTURE_WRITE over a writable mapping", fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	if (w != MAP_FAILED)
		w[0] = 'k'; /* the existing mapping stays writable */
	CHECK_ERR("write after F_SEAL_FUTURE_WRITE", write(fd, "a", 1), EPERM);
	CHECK_ERR("new writable mapping", (long)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EPERM);
	CHECK_EQ("the old mapping's store", (pread(fd, buf, 1, 0), buf[0]), 'k');
	CHECK_OK("shrinking is still allowed", ftruncate(fd, 0));
	close(fd);

	/* Sealing needs a writable file. */
	fd = memfd("ro", MFD_ALLOW_SEALING | MFD_EXEC);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	int ro = open(path, O_RDONLY);
	CHECK("reopen through /proc read-only", ro >= 0);
	CHECK_ERR("F_ADD_SEALS on a read-only fd", fcntl(ro, F_ADD_SEALS, F_SEAL_GROW), EPERM);
	CHECK_EQ("F_GET_SEALS on a read-only fd", fcntl(ro, F_GET_SEALS), 0);
	close(ro);
	CHECK_OK("F_SEAL_EXEC", fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC));
	CHECK_EQ("F_SEAL_EXEC of an executable memfd seals writes too", fcntl(fd, F_GET_SEALS),
		 F_SEAL_EXEC | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE);
	close(fd);
	T_DONE();
}
