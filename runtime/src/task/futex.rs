//! The private futex wait queues of the process (futex(2) on words no
//! other process can see). The calls themselves are in syscall/futex.rs.
//!
//! A waiter is queued under [`Process::futexes`](super::Process) while
//! the futex word is compared, so a wake that follows a change of the word
//! always finds it; it then sleeps on its thread's parker. A waker takes it
//! off the queue, marks it woken and unparks its thread: there is no
//! polling.

use super::Thread;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::Arc;

pub struct FutexWaiter {
    /// The guest address it waits on; changed by a requeue.
    pub addr: u64,
    /// FUTEX_WAIT_BITSET's bitset (all ones for FUTEX_WAIT).
    pub bitset: u32,
    pub state: Arc<WaitState>,
}

/// Shared by the sleeping thread and whoever wakes it.
pub struct WaitState {
    pub thread: Arc<Thread>,
    pub woken: AtomicBool,
}

impl WaitState {
    pub fn is_woken(&self) -> bool {
        self.woken.load(Acquire)
    }
}

#[derive(Default)]
pub struct FutexTable {
    pub waiters: Vec<FutexWaiter>,
}

impl FutexTable {
    pub fn enqueue(&mut self, addr: u64, bitset: u32, thread: Arc<Thread>) -> Arc<WaitState> {
        let state = Arc::new(WaitState { thread, woken: AtomicBool::new(false) });
        self.waiters.push(FutexWaiter { addr, bitset, state: state.clone() });
        state
    }

    /// Takes a waiter that gave up (timeout, signal) off the queue; false
    /// if a waker took it first (it was woken).
    pub fn cancel(&mut self, state: &Arc<WaitState>) -> bool {
        match self.waiters.iter().position(|w| Arc::ptr_eq(&w.state, state)) {
            Some(i) => {
                self.waiters.remove(i);
                true
            }
            None => false,
        }
    }

    /// Wakes up to `n` waiters on `addr` whose bitset meets `bitset`,
    /// oldest first; returns how many.
    pub fn wake(&mut self, addr: u64, n: u32, bitset: u32) -> u32 {
        let mut woken = 0;
        let mut i = 0;
        while i < self.waiters.len() && woken < n {
            let w = &self.waiters[i];
            if w.addr == addr && w.bitset & bitset != 0 {
                let w = self.waiters.remove(i);
                w.state.woken.store(true, Release);
                w.state.thread.parker.unpark();
                woken += 1;
            } else {
                i += 1;
            }
        }
        woken
    }

    /// Wakes `n` waiters on `from` and moves up to `n2` others to `to`;
    /// returns (woken, moved).
    pub fn requeue(&mut self, from: u64, n: u32, to: u64, n2: u32) -> (u32, u32) {
        let woken = self.wake(from, n, u32::MAX);
        let mut moved = 0;
        for w in self.waiters.iter_mut().filter(|w| w.addr == from) {
            if moved >= n2 {
                break;
            }
            w.addr = to;
            moved += 1;
        }
        (woken, moved)
    }

    /// In a fork child: only the forking thread lives on, and it waits on
    /// nothing.
    pub fn clear(&mut self) {
        self.waiters.clear();
    }
}
