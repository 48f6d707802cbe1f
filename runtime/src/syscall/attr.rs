//! chmod, fchmod, fchmodat, chown, fchown, lchown, fchownat, utimensat: a
//! file's mode, owner and times (Linux's fs/open.c and fs/utimes.c).
//!
//! man7: chmod.2, chown.2, utimensat.2
//! (https://man7.org/linux/man-pages/man2/utimensat.2.html).
//!
//! Divergences from Linux:
//! - Synthetic files (/proc, /dev) cannot have their mode, owner or times
//!   changed (EPERM); the memory devices accept new times and keep none.

use super::args::uint;
use super::fs_common::host_err;
use super::{args, Ctx};
use crate::abi::gen as g;
use crate::abi::{Timespec, Timeval, NSEC_PER_SEC};
use crate::error::Result;
use crate::host;
use crate::uaccess;
use crate::vfs::fd_table::file_of;
use crate::vfs::file::OpenFile;
use crate::task::current;
use crate::vfs::lookup::{node_stat, path_target_at, resolve_existing};
use crate::vfs::{perm, HostLoc, Node, Resolved, Synth};
use crate::{errno, return_errno_with_message};

fn host_path_for_attr(r: &Resolved) -> Result<&HostLoc> {
    match &r.node {
        Node::Host(p) => Ok(p),
        Node::Synth(_) => Err(errno!(EPERM, "synthetic files have fixed attributes")),
    }
}

fn do_fchmodat(dirfd: i32, path: &[u8], mode: u32) -> Result<u64> {
    let r = resolve_existing(dirfd, path, true)?;
    chmod_resolved(&r, mode)
}

fn chmod_resolved(r: &Resolved, mode: u32) -> Result<u64> {
    let hp = host_path_for_attr(r)?;
    if let Some(done) = crate::vfs::meta::chmod(crate::vfs::meta::At::Name(hp.dir_fd(), &hp.name), mode) {
        return done.map(|()| 0);
    }
    let bits = perm::chmod_bits(&current().cred(), &node_stat(r, true)?, mode)?;
    host::fs::chmod_at(hp.dir_fd(), &hp.name, bits).map_err(host_err)?;
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

/// fchmodat2(2) (Linux 6.6): fchmodat with flags. AT_SYMLINK_NOFOLLOW on a
/// symbolic link is EOPNOTSUPP, as notify_change refuses a symlink's mode
/// (fs/attr.c); AT_EMPTY_PATH changes the file dirfd names, an O_PATH one
/// included.
pub fn fchmodat2(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let flags = args::flags(a[3] & 0xffff_ffff, g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH, "unknown fchmodat2 flags")?;
    let path = args::path(a[1])?;
    let follow = flags & g::AT_SYMLINK_NOFOLLOW == 0;
    let r = path_target_at(args::dirfd(a[0]), &path, flags & g::AT_EMPTY_PATH != 0, follow)?;
    if !follow && node_stat(&r, false)?.mode & g::S_IFMT == g::S_IFLNK {
        return_errno_with_message!(EOPNOTSUPP, "the mode of a symbolic link cannot be changed");
    }
    chmod_resolved(&r, uint(a[2]))
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
        Some(h) => match crate::vfs::meta::chmod(crate::vfs::meta::At::Fd(h), uint(a[1])) {
            Some(done) => done?,
            None => {
                let bits = perm::chmod_bits(&current().cred(), &file.stat()?, uint(a[1]))?;
                host::fs::fchmod(h, bits).map_err(host_err)?
            }
        },
        None => return_errno_with_message!(EPERM, "synthetic files have fixed attributes"),
    }
    Ok(0)
}

fn do_fchownat(dirfd: i32, path: &[u8], uid: u64, gid: u64, flags: u32) -> Result<u64> {
    let follow = flags & g::AT_SYMLINK_NOFOLLOW == 0;
    let r = path_target_at(dirfd, path, flags & g::AT_EMPTY_PATH != 0, follow)?;
    let hp = host_path_for_attr(&r)?;
    if let Some(done) = crate::vfs::meta::chown(crate::vfs::meta::At::Name(hp.dir_fd(), &hp.name), uint(uid), uint(gid)) {
        return done.map(|()| 0);
    }
    perm::may_chown(&current().cred(), &node_stat(&r, follow)?, uint(uid), uint(gid))?;
    // -1 leaves an id unchanged, for the host as for Linux; the guest
    // user's ids are the host user's on the host (vfs/meta.rs).
    let (uid, gid) = crate::vfs::meta::host_owner_of(uint(uid), uint(gid));
    host::fs::chown_at(hp.dir_fd(), &hp.name, uid, gid).map_err(host_err)?;
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
        Some(h) => match crate::vfs::meta::chown(crate::vfs::meta::At::Fd(h), uint(a[1]), uint(a[2])) {
            Some(done) => done?,
            None => {
                perm::may_chown(&current().cred(), &file.stat()?, uint(a[1]), uint(a[2]))?;
                let (uid, gid) = crate::vfs::meta::host_owner_of(uint(a[1]), uint(a[2]));
                host::fs::fchown(h, uid, gid).map_err(host_err)?
            }
        },
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

/// Who may set these times (vfs/perm.rs): both to now needs ownership or
/// write permission, anything else ownership (CAP_FOWNER passes both).
fn may_utime(times: &[Option<Option<Timespec>>; 2], stat: impl FnOnce() -> Result<host::HostStat>) -> Result<()> {
    let cred = current().cred();
    if cred.capable(g::CAP_FOWNER) {
        return Ok(());
    }
    perm::may_utime(&cred, &stat()?, *times == [Some(None), Some(None)])
}

pub fn utimensat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let times = if a[2] == 0 {
        NOW
    } else {
        let at: Timespec = uaccess::read(a[2])?;
        let mt: Timespec = uaccess::read(a[2].checked_add(16).ok_or_else(|| errno!(EFAULT))?)?;
        [utime_arg(at)?, utime_arg(mt)?]
    };
    do_utimes(args::dirfd(a[0]), a[1], times, a[3])
}

/// Both times set to the current time (a NULL `times`).
const NOW: [Option<Option<Timespec>>; 2] = [Some(None), Some(None)];

/// do_futimesat (fs/utimes.c): utimes' and futimesat's two timevals, whose
/// microseconds must be 0..1000000 (UTIME_NOW and UTIME_OMIT are
/// utimensat's only).
fn timevals(ptr: u64) -> Result<[Option<Option<Timespec>>; 2]> {
    if ptr == 0 {
        return Ok(NOW);
    }
    let at: Timeval = uaccess::read(ptr)?;
    let mt: Timeval = uaccess::read(ptr.checked_add(16).ok_or_else(|| errno!(EFAULT))?)?;
    if [at, mt].iter().any(|t| !(0..1_000_000).contains(&t.usec)) {
        return_errno_with_message!(EINVAL, "tv_usec out of range");
    }
    Ok([at, mt].map(|t| Some(Some(Timespec { sec: t.sec, nsec: t.usec * 1000 }))))
}

/// utimes(2): the times of a path, in microseconds.
pub fn utimes(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    do_utimes(g::AT_FDCWD, a[0], timevals(a[1])?, 0)
}

/// futimesat(2): utimes relative to a directory fd (a NULL path: the
/// file of the fd itself).
pub fn futimesat(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    do_utimes(args::dirfd(a[0]), a[1], timevals(a[2])?, 0)
}

/// utime(2): the times of a path in whole seconds (`struct utimbuf`:
/// actime, modtime).
pub fn utime(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let times = if a[1] == 0 {
        NOW
    } else {
        let [at, mt]: [u64; 2] = uaccess::read(a[1])?;
        [at, mt].map(|sec| Some(Some(Timespec { sec: sec as i64, nsec: 0 })))
    };
    do_utimes(g::AT_FDCWD, a[0], times, 0)
}

/// do_utimes (fs/utimes.c): a NULL path with a dirfd is the fd's file.
fn do_utimes(dirfd: i32, path_ptr: u64, times: [Option<Option<Timespec>>; 2], raw_flags: u64) -> Result<u64> {
    if path_ptr == 0 && dirfd != g::AT_FDCWD {
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
            may_utime(&times, || file.stat())?;
            host::fs::futimens(h, times).map_err(host_err)?;
        }
        return Ok(0);
    }
    let flags = args::flags(raw_flags, g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH, "unknown utimensat flags")?;
    let path = args::path(path_ptr)?;
    let follow = flags & g::AT_SYMLINK_NOFOLLOW == 0;
    let r = path_target_at(dirfd, &path, flags & g::AT_EMPTY_PATH != 0, follow)?;
    if times == [None, None] {
        return Ok(0);
    }
    match &r.node {
        Node::Host(p) => {
            may_utime(&times, || node_stat(&r, follow))?;
            host::fs::utimens_at(p.dir_fd(), &p.name, times).map_err(host_err)?
        }
        Node::Synth(Synth::Dev(_)) => {}
        Node::Synth(_) => return_errno_with_message!(EPERM, "synthetic files have fixed times"),
    }
    Ok(0)
}
