//! Syscall-site rewriting (DESIGN.md "Speed"): a `syscall` instruction that
//! trapped twice is rewritten so that later executions enter the runtime by a
//! jump instead of a host signal. The trap stays the always-correct path:
//! only the shapes below are rewritten, and every other site, every site
//! the checks below are unsure of, and every site whose stub cannot be
//! placed keeps trapping.
//!
//! # The shape
//!
//! `mov $nr, %eax` (`b8 imm32`) immediately followed by `syscall`
//! (`0f 05`): what glibc's and musl's wrappers for calls with a constant
//! number compile to; Go's `mov $nr, %rax` (`48 c7 c0 imm32`); and a
//! 5-byte load of a register from the stack (glibc's `syscall()`: `mov
//! 8(%rsp), %r9`; Go's wrappers load their arguments so). Only the
//! instruction before the `syscall` is replaced, its first 5 bytes by
//! `jmp rel32` to a stub of this site:
//!
//! ```text
//! site:    e9 <rel32 to stub>      (was: b8 <nr>)
//! site+5:  0f 05                   (left as it was: syscall)
//! stub:    b8 <nr>                 mov $nr, %eax
//!          48 8d 0d <rel32>        lea site+7(%rip), %rcx
//!          ff 25 <rel32>           jmp *entry(%rip)
//! ```
//!
//! The instruction before the `syscall` may also set an argument
//! register, the number having been set further back: `mov $imm, %reg`
//! (`mov $8, %r10d`, the sigset size) or `lea mem, %reg` (glibc's
//! start_thread: `lea 0x8f0(%rbx), %rsi`). The stub runs the same
//! instruction with, for a rip-relative `lea`, its displacement made
//! relative to the stub ([`relocated`]).
//!
//! glibc's `read` is `xor %eax,%eax; syscall` and Go's `Syscall6` ends
//! with `MOVQ BX, DI; SYSCALL`: two and three bytes, too few for the `jmp
//! rel32`. Such an instruction becomes `jmp rel8` to a hole within reach
//! after the site, dead alignment padding ([`find_hole`]) that gets the
//! `jmp rel32` to the stub; the `syscall` stays, as for the others.
//!
//! The site's `syscall` stays where it was, so a branch to it (a loop back
//! to the `syscall` with eax already set), a restarted call (rip moved back
//! by 2, `signal::restart_syscall`, `syscall::handle`) and a handler that
//! looks at the two bytes before the interrupted rip all find the real
//! instruction, which traps as before. The only new instruction boundary
//! is the `jmp` at the old `mov`'s start; the old `mov`'s immediate was
//! never one. (zpoline and lazypoline rewrite the 2-byte `syscall` itself
//! into `call *%rax` to code at address 0; a macOS process has no page 0,
//! PAGEZERO, so this design keeps the `syscall` and takes the `mov`.)
//!
//! Decoding backwards is ambiguous: the `b8` byte before a `syscall` may be
//! the end of a longer instruction (`41 b8 ..` is `mov $imm, %r8d`;
//! `8b b8 <disp32>` loads edi). A site is rewritten only when (1) the
//! bytes decode as exactly those two instructions; (2) rax at the trap
//! equals the immediate (a `mov` that really ran just before; for the
//! other shapes, the register the instruction wrote holds what it wrote,
//! and a register the `syscall` overwrites, rcx or r11, is never taken
//! as proof); (3) the
//! byte before is no prefix a `b8` could carry; and (4) no instruction
//! starting up to 15 bytes earlier ends exactly at the `syscall` (which
//! would make the `b8` part of it), unless that instruction reads or
//! writes `nr(%rax)` with rax = nr, in the never-mapped first page, and
//! so cannot have run (the zero bytes of nop padding before a function
//! read so), or starts in the middle of an instruction: decoded forward
//! from each byte 24 to 64 bytes before the site, the code comes to the
//! site's instruction every time and never to that one (at least 8 times;
//! [`falls_through_to_site`]). 14 of glibc 2.36's futex wakes and its
//! getdents64 are taken so.
//!
//! # The entry
//!
//! The stub's common target is `host::trap::direct_entry`, which moves
//! below the red zone, blocks the host signals the trap's handler blocks,
//! saves the FP state with xsave, builds on the thread's alternate stack
//! the signal frame the kernel would have built for the site's SIGSYS
//! (rip after the site's `syscall`, rcx likewise, r11 = rflags) and
//! enters the trap's handler with it. From there on nothing differs from
//! a trapped call: the same dispatch, `--trace`, signal delivery on the
//! way out (EINTR, SA_RESTART, the handler's context shows the guest at
//! the site), fork, vfork, clone, execve; and the same real
//! `rt_sigreturn` restores every register, the FP state, the mask and the
//! alternate stack.
//!
//! # Patching while other threads run the code
//!
//! As the kernel's `text_poke_bp`: the first byte becomes `int3`, the
//! cores are synchronised (`host::thread::sync_cores`), the four tail
//! bytes are written, synchronise, the first byte becomes `e9`,
//! synchronise. A thread that executes the `int3` meanwhile raises
//! SIGTRAP, which [`resume_at_int3`] turns into the `mov` it replaced
//! (rax = nr, resume at the `syscall`, which traps). Guest code pages are
//! writable on the host already (see `syscall/mm.rs`: the fs→gs patch
//! writes them too). Sites in shared mappings keep trapping: the jump
//! would reach processes that have no such stub.
//!
//! # What the guest sees
//!
//! A guest that reads its own code sees the `jmp` (docs/divergences);
//! a guest that writes the site again (a JIT) overwrites it and its new
//! code traps until rewritten in turn. The stubs live in runtime memory
//! that the guest's map does not show, like the signal stacks.

use crate::task::lock;
use iced_x86::{Code, Decoder, DecoderOptions, Register};
use std::collections::{HashMap, HashSet};

/// `mov $imm32, %eax` + `syscall`.
pub const SITE_LEN: u64 = 7;
const MOV_EAX_LEN: u64 = 5;
const MOV_EAX_IMM32: u8 = 0xb8;
const JMP_REL32: u8 = 0xe9;
const JMP_REL32_LEN: u64 = 5;
const JMP_REL8: u8 = 0xeb;
const XOR_EAX_LEN: usize = 2;
/// How far after a two-byte site [`find_hole`] looks: a `jmp rel8` reach.
const HOLE_SEARCH: u64 = 127;
/// `jmp rel8`'s length: its displacement counts from the byte after it.
const JMP_REL8_LEN: u64 = 2;

/// The last address a `jmp rel8` at `site` reaches (a displacement of
/// +127 from the end of the jump). For a three-byte site instruction
/// (`mov %rbp,%rsi`) that is one byte short of 127 past its `syscall`: a
/// hole found exactly there took a displacement of 0x80, which `jmp rel8`
/// reads as -128, and the site jumped back into the code before it.
fn rel8_reach(site: u64) -> u64 {
    site + JMP_REL8_LEN + HOLE_SEARCH
}
const INT3: u8 = 0xcc;
const SYSCALL: [u8; 2] = [0x0f, 0x05];
/// The longest x86 instruction: how far back [`mov_syscall_site`] looks
/// for one that would swallow the `mov`.
const MAX_INSN_LEN: usize = 15;
/// Bytes before the site's end the caller passes: the site and what may
/// hide it.
pub const LOOK_BEHIND: u64 = (MAX_INSN_LEN + 1) as u64;
/// And the code before that, decoded forward to tell which instruction
/// comes before the `syscall` ([`falls_through_to_site`]).
const SYNC_WINDOW: u64 = 48;
/// x86 legacy prefixes (Intel SDM vol. 2, 2.1.1) and REX (2.2.1).
const PREFIXES: &[u8] = &[0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x66, 0x67];
const REX: core::ops::RangeInclusive<u8> = 0x40..=0x4f;

/// One stub's bytes (see the module header): the site's instruction (at
/// most 15 bytes), `lea` (7), `jmp` (6); at 32 the first bytes of the
/// site's instruction as it was (never run); then an 8-byte aligned slot
/// for the entry's address.
const STUB_SIZE: u64 = 48;
const STUB_ORIG_OFF: u64 = 32;
const STUB_SLOT_OFF: u64 = 40;
/// Runtime memory for stubs is mapped in chunks of this many bytes.
const CHUNK_SIZE: u64 = 64 * 1024;
/// How far a `jmp rel32` reaches, with a chunk's length to spare.
const REACH: u64 = (1 << 31) - 2 * CHUNK_SIZE;
/// Where to look for room for a chunk, by distance from the site: far
/// enough to stay clear of the program's heap and the mappings a loader
/// places next to the code, near enough to reach.
const CHUNK_DISTANCES: [u64; 6] = [1 << 30, 3 << 29, 1 << 29, 1 << 28, 1 << 27, 7 << 28];

/// A site that may be rewritten: the instruction before the `syscall`,
/// which the stub runs in its place, and what must hold at the trap for
/// it to be the instruction that really ran just before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Bytes from the site's start to the `syscall`.
    pub len: usize,
    pub evidence: Evidence,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// `mov $nr, %eax`: rax = nr.
    RaxIs(u32),
    /// `mov disp(%rsp), %reg` (glibc's `syscall()` loads its sixth
    /// argument so): the register holds the stack's qword there.
    RegIsStackQword { reg: Register, disp: i64 },
    /// `mov %src, %dst` (Go's `Syscall6` moves its first argument so): the
    /// two registers hold the same value.
    RegIsReg { dst: Register, src: Register },
    /// `mov $imm, %reg` other than the number's, or `lea disp(%rip),
    /// %reg` (glibc's `rt_sigprocmask(SIG_BLOCK, &sigall_set, ...)`): the
    /// register holds that value.
    RegIsValue { reg: Register, value: u64 },
    /// `lea disp(%base,%index,scale), %dst` (glibc's start_thread passes
    /// `&pd->sigmask` so): dst holds that address, truncated to 32 bits
    /// for a 32-bit `lea`. Neither base nor index is dst, whose old value
    /// would be gone.
    RegIsAddress { dst: Register, base: Register, index: Register, scale: u32, disp: u64, wide: bool },
}

/// If the bytes that end at a trapping `syscall` (`bytes`, whose last two
/// are that `syscall`, at most [`LOOK_BEHIND`] of them) are a site that
/// may be rewritten, its shape; `rax` is the register at the trap. Pure
/// (unit-tested).
pub fn site_shape(bytes: &[u8], end: u64, rax: u64) -> Option<Shape> {
    let n = bytes.len();
    if n < SITE_LEN as usize || bytes[n - 2..] != SYSCALL {
        return None;
    }
    let body = &bytes[..n - SYSCALL.len()];
    let at = end - 2;
    let shape = (bytes[n - SITE_LEN as usize] == MOV_EAX_IMM32)
        .then(|| mov_eax_shape(body, at, rax))
        .flatten()
        .or_else(|| mov_rax_shape(body, at, rax))
        .or_else(|| xor_eax_shape(body, rax))
        .or_else(|| stack_load_shape(body, at))
        .or_else(|| reg_move_shape(body, at))
        .or_else(|| lea_shape(body, at))
        .or_else(|| mov_imm_shape(body, at))?;
    let start = n - SYSCALL.len() - shape.len;
    // A prefix before the instruction would make it another one.
    if start > 0 {
        let before = bytes[start - 1];
        if PREFIXES.contains(&before) || REX.contains(&before) {
            return None;
        }
    }
    // An instruction from further back that ends exactly at the
    // `syscall` would hold the first byte as a ModRM, SIB or operand byte:
    // the site is taken only if the code before it falls through to the
    // site's instruction and to none of those.
    let ends_at_syscall = |from: usize| {
        let insn = Decoder::with_ip(64, &body[from..], end - (n - from) as u64, DecoderOptions::NONE).decode();
        (!insn.is_invalid() && insn.len() == body.len() - from).then_some(insn)
    };
    let mut rivals = Vec::new();
    let mut impossible = Vec::new();
    for from in start.saturating_sub(MAX_INSN_LEN)..start {
        if let Some(insn) = ends_at_syscall(from) {
            if would_have_faulted(&insn, shape.evidence) {
                impossible.push(from);
            } else {
                rivals.push(from);
            }
        }
    }
    if !rivals.is_empty() && !falls_through_to_site(body, end - n as u64, start, &impossible) {
        return None;
    }
    Some(shape)
}

/// How many decodings of the code before a site must reach it, and how
/// far before it they start at least (see [`falls_through_to_site`]).
const MIN_AGREEING: usize = 8;
const SYNC_DISTANCE: usize = 24;

/// Whether the code before a site (`body`: the bytes up to its `syscall`,
/// the first at address `base`) reaches the `syscall` through the site's
/// instruction at `start`, and never through one of the `rivals` (other
/// instructions that would end exactly at the `syscall`), when decoded
/// forward from every earlier byte. Compiled code reaches an instruction
/// by falling through from the one before it or by a branch to an
/// instruction boundary; linear decoding from any boundary before it
/// reproduces the real sequence (x86 decoding resynchronises within a few
/// instructions), so a rival that no decoding from [`SYNC_DISTANCE`] bytes
/// back or more reaches is the middle of another instruction (glibc's
/// futex wake: `xor $0x81,%sil; mov $0xca,%eax; syscall`, in which `f6 81
/// b8 ca 00 00 00` would read as a `test`). A decoding that runs over the
/// `syscall` is not the real one (the `syscall` ran, so it is a boundary)
/// and one that ends in an instruction that cannot have run
/// (`impossible`) neither; at least [`MIN_AGREEING`] others must come to
/// the site, none to a rival or anywhere else.
fn falls_through_to_site(body: &[u8], base: u64, start: usize, impossible: &[usize]) -> bool {
    let mut agreeing = 0;
    // From far enough back to have come into step with the real sequence:
    // a decoding from a byte in the middle of an instruction may take a
    // few instructions to, and one from just before a rival may end on it.
    for first in 0..start.saturating_sub(SYNC_DISTANCE) {
        let (mut at, mut last) = (first, None);
        while at < body.len() {
            let insn = Decoder::with_ip(64, &body[at..], base + at as u64, DecoderOptions::NONE).decode();
            if insn.is_invalid() {
                break;
            }
            last = Some(at);
            at += insn.len();
        }
        if at != body.len() {
            continue;
        }
        match last {
            Some(l) if l == start => agreeing += 1,
            Some(l) if impossible.contains(&l) => {}
            _ => return false,
        }
    }
    agreeing >= MIN_AGREEING
}

/// The instruction of `len` bytes that ends at `body`'s end (at `end`), if
/// those bytes decode as exactly one.
fn decode_tail(body: &[u8], end: u64, len: usize) -> Option<iced_x86::Instruction> {
    let at = body.len().checked_sub(len)?;
    let insn = Decoder::with_ip(64, &body[at..], end - len as u64, DecoderOptions::NONE).decode();
    (!insn.is_invalid() && insn.len() == len).then_some(insn)
}

/// `mov $nr, %eax` ending at `body`'s end (at `end`), with rax = nr.
fn mov_eax_shape(body: &[u8], end: u64, rax: u64) -> Option<Shape> {
    let mov = decode_tail(body, end, MOV_EAX_LEN as usize)?;
    if mov.code() != Code::Mov_r32_imm32 || mov.op0_register() != Register::EAX {
        return None;
    }
    let nr = mov.immediate32();
    // The `mov` ran just before the `syscall`: rax holds its immediate.
    (rax == u64::from(nr)).then_some(Shape { len: MOV_EAX_LEN as usize, evidence: Evidence::RaxIs(nr) })
}

/// `mov $nr, %rax` (`48 c7 c0 imm32`, as Go's runtime writes `MOVQ
/// $SYS_x, AX`) ending at `body`'s end, with rax = nr.
fn mov_rax_shape(body: &[u8], end: u64, rax: u64) -> Option<Shape> {
    const LEN: usize = 7;
    let mov = decode_tail(body, end, LEN)?;
    if mov.code() != Code::Mov_rm64_imm32 || mov.op0_register() != Register::RAX {
        return None;
    }
    let nr = u32::try_from(mov.immediate32to64()).ok()?;
    (rax == u64::from(nr)).then_some(Shape { len: LEN, evidence: Evidence::RaxIs(nr) })
}

/// `xor %eax, %eax` (`31 c0` or `33 c0`: call number 0, read) ending at
/// `body`'s end, with rax = 0. Two bytes: too short for the `jmp rel32`,
/// so its site jumps to a hole nearby (see [`find_hole`]).
fn xor_eax_shape(body: &[u8], rax: u64) -> Option<Shape> {
    let at = body.len().checked_sub(XOR_EAX_LEN)?;
    let is_xor = matches!(body[at..], [0x31 | 0x33, 0xc0]);
    (is_xor && rax == 0).then_some(Shape { len: XOR_EAX_LEN, evidence: Evidence::RaxIs(0) })
}

/// `mov %r64, %r64` (3 bytes: REX.W 89 or 8b, a register ModRM) ending at
/// `body`'s end: Go's `Syscall6` ends its argument moves with `MOVQ BX,
/// DI`, musl's `__syscall_cp_c` with `mov %rcx,%rdx`. Short of the `jmp
/// rel32`, like the `xor`: its site jumps to a hole.
fn reg_move_shape(body: &[u8], end: u64) -> Option<Shape> {
    const LEN: usize = 3;
    let insn = decode_tail(body, end, LEN)?;
    let is_move = matches!(insn.code(), Code::Mov_rm64_r64 | Code::Mov_r64_rm64)
        && insn.op0_kind() == iced_x86::OpKind::Register
        && insn.op1_kind() == iced_x86::OpKind::Register;
    is_move.then(|| Shape { len: LEN, evidence: Evidence::RegIsReg { dst: insn.op0_register(), src: insn.op1_register() } })
}

/// `mov disp8(%rsp), %r64` (5 bytes, REX.W 8b ModRM SIB disp8) ending at
/// `body`'s end.
fn stack_load_shape(body: &[u8], end: u64) -> Option<Shape> {
    const LEN: usize = 5;
    let insn = decode_tail(body, end, LEN)?;
    let is_stack_load = insn.code() == Code::Mov_r64_rm64
        && insn.op1_kind() == iced_x86::OpKind::Memory
        && insn.memory_base() == Register::RSP
        && insn.memory_index() == Register::None
        && insn.segment_prefix() == Register::None;
    if !is_stack_load {
        return None;
    }
    let evidence = Evidence::RegIsStackQword { reg: insn.op0_register(), disp: insn.memory_displacement64() as i64 };
    Some(Shape { len: LEN, evidence })
}

/// Registers whose value at the trap tells what the instruction before the
/// `syscall` wrote: not rsp, and not rcx and r11, which the `syscall`
/// itself overwrites.
fn checkable(reg: Register) -> bool {
    !matches!(reg, Register::RSP | Register::RCX | Register::R11) && is_gpr64(reg)
}

fn is_gpr64(reg: Register) -> bool {
    (Register::RAX as u32..=Register::R15 as u32).contains(&(reg as u32))
}

/// The 64-bit register a 32-bit or 64-bit general register is part of (a
/// write to the 32-bit one zero-extends into it).
fn full64(reg: Register) -> Register {
    use Register::*;
    const R32: [Register; 16] = [EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI, R8D, R9D, R10D, R11D, R12D, R13D, R14D, R15D];
    const R64: [Register; 16] = [RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15];
    R32.iter().position(|&r| r == reg).map_or(reg, |i| R64[i])
}

/// `lea mem, %r64` or `lea mem, %r32` (4 to 8 bytes) ending at `body`'s
/// end, with a 64-bit address and no segment override.
fn lea_shape(body: &[u8], end: u64) -> Option<Shape> {
    use iced_x86::OpKind;
    (4..=8).rev().find_map(|len| {
        let insn = decode_tail(body, end, len)?;
        let wide = match insn.code() {
            Code::Lea_r64_m => true,
            Code::Lea_r32_m => false,
            _ => return None,
        };
        let dst = full64(insn.op0_register());
        if insn.op1_kind() != OpKind::Memory || insn.segment_prefix() != Register::None || !checkable(dst) {
            return None;
        }
        let (base, index) = (insn.memory_base(), insn.memory_index());
        let evidence = if base == Register::RIP && index == Register::None {
            // The absolute address, decoded at the site's own address.
            let value = insn.memory_displacement64();
            Evidence::RegIsValue { reg: dst, value: if wide { value } else { value & 0xffff_ffff } }
        } else {
            let is_reg = |r: Register| r == Register::None || is_gpr64(r);
            if !is_reg(base) || !is_reg(index) || base == dst || index == dst {
                return None;
            }
            let (scale, disp) = (insn.memory_index_scale(), insn.memory_displacement64());
            Evidence::RegIsAddress { dst, base, index, scale, disp, wide }
        };
        Some(Shape { len, evidence })
    })
}

/// `mov $imm32, %r32` (5 or 6 bytes) or `mov $imm32, %r64` (7, sign
/// extended) into a register other than eax ending at `body`'s end.
fn mov_imm_shape(body: &[u8], end: u64) -> Option<Shape> {
    [7, 6, 5].into_iter().find_map(|len| {
        let insn = decode_tail(body, end, len)?;
        let value = match insn.code() {
            Code::Mov_r32_imm32 => u64::from(insn.immediate32()),
            Code::Mov_rm64_imm32 if insn.op0_kind() == iced_x86::OpKind::Register => insn.immediate32to64() as u64,
            _ => return None,
        };
        let reg = full64(insn.op0_register());
        (checkable(reg) && reg != Register::RAX).then_some(Shape { len, evidence: Evidence::RegIsValue { reg, value } })
    })
}

/// Whether `insn`, a reading of the bytes before a `syscall` in which the
/// site's `b8` is a ModRM byte (`[rax + disp32]`) and its immediate the
/// displacement, cannot have run just before the trap: with rax = disp32
/// = nr it accesses memory in the first page, which is never mapped. The
/// nop padding compilers put before functions (`nopw 0(%rax,%rax)`, whose
/// zero bytes read as `add %bh, nr(%rax)` together with the `b8`) is
/// told apart from a real instruction so.
fn would_have_faulted(insn: &iced_x86::Instruction, evidence: Evidence) -> bool {
    use iced_x86::{Mnemonic, OpKind};
    let Evidence::RaxIs(nr) = evidence else { return false };
    const FIRST_PAGE: u32 = 4096 / 2;
    let has_memory = (0..insn.op_count()).any(|i| insn.op_kind(i) == OpKind::Memory);
    let does_not_access = matches!(
        insn.mnemonic(),
        Mnemonic::Lea | Mnemonic::Nop | Mnemonic::Prefetch | Mnemonic::Prefetchw | Mnemonic::Prefetchnta | Mnemonic::Prefetcht0 | Mnemonic::Prefetcht1 | Mnemonic::Prefetcht2 | Mnemonic::Prefetchwt1
    );
    nr < FIRST_PAGE
        && has_memory
        && !does_not_access
        && insn.memory_base() == Register::RAX
        && insn.memory_index() == Register::None
        && insn.memory_displacement64() == u64::from(nr)
}

/// The instruction `insn` of the site at `site` as its stub at `stub`
/// runs it: the same bytes, but for a rip-relative `lea`, whose
/// displacement (its last four bytes) is made relative to the stub; None
/// if the stub is out of its target's reach, or it is anything else that
/// depends on where it runs.
fn relocated(insn: &[u8], site: u64, stub: u64) -> Option<([u8; MAX_INSN_LEN], usize)> {
    let n = insn.len();
    let mut out = [0u8; MAX_INSN_LEN];
    out.get_mut(..n)?.copy_from_slice(insn);
    let decoded = Decoder::with_ip(64, insn, site, DecoderOptions::NONE).decode();
    let is_shape = matches!(decoded.mnemonic(), iced_x86::Mnemonic::Mov | iced_x86::Mnemonic::Xor | iced_x86::Mnemonic::Lea);
    if decoded.is_invalid() || decoded.len() != n || !is_shape {
        return None;
    }
    if decoded.is_ip_rel_memory_operand() {
        if decoded.mnemonic() != iced_x86::Mnemonic::Lea || n < 4 {
            return None;
        }
        let from_stub = decoded.ip_rel_memory_address().wrapping_sub(stub + n as u64) as i64;
        out[n - 4..n].copy_from_slice(&i32::try_from(from_stub).ok()?.to_le_bytes());
    }
    Some((out, n))
}

/// The stub of a site at `site` whose instruction before the `syscall`
/// is `original`, which the stub runs as `insn` ([`relocated`]), placed
/// at `stub`, jumping on to `entry`. The original's first bytes are kept
/// at [`STUB_ORIG_OFF`] for [`resume_at_int3`].
fn stub_bytes(site: u64, insn: &[u8], original: &[u8], stub: u64, entry: u64) -> [u8; STUB_SIZE as usize] {
    let mut b = [INT3; STUB_SIZE as usize];
    let n = insn.len();
    b[..n].copy_from_slice(insn);
    let kept = original.len().min(JMP_REL32_LEN as usize);
    b[STUB_ORIG_OFF as usize..STUB_ORIG_OFF as usize + kept].copy_from_slice(&original[..kept]);
    let site_end = site + n as u64 + SYSCALL.len() as u64;
    // lea rcx, [rip + disp32]: the address after the site's `syscall`.
    b[n..n + 3].copy_from_slice(&[0x48, 0x8d, 0x0d]);
    let lea_end = stub + n as u64 + 7;
    b[n + 3..n + 7].copy_from_slice(&(site_end.wrapping_sub(lea_end) as i32).to_le_bytes());
    // jmp [rip + disp32]: the slot.
    b[n + 7..n + 9].copy_from_slice(&[0xff, 0x25]);
    let jmp_end = stub + n as u64 + 13;
    b[n + 9..n + 13].copy_from_slice(&((stub + STUB_SLOT_OFF).wrapping_sub(jmp_end) as i32).to_le_bytes());
    b[STUB_SLOT_OFF as usize..].copy_from_slice(&entry.to_le_bytes());
    b
}

/// The rewritten sites of this process and the runtime memory holding
/// their stubs (`Process::syscall_sites`).
#[derive(Default)]
pub struct Sites {
    /// Site address → its stub: the sites rewritten or being rewritten,
    /// for [`resume_at_int3`].
    patched: HashMap<u64, u64>,
    /// Chunks of stub memory: start and bytes used.
    chunks: Vec<(u64, u64)>,
    /// The sites (the address after their `syscall`) that trapped since
    /// rewriting began: a site is rewritten at its second trap (see
    /// [`after_trap`]).
    trapped_once: HashSet<u64>,
    /// Short site (2 or 3 bytes) → the hole its `jmp rel8` reaches (see [`find_hole`]);
    /// a hole serves one site.
    holes: HashMap<u64, u64>,
}

fn reaches(a: u64, b: u64) -> bool {
    a.abs_diff(b) < REACH
}

impl Sites {
    /// Room for one stub within a jump's reach of `site`.
    fn alloc_stub(&mut self, site: u64) -> Option<u64> {
        if let Some(c) = self.chunks.iter_mut().find(|(start, used)| *used + STUB_SIZE <= CHUNK_SIZE && reaches(*start, site)) {
            let stub = c.0 + c.1;
            c.1 += STUB_SIZE;
            return Some(stub);
        }
        let base = site & !(CHUNK_SIZE - 1);
        let candidates = CHUNK_DISTANCES.iter().flat_map(|&d| [base.checked_sub(d), base.checked_add(d)]).flatten();
        for at in candidates {
            // Not the first pages (mmap_min_addr), nothing non-canonical.
            if !(LOWEST_CHUNK..HIGHEST_CHUNK).contains(&at) {
                continue;
            }
            if crate::host::mem::map_code_at(at, CHUNK_SIZE).is_ok() {
                self.chunks.push((at, STUB_SIZE));
                return Some(at);
            }
        }
        None
    }

    /// Gives back the stub [`Sites::alloc_stub`] returned last (its site
    /// could not be patched), so that a site that keeps failing does not
    /// use memory on every trap.
    fn free_last_stub(&mut self, stub: u64) {
        if let Some(c) = self.chunks.iter_mut().find(|(start, used)| start + used == stub + STUB_SIZE) {
            c.1 -= STUB_SIZE;
        }
    }
}

const LOWEST_CHUNK: u64 = 1 << 24;
const HIGHEST_CHUNK: u64 = 0x7fff_0000_0000;

/// Rewriting starts once the process has taken this many syscall traps.
/// Rewriting costs more than a trap: the first rewrite builds the x86
/// decoder's tables (about 0.7 ms on the VM the benchmarks run on, as much
/// as 200 traps), each one patches code and synchronises the cores three
/// times. A short program (`true`, `ls` of a small directory: tens to a few
/// hundred calls) would pay for rewrites it never uses; a long one pays
/// these few hundred traps once. (The rent-or-buy rule: trap until the
/// traps have cost what rewriting costs, then rewrite.)
const REWRITE_AFTER_TRAPS: u64 = 256;
/// Builds the x86 decoder's tables (they are built once, on first use),
/// called with `Process::syscall_sites` held. That lock is held across a
/// fork (`Process::lock_for_fork`), so a fork never happens while another
/// thread is half-way through building them: a child that inherited them
/// half built would wait for them forever. (They are not built ahead on a
/// thread of their own: its allocations would take address ranges at a
/// moment of its own, a range the guest has just freed and maps again
/// included.)
fn build_decoder_tables(_held: &Sites) {
    let _ = Decoder::with_ip(64, &SYSCALL, 0, DecoderOptions::NONE).decode();
}

/// Called after the trapped call whose `syscall` ended at `site_end` was
/// handled, with the registers it trapped with: rewrites the site if it
/// has a known shape and rewriting is on.
pub fn after_trap(site_end: u64, trapped: &super::GuestRegs) {
    let p = crate::task::current();
    if !p.config.rewrite_syscalls {
        return;
    }
    // Only once the process has trapped often enough to pay for rewriting
    // (`REWRITE_AFTER_TRAPS`); until then nothing is looked at or kept,
    // so a short program runs none of the code below (nor faults it in).
    // From then on a site is rewritten at its second trap, not its first
    // (most sites run once: start-up, exit).
    if p.syscall_traps.load(core::sync::atomic::Ordering::Relaxed) < REWRITE_AFTER_TRAPS {
        return;
    }
    let Some(entry) = crate::host::trap::direct_entry() else { return };
    {
        let mut sites = lock(&p.syscall_sites);
        if sites.trapped_once.insert(site_end) {
            return;
        }
        build_decoder_tables(&sites);
    }
    let Some(syscall_at) = site_end.checked_sub(SYSCALL.len() as u64) else { return };
    // Guest code only, in one private executable mapping: a shared one
    // (a file's, or anonymous memory a fork child shares) would carry the
    // jump into processes that do not have this process's stubs.
    let from = {
        let mm = lock(&p.mm);
        match mm.find(syscall_at) {
            Some((start, v)) if v.prot.exec && !v.is_shared && v.end >= site_end => {
                start.max(site_end.saturating_sub(LOOK_BEHIND + SYNC_WINDOW))
            }
            _ => return,
        }
    };
    let mut bytes = [0u8; (LOOK_BEHIND + SYNC_WINDOW) as usize];
    let bytes = &mut bytes[..(site_end - from) as usize];
    if !crate::uaccess::copy_code_bytes(bytes, from) {
        return;
    }
    let Some(shape) = site_shape(bytes, site_end, trapped.rax) else { return };
    if !holds(shape.evidence, trapped) {
        return;
    }
    let site = syscall_at - shape.len as u64;
    let insn = &bytes[bytes.len() - SYSCALL.len() - shape.len..bytes.len() - SYSCALL.len()];
    // A site shorter than the `jmp rel32` jumps to a hole in the code after it.
    let mut after = [0u8; (HOLE_SEARCH + 16) as usize];
    let after = if shape.len < JMP_REL32_LEN as usize {
        let avail = match lock(&p.mm).find(site_end) {
            Some((_, v)) if v.prot.exec && !v.is_shared => (v.end - site_end).min(after.len() as u64) as usize,
            _ => return,
        };
        let after = &mut after[..avail];
        if !crate::uaccess::copy_code_bytes(after, site_end) {
            return;
        }
        Some(&*after)
    } else {
        None
    };
    // A site rewritten before and found unpatched again was written over
    // by the guest (a JIT's new code): it is rewritten afresh. One that
    // another thread patched since the bytes were read fails the first
    // byte's compare-and-exchange below and keeps that thread's stub.
    let mut sites = lock(&p.syscall_sites);
    let hole = match after {
        Some(code) => {
            let taken: Vec<u64> = sites.holes.values().copied().collect();
            let Some(hole) = find_hole(code, site_end, rel8_reach(site), &taken) else { return };
            Some(hole)
        }
        None => None,
    };
    let Some(stub) = sites.alloc_stub(site) else { return };
    let Some((moved, len)) = relocated(insn, site, stub) else {
        sites.free_last_stub(stub);
        return;
    };
    let code = stub_bytes(site, &moved[..len], insn, stub, entry);
    // SAFETY: `stub` is STUB_SIZE unused bytes of a chunk of runtime
    // memory we mapped read-write-execute; no code jumps there yet.
    unsafe { core::ptr::copy_nonoverlapping(code.as_ptr(), stub as *mut u8, code.len()) };
    // The hole first: nothing runs it, so it may be written in one go.
    let hole_was = match hole {
        Some(h) => match fill_hole(h, stub) {
            Some(old) => Some((h, old)),
            None => {
                sites.free_last_stub(stub);
                return;
            }
        },
        None => None,
    };
    let before = sites.patched.insert(site, stub);
    let hole_before = hole.and_then(|h| sites.holes.insert(site, h));
    if !patch_site(site, insn[0], SiteJump::to(site, stub, hole)) {
        match before {
            Some(old) => sites.patched.insert(site, old),
            None => sites.patched.remove(&site),
        };
        match hole_before {
            Some(old) => sites.holes.insert(site, old),
            None => sites.holes.remove(&site),
        };
        if let Some((h, old)) = hole_was {
            let _ = crate::uaccess::write_code_bytes(h, &old);
        }
        sites.free_last_stub(stub);
    }
}

/// Whether the registers at the trap show that the site's instruction ran
/// just before the `syscall` (an `Evidence::RaxIs` was checked where the
/// shape was found, from rax alone).
fn holds(evidence: Evidence, trapped: &super::GuestRegs) -> bool {
    let value = |r: Register| match r {
        Register::None => Some(0),
        Register::RSP => Some(trapped.rsp),
        r => reg_value(trapped, r),
    };
    match evidence {
        Evidence::RaxIs(_) => true,
        Evidence::RegIsStackQword { reg, disp } => {
            let held = reg_value(trapped, reg);
            held.is_some() && held == crate::uaccess::read::<u64>(trapped.rsp.wrapping_add(disp as u64)).ok()
        }
        // The `syscall` itself overwrote rcx and r11 (musl's wrapper ends
        // `mov %rcx,%rdx`): a move from them leaves no trace to check, and
        // the decoding checks of `site_shape` stand alone.
        Evidence::RegIsReg { src: Register::RCX | Register::R11, .. } => true,
        Evidence::RegIsReg { dst, src } => {
            let d = reg_value(trapped, dst);
            d.is_some() && d == reg_value(trapped, src)
        }
        Evidence::RegIsValue { reg, value: want } => reg_value(trapped, reg) == Some(want),
        Evidence::RegIsAddress { dst, base, index, scale, disp, wide } => {
            let (Some(b), Some(i), Some(d)) = (value(base), value(index), reg_value(trapped, dst)) else { return false };
            let addr = b.wrapping_add(i.wrapping_mul(u64::from(scale))).wrapping_add(disp);
            d == if wide { addr } else { addr & 0xffff_ffff }
        }
    }
}

/// The value of a 64-bit general register in `regs`.
fn reg_value(regs: &super::GuestRegs, reg: Register) -> Option<u64> {
    Some(match reg {
        Register::RAX => regs.rax,
        Register::RBX => regs.rbx,
        Register::RCX => regs.rcx,
        Register::RDX => regs.rdx,
        Register::RSI => regs.rsi,
        Register::RDI => regs.rdi,
        Register::RBP => regs.rbp,
        Register::R8 => regs.r8,
        Register::R9 => regs.r9,
        Register::R10 => regs.r10,
        Register::R11 => regs.r11,
        Register::R12 => regs.r12,
        Register::R13 => regs.r13,
        Register::R14 => regs.r14,
        Register::R15 => regs.r15,
        _ => return None,
    })
}

/// What a rewritten site's first bytes become: `jmp rel32` to its stub,
/// or, for a site shorter than that, `jmp rel8` to its hole, which holds
/// the `jmp rel32` ([`fill_hole`]).
struct SiteJump {
    opcode: u8,
    /// The displacement's bytes: 4 of them, or 1 for `jmp rel8`.
    disp: [u8; 4],
    disp_len: usize,
}

impl SiteJump {
    fn to(site: u64, stub: u64, hole: Option<u64>) -> SiteJump {
        match hole {
            Some(h) => SiteJump { opcode: JMP_REL8, disp: [h.wrapping_sub(site + JMP_REL8_LEN) as u8, 0, 0, 0], disp_len: 1 },
            None => SiteJump {
                opcode: JMP_REL32,
                disp: (stub.wrapping_sub(site + JMP_REL32_LEN) as i32).to_le_bytes(),
                disp_len: 4,
            },
        }
    }

    fn disp(&self) -> &[u8] {
        &self.disp[..self.disp_len]
    }
}

/// Writes `jmp stub` into the hole at `hole`; the bytes it held, or None
/// if the code went away.
fn fill_hole(hole: u64, stub: u64) -> Option<[u8; JMP_REL32_LEN as usize]> {
    use crate::uaccess::{copy_code_bytes, write_code_bytes};
    let mut old = [0u8; JMP_REL32_LEN as usize];
    let mut jmp = [JMP_REL32; JMP_REL32_LEN as usize];
    jmp[1..].copy_from_slice(&(stub.wrapping_sub(hole + JMP_REL32_LEN) as i32).to_le_bytes());
    (copy_code_bytes(&mut old, hole) && write_code_bytes(hole, &jmp)).then_some(old)
}

/// Turns the instruction at `site`, whose first byte is `first`, into
/// `jump`, breakpoint first (see the module header); false if the code
/// changed or went away meanwhile. Bytes of the old instruction past the
/// jump stay; nothing reaches them.
fn patch_site(site: u64, first: u8, jump: SiteJump) -> bool {
    use crate::uaccess::{cmpxchg_code_byte, write_code_bytes};
    if cmpxchg_code_byte(site, first, INT3) != Some(first) {
        return false;
    }
    crate::host::thread::sync_cores();
    if !write_code_bytes(site + 1, jump.disp()) {
        let _ = cmpxchg_code_byte(site, INT3, first);
        return false;
    }
    crate::host::thread::sync_cores();
    let done = cmpxchg_code_byte(site, INT3, jump.opcode) == Some(INT3);
    crate::host::thread::sync_cores();
    done
}

/// The start of a hole for a `jmp rel32` in `code`, the bytes from `at` (the
/// instruction after a two-byte site's `syscall`) on, that starts at most
/// at `last`: alignment padding that no code runs. The instructions are
/// decoded forward from `at`, a known instruction boundary; a hole is a
/// run of nops of at least five bytes that follows a `ret`, a `jmp` or a
/// `ud2` (nothing falls into it) and ends at a 16-byte boundary (it pads
/// up to the next function or branch target, which is where jumps land).
/// This is the padding compilers put between functions and before aligned
/// loop heads: glibc's `read` has one 10 bytes after its `ret`. `taken`:
/// holes other sites use. Pure (unit-tested).
pub fn find_hole(code: &[u8], at: u64, last: u64, taken: &[u64]) -> Option<u64> {
    use iced_x86::Mnemonic;
    let mut dec = Decoder::with_ip(64, code, at, DecoderOptions::NONE);
    let mut flow_ended = false;
    let mut pad: Option<u64> = None;
    while dec.can_decode() {
        let insn = dec.decode();
        if insn.is_invalid() || insn.ip() > last {
            return None;
        }
        let is_padding = matches!(insn.mnemonic(), Mnemonic::Nop | Mnemonic::Int3);
        if is_padding && (flow_ended || pad.is_some()) {
            let start = *pad.get_or_insert(insn.ip());
            let end = insn.next_ip();
            if end % 16 == 0 && end - start >= JMP_REL32_LEN && start <= last && !taken.contains(&start) {
                return Some(start);
            }
            continue;
        }
        pad = None;
        // `jmp` of every form (short, near, indirect): never falls through.
        flow_ended = matches!(insn.mnemonic(), Mnemonic::Ret | Mnemonic::Jmp | Mnemonic::Ud2);
    }
    None
}

/// A SIGTRAP in guest code at `regs.rip`: if it is the `int3` of a site
/// being rewritten, continues in the site's stub, which runs the
/// instruction the `int3` replaced and enters as the `syscall` after it
/// would have, and returns true.
pub fn resume_at_int3(regs: &mut super::GuestRegs) -> bool {
    let Some(site) = regs.rip.checked_sub(1) else { return false };
    let p = crate::task::current();
    let (stub, hole) = {
        let sites = lock(&p.syscall_sites);
        let Some(stub) = sites.patched.get(&site).copied() else { return false };
        (stub, sites.holes.get(&site).copied())
    };
    // Ours only if the bytes after the `int3` are the replaced
    // instruction's (the stub's copy) or the jump's displacement: an
    // `int3` the guest wrote over an old site is the guest's own.
    let jump = SiteJump::to(site, stub, hole);
    let n = jump.disp_len;
    let mut now = [0u8; JMP_REL32_LEN as usize];
    if !crate::uaccess::copy_code_bytes(&mut now[..1 + n], site) || !(now[0] == INT3 || now[0] == jump.opcode) {
        return false;
    }
    // SAFETY: `stub` is a stub this process wrote (STUB_SIZE bytes of
    // runtime memory that stays mapped), which holds the replaced
    // instruction's first bytes at STUB_ORIG_OFF, as many as the jump.
    let replaced = unsafe { core::slice::from_raw_parts((stub + STUB_ORIG_OFF + 1) as *const u8, n) };
    if now[1..1 + n] != *jump.disp() && now[1..1 + n] != *replaced {
        return false;
    }
    regs.rip = stub;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const END: u64 = 0x40_1000;

    fn nr_of(bytes: &[u8], rax: u64) -> Option<u32> {
        match site_shape(bytes, END, rax)?.evidence {
            Evidence::RaxIs(nr) => Some(nr),
            _ => None,
        }
    }

    #[test]
    fn finds_mov_syscall() {
        // getpid in glibc: mov $0x27,%eax; syscall, after a ret.
        let b = [0xc3, 0xb8, 0x27, 0, 0, 0, 0x0f, 0x05];
        assert_eq!(nr_of(&b, 0x27), Some(0x27));
        // Without anything before it.
        assert_eq!(nr_of(&b[1..], 0x27), Some(0x27));
    }

    #[test]
    fn finds_site_after_nop_padding() {
        // glibc 2.36 getpid, after the previous function's padding
        // (nopw 0x0(%rax,%rax,1)): `00 b8 27 00 00 00` would read as
        // `add %bh, 0x27(%rax)`, which cannot have run with rax = 0x27.
        let b = [0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0, 0xb8, 0x27, 0, 0, 0, 0x0f, 0x05];
        assert_eq!(nr_of(&b, 0x27), Some(0x27));
        // But `lea 0x27(%rax),%edi` (8d b8) can have: no rewrite.
        let b = [0x90, 0x8d, 0xb8, 0x27, 0, 0, 0, 0x0f, 0x05];
        assert_eq!(nr_of(&b, 0x27), None);
    }

    #[test]
    fn finds_glibc_syscall_function() {
        // glibc's syscall(): mov %r9,%r8; mov 0x8(%rsp),%r9; syscall.
        let b = [0x4d, 0x89, 0xc8, 0x4c, 0x8b, 0x4c, 0x24, 0x08, 0x0f, 0x05];
        let shape = site_shape(&b, END, 0x27).unwrap();
        assert_eq!(shape, Shape { len: 5, evidence: Evidence::RegIsStackQword { reg: Register::R9, disp: 8 } });
        // A rip-relative load is not a stack load.
        let b = [0x90, 0x90, 0x4c, 0x8b, 0x0d, 1, 0, 0, 0, 0x0f, 0x05];
        assert_eq!(site_shape(&b, END, 0), None);
    }

    #[test]
    fn finds_go_movq_rax() {
        // Go's runtime: MOVQ $SYS_futex, AX; SYSCALL.
        let b = [0x90, 0x48, 0xc7, 0xc0, 0xca, 0, 0, 0, 0x0f, 0x05];
        assert_eq!(site_shape(&b, END, 0xca), Some(Shape { len: 7, evidence: Evidence::RaxIs(0xca) }));
        assert_eq!(site_shape(&b, END, 0xcb), None);
    }

    #[test]
    fn refuses_other_shapes() {
        // rax differs from the immediate: the mov did not run just before.
        let b = [0xc3, 0xb8, 0x27, 0, 0, 0, 0x0f, 0x05];
        assert_eq!(nr_of(&b, 0x28), None);
        // mov $0x27,%r8d (REX.B): eax is not the number.
        let b = [0x41, 0xb8, 0x27, 0, 0, 0, 0x0f, 0x05];
        assert_eq!(nr_of(&b, 0x27), None);
        // mov 0x27(%rax,%rdi,4),%eax: the b8 is a SIB byte.
        let b = [0x90, 0x8b, 0x84, 0xb8, 0x27, 0, 0, 0, 0x0f, 0x05];
        assert_eq!(nr_of(&b, 0x27), None);
        // mov 0x27(%rax),%edi would read the first page with rax = 0x27:
        // it cannot have run, so the b8 is the `mov`.
        let b = [0x90, 0x8b, 0xb8, 0x27, 0, 0, 0, 0x0f, 0x05];
        assert_eq!(nr_of(&b, 0x27), Some(0x27));
        // xor %eax,%eax; syscall with rax not 0: not what ran.
        let b = [0x90, 0x90, 0x90, 0x31, 0xc0, 0x0f, 0x05];
        assert_eq!(site_shape(&b, END, 1), None);
        // Not a syscall at the end.
        let b = [0xb8, 0x27, 0, 0, 0, 0x0f, 0x34];
        assert_eq!(site_shape(&b, END, 0x27), None);
        // Too short.
        assert_eq!(site_shape(&[0x0f, 0x05], END, 0), None);
    }

    #[test]
    fn finds_xor_eax_syscall() {
        // glibc's read: je; xor %eax,%eax; syscall (both encodings).
        let b = [0x90, 0x74, 0x17, 0x31, 0xc0, 0x0f, 0x05];
        assert_eq!(site_shape(&b, END, 0), Some(Shape { len: 2, evidence: Evidence::RaxIs(0) }));
        let b = [0x90, 0x74, 0x17, 0x33, 0xc0, 0x0f, 0x05];
        assert_eq!(site_shape(&b, END, 0), Some(Shape { len: 2, evidence: Evidence::RaxIs(0) }));
        // xor %eax,%r8d would need a REX byte: 41 31 c0 is not ours.
        let b = [0x90, 0x41, 0x31, 0xc0, 0x0f, 0x05];
        assert_eq!(site_shape(&b, END, 0), None);
        // movabs 0x...c031, %eax (a1 + 8 bytes) would swallow the xor.
        let b = [0x90, 0xa1, 0, 0, 0, 0, 0, 0, 0x31, 0xc0, 0x0f, 0x05];
        assert_eq!(site_shape(&b, END, 0), None);
    }

    #[test]
    fn finds_go_register_move() {
        // Go's Syscall6: MOVQ CX, SI; MOVQ BX, DI; SYSCALL.
        let b = [0x48, 0x89, 0xce, 0x48, 0x89, 0xdf, 0x0f, 0x05];
        let want = Shape { len: 3, evidence: Evidence::RegIsReg { dst: Register::RDI, src: Register::RBX } };
        assert_eq!(site_shape(&b, END, 0), Some(want));
        // musl's __syscall_cp_c: mov %rcx,%rdx; syscall.
        let b = [0x4c, 0x8b, 0x4c, 0x24, 0x08, 0x48, 0x89, 0xca, 0x0f, 0x05];
        let want = Shape { len: 3, evidence: Evidence::RegIsReg { dst: Register::RDX, src: Register::RCX } };
        assert_eq!(site_shape(&b, END, 0), Some(want));
        // A memory operand is not a register move.
        let b = [0x90, 0x90, 0x48, 0x89, 0x1f, 0x0f, 0x05];
        assert_eq!(site_shape(&b, END, 0), None);
    }

    /// glibc 2.36's futex wake inside pthread_cond_wait, with the 48 bytes
    /// before its `syscall`.
    const GLIBC_FUTEX_WAKE: [u8; 48] = [
        0x8b, 0x07, 0x48, 0x8b, 0x31, 0x48, 0x39, 0xf2, 0x75, 0xa5, 0xa8, 0x01, 0x75, 0x0a, 0x8d, 0x70, 0x02, 0xf0, 0x41, 0x0f,
        0xb1, 0x37, 0x75, 0xea, 0x89, 0xee, 0x45, 0x31, 0xd2, 0xba, 0x01, 0x00, 0x00, 0x00, 0x4c, 0x89, 0xff, 0x40, 0x80, 0xf6,
        0x81, 0xb8, 0xca, 0x00, 0x00, 0x00, 0x0f, 0x05,
    ];

    #[test]
    fn a_rival_that_no_decoding_reaches_is_not_one() {
        // `xor $0x81,%sil; mov $0xca,%eax; syscall`: `f6 81 b8 ca 00 00 00`
        // (test $0, 0xcab8(%rcx)) would also end at the syscall, but it
        // starts inside the xor, which the code before falls through to.
        assert_eq!(nr_of(&GLIBC_FUTEX_WAKE, 0xca), Some(0xca));
        // With too little code before it to tell, the site stays.
        assert_eq!(nr_of(&GLIBC_FUTEX_WAKE[36..], 0xca), None);
        // glibc's getdents64: `cmova %rax,%rdx; mov $0xd9,%eax; syscall`
        // after the previous function's ret, where `47 d0 b8 d9 00 00 00`
        // would read as a shift.
        let getdents64 = [
            0xe8, 0x98, 0x60, 0xfb, 0xff, 0xeb, 0xdf, 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x48, 0x89, 0xef, 0xe8, 0x38, 0x61, 0xfb,
            0xff, 0x4c, 0x89, 0xe0, 0x5b, 0x5d, 0x41, 0x5c, 0xc3, 0xb8, 0xff, 0xff, 0xff, 0x7f, 0x48, 0x39, 0xc2, 0x48, 0x0f, 0x47,
            0xd0, 0xb8, 0xd9, 0x00, 0x00, 0x00, 0x0f, 0x05,
        ];
        assert_eq!(nr_of(&getdents64, 0xd9), Some(0xd9));
        // But when the code falls through to the rival (here a run of
        // nops ending where the `test` starts), it is the instruction.
        let mut real = [0x90u8; 48];
        real[39..48].copy_from_slice(&[0xf6, 0x81, 0xb8, 0xca, 0x00, 0x00, 0x00, 0x0f, 0x05]);
        assert_eq!(nr_of(&real, 0xca), None);
    }

    #[test]
    fn finds_lea_before_syscall() {
        // glibc's start_thread: mov $0xe,%eax; lea 0x8f0(%rbx),%rsi; syscall.
        let b = [0xb8, 0x0e, 0, 0, 0, 0x48, 0x8d, 0xb3, 0xf0, 0x08, 0, 0, 0x0f, 0x05];
        let want = Evidence::RegIsAddress { dst: Register::RSI, base: Register::RBX, index: Register::None, scale: 1, disp: 0x8f0, wide: true };
        assert_eq!(site_shape(&b, END, 0xe), Some(Shape { len: 7, evidence: want }));
        let mut regs = crate::trap::GuestRegs { rbx: 0x7000_0000, rsi: 0x7000_08f0, ..Default::default() };
        assert!(holds(want, &regs));
        regs.rsi += 8;
        assert!(!holds(want, &regs));
        // mov $0xe,%eax; lea sigall_set(%rip),%rsi; syscall: the address
        // is known from the site's own.
        let b = [0xb8, 0x0e, 0, 0, 0, 0x48, 0x8d, 0x35, 0x05, 0x47, 0x07, 0, 0x0f, 0x05];
        let want = Evidence::RegIsValue { reg: Register::RSI, value: END - 2 + 0x74705 };
        assert_eq!(site_shape(&b, END, 0xe), Some(Shape { len: 7, evidence: want }));
        // Its stub runs it with the displacement made relative to the stub.
        let (site, stub) = (END - 9, END + 0x1000_0000);
        let (moved, len) = relocated(&b[5..12], site, stub).unwrap();
        let insn = Decoder::with_ip(64, &moved[..len], stub, DecoderOptions::NONE).decode();
        assert_eq!(insn.ip_rel_memory_address(), END - 2 + 0x74705);
        // Out of reach of a rel32 from the stub: not rewritten.
        assert!(relocated(&b[5..12], site, END + (3 << 30)).is_none());
        // lea 8(%rsi),%rsi: its old value is gone, nothing to check.
        let b = [0x90, 0x48, 0x8d, 0x76, 0x08, 0x0f, 0x05];
        assert_eq!(site_shape(&b, END, 0), None);
        // lea 8(%rsp),%rcx: the syscall overwrote rcx.
        let b = [0x90, 0x48, 0x8d, 0x4c, 0x24, 0x08, 0x0f, 0x05];
        assert_eq!(site_shape(&b, END, 0), None);
    }

    #[test]
    fn finds_mov_immediate_to_another_register() {
        // mov $0x8,%r10d; syscall (the sigset size of rt_sigprocmask).
        let b = [0x90, 0x41, 0xba, 0x08, 0, 0, 0, 0x0f, 0x05];
        let want = Evidence::RegIsValue { reg: Register::R10, value: 8 };
        assert_eq!(site_shape(&b, END, 14), Some(Shape { len: 6, evidence: want }));
        // mov $-1,%rdx, sign extended.
        let b = [0x90, 0x48, 0xc7, 0xc2, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x05];
        let want = Evidence::RegIsValue { reg: Register::RDX, value: u64::MAX };
        assert_eq!(site_shape(&b, END, 14), Some(Shape { len: 7, evidence: want }));
        let regs = crate::trap::GuestRegs { rdx: u64::MAX, ..Default::default() };
        assert!(holds(want, &regs));
        assert!(!holds(want, &crate::trap::GuestRegs::default()));
    }

    #[test]
    fn finds_padding_after_a_ret_or_jmp() {
        // glibc's read after its syscall: cmp $-4096,%rax; ja; ret; then
        // `cs nopw 0(%rax,%rax,1)` up to a 16-byte boundary.
        let at = 0x1000_00ad;
        let code = [
            0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff, // cmp
            0x77, 0x5b, // ja
            0xc3, // ret
            0x2e, 0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0, // nopw, ends at 0x1000_00c0
            0x48, 0x83, 0xec, 0x28, // sub $0x28,%rsp
        ];
        assert_eq!(find_hole(&code, at, at + 127, &[]), Some(0x1000_00b6));
        // Taken by another site: none.
        assert_eq!(find_hole(&code, at, at + 127, &[0x1000_00b6]), None);
        // Out of reach.
        assert_eq!(find_hole(&code, at, at + 8, &[]), None);
        // The same nops after a conditional branch can run: not a hole.
        let mut live = code;
        live[8] = 0x90;
        assert_eq!(find_hole(&live, at, at + 127, &[]), None);
        // Padding that does not end at a 16-byte boundary is not alignment.
        assert_eq!(find_hole(&code, at + 1, at + 127, &[]), None);
        // Fewer than five bytes of padding.
        let short = [0xc3, 0x0f, 0x1f, 0x40, 0x00];
        assert_eq!(find_hole(&short, 0x2000_000b, 0x2000_0100, &[]), None);
        // After a jmp, as before an aligned branch target.
        let jmp = [0xeb, 0x1f, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0, 0x0f, 0x1f, 0x40, 0];
        assert_eq!(find_hole(&jmp, 0x3000_0000, 0x3000_0100, &[]), Some(0x3000_0002));
    }

    #[test]
    fn a_hole_is_within_a_jmp_rel8_of_the_site() {
        // musl 1.2.3's munmap: `mov %rbp,%rsi` (three bytes) at 0x407299,
        // `syscall` at 0x40729c; the only padding after it within reach
        // of its `syscall` is the nopl at 0x40731b, after setjmp's `ret`,
        // 0x80 bytes past the end of a `jmp rel8` at the site.
        let site = 0x40_7299;
        let at = 0x40_729e;
        #[rustfmt::skip]
        let code = [
            0x48, 0x89, 0xc7, 0xe8, 0x0a, 0xfe, 0xff, 0xff, 0x48, 0x83, 0xc4, 0x08, 0x5b, 0x5d, 0xc3, 0x0f,
            0x1f, 0x00, 0x48, 0x85, 0xff, 0x74, 0x13, 0x48, 0x83, 0xec, 0x08, 0x31, 0xd2, 0xe8, 0x30, 0x0e,
            0x00, 0x00, 0x48, 0x83, 0xc4, 0x08, 0xc3, 0x0f, 0x1f, 0x00, 0x31, 0xc0, 0xc3, 0x31, 0xc0, 0x83,
            0xfe, 0x01, 0x11, 0xf0, 0x48, 0x8b, 0x1f, 0x48, 0x8b, 0x6f, 0x08, 0x4c, 0x8b, 0x67, 0x10, 0x4c,
            0x8b, 0x6f, 0x18, 0x4c, 0x8b, 0x77, 0x20, 0x4c, 0x8b, 0x7f, 0x28, 0x48, 0x8b, 0x67, 0x30, 0xff,
            0x67, 0x38, 0x48, 0x89, 0x1f, 0x48, 0x89, 0x6f, 0x08, 0x4c, 0x89, 0x67, 0x10, 0x4c, 0x89, 0x6f,
            0x18, 0x4c, 0x89, 0x77, 0x20, 0x4c, 0x89, 0x7f, 0x28, 0x48, 0x8d, 0x54, 0x24, 0x08, 0x48, 0x89,
            0x57, 0x30, 0x48, 0x8b, 0x14, 0x24, 0x48, 0x89, 0x57, 0x38, 0x31, 0xc0, 0xc3, 0x0f, 0x1f, 0x44,
            0x00, 0x00, 0x48, 0x89, 0xfa,
        ];
        assert_eq!(at + code.len() as u64, 0x40_7323);
        assert_eq!(rel8_reach(site), site + 2 + 127);
        // 127 bytes past the `syscall` would take it, out of reach.
        assert_eq!(find_hole(&code, at, at - 2 + 127, &[]), Some(0x40_731b));
        assert_eq!(find_hole(&code, at, rel8_reach(site), &[]), None);
        // A two-byte site's reach is 127 bytes past its `syscall`.
        assert_eq!(rel8_reach(0x1000_00ab), 0x1000_00ad + 127);
    }

    #[test]
    fn stub_reaches_site_and_slot() {
        let site = 0x40_0ff9;
        let stub = 0x4000_0000;
        let mov = [0xb8, 0x27, 0, 0, 0];
        let b = stub_bytes(site, &mov, &mov, stub, 0xdead_beef);
        assert_eq!(&b[0..5], &mov);
        assert_eq!(&b[32..37], &mov);
        let lea = i32::from_le_bytes(b[8..12].try_into().unwrap());
        assert_eq!((stub + 12).wrapping_add(lea as i64 as u64), site + SITE_LEN);
        let jmp = i32::from_le_bytes(b[14..18].try_into().unwrap());
        assert_eq!((stub + 18).wrapping_add(jmp as i64 as u64), stub + STUB_SLOT_OFF);
        assert_eq!(u64::from_le_bytes(b[40..48].try_into().unwrap()), 0xdead_beef);
        // The stub decodes as the three instructions the header shows.
        let mut dec = Decoder::with_ip(64, &b[..18], stub, DecoderOptions::NONE);
        assert_eq!(dec.decode().code(), Code::Mov_r32_imm32);
        assert_eq!(dec.decode().code(), Code::Lea_r64_m);
        assert_eq!(dec.decode().code(), Code::Jmp_rm64);
    }
}
