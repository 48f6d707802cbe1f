//! ioctl: the fd-table requests every file takes (FIOCLEX, FIONCLEX,
//! FIONBIO), what a kind of file answers itself, and the terminal and
//! pseudo-terminal requests of a host terminal.
//!
//! man7: ioctl.2, ioctl_tty.2, ioctl_fionread.2 (FIONREAD)
//! (https://man7.org/linux/man-pages/man2/ioctl_tty.2.html).
//!
//! Divergences from Linux:
//! - Requests not listed in the syscall table's note are ENOTTY.

use super::args::uint;
use super::fcntl::SETFL_MASK;
use super::fs_common::host_err;
use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::Result;
use crate::host::{self, Winsize};
use crate::task::{current, lock};
use crate::uaccess;
use crate::vfs::fd_table::{file_of, install};
use crate::vfs::file::OpenFile;
use crate::{errno, return_errno, return_errno_with_message};
use linux_raw_sys::ioctl as io;

/// Tells the daemon this task's controlling terminal changed (for `mactux ps`).
fn publish_terminal() {
    if !crate::daemon::is_standalone() {
        crate::daemon::update(crate::task_info(current()));
    }
}

pub fn ioctl(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let fd = args::fd(a[0]);
    let req = uint(a[1]);
    let arg = a[2];
    // The fd-table requests work on any file (fs/ioctl.c do_vfs_ioctl).
    match req {
        io::FIOCLEX | io::FIONCLEX => {
            lock(&current().fds).entry_mut(fd)?.cloexec = req == io::FIOCLEX;
            return Ok(0);
        }
        _ => {}
    }
    let file = file_of(fd)?;
    file.require_not_path()?;
    // FIONBIO and FIOASYNC are F_SETFL's O_NONBLOCK and O_ASYNC (fs/ioctl.c).
    if req == io::FIONBIO || req == io::FIOASYNC {
        let on: i32 = uaccess::read(arg)?;
        let bit = if req == io::FIONBIO { g::O_NONBLOCK } else { g::FASYNC };
        let st = file.status();
        let new = if on != 0 { st | bit } else { st & !bit };
        super::fcntl::set_status_flags(fd, &file, new & SETFL_MASK)?;
        return Ok(0);
    }
    // What a kind answers itself; a host object's requests go to the host.
    let Some(host_fd) = file.host_fd() else {
        // A netlink socket answers the interface queries as every socket
        // does (sock_do_ioctl hands them to dev_ioctl).
        if super::netlink::of(&file).is_some() {
            if let Some(r) = super::socket::ioctl(req, arg)? {
                return Ok(r);
            }
        }
        return file.ioctl(req, arg);
    };
    if file.ops_as::<crate::vfs::socket::SocketFile>().is_some() {
        if let Some(r) = super::socket::ioctl(req, arg)? {
            return Ok(r);
        }
    }
    match req {
        io::FIONREAD => {
            let n = host::fs::bytes_readable(host_fd).map_err(host_err)?;
            uaccess::write(arg, &n)?;
        }
        io::TCGETS => {
            let t = host::fs::tcgetattr(host_fd).map_err(host_err)?;
            uaccess::write(arg, &t)?;
        }
        io::TCSETS | io::TCSETSW | io::TCSETSF => {
            let t: host::flags::LinuxTermios = uaccess::read(arg)?;
            let when = match req {
                io::TCSETS => 0,
                io::TCSETSW => 1,
                _ => 2,
            };
            host::fs::tcsetattr(host_fd, when, &t).map_err(host_err)?;
        }
        io::TIOCGWINSZ => {
            let w = host::fs::window_size(host_fd).map_err(host_err)?;
            uaccess::write(arg, &w)?;
        }
        io::TIOCSWINSZ => {
            let w: Winsize = uaccess::read(arg)?;
            host::fs::set_window_size(host_fd, w).map_err(host_err)?;
        }
        io::TIOCGPTN => {
            // The replica's number: /dev/pts/N in the guest's /dev.
            let name = host::fs::pty_replica_path(host_fd).map_err(host_err)?;
            let n = host::fs::pts_number(&name).ok_or_else(|| errno!(ENOTTY, "not a pseudo-terminal master"))?;
            uaccess::write(arg, &n)?;
        }
        io::TIOCSPTLCK => {
            let locked: i32 = uaccess::read(arg)?;
            host::fs::pty_set_lock(host_fd, locked != 0).map_err(host_err)?;
        }
        io::TIOCGPTPEER => {
            // Opens the replica of this master, like open("/dev/pts/N").
            // Linux opens the peer with the flags as given (drivers/tty/pty.c).
            let flags = uint(arg) & !(g::O_CREAT | g::O_EXCL | g::O_TRUNC);
            let name = host::fs::pty_replica_path(host_fd).map_err(host_err)?;
            let n = host::fs::pts_number(&name).ok_or_else(|| errno!(ENOTTY, "not a pseudo-terminal master"))?;
            let path = std::ffi::CString::new(name).map_err(|_| errno!(EIO))?;
            let peer = host::fs::open(&path, flags & !g::O_CLOEXEC, 0).map_err(host_err)?;
            let file = OpenFile::host(format!("/dev/pts/{n}"), peer, flags & !g::O_CLOEXEC);
            return install(file, flags & g::O_CLOEXEC != 0);
        }
        io::TIOCSCTTY => {
            host::fs::set_controlling_terminal(host_fd, arg == 1).map_err(host_err)?;
            publish_terminal();
        }
        io::TIOCNOTTY => {
            host::fs::release_controlling_terminal(host_fd).map_err(host_err)?;
            publish_terminal();
        }
        io::TIOCGPGRP => {
            // The host's foreground group, named by its leader's Linux pid.
            let host_pgrp = host::fs::foreground_pgrp(host_fd).map_err(host_err)?;
            let pgrp = crate::syscall::proc_model::vpid_of_host(host_pgrp).unwrap_or(host_pgrp);
            uaccess::write(arg, &pgrp)?;
        }
        io::TIOCSPGRP => {
            let pgrp: i32 = uaccess::read(arg)?;
            if pgrp < 0 {
                return_errno!(EINVAL);
            }
            let host_pgrp = crate::syscall::proc_model::host_pid_of_task(pgrp)?;
            host::fs::set_foreground_pgrp(host_fd, host_pgrp).map_err(host_err)?;
        }
        _ => return_errno_with_message!(ENOTTY, "ioctl request not supported"),
    }
    Ok(0)
}
