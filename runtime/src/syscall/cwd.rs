//! getcwd, chdir, fchdir, umask, chroot: the working directory, the file
//! mode creation mask and the root, the parts of Linux's `fs_struct` a
//! process changes.
//!
//! chroot's divergences from Linux: the runtime's /proc and /dev stay at
//! /proc and /dev under the new root, and `--mount` points at their guest
//! paths; a working directory outside the new root becomes the new root
//! (Linux keeps it, unreachable from `/`); an fd opened before, used as
//! the directory of a `*at` call, is named from the new root (its guest
//! path is); a directory the runtime makes up cannot be a root (EINVAL).
//!
//! man7: getcwd.3 (the syscall is described there), chdir.2, umask.2
//! (https://man7.org/linux/man-pages/man2/chdir.2.html).

use super::args::uint;
use super::fs_common::host_err;
use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::Result;
use crate::host;
use crate::return_errno_with_message;
use crate::task::{current, lock};
use crate::uaccess;
use crate::vfs::fd_table::file_of;
use crate::vfs::lookup::resolve_existing;
use crate::vfs::{self, Lookup, Node};

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
        let cred = crate::task::current().cred();
        crate::vfs::perm::may_access(&cred, &r, crate::vfs::perm::MAY_EXEC, true)?;
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
    if file.host_fd().is_some() {
        // Search permission on the directory, as chdir (fs/open.c).
        let cred = crate::task::current().cred();
        if !cred.capable(g::CAP_DAC_OVERRIDE) && !cred.capable(g::CAP_DAC_READ_SEARCH) {
            crate::vfs::perm::check(&cred, &file.stat()?, crate::vfs::perm::MAY_EXEC)?;
        }
    }
    set_cwd(file.guest_path.clone());
    Ok(0)
}

/// chroot(2) (ksys_chroot, fs/open.c): the directory (ENOENT, ENOTDIR,
/// and search permission on it: EACCES), then CAP_SYS_CHROOT (EPERM).
/// Guest paths start there from now on, for this process and those it
/// shares its fs context with (CLONE_FS), a fork child and a program it
/// executes.
pub fn chroot(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let path = args::path(a[0])?;
    let r = resolve_existing(g::AT_FDCWD, &path, true)?;
    if r.kind != Lookup::Dir {
        return_errno_with_message!(ENOTDIR, "not a directory");
    }
    let cred = current().cred();
    crate::vfs::perm::may_access(&cred, &r, crate::vfs::perm::MAY_EXEC, true)?;
    if !cred.capable(g::CAP_SYS_CHROOT) {
        return_errno_with_message!(EPERM, "chroot needs CAP_SYS_CHROOT");
    }
    let Node::Host(p) = &r.node else { return_errno_with_message!(EINVAL, "a directory the runtime makes up cannot be a root") };
    let (dir, name) = p.at();
    let root = std::sync::Arc::new(crate::vfs::DirFd::open_at(dir, name).map_err(host_err)?);
    let mut fs = lock(&current().fs);
    // The working directory keeps its place when it lies under the new
    // root; it is named from there now.
    let under = if r.guest == "/" { Some("") } else { fs.cwd.strip_prefix(r.guest.as_str()).filter(|rest| rest.is_empty() || rest.starts_with('/')) };
    let cwd = match under {
        Some("") | None => "/".to_string(),
        Some(rest) => rest.to_string(),
    };
    fs.set_cwd(cwd);
    fs.root = Some(root);
    Ok(0)
}

pub fn umask(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let mut fs = lock(&current().fs);
    let old = fs.umask;
    fs.umask = uint(a[0]) & 0o777;
    Ok(u64::from(old))
}
