//! fsync, fdatasync, syncfs, sync: flushing to storage (Linux's fs/sync.c).
//!
//! man7: fsync.2, syncfs.2, sync.2
//! (https://man7.org/linux/man-pages/man2/fsync.2.html).

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
