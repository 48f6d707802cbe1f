//! The one module that touches guest memory.
//!
//! Guest and runtime share an address space, so a guest pointer is an
//! ordinary address — but one the guest chose. Every access is checked
//! against the guest's memory map (`mm.rs`) first; an address the guest has
//! not mapped, or not with the needed protection, is EFAULT, exactly where
//! Linux's `copy_from_user` would fail. Nothing here can fault on a bad
//! guest pointer.
#![allow(unsafe_code)]

use crate::error::Result;
use crate::return_errno;

/// Plain data that may be copied to and from guest memory byte for byte.
///
/// # Safety
/// Implementors must be `repr(C)` (or primitive), have no padding that
/// matters to the guest, and accept every bit pattern.
pub unsafe trait Pod: Copy + 'static {}

macro_rules! pod {
    ($($t:ty),* $(,)?) => { $(
        // SAFETY: primitive or repr(C) ABI struct of integers; any bit pattern is valid.
        unsafe impl Pod for $t {}
    )* };
}

pod!(u8, u16, u32, u64, i16, i32, i64, [u8; 16], [u32; 2], [i32; 2], [u64; 2], [u64; 4], [i64; 4]);
pod!(crate::abi::Timespec, crate::abi::Timeval, crate::abi::Iovec, crate::abi::signal::KernelSigaction);
pod!(crate::abi::Sysinfo);
pod!(crate::host::Winsize, crate::host::flags::LinuxTermios);
pod!(
    linux_raw_sys::general::stat,
    linux_raw_sys::general::statx,
    linux_raw_sys::general::statfs,
    linux_raw_sys::general::rlimit,
    linux_raw_sys::general::rlimit64,
    linux_raw_sys::general::rusage,
    linux_raw_sys::general::flock,
    linux_raw_sys::general::timezone,
    linux_raw_sys::system::new_utsname,
);

enum Access {
    Read,
    Write,
}

fn check(addr: u64, len: usize, access: Access) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    let Some(end) = addr.checked_add(len as u64) else { return_errno!(EFAULT) };
    let mm = crate::task::current().mm.lock().unwrap_or_else(|e| e.into_inner());
    let ok = match access {
        Access::Read => mm.check(addr, end, |v| v.prot.read),
        Access::Write => mm.check(addr, end, |v| v.prot.write),
    };
    if ok { Ok(()) } else { Err(crate::errno!(EFAULT)) }
}

/// Runs `f` on the guest bytes `[addr, addr+len)`, which must be readable.
pub fn with_slice<R>(addr: u64, len: usize, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
    check(addr, len, Access::Read)?;
    if len == 0 {
        return Ok(f(&[]));
    }
    // SAFETY: the range is mapped readable in the guest's map, which mirrors
    // the host mappings the runtime made for the guest.
    Ok(f(unsafe { core::slice::from_raw_parts(addr as *const u8, len) }))
}

/// Runs `f` on the guest bytes `[addr, addr+len)`, which must be writable.
pub fn with_slice_mut<R>(addr: u64, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> Result<R> {
    check(addr, len, Access::Write)?;
    if len == 0 {
        return Ok(f(&mut []));
    }
    // SAFETY: as in `with_slice`, and writable in the guest's map.
    Ok(f(unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, len) }))
}

pub fn read_bytes(addr: u64, len: usize) -> Result<Vec<u8>> {
    with_slice(addr, len, |s| s.to_vec())
}

pub fn write_bytes(addr: u64, data: &[u8]) -> Result<()> {
    with_slice_mut(addr, data.len(), |s| s.copy_from_slice(data))
}

pub fn read<T: Pod>(addr: u64) -> Result<T> {
    check(addr, core::mem::size_of::<T>(), Access::Read)?;
    // SAFETY: checked readable; T accepts any bit pattern; unaligned read.
    Ok(unsafe { core::ptr::read_unaligned(addr as *const T) })
}

pub fn write<T: Pod>(addr: u64, v: &T) -> Result<()> {
    check(addr, core::mem::size_of::<T>(), Access::Write)?;
    // SAFETY: checked writable; unaligned write of plain data.
    unsafe { core::ptr::write_unaligned(addr as *mut T, *v) };
    Ok(())
}

/// The bytes of a value, e.g. to write part of a struct.
pub fn bytes_of<T: Pod>(v: &T) -> &[u8] {
    // SAFETY: T is plain data; reading its bytes is fine.
    unsafe { core::slice::from_raw_parts((v as *const T).cast::<u8>(), core::mem::size_of::<T>()) }
}

/// A zero-initialised value of a Pod type.
pub fn zeroed<T: Pod>() -> T {
    // SAFETY: Pod types accept the all-zero bit pattern.
    unsafe { core::mem::zeroed() }
}

/// Reads a NUL-terminated string of at most `max` bytes (without the NUL).
/// Longer strings are ENAMETOOLONG, as for paths.
pub fn read_cstr(addr: u64, max: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = addr;
    loop {
        // Copy page by page so that a string ending just before an unmapped page works.
        let page_end = (at | (crate::abi::PAGE_SIZE - 1)) + 1;
        let chunk = (page_end - at) as usize;
        let found = with_slice(at, chunk, |s| {
            if let Some(n) = s.iter().position(|&b| b == 0) {
                out.extend_from_slice(&s[..n]);
                true
            } else {
                out.extend_from_slice(s);
                false
            }
        })?;
        if out.len() > max {
            return Err(crate::errno!(ENAMETOOLONG));
        }
        if found {
            return Ok(out);
        }
        at = page_end;
    }
}

/// Linux's limit on one argv or envp string, its NUL included (MAX_ARG_STRLEN).
pub const MAX_ARG_STRLEN: usize = 32 * crate::abi::PAGE_SIZE as usize;

/// Reads a NULL-terminated array of string pointers (argv, envp) as execve
/// does: E2BIG for a string longer than MAX_ARG_STRLEN or a total beyond
/// `max_total`.
pub fn read_cstr_array(addr: u64, max_total: usize) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut total = 0usize;
    if addr == 0 {
        return Ok(out);
    }
    for i in 0u64.. {
        let p: u64 = read(addr + i * 8)?;
        if p == 0 {
            break;
        }
        let s = read_cstr(p, MAX_ARG_STRLEN - 1).map_err(|e| {
            if e.errno == crate::abi::Errno::ENAMETOOLONG { crate::errno!(E2BIG, "an argument or environment string exceeds 128 KiB") } else { e }
        })?;
        total += s.len() + 1;
        if total > max_total {
            return Err(crate::errno!(E2BIG));
        }
        out.push(s);
    }
    Ok(out)
}

/// Zeroes memory the loader has just mapped writable, before the guest's map
/// records it (the tail of a segment's last file page that belongs to .bss).
pub fn zero_fresh_mapping(addr: u64, len: u64) {
    // SAFETY: the loader mapped [addr, addr+len) read-write a moment ago and
    // nothing else refers to it yet.
    unsafe { core::ptr::write_bytes(addr as *mut u8, 0, len as usize) };
}

/// Copies bytes into a fresh guest stack the loader has just mapped.
pub fn copy_to_fresh_mapping(addr: u64, data: &[u8]) {
    // SAFETY: as `zero_fresh_mapping`; the caller keeps within the mapping.
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), addr as *mut u8, data.len()) };
}

/// The guest's 32-bit word at `addr` as an atomic, after checking that it
/// is mapped writable. For futex words, which other threads change
/// concurrently.
fn atomic_u32(addr: u64) -> Result<&'static core::sync::atomic::AtomicU32> {
    if addr % 4 != 0 {
        return Err(crate::errno!(EINVAL, "futex word must be 4-byte aligned"));
    }
    check(addr, 4, Access::Write)?;
    // SAFETY: checked writable and aligned; guest memory outlives the call
    // as far as the guest's map says (a racing munmap is the guest's own
    // doing, as with any access here).
    Ok(unsafe { &*(addr as *const core::sync::atomic::AtomicU32) })
}

/// Compare-and-exchange on a guest word: stores `new` if it holds `old`;
/// returns the value it held.
pub fn cmpxchg_u32(addr: u64, old: u32, new: u32) -> Result<u32> {
    use core::sync::atomic::Ordering::SeqCst;
    let w = atomic_u32(addr)?;
    Ok(match w.compare_exchange(old, new, SeqCst, SeqCst) {
        Ok(v) | Err(v) => v,
    })
}

/// Atomically replaces the guest word with `f(old)`; returns the old value.
pub fn fetch_update_u32(addr: u64, f: impl Fn(u32) -> u32) -> Result<u32> {
    use core::sync::atomic::Ordering::SeqCst;
    let w = atomic_u32(addr)?;
    Ok(match w.fetch_update(SeqCst, SeqCst, |v| Some(f(v))) {
        Ok(v) | Err(v) => v,
    })
}
