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
use core::sync::atomic::{AtomicU64, Ordering};

pub use crate::host::posix::sigctl::*;


core::arch::global_asm!(
    ".pushsection .text.mactux_trap,\"ax\",@progbits",
    // The direct entry of a rewritten syscall site (trap/rewrite.rs): it
    // makes the host signal frame the kernel would have made for the
    // site's SIGSYS, then enters `mactux_sig_entry` as that signal would.
    // From the site's stub: eax = the call's number, rcx = the address
    // after the site's `syscall`; every other register is the guest's, and
    // so are the signal mask, the TLS bases and the stack.
    //
    // Its two host calls lie in the range Syscall User Dispatch lets
    // through (`arm_dispatch`), which runs up to the sigreturn below.
    ".globl mactux_direct_entry",
    ".type mactux_direct_entry,@function",
    ".p2align 4",
    "mactux_direct_entry:",
    // Below the guest's red zone, as the kernel's signal frames are; the
    // flags first, before anything changes them (r11 = rflags, as
    // `syscall` leaves it).
    "    lea rsp, [rsp - 128]",
    "    pushfq",
    // The control block, from the fs base guest code runs with (tls.rs:
    // GUEST_FS_TAG | ctl). A thread without one (never the case for a
    // guest thread) makes the site's own `syscall`, which traps.
    "    rdfsbase r11",
    "    shr r11, 47",
    "    cmp r11, 0x1ffff",
    "    jne 4f",
    "    rdfsbase r11",
    "    shl r11, 17",
    "    shr r11, 17",
    "    cmp dword ptr [r11], {magic_low}",
    "    jne 4f",
    "    xchg r11, [rsp]",
    // `DirectScratch`, from its end down: what the host call below clobbers.
    "    push rax",
    "    push rcx",
    "    push r11",
    "    push rdi",
    "    push rsi",
    "    push rdx",
    "    push r10",
    "    sub rsp, 8",
    // The unmasked entry: a call that may run with the asynchronous
    // signals open (`UNMASKED_NRS`), on a thread whose guest code leaves
    // them all open (`unmasked_ok`), changes no mask: its frame's mask is
    // the one guest code runs with (`guest_hmask`), and from here on the
    // runtime runs (a signal is recorded, `trap::dispatch`), with the
    // host's TLS.
    "    mov r10, [rsp + {scratch_ctl}]",
    "    cmp byte ptr [r10 + {unmasked_ok}], 0",
    "    je 6f",
    "    cmp rax, {unmasked_nrs}",
    "    jae 6f",
    "    mov rdi, rax",
    "    shr rdi, 6",
    "    lea rsi, [rip + {unmasked_bitmap}]",
    "    mov rsi, [rsi + rdi*8]",
    "    bt rsi, rax",
    "    jnc 6f",
    "    mov rsi, [r10 + {guest_hmask}]",
    "    mov [rsp], rsi",
    "    mov qword ptr [r10 + {in_guest}], 0",
    "    mov rsi, [r10 + {host_tls}]",
    "    wrfsbase rsi",
    "    mov byte ptr [r10 + {unmasked}], 1",
    "    jmp 7f",
    "6:",
    // Block what the trap entry's handlers block (`trap_entry_action`), as
    // the kernel does before it runs a handler; the old mask goes into the
    // frame, for the final sigreturn to restore.
    "    mov eax, {nr_rt_sigprocmask}",
    "    xor edi, edi",
    "    lea rsi, [rip + {block_mask}]",
    "    mov rdx, rsp",
    "    mov r10d, 8",
    "    syscall",
    "    mov r10, [rsp + {scratch_ctl}]",
    "7:",
    "    mov rdi, rsp",
    // The FP state first, before any Rust code runs: an xsave image at
    // the top of the alternate stack, 64-byte aligned, header zeroed.
    "    lea rsp, [r10 + {region_size}]",
    "    sub rsp, [rip + {fp_reserve}]",
    "    and rsp, -64",
    "    mov rsi, rsp",
    "    xor eax, eax",
    "    mov [rsi + 512], rax",
    "    mov [rsi + 520], rax",
    "    mov [rsi + 528], rax",
    "    mov [rsi + 536], rax",
    "    mov [rsi + 544], rax",
    "    mov [rsi + 552], rax",
    "    mov [rsi + 560], rax",
    "    mov [rsi + 568], rax",
    "    mov rax, [rip + {fp_mask}]",
    "    mov rdx, rax",
    "    shr rdx, 32",
    "    xsave64 [rsi]",
    // Room for the frame, then the guest registers still live.
    "    sub rsp, {frame_size}",
    "    mov rdx, rsp",
    "    sub rsp, 8",
    "    push r15",
    "    push r14",
    "    push r13",
    "    push r12",
    "    push r9",
    "    push r8",
    "    push rbp",
    "    push rbx",
    "    mov r8, rsp",
    "    mov rcx, rdi",
    "    mov rdi, r10",
    "    mov rbx, rdx",
    "    mov r12, r10",
    // The builder is Rust: host TLS while it runs (signals are blocked).
    "    mov qword ptr [r12 + {in_guest}], 0",
    "    mov rax, [r12 + {host_tls}]",
    "    wrfsbase rax",
    "    xchg rsi, rdx",
    "    call {build}",
    // As the kernel enters a handler: rsp at the frame's return address.
    "    mov rsp, rbx",
    "    mov edi, {sigsys}",
    "    lea rsi, [rbx + {info_off}]",
    "    lea rdx, [rbx + 8]",
    // Unmasked, the runtime goes on running (a signal now must not find
    // guest state with rsp on this stack).
    "    cmp byte ptr [r12 + {unmasked}], 0",
    "    jne mactux_sig_entry_unmasked",
    "    mov rax, {fs_tag}",
    "    or rax, r12",
    "    wrfsbase rax",
    "    mov qword ptr [r12 + {in_guest}], 1",
    "    jmp mactux_sig_entry",
    "4:",
    "    popfq",
    "    lea rsp, [rsp + 128]",
    "    lea rcx, [rcx - 2]",
    "    jmp rcx",
    ".size mactux_direct_entry, . - mactux_direct_entry",
    "",
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
    // The host's TLS, from guest code and also in the runtime: the
    // unmasked direct entry leaves guest code (in_guest, then the fs base)
    // with signals open, and the fs base is no part of a signal frame.
    "    mov qword ptr [rax + {in_guest}], 0",
    "    mov r9, [rax + {host_tls}]",
    "    wrfsbase r9",
    "    jmp 2f",
    // The unmasked direct entry's way in: as from guest code, whose state
    // the entry has switched already.
    "mactux_sig_entry_unmasked:",
    "    mov rax, rsp",
    "    and rax, {align_mask}",
    "    mov byte ptr [rax + {sel}], 0",
    "    mov r8d, 1",
    "    push r8",
    "2:",
    "    mov rcx, rdx",
    "    mov rdx, rsi",
    "    mov esi, edi",
    "    mov rdi, rax",
    "    call {dispatch}",
    "    mov r10, rax",
    "    pop r8",
    "    mov rax, rsp",
    "    and rax, {align_mask}",
    "    test r8, r8",
    "    jz 3f",
    "    test r10, r10",
    "    jz 5f",
    // The fast return (dispatch said so): the guest's FP state from the
    // frame while the runtime still counts as running, then the frame's
    // address for a signal that comes before the guest runs again.
    "    mov r9, rax",
    "    lea r11, [rsp + 8]",
    "    mov [r9 + {fast_uc}], r11",
    "    mov r11, [rsp + 8 + {uc_fpregs}]",
    "    mov rax, [rip + {fp_mask}]",
    "    mov rdx, rax",
    "    shr rdx, 32",
    "    xrstor64 [r11]",
    "    mov rax, r9",
    "    cmp r10, 2",
    "    jne 5f",
    // The unmasked return (dispatch said 2): the mask is the guest's
    // already. A signal the runtime recorded (`unmasked_missed`) after
    // dispatch looked for one is acted on by a kick to this thread, which
    // arrives here, from guest code, once `in_guest` is set.
    ".globl mactux_unmasked_return",
    "mactux_unmasked_return:",
    "    mov qword ptr [rax + {in_guest}], 1",
    "    mov rcx, {fs_tag}",
    "    or rcx, rax",
    "    wrfsbase rcx",
    "    mov byte ptr [rax + {sel}], {block}",
    "    mov byte ptr [rax + {unmasked}], 0",
    "    cmp byte ptr [rax + {unmasked_missed}], 0",
    "    je mactux_fast_pops",
    "    mov byte ptr [rax + {unmasked_missed}], 0",
    "    mov eax, {nr_gettid}",
    "    syscall",
    "    mov r12d, eax",
    "    mov eax, {nr_getpid}",
    "    syscall",
    "    mov edi, eax",
    "    mov esi, r12d",
    "    mov edx, {kick}",
    "    mov eax, {nr_tgkill}",
    "    syscall",
    "    jmp mactux_fast_pops",
    "5:",
    "    mov qword ptr [rax + {in_guest}], 1",
    "    mov rcx, {fs_tag}",
    "    or rcx, rax",
    "    wrfsbase rcx",
    "    mov byte ptr [rax + {sel}], {block}",
    // The mask guest code will run with, and whether it leaves every
    // asynchronous signal open.
    "    mov r11, [rsp + 8 + {uc_sigmask}]",
    "    mov [rax + {guest_hmask}], r11",
    "    test [rip + {async_mask}], r11",
    "    sete byte ptr [rax + {unmasked_ok}]",
    "    test r10, r10",
    "    jz 3f",
    // From here on a signal finds the guest being restored
    // (`fixup_fast_return`): the mask as the frame has it, then every
    // register from the frame, rcx (which a syscall clobbers) last as the
    // address to return to, r11 as the frame has it (rflags, after a
    // syscall), and the flags from the alternate stack. The red zone under
    // rsp keeps the kernel from writing over what a late signal reads.
    ".globl mactux_fast_return",
    "mactux_fast_return:",
    "    mov eax, {nr_rt_sigprocmask}",
    "    mov edi, 2",
    "    lea rsi, [rsp + 8 + {uc_sigmask}]",
    "    xor edx, edx",
    "    mov r10d, 8",
    "    syscall",
    "mactux_fast_pops:",
    "    lea rsp, [rsp + 8 + {uc_gregs}]",
    "    pop r8",
    "    pop r9",
    "    pop r10",
    "    pop r11",
    "    pop r12",
    "    pop r13",
    "    pop r14",
    "    pop r15",
    "    pop rdi",
    "    pop rsi",
    "    pop rbp",
    "    pop rbx",
    "    pop rdx",
    "    pop rax",
    "    pop rcx",
    "    add rsp, 16",
    ".globl mactux_fast_popf",
    "mactux_fast_popf:",
    "    popfq",
    ".globl mactux_fast_stack",
    "mactux_fast_stack:",
    "    mov rsp, [rsp - 24]",
    ".globl mactux_fast_jmp",
    "mactux_fast_jmp:",
    "    jmp rcx",
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
    nr_rt_sigprocmask = const linux_raw_sys::general::__NR_rt_sigprocmask,
    magic_low = const crate::trap::CTL_MAGIC as u32,
    fs_tag = const super::tls::GUEST_FS_TAG,
    scratch_ctl = const core::mem::offset_of!(DirectScratch, ctl),
    block_mask = sym DIRECT_BLOCK_MASK,
    region_size = const ALT_REGION_SIZE,
    fp_reserve = sym FP_RESERVE,
    fp_mask = sym FP_XFEATURES,
    frame_size = const DIRECT_FRAME_SIZE,
    build = sym build_direct_frame,
    sigsys = const libc::SIGSYS,
    info_off = const DIRECT_INFO_OFF,
    fast_uc = const crate::trap::OFF_FAST_UC,
    uc_fpregs = const UC_FPREGS,
    uc_sigmask = const UC_SIGMASK,
    uc_gregs = const UC_GREGS,
    unmasked = const crate::trap::OFF_UNMASKED,
    unmasked_missed = const crate::trap::OFF_UNMASKED_MISSED,
    unmasked_ok = const crate::trap::OFF_UNMASKED_OK,
    guest_hmask = const crate::trap::OFF_GUEST_HMASK,
    async_mask = sym ASYNC_MASK,
    unmasked_nrs = const UNMASKED_NRS,
    unmasked_bitmap = sym UNMASKED_BITMAP,
    nr_gettid = const linux_raw_sys::general::__NR_gettid,
    nr_getpid = const linux_raw_sys::general::__NR_getpid,
    nr_tgkill = const linux_raw_sys::general::__NR_tgkill,
    kick = const super::thread::KICK_SIGNAL,
);

/// Where a ucontext keeps the general registers, the FP state pointer and
/// the mask (the fast return reads them by offset).
const UC_GREGS: usize = core::mem::offset_of!(libc::ucontext_t, uc_mcontext);
const UC_FPREGS: usize = UC_GREGS + core::mem::offset_of!(libc::mcontext_t, fpregs);
const UC_SIGMASK: usize = core::mem::offset_of!(libc::ucontext_t, uc_sigmask);
/// The fast return pops the registers in the order of `gregs`, rcx last,
/// then skips rsp and rip to pop the flags.
const _: () = assert!(
    libc::REG_R8 == 0
        && libc::REG_R15 == 7
        && libc::REG_RDI == 8
        && libc::REG_RCX == 14
        && libc::REG_RSP == 15
        && libc::REG_RIP == 16
        && libc::REG_EFL == 17
        && core::mem::offset_of!(libc::mcontext_t, gregs) == 0
);

extern "C" {
    static mactux_direct_entry: u8;
    static mactux_sigreturn_insn: u8;
    static mactux_unmasked_return: u8;
    static mactux_fast_popf: u8;
    static mactux_fast_stack: u8;
    static mactux_fast_jmp: u8;
}

/// Whether the trampoline may restore the guest from this frame itself,
/// without `rt_sigreturn`: when its FP state is an xsave image of the
/// layout learnt from the kernel (what the fast return's `xrstor` takes).
///
/// The fast return does what `rt_sigreturn` does for a frame the handler
/// left as it found it but for the registers: FP state (`xrstor` with the
/// kernel's feature mask), the mask (`rt_sigprocmask`), every register and
/// the flags; the alternate stack it leaves, as the frame has it unchanged.
/// It saves the kernel's copy of the frame back in and the checks of a
/// frame that a guest may have written, which is why dispatch offers it
/// only after a plain syscall that delivered nothing.
///
/// # Safety
/// `uc` must be the ucontext of the signal being handled.
pub unsafe fn fast_return_offered(uc: *mut c_void) -> bool {
    if FP_RESERVE.load(Ordering::Acquire) == 0 {
        return false;
    }
    // SAFETY: per the contract.
    let fp = unsafe { (*(uc as *const libc::ucontext_t)).uc_mcontext.fpregs } as u64;
    if fp == 0 || fp % 64 != 0 {
        return false;
    }
    // SAFETY: as above; an xsave frame carries the kernel's magic.
    unsafe { fp_state(uc) }.is_some_and(|b| b.get(FP_SW_OFF..FP_SW_OFF + 4) == Some(&FP_XSTATE_MAGIC1.to_ne_bytes()[..]))
}

/// A signal that arrived while the trampoline was restoring the guest
/// without `rt_sigreturn` interrupted that guest, not the trampoline: its
/// frame is made to say so. Until the flags are popped, the frame being
/// restored (`ThreadCtl::fast_uc`) still holds every register (the red zone
/// kept the kernel off it) and the mask; after that, the registers hold the
/// guest's but for the stack pointer, which is read where the trampoline
/// would have, and rip, which is rcx.
///
/// # Safety
/// `uc` must be the ucontext of the signal being handled on the thread
/// owning `ctl`.
pub unsafe fn fixup_fast_return(ctl: &ThreadCtl, uc: *mut c_void) {
    // SAFETY: per the contract.
    let u = unsafe { &mut *(uc as *mut libc::ucontext_t) };
    let rip = greg(u, libc::REG_RIP);
    let at = |sym: &u8| sym as *const u8 as u64;
    // SAFETY: taking the addresses of code labels.
    // The unmasked return comes first: from its first instruction on, as
    // from the fast return's, the guest is being restored.
    let (start, popf, stack, jmp) =
        unsafe { (at(&mactux_unmasked_return), at(&mactux_fast_popf), at(&mactux_fast_stack), at(&mactux_fast_jmp)) };
    // Only the trampoline stands there (fast_uc is set before it runs).
    if !(start..=jmp).contains(&rip) || ctl.fast_uc == 0 {
        return;
    }
    let rsp = greg(u, libc::REG_RSP);
    let word = |a: u64| {
        // SAFETY: within the frame on this thread's alternate stack that
        // the trampoline is reading, which the red zone kept intact.
        unsafe { core::ptr::read(a as *const i64) }
    };
    let g = &mut u.uc_mcontext.gregs;
    if rip < popf {
        // SAFETY: the trampoline stored the live frame's ucontext here
        // before it became restorable.
        let old = unsafe { &*(ctl.fast_uc as *const libc::ucontext_t) };
        g[..=libc::REG_EFL as usize].copy_from_slice(&old.uc_mcontext.gregs[..=libc::REG_EFL as usize]);
        // Only the kernel's 8-byte sigset: glibc's sigset_t is 128 bytes,
        // and the kernel's frame has the siginfo right after its mask.
        // SAFETY: both masks start with the kernel's sigset.
        unsafe {
            let mask = core::ptr::read(core::ptr::addr_of!(old.uc_sigmask) as *const u64);
            core::ptr::write(core::ptr::addr_of_mut!(u.uc_sigmask) as *mut u64, mask);
        }
        return;
    }
    if rip == popf {
        g[libc::REG_EFL as usize] = word(rsp);
        g[libc::REG_RSP as usize] = word(rsp - 16);
    } else if rip == stack {
        g[libc::REG_RSP as usize] = word(rsp - 24);
    }
    g[libc::REG_RIP as usize] = g[libc::REG_RCX as usize];
}

/// Bytes of the frame `mactux_direct_entry` builds below the FP state:
/// the return-address slot, a `ucontext_t` and a `siginfo_t`. The kernel
/// enters a handler with rsp = 8 mod 16 and so does the direct entry: the
/// FP state above is 64-byte aligned and this size is 8 mod 16.
const DIRECT_UC_ROOM: usize = 1024;
const DIRECT_INFO_OFF: usize = 8 + DIRECT_UC_ROOM;
const SIGINFO_SIZE: usize = 128;
const DIRECT_FRAME_SIZE: usize = DIRECT_INFO_OFF + SIGINFO_SIZE;
const _: () = assert!(DIRECT_FRAME_SIZE % 16 == 8 && core::mem::size_of::<libc::ucontext_t>() <= DIRECT_UC_ROOM);

/// The host signals `mactux_direct_entry` blocks: the trap entry's
/// `sa_mask` as a kernel sigset (everything but the synchronous fault
/// signals, and but 32 and 33, which glibc never lets a thread block).
static DIRECT_BLOCK_MASK: u64 =
    !(sig_bit(libc::SIGSEGV) | sig_bit(libc::SIGBUS) | sig_bit(libc::SIGILL) | sig_bit(libc::SIGFPE) | sig_bit(libc::SIGTRAP) | sig_bit(32) | sig_bit(33));

/// The asynchronous host signals (those a blocking window opens) as a
/// kernel sigset: a thread whose guest code blocks none of them may enter
/// unmasked. All bits until it is known (`fill_unmasked_bitmap`), so that
/// no thread enters unmasked before.
static ASYNC_MASK: AtomicU64 = AtomicU64::new(u64::MAX);

/// The syscall numbers the unmasked entry may take, one bit each
/// (`UNMASKED_BITMAP`): those whose handler may run with the asynchronous
/// signals open (marked `blocks` or `unmasked`, see `trap::dispatch`). Filled
/// with the frame layout, before any site is rewritten.
const UNMASKED_NRS: usize = 512;
static UNMASKED_BITMAP: [AtomicU64; UNMASKED_NRS / 64] = [const { AtomicU64::new(0) }; UNMASKED_NRS / 64];

fn fill_unmasked_bitmap() {
    ASYNC_MASK.store(async_host_signal_bits(), Ordering::Relaxed);
    for nr in 0..UNMASKED_NRS {
        let m = crate::syscall::table::markers(nr as u64);
        if m.blocks || m.unmasked {
            UNMASKED_BITMAP[nr / 64].fetch_or(1 << (nr % 64), Ordering::Relaxed);
        }
    }
}

/// Ends the unmasked part of a call that entered unmasked: blocks what
/// the masked entry would have blocked, so that from here on it runs as
/// a masked one (its frame holds the mask guest code runs with, which the
/// return restores). A signal recorded before this is seen by the look for
/// deliverable signals that follows.
pub fn close_unmasked(ctl: &ThreadCtl) {
    if ctl.unmasked.load(Ordering::Relaxed) == 0 {
        return;
    }
    // SAFETY: the raw rt_sigprocmask on the calling thread, with a valid
    // 8-byte kernel sigset; no old mask asked for.
    unsafe {
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_BLOCK, &DIRECT_BLOCK_MASK as *const u64, core::ptr::null_mut::<u64>(), 8usize)
    };
    ctl.unmasked.store(0, Ordering::Relaxed);
    ctl.unmasked_missed.store(0, Ordering::Relaxed);
}

const fn sig_bit(sig: i32) -> u64 {
    1 << (sig - 1)
}

/// The xsave layout of this host's signal frames, learnt from the first
/// real trap (`learn_frame_layout`): the components saved (the xsave
/// mask) and the bytes the direct entry reserves for them. 0 until then,
/// when the direct entry is not offered.
static FP_XFEATURES: AtomicU64 = AtomicU64::new(0);
static FP_RESERVE: AtomicU64 = AtomicU64::new(0);
/// The kernel's `struct _fpx_sw_bytes` (48 bytes at 464 of the fxsave
/// image), copied into every direct frame, and its `xstate_size`, where
/// FP_XSTATE_MAGIC2 goes.
static FP_SW_BYTES: std::sync::OnceLock<([u8; FP_SW_LEN], usize)> = std::sync::OnceLock::new();
const FP_SW_OFF: usize = 464;
const FP_SW_LEN: usize = 48;
const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
/// `si_errno` of the SIGSYS frames the direct entry builds (the kernel's
/// Syscall User Dispatch frames carry 0).
const DIRECT_MARK: i32 = 0x6d74;
/// `uc_flags` of a 64-bit kernel frame: UC_FP_XSTATE | UC_SIGCONTEXT_SS |
/// UC_STRICT_RESTORE_SS (arch/x86/include/uapi/asm/ucontext.h).
const DIRECT_UC_FLAGS: u64 = 0x7;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// Learns from the kernel's own frame of a real trap how it saves FP
/// state, which the direct entry then copies; only an xsave frame (every
/// x86-64 host kernel of the last decade) is copied.
///
/// # Safety
/// `uc` must be the kernel's ucontext of the signal being handled.
pub unsafe fn learn_frame_layout(uc: *mut c_void) {
    if FP_SW_BYTES.get().is_some() {
        return;
    }
    // SAFETY: per the contract.
    let Some(fp) = (unsafe { fp_state(uc) }) else { return };
    let word = |o: usize| fp.get(o..o + 4).and_then(|b| b.try_into().ok()).map(u32::from_ne_bytes).unwrap_or(0);
    let xstate_size = word(FP_SW_OFF + 16) as usize;
    let xfeatures = fp.get(FP_SW_OFF + 8..FP_SW_OFF + 16).and_then(|b| b.try_into().ok()).map(u64::from_ne_bytes).unwrap_or(0);
    if word(FP_SW_OFF) != FP_XSTATE_MAGIC1 || xstate_size < FXSAVE_SIZE + 64 || xstate_size + 4 > fp.len() {
        return;
    }
    let mut sw = [0u8; FP_SW_LEN];
    sw.copy_from_slice(&fp[FP_SW_OFF..FP_SW_OFF + FP_SW_LEN]);
    if FP_SW_BYTES.set((sw, xstate_size)).is_ok() {
        fill_unmasked_bitmap();
        FP_XFEATURES.store(xfeatures, Ordering::Relaxed);
        // The image, its trailing magic, and 64 bytes for the alignment.
        FP_RESERVE.store((xstate_size + 4 + 64) as u64, Ordering::Release);
    }
}

/// Where a rewritten syscall site's stub jumps (`mactux_direct_entry`),
/// once the host's frame layout is known; None before.
pub fn direct_entry() -> Option<u64> {
    (FP_RESERVE.load(Ordering::Acquire) != 0).then_some(core::ptr::addr_of!(mactux_direct_entry) as u64)
}

/// Whether this SIGSYS came from the direct entry rather than the kernel.
///
/// # Safety
/// `info` must be the siginfo of the signal being handled.
pub unsafe fn entered_directly(info: *mut c_void) -> bool {
    // SAFETY: per the contract.
    unsafe { (*(info as *const libc::siginfo_t)).si_errno == DIRECT_MARK }
}

/// What `mactux_direct_entry` saved on the guest stack before it found
/// the alternate stack, lowest address first.
#[repr(C)]
struct DirectScratch {
    old_mask: u64,
    r10: u64,
    rdx: u64,
    rsi: u64,
    rdi: u64,
    r11: u64,
    rcx: u64,
    rax: u64,
    /// The control block, found from the fs base.
    ctl: u64,
}

/// The guest registers the direct entry pushed on the alternate stack.
#[repr(C)]
struct DirectLive {
    rbx: u64,
    rbp: u64,
    r8: u64,
    r9: u64,
    r12: u64,
    r13: u64,
    r14: u64,
    r15: u64,
}

/// Fills the frame the kernel would have pushed for the site's SIGSYS:
/// ucontext (registers, FP state pointer, the old mask, the alternate
/// stack) and siginfo, so that `mactux_sig_entry`, dispatch and the
/// final `rt_sigreturn` cannot tell the two apart.
///
/// # Safety
/// Only `mactux_direct_entry` calls this, with pointers into the frame it
/// reserved, the FP image it saved and the registers it pushed.
unsafe extern "C" fn build_direct_frame(_ctl: *mut ThreadCtl, frame: *mut u8, fp: *mut u8, s: *const DirectScratch, live: *const DirectLive) {
    // SAFETY: per the contract, all of these are valid and unaliased.
    let (s, live) = unsafe { (&*s, &*live) };
    // SAFETY: the frame is DIRECT_FRAME_SIZE bytes of our alternate stack.
    unsafe { core::ptr::write_bytes(frame, 0, DIRECT_FRAME_SIZE) };
    // The guest's stack pointer: above the red zone, above what the
    // entry pushed on the guest stack (DirectScratch).
    let guest_rsp = s as *const DirectScratch as u64 + core::mem::size_of::<DirectScratch>() as u64 + 128;
    let (cs, ss): (u16, u16);
    // SAFETY: reads two segment selectors.
    unsafe { core::arch::asm!("mov {0:x}, cs", "mov {1:x}, ss", out(reg) cs, out(reg) ss, options(nomem, nostack, preserves_flags)) };
    // SAFETY: the frame holds a ucontext at 8 (DIRECT_UC_ROOM bytes, zeroed above).
    let uc = unsafe { &mut *(frame.add(8) as *mut libc::ucontext_t) };
    uc.uc_flags = DIRECT_UC_FLAGS;
    // The thread's alternate stack, as `install_trap_entry` set it: the
    // final rt_sigreturn sets it again from here.
    let page = crate::abi::PAGE_SIZE;
    uc.uc_stack.ss_sp = (s.ctl + 2 * page) as *mut c_void;
    uc.uc_stack.ss_size = (ALT_REGION_SIZE - 2 * page) as usize;
    let g = &mut uc.uc_mcontext.gregs;
    for (idx, v) in [
        (libc::REG_RAX, s.rax),
        (libc::REG_RBX, live.rbx),
        (libc::REG_RCX, s.rcx),
        (libc::REG_RDX, s.rdx),
        (libc::REG_RSI, s.rsi),
        (libc::REG_RDI, s.rdi),
        (libc::REG_RBP, live.rbp),
        (libc::REG_RSP, guest_rsp),
        (libc::REG_R8, live.r8),
        (libc::REG_R9, live.r9),
        (libc::REG_R10, s.r10),
        (libc::REG_R11, s.r11),
        (libc::REG_R12, live.r12),
        (libc::REG_R13, live.r13),
        (libc::REG_R14, live.r14),
        (libc::REG_R15, live.r15),
        (libc::REG_RIP, s.rcx),
        (libc::REG_EFL, s.r11),
        // cs at bits 0-15, ss at 48-63 (gs and fs, 16-47, are unused).
        (libc::REG_CSGSFS, u64::from(cs) | u64::from(ss) << 48),
    ] {
        g[idx as usize] = v as i64;
    }
    uc.uc_mcontext.fpregs = fp as *mut libc::_libc_fpstate;
    // SAFETY: sigset_t's first 8 bytes are the kernel's sigset.
    unsafe { core::ptr::write(core::ptr::addr_of_mut!(uc.uc_sigmask) as *mut u64, s.old_mask) };
    if let Some((sw, xstate_size)) = FP_SW_BYTES.get() {
        // SAFETY: the FP area holds xstate_size + 4 bytes (FP_RESERVE);
        // xsave leaves the software bytes of the legacy image alone.
        unsafe {
            core::ptr::copy_nonoverlapping(sw.as_ptr(), fp.add(FP_SW_OFF), FP_SW_LEN);
            core::ptr::write_unaligned(fp.add(*xstate_size) as *mut u32, FP_XSTATE_MAGIC2);
        }
    }
    // siginfo: the fields of a Syscall User Dispatch SIGSYS
    // (kernel/entry/syscall_user_dispatch.c, force_sig_seccomp), marked.
    // SAFETY: the frame holds SIGINFO_SIZE bytes at DIRECT_INFO_OFF.
    let info = unsafe { core::slice::from_raw_parts_mut(frame.add(DIRECT_INFO_OFF), SIGINFO_SIZE) };
    info[0..4].copy_from_slice(&libc::SIGSYS.to_ne_bytes());
    info[4..8].copy_from_slice(&DIRECT_MARK.to_ne_bytes());
    info[8..12].copy_from_slice(&SYS_USER_DISPATCH.to_ne_bytes());
    info[16..24].copy_from_slice(&s.rcx.to_ne_bytes());
    info[24..28].copy_from_slice(&(s.rax as u32).to_ne_bytes());
    info[28..32].copy_from_slice(&AUDIT_ARCH_X86_64.to_ne_bytes());
}

/// The SUD-allowed range runs from `mactux_direct_entry` (whose two host
/// calls it lets through) to the byte after `mactux_sigreturn_insn`'s
/// 2-byte `syscall`, which is the address the kernel tests.
fn allowed_range() -> (u64, u64) {
    let start = core::ptr::addr_of!(mactux_direct_entry) as u64;
    let end = core::ptr::addr_of!(mactux_sigreturn_insn) as u64 + 3;
    (start, end - start)
}

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
    let (allowed, allowed_len) = allowed_range();
    // SAFETY: the selector byte lives in the control block for the thread's life.
    let r = unsafe {
        libc::prctl(
            PR_SET_SYSCALL_USER_DISPATCH,
            PR_SYS_DISPATCH_ON,
            allowed,
            allowed_len,
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

