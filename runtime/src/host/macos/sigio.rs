//! Signal-driven I/O on macOS: the host has no F_SETSIG (its O_ASYNC
//! sends a bare SIGIO to a process or group, with no fd), so the watcher
//! thread (task/sigio.rs) waits on a kqueue instead, with the host fds the
//! guest set O_ASYNC on registered edge-triggered (EV_CLEAR: one event per
//! arrival of data, as Linux signals each).
//!
//! Divergences from Linux (macOS only): readability and end of file are
//! reported (POLL_IN, POLL_HUP), writability is not (POLL_OUT).

use crate::host::{HostFd, HostResult};

/// The watcher's kqueue.
#[derive(Clone, Copy, Debug)]
pub struct Watcher(HostFd);

/// One I/O event: the host fd, `si_code` (Linux `POLL_IN` ...) and
/// `si_band` (Linux poll bits).
#[derive(Clone, Copy, Debug)]
pub struct IoEvent {
    pub fd: HostFd,
    pub code: i32,
    pub band: i64,
}

/// Called on the watcher thread before it is armed anywhere: its kqueue
/// (a watcher without one never hears of an event).
pub fn watcher_init() -> Watcher {
    // SAFETY: plain call.
    let kq = unsafe { libc::kqueue() };
    if kq >= 0 {
        let _ = crate::host::fs::set_host_cloexec(kq, true);
    }
    Watcher(kq)
}

fn change(fd: HostFd, w: Watcher, flags: u16) -> HostResult<()> {
    let ev = libc::kevent {
        ident: fd as libc::uintptr_t,
        filter: libc::EVFILT_READ,
        flags,
        fflags: 0,
        data: 0,
        udata: core::ptr::null_mut(),
    };
    // SAFETY: one valid change, no event list.
    if unsafe { libc::kevent(w.0, &ev, 1, core::ptr::null_mut(), 0, core::ptr::null()) } < 0 {
        return Err(super::errno::last());
    }
    Ok(())
}

/// Has `w` hear of every arrival of data on `fd` and of its end.
pub fn arm(fd: HostFd, w: Watcher) -> HostResult<()> {
    change(fd, w, libc::EV_ADD | libc::EV_CLEAR)
}

/// Has `w` hear of every event of `fd`, a host fd of the runtime's own
/// that no guest O_ASYNC follows (the watcher of directory notifications,
/// task/dnotify.rs: a kqueue, readable in another kqueue): as [`arm`].
pub fn arm_own(fd: HostFd, w: Watcher) -> HostResult<()> {
    arm(fd, w)
}

/// `fd` is watched no more.
pub fn disarm(fd: HostFd, w: Watcher) {
    let _ = change(fd, w, libc::EV_DELETE);
}

/// On the watcher thread: waits for the next event (None: interrupted).
pub fn wait(w: Watcher) -> HostResult<Option<IoEvent>> {
    use linux_raw_sys::general as g;
    // SAFETY: a zeroed kevent is valid out-storage.
    let mut ev: libc::kevent = unsafe { core::mem::zeroed() };
    // SAFETY: no changes, one slot for the event, no timeout.
    let n = unsafe { libc::kevent(w.0, core::ptr::null(), 0, &mut ev, 1, core::ptr::null()) };
    if n < 0 {
        let e = super::errno::last();
        return if e == crate::abi::Errno::EINTR { Ok(None) } else { Err(e) };
    }
    if n != 1 {
        return Ok(None);
    }
    let fd = ev.ident as HostFd;
    if ev.flags & libc::EV_EOF != 0 {
        return Ok(Some(IoEvent { fd, code: g::POLL_HUP as i32, band: i64::from(g::POLLHUP | g::POLLERR) }));
    }
    Ok(Some(IoEvent { fd, code: g::POLL_IN as i32, band: i64::from(g::POLLIN | g::POLLRDNORM) }))
}
