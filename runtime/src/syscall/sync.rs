//! fsync, fdatasync, sync_file_range, syncfs, sync: flushing to storage
//! (Linux's fs/sync.c).
//!
//! man7: fsync.2, sync_file_range.2, syncfs.2, sync.2
//! (https://man7.org/linux/man-pages/man2/fsync.2.html).
//!
//! Divergences from Linux:
//! - sync_file_range on macOS hosts: writing and waiting for a range is an
//!   fsync of the whole file; starting or waiting alone does nothing.

use super::fs_common::host_err;
use super::{args, Ctx};
use crate::errno;
use crate::error::{Error, Result};
use crate::host;
use crate::vfs::fd_table::file_of;

fn sync_fd(a: [u64; 6], data_only: bool) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    file.require_not_path()?;
    match file.host_fd() {
        Some(fd) => {
            if data_only {
                host::fs::fdatasync(fd).map_err(host_err)?;
            } else {
                host::fs::fsync(fd).map_err(host_err)?;
            }
            Ok(0)
        }
        // Neither the memory devices nor /proc implement fsync: EINVAL, as in
        // vfs_fsync_range (fs/sync.c) for a file without ->fsync.
        _ => Err(errno!(EINVAL, "file does not support syncing")),
    }
}

pub fn fsync(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    sync_fd(a, false)
}

pub fn fdatasync(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    sync_fd(a, true)
}

/// sync_file_range(2): the checks of fs/sync.c's sync_file_range in its
/// order, then the host's writeback of the range.
pub fn sync_file_range(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    use crate::abi::gen as g;
    let file = file_of(args::fd(a[0]))?;
    file.require_not_path()?;
    let (off, len) = (a[1] as i64, a[2] as i64);
    let valid = g::SYNC_FILE_RANGE_WAIT_BEFORE | g::SYNC_FILE_RANGE_WRITE | g::SYNC_FILE_RANGE_WAIT_AFTER;
    let flags = args::flags(a[3] & 0xffff_ffff, valid, "unknown sync_file_range flags")?;
    let end = off.wrapping_add(len);
    if off < 0 || end < 0 || end < off {
        return Err(errno!(EINVAL, "offset or length out of range"));
    }
    let kind = file.stat()?.mode & g::S_IFMT;
    if ![g::S_IFREG, g::S_IFBLK, g::S_IFDIR, g::S_IFLNK].contains(&kind) {
        return Err(errno!(ESPIPE, "not a file with a page cache"));
    }
    if let Some(fd) = file.host_fd() {
        host::fs::sync_file_range(fd, off, len, flags).map_err(host_err)?;
    }
    Ok(0)
}

/// syncfs(2): any open fd names a filesystem; synthetic ones have nothing to flush.
pub fn syncfs(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    if let Some(fd) = file.host_fd() {
        host::fs::syncfs(fd).map_err(Error::new)?;
    }
    Ok(0)
}

/// sync(2): flush every filesystem the guest can reach (the host's).
pub fn sync(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    host::fs::sync_all();
    Ok(0)
}
