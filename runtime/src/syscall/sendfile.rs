//! sendfile, copy_file_range: the copies Linux does in the kernel (its
//! fs/read_write.c), done here through the runtime.
//!
//! man7: sendfile.2, copy_file_range.2
//! (https://man7.org/linux/man-pages/man2/copy_file_range.2.html).
//!
//! Divergences from Linux:
//! - copy_file_range and sendfile copy through the runtime in 64 KiB chunks.

use super::read_write::rw_count;
use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::{Error, Result};
use crate::uaccess;
use crate::vfs::fd_table::file_of;
use crate::vfs::file::OpenFile;
use crate::{errno, return_errno, return_errno_with_message};

/// Bytes copied per round by copy_file_range and sendfile.
const COPY_CHUNK: usize = 64 * 1024;

/// Where a copy reads or writes: at an explicit offset, or the file position.
fn copy_loop(
    src: &OpenFile,
    mut src_off: Option<i64>,
    dst: &OpenFile,
    mut dst_off: Option<i64>,
    len: usize,
) -> (usize, Option<Error>) {
    let mut buf = vec![0u8; COPY_CHUNK.min(len)];
    let mut done = 0usize;
    while done < len {
        let want = (len - done).min(buf.len());
        let got = match src_off {
            Some(o) => src.pread(&mut buf[..want], o),
            None => src.read(&mut buf[..want]),
        };
        let got = match got {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return (done, Some(e)),
        };
        let mut written = 0usize;
        while written < got {
            let w = match dst_off {
                Some(o) => o.checked_add(written as i64).map_or(Err(errno!(EFBIG)), |o| dst.pwrite(&buf[written..got], o)),
                None => dst.write(&buf[written..got]),
            };
            match w {
                Ok(0) => return (done + written, None),
                Ok(n) => written += n,
                Err(e) => return (done + written, Some(e)),
            }
        }
        if let Some(o) = dst_off.as_mut() {
            *o = o.saturating_add(got as i64);
        }
        if let Some(o) = src_off.as_mut() {
            *o = o.saturating_add(got as i64);
        }
        done += got;
        if got < want {
            break;
        }
    }
    (done, None)
}

/// The result of a copy: bytes done, or the error if nothing was done.
fn copy_result(done: usize, err: Option<Error>) -> Result<u64> {
    match err {
        Some(e) if done == 0 => Err(e),
        _ => Ok(done as u64),
    }
}

fn read_off(ptr: u64) -> Result<Option<i64>> {
    if ptr == 0 {
        return Ok(None);
    }
    let off: i64 = uaccess::read(ptr)?;
    if off < 0 {
        return_errno_with_message!(EINVAL, "offset is negative");
    }
    Ok(Some(off))
}

fn update_off(ptr: u64, start: Option<i64>, done: usize) -> Result<()> {
    if let Some(o) = start {
        uaccess::write(ptr, &o.saturating_add(done as i64))?;
    }
    Ok(())
}

pub fn copy_file_range(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (fd_in, off_in_ptr, fd_out, off_out_ptr) = (args::fd(a[0]), a[1], args::fd(a[2]), a[3]);
    let len = rw_count(a[4]);
    if a[5] != 0 {
        return_errno_with_message!(EINVAL, "flags must be 0");
    }
    let src = file_of(fd_in)?;
    let dst = file_of(fd_out)?;
    // generic_copy_file_checks (fs/read_write.c), in its order.
    let (st_in, st_out) = (src.status(), dst.status());
    if st_in & g::O_PATH != 0 || st_in & g::O_ACCMODE == g::O_WRONLY {
        return_errno!(EBADF);
    }
    if st_out & g::O_PATH != 0 || st_out & g::O_ACCMODE == g::O_RDONLY || st_out & g::O_APPEND != 0 {
        return_errno_with_message!(EBADF, "output not writable or O_APPEND");
    }
    let (sin, sout) = (src.stat()?, dst.stat()?);
    if sin.mode & g::S_IFMT == g::S_IFDIR || sout.mode & g::S_IFMT == g::S_IFDIR {
        return_errno!(EISDIR);
    }
    if sin.mode & g::S_IFMT != g::S_IFREG || sout.mode & g::S_IFMT != g::S_IFREG {
        return_errno_with_message!(EINVAL, "not a regular file");
    }
    // vfs_copy_file_range: across file systems only those with a copy
    // method of their own copy (NFS, CIFS ...); the rest refuse, and
    // callers (cp) fall back to reading and writing.
    if sin.dev != sout.dev {
        return_errno_with_message!(EXDEV, "the files are on different file systems");
    }
    let off_in = read_off(off_in_ptr)?;
    let off_out = read_off(off_out_ptr)?;
    let pos_in = match off_in {
        Some(o) => o,
        None => src.seek(0, g::SEEK_CUR)?,
    };
    let pos_out = match off_out {
        Some(o) => o,
        None => dst.seek(0, g::SEEK_CUR)?,
    };
    // Shorten the copy to the end of the input, then refuse overlapping
    // ranges within one file.
    let avail = usize::try_from(sin.size.saturating_sub(pos_in)).unwrap_or(0);
    let len = len.min(avail);
    let len_i = len as i64;
    if sin.dev == sout.dev
        && sin.ino == sout.ino
        && pos_out.saturating_add(len_i) > pos_in
        && pos_in.saturating_add(len_i) > pos_out
    {
        return_errno_with_message!(EINVAL, "overlapping ranges in one file");
    }
    if len == 0 {
        return Ok(0);
    }
    let (done, err) = copy_loop(&src, off_in, &dst, off_out, len);
    update_off(off_in_ptr, off_in, done)?;
    update_off(off_out_ptr, off_out, done)?;
    copy_result(done, err)
}

pub fn sendfile(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (out_fd, in_fd, off_ptr) = (args::fd(a[0]), args::fd(a[1]), a[2]);
    let count = rw_count(a[3]);
    let src = file_of(in_fd)?;
    let dst = file_of(out_fd)?;
    let (st_in, st_out) = (src.status(), dst.status());
    if st_in & g::O_PATH != 0 || st_in & g::O_ACCMODE == g::O_WRONLY {
        return_errno!(EBADF);
    }
    dst.check_writable()?;
    if st_out & g::O_APPEND != 0 {
        return_errno_with_message!(EINVAL, "output has O_APPEND");
    }
    let off = read_off(off_ptr)?;
    // Into anything but a pipe the kernel splices directly
    // (do_splice_direct), which takes no pipe or socket as input: EINVAL,
    // before the count is looked at. (Go's io.Copy from a pipe into a
    // socket tries sendfile first and falls back on EINVAL.)
    let kind = |f: &OpenFile| f.stat().map(|st| st.mode & g::S_IFMT).unwrap_or(0);
    if matches!(kind(&src), g::S_IFIFO | g::S_IFSOCK) && kind(&dst) != g::S_IFIFO {
        if off.is_some() {
            return_errno_with_message!(ESPIPE, "the input has no offset");
        }
        return_errno_with_message!(EINVAL, "sendfile from a pipe or a socket");
    }
    if count == 0 {
        return Ok(0);
    }
    let (done, err) = copy_loop(&src, off, &dst, None, count);
    update_off(off_ptr, off, done)?;
    copy_result(done, err)
}
