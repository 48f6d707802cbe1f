//! Sockets with programs nobody here wrote: python3's socket module (socketpair, SCM_RIGHTS
//! through send_fds/recv_fds, TCP and Unix servers), os.eventfd, select.epoll and
//! selectors, asyncio, curl against an HTTP server (`python3 -m http.server` among them),
//! netcat (listener and client) and socat (client and forking server), each side in turn
//! under `mactux run`, compared with native runs. Servers bind 127.0.0.1 on ephemeral
//! ports and serve a bounded number of requests with a timeout.

use mactux_tests::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PYTHON: &str = "/usr/bin/python3";
const CURL: &str = "/usr/bin/curl";
const NC: &str = "/usr/bin/nc.openbsd";
const SOCAT: &str = "/usr/bin/socat";

/// python3's socket module end to end: fd passing, a TCP and a Unix-domain exchange,
/// socket options and names. Prints only what Linux guarantees.
const SOCKETS_SCRIPT: &str = r#"
import os, socket, sys
d = sys.argv[1]
a, b = socket.socketpair()
r, w = os.pipe()
os.write(w, b"through the pipe")
socket.send_fds(a, [b"hi"], [r])
msg, fds, flags, addr = socket.recv_fds(b, 10, 4)
print("fds", msg, len(fds), flags, os.read(fds[0], 100))
a.sendall(b"x" * 100000)
a.close()
n = 0
while True:
    chunk = b.recv(65536)
    if not chunk:
        break
    n += len(chunk)
print("stream bytes", n)
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print("tcp", s.getsockname()[0], s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE), s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
c = socket.create_connection(s.getsockname(), timeout=10)
x, _ = s.accept()
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
print("nodelay", c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
c.sendall(b"ping")
print("peek", x.recv(10, socket.MSG_PEEK), x.recv(10))
u = socket.socket(socket.AF_UNIX)
u.bind(d + "/u.sock")
u.listen()
print("unix name", u.getsockname() == d + "/u.sock")
uc = socket.socket(socket.AF_UNIX)
uc.connect(d + "/u.sock")
ua, _ = u.accept()
cred = ua.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
print("peercred pid is mine", int.from_bytes(cred[:4], "little") == os.getpid())
uc.sendall(b"over unix")
print("unix data", ua.recv(100))
ab = socket.socket(socket.AF_UNIX)
name = "\0mactux-net-test-" + os.path.basename(d)
ab.bind(name)
ab.listen()
print("abstract name", ab.getsockname() == name.encode())
ac = socket.socket(socket.AF_UNIX)
ac.connect(name)
aa, _ = ab.accept()
ac.send(b"abstract")
print("abstract data", aa.recv(10))
"#;

#[test]
fn python_sockets_and_fd_passing() {
    if !require_tool(PYTHON, "python3") {
        return;
    }
    let native_dir = ScratchDir::new("net-py-native");
    let emu_dir = ScratchDir::new("net-py-mactux");
    let run = |dir: &ScratchDir| Run::cmd(&[PYTHON, "-c", SOCKETS_SCRIPT]).arg(dir.path()).timeout(Duration::from_secs(60));
    let native = run_native(&run(&native_dir));
    assert!(native.is_success(), "python3 natively: {}", native.stderr_str());
    let emulated = run_mactux(&run(&emu_dir));
    assert_same("python3 sockets", &native, &emulated, Compare::STDOUT_STATUS);
}

/// asyncio's event loop (epoll) with a TCP echo server and a client in one process.
const ASYNCIO_SCRIPT: &str = r#"
import asyncio
async def handle(r, w):
    data = await r.read()
    w.write(data.upper())
    await w.drain()
    w.close()
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    async with srv:
        for i in range(3):
            r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
            w.write(b"asyncio echo %d" % i)
            w.write_eof()
            print(await asyncio.wait_for(r.read(), 30))
            w.close()
asyncio.run(main())
"#;

#[test]
fn python_asyncio_echo() {
    if !require_tool(PYTHON, "python3") {
        return;
    }
    let run = Run::cmd(&[PYTHON, "-c", ASYNCIO_SCRIPT]).timeout(Duration::from_secs(60));
    let native = run_native(&run);
    assert!(native.is_success(), "python3 natively: {}", native.stderr_str());
    let emulated = run_mactux(&run);
    assert_same("python3 asyncio", &native, &emulated, Compare::STDOUT_STATUS);
}

/// asyncio beyond TCP: a Unix stream server in the scratch directory, UDP endpoints, a
/// subprocess on pipes (its exit reaped by the child watcher), add_signal_handler (the
/// wakeup fd), sock_sendfile, call_later ordering, getaddrinfo and run_in_executor on
/// the default thread pool.
const ASYNCIO_MORE_SCRIPT: &str = r#"
import asyncio, os, signal, socket, sys
d = sys.argv[1]
async def main():
    # unix server
    async def h(r, w):
        w.write((await r.readline()).upper()); await w.drain(); w.close()
    p = os.path.join(d, "aio.sock")
    if os.path.exists(p): os.unlink(p)
    srv = await asyncio.start_unix_server(h, p)
    r, w = await asyncio.open_unix_connection(p); w.write(b"unix line\n"); print("unix", await r.readline()); w.close(); srv.close()
    # datagram
    loop = asyncio.get_running_loop()
    got = loop.create_future()
    class P(asyncio.DatagramProtocol):
        def datagram_received(self, data, addr): got.set_result(data)
    t, _ = await loop.create_datagram_endpoint(P, local_addr=("127.0.0.1", 0))
    c, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=t.get_extra_info("sockname"))
    c.sendto(b"dgram"); print("udp", await asyncio.wait_for(got, 10)); t.close(); c.close()
    # subprocess
    proc = await asyncio.create_subprocess_exec("/bin/sh", "-c", "read x; echo sub $x; exit 3", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(b"in\n"), 10); print("subprocess", out, proc.returncode)
    # signal handler
    fut = loop.create_future(); loop.add_signal_handler(signal.SIGUSR2, lambda: fut.set_result("sigusr2"))
    os.kill(os.getpid(), signal.SIGUSR2); print("signal", await asyncio.wait_for(fut, 10))
    # sock_sendfile
    ls = socket.create_server(("127.0.0.1", 0)); ls.setblocking(False)
    cs = socket.socket(); cs.setblocking(False); await loop.sock_connect(cs, ls.getsockname()); x, _ = await loop.sock_accept(ls)
    with open(os.path.join(d, "f.bin"), "wb") as f: f.write(b"z" * 200000)
    with open(os.path.join(d, "f.bin"), "rb") as f: sent = await loop.sock_sendfile(x, f)
    x.close(); n = 0
    while True:
        b = await loop.sock_recv(cs, 65536)
        if not b: break
        n += len(b)
    print("sendfile", sent, n)
    # timeouts & call_later ordering
    order = []
    for i, dt in enumerate([0.05, 0.01, 0.03]): loop.call_later(dt, order.append, i)
    await asyncio.sleep(0.2); print("timers", order)
    # executor threads + getaddrinfo
    print("gai", sorted({a[4][0] for a in await loop.getaddrinfo("localhost", 80, family=socket.AF_INET)}))
    print("executor", await loop.run_in_executor(None, sum, range(10)))
asyncio.run(main())
"#;

#[test]
fn python_asyncio_unix_udp_subprocess_and_signals() {
    if !require_tool(PYTHON, "python3") {
        return;
    }
    let native_dir = ScratchDir::new("net-asyncio-native");
    let emu_dir = ScratchDir::new("net-asyncio-mactux");
    let run = |d: &ScratchDir| Run::cmd(&[PYTHON, "-c", ASYNCIO_MORE_SCRIPT]).arg(d.path()).timeout(Duration::from_secs(60));
    let native = run_native(&run(&native_dir));
    assert!(native.is_success() && native.stdout_str().contains("subprocess b'sub in\\n' 3\n"), "python3 natively: {}{}", native.stdout_str(), native.stderr_str());
    let emulated = run_mactux(&run(&emu_dir));
    assert_same("python3 asyncio, more", &native, &emulated, Compare::STDOUT_STATUS);
}

/// A server that answers `count` HTTP requests on 127.0.0.1 (an ephemeral port it prints
/// first) and then exits; it gives up after 60 s. socketserver waits with poll(2).
const SERVER_SCRIPT: &str = r#"
import http.server, sys, os, socketserver
os.chdir(sys.argv[1])
count = int(sys.argv[2])
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), Quiet)
srv.timeout = 60
print(srv.server_address[1], flush=True)
for _ in range(count):
    srv.handle_request()
"#;

/// Starts the server (natively, or under mactux) and reads its port.
fn start_server(under_mactux: bool, dir: &std::path::Path, count: u32) -> (Child, u16) {
    let mut cmd = if under_mactux {
        let mut c = Command::new(mactux_bin());
        c.args(["run", "--", PYTHON]);
        c
    } else {
        Command::new(PYTHON)
    };
    cmd.args(["-c", SERVER_SCRIPT]).arg(dir).arg(count.to_string());
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("start the HTTP server");
    let mut line = String::new();
    let out = child.stdout.take().expect("server stdout");
    // The port line comes at once; a server that never prints is killed by the test's
    // own timeout on curl below, and by `stop` at the end.
    BufReader::new(out).read_line(&mut line).expect("read the server's port");
    let port = line.trim().parse().unwrap_or_else(|_| panic!("the server printed no port: {line:?}"));
    (child, port)
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn serve_dir() -> ScratchDir {
    let dir = ScratchDir::new("net-http");
    std::fs::write(dir.join("hello.txt"), "hello over http\n".repeat(2000)).unwrap();
    dir
}

fn curl(port: u16) -> Run {
    Run::cmd(&[CURL, "-sS", "--max-time", "30", &format!("http://127.0.0.1:{port}/hello.txt")]).timeout(Duration::from_secs(60))
}

/// curl under mactux (it waits with poll) fetches from a native python server, and gets
/// what a native curl gets.
#[test]
fn curl_under_mactux_fetches_from_a_native_server() {
    if !require_tool(PYTHON, "python3") || !require_tool(CURL, "curl") {
        return;
    }
    let dir = serve_dir();
    let (server, port) = start_server(false, dir.path(), 2);
    let native = run_native(&curl(port));
    let emulated = run_mactux(&curl(port));
    stop(server);
    assert!(native.is_success(), "curl natively: {}", native.stderr_str());
    assert_same("curl", &native, &emulated, Compare::STDOUT_STATUS);
}

/// python's HTTP server under mactux (socket, bind, listen, accept, poll, send) serves a
/// native curl.
#[test]
fn native_curl_fetches_from_a_server_under_mactux() {
    if !require_tool(PYTHON, "python3") || !require_tool(CURL, "curl") {
        return;
    }
    let dir = serve_dir();
    let (server, port) = start_server(true, dir.path(), 1);
    let fetched = run_native(&curl(port));
    stop(server);
    assert!(fetched.is_success(), "curl of the server under mactux: {}", fetched.stderr_str());
    assert_eq!(fetched.stdout, "hello over http\n".repeat(2000).into_bytes());
}

/// A TCP server on 127.0.0.1 (its ephemeral port printed first) that answers `count`
/// connections, each by reading to EOF and sending the data back upper-cased; it gives up
/// after 60 s.
const UPPER_SCRIPT: &str = r#"
import socket, sys
count = int(sys.argv[1])
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
s.settimeout(60)
print(s.getsockname()[1], flush=True)
for _ in range(count):
    c, _ = s.accept()
    c.settimeout(60)
    data = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    c.sendall(data.upper())
    c.close()
"#;

fn start_upper(count: u32) -> (Child, u16) {
    let mut cmd = Command::new(PYTHON);
    cmd.args(["-c", UPPER_SCRIPT]).arg(count.to_string());
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("start the TCP server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("server stdout")).read_line(&mut line).expect("read the server's port");
    let port = line.trim().parse().unwrap_or_else(|_| panic!("the server printed no port: {line:?}"));
    (child, port)
}

const CLIENT_INPUT: &str = "netcat and socat under mactux\nsecond line\n";

/// netcat-openbsd under mactux as a TCP client (connect, poll, shutdown on EOF with -N),
/// against a native server, compared with a native nc.
#[test]
fn nc_client_under_mactux() {
    if !require_tool(PYTHON, "python3") || !require_tool(NC, "netcat-openbsd") {
        return;
    }
    let (server, port) = start_upper(2);
    let run = Run::cmd(&[NC, "-N", "-w", "30", "127.0.0.1", &port.to_string()]).stdin(CLIENT_INPUT).timeout(Duration::from_secs(60));
    let native = run_native(&run);
    let emulated = run_mactux(&run);
    stop(server);
    assert_eq!(native.stdout, CLIENT_INPUT.to_uppercase().into_bytes(), "nc natively: {}", native.stderr_str());
    assert_same("nc", &native, &emulated, Compare::STDOUT_STATUS);
}

/// socat under mactux relaying stdin to a TCP server and back, compared with native.
#[test]
fn socat_client_under_mactux() {
    if !require_tool(PYTHON, "python3") || !require_tool(SOCAT, "socat") {
        return;
    }
    let (server, port) = start_upper(2);
    let run = Run::cmd(&[SOCAT, "-t", "30", "-", &format!("TCP:127.0.0.1:{port}")]).stdin(CLIENT_INPUT).timeout(Duration::from_secs(60));
    let native = run_native(&run);
    let emulated = run_mactux(&run);
    stop(server);
    assert_eq!(native.stdout, CLIENT_INPUT.to_uppercase().into_bytes(), "socat natively: {}", native.stderr_str());
    assert_same("socat", &native, &emulated, Compare::STDOUT_STATUS);
}

/// nc under mactux listening on a Unix socket in a scratch directory (a guest path),
/// reached by a native socat: the socket file lands where the guest named it.
#[test]
fn nc_unix_listener_under_mactux() {
    if !require_tool(NC, "netcat-openbsd") || !require_tool(SOCAT, "socat") {
        return;
    }
    let dir = ScratchDir::new("net-nc-unix");
    let path = dir.join("listen.sock");
    let mut listener = Command::new(mactux_bin())
        .args(["run", "--", NC, "-U", "-l"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start nc -U -l under mactux");
    // Bounded wait for the socket file to appear.
    let mut appeared = false;
    for _ in 0..300 {
        if path.exists() {
            appeared = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if !appeared {
        stop(listener);
        panic!("nc under mactux never created {}", path.display());
    }
    let sent = run_native(&Run::cmd(&[SOCAT, "-t", "5", "-", &format!("UNIX-CONNECT:{}", path.display())]).stdin("over a unix socket\n").timeout(Duration::from_secs(60)));
    assert!(sent.is_success(), "socat to nc: {}", sent.stderr_str());
    let mut got = String::new();
    let mut out = listener.stdout.take().expect("nc stdout");
    let _ = std::io::Read::read_to_string(&mut out, &mut got);
    stop(listener);
    assert_eq!(got, "over a unix socket\n");
}

/// One exchange between `nc -l` on an ephemeral port (it names the port with -v) and an
/// `nc -N` client, each natively or under mactux: the client sends a line and ends its
/// half; once the listener has the line, it gets one to send back and its stdin ends, so
/// it ends its half (-N) and both exit. Returns what each side received and how each ended.
fn nc_exchange(listener_under_mactux: bool, client_under_mactux: bool) -> Vec<String> {
    let mut listener = Server::start(&Run::cmd(&[NC, "-N", "-lv", "127.0.0.1", "0"]), listener_under_mactux);
    // "Listening on localhost 41234"
    let Some(port) = listener.wait_for_line(|l| l.strip_prefix("Listening on ")?.rsplit(' ').next()?.parse::<u16>().ok()) else {
        panic!("nc -l never listened:\n{}", listener.output());
    };
    let client_run = Run::cmd(&[NC, "-N", "-w", "30", "127.0.0.1", &port.to_string()]).stdin("a line from the client\n");
    let mut client = Server::start(&client_run, client_under_mactux);
    let at_listener = listener.wait_for_line(|l| l.starts_with("a line").then(|| l.to_owned()));
    listener.send(b"a line from the listener\n");
    listener.close_stdin();
    let at_client = client.wait_for_line(|l| l.starts_with("a line").then(|| l.to_owned()));
    client.close_stdin();
    vec![format!("listener got {at_listener:?}"), format!("client got {at_client:?}"), format!("client {}", client.wait()), format!("listener {}", listener.wait())]
}

/// netcat-openbsd as a TCP listener (bind, listen, accept, poll on stdin and the socket,
/// shutdown) and as a client, with the listener, the client and then both under mactux:
/// the same lines cross, and both end as natively.
#[test]
fn nc_tcp_listener_and_client_each_side() {
    if !require_tool(NC, "netcat-openbsd") {
        return;
    }
    let native = nc_exchange(false, false);
    assert_eq!(
        native,
        ["listener got Some(\"a line from the client\")", "client got Some(\"a line from the listener\")", "client exit 0", "listener exit 0"],
        "natively"
    );
    for (listener_under_mactux, client_under_mactux) in [(true, false), (false, true), (true, true)] {
        let got = nc_exchange(listener_under_mactux, client_under_mactux);
        assert_eq!(got, native, "nc -l under mactux: {listener_under_mactux}, nc client under mactux: {client_under_mactux}");
    }
}

/// socat as a forking TCP server (`fork`: a child per connection, each running `tr` on
/// a socketpair) on an ephemeral port, natively and under mactux: native socat clients,
/// three at once and then one more, get their lines back upper-cased from both alike.
#[test]
fn socat_forking_server_under_mactux() {
    if !require_tool(SOCAT, "socat") {
        return;
    }
    let mut results = Vec::new();
    for under_mactux in [false, true] {
        let mut server = Server::start(&Run::cmd(&[SOCAT, "-d", "-d", "TCP-LISTEN:0,bind=127.0.0.1,fork", "SYSTEM:tr a-z A-Z"]), under_mactux);
        // "2026/01/02 03:04:05 socat[123] N listening on AF=2 127.0.0.1:41234"
        let Some(port) = server.wait_for_line(|l| l.split("listening on AF=2 127.0.0.1:").nth(1)?.trim().parse::<u16>().ok()) else {
            panic!("socat (under mactux: {under_mactux}) never listened:\n{}", server.output());
        };
        let client = move |i: u32| {
            Run::cmd(&[SOCAT, "-t", "30", "-", &format!("TCP:127.0.0.1:{port}")]).stdin(format!("client {i} of socat's forking server\n")).timeout(Duration::from_secs(60))
        };
        let at_once: Vec<_> = (0..3)
            .map(|i| {
                let run = client(i);
                std::thread::spawn(move || run_native(&run))
            })
            .collect();
        let mut got: Vec<String> = at_once
            .into_iter()
            .map(|t| t.join().expect("a client thread"))
            .chain([run_native(&client(3))])
            .map(|o| format!("{} {}", o.status, o.stdout_str()))
            .collect();
        got.push(format!("server after SIGTERM: {}", server.stop()));
        results.push(got);
    }
    assert_eq!(results[0][0], "exit 0 CLIENT 0 OF SOCAT'S FORKING SERVER\n", "natively");
    assert_eq!(results[0], results[1], "what socat's clients got from it natively and under mactux");
}

/// `python3 -m http.server` (ThreadingHTTPServer: a thread per request, selectors on
/// poll) under mactux and natively, each fetched by native curls: four of a 600 kB file
/// at once, a missing file, the directory listing and a HEAD request.
#[test]
fn python_m_http_server_under_mactux_serves_native_curls() {
    if !require_tool(PYTHON, "python3") || !require_tool(CURL, "curl") {
        return;
    }
    let dir = ScratchDir::new("net-http-server");
    let big: String = (0..100_000).map(|i| format!("{i}\n")).collect();
    std::fs::write(dir.join("big.txt"), &big).unwrap();
    std::fs::write(dir.join("small.txt"), "small\n").unwrap();
    let mut results = Vec::new();
    for under_mactux in [false, true] {
        let mut server = Server::start(&Run::cmd(&[PYTHON, "-u", "-m", "http.server", "--bind", "127.0.0.1", "0"]).cwd(dir.path()), under_mactux);
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        let Some(port) = server.wait_for_line(|l| l.strip_prefix("Serving HTTP on 127.0.0.1 port ")?.split(' ').next()?.parse::<u16>().ok()) else {
            panic!("python3 -m http.server (under mactux: {under_mactux}) never listened:\n{}", server.output());
        };
        let curl = move |args: &[&str], path: &str| {
            Run::cmd(&[CURL, "-sS", "--max-time", "30"]).args(args).arg(format!("http://127.0.0.1:{port}/{path}")).timeout(Duration::from_secs(60))
        };
        let at_once: Vec<_> = (0..4)
            .map(|_| {
                let run = curl(&[], "big.txt");
                std::thread::spawn(move || run_native(&run))
            })
            .collect();
        let mut got = Vec::new();
        for fetched in at_once.into_iter().map(|t| t.join().expect("a curl thread")) {
            assert!(fetched.is_success(), "curl big.txt (under mactux: {under_mactux}): {}", fetched.stderr_str());
            got.push(format!("big.txt: {} bytes, the file: {}", fetched.stdout.len(), fetched.stdout == big.as_bytes()));
        }
        got.push(run_native(&curl(&["-o", "/dev/null", "-w", "%{http_code}"], "missing")).stdout_str());
        got.push(run_native(&curl(&[], "")).stdout_str());
        // Date: and Last-Modified: change from run to run; Server: names the version.
        let head = run_native(&curl(&["-I"], "small.txt")).stdout_str();
        got.push(head.lines().filter(|l| !["Date:", "Last-Modified:", "Server:"].iter().any(|h| l.starts_with(h))).collect::<Vec<_>>().join("\n"));
        results.push(got);
        drop(server);
    }
    assert_eq!(results[0][4], "404", "natively");
    assert!(results[0][5].contains("<a href=\"small.txt\">small.txt</a>"), "the listing natively: {}", results[0][5]);
    assert_eq!(results[0], results[1], "what curl got from python3 -m http.server natively and under mactux");
}

/// python3's os.eventfd (EFD_SEMAPHORE, EFD_NONBLOCK, the counter's limit), select.epoll
/// (edge-triggered, EPOLLRDHUP from another thread's shutdown), selectors' default,
/// signal.set_wakeup_fd, socket.sendfile, a non-blocking connect's SO_ERROR, MSG_TRUNC,
/// a pidfd readable on exit, and IPv6 and dual-stack listeners. Prints only what Linux
/// guarantees.
const EVENTS_SCRIPT: &str = r#"
import errno, os, select, selectors, signal, socket, sys, threading, time
fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_SEMAPHORE)
os.eventfd_write(fd, 3)
print("semaphore reads", [os.eventfd_read(fd) for _ in range(3)])
try:
    os.eventfd_read(fd)
except BlockingIOError:
    print("empty: EAGAIN")
ep = select.epoll()
ep.register(fd, select.EPOLLIN | select.EPOLLET)
print("idle", ep.poll(0))
os.eventfd_write(fd, 1)
print("ready", ep.poll(1) == [(fd, select.EPOLLIN)], "edge once", ep.poll(0))
full = os.eventfd(0, os.EFD_NONBLOCK)
os.eventfd_write(full, 0xfffffffffffffffe)
try:
    os.eventfd_write(full, 1)
except BlockingIOError:
    print("at the limit: EAGAIN")
a, b = socket.socketpair()
ep2 = select.epoll()
ep2.register(a, select.EPOLLIN | select.EPOLLRDHUP)
threading.Thread(target=lambda: (time.sleep(0.1), b.send(b"x"), b.shutdown(socket.SHUT_WR))).start()
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    if any(m & select.EPOLLRDHUP for _, m in ep2.poll(1)):
        break
print("rdhup", a.recv(10), a.recv(10))
sel = selectors.DefaultSelector()
r, w = os.pipe()
sel.register(r, selectors.EVENT_READ, "the pipe")
os.write(w, b"p")
print(type(sel).__name__, [(k.data, m) for k, m in sel.select(1)])
rs, ws = socket.socketpair()
ws.setblocking(False)
signal.set_wakeup_fd(ws.fileno())
signal.signal(signal.SIGUSR1, lambda *a: None)
os.kill(os.getpid(), signal.SIGUSR1)
print("wakeup byte is SIGUSR1", rs.recv(1) == bytes([signal.SIGUSR1]))
with open(sys.argv[1], "wb") as f:
    f.write(os.urandom(300000))
srv = socket.create_server(("127.0.0.1", 0))
c = socket.create_connection(srv.getsockname(), timeout=10)
x, _ = srv.accept()
with open(sys.argv[1], "rb") as f:
    sent = x.sendfile(f)
x.close()
n = 0
while chunk := c.recv(1 << 16):
    n += len(chunk)
print("sendfile", sent, n)
s = socket.socket()
s.setblocking(False)
p = socket.socket()
p.bind(("127.0.0.1", 0))
port = p.getsockname()[1]
p.close()
print("connect_ex", errno.errorcode.get(s.connect_ex(("127.0.0.1", port))))
select.select([], [s], [], 10)
print("SO_ERROR", errno.errorcode.get(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
u1, u2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
u1.send(b"0123456789")
m = u2.recvmsg(4)
print("truncated", m[0], m[2] & socket.MSG_TRUNC != 0)
pid = os.fork()
if pid == 0:
    time.sleep(0.2)
    os._exit(7)
pe = select.epoll()
pe.register(os.pidfd_open(pid), select.EPOLLIN)
print("pidfd readable", len(pe.poll(10)), "status", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
try:
    s6 = socket.create_server(("::1", 0), family=socket.AF_INET6)
    c6 = socket.create_connection(s6.getsockname()[:2], timeout=10)
    print("ipv6 peer", s6.accept()[1][0])
    ds = socket.create_server(("::", 0), family=socket.AF_INET6, dualstack_ipv6=True)
    c4 = socket.create_connection(("127.0.0.1", ds.getsockname()[1]), timeout=10)
    print("dual-stack peer", ds.accept()[1][0])
except OSError as e:
    print("ipv6", errno.errorcode.get(e.errno))
"#;

#[test]
fn python_eventfd_epoll_selectors_and_sendfile() {
    if !require_tool(PYTHON, "python3") {
        return;
    }
    let dir = ScratchDir::new("net-py-events");
    let run = Run::cmd(&[PYTHON, "-c", EVENTS_SCRIPT]).arg(dir.join("data")).timeout(Duration::from_secs(60));
    let native = run_native(&run);
    assert!(native.is_success() && native.stdout_str().contains("sendfile 300000 300000\n"), "python3 natively: {}{}", native.stdout_str(), native.stderr_str());
    let emulated = run_mactux(&run);
    assert_same("python3 events", &native, &emulated, Compare::STDOUT_STATUS);
}

// ---------------------------------------------------------------------------------------
// NETLINK_ROUTE: iproute2, hostname -I and python's if_nameindex ask the runtime's netlink
// socket, which answers from the host's interfaces. The host's interfaces are compared on
// the fields the runtime can know (see runtime/src/vfs/rtnetlink.rs): lo's lines exactly,
// the others on their names, flags, addresses and scopes, since flags such as "nodad",
// DHCP lifetimes, qdiscs and route protocols are not visible through getifaddrs.

const IP: &str = "/bin/ip";
const HOSTNAME: &str = "/bin/hostname";

/// Runs `argv` natively and under mactux; both must succeed. Returns their stdouts.
fn both(argv: &[&str]) -> (String, String) {
    let run = Run::cmd(argv).timeout(Duration::from_secs(60));
    let native = run_native(&run);
    assert!(native.is_success(), "{argv:?} natively: {}", native.stderr_str());
    let emulated = run_mactux(&run);
    assert!(emulated.is_success(), "{argv:?} under mactux: {:?}\n{}", emulated.status, emulated.stderr_str());
    (native.stdout_str(), emulated.stdout_str())
}

/// The lines of `ip -o` output about interface `lo` (index 1 on Linux).
fn lo_lines(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.split_whitespace().nth(1).is_some_and(|n| n.trim_end_matches(':') == "lo")).collect()
}

/// The fields of an `ip -o addr` line the host tells: index, name, family,
/// address/prefix, broadcast and scope.
fn addr_fields(line: &str) -> String {
    let t: Vec<&str> = line.split('\\').next().unwrap_or("").split_whitespace().collect();
    let mut out: Vec<&str> = t.iter().take(4).copied().collect();
    for key in ["brd", "scope"] {
        if let Some(i) = t.iter().position(|w| *w == key) {
            out.extend(t.get(i..i + 2).unwrap_or(&[]));
        }
    }
    out.join(" ")
}

/// The fields of an `ip -o link` line the host tells: index, name, flags,
/// MTU, state and link-layer type and address.
fn link_fields(line: &str) -> String {
    let t: Vec<&str> = line.split_whitespace().collect();
    let mut out: Vec<&str> = t.iter().take(3).copied().collect();
    for key in ["mtu", "state"] {
        if let Some(i) = t.iter().position(|w| *w == key) {
            out.extend(t.get(i..i + 2).unwrap_or(&[]));
        }
    }
    if let Some(i) = t.iter().position(|w| w.starts_with("link/")) {
        out.extend(t.get(i..i + 2).unwrap_or(&[]));
    }
    out.join(" ")
}

fn sorted(lines: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = lines.collect();
    v.sort();
    v
}

#[test]
fn ip_addr_under_mactux() {
    if !require_tool(IP, "iproute2") {
        return;
    }
    let (native, emulated) = both(&[IP, "-o", "addr"]);
    assert_eq!(lo_lines(&emulated), lo_lines(&native), "ip -o addr, lo:\n{}", text_diff(native.as_bytes(), emulated.as_bytes()));
    assert!(!lo_lines(&emulated).is_empty(), "no lo in:\n{emulated}");
    assert_eq!(sorted(emulated.lines().map(addr_fields)), sorted(native.lines().map(addr_fields)), "ip -o addr:\n{}", text_diff(native.as_bytes(), emulated.as_bytes()));
    // A one-link request (RTM_GETLINK by name) and a filtered dump.
    let (native, emulated) = both(&[IP, "addr", "show", "dev", "lo"]);
    assert_eq!(emulated, native, "ip addr show dev lo");
}

#[test]
fn ip_link_under_mactux() {
    if !require_tool(IP, "iproute2") {
        return;
    }
    let (native, emulated) = both(&[IP, "-o", "link"]);
    assert_eq!(lo_lines(&emulated), lo_lines(&native), "ip -o link, lo:\n{}", text_diff(native.as_bytes(), emulated.as_bytes()));
    assert_eq!(sorted(emulated.lines().map(link_fields)), sorted(native.lines().map(link_fields)), "ip -o link:\n{}", text_diff(native.as_bytes(), emulated.as_bytes()));
}

/// The (destination, gateway, device) of a route line.
fn route_key(line: &str) -> String {
    let t: Vec<&str> = line.split_whitespace().collect();
    let after = |k: &str| t.iter().position(|w| *w == k).and_then(|i| t.get(i + 1)).copied().unwrap_or("-");
    format!("{} via {} dev {}", t.first().copied().unwrap_or(""), after("via"), after("dev"))
}

#[test]
fn ip_route_under_mactux() {
    if !require_tool(IP, "iproute2") {
        return;
    }
    for family in ["-4", "-6"] {
        let (native, emulated) = both(&[IP, family, "route"]);
        let diff = text_diff(native.as_bytes(), emulated.as_bytes());
        // Every route shown is one the host has; the host's kernel prefix routes and
        // default routes are all shown.
        let have: Vec<String> = native.lines().map(route_key).collect();
        for l in emulated.lines() {
            assert!(have.contains(&route_key(l)), "ip {family} route shows a route the host lacks: {l}\n{diff}");
        }
        let shown: Vec<String> = emulated.lines().map(route_key).collect();
        for l in native.lines().filter(|l| l.contains("proto kernel") || l.starts_with("default ")) {
            assert!(shown.contains(&route_key(l)), "ip {family} route misses {l}\n{diff}");
        }
    }
}

#[test]
fn hostname_i_under_mactux() {
    if !require_tool(HOSTNAME, "hostname") {
        return;
    }
    let (native, emulated) = both(&[HOSTNAME, "-I"]);
    assert_eq!(emulated, native, "hostname -I");
}

#[test]
fn python_if_nameindex_under_mactux() {
    if !require_tool(PYTHON, "python3") {
        return;
    }
    let script = "import socket\nfor i, n in socket.if_nameindex(): print(i, n, socket.if_nametoindex(n), socket.if_indextoname(i))";
    let (native, emulated) = both(&[PYTHON, "-c", script]);
    assert!(native.contains(" lo "), "no lo natively:\n{native}");
    assert_eq!(emulated, native, "python3 socket.if_nameindex");
}
