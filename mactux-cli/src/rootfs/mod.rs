//! `mactux rootfs`: guest root filesystems kept under `~/.mactux/roots`
//! (`$MACTUX_HOME/roots` when set), imported from a distribution's archive
//! or a container image, listed and removed by name; and how
//! `mactux run --root` turns a name into a directory. docs/rootfs.md is the
//! user's guide; the modules below hold the parts:
//!
//! - `archive`: compression from magic bytes, pure-Rust decoders.
//! - `extract`: one tar stream into a directory, never outside it.
//! - `metadata`: Linux owners, modes and device numbers in xattrs.
//! - `image`: docker save and OCI image layouts, layers in order.
//! - `install`: the import itself: scratch directory, progress, rename.

mod archive;
mod extract;
mod image;
mod install;
mod metadata;

use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum RootfsCommand {
    /// Import a root filesystem archive (.tar, .tar.gz, .tar.xz, .tar.zst, a
    /// `docker save` or OCI image layout tarball) as a guest root.
    Import {
        /// The archive; its compression is told by its first bytes.
        file: PathBuf,
        /// The root's name (default: the archive's name without extensions).
        #[arg(long)]
        name: Option<String>,
        /// Replace an existing root of that name once the import succeeds.
        #[arg(long)]
        replace: bool,
        /// Import even where the volume cannot hold extended attributes
        /// (owners, set-id bits and device numbers are then lost).
        #[arg(long)]
        no_xattrs: bool,
    },
    /// List imported roots: name, size, import date, source.
    List,
    /// Delete an imported root.
    Remove {
        name: String,
    },
}

pub fn main(command: RootfsCommand) -> ExitCode {
    let result = match command {
        RootfsCommand::Import { file, name, replace, no_xattrs } => install::import(&file, name.as_deref(), replace, no_xattrs),
        RootfsCommand::List => list(),
        RootfsCommand::Remove { name } => remove(&name),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("mactux: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// `$MACTUX_HOME`, else `~/.mactux`: the user's MacTux directory (roots,
/// config.toml). Tests point it at a scratch directory.
pub fn mactux_home() -> PathBuf {
    if let Some(h) = std::env::var_os("MACTUX_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/"));
    home.join(".mactux")
}

pub fn roots_dir() -> PathBuf {
    mactux_home().join("roots")
}

/// A root's name is one plain path component that `list` shows: no `/`,
/// not hidden (the scratch directories of imports start with a dot).
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') || name.contains('\0') {
        return Err(format!("'{name}' is not a root name: use letters, digits, '-', '_' or '.', not starting with '.' and without '/'"));
    }
    Ok(())
}

/// What `mactux run --root VALUE` (or the configured default) means: a
/// value with a `/`, or an existing directory, is a directory; anything
/// else names an imported root. `None` when neither is given.
/// The guest root `--root` (or config.toml) names, and whether its files
/// carry Linux metadata (an imported root, unless imported `--no-xattrs`;
/// a directory given by path is taken as it is).
pub fn guest_root(value: Option<&Path>) -> Result<Option<(PathBuf, bool)>, String> {
    let (value, from) = match value {
        Some(v) => (v.to_path_buf(), "--root"),
        None => match configured_root()? {
            Some(v) => (PathBuf::from(v), "the default root in config.toml"),
            None => return Ok(None),
        },
    };
    let text = value.to_string_lossy();
    if text.contains('/') || value.is_dir() {
        if folds_case(&value) {
            return Err(format!(
                "{from}: {} lies on a case-insensitive volume, where names that differ only in case (a Linux root \
                 has them: Debian's _exit.2 and _Exit.2) are one file, and a lookup in the wrong case finds what \
                 Linux would not; put the root on a case-sensitive volume (on macOS, `diskutil apfs addVolume \
                 CONTAINER \"Case-sensitive APFS\" MacTux` makes one at /Volumes/MacTux), or import it there with \
                 `mactux rootfs import`",
                value.display()
            ));
        }
        return Ok(Some((value, false)));
    }
    let dir = roots_dir().join(&value);
    if check_name(&text).is_ok() && dir.is_dir() {
        let metadata = install::Info::load(&roots_dir(), &text).is_some_and(|i| i.metadata);
        return Ok(Some((dir, metadata)));
    }
    Err(format!(
        "{from}: '{text}' is neither a directory nor an imported root (`mactux rootfs list` shows them; `mactux rootfs import FILE --name {text}` adds one)"
    ))
}

/// Whether `dir` folds case (macOS's default APFS and HFS+ volumes, a Linux
/// casefold directory): the first of its entries whose name has a letter
/// is looked up with the case of its letters swapped, without writing (a
/// root may be read-only). The same file found under the other name means
/// a folding volume; nothing, or another file, a case-sensitive one.
fn folds_case(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    for entry in entries.flatten().take(64) {
        let name = entry.file_name();
        let Some(text) = name.to_str() else { continue };
        let swapped: String =
            text.chars().map(|c| if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }).collect();
        if swapped == text {
            continue;
        }
        let (Ok(a), Ok(b)) = (std::fs::symlink_metadata(entry.path()), std::fs::symlink_metadata(dir.join(&swapped))) else {
            return false;
        };
        return a.dev() == b.dev() && a.ino() == b.ino();
    }
    false
}

/// `~/.mactux/config.toml`:
///
/// ```toml
/// root = "debian"                     # the default of `run --root`
/// mounts = ["~/src:/home/me/src"]     # always passed as `--mount`
/// ```
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    root: Option<String>,
    #[serde(default)]
    mounts: Vec<String>,
}

fn config_file() -> Result<ConfigFile, String> {
    let path = mactux_home().join("config.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// `root = "NAME"` (or a directory) in `~/.mactux/config.toml`.
fn configured_root() -> Result<Option<String>, String> {
    Ok(config_file()?.root.filter(|r| !r.is_empty()))
}

/// The host mounts of a run: `mounts` from config.toml, then each
/// `--mount HOST:GUEST` (a later one at the same guest path wins). HOST is
/// an existing directory (`~/` means the home directory); GUEST an
/// absolute path other than `/`, outside /proc and /dev.
pub fn host_mounts(cli: &[String]) -> Result<Vec<mactux_runtime::HostMount>, String> {
    let from_file = config_file()?.mounts;
    let mut out: Vec<mactux_runtime::HostMount> = Vec::new();
    for (spec, from) in from_file.iter().map(|s| (s, "config.toml")).chain(cli.iter().map(|s| (s, "--mount"))) {
        let (host, guest) = spec.rsplit_once(':').ok_or_else(|| format!("{from}: '{spec}' is not HOST:GUEST"))?;
        let host = match host.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(rest),
            None => PathBuf::from(host),
        };
        let host = std::fs::canonicalize(&host).map_err(|e| format!("{from}: '{spec}': the host directory {}: {e}", host.display()))?;
        if !host.is_dir() {
            return Err(format!("{from}: '{spec}': {} is not a directory", host.display()));
        }
        let guest = normalize_guest(guest).ok_or_else(|| format!("{from}: '{spec}': the guest path must be absolute, without '..', and not /"))?;
        if ["/proc", "/dev"].iter().any(|s| guest == *s || guest.starts_with(&format!("{s}/"))) {
            return Err(format!("{from}: '{spec}': /proc and /dev are the runtime's"));
        }
        out.retain(|m| m.guest != guest);
        out.push(mactux_runtime::HostMount { guest, host });
    }
    Ok(out)
}

/// `/a//b/./c/` as `/a/b/c`; `None` for a relative path, `..`, or `/`.
fn normalize_guest(p: &str) -> Option<String> {
    if !p.starts_with('/') {
        return None;
    }
    let mut out = String::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => return None,
            c => {
                out.push('/');
                out.push_str(c);
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

fn list() -> Result<(), String> {
    let dir = roots_dir();
    let mut rows = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("no roots imported yet ({} is empty); add one with `mactux rootfs import FILE`", dir.display());
            return Ok(());
        }
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !e.path().is_dir() {
            continue;
        }
        let info = install::Info::load(&dir, &name);
        rows.push((name, info));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    if rows.is_empty() {
        println!("no roots imported yet; add one with `mactux rootfs import FILE`");
        return Ok(());
    }
    println!("{:<20} {:>10}  {:<20}  SOURCE", "NAME", "SIZE", "IMPORTED");
    for (name, info) in rows {
        let (size, date, source) = match info {
            Some(i) => (human_size(i.bytes), i.imported, i.source),
            None => ("?".into(), "?".into(), "(no import record)".into()),
        };
        println!("{name:<20} {size:>10}  {date:<20}  {source}");
    }
    Ok(())
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn remove(name: &str) -> Result<(), String> {
    check_name(name)?;
    let dir = roots_dir();
    let root = dir.join(name);
    match std::fs::symlink_metadata(&root) {
        Ok(m) if m.is_dir() => {}
        _ => return Err(format!("no root named '{name}' in {} (`mactux rootfs list` shows them)", dir.display())),
    }
    // Renamed away first: a removal cut short leaves a hidden scratch
    // directory, never a half-deleted root under the name.
    let doomed = dir.join(format!(".{name}.removing-{}", std::process::id()));
    std::fs::rename(&root, &doomed).map_err(|e| format!("{}: {e}", root.display()))?;
    install::Info::remove(&dir, name);
    extract::remove_tree(&doomed).map_err(|e| format!("removing {}: {e}", doomed.display()))?;
    println!("removed root '{name}'");
    Ok(())
}
