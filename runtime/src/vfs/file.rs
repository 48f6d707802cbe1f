//! Open file descriptions: [`OpenFile`] (what every kind shares: the guest
//! path, status flags, the file position) around a [`FileOps`] object (what
//! one kind does). The kinds of this tree: host files, directories, pipes and
//! terminals (`host_file.rs`), the synthetic files of /proc and /dev
//! (`synth_file.rs`, `dev.rs`); the event fds, epoll and sockets plug in the
//! same way from their own modules.
//!
//! A new kind implements [`FileOps`]: only `stat` and `as_any` are required;
//! every other operation has Linux's answer for a file that lacks it (EINVAL
//! for read/write, ESPIPE for pread and seek, ENOTTY for ioctl, ENOTDIR for
//! getdents, "always ready" for poll). Calls that belong to one kind
//! (readlink of an `O_PATH` symlink, mmap of a host file, the socket calls)
//! downcast with [`OpenFile::ops_as`]. A kind the runtime serves crosses
//! execve by `exec_state` (its state and host fds) and a restore function
//! listed in `syscall::EXEC_KINDS`; one whose state other processes share
//! after fork keeps it in a page of host shared memory (`SharedWords`).
//!
//! Lock order (task/mod.rs): `OpenFile.status`, then `OpenFile.pos`, then a
//! kind's own locks; none is held across a host call that may block, except
//! a host directory's `dir_pending` around its getdents.

use super::poll::Ready;
use super::DirEnt;
use crate::abi::gen as g;
use crate::error::Result;
use crate::host::{HostFd, HostStat};
use crate::task::lock;
use crate::uaccess;
use crate::{errno, return_errno};
use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub use super::host_file::HostFile;
pub use super::synth_file::{anon_stat, synth_node_stat, synth_stat, SynthDir, SynthPath, SynthSnapshot};

/// Any lock guard a fork holds (`FileOps::hold_for_fork`).
pub trait Held {}
impl<T: ?Sized> Held for T {}

/// The guards of per-file locks a fork holds.
pub type ForkHolds<'a> = Vec<Box<dyn Held + 'a>>;

/// `m`'s guard if `m` is free now (a poisoned lock is free too: its
/// holder is gone); None when another thread holds it.
pub fn try_hold<T>(m: &Mutex<T>) -> Option<std::sync::MutexGuard<'_, T>> {
    match m.try_lock() {
        Ok(g) => Some(g),
        Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

/// Adds `m`'s guard to `held` if `m` is free now (see [`try_hold`]).
pub fn hold<'a, T: 'a>(m: &'a Mutex<T>, held: &mut ForkHolds<'a>) -> bool {
    match try_hold(m) {
        Some(g) => {
            held.push(Box::new(g));
            true
        }
        None => false,
    }
}

/// What one kind of open file does. `f` is the open file description the
/// call came through (its status flags and position).
pub trait FileOps: Send + Sync + 'static {
    /// Linux `stat` of the open file.
    fn stat(&self, f: &OpenFile) -> Result<HostStat>;

    /// The object itself, for calls that belong to one kind.
    fn as_any(&self) -> &dyn Any;

    /// The host fd when the file is exactly one host object (a host file,
    /// directory, pipe, terminal or socket): handed to the host as is by
    /// the calls that have no meaning of their own here (fsync, flock, fchmod,
    /// mmap, terminal ioctls) and kept across execve.
    fn host_fd(&self) -> Option<HostFd> {
        None
    }

    fn is_dir(&self) -> bool {
        false
    }

    fn read(&self, _f: &OpenFile, _buf: &mut [u8]) -> Result<usize> {
        Err(errno!(EINVAL, "this file cannot be read"))
    }

    fn write(&self, _f: &OpenFile, _buf: &[u8]) -> Result<usize> {
        Err(errno!(EINVAL, "this file cannot be written"))
    }

    fn pread(&self, _f: &OpenFile, _buf: &mut [u8], _off: u64) -> Result<usize> {
        Err(errno!(ESPIPE, "this file has no position"))
    }

    fn pwrite(&self, _f: &OpenFile, _buf: &[u8], _off: u64) -> Result<usize> {
        Err(errno!(ESPIPE, "this file has no position"))
    }

    /// `read`/`pread` into the guest buffer `[addr, addr+len)`. The default
    /// reads into a runtime buffer and copies it with the fault-safe copy;
    /// host files read straight into guest memory instead.
    fn read_guest(&self, f: &OpenFile, addr: u64, len: usize, off: Option<u64>) -> Result<usize> {
        uaccess::check_writable(addr, len)?;
        let mut buf = vec![0u8; len.min(self.read_bound())];
        let n = match off {
            None => self.read(f, &mut buf)?,
            Some(off) => self.pread(f, &mut buf, off)?,
        };
        uaccess::copy_to_guest(addr, &buf[..n])?;
        Ok(n)
    }

    /// The most one read returns, for sizing the default `read_guest`'s
    /// buffer.
    fn read_bound(&self) -> usize {
        uaccess::BOUNCE_SIZE
    }

    /// `write`/`pwrite` from the guest buffer `[addr, addr+len)`. The
    /// default copies at most [`uaccess::BOUNCE_SIZE`] bytes first (a short
    /// write, as Linux's bounded writers give).
    fn write_guest(&self, f: &OpenFile, addr: u64, len: usize, off: Option<u64>) -> Result<usize> {
        let data = uaccess::read_bytes(addr, len.min(uaccess::BOUNCE_SIZE))?;
        match off {
            None => self.write(f, &data),
            Some(off) => self.pwrite(f, &data, off),
        }
    }

    fn seek(&self, _f: &OpenFile, _off: i64, _whence: u32) -> Result<i64> {
        Err(errno!(ESPIPE, "this file has no position"))
    }

    /// The next directory entries, as many as `fits` accepts (it returns
    /// false when the guest buffer is full).
    fn read_dir(&self, _f: &OpenFile, _fits: &mut dyn FnMut(&DirEnt, i64) -> bool) -> Result<usize> {
        Err(errno!(ENOTDIR))
    }

    /// An ioctl the kind understands (the generic ones, FIOCLEX, FIONCLEX
    /// and FIONBIO, are handled before this is asked).
    fn ioctl(&self, _f: &OpenFile, _req: u32, _arg: u64) -> Result<u64> {
        Err(errno!(ENOTTY, "file does not support this ioctl"))
    }

    /// Readiness for Linux poll `events` (POLLERR and POLLHUP are always
    /// of interest). A kind the runtime serves answers now, and adds to
    /// `wake` the host fds (with host poll events) that turn ready whenever
    /// its answer may change, so a poller can sleep on them (see
    /// `vfs/poll.rs`); a host object lets the host
    /// answer. The default: always ready to read and write, as Linux's
    /// files without a poll method are.
    fn poll(&self, _f: &OpenFile, events: u32, _wake: &mut Vec<(HostFd, u32)>) -> Ready {
        Ready::Now(events & (g::POLLIN | g::POLLOUT | g::POLLRDNORM | g::POLLWRNORM))
    }

    /// Whether the kind has a poll method of its own (Linux's `f_op->poll`):
    /// epoll_ctl refuses the others (regular files, directories, /proc and
    /// the memory devices) with EPERM, while poll and select call them
    /// always ready.
    fn pollable(&self) -> bool {
        false
    }

    /// Lines of its own that /proc/PID/fdinfo/N shows after the common
    /// ones (`Pid:` of a pidfd, the watches of an inotify fd), each ending
    /// in a newline.
    fn fdinfo(&self) -> String {
        String::new()
    }

    /// A new open file description of the same object, for an open of
    /// /proc/PID/fd/N that Linux answers by reopening the object itself
    /// (a memfd). None: the open shares this description.
    fn reopen(&self) -> Option<Box<dyn FileOps>> {
        None
    }

    /// How often the kind has woken its readers for something new (Linux's
    /// `wake_up` with EPOLLIN: an eventfd write, a signal queued for a
    /// signalfd, an inotify event queued), for a kind the runtime serves;
    /// an edge-triggered epoll registration reports again at each
    /// (syscall/epoll.rs), as Linux's `ep_poll_callback` readies it. The
    /// count is only compared; a kind that counts nothing keeps 0.
    fn read_wakeups(&self) -> u64 {
        0
    }

    /// For a kind that counts [`FileOps::read_wakeups`]: a host fd that
    /// gets new data (a host edge) at each of them, for the calling
    /// thread, even while the file stays ready. An edge-triggered epoll
    /// watches it in its host edge queue, so that a thread already asleep
    /// in `epoll_wait` wakes for a new edge (mio's waker: an eventfd written
    /// once per wake and never read). Asking for it may make the kind
    /// start pulsing that fd.
    fn edge_fd(&self) -> Option<HostFd> {
        None
    }

    /// Called on every open file in the parent as a fork takes its locks
    /// (task/process.rs `lock_for_fork`, after every process-wide lock):
    /// takes each lock of the kind's own state with [`try_hold`], without
    /// waiting, and adds its guard to `held`; false when one is held by
    /// another thread (the fork then lets everything go and tries again).
    /// So the fork child never inherits a copy of such a lock held by a
    /// thread that is not there. Kinds whose locks are only ever taken
    /// under a process-wide lock, or live in memory shared with the child,
    /// have nothing to hold.
    fn hold_for_fork<'a>(&'a self, _held: &mut ForkHolds<'a>) -> bool {
        true
    }

    /// Called on every open file in the parent just before a fork, with
    /// every runtime lock held, and before the file is sent to another
    /// process (`crosses_processes`): a kind whose state the other side
    /// keeps sharing makes now what both sides must have in common.
    fn before_fork(&self) {}

    /// Called on every open file of a child after fork: a kind with state of
    /// its own in the runtime's memory makes the child's copy independent.
    fn after_fork(&self) {}

    /// Whether no read, write or seek of this file ever sleeps until a
    /// signal could end it: a regular file or a directory, which Linux
    /// reads and writes uninterruptibly. A call on such a file runs
    /// without opening the blocking window (`trap::dispatch`): no two
    /// host calls to unblock and block the asynchronous signals.
    fn never_sleeps(&self) -> bool {
        false
    }

    /// What execve carries of a kind the runtime serves (Linux keeps every
    /// fd without FD_CLOEXEC): its state, encoded by the kind, and the host
    /// fds it needs kept open. The re-executed runtime gives it back to the
    /// kind's restore function ([`ExecKind`], listed in
    /// `syscall::EXEC_KINDS`). None: the file crosses as its host fd, or is
    /// reopened by its path, or (neither) is lost. Called with the fd table
    /// locked; `ids` names the other open files that cross.
    fn exec_state(&self, _f: &OpenFile, _ids: &ExecIds<'_>) -> Option<KindState> {
        None
    }

    /// In the re-executed runtime, once every open file that crossed is
    /// installed: a kind that refers to other open files (an epoll's
    /// interest list) finds them by the ids `exec_state` saw.
    fn after_exec(&self, _files: &dyn Fn(u32) -> Option<Arc<OpenFile>>) {}

    /// Whether another process that receives this file through SCM_RIGHTS
    /// can make it again from its `exec_state` and so hold the same open
    /// file description (vfs/in_flight.rs): a kind whose state lives in host
    /// objects both processes then share (an eventfd's or a timerfd's page
    /// and pipes, prepared as for a fork by `before_fork`), or that names
    /// nothing of the sender's (a pidfd names a process; a signalfd reads
    /// the signals of whoever reads it). An epoll's interest list and an
    /// inotify fd's watches are the sender's own memory: those cannot cross.
    fn crosses_processes(&self) -> bool {
        false
    }
}

pub use crate::handover::KindState;

/// The open file descriptions that cross an execve, numbered as the
/// handover numbers them, and the objects several of them share.
pub struct ExecIds<'a> {
    files: &'a [*const OpenFile],
    objects: Mutex<Vec<usize>>,
}

impl<'a> ExecIds<'a> {
    pub fn new(files: &'a [*const OpenFile]) -> ExecIds<'a> {
        ExecIds { files, objects: Mutex::new(Vec::new()) }
    }

    /// The number of open file `f`, when it crosses.
    pub fn id_of(&self, f: &OpenFile) -> Option<u32> {
        self.files.iter().position(|&p| std::ptr::eq(p, f)).and_then(|i| u32::try_from(i).ok())
    }

    /// The number of an object that several open files may share (a
    /// memfd's file and seals, which a reopen through /proc shares), and
    /// whether this is its first sight: only the first open file carries
    /// the object's host fds, and the others find it again by its number
    /// ([`ExecObjects`]), restored in the same order.
    pub fn object<T>(&self, obj: &Arc<T>) -> (u32, bool) {
        let key = Arc::as_ptr(obj) as *const () as usize;
        let mut objects = lock(&self.objects);
        match objects.iter().position(|&k| k == key) {
            Some(i) => (i as u32, false),
            None => {
                objects.push(key);
                ((objects.len() - 1) as u32, true)
            }
        }
    }
}

/// In the re-executed runtime, the shared objects restored so far, by the
/// numbers [`ExecIds::object`] gave them.
#[derive(Default)]
pub struct ExecObjects(Mutex<Vec<(u32, Arc<dyn Any + Send + Sync>)>>);

impl ExecObjects {
    /// Object `id` when it is restored already and a `T`.
    pub fn get<T: Send + Sync + 'static>(&self, id: u32) -> Option<Arc<T>> {
        let objects = lock(&self.0);
        let obj = objects.iter().find(|(i, _)| *i == id)?.1.clone();
        obj.downcast::<T>().ok()
    }

    pub fn put<T: Send + Sync + 'static>(&self, id: u32, obj: Arc<T>) {
        lock(&self.0).push((id, obj));
    }
}

/// A kind that crosses execve: its name in the handover and the function
/// that makes it again from its state (the status flags, guest path and
/// position are the open file's, restored around it). `restore` takes the
/// state's host fds over only when it succeeds: on an error they are still
/// the caller's, which closes them.
pub struct ExecKind {
    pub name: &'static str,
    pub restore: fn(&KindState, &ExecObjects) -> Result<Box<dyn FileOps>>,
}

pub struct OpenFile {
    /// The guest path this was opened by (for /proc/self/fd and `*at`
    /// calls), or the name Linux shows for an anonymous file
    /// (`anon_inode:[eventfd]`, `socket:[ino]`).
    pub guest_path: String,
    ops: Box<dyn FileOps>,
    /// Linux status flags (`O_ACCMODE`, `O_APPEND`, `O_NONBLOCK`, `O_PATH`...).
    pub status: Mutex<u32>,
    /// File position for kinds the host does not track.
    pub pos: Mutex<u64>,
    /// The inode number the guest sees when it is not the host's (pipes
    /// numbered by the daemon's registry).
    pub ino: Option<u64>,
    /// How many times the guest has taken from the file (read, recv,
    /// accept) and given to it (write, send): edge-triggered epoll
    /// watches them (syscall/epoll.rs).
    reads: AtomicU64,
    writes: AtomicU64,
    /// Signal-driven I/O: the owner (F_SETOWN, F_SETOWN_EX), the signal
    /// (F_SETSIG) and the fd O_ASYNC was turned on through (syscall/fcntl.rs,
    /// task/sigio.rs).
    pub async_owner: Mutex<AsyncOwner>,
    /// Unique in this process for its lifetime: what names this open file
    /// where its address and its host fd may be another's later (an
    /// epoll's host edge queue, syscall/epoll.rs).
    serial: u64,
}

/// The next [`OpenFile::serial`].
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

/// Who signal-driven I/O signals, and with what (Linux's `fown_struct`
/// and the fd of its `fasync_struct`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AsyncOwner {
    /// F_OWNER_TID, F_OWNER_PID or F_OWNER_PGRP (0 = F_OWNER_TID before
    /// any owner is set, which F_GETOWN_EX shows as F_OWNER_PID).
    pub kind: u32,
    /// The owner's pid, tid or process group; 0: nobody.
    pub pid: i32,
    /// F_SETSIG's signal; 0: plain SIGIO.
    pub sig: u32,
    /// The fd O_ASYNC was last turned on through (`si_fd`).
    pub fd: i32,
}

impl OpenFile {
    pub fn new(guest_path: String, ops: impl FileOps, status: u32) -> OpenFile {
        OpenFile::with_ops(guest_path, Box::new(ops), status)
    }

    pub fn with_ops(guest_path: String, ops: Box<dyn FileOps>, status: u32) -> OpenFile {
        OpenFile {
            guest_path,
            ops,
            status: Mutex::new(status),
            pos: Mutex::new(0),
            ino: None,
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            async_owner: Mutex::new(AsyncOwner::default()),
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// See the `serial` field.
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// An open file on a host fd of any kind but a directory.
    pub fn host(guest_path: String, fd: HostFd, status: u32) -> OpenFile {
        OpenFile::new(guest_path, HostFile::new(fd, false), status)
    }

    pub fn ops(&self) -> &dyn FileOps {
        &*self.ops
    }

    /// The kind's own object, when it is a `T`.
    pub fn ops_as<T: FileOps>(&self) -> Option<&T> {
        self.ops.as_any().downcast_ref::<T>()
    }

    pub fn host_fd(&self) -> Option<HostFd> {
        self.ops.host_fd()
    }

    /// The state that makes this file again in another process, for a kind
    /// that can cross (`FileOps::crosses_processes`); what the state needs
    /// shared is made first, as before a fork.
    pub fn state_for_another_process(&self) -> Option<KindState> {
        if !self.ops.crosses_processes() {
            return None;
        }
        self.ops.before_fork();
        self.ops.exec_state(self, &ExecIds::new(&[]))
    }

    /// See `FileOps::read_wakeups`.
    pub fn read_wakeups(&self) -> u64 {
        self.ops.read_wakeups()
    }

    /// See `FileOps::edge_fd`.
    pub fn edge_fd(&self) -> Option<HostFd> {
        self.ops.edge_fd()
    }

    /// For a fork: holds this description's own locks (status, position,
    /// owner) and its kind's (`FileOps::hold_for_fork`) if all are free
    /// now; false when one is not.
    pub fn hold_for_fork<'a>(&'a self, held: &mut ForkHolds<'a>) -> bool {
        hold(&self.status, held) && hold(&self.pos, held) && hold(&self.async_owner, held) && self.ops.hold_for_fork(held)
    }

    pub fn is_dir(&self) -> bool {
        self.ops.is_dir()
    }

    /// Counts a read of the file by the guest (read, recv, accept; see
    /// `uses`).
    pub fn touch_read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a write to the file by the guest (write, send; see `uses`).
    pub fn touch_write(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }

    /// How many reads and writes the guest has made of the file.
    pub fn uses(&self) -> (u64, u64) {
        (self.reads.load(Ordering::Relaxed), self.writes.load(Ordering::Relaxed))
    }

    pub fn status(&self) -> u32 {
        *lock(&self.status)
    }

    pub fn is_nonblocking(&self) -> bool {
        self.status() & g::O_NONBLOCK != 0
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

    fn check_offset(off: i64) -> Result<u64> {
        u64::try_from(off).map_err(|_| errno!(EINVAL, "negative offset"))
    }

    pub fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.check_readable()?;
        self.touch_read();
        self.ops.read(self, buf)
    }

    pub fn write(&self, buf: &[u8]) -> Result<usize> {
        self.check_writable()?;
        self.touch_write();
        self.ops.write(self, buf)
    }

    pub fn pread(&self, buf: &mut [u8], off: i64) -> Result<usize> {
        self.check_readable()?;
        self.ops.pread(self, buf, Self::check_offset(off)?)
    }

    pub fn pwrite(&self, buf: &[u8], off: i64) -> Result<usize> {
        self.check_writable()?;
        self.ops.pwrite(self, buf, Self::check_offset(off)?)
    }

    /// `read` into the guest buffer `[addr, addr+len)`.
    pub fn read_guest(&self, addr: u64, len: usize) -> Result<usize> {
        self.check_readable()?;
        self.touch_read();
        self.ops.read_guest(self, addr, len, None)
    }

    /// `pread` into a guest buffer.
    pub fn pread_guest(&self, addr: u64, len: usize, off: i64) -> Result<usize> {
        self.check_readable()?;
        self.ops.read_guest(self, addr, len, Some(Self::check_offset(off)?))
    }

    /// `write` from the guest buffer `[addr, addr+len)`.
    pub fn write_guest(&self, addr: u64, len: usize) -> Result<usize> {
        self.check_writable()?;
        self.touch_write();
        self.ops.write_guest(self, addr, len, None)
    }

    /// `pwrite` from a guest buffer.
    pub fn pwrite_guest(&self, addr: u64, len: usize, off: i64) -> Result<usize> {
        self.check_writable()?;
        self.ops.write_guest(self, addr, len, Some(Self::check_offset(off)?))
    }

    pub fn seek(&self, off: i64, whence: u32) -> Result<i64> {
        self.require_not_path()?;
        self.ops.seek(self, off, whence)
    }

    /// Linux `stat` of this open file.
    pub fn stat(&self) -> Result<HostStat> {
        let mut st = self.ops.stat(self)?;
        if let Some(ino) = self.ino {
            st.ino = ino;
        }
        Ok(st)
    }

    /// Returns the next directory entries, as many as `fits` accepts.
    /// `fits(entry)` returns false when the guest buffer is full.
    pub fn read_dir(&self, fits: &mut dyn FnMut(&DirEnt, i64) -> bool) -> Result<usize> {
        self.require_not_path()?;
        self.ops.read_dir(self, fits)
    }

    pub fn ioctl(&self, req: u32, arg: u64) -> Result<u64> {
        self.ops.ioctl(self, req, arg)
    }

    pub fn poll(&self, events: u32, wake: &mut Vec<(HostFd, u32)>) -> Ready {
        self.ops.poll(self, events, wake)
    }
}

/// A position within a runtime-made file of `len` bytes or entries after
/// `lseek(off, whence)`, as Linux's generic_file_llseek computes it.
pub fn seek_within(pos: &Mutex<u64>, len: i64, off: i64, whence: u32) -> Result<i64> {
    let mut pos = lock(pos);
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
