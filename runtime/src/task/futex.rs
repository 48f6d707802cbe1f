//! The private futex wait queues of the process (futex(2) on words no
//! other process can see), and the priority-inheritance (PI) futex
//! protocol on them. The calls themselves are in syscall/futex.rs.
//!
//! A waiter is queued under [`Process::futexes`](super::Process) while
//! the futex word is compared, so a wake that follows a change of the word
//! always finds it; it then sleeps on its thread's parker. A waker takes it
//! off the queue and marks it woken under the lock, and unparks its thread
//! once the lock is released ([`Queues`]): there is no polling, and the
//! woken thread, often switched to at once, never finds the lock still
//! held by its waker.
//!
//! PI futexes follow the kernel's user-space protocol
//! (<https://docs.kernel.org/locking/pi-futex.html>, kernel/futex/pi.c):
//! the word holds the owner's TID, `FUTEX_WAITERS` once someone sleeps in
//! the kernel for it, and `FUTEX_OWNER_DIED` after its owner died. While
//! PI waiters are queued on a word, a [`PiState`] records who the kernel
//! believes owns it (the kernel's `pi_state`); an unlock hands the lock to
//! the oldest waiter directly (the word becomes its TID | FUTEX_WAITERS),
//! as the kernel's rt_mutex does when all waiters have the same priority.
//! No priority is boosted: guest threads are host threads of one priority.
//!
//! Every word change here is a compare-and-exchange under the queue lock,
//! against the guest's own atomic operations on the word (uaccess.rs).

use super::Thread;
use crate::error::Result;
use crate::{errno, return_errno_with_message};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::*};
use std::sync::{Arc, Mutex, MutexGuard};

/// The bits of a PI futex word (include/uapi/linux/futex.h).
pub use linux_raw_sys::general::{FUTEX_OWNER_DIED, FUTEX_TID_MASK, FUTEX_WAITERS};

/// What a queued waiter waits for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WaitKind {
    /// FUTEX_WAIT, FUTEX_WAIT_BITSET, futex_wait, an entry of futex_waitv.
    Plain,
    /// FUTEX_LOCK_PI(2): waits to be handed the PI lock at its address.
    Pi,
    /// FUTEX_WAIT_REQUEUE_PI: waits on a plain futex until
    /// FUTEX_CMP_REQUEUE_PI moves it to the PI futex `pi_addr` (where it
    /// becomes a `Pi` waiter) or takes that lock for it.
    RequeuePi { pi_addr: u64 },
}

pub struct FutexWaiter {
    /// The guest address it waits on; changed by a requeue.
    pub addr: u64,
    /// FUTEX_WAIT_BITSET's bitset (all ones for FUTEX_WAIT).
    pub bitset: u32,
    pub kind: WaitKind,
    /// Its position in the futex_waitv array (0 for the other waits).
    pub index: u32,
    pub state: Arc<WaitState>,
}

/// Shared by the sleeping thread and whoever wakes it. A futex_waitv
/// caller has one queue entry per futex, all with the same state.
pub struct WaitState {
    pub thread: Arc<Thread>,
    /// 0 while it waits; else 1 + the highest index of the entries woken
    /// (futex_unqueue_multiple reports the last one it finds unqueued).
    woken: AtomicU32,
    /// A FUTEX_WAIT_REQUEUE_PI waiter has been moved to its PI futex.
    requeued: AtomicBool,
}

impl WaitState {
    pub fn is_woken(&self) -> bool {
        self.woken.load(Acquire) != 0
    }

    /// Which entry was woken (futex_waitv's return value).
    pub fn woken_index(&self) -> Option<u32> {
        self.woken.load(Acquire).checked_sub(1)
    }

    pub fn is_requeued(&self) -> bool {
        self.requeued.load(Acquire)
    }

    /// Marks it woken by entry `index`; [`Queues`] unparks it later.
    fn mark_woken(&self, index: u32) {
        self.woken.fetch_max(index + 1, Release);
    }
}

/// The kernel's `pi_state` of a PI futex with waiters: which thread the
/// waiters wait for (`None`: the owner died and nobody took it yet).
pub struct PiState {
    pub addr: u64,
    pub owner: Option<u32>,
}

#[derive(Default)]
pub struct FutexTable {
    pub waiters: Vec<FutexWaiter>,
    pub pi: Vec<PiState>,
    /// Waiters woken under the lock, to unpark once it is released.
    unpark: Vec<Arc<WaitState>>,
}

/// The futex queues of a process, locked. Threads woken while it is held
/// are unparked when it is dropped, after the lock is released.
pub struct Queues<'a> {
    // Fields drop in order: the lock is released before `woken` unparks.
    guard: MutexGuard<'a, FutexTable>,
    woken: Unpark,
}

/// Unparks the threads of the waiters it holds when dropped.
struct Unpark(Vec<Arc<WaitState>>);

impl Drop for Unpark {
    fn drop(&mut self) {
        for state in self.0.drain(..) {
            state.thread.parker.unpark();
        }
    }
}

impl<'a> Queues<'a> {
    pub fn lock(m: &'a Mutex<FutexTable>) -> Self {
        Queues { guard: super::lock(m), woken: Unpark(Vec::new()) }
    }
}

impl Deref for Queues<'_> {
    type Target = FutexTable;
    fn deref(&self) -> &FutexTable {
        &self.guard
    }
}

impl DerefMut for Queues<'_> {
    fn deref_mut(&mut self) -> &mut FutexTable {
        &mut self.guard
    }
}

impl Drop for Queues<'_> {
    fn drop(&mut self) {
        self.woken.0 = std::mem::take(&mut self.guard.unpark);
    }
}

/// What an attempt to take a PI lock found (`futex_lock_pi_atomic`).
#[derive(Debug, PartialEq, Eq)]
pub enum PiLock {
    /// The word now names the caller: it holds the lock.
    Acquired,
    /// Held by someone else; a [`PiState`] for the word exists (or was
    /// made) and the caller may queue.
    MustWait,
    /// The word names a TID that is no thread of this process, and did
    /// not change (the kernel's handle_exit_race: ESRCH, unless the word
    /// changes while an exiting owner cleans up).
    OwnerGone(u32),
}

impl FutexTable {
    pub fn new_state(thread: Arc<Thread>) -> Arc<WaitState> {
        Arc::new(WaitState { thread, woken: AtomicU32::new(0), requeued: AtomicBool::new(false) })
    }

    /// Marks a waiter taken off the queue as woken, to be unparked once
    /// the lock is released.
    fn woke(&mut self, w: FutexWaiter) {
        w.state.mark_woken(w.index);
        self.unpark.push(w.state);
    }

    pub fn enqueue(&mut self, addr: u64, bitset: u32, kind: WaitKind, index: u32, state: &Arc<WaitState>) {
        self.waiters.push(FutexWaiter { addr, bitset, kind, index, state: state.clone() });
    }

    /// Takes a waiter that gave up (timeout, signal) off every queue it is
    /// on; false if a waker took it first (it was woken). PI state no
    /// waiter needs any more goes with it.
    pub fn cancel(&mut self, state: &Arc<WaitState>) -> bool {
        let mut pi_addrs = Vec::new();
        self.waiters.retain(|w| {
            let mine = Arc::ptr_eq(&w.state, state);
            if mine && w.kind == WaitKind::Pi {
                pi_addrs.push(w.addr);
            }
            !mine
        });
        for a in pi_addrs {
            self.drop_unused_pi(a);
        }
        !state.is_woken()
    }

    /// The oldest waiter on `addr` (the kernel's `futex_top_waiter`: all
    /// guest threads have one priority, so its plist is FIFO).
    fn top_waiter(&self, addr: u64) -> Option<usize> {
        self.waiters.iter().position(|w| w.addr == addr)
    }

    fn pi_state(&mut self, addr: u64) -> Option<&mut PiState> {
        self.pi.iter_mut().find(|p| p.addr == addr)
    }

    pub fn drop_unused_pi(&mut self, addr: u64) {
        if !self.waiters.iter().any(|w| w.addr == addr && w.kind == WaitKind::Pi) {
            self.pi.retain(|p| p.addr != addr);
        }
    }

    /// Wakes up to `n` waiters on `addr` whose bitset meets `bitset`,
    /// oldest first; returns how many (`futex_wake`). A PI waiter or a
    /// FUTEX_WAIT_REQUEUE_PI waiter met on the way is EINVAL: user space
    /// mixed PI and plain operations on one word.
    pub fn wake(&mut self, addr: u64, n: u32, bitset: u32) -> Result<u32> {
        let mut woken = 0;
        let mut i = 0;
        while i < self.waiters.len() && woken < n {
            let w = &self.waiters[i];
            if w.addr != addr {
                i += 1;
                continue;
            }
            if w.kind != WaitKind::Plain {
                return_errno_with_message!(EINVAL, "a PI waiter waits on this futex");
            }
            if w.bitset & bitset != 0 {
                let w = self.waiters.remove(i);
                self.woke(w);
                woken += 1;
            } else {
                i += 1;
            }
        }
        Ok(woken)
    }

    /// Wakes `n` waiters on `from` and moves up to `n2` others to `to`
    /// (`futex_requeue` without PI); returns woken + moved. A PI or
    /// requeue-PI waiter among them is EINVAL.
    pub fn requeue(&mut self, from: u64, n: u32, to: u64, n2: u32) -> Result<u32> {
        let mut count: u32 = 0;
        let mut i = 0;
        while i < self.waiters.len() {
            if i64::from(count) - i64::from(n) >= i64::from(n2) {
                break;
            }
            let w = &self.waiters[i];
            if w.addr != from {
                i += 1;
                continue;
            }
            if w.kind != WaitKind::Plain {
                return_errno_with_message!(EINVAL, "a PI waiter waits on this futex");
            }
            count += 1;
            if count <= n {
                let w = self.waiters.remove(i);
                self.woke(w);
            } else {
                self.waiters[i].addr = to;
                i += 1;
            }
        }
        Ok(count)
    }

    /// Takes the PI lock at `addr` for thread `tid`, or finds whom to wait
    /// for (`futex_lock_pi_atomic`). `set_waiters` forces FUTEX_WAITERS
    /// into the word even when the lock is taken (a requeue that will
    /// queue more waiters behind the new owner).
    pub fn lock_pi_atomic(&mut self, addr: u64, tid: u32, set_waiters: bool) -> Result<PiLock> {
        loop {
            let uval: u32 = crate::uaccess::read(addr)?;
            if uval & FUTEX_TID_MASK == tid {
                return_errno_with_message!(EDEADLK, "the caller already owns this PI futex");
            }
            if let Some(top) = self.top_waiter(addr) {
                if self.waiters[top].kind != WaitKind::Pi {
                    return_errno_with_message!(EINVAL, "a plain waiter waits on this PI futex");
                }
                self.attach_to_pi_state(addr, uval)?;
                return Ok(PiLock::MustWait);
            }
            let owner = uval & FUTEX_TID_MASK;
            if owner == 0 {
                // Free (with WAITERS or OWNER_DIED left over): take it,
                // keeping OWNER_DIED for the new owner to see.
                let mut new = (uval & FUTEX_OWNER_DIED) | tid;
                if set_waiters {
                    new |= FUTEX_WAITERS;
                }
                if crate::uaccess::cmpxchg_u32(addr, uval, new)? != uval {
                    continue;
                }
                if set_waiters {
                    self.pi.push(PiState { addr, owner: Some(tid) });
                }
                return Ok(PiLock::Acquired);
            }
            // The first waiter: set FUTEX_WAITERS so that the owner's
            // unlock comes here, then attach to the owner.
            let new = uval | FUTEX_WAITERS;
            if crate::uaccess::cmpxchg_u32(addr, uval, new)? != uval {
                continue;
            }
            if !is_live_thread(owner) {
                return Ok(PiLock::OwnerGone(new));
            }
            self.pi.retain(|p| p.addr != addr);
            self.pi.push(PiState { addr, owner: Some(owner) });
            return Ok(PiLock::MustWait);
        }
    }

    /// `attach_to_pi_state`: the word must agree with what the waiters
    /// already queued believe, or user space corrupted it (EINVAL).
    fn attach_to_pi_state(&mut self, addr: u64, uval: u32) -> Result<()> {
        let pid = uval & FUTEX_TID_MASK;
        let owner = match self.pi_state(addr) {
            Some(p) => p.owner,
            None => return_errno_with_message!(EINVAL, "PI futex state lost"),
        };
        if uval & FUTEX_OWNER_DIED != 0 {
            match owner {
                None if pid != 0 => return_errno_with_message!(EINVAL, "the PI futex word names an owner the kernel does not know"),
                None => return Ok(()),
                Some(_) if pid == 0 => return Ok(()),
                Some(_) => {}
            }
        } else if owner.is_none() {
            return_errno_with_message!(EINVAL, "the PI futex word lost its owner");
        }
        if owner != Some(pid) {
            return_errno_with_message!(EINVAL, "the PI futex word names another owner than its waiters wait for");
        }
        Ok(())
    }

    /// FUTEX_UNLOCK_PI by thread `tid` (`futex_unlock_pi`): hands the lock
    /// to the oldest PI waiter, or frees the word if there is none.
    pub fn unlock_pi(&mut self, addr: u64, tid: u32) -> Result<()> {
        loop {
            let uval: u32 = crate::uaccess::read(addr)?;
            if uval & FUTEX_TID_MASK != tid {
                return_errno_with_message!(EPERM, "the caller does not own this PI futex");
            }
            if let Some(top) = self.top_waiter(addr) {
                if self.waiters[top].kind != WaitKind::Pi {
                    return_errno_with_message!(EINVAL, "a plain waiter waits on this PI futex");
                }
                if self.pi_state(addr).and_then(|p| p.owner) != Some(tid) {
                    return_errno_with_message!(EINVAL, "the PI futex's waiters wait for another owner");
                }
                let new_tid = self.waiters[top].state.thread.tid();
                let new = FUTEX_WAITERS | new_tid;
                let cur = crate::uaccess::cmpxchg_u32(addr, uval, new)?;
                if cur != uval {
                    // A waiter setting FUTEX_WAITERS raced with an unlock
                    // that did not try TID → 0 first: try again. Anything
                    // else is a word user space corrupted (wake_futex_pi).
                    if cur & FUTEX_TID_MASK == uval & FUTEX_TID_MASK {
                        continue;
                    }
                    return_errno_with_message!(EINVAL, "the PI futex word changed owner during the unlock");
                }
                self.hand_to(top, new_tid);
                return Ok(());
            }
            // No waiter: neither FUTEX_WAITERS nor FUTEX_OWNER_DIED is kept.
            if crate::uaccess::cmpxchg_u32(addr, uval, 0)? != uval {
                return_errno_with_message!(EAGAIN, "the PI futex word changed during the unlock");
            }
            return Ok(());
        }
    }

    /// Wakes waiter `i`, now the owner `tid` of the PI lock it waited for.
    fn hand_to(&mut self, i: usize, tid: u32) {
        let w = self.waiters.remove(i);
        if let Some(p) = self.pi_state(w.addr) {
            p.owner = Some(tid);
        }
        self.drop_unused_pi(w.addr);
        self.woke(w);
    }

    /// The owner of the PI futex at `addr` died (its robust-list entry, or
    /// its exit with PI waiters queued: the kernel's exit_pi_state_list):
    /// the oldest PI waiter becomes the owner, and the word says so with
    /// FUTEX_OWNER_DIED (fixup_pi_state_owner sets it whenever the pi_state
    /// had lost its owner). Returns whether there was a PI waiter.
    pub fn owner_died(&mut self, addr: u64) -> bool {
        let Some(top) = self.top_waiter(addr) else { return false };
        if self.waiters[top].kind != WaitKind::Pi {
            return false;
        }
        let new_tid = self.waiters[top].state.thread.tid();
        loop {
            let Ok(uval) = crate::uaccess::read::<u32>(addr) else { break };
            let new = FUTEX_OWNER_DIED | FUTEX_WAITERS | new_tid;
            match crate::uaccess::cmpxchg_u32(addr, uval, new) {
                Ok(v) if v == uval => break,
                Ok(_) => continue,
                Err(_) => break,
            }
        }
        self.hand_to(top, new_tid);
        true
    }

    /// The PI futexes whose waiters wait for `tid`: what a thread that
    /// exits still owns.
    pub fn owned_by(&self, tid: u32) -> Vec<u64> {
        self.pi.iter().filter(|p| p.owner == Some(tid)).map(|p| p.addr).collect()
    }

    /// FUTEX_CMP_REQUEUE_PI's work once the compare passed
    /// (`futex_requeue` with `requeue_pi`): takes the PI lock at `to` for
    /// the oldest waiter on `from` if it can (and wakes it), then moves up
    /// to `n2` waiters (one more if the lock was not taken) to wait for
    /// `to`. Returns woken + moved.
    pub fn requeue_pi(&mut self, from: u64, to: u64, n2: u32) -> Result<u32> {
        let mut count: u32 = 0;
        if let Some(top) = self.top_waiter(from) {
            let w = &self.waiters[top];
            match w.kind {
                WaitKind::RequeuePi { pi_addr } if pi_addr == to => {}
                WaitKind::RequeuePi { .. } => return_errno_with_message!(EINVAL, "the waiter waits to be requeued to another futex"),
                _ => return_errno_with_message!(EINVAL, "the waiter did not wait with FUTEX_WAIT_REQUEUE_PI"),
            }
            let tid = w.state.thread.tid();
            match self.lock_pi_atomic(to, tid, n2 > 0)? {
                PiLock::Acquired => {
                    let w = self.waiters.remove(top);
                    w.state.requeued.store(true, Release);
                    self.woke(w);
                    count = 1;
                }
                PiLock::MustWait => {}
                PiLock::OwnerGone(_) => return_errno_with_message!(ESRCH, "the owner of the PI futex is gone"),
            }
        }
        let mut i = 0;
        // One more than `n2` when the lock was not taken for the first.
        while i < self.waiters.len() && i64::from(count) - 1 < i64::from(n2) {
            let w = &self.waiters[i];
            if w.addr != from {
                i += 1;
                continue;
            }
            match w.kind {
                WaitKind::RequeuePi { pi_addr } if pi_addr == to => {}
                WaitKind::RequeuePi { .. } => return_errno_with_message!(EINVAL, "the waiter waits to be requeued to another futex"),
                _ => return_errno_with_message!(EINVAL, "the waiter did not wait with FUTEX_WAIT_REQUEUE_PI"),
            }
            if self.pi_state(to).is_none() {
                return Err(errno!(EINVAL, "PI futex state lost"));
            }
            let w = &mut self.waiters[i];
            w.addr = to;
            w.kind = WaitKind::Pi;
            w.state.requeued.store(true, Release);
            // Behind the waiters already queued on `to`.
            let w = self.waiters.remove(i);
            self.waiters.push(w);
            count += 1;
        }
        self.drop_unused_pi(to);
        Ok(count)
    }

    /// In a fork child: only the forking thread lives on, and it waits on
    /// nothing.
    pub fn clear(&mut self) {
        self.waiters.clear();
        self.pi.clear();
        self.unpark.clear();
    }
}

/// Whether `tid` names a live thread of this process (attach_to_pi_owner
/// looks it up; a thread that has exited is gone from the list).
fn is_live_thread(tid: u32) -> bool {
    super::current().thread(tid).is_some_and(|t| !t.exited.load(Relaxed))
}
