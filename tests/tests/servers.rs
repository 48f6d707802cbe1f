//! Event-loop programs and servers nobody here wrote, on epoll, eventfd and sockets:
//! Node.js (libuv: timers, the thread pool's fs calls, child processes over socketpairs,
//! an HTTP server and client) and redis (its own epoll loop, a Unix socket in the
//! scratch directory), each compared with its native run or checked with a native
//! client; and ssh-keygen, whose key a native ssh-keygen reads back. Servers listen on
//! 127.0.0.1 ephemeral ports or on sockets in scratch directories; every wait is bounded.

use mactux_tests::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NODE: &str = "/usr/bin/node";
const REDIS_SERVER: &str = "/usr/bin/redis-server";
const REDIS_CLI: &str = "/usr/bin/redis-cli";
const SSH_KEYGEN: &str = "/usr/bin/ssh-keygen";

/// libuv end to end; prints only what Linux guarantees, in a fixed order.
const NODE_SCRIPT: &str = r#"
const cp = require("child_process"), http = require("http"), fs = require("fs");
const dir = process.argv[1];
setTimeout(() => {
  console.log("timer fired");
  fs.writeFile(dir + "/f.txt", "written by node\n", (e) => {
    fs.readFile(dir + "/f.txt", "utf8", (e2, data) => {
      console.log("fs:", e || e2 ? "error" : data.trim());
      cp.exec("echo hello from a child; exit 3", (err, out) => {
        console.log("exec:", out.trim(), "status", err ? err.code : 0);
        const cat = cp.spawn("/bin/cat");
        let got = "";
        cat.stdout.on("data", (d) => (got += d));
        cat.on("close", (code) => {
          console.log("spawn:", got.trim(), "exit", code);
          const srv = http.createServer((q, r) => r.end("served " + q.url)).listen(0, "127.0.0.1", () => {
            const port = srv.address().port;
            let pending = 3;
            for (const p of ["/a", "/b", "/c"]) {
              http.get({ host: "127.0.0.1", port, path: p }, (res) => {
                let b = "";
                res.on("data", (d) => (b += d));
                res.on("end", () => {
                  console.log("http:", res.statusCode, b);
                  if (--pending === 0) srv.close(() => console.log("server closed"));
                });
              });
            }
          });
        });
        cat.stdin.end("piped through cat\n");
      });
    });
  });
}, 20);
"#;

#[test]
fn node_event_loop_child_processes_and_http() {
    if !require_tool(NODE, "nodejs") {
        return;
    }
    let native_dir = ScratchDir::new("servers-node-native");
    let emu_dir = ScratchDir::new("servers-node-mactux");
    let run = |d: &ScratchDir| {
        Run::cmd(&[NODE, "-e", NODE_SCRIPT]).arg(d.path()).cwd(d.path()).timeout(Duration::from_secs(60))
    };
    let native = run_native(&run(&native_dir));
    assert!(native.is_success(), "node natively: {}", native.stderr_str());
    let emulated = run_mactux(&run(&emu_dir));
    assert_same("node", &native, &emulated, Compare::STDOUT_STATUS);
}

/// Waits until `cond` holds, for at most 20 s.
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn redis_cli(sock: &Path, args: &[&str]) -> Run {
    Run::cmd(&[REDIS_CLI, "-s"]).arg(sock).args(args).timeout(Duration::from_secs(20))
}

/// redis-server under mactux, on a Unix socket in the scratch directory, answers a
/// native redis-cli and a redis-cli under mactux as it answers them natively.
#[test]
fn redis_server_under_mactux() {
    if !require_tool(REDIS_SERVER, "redis-server") || !require_tool(REDIS_CLI, "redis-tools") {
        return;
    }
    let dir = ScratchDir::new("servers-redis");
    let sock = dir.join("redis.sock");
    let server = Command::new(mactux_bin())
        .args(["run", "--", REDIS_SERVER, "--port", "0", "--save", "", "--appendonly", "no", "--unixsocket"])
        .arg(&sock)
        .arg("--dir")
        .arg(dir.path())
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server under mactux");
    wait_until("redis-server's socket", || sock.exists());
    let ping = run_native(&redis_cli(&sock, &["ping"]));
    assert_eq!(ping.stdout_str().trim(), "PONG", "native redis-cli ping: {}", ping.stderr_str());
    let set = run_native(&redis_cli(&sock, &["set", "greeting", "hello"]));
    assert_eq!(set.stdout_str().trim(), "OK");
    let get = run_mactux(&redis_cli(&sock, &["get", "greeting"]));
    assert_eq!(get.stdout_str().trim(), "hello", "redis-cli under mactux: {}", get.stderr_str());
    for want in ["1", "2", "3"] {
        let incr = run_mactux(&redis_cli(&sock, &["incr", "counter"]));
        assert_eq!(incr.stdout_str().trim(), want);
    }
    let list = run_native(&redis_cli(&sock, &["rpush", "l", "a", "b", "c"]));
    assert_eq!(list.stdout_str().trim(), "3");
    let range = run_mactux(&redis_cli(&sock, &["lrange", "l", "0", "-1"]));
    assert_eq!(range.stdout_str(), "a\nb\nc\n");
    let _ = run_native(&redis_cli(&sock, &["shutdown", "nosave"]));
    let mut server = server;
    let start = Instant::now();
    loop {
        if let Ok(Some(st)) = server.try_wait() {
            assert!(st.success(), "redis-server under mactux ended with {st}");
            break;
        }
        if start.elapsed() > Duration::from_secs(20) {
            stop(server);
            panic!("redis-server under mactux did not end after SHUTDOWN");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// ssh-keygen under mactux makes an ed25519 key pair (random bytes, the user's name
/// through NSS, a private file written with mode 0600); a native ssh-keygen derives the
/// same public key from the private one, and both print the same fingerprint.
#[test]
fn ssh_keygen_under_mactux() {
    if !require_tool(SSH_KEYGEN, "openssh-client") {
        return;
    }
    let dir = ScratchDir::new("servers-ssh-keygen");
    let key = dir.join("id_test");
    let made = run_mactux(
        &Run::cmd(&[SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "mactux-test", "-f"]).arg(&key).timeout(Duration::from_secs(30)),
    );
    assert!(made.is_success(), "ssh-keygen under mactux: {}", made.stderr_str());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key).expect("the private key").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the private key's mode");
    let public = std::fs::read_to_string(dir.join("id_test.pub")).expect("the public key");
    let derived = run_native(&Run::cmd(&[SSH_KEYGEN, "-y", "-f"]).arg(&key).timeout(Duration::from_secs(30)));
    assert!(derived.is_success(), "native ssh-keygen -y: {}", derived.stderr_str());
    let first_two = |s: &str| s.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    assert_eq!(first_two(&derived.stdout_str()), first_two(&public), "the public key derived natively");
    let fp = |r: &Run| r.clone().arg(dir.join("id_test.pub")).timeout(Duration::from_secs(30));
    let fp_run = Run::cmd(&[SSH_KEYGEN, "-l", "-f"]);
    let native = run_native(&fp(&fp_run));
    let emulated = run_mactux(&fp(&fp_run));
    assert_same("ssh-keygen -l", &native, &emulated, Compare::STDOUT_STATUS);
}
