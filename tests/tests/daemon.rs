//! mactuxd end to end, through the `mactux` binary: the virtual PID namespace
//! semantics over the real socket, autostart and single instance, `mactux
//! daemon status`, `mactux ps --json`, `mactux kill`, the service files, the
//! peer-uid check and malformed frames.
//!
//! Every test runs its own daemon on its own `MACTUX_STATE_DIR` (set only in
//! the children's environment) and stops it in a Drop guard.

use mactux_proto::client::Client;
use mactux_proto::frame::encode;
use mactux_proto::{KillTarget, Request, Response, TaskEntry, TaskInfo, TaskState, Vpid, WaitTarget, PROTOCOL_VERSION};
use mactux_tests::{mactux_bin, private_temp_dir};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Linux errno values the daemon answers with.
const ESRCH: i32 = 3;
const EPERM: i32 = 1;
const ECHILD: i32 = 10;
const EEXIST: i32 = 17;

/// A new private state directory (mode 0700, never an existing path: one
/// test chowns it, which must only ever reach a directory of our own).
fn state_dir(name: &str) -> PathBuf {
    private_temp_dir(&format!("mactux-daemon-test-{name}")).expect("create a private state directory")
}

fn mactux_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(mactux_bin()).args(args).env("MACTUX_STATE_DIR", dir).stdin(Stdio::null()).output().expect("run mactux")
}

fn pid_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only probes.
    pid > 0 && unsafe { libc::kill(pid, 0) } == 0
}

/// A daemon on its own state directory, stopped (and if need be killed) on drop.
struct Daemon {
    dir: PathBuf,
    socket: PathBuf,
    pid: i32,
}

impl Daemon {
    fn start(name: &str) -> Daemon {
        let dir = state_dir(name);
        let out = mactux_in(&dir, &["daemon", "start"]);
        assert!(out.status.success(), "mactux daemon start failed: {}", String::from_utf8_lossy(&out.stderr));
        let socket = dir.join("mactuxd.sock");
        let pid = Client::connect(&socket).expect("daemon answers").daemon_pid;
        Daemon { dir, socket, pid }
    }

    fn client(&self) -> Client {
        Client::connect(&self.socket).expect("connect to the test daemon")
    }

    fn mactux(&self, args: &[&str]) -> Output {
        mactux_in(&self.dir, args)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // The daemon serving now: a task may have started another one.
        let mut pid = self.pid;
        if let Ok(mut c) = Client::connect(&self.socket) {
            pid = c.daemon_pid;
            let _ = c.call(&Request::Shutdown);
        }
        // It writes its state until it exits: only then is the directory ours to remove.
        let deadline = Instant::now() + Duration::from_secs(3);
        while !host_exited(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if !host_exited(pid) {
            // SAFETY: the pid is the daemon of this test's state directory.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        // A failed test shows what the daemons of its directory logged:
        // the directory, and so the log, goes with it.
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.dir.join("mactuxd.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(200).collect();
            eprintln!("--- the last {} lines of mactuxd.log ---", tail.len());
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A host process standing in for a task's `mactux run` process.
struct Host(Child);

impl Host {
    fn new() -> Host {
        Host(Command::new("sleep").arg("60").spawn().expect("spawn sleep"))
    }
    fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn info(comm: &str) -> TaskInfo {
    TaskInfo {
        comm: comm.into(),
        argv: vec![comm.as_bytes().to_vec(), b"-c".to_vec(), b"true".to_vec()],
        exe: format!("/bin/{comm}"),
        cwd: "/".into(),
        // SAFETY: getuid cannot fail.
        uid: unsafe { libc::getuid() },
        gid: 0,
        cred: Default::default(),
        tty: 0,
        environ: vec![b"PATH=/bin".to_vec()],
        fds: vec![(0, b"/dev/null".to_vec())],
        fd_nodes: Vec::new(),
        maps: Vec::new(),
        reaps_children: false,
        threads: Vec::new(),
    }
}

fn pid_of(r: std::io::Result<Response>) -> Vpid {
    match r {
        Ok(Response::Pid(p)) => p,
        other => panic!("expected a pid, got {other:?}"),
    }
}

fn errno_of(r: std::io::Result<Response>) -> i32 {
    match r {
        Ok(Response::Error { errno, .. }) => errno,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn get(c: &mut Client, pid: Vpid) -> Option<TaskEntry> {
    match c.call(&Request::Get { pid }) {
        Ok(Response::Task(t)) => t,
        other => panic!("Get: {other:?}"),
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn namespace_semantics_over_the_socket() {
    let d = Daemon::start("ns");
    let (host_a, host_b, host_c, host_d) = (Host::new(), Host::new(), Host::new(), Host::new());

    // A top-level task: ppid 1, its own session and group.
    let mut a = d.client();
    let pa = match a.call(&Request::Spawn { host_pid: host_a.pid(), host_pgid: host_a.pid(), host_sid: host_a.pid(), info: info("bash") }) {
        Ok(Response::Spawned { pid, pgid, sid }) => {
            assert_eq!((pgid, sid), (pid, pid), "it leads its host session and group, so its own");
            pid
        }
        other => panic!("expected Spawned, got {other:?}"),
    };
    assert!(pa >= 2);
    assert_eq!(pid_of(a.call(&Request::GetPpid)), 1);
    assert_eq!(pid_of(a.call(&Request::GetPgid { pid: 0 })), pa);
    assert_eq!(pid_of(a.call(&Request::GetSid { pid: pa })), pa);

    // fork: reserve, then the child attaches from its own connection.
    let pb = pid_of(a.call(&Request::ReserveChild { token: 1 }));
    let mut b = d.client();
    assert_eq!(b.call(&Request::AttachChild { pid: pb, host_pid: host_b.pid() }).unwrap(), Response::Ok);
    assert_eq!(pid_of(b.call(&Request::GetPpid)), pa);
    assert_eq!(pid_of(b.call(&Request::GetPgid { pid: 0 })), pa);
    assert_eq!(pid_of(b.call(&Request::GetSid { pid: 0 })), pa);
    assert_eq!(a.call(&Request::Children { target: WaitTarget::Any }).unwrap(), Response::Children(vec![(pb, host_b.pid())]));
    assert_eq!(pid_of(a.call(&Request::PidOfHost { host_pid: host_b.pid() })), pb);
    assert_eq!(a.call(&Request::HostPid { pid: pb }).unwrap(), Response::HostPid(host_b.pid()));

    // setpgid / setsid with Linux's rules.
    assert_eq!(errno_of(a.call(&Request::SetPgid { pid: 0, pgid: 0 })), EPERM, "a session leader cannot move");
    assert_eq!(errno_of(b.call(&Request::SetPgid { pid: pa, pgid: 0 })), ESRCH, "not the caller's child");
    assert_eq!(a.call(&Request::SetPgid { pid: pb, pgid: 0 }).unwrap(), Response::Ok);
    assert_eq!(pid_of(a.call(&Request::GetPgid { pid: pb })), pb);
    assert_eq!(errno_of(b.call(&Request::SetSid)), EPERM, "a group leader cannot setsid");
    let pc = pid_of(a.call(&Request::ReserveChild { token: 2 }));
    let mut c = d.client();
    assert_eq!(c.call(&Request::AttachChild { pid: pc, host_pid: host_c.pid() }).unwrap(), Response::Ok);
    assert_eq!(pid_of(c.call(&Request::SetSid)), pc);
    assert_eq!(errno_of(a.call(&Request::SetPgid { pid: pc, pgid: 0 })), EPERM, "another session");

    // kill(2) targets.
    assert_eq!(a.call(&Request::Resolve { target: KillTarget::Pgid(pb) }).unwrap(), Response::Children(vec![(pb, host_b.pid())]));
    assert_eq!(errno_of(a.call(&Request::Resolve { target: KillTarget::Pid(4_000_000) })), ESRCH);
    match a.call(&Request::Resolve { target: KillTarget::All }).unwrap() {
        Response::Children(mut v) => {
            v.sort();
            assert_eq!(v, vec![(pb, host_b.pid()), (pc, host_c.pid())]);
        }
        other => panic!("{other:?}"),
    }

    // `mactux kill -9 PB` kills the host process; the closed connection of a
    // dead host process turns the task into a SIGKILL zombie for its parent.
    let out = d.mactux(&["kill", "-9", &pb.to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut host_b = host_b;
    let st = host_b.0.wait().unwrap();
    assert_eq!(st.signal(), Some(libc::SIGKILL));
    drop(b);
    wait_until("the killed child to become a zombie", || get(&mut a, pb).is_some_and(|t| t.state == TaskState::Zombie(9)));
    assert_eq!(a.call(&Request::Reaped { pid: pb }).unwrap(), Response::Ok);
    assert_eq!(get(&mut a, pb), None);
    let out = d.mactux(&["kill", &pb.to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), format!("mactux kill: ({pb}) - No such process"));

    // Exit with a status; the parent reaps it.
    assert_eq!(c.call(&Request::Exit { status: 7 << 8 }).unwrap(), Response::Ok);
    assert_eq!(get(&mut a, pc).map(|t| t.state), Some(TaskState::Zombie(7 << 8)));
    assert_eq!(a.call(&Request::Reaped { pid: pc }).unwrap(), Response::Ok);

    // Orphans go to pid 1; pid 1 reaps its zombies at once.
    let pd = pid_of(a.call(&Request::ReserveChild { token: 3 }));
    let mut dd = d.client();
    assert_eq!(dd.call(&Request::AttachChild { pid: pd, host_pid: host_d.pid() }).unwrap(), Response::Ok);
    assert_eq!(a.call(&Request::Exit { status: 0 }).unwrap(), Response::Ok);
    let mut admin = d.client();
    assert_eq!(get(&mut admin, pa), None, "a top-level task is reaped by pid 1");
    assert_eq!(get(&mut admin, pd).map(|t| t.ppid), Some(1));

    // `mactux ps --json` shows pid 1 and the orphan.
    let out = d.mactux(&["ps", "--json"]);
    assert!(out.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ps --json is JSON");
    let rows = rows.as_array().unwrap();
    let find = |pid: Vpid| rows.iter().find(|r| r["pid"] == pid).cloned();
    assert_eq!(find(1).unwrap()["ppid"], 0);
    assert_eq!(find(1).unwrap()["comm"], "mactux-init");
    let row = find(pd).expect("the orphan is listed");
    assert_eq!(row["ppid"], 1);
    assert_eq!(row["cmd"], "bash -c true");
    let table = String::from_utf8(d.mactux(&["ps"]).stdout).unwrap();
    assert!(table.starts_with("UID"), "{table}");
    assert!(table.lines().any(|l| l.split_whitespace().nth(1) == Some(&pd.to_string()) && l.ends_with("bash -c true")), "{table}");

    // A connection that closes while its host process lives (execve) keeps the task...
    drop(dd);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(get(&mut admin, pd).map(|t| t.state), Some(TaskState::Running));
    // ...until the host process is gone: then the next listing cleans it up.
    drop(host_d);
    let out = d.mactux(&["ps", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "only pid 1 is left: {rows}");
    drop(host_a);
}

/// A fork as the runtime makes it: the parent reserves the pid, names the
/// forked host process (Forked), and the child registers at its first call
/// to the daemon, if it ever makes one.
#[test]
fn a_fork_child_named_by_its_parent_over_the_socket() {
    let d = Daemon::start("forked");
    let (host_a, host_b, host_c) = (Host::new(), Host::new(), Host::new());
    let mut a = d.client();
    let pa = match a.call(&Request::Spawn { host_pid: host_a.pid(), host_pgid: host_a.pid(), host_sid: host_a.pid(), info: info("sh") }) {
        Ok(Response::Spawned { pid, .. }) => pid,
        other => panic!("expected Spawned, got {other:?}"),
    };
    let pb = pid_of(a.call(&Request::ReserveChild { token: 1 }));
    let mut stranger = d.client();
    assert_eq!(errno_of(stranger.call(&Request::Forked { pid: pb, host_pid: host_b.pid() })), ESRCH, "from no task");
    assert_eq!(a.call(&Request::Forked { pid: pb, host_pid: host_b.pid() }).unwrap(), Response::Ok);
    // Known to everyone before the child says a word.
    assert_eq!(stranger.call(&Request::HostPid { pid: pb }).unwrap(), Response::HostPid(host_b.pid()));
    assert_eq!(stranger.call(&Request::Resolve { target: KillTarget::Pid(pb) }).unwrap(), Response::Children(vec![(pb, host_b.pid())]));
    assert_eq!(a.call(&Request::Children { target: WaitTarget::Pgid(0) }).unwrap(), Response::Children(vec![(pb, host_b.pid())]));
    // Its first call registers it; another host process cannot take the pid.
    let reattach = |host_pid| Request::Reattach { pid: pb, host_pid, ppid: pa, pgid: pa, sid: pa, info: info("sh") };
    assert_eq!(errno_of(d.client().call(&reattach(host_c.pid()))), EEXIST);
    let mut b = d.client();
    assert_eq!(b.call(&reattach(host_b.pid())).unwrap(), Response::Ok);
    assert_eq!(pid_of(b.call(&Request::GetPpid)), pa);
    assert_eq!(errno_of(b.call(&Request::Forked { pid: pa, host_pid: host_a.pid() })), ECHILD, "its parent is not its child");
    // A child that exits without ever calling: its parent reaps it.
    let pc = pid_of(a.call(&Request::ReserveChild { token: 2 }));
    assert_eq!(a.call(&Request::Forked { pid: pc, host_pid: host_c.pid() }).unwrap(), Response::Ok);
    drop(host_c);
    assert_eq!(a.call(&Request::Reaped { pid: pc }).unwrap(), Response::Ok);
    assert_eq!(errno_of(stranger.call(&Request::HostPid { pid: pc })), ESRCH);
    drop((host_a, host_b));
}

fn owner_of(c: &mut Client, tid: Vpid) -> std::result::Result<(Vpid, i32), i32> {
    match c.call(&Request::OwnerOf { tid }) {
        Ok(Response::Owner { pid, host_pid }) => Ok((pid, host_pid)),
        Ok(Response::Error { errno, .. }) => Err(errno),
        other => panic!("OwnerOf: {other:?}"),
    }
}

#[test]
fn threads_get_tids_from_the_namespace_over_the_socket() {
    let d = Daemon::start("threads");
    let (host_a, host_b) = (Host::new(), Host::new());
    let mut a = d.client();
    let pa = match a.call(&Request::Spawn { host_pid: host_a.pid(), host_pgid: host_a.pid(), host_sid: host_a.pid(), info: info("srv") }) {
        Ok(Response::Spawned { pid, .. }) => pid,
        other => panic!("expected Spawned, got {other:?}"),
    };
    // A second connection of the same process joins the task (a thread in
    // a call while another one is): it speaks for the task.
    let mut joined = d.client();
    assert_eq!(joined.call(&Request::Join { pid: pa, host_pid: host_a.pid() }).unwrap(), Response::Ok);
    assert_eq!(errno_of(d.client().call(&Request::Join { pid: pa, host_pid: host_b.pid() })), EPERM, "another host process");
    let t1 = pid_of(a.call(&Request::NewTid));
    let t2 = pid_of(joined.call(&Request::NewTid));
    assert!(t1 != pa && t2 != pa && t1 != t2);
    // No task gets a tid in use.
    let pb = pid_of(a.call(&Request::ReserveChild { token: 1 }));
    let mut b = d.client();
    assert_eq!(b.call(&Request::AttachChild { pid: pb, host_pid: host_b.pid() }).unwrap(), Response::Ok);
    assert!(pb != t1 && pb != t2);
    // The owner of a tid: for kill(tid) and tgkill(tgid, tid).
    let mut admin = d.client();
    assert_eq!(owner_of(&mut admin, t1), Ok((pa, host_a.pid())));
    assert_eq!(owner_of(&mut admin, pa), Ok((pa, host_a.pid())));
    assert_eq!(owner_of(&mut admin, 4_000_000), Err(ESRCH));
    assert_eq!(b.call(&Request::Resolve { target: KillTarget::Pid(t2) }).unwrap(), Response::Children(vec![(pa, host_a.pid())]));
    // The thread list, in /proc's order: the leader, then each tid.
    let tids = |c: &mut Client| get(c, pa).map(|t| t.info.threads.iter().map(|th| th.tid).collect::<Vec<_>>());
    assert_eq!(tids(&mut admin), Some(vec![pa, t1, t2]));
    let out = d.mactux(&["ps", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ps --json is JSON");
    let row = rows.as_array().unwrap().iter().find(|r| r["pid"] == pa).cloned().expect("the task is listed");
    assert_eq!(row["nlwp"], 3);
    assert_eq!(row["threads"].as_array().map(|t| t.iter().map(|th| th["tid"].clone()).collect::<Vec<_>>()), Some(vec![pa.into(), t1.into(), t2.into()]));
    assert_eq!(row["threads"][1]["comm"], "srv");
    let table = String::from_utf8(d.mactux(&["ps"]).stdout).unwrap();
    let line = table.lines().find(|l| l.split_whitespace().nth(1) == Some(&pa.to_string())).expect("a row for the task");
    assert_eq!(line.split_whitespace().nth(4), Some("3"), "NLWP: {table}");
    // A released tid names nothing; the joined connection closing ends nothing.
    assert_eq!(a.call(&Request::ReleaseTid { tid: t1 }).unwrap(), Response::Ok);
    assert_eq!(owner_of(&mut admin, t1), Err(ESRCH));
    drop(joined);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(get(&mut admin, pa).map(|t| t.state), Some(TaskState::Running));
    assert_eq!(tids(&mut admin), Some(vec![pa, t2]));
    // The task's tids go with it.
    assert_eq!(a.call(&Request::Exit { status: 0 }).unwrap(), Response::Ok);
    assert_eq!(owner_of(&mut admin, t2), Err(ESRCH));
    // And with a task whose host process is gone.
    let t3 = pid_of(b.call(&Request::NewTid));
    assert_eq!(owner_of(&mut admin, t3), Ok((pb, host_b.pid())));
    drop(host_b);
    drop(b);
    wait_until("the dead task's tid to be released", || owner_of(&mut admin, t3) == Err(ESRCH));
    drop(host_a);
}

/// Processes serving the given state directory (Linux /proc only).
fn daemons_for(dir: &Path) -> Vec<i32> {
    let needle = format!("MACTUX_STATE_DIR={}", dir.display());
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let is_zombie = stat.rfind(')').is_some_and(|i| stat[i + 1..].trim_start().starts_with('Z'));
            !is_zombie
                && cmdline.split(|&b| b == 0).any(|a| a == b"serve")
                && environ.split(|&b| b == 0).any(|v| v == needle.as_bytes())
        })
        .collect()
}

#[test]
fn concurrent_starts_leave_exactly_one_daemon() {
    let dir = state_dir("race");
    let starts: Vec<_> = (0..4)
        .map(|_| {
            Command::new(mactux_bin())
                .args(["daemon", "start"])
                .env("MACTUX_STATE_DIR", &dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Output> = starts.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let guard = Daemon { socket: dir.join("mactuxd.sock"), pid: Client::connect(&dir.join("mactuxd.sock")).unwrap().daemon_pid, dir: dir.clone() };
    for o in &outs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains(&format!("pid {}", guard.pid)), "every start reports the one daemon: {text}");
    }
    if Path::new("/proc/self/environ").exists() {
        wait_until("the losing daemons to exit", || daemons_for(&dir).len() == 1);
        assert_eq!(daemons_for(&dir), vec![guard.pid]);
    }
    // A second start finds it running.
    let again = guard.mactux(&["daemon", "start"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains(&format!("pid {}", guard.pid)));
}

#[test]
fn status_and_stop() {
    let d = Daemon::start("status");
    let out = d.mactux(&["daemon", "status"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |k: &str| text.lines().find_map(|l| l.strip_prefix(&format!("{k}: "))).map(str::to_string);
    assert_eq!(field("pid"), Some(d.pid.to_string()), "{text}");
    assert_eq!(field("socket"), Some(d.socket.display().to_string()));
    assert_eq!(field("tasks").as_deref(), Some("0"));
    assert_eq!(field("protocol"), Some(PROTOCOL_VERSION.to_string()));
    assert!(field("uptime").is_some_and(|u| u.ends_with('s')));
    // Socket 0600 in a 0700 directory.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&d.dir).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(std::fs::metadata(&d.socket).unwrap().permissions().mode() & 0o777, 0o600);

    let out = d.mactux(&["daemon", "stop"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!d.socket.exists(), "stop waits until the socket is gone");
    wait_until("the daemon to exit", || !pid_alive(d.pid) || daemons_for(&d.dir).is_empty());
    let out = d.mactux(&["daemon", "status"]);
    assert_eq!(out.status.code(), Some(3), "status of a stopped daemon");
}

/// Splits `install --dry-run` output into (path, contents) pairs.
fn dry_run_files(out: &str) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = Vec::new();
    for line in out.lines() {
        if let Some(p) = line.strip_prefix("==> write ") {
            files.push((p.to_string(), String::new()));
        } else if line.starts_with("==> ") {
            files.push((String::new(), String::new()));
        } else if let Some((_, text)) = files.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    files.into_iter().filter(|(p, _)| !p.is_empty()).collect()
}

#[test]
fn install_dry_run_writes_valid_service_files() {
    let home = state_dir("home");
    std::fs::create_dir_all(&home).unwrap();
    let run = |manager: &str| {
        let out = Command::new(mactux_bin())
            .args(["daemon", "install", "--dry-run", "--manager", manager])
            .env("HOME", &home)
            .env_remove("XDG_CONFIG_HOME")
            .env("MACTUX_STATE_DIR", home.join("state"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let exe = mactux_bin().canonicalize().unwrap().display().to_string();

    let launchd = run("launchd");
    let files = dry_run_files(&launchd);
    assert_eq!(files.len(), 1, "{launchd}");
    assert_eq!(files[0].0, home.join("Library/LaunchAgents/com.mactux.mactuxd.plist").display().to_string());
    let v = plist::Value::from_reader_xml(files[0].1.as_bytes()).expect("the plist parses back");
    let dict = v.as_dictionary().unwrap();
    assert_eq!(dict.get("Label").and_then(|v| v.as_string()), Some("com.mactux.mactuxd"));
    let args: Vec<&str> = dict["ProgramArguments"].as_array().unwrap().iter().filter_map(|v| v.as_string()).collect();
    assert_eq!(args, [exe.as_str(), "daemon", "serve"]);
    assert_eq!(dict.get("RunAtLoad").and_then(|v| v.as_boolean()), Some(true));
    assert_eq!(dict.get("KeepAlive").and_then(|v| v.as_boolean()), Some(true));
    let listeners = dict["Sockets"].as_dictionary().unwrap()["Listeners"].as_dictionary().unwrap();
    assert_eq!(listeners["SockPathName"].as_string(), Some(home.join("state/mactuxd.sock").to_str().unwrap()));
    assert_eq!(listeners["SockPathMode"].as_signed_integer(), Some(384));
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    assert!(launchd.lines().any(|l| l == format!("==> run launchctl bootstrap gui/{uid} {}", files[0].0)), "{launchd}");

    let systemd = run("systemd");
    let files = dry_run_files(&systemd);
    let unit = |name: &str| files.iter().find(|(p, _)| p.ends_with(name)).map(|(p, t)| (p.clone(), t.clone())).unwrap();
    let (socket_path, socket) = unit("mactuxd.socket");
    assert_eq!(socket_path, home.join(".config/systemd/user/mactuxd.socket").display().to_string());
    for line in ["[Socket]", "ListenStream=%t/mactux/mactuxd.sock", "SocketMode=0600", "DirectoryMode=0700", "WantedBy=sockets.target"] {
        assert!(socket.lines().any(|l| l == line), "{line} missing:\n{socket}");
    }
    let (_, service) = unit("mactuxd.service");
    assert!(service.lines().any(|l| l == format!("ExecStart={exe} daemon serve")), "{service}");
    assert!(systemd.lines().any(|l| l == "==> run systemctl --user enable --now mactuxd.socket"), "{systemd}");
    assert!(!home.join(".config").exists() && !home.join("Library").exists(), "a dry run writes nothing");
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn malformed_frames_do_not_hurt_the_daemon() {
    let d = Daemon::start("garbage");
    let hello = encode(&Request::Hello { version: PROTOCOL_VERSION }).unwrap();
    let mut cases: Vec<Vec<u8>> = vec![
        vec![0xde, 0xad],
        u32::MAX.to_le_bytes().to_vec(),
        [&8u32.to_le_bytes()[..], &[0xff; 8]].concat(),
        [&hello[..], &[0x13, 0x37, 0, 0, 1]].concat(),
        [&hello[..], &((1u32 << 20) + 1).to_le_bytes()[..]].concat(),
        encode(&Request::Hello { version: PROTOCOL_VERSION + 7 }).unwrap(),
    ];
    cases.extend((1..hello.len()).map(|n| hello[..n].to_vec()));
    // One connection stays half-sent the whole time.
    let mut stuck = UnixStream::connect(&d.socket).unwrap();
    stuck.write_all(&[50, 0, 0, 0, 1]).unwrap();
    for bytes in cases {
        let mut s = UnixStream::connect(&d.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let _ = s.write_all(&bytes);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let _ = s.read_to_end(&mut Vec::new());
    }
    match Client::connect(&d.socket) {
        Err(e) => panic!("the daemon stopped answering: {e}"),
        Ok(mut c) => assert!(matches!(c.call(&Request::Status), Ok(Response::Status { .. }))),
    }
    // A version mismatch is a clear error for the client.
    let mut s = UnixStream::connect(&d.socket).unwrap();
    s.write_all(&encode(&Request::Hello { version: PROTOCOL_VERSION + 1 }).unwrap()).unwrap();
    let resp: Response = mactux_proto::frame::read_frame(&mut s).unwrap();
    assert_eq!(resp, Response::VersionMismatch { daemon_version: PROTOCOL_VERSION });
    drop(stuck);
}

/// System V IPC requests with hostile values (sizes, counts, ids, tokens,
/// tasks that do not exist) get errors, cut-off IPC frames close only their
/// connection, and the daemon keeps answering.
#[test]
fn hostile_ipc_requests_get_errors() {
    use mactux_proto::{IpcCred, IpcOp, IpcReply, SemBuf};
    const EINVAL: i32 = 22;
    const E2BIG: i32 = 7;
    const EAGAIN: i32 = 11;
    const ENOMSG: i32 = 42;
    let d = Daemon::start("ipc-garbage");
    let mut c = d.client();
    let ipc = |c: &mut Client, op: IpcOp| c.call(&Request::Ipc { cred: IpcCred { uid: 0, gid: 0, groups: vec![u32::MAX; 64] }, op });
    let sops = |n: usize| vec![SemBuf { num: u16::MAX, op: i16::MIN, flags: -1 }; n];
    // Unbound: attaches and undo need a task.
    assert_eq!(errno_of(ipc(&mut c, IpcOp::ShmAttach { shmid: 0, flags: 0 })), ESRCH);
    assert_eq!(errno_of(ipc(&mut c, IpcOp::ShmInherit { pid: -1, shmids: vec![i32::MIN; 1000] })), ESRCH);
    assert_eq!(errno_of(ipc(&mut c, IpcOp::ShmDetach { shmid: i32::MAX })), EINVAL);
    assert_eq!(errno_of(ipc(&mut c, IpcOp::ShmGet { key: 1, size: u64::MAX, flags: 0o1600 })), EINVAL);
    assert_eq!(errno_of(ipc(&mut c, IpcOp::ShmCtl { shmid: i32::MIN, cmd: i32::MAX, set: None })), EINVAL);
    assert_eq!(errno_of(ipc(&mut c, IpcOp::SemGet { key: 2, nsems: i32::MAX, flags: 0o1600 })), EINVAL);
    assert_eq!(errno_of(ipc(&mut c, IpcOp::SemOp { semid: 0, sops: vec![] })), EINVAL);
    assert_eq!(errno_of(ipc(&mut c, IpcOp::SemOp { semid: 0, sops: sops(10_000) })), E2BIG);
    let sem = match ipc(&mut c, IpcOp::SemGet { key: 0, nsems: 2, flags: 0o600 }) {
        Ok(Response::Ipc(IpcReply::Value(v))) => v as i32,
        other => panic!("{other:?}"),
    };
    assert_eq!(errno_of(ipc(&mut c, IpcOp::SemOp { semid: sem, sops: sops(3) })), 27, "EFBIG");
    let setall = IpcOp::SemCtl { semid: sem, semnum: -1, cmd: 17, val: i32::MIN, vals: vec![u16::MAX; 70_000], set: None };
    assert_eq!(errno_of(ipc(&mut c, setall)), EINVAL);
    let q = match ipc(&mut c, IpcOp::MsgGet { key: 0, flags: 0o600 }) {
        Ok(Response::Ipc(IpcReply::Value(v))) => v as i32,
        other => panic!("{other:?}"),
    };
    let big = IpcOp::MsgSnd { msqid: q, mtype: 1, text: vec![0; 100_000], flags: 0o4000 };
    assert_eq!(errno_of(ipc(&mut c, big)), EINVAL, "above MSGMAX");
    assert_eq!(errno_of(ipc(&mut c, IpcOp::MsgSnd { msqid: q, mtype: i64::MIN, text: vec![], flags: 0 })), EINVAL);
    for _ in 0..2 {
        assert_eq!(ipc(&mut c, IpcOp::MsgSnd { msqid: q, mtype: 1, text: vec![0; 8192], flags: 0o4000 }).unwrap(), Response::Ipc(IpcReply::Value(0)));
    }
    let full = IpcOp::MsgSnd { msqid: q, mtype: 1, text: vec![0], flags: 0o4000 };
    assert_eq!(errno_of(ipc(&mut c, full)), EAGAIN, "MSGMNB bytes queued");
    assert_eq!(ipc(&mut c, IpcOp::MsgRcv { msqid: q, size: 0, msgtyp: 0, flags: 0o10000 }).unwrap(), Response::Ipc(IpcReply::Message { mtype: 1, text: vec![] }));
    assert_eq!(ipc(&mut c, IpcOp::MsgRcv { msqid: q, size: 0, msgtyp: 0, flags: 0o10000 }).unwrap(), Response::Ipc(IpcReply::Message { mtype: 1, text: vec![] }));
    assert_eq!(errno_of(ipc(&mut c, IpcOp::MsgRcv { msqid: q, size: u64::MAX, msgtyp: i64::MIN, flags: -1 & !0o40000 })), ENOMSG);
    assert_eq!(errno_of(c.call(&Request::IpcSleep { token: u64::MAX, timeout_ns: u64::MAX })), EINVAL);
    assert_eq!(errno_of(c.call(&Request::IpcCancel { token: 0 })), EINVAL);
    // A waiting call from a connection that goes away is forgotten.
    let mut waiter = d.client();
    assert!(matches!(ipc(&mut waiter, IpcOp::MsgRcv { msqid: q, size: 8, msgtyp: 0, flags: 0 }), Ok(Response::Ipc(IpcReply::Pending(_)))));
    drop(waiter);
    // Cut-off IPC frames.
    let frame = encode(&Request::Ipc { cred: IpcCred::default(), op: IpcOp::SemOp { semid: sem, sops: sops(4) } }).unwrap();
    let hello = encode(&Request::Hello { version: PROTOCOL_VERSION }).unwrap();
    for n in 1..frame.len() {
        let mut s = UnixStream::connect(&d.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let _ = s.write_all(&[&hello[..], &frame[..n]].concat());
        let _ = s.shutdown(std::net::Shutdown::Write);
        let _ = s.read_to_end(&mut Vec::new());
    }
    assert_eq!(ipc(&mut c, IpcOp::MsgCtl { msqid: q, cmd: 0, set: None }).unwrap(), Response::Ipc(IpcReply::Value(0)));
    assert!(matches!(c.call(&Request::Status), Ok(Response::Status { .. })));
}

#[test]
fn another_user_is_refused() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("another_user_is_refused: skipped (needs root to run a daemon as another user)");
        return;
    }
    const NOBODY: u32 = 65534;
    let dir = state_dir("foreign");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
    // The daemon runs as nobody; root can still reach its socket and must be turned away.
    let mut daemon = Command::new(mactux_bin())
        .args(["daemon", "serve"])
        .env("MACTUX_STATE_DIR", &dir)
        .env("HOME", &dir)
        .uid(NOBODY)
        .gid(NOBODY)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let socket = dir.join("mactuxd.sock");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        if Instant::now() > deadline || daemon.try_wait().unwrap().is_some() {
            let _ = daemon.kill();
            let out = daemon.wait_with_output().unwrap();
            eprintln!("another_user_is_refused: skipped (the daemon cannot run as nobody here: {})", String::from_utf8_lossy(&out.stderr));
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let refused = Client::connect(&socket);
    // The daemon logs the refusal after it closed the connection: wait for
    // the line (bounded) rather than read the log at once.
    let log_path = dir.join("mactuxd.log");
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !read_log().contains("refusing a connection from another user") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = read_log();
    let _ = daemon.kill();
    let _ = daemon.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(refused.is_err(), "a connection from uid 0 to nobody's daemon must be refused");
    assert!(log.contains("refusing a connection from another user"), "{log}");
}

/// Socket activation the way systemd hands a socket over (sd_listen_fds(3)):
/// the listening socket arrives as fd 3 with LISTEN_PID naming the daemon
/// and LISTEN_FDS=1. python3 stands in for systemd: it binds, listens, moves
/// the socket to fd 3 and execs `mactux daemon serve` in its own pid. The
/// socket is bound at a path other than the state directory's, so only an
/// adopted listener can answer there.
#[test]
fn socket_activation_adopts_the_listener() {
    let dir = state_dir("activation");
    std::fs::create_dir_all(&dir).expect("create the state directory");
    let activated = dir.join("activated.sock");
    let manager = r#"
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o600)
s.listen(16)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
env = dict(os.environ, LISTEN_PID=str(os.getpid()), LISTEN_FDS="1")
os.execve(sys.argv[2], [sys.argv[2], "daemon", "serve"], env)
"#;
    // Host: killed on drop should an assertion fail first.
    let mut child = Host(Command::new("python3")
        .args(["-c", manager])
        .arg(&activated)
        .arg(mactux_bin())
        .env("MACTUX_STATE_DIR", &dir)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn python3 as the service manager"));
    let pid = child.pid();
    // A daemon that ignored fd 3 would leave connections there unanswered:
    // probe with a timeout so that fails instead of hanging.
    let answers = || -> bool {
        let Ok(mut s) = UnixStream::connect(&activated) else { return false };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let hello = encode(&Request::Hello { version: PROTOCOL_VERSION }).expect("encode hello");
        let mut prefix = [0u8; 4];
        s.write_all(&hello).is_ok() && s.read_exact(&mut prefix).is_ok()
    };
    wait_until("the activated daemon answers on the handed-over socket", answers);
    let mut c = Client::connect(&activated).expect("connect to the activated daemon");
    assert_eq!(c.daemon_pid, pid, "the daemon runs in the pid LISTEN_PID named");
    assert!(!dir.join("mactuxd.sock").exists(), "an activated daemon must not bind a socket of its own");
    match c.call(&Request::GetPgid { pid: 1 }) {
        Ok(Response::Pid(1)) => {}
        other => panic!("getpgid(1) over the activated socket: {other:?}"),
    }
    let _ = c.call(&Request::Shutdown);
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(st) = child.0.try_wait().expect("wait for the daemon") {
            break Some(st);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = std::fs::remove_dir_all(&dir);
    assert!(status.is_some_and(|s| s.success()), "the activated daemon stops cleanly on Shutdown: {status:?}");
}

/// A worker task of the restart test: forks, execs, waits and signals in a
/// loop until `$out/stop` exists, writing its iteration count to
/// `$out/iter.$id`; every surprise goes to stderr. At the start it records
/// its pid and that of a long `sleep` child in `$out/pids.$id`; at the end it
/// waits for that child, which the test kills from outside.
const RESTART_WORKER: &str = r#"
out=$1; id=$2; n=$3
sleep 60 & s=$!
echo "$$ $s" > "$out/pids.$id.tmp"; mv "$out/pids.$id.tmp" "$out/pids.$id"
next=$(( id % n + 1 ))
while [ ! -e "$out/pids.$next" ]; do sleep 0.05; done
read other _ < "$out/pids.$next"
i=0
while [ ! -e "$out/stop" ]; do
  i=$((i+1))
  /bin/sh -c 'exit 7'; r=$?; [ $r = 7 ] || echo "$id/$i: exit status $r, not 7" >&2
  sleep 5 & c=$!
  kill -TERM $c || echo "$id/$i: kill -TERM $c failed" >&2
  wait $c; r=$?; [ $r = 143 ] || echo "$id/$i: the killed child's status is $r, not 143" >&2
  p=$(/bin/sh -c 'echo $PPID'); [ "$p" = "$$" ] || echo "$id/$i: a child's parent is $p, not $$" >&2
  kill -0 $other || echo "$id/$i: kill -0 $other (worker $next) failed" >&2
  kill -0 $s || echo "$id/$i: kill -0 $s (its sleeper) failed" >&2
  echo $i > "$out/iter.$id"
done
echo stopped > "$out/stopped.$id"
wait $s; r=$?; [ $r = 143 ] || echo "$id: the sleeper's status is $r, not 143" >&2
echo "done $i"
"#;

/// The python3 worker: subprocess.run, Popen, kill and wait in a loop, as
/// the shell workers do.
const RESTART_PY_WORKER: &str = r#"
import os, signal, subprocess, sys, time
out, id, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = subprocess.Popen(["/bin/sleep", "60"])
with open(f"{out}/pids.{id}.tmp", "w") as f:
    f.write(f"{os.getpid()} {s.pid}\n")
os.rename(f"{out}/pids.{id}.tmp", f"{out}/pids.{id}")
nxt = int(id) % n + 1
while not os.path.exists(f"{out}/pids.{nxt}"):
    time.sleep(0.05)
other = int(open(f"{out}/pids.{nxt}").read().split()[0])
i = 0
def bad(msg):
    print(f"{id}/{i}: {msg}", file=sys.stderr, flush=True)
while not os.path.exists(f"{out}/stop"):
    i += 1
    r = subprocess.run(["/bin/sh", "-c", "exit 7"]).returncode
    if r != 7: bad(f"exit status {r}, not 7")
    p = subprocess.run(["/bin/sh", "-c", "echo $PPID"], capture_output=True, text=True).stdout.strip()
    if p != str(os.getpid()): bad(f"a child's parent is {p}, not {os.getpid()}")
    c = subprocess.Popen(["/bin/sleep", "5"])
    c.send_signal(signal.SIGTERM)
    r = c.wait()
    if r != -signal.SIGTERM: bad(f"the killed child's status is {r}")
    os.kill(other, 0)
    os.kill(s.pid, 0)
    with open(f"{out}/iter.{id}", "w") as f:
        f.write(f"{i}\n")
open(f"{out}/stopped.{id}", "w").write("stopped\n")
r = s.wait()
if r != -signal.SIGTERM: bad(f"the sleeper's status is {r}")
print("done", i)
"#;

/// Worker processes, each in a host process group of its own: whatever
/// happens, the group (the task and everything it forked) is killed on drop.
struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            // SAFETY: a process group this test created (process_group(0)).
            unsafe { libc::kill(-(c.id() as i32), libc::SIGKILL) };
            let _ = c.wait();
        }
    }
}

/// Whether a host process has exited (gone, or a zombie nobody reaps).
fn host_exited(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rfind(')').is_some_and(|i| stat[i + 1..].trim_start().starts_with('Z')),
        Err(_) => !pid_alive(pid),
    }
}

/// The host parent of a host process (Linux /proc).
fn host_ppid(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].split_whitespace().nth(1)?.parse().ok()
}

/// `kill -9` of mactuxd, again and again, while a few dozen tasks fork, exec,
/// wait and signal each other: each time the tasks start a new daemon, which
/// takes over the saved namespace. Afterwards every task still has its pid
/// (and the daemon the right host process for it), no pid is held twice,
/// `mactux ps` shows the tree, `mactux kill` reaches the long-running
/// children, every wait status was right, and no entry is left over.
#[test]
fn the_namespace_survives_kill_9_of_the_daemon() {
    if !Path::new("/proc/self/stat").exists() {
        eprintln!("the_namespace_survives_kill_9_of_the_daemon: skipped (needs Linux /proc)");
        return;
    }
    const SHELL_WORKERS: usize = 7;
    const KILLS: usize = 10;
    let d = Daemon::start("restart");
    let out = d.dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let n = SHELL_WORKERS + 1;
    let mut workers = Workers(Vec::new());
    for id in 1..=n {
        let mut cmd = Command::new(mactux_bin());
        if id <= SHELL_WORKERS {
            cmd.args(["run", "/bin/bash", "-c", RESTART_WORKER, "bash"]);
        } else {
            cmd.args(["run", "/usr/bin/python3", "-c", RESTART_PY_WORKER]);
        }
        cmd.arg(&out).arg(id.to_string()).arg(n.to_string());
        let child = cmd
            .env("MACTUX_STATE_DIR", &d.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(out.join(format!("err.{id}"))).expect("create a worker's stderr file"))
            .process_group(0)
            .spawn()
            .expect("start a worker");
        workers.0.push(child);
    }
    let iterations = |id: usize| -> u64 { std::fs::read_to_string(out.join(format!("iter.{id}"))).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0) };
    let errors = |id: usize| std::fs::read_to_string(out.join(format!("err.{id}"))).unwrap_or_default();
    // Until every worker has done two more rounds (so one whole round since
    // the last kill); a worker that ends meanwhile failed: say why.
    let wait_for_progress = |workers: &mut Workers, what: &str| {
        let before: Vec<u64> = (1..=n).map(iterations).collect();
        let deadline = Instant::now() + Duration::from_secs(120);
        while (1..=n).any(|id| iterations(id) < before[id - 1] + 2) {
            for id in 1..=n {
                let err = errors(id);
                let ended = workers.0[id - 1].try_wait().ok().flatten();
                assert!(err.is_empty() && ended.is_none(), "worker {id} {what}: {ended:?}\n{err}");
            }
            assert!(Instant::now() < deadline, "no progress {what}: iterations {:?}", (1..=n).map(iterations).collect::<Vec<_>>());
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for_progress(&mut workers, "before the first kill");
    let mut killed = Vec::new();
    for round in 1..=KILLS {
        // Whichever daemon serves now (a task started it after the last kill).
        let pid = Client::connect(&d.socket).map(|c| c.daemon_pid).unwrap_or_else(|e| panic!("round {round}: no daemon answers: {e}"));
        assert!(!killed.contains(&pid), "round {round}: daemon {pid} again");
        // SAFETY: the daemon of this test's own state directory.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        wait_until("the killed daemon to exit", || host_exited(pid));
        killed.push(pid);
        wait_for_progress(&mut workers, &format!("after kill {round}"));
    }

    // Stop the loops; each worker then only waits for its sleeper.
    std::fs::write(out.join("stop"), b"").unwrap();
    wait_until("every worker to leave its loop", || (1..=n).all(|id| out.join(format!("stopped.{id}")).exists()));
    let pids: Vec<(Vpid, Vpid)> = (1..=n)
        .map(|id| {
            let text = std::fs::read_to_string(out.join(format!("pids.{id}"))).unwrap();
            let v: Vec<Vpid> = text.split_whitespace().map(|f| f.parse().unwrap()).collect();
            (v[0], v[1])
        })
        .collect();
    let mut all: Vec<Vpid> = pids.iter().flat_map(|&(w, s)| [w, s]).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 2 * n, "a pid was handed out twice: {pids:?}");

    let ps = d.mactux(&["ps", "--json"]);
    assert!(ps.status.success(), "{}", String::from_utf8_lossy(&ps.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&ps.stdout).expect("ps --json is JSON");
    let rows = rows.as_array().unwrap();
    let brief: String = rows
        .iter()
        .map(|r| format!("\n  pid {} ppid {} host {} {} {}", r["pid"], r["ppid"], r["host_pid"], r["state"], r["comm"]))
        .collect();
    let row = |pid: Vpid| rows.iter().find(|r| r["pid"] == pid).unwrap_or_else(|| panic!("pid {pid} is missing from mactux ps:{brief}"));
    for (i, &(w, s)) in pids.iter().enumerate() {
        let host = workers.0[i].id() as i32;
        assert_eq!(row(w)["ppid"], 1, "worker {w}");
        assert_eq!(row(w)["host_pid"], host, "worker {w} is still the process that started as it");
        assert_eq!(row(s)["ppid"], w, "sleeper {s} of worker {w}");
        assert_eq!(row(s)["comm"], "sleep");
        let sleeper_host = row(s)["host_pid"].as_i64().unwrap() as i32;
        assert_eq!(host_ppid(sleeper_host), Some(host), "sleeper {s}'s host process is a child of worker {w}'s");
    }
    let pids_listed: Vec<i64> = rows.iter().filter_map(|r| r["pid"].as_i64()).filter(|&p| p != 1).collect();
    assert_eq!(pids_listed.len(), 2 * n, "nothing but the workers and their sleepers may be left:{brief}");

    // `mactux kill` reaches every sleeper; each worker's wait sees SIGTERM.
    for &(_, s) in &pids {
        let k = d.mactux(&["kill", "-TERM", &s.to_string()]);
        assert!(k.status.success(), "mactux kill {s}: {}", String::from_utf8_lossy(&k.stderr));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for (i, c) in workers.0.iter_mut().enumerate() {
        while c.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "worker {} did not finish", i + 1);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    for (i, c) in std::mem::take(&mut workers.0).into_iter().enumerate() {
        let o = c.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success() && stdout.starts_with("done "), "worker {}: {:?} {stdout}", i + 1, o.status);
        assert!(errors(i + 1).is_empty(), "worker {}:\n{}", i + 1, errors(i + 1));
    }
    let mut admin = d.client();
    wait_until("the namespace to be empty again", || match admin.call(&Request::List) {
        Ok(Response::Tasks(t)) => t.len() == 1,
        _ => false,
    });
}

/// A flood of connections that fail the handshake writes a few warnings and
/// then one summary with the count of the rest, not a line per connection.
#[test]
fn handshake_failures_are_rate_limited_in_the_log() {
    const BAD: usize = 200;
    let d = Daemon::start("flood");
    for _ in 0..BAD {
        let mut s = UnixStream::connect(&d.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        s.write_all(&[4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]).unwrap();
        let _ = s.read_to_end(&mut Vec::new());
    }
    // A clean stop writes the summary of what is still counted.
    let mut c = d.client();
    let _ = c.call(&Request::Shutdown);
    wait_until("the daemon to stop", || host_exited(d.pid));
    let log = std::fs::read_to_string(d.dir.join("mactuxd.log")).unwrap();
    // One warning per bad connection, until the limit; then counted.
    let warned = log.lines().filter(|l| l.contains("closing: malformed request")).count();
    let summaries: Vec<u64> = log
        .lines()
        .filter(|l| l.contains("kind=\"handshake\""))
        .filter_map(|l| l.split_whitespace().find_map(|f| f.strip_prefix("suppressed=")).and_then(|n| n.parse().ok()))
        .collect();
    assert!(warned < BAD / 2, "{warned} warnings for {BAD} bad connections:\n{log}");
    assert_eq!(warned as u64 + summaries.iter().sum::<u64>(), BAD as u64, "every bad connection is counted once:\n{log}");
    assert!(!summaries.is_empty(), "the suppressed ones are summarised:\n{log}");
}

/// sethostname(2) and setdomainname(2) change the names every task of the
/// namespace sees (uname, /proc/sys/kernel), kept by the daemon: `hostname
/// NAME` as root inside, then `hostname` in another task shows NAME. A
/// guest without CAP_SYS_ADMIN is refused, the host's own name never
/// changes, a name too long for `struct utsname` sent to the daemon
/// directly is EINVAL, and a restarted daemon keeps the names.
#[test]
fn host_and_domain_names_are_the_namespace_s() {
    const EINVAL: i32 = 22;
    let host_name = || std::fs::read_to_string("/proc/sys/kernel/hostname").expect("read the host's name");
    let before = host_name();
    let d = Daemon::start("uts");
    let set = d.mactux(&["run", "-0", "/bin/hostname", "mactux-uts-test"]);
    assert!(set.status.success(), "hostname NAME as root: {}", String::from_utf8_lossy(&set.stderr));
    let shown = d.mactux(&["run", "/bin/hostname"]);
    assert_eq!(String::from_utf8_lossy(&shown.stdout), "mactux-uts-test\n");
    let proc_file = d.mactux(&["run", "/bin/cat", "/proc/sys/kernel/hostname"]);
    assert_eq!(String::from_utf8_lossy(&proc_file.stdout), "mactux-uts-test\n");
    let set = d.mactux(&["run", "-0", "/bin/domainname", "uts.example"]);
    assert!(set.status.success(), "domainname NAME as root: {}", String::from_utf8_lossy(&set.stderr));
    let shown = d.mactux(&["run", "/bin/cat", "/proc/sys/kernel/domainname"]);
    assert_eq!(String::from_utf8_lossy(&shown.stdout), "uts.example\n");
    let refused = d.mactux(&["run", "--user", "1000:1000", "/bin/hostname", "not-allowed"]);
    assert!(!refused.status.success(), "hostname NAME without CAP_SYS_ADMIN succeeded");
    let shown = d.mactux(&["run", "/bin/hostname"]);
    assert_eq!(String::from_utf8_lossy(&shown.stdout), "mactux-uts-test\n");
    let too_long = Request::SetUtsName { field: mactux_proto::UtsField::Hostname, name: vec![b'x'; 65] };
    match d.client().call(&too_long).expect("the daemon answers") {
        Response::Error { errno, .. } => assert_eq!(errno, EINVAL),
        other => panic!("a 65-byte name: {other:?}"),
    }
    match d.client().call(&Request::GetUtsName).expect("the daemon answers") {
        Response::UtsName { nodename, domainname } => {
            assert_eq!(nodename.as_deref(), Some(&b"mactux-uts-test"[..]));
            assert_eq!(domainname.as_deref(), Some(&b"uts.example"[..]));
        }
        other => panic!("GetUtsName: {other:?}"),
    }
    // A task that has read the names sees another task's change at once.
    let script = "import socket, subprocess; print(socket.gethostname()); \
                  subprocess.run(['/bin/hostname', 'mactux-uts-live'], check=True); print(socket.gethostname())";
    let live = d.mactux(&["run", "-0", "/usr/bin/python3", "-c", script]);
    assert_eq!(String::from_utf8_lossy(&live.stdout), "mactux-uts-test\nmactux-uts-live\n", "{}", String::from_utf8_lossy(&live.stderr));
    let set = d.mactux(&["run", "-0", "/bin/hostname", "mactux-uts-test"]);
    assert!(set.status.success());
    // A new daemon (started by the next task) keeps them.
    let stop = d.mactux(&["daemon", "stop"]);
    assert!(stop.status.success(), "{}", String::from_utf8_lossy(&stop.stderr));
    let shown = d.mactux(&["run", "/bin/hostname"]);
    assert_eq!(String::from_utf8_lossy(&shown.stdout), "mactux-uts-test\n", "after a daemon restart");
    assert_eq!(host_name(), before, "the host's own name changed");
}
