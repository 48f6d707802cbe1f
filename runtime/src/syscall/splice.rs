//! splice(2), tee(2), vmsplice(2): moving data to, from and between pipes.
//! https://man7.org/linux/man-pages/man2/splice.2.html
//!
//! Pipes are host pipes; splice and vmsplice move the bytes through a
//! runtime buffer (at most [`CHUNK`] per call, a short count as Linux's
//! splice also gives), with Linux's checks in fs/splice.c's order. File to
//! pipe reads with pread at the file's position and advances it by what
//! the pipe took, so nothing read is lost; pipe to file writes all it read.
//!
//! Divergences from Linux:
//! - Nothing is moved by reference: SPLICE_F_MOVE and SPLICE_F_GIFT are
//!   accepted and mean nothing, and a page vmspliced into a pipe is a copy.
//! - tee is the host's (on macOS, where no call reads a pipe without
//!   consuming it, ENOSYS).
//! - With SPLICE_F_NONBLOCK, a pipe taking part that has room (or data) for
//!   part of the request moves at most PIPE_BUF bytes; a read from a
//!   non-seekable file into a full pipe can lose what the pipe refused.
//! - From a pipe into an O_NONBLOCK socket, at most PIPE_BUF bytes move
//!   per call once the socket is writable; should the socket take less,
//!   the call waits until it has taken them all, where Linux leaves the
//!   rest in the pipe.

use super::{args, Ctx};
use crate::abi::{gen as g, Iovec};
use crate::error::{Error, Result};
use crate::host;
use crate::task::{current, lock};
use crate::uaccess;
use crate::vfs::file::OpenFile;
use crate::{errno, return_errno, return_errno_with_message};
use std::sync::Arc;

const SPLICE_F_ALL: u32 = g::SPLICE_F_MOVE | g::SPLICE_F_NONBLOCK | g::SPLICE_F_MORE | g::SPLICE_F_GIFT;
/// The most one call moves: Linux's default pipe capacity.
const CHUNK: usize = 16 * 4096;
/// What a nonblocking pipe write is sure to find room for once the host
/// says the pipe is writable.
const PIPE_BUF: usize = 4096;

fn file_of(fd: i32) -> Result<Arc<OpenFile>> {
    lock(&current().fds).get(fd)
}

/// The host pipe behind `f` and its identity (inode), if it is a pipe.
fn pipe_of(f: &OpenFile) -> Option<(host::HostFd, u64)> {
    let fd = f.host_fd()?;
    let st = host::fs::fstat(fd).ok()?;
    (st.mode & g::S_IFMT == g::S_IFIFO).then_some((fd, st.ino))
}

fn readable(f: &OpenFile) -> Result<()> {
    let st = f.status();
    if st & g::O_PATH != 0 || st & g::O_ACCMODE == g::O_WRONLY {
        return_errno_with_message!(EBADF, "the input is not open for reading");
    }
    Ok(())
}

fn writable(f: &OpenFile) -> Result<()> {
    let st = f.status();
    if st & g::O_PATH != 0 || st & g::O_ACCMODE == g::O_RDONLY {
        return_errno_with_message!(EBADF, "the output is not open for writing");
    }
    Ok(())
}

/// Whether host pipe `fd` is ready for `events` now.
fn ready(fd: host::HostFd, events: u32) -> bool {
    let mut req = [(fd, events, 0)];
    matches!(host::fs::poll(&mut req, 0), Ok(n) if n > 0)
}

/// A `loff_t *` argument: None for NULL, EINVAL for a negative offset.
fn read_offset(addr: u64) -> Result<Option<i64>> {
    if addr == 0 {
        return Ok(None);
    }
    let off: i64 = uaccess::read(addr)?;
    if off < 0 {
        return_errno_with_message!(EINVAL, "negative offset");
    }
    Ok(Some(off))
}

/// Reads from pipe `f` (host fd `fd`) what one call moves, honouring
/// SPLICE_F_NONBLOCK; an empty Vec at the end of the data.
fn read_pipe(f: &OpenFile, fd: host::HostFd, len: usize, nonblock: bool) -> Result<Vec<u8>> {
    if (nonblock || f.is_nonblocking()) && !ready(fd, g::POLLIN) {
        return_errno_with_message!(EAGAIN, "the pipe is empty");
    }
    let mut buf = vec![0u8; len.min(CHUNK)];
    let n = f.read(&mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

/// How much of `len` a write into pipe `fd` may take now.
fn pipe_room(f: &OpenFile, fd: host::HostFd, len: usize, nonblock: bool) -> Result<usize> {
    if nonblock || f.is_nonblocking() {
        if !ready(fd, g::POLLOUT) {
            return_errno_with_message!(EAGAIN, "the pipe is full");
        }
        return Ok(len.min(PIPE_BUF));
    }
    Ok(len.min(CHUNK))
}

pub fn splice(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let len = args::len(a[4])?;
    if len == 0 {
        return Ok(0);
    }
    let flags = args::flags(a[5], SPLICE_F_ALL, "unknown splice flags")?;
    let nonblock = flags & g::SPLICE_F_NONBLOCK != 0;
    let (fin, fout) = (file_of(args::fd(a[0]))?, file_of(args::fd(a[2]))?);
    let (pin, pout) = (pipe_of(&fin), pipe_of(&fout));
    if (pin.is_some() && a[1] != 0) || (pout.is_some() && a[3] != 0) {
        return_errno_with_message!(ESPIPE, "a pipe has no offset");
    }
    readable(&fin)?;
    writable(&fout)?;
    match (pin, pout) {
        (Some((ifd, iino)), Some((ofd, oino))) => {
            if iino == oino {
                return_errno_with_message!(EINVAL, "splicing a pipe into itself");
            }
            let room = pipe_room(&fout, ofd, len, nonblock)?;
            let data = read_pipe(&fin, ifd, room, nonblock)?;
            write_all(&fout, &data)?;
            Ok(data.len() as u64)
        }
        (None, Some((ofd, _))) => {
            let room = pipe_room(&fout, ofd, len, nonblock)?;
            file_to_pipe(&fin, a[1], &fout, room)
        }
        (Some((ifd, _)), None) => {
            if fout.status() & g::O_APPEND != 0 {
                return_errno_with_message!(EINVAL, "the output is O_APPEND");
            }
            let off = read_offset(a[3])?;
            // An output with O_NONBLOCK (a socket) takes what it has room
            // for; what is read from the pipe cannot go back, so no more
            // is read than a writable output surely takes, and the rest of
            // that is waited for should it not. (SPLICE_F_NONBLOCK is the
            // pipe's: splice(2) leaves the output's blocking to its fd.)
            let len = match fout.host_fd() {
                Some(h) if fout.is_nonblocking() => {
                    if !ready(h, g::POLLOUT) {
                        return_errno_with_message!(EAGAIN, "the output has no room");
                    }
                    len.min(PIPE_BUF)
                }
                _ => len,
            };
            let data = read_pipe(&fin, ifd, len, nonblock)?;
            let n = match off {
                Some(off) => {
                    let n = pwrite_all(&fout, &data, off)?;
                    uaccess::write(a[3], &(off + n as i64))?;
                    n
                }
                None => write_all(&fout, &data)?,
            };
            Ok(n as u64)
        }
        (None, None) => return_errno_with_message!(EINVAL, "one side of a splice must be a pipe"),
    }
}

/// Moves up to `len` bytes of file `fin` (at `*off_ptr`, or its position)
/// into pipe `fout`; only what the pipe took counts as read.
fn file_to_pipe(fin: &OpenFile, off_ptr: u64, fout: &OpenFile, len: usize) -> Result<u64> {
    let explicit = read_offset(off_ptr)?;
    let at = match explicit {
        Some(off) => Some(off),
        None => fin.seek(0, g::SEEK_CUR).ok(),
    };
    let mut buf = vec![0u8; len];
    let n = match at {
        Some(at) => fin.pread(&mut buf, at)?,
        // A file without a position (a socket, a device): read it.
        None => fin.read(&mut buf)?,
    };
    if n == 0 {
        return Ok(0);
    }
    let moved = fout.write(&buf[..n])?;
    match (explicit, at) {
        (Some(off), _) => uaccess::write(off_ptr, &(off + moved as i64))?,
        (None, Some(pos)) => {
            fin.seek(pos + moved as i64, g::SEEK_SET)?;
        }
        (None, None) => {}
    }
    Ok(moved as u64)
}

/// Writes all of `data`, which was taken out of a pipe already: a
/// nonblocking output that is full is waited for (POLLOUT), and an error
/// after part of it went is the count of what went.
fn write_all(f: &OpenFile, mut data: &[u8]) -> Result<usize> {
    let total = data.len();
    while !data.is_empty() {
        let n = match f.write(data) {
            Ok(n) => n,
            Err(e) if e.errno == crate::abi::Errno::EAGAIN => match f.host_fd() {
                Some(h) => {
                    let mut req = [(h, g::POLLOUT, 0)];
                    host::fs::poll(&mut req, -1).map_err(Error::new)?;
                    continue;
                }
                None if data.len() < total => break,
                None => return Err(e),
            },
            Err(_) if data.len() < total => break,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        data = &data[n..];
    }
    Ok(total - data.len())
}

fn pwrite_all(f: &OpenFile, data: &[u8], off: i64) -> Result<usize> {
    let mut done = 0;
    while done < data.len() {
        let n = f.pwrite(&data[done..], off + done as i64)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}

pub fn tee(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let flags = args::flags(a[3], SPLICE_F_ALL, "unknown tee flags")?;
    let len = args::len(a[2])?;
    if len == 0 {
        return Ok(0);
    }
    let (fin, fout) = (file_of(args::fd(a[0]))?, file_of(args::fd(a[1]))?);
    readable(&fin)?;
    writable(&fout)?;
    let (Some((ifd, iino)), Some((ofd, oino))) = (pipe_of(&fin), pipe_of(&fout)) else {
        return_errno_with_message!(EINVAL, "tee needs two pipes");
    };
    if iino == oino {
        return_errno_with_message!(EINVAL, "tee of a pipe into itself");
    }
    let nonblock = flags & g::SPLICE_F_NONBLOCK != 0 || fin.is_nonblocking() || fout.is_nonblocking();
    match host::fs::tee(ifd, ofd, len, nonblock) {
        Ok(n) => Ok(n as u64),
        Err(crate::abi::Errno::ENOSYS) => {
            Err(super::refuse("tee", crate::abi::Errno::ENOSYS, "the host cannot copy a pipe's data without consuming it", None))
        }
        Err(e) => Err(Error::new(e)),
    }
}

pub fn vmsplice(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let flags = args::flags(a[3], SPLICE_F_ALL, "unknown vmsplice flags")?;
    let nonblock = flags & g::SPLICE_F_NONBLOCK != 0;
    let file = file_of(args::fd(a[0]))?;
    let Some((pfd, _)) = pipe_of(&file) else { return_errno_with_message!(EBADF, "vmsplice needs a pipe") };
    let cnt = usize::try_from(args::uint(a[2])).unwrap_or(usize::MAX);
    if cnt > g::UIO_MAXIOV as usize {
        return_errno_with_message!(EINVAL, "too many iovecs");
    }
    let mut iov = Vec::with_capacity(cnt);
    for i in 0..cnt as u64 {
        let at = a[1].checked_add(i * 16).ok_or_else(|| errno!(EFAULT))?;
        iov.push(uaccess::read::<Iovec>(at)?);
    }
    let total = iov.iter().fold(0usize, |t, v| t.saturating_add(v.len as usize));
    match file.status() & g::O_ACCMODE {
        g::O_WRONLY => {
            let room = pipe_room(&file, pfd, total, nonblock)?;
            let mut data = Vec::with_capacity(room);
            for v in &iov {
                let take = (v.len as usize).min(room - data.len());
                data.extend_from_slice(&uaccess::read_bytes(v.base, take)?);
            }
            Ok(write_all(&file, &data)? as u64)
        }
        g::O_RDONLY => {
            for v in &iov {
                uaccess::check_writable(v.base, v.len as usize)?;
            }
            let data = read_pipe(&file, pfd, total, nonblock)?;
            let mut done = 0;
            for v in &iov {
                let take = (v.len as usize).min(data.len() - done);
                uaccess::write_bytes(v.base, &data[done..done + take])?;
                done += take;
            }
            Ok(done as u64)
        }
        _ => return_errno!(EBADF),
    }
}
