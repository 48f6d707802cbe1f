//! open, openat, creat, close, close_range, dup, dup2, dup3: naming an open
//! file description by an fd, and letting go of it.
//!
//! man7: open.2, close.2, close_range.2, dup.2
//! (https://man7.org/linux/man-pages/man2/open.2.html and the others).
//!
//! Divergences from Linux:
//! - Opening `/proc/<pid>/fd/N` of a pipe or socket shares the open file
//!   description of fd N instead of opening the object anew.
//! - close_range's CLOSE_RANGE_UNSHARE is accepted; the table is per process.
//! - Synthetic files (/proc, /dev) cannot be created (EACCES).
//! - A stored FIFO of an imported root (an empty file whose metadata says
//!   FIFO) opens as that empty file; a stored device node opens as the
//!   device the runtime emulates for its number, else ENXIO.

use super::args::uint;
use super::fs_common::{host_err, umask_now};
use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::Result;
use crate::host;
use crate::task::{current, lock};
use crate::vfs::fd_table::install;
use crate::vfs::file::{HostFile, OpenFile, SynthDir, SynthPath, SynthSnapshot};
use crate::vfs::lookup::{resolve_at, resolve_new};
use crate::vfs::path::{has_trailing_slash, trim_trailing_slashes};
use crate::vfs::dev::StoredDevice;
use crate::vfs::{perm, Lookup, Node, Synth};
use crate::{errno, return_errno, return_errno_with_message};
use std::sync::Arc;

/// `CLOSE_RANGE_UNSHARE` and `CLOSE_RANGE_CLOEXEC` from
/// include/uapi/linux/close_range.h, which linux-raw-sys does not generate.
const CLOSE_RANGE_UNSHARE: u32 = 1 << 1;
const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

fn is_writable_access(flags: u32) -> bool {
    let acc = flags & g::O_ACCMODE;
    acc == g::O_WRONLY || acc == g::O_RDWR || flags & g::O_TRUNC != 0
}

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
        Node::Host(ref found) => {
            let cred = current().cred();
            if r.kind == Lookup::Missing {
                perm::may_create(&cred, found)?;
            } else if is_tmpfile {
                perm::may_access(&cred, &r, perm::MAY_WRITE | perm::MAY_EXEC, follow)?;
            } else if flags & g::O_PATH == 0 {
                perm::may_access(&cred, &r, perm::open_mask(flags), follow)?;
            }
            let mut hp = std::borrow::Cow::Borrowed(found);
            if r.kind == Lookup::File && flags & g::O_PATH == 0 {
                // A device node an imported root stores as an empty file
                // opens as the device of its number.
                if let Some((kind, rdev)) = crate::vfs::meta::special_at(found.dir_fd(), &found.name) {
                    match crate::vfs::dev::stored_device(kind, rdev)? {
                        StoredDevice::Mem(dev) => return install(OpenFile::new(r.guest, dev, status), cloexec),
                        StoredDevice::Host(loc) => hp = std::borrow::Cow::Owned(loc),
                    }
                }
            }
            let create_mode = if creating || is_tmpfile { mode & 0o7777 & !umask_now() } else { 0 };
            // Opening a FIFO (until the other end opens) or a device may
            // sleep until a signal ends it with EINTR; a file or directory
            // never does (its lookup said what it is; one swapped for a
            // FIFO since is opened without the window, uninterruptibly).
            let plain = matches!(hp, std::borrow::Cow::Borrowed(_))
                && match r.kind {
                    Lookup::Missing | Lookup::Dir => true,
                    _ => r.host_stat.is_some_and(|st| st.mode & g::S_IFMT == g::S_IFREG),
                };
            let open = || host::fs::open_at(hp.dir_fd(), &hp.name, flags & !g::O_CLOEXEC, create_mode);
            let host_fd = if plain { open() } else { crate::trap::in_blocking_window(open) }.map_err(host_err)?;
            if creating && r.kind == Lookup::Missing {
                // A new file in an imported root gets its Linux owner.
                let _ = crate::vfs::meta::created(crate::vfs::meta::At::Fd(host_fd), crate::vfs::meta::At::Fd(hp.dir_fd()), g::S_IFREG | create_mode);
            }
            let mode = match host::fs::fstat(host_fd) {
                Ok(st) => st.mode,
                Err(e) => {
                    host::fs::close(host_fd);
                    return Err(host_err(e));
                }
            };
            OpenFile::new(r.guest, HostFile::of_type(host_fd, mode), status)
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
                        let mut fds = lock(&current().fds);
                        let file = fds.get(fd).map_err(|_| errno!(ENOENT, "fd link target is closed"))?;
                        // A kind that can answers with a new description of
                        // the same object, as Linux reopens it (a memfd);
                        // the others share the description (a divergence).
                        let file = match file.ops().reopen() {
                            Some(ops) => Arc::new(OpenFile::with_ops(file.guest_path.clone(), ops, status)),
                            None => file,
                        };
                        return Ok(fds.install(file, cloexec)? as u64);
                    }
                    // An nsfs file: it opens (for setns, which is not
                    // emulated); reading it is EINVAL, as nsfs has no read.
                    Synth::NsLink { ino, .. } => OpenFile::new(r.guest, crate::vfs::proc::NsFile(ino), status),
                    // Another task's socket or pipe lives in its host
                    // process: Linux gives ENXIO for a socket; a pipe,
                    // which Linux would open, is refused alike here.
                    Synth::NodeLink { .. } => return_errno_with_message!(ENXIO, "another task's socket or pipe cannot be opened through /proc"),
                    Synth::Symlink(_) => return_errno_with_message!(ELOOP, "synthetic symlink not followed"),
                    Synth::HostPath(_) => return_errno_with_message!(ENOENT, "unresolved host path"),
                }
            }
        }
    };
    install(file, cloexec)
}

pub fn open(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[0])?;
    do_open(g::AT_FDCWD, &path, uint(a[1]), uint(a[2]))
}

pub fn openat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[1])?;
    do_open(args::dirfd(a[0]), &path, uint(a[2]), uint(a[3]))
}

/// `OPEN_HOW_SIZE_VER0`: flags, mode, resolve (include/uapi/linux/openat2.h).
const OPEN_HOW_SIZE_VER0: usize = 24;

/// The flags openat2 accepts (VALID_OPEN_FLAGS, include/linux/fcntl.h);
/// openat ignores others, openat2 refuses them.
const VALID_OPEN_FLAGS: u64 = (g::O_ACCMODE
    | g::O_CREAT
    | g::O_EXCL
    | g::O_NOCTTY
    | g::O_TRUNC
    | g::O_APPEND
    | g::O_NONBLOCK
    | g::O_SYNC
    | g::O_DSYNC
    | g::FASYNC
    | g::O_DIRECT
    | g::O_LARGEFILE
    | g::O_DIRECTORY
    | g::O_NOFOLLOW
    | g::O_NOATIME
    | g::O_CLOEXEC
    | g::O_TMPFILE
    | g::O_PATH) as u64;

/// The flags O_PATH may come with (O_PATH_FLAGS).
const O_PATH_FLAGS: u64 = (g::O_DIRECTORY | g::O_NOFOLLOW | g::O_PATH | g::O_CLOEXEC) as u64;

const RESOLVE_ALL: u64 = (g::RESOLVE_NO_XDEV
    | g::RESOLVE_NO_MAGICLINKS
    | g::RESOLVE_NO_SYMLINKS
    | g::RESOLVE_BENEATH
    | g::RESOLVE_IN_ROOT
    | g::RESOLVE_CACHED) as u64;

/// openat2(2): openat with a `struct open_how` checked strictly
/// (build_open_how and build_open_flags in fs/open.c). The RESOLVE_*
/// restrictions are not emulated: they are refused with ENOSYS, which
/// callers take as a kernel without openat2 and fall back to openat.
pub fn openat2(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let size = usize::try_from(a[3]).unwrap_or(usize::MAX);
    if size < OPEN_HOW_SIZE_VER0 {
        return_errno_with_message!(EINVAL, "open_how is smaller than its first version");
    }
    if size > crate::abi::PAGE_SIZE as usize {
        return_errno_with_message!(E2BIG, "open_how is larger than a page");
    }
    let raw = crate::uaccess::read_bytes(a[2], size)?;
    if raw[OPEN_HOW_SIZE_VER0..].iter().any(|&b| b != 0) {
        return_errno_with_message!(E2BIG, "open_how has nonzero bytes this kernel does not know");
    }
    let field = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&raw[i * 8..i * 8 + 8]);
        u64::from_ne_bytes(b)
    };
    let (flags, mode, resolve) = (field(0), field(1), field(2));
    if flags & !VALID_OPEN_FLAGS != 0 {
        return_errno_with_message!(EINVAL, "unknown open flags");
    }
    if flags & u64::from(g::O_PATH) != 0 && flags & !O_PATH_FLAGS != 0 {
        return_errno_with_message!(EINVAL, "O_PATH with flags it does not take");
    }
    let creates = flags & u64::from(g::O_CREAT) != 0 || flags & u64::from(g::O_TMPFILE) == u64::from(g::O_TMPFILE);
    if mode & !0o7777 != 0 || (!creates && mode != 0) {
        return_errno_with_message!(EINVAL, "a mode without O_CREAT or O_TMPFILE, or bits beyond 07777");
    }
    if resolve & !RESOLVE_ALL != 0 {
        return_errno_with_message!(EINVAL, "unknown resolve flags");
    }
    if resolve & u64::from(g::RESOLVE_BENEATH) != 0 && resolve & u64::from(g::RESOLVE_IN_ROOT) != 0 {
        return_errno_with_message!(EINVAL, "RESOLVE_BENEATH and RESOLVE_IN_ROOT together");
    }
    if resolve != 0 {
        return Err(super::refuse("openat2", crate::abi::Errno::ENOSYS, "openat2 RESOLVE_* flags are not emulated", None));
    }
    let path = args::path(a[1])?;
    // Both fit in 32 bits once checked against VALID_OPEN_FLAGS and 07777.
    let narrow = |v: u64| u32::try_from(v).map_err(|_| errno!(EINVAL, "open_how value out of range"));
    do_open(args::dirfd(a[0]), &path, narrow(flags)?, narrow(mode)?)
}

pub fn creat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[0])?;
    do_open(g::AT_FDCWD, &path, g::O_CREAT | g::O_WRONLY | g::O_TRUNC, uint(a[1]))
}

/// What closing one fd of `file` ends whatever other fds it has left
/// (`filp_close`): its directory notification (`dnotify_flush`).
fn closed(file: &OpenFile) {
    current().sigio.dir_flush(file);
}

pub fn close(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    // The entry is dropped after the table lock is released: dropping the
    // last reference closes the host fd, which may block.
    let entry = lock(&current().fds).remove(args::fd(a[0]))?;
    closed(&entry.file);
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
    for e in &closed {
        self::closed(&e.file);
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
    if let Some(e) = &replaced {
        closed(&e.file);
    }
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
