//! The Linux x86_64 signal frame: built on the guest stack for a handler,
//! read back by `rt_sigreturn`.
//!
//! Layout (arch/x86/include/asm/sigframe.h, arch/x86/kernel/signal_64.c,
//! <https://elixir.bootlin.com/linux/v6.6/source/arch/x86/kernel/signal_64.c>):
//!
//! ```text
//! rsp at handler entry → struct rt_sigframe {
//!     u64               pretcode;      //   0: sa_restorer; the handler's `ret` pops it
//!     struct ucontext   uc;            //   8: flags, link, stack_t, sigcontext, sigmask (304 bytes)
//!     struct siginfo    info;          // 312: 128 bytes
//! };                                   // 440 bytes, (rsp + 8) % 16 == 0
//! ... padding ...
//! fpstate (64-byte aligned): fxsave image [+ xsave extension + FP_XSTATE_MAGIC2]
//! ... 128-byte red zone of the interrupted code ...
//! ```
//!
//! The FP state is the interrupted guest's, copied from the host signal
//! frame of the trap being handled (`trap::guest_fp_state`): the host kernel
//! reloads FP registers from that frame when the runtime's handler returns,
//! so the runtime's own use of SSE never reaches the guest, and
//! `rt_sigreturn` restores the guest's saved FP state by writing it back there.
//!
//! Divergences from Linux:
//! - On a macOS host the FP image is the 512-byte fxsave layout only (no
//!   AVX upper halves, no `UC_FP_XSTATE`); only a Mac can verify it.
//! - A frame with `fpstate` = NULL leaves the FP registers as they are
//!   (Linux resets them to the initial state).
//! - `err`/`trapno` of a fault are approximations (user-mode page fault).

use super::{AltStack, SigInfo, SIGINFO_SIZE};
use crate::abi::signal::KernelSigaction;
use crate::error::Result;
use crate::trap::{GuestRegs, ThreadCtl};
use crate::uaccess;
use linux_raw_sys::general as g;

pub const FRAME_SIZE: usize = 440;
const UC_OFF: usize = 8;
const UC_STACK_OFF: usize = UC_OFF + 16;
const SC_OFF: usize = UC_OFF + 40;
const SC_SIZE: usize = 256;
const UC_SIGMASK_OFF: usize = SC_OFF + SC_SIZE;
const INFO_OFF: usize = UC_SIGMASK_OFF + 8;
const _: () = assert!(INFO_OFF == 312 && INFO_OFF + SIGINFO_SIZE == FRAME_SIZE);

/// Below the interrupted rsp the x86_64 psABI gives leaf code 128 bytes.
const REDZONE: u64 = 128;

/// `uc_flags` bits (arch/x86/include/uapi/asm/ucontext.h).
const UC_FP_XSTATE: u64 = 0x1;
const UC_SIGCONTEXT_SS: u64 = 0x2;
const UC_STRICT_RESTORE_SS: u64 = 0x4;

/// `__USER_CS` and `__USER_DS` of x86_64 Linux.
const USER_CS: u16 = 0x33;
const USER_DS: u16 = 0x2b;

/// The fxsave image, and `struct _fpx_sw_bytes` in its software-reserved
/// tail (arch/x86/include/uapi/asm/sigcontext.h).
const FXSAVE_SIZE: usize = 512;
const SW_BYTES_OFF: usize = 464;
const MXCSR_OFF: usize = 24;
const MXCSR_MASK_OFF: usize = 28;
const XSAVE_HEADER_OFF: usize = 512;
const XSAVE_HEADER_SIZE: usize = 64;
const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
const FP_XSTATE_MAGIC2_SIZE: usize = 4;
/// xstate_bv bits of the legacy components (x87, SSE).
const XFEATURES_LEGACY: u64 = 0b11;

/// The rflags bits `rt_sigreturn` takes from the frame (`FIX_EFLAGS`).
const FIX_EFLAGS: u64 = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x1_0000 | 0x4_0000;
/// Cleared on handler entry: DF, RF, TF.
const HANDLER_CLEARS: u64 = 0x400 | 0x1_0000 | 0x100;

fn u32_at(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4).and_then(|s| s.try_into().ok()).map(u32::from_ne_bytes).unwrap_or(0)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    b.get(off..off + 8).and_then(|s| s.try_into().ok()).map(u64::from_ne_bytes).unwrap_or(0)
}

fn put(b: &mut [u8], off: usize, bytes: &[u8]) {
    if let Some(d) = b.get_mut(off..off + bytes.len()) {
        d.copy_from_slice(bytes);
    }
}

/// Whether an FP image carries the xsave extension (its sw bytes say so).
fn is_xsave_image(fp: &[u8]) -> bool {
    fp.len() > FXSAVE_SIZE && u32_at(fp, SW_BYTES_OFF) == FP_XSTATE_MAGIC1
}

/// The x87/SSE reset state (FNINIT + the MXCSR default), should the host
/// frame carry none.
fn initial_fxsave() -> Vec<u8> {
    let mut fp = vec![0u8; FXSAVE_SIZE];
    put(&mut fp, 0, &0x037fu16.to_ne_bytes());
    put(&mut fp, MXCSR_OFF, &0x1f80u32.to_ne_bytes());
    put(&mut fp, MXCSR_MASK_OFF, &0xffffu32.to_ne_bytes());
    fp
}

/// The sigcontext registers in their declared order (r8 … rip).
fn sc_regs(r: &GuestRegs) -> [u64; 17] {
    [
        r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rdi, r.rsi, r.rbp, r.rbx, r.rdx, r.rax, r.rcx, r.rsp,
        r.rip,
    ]
}

/// Writes the frame for `info` with handler `act` and points the registers
/// at the handler. Fails (→ SIGSEGV) without SA_RESTORER or when the stack
/// cannot take the frame, as Linux does.
pub fn setup(ctl: &mut ThreadCtl, regs: &mut GuestRegs, info: &SigInfo, act: &KernelSigaction, old_mask: u64) -> Result<()> {
    if act.flags & u64::from(g::SA_RESTORER) == 0 {
        return Err(crate::errno!(EFAULT, "x86_64 Linux requires SA_RESTORER"));
    }
    let ss = ctl.altstack;
    // get_sigframe(): skip the red zone, switch to the alternate stack if
    // asked and not already on it, then place the FP state and the frame.
    let mut sp = regs.rsp.wrapping_sub(REDZONE);
    if act.flags & u64::from(g::SA_ONSTACK) != 0 && ss.reported_flags(sp) == 0 {
        sp = ss.sp.wrapping_add(ss.size);
    }
    let mut fp = match crate::trap::guest_fp_state(ctl) {
        Some(s) => s.to_vec(),
        None => initial_fxsave(),
    };
    let is_xsave = is_xsave_image(&fp);
    if !is_xsave {
        fp.truncate(FXSAVE_SIZE);
        // No extension: the software bytes must not claim one.
        if let Some(sw) = fp.get_mut(SW_BYTES_OFF..) {
            sw.fill(0);
        }
    }
    let Some(fp_at) = sp.checked_sub(fp.len() as u64).map(|a| a & !63) else {
        return Err(crate::errno!(EFAULT, "no room for the signal frame"));
    };
    let Some(frame) = fp_at.checked_sub(FRAME_SIZE as u64).map(|a| ((a + 8) & !15) - 8) else {
        return Err(crate::errno!(EFAULT, "no room for the signal frame"));
    };

    let mut b = [0u8; FRAME_SIZE];
    put(&mut b, 0, &act.restorer.to_ne_bytes());
    let uc_flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS | if is_xsave { UC_FP_XSTATE } else { 0 };
    put(&mut b, UC_OFF, &uc_flags.to_ne_bytes());
    // uc_link stays 0. uc_stack: the alternate stack as it was at delivery.
    put(&mut b, UC_STACK_OFF, &ss.sp.to_ne_bytes());
    let ss_flags = ss.reported_flags(regs.rsp) | ss.flags;
    put(&mut b, UC_STACK_OFF + 8, &ss_flags.to_ne_bytes());
    put(&mut b, UC_STACK_OFF + 16, &ss.size.to_ne_bytes());
    for (i, v) in sc_regs(regs).iter().enumerate() {
        put(&mut b, SC_OFF + i * 8, &v.to_ne_bytes());
    }
    put(&mut b, SC_OFF + 136, &regs.rflags.to_ne_bytes());
    put(&mut b, SC_OFF + 144, &USER_CS.to_ne_bytes());
    put(&mut b, SC_OFF + 150, &USER_DS.to_ne_bytes());
    let sig = info.signal();
    if sig == crate::abi::signal::Signal::SIGSEGV || sig == crate::abi::signal::Signal::SIGBUS {
        const X86_TRAP_PF: u64 = 14;
        const PF_USER: u64 = 4;
        put(&mut b, SC_OFF + 152, &PF_USER.to_ne_bytes());
        put(&mut b, SC_OFF + 160, &X86_TRAP_PF.to_ne_bytes());
        put(&mut b, SC_OFF + 176, &info.fields[0..8]);
    }
    put(&mut b, SC_OFF + 168, &old_mask.to_ne_bytes());
    put(&mut b, SC_OFF + 184, &fp_at.to_ne_bytes());
    put(&mut b, UC_SIGMASK_OFF, &old_mask.to_ne_bytes());
    put(&mut b, INFO_OFF, &info.to_bytes());

    uaccess::write_bytes(fp_at, &fp)?;
    uaccess::write_bytes(frame, &b)?;

    if ss.flags & g::SS_AUTODISARM != 0 {
        ctl.altstack = AltStack::default();
    }
    regs.rdi = u64::from(sig.0);
    regs.rsi = frame + INFO_OFF as u64;
    regs.rdx = frame + UC_OFF as u64;
    regs.rax = 0;
    regs.rsp = frame;
    regs.rip = act.handler;
    regs.rflags &= !HANDLER_CLEARS;
    Ok(())
}

/// What `rt_sigreturn` found in the frame besides the registers.
pub struct Restored {
    pub mask: u64,
    pub altstack: (u64, u32, u64),
}

/// Reads the frame `rt_sigreturn` returns through (at rsp - 8: the handler's
/// `ret` popped pretcode) and restores the registers and FP state.
pub fn restore(ctl: &mut ThreadCtl, regs: &mut GuestRegs) -> Result<Restored> {
    let frame = regs.rsp.wrapping_sub(8);
    let b = uaccess::read_bytes(frame, FRAME_SIZE)?;
    let r = |i: usize| u64_at(&b, SC_OFF + i * 8);
    let fp_at = u64_at(&b, SC_OFF + 184);
    if fp_at != 0 {
        restore_fp(ctl, fp_at)?;
    }
    regs.r8 = r(0);
    regs.r9 = r(1);
    regs.r10 = r(2);
    regs.r11 = r(3);
    regs.r12 = r(4);
    regs.r13 = r(5);
    regs.r14 = r(6);
    regs.r15 = r(7);
    regs.rdi = r(8);
    regs.rsi = r(9);
    regs.rbp = r(10);
    regs.rbx = r(11);
    regs.rdx = r(12);
    regs.rax = r(13);
    regs.rcx = r(14);
    regs.rsp = r(15);
    regs.rip = r(16);
    regs.rflags = (regs.rflags & !FIX_EFLAGS) | (r(17) & FIX_EFLAGS);
    Ok(Restored {
        mask: u64_at(&b, UC_SIGMASK_OFF),
        altstack: (u64_at(&b, UC_STACK_OFF), u32_at(&b, UC_STACK_OFF + 8), u64_at(&b, UC_STACK_OFF + 16)),
    })
}

/// Copies the guest's saved FP state into the host frame, sanitised so the
/// host kernel's own restore cannot fail on it (MXCSR reserved bits, xsave
/// header, features the host frame does not carry).
fn restore_fp(ctl: &mut ThreadCtl, fp_at: u64) -> Result<()> {
    let Some(host) = crate::trap::guest_fp_state(ctl) else { return Ok(()) };
    let host_len = host.len();
    let legacy = uaccess::read_bytes(fp_at, FXSAVE_SIZE)?;
    let guest_xsave = host_len > FXSAVE_SIZE && u32_at(&legacy, SW_BYTES_OFF) == FP_XSTATE_MAGIC1;
    let saved = if guest_xsave { uaccess::read_bytes(fp_at, host_len)? } else { legacy };
    let mxcsr_mask = match u32_at(host, MXCSR_MASK_OFF) {
        0 => 0xffbf,
        m => m,
    };
    if let (Some(d), Some(s)) = (host.get_mut(..SW_BYTES_OFF), saved.get(..SW_BYTES_OFF)) {
        d.copy_from_slice(s);
    }
    let mxcsr = u32_at(&saved, MXCSR_OFF) & mxcsr_mask;
    put(host, MXCSR_OFF, &mxcsr.to_ne_bytes());
    put(host, MXCSR_MASK_OFF, &mxcsr_mask.to_ne_bytes());
    if host_len > FXSAVE_SIZE {
        let host_features = u64_at(host, SW_BYTES_OFF + 8);
        let bv_off = XSAVE_HEADER_OFF;
        if guest_xsave {
            let bv = u64_at(&saved, bv_off) & host_features;
            put(host, bv_off, &bv.to_ne_bytes());
            let ext = XSAVE_HEADER_OFF + XSAVE_HEADER_SIZE..host_len - FP_XSTATE_MAGIC2_SIZE;
            if let (Some(d), Some(s)) = (host.get_mut(ext.clone()), saved.get(ext)) {
                d.copy_from_slice(s);
            }
        } else {
            // A legacy-only image: the extended components start from their init state.
            let bv = u64_at(host, bv_off) & XFEATURES_LEGACY;
            put(host, bv_off, &bv.to_ne_bytes());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_offsets_match_linux() {
        // struct ucontext: uc_mcontext at 40, uc_sigmask at 296 (sizeof 304).
        assert_eq!(SC_OFF - UC_OFF, 40);
        assert_eq!(UC_SIGMASK_OFF - UC_OFF, 296);
        assert_eq!(FRAME_SIZE, 8 + 304 + 128);
    }

    #[test]
    fn xsave_detection() {
        let mut fp = vec![0u8; 1024];
        assert!(!is_xsave_image(&fp));
        put(&mut fp, SW_BYTES_OFF, &FP_XSTATE_MAGIC1.to_ne_bytes());
        assert!(is_xsave_image(&fp));
        assert!(!is_xsave_image(&initial_fxsave()));
    }
}
