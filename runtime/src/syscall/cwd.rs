//! getcwd, chdir, fchdir, umask: the working directory and the file mode
//! creation mask, the parts of Linux's `fs_struct` a process changes.
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

pub fn umask(_cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let mut fs = lock(&current().fs);
    let old = fs.umask;
    fs.umask = uint(a[0]) & 0o777;
    Ok(u64::from(old))
}
