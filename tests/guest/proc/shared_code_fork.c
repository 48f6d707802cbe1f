/* Code in a shared anonymous mapping that a fork child and its parent both
 * run: the child calls a generated `mov $nr,%eax; syscall; ret` function
 * several times, then the parent does. Both get their own answers (a
 * rewrite of the shared code by one process must not send the other into
 * memory it does not have). */
#include "../test.h"
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

typedef long (*fn_t)(void);

int main(void)
{
	T_BEGIN();
	uint8_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK("mmap shared rwx", code != MAP_FAILED);
	if (code == MAP_FAILED)
		T_DONE();
	memset(code, 0x90, 16);
	uint8_t *f = code + 16;
	uint32_t nr = SYS_getpid;
	f[0] = 0xb8;
	memcpy(f + 1, &nr, 4);
	f[5] = 0x0f;
	f[6] = 0x05;
	f[7] = 0xc3;
	fn_t fn = (fn_t)(uintptr_t)f;
	pid_t child = fork();
	if (child == 0) {
		int same = 0;
		for (int i = 0; i < 5; i++)
			same += fn() == getpid();
		_exit(same == 5 ? 0 : 1);
	}
	int st = -1;
	CHECK_EQ("waitpid", waitpid(child, &st, 0), child);
	CHECK("the child's calls returned its pid", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	int same = 0;
	for (int i = 0; i < 5; i++)
		same += fn() == getpid();
	CHECK_EQ("then the parent's return its pid", same, 5);
	T_DONE();
}
