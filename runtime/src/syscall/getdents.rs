//! getdents64 and getdents: a directory's entries as `struct
//! linux_dirent64` records, or as the older `struct linux_dirent` ones
//! (Linux's fs/readdir.c).
//!
//! man7: getdents.2 (https://man7.org/linux/man-pages/man2/getdents.2.html).

use super::args::uint;
use super::{args, Ctx};
use crate::error::Result;
use crate::return_errno_with_message;
use crate::uaccess;
use crate::vfs::fd_table::file_of;

/// Offset of `d_name` in `struct linux_dirent64` (8 + 8 + 2 + 1).
const DIRENT64_NAME_OFFSET: usize = 19;
/// Offset of `d_name` in `struct linux_dirent` (8 + 8 + 2); its `d_type`
/// is the record's last byte, after the name's NUL.
const DIRENT_NAME_OFFSET: usize = 18;

fn dirent_reclen(name_len: usize) -> usize {
    (DIRENT64_NAME_OFFSET + name_len + 1).div_ceil(8) * 8
}

fn old_dirent_reclen(name_len: usize) -> usize {
    (DIRENT_NAME_OFFSET + name_len + 2).div_ceil(8) * 8
}

pub fn getdents64(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    fill(a, false)
}

/// getdents(2), the call before getdents64: the same entries, laid out as
/// `struct linux_dirent` (what old static binaries call).
pub fn getdents(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    fill(a, true)
}

fn fill(a: [u64; 6], old: bool) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    // `count` is an unsigned int in the kernel.
    let count = usize::try_from(uint(a[2])).unwrap_or(usize::MAX);
    if !file.is_dir() {
        return_errno_with_message!(ENOTDIR, "fd is not a directory");
    }
    let mut out: Vec<u8> = Vec::new();
    let mut too_small = false;
    file.read_dir(&mut |e, next| {
        let name = e.name.as_slice();
        let reclen = if old { old_dirent_reclen(name.len()) } else { dirent_reclen(name.len()) };
        let Ok(reclen16) = u16::try_from(reclen) else { return false };
        if out.len().saturating_add(reclen) > count {
            too_small = out.is_empty();
            return false;
        }
        let start = out.len();
        out.extend_from_slice(&e.ino.to_ne_bytes());
        out.extend_from_slice(&next.to_ne_bytes());
        out.extend_from_slice(&reclen16.to_ne_bytes());
        if !old {
            out.push(e.d_type);
        }
        out.extend_from_slice(name);
        out.resize(start + reclen, 0);
        if old {
            out[start + reclen - 1] = e.d_type;
        }
        true
    })?;
    if too_small {
        return_errno_with_message!(EINVAL, "buffer too small for the next entry");
    }
    uaccess::write_bytes(a[1], &out)?;
    Ok(out.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirent_records_are_8_aligned() {
        assert_eq!(dirent_reclen(1), 24);
        assert_eq!(dirent_reclen(4), 24);
        assert_eq!(dirent_reclen(5), 32);
        assert_eq!(dirent_reclen(255) % 8, 0);
        // 18 + name + NUL + d_type, rounded up: "." takes 24, as on Linux.
        assert_eq!(old_dirent_reclen(1), 24);
        assert_eq!(old_dirent_reclen(4), 24);
        assert_eq!(old_dirent_reclen(5), 32);
    }
}
