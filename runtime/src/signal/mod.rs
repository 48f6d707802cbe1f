//! Signals: pending sets and queues, dispositions, and delivery to guest
//! handlers with genuine Linux frames (see `frame.rs`).
//!
//! Model (<https://man7.org/linux/man-pages/man7/signal.7.html>): a signal
//! sent to the process is *pending* until the mask lets it through; at the
//! next return to guest code (the end of `trap::dispatch`) it is *delivered*:
//! discarded, acted on by its default action (terminate, core, stop), or run
//! as a guest handler on an `rt_sigframe` the guest's `rt_sigreturn` undoes.
//!
//! Threads (signal(7), "Signal mask and pending signals"): each thread has
//! its own mask and its own pending set (tgkill, faults); a signal sent to
//! the process waits in the shared pending set until some thread whose
//! mask lets it through takes it. When the thread that queued it blocks it,
//! another thread that does not is kicked (`Thread::kick`: its parker is
//! unparked and its host thread gets the host's kick signal, which
//! interrupts guest code and host calls alike).
//!
//! Signal context and locks:
//! - [`record_host`] runs in a host signal handler that may have interrupted
//!   the runtime anywhere (inside the blocking window of `trap::dispatch`):
//!   it touches only the atomics of [`HostSignals`] (the inbox, the slots,
//!   the class of each disposition, which signals the threads block) and
//!   may end the process; it never locks or allocates.
//! - Everything else runs in the trap handler proper and takes
//!   `Process::sig`, then the thread's `pending` (lock order: `sig` →
//!   `threads` → a thread's `pending` → `mm`). Host calls that may block
//!   are made with no lock held.
//!
//! The fast check after every syscall ([`needs_delivery`]) is a handful of
//! relaxed loads: host signals not yet sorted, or signals pending for the
//! process or the thread that the thread's mask does not hold back.
//!
//! Pending watchers: a signalfd must turn readable when a signal it reads
//! is queued, though that signal is blocked and wakes no thread. The open
//! signalfds register as [`PendingWatch`]es in `SignalState::watchers`
//! (weakly); every change of a pending set, the process's or a thread's,
//! ends with [`tell_watchers`] under `Process::sig`, so each watcher sets
//! its poll notifiers from the sets as they now are (lock order: `sig` →
//! the signalfd's readers → its notifiers).
//!
//! Divergences from Linux:
//! - Whether a process-directed signal is discarded on arrival (ignored
//!   and not blocked) is decided against every thread's mask (blocked by
//!   any keeps it pending), not the leader's alone.
//! - A signal arriving in the few instructions between opening the blocking
//!   window and the host call entering the kernel is delivered only when that
//!   call returns.
//! - Host real-time signals 32 and 33 are reserved by the host's libc and are
//!   not caught from outside (the guest can still send them to itself).
//! - si_pid of signals from outside is the sender's host pid.

pub mod frame;

use crate::abi::signal::{KernelSigaction, Signal, NSIG, SIGRTMIN, SIG_DFL, SIG_IGN};
use crate::host;
use crate::task::{current, lock, Thread, ThreadPending};
use crate::trap::{GuestRegs, HostDisposition, HostSigInfo, ThreadCtl};
use linux_raw_sys::general as g;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicU8, Ordering::*};

/// The guest thread's alternate signal stack (`stack_t` contents).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AltStack {
    pub sp: u64,
    pub size: u64,
    /// Only `SS_AUTODISARM` is kept here; `SS_ONSTACK`/`SS_DISABLE` are computed.
    pub flags: u32,
}

impl AltStack {
    pub fn is_enabled(&self) -> bool {
        self.size != 0
    }

    /// Whether `sp` is on this stack (`on_sig_stack`, include/linux/sched/signal.h).
    pub fn contains(&self, sp: u64) -> bool {
        if self.flags & g::SS_AUTODISARM != 0 {
            return false;
        }
        sp > self.sp && sp.wrapping_sub(self.sp) <= self.size
    }

    /// `sas_ss_flags(sp)`: what `sigaltstack` reports.
    pub fn reported_flags(&self, sp: u64) -> u32 {
        if !self.is_enabled() {
            g::SS_DISABLE
        } else if self.contains(sp) {
            g::SS_ONSTACK
        } else {
            0
        }
    }
}

/// A Linux `siginfo_t` (x86_64, 128 bytes): the three ints, then the union
/// at offset 16 (include/uapi/asm-generic/siginfo.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: i32,
    pub errno: i32,
    pub code: i32,
    pub fields: [u8; 112],
    /// `si_pid` holds a host pid still to be translated into the guest's
    /// namespace (done at delivery, where the daemon may be asked).
    pub pid_is_host: bool,
    /// The id of the POSIX timer (task/timer.rs) whose expiry this is. A
    /// guest may queue an SI_TIMER siginfo to itself (rt_sigqueueinfo), so
    /// the code alone does not say that a timer of ours sent it.
    pub timer_id: Option<i32>,
    /// Which setting of that timer (timer_settime) it expired under: a
    /// delivery re-arms the timer only if it is still the same one
    /// (Linux's `it_signal_seq`).
    pub timer_gen: u32,
}

pub const SIGINFO_SIZE: usize = 128;

/// The host `si_code` of signal-driven I/O's signal sent by one task's
/// runtime to another task (`SigInfo::sigpoll_for_host`): the runtimes'
/// own, a negative code Linux does not define, which the host lets one
/// process queue to another. A guest may not queue it to another task
/// itself (syscall/signal.rs `check_forged_code`).
pub const CROSS_SIGPOLL_CODE: i32 = -0x4d54;

impl SigInfo {
    fn new(sig: Signal, code: i32) -> SigInfo {
        SigInfo { signo: i32::from(sig.0), errno: 0, code, fields: [0; 112], pid_is_host: false, timer_id: None, timer_gen: 0 }
    }

    fn int_at(&self, off: usize) -> i32 {
        self.fields.get(off..off + 4).and_then(|b| b.try_into().ok()).map(i32::from_ne_bytes).unwrap_or(0)
    }

    /// `_rt { si_pid, si_uid, si_sigval }`: the uid and the value.
    pub fn rt_uid_value(&self) -> (u32, u64) {
        let value = self.fields.get(8..16).and_then(|b| b.try_into().ok()).map(u64::from_ne_bytes).unwrap_or(0);
        (self.int_at(4) as u32, value)
    }

    fn put(&mut self, off: usize, bytes: &[u8]) {
        if let Some(dst) = self.fields.get_mut(off..off + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }

    /// kill/tkill: `_kill { si_pid, si_uid }`.
    pub fn kill(sig: Signal, code: i32, pid: i32, uid: u32) -> SigInfo {
        let mut i = SigInfo::new(sig, code);
        i.put(0, &pid.to_ne_bytes());
        i.put(4, &uid.to_ne_bytes());
        i
    }

    /// A POSIX timer's expiry (`posix_timer_event`, kernel/time/posix-timers.c):
    /// `_timer { si_tid, si_overrun, si_sigval }`, si_code SI_TIMER.
    pub fn timer(sig: Signal, timer_id: i32, timer_gen: u32, value: u64) -> SigInfo {
        let mut i = SigInfo::new(sig, g::SI_TIMER);
        i.put(0, &timer_id.to_ne_bytes());
        i.put(8, &value.to_ne_bytes());
        i.timer_id = Some(timer_id);
        i.timer_gen = timer_gen;
        i
    }

    /// Signal-driven I/O with F_SETSIG (`send_sigio_to_task`, fs/fcntl.c):
    /// `_sigpoll { si_band, si_fd }`, si_code the event's `POLL_*` reason.
    pub fn sigpoll(sig: Signal, code: i32, band: i64, fd: i32) -> SigInfo {
        let mut i = SigInfo::new(sig, code);
        i.put(0, &band.to_ne_bytes());
        i.put(8, &fd.to_ne_bytes());
        i
    }

    /// A child's end (`do_notify_parent`, kernel/signal.c): `_sigchld
    /// { si_pid, si_uid, si_status, si_utime, si_stime }`, si_code a
    /// `CLD_*` value; `sig` is the child's exit signal.
    pub fn child(sig: Signal, code: i32, pid: i32, uid: u32, status: i32) -> SigInfo {
        let mut i = SigInfo::kill(sig, code, pid, uid);
        i.put(8, &status.to_ne_bytes());
        i
    }

    /// The `si_code` and `si_value` a host queued signal to another task
    /// carries for this signal-driven I/O siginfo (`sigpoll`): the host
    /// lets no process queue another a code of the kernel's own (POLL_*,
    /// SI_KERNEL), so the code is [`CROSS_SIGPOLL_CODE`] and the value
    /// packs the reason, the band and the fd; `from_host` unpacks them.
    pub fn sigpoll_for_host(&self) -> (i32, u64) {
        let band = self.fields.get(0..8).and_then(|b| b.try_into().ok()).map(i64::from_ne_bytes).unwrap_or(0);
        let fd = self.int_at(8);
        let value = u64::from(fd as u32) | (u64::from(band as u16) << 32) | (u64::from(self.code as i16 as u16) << 48);
        (CROSS_SIGPOLL_CODE, value)
    }

    /// A timer's `si_overrun`.
    pub fn overrun(&self) -> i32 {
        self.int_at(4)
    }

    pub fn set_overrun(&mut self, n: i32) {
        self.put(4, &n.to_ne_bytes());
    }

    /// A fault: `_sigfault { si_addr }`.
    pub fn fault(sig: Signal, code: i32, addr: u64) -> SigInfo {
        let mut i = SigInfo::new(sig, code);
        i.put(0, &addr.to_ne_bytes());
        i
    }

    /// A signal from outside, as the host reported it.
    pub fn from_host(sig: Signal, h: &HostSigInfo) -> SigInfo {
        if h.code == CROSS_SIGPOLL_CODE {
            // Another task's runtime sent signal-driven I/O's siginfo
            // (`sigpoll_for_host`).
            let code = i32::from((h.value >> 48) as u16 as i16);
            return SigInfo::sigpoll(sig, code, i64::from((h.value >> 32) as u16), h.value as u32 as i32);
        }
        let mut i = SigInfo::kill(sig, h.code, h.pid, h.uid);
        i.pid_is_host = h.pid > 0;
        if sig == Signal::SIGCHLD {
            // `_sigchld { si_pid, si_uid, si_status, si_utime, si_stime }`.
            i.put(8, &h.status.to_ne_bytes());
        } else if h.code == g::SI_QUEUE || h.code == g::SI_TIMER || h.code == g::SI_MESGQ {
            // `_rt { si_pid, si_uid, si_sigval }`.
            i.put(8, &h.value.to_ne_bytes());
        }
        i
    }

    /// A siginfo the guest supplied (rt_sigqueueinfo), with `si_signo` forced.
    pub fn from_bytes(sig: Signal, raw: &[u8]) -> SigInfo {
        let int = |o: usize| raw.get(o..o + 4).and_then(|b| b.try_into().ok()).map(i32::from_ne_bytes).unwrap_or(0);
        let mut i = SigInfo::new(sig, int(8));
        i.errno = int(4);
        if let Some(rest) = raw.get(16..SIGINFO_SIZE) {
            i.fields.copy_from_slice(rest);
        }
        i
    }

    /// The siginfo as the guest sees it: a host sender's pid becomes its
    /// Linux pid (0 for a sender outside the namespace, as from an outer pid
    /// namespace). Asked at delivery or dequeue, never from the host
    /// handler, which may interrupt the runtime mid-call to the daemon.
    pub fn for_guest(&self) -> SigInfo {
        let mut info = *self;
        if self.pid_is_host {
            let host_pid = i32::from_ne_bytes([self.fields[0], self.fields[1], self.fields[2], self.fields[3]]);
            let sender = crate::syscall::proc_model::vpid_of_host(host_pid).unwrap_or(0);
            info.put(0, &sender.to_ne_bytes());
            info.pid_is_host = false;
        }
        info
    }

    pub fn to_bytes(&self) -> [u8; SIGINFO_SIZE] {
        let mut b = [0u8; SIGINFO_SIZE];
        b[0..4].copy_from_slice(&self.signo.to_ne_bytes());
        b[4..8].copy_from_slice(&self.errno.to_ne_bytes());
        b[8..12].copy_from_slice(&self.code.to_ne_bytes());
        b[16..].copy_from_slice(&self.fields);
        b
    }

    pub fn signal(&self) -> Signal {
        Signal(u8::try_from(self.signo).unwrap_or(0))
    }
}

/// What a signal does under SIG_DFL (signal(7), "Standard signals").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    Core,
    Ignore,
    Stop,
}

pub fn default_action(sig: Signal) -> DefaultAction {
    use DefaultAction::*;
    match sig {
        Signal::SIGCHLD | Signal::SIGURG | Signal::SIGWINCH | Signal::SIGCONT => Ignore,
        Signal::SIGSTOP | Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU => Stop,
        Signal::SIGQUIT
        | Signal::SIGILL
        | Signal::SIGTRAP
        | Signal::SIGABRT
        | Signal::SIGBUS
        | Signal::SIGFPE
        | Signal::SIGSEGV
        | Signal::SIGXCPU
        | Signal::SIGXFSZ
        | Signal::SIGSYS => Core,
        _ => Terminate,
    }
}

/// Synchronous (fault) signals are delivered before any other
/// (`SYNCHRONOUS_MASK`, kernel/signal.c).
fn synchronous_mask() -> u64 {
    [Signal::SIGSEGV, Signal::SIGBUS, Signal::SIGILL, Signal::SIGTRAP, Signal::SIGFPE, Signal::SIGSYS]
        .iter()
        .fold(0, |m, s| m | s.mask_bit())
}

// ---------------------------------------------------------------------------
// Lock-free state, shared with the host signal handler.

/// The latest host siginfo of each signal, and how many arrived.
struct Slot {
    code: AtomicI32,
    pid: AtomicI32,
    uid: AtomicU32,
    status: AtomicI32,
    value: AtomicU64,
    count: AtomicU32,
}

/// Class of each guest disposition, for the host handler's decisions.
const CLASS_HANDLER: u8 = 0;
const CLASS_IGNORED: u8 = 1;
const CLASS_FATAL: u8 = 2;
const CLASS_OTHER: u8 = 3;

/// What the host signal handler of any thread records and reads without a
/// lock: a field of `Process` (`host_sig`).
pub struct HostSignals {
    /// Signals recorded by the host handler, not yet moved into the shared
    /// pending queue.
    inbox: AtomicU64,
    /// Mirror of `SignalState::shared.set`.
    shared_set: AtomicU64,
    /// Signals every live thread blocks, and signals some live thread
    /// blocks (kept with `Process::sig` held, at each mask change and each
    /// thread's start and end).
    blocked_all: AtomicU64,
    blocked_any: AtomicU64,
    /// Signals Linux ignores by default, left at their default, that the
    /// host catches since some thread blocked them (`host_disposition_for`):
    /// they stay caught when no thread blocks them any more, until the
    /// guest sets their disposition again.
    kept_caught: AtomicU64,
    slots: [Slot; NSIG as usize],
    class: [AtomicU8; NSIG as usize],
}

impl Default for HostSignals {
    fn default() -> HostSignals {
        HostSignals {
            inbox: AtomicU64::new(0),
            shared_set: AtomicU64::new(0),
            blocked_all: AtomicU64::new(0),
            blocked_any: AtomicU64::new(0),
            kept_caught: AtomicU64::new(0),
            slots: [const {
                Slot {
                    code: AtomicI32::new(0),
                    pid: AtomicI32::new(0),
                    uid: AtomicU32::new(0),
                    status: AtomicI32::new(0),
                    value: AtomicU64::new(0),
                    count: AtomicU32::new(0),
                }
            }; NSIG as usize],
            class: [const { AtomicU8::new(CLASS_OTHER) }; NSIG as usize],
        }
    }
}

/// Something that follows the pending sets: a signalfd (syscall/signalfd.rs).
pub trait PendingWatch: Send + Sync {
    /// A pending set changed. `shared` is the process's pending set; each
    /// thread's own is its `pending_set` mirror, current too; `queued` is
    /// `SignalState::queued` (a change is a signal newly queued). Called
    /// with `Process::sig` held: no guest memory, no daemon, no sleep.
    fn pending_changed(&self, shared: u64, queued: u64);
}

/// Registers a signalfd's watch (with `Process::sig` held); it is dropped
/// from the list once the signalfd is gone.
pub fn watch_pending(st: &mut crate::task::SignalState, w: std::sync::Weak<dyn PendingWatch>) {
    st.watchers.retain(|w| w.strong_count() > 0);
    st.watchers.push(w);
}

/// Tells every live watcher that a pending set changed (with `sig` held,
/// after the mirrors were updated).
fn tell_watchers(st: &crate::task::SignalState) {
    for w in &st.watchers {
        if let Some(w) = w.upgrade() {
            w.pending_changed(st.shared.set, st.queued);
        }
    }
}

/// Queued instances per real-time signal, per queue (shared or a thread's).
const RT_QUEUE_MAX: usize = 64;

fn index(sig: Signal) -> usize {
    usize::from(sig.0.saturating_sub(1))
}

/// Whether `handler` discards `sig`: SIG_IGN, or SIG_DFL of a signal whose
/// default action is to ignore it.
pub fn is_ignored(sig: Signal, handler: u64) -> bool {
    classify(sig, handler) == CLASS_IGNORED
}

fn classify(sig: Signal, handler: u64) -> u8 {
    match handler {
        SIG_IGN => CLASS_IGNORED,
        SIG_DFL => match default_action(sig) {
            DefaultAction::Ignore => CLASS_IGNORED,
            DefaultAction::Terminate | DefaultAction::Core => CLASS_FATAL,
            DefaultAction::Stop => CLASS_OTHER,
        },
        _ => CLASS_HANDLER,
    }
}

/// The high word of the `si_value` by which a kill(2) from another task
/// names the Linux process it is for ([`kill_value`]): a host process may
/// hold CLONE_VM children besides its first Linux process
/// (syscall/clone_vm.rs), and a host kill reaches only the host process.
const KILL_MARK: u64 = 0x6d74_6b6c;
/// The largest Linux pid a marked kill can name.
const KILL_PID_MAX: u32 = 0xff_ffff;

/// The `si_value` of a kill(2) of signal `sig` for the Linux process `pid`,
/// sent as a host sigqueue with SI_QUEUE (the receiver shows it as the
/// SI_USER kill it is); `None` for a pid too large to carry.
pub fn kill_value(sig: Signal, pid: u32) -> Option<u64> {
    (pid <= KILL_PID_MAX).then(|| (KILL_MARK << 32) | (u64::from(sig.0) << 24) | u64::from(pid))
}

/// A marked kill ([`kill_value`]): the signal meant (which a carrier may
/// stand for, syscall/proc_model.rs `signal_task`) and the pid it is for.
fn marked_kill(info: &HostSigInfo) -> Option<(Signal, u32)> {
    if info.code != g::SI_QUEUE || info.value >> 32 != KILL_MARK {
        return None;
    }
    let sig = Signal::from_raw((info.value >> 24) & 0xff)?;
    Some((sig, (info.value as u32) & KILL_PID_MAX))
}

/// Whether a host signal is one a terminal sends its foreground process
/// group (^C, ^\, ^Z, a resize, a hang-up, a background read or write;
/// SI_KERNEL on both hosts): on Linux each process of the group gets it,
/// so the CLONE_VM child processes of this host process, which are in
/// its group (syscall/clone_vm.rs), get it beside the host leader.
fn is_from_terminal(sig: Signal, info: &HostSigInfo) -> bool {
    info.code == g::SI_KERNEL as i32
        && [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGTSTP, Signal::SIGTTIN, Signal::SIGTTOU, Signal::SIGWINCH, Signal::SIGHUP, Signal::SIGCONT].contains(&sig)
}

/// Records a signal the host delivered to the process. Async-signal-safe:
/// atomics only, or the end of the process.
pub fn record_host(sig: Signal, info: &HostSigInfo) {
    let Some(p) = crate::task::try_host_leader() else { return };
    let hs = &p.host_sig;
    let i = index(sig);
    let (Some(slot), Some(class)) = (hs.slots.get(i), hs.class.get(i)) else { return };
    let class = class.load(Relaxed);
    let bit = sig.mask_bit();
    // A kill for another Linux process of this host process is sorted
    // when the inbox is drained, whatever the host leader makes of it.
    // (So is a carrier standing for another signal.)
    let is_sorted_later = marked_kill(info).is_some_and(|(meant, pid)| meant != sig || crate::task::is_vm_pid(pid))
        || (is_from_terminal(sig, info) && crate::task::has_vm_processes());
    if !is_sorted_later {
        if class == CLASS_IGNORED && hs.blocked_any.load(Relaxed) & bit == 0 {
            return;
        }
        if class == CLASS_FATAL && hs.blocked_all.load(Relaxed) & bit == 0 {
            // A fatal signal some thread lets through ends the process at
            // once, even if the runtime is waiting somewhere that cannot be
            // interrupted.
            host::process::die_by_signal(sig);
        }
    }
    slot.code.store(info.code, Relaxed);
    slot.pid.store(info.pid, Relaxed);
    slot.uid.store(info.uid, Relaxed);
    slot.status.store(info.status, Relaxed);
    slot.value.store(info.value, Relaxed);
    slot.count.fetch_add(1, Relaxed);
    hs.inbox.fetch_or(bit, Release);
}

/// The cheap check at every return to the guest: is there anything for
/// this thread to deliver, a host signal to sort, or a syscall interrupted
/// by a signal to restart?
#[inline]
pub fn needs_delivery(thread: &Thread, after_syscall: bool, rax: u64) -> bool {
    let p = current();
    let hs = &p.host_sig;
    hs.inbox.load(Acquire) != 0
        || has_ready(hs, thread)
        || (after_syscall && rax == eintr())
        || p.is_group_exiting.load(Acquire)
        || thread.trace_stop.load(Relaxed)
}

/// Whether a signal pending for the process or for `thread` is one its
/// mask lets through, read from the lock-free mirrors.
#[inline]
fn has_ready(hs: &HostSignals, thread: &Thread) -> bool {
    (hs.shared_set.load(Relaxed) | thread.pending_set.load(Relaxed)) & !thread.mask() != 0
}

/// Whether a signal is waiting that would interrupt `thread`'s sleep now
/// (a host signal just recorded is sorted first, which may hand it to
/// another thread).
pub fn interrupts(thread: &Thread) -> bool {
    // Another thread ends the process: this one leaves at its return.
    if current().is_group_exiting.load(Acquire) {
        return true;
    }
    // A tracer wants it stopped: the stop comes at the return, and the
    // call is restarted after it.
    if thread.trace_stop.load(Acquire) {
        return true;
    }
    let hs = &current().host_sig;
    if hs.inbox.load(Acquire) != 0 {
        return lock_state(thread).has_deliverable();
    }
    has_ready(hs, thread)
}

fn eintr() -> u64 {
    (-i64::from(crate::abi::Errno::EINTR.0)) as u64
}

/// The signal state as seen from one thread, with the host inbox drained
/// into the shared queue. Lock order: `Process::sig`, then the thread's
/// `pending` (then another thread's, only with `sig` held).
pub struct Locked<'a> {
    pub st: std::sync::MutexGuard<'a, crate::task::SignalState>,
    pub tp: std::sync::MutexGuard<'a, ThreadPending>,
    pub thread: &'a Thread,
    p: &'static crate::task::Process,
}

pub fn lock_state(thread: &Thread) -> Locked<'_> {
    let p = current();
    let st = lock(&p.sig);
    let tp = lock(&thread.pending);
    let mut l = Locked { st, tp, thread, p };
    l.drain_inbox();
    l
}

/// Whether `sig` is discarded on arrival at a thread that blocks it or not
/// (`sig_ignored`: a blocked signal never is).
fn discards(st: &crate::task::SignalState, sig: Signal, blocked: bool) -> bool {
    let handler = st.actions[index(sig)].handler;
    !blocked && classify(sig, handler) == CLASS_IGNORED && !sig.is_unblockable()
}

/// Adds `info` to a queue unless one of that standard signal is already
/// there (real-time signals queue up to [`RT_QUEUE_MAX`]); says whether
/// `info` itself was queued.
fn queue_push(q: &mut ThreadPending, info: SigInfo) -> bool {
    let sig = info.signal();
    let same = q.queue.iter().filter(|i| i.signo == info.signo).count();
    let room = if sig.0 >= SIGRTMIN { same < RT_QUEUE_MAX } else { same == 0 };
    if room {
        q.queue.push(info);
    }
    q.set |= sig.mask_bit();
    room
}

/// Takes the oldest instance of `sig` from a queue.
fn queue_take(q: &mut ThreadPending, sig: Signal) -> Option<SigInfo> {
    if q.set & sig.mask_bit() == 0 {
        return None;
    }
    let pos = q.queue.iter().position(|i| i.signo == i32::from(sig.0));
    let info = match pos {
        Some(p) => q.queue.remove(p),
        None => SigInfo::kill(sig, g::SI_KERNEL as i32, 0, 0),
    };
    if !q.queue.iter().any(|i| i.signo == i32::from(sig.0)) {
        q.set &= !sig.mask_bit();
    }
    Some(info)
}

fn queue_flush(q: &mut ThreadPending, sig: Signal) {
    q.queue.retain(|i| i.signo != i32::from(sig.0));
    q.set &= !sig.mask_bit();
}

impl Locked<'_> {
    fn drain_inbox(&mut self) {
        let hs = &self.p.host_sig;
        let bits = hs.inbox.swap(0, Acquire);
        if bits == 0 {
            return;
        }
        for n in 1..=NSIG {
            let sig = Signal(n);
            if bits & sig.mask_bit() == 0 {
                continue;
            }
            let Some(slot) = hs.slots.get(index(sig)) else { continue };
            let count = slot.count.swap(0, Relaxed).max(1);
            let mut info = HostSigInfo {
                code: slot.code.load(Relaxed),
                pid: slot.pid.load(Relaxed),
                uid: slot.uid.load(Relaxed),
                status: slot.status.load(Relaxed),
                value: slot.value.load(Relaxed),
            };
            let mut sig = sig;
            if let Some((meant, pid)) = marked_kill(&info) {
                // A kill(2) from another task: shown as one, and queued on
                // the CLONE_VM child process it names, if it does (one that
                // ended takes nothing); otherwise it is the host leader's
                // (a tkill may name one of its threads).
                info.code = g::SI_USER as i32;
                info.value = 0;
                sig = meant;
                if let Some(other) = crate::task::vm_process(pid) {
                    if !other.has_exited.load(Relaxed) {
                        // Lock order: the host leader's `sig`, then a
                        // CLONE_VM child's (task/mod.rs). One that moved
                        // for an execve since the sender looked its pid up
                        // has it sent on to the new program.
                        crate::syscall::clone_vm::queue_local(other, None, SigInfo::from_host(sig, &info));
                    }
                    continue;
                }
                if sig == Signal::SIGKILL {
                    terminate(sig);
                }
            } else if is_from_terminal(sig, &info) {
                // The terminal's signal for the whole group: each CLONE_VM
                // child process gets its own (lock order as above).
                for other in crate::task::vm_processes() {
                    if !other.has_exited.load(Relaxed) {
                        let mut st = lock(&other.sig);
                        send_to_process(other, &mut st, None, SigInfo::from_host(sig, &info));
                    }
                }
            }
            for _ in 0..count.min(RT_QUEUE_MAX as u32) {
                self.enqueue(SigInfo::from_host(sig, &info));
            }
        }
    }

    fn sync_mirrors(&self) {
        self.p.host_sig.shared_set.store(self.st.shared.set, Relaxed);
        self.thread.pending_set.store(self.tp.set, Relaxed);
        tell_watchers(&self.st);
    }

    /// The calling thread's mask.
    pub fn mask(&self) -> u64 {
        self.thread.mask()
    }

    /// Whether the signal would be discarded on sending to a thread whose
    /// mask is `mask` (`sig_ignored`: a blocked signal never is).
    fn discards(&self, sig: Signal, blocked: bool) -> bool {
        discards(&self.st, sig, blocked)
    }

    /// Makes a signal pending for the process (kill, a host signal), unless
    /// its disposition discards it now, and has a thread that does not
    /// block it look at it.
    pub fn enqueue(&mut self, info: SigInfo) {
        let sig = info.signal();
        if Signal::from_raw(u64::from(sig.0)).is_none() {
            return;
        }
        let blocked = self.p.host_sig.blocked_any.load(Relaxed) & sig.mask_bit() != 0;
        if self.discards(sig, blocked) {
            return;
        }
        if queue_push(&mut self.st.shared, info) {
            self.st.queued = self.st.queued.wrapping_add(1);
        }
        self.sync_mirrors();
        self.route(sig);
    }

    /// Makes a signal pending for the thread `target` alone (tgkill, a
    /// fault) and wakes it if it is another thread.
    pub fn enqueue_thread(&mut self, target: &Thread, info: SigInfo) {
        let sig = info.signal();
        if Signal::from_raw(u64::from(sig.0)).is_none() {
            return;
        }
        if self.discards(sig, target.mask() & sig.mask_bit() != 0) {
            return;
        }
        if core::ptr::eq(target, self.thread) {
            if queue_push(&mut self.tp, info) {
                self.st.queued = self.st.queued.wrapping_add(1);
            }
            self.sync_mirrors();
        } else {
            let mut tp = lock(&target.pending);
            if queue_push(&mut tp, info) {
                self.st.queued = self.st.queued.wrapping_add(1);
            }
            target.pending_set.store(tp.set, Relaxed);
            drop(tp);
            tell_watchers(&self.st);
            // `takes`, not the mask alone: a thread in rt_sigtimedwait for
            // the signal blocks it and still has to wake.
            if target.takes(sig.mask_bit()) {
                target.kick();
            }
        }
    }

    /// After a process-directed `sig` became pending: if this thread
    /// blocks it, another one that does not is made to look
    /// (`complete_signal`, kernel/signal.c). The signal stays in the shared
    /// queue for whichever thread takes it first.
    fn route(&self, sig: Signal) {
        let bit = sig.mask_bit();
        if self.thread.takes(bit) {
            return;
        }
        let threads = self.p.thread_list();
        if let Some(t) = threads.iter().find(|t| t.takes(bit) && !core::ptr::eq(&***t, self.thread)) {
            t.kick();
        }
    }

    /// Takes the next pending signal among `set` as `dequeue_signal`
    /// (kernel/signal.c) does for a signalfd: from the thread's own
    /// pending set first, then the process's; synchronous signals first,
    /// then the lowest number.
    pub fn dequeue_in(&mut self, set: u64) -> Option<SigInfo> {
        let next = |pending: u64| {
            let ready = pending & set;
            let pick = if ready & synchronous_mask() != 0 { ready & synchronous_mask() } else { ready };
            (pick != 0).then(|| Signal(pick.trailing_zeros() as u8 + 1))
        };
        let sig = next(self.tp.set).or_else(|| next(self.st.shared.set))?;
        self.dequeue(sig)
    }

    /// Takes the oldest instance of `sig`, the thread's own first. A
    /// timer's expiry re-arms the timer and gets its overrun count here, at
    /// delivery, as on Linux (`posixtimer_rearm`); this takes `timers`.
    pub fn dequeue(&mut self, sig: Signal) -> Option<SigInfo> {
        let info = match queue_take(&mut self.tp, sig) {
            Some(i) => Some(i),
            None => queue_take(&mut self.st.shared, sig),
        };
        self.sync_mirrors();
        match info {
            Some(mut i) if i.timer_id.is_some() => {
                self.p.timers.delivered(&mut i);
                Some(i)
            }
            other => other,
        }
    }

    /// Every pending signal of this thread: its own and the process's.
    pub fn pending(&self) -> u64 {
        self.tp.set | self.st.shared.set
    }

    /// The next pending signal among `set`: synchronous ones first, then
    /// the lowest number (`next_signal`, kernel/signal.c).
    pub fn next_in(&self, set: u64) -> Option<Signal> {
        let ready = self.pending() & set;
        let pick = if ready & synchronous_mask() != 0 { ready & synchronous_mask() } else { ready };
        (pick != 0).then(|| Signal(pick.trailing_zeros() as u8 + 1))
    }

    /// Sets this thread's mask (SIGKILL and SIGSTOP can never be blocked).
    pub fn set_mask(&mut self, mask: u64) {
        let mask = mask & !Signal::unblockable_bits();
        let old = self.thread.mask.swap(mask, Relaxed);
        let newly_blocked = mask & !old;
        self.update_blocked();
        // A default-ignored signal is caught on the host once blocked
        // (see host_disposition_for): follow the bits that changed.
        let mut changed = old ^ mask;
        while changed != 0 {
            let bit = changed.trailing_zeros();
            changed &= changed - 1;
            let sig = Signal(bit as u8 + 1);
            let handler = self.st.actions[index(sig)].handler;
            if handler == SIG_DFL && default_action(sig) == DefaultAction::Ignore {
                sync_host_disposition(self.p, sig, handler);
            }
        }
        // Shared signals this thread now blocks go to another thread
        // (`retarget_shared_pending`).
        let mut moved = newly_blocked & self.st.shared.set;
        while moved != 0 {
            let bit = moved.trailing_zeros();
            moved &= moved - 1;
            self.route(Signal(bit as u8 + 1));
        }
    }

    /// Recomputes which signals all and any of the live threads block.
    pub fn update_blocked(&self) {
        let (mut all, mut any) = (u64::MAX, 0u64);
        for t in lock(&self.p.threads).iter() {
            all &= t.mask();
            any |= t.mask();
        }
        if all == u64::MAX && any == 0 {
            all = self.thread.mask();
            any = all;
        }
        self.p.host_sig.blocked_all.store(all, Relaxed);
        self.p.host_sig.blocked_any.store(any, Relaxed);
    }

    /// Drops every pending instance of `sig`, the process's and every
    /// thread's.
    pub fn flush(&mut self, sig: Signal) {
        queue_flush(&mut self.st.shared, sig);
        queue_flush(&mut self.tp, sig);
        for t in self.p.thread_list() {
            if !core::ptr::eq(&*t, self.thread) {
                let mut tp = lock(&t.pending);
                queue_flush(&mut tp, sig);
                t.pending_set.store(tp.set, Relaxed);
            }
        }
        self.sync_mirrors();
    }

    /// Whether a pending signal would interrupt this thread's wait now
    /// (or another thread ends the process, which this one leaves at its
    /// return: syscall/clone_vm.rs `zap_other_threads`).
    pub fn has_deliverable(&self) -> bool {
        self.pending() & !self.mask() != 0 || self.is_group_exiting()
    }

    /// Whether another thread ends the process (see `has_deliverable`).
    pub fn is_group_exiting(&self) -> bool {
        self.p.is_group_exiting.load(Acquire)
    }

    /// In a fork child: no signal is pending (fork(2)).
    pub fn clear_pending(&mut self) {
        self.st.shared = ThreadPending::default();
        *self.tp = ThreadPending::default();
        self.sync_mirrors();
    }

    /// The process-directed pending signals (kept across execve).
    pub fn shared_queue(&self) -> &[SigInfo] {
        &self.st.shared.queue
    }
}

/// After `thread` ended: the signals the process has pending go to the
/// threads that remain.
pub fn thread_gone(thread: &Thread) {
    let l = lock_state(thread);
    l.update_blocked();
    let mut set = l.st.shared.set;
    while set != 0 {
        let bit = set.trailing_zeros();
        set &= set - 1;
        l.route(Signal(bit as u8 + 1));
    }
}

/// After a disposition change: the host handler's view and the host's own
/// disposition follow the guest's.
pub fn disposition_changed(sig: Signal, handler: u64) {
    let p = current();
    if let Some(c) = p.host_sig.class.get(index(sig)) {
        c.store(classify(sig, handler), Relaxed);
    }
    p.host_sig.kept_caught.fetch_and(!sig.mask_bit(), Relaxed);
    sync_host_disposition(p, sig, handler);
}

/// The host disposition that carries a guest disposition.
fn host_disposition_for(p: &crate::task::Process, sig: Signal, handler: u64) -> HostDisposition {
    match handler {
        // An ignored SIGCHLD is ignored on the host too: the host then reaps
        // the children at once and waits answer ECHILD, as Linux does (the
        // task tells the daemon, which drops their zombies; see task_info).
        SIG_IGN => HostDisposition::Ignore,
        // Left at its default, a signal Linux ignores (SIGCHLD, SIGWINCH,
        // SIGURG) wakes nothing on the host; while a thread blocks it, it
        // is caught, so that it stays pending (sigpending, sigwaitinfo).
        // Once caught it stays so: the host handler drops it while no
        // thread blocks it (`CLASS_IGNORED`), and a thread that blocks and
        // unblocks it again (glibc's pthread_create, bash around each
        // fork) then changes no host disposition.
        SIG_DFL if default_action(sig) == DefaultAction::Ignore => {
            let bit = sig.mask_bit();
            if (p.host_sig.blocked_any.load(Relaxed) | p.host_sig.kept_caught.load(Relaxed)) & bit != 0 {
                p.host_sig.kept_caught.fetch_or(bit, Relaxed);
                HostDisposition::Catch
            } else {
                HostDisposition::Default
            }
        }
        _ => HostDisposition::Catch,
    }
}

fn sync_host_disposition(p: &crate::task::Process, sig: Signal, handler: u64) {
    // The host's dispositions are the host leader's: a CLONE_VM child
    // takes no host signal (syscall/clone_vm.rs).
    if host::trap::is_async_signal(sig) && crate::task::is_host_leader(p) {
        host::trap::set_disposition(sig, host_disposition_for(p, sig, handler));
    }
}

/// Sets up the process's signal handling before guest code first runs, on
/// its first thread: the dispositions and mask the runtime inherited from
/// whoever executed it (ignored signals and the mask survive execve on
/// Linux), then the host handlers for every signal the guest may receive
/// from outside. `inherits_mask`: a new task takes the host mask it was
/// started with; a task re-executed for its execve has its mask from the
/// handover already (its host mask also blocks the runtime's kick,
/// `prepare_exec`).
pub fn init_process(thread: &Thread, inherits_mask: bool) {
    let handlers = {
        let mut l = lock_state(thread);
        for n in 1..=NSIG {
            let sig = Signal(n);
            if host::trap::is_async_signal(sig)
                && host::trap::host_ignores(sig)
                && l.st.actions[index(sig)].handler == SIG_DFL
            {
                l.st.actions[index(sig)].handler = SIG_IGN;
            }
        }
        let inherited = if inherits_mask { host::trap::host_blocked_mask() } else { 0 };
        let mask = l.mask() | inherited;
        l.set_mask(mask);
        l.st.actions.iter().map(|a| a.handler).collect::<Vec<u64>>()
    };
    enter_guest_with(&handlers);
}

/// The host side of the guest's dispositions, `handlers` (one per signal,
/// from 1), set up for guest code to run: each host disposition as it
/// carries its guest one, the asynchronous signals open.
fn enter_guest_with(handlers: &[u64]) {
    // As for rt_sigaction: each signal's class is recorded before its host
    // disposition changes, so the entry never sees one without the other.
    for (i, &handler) in handlers.iter().enumerate() {
        disposition_changed(Signal(i as u8 + 1), handler);
    }
    init_thread();
}

/// The host mask of a thread about to run guest code: the guest's mask is
/// virtual; the host thread keeps the asynchronous signals unblocked.
pub fn init_thread() {
    // No call is being handled on this host thread now.
    host::trap::set_unmasked_call(false);
    host::trap::set_async_signals_blocked(false);
}

/// Hook for execve (before the host exec of the runtime): hands the guest's
/// ignored signals and the calling thread's mask to the next image through
/// the host's own exec semantics, which [`init_process`] reads back.
pub fn prepare_exec(thread: &Thread) {
    let l = lock_state(thread);
    for n in 1..=NSIG {
        let sig = Signal(n);
        if host::trap::is_async_signal(sig) {
            host::trap::hand_down_disposition(sig, l.st.actions[index(sig)].handler == SIG_IGN);
        }
    }
    host::trap::set_host_blocked_mask(l.mask());
}

/// After a host exec that failed (the task lives on): the host handles
/// its signals again as the guest's dispositions say, and guest code runs
/// with the asynchronous signals open.
pub fn after_failed_exec(thread: &Thread) {
    let handlers = lock_state(thread).st.actions.iter().map(|a| a.handler).collect::<Vec<u64>>();
    enter_guest_with(&handlers);
}

/// In a fork child, on its one thread (fresh, with nothing pending): the
/// blocked sets follow its mask.
pub fn after_fork_child(thread: &Thread) {
    lock_state(thread).update_blocked();
}

/// Sends `sig` to this process (kill, raise, rt_sigqueueinfo) from
/// `thread`; it is delivered to a thread that does not block it.
pub fn send_process(thread: &Thread, info: SigInfo) {
    if info.signal() == Signal::SIGKILL {
        terminate(Signal::SIGKILL);
    }
    lock_state(thread).enqueue(info);
}

/// Sends `sig` to the thread `target` of this process (tgkill, tkill,
/// rt_tgsigqueueinfo), from `thread`.
pub fn send_thread(thread: &Thread, target: &Thread, info: SigInfo) {
    if info.signal() == Signal::SIGKILL {
        terminate(Signal::SIGKILL);
    }
    lock_state(thread).enqueue_thread(target, info);
}

/// What became of a signal the runtime sent ([`send_from_runtime`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Now pending (or an earlier expiry of the same timer still is, and
    /// now stands for this setting).
    Queued,
    /// Discarded: ignored, a standard signal already pending, or the
    /// target thread has exited.
    Dropped,
    /// A real-time signal whose queue is full (Linux: -EAGAIN from
    /// `__send_signal`), which signal-driven I/O answers with SIGIO.
    Overflow,
}

/// Sends `info` from a runtime thread that is no guest thread (the timer
/// thread, task/timer.rs), which holds `Process::sig` (`st`): to the
/// process, or to the thread `target` alone, and kicks a thread that
/// takes it (`send_sigqueue`, kernel/signal.c). Unlike [`Locked::enqueue`]
/// it has no calling thread to route from. Takes `threads`, a thread's
/// `pending` and `host`.
pub fn send_from_runtime(st: &mut crate::task::SignalState, target: Option<&Thread>, info: SigInfo) -> Sent {
    send_to_process(current(), st, target, info)
}

/// [`send_from_runtime`] to the process `p` (whose `sig` is `st`), which
/// need not be the caller's: a CLONE_VM child's exit signal for its
/// parent, a kill(2) of a CLONE_VM child of this host process.
pub fn send_to_process(p: &crate::task::Process, st: &mut crate::task::SignalState, target: Option<&Thread>, info: SigInfo) -> Sent {
    let sig = info.signal();
    if Signal::from_raw(u64::from(sig.0)).is_none() {
        return Sent::Dropped;
    }
    let bit = sig.mask_bit();
    // A timer's signal is queued at most once (Linux preallocates one
    // sigqueue per timer); an instance from an earlier setting that is
    // still pending now re-arms this one.
    let requeue = |q: &mut ThreadPending| {
        let id = info.timer_id?;
        let queued = q.queue.iter_mut().find(|i| i.timer_id == Some(id))?;
        queued.timer_gen = info.timer_gen;
        Some(Sent::Queued)
    };
    match target {
        Some(t) => {
            if t.exited.load(Relaxed) || discards(st, sig, t.mask() & bit != 0) {
                return Sent::Dropped;
            }
            let mut tp = lock(&t.pending);
            if let Some(s) = requeue(&mut tp) {
                return s;
            }
            let queued = queue_push(&mut tp, info);
            if queued {
                st.queued = st.queued.wrapping_add(1);
            }
            t.pending_set.store(tp.set, Relaxed);
            drop(tp);
            tell_watchers(st);
            // `takes`, not the mask alone: a thread in rt_sigtimedwait for
            // the signal blocks it and still has to wake.
            if t.takes(bit) {
                t.kick();
            }
            sent_as(queued, sig)
        }
        None => {
            let blocked = p.host_sig.blocked_any.load(Relaxed) & bit != 0;
            if discards(st, sig, blocked) {
                return Sent::Dropped;
            }
            if let Some(s) = requeue(&mut st.shared) {
                return s;
            }
            let queued = queue_push(&mut st.shared, info);
            if queued {
                st.queued = st.queued.wrapping_add(1);
            }
            p.host_sig.shared_set.store(st.shared.set, Relaxed);
            tell_watchers(st);
            if let Some(t) = p.thread_list().iter().find(|t| t.takes(bit)) {
                t.kick();
            }
            sent_as(queued, sig)
        }
    }
}

/// What a push onto a queue made of `sig`: a standard signal already
/// pending is merged into it, a real-time one finds its queue full.
fn sent_as(queued: bool, sig: Signal) -> Sent {
    match (queued, sig.0 >= SIGRTMIN) {
        (true, _) => Sent::Queued,
        (false, true) => Sent::Overflow,
        (false, false) => Sent::Dropped,
    }
}

/// How an interrupted syscall continues (the kernel's -ERESTART* codes,
/// include/linux/errno.h): the `restart = ...` marker of its row in the
/// syscall table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// ERESTARTSYS: restarted unless a handler without SA_RESTART runs
    /// (signal(7)'s first list: read, wait4, accept, flock ...).
    Sys,
    /// ERESTARTNOHAND / ERESTART_RESTARTBLOCK: EINTR when a handler runs,
    /// whatever SA_RESTART says; restarted when none runs (signal(7)'s
    /// "never restarted after being interrupted by a signal handler" list:
    /// pause, poll, nanosleep, epoll_wait, semop ...).
    NoHand,
    /// Not an interruptible call at all: what it leaves in rax is never an
    /// EINTR to act on (rt_sigreturn restores the interrupted rax, which may
    /// hold an old -EINTR; the kernel sets orig_ax = -1 there).
    Exempt,
}

/// The syscall a return to guest code comes back from, for the EINTR and
/// restart rules: its number and its row's `restart` marker.
#[derive(Clone, Copy)]
pub struct SyscallReturn {
    pub nr: u64,
    pub restart: Restart,
}

/// Re-executes the interrupted `syscall` instruction (2 bytes) with its number.
fn restart_syscall(regs: &mut GuestRegs, nr: u64) {
    regs.rip = regs.rip.wrapping_sub(2);
    regs.rax = nr;
}

/// Delivers what is deliverable at this return to guest code: default
/// actions, and a frame per handler (several signals nest, the last one
/// set up runs first, as on Linux). `syscall` is the syscall that just
/// returned, if any, for the EINTR/restart rules.
pub fn deliver(ctl: &mut ThreadCtl, regs: &mut GuestRegs, syscall: Option<SyscallReturn>) {
    if current().is_group_exiting.load(Acquire) {
        crate::syscall::clone_vm::leave_group_exit(ctl);
    }
    if ctl.thread().trace_stop.load(Acquire) {
        crate::syscall::ptrace::stop(ctl, regs);
    }
    // A call marked `restart = Exempt` (rt_sigreturn, which restores an rax
    // that may hold an old -EINTR) is never restarted.
    let mut interrupted = syscall.filter(|s| s.restart != Restart::Exempt && regs.rax == eintr());
    let mut ran_handler = false;
    let thread = ctl.thread_arc();
    let eintr_is_final = thread.eintr_is_final.swap(false, Relaxed);
    loop {
        let next = {
            let mut l = lock_state(&thread);
            let ready = !l.mask();
            match l.next_in(ready) {
                Some(sig) => {
                    let act = l.st.actions[index(sig)];
                    l.dequeue(sig).map(|info| (info, act))
                }
                None => None,
            }
        };
        let Some((info, act)) = next else { break };
        let sig = info.signal();
        match act.handler {
            SIG_IGN => {}
            SIG_DFL => match default_action(sig) {
                DefaultAction::Ignore => {}
                DefaultAction::Stop => host::trap::stop_self(sig),
                DefaultAction::Terminate | DefaultAction::Core => {
                    crate::syscall::thread::exit_robust_lists();
                    terminate(sig)
                }
            },
            _ => {
                if let Some(s) = interrupted.take() {
                    let restart = !eintr_is_final && s.restart == Restart::Sys && act.flags & u64::from(g::SA_RESTART) != 0;
                    if restart {
                        restart_syscall(regs, s.nr);
                    }
                }
                run_handler(ctl, regs, &info, &act);
                ran_handler = true;
            }
        }
    }
    if let Some(s) = interrupted {
        // No handler ran: the signal that interrupted the host call was
        // ignored, blocked or stopped us, so Linux would never have
        // interrupted the call at all.
        restart_syscall(regs, s.nr);
    }
    if !ran_handler {
        if let Some(m) = ctl.take_saved_mask() {
            lock_state(&thread).set_mask(m);
        }
    }
}

/// Builds the frame for one handler and switches the registers to it.
fn run_handler(ctl: &mut ThreadCtl, regs: &mut GuestRegs, info: &SigInfo, act: &KernelSigaction) {
    let sig = info.signal();
    let info = &info.for_guest();
    let thread = ctl.thread_arc();
    let old_mask = match ctl.take_saved_mask() {
        Some(m) => m,
        None => thread.mask(),
    };
    if frame::setup(ctl, regs, info, act, old_mask).is_err() {
        // A frame that cannot be written (or no SA_RESTORER): force_sigsegv.
        terminate(Signal::SIGSEGV);
    }
    let mut l = lock_state(&thread);
    let mut mask = l.mask() | act.mask;
    if act.flags & u64::from(g::SA_NODEFER) == 0 {
        mask |= sig.mask_bit();
    }
    l.set_mask(mask);
    if act.flags & u64::from(g::SA_RESETHAND) != 0 {
        l.st.actions[index(sig)] = KernelSigaction::default();
        drop(l);
        disposition_changed(sig, SIG_DFL);
    }
}

/// A fault in guest code at `addr` (`force_sig_fault`): a blocked or
/// ignored fault signal gets its default action, which ends the process.
pub fn deliver_fault(thread: &Thread, sig: Signal, host_code: i32, addr: u64) {
    let code = if sig == Signal::SIGSEGV {
        let mapped = lock(&current().mm).is_mapped(addr, addr.saturating_add(1));
        if mapped { g::SEGV_ACCERR as i32 } else { g::SEGV_MAPERR as i32 }
    } else {
        host_code
    };
    let mut l = lock_state(thread);
    let act = l.st.actions[index(sig)];
    let blocked = l.mask() & sig.mask_bit() != 0;
    if blocked || act.handler == SIG_IGN || act.handler == SIG_DFL {
        drop(l);
        crate::syscall::thread::exit_robust_lists();
        terminate(sig);
    }
    // The fault must be taken even if an instance is already queued; it
    // goes to the thread that faulted.
    queue_flush(&mut l.tp, sig);
    l.enqueue_thread(thread, SigInfo::fault(sig, code, addr));
}

/// `sigaltstack`'s setting half (`do_sigaltstack`, kernel/signal.c); `sp`
/// is the guest's current stack pointer.
pub fn set_altstack(ctl: &mut ThreadCtl, sp: u64, new_sp: u64, flags: u32, size: u64) -> crate::error::Result<()> {
    if ctl.altstack.contains(sp) {
        return Err(crate::errno!(EPERM, "cannot change the alternate stack while running on it"));
    }
    let mode = flags & !g::SS_AUTODISARM;
    if mode != 0 && mode != g::SS_DISABLE && mode != g::SS_ONSTACK {
        return Err(crate::errno!(EINVAL, "ss_flags must be 0, SS_ONSTACK or SS_DISABLE"));
    }
    if mode == g::SS_DISABLE {
        ctl.altstack = AltStack::default();
        return Ok(());
    }
    if size < u64::from(g::MINSIGSTKSZ) {
        return Err(crate::errno!(ENOMEM, "the alternate stack is smaller than MINSIGSTKSZ"));
    }
    ctl.altstack = AltStack { sp: new_sp, size, flags: flags & g::SS_AUTODISARM };
    Ok(())
}

/// `rt_sigreturn`: undoes a handler's frame; the restored rax is the result.
pub fn sigreturn(ctl: &mut ThreadCtl, regs: &mut GuestRegs) -> u64 {
    let restored = match frame::restore(ctl, regs) {
        Ok(r) => r,
        // A frame the guest broke: Linux forces SIGSEGV.
        Err(_) => terminate(Signal::SIGSEGV),
    };
    lock_state(&ctl.thread_arc()).set_mask(restored.mask);
    let (ss_sp, ss_flags, ss_size) = restored.altstack;
    // restore_altstack(): errors are ignored.
    let _ = set_altstack(ctl, regs.rsp, ss_sp, ss_flags, ss_size);
    regs.rax
}

/// Ends the process by `sig`'s default action: the host process, or a
/// CLONE_VM child alone (its parent sees it killed by `sig`; no core is
/// written for it).
pub fn terminate(sig: Signal) -> ! {
    if current().vm.is_some() {
        crate::syscall::clone_vm::end_calling_process(i32::from(sig.0));
    }
    host::process::die_by_signal(sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siginfo_layout() {
        let i = SigInfo::kill(Signal::SIGUSR1, g::SI_TKILL, 42, 1000);
        let b = i.to_bytes();
        assert_eq!(&b[0..4], &10i32.to_ne_bytes());
        assert_eq!(&b[8..12], &(-6i32).to_ne_bytes());
        assert_eq!(&b[16..20], &42i32.to_ne_bytes());
        assert_eq!(&b[20..24], &1000u32.to_ne_bytes());
        assert_eq!(SigInfo::from_bytes(Signal::SIGUSR1, &b), i);
        let f = SigInfo::fault(Signal::SIGSEGV, 1, 0x10).to_bytes();
        assert_eq!(&f[16..24], &0x10u64.to_ne_bytes());
    }

    #[test]
    fn sigpoll_crosses_tasks_whole() {
        let band = i64::from(g::POLLOUT | g::POLLWRNORM | g::POLLWRBAND);
        for (code, fd) in [(g::POLL_OUT as i32, 7), (g::SI_KERNEL as i32, 0), (g::POLL_HUP as i32, i32::MAX)] {
            let sent = SigInfo::sigpoll(Signal::SIGIO, code, band, fd);
            let (host_code, value) = sent.sigpoll_for_host();
            let h = HostSigInfo { code: host_code, pid: 1234, uid: 0, status: 0, value };
            assert_eq!(SigInfo::from_host(Signal::SIGIO, &h), sent);
        }
    }

    #[test]
    fn default_actions() {
        assert_eq!(default_action(Signal::SIGCHLD), DefaultAction::Ignore);
        assert_eq!(default_action(Signal::SIGTSTP), DefaultAction::Stop);
        assert_eq!(default_action(Signal::SIGSEGV), DefaultAction::Core);
        assert_eq!(default_action(Signal(40)), DefaultAction::Terminate);
    }

    #[test]
    fn altstack_flags() {
        let s = AltStack { sp: 0x1000, size: 0x1000, flags: 0 };
        assert_eq!(s.reported_flags(0x1800), g::SS_ONSTACK);
        assert_eq!(s.reported_flags(0x3000), 0);
        assert_eq!(AltStack::default().reported_flags(0), g::SS_DISABLE);
    }
}
