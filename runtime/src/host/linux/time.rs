//! Clocks and sleeping (Linux side).

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

