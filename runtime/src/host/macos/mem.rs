//! Memory calls that differ between hosts (macOS side).
//!
//! macOS has no `mremap` and its `MADV_DONTNEED` does not zero private
//! pages, so both are emulated with Mach VM calls (`mach_vm_remap`,
//! `mach_vm_region`, declared here because the libc crate does not carry them;
//! see <https://github.com/apple-oss-distributions/xnu/blob/main/osfmk/mach/mach_vm.defs>).

use crate::abi::Errno;
use crate::host::HostResult;

type KernReturn = libc::c_int;
const KERN_SUCCESS: KernReturn = 0;
/// `VM_REGION_BASIC_INFO_64` (mach/vm_region.h).
const VM_REGION_BASIC_INFO_64: libc::c_int = 9;

/// `struct vm_region_basic_info_64`, declared under `#pragma pack(4)`.
#[repr(C, packed(4))]
#[derive(Default)]
struct RegionBasicInfo64 {
    protection: libc::c_int,
    max_protection: libc::c_int,
    inheritance: libc::c_uint,
    shared: libc::c_uint,
    reserved: libc::c_uint,
    offset: u64,
    behavior: libc::c_int,
    user_wired_count: u16,
}
const REGION_BASIC_INFO_64_COUNT: u32 = (core::mem::size_of::<RegionBasicInfo64>() / 4) as u32;
const _: () = assert!(core::mem::size_of::<RegionBasicInfo64>() == 36);

/// `VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE` and `VM_INHERIT_COPY` (mach/vm_statistics.h,
/// mach/vm_inherit.h); the libc crate marks its Mach items deprecated.
const VM_FLAGS_FIXED_OVERWRITE: libc::c_int = 0x4000;
const VM_INHERIT_COPY: libc::c_uint = 1;

extern "C" {
    /// The task's own port, what `mach_task_self()` expands to.
    static mach_task_self_: libc::mach_port_t;
    fn mach_vm_remap(
        target_task: libc::mach_port_t,
        target_address: *mut u64,
        size: u64,
        mask: u64,
        flags: libc::c_int,
        src_task: libc::mach_port_t,
        src_address: u64,
        copy: libc::c_int,
        cur_protection: *mut libc::c_int,
        max_protection: *mut libc::c_int,
        inheritance: libc::c_uint,
    ) -> KernReturn;
    fn mach_vm_region(
        target_task: libc::mach_port_t,
        address: *mut u64,
        size: *mut u64,
        flavor: libc::c_int,
        info: *mut libc::c_int,
        info_count: *mut u32,
        object_name: *mut libc::mach_port_t,
    ) -> KernReturn;
}

fn task_self() -> libc::mach_port_t {
    // SAFETY: set once by libsystem before main and never written again.
    unsafe { mach_task_self_ }
}

fn check_mmap(p: *mut libc::c_void) -> HostResult<u64> {
    if p == libc::MAP_FAILED { Err(super::errno::last()) } else { Ok(p as u64) }
}

fn anon(addr: u64, len: u64, prot: libc::c_int, fixed: bool) -> HostResult<u64> {
    let fl = libc::MAP_PRIVATE | libc::MAP_ANON | if fixed { libc::MAP_FIXED } else { 0 };
    // SAFETY: anonymous mapping; a fixed one only replaces guest memory the caller owns.
    check_mmap(unsafe { libc::mmap(addr as *mut libc::c_void, len as usize, prot, fl, -1, 0) })
}

/// Maps `size` bytes of read-write memory aligned to `size` (a power of two).
pub fn map_aligned(size: u64) -> HostResult<u64> {
    let start = anon(0, size * 2, libc::PROT_READ | libc::PROT_WRITE, false)?;
    let aligned = (start + size - 1) & !(size - 1);
    // SAFETY: trimming the parts of our own fresh mapping outside the aligned window.
    unsafe {
        if aligned > start {
            libc::munmap(start as *mut libc::c_void, (aligned - start) as usize);
        }
        let end = start + size * 2;
        if end > aligned + size {
            libc::munmap((aligned + size) as *mut libc::c_void, (end - aligned - size) as usize);
        }
    }
    Ok(aligned)
}

/// Moves or resizes a mapping (`mremap`); `may_move` is MREMAP_MAYMOVE.
///
/// Shrinking unmaps the tail. Growing first tries to extend in place with
/// anonymous pages (only if the pages after the mapping are free); otherwise,
/// with `may_move`, the old pages are moved by `mach_vm_remap` (copy = false,
/// so shared mappings stay shared and private pages keep their contents) into
/// a fresh region whose tail is anonymous.
// lossy: growing a *file* mapping extends it with zero pages, where Linux
// would map more of the file; glibc's realloc only mremaps anonymous memory.
pub fn remap(old: u64, old_len: u64, new_len: u64, may_move: bool, fixed_to: Option<u64>) -> HostResult<u64> {
    let rw = libc::PROT_READ | libc::PROT_WRITE;
    if fixed_to.is_none() && new_len <= old_len {
        if new_len < old_len {
            crate::host::mem::unmap(old + new_len, old_len - new_len)?;
        }
        return Ok(old);
    }
    if fixed_to.is_none() {
        let tail = old.checked_add(old_len).ok_or(Errno::ENOMEM)?;
        let extra = new_len - old_len;
        if let Ok(got) = anon(tail, extra, rw, false) {
            if got == tail {
                return Ok(old);
            }
            crate::host::mem::unmap(got, extra)?;
        }
        if !may_move {
            return Err(Errno::ENOMEM);
        }
    }
    let dest = match fixed_to {
        Some(a) => anon(a, new_len, rw, true)?,
        None => anon(0, new_len, rw, false)?,
    };
    let mut target = dest;
    let (mut cur, mut max) = (0, 0);
    // SAFETY: replaces the first `min(old_len, new_len)` bytes of our fresh
    // `dest` region with the pages of the old guest mapping.
    let kr = unsafe {
        mach_vm_remap(
            task_self(),
            &mut target,
            old_len.min(new_len),
            0,
            VM_FLAGS_FIXED_OVERWRITE,
            task_self(),
            old,
            0,
            &mut cur,
            &mut max,
            VM_INHERIT_COPY,
        )
    };
    if kr != KERN_SUCCESS || target != dest {
        let _ = crate::host::mem::unmap(dest, new_len);
        return Err(Errno::ENOMEM);
    }
    crate::host::mem::unmap(old, old_len)?;
    Ok(dest)
}

/// Zeroes the private pages of a range the way Linux `MADV_DONTNEED` does:
/// each piece is replaced by fresh anonymous memory with its current protection.
/// Shared pieces are only advised, as their contents must survive (Linux
/// re-reads them from the shared object).
// lossy: a *private file* mapping reads back zeroes afterwards, where Linux
// re-reads the file; the host layer cannot tell file from anonymous memory.
fn dont_need(addr: u64, len: u64) -> HostResult<()> {
    let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
    let mut at = addr;
    while at < end {
        let (mut start, mut size) = (at, 0u64);
        let mut info = RegionBasicInfo64::default();
        let mut count = REGION_BASIC_INFO_64_COUNT;
        let mut object: libc::mach_port_t = 0;
        // SAFETY: out-parameters sized per VM_REGION_BASIC_INFO_64_COUNT.
        let kr = unsafe {
            mach_vm_region(
                task_self(),
                &mut start,
                &mut size,
                VM_REGION_BASIC_INFO_64,
                (&mut info as *mut RegionBasicInfo64).cast(),
                &mut count,
                &mut object,
            )
        };
        if kr != KERN_SUCCESS || start >= end {
            break;
        }
        let piece_start = start.max(at);
        let piece_end = start.saturating_add(size).min(end);
        let (prot, shared) = (info.protection, info.shared);
        if shared != 0 {
            // SAFETY: the caller checked the range is guest memory.
            unsafe { libc::madvise(piece_start as *mut libc::c_void, (piece_end - piece_start) as usize, libc::MADV_DONTNEED) };
        } else {
            anon(piece_start, piece_end - piece_start, prot & (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC), true)?;
        }
        at = piece_end;
    }
    Ok(())
}

/// `madvise` with a Linux advice value; advice the host cannot act on is accepted and ignored.
pub fn advise(addr: u64, len: u64, linux_advice: u32) -> HostResult<()> {
    use linux_raw_sys::general as g;
    let host = match linux_advice {
        g::MADV_NORMAL => libc::MADV_NORMAL,
        g::MADV_RANDOM => libc::MADV_RANDOM,
        g::MADV_SEQUENTIAL => libc::MADV_SEQUENTIAL,
        g::MADV_WILLNEED => libc::MADV_WILLNEED,
        g::MADV_DONTNEED => return dont_need(addr, len),
        // Linux MADV_FREE (8) is macOS MADV_FREE (5): contents may stay until reclaimed, on both.
        g::MADV_FREE => libc::MADV_FREE,
        _ => return Ok(()),
    };
    // SAFETY: the caller checked the range is guest memory.
    let r = unsafe { libc::madvise(addr as *mut libc::c_void, len as usize, host) };
    if r < 0 { Err(super::errno::last()) } else { Ok(()) }
}

/// Maps `len` bytes of read-write-execute memory for the runtime's own
/// code exactly at `addr`, or fails if the host put it elsewhere (the
/// stubs of rewritten syscall sites; unused while this host has no
/// direct entry, see host/macos/trap.rs).
pub fn map_code_at(addr: u64, len: u64) -> HostResult<u64> {
    let got = anon(addr, len, libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC, false)?;
    if got != addr {
        // SAFETY: unmapping what we just mapped.
        unsafe { libc::munmap(got as *mut libc::c_void, len as usize) };
        return Err(crate::abi::Errno::EEXIST);
    }
    Ok(addr)
}

/// A host fd of `len` zeroed bytes of memory that any process holding it
/// can map shared, for state kept in shared memory that must be mapped
/// again after execve (`SharedWords`): a POSIX shared memory object,
/// unlinked at once (macOS has no memfd), close-on-exec as shm_open makes it.
pub fn shared_memory_fd(len: usize) -> HostResult<crate::host::HostFd> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    // A name unique to this process (PSHMNAMLEN is 31 bytes); a clash with
    // a leftover of a process that died between open and unlink is retried.
    for _ in 0..16 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = std::ffi::CString::new(format!("/mactux.{}.{n}", crate::host::process::host_pid())).unwrap_or_default();
        // SAFETY: a valid NUL-terminated name; O_EXCL makes a new object.
        let fd = unsafe { libc::shm_open(name.as_ptr(), libc::O_RDWR | libc::O_CREAT | libc::O_EXCL, 0o600 as libc::c_uint) };
        if fd < 0 {
            let e = super::errno::last();
            if e == Errno::EEXIST {
                continue;
            }
            return Err(e);
        }
        // SAFETY: the name just made; the open fd keeps the object.
        unsafe { libc::shm_unlink(name.as_ptr()) };
        // SAFETY: plain call on the fd just made (macOS allows one ftruncate of a shm object).
        if unsafe { libc::ftruncate(fd, len as libc::off_t) } < 0 {
            let e = super::errno::last();
            crate::host::fs::close(fd);
            return Err(e);
        }
        crate::host::fs::set_host_cloexec(fd, true)?;
        return Ok(fd);
    }
    Err(Errno::EEXIST)
}

/// Whether `fd` (whose stat is `st`) is shared memory whose size no
/// process can change: a POSIX shared memory object, which macOS lets be
/// sized only once ([`shared_memory_fd`] sizes it at once). Checked before
/// the runtime maps an fd another process sent it.
pub fn is_fixed_shared_memory(_fd: crate::host::HostFd, st: &crate::host::HostStat) -> bool {
    // A POSIX shared memory object is neither a regular file nor any other
    // kind a path can name: fstat gives it no file type bits.
    st.mode & u32::from(libc::S_IFMT) == 0
}
