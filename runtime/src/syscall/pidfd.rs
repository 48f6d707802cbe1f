//! pidfd_open(2), pidfd_send_signal(2), pidfd_getfd(2): a file descriptor
//! that names a process. https://man7.org/linux/man-pages/man2/pidfd_open.2.html
//!
//! A pidfd holds a host "exit watch" of the target's host process
//! (`host::watch`: a host pidfd on Linux, a kqueue NOTE_EXIT on macOS),
//! which the host makes readable once the process has exited: poll, select
//! and epoll sleep on it directly, for a child or any other task, with no
//! polling. waitid(P_PIDFD) (proc_model.rs) and clone's CLONE_PIDFD use
//! the same kind. pidfd_send_signal also takes an fd of a /proc/PID
//! directory, as Linux does, and signals that pid as kill(2) or
//! rt_sigqueueinfo(2) would.
//!
//! Divergences from Linux:
//! - pidfd_getfd works only on a pidfd of the caller itself: another task's
//!   fds live in another host process, which cannot hand them over, so it
//!   is EPERM (as Linux answers when ptrace access is denied).
//! - pidfd_send_signal with a siginfo is only for the caller itself (as
//!   rt_sigqueueinfo); PIDFD_SIGNAL_THREAD and PIDFD_SIGNAL_THREAD_GROUP
//!   signal the process, PIDFD_SIGNAL_PROCESS_GROUP is EINVAL.
//! - A pidfd of a thread (PIDFD_THREAD) is EINVAL, as before Linux 6.9.
//! - After the target is reaped, fdinfo still shows its pid (Linux: -1).
//! - A child's copy after fork watches the same process. execve keeps a
//!   pidfd (`FileOps::exec_state`); on macOS the new runtime watches the
//!   host pid again, which a reaped process's reused pid would misdirect.

use super::{args, Ctx};
use crate::abi::gen as g;
use crate::abi::signal::Signal;
use crate::error::{Error, Result};
use crate::host::{self, HostFd, HostStat};
use crate::task::{current, lock};
use crate::vfs::file::{hold, try_hold, ExecIds, ExecKind, ExecObjects, FileOps, ForkHolds, KindState, OpenFile};
use crate::vfs::poll::Ready;
use crate::{errno, return_errno, return_errno_with_message};
use mactux_proto::Vpid;
use std::any::Any;
use std::sync::{Arc, Mutex};

const PIDFD_NONBLOCK: u32 = g::O_NONBLOCK;
/// pidfd_send_signal flags (include/uapi/linux/pidfd.h, Linux 6.9).
const PIDFD_SIGNAL_THREAD: u32 = 1 << 0;
const PIDFD_SIGNAL_THREAD_GROUP: u32 = 1 << 1;
const PIDFD_SIGNAL_PROCESS_GROUP: u32 = 1 << 2;

pub struct PidFd {
    /// The target's pid in the namespace.
    pub pid: Vpid,
    pub host_pid: i32,
    /// Readable once the target has exited (`host::watch::process_exit`).
    exit: Mutex<HostFd>,
}

impl PidFd {
    fn new(pid: Vpid, host_pid: i32) -> Result<PidFd> {
        let exit = host::watch::process_exit(host_pid).map_err(|e| Error::with_message(e, "no such process"))?;
        Ok(PidFd { pid, host_pid, exit: Mutex::new(exit) })
    }

    /// Whether the target has exited (a zombie or reaped).
    pub fn has_exited(&self) -> bool {
        let mut req = [(*lock(&self.exit), g::POLLIN, 0)];
        matches!(host::fs::poll(&mut req, 0), Ok(n) if n > 0) && req[0].2 & g::POLLIN != 0
    }

    fn is_self(&self) -> bool {
        self.host_pid == host::process::host_pid()
    }
}

impl Drop for PidFd {
    fn drop(&mut self) {
        host::fs::close(*lock(&self.exit));
    }
}

impl FileOps for PidFd {
    fn stat(&self, f: &OpenFile) -> Result<HostStat> {
        Ok(crate::vfs::file::anon_stat(&f.guest_path))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    /// Readable once the process has exited (pidfd_poll, kernel/fork.c).
    fn poll(&self, _f: &OpenFile, _events: u32, wake: &mut Vec<(HostFd, u32)>) -> Ready {
        if self.has_exited() {
            return Ready::Now(g::POLLIN | g::POLLRDNORM);
        }
        wake.push((*lock(&self.exit), g::POLLIN));
        Ready::Now(0)
    }

    fn pollable(&self) -> bool {
        true
    }

    fn fdinfo(&self) -> String {
        format!("Pid:\t{}\nNSpid:\t{}\n", self.pid, self.pid)
    }

    fn hold_for_fork<'a>(&'a self, held: &mut ForkHolds<'a>) -> bool {
        hold(&self.exit, held)
    }

    fn after_fork(&self) {
        // Free: the fork held it (`hold_for_fork`); not waited for, for a
        // fork that gave up holding it (the copy then keeps the parent's
        // watch).
        let Some(mut exit) = try_hold(&self.exit) else { return };
        if let Ok(fd) = host::watch::process_exit_after_fork(*exit, self.host_pid) {
            *exit = fd;
        }
    }

    fn crosses_processes(&self) -> bool {
        true
    }

    fn exec_state(&self, _f: &OpenFile, _ids: &ExecIds<'_>) -> Option<KindState> {
        let exit = host::watch::process_exit_exec_fd(*lock(&self.exit));
        let state = ExecState { pid: self.pid, host_pid: self.host_pid, exit };
        KindState::new(EXEC_KIND.name, &state, exit.into_iter().collect())
    }
}

/// What a pidfd carries across execve: whom it names, and the host's exit
/// watch where one can cross.
#[derive(serde::Serialize, serde::Deserialize)]
struct ExecState {
    pid: Vpid,
    host_pid: i32,
    exit: Option<HostFd>,
}

pub const EXEC_KIND: ExecKind = ExecKind { name: "pidfd", restore };

fn restore(k: &KindState, _objects: &ExecObjects) -> Result<Box<dyn FileOps>> {
    let st: ExecState = k.decode().ok_or_else(|| errno!(EINVAL, "a pidfd's state does not decode"))?;
    let exit = host::watch::process_exit_after_exec(st.exit.map(|fd| k.fd(fd)), st.host_pid).map_err(|e| Error::with_message(e, "the process is gone"))?;
    Ok(Box::new(PidFd { pid: st.pid, host_pid: st.host_pid, exit: Mutex::new(exit) }))
}

/// The host pid of task `pid` as pidfd_open finds it: this process, a
/// child (even a zombie), or any task the daemon knows.
fn host_pid_of(pid: Vpid) -> Result<i32> {
    let p = current();
    if pid == p.pid() as Vpid {
        return Ok(host::process::host_pid());
    }
    if p.thread(pid as u32).is_some() {
        return_errno_with_message!(EINVAL, "a pidfd names a thread-group leader");
    }
    if let Some(&(_, h)) = lock(&p.children).iter().find(|(v, _)| *v == pid) {
        return Ok(h);
    }
    super::proc_model::host_pid_of_task(pid).map_err(|_| errno!(ESRCH, "no such process"))
}

/// A new pidfd open file for task `pid` (pidfd_open, CLONE_PIDFD).
pub fn open_file(pid: Vpid, host_pid: i32, nonblock: bool) -> Result<Arc<OpenFile>> {
    let status = g::O_RDWR | if nonblock { g::O_NONBLOCK } else { 0 };
    Ok(Arc::new(OpenFile::new("anon_inode:[pidfd]".into(), PidFd::new(pid, host_pid)?, status)))
}

/// The pidfd behind guest fd `fd`: EBADF for any other kind of file.
pub fn get(fd: i32) -> Result<Arc<OpenFile>> {
    let file = lock(&current().fds).get(fd)?;
    if file.ops_as::<PidFd>().is_none() {
        return_errno_with_message!(EBADF, "not a pidfd");
    }
    Ok(file)
}

pub fn pidfd_open(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let pid = args::int(a[0]);
    let flags = args::flags(a[1], PIDFD_NONBLOCK, "flags must be PIDFD_NONBLOCK or 0")?;
    if pid <= 0 {
        return_errno_with_message!(EINVAL, "pid must be positive");
    }
    let file = open_file(pid, host_pid_of(pid)?, flags & PIDFD_NONBLOCK != 0)?;
    let fd = lock(&current().fds).install(file, true)?;
    Ok(fd as u64)
}

pub fn pidfd_send_signal(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let known = PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP;
    let flags = args::flags(a[3], known, "unknown pidfd_send_signal flags")?;
    if flags.count_ones() > 1 {
        return_errno_with_message!(EINVAL, "at most one PIDFD_SIGNAL_* scope");
    }
    let file = lock(&current().fds).get(args::fd(a[0]))?;
    let Some(pfd) = file.ops_as::<PidFd>() else {
        // A /proc/PID directory names its process too (as before pidfds).
        let Some(pid) = proc_dir_pid(&file) else { return_errno!(EBADF) };
        if flags & PIDFD_SIGNAL_PROCESS_GROUP != 0 {
            return Err(super::refuse("pidfd_send_signal", crate::abi::Errno::EINVAL, "PIDFD_SIGNAL_PROCESS_GROUP is not emulated", None));
        }
        return if a[2] != 0 {
            super::signal::rt_sigqueueinfo(cx, [u64::from(pid), a[1], a[2], 0, 0, 0])
        } else {
            super::process::kill(cx, [u64::from(pid), a[1], 0, 0, 0, 0])
        };
    };
    let sig = match a[1] {
        0 => None,
        n => Some(Signal::from_raw(n).ok_or_else(|| errno!(EINVAL, "no such signal"))?),
    };
    if flags & PIDFD_SIGNAL_PROCESS_GROUP != 0 {
        return Err(super::refuse("pidfd_send_signal", crate::abi::Errno::EINVAL, "PIDFD_SIGNAL_PROCESS_GROUP is not emulated", None));
    }
    if pfd.is_self() {
        if a[2] != 0 {
            return super::signal::rt_sigqueueinfo(cx, [u64::from(current().pid()), a[1], a[2], 0, 0, 0]);
        }
        let Some(sig) = sig else { return Ok(0) };
        let info = crate::signal::SigInfo::kill(sig, g::SI_USER as i32, current().pid() as i32, current().cred().uid);
        crate::signal::send_process(cx.thread(), info);
        return Ok(0);
    }
    if a[2] != 0 {
        return Err(super::refuse("pidfd_send_signal", crate::abi::Errno::EINVAL, "a siginfo for another task is not carried", None));
    }
    let host_sig = match sig {
        None => 0,
        Some(s) => host::signal::to_host(s).ok_or_else(|| errno!(EINVAL, "this signal has no host counterpart"))?,
    };
    let exit = *lock(&pfd.exit);
    host::watch::signal_process(exit, pfd.host_pid, host_sig).map_err(|e| Error::with_message(e, "the process is gone"))?;
    Ok(0)
}

/// The pid of a `/proc/PID` directory opened by the guest.
fn proc_dir_pid(file: &OpenFile) -> Option<u32> {
    let pid = file.guest_path.strip_prefix("/proc/")?;
    if !file.is_dir() || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

pub fn pidfd_getfd(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let target = args::fd(a[1]);
    args::flags(a[2], 0, "flags must be 0")?;
    let file = get(args::fd(a[0]))?;
    let Some(pfd) = file.ops_as::<PidFd>() else { return_errno!(EBADF) };
    if !pfd.is_self() {
        if pfd.has_exited() {
            return_errno_with_message!(ESRCH, "the process has exited");
        }
        return Err(super::refuse("pidfd_getfd", crate::abi::Errno::EPERM, "another task's fds live in another host process", None));
    }
    let mut fds = lock(&current().fds);
    let got = fds.get(target)?;
    // Linux hands the copy over close-on-exec (pidfd_getfd, kernel/pid.c).
    Ok(fds.install(got, true)? as u64)
}

