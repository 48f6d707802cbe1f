//! Clocks and sleeping (Linux side).

use crate::abi::{Errno, Timespec};
use crate::host::HostResult;
use linux_raw_sys::general as g;

/// Linux clock ids → host clock ids (identical values on a Linux host).
pub fn clock_to_host(clock: u32) -> Option<libc::clockid_t> {
    Some(match clock {
        g::CLOCK_REALTIME => libc::CLOCK_REALTIME,
        g::CLOCK_MONOTONIC => libc::CLOCK_MONOTONIC,
        g::CLOCK_PROCESS_CPUTIME_ID => libc::CLOCK_PROCESS_CPUTIME_ID,
        g::CLOCK_THREAD_CPUTIME_ID => libc::CLOCK_THREAD_CPUTIME_ID,
        g::CLOCK_MONOTONIC_RAW => libc::CLOCK_MONOTONIC_RAW,
        g::CLOCK_REALTIME_COARSE => libc::CLOCK_REALTIME_COARSE,
        g::CLOCK_MONOTONIC_COARSE => libc::CLOCK_MONOTONIC_COARSE,
        g::CLOCK_BOOTTIME => libc::CLOCK_BOOTTIME,
        g::CLOCK_REALTIME_ALARM => libc::CLOCK_REALTIME_ALARM,
        g::CLOCK_BOOTTIME_ALARM => libc::CLOCK_BOOTTIME_ALARM,
        g::CLOCK_TAI => libc::CLOCK_TAI,
        _ => return None,
    })
}

pub fn clock_gettime(clock: u32) -> HostResult<Timespec> {
    let id = clock_to_host(clock).ok_or(Errno::EINVAL)?;
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid out-parameter.
    if unsafe { libc::clock_gettime(id, &mut ts) } < 0 {
        return Err(super::errno::last());
    }
    Ok(Timespec { sec: ts.tv_sec, nsec: ts.tv_nsec })
}

pub fn clock_getres(clock: u32) -> HostResult<Timespec> {
    let id = clock_to_host(clock).ok_or(Errno::EINVAL)?;
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid out-parameter.
    if unsafe { libc::clock_getres(id, &mut ts) } < 0 {
        return Err(super::errno::last());
    }
    Ok(Timespec { sec: ts.tv_sec, nsec: ts.tv_nsec })
}

/// Sleeps for `d`; on interruption returns EINTR and the time left.
pub fn sleep(d: Timespec) -> Result<(), (Errno, Timespec)> {
    let req = libc::timespec { tv_sec: d.sec, tv_nsec: d.nsec };
    let mut rem = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid in/out parameters.
    if unsafe { libc::nanosleep(&req, &mut rem) } < 0 {
        return Err((super::errno::last(), Timespec { sec: rem.tv_sec, nsec: rem.tv_nsec }));
    }
    Ok(())
}
