//! Open file descriptions and what each kind does on read, write, seek, stat
//! and getdents.

use super::dev::DevKind;
use super::{DirEnt, Synth};
use crate::abi::gen as g;
use crate::error::{Error, Result};
use crate::host::{self, HostFd, HostStat};
use crate::task::lock;
use crate::{errno, return_errno};
use std::sync::Mutex;

pub enum FileKind {
    /// A file, directory, terminal or pipe of the host.
    Host { fd: HostFd, is_dir: bool },
    /// A synthetic file: a snapshot taken at open and taken again whenever
    /// a later read starts from offset 0, as Linux's seq_file generates a
    /// /proc file anew on each read from the start (top and vmstat keep
    /// /proc/stat open and read it from the start every interval).
    Bytes(Mutex<Snapshot>),
    /// A synthetic directory; its listing is taken again whenever reading
    /// starts from the beginning, as /proc generates it at readdir time
    /// (also the first time: /proc/self/fd must list the fd being read).
    SynthDir(Mutex<Vec<DirEnt>>),
    Dev(DevKind),
    /// `O_PATH` descriptor of a synthetic node.
    SynthPath(Synth),
}

pub struct Snapshot {
    data: Vec<u8>,
    /// Set once a read has used `data`; the next read from offset 0 takes a
    /// fresh copy.
    used: bool,
}

impl Snapshot {
    pub fn new(data: Vec<u8>) -> Snapshot {
        Snapshot { data, used: false }
    }
}

pub struct OpenFile {
    /// The guest path this was opened by (for /proc/self/fd and `*at` calls).
    pub guest_path: String,
    pub kind: FileKind,
    /// Linux status flags (`O_ACCMODE`, `O_APPEND`, `O_NONBLOCK`, `O_PATH`...).
    pub status: Mutex<u32>,
    /// File position for kinds the host does not track.
    pub pos: Mutex<u64>,
    /// Host directory stream position for getdents on host directories:
    /// entries already fetched but not yet handed to the guest.
    pub dir_pending: Mutex<Vec<host::HostDirent>>,
    /// The inode number the guest sees when it is not the host's (pipes
    /// numbered by the daemon's registry).
    pub ino: Option<u64>,
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        if let FileKind::Host { fd, .. } = self.kind {
            host::fs::close(fd);
        }
    }
}

fn herr(e: crate::abi::Errno) -> Error {
    Error::new(e)
}

impl OpenFile {
    pub fn new(guest_path: String, kind: FileKind, status: u32) -> OpenFile {
        OpenFile { guest_path, kind, status: Mutex::new(status), pos: Mutex::new(0), dir_pending: Mutex::new(Vec::new()), ino: None }
    }

    pub fn host_fd(&self) -> Option<HostFd> {
        match self.kind {
            FileKind::Host { fd, .. } => Some(fd),
            _ => None,
        }
    }

    pub fn is_dir(&self) -> bool {
        match &self.kind {
            FileKind::Host { is_dir, .. } => *is_dir,
            FileKind::SynthDir(_) => true,
            FileKind::SynthPath(Synth::Dir(_)) => true,
            _ => false,
        }
    }

    pub fn status(&self) -> u32 {
        *lock(&self.status)
    }

    fn is_path_only(&self) -> bool {
        self.status() & g::O_PATH != 0
    }

    /// EBADF for an `O_PATH` descriptor, which only names a file.
    pub fn require_not_path(&self) -> Result<()> {
        if self.is_path_only() {
            return_errno!(EBADF);
        }
        Ok(())
    }

    fn check_readable(&self) -> Result<()> {
        let st = self.status();
        if st & g::O_PATH != 0 || st & g::O_ACCMODE == g::O_WRONLY {
            return_errno!(EBADF);
        }
        if self.is_dir() {
            return_errno!(EISDIR);
        }
        Ok(())
    }

    pub fn check_writable(&self) -> Result<()> {
        let st = self.status();
        if st & g::O_PATH != 0 || st & g::O_ACCMODE == g::O_RDONLY {
            return_errno!(EBADF);
        }
        Ok(())
    }

    pub fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.check_readable()?;
        match &self.kind {
            FileKind::Host { fd, .. } => host::fs::read(*fd, buf).map_err(herr),
            FileKind::Bytes(snap) => {
                // `pos` is not held while the content is made again: the
                // file may describe itself (/proc/self/fdinfo/N of fd N),
                // and making it reads this very `pos`.
                let off = *lock(&self.pos);
                let n = self.read_snapshot(snap, buf, off)?;
                *lock(&self.pos) = off + n as u64;
                Ok(n)
            }
            FileKind::Dev(d) => d.read(buf),
            FileKind::SynthDir(_) | FileKind::SynthPath(_) => Err(errno!(EISDIR)),
        }
    }

    /// Copies a synthetic file's bytes from `off`, taking a fresh snapshot
    /// first when a read starts again from the beginning.
    fn read_snapshot(&self, snap: &Mutex<Snapshot>, buf: &mut [u8], off: u64) -> Result<usize> {
        // The fresh content is made with no lock of this file held (it may
        // read this file's own position and flags).
        let fresh = if off == 0 && lock(snap).used {
            match super::synth_entry(&self.guest_path, true) {
                Some(Ok(super::Synth::File(fresh))) => Some(fresh),
                // The task behind /proc/PID has gone: Linux fails the read.
                Some(Err(_)) => return Err(errno!(ESRCH, "the task of this /proc file has exited")),
                _ => None,
            }
        } else {
            None
        };
        let mut snap = lock(snap);
        if let Some(data) = fresh {
            snap.data = data;
        }
        snap.used = true;
        let start = off.min(snap.data.len() as u64) as usize;
        let n = buf.len().min(snap.data.len() - start);
        buf[..n].copy_from_slice(&snap.data[start..start + n]);
        Ok(n)
    }

    pub fn write(&self, buf: &[u8]) -> Result<usize> {
        self.check_writable()?;
        match &self.kind {
            FileKind::Host { fd, .. } => host::fs::write(*fd, buf).map_err(herr),
            FileKind::Dev(d) => d.write(buf),
            FileKind::Bytes(_) => super::synth_write(&self.guest_path, buf),
            FileKind::SynthDir(_) | FileKind::SynthPath(_) => Err(errno!(EBADF)),
        }
    }

    pub fn pread(&self, buf: &mut [u8], off: i64) -> Result<usize> {
        self.check_readable()?;
        if off < 0 {
            return_errno!(EINVAL);
        }
        match &self.kind {
            FileKind::Host { fd, .. } => host::fs::pread(*fd, buf, off).map_err(herr),
            FileKind::Bytes(snap) => self.read_snapshot(snap, buf, off as u64),
            FileKind::Dev(d) => d.read(buf),
            _ => Err(errno!(ESPIPE)),
        }
    }

    pub fn pwrite(&self, buf: &[u8], off: i64) -> Result<usize> {
        self.check_writable()?;
        if off < 0 {
            return_errno!(EINVAL);
        }
        match &self.kind {
            FileKind::Host { fd, .. } => host::fs::pwrite(*fd, buf, off).map_err(herr),
            FileKind::Dev(d) => d.write(buf),
            _ => Err(errno!(EINVAL)),
        }
    }

    /// `read` into the guest buffer `[addr, addr+len)`. A host file reads
    /// straight into it (the host kernel checks the buffer, so a racing
    /// munmap is EFAULT, and unread data stays in a pipe); data the runtime
    /// makes itself goes through a runtime buffer and the fault-safe copy.
    pub fn read_guest(&self, addr: u64, len: usize) -> Result<usize> {
        self.read_guest_at(addr, len, None)
    }

    /// `pread` into a guest buffer, as [`Self::read_guest`].
    pub fn pread_guest(&self, addr: u64, len: usize, off: i64) -> Result<usize> {
        self.read_guest_at(addr, len, Some(off))
    }

    fn read_guest_at(&self, addr: u64, len: usize, off: Option<i64>) -> Result<usize> {
        match (&self.kind, off) {
            (FileKind::Host { fd, .. }, None) => {
                self.check_readable()?;
                crate::uaccess::host_read(*fd, addr, len)
            }
            (FileKind::Host { fd, .. }, Some(off)) => {
                self.check_readable()?;
                if off < 0 {
                    return_errno!(EINVAL);
                }
                crate::uaccess::host_pread(*fd, addr, len, off)
            }
            (FileKind::Dev(d), _) => {
                self.check_readable()?;
                if off.is_some_and(|o| o < 0) {
                    return_errno!(EINVAL);
                }
                // /dev/zero and /dev/urandom fill any length, piece by piece.
                crate::uaccess::fill_guest(addr, len, |piece| d.read(piece))
            }
            _ => {
                // Synthetic files are small: one runtime buffer, then one
                // copy (the other kinds fail in `read`/`pread` as they should).
                crate::uaccess::check_writable(addr, len)?;
                let mut buf = vec![0u8; len.min(self.synthetic_len())];
                let n = match off {
                    None => self.read(&mut buf)?,
                    Some(off) => self.pread(&mut buf, off)?,
                };
                crate::uaccess::copy_to_guest(addr, &buf[..n])?;
                Ok(n)
            }
        }
    }

    /// An upper bound of what one read of a synthetic file returns.
    fn synthetic_len(&self) -> usize {
        match &self.kind {
            // A fresh snapshot taken by the read (from offset 0) may be
            // larger than the last one: leave room for growth.
            FileKind::Bytes(snap) => lock(snap).data.len().saturating_mul(2).max(64 * 1024),
            _ => 0,
        }
    }

    /// `write` from the guest buffer `[addr, addr+len)`: a host file takes
    /// it straight from guest memory, as [`Self::read_guest`].
    pub fn write_guest(&self, addr: u64, len: usize) -> Result<usize> {
        self.write_guest_at(addr, len, None)
    }

    /// `pwrite` from a guest buffer, as [`Self::write_guest`].
    pub fn pwrite_guest(&self, addr: u64, len: usize, off: i64) -> Result<usize> {
        self.write_guest_at(addr, len, Some(off))
    }

    fn write_guest_at(&self, addr: u64, len: usize, off: Option<i64>) -> Result<usize> {
        match (&self.kind, off) {
            (FileKind::Host { fd, .. }, None) => {
                self.check_writable()?;
                crate::uaccess::host_write(*fd, addr, len)
            }
            (FileKind::Host { fd, .. }, Some(off)) => {
                self.check_writable()?;
                if off < 0 {
                    return_errno!(EINVAL);
                }
                crate::uaccess::host_pwrite(*fd, addr, len, off)
            }
            (FileKind::Dev(d), _) => {
                self.check_writable()?;
                if off.is_some_and(|o| o < 0) {
                    return_errno!(EINVAL);
                }
                // The devices keep nothing: the buffer is checked, never copied.
                crate::uaccess::check_readable(addr, len)?;
                d.write_len(len)
            }
            // Synthetic files take small writes (/proc/PID/comm) and
            // directories none: a copy of the guest's bytes, bounded as
            // Linux's /proc write handlers bound what they read.
            _ => {
                let data = crate::uaccess::read_bytes(addr, len.min(crate::uaccess::BOUNCE_SIZE))?;
                match off {
                    None => self.write(&data),
                    Some(off) => self.pwrite(&data, off),
                }
            }
        }
    }

    pub fn seek(&self, off: i64, whence: u32) -> Result<i64> {
        if self.is_path_only() {
            return_errno!(EBADF);
        }
        match &self.kind {
            FileKind::Host { fd, .. } => {
                let r = host::fs::lseek(*fd, off, whence).map_err(herr)?;
                if self.is_dir() {
                    lock(&self.dir_pending).clear();
                }
                Ok(r)
            }
            FileKind::Dev(_) => Ok(0),
            FileKind::Bytes(_) | FileKind::SynthDir(_) => {
                let len = match &self.kind {
                    FileKind::Bytes(d) => lock(d).data.len() as i64,
                    FileKind::SynthDir(e) => lock(e).len() as i64,
                    _ => 0,
                };
                let mut pos = lock(&self.pos);
                let base = match whence {
                    g::SEEK_SET => 0,
                    g::SEEK_CUR => *pos as i64,
                    g::SEEK_END => len,
                    _ => return_errno!(EINVAL),
                };
                let new = base.checked_add(off).ok_or_else(|| errno!(EOVERFLOW))?;
                if new < 0 {
                    return_errno!(EINVAL);
                }
                *pos = new as u64;
                Ok(new)
            }
            FileKind::SynthPath(_) => Err(errno!(EBADF)),
        }
    }

    /// Linux `stat` of this open file.
    pub fn stat(&self) -> Result<HostStat> {
        match &self.kind {
            FileKind::Host { fd, .. } => host::fs::fstat(*fd).map_err(herr).map(|mut st| {
                if let Some(ino) = self.ino {
                    st.ino = ino;
                }
                st
            }),
            FileKind::Bytes(_) => Ok(synth_stat(&self.guest_path, g::S_IFREG | synth_file_mode(&self.guest_path), 0)),
            FileKind::SynthDir(_) => Ok(synth_stat(&self.guest_path, g::S_IFDIR | 0o555, 0)),
            FileKind::Dev(d) => Ok(d.stat()),
            FileKind::SynthPath(s) => Ok(synth_node_stat(&self.guest_path, s)),
        }
    }

    /// Returns the next directory entries, as many as `fits` accepts.
    /// `fits(entry)` returns false when the guest buffer is full.
    pub fn read_dir(&self, fits: &mut dyn FnMut(&DirEnt, i64) -> bool) -> Result<usize> {
        if self.is_path_only() {
            return_errno!(EBADF);
        }
        match &self.kind {
            FileKind::Host { fd, is_dir: true } => {
                let mut pending = lock(&self.dir_pending);
                let mut count = 0;
                loop {
                    if pending.is_empty() {
                        let mut more = host::fs::read_dir(*fd).map_err(herr)?;
                        if more.is_empty() {
                            return Ok(count);
                        }
                        more.reverse();
                        *pending = more;
                    }
                    let Some(e) = pending.last() else { return Ok(count) };
                    let ent = DirEnt { name: e.name.clone(), d_type: e.d_type, ino: e.ino };
                    if !fits(&ent, e.next) {
                        return Ok(count);
                    }
                    pending.pop();
                    count += 1;
                }
            }
            FileKind::SynthDir(entries) => {
                let mut pos = lock(&self.pos);
                let mut entries = lock(entries);
                if *pos == 0 {
                    // (The listing takes only the fd table's lock, which the
                    // getdents caller has already released.)
                    if let Some(Ok(super::Synth::Dir(fresh))) = super::synth_entry(&self.guest_path, true) {
                        *entries = fresh;
                    }
                }
                let mut count = 0;
                while let Some(e) = entries.get(*pos as usize) {
                    if !fits(e, *pos as i64 + 1) {
                        break;
                    }
                    *pos += 1;
                    count += 1;
                }
                Ok(count)
            }
            _ => Err(errno!(ENOTDIR)),
        }
    }
}

/// Metadata for a synthetic node.
/// The permission bits of a synthetic file: 0644 for the few Linux lets a
/// task write, 0444 for the rest.
fn synth_file_mode(path: &str) -> u32 {
    if super::synth_is_writable(path) { 0o644 } else { 0o444 }
}

pub fn synth_stat(path: &str, mode: u32, rdev: u64) -> HostStat {
    let now = crate::host::time::clock_gettime(g::CLOCK_REALTIME).unwrap_or_default();
    let is_dir = mode & g::S_IFMT == g::S_IFDIR;
    HostStat {
        dev: if path.starts_with("/dev") { super::makedev(0, 5) } else { super::makedev(0, 22) },
        ino: super::synth_ino(path),
        mode,
        nlink: if is_dir { 2 } else { 1 },
        uid: crate::host::process::uid(),
        gid: crate::host::process::gid(),
        rdev,
        size: 0,
        blksize: 1024,
        blocks: 0,
        atime: now,
        mtime: now,
        ctime: now,
        btime: None,
    }
}

pub fn synth_node_stat(path: &str, s: &Synth) -> HostStat {
    match s {
        Synth::Dir(_) => synth_stat(path, g::S_IFDIR | 0o555, 0),
        Synth::File(_) => synth_stat(path, g::S_IFREG | synth_file_mode(path), 0),
        Synth::Symlink(t) => {
            let mut st = synth_stat(path, g::S_IFLNK | 0o777, 0);
            st.size = t.len() as i64;
            st
        }
        Synth::Dev(d) => d.stat(),
        Synth::HostPath(_) => synth_stat(path, g::S_IFREG | 0o444, 0),
        Synth::FdLink { target, .. } => {
            let mut st = synth_stat(path, g::S_IFLNK | 0o700, 0);
            st.size = target.len() as i64;
            st
        }
    }
}
