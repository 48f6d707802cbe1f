//! Linux metadata kept beside host files in extended attributes, for what
//! an ordinary host user cannot give a file: a Linux owner and group, mode
//! bits (set-id, sticky, the file type of device nodes, FIFOs and sockets)
//! and device numbers. The format is documented in docs/rootfs.md; values
//! are ASCII so `getfattr -d` shows them:
//!
//! - `user.mactux.uid`, `user.mactux.gid`: decimal.
//! - `user.mactux.mode`: octal `st_mode`, file type bits included (`100644`,
//!   `20666` for a character device, `104755` for a set-user-id program).
//! - `user.mactux.rdev`: `MAJOR:MINOR`, decimal, on device nodes only.
//! - `user.mactux.xattr.NAME`: the archive's attribute NAME (for example
//!   `security.capability`), its value as the archive held it.

use std::io;
use std::path::Path;

pub const UID: &str = "user.mactux.uid";
pub const GID: &str = "user.mactux.gid";
pub const MODE: &str = "user.mactux.mode";
pub const RDEV: &str = "user.mactux.rdev";
pub const XATTR_PREFIX: &str = "user.mactux.xattr.";
/// Written once on the new root's directory before an import starts, to
/// learn whether the volume takes extended attributes at all.
const PROBE: &str = "user.mactux.probe";

/// The Linux view of one file.
pub struct Linux {
    pub uid: u64,
    pub gid: u64,
    pub mode: u32,
    pub rdev: Option<(u32, u32)>,
}

/// Stores `meta` on `path` (never following a symlink).
pub fn store(path: &Path, meta: &Linux) -> io::Result<()> {
    xattr::set(path, UID, meta.uid.to_string().as_bytes())?;
    xattr::set(path, GID, meta.gid.to_string().as_bytes())?;
    xattr::set(path, MODE, format!("{:o}", meta.mode).as_bytes())?;
    if let Some((major, minor)) = meta.rdev {
        xattr::set(path, RDEV, format!("{major}:{minor}").as_bytes())?;
    }
    Ok(())
}

/// Stores one of the archive's own attributes under our prefix.
pub fn store_archive_xattr(path: &Path, name: &[u8], value: &[u8]) -> io::Result<()> {
    let mut full = XATTR_PREFIX.as_bytes().to_vec();
    full.extend_from_slice(name);
    xattr::set(path, <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&full), value)
}

/// Whether the volume holding `dir` takes `user.` attributes: sets and
/// removes one on `dir`.
pub fn probe(dir: &Path) -> io::Result<()> {
    xattr::set(dir, PROBE, b"1")?;
    xattr::remove(dir, PROBE)
}

/// Reads back what [`store`] wrote (tests and `rootfs list` use it).
#[cfg(test)]
pub fn load(path: &Path) -> Option<Linux> {
    let get = |n: &str| xattr::get(path, n).ok().flatten().and_then(|v| String::from_utf8(v).ok());
    let uid = get(UID)?.parse().ok()?;
    let gid = get(GID)?.parse().ok()?;
    let mode = u32::from_str_radix(&get(MODE)?, 8).ok()?;
    let rdev = get(RDEV).and_then(|r| {
        let (a, b) = r.split_once(':')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    });
    Some(Linux { uid, gid, mode, rdev })
}
