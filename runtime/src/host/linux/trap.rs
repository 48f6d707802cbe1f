//! The trap on a Linux host: Syscall User Dispatch.
//!
//! Guest code runs with the SUD selector at BLOCK, so every `syscall` it
//! executes raises SIGSYS. The entry trampoline below sets the selector to
//! ALLOW and restores the host fs base before any Rust runs; on the way out it
//! puts fs back to 0 (the guest's value, see `tls.rs`), re-arms the selector
//! and issues `rt_sigreturn` itself from `mactux_sigreturn_insn`, the one
//! address range SUD lets through (the kernel tests the address *after* the
//! `syscall` instruction against it; see kernel/entry/syscall_user_dispatch.c).
//! glibc's own restorer cannot be used: it would trap.

use crate::abi::signal::Signal;
use crate::abi::Timespec;
use crate::host::HostResult;
use crate::trap::{
    GuestRegs, HostSigInfo, ThreadCtl, TrapKind, ALT_REGION_SIZE, OFF_HOST_TLS, OFF_IN_GUEST,
    OFF_SELECTOR, SELECTOR_BLOCK,
};
use core::ffi::c_void;

pub use crate::host::posix::sigctl::*;


core::arch::global_asm!(
    ".pushsection .text.mactux_trap,\"ax\",@progbits",
    ".globl mactux_sig_entry",
    ".type mactux_sig_entry,@function",
    ".p2align 4",
    "mactux_sig_entry:",
    // rdi = signo, rsi = siginfo, rdx = ucontext; rsp is on the alt stack.
    "    mov rax, rsp",
    "    and rax, {align_mask}",
    "    mov byte ptr [rax + {sel}], 0",
    "    mov r8, [rax + {in_guest}]",
    "    push r8",
    "    test r8, r8",
    "    jz 2f",
    "    mov qword ptr [rax + {in_guest}], 0",
    "    mov r9, [rax + {host_tls}]",
    "    wrfsbase r9",
    "2:",
    "    mov rcx, rdx",
    "    mov rdx, rsi",
    "    mov esi, edi",
    "    mov rdi, rax",
    "    call {dispatch}",
    "    pop r8",
    "    mov rax, rsp",
    "    and rax, {align_mask}",
    "    test r8, r8",
    "    jz 3f",
    "    mov qword ptr [rax + {in_guest}], 1",
    "    xor ecx, ecx",
    "    wrfsbase rcx",
    "    mov byte ptr [rax + {sel}], {block}",
    "3:",
    // Skip the restorer address the kernel pushed: rsp now points at the ucontext.
    "    add rsp, 8",
    "    mov eax, {nr_rt_sigreturn}",
    ".globl mactux_sigreturn_insn",
    "mactux_sigreturn_insn:",
    "    syscall",
    "    ud2",
    ".size mactux_sig_entry, . - mactux_sig_entry",
    ".popsection",
    align_mask = const !(ALT_REGION_SIZE - 1),
    sel = const OFF_SELECTOR,
    in_guest = const OFF_IN_GUEST,
    host_tls = const OFF_HOST_TLS,
    block = const SELECTOR_BLOCK,
    nr_rt_sigreturn = const linux_raw_sys::general::__NR_rt_sigreturn,
    dispatch = sym crate::trap::dispatch,
);

extern "C" {
    static mactux_sigreturn_insn: u8;
}

/// Length of the SUD-allowed range starting at `mactux_sigreturn_insn`: the
/// 2-byte `syscall` plus the byte after it, which is the address the kernel tests.
const ALLOWED_LEN: u64 = 3;

const PR_SET_SYSCALL_USER_DISPATCH: i32 = linux_raw_sys::prctl::PR_SET_SYSCALL_USER_DISPATCH as i32;
const PR_SYS_DISPATCH_ON: u64 = linux_raw_sys::prctl::PR_SYS_DISPATCH_ON as u64;

/// Maps a region of `size` bytes aligned to `size`.
pub fn alloc_alt_region(size: u64) -> HostResult<u64> {
    crate::host::mem::map_aligned(size)
}

/// `si_code` of a Syscall User Dispatch SIGSYS (include/uapi/asm-generic/siginfo.h).
const SYS_USER_DISPATCH: i32 = 2;

/// Gives the calling thread its alternate stack, installs the process-wide
/// handlers once, and enables Syscall User Dispatch for this thread.
pub fn install_thread(ctl: &mut ThreadCtl, region: u64, size: u64) -> Result<(), String> {
    crate::host::posix::sigctl::install_trap_entry(region, size)?;
    arm_dispatch(ctl).map_err(|e| format!("{e} (this needs Linux 5.11 or later with CONFIG_GENERIC_ENTRY)"))
}

/// Turns Syscall User Dispatch on for the calling thread, with the
/// control block's selector byte and the one allowed sigreturn address.
fn arm_dispatch(ctl: &mut ThreadCtl) -> Result<(), String> {
    let allowed = core::ptr::addr_of!(mactux_sigreturn_insn) as u64;
    // SAFETY: the selector byte lives in the control block for the thread's life.
    let r = unsafe {
        libc::prctl(
            PR_SET_SYSCALL_USER_DISPATCH,
            PR_SYS_DISPATCH_ON,
            allowed,
            ALLOWED_LEN,
            core::ptr::addr_of_mut!(ctl.selector) as u64,
        )
    };
    if r != 0 {
        return Err(format!("prctl(PR_SET_SYSCALL_USER_DISPATCH): {}", super::errno::last().text()));
    }
    Ok(())
}

fn greg(uc: &libc::ucontext_t, r: libc::c_int) -> u64 {
    uc.uc_mcontext.gregs[r as usize] as u64
}

/// Reads why the signal came and the interrupted registers.
///
/// # Safety
/// `info` and `uc` must be the kernel's siginfo and ucontext of this signal.
pub unsafe fn decode(signo: i32, info: *mut c_void, uc: *mut c_void) -> (TrapKind, GuestRegs) {
    // SAFETY: per the contract, valid for reads.
    let (uc, info) = unsafe { (&*(uc as *const libc::ucontext_t), &*(info as *const libc::siginfo_t)) };
    let regs = GuestRegs {
        rax: greg(uc, libc::REG_RAX),
        rbx: greg(uc, libc::REG_RBX),
        rcx: greg(uc, libc::REG_RCX),
        rdx: greg(uc, libc::REG_RDX),
        rsi: greg(uc, libc::REG_RSI),
        rdi: greg(uc, libc::REG_RDI),
        rbp: greg(uc, libc::REG_RBP),
        rsp: greg(uc, libc::REG_RSP),
        r8: greg(uc, libc::REG_R8),
        r9: greg(uc, libc::REG_R9),
        r10: greg(uc, libc::REG_R10),
        r11: greg(uc, libc::REG_R11),
        r12: greg(uc, libc::REG_R12),
        r13: greg(uc, libc::REG_R13),
        r14: greg(uc, libc::REG_R14),
        r15: greg(uc, libc::REG_R15),
        rip: greg(uc, libc::REG_RIP),
        rflags: greg(uc, libc::REG_EFL),
    };
    // SAFETY: the kernel's siginfo is at least 128 bytes.
    let raw = unsafe { core::slice::from_raw_parts(info as *const libc::siginfo_t as *const u8, 128) };
    let code = info.si_code;
    // A signal sent with kill/tgkill/sigqueue (si_code <= 0) is never a trap,
    // whatever its number.
    let is_sent = code <= 0;
    let kind = match signo {
        libc::SIGSYS if code == SYS_USER_DISPATCH => TrapKind::Syscall,
        // Another thread of ours (host::thread::kick).
        // SAFETY: si_pid is valid for a signal sent with tgkill.
        s if s == super::thread::KICK_SIGNAL && code == libc::SI_TKILL && unsafe { info.si_pid() } == unsafe { libc::getpid() } => {
            TrapKind::Kick
        }
        libc::SIGSEGV | libc::SIGBUS if !is_sent => {
            // SAFETY: si_addr is valid for SIGSEGV/SIGBUS.
            let addr = unsafe { info.si_addr() } as u64;
            TrapKind::Fault { addr, is_bus: signo == libc::SIGBUS, code }
        }
        libc::SIGILL | libc::SIGFPE | libc::SIGTRAP if !is_sent => {
            TrapKind::Other { sig: super::signal::from_host(signo).unwrap_or(Signal::SIGILL), code }
        }
        other => match super::signal::from_host(other) {
            Some(sig) => TrapKind::Async { sig, info: host_siginfo(signo, raw) },
            None => TrapKind::Other { sig: Signal::SIGILL, code },
        },
    };
    (kind, regs)
}

/// Writes the registers back for the return to guest code.
///
/// # Safety
/// `uc` must be the kernel's ucontext of the signal being handled.
pub unsafe fn store_regs(uc: *mut c_void, r: &GuestRegs) {
    // SAFETY: per the contract, valid for writes.
    let g = unsafe { &mut (*(uc as *mut libc::ucontext_t)).uc_mcontext.gregs };
    for (idx, v) in [
        (libc::REG_RAX, r.rax),
        (libc::REG_RBX, r.rbx),
        (libc::REG_RCX, r.rcx),
        (libc::REG_RDX, r.rdx),
        (libc::REG_RSI, r.rsi),
        (libc::REG_RDI, r.rdi),
        (libc::REG_RBP, r.rbp),
        (libc::REG_RSP, r.rsp),
        (libc::REG_R8, r.r8),
        (libc::REG_R9, r.r9),
        (libc::REG_R10, r.r10),
        (libc::REG_R11, r.r11),
        (libc::REG_R12, r.r12),
        (libc::REG_R13, r.r13),
        (libc::REG_R14, r.r14),
        (libc::REG_R15, r.r15),
        (libc::REG_RIP, r.rip),
        (libc::REG_EFL, r.rflags),
    ] {
        g[idx as usize] = v as i64;
    }
}

/// Whether this CPU and kernel let user code write fs/gs bases directly,
/// which the trampoline relies on.
pub fn check_support() -> Result<(), String> {
    // SAFETY: getauxval has no preconditions.
    let hwcap2 = unsafe { libc::getauxval(libc::AT_HWCAP2) };
    const HWCAP2_FSGSBASE: u64 = 1 << 1;
    if hwcap2 & HWCAP2_FSGSBASE == 0 {
        return Err("this CPU or kernel does not enable FSGSBASE, which MacTux needs on Linux hosts (Linux 5.9+ on a CPU with FSGSBASE)".into());
    }
    Ok(())
}

/// In a fork child: Syscall User Dispatch is not inherited across fork, so
/// the child turns it on again (same selector address: the memory is a copy).
pub fn rearm_after_fork(ctl: &mut ThreadCtl) -> Result<(), String> {
    arm_dispatch(ctl).map_err(|e| format!("in the fork child: {e}"))
}

/// The Linux view of an asynchronous signal's siginfo: on a Linux host the
/// layouts coincide (si_code at 8; si_pid, si_uid at 16; si_status or
/// si_value at 24).
fn host_siginfo(signo: i32, raw: &[u8]) -> HostSigInfo {
    let i32_at = |o: usize| raw.get(o..o + 4).and_then(|b| b.try_into().ok()).map(i32::from_ne_bytes).unwrap_or(0);
    let u64_at = |o: usize| raw.get(o..o + 8).and_then(|b| b.try_into().ok()).map(u64::from_ne_bytes).unwrap_or(0);
    let code = i32_at(8);
    let (pid, uid) = match code {
        // Kernel-generated (timers, SIGPIPE, the tty): no sender.
        c if c == libc::SI_KERNEL => (0, 0),
        _ => (i32_at(16), i32_at(20) as u32),
    };
    HostSigInfo { code, pid, uid, status: if signo == libc::SIGCHLD { i32_at(24) } else { 0 }, value: u64_at(24) }
}

/// `struct _fpx_sw_bytes` (arch/x86/include/uapi/asm/sigcontext.h) at 464
/// of the fxsave image says whether an xsave extension follows.
const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
const FXSAVE_SIZE: usize = 512;
/// Far more than any xsave layout needs (AMX included); a bigger claim is bogus.
const MAX_XSTATE_SIZE: usize = 64 * 1024;

/// The FP state the kernel saved in this signal's frame, which it reloads on
/// our `rt_sigreturn`: the fxsave image plus, when present, the xsave
/// extension and FP_XSTATE_MAGIC2 (exactly the layout a Linux guest's frame
/// uses).
///
/// # Safety
/// `uc` must be the kernel's ucontext of a signal being handled; the slice
/// must not outlive that handler.
pub unsafe fn fp_state<'a>(uc: *mut c_void) -> Option<&'a mut [u8]> {
    // SAFETY: per the contract, `uc` is a valid ucontext.
    let fp = unsafe { (*(uc as *mut libc::ucontext_t)).uc_mcontext.fpregs } as *mut u8;
    if fp.is_null() {
        return None;
    }
    // SAFETY: the kernel's fpstate is at least the 512-byte fxsave image.
    let legacy = unsafe { core::slice::from_raw_parts(fp, FXSAVE_SIZE) };
    let word = |o: usize| legacy.get(o..o + 4).and_then(|b| b.try_into().ok()).map(u32::from_ne_bytes).unwrap_or(0);
    let mut len = FXSAVE_SIZE;
    if word(464) == FP_XSTATE_MAGIC1 {
        let ext = word(468) as usize;
        if (FXSAVE_SIZE + 64 + 4..=MAX_XSTATE_SIZE).contains(&ext) {
            len = ext;
        }
    }
    // SAFETY: the sw bytes the kernel wrote give the size of its own area.
    Some(unsafe { core::slice::from_raw_parts_mut(fp, len) })
}

/// Linux signals the guest may receive from outside, caught by the trap
/// entry while a guest handler or the guest's mask needs them: the classic
/// ones, and the real-time signals except 32 and 33, which belong to the
/// host's libc.
pub fn is_async_signal(sig: Signal) -> bool {
    crate::host::posix::sigctl::ASYNC_SIGNALS.contains(&sig)
        || (i32::from(sig.0) >= libc::SIGRTMIN() && i32::from(sig.0) <= libc::SIGRTMAX())
}

/// Sleeps until an asynchronous signal arrives (and its entry recorded it)
/// or `timeout` passes. The mask swap is atomic (ppoll), so a signal that
/// arrived before the call is not missed: it was held blocked until now.
pub fn wait_signal(timeout: Option<Timespec>) {
    let mask = crate::host::posix::sigctl::mask_open_to_async();
    let ts = timeout.map(|t| libc::timespec { tv_sec: t.sec, tv_nsec: t.nsec });
    let tsp = ts.as_ref().map_or(core::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: no fds; valid timeout (or NULL) and sigset.
    unsafe { libc::ppoll(core::ptr::null_mut(), 0, tsp, &mask) };
}

