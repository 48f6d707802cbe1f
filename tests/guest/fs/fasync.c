/* Signal-driven I/O settings: FIOASYNC is F_SETFL's O_ASYNC, and the owner
 * (F_SETOWN, F_SETOWN_EX) and signal (F_SETSIG) of a socket read back as
 * set; bad owner types and signals are EINVAL. (nginx sets all of these on
 * its channel sockets before it starts a worker.) */
#include "../test.h"
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

int main(void)
{
	T_BEGIN();
	int sv[2];
	CHECK_OK("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	int on = 1, off = 0;
	CHECK_OK("FIOASYNC on", ioctl(sv[0], FIOASYNC, &on));
	CHECK_EQ("F_GETFL shows O_ASYNC", fcntl(sv[0], F_GETFL) & O_ASYNC, O_ASYNC);
	CHECK_OK("FIOASYNC off", ioctl(sv[0], FIOASYNC, &off));
	CHECK_EQ("F_GETFL without O_ASYNC", fcntl(sv[0], F_GETFL) & O_ASYNC, 0);
	CHECK_EQ("no owner yet", fcntl(sv[0], F_GETOWN), 0);
	CHECK_OK("F_SETOWN to me", fcntl(sv[0], F_SETOWN, getpid()));
	CHECK_EQ("F_GETOWN", fcntl(sv[0], F_GETOWN), getpid());
	CHECK_OK("F_SETOWN to my group", fcntl(sv[0], F_SETOWN, -getpgrp()));
	CHECK_EQ("a group reads back negative", fcntl(sv[0], F_GETOWN), -getpgrp());
	struct f_owner_ex ex = { F_OWNER_TID, (pid_t)syscall(SYS_gettid) };
	CHECK_OK("F_SETOWN_EX thread", fcntl(sv[0], F_SETOWN_EX, &ex));
	struct f_owner_ex got = { 0, 0 };
	CHECK_OK("F_GETOWN_EX", fcntl(sv[0], F_GETOWN_EX, &got));
	CHECK("F_GETOWN_EX reads it back", got.type == F_OWNER_TID && got.pid == ex.pid);
	ex.type = 7;
	CHECK_ERR("bad owner type", fcntl(sv[0], F_SETOWN_EX, &ex), EINVAL);
	CHECK_EQ("no signal set: 0", fcntl(sv[0], F_GETSIG), 0);
	CHECK_OK("F_SETSIG", fcntl(sv[0], F_SETSIG, SIGUSR1));
	CHECK_EQ("F_GETSIG", fcntl(sv[0], F_GETSIG), SIGUSR1);
	CHECK_ERR("F_SETSIG past the last signal", fcntl(sv[0], F_SETSIG, 65), EINVAL);
	T_DONE();
}
