//! futex(2): the wait queues behind every lock of the guest's libc.
//!
//! Private futexes live in this process (`task::FutexTable`): waiters
//! queued by guest address under one lock that is also held while the
//! futex word is compared, so a wake between the compare and the sleep
//! cannot be lost; a waker unparks the waiting thread directly.
//!
//! Shared futexes (no FUTEX_PRIVATE_FLAG, on a MAP_SHARED mapping) can have
//! waiters in other tasks: their queues live in the daemon, keyed like
//! Linux keys them (file and offset, or shared-anonymous region and
//! offset). A non-private futex on private memory is a private one.
//!
//! Divergences from Linux:
//! - FUTEX_REQUEUE/CMP_REQUEUE on shared futexes only see waiters of this
//!   process (glibc's condition variables no longer requeue).
//! - PI futexes and FUTEX_WAITV are ENOSYS.
//! - A shared futex waiter looks for signals between 50 ms sleeps at the
//!   daemon.

use super::{args, timeout, Ctx};
use crate::daemon;
use crate::mm::Backing;
use mactux_proto::{FutexKey, Request, Response};
use crate::abi::Timespec;
use crate::error::Result;
use crate::{errno, return_errno, return_errno_with_message};
use linux_raw_sys::general as g;
use crate::error::Error;
use crate::task::{current, lock, Thread};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Blocks `thread` while the word at `addr` equals `val`, until woken,
/// interrupted by a signal for it, or `deadline`.
fn wait(thread: &Arc<Thread>, addr: u64, val: u32, bitset: u32, deadline: Option<Instant>) -> Result<u64> {
    let p = current();
    let state = {
        let mut q = lock(&p.futexes);
        let cur: u32 = crate::uaccess::read(addr)?;
        if cur != val {
            return_errno!(EAGAIN);
        }
        q.enqueue(addr, bitset, thread.clone())
    };
    let give_up = |e: Error| -> Result<u64> {
        // A waker that took us off the queue first has woken us: that
        // wake counts (it was reported to the waker).
        if lock(&p.futexes).cancel(&state) { Err(e) } else { Ok(0) }
    };
    loop {
        let seq = thread.parker.seq();
        if state.is_woken() {
            return Ok(0);
        }
        if crate::signal::interrupts(thread) {
            return give_up(errno!(EINTR));
        }
        let timeout_ns = match deadline {
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return give_up(errno!(ETIMEDOUT));
                }
                Some(u64::try_from((d - now).as_nanos()).unwrap_or(u64::MAX))
            }
            None => None,
        };
        thread.parker.park(seq, timeout_ns);
    }
}

/// Wakes up to `n` waiters on `addr` whose bitset intersects `bitset`.
fn wake(addr: u64, n: u32, bitset: u32) -> Result<u64> {
    Ok(u64::from(lock(&current().futexes).wake(addr, n, bitset)))
}

/// Wakes `n` waiters on `addr` and moves up to `n2` others to `addr2`.
fn requeue(addr: u64, n: u32, addr2: u64, n2: u32, expected: Option<u32>) -> Result<u64> {
    let mut q = lock(&current().futexes);
    if let Some(v) = expected {
        let cur: u32 = crate::uaccess::read(addr)?;
        if cur != v {
            return_errno!(EAGAIN);
        }
    }
    let (woken, moved) = q.requeue(addr, n, addr2, n2);
    Ok(u64::from(woken + moved))
}

/// Wakes one waiter on a word whatever kind of futex it is (the exit of a
/// thread with CLONE_CHILD_CLEARTID, robust-list cleanup): in the daemon
/// if the word is in shared memory, here otherwise, as Linux's
/// `futex_wake(uaddr, FLAGS_SHARED, 1)` does.
pub fn wake_word(addr: u64, n: u32) {
    match shared_key(addr) {
        Some(key) => {
            let _ = shared_wake(key, n, u32::MAX);
            let _ = wake(addr, n, u32::MAX);
        }
        None => {
            let _ = wake(addr, n, u32::MAX);
        }
    }
}

/// FUTEX_WAKE_OP: `*addr2 = op(*addr2, oparg)` atomically, wake `n` on
/// `addr`, and `n2` on `addr2` if the old value met the comparison
/// (futex(2), "FUTEX_WAKE_OP").
fn wake_op(addr: u64, n: u32, addr2: u64, n2: u32, encoded: u32) -> Result<u64> {
    let op = (encoded >> 28) & 0x7;
    let shift_arg = encoded & (g::FUTEX_OP_OPARG_SHIFT << 28) != 0;
    let cmp = (encoded >> 24) & 0xf;
    // Both arguments are sign-extended 12-bit fields.
    let mut oparg = ((encoded << 8) as i32 >> 20) as u32;
    let cmparg = ((encoded << 20) as i32 >> 20) as u32;
    if shift_arg {
        if oparg > 31 {
            // Linux warns and masks the shift.
            oparg &= 31;
        }
        oparg = 1u32 << oparg;
    }
    let apply: fn(u32, u32) -> u32 = match op {
        g::FUTEX_OP_SET => |_, a| a,
        g::FUTEX_OP_ADD => |v, a| v.wrapping_add(a),
        g::FUTEX_OP_OR => |v, a| v | a,
        g::FUTEX_OP_ANDN => |v, a| v & !a,
        g::FUTEX_OP_XOR => |v, a| v ^ a,
        _ => return_errno_with_message!(ENOSYS, "unknown FUTEX_WAKE_OP operation"),
    };
    let test: fn(i32, i32) -> bool = match cmp {
        g::FUTEX_OP_CMP_EQ => |a, b| a == b,
        g::FUTEX_OP_CMP_NE => |a, b| a != b,
        g::FUTEX_OP_CMP_LT => |a, b| a < b,
        g::FUTEX_OP_CMP_LE => |a, b| a <= b,
        g::FUTEX_OP_CMP_GT => |a, b| a > b,
        g::FUTEX_OP_CMP_GE => |a, b| a >= b,
        _ => return_errno_with_message!(ENOSYS, "unknown FUTEX_WAKE_OP comparison"),
    };
    let mut q = lock(&current().futexes);
    let old = crate::uaccess::fetch_update_u32(addr2, |v| apply(v, oparg))?;
    let mut woken = q.wake(addr, n, u32::MAX);
    if test(old as i32, cmparg as i32) {
        woken += q.wake(addr2, n2, u32::MAX);
    }
    Ok(u64::from(woken))
}

/// The bitset of the *_BITSET operations: no waiter can match an empty one.
fn nonzero_bitset(a: u64) -> Result<u32> {
    match args::uint(a) {
        0 => Err(errno!(EINVAL, "bitset must not be 0")),
        b => Ok(b),
    }
}

/// An absolute timeout on `clock` turned into an `Instant` (`None`: beyond
/// the host clock's range, so never).
fn absolute_deadline(ts: Timespec, clock: u32) -> Result<Option<Instant>> {
    let now = crate::host::time::clock_gettime(clock).map_err(crate::error::Error::new)?;
    let rel_ns = (i128::from(ts.sec) - i128::from(now.sec)) * 1_000_000_000 + i128::from(ts.nsec - now.nsec);
    let rel = Duration::from_nanos(rel_ns.clamp(0, i128::from(u64::MAX)) as u64);
    Ok(Instant::now().checked_add(rel))
}

/// The daemon's key for a non-private futex word, if it lies in shared memory.
fn shared_key(addr: u64) -> Option<FutexKey> {
    if crate::daemon::is_standalone() {
        return None;
    }
    let mm = lock(&current().mm);
    let (start, vma) = mm.find(addr)?;
    if !vma.is_shared {
        return None;
    }
    match vma.backing {
        Backing::File { offset, dev, ino, .. } => Some(FutexKey::File { dev, ino, offset: offset + (addr - start) }),
        Backing::SharedAnon { region, offset } => Some(FutexKey::Anon { region, offset: offset + (addr - start) }),
        _ => None,
    }
}

fn token_of(r: Response) -> Result<u64> {
    match r {
        Response::Token(t) => Ok(t),
        _ => Err(errno!(EIO, "unexpected daemon answer")),
    }
}

/// How long one sleep at the daemon lasts before the waiter looks for signals.
const SHARED_SLICE: Duration = Duration::from_millis(50);

/// FUTEX_WAIT on a shared futex: queue at the daemon, compare, then sleep.
fn shared_wait(thread: &Thread, key: FutexKey, addr: u64, val: u32, bitset: u32, deadline: Option<Instant>) -> Result<u64> {
    let token = token_of(daemon::call(&Request::FutexQueue { key, bitset })?)?;
    let cancel = || {
        let _ = daemon::call(&Request::FutexCancel { token });
    };
    let cur: u32 = match crate::uaccess::read(addr) {
        Ok(v) => v,
        Err(e) => {
            cancel();
            return Err(e);
        }
    };
    if cur != val {
        cancel();
        return_errno!(EAGAIN);
    }
    loop {
        if crate::signal::interrupts(thread) {
            cancel();
            return_errno!(EINTR);
        }
        let now = Instant::now();
        let slice = match deadline {
            Some(d) if now >= d => {
                cancel();
                return_errno!(ETIMEDOUT);
            }
            Some(d) => (d - now).min(SHARED_SLICE),
            None => SHARED_SLICE,
        };
        let timeout_ns = u64::try_from(slice.as_nanos()).unwrap_or(u64::MAX);
        match daemon::call(&Request::FutexSleep { token, timeout_ns }) {
            Ok(Response::Ok) => return Ok(0),
            Err(e) if e.errno == crate::abi::Errno::ETIMEDOUT => continue,
            Ok(_) => {
                cancel();
                return Err(errno!(EIO, "unexpected daemon answer"));
            }
            Err(e) => {
                cancel();
                return Err(e);
            }
        }
    }
}

fn shared_wake(key: FutexKey, count: u32, bitset: u32) -> Result<u64> {
    match daemon::call(&Request::FutexWake { key, count, bitset })? {
        Response::Woken(n) => Ok(u64::from(n)),
        _ => Err(errno!(EIO, "unexpected daemon answer")),
    }
}

pub fn futex(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (addr, op, val) = (a[0], args::uint(a[1]), args::uint(a[2]));
    if addr % 4 != 0 {
        return_errno_with_message!(EINVAL, "futex word must be 4-byte aligned");
    }
    let is_realtime = op & g::FUTEX_CLOCK_REALTIME != 0;
    let cmd = op & !(g::FUTEX_PRIVATE_FLAG | g::FUTEX_CLOCK_REALTIME);
    let shared = if op & g::FUTEX_PRIVATE_FLAG == 0 { shared_key(addr) } else { None };
    if is_realtime && cmd != g::FUTEX_WAIT && cmd != g::FUTEX_WAIT_BITSET {
        return_errno_with_message!(ENOSYS, "FUTEX_CLOCK_REALTIME only goes with the wait operations");
    }
    match cmd {
        g::FUTEX_WAIT => {
            // FUTEX_WAIT takes a relative timeout (measured on CLOCK_MONOTONIC).
            let deadline = timeout::read_optional(a[3])?.and_then(timeout::deadline);
            match shared {
                Some(key) => shared_wait(cx.thread(), key, addr, val, u32::MAX, deadline),
                None => wait(&cx.thread_arc(), addr, val, u32::MAX, deadline),
            }
        }
        g::FUTEX_WAIT_BITSET => {
            let bitset = nonzero_bitset(a[5])?;
            let clock = if is_realtime { g::CLOCK_REALTIME } else { g::CLOCK_MONOTONIC };
            let deadline = match timeout::read_optional(a[3])? {
                Some(ts) => absolute_deadline(ts, clock)?,
                None => None,
            };
            match shared {
                Some(key) => shared_wait(cx.thread(), key, addr, val, bitset, deadline),
                None => wait(&cx.thread_arc(), addr, val, bitset, deadline),
            }
        }
        g::FUTEX_WAKE => match shared {
            Some(key) => shared_wake(key, val, u32::MAX),
            None => wake(addr, val, u32::MAX),
        },
        g::FUTEX_WAKE_BITSET => {
            let bitset = nonzero_bitset(a[5])?;
            match shared {
                Some(key) => shared_wake(key, val, bitset),
                None => wake(addr, val, bitset),
            }
        }
        g::FUTEX_REQUEUE | g::FUTEX_CMP_REQUEUE => {
            // Both counts are ints to the kernel (futex_requeue: EINVAL if
            // negative); the second travels in the timeout argument.
            let (nr_wake, nr_requeue) = (args::int(a[2]), args::int(a[3]));
            if nr_wake < 0 || nr_requeue < 0 {
                return_errno_with_message!(EINVAL, "negative wake or requeue count");
            }
            if a[4] % 4 != 0 {
                return_errno_with_message!(EINVAL, "futex word must be 4-byte aligned");
            }
            let expected = (cmd == g::FUTEX_CMP_REQUEUE).then(|| args::uint(a[5]));
            requeue(addr, nr_wake as u32, a[4], nr_requeue as u32, expected)
        }
        g::FUTEX_WAKE_OP => {
            if a[4] % 4 != 0 {
                return_errno_with_message!(EINVAL, "futex word must be 4-byte aligned");
            }
            wake_op(addr, val, a[4], args::uint(a[3]), args::uint(a[5]))
        }
        _ => Err(errno!(ENOSYS, "futex operation not emulated")),
    }
}
