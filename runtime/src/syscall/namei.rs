//! mkdir, mknod, rmdir, unlink, rename, link, symlink, readlink and their
//! `*at` forms: making and removing names (Linux's fs/namei.c; readlink is
//! in fs/stat.c).
//!
//! man7: mkdir.2, mknod.2, rmdir.2, unlink.2, rename.2, link.2, symlink.2,
//! readlink.2 (https://man7.org/linux/man-pages/man2/rename.2.html and the
//! others).
//!
//! Divergences from Linux:
//! - linkat with AT_EMPTY_PATH links the path the fd was opened by, so it
//!   cannot give a name to an O_TMPFILE file.
//! - Synthetic files (/proc, /dev) cannot be created, renamed or removed;
//!   mknod makes FIFOs and regular files only (device and socket nodes are
//!   EPERM).

use super::args::uint;
use super::fs_common::{host_err, umask_now};
use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::Result;
use crate::host;
use crate::uaccess;
use crate::vfs::fd_table::file_of;
use crate::vfs::file::{HostFile, SynthPath};
use crate::vfs::lookup::{host_or_refuse, not_mount_point, path_target_at, reresolve, resolve_existing, resolve_new, same_mount};
use crate::vfs::path::{has_trailing_slash, last_component, trim_trailing_slashes};
use crate::task::current;
use crate::vfs::{self, perm, Lookup, Node, Resolved, Synth};
use crate::{errno, return_errno, return_errno_with_message};
use std::ffi::CString;

fn do_mkdirat(dirfd: i32, path: &[u8], mode: u32) -> Result<u64> {
    let r = resolve_new(dirfd, path, false)?;
    if r.kind != Lookup::Missing {
        return_errno_with_message!(EEXIST, "the name exists");
    }
    let hp = vfs::host_only(&r, "cannot create in a synthetic directory")?;
    perm::may_create(&current().cred(), hp)?;
    // S_IRWXUGO | S_ISVTX, then the umask (fs/namei.c do_mkdirat).
    let perm = mode & 0o1777 & !umask_now();
    host::fs::mkdir_at(hp.dir_fd(), &hp.name, perm).map_err(host_err)?;
    // In an imported root, its Linux owner (best effort: the directory exists).
    let _ = vfs::meta::created(vfs::meta::At::Name(hp.dir_fd(), &hp.name), vfs::meta::At::Fd(hp.dir_fd()), g::S_IFDIR | perm);
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

/// mknod(2): FIFOs and regular files; device nodes only in a directory
/// that keeps Linux metadata (an imported root, vfs/meta.rs: an empty file
/// with the node's type and number, by a task with CAP_MKNOD), else EPERM,
/// as the host would refuse them; sockets are made by bind(2).
fn do_mknodat(dirfd: i32, path: &[u8], mode: u32, dev: u64) -> Result<u64> {
    let kind = mode & g::S_IFMT;
    match kind {
        0 | g::S_IFREG | g::S_IFIFO | g::S_IFCHR | g::S_IFBLK => {}
        g::S_IFSOCK => return_errno_with_message!(EPERM, "socket nodes are created by bind(2), not emulated by mknod"),
        g::S_IFDIR => return_errno_with_message!(EPERM, "mknod cannot make directories"),
        _ => return_errno_with_message!(EINVAL, "unknown file type"),
    }
    let r = resolve_new(dirfd, path, false)?;
    if r.kind != Lookup::Missing {
        return_errno_with_message!(EEXIST, "the name exists");
    }
    let hp = host_or_refuse(&r, "cannot create files in a synthetic directory")?;
    let cred = current().cred();
    perm::may_create(&cred, hp)?;
    let is_dev = matches!(kind, g::S_IFCHR | g::S_IFBLK);
    let parent = vfs::meta::At::Fd(hp.dir_fd());
    if is_dev {
        if !vfs::meta::carried_by(parent) {
            return_errno_with_message!(EPERM, "device nodes cannot be created on the host outside an imported root");
        }
        if !cred.capable(g::CAP_MKNOD) {
            return_errno_with_message!(EPERM, "making a device node needs CAP_MKNOD");
        }
    }
    let perm = mode & 0o7777 & !umask_now();
    if kind == g::S_IFIFO {
        host::fs::mkfifo_at(hp.dir_fd(), &hp.name, perm).map_err(host_err)?;
    } else {
        let fd = host::fs::open_at(hp.dir_fd(), &hp.name, g::O_CREAT | g::O_EXCL | g::O_WRONLY, perm).map_err(host_err)?;
        host::fs::close(fd);
    }
    let at = vfs::meta::At::Name(hp.dir_fd(), &hp.name);
    let kind = if kind == 0 { g::S_IFREG } else { kind };
    // A FIFO is a host FIFO, which cannot carry `user.` attributes on Linux.
    if kind != g::S_IFIFO {
        let stored = vfs::meta::created(at, parent, kind | perm).and_then(|()| if is_dev { vfs::meta::set_rdev(at, dev) } else { Ok(()) });
        if let Err(e) = stored {
            if is_dev {
                // Without its metadata it would be a plain empty file.
                let _ = host::fs::unlink_at(hp.dir_fd(), &hp.name);
                return Err(e);
            }
        }
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
    not_mount_point(&r)?;
    let hp = host_or_refuse(&r, "cannot remove a synthetic directory")?;
    perm::may_delete(&current().cred(), &r)?;
    host::fs::rmdir_at(hp.dir_fd(), &hp.name).map_err(host_err)?;
    Ok(0)
}

fn do_unlink(dirfd: i32, path: &[u8]) -> Result<u64> {
    let r = resolve_existing(dirfd, path, false)?;
    // may_delete refuses before it looks at the type.
    perm::may_delete(&current().cred(), &r)?;
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
    not_mount_point(&from)?;
    not_mount_point(&to)?;
    same_mount(&from, &to)?;
    let hf = host_or_refuse(&from, "cannot rename a synthetic file")?;
    let ht = vfs::host_only(&to, "cannot rename onto a synthetic file")?;
    may_rename(&from, &to, ht, exchange)?;
    if noreplace || exchange {
        host::fs::rename2_at(hf.at(), ht.at(), noreplace, exchange).map_err(host_err)?;
    } else {
        host::fs::rename_at(hf.at(), ht.at()).map_err(host_err)?;
    }
    Ok(0)
}

/// vfs_rename's checks: the old name may be removed; the new one removed
/// (it exists) or created; and a directory that moves to another parent
/// must be writable, as its `..` changes.
fn may_rename(from: &Resolved, to: &Resolved, to_loc: &vfs::HostLoc, exchange: bool) -> Result<()> {
    let cred = current().cred();
    perm::may_delete(&cred, from)?;
    if to.kind == Lookup::Missing {
        perm::may_create(&cred, to_loc)?;
    } else {
        perm::may_delete(&cred, to)?;
    }
    let moves = |r: &Resolved| r.kind == Lookup::Dir && perm::parent_id(from) != perm::parent_id(to);
    if moves(from) {
        perm::may_access(&cred, from, perm::MAY_WRITE, false)?;
    }
    if exchange && moves(to) {
        perm::may_access(&cred, to, perm::MAY_WRITE, false)?;
    }
    Ok(())
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
    perm::may_create(&current().cred(), ht)?;
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
    perm::may_create(&current().cred(), ht)?;
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
        (Node::Synth(Synth::FdLink { target, .. } | Synth::NsLink { target, .. } | Synth::NodeLink { target, .. }), _) => Some(target.clone()),
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
            Some(Synth::FdLink { target, .. } | Synth::NsLink { target, .. } | Synth::NodeLink { target, .. }) => target.clone(),
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
