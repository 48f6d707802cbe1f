//! stat, lstat, fstat, newfstatat, statx: a file's metadata in Linux's
//! `struct stat` and `struct statx`.
//!
//! man7: stat.2, statx.2 (https://man7.org/linux/man-pages/man2/statx.2.html).
//!
//! Divergences from Linux:
//! - statx reports STATX_BASIC_STATS, plus STATX_BTIME where the host
//!   knows the birth time; no other mask bit.

use super::args::uint;
use super::{args, Ctx};
use crate::abi::Timespec;
use crate::abi::gen as g;
use crate::error::Result;
use crate::host::{self, HostStat};
use crate::return_errno_with_message;
use crate::uaccess;
use crate::vfs::fd_table::file_of;
use crate::vfs::lookup::{target_at, target_stat, Target};
use crate::vfs::{self, Node, Resolved};

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
