//! fadvise64: access-pattern advice (Linux's mm/fadvise.c).
//!
//! man7: posix_fadvise.2
//! (https://man7.org/linux/man-pages/man2/posix_fadvise.2.html).
//!
//! Divergences from Linux:
//! - fadvise64 validates its arguments and gives the host no hint.

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
