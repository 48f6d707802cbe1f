//! The mount table: which filesystem serves each part of the guest's tree.
//!
//! Linux keeps a tree of mounts per mount namespace (fs/namespace.c). The
//! guest sees one fixed namespace: the host directory chosen as its root at
//! `/`, the runtime's proc at `/proc` and its devtmpfs at `/dev`. Path
//! resolution (`vfs/mod.rs`) asks the table which mount a guest path lies in
//! and whether a name is a mount point; `/proc/self/mounts`, statfs and the
//! `st_dev` of synthetic files read their mount's row. A new synthetic
//! filesystem (a /sys) is one row and one `Fs` kind; a host directory
//! mounted below the root (`--mount HOST:GUEST`) is one row plus the arm in
//! the walk's `enter` that opens its directory, as the root's is opened.
//!
//! Host directories mounted with `--mount HOST:GUEST` (bind mounts) are
//! not rows of the static table but the process's `Config::mounts`, read
//! by [`host_mount_at`] and [`host_mount_of`]: the walk enters the host
//! directory at the mount point, and `..` from it comes back to the parent
//! in the guest's tree because walks keep their guest path.
//!
//! Divergences from Linux:
//! - The table is fixed: mount(2) and umount2(2) are not emulated.
//! - A host mount point need not exist in the root; its parent must, and
//!   readdir of the parent lists it only if it exists there.
//!
//! Signal context: pure lookups in a static table; no lock, no allocation
//! except [`proc_mounts`]'s string.

use crate::abi::gen as g;

/// What serves a mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fs {
    /// A host directory: the guest's root (`--root`, `task::Process::root`).
    Host,
    /// The runtime's /proc (`vfs/proc.rs`).
    Proc,
    /// The runtime's /dev (`vfs/dev.rs`).
    Dev,
}

impl Fs {
    /// Whether the runtime serves it (no host directory behind it).
    pub fn is_synthetic(self) -> bool {
        self != Fs::Host
    }
}

/// One mount: a guest mount point and what serves it, with what
/// `/proc/self/mounts` shows for it.
#[derive(Debug)]
pub struct Mount {
    /// The mount point: an absolute, normalized guest path.
    pub point: &'static str,
    pub fs: Fs,
    /// The first field of `/proc/self/mounts` (`mnt_devname`).
    pub source: &'static str,
    /// The filesystem type, as in `/proc/filesystems`.
    pub fstype: &'static str,
    /// The mount options `/proc/self/mounts` lists.
    pub options: &'static str,
    /// `f_type` of statfs (include/uapi/linux/magic.h); for a host mount
    /// statfs asks the host instead.
    pub magic: u32,
    /// Device number of the synthetic files in it (`st_dev`): Linux gives
    /// each pseudo filesystem an anonymous device, major 0.
    pub dev_minor: u64,
}

/// The guest's root: the host directory chosen with `--root`.
const ROOT: Mount = Mount {
    point: "/",
    fs: Fs::Host,
    source: "/dev/root",
    fstype: "ext4",
    options: "rw,relatime",
    magic: g::EXT4_SUPER_MAGIC,
    dev_minor: 0,
};

/// The guest's mounts, the root first. The shown values are Linux's for the
/// same mounts (proc's and devtmpfs's default options; the root as a
/// typical ext4 root).
pub static MOUNTS: MountTable = MountTable(&[
    ROOT,
    Mount {
        point: "/proc",
        fs: Fs::Proc,
        source: "proc",
        fstype: "proc",
        options: "rw,nosuid,nodev,noexec,relatime",
        magic: g::PROC_SUPER_MAGIC,
        dev_minor: 22,
    },
    Mount {
        point: "/dev",
        fs: Fs::Dev,
        source: "devtmpfs",
        fstype: "devtmpfs",
        options: "rw,nosuid,relatime",
        // devtmpfs is a tmpfs instance and reports its magic.
        magic: g::TMPFS_MAGIC,
        dev_minor: 5,
    },
]);

/// A list of mounts; the first is the root (`/`).
pub struct MountTable(&'static [Mount]);

/// Whether `guest` is `point` or lies below it, on a component boundary
/// (`/proc2` is not in `/proc`).
fn covers(point: &str, guest: &str) -> bool {
    point == "/" && guest.starts_with('/') || guest == point || guest.strip_prefix(point).is_some_and(|r| r.starts_with('/'))
}

impl MountTable {
    /// The mount `guest` lies in: the one with the longest mount point that
    /// covers it; the root for anything else (a name that is no path, such
    /// as `pipe:[5]`, counts as the root's).
    pub fn mount_of(&self, guest: &str) -> &Mount {
        self.0.iter().filter(|m| covers(m.point, guest)).max_by_key(|m| m.point.len()).or(self.0.first()).unwrap_or(&ROOT)
    }

    /// The mount whose mount point is exactly `guest`.
    pub fn mount_at(&self, guest: &str) -> Option<&Mount> {
        self.0.iter().find(|m| m.point == guest)
    }

    /// Whether `guest` is the mount point of a synthetic mount: a walk
    /// reaching it leaves the host tree.
    pub fn is_synthetic_mount_point(&self, guest: &str) -> bool {
        self.mount_at(guest).is_some_and(|m| m.fs.is_synthetic())
    }

    /// The synthetic mount a synthetic file lies in; a file of none (an
    /// anonymous inode, a pipe's name) counts as proc's.
    pub fn synthetic_mount_of(&self, guest: &str) -> &Mount {
        let m = self.mount_of(guest);
        if m.fs.is_synthetic() {
            return m;
        }
        self.0.iter().find(|p| p.fs == Fs::Proc).unwrap_or(m)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Mount> {
        self.0.iter()
    }
}

impl Mount {
    /// The components of `guest` below this mount point (`guest` must lie in
    /// it, [`MountTable::mount_of`]).
    pub fn rel<'a>(&self, guest: &'a str) -> Vec<&'a str> {
        guest.get(self.point.len()..).unwrap_or("").split('/').filter(|c| !c.is_empty()).collect()
    }
}

/// The process's host mounts (none before the task state exists).
fn host_mounts() -> &'static [crate::task::HostMount] {
    crate::task::try_current().map_or(&[], |p| p.config.mounts.as_slice())
}

/// The host directory mounted exactly at `guest`, if any.
pub fn host_mount_at(guest: &str) -> Option<&'static crate::task::HostMount> {
    host_mounts().iter().find(|m| m.guest == guest)
}

/// Which host mount `guest` lies in (the longest covering mount point), as
/// an index; `None` for the root's own tree. rename and link across two
/// differ with EXDEV, as across bind mounts on Linux.
pub fn host_mount_of(guest: &str) -> Option<usize> {
    host_mounts()
        .iter().enumerate().filter(|(_, m)| covers(&m.guest, guest)).max_by_key(|(_, m)| m.guest.len()).map(|(i, _)| i)
}

/// `/proc/self/mounts` (proc_pid_mounts, fs/proc_namespace.c): one line per
/// mount, `source point fstype options 0 0`; host mounts show the host
/// directory as their source.
pub fn proc_mounts() -> String {
    let mut s: String = MOUNTS.iter().map(|m| format!("{} {} {} {} 0 0\n", m.source, m.point, m.fstype, m.options)).collect();
    for m in host_mounts() {
        s.push_str(&format!("{} {} {} {} 0 0\n", mangle(&m.host.to_string_lossy()), mangle(&m.guest), ROOT.fstype, ROOT.options));
    }
    s
}

/// `\ooo` for space, tab, newline and backslash, as the kernel's
/// mangle() escapes names in /proc/self/mounts and mountinfo.
fn mangle(s: &str) -> String {
    s.chars().map(|c| if " \t\n\\".contains(c) { format!("\\{:03o}", c as u32) } else { c.to_string() }).collect()
}

/// `/proc/self/mountinfo` (show_mountinfo, fs/proc_namespace.c): per
/// mount its id (from 20 up, in table order), its parent's (the root's is
/// 1, outside the table), `major:minor` (`dev_of` the mount point, the
/// synthetic ones' own), the root within its file system (`/`), the mount
/// point, the per-mount options, no optional fields, then `-`, the file
/// system type, the source and the super-block options.
pub fn proc_mountinfo(dev_of: &dyn Fn(&str) -> Option<u64>) -> String {
    const FIRST_ID: usize = 20;
    // (point, id) of the lines so far, for the parents of later ones.
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut s = String::new();
    let mut line = |point: &str, dev: u64, options: &str, fstype: &str, source: &str| {
        let id = FIRST_ID + seen.len();
        let parent = if point == "/" {
            1
        } else {
            let up = point.rsplit_once('/').map_or("/", |(p, _)| if p.is_empty() { "/" } else { p });
            seen.iter().filter(|(p, _)| covers(p, up)).max_by_key(|(p, _)| p.len()).map_or(1, |(_, i)| *i)
        };
        s.push_str(&format!(
            "{id} {parent} {}:{} / {} {options} - {fstype} {} rw\n",
            super::dev_major(dev),
            super::dev_minor(dev),
            mangle(point),
            mangle(source)
        ));
        seen.push((point.to_string(), id));
    };
    for m in MOUNTS.iter() {
        let dev = if m.fs.is_synthetic() { super::makedev(0, m.dev_minor) } else { dev_of(m.point).unwrap_or(0) };
        line(m.point, dev, m.options, m.fstype, m.source);
    }
    for m in host_mounts() {
        line(&m.guest, dev_of(&m.guest).unwrap_or(0), ROOT.options, ROOT.fstype, &m.host.to_string_lossy());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lists_the_table_with_parents_and_devices() {
        let info = proc_mountinfo(&|p: &str| (p == "/").then_some(super::super::makedev(254, 1)));
        let lines: Vec<&str> = info.lines().collect();
        assert_eq!(lines[0], "20 1 254:1 / / rw,relatime - ext4 /dev/root rw");
        assert_eq!(lines[1], "21 20 0:22 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw");
        assert_eq!(lines[2], "22 20 0:5 / /dev rw,nosuid,relatime - devtmpfs devtmpfs rw");
        assert_eq!(mangle("a b\\c\td\ne"), "a\\040b\\134c\\011d\\012e");
    }

    #[test]
    fn the_longest_covering_mount_point_wins() {
        assert_eq!(MOUNTS.mount_of("/").fs, Fs::Host);
        assert_eq!(MOUNTS.mount_of("/proc").fs, Fs::Proc);
        assert_eq!(MOUNTS.mount_of("/proc/self/fd/0").fs, Fs::Proc);
        assert_eq!(MOUNTS.mount_of("/dev/pts/0").fs, Fs::Dev);
        assert_eq!(MOUNTS.mount_of("/usr/bin").fs, Fs::Host);
        assert_eq!(MOUNTS.mount_of("pipe:[5]").point, "/");
        static NESTED: MountTable = MountTable(&[
            ROOT,
            Mount { point: "/a", ..ROOT },
            Mount { point: "/a/b", fs: Fs::Dev, ..ROOT },
        ]);
        assert_eq!(NESTED.mount_of("/a/b/c").point, "/a/b");
        assert_eq!(NESTED.mount_of("/a/b").point, "/a/b");
        assert_eq!(NESTED.mount_of("/a/bc").point, "/a");
        assert_eq!(NESTED.mount_of("/a").point, "/a");
        assert_eq!(NESTED.mount_of("/ab").point, "/");
    }

    #[test]
    fn mount_points_end_on_a_component_boundary() {
        assert_eq!(MOUNTS.mount_of("/proc2").fs, Fs::Host);
        assert_eq!(MOUNTS.mount_of("/procfs/x").fs, Fs::Host);
        assert_eq!(MOUNTS.mount_of("/devices").fs, Fs::Host);
        assert!(MOUNTS.is_synthetic_mount_point("/proc"));
        assert!(MOUNTS.is_synthetic_mount_point("/dev"));
        assert!(!MOUNTS.is_synthetic_mount_point("/"), "the root is a host mount");
        assert!(!MOUNTS.is_synthetic_mount_point("/proc/self"));
        assert!(!MOUNTS.is_synthetic_mount_point("/proc2"));
    }

    #[test]
    fn synthetic_files_of_no_mount_count_as_procs() {
        assert_eq!(MOUNTS.synthetic_mount_of("/dev/null").fs, Fs::Dev);
        assert_eq!(MOUNTS.synthetic_mount_of("/proc/self/maps").fs, Fs::Proc);
        assert_eq!(MOUNTS.synthetic_mount_of("anon_inode:[eventfd]").fs, Fs::Proc);
        assert_eq!(MOUNTS.synthetic_mount_of("/dev").magic, g::TMPFS_MAGIC);
        assert_eq!(MOUNTS.synthetic_mount_of("/proc").magic, g::PROC_SUPER_MAGIC);
    }

    #[test]
    fn paths_inside_a_mount() {
        let proc = MOUNTS.mount_of("/proc/self/fd");
        assert_eq!(proc.rel("/proc/self/fd"), ["self", "fd"]);
        assert_eq!(proc.rel("/proc"), Vec::<&str>::new());
        assert_eq!(MOUNTS.mount_of("/dev/pts/").rel("/dev/pts/"), ["pts"]);
    }

    #[test]
    fn proc_mounts_lists_every_mount() {
        assert_eq!(
            proc_mounts(),
            "/dev/root / ext4 rw,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n\
             devtmpfs /dev devtmpfs rw,nosuid,relatime 0 0\n"
        );
    }
}
