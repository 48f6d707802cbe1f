//! Thread pointers on a Linux host.
//!
//! The host's TLS is fs. The guest's `ARCH_SET_FS` value becomes the **gs**
//! base, and guest code runs with an fs base in the kernel's half of the
//! address space ([`GUEST_FS_TAG`]) so that its `%fs:` accesses fault and
//! get patched to `%gs:` (see `trap/patch.rs`). The runtime never uses
//! gs on Linux, so gs can hold the guest value permanently.

use crate::trap::ThreadCtl;

/// Guest code runs with fs base = this | the address of its thread's
/// control block: a canonical kernel-half address, so every `%fs:` access
/// faults (whatever its displacement, it stays in the kernel's half),
/// from which the direct entry of a rewritten syscall site finds the
/// control block without a host call (`mactux_direct_entry`).
pub const GUEST_FS_TAG: u64 = 0xffff_8000_0000_0000;

/// The calling thread's host fs base.
pub fn host_tls_base() -> u64 {
    let v: u64;
    // SAFETY: rdfsbase only reads the fs base; the trap setup checked FSGSBASE.
    unsafe { core::arch::asm!("rdfsbase {}", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// Installs the guest thread pointer for the calling thread.
pub fn set_guest_tls(ctl: &mut ThreadCtl, base: u64) {
    ctl.guest_tls = base;
    // SAFETY: gs is unused by the host runtime on Linux.
    unsafe { core::arch::asm!("wrgsbase {}", in(reg) base, options(nostack, preserves_flags)) };
}
