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

/* The start of main for a test that works in a scratch directory the ids
 * it drops to may enter (0755): returns from main when not root
 * (creds_need_root). */
#define CREDS_BEGIN_IN_TMPDIR()                                             \
	do {                                                                \
		T_BEGIN();                                                  \
		if (!creds_need_root())                                     \
			T_DONE();                                           \
		t_tmpdir_begin();                                           \
		chmod(".", 0755);                                           \
	} while (0)

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

/* Checks three ids (real, effective, saved) against what is wanted. */
static __attribute__((unused)) void check_three(const char *what, const char *kind, const unsigned got[3], const unsigned want[3])
{
	static const char *const names[3] = { "real", "effective", "saved" };
	char buf[160];
	for (int i = 0; i < 3; i++) {
		snprintf(buf, sizeof buf, "%s: %s%s", what, names[i], kind);
		CHECK_EQ(buf, got[i], want[i]);
	}
}

static __attribute__((unused)) void check_res(const char *what, uid_t r, uid_t e, uid_t s)
{
	uid_t g[3];
	getresuid(&g[0], &g[1], &g[2]);
	check_three(what, "", (const unsigned[]){ g[0], g[1], g[2] }, (const unsigned[]){ r, e, s });
}

static __attribute__((unused)) void check_resg(const char *what, gid_t r, gid_t e, gid_t s)
{
	gid_t g[3];
	getresgid(&g[0], &g[1], &g[2]);
	check_three(what, " gid", (const unsigned[]){ g[0], g[1], g[2] }, (const unsigned[]){ r, e, s });
}

/* Drops to nobody:nogroup with the supplementary groups given (none: ngroups 0). */
static __attribute__((unused)) void become_nobody(int ngroups, const gid_t *groups)
{
	CHECK_OK("setgroups", setgroups(ngroups, groups));
	CHECK_OK("setgid(nogroup)", setgid(NOBODY));
	CHECK_OK("setuid(nobody)", setuid(NOBODY));
}

/* Makes a file with owner, group and mode (umask aside); returns 0 on success. */
static __attribute__((unused)) int make_file(const char *name, uid_t uid, gid_t gid, mode_t mode)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "data\n", 5) != 5 || close(fd) != 0)
		return -1;
	if (chown(name, uid, gid) != 0)
		return -1;
	return chmod(name, mode);
}
