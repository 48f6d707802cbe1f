//! Clocks and sleeping (macOS side).
//!
//! macOS clock ids (time.h): REALTIME 0, MONOTONIC_RAW 4, MONOTONIC_RAW_APPROX 5,
//! MONOTONIC 6, UPTIME_RAW 8, PROCESS_CPUTIME_ID 12, THREAD_CPUTIME_ID 16.

use linux_raw_sys::general as g;

const _: () = assert!(libc::CLOCK_REALTIME == 0 && libc::CLOCK_MONOTONIC == 6 && libc::CLOCK_MONOTONIC_RAW == 4);
const _: () = assert!(libc::CLOCK_PROCESS_CPUTIME_ID == 12 && libc::CLOCK_THREAD_CPUTIME_ID == 16);
const _: () = assert!(libc::CLOCK_MONOTONIC_RAW_APPROX == 5);

/// Linux clock ids → host clock ids.
pub fn clock_to_host(clock: u32) -> Option<libc::clockid_t> {
    Some(match clock {
        g::CLOCK_REALTIME => libc::CLOCK_REALTIME,
        // macOS CLOCK_MONOTONIC keeps counting during sleep (it is mach_continuous_time).
        g::CLOCK_MONOTONIC => libc::CLOCK_MONOTONIC,
        g::CLOCK_PROCESS_CPUTIME_ID => libc::CLOCK_PROCESS_CPUTIME_ID,
        g::CLOCK_THREAD_CPUTIME_ID => libc::CLOCK_THREAD_CPUTIME_ID,
        g::CLOCK_MONOTONIC_RAW => libc::CLOCK_MONOTONIC_RAW,
        // lossy: macOS has no coarse realtime clock; the precise one is returned.
        g::CLOCK_REALTIME_COARSE => libc::CLOCK_REALTIME,
        // lossy: the cached "approx" raw clock is the nearest coarse monotonic clock.
        g::CLOCK_MONOTONIC_COARSE => libc::CLOCK_MONOTONIC_RAW_APPROX,
        // lossy: macOS CLOCK_MONOTONIC already includes sleep time, as BOOTTIME does.
        g::CLOCK_BOOTTIME => libc::CLOCK_MONOTONIC,
        // lossy: no alarm clocks (they only matter for timers that wake the machine).
        g::CLOCK_REALTIME_ALARM => libc::CLOCK_REALTIME,
        g::CLOCK_BOOTTIME_ALARM => libc::CLOCK_MONOTONIC,
        // lossy: no TAI clock; UTC is off by the leap-second count (37 s in 2024).
        g::CLOCK_TAI => libc::CLOCK_REALTIME,
        _ => return None,
    })
}


/// No host function answers guest clock calls without a trap: macOS has no
/// vDSO, and the commpage's time data (whose layout Apple does not
/// document as an interface) is not read. Our vDSO makes the syscall,
/// which traps and is emulated.
pub fn guest_clock() -> crate::host::GuestClock {
    crate::host::GuestClock::default()
}
