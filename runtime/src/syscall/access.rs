//! access, faccessat, faccessat2: permission checks by path (Linux's
//! fs/open.c).
//!
//! man7: access.2 (https://man7.org/linux/man-pages/man2/access.2.html).
//!
//! The check follows the guest's real ids (or, with AT_EACCESS, its fs
//! ids) and the mode stat shows (vfs/perm.rs); the host's own check for the
//! host user applies too.

use super::fs_common::host_err;
use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::Result;
use crate::host::{self, HostStat};
use crate::return_errno_with_message;
use crate::vfs::file::HostFile;
use crate::vfs::lookup::{node_stat, reresolve, target_at, Target};
use crate::task::current;
use crate::vfs::{self, perm, Lookup, Node};

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
    // The real ids, unless AT_EACCESS (access_override_creds), for the
    // walk as for the file.
    let own = current().cred();
    let cred = if flags & g::AT_EACCESS != 0 { own } else { std::sync::Arc::new(own.access_override()) };
    let r = if path.is_empty() {
        match target_at(dirfd, path, flags & g::AT_EMPTY_PATH != 0, follow)? {
            Target::Path(r) => r,
            Target::File(f) => match f.ops_as::<HostFile>() {
                Some(_) => reresolve(&f)?,
                None => return synth_access(&f.stat()?, mode),
            },
        }
    } else {
        let r = vfs::resolve_as(dirfd, path, follow, cred.clone())?;
        if r.kind == Lookup::Missing {
            return_errno_with_message!(ENOENT, "no such file");
        }
        r
    };
    if matches!(r.kind, Lookup::Symlink(_)) {
        // A symlink not followed: its permission bits are always rwxrwxrwx.
        return Ok(0);
    }
    match &r.node {
        Node::Host(p) => {
            if mode != g::F_OK {
                // The R_OK, W_OK and X_OK bits are MAY_READ, MAY_WRITE, MAY_EXEC.
                perm::may_access(&cred, &r, mode, follow)?;
            }
            // The host's own check for the host user, underneath.
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
