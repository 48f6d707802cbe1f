/* uname: sysname and machine; the release is not printed (it differs under emulation). */
#include "../test.h"
#include <sys/utsname.h>

int main(void)
{
	T_BEGIN();
	struct utsname u;
	CHECK_OK("uname", uname(&u));
	CHECK_STR("sysname", u.sysname, "Linux");
	CHECK_STR("machine", u.machine, "x86_64");
	CHECK("release starts with a digit", u.release[0] >= '1' && u.release[0] <= '9');
	CHECK("release has a dot", strchr(u.release, '.') != NULL);
	CHECK("version not empty", u.version[0] != 0);
	char host[128];
	CHECK_OK("gethostname", gethostname(host, sizeof host));
	CHECK_STR("nodename == gethostname", u.nodename, host);
	char buf[128];
	CHECK("/proc/sys/kernel/ostype", t_read_file("/proc/sys/kernel/ostype", buf, sizeof buf) > 0);
	CHECK_STR("ostype contents", buf, "Linux\n");
	CHECK("/proc/sys/kernel/osrelease", t_read_file("/proc/sys/kernel/osrelease", buf, sizeof buf) > 0);
	buf[strcspn(buf, "\n")] = 0;
	CHECK_STR("osrelease == uname release", buf, u.release);
	t_read_file("/proc/sys/kernel/hostname", buf, sizeof buf);
	buf[strcspn(buf, "\n")] = 0;
	CHECK_STR("/proc hostname == nodename", buf, u.nodename);
	T_DONE();
}
