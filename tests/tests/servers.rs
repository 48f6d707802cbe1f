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

const NGINX: &str = "/usr/sbin/nginx";

/// A port on 127.0.0.1 that was free a moment ago (nginx cannot report one it chose).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("its address").port()
}

/// The nginx configuration of the test: everything nginx writes is in `dir`.
fn nginx_conf(dir: &Path, port: u16, as_root: bool) -> String {
    let d = dir.display();
    let user = if as_root { "user nobody nogroup;" } else { "" };
    format!(
        "daemon off;\nmaster_process on;\nworker_processes 2;\n{user}\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/tmp/body;\n  proxy_temp_path {d}/tmp/proxy;\n  \
         fastcgi_temp_path {d}/tmp/fastcgi;\n  uwsgi_temp_path {d}/tmp/uwsgi;\n  scgi_temp_path {d}/tmp/scgi;\n  sendfile on;\n  \
         server {{\n    listen 127.0.0.1:{port};\n    root {d}/www;\n  }}\n}}\n"
    )
}

/// nginx's master and workers, in a process group of their own, killed together
/// when the test ends early (a failed assertion must not leave a server behind).
struct ServerGroup(Option<Child>);

impl Drop for ServerGroup {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            // SAFETY: kill(2) of the group led by the child we started.
            unsafe { libc::kill(-(c.id() as i32), libc::SIGKILL) };
            let _ = c.wait();
        }
    }
}

/// nginx under mactux, as the test user: a master that (as root) starts two workers which
/// drop to nobody (setgid, initgroups, setuid), accept on an epoll loop and send files with
/// sendfile; a native curl fetches a 1 MB file and a small one several times, byte for
/// byte; SIGQUIT ends the master and its workers.
#[test]
fn nginx_serves_files_from_workers_that_dropped_root() {
    if !require_tool(NGINX, "nginx-light") || !require_tool("/usr/bin/curl", "curl") {
        return;
    }
    let dir = ScratchDir::new("servers-nginx");
    std::fs::create_dir_all(dir.join("www")).expect("www");
    std::fs::create_dir_all(dir.join("tmp")).expect("tmp");
    // The workers run as nobody: the tree must be readable to others, as nginx needs natively.
    use std::os::unix::fs::PermissionsExt;
    for p in [dir.path().to_path_buf(), dir.join("www")] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(dir.join("www/big.bin"), &big).expect("big.bin");
    std::fs::write(dir.join("www/small.txt"), "served by nginx under mactux\n").expect("small.txt");
    let as_root = run_native(&Run::cmd(&["/usr/bin/id", "-u"])).stdout_str().trim() == "0";
    let port = free_port();
    std::fs::write(dir.join("nginx.conf"), nginx_conf(dir.path(), port, as_root)).expect("nginx.conf");
    use std::os::unix::process::CommandExt;
    let mut group = ServerGroup(Some(
        Command::new(mactux_bin())
            .args(["run", "--", NGINX, "-c"])
            .arg(dir.join("nginx.conf"))
            .arg("-p")
            .arg(dir.path())
            .current_dir(dir.path())
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx under mactux"),
    ));
    let server = group.0.as_mut().expect("the server");
    let log = || std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
    let url = |f: &str| format!("http://127.0.0.1:{port}/{f}");
    let fetch = |f: &str| {
        Command::new("/usr/bin/curl")
            .args(["-sS", "--max-time", "20", &url(f)])
            .stdin(Stdio::null())
            .output()
            .expect("run curl")
    };
    wait_until("nginx's workers", || log().matches("start worker process").count() >= 2 || server.try_wait().ok().flatten().is_some());
    wait_until("nginx answering", || fetch("small.txt").status.success());
    for round in 0..4 {
        let small = fetch("small.txt");
        assert!(small.status.success(), "round {round}: curl small.txt: {}\n{}", String::from_utf8_lossy(&small.stderr), log());
        assert_eq!(small.stdout, b"served by nginx under mactux\n", "round {round}: small.txt");
        let got = fetch("big.bin");
        assert!(got.status.success(), "round {round}: curl big.bin: {}\n{}", String::from_utf8_lossy(&got.stderr), log());
        assert!(got.stdout == big, "round {round}: big.bin differs ({} bytes of {})", got.stdout.len(), big.len());
    }
    let missing = Command::new("/usr/bin/curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", &url("missing")])
        .output()
        .expect("run curl");
    assert_eq!(missing.stdout, b"404");
    if as_root {
        // The workers' ids inside, as `mactux ps` shows them.
        let ps = Command::new(mactux_bin()).arg("ps").output().expect("mactux ps");
        let ps = String::from_utf8_lossy(&ps.stdout).into_owned();
        let conf = dir.join("nginx.conf").display().to_string();
        let users: Vec<&str> = ps.lines().filter(|l| l.contains(&conf)).filter_map(|l| l.split_whitespace().next()).collect();
        assert_eq!(users.iter().filter(|u| **u == "nobody").count(), 2, "two workers as nobody:\n{ps}");
        assert_eq!(users.iter().filter(|u| **u == "root").count(), 1, "a master as root:\n{ps}");
    }
    let access = std::fs::read_to_string(dir.join("access.log")).unwrap_or_default();
    assert_eq!(access.matches("\"GET /big.bin HTTP/1.1\" 200 1000000 ").count(), 4, "access log:\n{access}");
    // SIGQUIT: a graceful shutdown of the master and its workers.
    // SAFETY: kill(2) of the child we started.
    assert_eq!(unsafe { libc::kill(server.id() as i32, libc::SIGQUIT) }, 0);
    let start = Instant::now();
    loop {
        if let Ok(Some(st)) = server.try_wait() {
            assert!(st.success(), "nginx under mactux ended with {st}\n{}", log());
            group.0 = None;
            break;
        }
        if start.elapsed() > Duration::from_secs(20) {
            panic!("nginx under mactux did not end after SIGQUIT\n{}", log());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!log().contains("[alert]") && !log().contains("[emerg]"), "nginx's error log:\n{}", log());
}
