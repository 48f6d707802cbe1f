//! mactuxd: the per-user MacTux daemon.
//!
//! It owns what Linux tasks share: the virtual PID namespace (pids, the
//! parent/child tree, process groups, sessions, exit statuses; see
//! [`state`]), and the pipe inode counter. The protocol is `mactux-proto`:
//! one Unix-socket connection per task, length-prefixed bincode frames, a
//! version handshake. docs/daemon.md describes the whole picture.
//!
//! Design choices:
//! - **One `std::sync::Mutex<State>`**, not a `DashMap`: most requests touch
//!   several entries at once (reparenting orphans, a process group for
//!   setpgid/kill, a session for setsid) and must see one consistent tree;
//!   per-shard locks would need a lock order and still could not make those
//!   atomic. Critical sections are short and never span an `.await`, which
//!   is the case tokio recommends a std mutex for.
//! - **tokio's `UnixListener`, not `interprocess`**: the daemon needs a
//!   filesystem socket with exact permissions, the peer's uid
//!   (`UnixStream::peer_cred`: SO_PEERCRED on Linux, getpeereid on macOS)
//!   and to adopt a listener inherited from systemd or launchd. tokio gives
//!   all three directly; `interprocess`'s portable names add nothing for a
//!   Unix-only daemon and would hide the fd.
//! - Nothing reachable from a client's bytes panics: frames are bounded
//!   (`MAX_FRAME`), decoding errors close that one connection, every
//!   connection is its own tokio task.
#![deny(unsafe_code)]

mod futex;
mod host;
pub mod linux;
pub mod persist;
mod ratelimit;
pub mod state;
mod sysv;

pub use host::{detach, HostProc, ReadyPipe};

use mactux_proto::frame::{body_len, decode, encode};
use ratelimit::warn_limited;
use mactux_proto::{Request, Response, PROTOCOL_VERSION};
use state::{Conn, Reply, State};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{watch, Notify};

/// How long a request waits for a reserved child to attach before it is
/// answered without it (a fork takes microseconds; this only bounds a fork
/// that failed without telling us).
pub const ATTACH_WAIT: Duration = Duration::from_secs(2);
/// How often tasks whose host process vanished are cleaned up unasked.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(2);
/// How long after a change the task table is saved: changes in between
/// (a fork is four requests) share one write. What a restart can lose in
/// this time is bounded by the pid lease (persist.rs).
pub const SAVE_DELAY: Duration = Duration::from_millis(50);

/// Where and how to serve.
pub struct ServeOpts {
    /// The per-user state directory (mode 0700): socket, lock, log.
    pub state_dir: PathBuf,
    /// The socket to bind when no listener is inherited.
    pub socket: PathBuf,
    /// Adopt a listener from systemd (`LISTEN_FDS`) or launchd (`Listeners`).
    pub use_activation: bool,
    /// Told once the daemon listens (or found another daemon), or why it failed.
    pub ready: Option<ReadyPipe>,
}

impl ServeOpts {
    /// The defaults for the current user (`mactux_proto::client::state_dir`).
    pub fn for_current_user() -> ServeOpts {
        let uid = host::current_uid();
        ServeOpts {
            state_dir: mactux_proto::client::state_dir(uid),
            socket: mactux_proto::client::socket_path(uid),
            use_activation: true,
            ready: None,
        }
    }
}

struct Shared {
    state: Mutex<State>,
    /// Woken whenever a reserved child attaches.
    attached: Notify,
    shutdown: watch::Sender<bool>,
    uid: u32,
    next_conn: AtomicU64,
    /// Wait queues of shared futexes (a lock of their own: a sleeper must
    /// not hold the task table).
    futexes: futex::Futexes,
    /// System V IPC objects (a lock of their own, as the futexes').
    sysv: sysv::Sysv,
    /// Woken when the task table changed and should be saved.
    changed: Notify,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock cannot happen (panic = abort), but never unwrap.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The daemon's command line, for `mactuxd` and `mactux daemon serve`: serve
/// the current user in the foreground, or fork into the background once
/// listening with `detach`; errors go to stderr prefixed with `prog`.
pub fn run(detach: bool, prog: &str) -> std::process::ExitCode {
    let mut opts = ServeOpts::for_current_user();
    if detach {
        match self::detach() {
            Ok(ready) => opts.ready = Some(ready),
            Err(e) => {
                eprintln!("{prog}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    match serve(opts) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{prog}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs the daemon until Shutdown, SIGTERM or SIGINT. Returns `Ok` at once
/// when another daemon already holds the state directory's lock.
pub fn serve(mut opts: ServeOpts) -> Result<(), String> {
    let mut ready = opts.ready.take();
    let result = serve_inner(&opts, &mut ready);
    if let (Err(e), Some(r)) = (&result, ready) {
        r.failed(e);
    }
    result
}

fn serve_inner(opts: &ServeOpts, ready: &mut Option<ReadyPipe>) -> Result<(), String> {
    // Before any thread exists, so that every thread inherits it.
    host::unblock_all_signals();
    let uid = host::current_uid();
    prepare_state_dir(&opts.state_dir, uid)?;
    init_logging(&opts.state_dir.join("mactuxd.log"))?;

    let lock_path = opts.state_dir.join("mactuxd.lock");
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)
        .map_err(|e| format!("cannot open the lock file {}: {e}", lock_path.display()))?;
    if !host::try_lock_exclusive(&lock).map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))? {
        tracing::info!("another mactuxd holds {}; exiting", lock_path.display());
        if let Some(r) = ready.take() {
            r.ready();
        }
        return Ok(());
    }
    // The lock file names the daemon that holds it, so that a mactux of
    // another protocol version can still stop it (`mactux daemon stop`).
    {
        use std::io::Write;
        let mut f = &lock;
        let _ = f.set_len(0).and_then(|()| writeln!(f, "{}", std::process::id()));
    }

    let activated = if opts.use_activation { host::activated_listener() } else { None };
    let is_activated = activated.is_some();
    let std_listener = match activated {
        Some(l) => l,
        None => bind_socket(&opts.socket)?,
    };
    let socket = std_listener
        .local_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(Path::to_path_buf))
        .unwrap_or_else(|| opts.socket.clone());
    std_listener.set_nonblocking(true).map_err(|e| format!("cannot make the socket non-blocking: {e}"))?;

    // One thread serves every connection: requests are short, and keeping
    // them off other cores avoids a cross-core wakeup on each round trip.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let daemon_pid = i32::try_from(std::process::id()).unwrap_or(0);
    // Under the lock, before serving: the namespace of a previous daemon,
    // and a fresh pid lease.
    let mut state = State::new(daemon_pid, uid, host::current_gid(), socket.display().to_string(), host::host_proc);
    state.restore(persist::Store::new(&opts.state_dir, host::boot_id()));
    let result = rt.block_on(async {
        let listener = UnixListener::from_std(std_listener).map_err(|e| format!("cannot use the socket: {e}"))?;
        tracing::info!(pid = daemon_pid, socket = %socket.display(), activated = is_activated, "mactuxd {} serving protocol {PROTOCOL_VERSION}", env!("CARGO_PKG_VERSION"));
        if let Some(r) = ready.take() {
            r.ready();
        }
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            attached: Notify::new(),
            shutdown,
            uid,
            next_conn: AtomicU64::new(1),
            futexes: futex::Futexes::default(),
            sysv: sysv::Sysv::new(Some(opts.state_dir.join("sysv-shm"))),
            changed: Notify::new(),
        });
        tokio::spawn(save_changes(shared.clone()));
        accept_loop(listener, shared.clone()).await;
        shared.state().flush();
        Ok::<(), String>(())
    });
    rt.shutdown_timeout(Duration::from_millis(500));
    // Remove the socket while still holding the lock, so a successor's socket is never ours to delete.
    if !is_activated {
        let _ = std::fs::remove_file(&socket);
    }
    ratelimit::summarize(true);
    tracing::info!("mactuxd stopped");
    drop(lock);
    result
}

/// Saves the task table [`SAVE_DELAY`] after it changed (one write for all
/// the changes in between); idle, it sleeps.
async fn save_changes(shared: Arc<Shared>) {
    loop {
        shared.changed.notified().await;
        tokio::time::sleep(SAVE_DELAY).await;
        shared.state().flush();
    }
}

async fn accept_loop(listener: UnixListener, shared: Arc<Shared>) {
    let mut stop = shared.shutdown.subscribe();
    let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
    let (mut term, mut int) = match (
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()),
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (Some(t), Some(i)),
        _ => (None, None),
    };
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(serve_conn(shared.clone(), stream, id));
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    warn_limited!("accept", "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = stop.changed() => break,
            _ = sweep.tick() => {
                let mut state = shared.state();
                state.sweep(None);
                if state.is_dirty() {
                    shared.changed.notify_one();
                }
                drop(state);
                reap_ipc(&shared);
                ratelimit::summarize(false);
            }
            _ = async { term.as_mut()?.recv().await }, if term.is_some() => { tracing::info!("SIGTERM: stopping"); break }
            _ = async { int.as_mut()?.recv().await }, if int.is_some() => { tracing::info!("SIGINT: stopping"); break }
        }
    }
}

/// Why a connection stops reading.
enum ReadEnd {
    Eof,
    Bad(String),
}

/// A connection: reads are buffered so that a frame's prefix and body
/// usually arrive with one receive call.
type ConnIo = tokio::io::BufReader<UnixStream>;

async fn read_request(stream: &mut ConnIo) -> Result<Request, ReadEnd> {
    let mut prefix = [0u8; 4];
    let mut got = 0;
    while got < prefix.len() {
        match stream.read(&mut prefix[got..]).await {
            Ok(0) if got == 0 => return Err(ReadEnd::Eof),
            Ok(0) => return Err(ReadEnd::Bad(format!("truncated frame prefix ({got} of 4 bytes)"))),
            Ok(n) => got += n,
            Err(e) => return Err(ReadEnd::Bad(format!("read failed: {e}"))),
        }
    }
    let len = body_len(prefix).map_err(|e| ReadEnd::Bad(e.to_string()))?;
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await.map_err(|e| ReadEnd::Bad(format!("truncated frame body of {len} bytes: {e}")))?;
    decode(&body).map_err(|e| ReadEnd::Bad(format!("malformed request: {e}")))
}

async fn write_response(stream: &mut ConnIo, resp: &Response) -> io::Result<()> {
    let bytes = match encode(resp) {
        Ok(b) => b,
        Err(e) => encode(&Response::Error { errno: linux::E2BIG, msg: format!("the answer does not fit in one frame: {e}") })?,
    };
    stream.write_all(&bytes).await
}

async fn serve_conn(shared: Arc<Shared>, stream: UnixStream, id: u64) {
    let peer = stream.peer_cred();
    let mut stream = tokio::io::BufReader::new(stream);
    match peer {
        Ok(cred) if cred.uid() == shared.uid => {}
        Ok(cred) => {
            warn_limited!("peer", conn = id, peer_uid = cred.uid(), peer_pid = ?cred.pid(), "refusing a connection from another user");
            return;
        }
        Err(e) => {
            warn_limited!("peer", conn = id, "refusing a connection whose peer cannot be identified: {e}");
            return;
        }
    }
    match read_request(&mut stream).await {
        Ok(Request::Hello { version }) if version == PROTOCOL_VERSION => {
            let welcome = Response::Welcome { version: PROTOCOL_VERSION, daemon_pid: shared.state().daemon_pid };
            if write_response(&mut stream, &welcome).await.is_err() {
                return;
            }
        }
        Ok(Request::Hello { version }) => {
            warn_limited!("handshake", conn = id, client_version = version, "protocol version mismatch");
            let _ = write_response(&mut stream, &Response::VersionMismatch { daemon_version: PROTOCOL_VERSION }).await;
            return;
        }
        Ok(other) => {
            warn_limited!("handshake", conn = id, "first request was not Hello: {other:?}");
            return;
        }
        Err(ReadEnd::Eof) => return,
        Err(ReadEnd::Bad(e)) => {
            warn_limited!("handshake", conn = id, "closing: {e}");
            return;
        }
    }
    let mut conn = Conn { id, bound: None };
    loop {
        let req = match read_request(&mut stream).await {
            Ok(r) => r,
            Err(ReadEnd::Eof) => break,
            Err(ReadEnd::Bad(e)) => {
                warn_limited!("frame", conn = id, pid = ?conn.bound, "closing: {e}");
                break;
            }
        };
        let is_shutdown = matches!(req, Request::Shutdown);
        let (resp, close) = dispatch(&shared, &mut conn, &req).await;
        if write_response(&mut stream, &resp).await.is_err() {
            break;
        }
        if is_shutdown {
            tracing::info!(conn = id, "shutdown requested");
            shared.shutdown.send_replace(true);
            break;
        }
        if close {
            break;
        }
    }
    shared.futexes.disconnect(conn.id);
    shared.sysv.disconnect(conn.id);
    let mut state = shared.state();
    state.disconnect(&conn);
    if state.is_dirty() {
        shared.changed.notify_one();
    }
    drop(state);
    reap_ipc(&shared);
}

/// Detaches the segments and applies the SEM_UNDO adjustments of tasks
/// that have exited or whose host process is gone (exit_shm, exit_sem).
fn reap_ipc(shared: &Shared) {
    let tracked = shared.sysv.tracked();
    if tracked.is_empty() {
        return;
    }
    let gone: Vec<_> = {
        let state = shared.state();
        tracked.into_iter().filter(|p| !state.is_running(*p)).collect()
    };
    for pid in gone {
        shared.sysv.task_gone(pid);
    }
}

/// Answers one request, waiting (up to [`ATTACH_WAIT`]) for reserved children to attach.
/// The longest single futex sleep a client may ask for.
const MAX_FUTEX_SLEEP: Duration = Duration::from_secs(1);

async fn dispatch(shared: &Shared, conn: &mut Conn, req: &Request) -> (Response, bool) {
    match *req {
        Request::FutexQueue { key, bitset } => return (Response::Token(shared.futexes.queue(conn.id, key, bitset)), false),
        Request::FutexSleep { token, timeout_ns } => {
            let timeout = Duration::from_nanos(timeout_ns).min(MAX_FUTEX_SLEEP);
            let r = match shared.futexes.sleep(conn.id, token, timeout).await {
                futex::Slept::Woken => Response::Ok,
                futex::Slept::TimedOut => Response::Error { errno: linux::ETIMEDOUT, msg: "futex sleep timed out".into() },
                futex::Slept::Unknown => Response::Error { errno: linux::EINVAL, msg: "unknown futex token".into() },
            };
            return (r, false);
        }
        Request::FutexCancel { token } => {
            shared.futexes.cancel(conn.id, token);
            return (Response::Ok, false);
        }
        Request::FutexWake { key, count, bitset } => return (Response::Woken(shared.futexes.wake(key, count, bitset)), false),
        Request::Ipc { ref cred, ref op } => {
            let pid = shared.state().caller_pid(conn).unwrap_or(0);
            return (shared.sysv.call(conn.id, pid, cred, op), false);
        }
        Request::IpcSleep { token, timeout_ns } => {
            let timeout = Duration::from_nanos(timeout_ns).min(MAX_FUTEX_SLEEP);
            let r = match shared.sysv.sleep(conn.id, token, timeout).await {
                sysv::Slept::Done(r) => r,
                sysv::Slept::TimedOut => Response::Error { errno: linux::ETIMEDOUT, msg: "the IPC call still waits".into() },
                sysv::Slept::Unknown => Response::Error { errno: linux::EINVAL, msg: "unknown IPC token".into() },
            };
            return (r, false);
        }
        Request::IpcCancel { token } => return (shared.sysv.cancel(conn.id, token), false),
        _ => {}
    }
    // Most requests are answered at once; only one that names a reserved,
    // not yet attached child needs the waiter and the deadline.
    let mut reply = handle(shared, conn, req, true);
    if matches!(req, Request::Exit { .. } | Request::Reaped { .. }) {
        // The exit (or a fork's failure) is recorded: its IPC state goes
        // before the answer, so that a parent woken by the exit sees the
        // undo applied.
        reap_ipc(shared);
    }
    let deadline = tokio::time::Instant::now() + ATTACH_WAIT;
    loop {
        match reply {
            Reply::Send(r) => {
                // A Reattach may claim a reservation (its attach was lost with the previous daemon).
                if matches!(req, Request::AttachChild { .. } | Request::Reattach { .. } | Request::Forked { .. }) && r == Response::Ok {
                    shared.attached.notify_waiters();
                }
                return (r, false);
            }
            Reply::SendAndClose(r) => return (r, true),
            Reply::WaitAttach => {
                // Enabled before the state is asked again, so an attach in
                // between is not missed.
                let attached = shared.attached.notified();
                tokio::pin!(attached);
                attached.as_mut().enable();
                reply = handle(shared, conn, req, tokio::time::Instant::now() < deadline);
                if matches!(reply, Reply::WaitAttach) {
                    let _ = tokio::time::timeout_at(deadline, attached).await;
                    reply = handle(shared, conn, req, tokio::time::Instant::now() < deadline);
                }
            }
        }
    }
}

/// One request against the task table; a change schedules a save.
fn handle(shared: &Shared, conn: &mut Conn, req: &Request, may_wait: bool) -> Reply {
    let mut state = shared.state();
    let reply = state.handle(conn, req, may_wait);
    if state.is_dirty() {
        shared.changed.notify_one();
    }
    reply
}

/// Creates the state directory with mode 0700, or checks an existing one:
/// it must be a real directory owned by us; group/other bits are removed.
pub fn prepare_state_dir(dir: &Path, uid: u32) -> Result<(), String> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("cannot create the state directory {}: {e}", dir.display()))?;
        }
        Err(e) => return Err(format!("cannot inspect the state directory {}: {e}", dir.display())),
        Ok(_) => {}
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("cannot inspect the state directory {}: {e}", dir.display()))?;
    if !meta.file_type().is_dir() {
        return Err(format!("the state directory {} is not a directory (a symlink or file is refused); remove it", dir.display()));
    }
    if meta.uid() != uid {
        return Err(format!(
            "the state directory {} belongs to uid {}, not to us (uid {uid}); remove it or set MACTUX_STATE_DIR",
            dir.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot restrict the state directory {} to mode 0700: {e}", dir.display()))?;
    }
    Ok(())
}

/// Binds the socket (mode 0600), removing a stale one; call with the lock held.
fn bind_socket(path: &Path) -> Result<std::os::unix::net::UnixListener, String> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(format!("{} exists and is not a socket; remove it", path.display()));
        }
        std::fs::remove_file(path).map_err(|e| format!("cannot remove the stale socket {}: {e}", path.display()))?;
    }
    let listener = std::os::unix::net::UnixListener::bind(path).map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot set mode 0600 on {}: {e}", path.display()))?;
    Ok(listener)
}

/// Logs go to `mactuxd.log` (appended, mode 0600). `MACTUX_DAEMON_LOG` =
/// error|warn|info|debug|trace picks the level (default info).
fn init_logging(path: &Path) -> Result<(), String> {
    let file: File = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot open the log {}: {e}", path.display()))?;
    let level = std::env::var("MACTUX_DAEMON_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    // A second serve() in one process keeps the first subscriber.
    let _ = tracing_subscriber::fmt().with_writer(Mutex::new(file)).with_ansi(false).with_max_level(level).try_init();
    Ok(())
}
