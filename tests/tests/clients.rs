//! Network programs nobody here wrote, as servers and as clients, each side in turn under
//! `mactux run` against the other side running natively, then both under mactux, compared
//! with the all-native exchange: openssl's s_server and s_client over TLS 1.3, TLS 1.2 and
//! DTLS, as a file server and interactively (and keys and certificates made under mactux
//! that a native openssl verifies), `git daemon` (a child per connection that runs
//! upload-pack or receive-pack) with `git ls-remote`, `git clone` and `git push` over
//! git://, and Node.js: fetch (undici: getaddrinfo on libuv's thread pool, epoll, eventfd)
//! against its own HTTP server, a native python3 one, and a native curl against a Node
//! server; and Node's TCP, UDP, Unix sockets, HTTP/2, workers, IPC with a forked child and
//! fs.watch. Servers listen on 127.0.0.1 (or ::1) ephemeral ports; every wait is bounded;
//! HOME is the test's scratch directory for every openssl, git and node run.

use mactux_tests::*;
use std::path::Path;
use std::time::Duration;

const OPENSSL: &str = "/usr/bin/openssl";
const GIT: &str = "/usr/bin/git";
const NODE: &str = "/usr/bin/node";
const PYTHON: &str = "/usr/bin/python3";
const CURL: &str = "/usr/bin/curl";

const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Deterministic bytes that do not compress (xorshift64), so a pack or a TLS stream
/// carrying them is as large as they are.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// The port of a server that printed `<prefix>127.0.0.1:<port>` (openssl's `ACCEPT`
/// line) or `<prefix><port>`.
fn port_after(prefix: &str, line: &str) -> Option<u16> {
    let rest = line.strip_prefix(prefix)?;
    rest.rsplit(':').next()?.trim().parse().ok()
}

// ---------------------------------------------------------------------------------------
// openssl

/// `openssl ARGS` in `dir`, which is also its HOME (openssl may keep a seed file there),
/// so nothing lands in the home directory of whoever runs the tests.
fn openssl(dir: &ScratchDir, args: &[&str]) -> Run {
    Run::new(OPENSSL).args(args).cwd(dir.path()).env("HOME", dir.path()).timeout(CLIENT_TIMEOUT)
}

/// A throwaway self-signed RSA key and certificate for CN=localhost, made natively.
fn native_cert(dir: &ScratchDir) {
    let made = run_native(&openssl(
        dir,
        &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1", "-keyout", "key.pem", "-out", "cert.pem"],
    ));
    assert!(made.is_success(), "native openssl req: {}", made.stderr_str());
}

/// One TLS exchange: `openssl s_server -WWW` (serving files from `dir`, one connection)
/// and `openssl s_client` asking it for `GET /page.txt` (75 kB, several TLS records);
/// each side natively or under mactux. Returns the client's run: stdout is the HTTP
/// response; stderr has s_client's `-brief` connection summary.
fn tls_exchange(dir: &ScratchDir, protocol: &str, server_under_mactux: bool, client_under_mactux: bool) -> Outcome {
    let server_run = openssl(dir, &["s_server", "-accept", "127.0.0.1:0", "-cert", "cert.pem", "-key", "key.pem", "-WWW", "-naccept", "1", protocol]);
    let mut server = Server::start(&server_run, server_under_mactux);
    let Some(port) = server.wait_for_line(|l| port_after("ACCEPT ", l)) else {
        panic!("s_server {protocol} never listened:\n{}", server.output());
    };
    // -ign_eof: the request is all of stdin; the client reads on until the server,
    // having sent the file, closes the connection.
    let client = openssl(dir, &["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "localhost"])
        .args(&["-CAfile", "cert.pem", "-verify_return_error", "-brief", "-ign_eof", protocol])
        .stdin("GET /page.txt HTTP/1.0\r\n\r\n");
    let out = if client_under_mactux { run_mactux(&client) } else { run_native(&client) };
    let ended = server.wait();
    assert_eq!(ended, Termination::Exit(0), "s_server {protocol} (under mactux: {server_under_mactux}) after one connection");
    out
}

/// The lines of s_client's `-brief` summary that do not depend on the run.
fn tls_summary(client: &Outcome) -> Vec<String> {
    let err = client.stderr_str();
    err.lines()
        .filter(|l| ["CONNECTION ESTABLISHED", "Protocol version:", "Ciphersuite:", "Peer certificate:", "Verification:"].iter().any(|p| l.starts_with(p)))
        .map(str::to_owned)
        .collect()
}

/// openssl s_server under mactux (accept, the handshake's random bytes and big-number
/// work, file reads) serves a native s_client, and a native s_server serves s_client under
/// mactux (connect, select on the socket and stdin), over TLS 1.3 and TLS 1.2: the client
/// gets the same file and the same handshake summary as natively.
#[test]
fn openssl_s_server_and_s_client() {
    if !require_tool(OPENSSL, "openssl") {
        return;
    }
    let dir = ScratchDir::new("clients-tls");
    native_cert(&dir);
    let page = String::from_utf8(noise(25_000).iter().map(|b| b'a' + b % 26).collect()).unwrap().repeat(3);
    std::fs::write(dir.join("page.txt"), &page).unwrap();
    for (protocol, version) in [("-tls1_3", "TLSv1.3"), ("-tls1_2", "TLSv1.2")] {
        let native = tls_exchange(&dir, protocol, false, false);
        assert!(native.is_success(), "native s_client {protocol}: {}", native.stderr_str());
        assert_eq!(native.stdout, format!("HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\n{page}").into_bytes());
        let summary = tls_summary(&native);
        assert!(summary.contains(&format!("Protocol version: {version}")) && summary.contains(&"Verification: OK".to_owned()), "{summary:?}");
        for (server_under_mactux, client_under_mactux) in [(true, false), (false, true), (true, true)] {
            let what = format!("{protocol}, s_server under mactux: {server_under_mactux}, s_client under mactux: {client_under_mactux}");
            let emulated = tls_exchange(&dir, protocol, server_under_mactux, client_under_mactux);
            assert_same(&what, &native, &emulated, Compare::STDOUT_STATUS);
            assert_eq!(summary, tls_summary(&emulated), "{what}: the handshake summary");
        }
    }
}

/// One interactive exchange between `openssl s_server` (one connection) and `openssl
/// s_client -quiet`, over `protocol` (`-tls1_3`, `-dtls` ...), each side natively or under
/// mactux, driven through their stdin: a line from the client, a line back from the
/// server, then the client's stdin ends, it closes the connection, and both exit.
/// Returns the line each side received and how each ended.
fn line_exchange(dir: &ScratchDir, protocol: &str, server_under_mactux: bool, client_under_mactux: bool) -> Vec<String> {
    let server_run = openssl(dir, &["s_server", protocol, "-accept", "127.0.0.1:0", "-cert", "cert.pem", "-key", "key.pem", "-naccept", "1"]);
    let mut server = Server::start(&server_run, server_under_mactux);
    let Some(port) = server.wait_for_line(|l| port_after("ACCEPT ", l)) else {
        panic!("s_server {protocol} never listened:\n{}", server.output());
    };
    // -no_ign_eof: -quiet would otherwise keep the client going after its stdin ends.
    let client_run = openssl(dir, &["s_client", protocol, "-connect", &format!("127.0.0.1:{port}")])
        .args(&["-CAfile", "cert.pem", "-verify_return_error", "-quiet", "-no_ign_eof"])
        .stdin(format!("a line from the client over {protocol}\n"));
    let mut client = Server::start(&client_run, client_under_mactux);
    let line_from = |who: &mut Server, what: &str, prefix: &str| {
        who.wait_for_line(|l| l.starts_with(prefix).then(|| l.to_owned())).unwrap_or_else(|| panic!("{what} ended before it got {prefix:?}:\n{}", who.output()))
    };
    let at_server = line_from(&mut server, &format!("s_server {protocol}"), "a line");
    server.send(format!("a line from the server over {protocol}\n").as_bytes());
    let at_client = line_from(&mut client, &format!("s_client {protocol}"), "a line");
    client.close_stdin();
    let client_end = client.wait();
    let closed = server.wait_for_line(|l| (l == "CONNECTION CLOSED").then_some(())).is_some();
    vec![at_server, at_client, format!("client {client_end}"), format!("server saw the close: {closed}"), format!("server {}", server.wait())]
}

/// Interactive TLS 1.3 and DTLS (TLS over UDP: connected datagram sockets, a receive
/// timeout for retransmission, the path MTU) between s_server and s_client, each waiting
/// in select on stdin and the socket: with the server, the client and then both under
/// mactux, the same lines cross and both end as natively.
#[test]
fn openssl_interactive_tls_and_dtls_each_side() {
    if !require_tool(OPENSSL, "openssl") {
        return;
    }
    let dir = ScratchDir::new("clients-dtls");
    native_cert(&dir);
    for protocol in ["-tls1_3", "-dtls"] {
        let native = line_exchange(&dir, protocol, false, false);
        let want = [
            format!("a line from the client over {protocol}"),
            format!("a line from the server over {protocol}"),
            "client exit 0".to_owned(),
            "server saw the close: true".to_owned(),
            "server exit 0".to_owned(),
        ];
        assert_eq!(native, want, "natively");
        for (server_under_mactux, client_under_mactux) in [(true, false), (false, true), (true, true)] {
            let got = line_exchange(&dir, protocol, server_under_mactux, client_under_mactux);
            assert_eq!(got, native, "{protocol}: s_server under mactux: {server_under_mactux}, s_client under mactux: {client_under_mactux}");
        }
    }
}

/// Keys and certificates made under mactux: an ed25519 CA (genpkey, req -x509), a P-256
/// server key with a request the CA signs (genpkey, req -new, x509 -req), and the RSA
/// self-signed pair `req -x509 -newkey` makes in one go. A native openssl verifies the
/// chain and finds each certificate's public key in its private key.
#[test]
fn openssl_keys_made_under_mactux_verify_natively() {
    if !require_tool(OPENSSL, "openssl") {
        return;
    }
    let dir = ScratchDir::new("clients-openssl-keys");
    let steps: &[&[&str]] = &[
        &["genpkey", "-algorithm", "ed25519", "-out", "ca.key"],
        &["req", "-x509", "-key", "ca.key", "-subj", "/CN=mactux test CA", "-days", "1", "-out", "ca.pem"],
        &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "server.key"],
        &["req", "-new", "-key", "server.key", "-subj", "/CN=localhost", "-out", "server.csr"],
        &["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-out", "server.pem"],
        &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1", "-keyout", "rsa.key", "-out", "rsa.pem"],
    ];
    for step in steps {
        let made = run_mactux(&openssl(&dir, step));
        assert!(made.is_success(), "openssl {} under mactux: {}", step.join(" "), made.stderr_str());
    }
    let openssl = |args: &[&str]| openssl(&dir, args);
    let verify = openssl(&["verify", "-CAfile", "ca.pem", "server.pem", "ca.pem"]);
    let native = run_native(&verify);
    assert_eq!(native.stdout_str(), "server.pem: OK\nca.pem: OK\n", "native openssl verify: {}", native.stderr_str());
    assert_same("openssl verify", &native, &run_mactux(&verify), Compare::STDOUT_STATUS);
    let self_signed = run_native(&openssl(&["verify", "-CAfile", "rsa.pem", "rsa.pem"]));
    assert_eq!(self_signed.stdout_str(), "rsa.pem: OK\n", "{}", self_signed.stderr_str());
    for (key, cert) in [("ca.key", "ca.pem"), ("server.key", "server.pem"), ("rsa.key", "rsa.pem")] {
        let from_key = run_native(&openssl(&["pkey", "-in", key, "-pubout"]));
        let from_cert = run_native(&openssl(&["x509", "-in", cert, "-noout", "-pubkey"]));
        assert!(from_key.is_success() && !from_key.stdout.is_empty(), "openssl pkey -in {key}: {}", from_key.stderr_str());
        assert_eq!(from_key.stdout_str(), from_cert.stdout_str(), "the public key of {key} and of {cert}");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("rsa.key")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the private key req -nodes wrote");
}

// ---------------------------------------------------------------------------------------
// git

/// git's environment for every run: no user or system configuration of the host's, and
/// fixed names and dates, so commit ids are the same on every run. The directory it runs
/// in (always in the test's scratch directory) stands for HOME, so that no run can touch
/// the home directory of whoever runs the tests.
fn git(dir: &Path, args: &[&str]) -> Run {
    Run::new(GIT)
        .args(args)
        .cwd(dir)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "mactux")
        .env("GIT_AUTHOR_EMAIL", "mactux@example.invalid")
        .env("GIT_AUTHOR_DATE", "2026-01-02T03:04:05Z")
        .env("GIT_COMMITTER_NAME", "mactux")
        .env("GIT_COMMITTER_EMAIL", "mactux@example.invalid")
        .env("GIT_COMMITTER_DATE", "2026-01-02T03:04:05Z")
        .timeout(CLIENT_TIMEOUT)
}

fn git_ok(dir: &Path, args: &[&str]) -> String {
    let o = run_native(&git(dir, args));
    assert!(o.is_success(), "native git {}: {}", args.join(" "), o.stderr_str());
    o.stdout_str()
}

/// A scratch directory holding the bare repository `served/repo.git`
/// made natively: three commits, an annotated tag, and a 1 MB blob that does not compress.
fn served_repository() -> ScratchDir {
    let dir = ScratchDir::new("clients-git");
    let d = dir.path();
    git_ok(d, &["init", "-q", "-b", "main", "work"]);
    let work = dir.join("work");
    std::fs::write(work.join("README"), "served by git daemon\n").unwrap();
    git_ok(&work, &["add", "README"]);
    git_ok(&work, &["commit", "-qm", "first"]);
    std::fs::write(work.join("blob.bin"), noise(1 << 20)).unwrap();
    git_ok(&work, &["add", "blob.bin"]);
    git_ok(&work, &["commit", "-qm", "a binary blob"]);
    git_ok(&work, &["tag", "-a", "v1", "-m", "version one"]);
    std::fs::write(work.join("README"), "served by git daemon\nsecond line\n").unwrap();
    git_ok(&work, &["commit", "-qam", "third"]);
    std::fs::create_dir(dir.join("served")).unwrap();
    git_ok(d, &["clone", "-q", "--bare", "work", "served/repo.git"]);
    dir
}

/// `git daemon` serving `dir/served` (receive-pack enabled too) natively or under mactux,
/// and its port. The daemon cannot take an ephemeral port and say which, so it gets one
/// that was free a moment ago, and another when something took that one first.
fn start_git_daemon(dir: &ScratchDir, under_mactux: bool) -> (Server, u16) {
    let served = dir.join("served").display().to_string();
    for _ in 0..5 {
        let port = unused_loopback_port();
        let run = git(dir.path(), &["daemon", "--verbose", "--reuseaddr", "--export-all", "--enable=receive-pack"])
            .arg(format!("--base-path={served}"))
            .args(&["--listen=127.0.0.1", &format!("--port={port}")])
            .arg(&served);
        let mut server = Server::start(&run, under_mactux);
        // With --verbose it says so once it listens.
        if server.wait_for_line(|l| l.contains("Ready to rumble").then_some(())).is_some() {
            return (server, port);
        }
        let out = server.output();
        assert!(out.contains("in use"), "git daemon (under mactux: {under_mactux}) did not start:\n{out}");
    }
    panic!("git daemon found no free port in five tries");
}

/// What a clone holds, as `git` shows it: every ref and commit, the tag, the blob's id,
/// and a full fsck (which reads every object).
fn clone_summary(clone: &Path, under_mactux: bool) -> String {
    let mut s = String::new();
    for args in [
        &["log", "--all", "--format=%H %s%d"][..],
        &["cat-file", "-p", "v1"],
        &["rev-parse", "HEAD:blob.bin"],
        &["fsck", "--full", "--strict"],
        &["status", "--short"],
    ] {
        let run = git(clone, args);
        let o = if under_mactux { run_mactux(&run) } else { run_native(&run) };
        assert!(o.is_success(), "git {} in {} (under mactux: {under_mactux}): {}", args.join(" "), clone.display(), o.stderr_str());
        s.push_str(&format!("$ git {}\n{}", args.join(" "), o.stdout_str()));
    }
    s
}

/// `git daemon` under mactux (a wrapper `git` running git-daemon, which forks a child per
/// connection that execs upload-pack or receive-pack) serves three native clones at once
/// and takes a native push; the clones hold what a clone from a native daemon holds, and
/// the served repository passes a native fsck after the push.
#[test]
fn git_daemon_under_mactux_serves_native_clones_and_a_push() {
    if !require_tool(GIT, "git") {
        return;
    }
    let dir = served_repository();
    let (native_daemon, port) = start_git_daemon(&dir, false);
    git_ok(dir.path(), &["clone", "-q", &format!("git://127.0.0.1:{port}/repo.git"), "from-native"]);
    assert_eq!(native_daemon.stop(), Termination::Signal(libc::SIGTERM), "the native git daemon after SIGTERM");
    let want = clone_summary(&dir.join("from-native"), false);

    let (mut daemon, port) = start_git_daemon(&dir, true);
    let url = format!("git://127.0.0.1:{port}/repo.git");
    let clones: Vec<_> = (0..3)
        .map(|i| {
            let run = git(dir.path(), &["clone", "-q", &url, &format!("clone{i}")]);
            std::thread::spawn(move || run_native(&run))
        })
        .collect();
    for (i, clone) in clones.into_iter().enumerate() {
        let o = clone.join().expect("the clone thread");
        assert!(o.is_success(), "native git clone {i} from the daemon under mactux: {}", o.stderr_str());
        assert_eq!(clone_summary(&dir.join(format!("clone{i}")), false), want, "clone {i}");
    }

    let clone0 = dir.join("clone0");
    std::fs::write(clone0.join("pushed.txt"), "pushed over git://\n").unwrap();
    git_ok(&clone0, &["add", "pushed.txt"]);
    git_ok(&clone0, &["commit", "-qm", "pushed"]);
    git_ok(&clone0, &["push", "-q", "origin", "main"]);
    let pushed = git_ok(&clone0, &["rev-parse", "HEAD"]);
    git_ok(&dir.join("clone1"), &["pull", "-q", "--ff-only"]);
    assert_eq!(git_ok(&dir.join("clone1"), &["rev-parse", "HEAD"]), pushed, "a clone pulls what was pushed");
    let log = daemon.output();
    assert_eq!(daemon.stop(), Termination::Signal(libc::SIGTERM), "git daemon under mactux after SIGTERM:\n{log}");
    let served = dir.join("served/repo.git");
    assert_eq!(git_ok(&served, &["rev-parse", "main"]), pushed, "the served repository's main after the push");
    git_ok(&served, &["fsck", "--full", "--strict"]);
}

/// `git clone` under mactux (git runs fetch-pack's protocol itself and index-pack as a
/// child on a pipe, which checks the 1 MB pack with threads) from a native git daemon:
/// the clone holds what a native clone holds, by native and emulated git alike.
#[test]
fn git_clone_under_mactux_from_a_native_daemon() {
    if !require_tool(GIT, "git") {
        return;
    }
    let dir = served_repository();
    let (daemon, port) = start_git_daemon(&dir, false);
    let url = format!("git://127.0.0.1:{port}/repo.git");
    git_ok(dir.path(), &["clone", "-q", &url, "native-clone"]);
    let cloned = run_mactux(&git(dir.path(), &["clone", "-q", &url, "mactux-clone"]));
    assert_eq!(daemon.stop(), Termination::Signal(libc::SIGTERM), "the native git daemon after SIGTERM");
    assert!(cloned.is_success(), "git clone under mactux: {}", cloned.stderr_str());
    let want = clone_summary(&dir.join("native-clone"), false);
    assert_eq!(clone_summary(&dir.join("mactux-clone"), false), want, "the clone made under mactux, read natively");
    assert_eq!(clone_summary(&dir.join("mactux-clone"), true), want, "the clone made under mactux, read under mactux");
    assert_eq!(std::fs::read(dir.join("mactux-clone/blob.bin")).unwrap(), noise(1 << 20), "the checked-out blob");
}

/// Both ends under mactux: `git ls-remote` and `git clone` under mactux from `git daemon`
/// under mactux get what they get from a native daemon, and a commit made and pushed
/// under mactux has the id the same commit made natively has, and reaches a native clone.
#[test]
fn git_clone_and_push_with_both_ends_under_mactux() {
    if !require_tool(GIT, "git") {
        return;
    }
    let dir = served_repository();
    let (native_daemon, port) = start_git_daemon(&dir, false);
    let url = format!("git://127.0.0.1:{port}/repo.git");
    let want_refs = git_ok(dir.path(), &["ls-remote", &url]);
    git_ok(dir.path(), &["clone", "-q", &url, "native-clone"]);
    assert_eq!(native_daemon.stop(), Termination::Signal(libc::SIGTERM), "the native git daemon after SIGTERM");
    let want = clone_summary(&dir.join("native-clone"), false);

    let (daemon, port) = start_git_daemon(&dir, true);
    let url = format!("git://127.0.0.1:{port}/repo.git");
    let mactux_git = |cwd: &Path, args: &[&str]| {
        let o = run_mactux(&git(cwd, args));
        assert!(o.is_success(), "git {} under mactux: {}", args.join(" "), o.stderr_str());
        o.stdout_str()
    };
    assert_eq!(mactux_git(dir.path(), &["ls-remote", &url]), want_refs, "git ls-remote under mactux from the daemon under mactux");
    mactux_git(dir.path(), &["clone", "-q", &url, "mactux-clone"]);
    let clone = dir.join("mactux-clone");
    assert_eq!(clone_summary(&clone, false), want, "the clone made under mactux, read natively");

    std::fs::write(clone.join("pushed.txt"), "pushed under mactux\n").unwrap();
    mactux_git(&clone, &["add", "pushed.txt"]);
    mactux_git(&clone, &["commit", "-qm", "pushed under mactux"]);
    mactux_git(&clone, &["push", "-q", "origin", "main"]);
    let pushed = mactux_git(&clone, &["rev-parse", "HEAD"]);
    let native_clone = dir.join("native-clone");
    std::fs::write(native_clone.join("pushed.txt"), "pushed under mactux\n").unwrap();
    git_ok(&native_clone, &["add", "pushed.txt"]);
    git_ok(&native_clone, &["commit", "-qm", "pushed under mactux"]);
    assert_eq!(git_ok(&native_clone, &["rev-parse", "HEAD"]), pushed, "the same commit made natively and under mactux");
    git_ok(&native_clone, &["reset", "-q", "--hard", "HEAD~"]);
    git_ok(&native_clone, &["pull", "-q", "--ff-only", &url, "main"]);
    assert_eq!(git_ok(&native_clone, &["rev-parse", "HEAD"]), pushed, "a native pull of what was pushed under mactux");
    let log = {
        let mut daemon = daemon;
        let log = daemon.output();
        assert_eq!(daemon.stop(), Termination::Signal(libc::SIGTERM), "git daemon under mactux after SIGTERM:\n{log}");
        log
    };
    let served = dir.join("served/repo.git");
    assert_eq!(git_ok(&served, &["rev-parse", "main"]), pushed, "the served repository's main after the push:\n{log}");
    git_ok(&served, &["fsck", "--full", "--strict"]);
}

// ---------------------------------------------------------------------------------------
// Node.js

/// Node's fetch against its own HTTP server: one GET, five POSTs at once, a 1 MB body, a
/// request by name (localhost, resolved on libuv's thread pool), then https.get against
/// an HTTPS server with the certificate given on the command line. Prints only what
/// Linux guarantees, in a fixed order.
const NODE_FETCH_SCRIPT: &str = r#"
const http = require("http"), https = require("https"), fs = require("fs"), crypto = require("crypto");
const [key, cert] = process.argv.slice(1);
const big = Buffer.alloc(1 << 20, "0123456789abcdef");
const handler = (q, r) => {
  if (q.url === "/big") return r.end(big);
  let body = "";
  q.on("data", (d) => (body += d));
  q.on("end", () => { r.setHeader("x-served-by", "node"); r.end("served " + q.method + " " + q.url + (body && " " + body)); });
};
const srv = http.createServer(handler).listen(0, "127.0.0.1", async () => {
  const port = srv.address().port, base = "http://127.0.0.1:" + port;
  const res = await fetch(base + "/x");
  console.log("get:", res.status, res.headers.get("x-served-by"), await res.text());
  const posts = await Promise.all([1, 2, 3, 4, 5].map((i) => fetch(base + "/p" + i, { method: "POST", body: "n" + i }).then((r) => r.text())));
  console.log("posts:", posts.join(", "));
  const body = Buffer.from(await (await fetch(base + "/big")).arrayBuffer());
  console.log("big:", body.length, crypto.createHash("sha256").update(body).digest("hex"));
  const named = await fetch("http://localhost:" + port + "/by-name");
  console.log("by name:", named.status, await named.text());
  const tls = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, handler).listen(0, "127.0.0.1", () => {
    https.get({ host: "127.0.0.1", port: tls.address().port, path: "/tls", ca: fs.readFileSync(cert), servername: "localhost" }, (r) => {
      const protocol = r.socket.getProtocol();
      let t = "";
      r.on("data", (d) => (t += d));
      r.on("end", () => {
        console.log("https:", r.statusCode, protocol, t);
        tls.close();
        srv.close(() => console.log("closed"));
      });
    });
  });
});
"#;

#[test]
fn node_fetch_against_its_own_servers() {
    if !require_tool(NODE, "nodejs") || !require_tool(OPENSSL, "openssl") {
        return;
    }
    let dir = ScratchDir::new("clients-node-fetch");
    native_cert(&dir);
    let run = Run::cmd(&[NODE, "-e", NODE_FETCH_SCRIPT, "key.pem", "cert.pem"]).cwd(dir.path()).env("HOME", dir.path()).timeout(CLIENT_TIMEOUT);
    let native = run_native(&run);
    assert!(native.is_success(), "node natively: {}", native.stderr_str());
    assert!(native.stdout_str().ends_with("https: 200 TLSv1.3 served GET /tls\nclosed\n"), "node natively: {}", native.stdout_str());
    let emulated = run_mactux(&run);
    assert_same("node fetch", &native, &emulated, Compare::STDOUT_STATUS);
}

/// Node's other ways to talk, one step after another, each bounded: a name lookup, TCP
/// over IPv4 and IPv6, a Unix socket in the scratch directory, UDP, an HTTP keep-alive
/// agent (three requests, one connection), a fetch aborted by its timeout, HTTP/2, a
/// worker thread, a forked child over Node's IPC channel (a socketpair), a TCP connection
/// handed to that child (SCM_RIGHTS), fs.watch (inotify), and a shell child on pipes.
/// Prints only what Linux guarantees, in a fixed order.
const NODE_NET_SCRIPT: &str = r#"
const net = require("net"), dgram = require("dgram"), dns = require("dns"), http = require("http"), http2 = require("http2");
const fs = require("fs"), cp = require("child_process"), path = require("path"), { Worker } = require("worker_threads");
const dir = process.argv[1], child = path.join(dir, "child.js");
fs.writeFileSync(child, "process.on('message', (m, h) => { if (h) h.end('from the child through a handed-over socket'); else process.send(m + ' back'); setTimeout(() => process.disconnect(), 50); });");
const steps = [
  ["dns", () => dns.promises.lookup("localhost", 4).then((a) => console.log("dns:", a.address, a.family))],
  ["tcp", () => new Promise((done) => {
    const s = net.createServer((c) => c.on("data", (d) => c.end(String(d).toUpperCase()))).listen(0, "127.0.0.1", () => {
      const c = net.connect(s.address().port, "127.0.0.1", () => c.end("over tcp"));
      let got = "";
      c.on("data", (d) => (got += d));
      c.on("close", () => { console.log("tcp:", got); s.close(done); });
    });
  })],
  ["tcp6", () => new Promise((done) => {
    const s = net.createServer((c) => c.end("over tcp6")).listen(0, "::1", () => {
      const c = net.connect(s.address().port, "::1", () => console.log("tcp6 peer:", c.remoteAddress, c.remoteFamily));
      let got = "";
      c.on("data", (d) => (got += d));
      c.on("error", (e) => { console.log("tcp6 error:", e.code); s.close(done); });
      c.on("close", () => { console.log("tcp6:", got); s.close(done); });
    }).on("error", (e) => { console.log("tcp6 listen:", e.code); done(); });
  })],
  ["unix", () => new Promise((done) => {
    const p = path.join(dir, "node.sock");
    const s = net.createServer((c) => c.end("over a unix socket")).listen(p, () => {
      const c = net.connect(p);
      let got = "";
      c.on("data", (d) => (got += d));
      c.on("close", () => { console.log("unix:", got, fs.statSync(p).isSocket()); s.close(done); });
    });
  })],
  ["udp", () => new Promise((done) => {
    const s = dgram.createSocket("udp4"), c = dgram.createSocket("udp4");
    s.on("message", (m, from) => { console.log("udp:", String(m), from.address); s.close(); c.close(); done(); });
    s.bind(0, "127.0.0.1", () => c.send("a datagram", s.address().port, "127.0.0.1"));
  })],
  ["keep-alive", () => new Promise((done) => {
    let connections = 0;
    const s = http.createServer((q, r) => r.end("kept " + q.url)).on("connection", () => connections++);
    s.listen(0, "127.0.0.1", async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const get = (u) => new Promise((ok) => http.get({ host: "127.0.0.1", port: s.address().port, path: u, agent }, (r) => {
        let t = "";
        r.on("data", (d) => (t += d));
        r.on("end", () => ok(t));
      }));
      const got = [];
      for (const u of ["/1", "/2", "/3"]) got.push(await get(u));
      console.log("keep-alive:", got.join(", "), "connections", connections);
      agent.destroy();
      s.close(done);
    });
  })],
  ["abort", () => new Promise((done) => {
    const s = http.createServer((q, r) => setTimeout(() => r.end("too late"), 5000)).listen(0, "127.0.0.1", async () => {
      try {
        await fetch("http://127.0.0.1:" + s.address().port + "/slow", { signal: AbortSignal.timeout(200) });
        console.log("abort: not aborted");
      } catch (e) {
        console.log("abort:", e.name);
      }
      s.closeAllConnections();
      s.close(done);
    });
  })],
  ["http2", () => new Promise((done) => {
    const s = http2.createServer().on("stream", (st, h) => { st.respond({ ":status": 200 }); st.end("http2 " + h[":path"]); });
    s.listen(0, "127.0.0.1", () => {
      const c = http2.connect("http://127.0.0.1:" + s.address().port), rq = c.request({ ":path": "/h2" });
      let t = "";
      rq.on("data", (d) => (t += d));
      rq.on("end", () => { console.log("http2:", t); c.close(); s.close(done); });
    });
  })],
  ["worker", () => new Promise((done) => {
    const w = new Worker("require('worker_threads').parentPort.postMessage(6 * 7)", { eval: true });
    w.on("message", (m) => console.log("worker:", m));
    w.on("exit", (code) => { console.log("worker exit", code); done(); });
  })],
  ["fork", () => new Promise((done) => {
    const ch = cp.fork(child);
    ch.on("message", (m) => console.log("fork:", m));
    ch.on("exit", (code) => { console.log("fork exit", code); done(); });
    ch.send("over the ipc channel");
  })],
  ["handle", () => new Promise((done) => {
    const ch = cp.fork(child);
    const s = net.createServer((c) => ch.send("a socket", c)).listen(0, "127.0.0.1", () => {
      const c = net.connect(s.address().port, "127.0.0.1");
      let got = "";
      c.on("data", (d) => (got += d));
      c.on("close", () => { console.log("handle:", got); s.close(); });
    });
    ch.on("exit", (code) => { console.log("handle child exit", code); done(); });
  })],
  ["watch", () => new Promise((done) => {
    const d = path.join(dir, "watched");
    fs.mkdirSync(d);
    const w = fs.watch(d, (event, name) => { console.log("watch:", event, name); w.close(); done(); });
    setTimeout(() => fs.writeFileSync(path.join(d, "new.txt"), "x"), 100);
  })],
  ["pipes", () => new Promise((done) => {
    const ch = cp.spawn("/bin/sh", ["-c", "read x; echo got $x; exit 4"]);
    let t = "";
    ch.stdout.on("data", (d) => (t += d));
    ch.on("close", (code) => { console.log("pipes:", t.trim(), "exit", code); done(); });
    ch.stdin.end("a line\n");
  })],
];
(async () => {
  for (const [name, step] of steps) {
    const limit = setTimeout(() => { console.log("step", name, "took more than 20 s"); process.exit(9); }, 20000);
    await step();
    clearTimeout(limit);
  }
  console.log("done");
  process.exit(0);
})();
"#;

#[test]
fn node_net_udp_unix_http2_workers_and_handle_passing() {
    if !require_tool(NODE, "nodejs") {
        return;
    }
    let native_dir = ScratchDir::new("clients-node-net-native");
    let emu_dir = ScratchDir::new("clients-node-net-mactux");
    let run = |d: &ScratchDir| Run::cmd(&[NODE, "-e", NODE_NET_SCRIPT]).arg(d.path()).cwd(d.path()).env("HOME", d.path()).timeout(CLIENT_TIMEOUT);
    let native = run_native(&run(&native_dir));
    assert!(native.is_success() && native.stdout_str().ends_with("pipes: got a line exit 4\ndone\n"), "node natively: {}{}", native.stdout_str(), native.stderr_str());
    let emulated = run_mactux(&run(&emu_dir));
    assert_same("node net", &native, &emulated, Compare::STDOUT_STATUS);
}

/// Fetches each URL on the command line in turn and prints status, length and digest.
const NODE_GET_SCRIPT: &str = r#"
const crypto = require("crypto");
(async () => {
  for (const url of process.argv.slice(1)) {
    const r = await fetch(url);
    const body = Buffer.from(await r.arrayBuffer());
    console.log(r.status, r.headers.get("content-length"), body.length, crypto.createHash("sha256").update(body).digest("hex"));
  }
})();
"#;

/// Node's fetch under mactux from a native `python3 -m http.server`: a file and a 404,
/// as a native node gets them.
#[test]
fn node_fetch_under_mactux_from_a_native_python_server() {
    if !require_tool(NODE, "nodejs") || !require_tool(PYTHON, "python3") {
        return;
    }
    let dir = ScratchDir::new("clients-node-python");
    std::fs::write(dir.join("hello.txt"), "hello over http\n".repeat(20_000)).unwrap();
    let mut server = Server::start(&Run::cmd(&[PYTHON, "-u", "-m", "http.server", "--bind", "127.0.0.1", "0"]).cwd(dir.path()), false);
    // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
    let Some(port) = server.wait_for_line(|l| l.strip_prefix("Serving HTTP on 127.0.0.1 port ")?.split(' ').next()?.parse::<u16>().ok()) else {
        panic!("python3 -m http.server never listened:\n{}", server.output());
    };
    let base = format!("http://127.0.0.1:{port}");
    let run = Run::cmd(&[NODE, "-e", NODE_GET_SCRIPT, &format!("{base}/hello.txt"), &format!("{base}/missing")]).env("HOME", dir.path()).timeout(CLIENT_TIMEOUT);
    let native = run_native(&run);
    let emulated = run_mactux(&run);
    drop(server);
    assert!(native.is_success() && native.stdout_str().starts_with("200 320000 320000 "), "node natively: {}{}", native.stdout_str(), native.stderr_str());
    assert_same("node fetch from python3", &native, &emulated, Compare::STDOUT_STATUS);
}

/// An HTTP server that prints its port, answers three requests (echoing a POST's body)
/// and closes.
const NODE_SERVER_SCRIPT: &str = r#"
let served = 0;
const srv = require("http").createServer((q, r) => {
  let body = "";
  q.on("data", (d) => (body += d));
  q.on("end", () => {
    r.end("node served " + q.method + " " + q.url + (body && " " + body) + "\n");
    if (++served === 3) srv.close(() => console.log("closed after", served));
  });
}).listen(0, "127.0.0.1", () => console.log("port", srv.address().port));
"#;

/// A native curl fetches from a Node HTTP server under mactux (accept4 and reads on
/// epoll), as from the same server run natively; the server ends by itself.
#[test]
fn native_curl_fetches_from_node_under_mactux() {
    if !require_tool(NODE, "nodejs") || !require_tool(CURL, "curl") {
        return;
    }
    let home = ScratchDir::new("clients-node-server");
    let mut results = Vec::new();
    for under_mactux in [false, true] {
        let mut server = Server::start(&Run::cmd(&[NODE, "-e", NODE_SERVER_SCRIPT]).env("HOME", home.path()), under_mactux);
        let Some(port) = server.wait_for_line(|l| port_after("port ", l)) else {
            panic!("node (under mactux: {under_mactux}) never listened:\n{}", server.output());
        };
        let base = format!("http://127.0.0.1:{port}");
        let curl = |args: &[&str]| run_native(&Run::cmd(&[CURL, "-sS", "--max-time", "30"]).args(args).timeout(CLIENT_TIMEOUT));
        let mut got = Vec::new();
        for fetched in [curl(&[&format!("{base}/a")]), curl(&["-d", "posted", &format!("{base}/b")]), curl(&["-i", &format!("{base}/c")])] {
            assert!(fetched.is_success(), "curl from node (under mactux: {under_mactux}): {}", fetched.stderr_str());
            // Date: changes from run to run.
            got.push(fetched.stdout_str().lines().filter(|l| !l.starts_with("Date:")).collect::<Vec<_>>().join("\n"));
        }
        assert!(server.wait_for_line(|l| (l == "closed after 3").then_some(())).is_some(), "node (under mactux: {under_mactux}):\n{}", server.output());
        assert_eq!(server.wait(), Termination::Exit(0), "node (under mactux: {under_mactux}) after closing");
        results.push(got);
    }
    assert_eq!(results[0][0], "node served GET /a");
    assert_eq!(results[0], results[1], "what curl got from node natively and under mactux");
}
