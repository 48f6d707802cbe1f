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
use crate::host::HostResult;
use crate::trap::{GuestRegs, ThreadCtl, TrapKind, ALT_REGION_SIZE, OFF_GUEST_TLS, OFF_HOST_TLS, OFF_IN_GUEST};
use core::ffi::c_void;

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
    "",
    ".globl _mactux_enter_guest",
    ".p2align 4",
    "_mactux_enter_guest:",
    // rdi = ctl, rsi = entry, rdx = stack pointer
    "    mov rsp, rdx",
    "    mov rbx, rsi",
    "    mov qword ptr [rdi + {in_guest}], 1",
    "    mov rdi, qword ptr [rdi + {guest_tls}]",
    // Still on the guest stack with in_guest set: a signal here is taken on the
    // alt stack and restores the host TSD itself.
    "    call {set_tsd}",
    "    mov r11, rbx",
    "    xor eax, eax",
    "    xor ebx, ebx",
    "    xor ecx, ecx",
    "    xor edx, edx",
    "    xor esi, esi",
    "    xor edi, edi",
    "    xor ebp, ebp",
    "    xor r8d, r8d",
    "    xor r9d, r9d",
    "    xor r10d, r10d",
    "    xor r12d, r12d",
    "    xor r13d, r13d",
    "    xor r14d, r14d",
    "    xor r15d, r15d",
    "    cld",
    "    jmp r11",
    align_mask = const !(ALT_REGION_SIZE - 1),
    in_guest = const OFF_IN_GUEST,
    host_tls = const OFF_HOST_TLS,
    guest_tls = const OFF_GUEST_TLS,
    set_tsd = sym _thread_set_tsd_base,
    dispatch = sym crate::trap::dispatch,
);

extern "C" {
    fn mactux_sig_entry();
    fn mactux_enter_guest(ctl: *mut ThreadCtl, entry: u64, sp: u64) -> !;
}

/// Maps a region of `size` bytes aligned to `size`.
pub fn alloc_alt_region(size: u64) -> HostResult<u64> {
    crate::host::mem::map_aligned(size)
}

/// Host signals whose handler is the trap entry.
const TRAP_SIGNALS: &[i32] = &[libc::SIGSYS, libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGTRAP];

static INSTALL: std::sync::Once = std::sync::Once::new();

/// Gives the calling thread its alternate stack and installs the
/// process-wide handlers once. Nothing per-thread needs arming on macOS.
pub fn install_thread(_ctl: &mut ThreadCtl, region: u64, size: u64) -> Result<(), String> {
    let page = crate::abi::PAGE_SIZE;
    // The control block takes the first page; the second is a guard page.
    crate::host::mem::protect(region + page, page, crate::host::Prot::NONE)
        .map_err(|e| format!("guard page: {}", e.text()))?;
    let ss = libc::stack_t { ss_sp: (region + 2 * page) as *mut c_void, ss_size: (size - 2 * page) as usize, ss_flags: 0 };
    // SAFETY: `ss` describes memory we own for the life of the thread.
    if unsafe { libc::sigaltstack(&ss, core::ptr::null_mut()) } != 0 {
        return Err(format!("sigaltstack: {}", super::errno::last().text()));
    }
    let mut result = Ok(());
    INSTALL.call_once(|| {
        for &sig in TRAP_SIGNALS {
            // SAFETY: a zeroed sigaction is valid; we fill handler, flags and mask.
            let mut sa: libc::sigaction = unsafe { core::mem::zeroed() };
            sa.sa_sigaction = mactux_sig_entry as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            // SAFETY: sa_mask is a valid sigset.
            unsafe { libc::sigfillset(&mut sa.sa_mask) };
            // SAFETY: installing our own handler.
            if unsafe { libc::sigaction(sig, &sa, core::ptr::null_mut()) } != 0 {
                result = Err(format!("sigaction({sig}): {}", super::errno::last().text()));
            }
        }
    });
    result
}

/// Jumps to guest code with the guest's gs base installed.
///
/// # Safety
/// `entry` must be mapped guest code and `sp` a prepared guest stack.
pub unsafe fn enter_guest(ctl: &mut ThreadCtl, entry: u64, sp: u64) -> ! {
    // SAFETY: forwarded from the caller.
    unsafe { mactux_enter_guest(ctl, entry, sp) }
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
    let _ = info;
    // SAFETY: per the contract, `uc` is a valid ucontext whose uc_mcontext
    // points at the saved machine state.
    let mc = unsafe { &*(*(uc as *const Ucontext64)).uc_mcontext };
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
    let kind = match signo {
        libc::SIGSYS => TrapKind::Syscall,
        libc::SIGSEGV | libc::SIGBUS => {
            TrapKind::Fault { addr: mc.es.faultvaddr, is_bus: signo == libc::SIGBUS }
        }
        other => TrapKind::Other(super::signal::from_host(other).unwrap_or(Signal::SIGILL)),
    };
    (kind, regs)
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
