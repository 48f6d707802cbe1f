/* brk via raw syscall: query, grow, write, shrink, and a request below the start fails.
 * All brk work happens before anything is printed: stdio's first malloc may itself move
 * the break, and shrinking under malloc's feet would corrupt its heap. */
#include "../test.h"
#include <stdint.h>

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t cur = syscall(SYS_brk, 0);
	uintptr_t again = syscall(SYS_brk, 0);
	uintptr_t want = cur + 16 * page;
	uintptr_t grown = syscall(SYS_brk, want);
	char *mem = (char *)cur;
	int last = -1, after_shrink_data = -1, regrown_zero = -1;
	uintptr_t reported = 0, shrunk = 0, regrown = 0, below = 0, back = 0;
	if (grown == want) {
		memset(mem, 0x11, 16 * page);
		last = mem[16 * page - 1];
		reported = syscall(SYS_brk, 0);
		shrunk = syscall(SYS_brk, cur + 4 * page + 123);
		regrown = syscall(SYS_brk, cur + 8 * page);
		regrown_zero = mem[6 * page];
		after_shrink_data = mem[page];
		below = syscall(SYS_brk, 4096);
		back = syscall(SYS_brk, cur);
	}

	T_BEGIN();
	CHECK("brk(0) returns the current break", cur != 0);
	CHECK_EQ("brk(0) is stable", again, cur);
	CHECK_EQ("brk grows", grown, want);
	CHECK_EQ("new break memory is writable", last, 0x11);
	CHECK_EQ("brk(0) reports the new break", reported, want);
	CHECK_EQ("brk shrinks to an unaligned value", shrunk, cur + 4 * page + 123);
	CHECK_EQ("brk regrows", regrown, cur + 8 * page);
	CHECK_EQ("regrown memory is zero", regrown_zero, 0);
	CHECK_EQ("kept memory keeps data", after_shrink_data, 0x11);
	CHECK_EQ("brk below start leaves the break", below, cur + 8 * page);
	CHECK_EQ("brk back to start", back, cur);
	void *m = malloc(1 << 20);
	void *s = malloc(64);
	CHECK("malloc still works", m != NULL && s != NULL);
	free(m);
	free(s);
	T_DONE();
}
