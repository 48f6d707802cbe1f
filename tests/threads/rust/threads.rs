//! std::thread under test: spawn and join with results, a panicking thread,
//! mpsc channels (async and rendezvous), `Arc<Mutex>` shared by eight
//! threads, a Condvar hand-off, a Barrier, `thread::scope` borrowing a
//! vector, park/unpark and thread-locals. Built by tests/tests/threads.rs with
//! `rustc -O` twice: default (dynamic, PIE) and `+crt-static` (static-pie).
//! Every wait is bounded: a lost wake-up fails instead of hanging.

use std::cell::Cell;
use std::sync::{mpsc, Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

thread_local! {
    static PER_THREAD: Cell<u32> = const { Cell::new(0) };
}

fn fail(what: &str) -> ! {
    println!("FAIL: {what}");
    std::process::exit(1);
}

fn main() {
    // Four named threads each sum a range and return it through join.
    let handles: Vec<_> = (0..4u64)
        .map(|i| {
            thread::Builder::new()
                .name(format!("summer-{i}"))
                .spawn(move || {
                    let name = thread::current().name().map(str::to_owned);
                    ((i * 250_000 + 1..=(i + 1) * 250_000).sum::<u64>(), name)
                })
                .unwrap_or_else(|e| fail(&format!("spawn: {e}")))
        })
        .collect();
    let mut total = 0;
    let mut names = Vec::new();
    for h in handles {
        let (part, name) = h.join().unwrap_or_else(|_| fail("a summer panicked"));
        total += part;
        names.push(name.unwrap_or_default());
    }
    println!("sum 1..=1000000 = {total}; threads {}", names.join(","));

    // A thread that panics: join reports it, the process carries on.
    let panicked = thread::spawn(|| panic!("deliberate panic in a thread")).join().is_err();
    println!("join of a panicking thread is an error: {panicked}");

    // Three producers on one channel.
    let (tx, rx) = mpsc::channel();
    for p in 0..3u32 {
        let tx = tx.clone();
        thread::spawn(move || {
            for i in 0..100 {
                tx.send(p * 100 + i).unwrap_or_else(|_| fail("receiver gone"));
            }
        });
    }
    drop(tx);
    let mut got = Vec::new();
    loop {
        match rx.recv_timeout(WAIT) {
            Ok(v) => got.push(v),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => fail("mpsc producers stalled"),
        }
    }
    got.sort_unstable();
    println!("mpsc: {} values, all distinct: {}", got.len(), got.windows(2).all(|w| w[0] < w[1]));

    // A rendezvous channel: every send waits for its receive.
    let (stx, srx) = mpsc::sync_channel::<u32>(0);
    let echo = thread::spawn(move || (0..5).map(|_| srx.recv_timeout(WAIT).unwrap_or_else(|_| fail("sync send lost"))).sum::<u32>());
    for v in 1..=5 {
        stx.send(v).unwrap_or_else(|_| fail("sync receiver gone"));
    }
    println!("sync_channel sum: {}", echo.join().unwrap_or_else(|_| fail("echo panicked")));

    // Arc<Mutex> shared by eight threads.
    let counter = Arc::new(Mutex::new(0u64));
    let adders: Vec<_> = (0..8)
        .map(|_| {
            let counter = Arc::clone(&counter);
            thread::spawn(move || {
                for _ in 0..10_000 {
                    *counter.lock().unwrap_or_else(|_| fail("poisoned")) += 1;
                }
            })
        })
        .collect();
    for a in adders {
        a.join().unwrap_or_else(|_| fail("an adder panicked"));
    }
    println!("Arc<Mutex> counter: {}", *counter.lock().unwrap_or_else(|_| fail("poisoned")));

    // A Condvar hand-off.
    let pair = Arc::new((Mutex::new(None::<String>), Condvar::new()));
    let sender = Arc::clone(&pair);
    thread::spawn(move || {
        let (slot, cv) = &*sender;
        *slot.lock().unwrap_or_else(|_| fail("poisoned")) = Some("handed over".into());
        cv.notify_one();
    });
    let (slot, cv) = &*pair;
    let guard = slot.lock().unwrap_or_else(|_| fail("poisoned"));
    let (guard, timeout) = cv.wait_timeout_while(guard, WAIT, |v| v.is_none()).unwrap_or_else(|_| fail("poisoned"));
    if timeout.timed_out() {
        fail("condvar hand-off lost");
    }
    println!("condvar: {}", guard.as_deref().unwrap_or(""));
    drop(guard);

    // Three threads meet at a Barrier; exactly one is the leader.
    let barrier = Arc::new(Barrier::new(3));
    let leaders: usize = (0..3)
        .map(|_| {
            let b = Arc::clone(&barrier);
            thread::spawn(move || b.wait().is_leader())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| usize::from(h.join().unwrap_or_else(|_| fail("a barrier thread panicked"))))
        .sum();
    println!("barrier leaders: {leaders}");

    // Scoped threads borrow and change parts of one vector.
    let mut data = vec![1u64; 1000];
    thread::scope(|s| {
        for (i, chunk) in data.chunks_mut(250).enumerate() {
            s.spawn(move || chunk.iter_mut().for_each(|x| *x += i as u64));
        }
    });
    println!("scoped threads: sum {}", data.iter().sum::<u64>());

    // park/unpark and thread-locals.
    PER_THREAD.with(|v| v.set(7));
    let parked = thread::spawn(|| {
        PER_THREAD.with(|v| v.set(99));
        thread::park_timeout(WAIT);
        PER_THREAD.with(Cell::get)
    });
    parked.thread().unpark();
    let theirs = parked.join().unwrap_or_else(|_| fail("the parked thread panicked"));
    println!("thread-locals: main {} other {theirs}", PER_THREAD.with(Cell::get));
}
