//! The host layer: the only place that knows which kernel we run on.
//!
//! `linux/` and `macos/` hold the same file names and export the same items; the
//! code above this module calls them without ever naming a host. POSIX calls that
//! are spelt the same on both hosts live once in [`posix`], parameterised by the
//! per-host translation tables (`errno`, `signal`, `flags`).
//!
//! Every function here takes and returns *Linux* values (errno, flags, signal
//! numbers, `struct stat` fields) and translates at the boundary.
#![allow(unsafe_code)]

/// The Linux level of a row of a host's socket option table
/// (`linux/net.rs`, `macos/net.rs`): `n` and `an` are the Linux values
/// those files import. Defined here, before the host modules, so that both
/// tables use this one.
macro_rules! linux_level {
    (SOL_SOCKET) => {
        n::SOL_SOCKET
    };
    (TCP) => {
        an::IPPROTO_TCP
    };
    (IP) => {
        an::IPPROTO_IP
    };
    (IPV6) => {
        an::IPPROTO_IPV6
    };
}

#[cfg(target_os = "linux")]
#[path = "linux/mod.rs"]
mod imp;
#[cfg(target_os = "macos")]
#[path = "macos/mod.rs"]
mod imp;

mod posix;
mod posix_net;

/// The macOS errno and signal tables are plain data: their completeness
/// tests run on Linux too (the libc pins are checked by the darwin check).
#[cfg(all(test, target_os = "linux"))]
#[allow(dead_code)]
#[path = "macos/errno.rs"]
mod macos_errno_table;
#[cfg(all(test, target_os = "linux"))]
#[allow(dead_code)]
#[path = "macos/signal.rs"]
mod macos_signal_table;
#[cfg(all(test, target_os = "linux"))]
#[allow(dead_code)]
#[path = "macos/net.rs"]
mod macos_net_table;
pub(crate) use posix::process as posix_process;

pub use imp::{errno, process, sigio, signal, thread, tls, trap, uaccess, watch};

/// The host-specific parts of file and memory handling, completed by [`posix`].
pub mod fs {
    pub use super::imp::fs::*;
    pub use super::posix::fs::*;
}
pub mod mem {
    pub use super::imp::mem::*;
    pub use super::posix::mem::*;
}
pub mod flags {
    pub use super::imp::flags::*;
    pub use super::posix::flags::*;
}
pub mod time {
    pub use super::imp::time::*;
    pub use super::posix::time::*;
}
/// Sockets: the per-host value tables and `sockaddr` layouts, completed by
/// the shared calls of `posix_net`.
pub mod net {
    pub use super::imp::net::*;
    pub use super::posix_net::*;
}

use crate::abi::{Errno, Timespec};

/// A file descriptor of the host process (never a guest fd number).
pub type HostFd = i32;

/// Host results carry Linux errno values, already translated.
pub type HostResult<T> = Result<T, Errno>;

/// File metadata in Linux terms: `st_mode` bits, Linux-encoded device numbers.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostStat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: i64,
    pub blksize: i64,
    pub blocks: i64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
    pub btime: Option<Timespec>,
}

/// `statfs` in Linux terms (`f_type` is a Linux magic number).
#[derive(Clone, Copy, Debug, Default)]
pub struct HostStatfs {
    pub fs_type: i64,
    pub bsize: i64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub fsid: [i32; 2],
    pub namelen: i64,
    pub frsize: i64,
    pub flags: i64,
}

/// One directory entry as the host reports it.
#[derive(Clone, Debug)]
pub struct HostDirent {
    pub ino: u64,
    /// Linux `DT_*` type.
    pub d_type: u8,
    pub name: Vec<u8>,
    /// The host cookie that seeks the directory to just after this entry.
    pub next: i64,
}

/// What a memory mapping request asks of the host, in host-neutral terms.
#[derive(Clone, Copy, Debug)]
pub struct MapRequest {
    pub addr: u64,
    pub len: u64,
    pub prot: Prot,
    pub is_shared: bool,
    pub placement: Placement,
    pub file: Option<(HostFd, u64)>,
    /// MAP_NORESERVE: no swap is set aside, so a mapping larger than the
    /// host would commit still succeeds (sanitizers' shadow memory).
    pub noreserve: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// `addr` is a hint only.
    Anywhere,
    /// Exactly at `addr`, replacing whatever the host has there.
    Replace,
    /// Exactly at `addr`, failing with EEXIST when anything is mapped there.
    NoReplace,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Prot {
    pub const NONE: Prot = Prot { read: false, write: false, exec: false };
    pub const RW: Prot = Prot { read: true, write: true, exec: false };
}

/// Host functions that guest code may call directly, in place of a trap:
/// our vDSO (loader/vdso.rs) jumps to them. Each keeps the Linux vDSO's
/// contract: the x86_64 calling convention, the Linux arguments and a raw
/// `-errno` result, no TLS, little stack, no runtime code, and the very
/// answer the emulated call gives. 0 where the host has none (the vDSO
/// then makes the real, trapping, syscall).
#[derive(Clone, Copy, Debug, Default)]
pub struct GuestClock {
    /// `clock_gettime(clockid, ts)`, for the ids in `fast_clocks`.
    pub clock_gettime: u64,
    /// `clock_getres(clockid, res)`, for the ids in `fast_clocks`.
    pub clock_getres: u64,
    /// `gettimeofday(tv, NULL)`.
    pub gettimeofday: u64,
    /// `time(t)`.
    pub time: u64,
    /// `getcpu(cpu, NULL, NULL)`.
    pub getcpu: u64,
    /// The Linux clock ids (bit `1 << id`) the two clock functions answer
    /// from the host's time data, without entering the kernel.
    pub fast_clocks: u32,
}

/// Memory figures of the host, in bytes (what /proc/meminfo and sysinfo report).
#[derive(Clone, Copy, Debug, Default)]
pub struct MemInfo {
    pub total: u64,
    pub free: u64,
    pub available: u64,
    pub buffers: u64,
    pub cached: u64,
    pub swap_total: u64,
    pub swap_free: u64,
    pub shmem: u64,
    /// Reclaimable kernel caches (`SReclaimable`).
    pub reclaimable: u64,
}

/// Paging counters of the host since boot, as /proc/vmstat names them: KiB
/// paged in and out, pages swapped in and out, all and major page faults.
#[derive(Clone, Copy, Debug, Default)]
pub struct VmEvents {
    pub pgpgin: u64,
    pub pgpgout: u64,
    pub pswpin: u64,
    pub pswpout: u64,
    pub pgfault: u64,
    pub pgmajfault: u64,
}

/// CPU time of the host since boot, for /proc/stat: per CPU, in clock ticks
/// of 1/100 s, the ten columns Linux prints (user nice system idle iowait irq
/// softirq steal guest guest_nice), and the context-switch, interrupt and
/// fork counters (0 where the host keeps none).
#[derive(Clone, Debug, Default)]
pub struct CpuStat {
    pub cpus: Vec<[u64; 10]>,
    pub ctxt: u64,
    pub intr: u64,
    pub forks: u64,
}

/// CPU time and memory of a host process, for /proc of other tasks.
#[derive(Clone, Copy, Debug, Default)]
pub struct TaskUsage {
    pub utime_ticks: u64,
    pub stime_ticks: u64,
    pub vsize: u64,
    pub rss_pages: u64,
    /// Stopped (job control or a tracer).
    pub stopped: bool,
}

/// Terminal window size (`struct winsize`, identical on both hosts).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct Winsize {
    pub rows: u16,
    pub cols: u16,
    pub xpixel: u16,
    pub ypixel: u16,
}

/// Where an extended-attribute call acts: `name` in the directory `dir`
/// (a symlink itself, not followed; an empty name is `dir`), or the file
/// open as a host fd.
#[derive(Clone, Copy)]
pub enum XattrAt<'a> {
    Name(HostFd, &'a std::ffi::CStr),
    Fd(HostFd),
}

/// One extended-attribute call with Linux names (`user.x`) and Linux
/// flags (XATTR_CREATE 1, XATTR_REPLACE 2). Get and List with an empty
/// buffer ask for the size.
pub enum XattrOp<'a> {
    Get(&'a std::ffi::CStr, &'a mut [u8]),
    Set(&'a std::ffi::CStr, &'a [u8], u32),
    List(&'a mut [u8]),
    Remove(&'a std::ffi::CStr),
}

/// A POSIX record lock in Linux terms (`struct flock`, `F_RDLCK`...).
#[derive(Clone, Copy, Debug, Default)]
pub struct HostFlock {
    pub l_type: i16,
    pub whence: i16,
    pub start: i64,
    pub len: i64,
    pub pid: i32,
}

/// The host CPU, read with `cpuid` (the same instruction on both hosts).
pub mod cpu {
    /// `cpuid` leaf/subleaf → [eax, ebx, ecx, edx].
    pub fn cpuid(leaf: u32, subleaf: u32) -> [u32; 4] {
        // SAFETY: cpuid is available on every x86_64 CPU and only reads state.
        #[allow(unused_unsafe)]
        let r = unsafe { core::arch::x86_64::__cpuid_count(leaf, subleaf) };
        [r.eax, r.ebx, r.ecx, r.edx]
    }

    /// The brand string, e.g. "Intel(R) Xeon(R) ...".
    pub fn model_name() -> String {
        if cpuid(0x8000_0000, 0)[0] < 0x8000_0004 {
            return "x86_64 processor".into();
        }
        let mut bytes = Vec::with_capacity(48);
        for leaf in 0x8000_0002..=0x8000_0004u32 {
            for reg in cpuid(leaf, 0) {
                bytes.extend_from_slice(&reg.to_le_bytes());
            }
        }
        let s = String::from_utf8_lossy(&bytes).trim_matches(char::from(0)).trim().to_string();
        s
    }

    pub fn vendor() -> String {
        let r = cpuid(0, 0);
        let mut b = Vec::new();
        for reg in [r[1], r[3], r[2]] {
            b.extend_from_slice(&reg.to_le_bytes());
        }
        String::from_utf8_lossy(&b).into_owned()
    }
}
