// Unix-domain sockets: socketpair, SCM_RIGHTS (and its truncation), named
// stream and datagram sockets, abstract names, and Linux's errors.
#include "../test.h"
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

static socklen_t sun_of(struct sockaddr_un *a, const char *path, int abstract)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	if (abstract) {
		memcpy(a->sun_path + 1, path, strlen(path));
		return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path);
	}
	strcpy(a->sun_path, path);
	return sizeof *a;
}

static int send_fds(int s, int *fds, int n)
{
	char data = 'F';
	struct iovec iov = { &data, 1 };
	union { char buf[CMSG_SPACE(8 * sizeof(int))]; struct cmsghdr align; } u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	return sendmsg(s, &m, 0);
}

int main(void)
{
	T_BEGIN();
	int sv[2];
	CHECK_OK("socketpair", socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	CHECK_EQ("SOCK_CLOEXEC sets FD_CLOEXEC", fcntl(sv[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	int v = 0;
	socklen_t l = sizeof v;
	CHECK_OK("SO_TYPE", getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &l));
	CHECK_EQ("SO_TYPE is stream", v, SOCK_STREAM);
	l = sizeof v;
	CHECK_OK("SO_DOMAIN", getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &v, &l));
	CHECK_EQ("SO_DOMAIN is AF_UNIX", v, AF_UNIX);
	struct ucred cr;
	l = sizeof cr;
	CHECK_OK("SO_PEERCRED", getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cr, &l));
	CHECK_EQ("SO_PEERCRED pid is ours", cr.pid, getpid());
	CHECK_EQ("SO_PEERCRED uid is ours", cr.uid, getuid());

	/* SCM_RIGHTS: a pipe's read end crosses and still reads the pipe. */
	int p[2];
	CHECK_OK("pipe", pipe(p));
	CHECK_EQ("write to pipe", write(p[1], "piped", 5), 5);
	CHECK_EQ("sendmsg with SCM_RIGHTS", send_fds(sv[0], &p[0], 1), 1);
	char data;
	struct iovec iov = { &data, 1 };
	union { char buf[CMSG_SPACE(8 * sizeof(int))]; struct cmsghdr align; } u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	CHECK_EQ("recvmsg", recvmsg(sv[1], &m, MSG_CMSG_CLOEXEC), 1);
	CHECK_EQ("msg_flags carries the MSG_CMSG_CLOEXEC asked for", m.msg_flags, MSG_CMSG_CLOEXEC);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	CHECK("one SCM_RIGHTS message", c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS);
	CHECK_EQ("cmsg_len for one fd", c ? c->cmsg_len : 0, CMSG_LEN(sizeof(int)));
	CHECK_EQ("msg_controllen", m.msg_controllen, CMSG_SPACE(sizeof(int)));
	int got = -1;
	if (c)
		memcpy(&got, CMSG_DATA(c), sizeof got);
	char buf[64] = { 0 };
	CHECK_EQ("the passed fd reads the pipe", read(got, buf, sizeof buf), 5);
	CHECK_STR("pipe data", buf, "piped");
	CHECK_EQ("MSG_CMSG_CLOEXEC", fcntl(got, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(got);

	/* Three fds into room for two: MSG_CTRUNC, and only two arrive. */
	int three[3] = { p[0], p[1], p[0] };
	CHECK_EQ("send three fds", send_fds(sv[0], three, 3), 1);
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } small;
	struct msghdr m2 = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = small.buf, .msg_controllen = sizeof small.buf };
	CHECK_EQ("recvmsg into a short control buffer", recvmsg(sv[1], &m2, 0), 1);
	CHECK_EQ("MSG_CTRUNC", m2.msg_flags & MSG_CTRUNC, MSG_CTRUNC);
	c = CMSG_FIRSTHDR(&m2);
	CHECK_EQ("truncated cmsg_len", c ? c->cmsg_len : 0, CMSG_LEN(2 * sizeof(int)));
	if (c) {
		int two[2];
		memcpy(two, CMSG_DATA(c), sizeof two);
		close(two[0]);
		close(two[1]);
	}
	/* No control buffer at all: the fds are dropped, MSG_CTRUNC says so. */
	CHECK_EQ("send one more fd", send_fds(sv[0], &p[0], 1), 1);
	struct msghdr m3 = { .msg_iov = &iov, .msg_iovlen = 1 };
	CHECK_EQ("recvmsg without control", recvmsg(sv[1], &m3, 0), 1);
	CHECK_EQ("MSG_CTRUNC without control", m3.msg_flags & MSG_CTRUNC, MSG_CTRUNC);
	CHECK_ERR("passing a closed fd", send_fds(sv[0], (int[]){ 999 }, 1), EBADF);

	/* SO_PASSCRED: each message carries the sender's credentials. */
	int on = 1;
	CHECK_OK("SO_PASSCRED", setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
	CHECK_EQ("send for credentials", send(sv[0], "c", 1, 0), 1);
	union { char buf[CMSG_SPACE(sizeof(struct ucred))]; struct cmsghdr align; } cu;
	struct msghdr mc = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cu.buf, .msg_controllen = sizeof cu.buf };
	CHECK_EQ("recvmsg with SO_PASSCRED", recvmsg(sv[1], &mc, 0), 1);
	c = CMSG_FIRSTHDR(&mc);
	CHECK("an SCM_CREDENTIALS message", c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS);
	struct ucred sent = { 0 };
	if (c)
		memcpy(&sent, CMSG_DATA(c), sizeof sent);
	CHECK_EQ("SCM_CREDENTIALS pid", sent.pid, getpid());
	CHECK_EQ("SCM_CREDENTIALS uid", sent.uid, getuid());

	/* Peer gone: EPIPE, and SIGPIPE unless MSG_NOSIGNAL. */
	close(sv[1]);
	signal(SIGPIPE, SIG_IGN);
	CHECK_ERR("send to a closed peer", send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
	CHECK_ERR("write to a closed peer (SIGPIPE ignored)", send(sv[0], "x", 1, 0), EPIPE);
	close(sv[0]);

	/* Named sockets live in the guest's tree. */
	char dir[] = "/tmp/mactux-unix-XXXXXX";
	CHECK("mkdtemp", mkdtemp(dir) != NULL);
	CHECK_OK("chdir", chdir(dir));
	struct sockaddr_un a, b;
	int srv = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK("bind a relative path", bind(srv, (struct sockaddr *)&a, sun_of(&a, "srv.sock", 0)));
	struct stat st;
	CHECK_OK("the socket file exists", stat("srv.sock", &st));
	CHECK("it is a socket", S_ISSOCK(st.st_mode));
	CHECK_ERR("bind again: EADDRINUSE", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, sizeof a), EADDRINUSE);
	l = sizeof b;
	CHECK_OK("getsockname", getsockname(srv, (struct sockaddr *)&b, &l));
	CHECK_STR("getsockname gives the bound name", b.sun_path, "srv.sock");
	CHECK_EQ("getsockname length", l, offsetof(struct sockaddr_un, sun_path) + strlen("srv.sock") + 1);
	CHECK_OK("listen", listen(srv, 4));
	int cl = socket(AF_UNIX, SOCK_STREAM, 0);
	char abs_path[200];
	snprintf(abs_path, sizeof abs_path, "%s/srv.sock", dir);
	int cl2 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK("connect by absolute path", connect(cl2, (struct sockaddr *)&a, sun_of(&a, abs_path, 0)));
	close(cl2);
	close(accept(srv, NULL, NULL));
	CHECK_OK("connect by relative path", connect(cl, (struct sockaddr *)&a, sun_of(&a, "srv.sock", 0)));
	int acc = accept4(srv, NULL, NULL, SOCK_NONBLOCK);
	CHECK("accept4", acc >= 0);
	CHECK_EQ("accept4 SOCK_NONBLOCK", fcntl(acc, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	CHECK_ERR("nothing to read yet: EAGAIN", recv(acc, buf, 1, 0), EAGAIN);
	l = sizeof b;
	CHECK_OK("getpeername", getpeername(cl, (struct sockaddr *)&b, &l));
	CHECK_STR("getpeername gives the server's name", b.sun_path, "srv.sock");
	CHECK_EQ("send", send(cl, "hello", 5, 0), 5);
	memset(buf, 0, sizeof buf);
	CHECK_EQ("recv MSG_WAITALL", recv(acc, buf, 5, MSG_WAITALL), 5);
	CHECK_STR("stream data", buf, "hello");
	close(cl);
	CHECK_EQ("EOF after close", recv(acc, buf, 5, 0), 0);
	close(acc);

	/* SO_PEERCRED names a connecting child by its pid. */
	pid_t child = fork();
	if (child == 0) {
		int k = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un ka;
		_exit(connect(k, (struct sockaddr *)&ka, sun_of(&ka, "srv.sock", 0)) == 0 && read(k, buf, 1) == 1 ? 0 : 1);
	}
	acc = accept(srv, NULL, NULL);
	CHECK("accept the child", acc >= 0);
	l = sizeof cr;
	CHECK_OK("SO_PEERCRED of the child", getsockopt(acc, SOL_SOCKET, SO_PEERCRED, &cr, &l));
	CHECK_EQ("the child's pid", cr.pid, child);
	CHECK_EQ("release the child", write(acc, "k", 1), 1);
	int wst;
	CHECK_EQ("wait for the child", waitpid(child, &wst, 0), child);
	CHECK_EQ("the child connected", wst, 0);
	close(acc);
	close(srv);
	CHECK_ERR("connect to a missing path", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, sun_of(&a, "nope.sock", 0)), ENOENT);

	/* Datagrams: addresses, MSG_TRUNC. */
	int d1 = socket(AF_UNIX, SOCK_DGRAM, 0), d2 = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_OK("bind dgram 1", bind(d1, (struct sockaddr *)&a, sun_of(&a, "d1", 0)));
	CHECK_OK("bind dgram 2", bind(d2, (struct sockaddr *)&b, sun_of(&b, "d2", 0)));
	CHECK_EQ("sendto a path", sendto(d2, "datagram!", 9, 0, (struct sockaddr *)&a, sizeof a), 9);
	memset(buf, 0, sizeof buf);
	CHECK_EQ("recv with MSG_TRUNC gives the real length", recv(d1, buf, 4, MSG_TRUNC), 9);
	CHECK_MEM("the first bytes", buf, "data", 4);
	CHECK_EQ("sendto again", sendto(d2, "dgram", 5, 0, (struct sockaddr *)&a, sizeof a), 5);
	struct msghdr m4 = { .msg_iov = &(struct iovec){ buf, 3 }, .msg_iovlen = 1 };
	CHECK_EQ("recvmsg of a longer datagram", recvmsg(d1, &m4, 0), 3);
	CHECK_EQ("MSG_TRUNC in msg_flags", m4.msg_flags & MSG_TRUNC, MSG_TRUNC);
	/* From an unbound socket to an absolute path, by sendto and sendmsg. */
	char d1_path[200];
	snprintf(d1_path, sizeof d1_path, "%s/d1", dir);
	int d3 = socket(AF_UNIX, SOCK_DGRAM, 0);
	sun_of(&b, d1_path, 0);
	CHECK_EQ("sendto an absolute path", sendto(d3, "abs", 3, 0, (struct sockaddr *)&b, sizeof b), 3);
	struct msghdr m5 = { .msg_name = &b, .msg_namelen = sizeof b, .msg_iov = &(struct iovec){ "msg", 3 }, .msg_iovlen = 1 };
	CHECK_EQ("sendmsg to an absolute path", sendmsg(d3, &m5, 0), 3);
	memset(buf, 0, sizeof buf);
	l = sizeof a;
	CHECK_EQ("recvfrom the unbound sender", recvfrom(d1, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&a, &l), 3);
	CHECK_STR("its datagram", buf, "abs");
	CHECK_EQ("an unbound sender has no address", l, 0);
	memset(buf, 0, sizeof buf);
	CHECK_EQ("recv the sendmsg datagram", recv(d1, buf, sizeof buf, MSG_DONTWAIT), 3);
	CHECK_STR("its bytes", buf, "msg");
	sun_of(&b, "/nonexistent-dir/d1", 0);
	CHECK_ERR("sendto a missing absolute path", sendto(d3, "x", 1, 0, (struct sockaddr *)&b, sizeof b), ENOENT);
	close(d3);
	/* An echo: the receiver answers to the address recvfrom gave, the
	 * sender's name as it bound it (an absolute path). */
	char d4_path[200];
	snprintf(d4_path, sizeof d4_path, "%s/d4", dir);
	int d4 = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_OK("bind an absolute path", bind(d4, (struct sockaddr *)&b, sun_of(&b, d4_path, 0)));
	CHECK_EQ("send to d1", sendto(d4, "ping", 4, 0, (struct sockaddr *)&a, sun_of(&a, "d1", 0)), 4);
	struct sockaddr_un from;
	memset(&from, 0, sizeof from);
	l = sizeof from;
	memset(buf, 0, sizeof buf);
	CHECK_EQ("recvfrom a bound sender", recvfrom(d1, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &l), 4);
	CHECK_STR("the sender's name is the path it bound", from.sun_path, d4_path);
	CHECK_EQ("reply to that address", sendto(d1, "pong", 4, 0, (struct sockaddr *)&from, l), 4);
	memset(buf, 0, sizeof buf);
	CHECK_EQ("the reply arrives", recv(d4, buf, sizeof buf, MSG_DONTWAIT), 4);
	CHECK_STR("... intact", buf, "pong");
	close(d4);
	unlink("d4");
	close(d1);
	close(d2);
	unlink("srv.sock");
	unlink("d1");
	unlink("d2");

	/* Abstract names: no file, the name comes back, EADDRINUSE while bound. */
	char name[64];
	snprintf(name, sizeof name, "mactux-test-%s", dir + 5);
	int ab = socket(AF_UNIX, SOCK_STREAM, 0);
	socklen_t alen = sun_of(&a, name, 1);
	CHECK_OK("bind an abstract name", bind(ab, (struct sockaddr *)&a, alen));
	CHECK_ERR("bind it twice", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, alen), EADDRINUSE);
	l = sizeof b;
	CHECK_OK("getsockname of an abstract socket", getsockname(ab, (struct sockaddr *)&b, &l));
	CHECK_EQ("abstract name length", l, alen);
	CHECK_MEM("abstract name", b.sun_path, a.sun_path, alen - offsetof(struct sockaddr_un, sun_path));
	CHECK_OK("listen abstract", listen(ab, 1));
	int ac = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK("connect abstract", connect(ac, (struct sockaddr *)&a, alen));
	close(ac);
	close(ab);
	ab = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK("the name is free again after close", bind(ab, (struct sockaddr *)&a, alen));
	close(ab);
	CHECK_ERR("connect to an unbound abstract name", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, alen), ECONNREFUSED);

	/* Linux's errors for bad arguments. */
	CHECK_ERR("unknown family", socket(12345, SOCK_STREAM, 0), EAFNOSUPPORT);
	CHECK_ERR("unknown type flag", socket(AF_UNIX, SOCK_STREAM | 0x100000, 0), EINVAL);
	CHECK_ERR("unknown type", socket(AF_UNIX, 9, 0), ESOCKTNOSUPPORT);
	CHECK_ERR("bad protocol", socket(AF_UNIX, SOCK_STREAM, 7), EPROTONOSUPPORT);
	CHECK_ERR("inet socketpair", socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_ERR("address too long", bind(s, (struct sockaddr *)&a, sizeof a + 1), EINVAL);
	CHECK_ERR("bad address pointer", bind(s, (struct sockaddr *)8, sizeof a), EFAULT);
	CHECK_ERR("unknown option", getsockopt(s, SOL_SOCKET, 9999, &v, &l), ENOPROTOOPT);
	CHECK_ERR("getsockname on a pipe", getsockname(p[0], (struct sockaddr *)&b, &l), ENOTSOCK);
	CHECK_ERR("getpeername unconnected", getpeername(s, (struct sockaddr *)&b, &l), ENOTCONN);
	CHECK_ERR("accept4 bad flags", accept4(s, NULL, NULL, 1), EINVAL);
	CHECK_OK("rmdir", rmdir(dir));
	T_DONE();
}
