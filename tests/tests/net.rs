//! Sockets with programs nobody here wrote: python3's socket module (socketpair, SCM_RIGHTS
//! through send_fds/recv_fds, TCP and Unix servers), asyncio, curl against an HTTP server,
//! netcat and socat, each side in turn under `mactux run`, compared with native runs. Servers bind 127.0.0.1 on
//! ephemeral ports and serve a bounded number of requests with a timeout.

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
