//! The initial process stack (x86_64 psABI 3.4.1, fs/binfmt_elf.c
//! `create_elf_tables`): argc, argv, envp, auxv, then the strings and the
//! random bytes above them. `%rsp` is 16-byte aligned at argc.

use super::elf::Image;
use crate::abi::PAGE_SIZE;
use crate::host::{self, MapRequest, Placement, Prot};
use crate::mm::{Backing, Vma};
use crate::task::{current, lock};
use linux_raw_sys::auxvec as at;

/// Stack size when RLIMIT_STACK is unlimited, and the most we reserve.
const DEFAULT_STACK: u64 = 8 << 20;
const MAX_STACK: u64 = 256 << 20;

/// `AT_HWCAP` on x86_64 is CPUID.1:EDX.
fn hwcap() -> u64 {
    u64::from(host::cpu::cpuid(1, 0)[3])
}

/// `AT_MINSIGSTKSZ`: the signal frame the kernel would push (xsave area + frame).
fn minsigstksz() -> u64 {
    let xsave = u64::from(host::cpu::cpuid(0xd, 0)[1]);
    (xsave + 1024).max(2048)
}

/// `cred` are the credentials the program runs with; `is_secure` says that
/// the exec changed them in a way that needs AT_SECURE (set-id, or
/// capabilities gained by a non-root user).
pub fn build(
    image: &Image,
    interp_base: u64,
    vdso_base: u64,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    execfn: &str,
    cred: &crate::task::Cred,
    is_secure: bool,
) -> Result<u64, String> {
    let size = match host::process::get_rlimit(linux_raw_sys::general::RLIMIT_STACK) {
        Ok((cur, _)) if cur != u64::MAX => cur.clamp(128 * 1024, MAX_STACK),
        _ => DEFAULT_STACK,
    };
    let size = crate::abi::page_round_up(size).unwrap_or(DEFAULT_STACK);
    let req = MapRequest { addr: 0, len: size, prot: Prot::RW, is_shared: false, placement: Placement::Anywhere, file: None, noreserve: false };
    let base = host::mem::map(&req).map_err(|e| format!("cannot map a {size}-byte stack: {}", e.text()))?;
    let top = base + size;

    // Strings and random bytes, laid out from the top down.
    let mut blob: Vec<u8> = Vec::new();
    let mut place = |bytes: &[u8], nul: bool| -> u64 {
        blob.extend_from_slice(bytes);
        if nul {
            blob.push(0);
        }
        blob.len() as u64
    };
    // Offsets from the blob start; converted to addresses once its size is known.
    let execfn_end = place(&crate::vfs::path::to_bytes(execfn), true);
    let mut arg_ends = Vec::with_capacity(argv.len());
    for a in argv {
        arg_ends.push(place(a, true));
    }
    let mut env_ends = Vec::with_capacity(envp.len());
    for e in envp {
        env_ends.push(place(e, true));
    }
    let platform_end = place(b"x86_64", true);
    let mut random = [0u8; 16];
    host::process::random(&mut random).map_err(|e| format!("no random bytes: {}", e.text()))?;
    let random_end = place(&random, false);
    let blob_start = (top - 16 - blob.len() as u64) & !15;
    let addr_of = |end: u64, len: usize| blob_start + end - len as u64;
    let execfn_ptr = addr_of(execfn_end, execfn.len() + 1);
    let platform_ptr = addr_of(platform_end, 7);
    let random_ptr = addr_of(random_end, 16);

    let auxv: Vec<(u32, u64)> = vec![
        // First, as ARCH_DLINFO puts it (arch/x86/include/asm/elf.h).
        (at::AT_SYSINFO_EHDR, vdso_base),
        (at::AT_PHDR, image.phdr),
        (at::AT_PHENT, 56),
        (at::AT_PHNUM, image.phnum),
        (at::AT_PAGESZ, PAGE_SIZE),
        (at::AT_BASE, interp_base),
        (at::AT_FLAGS, 0),
        (at::AT_ENTRY, image.entry),
        (at::AT_UID, u64::from(cred.uid)),
        (at::AT_EUID, u64::from(cred.euid)),
        (at::AT_GID, u64::from(cred.gid)),
        (at::AT_EGID, u64::from(cred.egid)),
        (at::AT_SECURE, u64::from(is_secure)),
        (at::AT_HWCAP, hwcap()),
        // HWCAP2 stays 0: advertising FSGSBASE would let guests bypass the TLS patch.
        (at::AT_HWCAP2, 0),
        (at::AT_CLKTCK, 100),
        (at::AT_PLATFORM, platform_ptr),
        (at::AT_RANDOM, random_ptr),
        (at::AT_EXECFN, execfn_ptr),
        (at::AT_MINSIGSTKSZ, minsigstksz()),
        (at::AT_NULL, 0),
    ];

    let mut words: Vec<u64> = Vec::new();
    words.push(argv.len() as u64);
    for (end, a) in arg_ends.iter().zip(argv) {
        words.push(addr_of(*end, a.len() + 1));
    }
    words.push(0);
    for (end, e) in env_ends.iter().zip(envp) {
        words.push(addr_of(*end, e.len() + 1));
    }
    words.push(0);
    for (k, v) in auxv {
        words.push(u64::from(k));
        words.push(v);
    }
    let table_bytes = words.len() as u64 * 8;
    let sp = (blob_start - table_bytes) & !15;
    if sp < base + PAGE_SIZE {
        return Err("arguments and environment do not fit on the stack (E2BIG)".into());
    }
    crate::uaccess::copy_to_fresh_mapping(blob_start, &blob);
    let table: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
    crate::uaccess::copy_to_fresh_mapping(sp, &table);

    let mut mm = lock(&current().mm);
    mm.insert(base, Vma { end: top, prot: Prot::RW, is_shared: false, backing: Backing::Stack });
    mm.stack_top = sp;
    Ok(sp)
}
