// expect: signal 11
/* Dereferencing NULL kills the process with SIGSEGV (no handler installed). */
#include "../test.h"

int main(void)
{
	T_BEGIN();
	printf("before the fault\n");
	fflush(stdout);
	volatile int *p = (volatile int *)0;
	*p = 1;
	printf("FAIL survived a NULL write\n");
	return 1;
}
