//! Thread pointers on a macOS host.
//!
//! The host's TLS is **gs** (the thread's TSD), and it is also where the guest's
//! `ARCH_SET_FS` value must live, since user code cannot set fs on macOS:
//! guest `%fs:` accesses fault and are patched to `%gs:` (`trap/patch.rs`).
//! So gs is switched on every crossing: the trap entry installs the host TSD
//! base, and the way back to guest code installs `ctl.guest_tls`, both with
//! `_thread_set_tsd_base` (see `trap.rs`).

use crate::trap::ThreadCtl;

/// `THREAD_IDENTIFIER_INFO` (mach/thread_info.h) and its size in integers.
const THREAD_IDENTIFIER_INFO: libc::c_int = 4;
const THREAD_IDENTIFIER_INFO_COUNT: u32 =
    (core::mem::size_of::<libc::thread_identifier_info>() / core::mem::size_of::<libc::integer_t>()) as u32;

/// The calling thread's host gs base (its TSD base). xnu reports the value
/// last given to `_thread_set_tsd_base` as `thread_handle`
/// (osfmk/kern/thread.c, `THREAD_IDENTIFIER_INFO`).
pub fn host_tls_base() -> u64 {
    // SAFETY: a zeroed info struct is a valid out-parameter.
    let mut info: libc::thread_identifier_info = unsafe { core::mem::zeroed() };
    let mut count = THREAD_IDENTIFIER_INFO_COUNT;
    // SAFETY: pthread_mach_thread_np returns the thread's port without adding a
    // reference; `info` holds `count` integers.
    let kr = unsafe {
        let port = libc::pthread_mach_thread_np(libc::pthread_self());
        libc::thread_info(port, THREAD_IDENTIFIER_INFO as _, (&mut info as *mut libc::thread_identifier_info).cast(), &mut count)
    };
    if kr != 0 {
        crate::host::process::fatal("thread_info(THREAD_IDENTIFIER_INFO) failed");
    }
    info.thread_handle
}

/// Records the guest thread pointer; the trap trampoline installs it as the
/// gs base whenever it returns to guest code.
pub fn set_guest_tls(ctl: &mut ThreadCtl, base: u64) {
    ctl.guest_tls = base;
}
