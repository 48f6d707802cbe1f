// expect: exit 42
/* exit_group(42) without returning from main: the process exit status must be 42. */
#include "../test.h"

int main(int argc, char **argv)
{
	(void)argv;
	T_BEGIN();
	printf("exiting with 42\n");
	fflush(stdout);
	if (argc == 1)
		syscall(SYS_exit_group, 42);
	printf("FAIL exit_group returned\n");
	return 1;
}
