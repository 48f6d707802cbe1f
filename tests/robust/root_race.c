/*
 * root_race.c - a guest that tries to escape its root by racing its own
 * path lookups (run only under `mactux run --root`, by tests/tests/root.rs).
 *
 * Usage: root_race OUTSIDE ROUNDS
 *   OUTSIDE is the host path of a directory outside the guest root. The
 *   guest cannot name it; it can only store it in a symlink and hope that a
 *   host call follows that symlink. A child swaps `arena/sub` between a
 *   real directory and such a symlink (renameat2 RENAME_EXCHANGE), while the
 *   parent calls every kind of path call through `arena/sub`. What a call
 *   may see is either the inside directory or, through the symlink as the
 *   guest resolves it, nothing (the target does not exist inside the root).
 *
 *   The inside files are small and say "inside"; the outside ones are big
 *   and say "OUTSIDE" (the test harness made them). Any outside byte read,
 *   size seen, link target read or entry listed is an escape, printed as
 *   "ESCAPE ...". What a call might have written outside (create, chmod,
 *   chown, utimes, truncate, rename, unlink, link, symlink) the harness
 *   checks by comparing the outside tree before and after.
 *
 *   Invoked as `root_race marker`, it exits 99: arena/sub/prog outside is a
 *   copy of this program, so an exec that escapes shows as status 99.
 *
 * Prints "escapes: N" and exits 0 when it ran (even with escapes: the
 * harness judges), 2 on a setup error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static long escapes;

static void escape(const char *what, const char *detail)
{
	printf("ESCAPE %s: %s\n", what, detail);
	fflush(stdout);
	escapes++;
}

static int swap(void)
{
	return (int)syscall(SYS_renameat2, AT_FDCWD, "arena/sub", AT_FDCWD, "arena/alt", RENAME_EXCHANGE);
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		fprintf(stderr, "setup: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	close(fd);
}

/* Whether the file at `path` (relative to `dir`) can be opened and holds
 * outside bytes. */
static int reads_outside(int dir, const char *path)
{
	char buf[8192];
	int fd = openat(dir, path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strstr(buf, "OUTSIDE") != NULL;
}

/* One round of every path call through arena/sub. */
static void round_of_calls(int i)
{
	char buf[8192];
	struct stat st;
	int fd;
	ssize_t n;

	/* Reading through an intermediate component. */
	if (reads_outside(AT_FDCWD, "arena/sub/secret"))
		escape("open+read", "read an outside file");
	if (stat("arena/sub/secret", &st) == 0 && st.st_size > 100)
		escape("stat", "saw the outside file's size");
	if (lstat("arena/sub/secret", &st) == 0 && st.st_size > 100)
		escape("lstat", "saw the outside file's size");
	if (syscall(SYS_statx, AT_FDCWD, "arena/sub/secret", 0, 0x7ff, buf) == 0 && *(long long *)(buf + 40) > 100)
		escape("statx", "saw the outside file's size");
	n = readlink("arena/sub/lnk", buf, sizeof buf - 1);
	if (n > 0) {
		buf[n] = 0;
		if (strstr(buf, "OUTSIDE"))
			escape("readlink", buf);
	}
	DIR *d = opendir("arena/sub");
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (strstr(e->d_name, "outside-only"))
				escape("getdents", e->d_name);
		closedir(d);
	}
	if (access("arena/sub/outside-only", F_OK) == 0)
		escape("access", "found an outside-only name");
	struct statfs sfs;
	(void)statfs("arena/sub/secret", &sfs);

	/* Writing: the harness compares the outside tree. */
	fd = open("arena/sub/created", O_CREAT | O_WRONLY, 0644);
	if (fd >= 0)
		close(fd);
	unlink("arena/sub/created");
	fd = creat("arena/sub/created2", 0644);
	if (fd >= 0)
		close(fd);
	unlink("arena/sub/created2");
	mkdir("arena/sub/newdir", 0755);
	rmdir("arena/sub/newdir");
	mkfifo("arena/sub/fifo", 0644);
	unlink("arena/sub/fifo");
	symlink("anything", "arena/sub/newlink");
	unlink("arena/sub/newlink");
	if (link("arena/sub/secret", "arena/stolen") == 0) {
		if (reads_outside(AT_FDCWD, "arena/stolen"))
			escape("link", "hard-linked an outside file into the root");
		unlink("arena/stolen");
	}
	if (rename("arena/sub/victim", "arena/sub/victim2") == 0)
		rename("arena/sub/victim2", "arena/sub/victim");
	if (rename("arena/sub/victim", "arena/taken") == 0)
		rename("arena/taken", "arena/sub/victim");
	unlink("arena/sub/doomed");
	rmdir("arena/sub/doomed-dir");
	chmod("arena/sub/secret", (i & 1) ? 0600 : 0604);
	chmod("arena/sub", (i & 1) ? 0700 : 0755);
	(void)!chown("arena/sub/secret", 4242, 4242);
	(void)!lchown("arena/sub", 4242, 4242);
	struct timespec times[2] = {{1, 0}, {1, 0}};
	utimensat(AT_FDCWD, "arena/sub/secret", times, 0);
	utimensat(AT_FDCWD, "arena/sub", times, AT_SYMLINK_NOFOLLOW);
	(void)!truncate("arena/sub/secret", 1);
	fd = open("arena/sub/secret", O_WRONLY | O_TRUNC);
	if (fd >= 0)
		close(fd);
	fd = open("arena/sub/secret", O_WRONLY | O_APPEND);
	if (fd >= 0) {
		(void)!write(fd, "x", 1);
		close(fd);
	}
	(void)!chdir("arena/sub");
	if (access("outside-only", F_OK) == 0)
		escape("chdir", "the working directory is outside");
	if (reads_outside(AT_FDCWD, "secret"))
		escape("chdir+open", "read an outside file");
	(void)!chdir("/");

	/* *at calls through a directory fd opened on the racing name. */
	int dfd = open("arena/sub", O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		if (reads_outside(dfd, "secret"))
			escape("openat", "read an outside file");
		if (fstatat(dfd, "secret", &st, 0) == 0 && st.st_size > 100)
			escape("fstatat", "saw the outside file's size");
		if (faccessat(dfd, "outside-only", F_OK, 0) == 0)
			escape("faccessat", "found an outside-only name");
		unlinkat(dfd, "doomed", 0);
		mkdirat(dfd, "newdir2", 0755);
		unlinkat(dfd, "newdir2", AT_REMOVEDIR);
		fchmodat(dfd, "secret", (i & 1) ? 0600 : 0604, 0);
		close(dfd);
	}

	/* Exec through the racing component. */
	if (i % 16 == 0) {
		pid_t p = fork();
		if (p == 0) {
			char *argv[] = {"prog", "marker", NULL};
			execve("arena/sub/prog", argv, environ);
			_exit(127);
		}
		int status;
		if (p > 0 && waitpid(p, &status, 0) == p && WIFEXITED(status) && WEXITSTATUS(status) == 99)
			escape("execve", "ran an outside program");
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "marker") == 0)
		return 99;
	if (argc != 3) {
		fprintf(stderr, "usage: root_race OUTSIDE ROUNDS\n");
		return 2;
	}
	const char *outside = argv[1];
	int rounds = atoi(argv[2]);
	char rel[64];

	if (mkdir("arena", 0755) < 0 && errno != EEXIST) {
		perror("setup: mkdir arena");
		return 2;
	}
	/* Two targets for the symlink: the outside directory's host path, and
	 * a relative path that reaches it from the host's point of view
	 * (root/arena/../../outside) but stays inside the root for the guest. */
	snprintf(rel, sizeof rel, "../../outside");
	for (int variant = 0; variant < 2; variant++) {
		const char *target = variant == 0 ? outside : rel;
		if (mkdir("arena/sub", 0755) < 0 && errno != EEXIST) {
			perror("setup: mkdir arena/sub");
			return 2;
		}
		write_file("arena/sub/secret", "inside\n");
		write_file("arena/sub/victim", "inside\n");
		write_file("arena/sub/doomed", "inside\n");
		write_file("arena/sub/prog", "inside\n");
		mkdir("arena/sub/doomed-dir", 0755);
		unlink("arena/sub/lnk");
		if (symlink("inside", "arena/sub/lnk") < 0 || symlink(target, "arena/alt") < 0) {
			perror("setup: symlink");
			return 2;
		}
		pid_t swapper = fork();
		if (swapper < 0) {
			perror("setup: fork");
			return 2;
		}
		if (swapper == 0) {
			for (;;)
				if (swap() < 0)
					_exit(3);
		}
		for (int i = 0; i < rounds; i++)
			round_of_calls(i);
		kill(swapper, SIGKILL);
		int status;
		waitpid(swapper, &status, 0);
		if (WIFEXITED(status)) {
			fprintf(stderr, "setup: the swapper failed (status %d)\n", WEXITSTATUS(status));
			return 2;
		}
		/* Put arena/sub back to the real directory and start over. */
		struct stat st;
		if (lstat("arena/sub", &st) == 0 && S_ISLNK(st.st_mode))
			swap();
		unlink("arena/alt");
	}
	printf("escapes: %ld\n", escapes);
	return 0;
}
