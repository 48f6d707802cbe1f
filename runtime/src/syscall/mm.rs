//! Memory: mmap, munmap, mprotect, mremap, brk, msync, mincore, madvise.
//!
//! Divergences from Linux:
//! - Executable guest mappings are also writable on the host, so that the
//!   fs→gs patcher can rewrite a prefix byte (DESIGN.md). The guest's own
//!   view (`/proc/self/maps`, EFAULT checks) keeps the protection it asked for.
//! - A MAP_FIXED mapping may only replace guest memory or free address space;
//!   over memory of the runtime itself it fails with ENOMEM.

use super::{args, Ctx};
use crate::abi::{gen as g, is_page_aligned, page_round_up};
use crate::error::{Error, Result};
use crate::host::{self, MapRequest, Placement, Prot};
use crate::mm::{Backing, Vma};
use crate::task::{current, lock};
use crate::{errno, return_errno, return_errno_with_message};

/// Linux protection bits → the guest's protection.
pub fn prot_from_linux(p: u32) -> Prot {
    Prot { read: p & g::PROT_READ != 0, write: p & g::PROT_WRITE != 0, exec: p & g::PROT_EXEC != 0 }
}

/// What the host maps for a guest protection: executable implies writable
/// (for the TLS patcher) unless the mapping is a shared file mapping.
pub fn host_prot(p: Prot, is_shared_file: bool) -> Prot {
    Prot { write: p.write || (p.exec && !is_shared_file), ..p }
}

/// Flags MAP_SHARED_VALIDATE accepts (LEGACY_MAP_MASK plus MAP_SYNC, mm/mmap.c).
const MAP_VALIDATED_KNOWN: u32 = g::MAP_TYPE
    | g::MAP_FIXED
    | g::MAP_ANONYMOUS
    | g::MAP_DENYWRITE
    | g::MAP_EXECUTABLE
    | g::MAP_UNINITIALIZED
    | g::MAP_GROWSDOWN
    | g::MAP_LOCKED
    | g::MAP_NORESERVE
    | g::MAP_POPULATE
    | g::MAP_NONBLOCK
    | g::MAP_STACK
    | g::MAP_HUGETLB
    | g::MAP_SYNC
    | g::MAP_FIXED_NOREPLACE;

const PROT_KNOWN: u32 = g::PROT_READ | g::PROT_WRITE | g::PROT_EXEC | g::PROT_SEM | g::PROT_GROWSDOWN | g::PROT_GROWSUP;

fn round_len(len: u64) -> Result<u64> {
    match page_round_up(len) {
        Some(l) if l != 0 && l < (1u64 << 47) => Ok(l),
        _ => Err(errno!(ENOMEM, "length too large")),
    }
}

/// mmap's arguments, checked (`MmapArgs::check`).
pub struct MmapArgs {
    /// The length rounded up to whole pages.
    pub len: u64,
    pub prot: u32,
    pub flags: u32,
    pub is_anon: bool,
    pub is_shared: bool,
    pub is_fixed: bool,
    pub is_noreplace: bool,
}

impl MmapArgs {
    /// The checks of `do_mmap` on the arguments alone, in Linux's order
    /// (pure: the syscall_args fuzz target calls it).
    pub fn check(addr: u64, len: u64, prot: u64, flags: u64, off: u64) -> Result<MmapArgs> {
        let (raw_prot, prot, flags) = (prot, args::uint(prot), args::uint(flags));
        if len == 0 {
            return_errno_with_message!(EINVAL, "length must not be 0");
        }
        if !is_page_aligned(off) {
            return_errno_with_message!(EINVAL, "offset must be page aligned");
        }
        if raw_prot > u64::from(u32::MAX) || prot & !PROT_KNOWN != 0 {
            return_errno_with_message!(EINVAL, "unknown protection bits");
        }
        let map_type = flags & g::MAP_TYPE;
        if map_type != g::MAP_SHARED && map_type != g::MAP_PRIVATE && map_type != g::MAP_SHARED_VALIDATE {
            return_errno_with_message!(EINVAL, "one of MAP_SHARED or MAP_PRIVATE is required");
        }
        let len = round_len(len)?;
        if off.checked_add(len).is_none() {
            return_errno!(EOVERFLOW);
        }
        let is_anon = flags & g::MAP_ANONYMOUS != 0;
        if is_anon && map_type == g::MAP_SHARED_VALIDATE {
            return_errno_with_message!(EINVAL, "MAP_SHARED_VALIDATE needs a file");
        }
        if map_type == g::MAP_SHARED_VALIDATE && flags & !MAP_VALIDATED_KNOWN != 0 {
            return_errno_with_message!(EOPNOTSUPP, "unknown flags with MAP_SHARED_VALIDATE");
        }
        let is_shared = map_type != g::MAP_PRIVATE;
        let is_fixed = flags & g::MAP_FIXED != 0;
        let is_noreplace = flags & g::MAP_FIXED_NOREPLACE != 0;
        if (is_fixed || is_noreplace) && !is_page_aligned(addr) {
            return_errno_with_message!(EINVAL, "fixed address must be page aligned");
        }
        Ok(MmapArgs { len, prot, flags, is_anon, is_shared, is_fixed, is_noreplace })
    }
}

/// Unmaps from the host the guest's own mappings within `[addr, end)`
/// and forgets them, so that a new mapping can claim the range without
/// replacing anything the runtime owns there (mmap's MAP_FIXED, shmat's
/// SHM_REMAP).
pub(super) fn unmap_guest_pieces(mm: &mut crate::mm::Mm, addr: u64, end: u64) -> Result<()> {
    let pieces: Vec<(u64, u64)> =
        mm.iter().filter(|(s, v)| *s < end && v.end > addr).map(|(s, v)| (s.max(addr), v.end.min(end))).collect();
    for (s, e) in pieces {
        host::mem::unmap(s, e - s).map_err(Error::new)?;
    }
    mm.remove(addr, end);
    Ok(())
}

pub fn mmap(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (addr, fd, off) = (a[0], args::fd(a[4]), a[5]);
    let MmapArgs { len, prot, flags, is_anon, is_shared, is_fixed, is_noreplace } = MmapArgs::check(addr, a[1], a[2], a[3], off)?;
    let guest_prot = prot_from_linux(prot);

    // What backs the mapping.
    let mut file = None;
    let mut backing = Backing::Anon;
    if !is_anon {
        let of = lock(&current().fds).get(fd)?;
        match of.host_fd() {
            Some(hfd) if !of.is_dir() => {
                let st = host::fs::fstat(hfd).map_err(Error::new)?;
                let acc = of.status() & g::O_ACCMODE;
                if acc == g::O_WRONLY || (is_shared && guest_prot.write && acc != g::O_RDWR) {
                    return_errno_with_message!(EACCES, "file not opened for the requested access");
                }
                if let Some(m) = of.ops_as::<super::memfd::Memfd>() {
                    m.check_map(is_shared && guest_prot.write)?;
                }
                backing = Backing::File { path: of.guest_path.clone(), offset: off, dev: st.dev, ino: st.ino };
                file = Some((hfd, off, of.clone()));
            }
            // A mapping of /dev/zero is anonymous memory (shared, if asked).
            _ if of.ops_as::<crate::vfs::dev::DevKind>() == Some(&crate::vfs::dev::DevKind::Zero) => {}
            _ => return_errno_with_message!(ENODEV, "this file cannot be mapped"),
        }
    }

    if file.is_none() && is_shared {
        backing = Backing::SharedAnon { region: new_region_id()?, offset: 0 };
    }
    // System V attaches a fixed mapping replaces are detached (below).
    let attaches = if is_fixed { super::ipc::attaches_in(addr, addr.saturating_add(len)) } else { Vec::new() };
    // Held until the new mapping is in the map: a munmap or mremap of
    // another thread must not update the map between the host's mmap and
    // ours (see `munmap`).
    let mut mm = lock(&current().mm);
    let placement = {
        let end = addr.checked_add(len).ok_or_else(|| errno!(ENOMEM))?;
        // A fixed mapping replaces what it overlaps; a hint replaces nothing.
        let replaced = if is_fixed { mm.mapped_bytes(addr, end) } else { 0 };
        crate::syscall::identity::check_address_space(mm.mapped_bytes(0, u64::MAX) - replaced, len)?;
        if is_noreplace {
            if mm.overlaps(addr, end) {
                return_errno_with_message!(EEXIST, "range already mapped");
            }
            Placement::NoReplace
        } else if is_fixed {
            if mm.is_mapped(addr, end) {
                Placement::Replace
            } else {
                // Free the guest's own pieces of the range, then claim it all
                // without replacing anything else.
                unmap_guest_pieces(&mut mm, addr, end)?;
                Placement::NoReplace
            }
        } else {
            Placement::Anywhere
        }
    };
    let req = MapRequest {
        // Without MAP_FIXED the address is a hint, which the host honours when free.
        addr,
        len,
        prot: host_prot(guest_prot, is_shared && file.is_some()),
        is_shared,
        placement,
        file: file.as_ref().map(|(fd, off, _)| (*fd, *off)),
        noreserve: flags & g::MAP_NORESERVE != 0,
    };
    let got = match host::mem::map(&req) {
        Ok(v) => v,
        Err(crate::abi::Errno::EEXIST) if is_fixed => {
            return_errno_with_message!(ENOMEM, "the fixed range overlaps memory of the runtime")
        }
        Err(e) => return Err(Error::new(e)),
    };
    mm.insert(got, Vma { end: got + len, prot: guest_prot, is_shared, backing });
    drop(mm);
    super::ipc::detach_unmapped(attaches);
    Ok(got)
}

/// A fresh identity for a shared anonymous region (random, so that no two
/// tasks of the namespace confuse theirs).
fn new_region_id() -> Result<u64> {
    let mut b = [0u8; 8];
    host::process::random(&mut b).map_err(Error::new)?;
    Ok(u64::from_ne_bytes(b))
}

/// The guest-mapped pieces of `[start, end)`.

pub fn munmap(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (addr, len) = (a[0], a[1]);
    if !is_page_aligned(addr) || len == 0 {
        return_errno_with_message!(EINVAL, "address must be page aligned and length non-zero");
    }
    let len = round_len(len).map_err(|_| errno!(EINVAL))?;
    let end = addr.checked_add(len).ok_or_else(|| errno!(EINVAL))?;
    let attaches = super::ipc::attaches_in(addr, end);
    // The host unmap and the map's update happen under one hold of the
    // lock: between them another thread's mmap could be given the freed
    // range by the host, and the removal would then take its new mapping
    // out of the map (its memory then EFAULT to every syscall).
    unmap_guest_pieces(&mut lock(&current().mm), addr, end)?;
    super::ipc::detach_unmapped(attaches);
    Ok(0)
}

pub fn mprotect(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (addr, prot) = (a[0], args::uint(a[2]));
    if !is_page_aligned(addr) {
        return_errno_with_message!(EINVAL, "address must be page aligned");
    }
    if a[2] > u64::from(u32::MAX) || prot & !PROT_KNOWN != 0 {
        return_errno_with_message!(EINVAL, "unknown protection bits");
    }
    if a[1] == 0 {
        return Ok(0);
    }
    let len = round_len(a[1])?;
    let end = addr.checked_add(len).ok_or_else(|| errno!(ENOMEM))?;
    let guest_prot = prot_from_linux(prot);
    let mut mm = lock(&current().mm);
    if !mm.is_mapped(addr, end) {
        return_errno_with_message!(ENOMEM, "range is not fully mapped");
    }
    let pieces: Vec<(u64, u64, bool)> = mm
        .iter()
        .filter(|(s, v)| *s < end && v.end > addr)
        .map(|(s, v)| (s.max(addr), v.end.min(end), v.is_shared && matches!(v.backing, Backing::File { .. })))
        .collect();
    for (s, e, shared_file) in pieces {
        host::mem::protect(s, e - s, host_prot(guest_prot, shared_file)).map_err(Error::new)?;
    }
    mm.protect(addr, end, guest_prot);
    Ok(0)
}

pub fn brk(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let want = a[0];
    let mut mm = lock(&current().mm);
    let cur = mm.brk;
    if want < mm.brk_start {
        return Ok(cur);
    }
    let (Some(old_top), Some(new_top)) = (page_round_up(cur), page_round_up(want)) else { return Ok(cur) };
    // Inside the reservation the runtime owns the range and may replace it;
    // past it, only free address space may be taken.
    let limit = mm.brk_limit;
    if new_top > old_top {
        if mm.overlaps(old_top, new_top) {
            return Ok(cur);
        }
        if crate::syscall::identity::check_address_space(mm.mapped_bytes(0, u64::MAX), new_top - old_top).is_err() {
            return Ok(cur);
        }
        let placement = if new_top <= limit { Placement::Replace } else { Placement::NoReplace };
        let req = MapRequest { addr: old_top, len: new_top - old_top, prot: Prot::RW, is_shared: false, placement, file: None, noreserve: false };
        if host::mem::map(&req).is_err() {
            return Ok(cur);
        }
        mm.insert(old_top, Vma { end: new_top, prot: Prot::RW, is_shared: false, backing: Backing::Heap });
    } else if new_top < old_top {
        // Give the pages back but keep the range reserved for the heap.
        let req = MapRequest { addr: new_top, len: old_top - new_top, prot: Prot::NONE, is_shared: false, placement: Placement::Replace, file: None, noreserve: false };
        let released = if old_top <= limit { host::mem::map(&req).map(drop) } else { host::mem::unmap(new_top, old_top - new_top) };
        if released.is_err() {
            return Ok(cur);
        }
        mm.remove(new_top, old_top);
    }
    mm.brk = want;
    Ok(want)
}

pub fn mremap(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (old, flags) = (a[0], args::uint(a[3]));
    const KNOWN: u32 = g::MREMAP_MAYMOVE | g::MREMAP_FIXED | g::MREMAP_DONTUNMAP;
    if a[3] > u64::from(u32::MAX) || flags & !KNOWN != 0 {
        return_errno_with_message!(EINVAL, "unknown mremap flags");
    }
    if !is_page_aligned(old) {
        return_errno_with_message!(EINVAL, "old address must be page aligned");
    }
    let may_move = flags & g::MREMAP_MAYMOVE != 0;
    if flags & g::MREMAP_FIXED != 0 && !may_move {
        return_errno_with_message!(EINVAL, "MREMAP_FIXED needs MREMAP_MAYMOVE");
    }
    if flags & g::MREMAP_DONTUNMAP != 0 {
        return_errno_with_message!(EINVAL, "MREMAP_DONTUNMAP is not emulated");
    }
    let old_len = page_round_up(a[1]).ok_or_else(|| errno!(EINVAL))?;
    let new_len = round_len(a[2]).map_err(|_| errno!(EINVAL))?;
    let old_end = old.checked_add(old_len.max(1)).ok_or_else(|| errno!(EFAULT))?;
    // Held throughout, as in `munmap`: a moving remap frees the old range
    // on the host before the map is updated.
    let mut mm = lock(&current().mm);
    let vma = {
        if old_len == 0 || !mm.is_mapped(old, old_end) {
            return_errno_with_message!(EFAULT, "old range is not mapped");
        }
        if new_len > old_len {
            crate::syscall::identity::check_address_space(mm.mapped_bytes(0, u64::MAX), new_len - old_len)?;
        }
        match mm.find(old) {
            Some((_, v)) => v.clone(),
            None => return_errno!(EFAULT),
        }
    };
    let fixed_to = if flags & g::MREMAP_FIXED != 0 {
        if !is_page_aligned(a[4]) {
            return_errno!(EINVAL);
        }
        unmap_guest_pieces(&mut mm, a[4], a[4].saturating_add(new_len))?;
        Some(a[4])
    } else {
        None
    };
    let got = host::mem::remap(old, old_len, new_len, may_move, fixed_to)
        .map_err(|e| Error::with_message(e, "cannot resize the mapping in place"))?;
    mm.remove(old, old + old_len);
    let mut nv = vma;
    nv.end = got + new_len;
    mm.insert(got, nv);
    Ok(got)
}

pub fn msync(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let flags = args::flags(a[2], g::MS_ASYNC | g::MS_SYNC | g::MS_INVALIDATE, "unknown msync flags")?;
    if flags & g::MS_ASYNC != 0 && flags & g::MS_SYNC != 0 {
        return_errno_with_message!(EINVAL, "MS_ASYNC and MS_SYNC exclude each other");
    }
    if !is_page_aligned(a[0]) {
        return_errno_with_message!(EINVAL, "address must be page aligned");
    }
    let len = page_round_up(a[1]).ok_or_else(|| errno!(ENOMEM))?;
    if len == 0 {
        return Ok(0);
    }
    let end = a[0].checked_add(len).ok_or_else(|| errno!(ENOMEM))?;
    if !lock(&current().mm).is_mapped(a[0], end) {
        return_errno_with_message!(ENOMEM, "range is not fully mapped");
    }
    host::mem::sync(a[0], len, flags).map_err(Error::new)?;
    Ok(0)
}

pub fn mincore(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if !is_page_aligned(a[0]) {
        return_errno_with_message!(EINVAL, "address must be page aligned");
    }
    let len = page_round_up(a[1]).ok_or_else(|| errno!(ENOMEM))?;
    let end = a[0].checked_add(len).ok_or_else(|| errno!(ENOMEM))?;
    if !lock(&current().mm).is_mapped(a[0], end) {
        return_errno_with_message!(ENOMEM, "range is not fully mapped");
    }
    let pages = (len / crate::abi::PAGE_SIZE) as usize;
    let mut vec = vec![0u8; pages];
    if pages > 0 {
        host::mem::residency(a[0], len, &mut vec).map_err(Error::new)?;
    }
    for b in &mut vec {
        *b &= 1;
    }
    uaccess_write(a[2], &vec)?;
    Ok(0)
}

fn uaccess_write(addr: u64, data: &[u8]) -> Result<()> {
    crate::uaccess::write_bytes(addr, data)
}

/// Every advice value Linux accepts (include/uapi/asm-generic/mman-common.h).
const MADV_KNOWN: &[u32] = &[
    g::MADV_NORMAL, g::MADV_RANDOM, g::MADV_SEQUENTIAL, g::MADV_WILLNEED, g::MADV_DONTNEED, g::MADV_FREE,
    g::MADV_REMOVE, g::MADV_DONTFORK, g::MADV_DOFORK, g::MADV_MERGEABLE, g::MADV_UNMERGEABLE, g::MADV_HUGEPAGE,
    g::MADV_NOHUGEPAGE, g::MADV_DONTDUMP, g::MADV_DODUMP, g::MADV_WIPEONFORK, g::MADV_KEEPONFORK, g::MADV_COLD,
    g::MADV_PAGEOUT, g::MADV_POPULATE_READ, g::MADV_POPULATE_WRITE, g::MADV_DONTNEED_LOCKED, g::MADV_COLLAPSE,
    g::MADV_GUARD_INSTALL, g::MADV_GUARD_REMOVE,
];

pub fn madvise(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if a[2] > u64::from(u32::MAX) || !MADV_KNOWN.contains(&(args::uint(a[2]))) {
        if args::uint(a[2]) == g::MADV_HWPOISON || args::uint(a[2]) == g::MADV_SOFT_OFFLINE {
            return_errno_with_message!(EPERM, "memory poisoning needs CAP_SYS_ADMIN");
        }
        return_errno_with_message!(EINVAL, "unknown advice");
    }
    if !is_page_aligned(a[0]) {
        return_errno_with_message!(EINVAL, "address must be page aligned");
    }
    let len = page_round_up(a[1]).ok_or_else(|| errno!(EINVAL))?;
    if len == 0 {
        return Ok(0);
    }
    let end = a[0].checked_add(len).ok_or_else(|| errno!(EINVAL))?;
    if !lock(&current().mm).is_mapped(a[0], end) {
        return_errno_with_message!(ENOMEM, "range is not fully mapped");
    }
    host::mem::advise(a[0], len, args::uint(a[2])).map_err(Error::new)?;
    Ok(0)
}
