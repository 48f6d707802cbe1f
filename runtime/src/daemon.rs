//! The runtime's link to mactuxd, the daemon that owns what Linux tasks
//! share (pids, process groups, sessions, the /proc view of other tasks).
//!
//! One connection per task, plain blocking I/O (mactux_proto::client), used
//! from the syscall trap. If the daemon is not running it is started
//! (`mactux daemon start`, which guarantees a single instance). If it goes
//! away while the task runs, process-local calls keep working and the next
//! call that needs it reconnects — starting a new daemon — and re-registers
//! the task under its old pid.
//!
//! Lock order: `LINK` is a leaf lock; never call into the VFS or take task
//! locks while holding it.

use crate::abi::Errno;
use crate::error::{Error, Result};
use mactux_proto::client::{self, Client};
use mactux_proto::{Request, Response, TaskInfo, Vpid};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// What the task knows about itself, to re-register after a daemon restart.
#[derive(Clone, Debug, Default)]
pub struct Identity {
    pub pid: Vpid,
    pub ppid: Vpid,
    pub pgid: Vpid,
    pub sid: Vpid,
    pub info: TaskInfo,
}

struct Link {
    client: Option<Client>,
    me: Identity,
}

static LINK: Mutex<Option<Link>> = Mutex::new(None);

/// How long a call polls for the daemon's answer before it sleeps on the
/// socket. A round trip takes 10 to 20 µs; collecting the answer without
/// having slept saves the wake-up, about 4 µs at p50 and 5 at p99 on the
/// benchmark machine (bench/, section d).
const SPIN: Duration = Duration::from_micros(30);

/// Polls the socket for the start of the answer for up to [`SPIN`]. Only
/// where another CPU can run the daemon meanwhile: on one CPU the spin would
/// only delay it.
fn spin_for_answer(stream: &UnixStream, buf: &mut [u8]) -> std::io::Result<usize> {
    static SEVERAL_CPUS: OnceLock<bool> = OnceLock::new();
    if !*SEVERAL_CPUS.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)) {
        return Ok(0);
    }
    let until = Instant::now() + SPIN;
    loop {
        match crate::host::fs::recv_nowait(stream.as_raw_fd(), buf) {
            Ok(n) => return Ok(n), // 0 (end of stream) is left for the blocking read to report
            Err(e) if e == Errno::EAGAIN || e == Errno::EINTR => {}
            Err(_) => return Ok(0),
        }
        if Instant::now() >= until {
            return Ok(0);
        }
        std::hint::spin_loop();
    }
}

fn lock_link() -> std::sync::MutexGuard<'static, Option<Link>> {
    LINK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Connects, starting the daemon when nobody listens. The socket is named
/// by the effective uid, as the daemon checks the peer's effective uid and
/// the CLI names it the same way.
fn connect() -> std::result::Result<Client, String> {
    let start = || client::spawn_daemon(&crate::task::current().config.mactux_exe);
    client::connect_or_start(crate::host::process::euid(), start).map_err(|e| e.to_string())
}

fn response_error(r: Response) -> Error {
    match r {
        Response::Error { errno, .. } => Error::new(Errno(errno.clamp(1, 4095) as u16)),
        _ => Error::with_message(Errno::EIO, "unexpected answer from the MacTux daemon"),
    }
}

/// Registers a new top-level task (a fresh `mactux run`).
pub fn spawn(host_pid: i32, info: TaskInfo) -> std::result::Result<Vpid, String> {
    let mut client = connect()?;
    // The host session and group it was started in, which it joins.
    let host_pgid = crate::host::process::pgid_of(0).map_or(host_pid, |g| g as i32);
    let host_sid = crate::host::process::sid_of(0).map_or(host_pid, |s| s as i32);
    let spawn = Request::Spawn { host_pid, host_pgid, host_sid, info: info.clone() };
    let mut answer = client.call(&spawn);
    if answer.is_err() {
        // The daemon went away before answering (nothing was registered
        // that this task could ever use): once more, with a new one.
        client = connect()?;
        answer = client.call(&spawn);
    }
    let (pid, pgid, sid) = match answer {
        Ok(Response::Spawned { pid, pgid, sid }) => (pid, pgid, sid),
        Ok(other) => return Err(format!("the MacTux daemon refused the task: {other:?}")),
        Err(e) => return Err(format!("the MacTux daemon went away: {e}")),
    };
    *lock_link() = Some(Link { client: Some(client), me: Identity { pid, ppid: 1, pgid, sid, info } });
    Ok(pid)
}

/// Re-registers an existing task on a new connection (after execve, or in
/// a child after fork via [`attach_child`]).
pub fn adopt(me: Identity, client: Option<Client>) {
    *lock_link() = Some(Link { client, me });
}

/// In a fork child: drops the parent's connection (without using it) and
/// binds a new one to the reserved pid.
pub fn attach_child(pid: Vpid, host_pid: i32) {
    let mut guard = lock_link();
    let Some(link) = guard.as_mut() else { return };
    if let Some(parent_conn) = link.client.take() {
        // The socket is shared with the parent: closing our copy is all we may do.
        drop(parent_conn);
    }
    link.me.ppid = link.me.pid;
    link.me.pid = pid;
    if let Ok(mut c) = connect() {
        if matches!(c.call(&Request::AttachChild { pid, host_pid }), Ok(Response::Ok)) {
            link.client = Some(c);
            return;
        }
    }
    // The daemon that reserved the pid went away before it saved the
    // reservation or answered: register under the pid now, not at some
    // later call, so that the task is known (to kill, ps, its parent) even
    // if it never calls the daemon again (a child that execs `sleep`).
    link.client = reconnect(&link.me).ok();
}

/// Whether this task runs without a daemon (none could be started).
pub fn is_standalone() -> bool {
    lock_link().is_none()
}

/// How many times one request is tried on a fresh connection after the
/// daemon went away. A daemon killed while it answered is restarted by the
/// first task that notices (every task tries; the daemon's lock lets one
/// serve); a second loss in a row is still no reason to fail the guest's call.
const ATTEMPTS: usize = 3;

/// A new connection with this task registered on it under its old pid. The
/// daemon refuses (EEXIST) when the pid belongs to another task; the next
/// call tries again, so a refusal lasts only while that task holds the pid.
fn reconnect(me: &Identity) -> Result<Client> {
    let mut c = connect().map_err(|_| Error::with_message(Errno::EAGAIN, "the MacTux daemon is not reachable"))?;
    let re = Request::Reattach {
        pid: me.pid,
        host_pid: crate::host::process::host_pid(),
        ppid: me.ppid,
        pgid: me.pgid,
        sid: me.sid,
        info: me.info.clone(),
    };
    match c.call(&re) {
        Ok(Response::Ok) => Ok(c),
        Ok(_) => Err(Error::with_message(Errno::EAGAIN, "the MacTux daemon refused to re-register the task")),
        Err(_) => Err(Error::with_message(Errno::EAGAIN, "the MacTux daemon went away while the task re-registered")),
    }
}

/// One request; if the daemon went away, reconnects (starting a new one),
/// re-registers and sends it again, up to [`ATTEMPTS`] times.
pub fn call(req: &Request) -> Result<Response> {
    let mut guard = lock_link();
    let Some(link) = guard.as_mut() else {
        return Err(Error::with_message(Errno::ENOSYS, "no MacTux daemon: running standalone"));
    };
    let mut last = Error::with_message(Errno::EAGAIN, "the MacTux daemon is not reachable");
    for _ in 0..ATTEMPTS {
        if link.client.is_none() {
            match reconnect(&link.me) {
                Ok(c) => link.client = Some(c),
                Err(e) => {
                    last = e;
                    continue;
                }
            }
        }
        let Some(c) = link.client.as_mut() else { continue };
        match c.call_with(req, spin_for_answer) {
            Ok(Response::Error { errno, msg }) => {
                let _ = msg;
                return Err(Error::new(Errno(errno.clamp(1, 4095) as u16)));
            }
            Ok(r) => return Ok(r),
            Err(_) => link.client = None,
        }
    }
    Err(last)
}

/// Reserves the pid of a child about to be forked. The token makes the
/// request safe to send again (see [`call`]): a daemon that reserved a pid
/// and died before answering would otherwise leave that reservation behind
/// in its successor.
pub fn reserve_child() -> Result<Vpid> {
    static FORKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    // Unique per caller: a fork child's pid is new, so it may count on from
    // its parent's value; after execve counting restarts, which can only
    // name an old reservation nobody attached to, harmless to hand out again.
    let token = FORKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    call_pid(&Request::ReserveChild { token })
}

/// A request answered by a pid.
pub fn call_pid(req: &Request) -> Result<Vpid> {
    match call(req)? {
        Response::Pid(p) => Ok(p),
        other => Err(response_error(other)),
    }
}

/// Updates what the daemon shows for this task.
pub fn update(info: TaskInfo) {
    if let Some(link) = lock_link().as_mut() {
        link.me.info = info.clone();
    }
    let _ = call(&Request::Update { info });
}

/// Remembers a changed group or session (for re-registration).
pub fn note_ids(pgid: Option<Vpid>, sid: Option<Vpid>) {
    if let Some(link) = lock_link().as_mut() {
        if let Some(g) = pgid {
            link.me.pgid = g;
        }
        if let Some(s) = sid {
            link.me.sid = s;
        }
    }
}

/// This task's identity as last known.
pub fn identity() -> Option<Identity> {
    lock_link().as_ref().map(|l| l.me.clone())
}

/// The connection's fd, to keep across execve. A connection lost with a
/// previous daemon is made again first: the new program starts with none
/// otherwise, and would run without the daemon.
pub fn connection_fd() -> Option<i32> {
    let mut guard = lock_link();
    let link = guard.as_mut()?;
    if link.client.is_none() {
        link.client = reconnect(&link.me).ok();
    }
    link.client.as_ref().map(|c| c.stream().as_raw_fd())
}

/// Rebuilds the connection kept open across execve.
pub fn client_from_fd(fd: i32, daemon_pid: i32) -> Client {
    Client::from_stream(crate::host::fs::adopt_unix_stream(fd), daemon_pid)
}

/// The daemon's pid on the current connection.
pub fn daemon_pid() -> Option<i32> {
    lock_link().as_ref().and_then(|l| l.client.as_ref().map(|c| c.daemon_pid))
}

/// Tells the daemon this task exits with a Linux wait status (best effort:
/// the process is going away either way).
pub fn notify_exit(status: i32) {
    if !is_standalone() {
        let _ = call(&Request::Exit { status });
    }
}
