//! Shared futexes: wait queues for futex words that several tasks (host
//! processes) map, keyed as Linux keys them (the object and the offset).
//!
//! A waiter first queues (getting a token), then compares the word in its
//! own memory, then sleeps on the token; a wake that lands in between marks
//! the token, so the sleep returns at once and no wake-up is lost. Sleeps
//! are bounded by the caller's timeout so that a waiting task can look for
//! signals between them.

use mactux_proto::FutexKey;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

struct Waiter {
    conn: u64,
    key: FutexKey,
    bitset: u32,
    woken: bool,
    notify: Arc<Notify>,
}

#[derive(Default)]
pub struct Futexes {
    waiters: Mutex<HashMap<u64, Waiter>>,
    next_token: Mutex<u64>,
}

/// How a sleep ended.
pub enum Slept {
    Woken,
    TimedOut,
    /// The token is not (or no longer) queued.
    Unknown,
}

impl Futexes {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Waiter>> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn queue(&self, conn: u64, key: FutexKey, bitset: u32) -> u64 {
        let token = {
            let mut n = self.next_token.lock().unwrap_or_else(|e| e.into_inner());
            *n += 1;
            *n
        };
        self.lock().insert(token, Waiter { conn, key, bitset, woken: false, notify: Arc::new(Notify::new()) });
        token
    }

    /// Only the connection that queued a token may sleep on or cancel it.
    pub async fn sleep(&self, conn: u64, token: u64, timeout: Duration) -> Slept {
        let notify = {
            let mut w = self.lock();
            match w.get(&token) {
                Some(x) if x.conn != conn => return Slept::Unknown,
                Some(x) if x.woken => {
                    w.remove(&token);
                    return Slept::Woken;
                }
                Some(x) => x.notify.clone(),
                None => return Slept::Unknown,
            }
        };
        let _ = tokio::time::timeout(timeout, notify.notified()).await;
        let mut w = self.lock();
        match w.get(&token) {
            Some(x) if x.woken => {
                w.remove(&token);
                Slept::Woken
            }
            Some(_) => Slept::TimedOut,
            None => Slept::Unknown,
        }
    }

    pub fn cancel(&self, conn: u64, token: u64) {
        let mut w = self.lock();
        if w.get(&token).is_some_and(|x| x.conn == conn) {
            w.remove(&token);
        }
    }

    /// Wakes up to `count` waiters of `key`, oldest first.
    pub fn wake(&self, key: FutexKey, count: u32, bitset: u32) -> u32 {
        let mut w = self.lock();
        let mut tokens: Vec<u64> =
            w.iter().filter(|(_, x)| x.key == key && !x.woken && x.bitset & bitset != 0).map(|(t, _)| *t).collect();
        tokens.sort_unstable();
        let mut woken = 0;
        for t in tokens.into_iter().take(count as usize) {
            if let Some(x) = w.get_mut(&t) {
                x.woken = true;
                // notify_one stores a permit, so a sleeper that has not yet
                // started waiting still sees it.
                x.notify.notify_one();
                woken += 1;
            }
        }
        woken
    }

    /// Forgets every token of a closed connection.
    pub fn disconnect(&self, conn: u64) {
        self.lock().retain(|_, x| x.conn != conn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: FutexKey = FutexKey::Anon { region: 7, offset: 8 };

    #[tokio::test]
    async fn wake_before_sleep_is_not_lost() {
        let f = Futexes::default();
        let t = f.queue(1, KEY, u32::MAX);
        assert_eq!(f.wake(KEY, 1, u32::MAX), 1);
        assert!(matches!(f.sleep(1, t, Duration::from_millis(10)).await, Slept::Woken));
        assert!(matches!(f.sleep(1, t, Duration::from_millis(1)).await, Slept::Unknown));
    }

    #[tokio::test]
    async fn timeouts_bitsets_and_owners() {
        let f = Futexes::default();
        let t = f.queue(1, KEY, 0b01);
        assert_eq!(f.wake(KEY, 1, 0b10), 0);
        assert!(matches!(f.sleep(1, t, Duration::from_millis(5)).await, Slept::TimedOut));
        assert!(matches!(f.sleep(2, t, Duration::from_millis(5)).await, Slept::Unknown));
        assert_eq!(f.wake(FutexKey::Anon { region: 7, offset: 16 }, 1, u32::MAX), 0);
        f.disconnect(1);
        assert_eq!(f.wake(KEY, 1, u32::MAX), 0);
    }
}
