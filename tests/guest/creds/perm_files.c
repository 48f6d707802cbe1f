/* Opening, executing, truncating and touching files follows the caller's fs ids, groups
 * and capabilities against the file's owner, group and mode (fs/namei.c
 * generic_permission); access(2) checks with the real ids unless AT_EACCESS. */
#include "creds.h"
#include <sys/inotify.h>
#include <sys/un.h>
#include <stdint.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define SOME_GROUP 100

static void unprivileged(void)
{
	become_nobody(0, NULL);
	CHECK_ERR("open a 0600 root file for reading -> EACCES", open("secret", O_RDONLY), EACCES);
	CHECK_OK("open a 0644 root file for reading", open("ro", O_RDONLY));
	CHECK_ERR("open a 0644 root file for writing -> EACCES", open("ro", O_WRONLY), EACCES);
	CHECK_ERR("O_RDONLY|O_TRUNC needs write permission -> EACCES", open("ro", O_RDONLY | O_TRUNC), EACCES);
	CHECK_ERR("O_CREAT of an existing file still checks it -> EACCES", open("ro", O_RDWR | O_CREAT, 0644), EACCES);
	CHECK_OK("open a 0666 root file for writing", open("world", O_WRONLY));
	uint64_t how[3] = { O_RDONLY, 0, 0 };
	CHECK_ERR("openat2 of a 0600 root file -> EACCES", syscall(SYS_openat2, AT_FDCWD, "secret", how, sizeof how), EACCES);
	CHECK_ERR("group bits do not apply outside the group -> EACCES", open("grp", O_RDONLY), EACCES);
	CHECK_ERR("access(R_OK) of a 0600 root file -> EACCES", access("secret", R_OK), EACCES);
	CHECK_OK("access(R_OK) of a 0644 file", access("ro", R_OK));
	CHECK_ERR("access(W_OK) of a 0644 root file -> EACCES", access("ro", W_OK), EACCES);
	CHECK_ERR("execve of a 0700 root script -> EACCES", execl("./rootexec", "rootexec", (char *)NULL), EACCES);
	CHECK_ERR("truncate a 0644 root file -> EACCES", truncate("ro", 0), EACCES);
	CHECK_OK("truncate a 0666 root file", truncate("world", 5));
	CHECK_ERR("utimes to now of a 0644 root file -> EACCES", utimensat(AT_FDCWD, "ro", NULL, 0), EACCES);
	CHECK_OK("utimes to now of a 0666 root file (write permission)", utimensat(AT_FDCWD, "world", NULL, 0));
	struct timespec ts[2] = { { 1000, 0 }, { 1000, 0 } };
	CHECK_ERR("explicit utimes of a 0666 root file -> EPERM", utimensat(AT_FDCWD, "world", ts, 0), EPERM);
	struct timespec now_omit[2] = { { 0, UTIME_NOW }, { 0, UTIME_OMIT } };
	CHECK_ERR("UTIME_NOW with UTIME_OMIT needs ownership -> EPERM", utimensat(AT_FDCWD, "world", now_omit, 0), EPERM);
	int fd = open("world", O_RDONLY);
	CHECK_ERR("explicit futimens through an fd needs ownership too -> EPERM", futimens(fd, ts), EPERM);
	close(fd);
}

static struct sockaddr_un unix_addr(const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s/%s", t_tmpdir_path, name);
	return a;
}

/* A named socket is reached with write permission on it; binding one makes a name in
 * its directory; a watch needs read permission (net/unix/af_unix.c, fs/notify). */
static void sockets_and_watches(void)
{
	become_nobody(0, NULL);
	struct sockaddr_un a = unix_addr("rootsock");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_ERR("connect to a 0700 root socket -> EACCES", connect(s, (struct sockaddr *)&a, sizeof a), EACCES);
	close(s);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un b = unix_addr("mine.sock");
	CHECK_ERR("bind in a 0755 root directory -> EACCES", bind(s, (struct sockaddr *)&b, sizeof b), EACCES);
	close(s);
	int in = inotify_init1(IN_CLOEXEC);
	CHECK_ERR("watch a 0600 root file -> EACCES", inotify_add_watch(in, "secret", IN_MODIFY), EACCES);
	CHECK("watch a 0644 file", inotify_add_watch(in, "ro", IN_MODIFY) >= 0);
	close(in);
}

static void in_some_group(void)
{
	gid_t groups[1] = { SOME_GROUP };
	become_nobody(1, groups);
	CHECK_OK("a supplementary group reads a 0640 file of its group", open("grp", O_RDONLY));
	CHECK_ERR("but may not write it -> EACCES", open("grp", O_WRONLY), EACCES);
	CHECK_OK("it writes a 0660 file of its group", open("grpw", O_RDWR));
	CHECK_OK("access(R_OK|W_OK) through the group", access("grpw", R_OK | W_OK));
}

static void fs_uid_counts(void)
{
	CHECK_EQ("setfsuid(nobody) answers 0", syscall(SYS_setfsuid, NOBODY), 0);
	CHECK_ERR("with fs uid nobody a 0600 root file -> EACCES", open("secret", O_RDONLY), EACCES);
	CHECK_OK("access() still uses the real uid (root)", access("secret", R_OK | W_OK));
}

static void effective_not_real(void)
{
	CHECK_OK("setresuid(-1, nobody, -1)", syscall(SYS_setresuid, -1, NOBODY, -1));
	CHECK_ERR("open as effective nobody -> EACCES", open("secret", O_RDONLY), EACCES);
	CHECK_OK("access() with real root", access("secret", R_OK));
	CHECK_ERR("faccessat2(AT_EACCESS) with effective nobody -> EACCES",
		  syscall(SYS_faccessat2, AT_FDCWD, "secret", R_OK, AT_EACCESS), EACCES);
	CHECK_OK("faccessat2 without AT_EACCESS: real root", syscall(SYS_faccessat2, AT_FDCWD, "secret", R_OK, 0));
}

static void real_not_effective(void)
{
	CHECK_OK("setresuid(nobody, 0, 0)", syscall(SYS_setresuid, NOBODY, 0, 0));
	CHECK_OK("open as effective root", open("secret", O_RDONLY));
	CHECK_ERR("access() with real nobody -> EACCES", access("secret", R_OK), EACCES);
	CHECK_OK("faccessat(AT_EACCESS) as effective root", faccessat(AT_FDCWD, "secret", R_OK, AT_EACCESS));
}

static void root_needs_an_x_bit(void)
{
	CHECK_OK("root opens a 0000 file", open("none", O_RDWR));
	CHECK_OK("access(R_OK|W_OK) of a 0000 file as root", access("none", R_OK | W_OK));
	CHECK_ERR("access(X_OK) of a 0644 file as root -> EACCES", access("ro", X_OK), EACCES);
	CHECK_OK("access(X_OK) of a 0700 file as root", access("rootexec", X_OK));
	CHECK_ERR("execve of a 0644 script as root -> EACCES", execl("./noexec", "noexec", (char *)NULL), EACCES);
}

int main(void)
{
	CREDS_BEGIN_IN_TMPDIR();
	CHECK_OK("secret 0600", make_file("secret", 0, 0, 0600));
	CHECK_OK("ro 0644", make_file("ro", 0, 0, 0644));
	CHECK_OK("world 0666", make_file("world", 0, 0, 0666));
	CHECK_OK("grp 0640", make_file("grp", 0, SOME_GROUP, 0640));
	CHECK_OK("grpw 0660", make_file("grpw", 0, SOME_GROUP, 0660));
	CHECK_OK("none 0000", make_file("none", 0, 0, 0));
	int fd = open("rootexec", O_WRONLY | O_CREAT | O_TRUNC, 0700);
	CHECK("rootexec 0700", fd >= 0 && write(fd, "#!/bin/sh\nexit 3\n", 17) == 17 && close(fd) == 0);
	fd = open("noexec", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK("noexec 0644", fd >= 0 && write(fd, "#!/bin/sh\nexit 3\n", 17) == 17 && close(fd) == 0);
	in_child("nobody", unprivileged);
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un la = unix_addr("rootsock");
	CHECK_OK("bind a root socket", bind(ls, (struct sockaddr *)&la, sizeof la));
	CHECK_OK("listen", listen(ls, 4));
	CHECK_OK("chmod it 0700", chmod("rootsock", 0700));
	in_child("sockets and watches", sockets_and_watches);
	close(ls);
	in_child("nobody in a supplementary group", in_some_group);
	in_child("fs uid", fs_uid_counts);
	in_child("effective uid not the real one", effective_not_real);
	in_child("real uid not the effective one", real_not_effective);
	in_child("root", root_needs_an_x_bit);
	t_tmpdir_end();
	T_DONE();
}
