/* Code written at run time, as a JIT does: a `mov $nr,%eax; syscall; ret`
 * function in a read-write-execute mapping is called several times (the
 * runtime may rewrite its site after the first call), then written over
 * with another call number and called again: the new code's call runs. */
#include "../test.h"
#include <stdint.h>
#include <sys/mman.h>

typedef long (*fn_t)(void);

/* Writes `mov $nr,%eax; syscall; ret` at `code` + 16, after nops. */
static fn_t emit(uint8_t *code, uint32_t nr)
{
	memset(code, 0x90, 16);
	uint8_t *f = code + 16;
	f[0] = 0xb8;
	memcpy(f + 1, &nr, 4);
	f[5] = 0x0f;
	f[6] = 0x05;
	f[7] = 0xc3;
	return (fn_t)(uintptr_t)f;
}

int main(void)
{
	T_BEGIN();
	uint8_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK("mmap rwx", code != MAP_FAILED);
	if (code == MAP_FAILED)
		T_DONE();
	fn_t f = emit(code, SYS_getpid);
	int same = 0;
	for (int i = 0; i < 5; i++)
		same += f() == getpid();
	CHECK_EQ("the generated getpid runs 5 times", same, 5);
	f = emit(code, SYS_getppid);
	same = 0;
	for (int i = 0; i < 5; i++)
		same += f() == getppid();
	CHECK_EQ("written over: the new code's getppid runs 5 times", same, 5);
	f = emit(code, SYS_getuid);
	CHECK_EQ("written over again: getuid", f(), (long)getuid());
	T_DONE();
}
