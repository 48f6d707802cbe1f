//! POSIX per-process timers (timer_create(2)): the table of a process's
//! timers and the runtime thread that fires them.
//!
//! The timers of a process are in [`Timers`] (`Process::timers`). The
//! handlers (syscall/timer.rs) arm and read them; a timer that notifies by
//! signal is fired by the process's timer thread: one plain host thread
//! (no guest thread, no `ThreadCtl`, every host signal blocked), started
//! with the first timer, that sleeps on a [`Parker`] until the earliest
//! expiry or until a handler changes the table, queues the expired
//! timers' signals (`signal::send_from_runtime`) and sleeps again. Nothing
//! polls: with no timer armed it sleeps without a timeout.
//!
//! As on Linux, a timer's signal is queued at most once: a periodic timer
//! whose signal is pending is not fired again, and the delivery of the
//! signal re-arms it and counts the periods that passed meanwhile as its
//! overrun (`posixtimer_rearm`, kernel/time/posix-timers.c), which goes
//! into si_overrun and timer_getoverrun.
//!
//! The same thread drives the timers of files (timerfd, syscall/timerfd.rs),
//! which notify by making their file readable rather than by a signal:
//! the table holds them weakly as [`FileTimer`]s, and at each wake the
//! thread asks every live one to account for what expired (the file sets
//! its poll notifier) and says when it next expires.
//!
//! Lock order: the timer thread takes `Process::sig`, then `timers` (and,
//! to send, `threads`, a thread's `pending` and `host`); a delivery takes
//! `timers` under `sig` too; the handlers take `timers` alone, never while
//! touching guest memory. A file timer's own lock is taken with none of
//! these held (the thread copies the list out first).
//!
//! Divergences from Linux:
//! - CPU-time clocks have no expiry event on the hosts' sleeps: the thread
//!   sleeps until the earliest wall time at which the clock could reach
//!   the expiry (a thread's CPU time advances at most as fast as the wall
//!   clock, the process's at most that many times the host's CPU count)
//!   and looks again. An idle process with an armed CPU-time timer thus
//!   wakes the timer thread once per remaining CPU time divided by the
//!   CPU count, never more often.
//! - A wall-clock timer follows a change of the host's clock only at its
//!   next wake (the sleep itself is on the host's monotonic clock).
//! - A periodic timer whose pending signal is discarded without delivery
//!   (the disposition set to SIG_IGN) stops, as it did before Linux 6.13.

use super::{lock, Parker, Thread};
use crate::abi::signal::Signal;
use crate::host;
use crate::signal::{SigInfo, Sent};
use linux_raw_sys::general as g;
use std::sync::{Arc, Mutex};

/// Host stack of the timer thread, as much as a guest thread's host stack
/// (syscall/thread.rs): the loop below is shallow, but it calls into std.
const TIMER_THREAD_STACK: usize = 256 * 1024;

const NSEC_PER_SEC: i128 = 1_000_000_000;

/// The clock a timer measures.
pub enum TimerClock {
    /// A wall or monotonic clock (a Linux clock id the host can read).
    Wall(u32),
    /// CLOCK_PROCESS_CPUTIME_ID.
    ProcessCpu,
    /// The CPU time of one thread (CLOCK_THREAD_CPUTIME_ID, or a clock id
    /// from pthread_getcpuclockid).
    ThreadCpu(Arc<Thread>),
}

impl TimerClock {
    /// The clock's time now, ns; `None` for a thread that has ended.
    fn now_ns(&self) -> Option<i128> {
        match self {
            TimerClock::Wall(c) => host::time::clock_gettime(*c).ok().map(ns_of),
            TimerClock::ProcessCpu => host::time::clock_gettime(g::CLOCK_PROCESS_CPUTIME_ID).ok().map(ns_of),
            TimerClock::ThreadCpu(t) => {
                let h = *lock(&t.host);
                h.and_then(|h| host::thread::cpu_time_of(&h)).map(i128::from)
            }
        }
    }

    /// The wall time before which the clock cannot advance by `left_ns`,
    /// on a host with `cpus` CPUs.
    fn wall_bound_ns(&self, left_ns: i128, cpus: i128) -> i128 {
        match self {
            TimerClock::ProcessCpu => (left_ns + cpus - 1) / cpus.max(1),
            _ => left_ns,
        }
    }
}

/// How a timer tells of its expiry (`sigev_notify`).
pub enum TimerNotify {
    /// SIGEV_NONE: only timer_gettime shows it.
    None,
    /// SIGEV_SIGNAL (to the process) or SIGEV_THREAD_ID (to `thread`).
    Signal { signo: Signal, value: u64, thread: Option<Arc<Thread>> },
}

pub struct PosixTimer {
    pub id: i32,
    pub clock: TimerClock,
    pub notify: TimerNotify,
    /// The next expiry on `clock`, ns; `None` while disarmed.
    expiry_ns: Option<i128>,
    interval_ns: i128,
    /// Bumped by each timer_settime: a signal of an older setting re-arms
    /// nothing.
    generation: u32,
    /// Its signal is queued and not yet delivered (Linux's
    /// `it_requeue_pending`): it fires again only once delivered.
    requeue_pending: bool,
    /// The overrun count of the last delivered expiry (timer_getoverrun).
    overrun_last: i32,
}

/// A timer's setting as timer_gettime reports it: time to the next
/// expiry (0: disarmed) and the period, ns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerSetting {
    pub value_ns: i128,
    pub interval_ns: i128,
}

/// A timer of a file (a timerfd), fired by the timer thread.
pub trait FileTimer: Send + Sync {
    /// Accounts for the expiries that passed by now (the file turns
    /// readable) and returns the ns until the next one on the timer's
    /// clock, `None` while disarmed. Called by the timer thread with no
    /// lock held.
    fn fire_due(&self) -> Option<i128>;
}

/// Guarded by [`Timers::table`].
#[derive(Default)]
pub struct TimerTable {
    timers: Vec<PosixTimer>,
    /// The timers of open files (weakly: a file's timer goes with its last
    /// reference). Kept in a fork child, whose fds are copies of the
    /// parent's, and driven there by a thread of its own.
    files: Vec<std::sync::Weak<dyn FileTimer>>,
    /// The id the next timer_create tries first (Linux hands ids out in
    /// increasing order, `next_posix_timer_id`).
    next_id: i32,
    /// Whether this process's timer thread runs (never in a fork child
    /// until it creates a timer of its own).
    has_thread: bool,
}

impl TimerTable {
    /// In a fork child: no timer is inherited (fork(2)), and the timer
    /// thread stayed with the parent. The file timers stay: the child's
    /// files are copies ([`Timers::after_fork_child`] gives them a thread).
    pub fn clear(&mut self) {
        let files = std::mem::take(&mut self.files);
        *self = TimerTable::default();
        self.files = files;
    }

    /// Starts the process's timer thread unless it runs.
    fn ensure_thread(&mut self) -> Result<(), CreateError> {
        if !self.has_thread {
            // The thread works for the caller's process (a CLONE_VM child's
            // own, syscall/clone_vm.rs).
            let p = super::current();
            let body = move || {
                super::enter(p);
                timer_thread();
            };
            host::thread::spawn(TIMER_THREAD_STACK, Box::new(body)).map_err(|_| CreateError::NoThread)?;
            self.has_thread = true;
        }
        Ok(())
    }

    /// The file timers still alive (the dead ones are dropped).
    fn live_files(&mut self) -> Vec<Arc<dyn FileTimer>> {
        let mut live = Vec::with_capacity(self.files.len());
        self.files.retain(|w| match w.upgrade() {
            Some(t) => {
                live.push(t);
                true
            }
            None => false,
        });
        live
    }

    fn get(&mut self, id: i32) -> Option<&mut PosixTimer> {
        self.timers.iter_mut().find(|t| t.id == id)
    }
}

#[derive(Default)]
pub struct Timers {
    /// Guards the process's timers (timer_create .. timer_delete, the timer
    /// thread, and a timer signal's delivery).
    pub table: Mutex<TimerTable>,
    /// What the timer thread sleeps on; a handler that changes the table
    /// unparks it.
    wake: Parker,
}

/// Why a timer could not be made.
pub enum CreateError {
    /// Every timer id is in use.
    NoIds,
    /// The timer thread could not be started.
    NoThread,
}

fn ns_of(t: crate::abi::Timespec) -> i128 {
    i128::from(t.sec) * NSEC_PER_SEC + i128::from(t.nsec)
}

impl Timers {
    /// timer_create: a new, disarmed timer; its id.
    pub fn create(&self, clock: TimerClock, notify: TimerNotify) -> Result<i32, CreateError> {
        let mut table = lock(&self.table);
        table.ensure_thread()?;
        let mut id = table.next_id;
        while table.timers.iter().any(|t| t.id == id) {
            id = id.checked_add(1).unwrap_or(0);
            if id == table.next_id {
                return Err(CreateError::NoIds);
            }
        }
        table.next_id = id.checked_add(1).unwrap_or(0);
        table.timers.push(PosixTimer {
            id,
            clock,
            notify,
            expiry_ns: None,
            interval_ns: 0,
            generation: 0,
            requeue_pending: false,
            overrun_last: 0,
        });
        Ok(id)
    }

    /// Hands a file's timer to the timer thread (timerfd_create); the
    /// file calls [`Timers::file_changed`] after each setting.
    /// Starts the timer thread if it is not running yet (so that a file
    /// timer added next cannot fail for want of it).
    pub fn start_thread(&self) -> Result<(), CreateError> {
        lock(&self.table).ensure_thread()
    }

    pub fn add_file(&self, timer: std::sync::Weak<dyn FileTimer>) -> Result<(), CreateError> {
        let mut table = lock(&self.table);
        table.ensure_thread()?;
        table.files.retain(|w| w.strong_count() > 0);
        table.files.push(timer);
        Ok(())
    }

    /// A file timer was set: the thread looks again at when to wake.
    pub fn file_changed(&self) {
        self.wake.unpark();
    }

    /// In a fork child (not a vfork one, which only execs or exits), once
    /// the fork's locks are released: the file timers it inherited get a
    /// timer thread of their own. Without a thread they would expire only
    /// when the child looks at them.
    pub fn after_fork_child(&self) {
        let mut table = lock(&self.table);
        if table.files.iter().any(|w| w.strong_count() > 0) {
            let _ = table.ensure_thread();
        }
    }

    /// timer_delete; `false` for no such timer. A signal it already
    /// queued stays pending.
    pub fn delete(&self, id: i32) -> bool {
        let mut table = lock(&self.table);
        let before = table.timers.len();
        table.timers.retain(|t| t.id != id);
        table.timers.len() != before
    }

    /// timer_gettime; `None` for no such timer.
    pub fn get(&self, id: i32) -> Option<TimerSetting> {
        let mut table = lock(&self.table);
        table.get(id).map(current_setting)
    }

    /// timer_settime: arms the timer to expire at `value_ns` (on its clock
    /// if `is_abstime`, else that far from now; 0 disarms), then every
    /// `interval_ns`. Returns the old setting; `None` for no such timer.
    pub fn set(&self, id: i32, is_abstime: bool, value_ns: i128, interval_ns: i128) -> Option<TimerSetting> {
        let mut table = lock(&self.table);
        let t = table.get(id)?;
        let old = current_setting(t);
        t.generation = t.generation.wrapping_add(1);
        t.requeue_pending = false;
        t.overrun_last = 0;
        // A zero value disarms, and clears the period (`common_timer_set`).
        t.interval_ns = if value_ns == 0 { 0 } else { interval_ns };
        t.expiry_ns = if value_ns == 0 {
            None
        } else if is_abstime {
            Some(value_ns)
        } else {
            // A clock that can no longer be read (an ended thread's) never
            // reaches an expiry.
            t.clock.now_ns().map(|now| now.saturating_add(value_ns))
        };
        drop(table);
        self.wake.unpark();
        Some(old)
    }

    /// Gives the (disarmed) timer `id` its way of notifying.
    pub fn set_notify(&self, id: i32, notify: TimerNotify) {
        if let Some(t) = lock(&self.table).get(id) {
            t.notify = notify;
        }
    }

    /// timer_getoverrun: the overrun count of the last delivered expiry.
    pub fn overrun(&self, id: i32) -> Option<i32> {
        lock(&self.table).get(id).map(|t| t.overrun_last)
    }

    /// At the delivery of a timer's signal (with `Process::sig` held): the
    /// timer is re-armed past now, and the periods that passed since the
    /// expiry that queued it are its overrun (`posixtimer_rearm`).
    pub fn delivered(&self, info: &mut SigInfo) {
        let Some(id) = info.timer_id else { return };
        let mut table = lock(&self.table);
        let Some(t) = table.get(id) else { return };
        if t.generation != info.timer_gen || !t.requeue_pending {
            return;
        }
        t.requeue_pending = false;
        let mut overrun = 0;
        if let (Some(expiry), Some(now)) = (t.expiry_ns, t.clock.now_ns()) {
            if t.interval_ns > 0 && now >= expiry {
                let periods = (now - expiry) / t.interval_ns + 1;
                t.expiry_ns = Some(expiry.saturating_add(periods.saturating_mul(t.interval_ns)));
                overrun = periods - 1;
            }
        }
        // DELAYTIMER_MAX: the count saturates at INT_MAX.
        t.overrun_last = i32::try_from(overrun).unwrap_or(i32::MAX);
        info.set_overrun(t.overrun_last);
        drop(table);
        self.wake.unpark();
    }
}

/// What timer_gettime reports (`common_timer_get`): the time to the next
/// expiry and the period. A periodic SIGEV_NONE timer moves on past now
/// (it has no signal to wait for); a one-shot one that expired is
/// disarmed and shows 0; a timer whose signal is still to come shows 1 ns.
fn current_setting(t: &mut PosixTimer) -> TimerSetting {
    let interval_ns = t.interval_ns;
    let Some(expiry) = t.expiry_ns else { return TimerSetting { value_ns: 0, interval_ns } };
    let Some(now) = t.clock.now_ns() else { return TimerSetting { value_ns: 0, interval_ns } };
    let is_sig_none = matches!(t.notify, TimerNotify::None);
    let mut left = expiry - now;
    if left <= 0 && is_sig_none {
        if interval_ns > 0 {
            let periods = -left / interval_ns + 1;
            t.expiry_ns = Some(expiry.saturating_add(periods.saturating_mul(interval_ns)));
            left += periods * interval_ns;
        } else {
            t.expiry_ns = None;
            left = 0;
        }
    } else if left <= 0 {
        // Expired, the signal not yet delivered (Linux: 1 ns); a periodic
        // timer waiting for delivery reports its next period, counted
        // from the expiry that queued it.
        left = if interval_ns > 0 { interval_ns - (-left) % interval_ns } else { 1 };
    }
    TimerSetting { value_ns: left, interval_ns }
}

/// The timer thread of the process: fires what expired, sleeps until the
/// next expiry or a change of the table.
fn timer_thread() {
    // No host signal is for this thread: the trap entry and the host
    // handlers expect a guest thread's control block.
    host::trap::block_all_signals();
    let p = super::current();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as i128;
    loop {
        let seq = p.timers.wake.seq();
        let (mut timeout_ns, files) = {
            let mut st = lock(&p.sig);
            let mut table = lock(&p.timers.table);
            (fire_due(&mut st, &mut table, cpus), table.live_files())
        };
        for f in files {
            if let Some(left) = f.fire_due() {
                let ns = u64::try_from(left.max(1)).unwrap_or(u64::MAX);
                timeout_ns = Some(timeout_ns.map_or(ns, |t| t.min(ns)));
            }
        }
        p.timers.wake.park(seq, timeout_ns);
    }
}

/// Queues the signal of every signal-notifying timer that expired; returns
/// how long to sleep before the next may expire (`None`: none is armed).
fn fire_due(st: &mut super::SignalState, table: &mut TimerTable, cpus: i128) -> Option<u64> {
    let mut sleep_ns: Option<i128> = None;
    for t in table.timers.iter_mut() {
        let TimerNotify::Signal { signo, value, thread } = &t.notify else { continue };
        let Some(expiry) = t.expiry_ns else { continue };
        if t.requeue_pending {
            continue;
        }
        let Some(now) = t.clock.now_ns() else { continue };
        if now >= expiry {
            let info = SigInfo::timer(*signo, t.id, t.generation, *value);
            let sent = crate::signal::send_from_runtime(st, thread.as_deref(), info);
            if t.interval_ns <= 0 {
                t.expiry_ns = None;
                continue;
            }
            if sent == Sent::Queued {
                t.requeue_pending = true;
                continue;
            }
            // Discarded: the period goes on without a signal to wait for.
            let periods = (now - expiry) / t.interval_ns + 1;
            t.expiry_ns = Some(expiry.saturating_add(periods.saturating_mul(t.interval_ns)));
        }
        if let Some(next) = t.expiry_ns {
            let wait = t.clock.wall_bound_ns(next - now, cpus).max(1);
            sleep_ns = Some(sleep_ns.map_or(wait, |s| s.min(wait)));
        }
    }
    sleep_ns.map(|ns| u64::try_from(ns).unwrap_or(u64::MAX))
}
