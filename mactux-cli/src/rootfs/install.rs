//! The import: an archive into `roots/.NAME.importing-PID` beside the
//! target, renamed to `roots/NAME` only once complete, so a failed or
//! interrupted import never leaves a root that looks complete. The scratch
//! directories start with a dot, which `rootfs list` and `--root NAME` skip;
//! the next import of the same name removes those of a process that died.

use super::archive;
use super::extract::{self, describe, remove_tree, Extractor, Totals};
use super::image::{self, Layout};
use super::{check_name, metadata, roots_dir};
use indicatif::{ProgressBar, ProgressStyle};
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Files the imported root takes from the host, as copies (the guest may
/// edit them; a symlink would point at a host path the guest cannot see).
const HOST_FILES: &[&str] = &["resolv.conf", "hosts"];

/// The record of one import, `roots/.NAME.json`, which `rootfs list` shows.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Info {
    pub source: String,
    pub format: String,
    /// UTC, `YYYY-MM-DD HH:MM`.
    pub imported: String,
    /// Bytes in regular files, each inode counted once.
    pub bytes: u64,
    pub entries: u64,
    /// Whether the files carry Linux metadata in extended attributes (not
    /// after `--no-xattrs`): `run --root NAME` then has the runtime show it.
    #[serde(default)]
    pub metadata: bool,
}

impl Info {
    fn path(dir: &Path, name: &str) -> PathBuf {
        dir.join(format!(".{name}.json"))
    }

    pub fn load(dir: &Path, name: &str) -> Option<Info> {
        serde_json::from_slice(&fs::read(Info::path(dir, name)).ok()?).ok()
    }

    fn save(&self, dir: &Path, name: &str) -> io::Result<()> {
        let text = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        fs::write(Info::path(dir, name), text)
    }

    pub fn remove(dir: &Path, name: &str) {
        let _ = fs::remove_file(Info::path(dir, name));
    }
}

/// Removes a scratch directory when the import fails or returns early.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        if fs::symlink_metadata(&self.0).is_ok() {
            if let Err(e) = remove_tree(&self.0) {
                eprintln!("mactux: could not remove the scratch directory {}: {e}", self.0.display());
            }
        }
    }
}

/// The root's name from the archive's: `debian-12.tar.xz` gives `debian-12`.
fn name_from_file(file: &Path) -> String {
    let base = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    const SUFFIXES: &[&str] = &[".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.zst", ".tzst", ".tar"];
    for s in SUFFIXES {
        if let Some(stem) = base.strip_suffix(s) {
            return stem.to_owned();
        }
    }
    base
}

/// Whether names that differ only in case are different files in `dir`
/// (they are not on macOS's default APFS and HFS+ volumes, nor in a Linux
/// casefold directory): makes one name and looks for the other case.
fn is_case_sensitive(dir: &Path) -> std::io::Result<bool> {
    let upper = dir.join(".MacTux-Case-Probe");
    fs::File::create_new(&upper)?;
    let found = fs::symlink_metadata(dir.join(".mactux-case-probe"));
    fs::remove_file(&upper)?;
    match found {
        Ok(_) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}

/// Why an import into a case-insensitive volume is refused, and the way out.
fn case_insensitive_volume(dir: &Path) -> String {
    format!(
        "the volume holding {} is case-insensitive, and a Linux root holds names that differ only in case \
         (Debian's manual pages hold both _exit.2 and _Exit.2), which would overwrite each other there; nothing was imported. \
         Set MACTUX_HOME to a directory on a case-sensitive volume; on macOS, `diskutil apfs addVolume CONTAINER \
         \"Case-sensitive APFS\" MacTux` makes one at /Volumes/MacTux (`diskutil list` names the container, e.g. disk3)",
        dir.display()
    )
}

pub fn import(file: &Path, name: Option<&str>, replace: bool, no_xattrs: bool) -> Result<(), String> {
    let started = Instant::now();
    let shown = file.display().to_string();
    let meta = fs::metadata(file).map_err(|e| format!("{shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown}: not a regular file"));
    }
    let name = match name {
        Some(n) => n.to_owned(),
        None => name_from_file(file),
    };
    check_name(&name)?;
    let dir = roots_dir();
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let target = dir.join(&name);
    let target_exists = check_target(&dir, &target, &name, replace)?;
    remove_stale_scratch(&dir, &name);

    let scratch = Scratch(dir.join(format!(".{name}.importing-{}", std::process::id())));
    fs::create_dir(&scratch.0).map_err(|e| format!("creating {}: {}", scratch.0.display(), describe(&e)))?;
    match is_case_sensitive(&scratch.0) {
        Ok(true) => {}
        Ok(false) => return Err(case_insensitive_volume(&dir)),
        Err(e) => return Err(format!("probing whether {} tells names apart by case: {}", scratch.0.display(), describe(&e))),
    }
    let keep_metadata = if no_xattrs {
        false
    } else {
        metadata::probe(&scratch.0).map_err(|e| {
            format!(
                "the volume holding {} cannot store extended attributes ({e}), where the archive's owners, modes and device numbers are kept; \
                 nothing was imported. Set MACTUX_HOME to a directory on a volume that has them, or pass --no-xattrs to import without them",
                dir.display()
            )
        })?;
        true
    };

    // Stage 1: the archive itself.
    let consumed = Arc::new(AtomicU64::new(0));
    let opened = archive::open(file, consumed.clone()).map_err(|e| format!("{shown}: {e}"))?;
    let compression = opened.compression;
    let bar = progress_bar(meta.len(), &format!("importing {name}"));
    let mut tick = |t: &Totals| {
        bar.set_position(consumed.load(Ordering::Relaxed));
        bar.set_message(format!("{} entries", t.entries));
    };
    let mut ex = Extractor::new(&scratch.0, &shown, keep_metadata, false, &mut tick);
    let outcome = ex.extract(opened.reader);
    let mut totals = ex.totals;
    drop(ex);
    if let Err(e) = outcome {
        bar.abandon();
        return Err(e);
    }
    bar.finish_and_clear();

    // Stage 2: an image's layers, bottom first, into a second directory.
    let (root, format, _layout_scratch) = match image::detect(&scratch.0).map_err(|e| format!("{shown}: {e}"))? {
        Layout::Rootfs => (scratch, format!("{} archive", compression.label()), None),
        Layout::Image { kind, layers } => {
            let root = Scratch(dir.join(format!(".{name}.layers-{}", std::process::id())));
            fs::create_dir(&root.0).map_err(|e| format!("creating {}: {}", root.0.display(), describe(&e)))?;
            totals = apply_layers(&shown, &root.0, &layers, keep_metadata)?;
            (root, format!("{kind}, {} layers", layers.len()), Some(scratch))
        }
    };

    copy_host_files(&root.0, keep_metadata);
    let bytes = tree_bytes(&root.0);

    // Commit: the rename is the moment the root appears complete.
    let info = Info { source: absolute(file), format: format.clone(), imported: utc_now(), bytes, entries: totals.entries, metadata: keep_metadata };
    let _old = if target_exists {
        let old = Scratch(dir.join(format!(".{name}.old-{}", std::process::id())));
        fs::rename(&target, &old.0).map_err(|e| format!("moving the old {} away: {e}", target.display()))?;
        Some(old)
    } else {
        None
    };
    fs::rename(&root.0, &target).map_err(|e| format!("renaming {} to {}: {}", root.0.display(), target.display(), describe(&e)))?;
    if let Err(e) = info.save(&dir, &name) {
        eprintln!("mactux: could not write the import record of {name}: {e}");
    }
    eprintln!(
        "mactux: imported '{name}' from {shown} ({format}): {} {}, {} in {:.1} s; run programs in it with `mactux run --root {name} PROG`",
        totals.entries,
        if totals.entries == 1 { "entry" } else { "entries" },
        super::human_size(bytes),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Whether the target exists and may be replaced; refuses what must not be
/// overwritten.
fn check_target(dir: &Path, target: &Path, name: &str, replace: bool) -> Result<bool, String> {
    let m = match fs::symlink_metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(format!("{}: {e}", target.display())),
    };
    if !m.is_dir() {
        return Err(format!("{} exists and is not a directory; move it away first", target.display()));
    }
    let empty = fs::read_dir(target).map(|mut d| d.next().is_none()).unwrap_or(false);
    if empty {
        fs::remove_dir(target).map_err(|e| format!("{}: {e}", target.display()))?;
        return Ok(false);
    }
    if replace {
        return Ok(true);
    }
    if Info::load(dir, name).is_some() {
        Err(format!(
            "a root named '{name}' already exists in {}; remove it with `mactux rootfs remove {name}`, choose another --name, or pass --replace",
            dir.display()
        ))
    } else {
        Err(format!(
            "{} already holds files; refusing to import into it (choose another --name, or pass --replace to replace it)",
            target.display()
        ))
    }
}

/// A progress bar on stderr: bytes of the archive read, entries, ETA.
/// indicatif draws nothing when stderr is not a terminal; the import then
/// prints only its one-line summary.
fn progress_bar(len: u64, prefix: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {bytes}/{total_bytes} {msg} (ETA {eta})").map(|s| s.progress_chars("=> "));
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar.set_prefix(prefix.to_owned());
    bar
}

fn apply_layers(shown: &str, root: &Path, layers: &[PathBuf], keep_metadata: bool) -> Result<Totals, String> {
    let total: u64 = layers.iter().filter_map(|l| fs::metadata(l).ok()).map(|m| m.len()).sum();
    let bar = progress_bar(total, "applying layers");
    let consumed = Arc::new(AtomicU64::new(0));
    let mut totals = Totals::default();
    for (i, layer) in layers.iter().enumerate() {
        let label = format!("{shown}: layer {}/{} ({})", i + 1, layers.len(), layer.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        let opened = archive::open(layer, consumed.clone()).map_err(|e| format!("{label}: {e}"))?;
        let base = totals.entries;
        let mut tick = |t: &Totals| {
            bar.set_position(consumed.load(Ordering::Relaxed));
            bar.set_message(format!("{} entries", base + t.entries));
        };
        let mut ex = Extractor::new(root, &label, keep_metadata, true, &mut tick);
        let outcome = ex.extract(opened.reader);
        let t = ex.totals;
        drop(ex);
        if let Err(e) = outcome {
            bar.abandon();
            return Err(e);
        }
        totals.entries += t.entries;
        totals.bytes += t.bytes;
    }
    bar.finish_and_clear();
    Ok(totals)
}

/// /etc/resolv.conf and /etc/hosts copied from the host, replacing what the
/// archive had (often a symlink to a systemd path the guest lacks).
fn copy_host_files(root: &Path, keep_metadata: bool) {
    let etc = match extract::resolve(root, &[OsString::from("etc")], true, false) {
        Ok(p) => p,
        Err(_) => {
            eprintln!("mactux: the root's /etc is not a directory; /etc/resolv.conf and /etc/hosts not copied from the host");
            return;
        }
    };
    for f in HOST_FILES {
        let host = Path::new("/etc").join(f);
        let Ok(bytes) = fs::read(&host) else {
            eprintln!("mactux: the host has no readable {}; the root keeps its own", host.display());
            continue;
        };
        let dest = etc.join(f);
        let _ = match fs::symlink_metadata(&dest) {
            Ok(m) if m.is_dir() => remove_tree(&dest),
            Ok(_) => fs::remove_file(&dest),
            Err(_) => Ok(()),
        };
        let written = fs::write(&dest, &bytes).and_then(|()| {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&dest, fs::Permissions::from_mode(0o644))?;
            if keep_metadata {
                metadata::store(&dest, &metadata::Linux { uid: 0, gid: 0, mode: extract::S_IFREG | 0o644, rdev: None })?;
            }
            Ok(())
        });
        if let Err(e) = written {
            eprintln!("mactux: copying {} into the root: {}", host.display(), describe(&e));
        }
    }
}

/// Bytes in regular files below `dir`, hard links counted once.
fn tree_bytes(dir: &Path) -> u64 {
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() && seen.insert((m.dev(), m.ino())) {
                total += m.len();
            }
        }
    }
    total
}

/// Scratch directories of an import of `name` whose process is gone.
fn remove_stale_scratch(dir: &Path, name: &str) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let f = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = f.strip_prefix(&format!(".{name}.")) else { continue };
        let Some((_, pid)) = rest.rsplit_once('-') else { continue };
        let Ok(pid) = pid.parse::<i32>() else { continue };
        if pid != std::process::id() as i32 && crate::daemon::pid_gone(pid) {
            let _ = remove_tree(&e.path());
        }
    }
}

fn absolute(p: &Path) -> String {
    fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string()
}

/// `YYYY-MM-DD HH:MM` UTC (days to civil date: H. Hinnant's algorithm).
fn utc_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", rem / 3600, rem % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_drop_archive_extensions() {
        assert_eq!(name_from_file(Path::new("/x/debian-12.tar.xz")), "debian-12");
        assert_eq!(name_from_file(Path::new("alpine.tgz")), "alpine");
        assert_eq!(name_from_file(Path::new("img.tar")), "img");
        assert_eq!(name_from_file(Path::new("rootfs.bin")), "rootfs.bin");
    }

    /// The probe leaves nothing behind. A link named in the other case
    /// stands in for a case-insensitive volume, which a test may not mount.
    #[test]
    fn the_case_probe_tells_and_cleans_up() {
        let dir = std::env::temp_dir().join(format!("mactux-case-probe-{}", std::process::id()));
        fs::create_dir(&dir).unwrap();
        assert!(is_case_sensitive(&dir).unwrap());
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        std::os::unix::fs::symlink(".MacTux-Case-Probe", dir.join(".mactux-case-probe")).unwrap();
        assert!(!is_case_sensitive(&dir).unwrap());
        let msg = case_insensitive_volume(&dir);
        assert!(msg.contains(&dir.display().to_string()) && msg.contains("MACTUX_HOME") && msg.contains("nothing was imported"), "{msg}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
