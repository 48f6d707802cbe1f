//! Advisory file locks: flock(2) and fcntl's POSIX and OFD record locks
//! (Linux's fs/locks.c), held by the host on the host fd.
//!
//! man7: flock.2, fcntl.2 "Advisory record locking" and "Open file
//! description locks" (https://man7.org/linux/man-pages/man2/flock.2.html).
//!
//! Divergences from Linux:
//! - Record locks need a host file (EINVAL on a synthetic one); flock on a
//!   synthetic file checks the operation and always succeeds.

use super::args::uint;
use super::fs_common::host_err;
use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::Result;
use crate::host::{self, HostFlock};
use crate::return_errno_with_message;
use crate::uaccess;
use crate::vfs::fd_table::file_of;
use crate::vfs::file::OpenFile;

/// fcntl's F_GETLK, F_SETLK and F_SETLKW and their OFD forms, on the host fd;
/// F_GETLK reports the holder by its Linux pid.
pub(super) fn fcntl_lock(file: &OpenFile, cmd: u32, arg: u64) -> Result<u64> {
    file.require_not_path()?;
    let Some(host_fd) = file.host_fd() else {
        return_errno_with_message!(EINVAL, "record locks need a host file");
    };
    let fl: g::flock = uaccess::read(arg)?;
    let mut hl = HostFlock { l_type: fl.l_type, whence: fl.l_whence, start: fl.l_start, len: fl.l_len, pid: fl.l_pid };
    host::fs::record_lock(host_fd, cmd, &mut hl).map_err(host_err)?;
    if cmd == g::F_GETLK || cmd == g::F_OFD_GETLK {
        let mut out = fl;
        out.l_type = hl.l_type;
        out.l_whence = hl.whence;
        out.l_start = hl.start;
        out.l_len = hl.len;
        // The holder as the guest knows it (OFD locks report -1, no holder 0).
        out.l_pid = if hl.pid > 0 { crate::syscall::proc_model::vpid_of_host(hl.pid).unwrap_or(0) } else { hl.pid };
        uaccess::write(arg, &out)?;
    }
    Ok(0)
}

/// flock(2): whole-file advisory locks, held by the open file description
/// (shared across fork and dup, as on Linux: the host fd is the same).
pub fn flock(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    let op = uint(a[1]);
    match file.host_fd() {
        Some(fd) => host::fs::whole_file_lock(fd, op).map_err(host_err)?,
        // Synthetic files: nothing else can hold a lock on them, but the
        // operation is still checked.
        None if matches!(op & !g::LOCK_NB, g::LOCK_SH | g::LOCK_EX | g::LOCK_UN) => {}
        None => return_errno_with_message!(EINVAL, "operation must be LOCK_SH, LOCK_EX or LOCK_UN"),
    }
    Ok(0)
}
