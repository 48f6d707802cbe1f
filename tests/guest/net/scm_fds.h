/* Sending and receiving up to four fds with SCM_RIGHTS over a Unix
 * stream socket, one byte of data each time: the helpers the SCM_RIGHTS
 * programs of this area share. Every wait is bounded (a 5 s poll). */
#ifndef MACTUX_SCM_FDS_H
#define MACTUX_SCM_FDS_H

#include <poll.h>
#include <string.h>
#include <sys/socket.h>

/* Sends fds[0..n) (n <= 4); 0, or -1 on an error. */
static __attribute__((unused)) int send_fds(int s, const int *fds, int n)
{
	char byte = 'x';
	struct iovec iov = { &byte, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = CMSG_SPACE(sizeof(int) * n) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	return sendmsg(s, &m, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* Receives up to 4 fds (close-on-exec) with recvmsg `flags` besides;
 * returns how many, -1 on an error or MSG_CTRUNC. */
static __attribute__((unused)) int recv_fds(int s, int *fds, int flags)
{
	struct pollfd p = { s, POLLIN, 0 };
	if (poll(&p, 1, 5000) != 1)
		return -1;
	char byte;
	struct iovec iov = { &byte, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	if (recvmsg(s, &m, flags | MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1)
		return -1;
	if (m.msg_flags & MSG_CTRUNC)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return 0;
	int n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	memcpy(fds, CMSG_DATA(c), sizeof(int) * n);
	return n;
}

#endif
