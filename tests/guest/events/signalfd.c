/* signalfd: reading blocked signals as struct signalfd_siginfo (kill,
 * sigqueue, tgkill, a POSIX timer, a signal from another process while the
 * read blocks), several records in one read, readiness in poll, a fork
 * child reading its own signals through the inherited fd, changing
 * the set of an existing signalfd, a signal read from the fd never reaching
 * its handler, what the fd looks like, and the EINVAL/EFAULT/EBADF cases. */
#include "../test.h"
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>

/* An address no program maps: its own value is hidden from the compiler. */
static void *volatile bad = (void *)8;

static volatile sig_atomic_t handled;
static void on_usr1(int sig) { (void)sig; handled++; }

static sigset_t set_of(int a, int b)
{
	sigset_t s;
	sigemptyset(&s);
	if (a)
		sigaddset(&s, a);
	if (b)
		sigaddset(&s, b);
	return s;
}

int main(void)
{
	T_BEGIN();
	alarm(30);
	signal(SIGUSR1, on_usr1);
	int rt = SIGRTMIN + 2;
	sigset_t block = set_of(SIGUSR1, SIGUSR2);
	sigaddset(&block, rt);
	sigprocmask(SIG_BLOCK, &block, NULL);

	sigset_t mask = set_of(SIGUSR1, rt);
	int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	CHECK_OK("signalfd", fd);
	CHECK_EQ("O_RDWR|O_NONBLOCK", fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR | O_NONBLOCK);
	CHECK_EQ("FD_CLOEXEC", fcntl(fd, F_GETFD), FD_CLOEXEC);

	struct signalfd_siginfo si[4];
	CHECK_ERR("nothing pending: EAGAIN", read(fd, si, sizeof si[0]), EAGAIN);
	struct pollfd p = {fd, POLLIN | POLLOUT, 0};
	CHECK_EQ("nothing pending: not ready", poll(&p, 1, 0), 0);

	/* kill to the process. */
	kill(getpid(), SIGUSR1);
	CHECK_EQ("pending: ready", poll(&p, 1, 0), 1);
	CHECK_EQ("POLLIN alone", p.revents, POLLIN);
	memset(si, 0, sizeof si);
	CHECK_EQ("read one record", read(fd, si, sizeof si), (long)sizeof si[0]);
	CHECK_EQ("ssi_signo", si[0].ssi_signo, SIGUSR1);
	CHECK_EQ("ssi_code SI_USER", si[0].ssi_code, SI_USER);
	CHECK("ssi_pid is ours", si[0].ssi_pid == (uint32_t)getpid());
	CHECK("ssi_uid is ours", si[0].ssi_uid == getuid());
	CHECK_ERR("taken: EAGAIN", read(fd, si, sizeof si), EAGAIN);
	CHECK_EQ("taken: not ready", poll(&p, 1, 0), 0);
	sigset_t pend;
	sigpending(&pend);
	CHECK("taken: no longer pending", !sigismember(&pend, SIGUSR1));

	/* sigqueue with a value; several records in one read. */
	union sigval v = {.sival_int = 42};
	sigqueue(getpid(), rt, v);
	v.sival_int = 43;
	sigqueue(getpid(), rt, v);
	kill(getpid(), SIGUSR1);
	memset(si, 0, sizeof si);
	CHECK_EQ("three records in one read", read(fd, si, sizeof si), 3 * (long)sizeof si[0]);
	CHECK_EQ("lowest first: SIGUSR1", si[0].ssi_signo, SIGUSR1);
	CHECK_EQ("then the real-time signal", si[1].ssi_signo, rt);
	CHECK_EQ("ssi_code SI_QUEUE", si[1].ssi_code, SI_QUEUE);
	CHECK_EQ("ssi_int 42", si[1].ssi_int, 42);
	CHECK_EQ("queued in order: ssi_int 43", si[2].ssi_int, 43);
	CHECK("sigqueue ssi_pid", si[1].ssi_pid == (uint32_t)getpid());

	/* tgkill to this thread. */
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
	memset(si, 0, sizeof si);
	CHECK_EQ("read thread-directed", read(fd, si, sizeof si), (long)sizeof si[0]);
	CHECK_EQ("ssi_code SI_TKILL", si[0].ssi_code, SI_TKILL);

	/* A POSIX timer's signal. */
	struct sigevent ev;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = rt;
	ev.sigev_value.sival_int = 7;
	timer_t tid;
	CHECK_OK("timer_create", timer_create(CLOCK_MONOTONIC, &ev, &tid));
	struct itimerspec its = {{0, 0}, {0, 20000000}};
	timer_settime(tid, 0, &its, NULL);
	CHECK_EQ("poll waits for the timer's signal", poll(&p, 1, -1), 1);
	memset(si, 0, sizeof si);
	CHECK_EQ("read the timer's signal", read(fd, si, sizeof si), (long)sizeof si[0]);
	CHECK_EQ("ssi_code SI_TIMER", si[0].ssi_code, SI_TIMER);
	CHECK_EQ("ssi_int is the sigev value", si[0].ssi_int, 7);
	CHECK_EQ("ssi_overrun", si[0].ssi_overrun, 0);
	timer_delete(tid);

	/* A signal outside the set stays pending, and the fd is not ready. */
	kill(getpid(), SIGUSR2);
	CHECK_ERR("SIGUSR2 is not in the set", read(fd, si, sizeof si), EAGAIN);
	CHECK_EQ("not ready for SIGUSR2", poll(&p, 1, 0), 0);
	/* A new set for the same fd: SIGKILL and SIGSTOP are dropped silently. */
	sigset_t m2 = set_of(SIGUSR2, SIGKILL);
	sigaddset(&m2, SIGSTOP);
	CHECK_EQ("signalfd(fd, ...) returns fd", signalfd(fd, &m2, 0), fd);
	CHECK_EQ("the flags stay", fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	CHECK_EQ("now ready", poll(&p, 1, 0), 1);
	memset(si, 0, sizeof si);
	CHECK_EQ("read SIGUSR2", read(fd, si, sizeof si), (long)sizeof si[0]);
	CHECK_EQ("ssi_signo SIGUSR2", si[0].ssi_signo, SIGUSR2);

	/* Blocking read: a child sends the signal while the parent waits. */
	int bfd = signalfd(-1, &mask, 0);
	pid_t child = fork();
	if (child == 0) {
		struct timespec t = {0, 30000000};
		nanosleep(&t, NULL);
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	memset(si, 0, sizeof si);
	CHECK_EQ("blocking read waits for a signal from another process", read(bfd, si, sizeof si), (long)sizeof si[0]);
	CHECK_EQ("ssi_signo from the child", si[0].ssi_signo, SIGUSR1);
	CHECK("ssi_pid is the child", si[0].ssi_pid == (uint32_t)child);
	waitpid(child, NULL, 0);

	/* The handler never ran for any SIGUSR1 read from the fd. */
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	CHECK_EQ("the handler never ran", handled, 0);
	/* Unblocked, a signal goes to its handler and the fd has nothing. */
	kill(getpid(), SIGUSR1);
	CHECK_EQ("unblocked: the handler ran", handled, 1);
	CHECK_ERR("unblocked: nothing for the fd", read(fd, si, sizeof si), EAGAIN);
	sigprocmask(SIG_BLOCK, &block, NULL);

	/* A fork child's signalfd reads the child's own signals. */
	pid_t c2 = fork();
	if (c2 == 0) {
		alarm(20);
		kill(getpid(), SIGUSR2);
		struct pollfd cp = {fd, POLLIN, 0};
		struct signalfd_siginfo csi;
		int ok = poll(&cp, 1, -1) == 1 && read(fd, &csi, sizeof csi) == sizeof csi &&
			 csi.ssi_signo == SIGUSR2 && csi.ssi_pid == (uint32_t)getpid();
		_exit(ok ? 0 : 1);
	}
	int status = -1;
	waitpid(c2, &status, 0);
	CHECK("a fork child reads its own signal", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_ERR("...which the parent never had", read(fd, si, sizeof si), EAGAIN);

	/* What the fd is. */
	struct stat st;
	CHECK_OK("fstat", fstat(fd, &st));
	CHECK_EQ("no file type, mode 0600", st.st_mode, 0600);
	char link[64] = {0};
	CHECK_OK("readlink", t_fd_link(fd, link, sizeof link));
	CHECK_STR("link name", link, "anon_inode:[signalfd]");

	/* Errors. */
	char small[64];
	CHECK_ERR("read of less than 128 bytes", read(fd, small, sizeof small), EINVAL);
	CHECK_ERR("short read to a bad address is EINVAL too", read(fd, bad, 64), EINVAL);
	kill(getpid(), SIGUSR2);
	CHECK_ERR("read to a bad address", read(fd, bad, 128), EFAULT);
	CHECK_ERR("write", write(fd, si, sizeof si[0]), EINVAL);
	CHECK_ERR("sizemask 4", syscall(SYS_signalfd4, -1, &mask, 4, 0), EINVAL);
	CHECK_ERR("sizemask 16", syscall(SYS_signalfd4, -1, &mask, 16, 0), EINVAL);
	CHECK_ERR("unknown flag", syscall(SYS_signalfd4, -1, &mask, 8, 1), EINVAL);
	CHECK_ERR("mask at a bad address", syscall(SYS_signalfd4, -1, bad, 8, 0), EFAULT);
	int pfd[2];
	pipe(pfd);
	CHECK_ERR("a new set for a pipe", signalfd(pfd[0], &mask, 0), EINVAL);
	CHECK_ERR("a new set for a closed fd", signalfd(999, &mask, 0), EBADF);
	CHECK_OK("signalfd (the old call)", syscall(SYS_signalfd, -1, &mask, 8));
	T_DONE();
}
