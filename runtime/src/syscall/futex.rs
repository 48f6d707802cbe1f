//! futex(2), futex_waitv(2) and the futex2 calls futex_wake, futex_wait and
//! futex_requeue: the wait queues behind every lock of the guest's libc.
//! <https://man7.org/linux/man-pages/man2/futex.2.html>,
//! <https://docs.kernel.org/userspace-api/futex2.html>
//!
//! Private futexes live in this process (`task::FutexTable`): waiters
//! queued by guest address under one lock that is also held while the
//! futex word is compared, so a wake between the compare and the sleep
//! cannot be lost; a waker unparks the waiting thread directly. The PI
//! operations (FUTEX_LOCK_PI and friends) run the kernel's word protocol
//! on the same queues (task/futex.rs).
//!
//! Shared futexes (no FUTEX_PRIVATE_FLAG, on a MAP_SHARED mapping) can have
//! waiters in other tasks: their queues live in the daemon, keyed like
//! Linux keys them (file and offset, or shared-anonymous region and
//! offset). A non-private futex on private memory is a private one.
//!
//! Argument checks follow kernel/futex/syscalls.c in order: the timeout is
//! read (EFAULT, EINVAL) before the operation is looked at, an unknown
//! operation is ENOSYS, and FUTEX_CLOCK_REALTIME goes only with
//! FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI and FUTEX_LOCK_PI2 (ENOSYS
//! otherwise).
//!
//! Divergences from Linux:
//! - FUTEX_REQUEUE/CMP_REQUEUE on shared futexes only see waiters of this
//!   process (glibc's condition variables no longer requeue).
//! - The PI operations, futex_waitv and futex_requeue on a shared futex
//!   (a process-shared mutex in MAP_SHARED memory) are refused with ENOSYS
//!   and reported: the daemon knows no PI owners and no multi-waits.
//! - Priority inheritance is emulated without priorities: the lock goes to
//!   the oldest waiter (as with equal priorities on Linux); no owner is
//!   boosted.
//! - A PI futex owned by a TID that is no thread of this process is ESRCH
//!   (Linux would wait for a live task of another process). An owner that
//!   is exiting gets a few milliseconds to release its robust futexes
//!   before that answer (the kernel waits for its exit to finish).
//! - A shared futex waiter looks for signals between 50 ms sleeps at the
//!   daemon.
//! - Timeouts on CLOCK_REALTIME are measured on the monotonic clock from
//!   the moment of the call: a change of the wall clock during the wait
//!   does not move them.

use super::{args, timeout, Ctx};
use crate::abi::{Errno, Timespec};
use crate::daemon;
use crate::error::{Error, Result};
use crate::mm::Backing;
use crate::task::{current, lock, FutexTable, PiLock, Queues, Thread, WaitKind, WaitState};
use crate::{errno, return_errno, return_errno_with_message};
use linux_raw_sys::general as g;
use mactux_proto::{FutexKey, Request, Response};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a sleep on the parker ended.
enum Woke {
    Woken,
    TimedOut,
    Interrupted,
}

/// Sleeps until `state` is woken, a signal for `thread` arrives, or
/// `deadline` passes. The caller queued `state` first.
fn sleep(thread: &Thread, state: &WaitState, deadline: Option<Instant>) -> Woke {
    loop {
        let seq = thread.parker.seq();
        if state.is_woken() {
            return Woke::Woken;
        }
        if crate::signal::interrupts(thread) {
            return Woke::Interrupted;
        }
        let timeout_ns = match deadline {
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return Woke::TimedOut;
                }
                Some(u64::try_from((d - now).as_nanos()).unwrap_or(u64::MAX))
            }
            None => None,
        };
        thread.parker.park(seq, timeout_ns);
    }
}

/// Takes a waiter that gave up off the queues: `e` if it was still
/// queued, or `Ok(woken)` if a waker took it first (that wake counts: it
/// was reported to the waker).
fn give_up(state: &Arc<WaitState>, e: Error, woken: u64) -> Result<u64> {
    if Queues::lock(&current().futexes).cancel(state) { Err(e) } else { Ok(woken) }
}

/// Queues `thread` on `addr` if the word there still holds `val`
/// (EAGAIN otherwise): compared under the queue lock, so a wake that
/// follows a change of the word always finds the waiter.
fn queue_if_equal(thread: &Arc<Thread>, addr: u64, val: u32, bitset: u32, kind: WaitKind) -> Result<Arc<WaitState>> {
    let state = FutexTable::new_state(thread.clone());
    let mut q = Queues::lock(&current().futexes);
    let cur: u32 = crate::uaccess::read(addr)?;
    if cur != val {
        return_errno!(EAGAIN);
    }
    q.enqueue(addr, bitset, kind, 0, &state);
    Ok(state)
}

/// Blocks `thread` while the word at `addr` equals `val`, until woken,
/// interrupted by a signal for it, or `deadline`.
fn wait(thread: &Arc<Thread>, addr: u64, val: u32, bitset: u32, deadline: Option<Instant>) -> Result<u64> {
    let state = queue_if_equal(thread, addr, val, bitset, WaitKind::Plain)?;
    match sleep(thread, &state, deadline) {
        Woke::Woken => Ok(0),
        Woke::TimedOut => give_up(&state, errno!(ETIMEDOUT), 0),
        Woke::Interrupted => give_up(&state, errno!(EINTR), 0),
    }
}

/// How many waiters a wake count lets go: `futex_wake` stops after the
/// first one once the count is reached, so 0 and negative counts wake
/// one; futex_wake(2) (`strict`) wakes none for 0.
fn wake_limit(nr: u32, strict: bool) -> u32 {
    match nr as i32 {
        0 if strict => 0,
        n if n <= 0 => 1,
        n => n as u32,
    }
}

/// Wakes up to `n` waiters on `addr` whose bitset intersects `bitset`.
fn wake(addr: u64, n: u32, bitset: u32) -> Result<u64> {
    Ok(u64::from(Queues::lock(&current().futexes).wake(addr, n, bitset)?))
}

/// Wakes `n` waiters on `addr` and moves up to `n2` others to `addr2`.
fn requeue(addr: u64, n: u32, addr2: u64, n2: u32, expected: Option<u32>) -> Result<u64> {
    if (n as i32) < 0 || (n2 as i32) < 0 {
        return_errno_with_message!(EINVAL, "wake and requeue counts must not be negative");
    }
    let mut q = Queues::lock(&current().futexes);
    if let Some(v) = expected {
        let cur: u32 = crate::uaccess::read(addr)?;
        if cur != v {
            return_errno!(EAGAIN);
        }
    }
    Ok(u64::from(q.requeue(addr, n, addr2, n2)?))
}

/// Wakes one waiter on a word whatever kind of futex it is (the exit of a
/// thread with CLONE_CHILD_CLEARTID, robust-list cleanup): in the daemon
/// if the word is in shared memory, here otherwise, as Linux's
/// `futex_wake(uaddr, FLAGS_SHARED, 1)` does. A PI waiter on the word
/// (robust-list cleanup of a PI mutex) is handed the lock instead, with
/// FUTEX_OWNER_DIED kept (the kernel's exit_pi_state_list).
pub fn wake_word(addr: u64, n: u32) {
    match shared_key(addr) {
        Some(key) => {
            let _ = shared_wake(key, n, u32::MAX);
            wake_private_word(addr, n);
        }
        None => wake_private_word(addr, n),
    }
}

fn wake_private_word(addr: u64, n: u32) {
    let mut q = Queues::lock(&current().futexes);
    if !q.owner_died(addr) {
        let _ = q.wake(addr, n, u32::MAX);
    }
}

/// For the exit of thread `tid`: every PI futex whose waiters wait for it
/// goes to its oldest waiter, as the kernel's exit_pi_state_list does
/// (that waiter's FUTEX_LOCK_PI returns 0; the word gets its TID).
pub fn exit_pi_state_list(tid: u32) {
    let mut q = Queues::lock(&current().futexes);
    for addr in q.owned_by(tid) {
        q.owner_died(addr);
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
    let mut q = Queues::lock(&current().futexes);
    let old = crate::uaccess::fetch_update_u32(addr2, |v| apply(v, oparg))?;
    let mut woken = q.wake(addr, wake_limit(n, false), u32::MAX)?;
    if test(old as i32, cmparg as i32) {
        woken += q.wake(addr2, wake_limit(n2, false), u32::MAX)?;
    }
    Ok(u64::from(woken))
}

/// How long an exiting owner of a PI futex may take to release it (its
/// robust list is walked after it left the thread list), in 1 ms steps.
const OWNER_EXIT_GRACE_MS: u32 = 20;

/// FUTEX_LOCK_PI, FUTEX_LOCK_PI2 and FUTEX_TRYLOCK_PI (`futex_lock_pi`).
fn lock_pi(thread: &Arc<Thread>, addr: u64, deadline: Option<Instant>, is_trylock: bool) -> Result<u64> {
    let p = current();
    let tid = thread.tid();
    let mut grace = OWNER_EXIT_GRACE_MS;
    let state = 'attach: loop {
        let mut q = Queues::lock(&p.futexes);
        match q.lock_pi_atomic(addr, tid, false)? {
            PiLock::Acquired => return Ok(0),
            PiLock::MustWait if is_trylock => {
                q.drop_unused_pi(addr);
                return_errno_with_message!(EAGAIN, "the PI futex is locked");
            }
            PiLock::MustWait => {
                let state = FutexTable::new_state(thread.clone());
                q.enqueue(addr, u32::MAX, WaitKind::Pi, 0, &state);
                break state;
            }
            PiLock::OwnerGone(seen) => {
                // handle_exit_race: the owner may be exiting, with its
                // robust list not yet walked; if the word changes, look
                // again, else there is no owner to wait for.
                drop(q);
                while grace > 0 {
                    grace -= 1;
                    let seq = thread.parker.seq();
                    thread.parker.park(seq, Some(1_000_000));
                    if crate::uaccess::read::<u32>(addr)? != seen {
                        continue 'attach;
                    }
                }
                return_errno_with_message!(ESRCH, "the owner of the PI futex is not a live thread");
            }
        }
    };
    match sleep(thread, &state, deadline) {
        Woke::Woken => Ok(0),
        // If the lock came to us meanwhile, we hold it: success.
        Woke::TimedOut => give_up(&state, errno!(ETIMEDOUT), 0),
        // -ERESTARTNOINTR: the lock is asked for again after the handler.
        Woke::Interrupted => give_up(&state, Error::new(Errno::ERESTARTNOINTR), 0),
    }
}

/// FUTEX_WAIT_REQUEUE_PI: waits on the plain futex `addr` (a condition
/// variable) until FUTEX_CMP_REQUEUE_PI moves it to the PI futex `addr2`,
/// and returns holding that lock (`futex_wait_requeue_pi`).
fn wait_requeue_pi(thread: &Arc<Thread>, addr: u64, val: u32, addr2: u64, deadline: Option<Instant>) -> Result<u64> {
    if addr == addr2 {
        return_errno_with_message!(EINVAL, "the futex and the PI futex must differ");
    }
    if addr2 % 4 != 0 {
        return_errno_with_message!(EINVAL, "futex word must be 4-byte aligned");
    }
    let p = current();
    let state = queue_if_equal(thread, addr, val, u32::MAX, WaitKind::RequeuePi { pi_addr: addr2 })?;
    let woke = sleep(thread, &state, deadline);
    if let Woke::Woken = woke {
        return Ok(0);
    }
    let mut q = Queues::lock(&p.futexes);
    // Whether it was moved is read under the lock that moves it.
    let was_requeued = state.is_requeued();
    if !q.cancel(&state) {
        return Ok(0);
    }
    match (woke, was_requeued) {
        (Woke::TimedOut, _) => return_errno!(ETIMEDOUT),
        // Before the requeue: asked for again after the handler.
        (_, false) => Err(Error::new(Errno::ERESTARTNOINTR)),
        // After it, a restart would find the condition variable changed:
        // Linux answers EWOULDBLOCK at once.
        (_, true) => return_errno_with_message!(EAGAIN, "interrupted after the requeue to the PI futex"),
    }
}

/// FUTEX_CMP_REQUEUE_PI (`futex_requeue` with `requeue_pi`).
fn cmp_requeue_pi(addr: u64, n: u32, addr2: u64, n2: u32, expected: u32) -> Result<u64> {
    if (n as i32) < 0 || (n2 as i32) < 0 {
        return_errno_with_message!(EINVAL, "wake and requeue counts must not be negative");
    }
    if addr2 % 4 != 0 {
        return_errno_with_message!(EINVAL, "futex word must be 4-byte aligned");
    }
    if addr == addr2 {
        return_errno_with_message!(EINVAL, "the futex and the PI futex must differ");
    }
    if n != 1 {
        return_errno_with_message!(EINVAL, "FUTEX_CMP_REQUEUE_PI wakes exactly one waiter");
    }
    let mut q = Queues::lock(&current().futexes);
    let cur: u32 = crate::uaccess::read(addr)?;
    if cur != expected {
        return_errno!(EAGAIN);
    }
    Ok(u64::from(q.requeue_pi(addr, addr2, n2)?))
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
        Backing::SysvShm { offset, dev, ino, .. } => Some(FutexKey::File { dev, ino, offset: offset + (addr - start) }),
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
/// Every request of one wait goes out on one connection: the daemon lets
/// only the connection that queued a token sleep on it or cancel it.
fn shared_wait(thread: &Thread, key: FutexKey, addr: u64, val: u32, bitset: u32, deadline: Option<Instant>) -> Result<u64> {
    let pin = std::cell::RefCell::new(daemon::pinned());
    let token = token_of(pin.borrow_mut().call(&Request::FutexQueue { key, bitset })?)?;
    let cancel = || {
        let _ = pin.borrow_mut().call(&Request::FutexCancel { token });
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
        let slept = pin.borrow_mut().call(&Request::FutexSleep { token, timeout_ns });
        match slept {
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

/// A refused futex variant (see `super::refuse`).
#[track_caller]
fn refuse(call: &'static str, what: &'static str) -> Error {
    super::refuse(call, Errno::ENOSYS, what, None)
}

/// Whether an operation reads a timeout from its fourth argument
/// (`futex_cmd_has_timeout`); the others take a count there.
fn has_timeout(cmd: u32) -> bool {
    matches!(cmd, g::FUTEX_WAIT | g::FUTEX_LOCK_PI | g::FUTEX_LOCK_PI2 | g::FUTEX_WAIT_BITSET | g::FUTEX_WAIT_REQUEUE_PI)
}

/// Whether a futex(2) call may put the task to sleep: the operations that
/// wait (the table's `sleeps_if` marker on the futex row).
pub fn op_sleeps(a: &[u64; 6]) -> bool {
    has_timeout(super::args::uint(a[1]) & !(g::FUTEX_PRIVATE_FLAG | g::FUTEX_CLOCK_REALTIME))
}

/// The name of a futex operation, for refusals.
fn op_name(cmd: u32) -> &'static str {
    match cmd {
        g::FUTEX_LOCK_PI => "FUTEX_LOCK_PI",
        g::FUTEX_LOCK_PI2 => "FUTEX_LOCK_PI2",
        g::FUTEX_UNLOCK_PI => "FUTEX_UNLOCK_PI",
        g::FUTEX_TRYLOCK_PI => "FUTEX_TRYLOCK_PI",
        g::FUTEX_WAIT_REQUEUE_PI => "FUTEX_WAIT_REQUEUE_PI",
        g::FUTEX_CMP_REQUEUE_PI => "FUTEX_CMP_REQUEUE_PI",
        _ => "this futex operation",
    }
}

/// The refusal of a PI operation on a shared futex, named.
#[track_caller]
fn shared_pi_refused(cmd: u32) -> Error {
    refuse(
        "futex",
        match op_name(cmd) {
            "FUTEX_LOCK_PI" => "FUTEX_LOCK_PI on a shared futex is not emulated",
            "FUTEX_LOCK_PI2" => "FUTEX_LOCK_PI2 on a shared futex is not emulated",
            "FUTEX_UNLOCK_PI" => "FUTEX_UNLOCK_PI on a shared futex is not emulated",
            "FUTEX_TRYLOCK_PI" => "FUTEX_TRYLOCK_PI on a shared futex is not emulated",
            "FUTEX_WAIT_REQUEUE_PI" => "FUTEX_WAIT_REQUEUE_PI on a shared futex is not emulated",
            _ => "FUTEX_CMP_REQUEUE_PI on a shared futex is not emulated",
        },
    )
}

pub fn futex(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (addr, op, val) = (a[0], args::uint(a[1]), args::uint(a[2]));
    let is_realtime = op & g::FUTEX_CLOCK_REALTIME != 0;
    let cmd = op & !(g::FUTEX_PRIVATE_FLAG | g::FUTEX_CLOCK_REALTIME);
    // The timeout is read and checked before anything else.
    let ts = if has_timeout(cmd) { timeout::read_optional(a[3])? } else { None };
    // The fourth argument of the requeue operations is a count.
    let val2 = args::uint(a[3]);
    if is_realtime && !matches!(cmd, g::FUTEX_WAIT_BITSET | g::FUTEX_WAIT_REQUEUE_PI | g::FUTEX_LOCK_PI2) {
        return_errno_with_message!(ENOSYS, "FUTEX_CLOCK_REALTIME goes only with FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI and FUTEX_LOCK_PI2");
    }
    if cmd > g::FUTEX_LOCK_PI2 || cmd == g::FUTEX_FD {
        return Err(super::refuse("futex", Errno::ENOSYS, "unknown futex operation", Some(u64::from(cmd))));
    }
    if addr % 4 != 0 {
        return_errno_with_message!(EINVAL, "futex word must be 4-byte aligned");
    }
    let shared = if op & g::FUTEX_PRIVATE_FLAG == 0 { shared_key(addr) } else { None };
    let clock = if is_realtime { g::CLOCK_REALTIME } else { g::CLOCK_MONOTONIC };
    let absolute = |clock| -> Result<Option<Instant>> {
        match ts {
            Some(ts) => absolute_deadline(ts, clock),
            None => Ok(None),
        }
    };
    let is_pi = matches!(
        cmd,
        g::FUTEX_LOCK_PI | g::FUTEX_LOCK_PI2 | g::FUTEX_UNLOCK_PI | g::FUTEX_TRYLOCK_PI | g::FUTEX_WAIT_REQUEUE_PI | g::FUTEX_CMP_REQUEUE_PI
    );
    if is_pi && (shared.is_some() || (cmd == g::FUTEX_CMP_REQUEUE_PI || cmd == g::FUTEX_WAIT_REQUEUE_PI) && op & g::FUTEX_PRIVATE_FLAG == 0 && shared_key(a[4]).is_some()) {
        return Err(shared_pi_refused(cmd));
    }
    match cmd {
        g::FUTEX_WAIT => {
            // FUTEX_WAIT takes a relative timeout (measured on CLOCK_MONOTONIC).
            let deadline = ts.and_then(timeout::deadline);
            match shared {
                Some(key) => shared_wait(cx.thread(), key, addr, val, u32::MAX, deadline),
                None => wait(&cx.thread_arc(), addr, val, u32::MAX, deadline),
            }
        }
        g::FUTEX_WAIT_BITSET => {
            let bitset = nonzero_bitset(a[5])?;
            let deadline = absolute(clock)?;
            match shared {
                Some(key) => shared_wait(cx.thread(), key, addr, val, bitset, deadline),
                None => wait(&cx.thread_arc(), addr, val, bitset, deadline),
            }
        }
        g::FUTEX_WAKE => match shared {
            Some(key) => shared_wake(key, wake_limit(val, false), u32::MAX),
            None => wake(addr, wake_limit(val, false), u32::MAX),
        },
        g::FUTEX_WAKE_BITSET => {
            let bitset = nonzero_bitset(a[5])?;
            match shared {
                Some(key) => shared_wake(key, wake_limit(val, false), bitset),
                None => wake(addr, wake_limit(val, false), bitset),
            }
        }
        g::FUTEX_REQUEUE | g::FUTEX_CMP_REQUEUE => {
            if a[4] % 4 != 0 {
                return_errno_with_message!(EINVAL, "futex word must be 4-byte aligned");
            }
            let expected = (cmd == g::FUTEX_CMP_REQUEUE).then(|| args::uint(a[5]));
            requeue(addr, val, a[4], val2, expected)
        }
        g::FUTEX_WAKE_OP => {
            if a[4] % 4 != 0 {
                return_errno_with_message!(EINVAL, "futex word must be 4-byte aligned");
            }
            wake_op(addr, val, a[4], val2, args::uint(a[5]))
        }
        // FUTEX_LOCK_PI's timeout is absolute on CLOCK_REALTIME; LOCK_PI2
        // chooses with FUTEX_CLOCK_REALTIME (CLOCK_MONOTONIC without).
        g::FUTEX_LOCK_PI => lock_pi(&cx.thread_arc(), addr, absolute(g::CLOCK_REALTIME)?, false),
        g::FUTEX_LOCK_PI2 => lock_pi(&cx.thread_arc(), addr, absolute(clock)?, false),
        g::FUTEX_TRYLOCK_PI => lock_pi(&cx.thread_arc(), addr, None, true),
        g::FUTEX_UNLOCK_PI => {
            let tid = cx.thread().tid();
            Queues::lock(&current().futexes).unlock_pi(addr, tid)?;
            Ok(0)
        }
        g::FUTEX_WAIT_REQUEUE_PI => wait_requeue_pi(&cx.thread_arc(), addr, val, a[4], absolute(clock)?),
        g::FUTEX_CMP_REQUEUE_PI => cmp_requeue_pi(addr, val, a[4], val2, args::uint(a[5])),
        _ => Err(super::refuse("futex", Errno::ENOSYS, "unknown futex operation", Some(u64::from(cmd)))),
    }
}

/// The flags of one futex2 word (`futex2_to_flags`, `futex_flags_valid`):
/// only 32-bit futexes exist; FUTEX2_PRIVATE may be set.
fn futex2_flags(flags: u32) -> Result<bool> {
    if flags & !(g::FUTEX2_SIZE_MASK | g::FUTEX2_PRIVATE) != 0 {
        return_errno_with_message!(EINVAL, "unknown futex2 flags");
    }
    if flags & g::FUTEX2_SIZE_MASK != g::FUTEX2_SIZE_U32 {
        return_errno_with_message!(EINVAL, "only FUTEX2_SIZE_U32 futexes exist");
    }
    Ok(flags & g::FUTEX2_PRIVATE != 0)
}

/// A futex2 value or mask: it must fit the 32-bit futex.
fn futex2_u32(v: u64) -> Result<u32> {
    u32::try_from(v).map_err(|_| errno!(EINVAL, "value does not fit a 32-bit futex"))
}

/// The absolute timeout of futex_waitv and futex_wait (`futex2_setup_timeout`).
fn futex2_deadline(addr: u64, clockid: u64) -> Result<Option<Instant>> {
    if addr == 0 {
        return Ok(None);
    }
    let clock = args::uint(clockid);
    if clock != g::CLOCK_REALTIME && clock != g::CLOCK_MONOTONIC {
        return_errno_with_message!(EINVAL, "clockid must be CLOCK_MONOTONIC or CLOCK_REALTIME");
    }
    let ts = timeout::read_timespec(addr)?;
    absolute_deadline(ts, clock)
}

/// One entry of a futex_waitv array, checked (`futex_parse_waitv`).
struct WaitvEntry {
    addr: u64,
    val: u32,
    is_private: bool,
}

/// sizeof(struct futex_waitv): u64 val, u64 uaddr, u32 flags, u32 __reserved.
const FUTEX_WAITV_LEN: u64 = 24;

fn parse_waitv(addr: u64, n: u32) -> Result<Vec<WaitvEntry>> {
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..u64::from(n) {
        let at = addr.checked_add(i * FUTEX_WAITV_LEN).ok_or_else(|| errno!(EFAULT))?;
        let [val, uaddr]: [u64; 2] = crate::uaccess::read(at)?;
        let [flags, reserved]: [u32; 2] = crate::uaccess::read(at + 16)?;
        if reserved != 0 {
            return_errno_with_message!(EINVAL, "futex_waitv __reserved must be 0");
        }
        let is_private = futex2_flags(flags)?;
        out.push(WaitvEntry { addr: uaddr, val: futex2_u32(val)?, is_private });
    }
    Ok(out)
}

/// futex_waitv(2): waits on up to 128 futexes at once; returns the index
/// of the one woken.
pub fn futex_waitv(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (waiters, n, flags) = (a[0], args::uint(a[1]), args::uint(a[2]));
    if flags != 0 {
        return_errno_with_message!(EINVAL, "flags must be 0");
    }
    if n == 0 || n > g::FUTEX_WAITV_MAX || waiters == 0 {
        return_errno_with_message!(EINVAL, "between 1 and 128 futexes, from a non-null array");
    }
    let deadline = futex2_deadline(a[3], a[4])?;
    let entries = parse_waitv(waiters, n)?;
    // get_futex_key for each entry, before any word is read.
    for e in &entries {
        if e.addr % 4 != 0 {
            return_errno_with_message!(EINVAL, "futex word must be 4-byte aligned");
        }
    }
    if entries.iter().any(|e| !e.is_private && shared_key(e.addr).is_some()) {
        return Err(refuse("futex_waitv", "futex_waitv on a shared futex is not emulated"));
    }
    let thread = cx.thread_arc();
    let p = current();
    let state = FutexTable::new_state(thread.clone());
    {
        // All words compared and queued under one lock: no wake can come
        // between two of them.
        let mut q = Queues::lock(&p.futexes);
        for (i, e) in entries.iter().enumerate() {
            let cur = crate::uaccess::read::<u32>(e.addr);
            let cur = match cur {
                Ok(v) => v,
                Err(err) => {
                    q.cancel(&state);
                    return Err(err);
                }
            };
            if cur != e.val {
                q.cancel(&state);
                return_errno!(EAGAIN);
            }
            q.enqueue(e.addr, u32::MAX, WaitKind::Plain, i as u32, &state);
        }
    }
    let woke = sleep(&thread, &state, deadline);
    let mut q = Queues::lock(&p.futexes);
    q.cancel(&state);
    if let Some(i) = state.woken_index() {
        return Ok(u64::from(i));
    }
    match woke {
        Woke::TimedOut => return_errno!(ETIMEDOUT),
        _ => return_errno!(EINTR),
    }
}

/// futex_wake(2): futex(FUTEX_WAKE_BITSET) for futex2 flags; a count of 0
/// wakes nobody.
pub fn futex_wake(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (addr, mask, nr, flags) = (a[0], a[1], args::uint(a[2]), args::uint(a[3]));
    let is_private = futex2_flags(flags)?;
    let mask = futex2_u32(mask)?;
    if mask == 0 {
        return_errno_with_message!(EINVAL, "mask must not be 0");
    }
    if addr % 4 != 0 {
        return_errno_with_message!(EINVAL, "futex word must be 4-byte aligned");
    }
    let n = wake_limit(nr, true);
    if n == 0 {
        return Ok(0);
    }
    match if is_private { None } else { shared_key(addr) } {
        Some(key) => shared_wake(key, n, mask),
        None => wake(addr, n, mask),
    }
}

/// futex_wait(2): futex(FUTEX_WAIT_BITSET) for futex2 flags, with its
/// clock named.
pub fn futex_wait(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (addr, val, mask, flags) = (a[0], a[1], a[2], args::uint(a[3]));
    let is_private = futex2_flags(flags)?;
    let val = futex2_u32(val)?;
    let mask = futex2_u32(mask)?;
    let deadline = futex2_deadline(a[4], a[5])?;
    if mask == 0 {
        return_errno_with_message!(EINVAL, "mask must not be 0");
    }
    if addr % 4 != 0 {
        return_errno_with_message!(EINVAL, "futex word must be 4-byte aligned");
    }
    let thread = cx.thread_arc();
    match if is_private { None } else { shared_key(addr) } {
        Some(key) => shared_wait(&thread, key, addr, val, mask, deadline),
        None => wait(&thread, addr, val, mask, deadline),
    }
}

/// futex_requeue(2): FUTEX_CMP_REQUEUE with the two futexes (and the
/// expected value of the first) in a two-entry futex_waitv array.
pub fn futex_requeue(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (waiters, flags, nr_wake, nr_requeue) = (a[0], args::uint(a[1]), args::uint(a[2]), args::uint(a[3]));
    if flags != 0 {
        return_errno_with_message!(EINVAL, "flags must be 0");
    }
    if waiters == 0 {
        return_errno_with_message!(EINVAL, "the futex array must not be null");
    }
    let v = parse_waitv(waiters, 2)?;
    if (nr_wake as i32) < 0 || (nr_requeue as i32) < 0 {
        return_errno_with_message!(EINVAL, "wake and requeue counts must not be negative");
    }
    for e in &v {
        if e.addr % 4 != 0 {
            return_errno_with_message!(EINVAL, "futex word must be 4-byte aligned");
        }
        if !e.is_private && shared_key(e.addr).is_some() {
            return Err(refuse("futex_requeue", "futex_requeue on a shared futex is not emulated"));
        }
    }
    requeue(v[0].addr, nr_wake, v[1].addr, nr_requeue, Some(v[0].val))
}
