//! read, write, pread64, pwrite64, readv, writev, preadv, pwritev, lseek:
//! moving bytes through an open file (Linux's fs/read_write.c).
//!
//! man7: read.2, write.2, pread.2, readv.2, lseek.2
//! (https://man7.org/linux/man-pages/man2/readv.2.html and the others).
//!
//! Divergences from Linux:
//! - readv/writev/preadv/pwritev go through one runtime buffer: one host call
//!   per syscall, so atomicity is that of a single read/write.

use super::args::uint;
use super::fs_common::loff;
use super::{args, Ctx};
use crate::abi::gen as g;
use crate::abi::{Iovec, PAGE_SIZE};
use crate::error::Result;
use crate::host;
use crate::uaccess;
use crate::vfs::fd_table::file_of;
use crate::{errno, return_errno, return_errno_with_message};

/// Linux's `MAX_RW_COUNT` (`INT_MAX & PAGE_MASK`, include/linux/fs.h): the most
/// one read or write transfers.
pub const MAX_RW_COUNT: usize = (i32::MAX as usize) & !(PAGE_SIZE as usize - 1);

/// A `size_t` count as Linux clamps it for one read or write.
pub(super) fn rw_count(a: u64) -> usize {
    usize::try_from(a).unwrap_or(usize::MAX).min(MAX_RW_COUNT)
}

/// A `loff_t` argument; negative offsets are EINVAL.
fn offset(a: u64) -> Result<i64> {
    let off = loff(a);
    if off < 0 {
        return_errno_with_message!(EINVAL, "offset is negative");
    }
    Ok(off)
}

pub fn read(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    let n = file.read_guest(a[1], rw_count(a[2]))?;
    Ok(n as u64)
}

pub fn write(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    let n = file.write_guest(a[1], rw_count(a[2]))?;
    Ok(n as u64)
}

pub fn pread64(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    let off = offset(a[3])?;
    let n = file.pread_guest(a[1], rw_count(a[2]), off)?;
    Ok(n as u64)
}

pub fn pwrite64(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    let off = offset(a[3])?;
    let n = file.pwrite_guest(a[1], rw_count(a[2]), off)?;
    Ok(n as u64)
}

/// Reads and checks a guest iovec array (`import_iovec`, lib/iov_iter.c): at
/// most `UIO_MAXIOV` entries, each length a non-negative `ssize_t`, the total
/// clamped to `MAX_RW_COUNT` by shortening the tail.
pub(crate) fn read_iovecs(addr: u64, cnt: u64) -> Result<Vec<Iovec>> {
    let n = check_iovcnt(cnt)?;
    let mut out = Vec::with_capacity(n as usize);
    let mut total = 0usize;
    for i in 0..u64::from(n) {
        let at = i.checked_mul(core::mem::size_of::<Iovec>() as u64).and_then(|o| addr.checked_add(o));
        let Some(at) = at else { return_errno!(EFAULT) };
        out.push(clamp_iovec(uaccess::read(at)?, &mut total)?);
    }
    Ok(out)
}

/// `iovcnt`: an `int` in [0, UIO_MAXIOV]. Pure, like [`clamp_iovec`]: the
/// syscall_args fuzz target calls both.
pub fn check_iovcnt(cnt: u64) -> Result<u32> {
    let Ok(n) = u32::try_from(args::int(cnt)) else { return_errno_with_message!(EINVAL, "iovcnt is negative") };
    if n > g::UIO_MAXIOV {
        return_errno_with_message!(EINVAL, "iovcnt exceeds UIO_MAXIOV");
    }
    Ok(n)
}

/// One iovec of an array whose lengths so far add up to `total` (at most
/// MAX_RW_COUNT): its length must be a non-negative `ssize_t`, and is cut
/// to what is left of MAX_RW_COUNT.
pub fn clamp_iovec(mut v: Iovec, total: &mut usize) -> Result<Iovec> {
    if i64::try_from(v.len).is_err() {
        return_errno_with_message!(EINVAL, "iov_len is negative");
    }
    let len = usize::try_from(v.len).map_err(|_| errno!(EINVAL, "iov_len too large"))?;
    let len = len.min(MAX_RW_COUNT.saturating_sub(*total));
    v.len = len as u64;
    *total += len;
    Ok(v)
}

fn iov_total(iov: &[Iovec]) -> usize {
    // read_iovecs keeps the sum within MAX_RW_COUNT.
    iov.iter().map(|v| v.len as usize).sum()
}

/// Reads with `f` into one buffer, then scatters it over the guest iovecs.
fn readv_with(iov: &[Iovec], f: impl FnOnce(&mut [u8]) -> Result<usize>) -> Result<u64> {
    // Check every destination first, so a bad one fails before data is consumed.
    for v in iov {
        uaccess::check_writable(v.base, v.len as usize)?;
    }
    let mut buf = vec![0u8; iov_total(iov)];
    let n = f(&mut buf)?;
    let mut done = 0usize;
    for v in iov {
        if done >= n {
            break;
        }
        let take = (v.len as usize).min(n - done);
        uaccess::write_bytes(v.base, &buf[done..done + take])?;
        done += take;
    }
    Ok(n as u64)
}

/// Gathers the guest iovecs into one buffer for a single write.
fn gather(iov: &[Iovec]) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(iov_total(iov));
    for v in iov {
        buf.extend_from_slice(&uaccess::read_bytes(v.base, v.len as usize)?);
    }
    Ok(buf)
}

pub fn readv(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    let iov = read_iovecs(a[1], a[2])?;
    readv_with(&iov, |buf| file.read(buf))
}

pub fn writev(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    let iov = read_iovecs(a[1], a[2])?;
    let buf = gather(&iov)?;
    Ok(file.write(&buf)? as u64)
}

// On x86_64 the whole offset is in pos_l (a[3]); pos_h is ignored
// (pos_from_hilo in fs/read_write.c shifts it out).
pub fn preadv(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    let iov = read_iovecs(a[1], a[2])?;
    let off = offset(a[3])?;
    readv_with(&iov, |buf| file.pread(buf, off))
}

pub fn pwritev(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    let iov = read_iovecs(a[1], a[2])?;
    let off = offset(a[3])?;
    let buf = gather(&iov)?;
    Ok(file.pwrite(&buf, off)? as u64)
}

/// The `RWF_*` flags preadv2 and pwritev2 know (include/uapi/linux/fs.h);
/// any other is EOPNOTSUPP (kiocb_set_rw_flags).
const RWF_KNOWN: u32 = g::RWF_HIPRI | g::RWF_DSYNC | g::RWF_SYNC | g::RWF_NOWAIT | g::RWF_APPEND;

fn rwf_flags(a: u64) -> Result<u32> {
    match u32::try_from(a) {
        Ok(v) if v & !RWF_KNOWN == 0 => Ok(v),
        _ => Err(errno!(EOPNOTSUPP, "unknown RWF_ flags")),
    }
}

/// The offset of preadv2/pwritev2: None for -1 (the file position).
fn rwf_offset(a: u64) -> Result<Option<i64>> {
    match loff(a) {
        -1 => Ok(None),
        off if off < 0 => Err(errno!(EINVAL, "negative offset")),
        off => Ok(Some(off)),
    }
}

/// RWF_NOWAIT: EAGAIN when a pipe, socket or terminal would make the call
/// wait (a regular file's data is read or written at once).
fn check_nowait(file: &crate::vfs::file::OpenFile, events: u32) -> Result<()> {
    let Some(h) = file.host_fd() else { return Ok(()) };
    if host::fs::fstat(h).is_ok_and(|st| st.mode & g::S_IFMT == g::S_IFREG) {
        return Ok(());
    }
    let mut req = [(h, events, 0)];
    if !matches!(host::fs::poll(&mut req, 0), Ok(n) if n > 0) {
        return_errno_with_message!(EAGAIN, "RWF_NOWAIT and the file is not ready");
    }
    Ok(())
}

pub fn preadv2(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let flags = rwf_flags(a[5])?;
    let off = rwf_offset(a[3])?;
    let file = file_of(args::fd(a[0]))?;
    let iov = read_iovecs(a[1], a[2])?;
    if flags & g::RWF_NOWAIT != 0 {
        check_nowait(&file, g::POLLIN)?;
    }
    match off {
        None => readv_with(&iov, |buf| file.read(buf)),
        Some(off) => readv_with(&iov, |buf| file.pread(buf, off)),
    }
}

pub fn pwritev2(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let flags = rwf_flags(a[5])?;
    let off = rwf_offset(a[3])?;
    let file = file_of(args::fd(a[0]))?;
    let iov = read_iovecs(a[1], a[2])?;
    if flags & g::RWF_NOWAIT != 0 {
        check_nowait(&file, g::POLLOUT)?;
    }
    let buf = gather(&iov)?;
    let n = match (off, flags & g::RWF_APPEND != 0, file.host_fd()) {
        // RWF_APPEND writes at the end whatever the offset; through the
        // file position (-1) it leaves the position after the data, as
        // an O_APPEND write does.
        (_, true, Some(h)) => {
            let end = host::fs::fstat(h).map_err(crate::error::Error::new)?.size;
            let n = file.pwrite(&buf, end)?;
            if off.is_none() {
                file.seek(end + n as i64, g::SEEK_SET)?;
            }
            n
        }
        (None, _, _) => file.write(&buf)?,
        (Some(off), _, _) => file.pwrite(&buf, off)?,
    };
    if let Some(h) = file.host_fd() {
        if flags & g::RWF_SYNC != 0 {
            host::fs::fsync(h).map_err(crate::error::Error::new)?;
        } else if flags & g::RWF_DSYNC != 0 {
            host::fs::fdatasync(h).map_err(crate::error::Error::new)?;
        }
    }
    Ok(n as u64)
}

pub fn lseek(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    let whence = uint(a[2]);
    if whence > g::SEEK_MAX {
        return_errno_with_message!(EINVAL, "unknown whence");
    }
    let pos = file.seek(loff(a[1]), whence)?;
    Ok(pos as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_rw_count_is_linux_value() {
        assert_eq!(MAX_RW_COUNT, 0x7fff_f000);
    }
}
