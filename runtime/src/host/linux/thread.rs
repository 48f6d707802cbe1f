//! Host threads on a Linux host: the thread a guest thread runs on, how it
//! enters guest code and leaves it for good, how another thread interrupts
//! it, and the futex word it sleeps on.
//!
//! A guest thread is a host thread of the standard library (it needs the
//! host's TLS, allocator and locks). It enters guest code through
//! `mactux_run_guest`, which saves the host stack pointer and callee-saved
//! registers in the control block; the guest's `exit` leaves the trap
//! handler through `mactux_leave_guest`, which returns from
//! `mactux_run_guest` as if it had returned normally, on the host stack,
//! abandoning the signal frame on the alternate stack (which the kernel
//! does not track). The thread then frees its control region and ends.

use crate::host::HostResult;
use crate::trap::{GuestRegs, ThreadCtl, OFF_EXIT_SP, OFF_IN_GUEST, OFF_SELECTOR, SELECTOR_BLOCK};
use core::mem::offset_of;
use std::sync::atomic::AtomicU32;

core::arch::global_asm!(
    ".pushsection .text.mactux_thread,\"ax\",@progbits",
    ".globl mactux_run_guest",
    ".type mactux_run_guest,@function",
    ".p2align 4",
    "mactux_run_guest:",
    // rdi = ctl, rsi = the guest registers to start with.
    "    push rbp",
    "    push rbx",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    "    mov [rdi + {exit_sp}], rsp",
    "    mov qword ptr [rdi + {in_guest}], 1",
    "    mov rax, {fs_tag}",
    "    or rax, rdi",
    "    wrfsbase rax",
    "    mov byte ptr [rdi + {sel}], {block}",
    "    mov rax, rsi",
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
    // After a `syscall`, rcx holds the return address and r11 the flags.
    "    mov rcx, [rax + {rip}]",
    "    mov r11, [rax + {rflags}]",
    "    mov rsp, [rax + {rsp}]",
    "    mov rax, [rax + {rax}]",
    "    jmp rcx",
    ".size mactux_run_guest, . - mactux_run_guest",
    "",
    ".globl mactux_leave_guest",
    ".type mactux_leave_guest,@function",
    ".p2align 4",
    "mactux_leave_guest:",
    // rdi = ctl: back onto the host stack `mactux_run_guest` left.
    "    mov rsp, [rdi + {exit_sp}]",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop rbx",
    "    pop rbp",
    "    ret",
    ".size mactux_leave_guest, . - mactux_leave_guest",
    ".popsection",
    exit_sp = const OFF_EXIT_SP,
    in_guest = const OFF_IN_GUEST,
    fs_tag = const super::tls::GUEST_FS_TAG,
    sel = const OFF_SELECTOR,
    block = const SELECTOR_BLOCK,
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
/// `regs` must describe mapped guest code and stack (what the loader or
/// clone prepared); the control block must be the calling thread's.
pub unsafe fn run_guest(ctl: &mut ThreadCtl, regs: &GuestRegs) {
    // SAFETY: forwarded from the caller.
    unsafe { mactux_run_guest(ctl, regs) }
}

/// Leaves the trap handler and guest code for good, returning from the
/// thread's `run_guest`.
///
/// # Safety
/// Only from the trap handler of the thread that owns `ctl`, after
/// `run_guest` set its return point, with nothing left to drop in the
/// frames being abandoned.
pub unsafe fn leave_guest(ctl: &mut ThreadCtl) -> ! {
    // SAFETY: forwarded from the caller.
    unsafe { mactux_leave_guest(ctl) }
}

/// A host thread that runs a guest thread: its kernel thread id.
#[derive(Clone, Copy, Debug)]
pub struct HostThread {
    host_tid: i32,
}

/// The calling host thread.
pub fn current() -> HostThread {
    // SAFETY: gettid has no preconditions.
    HostThread { host_tid: unsafe { libc::gettid() } }
}

/// The host signal that interrupts another thread of ours: the last
/// real-time signal, which the trap entry always catches (`set_disposition`
/// never lets it go) and guest code never has blocked on the host. It must
/// not be SIGSYS: a classic signal is pending at most once, so a kick that
/// is pending when the thread's `syscall` raises Syscall User Dispatch's
/// SIGSYS absorbs that trap (the kernel keeps the first siginfo), and the
/// call would return with its own number in rax, never made. Real-time
/// signals queue, each with its siginfo. A kick is told from the guest
/// signal 64 sent by another process by its si_code (SI_TKILL) and sender
/// (us).
pub const KICK_SIGNAL: i32 = 64;

/// Interrupts the thread: its guest code enters the trap, a host call it
/// sleeps in fails with EINTR. False if the signal was not sent (a thread
/// that already ended, a full signal queue).
pub fn kick(h: &HostThread) -> bool {
    // SAFETY: tgkill to a thread of our own process.
    unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), h.host_tid, KICK_SIGNAL) == 0 }
}

/// Starts a host thread running `f`; `stack_size` bytes of host stack.
pub fn spawn(stack_size: usize, f: Box<dyn FnOnce() + Send + 'static>) -> HostResult<()> {
    crate::host::posix::sigctl::spawn_blocked(stack_size, f)
}

/// Sleeps while `word` holds `expected`, at most `timeout_ns`; returns
/// early on a wake of the word or a host signal.
pub fn park(word: &AtomicU32, expected: u32, timeout_ns: Option<u64>) {
    let ts = timeout_ns.map(|ns| libc::timespec {
        tv_sec: (ns / 1_000_000_000).min(i64::MAX as u64) as i64,
        tv_nsec: (ns % 1_000_000_000) as i64,
    });
    let tsp = ts.as_ref().map_or(core::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: a private futex wait on a live word with a valid (or NULL) timeout.
    unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG, expected, tsp) };
}

/// Wakes every thread parked on `word`.
pub fn unpark_all(word: &AtomicU32) {
    // SAFETY: a private futex wake on a live word.
    unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, i32::MAX) };
}

/// After the guest thread ended on this host thread: turns the syscall
/// trap off (its selector byte lives in the region freed next), drops the
/// alternate stack and frees the control region.
pub fn end_thread(region: u64, size: u64) {
    // SAFETY: turning Syscall User Dispatch off for the calling thread.
    unsafe {
        libc::prctl(
            linux_raw_sys::prctl::PR_SET_SYSCALL_USER_DISPATCH as i32,
            linux_raw_sys::prctl::PR_SYS_DISPATCH_OFF as u64,
            0u64,
            0u64,
            0u64,
        )
    };
    super::trap::drop_alt_stack();
    let _ = crate::host::mem::unmap(region, size);
}

const MEMBARRIER_CMD_GLOBAL: i32 = 1;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: i32 = 1 << 3;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: i32 = 1 << 4;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE: i32 = 1 << 5;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: i32 = 1 << 6;

/// Whether this process is registered for a membarrier command: 0 not
/// tried, 1 registered, 2 not available.
static BARRIER_MODE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);
static SYNC_CORE_MODE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

fn membarrier_call(cmd: i32) -> libc::c_long {
    // SAFETY: membarrier takes no pointers.
    unsafe { libc::syscall(libc::SYS_membarrier, cmd, 0, 0) }
}

/// Registers the process for `register_cmd` once, recording in `mode`
/// whether the kernel has it.
fn register_once(mode: &std::sync::atomic::AtomicU8, register_cmd: i32) {
    use std::sync::atomic::Ordering::Relaxed;
    if mode.load(Relaxed) == 0 {
        let ok = membarrier_call(register_cmd) == 0;
        mode.store(if ok { 1 } else { 2 }, Relaxed);
    }
}

/// Registers the process for the membarrier commands [`membarrier`] and
/// [`sync_cores`] use, at its start while it has one thread: a
/// registration made once other threads share the memory waits for an RCU
/// grace period (`synchronize_rcu` in the kernel's
/// `sync_runqueues_membarrier_state`), 5 ms on the 2-core VM, which the
/// first rewritten site of a task with a second thread (its publisher, a
/// guest thread) used to pay, and its first guest membarrier again.
pub fn register_barriers() {
    register_once(&BARRIER_MODE, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
    register_once(&SYNC_CORE_MODE, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE);
}

/// A full memory barrier on every thread of this process before it
/// returns: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), registered at
/// the start ([`register_barriers`]) or on first use; where the kernel
/// lacks it, the global (slow) command.
pub fn membarrier() {
    use std::sync::atomic::Ordering::Relaxed;
    register_once(&BARRIER_MODE, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
    if BARRIER_MODE.load(Relaxed) == 1 && membarrier_call(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0 {
        return;
    }
    if membarrier_call(MEMBARRIER_CMD_GLOBAL) != 0 {
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    }
}

/// Makes every thread of this process serialise its instruction stream
/// before this returns (membarrier's PRIVATE_EXPEDITED_SYNC_CORE, the
/// user-space counterpart of the kernel's `text_poke_sync`): after a code
/// patch step, no thread still runs bytes it fetched before it. Where the
/// kernel lacks the command, a full barrier ([`membarrier`]); x86 cores
/// snoop modified code anyway, and the patch is ordered so that any mix
/// of old and new bytes a core may see is still correct (trap/rewrite.rs).
pub fn sync_cores() {
    use std::sync::atomic::Ordering::Relaxed;
    register_once(&SYNC_CORE_MODE, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE);
    if SYNC_CORE_MODE.load(Relaxed) == 1 && membarrier_call(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) == 0 {
        return;
    }
    membarrier();
}

/// Restricts another host thread of this process to the CPUs of `cpus`;
/// see `host::process::set_affinity`.
pub fn set_affinity_of(h: &HostThread, cpus: u64) -> Option<crate::host::HostResult<()>> {
    crate::host::process::set_affinity(h.host_tid, cpus)
}

/// The CPU time another host thread of ours has used, ns (None once it
/// ended): its kernel CPU clock (`MAKE_THREAD_CPUCLOCK(tid, SCHED)`).
pub fn cpu_time_of(h: &HostThread) -> Option<u64> {
    const CPUCLOCK_SCHED_PERTHREAD: i32 = 6;
    let clock = ((!h.host_tid) << 3) | CPUCLOCK_SCHED_PERTHREAD;
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid out-parameter.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return None;
    }
    Some((ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64))
}
