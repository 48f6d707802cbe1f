//! inotify(7): inotify_init, inotify_init1, inotify_add_watch,
//! inotify_rm_watch, and reading `struct inotify_event` records.
//! https://man7.org/linux/man-pages/man7/inotify.7.html
//!
//! Each inotify fd owns a host watcher (`host::watch::FsWatcher`: the
//! host's own inotify on Linux, a kqueue of EVFILT_VNODE filters on macOS)
//! whose fd is readable while host events wait. The runtime drains them on
//! demand (read, poll, FIONREAD) into a queue of its own, merging an event
//! identical to the last one queued and ending a full queue with one
//! IN_Q_OVERFLOW, as fs/notify/inotify does; pollers sleep on the host fd
//! when the queue is empty. Paths are guest paths resolved by the runtime's
//! VFS; the host watches the file the walk found. Watch descriptors are the
//! host watcher's (on Linux, the same numbers Linux gives).
//!
//! Divergences from Linux:
//! - Watching a synthetic file (/proc, /dev) is EACCES.
//! - After fork, events already drained into one process's queue are not
//!   seen by the other. execve keeps the fd, its watches and wds and its
//!   queue (`FileOps::exec_state`); on macOS a change made while the exec
//!   runs may be missed (see the host watcher).
//! - On macOS (kqueue, checked by type only here) IN_OPEN, IN_ACCESS and
//!   IN_CLOSE_* are never reported, and a file inside a watched directory
//!   reports IN_MODIFY and IN_ATTRIB only to its own watch; creations,
//!   deletions and renames in a directory are found by comparing listings,
//!   so a name created and removed between two looks is missed. Only a
//!   real Mac can tell how kqueue orders and coalesces these notes.

use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::{Error, Result};
use crate::host::{self, HostFd, HostStat};
use crate::task::{current, lock};
use crate::vfs::file::{hold, ExecIds, ExecKind, ExecObjects, FileOps, ForkHolds, KindState, OpenFile};
use crate::vfs::poll::{self, Ready};
use crate::vfs::{Lookup, Node};
use crate::{errno, return_errno, return_errno_with_message};
use std::any::Any;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Every bit inotify_add_watch knows (ALL_INOTIFY_BITS).
const ALL_INOTIFY_BITS: u32 = g::IN_ALL_EVENTS
    | g::IN_UNMOUNT
    | g::IN_Q_OVERFLOW
    | g::IN_IGNORED
    | g::IN_ONLYDIR
    | g::IN_DONT_FOLLOW
    | g::IN_EXCL_UNLINK
    | g::IN_MASK_CREATE
    | g::IN_MASK_ADD
    | g::IN_ISDIR
    | g::IN_ONESHOT;
/// Linux's default /proc/sys/fs/inotify/max_queued_events.
const MAX_QUEUED_EVENTS: usize = 16384;
/// `struct inotify_event` before the name.
const EVENT_HEADER: usize = 16;

#[derive(PartialEq, Eq)]
struct Event {
    wd: i32,
    mask: u32,
    cookie: u32,
    name: Vec<u8>,
}

impl Event {
    /// The record's `len`: the name, its NUL and padding to a multiple of
    /// the header's size (round_up(len + 1, sizeof(struct inotify_event))).
    fn name_len(&self) -> usize {
        if self.name.is_empty() {
            0
        } else {
            (self.name.len() + 1).div_ceil(EVENT_HEADER) * EVENT_HEADER
        }
    }

    fn size(&self) -> usize {
        EVENT_HEADER + self.name_len()
    }

    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.wd.to_ne_bytes());
        out.extend_from_slice(&self.mask.to_ne_bytes());
        out.extend_from_slice(&self.cookie.to_ne_bytes());
        out.extend_from_slice(&(self.name_len() as u32).to_ne_bytes());
        out.extend_from_slice(&self.name);
        out.resize(out.len() + self.name_len() - self.name.len(), 0);
    }
}

#[derive(Default)]
struct Queue {
    events: VecDeque<Event>,
    /// An IN_Q_OVERFLOW is queued and not yet read.
    has_overflow: bool,
    /// How many events were queued (not merged): each wakes the readers
    /// (`fsnotify_insert_event`), a new edge for EPOLLET.
    wakeups: u64,
}

impl Queue {
    /// Queues `ev` as fsnotify_add_event does.
    fn push(&mut self, ev: Event) {
        if ev.mask & g::IN_Q_OVERFLOW != 0 || self.events.len() >= MAX_QUEUED_EVENTS {
            if !self.has_overflow {
                self.has_overflow = true;
                self.events.push_back(Event { wd: -1, mask: g::IN_Q_OVERFLOW, cookie: 0, name: Vec::new() });
                self.wakeups = self.wakeups.wrapping_add(1);
            }
            return;
        }
        // inotify_merge: an event equal to the last one queued adds nothing.
        if self.events.back() == Some(&ev) {
            return;
        }
        self.events.push_back(ev);
        self.wakeups = self.wakeups.wrapping_add(1);
    }

    fn pop(&mut self) -> Option<Event> {
        let ev = self.events.pop_front()?;
        if ev.mask & g::IN_Q_OVERFLOW != 0 {
            self.has_overflow = false;
        }
        Some(ev)
    }
}

pub struct Inotify {
    watcher: host::watch::FsWatcher,
    queue: Mutex<Queue>,
}

impl Inotify {
    /// The queue with every host event waiting now added to it.
    fn drained(&self) -> std::sync::MutexGuard<'_, Queue> {
        let mut q = lock(&self.queue);
        if let Ok(evs) = self.watcher.read_events() {
            for e in evs {
                q.push(Event { wd: e.wd, mask: e.mask, cookie: e.cookie, name: e.name });
            }
        }
        q
    }
}

impl FileOps for Inotify {
    fn stat(&self, f: &OpenFile) -> Result<HostStat> {
        Ok(crate::vfs::file::anon_stat(&f.guest_path))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    /// As many whole events as fit; EINVAL when even the first does not.
    fn read(&self, f: &OpenFile, buf: &mut [u8]) -> Result<usize> {
        loop {
            {
                let mut q = self.drained();
                if let Some(first) = q.events.front() {
                    if first.size() > buf.len() {
                        return_errno_with_message!(EINVAL, "the buffer cannot hold the next event");
                    }
                    let mut out = Vec::with_capacity(buf.len());
                    while q.events.front().is_some_and(|e| out.len() + e.size() <= buf.len()) {
                        if let Some(e) = q.pop() {
                            e.put(&mut out);
                        }
                    }
                    buf[..out.len()].copy_from_slice(&out);
                    return Ok(out.len());
                }
            }
            if f.is_nonblocking() {
                return Err(errno!(EAGAIN));
            }
            poll::wait_for(f, g::POLLIN)?;
        }
    }

    fn ioctl(&self, _f: &OpenFile, req: u32, arg: u64) -> Result<u64> {
        if req != linux_raw_sys::ioctl::FIONREAD {
            return Err(errno!(ENOTTY, "inotify fds answer FIONREAD only"));
        }
        let total: usize = self.drained().events.iter().map(Event::size).sum();
        crate::uaccess::write(arg, &i32::try_from(total).unwrap_or(i32::MAX))?;
        Ok(0)
    }

    fn poll(&self, _f: &OpenFile, _events: u32, wake: &mut Vec<(HostFd, u32)>) -> Ready {
        if !self.drained().events.is_empty() {
            return Ready::Now(g::POLLIN | g::POLLRDNORM);
        }
        wake.push((self.watcher.wake_fd(), g::POLLIN));
        Ready::Now(0)
    }

    fn pollable(&self) -> bool {
        true
    }

    /// Drains the host's events first: a new one is a new edge now.
    fn read_wakeups(&self) -> u64 {
        self.drained().wakeups
    }

    /// The host's queue, drained into ours at each look: every new host
    /// event is new data in it.
    fn edge_fd(&self) -> Option<HostFd> {
        Some(self.watcher.wake_fd())
    }

    /// The queue: a read or poll under way at a fork would leave the
    /// child's copy locked.
    fn hold_for_fork<'a>(&'a self, held: &mut ForkHolds<'a>) -> bool {
        hold(&self.queue, held)
    }

    fn exec_state(&self, _f: &OpenFile, _ids: &ExecIds<'_>) -> Option<KindState> {
        let q = self.drained();
        let (watcher, host_fds) = self.watcher.exec_state();
        let events = q.events.iter().map(|e| (e.wd, e.mask, e.cookie, e.name.clone())).collect();
        KindState::new(EXEC_KIND.name, &ExecState { watcher, events, has_overflow: q.has_overflow }, host_fds)
    }
}

/// What an inotify fd carries across execve: the host watcher's own
/// state and the events queued and not read.
#[derive(serde::Serialize, serde::Deserialize)]
struct ExecState {
    watcher: host::watch::FsWatcherState,
    events: Vec<(i32, u32, u32, Vec<u8>)>,
    has_overflow: bool,
}

pub const EXEC_KIND: ExecKind = ExecKind { name: "inotify", restore };

fn restore(k: &KindState, _objects: &ExecObjects) -> Result<Box<dyn FileOps>> {
    let st: ExecState = k.decode().ok_or_else(|| errno!(EINVAL, "an inotify fd's state does not decode"))?;
    let events = st.events.into_iter().map(|(wd, mask, cookie, name)| Event { wd, mask, cookie, name }).collect();
    let watcher = host::watch::FsWatcher::from_exec_state(st.watcher).map_err(|e| Error::with_message(e, "cannot make the host watcher again"))?;
    Ok(Box::new(Inotify { watcher, queue: Mutex::new(Queue { events, has_overflow: st.has_overflow, wakeups: 0 }) }))
}

pub fn inotify_init1(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let flags = args::flags(a[0], g::IN_NONBLOCK | g::IN_CLOEXEC, "flags must be IN_NONBLOCK, IN_CLOEXEC or 0")?;
    let watcher = host::watch::FsWatcher::new().map_err(|e| Error::with_message(e, "cannot make the host watcher"))?;
    let ino = Inotify { watcher, queue: Mutex::new(Queue::default()) };
    let file = OpenFile::new("anon_inode:inotify".into(), ino, g::O_RDONLY | (flags & g::IN_NONBLOCK));
    let fd = lock(&current().fds).install(Arc::new(file), flags & g::IN_CLOEXEC != 0)?;
    Ok(fd as u64)
}

pub fn inotify_init(cx: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    inotify_init1(cx, [0; 6])
}

/// The inotify instance behind guest fd `fd`: EBADF when it is not open,
/// EINVAL when it is another kind of file.
fn instance(fd: i32) -> Result<Arc<OpenFile>> {
    let file = lock(&current().fds).get(fd)?;
    if file.ops_as::<Inotify>().is_none() {
        return_errno_with_message!(EINVAL, "not an inotify fd");
    }
    Ok(file)
}

pub fn inotify_add_watch(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let mask = args::uint(a[2]);
    if mask & g::IN_MASK_ADD != 0 && mask & g::IN_MASK_CREATE != 0 {
        return_errno_with_message!(EINVAL, "IN_MASK_ADD and IN_MASK_CREATE exclude each other");
    }
    if mask & ALL_INOTIFY_BITS == 0 {
        return_errno_with_message!(EINVAL, "the mask names no event");
    }
    let file = instance(args::fd(a[0]))?;
    let Some(ino) = file.ops_as::<Inotify>() else { return_errno!(EINVAL) };
    let path = args::path(a[1])?;
    let r = crate::vfs::resolve_existing(g::AT_FDCWD, &path, mask & g::IN_DONT_FOLLOW == 0)?;
    if mask & g::IN_ONLYDIR != 0 && r.kind != Lookup::Dir {
        return_errno_with_message!(ENOTDIR, "IN_ONLYDIR and not a directory");
    }
    let Node::Host(loc) = &r.node else {
        return Err(super::refuse("inotify_add_watch", crate::abi::Errno::EACCES, "watching a synthetic file is not emulated", None));
    };
    // Watching needs read permission on the file (inotify_find_inode).
    crate::vfs::perm::may_access(&crate::task::current().cred(), &r, crate::vfs::perm::MAY_READ, mask & g::IN_DONT_FOLLOW == 0)?;
    let (dir, name) = loc.at();
    let wd = ino.watcher.add(dir, name, mask & ALL_INOTIFY_BITS).map_err(Error::new)?;
    Ok(wd as u64)
}

pub fn inotify_rm_watch(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = instance(args::fd(a[0]))?;
    let Some(ino) = file.ops_as::<Inotify>() else { return_errno!(EINVAL) };
    ino.watcher.remove(args::int(a[1])).map_err(|e| Error::with_message(e, "no such watch"))?;
    Ok(0)
}
