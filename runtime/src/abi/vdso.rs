//! The vDSO as user space sees it: the names, the version and the lookup
//! by which glibc (elf/dl-lookup.c through `dl_vdso_vsym`), musl
//! (src/internal/vdso.c) and Go (runtime/vdso_linux.go) find its
//! functions. Our own vDSO image (loader/vdso.rs) is built for this
//! lookup; the Linux host layer uses it to find the host's vDSO functions.
//!
//! The lookup only reads the bytes it is given: anything malformed is
//! `None`, never a panic.

/// The version every x86_64 vDSO function is defined with
/// (arch/x86/entry/vdso/vdso.lds.S).
pub const VERSION: &str = "LINUX_2.6";
/// The vDSO's DT_SONAME, which glibc gives its link map (`ldd` shows it).
pub const SONAME: &str = "linux-vdso.so.1";

/// The functions the x86_64 vDSO exports, each under its `__vdso_` name
/// and its plain alias (vdso.lds.S).
pub const CLOCK_GETTIME: &str = "__vdso_clock_gettime";
pub const GETTIMEOFDAY: &str = "__vdso_gettimeofday";
pub const TIME: &str = "__vdso_time";
pub const GETCPU: &str = "__vdso_getcpu";
pub const CLOCK_GETRES: &str = "__vdso_clock_getres";

// ELF numbers (gABI), from goblin: linux-raw-sys has no elf.h.
pub use goblin::elf::dynamic::dyn64::SIZEOF_DYN as DYN_SIZE;
pub use goblin::elf::dynamic::{DT_HASH, DT_NULL, DT_SONAME, DT_STRSZ, DT_STRTAB, DT_SYMENT, DT_SYMTAB, DT_VERDEF, DT_VERDEFNUM, DT_VERSYM};
pub use goblin::elf::program_header::{PT_DYNAMIC, PT_LOAD};
pub use goblin::elf::sym::sym64::SIZEOF_SYM as SYM_SIZE;
pub use goblin::elf::sym::{STB_GLOBAL, STB_WEAK, STT_FUNC};
pub use goblin::elf::symver::VER_FLG_BASE;

/// The System V ELF hash (gABI "Hash Table"): DT_HASH buckets and
/// `vd_hash` of a version definition both use it.
pub fn elf_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &c in name {
        h = (h << 4).wrapping_add(u32::from(c));
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
    }
    h
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off.checked_add(2)?)?.try_into().ok()?))
}
fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off.checked_add(4)?)?.try_into().ok()?))
}
fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off.checked_add(8)?)?.try_into().ok()?))
}
fn cstr_at(b: &[u8], off: usize) -> Option<&[u8]> {
    let s = b.get(off..)?;
    Some(&s[..s.iter().position(|&c| c == 0)?])
}

/// The first PT_LOAD's `p_offset - p_vaddr` and the PT_DYNAMIC's range
/// (what musl's `__vdsosym` and Go's `vdsoInitFromSysinfoEhdr` take from
/// the program headers), read from the image that starts with its ELF header.
pub fn layout(image: &[u8]) -> Option<(i64, usize, usize)> {
    if image.get(..4)? != b"\x7fELF" || *image.get(4)? != 2 {
        return None;
    }
    let phoff = usize::try_from(u64_at(image, 32)?).ok()?;
    let phentsize = usize::from(u16_at(image, 54)?);
    let phnum = usize::from(u16_at(image, 56)?);
    let (mut bias, mut dynamic) = (None, None);
    for i in 0..phnum {
        let ph = phoff.checked_add(i.checked_mul(phentsize)?)?;
        let (offset, vaddr, filesz) = (u64_at(image, ph + 8)?, u64_at(image, ph + 16)?, u64_at(image, ph + 32)?);
        match u32_at(image, ph)? {
            PT_LOAD if bias.is_none() => bias = Some(offset.wrapping_sub(vaddr) as i64),
            PT_DYNAMIC => dynamic = Some((usize::try_from(offset).ok()?, usize::try_from(filesz).ok()?)),
            _ => {}
        }
    }
    let (dyn_off, dyn_len) = dynamic?;
    Some((bias?, dyn_off, dyn_len))
}

/// How many bytes from the ELF header the PT_LOAD segments of an image
/// span in the file (a vDSO is mapped as its file image): what may be
/// read of it, given its first page.
pub fn image_len(head: &[u8]) -> Option<usize> {
    layout(head)?;
    let phoff = usize::try_from(u64_at(head, 32)?).ok()?;
    let (phentsize, phnum) = (usize::from(u16_at(head, 54)?), usize::from(u16_at(head, 56)?));
    let mut len = 0;
    for i in 0..phnum {
        let ph = phoff.checked_add(i.checked_mul(phentsize)?)?;
        if u32_at(head, ph)? == PT_LOAD {
            let end = u64_at(head, ph + 8)?.checked_add(u64_at(head, ph + 32)?)?;
            len = len.max(usize::try_from(end).ok()?);
        }
    }
    Some(len)
}

/// Finds the function `name` of version `version` in an in-memory vDSO
/// `image` (from its ELF header on, as AT_SYSINFO_EHDR points to it) and
/// returns its offset from the image start. Walks DT_HASH from the name's
/// bucket as glibc and Go do, and checks the version as Go does (the
/// symbol's versym names a non-base definition whose hash and name match).
pub fn lookup(image: &[u8], name: &str, version: &str) -> Option<usize> {
    let (bias, dyn_off, dyn_len) = layout(image)?;
    let at = |vaddr: u64| usize::try_from((vaddr as i64).wrapping_add(bias)).ok();
    let (mut strtab, mut symtab, mut hash, mut versym, mut verdef) = (None, None, None, None, None);
    for i in 0..dyn_len / DYN_SIZE {
        let d = dyn_off.checked_add(i * DYN_SIZE)?;
        let (tag, val) = (u64_at(image, d)?, u64_at(image, d + 8)?);
        match tag {
            DT_NULL => break,
            DT_STRTAB => strtab = at(val),
            DT_SYMTAB => symtab = at(val),
            DT_HASH => hash = at(val),
            DT_VERSYM => versym = at(val),
            DT_VERDEF => verdef = at(val),
            _ => {}
        }
    }
    let (strtab, symtab, hash) = (strtab?, symtab?, hash?);
    let versions = versym.zip(verdef);
    let nbucket = u32_at(image, hash)?;
    if nbucket == 0 {
        return None;
    }
    let nchain = u32_at(image, hash + 4)?;
    let h = elf_hash(name.as_bytes());
    let mut sym = u32_at(image, hash + 8 + 4 * (h % nbucket) as usize)?;
    // A chain longer than the symbol count loops: give up.
    for _ in 0..nchain {
        if sym == 0 || sym >= nchain {
            return None;
        }
        let s = symtab.checked_add(sym as usize * SYM_SIZE)?;
        let info = *image.get(s + 4)?;
        let (bind, kind) = (info >> 4, info & 0xf);
        let is_candidate = kind == STT_FUNC && (bind == STB_GLOBAL || bind == STB_WEAK) && u16_at(image, s + 6)? != 0;
        if is_candidate && cstr_at(image, strtab.checked_add(u32_at(image, s)? as usize)?)? == name.as_bytes() {
            let version_ok = match versions {
                None => true,
                Some((versym, verdef)) => {
                    let ndx = u16_at(image, versym.checked_add(sym as usize * 2)?)? & 0x7fff;
                    defines(image, verdef, strtab, ndx, version)?
                }
            };
            if version_ok {
                return at(u64_at(image, s + 8)?);
            }
        }
        sym = u32_at(image, hash + 8 + 4 * nbucket as usize + 4 * sym as usize)?;
    }
    None
}

/// Whether version index `ndx` of the Verdef list at `verdef` is the
/// (non-base) definition of `version`.
fn defines(image: &[u8], verdef: usize, strtab: usize, ndx: u16, version: &str) -> Option<bool> {
    let mut def = verdef;
    // Each entry is at least 20 bytes, so an image holds fewer than this many.
    for _ in 0..image.len() / 20 {
        let (flags, vd_ndx, vd_hash) = (u16_at(image, def + 2)?, u16_at(image, def + 4)?, u32_at(image, def + 8)?);
        if flags & VER_FLG_BASE == 0 && vd_ndx & 0x7fff == ndx {
            let aux = def.checked_add(u32_at(image, def + 12)? as usize)?;
            let name = cstr_at(image, strtab.checked_add(u32_at(image, aux)? as usize)?)?;
            return Some(vd_hash == elf_hash(version.as_bytes()) && name == version.as_bytes());
        }
        match u32_at(image, def + 16)? {
            0 => return Some(false),
            next => def = def.checked_add(next as usize)?,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hashes glibc (sysdeps/unix/sysv/linux/x86_64/sysdep.h VDSO_HASH)
    /// and Go (runtime/vdso_linux_amd64.go vdsoSymbolKeys) compiled in.
    #[test]
    fn elf_hash_matches_what_libcs_compiled_in() {
        assert_eq!(elf_hash(VERSION.as_bytes()), 61765110);
        assert_eq!(elf_hash(CLOCK_GETTIME.as_bytes()), 0xd35ec75);
        assert_eq!(elf_hash(GETTIMEOFDAY.as_bytes()), 0x315ca59);
    }

    #[test]
    fn garbage_is_no_answer() {
        assert_eq!(lookup(b"", CLOCK_GETTIME, VERSION), None);
        assert_eq!(lookup(b"\x7fELF\x02", CLOCK_GETTIME, VERSION), None);
        assert_eq!(lookup(&[0xffu8; 4096], CLOCK_GETTIME, VERSION), None);
        let mut almost = vec![0u8; 4096];
        almost[..5].copy_from_slice(b"\x7fELF\x02");
        almost[32] = 0xff;
        almost[56] = 0xff;
        assert_eq!(lookup(&almost, CLOCK_GETTIME, VERSION), None);
    }
}
