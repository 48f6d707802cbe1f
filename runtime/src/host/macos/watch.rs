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

/// Sends host signal `host_sig` (0: only probe) to the process an exit
/// watch names. macOS has no pidfd: a plain kill, which a reaped process's
/// reused pid would misdirect.
pub fn signal_process(_fd: HostFd, host_pid: i32, host_sig: i32) -> HostResult<()> {
    crate::host::process::kill(host_pid, host_sig)
}
