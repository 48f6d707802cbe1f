//! The fs→gs patch (DESIGN.md "TLS").
//!
//! Guest code runs with fs base 0 and its thread pointer in gs. Its first
//! `%fs:`-relative access therefore faults; here the faulting instruction's
//! prefixes are read, and if the segment override in force is FS that
//! prefix byte (0x64) is rewritten to GS (0x65) with a single atomic byte
//! exchange. The instruction then re-executes against the guest's TLS.
//! Guest code mappings are kept writable on the host for this (see
//! `syscall/mm.rs`). Any other fault is a genuine guest fault.
//!
//! The prefixes are all it takes, without decoding the rest: the CPU
//! faulted on this instruction, so it is a valid one; a segment override
//! changes nothing for an instruction without a memory operand, so one
//! whose fault had another cause faults again after the patch, with GS,
//! and is then a genuine fault (`retry_once`). Not decoding matters for
//! start-up: a static `true` takes about 50 of these faults, and building
//! a full decoder's tables costs more than the whole program natively.

use super::GuestRegs;

const PREFIX_FS: u8 = 0x64;
const PREFIX_GS: u8 = 0x65;
/// x86 legacy prefixes (Intel SDM vol. 2, 2.1.1).
const LEGACY_PREFIXES: &[u8] = &[0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x66, 0x67];
const SEGMENT_PREFIXES: &[u8] = &[0x2e, 0x36, 0x3e, 0x26, PREFIX_FS, PREFIX_GS];
const MAX_INSN_LEN: usize = 15;

/// Where in `bytes` (an instruction the CPU ran) the segment override in
/// force sits, if it is `prefix`: the last one among the legacy prefixes,
/// which must be followed by the rest of the instruction.
fn segment_override(bytes: &[u8], prefix: u8) -> Option<usize> {
    let n = bytes.iter().take(MAX_INSN_LEN).take_while(|b| LEGACY_PREFIXES.contains(b)).count();
    if n >= bytes.len().min(MAX_INSN_LEN) {
        return None;
    }
    let last = bytes[..n].iter().rposition(|b| SEGMENT_PREFIXES.contains(b))?;
    (bytes[last] == prefix).then_some(last)
}

/// Where in `bytes` the FS override that takes effect sits, if any.
pub fn fs_prefix_offset(bytes: &[u8]) -> Option<usize> {
    segment_override(bytes, PREFIX_FS)
}

/// Whether the instruction in `bytes` uses a GS override.
fn uses_gs(bytes: &[u8]) -> bool {
    segment_override(bytes, PREFIX_GS).is_some()
}

/// Patches the instruction at `regs.rip` if it is an `%fs:` access.
/// Returns false for a genuine fault.
///
/// Two threads can fault on the same unpatched instruction at once; the
/// second finds it patched already (a GS override) and must simply run it
/// again. A GS access that faults a second time in a row at the same
/// place is a genuine fault (a bad thread pointer, or guest code of its
/// own using gs), so each thread retries once (`ThreadCtl::patch_retry`).
pub fn try_patch_fs(ctl: &mut super::ThreadCtl, regs: &GuestRegs) -> bool {
    let rip = regs.rip;
    // Only guest code is patched: the range must be mapped executable.
    let (avail, is_exec) = {
        let mm = crate::task::lock(&crate::task::current().mm);
        match mm.find(rip) {
            Some((_, v)) => ((v.end - rip).min(MAX_INSN_LEN as u64) as usize, v.prot.exec),
            None => (0, false),
        }
    };
    if !is_exec || avail == 0 {
        return false;
    }
    let mut bytes = [0u8; MAX_INSN_LEN];
    // Another guest thread may unmap the code between the map lookup and
    // these accesses: both go through the fault-tolerant routines. If the
    // code went away, the thread runs the instruction again once, and that
    // faults for real.
    if !crate::uaccess::copy_code_bytes(&mut bytes[..avail], rip) {
        return retry_once(ctl, rip);
    }
    let Some(off) = fs_prefix_offset(&bytes[..avail]) else {
        if uses_gs(&bytes[..avail]) {
            return retry_once(ctl, rip);
        }
        ctl.patch_retry = 0;
        return false;
    };
    // One atomic byte exchange is what other threads observe; if another
    // thread patched the byte first, it already says GS.
    let _ = crate::uaccess::cmpxchg_code_byte(rip + off as u64, PREFIX_FS, PREFIX_GS);
    true
}

/// True (run the instruction again) the first time this thread faults at
/// `rip` in a row; false, a genuine fault, the second time.
fn retry_once(ctl: &mut super::ThreadCtl, rip: u64) -> bool {
    if ctl.patch_retry != rip {
        ctl.patch_retry = rip;
        return true;
    }
    ctl.patch_retry = 0;
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_fs_prefix() {
        // mov rax, fs:[0x28]
        let b = [0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0];
        assert_eq!(fs_prefix_offset(&b), Some(0));
        // mov eax, fs:[rax] with an operand-size prefix before the override
        let b = [0x66, 0x64, 0x8b, 0x00];
        assert_eq!(fs_prefix_offset(&b), Some(1));
        // mov rax, gs:[0x28] is not ours, but uses gs
        let b = [0x65, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0];
        assert_eq!(fs_prefix_offset(&b), None);
        assert!(uses_gs(&b));
        // a plain load whose bytes contain 0x64 elsewhere is not an fs access
        let b = [0x48, 0x8b, 0x44, 0x24, 0x64];
        assert_eq!(fs_prefix_offset(&b), None);
        assert!(!uses_gs(&b));
        // the last segment override wins: fs then ds is a ds access
        assert_eq!(fs_prefix_offset(&[0x64, 0x3e, 0x8b, 0x00]), None);
        assert_eq!(fs_prefix_offset(&[0x3e, 0x64, 0x8b, 0x00]), Some(1));
        // a VEX instruction with an fs override (vmovdqu ymm0, fs:[rax])
        assert_eq!(fs_prefix_offset(&[0x64, 0xc5, 0xfe, 0x6f, 0x00]), Some(0));
        // a prefix with nothing after it, and prefixes only
        assert_eq!(fs_prefix_offset(&[0x64]), None);
        assert_eq!(fs_prefix_offset(&[0x66; 15]), None);
        assert_eq!(fs_prefix_offset(&[]), None);
    }
}
