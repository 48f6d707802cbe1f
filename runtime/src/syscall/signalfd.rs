//! signalfd(2), signalfd4(2): the pending signals of a set, read from an
//! fd as `struct signalfd_siginfo` records
//! (<https://man7.org/linux/man-pages/man2/signalfd.2.html>; the checks
//! follow fs/signalfd.c).
//!
//! A signalfd holds only its set. As on Linux it reads the signals of
//! whoever reads it: those pending for the reading thread, then those
//! pending for its process, and it is ready for poll, select and epoll
//! exactly while one of them is pending for the thread that asks.
//!
//! Waking: a signal meant for a signalfd is usually blocked, so queuing it
//! wakes no thread. Each signalfd is therefore a pending watcher
//! (signal/mod.rs, "Pending watchers"): it keeps one [`Notifier`] pipe per
//! thread that has polled it, readable exactly while a signal of its set
//! is pending for that thread or the process, and the signal code sets
//! them whenever a pending set changes (a signal queued by kill, tgkill, a
//! timer or from outside; one taken by a read, a delivery or sigwait).
//! Pollers and a blocked read sleep on the caller's pipe in the host.
//!
//! execve keeps a signalfd: only its set crosses (`FileOps::exec_state`);
//! the new runtime registers it as a pending watcher again.
//!
//! Divergences from Linux:
//! - /proc/PID/fdinfo shows no `sigmask` line.
//! - A signal from outside the process reaches the pending sets (and so
//!   the signalfd) when a thread of the process next takes a host signal
//!   or enters the runtime; a thread asleep in poll on the signalfd is one
//!   (the host signal interrupts its sleep, and the poll goes on).

use super::{args, Ctx};
use crate::abi::gen as g;
use crate::abi::signal::Signal;
use crate::error::Result;
use crate::host::{HostFd, HostStat};
use crate::signal::{lock_state, PendingWatch, SigInfo};
use crate::task::{lock, Thread};
use crate::uaccess;
use crate::vfs::file::{ExecIds, ExecKind, ExecObjects, FileOps, KindState, OpenFile};
use crate::vfs::poll::{self, Notifier, Ready};
use crate::{errno, return_errno_with_message};
use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};

const SFD_CLOEXEC: u32 = g::O_CLOEXEC;
const SFD_NONBLOCK: u32 = g::O_NONBLOCK;

/// `sizeof(sigset_t)` the kernel accepts on x86_64.
const SIGSET_SIZE: u64 = 8;

/// `sizeof(struct signalfd_siginfo)`.
const SSI_SIZE: usize = 128;

/// The most records one read returns here (a larger buffer gets fewer;
/// Linux stops at the buffer's end or the first absent signal).
const READ_MAX: usize = 64;

pub struct SignalFd(Arc<Watch>);

struct Watch {
    /// The signals it reads (never SIGKILL or SIGSTOP); written with
    /// `Process::sig` held.
    set: AtomicU64,
    /// Guards one notifier per thread that has polled the signalfd, taken
    /// under `Process::sig` (lock order: `sig` → `readers` → Notifier).
    readers: Mutex<Vec<Reader>>,
    /// `SignalState::queued` when last told: a change is a new signal,
    /// which pulses the notifiers already readable (an edge for a sleeping
    /// edge-triggered epoll, `FileOps::edge_fd`).
    queued: AtomicU64,
}

struct Reader {
    thread: Weak<Thread>,
    /// Readable exactly while a signal of `set` is pending for `thread`
    /// or the process.
    notifier: Notifier,
}

impl Watch {
    fn is_ready(&self, thread_pending: u64, shared: u64) -> bool {
        (thread_pending | shared) & self.set.load(Relaxed) != 0
    }

    /// Every reader's notifier follows the pending sets (with `sig` held);
    /// the readers of ended threads go.
    fn refresh(&self, shared: u64, queued: u64) {
        let new_signal = self.queued.swap(queued, Relaxed) != queued;
        lock(&self.readers).retain(|r| match r.thread.upgrade() {
            Some(t) if !t.exited.load(Relaxed) => {
                if new_signal {
                    r.notifier.pulse();
                }
                r.notifier.set(self.is_ready(t.pending_set.load(Relaxed), shared));
                true
            }
            _ => false,
        });
    }

    /// The calling thread's reader, made (with its notifier following
    /// `ready`) if it has none; None when no notifier can be made.
    fn reader<'a>(readers: &'a mut Vec<Reader>, thread: &Arc<Thread>, ready: bool) -> Option<&'a Reader> {
        let i = match readers.iter().position(|r| std::ptr::eq(r.thread.as_ptr(), Arc::as_ptr(thread))) {
            Some(i) => i,
            None => {
                let notifier = Notifier::new().ok()?;
                notifier.set(ready);
                readers.push(Reader { thread: Arc::downgrade(thread), notifier });
                readers.len() - 1
            }
        };
        readers.get(i)
    }
}

impl PendingWatch for Watch {
    fn pending_changed(&self, shared: u64, queued: u64) {
        self.refresh(shared, queued);
    }
}

/// The guest thread making the current call (a file operation has no
/// `Ctx`): readiness and reads are the caller's.
fn calling_thread() -> Result<Arc<Thread>> {
    crate::trap::calling_thread().ok_or_else(|| errno!(EINVAL, "a signalfd is used from a thread the runtime does not know"))
}

/// A Linux `struct signalfd_siginfo` from a siginfo, field by field as
/// `signalfd_copyinfo` (fs/signalfd.c) picks them by the siginfo's layout.
fn signalfd_siginfo(info: &SigInfo) -> [u8; SSI_SIZE] {
    let si = info.to_bytes();
    // The siginfo union starts at 16.
    let u32_at = |off: usize| u32::from_ne_bytes([si[16 + off], si[17 + off], si[18 + off], si[19 + off]]);
    let u64_at = |off: usize| u64::from(u32_at(off)) | u64::from(u32_at(off + 4)) << 32;
    let mut out = [0u8; SSI_SIZE];
    let mut put = |off: usize, bytes: &[u8]| out[off..off + bytes.len()].copy_from_slice(bytes);
    put(0, &info.signo.to_ne_bytes());
    put(4, &info.errno.to_ne_bytes());
    put(8, &info.code.to_ne_bytes());
    // struct signalfd_siginfo offsets.
    const PID: usize = 12;
    const UID: usize = 16;
    const FD: usize = 20;
    const TID: usize = 24;
    const BAND: usize = 28;
    const OVERRUN: usize = 32;
    const STATUS: usize = 40;
    const INT: usize = 44;
    const PTR: usize = 48;
    const UTIME: usize = 56;
    const STIME: usize = 64;
    const ADDR: usize = 72;
    const ADDR_LSB: usize = 80;
    const SYSCALL: usize = 84;
    const CALL_ADDR: usize = 88;
    const ARCH: usize = 96;
    match layout(info.signal(), info.code) {
        Layout::Kill => {
            put(PID, &u32_at(0).to_ne_bytes());
            put(UID, &u32_at(4).to_ne_bytes());
        }
        Layout::Timer => {
            put(TID, &u32_at(0).to_ne_bytes());
            put(OVERRUN, &u32_at(4).to_ne_bytes());
            put(PTR, &u64_at(8).to_ne_bytes());
            put(INT, &u32_at(8).to_ne_bytes());
        }
        Layout::Poll => {
            put(BAND, &u32_at(0).to_ne_bytes());
            put(FD, &u32_at(8).to_ne_bytes());
        }
        Layout::Fault => put(ADDR, &u64_at(0).to_ne_bytes()),
        Layout::FaultMceErr => {
            put(ADDR, &u64_at(0).to_ne_bytes());
            put(ADDR_LSB, &si[24..26]);
        }
        Layout::Chld => {
            put(PID, &u32_at(0).to_ne_bytes());
            put(UID, &u32_at(4).to_ne_bytes());
            put(STATUS, &u32_at(8).to_ne_bytes());
            put(UTIME, &u64_at(16).to_ne_bytes());
            put(STIME, &u64_at(24).to_ne_bytes());
        }
        Layout::Rt => {
            put(PID, &u32_at(0).to_ne_bytes());
            put(UID, &u32_at(4).to_ne_bytes());
            put(PTR, &u64_at(8).to_ne_bytes());
            put(INT, &u32_at(8).to_ne_bytes());
        }
        Layout::Sys => {
            put(CALL_ADDR, &u64_at(0).to_ne_bytes());
            put(SYSCALL, &u32_at(8).to_ne_bytes());
            put(ARCH, &u32_at(12).to_ne_bytes());
        }
    }
    out
}

/// Which member of the siginfo union is filled (`enum siginfo_layout`).
enum Layout {
    Kill,
    Timer,
    Poll,
    Fault,
    FaultMceErr,
    Chld,
    Rt,
    Sys,
}

/// `siginfo_layout` (kernel/signal.c), x86_64's cases.
fn layout(sig: Signal, code: i32) -> Layout {
    let si_kernel = g::SI_KERNEL as i32;
    if code > g::SI_USER as i32 && code < si_kernel {
        let limit = |n: u32| code <= n as i32;
        let by_signal = match sig {
            Signal::SIGILL if limit(g::NSIGILL) => Some(Layout::Fault),
            Signal::SIGFPE if limit(g::NSIGFPE) => Some(Layout::Fault),
            Signal::SIGSEGV if limit(g::NSIGSEGV) => Some(Layout::Fault),
            Signal::SIGBUS if limit(g::NSIGBUS) => {
                let mce = (g::BUS_MCEERR_AR as i32..=g::BUS_MCEERR_AO as i32).contains(&code);
                Some(if mce { Layout::FaultMceErr } else { Layout::Fault })
            }
            Signal::SIGTRAP if limit(g::NSIGTRAP) => Some(Layout::Fault),
            Signal::SIGCHLD if limit(g::NSIGCHLD) => Some(Layout::Chld),
            Signal::SIGSYS if limit(g::NSIGSYS) => Some(Layout::Sys),
            _ => None,
        };
        match by_signal {
            Some(l) => l,
            None if limit(g::NSIGPOLL) => Layout::Poll,
            None => Layout::Kill,
        }
    } else if code == g::SI_TIMER {
        Layout::Timer
    } else if code == g::SI_SIGIO {
        Layout::Poll
    } else if code < 0 {
        Layout::Rt
    } else {
        Layout::Kill
    }
}

impl SignalFd {
    /// Takes up to `max` pending signals of the set for `thread`.
    fn take(&self, thread: &Thread, max: usize) -> Vec<SigInfo> {
        let set = self.0.set.load(Relaxed);
        let mut l = lock_state(thread);
        let mut taken = Vec::new();
        while taken.len() < max {
            match l.dequeue_in(set) {
                Some(info) => taken.push(info),
                None => break,
            }
        }
        taken
    }
}

impl FileOps for SignalFd {
    fn stat(&self, f: &OpenFile) -> Result<HostStat> {
        Ok(crate::vfs::file::anon_stat(&f.guest_path))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    /// As many records as fit, at least one: waits for the first (unless
    /// non-blocking), then takes what else is pending at once.
    fn read(&self, f: &OpenFile, buf: &mut [u8]) -> Result<usize> {
        let max = buf.len() / SSI_SIZE;
        if max == 0 {
            return_errno_with_message!(EINVAL, "a signalfd is read in records of 128 bytes");
        }
        let thread = calling_thread()?;
        let mut interrupted = false;
        let taken = loop {
            let taken = self.take(&thread, max);
            if !taken.is_empty() {
                break taken;
            }
            if f.is_nonblocking() {
                return Err(errno!(EAGAIN));
            }
            if interrupted {
                return Err(errno!(EINTR));
            }
            // A host signal ends the sleep: it may be one of the set, which
            // Linux's read takes before it gives way to a signal (so look
            // once more), or one to deliver (EINTR then).
            match poll::wait_for(f, g::POLLIN) {
                Err(e) if e.errno == crate::abi::Errno::EINTR => interrupted = true,
                Err(e) => return Err(e),
                Ok(_) => {}
            }
        };
        // No lock is held now: a host sender's pid may be asked of the daemon.
        for (i, info) in taken.iter().enumerate() {
            buf[i * SSI_SIZE..(i + 1) * SSI_SIZE].copy_from_slice(&signalfd_siginfo(&info.for_guest()));
        }
        Ok(taken.len() * SSI_SIZE)
    }

    /// As Linux, a short buffer is EINVAL before its address is looked at.
    fn read_guest(&self, f: &OpenFile, addr: u64, len: usize, _off: Option<u64>) -> Result<usize> {
        let len = len.min(READ_MAX * SSI_SIZE);
        if len < SSI_SIZE {
            return_errno_with_message!(EINVAL, "a signalfd is read in records of 128 bytes");
        }
        uaccess::check_writable(addr, len - len % SSI_SIZE)?;
        let mut buf = vec![0u8; len];
        let n = self.read(f, &mut buf)?;
        uaccess::copy_to_guest(addr, &buf[..n])?;
        Ok(n)
    }

    fn read_bound(&self) -> usize {
        READ_MAX * SSI_SIZE
    }

    /// Ready (POLLIN alone, as `signalfd_poll`) while a signal of the set
    /// is pending for the calling thread or the process; otherwise the
    /// caller sleeps on its own notifier, made on its first poll.
    fn poll(&self, _f: &OpenFile, _events: u32, wake: &mut Vec<(HostFd, u32)>) -> Ready {
        let Ok(thread) = calling_thread() else { return Ready::Now(0) };
        let l = lock_state(&thread);
        let ready = self.0.is_ready(l.tp.set, l.st.shared.set);
        let mut readers = lock(&self.0.readers);
        let mine = readers.iter().any(|r| std::ptr::eq(r.thread.as_ptr(), Arc::as_ptr(&thread)));
        if ready && !mine {
            return Ready::Now(g::POLLIN);
        }
        // Without a notifier the poller wakes only by its timeout or a
        // signal.
        let Some(reader) = Watch::reader(&mut readers, &thread, ready) else { return Ready::Now(0) };
        reader.notifier.set(ready);
        if ready {
            return Ready::Now(g::POLLIN);
        }
        wake.push(reader.notifier.wake());
        Ready::Now(0)
    }

    /// The calling thread's notifier: pulsed at each new signal while it
    /// is readable (`Watch::refresh`).
    fn edge_fd(&self) -> Option<HostFd> {
        let thread = calling_thread().ok()?;
        let l = lock_state(&thread);
        let ready = self.0.is_ready(l.tp.set, l.st.shared.set);
        let mut readers = lock(&self.0.readers);
        Some(Watch::reader(&mut readers, &thread, ready)?.notifier.wake().0)
    }

    fn pollable(&self) -> bool {
        true
    }

    /// In a fork child: the one thread there makes its notifier anew when
    /// it polls; the parent's threads' notifiers go.
    /// Every signal queued in the process (`signalfd_notify` wakes the
    /// signalfds of the whole thread group), host signals sorted first.
    fn read_wakeups(&self) -> u64 {
        match calling_thread() {
            Ok(t) => lock_state(&t).st.queued,
            Err(_) => 0,
        }
    }

    fn after_fork(&self) {
        lock(&self.0.readers).clear();
    }

    fn crosses_processes(&self) -> bool {
        true
    }

    fn exec_state(&self, _f: &OpenFile, _ids: &ExecIds<'_>) -> Option<KindState> {
        KindState::new(EXEC_KIND.name, &self.0.set.load(Relaxed), Vec::new())
    }
}

pub const EXEC_KIND: ExecKind = ExecKind { name: "signalfd", restore };

/// A signalfd after execve: its set, watching the new process's pending
/// signals (the exec keeps those, and the mask that holds them).
fn restore(k: &KindState, _objects: &ExecObjects) -> Result<Box<dyn FileOps>> {
    let set: u64 = k.decode().ok_or_else(|| errno!(EINVAL, "a signalfd's state does not decode"))?;
    Ok(Box::new(SignalFd(new_watch(set & !Signal::unblockable_bits()))))
}

/// A signalfd's watch of `set`, registered with the process's signals.
fn new_watch(set: u64) -> Arc<Watch> {
    let mut st = lock(&crate::task::current().sig);
    let watch = Arc::new(Watch { set: AtomicU64::new(set), readers: Mutex::new(Vec::new()), queued: AtomicU64::new(st.queued) });
    let weak: Weak<dyn PendingWatch> = Arc::downgrade(&watch) as Weak<dyn PendingWatch>;
    crate::signal::watch_pending(&mut st, weak);
    drop(st);
    watch
}

pub fn signalfd4(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if a[2] != SIGSET_SIZE {
        return_errno_with_message!(EINVAL, "sizemask must be 8");
    }
    let set = uaccess::read::<u64>(a[1])? & !Signal::unblockable_bits();
    let flags = args::flags(u64::from(args::uint(a[3])), SFD_CLOEXEC | SFD_NONBLOCK, "flags must be SFD_CLOEXEC or SFD_NONBLOCK")?;
    let fd = args::int(a[0]);
    if fd != -1 {
        // A new set for an existing signalfd (its flags stay).
        let file = lock(&cx.process().fds).get(fd)?;
        let Some(sfd) = file.ops_as::<SignalFd>() else {
            return_errno_with_message!(EINVAL, "fd is not a signalfd");
        };
        let l = lock_state(cx.thread());
        sfd.0.set.store(set, Relaxed);
        sfd.0.refresh(l.st.shared.set, l.st.queued);
        return Ok(fd as u64);
    }
    let watch = new_watch(set);
    let file = OpenFile::new("anon_inode:[signalfd]".into(), SignalFd(watch), g::O_RDWR | (flags & SFD_NONBLOCK));
    let fd = lock(&cx.process().fds).install(Arc::new(file), flags & SFD_CLOEXEC != 0)?;
    Ok(fd as u64)
}

pub fn signalfd(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    signalfd4(cx, [a[0], a[1], a[2], 0, 0, 0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::SIGINFO_SIZE;

    #[test]
    fn siginfo_of_kill_and_queue() {
        let kill = SigInfo::kill(Signal::SIGUSR1, g::SI_USER as i32, 42, 1000);
        let b = signalfd_siginfo(&kill);
        assert_eq!(&b[0..4], &10u32.to_ne_bytes());
        assert_eq!(&b[8..12], &0i32.to_ne_bytes());
        assert_eq!(&b[12..16], &42u32.to_ne_bytes());
        assert_eq!(&b[16..20], &1000u32.to_ne_bytes());
        let mut raw = [0u8; SIGINFO_SIZE];
        raw[8..12].copy_from_slice(&g::SI_QUEUE.to_ne_bytes());
        raw[16..20].copy_from_slice(&7i32.to_ne_bytes());
        raw[24..32].copy_from_slice(&0x1234_5678_9abc_def0u64.to_ne_bytes());
        let q = signalfd_siginfo(&SigInfo::from_bytes(Signal(40), &raw));
        assert_eq!(&q[12..16], &7u32.to_ne_bytes());
        assert_eq!(&q[44..48], &0x9abc_def0u32.to_ne_bytes());
        assert_eq!(&q[48..56], &0x1234_5678_9abc_def0u64.to_ne_bytes());
    }

    #[test]
    fn siginfo_of_a_fault() {
        let f = signalfd_siginfo(&SigInfo::fault(Signal::SIGSEGV, g::SEGV_MAPERR as i32, 0xdead_0000));
        assert_eq!(&f[72..80], &0xdead_0000u64.to_ne_bytes());
        assert_eq!(&f[12..16], &0u32.to_ne_bytes());
    }
}
