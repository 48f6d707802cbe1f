//! Memory calls that differ between hosts (Linux side).

use crate::host::HostResult;

/// Maps `size` bytes of read-write memory aligned to `size` (a power of two).
pub fn map_aligned(size: u64) -> HostResult<u64> {
    let len = (size * 2) as usize;
    // SAFETY: anonymous private mapping at an address of the host's choice.
    let p = unsafe {
        libc::mmap(core::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE, -1, 0)
    };
    if p == libc::MAP_FAILED {
        return Err(super::errno::last());
    }
    let start = p as u64;
    let aligned = (start + size - 1) & !(size - 1);
    // SAFETY: trimming the parts of our own fresh mapping outside the aligned window.
    unsafe {
        if aligned > start {
            libc::munmap(p, (aligned - start) as usize);
        }
        let end = start + size * 2;
        if end > aligned + size {
            libc::munmap((aligned + size) as *mut libc::c_void, (end - aligned - size) as usize);
        }
    }
    Ok(aligned)
}

/// Moves or resizes a mapping (`mremap`); `may_move` is MREMAP_MAYMOVE.
pub fn remap(old: u64, old_len: u64, new_len: u64, may_move: bool, fixed_to: Option<u64>) -> HostResult<u64> {
    let mut fl = if may_move { libc::MREMAP_MAYMOVE } else { 0 };
    let new_addr = match fixed_to {
        Some(a) => {
            fl |= libc::MREMAP_FIXED;
            a
        }
        None => 0,
    };
    // SAFETY: the caller checked that the old range is guest memory.
    let p = unsafe { libc::mremap(old as *mut libc::c_void, old_len as usize, new_len as usize, fl, new_addr as *mut libc::c_void) };
    if p == libc::MAP_FAILED { Err(super::errno::last()) } else { Ok(p as u64) }
}

/// `madvise` with a Linux advice value; advice the host cannot act on is accepted and ignored.
pub fn advise(addr: u64, len: u64, linux_advice: u32) -> HostResult<()> {
    use linux_raw_sys::general as g;
    let host = match linux_advice {
        g::MADV_NORMAL => libc::MADV_NORMAL,
        g::MADV_RANDOM => libc::MADV_RANDOM,
        g::MADV_SEQUENTIAL => libc::MADV_SEQUENTIAL,
        g::MADV_WILLNEED => libc::MADV_WILLNEED,
        g::MADV_DONTNEED => libc::MADV_DONTNEED,
        g::MADV_FREE => libc::MADV_FREE,
        _ => return Ok(()),
    };
    // SAFETY: the caller checked the range is guest memory.
    let r = unsafe { libc::madvise(addr as *mut libc::c_void, len as usize, host) };
    if r < 0 { Err(super::errno::last()) } else { Ok(()) }
}

/// Maps `len` bytes of read-write-execute memory for the runtime's own
/// code exactly at `addr`, or fails if anything is mapped there
/// (MAP_FIXED_NOREPLACE: the stubs of rewritten syscall sites, which must
/// lie within a 32-bit displacement of their site).
pub fn map_code_at(addr: u64, len: u64) -> HostResult<u64> {
    let prot = libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC;
    let fl = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE;
    // SAFETY: an anonymous mapping that replaces nothing.
    let p = unsafe { libc::mmap(addr as *mut libc::c_void, len as usize, prot, fl, -1, 0) };
    if p == libc::MAP_FAILED {
        return Err(super::errno::last());
    }
    if p as u64 != addr {
        // A kernel before 4.17 takes the flag for a hint.
        // SAFETY: unmapping what we just mapped.
        unsafe { libc::munmap(p, len as usize) };
        return Err(crate::abi::Errno::EEXIST);
    }
    Ok(addr)
}

/// A host fd of `len` zeroed bytes of memory that any process holding it
/// can map shared (a memfd, close-on-exec), for state kept in shared memory
/// that must be mapped again after execve (`SharedWords`).
pub fn shared_memory_fd(len: usize) -> HostResult<crate::host::HostFd> {
    // SAFETY: a valid NUL-terminated name; the kernel makes a new file.
    let fd = unsafe { libc::memfd_create(c"mactux-shared".as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(super::errno::last());
    }
    // Its size is sealed: a process it is passed to maps it knowing that no
    // one can shrink it under the mapping (`is_fixed_shared_memory`).
    let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
    // SAFETY: plain calls on the fd just made.
    if unsafe { libc::ftruncate(fd, len as libc::off_t) } < 0 || unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, seals) } < 0 {
        let e = super::errno::last();
        crate::host::fs::close(fd);
        return Err(e);
    }
    Ok(fd)
}

/// Whether `fd` (whose stat is `_st`) is shared memory whose size no
/// process can change, so that a mapping of it never faults for a page cut
/// off: a memfd with its size sealed, as [`shared_memory_fd`] makes them.
/// Checked before the runtime maps an fd another process sent it.
pub fn is_fixed_shared_memory(fd: crate::host::HostFd, _st: &crate::host::HostStat) -> bool {
    // SAFETY: plain query on an fd; an fd that cannot be sealed answers -1.
    let seals = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
    seals >= 0 && seals & libc::F_SEAL_SHRINK != 0
}
