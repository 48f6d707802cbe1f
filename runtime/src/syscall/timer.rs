//! POSIX per-process timers: timer_create(2), timer_settime(2),
//! timer_gettime(2), timer_getoverrun(2), timer_delete(2)
//! (<https://man7.org/linux/man-pages/man2/timer_create.2.html>; the
//! checks follow kernel/time/posix-timers.c).
//!
//! The timers live in `task::Process::timers` and a runtime thread fires
//! them (task/timer.rs); these handlers check the arguments and arm them.
//! The C library's SIGEV_THREAD is built on SIGEV_THREAD_ID in guest code
//! (a helper thread waits for the signal), so the kernel interface takes
//! it as the signal it names, as Linux does.
//!
//! Divergences from Linux:
//! - No timer on another process's CPU clock (EINVAL).
//! - The alarm clocks (CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM) have no
//!   timers: EOPNOTSUPP, as on a Linux machine without a wake-up RTC.
//! - CPU-time timers are checked against their clock by the timer thread
//!   at the earliest wall time they could expire, not by the scheduler's
//!   tick (see task/timer.rs).

use super::time::{resolve_clock, CpuClock};
use super::{args, Ctx};
use crate::abi::signal::{Signal, NSIG};
use crate::error::Result;
use crate::task::{CreateError, TimerClock, TimerNotify, TimerSetting};
use crate::uaccess;
use crate::return_errno_with_message;
use linux_raw_sys::general as g;

const NSEC_PER_SEC: i128 = 1_000_000_000;

/// A negative clock id whose low three bits are CLOCKFD names a dynamic
/// clock (a PTP device's fd), not a CPU clock (include/linux/posix-timers.h).
const CLOCKFD: u32 = 3;
const CLOCKFD_MASK: u32 = 7;

/// The size of `struct sigevent` (copied whole, as the kernel does).
const SIGEVENT_SIZE: usize = g::SIGEV_MAX_SIZE as usize;
/// Offsets in `struct sigevent`: `sigev_value`, `sigev_signo`,
/// `sigev_notify`, then the union whose first member is the thread id.
const SIGEV_VALUE: usize = 0;
const SIGEV_SIGNO: usize = 8;
const SIGEV_NOTIFY: usize = 12;
const SIGEV_TID: usize = 16;

fn int_at(raw: &[u8], off: usize) -> i32 {
    raw.get(off..off + 4).and_then(|b| b.try_into().ok()).map(i32::from_ne_bytes).unwrap_or(0)
}

fn u64_at(raw: &[u8], off: usize) -> u64 {
    raw.get(off..off + 8).and_then(|b| b.try_into().ok()).map(u64::from_ne_bytes).unwrap_or(0)
}

/// The clock a new timer measures (`clockid_to_kclock` and the clock's
/// `timer_create`).
fn timer_clock(cx: &Ctx<'_>, clock: u32) -> Result<TimerClock> {
    if (clock as i32) < 0 && clock & CLOCKFD_MASK == CLOCKFD {
        return_errno_with_message!(EOPNOTSUPP, "dynamic (fd) clocks have no timers");
    }
    match resolve_clock(cx, clock)? {
        CpuClock::OtherThread(t) => Ok(TimerClock::ThreadCpu(t)),
        CpuClock::Fixed(c) => match c {
            g::CLOCK_REALTIME | g::CLOCK_MONOTONIC | g::CLOCK_BOOTTIME | g::CLOCK_TAI => Ok(TimerClock::Wall(c)),
            g::CLOCK_PROCESS_CPUTIME_ID => Ok(TimerClock::ProcessCpu),
            g::CLOCK_THREAD_CPUTIME_ID => Ok(TimerClock::ThreadCpu(cx.thread_arc())),
            // Clocks without timers (`kc->timer_create` unset).
            g::CLOCK_MONOTONIC_RAW | g::CLOCK_REALTIME_COARSE | g::CLOCK_MONOTONIC_COARSE => {
                return_errno_with_message!(EOPNOTSUPP, "this clock has no timers")
            }
            g::CLOCK_REALTIME_ALARM | g::CLOCK_BOOTTIME_ALARM => {
                return_errno_with_message!(EOPNOTSUPP, "alarm timers are not emulated (no wake-up RTC)")
            }
            _ => return_errno_with_message!(EINVAL, "unknown clock"),
        },
    }
}

/// How the timer notifies (`good_sigevent`); `None` for no sigevent: SIGALRM
/// to the process with the timer id as its value.
fn timer_notify(raw: &[u8]) -> Result<TimerNotify> {
    let signo = int_at(raw, SIGEV_SIGNO);
    let value = u64_at(raw, SIGEV_VALUE);
    let signal = || match u64::try_from(signo).ok().filter(|&s| (1..=u64::from(NSIG)).contains(&s)) {
        Some(s) => Ok(Signal(s as u8)),
        None => Err(crate::errno!(EINVAL, "sigev_signo must be a signal number")),
    };
    match int_at(raw, SIGEV_NOTIFY) as u32 {
        g::SIGEV_NONE => Ok(TimerNotify::None),
        // SIGEV_THREAD is the C library's; to the kernel it is a signal.
        g::SIGEV_SIGNAL | g::SIGEV_THREAD => Ok(TimerNotify::Signal { signo: signal()?, value, thread: None }),
        g::SIGEV_THREAD_ID => {
            let tid = int_at(raw, SIGEV_TID);
            let thread = u32::try_from(tid).ok().and_then(|t| crate::task::current().thread(t));
            let Some(thread) = thread else {
                return_errno_with_message!(EINVAL, "sigev_notify_thread_id is no thread of this process")
            };
            Ok(TimerNotify::Signal { signo: signal()?, value, thread: Some(thread) })
        }
        _ => return_errno_with_message!(EINVAL, "unknown sigev_notify"),
    }
}

pub fn timer_create(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let event = if a[1] != 0 { Some(uaccess::read_bytes(a[1], SIGEVENT_SIZE)?) } else { None };
    let clock = timer_clock(cx, args::uint(a[0]))?;
    let notify = match &event {
        Some(raw) => Some(timer_notify(raw)?),
        None => None,
    };
    let timers = &cx.process().timers;
    // Without a sigevent the signal's value is the timer's own id, known
    // only once made: made as SIGEV_NONE first, then given its signal.
    let id = match timers.create(clock, notify.unwrap_or(TimerNotify::None)) {
        Ok(id) => id,
        Err(CreateError::NoIds) => return_errno_with_message!(EAGAIN, "every timer id is in use"),
        Err(CreateError::NoThread) => return_errno_with_message!(EAGAIN, "cannot start the timer thread"),
    };
    if event.is_none() {
        let value = u64::from(u32::try_from(id).unwrap_or(0));
        timers.set_notify(id, TimerNotify::Signal { signo: Signal::SIGALRM, value, thread: None });
    }
    if let Err(e) = uaccess::write(a[2], &id) {
        timers.delete(id);
        return Err(e);
    }
    Ok(0)
}

/// A `struct itimerspec` as [interval, value], each checked as
/// `timespec64_valid`, in ns.
fn read_itimerspec(addr: u64) -> Result<(i128, i128)> {
    itimerspec_ns(uaccess::read::<[i64; 4]>(addr)?)
}

/// The [interval, value] of a `struct itimerspec` already read, checked
/// as `timespec64_valid`, in ns (also timerfd_settime's).
pub(super) fn itimerspec_ns([isec, insec, vsec, vnsec]: [i64; 4]) -> Result<(i128, i128)> {
    let valid = |sec: i64, nsec: i64| sec >= 0 && (0..1_000_000_000).contains(&nsec);
    if !valid(isec, insec) || !valid(vsec, vnsec) {
        return_errno_with_message!(EINVAL, "tv_nsec must be in [0, 999999999] and tv_sec non-negative");
    }
    let ns = |sec: i64, nsec: i64| i128::from(sec) * NSEC_PER_SEC + i128::from(nsec);
    Ok((ns(isec, insec), ns(vsec, vnsec)))
}

pub(super) fn write_itimerspec(addr: u64, s: TimerSetting) -> Result<()> {
    let split = |ns: i128| {
        let sec = i64::try_from(ns / NSEC_PER_SEC).unwrap_or(i64::MAX);
        (sec, (ns % NSEC_PER_SEC) as i64)
    };
    let (isec, insec) = split(s.interval_ns);
    let (vsec, vnsec) = split(s.value_ns);
    uaccess::write(addr, &[isec, insec, vsec, vnsec])
}

pub fn timer_settime(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let id = args::int(a[0]);
    // Flags other than TIMER_ABSTIME are ignored, as by Linux.
    let is_abstime = args::uint(a[1]) & g::TIMER_ABSTIME != 0;
    if a[2] == 0 {
        return_errno_with_message!(EINVAL, "new_value is NULL");
    }
    let (interval_ns, value_ns) = read_itimerspec(a[2])?;
    let Some(old) = cx.process().timers.set(id, is_abstime, value_ns, interval_ns) else {
        return_errno_with_message!(EINVAL, "no such timer")
    };
    // The new setting stands even if the old one cannot be written.
    if a[3] != 0 {
        write_itimerspec(a[3], old)?;
    }
    Ok(0)
}

pub fn timer_gettime(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let Some(cur) = cx.process().timers.get(args::int(a[0])) else {
        return_errno_with_message!(EINVAL, "no such timer")
    };
    write_itimerspec(a[1], cur)?;
    Ok(0)
}

pub fn timer_getoverrun(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    match cx.process().timers.overrun(args::int(a[0])) {
        Some(n) => Ok(u64::try_from(n).unwrap_or(0)),
        None => return_errno_with_message!(EINVAL, "no such timer"),
    }
}

pub fn timer_delete(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if !cx.process().timers.delete(args::int(a[0])) {
        return_errno_with_message!(EINVAL, "no such timer");
    }
    Ok(0)
}
