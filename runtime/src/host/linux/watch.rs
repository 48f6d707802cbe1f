//! Host event sources that the runtime's pollable kinds sleep on (Linux
//! side): the exit of a process (a host pidfd, readable once the process
//! has exited, whoever reaps it).

use crate::host::{HostFd, HostResult};

/// A host fd readable (POLLIN) once host process `host_pid` has exited;
/// ESRCH when there is no such process.
pub fn process_exit(host_pid: i32) -> HostResult<HostFd> {
    // SAFETY: plain call; the kernel makes the pidfd close-on-exec.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, host_pid, 0) };
    if fd < 0 { Err(super::errno::last()) } else { Ok(fd as HostFd) }
}

/// In a forked child, the exit watch `fd` of `host_pid` inherited from the
/// parent: a host pidfd is inherited and still names the process.
pub fn process_exit_after_fork(fd: HostFd, _host_pid: i32) -> HostResult<HostFd> {
    Ok(fd)
}

/// The host fd an exit watch keeps open across execve: the host pidfd
/// itself, which still names the process there.
pub fn process_exit_exec_fd(fd: HostFd) -> Option<HostFd> {
    Some(fd)
}

/// After execve, the exit watch of `host_pid`: the pidfd that crossed
/// (`process_exit_exec_fd`), or a new one when none did.
pub fn process_exit_after_exec(kept: Option<HostFd>, host_pid: i32) -> HostResult<HostFd> {
    match kept {
        Some(fd) => Ok(fd),
        None => process_exit(host_pid),
    }
}

/// Sends host signal `host_sig` (0: only probe) to the process an exit
/// watch names: through the pidfd, so a reaped process whose pid was
/// reused is ESRCH, not a stranger.
pub fn signal_process(fd: HostFd, _host_pid: i32, host_sig: i32) -> HostResult<()> {
    // SAFETY: plain call with a null siginfo.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd, host_sig, core::ptr::null::<libc::siginfo_t>(), 0) };
    if r < 0 { Err(super::errno::last()) } else { Ok(()) }
}

/// One change a file-system watcher saw, in Linux inotify terms (`IN_*`
/// mask bits, the watch descriptor the host gave, the move cookie and the
/// name inside a watched directory).
pub struct FsEvent {
    pub wd: i32,
    pub mask: u32,
    pub cookie: u32,
    pub name: Vec<u8>,
}

/// Watches files and directories for changes: a host inotify instance,
/// whose events are Linux's own.
pub struct FsWatcher {
    fd: HostFd,
}

/// `struct inotify_event` before its name: wd, mask, cookie, len.
const EVENT_HEADER: usize = 16;

impl FsWatcher {
    pub fn new() -> HostResult<FsWatcher> {
        // SAFETY: plain call.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 { Err(super::errno::last()) } else { Ok(FsWatcher { fd }) }
    }

    /// Readable (POLLIN) while events wait to be read.
    pub fn wake_fd(&self) -> HostFd {
        self.fd
    }

    /// Watches `name` in directory `dir` (not following a symlink there)
    /// for the Linux events and flags in `mask` (IN_DONT_FOLLOW is the
    /// caller's business: it resolved the path); returns the watch
    /// descriptor, the same for the same file.
    pub fn add(&self, dir: HostFd, name: &core::ffi::CStr, mask: u32) -> HostResult<i32> {
        let target = crate::host::fs::open_at(dir, name, linux_raw_sys::general::O_PATH, 0)?;
        // The fd's magic link reaches the very file the walk found.
        let path = std::ffi::CString::new(format!("/proc/self/fd/{target}")).unwrap_or_default();
        let mask = mask & !linux_raw_sys::general::IN_DONT_FOLLOW;
        // SAFETY: valid NUL-terminated path.
        let wd = unsafe { libc::inotify_add_watch(self.fd, path.as_ptr(), mask) };
        let r = if wd < 0 { Err(super::errno::last()) } else { Ok(wd) };
        crate::host::fs::close(target);
        r
    }

    /// Stops watch `wd`; its IN_IGNORED event follows.
    pub fn remove(&self, wd: i32) -> HostResult<()> {
        // SAFETY: plain call.
        let r = unsafe { libc::inotify_rm_watch(self.fd, wd) };
        if r < 0 { Err(super::errno::last()) } else { Ok(()) }
    }

    /// The events waiting now (none: an empty list), oldest first.
    pub fn read_events(&self) -> HostResult<Vec<FsEvent>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match crate::host::fs::read(self.fd, &mut buf) {
                Ok(n) => n,
                Err(crate::abi::Errno::EAGAIN) => return Ok(out),
                Err(e) if out.is_empty() => return Err(e),
                Err(_) => return Ok(out),
            };
            let mut at = 0;
            while at + EVENT_HEADER <= n {
                let word = |i: usize| u32::from_ne_bytes([buf[at + i], buf[at + i + 1], buf[at + i + 2], buf[at + i + 3]]);
                let len = word(12) as usize;
                let end = (at + EVENT_HEADER + len).min(n);
                let raw = &buf[at + EVENT_HEADER..end];
                let name = raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())].to_vec();
                out.push(FsEvent { wd: word(0) as i32, mask: word(4), cookie: word(8), name });
                at = end;
            }
            if n == 0 {
                return Ok(out);
            }
        }
    }
}

/// A watcher as it crosses execve: the host inotify fd itself, kept open
/// (its watches, their wds and the events not read yet stay with it).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct FsWatcherState {
    fd: HostFd,
}

impl FsWatcher {
    /// What crosses execve, and the host fds to keep open for it.
    pub fn exec_state(&self) -> (FsWatcherState, Vec<HostFd>) {
        (FsWatcherState { fd: self.fd }, vec![self.fd])
    }

    /// The watcher again after execve; takes the fd over.
    pub fn from_exec_state(st: FsWatcherState) -> HostResult<FsWatcher> {
        Ok(FsWatcher { fd: st.fd })
    }
}

impl Drop for FsWatcher {
    fn drop(&mut self) {
        crate::host::fs::close(self.fd);
    }
}

/// A watch queue: a host epoll instance (close-on-exec) that turns
/// readable when one of the host fds it watches does. Watched
/// edge-triggered ([`queue_watch`] with `edge`), it is an edge queue:
/// readable at each new edge of one of them (on Linux every arrival of
/// data, every wake-up for room to write: what a guest's EPOLLET
/// registration must hear of); watched level-triggered, it stands for
/// them in a sleeper's host poll without holding a reference to their
/// files, as a poll of the fds themselves would for the whole sleep.
pub fn queue() -> HostResult<HostFd> {
    // SAFETY: plain call.
    let q = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if q < 0 {
        return Err(super::errno::last());
    }
    Ok(q)
}

/// Watches `fd` for the Linux poll `events` (the same bits as the host's
/// epoll events), edge- or level-triggered, again if it is watched
/// already.
pub fn queue_watch(q: HostFd, fd: HostFd, events: u32, edge: bool) -> HostResult<()> {
    let trigger = if edge { libc::EPOLLET as u32 } else { 0 };
    let mut ev = libc::epoll_event { events: events | trigger, u64: fd as u64 };
    // SAFETY: a valid epoll_event for the call to read.
    if unsafe { libc::epoll_ctl(q, libc::EPOLL_CTL_ADD, fd, &mut ev) } == 0 {
        return Ok(());
    }
    let e = super::errno::last();
    if e != crate::abi::Errno::EEXIST {
        return Err(e);
    }
    // SAFETY: as above.
    if unsafe { libc::epoll_ctl(q, libc::EPOLL_CTL_MOD, fd, &mut ev) } < 0 {
        return Err(super::errno::last());
    }
    Ok(())
}

/// Stops watching `fd`. An error when the queue had no watch for the
/// file `fd` is now (closed, or its number another file's): a watch of
/// the old file may then still be in the queue, if that file is open
/// elsewhere (a fork child's copy), since the host drops a watch only
/// when its file's last reference goes.
pub fn queue_unwatch(q: HostFd, fd: HostFd) -> HostResult<()> {
    // SAFETY: EPOLL_CTL_DEL reads no event (a null one is allowed since 2.6.9).
    if unsafe { libc::epoll_ctl(q, libc::EPOLL_CTL_DEL, fd, core::ptr::null_mut()) } < 0 {
        return Err(super::errno::last());
    }
    Ok(())
}

/// The host fds that had an edge since the last call (without waiting).
pub fn edge_take(q: HostFd) -> Vec<HostFd> {
    let mut out = Vec::new();
    loop {
        // SAFETY: a zeroed epoll_event array is valid out-storage.
        let mut evs: [libc::epoll_event; 32] = unsafe { core::mem::zeroed() };
        // SAFETY: valid buffer of 32 events, no timeout.
        let n = unsafe { libc::epoll_wait(q, evs.as_mut_ptr(), 32, 0) };
        if n <= 0 {
            return out;
        }
        out.extend(evs.iter().take(n as usize).map(|e| e.u64 as HostFd));
        if n < 32 {
            return out;
        }
    }
}
