/* /proc/net: a link to self/net; dev lists the interfaces with the kernel's
 * two header lines (ifconfig and psutil parse by column); igmp names the
 * all-hosts group on the loopback interface, as the kernel's own
 * membership (Go's net.Interface.MulticastAddrs reads igmp and igmp6). */
#include "../test.h"

static char buf[65536];

static int starts(const char *s, const char *prefix) { return s && strncmp(s, prefix, strlen(prefix)) == 0; }

static int slurp(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	int n = 0, k;
	while (n < (int)sizeof buf - 1 && (k = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
		n += k;
	close(fd);
	buf[n] = 0;
	return n;
}

int main(void)
{
	T_BEGIN();
	char link[64] = { 0 };
	CHECK_EQ("/proc/net is a link", readlink("/proc/net", link, sizeof link - 1), 8);
	CHECK_STR("... to self/net", link, "self/net");
	struct stat st;
	CHECK_OK("/proc/self/net is a directory", stat("/proc/self/net", &st));
	CHECK("... it is", S_ISDIR(st.st_mode));

	CHECK("/proc/net/dev reads", slurp("/proc/net/dev") > 0);
	CHECK("first header line", starts(buf, "Inter-|   Receive                                                |  Transmit\n"));
	char *second = strchr(buf, '\n');
	CHECK("second header line",
	      second && starts(second + 1, " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"));
	CHECK("the loopback interface's line", strstr(buf, "\n    lo: ") != NULL);
	/* Sixteen counters after the name. */
	char *lo = strstr(buf, "\n    lo: ");
	int counters = 0;
	if (lo) {
		char *p = lo + 9;
		unsigned long long v;
		int used;
		while (sscanf(p, "%llu%n", &v, &used) == 1) {
			counters++;
			p += used;
		}
	}
	CHECK_EQ("sixteen counters", counters, 16);

	char path[64];
	snprintf(path, sizeof path, "/proc/%d/net/dev", (int)getpid());
	CHECK("/proc/PID/net/dev reads", slurp(path) > 0);

	CHECK("/proc/net/igmp reads", slurp("/proc/net/igmp") > 0);
	CHECK("its header", starts(buf, "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n"));
	CHECK("lo's entry", strstr(buf, "\tlo        :") != NULL);
	CHECK("all-hosts group 224.0.0.1", strstr(buf, "\t\t\t\t010000E0 ") != NULL);

	CHECK_ERR("no such file", open("/proc/net/nonesuch", O_RDONLY), ENOENT);
	T_DONE();
}
