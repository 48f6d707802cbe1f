//! Open files the runtime serves, in flight through SCM_RIGHTS.
//!
//! A host socket passes host fds only. A file backed by one host object
//! (a file, pipe, socket, terminal) goes as its host fd; one the runtime
//! serves itself (/dev/null, an eventfd, a timerfd, an epoll, a /proc
//! file...) has none, so it goes as a carrier: one end of a host socket
//! pair whose other end holds a [`Passport`] naming it. The sender keeps
//! the open file in its process's [`InFlight`] table under the passport's
//! token until the carrier is received or dropped; a receiver in the same
//! process (or in a fork child made while it was in flight) takes the very
//! open file back, so both fds share one open file description as on Linux.
//! Another process reopens the file by its path when it has one (/dev/null,
//! a /proc file); a kind with no path (eventfd, timerfd, signalfd, epoll,
//! inotify, pidfd) cannot cross to another process: the receiver gets no
//! fd for it and MSG_CTRUNC.
//!
//! A received Unix stream socket is a carrier when its unread data starts
//! with [`MAGIC`]. The passport is only ever peeked at, and the file stays
//! in the table until every copy of the carrier is closed: a recvmsg with
//! MSG_PEEK receives the fds, and the next recvmsg receives them again.

use super::file::OpenFile;
use crate::abi::gen as g;
use crate::abi::net::n;
use crate::error::Result;
use crate::host::{self, HostFd};
use crate::{errno, return_errno_with_message};
use serde::{Deserialize, Serialize};
use std::io::IoSliceMut;
use std::sync::Arc;

/// What a carrier's data starts with.
const MAGIC: &[u8; 16] = b"mactux:in-flight";
/// The longest passport read (a guest path is at most PATH_MAX).
const MAX_PASSPORT: usize = 8192;

/// What a carrier says of the open file it stands for.
#[derive(Serialize, Deserialize)]
struct Passport {
    /// The sender's [`InFlight::id`] and the file's token in it.
    table: u64,
    token: u64,
    /// The guest path to reopen it by in another process, if it has one.
    path: Option<String>,
    status: u32,
}

/// The open files a process sent as carriers and that are not received
/// yet: each with the sender's end of its carrier, which turns hung up
/// once the carrier is closed unread, and lets the file go then.
#[derive(Default)]
pub struct InFlight {
    /// Random, made at the image's first carrier (0 until then): a fork
    /// child shares it (and its copy of the table), another process or
    /// image never does.
    id: u64,
    next: u64,
    files: Vec<(u64, HostFd, Arc<OpenFile>)>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        for (_, end, _) in self.files.drain(..) {
            host::fs::close(end);
        }
    }
}

impl InFlight {
    /// Lets go of the files whose carriers were closed unread.
    fn sweep(&mut self) {
        if self.files.is_empty() {
            return;
        }
        // Nothing is ever written to the sender's end: it turns readable
        // (end of file) and hung up only when the last carrier is closed.
        let gone = g::POLLIN | g::POLLHUP | g::POLLERR;
        let mut req: Vec<(HostFd, u32, u32)> = self.files.iter().map(|f| (f.1, g::POLLIN, 0)).collect();
        if host::fs::poll(&mut req, 0).is_err() {
            return;
        }
        let mut i = 0;
        self.files.retain(|(_, end, _)| {
            let hung_up = req[i].2 & gone != 0;
            i += 1;
            if hung_up {
                host::fs::close(*end);
            }
            !hung_up
        });
    }

    /// The table's id, made now if it has none.
    fn id(&mut self) -> u64 {
        if self.id == 0 {
            let mut b = [0u8; 8];
            let _ = host::process::random(&mut b);
            // Never 0, which means "none yet".
            self.id = u64::from_ne_bytes(b) | 1;
        }
        self.id
    }

    fn get(&self, id: u64, token: u64) -> Option<Arc<OpenFile>> {
        if self.id == 0 || id != self.id {
            return None;
        }
        self.files.iter().find(|f| f.0 == token).map(|f| f.2.clone())
    }
}

/// A carrier for `file`: the host fd to pass in its place, which the
/// caller closes once sent.
pub fn carrier(file: &Arc<OpenFile>) -> Result<HostFd> {
    let herr = |e, what: &'static str| crate::error::Error::with_message(e, what);
    let (mine, theirs) = host::net::socketpair(n::AF_UNIX, n::SOCK_STREAM, 0, true).map_err(|e| herr(e, "cannot make the socket pair that carries an fd"))?;
    let p = crate::task::current();
    let mut table = crate::task::lock(&p.in_flight);
    table.sweep();
    let token = table.next;
    table.next += 1;
    let path = file.guest_path.starts_with('/').then(|| file.guest_path.clone());
    let passport = Passport { table: table.id(), token, path, status: file.status() };
    let mut data = MAGIC.to_vec();
    let body = bincode::serde::encode_to_vec(&passport, bincode::config::standard()).unwrap_or_default();
    data.extend_from_slice(&(body.len() as u32).to_le_bytes());
    data.extend_from_slice(&body);
    if let Err(e) = host::fs::write_all(mine, &data) {
        host::fs::close(mine);
        host::fs::close(theirs);
        return Err(herr(e, "cannot write what an fd's carrier says"));
    }
    table.files.push((token, mine, file.clone()));
    Ok(theirs)
}

/// Whether received host fd `h` (a socket, `ty` its Linux type) is a
/// carrier: then the open file it stands for (`h` is closed), or an error
/// when that cannot be had here; `None` for any other socket.
pub fn receive(h: HostFd, ty: u32, domain: u32) -> Option<Result<Arc<OpenFile>>> {
    if domain != n::AF_UNIX || ty != n::SOCK_STREAM {
        return None;
    }
    let mut head = [0u8; MAGIC.len()];
    let peeked = host::net::recv(h, &mut [IoSliceMut::new(&mut head)], n::MSG_PEEK | n::MSG_DONTWAIT, false, false, 0);
    if !matches!(peeked, Ok(r) if r.len == MAGIC.len()) || &head != MAGIC {
        return None;
    }
    let p = crate::task::current();
    let r = peek_passport(h).and_then(|pp| {
        if let Some(file) = crate::task::lock(&p.in_flight).get(pp.table, pp.token) {
            return Ok(file);
        }
        match pp.path {
            // Only a file of the trees the runtime serves (/dev, /proc):
            // what the passport names is the sender's word, and a host
            // file is passed as its host fd, never by name.
            Some(path) if super::mount::MOUNTS.mount_of(&path).fs.is_synthetic() => super::reopen(&path, pp.status).map(Arc::new),
            Some(_) => Err(errno!(EBADF, "a carried fd names no file the runtime serves")),
            None => Err(errno!(EBADF, "an fd the runtime serves with no path (eventfd, epoll...) cannot reach another process")),
        }
    });
    host::fs::close(h);
    // This may have been the carrier's last copy.
    crate::task::lock(&p.in_flight).sweep();
    Some(r)
}

/// Reads a carrier's passport without taking it (all of it was written
/// before the carrier was sent, so one peek sees it whole).
fn peek_passport(h: HostFd) -> Result<Passport> {
    let mut data = vec![0u8; MAX_PASSPORT];
    let got = host::net::recv(h, &mut [IoSliceMut::new(&mut data)], n::MSG_PEEK | n::MSG_DONTWAIT, false, false, 0)
        .map_err(|e| crate::error::Error::with_message(e, "cannot read a carried fd's passport"))?;
    let data = &data[..got.len];
    let head = MAGIC.len() + 4;
    let Some(len) = data.get(MAGIC.len()..head) else {
        return_errno_with_message!(EINVAL, "a carried fd's passport is cut short");
    };
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let Some(body) = data.get(head..head.saturating_add(len)) else {
        return_errno_with_message!(EINVAL, "a carried fd's passport is cut short");
    };
    let (pp, _) = bincode::serde::decode_from_slice(body, bincode::config::standard()).map_err(|_| errno!(EINVAL, "a carried fd's passport does not decode"))?;
    Ok(pp)
}
