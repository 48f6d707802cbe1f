//! Linux metadata kept beside host files, in extended attributes: the
//! owner, group, mode and device number a host file cannot hold for an
//! ordinary user (`mactux rootfs import` writes them; docs/rootfs.md gives
//! the format). When the guest root carries them (`Config::linux_metadata`),
//! stat, fstat, statx and the loader's set-id checks show them in place of
//! the host's values.
//!
//! A file without them shows the host's owner and group mapped to the
//! guest user ([`map_host_owner`]), as proot -0 and -i show them: the host
//! user's own files (the host process's real uid, and its real gid) belong
//! to the user and group the run started the guest as (`Config::user`,
//! `--user`/`-0`), every other id is shown as it is. Not when the host
//! user is root: root's files are the system's, and shown as the guest
//! user's they would all be that user's to read and write. The mapping is fixed
//! for the run: the configured user, kept across fork and execve with the
//! `Config`, not the task's current ids, since on Linux a file's owner does
//! not change when a process changes its ids. Without `--user` or `-0` it
//! is the identity. A chown of such a file names the host user again for
//! the guest user's ids ([`host_owner_of`]), so that the guest may give a
//! file the owner stat already shows.
//!
//! chmod and chown of a file that carries them change the attributes, by
//! Linux's rules for who may (the guest's credentials); the host file gets
//! the permission bits without set-id and sticky bits, plus owner read and
//! write (as the import leaves it), and keeps its host owner. A file
//! without them is changed on the host as before. What the guest creates
//! in a directory that carries them gets them too (`created`), and mknod
//! of a device node there makes an empty file that carries its type and
//! number.

use crate::abi::gen as g;
use crate::error::Result;
use crate::host::{self, HostFd, HostStat};
use std::ffi::CStr;

const UID: &CStr = c"user.mactux.uid";
const GID: &CStr = c"user.mactux.gid";
const MODE: &CStr = c"user.mactux.mode";
const RDEV: &CStr = c"user.mactux.rdev";

/// Whether the guest root's files carry Linux metadata.
pub fn enabled() -> bool {
    crate::task::try_current().is_some_and(|p| p.config.linux_metadata)
}

/// `st` of `name` in `dir` as the guest sees it: the host's owner mapped
/// to the guest user, then what its attributes say.
pub fn apply_at(st: &mut HostStat, dir: HostFd, name: &CStr) {
    map_host_owner(st);
    if enabled() && may_carry(st) {
        apply(st, |attr| At::Name(dir, name).get(attr));
    }
}

/// `st` of the file open as `fd` as the guest sees it: the host's owner
/// mapped to the guest user, then what its attributes say.
pub fn apply_fd(st: &mut HostStat, fd: HostFd) {
    map_host_owner(st);
    if enabled() && may_carry(st) {
        apply(st, |attr| At::Fd(fd).get(attr));
    }
}

/// Which host ids stand for which guest ids in the owners of files that
/// carry no stored owner: the host user's (uid, gid) and the guest's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OwnerMap {
    host: (u32, u32),
    guest: (u32, u32),
}

impl OwnerMap {
    /// This run's: the host process's real ids (it never changes them; a
    /// fork child and an execve'd runtime have the same) and the user the
    /// run starts the guest as. `None` when that is the host user (no
    /// `--user`), or before the task exists.
    fn of_run() -> Option<OwnerMap> {
        static HOST: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
        let user = crate::task::try_current()?.config.user.as_ref()?;
        let host = *HOST.get_or_init(|| (host::process::uid(), host::process::gid()));
        // Host root's files are the system's (/etc/shadow, /root): shown as
        // the guest user's, `--user nobody` run by root could read and
        // write them all. They keep their owners.
        if host.0 == 0 {
            return None;
        }
        Some(OwnerMap { host, guest: (user.uid, user.gid) })
    }

    fn to_guest(self, st: &mut HostStat) {
        if st.uid == self.host.0 {
            st.uid = self.guest.0;
        }
        if st.gid == self.host.1 {
            st.gid = self.guest.1;
        }
    }

    /// `u32::MAX` ("leave it") stays.
    fn to_host(self, uid: u32, gid: u32) -> (u32, u32) {
        let uid = if uid == self.guest.0 && uid != u32::MAX { self.host.0 } else { uid };
        let gid = if gid == self.guest.1 && gid != u32::MAX { self.host.1 } else { gid };
        (uid, gid)
    }
}

/// The owner and group of a host file as the guest sees them when it
/// carries no stored ones: the host user's uid shows as the uid the guest
/// was started with, the host user's (real, primary) gid as its gid, any
/// other id as it is. Every host stat the guest sees (stat, fstat, statx,
/// the permission checks of vfs/perm.rs, the loader's set-id check) passes
/// here, through [`apply_at`] and [`apply_fd`].
pub fn map_host_owner(st: &mut HostStat) {
    if let Some(map) = OwnerMap::of_run() {
        map.to_guest(st);
    }
}

/// The uid the guest sees for host uid `uid` (the owner of a host socket
/// in /proc/net): as [`map_host_owner`] shows a file's owner.
pub fn guest_uid_of(uid: u32) -> u32 {
    match OwnerMap::of_run() {
        Some(map) if uid == map.host.0 => map.guest.0,
        _ => uid,
    }
}

/// The host ids a chown of a file without stored owners asks the host
/// for: the guest user's ids name the host user again (the inverse of
/// [`map_host_owner`]); anything else, and `u32::MAX`, as given.
pub fn host_owner_of(uid: u32, gid: u32) -> (u32, u32) {
    match OwnerMap::of_run() {
        Some(map) => map.to_host(uid, gid),
        None => (uid, gid),
    }
}

/// The type and device number stored for `name` in `dir` when it is a
/// device node or socket kept as an empty regular file (which opening
/// must not open); `None` for anything else.
pub fn special_at(dir: HostFd, name: &CStr) -> Option<(u32, u64)> {
    if !enabled() {
        return None;
    }
    let mut st = host::fs::stat_at(dir, name).ok()?;
    if st.mode & g::S_IFMT != g::S_IFREG {
        return None;
    }
    apply_at(&mut st, dir, name);
    let kind = st.mode & g::S_IFMT;
    matches!(kind, g::S_IFCHR | g::S_IFBLK | g::S_IFSOCK).then_some((kind, st.rdev))
}

/// Only regular files (device nodes, FIFOs and sockets are stored as
/// such) and directories carry the attributes; symlinks cannot.
fn may_carry(st: &HostStat) -> bool {
    matches!(st.mode & g::S_IFMT, g::S_IFREG | g::S_IFDIR)
}

/// Reads one attribute, given how to read them: its text.
fn text(get: &impl Fn(&CStr) -> Option<Vec<u8>>, attr: &CStr) -> Option<String> {
    get(attr).and_then(|v| String::from_utf8(v).ok())
}

/// The stored mode, if the file carries one (and so any metadata).
fn stored_mode(get: &impl Fn(&CStr) -> Option<Vec<u8>>) -> Option<u32> {
    text(get, MODE).and_then(|m| parse_mode(&m))
}

/// The stored mode, owner and group; `None` when the file carries none.
fn stored(get: &impl Fn(&CStr) -> Option<Vec<u8>>) -> Option<(u32, Option<u32>, Option<u32>)> {
    let mode = stored_mode(get)?;
    let id = |attr| text(get, attr).and_then(|v| v.trim().parse().ok());
    Some((mode, id(UID), id(GID)))
}

fn apply(st: &mut HostStat, get: impl Fn(&CStr) -> Option<Vec<u8>>) {
    let Some((mode, uid, gid)) = stored(&get) else { return };
    st.mode = mode;
    st.uid = uid.unwrap_or(st.uid);
    st.gid = gid.unwrap_or(st.gid);
    let is_dev = matches!(mode & g::S_IFMT, g::S_IFCHR | g::S_IFBLK);
    st.rdev = if is_dev { text(&get, RDEV).and_then(|v| parse_rdev(&v)).unwrap_or(0) } else { 0 };
}

/// An octal `st_mode` with its file type (`100644`, `20666`); `None` for
/// anything else, which leaves the host's values in place.
fn parse_mode(s: &str) -> Option<u32> {
    let m = u32::from_str_radix(s.trim(), 8).ok()?;
    let known = [g::S_IFREG, g::S_IFDIR, g::S_IFCHR, g::S_IFBLK, g::S_IFIFO, g::S_IFSOCK];
    (m & !(g::S_IFMT | 0o7777) == 0 && known.contains(&(m & g::S_IFMT))).then_some(m)
}

/// `MAJOR:MINOR` as Linux's `dev_t` (new_encode_dev).
fn parse_rdev(s: &str) -> Option<u64> {
    let (major, minor) = s.trim().split_once(':')?;
    let (major, minor): (u64, u64) = (major.parse().ok()?, minor.parse().ok()?);
    if major > 0xfff || minor > 0xfffff {
        return None;
    }
    Some((minor & 0xff) | (major << 8) | ((minor & !0xff) << 12))
}

/// Where a file's attributes are read and written: by name in a directory,
/// or through an open fd.
#[derive(Clone, Copy)]
pub enum At<'a> {
    Name(HostFd, &'a CStr),
    Fd(HostFd),
}

/// The value of attribute `attr` where `at` names (its values are short:
/// 64 bytes at most), or None if it has none.
fn get_at(at: host::XattrAt<'_>, attr: &CStr) -> Option<Vec<u8>> {
    let mut buf = [0u8; 64];
    let n = host::fs::xattr(at, host::XattrOp::Get(attr, &mut buf)).ok()?;
    Some(buf[..n.min(buf.len())].to_vec())
}

impl<'a> At<'a> {
    fn host(self) -> host::XattrAt<'a> {
        match self {
            At::Name(dir, name) => host::XattrAt::Name(dir, name),
            At::Fd(fd) => host::XattrAt::Fd(fd),
        }
    }

    fn get(self, attr: &CStr) -> Option<Vec<u8>> {
        get_at(self.host(), attr)
    }

    fn set(self, attr: &CStr, value: &str) -> Result<()> {
        host::fs::xattr(self.host(), host::XattrOp::Set(attr, value.as_bytes(), 0))
            .map(drop)
            .map_err(|e| crate::error::Error::with_message(e, "cannot store the file's Linux metadata"))
    }

    fn host_chmod(self, mode: u32) -> Result<()> {
        let r = match self {
            At::Name(dir, name) => host::fs::chmod_at(dir, name, mode),
            At::Fd(fd) => host::fs::fchmod(fd, mode),
        };
        r.map_err(crate::error::Error::new)
    }

    /// The file's metadata (owner, group, full mode), if it carries any.
    fn current(self) -> Option<(u32, u32, u32)> {
        if !enabled() {
            return None;
        }
        let (mode, uid, gid) = stored(&|attr: &CStr| self.get(attr))?;
        Some((uid.unwrap_or(0), gid.unwrap_or(0), mode))
    }

    /// Writes a new mode: the attribute, then the host file's own bits.
    fn store_mode(self, mode: u32) -> Result<()> {
        self.set(MODE, &format!("{mode:o}"))?;
        let dir = mode & g::S_IFMT == g::S_IFDIR;
        let host_bits = (mode & 0o777) | 0o600 | if dir { 0o100 } else { 0 };
        self.host_chmod(host_bits)
    }
}

/// chmod(2) of a file that carries metadata (`None`: it carries none, and
/// the host file is changed as usual), by vfs/perm.rs's rule (the owner or
/// CAP_FOWNER; the set-group-id bit dropped for a caller outside the group).
pub fn chmod(at: At<'_>, mode: u32) -> Option<Result<()>> {
    let (uid, gid, old) = at.current()?;
    let st = HostStat { mode: old, uid, gid, ..Default::default() };
    Some(super::perm::chmod_bits(&crate::task::current().cred(), &st, mode).and_then(|bits| at.store_mode((old & g::S_IFMT) | bits)))
}

/// chown(2) of a file that carries metadata (`None`: it carries none).
/// `u32::MAX` leaves an id as it is; who may is vfs/perm.rs's rule. A
/// non-directory loses its set-user-id bit, and its set-group-id bit when
/// group execute is set.
pub fn chown(at: At<'_>, new_uid: u32, new_gid: u32) -> Option<Result<()>> {
    let (uid, gid, mode) = at.current()?;
    Some(chown_checked(at, (uid, gid, mode), new_uid, new_gid))
}

fn chown_checked(at: At<'_>, (uid, gid, mode): (u32, u32, u32), new_uid: u32, new_gid: u32) -> Result<()> {
    let st = HostStat { mode, uid, gid, ..Default::default() };
    super::perm::may_chown(&crate::task::current().cred(), &st, new_uid, new_gid)?;
    if new_uid != u32::MAX {
        at.set(UID, &new_uid.to_string())?;
    }
    if new_gid != u32::MAX {
        at.set(GID, &new_gid.to_string())?;
    }
    if mode & g::S_IFMT != g::S_IFDIR {
        let mut m = mode & !g::S_ISUID;
        if m & g::S_IXGRP != 0 {
            m &= !g::S_ISGID;
        }
        if m != mode {
            at.store_mode(m)?;
        }
    }
    Ok(())
}

/// Whether files made in directory `dir` get metadata: the root uses it
/// and the directory itself carries it (a host directory mounted into the
/// root with `--mount` does not).
pub fn carried_by(dir: At<'_>) -> bool {
    dir.current().is_some()
}

/// Gives a file the guest just made in `dir` its Linux metadata, when the
/// directory carries some: the caller's fs uid, and its fs gid or the
/// directory's group under a set-group-id directory (which a new
/// directory inherits too), and `mode` with its type.
pub fn created(at: At<'_>, dir: At<'_>, mode: u32) -> Result<()> {
    let Some((_, dir_gid, dir_mode)) = dir.current() else { return Ok(()) };
    let cred = crate::task::current().cred();
    let mut mode = mode;
    let gid = if dir_mode & g::S_ISGID != 0 {
        if mode & g::S_IFMT == g::S_IFDIR {
            mode |= g::S_ISGID;
        }
        dir_gid
    } else {
        cred.fsgid
    };
    // The host file's owner may always read and write it (the import's
    // rule), which writing `user.` attributes needs too.
    let is_dir = mode & g::S_IFMT == g::S_IFDIR;
    at.host_chmod((mode & 0o777) | 0o600 | if is_dir { 0o100 } else { 0 })?;
    at.set(UID, &cred.fsuid.to_string())?;
    at.set(GID, &gid.to_string())?;
    at.set(MODE, &format!("{mode:o}"))
}

/// Stores a device node's number (`MAJOR:MINOR`, from Linux's `dev_t`).
pub fn set_rdev(at: At<'_>, dev: u64) -> Result<()> {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    at.set(RDEV, &format!("{major}:{minor}"))
}

/// The Linux `d_type` of entry `name` of directory `dir`, whose host type
/// is `host_type`: a device node, FIFO or socket stored as a regular file
/// says its own type.
pub fn dirent_type(dir: HostFd, name: &[u8], host_type: u8) -> u8 {
    if host_type != g::DT_REG as u8 || !enabled() {
        return host_type;
    }
    let Ok(name) = std::ffi::CString::new(name) else { return host_type };
    match stored_mode(&|attr: &CStr| get_at(host::XattrAt::Name(dir, &name), attr)).map(|m| m & g::S_IFMT) {
        Some(g::S_IFCHR) => g::DT_CHR as u8,
        Some(g::S_IFBLK) => g::DT_BLK as u8,
        Some(g::S_IFIFO) => g::DT_FIFO as u8,
        Some(g::S_IFSOCK) => g::DT_SOCK as u8,
        _ => host_type,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_replace_the_host_values_and_bad_ones_are_ignored() {
        let mut st = HostStat { mode: g::S_IFREG | 0o644, uid: 1000, gid: 1000, ..Default::default() };
        let attrs = |m: &'static str| {
            move |a: &CStr| -> Option<Vec<u8>> {
                let v = match a.to_bytes() {
                    b"user.mactux.uid" => "0",
                    b"user.mactux.gid" => "5",
                    b"user.mactux.mode" => m,
                    b"user.mactux.rdev" => "136:3",
                    _ => return None,
                };
                Some(v.as_bytes().to_vec())
            }
        };
        apply(&mut st, attrs("20620"));
        assert_eq!((st.mode, st.uid, st.gid, st.rdev), (g::S_IFCHR | 0o620, 0, 5, (136 << 8) | 3));
        let mut reg = HostStat { mode: g::S_IFREG | 0o644, uid: 1000, gid: 1000, ..Default::default() };
        apply(&mut reg, attrs("104755"));
        assert_eq!((reg.mode, reg.uid, reg.rdev), (g::S_IFREG | 0o4755, 0, 0));
        for bad in ["", "999999999", "170644", "xyz", "1000644"] {
            let mut keep = HostStat { mode: g::S_IFREG | 0o644, uid: 1000, ..Default::default() };
            apply(&mut keep, attrs(bad));
            assert_eq!((keep.mode, keep.uid), (g::S_IFREG | 0o644, 1000), "{bad:?}");
        }
        assert_eq!(parse_rdev("1:3"), Some(0x103));
        assert_eq!(parse_rdev("4096:0"), None);
    }

    #[test]
    fn the_host_users_ids_map_to_the_guest_users_and_back() {
        // An ordinary host user (65534:65534) running the guest as root.
        let map = OwnerMap { host: (65534, 65534), guest: (0, 0) };
        let mut own = HostStat { uid: 65534, gid: 65534, ..Default::default() };
        map.to_guest(&mut own);
        assert_eq!((own.uid, own.gid), (0, 0));
        let mut roots = HostStat { uid: 0, gid: 0, ..Default::default() };
        map.to_guest(&mut roots);
        assert_eq!((roots.uid, roots.gid), (0, 0), "another user's file is shown as it is");
        let mut mixed = HostStat { uid: 65534, gid: 100, ..Default::default() };
        map.to_guest(&mut mixed);
        assert_eq!((mixed.uid, mixed.gid), (0, 100), "uid and gid map on their own");
        assert_eq!(map.to_host(0, 0), (65534, 65534));
        assert_eq!(map.to_host(123, u32::MAX), (123, u32::MAX));
        let user = OwnerMap { host: (501, 20), guest: (1000, 1000) };
        assert_eq!(user.to_host(u32::MAX, 1000), (u32::MAX, 20));
    }
}
