// Ancillary data of inet datagrams, ip(7), ipv6(7) and socket(7): IP_RECVTTL,
// IP_RECVTOS, IP_PKTINFO and SO_TIMESTAMP give IP_TTL, IP_TOS, IP_PKTINFO and
// SCM_TIMESTAMP control messages; IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS and
// IPV6_RECVPKTINFO give IPV6_HOPLIMIT, IPV6_TCLASS and IPV6_PKTINFO (RFC 3542,
// as DNS servers and CPython's tests ask for them). Each message's level, type,
// length and value is printed in the order it comes; a control buffer too short
// for all of them gets the first ones and MSG_CTRUNC. The TTL, TOS, hop limit
// and traffic class can also be sent as control messages (ip_cmsg_send,
// ip6_datagram_send_ctl); out-of-range values and unknown types are EINVAL,
// and a Unix socket skips messages of the IP levels.
#include "../test.h"
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/time.h>

static void on(int s, int level, int name)
{
	int one = 1;
	if (setsockopt(s, level, name, &one, sizeof one) < 0)
		printf("FAIL setsockopt %d/%d: errno %d\n", level, name, errno), t_failures++;
}

/* Receives one datagram with `room` bytes of control buffer and prints its
 * control messages. */
static void show(int s, size_t room, unsigned lo)
{
	char data[16];
	union {
		char buf[512];
		struct cmsghdr align;
	} c;
	struct iovec iov = { data, sizeof data };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = room };
	memset(c.buf, 0, sizeof c.buf);
	ssize_t n = recvmsg(s, &m, MSG_DONTWAIT);
	CHECK_EQ("a datagram", n, 1);
	printf("flags%s, controllen %zu\n", m.msg_flags & MSG_CTRUNC ? " MSG_CTRUNC" : "", (size_t)m.msg_controllen);
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
		printf("cmsg level %d type %d len %zu", h->cmsg_level, h->cmsg_type, (size_t)h->cmsg_len);
		unsigned char *d = CMSG_DATA(h);
		size_t dlen = h->cmsg_len - CMSG_LEN(0);
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_TIMESTAMP && dlen >= sizeof(struct timeval)) {
			struct timeval tv, now;
			memcpy(&tv, d, sizeof tv);
			gettimeofday(&now, NULL);
			long long age = (long long)now.tv_sec - tv.tv_sec;
			printf(" timestamp %s", age >= 0 && age < 60 && tv.tv_usec >= 0 && tv.tv_usec < 1000000 ? "recent" : "wrong");
		} else if (h->cmsg_level == IPPROTO_IP && h->cmsg_type == IP_PKTINFO && dlen >= sizeof(struct in_pktinfo)) {
			struct in_pktinfo pi;
			memcpy(&pi, d, sizeof pi);
			printf(" ifindex is lo %d spec_dst %s", pi.ipi_ifindex == (int)lo, inet_ntoa(pi.ipi_spec_dst));
			printf(" addr %s", inet_ntoa(pi.ipi_addr));
		} else if (h->cmsg_level == IPPROTO_IPV6 && h->cmsg_type == IPV6_PKTINFO && dlen >= sizeof(struct in6_pktinfo)) {
			struct in6_pktinfo pi;
			char a[64];
			memcpy(&pi, d, sizeof pi);
			printf(" ifindex is lo %d addr %s", pi.ipi6_ifindex == lo, inet_ntop(AF_INET6, &pi.ipi6_addr, a, sizeof a));
		} else if (dlen == 1) {
			printf(" byte %u", d[0]);
		} else if (dlen == sizeof(int)) {
			int v;
			memcpy(&v, d, sizeof v);
			printf(" int %d", v);
		}
		printf("\n");
	}
}

/* Sends one byte to `to` with one int control message of `level`/`type`
 * (IP_TOS takes one byte) and returns sendmsg's result. */
static ssize_t send_with(int s, const void *to, socklen_t tolen, int level, int type, int value, size_t size)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} c;
	memset(&c, 0, sizeof c);
	struct iovec iov = { "z", 1 };
	struct msghdr m = { .msg_name = (void *)to, .msg_namelen = tolen, .msg_iov = &iov, .msg_iovlen = 1 };
	m.msg_control = c.buf;
	m.msg_controllen = CMSG_SPACE(size);
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = level;
	h->cmsg_type = type;
	h->cmsg_len = CMSG_LEN(size);
	if (size == 1)
		*CMSG_DATA(h) = (unsigned char)value;
	else
		memcpy(CMSG_DATA(h), &value, sizeof value);
	return sendmsg(s, &m, 0);
}

int main(void)
{
	T_BEGIN();
	unsigned lo = if_nametoindex("lo");
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	int r = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK_OK("bind", bind(r, (struct sockaddr *)&a, sizeof a));
	CHECK_OK("getsockname", getsockname(r, (struct sockaddr *)&a, &al));
	on(r, SOL_SOCKET, SO_TIMESTAMP);
	on(r, IPPROTO_IP, IP_PKTINFO);
	on(r, IPPROTO_IP, IP_RECVTTL);
	on(r, IPPROTO_IP, IP_RECVTOS);
	int w = socket(AF_INET, SOCK_DGRAM, 0);
	int tos = 0x10, ttl = 33;
	CHECK_OK("IP_TOS", setsockopt(w, IPPROTO_IP, IP_TOS, &tos, sizeof tos));
	CHECK_OK("IP_TTL", setsockopt(w, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl));
	for (int i = 0; i < 3; i++)
		CHECK_EQ("send", sendto(w, "x", 1, 0, (struct sockaddr *)&a, sizeof a), 1);
	printf("-- IPv4, room for all\n");
	show(r, 512, lo);
	printf("-- IPv4, room for two and a half\n");
	show(r, CMSG_SPACE(sizeof(struct timeval)) + CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_LEN(2), lo);
	printf("-- IPv4, room for a header only\n");
	show(r, sizeof(struct cmsghdr), lo);
	CHECK_EQ("send with IP_TTL", send_with(w, &a, sizeof a, IPPROTO_IP, IP_TTL, 12, sizeof(int)), 1);
	printf("-- IPv4, IP_TTL sent as a control message\n");
	show(r, 512, lo);
	CHECK_EQ("send with IP_TOS", send_with(w, &a, sizeof a, IPPROTO_IP, IP_TOS, 0x20, 1), 1);
	printf("-- IPv4, IP_TOS sent as a control message\n");
	show(r, 512, lo);
	CHECK_ERR("a TTL out of range", send_with(w, &a, sizeof a, IPPROTO_IP, IP_TTL, 300, sizeof(int)), EINVAL);
	CHECK_ERR("an unknown IP message", send_with(w, &a, sizeof a, IPPROTO_IP, 99, 0, sizeof(int)), EINVAL);
	CHECK_ERR("an unknown SOL_SOCKET message", send_with(w, &a, sizeof a, SOL_SOCKET, 99, 0, sizeof(int)), EINVAL);
	int u[2];
	CHECK_OK("socketpair", socketpair(AF_UNIX, SOCK_DGRAM, 0, u));
	CHECK_EQ("a unix socket skips IP messages", send_with(u[0], NULL, 0, IPPROTO_IP, IP_TTL, 12, sizeof(int)), 1);
	close(u[0]);
	close(u[1]);
	close(r);
	close(w);

	int r6 = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 b = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t bl = sizeof b;
	if (r6 < 0 || bind(r6, (struct sockaddr *)&b, sizeof b) < 0) {
		// No ::1 on this machine: nothing to receive (the same natively).
		t_ok("no IPv6 loopback");
		T_DONE();
	}
	CHECK_OK("getsockname ::1", getsockname(r6, (struct sockaddr *)&b, &bl));
	on(r6, IPPROTO_IPV6, IPV6_RECVHOPLIMIT);
	on(r6, IPPROTO_IPV6, IPV6_RECVTCLASS);
	on(r6, IPPROTO_IPV6, IPV6_RECVPKTINFO);
	int w6 = socket(AF_INET6, SOCK_DGRAM, 0);
	int tclass = 0x20, hops = 7;
	CHECK_OK("IPV6_TCLASS", setsockopt(w6, IPPROTO_IPV6, IPV6_TCLASS, &tclass, sizeof tclass));
	CHECK_OK("IPV6_UNICAST_HOPS", setsockopt(w6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops));
	CHECK_EQ("IPV6_RECVHOPLIMIT read back", t_sockopt_int(r6, IPPROTO_IPV6, IPV6_RECVHOPLIMIT), 1);
	CHECK_EQ("send ::1", sendto(w6, "y", 1, 0, (struct sockaddr *)&b, sizeof b), 1);
	printf("-- IPv6, room for all\n");
	show(r6, 512, lo);
	CHECK_EQ("send with IPV6_HOPLIMIT", send_with(w6, &b, sizeof b, IPPROTO_IPV6, IPV6_HOPLIMIT, 9, sizeof(int)), 1);
	CHECK_EQ("send with IPV6_TCLASS", send_with(w6, &b, sizeof b, IPPROTO_IPV6, IPV6_TCLASS, 0x30, sizeof(int)), 1);
	printf("-- IPv6, hop limit then traffic class sent as control messages\n");
	show(r6, 512, lo);
	show(r6, 512, lo);
	CHECK_ERR("a hop limit out of range", send_with(w6, &b, sizeof b, IPPROTO_IPV6, IPV6_HOPLIMIT, 300, sizeof(int)), EINVAL);
	close(r6);
	close(w6);
	T_DONE();
}
