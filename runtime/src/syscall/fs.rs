//! File and directory calls: open, read/write, the fd table, metadata, names.
//!
//! Semantics follow the man7 pages of each call (https://man7.org/linux/man-pages/man2/):
//! open.2, read.2, readv.2, lseek.2, close_range.2, dup.2, fcntl.2, ioctl_tty.2,
//! stat.2, statx.2, getdents.2, getcwd.3, mkdir.2, rmdir.2, unlink.2, rename.2, link.2,
//! symlink.2, readlink.2, chmod.2, chown.2, utimensat.2, truncate.2, fsync.2,
//! access.2, statfs.2, fallocate.2, posix_fadvise.2, copy_file_range.2, sendfile.2.
//!
//! Paths are resolved by `vfs` (inside the guest root); handlers then act on
//! the host path of the result, so the host never resolves a guest symlink.
//! No handler holds the fd table lock across a host call: the open file is
//! cloned out first.
//!
//! Divergences from Linux:
//! - Opening `/proc/<pid>/fd/N` of a pipe or socket shares the open file
//!   description of fd N instead of opening the object anew.
//! - readv/writev/preadv/pwritev go through one runtime buffer: one host call
//!   per syscall, so atomicity is that of a single read/write.
//! - copy_file_range and sendfile copy through the runtime in 64 KiB chunks.
//! - close_range's CLOSE_RANGE_UNSHARE is accepted; the table is per process.
//! - fadvise64 validates its arguments and gives the host no hint.
//! - linkat with AT_EMPTY_PATH links the path the fd was opened by, so it
//!   cannot give a name to an O_TMPFILE file.
//! - Synthetic files (/proc, /dev) cannot be created, renamed, removed or
//!   have their mode, owner or times changed.

use super::args::uint;
use super::{args, Ctx};
use crate::abi::gen as g;
use crate::abi::{Iovec, Timespec, NSEC_PER_SEC, PAGE_SIZE};
use crate::error::{Error, Result};
use crate::host::{self, HostFlock, HostStat, HostStatfs, Winsize};
use crate::task::{current, lock};
use crate::uaccess;
use crate::vfs::file::{synth_node_stat, HostFile, OpenFile, SynthDir, SynthPath, SynthSnapshot};
use crate::vfs::{self, HostLoc, Lookup, Node, Resolved, Synth};
use crate::{errno, return_errno, return_errno_with_message};
use linux_raw_sys::ioctl as io;
use std::ffi::CString;
use std::sync::Arc;

/// Linux's `MAX_RW_COUNT` (`INT_MAX & PAGE_MASK`, include/linux/fs.h): the most
/// one read or write transfers.
pub const MAX_RW_COUNT: usize = (i32::MAX as usize) & !(PAGE_SIZE as usize - 1);

/// `CLOSE_RANGE_UNSHARE` and `CLOSE_RANGE_CLOEXEC` from
/// include/uapi/linux/close_range.h, which linux-raw-sys does not generate.
const CLOSE_RANGE_UNSHARE: u32 = 1 << 1;
const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

/// The `F_SETFL` bits Linux lets a caller change (`SETFL_MASK`, fs/fcntl.c).
const SETFL_MASK: u32 = g::O_APPEND | g::O_NONBLOCK | g::O_DIRECT | g::O_NOATIME | g::FASYNC;

/// Bytes copied per round by copy_file_range and sendfile.
const COPY_CHUNK: usize = 64 * 1024;

/// Offset of `d_name` in `struct linux_dirent64` (8 + 8 + 2 + 1).
const DIRENT64_NAME_OFFSET: usize = 19;

// ---------------------------------------------------------------------------
// Shared helpers

fn file_of(fd: i32) -> Result<Arc<OpenFile>> {
    lock(&current().fds).get(fd)
}

fn host_err(e: crate::abi::Errno) -> Error {
    Error::new(e)
}

fn umask_now() -> u32 {
    lock(&current().fs).umask
}

/// A `size_t` count as Linux clamps it for one read or write.
fn rw_count(a: u64) -> usize {
    usize::try_from(a).unwrap_or(usize::MAX).min(MAX_RW_COUNT)
}

/// An `unsigned int` argument: the kernel reads the low 32 bits.
/// A `loff_t` (or `long`) argument, as the signed value the kernel sees.
fn loff(a: u64) -> i64 {
    a as i64
}

/// A `loff_t` argument; negative offsets are EINVAL.
fn offset(a: u64) -> Result<i64> {
    let off = loff(a);
    if off < 0 {
        return_errno_with_message!(EINVAL, "offset is negative");
    }
    Ok(off)
}

fn has_trailing_slash(path: &[u8]) -> bool {
    path.len() > 1 && path.ends_with(b"/")
}

/// The last component of `path` as written (before normalisation).
fn last_component(path: &[u8]) -> &[u8] {
    let trimmed = trim_trailing_slashes(path);
    match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

fn trim_trailing_slashes(path: &[u8]) -> &[u8] {
    let mut end = path.len();
    while end > 0 && path[end - 1] == b'/' {
        end -= 1;
    }
    &path[..end]
}

/// `vfs::resolve_at`, but an empty path is ENOENT before the dirfd is looked
/// at (Linux fails `getname` first: `newfstatat(file_fd, "", 0)` is ENOENT).
fn resolve_at(dirfd: i32, path: &[u8], follow: bool) -> Result<Resolved> {
    if path.is_empty() {
        return_errno_with_message!(ENOENT, "empty path");
    }
    vfs::resolve_at(dirfd, path, follow)
}

/// `vfs::resolve_existing`, with the empty-path rule of [`resolve_at`].
fn resolve_existing(dirfd: i32, path: &[u8], follow: bool) -> Result<Resolved> {
    if path.is_empty() {
        return_errno_with_message!(ENOENT, "empty path");
    }
    vfs::resolve_existing(dirfd, path, follow)
}

/// Resolves the name a create-like call (mkdir, symlink, link, rename, open
/// with O_CREAT) is about to make. Trailing slashes are left to the caller:
/// the name itself is looked up (so `mkdir("file/")` is EEXIST, as in Linux).
/// A missing name under a synthetic directory is EACCES, as creating there is
/// refused, not impossible.
fn resolve_new(dirfd: i32, path: &[u8], follow: bool) -> Result<Resolved> {
    let trimmed = trim_trailing_slashes(path);
    let name = if trimmed.is_empty() && !path.is_empty() { &b"/"[..] } else { trimmed };
    match resolve_at(dirfd, name, follow) {
        Err(e) if e.errno == crate::abi::Errno::ENOENT => {
            let parent = match trimmed.iter().rposition(|&b| b == b'/') {
                Some(0) => &b"/"[..],
                Some(i) => &trimmed[..i],
                None => &b"."[..],
            };
            match resolve_at(dirfd, parent, true) {
                // /proc fails the lookup itself (ENOENT, as proc_root_lookup
                // does); /dev is a root-owned directory (EACCES).
                Ok(p) if matches!(p.node, Node::Synth(_)) && p.kind == Lookup::Dir && !is_proc(&p.guest) => {
                    Err(errno!(EACCES, "synthetic directories cannot be written"))
                }
                _ => Err(e),
            }
        }
        r => r,
    }
}

fn is_proc(guest: &str) -> bool {
    guest == "/proc" || guest.starts_with("/proc/")
}

/// The host path of `r`, or the refusal Linux gives for its synthetic mount:
/// proc has no such inode operation (EPERM); /dev is root-owned (EACCES).
fn host_or_refuse<'a>(r: &'a Resolved, what: &'static str) -> Result<&'a HostLoc> {
    match &r.node {
        Node::Host(p) => Ok(p),
        Node::Synth(_) if is_proc(&r.guest) => Err(errno!(EPERM, what)),
        Node::Synth(_) => Err(errno!(EACCES, what)),
    }
}

/// rename and link cannot cross between the host tree and a synthetic mount.
fn same_mount(a: &Resolved, b: &Resolved) -> Result<()> {
    if matches!(a.node, Node::Host(_)) != matches!(b.node, Node::Host(_)) {
        return_errno_with_message!(EXDEV, "across a synthetic mount");
    }
    Ok(())
}

/// What a call with `AT_EMPTY_PATH` acts on: the dirfd's file or a path.
enum Target {
    File(Arc<OpenFile>),
    Path(Resolved),
}

/// Resolves the target of a `*at` call that accepts `AT_EMPTY_PATH`.
fn target_at(dirfd: i32, path: &[u8], empty_path_ok: bool, follow: bool) -> Result<Target> {
    if path.is_empty() && empty_path_ok {
        if dirfd == g::AT_FDCWD {
            return Ok(Target::Path(resolve_existing(g::AT_FDCWD, b".", true)?));
        }
        return Ok(Target::File(file_of(dirfd)?));
    }
    Ok(Target::Path(resolve_existing(dirfd, path, follow)?))
}

/// A path for an open file, resolved again from the guest path it was opened by.
fn reresolve(file: &OpenFile) -> Result<Resolved> {
    resolve_existing(g::AT_FDCWD, &vfs::path::to_bytes(&file.guest_path), false)
}

/// Like [`target_at`], but always a path (for calls the host does by path).
fn path_target_at(dirfd: i32, path: &[u8], empty_path_ok: bool, follow: bool) -> Result<Resolved> {
    match target_at(dirfd, path, empty_path_ok, follow)? {
        Target::Path(r) => Ok(r),
        Target::File(f) => reresolve(&f),
    }
}

/// Metadata of a resolved node. `followed` says whether the last component
/// was followed (a followed `/proc/<pid>/fd/N` link stats the open file).
fn node_stat(r: &Resolved, followed: bool) -> Result<HostStat> {
    match &r.node {
        Node::Host(p) => host::fs::stat_at(p.dir_fd(), &p.name).map_err(host_err),
        Node::Synth(Synth::FdLink { fd, .. }) if followed => {
            file_of(*fd).map_err(|_| errno!(ENOENT, "fd link target is closed"))?.stat()
        }
        Node::Synth(s) => Ok(synth_node_stat(&r.guest, s)),
    }
}

fn target_stat(t: &Target, followed: bool) -> Result<HostStat> {
    match t {
        Target::File(f) => f.stat(),
        Target::Path(r) => node_stat(r, followed),
    }
}

fn is_writable_access(flags: u32) -> bool {
    let acc = flags & g::O_ACCMODE;
    acc == g::O_WRONLY || acc == g::O_RDWR || flags & g::O_TRUNC != 0
}

fn install(file: OpenFile, cloexec: bool) -> Result<u64> {
    let fd = lock(&current().fds).install(Arc::new(file), cloexec)?;
    Ok(fd as u64)
}

// ---------------------------------------------------------------------------
// open, creat, close, dup

fn do_open(dirfd: i32, path: &[u8], mut flags: u32, mode: u32) -> Result<u64> {
    let cloexec = flags & g::O_CLOEXEC != 0;
    if flags & g::O_PATH != 0 {
        // build_open_flags (fs/open.c): O_PATH keeps only these.
        flags &= g::O_DIRECTORY | g::O_NOFOLLOW | g::O_PATH | g::O_CLOEXEC;
    }
    let is_tmpfile = flags & g::O_TMPFILE == g::O_TMPFILE;
    let creating = flags & g::O_CREAT != 0;
    if creating && flags & g::O_DIRECTORY != 0 {
        // Linux 6.4+ (commit 43b450632676) refuses the combination outright.
        return_errno_with_message!(EINVAL, "O_CREAT and O_DIRECTORY together");
    }
    if is_tmpfile && flags & g::O_ACCMODE == g::O_RDONLY {
        return_errno_with_message!(EINVAL, "O_TMPFILE needs O_WRONLY or O_RDWR");
    }
    if creating && has_trailing_slash(path) {
        // Linux refuses to create through a trailing slash whatever the name is,
        // once the parent resolves (open_last_lookups in fs/namei.c).
        let trimmed = trim_trailing_slashes(path);
        if !trimmed.is_empty() {
            resolve_at(dirfd, trimmed, true)?;
        }
        return_errno_with_message!(EISDIR, "O_CREAT with a trailing slash");
    }
    let is_excl = creating && flags & g::O_EXCL != 0;
    let follow = flags & g::O_NOFOLLOW == 0 && !is_excl;
    let r = if creating { resolve_new(dirfd, path, follow)? } else { resolve_at(dirfd, path, follow)? };
    let wants_write = flags & g::O_PATH == 0 && (is_writable_access(flags) || is_tmpfile);
    match &r.kind {
        Lookup::Missing if !creating => return_errno!(ENOENT),
        Lookup::Missing => {}
        _ if is_excl => return_errno_with_message!(EEXIST, "O_CREAT|O_EXCL and the name exists"),
        Lookup::Symlink(_) if flags & g::O_PATH == 0 => {
            return_errno_with_message!(ELOOP, "O_NOFOLLOW and the last component is a symlink")
        }
        Lookup::Symlink(_) => {}
        Lookup::Dir => {
            if creating {
                return_errno_with_message!(EISDIR, "O_CREAT on an existing directory");
            }
            if wants_write && !is_tmpfile {
                return_errno_with_message!(EISDIR, "directories cannot be opened for writing");
            }
        }
        Lookup::File => {
            if flags & g::O_DIRECTORY != 0 {
                return_errno_with_message!(ENOTDIR, "O_DIRECTORY on a non-directory");
            }
            if is_tmpfile {
                return_errno_with_message!(ENOTDIR, "O_TMPFILE needs a directory");
            }
        }
    }
    let status = flags & !(g::O_CREAT | g::O_EXCL | g::O_NOCTTY | g::O_TRUNC | g::O_CLOEXEC);
    let file = match r.node {
        Node::Host(ref hp) => {
            let create_mode = if creating || is_tmpfile { mode & 0o7777 & !umask_now() } else { 0 };
            let host_fd = host::fs::open_at(hp.dir_fd(), &hp.name, flags & !g::O_CLOEXEC, create_mode).map_err(host_err)?;
            let is_dir = match host::fs::fstat(host_fd) {
                Ok(st) => st.mode & g::S_IFMT == g::S_IFDIR,
                Err(e) => {
                    host::fs::close(host_fd);
                    return Err(host_err(e));
                }
            };
            OpenFile::new(r.guest, HostFile::new(host_fd, is_dir), status)
        }
        Node::Synth(s) => {
            if r.kind == Lookup::Missing || is_tmpfile {
                return_errno_with_message!(EACCES, "cannot create files in a synthetic directory");
            }
            if flags & g::O_PATH != 0 {
                OpenFile::new(r.guest, SynthPath(s), status)
            } else {
                match s {
                    Synth::File(data) => {
                        if wants_write && !crate::vfs::synth_is_writable(&r.guest) {
                            return_errno_with_message!(EACCES, "synthetic files are read-only");
                        }
                        OpenFile::new(r.guest, SynthSnapshot::new(data), status)
                    }
                    Synth::Dir(entries) => OpenFile::new(r.guest, SynthDir::new(entries), status),
                    Synth::Dev(d) => OpenFile::new(r.guest, d, status),
                    Synth::FdLink { fd, .. } => {
                        // Divergence: Linux reopens the object; we share the description.
                        let mut fds = lock(&current().fds);
                        let file = fds.get(fd).map_err(|_| errno!(ENOENT, "fd link target is closed"))?;
                        return Ok(fds.install(file, cloexec)? as u64);
                    }
                    Synth::Symlink(_) => return_errno_with_message!(ELOOP, "synthetic symlink not followed"),
                    Synth::HostPath(_) => return_errno_with_message!(ENOENT, "unresolved host path"),
                }
            }
        }
    };
    install(file, cloexec)
}

/// Opens a synthetic or host file again by its guest path, with the status
/// flags it had (after execve, for fds that had no host fd to inherit).
pub fn reopen(guest_path: &str, status: u32) -> Result<OpenFile> {
    let r = resolve_at(g::AT_FDCWD, &vfs::path::to_bytes(guest_path), true)?;
    Ok(match r.node {
        Node::Host(ref hp) => {
            let fd = host::fs::open_at(hp.dir_fd(), &hp.name, status & !(g::O_CREAT | g::O_TRUNC | g::O_EXCL), 0)
                .map_err(host_err)?;
            let is_dir = host::fs::fstat(fd).is_ok_and(|st| st.mode & g::S_IFMT == g::S_IFDIR);
            OpenFile::new(r.guest, HostFile::new(fd, is_dir), status)
        }
        Node::Synth(Synth::File(data)) => OpenFile::new(r.guest, SynthSnapshot::new(data), status),
        Node::Synth(Synth::Dir(entries)) => OpenFile::new(r.guest, SynthDir::new(entries), status),
        Node::Synth(Synth::Dev(d)) => OpenFile::new(r.guest, d, status),
        Node::Synth(other) => OpenFile::new(r.guest, SynthPath(other), status),
    })
}

pub fn open(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[0])?;
    do_open(g::AT_FDCWD, &path, uint(a[1]), uint(a[2]))
}

pub fn openat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[1])?;
    do_open(args::dirfd(a[0]), &path, uint(a[2]), uint(a[3]))
}

pub fn creat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[0])?;
    do_open(g::AT_FDCWD, &path, g::O_CREAT | g::O_WRONLY | g::O_TRUNC, uint(a[1]))
}

pub fn close(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    // The entry is dropped after the table lock is released: dropping the
    // last reference closes the host fd, which may block.
    let entry = lock(&current().fds).remove(args::fd(a[0]))?;
    drop(entry);
    Ok(0)
}

pub fn close_range(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let first = uint(a[0]);
    let last = uint(a[1]);
    let flags = args::flags(a[2], CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC, "unknown close_range flags")?;
    if first > last {
        return_errno_with_message!(EINVAL, "first fd is above last fd");
    }
    let in_range = |fd: i32| u32::try_from(fd).is_ok_and(|f| f >= first && f <= last);
    let mut closed = Vec::new();
    {
        let mut fds = lock(&current().fds);
        let targets: Vec<i32> = fds.iter().map(|(fd, _)| fd).filter(|&fd| in_range(fd)).collect();
        for fd in targets {
            if flags & CLOSE_RANGE_CLOEXEC != 0 {
                if let Ok(e) = fds.entry_mut(fd) {
                    e.cloexec = true;
                }
            } else if let Ok(e) = fds.remove(fd) {
                closed.push(e);
            }
        }
    }
    drop(closed);
    Ok(0)
}

pub fn dup(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let mut fds = lock(&current().fds);
    let file = fds.get(args::fd(a[0]))?;
    Ok(fds.install(file, false)? as u64)
}

fn do_dup3(old: i32, new: i32, cloexec: bool) -> Result<u64> {
    let replaced = {
        let mut fds = lock(&current().fds);
        let file = fds.get(old)?;
        fds.install_at(new, file, cloexec)?
    };
    drop(replaced);
    Ok(new as u64)
}

pub fn dup2(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (old, new) = (args::fd(a[0]), args::fd(a[1]));
    if old == new {
        lock(&current().fds).get(old)?;
        return Ok(new as u64);
    }
    do_dup3(old, new, false)
}

pub fn dup3(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (old, new) = (args::fd(a[0]), args::fd(a[1]));
    let flags = args::flags(a[2], g::O_CLOEXEC, "flags must be O_CLOEXEC or 0")?;
    if old == new {
        return_errno_with_message!(EINVAL, "old and new fd are the same");
    }
    do_dup3(old, new, flags & g::O_CLOEXEC != 0)
}

// ---------------------------------------------------------------------------
// read, write and friends

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

pub fn lseek(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    let whence = uint(a[2]);
    if whence > g::SEEK_MAX {
        return_errno_with_message!(EINVAL, "unknown whence");
    }
    let pos = file.seek(loff(a[1]), whence)?;
    Ok(pos as u64)
}

// ---------------------------------------------------------------------------
// fcntl and ioctl

fn fcntl_lock(file: &OpenFile, cmd: u32, arg: u64) -> Result<u64> {
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

pub fn fcntl(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let fd = args::fd(a[0]);
    let cmd = uint(a[1]);
    let arg = a[2];
    match cmd {
        g::F_DUPFD | g::F_DUPFD_CLOEXEC => {
            // The kernel takes the minimum as an int, then compares it unsigned.
            let min = usize::try_from(uint(arg)).unwrap_or(usize::MAX);
            let mut fds = lock(&current().fds);
            let file = fds.get(fd)?;
            let new = fds
                .install_from(min, file, cmd == g::F_DUPFD_CLOEXEC)
                .map_err(|e| if e.errno == crate::abi::Errno::EINVAL { errno!(EINVAL, "minimum fd above RLIMIT_NOFILE") } else { e })?;
            Ok(new as u64)
        }
        g::F_GETFD => {
            let fds = lock(&current().fds);
            Ok(if fds.entry(fd)?.cloexec { u64::from(g::FD_CLOEXEC) } else { 0 })
        }
        g::F_SETFD => {
            let mut fds = lock(&current().fds);
            fds.entry_mut(fd)?.cloexec = uint(arg) & g::FD_CLOEXEC != 0;
            Ok(0)
        }
        g::F_GETFL => {
            let file = file_of(fd)?;
            let stored = file.status();
            if stored & g::O_PATH != 0 {
                return Ok(u64::from(stored));
            }
            let dynamic = match file.host_fd() {
                Some(h) => host::fs::get_status_flags(h).map_err(host_err)? & SETFL_MASK,
                None => stored & SETFL_MASK,
            };
            Ok(u64::from((stored & !SETFL_MASK) | dynamic | g::O_LARGEFILE))
        }
        g::F_SETFL => {
            let file = file_of(fd)?;
            file.require_not_path()?;
            let requested = uint(arg) & SETFL_MASK;
            if let Some(h) = file.host_fd() {
                host::fs::set_status_flags(h, requested).map_err(host_err)?;
            }
            let mut st = lock(&file.status);
            *st = (*st & !SETFL_MASK) | requested;
            Ok(0)
        }
        g::F_GETLK | g::F_SETLK | g::F_SETLKW | g::F_OFD_GETLK | g::F_OFD_SETLK | g::F_OFD_SETLKW => {
            let file = file_of(fd)?;
            fcntl_lock(&file, cmd, arg)
        }
        _ => {
            file_of(fd)?;
            match cmd {
                g::F_GETOWN | g::F_SETOWN | g::F_GETOWN_EX | g::F_SETOWN_EX | g::F_GETSIG | g::F_SETSIG => {
                    return_errno_with_message!(EINVAL, "signal-driven I/O is not supported")
                }
                g::F_GETLEASE | g::F_SETLEASE | g::F_NOTIFY => {
                    return_errno_with_message!(EINVAL, "leases and dnotify are not supported")
                }
                g::F_GETPIPE_SZ | g::F_SETPIPE_SZ => return_errno_with_message!(EINVAL, "pipe sizes are not supported"),
                g::F_ADD_SEALS | g::F_GET_SEALS => return_errno_with_message!(EINVAL, "file is not a memfd"),
                _ => return_errno_with_message!(EINVAL, "unknown fcntl command"),
            }
        }
    }
}

/// Tells the daemon this task's controlling terminal changed (for `mactux ps`).
fn publish_terminal() {
    if !crate::daemon::is_standalone() {
        crate::daemon::update(crate::task_info(current()));
    }
}

pub fn ioctl(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let fd = args::fd(a[0]);
    let req = uint(a[1]);
    let arg = a[2];
    // The fd-table requests work on any file (fs/ioctl.c do_vfs_ioctl).
    match req {
        io::FIOCLEX | io::FIONCLEX => {
            lock(&current().fds).entry_mut(fd)?.cloexec = req == io::FIOCLEX;
            return Ok(0);
        }
        _ => {}
    }
    let file = file_of(fd)?;
    file.require_not_path()?;
    if req == io::FIONBIO {
        let on: i32 = uaccess::read(arg)?;
        let mut st = lock(&file.status);
        let new = if on != 0 { *st | g::O_NONBLOCK } else { *st & !g::O_NONBLOCK };
        if let Some(h) = file.host_fd() {
            host::fs::set_status_flags(h, new & SETFL_MASK).map_err(host_err)?;
        }
        *st = new;
        return Ok(0);
    }
    // What a kind answers itself; a host object's requests go to the host.
    let Some(host_fd) = file.host_fd() else { return file.ioctl(req, arg) };
    if file.ops_as::<crate::vfs::socket::SocketFile>().is_some() {
        if let Some(r) = super::socket::ioctl(req, arg)? {
            return Ok(r);
        }
    }
    match req {
        io::FIONREAD => {
            let n = host::fs::bytes_readable(host_fd).map_err(host_err)?;
            uaccess::write(arg, &n)?;
        }
        io::TCGETS => {
            let t = host::fs::tcgetattr(host_fd).map_err(host_err)?;
            uaccess::write(arg, &t)?;
        }
        io::TCSETS | io::TCSETSW | io::TCSETSF => {
            let t: host::flags::LinuxTermios = uaccess::read(arg)?;
            let when = match req {
                io::TCSETS => 0,
                io::TCSETSW => 1,
                _ => 2,
            };
            host::fs::tcsetattr(host_fd, when, &t).map_err(host_err)?;
        }
        io::TIOCGWINSZ => {
            let w = host::fs::window_size(host_fd).map_err(host_err)?;
            uaccess::write(arg, &w)?;
        }
        io::TIOCSWINSZ => {
            let w: Winsize = uaccess::read(arg)?;
            host::fs::set_window_size(host_fd, w).map_err(host_err)?;
        }
        io::TIOCGPTN => {
            // The replica's number: /dev/pts/N in the guest's /dev.
            let name = host::fs::pty_replica_path(host_fd).map_err(host_err)?;
            let n = host::fs::pts_number(&name).ok_or_else(|| errno!(ENOTTY, "not a pseudo-terminal master"))?;
            uaccess::write(arg, &n)?;
        }
        io::TIOCSPTLCK => {
            let locked: i32 = uaccess::read(arg)?;
            host::fs::pty_set_lock(host_fd, locked != 0).map_err(host_err)?;
        }
        io::TIOCGPTPEER => {
            // Opens the replica of this master, like open("/dev/pts/N").
            // Linux opens the peer with the flags as given (drivers/tty/pty.c).
            let flags = uint(arg) & !(g::O_CREAT | g::O_EXCL | g::O_TRUNC);
            let name = host::fs::pty_replica_path(host_fd).map_err(host_err)?;
            let n = host::fs::pts_number(&name).ok_or_else(|| errno!(ENOTTY, "not a pseudo-terminal master"))?;
            let path = std::ffi::CString::new(name).map_err(|_| errno!(EIO))?;
            let peer = host::fs::open(&path, flags & !g::O_CLOEXEC, 0).map_err(host_err)?;
            let file = OpenFile::host(format!("/dev/pts/{n}"), peer, flags & !g::O_CLOEXEC);
            return install(file, flags & g::O_CLOEXEC != 0);
        }
        io::TIOCSCTTY => {
            host::fs::set_controlling_terminal(host_fd, arg == 1).map_err(host_err)?;
            publish_terminal();
        }
        io::TIOCNOTTY => {
            host::fs::release_controlling_terminal(host_fd).map_err(host_err)?;
            publish_terminal();
        }
        io::TIOCGPGRP => {
            // The host's foreground group, named by its leader's Linux pid.
            let host_pgrp = host::fs::foreground_pgrp(host_fd).map_err(host_err)?;
            let pgrp = crate::syscall::proc_model::vpid_of_host(host_pgrp).unwrap_or(host_pgrp);
            uaccess::write(arg, &pgrp)?;
        }
        io::TIOCSPGRP => {
            let pgrp: i32 = uaccess::read(arg)?;
            if pgrp < 0 {
                return_errno!(EINVAL);
            }
            let host_pgrp = crate::syscall::proc_model::host_pid_of_task(pgrp)?;
            host::fs::set_foreground_pgrp(host_fd, host_pgrp).map_err(host_err)?;
        }
        _ => return_errno_with_message!(ENOTTY, "ioctl request not supported"),
    }
    Ok(0)
}

// ---------------------------------------------------------------------------
// stat family

fn to_linux_stat(st: &HostStat) -> g::stat {
    let mut s: g::stat = uaccess::zeroed();
    s.st_dev = st.dev;
    s.st_ino = st.ino;
    s.st_nlink = st.nlink;
    s.st_mode = st.mode;
    s.st_uid = st.uid;
    s.st_gid = st.gid;
    s.st_rdev = st.rdev;
    s.st_size = st.size;
    s.st_blksize = st.blksize;
    s.st_blocks = st.blocks;
    // The kernel stores the signed seconds in unsigned fields (arch/x86 stat.h).
    s.st_atime = st.atime.sec as u64;
    s.st_atime_nsec = st.atime.nsec as u64;
    s.st_mtime = st.mtime.sec as u64;
    s.st_mtime_nsec = st.mtime.nsec as u64;
    s.st_ctime = st.ctime.sec as u64;
    s.st_ctime_nsec = st.ctime.nsec as u64;
    s
}

fn statx_ts(t: &Timespec) -> g::statx_timestamp {
    g::statx_timestamp { tv_sec: t.sec, tv_nsec: u32::try_from(t.nsec).unwrap_or(0), __reserved: 0 }
}

fn to_linux_statx(st: &HostStat, btime: Option<Timespec>) -> g::statx {
    let mut s: g::statx = uaccess::zeroed();
    s.stx_mask = g::STATX_BASIC_STATS;
    s.stx_blksize = u32::try_from(st.blksize).unwrap_or(0);
    s.stx_nlink = u32::try_from(st.nlink).unwrap_or(u32::MAX);
    s.stx_uid = st.uid;
    s.stx_gid = st.gid;
    s.stx_mode = u16::try_from(st.mode & 0o177_777).unwrap_or(0);
    s.stx_ino = st.ino;
    s.stx_size = u64::try_from(st.size).unwrap_or(0);
    s.stx_blocks = u64::try_from(st.blocks).unwrap_or(0);
    s.stx_atime = statx_ts(&st.atime);
    s.stx_mtime = statx_ts(&st.mtime);
    s.stx_ctime = statx_ts(&st.ctime);
    if let Some(b) = btime {
        s.stx_mask |= g::STATX_BTIME;
        s.stx_btime = statx_ts(&b);
    }
    // Device numbers are u32 halves of the Linux encoding.
    s.stx_rdev_major = vfs::dev_major(st.rdev) as u32;
    s.stx_rdev_minor = vfs::dev_minor(st.rdev) as u32;
    s.stx_dev_major = vfs::dev_major(st.dev) as u32;
    s.stx_dev_minor = vfs::dev_minor(st.dev) as u32;
    s
}

fn stat_at(dirfd: i32, path_ptr: u64, flags: u32, buf: u64) -> Result<u64> {
    let path = args::path(path_ptr)?;
    let follow = flags & g::AT_SYMLINK_NOFOLLOW == 0;
    let t = target_at(dirfd, &path, flags & g::AT_EMPTY_PATH != 0, follow)?;
    let st = target_stat(&t, follow)?;
    uaccess::write(buf, &to_linux_stat(&st))?;
    Ok(0)
}

pub fn stat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    stat_at(g::AT_FDCWD, a[0], 0, a[1])
}

pub fn lstat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    stat_at(g::AT_FDCWD, a[0], g::AT_SYMLINK_NOFOLLOW, a[1])
}

pub fn fstat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let st = file_of(args::fd(a[0]))?.stat()?;
    uaccess::write(a[1], &to_linux_stat(&st))?;
    Ok(0)
}

pub fn newfstatat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let known = g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH | g::AT_NO_AUTOMOUNT;
    let flags = args::flags(a[3], known, "unknown newfstatat flags")?;
    stat_at(args::dirfd(a[0]), a[1], flags, a[2])
}

pub fn statx(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let dirfd = args::dirfd(a[0]);
    let known = g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH | g::AT_NO_AUTOMOUNT | g::AT_STATX_SYNC_TYPE;
    let flags = args::flags(a[2], known, "unknown statx flags")?;
    if flags & g::AT_STATX_SYNC_TYPE == g::AT_STATX_SYNC_TYPE {
        return_errno_with_message!(EINVAL, "AT_STATX_FORCE_SYNC and AT_STATX_DONT_SYNC together");
    }
    if uint(a[3]) & g::STATX__RESERVED != 0 {
        return_errno_with_message!(EINVAL, "STATX__RESERVED set in mask");
    }
    // Linux 6.11+ accepts a NULL path with AT_EMPTY_PATH.
    let path = if a[1] == 0 && flags & g::AT_EMPTY_PATH != 0 { Vec::new() } else { args::path(a[1])? };
    let follow = flags & g::AT_SYMLINK_NOFOLLOW == 0;
    let t = target_at(dirfd, &path, flags & g::AT_EMPTY_PATH != 0, follow)?;
    let st = target_stat(&t, follow)?;
    let btime = st.btime.or_else(|| match &t {
        Target::Path(Resolved { node: Node::Host(p), .. }) => host::fs::birth_time_at(p.dir_fd(), &p.name),
        _ => None,
    });
    uaccess::write(a[4], &to_linux_statx(&st, btime))?;
    Ok(0)
}

// ---------------------------------------------------------------------------
// Directories and the working directory

fn dirent_reclen(name_len: usize) -> usize {
    (DIRENT64_NAME_OFFSET + name_len + 1).div_ceil(8) * 8
}

pub fn getdents64(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
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
        let reclen = dirent_reclen(name.len());
        let Ok(reclen16) = u16::try_from(reclen) else { return false };
        if out.len().saturating_add(reclen) > count {
            too_small = out.is_empty();
            return false;
        }
        let start = out.len();
        out.extend_from_slice(&e.ino.to_ne_bytes());
        out.extend_from_slice(&next.to_ne_bytes());
        out.extend_from_slice(&reclen16.to_ne_bytes());
        out.push(e.d_type);
        out.extend_from_slice(name);
        out.resize(start + reclen, 0);
        true
    })?;
    if too_small {
        return_errno_with_message!(EINVAL, "buffer too small for the next entry");
    }
    uaccess::write_bytes(a[1], &out)?;
    Ok(out.len() as u64)
}

pub fn getcwd(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let cwd = lock(&current().fs).cwd.clone();
    // Linux fails with ENOENT once the working directory has been removed.
    if vfs::cwd_removed() {
        return_errno_with_message!(ENOENT, "working directory was removed");
    }
    let mut cwd = vfs::path::to_bytes(&cwd);
    cwd.push(0);
    let size = args::len(a[1]).unwrap_or(usize::MAX);
    if size < cwd.len() {
        return_errno_with_message!(ERANGE, "buffer too small for the working directory");
    }
    uaccess::write_bytes(a[0], &cwd)?;
    Ok(cwd.len() as u64)
}

fn set_cwd(guest: String) {
    lock(&current().fs).set_cwd(guest);
}

pub fn chdir(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[0])?;
    let r = resolve_existing(g::AT_FDCWD, &path, true)?;
    if r.kind != Lookup::Dir {
        return_errno_with_message!(ENOTDIR, "not a directory");
    }
    if let Node::Host(p) = &r.node {
        host::fs::access_at(p.dir_fd(), &p.name, g::X_OK, true).map_err(host_err)?;
    }
    set_cwd(r.guest);
    Ok(0)
}

pub fn fchdir(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    if !file.is_dir() {
        return_errno_with_message!(ENOTDIR, "fd is not a directory");
    }
    set_cwd(file.guest_path.clone());
    Ok(0)
}

pub fn umask(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let mut fs = lock(&current().fs);
    let old = fs.umask;
    fs.umask = uint(a[0]) & 0o777;
    Ok(u64::from(old))
}

fn do_mkdirat(dirfd: i32, path: &[u8], mode: u32) -> Result<u64> {
    let r = resolve_new(dirfd, path, false)?;
    if r.kind != Lookup::Missing {
        return_errno_with_message!(EEXIST, "the name exists");
    }
    let hp = vfs::host_only(&r, "cannot create in a synthetic directory")?;
    // S_IRWXUGO | S_ISVTX, then the umask (fs/namei.c do_mkdirat).
    host::fs::mkdir_at(hp.dir_fd(), &hp.name, mode & 0o1777 & !umask_now()).map_err(host_err)?;
    Ok(0)
}

pub fn mkdir(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[0])?;
    do_mkdirat(g::AT_FDCWD, &path, uint(a[1]))
}

pub fn mkdirat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[1])?;
    do_mkdirat(args::dirfd(a[0]), &path, uint(a[2]))
}

/// mknod(2): FIFOs and regular files; device nodes need privileges the
/// guest does not have on the host (EPERM), sockets are made by bind(2).
fn do_mknodat(dirfd: i32, path: &[u8], mode: u32, _dev: u64) -> Result<u64> {
    let kind = mode & g::S_IFMT;
    match kind {
        0 | g::S_IFREG | g::S_IFIFO => {}
        g::S_IFCHR | g::S_IFBLK => return_errno_with_message!(EPERM, "device nodes cannot be created on the host"),
        g::S_IFSOCK => return_errno_with_message!(EPERM, "socket nodes are created by bind(2), not emulated by mknod"),
        g::S_IFDIR => return_errno_with_message!(EPERM, "mknod cannot make directories"),
        _ => return_errno_with_message!(EINVAL, "unknown file type"),
    }
    let r = resolve_new(dirfd, path, false)?;
    if r.kind != Lookup::Missing {
        return_errno_with_message!(EEXIST, "the name exists");
    }
    let hp = host_or_refuse(&r, "cannot create files in a synthetic directory")?;
    let perm = mode & 0o7777 & !umask_now();
    if kind == g::S_IFIFO {
        host::fs::mkfifo_at(hp.dir_fd(), &hp.name, perm).map_err(host_err)?;
    } else {
        let fd = host::fs::open_at(hp.dir_fd(), &hp.name, g::O_CREAT | g::O_EXCL | g::O_WRONLY, perm).map_err(host_err)?;
        host::fs::close(fd);
    }
    Ok(0)
}

pub fn mknodat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[1])?;
    do_mknodat(args::dirfd(a[0]), &path, uint(a[2]), a[3])
}

pub fn mknod(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[0])?;
    do_mknodat(g::AT_FDCWD, &path, uint(a[1]), a[2])
}

fn do_rmdir(dirfd: i32, path: &[u8]) -> Result<u64> {
    match last_component(path) {
        b"." => return_errno_with_message!(EINVAL, "last component is ."),
        b".." => return_errno_with_message!(ENOTEMPTY, "last component is .."),
        _ => {}
    }
    let r = resolve_existing(dirfd, path, false)?;
    if r.kind != Lookup::Dir {
        return_errno_with_message!(ENOTDIR, "not a directory");
    }
    if r.guest == "/" {
        return_errno_with_message!(EBUSY, "cannot remove the root");
    }
    let hp = host_or_refuse(&r, "cannot remove a synthetic directory")?;
    host::fs::rmdir_at(hp.dir_fd(), &hp.name).map_err(host_err)?;
    Ok(0)
}

fn do_unlink(dirfd: i32, path: &[u8]) -> Result<u64> {
    let r = resolve_existing(dirfd, path, false)?;
    if r.kind == Lookup::Dir {
        return_errno_with_message!(EISDIR, "is a directory");
    }
    let hp = host_or_refuse(&r, "cannot remove a synthetic file")?;
    host::fs::unlink_at(hp.dir_fd(), &hp.name).map_err(host_err)?;
    Ok(0)
}

pub fn rmdir(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[0])?;
    do_rmdir(g::AT_FDCWD, &path)
}

pub fn unlink(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[0])?;
    do_unlink(g::AT_FDCWD, &path)
}

pub fn unlinkat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let flags = args::flags(a[2], g::AT_REMOVEDIR, "flags must be AT_REMOVEDIR or 0")?;
    let path = args::path(a[1])?;
    if flags & g::AT_REMOVEDIR != 0 {
        do_rmdir(args::dirfd(a[0]), &path)
    } else {
        do_unlink(args::dirfd(a[0]), &path)
    }
}

// ---------------------------------------------------------------------------
// Names: rename, link, symlink, readlink

fn do_renameat2(olddirfd: i32, old: &[u8], newdirfd: i32, new: &[u8], flags: u32) -> Result<u64> {
    let noreplace = flags & g::RENAME_NOREPLACE != 0;
    let exchange = flags & g::RENAME_EXCHANGE != 0;
    if noreplace && exchange {
        return_errno_with_message!(EINVAL, "RENAME_NOREPLACE and RENAME_EXCHANGE together");
    }
    if flags & g::RENAME_WHITEOUT != 0 {
        return_errno_with_message!(EINVAL, "RENAME_WHITEOUT is not supported");
    }
    for p in [old, new] {
        if matches!(last_component(p), b"." | b"..") || trim_trailing_slashes(p).is_empty() && !p.is_empty() {
            return_errno_with_message!(EBUSY, "cannot rename . , .. or /");
        }
    }
    let from = resolve_existing(olddirfd, old, false)?;
    let to = resolve_new(newdirfd, new, false)?;
    if exchange && to.kind == Lookup::Missing {
        return_errno!(ENOENT);
    }
    if from.kind != Lookup::Dir && (has_trailing_slash(old) || has_trailing_slash(new)) {
        return_errno_with_message!(ENOTDIR, "trailing slash on a non-directory");
    }
    if from.guest == "/" || to.guest == "/" {
        return_errno_with_message!(EBUSY, "cannot rename the root");
    }
    same_mount(&from, &to)?;
    let hf = host_or_refuse(&from, "cannot rename a synthetic file")?;
    let ht = vfs::host_only(&to, "cannot rename onto a synthetic file")?;
    if noreplace || exchange {
        host::fs::rename2_at(hf.at(), ht.at(), noreplace, exchange).map_err(host_err)?;
    } else {
        host::fs::rename_at(hf.at(), ht.at()).map_err(host_err)?;
    }
    Ok(0)
}

pub fn rename(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (old, new) = (args::path(a[0])?, args::path(a[1])?);
    do_renameat2(g::AT_FDCWD, &old, g::AT_FDCWD, &new, 0)
}

pub fn renameat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (old, new) = (args::path(a[1])?, args::path(a[3])?);
    do_renameat2(args::dirfd(a[0]), &old, args::dirfd(a[2]), &new, 0)
}

pub fn renameat2(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let known = g::RENAME_NOREPLACE | g::RENAME_EXCHANGE | g::RENAME_WHITEOUT;
    let flags = args::flags(a[4], known, "unknown renameat2 flags")?;
    let (old, new) = (args::path(a[1])?, args::path(a[3])?);
    do_renameat2(args::dirfd(a[0]), &old, args::dirfd(a[2]), &new, flags)
}

fn do_linkat(olddirfd: i32, old: &[u8], newdirfd: i32, new: &[u8], flags: u32) -> Result<u64> {
    let follow = flags & g::AT_SYMLINK_FOLLOW != 0;
    let from = path_target_at(olddirfd, old, flags & g::AT_EMPTY_PATH != 0, follow)?;
    if from.kind == Lookup::Dir {
        return_errno_with_message!(EPERM, "cannot hard-link a directory");
    }
    let to = resolve_new(newdirfd, new, false)?;
    if to.kind != Lookup::Missing {
        return_errno_with_message!(EEXIST, "the new name exists");
    }
    if has_trailing_slash(new) {
        // filename_create (fs/namei.c): a trailing slash asks for a directory.
        return_errno_with_message!(ENOENT, "trailing slash on the new name");
    }
    same_mount(&from, &to)?;
    let hf = host_or_refuse(&from, "cannot link a synthetic file")?;
    let ht = vfs::host_only(&to, "cannot create in a synthetic directory")?;
    host::fs::link_at(hf.at(), ht.at()).map_err(host_err)?;
    Ok(0)
}

pub fn link(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (old, new) = (args::path(a[0])?, args::path(a[1])?);
    do_linkat(g::AT_FDCWD, &old, g::AT_FDCWD, &new, 0)
}

pub fn linkat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let flags = args::flags(a[4], g::AT_SYMLINK_FOLLOW | g::AT_EMPTY_PATH, "unknown linkat flags")?;
    let (old, new) = (args::path(a[1])?, args::path(a[3])?);
    do_linkat(args::dirfd(a[0]), &old, args::dirfd(a[2]), &new, flags)
}

fn do_symlinkat(target: &[u8], newdirfd: i32, linkpath: &[u8]) -> Result<u64> {
    if target.is_empty() {
        return_errno_with_message!(ENOENT, "empty symlink target");
    }
    let to = resolve_new(newdirfd, linkpath, false)?;
    if to.kind != Lookup::Missing {
        return_errno_with_message!(EEXIST, "the name exists");
    }
    if has_trailing_slash(linkpath) {
        // filename_create (fs/namei.c): a trailing slash asks for a directory.
        return_errno_with_message!(ENOENT, "trailing slash on the link name");
    }
    let ht = vfs::host_only(&to, "cannot create in a synthetic directory")?;
    // The target is stored verbatim; the guest resolver interprets it later.
    let target = CString::new(target.to_vec()).map_err(|_| errno!(EINVAL, "NUL in symlink target"))?;
    host::fs::symlink_at(&target, ht.dir_fd(), &ht.name).map_err(host_err)?;
    Ok(0)
}

pub fn symlink(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (target, linkpath) = (args::path(a[0])?, args::path(a[1])?);
    do_symlinkat(&target, g::AT_FDCWD, &linkpath)
}

pub fn symlinkat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (target, linkpath) = (args::path(a[0])?, args::path(a[2])?);
    do_symlinkat(&target, args::dirfd(a[1]), &linkpath)
}

/// The target of the symlink `r` names, if it is one.
fn link_target(r: &Resolved) -> Option<Vec<u8>> {
    match (&r.node, &r.kind) {
        (Node::Synth(Synth::FdLink { target, .. }), _) => Some(target.clone()),
        (Node::Synth(Synth::Symlink(t)), _) => Some(t.clone()),
        (Node::Host(_), Lookup::Symlink(t)) => Some(t.clone()),
        _ => None,
    }
}

fn do_readlinkat(dirfd: i32, path: &[u8], buf: u64, bufsiz: u64) -> Result<u64> {
    let size = args::int(bufsiz);
    let Ok(size) = usize::try_from(size) else { return_errno_with_message!(EINVAL, "bufsiz is negative") };
    if size == 0 {
        return_errno_with_message!(EINVAL, "bufsiz is zero");
    }
    let target = if path.is_empty() && dirfd != g::AT_FDCWD {
        // Since Linux 2.6.39 an empty path reads the link dirfd (O_PATH) names.
        let file = file_of(dirfd)?;
        match file.ops_as::<SynthPath>().map(|p| &p.0) {
            Some(Synth::Symlink(t)) => t.clone(),
            Some(Synth::FdLink { target, .. }) => target.clone(),
            _ if file.ops_as::<HostFile>().is_some() => {
                let r = reresolve(&file)?;
                link_target(&r).ok_or_else(|| errno!(ENOENT, "fd does not name a symlink"))?
            }
            _ => return_errno_with_message!(ENOENT, "fd does not name a symlink"),
        }
    } else {
        let r = resolve_existing(dirfd, path, false)?;
        link_target(&r).ok_or_else(|| errno!(EINVAL, "not a symbolic link"))?
    };
    let n = target.len().min(size);
    uaccess::write_bytes(buf, &target[..n])?;
    Ok(n as u64)
}

pub fn readlink(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[0])?;
    do_readlinkat(g::AT_FDCWD, &path, a[1], a[2])
}

pub fn readlinkat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[1])?;
    do_readlinkat(args::dirfd(a[0]), &path, a[2], a[3])
}

// ---------------------------------------------------------------------------
// Mode, owner, times

fn host_path_for_attr(r: &Resolved) -> Result<&HostLoc> {
    match &r.node {
        Node::Host(p) => Ok(p),
        Node::Synth(_) => Err(errno!(EPERM, "synthetic files have fixed attributes")),
    }
}

fn do_fchmodat(dirfd: i32, path: &[u8], mode: u32) -> Result<u64> {
    let r = resolve_existing(dirfd, path, true)?;
    let hp = host_path_for_attr(&r)?;
    host::fs::chmod_at(hp.dir_fd(), &hp.name, mode & 0o7777).map_err(host_err)?;
    Ok(0)
}

pub fn chmod(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[0])?;
    do_fchmodat(g::AT_FDCWD, &path, uint(a[1]))
}

pub fn fchmodat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[1])?;
    do_fchmodat(args::dirfd(a[0]), &path, uint(a[2]))
}

/// The host fd of a file for an fd-based attribute change (fchmod, fchown...).
fn attr_fd(file: &OpenFile) -> Result<Option<host::HostFd>> {
    file.require_not_path()?;
    match file.host_fd() {
        Some(fd) => Ok(Some(fd)),
        None if file.ops_as::<crate::vfs::dev::DevKind>().is_some() => Ok(None),
        None => Err(errno!(EPERM, "synthetic files have fixed attributes")),
    }
}

pub fn fchmod(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    match attr_fd(&file)? {
        Some(h) => host::fs::fchmod(h, uint(a[1]) & 0o7777).map_err(host_err)?,
        None => return_errno_with_message!(EPERM, "synthetic files have fixed attributes"),
    }
    Ok(0)
}

fn do_fchownat(dirfd: i32, path: &[u8], uid: u64, gid: u64, flags: u32) -> Result<u64> {
    let follow = flags & g::AT_SYMLINK_NOFOLLOW == 0;
    let r = path_target_at(dirfd, path, flags & g::AT_EMPTY_PATH != 0, follow)?;
    let hp = host_path_for_attr(&r)?;
    // -1 leaves an id unchanged, for the host as for Linux.
    host::fs::chown_at(hp.dir_fd(), &hp.name, uint(uid), uint(gid)).map_err(host_err)?;
    Ok(0)
}

pub fn chown(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[0])?;
    do_fchownat(g::AT_FDCWD, &path, a[1], a[2], 0)
}

pub fn lchown(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[0])?;
    do_fchownat(g::AT_FDCWD, &path, a[1], a[2], g::AT_SYMLINK_NOFOLLOW)
}

pub fn fchownat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let flags = args::flags(a[4], g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH, "unknown fchownat flags")?;
    let path = args::path(a[1])?;
    do_fchownat(args::dirfd(a[0]), &path, a[2], a[3], flags)
}

pub fn fchown(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    match attr_fd(&file)? {
        Some(h) => host::fs::fchown(h, uint(a[1]), uint(a[2])).map_err(host_err)?,
        None => return_errno_with_message!(EPERM, "synthetic files have fixed attributes"),
    }
    Ok(0)
}

/// One `utimensat` time: `None` = UTIME_OMIT, `Some(None)` = UTIME_NOW.
/// Pure: the syscall_args fuzz target calls it.
pub fn utime_arg(t: Timespec) -> Result<Option<Option<Timespec>>> {
    if t.nsec == i64::from(g::UTIME_OMIT) {
        return Ok(None);
    }
    if t.nsec == i64::from(g::UTIME_NOW) {
        return Ok(Some(None));
    }
    if !(0..NSEC_PER_SEC).contains(&t.nsec) {
        return_errno_with_message!(EINVAL, "tv_nsec out of range");
    }
    Ok(Some(Some(t)))
}

pub fn utimensat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let dirfd = args::dirfd(a[0]);
    let times = if a[2] == 0 {
        [Some(None), Some(None)]
    } else {
        let at: Timespec = uaccess::read(a[2])?;
        let mt: Timespec = uaccess::read(a[2].checked_add(16).ok_or_else(|| errno!(EFAULT))?)?;
        [utime_arg(at)?, utime_arg(mt)?]
    };
    let raw_flags = a[3];
    if a[1] == 0 && dirfd != g::AT_FDCWD {
        // do_utimes_fd (fs/utimes.c): the fd itself, and no flags.
        if raw_flags != 0 {
            return_errno_with_message!(EINVAL, "flags with a NULL path");
        }
        let file = file_of(dirfd)?;
        if times == [None, None] {
            return Ok(0);
        }
        // Device nodes (None) take any time; ours have none to keep.
        if let Some(h) = attr_fd(&file)? {
            host::fs::futimens(h, times).map_err(host_err)?;
        }
        return Ok(0);
    }
    let flags = args::flags(raw_flags, g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH, "unknown utimensat flags")?;
    let path = args::path(a[1])?;
    let follow = flags & g::AT_SYMLINK_NOFOLLOW == 0;
    let r = path_target_at(dirfd, &path, flags & g::AT_EMPTY_PATH != 0, follow)?;
    if times == [None, None] {
        return Ok(0);
    }
    match &r.node {
        Node::Host(p) => host::fs::utimens_at(p.dir_fd(), &p.name, times).map_err(host_err)?,
        Node::Synth(Synth::Dev(_)) => {}
        Node::Synth(_) => return_errno_with_message!(EPERM, "synthetic files have fixed times"),
    }
    Ok(0)
}

// ---------------------------------------------------------------------------
// Size, sync, space

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
    host::fs::ftruncate(h, len).map_err(host_err)?;
    Ok(0)
}

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
    host::fs::fallocate(h, mode, off, len).map_err(host_err)?;
    Ok(0)
}

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

pub fn access(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[0])?;
    do_faccessat(g::AT_FDCWD, &path, a[1], 0)
}

pub fn faccessat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[1])?;
    do_faccessat(args::dirfd(a[0]), &path, a[2], 0)
}

pub fn faccessat2(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let known = g::AT_EACCESS | g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH;
    let flags = args::flags(a[3], known, "unknown faccessat2 flags")?;
    let path = args::path(a[1])?;
    do_faccessat(args::dirfd(a[0]), &path, a[2], flags)
}

fn do_faccessat(dirfd: i32, path: &[u8], mode: u64, flags: u32) -> Result<u64> {
    let mode = args::flags(mode, g::F_OK | g::R_OK | g::W_OK | g::X_OK, "mode must be F_OK or R_OK|W_OK|X_OK")?;
    let follow = flags & g::AT_SYMLINK_NOFOLLOW == 0;
    let t = target_at(dirfd, path, flags & g::AT_EMPTY_PATH != 0, follow)?;
    let r = match t {
        Target::Path(r) => r,
        Target::File(f) => match f.ops_as::<HostFile>() {
            Some(_) => reresolve(&f)?,
            None => return synth_access(&f.stat()?, mode),
        },
    };
    if matches!(r.kind, Lookup::Symlink(_)) {
        // A symlink not followed: its permission bits are always rwxrwxrwx.
        return Ok(0);
    }
    match &r.node {
        Node::Host(p) => {
            host::fs::access_at(p.dir_fd(), &p.name, mode, flags & g::AT_EACCESS != 0).map_err(host_err)?;
            Ok(0)
        }
        Node::Synth(_) => synth_access(&node_stat(&r, follow)?, mode),
    }
}

/// Access check against a synthetic node's owner bits (the guest owns them).
fn synth_access(st: &HostStat, mode: u32) -> Result<u64> {
    let owner_bits = (st.mode >> 6) & (g::R_OK | g::W_OK | g::X_OK);
    if mode & !owner_bits != 0 {
        return_errno_with_message!(EACCES, "synthetic file does not allow this access");
    }
    Ok(0)
}

// ---------------------------------------------------------------------------
// statfs

fn to_linux_statfs(s: &HostStatfs) -> g::statfs {
    let mut out: g::statfs = uaccess::zeroed();
    out.f_type = s.fs_type;
    out.f_bsize = s.bsize;
    // The kernel's fields are longs; counts above i64::MAX do not occur.
    out.f_blocks = i64::try_from(s.blocks).unwrap_or(i64::MAX);
    out.f_bfree = i64::try_from(s.bfree).unwrap_or(i64::MAX);
    out.f_bavail = i64::try_from(s.bavail).unwrap_or(i64::MAX);
    out.f_files = i64::try_from(s.files).unwrap_or(i64::MAX);
    out.f_ffree = i64::try_from(s.ffree).unwrap_or(i64::MAX);
    out.f_fsid = g::__kernel_fsid_t { val: s.fsid };
    out.f_namelen = s.namelen;
    out.f_frsize = s.frsize;
    out.f_flags = s.flags;
    out
}

/// statfs of the synthetic mount `guest` lies in: proc, or devtmpfs (which
/// reports TMPFS_MAGIC).
fn synth_statfs(guest: &str) -> HostStatfs {
    let fs_type = if guest == "/dev" || guest.starts_with("/dev/") { g::TMPFS_MAGIC } else { g::PROC_SUPER_MAGIC };
    HostStatfs {
        fs_type: i64::from(fs_type),
        bsize: PAGE_SIZE as i64,
        frsize: PAGE_SIZE as i64,
        namelen: crate::vfs::path::NAME_MAX as i64,
        // ST_NOSUID/ST_NODEV/ST_NOEXEC equal the MS_ bits (include/linux/statfs.h).
        flags: i64::from(g::MS_NOSUID | g::MS_NODEV | g::MS_NOEXEC),
        ..HostStatfs::default()
    }
}

pub fn statfs(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[0])?;
    let r = resolve_existing(g::AT_FDCWD, &path, true)?;
    let s = match &r.node {
        Node::Host(p) => host::fs::statfs_at(p.dir_fd(), &p.name).map_err(host_err)?,
        Node::Synth(_) => synth_statfs(&r.guest),
    };
    uaccess::write(a[1], &to_linux_statfs(&s))?;
    Ok(0)
}

pub fn fstatfs(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let file = file_of(args::fd(a[0]))?;
    let s = match file.host_fd() {
        Some(h) => host::fs::fstatfs(h).map_err(host_err)?,
        None => synth_statfs(&file.guest_path),
    };
    uaccess::write(a[1], &to_linux_statfs(&s))?;
    Ok(0)
}

// ---------------------------------------------------------------------------
// In-kernel copies, done here in chunks

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
    if count == 0 {
        return Ok(0);
    }
    let (done, err) = copy_loop(&src, off, &dst, None, count);
    update_off(off_ptr, off, done)?;
    copy_result(done, err)
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
    }

    #[test]
    fn max_rw_count_is_linux_value() {
        assert_eq!(MAX_RW_COUNT, 0x7fff_f000);
    }

    #[test]
    fn last_components() {
        assert_eq!(last_component(b"a/b/."), b".");
        assert_eq!(last_component(b"a/..//"), b"..");
        assert_eq!(last_component(b"x"), b"x");
        assert!(has_trailing_slash(b"a/"));
        assert!(!has_trailing_slash(b"/"));
    }
}
