// TCP and UDP on the loopback: names, options, non-blocking connect and
// SO_ERROR, MSG_PEEK/MSG_DONTWAIT, UDP addresses and sendmmsg/recvmmsg,
// SIGPIPE and MSG_NOSIGNAL, and EINTR versus SA_RESTART on a blocking recv.
#include "../test.h"
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/time.h>

static struct sockaddr_in loopback(unsigned short port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static volatile sig_atomic_t pipes, alarms;
static int wake_fd = -1;
static void on_pipe(int sig) { (void)sig; pipes++; }
static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
	if (wake_fd >= 0)
		(void)!write(wake_fd, "w", 1);
}

static void arm(int restart, int wake)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = restart ? SA_RESTART : 0 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	wake_fd = wake;
	struct itimerval it = { .it_value = { 0, 100000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

int main(void)
{
	T_BEGIN();
	int srv = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK("socket", srv >= 0);
	CHECK_EQ("SO_DOMAIN", t_sockopt_int(srv, SOL_SOCKET, SO_DOMAIN), AF_INET);
	CHECK_EQ("SO_PROTOCOL", t_sockopt_int(srv, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP);
	int one = 1;
	CHECK_OK("SO_REUSEADDR", setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
	CHECK("SO_REUSEADDR reads back", t_sockopt_int(srv, SOL_SOCKET, SO_REUSEADDR) != 0);
	struct sockaddr_in a = loopback(0), b;
	CHECK_OK("bind 127.0.0.1:0", bind(srv, (struct sockaddr *)&a, sizeof a));
	socklen_t l = sizeof b;
	CHECK_OK("getsockname", getsockname(srv, (struct sockaddr *)&b, &l));
	CHECK_EQ("address length", l, sizeof b);
	CHECK_EQ("family", b.sin_family, AF_INET);
	CHECK("a port was chosen", b.sin_port != 0);
	CHECK_EQ("address", ntohl(b.sin_addr.s_addr), INADDR_LOOPBACK);
	CHECK_EQ("not listening", t_sockopt_int(srv, SOL_SOCKET, SO_ACCEPTCONN), 0);
	CHECK_OK("listen", listen(srv, 8));
	CHECK_EQ("listening", t_sockopt_int(srv, SOL_SOCKET, SO_ACCEPTCONN), 1);
	/* No busy-poll queue on loopback (Java's NIO asks, as jdk.net's
	 * SO_INCOMING_NAPI_ID); the option is read-only. */
	CHECK_EQ("SO_INCOMING_NAPI_ID", t_sockopt_int(srv, SOL_SOCKET, SO_INCOMING_NAPI_ID), 0);
	int napi = 1;
	CHECK_ERR("SO_INCOMING_NAPI_ID cannot be set", setsockopt(srv, SOL_SOCKET, SO_INCOMING_NAPI_ID, &napi, sizeof napi), ENOPROTOOPT);
	CHECK_ERR("accept with nothing pending", accept(srv, NULL, NULL), EAGAIN);

	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int r = connect(c, (struct sockaddr *)&b, sizeof b);
	CHECK("non-blocking connect", r == 0 || errno == EINPROGRESS);
	struct pollfd p = { c, POLLOUT, 0 };
	CHECK_EQ("poll for the connection", poll(&p, 1, 10000), 1);
	CHECK_EQ("SO_ERROR after connecting", t_sockopt_int(c, SOL_SOCKET, SO_ERROR), 0);
	struct pollfd ps = { srv, POLLIN, 0 };
	CHECK_EQ("poll the listener", poll(&ps, 1, 10000), 1);
	struct sockaddr_in peer;
	l = sizeof peer;
	int x = accept4(srv, (struct sockaddr *)&peer, &l, SOCK_CLOEXEC);
	CHECK("accept4", x >= 0);
	CHECK_EQ("accepted socket blocks", fcntl(x, F_GETFL) & O_NONBLOCK, 0);
	CHECK_EQ("peer address", ntohl(peer.sin_addr.s_addr), INADDR_LOOPBACK);
	struct sockaddr_in cn;
	l = sizeof cn;
	CHECK_OK("client getsockname", getsockname(c, (struct sockaddr *)&cn, &l));
	CHECK_EQ("accept reports the client's port", peer.sin_port, cn.sin_port);
	l = sizeof peer;
	CHECK_OK("getpeername", getpeername(c, (struct sockaddr *)&peer, &l));
	CHECK_EQ("getpeername port", peer.sin_port, b.sin_port);

	CHECK_OK("TCP_NODELAY", setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
	CHECK_EQ("TCP_NODELAY reads back", t_sockopt_int(c, IPPROTO_TCP, TCP_NODELAY), 1);
	int idle = 42;
	CHECK_OK("TCP_KEEPIDLE", setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle));
	CHECK_EQ("TCP_KEEPIDLE reads back", t_sockopt_int(c, IPPROTO_TCP, TCP_KEEPIDLE), 42);
	CHECK_OK("SO_KEEPALIVE", setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one));
	CHECK("SO_KEEPALIVE reads back", t_sockopt_int(c, SOL_SOCKET, SO_KEEPALIVE) != 0);
	struct linger lg = { 1, 5 }, lg2;
	CHECK_OK("SO_LINGER", setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
	l = sizeof lg2;
	CHECK_OK("SO_LINGER get", getsockopt(c, SOL_SOCKET, SO_LINGER, &lg2, &l));
	CHECK("SO_LINGER reads back", lg2.l_onoff != 0 && lg2.l_linger == 5);
	int tos = 0x10;
	CHECK_OK("IP_TOS", setsockopt(c, IPPROTO_IP, IP_TOS, &tos, sizeof tos));
	CHECK_EQ("IP_TOS reads back", t_sockopt_int(c, IPPROTO_IP, IP_TOS), 0x10);
	CHECK_ERR("short option value", setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, 2), EINVAL);
	CHECK_ERR("unknown SOL_SOCKET option", setsockopt(c, SOL_SOCKET, 9999, &one, sizeof one), ENOPROTOOPT);
	CHECK_ERR("SO_TYPE is read-only", setsockopt(c, SOL_SOCKET, SO_TYPE, &one, sizeof one), ENOPROTOOPT);
	char small[2];
	l = sizeof small;
	CHECK_OK("getsockopt into 2 bytes", getsockopt(c, SOL_SOCKET, SO_TYPE, small, &l));
	CHECK_EQ("optlen shrinks to the room", l, 2);

	CHECK_EQ("send", send(c, "hello", 5, 0), 5);
	char buf[64] = { 0 };
	CHECK_EQ("recv MSG_PEEK", recv(x, buf, 3, MSG_PEEK | MSG_WAITALL), 3);
	CHECK_EQ("recv MSG_WAITALL", recv(x, buf, 5, MSG_WAITALL), 5);
	CHECK_MEM("data", buf, "hello", 5);
	CHECK_ERR("recv MSG_DONTWAIT with nothing there", recv(x, buf, 5, MSG_DONTWAIT), EAGAIN);
	int avail = -1;
	CHECK_EQ("send more", send(c, "abc", 3, 0), 3);
	CHECK_EQ("poll for data", poll(&(struct pollfd){ x, POLLIN, 0 }, 1, 10000), 1);
	CHECK_OK("FIONREAD", ioctl(x, FIONREAD, &avail));
	CHECK_EQ("FIONREAD count", avail, 3);
	CHECK_EQ("read on a socket", read(x, buf, sizeof buf), 3);

	/* SO_RCVTIMEO: a receive gives up with EAGAIN. */
	struct timeval tv = { 0, 50000 }, tv2;
	CHECK_OK("SO_RCVTIMEO", setsockopt(x, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	l = sizeof tv2;
	CHECK_OK("SO_RCVTIMEO get", getsockopt(x, SOL_SOCKET, SO_RCVTIMEO, &tv2, &l));
	CHECK("SO_RCVTIMEO reads back", tv2.tv_sec == 0 && tv2.tv_usec > 0);
	CHECK_ERR("recv times out", recv(x, buf, 1, 0), EAGAIN);
	struct timeval bad = { 0, 2000000 };
	CHECK_ERR("tv_usec out of range", setsockopt(x, SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof bad), EDOM);

	CHECK_OK("shutdown SHUT_WR", shutdown(c, SHUT_WR));
	CHECK_EQ("the peer sees EOF", recv(x, buf, 1, 0), 0);
	CHECK_ERR("shutdown with a bad how", shutdown(c, 7), EINVAL);
	close(x);
	close(c);

	/* A closed port refuses. */
	int t = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in z = loopback(0);
	bind(t, (struct sockaddr *)&z, sizeof z);
	l = sizeof z;
	getsockname(t, (struct sockaddr *)&z, &l);
	close(t);
	CHECK_ERR("connect to a closed port", connect(socket(AF_INET, SOCK_STREAM, 0), (struct sockaddr *)&z, sizeof z), ECONNREFUSED);
	CHECK_ERR("bind an AF_INET6 address to AF_INET", bind(socket(AF_INET, SOCK_STREAM, 0), (struct sockaddr *)&(struct sockaddr_in6){ .sin6_family = AF_INET6 }, sizeof(struct sockaddr_in6)), EAFNOSUPPORT);
	CHECK_ERR("short sockaddr_in", bind(socket(AF_INET, SOCK_STREAM, 0), (struct sockaddr *)&a, 8), EINVAL);
	int s6 = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK("AF_INET6 socket", s6 >= 0);
	CHECK_OK("IPV6_V6ONLY", setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
	CHECK_EQ("IPV6_V6ONLY reads back", t_sockopt_int(s6, IPPROTO_IPV6, IPV6_V6ONLY), 1);
	CHECK_EQ("AF_INET6 SO_DOMAIN", t_sockopt_int(s6, SOL_SOCKET, SO_DOMAIN), AF_INET6);
	close(s6);

	/* UDP: sender addresses, truncation, several messages at once. */
	int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ua = loopback(0), ub = loopback(0), from;
	CHECK_OK("bind udp 1", bind(u1, (struct sockaddr *)&ua, sizeof ua));
	CHECK_OK("bind udp 2", bind(u2, (struct sockaddr *)&ub, sizeof ub));
	l = sizeof ua;
	getsockname(u1, (struct sockaddr *)&ua, &l);
	l = sizeof ub;
	getsockname(u2, (struct sockaddr *)&ub, &l);
	CHECK_EQ("SO_PROTOCOL udp", t_sockopt_int(u1, SOL_SOCKET, SO_PROTOCOL), IPPROTO_UDP);
	CHECK_EQ("sendto", sendto(u2, "datagram", 8, 0, (struct sockaddr *)&ua, sizeof ua), 8);
	l = sizeof from;
	CHECK_EQ("recvfrom", recvfrom(u1, buf, sizeof buf, 0, (struct sockaddr *)&from, &l), 8);
	CHECK_EQ("sender port", from.sin_port, ub.sin_port);
	CHECK_EQ("sender address length", l, sizeof from);
	CHECK_EQ("sendto again", sendto(u2, "longer datagram", 15, 0, (struct sockaddr *)&ua, sizeof ua), 15);
	CHECK_EQ("recv MSG_TRUNC", recv(u1, buf, 4, MSG_TRUNC), 15);
	struct mmsghdr mm[2];
	struct iovec iv[2] = { { "one", 3 }, { "three", 5 } };
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < 2; i++) {
		mm[i].msg_hdr.msg_iov = &iv[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = &ua;
		mm[i].msg_hdr.msg_namelen = sizeof ua;
	}
	CHECK_EQ("sendmmsg", sendmmsg(u2, mm, 2, 0), 2);
	CHECK_EQ("sendmmsg lengths", mm[0].msg_len + mm[1].msg_len, 8);
	char r1[16], r2[16];
	struct iovec ri[2] = { { r1, sizeof r1 }, { r2, sizeof r2 } };
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < 2; i++) {
		mm[i].msg_hdr.msg_iov = &ri[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	struct timespec wait = { 10, 0 };
	int got = recvmmsg(u1, mm, 2, MSG_WAITFORONE, &wait);
	if (got == 1)
		got += recvmmsg(u1, mm + 1, 1, 0, NULL);
	CHECK_EQ("recvmmsg", got, 2);
	CHECK_EQ("recvmmsg lengths", mm[0].msg_len + mm[1].msg_len, 8);

	/* recvmmsg's timeout: looked at after each datagram, and what is left
	 * of it written back (recvmmsg(2)). */
	for (int i = 0; i < 2; i++)
		sendto(u2, "x", 1, 0, (struct sockaddr *)&ua, sizeof ua);
	t_pause_ms(20);
	struct timespec left = { 10, 0 };
	CHECK_EQ("recvmmsg MSG_DONTWAIT with a timeout", recvmmsg(u1, mm, 2, MSG_DONTWAIT, &left), 2);
	CHECK("what is left of the timeout is written back", left.tv_sec == 9 && left.tv_nsec > 0);
	for (int i = 0; i < 2; i++)
		sendto(u2, "y", 1, 0, (struct sockaddr *)&ua, sizeof ua);
	t_pause_ms(20);
	struct timespec tiny = { 0, 1 };
	CHECK_EQ("a timeout that expired stops after one datagram", recvmmsg(u1, mm, 2, 0, &tiny), 1);
	CHECK("and reads back as zero", tiny.tv_sec == 0 && tiny.tv_nsec == 0);
	CHECK_EQ("the other datagram stays queued", recv(u1, buf, sizeof buf, MSG_DONTWAIT), 1);
	struct timespec bad_ts = { 0, 1000000000 };
	CHECK_ERR("a timeout with tv_nsec out of range", recvmmsg(u1, mm, 2, MSG_DONTWAIT, &bad_ts), EINVAL);

	/* The loopback interface through the netdevice(7) ioctls. */
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	CHECK_OK("SIOCGIFINDEX lo", ioctl(u1, SIOCGIFINDEX, &ifr));
	int lo_index = ifr.ifr_ifindex;
	CHECK("lo has an index", lo_index > 0);
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_ifindex = lo_index;
	CHECK_OK("SIOCGIFNAME", ioctl(u1, SIOCGIFNAME, &ifr));
	CHECK_STR("SIOCGIFNAME gives lo", ifr.ifr_name, "lo");
	CHECK_OK("SIOCGIFFLAGS lo", ioctl(u1, SIOCGIFFLAGS, &ifr));
	CHECK_EQ("lo is up and loopback", ifr.ifr_flags & (IFF_UP | IFF_LOOPBACK), IFF_UP | IFF_LOOPBACK);
	CHECK_OK("SIOCGIFADDR lo", ioctl(u1, SIOCGIFADDR, &ifr));
	CHECK_EQ("lo is 127.0.0.1", ntohl(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr), INADDR_LOOPBACK);
	CHECK_EQ("lo address family", ifr.ifr_addr.sa_family, AF_INET);
	strcpy(ifr.ifr_name, "nosuchif0");
	CHECK_ERR("SIOCGIFINDEX of a missing interface", ioctl(u1, SIOCGIFINDEX, &ifr), ENODEV);
	struct ifreq reqs[64];
	struct ifconf ifc = { .ifc_len = sizeof reqs, .ifc_req = reqs };
	CHECK_OK("SIOCGIFCONF", ioctl(u1, SIOCGIFCONF, &ifc));
	int has_lo = 0;
	for (unsigned i = 0; i < ifc.ifc_len / sizeof(struct ifreq); i++)
		has_lo |= strcmp(reqs[i].ifr_name, "lo") == 0;
	CHECK("SIOCGIFCONF lists lo", has_lo);

	/* SIGPIPE, and MSG_NOSIGNAL. */
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	close(sv[1]);
	signal(SIGPIPE, on_pipe);
	CHECK_ERR("send with MSG_NOSIGNAL", send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
	CHECK_EQ("no SIGPIPE", pipes, 0);
	CHECK_ERR("send without it", send(sv[0], "x", 1, 0), EPIPE);
	CHECK_EQ("one SIGPIPE", pipes, 1);
	close(sv[0]);

	/* A blocking recv and a signal: EINTR without SA_RESTART; restarted
	 * with it (the handler makes the data arrive); EINTR again with
	 * SA_RESTART once SO_RCVTIMEO is set. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	arm(0, -1);
	CHECK_ERR("recv interrupted", recv(sv[0], buf, 1, 0), EINTR);
	arm(1, sv[1]);
	CHECK_EQ("recv restarted under SA_RESTART", recv(sv[0], buf, 1, 0), 1);
	struct timeval longtv = { 30, 0 };
	CHECK_OK("SO_RCVTIMEO 30 s", setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &longtv, sizeof longtv));
	arm(1, -1);
	CHECK_ERR("recv with a timeout is not restarted", recv(sv[0], buf, 1, 0), EINTR);
	CHECK_EQ("three alarms", alarms, 3);
	T_DONE();
}
