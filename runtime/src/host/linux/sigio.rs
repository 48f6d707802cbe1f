//! Signal-driven I/O on a Linux host: the host kernel's own fasync
//! machinery tells the runtime's watcher thread (task/sigio.rs) of every
//! I/O event of a host fd the guest set O_ASYNC on, exactly as Linux tells
//! a guest: one queued signal per event, with its reason (`POLL_IN` ...),
//! band and fd (fcntl(2), F_SETSIG). The host fd's owner is the watcher
//! thread (F_SETOWN_EX with F_OWNER_TID) and its signal [`IO_EVENT_SIGNAL`],
//! which the watcher blocks and takes with `rt_sigtimedwait`; the guest
//! signal is then sent by the runtime, to the guest's owner.

use crate::host::{HostFd, HostResult};

/// The host signal the host kernel queues on the watcher thread for each
/// event: 32, which the host libc keeps for itself (thread cancellation,
/// which the runtime never uses) and which the runtime does not take as a
/// guest signal (host/linux/trap.rs `is_async_signal`); one sent by kill
/// or sigqueue is told apart by its code ([`wait`]). A real-time signal,
/// so that the host queues one per event with its siginfo.
const IO_EVENT_SIGNAL: i32 = 32;

/// The thread the host sends the events to: its host tid.
#[derive(Clone, Copy, Debug)]
pub struct Watcher(i32);

/// One I/O event: the host fd, `si_code` (`POLL_IN` ... `POLL_HUP`, the
/// same numbers as Linux's) and `si_band` (Linux poll bits).
#[derive(Clone, Copy, Debug)]
pub struct IoEvent {
    pub fd: HostFd,
    pub code: i32,
    pub band: i64,
}

/// The kernel's sigset of [`IO_EVENT_SIGNAL`], built by hand: the C
/// library's sigaddset refuses its own signals.
const EVENT_SET: u64 = 1 << (IO_EVENT_SIGNAL - 1);

/// Called on the watcher thread itself before it is armed anywhere:
/// blocks every host signal with the raw call (the C library's wrapper
/// would leave its own signal 32 open, whose default action ends the
/// process) and returns the thread's id for [`arm`].
pub fn watcher_init() -> Watcher {
    let all: u64 = !0;
    // SAFETY: the raw rt_sigprocmask on the calling thread with a valid
    // 8-byte set; no old set asked for.
    unsafe { libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK, &all as *const u64, core::ptr::null_mut::<u64>(), 8usize) };
    // SAFETY: gettid has no preconditions.
    Watcher(unsafe { libc::gettid() })
}

/// Has the host tell `w` of every I/O event of `fd` (before its O_ASYNC
/// is turned on, so that a terminal does not pick an owner of its own).
pub fn arm(fd: HostFd, w: Watcher) -> HostResult<()> {
    use linux_raw_sys::general as g;
    // SAFETY: plain fcntl on an fd of ours.
    if unsafe { libc::fcntl(fd, g::F_SETSIG as i32, IO_EVENT_SIGNAL) } < 0 {
        return Err(crate::host::errno::last());
    }
    // `struct f_owner_ex { int type; pid_t pid; }`.
    let owner: [i32; 2] = [g::F_OWNER_TID as i32, w.0];
    // SAFETY: fcntl with a valid f_owner_ex.
    if unsafe { libc::fcntl(fd, g::F_SETOWN_EX as i32, owner.as_ptr()) } < 0 {
        return Err(crate::host::errno::last());
    }
    Ok(())
}

/// Has the host tell `w` of every I/O event of `fd`, a host fd of the
/// runtime's own that no guest O_ASYNC follows (the watcher of directory
/// notifications, task/dnotify.rs): [`arm`], then the host's O_ASYNC on.
pub fn arm_own(fd: HostFd, w: Watcher) -> HostResult<()> {
    arm(fd, w)?;
    // SAFETY: plain fcntl on an fd of ours.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_ASYNC) } < 0 {
        return Err(crate::host::errno::last());
    }
    Ok(())
}

/// The events of `fd` go to nobody any more (O_ASYNC is being turned off;
/// the host stops by that already).
pub fn disarm(_fd: HostFd, _w: Watcher) {}

/// On the watcher thread: waits for the next event (None: interrupted).
pub fn wait(_w: Watcher) -> HostResult<Option<IoEvent>> {
    // SAFETY: a zeroed siginfo is valid out-storage.
    let mut info: libc::siginfo_t = unsafe { core::mem::zeroed() };
    // SAFETY: the raw rt_sigtimedwait (the wrapper may drop signal 32 from
    // the set) with a valid set, out-parameter and no timeout.
    let r = unsafe {
        libc::syscall(
            libc::SYS_rt_sigtimedwait,
            &EVENT_SET as *const u64,
            &mut info as *mut libc::siginfo_t,
            core::ptr::null::<libc::timespec>(),
            8usize,
        )
    };
    if r < 0 {
        let e = crate::host::errno::last();
        return if e == crate::abi::Errno::EINTR { Ok(None) } else { Err(e) };
    }
    // Only the host's own events (POLL_IN 1 ... POLL_HUP 6): a signal 32
    // someone sent with kill or sigqueue is no event of any fd.
    if r != i64::from(IO_EVENT_SIGNAL) || !(1..=6).contains(&info.si_code) {
        return Ok(None);
    }
    // SAFETY: the kernel's siginfo is 128 bytes.
    let raw = unsafe { core::slice::from_raw_parts(&info as *const libc::siginfo_t as *const u8, 128) };
    // `_sigpoll { long si_band; int si_fd; }` at 16 (the Linux layout).
    let i64_at = |o: usize| raw.get(o..o + 8).and_then(|b| b.try_into().ok()).map(i64::from_ne_bytes).unwrap_or(0);
    let i32_at = |o: usize| raw.get(o..o + 4).and_then(|b| b.try_into().ok()).map(i32::from_ne_bytes).unwrap_or(0);
    Ok(Some(IoEvent { fd: i32_at(24), code: info.si_code, band: i64_at(16) }))
}
