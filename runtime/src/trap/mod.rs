//! The trap: how guest code enters the runtime.
//!
//! Signal context: everything reachable from [`dispatch`] runs inside a host
//! signal handler, on the thread's alternate signal stack, with the trap
//! disarmed and the host's TLS register restored by the assembly entry in
//! `host/<os>/trap.rs`. It may allocate and take the runtime's locks, because
//! host signals only reach it from guest code: the runtime never holds a lock
//! or sits in the allocator while guest code runs on the same thread.
//!
//! A thread's control block ([`ThreadCtl`]) sits at the bottom of that
//! thread's alternate signal stack, which is aligned to its own size, so the
//! entry finds it from `%rsp` alone, without TLS.
#![allow(unsafe_code)]

pub mod patch;

use crate::host;
use core::ffi::c_void;
use core::mem::offset_of;

/// Size and alignment of a thread's alternate-stack region (control block,
/// guard page, signal stack).
pub const ALT_REGION_SIZE: u64 = 1 << 20;
pub const CTL_MAGIC: u64 = 0x6d61_6374_7578_6374; // "mactuxct"

/// SUD selector values (`SYSCALL_DISPATCH_FILTER_*`).
pub const SELECTOR_ALLOW: u8 = 0;
pub const SELECTOR_BLOCK: u8 = 1;

/// Per-thread state the assembly entry needs. The first fields have fixed
/// offsets that the trampolines use (see the `OFF_*` constants).
#[repr(C)]
pub struct ThreadCtl {
    pub magic: u64,
    /// The host's own TLS base for this thread (fs on Linux, gs on macOS).
    pub host_tls: u64,
    /// Non-zero while the thread executes guest code.
    pub in_guest: u64,
    /// The Syscall User Dispatch selector byte (Linux hosts).
    pub selector: u8,
    _pad: [u8; 7],
    /// The guest's thread pointer (`ARCH_SET_FS`), installed as the gs base.
    pub guest_tls: u64,
    /// Linux thread id of the guest thread this host thread runs.
    pub tid: u32,
}

pub const OFF_HOST_TLS: usize = offset_of!(ThreadCtl, host_tls);
pub const OFF_IN_GUEST: usize = offset_of!(ThreadCtl, in_guest);
pub const OFF_SELECTOR: usize = offset_of!(ThreadCtl, selector);
pub const OFF_GUEST_TLS: usize = offset_of!(ThreadCtl, guest_tls);

/// The general-purpose registers of the interrupted guest, in Linux names.
#[derive(Clone, Copy, Debug, Default)]
pub struct GuestRegs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub rsp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
}

/// Why the host entered the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapKind {
    /// A guest `syscall` instruction.
    Syscall,
    /// A memory fault at the given address (host SIGSEGV/SIGBUS).
    Fault { addr: u64, is_bus: bool },
    /// An illegal instruction, arithmetic fault or breakpoint in guest code.
    Other(crate::abi::signal::Signal),
}

/// Allocates and registers the calling thread's control block and alternate
/// stack. The block lives for the rest of the thread.
pub fn setup_thread(tid: u32) -> Result<&'static mut ThreadCtl, String> {
    let region = host::trap::alloc_alt_region(ALT_REGION_SIZE)
        .map_err(|e| format!("cannot allocate the signal stack: {}", e.text()))?;
    let ctl_ptr = region as *mut ThreadCtl;
    // SAFETY: `region` is a fresh, writable, suitably aligned mapping of
    // ALT_REGION_SIZE bytes that nothing else references; we leak it on purpose.
    let ctl = unsafe {
        ctl_ptr.write(ThreadCtl {
            magic: CTL_MAGIC,
            host_tls: host::tls::host_tls_base(),
            in_guest: 0,
            selector: SELECTOR_ALLOW,
            _pad: [0; 7],
            guest_tls: 0,
            tid,
        });
        &mut *ctl_ptr
    };
    host::trap::install_thread(ctl, region, ALT_REGION_SIZE)
        .map_err(|e| format!("cannot install the syscall trap: {e}"))?;
    Ok(ctl)
}

/// Called by the assembly entry with the trap disarmed and host TLS in place;
/// `from_guest` says whether the signal interrupted guest code.
///
/// # Safety
/// Only the host trampoline calls this, with `ctl` found from the alternate
/// stack and `info`/`uc` as the kernel passed them to the signal handler.
pub unsafe extern "C" fn dispatch(ctl: *mut ThreadCtl, signo: i32, info: *mut c_void, uc: *mut c_void, from_guest: u64) {
    // SAFETY: the trampoline derived `ctl` from the aligned alternate stack,
    // where `setup_thread` placed a live control block.
    let ctl = unsafe { &mut *ctl };
    if ctl.magic != CTL_MAGIC {
        host::process::fatal("signal arrived on a stack without a MacTux control block");
    }
    // SAFETY: `info` and `uc` are the kernel's siginfo and ucontext for this signal.
    let (kind, mut regs) = unsafe { host::trap::decode(signo, info, uc) };
    let from_guest = from_guest != 0;
    match kind {
        TrapKind::Syscall => crate::syscall::handle(ctl, &mut regs),
        TrapKind::Fault { addr, is_bus } => {
            if !from_guest {
                host::process::fatal_fault("the runtime itself faulted", regs.rip, addr);
            }
            if is_bus || !patch::try_patch_fs(&regs) {
                crate::signal::deliver_fault(ctl, &mut regs, if is_bus { crate::abi::signal::Signal::SIGBUS } else { crate::abi::signal::Signal::SIGSEGV }, addr);
            }
        }
        TrapKind::Other(sig) => {
            if !from_guest {
                host::process::fatal_fault("the runtime itself trapped", regs.rip, 0);
            }
            let rip = regs.rip;
            crate::signal::deliver_fault(ctl, &mut regs, sig, rip);
        }
    }
    // SAFETY: writing back into the same ucontext the kernel gave us.
    unsafe { host::trap::store_regs(uc, &regs) };
}

/// Enters guest code at `entry` with stack pointer `sp`; never returns.
pub fn enter_guest(ctl: &mut ThreadCtl, entry: u64, sp: u64) -> ! {
    // SAFETY: `entry` and `sp` come from the loader, which mapped the guest
    // image and built its initial stack; the control block is live.
    unsafe { host::trap::enter_guest(ctl, entry, sp) }
}
