//! Timeouts the guest passes to blocking calls (futex, the poll family,
//! rt_sigtimedwait, the sleeps): read and checked as the kernel checks them
//! (`timespec64_valid`), and turned into deadlines without overflow. A
//! timeout too large for the host clock is a wait without end, as it is in
//! effect on Linux.

use crate::abi::{Timespec, Timeval, NSEC_PER_SEC};
use crate::error::Result;
use crate::return_errno_with_message;
use crate::uaccess;
use std::time::{Duration, Instant};

/// A `struct timespec` the call requires (nanosleep): a null pointer fails
/// with EFAULT in the read, a value outside `timespec64_valid` with EINVAL.
pub fn read_timespec(addr: u64) -> Result<Timespec> {
    check_timespec(uaccess::read(addr)?)
}

/// The check of [`read_timespec`] on a value already read (pure: the
/// syscall_args fuzz target calls it).
pub fn check_timespec(t: Timespec) -> Result<Timespec> {
    if !t.is_valid() {
        return_errno_with_message!(EINVAL, "tv_nsec must be in [0, 999999999] and tv_sec non-negative");
    }
    Ok(t)
}

/// An optional relative timeout: `None` for a null pointer (wait forever).
pub fn read_optional(addr: u64) -> Result<Option<Timespec>> {
    if addr == 0 {
        return Ok(None);
    }
    read_timespec(addr).map(Some)
}

/// select's `struct timeval`, normalised as `kern_select` does: whole
/// seconds in tv_usec carry into tv_sec, and what results must be a valid
/// timespec (so only negative times are refused).
pub fn read_timeval(addr: u64) -> Result<Timespec> {
    timeval_to_timespec(uaccess::read(addr)?)
}

/// The normalisation of [`read_timeval`] on a value already read (pure:
/// the syscall_args fuzz target calls it).
pub fn timeval_to_timespec(tv: Timeval) -> Result<Timespec> {
    let t = Timespec {
        sec: tv.sec.wrapping_add(tv.usec / 1_000_000),
        nsec: (tv.usec % 1_000_000).wrapping_mul(1000),
    };
    if !t.is_valid() {
        return_errno_with_message!(EINVAL, "the timeout is negative");
    }
    Ok(t)
}

/// Where a valid relative timeout ends; `None` when that lies beyond what
/// the host clock can represent, which is to say never.
pub fn deadline(t: Timespec) -> Option<Instant> {
    let d = Duration::new(u64::try_from(t.sec).ok()?, u32::try_from(t.nsec).ok()?);
    Instant::now().checked_add(d)
}

/// The time left until `deadline`, zero once it has passed.
pub fn left(deadline: Instant) -> Timespec {
    let rest = deadline.saturating_duration_since(Instant::now());
    Timespec { sec: i64::try_from(rest.as_secs()).unwrap_or(i64::MAX), nsec: i64::from(rest.subsec_nanos()) }
}

/// Runs a wait bounded by `timeout` (read from `addr`) and then writes the
/// time left back there ([`write_back_left`]), whatever the wait returned.
pub fn wait_and_write_back<T>(addr: u64, timeout: Option<Timespec>, as_timeval: bool, wait: impl FnOnce() -> Result<T>) -> Result<T> {
    let end = timeout.and_then(deadline);
    let r = wait();
    write_back_left(addr, timeout, end, as_timeval);
    r
}

/// What select, pselect6 and ppoll write back into the guest's timeout
/// (`poll_select_finish`): the time left, unless the timeout was zero. Linux
/// ignores a failure to write it, so that a timeout in read-only memory does
/// not turn a completed call into EFAULT.
fn write_back_left(addr: u64, timeout: Option<Timespec>, end: Option<Instant>, as_timeval: bool) {
    let Some(t) = timeout else { return };
    if addr == 0 || (t.sec == 0 && t.nsec == 0) {
        return;
    }
    // A timeout beyond the clock's range has (practically) all of it left.
    let rest = end.map_or(t, left);
    let _ = if as_timeval {
        uaccess::write(addr, &Timeval { sec: rest.sec, usec: rest.nsec / (NSEC_PER_SEC / 1_000_000) })
    } else {
        uaccess::write(addr, &rest)
    };
}
