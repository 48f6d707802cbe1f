//! What one Linux thread owns: its id, signal mask and thread-directed
//! pending signals, the futex word the exit wakes, the robust-list head,
//! its name, CPU affinity, and what wakes it when it sleeps.
//!
//! A `Thread` is shared (an `Arc`): the thread itself reaches it through
//! its `ThreadCtl` (trap/mod.rs, `ThreadCtl::thread`), other threads
//! through [`Process::threads`](super::Process) to send it a signal, wake
//! it or list it in /proc. What only the thread itself ever touches while
//! it runs (its alternate signal stack, the mask rt_sigsuspend saved, the
//! host ucontext of the trap) stays in the `ThreadCtl`, which is not
//! shared.

use crate::signal::SigInfo;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex};

/// Signals sent to one thread (tgkill, a fault, a timer with
/// SIGEV_THREAD_ID), not yet delivered. Guarded by [`Thread::pending`],
/// always taken after `Process::sig`.
#[derive(Default)]
pub struct ThreadPending {
    /// One bit per pending signal.
    pub set: u64,
    /// Their siginfo, oldest first (at most one per standard signal).
    pub queue: Vec<SigInfo>,
}

/// What makes a sleeping thread run again: a counter the sleeper reads
/// before it looks at its condition, and sleeps on only while unchanged.
/// Every waker (a futex wake, a signal for the thread) bumps it and wakes
/// the host thread, so a wake between the look and the sleep is never
/// lost (host::thread::park).
#[derive(Default)]
pub struct Parker {
    seq: AtomicU32,
}

impl Parker {
    /// The value to pass to [`Parker::park`], read before the condition.
    pub fn seq(&self) -> u32 {
        self.seq.load(Acquire)
    }

    /// Sleeps while nothing bumped the counter since `seq` was read, at
    /// most `timeout_ns`; a host signal also ends the sleep.
    pub fn park(&self, seq: u32, timeout_ns: Option<u64>) {
        crate::host::thread::park(&self.seq, seq, timeout_ns);
    }

    pub fn unpark(&self) {
        self.seq.fetch_add(1, Release);
        crate::host::thread::unpark_all(&self.seq);
    }
}

pub struct Thread {
    /// See [`Thread::wake_pipe`].
    wake: std::sync::OnceLock<crate::vfs::poll::Notifier>,
    /// The Linux thread id (from the daemon's pid namespace); the leader's
    /// equals the pid. Changes only in a fork child and after execve.
    pub tid: AtomicU32,
    /// The guest's signal mask for this thread. Written only with
    /// `Process::sig` held (by the thread itself, or by delivery on it);
    /// read without a lock by the fast check at each return to the guest
    /// and by the host signal handler.
    pub mask: AtomicU64,
    /// The signals the thread waits for in rt_sigtimedwait (blocked, yet
    /// a process signal among them is routed to it: Linux's `real_blocked`).
    pub sigwait_set: AtomicU64,
    /// Guards the signals sent to this thread alone.
    pub pending: Mutex<ThreadPending>,
    /// Mirror of `pending.set`, for the lock-free check.
    pub pending_set: AtomicU64,
    /// `set_tid_address` / CLONE_CHILD_CLEARTID: zeroed and woken at exit.
    pub clear_child_tid: AtomicU64,
    /// `set_robust_list`: the head of the robust futex list (0: none).
    pub robust_list: AtomicU64,
    /// Guards `comm`, at most 15 bytes (prctl PR_SET_NAME, /proc/PID/task/TID/comm).
    pub comm: Mutex<Vec<u8>>,
    /// The CPUs it may run on (sched_setaffinity), one bit each; Linux
    /// keeps this per thread and a new thread inherits its creator's.
    pub affinity: AtomicU64,
    /// Wakes the thread from a futex wait or a signal wait.
    pub parker: Parker,
    /// The host thread running it, once started: where a signal for it is
    /// sent to interrupt it (host::thread::kick).
    pub host: Mutex<Option<crate::host::thread::HostThread>>,
    /// The control region (`ThreadCtl` and alternate stack) of the host
    /// thread running it, once started (trap::calling_tid).
    pub alt_region: AtomicU64,
    /// Set once the thread has exited; it is then out of the thread list.
    pub exited: AtomicBool,
    /// The call that just failed with EINTR must not be restarted even
    /// under SA_RESTART (a socket call with SO_RCVTIMEO/SO_SNDTIMEO set,
    /// signal(7)); taken by the signal delivery that follows.
    pub eintr_is_final: AtomicBool,
    /// A host kick is on its way and the thread has not taken it yet
    /// (cleared by the trap entry when it does, before it looks at its
    /// signals): further kicks need not queue another host signal. The
    /// kick is a real-time signal, which the host queues once per send, and
    /// a thread that others signal while it runs the runtime with its host
    /// signals blocked would otherwise pile them up against the user's
    /// RLIMIT_SIGPENDING.
    pub kick_sent: AtomicBool,
    /// Set while a tracer wants the thread stopped (PTRACE_ATTACH, until
    /// PTRACE_CONT or PTRACE_DETACH); read by the fast check at each
    /// return to the guest, which then stops there (syscall/ptrace.rs).
    pub trace_stop: AtomicBool,
    /// Guards who traces the thread and what it stopped with; a leaf.
    pub trace: Mutex<Option<Trace>>,
}

/// A thread's tracer, and the thread's state at its stop.
pub struct Trace {
    /// The tracing process and the thread that attached (woken when the
    /// tracee stops, for its waitpid).
    pub tracer: &'static super::Process,
    pub tracer_thread: Arc<Thread>,
    /// Set while stopped: the guest registers, thread pointer and fxsave
    /// image at the stop.
    pub stopped: Option<TraceStop>,
    /// The stop was reported to the tracer's waitpid.
    pub reported: bool,
}

#[derive(Clone)]
pub struct TraceStop {
    pub regs: crate::trap::GuestRegs,
    pub fs_base: u64,
    pub fxsave: Option<Vec<u8>>,
}

impl Thread {
    /// The thread's wake pipe (made on first use): readable when something
    /// it sleeps in an epoll_wait for has changed (the interest list).
    pub fn wake_pipe(&self) -> Option<&crate::vfs::poll::Notifier> {
        if self.wake.get().is_none() {
            let n = crate::vfs::poll::Notifier::new().ok()?;
            let _ = self.wake.set(n);
        }
        self.wake.get()
    }

    pub fn new(tid: u32, mask: u64, comm: Vec<u8>, affinity: u64) -> Thread {
        Thread {
            tid: AtomicU32::new(tid),
            mask: AtomicU64::new(mask),
            sigwait_set: AtomicU64::new(0),
            pending: Mutex::new(ThreadPending::default()),
            pending_set: AtomicU64::new(0),
            clear_child_tid: AtomicU64::new(0),
            robust_list: AtomicU64::new(0),
            comm: Mutex::new(comm),
            affinity: AtomicU64::new(affinity),
            parker: Parker::default(),
            host: Mutex::new(None),
            alt_region: AtomicU64::new(0),
            exited: AtomicBool::new(false),
            wake: std::sync::OnceLock::new(),
            eintr_is_final: AtomicBool::new(false),
            kick_sent: AtomicBool::new(false),
            trace_stop: AtomicBool::new(false),
            trace: Mutex::new(None),
        }
    }

    pub fn tid(&self) -> u32 {
        self.tid.load(Relaxed)
    }

    pub fn mask(&self) -> u64 {
        self.mask.load(Relaxed)
    }

    /// Whether a signal for the process may be handed to this thread: it
    /// does not block it, or it waits for it in rt_sigtimedwait.
    pub fn takes(&self, sig_bit: u64) -> bool {
        (self.mask() & !self.sigwait_set.load(Relaxed)) & sig_bit == 0 && !self.exited.load(Relaxed)
    }

    /// Makes the thread look at its signals now: ends a park and
    /// interrupts guest code or a host call it sleeps in.
    pub fn kick(&self) {
        self.parker.unpark();
        // The caller made its signal visible first; this swap orders that
        // before the flag, and the entry clears the flag before it looks.
        if self.kick_sent.swap(true, SeqCst) {
            return;
        }
        let sent = super::lock(&self.host).as_ref().is_some_and(crate::host::thread::kick);
        if !sent {
            self.kick_sent.store(false, SeqCst);
        }
    }

    /// The trap entry took a kick: the next one must be sent again. Called
    /// before the entry looks at the thread's signals.
    pub fn kick_taken(&self) {
        self.kick_sent.store(false, SeqCst);
        core::sync::atomic::fence(SeqCst);
    }
}

/// A guest thread for a host thread to run: the thread, its first
/// registers and its thread pointer.
pub struct ThreadStart {
    /// The process it is a thread of (a CLONE_VM child process's threads
    /// are host threads of its parent's host process).
    pub process: &'static super::Process,
    pub thread: Arc<Thread>,
    pub regs: crate::trap::GuestRegs,
    pub tls: u64,
}

/// A host thread whose guest thread ended, waiting for another
/// (`Process::idle_hosts`, syscall/thread.rs).
#[derive(Default)]
pub struct IdleHost {
    /// Guards the guest thread handed to it; a leaf.
    pub job: Mutex<Option<ThreadStart>>,
    pub parker: Parker,
}
