//! The one module that touches guest memory.
//!
//! Guest and runtime share an address space, so a guest pointer is an
//! ordinary address — but one the guest chose, and one another guest thread
//! may munmap, mprotect or mremap at any moment. Two rules keep the runtime
//! alive whatever the guest does:
//!
//! 1. Every access is checked against the guest's memory map (`mm.rs`)
//!    first; an address the guest has not mapped, or not with the needed
//!    protection, is EFAULT, exactly where Linux's `copy_from_user` would
//!    fail. This also keeps the runtime's own mappings (guard pages, signal
//!    stacks) out of reach.
//! 2. The map is not locked during the access itself (a `read` on a pipe may
//!    sleep with the buffer), so the range may vanish between check and use.
//!    Every byte is therefore moved by a fault-tolerant routine
//!    (`host::uaccess`, Linux's exception-table scheme): a fault inside it is
//!    resumed at a fixup label by the trap, and the copy fails with EFAULT.
//!    Host I/O on a guest buffer hands the pointer to the host kernel, which
//!    checks it itself and returns EFAULT without faulting us.
//!
//! Nothing here dereferences guest memory with a plain Rust access, and
//! nothing hands out a Rust reference to it. Remaining hazard (documented in
//! docs/architecture.md): if a racing munmap is followed by a mapping of the
//! *runtime's* at the same address before the copy runs, the copy reaches
//! runtime memory; closing that needs a guest address allocator that never
//! returns guest ranges to the host.
#![allow(unsafe_code)]

use crate::error::Result;
use crate::host::{self, HostFd};
use crate::{errno, return_errno_with_message};

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
pod!(crate::abi::ipc::Shmid64Ds, crate::abi::ipc::Semid64Ds, crate::abi::ipc::Msqid64Ds, crate::abi::ipc::ShmInfo, crate::abi::ipc::Msginfo, crate::abi::ipc::Sembuf);
pod!([u64; 9], [i32; 10]);
pod!(crate::abi::net::MsgHdr, crate::abi::net::MmsgHdr, crate::abi::net::Ucred, crate::abi::net::Linger);
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
    let Some(end) = addr.checked_add(len as u64) else { return_errno_with_message!(EFAULT, "the range wraps around the address space") };
    let mm = crate::task::current().mm.lock().unwrap_or_else(|e| e.into_inner());
    let ok = match access {
        Access::Read => mm.check(addr, end, |v| v.prot.read),
        Access::Write => mm.check(addr, end, |v| v.prot.write),
    };
    if ok { Ok(()) } else { Err(errno!(EFAULT)) }
}

/// EFAULT unless the guest has `[addr, addr+len)` mapped readable (for a
/// call that must fail before it has side effects).
pub fn check_readable(addr: u64, len: usize) -> Result<()> {
    check(addr, len, Access::Read)
}

/// EFAULT unless the guest has `[addr, addr+len)` mapped writable.
pub fn check_writable(addr: u64, len: usize) -> Result<()> {
    check(addr, len, Access::Write)
}

/// Moves bytes between runtime memory and a checked guest range; EFAULT if
/// the guest range went away in the meantime.
fn raw_copy(dst: *mut u8, src: *const u8, len: usize) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    // SAFETY: the caller passes one side as a runtime slice of `len` bytes
    // and the other as a guest range checked against the guest's map; a
    // fault on the guest side is fixed up by the trap.
    let left = unsafe { host::uaccess::copy(dst, src, len) };
    if left == 0 { Ok(()) } else { Err(errno!(EFAULT, "guest memory was unmapped or protected during the copy")) }
}

/// Copies `dst.len()` bytes of guest memory at `src` into `dst`
/// (`copy_from_user`).
pub fn copy_from_guest(dst: &mut [u8], src: u64) -> Result<()> {
    check(src, dst.len(), Access::Read)?;
    raw_copy(dst.as_mut_ptr(), src as *const u8, dst.len())
}

/// Copies `src` into guest memory at `dst` (`copy_to_user`).
pub fn copy_to_guest(dst: u64, src: &[u8]) -> Result<()> {
    check(dst, src.len(), Access::Write)?;
    raw_copy(dst as *mut u8, src.as_ptr(), src.len())
}

/// Runs `f` on a copy of the guest bytes `[addr, addr+len)`, which must be
/// readable. The copy is the runtime's own: `f` never sees guest memory
/// that could change or vanish under it.
pub fn with_slice<R>(addr: u64, len: usize, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
    Ok(f(&read_bytes(addr, len)?))
}

/// The guest bytes `[addr, addr+len)`, copied.
pub fn read_bytes(addr: u64, len: usize) -> Result<Vec<u8>> {
    check(addr, len, Access::Read)?;
    let mut v = vec![0u8; len];
    raw_copy(v.as_mut_ptr(), addr as *const u8, len)?;
    Ok(v)
}

/// Copies `data` into guest memory at `addr`.
pub fn write_bytes(addr: u64, data: &[u8]) -> Result<()> {
    copy_to_guest(addr, data)
}

/// Reads a plain value from guest memory (unaligned is fine).
pub fn read<T: Pod>(addr: u64) -> Result<T> {
    let mut v = zeroed::<T>();
    // An aligned 32-bit word (a futex word) is read with one load, as
    // Linux's get_user does, so a concurrent store is never seen half done
    // (the byte copy could tear it).
    if core::mem::size_of::<T>() == 4 && addr % 4 == 0 {
        bytes_of_mut(&mut v).copy_from_slice(&read_u32_atomic(addr)?.to_ne_bytes());
        return Ok(v);
    }
    copy_from_guest(bytes_of_mut(&mut v), addr)?;
    Ok(v)
}

/// Writes a plain value into guest memory (unaligned is fine).
pub fn write<T: Pod>(addr: u64, v: &T) -> Result<()> {
    copy_to_guest(addr, bytes_of(v))
}

fn check_u32_word(addr: u64, access: Access) -> Result<()> {
    if addr % 4 != 0 {
        return_errno_with_message!(EINVAL, "the 32-bit word is not 4-byte aligned");
    }
    check(addr, 4, access)
}

/// One atomic 4-byte load of an aligned guest word (a futex value): EINVAL
/// if unaligned, EFAULT if not readable.
pub fn read_u32_atomic(addr: u64) -> Result<u32> {
    check_u32_word(addr, Access::Read)?;
    // SAFETY: aligned, checked guest range; a fault is fixed up.
    unsafe { host::uaccess::load_u32(addr) }.ok_or_else(|| errno!(EFAULT, "guest memory was unmapped during the load"))
}

/// Atomically replaces the aligned guest word at `addr` with `new` if it
/// holds `expected`; returns the value it held (the exchange happened iff
/// that equals `expected`), as Linux's `futex_atomic_cmpxchg_inatomic`.
/// EINVAL if unaligned, EFAULT if not writable (or unmapped meanwhile).
pub fn cmpxchg_u32(addr: u64, expected: u32, new: u32) -> Result<u32> {
    check_u32_word(addr, Access::Write)?;
    // SAFETY: aligned, checked guest range; a fault is fixed up.
    unsafe { host::uaccess::cmpxchg_u32(addr, expected, new) }
        .ok_or_else(|| errno!(EFAULT, "guest memory was unmapped during the exchange"))
}

/// Atomically replaces the aligned guest word at `addr` with `f(old)`;
/// returns the old value (`FUTEX_WAKE_OP`'s `futex_atomic_op_inuser`).
/// A compare-exchange loop, so `f` may run more than once.
pub fn fetch_update_u32(addr: u64, f: impl Fn(u32) -> u32) -> Result<u32> {
    let mut cur = read_u32_atomic(addr)?;
    loop {
        let seen = cmpxchg_u32(addr, cur, f(cur))?;
        if seen == cur {
            return Ok(cur);
        }
        cur = seen;
    }
}

/// Atomically replaces the guest byte at `addr` with `new` if it holds
/// `expected`, without consulting the guest's map (the caller has: the
/// fs→gs patch writes guest code the guest may map read-only but the host
/// keeps writable); returns the byte it held, or None if the access faulted.
pub fn cmpxchg_code_byte(addr: u64, expected: u8, new: u8) -> Option<u8> {
    // SAFETY: a guest code address the caller found in the guest's map; a
    // fault (the code unmapped since) is fixed up.
    unsafe { host::uaccess::cmpxchg_u8(addr, expected, new) }
}

/// Writes guest code bytes (the tail of a rewritten syscall site), without
/// consulting the guest's map (the caller has, as for
/// [`cmpxchg_code_byte`]); false if the access faulted.
pub fn write_code_bytes(addr: u64, bytes: &[u8]) -> bool {
    raw_copy(addr as *mut u8, bytes.as_ptr(), bytes.len()).is_ok()
}

/// Copies guest code bytes for decoding, without consulting the guest's
/// map (the caller has: code may be mapped execute-only); false if the
/// access faulted.
pub fn copy_code_bytes(dst: &mut [u8], src: u64) -> bool {
    raw_copy(dst.as_mut_ptr(), src as *const u8, dst.len()).is_ok()
}

/// Reads host fd `fd` into the guest buffer `[addr, addr+len)`: the host
/// kernel writes guest memory directly (no bounce copy) and returns EFAULT
/// itself if the buffer goes away while it sleeps.
pub fn host_read(fd: HostFd, addr: u64, len: usize) -> Result<usize> {
    check(addr, len, Access::Write)?;
    // SAFETY: a guest range checked against the guest's map, never runtime memory.
    unsafe { host::fs::read_raw(fd, addr, len) }.map_err(crate::error::Error::new)
}

/// Writes the guest buffer `[addr, addr+len)` to host fd `fd`, as [`host_read`].
pub fn host_write(fd: HostFd, addr: u64, len: usize) -> Result<usize> {
    check(addr, len, Access::Read)?;
    // SAFETY: as `host_read`.
    unsafe { host::fs::write_raw(fd, addr, len) }.map_err(crate::error::Error::new)
}

/// `pread` from host fd `fd` into the guest buffer, as [`host_read`].
pub fn host_pread(fd: HostFd, addr: u64, len: usize, off: i64) -> Result<usize> {
    check(addr, len, Access::Write)?;
    // SAFETY: as `host_read`.
    unsafe { host::fs::pread_raw(fd, addr, len, off) }.map_err(crate::error::Error::new)
}

/// `pwrite` of the guest buffer to host fd `fd`, as [`host_read`].
pub fn host_pwrite(fd: HostFd, addr: u64, len: usize, off: i64) -> Result<usize> {
    check(addr, len, Access::Read)?;
    // SAFETY: as `host_read`.
    unsafe { host::fs::pwrite_raw(fd, addr, len, off) }.map_err(crate::error::Error::new)
}

/// The size of the runtime buffer that data made by the runtime itself
/// (/dev/zero, /dev/urandom, getrandom) passes through on its way to the
/// guest: big copies go in pieces of this size.
pub const BOUNCE_SIZE: usize = 64 * 1024;

/// Fills the guest buffer `[addr, addr+len)` piece by piece with what
/// `fill` produces into a runtime buffer (it returns how many bytes it
/// made; fewer than asked ends the fill, as at the end of a file). Returns
/// the bytes delivered. A fault after some pieces returns the bytes
/// delivered so far, as Linux's read paths do, or EFAULT if none were.
pub fn fill_guest(addr: u64, len: usize, mut fill: impl FnMut(&mut [u8]) -> Result<usize>) -> Result<usize> {
    check(addr, len, Access::Write)?;
    let mut bounce = vec![0u8; len.min(BOUNCE_SIZE)];
    let mut done = 0usize;
    while done < len {
        let want = (len - done).min(BOUNCE_SIZE);
        let piece = &mut bounce[..want];
        let n = fill(piece)?.min(want);
        if let Err(e) = copy_to_guest(addr + done as u64, &piece[..n]) {
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        done += n;
        if n < want {
            break;
        }
    }
    Ok(done)
}

/// The bytes of a value, e.g. to write part of a struct.
pub fn bytes_of<T: Pod>(v: &T) -> &[u8] {
    // SAFETY: T is plain data; reading its bytes is fine.
    unsafe { core::slice::from_raw_parts((v as *const T).cast::<u8>(), core::mem::size_of::<T>()) }
}

fn bytes_of_mut<T: Pod>(v: &mut T) -> &mut [u8] {
    // SAFETY: T is plain data that accepts any bit pattern.
    unsafe { core::slice::from_raw_parts_mut((v as *mut T).cast::<u8>(), core::mem::size_of::<T>()) }
}

/// A zero-initialised value of a Pod type.
pub fn zeroed<T: Pod>() -> T {
    // SAFETY: Pod types accept the all-zero bit pattern.
    unsafe { core::mem::zeroed() }
}

/// Reads a NUL-terminated string of at most `max` bytes (without the NUL).
/// Longer strings are ENAMETOOLONG, as for paths.
pub fn read_cstr(addr: u64, max: usize) -> Result<Vec<u8>> {
    // Small pieces keep the common short path cheap; a piece never crosses
    // a page, so a string ending just before an unmapped page works.
    const PIECE: u64 = 256;
    let mut out = Vec::new();
    let mut at = addr;
    let mut piece = [0u8; PIECE as usize];
    loop {
        let Some(page_end) = (at | (crate::abi::PAGE_SIZE - 1)).checked_add(1) else { return Err(errno!(EFAULT)) };
        let n = (page_end - at).min(PIECE) as usize;
        let buf = &mut piece[..n];
        copy_from_guest(buf, at)?;
        let nul = buf.iter().position(|&b| b == 0);
        out.extend_from_slice(&buf[..nul.unwrap_or(n)]);
        if out.len() > max {
            return Err(errno!(ENAMETOOLONG));
        }
        if nul.is_some() {
            return Ok(out);
        }
        at += n as u64;
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
            if e.errno == crate::abi::Errno::ENAMETOOLONG { errno!(E2BIG, "an argument or environment string exceeds 128 KiB") } else { e }
        })?;
        total += s.len() + 1;
        if total > max_total {
            return Err(errno!(E2BIG));
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
