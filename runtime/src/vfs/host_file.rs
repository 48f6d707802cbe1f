//! Open files that are one host object: a file, directory, pipe, FIFO,
//! terminal or socket of the host. Reads and writes go straight between the
//! host kernel and guest memory (the host checks the buffer, so a racing
//! munmap is EFAULT, and unread data stays in a pipe); the host answers
//! poll and blocks the poller.

use super::file::{FileOps, OpenFile};
use super::poll::Ready;
use super::DirEnt;
use crate::abi::gen as g;
use crate::error::{Error, Result};
use crate::host::{self, HostFd, HostStat};
use crate::task::lock;
use crate::uaccess;
use std::any::Any;
use std::sync::Mutex;

pub struct HostFile {
    fd: HostFd,
    is_dir: bool,
    /// A regular file or directory (`FileOps::never_sleeps`).
    never_sleeps: bool,
    /// Host directory stream position for getdents: entries already fetched
    /// but not yet handed to the guest.
    dir_pending: Mutex<Vec<host::HostDirent>>,
}

impl HostFile {
    /// Takes ownership of `fd`: it is closed with the last reference.
    pub fn new(fd: HostFd, is_dir: bool) -> HostFile {
        HostFile { fd, is_dir, never_sleeps: false, dir_pending: Mutex::new(Vec::new()) }
    }

    /// Takes ownership of `fd`, of a host file of type `mode & S_IFMT`.
    pub fn of_type(fd: HostFd, mode: u32) -> HostFile {
        let kind = mode & g::S_IFMT;
        let is_dir = kind == g::S_IFDIR;
        HostFile { fd, is_dir, never_sleeps: is_dir || kind == g::S_IFREG, dir_pending: Mutex::new(Vec::new()) }
    }
}

impl Drop for HostFile {
    fn drop(&mut self) {
        host::fs::close(self.fd);
    }
}

fn herr(e: crate::abi::Errno) -> Error {
    Error::new(e)
}

impl FileOps for HostFile {
    fn stat(&self, _f: &OpenFile) -> Result<HostStat> {
        let mut st = host::fs::fstat(self.fd).map_err(herr)?;
        super::meta::apply_fd(&mut st, self.fd);
        Ok(st)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn host_fd(&self) -> Option<HostFd> {
        Some(self.fd)
    }

    fn never_sleeps(&self) -> bool {
        self.never_sleeps
    }

    fn is_dir(&self) -> bool {
        self.is_dir
    }

    fn read(&self, _f: &OpenFile, buf: &mut [u8]) -> Result<usize> {
        host::fs::read(self.fd, buf).map_err(herr)
    }

    fn write(&self, _f: &OpenFile, buf: &[u8]) -> Result<usize> {
        host::fs::write(self.fd, buf).map_err(herr)
    }

    fn pread(&self, _f: &OpenFile, buf: &mut [u8], off: u64) -> Result<usize> {
        host::fs::pread(self.fd, buf, off as i64).map_err(herr)
    }

    fn pwrite(&self, _f: &OpenFile, buf: &[u8], off: u64) -> Result<usize> {
        host::fs::pwrite(self.fd, buf, off as i64).map_err(herr)
    }

    fn read_guest(&self, _f: &OpenFile, addr: u64, len: usize, off: Option<u64>) -> Result<usize> {
        match off {
            None => uaccess::host_read(self.fd, addr, len),
            Some(off) => uaccess::host_pread(self.fd, addr, len, off as i64),
        }
    }

    fn write_guest(&self, _f: &OpenFile, addr: u64, len: usize, off: Option<u64>) -> Result<usize> {
        match off {
            None => uaccess::host_write(self.fd, addr, len),
            Some(off) => uaccess::host_pwrite(self.fd, addr, len, off as i64),
        }
    }

    fn seek(&self, _f: &OpenFile, off: i64, whence: u32) -> Result<i64> {
        let r = host::fs::lseek(self.fd, off, whence).map_err(herr)?;
        if self.is_dir {
            lock(&self.dir_pending).clear();
        }
        Ok(r)
    }

    fn read_dir(&self, _f: &OpenFile, fits: &mut dyn FnMut(&DirEnt, i64) -> bool) -> Result<usize> {
        if !self.is_dir {
            return Err(crate::errno!(ENOTDIR));
        }
        let mut pending = lock(&self.dir_pending);
        let mut count = 0;
        loop {
            if pending.is_empty() {
                let mut more = host::fs::read_dir(self.fd).map_err(herr)?;
                if more.is_empty() {
                    return Ok(count);
                }
                more.reverse();
                *pending = more;
            }
            let Some(e) = pending.last() else { return Ok(count) };
            let d_type = super::meta::dirent_type(self.fd, &e.name, e.d_type);
            let ent = DirEnt { name: e.name.clone(), d_type, ino: e.ino };
            if !fits(&ent, e.next) {
                return Ok(count);
            }
            pending.pop();
            count += 1;
        }
    }

    fn poll(&self, _f: &OpenFile, _events: u32, _wake: &mut Vec<(HostFd, u32)>) -> Ready {
        Ready::Host(self.fd)
    }

    /// Pipes, FIFOs, terminals, sockets and devices have a poll method;
    /// regular files and directories do not.
    fn pollable(&self) -> bool {
        let Ok(st) = host::fs::fstat(self.fd) else { return false };
        !matches!(st.mode & g::S_IFMT, g::S_IFREG | g::S_IFDIR)
    }
}
