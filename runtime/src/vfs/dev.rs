//! `/dev` as the runtime serves it: the memory devices, the standard streams,
//! the controlling terminal, /dev/ptmx and the host's pseudo-terminals as
//! /dev/pts/N.

use super::file::{FileOps, OpenFile};
use super::{DirEnt, Synth};
use crate::abi::gen as g;
use crate::error::Result;
use crate::host::HostStat;
use crate::{errno, return_errno};
use std::any::Any;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevKind {
    Null,
    Zero,
    Full,
    Random,
    URandom,
}

const DT_CHR: u8 = 2;
const DT_LNK: u8 = 10;
const DT_DIR: u8 = 4;

/// The host directory behind /dev/shm: the root's own /dev/shm when it has
/// one (a Linux host), else the host's temporary directory. The guest never
/// reaches the root's own /dev (this mount hides it), so it cannot swap
/// these names; what lies below is walked race-free like any guest path.
fn shm_dir() -> String {
    let root = crate::task::current().config.root.as_os_str().to_string_lossy().trim_end_matches('/').to_string();
    let root_shm = format!("{root}/dev/shm");
    let c = std::ffi::CString::new(root_shm.clone()).unwrap_or_default();
    let is_dir = crate::host::fs::stat(&c, true).is_ok_and(|s| s.mode & g::S_IFMT == g::S_IFDIR);
    if is_dir {
        root_shm
    } else {
        std::env::temp_dir().to_string_lossy().trim_end_matches('/').to_string()
    }
}

/// (name, kind, major, minor) as on Linux (Documentation/admin-guide/devices.txt).
const MEM_DEVICES: &[(&str, DevKind, u64, u64)] = &[
    ("null", DevKind::Null, 1, 3),
    ("zero", DevKind::Zero, 1, 5),
    ("full", DevKind::Full, 1, 7),
    ("random", DevKind::Random, 1, 8),
    ("urandom", DevKind::URandom, 1, 9),
];

const LINKS: &[(&str, &str)] =
    &[("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("fd", "/proc/self/fd")];

impl DevKind {
    pub fn read(self, buf: &mut [u8]) -> Result<usize> {
        match self {
            DevKind::Null => Ok(0),
            DevKind::Zero | DevKind::Full => {
                buf.fill(0);
                Ok(buf.len())
            }
            DevKind::Random | DevKind::URandom => {
                crate::host::process::random(buf).map_err(crate::error::Error::new)?;
                Ok(buf.len())
            }
        }
    }

    pub fn write(self, buf: &[u8]) -> Result<usize> {
        self.write_len(buf.len())
    }

    /// A write of `len` bytes: the devices discard what they are given
    /// (/dev/full refuses it), so only the length matters.
    pub fn write_len(self, len: usize) -> Result<usize> {
        match self {
            DevKind::Full => Err(errno!(ENOSPC)),
            _ => Ok(len),
        }
    }

    pub fn node_stat(self) -> HostStat {
        let (name, _, major, minor) = MEM_DEVICES.iter().find(|d| d.1 == self).copied().unwrap_or(MEM_DEVICES[0]);
        let mut st = super::file::synth_stat(&format!("/dev/{name}"), g::S_IFCHR | 0o666, super::makedev(major, minor));
        st.blksize = 4096;
        st
    }
}

/// What a device node stored in an imported root (vfs/meta.rs) opens as.
pub enum StoredDevice {
    /// A memory device the runtime emulates.
    Mem(DevKind),
    /// A host device (the controlling terminal, a new pseudo-terminal).
    Host(super::HostLoc),
}

/// The device a stored node of type `kind` (S_IFCHR, S_IFBLK, S_IFSOCK)
/// and number `rdev` opens: those /dev serves, by their Linux numbers
/// (Documentation/admin-guide/devices.txt); any other is ENXIO, as Linux
/// answers for a number no driver claims (and for a socket node).
pub fn stored_device(kind: u32, rdev: u64) -> Result<StoredDevice> {
    let (major, minor) = (super::dev_major(rdev), super::dev_minor(rdev));
    if kind == g::S_IFCHR {
        if let Some((_, dev, ..)) = MEM_DEVICES.iter().find(|d| (d.2, d.3) == (major, minor)) {
            return Ok(StoredDevice::Mem(*dev));
        }
        // TTYAUX_MAJOR 5: /dev/tty, /dev/ptmx.
        match (major, minor) {
            (5, 0) => return Ok(StoredDevice::Host(super::HostLoc::trusted("/dev/tty"))),
            (5, 2) => return Ok(StoredDevice::Host(super::HostLoc::trusted("/dev/ptmx"))),
            _ => {}
        }
    }
    Err(errno!(ENXIO, "no device of this type and number is emulated"))
}

/// The entry at `/dev/<rel...>`; `with_content` asks for listings (skipped
/// during path walks).
pub fn entry(rel: &[&str], with_content: bool) -> Result<Synth> {
    match rel {
        [] => {
            let mut v: Vec<DirEnt> = MEM_DEVICES
                .iter()
                .map(|(n, ..)| DirEnt { name: n.as_bytes().to_vec(), d_type: DT_CHR, ino: super::synth_ino(&format!("/dev/{n}")) })
                .collect();
            v.extend(LINKS.iter().map(|(n, _)| DirEnt { name: n.as_bytes().to_vec(), d_type: DT_LNK, ino: super::synth_ino(n) }));
            v.push(DirEnt { name: "tty".into(), d_type: DT_CHR, ino: super::synth_ino("/dev/tty") });
            v.push(DirEnt { name: "shm".into(), d_type: DT_DIR, ino: super::synth_ino("/dev/shm") });
            v.push(DirEnt { name: "pts".into(), d_type: DT_DIR, ino: super::synth_ino("/dev/pts") });
            v.push(DirEnt { name: "ptmx".into(), d_type: DT_CHR, ino: super::synth_ino("/dev/ptmx") });
            Ok(Synth::Dir(v))
        }
        [name] => {
            if let Some((_, kind, ..)) = MEM_DEVICES.iter().find(|d| d.0 == *name) {
                return Ok(Synth::Dev(*kind));
            }
            if let Some((_, target)) = LINKS.iter().find(|l| l.0 == *name) {
                return Ok(Synth::Symlink(target.as_bytes().to_vec()));
            }
            if *name == "tty" {
                // The controlling terminal is the host's.
                return Ok(Synth::HostPath("/dev/tty".into()));
            }
            if *name == "shm" {
                return Ok(Synth::HostPath(shm_dir()));
            }
            if *name == "ptmx" {
                // Each open makes a new pseudo-terminal pair on the host.
                return Ok(Synth::HostPath("/dev/ptmx".into()));
            }
            if *name == "pts" {
                // ttyname() looks here when /proc/self/fd/N does not match.
                if !with_content {
                    return Ok(Synth::Dir(Vec::new()));
                }
                return Ok(Synth::Dir(
                    crate::host::fs::pts_numbers()
                        .into_iter()
                        .map(|n| {
                            let name = n.to_string();
                            let ino = super::synth_ino(&format!("/dev/pts/{name}"));
                            DirEnt { name: name.into_bytes(), d_type: DT_CHR, ino }
                        })
                        .collect(),
                ));
            }
            return_errno!(ENOENT)
        }
        // The host's own device node, so that stat of the name and fstat of
        // an fd on it agree (ttyname compares the two). Only the canonical
        // spelling of a number names a terminal, as in Linux's devpts.
        ["pts", name] => match name.parse::<u32>().ok().filter(|n| n.to_string() == *name) {
            Some(n) => Ok(Synth::HostPath(crate::host::fs::pts_host_path(n))),
            None => return_errno!(ENOENT),
        },
        ["shm", rest @ ..] => {
            let mut p = shm_dir();
            for c in rest {
                p.push('/');
                p.push_str(c);
            }
            Ok(Synth::HostPath(p))
        }
        _ => return_errno!(ENOENT),
    }
}

/// The memory devices as open files: positions mean nothing to them (a
/// seek succeeds and stays at 0), and they are always ready.
impl FileOps for DevKind {
    fn stat(&self, _f: &OpenFile) -> Result<HostStat> {
        Ok(self.node_stat())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn read(&self, _f: &OpenFile, buf: &mut [u8]) -> Result<usize> {
        DevKind::read(*self, buf)
    }

    fn write(&self, _f: &OpenFile, buf: &[u8]) -> Result<usize> {
        DevKind::write(*self, buf)
    }

    fn pread(&self, _f: &OpenFile, buf: &mut [u8], _off: u64) -> Result<usize> {
        DevKind::read(*self, buf)
    }

    fn pwrite(&self, _f: &OpenFile, buf: &[u8], _off: u64) -> Result<usize> {
        DevKind::write(*self, buf)
    }

    /// /dev/zero and /dev/urandom fill any length, piece by piece.
    fn read_guest(&self, _f: &OpenFile, addr: u64, len: usize, _off: Option<u64>) -> Result<usize> {
        crate::uaccess::fill_guest(addr, len, |piece| DevKind::read(*self, piece))
    }

    /// The devices keep nothing: the buffer is checked, never copied.
    fn write_guest(&self, _f: &OpenFile, addr: u64, len: usize, _off: Option<u64>) -> Result<usize> {
        crate::uaccess::check_readable(addr, len)?;
        self.write_len(len)
    }

    fn seek(&self, _f: &OpenFile, _off: i64, _whence: u32) -> Result<i64> {
        Ok(0)
    }
}
