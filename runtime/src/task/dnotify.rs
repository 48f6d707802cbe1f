//! Directory notification (fcntl(2) F_NOTIFY, "dnotify";
//! https://docs.kernel.org/filesystems/dnotify.html and
//! fs/notify/dnotify/dnotify.c): the directories a process asked to hear
//! of, and what their changes signal.
//!
//! A process's notifications share one host file-system watcher
//! (`host::watch::FsWatcher`: the host's inotify on Linux, a kqueue on
//! macOS) that watches each directory once, for the union of what was
//! asked of it. The watcher's host fd is armed on the process's
//! signal-driven I/O thread (task/sigio.rs), which, when it turns
//! readable, takes the host events, finds the notifications each one
//! fires and sends their owners the signal Linux sends (`send_sigio` with
//! band `POLL_MSG`: plain SIGIO, or the F_SETSIG signal with si_code
//! POLL_MSG, si_fd and si_band). A notification without DN_MULTISHOT is
//! removed when it fires; one is kept per open file description, as Linux
//! keeps one per (file, fd table), and a second F_NOTIFY adds its events to
//! it (`attach_dn`). Closing any fd of the description ends it
//! (`dnotify_flush`, called by the close paths of syscall/open.rs).
//!
//! State: [`DirNotify`] lives in `SigioState` under its lock (a leaf); the
//! host calls made under it do not sleep.
//!
//! Divergences from Linux:
//! - A directory without a host file behind it (/proc, /sys) never
//!   signals (Linux: those change without fsnotify events mostly too).
//! - A fork child has none of its own, as on Linux. execve keeps them
//!   with their fds (each is set again in the new image, whose watcher
//!   watches the directory anew: a change while the exec runs is missed).
//! - On macOS the host watcher reports no DN_ACCESS, and DN_MODIFY and
//!   DN_ATTRIB of a file in the directory only as the kqueue watcher can
//!   (host/macos/watch.rs).

use crate::abi::gen as g;
use crate::error::{Error, Result};
use crate::host::{self, HostFd};
use crate::vfs::file::OpenFile;
use std::sync::{Arc, Weak};

/// The DN_* event bits (`DN_MULTISHOT` is a flag, not an event).
pub const DN_EVENTS: u32 = g::DN_ACCESS | g::DN_MODIFY | g::DN_CREATE | g::DN_DELETE | g::DN_RENAME | g::DN_ATTRIB;

/// The host watcher's inotify events for the DN_* events in `dn`
/// (`convert_arg`: DN_DELETE is FS_DELETE and FS_MOVED_FROM, DN_CREATE
/// FS_CREATE and FS_MOVED_TO, DN_RENAME the FS_RENAME a rename sends its
/// old directory, which the host shows as IN_MOVED_FROM).
fn host_mask(dn: u32) -> u32 {
    let mut m = 0;
    if dn & g::DN_ACCESS != 0 {
        m |= g::IN_ACCESS;
    }
    if dn & g::DN_MODIFY != 0 {
        m |= g::IN_MODIFY;
    }
    if dn & g::DN_CREATE != 0 {
        m |= g::IN_CREATE | g::IN_MOVED_TO;
    }
    if dn & (g::DN_DELETE | g::DN_RENAME) != 0 {
        m |= g::IN_DELETE | g::IN_MOVED_FROM;
    }
    if dn & g::DN_ATTRIB != 0 {
        m |= g::IN_ATTRIB;
    }
    m
}

/// The Linux events one host event stands for, as the DN_* bits that hear
/// each, in the order Linux sends them (`fsnotify_move` sends FS_RENAME
/// before FS_MOVED_FROM). Events on the directory itself that dnotify
/// does not know (IN_DELETE_SELF, IN_IGNORED ...) stand for none.
fn dn_events(in_mask: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if in_mask & g::IN_MOVED_FROM != 0 {
        out.push(g::DN_RENAME);
        out.push(g::DN_DELETE);
    }
    if in_mask & g::IN_DELETE != 0 {
        out.push(g::DN_DELETE);
    }
    if in_mask & (g::IN_CREATE | g::IN_MOVED_TO) != 0 {
        out.push(g::DN_CREATE);
    }
    if in_mask & g::IN_MODIFY != 0 {
        out.push(g::DN_MODIFY);
    }
    if in_mask & g::IN_ACCESS != 0 {
        out.push(g::DN_ACCESS);
    }
    if in_mask & g::IN_ATTRIB != 0 {
        out.push(g::DN_ATTRIB);
    }
    out
}

/// One open file description's notification (Linux's `dnotify_struct`).
struct Mark {
    file: Weak<OpenFile>,
    /// The fd F_NOTIFY was last called through (`si_fd`).
    fd: i32,
    /// DN_* events and DN_MULTISHOT.
    mask: u32,
    /// The host watch of the directory; None for a directory without a
    /// host file.
    wd: Option<i32>,
}

/// A process's directory notifications and their host watcher.
#[derive(Default)]
pub struct DirNotify {
    watcher: Option<host::watch::FsWatcher>,
    marks: Vec<Mark>,
}

impl DirNotify {
    /// The host fd that turns readable at a watched change, once there is
    /// a watcher.
    pub fn wake_fd(&self) -> Option<HostFd> {
        self.watcher.as_ref().map(host::watch::FsWatcher::wake_fd)
    }

    /// F_NOTIFY with events in `arg`, through `fd`, on directory `file`;
    /// `arm` has the signal-driven I/O thread hear of a new watcher's fd.
    pub fn set(&mut self, file: &Arc<OpenFile>, fd: i32, arg: u32, arm: impl FnOnce(HostFd) -> Result<()>) -> Result<()> {
        let events = host_mask(arg);
        let wd = match file.host_fd() {
            // Bits Linux does not know are no events (`convert_arg`), and
            // the host would refuse a watch for none.
            Some(h) if events != 0 => {
                if self.watcher.is_none() {
                    let w = host::watch::FsWatcher::new().map_err(|e| Error::with_message(e, "cannot make the host watcher"))?;
                    arm(w.wake_fd())?;
                    self.watcher = Some(w);
                }
                let Some(w) = &self.watcher else { return Ok(()) };
                // Added to what the directory is watched for already: every
                // notification on it is filtered by its own mask.
                let mask = events | g::IN_MASK_ADD | g::IN_ONLYDIR;
                Some(w.add(h, c".", mask).map_err(|e| Error::with_message(e, "cannot watch the directory"))?)
            }
            _ => None,
        };
        self.prune();
        let bits = arg & (DN_EVENTS | g::DN_MULTISHOT);
        match self.marks.iter_mut().find(|m| std::ptr::eq(m.file.as_ptr(), Arc::as_ptr(file))) {
            Some(m) => {
                m.fd = fd;
                m.mask |= bits;
                if wd.is_some() {
                    m.wd = wd;
                }
            }
            None => self.marks.push(Mark { file: Arc::downgrade(file), fd, mask: bits, wd }),
        }
        Ok(())
    }

    /// `file`'s notification, if it has one: the fd it was set through and
    /// its DN_* bits (what execve carries, proc_model.rs `do_execve`).
    pub fn mark_of(&self, file: &OpenFile) -> Option<(i32, u32)> {
        self.marks.iter().find(|m| std::ptr::eq(m.file.as_ptr(), file)).map(|m| (m.fd, m.mask))
    }

    /// Ends `file`'s notification, if it has one (F_NOTIFY 0, a close).
    pub fn flush(&mut self, file: &OpenFile) {
        if self.marks.is_empty() {
            return;
        }
        let gone: Vec<Option<i32>> =
            self.marks.iter().filter(|m| std::ptr::eq(m.file.as_ptr(), file)).map(|m| m.wd).collect();
        self.marks.retain(|m| !std::ptr::eq(m.file.as_ptr(), file));
        for wd in gone {
            self.release(wd);
        }
        self.prune();
    }

    /// Takes the host events waiting now; returns the notifications they
    /// fired, one entry per signal to send (the file and its `si_fd`), and
    /// removes the one-shot ones among them (`dnotify_handle_event`).
    pub fn take_fired(&mut self) -> Vec<(Arc<OpenFile>, i32)> {
        let Some(w) = &self.watcher else { return Vec::new() };
        let events = w.read_events().unwrap_or_default();
        let mut out = Vec::new();
        let mut released = Vec::new();
        for e in events {
            for dn in dn_events(e.mask) {
                self.marks.retain(|m| {
                    if m.wd != Some(e.wd) || m.mask & dn == 0 {
                        return true;
                    }
                    if let Some(f) = m.file.upgrade() {
                        out.push((f, m.fd));
                    }
                    let keep = m.mask & g::DN_MULTISHOT != 0;
                    if !keep {
                        released.push(m.wd);
                    }
                    keep
                });
            }
        }
        for wd in released {
            self.release(wd);
        }
        self.prune();
        out
    }

    /// In a fork child: the notifications are the parent's (their owner
    /// is), and the watcher thread stayed with it. The child's copy of the
    /// host watcher's fd is closed; the parent's watches live on.
    pub fn after_fork_child(&mut self) {
        self.marks.clear();
        self.watcher = None;
    }

    /// Drops the notifications of files that are gone.
    fn prune(&mut self) {
        let dead: Vec<Option<i32>> = self.marks.iter().filter(|m| m.file.strong_count() == 0).map(|m| m.wd).collect();
        if dead.is_empty() {
            return;
        }
        self.marks.retain(|m| m.file.strong_count() > 0);
        for wd in dead {
            self.release(wd);
        }
    }

    /// Stops the host watch `wd` once no notification uses it (its
    /// IN_IGNORED stands for no Linux event).
    fn release(&mut self, wd: Option<i32>) {
        let Some(wd) = wd else { return };
        if self.marks.iter().any(|m| m.wd == Some(wd)) {
            return;
        }
        if let Some(w) = &self.watcher {
            let _ = w.remove(wd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dn_event_is_watched_for_on_the_host() {
        for dn in [g::DN_ACCESS, g::DN_MODIFY, g::DN_CREATE, g::DN_DELETE, g::DN_RENAME, g::DN_ATTRIB] {
            let hears = [g::IN_ACCESS, g::IN_MODIFY, g::IN_CREATE, g::IN_MOVED_TO, g::IN_DELETE, g::IN_MOVED_FROM, g::IN_ATTRIB]
                .into_iter()
                .filter(|&m| host_mask(dn) & m != 0)
                .any(|m| dn_events(m).contains(&dn));
            assert!(hears, "DN bit {dn:#x} is never heard of");
        }
        assert_eq!(host_mask(g::DN_MULTISHOT), 0);
    }

    #[test]
    fn a_rename_out_is_a_rename_then_a_deletion() {
        assert_eq!(dn_events(g::IN_MOVED_FROM), vec![g::DN_RENAME, g::DN_DELETE]);
        assert_eq!(dn_events(g::IN_MOVED_TO | g::IN_ISDIR), vec![g::DN_CREATE]);
        assert!(dn_events(g::IN_DELETE_SELF | g::IN_IGNORED).is_empty());
    }
}
