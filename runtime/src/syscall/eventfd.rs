//! eventfd(2), eventfd2(2): a 64-bit counter behind an fd, for one thread or
//! process to wake another.
//!
//! The counter lives in the runtime; a [`Notifier`] pipe is readable exactly
//! while the counter is not zero, so poll, select and epoll (and a blocked
//! read) sleep in the host until a write makes it so. Two more, made when
//! first needed, serve the rare waits for room: one readable while a write
//! of 1 fits (POLLOUT), one while the value of some blocked writer fits.
//!
//! Divergences from Linux: after fork the child's eventfd is a copy (its
//! counter no longer shared with the parent's); an eventfd is not kept
//! across execve.

use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::Result;
use crate::host::{HostFd, HostStat};
use crate::task::{current, lock};
use crate::uaccess;
use crate::vfs::file::{FileOps, OpenFile};
use crate::vfs::poll::{self, Notifier, Ready};
use crate::{errno, return_errno_with_message};
use std::any::Any;
use std::sync::{Arc, Mutex};

const EFD_SEMAPHORE: u32 = 1;
const EFD_CLOEXEC: u32 = g::O_CLOEXEC;
const EFD_NONBLOCK: u32 = g::O_NONBLOCK;

/// The largest count: a write that would pass it waits (or is EAGAIN).
const MAX: u64 = u64::MAX - 1;

pub struct EventFd {
    state: Mutex<State>,
    semaphore: bool,
    readable: Notifier,
}

struct State {
    count: u64,
    /// Readable while a write of 1 fits (POLLOUT); made when a poller
    /// first waits for it.
    room: Option<Notifier>,
    /// The values blocked writers wait to add, and a pipe readable while
    /// one of them fits: a writer waits for room for its own value, not
    /// for POLLOUT.
    blocked: Vec<u64>,
    fits: Option<Notifier>,
}

impl EventFd {
    fn new(init: u64, semaphore: bool) -> Result<EventFd> {
        let ev = EventFd {
            state: Mutex::new(State { count: init, room: None, blocked: Vec::new(), fits: None }),
            semaphore,
            readable: Notifier::new()?,
        };
        ev.readable.set(init > 0);
        Ok(ev)
    }

    /// The notifiers follow the count (with the state lock held).
    fn changed(&self, st: &State) {
        self.readable.set(st.count > 0);
        if let Some(room) = &st.room {
            room.set(st.count < MAX);
        }
        if let Some(fits) = &st.fits {
            fits.set(st.blocked.iter().any(|&v| MAX - st.count >= v));
        }
    }

    fn try_read(&self) -> Option<u64> {
        let mut st = lock(&self.state);
        if st.count == 0 {
            return None;
        }
        let v = if self.semaphore { 1 } else { st.count };
        st.count -= v;
        self.changed(&st);
        Some(v)
    }

    fn try_write(&self, v: u64) -> bool {
        let mut st = lock(&self.state);
        if MAX - st.count < v {
            return false;
        }
        st.count += v;
        self.changed(&st);
        true
    }

    /// Sleeps until a write of `v` would fit (a read made room); EINTR
    /// when a signal comes first.
    fn wait_for_room(&self, v: u64) -> Result<()> {
        let wake = {
            let mut st = lock(&self.state);
            if st.fits.is_none() {
                st.fits = Some(Notifier::new()?);
            }
            st.blocked.push(v);
            self.changed(&st);
            st.fits.as_ref().map(Notifier::wake)
        };
        let r = match wake {
            Some(w) => poll::sleep_on(&[w], None).map(drop),
            None => Ok(()),
        };
        let mut st = lock(&self.state);
        if let Some(i) = st.blocked.iter().position(|&b| b == v) {
            st.blocked.swap_remove(i);
        }
        self.changed(&st);
        r
    }

    /// The value /proc/PID/fdinfo shows.
    pub fn count(&self) -> u64 {
        lock(&self.state).count
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
        let mut st = lock(&self.state);
        let mut ev = 0;
        if st.count > 0 {
            ev |= g::POLLIN | g::POLLRDNORM;
        } else {
            wake.push(self.readable.wake());
        }
        if st.count < MAX {
            ev |= g::POLLOUT | g::POLLWRNORM;
        } else if events & (g::POLLOUT | g::POLLWRNORM) != 0 {
            if st.room.is_none() {
                st.room = Notifier::new().ok();
                self.changed(&st);
            }
            if let Some(room) = &st.room {
                wake.push(room.wake());
            }
        }
        Ready::Now(ev)
    }

    fn pollable(&self) -> bool {
        true
    }

    fn after_fork(&self) {
        let st = lock(&self.state);
        self.readable.renew();
        for n in [&st.room, &st.fits].into_iter().flatten() {
            n.renew();
        }
    }
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
