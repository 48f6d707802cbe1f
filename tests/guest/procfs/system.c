/* System-wide /proc files: cpuinfo, meminfo, vmstat, version, uptime, loadavg, filesystems, mounts, mountinfo, cgroup, stat; the order of /proc. */
#include "../test.h"
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

static char big[1 << 20];

int main(void)
{
	T_BEGIN();
	CHECK("read /proc/cpuinfo", t_read_file("/proc/cpuinfo", big, sizeof big) > 0);
	CHECK("cpuinfo has processor", strncmp(big, "processor\t: 0\n", 14) == 0);
	CHECK("cpuinfo has flags", strstr(big, "\nflags\t\t: ") != NULL);
	CHECK("read /proc/meminfo", t_read_file("/proc/meminfo", big, sizeof big) > 0);
	CHECK("meminfo starts with MemTotal:", strncmp(big, "MemTotal:", 9) == 0);
	CHECK("meminfo has MemAvailable:", strstr(big, "\nMemAvailable:") != NULL);
	t_read_file("/proc/version", big, sizeof big);
	CHECK("version starts with Linux version", strncmp(big, "Linux version ", 14) == 0);
	double up = -1, idle = -1;
	t_read_file("/proc/uptime", big, sizeof big);
	CHECK_EQ("uptime parses", sscanf(big, "%lf %lf", &up, &idle), 2);
	CHECK("uptime positive", up > 0);
	double l1, l5, l15;
	t_read_file("/proc/loadavg", big, sizeof big);
	CHECK_EQ("loadavg parses", sscanf(big, "%lf %lf %lf", &l1, &l5, &l15), 3);
	t_read_file("/proc/filesystems", big, sizeof big);
	CHECK("filesystems has proc", strstr(big, "\tproc\n") != NULL);
	t_read_file("/proc/mounts", big, sizeof big);
	CHECK("mounts has /proc", strstr(big, " /proc proc ") != NULL);
	t_read_file("/proc/self/mounts", big, sizeof big);
	CHECK("self/mounts has /proc", strstr(big, " /proc ") != NULL);
	/* mountinfo: "ID PARENT MAJOR:MINOR ROOT POINT OPTIONS [FIELDS] - TYPE SOURCE SUPER". */
	CHECK("read /proc/self/mountinfo", t_read_file("/proc/self/mountinfo", big, sizeof big) > 0);
	int lines = 0, well_formed = 0, root_dev_ok = 0, has_proc = 0;
	struct stat root;
	stat("/", &root);
	for (char *line = strtok(big, "\n"); line; line = strtok(NULL, "\n")) {
		unsigned id, parent, major, minor;
		char rootdir[256], point[256], type[64];
		lines++;
		char *dash = strstr(line, " - ");
		if (sscanf(line, "%u %u %u:%u %255s %255s", &id, &parent, &major, &minor, rootdir, point) == 6 && dash && sscanf(dash, " - %63s", type) == 1) {
			well_formed++;
			if (strcmp(point, "/") == 0 && makedev(major, minor) == root.st_dev)
				root_dev_ok = 1;
			if (strcmp(point, "/proc") == 0 && strcmp(type, "proc") == 0)
				has_proc = 1;
		}
	}
	CHECK("every mountinfo line is well formed", lines > 0 && well_formed == lines);
	CHECK("the root's line has the device stat shows", root_dev_ok);
	CHECK("mountinfo has /proc as proc", has_proc);
	CHECK("read /proc/self/cgroup", t_read_file("/proc/self/cgroup", big, sizeof big) > 0);
	int colons = 0;
	for (char *p = big; *p && *p != '\n'; p++)
		colons += *p == ':';
	CHECK("cgroup lines are ID:CONTROLLERS:PATH", colons >= 2 && strchr(big, '/') != NULL);
	t_read_file("/proc/stat", big, sizeof big);
	CHECK("stat starts with cpu", strncmp(big, "cpu ", 4) == 0);
	CHECK("stat has btime", strstr(big, "\nbtime ") != NULL);
	unsigned long long user, nice_, sys, idle_ticks;
	CHECK_EQ("stat cpu line has user nice system idle", sscanf(big, "cpu %llu %llu %llu %llu", &user, &nice_, &sys, &idle_ticks), 4);
	CHECK("some CPU time was spent outside idle", user + nice_ + sys > 0);
	CHECK("stat has a cpu0 line", strstr(big, "\ncpu0 ") != NULL);
	CHECK("stat has processes", strstr(big, "\nprocesses ") != NULL);
	t_read_file("/proc/vmstat", big, sizeof big);
	CHECK("vmstat starts with nr_free_pages", strncmp(big, "nr_free_pages ", 14) == 0);
	CHECK("vmstat has pgpgin", strstr(big, "\npgpgin ") != NULL);
	CHECK("vmstat has pswpout", strstr(big, "\npswpout ") != NULL);

	/* Linux lists the pids of /proc in ascending order: a child forked now
	 * has the highest pid, and ps shows tasks in this order. */
	int gate[2];
	if (pipe(gate) != 0)
		return 2;
	pid_t child = fork();
	if (child == 0) {
		char c;
		close(gate[1]);
		read(gate[0], &c, 1);
		_exit(0);
	}
	close(gate[0]);
	DIR *d = opendir("/proc");
	long last = 0, n_pids = 0;
	int ascending = 1, saw_self = 0, saw_child = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *end;
		long p = strtol(e->d_name, &end, 10);
		if (*end || end == e->d_name)
			continue;
		if (p <= last)
			ascending = 0;
		last = p;
		n_pids++;
		saw_self |= p == getpid();
		saw_child |= p == child;
	}
	if (d)
		closedir(d);
	close(gate[1]);
	waitpid(child, NULL, 0);
	CHECK("/proc lists pids", n_pids >= 2);
	CHECK("/proc lists our pid", saw_self);
	CHECK("/proc lists the child", saw_child);
	CHECK("/proc lists pids in ascending order", ascending);
	struct stat st;
	CHECK_OK("stat /proc/1", stat("/proc/1", &st));
	CHECK("/proc/1 is a directory", S_ISDIR(st.st_mode));
	CHECK_ERR("missing /proc entry -> ENOENT", open("/proc/no-such-entry", O_RDONLY), ENOENT);
	char buf[64];
	CHECK("read /proc/sys/kernel/pid_max", t_read_file("/proc/sys/kernel/pid_max", buf, sizeof buf) > 0 && atoi(buf) > 0);
	CHECK("read /proc/sys/kernel/random/uuid", t_read_file("/proc/sys/kernel/random/uuid", buf, sizeof buf) == 37);
	T_DONE();
}
