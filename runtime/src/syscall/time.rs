//! Clocks and sleeping.

use super::{args, timeout, Ctx};
use crate::abi::{Timespec, Timeval};
use crate::error::{Error, Result};
use crate::host;
use crate::uaccess;
use crate::return_errno_with_message;
use linux_raw_sys::general as g;

/// A CPU-time clock id made by clock_getcpuclockid/pthread_getcpuclockid
/// (negative: `~pid << 3 | per_thread << 2 | kind`, include/linux/posix-timers.h),
/// resolved against this process: the calling thread's clock, another
/// thread's CPU time, or the process's clock.
pub(super) enum CpuClock {
    Fixed(u32),
    OtherThread(std::sync::Arc<crate::task::Thread>),
}

const CPUCLOCK_PERTHREAD: u32 = 4;
const CPUCLOCK_KIND_MASK: u32 = 3;
const CPUCLOCK_MAX_KIND: u32 = 3;

pub(super) fn resolve_clock(cx: &Ctx<'_>, clock: u32) -> Result<CpuClock> {
    if (clock as i32) >= 0 {
        return Ok(CpuClock::Fixed(clock));
    }
    if clock & CPUCLOCK_KIND_MASK == CPUCLOCK_MAX_KIND {
        return_errno_with_message!(EINVAL, "no such CPU clock kind");
    }
    let id = !((clock as i32) >> 3) as u32;
    let p = crate::task::current();
    if clock & CPUCLOCK_PERTHREAD != 0 {
        if id == 0 || id == cx.thread().tid() {
            return Ok(CpuClock::Fixed(g::CLOCK_THREAD_CPUTIME_ID));
        }
        return match p.thread(id) {
            Some(t) => Ok(CpuClock::OtherThread(t)),
            None => Err(crate::errno!(EINVAL, "no such thread in this process")),
        };
    }
    if id == 0 || id == p.pid() {
        return Ok(CpuClock::Fixed(g::CLOCK_PROCESS_CPUTIME_ID));
    }
    Err(crate::errno!(EINVAL, "the CPU clocks of other processes are not readable"))
}

pub fn clock_gettime(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let ts = match resolve_clock(cx, args::uint(a[0]))? {
        CpuClock::Fixed(c) => host::time::clock_gettime(c).map_err(|e| Error::with_message(e, "unknown clock id"))?,
        CpuClock::OtherThread(t) => {
            let h = *crate::task::lock(&t.host);
            let ns = h.and_then(|h| host::thread::cpu_time_of(&h)).ok_or_else(|| crate::errno!(EINVAL, "the thread has ended"))?;
            Timespec { sec: (ns / 1_000_000_000) as i64, nsec: (ns % 1_000_000_000) as i64 }
        }
    };
    uaccess::write(a[1], &ts)?;
    Ok(0)
}

pub fn clock_getres(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let clock = match resolve_clock(cx, args::uint(a[0]))? {
        CpuClock::Fixed(c) => c,
        CpuClock::OtherThread(_) => g::CLOCK_THREAD_CPUTIME_ID,
    };
    let ts = host::time::clock_getres(clock).map_err(|e| Error::with_message(e, "unknown clock id"))?;
    if a[1] != 0 {
        uaccess::write(a[1], &ts)?;
    }
    Ok(0)
}

pub fn gettimeofday(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if a[0] != 0 {
        let ts = host::time::clock_gettime(g::CLOCK_REALTIME).map_err(Error::new)?;
        uaccess::write(a[0], &Timeval { sec: ts.sec, usec: ts.nsec / 1000 })?;
    }
    if a[1] != 0 {
        // The kernel keeps no real timezone; it reports minutes west 0, no DST.
        uaccess::write(a[1], &[0i32; 2])?;
    }
    Ok(0)
}

pub fn time(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    // Linux answers from the seconds of the last tick (ktime_get_real_seconds,
    // kernel/time/time.c), which the coarse clock reads; so does the vDSO's
    // time(), which must agree with this call.
    let ts = host::time::clock_gettime(g::CLOCK_REALTIME_COARSE).map_err(Error::new)?;
    if a[0] != 0 {
        uaccess::write(a[0], &ts.sec)?;
    }
    Ok(ts.sec as u64)
}

pub fn clock_settime(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let clock = args::uint(a[0]);
    if host::time::clock_to_host(clock).is_none() {
        return_errno_with_message!(EINVAL, "unknown clock id");
    }
    if clock != g::CLOCK_REALTIME {
        return_errno_with_message!(EINVAL, "only CLOCK_REALTIME can be set");
    }
    let ts = timeout::read_timespec(a[1])?;
    let _ = ts;
    Err(crate::errno!(EPERM, "the guest may not set the host's clock"))
}

fn sleep_for(thread: &crate::task::Thread, d: Timespec, rem_addr: u64) -> Result<u64> {
    // A signal that came just before the sleep (recorded by the runtime, so
    // invisible to the host call) ends it before it starts, as Linux ends a
    // sleep with a signal pending; the whole time remains.
    let pending = d.sec > 0 || d.nsec > 0;
    let r = if pending && crate::signal::interrupts(thread) {
        Err((crate::abi::Errno::EINTR, d))
    } else {
        host::time::sleep(d)
    };
    match r {
        Ok(()) => Ok(0),
        Err((e, rem)) => {
            if rem_addr != 0 {
                uaccess::write(rem_addr, &rem)?;
            }
            Err(Error::new(e))
        }
    }
}

pub fn nanosleep(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let d = timeout::read_timespec(a[0])?;
    sleep_for(cx.thread(), d, a[1])
}

pub fn clock_nanosleep(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let clock = args::uint(a[0]);
    let flags = args::uint(a[1]);
    if flags & !g::TIMER_ABSTIME != 0 {
        return_errno_with_message!(EINVAL, "flags must be 0 or TIMER_ABSTIME");
    }
    match clock {
        g::CLOCK_REALTIME | g::CLOCK_MONOTONIC | g::CLOCK_BOOTTIME | g::CLOCK_TAI | g::CLOCK_PROCESS_CPUTIME_ID => {}
        g::CLOCK_THREAD_CPUTIME_ID => return_errno_with_message!(EINVAL, "cannot sleep on the thread CPU clock"),
        // Clocks without a sleep (`kc->nsleep` unset, kernel/time/posix-timers.c).
        g::CLOCK_MONOTONIC_RAW
        | g::CLOCK_REALTIME_COARSE
        | g::CLOCK_MONOTONIC_COARSE
        | g::CLOCK_REALTIME_ALARM
        | g::CLOCK_BOOTTIME_ALARM => return_errno_with_message!(EOPNOTSUPP, "this clock cannot be slept on"),
        c if (c as i32) < 0 => {
            return_errno_with_message!(EINVAL, "sleeping on another thread's or process's CPU clock is not emulated")
        }
        _ => return_errno_with_message!(EINVAL, "unknown clock"),
    }
    let t = timeout::read_timespec(a[2])?;
    let d = if flags & g::TIMER_ABSTIME != 0 {
        let now = host::time::clock_gettime(clock).map_err(Error::new)?;
        let mut ns = (i128::from(t.sec) - i128::from(now.sec)) * 1_000_000_000 + i128::from(t.nsec - now.nsec);
        if ns < 0 {
            ns = 0;
        }
        Timespec { sec: (ns / 1_000_000_000) as i64, nsec: (ns % 1_000_000_000) as i64 }
    } else {
        t
    };
    // An absolute sleep reports no remaining time.
    let rem = if flags & g::TIMER_ABSTIME != 0 { 0 } else { a[3] };
    sleep_for(cx.thread(), d, rem)
}
