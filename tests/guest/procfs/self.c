/* /proc/self: maps, cmdline, environ, fd/, exe, stat, status, cwd, ns/. Only booleans are printed. */
#include "../test.h"
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/wait.h>

static char big[1 << 16];

int main(int argc, char **argv)
{
	T_BEGIN();
	char exe[512], link[512], path[600], base[64];
	const char *slash = strrchr(argv[0], '/');
	snprintf(base, sizeof base, "/%s", slash ? slash + 1 : argv[0]);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	CHECK("readlink /proc/self/exe", n > 0);
	exe[n > 0 ? n : 0] = 0;
	CHECK("exe is absolute", exe[0] == '/');
	CHECK("exe ends with the program name", strlen(exe) > strlen(base) && !strcmp(exe + strlen(exe) - strlen(base), base));
	struct stat a, b;
	CHECK("exe names this program's file", stat(exe, &a) == 0 && stat("/proc/self/exe", &b) == 0 && a.st_ino == b.st_ino);

	CHECK("read /proc/self/maps", t_read_file("/proc/self/maps", big, sizeof big) > 0);
	CHECK("maps has [stack]", strstr(big, "[stack]\n") != NULL);
	snprintf(path, sizeof path, " %s\n", exe);
	CHECK("maps has a line for the binary", strstr(big, path) != NULL);
	CHECK("maps lines have r-xp or r--p", strstr(big, " r-xp ") != NULL && strstr(big, " r--p ") != NULL);

	ssize_t len = t_read_file("/proc/self/cmdline", big, sizeof big);
	ssize_t want = 0;
	for (int i = 0; i < argc; i++)
		want += strlen(argv[i]) + 1;
	CHECK_EQ("cmdline length", len, want);
	int same = 1;
	char *p = big;
	for (int i = 0; i < argc && same; i++) {
		if (strcmp(p, argv[i]) != 0)
			same = 0;
		p += strlen(p) + 1;
	}
	CHECK("cmdline equals argv", same);

	len = t_read_file("/proc/self/environ", big, sizeof big);
	CHECK("read /proc/self/environ", len >= 0);
	int has_path = 0;
	for (char *e = big; e < big + len; e += strlen(e) + 1)
		if (!strncmp(e, "PATH=", 5))
			has_path = 1;
	CHECK_EQ("environ has PATH= iff the environment does", has_path, getenv("PATH") != NULL);

	int fd = open("/etc/passwd", O_RDONLY);
	DIR *d = opendir("/proc/self/fd");
	CHECK("opendir /proc/self/fd", d != NULL);
	int seen[4] = { 0 }, seen_fd = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		int v = atoi(e->d_name);
		if (!strcmp(e->d_name, "0") || (v > 0 && v < 3))
			seen[v] = 1;
		if (v == fd)
			seen_fd = 1;
	}
	if (d)
		closedir(d);
	CHECK("fd/ lists 0 1 2", seen[0] && seen[1] && seen[2]);
	CHECK("fd/ lists the opened file", seen_fd);
	t_fd_link(fd, link, sizeof link);
	CHECK_STR("fd link names the file", link, "/etc/passwd");
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	int fd2 = open(path, O_RDONLY);
	CHECK("open through /proc/self/fd/N", fd2 >= 0);
	CHECK("reopened fd reads the file", fd2 >= 0 && read(fd2, link, 4) == 4 && !strncmp(link, "root", 4));
	close(fd2);
	close(fd);
	snprintf(path, sizeof path, "/proc/%d/exe", getpid());
	n = readlink(path, link, sizeof link - 1);
	link[n > 0 ? n : 0] = 0;
	CHECK_STR("/proc/<pid>/exe == /proc/self/exe", link, exe);

	n = readlink("/proc/self/cwd", link, sizeof link - 1);
	link[n > 0 ? n : 0] = 0;
	char cwd[512];
	getcwd(cwd, sizeof cwd);
	CHECK_STR("/proc/self/cwd == getcwd", link, cwd);

	t_read_file("/proc/self/stat", big, sizeof big);
	CHECK_EQ("stat field 1 is the pid", atoi(big), getpid());
	char *close_paren = strrchr(big, ')');
	CHECK("stat field 2 is (comm)", strchr(big, '(') && close_paren);
	CHECK("stat state is R", close_paren && close_paren[1] == ' ' && close_paren[2] == 'R');
	CHECK_EQ("stat field 4 is the ppid", close_paren ? atoi(close_paren + 4) : -1, getppid());

	t_read_file("/proc/self/status", big, sizeof big);
	CHECK("status has Name:", strstr(big, "Name:\t") == big);
	snprintf(path, sizeof path, "\nPid:\t%d\n", getpid());
	CHECK("status has Pid:", strstr(big, path) != NULL);
	CHECK("status has Uid:", strstr(big, "\nUid:\t") != NULL);
	CHECK("status has VmRSS:", strstr(big, "\nVmRSS:") != NULL);
	CHECK("status has Threads:\\t1", strstr(big, "\nThreads:\t1\n") != NULL);
	t_read_file("/proc/self/comm", big, sizeof big);
	snprintf(path, sizeof path, "%.15s\n", base + 1);
	CHECK_STR("comm is the program name", big, path);
	CHECK("/proc/self is a symlink to the pid", readlink("/proc/self", link, sizeof link) > 0 && atoi(link) == getpid());

	/* A /proc file read again from offset 0 shows the state of now, not of
	 * the open (top and vmstat keep their files open between samples). */
	int f = open("/proc/self/comm", O_RDONLY);
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", f);
	int info = open(path, O_RDONLY);
	char before[256] = "", after[256] = "", again[256] = "";
	ssize_t got = read(info, before, sizeof before - 1);
	before[got > 0 ? got : 0] = 0;
	CHECK("fdinfo starts at pos 0", strncmp(before, "pos:\t0\n", 7) == 0);
	lseek(f, 3, SEEK_SET);
	got = read(info, after, sizeof after - 1);
	CHECK_EQ("fdinfo read to its end gives 0", got, 0);
	lseek(info, 0, SEEK_SET);
	got = read(info, after, sizeof after - 1);
	after[got > 0 ? got : 0] = 0;
	CHECK("read again from 0 shows the new pos", strncmp(after, "pos:\t3\n", 7) == 0);
	lseek(f, 5, SEEK_SET);
	got = pread(info, again, sizeof again - 1, 0);
	again[got > 0 ? got : 0] = 0;
	CHECK("pread at 0 shows the new pos too", strncmp(again, "pos:\t5\n", 7) == 0);
	close(info);
	close(f);

	/* An fdinfo file that describes itself: made again on a read from 0,
	 * it reads its own position. */
	int self_fd = open("/proc/self/comm", O_RDONLY);
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", self_fd);
	info = open(path, O_RDONLY);
	CHECK_OK("dup2 the fdinfo file onto the fd it describes", dup2(info, self_fd));
	close(info);
	while (read(self_fd, after, sizeof after - 1) > 0)
		;
	lseek(self_fd, 0, SEEK_SET);
	got = read(self_fd, after, sizeof after - 1);
	after[got > 0 ? got : 0] = 0;
	CHECK("its own fdinfo read again from 0 shows pos 0", strncmp(after, "pos:\t0\n", 7) == 0);
	close(self_fd);

	/* /proc/self/limits: the kernel's table, with the limits getrlimit reports. */
	char lim[4096] = { 0 };
	int lf = open("/proc/self/limits", O_RDONLY);
	got = read(lf, lim, sizeof lim - 1);
	close(lf);
	const char *header = "Limit                     Soft Limit           Hard Limit           Units     \n";
	CHECK("limits starts with its header", got > 0 && strncmp(lim, header, strlen(header)) == 0);
	struct rlimit nofile;
	getrlimit(RLIMIT_NOFILE, &nofile);
	char row[128];
	snprintf(row, sizeof row, "Max open files            %-20llu %-20llu files     \n", (unsigned long long)nofile.rlim_cur,
		 (unsigned long long)nofile.rlim_max);
	CHECK("limits has the open-files row getrlimit reports", strstr(lim, row) != NULL);

	/* An fd whose file was unlinked reads " (deleted)" after its path. */
	/* In a private scratch directory, never in /tmp itself. */
	t_tmpdir_begin();
	char gone[128];
	snprintf(gone, sizeof gone, "%s/deleted", t_tmpdir_path);
	int gfd = open(gone, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	unlink(gone);
	char glink[64], gtarget[256] = { 0 }, gwant[256];
	snprintf(glink, sizeof glink, "/proc/self/fd/%d", gfd);
	CHECK("readlink of an unlinked file's fd", readlink(glink, gtarget, sizeof gtarget - 1) > 0);
	snprintf(gwant, sizeof gwant, "%s (deleted)", gone);
	CHECK_STR("names it with (deleted)", gtarget, gwant);
	close(gfd);
	t_tmpdir_end();

	/* personality(2) and /proc/self/personality. */
	CHECK_EQ("personality is PER_LINUX", personality(0xffffffff), PER_LINUX);
	CHECK_EQ("setting ADDR_NO_RANDOMIZE returns the old persona", personality(PER_LINUX | ADDR_NO_RANDOMIZE), PER_LINUX);
	CHECK_EQ("and it is kept", personality(0xffffffff), PER_LINUX | ADDR_NO_RANDOMIZE);
	char pers[32] = { 0 };
	int pf = open("/proc/self/personality", O_RDONLY);
	got = read(pf, pers, sizeof pers - 1);
	close(pf);
	CHECK_STR("/proc/self/personality shows it", pers, "00040000\n");
	personality(PER_LINUX);

	/* /proc/self/ns: links named TYPE:[INO] whose target stats as that
	 * inode, the same in a fork child; an open one reads nothing (EINVAL). */
	const char *kinds[] = { "cgroup", "ipc", "mnt", "net", "pid", "user", "uts" };
	int links_ok = 1;
	for (unsigned i = 0; i < sizeof kinds / sizeof *kinds; i++) {
		char path[64], target[64], want[64];
		struct stat ls, fs;
		snprintf(path, sizeof path, "/proc/self/ns/%s", kinds[i]);
		ssize_t n = readlink(path, target, sizeof target - 1);
		target[n > 0 ? n : 0] = 0;
		if (n <= 0 || lstat(path, &ls) != 0 || !S_ISLNK(ls.st_mode) || stat(path, &fs) != 0)
			links_ok = 0;
		snprintf(want, sizeof want, "%s:[%llu]", kinds[i], (unsigned long long)fs.st_ino);
		if (strcmp(target, want) != 0)
			links_ok = 0;
	}
	CHECK("ns links read TYPE:[INO] of the inode they stat as", links_ok);
	char mine[64] = { 0 }, theirs[64] = { 0 };
	readlink("/proc/self/ns/pid", mine, sizeof mine - 1);
	int sync[2];
	if (pipe(sync) != 0)
		return 2;
	pid_t kid = fork();
	if (kid == 0) {
		close(sync[0]);
		char buf[64] = { 0 };
		readlink("/proc/self/ns/pid", buf, sizeof buf - 1);
		write(sync[1], buf, strlen(buf));
		_exit(0);
	}
	close(sync[1]);
	read(sync[0], theirs, sizeof theirs - 1);
	waitpid(kid, NULL, 0);
	CHECK_STR("a fork child is in the same pid namespace", theirs, mine);
	int nsfd = open("/proc/self/ns/uts", O_RDONLY);
	CHECK("an ns link opens", nsfd >= 0);
	char one;
	CHECK_ERR("and reads nothing", read(nsfd, &one, 1), EINVAL);
	close(nsfd);
	T_DONE();
}
