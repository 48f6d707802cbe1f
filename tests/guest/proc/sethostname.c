/* sethostname and setdomainname refuse what Linux refuses, in Linux's
 * order: EPERM without CAP_SYS_ADMIN (a child that dropped it), then
 * EINVAL for a length outside 0..64, then EFAULT for a bad name. No call
 * here may succeed: natively as root it would rename the machine (the
 * names set are checked by tests/tests/process.rs under mactux only).
 * uname, gethostname and /proc/sys/kernel/{hostname,domainname} agree. */
#include "../test.h"
#include <sys/utsname.h>
#include <sys/wait.h>

/* <linux/capability.h>, which musl's toolchain lacks. */
#define CAP_VERSION_3 0x20080522
#define CAP_SYS_ADMIN 21
struct cap_header { unsigned version; int pid; };
struct cap_data { unsigned effective, permitted, inheritable; };

/* The raw calls: the C libraries' wrappers are declared as reading the
 * whole name, which the bad pointers below are not. */
static long set_host(const void *name, long len) { return syscall(SYS_sethostname, name, len); }
static long set_domain(const void *name, long len) { return syscall(SYS_setdomainname, name, len); }

static const char *err_name(int e)
{
	return e == EPERM ? "EPERM" : e == EINVAL ? "EINVAL" : e == EFAULT ? "EFAULT" : "other";
}

/* errno of a call that must fail, by name ("none" if it succeeded). */
static const char *fails(int r)
{
	return r < 0 ? err_name(errno) : "none";
}

int main(void)
{
	T_BEGIN();
	char name[80];
	memset(name, 'n', sizeof name);
	/* With CAP_SYS_ADMIN (root natively or under -0) the length and the
	 * pointer are checked; without it every call is EPERM. */
	int capable = 0;
	struct cap_header h = { CAP_VERSION_3, 0 };
	struct cap_data d[2];
	CHECK_OK("capget", syscall(SYS_capget, &h, d));
	capable = (d[0].effective >> CAP_SYS_ADMIN) & 1;
	const char *want_long = capable ? "EINVAL" : "EPERM";
	const char *want_fault = capable ? "EFAULT" : "EPERM";
	CHECK_STR("sethostname of 65 bytes", fails(set_host(name, 65)), want_long);
	CHECK_STR("setdomainname of 65 bytes", fails(set_domain(name, 65)), want_long);
	CHECK_STR("sethostname of length -1", fails(set_host(name, -1)), want_long);
	CHECK_STR("setdomainname of length -1", fails(set_domain(name, -1)), want_long);
	CHECK_STR("sethostname, bad pointer", fails(set_host((char *)8, 4)), want_fault);
	CHECK_STR("setdomainname, bad pointer", fails(set_domain((char *)8, 4)), want_fault);
	CHECK_STR("sethostname of 65 bytes, bad pointer", fails(set_host((char *)8, 65)), want_long);

	pid_t c = fork();
	if (c == 0) {
		/* Without CAP_SYS_ADMIN even a good name is refused. */
		h.pid = 0;
		d[0].effective &= ~(1u << CAP_SYS_ADMIN);
		if (syscall(SYS_capset, &h, d) < 0)
			_exit(10);
		if (set_host("x", 1) == 0 || errno != EPERM)
			_exit(11);
		if (set_domain("x", 1) == 0 || errno != EPERM)
			_exit(12);
		if (set_host(name, 65) == 0 || errno != EPERM)
			_exit(13);
		_exit(0);
	}
	int st;
	CHECK_EQ("child without CAP_SYS_ADMIN", waitpid(c, &st, 0), c);
	CHECK_EQ("child: every call EPERM", WIFEXITED(st) ? WEXITSTATUS(st) : 100, 0);

	struct utsname u;
	CHECK_OK("uname", uname(&u));
	char host[128];
	CHECK_OK("gethostname", gethostname(host, sizeof host));
	CHECK_STR("nodename == gethostname", u.nodename, host);
	char buf[128];
	CHECK("/proc/sys/kernel/hostname", t_read_file("/proc/sys/kernel/hostname", buf, sizeof buf) > 0);
	buf[strcspn(buf, "\n")] = 0;
	CHECK_STR("/proc hostname == nodename", buf, u.nodename);
	CHECK("/proc/sys/kernel/domainname", t_read_file("/proc/sys/kernel/domainname", buf, sizeof buf) > 0);
	buf[strcspn(buf, "\n")] = 0;
	CHECK_STR("/proc domainname == uname domainname", buf, u.domainname);
	char dom[128];
	CHECK_OK("getdomainname", getdomainname(dom, sizeof dom));
	CHECK_STR("getdomainname == uname domainname", dom, u.domainname);
	T_DONE();
}
