//! Host event sources that the runtime's pollable kinds sleep on (macOS
//! side): the exit of a process (a kqueue with an EVFILT_PROC NOTE_EXIT
//! filter, readable once the process has exited).

use crate::host::{HostFd, HostResult};

fn kqueue() -> HostResult<HostFd> {
    // SAFETY: plain call.
    let kq = unsafe { libc::kqueue() };
    if kq < 0 {
        return Err(super::errno::last());
    }
    crate::host::fs::set_host_cloexec(kq, true)?;
    Ok(kq)
}

/// A host fd readable (POLLIN) once host process `host_pid` has exited;
/// ESRCH when there is no such process.
pub fn process_exit(host_pid: i32) -> HostResult<HostFd> {
    let kq = kqueue()?;
    let ev = libc::kevent {
        ident: host_pid as libc::uintptr_t,
        filter: libc::EVFILT_PROC,
        flags: libc::EV_ADD | libc::EV_ONESHOT,
        fflags: libc::NOTE_EXIT,
        data: 0,
        udata: core::ptr::null_mut(),
    };
    // SAFETY: one valid change, no event list.
    let r = unsafe { libc::kevent(kq, &ev, 1, core::ptr::null_mut(), 0, core::ptr::null()) };
    if r < 0 {
        let e = super::errno::last();
        crate::host::fs::close(kq);
        // A zombie cannot be watched any more, but it has exited: a
        // pipe with a byte in it is readable for good.
        if e == crate::abi::Errno::ESRCH && crate::host::process::kill(host_pid, 0).is_ok() {
            let (r, w) = crate::host::fs::pipe()?;
            let _ = crate::host::fs::write(w, &[1]);
            crate::host::fs::close(w);
            return Ok(r);
        }
        return Err(e);
    }
    Ok(kq)
}

/// In a forked child, the exit watch `fd` of `host_pid` inherited from the
/// parent: a kqueue is not inherited across fork, so the child makes its own.
pub fn process_exit_after_fork(_fd: HostFd, host_pid: i32) -> HostResult<HostFd> {
    process_exit(host_pid)
}

/// The host fd an exit watch keeps open across execve: none, a kqueue
/// does not cross (the new runtime watches the pid again).
pub fn process_exit_exec_fd(_fd: HostFd) -> Option<HostFd> {
    None
}

/// After execve, the exit watch of `host_pid` (`kept`: what
/// `process_exit_exec_fd` kept). A process that was reaped and whose pid
/// was reused meanwhile would be watched instead: macOS has no pidfd.
pub fn process_exit_after_exec(_kept: Option<HostFd>, host_pid: i32) -> HostResult<HostFd> {
    process_exit(host_pid)
}

/// Sends host signal `host_sig` (0: only probe) to the process an exit
/// watch names. macOS has no pidfd: a plain kill, which a reaped process's
/// reused pid would misdirect.
pub fn signal_process(_fd: HostFd, host_pid: i32, host_sig: i32) -> HostResult<()> {
    crate::host::process::kill(host_pid, host_sig)
}

/// One change a file-system watcher saw, in Linux inotify terms (`IN_*`
/// mask bits, the watch descriptor, the move cookie and the name inside a
/// watched directory).
pub struct FsEvent {
    pub wd: i32,
    pub mask: u32,
    pub cookie: u32,
    pub name: Vec<u8>,
}

/// Watches files and directories for changes: a kqueue with an
/// EVFILT_VNODE filter per watched file (opened O_EVTONLY), its notes
/// turned into inotify events here. A directory's NOTE_WRITE is turned
/// into IN_CREATE, IN_DELETE and IN_MOVED_FROM/TO by comparing its listing
/// with the one taken before.
///
/// What kqueue cannot tell, and a Linux host's inotify can: IN_OPEN,
/// IN_ACCESS, IN_CLOSE_WRITE, IN_CLOSE_NOWRITE (never reported), and
/// IN_MODIFY or IN_ATTRIB of a file inside a watched directory (only the
/// file's own watch reports them).
pub struct FsWatcher {
    kq: HostFd,
    st: std::sync::Mutex<MacState>,
}

#[derive(Default)]
struct MacState {
    watches: Vec<MacWatch>,
    next_wd: i32,
    next_cookie: u32,
    /// Events made without the kqueue (IN_IGNORED after a removal).
    pending: Vec<FsEvent>,
}

struct MacWatch {
    wd: i32,
    fd: HostFd,
    mask: u32,
    dev: u64,
    ino: u64,
    /// A directory's entries as last seen: name, inode, is a directory.
    listing: Option<Vec<(Vec<u8>, u64, bool)>>,
}

use linux_raw_sys::general as lg;

const VNODE_NOTES: u32 =
    libc::NOTE_DELETE | libc::NOTE_WRITE | libc::NOTE_EXTEND | libc::NOTE_ATTRIB | libc::NOTE_LINK | libc::NOTE_RENAME | libc::NOTE_REVOKE;

fn list_dir(fd: HostFd) -> Vec<(Vec<u8>, u64, bool)> {
    let Ok(d) = crate::host::fs::open_dir_at(fd, c"") else { return Vec::new() };
    let mut out = Vec::new();
    while let Ok(batch) = crate::host::fs::read_dir(d) {
        if batch.is_empty() {
            break;
        }
        for e in batch {
            if e.name != b"." && e.name != b".." {
                out.push((e.name, e.ino, e.d_type == lg::DT_DIR as u8));
            }
        }
    }
    crate::host::fs::close(d);
    out
}

impl FsWatcher {
    pub fn new() -> HostResult<FsWatcher> {
        Ok(FsWatcher { kq: kqueue()?, st: std::sync::Mutex::new(MacState { next_wd: 1, next_cookie: 1, ..MacState::default() }) })
    }

    /// Readable (POLLIN) while kqueue events wait to be read.
    pub fn wake_fd(&self) -> HostFd {
        self.kq
    }

    fn state(&self) -> std::sync::MutexGuard<'_, MacState> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Watches `name` in directory `dir` (not following a symlink there)
    /// for the Linux events in `mask`; the same file gets the same wd.
    pub fn add(&self, dir: HostFd, name: &core::ffi::CStr, mask: u32) -> HostResult<i32> {
        let at = if name.is_empty() { c"." } else { name };
        // SAFETY: valid NUL-terminated name.
        let fd = unsafe { libc::openat(dir, at.as_ptr(), libc::O_EVTONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(super::errno::last());
        }
        let st = match crate::host::fs::fstat(fd) {
            Ok(st) => st,
            Err(e) => {
                crate::host::fs::close(fd);
                return Err(e);
            }
        };
        let mut s = self.state();
        if let Some(w) = s.watches.iter_mut().find(|w| w.dev == st.dev && w.ino == st.ino) {
            crate::host::fs::close(fd);
            if mask & lg::IN_MASK_CREATE != 0 {
                return Err(crate::abi::Errno::EEXIST);
            }
            w.mask = if mask & lg::IN_MASK_ADD != 0 { w.mask | mask } else { mask };
            return Ok(w.wd);
        }
        let wd = s.next_wd;
        if let Err(e) = register(self.kq, fd, wd) {
            crate::host::fs::close(fd);
            return Err(e);
        }
        s.next_wd += 1;
        let is_dir = st.mode & lg::S_IFMT == lg::S_IFDIR;
        let listing = is_dir.then(|| list_dir(fd));
        s.watches.push(MacWatch { wd, fd, mask, dev: st.dev, ino: st.ino, listing });
        Ok(wd)
    }

    /// Stops watch `wd`; its IN_IGNORED event follows.
    pub fn remove(&self, wd: i32) -> HostResult<()> {
        let mut s = self.state();
        let i = s.watches.iter().position(|w| w.wd == wd).ok_or(crate::abi::Errno::EINVAL)?;
        let w = s.watches.remove(i);
        // Closing the file drops its kqueue filter.
        crate::host::fs::close(w.fd);
        s.pending.push(FsEvent { wd, mask: lg::IN_IGNORED, cookie: 0, name: Vec::new() });
        Ok(())
    }

    /// The events waiting now (none: an empty list), oldest first.
    pub fn read_events(&self) -> HostResult<Vec<FsEvent>> {
        let mut s = self.state();
        let mut out = std::mem::take(&mut s.pending);
        // SAFETY: a zeroed kevent array is a valid output buffer.
        let mut evs: [libc::kevent; 64] = unsafe { core::mem::zeroed() };
        let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: valid output array and timeout.
        let n = unsafe { libc::kevent(self.kq, core::ptr::null(), 0, evs.as_mut_ptr(), evs.len() as i32, &zero) };
        if n < 0 {
            return if out.is_empty() { Err(super::errno::last()) } else { Ok(out) };
        }
        for ev in &evs[..n as usize] {
            let wd = ev.udata as usize as i32;
            let Some(i) = s.watches.iter().position(|w| w.wd == wd) else { continue };
            let notes = ev.fflags;
            let mut found = Vec::new();
            if notes & (libc::NOTE_WRITE | libc::NOTE_LINK) != 0 && s.watches[i].listing.is_some() {
                let cookie_base = s.next_cookie;
                let w = &mut s.watches[i];
                let now = list_dir(w.fd);
                let before = w.listing.replace(now.clone()).unwrap_or_default();
                let mut cookies = 0;
                for (name, ino, is_dir) in &before {
                    if now.iter().any(|(n, _, _)| n == name) {
                        continue;
                    }
                    let isdir = if *is_dir { lg::IN_ISDIR } else { 0 };
                    match now.iter().find(|(n, i2, _)| i2 == ino && !before.iter().any(|(b, _, _)| b == n)) {
                        Some((to, _, _)) => {
                            let cookie = cookie_base + cookies;
                            cookies += 1;
                            found.push((lg::IN_MOVED_FROM | isdir, cookie, name.clone()));
                            found.push((lg::IN_MOVED_TO | isdir, cookie, to.clone()));
                        }
                        None => found.push((lg::IN_DELETE | isdir, 0, name.clone())),
                    }
                }
                for (name, ino, is_dir) in &now {
                    let known = before.iter().any(|(n, _, _)| n == name);
                    let moved_here = before.iter().any(|(n, i2, _)| i2 == ino && !now.iter().any(|(m, _, _)| m == n));
                    if !known && !moved_here {
                        found.push((lg::IN_CREATE | if *is_dir { lg::IN_ISDIR } else { 0 }, 0, name.clone()));
                    }
                }
                s.next_cookie = cookie_base + cookies;
            } else if notes & (libc::NOTE_WRITE | libc::NOTE_EXTEND) != 0 {
                found.push((lg::IN_MODIFY, 0, Vec::new()));
            }
            if notes & (libc::NOTE_ATTRIB | libc::NOTE_LINK) != 0 && s.watches[i].listing.is_none() {
                found.push((lg::IN_ATTRIB, 0, Vec::new()));
            }
            if notes & libc::NOTE_RENAME != 0 {
                found.push((lg::IN_MOVE_SELF, 0, Vec::new()));
            }
            let gone = notes & (libc::NOTE_DELETE | libc::NOTE_REVOKE) != 0;
            if gone {
                found.push((lg::IN_DELETE_SELF, 0, Vec::new()));
            }
            let mask = s.watches[i].mask;
            let mut fired = false;
            for (m, cookie, name) in found {
                if m & mask & lg::IN_ALL_EVENTS != 0 {
                    out.push(FsEvent { wd, mask: m, cookie, name });
                    fired = true;
                }
            }
            if gone || (fired && mask & lg::IN_ONESHOT != 0) {
                let w = s.watches.remove(i);
                crate::host::fs::close(w.fd);
                out.push(FsEvent { wd, mask: lg::IN_IGNORED, cookie: 0, name: Vec::new() });
            }
        }
        Ok(out)
    }
}

/// Adds the EVFILT_VNODE filter of watched file `fd` (watch `wd`) to `kq`.
fn register(kq: HostFd, fd: HostFd, wd: i32) -> HostResult<()> {
    let ev = libc::kevent {
        ident: fd as libc::uintptr_t,
        filter: libc::EVFILT_VNODE,
        flags: libc::EV_ADD | libc::EV_CLEAR,
        fflags: VNODE_NOTES,
        data: 0,
        udata: wd as usize as *mut libc::c_void,
    };
    // SAFETY: one valid change, no event list.
    if unsafe { libc::kevent(kq, &ev, 1, core::ptr::null_mut(), 0, core::ptr::null()) } < 0 {
        return Err(super::errno::last());
    }
    Ok(())
}

/// A watcher as it crosses execve: a kqueue does not, so the watches go
/// as their files' fds (kept open) and what was known of each, and the
/// new runtime makes a kqueue and adds their filters again. A change the
/// old kqueue had not reported yet, or one made while the exec runs, is
/// not seen (a directory's next change compares with the listing taken
/// before, so names created meanwhile show up then).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct FsWatcherState {
    watches: Vec<(i32, HostFd, u32, u64, u64, Option<Vec<(Vec<u8>, u64, bool)>>)>,
    next_wd: i32,
    next_cookie: u32,
    pending: Vec<(i32, u32, u32, Vec<u8>)>,
}

impl FsWatcher {
    /// What crosses execve, and the host fds to keep open for it.
    pub fn exec_state(&self) -> (FsWatcherState, Vec<HostFd>) {
        let s = self.state();
        let watches: Vec<_> = s.watches.iter().map(|w| (w.wd, w.fd, w.mask, w.dev, w.ino, w.listing.clone())).collect();
        let fds = watches.iter().map(|w| w.1).collect();
        let pending = s.pending.iter().map(|e| (e.wd, e.mask, e.cookie, e.name.clone())).collect();
        (FsWatcherState { watches, next_wd: s.next_wd, next_cookie: s.next_cookie, pending }, fds)
    }

    /// The watcher again after execve; takes over the watched files' fds
    /// once it has a kqueue (on an error they are still the caller's; a
    /// watch whose filter cannot be added is lost, its fd closed).
    pub fn from_exec_state(st: FsWatcherState) -> HostResult<FsWatcher> {
        let kq = kqueue()?;
        let mut watches = Vec::new();
        for (wd, fd, mask, dev, ino, listing) in st.watches {
            if register(kq, fd, wd).is_err() {
                crate::host::fs::close(fd);
                continue;
            }
            watches.push(MacWatch { wd, fd, mask, dev, ino, listing });
        }
        let pending = st.pending.into_iter().map(|(wd, mask, cookie, name)| FsEvent { wd, mask, cookie, name }).collect();
        let state = MacState { watches, next_wd: st.next_wd, next_cookie: st.next_cookie, pending };
        Ok(FsWatcher { kq, st: std::sync::Mutex::new(state) })
    }
}

impl Drop for FsWatcher {
    fn drop(&mut self) {
        for w in &self.state().watches {
            crate::host::fs::close(w.fd);
        }
        crate::host::fs::close(self.kq);
    }
}

/// A watch queue: a kqueue (close-on-exec) that turns readable when one
/// of the host fds it watches does. Watched with EV_CLEAR
/// ([`queue_watch`] with `edge`), it is an edge queue: readable at each
/// new edge of one of them (each arrival of data or change of room to
/// write: what a guest's EPOLLET registration must hear of); watched
/// without, it stands for them in a sleeper's host poll without holding
/// their files for the whole sleep.
pub fn queue() -> HostResult<HostFd> {
    kqueue()
}

/// Watches `fd` for the Linux poll `events` (reading and writing sides),
/// edge- or level-triggered, again if it is watched already.
pub fn queue_watch(q: HostFd, fd: HostFd, events: u32, edge: bool) -> HostResult<()> {
    let trigger = if edge { libc::EV_CLEAR } else { 0 };
    let mut changes = Vec::with_capacity(2);
    for (filter, side) in [(libc::EVFILT_READ, lg::POLLIN | lg::POLLPRI | lg::POLLRDHUP), (libc::EVFILT_WRITE, lg::POLLOUT)] {
        // A side not asked for goes, so that a change of events is seen.
        let flags = if events & side != 0 { libc::EV_ADD | trigger } else { libc::EV_DELETE };
        let change = libc::kevent { ident: fd as libc::uintptr_t, filter, flags, fflags: 0, data: 0, udata: core::ptr::null_mut() };
        changes.push(change);
    }
    for change in &changes {
        // SAFETY: one valid change, no event list.
        let r = unsafe { libc::kevent(q, change, 1, core::ptr::null_mut(), 0, core::ptr::null()) };
        // ENOENT: a side not asked for that was not watched.
        if r < 0 && !(change.flags == libc::EV_DELETE && super::errno::last() == crate::abi::Errno::ENOENT) {
            return Err(super::errno::last());
        }
    }
    Ok(())
}

/// Stops watching `fd`; an error when the queue had no watch of it (the
/// host drops a kqueue's watches of a fd when it is closed).
pub fn queue_unwatch(q: HostFd, fd: HostFd) -> HostResult<()> {
    let mut removed = None;
    for filter in [libc::EVFILT_READ, libc::EVFILT_WRITE] {
        let change = libc::kevent { ident: fd as libc::uintptr_t, filter, flags: libc::EV_DELETE, fflags: 0, data: 0, udata: core::ptr::null_mut() };
        // SAFETY: one valid change, no event list.
        let r = unsafe { libc::kevent(q, &change, 1, core::ptr::null_mut(), 0, core::ptr::null()) };
        match (r, &removed) {
            (0, _) => removed = Some(Ok(())),
            (_, None) => removed = Some(Err(super::errno::last())),
            _ => {}
        }
    }
    removed.unwrap_or(Err(crate::abi::Errno::ENOENT))
}

/// The host fds that had an edge since the last call (without waiting).
pub fn edge_take(q: HostFd) -> Vec<HostFd> {
    let mut out = Vec::new();
    let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    loop {
        // SAFETY: a zeroed kevent array is valid out-storage.
        let mut evs: [libc::kevent; 32] = unsafe { core::mem::zeroed() };
        // SAFETY: no changes, a valid event buffer, a zero timeout.
        let n = unsafe { libc::kevent(q, core::ptr::null(), 0, evs.as_mut_ptr(), 32, &zero) };
        if n <= 0 {
            return out;
        }
        out.extend(evs.iter().take(n as usize).map(|e| e.ident as HostFd));
        if n < 32 {
            return out;
        }
    }
}
