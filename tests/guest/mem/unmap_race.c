/*
 * One thread keeps unmapping, remapping and protecting a buffer while
 * another passes it to system calls that copy into or out of it. On Linux
 * every such call either succeeds or fails with EFAULT (the kernel's
 * exception table catches the fault in its copy); the process never dies.
 * Under MacTux the copies are the runtime's own, inside its signal handler:
 * without the exception-table fixup the first copy that meets a protected
 * or unmapped page kills the whole process with SIGSEGV. Only counts are
 * printed, never which call got which result, so the output is
 * deterministic.
 */
#include "../test.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>

#define ITERATIONS 2000
/* Big enough that filling it takes a while: the copy is then likely to be
 * running when the mutator strikes. */
#define BUF_PAGES 256

static char *buf;
static long buf_len;
static atomic_int done;
static long mutations;

/* Unmap and map again at the same address, protect and unprotect, move
 * away and back with mremap: every way the buffer can vanish under a call. */
static void *mutator(void *arg)
{
	(void)arg;
	for (unsigned i = 0; !atomic_load(&done); i++) {
		switch (i % 3) {
		case 0:
			munmap(buf, buf_len);
			/* The hole is free only for a moment; if anything else took
			 * it (the runtime refuses to be replaced), try again later. */
			while (mmap(buf, buf_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) == MAP_FAILED &&
			       !atomic_load(&done))
				sched_yield();
			break;
		case 1:
			mprotect(buf, buf_len, PROT_NONE);
			sched_yield();
			mprotect(buf, buf_len, PROT_READ | PROT_WRITE);
			break;
		case 2:
			mprotect(buf + buf_len / 2, buf_len / 2, PROT_READ);
			sched_yield();
			mprotect(buf + buf_len / 2, buf_len / 2, PROT_READ | PROT_WRITE);
			break;
		}
		mutations++;
	}
	return NULL;
}

static long unexpected;

/* A call's result: success, EFAULT or `also` (EAGAIN from a pipe a failed
 * write left empty), nothing else. */
static void expect_or(long r, const char *what, int also)
{
	if (r < 0 && errno != EFAULT && errno != also) {
		if (unexpected++ < 5)
			printf("FAIL %s: errno %d\n", what, errno);
	}
}

static void expect(long r, const char *what)
{
	expect_or(r, what, EFAULT);
}

int main(void)
{
	T_BEGIN();
	long page = sysconf(_SC_PAGESIZE);
	buf_len = BUF_PAGES * page;
	buf = mmap(NULL, buf_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK("map the buffer", buf != MAP_FAILED);

	int p[2];
	CHECK_OK("pipe", pipe2(p, O_NONBLOCK));
	int zero = open("/dev/zero", O_RDONLY);
	int null = open("/dev/null", O_WRONLY);
	int dir = open("/", O_RDONLY | O_DIRECTORY);
	CHECK("open /dev/zero, /dev/null and /", zero >= 0 && null >= 0 && dir >= 0);

	pthread_t t;
	int rc = pthread_create(&t, NULL, mutator, NULL);
	CHECK_EQ("pthread_create", rc, 0);
	if (rc != 0)
		T_DONE();

	char *mid = buf + buf_len / 2 - 8; /* straddles the half the mutator protects */
	for (int i = 0; i < ITERATIONS; i++) {
		struct iovec iov[2] = { { buf, 16 }, { mid, 16 } };
		(void)!write(p[1], "0123456789abcdef", 16);
		expect_or(syscall(SYS_read, p[0], mid, 16), "read from a pipe", EAGAIN);
		expect(syscall(SYS_read, zero, buf, buf_len), "read /dev/zero");
		int maps = open("/proc/self/maps", O_RDONLY);
		expect(syscall(SYS_read, maps, buf + buf_len / 2 - 64, 4096), "read /proc/self/maps");
		close(maps);
		expect(syscall(SYS_write, null, mid, 64), "write /dev/null");
		expect(syscall(SYS_write, p[1], mid, 16), "write to a pipe");
		expect_or(syscall(SYS_readv, p[0], iov, 2), "readv from a pipe", EAGAIN);
		expect(syscall(SYS_readlink, "/proc/self/exe", mid, 64), "readlink /proc/self/exe");
		expect(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, mid), "clock_gettime");
		expect(syscall(SYS_uname, buf), "uname");
		expect(syscall(SYS_fstat, zero, mid), "fstat");
		expect(syscall(SYS_getrandom, mid, 32, 0), "getrandom");
		expect(syscall(SYS_getcwd, mid, 64), "getcwd");
		lseek(dir, 0, SEEK_SET);
		expect(syscall(SYS_getdents64, dir, mid, 256), "getdents64");
		/* Drain what the EFAULTs left in the pipe (the buffer is ours). */
		char sink[256];
		while (read(p[0], sink, sizeof sink) > 0)
			;
	}
	atomic_store(&done, 1);
	pthread_join(t, NULL);
	CHECK_EQ("calls gave only success, EFAULT or EAGAIN", unexpected, 0);
	CHECK("the buffer changed under the calls", mutations > 0);
	T_DONE();
}
