/* getpid through the libc, 2,000 times: one syscall site run again and
 * again (tests/tests/rewrite.rs counts how many of those calls trapped). */
#include "../test.h"

int main(void)
{
	T_BEGIN();
	pid_t first = getpid(), differ = 0;
	for (int i = 0; i < 2000; i++)
		if (getpid() != first)
			differ++;
	CHECK_EQ("getpid is the same 2000 times", (long)differ, 0L);
	T_DONE();
}
