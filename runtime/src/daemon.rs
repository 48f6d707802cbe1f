//! The runtime's link to mactuxd, the daemon that owns what Linux tasks
//! share (pids and tids, process groups, sessions, the /proc view of other
//! tasks, shared futexes).
//!
//! Plain blocking I/O (mactux_proto::client), used from the syscall trap. If
//! the daemon is not running it is started (`mactux daemon start`, which
//! guarantees a single instance). If it goes away while the task runs,
//! process-local calls keep working and the next call that needs it
//! reconnects — starting a new daemon — and re-registers the task under its
//! old pid.
//!
//! # Connections
//!
//! A task keeps a small pool of connections, so that each of its threads can
//! be in a call at once: a thread asleep at the daemon on a shared futex
//! (`FutexSleep`) must not stall another thread's getppid. A call takes an
//! idle connection out of the pool, makes its round trip with no lock held,
//! and puts it back. When none is idle a new one is opened, up to
//! [`MAX_CONNECTIONS`] (beyond that a call waits for one to come back). The
//! first connection registers the task (`Spawn`, or `Reattach` after a
//! fork or a daemon restart); the others are joined to it (`Join`), and the daemon treats
//! their closing as nothing more than a thread gone. When the registering
//! connection is lost (the daemon died), the next connection opened
//! registers the task again; meanwhile the other threads wait for that
//! registration rather than open connections of their own, which would
//! find the task unknown and register it a second time at once.
//!
//! A wait whose token the daemon ties to a connection (a shared futex, a
//! System V IPC wait) keeps one connection for all its requests
//! ([`Pinned`]).
//!
//! A fork child must not use its parent's connections: it closes every one
//! of them, including those other threads of the parent were using when it
//! forked, which is why every connection's fd is kept in [`Link::fds`] from
//! the moment it is connected.
//!
//! Lock order: `LINK` is a leaf lock held only to take a connection out, put
//! one back or read the task's identity, never across a round trip. The one
//! host call made under it is the `connect` of a new socket (no round trip),
//! so that no fork can copy an fd not yet in the registry. A thread about to
//! fork takes it with [`lock_for_fork`].

use crate::abi::Errno;
use crate::error::{Error, Result};
use mactux_proto::client::{self, Client};
use mactux_proto::{Request, Response, TaskInfo, Vpid};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
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

/// How many connections one task opens at most: one per thread in a call
/// at the same moment. A task with more threads than this in calls makes
/// the rest wait for a connection to come back.
pub const MAX_CONNECTIONS: usize = 64;

/// One connection of the pool.
struct Conn {
    client: Client,
    /// Numbers connections for the life of the process (fd numbers are reused).
    serial: u64,
}

impl Conn {
    fn fd(&self) -> RawFd {
        self.client.stream().as_raw_fd()
    }
}

struct Link {
    me: Identity,
    /// Connections no thread is using.
    idle: Vec<Conn>,
    /// The fd of every connection this process holds, idle or in a call.
    fds: Vec<RawFd>,
    /// Connections that exist or are being opened (at most [`MAX_CONNECTIONS`]).
    open: usize,
    /// The connection the task is registered through, while it lives.
    registered: Option<u64>,
    /// A thread is registering the task on a new connection.
    is_registering: bool,
    /// The daemon the connections speak to (the last one reached).
    daemon_pid: i32,
    next_serial: u64,
    /// The user's socket for an effective uid, as last worked out: working
    /// it out reads the environment (a lock and pages a fork child would
    /// otherwise write or fault in).
    socket: Option<(u32, PathBuf)>,
    /// A connection was registered or joined since the pool started (or,
    /// in a fork child, since the fork).
    has_connected: bool,
    /// Threads waiting in `checkout` for a connection to come back.
    waiters: usize,
}

impl Link {
    fn new(me: Identity) -> Link {
        Link { me, idle: Vec::new(), fds: Vec::new(), open: 0, registered: None, is_registering: false, daemon_pid: 0, next_serial: 1, socket: None, has_connected: false, waiters: 0 }
    }

    /// The user's socket for effective uid `euid` ([`client::socket_path`]).
    fn socket_for(&mut self, euid: u32) -> PathBuf {
        match &self.socket {
            Some((uid, path)) if *uid == euid => path.clone(),
            _ => {
                let path = client::socket_path(euid);
                self.socket = Some((euid, path.clone()));
                path
            }
        }
    }

    /// Adds a connection that is already registered or joined.
    fn add(&mut self, client: Client, is_registration: bool) -> Conn {
        let conn = Conn { client, serial: self.next_serial };
        self.next_serial += 1;
        self.open += 1;
        // `Pool::connect` registered it already when the pool existed.
        if !self.fds.contains(&conn.fd()) {
            self.fds.push(conn.fd());
        }
        if is_registration {
            self.registered = Some(conn.serial);
        }
        self.has_connected = true;
        self.note_daemon(conn.client.daemon_pid);
        conn
    }

    /// A connection reached daemon `pid`: idle connections to an earlier
    /// daemon are dead, and go.
    fn note_daemon(&mut self, pid: i32) {
        if pid != self.daemon_pid {
            self.daemon_pid = pid;
            let (stale, live): (Vec<Conn>, Vec<Conn>) = std::mem::take(&mut self.idle).into_iter().partition(|c| c.client.daemon_pid != pid);
            self.idle = live;
            for c in stale {
                self.forget(c);
            }
        }
    }

    /// Closes a connection and forgets it.
    fn forget(&mut self, conn: Conn) {
        let fd = conn.fd();
        self.fds.retain(|&f| f != fd);
        self.open = self.open.saturating_sub(1);
        if self.registered == Some(conn.serial) {
            self.registered = None;
        }
        drop(conn);
    }
}

/// The connection pool and the task's identity (None: standalone).
struct Pool {
    link: Mutex<Option<Link>>,
    /// Signalled when a connection is put back or forgotten.
    returned: Condvar,
    /// The socket to use instead of the user's (unit tests).
    socket: Option<PathBuf>,
    /// The daemon's page of host and domain names (`mactux_proto::UTS_FILE`),
    /// mapped once it exists (a fork child shares the mapping).
    uts: OnceLock<crate::host::mem::SharedWords>,
}

static POOL: Pool = Pool { link: Mutex::new(None), returned: Condvar::new(), socket: None, uts: OnceLock::new() };

/// The host and domain names set in the namespace (sethostname(2),
/// setdomainname(2)), each None while never set: read from the page the
/// daemon publishes them in, without a round trip (uname is called often),
/// or asked when the page is being written for too long. (None, None)
/// without a page (no daemon, or one that publishes none).
pub fn uts_names() -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    use std::sync::atomic::Ordering::{Acquire, Relaxed};
    let page = match POOL.uts.get() {
        Some(p) => p,
        None => {
            let path = POOL.socket().with_file_name(mactux_proto::UTS_FILE);
            let Ok(f) = std::fs::OpenOptions::new().read(true).write(true).open(&path) else {
                return (None, None);
            };
            let fd = std::os::fd::IntoRawFd::into_raw_fd(f);
            let words = 1 + mactux_proto::UTS_WORDS;
            match crate::host::mem::SharedWords::from_file(fd, words) {
                Ok(p) => POOL.uts.get_or_init(|| p),
                Err(_) => {
                    crate::host::fs::close(fd);
                    return (None, None);
                }
            }
        }
    };
    // A seqlock: the daemon makes word 0 odd while it writes.
    for _ in 0..10_000 {
        let before = page.word(0).load(Acquire);
        if before & 1 == 0 {
            let mut w = [0u64; mactux_proto::UTS_WORDS];
            for (i, slot) in w.iter_mut().enumerate() {
                *slot = page.word(1 + i).load(Acquire);
            }
            if page.word(0).load(Relaxed) == before {
                return mactux_proto::names_of_uts_words(&w);
            }
        }
        std::hint::spin_loop();
    }
    match call(&Request::GetUtsName) {
        Ok(Response::UtsName { nodename, domainname }) => (nodename, domainname),
        _ => (None, None),
    }
}

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
    // The online CPUs, as sysconf counts them: std's available_parallelism
    // reads half a dozen cgroup files for the same answer here.
    if !*SEVERAL_CPUS.get_or_init(|| crate::host::process::cpu_count() > 1) {
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

fn response_error(r: Response) -> Error {
    match r {
        Response::Error { errno, .. } => Error::new(Errno(errno.clamp(1, 4095) as u16)),
        _ => Error::with_message(Errno::EIO, "unexpected answer from the MacTux daemon"),
    }
}

fn unreachable_daemon() -> Error {
    Error::with_message(Errno::EAGAIN, "the MacTux daemon is not reachable")
}

/// How many times one request is tried on a fresh connection after the
/// daemon went away. A daemon killed while it answered is restarted by the
/// first task that notices (every task tries; the daemon's lock lets one
/// serve); a second loss in a row is still no reason to fail the guest's call.
const ATTEMPTS: usize = 3;

/// The request that registers the task under its old pid (see `Pool::reattach`).
fn reattach_request(me: &Identity) -> Request {
    Request::Reattach {
        pid: me.pid,
        host_pid: crate::host::process::host_pid(),
        ppid: me.ppid,
        pgid: me.pgid,
        sid: me.sid,
        info: me.info.clone(),
    }
}

fn reattach_answer(answer: std::io::Result<Response>) -> Result<()> {
    match answer {
        Ok(Response::Ok) => Ok(()),
        Ok(_) => Err(Error::with_message(Errno::EAGAIN, "the MacTux daemon refused to re-register the task")),
        Err(_) => Err(Error::with_message(Errno::EAGAIN, "the MacTux daemon went away while the task re-registered")),
    }
}

/// Why no connection could be taken.
enum NoConn {
    Standalone,
    Failed(Error),
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, Option<Link>> {
        self.link.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn socket(&self) -> PathBuf {
        self.socket.clone().unwrap_or_else(|| client::socket_path(crate::host::process::euid()))
    }

    /// A new connection, its fd in the registry before any other thread
    /// can fork. The socket is named by the effective uid, as the daemon
    /// checks the peer's effective uid and the CLI names it the same way.
    /// Only when no daemon listens (it is started, which takes a while) is
    /// the connection made outside the lock, and registered after.
    fn connect(&self) -> std::result::Result<Client, String> {
        self.connect_then(None).map(|(c, _)| c)
    }

    /// [`connect`](Self::connect), with `first` sent in the handshake's
    /// round trip ([`Client::handshake_with`]); its answer comes back
    /// beside the client (`None` when no `first` was given).
    fn connect_with(&self, first: &Request) -> std::result::Result<(Client, std::io::Result<Response>), String> {
        self.connect_then(Some(first)).map(|(c, a)| (c, a.unwrap_or_else(|| Err(std::io::Error::other("no answer")))))
    }

    /// A connected socket (no handshake yet), its fd in the registry; None
    /// when no daemon listens.
    fn connect_stream(&self) -> Option<UnixStream> {
        let mut guard = self.lock();
        let path = match (&self.socket, guard.as_mut()) {
            (None, Some(link)) => link.socket_for(crate::host::process::euid()),
            _ => self.socket(),
        };
        let s = UnixStream::connect(path).ok()?;
        if let Some(link) = guard.as_mut() {
            link.fds.push(s.as_raw_fd());
        }
        Some(s)
    }

    fn connect_then(&self, first: Option<&Request>) -> std::result::Result<(Client, Option<std::io::Result<Response>>), String> {
        match self.connect_stream() {
            Some(s) => {
                let fd = s.as_raw_fd();
                let r = match first {
                    Some(req) => Client::handshake_with(s, req).map(|(c, a)| (c, Some(a))),
                    None => Client::handshake(s).map(|c| (c, None)),
                };
                if r.is_err() {
                    self.unregister_fd(fd);
                }
                r.map_err(|e| e.to_string())
            }
            // A test's own daemon is never started here.
            None if self.socket.is_some() => Err("the test daemon is gone".into()),
            None => {
                let start = || client::spawn_daemon(&crate::task::current().config.mactux_exe);
                let r = client::connect_or_start(crate::host::process::euid(), start).map_err(|e| e.to_string());
                if let (Ok(c), Some(link)) = (&r, self.lock().as_mut()) {
                    link.fds.push(c.stream().as_raw_fd());
                }
                let mut c = r?;
                let answer = first.map(|req| c.call(req));
                Ok((c, answer))
            }
        }
    }

    /// Forgets the fd of a connection that is being dropped before it
    /// joined the pool.
    fn unregister_fd(&self, fd: RawFd) {
        if let Some(link) = self.lock().as_mut() {
            if let Some(i) = link.fds.iter().position(|&f| f == fd) {
                link.fds.remove(i);
            }
        }
    }

    /// A new connection with this task registered on it under its old pid.
    /// The daemon refuses (EEXIST) when the pid belongs to another task; the
    /// next call tries again, so a refusal lasts only while that task holds
    /// the pid. Sent on a connection already joined to the task, the
    /// daemon makes that one the registering connection.
    fn reattach(&self, c: &mut Client, me: &Identity) -> Result<()> {
        reattach_answer(c.call(&reattach_request(me)))
    }

    /// Opens a connection for the task: registering it when no connection
    /// does (`register`), else joined to it; a join the daemon refuses
    /// because it does not know the task (its table was lost) registers.
    /// The first request travels with the handshake. Returns the client
    /// and whether it registered.
    fn open_for(&self, me: &Identity, register: bool) -> Result<(Client, bool)> {
        let first = if register { reattach_request(me) } else { Request::Join { pid: me.pid, host_pid: crate::host::process::host_pid() } };
        let (mut c, answer) = self.connect_with(&first).map_err(|_| unreachable_daemon())?;
        let fd = c.stream().as_raw_fd();
        let opened = if register { reattach_answer(answer).map(|()| true) } else { self.joined(&mut c, me, answer) };
        if opened.is_err() {
            self.unregister_fd(fd);
        }
        opened.map(|registered| (c, registered))
    }

    /// The answer to a Join (see [`open_for`](Self::open_for)): joined, or
    /// registered on the same connection when the daemon does not know the task.
    fn joined(&self, c: &mut Client, me: &Identity, answer: std::io::Result<Response>) -> Result<bool> {
        match answer {
            Ok(Response::Ok) => return Ok(false),
            Ok(Response::Error { errno, .. }) if errno == i32::from(Errno::ESRCH.0) => {}
            Ok(_) => return Err(Error::with_message(Errno::EAGAIN, "the MacTux daemon refused another connection for the task")),
            Err(_) => return Err(Error::with_message(Errno::EAGAIN, "the MacTux daemon went away while the task connected")),
        }
        self.reattach(c, me)?;
        Ok(true)
    }

    /// Takes an idle connection, or opens one.
    fn checkout(&self) -> std::result::Result<Conn, NoConn> {
        let mut guard = self.lock();
        loop {
            let Some(link) = guard.as_mut() else { return Err(NoConn::Standalone) };
            if let Some(c) = link.idle.pop() {
                return Ok(c);
            }
            // Another thread is registering the task with a new daemon: a
            // connection opened now would find the task unknown and
            // register it a second time, concurrently (a Join the daemon
            // refuses with ESRCH falls back to Reattach). Wait for that
            // registration; its connection, or a join to it, follows.
            let waits_for_registration = link.registered.is_none() && link.is_registering;
            if link.open < MAX_CONNECTIONS && !waits_for_registration {
                link.open += 1;
                let register = link.registered.is_none();
                if register {
                    link.is_registering = true;
                }
                let me = link.me.clone();
                drop(guard);
                let opened = self.open_for(&me, register);
                let mut guard = self.lock();
                let Some(link) = guard.as_mut() else { return Err(NoConn::Standalone) };
                // `add` counts it again.
                link.open = link.open.saturating_sub(1);
                if register {
                    link.is_registering = false;
                }
                self.returned.notify_all();
                return match opened {
                    Ok((client, registered)) => Ok(link.add(client, registered)),
                    Err(e) => Err(NoConn::Failed(e)),
                };
            }
            // Every connection is in a call (or the task is being
            // registered); each call ends (a futex sleep
            // is cut into bounded slices), so this wait does too.
            link.waiters += 1;
            guard = self.returned.wait(guard).unwrap_or_else(|e| e.into_inner());
            if let Some(link) = guard.as_mut() {
                link.waiters = link.waiters.saturating_sub(1);
            }
        }
    }

    fn checkin(&self, conn: Conn) {
        let has_waiters = match self.lock().as_mut() {
            Some(link) => {
                if conn.client.daemon_pid == link.daemon_pid {
                    link.idle.push(conn);
                } else {
                    link.forget(conn);
                }
                link.waiters > 0
            }
            None => true,
        };
        // A notify is a host call even when nobody waits; every call to
        // the daemon checks a connection back in.
        if has_waiters {
            self.returned.notify_one();
        }
    }

    /// A connection failed: its daemon is gone, and so is every idle
    /// connection to it.
    fn discard(&self, conn: Conn) {
        if let Some(link) = self.lock().as_mut() {
            let dead = conn.client.daemon_pid;
            link.forget(conn);
            let (stale, live): (Vec<Conn>, Vec<Conn>) = std::mem::take(&mut link.idle).into_iter().partition(|c| c.client.daemon_pid == dead);
            link.idle = live;
            for c in stale {
                link.forget(c);
            }
        }
        self.returned.notify_all();
    }

    /// One request; if the daemon went away, reconnects (starting a new
    /// one), re-registers and sends it again, up to [`ATTEMPTS`] times.
    /// `after_send` runs once the request is written (tests use it to know
    /// that a call is in flight).
    fn call(&'static self, req: &Request, after_send: &dyn Fn()) -> Result<Response> {
        Pinned::on(self).call_with(req, after_send)
    }

    /// Sends a request whose answer the caller does not wait for (see
    /// [`post`]); a connection that fails the write goes, and the request
    /// is made as a call instead (which reconnects).
    fn post(&'static self, req: &Request) {
        let mut conn = match self.checkout() {
            Ok(c) => c,
            Err(NoConn::Standalone) => return,
            Err(NoConn::Failed(_)) => {
                let _ = self.call(req, &|| {});
                return;
            }
        };
        match conn.client.post(req) {
            Ok(()) => self.checkin(conn),
            Err(_) => {
                self.discard(conn);
                let _ = self.call(req, &|| {});
            }
        }
    }

    /// Starts the pool with the connection that registered the task.
    fn start(&self, me: Identity, client: Option<Client>) {
        let mut link = Link::new(me);
        if let Some(c) = client {
            let conn = link.add(c, true);
            link.idle.push(conn);
        }
        *self.lock() = Some(link);
    }

    /// In a fork child: closes every connection of the parent without using
    /// it (the sockets are shared with the parent), those other threads of
    /// the parent were in a call on included, and becomes task `pid`. No
    /// connection is opened: the parent tells the daemon which host process
    /// the child is (`Forked`), and the child registers (`Reattach`) at its
    /// first call, if it ever makes one. A fork child that only computes
    /// and exits (or execs, which registers) costs the daemon nothing, and
    /// the child no connect.
    fn become_child(&self, pid: Vpid) {
        let mut guard = self.lock();
        let Some(link) = guard.as_mut() else { return };
        let idle = std::mem::take(&mut link.idle);
        let idle_fds: Vec<RawFd> = idle.iter().map(Conn::fd).collect();
        drop(idle);
        for fd in std::mem::take(&mut link.fds) {
            // The connections that were in a call belong to threads the
            // child does not have: nothing else will close them.
            if !idle_fds.contains(&fd) {
                crate::host::fs::close(fd);
            }
        }
        // Moved, not copied: the child writes as little memory as it
        // can (each page it writes is a copy-on-write fault).
        let mut me = std::mem::take(&mut link.me);
        me.ppid = me.pid;
        me.pid = pid;
        // The child's threads: only the one that forked.
        me.info.threads.clear();
        let daemon_pid = link.daemon_pid;
        let socket = link.socket.take();
        *link = Link::new(me);
        link.daemon_pid = daemon_pid;
        link.socket = socket;
    }

    /// Reads the answers to a handshake posted with the task's registration
    /// (the `Reattach` a never-connected fork child sends at execve, read
    /// by the new program) before the connection is used: a refused one
    /// registers the task under its pid on the same connection. An error leaves the connection to be discarded.
    fn confirm_attach(&self, conn: &mut Conn) -> Result<()> {
        let answer = conn.client.finish_handshake().map_err(|_| unreachable_daemon())?;
        let me = {
            let mut guard = self.lock();
            let Some(link) = guard.as_mut() else { return Ok(()) };
            link.note_daemon(conn.client.daemon_pid);
            link.me.clone()
        };
        match answer {
            Response::Ok => Ok(()),
            _ => self.reattach(&mut conn.client, &me),
        }
    }

    /// The connection to keep across execve, taken out of the pool,
    /// registering the task on a new one when none does.
    fn take_for_exec(&self) -> Option<Conn> {
        let registered = {
            let mut guard = self.lock();
            let link = guard.as_mut()?;
            let at = link.idle.iter().position(|c| Some(c.serial) == link.registered);
            at.map(|i| link.idle.swap_remove(i))
        };
        if let Some(mut c) = registered {
            // The new program's client starts owing nothing: the answers
            // to posted requests are read here, outside the lock.
            let confirmed = !c.client.is_welcome_owed() || self.confirm_attach(&mut c).is_ok();
            if confirmed && c.client.settle().is_ok() {
                return Some(c);
            }
            self.discard(c);
        }
        let (me, daemon_pid, has_connected) = {
            let guard = self.lock();
            let link = guard.as_ref()?;
            (link.me.clone(), link.daemon_pid, link.has_connected)
        };
        // A fork child that never called the daemon: its registration goes
        // with the handshake, posted, and the new program reads the answers
        // at its first call (`confirm_attach`, which registers it anew if
        // the daemon refused), so the exec waits for no round trip.
        if !has_connected {
            if let Some(s) = self.connect_stream() {
                let fd = s.as_raw_fd();
                match Client::handshake_posted(s, &reattach_request(&me), daemon_pid) {
                    Ok(c) => {
                        let mut guard = self.lock();
                        return Some(guard.as_mut()?.add(c, true));
                    }
                    Err(_) => self.unregister_fd(fd),
                }
            }
        }
        // None to be had so (no daemon listens), one lost with a previous
        // daemon or, with threads, one in use: register on a new one, or the
        // new program starts without the daemon. Tried as often as a call
        // is: a daemon killed while it answered is replaced by the next
        // attempt.
        for _ in 0..ATTEMPTS {
            if let Ok((c, _)) = self.open_for(&me, true) {
                let mut guard = self.lock();
                return Some(guard.as_mut()?.add(c, true));
            }
        }
        None
    }
}

/// Registers a new top-level task (a fresh `mactux run`).
pub fn spawn(host_pid: i32, info: TaskInfo) -> std::result::Result<Vpid, String> {
    spawn_in(&POOL, host_pid, info)
}

fn spawn_in(pool: &Pool, host_pid: i32, info: TaskInfo) -> std::result::Result<Vpid, String> {
    // The host session and group it was started in, which it joins.
    let host_pgid = crate::host::process::pgid_of(0).map_or(host_pid, |g| g as i32);
    let host_sid = crate::host::process::sid_of(0).map_or(host_pid, |s| s as i32);
    let spawn = Request::Spawn { host_pid, host_pgid, host_sid, info: info.clone() };
    // The registration travels with the handshake: one round trip.
    let (mut client, mut answer) = pool.connect_with(&spawn)?;
    if answer.is_err() {
        // The daemon went away before answering (nothing was registered
        // that this task could ever use): once more, with a new one.
        client = pool.connect()?;
        answer = client.call(&spawn);
    }
    let (pid, pgid, sid) = match answer {
        Ok(Response::Spawned { pid, pgid, sid }) => (pid, pgid, sid),
        Ok(other) => return Err(format!("the MacTux daemon refused the task: {other:?}")),
        Err(e) => return Err(format!("the MacTux daemon went away: {e}")),
    };
    pool.start(Identity { pid, ppid: 1, pgid, sid, info }, Some(client));
    Ok(pid)
}

/// Re-registers an existing task on a new connection (after execve).
pub fn adopt(me: Identity, client: Option<Client>) {
    POOL.start(me, client);
}

/// Held by a thread about to fork the host process, from just before the
/// fork until just after it (drop it in parent and child; the child then
/// calls [`become_child`]): no other thread is then halfway through taking,
/// returning or opening a connection, so the child inherits a consistent
/// pool and a registry that names every connection fd it must close.
pub struct ForkLock {
    _guard: MutexGuard<'static, Option<Link>>,
}

pub fn lock_for_fork() -> ForkLock {
    let mut guard = POOL.lock();
    // Worked out here, in the parent, once: the child connects at once.
    if let (None, Some(link)) = (&POOL.socket, guard.as_mut()) {
        link.socket_for(crate::host::process::euid());
    }
    ForkLock { _guard: guard }
}

/// In a fork child: closes every connection of the parent (without using
/// it, those that other threads were in a call on included) and becomes
/// the reserved pid, registering only at its first call to the daemon
/// (see `Pool::become_child`; the parent sends [`forked`]).
pub fn become_child(pid: Vpid) {
    POOL.become_child(pid);
}

/// In a fork parent: tells the daemon that its reserved child `pid` is host
/// process `host_pid`, posted (a later request of this thread sees it).
/// Another task that names the child first waits at the daemon for this,
/// as for a reservation's attach.
pub fn forked(pid: Vpid, host_pid: i32) {
    post(&Request::Forked { pid, host_pid });
}

/// Whether this task runs without a daemon (none could be started).
pub fn is_standalone() -> bool {
    POOL.lock().is_none()
}

/// One request; if the daemon went away, reconnects (starting a new one),
/// re-registers and sends it again, up to [`ATTEMPTS`] times. Several
/// threads may be in a call at once, each on its own connection.
pub fn call(req: &Request) -> Result<Response> {
    POOL.call(req, &|| {})
}

/// One connection kept for several requests that belong together: a
/// shared futex wait or a System V IPC wait, whose token only the
/// connection that made it may sleep on or cancel (the daemon's futex.rs
/// and sysv.rs). Through [`call`], a thread's next request may go out on
/// another connection of the pool whenever another thread of the task is
/// in a call, and a sleep on a token queued elsewhere is refused. A lone
/// request ([`call`]) is a `Pinned` of one request.
pub struct Pinned {
    pool: &'static Pool,
    conn: Option<Conn>,
    /// No request has been answered yet: a daemon found gone may be
    /// replaced (nothing of the sequence lived in it).
    fresh: bool,
}

/// Takes a connection for a sequence of requests (see [`Pinned`]).
pub fn pinned() -> Pinned {
    Pinned::on(&POOL)
}

impl Pinned {
    fn on(pool: &'static Pool) -> Pinned {
        Pinned { pool, conn: None, fresh: true }
    }

    /// One request of the sequence. Until one is answered, a lost daemon
    /// is replaced as [`call`] does; after that, its loss is the
    /// sequence's (EAGAIN: the token died with it).
    pub fn call(&mut self, req: &Request) -> Result<Response> {
        self.call_with(req, &|| {})
    }

    fn call_with(&mut self, req: &Request, after_send: &dyn Fn()) -> Result<Response> {
        let mut last = unreachable_daemon();
        for _ in 0..ATTEMPTS {
            let mut conn = match self.conn.take() {
                Some(c) => c,
                None if self.fresh => match self.pool.checkout() {
                    Ok(c) => c,
                    Err(NoConn::Standalone) => return Err(Error::with_message(Errno::ENOSYS, "no MacTux daemon: running standalone")),
                    Err(NoConn::Failed(e)) => {
                        last = e;
                        continue;
                    }
                },
                None => return Err(unreachable_daemon()),
            };
            if conn.client.is_welcome_owed() {
                if let Err(e) = self.pool.confirm_attach(&mut conn) {
                    self.pool.discard(conn);
                    last = e;
                    continue;
                }
            }
            let answer = conn.client.call_with(req, |s, buf| {
                after_send();
                spin_for_answer(s, buf)
            });
            match answer {
                Ok(r) => {
                    self.conn = Some(conn);
                    self.fresh = false;
                    return match r {
                        Response::Error { errno, .. } => Err(Error::new(Errno(errno.clamp(1, 4095) as u16))),
                        r => Ok(r),
                    };
                }
                Err(_) => {
                    self.pool.discard(conn);
                    if !self.fresh {
                        return Err(unreachable_daemon());
                    }
                }
            }
        }
        Err(last)
    }
}

impl Pinned {
    /// Sends `req` on a connection of its own without reading the answer
    /// ([`PendingReserve`]); false when none could be had or the write
    /// failed (that connection is gone).
    fn start(&mut self, req: &Request) -> bool {
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => match self.pool.checkout() {
                Ok(c) => c,
                Err(_) => return false,
            },
        };
        if conn.client.is_welcome_owed() && self.pool.confirm_attach(&mut conn).is_err() {
            self.pool.discard(conn);
            return false;
        }
        match conn.client.start_call(req) {
            Ok(()) => {
                self.conn = Some(conn);
                true
            }
            Err(_) => {
                self.pool.discard(conn);
                false
            }
        }
    }

    /// The answer to the request [`start`](Self::start) sent (an error
    /// answer as an `Err`); None when the daemon went away meanwhile (the
    /// connection is discarded).
    fn finish(&mut self) -> Option<Result<Response>> {
        let mut conn = self.conn.take()?;
        // No spin: the answer has had the host fork's time to come, and a
        // daemon woken by this thread's send tends to wait for this CPU
        // (a spin would only delay it).
        match conn.client.finish_call(|_, _| Ok(0)) {
            Ok(r) => {
                self.conn = Some(conn);
                self.fresh = false;
                Some(match r {
                    Response::Error { errno, .. } => Err(Error::new(Errno(errno.clamp(1, 4095) as u16))),
                    r => Ok(r),
                })
            }
            Err(_) => {
                self.pool.discard(conn);
                None
            }
        }
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            self.pool.checkin(c);
        }
    }
}

/// A number for one fork of this task ([`Request::ReserveChild`]'s token).
/// Unique per caller: a fork child's pid is new, so it may count on from
/// its parent's value; after execve counting restarts, which can only name
/// an old reservation nobody attached to, harmless to hand out again.
fn next_fork_token() -> u64 {
    static FORKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    FORKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
}

/// Reserves the pid of a child about to be forked. The token makes the
/// request safe to send again (see [`call`]): a daemon that reserved a pid
/// and died before answering would otherwise leave that reservation behind
/// in its successor.
pub fn reserve_child() -> Result<Vpid> {
    call_pid(&Request::ReserveChild { token: next_fork_token() })
}

/// A [`reserve_child`] in two halves, so that the caller can fork the host
/// process while the daemon answers ([`start_reserve_child`], then
/// [`PendingReserve::finish`]). The connection stays out of the pool in
/// between; a fork child must `forget` its copy, never drop it (its
/// connections are its parent's, and `become_child` closes them).
pub struct PendingReserve {
    pinned: Pinned,
    token: u64,
    is_sent: bool,
}

/// Sends the `ReserveChild` of a fork without waiting for the answer.
/// Standalone, or when no connection could take the request, nothing is
/// sent and [`PendingReserve::finish`] makes the call whole.
pub fn start_reserve_child() -> PendingReserve {
    start_reserve_child_in(&POOL)
}

fn start_reserve_child_in(pool: &'static Pool) -> PendingReserve {
    let token = next_fork_token();
    let mut pinned = Pinned::on(pool);
    let is_sent = pinned.start(&Request::ReserveChild { token });
    PendingReserve { pinned, token, is_sent }
}

impl PendingReserve {
    /// The reserved pid. An answer lost with a daemon that went away (or a
    /// request that could not be sent) is asked for again as
    /// [`reserve_child`] does, with the same token: a new daemon that took
    /// the reservation over hands out the same pid.
    pub fn finish(mut self) -> Result<Vpid> {
        if self.is_sent {
            match self.pinned.finish() {
                Some(Ok(Response::Pid(p))) => return Ok(p),
                Some(Ok(other)) => return Err(response_error(other)),
                Some(Err(e)) => return Err(e),
                None => {}
            }
        }
        let pool = self.pinned.pool;
        drop(self.pinned);
        match pool.call(&Request::ReserveChild { token: self.token }, &|| {})? {
            Response::Pid(p) => Ok(p),
            other => Err(response_error(other)),
        }
    }
}

/// A request answered by a pid.
pub fn call_pid(req: &Request) -> Result<Vpid> {
    match call(req)? {
        Response::Pid(p) => Ok(p),
        other => Err(response_error(other)),
    }
}

/// A tid for a new thread of this task, to call before the thread starts
/// (clone with CLONE_THREAD). It comes from the daemon's pid namespace: no
/// task or thread has it, and it is not handed out again until
/// [`release_tid`] (or the task's exit). Standalone, it is a number unique
/// in this process (the host pid plus a count), which nothing outside the
/// process knows.
///
/// Errors: EAGAIN when the namespace or the task's thread limit is full or
/// the daemon cannot be reached (clone(2) fails with EAGAIN then too).
pub fn new_tid() -> Result<Vpid> {
    if is_standalone() {
        static NEXT: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return crate::host::process::host_pid()
            .checked_add(n)
            .ok_or_else(|| Error::with_message(Errno::EAGAIN, "no tid left for a standalone task"));
    }
    match call(&Request::NewTid) {
        Ok(Response::Pid(tid)) => Ok(tid),
        Ok(other) => Err(response_error(other)),
        Err(e) if e.errno == Errno::EAGAIN => Err(e),
        Err(_) => Err(Error::with_message(Errno::EAGAIN, "the MacTux daemon handed out no tid")),
    }
}

/// Gives back the tid of a thread of this task that has exited (best
/// effort: the daemon also releases every tid of a task when it exits or
/// its host process is gone). Not needed for the leader's tid, which is the
/// pid, nor standalone.
pub fn release_tid(tid: Vpid) {
    if !is_standalone() {
        let _ = call(&Request::ReleaseTid { tid });
    }
}

/// The task that pid or tid `tid` belongs to: (its pid, i.e. the thread
/// group id, and its host pid; 0 for a zombie, which a signal reaches as a
/// no-op). For kill(2) of a non-leader thread (Linux signals the whole
/// group) and tgkill(2) (ESRCH unless the tid's group is the given tgid).
/// A tid of this very task is answered too, but the caller knows those.
///
/// Errors: ESRCH when nothing has that id; EAGAIN for a child whose fork is
/// still attaching (after a 2 s wait at the daemon). Standalone: only this
/// task's own pid is known (ESRCH otherwise).
pub fn owner_of(tid: Vpid) -> Result<(Vpid, i32)> {
    if is_standalone() {
        let me = crate::task::current().pid() as Vpid;
        if tid == me {
            return Ok((me, crate::host::process::host_pid()));
        }
        crate::return_errno_with_message!(ESRCH, "no such thread (running standalone: other tasks are unknown)");
    }
    match call(&Request::OwnerOf { tid })? {
        Response::Owner { pid, host_pid } => Ok((pid, host_pid)),
        other => Err(response_error(other)),
    }
}

/// Updates what the daemon shows for this task.
pub fn update(info: TaskInfo) {
    if let Some(link) = POOL.lock().as_mut() {
        link.me.info = info.clone();
    }
    let _ = call(&Request::Update { info });
}

/// [`update`], posted (see [`post`]): for what a peer need not see at
/// once, such as the program a task runs after execve.
pub fn update_later(info: TaskInfo) {
    if let Some(link) = POOL.lock().as_mut() {
        link.me.info = info.clone();
    }
    POOL.post(&Request::Update { info });
}

/// Remembers a changed group or session (for re-registration).
pub fn note_ids(pgid: Option<Vpid>, sid: Option<Vpid>) {
    if let Some(link) = POOL.lock().as_mut() {
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
    POOL.lock().as_ref().map(|l| l.me.clone())
}

/// The connection kept across execve: the one the task is registered
/// through, out of the pool from now on, so that no other thread of the
/// task (the publisher, a guest thread) sends a request on it before the
/// exec: the new program would read that request's answer as the answer
/// to its own first one. Dropped when the exec fails, it goes back to the
/// pool. A connection lost with a previous daemon is made again first:
/// the new program starts with none otherwise, and would run without the
/// daemon. The others are close-on-exec and go with the exec.
pub struct ExecLink {
    conn: Option<Conn>,
}

impl ExecLink {
    pub fn fd(&self) -> RawFd {
        self.conn.as_ref().map_or(-1, Conn::fd)
    }

    pub fn daemon_pid(&self) -> i32 {
        self.conn.as_ref().map_or(0, |c| c.client.daemon_pid)
    }

    /// The answers to its handshake and registration are still to be read
    /// (by the new program: [`client_from_fd`]).
    pub fn is_handshake_owed(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.client.is_welcome_owed())
    }
}

impl Drop for ExecLink {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            POOL.checkin(c);
        }
    }
}

pub fn link_for_exec() -> Option<ExecLink> {
    POOL.take_for_exec().map(|c| ExecLink { conn: Some(c) })
}

/// Rebuilds the connection kept open across execve (with its handshake's
/// answers still to read, when the old program posted it).
pub fn client_from_fd(fd: i32, daemon_pid: i32, is_handshake_owed: bool) -> Client {
    let stream = crate::host::fs::adopt_unix_stream(fd);
    if is_handshake_owed {
        Client::from_stream_handshake_owed(stream, daemon_pid)
    } else {
        Client::from_stream(stream, daemon_pid)
    }
}

/// Tells the daemon this task exits with a Linux wait status (best effort:
/// the process is going away either way). Posted: the process does not
/// wait for the daemon to record it. Nothing is lost by that: the daemon
/// reads the Exit before the end of the connection, and keeps a task whose
/// connection is open as running (never sweeps it as killed) until then; a
/// parent that reaped the host process first has the status already, and
/// its Reaped removes the entry (a late Exit then names no task).
///
/// A fork child that never called the daemon has no connection, and opens
/// none to say so: the daemon finds its host process gone like that of any
/// unbound task, and its parent's `Reaped` (the parent has the status from
/// the host wait) removes it.
pub fn notify_exit(status: i32) {
    let has_connected = match POOL.lock().as_ref() {
        Some(link) => link.has_connected,
        None => return,
    };
    if has_connected {
        POOL.post(&Request::Exit { status });
    }
}

/// Sends a request without waiting for the daemon's answer (which is read
/// and dropped before the connection's next call): for requests whose
/// answer the caller ignores and whose effect only later requests need to
/// see. A later request of a single-threaded task goes out on the same
/// connection and is answered after it; one from another thread of the
/// task, or another task, may overtake it.
pub fn post(req: &Request) {
    if !is_standalone() {
        POOL.post(req);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mactux_proto::FutexKey;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// A daemon of our own, served by this test process on a private socket.
    struct TestDaemon {
        socket: PathBuf,
        dir: PathBuf,
        server: Option<std::thread::JoinHandle<std::result::Result<(), String>>>,
    }

    impl TestDaemon {
        fn start(name: &str) -> TestDaemon {
            let dir = std::env::temp_dir().join(format!("mactux-runtime-daemon-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let socket = dir.join("mactuxd.sock");
            let opts = mactuxd::ServeOpts { state_dir: dir.clone(), socket: socket.clone(), use_activation: false, ready: None };
            let server = std::thread::spawn(move || mactuxd::serve(opts));
            let deadline = Instant::now() + Duration::from_secs(20);
            while Client::connect(&socket).is_err() {
                assert!(Instant::now() < deadline, "the test daemon did not start listening");
                std::thread::sleep(Duration::from_millis(10));
            }
            TestDaemon { socket, dir, server: Some(server) }
        }
    }

    impl Drop for TestDaemon {
        fn drop(&mut self) {
            if let Ok(mut c) = Client::connect(&self.socket) {
                let _ = c.call(&Request::Shutdown);
            }
            if let Some(s) = self.server.take() {
                let _ = s.join();
            }
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn pool_on(d: &TestDaemon) -> &'static Pool {
        Box::leak(Box::new(Pool { link: Mutex::new(None), returned: Condvar::new(), socket: Some(d.socket.clone()), uts: OnceLock::new() }))
    }

    /// A pool of this process registered with `d`, and a child pid reserved
    /// for a fork: (pool, host pid, pid, the child's pid).
    fn registered_with_a_reserved_child(d: &TestDaemon) -> (&'static Pool, i32, Vpid, Vpid) {
        let pool = pool_on(d);
        let host_pid = crate::host::process::host_pid();
        let parent = spawn_in(pool, host_pid, TaskInfo::default()).expect("register with the test daemon");
        let child = match pool.call(&Request::ReserveChild { token: 1 }, &|| {}) {
            Ok(Response::Pid(p)) => p,
            other => panic!("no reservation: {other:?}"),
        };
        (pool, host_pid, parent, child)
    }

    #[test]
    fn a_call_is_answered_while_another_thread_sleeps_at_the_daemon() {
        let d = TestDaemon::start("concurrent");
        let pool = pool_on(&d);
        let host_pid = crate::host::process::host_pid();
        let pid = spawn_in(pool, host_pid, TaskInfo::default()).expect("register with the test daemon");
        let key = FutexKey::Anon { region: 7, offset: 0 };
        let Ok(Response::Token(token)) = pool.call(&Request::FutexQueue { key, bitset: u32::MAX }, &|| {}) else {
            panic!("no futex token")
        };
        // A thread sleeps at the daemon (the daemon cuts a sleep at 1 s).
        let (sent_tx, sent_rx) = std::sync::mpsc::channel();
        let is_done = Arc::new(AtomicBool::new(false));
        let sleeper = {
            let is_done = is_done.clone();
            std::thread::spawn(move || {
                let sleep = Request::FutexSleep { token, timeout_ns: 60_000_000_000 };
                let r = pool.call(&sleep, &|| {
                    let _ = sent_tx.send(());
                });
                is_done.store(true, Ordering::SeqCst);
                r
            })
        };
        sent_rx.recv_timeout(Duration::from_secs(20)).expect("the sleep request was sent");
        // Another thread's call is answered while it sleeps...
        assert_eq!(pool.call(&Request::GetSid { pid }, &|| {}).ok(), pool.call(&Request::GetSid { pid: 0 }, &|| {}).ok());
        assert_eq!(pool.call(&Request::GetPpid, &|| {}).ok(), Some(Response::Pid(1)));
        assert!(!is_done.load(Ordering::SeqCst), "the call waited for the other thread's sleep to end");
        // ...and so is the wake that ends the sleep.
        assert_eq!(pool.call(&Request::FutexWake { key, count: 1, bitset: u32::MAX }, &|| {}).ok(), Some(Response::Woken(1)));
        assert_eq!(sleeper.join().expect("sleeper").ok(), Some(Response::Ok), "woken, not timed out");
        let link = pool.lock();
        let link = link.as_ref().expect("a link");
        assert_eq!(link.open, 2, "two connections: the registering one and one joined");
        assert_eq!(link.fds.len(), 2);
        assert!(link.registered.is_some());
    }

    /// The socket object behind an fd, if the fd is open.
    fn socket_ino(fd: RawFd) -> Option<u64> {
        crate::host::fs::fstat(fd).ok().map(|st| st.ino)
    }

    #[test]
    fn a_fork_child_closes_every_connection_of_its_parent() {
        let d = TestDaemon::start("fork");
        let (pool, host_pid, parent, child) = registered_with_a_reserved_child(&d);
        // One connection in a call on another thread when the fork happens
        // (taken out of the pool here), one idle.
        let busy = pool.checkout().ok().expect("the registering connection");
        let idle = pool.checkout().ok().expect("a joined connection");
        pool.checkin(idle);
        let old: Vec<(RawFd, u64)> = pool.lock().as_ref().expect("a link").fds.iter().map(|&fd| (fd, socket_ino(fd).expect("open"))).collect();
        assert_eq!(old.len(), 2);
        // What the fork child does (here in the same process: the busy
        // connection's owner is gone in a real child, so it is never dropped).
        std::mem::forget(busy);
        pool.become_child(child);
        for (fd, ino) in old {
            assert_ne!(socket_ino(fd), Some(ino), "the parent's connection on fd {fd} is still open in the child");
        }
        {
            let guard = pool.lock();
            let link = guard.as_ref().expect("a link");
            assert_eq!((link.me.pid, link.me.ppid), (child, parent));
            assert_eq!((link.fds.len(), link.idle.len(), link.open), (0, 0, 0), "no connection until the child calls");
            assert!(!link.has_connected, "an exit now would not connect to say so");
        }
        // What the parent does after the fork, here on a connection of its own.
        let mut parent_conn = Client::connect(&d.socket).expect("a connection for the parent");
        assert_eq!(parent_conn.call(&Request::Join { pid: parent, host_pid }).ok(), Some(Response::Ok));
        assert_eq!(parent_conn.call(&Request::Forked { pid: child, host_pid }).ok(), Some(Response::Ok));
        assert_eq!(parent_conn.call(&Request::HostPid { pid: child }).ok(), Some(Response::HostPid(host_pid)), "known before the child calls");
        // The child's first call registers it under its pid.
        assert_eq!(pool.call(&Request::GetPpid, &|| {}).ok(), Some(Response::Pid(parent)));
        {
            let guard = pool.lock();
            let link = guard.as_ref().expect("a link");
            assert_eq!((link.fds.len(), link.idle.len(), link.open), (1, 1, 1), "one connection, bound to the child");
            assert!(link.registered.is_some() && link.has_connected);
        }
        // A child whose reservation was lost with a daemon that died
        // registers under its pid at its first call all the same.
        pool.become_child(4_000_000);
        assert_eq!(pool.call(&Request::GetPpid, &|| {}).ok(), Some(Response::Pid(child)));
        let guard = pool.lock();
        let link = guard.as_ref().expect("a link");
        assert_eq!(link.me.pid, 4_000_000);
        assert_eq!((link.fds.len(), link.idle.len(), link.open), (1, 1, 1), "one connection");
        assert!(link.registered.is_some());
    }

    #[test]
    fn a_fork_child_that_never_called_hands_its_registration_over_unanswered() {
        let d = TestDaemon::start("exec-posted");
        let (pool, host_pid, parent, child) = registered_with_a_reserved_child(&d);
        pool.become_child(child);
        // The child execs before it ever called the daemon.
        let kept = pool.take_for_exec().expect("a connection for the new program");
        assert!(kept.client.is_welcome_owed(), "the exec waited for the daemon's answers");
        // The new program (here a second pool on the same socket) reads
        // them at its first call.
        let stream = kept.client.stream().try_clone().expect("the connection, as the new program gets it");
        drop(kept);
        let next = pool_on(&d);
        let me = Identity { pid: child, ppid: parent, pgid: parent, sid: parent, info: TaskInfo::default() };
        next.start(me, Some(Client::from_stream_handshake_owed(stream, 0)));
        assert_eq!(next.call(&Request::GetPpid, &|| {}).ok(), Some(Response::Pid(parent)));
        assert_eq!(next.call(&Request::HostPid { pid: child }, &|| {}).ok(), Some(Response::HostPid(host_pid)));
        let guard = next.lock();
        let link = guard.as_ref().expect("a link");
        assert_ne!(link.daemon_pid, 0, "the daemon's pid came with the welcome");
        assert_eq!((link.fds.len(), link.idle.len()), (1, 1), "the handed-over connection, registered");
    }

    #[test]
    fn a_reservation_is_answered_while_the_caller_works_and_survives_a_lost_answer() {
        let d = TestDaemon::start("pending");
        let pool = pool_on(&d);
        let host_pid = crate::host::process::host_pid();
        let parent = spawn_in(pool, host_pid, TaskInfo::default()).expect("register with the test daemon");
        // A posted request's answer is owed on the connection first.
        pool.post(&Request::Update { info: TaskInfo { comm: "owed".into(), ..TaskInfo::default() } });
        let pending = start_reserve_child_in(pool);
        assert!(pending.is_sent);
        assert!(pool.lock().as_ref().is_some_and(|l| l.idle.is_empty()), "the connection stays out of the pool until the answer is read");
        // Meanwhile (the host fork) another call goes out on a connection of its own.
        assert_eq!(pool.call(&Request::GetPpid, &|| {}).ok(), Some(Response::Pid(1)));
        let child = pending.finish().expect("a reserved pid");
        assert!(child > parent);
        match pool.call(&Request::Get { pid: child }, &|| {}) {
            Ok(Response::Task(Some(t))) => assert_eq!((t.ppid, t.host_pid), (parent, 0), "a reservation of this task"),
            other => panic!("the reservation is unknown: {other:?}"),
        }
        // The answer is lost with the connection (as when the daemon dies
        // while the host forks): the same token is sent again and the
        // daemon hands out the same pid, not a second reservation.
        let mut pending = start_reserve_child_in(pool);
        let token = pending.token;
        if let Some(c) = pending.pinned.conn.take() {
            pool.discard(c);
        }
        let again = pending.finish().expect("the pid asked for again");
        assert_ne!(again, child);
        assert_eq!(pool.call(&Request::ReserveChild { token }, &|| {}).ok(), Some(Response::Pid(again)), "one reservation per token");
    }

    #[test]
    fn a_reservation_whose_daemon_goes_away_before_answering_fails_instead_of_waiting() {
        use std::io::Read;
        // A "daemon" that reads the request and goes away without an
        // answer, and no daemon to be reached after it.
        let dir = std::env::temp_dir().join(format!("mactux-runtime-daemon-{}-pending-gone", std::process::id()));
        let pool: &'static Pool = Box::leak(Box::new(Pool { link: Mutex::new(None), returned: Condvar::new(), socket: Some(dir.join("none.sock")), uts: OnceLock::new() }));
        let (ours, mut theirs) = UnixStream::pair().expect("a socket pair");
        pool.start(Identity { pid: 2, ppid: 1, pgid: 2, sid: 2, info: TaskInfo::default() }, Some(Client::from_stream(ours, 1)));
        let pending = start_reserve_child_in(pool);
        assert!(pending.is_sent);
        let mut len = [0u8; 4];
        theirs.read_exact(&mut len).expect("the request's length");
        let mut body = vec![0u8; u32::from_le_bytes(len) as usize];
        theirs.read_exact(&mut body).expect("the request");
        assert!(matches!(mactux_proto::frame::decode::<Request>(&body), Ok(Request::ReserveChild { .. })));
        drop(theirs);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(pending.finish().map_err(|e| e.errno));
        });
        let answer = rx.recv_timeout(Duration::from_secs(60)).expect("the reservation waited for a daemon that is gone");
        assert_eq!(answer, Err(Errno::EAGAIN));
    }

    #[test]
    fn tids_from_the_daemon_and_a_lost_registering_connection() {
        let d = TestDaemon::start("tids");
        let pool = pool_on(&d);
        let host_pid = crate::host::process::host_pid();
        let pid = spawn_in(pool, host_pid, TaskInfo::default()).expect("register with the test daemon");
        let tid = match pool.call(&Request::NewTid, &|| {}) {
            Ok(Response::Pid(t)) => t,
            other => panic!("no tid: {other:?}"),
        };
        assert_ne!(tid, pid);
        assert_eq!(pool.call(&Request::OwnerOf { tid }, &|| {}).ok(), Some(Response::Owner { pid, host_pid }));
        // The registering connection's loss: the next call registers the
        // task again on a new one.
        {
            let mut guard = pool.lock();
            let link = guard.as_mut().expect("a link");
            let c = link.idle.pop().expect("an idle connection");
            link.forget(c);
        }
        assert_eq!(pool.call(&Request::GetPpid, &|| {}).ok(), Some(Response::Pid(1)));
        assert!(pool.lock().as_ref().is_some_and(|l| l.registered.is_some() && l.fds.len() == 1));
        assert_eq!(pool.call(&Request::ReleaseTid { tid }, &|| {}).ok(), Some(Response::Ok));
        assert!(pool.call(&Request::OwnerOf { tid }, &|| {}).is_err(), "a released tid names nothing");
    }

    #[test]
    fn posted_requests_are_answered_in_order_and_settled_before_handover() {
        let d = TestDaemon::start("posted");
        let pool = pool_on(&d);
        let host_pid = crate::host::process::host_pid();
        let pid = spawn_in(pool, host_pid, TaskInfo::default()).expect("register with the test daemon");
        let owed = |pool: &Pool| pool.lock().as_ref().expect("a link").idle.iter().map(|c| c.client.owed()).sum::<u32>();
        pool.post(&Request::Update { info: TaskInfo { comm: "posted".into(), ..TaskInfo::default() } });
        assert_eq!(owed(pool), 1, "the posted request's answer is owed");
        // The next call on the connection gets its own answer, not the
        // posted request's, and sees the posted request's effect.
        match pool.call(&Request::Get { pid }, &|| {}) {
            Ok(Response::Task(Some(t))) => assert_eq!(t.info.comm, "posted"),
            other => panic!("the Get was answered with {other:?}"),
        }
        assert_eq!(owed(pool), 0);
        // A connection handed to the next program owes nothing.
        pool.post(&Request::Update { info: TaskInfo { comm: "again".into(), ..TaskInfo::default() } });
        let mut kept = pool.take_for_exec().expect("the registering connection");
        assert_eq!(kept.client.owed(), 0, "the answers were read before the handover");
        assert_eq!(owed(pool), 0);
        assert!(pool.lock().as_ref().is_some_and(|l| l.idle.is_empty()), "no other thread can take the kept connection");
        match kept.client.call(&Request::Get { pid }) {
            Ok(Response::Task(Some(t))) => assert_eq!(t.info.comm, "again"),
            other => panic!("the Get after the handover was answered with {other:?}"),
        }
    }

    #[test]
    fn a_thread_waits_for_another_registering_the_task() {
        let d = TestDaemon::start("registering");
        let pool = pool_on(&d);
        let host_pid = crate::host::process::host_pid();
        spawn_in(pool, host_pid, TaskInfo::default()).expect("register with the test daemon");
        // The registering connection is lost and another thread has begun
        // to register the task again.
        {
            let mut guard = pool.lock();
            let link = guard.as_mut().expect("a link");
            let c = link.idle.pop().expect("an idle connection");
            link.forget(c);
            link.is_registering = true;
        }
        let caller = std::thread::spawn(move || pool.call(&Request::GetPpid, &|| {}).ok());
        std::thread::sleep(Duration::from_millis(100));
        {
            let guard = pool.lock();
            let link = guard.as_ref().expect("a link");
            assert_eq!(link.open, 0, "a connection was opened while the task was being registered");
        }
        // The registration ends (here: it failed, so the waiter registers).
        {
            let mut guard = pool.lock();
            guard.as_mut().expect("a link").is_registering = false;
        }
        pool.returned.notify_all();
        assert_eq!(caller.join().expect("the caller"), Some(Response::Pid(1)));
        assert!(pool.lock().as_ref().is_some_and(|l| l.registered.is_some() && l.fds.len() == 1));
    }
}
