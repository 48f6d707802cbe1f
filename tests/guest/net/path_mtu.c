// The path MTU of a connected socket, as DTLS implementations ask for it
// (OpenSSL's BIO_CTRL_DGRAM_QUERY_MTU, before it sizes handshake fragments):
// getsockopt IP_MTU and IPV6_MTU, ENOTCONN before connect, ip(7) and ipv6(7).
// The loopback's MTU depends on the machine, so only its range is checked.
#include "../test.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int main(void)
{
	T_BEGIN();
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK_OK("bind udp", bind(u, (struct sockaddr *)&a, sizeof a));
	CHECK_EQ("IP_MTU before connect", t_sockopt_int(u, IPPROTO_IP, IP_MTU), -1000 - ENOTCONN);
	CHECK_OK("getsockname", getsockname(u, (struct sockaddr *)&a, &al));
	CHECK_OK("connect udp to itself", connect(u, (struct sockaddr *)&a, sizeof a));
	int mtu = t_sockopt_int(u, IPPROTO_IP, IP_MTU);
	CHECK("IP_MTU of a connected udp socket is an MTU", mtu >= 576 && mtu <= 65536);
	int v = 1500;
	CHECK_ERR("IP_MTU cannot be set", setsockopt(u, IPPROTO_IP, IP_MTU, &v, sizeof v), ENOPROTOOPT);
	int pmtud = IP_PMTUDISC_DO;
	CHECK_OK("IP_MTU_DISCOVER", setsockopt(u, IPPROTO_IP, IP_MTU_DISCOVER, &pmtud, sizeof pmtud));
	CHECK_EQ("IP_MTU_DISCOVER read back", t_sockopt_int(u, IPPROTO_IP, IP_MTU_DISCOVER), IP_PMTUDISC_DO);
	close(u);

	int l = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = 0;
	al = sizeof a;
	CHECK_OK("bind tcp", bind(l, (struct sockaddr *)&a, sizeof a));
	CHECK_OK("listen", listen(l, 1));
	CHECK_OK("getsockname tcp", getsockname(l, (struct sockaddr *)&a, &al));
	int c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_EQ("IP_MTU of an unconnected tcp socket", t_sockopt_int(c, IPPROTO_IP, IP_MTU), -1000 - ENOTCONN);
	CHECK_OK("connect tcp", connect(c, (struct sockaddr *)&a, sizeof a));
	mtu = t_sockopt_int(c, IPPROTO_IP, IP_MTU);
	CHECK("IP_MTU of a connected tcp socket is an MTU", mtu >= 576 && mtu <= 65536);
	close(c);
	close(l);

	int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 b = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t bl = sizeof b;
	if (u6 < 0 || bind(u6, (struct sockaddr *)&b, sizeof b) < 0) {
		// No ::1 on this machine: nothing to ask (the same natively).
		t_ok("no IPv6 loopback");
		T_DONE();
	}
	CHECK_EQ("IPV6_MTU before connect", t_sockopt_int(u6, IPPROTO_IPV6, IPV6_MTU), -1000 - ENOTCONN);
	CHECK_OK("getsockname v6", getsockname(u6, (struct sockaddr *)&b, &bl));
	CHECK_OK("connect udp6 to itself", connect(u6, (struct sockaddr *)&b, sizeof b));
	mtu = t_sockopt_int(u6, IPPROTO_IPV6, IPV6_MTU);
	CHECK("IPV6_MTU of a connected udp6 socket is an MTU", mtu >= 1280 && mtu <= 65536);
	close(u6);
	T_DONE();
}
