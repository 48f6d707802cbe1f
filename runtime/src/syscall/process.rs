//! Process-local calls: ids, exit, thread pointer, prctl, signals to self.
//!
//! Divergences from Linux:
//! - pids are host pids until the daemon owns the PID namespace.
//! - kill/tkill/tgkill reach only the calling process; a signal whose
//!   disposition is a guest handler ends the process as the default action
//!   would, until guest signal delivery exists.

use super::{args, Ctx};
use crate::abi::signal::Signal;
use crate::error::Result;
use crate::task::{current, lock};
use crate::{errno, return_errno, return_errno_with_message};
use linux_raw_sys::general as g;
use linux_raw_sys::prctl as pr;

pub fn getpid(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    Ok(u64::from(current().pid()))
}

/// The parent's pid as the guest sees it: from the daemon's namespace, or
/// the host's when running standalone.
///
/// A task's Linux parent is its host parent (fork is a host fork), or the
/// subreaper for a top-level task; either changes only when the host parent
/// does, so the daemon's answer is kept while the host ppid stays the same.
pub fn parent_pid() -> u32 {
    if let Some(ppid) = super::clone_vm::parent_pid() {
        return ppid;
    }
    let host_ppid = crate::host::process::parent_host_pid();
    if crate::daemon::is_standalone() {
        return host_ppid;
    }
    if let Some((h, p)) = *lock(&current().ppid_cache) {
        if h == host_ppid {
            return p;
        }
    }
    match crate::daemon::call_pid(&mactux_proto::Request::GetPpid) {
        Ok(p) => {
            *lock(&current().ppid_cache) = Some((host_ppid, p as u32));
            p as u32
        }
        Err(_) => 1,
    }
}

pub fn getppid(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    Ok(u64::from(parent_pid()))
}

pub fn getpgrp(cx: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    getpgid(cx, [0; 6])
}

/// The process group of `pid` (0: the caller): the daemon's answer, or the
/// host's when running standalone.
pub fn pgid_of(pid: i32) -> Result<i32> {
    if crate::daemon::is_standalone() {
        return crate::host::process::pgid_of(pid).map(|p| p as i32).map_err(crate::error::Error::new);
    }
    crate::daemon::call_pid(&mactux_proto::Request::GetPgid { pid })
}

/// The session of `pid` (0: the caller), as [`pgid_of`] finds it.
pub fn sid_of(pid: i32) -> Result<i32> {
    if crate::daemon::is_standalone() {
        return crate::host::process::sid_of(pid).map(|p| p as i32).map_err(crate::error::Error::new);
    }
    crate::daemon::call_pid(&mactux_proto::Request::GetSid { pid })
}

pub fn getpgid(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let pid = args::int(a[0]);
    if pid < 0 {
        return_errno!(ESRCH);
    }
    pgid_of(pid).map(|p| p as u64)
}

pub fn getsid(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let pid = args::int(a[0]);
    if pid < 0 {
        return_errno!(ESRCH);
    }
    sid_of(pid).map(|p| p as u64)
}

pub fn exit_group(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let code = args::int(a[0]) & 0xff;
    // A CLONE_VM child ends alone; the host process ends with its last
    // Linux process (syscall/clone_vm.rs).
    super::clone_vm::exit_group(cx, code);
    // Ends every thread with the process: the host exit ends the host
    // threads (Linux's zap_other_threads).
    super::thread::exit_robust_lists();
    super::proc_model::vfork_child_exits();
    let _quiet = super::stop_publishing();
    report_traps();
    crate::daemon::notify_exit(code << 8);
    crate::host::process::exit(code)
}

/// With `MACTUX_LOG=traps`: how many syscalls entered by a host trap
/// rather than a rewritten site (trap/rewrite.rs).
fn report_traps() {
    let p = crate::task::current();
    if p.config.log_traps {
        let n = p.syscall_traps.load(std::sync::atomic::Ordering::Relaxed);
        crate::host::process::write_stderr(format!("mactux: {n} syscall traps\n").as_bytes());
    }
}

pub fn arch_prctl(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    use crate::abi::{ARCH_GET_FS, ARCH_GET_GS, ARCH_SET_GS};
    use linux_raw_sys::general::ARCH_SET_FS;
    match args::uint(a[0]) {
        ARCH_SET_FS => {
            // A non-canonical base would fault on every TLS access; Linux refuses it.
            if a[1] >= 0x0000_8000_0000_0000 {
                return_errno_with_message!(EPERM, "fs base must be a user address");
            }
            crate::host::tls::set_guest_tls(cx.ctl, a[1]);
            Ok(0)
        }
        ARCH_GET_FS => {
            crate::uaccess::write(a[1], &cx.ctl.guest_tls)?;
            Ok(0)
        }
        ARCH_GET_GS => {
            crate::uaccess::write(a[1], &0u64)?;
            Ok(0)
        }
        ARCH_SET_GS => Err(errno!(EINVAL, "the gs base holds the guest's fs value under MacTux")),
        _ => Err(errno!(EINVAL, "unknown arch_prctl code")),
    }
}

pub fn prctl(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    const TASK_COMM_LEN: usize = 16;
    match args::uint(a[0]) {
        pr::PR_SET_NAME => {
            let mut name = crate::uaccess::read_cstr(a[1], usize::MAX).or_else(|_| {
                crate::uaccess::read_bytes(a[1], TASK_COMM_LEN)
            })?;
            if let Some(n) = name.iter().position(|&b| b == 0) {
                name.truncate(n);
            }
            name.truncate(TASK_COMM_LEN - 1);
            // The name is the thread's; the leader's is also the process's
            // (/proc/PID/comm, ps).
            if cx.thread().tid() == current().pid() {
                *lock(&current().comm) = name.clone();
            }
            *lock(&cx.thread().comm) = name;
            current().view_changed.store(true, std::sync::atomic::Ordering::Relaxed);
            Ok(0)
        }
        pr::PR_GET_NAME => {
            let mut buf = [0u8; TASK_COMM_LEN];
            let comm = lock(&cx.thread().comm).clone();
            buf[..comm.len()].copy_from_slice(&comm);
            crate::uaccess::write_bytes(a[1], &buf)?;
            Ok(0)
        }
        pr::PR_SET_PDEATHSIG => {
            if a[1] != 0 && Signal::from_raw(a[1]).is_none() {
                return_errno!(EINVAL);
            }
            current().set_parent_death_signal(a[1] as u8);
            Ok(0)
        }
        pr::PR_GET_PDEATHSIG => {
            let sig = i32::from(current().pdeathsig.load(std::sync::atomic::Ordering::Relaxed));
            crate::uaccess::write(a[1], &sig)?;
            Ok(0)
        }
        pr::PR_GET_DUMPABLE => Ok(1),
        pr::PR_SET_DUMPABLE => {
            if a[1] > 1 {
                return_errno!(EINVAL);
            }
            Ok(0)
        }
        _ => match super::cred::prctl(a) {
            Some(r) => r,
            None => Err(errno!(EINVAL, "prctl option not emulated")),
        },
    }
}

/// The signal argument of kill, tkill and tgkill: `None` for 0, which only
/// checks that the target exists; EINVAL for a number that is no signal.
fn signal_arg(a: u64) -> Result<Option<Signal>> {
    match a {
        0 => Ok(None),
        n => Signal::from_raw(n).map(Some).ok_or_else(|| errno!(EINVAL, "no such signal")),
    }
}

/// Applies a signal sent to this process by itself, with the siginfo Linux
/// gives it (`si_code` SI_USER for kill, SI_TKILL for tkill/tgkill).
fn signal_self(cx: &Ctx<'_>, sig: Option<Signal>, code: i32) -> Result<u64> {
    let Some(sig) = sig else { return Ok(0) };
    let info = crate::signal::SigInfo::kill(sig, code, current().pid() as i32, current().cred().uid);
    crate::signal::send_process(cx.thread(), info);
    Ok(0)
}

/// Sends a signal to the thread `tid` of this process (tkill, tgkill).
fn signal_thread(cx: &Ctx<'_>, tid: u32, sig: Option<Signal>) -> Result<u64> {
    let Some(target) = current().thread(tid) else { return_errno_with_message!(ESRCH, "no such thread") };
    let Some(sig) = sig else { return Ok(0) };
    let info = crate::signal::SigInfo::kill(sig, g::SI_TKILL, current().pid() as i32, current().cred().uid);
    crate::signal::send_thread(cx.thread(), &target, info);
    Ok(0)
}

pub fn kill(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let pid = args::int(a[0]);
    let me = current().pid() as i32;
    let sig = signal_arg(a[1])?;
    if crate::daemon::is_standalone() {
        if pid == me || pid == 0 || pid == -1 || pid == -me {
            return signal_self(cx, sig, g::SI_USER as i32);
        }
        // A thread of ours, by its tid: the signal goes to the process.
        if pid > 0 && current().thread(pid as u32).is_some() {
            return signal_self(cx, sig, g::SI_USER as i32);
        }
        return Err(errno!(ESRCH, "running standalone: only the calling process is known"));
    }
    // Other tasks get the host signal; this task last, as its own signal
    // may end it.
    let mut reached = 0;
    let mut last_err = None;
    let mut includes_self = false;
    for (vpid, host_pid) in crate::syscall::proc_model::kill_targets(pid)? {
        if vpid == me {
            includes_self = true;
            continue;
        }
        // Another Linux process of this host process (a CLONE_VM child or
        // its parent): queued here, as the host signal would reach the
        // host leader.
        let sent = match super::clone_vm::local_process(vpid) {
            Some(p) => super::clone_vm::signal_local(p, None, sig, g::SI_USER as i32).map(|_| ()),
            None => crate::syscall::proc_model::signal_task(vpid, host_pid, sig),
        };
        match sent {
            Ok(()) => reached += 1,
            Err(e) => last_err = Some(e),
        }
    }
    if includes_self {
        return signal_self(cx, sig, g::SI_USER as i32);
    }
    match (reached, last_err) {
        (0, Some(e)) => Err(e),
        (0, None) => Err(errno!(ESRCH)),
        _ => Ok(0),
    }
}

pub fn tkill(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let tid = args::int(a[0]);
    if tid <= 0 {
        return_errno!(EINVAL);
    }
    let sig = signal_arg(a[1])?;
    if current().thread(tid as u32).is_some() {
        return signal_thread(cx, tid as u32, sig);
    }
    if let Some(p) = super::clone_vm::local_process(tid) {
        return super::clone_vm::signal_local(p, Some(tid as u32), sig, g::SI_TKILL);
    }
    // Another task: its thread tid is reached through its process (the
    // host signal goes to the whole task).
    let host = crate::syscall::proc_model::host_pid_of_task(tid)?;
    crate::syscall::proc_model::signal_task(tid, host, sig).map(|()| 0)
}

pub fn tgkill(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (tgid, tid) = (args::int(a[0]), args::int(a[1]));
    if tgid <= 0 || tid <= 0 {
        return_errno!(EINVAL);
    }
    let sig = signal_arg(a[2])?;
    if tgid as u32 == current().pid() {
        return signal_thread(cx, tid as u32, sig);
    }
    if let Some(p) = super::clone_vm::local_process(tgid) {
        return super::clone_vm::signal_local(p, Some(tid as u32), sig, g::SI_TKILL);
    }
    if tgid != tid {
        return_errno_with_message!(ESRCH, "threads of other tasks are reached through their leader only");
    }
    let host = crate::syscall::proc_model::host_pid_of_task(tgid)?;
    crate::syscall::proc_model::signal_task(tgid, host, sig).map(|()| 0)
}

const _: () = assert!(g::SIGRTMIN == 32);
