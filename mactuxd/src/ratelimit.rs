//! Rate-limited warnings. Anything that can happen once per connection (a
//! failed handshake, a refused peer, an accept error under fd exhaustion, a
//! refused re-registration retried on every call) would otherwise let a
//! flood of connections fill the log. Per kind, at most [`BURST`] warnings
//! are written per [`WINDOW`]; the rest are counted, and the count is written
//! as one summary line (`suppressed=N`) when the kind's next window opens,
//! on the daemon's periodic sweep, and when the daemon stops.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Warnings of one kind written per window.
pub const BURST: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(10);

struct Kind {
    window_start: Instant,
    logged: u32,
    suppressed: u64,
}

static KINDS: Mutex<BTreeMap<&'static str, Kind>> = Mutex::new(BTreeMap::new());

fn kinds() -> MutexGuard<'static, BTreeMap<&'static str, Kind>> {
    KINDS.lock().unwrap_or_else(|e| e.into_inner())
}

fn report(kind: &'static str, k: &mut Kind) {
    if k.suppressed > 0 {
        tracing::warn!(kind, suppressed = k.suppressed, "{} more warnings of this kind were not logged", k.suppressed);
        k.suppressed = 0;
    }
}

/// Whether a warning of `kind` may be written now (counted when not).
pub fn admit(kind: &'static str) -> bool {
    let now = Instant::now();
    let mut kinds = kinds();
    let k = kinds.entry(kind).or_insert(Kind { window_start: now, logged: 0, suppressed: 0 });
    if now.duration_since(k.window_start) >= WINDOW {
        report(kind, k);
        k.window_start = now;
        k.logged = 0;
    }
    if k.logged < BURST {
        k.logged += 1;
        true
    } else {
        k.suppressed += 1;
        false
    }
}

/// Writes the counts of windows that have ended (`all`: of every window,
/// as the daemon stops).
pub fn summarize(all: bool) {
    let now = Instant::now();
    for (kind, k) in kinds().iter_mut() {
        if all || now.duration_since(k.window_start) >= WINDOW {
            report(kind, k);
        }
    }
}

/// `tracing::warn!` for what may repeat once per connection: the first
/// argument names the kind (a `&'static str`), the rest is as for `warn!`.
macro_rules! warn_limited {
    ($kind:expr, $($rest:tt)+) => {
        if $crate::ratelimit::admit($kind) {
            tracing::warn!(kind = $kind, $($rest)+);
        }
    };
}
pub(crate) use warn_limited;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_per_window_then_counted() {
        let admitted = (0..100).filter(|_| admit("test-burst")).count();
        assert_eq!(admitted, BURST as usize);
        assert_eq!(kinds()["test-burst"].suppressed, 100 - u64::from(BURST));
        summarize(true);
        assert_eq!(kinds()["test-burst"].suppressed, 0);
    }
}
