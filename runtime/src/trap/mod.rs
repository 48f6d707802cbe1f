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
//!
//! Host signals a guest can receive from outside (SIGINT, SIGCHLD, SIGALRM...)
//! enter through the same assembly entry. Every handler of ours runs with all
//! host signals blocked but the synchronous fault signals (a fault in a
//! guest-memory copy must reach its fixup, `host::uaccess`), so normally
//! asynchronous ones arrive only while guest code runs.
//! The exceptions are the "blocking window" that [`dispatch`] opens around
//! syscalls that may sleep in the host (rows marked `blocks` in the syscall
//! table: read, nanosleep, wait4...), and the whole of a rewritten call of
//! such a row or of one marked `unmasked` (host::trap on Linux: the
//! unmasked entry): there the
//! asynchronous signals are unblocked so the host call fails with EINTR, and
//! their entry runs *nested* on this stack, in runtime state (trap disarmed,
//! host TLS, `in_guest` = 0). A nested entry only records the signal with
//! atomic operations (`signal::record_host`): it may have interrupted the
//! allocator or a lock holder.
#![allow(unsafe_code)]

pub mod patch;
pub mod rewrite;

use crate::host;
use core::ffi::c_void;
use core::mem::offset_of;
use core::sync::atomic::{AtomicU64, AtomicU8};
use core::sync::atomic::Ordering::Relaxed;

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
    /// Where the host thread's own stack was when it entered guest code
    /// (`host::thread::run_guest`): a thread's exit returns there.
    pub exit_sp: u64,
    /// The guest thread this host thread runs: an `Arc<Thread>` turned into
    /// a pointer (`setup_thread`), released when the thread ends.
    thread: *const core::ffi::c_void,
    /// The host ucontext of the guest trap being handled (0 outside one):
    /// signal delivery and `rt_sigreturn` read and write its FP state.
    pub host_uc: u64,
    /// The guest thread's `sigaltstack` (per thread, as in Linux).
    pub altstack: crate::signal::AltStack,
    /// The last instruction this thread ran again because another thread
    /// had just patched it (trap/patch.rs); 0 if none.
    pub patch_retry: u64,
    /// The mask to restore after `rt_sigsuspend` when no handler ran
    /// (valid while `has_saved_mask`; plain fields keep the block FFI-safe).
    saved_mask: u64,
    has_saved_mask: bool,
    /// The host ucontext a fast return (`host::trap`, Linux) is restoring
    /// the guest from, for a signal that arrives half-way through it.
    pub fast_uc: u64,
    /// Set by the unmasked direct entry (`host::trap`, Linux): the call
    /// being handled entered without blocking any host signal, and none is
    /// blocked until `host::trap::close_unmasked` or the return to guest
    /// code. Atomic: a nested handler on this thread reads it.
    pub unmasked: AtomicU8,
    /// A host signal arrived while `unmasked` was set and the runtime ran:
    /// it was recorded, and the return to guest code must act on it.
    pub unmasked_missed: AtomicU8,
    /// Whether this thread's guest code runs with every asynchronous host
    /// signal open, as the last return to it left its mask: only then may
    /// a call enter unmasked (its whole handling is then a blocking window).
    pub unmasked_ok: AtomicU8,
    _pad2: [u8; 5],
    /// The host mask guest code runs with (a kernel sigset), as the last
    /// return to it restored it: the frame's mask of a call that enters
    /// unmasked, which does not ask the host.
    pub guest_hmask: AtomicU64,
}

impl ThreadCtl {
    /// The guest thread this host thread runs.
    pub fn thread(&self) -> &crate::task::Thread {
        // SAFETY: `thread` came from `Arc::into_raw` in `setup_thread` and
        // is released only by `release_thread`, after the last use.
        unsafe { &*self.thread.cast::<crate::task::Thread>() }
    }

    /// A counted reference to the guest thread.
    pub fn thread_arc(&self) -> std::sync::Arc<crate::task::Thread> {
        // SAFETY: as in `thread`; the count taken here is our own.
        unsafe {
            let t = self.thread.cast::<crate::task::Thread>();
            std::sync::Arc::increment_strong_count(t);
            std::sync::Arc::from_raw(t)
        }
    }

    /// Makes this host thread run `thread` instead (a fork child gives its
    /// one thread fresh state); the old reference is given back.
    pub fn replace_thread(&mut self, thread: std::sync::Arc<crate::task::Thread>) {
        // SAFETY: no reference from `thread()` is live across this call
        // (it takes `&mut self`), and the old pointer is given back once.
        unsafe { self.release_thread() };
        self.thread = std::sync::Arc::into_raw(thread).cast();
    }

    /// Readies a block whose guest thread ended for the next guest thread
    /// this host thread runs: that thread, no alternate stack, nothing
    /// saved from the last one.
    pub fn reuse_for(&mut self, thread: std::sync::Arc<crate::task::Thread>) {
        thread.alt_region.store(self as *mut ThreadCtl as u64, core::sync::atomic::Ordering::Relaxed);
        self.replace_thread(thread);
        self.guest_tls = 0;
        self.patch_retry = 0;
        self.host_uc = 0;
        self.altstack = crate::signal::AltStack::default();
        self.has_saved_mask = false;
        self.fast_uc = 0;
        // As `setup_thread` leaves them: the new thread's first call enters
        // masked, and its first return says what its guest code runs with.
        self.unmasked.store(0, Relaxed);
        self.unmasked_missed.store(0, Relaxed);
        self.unmasked_ok.store(0, Relaxed);
        self.guest_hmask.store(0, Relaxed);
    }

    /// Gives back the reference `setup_thread` took (the thread has ended).
    ///
    /// # Safety
    /// Called once, after the last use of `thread()` on this block.
    pub unsafe fn release_thread(&mut self) {
        let t = core::mem::replace(&mut self.thread, core::ptr::null());
        if !t.is_null() {
            // SAFETY: per the contract, the pointer from `Arc::into_raw` is
            // given back exactly once.
            drop(unsafe { std::sync::Arc::from_raw(t.cast::<crate::task::Thread>()) });
        }
    }

    /// Remembers the mask `rt_sigsuspend` replaced.
    pub fn save_mask(&mut self, mask: u64) {
        self.saved_mask = mask;
        self.has_saved_mask = true;
    }

    pub fn take_saved_mask(&mut self) -> Option<u64> {
        let had = core::mem::replace(&mut self.has_saved_mask, false);
        had.then_some(self.saved_mask)
    }
}

pub const OFF_HOST_TLS: usize = offset_of!(ThreadCtl, host_tls);
pub const OFF_IN_GUEST: usize = offset_of!(ThreadCtl, in_guest);
pub const OFF_SELECTOR: usize = offset_of!(ThreadCtl, selector);
pub const OFF_GUEST_TLS: usize = offset_of!(ThreadCtl, guest_tls);
pub const OFF_EXIT_SP: usize = offset_of!(ThreadCtl, exit_sp);
pub const OFF_FAST_UC: usize = offset_of!(ThreadCtl, fast_uc);
pub const OFF_UNMASKED: usize = offset_of!(ThreadCtl, unmasked);
pub const OFF_UNMASKED_MISSED: usize = offset_of!(ThreadCtl, unmasked_missed);
pub const OFF_UNMASKED_OK: usize = offset_of!(ThreadCtl, unmasked_ok);
pub const OFF_GUEST_HMASK: usize = offset_of!(ThreadCtl, guest_hmask);

/// The general-purpose registers of the interrupted guest, in Linux names
/// (read by `host::thread::run_guest`'s assembly by field offset).
#[repr(C)]
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
    /// A memory fault at the given address (host SIGSEGV/SIGBUS); `code` is
    /// the Linux `si_code` (meaningful for SIGBUS; SIGSEGV's is decided from
    /// the guest's memory map).
    Fault { addr: u64, is_bus: bool, code: i32 },
    /// An illegal instruction, arithmetic fault or breakpoint in guest code,
    /// with its Linux `si_code`.
    Other { sig: crate::abi::signal::Signal, code: i32 },
    /// A signal sent to the process (kill, the terminal, a timer, a child),
    /// already translated to Linux numbers.
    Async { sig: crate::abi::signal::Signal, info: HostSigInfo },
    /// Another thread of the runtime wants this one to look at its signals
    /// (`Thread::kick`): nothing to record, only to interrupt.
    Kick,
}

/// What the host told us about an asynchronous signal, in Linux terms
/// (`si_code` translated; `pid` is a host pid).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostSigInfo {
    pub code: i32,
    pub pid: i32,
    pub uid: u32,
    /// `si_status` of SIGCHLD.
    pub status: i32,
    /// `si_value` of a queued signal.
    pub value: u64,
}

/// How the host process itself disposes of a signal the guest may receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostDisposition {
    /// Our entry records it for the guest.
    Catch,
    /// The host's default action (used where the guest's default is to
    /// ignore, so the host never interrupts a blocking call for it).
    Default,
    /// Ignored by the host kernel (the guest ignores it).
    Ignore,
}

/// Allocates and registers the calling thread's control block and alternate
/// stack for the guest thread `thread`. The block lives until the thread
/// ends (`host::thread::run_guest` frees it for threads that clone made; the
/// first thread's lives as long as the process).
pub fn setup_thread(thread: std::sync::Arc<crate::task::Thread>) -> Result<&'static mut ThreadCtl, String> {
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
            exit_sp: 0,
            patch_retry: 0,
            thread: std::sync::Arc::into_raw(thread).cast(),
            host_uc: 0,
            altstack: crate::signal::AltStack::default(),
            saved_mask: 0,
            has_saved_mask: false,
            fast_uc: 0,
            unmasked: AtomicU8::new(0),
            unmasked_missed: AtomicU8::new(0),
            unmasked_ok: AtomicU8::new(0),
            _pad2: [0; 5],
            guest_hmask: AtomicU64::new(0),
        });
        &mut *ctl_ptr
    };
    host::trap::install_thread(ctl, region, ALT_REGION_SIZE)
        .map_err(|e| format!("cannot install the syscall trap: {e}"))?;
    ctl.thread().alt_region.store(region, core::sync::atomic::Ordering::Relaxed);
    Ok(ctl)
}

/// The control block of the thread whose trap is being handled on this
/// host thread, found as the assembly entry finds it: from the stack
/// pointer, which lies on the thread's alternate stack while the runtime
/// handles a trap (for calls deep below any `Ctx`). None outside a trap
/// handler.
fn calling_ctl() -> Option<&'static ThreadCtl> {
    // SAFETY: see `calling_ctl_ptr`; only read through a shared reference.
    calling_ctl_ptr().map(|c| unsafe { &*c })
}

/// [`calling_ctl`] as a pointer: a live control block of the calling
/// thread (checked against the current process's threads and its magic).
fn calling_ctl_ptr() -> Option<*mut ThreadCtl> {
    let sp: u64;
    // SAFETY: reads the stack pointer only.
    unsafe { core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    let base = sp & !(ALT_REGION_SIZE - 1);
    let region_is_ours = crate::task::try_current()?
        .thread_list()
        .iter()
        .any(|t| t.alt_region.load(core::sync::atomic::Ordering::Relaxed) == base);
    if !region_is_ours {
        return None;
    }
    let ctl = base as *mut ThreadCtl;
    // SAFETY: `base` is the control region of a live thread of ours (just
    // checked against the thread list), whose block starts there and lives
    // as long as the thread, which is running this very code.
    (unsafe { (*ctl).magic } == CTL_MAGIC).then_some(ctl)
}

/// The Linux tid of the calling thread (/proc/thread-self).
pub fn calling_tid() -> Option<u32> {
    calling_ctl().map(|c| c.thread().tid())
}

/// The calling thread, for a file operation that acts for its caller (a
/// signalfd's read and readiness).
pub fn calling_thread() -> Option<std::sync::Arc<crate::task::Thread>> {
    calling_ctl().map(|c| c.thread_arc())
}

/// Whether a signal is waiting that should end the calling thread's sleep
/// now (a sleeper below any `Ctx`, as vfs/poll.rs, asks before it sleeps).
pub fn calling_thread_interrupted() -> bool {
    calling_ctl().is_some_and(|c| crate::signal::interrupts(c.thread()))
}

/// Called by the assembly entry with the trap disarmed and host TLS in place;
/// `from_guest` says whether the signal interrupted guest code. Returns
/// non-zero when the trampoline may return to the guest without
/// `rt_sigreturn` (`host::trap::fast_return_offered`): after a plain
/// syscall whose return delivers nothing.
///
/// # Safety
/// Only the host trampoline calls this, with `ctl` found from the alternate
/// stack and `info`/`uc` as the kernel passed them to the signal handler.
pub unsafe extern "C" fn dispatch(ctl: *mut ThreadCtl, signo: i32, info: *mut c_void, uc: *mut c_void, from_guest: u64) -> u64 {
    // SAFETY: the trampoline derived `ctl` from the aligned alternate stack,
    // where `setup_thread` placed a live control block.
    let ctl = unsafe { &mut *ctl };
    if ctl.magic != CTL_MAGIC {
        host::process::fatal("signal arrived on a stack without a MacTux control block");
    }
    if from_guest != 0 {
        // A signal that came in the middle of a fast return: the guest it
        // interrupted is the one being restored.
        // SAFETY: `uc` is this signal's ucontext, `ctl` the thread's block.
        unsafe { host::trap::fixup_fast_return(ctl, uc) };
    }
    // SAFETY: `info` and `uc` are the kernel's siginfo and ucontext for this signal.
    let (kind, mut regs) = unsafe { host::trap::decode(signo, info, uc) };
    let from_guest = from_guest != 0;
    if kind == TrapKind::Kick {
        // Atomics only, as for a host signal below.
        ctl.thread().kick_taken();
    }
    if let TrapKind::Async { sig, info } = kind {
        // Atomics only: a nested entry may have interrupted anything.
        crate::signal::record_host(sig, &info);
        if !from_guest {
            note_if_unmasked(ctl);
            return 0;
        }
    }
    if kind == TrapKind::Kick && !from_guest {
        // It interrupted a host call in the blocking window, which now
        // fails with EINTR; the return to the guest looks at the signals.
        note_if_unmasked(ctl);
        return 0;
    }
    if !from_guest {
        // A guest buffer unmapped under a copy (another thread's munmap):
        // the copy routine resumes at its fixup and fails with EFAULT.
        if matches!(kind, TrapKind::Fault { .. }) && host::uaccess::fixup_fault(&mut regs) {
            // SAFETY: writing back into the same ucontext the kernel gave us.
            unsafe { host::trap::store_regs(uc, &regs) };
            return 0;
        }
        // A fault or trap inside the runtime itself.
        let addr = if let TrapKind::Fault { addr, .. } = kind { addr } else { 0 };
        host::process::fatal_fault("the runtime itself faulted or trapped", regs.rip, addr);
    }
    ctl.host_uc = uc as u64;
    let mut syscall = None;
    match kind {
        TrapKind::Syscall => {
            let nr = regs.rax;
            let trapped = regs;
            // SAFETY: `info` and `uc` are this signal's (see above).
            let is_direct = unsafe { host::trap::entered_directly(info) };
            if !is_direct {
                // Only the direct entry enters unmasked.
                host::trap::close_unmasked(ctl);
                // SAFETY: as above.
                unsafe { host::trap::learn_frame_layout(uc) };
                crate::task::current().syscall_traps.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
            }
            let markers = crate::syscall::table::markers(nr);
            // (open opens its window itself, once it knows what it opens:
            // `in_blocking_window`.)
            // Host calls that may sleep run with the asynchronous signals
            // unblocked so that a signal interrupts them with EINTR; a read
            // or write of a regular file never sleeps so (Linux's is
            // uninterruptible) and skips the two host calls.
            let window = markers.blocks && !crate::syscall::on_file_that_never_sleeps(nr, regs.rdi);
            // A call that entered unmasked (host::trap: one marked `blocks`
            // or `unmasked`) has its window open already, from the entry to
            // the return; a `blocks` one that turns out never to sleep (a
            // regular file's read) runs masked, as the trap would run it.
            let unmasked = is_direct && ctl.unmasked.load(Relaxed) != 0;
            let may_stay = window || markers.unmasked;
            if unmasked && !may_stay {
                host::trap::close_unmasked(ctl);
            }
            let unmasked = unmasked && may_stay;
            if window && !unmasked {
                host::trap::set_async_signals_blocked(false);
            }
            host::trap::set_unmasked_call(unmasked);
            crate::syscall::handle(ctl, &mut regs);
            host::trap::set_unmasked_call(false);
            if window && !unmasked {
                host::trap::set_async_signals_blocked(true);
            }
            syscall = Some(crate::signal::SyscallReturn { nr, restart: markers.restart });
            if !is_direct {
                rewrite::after_trap(trapped.rip, &trapped);
            }
        }
        TrapKind::Fault { addr, is_bus, code } => {
            if is_bus || !patch::try_patch_fs(ctl, &regs) {
                let sig = if is_bus { crate::abi::signal::Signal::SIGBUS } else { crate::abi::signal::Signal::SIGSEGV };
                crate::signal::deliver_fault(ctl.thread(), sig, code, addr);
            }
        }
        TrapKind::Other { sig, .. } if sig == crate::abi::signal::Signal::SIGTRAP && rewrite::resume_at_int3(&mut regs) => {}
        TrapKind::Other { sig, code } => crate::signal::deliver_fault(ctl.thread(), sig, code, regs.rip),
        TrapKind::Async { .. } | TrapKind::Kick => {
            // From guest code (the kick of an unmasked return included):
            // the look below sees whatever was recorded.
            host::trap::close_unmasked(ctl);
        }
    }
    // A fast return sets rcx to the address it returns to, as a `syscall`
    // does: exact only when rcx holds it already. The FP state it restores
    // is the one the CPU or the kernel saved, which neither a delivery
    // nor an rt_sigreturn of the guest has rewritten.
    let plain = syscall.is_some_and(|s| s.nr != u64::from(linux_raw_sys::general::__NR_rt_sigreturn));
    // SAFETY: `uc` is this signal's ucontext.
    let fast = plain && regs.rcx == regs.rip && unsafe { host::trap::fast_return_offered(uc) };
    if !fast {
        // The sigreturn restores the frame's mask; until then, as in a
        // masked call, a signal waits in the host.
        host::trap::close_unmasked(ctl);
    }
    // The return to guest code: act on what became deliverable (a cheap
    // check of atomic words on the common path).
    let delivers = crate::signal::needs_delivery(ctl.thread(), syscall.is_some(), regs.rax);
    if delivers {
        host::trap::close_unmasked(ctl);
        crate::signal::deliver(ctl, &mut regs, syscall);
    }
    ctl.host_uc = 0;
    // SAFETY: writing back into the same ucontext the kernel gave us.
    unsafe { host::trap::store_regs(uc, &regs) };
    if !fast || delivers {
        0
    } else if ctl.unmasked.load(Relaxed) != 0 {
        // Still unmasked: the return changes no mask (`unmasked_return`).
        2
    } else {
        1
    }
}

/// A host signal recorded while the runtime ran a call that entered
/// unmasked: the return to guest code must act on it, if the look for
/// deliverable signals came before it (atomics only, as for the record).
fn note_if_unmasked(ctl: &ThreadCtl) {
    if ctl.unmasked.load(Relaxed) != 0 {
        ctl.unmasked_missed.store(1, Relaxed);
    }
}

/// The FP/SSE state of the interrupted guest, as the host saved it in the
/// signal frame of the trap being handled: an fxsave image, followed on
/// Linux hosts by the xsave extension (see `host::trap::fp_state`). Writing
/// it changes what the guest resumes with.
pub fn guest_fp_state(ctl: &mut ThreadCtl) -> Option<&mut [u8]> {
    if ctl.host_uc == 0 {
        return None;
    }
    // SAFETY: `host_uc` is the live ucontext of the trap this thread is
    // handling (set and cleared by `dispatch`), borrowed through `ctl`.
    unsafe { host::trap::fp_state(ctl.host_uc as *mut c_void) }
}

/// The registers a program starts with: `entry`, stack pointer `sp`,
/// everything else zero (the psABI leaves them unspecified; rdx = 0 means
/// no function for atexit), interrupts on.
pub fn start_regs(entry: u64, sp: u64) -> GuestRegs {
    GuestRegs { rip: entry, rsp: sp, rflags: RFLAGS_START, ..GuestRegs::default() }
}

/// IF and the always-one bit 1.
const RFLAGS_START: u64 = 0x202;

/// Runs guest code from `regs` on the calling host thread, which owns
/// `ctl`; returns when that guest thread ends ([`leave_guest`]).
pub fn run_guest(ctl: &mut ThreadCtl, regs: &GuestRegs) {
    // SAFETY: the registers come from the loader (a mapped image and its
    // initial stack) or from clone (the parent's, with the stack the guest
    // chose: a bad one faults in guest code, as on Linux).
    unsafe { host::thread::run_guest(ctl, regs) }
}

/// Ends the calling guest thread: leaves the trap handler for the host
/// thread's [`run_guest`], which returns. Whatever the frames above hold
/// is abandoned, so the caller drops its own values and locks first.
pub fn leave_guest(ctl: &mut ThreadCtl) -> ! {
    // SAFETY: called from the trap handler of the thread owning `ctl`,
    // which entered guest code through `run_guest`.
    unsafe { host::thread::leave_guest(ctl) }
}

/// Runs `f`, which ends the calling guest thread ([`leave_guest`]), with
/// the thread's control block, for a caller below any `Ctx` (a CLONE_VM
/// child ended by a signal's default action, `signal::terminate`): the
/// block is found from the stack pointer, as [`calling_ctl`] finds it.
pub fn with_calling_ctl(f: impl FnOnce(&mut ThreadCtl)) -> ! {
    let Some(ctl) = calling_ctl_ptr() else {
        host::process::fatal("a guest thread ends outside its trap handler")
    };
    // SAFETY: the block is the calling thread's own (calling_ctl checked it
    // against the process's threads), and this thread never returns to the
    // frames above that borrow it: `f` leaves them through leave_guest.
    f(unsafe { &mut *ctl });
    host::process::fatal("a guest thread's end returned")
}

/// After [`run_guest`] returned on a thread clone made: turns the trap off
/// for this host thread, gives back its guest thread and frees the control
/// block and alternate stack.
pub fn end_thread(ctl: &'static mut ThreadCtl) {
    host::trap::block_all_signals();
    // SAFETY: the guest thread has ended; nothing uses `thread()` after this.
    unsafe { ctl.release_thread() };
    let region = ctl as *mut ThreadCtl as u64;
    host::thread::end_thread(region, ALT_REGION_SIZE);
}

/// Runs `f`, a host call that may sleep until a signal ends it, with the
/// asynchronous signals unblocked, as the dispatcher does around a whole
/// call marked `blocks`: for a handler that knows only partway through
/// whether it will sleep (open of a FIFO or a device, not of a file).
pub fn in_blocking_window<T>(f: impl FnOnce() -> T) -> T {
    host::trap::set_async_signals_blocked(false);
    let r = f();
    host::trap::set_async_signals_blocked(true);
    r
}
