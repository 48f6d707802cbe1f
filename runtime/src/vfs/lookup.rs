//! The lookups the file syscalls make, on top of [`super::resolve_at`]: a
//! path as a syscall takes it (empty is ENOENT, as Linux's `getname` has
//! it), a name about to be created, the target of an `AT_EMPTY_PATH` call,
//! a node's metadata, and the refusals a synthetic mount gives.
//!
//! Signal context: called from syscall handlers; may block in host calls.
//! Takes the `fds` lock only to clone an open file out.

use super::fd_table::file_of;
use super::file::{synth_node_stat, OpenFile};
use super::path::trim_trailing_slashes;
use super::{HostLoc, Lookup, Node, Resolved, Synth};
use crate::abi::gen as g;
use crate::error::{Error, Result};
use crate::host::{self, HostStat};
use crate::{errno, return_errno_with_message};
use std::sync::Arc;

/// [`super::resolve_at`], but an empty path is ENOENT before the dirfd is looked
/// at (Linux fails `getname` first: `newfstatat(file_fd, "", 0)` is ENOENT).
pub fn resolve_at(dirfd: i32, path: &[u8], follow: bool) -> Result<Resolved> {
    if path.is_empty() {
        return_errno_with_message!(ENOENT, "empty path");
    }
    super::resolve_at(dirfd, path, follow)
}

/// [`super::resolve_existing`], with the empty-path rule of [`resolve_at`].
pub fn resolve_existing(dirfd: i32, path: &[u8], follow: bool) -> Result<Resolved> {
    if path.is_empty() {
        return_errno_with_message!(ENOENT, "empty path");
    }
    super::resolve_existing(dirfd, path, follow)
}

/// Resolves the name a create-like call (mkdir, symlink, link, rename, open
/// with O_CREAT) is about to make. Trailing slashes are left to the caller:
/// the name itself is looked up (so `mkdir("file/")` is EEXIST, as in Linux).
/// A missing name under a synthetic directory is EACCES, as creating there is
/// refused, not impossible.
pub fn resolve_new(dirfd: i32, path: &[u8], follow: bool) -> Result<Resolved> {
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
    super::mount::MOUNTS.mount_of(guest).fs == super::mount::Fs::Proc
}

/// The host path of `r`, or the refusal Linux gives for its synthetic mount:
/// proc has no such inode operation (EPERM); /dev is root-owned (EACCES).
pub fn host_or_refuse<'a>(r: &'a Resolved, what: &'static str) -> Result<&'a HostLoc> {
    match &r.node {
        Node::Host(p) => Ok(p),
        Node::Synth(_) if is_proc(&r.guest) => Err(errno!(EPERM, what)),
        Node::Synth(_) => Err(errno!(EACCES, what)),
    }
}

/// rename and link cannot cross between the host tree and a synthetic mount,
/// nor between two host mounts (`--mount`).
pub fn same_mount(a: &Resolved, b: &Resolved) -> Result<()> {
    if matches!(a.node, Node::Host(_)) != matches!(b.node, Node::Host(_)) {
        return_errno_with_message!(EXDEV, "across a synthetic mount");
    }
    if super::mount::host_mount_of(&a.guest) != super::mount::host_mount_of(&b.guest) {
        return_errno_with_message!(EXDEV, "across a host mount");
    }
    Ok(())
}

/// A mount point cannot be removed or renamed while mounted (EBUSY).
pub fn not_mount_point(r: &Resolved) -> Result<()> {
    if super::mount::host_mount_at(&r.guest).is_some() {
        return_errno_with_message!(EBUSY, "a host mount point");
    }
    Ok(())
}

/// What a call with `AT_EMPTY_PATH` acts on: the dirfd's file or a path.
pub enum Target {
    File(Arc<OpenFile>),
    Path(Resolved),
}

/// Resolves the target of a `*at` call that accepts `AT_EMPTY_PATH`.
pub fn target_at(dirfd: i32, path: &[u8], empty_path_ok: bool, follow: bool) -> Result<Target> {
    if path.is_empty() && empty_path_ok {
        if dirfd == g::AT_FDCWD {
            return Ok(Target::Path(resolve_existing(g::AT_FDCWD, b".", true)?));
        }
        return Ok(Target::File(file_of(dirfd)?));
    }
    Ok(Target::Path(resolve_existing(dirfd, path, follow)?))
}

/// A path for an open file, resolved again from the guest path it was opened by.
pub fn reresolve(file: &OpenFile) -> Result<Resolved> {
    resolve_existing(g::AT_FDCWD, &super::path::to_bytes(&file.guest_path), false)
}

/// Like [`target_at`], but always a path (for calls the host does by path).
pub fn path_target_at(dirfd: i32, path: &[u8], empty_path_ok: bool, follow: bool) -> Result<Resolved> {
    match target_at(dirfd, path, empty_path_ok, follow)? {
        Target::Path(r) => Ok(r),
        Target::File(f) => reresolve(&f),
    }
}

/// Metadata of a resolved node. `followed` says whether the last component
/// was followed (a followed `/proc/<pid>/fd/N` link stats the open file).
pub fn node_stat(r: &Resolved, followed: bool) -> Result<HostStat> {
    match &r.node {
        Node::Host(p) => {
            let mut st = match &r.host_stat {
                Some(st) => *st,
                None => host::fs::stat_at(p.dir_fd(), &p.name).map_err(Error::new)?,
            };
            super::meta::apply_at(&mut st, p.dir_fd(), &p.name);
            Ok(st)
        }
        Node::Synth(Synth::FdLink { fd, .. }) if followed => {
            file_of(*fd).map_err(|_| errno!(ENOENT, "fd link target is closed"))?.stat()
        }
        Node::Synth(Synth::NsLink { ino, .. }) if followed => Ok(super::proc::ns_stat(*ino)),
        Node::Synth(Synth::NodeLink { node, .. }) if followed => {
            let mut st = super::file::synth_stat(&r.guest, node.mode, 0);
            (st.dev, st.ino, st.nlink) = (node.dev, node.ino, 1);
            Ok(st)
        }
        Node::Synth(s) => Ok(synth_node_stat(&r.guest, s)),
    }
}

pub fn target_stat(t: &Target, followed: bool) -> Result<HostStat> {
    match t {
        Target::File(f) => f.stat(),
        Target::Path(r) => node_stat(r, followed),
    }
}
