//! The one Linux process this host process hosts, its threads, and the
//! state they share.
//!
//! [`Process`] (process.rs) is the one home of process state: handler files
//! keep none of their own. [`Thread`] (thread.rs) is what each thread owns;
//! a handler reaches both through its `Ctx` (`Ctx::process`, `Ctx::thread`).
//! The private futex queues are in futex.rs.
//!
//! # Lock order
//!
//! Every lock the runtime has, and how they nest (outer first; an arrow
//! means "is held while taking"). A lock not under an arrow is never held
//! while another is taken.
//!
//! ```text
//! OpenFile.pos (the directory being listed)
//! └─ SynthDir entries (same file)
//!    └─ whatever regenerating its /proc listing takes, below
//! (a synthetic file's content is made again with none of its own locks
//! held: /proc/self/fdinfo/N reads fd N's `pos` and status, and fd N may be
//! that very file)
//! futexes                          (syscall/futex.rs, task/futex.rs)
//! ├─ mm                            (reads the futex word: uaccess)
//! └─ threads                       (is a PI futex's owner alive?)
//! fds
//! ├─ OpenFile.status               (build_handover: file.status())
//! └─ a file kind's state           (fork: `FileOps::before_fork` in the
//!    │                              parent, `after_fork` in the child)
//!    └─ Notifier                   (vfs/poll.rs: the pipe follows the state)
//! epoll registrations              (syscall/epoll.rs)
//! ├─ a watched file's kind state   (its readiness, asked for epoll_wait)
//! │  └─ Notifier
//! └─ threads, then sig → ...       (a watched signalfd's readiness is the
//!                                   caller's: syscall/signalfd.rs)
//! mm
//! └─ guest_as                      (mmap, brk, mremap: RLIMIT_AS check)
//! sig                              (the kernel's siglock)
//! ├─ timers                        (the timer thread; a timer signal's delivery)
//! │  ├─ threads, Thread.pending, Thread.host, signalfd readers
//! │  │                             (the timer thread sends a signal: send_from_runtime)
//! │  └─ Thread.host                (reading a thread's CPU clock)
//! ├─ threads                       (routing a signal, the blocked sets)
//! ├─ Thread.pending                (its own; another's only with sig held)
//! ├─ Thread.host                   (kicking the thread that takes a signal)
//! └─ signalfd readers              (every change of a pending set tells the
//!    │                              signalfds: signal/mod.rs "Pending watchers")
//!    └─ Notifier
//! children → reaped                (wait: `reaped`)
//! sig (the host leader's) → sig (a CLONE_VM child's) → as under sig
//!                                  (a kill from another task for the child,
//!                                   sorted from the host leader's inbox:
//!                                   signal/mod.rs `drain_inbox`)
//! timers → Thread.host             (timer_settime, timer_gettime on a thread's CPU clock)
//! Thread.trace                     (a leaf: ptrace's state of a tracee, syscall/ptrace.rs)
//! ```
//!
//! A fork takes every process-wide lock, in this order, which follows the
//! tree: publishing, comm, argv, exe, fs, envp, fds, futexes, mm, guest_as, children,
//! reaped, sig, timers, sigio, threads, idle_hosts, tid_pool, publisher,
//! ppid_cache, vfork_return, vm_children, vm_processes, refused, cred, syscall_sites, in_flight, trace, then each
//! open file's own locks, file by file in fd order (a file at several fds
//! once): its `status`, `pos`, `async_owner`, then its kind's
//! (`FileOps::hold_for_fork`: epoll's regs, cursor, sleepers, crossed,
//! edges, level; a pidfd's exit watch; netlink's state; inotify's queue), then
//! the daemon link's pool (`daemon::lock_for_fork`)
//! ([`Process::lock_for_fork`]); a process's only thread (the publisher
//! aside) holds only `publishing` and its child takes the rest
//! ([`Process::locks_for_fork`]). The file locks come last although some
//! are taken outside `threads`, `sig` or `mm` elsewhere (epoll's, above;
//! `async_owner` across a guest memory read): the fork takes each with
//! `try_lock` only, and one found held makes it let every lock go and
//! start again, so it never waits for a lock while holding one that the
//! holder may wait for. A fork child's `FileOps::after_fork` takes its
//! files' locks alone, once the fork's guards are let go.
//!
//! - `mm` is also taken, briefly and innermost, by every guest memory access
//!   (uaccess.rs), so no lock above it may be held while touching guest
//!   memory except those listed as outer to it.
//! - An eventfd's lock is a word in memory shared with the processes it
//!   was forked into (syscall/eventfd.rs); under it, only host pipe reads
//!   and writes. It is never held while another lock is taken.
//! - A timerfd's state (syscall/timerfd.rs) is taken by the timer thread
//!   with no lock held (it copies the file timers out of `timers` first),
//!   and by the handlers alone; under it, only its Notifier.
//! - A signalfd's poll or read finds the calling thread (`threads`, alone)
//!   and then takes `sig` → the thread's `pending` → its readers.
//! - `timers` is taken under `sig` only by the timer thread (which holds
//!   no thread's `pending`) and by a delivery (which holds its own
//!   `pending`): both hold `sig` first, so they never wait on each other.
//!   The timer handlers take it alone and touch no guest memory under it.
//! - Leaves, only ever taken alone: `trace` (the `--trace` sink),
//!   `vfork_return`, `vm_children`, `VM_PROCESSES` (syscall/clone_vm.rs), `refused`, `cred` (the credentials: read or replaced
//!   whole, never held across a guest memory access or a daemon call),
//!   `HostFile.dir_pending`, `Thread.comm`, `idle_hosts`, `sigio` (task/sigio.rs), `IdleHost.job`,
//!   `tid_pool`, `publisher`, and the daemon link itself (it takes no other
//!   lock).
//! - `publishing` is outermost: the publisher holds it across `task_info`
//!   (which takes comm, argv, exe, fs, envp, fds, mm, sig one at a time)
//!   and its round trip; exit_group holds it from its exit notice on; a
//!   fork takes it first.
//! - `fs` and `fds` are never both held by path resolution (vfs/mod.rs).
//!   `comm`, `argv`, `exe`, `envp` are taken alone (`task_info` takes them
//!   one after the other).
//! - One-time initialisation, never held across anything: `PROCESS` below,
//!   daemon.rs `SEVERAL_CPUS`, host/posix.rs `INSTALL` and `ASYNC`.
//! - Not locks, but shared state a signal handler touches: the atomics of
//!   `signal::HostSignals` (`Process::host_sig`) and each thread's `mask`
//!   and `pending_set`, written by the host signal handler or read by it,
//!   which takes no lock.
//!
//! Departures from the rule that no lock is held across a daemon round trip
//! or a host call that sleeps, as the code stands: a re-listing of a
//! synthetic directory holds its `pos` and entries while asking the daemon
//! (that open file only). brk, mprotect and a fixed mmap hold `mm` across
//! the host calls that change the mapping, which do not sleep.

mod cred;
mod dnotify;
mod futex;
mod process;
mod sigio;
mod thread;
mod timer;

pub use cred::{cap_valid, Cred};
pub use futex::*;
pub use process::*;
pub use sigio::*;
pub use thread::*;
pub use timer::*;

use std::sync::{Mutex, MutexGuard, OnceLock};

/// The first Linux process of this host process: the one `mactux run`
/// (or an execve) started, which owns the host process's signals, its
/// daemon link and its exit status.
static PROCESS: OnceLock<Process> = OnceLock::new();

thread_local! {
    /// The process of a host thread that runs a CLONE_VM child (one that
    /// shares memory without being a thread, syscall/clone_vm.rs) or one
    /// of its runtime threads; unset on every other host thread, whose
    /// process is [`PROCESS`]. A plain word with no destructor: read from
    /// the trap handler, with the host's TLS in place.
    static THREAD_PROCESS: core::cell::Cell<Option<&'static Process>> = const { core::cell::Cell::new(None) };
}

/// Every CLONE_VM child process of this host process not yet reaped by
/// its parent, for kill(2) from within the host process
/// (syscall/clone_vm.rs). Each is leaked: threads, files and signals may
/// still name it after it ended, and a host process makes few.
static VM_PROCESSES: std::sync::Mutex<Vec<&'static Process>> = std::sync::Mutex::new(Vec::new());

/// Marks the fd table or the memory map as changed since the task last told
/// the daemon ([`Process::view_changed`]). Before [`init`] (and in unit tests
/// of `Mm` and `FdTable`) there is no process, and nothing has been told yet.
pub fn note_view_changed() {
    if let Some(p) = PROCESS.get() {
        p.view_changed.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The current process: the calling host thread's. Panics only if called
/// before [`init`], which the runtime does before any guest code runs.
pub fn current() -> &'static Process {
    if let Some(p) = THREAD_PROCESS.with(|c| c.get()) {
        return p;
    }
    host_leader()
}

/// The first Linux process of the host process ([`PROCESS`]).
pub fn host_leader() -> &'static Process {
    match PROCESS.get() {
        Some(p) => p,
        None => crate::host::process::fatal("task state used before initialisation"),
    }
}

/// Whether `p` is the first Linux process of the host process (not a
/// CLONE_VM child).
pub fn is_host_leader(p: &Process) -> bool {
    PROCESS.get().is_some_and(|l| std::ptr::eq(l, p))
}

/// Makes `p` the calling host thread's process (a thread of a CLONE_VM
/// child, or a runtime thread working for one).
pub fn enter(p: &'static Process) {
    let p = if is_host_leader(p) { None } else { Some(p) };
    THREAD_PROCESS.with(|c| c.set(p));
}

/// The current process, or `None` before [`init`].
pub fn try_current() -> Option<&'static Process> {
    THREAD_PROCESS.with(|c| c.get()).or_else(|| PROCESS.get())
}

/// The process the host signal handler records host signals for: the
/// host leader, whose threads alone take the host process's signals (a
/// CLONE_VM child's threads keep them blocked). `None` before [`init`].
pub fn try_host_leader() -> Option<&'static Process> {
    PROCESS.get()
}

pub fn init(p: Process) -> &'static Process {
    if PROCESS.set(p).is_err() {
        crate::host::process::fatal("task state initialised twice");
    }
    current()
}

/// The registry of CLONE_VM child processes, held across a host fork
/// (`Process::lock_for_fork`), whose child empties it.
pub fn lock_vm_processes() -> MutexGuard<'static, Vec<&'static Process>> {
    lock(&VM_PROCESSES)
}

/// Registers a new CLONE_VM child process.
pub fn add_vm_process(p: &'static Process) {
    lock(&VM_PROCESSES).push(p);
}

/// Forgets a reaped CLONE_VM child process.
pub fn remove_vm_process(p: &'static Process) {
    lock(&VM_PROCESSES).retain(|q| !std::ptr::eq(*q, p));
}

/// Whether this host process holds CLONE_VM child processes. Async-signal-
/// safe as [`is_vm_pid`] (a registry busy at that moment counts as
/// holding some).
pub fn has_vm_processes() -> bool {
    match VM_PROCESSES.try_lock() {
        Ok(list) => !list.is_empty(),
        Err(_) => true,
    }
}

/// Every process of this host process: its first and the CLONE_VM child
/// processes living in it.
pub fn host_processes() -> Vec<&'static Process> {
    let mut all = vec![host_leader()];
    all.extend(vm_processes());
    all
}

/// The CLONE_VM child processes of this host process.
pub fn vm_processes() -> Vec<&'static Process> {
    lock(&VM_PROCESSES).clone()
}

/// The CLONE_VM child process of this host process with Linux pid `pid`.
pub fn vm_process(pid: u32) -> Option<&'static Process> {
    lock(&VM_PROCESSES).iter().find(|p| p.pid() == pid).copied()
}

/// Whether `pid` is a CLONE_VM child process of this host process.
/// Async-signal-safe as the host signal handler needs it: it only tries
/// the lock, and a registry busy at that moment counts as holding it (the
/// inbox drain sorts the signal out).
pub fn is_vm_pid(pid: u32) -> bool {
    match VM_PROCESSES.try_lock() {
        Ok(list) => list.iter().any(|p| p.pid() == pid),
        Err(_) => true,
    }
}

/// How many CLONE_VM child processes of this host process still run.
pub fn live_vm_processes() -> usize {
    lock(&VM_PROCESSES).iter().filter(|p| !p.has_exited.load(std::sync::atomic::Ordering::Relaxed)).count()
}

/// Locks a mutex, ignoring poisoning (a panic is already fatal to us).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every thread of this task as (tid, comm), the leader (tid = pid) first:
/// /proc/self/task, `Threads:` and what the daemon shows other tasks. A
/// leader that exited before the others is still listed, as Linux keeps
/// it (a zombie) until the whole group ends.
pub fn thread_list() -> Vec<(u32, Vec<u8>)> {
    let p = current();
    let mut list: Vec<(u32, Vec<u8>)> = p.thread_list().iter().map(|t| (t.tid(), lock(&t.comm).clone())).collect();
    if !list.iter().any(|(tid, _)| *tid == p.pid()) {
        list.insert(0, (p.pid(), lock(&p.comm).clone()));
    }
    list
}

/// Sets the `comm` of this task's thread `tid` (a write to
/// /proc/PID/task/TID/comm, or /proc/PID/comm for the leader): ESRCH when
/// `tid` is not a thread of this task. `comm` is already cut to 15 bytes.
pub fn set_thread_comm(tid: u32, comm: Vec<u8>) -> crate::error::Result<()> {
    let p = current();
    let thread = p.thread(tid);
    if thread.is_none() && tid != p.pid() {
        crate::return_errno_with_message!(ESRCH, "no such thread in this task");
    }
    if tid == p.pid() {
        *lock(&p.comm) = comm.clone();
    }
    if let Some(t) = thread {
        *lock(&t.comm) = comm;
    }
    p.view_changed.store(true, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}
