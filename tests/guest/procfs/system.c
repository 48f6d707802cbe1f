/* System-wide /proc files: cpuinfo, meminfo, version, uptime, loadavg, filesystems, mounts, stat. */
#include "../test.h"

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
	t_read_file("/proc/stat", big, sizeof big);
	CHECK("stat starts with cpu", strncmp(big, "cpu ", 4) == 0);
	CHECK("stat has btime", strstr(big, "\nbtime ") != NULL);
	struct stat st;
	CHECK_OK("stat /proc/1", stat("/proc/1", &st));
	CHECK("/proc/1 is a directory", S_ISDIR(st.st_mode));
	CHECK_ERR("missing /proc entry -> ENOENT", open("/proc/no-such-entry", O_RDONLY), ENOENT);
	char buf[64];
	CHECK("read /proc/sys/kernel/pid_max", t_read_file("/proc/sys/kernel/pid_max", buf, sizeof buf) > 0 && atoi(buf) > 0);
	CHECK("read /proc/sys/kernel/random/uuid", t_read_file("/proc/sys/kernel/random/uuid", buf, sizeof buf) == 37);
	T_DONE();
}
