/* UDP-Lite (udplite(7)): a datagram socket with protocol IPPROTO_UDPLITE
 * on IPv4 and IPv6, its checksum coverage options (UDPLITE_SEND_CSCOV,
 * UDPLITE_RECV_CSCOV at level SOL_UDPLITE), SO_PROTOCOL, and datagrams
 * over loopback on an ephemeral port. A kernel without UDP-Lite answers
 * EPROTONOSUPPORT at the socket call, and then there is nothing more to
 * check. */
#include "../test.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#define SOL_UDPLITE 136
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11

int main(void)
{
	T_BEGIN();
	int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
	if (s < 0 && errno == EPROTONOSUPPORT) {
		printf("ok no UDP-Lite here (EPROTONOSUPPORT)\n");
		T_DONE();
	}
	CHECK_OK("socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE)", s);
	int proto = 0;
	socklen_t len = sizeof proto;
	CHECK_OK("SO_PROTOCOL", getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &proto, &len));
	CHECK_EQ("is UDP-Lite", proto, IPPROTO_UDPLITE);
	int cov = 20;
	CHECK_OK("UDPLITE_SEND_CSCOV 20", setsockopt(s, SOL_UDPLITE, UDPLITE_SEND_CSCOV, &cov, sizeof cov));
	cov = 0;
	len = sizeof cov;
	CHECK_OK("read it back", getsockopt(s, SOL_UDPLITE, UDPLITE_SEND_CSCOV, &cov, &len));
	CHECK_EQ("20", cov, 20);
	cov = 12;
	CHECK_OK("UDPLITE_RECV_CSCOV 12", setsockopt(s, SOL_UDPLITE, UDPLITE_RECV_CSCOV, &cov, sizeof cov));
	len = sizeof cov;
	CHECK_OK("read it back", getsockopt(s, SOL_UDPLITE, UDPLITE_RECV_CSCOV, &cov, &len));
	CHECK_EQ("12", cov, 12);
	cov = 0;
	CHECK_OK("RECV_CSCOV 0 again (full coverage)", setsockopt(s, SOL_UDPLITE, UDPLITE_RECV_CSCOV, &cov, sizeof cov));
	CHECK_ERR("an unknown UDP-Lite option", setsockopt(s, SOL_UDPLITE, 99, &cov, sizeof cov), ENOPROTOOPT);

	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	CHECK_OK("bind 127.0.0.1:0", bind(s, (struct sockaddr *)&a, sizeof a));
	len = sizeof a;
	CHECK_OK("getsockname", getsockname(s, (struct sockaddr *)&a, &len));
	int c = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
	CHECK_OK("a second UDP-Lite socket", c);
	CHECK_EQ("sendto", sendto(c, "lite", 4, 0, (struct sockaddr *)&a, sizeof a), 4);
	char buf[16] = "";
	struct sockaddr_in from;
	len = sizeof from;
	CHECK_EQ("recvfrom", recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &len), 4);
	CHECK("the datagram", memcmp(buf, "lite", 4) == 0);
	CHECK_EQ("from loopback", ntohl(from.sin_addr.s_addr), INADDR_LOOPBACK);
	close(c);
	close(s);

	int s6 = socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDPLITE);
	CHECK_OK("socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDPLITE)", s6);
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	if (bind(s6, (struct sockaddr *)&a6, sizeof a6) == 0) {
		len = sizeof a6;
		getsockname(s6, (struct sockaddr *)&a6, &len);
		CHECK_EQ("IPv6 sendto itself", sendto(s6, "six", 3, 0, (struct sockaddr *)&a6, sizeof a6), 3);
		CHECK_EQ("IPv6 recv", recv(s6, buf, sizeof buf, 0), 3);
	} else {
		printf("ok no IPv6 loopback here\n");
	}
	close(s6);
	CHECK_ERR("UDP-Lite is no stream protocol", socket(AF_INET, SOCK_STREAM, IPPROTO_UDPLITE), EPROTONOSUPPORT);
	T_DONE();
}
