/* Shared helpers of the credential tests: they need root (the test machine runs them as
 * root natively); as anyone else they print one line and pass, natively and under mactux alike. */
#include "../test.h"
#include <grp.h>
#include <sys/wait.h>

#define NOBODY 65534

static __attribute__((unused)) int creds_need_root(void)
{
	if (geteuid() != 0) {
		printf("ok skipped: needs root\n");
		return 0;
	}
	return 1;
}

/* Runs fn in a child (credential changes stay there); the child's checks print, and a
 * failing child fails the parent. */
static __attribute__((unused)) void in_child(const char *what, void (*fn)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		t_failures = 0;
		fn();
		fflush(stdout);
		_exit(t_failures ? 1 : 0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(what, WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static __attribute__((unused)) void check_res(const char *what, uid_t r, uid_t e, uid_t s)
{
	uid_t gr, ge, gs;
	char buf[160];
	getresuid(&gr, &ge, &gs);
	snprintf(buf, sizeof buf, "%s: real", what);
	CHECK_EQ(buf, gr, r);
	snprintf(buf, sizeof buf, "%s: effective", what);
	CHECK_EQ(buf, ge, e);
	snprintf(buf, sizeof buf, "%s: saved", what);
	CHECK_EQ(buf, gs, s);
}

static __attribute__((unused)) void check_resg(const char *what, gid_t r, gid_t e, gid_t s)
{
	gid_t gr, ge, gs;
	char buf[160];
	getresgid(&gr, &ge, &gs);
	snprintf(buf, sizeof buf, "%s: real gid", what);
	CHECK_EQ(buf, gr, r);
	snprintf(buf, sizeof buf, "%s: effective gid", what);
	CHECK_EQ(buf, ge, e);
	snprintf(buf, sizeof buf, "%s: saved gid", what);
	CHECK_EQ(buf, gs, s);
}
