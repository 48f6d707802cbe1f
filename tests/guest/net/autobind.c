// Autobind, unix(7): binding a Unix socket to an address of sizeof(sa_family_t)
// bytes gives it an abstract name of five hex digits (unix_autobind in
// net/unix/af_unix.c), different for each socket; binding so again keeps the
// name, naming it explicitly afterwards is EINVAL. Others reach it by that name,
// and a datagram peer sees it as the sender. A socket with SO_PASSCRED is
// autobound when it connects or sends a datagram unnamed (unix_stream_connect,
// unix_dgram_sendmsg). (Every receive is non-blocking:
// a datagram to a Unix socket is queued by the time sendto returns.)
#include "../test.h"
#include <stddef.h>
#include <sys/un.h>

/* The autobound name of `s` ("" if it does not look like one). */
static const char *autoname(int s)
{
	static char out[8];
	struct sockaddr_un a;
	socklen_t len = sizeof a;
	memset(&a, 'x', sizeof a);
	if (getsockname(s, (struct sockaddr *)&a, &len) < 0)
		return "";
	if (len != offsetof(struct sockaddr_un, sun_path) + 6 || a.sun_path[0] != '\0')
		return "";
	for (int i = 1; i < 6; i++)
		if (!strchr("0123456789abcdef", a.sun_path[i]) || a.sun_path[i] == '\0')
			return "";
	memcpy(out, a.sun_path + 1, 5);
	out[5] = '\0';
	return out;
}

static socklen_t unnamed_len(void) { return offsetof(struct sockaddr_un, sun_path); }

int main(void)
{
	T_BEGIN();
	struct sockaddr_un none = { .sun_family = AF_UNIX };
	int s1 = socket(AF_UNIX, SOCK_STREAM, 0);
	int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK("autobind a stream socket", bind(s1, (struct sockaddr *)&none, unnamed_len()));
	char name1[8];
	snprintf(name1, sizeof name1, "%s", autoname(s1));
	CHECK("its name is five hex digits in the abstract namespace", name1[0] != '\0');
	CHECK_OK("autobind another", bind(s2, (struct sockaddr *)&none, unnamed_len()));
	CHECK("the two names differ", autoname(s2)[0] != '\0' && strcmp(autoname(s2), name1) != 0);
	CHECK_OK("autobind again", bind(s1, (struct sockaddr *)&none, unnamed_len()));
	CHECK_STR("keeps the name", autoname(s1), name1);
	struct sockaddr_un named = { .sun_family = AF_UNIX };
	memcpy(named.sun_path, "\0mactux-autobind-test", 21);
	CHECK_ERR("naming it afterwards", bind(s1, (struct sockaddr *)&named, offsetof(struct sockaddr_un, sun_path) + 21), EINVAL);

	// Reached by its name.
	CHECK_OK("listen", listen(s1, 1));
	struct sockaddr_un to = { .sun_family = AF_UNIX };
	memcpy(to.sun_path + 1, name1, 5);
	socklen_t to_len = offsetof(struct sockaddr_un, sun_path) + 6;
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK("connect to the autobound name", connect(c, (struct sockaddr *)&to, to_len));
	fcntl(s1, F_SETFL, O_NONBLOCK);
	int a = accept4(s1, NULL, NULL, SOCK_NONBLOCK);
	CHECK("accepted", a >= 0);
	char buf[16] = { 0 };
	CHECK_EQ("write", write(c, "auto", 4), 4);
	CHECK_EQ("read", read(a, buf, sizeof buf), 4);
	close(a);
	close(c);
	close(s1);
	close(s2);

	// Datagrams: an unbound sender shows as unnamed, an autobound one by its name.
	int d1 = socket(AF_UNIX, SOCK_DGRAM, 0);
	int d2 = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_OK("autobind a datagram socket", bind(d1, (struct sockaddr *)&none, unnamed_len()));
	memcpy(to.sun_path + 1, autoname(d1), 5);
	CHECK_EQ("send from an unbound socket", sendto(d2, "1", 1, 0, (struct sockaddr *)&to, to_len), 1);
	struct sockaddr_un from;
	socklen_t from_len = sizeof from;
	CHECK_EQ("receive", recvfrom(d1, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &from_len), 1);
	CHECK_EQ("the sender is unnamed", from_len, 0);
	CHECK_OK("autobind the sender", bind(d2, (struct sockaddr *)&none, unnamed_len()));
	char name2[8];
	snprintf(name2, sizeof name2, "%s", autoname(d2));
	CHECK_EQ("send again", sendto(d2, "2", 1, 0, (struct sockaddr *)&to, to_len), 1);
	from_len = sizeof from;
	CHECK_EQ("receive again", recvfrom(d1, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &from_len), 1);
	CHECK_EQ("the sender's name length", from_len, offsetof(struct sockaddr_un, sun_path) + 6);
	CHECK("the sender's name", from.sun_path[0] == '\0' && memcmp(from.sun_path + 1, name2, 5) == 0);
	CHECK_EQ("reply to it", sendto(d1, "3", 1, 0, (struct sockaddr *)&from, from_len), 1);
	CHECK_EQ("the reply arrives", recv(d2, buf, sizeof buf, MSG_DONTWAIT), 1);
	CHECK_EQ("the reply", buf[0], '3');
	close(d1);
	close(d2);

	// With SO_PASSCRED, connect and a datagram send autobind first, so the
	// peer can tell who it is; without, the socket stays unnamed.
	int one = 1;
	int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK("autobind a listener", bind(l2, (struct sockaddr *)&none, unnamed_len()));
	CHECK_OK("listen on it", listen(l2, 4));
	memcpy(to.sun_path + 1, autoname(l2), 5);
	int pc = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK("SO_PASSCRED", setsockopt(pc, SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
	CHECK_OK("connect with SO_PASSCRED", connect(pc, (struct sockaddr *)&to, to_len));
	CHECK("the connecting socket got a name", autoname(pc)[0] != '\0');
	int plain = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK("connect without", connect(plain, (struct sockaddr *)&to, to_len));
	CHECK_STR("stays unnamed", autoname(plain), "");
	close(pc);
	close(plain);
	close(l2);
	int dl = socket(AF_UNIX, SOCK_DGRAM, 0);
	int ds = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_OK("autobind a datagram receiver", bind(dl, (struct sockaddr *)&none, unnamed_len()));
	memcpy(to.sun_path + 1, autoname(dl), 5);
	CHECK_OK("SO_PASSCRED on the sender", setsockopt(ds, SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
	CHECK_EQ("send with SO_PASSCRED", sendto(ds, "4", 1, 0, (struct sockaddr *)&to, to_len), 1);
	from_len = sizeof from;
	CHECK_EQ("received from it", recvfrom(dl, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &from_len), 1);
	CHECK_EQ("the sender has a name", from_len, offsetof(struct sockaddr_un, sun_path) + 6);
	CHECK("the sender's autobound name", autoname(ds)[0] != '\0' && memcmp(from.sun_path + 1, autoname(ds), 5) == 0);
	close(dl);
	close(ds);
	T_DONE();
}
