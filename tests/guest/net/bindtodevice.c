// SO_BINDTODEVICE and SO_BINDTOIFINDEX, socket(7), as curl --interface and
// ping -I set them: the name is at most IFNAMSIZ-1 bytes and need not end in
// NUL; "" or an empty value unbinds; an unknown name is ENODEV; reading the
// name back needs IFNAMSIZ bytes of room (EINVAL) unless the socket is not
// bound, which reads back as length 0 (net/core/sock.c, sock_setbindtodevice
// and sock_getbindtodevice). A socket bound to the loopback still reaches
// 127.0.0.1. Changing a binding needs CAP_NET_RAW (sock_bindtoindex_locked).
#include "../test.h"
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif

/* Whether CAP_NET_RAW (bit 13) is in the effective set, from /proc/self/status. */
static int has_net_raw(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long eff = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	return (eff >> 13) & 1;
}

/* The bound name as getsockopt gives it with `room` bytes: the name, or "" for
 * length 0, or "-errno". */
static const char *bound_name(int s, socklen_t room)
{
	static char out[64];
	char buf[64];
	memset(buf, 'x', sizeof buf);
	socklen_t len = room;
	if (getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, buf, &len) < 0) {
		snprintf(out, sizeof out, "-%d", errno);
		return out;
	}
	if (len == 0)
		return "";
	if (len > 32 || buf[len - 1] != '\0') {
		snprintf(out, sizeof out, "bad length %u", (unsigned)len);
		return out;
	}
	snprintf(out, sizeof out, "%s", buf);
	return out;
}

int main(void)
{
	T_BEGIN();
	unsigned lo = if_nametoindex("lo");
	CHECK("the loopback has an index", lo > 0);

	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_STR("an unbound socket reads back length 0", bound_name(s, IFNAMSIZ), "");
	CHECK_STR("even with little room", bound_name(s, 1), "");
	CHECK_EQ("SO_BINDTOIFINDEX unbound", t_sockopt_int(s, SOL_SOCKET, SO_BINDTOIFINDEX), 0);
	CHECK_ERR("an unknown interface", setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "nosuchdev0", 11), ENODEV);
	CHECK_OK("\"\" unbinds an unbound socket", setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "", 1));
	CHECK_OK("an empty value too", setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, NULL, 0));
	CHECK_OK("bind to lo, no NUL", setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2));
	CHECK_STR("lo read back", bound_name(s, IFNAMSIZ), "lo");
	CHECK_STR("room for the name but not IFNAMSIZ", bound_name(s, IFNAMSIZ - 1), "-22");
	CHECK_EQ("SO_BINDTOIFINDEX of lo", t_sockopt_int(s, SOL_SOCKET, SO_BINDTOIFINDEX), lo);

	// A socket bound to lo connects to a loopback listener.
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	CHECK_OK("bind the listener", bind(l, (struct sockaddr *)&a, sizeof a));
	CHECK_OK("listen", listen(l, 1));
	CHECK_OK("getsockname", getsockname(l, (struct sockaddr *)&a, &al));
	CHECK_OK("connect through lo", connect(s, (struct sockaddr *)&a, sizeof a));
	int c = accept(l, NULL, NULL);
	CHECK("accepted", c >= 0);
	CHECK_EQ("data through lo", write(s, "lo", 2), 2);
	char got[4] = { 0 };
	CHECK_EQ("data read", read(c, got, sizeof got), 2);
	close(c);

	// Changing a binding needs CAP_NET_RAW.
	if (has_net_raw()) {
		CHECK_OK("unbind with CAP_NET_RAW", setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "", 1));
		CHECK_STR("unbound again", bound_name(s, IFNAMSIZ), "");
	} else {
		CHECK_ERR("unbind without CAP_NET_RAW", setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "", 1), EPERM);
		t_ok("unbound again");
	}
	close(s);
	close(l);

	// At most IFNAMSIZ-1 bytes count: "lo" then NULs and more is "lo"; a name
	// longer than that is cut, and no interface has the cut name.
	int t = socket(AF_INET, SOCK_STREAM, 0);
	char padded[24] = "lo";
	memcpy(padded + 16, "garbage", 7);
	CHECK_OK("a long value starting with lo", setsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, padded, sizeof padded));
	CHECK_STR("is lo", bound_name(t, sizeof padded), "lo");
	close(t);
	t = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_ERR("a name too long", setsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, "lo_and_much_more_than_that", 26), ENODEV);
	close(t);

	// SO_BINDTOIFINDEX on a datagram socket, read back by name.
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	int bad = -1;
	CHECK_ERR("a negative index", setsockopt(u, SOL_SOCKET, SO_BINDTOIFINDEX, &bad, sizeof bad), EINVAL);
	int idx = (int)lo;
	CHECK_OK("SO_BINDTOIFINDEX lo", setsockopt(u, SOL_SOCKET, SO_BINDTOIFINDEX, &idx, sizeof idx));
	CHECK_STR("read back by name", bound_name(u, IFNAMSIZ), "lo");
	a.sin_port = 0;
	CHECK_OK("bind the datagram socket", bind(u, (struct sockaddr *)&a, sizeof a));
	al = sizeof a;
	CHECK_OK("its name", getsockname(u, (struct sockaddr *)&a, &al));
	CHECK_EQ("a datagram to itself through lo", sendto(u, "d", 1, 0, (struct sockaddr *)&a, sizeof a), 1);
	CHECK_EQ("received", recv(u, got, sizeof got, 0), 1);
	close(u);
	T_DONE();
}
