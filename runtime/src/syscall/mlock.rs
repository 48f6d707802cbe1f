//! mlock(2), mlock2, munlock, mlockall, munlockall (Linux's mm/mlock.c).
//!
//! The pages are locked in the host process, where guest memory lives; the
//! checks before are Linux's, made with the guest's credentials: without
//! CAP_IPC_LOCK a zero RLIMIT_MEMLOCK is EPERM and a range larger than the
//! limit ENOMEM. Divergences: the limit is checked against the one call's
//! range, not the total the process has locked; MCL_FUTURE is accepted but
//! memory mapped later is not locked; /proc/PID/status shows no VmLck.

use super::{args, Ctx};
use crate::abi::{gen as g, page_round_up, PAGE_SIZE};
use crate::error::{Error, Result};
use crate::host;
use crate::task::{current, lock};
use crate::{errno, return_errno_with_message};

/// can_do_mlock(): CAP_IPC_LOCK, or a non-zero RLIMIT_MEMLOCK; and the
/// limit in bytes (None: the capability, or no limit).
fn lock_limit() -> Result<Option<u64>> {
    if current().cred().capable(g::CAP_IPC_LOCK) {
        return Ok(None);
    }
    let (soft, _) = host::process::get_rlimit(g::RLIMIT_MEMLOCK).map_err(Error::new)?;
    match soft {
        0 => Err(errno!(EPERM, "RLIMIT_MEMLOCK is 0 and the task lacks CAP_IPC_LOCK")),
        s if s >= i64::MAX as u64 => Ok(None),
        s => Ok(Some(s)),
    }
}

/// The whole pages of `[addr, addr + len)`, as Linux rounds them: the start
/// down, the length up by what that added.
fn pages(addr: u64, len: u64) -> Result<(u64, u64)> {
    let start = addr & !(PAGE_SIZE - 1);
    let len = len.checked_add(addr - start).and_then(page_round_up).ok_or_else(|| errno!(EINVAL, "the range wraps around"))?;
    start.checked_add(len).ok_or_else(|| errno!(EINVAL, "the range wraps around"))?;
    Ok((start, len))
}

fn lock_range(addr: u64, len: u64, locked: bool) -> Result<u64> {
    let (start, len) = pages(addr, len)?;
    if locked {
        if let Some(limit) = lock_limit()? {
            if len > limit {
                return_errno_with_message!(ENOMEM, "the range is larger than RLIMIT_MEMLOCK");
            }
        }
    }
    if len == 0 {
        return Ok(0);
    }
    if !lock(&current().mm).is_mapped(start, start + len) {
        return_errno_with_message!(ENOMEM, "the range is not fully mapped");
    }
    host::mem::lock(start, len, locked).map_err(Error::new)?;
    Ok(0)
}

pub fn mlock(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    lock_range(a[0], a[1], true)
}

pub fn mlock2(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    args::flags(a[2], g::MLOCK_ONFAULT, "mlock2 takes only MLOCK_ONFAULT")?;
    lock_range(a[0], a[1], true)
}

pub fn munlock(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    lock_range(a[0], a[1], false)
}

/// Every guest mapping, locked or unlocked; a mapping the host refuses
/// is left as it is, as Linux's mlockall goes on past a failing one.
fn lock_all(locked: bool) {
    let ranges: Vec<(u64, u64)> = lock(&current().mm).iter().map(|(s, v)| (s, v.end - s)).collect();
    for (start, len) in ranges {
        let _ = host::mem::lock(start, len, locked);
    }
}

pub fn mlockall(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let flags = args::flags(a[0], g::MCL_CURRENT | g::MCL_FUTURE | g::MCL_ONFAULT, "unknown mlockall flags")?;
    if flags & (g::MCL_CURRENT | g::MCL_FUTURE) == 0 {
        return_errno_with_message!(EINVAL, "mlockall needs MCL_CURRENT or MCL_FUTURE");
    }
    let limit = lock_limit()?;
    if flags & g::MCL_CURRENT != 0 {
        let mapped = lock(&current().mm).mapped_bytes(0, u64::MAX);
        if limit.is_some_and(|l| mapped > l) {
            return_errno_with_message!(ENOMEM, "the mapped memory is larger than RLIMIT_MEMLOCK");
        }
        lock_all(true);
    }
    Ok(0)
}

pub fn munlockall(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    lock_all(false);
    Ok(0)
}
