/* prctl PR_SET_NAME/PR_GET_NAME and /proc/self/comm, set_tid_address, arch_prctl ARCH_GET_FS. */
#include "../test.h"
#include <stdint.h>
#include <sys/prctl.h>

#define T_ARCH_GET_FS 0x1003
#define T_ARCH_GET_GS 0x1004

static int tid_word;

int main(int argc, char **argv)
{
	(void)argc;
	T_BEGIN();
	char name[32], comm[64], want[16];
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	snprintf(want, sizeof want, "%s", base);

	CHECK_OK("PR_GET_NAME", prctl(PR_GET_NAME, name, 0, 0, 0));
	CHECK_STR("initial name is the program name (15 bytes max)", name, want);
	CHECK_OK("PR_SET_NAME", prctl(PR_SET_NAME, "guest-name", 0, 0, 0));
	memset(name, 0, sizeof name);
	prctl(PR_GET_NAME, name, 0, 0, 0);
	CHECK_STR("PR_GET_NAME round trip", name, "guest-name");
	t_read_file("/proc/self/comm", comm, sizeof comm);
	CHECK_STR("/proc/self/comm reflects the name", comm, "guest-name\n");
	prctl(PR_SET_NAME, "a-name-longer-than-sixteen-bytes", 0, 0, 0);
	prctl(PR_GET_NAME, name, 0, 0, 0);
	CHECK_STR("name truncated to 15 bytes", name, "a-name-longer-t");
	CHECK_ERR("prctl bad option -> EINVAL", prctl(0x7fff0000, 0, 0, 0, 0), EINVAL);
	CHECK_OK("PR_SET_PDEATHSIG", prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0));
	int sig = -1;
	CHECK_OK("PR_GET_PDEATHSIG", prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0));
	CHECK_EQ("pdeathsig 0", sig, 0);
	CHECK_EQ("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);

	CHECK_EQ("set_tid_address returns the tid", syscall(SYS_set_tid_address, &tid_word), syscall(SYS_gettid));

	uintptr_t fs = 0, self = 0;
	CHECK_OK("arch_prctl ARCH_GET_FS", syscall(SYS_arch_prctl, T_ARCH_GET_FS, &fs));
	__asm__ volatile("mov %%fs:0, %0" : "=r"(self));
	CHECK("ARCH_GET_FS is the TLS self pointer", fs != 0 && fs == self);
	CHECK_ERR("arch_prctl bad code -> EINVAL", syscall(SYS_arch_prctl, 0x9999, &fs), EINVAL);
	T_DONE();
}
