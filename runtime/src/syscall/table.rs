//! The syscall table: one row for every x86_64 Linux syscall number.
//!
//! This list is the single source of truth. Dispatch, `--trace` decoding,
//! `mactux syscalls` and docs/compat.md are all derived from it. Numbers come
//! from `linux_raw_sys::general::__NR_*`; the row's name is derived from that
//! constant's own name, so a number and its name cannot drift apart. A unit
//! test checks that the table covers every number linux-raw-sys knows, in
//! order and without duplicates.
//!
//! A row reads `__NR_name => status, [argument kinds for --trace], markers;`.
//! The markers, after the argument kinds and separated by commas, are the
//! per-call properties the runtime around a handler acts on; none of them
//! is kept in a list elsewhere, so a new blocking call is one row:
//! - `blocks`: the call may sleep in the host, so `trap::dispatch` runs it
//!   with the asynchronous host signals unblocked and a signal interrupts
//!   it with EINTR. Not ioctl: with SIGTTOU unblocked on the host, a
//!   tcsetpgrp from a background group that the guest makes with SIGTTOU
//!   blocked (as a job-control shell's child does) would be interrupted by
//!   a host SIGTTOU instead of succeeding.
//! - `unmasked`: the call never sleeps in the host but may run with the
//!   asynchronous host signals open all the same: none of its host calls
//!   sleeps interruptibly outside a blocking window of its own, and a
//!   round trip to the daemon retries an interrupted read or write. A
//!   rewritten site of it then enters without changing the host mask
//!   (`trap::dispatch`, host::trap on Linux), as one of a `blocks` call
//!   does. The memory calls are such calls (a host mmap, munmap,
//!   mprotect, mremap or madvise never sleeps interruptibly); not the
//!   calls that create, end or re-execute a task or change signal state.
//! - `restart = NoHand` or `restart = Exempt` (`Sys` when not given): what
//!   an EINTR from the call becomes when a signal is delivered on the way
//!   back to the guest, after signal(7) "Interruption of system calls and
//!   library functions by signal handlers" (see [`Restart`]).
//! - `sleeps`, or `sleeps_if(pred)` when it depends on the arguments: the
//!   call puts the task to sleep for a while (a read or accept: when its
//!   pipe, socket or terminal has nothing to read, `fd_may_sleep`), so the
//!   task first publishes its fds and maps to the daemon if they changed
//!   (for /proc/PID of it read by another task: lsof, netstat -p).
//! - `ret = Addr`: `--trace` shows a successful result in hex.
//! - `noreturn`: `--trace` shows the call before it runs, as ` = ?`.
//!
//! Missing rows carry their markers too, so a call being implemented
//! already blocks, restarts and sleeps as Linux's does.

#![allow(non_upper_case_globals)]

use super::{
    access, attr, cred, cwd, epoll, eventfd, fadvise, fcntl, futex, getdents, identity, inotify, ioctl, ipc, locks, memfd, mlock, mm,
    namei, open, pidfd, pipe, poll, proc_model, process, ptrace, read_write, sendfile, signal, signalfd, socket, sockopt, splice,
    stat, statfs, sync, syslog, thread, time, timer, timerfd, truncate, xattr, Handler,
};
use crate::abi::Errno;
pub use crate::signal::Restart;
use linux_raw_sys::general::*;

/// How far a syscall is implemented.
#[derive(Clone, Copy)]
pub enum Status {
    Full(Handler),
    /// Implemented, with a note on what is left out.
    Partial(Handler, &'static str),
    /// Deliberately answers a fixed errno, for the reason given.
    Stub(Errno, &'static str),
    /// Not implemented: ENOSYS, counted and reported once by name.
    Missing,
}

impl Status {
    pub fn label(&self) -> &'static str {
        match self {
            Status::Full(_) => "full",
            Status::Partial(..) => "partial",
            Status::Stub(..) => "stub",
            Status::Missing => "missing",
        }
    }

    pub fn handler(&self) -> Option<Handler> {
        match self {
            Status::Full(h) | Status::Partial(h, _) => Some(*h),
            _ => None,
        }
    }

    pub fn note(&self) -> Option<String> {
        match self {
            Status::Partial(_, n) => Some((*n).to_string()),
            Status::Stub(e, why) => Some(format!("{}: {}", e.name(), why)),
            _ => None,
        }
    }
}

/// How `--trace` shows an argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    Fd,
    DirFd,
    Path,
    /// A buffer the guest passes in (shown as a quoted prefix).
    InBuf,
    /// A buffer the call fills (shown as an address).
    OutBuf,
    Len,
    Int,
    Hex,
    Octal,
    /// A file mode (shown in octal).
    Mode,
    Ptr,
    OpenFlags,
    AtFlags,
    Prot,
    MapFlags,
    Whence,
    Signal,
    Clock,
    Fcntl,
    Ioctl,
    /// futex(2)'s operation, named as strace names it.
    FutexOp,
}

pub struct Row {
    pub nr: u32,
    pub name: &'static str,
    pub status: Status,
    pub args: &'static [Arg],
    pub markers: Markers,
}

/// What the runtime around a handler needs to know of a call: the row's
/// markers (see the module header for their syntax).
#[derive(Clone, Copy)]
pub struct Markers {
    /// `blocks`: the call may sleep in the host, so `trap::dispatch` runs it
    /// with the asynchronous host signals unblocked (the blocking window):
    /// a signal then interrupts the host call with EINTR.
    pub blocks: bool,
    /// `unmasked`: the call may run with the asynchronous host signals
    /// open although it never sleeps (see the module header).
    pub unmasked: bool,
    /// `restart = ...`: what an EINTR from the call becomes when a signal is
    /// delivered on the way back to the guest. `Sys` when not given.
    pub restart: Restart,
    /// `sleeps` / `sleeps_if(pred)`: the call puts the task to sleep for a
    /// while, the moment another task is likely to read its /proc/PID/{fd,
    /// maps}, so the task publishes them to the daemon first if they changed.
    pub sleeps: Sleeps,
    /// `ret = Addr`: how `--trace` shows a successful result.
    pub ret: Ret,
    /// `noreturn`: the call does not come back; `--trace` shows it before it
    /// runs (with ` = ?`, as strace does).
    pub noreturn: bool,
}

/// Whether a call puts the task to sleep (see [`Markers::sleeps`]).
#[derive(Clone, Copy)]
pub enum Sleeps {
    Never,
    Always,
    /// Depending on the arguments (futex(2)'s operation).
    If(fn(&[u64; 6]) -> bool),
}

impl Sleeps {
    pub fn at(&self, args: &[u64; 6]) -> bool {
        match self {
            Sleeps::Never => false,
            Sleeps::Always => true,
            Sleeps::If(pred) => pred(args),
        }
    }
}

/// How `--trace` shows a successful result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    /// A signed decimal number.
    Int,
    /// An address, in hex (mmap, brk, ...).
    Addr,
}

/// One marker of a row, as the macro reads it.
enum Marker {
    Blocks,
    Unmasked,
    Restart(Restart),
    Sleeps(Sleeps),
    Ret(Ret),
    NoReturn,
}

impl Markers {
    /// A row without markers: never blocks or sleeps, restarts as
    /// ERESTARTSYS, returns a number, returns.
    const NONE: Markers =
        Markers { blocks: false, unmasked: false, restart: Restart::Sys, sleeps: Sleeps::Never, ret: Ret::Int, noreturn: false };

    /// Adds one marker (at compile time: the table is a static).
    const fn with(mut self, m: Marker) -> Markers {
        match m {
            Marker::Blocks => self.blocks = true,
            Marker::Unmasked => self.unmasked = true,
            Marker::Restart(r) => self.restart = r,
            Marker::Sleeps(s) => self.sleeps = s,
            Marker::Ret(r) => self.ret = r,
            Marker::NoReturn => self.noreturn = true,
        }
        self
    }
}

/// `"__NR_read"` → `"read"`, at compile time.
const fn strip_nr(s: &'static str) -> &'static str {
    let (_, rest) = s.as_bytes().split_at(5);
    match core::str::from_utf8(rest) {
        Ok(name) => name,
        Err(_) => panic!("syscall constant names are ASCII"),
    }
}

macro_rules! syscall_table {
    ($( $nr:ident => $status:ident $( ( $($sarg:tt)* ) )?, [$($arg:ident),*]
        $(, $mk:ident $(= $mv:ident)? $(($mp:path))? )*; )*) => {
        const NRS: &[u32] = &[$($nr),*];
        const TABLE_LEN: usize = NRS.len();

        pub static TABLE: &[Row] = &[
            $( Row {
                nr: $nr,
                name: strip_nr(stringify!($nr)),
                status: syscall_table!(@status $status $( ( $($sarg)* ) )?),
                args: &[$(Arg::$arg),*],
                markers: Markers::NONE $( .with(syscall_table!(@marker $mk $(= $mv)? $(($mp))?)) )*,
            }, )*
        ];
    };
    (@status Full($h:expr)) => { Status::Full($h) };
    (@status Partial($h:expr, $n:expr)) => { Status::Partial($h, $n) };
    (@status Stub($e:ident, $why:expr)) => { Status::Stub(Errno::$e, $why) };
    (@status Missing) => { Status::Missing };
    (@marker blocks) => { Marker::Blocks };
    (@marker unmasked) => { Marker::Unmasked };
    (@marker restart = $r:ident) => { Marker::Restart(Restart::$r) };
    (@marker sleeps) => { Marker::Sleeps(Sleeps::Always) };
    (@marker sleeps_if($p:path)) => { Marker::Sleeps(Sleeps::If($p)) };
    (@marker ret = $r:ident) => { Marker::Ret(Ret::$r) };
    (@marker noreturn) => { Marker::NoReturn };
}

syscall_table! {
    // read of an eventfd, timerfd, signalfd or inotify fd is read's row:
    // restarted with SA_RESTART (ERESTARTSYS; inotify since Linux 3.8).
    __NR_read => Full(read_write::read), [Fd, OutBuf, Len], blocks, sleeps_if(super::fd_may_sleep);
    __NR_write => Full(read_write::write), [Fd, InBuf, Len], blocks;
    __NR_open => Full(open::open), [Path, OpenFlags, Mode], unmasked;
    __NR_close => Full(open::close), [Fd], unmasked;
    __NR_stat => Full(stat::stat), [Path, Ptr], unmasked;
    __NR_fstat => Full(stat::fstat), [Fd, Ptr], unmasked;
    __NR_lstat => Full(stat::lstat), [Path, Ptr], unmasked;
    __NR_poll => Full(poll::poll), [Ptr, Int, Int], blocks, sleeps, restart = NoHand;
    __NR_lseek => Full(read_write::lseek), [Fd, Int, Whence], unmasked;
    __NR_mmap => Partial(mm::mmap, "guest executable mappings are also writable on the host (for the fs→gs patch); MAP_FIXED over memory the guest has not mapped fails with ENOMEM"), [Ptr, Len, Prot, MapFlags, Fd, Hex], ret = Addr, unmasked;
    __NR_mprotect => Full(mm::mprotect), [Ptr, Len, Prot], unmasked;
    __NR_munmap => Full(mm::munmap), [Ptr, Len], unmasked;
    __NR_brk => Full(mm::brk), [Ptr], ret = Addr, unmasked;
    __NR_rt_sigaction => Full(signal::rt_sigaction), [Signal, Ptr, Ptr, Len];
    __NR_rt_sigprocmask => Full(signal::rt_sigprocmask), [Int, Ptr, Ptr, Len];
    __NR_rt_sigreturn => Full(signal::rt_sigreturn), [], restart = Exempt;
    __NR_ioctl => Partial(ioctl::ioctl, "terminal requests (TCGETS, TCSETS*, TIOCGWINSZ, TIOCSWINSZ, TIOCGPGRP, TIOCSPGRP, TIOCSCTTY, TIOCNOTTY), pseudo-terminal masters (TIOCGPTN, TIOCSPTLCK, TIOCGPTPEER), FIONREAD, FIOCLEX/FIONCLEX, FIONBIO; others ENOTTY"), [Fd, Ioctl, Hex];
    __NR_pread64 => Full(read_write::pread64), [Fd, OutBuf, Len, Int], blocks;
    __NR_pwrite64 => Full(read_write::pwrite64), [Fd, InBuf, Len, Int], blocks;
    __NR_readv => Full(read_write::readv), [Fd, Ptr, Int], blocks, sleeps_if(super::fd_may_sleep);
    __NR_writev => Full(read_write::writev), [Fd, Ptr, Int], blocks;
    __NR_access => Full(access::access), [Path, Octal], unmasked;
    __NR_pipe => Full(pipe::pipe), [Ptr];
    __NR_select => Full(poll::select), [Int, Ptr, Ptr, Ptr, Ptr], blocks, sleeps, restart = NoHand;
    __NR_sched_yield => Full(identity::sched_yield), [], unmasked;
    __NR_mremap => Full(mm::mremap), [Ptr, Len, Len, Hex, Ptr], ret = Addr, unmasked;
    __NR_msync => Full(mm::msync), [Ptr, Len, Hex];
    __NR_mincore => Full(mm::mincore), [Ptr, Len, Ptr];
    __NR_madvise => Partial(mm::madvise, "MADV_DONTNEED/FREE and the access-pattern hints reach the host; other advice is accepted and ignored"), [Ptr, Len, Int], unmasked;
    __NR_shmget => Full(ipc::shmget), [Hex, Len, Octal];
    __NR_shmat => Partial(ipc::shmat, "shm_nattch counts attaches, not vmas: a split attach counts once; mremap of a piece is not followed"), [Int, Ptr, Hex], ret = Addr;
    __NR_shmctl => Full(ipc::shmctl), [Int, Int, Ptr];
    __NR_dup => Full(open::dup), [Fd], unmasked;
    __NR_dup2 => Full(open::dup2), [Fd, Fd], unmasked;
    __NR_pause => Full(signal::pause), [], sleeps, restart = NoHand;
    __NR_nanosleep => Full(time::nanosleep), [Ptr, Ptr], blocks, sleeps, restart = NoHand;
    __NR_getitimer => Partial(signal::getitimer, "host interval timers: ITIMER_VIRTUAL/ITIMER_PROF count the runtime's CPU time too"), [Int, Ptr];
    __NR_alarm => Full(signal::alarm), [Int];
    __NR_setitimer => Partial(signal::setitimer, "host interval timers: ITIMER_VIRTUAL/ITIMER_PROF count the runtime's CPU time too"), [Int, Ptr, Ptr];
    __NR_getpid => Partial(process::getpid, "from the daemon's namespace (cached); the host pid when running standalone"), [], unmasked;
    __NR_sendfile => Partial(sendfile::sendfile, "copied through the runtime, not in the host kernel"), [Fd, Fd, Ptr, Len], blocks;
    __NR_socket => Partial(socket::socket, "AF_UNIX, AF_INET, AF_INET6 on host sockets (UDP-Lite where the host has it, EPROTONOSUPPORT on macOS); AF_NETLINK NETLINK_ROUTE served by the runtime (link, address and route dumps from the host interfaces; a fork child gets a copy); other netlink protocols EPROTONOSUPPORT; other families (AF_PACKET) EAFNOSUPPORT"), [Int, Int, Int];
    // Sockets (accept, accept4, connect, recvfrom, recvmsg, recvmmsg, sendto,
    // sendmsg, sendmmsg): restarted with SA_RESTART (ERESTARTSYS; signal(7)
    // lists all but accept4 and sendmmsg, which share their code). With
    // SO_RCVTIMEO (input) or SO_SNDTIMEO (output) set, and for recvmmsg with
    // a timeout, Linux fails with EINTR whatever SA_RESTART says
    // (sock_intr_errno()): the handler's case, not the row's.
    __NR_connect => Full(socket::connect), [Fd, Ptr, Len], blocks;
    __NR_accept => Full(socket::accept), [Fd, Ptr, Ptr], blocks, sleeps_if(super::fd_may_sleep);
    __NR_sendto => Full(socket::sendto), [Fd, InBuf, Len, Hex, Ptr, Len], blocks;
    __NR_recvfrom => Full(socket::recvfrom), [Fd, OutBuf, Len, Hex, Ptr, Ptr], blocks, sleeps_if(super::fd_may_sleep);
    __NR_sendmsg => Partial(socket::sendmsg, "SCM_RIGHTS (an epoll or inotify fd reaches only its own host process); SCM_CREDENTIALS is checked, not forwarded; IP and IPv6 messages go to the host"), [Fd, Ptr, Hex], blocks;
    __NR_recvmsg => Partial(socket::recvmsg, "SCM_RIGHTS; SCM_CREDENTIALS from the peer's SO_PEERCRED; SCM_TIMESTAMP, IP_TTL/TOS/PKTINFO, IPV6_HOPLIMIT/TCLASS/PKTINFO; no MSG_ERRQUEUE"), [Fd, Ptr, Hex], blocks, sleeps_if(super::fd_may_sleep);
    __NR_shutdown => Full(socket::shutdown), [Fd, Int];
    __NR_bind => Partial(socket::bind, "unix paths resolve in the guest root; abstract names are emulated per user"), [Fd, Ptr, Len];
    __NR_listen => Full(socket::listen), [Fd, Int];
    __NR_getsockname => Full(socket::getsockname), [Fd, Ptr, Ptr], unmasked;
    __NR_getpeername => Full(socket::getpeername), [Fd, Ptr, Ptr], unmasked;
    __NR_socketpair => Full(socket::socketpair), [Int, Int, Int, Ptr];
    __NR_setsockopt => Partial(sockopt::setsockopt, "SOL_SOCKET, TCP, IP, IPV6 options the host has; hints it lacks are accepted and ignored"), [Fd, Int, Int, Ptr, Len], unmasked;
    __NR_getsockopt => Partial(sockopt::getsockopt, "SOL_SOCKET, TCP, IP, IPV6 options the host has"), [Fd, Int, Int, Ptr, Ptr], unmasked;
    __NR_clone => Partial(proc_model::clone, "processes and threads (CLONE_THREAD with CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND), CLONE_PIDFD for a process; a CLONE_VM child process (without CLONE_THREAD) is a host thread with its own pid, but ENOSYS with CLONE_SIGHAND, CLONE_PARENT or CLONE_PIDFD, it cannot fork (ENOSYS) and its execve moves it to a host process of its own; namespaces EPERM; a CLONE_VM|CLONE_VFORK child works on a copy of memory; what it leaves in the parent's stack comes back if it exits without exec"), [Hex, Ptr, Ptr, Ptr, Hex];
    __NR_fork => Full(proc_model::fork), [];
    __NR_vfork => Partial(proc_model::vfork, "the parent waits for the child's execve or exit; the child works on a copy of memory, and what it leaves in the parent's stack comes back if it exits without exec"), [];
    __NR_execve => Full(proc_model::execve), [Path, Ptr, Ptr];
    __NR_exit => Full(thread::exit), [Int], noreturn;
    __NR_wait4 => Partial(proc_model::wait4, "waits for a process group poll its members every 5 ms"), [Int, Ptr, Hex, Ptr], blocks, sleeps;
    __NR_kill => Full(process::kill), [Int, Signal];
    __NR_uname => Full(identity::uname), [Ptr], unmasked;
    __NR_semget => Full(ipc::semget), [Hex, Int, Octal];
    // System V IPC (semop, semtimedop, msgsnd, msgrcv): never restarted after
    // a handler (signal(7)). msgsnd/msgrcv answer ERESTARTNOHAND; semop a
    // plain EINTR, which Linux also returns when a stop and SIGCONT end the
    // wait with no handler. NoHand restarts there: the runtime cannot tell
    // that from a host signal the guest ignores, which must not end it.
    __NR_semop => Full(ipc::semop), [Int, Ptr, Int], blocks, restart = NoHand;
    __NR_semctl => Partial(ipc::semctl, "SETALL also needs read permission (it learns the set size with IPC_STAT)"), [Int, Int, Int, Hex];
    __NR_shmdt => Full(ipc::shmdt), [Ptr];
    __NR_msgget => Full(ipc::msgget), [Hex, Octal];
    __NR_msgsnd => Full(ipc::msgsnd), [Int, Ptr, Len, Hex], blocks, restart = NoHand;
    __NR_msgrcv => Partial(ipc::msgrcv, "MSG_COPY is not implemented (ENOSYS)"), [Int, Ptr, Len, Int, Hex], blocks, restart = NoHand;
    __NR_msgctl => Full(ipc::msgctl), [Int, Int, Ptr];
    __NR_fcntl => Partial(fcntl::fcntl, "F_DUPFD*, F_GETFD/SETFD, F_GETFL/SETFL, POSIX and OFD record locks, F_GETPIPE_SZ/F_SETPIPE_SZ, memfd seals, F_NOTIFY, signal-driven I/O (F_SETOWN*, F_SETSIG) on host objects only; leases are EINVAL"), [Fd, Fcntl, Hex], blocks;
    __NR_flock => Full(locks::flock), [Fd, Hex], blocks;
    __NR_fsync => Full(sync::fsync), [Fd];
    __NR_fdatasync => Full(sync::fdatasync), [Fd];
    __NR_truncate => Full(truncate::truncate), [Path, Int], unmasked;
    __NR_ftruncate => Full(truncate::ftruncate), [Fd, Int], unmasked;
    __NR_getdents => Full(getdents::getdents), [Fd, Ptr, Len], unmasked;
    __NR_getcwd => Full(cwd::getcwd), [Ptr, Len], unmasked;
    __NR_chdir => Full(cwd::chdir), [Path];
    __NR_fchdir => Full(cwd::fchdir), [Fd];
    __NR_rename => Full(namei::rename), [Path, Path], unmasked;
    __NR_mkdir => Full(namei::mkdir), [Path, Octal], unmasked;
    __NR_rmdir => Full(namei::rmdir), [Path], unmasked;
    __NR_creat => Full(open::creat), [Path, Octal];
    __NR_link => Full(namei::link), [Path, Path], unmasked;
    __NR_unlink => Full(namei::unlink), [Path], unmasked;
    __NR_symlink => Full(namei::symlink), [Path, Path], unmasked;
    __NR_readlink => Full(namei::readlink), [Path, Ptr, Len], unmasked;
    __NR_chmod => Full(attr::chmod), [Path, Octal], unmasked;
    __NR_fchmod => Full(attr::fchmod), [Fd, Octal], unmasked;
    __NR_chown => Full(attr::chown), [Path, Int, Int], unmasked;
    __NR_fchown => Full(attr::fchown), [Fd, Int, Int], unmasked;
    __NR_lchown => Full(attr::lchown), [Path, Int, Int], unmasked;
    __NR_umask => Full(cwd::umask), [Octal], unmasked;
    __NR_gettimeofday => Full(time::gettimeofday), [Ptr, Ptr], unmasked;
    __NR_getrlimit => Full(identity::getrlimit), [Int, Ptr];
    __NR_getrusage => Partial(identity::getrusage, "the host process's (or its reaped children's) usage, which includes the runtime's own work"), [Int, Ptr];
    __NR_sysinfo => Full(identity::sysinfo), [Ptr];
    __NR_times => Full(identity::times), [Ptr];
    __NR_ptrace => Partial(ptrace::ptrace, "between the tasks of one host process (LeakSanitizer): ATTACH, CONT, DETACH, KILL, GETREGS, GETREGSET, GETFPREGS, PEEK/POKE; others EPERM/EIO, reported"), [Int, Int, Ptr, Ptr];
    __NR_getuid => Full(cred::getuid), [], unmasked;
    __NR_syslog => Partial(syslog::syslog, "the kernel log is empty: the runtime logs nothing there"), [Int, Ptr, Int], sleeps_if(syslog::sleeps);
    __NR_getgid => Full(cred::getgid), [], unmasked;
    __NR_setuid => Full(cred::setuid), [Int];
    __NR_setgid => Full(cred::setgid), [Int];
    __NR_geteuid => Full(cred::geteuid), [], unmasked;
    __NR_getegid => Full(cred::getegid), [], unmasked;
    __NR_setpgid => Full(proc_model::setpgid), [Int, Int];
    __NR_getppid => Partial(process::getppid, "from the daemon's namespace, kept while the host parent stays the same; the host parent when running standalone"), [], unmasked;
    __NR_getpgrp => Full(process::getpgrp), [];
    __NR_setsid => Full(proc_model::setsid), [];
    __NR_setreuid => Full(cred::setreuid), [Int, Int];
    __NR_setregid => Full(cred::setregid), [Int, Int];
    __NR_getgroups => Full(cred::getgroups), [Int, Ptr];
    __NR_setgroups => Full(cred::setgroups), [Int, Ptr];
    __NR_setresuid => Full(cred::setresuid), [Int, Int, Int];
    __NR_getresuid => Full(cred::getresuid), [Ptr, Ptr, Ptr];
    __NR_setresgid => Full(cred::setresgid), [Int, Int, Int];
    __NR_getresgid => Full(cred::getresgid), [Ptr, Ptr, Ptr];
    __NR_getpgid => Full(process::getpgid), [Int];
    __NR_setfsuid => Full(cred::setfsuid), [Int];
    __NR_setfsgid => Full(cred::setfsgid), [Int];
    __NR_getsid => Full(process::getsid), [Int];
    __NR_capget => Partial(cred::capget, "another task's sets are those it last told the daemon"), [Ptr, Ptr];
    __NR_capset => Full(cred::capset), [Ptr, Ptr];
    __NR_rt_sigpending => Full(signal::rt_sigpending), [Ptr, Len];
    __NR_rt_sigtimedwait => Full(signal::rt_sigtimedwait), [Ptr, Ptr, Ptr, Len], sleeps, restart = NoHand;
    __NR_rt_sigqueueinfo => Partial(signal::rt_sigqueueinfo, "another task sees the real sender pid; on macOS si_value does not cross tasks"), [Int, Signal, Ptr];
    __NR_rt_sigsuspend => Full(signal::rt_sigsuspend), [Ptr, Len], sleeps, restart = NoHand;
    __NR_sigaltstack => Full(signal::sigaltstack), [Ptr, Ptr];
    __NR_utime => Full(attr::utime), [Path, Ptr];
    __NR_mknod => Partial(namei::mknod, "FIFOs and regular files; device nodes only in an imported root (stored metadata, CAP_MKNOD), else EPERM; socket nodes EPERM"), [Path, Octal, Hex];
    __NR_uselib => Missing, [];
    __NR_personality => Partial(identity::personality, "the persona is kept (across fork and execve) and reported; it changes nothing: no 32-bit uname for PER_LINUX32, no effect of ADDR_NO_RANDOMIZE and the other flags"), [Hex];
    __NR_ustat => Missing, [];
    __NR_statfs => Partial(statfs::statfs, "f_type is the host filesystem's Linux magic where known"), [Path, Ptr], unmasked;
    __NR_fstatfs => Full(statfs::fstatfs), [Fd, Ptr], unmasked;
    __NR_sysfs => Missing, [];
    __NR_getpriority => Partial(identity::getpriority, "the calling process, its group or user only"), [Int, Int];
    __NR_setpriority => Partial(identity::setpriority, "the calling process, its group or user only; sets the host nice value"), [Int, Int, Int];
    __NR_sched_setparam => Partial(identity::sched_setparam, "priority 0 under the normal policies; real-time priorities are EPERM"), [Int, Ptr];
    __NR_sched_getparam => Full(identity::sched_getparam), [Int, Ptr];
    __NR_sched_setscheduler => Partial(identity::sched_setscheduler, "SCHED_OTHER, SCHED_BATCH and SCHED_IDLE (with SCHED_RESET_ON_FORK): on Linux hosts the host thread's own policy, which other tasks read; on macOS recorded for the caller (kept across fork and execve), other tasks reading as SCHED_OTHER; the host schedules as before there; SCHED_FIFO and SCHED_RR are EPERM"), [Int, Int, Ptr];
    __NR_sched_getscheduler => Full(identity::sched_getscheduler), [Int];
    __NR_sched_get_priority_max => Full(identity::sched_get_priority_max), [Int];
    __NR_sched_get_priority_min => Full(identity::sched_get_priority_min), [Int];
    __NR_sched_rr_get_interval => Partial(identity::sched_rr_get_interval, "reports a zero time slice (the runtime's tasks are SCHED_OTHER to the guest)"), [Int, Ptr];
    __NR_mlock => Partial(mlock::mlock, "RLIMIT_MEMLOCK is checked against one call's range, not the process's total"), [Ptr, Len];
    __NR_munlock => Full(mlock::munlock), [Ptr, Len];
    __NR_mlockall => Partial(mlock::mlockall, "MCL_FUTURE does not lock later mappings"), [Hex];
    __NR_munlockall => Full(mlock::munlockall), [];
    __NR_vhangup => Missing, [];
    __NR_modify_ldt => Missing, [];
    __NR_pivot_root => Missing, [];
    __NR__sysctl => Missing, [];
    __NR_prctl => Partial(process::prctl, "PR_SET_NAME/PR_GET_NAME, PR_SET_PDEATHSIG/PR_GET_PDEATHSIG (raised when the parent ends; on macOS when the parent process, not thread, ends), PR_GET_DUMPABLE/SET_DUMPABLE, the capability, keepcaps, securebits and no_new_privs calls; others EINVAL"), [Int, Hex, Hex, Hex, Hex];
    __NR_arch_prctl => Partial(process::arch_prctl, "ARCH_SET_FS/ARCH_GET_FS/ARCH_GET_GS; ARCH_SET_GS is EINVAL (gs holds the guest fs value)"), [Hex, Hex];
    __NR_adjtimex => Missing, [];
    __NR_setrlimit => Full(identity::setrlimit), [Int, Ptr];
    __NR_chroot => Partial(cwd::chroot, "the root of the caller's path lookups (shared under CLONE_FS, kept across fork and execve); the runtime's /proc and /dev stay at /proc and /dev under it, a working directory outside it becomes it"), [Path];
    __NR_sync => Full(sync::sync), [];
    __NR_acct => Missing, [];
    __NR_settimeofday => Missing, [];
    __NR_mount => Missing, [];
    __NR_umount2 => Missing, [];
    __NR_swapon => Missing, [];
    __NR_swapoff => Missing, [];
    __NR_reboot => Missing, [];
    __NR_sethostname => Full(identity::sethostname), [InBuf, Len];
    __NR_setdomainname => Full(identity::setdomainname), [InBuf, Len];
    __NR_iopl => Missing, [];
    __NR_ioperm => Missing, [];
    __NR_create_module => Missing, [];
    __NR_init_module => Missing, [];
    __NR_delete_module => Missing, [];
    __NR_get_kernel_syms => Missing, [];
    __NR_query_module => Missing, [];
    __NR_quotactl => Missing, [];
    __NR_nfsservctl => Missing, [];
    __NR_getpmsg => Missing, [];
    __NR_putpmsg => Missing, [];
    __NR_afs_syscall => Missing, [];
    __NR_tuxcall => Missing, [];
    __NR_security => Missing, [];
    __NR_gettid => Full(thread::gettid), [], unmasked;
    __NR_readahead => Partial(fadvise::readahead, "validated and accepted; the host gets no hint"), [Fd, Int, Len];
    __NR_setxattr => Partial(xattr::setxattr, "user and other namespaces of the host file, by its file system's rules; the runtime's own user.mactux.* hidden; none on /proc, /sys, /dev; on macOS only user. names, stored as they are"), [Path, Path, InBuf, Len, Hex], unmasked;
    __NR_lsetxattr => Partial(xattr::lsetxattr, "user and other namespaces of the host file, by its file system's rules; the runtime's own user.mactux.* hidden; none on /proc, /sys, /dev; on macOS only user. names, stored as they are"), [Path, Path, InBuf, Len, Hex], unmasked;
    __NR_fsetxattr => Partial(xattr::fsetxattr, "user and other namespaces of the host file, by its file system's rules; the runtime's own user.mactux.* hidden; none on /proc, /sys, /dev; on macOS only user. names, stored as they are"), [Fd, Path, InBuf, Len, Hex], unmasked;
    __NR_getxattr => Partial(xattr::getxattr, "user and other namespaces of the host file, by its file system's rules; the runtime's own user.mactux.* hidden; none on /proc, /sys, /dev; on macOS only user. names, stored as they are"), [Path, Path, OutBuf, Len], unmasked;
    __NR_lgetxattr => Partial(xattr::lgetxattr, "user and other namespaces of the host file, by its file system's rules; the runtime's own user.mactux.* hidden; none on /proc, /sys, /dev; on macOS only user. names, stored as they are"), [Path, Path, OutBuf, Len], unmasked;
    __NR_fgetxattr => Partial(xattr::fgetxattr, "user and other namespaces of the host file, by its file system's rules; the runtime's own user.mactux.* hidden; none on /proc, /sys, /dev; on macOS only user. names, stored as they are"), [Fd, Path, OutBuf, Len], unmasked;
    __NR_listxattr => Partial(xattr::listxattr, "user and other namespaces of the host file, by its file system's rules; the runtime's own user.mactux.* hidden; none on /proc, /sys, /dev; on macOS only user. names, stored as they are"), [Path, OutBuf, Len], unmasked;
    __NR_llistxattr => Partial(xattr::llistxattr, "user and other namespaces of the host file, by its file system's rules; the runtime's own user.mactux.* hidden; none on /proc, /sys, /dev; on macOS only user. names, stored as they are"), [Path, OutBuf, Len], unmasked;
    __NR_flistxattr => Partial(xattr::flistxattr, "user and other namespaces of the host file, by its file system's rules; the runtime's own user.mactux.* hidden; none on /proc, /sys, /dev; on macOS only user. names, stored as they are"), [Fd, OutBuf, Len], unmasked;
    __NR_removexattr => Partial(xattr::removexattr, "user and other namespaces of the host file, by its file system's rules; the runtime's own user.mactux.* hidden; none on /proc, /sys, /dev; on macOS only user. names, stored as they are"), [Path, Path], unmasked;
    __NR_lremovexattr => Partial(xattr::lremovexattr, "user and other namespaces of the host file, by its file system's rules; the runtime's own user.mactux.* hidden; none on /proc, /sys, /dev; on macOS only user. names, stored as they are"), [Path, Path], unmasked;
    __NR_fremovexattr => Partial(xattr::fremovexattr, "user and other namespaces of the host file, by its file system's rules; the runtime's own user.mactux.* hidden; none on /proc, /sys, /dev; on macOS only user. names, stored as they are"), [Fd, Path], unmasked;
    __NR_tkill => Partial(process::tkill, "a thread of another task is signalled as its whole task"), [Int, Signal];
    __NR_time => Full(time::time), [Ptr], unmasked;
    __NR_futex => Partial(futex::futex, "every operation; PI ones hand the lock to the oldest waiter without boosting priorities; on shared futexes (MAP_SHARED memory) waits go through the daemon, REQUEUE and WAKE_OP see only this process's waiters, and the PI operations are refused (ENOSYS, reported)"), [Ptr, FutexOp, Int, Ptr, Ptr, Hex], blocks, sleeps_if(futex::op_sleeps);
    __NR_sched_setaffinity => Partial(identity::sched_setaffinity, "per thread: validated (at least one online CPU), recorded for sched_getaffinity and, on Linux hosts, applied to the host thread (another task's too, by its host's rules); on macOS nothing is pinned"), [Int, Len, Ptr];
    __NR_sched_getaffinity => Partial(identity::sched_getaffinity, "per thread, what sched_setaffinity recorded (at start, the host thread's mask on Linux hosts); another task's is its host mask on Linux hosts, every online CPU on macOS"), [Int, Len, Ptr];
    __NR_set_thread_area => Missing, [];
    __NR_io_setup => Missing, [];
    __NR_io_destroy => Missing, [];
    __NR_io_getevents => Missing, [], restart = NoHand;
    __NR_io_submit => Missing, [];
    __NR_io_cancel => Missing, [];
    __NR_get_thread_area => Missing, [];
    __NR_lookup_dcookie => Missing, [];
    __NR_epoll_create => Full(epoll::epoll_create), [Int];
    __NR_epoll_ctl_old => Missing, [];
    __NR_epoll_wait_old => Missing, [];
    __NR_remap_file_pages => Missing, [];
    __NR_getdents64 => Full(getdents::getdents64), [Fd, Ptr, Len], unmasked;
    __NR_set_tid_address => Full(thread::set_tid_address), [Ptr];
    __NR_restart_syscall => Missing, [];
    __NR_semtimedop => Full(ipc::semtimedop), [Int, Ptr, Int, Ptr], blocks, restart = NoHand;
    __NR_fadvise64 => Partial(fadvise::fadvise64, "validated and accepted; the host gets no hint"), [Fd, Int, Int, Int];
    __NR_timer_create => Partial(timer::timer_create, "no timers on another process's CPU clock or on the alarm clocks; CPU-time timers fire when the timer thread next looks"), [Clock, Ptr, Ptr];
    __NR_timer_settime => Full(timer::timer_settime), [Int, Int, Ptr, Ptr];
    __NR_timer_gettime => Full(timer::timer_gettime), [Int, Ptr];
    __NR_timer_getoverrun => Full(timer::timer_getoverrun), [Int];
    __NR_timer_delete => Full(timer::timer_delete), [Int];
    __NR_clock_settime => Partial(time::clock_settime, "validated like Linux, then EPERM: a guest never sets the host clock"), [Clock, Ptr];
    __NR_clock_gettime => Full(time::clock_gettime), [Clock, Ptr], unmasked;
    __NR_clock_getres => Full(time::clock_getres), [Clock, Ptr], unmasked;
    __NR_clock_nanosleep => Full(time::clock_nanosleep), [Clock, Hex, Ptr, Ptr], blocks, sleeps, restart = NoHand;
    __NR_exit_group => Full(process::exit_group), [Int], noreturn;
    __NR_epoll_wait => Partial(epoll::epoll_wait, "edge triggering derived from readiness and use; see syscall/epoll.rs"), [Fd, Ptr, Int, Int], blocks, sleeps, restart = NoHand;
    __NR_epoll_ctl => Partial(epoll::epoll_ctl, "EPOLLEXCLUSIVE wakes every waiter; EPOLLWAKEUP has no effect"), [Fd, Int, Fd, Ptr], unmasked;
    __NR_tgkill => Partial(process::tgkill, "every task is single-threaded (tid == pid) until threads exist"), [Int, Int, Signal];
    __NR_utimes => Full(attr::utimes), [Path, Ptr];
    __NR_vserver => Missing, [];
    __NR_mbind => Stub(ENOSYS, "the guest's kernel has no NUMA (CONFIG_NUMA off), as libnuma's numa_available() then reports"), [];
    __NR_set_mempolicy => Stub(ENOSYS, "the guest's kernel has no NUMA (CONFIG_NUMA off)"), [];
    __NR_get_mempolicy => Stub(ENOSYS, "the guest's kernel has no NUMA (CONFIG_NUMA off)"), [];
    __NR_mq_open => Missing, [];
    __NR_mq_unlink => Missing, [];
    __NR_mq_timedsend => Missing, [];
    __NR_mq_timedreceive => Missing, [];
    __NR_mq_notify => Missing, [];
    __NR_mq_getsetattr => Missing, [];
    __NR_kexec_load => Missing, [];
    __NR_waitid => Partial(proc_model::waitid, "P_ALL, P_PID, P_PGID, P_PIDFD; the rusage argument is not filled"), [Int, Int, Ptr, Hex, Ptr], blocks, sleeps;
    __NR_add_key => Missing, [];
    __NR_request_key => Missing, [];
    __NR_keyctl => Missing, [];
    __NR_ioprio_set => Partial(identity::ioprio_set, "classes and levels checked as Linux does; on Linux hosts the host thread's own I/O priority, on macOS recorded for the caller (kept across fork and execve), another task's checked, not kept; another group or user than the caller's is not changed"), [Int, Int, Hex];
    __NR_ioprio_get => Partial(identity::ioprio_get, "the host thread's I/O priority on Linux hosts; on macOS what the caller set, other tasks reading as none; another group or user than the caller's reads as none"), [Int, Int];
    __NR_inotify_init => Partial(inotify::inotify_init, "as inotify_init1"), [];
    __NR_inotify_add_watch => Partial(inotify::inotify_add_watch, "synthetic files (/proc, /dev) are EACCES"), [Fd, Path, Hex];
    __NR_inotify_rm_watch => Full(inotify::inotify_rm_watch), [Fd, Int];
    __NR_migrate_pages => Stub(ENOSYS, "the guest's kernel has no NUMA (CONFIG_NUMA off)"), [];
    __NR_openat => Full(open::openat), [DirFd, Path, OpenFlags, Octal], unmasked;
    __NR_mkdirat => Full(namei::mkdirat), [DirFd, Path, Octal], unmasked;
    __NR_mknodat => Partial(namei::mknodat, "FIFOs and regular files; device nodes only in an imported root (stored metadata, CAP_MKNOD), else EPERM; socket nodes EPERM"), [DirFd, Path, Octal, Hex];
    __NR_fchownat => Full(attr::fchownat), [DirFd, Path, Int, Int, AtFlags], unmasked;
    __NR_futimesat => Full(attr::futimesat), [DirFd, Path, Ptr];
    __NR_newfstatat => Full(stat::newfstatat), [DirFd, Path, Ptr, AtFlags], unmasked;
    __NR_unlinkat => Full(namei::unlinkat), [DirFd, Path, AtFlags], unmasked;
    __NR_renameat => Full(namei::renameat), [DirFd, Path, DirFd, Path], unmasked;
    __NR_linkat => Full(namei::linkat), [DirFd, Path, DirFd, Path, AtFlags], unmasked;
    __NR_symlinkat => Full(namei::symlinkat), [Path, DirFd, Path], unmasked;
    __NR_readlinkat => Full(namei::readlinkat), [DirFd, Path, Ptr, Len], unmasked;
    __NR_fchmodat => Full(attr::fchmodat), [DirFd, Path, Octal], unmasked;
    __NR_faccessat => Full(access::faccessat), [DirFd, Path, Octal], unmasked;
    __NR_pselect6 => Full(poll::pselect6), [Int, Ptr, Ptr, Ptr, Ptr, Ptr], blocks, sleeps, restart = NoHand;
    __NR_ppoll => Full(poll::ppoll), [Ptr, Int, Ptr, Ptr, Len], blocks, sleeps, restart = NoHand;
    __NR_unshare => Missing, [];
    __NR_set_robust_list => Full(thread::set_robust_list), [Ptr, Len];
    __NR_get_robust_list => Partial(thread::get_robust_list, "threads of the calling process only"), [Int, Ptr, Ptr];
    __NR_splice => Partial(splice::splice, "copies through a buffer, at most 64 KiB a call"), [Fd, Ptr, Fd, Ptr, Len, Hex], blocks;
    __NR_tee => Partial(splice::tee, "the host's (ENOSYS on macOS)"), [Fd, Fd, Len, Hex], blocks;
    __NR_sync_file_range => Partial(sync::sync_file_range, "on macOS hosts writing and waiting syncs the whole file"), [Fd, Int, Int, Hex];
    __NR_vmsplice => Partial(splice::vmsplice, "copies; SPLICE_F_GIFT means nothing"), [Fd, Ptr, Len, Hex], blocks;
    __NR_move_pages => Stub(ENOSYS, "the guest's kernel has no NUMA (CONFIG_NUMA off)"), [];
    __NR_utimensat => Full(attr::utimensat), [DirFd, Path, Ptr, AtFlags], unmasked;
    __NR_epoll_pwait => Partial(epoll::epoll_pwait, "as epoll_wait"), [Fd, Ptr, Int, Int, Ptr, Len], blocks, sleeps, restart = NoHand;
    __NR_signalfd => Partial(signalfd::signalfd, "as signalfd4"), [Fd, Ptr, Len];
    __NR_timerfd_create => Partial(timerfd::timerfd_create, "alarm clocks (root only) never wake a suspended host"), [Clock, Hex];
    __NR_eventfd => Full(eventfd::eventfd), [Int];
    __NR_fallocate => Full(truncate::fallocate), [Fd, Hex, Int, Int];
    __NR_timerfd_settime => Partial(timerfd::timerfd_settime, "TFD_TIMER_CANCEL_ON_SET accepted, never ECANCELED"), [Fd, Hex, Ptr, Ptr], unmasked;
    __NR_timerfd_gettime => Full(timerfd::timerfd_gettime), [Fd, Ptr], unmasked;
    __NR_accept4 => Full(socket::accept4), [Fd, Ptr, Ptr, Hex], blocks, sleeps_if(super::fd_may_sleep);
    __NR_signalfd4 => Partial(signalfd::signalfd4, "/proc/PID/fdinfo shows no sigmask line"), [Fd, Ptr, Len, Hex];
    __NR_eventfd2 => Full(eventfd::eventfd2), [Int, Hex];
    __NR_epoll_create1 => Full(epoll::epoll_create1), [Hex];
    __NR_dup3 => Full(open::dup3), [Fd, Fd, OpenFlags], unmasked;
    __NR_pipe2 => Partial(pipe::pipe2, "host pipes; O_DIRECT is recorded but the host pipe stays a byte stream"), [Ptr, OpenFlags];
    __NR_inotify_init1 => Partial(inotify::inotify_init1, "events from the host's inotify (Linux) or kqueue (macOS: no open, access or close events)"), [Hex];
    __NR_preadv => Full(read_write::preadv), [Fd, Ptr, Int, Int], blocks;
    __NR_pwritev => Full(read_write::pwritev), [Fd, Ptr, Int, Int], blocks;
    __NR_rt_tgsigqueueinfo => Partial(signal::rt_tgsigqueueinfo, "another task's thread only through its leader (tgid = tid); on macOS si_value does not cross tasks"), [Int, Int, Signal, Ptr];
    __NR_perf_event_open => Missing, [];
    __NR_recvmmsg => Full(socket::recvmmsg), [Fd, Ptr, Int, Hex, Ptr], blocks, sleeps_if(super::fd_may_sleep);
    __NR_fanotify_init => Missing, [];
    __NR_fanotify_mark => Missing, [];
    __NR_prlimit64 => Full(identity::prlimit64), [Int, Int, Ptr, Ptr];
    __NR_name_to_handle_at => Missing, [];
    __NR_open_by_handle_at => Missing, [];
    __NR_clock_adjtime => Missing, [];
    __NR_syncfs => Full(sync::syncfs), [Fd];
    __NR_sendmmsg => Partial(socket::sendmmsg, "as sendmsg"), [Fd, Ptr, Int, Hex], blocks;
    __NR_setns => Missing, [];
    __NR_getcpu => Partial(identity::getcpu, "node is always 0"), [Ptr, Ptr, Ptr];
    __NR_process_vm_readv => Missing, [];
    __NR_process_vm_writev => Missing, [];
    __NR_kcmp => Missing, [];
    __NR_finit_module => Missing, [];
    __NR_sched_setattr => Partial(identity::sched_setattr, "SCHED_OTHER, SCHED_BATCH and SCHED_IDLE with a nice value (and SCHED_FLAG_RESET_ON_FORK), set as by sched_setscheduler; real-time and deadline policies EPERM, utilization clamps EOPNOTSUPP"), [Int, Ptr, Hex];
    __NR_sched_getattr => Full(identity::sched_getattr), [Int, Ptr, Int, Hex];
    __NR_renameat2 => Full(namei::renameat2), [DirFd, Path, DirFd, Path, Hex], unmasked;
    __NR_seccomp => Missing, [];
    __NR_getrandom => Full(identity::getrandom), [Ptr, Len, Hex];
    __NR_memfd_create => Partial(memfd::memfd_create, "a host temporary file; MFD_HUGETLB is EINVAL"), [Ptr, Hex];
    __NR_kexec_file_load => Missing, [];
    __NR_bpf => Missing, [];
    __NR_execveat => Full(proc_model::execveat), [DirFd, Path, Ptr, Ptr, AtFlags];
    __NR_userfaultfd => Missing, [];
    __NR_membarrier => Partial(thread::membarrier, "QUERY, GLOBAL and the PRIVATE_EXPEDITED commands (with SYNC_CORE); the RSEQ and GET_REGISTRATIONS commands are EINVAL"), [Int, Hex, Int];
    __NR_mlock2 => Partial(mlock::mlock2, "RLIMIT_MEMLOCK is checked against one call's range, not the process's total"), [Ptr, Len, Hex];
    __NR_copy_file_range => Partial(sendfile::copy_file_range, "copied through the runtime with pread/pwrite, not in the host kernel"), [Fd, Ptr, Fd, Ptr, Len, Hex];
    __NR_preadv2 => Partial(read_write::preadv2, "RWF_HIPRI and RWF_DSYNC/RWF_SYNC on reads mean nothing; RWF_NOWAIT checks pipes, sockets and terminals only"), [Fd, Ptr, Int, Int, Int, Hex], blocks;
    __NR_pwritev2 => Partial(read_write::pwritev2, "RWF_DSYNC and RWF_SYNC sync after the write; RWF_NOWAIT checks pipes, sockets and terminals only"), [Fd, Ptr, Int, Int, Int, Hex], blocks;
    __NR_pkey_mprotect => Missing, [];
    __NR_pkey_alloc => Stub(ENOSPC, "protection keys are not available to guests"), [];
    __NR_pkey_free => Missing, [];
    __NR_statx => Full(stat::statx), [DirFd, Path, AtFlags, Hex, Ptr], unmasked;
    __NR_io_pgetevents => Missing, [];
    __NR_rseq => Stub(ENOSYS, "restartable sequences are not emulated; glibc falls back"), [];
    __NR_uretprobe => Missing, [];
    __NR_pidfd_send_signal => Partial(pidfd::pidfd_send_signal, "a siginfo only to the caller itself; PIDFD_SIGNAL_PROCESS_GROUP is EINVAL"), [Fd, Signal, Ptr, Hex];
    __NR_io_uring_setup => Stub(ENOSYS, "io_uring is not emulated; callers fall back to plain I/O"), [];
    __NR_io_uring_enter => Missing, [];
    __NR_io_uring_register => Missing, [];
    __NR_open_tree => Missing, [];
    __NR_move_mount => Missing, [];
    __NR_fsopen => Missing, [];
    __NR_fsconfig => Missing, [];
    __NR_fsmount => Missing, [];
    __NR_fspick => Missing, [];
    __NR_pidfd_open => Partial(pidfd::pidfd_open, "PIDFD_THREAD (a pidfd of a thread) is EINVAL, as before Linux 6.9"), [Int, Hex];
    __NR_clone3 => Partial(proc_model::clone3, "as clone; set_tid is EPERM, CLONE_CLEAR_SIGHAND and CLONE_INTO_CGROUP ENOSYS"), [Ptr, Len];
    __NR_close_range => Full(open::close_range), [Fd, Fd, Hex];
    __NR_openat2 => Partial(open::openat2, "RESOLVE_* flags are refused with ENOSYS (callers fall back to openat, as before Linux 5.6); the rest as openat, with open_how checked strictly"), [DirFd, Path, Ptr, Len];
    __NR_pidfd_getfd => Partial(pidfd::pidfd_getfd, "only from a pidfd of the caller itself; another task's fds are EPERM"), [Fd, Int, Hex];
    __NR_faccessat2 => Full(access::faccessat2), [DirFd, Path, Octal, AtFlags], unmasked;
    __NR_process_madvise => Missing, [];
    __NR_epoll_pwait2 => Partial(epoll::epoll_pwait2, "as epoll_wait"), [Fd, Ptr, Int, Ptr, Ptr, Len], blocks, sleeps, restart = NoHand;
    __NR_mount_setattr => Missing, [];
    __NR_quotactl_fd => Missing, [];
    __NR_landlock_create_ruleset => Missing, [];
    __NR_landlock_add_rule => Missing, [];
    __NR_landlock_restrict_self => Missing, [];
    __NR_memfd_secret => Missing, [];
    __NR_process_mrelease => Missing, [];
    __NR_futex_waitv => Partial(futex::futex_waitv, "private futexes (and shared ones on private memory); a futex in MAP_SHARED memory is refused (ENOSYS, reported)"), [Ptr, Int, Hex, Ptr, Clock], blocks, sleeps;
    __NR_set_mempolicy_home_node => Stub(ENOSYS, "the guest's kernel has no NUMA (CONFIG_NUMA off)"), [];
    __NR_cachestat => Missing, [];
    __NR_fchmodat2 => Full(attr::fchmodat2), [DirFd, Path, Octal, AtFlags];
    __NR_map_shadow_stack => Missing, [];
    __NR_futex_wake => Full(futex::futex_wake), [Ptr, Hex, Int, Hex];
    __NR_futex_wait => Full(futex::futex_wait), [Ptr, Hex, Hex, Hex, Ptr, Clock], blocks, sleeps;
    __NR_futex_requeue => Partial(futex::futex_requeue, "as FUTEX_CMP_REQUEUE; a futex in MAP_SHARED memory is refused (ENOSYS, reported)"), [Ptr, Hex, Int, Int];
    __NR_statmount => Missing, [];
    __NR_listmount => Missing, [];
    __NR_lsm_get_self_attr => Missing, [];
    __NR_lsm_set_self_attr => Missing, [];
    __NR_lsm_list_modules => Missing, [];
    __NR_mseal => Missing, [];
    __NR_setxattrat => Missing, [];
    __NR_getxattrat => Missing, [];
    __NR_listxattrat => Missing, [];
    __NR_removexattrat => Missing, [];
    __NR_open_tree_attr => Missing, [];
    __NR_file_getattr => Missing, [];
    __NR_file_setattr => Missing, [];
}

/// The highest syscall number in the table, plus one.
pub const NR_LIMIT: usize = __NR_file_setattr as usize + 1;

/// Row index by syscall number (`u16::MAX` for numbers x86_64 does not use).
static INDEX: [u16; NR_LIMIT] = build_index();

const fn build_index() -> [u16; NR_LIMIT] {
    let mut idx = [u16::MAX; NR_LIMIT];
    let mut i = 0;
    while i < TABLE_LEN {
        idx[NRS[i] as usize] = i as u16;
        i += 1;
    }
    idx
}

/// The row for a syscall number, if x86_64 defines it.
pub fn row(nr: u64) -> Option<&'static Row> {
    let i = *INDEX.get(usize::try_from(nr).ok()?)?;
    TABLE.get(usize::from(i))
}

/// The markers of a syscall number (none for numbers x86_64 does not use).
#[inline]
pub fn markers(nr: u64) -> Markers {
    row(nr).map_or(Markers::NONE, |r| r.markers)
}

pub fn by_name(name: &str) -> Option<&'static Row> {
    TABLE.iter().find(|r| r.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn rows_are_ordered_unique_and_complete() {
        let mut names = HashSet::new();
        for w in TABLE.windows(2) {
            assert!(w[0].nr < w[1].nr, "{} and {} out of order", w[0].name, w[1].name);
        }
        for r in TABLE {
            assert!(names.insert(r.name), "duplicate {}", r.name);
            assert_eq!(row(u64::from(r.nr)).map(|x| x.name), Some(r.name));
        }
        // x86_64 numbers: 0..=335 dense, then the shared range from 424 on.
        for nr in (0..=__NR_uretprobe).chain(__NR_pidfd_send_signal..=__NR_file_setattr) {
            assert!(row(u64::from(nr)).is_some(), "syscall {nr} has no row");
        }
        assert_eq!(TABLE.len(), 382);
        assert!(row(400).is_none());
    }

    fn marked(pred: impl Fn(&Markers) -> bool) -> Vec<&'static str> {
        TABLE.iter().filter(|r| pred(&r.markers)).map(|r| r.name).collect()
    }

    /// Pins every marker set, in table order: a marker added or lost on a
    /// row shows up here.
    #[test]
    fn marker_sets() {
        assert_eq!(
            marked(|m| m.blocks),
            [
                "read", "write", "poll", "pread64", "pwrite64", "readv", "writev", "select", "nanosleep",
                "sendfile", "connect", "accept", "sendto", "recvfrom", "sendmsg", "recvmsg", "wait4", "semop",
                "msgsnd", "msgrcv", "fcntl", "flock", "futex", "semtimedop", "clock_nanosleep",
                "epoll_wait", "waitid", "pselect6", "ppoll", "splice", "tee", "vmsplice", "epoll_pwait",
                "accept4", "preadv", "pwritev", "recvmmsg", "sendmmsg", "preadv2", "pwritev2",
                "epoll_pwait2", "futex_waitv", "futex_wait",
            ]
        );
        assert_eq!(
            marked(|m| m.unmasked),
            [
                "open", "close", "stat", "fstat", "lstat", "lseek", "mmap", "mprotect", "munmap", "brk", "access",
                "sched_yield", "mremap", "madvise", "dup", "dup2", "getpid", "getsockname", "getpeername",
                "setsockopt", "getsockopt", "uname", "truncate", "ftruncate", "getdents", "getcwd", "rename", "mkdir",
                "rmdir", "link", "unlink", "symlink", "readlink", "chmod", "fchmod", "chown", "fchown", "lchown",
                "umask", "gettimeofday", "getuid", "getgid", "geteuid", "getegid", "getppid", "statfs", "fstatfs",
                "gettid", "setxattr", "lsetxattr", "fsetxattr", "getxattr", "lgetxattr", "fgetxattr", "listxattr",
                "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr", "time", "getdents64",
                "clock_gettime", "clock_getres", "epoll_ctl", "openat", "mkdirat", "fchownat", "newfstatat",
                "unlinkat", "renameat", "linkat", "symlinkat", "readlinkat", "fchmodat", "faccessat", "utimensat",
                "timerfd_settime", "timerfd_gettime", "dup3", "renameat2", "statx", "faccessat2",
            ]
        );
        assert!(TABLE.iter().all(|r| !(r.markers.blocks && r.markers.unmasked)), "unmasked is for calls that do not block");
        assert_eq!(
            marked(|m| m.restart == Restart::NoHand),
            [
                "poll", "select", "pause", "nanosleep", "semop", "msgsnd", "msgrcv", "rt_sigtimedwait",
                "rt_sigsuspend", "io_getevents", "semtimedop", "clock_nanosleep", "epoll_wait", "pselect6", "ppoll",
                "epoll_pwait", "epoll_pwait2",
            ]
        );
        assert_eq!(marked(|m| m.restart == Restart::Exempt), ["rt_sigreturn"]);
        assert_eq!(
            marked(|m| matches!(m.sleeps, Sleeps::Always)),
            [
                "poll", "select", "pause", "nanosleep", "wait4", "rt_sigtimedwait", "rt_sigsuspend",
                "clock_nanosleep", "epoll_wait", "waitid", "pselect6", "ppoll", "epoll_pwait", "epoll_pwait2",
                "futex_waitv", "futex_wait",
            ]
        );
        assert_eq!(marked(|m| matches!(m.sleeps, Sleeps::If(_))), ["read", "readv", "accept", "recvfrom", "recvmsg", "syslog", "futex", "accept4", "recvmmsg"]);
        assert_eq!(marked(|m| m.ret == Ret::Addr), ["mmap", "brk", "mremap", "shmat"]);
        assert_eq!(marked(|m| m.noreturn), ["exit", "exit_group"]);

        // futex(2) sleeps in the operations that wait, private or not.
        let futex = |op: u32| markers(u64::from(__NR_futex)).sleeps.at(&[0, u64::from(op), 0, 0, 0, 0]);
        for op in [FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_WAIT_REQUEUE_PI] {
            assert!(futex(op) && futex(op | FUTEX_PRIVATE_FLAG), "{op}");
        }
        assert!(futex(FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME));
        for op in [FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI] {
            assert!(!futex(op) && !futex(op | FUTEX_PRIVATE_FLAG), "{op}");
        }
        // Numbers x86_64 does not use have none.
        let m = markers(400);
        assert!(!m.blocks && !m.noreturn && m.restart == Restart::Sys && !m.sleeps.at(&[0; 6]) && m.ret == Ret::Int);
    }

    #[test]
    fn partial_and_stub_rows_carry_notes() {
        for r in TABLE {
            match r.status {
                Status::Partial(_, n) | Status::Stub(_, n) => assert!(!n.is_empty(), "{} lacks a note", r.name),
                _ => {}
            }
            if r.status.handler().is_some() {
                assert!(r.args.len() <= 6, "{}", r.name);
            }
        }
    }
}
