//! timerfd_create(2), timerfd_settime(2), timerfd_gettime(2): a timer that
//! notifies by making an fd readable
//! (<https://man7.org/linux/man-pages/man2/timerfd_create.2.html>; the
//! checks follow fs/timerfd.c).
//!
//! A [`TimerFd`] keeps its next expiry and period and counts expirations
//! lazily: whoever looks (a read, a poll, gettime, the timer thread) first
//! adds the periods that passed by now to the count. The process's timer
//! thread (task/timer.rs) holds every timerfd as a [`FileTimer`] and wakes
//! at the earliest expiry, so the [`Notifier`] pipe turns readable when the
//! timer expires, with no call from the guest: poll, select, epoll and a
//! blocked read sleep on it in the host.
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
//! - After fork the child's timerfd is a copy (its own setting and count,
//!   no longer shared with the parent's). execve keeps it (its clock,
//!   next expiry, period and count cross: `FileOps::exec_state`), but a
//!   timerfd a fork sibling holds is then a copy there too.
//! - /proc/PID/fdinfo shows no `clockid`/`ticks` lines.

use super::timer::{itimerspec_ns, write_itimerspec};
use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::Result;
use crate::host::{self, HostFd, HostStat};
use crate::task::{current, lock, FileTimer, TimerSetting};
use crate::uaccess;
use crate::vfs::file::{ExecIds, ExecKind, ExecObjects, FileOps, KindState, OpenFile};
use crate::vfs::poll::{self, Notifier, Ready};
use crate::{errno, return_errno_with_message};
use linux_raw_sys::ioctl::TFD_IOC_SET_TICKS;
use std::any::Any;
use std::sync::{Arc, Mutex, Weak};

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
    state: Mutex<State>,
    /// Readable exactly while `ticks` is not zero.
    readable: Notifier,
}

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
        self.readable.set(st.ticks > 0);
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
        let mut st = lock(&self.state);
        self.catch_up(&mut st);
        if st.ticks == 0 {
            return None;
        }
        let ticks = std::mem::take(&mut st.ticks);
        self.readable.set(false);
        Some(ticks)
    }
}

impl FileTimer for Timer {
    fn fire_due(&self) -> Option<i128> {
        let mut st = lock(&self.state);
        self.catch_up(&mut st);
        let expiry = st.expiry_ns?;
        Some(expiry - now_ns(self.clock)?)
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
        let mut st = lock(&self.0.state);
        st.ticks = ticks;
        self.0.readable.set(true);
        Ok(0)
    }

    fn poll(&self, _f: &OpenFile, _events: u32, wake: &mut Vec<(HostFd, u32)>) -> Ready {
        let mut st = lock(&self.0.state);
        self.0.catch_up(&mut st);
        if st.ticks > 0 {
            // Linux's timerfd_poll reports EPOLLIN alone.
            return Ready::Now(g::POLLIN);
        }
        wake.push(self.0.readable.wake());
        Ready::Now(0)
    }

    fn pollable(&self) -> bool {
        true
    }

    fn after_fork(&self) {
        let _st = lock(&self.0.state);
        self.0.readable.renew();
    }

    /// The host process and its clocks stay across execve, so the expiry
    /// (on the timer's clock) means the same there.
    fn exec_state(&self, _f: &OpenFile, _ids: &ExecIds<'_>) -> Option<KindState> {
        let mut st = lock(&self.0.state);
        self.0.catch_up(&mut st);
        let state = ExecState { clock: self.0.clock, expiry_ns: st.expiry_ns, interval_ns: st.interval_ns, ticks: st.ticks };
        KindState::new(EXEC_KIND.name, &state, Vec::new())
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ExecState {
    clock: u32,
    expiry_ns: Option<i128>,
    interval_ns: i128,
    ticks: u64,
}

pub const EXEC_KIND: ExecKind = ExecKind { name: "timerfd", restore };

/// A timerfd after execve, armed as it was, on the new timer thread.
fn restore(k: &KindState, _objects: &ExecObjects) -> Result<Box<dyn FileOps>> {
    let st: ExecState = k.decode().ok_or_else(|| errno!(EINVAL, "a timerfd's state does not decode"))?;
    if !matches!(st.clock, g::CLOCK_REALTIME | g::CLOCK_MONOTONIC | g::CLOCK_BOOTTIME) {
        return Err(errno!(EINVAL, "a timerfd crossed with an unknown clock"));
    }
    let timer = new_timer(st.clock, State { expiry_ns: st.expiry_ns, interval_ns: st.interval_ns.max(0), ticks: st.ticks })?;
    timer.readable.set(st.ticks > 0);
    current().timers.file_changed();
    Ok(Box::new(TimerFd(timer)))
}

/// A timer on `clock` that the process's timer thread watches.
fn new_timer(clock: u32, state: State) -> Result<Arc<Timer>> {
    let timer = Arc::new(Timer { clock, state: Mutex::new(state), readable: Notifier::new()? });
    let weak: Weak<dyn FileTimer> = Arc::downgrade(&timer) as Weak<dyn FileTimer>;
    current().timers.add_file(weak).map_err(|_| errno!(ENOMEM, "cannot start the timer thread"))?;
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
    let timer = new_timer(host_clock, State { expiry_ns: None, interval_ns: 0, ticks: 0 })?;
    let file = OpenFile::new("anon_inode:[timerfd]".into(), TimerFd(timer), g::O_RDWR | (flags & g::TFD_NONBLOCK));
    let fd = lock(&cx.process().fds).install(Arc::new(file), flags & g::TFD_CLOEXEC != 0)?;
    Ok(fd as u64)
}

pub fn timerfd_settime(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let raw = uaccess::read::<[i64; 4]>(a[2])?;
    let flags = args::flags(u64::from(args::uint(a[1])), SETTIME_FLAGS, "flags must be TFD_TIMER_ABSTIME or TFD_TIMER_CANCEL_ON_SET")?;
    let (interval_ns, value_ns) = itimerspec_ns(raw)?;
    let timer = timer_of(a[0])?;
    let old = {
        let mut st = lock(&timer.state);
        let old = timer.setting(&mut st);
        // A new setting starts a new count (`timerfd_setup`).
        st.ticks = 0;
        st.interval_ns = interval_ns;
        st.expiry_ns = if value_ns == 0 {
            None
        } else if flags & g::TFD_TIMER_ABSTIME != 0 {
            Some(value_ns)
        } else {
            now_ns(timer.clock).map(|now| now.saturating_add(value_ns))
        };
        timer.catch_up(&mut st);
        timer.readable.set(st.ticks > 0);
        old
    };
    cx.process().timers.file_changed();
    // The new setting stands even if the old one cannot be written.
    if a[3] != 0 {
        write_itimerspec(a[3], old)?;
    }
    Ok(0)
}

pub fn timerfd_gettime(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let timer = timer_of(a[0])?;
    let cur = timer.setting(&mut lock(&timer.state));
    write_itimerspec(a[1], cur)?;
    Ok(0)
}
