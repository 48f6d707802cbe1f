//! timerfd_create(2), timerfd_settime(2), timerfd_gettime(2): a timer that
//! notifies by making an fd readable
//! (<https://man7.org/linux/man-pages/man2/timerfd_create.2.html>; the
//! checks follow fs/timerfd.c).
//!
//! A [`TimerFd`] keeps its next expiry and period and counts expirations
//! lazily: whoever looks (a read, a poll, gettime, the timer thread) first
//! adds the periods that passed by now to the count. The process's timer
//! thread (task/timer.rs) holds every timerfd as a [`FileTimer`] and wakes
//! at the earliest expiry, so the [`SharedNotifier`] pipe turns readable
//! when the timer expires, with no call from the guest: poll, select,
//! epoll and a blocked read sleep on it in the host.
//!
//! As on Linux, a fork child shares the open file description: the setting
//! and count live in a page a fork leaves shared (`host::mem::SharedWords`,
//! under a lock word of its own, as an eventfd's counter does), with the
//! notifier pipe. A setting made in one process is seen by the others, and
//! a read in one takes the expirations the others would see. Each process's
//! timer thread watches the timer; execve keeps it (the page and the pipe
//! cross as host fds: `FileOps::exec_state`), still shared.
//!
//! Divergences from Linux:
//! - TFD_TIMER_CANCEL_ON_SET is accepted, but a change of the realtime
//!   clock never cancels the timer (no ECANCELED): the runtime is not told
//!   of clock changes. An absolute CLOCK_REALTIME timer sees a change of
//!   the clock only when the timer thread next wakes (it sleeps on the
//!   host's monotonic clock).
//! - CLOCK_REALTIME_ALARM and CLOCK_BOOTTIME_ALARM (allowed, as on Linux,
//!   only with CAP_WAKE_ALARM, i.e. for root) are their plain clocks: they
//!   never wake a suspended machine.
//! - A shared timer set by one process that then closes it (or exits)
//!   before it expires wakes the others' sleepers up to a second late:
//!   their timer threads look at a timer that may be shared at least once
//!   a second ([`SHARED_LOOK_NS`]), and only the setter's was woken.
//! - /proc/PID/fdinfo shows no `clockid`/`ticks` lines.

use super::timer::{itimerspec_ns, write_itimerspec};
use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::{Error, Result};
use crate::host::mem::SharedWords;
use crate::host::{self, HostFd, HostStat};
use crate::task::{current, lock, FileTimer, TimerSetting};
use crate::uaccess;
use crate::vfs::file::{ExecIds, ExecKind, ExecObjects, FileOps, KindState, OpenFile};
use crate::vfs::poll::{self, Ready, SharedNotifier};
use crate::{errno, return_errno_with_message};
use linux_raw_sys::ioctl::TFD_IOC_SET_TICKS;
use std::any::Any;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Weak};

const NSEC_PER_SEC: i128 = 1_000_000_000;

/// What timerfd_create accepts in `flags` (TFD_CREATE_FLAGS).
const CREATE_FLAGS: u32 = g::TFD_CLOEXEC | g::TFD_NONBLOCK;
/// What timerfd_settime accepts (fs/timerfd.c TFD_SETTIME_FLAGS; the
/// linux-raw-sys constant predates TFD_TIMER_CANCEL_ON_SET).
const SETTIME_FLAGS: u32 = g::TFD_TIMER_ABSTIME | g::TFD_TIMER_CANCEL_ON_SET;

/// The count a read returns: 8 bytes.
const TICKS_SIZE: usize = 8;

pub struct TimerFd(Arc<Timer>);

struct Timer {
    /// The clock the host reads for it (an alarm clock's plain clock).
    clock: u32,
    /// The setting and count ([`State`]), in a page a fork leaves shared
    /// and execve maps again, so every process holding the open file
    /// description sees one timer: a read in one takes the expirations
    /// the others would see, as on Linux.
    shared: SharedWords,
    /// Readable exactly while the count is not zero; the pipe is shared
    /// as the page is, and the page records whether it is readable.
    readable: SharedNotifier,
    /// Another process may hold the timer too (a fork was made with it, or
    /// it crossed execve): see `FileTimer::fire_due`.
    may_be_shared: AtomicBool,
}

/// The words of the shared page.
const W_LOCK: usize = 0;
const W_ARMED: usize = 1;
/// The next expiry and the period, ns, as i128s in two words each (low first).
const W_EXPIRY: usize = 2;
const W_INTERVAL: usize = 4;
const W_TICKS: usize = 6;
/// Whether the notifier pipe is readable.
const W_ON: usize = 7;
const WORDS: usize = 8;

/// How long the timer thread sleeps at most while a timer may be shared:
/// a setting made by another process wakes that process's timer thread,
/// not this one's, and if that process closes the timer before it expires,
/// this one's notices the expiry at its next look.
const SHARED_LOOK_NS: i128 = NSEC_PER_SEC;

struct State {
    /// The next expiry on `clock`, ns; `None` while disarmed.
    expiry_ns: Option<i128>,
    /// The period, ns (0: one-shot). Kept when the timer is disarmed, as
    /// Linux keeps `tintv`: gettime shows it.
    interval_ns: i128,
    /// Expirations since the last read (or setting).
    ticks: u64,
}

fn now_ns(clock: u32) -> Option<i128> {
    host::time::clock_gettime(clock).ok().map(|t| i128::from(t.sec) * NSEC_PER_SEC + i128::from(t.nsec))
}

impl Timer {
    fn new(clock: u32) -> Result<Timer> {
        let shared = SharedWords::new(WORDS).map_err(|e| Error::with_message(e, "cannot map a timerfd's state"))?;
        Ok(Timer { clock, shared, readable: SharedNotifier::new()?, may_be_shared: AtomicBool::new(false) })
    }

    fn load_i128(&self, at: usize) -> i128 {
        let lo = self.shared.word(at).load(Relaxed);
        let hi = self.shared.word(at + 1).load(Relaxed);
        ((u128::from(hi) << 64) | u128::from(lo)) as i128
    }

    fn store_i128(&self, at: usize, v: i128) {
        self.shared.word(at).store(v as u128 as u64, Relaxed);
        self.shared.word(at + 1).store((v as u128 >> 64) as u64, Relaxed);
    }

    /// Runs `f` on the state under the page's lock (shared with every
    /// process holding the timer; held only across loads, stores and the
    /// non-blocking fill or drain of the pipe), then has the pipe follow
    /// the count.
    fn with_state<R>(&self, f: impl FnOnce(&Timer, &mut State) -> R) -> R {
        self.shared.lock(W_LOCK);
        let mut st = State {
            expiry_ns: (self.shared.word(W_ARMED).load(Relaxed) != 0).then(|| self.load_i128(W_EXPIRY)),
            interval_ns: self.load_i128(W_INTERVAL),
            ticks: self.shared.word(W_TICKS).load(Relaxed),
        };
        let r = f(self, &mut st);
        self.shared.word(W_ARMED).store(u64::from(st.expiry_ns.is_some()), Relaxed);
        self.store_i128(W_EXPIRY, st.expiry_ns.unwrap_or(0));
        self.store_i128(W_INTERVAL, st.interval_ns);
        self.shared.word(W_TICKS).store(st.ticks, Relaxed);
        let on = st.ticks > 0;
        let was = self.shared.word(W_ON).load(Relaxed) != 0;
        self.readable.set(on, was);
        self.shared.word(W_ON).store(u64::from(on), Relaxed);
        self.shared.unlock(W_LOCK);
        r
    }

    /// Adds the expirations that passed by now to the count (Linux counts
    /// one in the hrtimer callback, then the missed periods with
    /// `hrtimer_forward_now` at the next read: the same total).
    fn catch_up(&self, st: &mut State) {
        let Some(expiry) = st.expiry_ns else { return };
        let Some(now) = now_ns(self.clock) else { return };
        if now < expiry {
            return;
        }
        if st.interval_ns > 0 {
            let periods = (now - expiry) / st.interval_ns + 1;
            st.ticks = st.ticks.saturating_add(u64::try_from(periods).unwrap_or(u64::MAX));
            st.expiry_ns = Some(expiry.saturating_add(periods.saturating_mul(st.interval_ns)));
        } else {
            st.ticks = st.ticks.saturating_add(1);
            st.expiry_ns = None;
        }
    }

    /// What timerfd_gettime shows: the time to the next expiry (0 when
    /// disarmed or a one-shot timer expired) and the period.
    fn setting(&self, st: &mut State) -> TimerSetting {
        self.catch_up(st);
        let value_ns = match (st.expiry_ns, now_ns(self.clock)) {
            (Some(expiry), Some(now)) => (expiry - now).max(0),
            _ => 0,
        };
        TimerSetting { value_ns, interval_ns: st.interval_ns }
    }

    /// Takes the count, if any (a read).
    fn take(&self) -> Option<u64> {
        self.with_state(|t, st| {
            t.catch_up(st);
            (st.ticks != 0).then(|| std::mem::take(&mut st.ticks))
        })
    }
}

impl FileTimer for Timer {
    fn fire_due(&self) -> Option<i128> {
        let due = self.with_state(|t, st| {
            t.catch_up(st);
            Some(st.expiry_ns? - now_ns(t.clock)?)
        });
        if !self.may_be_shared.load(Relaxed) {
            return due;
        }
        Some(due.map_or(SHARED_LOOK_NS, |d| d.min(SHARED_LOOK_NS)))
    }
}

impl FileOps for TimerFd {
    fn stat(&self, f: &OpenFile) -> Result<HostStat> {
        Ok(crate::vfs::file::anon_stat(&f.guest_path))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn read(&self, f: &OpenFile, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < TICKS_SIZE {
            return_errno_with_message!(EINVAL, "a timerfd is read 8 bytes at a time");
        }
        loop {
            if let Some(ticks) = self.0.take() {
                buf[..TICKS_SIZE].copy_from_slice(&ticks.to_ne_bytes());
                return Ok(TICKS_SIZE);
            }
            if f.is_nonblocking() {
                return Err(errno!(EAGAIN));
            }
            poll::wait_for(f, g::POLLIN)?;
        }
    }

    /// As Linux, a short buffer is EINVAL before its address is looked at.
    fn read_guest(&self, f: &OpenFile, addr: u64, len: usize, _off: Option<u64>) -> Result<usize> {
        if len < TICKS_SIZE {
            return_errno_with_message!(EINVAL, "a timerfd is read 8 bytes at a time");
        }
        uaccess::check_writable(addr, TICKS_SIZE)?;
        let mut buf = [0u8; TICKS_SIZE];
        let n = self.read(f, &mut buf)?;
        uaccess::copy_to_guest(addr, &buf[..n])?;
        Ok(n)
    }

    fn read_bound(&self) -> usize {
        TICKS_SIZE
    }

    fn ioctl(&self, _f: &OpenFile, req: u32, arg: u64) -> Result<u64> {
        if req != TFD_IOC_SET_TICKS {
            return Err(errno!(ENOTTY, "a timerfd knows only TFD_IOC_SET_TICKS"));
        }
        // Sets the count a read returns next (for checkpoint/restore).
        let ticks: u64 = uaccess::read(arg)?;
        if ticks == 0 {
            return_errno_with_message!(EINVAL, "TFD_IOC_SET_TICKS needs a count above 0");
        }
        self.0.with_state(|_, st| st.ticks = ticks);
        Ok(0)
    }

    fn poll(&self, _f: &OpenFile, _events: u32, wake: &mut Vec<(HostFd, u32)>) -> Ready {
        let ticks = self.0.with_state(|t, st| {
            t.catch_up(st);
            st.ticks
        });
        if ticks > 0 {
            // Linux's timerfd_poll reports EPOLLIN alone.
            return Ready::Now(g::POLLIN);
        }
        wake.push(self.0.readable.wake());
        Ready::Now(0)
    }

    fn pollable(&self) -> bool {
        true
    }

    fn crosses_processes(&self) -> bool {
        true
    }

    /// A fork child shares the timer (its page and pipe) with the parent.
    fn before_fork(&self) {
        self.0.may_be_shared.store(true, Relaxed);
    }

    /// The host process and its clocks stay across execve, so the expiry
    /// (on the timer's clock) means the same there; the page and the pipe
    /// cross as host fds, so the timer stays the one a fork sibling holds.
    fn exec_state(&self, _f: &OpenFile, _ids: &ExecIds<'_>) -> Option<KindState> {
        let t = &self.0;
        let pipe = t.readable.host_fds();
        let state = ExecState { clock: t.clock, page: t.shared.fd(), pipe, may_be_shared: t.may_be_shared.load(Relaxed) };
        KindState::new(EXEC_KIND.name, &state, vec![t.shared.fd(), pipe.0, pipe.1])
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ExecState {
    clock: u32,
    page: HostFd,
    pipe: (HostFd, HostFd),
    may_be_shared: bool,
}

pub const EXEC_KIND: ExecKind = ExecKind { name: "timerfd", restore };

/// A timerfd after execve, armed as it was, on the new timer thread.
fn restore(k: &KindState, _objects: &ExecObjects) -> Result<Box<dyn FileOps>> {
    let st: ExecState = k.decode().ok_or_else(|| errno!(EINVAL, "a timerfd's state does not decode"))?;
    if !matches!(st.clock, g::CLOCK_REALTIME | g::CLOCK_MONOTONIC | g::CLOCK_BOOTTIME) {
        return Err(errno!(EINVAL, "a timerfd crossed with an unknown clock"));
    }
    // Everything that may fail comes before the host fds are taken over:
    // on an error they are still the caller's to close.
    current().timers.start_thread().map_err(|_| errno!(ENOMEM, "cannot start the timer thread"))?;
    let shared = SharedWords::from_fd(k.fd(st.page), WORDS).map_err(|e| Error::with_message(e, "cannot map a timerfd's state again"))?;
    let pipe = (k.fd(st.pipe.0), k.fd(st.pipe.1));
    let timer = Timer { clock: st.clock, shared, readable: SharedNotifier::from_host_fds(pipe), may_be_shared: AtomicBool::new(st.may_be_shared) };
    // With the thread running, adding the timer cannot fail; were it to,
    // the timer would still count when looked at, only not wake a
    // sleeper at its expiry, which is better than losing the fd.
    let timer = Arc::new(timer);
    let weak: Weak<dyn FileTimer> = Arc::downgrade(&timer) as Weak<dyn FileTimer>;
    let _ = current().timers.add_file(weak);
    current().timers.file_changed();
    Ok(Box::new(TimerFd(timer)))
}

/// `timer`, watched by the process's timer thread.
fn watched(timer: Timer) -> Result<Arc<Timer>> {
    let timer = Arc::new(timer);
    let weak: Weak<dyn FileTimer> = Arc::downgrade(&timer) as Weak<dyn FileTimer>;
    current().timers.add_file(weak).map_err(|_| errno!(ENOMEM, "cannot start the timer thread"))?;
    current().timers.file_changed();
    Ok(timer)
}

/// The timer behind `fd`: EBADF for no fd, EINVAL for another kind.
fn timer_of(fd: u64) -> Result<Arc<Timer>> {
    let file = lock(&current().fds).get(args::int(fd))?;
    match file.ops_as::<TimerFd>() {
        Some(t) => Ok(t.0.clone()),
        None => return_errno_with_message!(EINVAL, "fd is not a timerfd"),
    }
}

pub fn timerfd_create(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let clock = args::uint(a[0]);
    let flags = args::flags(u64::from(args::uint(a[1])), CREATE_FLAGS, "flags must be TFD_CLOEXEC or TFD_NONBLOCK")?;
    let host_clock = match clock {
        g::CLOCK_REALTIME | g::CLOCK_MONOTONIC | g::CLOCK_BOOTTIME => clock,
        g::CLOCK_REALTIME_ALARM | g::CLOCK_BOOTTIME_ALARM => {
            // capable(CAP_WAKE_ALARM): the runtime grants capabilities to
            // root alone.
            if host::process::euid() != 0 {
                return_errno_with_message!(EPERM, "the alarm clocks need CAP_WAKE_ALARM");
            }
            if clock == g::CLOCK_REALTIME_ALARM { g::CLOCK_REALTIME } else { g::CLOCK_BOOTTIME }
        }
        _ => return_errno_with_message!(EINVAL, "clock must be CLOCK_REALTIME, CLOCK_MONOTONIC or CLOCK_BOOTTIME (or an alarm clock)"),
    };
    let timer = watched(Timer::new(host_clock)?)?;
    let file = OpenFile::new("anon_inode:[timerfd]".into(), TimerFd(timer), g::O_RDWR | (flags & g::TFD_NONBLOCK));
    let fd = lock(&cx.process().fds).install(Arc::new(file), flags & g::TFD_CLOEXEC != 0)?;
    Ok(fd as u64)
}

pub fn timerfd_settime(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let raw = uaccess::read::<[i64; 4]>(a[2])?;
    let flags = args::flags(u64::from(args::uint(a[1])), SETTIME_FLAGS, "flags must be TFD_TIMER_ABSTIME or TFD_TIMER_CANCEL_ON_SET")?;
    let (interval_ns, value_ns) = itimerspec_ns(raw)?;
    let timer = timer_of(a[0])?;
    let old = timer.with_state(|t, st| {
        let old = t.setting(st);
        // A new setting starts a new count (`timerfd_setup`).
        st.ticks = 0;
        st.interval_ns = interval_ns;
        st.expiry_ns = if value_ns == 0 {
            None
        } else if flags & g::TFD_TIMER_ABSTIME != 0 {
            Some(value_ns)
        } else {
            now_ns(t.clock).map(|now| now.saturating_add(value_ns))
        };
        t.catch_up(st);
        old
    });
    cx.process().timers.file_changed();
    // The new setting stands even if the old one cannot be written.
    if a[3] != 0 {
        write_itimerspec(a[3], old)?;
    }
    Ok(0)
}

pub fn timerfd_gettime(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let timer = timer_of(a[0])?;
    let cur = timer.with_state(|t, st| t.setting(st));
    write_itimerspec(a[1], cur)?;
    Ok(0)
}
