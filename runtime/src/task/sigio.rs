//! Signal-driven I/O (fcntl(2): O_ASYNC, F_SETOWN, F_SETOWN_EX, F_SETSIG):
//! the files of a process that the guest set O_ASYNC on, and the runtime
//! thread that sends their owners a signal at each I/O event.
//!
//! A file the guest turns O_ASYNC on for is *armed*: its host fd's events
//! go to this process's watcher thread (host/*/sigio.rs: on a Linux host
//! the host kernel's own fasync queues one host signal per event on the
//! watcher, with its reason and band, exactly as Linux does for the
//! guest). The watcher is one plain host thread (no guest thread, every
//! host signal blocked), started at the first file armed, which sleeps in
//! the host until an event, finds the open file of that host fd, and sends
//! the signal its owner asked for (Linux's `send_sigio`, fs/fcntl.c):
//! SIGIO with si_code SI_KERNEL when F_SETSIG is 0, else the F_SETSIG
//! signal with si_code `POLL_IN` ... `POLL_HUP`, si_band and si_fd (the fd
//! O_ASYNC was turned on through), queued per event; when a real-time
//! signal's queue is full, a plain SIGIO instead. Files without O_ASYNC
//! cost nothing: nothing watches them.
//!
//! The owner is the open file description's, as on Linux: a fork child
//! shares it (the events keep going to the process that armed the file,
//! which sends them to the owner), until one side sets an owner or
//! O_ASYNC again, which arms the file for that side's watcher. Closing the
//! last fd of the description ends its signals (the host fd closes).
//!
//! Lock order: `Sigio::state` is a leaf (the watcher copies the files out
//! before it reads their owners); the watcher sends with `Process::sig`
//! like the timer thread (`signal::send_from_runtime`), and asks the
//! daemon with no lock held.
//!
//! Divergences from Linux:
//! - Only host objects (pipes, FIFOs, sockets, terminals) signal; the
//!   runtime's own kinds (inotify among them) never do.
//! - An owner in another process (a pid, a group with other members, a
//!   thread of another task) gets the signal through a host queued signal
//!   that its runtime turns back into the same siginfo
//!   (`SigInfo::sigpoll_for_host`); several such signals pending at once
//!   may arrive as copies of the last one. On macOS, whose host has no
//!   queued signals, it arrives as a host `kill` sends it (si_code
//!   SI_USER, no si_band or si_fd).
//! - The owner's permission to be signalled is not checked
//!   (`sigio_perm`): every task belongs to one user here.
//! - SIGURG for out-of-band data is not sent to the owner.

use super::dnotify::DirNotify;
use super::{current, lock, Process, Thread};
use crate::abi::signal::Signal;
use crate::error::{Error, Result};
use crate::host::{self, HostFd};
use crate::signal::{SigInfo, Sent};
use crate::vfs::file::OpenFile;
use linux_raw_sys::general as g;
use std::sync::{Arc, Mutex, Weak};

/// Host stack of the watcher thread (as the timer thread's: it calls into
/// std and the daemon client).
const WATCHER_STACK: usize = 256 * 1024;

#[derive(Default)]
pub struct SigioState {
    /// The files armed by this process (weakly: a file's signals end with
    /// its last reference).
    files: Vec<Weak<OpenFile>>,
    /// This process's watcher, once started (never in a fork child until
    /// it arms a file of its own).
    watcher: Option<host::sigio::Watcher>,
    /// The directory notifications (fcntl F_NOTIFY), whose host watcher
    /// is armed on this process's watcher (task/dnotify.rs).
    dnotify: DirNotify,
}

impl SigioState {
    /// In a fork child: the watcher stayed with the parent, which keeps
    /// hearing of the files it armed (their owner is shared).
    pub fn after_fork_child(&mut self) {
        self.watcher = None;
        self.dnotify.after_fork_child();
    }

    /// This process's watcher, started the first time.
    fn watcher(&mut self) -> Result<host::sigio::Watcher> {
        match self.watcher {
            Some(w) => Ok(w),
            None => {
                let w = start_watcher()?;
                self.watcher = Some(w);
                Ok(w)
            }
        }
    }
}

#[derive(Default)]
pub struct Sigio {
    /// Guards the armed files and the watcher; a leaf.
    pub state: Mutex<SigioState>,
}

impl Sigio {
    /// Has this process's watcher hear of the I/O events of `file`, whose
    /// host fd is `h` (before O_ASYNC is turned on on the host).
    pub fn arm(&self, file: &Arc<OpenFile>, h: HostFd) -> Result<()> {
        let mut st = lock(&self.state);
        let w = st.watcher()?;
        host::sigio::arm(h, w).map_err(|e| Error::with_message(e, "cannot watch the file for signal-driven I/O"))?;
        st.files.retain(|f| f.strong_count() > 0);
        if !st.files.iter().any(|f| std::ptr::eq(f.as_ptr(), Arc::as_ptr(file))) {
            st.files.push(Arc::downgrade(file));
        }
        Ok(())
    }

    /// `file` (host fd `h`) had O_ASYNC turned off.
    pub fn disarm(&self, file: &Arc<OpenFile>, h: HostFd) {
        let mut st = lock(&self.state);
        if let Some(w) = st.watcher {
            host::sigio::disarm(h, w);
        }
        st.files.retain(|f| f.strong_count() > 0 && !std::ptr::eq(f.as_ptr(), Arc::as_ptr(file)));
    }

    /// fcntl F_NOTIFY with the events and flags in `arg` (at least one
    /// event) through `fd`, on directory `file`.
    pub fn dir_notify(&self, file: &Arc<OpenFile>, fd: i32, arg: u32) -> Result<()> {
        let mut st = lock(&self.state);
        let w = st.watcher()?;
        st.dnotify.set(file, fd, arg, |h| {
            host::sigio::arm_own(h, w).map_err(|e| Error::with_message(e, "cannot hear of the directory watcher's events"))
        })
    }

    /// `file`'s directory notification, if any (`DirNotify::mark_of`).
    pub fn dir_mark(&self, file: &OpenFile) -> Option<(i32, u32)> {
        lock(&self.state).dnotify.mark_of(file)
    }

    /// Ends `file`'s directory notification (F_NOTIFY 0, or one of its fds
    /// closed: Linux's `dnotify_flush`).
    pub fn dir_flush(&self, file: &OpenFile) {
        lock(&self.state).dnotify.flush(file);
    }

    /// If `h` is the directory watcher's host fd: the notifications its
    /// waiting events fire (task/dnotify.rs).
    fn dir_fired(&self, h: HostFd) -> Option<Vec<(Arc<OpenFile>, i32)>> {
        let mut st = lock(&self.state);
        if st.dnotify.wake_fd() != Some(h) {
            return None;
        }
        Some(st.dnotify.take_fired())
    }

    /// The live armed files on host fd `h`.
    fn files_on(&self, h: HostFd) -> Vec<Arc<OpenFile>> {
        let st = lock(&self.state);
        st.files.iter().filter_map(Weak::upgrade).filter(|f| f.host_fd() == Some(h)).collect()
    }
}

/// Starts the watcher thread and returns what arms a file for it.
fn start_watcher() -> Result<host::sigio::Watcher> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    // The thread works for the caller's process (a CLONE_VM child's own).
    let p = current();
    host::thread::spawn(
        WATCHER_STACK,
        Box::new(move || {
            crate::task::enter(p);
            let w = host::sigio::watcher_init();
            let _ = tx.send(w);
            watch(w);
        }),
    )
    .map_err(|e| Error::with_message(e, "cannot start the signal-driven I/O thread"))?;
    rx.recv().map_err(|_| crate::errno!(EAGAIN, "the signal-driven I/O thread did not start"))
}

/// The watcher thread: each event becomes the owner's signal.
fn watch(w: host::sigio::Watcher) {
    let p = current();
    loop {
        let ev = match host::sigio::wait(w) {
            Ok(Some(ev)) => ev,
            Ok(None) => continue,
            Err(_) => return,
        };
        if let Some(fired) = p.sigio.dir_fired(ev.fd) {
            // dnotify_handle_event: `send_sigio(fown, dn_fd, POLL_MSG)`.
            for (f, fd) in fired {
                notify(p, &f, fd, g::POLL_MSG as i32, i64::from(g::POLLIN | g::POLLRDNORM | g::POLLMSG));
            }
            continue;
        }
        for f in p.sigio.files_on(ev.fd) {
            if f.status() & g::FASYNC != 0 {
                let fd = lock(&f.async_owner).fd;
                notify(p, &f, fd, ev.code, ev.band);
            }
        }
    }
}

/// Plain SIGIO (F_SETSIG 0, or a full real-time queue): `SEND_SIG_PRIV`.
fn plain_sigio() -> SigInfo {
    SigInfo::kill(Signal::SIGIO, g::SI_KERNEL as i32, 0, 0)
}

/// Sends `f`'s owner the signal of an event with reason `code` and band
/// `band`, naming `fd` (`send_sigio`).
fn notify(p: &'static Process, f: &OpenFile, fd: i32, code: i32, band: i64) {
    let o = *lock(&f.async_owner);
    if o.pid == 0 {
        return;
    }
    let info = match Signal::from_raw(u64::from(o.sig)) {
        Some(sig) if o.sig != 0 => SigInfo::sigpoll(sig, code, band, fd),
        _ => plain_sigio(),
    };
    let me = p.pid() as i32;
    match o.kind {
        g::F_OWNER_TID => match p.thread(o.pid as u32) {
            Some(t) => send_here(p, Some(&t), info),
            None => send_elsewhere(o.pid, &info),
        },
        g::F_OWNER_PGRP => {
            let Ok(targets) = crate::syscall::proc_model::kill_targets(-o.pid) else {
                return;
            };
            for (vpid, host_pid) in targets {
                if vpid == me {
                    send_here(p, None, info);
                } else {
                    send_host(host_pid, &info);
                }
            }
        }
        _ if o.pid == me => send_here(p, None, info),
        _ => send_elsewhere(o.pid, &info),
    }
}

/// Queues `info` on this process or its thread `target`; a real-time
/// signal that finds its queue full becomes a plain SIGIO.
fn send_here(p: &Process, target: Option<&Thread>, info: SigInfo) {
    let mut st = lock(&p.sig);
    if crate::signal::send_from_runtime(&mut st, target, info) == Sent::Overflow {
        crate::signal::send_from_runtime(&mut st, target, plain_sigio());
    }
}

/// The owner is another task (or a thread of one): the host signal.
fn send_elsewhere(pid: i32, info: &SigInfo) {
    if let Ok(host_pid) = crate::syscall::proc_model::host_pid_of_task(pid) {
        send_host(host_pid, info);
    }
}

/// Queues `info` on the task in host process `host_pid`, its reason, band
/// and fd packed as that task's runtime unpacks them
/// (`SigInfo::sigpoll_for_host`); on a host without queued signals
/// (macOS), a plain host signal.
fn send_host(host_pid: i32, info: &SigInfo) {
    let Some(host_sig) = host::signal::to_host(info.signal()) else { return };
    let (code, value) = info.sigpoll_for_host();
    let _ = host::process::sigqueue(host_pid, host_sig, code, 0, value);
}
