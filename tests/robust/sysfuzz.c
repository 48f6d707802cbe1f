/*
 * sysfuzz: random system calls with hostile arguments, to show that no guest
 * input makes the runtime panic, crash or hang. Not a behaviour test: under
 * mactux the outcome of each call may differ from Linux (a missing call
 * returns ENOSYS and the state diverges from there), so only termination is
 * judged. The program must end with status 0 both natively and under mactux.
 *
 * usage: sysfuzz SEED [CALLS [THREADS]]   (in a directory of its own: it
 *                                  makes a private sysfuzz.XXXXXX below it)
 *
 * With THREADS > 1 the child runs THREADS fuzzing threads, each making CALLS
 * calls at once on the same fds, names and memory, and two more threads
 * race on one buffer: one read()s a scratch file into it over and over
 * while the other munmaps it, maps it again and changes its protection, so
 * a read's copy-out meets memory that is going away. The runtime must
 * neither crash nor hang on it (natively those reads just fail with EFAULT).
 *
 * Safety, since the tests run as root. Every fd, path and address the random
 * calls get is one this program made, so fchmod, fchown, ftruncate, write,
 * rename, unlink and the rest act only on its own scratch files:
 *
 *  - fds: the process that fuzzes is a child that owns no fd it did not open
 *    itself. The parent closes every inherited fd from 3 up before it forks;
 *    the child replaces 0, 1 and 2 by files in the scratch directory (the
 *    inherited ones may be /dev/null, a terminal, or a file of the caller:
 *    an fchmod(0, ...) as root once left the host's /dev/null at mode 0200).
 *    The parent keeps its stdin, stdout and stderr only to report, and makes
 *    no random call.
 *  - paths: the child works in a new mkdtemp directory (mode 0700) and the
 *    names are relative ones without "." or ".." components, or a few
 *    read-only files of /proc/self; symlinks it makes point at those same
 *    names, so no path, followed through any symlink, leaves the scratch
 *    directory (or its own /proc/self, where chmod, rename, unlink and
 *    truncate fail, and chown or utime change only this process's entries).
 *    main() refuses to start should an edit break that rule. Directory fds
 *    come only from opening those names. No chdir or fchdir.
 *  - memory calls only touch a scratch region of our own or invalid addresses.
 *  - nothing that acts on the rest of the machine: no kill, no identity,
 *    limit, scheduling, mount or clock changes, no signal handler, no
 *    sockets of families that talk to the kernel (netlink, packet, key):
 *    only AF_UNIX, AF_INET and AF_INET6, which send nothing unconnected.
 *    File sizes and offsets stay small.
 *
 * A 20 ms interval timer whose handler does nothing interrupts any call that
 * would block, and the signal mask is restored after every call, so SIGALRM
 * is never left blocked. With threads, the main thread instead sends SIGALRM
 * to each fuzzing thread every 20 ms (pthread_kill) until all are done.
 *
 * The parent prints one summary line; with SYSFUZZ_LOG=FILE the child appends
 * each call to FILE before making it (reopened per line: the fuzz may close
 * any fd). When the child ends badly, the parent reports how, shows the end
 * of the child's stderr file and keeps the scratch directory; otherwise it
 * removes it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

enum kind {
	K_0,      /* 0 */
	K_FD,     /* a file descriptor, valid or not */
	K_PATH,   /* a path: pointer to a name, or a bad pointer */
	K_BUF,    /* a pointer into our scratch buffer, or a bad pointer */
	K_LEN,    /* a length: small, page-sized, or absurd */
	K_FLAGS,  /* random bits, often few */
	K_INT,    /* an interesting integer */
	K_MADDR,  /* an address inside the scratch mapping, or an invalid one */
	K_OFF,    /* a file offset: small, negative or absurd, never a huge valid one */
	K_SIGSET, /* a pointer to a signal set without SIGALRM, or a bad pointer */
	K_IOV,    /* a pointer to an iovec array into the buffer, or a bad pointer */
	K_CMD,    /* an fcntl/ioctl/futex/prctl command, real or not (per call) */
	K_MMFLAGS, /* mmap flags without MAP_FIXED, MAP_POPULATE, MAP_LOCKED */
	K_MLEN     /* a length for the memory calls: stays inside the scratch region, or absurd */
};

struct call {
	long nr;
	const char *name;
	unsigned char k[6];
};

#define C(nr, ...) {nr, #nr, {__VA_ARGS__}}
static const struct call calls[] = {
	C(SYS_read, K_FD, K_BUF, K_LEN),
	C(SYS_write, K_FD, K_BUF, K_LEN),
	C(SYS_open, K_PATH, K_FLAGS, K_INT),
	C(SYS_close, K_FD),
	C(SYS_stat, K_PATH, K_BUF),
	C(SYS_fstat, K_FD, K_BUF),
	C(SYS_lstat, K_PATH, K_BUF),
	C(SYS_poll, K_BUF, K_INT, K_INT),
	C(SYS_lseek, K_FD, K_OFF, K_INT),
	C(SYS_mmap, K_MADDR, K_LEN, K_FLAGS, K_MMFLAGS, K_FD, K_OFF),
	C(SYS_mprotect, K_MADDR, K_MLEN, K_FLAGS),
	C(SYS_munmap, K_MADDR, K_MLEN),
	C(SYS_rt_sigprocmask, K_INT, K_SIGSET, K_BUF, K_LEN),
	C(SYS_ioctl, K_FD, K_CMD, K_BUF),
	C(SYS_pread64, K_FD, K_BUF, K_LEN, K_OFF),
	C(SYS_pwrite64, K_FD, K_BUF, K_LEN, K_OFF),
	C(SYS_readv, K_FD, K_IOV, K_INT),
	C(SYS_writev, K_FD, K_IOV, K_INT),
	C(SYS_access, K_PATH, K_INT),
	C(SYS_pipe, K_BUF),
	C(SYS_select, K_INT, K_BUF, K_BUF, K_BUF, K_BUF),
	C(SYS_sched_yield),
	C(SYS_mremap, K_MADDR, K_MLEN, K_MLEN, K_FLAGS, K_MADDR),
	C(SYS_msync, K_MADDR, K_MLEN, K_FLAGS),
	C(SYS_mincore, K_MADDR, K_MLEN, K_BUF),
	C(SYS_madvise, K_MADDR, K_MLEN, K_CMD),
	C(SYS_dup, K_FD),
	C(SYS_dup2, K_FD, K_FD),
	C(SYS_pause),
	C(SYS_nanosleep, K_BUF, K_BUF),
	C(SYS_getitimer, K_INT, K_BUF),
	C(SYS_getpid),
	C(SYS_sendfile, K_FD, K_FD, K_BUF, K_LEN),
	C(SYS_fcntl, K_FD, K_CMD, K_BUF),
	C(SYS_flock, K_FD, K_INT),
	C(SYS_fsync, K_FD),
	C(SYS_fdatasync, K_FD),
	C(SYS_truncate, K_PATH, K_OFF),
	C(SYS_ftruncate, K_FD, K_OFF),
	C(SYS_getdents64, K_FD, K_BUF, K_LEN),
	C(SYS_getcwd, K_BUF, K_LEN),
	C(SYS_rename, K_PATH, K_PATH),
	C(SYS_mkdir, K_PATH, K_INT),
	C(SYS_rmdir, K_PATH),
	C(SYS_creat, K_PATH, K_INT),
	C(SYS_link, K_PATH, K_PATH),
	C(SYS_unlink, K_PATH),
	C(SYS_symlink, K_PATH, K_PATH),
	C(SYS_readlink, K_PATH, K_BUF, K_LEN),
	C(SYS_chmod, K_PATH, K_INT),
	C(SYS_fchmod, K_FD, K_INT),
	C(SYS_chown, K_PATH, K_INT, K_INT),
	C(SYS_fchown, K_FD, K_INT, K_INT),
	C(SYS_lchown, K_PATH, K_INT, K_INT),
	C(SYS_umask, K_INT),
	C(SYS_gettimeofday, K_BUF, K_BUF),
	C(SYS_getrlimit, K_INT, K_BUF),
	C(SYS_getrusage, K_INT, K_BUF),
	C(SYS_sysinfo, K_BUF),
	C(SYS_times, K_BUF),
	C(SYS_getuid),
	C(SYS_getgid),
	C(SYS_geteuid),
	C(SYS_getegid),
	C(SYS_setpgid, K_INT, K_INT),
	C(SYS_getppid),
	C(SYS_getpgrp),
	C(SYS_getgroups, K_INT, K_BUF),
	C(SYS_getresuid, K_BUF, K_BUF, K_BUF),
	C(SYS_getresgid, K_BUF, K_BUF, K_BUF),
	C(SYS_getpgid, K_INT),
	C(SYS_getsid, K_INT),
	C(SYS_rt_sigpending, K_BUF, K_LEN),
	C(SYS_rt_sigtimedwait, K_SIGSET, K_BUF, K_BUF, K_LEN),
	C(SYS_sigaltstack, K_BUF, K_BUF),
	C(SYS_utime, K_PATH, K_BUF),
	C(SYS_statfs, K_PATH, K_BUF),
	C(SYS_fstatfs, K_FD, K_BUF),
	C(SYS_getpriority, K_INT, K_INT),
	C(SYS_sched_getparam, K_INT, K_BUF),
	C(SYS_sched_getscheduler, K_INT),
	C(SYS_sched_get_priority_max, K_INT),
	C(SYS_sched_get_priority_min, K_INT),
	C(SYS_prctl, K_CMD, K_BUF, K_INT, K_INT, K_INT),
	C(SYS_gettid),
	C(SYS_time, K_BUF),
	C(SYS_futex, K_BUF, K_CMD, K_INT, K_BUF, K_BUF, K_INT),
	C(SYS_sched_getaffinity, K_INT, K_LEN, K_BUF),
	C(SYS_getdents64, K_FD, K_BUF, K_LEN),
	C(SYS_fadvise64, K_FD, K_OFF, K_LEN, K_INT),
	C(SYS_clock_gettime, K_INT, K_BUF),
	C(SYS_clock_getres, K_INT, K_BUF),
	C(SYS_clock_nanosleep, K_INT, K_FLAGS, K_BUF, K_BUF),
	C(SYS_wait4, K_INT, K_BUF, K_FLAGS, K_BUF),
	C(SYS_waitid, K_INT, K_INT, K_BUF, K_FLAGS, K_BUF),
	C(SYS_openat, K_FD, K_PATH, K_FLAGS, K_INT),
	C(SYS_mkdirat, K_FD, K_PATH, K_INT),
	C(SYS_fchownat, K_FD, K_PATH, K_INT, K_INT, K_FLAGS),
	C(SYS_newfstatat, K_FD, K_PATH, K_BUF, K_FLAGS),
	C(SYS_unlinkat, K_FD, K_PATH, K_FLAGS),
	C(SYS_renameat, K_FD, K_PATH, K_FD, K_PATH),
	C(SYS_linkat, K_FD, K_PATH, K_FD, K_PATH, K_FLAGS),
	C(SYS_symlinkat, K_PATH, K_FD, K_PATH),
	C(SYS_readlinkat, K_FD, K_PATH, K_BUF, K_LEN),
	C(SYS_fchmodat, K_FD, K_PATH, K_INT),
	C(SYS_faccessat, K_FD, K_PATH, K_INT),
	C(SYS_pselect6, K_INT, K_BUF, K_BUF, K_BUF, K_BUF, K_0),
	C(SYS_ppoll, K_BUF, K_INT, K_BUF, K_SIGSET, K_LEN),
	C(SYS_utimensat, K_FD, K_PATH, K_BUF, K_FLAGS),
	C(SYS_dup3, K_FD, K_FD, K_FLAGS),
	C(SYS_pipe2, K_BUF, K_FLAGS),
	C(SYS_preadv, K_FD, K_IOV, K_INT, K_OFF),
	C(SYS_pwritev, K_FD, K_IOV, K_INT, K_OFF),
	C(SYS_prlimit64, K_INT, K_INT, K_0, K_BUF),
	C(SYS_getrandom, K_BUF, K_LEN, K_FLAGS),
	C(SYS_copy_file_range, K_FD, K_BUF, K_FD, K_BUF, K_LEN, K_FLAGS),
	C(SYS_statx, K_FD, K_PATH, K_FLAGS, K_INT, K_BUF),
	C(SYS_renameat2, K_FD, K_PATH, K_FD, K_PATH, K_FLAGS),
	C(SYS_close_range, K_FD, K_FD, K_FLAGS),
	C(SYS_uname, K_BUF),
	C(SYS_getcpu, K_BUF, K_BUF, K_BUF),
	C(SYS_set_robust_list, K_BUF, K_LEN),
	C(SYS_get_robust_list, K_INT, K_BUF, K_BUF),
	C(SYS_mknodat, K_FD, K_PATH, K_CMD, K_0), /* FIFOs and regular files only */
	C(SYS_memfd_create, K_PATH, K_FLAGS),
	C(SYS_eventfd2, K_INT, K_FLAGS),
	C(SYS_epoll_create1, K_FLAGS),
	C(SYS_socket, K_CMD, K_INT, K_INT), /* families that send nothing unconnected */
	C(SYS_kcmp, K_INT, K_INT, K_INT, K_INT, K_INT),
};
#define NCALLS (sizeof calls / sizeof calls[0])

/* Per thread, so that each fuzzing thread has its own sequence. */
static __thread uint64_t rng;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
static uint64_t pick(uint64_t n) { return next() % n; }

#define BUF_SIZE (64 * 1024)
#define SCRATCH_SIZE (1024 * 1024)
static unsigned char *buf;     /* read/write scratch for pointer arguments */
static unsigned char *scratch; /* memory the memory calls may change */
static char *names;            /* the path strings, in their own pages */
static unsigned char *unmapped;

static const char *const name_list[] = {
	"a", "b", "c", "d", "d/e", "d/e/f", "fifo", "link", "nonexistent/x", "", "a/", "d//e",
	"/proc/self/stat", "/proc/self/maps", "/proc/self/status",
};
#define NNAMES (sizeof name_list / sizeof name_list[0])
static char *name_ptrs[NNAMES + 1]; /* + a name longer than PATH_MAX */

static uint64_t bad_pointer(void)
{
	/* null, low, non-canonical and kernel addresses: never mapped */
	static const uint64_t bad[] = {0, 1, 4095, 0xffffffffffffffffull, 0x8000000000000000ull,
				       0xffff800000000000ull, 0x0000800000000000ull};
	if (pick(3) == 0)
		return (uint64_t)(uintptr_t)unmapped + pick(4096);
	return bad[pick(sizeof bad / sizeof bad[0])];
}

static uint64_t interesting_int(void)
{
	static const int64_t v[] = {0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 100, 128, 255, 256, 511, 0644, 0777,
				    4096, 65535, 65536, -1, -2, -100, 0x7fffffff, (int64_t)0x80000000ull,
				    (int64_t)0xffffffffull, INT64_MAX, INT64_MIN};
	if (pick(8) == 0)
		return next();
	return (uint64_t)v[pick(sizeof v / sizeof v[0])];
}

static uint64_t arg(unsigned char k, const struct call *c)
{
	switch (k) {
	case K_0:
		return 0;
	case K_FD: {
		static const int64_t fds[] = {-1, -100, 1023, 1 << 20, 0x7fffffff, -2};
		if (pick(5) == 0)
			return (uint64_t)fds[pick(sizeof fds / sizeof fds[0])];
		return pick(12);
	}
	case K_PATH:
		if (pick(12) == 0)
			return bad_pointer();
		return (uint64_t)(uintptr_t)name_ptrs[pick(NNAMES + 1)];
	case K_BUF:
		if (pick(6) == 0)
			return bad_pointer();
		if (pick(4) == 0)
			return (uint64_t)(uintptr_t)(buf + BUF_SIZE - 1 - pick(64)); /* runs off the end */
		return (uint64_t)(uintptr_t)(buf + (pick(BUF_SIZE / 2) & ~7ull));
	case K_LEN: {
		static const uint64_t lens[] = {0, 1, 2, 7, 8, 16, 64, 128, 1024, 4096, 8192, 65536, 0x7fffffff,
						0xffffffffull, 0x7fffffffffffffffull, 0xffffffffffffffffull};
		if (pick(4) == 0)
			return pick(4097);
		return lens[pick(sizeof lens / sizeof lens[0])];
	}
	case K_FLAGS:
		switch (pick(4)) {
		case 0: return 0;
		case 1: return 1ull << pick(32);
		case 2: return next() & 0xffff;
		default: return next();
		}
	case K_INT:
		return interesting_int();
	case K_MLEN: {
		/* The absurd ones wrap around the address space, which every call
		 * refuses; a large one that does not wrap (2^63 - 1) would make
		 * mprotect change everything mapped above the scratch region. */
		static const uint64_t lens[] = {0, 1, 4095, 4096, 8192, 65536, SCRATCH_SIZE / 2,
						0xffffffffffffffffull, 0xfffffffffffff000ull, 0xffffffffffff0000ull};
		return lens[pick(sizeof lens / sizeof lens[0])];
	}
	case K_MADDR: {
		if (pick(5) == 0)
			return bad_pointer();
		uint64_t off = pick(SCRATCH_SIZE / 2); /* + K_MLEN stays inside */
		if (pick(2))
			off &= ~4095ull;
		return (uint64_t)(uintptr_t)scratch + off;
	}
	case K_OFF: {
		static const int64_t offs[] = {0, 1, 4095, 4096, 65536, 1 << 20, -1, -4096, INT64_MAX, INT64_MIN};
		return (uint64_t)offs[pick(sizeof offs / sizeof offs[0])];
	}
	case K_SIGSET: {
		if (pick(8) == 0)
			return pick(2) ? 0 : bad_pointer();
		uint64_t *set = (uint64_t *)(buf + BUF_SIZE - 64);
		*set = next() & ~(1ull << (SIGALRM - 1));
		return (uint64_t)(uintptr_t)set;
	}
	case K_IOV: {
		if (pick(8) == 0)
			return bad_pointer();
		uint64_t *iov = (uint64_t *)(buf + BUF_SIZE - 1024);
		for (int i = 0; i < 32; i++) {
			iov[2 * i] = pick(6) == 0 ? bad_pointer() : (uint64_t)(uintptr_t)(buf + pick(BUF_SIZE / 2));
			iov[2 * i + 1] = pick(6) == 0 ? next() : pick(4096);
		}
		return (uint64_t)(uintptr_t)iov;
	}
	case K_CMD:
		if (c->nr == SYS_fcntl) {
			/* never F_SETOWN/F_SETSIG (signals to us), F_SETLEASE (SIGIO on
			 * a break), F_NOTIFY */
			static const int64_t cmds[] = {0, 1, 2, 3, 4, 5, 6, 7, 1025, 1030, 1031, 1032, 1033, 1034, 36,
						       37, 38, 999};
			return (uint64_t)cmds[pick(sizeof cmds / sizeof cmds[0])];
		}
		if (c->nr == SYS_ioctl) {
			/* terminal, FIONREAD/FIONBIO/FIOCLEX, pty and FS_IOC_GETFLAGS;
			 * never TIOCSTI or FS_IOC_SETFLAGS */
			static const uint64_t cmds[] = {0x5401, 0x5402, 0x5403, 0x5404, 0x540f, 0x5413, 0x541b, 0x5421,
							0x5422, 0x5429, 0x80045430, 0x40045431, 0x5441, 0x5450, 0x5451,
							0x80086601, 0, 0xffffffff};
			return cmds[pick(sizeof cmds / sizeof cmds[0])];
		}
		if (c->nr == SYS_futex) {
			uint64_t op = pick(16) == 0 ? next() & 0xffff : pick(13);
			/* The PI operations restart after a signal (ERESTARTNOINTR), so
			 * one could wait for a random owner for ever: never those. */
			switch (op & 127) {
			case 6: case 7: case 8: case 11: case 12: case 13:
				op = 1;
			}
			if (pick(2))
				op |= 128; /* FUTEX_PRIVATE_FLAG */
			if (pick(8) == 0)
				op |= 256; /* FUTEX_CLOCK_REALTIME */
			return op;
		}
		if (c->nr == SYS_prctl) {
			/* PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_NAME, PR_GET_NAME,
			 * PR_GET_NO_NEW_PRIVS, PR_CAPBSET_READ, PR_GET_TIMERSLACK, unknown */
			static const int64_t opts[] = {2, 3, 15, 16, 39, 23, 30, 9999, -1};
			return (uint64_t)opts[pick(sizeof opts / sizeof opts[0])];
		}
		if (c->nr == SYS_madvise) {
			/* never MADV_HWPOISON (100) or MADV_SOFT_OFFLINE (101) */
			static const int64_t adv[] = {0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
						      21, 22, 23, 24, 25, 999, -1};
			return (uint64_t)adv[pick(sizeof adv / sizeof adv[0])];
		}
		if (c->nr == SYS_socket) {
			/* AF_UNIX, AF_INET, AF_INET6 and families that do not exist:
			 * never AF_NETLINK, AF_PACKET or AF_KEY, whose write() talks
			 * to the kernel or the network without a connect. */
			static const int64_t families[] = {1, 2, 10, 0, 46, 9999, -1};
			return (uint64_t)families[pick(sizeof families / sizeof families[0])];
		}
		if (c->nr == SYS_mknodat) {
			/* S_IFIFO or S_IFREG with some mode bits, or no type */
			static const uint64_t modes[] = {0010644, 0100644, 0644, 0010000};
			return modes[pick(sizeof modes / sizeof modes[0])];
		}
		return interesting_int();
	case K_MMFLAGS: {
		uint64_t f = pick(2) ? 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */ : next() & 0xfffff;
		return f & ~(0x10ull | 0x8000 | 0x2000); /* never MAP_FIXED, MAP_POPULATE, MAP_LOCKED */
	}
	}
	return 0;
}

static void on_alarm(int sig) { (void)sig; }

/* What the child hands back: in a shared page mapped before anything else
 * (so no random address reaches it: the memory calls only get the scratch
 * region, invalid addresses, and a hole made after it). */
struct report {
	long calls;
	long errors;
	long race_reads;  /* threaded mode: reads into the raced buffer */
	long race_faults; /* of which failed with EFAULT */
};

/* The fds the child starts with, all its own: 0, 1, 2 are files in the
 * scratch directory (named like the fuzz's own names, so path calls and fd
 * calls meet), then a pipe and a directory. */
static int own_fds(void)
{
	static const char *const std_names[3] = {"a", "b", "c"};
	for (int fd = 0; fd < 3; fd++) {
		int f = open(std_names[fd], O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (f < 0 || dup2(f, fd) != fd)
			return -1;
		if (f != fd)
			close(f);
	}
	int p[2];
	if (pipe(p) != 0 || open("d", O_RDONLY | O_DIRECTORY) < 0)
		return -1;
	return 0;
}

/* Remove everything below directory fd dirfd, never following a symlink:
 * the fuzz leaves files of any mode, directories without permissions, and
 * symlinks to names of the list. */
static void rm_tree_at(int dirfd)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd, e->d_name, 0) == 0)
			continue;
		/* A directory (never a symlink: nothing else runs here now) may
		 * have lost its permissions; give them back to read it. */
		struct stat st;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
			continue;
		fchmodat(dirfd, e->d_name, 0700, 0);
		int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0) {
			rm_tree_at(sub);
			close(sub);
		}
		unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

/* The last bytes of the child's stderr file, printable, on our stderr: a
 * runtime that panics or aborts says why there. */
static void show_tail(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return;
	char tail[2048];
	off_t from = st.st_size > (off_t)sizeof tail ? st.st_size - (off_t)sizeof tail : 0;
	ssize_t n = pread(fd, tail, sizeof tail, from);
	if (n <= 0)
		return;
	for (ssize_t i = 0; i < n; i++)
		if (tail[i] != '\n' && (tail[i] < 0x20 || tail[i] > 0x7e))
			tail[i] = '.';
	fprintf(stderr, "sysfuzz: the end of the child's stderr:\n%.*s\n", (int)n, tail);
}

/* Maps the buffers and names and installs the signal dispositions; returns
 * 0 or an exit status. */
static int prepare(void)
{
	buf = mmap(NULL, BUF_SIZE + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	scratch = mmap(NULL, SCRATCH_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	names = mmap(NULL, 3 * 4096 + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || scratch == MAP_FAILED || names == MAP_FAILED || unmapped == MAP_FAILED)
		return 3;
	munmap(buf + BUF_SIZE, 4096); /* a hole right after the buffer */
	munmap(unmapped, 4096);
	char *p = names;
	for (size_t i = 0; i < NNAMES; i++) {
		name_ptrs[i] = p;
		strcpy(p, name_list[i]);
		p += strlen(name_list[i]) + 1;
	}
	/* A name longer than PATH_MAX (ENAMETOOLONG) in the last pages. */
	name_ptrs[NNAMES] = names + 4096;
	memset(names + 4096, 'n', 2 * 4096 + 100);
	names[3 * 4096 + 200] = 0;

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm; /* no SA_RESTART: a blocked call returns EINTR */
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGXFSZ, &sa, NULL);
	sigaction(SIGTTIN, &sa, NULL);
	sigaction(SIGTTOU, &sa, NULL);
	sigaction(SIGIO, &sa, NULL); /* F_SETFL may set O_ASYNC */
	return 0;
}

/* Set when the fuzz must end early (the parent is gone). */
static atomic_int stop_all;

/* n random calls; `who` tags the log lines (-1: the only thread, which arms
 * its own interval timer around each call). Returns 0 or an exit status. */
static int fuzz_calls(long n, const char *log, pid_t parent, int who, long *errors_out)
{
	sigset_t none;
	sigemptyset(&none);
	long errors = 0;
	for (long i = 0; i < n; i++) {
		/* Should the parent be killed (a harness timeout), stop soon. */
		if (i % 64 == 0 && (getppid() != parent || atomic_load(&stop_all))) {
			atomic_store(&stop_all, 1);
			return 4;
		}
		const struct call *c = &calls[pick(NCALLS)];
		uint64_t a[6];
		for (int j = 0; j < 6; j++)
			a[j] = arg(c->k[j], c);
		if (pick(16) == 0) /* sometimes garbage in the unused arguments too */
			for (int j = 0; j < 6; j++)
				if (c->k[j] == K_0 && c->nr != SYS_prlimit64 && c->nr != SYS_mknodat)
					a[j] = next();
		/* Words read as offsets or sizes are small or negative, never a
		 * huge valid offset that would make a sparse terabyte file. */
		for (size_t j = 0; j < BUF_SIZE / 2; j += 8 * (1 + pick(64)))
			*(uint64_t *)(buf + j) = pick(2) ? next() | (1ull << 63) : pick(4096);
		if (log) {
			char line[256];
			int len = snprintf(line, sizeof line, "%d %ld: %s(%#llx, %#llx, %#llx, %#llx, %#llx, %#llx)\n",
					   who, i, c->name, (unsigned long long)a[0], (unsigned long long)a[1],
					   (unsigned long long)a[2], (unsigned long long)a[3], (unsigned long long)a[4],
					   (unsigned long long)a[5]);
			int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
			if (fd >= 0) {
				if (write(fd, line, len) < 0)
					i = i; /* nothing to do about it */
				close(fd);
			}
		}
		struct itimerval it = {{0, 0}, {0, 20000}}, off = {{0, 0}, {0, 0}};
		if (who < 0)
			setitimer(ITIMER_REAL, &it, NULL);
		long r = syscall(c->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		if (who < 0)
			setitimer(ITIMER_REAL, &off, NULL);
		pthread_sigmask(SIG_SETMASK, &none, NULL);
		if (r == -1)
			errors++;
		if (c->nr == SYS_umask)
			umask(022);
	}
	*errors_out = errors;
	return 0;
}

static int fuzz(long n, const char *log, pid_t parent, struct report *report)
{
	int rc = prepare();
	long errors = 0;
	if (rc == 0)
		rc = fuzz_calls(n, log, parent, -1, &errors);
	if (rc == 0) {
		report->calls = n;
		report->errors = errors;
	}
	return rc;
}

/* ---- threaded mode ---- */

struct fuzzer {
	pthread_t thread;
	uint64_t seed;
	long n;
	int who;
	const char *log;
	pid_t parent;
	atomic_int done;
	long errors;
	int rc;
};

/* Opened once every thread exists and prepare() has run (see fuzz_threaded). */
static atomic_int gate;
static void wait_gate(void)
{
	while (!atomic_load(&gate)) {
		struct timespec ms = {0, 1000000L};
		nanosleep(&ms, NULL);
	}
}

static void *fuzz_thread(void *arg)
{
	struct fuzzer *f = arg;
	wait_gate();
	rng = f->seed;
	f->rc = fuzz_calls(f->n, f->log, f->parent, f->who, &f->errors);
	atomic_store(&f->done, 1);
	return NULL;
}

/* The raced buffer: a scratch file of RACE_SIZE bytes is read into it while
 * another thread unmaps, maps and reprotects it. */
#define RACE_SIZE (64 * 1024)
#define RACE_FILE "race" /* not one of name_list: the random calls never name it */
static unsigned char *race;
static atomic_int race_stop;

/* An fd of the race file above the fds the random calls use (0..11), so
 * they rarely close it; reopened when they do (close_range). */
static int race_fd(void)
{
	int fd = open(RACE_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 512);
	if (high < 0)
		return fd;
	close(fd);
	return high;
}

static void *race_reader(void *arg)
{
	struct report *counts = arg;
	wait_gate();
	int fd = race_fd();
	while (!atomic_load(&race_stop)) {
		ssize_t r = pread(fd, race, RACE_SIZE, 0);
		if (r < 0 && errno == EBADF)
			fd = race_fd();
		counts->race_reads++;
		counts->race_faults += r < 0 && errno == EFAULT;
	}
	return NULL;
}

static void *race_unmapper(void *arg)
{
	long *rounds = arg;
	wait_gate();
	while (!atomic_load(&race_stop)) {
		munmap(race, RACE_SIZE);
		/* MAP_FIXED_NOREPLACE: should a random mmap have taken the hole, it
		 * stays; a kernel that ignores the flag may map elsewhere. */
		void *p = mmap(race, RACE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			       -1, 0);
		if (p != MAP_FAILED && p != (void *)race)
			munmap(p, RACE_SIZE);
		if (++*rounds % 4 == 0)
			mprotect(race, RACE_SIZE, PROT_READ); /* the read's copy-out faults */
		sched_yield();
	}
	return NULL;
}

/* Static, not mapped: a small mapping made after prepare() would fill one of
 * the holes that bad_pointer() hands to munmap. */
static struct fuzzer f[64];

/*
 * The order matters. Every thread stack (and the race buffer) is mapped
 * before prepare() maps the fuzz regions and punches the holes that
 * bad_pointer() hands out: a stack mapped after would fill a hole (the
 * kernel places new mappings in the highest gap that fits), and the random
 * calls would then write into a thread's TCB. So the threads are made first
 * and wait at a gate until prepare() has run. The random memory calls reach
 * only upwards from the scratch region and the holes, through the fuzz's own
 * regions, never to the stacks above them.
 */
static int fuzz_threaded(long n, int threads, uint64_t seed, const char *log, pid_t parent, struct report *report)
{
	race = mmap(NULL, RACE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (race == MAP_FAILED)
		return 3;
	int fd = open(RACE_FILE, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, RACE_SIZE) != 0)
		return 3;
	close(fd);
	/* Every thread starts with SIGALRM unblocked (the mask is inherited). */
	sigset_t none;
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	struct report counts = {0, 0, 0, 0};
	long rounds = 0;
	pthread_t reader, unmapper;
	int err = pthread_create(&reader, NULL, race_reader, &counts);
	if (err == 0)
		err = pthread_create(&unmapper, NULL, race_unmapper, &rounds);
	if (err != 0) {
		fprintf(stderr, "sysfuzz: pthread_create: %s\n", strerror(err));
		return 5;
	}
	int started = 0;
	for (int t = 0; t < threads; t++) {
		f[t].seed = (seed ^ ((uint64_t)(t + 1) * 0xbf58476d1ce4e5b9ull)) | 1; /* never the stuck 0 */
		f[t].n = n;
		f[t].who = t;
		f[t].log = log;
		f[t].parent = parent;
		err = pthread_create(&f[t].thread, NULL, fuzz_thread, &f[t]);
		if (err != 0) {
			fprintf(stderr, "sysfuzz: pthread_create: %s\n", strerror(err));
			break;
		}
		started++;
	}
	int rc = prepare();
	if (rc != 0) {
		atomic_store(&stop_all, 1);
		atomic_store(&race_stop, 1);
	}
	atomic_store(&gate, 1);
	/* The main thread interrupts the fuzzing threads' blocking calls. */
	for (;;) {
		int running = 0;
		for (int t = 0; t < started; t++)
			if (!atomic_load(&f[t].done)) {
				running++;
				pthread_kill(f[t].thread, SIGALRM);
			}
		if (!running)
			break;
		if (getppid() != parent)
			atomic_store(&stop_all, 1);
		struct timespec tick = {0, 20 * 1000000L};
		nanosleep(&tick, NULL);
	}
	long calls = 0, errors = 0;
	for (int t = 0; t < started; t++) {
		pthread_join(f[t].thread, NULL);
		if (f[t].rc != 0)
			rc = f[t].rc;
		calls += f[t].n;
		errors += f[t].errors;
	}
	atomic_store(&race_stop, 1);
	pthread_join(reader, NULL);
	pthread_join(unmapper, NULL);
	if (started != threads)
		return 5;
	if (rc == 0) {
		report->calls = calls;
		report->errors = errors;
		report->race_reads = counts.race_reads;
		report->race_faults = counts.race_faults;
	}
	return rc;
}

/* The names must never lead out of the scratch directory: no "." or ".."
 * component, and nothing absolute but this process's own /proc/self. */
static int names_stay_inside(void)
{
	for (size_t i = 0; i < NNAMES; i++) {
		const char *name = name_list[i];
		if (name[0] == '/' && strncmp(name, "/proc/self/", 11) != 0)
			return 0;
		for (const char *c = name; *c; c++) {
			int starts = c == name || c[-1] == '/';
			if (starts && c[0] == '.' && (c[1] == 0 || c[1] == '/' || (c[1] == '.' && (c[2] == 0 || c[2] == '/'))))
				return 0;
		}
	}
	return 1;
}

/* Closes every fd from `from` up: close_range where the kernel has it. */
static void close_from(int from)
{
	if (syscall(SYS_close_range, from, ~0u, 0) == 0)
		return;
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (long fd = from; fd < max; fd++)
		close((int)fd);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: sysfuzz SEED [CALLS [THREADS]]\n");
		return 2;
	}
	if (!names_stay_inside()) {
		fprintf(stderr, "sysfuzz: a name of name_list leads out of the scratch directory\n");
		return 2;
	}
	rng = strtoull(argv[1], NULL, 0) * 0x9e3779b97f4a7c15ull + 1;
	long n = argc > 2 ? strtol(argv[2], NULL, 0) : 2000;
	int threads = argc > 3 ? atoi(argv[3]) : 1;
	if (threads < 1 || threads > 64) {
		fprintf(stderr, "sysfuzz: THREADS must be 1 to 64\n");
		return 2;
	}
	long total = n * threads;

	/* Nothing the caller left open reaches the fuzz. */
	close_from(3);
	struct report *report = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (report == MAP_FAILED) {
		perror("sysfuzz: mmap");
		return 3;
	}
	report->calls = -1;

	/* The log's name is used after the chdir into the scratch directory. */
	static char log_path[PATH_MAX];
	const char *log = getenv("SYSFUZZ_LOG");
	if (log && log[0] != '/') {
		char cwd[PATH_MAX - 256];
		if (!getcwd(cwd, sizeof cwd) || strlen(log) > 200) {
			fprintf(stderr, "sysfuzz: cannot make SYSFUZZ_LOG absolute\n");
			return 3;
		}
		snprintf(log_path, sizeof log_path, "%s/%s", cwd, log);
		log = log_path;
	}

	char dir[] = "sysfuzz.XXXXXX";
	if (!mkdtemp(dir) || chdir(dir) != 0) {
		perror("sysfuzz: cannot make a scratch directory here");
		return 3;
	}
	int dirfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mkdir("d", 0755) != 0 || mkdir("d/e", 0755) != 0 || dirfd < 0) {
		perror("sysfuzz: cannot prepare the scratch directory");
		return 3;
	}
	/* The child's stderr, which the parent reads back should the child fail. */
	int child_err = open("c", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (child_err < 0) {
		perror("sysfuzz: cannot create the child's stderr");
		return 3;
	}
	fflush(NULL);
	pid_t parent = getpid();
	pid_t child = fork();
	if (child < 0) {
		perror("sysfuzz: fork");
		return 3;
	}
	if (child == 0) {
		/* From here on no fd of the caller's: 0, 1, 2 become scratch files. */
		close(child_err);
		close(dirfd);
		if (own_fds() != 0)
			_exit(3);
		_exit(threads > 1 ? fuzz_threaded(n, threads, rng, log, parent, report) : fuzz(n, log, parent, report));
	}
	int status;
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("sysfuzz: waitpid");
			return 3;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || report->calls != total) {
		if (WIFSIGNALED(status))
			fprintf(stderr, "sysfuzz: seed %s: the child was killed by signal %d\n", argv[1], WTERMSIG(status));
		else
			fprintf(stderr, "sysfuzz: seed %s: the child exited with %d after %ld of %ld calls\n", argv[1],
				WIFEXITED(status) ? WEXITSTATUS(status) : -1, report->calls, total);
		show_tail(child_err);
		fprintf(stderr, "sysfuzz: its scratch directory %s is kept\n", dir);
		return 1;
	}
	close(child_err);
	if (chdir("..") == 0) {
		rm_tree_at(dirfd);
		rmdir(dir);
	}
	close(dirfd);
	printf("sysfuzz: seed %s, %d thread(s), %ld calls, %ld failed with an errno", argv[1], threads, total,
	       report->errors);
	if (threads > 1)
		printf("; %ld reads into the raced buffer, %ld of them EFAULT", report->race_reads, report->race_faults);
	printf("\n");
	return 0;
}
