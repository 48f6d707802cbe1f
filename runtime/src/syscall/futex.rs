//! futex(2): the wait queues behind every lock of the guest's libc.
//!
//! Private futexes live in this process: a wait queue keyed by the guest
//! address, guarded by one lock that is also held while the futex word is
//! compared, so a wake between the compare and the sleep cannot be lost.
//!
//! Shared futexes (no FUTEX_PRIVATE_FLAG, on a MAP_SHARED mapping) can have
//! waiters in other tasks: their queues live in the daemon, keyed like
//! Linux keys them (file and offset, or shared-anonymous region and
//! offset). A non-private futex on private memory is a private one.
//!
//! Divergences from Linux:
//! - FUTEX_REQUEUE/CMP_REQUEUE on shared futexes only see waiters of this
//!   process (glibc's condition variables no longer requeue).
//! - PI futexes and FUTEX_WAKE_OP / FUTEX_WAITV are ENOSYS.

use super::{args, timeout, Ctx};
use crate::daemon;
use crate::mm::Backing;
use mactux_proto::{FutexKey, Request, Response};
use crate::abi::Timespec;
use crate::error::Result;
use crate::{errno, return_errno, return_errno_with_message};
use linux_raw_sys::general as g;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

struct Waiter {
    id: u64,
    addr: u64,
    bitset: u32,
    woken: bool,
}

#[derive(Default)]
struct Queue {
    waiters: Vec<Waiter>,
    next_id: u64,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue { waiters: Vec::new(), next_id: 0 });
static WAKEUP: Condvar = Condvar::new();

fn lock_queue() -> std::sync::MutexGuard<'static, Queue> {
    QUEUE.lock().unwrap_or_else(|e| e.into_inner())
}

/// How often a sleeping futex waiter looks for a signal to deliver.
const SIGNAL_CHECK_INTERVAL: Duration = Duration::from_millis(20);

/// Blocks while the word at `addr` equals `val`, until woken or `deadline`.
fn wait(addr: u64, val: u32, bitset: u32, deadline: Option<Instant>) -> Result<u64> {
    let mut q = lock_queue();
    let cur: u32 = crate::uaccess::read(addr)?;
    if cur != val {
        return_errno!(EAGAIN);
    }
    let id = q.next_id;
    q.next_id += 1;
    q.waiters.push(Waiter { id, addr, bitset, woken: false });
    loop {
        if let Some(i) = q.waiters.iter().position(|w| w.id == id && w.woken) {
            q.waiters.remove(i);
            return Ok(0);
        }
        // A condition variable does not wake for signals: look for a
        // deliverable one between slices (the host handler only records it).
        if crate::signal::needs_delivery(None, 0) {
            q.waiters.retain(|w| w.id != id);
            return_errno!(EINTR);
        }
        let now = Instant::now();
        let slice = match deadline {
            Some(d) if now >= d => {
                q.waiters.retain(|w| w.id != id);
                return_errno!(ETIMEDOUT);
            }
            Some(d) => (d - now).min(SIGNAL_CHECK_INTERVAL),
            None => SIGNAL_CHECK_INTERVAL,
        };
        q = WAKEUP.wait_timeout(q, slice).map(|(g, _)| g).unwrap_or_else(|e| e.into_inner().0);
    }
}

/// Wakes up to `n` waiters on `addr` whose bitset intersects `bitset`.
fn wake(addr: u64, n: u32, bitset: u32) -> Result<u64> {
    let mut q = lock_queue();
    let mut woken = 0u32;
    for w in q.waiters.iter_mut().filter(|w| w.addr == addr && !w.woken && w.bitset & bitset != 0) {
        if woken >= n {
            break;
        }
        w.woken = true;
        woken += 1;
    }
    if woken > 0 {
        WAKEUP.notify_all();
    }
    Ok(u64::from(woken))
}

/// Wakes `n` waiters on `addr` and moves up to `n2` others to `addr2`.
fn requeue(addr: u64, n: u32, addr2: u64, n2: u32, expected: Option<u32>) -> Result<u64> {
    let mut q = lock_queue();
    if let Some(v) = expected {
        let cur: u32 = crate::uaccess::read(addr)?;
        if cur != v {
            return_errno!(EAGAIN);
        }
    }
    let (mut woken, mut moved) = (0u32, 0u32);
    for w in q.waiters.iter_mut().filter(|w| w.addr == addr && !w.woken) {
        if woken < n {
            w.woken = true;
            woken += 1;
        } else if moved < n2 {
            w.addr = addr2;
            moved += 1;
        }
    }
    if woken > 0 {
        WAKEUP.notify_all();
    }
    Ok(u64::from(woken + moved))
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
    let mm = crate::task::lock(&crate::task::current().mm);
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
fn shared_wait(key: FutexKey, addr: u64, val: u32, bitset: u32, deadline: Option<Instant>) -> Result<u64> {
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
        if crate::signal::needs_delivery(None, 0) {
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

pub fn futex(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
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
                Some(key) => shared_wait(key, addr, val, u32::MAX, deadline),
                None => wait(addr, val, u32::MAX, deadline),
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
                Some(key) => shared_wait(key, addr, val, bitset, deadline),
                None => wait(addr, val, bitset, deadline),
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
        g::FUTEX_REQUEUE => requeue(addr, val, a[4], args::uint(a[3]), None),
        g::FUTEX_CMP_REQUEUE => requeue(addr, val, a[4], args::uint(a[3]), Some(args::uint(a[5]))),
        _ => Err(errno!(ENOSYS, "futex operation not emulated")),
    }
}
