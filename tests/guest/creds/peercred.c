/* SO_PEERCRED and SCM_CREDENTIALS of a peer that connected after dropping root: its
 * pid and new uid and gid; an unprivileged sender may not claim uid 0. */
#include "creds.h"
#include <sys/socket.h>
#include <sys/un.h>

static int send_creds(int fd, pid_t pid, uid_t uid, gid_t gid)
{
	char byte = 'x';
	struct iovec iov = {&byte, 1};
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	struct msghdr m = {0};
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof u.buf;
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_CREDENTIALS;
	c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
	struct ucred cr = {pid, uid, gid};
	memcpy(CMSG_DATA(c), &cr, sizeof cr);
	return sendmsg(fd, &m, 0) == 1 ? 0 : -1;
}

int main(void)
{
	CREDS_BEGIN_IN_TMPDIR();
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, t_tmpdir_path);
	strcat(a.sun_path, "/sock");
	CHECK_OK("bind", bind(l, (struct sockaddr *)&a, sizeof a));
	CHECK_OK("chmod the socket 0777", chmod("sock", 0777));
	CHECK_OK("listen", listen(l, 1));
	int on = 1;
	CHECK_OK("SO_PASSCRED", setsockopt(l, SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
	int ready[2];
	CHECK_OK("pipe", pipe(ready));
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(l);
		close(ready[1]);
		if (syscall(SYS_setresgid, 100, 100, 100) || syscall(SYS_setresuid, 1000, 1000, 1000))
			_exit(2);
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&a, sizeof a))
			_exit(3);
		if (send_creds(s, getpid(), 0, 100) == 0 || errno != EPERM)
			_exit(4);
		if (send_creds(s, getpid(), 1000, 100))
			_exit(5);
		char b;
		read(ready[0], &b, 1);
		_exit(0);
	}
	close(ready[0]);
	int c = accept(l, NULL, NULL);
	CHECK("accept", c >= 0);
	char byte;
	char buf[CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = {&byte, 1};
	struct msghdr m = {0};
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = buf;
	m.msg_controllen = sizeof buf;
	CHECK_EQ("recvmsg", recvmsg(c, &m, 0), 1);
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	CHECK("an SCM_CREDENTIALS message", h && h->cmsg_type == SCM_CREDENTIALS);
	if (h) {
		struct ucred got;
		memcpy(&got, CMSG_DATA(h), sizeof got);
		CHECK_EQ("SCM_CREDENTIALS pid", got.pid, pid);
		CHECK_EQ("SCM_CREDENTIALS uid", got.uid, 1000);
		CHECK_EQ("SCM_CREDENTIALS gid", got.gid, 100);
	}
	struct ucred pc;
	socklen_t len = sizeof pc;
	CHECK_OK("SO_PEERCRED", getsockopt(c, SOL_SOCKET, SO_PEERCRED, &pc, &len));
	CHECK_EQ("peer pid", pc.pid, pid);
	CHECK_EQ("peer uid: the ids it connected with", pc.uid, 1000);
	CHECK_EQ("peer gid", pc.gid, 100);
	close(ready[1]);
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK_EQ("the client's checks", WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
	close(c);
	close(l);
	t_tmpdir_end();
	T_DONE();
}
