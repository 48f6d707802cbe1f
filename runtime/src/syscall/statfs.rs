//! statfs, fstatfs: the filesystem a file lies on, in Linux's
//! `struct statfs` (Linux's fs/statfs.c).
//!
//! man7: statfs.2 (https://man7.org/linux/man-pages/man2/statfs.2.html).
//!
//! Divergences from Linux:
//! - f_type is the host filesystem's Linux magic where known.

use super::fs_common::host_err;
use super::{args, Ctx};
use crate::abi::PAGE_SIZE;
use crate::abi::gen as g;
use crate::error::Result;
use crate::host::{self, HostStatfs};
use crate::uaccess;
use crate::vfs::fd_table::file_of;
use crate::vfs::lookup::resolve_existing;
use crate::vfs::{self, Node};

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
/// reports TMPFS_MAGIC), as the mount table has them.
fn synth_statfs(guest: &str) -> HostStatfs {
    let fs_type = vfs::mount::MOUNTS.synthetic_mount_of(guest).magic;
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
