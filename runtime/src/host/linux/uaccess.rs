//! The fault-tolerant guest-memory instructions (Linux host, ELF symbols).
//!
//! Linux's own answer to "the user may unmap this buffer while the kernel
//! copies it" is the exception table: every instruction that touches user
//! memory has a fixup address, and the page-fault handler resumes there
//! instead of oopsing (arch/x86/lib/copy_user_64.S, arch/x86/mm/extable.c).
//! MacTux does the same in-process: each routine below has one instruction
//! that may fault on a guest address (`*_insn`) and a label to resume at
//! (`*_fixup`). When a SIGSEGV or SIGBUS arrives while the runtime runs
//! (`from_guest` == 0), `crate::trap::dispatch` asks
//! `host::uaccess::fixup_fault` whether the faulting rip is one of the
//! `*_insn` labels; if so, rip becomes the matching `*_fixup` and the handler
//! returns, so the routine returns a failure instead of the runtime dying.
//!
//! The routines touch no stack between the faulting instruction and the
//! fixup, so resuming there only needs rip. `rep movsb` leaves rcx, rsi and rdi
//! describing the bytes not yet moved when it faults (Intel SDM vol. 1,
//! 7.3.9.3 and the REP description in vol. 2), which is the count returned.
//! The same code, with Mach-O spelling, is `host/macos/uaccess.rs`; the Rust
//! side is shared (`host/posix.rs`, `uaccess`).

pub use crate::host::posix::uaccess::*;

core::arch::global_asm!(
    ".pushsection .text.mactux_uaccess,\"ax\",@progbits",
    // usize mactux_uaccess_copy(dst: rdi, src: rsi, len: rdx) -> bytes not copied
    ".globl mactux_uaccess_copy",
    ".type mactux_uaccess_copy,@function",
    ".p2align 4",
    "mactux_uaccess_copy:",
    "    mov rcx, rdx",
    ".globl mactux_uaccess_copy_insn",
    "mactux_uaccess_copy_insn:",
    "    rep movsb",
    ".globl mactux_uaccess_copy_fixup",
    "mactux_uaccess_copy_fixup:",
    "    mov rax, rcx",
    "    ret",
    ".size mactux_uaccess_copy, . - mactux_uaccess_copy",
    "",
    // u32 mactux_uaccess_cmpxchg32(addr: rdi, expected: esi, new: edx, found: rcx)
    // -> 0, with the word's previous value in *found; 1 if the access faulted.
    ".globl mactux_uaccess_cmpxchg32",
    ".type mactux_uaccess_cmpxchg32,@function",
    ".p2align 4",
    "mactux_uaccess_cmpxchg32:",
    "    mov eax, esi",
    ".globl mactux_uaccess_cmpxchg32_insn",
    "mactux_uaccess_cmpxchg32_insn:",
    "    lock cmpxchg dword ptr [rdi], edx",
    "    mov dword ptr [rcx], eax",
    "    xor eax, eax",
    "    ret",
    ".globl mactux_uaccess_cmpxchg32_fixup",
    "mactux_uaccess_cmpxchg32_fixup:",
    "    mov eax, 1",
    "    ret",
    ".size mactux_uaccess_cmpxchg32, . - mactux_uaccess_cmpxchg32",
    "",
    // u32 mactux_uaccess_cmpxchg8(addr: rdi, expected: sil, new: dl, found: rcx)
    // -> as cmpxchg32, for one byte (the fs→gs prefix patch).
    ".globl mactux_uaccess_cmpxchg8",
    ".type mactux_uaccess_cmpxchg8,@function",
    ".p2align 4",
    "mactux_uaccess_cmpxchg8:",
    "    mov eax, esi",
    ".globl mactux_uaccess_cmpxchg8_insn",
    "mactux_uaccess_cmpxchg8_insn:",
    "    lock cmpxchg byte ptr [rdi], dl",
    "    mov byte ptr [rcx], al",
    "    xor eax, eax",
    "    ret",
    ".globl mactux_uaccess_cmpxchg8_fixup",
    "mactux_uaccess_cmpxchg8_fixup:",
    "    mov eax, 1",
    "    ret",
    ".size mactux_uaccess_cmpxchg8, . - mactux_uaccess_cmpxchg8",
    "",
    // u32 mactux_uaccess_load32(addr: rdi, out: rsi) -> 0, or 1 if the load
    // faulted: one aligned 4-byte load, atomic as a futex word's read must be.
    // The load is the routine's first instruction, so the routine's own
    // symbol marks it.
    ".globl mactux_uaccess_load32",
    ".type mactux_uaccess_load32,@function",
    ".p2align 4",
    "mactux_uaccess_load32:",
    "    mov eax, dword ptr [rdi]",
    "    mov dword ptr [rsi], eax",
    "    xor eax, eax",
    "    ret",
    ".globl mactux_uaccess_load32_fixup",
    "mactux_uaccess_load32_fixup:",
    "    mov eax, 1",
    "    ret",
    ".size mactux_uaccess_load32, . - mactux_uaccess_load32",
    ".popsection",
);
