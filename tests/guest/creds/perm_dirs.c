/* Names in directories: every directory on a path needs search permission; making or
 * removing a name needs write and search permission on its directory; a sticky directory
 * lets only the owner of a file or of the directory remove it; chmod and chown by a
 * non-owner (fs/namei.c may_lookup, may_create, may_delete; fs/attr.c). */
#include "creds.h"

#define SOME_GROUP 100

/* What nobody makes is checked only through files root made for it: outside an imported
 * root a new file belongs to the host user (docs/security.md). */
static void nobody_walks_and_writes(void)
{
	become_nobody(0, NULL);
	struct stat st;
	CHECK_ERR("stat through a 0700 root directory -> EACCES", stat("closed/f", &st), EACCES);
	CHECK_ERR("open through it -> EACCES", open("closed/f", O_RDONLY), EACCES);
	CHECK_ERR("access(F_OK) through it -> EACCES", access("closed/f", F_OK), EACCES);
	CHECK_ERR("chdir into it -> EACCES", chdir("closed"), EACCES);
	CHECK_ERR("a symlink leading through it -> EACCES", stat("via", &st), EACCES);
	CHECK_OK("stat through a 0711 directory", stat("searchonly/f", &st));
	CHECK_ERR("but not list it -> EACCES", open("searchonly", O_RDONLY | O_DIRECTORY), EACCES);
	CHECK_ERR("creat in a 0755 root directory -> EACCES", open("shut/new", O_WRONLY | O_CREAT, 0644), EACCES);
	CHECK_ERR("mkdir there -> EACCES", mkdir("shut/d", 0755), EACCES);
	CHECK_ERR("mkfifo there -> EACCES", mkfifo("shut/p", 0644), EACCES);
	CHECK_ERR("symlink there -> EACCES", symlink("x", "shut/l"), EACCES);
	CHECK_ERR("mkdir of an existing name is EEXIST first", mkdir("shut/f", 0755), EEXIST);
	CHECK_ERR("unlink there -> EACCES", unlink("shut/f"), EACCES);
	CHECK_ERR("rmdir there -> EACCES", rmdir("shut/sub"), EACCES);
	CHECK_ERR("rename out of it -> EACCES", rename("shut/f", "open/f"), EACCES);
	CHECK_OK("creat in a 0777 directory", open("open/mine", O_WRONLY | O_CREAT, 0644));
	CHECK_ERR("link into a 0755 root directory -> EACCES", link("open/mine", "shut/mine"), EACCES);
	CHECK_ERR("rename into it -> EACCES", rename("open/mine", "shut/mine"), EACCES);
	CHECK_ERR("unlink another's file in a sticky directory -> EPERM", unlink("sticky/roots"), EPERM);
	CHECK_ERR("rmdir another's directory there -> EPERM", rmdir("sticky/rootdir"), EPERM);
	CHECK_ERR("rename another's file there -> EPERM", rename("sticky/roots", "sticky/x"), EPERM);
	CHECK_OK("creat in the sticky directory", open("sticky/mine", O_WRONLY | O_CREAT, 0644));
	CHECK_OK("rename one's own file there", rename("sticky/nobodys", "sticky/nobodys2"));
	CHECK_OK("unlink one's own file there", unlink("sticky/nobodys2"));
	CHECK_ERR("chmod of another's file -> EPERM", chmod("open/roots", 0777), EPERM);
	CHECK_ERR("chown of another's file to its own owner -> EPERM", chown("open/roots", 0, -1), EPERM);
	CHECK_OK("chown(-1, -1) of another's file", chown("open/roots", -1, -1));
	CHECK_ERR("chown of one's file to root -> EPERM", chown("open/own", 0, -1), EPERM);
	CHECK_OK("chown of one's file to itself", chown("open/own", NOBODY, -1));
	CHECK_ERR("chgrp of one's file to a group one is not in -> EPERM", chown("open/own", -1, SOME_GROUP), EPERM);
	CHECK_OK("chmod 02755 of one's file of another group", chmod("open/nobodys", 02755));
	CHECK_OK("stat it", stat("open/nobodys", &st));
	CHECK_EQ("set-group-id was cleared (not in the file's group)", st.st_mode & 07777, 0755);
}

static void nobody_in_the_group(void)
{
	gid_t groups[1] = { SOME_GROUP };
	become_nobody(1, groups);
	CHECK_OK("chmod 02755 in the file's group", chmod("open/nobodys", 02755));
	struct stat st;
	CHECK_OK("stat it", stat("open/nobodys", &st));
	CHECK_EQ("set-group-id is kept", st.st_mode & 07777, 02755);
	CHECK_OK("chgrp of one's file to a supplementary group", chown("open/nobodys", -1, SOME_GROUP));
	CHECK_OK("creat in a 0770 directory of that group", open("grpdir/new", O_WRONLY | O_CREAT, 0644));
}

static void owner_of_the_sticky_dir(void)
{
	become_nobody(0, NULL);
	CHECK_OK("the owner of a sticky directory removes another's file", unlink("nstick/roots"));
}

static void root_passes(void)
{
	struct stat st;
	CHECK_OK("root stats through a 0700 directory of another", stat("closed2/f", &st));
	CHECK_OK("root creates in a 0555 directory", open("readonly/new", O_WRONLY | O_CREAT, 0644));
	CHECK_OK("root removes another's file in a sticky directory", unlink("sticky/nobodys3"));
}

int main(void)
{
	CREDS_BEGIN_IN_TMPDIR();
	umask(0);
	CHECK_OK("closed/ 0700", mkdir("closed", 0700));
	CHECK_OK("closed/f", make_file("closed/f", 0, 0, 0644));
	CHECK_OK("via -> closed/f", symlink("closed/f", "via"));
	CHECK_OK("searchonly/ 0711", mkdir("searchonly", 0711));
	CHECK_OK("searchonly/f", make_file("searchonly/f", 0, 0, 0644));
	CHECK_OK("shut/ 0755", mkdir("shut", 0755));
	CHECK_OK("shut/f", make_file("shut/f", 0, 0, 0666));
	CHECK_OK("shut/sub/", mkdir("shut/sub", 0777));
	CHECK_OK("open/ 0777", mkdir("open", 0777));
	CHECK_OK("open/roots", make_file("open/roots", 0, 0, 0666));
	CHECK_OK("open/nobodys of group 100", make_file("open/nobodys", NOBODY, SOME_GROUP, 0644));
	CHECK_OK("sticky/ 01777", mkdir("sticky", 01777));
	CHECK_OK("sticky/roots", make_file("sticky/roots", 0, 0, 0666));
	CHECK_OK("sticky/rootdir/", mkdir("sticky/rootdir", 0777));
	CHECK_OK("sticky/nobodys", make_file("sticky/nobodys", NOBODY, NOBODY, 0644));
	CHECK_OK("sticky/nobodys3", make_file("sticky/nobodys3", NOBODY, NOBODY, 0644));
	CHECK_OK("open/own of nobody", make_file("open/own", NOBODY, NOBODY, 0644));
	CHECK_OK("nstick/ 01777 of nobody", mkdir("nstick", 01777) || chown("nstick", NOBODY, NOBODY));
	CHECK_OK("nstick/roots", make_file("nstick/roots", 0, 0, 0644));
	CHECK_OK("grpdir/ 0770 of group 100", mkdir("grpdir", 0770) || chown("grpdir", 0, SOME_GROUP));
	CHECK_OK("closed2/ 0700 of nobody", mkdir("closed2", 0700) || chown("closed2", NOBODY, NOBODY));
	CHECK_OK("closed2/f", make_file("closed2/f", NOBODY, NOBODY, 0600));
	CHECK_OK("readonly/ 0555", mkdir("readonly", 0555));
	in_child("nobody", nobody_walks_and_writes);
	in_child("nobody in group 100", nobody_in_the_group);
	in_child("nobody owning a sticky directory", owner_of_the_sticky_dir);
	in_child("root", root_passes);
	t_tmpdir_end();
	T_DONE();
}
