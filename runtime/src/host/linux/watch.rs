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

/// Sends host signal `host_sig` (0: only probe) to the process an exit
/// watch names: through the pidfd, so a reaped process whose pid was
/// reused is ESRCH, not a stranger.
pub fn signal_process(fd: HostFd, _host_pid: i32, host_sig: i32) -> HostResult<()> {
    // SAFETY: plain call with a null siginfo.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd, host_sig, core::ptr::null::<libc::siginfo_t>(), 0) };
    if r < 0 { Err(super::errno::last()) } else { Ok(()) }
}
