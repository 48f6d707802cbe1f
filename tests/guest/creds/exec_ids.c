/* execve keeps the ids a task set; a set-user-id / set-group-id file changes the effective
 * and saved ids and sets AT_SECURE; root keeps full capabilities across exec, a non-root
 * user gets none. */
#include "creds.h"
#include <sys/auxv.h>
#include <sys/prctl.h>

static char self[4096];

/* The program run again as a probe: prints what it runs as. */
static int probe(void)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;
	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	printf("probe: uid %u %u %u gid %u %u %u secure %lu auxv uid %lu euid %lu gid %lu egid %lu\n", r, e, s, gr, ge, gs,
	       getauxval(AT_SECURE), getauxval(AT_UID), getauxval(AT_EUID), getauxval(AT_GID), getauxval(AT_EGID));
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) || !strncmp(line, "CapPrm:", 7) ||
		    !strncmp(line, "CapEff:", 7) || !strncmp(line, "NoNewPrivs:", 11))
			printf("probe: %s", line);
	if (f)
		fclose(f);
	fflush(stdout);
	return 0;
}

static void run_probe(const char *path, const char *what)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execl(path, path, "probe", (char *)NULL);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(what, WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void as_root(void) { run_probe(self, "exec as root"); }

static void after_setuid(void)
{
	CHECK_OK("setgroups(0)", setgroups(0, NULL));
	CHECK_OK("setresgid(100, 200, 300)", syscall(SYS_setresgid, 100, 200, 300));
	CHECK_OK("setresuid(1000, 2000, 3000)", syscall(SYS_setresuid, 1000, 2000, 3000));
	run_probe(self, "exec after setresuid");
}

static void setuid_file(void)
{
	CHECK_OK("setresgid(100,100,100)", syscall(SYS_setresgid, 100, 100, 100));
	CHECK_OK("setresuid(1000,1000,1000)", syscall(SYS_setresuid, 1000, 1000, 1000));
	run_probe("./suid", "exec of a set-user-id file");
	run_probe("./sgid", "exec of a set-group-id file");
	run_probe("./sgid-noexec", "set-group-id without group execute is ignored");
}

static void no_new_privs(void)
{
	CHECK_EQ("PR_GET_NO_NEW_PRIVS is 0", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
	CHECK_ERR("PR_SET_NO_NEW_PRIVS 2 -> EINVAL", prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0), EINVAL);
	CHECK_OK("PR_SET_NO_NEW_PRIVS 1", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	CHECK_EQ("PR_GET_NO_NEW_PRIVS is 1", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
	CHECK_OK("setresuid(1000,1000,1000)", syscall(SYS_setresuid, 1000, 1000, 1000));
	run_probe("./suid", "a set-user-id file under no_new_privs runs as the caller");
}

/* <linux/capability.h>, spelled out so musl builds need no kernel headers. */
struct cap_header {
	unsigned version;
	int pid;
};
struct cap_data {
	unsigned effective, permitted, inheritable;
};

static void ambient(void)
{
	struct cap_header h = {0x20080522, 0};
	struct cap_data d[2] = {{0}};
	const unsigned net_raw = 1u << 13;
	CHECK_OK("PR_SET_KEEPCAPS", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
	CHECK_OK("setresuid(1000,1000,1000)", syscall(SYS_setresuid, 1000, 1000, 1000));
	d[0].permitted = d[0].inheritable = d[0].effective = net_raw;
	CHECK_OK("capset CAP_NET_RAW permitted and inheritable", syscall(SYS_capset, &h, d));
	CHECK_OK("raise it into the ambient set", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 13, 0, 0));
	run_probe(self, "a non-root exec keeps the ambient capability");
}

static int copy(const char *to, uid_t uid, gid_t gid, mode_t mode)
{
	int in = open(self, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	char buf[65536];
	ssize_t n;
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, n) != n)
			return -1;
	close(in);
	close(out);
	if (chown(to, uid, gid) != 0)
		return -1;
	return chmod(to, mode);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "probe"))
		return probe();
	T_BEGIN();
	if (!creds_need_root())
		T_DONE();
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	CHECK("readlink /proc/self/exe", n > 0);
	self[n > 0 ? n : 0] = 0;
	t_tmpdir_begin();
	chmod(".", 0755);
	CHECK_OK("a set-user-id copy owned by 2000", copy("suid", 2000, 0, 04755));
	CHECK_OK("a set-group-id copy of group 300", copy("sgid", 0, 300, 02755));
	CHECK_OK("a set-group-id copy without group execute", copy("sgid-noexec", 0, 300, 02745));
	in_child("root", as_root);
	in_child("after setuid", after_setuid);
	in_child("set-id files", setuid_file);
	in_child("no_new_privs", no_new_privs);
	in_child("ambient", ambient);
	t_tmpdir_end();
	T_DONE();
}
