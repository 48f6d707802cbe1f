//! The Linux ABI, and only the Linux ABI: typed views over `linux-raw-sys`.
//!
//! Nothing here knows about the host. Values cross to the host only through the
//! translation tables in `host/<os>/{errno,signal,flags}.rs`.

pub mod errno;
pub mod ipc;
pub mod net;
pub mod netlink;
pub mod signal;
pub mod vdso;

pub use errno::Errno;
pub use linux_raw_sys::general as gen;

/// `arch_prctl` codes linux-raw-sys does not export
/// (arch/x86/include/uapi/asm/prctl.h); ARCH_SET_FS comes from it.
pub const ARCH_SET_GS: u32 = 0x1001;
pub const ARCH_GET_FS: u32 = 0x1003;
pub const ARCH_GET_GS: u32 = 0x1004;
const _: () = assert!(linux_raw_sys::general::ARCH_SET_FS == 0x1002);

/// The size of a page on x86_64 Linux.
pub const PAGE_SIZE: u64 = 4096;

/// `struct iovec` as the guest lays it out.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Iovec {
    pub base: u64,
    pub len: u64,
}

/// `struct timespec` of the x86_64 ABI.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

/// `struct timeval` of the x86_64 ABI.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Timeval {
    pub sec: i64,
    pub usec: i64,
}

/// `struct sysinfo` of the x86_64 ABI (112 bytes).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Sysinfo {
    pub uptime: i64,
    pub loads: [u64; 3],
    pub totalram: u64,
    pub freeram: u64,
    pub sharedram: u64,
    pub bufferram: u64,
    pub totalswap: u64,
    pub freeswap: u64,
    pub procs: u16,
    pub pad: u16,
    pub totalhigh: u64,
    pub freehigh: u64,
    pub mem_unit: u32,
    pub _f: [u8; 4],
}
const _: () = assert!(core::mem::size_of::<Sysinfo>() == 112);

pub const NSEC_PER_SEC: i64 = 1_000_000_000;

impl Timespec {
    /// Checks a guest-supplied timespec as the kernel's `timespec64_valid` does.
    pub fn is_valid(&self) -> bool {
        self.sec >= 0 && (0..NSEC_PER_SEC).contains(&self.nsec)
    }
}

/// Rounds `v` up to a page boundary; `None` on overflow.
pub fn page_round_up(v: u64) -> Option<u64> {
    v.checked_add(PAGE_SIZE - 1).map(|x| x & !(PAGE_SIZE - 1))
}

pub fn page_round_down(v: u64) -> u64 {
    v & !(PAGE_SIZE - 1)
}

pub fn is_page_aligned(v: u64) -> bool {
    v & (PAGE_SIZE - 1) == 0
}
