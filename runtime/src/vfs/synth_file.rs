//! Open files of the synthetic trees the runtime serves (/proc, /dev's
//! directories and links): snapshots of generated content, listings, and
//! `O_PATH` descriptors of synthetic nodes.

use super::file::{seek_within, FileOps, OpenFile};
use super::{DirEnt, Synth};
use crate::abi::gen as g;
use crate::error::Result;
use crate::host::HostStat;
use crate::task::lock;
use crate::{errno, uaccess};
use std::any::Any;
use std::sync::Mutex;

/// A synthetic file: a snapshot taken at open and taken again whenever a
/// later read starts from offset 0, as Linux's seq_file generates a /proc
/// file anew on each read from the start (top and vmstat keep /proc/stat
/// open and read it from the start every interval).
pub struct SynthSnapshot(Mutex<Snapshot>);

struct Snapshot {
    data: Vec<u8>,
    /// Set once a read has used `data`; the next read from offset 0 takes a
    /// fresh copy.
    used: bool,
}

impl SynthSnapshot {
    pub fn new(data: Vec<u8>) -> SynthSnapshot {
        SynthSnapshot(Mutex::new(Snapshot { data, used: false }))
    }

    /// Copies the bytes from `off`, taking a fresh snapshot first when a
    /// read starts again from the beginning.
    fn read_at(&self, f: &OpenFile, buf: &mut [u8], off: u64) -> Result<usize> {
        // The fresh content is made with no lock of this file held (it may
        // read this file's own position and flags).
        let fresh = if off == 0 && lock(&self.0).used {
            match super::synth_entry(&f.guest_path, true) {
                Some(Ok(Synth::File(fresh))) => Some(fresh),
                // The task behind /proc/PID has gone: Linux fails the read.
                Some(Err(_)) => return Err(errno!(ESRCH, "the task of this /proc file has exited")),
                _ => None,
            }
        } else {
            None
        };
        let mut snap = lock(&self.0);
        if let Some(data) = fresh {
            snap.data = data;
        }
        snap.used = true;
        let start = off.min(snap.data.len() as u64) as usize;
        let n = buf.len().min(snap.data.len() - start);
        buf[..n].copy_from_slice(&snap.data[start..start + n]);
        Ok(n)
    }
}

impl FileOps for SynthSnapshot {
    fn stat(&self, f: &OpenFile) -> Result<HostStat> {
        Ok(synth_stat(&f.guest_path, g::S_IFREG | synth_file_mode(&f.guest_path), 0))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn read(&self, f: &OpenFile, buf: &mut [u8]) -> Result<usize> {
        // `pos` is not held while the content is made again: the file may
        // describe itself (/proc/self/fdinfo/N of fd N), and making it reads
        // this very `pos`.
        let off = *lock(&f.pos);
        let n = self.read_at(f, buf, off)?;
        *lock(&f.pos) = off + n as u64;
        Ok(n)
    }

    fn pread(&self, f: &OpenFile, buf: &mut [u8], off: u64) -> Result<usize> {
        self.read_at(f, buf, off)
    }

    /// A fresh snapshot taken by the read (from offset 0) may be larger than
    /// the last one: leave room for growth.
    fn read_bound(&self) -> usize {
        lock(&self.0).data.len().saturating_mul(2).max(64 * 1024)
    }

    /// Synthetic files take small writes (/proc/PID/comm): a copy of the
    /// guest's bytes, bounded as Linux's /proc write handlers bound what
    /// they read.
    fn write(&self, f: &OpenFile, buf: &[u8]) -> Result<usize> {
        super::synth_write(&f.guest_path, buf)
    }

    fn pwrite(&self, _f: &OpenFile, _buf: &[u8], _off: u64) -> Result<usize> {
        Err(errno!(EINVAL, "synthetic files take writes at their position only"))
    }

    fn seek(&self, f: &OpenFile, off: i64, whence: u32) -> Result<i64> {
        let len = lock(&self.0).data.len() as i64;
        seek_within(&f.pos, len, off, whence)
    }

    fn ioctl(&self, _f: &OpenFile, req: u32, arg: u64) -> Result<u64> {
        if req == linux_raw_sys::ioctl::FIONREAD {
            // Linux reports i_size - f_pos; synthetic /proc files have size 0.
            uaccess::write(arg, &0i32)?;
            return Ok(0);
        }
        Err(errno!(ENOTTY, "file does not support this ioctl"))
    }
}

/// A synthetic directory; its listing is taken again whenever reading
/// starts from the beginning, as /proc generates it at readdir time (also
/// the first time: /proc/self/fd must list the fd being read).
pub struct SynthDir(Mutex<Vec<DirEnt>>);

impl SynthDir {
    pub fn new(entries: Vec<DirEnt>) -> SynthDir {
        SynthDir(Mutex::new(entries))
    }
}

impl FileOps for SynthDir {
    fn stat(&self, f: &OpenFile) -> Result<HostStat> {
        Ok(synth_stat(&f.guest_path, g::S_IFDIR | 0o555, 0))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn is_dir(&self) -> bool {
        true
    }

    fn seek(&self, f: &OpenFile, off: i64, whence: u32) -> Result<i64> {
        let len = lock(&self.0).len() as i64;
        seek_within(&f.pos, len, off, whence)
    }

    fn read_dir(&self, f: &OpenFile, fits: &mut dyn FnMut(&DirEnt, i64) -> bool) -> Result<usize> {
        let mut pos = lock(&f.pos);
        let mut entries = lock(&self.0);
        if *pos == 0 {
            // (The listing takes only the fd table's lock, which the
            // getdents caller has already released.)
            if let Some(Ok(Synth::Dir(fresh))) = super::synth_entry(&f.guest_path, true) {
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
}

/// An `O_PATH` descriptor of a synthetic node.
pub struct SynthPath(pub Synth);

impl FileOps for SynthPath {
    fn stat(&self, f: &OpenFile) -> Result<HostStat> {
        Ok(synth_node_stat(&f.guest_path, &self.0))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn is_dir(&self) -> bool {
        matches!(self.0, Synth::Dir(_))
    }
}

/// The permission bits of a synthetic file: 0644 for the few Linux lets a
/// task write, 0444 for the rest.
fn synth_file_mode(path: &str) -> u32 {
    if super::synth_is_writable(path) { 0o644 } else { 0o444 }
}

/// The owner of a synthetic node as Linux has it: root owns /dev, /sys,
/// /proc and anonymous inodes, whoever runs the task; a task's own
/// /proc/PID belongs to its effective ids. Another task's /proc/PID keeps
/// the host user's ids (every task there is the host user's).
fn synth_owner(path: &str) -> (u32, u32) {
    let Some(rest) = path.strip_prefix("/proc/") else { return (0, 0) };
    let first = rest.split('/').next().unwrap_or("");
    if first.is_empty() || rest == "self" || rest == "thread-self" {
        return (0, 0);
    }
    let p = crate::task::current();
    if first == "self" || first == "thread-self" || first.parse::<u32>().is_ok_and(|pid| pid == p.pid()) {
        let c = p.cred();
        return (c.euid, c.egid);
    }
    if first.bytes().all(|b| b.is_ascii_digit()) {
        return (crate::host::process::uid(), crate::host::process::gid());
    }
    (0, 0)
}

/// Metadata for a synthetic node.
pub fn synth_stat(path: &str, mode: u32, rdev: u64) -> HostStat {
    let now = crate::host::time::clock_gettime(g::CLOCK_REALTIME).unwrap_or_default();
    let (uid, gid) = synth_owner(path);
    let is_dir = mode & g::S_IFMT == g::S_IFDIR;
    HostStat {
        dev: super::makedev(0, super::mount::MOUNTS.synthetic_mount_of(path).dev_minor),
        ino: super::synth_ino(path),
        mode,
        nlink: if is_dir { 2 } else { 1 },
        uid,
        gid,
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

/// `fstat` of an anonymous-inode file (eventfd, epoll, timerfd, signalfd,
/// inotify, pidfd): mode 0600 with no file type, as Linux's anon_inodefs
/// gives.
pub fn anon_stat(name: &str) -> HostStat {
    let mut st = synth_stat(name, 0o600, 0);
    st.dev = super::makedev(0, 14);
    st.ino = 1;
    st.blksize = 4096;
    st
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
        Synth::Dev(d) => d.node_stat(),
        Synth::HostPath(_) => synth_stat(path, g::S_IFREG | 0o444, 0),
        Synth::NsLink { .. } | Synth::NodeLink { .. } => synth_stat(path, g::S_IFLNK | 0o777, 0),
        Synth::FdLink { target, .. } => {
            let mut st = synth_stat(path, g::S_IFLNK | 0o700, 0);
            st.size = target.len() as i64;
            st
        }
    }
}
