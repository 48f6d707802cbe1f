/*
 * Guest memory that the guest's map calls mapped but whose access faults in
 * hardware: the page of a file mapping beyond the file's end (SIGBUS when
 * touched from user code). A system call given such a buffer fails with
 * EFAULT on Linux (the kernel's exception table fixes up its copy); under
 * MacTux the runtime's copy faults the same way inside its own handler and
 * must fix itself up too, never die. Raw syscalls only: libc wrappers (vDSO
 * clock_gettime, musl's fstat via statx) would touch the page themselves.
 * The same fixup is what keeps the runtime alive when another thread
 * unmaps a buffer during a call (mem/unmap_race.c).
 */
#include "../test.h"
#include <sys/mman.h>
#include <signal.h>
#include <sys/uio.h>
#include <time.h>

int main(void)
{
	T_BEGIN();
	t_tmpdir_begin();
	long page = sysconf(_SC_PAGESIZE);

	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK_OK("ftruncate to one page", ftruncate(fd, page));
	char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK("map two pages of a one-page file", m != MAP_FAILED);
	char *bad = m + page; /* beyond EOF: SIGBUS when touched */
	char *edge = bad - 8; /* 8 good bytes, then the bad page */

	int p[2];
	CHECK_OK("pipe", pipe(p));
	int zero = open("/dev/zero", O_RDONLY);
	CHECK("open /dev/zero", zero >= 0);

	/* The runtime copies into guest memory itself. */
	CHECK_ERR("clock_gettime into it -> EFAULT", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, bad), EFAULT);
	CHECK_ERR("uname into it -> EFAULT", syscall(SYS_uname, bad), EFAULT);
	CHECK_ERR("fstat into it -> EFAULT", syscall(SYS_fstat, fd, bad), EFAULT);
	CHECK_ERR("read /dev/zero into it -> EFAULT", syscall(SYS_read, zero, bad, 64), EFAULT);
	CHECK_ERR("getrandom into it -> EFAULT", syscall(SYS_getrandom, bad, 16, 0), EFAULT);
	CHECK_ERR("readlink /proc/self/exe into it -> EFAULT", syscall(SYS_readlink, "/proc/self/exe", bad, 64), EFAULT);
	CHECK_ERR("getcwd into it -> EFAULT", syscall(SYS_getcwd, bad, 256), EFAULT);
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	CHECK_ERR("getdents64 into it -> EFAULT", syscall(SYS_getdents64, dfd, bad, 4096), EFAULT);
	/* ... and reads guest memory itself. */
	CHECK_ERR("nanosleep from it -> EFAULT", syscall(SYS_nanosleep, bad, NULL), EFAULT);
	CHECK_ERR("openat of a path in it -> EFAULT", syscall(SYS_openat, AT_FDCWD, bad, O_RDONLY), EFAULT);
	CHECK_ERR("rt_sigprocmask from it -> EFAULT", syscall(SYS_rt_sigprocmask, SIG_BLOCK, bad, NULL, 8), EFAULT);
	struct iovec iov = { bad, 8 };
	CHECK_ERR("writev from it -> EFAULT", syscall(SYS_writev, p[1], &iov, 1), EFAULT);
	/* A path that starts in good memory and runs into the bad page. */
	memset(edge, 'a', 8);
	CHECK_ERR("path running into it -> EFAULT", syscall(SYS_openat, AT_FDCWD, edge, O_RDONLY), EFAULT);

	/* Host I/O on it: the host kernel checks the buffer. */
	CHECK_EQ("pipe write", write(p[1], "data", 4), 4);
	CHECK_ERR("read from a pipe into it -> EFAULT", syscall(SYS_read, p[0], bad, 4), EFAULT);
	char got[5] = { 0 };
	CHECK_EQ("the pipe kept its data", read(p[0], got, 4), 4);
	CHECK_STR("pipe data intact", got, "data");
	CHECK_ERR("write to a pipe from it -> EFAULT", syscall(SYS_write, p[1], bad, 4), EFAULT);
	CHECK_ERR("pread into it -> EFAULT", syscall(SYS_pread64, fd, bad, 16, 0), EFAULT);

	/* The good page and the process are fine afterwards. */
	memcpy(m, "still", 6);
	CHECK_STR("the good page still works", m, "still");
	struct timespec ts;
	CHECK_OK("clock_gettime into a good buffer", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts));

	munmap(m, 2 * page);
	close(fd);
	close(dfd);
	t_tmpdir_end();
	T_DONE();
}
