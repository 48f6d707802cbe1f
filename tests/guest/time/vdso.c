/* The vDSO: AT_SYSINFO_EHDR names an ELF image whose LINUX_2.6 functions a small
 * lookup (as musl's src/internal/vdso.c does it) finds; they answer as the syscalls do,
 * in order with them, and fail as they do; /proc/self/maps shows [vdso]; an execve'd
 * program gets one too; munmap removes it. */
#include "../test.h"
#include <elf.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static const Elf64_Ehdr *ehdr;

/* The vDSO's function `name` of version `version`, or NULL. */
static void *vdso_sym(const char *name, const char *version)
{
	const Elf64_Phdr *ph = (const void *)((const char *)ehdr + ehdr->e_phoff);
	const Elf64_Dyn *dyn = NULL;
	long base = -1;
	for (int i = 0; i < ehdr->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && base == -1)
			base = (long)ehdr + (long)ph[i].p_offset - (long)ph[i].p_vaddr;
		else if (ph[i].p_type == PT_DYNAMIC)
			dyn = (const void *)((const char *)ehdr + ph[i].p_offset);
	}
	if (!dyn || base == -1)
		return NULL;
	const char *strings = NULL;
	const Elf64_Sym *syms = NULL;
	const Elf32_Word *hash = NULL;
	const Elf64_Half *versym = NULL;
	const Elf64_Verdef *verdef = NULL;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		void *p = (void *)(base + dyn->d_un.d_ptr);
		switch (dyn->d_tag) {
		case DT_STRTAB: strings = p; break;
		case DT_SYMTAB: syms = p; break;
		case DT_HASH: hash = p; break;
		case DT_VERSYM: versym = p; break;
		case DT_VERDEF: verdef = p; break;
		}
	}
	if (!strings || !syms || !hash || !versym || !verdef)
		return NULL;
	for (Elf32_Word i = 0; i < hash[1]; i++) {
		if (ELF64_ST_TYPE(syms[i].st_info) != STT_FUNC || syms[i].st_shndx == SHN_UNDEF)
			continue;
		if (strcmp(strings + syms[i].st_name, name))
			continue;
		for (const Elf64_Verdef *d = verdef;; d = (const void *)((const char *)d + d->vd_next)) {
			const Elf64_Verdaux *aux = (const void *)((const char *)d + d->vd_aux);
			if (!(d->vd_flags & VER_FLG_BASE) && (d->vd_ndx & 0x7fff) == (versym[i] & 0x7fff))
				return strcmp(strings + aux->vda_name, version) ? NULL : (void *)(base + syms[i].st_value);
			if (!d->vd_next)
				break;
		}
	}
	return NULL;
}

/* The [vdso] line of /proc/self/maps: its start and end, 0 when there is none. */
static int vdso_in_maps(unsigned long *start, unsigned long *end)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", start, end) == 2)
			found = 1;
	if (f)
		fclose(f);
	return found;
}

typedef long (*clock_fn)(clockid_t, struct timespec *);

/* What an execve'd copy of this program checks (argv[1] == "exec"). */
static int after_exec(void)
{
	clock_fn cgt = vdso_sym("__vdso_clock_gettime", "LINUX_2.6");
	struct timespec t;
	unsigned long s, e;
	CHECK("after execve: __vdso_clock_gettime found", cgt != NULL);
	CHECK("after execve: it answers", cgt && cgt(CLOCK_MONOTONIC, &t) == 0 && t.tv_nsec < 1000000000);
	CHECK("after execve: [vdso] in /proc/self/maps", vdso_in_maps(&s, &e));
	return t_failures;
}

int main(int argc, char **argv)
{
	T_BEGIN();
	ehdr = (const void *)getauxval(AT_SYSINFO_EHDR);
	CHECK("AT_SYSINFO_EHDR is set", ehdr != NULL);
	if (!ehdr)
		T_DONE();
	if (argc > 1 && !strcmp(argv[1], "exec"))
		return after_exec();
	CHECK_MEM("an ELF header", ehdr->e_ident, ELFMAG, SELFMAG);
	CHECK_EQ("ELFCLASS64", ehdr->e_ident[EI_CLASS], ELFCLASS64);
	CHECK_EQ("a shared object", ehdr->e_type, ET_DYN);
	CHECK_EQ("for x86_64", ehdr->e_machine, EM_X86_64);

	const char *names[] = { "__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu",
				"__vdso_clock_getres", "clock_gettime", "gettimeofday", "time", "getcpu", "clock_getres" };
	char what[96];
	for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
		snprintf(what, sizeof what, "%s@LINUX_2.6 found", names[i]);
		CHECK(what, vdso_sym(names[i], "LINUX_2.6") != NULL);
	}
	CHECK("no __vdso_clock_gettime@LINUX_2.5", vdso_sym("__vdso_clock_gettime", "LINUX_2.5") == NULL);

	clock_fn cgt = vdso_sym("__vdso_clock_gettime", "LINUX_2.6");
	clock_fn cgr = vdso_sym("__vdso_clock_getres", "LINUX_2.6");
	long (*gtod)(struct timeval *, struct timezone *) = vdso_sym("__vdso_gettimeofday", "LINUX_2.6");
	long (*vtime)(time_t *) = vdso_sym("__vdso_time", "LINUX_2.6");
	long (*vgetcpu)(unsigned *, unsigned *, void *) = vdso_sym("__vdso_getcpu", "LINUX_2.6");
	if (!cgt || !cgr || !gtod || !vtime || !vgetcpu)
		T_DONE();

	/* Reads through the vDSO and through the syscall, interleaved, are in order. */
	clockid_t ordered[] = { CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC_COARSE };
	const char *ordered_names[] = { "MONOTONIC", "BOOTTIME", "MONOTONIC_RAW", "MONOTONIC_COARSE" };
	for (unsigned c = 0; c < sizeof ordered / sizeof *ordered; c++) {
		struct timespec prev = { 0, 0 }, t;
		int in_order = 1, all_zero = 1;
		for (int i = 0; i < 200; i++) {
			long r = i % 2 ? syscall(SYS_clock_gettime, ordered[c], &t) : cgt(ordered[c], &t);
			if (r != 0 || ns(t) < ns(prev))
				in_order = 0;
			all_zero &= r == 0;
			prev = t;
		}
		snprintf(what, sizeof what, "CLOCK_%s: vDSO and syscall reads in order", ordered_names[c]);
		CHECK(what, in_order && all_zero);
	}

	/* Wall clocks: the vDSO's answer is the syscall's, give or take a moment. */
	struct timespec a, b;
	clockid_t wall[] = { CLOCK_REALTIME, CLOCK_REALTIME_COARSE, CLOCK_TAI };
	const char *wall_names[] = { "REALTIME", "REALTIME_COARSE", "TAI" };
	for (unsigned c = 0; c < sizeof wall / sizeof *wall; c++) {
		long r1 = cgt(wall[c], &a);
		long r2 = syscall(SYS_clock_gettime, wall[c], &b);
		snprintf(what, sizeof what, "CLOCK_%s: vDSO close to the syscall", wall_names[c]);
		CHECK(what, r1 == 0 && r2 == 0 && llabs(ns(a) - ns(b)) < 5000000000LL);
	}

	/* Clocks the vDSO passes to the syscall: the same answers and errors. */
	CHECK_EQ("CLOCK_PROCESS_CPUTIME_ID through the vDSO", cgt(CLOCK_PROCESS_CPUTIME_ID, &a), 0);
	CHECK("its value is a CPU time", a.tv_sec >= 0 && a.tv_nsec >= 0 && a.tv_nsec < 1000000000);
	CHECK_EQ("CLOCK_THREAD_CPUTIME_ID through the vDSO", cgt(CLOCK_THREAD_CPUTIME_ID, &a), 0);
	CHECK_EQ("an unknown clock id is -EINVAL", cgt(100, &a), -EINVAL);
	CHECK_EQ("clock id 31 is -EINVAL", cgt(31, &a), -EINVAL);
	CHECK_EQ("a negative clock id is -EINVAL", cgt(-1, &a), -EINVAL);
	CHECK_ERR("libc clock_gettime of an unknown clock", clock_gettime(100, &a), EINVAL);

	/* clock_getres: the syscall's answer for every clock. */
	clockid_t res_ids[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
				CLOCK_PROCESS_CPUTIME_ID };
	for (unsigned c = 0; c < sizeof res_ids / sizeof *res_ids; c++) {
		long r1 = cgr(res_ids[c], &a);
		long r2 = syscall(SYS_clock_getres, res_ids[c], &b);
		snprintf(what, sizeof what, "clock_getres(%d) through the vDSO is the syscall's", (int)res_ids[c]);
		CHECK(what, r1 == 0 && r2 == 0 && a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec);
	}
	CHECK_EQ("clock_getres with no buffer", cgr(CLOCK_MONOTONIC, NULL), 0);
	CHECK_EQ("clock_getres of an unknown clock is -EINVAL", cgr(100, &a), -EINVAL);

	/* gettimeofday: microseconds of the realtime clock; the timezone as the syscall gives it. */
	struct timeval tv;
	struct timezone tz = { 99, 99 }, tz_sys = { 77, 77 };
	CHECK_EQ("gettimeofday through the vDSO", gtod(&tv, &tz), 0);
	CHECK_OK("gettimeofday syscall", syscall(SYS_gettimeofday, NULL, &tz_sys));
	CHECK("the timezone is the syscall's", tz.tz_minuteswest == tz_sys.tz_minuteswest && tz.tz_dsttime == tz_sys.tz_dsttime);
	CHECK("microseconds in range", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	CHECK_OK("clock_gettime REALTIME", syscall(SYS_clock_gettime, CLOCK_REALTIME, &b));
	CHECK("gettimeofday close to the realtime clock", llabs(tv.tv_sec - b.tv_sec) < 5);
	CHECK_EQ("gettimeofday with no timeval", gtod(NULL, NULL), 0);

	/* time: seconds, in order with the syscall's. */
	time_t t1 = 0, t3 = 0;
	long r1 = vtime(&t1);
	long t2 = syscall(SYS_time, NULL);
	long r3 = vtime(NULL);
	t3 = r3;
	CHECK("time through the vDSO returns and stores the seconds", r1 == t1);
	CHECK("vDSO time, syscall time, vDSO time in order", t1 <= t2 && t2 <= t3);

	/* getcpu: a CPU this process may run on; the node as the syscall reports it. */
	unsigned cpu = 99999, node = 99999, node_sys = 88888;
	CHECK_EQ("getcpu through the vDSO", vgetcpu(&cpu, &node, NULL), 0);
	CHECK_OK("getcpu syscall", syscall(SYS_getcpu, NULL, &node_sys, NULL));
	CHECK("the CPU is an online one", cpu < (unsigned)sysconf(_SC_NPROCESSORS_CONF));
	CHECK("the node is the syscall's", node == node_sys);
	CHECK_EQ("getcpu with no arguments", vgetcpu(NULL, NULL, NULL), 0);

	/* /proc/self/maps names it, read-only and executable, where AT_SYSINFO_EHDR points. */
	unsigned long start = 0, end = 0;
	CHECK("[vdso] in /proc/self/maps", vdso_in_maps(&start, &end));
	CHECK("AT_SYSINFO_EHDR is the start of [vdso]", start == (unsigned long)ehdr);

	/* A program this one execs has a vDSO too. */
	pid_t pid = fork();
	if (pid == 0) {
		char *args[] = { argv[0], "exec", NULL };
		execv("/proc/self/exe", args);
		_exit(127);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	CHECK("the execve'd program's checks pass", WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* munmap takes it away, as any mapping (no clock call through libc after this). */
	CHECK_OK("munmap of the vDSO", munmap((void *)start, end - start));
	CHECK("no [vdso] in /proc/self/maps after munmap", !vdso_in_maps(&start, &end));
	T_DONE();
}
