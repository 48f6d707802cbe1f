//! Extracting one tar stream into a directory that becomes (part of) a guest
//! root, as an ordinary user, without ever writing outside that directory.
//!
//! Names follow GNU tar: a leading `/` is stripped (with one warning), a
//! `..` component is refused. Parent directories are resolved inside the
//! new root: a symlink met on the way is followed as the guest will see it
//! (an absolute target starts again at the new root) and refused if it would
//! climb above the root, so nothing is written through a symlink that points
//! out. The last component is never followed: an existing symlink there is
//! replaced, as tar replaces it.
//!
//! What an ordinary user cannot create is kept as metadata (see
//! docs/rootfs.md): owner, group and the full Linux mode (type, set-id and
//! sticky bits) in `user.mactux.uid`, `user.mactux.gid`, `user.mactux.mode`;
//! device numbers in `user.mactux.rdev`; the archive's own extended
//! attributes under `user.mactux.xattr.`. Device nodes, FIFOs and sockets
//! become empty regular files carrying that metadata. The host mode keeps
//! the owner's read and write bits (and search on directories) so the
//! runtime, running as the host user, can always read the tree.
//!
//! In layer mode (image layers) `.wh.NAME` deletes NAME from the layers
//! below and `.wh..wh..opq` empties its directory of what the layers below
//! put there (the OCI image spec, "Whiteouts").

use super::metadata;
use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Linux's limit on symlinks followed in one lookup (MAXSYMLINKS, 40).
const MAX_SYMLINK_HOPS: u32 = 40;

/// The OCI image spec's whiteout prefix and opaque marker.
const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";

/// Linux file type bits (include/uapi/linux/stat.h).
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;

/// Totals of one extraction.
#[derive(Default, Clone, Copy)]
pub struct Totals {
    pub entries: u64,
    pub bytes: u64,
}

pub struct Extractor<'a> {
    root: PathBuf,
    /// The archive as the user named it, for messages.
    archive: String,
    keep_metadata: bool,
    layer_mode: bool,
    warned_absolute: bool,
    /// Layer mode: the paths this layer wrote and every directory above
    /// them, which its own opaque markers and whiteouts must not delete.
    written: HashSet<Vec<OsString>>,
    opaque_dirs: Vec<Vec<OsString>>,
    pub totals: Totals,
    on_entry: &'a mut dyn FnMut(&Totals),
}

/// Why an extraction stopped: the message names the archive and the entry.
pub type Error = String;

impl<'a> Extractor<'a> {
    pub fn new(root: &Path, archive: &str, keep_metadata: bool, layer_mode: bool, on_entry: &'a mut dyn FnMut(&Totals)) -> Self {
        Extractor {
            root: root.to_owned(),
            archive: archive.to_owned(),
            keep_metadata,
            layer_mode,
            warned_absolute: false,
            written: HashSet::new(),
            opaque_dirs: Vec::new(),
            totals: Totals::default(),
            on_entry,
        }
    }

    /// Extracts every entry of `stream`; stops at the first error.
    pub fn extract(&mut self, stream: impl Read) -> Result<(), Error> {
        let mut archive = tar::Archive::new(stream);
        let entries = archive.entries().map_err(|e| format!("{}: cannot read the archive: {e}", self.archive))?;
        let mut last = String::from("at its start");
        for entry in entries {
            let mut entry = entry.map_err(|e| format!("{}: corrupt or truncated archive {last}: {e}", self.archive))?;
            let shown = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            self.entry(&mut entry, &shown)?;
            last = format!("after entry '{shown}'");
            self.totals.entries += 1;
            (self.on_entry)(&self.totals);
        }
        self.finish_layer().map_err(|e| format!("{}: {e}", self.archive))
    }

    /// Splits an entry name into components: strips a leading `/` and `./`
    /// as GNU tar does, refuses `..`.
    fn components(&mut self, raw: &[u8], shown: &str) -> Result<Vec<OsString>, Error> {
        if raw.first() == Some(&b'/') && !self.warned_absolute {
            self.warned_absolute = true;
            eprintln!("mactux: {}: removing leading '/' from member names", self.archive);
        }
        let mut out = Vec::new();
        for c in raw.split(|&b| b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => return Err(format!("{}: entry '{shown}' has a '..' component; refused (it could write outside the new root)", self.archive)),
                c => out.push(OsStr::from_bytes(c).to_owned()),
            }
        }
        Ok(out)
    }

    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<R>, shown: &str) -> Result<(), Error> {
        let raw = entry.path_bytes().into_owned();
        let comps = self.components(&raw, shown)?;
        let header = entry.header();
        let kind = header.entry_type();
        let mode = header.mode().unwrap_or(0o644) & 0o7777;
        let uid = header.uid().unwrap_or(0);
        let gid = header.gid().unwrap_or(0);
        let mtime = header.mtime().ok();
        let rdev = (header.device_major().ok().flatten().unwrap_or(0), header.device_minor().ok().flatten().unwrap_or(0));
        let xattrs = archive_xattrs(entry);
        let archive_name = self.archive.clone();
        let ctx = |e: io::Error, what: &str, p: &Path| format!("{archive_name}: entry '{shown}': {what} {}: {}", p.display(), describe(&e));

        if self.layer_mode {
            if let Some(name) = comps.last() {
                let name = name.as_bytes();
                if name == OPAQUE_MARKER {
                    self.opaque_dirs.push(comps[..comps.len() - 1].to_vec());
                    return Ok(());
                }
                if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX) {
                    let mut target = comps[..comps.len() - 1].to_vec();
                    target.push(OsStr::from_bytes(hidden).to_owned());
                    return self.whiteout(&target, shown);
                }
            }
        }

        let Some((name, parent_comps)) = comps.split_last() else {
            // `./`: the root directory itself; only its metadata.
            if kind.is_dir() {
                let root = self.root.clone();
                self.store_metadata(&root, S_IFDIR | mode, uid, gid, None, &xattrs).map_err(|e| ctx(e, "setting attributes of", &root))?;
            }
            return Ok(());
        };
        let parent = self.resolve_dir(parent_comps, shown)?;
        let path = parent.join(name);
        if self.layer_mode {
            for end in 1..=comps.len() {
                self.written.insert(comps[..end].to_vec());
            }
        }

        let linux_mode;
        let mut rdev_kept = None;
        match kind {
            tar::EntryType::Directory => {
                match fs::symlink_metadata(&path) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        fs::remove_file(&path).map_err(|e| ctx(e, "replacing", &path))?;
                        fs::create_dir(&path).map_err(|e| ctx(e, "creating directory", &path))?;
                    }
                    Err(_) => fs::create_dir(&path).map_err(|e| ctx(e, "creating directory", &path))?,
                }
                // Search and write for the host user: the rest of the
                // archive goes in, and the runtime must walk it.
                fs::set_permissions(&path, fs::Permissions::from_mode((mode & 0o777) | 0o700)).map_err(|e| ctx(e, "setting the mode of", &path))?;
                linux_mode = S_IFDIR | mode;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                self.clear(&path).map_err(|e| ctx(e, "replacing", &path))?;
                let mut f = fs::OpenOptions::new().write(true).create_new(true).mode_bits(0o600).open(&path).map_err(|e| ctx(e, "creating", &path))?;
                let size = entry.size();
                let copied = io::copy(entry, &mut f).map_err(|e| {
                    if e.kind() == io::ErrorKind::UnexpectedEof || e.kind() == io::ErrorKind::InvalidData || e.raw_os_error().is_none() {
                        format!("{}: entry '{shown}': corrupt or truncated archive: {e}", self.archive)
                    } else {
                        ctx(e, "writing", &path)
                    }
                })?;
                if copied != size {
                    return Err(format!("{}: entry '{shown}': truncated archive ({copied} of {size} bytes)", self.archive));
                }
                self.totals.bytes += copied;
                if let Some(t) = mtime {
                    let _ = f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t));
                }
                drop(f);
                fs::set_permissions(&path, fs::Permissions::from_mode((mode & 0o777) | 0o600)).map_err(|e| ctx(e, "setting the mode of", &path))?;
                linux_mode = S_IFREG | mode;
            }
            tar::EntryType::Symlink => {
                let target = entry.link_name_bytes().ok_or_else(|| format!("{}: entry '{shown}': symlink without a target", self.archive))?;
                self.clear(&path).map_err(|e| ctx(e, "replacing", &path))?;
                // Verbatim: the guest resolves it inside its root.
                std::os::unix::fs::symlink(OsStr::from_bytes(&target), &path).map_err(|e| ctx(e, "creating symlink", &path))?;
                // Linux refuses user.* attributes on symlinks, and a
                // symlink's owner and mode hardly matter: none kept.
                return Ok(());
            }
            tar::EntryType::Link => {
                let target_raw = entry.link_name_bytes().ok_or_else(|| format!("{}: entry '{shown}': hard link without a target", self.archive))?.into_owned();
                let shown_target = String::from_utf8_lossy(&target_raw).into_owned();
                let tcomps = self.components(&target_raw, &shown_target)?;
                let Some((tname, tparent)) = tcomps.split_last() else {
                    return Err(format!("{}: entry '{shown}': hard link to the root directory", self.archive));
                };
                let tpath = self.resolve_existing_dir(tparent, shown)?.join(tname);
                if fs::symlink_metadata(&tpath).is_err() {
                    return Err(format!("{}: entry '{shown}': hard link to '{shown_target}', which the archive has not created", self.archive));
                }
                if tpath == path {
                    return Ok(());
                }
                self.clear(&path).map_err(|e| ctx(e, "replacing", &path))?;
                // linkat(2) without AT_SYMLINK_FOLLOW: a symlink target is
                // linked itself, never followed out of the root.
                fs::hard_link(&tpath, &path).map_err(|e| ctx(e, "creating hard link", &path))?;
                // The inode's metadata came with its first name.
                return Ok(());
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                self.clear(&path).map_err(|e| ctx(e, "replacing", &path))?;
                fs::OpenOptions::new().write(true).create_new(true).mode_bits(0o600).open(&path).map_err(|e| ctx(e, "creating", &path))?;
                fs::set_permissions(&path, fs::Permissions::from_mode((mode & 0o777) | 0o600)).map_err(|e| ctx(e, "setting the mode of", &path))?;
                linux_mode = match kind {
                    tar::EntryType::Char => S_IFCHR,
                    tar::EntryType::Block => S_IFBLK,
                    _ => S_IFIFO,
                } | mode;
                if kind != tar::EntryType::Fifo {
                    rdev_kept = Some(rdev);
                }
            }
            // pax headers and GNU long names are folded into their entry
            // by the tar crate; anything else is reported and skipped.
            tar::EntryType::XGlobalHeader => return Ok(()),
            other => {
                eprintln!("mactux: {}: entry '{shown}': skipping an entry of type {other:?}", self.archive);
                return Ok(());
            }
        }
        self.store_metadata(&path, linux_mode, uid, gid, rdev_kept, &xattrs).map_err(|e| ctx(e, "setting attributes of", &path))
    }

    fn store_metadata(&self, path: &Path, mode: u32, uid: u64, gid: u64, rdev: Option<(u32, u32)>, xattrs: &[(Vec<u8>, Vec<u8>)]) -> io::Result<()> {
        if !self.keep_metadata {
            return Ok(());
        }
        metadata::store(path, &metadata::Linux { uid, gid, mode, rdev })?;
        for (name, value) in xattrs {
            metadata::store_archive_xattr(path, name, value)?;
        }
        Ok(())
    }

    /// Removes whatever is at `path` (never following it) so a new entry
    /// can take its place, as tar does; a directory goes only in layer mode
    /// or when empty.
    fn clear(&self, path: &Path) -> io::Result<()> {
        match fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => {
                if self.layer_mode {
                    remove_tree(path)
                } else {
                    fs::remove_dir(path)
                }
            }
            Ok(_) => fs::remove_file(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn whiteout(&mut self, target: &[OsString], shown: &str) -> Result<(), Error> {
        if self.written.contains(target) {
            return Ok(());
        }
        let Some((name, parent)) = target.split_last() else { return Ok(()) };
        let Ok(dir) = self.resolve_existing_dir(parent, shown) else { return Ok(()) };
        let path = dir.join(name);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => remove_tree(&path),
            Ok(_) => fs::remove_file(&path),
            Err(_) => Ok(()),
        }
        .map_err(|e| format!("{}: whiteout '{shown}': removing {}: {}", self.archive, path.display(), describe(&e)))
    }

    /// Applies this layer's opaque markers: the marked directories keep only
    /// what this layer itself put in them.
    fn finish_layer(&mut self) -> io::Result<()> {
        let opaque = std::mem::take(&mut self.opaque_dirs);
        for dir in opaque {
            let Ok(host_dir) = self.resolve_existing_dir(&dir, "") else { continue };
            for child in fs::read_dir(&host_dir)? {
                let child = child?;
                let mut comps = dir.clone();
                comps.push(child.file_name());
                if !self.written.contains(&comps) {
                    let p = child.path();
                    if fs::symlink_metadata(&p)?.is_dir() {
                        remove_tree(&p)?;
                    } else {
                        fs::remove_file(&p)?;
                    }
                }
            }
        }
        self.written.clear();
        Ok(())
    }

    fn resolve_dir(&self, comps: &[OsString], shown: &str) -> Result<PathBuf, Error> {
        resolve(&self.root, comps, true, self.layer_mode).map_err(|e| self.resolve_error(e, shown))
    }

    fn resolve_existing_dir(&self, comps: &[OsString], shown: &str) -> Result<PathBuf, Error> {
        resolve(&self.root, comps, false, false).map_err(|e| self.resolve_error(e, shown))
    }

    fn resolve_error(&self, e: ResolveError, shown: &str) -> Error {
        match e {
            ResolveError::Escapes { link, target } => format!(
                "{}: entry '{shown}' would be written through the symlink '{link}' (-> {target}), which points outside the new root; refused",
                self.archive
            ),
            ResolveError::Loop { link } => format!("{}: entry '{shown}': too many levels of symlinks at '{link}'", self.archive),
            ResolveError::NotDir { at } => format!("{}: entry '{shown}': '{at}' is not a directory", self.archive),
            ResolveError::Missing { at } => format!("{}: entry '{shown}': '{at}' does not exist", self.archive),
            ResolveError::Io { at, err } => format!("{}: entry '{shown}': {}: {}", self.archive, at.display(), describe(&err)),
        }
    }
}

pub enum ResolveError {
    Escapes { link: String, target: String },
    Loop { link: String },
    NotDir { at: String },
    Missing { at: String },
    Io { at: PathBuf, err: io::Error },
}

/// Resolves the directory `comps` names inside `root`, as the guest will
/// see it: symlinks are followed with `root` as `/`, and one that would
/// climb above `root` is an error. Every component of the result is a real
/// directory (no symlink left), so writing below it stays inside `root`.
/// `create` makes missing directories (tar does); `replace` lets a non-
/// directory in the way be replaced by one (a later layer may do that).
pub fn resolve(root: &Path, comps: &[OsString], create: bool, replace: bool) -> Result<PathBuf, ResolveError> {
    let mut done: Vec<OsString> = Vec::new();
    let mut todo: std::collections::VecDeque<OsString> = comps.iter().cloned().collect();
    let mut hops = 0;
    let shown = |done: &[OsString], c: &OsStr| {
        let mut p = PathBuf::from("/");
        p.extend(done);
        p.push(c);
        p.display().to_string()
    };
    while let Some(c) = todo.pop_front() {
        match c.as_bytes() {
            b"" | b"." => continue,
            b".." => {
                // Only a symlink's target gets here (entry names with `..`
                // were refused); popping past the root is the escape.
                if done.pop().is_none() {
                    return Err(ResolveError::Escapes { link: shown(&done, &c), target: String::from("..") });
                }
                continue;
            }
            _ => {}
        }
        let mut host = root.to_path_buf();
        host.extend(&done);
        host.push(&c);
        match fs::symlink_metadata(&host) {
            Ok(m) if m.is_dir() => done.push(c),
            Ok(m) if m.file_type().is_symlink() => {
                hops += 1;
                let link = shown(&done, &c);
                if hops > MAX_SYMLINK_HOPS {
                    return Err(ResolveError::Loop { link });
                }
                let target = fs::read_link(&host).map_err(|err| ResolveError::Io { at: host.clone(), err })?;
                let bytes = target.as_os_str().as_bytes();
                let mut next: Vec<OsString> = bytes.split(|&b| b == b'/').map(|s| OsStr::from_bytes(s).to_owned()).collect();
                let mut base = if bytes.first() == Some(&b'/') { Vec::new() } else { done.clone() };
                // Check the escape now, naming this link, not later.
                for t in &next {
                    match t.as_bytes() {
                        b"" | b"." => {}
                        b".." => {
                            if base.pop().is_none() {
                                return Err(ResolveError::Escapes { link, target: target.display().to_string() });
                            }
                        }
                        _ => base.push(t.clone()),
                    }
                }
                if bytes.first() == Some(&b'/') {
                    done.clear();
                }
                next.extend(todo.drain(..));
                todo = next.into();
            }
            Ok(_) if replace => {
                fs::remove_file(&host).map_err(|err| ResolveError::Io { at: host.clone(), err })?;
                fs::create_dir(&host).map_err(|err| ResolveError::Io { at: host.clone(), err })?;
                done.push(c);
            }
            Ok(_) => return Err(ResolveError::NotDir { at: shown(&done, &c) }),
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                fs::create_dir(&host).map_err(|err| ResolveError::Io { at: host.clone(), err })?;
                done.push(c);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ResolveError::Missing { at: shown(&done, &c) }),
            Err(err) => return Err(ResolveError::Io { at: host, err }),
        }
    }
    let mut host = root.to_path_buf();
    host.extend(&done);
    Ok(host)
}

/// Removes a tree the host user owns even where the archive made a
/// directory read-only (a guest may chmod 0555 later too).
pub fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            make_writable(path)?;
            fs::remove_dir_all(path)
        }
        Err(e) => Err(e),
    }
}

fn make_writable(path: &Path) -> io::Result<()> {
    let m = fs::symlink_metadata(path)?;
    if m.is_dir() {
        fs::set_permissions(path, fs::Permissions::from_mode((m.permissions().mode() & 0o7777) | 0o700))?;
        for child in fs::read_dir(path)? {
            make_writable(&child?.path())?;
        }
    }
    Ok(())
}

/// The archive's extended attributes, from pax `SCHILY.xattr.NAME` records
/// (what GNU tar --xattrs and docker write).
fn archive_xattrs<R: Read>(entry: &mut tar::Entry<R>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let Ok(Some(exts)) = entry.pax_extensions() else { return Vec::new() };
    exts.filter_map(Result::ok)
        .filter_map(|e| e.key_bytes().strip_prefix(b"SCHILY.xattr.").map(|k| (k.to_vec(), e.value_bytes().to_vec())))
        .collect()
}

/// An io error for a person: ENOSPC and EDQUOT say the disk is full.
pub fn describe(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ENOSPC) => String::from("no space left on device (the disk is full)"),
        Some(libc::EDQUOT) => String::from("disk quota exceeded"),
        _ => e.to_string(),
    }
}

/// `OpenOptions::mode` under a name that says it sets permission bits.
trait ModeBits {
    fn mode_bits(&mut self, mode: u32) -> &mut Self;
}

impl ModeBits for fs::OpenOptions {
    fn mode_bits(&mut self, mode: u32) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::mode(self, mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("mactux-extract-{tag}-{}", std::process::id()));
        let _ = remove_tree(&p);
        fs::create_dir_all(&p).unwrap();
        p
    }

    fn comps(s: &str) -> Vec<OsString> {
        s.split('/').filter(|c| !c.is_empty()).map(OsString::from).collect()
    }

    #[test]
    fn parents_resolve_inside_the_root() {
        let root = scratch("resolve");
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        std::os::unix::fs::symlink("usr/lib", root.join("lib")).unwrap();
        std::os::unix::fs::symlink("/usr", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../..", root.join("usr/out")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        assert_eq!(resolve(&root, &comps("lib/x"), true, false).ok(), Some(root.join("usr/lib/x")));
        assert_eq!(resolve(&root, &comps("abs/lib"), false, false).ok(), Some(root.join("usr/lib")));
        assert!(matches!(resolve(&root, &comps("usr/out/etc"), true, false), Err(ResolveError::Escapes { .. })));
        assert!(matches!(resolve(&root, &comps("loop/x"), true, false), Err(ResolveError::Loop { .. })));
        assert!(matches!(resolve(&root, &comps("nothere/x"), false, false), Err(ResolveError::Missing { .. })));
        remove_tree(&root).unwrap();
    }

    fn layer(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn whiteouts_delete_and_opaque_markers_empty_lower_layers_only() {
        let root = scratch("layers");
        let mut tick = |_: &Totals| {};
        let lower = layer(&[("a/x", b"1"), ("a/y", b"2"), ("b/z", b"3"), ("keep", b"4")]);
        // The marker comes after this layer's own file: it still stays.
        let upper = layer(&[("a/new", b"5"), ("a/.wh..wh..opq", b""), ("b/.wh.z", b""), ("c/.wh.absent", b"")]);
        for (data, is_layer) in [(lower, true), (upper, true)] {
            Extractor::new(&root, "t", false, is_layer, &mut tick).extract(&data[..]).unwrap();
        }
        let names = |d: &str| {
            let mut v: Vec<String> = fs::read_dir(root.join(d)).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
            v.sort();
            v
        };
        assert_eq!(names("a"), ["new"]);
        assert!(names("b").is_empty());
        // A whiteout of a name no layer made changes nothing.
        assert_eq!(names(""), ["a", "b", "keep"]);
        remove_tree(&root).unwrap();
    }

    #[test]
    fn device_nodes_become_files_with_their_metadata() {
        let root = scratch("dev");
        if super::metadata::probe(&root).is_err() {
            eprintln!("skipped: {} takes no user xattrs", root.display());
            return;
        }
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Char);
        h.set_mode(0o4666);
        h.set_uid(0);
        h.set_gid(5);
        h.set_device_major(4).unwrap();
        h.set_device_minor(64).unwrap();
        h.set_size(0);
        b.append_data(&mut h, "dev/ttyS0", &[][..]).unwrap();
        let data = b.into_inner().unwrap();
        let mut tick = |_: &Totals| {};
        Extractor::new(&root, "t", true, false, &mut tick).extract(&data[..]).unwrap();
        let m = super::metadata::load(&root.join("dev/ttyS0")).expect("metadata stored");
        assert_eq!((m.uid, m.gid, m.mode, m.rdev), (0, 5, S_IFCHR | 0o4666, Some((4, 64))));
        assert!(fs::symlink_metadata(root.join("dev/ttyS0")).unwrap().is_file());
        remove_tree(&root).unwrap();
    }

    #[test]
    fn truncated_member_data_is_an_error_naming_the_entry() {
        let root = scratch("trunc");
        let mut tick = |_: &Totals| {};
        let data = layer(&[("big", &[7u8; 5000])]);
        let err = Extractor::new(&root, "arch.tar", false, false, &mut tick).extract(&data[..1500]).err().unwrap();
        assert!(err.contains("arch.tar") && err.contains("'big'"), "{err}");
        remove_tree(&root).unwrap();
    }
}
