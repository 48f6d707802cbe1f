//! eventfd(2), eventfd2(2): a 64-bit counter behind an fd, for one thread or
//! process to wake another.
//!
//! The counter lives in a page of memory that a fork leaves shared
//! (`host::mem::SharedWords`), so a fork child's eventfd is still its
//! parent's, as Linux shares the open file description: the eventfd(2)
//! example of a child writing what its parent reads works. A
//! [`SharedNotifier`] pipe is readable exactly while the counter is not
//! zero, so poll, select and epoll (and a blocked read) sleep in the host
//! until a write makes it so, in whichever process it comes from. Two more,
//! made when first needed (or before a fork, so that both sides have the
//! same), serve the rare waits for room: one readable while a write of 1
//! fits (POLLOUT), one while the value of some blocked writer fits.
//!
//! The page holds a lock word, the count, a record of which pipes are
//! readable, and the values blocked writers wait to add (at most
//! [`BLOCKED_SLOTS`]; more writers than that poll for room every
//! millisecond). Each write is a new edge for EPOLLET: it is counted, and
//! once an edge-triggered epoll has asked for it ([`W_EDGES`]) a write
//! while the count is not zero pulses the readable pipe, so a thread
//! asleep in `epoll_wait` wakes for it.
//!
//! execve keeps an eventfd (`FileOps::exec_state`): the new runtime maps
//! the same page again from the host fd behind it and keeps the same
//! pipes, so the eventfd is still the one a fork sibling holds.

use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::Result;
use crate::host::mem::SharedWords;
use crate::host::{HostFd, HostStat};
use crate::task::{current, lock};
use crate::uaccess;
use crate::vfs::file::{ExecIds, ExecKind, ExecObjects, FileOps, KindState, OpenFile};
use crate::vfs::poll::{self, Ready, SharedNotifier};
use crate::{errno, return_errno_with_message};
use std::any::Any;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, OnceLock};

const EFD_SEMAPHORE: u32 = 1;
const EFD_CLOEXEC: u32 = g::O_CLOEXEC;
const EFD_NONBLOCK: u32 = g::O_NONBLOCK;

/// The largest count: a write that would pass it waits (or is EAGAIN).
const MAX: u64 = u64::MAX - 1;

/// The words of the shared page.
const W_LOCK: usize = 0;
const W_COUNT: usize = 1;
/// Which pipes are readable: [`ON_READABLE`], [`ON_ROOM`], [`ON_FITS`].
const W_ON: usize = 2;
const W_NBLOCKED: usize = 3;
const W_BLOCKED: usize = 4;
/// How many blocked writers' values the page records.
const BLOCKED_SLOTS: usize = 32;
/// How many writes there were (each wakes the readers on Linux: a new
/// edge for EPOLLET, `FileOps::read_wakeups`).
const W_WRITES: usize = W_BLOCKED + BLOCKED_SLOTS;
/// Non-zero once an edge-triggered epoll watches the readable pipe for
/// edges (`FileOps::edge_fd`): from then on a write while the count is not
/// zero pulses the pipe, which a sleeping `epoll_wait` wakes for.
const W_EDGES: usize = W_WRITES + 1;
const WORDS: usize = W_EDGES + 1;

const ON_READABLE: u64 = 1;
const ON_ROOM: u64 = 2;
const ON_FITS: u64 = 4;

pub struct EventFd {
    shared: SharedWords,
    semaphore: bool,
    readable: SharedNotifier,
    /// Readable while a write of 1 fits (POLLOUT).
    room: OnceLock<SharedNotifier>,
    /// Readable while the value of one of the blocked writers fits: a
    /// writer waits for room for its own value, not for POLLOUT.
    fits: OnceLock<SharedNotifier>,
}

/// The eventfd's lock, shared with every process the eventfd was forked
/// into; held only across a few loads and stores and the non-blocking
/// fill or drain of a pipe.
struct Locked<'a>(&'a EventFd);

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        self.0.shared.unlock(W_LOCK);
    }
}

impl<'a> Locked<'a> {
    fn count(&self) -> u64 {
        self.0.shared.word(W_COUNT).load(Relaxed)
    }

    fn set_count(&self, v: u64) {
        self.0.shared.word(W_COUNT).store(v, Relaxed);
    }

    fn blocked(&self) -> impl Iterator<Item = u64> + '_ {
        let n = (self.0.shared.word(W_NBLOCKED).load(Relaxed) as usize).min(BLOCKED_SLOTS);
        (0..n).map(move |i| self.0.shared.word(W_BLOCKED + i).load(Relaxed))
    }

    /// Records a blocked writer's value; false when every slot is taken.
    fn add_blocked(&self, v: u64) -> bool {
        let n = self.0.shared.word(W_NBLOCKED).load(Relaxed) as usize;
        if n >= BLOCKED_SLOTS {
            return false;
        }
        self.0.shared.word(W_BLOCKED + n).store(v, Relaxed);
        self.0.shared.word(W_NBLOCKED).store(n as u64 + 1, Relaxed);
        true
    }

    fn remove_blocked(&self, v: u64) {
        let n = (self.0.shared.word(W_NBLOCKED).load(Relaxed) as usize).min(BLOCKED_SLOTS);
        if let Some(i) = (0..n).find(|&i| self.0.shared.word(W_BLOCKED + i).load(Relaxed) == v) {
            let last = self.0.shared.word(W_BLOCKED + n - 1).load(Relaxed);
            self.0.shared.word(W_BLOCKED + i).store(last, Relaxed);
            self.0.shared.word(W_NBLOCKED).store(n as u64 - 1, Relaxed);
        }
    }

    /// The pipes follow the count.
    fn changed(&self) {
        let ev = self.0;
        let count = self.count();
        let was = ev.shared.word(W_ON).load(Relaxed);
        let mut on = was & !(ON_READABLE | ON_ROOM | ON_FITS);
        let want = [
            (ON_READABLE, Some(&ev.readable), count > 0),
            (ON_ROOM, ev.room.get(), count < MAX),
            (ON_FITS, ev.fits.get(), self.blocked().any(|v| MAX - count >= v)),
        ];
        for (bit, pipe, ready) in want {
            // A pipe not made yet stays recorded as empty.
            if let Some(pipe) = pipe {
                pipe.set(ready, was & bit != 0);
                if ready {
                    on |= bit;
                }
            }
        }
        ev.shared.word(W_ON).store(on, Relaxed);
    }
}

impl EventFd {
    fn new(init: u64, semaphore: bool) -> Result<EventFd> {
        let shared = SharedWords::new(WORDS).map_err(|e| crate::error::Error::with_message(e, "cannot map an eventfd's counter"))?;
        let ev = EventFd { shared, semaphore, readable: SharedNotifier::new()?, room: OnceLock::new(), fits: OnceLock::new() };
        ev.lock().set_count(init);
        ev.lock().changed();
        Ok(ev)
    }

    fn lock(&self) -> Locked<'_> {
        self.shared.lock(W_LOCK);
        Locked(self)
    }

    /// Makes the pipe `slot` if it is not made yet, and has it follow the
    /// count; with the lock held, so no two threads make it at once.
    fn ensure(&self, slot: &OnceLock<SharedNotifier>, st: &Locked<'_>) {
        if slot.get().is_none() {
            if let Ok(n) = SharedNotifier::new() {
                let _ = slot.set(n);
                st.changed();
            }
        }
    }

    fn try_read(&self) -> Option<u64> {
        let st = self.lock();
        let count = st.count();
        if count == 0 {
            return None;
        }
        let v = if self.semaphore { 1 } else { count };
        st.set_count(count - v);
        st.changed();
        Some(v)
    }

    fn try_write(&self, v: u64) -> bool {
        let st = self.lock();
        let count = st.count();
        if MAX - count < v {
            return false;
        }
        st.set_count(count + v);
        // `eventfd_write` wakes the readers at every write, of 0 too.
        let writes = st.0.shared.word(W_WRITES);
        writes.store(writes.load(Relaxed).wrapping_add(1), Relaxed);
        st.changed();
        // Readable before too: no change a level poller sees, but an edge
        // for a sleeping edge-triggered epoll.
        if count > 0 && st.0.shared.word(W_EDGES).load(Relaxed) != 0 {
            self.readable.pulse(true);
        }
        true
    }

    /// Sleeps until a write of `v` would fit (a read made room); EINTR
    /// when a signal comes first.
    fn wait_for_room(&self, v: u64) -> Result<()> {
        let recorded = {
            let st = self.lock();
            self.ensure(&self.fits, &st);
            self.ensure(&self.room, &st);
            let recorded = st.add_blocked(v);
            st.changed();
            recorded
        };
        let r = match (recorded, self.fits.get(), self.room.get()) {
            (true, Some(fits), _) => poll::sleep_on(&[fits.wake()], None).map(drop),
            // Every slot taken (or no pipe to be had): look again in a millisecond.
            (false, _, Some(room)) => {
                let ms = Some(crate::abi::Timespec { sec: 0, nsec: 1_000_000 });
                poll::sleep_on(&[room.wake()], poll::deadline_after(ms)).map(drop)
            }
            _ => poll::sleep_on(&[], poll::deadline_after(Some(crate::abi::Timespec { sec: 0, nsec: 1_000_000 }))).map(drop),
        };
        let st = self.lock();
        if recorded {
            st.remove_blocked(v);
        }
        st.changed();
        r
    }

    /// The value /proc/PID/fdinfo shows.
    pub fn count(&self) -> u64 {
        self.lock().count()
    }
}

fn eight_bytes(len: usize) -> Result<()> {
    if len < 8 {
        return_errno_with_message!(EINVAL, "an eventfd is read and written 8 bytes at a time");
    }
    Ok(())
}

impl FileOps for EventFd {
    fn stat(&self, f: &OpenFile) -> Result<HostStat> {
        Ok(crate::vfs::file::anon_stat(&f.guest_path))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn read(&self, f: &OpenFile, buf: &mut [u8]) -> Result<usize> {
        eight_bytes(buf.len())?;
        loop {
            if let Some(v) = self.try_read() {
                buf[..8].copy_from_slice(&v.to_ne_bytes());
                return Ok(8);
            }
            if f.is_nonblocking() {
                return Err(errno!(EAGAIN));
            }
            poll::wait_for(f, g::POLLIN)?;
        }
    }

    fn read_bound(&self) -> usize {
        8
    }

    fn write(&self, f: &OpenFile, buf: &[u8]) -> Result<usize> {
        eight_bytes(buf.len())?;
        let v = u64::from_ne_bytes([buf[0], buf[1], buf[2], buf[3], buf[4], buf[5], buf[6], buf[7]]);
        if v == u64::MAX {
            return_errno_with_message!(EINVAL, "0xffffffffffffffff cannot be added to an eventfd");
        }
        loop {
            if self.try_write(v) {
                return Ok(8);
            }
            if f.is_nonblocking() {
                return Err(errno!(EAGAIN));
            }
            self.wait_for_room(v)?;
        }
    }

    fn write_guest(&self, f: &OpenFile, addr: u64, len: usize, _off: Option<u64>) -> Result<usize> {
        eight_bytes(len)?;
        let data = uaccess::read_bytes(addr, 8)?;
        self.write(f, &data)
    }

    fn poll(&self, _f: &OpenFile, events: u32, wake: &mut Vec<(HostFd, u32)>) -> Ready {
        let st = self.lock();
        let count = st.count();
        let mut ev = 0;
        if count > 0 {
            ev |= g::POLLIN | g::POLLRDNORM;
        } else {
            wake.push(self.readable.wake());
        }
        if count < MAX {
            ev |= g::POLLOUT | g::POLLWRNORM;
        } else if events & (g::POLLOUT | g::POLLWRNORM) != 0 {
            self.ensure(&self.room, &st);
            if let Some(room) = self.room.get() {
                wake.push(room.wake());
            }
        }
        Ready::Now(ev)
    }

    fn pollable(&self) -> bool {
        true
    }

    fn read_wakeups(&self) -> u64 {
        self.shared.word(W_WRITES).load(Relaxed)
    }

    /// The readable pipe, which each write pulses from now on (in every
    /// process the eventfd is shared with: the flag is in the page).
    fn edge_fd(&self) -> Option<HostFd> {
        // Asked at every look of the epoll: the shared page is written once.
        let edges = self.shared.word(W_EDGES);
        if edges.load(Relaxed) == 0 {
            edges.store(1, Relaxed);
        }
        Some(self.readable.wake().0)
    }

    fn crosses_processes(&self) -> bool {
        true
    }

    fn before_fork(&self) {
        // Both sides of the fork must sleep on the same pipes.
        let st = self.lock();
        self.ensure(&self.room, &st);
        self.ensure(&self.fits, &st);
    }

    fn exec_state(&self, _f: &OpenFile, _ids: &ExecIds<'_>) -> Option<KindState> {
        let pipes = [Some(&self.readable), self.room.get(), self.fits.get()].map(|n| n.map(SharedNotifier::host_fds));
        let mut host_fds = vec![self.shared.fd()];
        host_fds.extend(pipes.iter().flatten().flat_map(|&(r, w)| [r, w]));
        let state = ExecState { semaphore: self.semaphore, page: self.shared.fd(), pipes };
        KindState::new(EXEC_KIND.name, &state, host_fds)
    }
}

/// What an eventfd carries across execve: the host fds of its page and
/// of its pipes (readable, room, fits), whose numbers the exec keeps.
#[derive(serde::Serialize, serde::Deserialize)]
struct ExecState {
    semaphore: bool,
    page: HostFd,
    pipes: [Option<(HostFd, HostFd)>; 3],
}

pub const EXEC_KIND: ExecKind = ExecKind { name: "eventfd", restore };

fn restore(k: &KindState, _objects: &ExecObjects) -> Result<Box<dyn FileOps>> {
    let st: ExecState = k.decode().ok_or_else(|| errno!(EINVAL, "an eventfd's state does not decode"))?;
    let [Some(readable), room, fits] = st.pipes else {
        return Err(errno!(EINVAL, "an eventfd crossed without its pipe"));
    };
    let shared = SharedWords::from_fd(k.fd(st.page), WORDS).map_err(|e| crate::error::Error::with_message(e, "cannot map an eventfd's counter again"))?;
    let here = |(r, w): (HostFd, HostFd)| (k.fd(r), k.fd(w));
    let once = |p: Option<(HostFd, HostFd)>| {
        let cell = OnceLock::new();
        if let Some(p) = p {
            let _ = cell.set(SharedNotifier::from_host_fds(here(p)));
        }
        cell
    };
    let readable = SharedNotifier::from_host_fds(here(readable));
    Ok(Box::new(EventFd { shared, semaphore: st.semaphore, readable, room: once(room), fits: once(fits) }))
}

pub fn eventfd2(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let flags = args::flags(a[1], EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK, "flags must be EFD_CLOEXEC, EFD_NONBLOCK or EFD_SEMAPHORE")?;
    let init = u64::from(args::uint(a[0]));
    let ev = EventFd::new(init, flags & EFD_SEMAPHORE != 0)?;
    let file = OpenFile::new("anon_inode:[eventfd]".into(), ev, g::O_RDWR | (flags & EFD_NONBLOCK));
    let fd = lock(&current().fds).install(Arc::new(file), flags & EFD_CLOEXEC != 0)?;
    Ok(fd as u64)
}

pub fn eventfd(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    eventfd2(cx, [a[0], 0, 0, 0, 0, 0])
}
