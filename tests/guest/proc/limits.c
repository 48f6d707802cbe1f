/* getrlimit/setrlimit/prlimit64, getrusage, sysinfo. */
#include "../test.h"
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>

int main(void)
{
	T_BEGIN();
	struct rlimit rl, back;
	CHECK_OK("getrlimit NOFILE", getrlimit(RLIMIT_NOFILE, &rl));
	CHECK("soft <= hard", rl.rlim_cur <= rl.rlim_max);
	CHECK("soft NOFILE >= 64", rl.rlim_cur >= 64);
	struct rlimit low = { 64, rl.rlim_max };
	CHECK_OK("setrlimit lower soft NOFILE", setrlimit(RLIMIT_NOFILE, &low));
	getrlimit(RLIMIT_NOFILE, &back);
	CHECK_EQ("soft NOFILE read back", back.rlim_cur, 64);
	CHECK_EQ("hard NOFILE unchanged", back.rlim_max, rl.rlim_max);
	CHECK_ERR("dup2 beyond soft NOFILE -> EBADF", dup2(1, 100), EBADF);
	CHECK_ERR("F_DUPFD beyond soft NOFILE -> EINVAL", fcntl(1, F_DUPFD, 100), EINVAL);
	static struct pollfd many[65];
	for (int i = 0; i < 65; i++)
		many[i] = (struct pollfd){ .fd = -1 };
	CHECK_EQ("poll of soft NOFILE entries", poll(many, 64, 0), 0);
	CHECK_ERR("poll of more than soft NOFILE -> EINVAL", poll(many, 65, 0), EINVAL);
	struct rlimit bad = { rl.rlim_max, 10 };
	if (rl.rlim_max > 10)
		CHECK_ERR("setrlimit soft > hard -> EINVAL", setrlimit(RLIMIT_NOFILE, &bad), EINVAL);
	else
		t_ok("setrlimit soft > hard -> EINVAL");

	struct rlimit old, nl = { 128, rl.rlim_max };
	CHECK_OK("prlimit64 set and get old", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &nl, &old));
	CHECK_EQ("prlimit64 old soft", old.rlim_cur, 64);
	CHECK_OK("prlimit64 get only", syscall(SYS_prlimit64, getpid(), RLIMIT_NOFILE, NULL, &old));
	CHECK_EQ("prlimit64 new soft", old.rlim_cur, 128);
	CHECK_ERR("prlimit64 bad resource -> EINVAL", syscall(SYS_prlimit64, 0, 999, NULL, &old), EINVAL);
	CHECK_ERR("getrlimit bad resource -> EINVAL", syscall(SYS_getrlimit, 999, &old), EINVAL);
	setrlimit(RLIMIT_NOFILE, &rl);

	/* RLIMIT_AS bounds the mappings a process may add. */
	struct rlimit as_old, as_low;
	CHECK_OK("getrlimit AS", getrlimit(RLIMIT_AS, &as_old));
	as_low.rlim_cur = 256UL << 20;
	as_low.rlim_max = as_old.rlim_max;
	CHECK_OK("setrlimit AS to 256 MiB", setrlimit(RLIMIT_AS, &as_low));
	void *big = mmap(NULL, 512UL << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK("mmap of 512 MiB beyond RLIMIT_AS fails", big == MAP_FAILED);
	CHECK_EQ("with ENOMEM", errno, ENOMEM);
	void *small = mmap(NULL, 16UL << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK("mmap of 16 MiB within it succeeds", small != MAP_FAILED);
	CHECK("brk growth beyond it fails", sbrk(512L << 20) == (void *)-1);
	munmap(small, 16UL << 20);
	CHECK_OK("setrlimit AS back", setrlimit(RLIMIT_AS, &as_old));
	big = mmap(NULL, 512UL << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK("the same mmap succeeds again", big != MAP_FAILED);
	munmap(big, 512UL << 20);

	/* wait4 reports the child's whole resource usage. */
	pid_t child = fork();
	if (child == 0) {
		volatile char *m = malloc(32 << 20); /* volatile: the stores must happen */
		for (int i = 0; m && i < (32 << 20); i += 4096)
			m[i] = 1;
		_exit(0);
	}
	struct rusage cru;
	int st;
	CHECK_EQ("wait4 with rusage", wait4(child, &st, 0, &cru), child);
	/* Half of it: Linux counts RSS lazily (per-CPU counters), so the peak may lag. */
	CHECK("the child's peak RSS covers much of the 32 MiB it touched", cru.ru_maxrss >= 16 * 1024);
	CHECK("and its page faults are counted", cru.ru_minflt >= 4096);

	CHECK_OK("getrlimit STACK", getrlimit(RLIMIT_STACK, &rl));
	CHECK("stack limit >= 1MiB", rl.rlim_cur >= (1 << 20));
	CHECK_OK("getrlimit AS", getrlimit(RLIMIT_AS, &rl));
	CHECK_OK("getrlimit CORE", getrlimit(RLIMIT_CORE, &rl));

	struct rusage ru;
	volatile unsigned long spin = 0;
	for (unsigned long i = 0; i < 20000000; i++)
		spin += i;
	CHECK_OK("getrusage SELF", getrusage(RUSAGE_SELF, &ru));
	CHECK("some user or system time used", ru.ru_utime.tv_sec + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec > 0);
	CHECK("maxrss positive", ru.ru_maxrss > 0);
	CHECK_OK("getrusage CHILDREN", getrusage(RUSAGE_CHILDREN, &ru));
	CHECK_OK("getrusage THREAD", getrusage(RUSAGE_THREAD, &ru));
	CHECK_ERR("getrusage bad who -> EINVAL", syscall(SYS_getrusage, 42, &ru), EINVAL);

	struct sysinfo si;
	CHECK_OK("sysinfo", sysinfo(&si));
	CHECK("uptime positive", si.uptime > 0);
	CHECK("totalram positive", si.totalram > 0);
	CHECK("freeram <= totalram", si.freeram <= si.totalram);
	CHECK("mem_unit positive", si.mem_unit > 0);
	CHECK("procs positive", si.procs > 0);
	T_DONE();
}
