//! fcntl: the fd flags, the file status flags and the commands that act on
//! them (Linux's fs/fcntl.c). Record locks are in `locks.rs`.
//!
//! man7: fcntl.2 (https://man7.org/linux/man-pages/man2/fcntl.2.html).
//!
//! Divergences from Linux:
//! - Leases are EINVAL.
//! - Signal-driven I/O: see task/sigio.rs; dnotify: task/dnotify.rs.

use super::args::uint;
use super::fs_common::host_err;
use super::locks::fcntl_lock;
use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::Result;
use crate::host;
use crate::task::{current, lock};
use crate::vfs::fd_table::file_of;
use crate::vfs::file::OpenFile;
use std::sync::Arc;
use crate::{errno, return_errno_with_message};

/// The `F_SETFL` bits Linux lets a caller change (`SETFL_MASK`, fs/fcntl.c).
pub(super) const SETFL_MASK: u32 = g::O_APPEND | g::O_NONBLOCK | g::O_DIRECT | g::O_NOATIME | g::FASYNC;

pub fn fcntl(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let fd = args::fd(a[0]);
    let cmd = uint(a[1]);
    let arg = a[2];
    match cmd {
        g::F_DUPFD | g::F_DUPFD_CLOEXEC => {
            // The kernel takes the minimum as an int, then compares it unsigned.
            let min = usize::try_from(uint(arg)).unwrap_or(usize::MAX);
            let mut fds = lock(&current().fds);
            let file = fds.get(fd)?;
            let new = fds
                .install_from(min, file, cmd == g::F_DUPFD_CLOEXEC)
                .map_err(|e| if e.errno == crate::abi::Errno::EINVAL { errno!(EINVAL, "minimum fd above RLIMIT_NOFILE") } else { e })?;
            Ok(new as u64)
        }
        g::F_GETFD => {
            let fds = lock(&current().fds);
            Ok(if fds.entry(fd)?.cloexec { u64::from(g::FD_CLOEXEC) } else { 0 })
        }
        g::F_SETFD => {
            let mut fds = lock(&current().fds);
            fds.entry_mut(fd)?.cloexec = uint(arg) & g::FD_CLOEXEC != 0;
            Ok(0)
        }
        g::F_GETFL => {
            let file = file_of(fd)?;
            let stored = file.status();
            if stored & g::O_PATH != 0 {
                return Ok(u64::from(stored));
            }
            let dynamic = match file.host_fd() {
                Some(h) => host::fs::get_status_flags(h).map_err(host_err)? & SETFL_MASK,
                None => stored & SETFL_MASK,
            };
            Ok(u64::from((stored & !SETFL_MASK) | dynamic | g::O_LARGEFILE))
        }
        g::F_SETFL => {
            let file = file_of(fd)?;
            file.require_not_path()?;
            set_status_flags(fd, &file, uint(arg) & SETFL_MASK)?;
            Ok(0)
        }
        g::F_GETLK | g::F_SETLK | g::F_SETLKW | g::F_OFD_GETLK | g::F_OFD_SETLK | g::F_OFD_SETLKW => {
            let file = file_of(fd)?;
            fcntl_lock(&file, cmd, arg)
        }
        _ => {
            // An O_PATH fd answers only the commands above (`check_fcntl_cmd`).
            file_of(fd)?.require_not_path()?;
            match cmd {
                g::F_GETOWN | g::F_SETOWN | g::F_GETOWN_EX | g::F_SETOWN_EX | g::F_GETSIG | g::F_SETSIG => {
                    return async_owner(fd, cmd, arg);
                }
                g::F_NOTIFY => return dir_notify(fd, uint(arg)),
                g::F_GETLEASE | g::F_SETLEASE => return_errno_with_message!(EINVAL, "leases are not supported"),
                g::F_GETPIPE_SZ | g::F_SETPIPE_SZ => {
                    let file = file_of(fd)?;
                    let is_pipe = |h| host::fs::fstat(h).is_ok_and(|st| st.mode & g::S_IFMT == g::S_IFIFO);
                    let Some(h) = file.host_fd().filter(|&h| is_pipe(h)) else {
                        return_errno_with_message!(EBADF, "not a pipe");
                    };
                    let size = if cmd == g::F_GETPIPE_SZ { host::fs::pipe_size(h) } else { host::fs::set_pipe_size(h, uint(arg)) };
                    return size.map(u64::from).map_err(crate::error::Error::new);
                }
                // memfd_fcntl (mm/memfd.c): EINVAL for a file that has no seals.
                g::F_ADD_SEALS => {
                    let file = file_of(fd)?;
                    super::memfd::of(&file)?.add_seals(&file, uint(arg))?;
                    return Ok(0);
                }
                g::F_GET_SEALS => {
                    let file = file_of(fd)?;
                    return Ok(u64::from(super::memfd::of(&file)?.seals()));
                }
                _ => return_errno_with_message!(EINVAL, "unknown fcntl command"),
            }
        }
    }
}

/// F_SETFL's (and FIOASYNC's, FIONBIO's) change of the settable status
/// flags of `file`, open as `fd`, to `requested`. Turning O_ASYNC on arms
/// a host object for signal-driven I/O (task/sigio.rs) before the host
/// sees the flag, and records `fd` as the one its signals name (si_fd);
/// turning it off disarms it (Linux calls `->fasync` only on a change,
/// `setfl` in fs/fcntl.c).
pub(super) fn set_status_flags(fd: i32, file: &Arc<OpenFile>, requested: u32) -> Result<()> {
    let was_async = file.status() & g::FASYNC != 0;
    let is_async = requested & g::FASYNC != 0;
    if let Some(h) = file.host_fd() {
        if is_async && !was_async {
            lock(&file.async_owner).fd = fd;
            current().sigio.arm(file, h)?;
        }
        host::fs::set_status_flags(h, requested).map_err(host_err)?;
        if was_async && !is_async {
            current().sigio.disarm(file, h);
        }
    } else if is_async && !was_async {
        lock(&file.async_owner).fd = fd;
    }
    let mut st = lock(&file.status);
    *st = (*st & !SETFL_MASK) | requested;
    Ok(())
}

/// F_NOTIFY (`fcntl_dirnotify`, fs/notify/dnotify/dnotify.c): signal the
/// file's owner at each change in directory `fd` of a kind in `arg`
/// (DN_ACCESS ... DN_ATTRIB, once unless DN_MULTISHOT; task/dnotify.rs).
/// An `arg` without events removes the notification, on any file; bits
/// Linux does not know are ignored, as Linux ignores them. The caller
/// becomes the owner when the file has none (`__f_setown` without force).
fn dir_notify(fd: i32, arg: u32) -> Result<u64> {
    let file = file_of(fd)?;
    let p = current();
    if arg & !g::DN_MULTISHOT == 0 {
        p.sigio.dir_flush(&file);
        return Ok(0);
    }
    if !file.is_dir() {
        return_errno_with_message!(ENOTDIR, "F_NOTIFY watches directories only");
    }
    p.sigio.dir_notify(&file, fd, arg)?;
    let mut o = lock(&file.async_owner);
    if o.pid == 0 {
        o.kind = g::F_OWNER_PID;
        o.pid = p.pid() as i32;
    }
    Ok(0)
}

/// F_SETOWN, F_GETOWN, their _EX forms, F_SETSIG and F_GETSIG: the owner
/// and signal of signal-driven I/O, kept as Linux keeps them (a negative
/// F_SETOWN pid is a process group) and used by task/sigio.rs. Setting
/// either on a file with O_ASYNC arms it again, for this process: after a
/// fork, the side that sets the owner is the one whose watcher hears the
/// events (the owner is the open file description's, shared).
fn async_owner(fd: i32, cmd: u32, arg: u64) -> Result<u64> {
    let file = file_of(fd)?;
    let mut o = lock(&file.async_owner);
    match cmd {
        g::F_SETOWN => {
            let pid = args::int(arg);
            if pid == i32::MIN {
                return_errno_with_message!(EINVAL, "no process group can be -INT_MIN");
            }
            o.kind = if pid < 0 { g::F_OWNER_PGRP } else { g::F_OWNER_PID };
            o.pid = pid.abs();
        }
        // A process group owner reads back negative (f_getown).
        g::F_GETOWN => return Ok(if o.kind == g::F_OWNER_PGRP { (-o.pid) as i64 as u64 } else { o.pid as i64 as u64 }),
        g::F_SETOWN_EX => {
            let [kind, pid]: [i32; 2] = crate::uaccess::read(arg)?;
            let kind = kind as u32;
            if ![g::F_OWNER_TID, g::F_OWNER_PID, g::F_OWNER_PGRP].contains(&kind) {
                return_errno_with_message!(EINVAL, "owner type must be F_OWNER_TID, F_OWNER_PID or F_OWNER_PGRP");
            }
            o.kind = kind;
            o.pid = pid;
        }
        g::F_GETOWN_EX => {
            let kind = if o.pid == 0 { g::F_OWNER_PID } else { o.kind };
            crate::uaccess::write(arg, &[kind as i32, o.pid])?;
            return Ok(0);
        }
        g::F_SETSIG => {
            if arg > 64 {
                return_errno_with_message!(EINVAL, "not a signal number");
            }
            o.sig = arg as u32;
        }
        _ => return Ok(u64::from(o.sig)),
    }
    drop(o);
    if file.status() & g::FASYNC != 0 {
        if let Some(h) = file.host_fd() {
            current().sigio.arm(&file, h)?;
        }
    }
    Ok(0)
}
