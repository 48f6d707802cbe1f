//! Who may do what to a file, by Linux's rules: the guest's credentials
//! (task/cred.rs: the fs uid and gid, the supplementary groups, the
//! capabilities) against the owner, group and mode the guest sees, which
//! are what stat shows ([`super::lookup::node_stat`]: an imported root's
//! stored metadata, vfs/meta.rs, else the host's values with the host
//! user's ids shown as the guest user's, `meta::map_host_owner`).
//!
//! One place for the rules of fs/namei.c (generic_permission, may_lookup,
//! may_create, may_delete and check_sticky), fs/attr.c (setattr_prepare:
//! chmod, chown, utimes) and fs/open.c (access_override_creds); the path
//! walk, open, execve and the calls that make, remove or change names call
//! them.
//!
//! These checks only add refusals. Every call still goes to the host, which
//! applies its own rules for the host user underneath: nothing becomes
//! readable or writable on the host that the host user could not reach.
//! A task with the capabilities that override them (guest root) passes
//! without a stat, so it behaves as before.
//!
//! Signal context: called from syscall handlers; may block in host calls
//! (fstat, getxattr). Takes no lock.
//!
//! Divergences from Linux:
//! - No POSIX ACLs, read-only mounts (EROFS), immutable or append-only
//!   files in these checks (the host applies its own ACLs and flags).
//! - The fs.protected_{hardlinks,symlinks,regular,fifos} sysctls are taken
//!   as 0, the kernel's own default (distributions usually set them).
//! - Synthetic files (/proc, /dev) keep their own fixed rules.
//! - Outside an imported root a new file belongs to the host user (a host
//!   chown would hand it to whichever host account has that number), so
//!   stat and later checks see the user the run started the guest as, not
//!   the fs uid that made it (the same after a set*id call changed it).
//! - The walk checks search permission on the directory `..` leaves only
//!   when the guest's ids differ from the host process's (else the host's
//!   own lookups decide, and `..` is not a host lookup).

use super::lookup::node_stat;
use super::{HostLoc, Resolved};
use crate::abi::gen as g;
use crate::error::{Error, Result};
use crate::host::{self, HostFd, HostStat};
use crate::task::Cred;
use crate::{errno, return_errno_with_message};

/// The `MAY_*` bits of include/linux/fs.h (the values of R_OK, W_OK, X_OK).
pub const MAY_EXEC: u32 = 1;
pub const MAY_WRITE: u32 = 2;
pub const MAY_READ: u32 = 4;
const _: () = assert!(MAY_EXEC == g::X_OK && MAY_WRITE == g::W_OK && MAY_READ == g::R_OK);

/// generic_permission without ACLs: the owner's, the group's (the fs gid or
/// a supplementary group) or the others' bits, then the capabilities that
/// override them. A directory may always be read and searched with
/// CAP_DAC_READ_SEARCH, and anything done with CAP_DAC_OVERRIDE, but for
/// executing a file with no execute bit at all.
pub fn permitted(cred: &Cred, st: &HostStat, mask: u32) -> bool {
    let mask = mask & (MAY_READ | MAY_WRITE | MAY_EXEC);
    let class = if cred.fsuid == st.uid {
        st.mode >> 6
    } else if cred.in_group(st.gid) {
        st.mode >> 3
    } else {
        st.mode
    };
    if mask & !class == 0 {
        return true;
    }
    if st.mode & g::S_IFMT == g::S_IFDIR {
        return (mask & MAY_WRITE == 0 && cred.capable(g::CAP_DAC_READ_SEARCH)) || cred.capable(g::CAP_DAC_OVERRIDE);
    }
    if mask == MAY_READ && cred.capable(g::CAP_DAC_READ_SEARCH) {
        return true;
    }
    (mask & MAY_EXEC == 0 || st.mode & 0o111 != 0) && cred.capable(g::CAP_DAC_OVERRIDE)
}

/// Whether the capabilities alone grant `mask` on any directory (or any
/// other file), whatever its mode: then no stat is needed.
fn granted_by_caps(cred: &Cred, mask: u32, is_dir: bool) -> bool {
    if is_dir {
        cred.capable(g::CAP_DAC_OVERRIDE) || (mask & MAY_WRITE == 0 && cred.capable(g::CAP_DAC_READ_SEARCH))
    } else {
        (mask & MAY_EXEC == 0 && cred.capable(g::CAP_DAC_OVERRIDE)) || (mask == MAY_READ && cred.capable(g::CAP_DAC_READ_SEARCH))
    }
}

/// EACCES unless [`permitted`].
pub fn check(cred: &Cred, st: &HostStat, mask: u32) -> Result<()> {
    if !permitted(cred, st, mask) {
        return_errno_with_message!(EACCES, "the file's mode does not allow this to the caller's ids");
    }
    Ok(())
}

/// A host directory the runtime holds, as the guest sees it.
fn dir_stat(dir: HostFd) -> Result<HostStat> {
    let mut st = host::fs::fstat(dir).map_err(Error::new)?;
    super::meta::apply_fd(&mut st, dir);
    Ok(st)
}

/// The capabilities that change what a file check answers.
const DAC_CAPS: u64 = (1 << g::CAP_DAC_OVERRIDE) | (1 << g::CAP_DAC_READ_SEARCH) | (1 << g::CAP_FOWNER);

/// Whether the host's own check answers as Linux would for `cred`: no
/// stored metadata, and the guest checks with the very ids, groups and
/// file capabilities the host process has (the default when no `--user`
/// is given). The host process never changes its own ids, so they are read
/// once (a fork child has the same).
fn host_decides(cred: &Cred) -> bool {
    static HOST: std::sync::OnceLock<Cred> = std::sync::OnceLock::new();
    let host = HOST.get_or_init(Cred::of_host_process);
    !super::meta::enabled()
        && cred.fsuid == host.euid
        && cred.fsgid == host.egid
        && cred.groups == host.groups
        && cred.cap_effective & DAC_CAPS == host.cap_effective & DAC_CAPS
}

/// Whether [`may_search`] passes every directory `cred` could meet without
/// looking at it: the host's own check on the walk is then the whole check.
pub fn may_search_all(cred: &Cred) -> bool {
    granted_by_caps(cred, MAY_EXEC, true) || host_decides(cred)
}

/// may_lookup: looking a name up in a directory needs search permission.
/// The host checks it too when the walk opens the next name in `dir`, so
/// it is left to the host when the host would answer the same (a guest
/// running as the host user, which is every path walk by default).
pub fn may_search(cred: &Cred, dir: HostFd) -> Result<()> {
    if may_search_all(cred) {
        return Ok(());
    }
    check(cred, &dir_stat(dir)?, MAY_EXEC)
}

/// `mask` on the existing node `r` (a synthetic node passes: it has its
/// own rules). `followed`: whether the last component was followed.
pub fn may_access(cred: &Cred, r: &Resolved, mask: u32, followed: bool) -> Result<()> {
    if !matches!(r.node, super::Node::Host(_)) || granted_by_caps(cred, mask, r.kind == super::Lookup::Dir) {
        return Ok(());
    }
    check(cred, &node_stat(r, followed)?, mask)
}

/// may_create: a new name in the directory holding `loc` needs write and
/// search permission there. A trusted host path (no directory) passes.
pub fn may_create(cred: &Cred, loc: &HostLoc) -> Result<()> {
    match loc.parent_fd() {
        Some(dir) if !granted_by_caps(cred, MAY_WRITE | MAY_EXEC, true) => check(cred, &dir_stat(dir)?, MAY_WRITE | MAY_EXEC),
        _ => Ok(()),
    }
}

/// may_delete: removing (or renaming away) the name `r` needs write and
/// search permission on its directory, and in a sticky directory the
/// caller must own the file or the directory, or have CAP_FOWNER (EPERM).
pub fn may_delete(cred: &Cred, r: &Resolved) -> Result<()> {
    let super::Node::Host(loc) = &r.node else { return Ok(()) };
    let Some(dir) = loc.parent_fd() else { return Ok(()) };
    let is_free = granted_by_caps(cred, MAY_WRITE | MAY_EXEC, true) && cred.capable(g::CAP_FOWNER);
    if is_free {
        return Ok(());
    }
    let dst = dir_stat(dir)?;
    check(cred, &dst, MAY_WRITE | MAY_EXEC)?;
    if dst.mode & g::S_ISVTX != 0 && !cred.capable(g::CAP_FOWNER) {
        let victim = node_stat(r, false)?;
        if cred.fsuid != victim.uid && cred.fsuid != dst.uid {
            return_errno_with_message!(EPERM, "a sticky directory: only the owner of the file or of the directory may remove it");
        }
    }
    Ok(())
}

/// The (dev, ino) of the directory holding `r`, to tell whether two
/// names share one (rename of a directory to another parent).
pub fn parent_id(r: &Resolved) -> Option<(u64, u64)> {
    let super::Node::Host(loc) = &r.node else { return None };
    host::fs::fstat(loc.parent_fd()?).ok().map(|st| (st.dev, st.ino))
}

/// execve: a regular file with execute permission for the caller (root
/// needs at least one execute bit).
pub fn may_exec(cred: &Cred, st: &HostStat) -> Result<()> {
    check(cred, st, MAY_EXEC)
}

/// inode_owner_or_capable: the fs uid owns the file, or CAP_FOWNER.
pub fn is_owner_or_capable(cred: &Cred, st: &HostStat) -> bool {
    cred.fsuid == st.uid || cred.capable(g::CAP_FOWNER)
}

/// chmod (setattr_prepare's ATTR_MODE): the owner or CAP_FOWNER (else
/// EPERM); the permission bits to set, without the set-group-id bit when
/// the caller is not in the file's group and lacks CAP_FSETID.
pub fn chmod_bits(cred: &Cred, st: &HostStat, mode: u32) -> Result<u32> {
    if !is_owner_or_capable(cred, st) {
        return_errno_with_message!(EPERM, "only the owner may change a file's mode");
    }
    let mut bits = mode & 0o7777;
    if bits & g::S_ISGID != 0 && !cred.in_group(st.gid) && !cred.capable(g::CAP_FSETID) {
        bits &= !g::S_ISGID;
    }
    Ok(bits)
}

/// chown (chown_ok and chgrp_ok in fs/attr.c): naming an owner needs
/// CAP_CHOWN unless the owner names itself; naming a group needs CAP_CHOWN
/// unless the owner names the file's group or one of its own. `u32::MAX`
/// leaves an id as it is and needs nothing.
pub fn may_chown(cred: &Cred, st: &HostStat, uid: u32, gid: u32) -> Result<()> {
    let is_owner = cred.fsuid == st.uid;
    let may_chown = cred.capable(g::CAP_CHOWN);
    if uid != u32::MAX && !(is_owner && uid == st.uid) && !may_chown {
        return_errno_with_message!(EPERM, "only a privileged task may give a file away");
    }
    if gid != u32::MAX && !(is_owner && (gid == st.gid || cred.in_group(gid))) && !may_chown {
        return_errno_with_message!(EPERM, "the file's group may become only one of the owner's groups");
    }
    Ok(())
}

/// utimensat: setting the times to now (`touch_only`) needs ownership,
/// CAP_FOWNER or write permission (EACCES); setting them to given values
/// needs ownership or CAP_FOWNER (EPERM) (may_setattr, setattr_prepare).
pub fn may_utime(cred: &Cred, st: &HostStat, touch_only: bool) -> Result<()> {
    if is_owner_or_capable(cred, st) {
        return Ok(());
    }
    if touch_only {
        return check(cred, st, MAY_WRITE);
    }
    Err(errno!(EPERM, "only the owner may set a file's times to given values"))
}

/// The access mode an open asks for (ACC_MODE, and O_TRUNC writes).
pub fn open_mask(flags: u32) -> u32 {
    let mut mask = match flags & g::O_ACCMODE {
        g::O_RDONLY => MAY_READ,
        g::O_WRONLY => MAY_WRITE,
        _ => MAY_READ | MAY_WRITE,
    };
    if flags & g::O_TRUNC != 0 {
        mask |= MAY_WRITE;
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(uid: u32, gid: u32, groups: Vec<u32>) -> Cred {
        Cred::new(uid, uid, gid, gid, groups)
    }

    fn file(mode: u32, uid: u32, gid: u32) -> HostStat {
        HostStat { mode, uid, gid, ..Default::default() }
    }

    #[test]
    fn owner_group_and_other_classes() {
        let f = file(g::S_IFREG | 0o640, 1000, 50);
        assert!(permitted(&user(1000, 1000, vec![]), &f, MAY_READ | MAY_WRITE));
        assert!(!permitted(&user(1000, 1000, vec![]), &f, MAY_EXEC));
        assert!(permitted(&user(2000, 2000, vec![50]), &f, MAY_READ), "a supplementary group");
        assert!(!permitted(&user(2000, 2000, vec![50]), &f, MAY_WRITE));
        assert!(!permitted(&user(2000, 2000, vec![]), &f, MAY_READ));
        // The owner's class is used even when it grants less than the others'.
        let g = file(g::S_IFREG | 0o077, 1000, 50);
        assert!(!permitted(&user(1000, 50, vec![]), &g, MAY_READ));
        let mut fs = user(3000, 3000, vec![]);
        fs.fsuid = 1000;
        assert!(permitted(&fs, &f, MAY_WRITE), "the fs uid is what counts");
    }

    #[test]
    fn capabilities_override_but_exec_needs_one_x_bit() {
        let root = user(0, 0, vec![0]);
        assert!(permitted(&root, &file(g::S_IFREG, 1000, 1000), MAY_READ | MAY_WRITE));
        assert!(!permitted(&root, &file(g::S_IFREG | 0o644, 1000, 1000), MAY_EXEC));
        assert!(permitted(&root, &file(g::S_IFREG | 0o010, 1000, 1000), MAY_EXEC));
        assert!(permitted(&root, &file(g::S_IFDIR, 1000, 1000), MAY_EXEC | MAY_WRITE));
        let mut rs = user(1000, 1000, vec![]);
        rs.cap_effective = 1 << g::CAP_DAC_READ_SEARCH;
        assert!(permitted(&rs, &file(g::S_IFDIR, 0, 0), MAY_READ | MAY_EXEC));
        assert!(!permitted(&rs, &file(g::S_IFDIR, 0, 0), MAY_WRITE));
        assert!(permitted(&rs, &file(g::S_IFREG, 0, 0), MAY_READ));
        assert!(!permitted(&rs, &file(g::S_IFREG, 0, 0), MAY_READ | MAY_WRITE));
    }

    #[test]
    fn chown_and_chmod_rules() {
        let f = file(g::S_IFREG | 0o644, 1000, 1000);
        let owner = user(1000, 1000, vec![50]);
        let other = user(2000, 2000, vec![1000]);
        assert!(may_chown(&owner, &f, 1000, 50).is_ok());
        assert_eq!(may_chown(&owner, &f, 2000, u32::MAX).unwrap_err().errno, crate::abi::Errno::EPERM);
        assert_eq!(may_chown(&owner, &f, u32::MAX, 60).unwrap_err().errno, crate::abi::Errno::EPERM);
        assert_eq!(may_chown(&other, &f, 1000, u32::MAX).unwrap_err().errno, crate::abi::Errno::EPERM, "a non-owner naming the same owner");
        assert!(may_chown(&other, &f, u32::MAX, u32::MAX).is_ok());
        let theirs = file(g::S_IFREG | 0o644, 1000, 60);
        assert_eq!(chmod_bits(&owner, &theirs, 0o2755).unwrap(), 0o755, "not in the file's group");
        assert_eq!(chmod_bits(&owner, &f, 0o2755).unwrap(), 0o2755, "the fs gid is the file's group");
        assert_eq!(chmod_bits(&other, &f, 0o600).unwrap_err().errno, crate::abi::Errno::EPERM);
    }
}
