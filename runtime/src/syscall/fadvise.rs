//! fadvise64 and readahead: access-pattern advice (Linux's mm/fadvise.c,
//! mm/readahead.c).
//!
//! man7: posix_fadvise.2, readahead.2
//! (https://man7.org/linux/man-pages/man2/posix_fadvise.2.html).
//!
//! Divergences from Linux:
//! - fadvise64 and readahead validate their arguments and give the host
//!   no hint (the host's own readahead fills its cache).

use super::args::uint;
use super::fs_common::loff;
use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::Result;
use crate::vfs::fd_table::file_of;
use crate::{errno, return_errno, return_errno_with_message};

pub fn fadvise64(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    file.require_not_path()?;
    // generic_fadvise (mm/fadvise.c): pipes first, then length, then advice.
    if file.stat()?.mode & g::S_IFMT == g::S_IFIFO {
        return_errno!(ESPIPE);
    }
    if loff(a[2]) < 0 {
        return_errno_with_message!(EINVAL, "length is negative");
    }
    match uint(a[3]) {
        g::POSIX_FADV_NORMAL
        | g::POSIX_FADV_RANDOM
        | g::POSIX_FADV_SEQUENTIAL
        | g::POSIX_FADV_WILLNEED
        | g::POSIX_FADV_DONTNEED
        | g::POSIX_FADV_NOREUSE
            if a[3] <= u64::from(u32::MAX) =>
        {
            Ok(0)
        }
        _ => Err(errno!(EINVAL, "unknown advice")),
    }
}

/// readahead(2): ksys_readahead's checks (a file open for reading that is
/// a regular file or a block device), then POSIX_FADV_WILLNEED's.
pub fn readahead(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    let status = file.status();
    if status & g::O_PATH != 0 || status & g::O_ACCMODE == g::O_WRONLY {
        return_errno_with_message!(EBADF, "fd is not open for reading");
    }
    let kind = file.stat()?.mode & g::S_IFMT;
    if kind != g::S_IFREG && kind != g::S_IFBLK {
        return_errno_with_message!(EINVAL, "readahead needs a regular file or a block device");
    }
    // The count is a size_t that generic_fadvise takes as a signed length.
    if (a[2] as i64) < 0 {
        return_errno_with_message!(EINVAL, "length is negative");
    }
    Ok(0)
}
