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
//! Another process makes the file again from the kind's own state when the
//! kind can cross (`FileOps::crosses_processes`: an eventfd or a timerfd,
//! whose page and pipes the two processes then share as a fork's do, a
//! pidfd, a signalfd): the passport holds the state, and the host fds the
//! state needs travel in the same message right after the carrier. Other
//! files are reopened by their path when they have one (/dev/null, a /proc
//! file); an epoll or inotify fd cannot cross to another process: the
//! receiver gets no fd for it and MSG_CTRUNC.
//!
//! A received Unix stream socket is a carrier when its unread data starts
//! with [`MAGIC`]. The passport is only ever peeked at, and the file stays
//! in the table until every copy of the carrier is closed: a recvmsg with
//! MSG_PEEK receives the fds, and the next recvmsg receives them again.

use super::file::OpenFile;
use crate::handover::KindState;
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
    /// Its guest path (or name, as /proc/PID/fd shows it): another
    /// process reopens it by this path when it is one.
    name: String,
    status: u32,
    /// The kind's state, to make it again in another process; its host fds
    /// are the ones that follow the carrier in the message.
    state: Option<KindState>,
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
/// caller closes once sent, and the host fds of the file's own state to
/// pass right after it (the file's, not to be closed). `room` is how many
/// more host fds the message may take: a state that does not fit is left
/// out, and another process then cannot make the file.
pub fn carrier(file: &Arc<OpenFile>, room: usize) -> Result<(HostFd, Vec<HostFd>)> {
    let herr = |e, what: &'static str| crate::error::Error::with_message(e, what);
    let state = file.state_for_another_process().filter(|k| k.host_fds.len() <= room);
    let extra = state.as_ref().map(|k| k.host_fds.clone()).unwrap_or_default();
    let (mine, theirs) = host::net::socketpair(n::AF_UNIX, n::SOCK_STREAM, 0, true).map_err(|e| herr(e, "cannot make the socket pair that carries an fd"))?;
    let p = crate::task::current();
    let mut table = crate::task::lock(&p.in_flight);
    table.sweep();
    let token = table.next;
    table.next += 1;
    let passport = Passport { table: table.id(), token, name: file.guest_path.clone(), status: file.status(), state };
    let mut data = MAGIC.to_vec();
    let body = bincode::serde::encode_to_vec(&passport, bincode::config::standard()).unwrap_or_default();
    data.extend_from_slice(&(body.len() as u32).to_le_bytes());
    data.extend_from_slice(&body);
    if data.len() > MAX_PASSPORT {
        host::fs::close(mine);
        host::fs::close(theirs);
        return_errno_with_message!(ENOBUFS, "an fd's carrier would say too much");
    }
    if let Err(e) = host::fs::write_all(mine, &data) {
        host::fs::close(mine);
        host::fs::close(theirs);
        return Err(herr(e, "cannot write what an fd's carrier says"));
    }
    table.files.push((token, mine, file.clone()));
    Ok((theirs, extra))
}

/// A carrier that arrived, its passport read; it closes its host fd when
/// dropped.
pub struct Carried {
    h: HostFd,
    passport: Result<Passport>,
}

impl Drop for Carried {
    fn drop(&mut self) {
        host::fs::close(self.h);
        // This may have been the carrier's last copy.
        crate::task::lock(&crate::task::current().in_flight).sweep();
    }
}

impl Carried {
    /// Whether received host fd `h` is a carrier (a Unix stream socket whose
    /// unread data starts with [`MAGIC`]): then the carrier, which owns `h`
    /// from now on.
    pub fn arrived(h: HostFd) -> Option<Carried> {
        if host::net::socket_domain(h).ok()? != n::AF_UNIX || host::net::socket_type(h).ok()? != n::SOCK_STREAM {
            return None;
        }
        let mut head = [0u8; MAGIC.len()];
        let peeked = host::net::recv(h, &mut [IoSliceMut::new(&mut head)], n::MSG_PEEK | n::MSG_DONTWAIT, false, false, 0);
        if !matches!(peeked, Ok(r) if r.len == MAGIC.len()) || &head != MAGIC {
            return None;
        }
        Some(Carried { h, passport: peek_passport(h) })
    }

    /// How many of the host fds that came after the carrier are its file's.
    pub fn extra_fds(&self) -> usize {
        self.passport.as_ref().ok().and_then(|p| p.state.as_ref()).map_or(0, |k| k.host_fds.len())
    }

    /// What the carrier stands for, or an error when it cannot be had
    /// here. `extra` are the host fds that came with it
    /// ([`Carried::extra_fds`]), taken over: handed on with the state that
    /// names them, closed otherwise.
    pub fn open(mut self, extra: Vec<HostFd>) -> Result<Arrived> {
        let close_all = |fds: &[HostFd]| fds.iter().for_each(|&h| host::fs::close(h));
        let pp = match core::mem::replace(&mut self.passport, Err(errno!(EBADF))) {
            Ok(pp) => pp,
            Err(e) => {
                close_all(&extra);
                return Err(e);
            }
        };
        let p = crate::task::current();
        if let Some(file) = crate::task::lock(&p.in_flight).get(pp.table, pp.token) {
            close_all(&extra);
            return Ok(Arrived::File(file));
        }
        if let Some(mut state) = pp.state {
            if state.host_fds.len() != extra.len() {
                close_all(&extra);
                return_errno_with_message!(EBADF, "a carried fd came without the host fds its state names");
            }
            state.arrived_with(&extra);
            return Ok(Arrived::State { state, name: pp.name, status: pp.status });
        }
        close_all(&extra);
        if !pp.name.starts_with('/') {
            return_errno_with_message!(EBADF, "an fd the runtime serves with no path (epoll, inotify) cannot reach another process");
        }
        // Only a file of the trees the runtime serves (/dev, /proc): what
        // the passport names is the sender's word, and a host file is
        // passed as its host fd, never by name.
        if !super::mount::MOUNTS.mount_of(&pp.name).fs.is_synthetic() {
            return_errno_with_message!(EBADF, "a carried fd names no file the runtime serves");
        }
        super::reopen(&pp.name, pp.status).map(|f| Arrived::File(Arc::new(f)))
    }
}

/// What a carrier brought ([`Carried::open`]).
pub enum Arrived {
    /// The open file itself (same process), or the same /dev or /proc file
    /// opened again.
    File(Arc<OpenFile>),
    /// The state of a kind to make again here, its host fds renumbered to
    /// this process's (`KindState::arrived_with`); its guest name and status.
    /// The kind's restore function (`syscall::EXEC_KINDS`) makes it; the
    /// host fds are the caller's until then. The state is the sender's
    /// word: the kind made must be one that crosses processes
    /// (`FileOps::crosses_processes`).
    State { state: KindState, name: String, status: u32 },
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A socket pair whose receiving end holds `data`.
    fn holding(data: &[u8]) -> (HostFd, HostFd) {
        let (a, b) = host::net::socketpair(n::AF_UNIX, n::SOCK_STREAM, 0, true).expect("socketpair");
        host::fs::write_all(a, data).expect("write");
        (a, b)
    }

    fn framed(body: &[u8], len: u32) -> Vec<u8> {
        let mut d = MAGIC.to_vec();
        d.extend_from_slice(&len.to_le_bytes());
        d.extend_from_slice(body);
        d
    }

    #[test]
    fn a_passport_cut_short_or_garbled_is_an_error_and_one_whole_reads_back() {
        let garbled = [0xffu8; 40];
        for data in [MAGIC.to_vec(), framed(b"abc", 100), framed(&garbled, garbled.len() as u32)] {
            let (a, b) = holding(&data);
            assert!(peek_passport(b).is_err());
            host::fs::close(a);
            host::fs::close(b);
        }
        let state = KindState::new("eventfd", &7u32, vec![5, 6]).expect("encodes");
        let pp = Passport { table: 9, token: 3, name: "anon_inode:[eventfd]".into(), status: 2, state: Some(state) };
        let body = bincode::serde::encode_to_vec(&pp, bincode::config::standard()).expect("encodes");
        let (a, b) = holding(&framed(&body, body.len() as u32));
        let back = peek_passport(b).expect("decodes");
        // Only peeked: it reads the same again.
        assert!(peek_passport(b).is_ok());
        assert_eq!((back.table, back.token, back.status), (9, 3, 2));
        assert_eq!(back.state.map(|k| (k.kind, k.host_fds)), Some(("eventfd".to_string(), vec![5, 6])));
        host::fs::close(a);
        host::fs::close(b);
    }
}
