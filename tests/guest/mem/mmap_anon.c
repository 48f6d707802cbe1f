/* Anonymous mmap: private/shared, MAP_FIXED, MAP_FIXED_NOREPLACE, munmap, argument errors. */
#include "../test.h"
#include <stdint.h>
#include <sys/mman.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

int main(void)
{
	T_BEGIN();
	long page = sysconf(_SC_PAGESIZE);
	CHECK_EQ("page size", page, 4096);

	char *p = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK("mmap anonymous private", p != MAP_FAILED);
	CHECK_EQ("mmap result page aligned", (uintptr_t)p % page, 0);
	int zero = 1;
	for (long i = 0; i < 3 * page; i++)
		if (p[i])
			zero = 0;
	CHECK("anonymous memory is zeroed", zero);
	memset(p, 0x5a, 3 * page);
	CHECK_EQ("anonymous memory writable", p[3 * page - 1], 0x5a);

	char *s = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK("mmap anonymous shared", s != MAP_FAILED);
	strcpy(s, "shared");
	CHECK_STR("shared memory readable", s, "shared");

	/* MAP_FIXED replaces the middle page of p with a fresh zero page. */
	char *f = mmap(p + page, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK("MAP_FIXED returns the requested address", f == p + page);
	CHECK_EQ("MAP_FIXED page is fresh", f[0], 0);
	CHECK_EQ("neighbour page untouched", p[0], 0x5a);
	CHECK_EQ("neighbour page after untouched", p[2 * page], 0x5a);

	void *r = mmap(p + page, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CHECK_EQ("MAP_FIXED_NOREPLACE over a mapping fails", r == MAP_FAILED, 1);
	CHECK_EQ("MAP_FIXED_NOREPLACE errno EEXIST", errno, EEXIST);

	CHECK_OK("munmap middle page", munmap(p + page, page));
	r = mmap(p + page, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CHECK("MAP_FIXED_NOREPLACE into the hole", r == p + page);
	CHECK_OK("munmap all", munmap(p, 3 * page));
	CHECK_OK("munmap again (nothing mapped) succeeds", munmap(p, 3 * page));
	CHECK_ERR("munmap unaligned -> EINVAL", munmap(p + 1, page), EINVAL);
	CHECK_ERR("munmap length 0 -> EINVAL", munmap(p, 0), EINVAL);

	/* A hint without MAP_FIXED is only a hint but is honoured when free. */
	void *hint = (void *)0x200000000000UL;
	r = mmap(hint, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK("free hint address is used", r == hint);
	munmap(r, page);

#define RAW_MMAP(a, l, pr, fl, fd, o) syscall(SYS_mmap, a, l, pr, fl, fd, o)
	CHECK_ERR("mmap length 0 -> EINVAL", RAW_MMAP(0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
	CHECK_ERR("mmap neither private nor shared -> EINVAL", RAW_MMAP(0, page, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
	CHECK_ERR("mmap private and shared -> EINVAL", RAW_MMAP(0, page, PROT_READ, MAP_PRIVATE | MAP_SHARED | MAP_ANONYMOUS, -1, 0), EINVAL);
	CHECK_ERR("mmap unaligned offset -> EINVAL", RAW_MMAP(0, page, PROT_READ, MAP_PRIVATE, 0, 1), EINVAL);
	CHECK_ERR("mmap MAP_FIXED unaligned address -> EINVAL", RAW_MMAP(0x10001, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL);
	CHECK_ERR("mmap file-backed with bad fd -> EBADF", RAW_MMAP(0, page, PROT_READ, MAP_PRIVATE, 99, 0), EBADF);
	CHECK_ERR("mmap huge length -> ENOMEM", RAW_MMAP(0, (1UL << 62), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);

	/* MAP_NORESERVE sets no swap aside: a writable mapping far beyond memory
	 * and swap succeeds (sanitizers reserve their shadow memory so). */
	void *big = mmap(NULL, 1UL << 43, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK("MAP_NORESERVE of 8 TiB succeeds", big != MAP_FAILED);
	if (big != MAP_FAILED) {
		((char *)big)[(1UL << 43) - 1] = 1;
		CHECK("and its last page can be written", ((char *)big)[(1UL << 43) - 1] == 1);
		munmap(big, 1UL << 43);
	}

	T_DONE();
}
