// NETLINK_ROUTE: getifaddrs and if_nameindex (both ask netlink), then a
// raw socket: port ids, link and address dumps parsed by hand (sequence
// numbers and port ids echoed, NLMSG_DONE), the MSG_PEEK|MSG_TRUNC length
// probe, short buffers (MSG_TRUNC, whole messages per datagram), ACKs,
// errors for unknown types and missing links, garbage requests dropped,
// options, poll, a blocking receive interrupted by a signal, and the
// errors of other protocols and types.
#include "../test.h"
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

/* include/uapi/linux/{netlink,rtnetlink,if_link,if_addr}.h: musl ships no
 * linux/ headers, so the ABI is spelt out here. */
#ifndef AF_NETLINK
#define AF_NETLINK 16
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#define NETLINK_ROUTE 0
#define NETLINK_EXT_ACK 11
#define NETLINK_ADD_MEMBERSHIP 1
#define NETLINK_LIST_MEMBERSHIPS 9
struct sockaddr_nl { unsigned short nl_family, nl_pad; uint32_t nl_pid, nl_groups; };
struct nlmsghdr { uint32_t nlmsg_len; uint16_t nlmsg_type, nlmsg_flags; uint32_t nlmsg_seq, nlmsg_pid; };
struct nlmsgerr { int error; struct nlmsghdr msg; };
struct rtgenmsg { unsigned char rtgen_family; };
struct ifinfomsg { unsigned char ifi_family, pad; unsigned short ifi_type; int ifi_index; unsigned ifi_flags, ifi_change; };
struct ifaddrmsg { uint8_t ifa_family, ifa_prefixlen, ifa_flags, ifa_scope; uint32_t ifa_index; };
struct rtattr { unsigned short rta_len, rta_type; };
#define NLM_F_REQUEST 1
#define NLM_F_MULTI 2
#define NLM_F_ACK 4
#define NLM_F_DUMP 0x300
#define NLM_F_CAPPED 0x100
#define NLMSG_ERROR 2
#define NLMSG_DONE 3
#define NLMSG_ALIGN(len) (((len) + 3) & ~3)
#define NLMSG_HDRLEN ((int)NLMSG_ALIGN(sizeof(struct nlmsghdr)))
#define NLMSG_LENGTH(len) ((len) + NLMSG_HDRLEN)
#define NLMSG_DATA(h) ((void *)((char *)(h) + NLMSG_HDRLEN))
#define NLMSG_NEXT(h, len) ((len) -= NLMSG_ALIGN((h)->nlmsg_len), (struct nlmsghdr *)((char *)(h) + NLMSG_ALIGN((h)->nlmsg_len)))
#define NLMSG_OK(h, len) ((len) >= (int)sizeof(struct nlmsghdr) && (h)->nlmsg_len >= sizeof(struct nlmsghdr) && (h)->nlmsg_len <= (unsigned)(len))
#define RTA_ALIGN(len) (((len) + 3) & ~3)
#define RTA_OK(rta, len) ((len) >= (int)sizeof(struct rtattr) && (rta)->rta_len >= sizeof(struct rtattr) && (rta)->rta_len <= (len))
#define RTA_NEXT(rta, len) ((len) -= RTA_ALIGN((rta)->rta_len), (struct rtattr *)((char *)(rta) + RTA_ALIGN((rta)->rta_len)))
#define RTA_LENGTH(len) (RTA_ALIGN(sizeof(struct rtattr)) + (len))
#define RTA_SPACE(len) RTA_ALIGN(RTA_LENGTH(len))
#define RTA_DATA(rta) ((void *)((char *)(rta) + RTA_LENGTH(0)))
#define RTA_PAYLOAD(rta) ((int)((rta)->rta_len) - RTA_LENGTH(0))
#define RTM_NEWLINK 16
#define RTM_GETLINK 18
#define RTM_NEWADDR 20
#define RTM_GETADDR 22
#define IFLA_IFNAME 3
#define IFLA_MTU 4
#define IFA_LOCAL 2
#define IFA_LABEL 3
#define RT_SCOPE_HOST 254
#define ARPHRD_LOOPBACK 772
#define IFLA_RTA(r) ((struct rtattr *)((char *)(r) + NLMSG_ALIGN(sizeof(struct ifinfomsg))))
#define IFLA_PAYLOAD(n) ((int)(n)->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(struct ifinfomsg))))
#define IFA_RTA(r) ((struct rtattr *)((char *)(r) + NLMSG_ALIGN(sizeof(struct ifaddrmsg))))
#define IFA_PAYLOAD(n) ((int)(n)->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(struct ifaddrmsg))))
#ifndef AF_PACKET
#define AF_PACKET 17
#endif

static char buf[65536];

static int open_route(int type)
{
	return socket(AF_NETLINK, type | SOCK_CLOEXEC, NETLINK_ROUTE);
}

/* Sends a request with a family header `hdr` of `hlen` bytes and `extra` attribute bytes. */
static int request(int s, int type, int flags, unsigned seq, const void *hdr, size_t hlen, const void *extra, size_t elen)
{
	char req[256] = { 0 };
	struct nlmsghdr *h = (struct nlmsghdr *)req;
	h->nlmsg_len = NLMSG_LENGTH(hlen + elen);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = seq;
	memcpy(NLMSG_DATA(h), hdr, hlen);
	if (elen)
		memcpy((char *)NLMSG_DATA(h) + hlen, extra, elen);
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	return sendto(s, req, h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
}

/* One recvmsg into buf[0..len); returns its value, fills *flags and *from_pid. */
static ssize_t receive(int s, size_t len, int flags, int *msg_flags, unsigned *from_pid, socklen_t *namelen)
{
	struct sockaddr_nl from = { .nl_pid = 99 };
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(s, &m, flags);
	if (msg_flags)
		*msg_flags = m.msg_flags;
	if (from_pid)
		*from_pid = from.nl_family == AF_NETLINK ? from.nl_pid : 12345;
	if (namelen)
		*namelen = m.msg_namelen;
	return n;
}

static void check_getifaddrs(void)
{
	struct ifaddrs *list, *i;
	CHECK_OK("getifaddrs", getifaddrs(&list));
	int lo4 = 0, lo_packet = 0, flags_ok = 0, mask_ok = 0;
	for (i = list; i; i = i->ifa_next) {
		if (strcmp(i->ifa_name, "lo") || !i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_PACKET)
			lo_packet = 1;
		if (i->ifa_addr->sa_family != AF_INET)
			continue;
		struct sockaddr_in *a = (struct sockaddr_in *)i->ifa_addr;
		if (a->sin_addr.s_addr != htonl(INADDR_LOOPBACK))
			continue;
		lo4 = 1;
		flags_ok = (i->ifa_flags & (IFF_UP | IFF_LOOPBACK)) == (IFF_UP | IFF_LOOPBACK);
		mask_ok = i->ifa_netmask && ((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr == htonl(0xff000000);
	}
	CHECK("getifaddrs lists lo with 127.0.0.1", lo4);
	CHECK("lo is IFF_UP|IFF_LOOPBACK", flags_ok);
	CHECK("lo's netmask is 255.0.0.0", mask_ok);
	CHECK("lo has a link-layer entry", lo_packet);
	freeifaddrs(list);

	unsigned idx = if_nametoindex("lo");
	CHECK("if_nametoindex(lo)", idx > 0);
	struct if_nameindex *ni = if_nameindex(), *p;
	int found = 0;
	for (p = ni; p && p->if_index; p++)
		if (!strcmp(p->if_name, "lo"))
			found = p->if_index == idx;
	CHECK("if_nameindex has lo with its index", found);
	if (ni)
		if_freenameindex(ni);
	char name[IF_NAMESIZE];
	CHECK_STR("if_indextoname", if_indextoname(idx, name), "lo");
}

/* Reads a whole dump; counts the messages of `type` and checks every datagram
 * holds whole messages carrying `seq` and `pid`. Returns the number of
 * messages, or -1 on a broken dump. *lo gets set when `match` accepts one. */
static int read_dump(int s, size_t len, unsigned seq, unsigned pid, int type, int (*match)(struct nlmsghdr *), int *lo, int *done_ok)
{
	int count = 0, whole = 1, echoed = 1, from_kernel = 1;
	*done_ok = 0;
	for (int rounds = 0; rounds < 1000; rounds++) {
		int fl;
		unsigned from;
		ssize_t n = receive(s, len, 0, &fl, &from, NULL);
		if (n <= 0 || (fl & MSG_TRUNC))
			return -1;
		if (from != 0)
			from_kernel = 0;
		int left = (int)n;
		struct nlmsghdr *h;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_seq != seq || h->nlmsg_pid != pid)
				echoed = 0;
			if (h->nlmsg_type == NLMSG_DONE) {
				*done_ok = h->nlmsg_len == NLMSG_LENGTH(sizeof(int)) && *(int *)NLMSG_DATA(h) == 0 && (h->nlmsg_flags & NLM_F_MULTI);
				CHECK("every datagram holds whole messages", whole && left == (int)NLMSG_ALIGN(h->nlmsg_len));
				CHECK("answers echo seq and port id", echoed);
				CHECK("answers come from port 0", from_kernel);
				return count;
			}
			if (h->nlmsg_type == type && (h->nlmsg_flags & NLM_F_MULTI)) {
				count++;
				if (match(h))
					*lo = 1;
			}
		}
		if (left != 0)
			whole = 0;
	}
	return -1;
}

static unsigned lo_index;

static int is_lo_link(struct nlmsghdr *h)
{
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	int len = IFLA_PAYLOAD(h), name = 0, mtu = 0;
	struct rtattr *a;
	for (a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_IFNAME && !strcmp(RTA_DATA(a), "lo"))
			name = 1;
		if (a->rta_type == IFLA_MTU && RTA_PAYLOAD(a) == 4)
			mtu = 1;
	}
	return name && mtu && (unsigned)ifi->ifi_index == lo_index && (ifi->ifi_flags & IFF_LOOPBACK) && ifi->ifi_type == ARPHRD_LOOPBACK;
}

static int is_lo_addr(struct nlmsghdr *h)
{
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	int len = IFA_PAYLOAD(h), local = 0, label = 0;
	struct rtattr *a;
	for (a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFA_LOCAL && *(uint32_t *)RTA_DATA(a) == htonl(INADDR_LOOPBACK))
			local = 1;
		if (a->rta_type == IFA_LABEL && !strcmp(RTA_DATA(a), "lo"))
			label = 1;
	}
	return local && label && ifa->ifa_family == AF_INET && ifa->ifa_prefixlen == 8 && ifa->ifa_scope == RT_SCOPE_HOST && ifa->ifa_index == lo_index;
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

int main(void)
{
	T_BEGIN();
	check_getifaddrs();
	lo_index = if_nametoindex("lo");

	int s = open_route(SOCK_RAW);
	CHECK("socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)", s >= 0);
	struct sockaddr_nl me = { 0 };
	socklen_t ml = sizeof me;
	CHECK_OK("getsockname unbound", getsockname(s, (struct sockaddr *)&me, &ml));
	CHECK_EQ("unbound nl_family", me.nl_family, AF_NETLINK);
	CHECK_EQ("unbound nl_pid", me.nl_pid, 0);
	CHECK_EQ("sockaddr_nl length", ml, sizeof me);

	struct sockaddr_nl bad = { .nl_family = AF_INET };
	CHECK_ERR("bind of another family", bind(s, (struct sockaddr *)&bad, sizeof bad), EINVAL);
	struct sockaddr_nl any = { .nl_family = AF_NETLINK };
	CHECK_ERR("bind of a short address", bind(s, (struct sockaddr *)&any, 8), EINVAL);
	CHECK_OK("bind nl_pid 0", bind(s, (struct sockaddr *)&any, sizeof any));
	ml = sizeof me;
	CHECK_OK("getsockname bound", getsockname(s, (struct sockaddr *)&me, &ml));
	CHECK_EQ("first socket's port id is the pid", me.nl_pid, getpid());
	unsigned pid = me.nl_pid;
	CHECK_ERR("bind again to another id", bind(s, (struct sockaddr *)&any, sizeof any), EINVAL);

	int s2 = open_route(SOCK_DGRAM);
	CHECK("socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE)", s2 >= 0);
	CHECK_OK("second bind", bind(s2, (struct sockaddr *)&any, sizeof any));
	struct sockaddr_nl me2 = { 0 };
	ml = sizeof me2;
	getsockname(s2, (struct sockaddr *)&me2, &ml);
	CHECK("second socket gets a negative port id", (int)me2.nl_pid < -4096);
	int v = -1;
	socklen_t vl = sizeof v;
	CHECK_OK("SO_TYPE", getsockopt(s2, SOL_SOCKET, SO_TYPE, &v, &vl));
	CHECK_EQ("SO_TYPE is SOCK_DGRAM", v, SOCK_DGRAM);
	close(s2);

	/* Options. */
	v = 32768;
	CHECK_OK("SO_RCVBUF", setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
	vl = sizeof v;
	getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &vl);
	CHECK_EQ("SO_RCVBUF reads back doubled", v, 65536);
	vl = sizeof v;
	getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &vl);
	CHECK_EQ("SO_DOMAIN", v, AF_NETLINK);
	vl = sizeof v;
	getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &vl);
	CHECK_EQ("SO_PROTOCOL", v, NETLINK_ROUTE);
	v = 1;
	CHECK_OK("NETLINK_EXT_ACK", setsockopt(s, SOL_NETLINK, NETLINK_EXT_ACK, &v, sizeof v));
	v = 0;
	vl = sizeof v;
	CHECK_OK("get NETLINK_EXT_ACK", getsockopt(s, SOL_NETLINK, NETLINK_EXT_ACK, &v, &vl));
	CHECK_EQ("NETLINK_EXT_ACK reads back", v, 1);
	v = 0;
	CHECK_OK("NETLINK_EXT_ACK off", setsockopt(s, SOL_NETLINK, NETLINK_EXT_ACK, &v, sizeof v));
	CHECK_ERR("unknown SOL_NETLINK option", setsockopt(s, SOL_NETLINK, 200, &v, sizeof v), ENOPROTOOPT);

	/* Nothing queued: poll says so, a non-blocking receive is EAGAIN. */
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	CHECK_EQ("poll with nothing queued", poll(&pfd, 1, 0), 0);
	CHECK_ERR("MSG_DONTWAIT with nothing queued", receive(s, 100, MSG_DONTWAIT, NULL, NULL, NULL), EAGAIN);

	/* A link dump. */
	struct rtgenmsg g = { .rtgen_family = AF_UNSPEC };
	CHECK_EQ("send RTM_GETLINK dump", request(s, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1234, &g, sizeof g, NULL, 0), NLMSG_LENGTH(sizeof g));
	CHECK_EQ("poll sees the dump", poll(&pfd, 1, 1000), 1);
	int lo = 0, done_ok = 0;
	int links = read_dump(s, 32768, 1234, pid, RTM_NEWLINK, is_lo_link, &lo, &done_ok);
	CHECK("link dump has links", links > 0);
	CHECK("link dump has lo", lo);
	CHECK("NLMSG_DONE carries int 0", done_ok);

	/* An IPv4 address dump, its first datagram's length probed first. */
	struct ifaddrmsg ifa = { .ifa_family = AF_INET };
	request(s, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 77, &ifa, sizeof ifa, NULL, 0);
	int fl = 0;
	ssize_t probe = recv(s, NULL, 0, MSG_PEEK | MSG_TRUNC);
	CHECK("MSG_PEEK|MSG_TRUNC gives the datagram's length", probe > (ssize_t)NLMSG_HDRLEN);
	ssize_t got = receive(s, (size_t)probe, MSG_PEEK, &fl, NULL, NULL);
	CHECK_EQ("a buffer of that length takes it whole", got, probe);
	CHECK_EQ("no MSG_TRUNC", fl & MSG_TRUNC, 0);
	lo = 0;
	int addrs = read_dump(s, 32768, 77, pid, RTM_NEWADDR, is_lo_addr, &lo, &done_ok);
	CHECK("address dump has addresses", addrs > 0);
	CHECK("address dump has 127.0.0.1/8 on lo", lo);
	CHECK("address dump ends with NLMSG_DONE", done_ok);

	/* A second dump while one runs: EBUSY, behind the first one's first datagram. */
	request(s, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP | NLM_F_ACK, 31, &ifa, sizeof ifa, NULL, 0);
	request(s, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 32, &g, sizeof g, NULL, 0);
	got = receive(s, sizeof buf, MSG_DONTWAIT, NULL, NULL, NULL);
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	CHECK("the first dump's datagram comes first", got > 0 && h->nlmsg_type == RTM_NEWADDR && h->nlmsg_seq == 31);
	got = receive(s, sizeof buf, MSG_DONTWAIT, NULL, NULL, NULL);
	CHECK("then EBUSY for the second", got > 0 && h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq == 32 && ((struct nlmsgerr *)NLMSG_DATA(h))->error == -EBUSY);
	int rest_ok = 0;
	for (int i = 0; i < 1000; i++) {
		got = receive(s, sizeof buf, MSG_DONTWAIT, NULL, NULL, NULL);
		if (got <= 0)
			break;
		if (h->nlmsg_type == NLMSG_DONE && h->nlmsg_seq == 31) {
			rest_ok = 1;
			break;
		}
	}
	CHECK("the first dump ends, with no ACK after it", rest_ok && receive(s, 100, MSG_DONTWAIT, NULL, NULL, NULL) == -1 && errno == EAGAIN);

	/* A short buffer: the datagram's start, MSG_TRUNC, and the rest is gone. */
	request(s, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 5, &g, sizeof g, NULL, 0);
	unsigned from = 7;
	socklen_t nl_len = 0;
	got = receive(s, 64, MSG_TRUNC, &fl, &from, &nl_len);
	CHECK("MSG_TRUNC returns the whole length", got > 64);
	CHECK("msg_flags has MSG_TRUNC", fl & MSG_TRUNC);
	CHECK_EQ("msg_name is the kernel's", from, 0);
	CHECK_EQ("msg_namelen", nl_len, sizeof(struct sockaddr_nl));
	int total = 0, whole = 1, seen_done = 0;
	for (int i = 0; i < 1000 && !seen_done; i++) {
		ssize_t n = receive(s, 4096, 0, &fl, NULL, NULL);
		if (n <= 0 || (fl & MSG_TRUNC)) {
			whole = 0;
			break;
		}
		int left = (int)n;
		struct nlmsghdr *h;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_type == NLMSG_DONE)
				seen_done = 1;
			total++;
		}
		if (left)
			whole = 0;
	}
	CHECK("4 KiB reads take whole messages to NLMSG_DONE", whole && seen_done && total >= 1);

	/* One link by index, with an ACK. */
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)lo_index };
	request(s, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 9, &ifi, sizeof ifi, NULL, 0);
	got = receive(s, sizeof buf, MSG_DONTWAIT, &fl, NULL, NULL);
	CHECK("RTM_GETLINK by index answers RTM_NEWLINK", got > 0 && h->nlmsg_type == RTM_NEWLINK && h->nlmsg_seq == 9 && !(h->nlmsg_flags & NLM_F_MULTI));
	CHECK("the answer is lo", got > 0 && is_lo_link(h));
	got = receive(s, sizeof buf, MSG_DONTWAIT, &fl, NULL, NULL);
	struct nlmsgerr *e = NLMSG_DATA(h);
	CHECK("then an ACK", got == NLMSG_LENGTH(sizeof *e) && h->nlmsg_type == NLMSG_ERROR && e->error == 0 && e->msg.nlmsg_seq == 9);
	CHECK_EQ("the ACK is capped", h->nlmsg_flags, NLM_F_CAPPED);

	/* One link by name. */
	struct ifinfomsg byname = { .ifi_family = AF_UNSPEC };
	char attr[RTA_SPACE(3)] = { 0 };
	struct rtattr *ra = (struct rtattr *)attr;
	ra->rta_len = RTA_LENGTH(3);
	ra->rta_type = IFLA_IFNAME;
	memcpy(RTA_DATA(ra), "lo", 3);
	request(s, RTM_GETLINK, NLM_F_REQUEST, 10, &byname, sizeof byname, attr, sizeof attr);
	got = receive(s, sizeof buf, MSG_DONTWAIT, NULL, NULL, NULL);
	CHECK("RTM_GETLINK by name finds lo", got > 0 && h->nlmsg_type == RTM_NEWLINK && is_lo_link(h));

	/* A missing link: ENODEV, with the request echoed. */
	ifi.ifi_index = 0x7ffffff0;
	request(s, RTM_GETLINK, NLM_F_REQUEST, 11, &ifi, sizeof ifi, NULL, 0);
	got = receive(s, sizeof buf, MSG_DONTWAIT, NULL, NULL, NULL);
	CHECK("a missing link is ENODEV", got > 0 && h->nlmsg_type == NLMSG_ERROR && e->error == -ENODEV && h->nlmsg_seq == 11);
	CHECK_EQ("the error echoes the request", got, NLMSG_LENGTH(sizeof *e) + sizeof ifi);

	/* An unknown message type. */
	request(s, 200, NLM_F_REQUEST | NLM_F_ACK, 12, &g, sizeof g, NULL, 0);
	got = receive(s, sizeof buf, MSG_DONTWAIT, NULL, NULL, NULL);
	CHECK("an unknown type gets NLMSG_ERROR", got > 0 && h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq == 12 && h->nlmsg_pid == pid);
	CHECK_EQ("its error is EOPNOTSUPP", e->error, -EOPNOTSUPP);
	CHECK_EQ("it names the request's type", e->msg.nlmsg_type, 200);
	CHECK_ERR("nothing more", receive(s, 100, MSG_DONTWAIT, NULL, NULL, NULL), EAGAIN);

	/* A message that is not a request is only acknowledged. */
	request(s, RTM_GETLINK, NLM_F_ACK, 13, &g, sizeof g, NULL, 0);
	got = receive(s, sizeof buf, MSG_DONTWAIT, NULL, NULL, NULL);
	CHECK("a non-request gets only an ACK", got == NLMSG_LENGTH(sizeof *e) && h->nlmsg_type == NLMSG_ERROR && e->error == 0);
	CHECK_ERR("and nothing else", receive(s, 100, MSG_DONTWAIT, NULL, NULL, NULL), EAGAIN);

	/* Garbage is dropped silently. */
	char junk[64] = { 0 };
	struct nlmsghdr *jh = (struct nlmsghdr *)junk;
	CHECK_EQ("send 8 bytes", send(s, junk, 8, 0), 8);
	jh->nlmsg_len = 1000;
	jh->nlmsg_type = RTM_GETLINK;
	jh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	CHECK_EQ("send a header longer than the data", send(s, junk, 20, 0), 20);
	jh->nlmsg_len = 8;
	CHECK_EQ("send a header shorter than itself", send(s, junk, 20, 0), 20);
	CHECK_ERR("garbage gets no answer", receive(s, 100, MSG_DONTWAIT, NULL, NULL, NULL), EAGAIN);

	/* A blocking receive with nothing coming is interrupted by a signal. */
	struct sigaction sa = { .sa_handler = on_alarm };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { .it_value = { 0, 100000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK_ERR("blocking recv is interrupted", recv(s, buf, sizeof buf, 0), EINTR);
	CHECK_EQ("the handler ran", alarms, 1);
	close(s);

	/* read and write, epoll, SO_RCVTIMEO, groups, connect. */
	int r = open_route(SOCK_RAW);
	struct stat st;
	CHECK_OK("fstat", fstat(r, &st));
	CHECK("a netlink socket is S_IFSOCK", S_ISSOCK(st.st_mode));
	struct sockaddr_nl grp = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	CHECK_OK("bind to a group", bind(r, (struct sockaddr *)&grp, sizeof grp));
	ml = sizeof me;
	getsockname(r, (struct sockaddr *)&me, &ml);
	CHECK_EQ("getsockname shows the group", me.nl_groups, 1);
	v = 3;
	CHECK_OK("NETLINK_ADD_MEMBERSHIP", setsockopt(r, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &v, sizeof v));
	uint32_t groups[2] = { 0, 0 };
	vl = sizeof groups;
	CHECK_OK("NETLINK_LIST_MEMBERSHIPS", getsockopt(r, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, groups, &vl));
	CHECK_EQ("the groups joined", groups[0], 5);
	struct sockaddr_nl kern = { .nl_family = AF_NETLINK };
	CHECK_OK("connect to the kernel", connect(r, (struct sockaddr *)&kern, sizeof kern));
	struct sockaddr_nl peer = { .nl_pid = 5 };
	ml = sizeof peer;
	CHECK_OK("getpeername", getpeername(r, (struct sockaddr *)&peer, &ml));
	CHECK("the peer is the kernel", peer.nl_family == AF_NETLINK && peer.nl_pid == 0 && ml == sizeof peer);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = r }, out;
	CHECK_OK("epoll_ctl ADD", epoll_ctl(ep, EPOLL_CTL_ADD, r, &ev));
	CHECK_EQ("epoll: nothing yet", epoll_wait(ep, &out, 1, 0), 0);
	char wreq[NLMSG_LENGTH(sizeof(struct ifinfomsg))] = { 0 };
	h = (struct nlmsghdr *)wreq;
	h->nlmsg_len = sizeof wreq;
	h->nlmsg_type = RTM_GETLINK;
	h->nlmsg_flags = NLM_F_REQUEST;
	h->nlmsg_seq = 21;
	((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index = (int)lo_index;
	CHECK_EQ("write a request", write(r, wreq, sizeof wreq), sizeof wreq);
	CHECK_EQ("epoll: the answer", epoll_wait(ep, &out, 1, 1000), 1);
	got = read(r, buf, sizeof buf);
	h = (struct nlmsghdr *)buf;
	CHECK("read takes the answer", got > 0 && h->nlmsg_type == RTM_NEWLINK && h->nlmsg_seq == 21 && is_lo_link(h));
	CHECK_EQ("epoll: drained", epoll_wait(ep, &out, 1, 0), 0);
	close(ep);
	struct ifreq ifr = { 0 };
	strcpy(ifr.ifr_name, "lo");
	CHECK_OK("SIOCGIFINDEX on a netlink socket", ioctl(r, SIOCGIFINDEX, &ifr));
	CHECK_EQ("it gives lo's index", ifr.ifr_ifindex, lo_index);
	int avail = 0;
	CHECK_ERR("FIONREAD on a netlink socket", ioctl(r, FIONREAD, &avail), ENOTTY);
	struct timeval tv = { 0, 50000 };
	CHECK_OK("SO_RCVTIMEO", setsockopt(r, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	CHECK_ERR("a receive times out", recv(r, buf, sizeof buf, 0), EAGAIN);
	close(r);

	/* Other protocols and types. */
	CHECK_ERR("a protocol past MAX_LINKS", socket(AF_NETLINK, SOCK_RAW, 40), EPROTONOSUPPORT);
	CHECK_ERR("an unregistered protocol", socket(AF_NETLINK, SOCK_RAW, 31), EPROTONOSUPPORT);
	CHECK_ERR("SOCK_STREAM", socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE), ESOCKTNOSUPPORT);
	T_DONE();
}
