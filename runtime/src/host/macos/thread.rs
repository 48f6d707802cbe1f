//! Host threads on a macOS host: the thread a guest thread runs on, how it
//! enters guest code and leaves it for good, how another thread interrupts
//! it, and the word it sleeps on. See `host/linux/thread.rs` for the shape;
//! here the gs base is switched to the guest's thread pointer on the way
//! in (`_thread_set_tsd_base`, as the trap entry does), and the word is
//! waited on with `__ulock_wait`, which libc++ and the Rust standard
//! library use too.

use crate::host::HostResult;
use crate::trap::{GuestRegs, ThreadCtl, OFF_EXIT_SP, OFF_GUEST_TLS, OFF_IN_GUEST};
use core::mem::offset_of;
use std::sync::atomic::AtomicU32;

extern "C" {
    fn _thread_set_tsd_base(base: u64);
    /// libsystem_kernel (sys/ulock.h): wait while `*addr == value`.
    fn __ulock_wait(operation: u32, addr: *mut libc::c_void, value: u64, timeout_us: u32) -> libc::c_int;
    fn __ulock_wake(operation: u32, addr: *mut libc::c_void, wake_value: u64) -> libc::c_int;
}

const UL_COMPARE_AND_WAIT: u32 = 1;
const ULF_WAKE_ALL: u32 = 0x100;
const ULF_NO_ERRNO: u32 = 0x0100_0000;

core::arch::global_asm!(
    ".text",
    ".globl _mactux_run_guest",
    ".p2align 4",
    "_mactux_run_guest:",
    // rdi = ctl, rsi = the guest registers to start with.
    "    push rbp",
    "    push rbx",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    "    mov [rdi + {exit_sp}], rsp",
    "    mov rbx, rsi",
    "    mov qword ptr [rdi + {in_guest}], 1",
    "    mov rdi, qword ptr [rdi + {guest_tls}]",
    // A signal from here on is taken on the alternate stack and restores
    // the host TSD itself (in_guest is set).
    "    call {set_tsd}",
    "    mov rax, rbx",
    "    push qword ptr [rax + {rflags}]",
    "    popfq",
    "    mov rbx, [rax + {rbx}]",
    "    mov rdx, [rax + {rdx}]",
    "    mov rsi, [rax + {rsi}]",
    "    mov rdi, [rax + {rdi}]",
    "    mov rbp, [rax + {rbp}]",
    "    mov r8, [rax + {r8}]",
    "    mov r9, [rax + {r9}]",
    "    mov r10, [rax + {r10}]",
    "    mov r12, [rax + {r12}]",
    "    mov r13, [rax + {r13}]",
    "    mov r14, [rax + {r14}]",
    "    mov r15, [rax + {r15}]",
    "    mov rcx, [rax + {rip}]",
    "    mov r11, [rax + {rflags}]",
    "    mov rsp, [rax + {rsp}]",
    "    mov rax, [rax + {rax}]",
    "    jmp rcx",
    "",
    ".globl _mactux_leave_guest",
    ".p2align 4",
    "_mactux_leave_guest:",
    "    mov rsp, [rdi + {exit_sp}]",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop rbx",
    "    pop rbp",
    "    ret",
    exit_sp = const OFF_EXIT_SP,
    in_guest = const OFF_IN_GUEST,
    guest_tls = const OFF_GUEST_TLS,
    set_tsd = sym _thread_set_tsd_base,
    rax = const offset_of!(GuestRegs, rax),
    rbx = const offset_of!(GuestRegs, rbx),
    rdx = const offset_of!(GuestRegs, rdx),
    rsi = const offset_of!(GuestRegs, rsi),
    rdi = const offset_of!(GuestRegs, rdi),
    rbp = const offset_of!(GuestRegs, rbp),
    rsp = const offset_of!(GuestRegs, rsp),
    r8 = const offset_of!(GuestRegs, r8),
    r9 = const offset_of!(GuestRegs, r9),
    r10 = const offset_of!(GuestRegs, r10),
    r12 = const offset_of!(GuestRegs, r12),
    r13 = const offset_of!(GuestRegs, r13),
    r14 = const offset_of!(GuestRegs, r14),
    r15 = const offset_of!(GuestRegs, r15),
    rip = const offset_of!(GuestRegs, rip),
    rflags = const offset_of!(GuestRegs, rflags),
);

extern "C" {
    fn mactux_run_guest(ctl: *mut ThreadCtl, regs: *const GuestRegs);
    fn mactux_leave_guest(ctl: *mut ThreadCtl) -> !;
}

/// Runs guest code from `regs` on the calling thread; returns when the
/// guest thread ends (`leave_guest`).
///
/// # Safety
/// As on Linux hosts: mapped guest code and stack, the caller's own block.
pub unsafe fn run_guest(ctl: &mut ThreadCtl, regs: &GuestRegs) {
    // SAFETY: forwarded from the caller.
    unsafe { mactux_run_guest(ctl, regs) }
}

/// Leaves the trap handler and guest code for good.
///
/// # Safety
/// As on Linux hosts.
pub unsafe fn leave_guest(ctl: &mut ThreadCtl) -> ! {
    // SAFETY: forwarded from the caller.
    unsafe { mactux_leave_guest(ctl) }
}

/// A host thread that runs a guest thread.
#[derive(Clone, Copy, Debug)]
pub struct HostThread {
    pthread: libc::pthread_t,
}

// SAFETY: a pthread_t is a handle; it is used only while the thread lives
// (`Thread::host` is cleared before the thread ends).
unsafe impl Send for HostThread {}

pub fn current() -> HostThread {
    // SAFETY: no preconditions.
    HostThread { pthread: unsafe { libc::pthread_self() } }
}

/// Restricts a host thread to CPUs: None, macOS has no such call.
pub fn set_affinity_of(_h: &HostThread, _cpus: u64) -> Option<crate::host::HostResult<()>> {
    None
}

/// The host signal that interrupts another thread of ours: SIGEMT, which
/// no Linux signal maps to, so the trap entry always catches it. Not
/// SIGSYS: a signal is pending at most once, so a kick pending when the
/// thread's `syscall` traps would absorb that trap's SIGSYS and the call
/// would never be made.
pub const KICK_SIGNAL: i32 = libc::SIGEMT;

/// Interrupts the thread (see the Linux host's); false if not sent.
pub fn kick(h: &HostThread) -> bool {
    // SAFETY: the thread is alive (see `HostThread`).
    unsafe { libc::pthread_kill(h.pthread, KICK_SIGNAL) == 0 }
}

pub fn spawn(stack_size: usize, f: Box<dyn FnOnce() + Send + 'static>) -> HostResult<()> {
    crate::host::posix::sigctl::spawn_blocked(stack_size, f)
}

pub fn park(word: &AtomicU32, expected: u32, timeout_ns: Option<u64>) {
    // 0 waits for ever; a longer timeout is cut to what fits and the
    // caller waits again.
    let us = timeout_ns.map_or(0, |ns| (ns / 1000).clamp(1, u64::from(u32::MAX)) as u32);
    // SAFETY: waits on a live word of ours.
    unsafe { __ulock_wait(UL_COMPARE_AND_WAIT | ULF_NO_ERRNO, word.as_ptr().cast(), u64::from(expected), us) };
}

pub fn unpark_all(word: &AtomicU32) {
    // SAFETY: wakes waiters on a live word of ours.
    unsafe { __ulock_wake(UL_COMPARE_AND_WAIT | ULF_WAKE_ALL | ULF_NO_ERRNO, word.as_ptr().cast(), 0) };
}

pub fn end_thread(region: u64, size: u64) {
    super::trap::drop_alt_stack();
    let _ = crate::host::mem::unmap(region, size);
}

/// A full memory barrier on every thread of this process before it
/// returns. macOS has no membarrier; changing the protection of a page
/// this process has touched makes the kernel shoot down its TLB entries on
/// every CPU running one of our threads, an interrupt that serialises them
/// (the technique .NET's FlushProcessWriteBuffers uses on macOS).
/// Makes every thread of this process see code patched before this
/// returns: a full barrier on each ([`membarrier`]); x86 cores snoop
/// modified code, and the patch order keeps every mix of old and new
/// bytes correct (trap/rewrite.rs).
pub fn sync_cores() {
    membarrier();
}

/// Nothing to register here ([`membarrier`] needs no registration); on
/// Linux hosts the membarrier commands are registered while the process
/// has one thread.
pub fn register_barriers() {}

pub fn membarrier() {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    static PAGE: AtomicU64 = AtomicU64::new(0);
    let page = crate::abi::PAGE_SIZE;
    let mut addr = PAGE.load(Relaxed);
    if addr == 0 {
        match crate::host::mem::map_aligned(page) {
            Ok(a) => {
                PAGE.store(a, Relaxed);
                addr = a;
            }
            Err(_) => {
                std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
                return;
            }
        }
    }
    // SAFETY: our own page; touched so that it is in the TLBs, then
    // re-protected, which forces the cross-CPU shootdown.
    unsafe {
        core::ptr::write_volatile(addr as *mut u8, 1);
        libc::mprotect(addr as *mut libc::c_void, page as usize, libc::PROT_READ);
        libc::mprotect(addr as *mut libc::c_void, page as usize, libc::PROT_READ | libc::PROT_WRITE);
    }
}

/// The CPU time another host thread of ours has used, ns: user plus
/// system time from `thread_info(THREAD_BASIC_INFO)`.
pub fn cpu_time_of(h: &HostThread) -> Option<u64> {
    // SAFETY: zeroed info struct as out-parameter; the port is the live
    // thread's (see `HostThread`), borrowed without a new reference.
    let info = unsafe {
        let mut info: libc::thread_basic_info = core::mem::zeroed();
        let mut count = (core::mem::size_of::<libc::thread_basic_info>() / core::mem::size_of::<libc::integer_t>()) as u32;
        let port = libc::pthread_mach_thread_np(h.pthread);
        if libc::thread_info(port, libc::THREAD_BASIC_INFO as _, (&mut info as *mut libc::thread_basic_info).cast(), &mut count) != 0 {
            return None;
        }
        info
    };
    let tv = |t: libc::time_value_t| (t.seconds as u64) * 1_000_000_000 + (t.microseconds as u64) * 1000;
    Some(tv(info.user_time) + tv(info.system_time))
}
