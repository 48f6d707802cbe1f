//! The fault-tolerant guest-memory instructions (macOS host, Mach-O symbols).
//!
//! The same routines as `host/linux/uaccess.rs`, which explains the
//! exception-table scheme; only the assembler spelling differs: C symbols
//! carry a leading underscore and Mach-O has no `.type`/`.size`. The labels
//! inside a routine are `.alt_entry`: with `.subsections_via_symbols` every
//! other global symbol starts an atom that ld64 may move or dead-strip,
//! which would separate a faulting instruction from the code after it. The Rust
//! side (`host/posix.rs`) names them without the underscore, as the compiler
//! adds it. On macOS the fault reaches the same trap entry as SIGSEGV or
//! SIGBUS through `_sigtramp`, whose `sigreturn` resumes at the rip the
//! handler stored into the machine context.

pub use crate::host::posix::uaccess::*;

core::arch::global_asm!(
    ".text",
    // usize mactux_uaccess_copy(dst: rdi, src: rsi, len: rdx) -> bytes not copied
    ".globl _mactux_uaccess_copy",
    ".p2align 4",
    "_mactux_uaccess_copy:",
    "    mov rcx, rdx",
    ".globl _mactux_uaccess_copy_insn",
    ".alt_entry _mactux_uaccess_copy_insn",
    "_mactux_uaccess_copy_insn:",
    "    rep movsb",
    ".globl _mactux_uaccess_copy_fixup",
    ".alt_entry _mactux_uaccess_copy_fixup",
    "_mactux_uaccess_copy_fixup:",
    "    mov rax, rcx",
    "    ret",
    "",
    // u32 mactux_uaccess_cmpxchg32(addr: rdi, expected: esi, new: edx, found: rcx)
    // -> 0, with the word's previous value in *found; 1 if the access faulted.
    ".globl _mactux_uaccess_cmpxchg32",
    ".p2align 4",
    "_mactux_uaccess_cmpxchg32:",
    "    mov eax, esi",
    ".globl _mactux_uaccess_cmpxchg32_insn",
    ".alt_entry _mactux_uaccess_cmpxchg32_insn",
    "_mactux_uaccess_cmpxchg32_insn:",
    "    lock cmpxchg dword ptr [rdi], edx",
    "    mov dword ptr [rcx], eax",
    "    xor eax, eax",
    "    ret",
    ".globl _mactux_uaccess_cmpxchg32_fixup",
    ".alt_entry _mactux_uaccess_cmpxchg32_fixup",
    "_mactux_uaccess_cmpxchg32_fixup:",
    "    mov eax, 1",
    "    ret",
    "",
    // u32 mactux_uaccess_cmpxchg8(addr: rdi, expected: sil, new: dl, found: rcx)
    // -> as cmpxchg32, for one byte (the fs→gs prefix patch).
    ".globl _mactux_uaccess_cmpxchg8",
    ".p2align 4",
    "_mactux_uaccess_cmpxchg8:",
    "    mov eax, esi",
    ".globl _mactux_uaccess_cmpxchg8_insn",
    ".alt_entry _mactux_uaccess_cmpxchg8_insn",
    "_mactux_uaccess_cmpxchg8_insn:",
    "    lock cmpxchg byte ptr [rdi], dl",
    "    mov byte ptr [rcx], al",
    "    xor eax, eax",
    "    ret",
    ".globl _mactux_uaccess_cmpxchg8_fixup",
    ".alt_entry _mactux_uaccess_cmpxchg8_fixup",
    "_mactux_uaccess_cmpxchg8_fixup:",
    "    mov eax, 1",
    "    ret",
    "",
    // u32 mactux_uaccess_load32(addr: rdi, out: rsi) -> 0, or 1 if the load
    // faulted: one aligned 4-byte load, atomic as a futex word's read must be.
    // The load is the routine's first instruction, so the routine's own
    // symbol marks it.
    ".globl _mactux_uaccess_load32",
    ".p2align 4",
    "_mactux_uaccess_load32:",
    "    mov eax, dword ptr [rdi]",
    "    mov dword ptr [rsi], eax",
    "    xor eax, eax",
    "    ret",
    ".globl _mactux_uaccess_load32_fixup",
    ".alt_entry _mactux_uaccess_load32_fixup",
    "_mactux_uaccess_load32_fixup:",
    "    mov eax, 1",
    "    ret",
);
