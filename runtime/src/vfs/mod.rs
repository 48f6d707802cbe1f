//! The files the guest sees.
//!
//! The guest's `/` is a host directory (the root); `/proc` and `/dev` are
//! served by the runtime itself (`proc.rs`, `dev.rs`) and never reach the
//! host; which serves what is the mount table (`mount.rs`). Every path is
//! resolved here, component by component (`path.rs`), so symlinks resolve
//! inside the root and `..` never leaves it.
//!
//! The walk is race-free on the host: it starts from a directory fd of the
//! root opened once ([`task::Process::root`]), enters each directory with an
//! `openat` that refuses a symlink (`host::fs::open_dir_at`), reads symlinks
//! itself, and hands the caller the last component as a name inside the
//! directory fd it holds ([`HostLoc`]). The host calls on that name never
//! follow a symlink. A guest that swaps a directory for a symlink while
//! another of its calls walks through it gets an error or a file inside its
//! root, never one outside (tests/robust/root_race.c, tests/tests/root.rs).
//!
//! Signal context: called from syscall handlers; may block in host calls.
//! Lock order: see `task/mod.rs`. Resolution takes `fs` (for the cwd) and `fds`
//! (for dirfds) only briefly, never both at once.

pub mod dev;
pub mod fd_table;
pub mod file;
pub mod host_file;
pub mod in_flight;
pub mod lookup;
pub mod meta;
pub mod mount;
pub mod netlink;
pub mod path;
pub mod perm;
pub mod poll;
pub mod proc;
pub mod procnet;
pub mod rtnetlink;
pub mod sockdiag;
pub mod socket;
pub mod synth_file;

use crate::abi::gen as g;
use crate::error::{Error, Result};
use crate::host;
use crate::task::{current, lock};
use crate::{errno, return_errno};
use file::{HostFile, OpenFile, SynthDir, SynthPath, SynthSnapshot};
pub use path::Lookup;
use std::ffi::{CStr, CString};
use std::sync::Arc;

/// What a synthetic path is.
#[derive(Clone, Debug)]
pub enum Synth {
    Dir(Vec<DirEnt>),
    File(Vec<u8>),
    Symlink(Vec<u8>),
    Dev(dev::DevKind),
    /// An absolute *host* path the synthetic tree exposes as is (e.g. /dev/tty).
    HostPath(String),
    /// `/proc/<pid>/fd/N`: a link to an open file. `target` is what readlink
    /// shows (a path, or `pipe:[ino]` and the like); `by_path` says whether
    /// following it may resolve that path (false for a file that no longer
    /// has a name, such as a memfd, which only the open file reaches).
    FdLink { fd: i32, target: Vec<u8>, by_path: bool },
    /// `/proc/<pid>/ns/NAME`: a link to a namespace, which readlink shows
    /// as `NAME:[ino]` and which, followed, is the namespace's nsfs inode.
    NsLink { target: Vec<u8>, ino: u64 },
    /// Another task's `/proc/<pid>/fd/N` naming an object without a path
    /// (a socket, a pipe): readlink shows `target`, a followed stat the
    /// object's mode, device and inode as the task published them.
    NodeLink { target: Vec<u8>, node: mactux_proto::FdNode },
}

#[derive(Clone, Debug)]
pub struct DirEnt {
    /// The name as bytes: Linux names need not be UTF-8.
    pub name: Vec<u8>,
    /// Linux `DT_*`.
    pub d_type: u8,
    pub ino: u64,
}

/// A host directory fd the runtime holds (the root, or one met on a walk);
/// closed when the last reference goes.
#[derive(Debug)]
pub struct DirFd(host::HostFd);

impl DirFd {
    /// Opens a host directory by a path the guest does not control: the
    /// root (`--root`, from the user) or what a synthetic mount hands a walk
    /// to (/dev/shm). Host symlinks in it are followed, the last one too
    /// (macOS's /tmp is a symlink to /private/tmp).
    pub fn open_trusted(host_dir: &std::path::Path) -> std::result::Result<DirFd, crate::abi::Errno> {
        let c = CString::new(host_dir.as_os_str().as_encoded_bytes()).map_err(|_| crate::abi::Errno::EINVAL)?;
        host::fs::open_dir_at(host::fs::CWD, &c).or_else(|e| match e {
            // The last component is a symlink to the directory.
            crate::abi::Errno::ELOOP | crate::abi::Errno::ENOTDIR => {
                let real = std::fs::canonicalize(host_dir).map_err(|_| e)?;
                let c = CString::new(real.as_os_str().as_encoded_bytes()).map_err(|_| e)?;
                host::fs::open_dir_at(host::fs::CWD, &c)
            }
            e => Err(e),
        }).map(DirFd)
    }
}

impl DirFd {
    /// The host path of the directory (a chroot's, handed on across execve).
    pub fn host_path(&self) -> Option<std::path::PathBuf> {
        host::fs::dir_path(self.0)
    }

    /// Opens the directory `name` in `dir` for walking (no symlink).
    pub fn open_at(dir: host::HostFd, name: &CStr) -> std::result::Result<DirFd, crate::abi::Errno> {
        let name = if name.is_empty() { c"." } else { name };
        host::fs::open_dir_at(dir, name).map(DirFd)
    }
}

impl Drop for DirFd {
    fn drop(&mut self) {
        host::fs::close(self.0);
    }
}

/// A host file named race-free: `name` inside a directory fd the runtime
/// holds. Host calls on it must not follow a symlink in `name`.
#[derive(Clone, Debug)]
pub struct HostLoc {
    /// `None`: `name` is a trusted absolute host path (a terminal device the
    /// synthetic /dev exposes), not a guest-controlled one.
    dir: Option<Arc<DirFd>>,
    /// The last component; empty for the directory `dir` itself.
    pub name: CString,
}

impl HostLoc {
    fn trusted(host_path: &str) -> HostLoc {
        HostLoc { dir: None, name: CString::new(host_path).unwrap_or_default() }
    }

    pub fn dir_fd(&self) -> host::HostFd {
        self.dir.as_ref().map_or(host::fs::CWD, |d| d.0)
    }

    /// The directory holding the name; `None` for a trusted host path.
    pub fn parent_fd(&self) -> Option<host::HostFd> {
        self.dir.as_ref().map(|d| d.0)
    }

    /// (directory fd, name) for the host's *at calls.
    pub fn at(&self) -> (host::HostFd, &CStr) {
        (self.dir_fd(), &self.name)
    }
}

/// Where a resolved guest path lives.
#[derive(Clone, Debug)]
pub enum Node {
    Host(HostLoc),
    Synth(Synth),
}

pub struct Resolved {
    pub guest: String,
    pub node: Node,
    pub kind: Lookup,
    /// The host's metadata of the last name (a symlink not followed), as
    /// the walk's lookup of it found it, in this same call: what
    /// `lookup::node_stat` answers without asking the host again.
    pub(crate) host_stat: Option<host::HostStat>,
}

/// Linux device number encoding (`new_encode_dev` in include/linux/kdev_t.h).
pub fn makedev(major: u64, minor: u64) -> u64 {
    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12) | ((major & !0xfff) << 32)
}
pub fn dev_major(dev: u64) -> u64 {
    ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)
}
pub fn dev_minor(dev: u64) -> u64 {
    (dev & 0xff) | ((dev >> 12) & !0xff)
}

/// A stable inode number for a synthetic path.
pub fn synth_ino(path: &str) -> u64 {
    // FNV-1a: stable across runs, unlike the std hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h & 0x7fff_ffff
}

/// The synthetic entry at `guest`, if `guest` lies in a synthetic mount.
/// `with_content` asks for file contents (skipped during path walks).
pub fn synth_entry(guest: &str, with_content: bool) -> Option<Result<Synth>> {
    let m = mount::MOUNTS.mount_of(guest);
    let entry = match m.fs {
        mount::Fs::Proc => proc::entry(&m.rel(guest), with_content),
        mount::Fs::Dev => dev::entry(&m.rel(guest), with_content),
        mount::Fs::Host => return None,
    };
    Some(entry.map(|e| match e {
        // Listings start with `.` and `..`, as on every Linux filesystem.
        Synth::Dir(list) if with_content => {
            let parent = guest.rsplit_once('/').map_or("/", |(p, _)| if p.is_empty() { "/" } else { p });
            let mut all = vec![
                DirEnt { name: b".".to_vec(), d_type: DT_DIR, ino: synth_ino(guest) },
                DirEnt { name: b"..".to_vec(), d_type: DT_DIR, ino: synth_ino(parent) },
            ];
            all.extend(list);
            Synth::Dir(all)
        }
        other => other,
    }))
}

const DT_DIR: u8 = 4;

/// The path of `guest` inside /proc, if it lies there.
fn proc_rel(guest: &str) -> Option<Vec<&str>> {
    let m = mount::MOUNTS.mount_of(guest);
    (m.fs == mount::Fs::Proc).then(|| m.rel(guest))
}

/// Whether the synthetic file at `guest` may be opened for writing (the
/// few /proc files Linux lets a task write, such as a thread's `comm`).
pub fn synth_is_writable(guest: &str) -> bool {
    proc_rel(guest).is_some_and(|rel| proc::is_writable(&rel))
}

/// Writes to the synthetic file at `guest` (one [`synth_is_writable`] allows).
pub fn synth_write(guest: &str, data: &[u8]) -> Result<usize> {
    match proc_rel(guest) {
        Some(rel) if proc::is_writable(&rel) => proc::write(&rel, data),
        _ => Err(crate::errno!(EINVAL, "synthetic file is read-only")),
    }
}

/// Whether `guest` is where a synthetic mount starts: everything at and
/// below it is served by the runtime.
fn is_mount_point(guest: &str) -> bool {
    mount::MOUNTS.is_synthetic_mount_point(guest)
}

/// A directory a walk holds.
#[derive(Clone, Debug)]
pub enum WalkDir {
    Host(Arc<DirFd>),
    /// A directory of a synthetic mount (named by its guest path).
    Synth,
}

/// The guest's tree: host directories under the root fd, and the synthetic
/// mounts (whose entries may hand a walk back to a trusted host directory,
/// as /dev/shm does).
struct GuestTree {
    root: Arc<DirFd>,
    /// Whose search permission the walk checks (vfs/perm.rs).
    cred: std::sync::Arc<crate::task::Cred>,
    /// The last name `lookup` found on the host: its directory, name and
    /// metadata ([`Resolved::host_stat`] when it is the walk's last name).
    looked_up: Option<(Arc<DirFd>, CString, host::HostStat)>,
}

/// How often a walk looks a name up again when it changed type between two
/// host calls (a guest racing its own lookups); after that the walk fails.
const RACE_RETRIES: u32 = 8;

fn cname(name: &[u8]) -> Result<CString> {
    CString::new(name).map_err(|_| errno!(ENOENT, "NUL in a path component"))
}

/// What `name` in the host directory `dir` is, a symlink not followed.
fn host_lookup(dir: host::HostFd, name: &CStr) -> Result<Lookup> {
    host_lookup_stat(dir, name).map(|(kind, _)| kind)
}

/// [`host_lookup`], with the metadata it found (none for a missing name).
fn host_lookup_stat(dir: host::HostFd, name: &CStr) -> Result<(Lookup, Option<host::HostStat>)> {
    for _ in 0..RACE_RETRIES {
        let st = match host::fs::stat_at(dir, name) {
            Ok(st) => st,
            Err(crate::abi::Errno::ENOENT) => return Ok((Lookup::Missing, None)),
            Err(e) => return Err(Error::new(e)),
        };
        let kind = match st.mode & g::S_IFMT {
            g::S_IFDIR => Lookup::Dir,
            g::S_IFLNK => match host::fs::readlink_at(dir, name) {
                Ok(t) => Lookup::Symlink(t),
                // No longer a symlink (EINVAL) or gone: look again.
                Err(crate::abi::Errno::EINVAL | crate::abi::Errno::ENOENT) => continue,
                Err(e) => return Err(Error::new(e)),
            },
            _ => Lookup::File,
        };
        return Ok((kind, Some(st)));
    }
    Err(errno!(ELOOP, "a path component kept changing during lookup"))
}

/// What a synthetic entry is, for a walk; a trusted host directory it hands
/// over is opened (`enter`).
fn synth_lookup(guest: &str, enter: bool) -> Result<std::result::Result<WalkDir, Lookup>> {
    let Some(entry) = synth_entry(guest, false) else { return Ok(Err(Lookup::Missing)) };
    Ok(Err(match entry {
        Ok(Synth::Dir(_)) => return Ok(Ok(WalkDir::Synth)),
        Ok(Synth::Symlink(t)) => Lookup::Symlink(t),
        Ok(Synth::HostPath(p)) => {
            let c = CString::new(p.as_str()).map_err(|_| errno!(ENOENT, "NUL in a host path"))?;
            match host::fs::stat(&c, true) {
                Ok(st) if st.mode & g::S_IFMT == g::S_IFDIR => {
                    if !enter {
                        return Ok(Err(Lookup::Dir));
                    }
                    let dir = DirFd::open_trusted(std::path::Path::new(&p)).map_err(Error::new)?;
                    return Ok(Ok(WalkDir::Host(Arc::new(dir))));
                }
                Ok(_) => Lookup::File,
                Err(crate::abi::Errno::ENOENT) => Lookup::Missing,
                Err(e) => return Err(Error::new(e)),
            }
        }
        Ok(Synth::FdLink { target, by_path: true, .. }) if target.first() == Some(&b'/') => Lookup::Symlink(target),
        Ok(_) => Lookup::File,
        Err(e) if e.errno == crate::abi::Errno::ENOENT => Lookup::Missing,
        Err(e) => return Err(e),
    }))
}

impl path::Tree for GuestTree {
    type Dir = WalkDir;

    fn root(&mut self) -> Result<WalkDir> {
        Ok(WalkDir::Host(self.root.clone()))
    }

    fn may_search(&mut self, dir: &WalkDir) -> Result<()> {
        match dir {
            WalkDir::Host(d) => perm::may_search(&self.cred, d.0),
            // Synthetic directories are searchable by everyone (r-x).
            WalkDir::Synth => Ok(()),
        }
    }

    fn lookup(&mut self, dir: &WalkDir, guest: &str, name: &[u8]) -> Result<Lookup> {
        if mount::host_mount_at(guest).is_some() {
            return Ok(Lookup::Dir);
        }
        match dir {
            WalkDir::Host(d) if !is_mount_point(guest) => {
                let c = cname(name)?;
                let (kind, st) = host_lookup_stat(d.0, &c)?;
                self.looked_up = st.map(|st| (d.clone(), c, st));
                Ok(kind)
            }
            _ => Ok(match synth_lookup(guest, false)? {
                Ok(_) => Lookup::Dir,
                Err(kind) => kind,
            }),
        }
    }

    /// One host call for the whole run when nothing on it is the
    /// runtime's to decide: no mount point (synthetic or `--mount`) on the
    /// way, search permission left to the host (`perm::may_search_all`),
    /// and no symlink (the host refuses those, and the walk name by name
    /// then reads them).
    fn enter_all(&mut self, dir: &WalkDir, base: &str, names: &[&[u8]]) -> Option<WalkDir> {
        let WalkDir::Host(d) = dir else { return None };
        if !perm::may_search_all(&self.cred) {
            return None;
        }
        let base = base.trim_end_matches('/');
        let len: usize = names.iter().map(|n| n.len() + 1).sum();
        let mut here = String::with_capacity(base.len() + len);
        here.push_str(base);
        for n in names {
            here.push('/');
            path::push_bytes(&mut here, n);
            if is_mount_point(&here) || mount::host_mount_at(&here).is_some() {
                return None;
            }
        }
        let rel = CString::new(names.join(&b'/')).ok()?;
        match host::fs::open_dir_beneath(d.0, &rel)? {
            Ok(fd) => Some(WalkDir::Host(Arc::new(DirFd(fd)))),
            Err(_) => None,
        }
    }

    fn enter(&mut self, dir: &WalkDir, guest: &str, name: &[u8]) -> Result<std::result::Result<WalkDir, Lookup>> {
        if let Some(m) = mount::host_mount_at(guest) {
            let d = DirFd::open_trusted(&m.host).map_err(Error::new)?;
            return Ok(Ok(WalkDir::Host(Arc::new(d))));
        }
        let d = match dir {
            WalkDir::Host(d) if !is_mount_point(guest) => d,
            _ => return synth_lookup(guest, true),
        };
        let name = cname(name)?;
        for _ in 0..RACE_RETRIES {
            match host::fs::open_dir_at(d.0, &name) {
                Ok(fd) => return Ok(Ok(WalkDir::Host(Arc::new(DirFd(fd))))),
                // Not a directory (or a symlink, refused): say what it is.
                Err(crate::abi::Errno::ENOTDIR | crate::abi::Errno::ELOOP) => match host_lookup(d.0, &name)? {
                    Lookup::Dir => continue,
                    other => return Ok(Err(other)),
                },
                Err(crate::abi::Errno::ENOENT) => return Ok(Err(Lookup::Missing)),
                Err(e) => return Err(Error::new(e)),
            }
        }
        Err(errno!(ELOOP, "a path component kept changing during lookup"))
    }
}

/// The host directory guest paths start from: the one chroot(2) set, or
/// the process's root.
pub fn current_root() -> Arc<DirFd> {
    let p = current();
    let chrooted = lock(&p.fs).root.clone();
    chrooted.unwrap_or_else(|| p.root.clone())
}

/// The guest directory a `*at` call starts from.
pub fn start_dir(dirfd: i32, path: &[u8]) -> Result<String> {
    if path.first() == Some(&b'/') {
        return Ok("/".into());
    }
    if dirfd == g::AT_FDCWD {
        return Ok(lock(&current().fs).cwd.clone());
    }
    let file = lock(&current().fds).get(dirfd)?;
    if !file.is_dir() {
        return Err(errno!(ENOTDIR, "dirfd is not a directory"));
    }
    Ok(file.guest_path.clone())
}

/// The directories the working directory was walked through (walked once
/// after each chdir, then reused).
fn cwd_dirs(tree: &mut GuestTree) -> Result<path::DirStack<WalkDir>> {
    let cwd = {
        let fs = lock(&current().fs);
        if let Some(d) = &fs.cwd_dirs {
            return Ok(d.clone());
        }
        fs.cwd.clone()
    };
    let dirs = path::walk_dirs(tree, &cwd)?;
    let mut fs = lock(&current().fs);
    if fs.cwd == cwd {
        fs.cwd_dirs = Some(dirs.clone());
    }
    Ok(dirs)
}

/// Whether the working directory has been removed (getcwd's ENOENT).
pub fn cwd_removed() -> bool {
    let mut tree = GuestTree { root: current_root(), cred: current().cred(), looked_up: None };
    match cwd_dirs(&mut tree) {
        Ok(dirs) => match dirs.last() {
            // A removed directory has no links left; the fd still works.
            Some((_, WalkDir::Host(d))) => host::fs::fstat(d.0).is_ok_and(|st| st.nlink == 0),
            _ => false,
        },
        Err(e) => e.errno == crate::abi::Errno::ENOENT,
    }
}

/// Resolves a guest path for a `*at` call.
pub fn resolve_at(dirfd: i32, path: &[u8], follow_last: bool) -> Result<Resolved> {
    resolve_as(dirfd, path, follow_last, current().cred())
}

/// [`resolve_at`], with the search permission of `cred` (access(2) walks
/// with the real ids).
pub fn resolve_as(dirfd: i32, path: &[u8], follow_last: bool, cred: std::sync::Arc<crate::task::Cred>) -> Result<Resolved> {
    let mut tree = GuestTree { root: current_root(), cred, looked_up: None };
    let start = if path.first() == Some(&b'/') {
        Vec::new()
    } else if dirfd == g::AT_FDCWD {
        cwd_dirs(&mut tree)?
    } else {
        path::walk_dirs(&mut tree, &start_dir(dirfd, path)?)?
    };
    let w = path::resolve(&mut tree, start, path, follow_last)?;
    if let Some(m) = mount::host_mount_at(&w.guest) {
        let name = CString::new(m.host.as_os_str().as_encoded_bytes()).map_err(|_| errno!(ENOENT, "NUL in a host mount's path"))?;
        return Ok(Resolved { guest: w.guest, node: Node::Host(HostLoc { dir: None, name }), kind: Lookup::Dir, host_stat: None });
    }
    // The last name's lookup: its metadata and its C name, made once.
    let (host_stat, looked_name) = match (tree.looked_up.take(), &w.parent) {
        (Some((d, name, st)), WalkDir::Host(parent)) if Arc::ptr_eq(&d, parent) && name.as_bytes() == w.name.as_slice() => {
            (Some(st), Some(name))
        }
        _ => (None, None),
    };
    let node = match w.parent {
        WalkDir::Host(dir) if !is_mount_point(&w.guest) => {
            let name = match looked_name {
                Some(n) => n,
                None => cname(&w.name)?,
            };
            Node::Host(HostLoc { dir: Some(dir), name })
        }
        _ => match synth_entry(&w.guest, true) {
            Some(Ok(Synth::HostPath(p))) => Node::Host(HostLoc::trusted(&p)),
            Some(Ok(s)) => Node::Synth(s),
            Some(Err(e)) => return Err(e),
            None => return_errno!(ENOENT),
        },
    };
    let host_stat = if matches!(node, Node::Host(_)) { host_stat } else { None };
    Ok(Resolved { guest: w.guest, node, kind: w.kind, host_stat })
}

/// Resolves a path that must exist.
pub fn resolve_existing(dirfd: i32, path: &[u8], follow_last: bool) -> Result<Resolved> {
    let r = resolve_at(dirfd, path, follow_last)?;
    if r.kind == Lookup::Missing {
        return_errno!(ENOENT);
    }
    Ok(r)
}

/// The host location of a resolved node, or a refusal for synthetic ones.
pub fn host_only<'a>(r: &'a Resolved, what: &'static str) -> Result<&'a HostLoc> {
    match &r.node {
        Node::Host(p) => Ok(p),
        Node::Synth(_) => Err(errno!(EACCES, what)),
    }
}

/// Opens a synthetic or host file again by its guest path, with the status
/// flags it had (after execve, for fds that had no host fd to inherit).
pub fn reopen(guest_path: &str, status: u32) -> Result<OpenFile> {
    let r = lookup::resolve_at(g::AT_FDCWD, &path::to_bytes(guest_path), true)?;
    Ok(match r.node {
        Node::Host(ref hp) => {
            let fd = host::fs::open_at(hp.dir_fd(), &hp.name, status & !(g::O_CREAT | g::O_TRUNC | g::O_EXCL), 0)
                .map_err(Error::new)?;
            let is_dir = host::fs::fstat(fd).is_ok_and(|st| st.mode & g::S_IFMT == g::S_IFDIR);
            OpenFile::new(r.guest, HostFile::new(fd, is_dir), status)
        }
        Node::Synth(Synth::File(data)) => OpenFile::new(r.guest, SynthSnapshot::new(data), status),
        Node::Synth(Synth::Dir(entries)) => OpenFile::new(r.guest, SynthDir::new(entries), status),
        Node::Synth(Synth::Dev(d)) => OpenFile::new(r.guest, d, status),
        Node::Synth(other) => OpenFile::new(r.guest, SynthPath(other), status),
    })
}
