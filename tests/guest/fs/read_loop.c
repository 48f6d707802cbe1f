/* read(2) through the C library 2,000 times from one call site: every
 * call returns its byte. (tests/tests/rewrite.rs counts the traps: glibc's
 * read is `xor %eax,%eax; syscall`, a site the runtime rewrites.) */
#include "../test.h"

int main(void)
{
	T_BEGIN();
	int fd = open("/dev/zero", O_RDONLY);
	CHECK("open /dev/zero", fd >= 0);
	long good = 0;
	for (int i = 0; i < 2000; i++) {
		char c = 1;
		if (read(fd, &c, 1) == 1 && c == 0)
			good++;
	}
	CHECK_EQ("every read returned one zero byte", good, 2000L);
	T_DONE();
}
