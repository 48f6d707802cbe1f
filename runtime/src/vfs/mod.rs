//! The files the guest sees.
//!
//! The guest's `/` is a host directory (the root); `/proc` and `/dev` are
//! served by the runtime itself (`proc.rs`, `dev.rs`) and never reach the
//! host. Every path is resolved here, component by component (`path.rs`), so
//! symlinks resolve inside the root and `..` never leaves it.
//!
//! Signal context: called from syscall handlers; may block in host calls.
//! Lock order: see `task.rs`. Resolution takes `fs` (for the cwd) and `fds`
//! (for dirfds) only briefly, never both at once.

pub mod dev;
pub mod fd_table;
pub mod file;
pub mod path;
pub mod proc;

use crate::abi::gen as g;
use crate::error::Result;
use crate::host;
use crate::task::{current, lock};
use crate::{errno, return_errno};
pub use path::Lookup;
use std::ffi::CString;

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
    /// shows (a path, or `pipe:[ino]` and the like).
    FdLink { fd: i32, target: Vec<u8> },
}

#[derive(Clone, Debug)]
pub struct DirEnt {
    /// The name as bytes: Linux names need not be UTF-8.
    pub name: Vec<u8>,
    /// Linux `DT_*`.
    pub d_type: u8,
    pub ino: u64,
}

/// Where a resolved guest path lives.
#[derive(Clone, Debug)]
pub enum Node {
    Host(CString),
    Synth(Synth),
}

pub struct Resolved {
    pub guest: String,
    pub node: Node,
    pub kind: Lookup,
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
    let mount = |m: &str| guest == m || guest.strip_prefix(m).is_some_and(|r| r.starts_with('/'));
    let entry = if mount("/proc") {
        let rel: Vec<&str> = guest["/proc".len()..].split('/').filter(|c| !c.is_empty()).collect();
        proc::entry(&rel, with_content)
    } else if mount("/dev") {
        let rel: Vec<&str> = guest["/dev".len()..].split('/').filter(|c| !c.is_empty()).collect();
        dev::entry(&rel, with_content)
    } else {
        return None;
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

/// The host path of a guest path under the root.
pub fn host_path(guest: &str) -> CString {
    let root = &current().config.root;
    let mut s = root.as_os_str().as_encoded_bytes().to_vec();
    if s.ends_with(b"/") {
        s.pop();
    }
    s.extend_from_slice(&path::to_bytes(guest));
    if s.is_empty() {
        s.push(b'/');
    }
    // Guest path components never contain NUL (they come from C strings).
    CString::new(s).unwrap_or_default()
}

fn lookup_one(guest: &str) -> Result<Lookup> {
    if let Some(entry) = synth_entry(guest, false) {
        return Ok(match entry {
            Ok(Synth::Dir(_)) => Lookup::Dir,
            Ok(Synth::Symlink(t)) => Lookup::Symlink(t),
            Ok(Synth::HostPath(p)) => return lookup_host(&CString::new(p).unwrap_or_default()),
            Ok(Synth::FdLink { target, .. }) if target.first() == Some(&b'/') => Lookup::Symlink(target),
            Ok(_) => Lookup::File,
            Err(e) if e.errno == crate::abi::Errno::ENOENT => Lookup::Missing,
            Err(e) => return Err(e),
        });
    }
    lookup_host(&host_path(guest))
}

fn lookup_host(host: &CString) -> Result<Lookup> {
    match host::fs::stat(host, false) {
        Ok(st) => Ok(match st.mode & g::S_IFMT {
            g::S_IFDIR => Lookup::Dir,
            g::S_IFLNK => Lookup::Symlink(host::fs::readlink(host).map_err(crate::error::Error::new)?),
            _ => Lookup::File,
        }),
        Err(crate::abi::Errno::ENOENT) => Ok(Lookup::Missing),
        Err(e) => Err(crate::error::Error::new(e)),
    }
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

/// Resolves a guest path for a `*at` call.
pub fn resolve_at(dirfd: i32, path: &[u8], follow_last: bool) -> Result<Resolved> {
    let start = start_dir(dirfd, path)?;
    let (guest, kind) = path::resolve(&start, path, follow_last, &mut lookup_one)?;
    let node = match synth_entry(&guest, true) {
        Some(Ok(Synth::HostPath(p))) => Node::Host(CString::new(p).unwrap_or_default()),
        Some(Ok(s)) => Node::Synth(s),
        Some(Err(e)) if e.errno == crate::abi::Errno::ENOENT => return Err(e),
        Some(Err(e)) => return Err(e),
        None => Node::Host(host_path(&guest)),
    };
    Ok(Resolved { guest, node, kind })
}

/// Resolves a path that must exist.
pub fn resolve_existing(dirfd: i32, path: &[u8], follow_last: bool) -> Result<Resolved> {
    let r = resolve_at(dirfd, path, follow_last)?;
    if r.kind == Lookup::Missing {
        return_errno!(ENOENT);
    }
    Ok(r)
}

/// The host path of a resolved node, or EROFS-style refusal for synthetic ones.
pub fn host_only(r: &Resolved, what: &'static str) -> Result<CString> {
    match &r.node {
        Node::Host(p) => Ok(p.clone()),
        Node::Synth(_) => Err(errno!(EACCES, what)),
    }
}
