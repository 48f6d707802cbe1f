//! truncate, ftruncate, fallocate: a file's size and allocated space
//! (Linux's fs/open.c).
//!
//! man7: truncate.2, fallocate.2
//! (https://man7.org/linux/man-pages/man2/fallocate.2.html).

use super::args::uint;
use super::fs_common::{host_err, loff};
use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::Result;
use crate::host;
use crate::return_errno_with_message;
use crate::vfs::fd_table::file_of;
use crate::vfs::lookup::resolve_existing;
use crate::vfs::{self, Lookup};

pub fn truncate(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[0])?;
    let len = loff(a[1]);
    if len < 0 {
        return_errno_with_message!(EINVAL, "length is negative");
    }
    let r = resolve_existing(g::AT_FDCWD, &path, true)?;
    if r.kind == Lookup::Dir {
        return_errno_with_message!(EISDIR, "is a directory");
    }
    let hp = vfs::host_only(&r, "synthetic files cannot be truncated")?;
    // vfs_truncate: write permission on the file.
    vfs::perm::may_access(&crate::task::current().cred(), &r, vfs::perm::MAY_WRITE, true)?;
    host::fs::truncate_at(hp.dir_fd(), &hp.name, len).map_err(host_err)?;
    Ok(0)
}

pub fn ftruncate(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    let len = loff(a[1]);
    if len < 0 {
        return_errno_with_message!(EINVAL, "length is negative");
    }
    file.require_not_path()?;
    let st = file.status();
    // do_ftruncate (fs/open.c): EINVAL unless a regular file open for writing.
    if st & g::O_ACCMODE == g::O_RDONLY {
        return_errno_with_message!(EINVAL, "fd is not open for writing");
    }
    let Some(h) = file.host_fd() else { return_errno_with_message!(EINVAL, "not a regular file") };
    if let Some(m) = file.ops_as::<super::memfd::Memfd>() {
        m.check_resize(len as u64)?;
    }
    host::fs::ftruncate(h, len).map_err(host_err)?;
    Ok(0)
}

pub fn fallocate(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    let mode = uint(a[1]);
    let (off, len) = (loff(a[2]), loff(a[3]));
    // vfs_fallocate (fs/open.c), in its order.
    if off < 0 || len <= 0 {
        return_errno_with_message!(EINVAL, "offset negative or length not positive");
    }
    let known = g::FALLOC_FL_KEEP_SIZE
        | g::FALLOC_FL_PUNCH_HOLE
        | g::FALLOC_FL_NO_HIDE_STALE
        | g::FALLOC_FL_COLLAPSE_RANGE
        | g::FALLOC_FL_ZERO_RANGE
        | g::FALLOC_FL_INSERT_RANGE
        | g::FALLOC_FL_UNSHARE_RANGE;
    if mode & !known != 0 {
        return_errno_with_message!(EOPNOTSUPP, "unknown fallocate mode");
    }
    file.check_writable()?;
    if off.checked_add(len).is_none() {
        return_errno_with_message!(EFBIG, "offset plus length overflows");
    }
    let Some(h) = file.host_fd() else { return_errno_with_message!(ENODEV, "not a regular file") };
    if let Some(m) = file.ops_as::<super::memfd::Memfd>() {
        // shmem_fallocate: punching writes; growing needs room.
        if mode & g::FALLOC_FL_PUNCH_HOLE != 0 {
            m.check_write()?;
        } else if mode & g::FALLOC_FL_KEEP_SIZE == 0 {
            m.check_resize(m.size()?.max((off + len) as u64))?;
        }
    }
    host::fs::fallocate(h, mode, off, len).map_err(host_err)?;
    Ok(0)
}
