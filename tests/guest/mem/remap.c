/* mprotect, mremap (shrink, grow in place, MREMAP_MAYMOVE, MREMAP_FIXED), madvise, mincore. */
#include "../test.h"
#include <sys/mman.h>

int main(void)
{
	T_BEGIN();
	long page = sysconf(_SC_PAGESIZE);

	/* Work inside a private reservation so unmapping neighbours never hits libc's memory. */
	char *res = mmap(NULL, 16 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p = mmap(res, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK("MAP_FIXED inside a PROT_NONE reservation", p == res);
	memset(p, 'x', 4 * page);
	CHECK_OK("mprotect read-only", mprotect(p, page, PROT_READ));
	CHECK_EQ("read-only page still readable", p[0], 'x');
	CHECK_OK("mprotect back to read-write", mprotect(p, page, PROT_READ | PROT_WRITE));
	p[0] = 'y';
	CHECK_EQ("writable again", p[0], 'y');
	CHECK_OK("mprotect PROT_NONE", mprotect(p + page, page, PROT_NONE));
	CHECK_OK("mprotect restore", mprotect(p + page, page, PROT_READ | PROT_WRITE));
	CHECK_EQ("contents kept across PROT_NONE", p[page], 'x');
	CHECK_ERR("mprotect unaligned -> EINVAL", syscall(SYS_mprotect, p + 1, page, PROT_READ), EINVAL);
	CHECK_ERR("mprotect bad prot -> EINVAL", syscall(SYS_mprotect, p, page, 0x100), EINVAL);

	unsigned char vec[4];
	CHECK_OK("mincore", mincore(p, 4 * page, vec));
	CHECK_EQ("touched pages resident", (vec[0] & 1) + (vec[1] & 1) + (vec[2] & 1) + (vec[3] & 1), 4);
	CHECK_ERR("mincore unaligned -> EINVAL", syscall(SYS_mincore, p + 1, page, vec), EINVAL);

	CHECK_OK("madvise MADV_DONTNEED", madvise(p + 2 * page, page, MADV_DONTNEED));
	CHECK_EQ("MADV_DONTNEED zeroes private anon memory", p[2 * page], 0);
	CHECK_EQ("neighbour untouched", p[3 * page], 'x');
	CHECK_OK("madvise MADV_WILLNEED", madvise(p, page, MADV_WILLNEED));
	CHECK_OK("madvise MADV_NORMAL", madvise(p, page, MADV_NORMAL));
	CHECK_ERR("madvise bad advice -> EINVAL", syscall(SYS_madvise, p, page, 12345), EINVAL);
	CHECK_ERR("madvise unaligned -> EINVAL", syscall(SYS_madvise, p + 1, page, MADV_NORMAL), EINVAL);

	char *q = mremap(p, 4 * page, 2 * page, 0);
	CHECK("mremap shrink in place", q == p);
	/* Grow in place: make sure the pages after it are free first. */
	munmap(p + 2 * page, 6 * page);
	q = mremap(p, 2 * page, 4 * page, 0);
	CHECK("mremap grow in place", q == p);
	CHECK_EQ("old contents kept", q[page], 'x');
	CHECK_EQ("new part zero", q[3 * page], 0);

	/* Block growth in place with a neighbour mapping, then MAYMOVE must move. */
	void *block = mmap(p + 4 * page, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK("neighbour mapping placed", block == p + 4 * page);
	void *r = mremap(p, 4 * page, 8 * page, 0);
	CHECK_EQ("mremap grow blocked without MAYMOVE fails", r == MAP_FAILED, 1);
	CHECK_EQ("errno ENOMEM", errno, ENOMEM);
	q = mremap(p, 4 * page, 8 * page, MREMAP_MAYMOVE);
	CHECK("mremap MREMAP_MAYMOVE", q != MAP_FAILED);
	CHECK("mapping moved", q != p);
	CHECK_EQ("moved contents kept", q[0], 'y');
	CHECK_EQ("moved contents kept 2", q[page], 'x');
	q[8 * page - 1] = 'z';
	CHECK_EQ("grown part writable", q[8 * page - 1], 'z');
	unsigned char v1;
	CHECK_ERR("old address unmapped after move", syscall(SYS_mincore, p, page, &v1), ENOMEM);

	char *target = mmap(NULL, 8 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *fx = mremap(q, 8 * page, 8 * page, MREMAP_MAYMOVE | MREMAP_FIXED, target);
	CHECK("mremap MREMAP_FIXED to chosen address", fx == target);
	CHECK_EQ("contents at fixed target", fx[0], 'y');
	CHECK_ERR("MREMAP_FIXED without MAYMOVE -> EINVAL", syscall(SYS_mremap, fx, page, page, MREMAP_FIXED, q), EINVAL);
	CHECK_ERR("mremap unaligned -> EINVAL", syscall(SYS_mremap, fx + 1, page, page, 0), EINVAL);
	CHECK_ERR("mremap bad flags -> EINVAL", syscall(SYS_mremap, fx, page, page, 0x80), EINVAL);
	CHECK_ERR("mremap new size 0 -> EINVAL", syscall(SYS_mremap, fx, page, 0, 0), EINVAL);
	char *gone = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(gone, page);
	CHECK_ERR("mremap unmapped -> EFAULT", syscall(SYS_mremap, gone, page, 2 * page, MREMAP_MAYMOVE), EFAULT);
	munmap(fx, 8 * page);
	munmap(res, 16 * page);

	T_DONE();
}
