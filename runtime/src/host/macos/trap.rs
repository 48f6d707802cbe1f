//! The trap on a macOS host: SIGSYS from invalid BSD syscalls.
//!
//! No Syscall User Dispatch is needed: a macOS x86_64 `syscall` takes its
//! class from bits 24..31 of rax (2 = BSD, 1 = Mach...), and every Linux
//! syscall number has class 0, which xnu rejects with SIGSYS. The runtime's
//! own calls go through libSystem with class bits set, so they never trap.
//!
//! macOS delivers signals through libsystem's `_sigtramp`, which calls our
//! entry as `handler(signo, info, uc)` and issues `sigreturn` itself when the
//! handler returns, so the entry ends with a plain `ret`. What the entry must
//! do is switch the gs base: guest code runs with gs = the guest thread pointer
//! (see `tls.rs`), Rust code needs the host TSD. Signal context: as described
//! in `crate::trap`; the assembly below runs before any Rust on the alternate stack.

use crate::abi::signal::Signal;
use crate::abi::Timespec;
use crate::host::HostResult;
use crate::trap::{
    GuestRegs, HostSigInfo, ThreadCtl, TrapKind, ALT_REGION_SIZE, OFF_GUEST_TLS, OFF_HOST_TLS,
    OFF_IN_GUEST,
};
use core::ffi::c_void;

pub use crate::host::posix::sigctl::*;


extern "C" {
    /// libsystem_platform: sets the calling thread's gs base (machdep call
    /// `thread_fast_set_cthread_self64`). Preserves no caller-saved registers.
    fn _thread_set_tsd_base(base: u64);
}

// Mach-O: C symbols carry a leading underscore, and there is no .type/.size.
core::arch::global_asm!(
    ".text",
    ".globl _mactux_sig_entry",
    ".p2align 4",
    "_mactux_sig_entry:",
    // rdi = signo, rsi = siginfo, rdx = ucontext (from _sigtramp); rsp is on the alt stack.
    "    push rbp",
    "    mov rbp, rsp",
    "    push rbx",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    "    and rsp, -16",
    "    mov rbx, rsp",
    "    and rbx, {align_mask}",
    "    mov r12d, edi",
    "    mov r13, rsi",
    "    mov r14, rdx",
    "    mov r15, qword ptr [rbx + {in_guest}]",
    "    test r15, r15",
    "    jz 2f",
    "    mov qword ptr [rbx + {in_guest}], 0",
    "    mov rdi, qword ptr [rbx + {host_tls}]",
    "    call {set_tsd}",
    "2:",
    // dispatch(ctl, signo, info, uc, from_guest)
    "    mov rdi, rbx",
    "    mov esi, r12d",
    "    mov rdx, r13",
    "    mov rcx, r14",
    "    mov r8, r15",
    "    call {dispatch}",
    "    test r15, r15",
    "    jz 3f",
    "    mov rdi, qword ptr [rbx + {guest_tls}]",
    "    call {set_tsd}",
    "    mov qword ptr [rbx + {in_guest}], 1",
    "3:",
    "    lea rsp, [rbp - 40]",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop rbx",
    "    pop rbp",
    "    ret",
    align_mask = const !(ALT_REGION_SIZE - 1),
    in_guest = const OFF_IN_GUEST,
    host_tls = const OFF_HOST_TLS,
    guest_tls = const OFF_GUEST_TLS,
    set_tsd = sym _thread_set_tsd_base,
    dispatch = sym crate::trap::dispatch,
);

/// Maps a region of `size` bytes aligned to `size`.
pub fn alloc_alt_region(size: u64) -> HostResult<u64> {
    crate::host::mem::map_aligned(size)
}

/// Gives the calling thread its alternate stack and installs the
/// process-wide handlers once. Nothing per-thread needs arming on macOS.
pub fn install_thread(_ctl: &mut ThreadCtl, region: u64, size: u64) -> Result<(), String> {
    crate::host::posix::sigctl::install_trap_entry(region, size)
}

/// `struct __darwin_x86_exception_state64` (mach/i386/_structs.h).
#[repr(C)]
struct ExceptionState64 {
    trapno: u16,
    cpu: u16,
    err: u32,
    faultvaddr: u64,
}

/// `struct __darwin_x86_thread_state64`, in its declared register order.
#[repr(C)]
struct ThreadState64 {
    rax: u64,
    rbx: u64,
    rcx: u64,
    rdx: u64,
    rdi: u64,
    rsi: u64,
    rbp: u64,
    rsp: u64,
    r8: u64,
    r9: u64,
    r10: u64,
    r11: u64,
    r12: u64,
    r13: u64,
    r14: u64,
    r15: u64,
    rip: u64,
    rflags: u64,
    cs: u64,
    fs: u64,
    gs: u64,
}

/// The head of `struct __darwin_mcontext64`; the float state follows and is not touched.
#[repr(C)]
struct Mcontext64 {
    es: ExceptionState64,
    ss: ThreadState64,
}

/// `struct __darwin_ucontext` (sys/_types/_ucontext.h): the machine context is a pointer.
#[repr(C)]
struct Ucontext64 {
    uc_onstack: libc::c_int,
    uc_sigmask: u32,
    uc_stack: libc::stack_t,
    uc_link: *mut c_void,
    uc_mcsize: usize,
    uc_mcontext: *mut Mcontext64,
}

const _: () = assert!(core::mem::offset_of!(Ucontext64, uc_mcontext) == 48);
const _: () = assert!(core::mem::offset_of!(Mcontext64, ss) == 16);
const _: () = assert!(core::mem::size_of::<ThreadState64>() == 21 * 8);

/// Reads why the signal came and the interrupted registers.
///
/// # Safety
/// `info` and `uc` must be the kernel's siginfo and ucontext of this signal.
pub unsafe fn decode(signo: i32, info: *mut c_void, uc: *mut c_void) -> (TrapKind, GuestRegs) {
    // SAFETY: per the contract, `uc` is a valid ucontext whose uc_mcontext
    // points at the saved machine state.
    let mc = unsafe { &*(*(uc as *const Ucontext64)).uc_mcontext };
    // SAFETY: the kernel's siginfo is 104 bytes (sys/signal.h `__siginfo`).
    let raw = unsafe { core::slice::from_raw_parts(info as *const u8, SIGINFO_SIZE) };
    let s = &mc.ss;
    let regs = GuestRegs {
        rax: s.rax,
        rbx: s.rbx,
        rcx: s.rcx,
        rdx: s.rdx,
        rsi: s.rsi,
        rdi: s.rdi,
        rbp: s.rbp,
        rsp: s.rsp,
        r8: s.r8,
        r9: s.r9,
        r10: s.r10,
        r11: s.r11,
        r12: s.r12,
        r13: s.r13,
        r14: s.r14,
        r15: s.r15,
        rip: s.rip,
        rflags: s.rflags,
    };
    let host_code = i32_at(raw, 8);
    let is_sent = (SI_USER..=SI_MESGQ).contains(&host_code);
    let kind = match signo {
        libc::SIGSYS if !is_sent => TrapKind::Syscall,
        // Another thread of ours (host::thread::kick). SIGEMT carries no
        // Linux signal, so one sent by anyone else only makes the thread
        // look at its signals too.
        s if s == super::thread::KICK_SIGNAL => TrapKind::Kick,
        libc::SIGSEGV | libc::SIGBUS if !is_sent => {
            // BUS_ADRALN/ADRERR/OBJERR are 1/2/3 on both systems.
            TrapKind::Fault { addr: mc.es.faultvaddr, is_bus: signo == libc::SIGBUS, code: host_code }
        }
        libc::SIGILL | libc::SIGFPE | libc::SIGTRAP if !is_sent => {
            let sig = super::signal::from_host(signo).unwrap_or(Signal::SIGILL);
            TrapKind::Other { sig, code: fault_code_to_linux(signo, host_code) }
        }
        other => match super::signal::from_host(other) {
            Some(sig) => TrapKind::Async { sig, info: host_siginfo(signo, raw) },
            None => TrapKind::Other { sig: Signal::SIGILL, code: host_code },
        },
    };
    (kind, regs)
}

/// `sizeof(siginfo_t)` on macOS.
const SIGINFO_SIZE: usize = 104;
/// macOS `si_code` values of sent signals (sys/signal.h).
const SI_USER: i32 = 0x10001;
const SI_QUEUE: i32 = 0x10002;
const SI_TIMER: i32 = 0x10003;
const SI_ASYNCIO: i32 = 0x10004;
const SI_MESGQ: i32 = 0x10005;

fn i32_at(raw: &[u8], o: usize) -> i32 {
    raw.get(o..o + 4).and_then(|b| b.try_into().ok()).map(i32::from_ne_bytes).unwrap_or(0)
}

/// An asynchronous signal's siginfo in Linux terms. macOS layout: si_code
/// at 8, si_pid 12, si_uid 16, si_status 20, si_addr 24, si_value 32.
fn host_siginfo(signo: i32, raw: &[u8]) -> HostSigInfo {
    let host_code = i32_at(raw, 8);
    let code = match host_code {
        SI_USER => linux_raw_sys::general::SI_USER as i32,
        SI_QUEUE => linux_raw_sys::general::SI_QUEUE,
        SI_TIMER => linux_raw_sys::general::SI_TIMER,
        SI_ASYNCIO => linux_raw_sys::general::SI_ASYNCIO,
        SI_MESGQ => linux_raw_sys::general::SI_MESGQ,
        // CLD_* are 1..=6 on both systems.
        c if signo == libc::SIGCHLD && (1..=6).contains(&c) => c,
        // lossy: anything else the kernel generated (timers, SIGPIPE, the tty).
        _ => linux_raw_sys::general::SI_KERNEL as i32,
    };
    let value = raw.get(32..40).and_then(|b| b.try_into().ok()).map(u64::from_ne_bytes).unwrap_or(0);
    let sent = code <= 0 || signo == libc::SIGCHLD;
    HostSigInfo {
        code,
        pid: if sent { i32_at(raw, 12) } else { 0 },
        uid: if sent { i32_at(raw, 16) as u32 } else { 0 },
        status: if signo == libc::SIGCHLD { i32_at(raw, 20) } else { 0 },
        value,
    }
}

/// macOS ILL_/FPE_/TRAP_ codes → Linux (sys/signal.h vs asm-generic/siginfo.h).
fn fault_code_to_linux(signo: i32, code: i32) -> i32 {
    match signo {
        // macOS: ILLOPC 1, ILLTRP 2, PRVOPC 3, ILLOPN 4, ILLADR 5, PRVREG 6, COPROC 7, BADSTK 8.
        // Linux: ILLOPC 1, ILLOPN 2, ILLADR 3, ILLTRP 4, PRVOPC 5, PRVREG 6, COPROC 7, BADSTK 8.
        libc::SIGILL => match code {
            2 => 4,
            3 => 5,
            4 => 2,
            5 => 3,
            c => c,
        },
        // macOS: FLTDIV 1, FLTOVF 2, FLTUND 3, FLTRES 4, FLTINV 5, FLTSUB 6, INTDIV 7, INTOVF 8.
        // Linux: INTDIV 1, INTOVF 2, FLTDIV 3, FLTOVF 4, FLTUND 5, FLTRES 6, FLTINV 7, FLTSUB 8.
        libc::SIGFPE => match code {
            1..=6 => code + 2,
            7 => 1,
            8 => 2,
            c => c,
        },
        // TRAP_BRKPT 1 and TRAP_TRACE 2 agree; lossy: Linux reports int3 as SI_KERNEL.
        _ => code,
    }
}

/// The fxsave-layout part of `x86_float_state64`, which follows the thread
/// state in the machine context after two reserved ints.
const FLOAT_STATE_FXSAVE_OFF: usize = core::mem::size_of::<Mcontext64>() + 8;
const FXSAVE_SIZE: usize = 512;

/// The FP state saved in this signal's machine context, which
/// `_sigtramp`'s sigreturn reloads: the 512-byte fxsave image (no AVX
/// upper halves; divergence noted in `signal/frame.rs`).
///
/// # Safety
/// `uc` must be the kernel's ucontext of a signal being handled; the slice
/// must not outlive that handler.
pub unsafe fn fp_state<'a>(uc: *mut c_void) -> Option<&'a mut [u8]> {
    // SAFETY: per the contract, `uc` is a valid ucontext.
    let (mc, size) = unsafe { ((*(uc as *mut Ucontext64)).uc_mcontext, (*(uc as *mut Ucontext64)).uc_mcsize) };
    if mc.is_null() || size < FLOAT_STATE_FXSAVE_OFF + FXSAVE_SIZE {
        return None;
    }
    // SAFETY: uc_mcsize says the float state is present after the thread state.
    Some(unsafe { core::slice::from_raw_parts_mut((mc as *mut u8).add(FLOAT_STATE_FXSAVE_OFF), FXSAVE_SIZE) })
}

/// Writes the registers back for the return to guest code.
///
/// # Safety
/// `uc` must be the kernel's ucontext of the signal being handled.
pub unsafe fn store_regs(uc: *mut c_void, r: &GuestRegs) {
    // SAFETY: per the contract, valid for writes through uc_mcontext.
    let s = unsafe { &mut (*(*(uc as *mut Ucontext64)).uc_mcontext).ss };
    s.rax = r.rax;
    s.rbx = r.rbx;
    s.rcx = r.rcx;
    s.rdx = r.rdx;
    s.rsi = r.rsi;
    s.rdi = r.rdi;
    s.rbp = r.rbp;
    s.rsp = r.rsp;
    s.r8 = r.r8;
    s.r9 = r.r9;
    s.r10 = r.r10;
    s.r11 = r.r11;
    s.r12 = r.r12;
    s.r13 = r.r13;
    s.r14 = r.r14;
    s.r15 = r.r15;
    s.rip = r.rip;
    s.rflags = r.rflags;
}

/// Nothing to probe: the trap needs no CPU feature or kernel option on macOS.
pub fn check_support() -> Result<(), String> {
    Ok(())
}

/// In a fork child: nothing to re-arm on macOS (every Linux syscall number
/// traps unconditionally), but the same entry point exists on both hosts.
pub fn rearm_after_fork(_ctl: &mut ThreadCtl) -> Result<(), String> {
    Ok(())
}

/// Linux signals the guest may receive from outside, caught by the trap
/// entry while a guest handler or the guest's mask needs them: the classic
/// ones the host has (macOS has no real-time signals).
pub fn is_async_signal(sig: Signal) -> bool {
    crate::host::posix::sigctl::ASYNC_SIGNALS.contains(&sig) && host_sig(sig).is_some()
}

/// Sleeps until an asynchronous signal arrives (and its entry recorded it)
/// or `timeout` passes. The mask swap is atomic (pselect), so a signal that
/// arrived before the call is not missed: it was held blocked until now.
pub fn wait_signal(timeout: Option<Timespec>) {
    let mask = crate::host::posix::sigctl::mask_open_to_async();
    let ts = timeout.map(|t| libc::timespec { tv_sec: t.sec, tv_nsec: t.nsec });
    let tsp = ts.as_ref().map_or(core::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: no fds; valid timeout (or NULL) and sigset. xnu's pselect
    // swaps the mask atomically in the kernel.
    unsafe {
        libc::pselect(0, core::ptr::null_mut(), core::ptr::null_mut(), core::ptr::null_mut(), tsp, &mask)
    };
}


/// The macOS host has no direct entry for rewritten syscall sites yet
/// (trap/rewrite.rs): every site keeps trapping.
///
/// # Safety
/// `uc` must be the kernel's ucontext of the signal being handled.
pub unsafe fn learn_frame_layout(_uc: *mut c_void) {}

/// Where a rewritten site's stub would jump: none on this host.
pub fn direct_entry() -> Option<u64> {
    None
}

/// Whether this signal came from the direct entry: never on this host.
///
/// # Safety
/// `info` must be the siginfo of the signal being handled.
pub unsafe fn entered_directly(_info: *mut c_void) -> bool {
    false
}

/// Whether the trampoline may return to the guest without the final
/// sigreturn: not on this host, whose trampoline always takes it.
///
/// # Safety
/// `uc` must be the ucontext of the signal being handled.
pub unsafe fn fast_return_offered(_uc: *mut c_void) -> bool {
    false
}

/// Nothing to close: this host has no direct entry, so no call enters
/// unmasked.
pub fn close_unmasked(_ctl: &crate::trap::ThreadCtl) {}

/// Nothing to correct: this host has no fast return to interrupt.
///
/// # Safety
/// `uc` must be the ucontext of the signal being handled.
pub unsafe fn fixup_fast_return(_ctl: &crate::trap::ThreadCtl, _uc: *mut c_void) {}
