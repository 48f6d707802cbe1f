//! A tokio program for the suite (tests/tests/threads.rs): a multi-threaded
//! runtime whose workers sleep in epoll_wait and are woken by mio's waker
//! (an eventfd registered edge-triggered, written at each wake and never
//! read), a TCP echo server on a loopback ephemeral port with concurrent
//! clients, timers, channels, `spawn_blocking` and the signal driver. It prints only figures
//! that do not depend on scheduling, so its output is compared with its
//! native run. A watchdog thread ends it (exit 3) if it has not finished in
//! 15 s, so a lost wake-up shows as a failure, never a hang.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const CLIENTS: u64 = 8;
const MESSAGES: u64 = 50;

fn main() {
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(15));
        eprintln!("tokio_probe: not finished after 15 s (a lost wake-up?)");
        std::process::exit(3);
    });
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("build the runtime");
    rt.block_on(run());
}

async fn run() {
    // Each result comes back through a wake from the blocking pool: the
    // waiting worker is asleep in epoll_wait and only mio's waker ends it.
    let mut sum = 0u64;
    for i in 0..200u64 {
        sum += tokio::task::spawn_blocking(move || (1..=i).sum::<u64>()).await.expect("blocking task");
    }
    println!("spawn_blocking: 200 results, sum {sum}");

    // A timer's wake, and one from a task on the other worker.
    let (tx, mut rx) = mpsc::channel::<u64>(4);
    let producer = tokio::spawn(async move {
        for i in 0..50u64 {
            tokio::time::sleep(Duration::from_millis(1)).await;
            tx.send(i).await.expect("send");
        }
    });
    let mut got = 0u64;
    while let Some(v) = rx.recv().await {
        got += v;
    }
    producer.await.expect("producer");
    println!("channel after timers: sum {got}");

    // An echo server and concurrent clients.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    let server = tokio::spawn(async move {
        for _ in 0..CLIENTS {
            let (mut s, _) = listener.accept().await.expect("accept");
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                loop {
                    let n = s.read(&mut buf).await.expect("server read");
                    if n == 0 {
                        break;
                    }
                    s.write_all(&buf[..n]).await.expect("server write");
                }
            });
        }
    });
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        clients.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.expect("connect");
            let mut bytes = 0u64;
            for m in 0..MESSAGES {
                let msg = format!("client {c} message {m}\n");
                s.write_all(msg.as_bytes()).await.expect("client write");
                let mut back = vec![0u8; msg.len()];
                s.read_exact(&mut back).await.expect("client read");
                assert_eq!(back, msg.as_bytes(), "the echo differs");
                bytes += back.len() as u64;
            }
            bytes
        }));
    }
    let mut total = 0u64;
    for c in clients {
        total += c.await.expect("client task");
    }
    server.await.expect("server");
    println!("echo: {CLIENTS} clients, {} messages, {total} bytes", CLIENTS * MESSAGES);

    // tokio's signal driver: a handler that writes to a socket the
    // driver's epoll watches. The signal comes from a `kill` child.
    let mut usr1 = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()).expect("listen for SIGUSR1");
    let pid = std::process::id().to_string();
    for _ in 0..3 {
        let pid = pid.clone();
        let status = tokio::task::spawn_blocking(move || std::process::Command::new("kill").args(["-USR1", &pid]).status()).await.expect("kill task");
        assert!(status.expect("run kill").success(), "kill failed");
        usr1.recv().await.expect("SIGUSR1");
    }
    println!("signals: 3 SIGUSR1 received");
}
