//! A socket open file: a host socket plus what Linux knows of it that the
//! host cannot tell (the guest's name for a Unix address, whether a
//! timeout was set, SO_PASSCRED). read, write and poll go to the host
//! socket as for any host file; the socket calls themselves are in
//! `syscall/socket.rs` and reach this through `OpenFile::ops_as`.
//!
//! Lock order: `names` is a leaf lock, never held across a host call.

use super::file::{FileOps, OpenFile};
use super::poll::Ready;
use crate::abi::net::SockAddr;
use crate::error::{Error, Result};
use crate::host::{self, HostFd, HostStat};
use crate::task::lock;
use crate::uaccess;
use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

pub struct SocketFile {
    /// The host socket.
    pub host_fd: HostFd,
    /// Whether `host_fd` is closed with this (false for a description of
    /// a socket that a plain host file holds: inherited, or kept across
    /// execve).
    owns_fd: bool,
    /// Linux `AF_*`, base `SOCK_*` type (no flag bits) and protocol.
    pub domain: u32,
    pub ty: u32,
    pub protocol: u32,
    /// Guest-visible addresses of Unix sockets (the host's name for them
    /// is a host path).
    names: Mutex<Names>,
    /// SO_RCVTIMEO / SO_SNDTIMEO were set to a non-zero time: an
    /// interrupted call then fails with EINTR even under SA_RESTART
    /// (signal(7), `sock_intr_errno`).
    pub has_rcvtimeo: AtomicBool,
    pub has_sndtimeo: AtomicBool,
    /// SO_PASSCRED: received messages carry SCM_CREDENTIALS.
    pub passcred: AtomicBool,
    /// A blocking connect was interrupted and is still under way on the
    /// host; the restarted call waits for it instead of connecting again.
    pub connecting: AtomicBool,
    /// A host fd the socket's name needs while the socket lives, closed
    /// with it (`syscall/socket.rs`): the lock file of an emulated abstract
    /// name (its close frees the name), or the directory a Linux host bound
    /// a path through (`host::net::bind_unix_at`), which names it to peers.
    name_lock: Mutex<Option<HostFd>>,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if let Some(fd) = lock(&self.name_lock).take() {
            host::fs::close(fd);
        }
        if self.owns_fd {
            host::fs::close(self.host_fd);
        }
    }
}

fn herr(e: crate::abi::Errno) -> Error {
    Error::new(e)
}

impl FileOps for SocketFile {
    fn stat(&self, _f: &OpenFile) -> Result<HostStat> {
        let mut st = host::fs::fstat(self.host_fd).map_err(herr)?;
        super::meta::map_host_owner(&mut st);
        Ok(st)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn host_fd(&self) -> Option<HostFd> {
        Some(self.host_fd)
    }

    fn read(&self, _f: &OpenFile, buf: &mut [u8]) -> Result<usize> {
        host::fs::read(self.host_fd, buf).map_err(herr)
    }

    fn write(&self, _f: &OpenFile, buf: &[u8]) -> Result<usize> {
        host::fs::write(self.host_fd, buf).map_err(herr)
    }

    fn read_guest(&self, _f: &OpenFile, addr: u64, len: usize, off: Option<u64>) -> Result<usize> {
        if off.is_some() {
            return Err(crate::errno!(ESPIPE, "a socket has no position"));
        }
        uaccess::host_read(self.host_fd, addr, len)
    }

    fn write_guest(&self, _f: &OpenFile, addr: u64, len: usize, off: Option<u64>) -> Result<usize> {
        if off.is_some() {
            return Err(crate::errno!(ESPIPE, "a socket has no position"));
        }
        uaccess::host_write(self.host_fd, addr, len)
    }

    fn poll(&self, _f: &OpenFile, _events: u32, _wake: &mut Vec<(HostFd, u32)>) -> Ready {
        Ready::Host(self.host_fd)
    }

    fn pollable(&self) -> bool {
        true
    }
}

#[derive(Default, Clone)]
struct Names {
    local: Option<SockAddr>,
    peer: Option<SockAddr>,
}

impl SocketFile {
    /// A socket open file that owns `host_fd`.
    pub fn new(host_fd: HostFd, domain: u32, ty: u32, protocol: u32) -> SocketFile {
        let mut s = SocketFile::describe(host_fd, domain, ty, protocol);
        s.owns_fd = true;
        s
    }

    /// A description of a socket another open file owns.
    pub fn describe(host_fd: HostFd, domain: u32, ty: u32, protocol: u32) -> SocketFile {
        SocketFile {
            host_fd,
            owns_fd: false,
            domain,
            ty,
            protocol,
            names: Mutex::new(Names::default()),
            has_rcvtimeo: AtomicBool::new(false),
            has_sndtimeo: AtomicBool::new(false),
            passcred: AtomicBool::new(false),
            connecting: AtomicBool::new(false),
            name_lock: Mutex::new(None),
        }
    }

    /// The guest's name for the local address, when the runtime chose the
    /// host's (Unix paths and emulated abstract names).
    pub fn local_name(&self) -> Option<SockAddr> {
        lock(&self.names).local.clone()
    }

    pub fn set_local_name(&self, a: SockAddr) {
        lock(&self.names).local = Some(a);
    }

    pub fn peer_name(&self) -> Option<SockAddr> {
        lock(&self.names).peer.clone()
    }

    pub fn set_peer_name(&self, a: Option<SockAddr>) {
        lock(&self.names).peer = a;
    }

    pub fn keep_name_lock(&self, fd: HostFd) {
        if let Some(old) = lock(&self.name_lock).replace(fd) {
            crate::host::fs::close(old);
        }
    }

    pub fn is_stream(&self) -> bool {
        self.ty == crate::abi::net::n::SOCK_STREAM
    }

    pub fn timeout_set(&self, is_send: bool) -> bool {
        if is_send { self.has_sndtimeo.load(Ordering::Relaxed) } else { self.has_rcvtimeo.load(Ordering::Relaxed) }
    }
}
