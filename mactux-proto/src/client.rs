//! The blocking client the runtime uses: one connection per task.
//!
//! Plain `std` I/O on a Unix socket, usable from the runtime's syscall trap
//! (no async runtime, no threads). Every call is one request frame and one
//! response frame.

use crate::frame::{read_frame, write_frame};
use crate::{Request, Response, PROTOCOL_VERSION};
use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

pub struct Client {
    stream: UnixStream,
    pub daemon_pid: i32,
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
        let mut stream = UnixStream::connect(socket).map_err(ConnectError::Unavailable)?;
        write_frame(&mut stream, &Request::Hello { version: PROTOCOL_VERSION }).map_err(ConnectError::Unavailable)?;
        match read_frame::<Response>(&mut stream) {
            Ok(Response::Welcome { daemon_pid, .. }) => Ok(Client { stream, daemon_pid }),
            Ok(Response::VersionMismatch { daemon_version }) => {
                Err(ConnectError::VersionMismatch { daemon: daemon_version, client: PROTOCOL_VERSION })
            }
            Ok(other) => Err(ConnectError::Protocol(io::Error::new(io::ErrorKind::InvalidData, format!("{other:?}")))),
            Err(e) => Err(ConnectError::Protocol(e)),
        }
    }

    /// Sends one request and waits for its response.
    pub fn call(&mut self, req: &Request) -> io::Result<Response> {
        write_frame(&mut self.stream, req)?;
        read_frame(&mut self.stream)
    }

    /// The raw fd, so a task can keep its connection across execve.
    pub fn stream(&self) -> &UnixStream {
        &self.stream
    }

    pub fn from_stream(stream: UnixStream, daemon_pid: i32) -> Client {
        Client { stream, daemon_pid }
    }
}

/// The per-user state directory: `$XDG_RUNTIME_DIR/mactux` where set, else
/// `~/Library/Application Support/MacTux` on macOS, else `/tmp/mactux-<uid>`.
pub fn state_dir(uid: u32) -> PathBuf {
    if let Some(d) = std::env::var_os("MACTUX_STATE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR") {
        return PathBuf::from(d).join("mactux");
    }
    PathBuf::from(format!("/tmp/mactux-{uid}"))
}

pub fn socket_path(uid: u32) -> PathBuf {
    state_dir(uid).join("mactuxd.sock")
}
