//! The blocking client the runtime uses (a task keeps a few: see runtime/src/daemon.rs).
//!
//! Plain `std` I/O on a Unix socket, usable from the runtime's syscall trap
//! (no async runtime, no threads). Every call is one request frame and one
//! response frame; a request whose answer the caller does not need is
//! [posted](Client::post), and its answer is read (and dropped) before the
//! next call's. The handshake can travel with the first request
//! ([`Client::handshake_with`]): neither costs a round trip of its own.

use crate::frame::{encode, read_frame, write_frame};
use crate::{Request, Response, PROTOCOL_VERSION};
use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long [`connect_or_start`] waits for a daemon it started to listen.
pub const START_TIMEOUT: Duration = Duration::from_secs(3);

pub struct Client {
    stream: UnixStream,
    pub daemon_pid: i32,
    /// Answers the daemon still owes for [posted](Client::post) requests.
    owed: u32,
    /// The answer to the Hello is still owed ([`Client::handshake_posted`]).
    is_welcome_owed: bool,
}

/// Why a connection could not be made.
#[derive(Debug)]
pub enum ConnectError {
    /// No daemon listens there (or the socket is gone).
    Unavailable(io::Error),
    /// The daemon speaks another protocol version.
    VersionMismatch { daemon: u32, client: u32 },
    Protocol(io::Error),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Unavailable(e) => write!(f, "the MacTux daemon is not reachable: {e}"),
            ConnectError::VersionMismatch { daemon, client } => write!(
                f,
                "the running mactuxd speaks protocol {daemon} but this mactux speaks {client}; restart it with `mactux daemon stop`"
            ),
            ConnectError::Protocol(e) => write!(f, "the MacTux daemon answered with a malformed frame: {e}"),
        }
    }
}

impl Client {
    pub fn connect(socket: &Path) -> Result<Client, ConnectError> {
        let stream = UnixStream::connect(socket).map_err(ConnectError::Unavailable)?;
        Client::handshake(stream)
    }

    /// The version handshake on a connected stream. Public for the fuzz
    /// target (fuzz/fuzz_targets/frame_decode.rs), which feeds it answers.
    pub fn handshake(mut stream: UnixStream) -> Result<Client, ConnectError> {
        write_frame(&mut stream, &Request::Hello { version: PROTOCOL_VERSION }).map_err(ConnectError::Unavailable)?;
        Client::welcome(stream)
    }

    /// The handshake with `first` sent right behind the Hello, in the same
    /// write, so that the daemon answers both in one round trip (it reads
    /// a connection's frames in order). Returns the client and the answer to
    /// `first`. A daemon of another version answers the Hello with
    /// VersionMismatch and closes, leaving `first` unread.
    pub fn handshake_with(mut stream: UnixStream, first: &Request) -> Result<(Client, io::Result<Response>), ConnectError> {
        use std::io::Write;
        let mut bytes = encode(&Request::Hello { version: PROTOCOL_VERSION }).map_err(ConnectError::Protocol)?;
        bytes.extend_from_slice(&encode(first).map_err(ConnectError::Protocol)?);
        stream.write_all(&bytes).map_err(ConnectError::Unavailable)?;
        let mut client = Client::welcome(stream)?;
        let answer = read_frame::<Response>(&mut client.stream);
        Ok((client, answer))
    }

    /// The handshake and `first` written as [`handshake_with`](Self::handshake_with)
    /// does, without waiting for either answer: both are read by
    /// [`finish_handshake`](Self::finish_handshake), or dropped by the
    /// next call. `daemon_pid` is the daemon expected to answer (the one
    /// the caller spoke to last); the welcome corrects it.
    pub fn handshake_posted(mut stream: UnixStream, first: &Request, daemon_pid: i32) -> io::Result<Client> {
        use std::io::Write;
        let mut bytes = encode(&Request::Hello { version: PROTOCOL_VERSION })?;
        bytes.extend_from_slice(&encode(first)?);
        stream.write_all(&bytes)?;
        Ok(Client { stream, daemon_pid, owed: 1, is_welcome_owed: true })
    }

    /// Whether the handshake of [`handshake_posted`](Self::handshake_posted)
    /// is still unanswered.
    pub fn is_welcome_owed(&self) -> bool {
        self.is_welcome_owed
    }

    /// Reads the answers to a [`handshake_posted`](Self::handshake_posted):
    /// the welcome (which sets `daemon_pid`) and the answer to its request.
    pub fn finish_handshake(&mut self) -> Result<Response, ConnectError> {
        if !self.is_welcome_owed {
            return Err(ConnectError::Protocol(io::Error::other("no handshake is pending")));
        }
        self.is_welcome_owed = false;
        self.daemon_pid = read_welcome(&mut self.stream)?;
        let answer = read_frame::<Response>(&mut self.stream).map_err(ConnectError::Protocol)?;
        self.owed = self.owed.saturating_sub(1);
        Ok(answer)
    }

    /// Reads the answer to the Hello.
    fn welcome(mut stream: UnixStream) -> Result<Client, ConnectError> {
        let daemon_pid = read_welcome(&mut stream)?;
        Ok(Client { stream, daemon_pid, owed: 0, is_welcome_owed: false })
    }

    /// Sends one request and waits for its response.
    pub fn call(&mut self, req: &Request) -> io::Result<Response> {
        self.call_with(req, |_, _| Ok(0))
    }

    /// Like [`call`](Self::call), but `early` may collect the first bytes of
    /// the response before the client blocks: it gets the stream and a
    /// buffer, and returns how many bytes it placed there (0: none yet). The
    /// runtime passes a short bounded spin on a non-blocking receive, which
    /// saves a sleep and a wake-up when the daemon answers within it.
    pub fn call_with(
        &mut self,
        req: &Request,
        early: impl FnOnce(&UnixStream, &mut [u8]) -> io::Result<usize>,
    ) -> io::Result<Response> {
        self.start_call(req)?;
        self.finish_call(early)
    }

    /// The first half of a [`call`](Self::call): sends the request. Its
    /// answer is read by [`finish_call`](Self::finish_call), which must
    /// come before any other request on this client; the caller may work
    /// meanwhile (the runtime forks the host process while the daemon
    /// reserves the child's pid).
    pub fn start_call(&mut self, req: &Request) -> io::Result<()> {
        write_frame(&mut self.stream, req)
    }

    /// The second half of a call begun with [`start_call`](Self::start_call):
    /// reads the answers owed for posted requests, then the call's own
    /// (`early` as in [`call_with`](Self::call_with)).
    pub fn finish_call(&mut self, early: impl FnOnce(&UnixStream, &mut [u8]) -> io::Result<usize>) -> io::Result<Response> {
        if self.is_welcome_owed {
            self.settle()?;
        }
        // The owed answers and this call's own are read together: a fork
        // owes two (its Forked, and the Reaped of the child before), and
        // reading each on its own cost two receives apiece.
        let owed = std::mem::take(&mut self.owed);
        read_response(&mut self.stream, owed, early)
    }

    /// Sends a request without waiting for its answer, which the next
    /// [`call`](Self::call) (or [`settle`](Self::settle)) reads and drops.
    /// Requests on one connection are answered in order, so a later call
    /// on this connection sees its effect; another connection may not yet.
    pub fn post(&mut self, req: &Request) -> io::Result<()> {
        write_frame(&mut self.stream, req)?;
        self.owed += 1;
        Ok(())
    }

    /// Reads and drops the answers still owed for posted requests (before
    /// the connection changes hands, e.g. across execve).
    pub fn settle(&mut self) -> io::Result<()> {
        if self.is_welcome_owed {
            self.finish_handshake().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        }
        while self.owed > 0 {
            read_frame::<Response>(&mut self.stream)?;
            self.owed -= 1;
        }
        Ok(())
    }

    /// How many answers are owed for posted requests.
    pub fn owed(&self) -> u32 {
        self.owed
    }

    /// The raw fd, so a task can keep its connection across execve.
    pub fn stream(&self) -> &UnixStream {
        &self.stream
    }

    pub fn from_stream(stream: UnixStream, daemon_pid: i32) -> Client {
        Client { stream, daemon_pid, owed: 0, is_welcome_owed: false }
    }

    /// A connection whose [`handshake_posted`](Self::handshake_posted) is
    /// still unanswered, handed over from another process (across execve).
    pub fn from_stream_handshake_owed(stream: UnixStream, daemon_pid: i32) -> Client {
        Client { stream, daemon_pid, owed: 1, is_welcome_owed: true }
    }
}

/// Reads the answer to a Hello: the daemon's pid, or why it refused.
fn read_welcome(stream: &mut UnixStream) -> Result<i32, ConnectError> {
    match read_frame::<Response>(stream) {
        Ok(Response::Welcome { daemon_pid, .. }) => Ok(daemon_pid),
        Ok(Response::VersionMismatch { daemon_version }) => {
            Err(ConnectError::VersionMismatch { daemon: daemon_version, client: PROTOCOL_VERSION })
        }
        Ok(other) => Err(ConnectError::Protocol(io::Error::new(io::ErrorKind::InvalidData, format!("{other:?}")))),
        Err(e) => Err(ConnectError::Protocol(e)),
    }
}

/// Reads `owed` answers to posted requests (checked, then dropped) and the
/// response after them, usually with a single receive call into a buffer
/// on the stack: the first read asks for more than a prefix, and the rest
/// of a longer body is read exactly. Nothing beyond the response is ever
/// pending on the socket (a request is sent only after the previous
/// call's answer was read).
fn read_response(
    stream: &mut UnixStream,
    mut owed: u32,
    early: impl FnOnce(&UnixStream, &mut [u8]) -> io::Result<usize>,
) -> io::Result<Response> {
    use std::io::Read;
    // Most answers (a pid, Ok, an errno with its message) fit here.
    let mut small = [0u8; 512];
    let mut got = early(stream, &mut small)?.min(small.len());
    loop {
        while got < 4 {
            match stream.read(&mut small[got..]) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the daemon closed the connection")),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let len = crate::frame::body_len([small[0], small[1], small[2], small[3]])?;
        let total = 4 + len;
        if total > small.len() {
            // A long body: no other frame has been read past it (the
            // buffer holds less than this one).
            let mut buf = Vec::with_capacity(total);
            buf.extend_from_slice(&small[..got]);
            buf.resize(total, 0);
            stream.read_exact(&mut buf[got..])?;
            let r = crate::frame::decode::<Response>(&buf[4..])?;
            if owed == 0 {
                return Ok(r);
            }
            owed -= 1;
            got = 0;
            continue;
        }
        if got < total {
            stream.read_exact(&mut small[got..total])?;
            got = total;
        }
        let r = crate::frame::decode::<Response>(&small[4..total])?;
        if owed == 0 {
            if got > total {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "the daemon sent more than one frame"));
            }
            return Ok(r);
        }
        owed -= 1;
        small.copy_within(total..got, 0);
        got -= total;
    }
}

/// Starts `<exe> daemon serve --detach`, which returns once a daemon
/// listens (this one, or one that won the race to the lock), or fails with
/// the reason on stderr, which becomes the error's message.
pub fn spawn_daemon(exe: &Path) -> io::Result<()> {
    let out = std::process::Command::new(exe)
        .args(["daemon", "serve", "--detach"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {} daemon serve: {e}", exe.display())))?;
    if out.status.success() {
        return Ok(());
    }
    let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
    Err(io::Error::other(if msg.is_empty() { format!("the daemon exited with {}", out.status) } else { msg }))
}

/// Connects to the user's daemon, starting it when none listens.
///
/// `start` launches the daemon detached (the `mactux` binary spawns
/// `mactux daemon serve --detach`); it may be called by several clients at
/// once: the daemon's exclusive lock on `state_dir/mactuxd.lock` lets exactly
/// one of them serve, the others exit quietly. After `start` this retries the
/// connection with short sleeps for up to [`START_TIMEOUT`]. Blocking, no
/// threads: safe for the runtime to call.
pub fn connect_or_start(uid: u32, start: impl Fn() -> io::Result<()>) -> Result<Client, ConnectError> {
    let socket = socket_path(uid);
    match Client::connect(&socket) {
        Err(ConnectError::Unavailable(_)) => {}
        other => return other,
    }
    start().map_err(|e| ConnectError::Unavailable(io::Error::new(e.kind(), format!("starting mactuxd failed: {e}"))))?;
    let deadline = Instant::now() + START_TIMEOUT;
    let mut delay = Duration::from_millis(5);
    loop {
        match Client::connect(&socket) {
            Err(ConnectError::Unavailable(e)) => {
                if Instant::now() >= deadline {
                    return Err(ConnectError::Unavailable(io::Error::new(
                        e.kind(),
                        format!("mactuxd was started but {} did not answer within {:?}: {e}", socket.display(), START_TIMEOUT),
                    )));
                }
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

/// The per-user state directory (mode 0700; the daemon's socket, lock and log):
/// `$MACTUX_STATE_DIR` when set (tests), else `$XDG_RUNTIME_DIR/mactux` where
/// set, else `~/Library/Application Support/MacTux` on macOS (launchd's socket
/// needs a path that survives /tmp cleaning), else `/tmp/mactux-<uid>`.
pub fn state_dir(uid: u32) -> PathBuf {
    if let Some(d) = std::env::var_os("MACTUX_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("mactux");
    }
    if cfg!(target_os = "macos") {
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            return PathBuf::from(home).join("Library/Application Support/MacTux");
        }
    }
    PathBuf::from(format!("/tmp/mactux-{uid}"))
}

pub fn socket_path(uid: u32) -> PathBuf {
    state_dir(uid).join("mactuxd.sock")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::encode;
    use std::io::Write;

    fn frames(rs: &[Response]) -> Vec<u8> {
        rs.iter().flat_map(|r| encode(r).unwrap()).collect()
    }

    #[test]
    fn owed_answers_and_the_response_are_read_together() {
        let (mut ours, mut theirs) = UnixStream::pair().unwrap();
        let long = Response::Error { errno: 5, msg: "x".repeat(2000) };
        // Owed answers short and long, then the response, in one write.
        theirs.write_all(&frames(&[Response::Ok, long.clone(), Response::Pid(9), Response::Pid(42)])).unwrap();
        assert_eq!(read_response(&mut ours, 3, |_, _| Ok(0)).unwrap(), Response::Pid(42));
        // Trickling in, and a long response after short owed ones.
        let bytes = frames(&[Response::Ok, long.clone()]);
        let writer = std::thread::spawn(move || {
            for chunk in bytes.chunks(3) {
                theirs.write_all(chunk).unwrap();
            }
            theirs
        });
        assert_eq!(read_response(&mut ours, 1, |_, _| Ok(0)).unwrap(), long);
        let mut theirs = writer.join().unwrap();
        // More than the response: an error, as before.
        theirs.write_all(&frames(&[Response::Ok, Response::Ok])).unwrap();
        assert!(read_response(&mut ours, 0, |_, _| Ok(0)).is_err());
        // A connection closed before the response.
        let (mut ours, mut theirs) = UnixStream::pair().unwrap();
        theirs.write_all(&frames(&[Response::Ok])).unwrap();
        drop(theirs);
        assert_eq!(read_response(&mut ours, 1, |_, _| Ok(0)).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }
}
