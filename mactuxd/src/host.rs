//! The few host calls the daemon makes: liveness of host pids, the
//! single-instance lock, socket activation, detaching from the terminal.
//!
//! This is the only module of mactuxd with `unsafe` and `cfg(target_os)`.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};

/// What became of a host process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostProc {
    Running,
    /// A host zombie: exited, not yet waited for by its host parent (for
    /// us it is gone).
    Exited,
    /// No such process: it exited and its host parent has waited for it
    /// (or it never existed).
    Gone,
}

/// Whether a host process runs, exited, or is gone altogether.
pub fn host_proc(host_pid: i32) -> HostProc {
    if host_pid <= 0 {
        return HostProc::Gone;
    }
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(host_pid, 0) };
    if rc != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH) {
        return HostProc::Gone;
    }
    if is_host_zombie(host_pid) {
        HostProc::Exited
    } else {
        HostProc::Running
    }
}

#[cfg(target_os = "linux")]
fn is_host_zombie(host_pid: i32) -> bool {
    // proc(5): the state is the first field after the parenthesised comm.
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{host_pid}/stat")) else { return false };
    let state = stat.rfind(')').and_then(|i| stat[i + 1..].trim_start().chars().next());
    matches!(state, Some('Z' | 'X'))
}

#[cfg(target_os = "macos")]
fn is_host_zombie(host_pid: i32) -> bool {
    /// `SZOMB` in <sys/proc.h>.
    const SZOMB: u32 = 5;
    // SAFETY: proc_bsdinfo is plain old data; proc_pidinfo writes at most `size` bytes.
    let mut info: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::proc_bsdinfo>() as libc::c_int;
    // SAFETY: the buffer is valid for `size` bytes.
    let n = unsafe { libc::proc_pidinfo(host_pid, libc::PROC_PIDTBSDINFO, 0, (&mut info as *mut libc::proc_bsdinfo).cast(), size) };
    n == size && info.pbi_status == SZOMB
}

/// Unblocks every signal in the calling thread. Whoever starts the daemon
/// may have signals blocked, and a blocked mask survives fork and exec: a
/// task that restarts the daemon does so from inside its syscall trap, where
/// everything is blocked, and such a daemon ignored SIGTERM and SIGINT.
pub fn unblock_all_signals() {
    // SAFETY: an empty set is initialised by sigemptyset; only this
    // thread's mask changes, before the daemon starts any other thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

pub fn current_uid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

pub fn current_gid() -> u32 {
    // SAFETY: getegid cannot fail.
    unsafe { libc::getegid() }
}

/// Takes an exclusive, non-blocking flock on `file`. `Ok(false)`: another
/// process holds it. The lock lives as long as the open file.
pub fn try_lock_exclusive(file: &File) -> io::Result<bool> {
    // SAFETY: flock on an fd we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(err)
    }
}

/// A listening socket handed over by the service manager, if any.
///
/// Linux: systemd's `LISTEN_PID`/`LISTEN_FDS` protocol (sd_listen_fds(3)):
/// the first socket is fd 3. macOS: launchd's `launch_activate_socket` for the
/// `Listeners` entry of the plist's `Sockets` dictionary.
pub fn activated_listener() -> Option<std::os::unix::net::UnixListener> {
    let fd = activated_fd()?;
    // SAFETY: the service manager passed us this open socket and nothing else owns it.
    let listener = unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) };
    set_cloexec(fd);
    Some(listener)
}

#[cfg(target_os = "linux")]
fn activated_fd() -> Option<RawFd> {
    /// `SD_LISTEN_FDS_START`.
    const FIRST_FD: RawFd = 3;
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    let count: i32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    if pid != std::process::id() || count < 1 {
        return None;
    }
    // Not inherited by anything we might start.
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    Some(FIRST_FD)
}

#[cfg(target_os = "macos")]
fn activated_fd() -> Option<RawFd> {
    extern "C" {
        // <launch.h>: int launch_activate_socket(const char *name, int **fds, size_t *cnt);
        fn launch_activate_socket(name: *const libc::c_char, fds: *mut *mut libc::c_int, cnt: *mut libc::size_t) -> libc::c_int;
    }
    let mut fds: *mut libc::c_int = std::ptr::null_mut();
    let mut count: libc::size_t = 0;
    // SAFETY: the name is NUL-terminated; launchd fills fds (malloc'ed) and count.
    let rc = unsafe { launch_activate_socket(c"Listeners".as_ptr(), &mut fds, &mut count) };
    if rc != 0 || fds.is_null() {
        return None;
    }
    // SAFETY: launchd returned `count` fds in a malloc'ed array that we own.
    let all: Vec<RawFd> = unsafe { std::slice::from_raw_parts(fds, count) }.to_vec();
    // SAFETY: the array was malloc'ed by launch_activate_socket.
    unsafe { libc::free(fds.cast()) };
    let (first, rest) = all.split_first()?;
    for &fd in rest {
        // SAFETY: extra fds are ours and unused.
        unsafe { libc::close(fd) };
    }
    Some(*first)
}

fn set_cloexec(fd: RawFd) {
    // SAFETY: fcntl on an fd we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
        }
    }
}

/// The daemon's end of the readiness pipe of [`detach`].
pub struct ReadyPipe(File);

impl ReadyPipe {
    /// Tells the waiting parent that the daemon serves (or that another one does).
    pub fn ready(mut self) {
        let _ = self.0.write_all(b"ok\n");
    }

    /// Tells the waiting parent why the daemon could not start.
    pub fn failed(mut self, msg: &str) {
        let _ = self.0.write_all(format!("error: {msg}\n").as_bytes());
    }
}

/// Detaches the calling (single-threaded) process from its caller: forks; the
/// parent waits until the child reports readiness through a pipe, prints any
/// error and exits (0 when ready, 1 otherwise), so whoever spawned it can
/// simply wait for it and no zombie is left behind; the child starts a new
/// session, points stdio at /dev/null and returns its end of the pipe.
pub fn detach() -> Result<ReadyPipe, String> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe fills two fds.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(format!("cannot create a pipe: {}", io::Error::last_os_error()));
    }
    // SAFETY: both fds are fresh and owned here.
    let (read_end, write_end) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
    set_cloexec(fds[0]);
    set_cloexec(fds[1]);
    // SAFETY: the process is single-threaded here (called before any runtime
    // starts), so the child may run ordinary Rust code.
    match unsafe { libc::fork() } {
        -1 => Err(format!("cannot fork: {}", io::Error::last_os_error())),
        0 => {
            drop(read_end);
            // SAFETY: setsid has no memory effects; failure (already a leader) is harmless.
            unsafe { libc::setsid() };
            if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
                for fd in 0..=2 {
                    // SAFETY: dup2 onto the standard fds.
                    unsafe { libc::dup2(null.as_raw_fd(), fd) };
                }
            }
            Ok(ReadyPipe(write_end))
        }
        _child => {
            drop(write_end);
            let mut msg = String::new();
            let mut read_end = read_end;
            let _ = read_end.read_to_string(&mut msg);
            if msg.starts_with("ok") {
                std::process::exit(0);
            }
            match msg.strip_prefix("error: ") {
                Some(e) => eprintln!("mactuxd: {}", e.trim_end()),
                None => eprintln!("mactuxd: the daemon exited before it was ready; see mactuxd.log in its state directory"),
            }
            std::process::exit(1);
        }
    }
}

/// Names the current boot of the host, so that state saved before a reboot
/// (whose host pids mean nothing now) is not taken for a live namespace.
#[cfg(target_os = "linux")]
pub fn boot_id() -> String {
    // random(4): a fresh UUID at every boot.
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|s| s.trim().to_string()).unwrap_or_default()
}

#[cfg(target_os = "macos")]
pub fn boot_id() -> String {
    // sysctl(3) kern.boottime: when the system booted, fixed until the next boot.
    let mut tv: libc::timeval = libc::timeval { tv_sec: 0, tv_usec: 0 };
    let mut size = std::mem::size_of::<libc::timeval>();
    // SAFETY: the name is NUL-terminated and the buffer holds `size` bytes.
    let rc = unsafe { libc::sysctlbyname(c"kern.boottime".as_ptr(), (&mut tv as *mut libc::timeval).cast(), &mut size, std::ptr::null_mut(), 0) };
    if rc != 0 {
        return String::new();
    }
    format!("{}.{:06}", tv.tv_sec, tv.tv_usec)
}
