//! Signal bookkeeping: dispositions, the mask, the alternate stack.
//!
//! Divergences from Linux: dispositions and the mask are recorded and
//! reported back exactly, but guest handlers do not run yet (the
//! signal-delivery issue); see `signal.rs` for what a signal does meanwhile.

use super::Ctx;
use crate::abi::signal::{KernelSigaction, Signal, SA_KNOWN};
use crate::error::Result;
use crate::task::{current, lock};
use crate::uaccess;
use crate::{return_errno, return_errno_with_message};
use linux_raw_sys::general as g;

/// `sizeof(sigset_t)` the kernel accepts on x86_64.
const SIGSET_SIZE: u64 = 8;

fn unblockable_bits() -> u64 {
    Signal::SIGKILL.mask_bit() | Signal::SIGSTOP.mask_bit()
}

pub fn rt_sigaction(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if a[3] != SIGSET_SIZE {
        return_errno_with_message!(EINVAL, "sigsetsize must be 8");
    }
    let Some(sig) = Signal::from_raw(a[0]) else { return_errno_with_message!(EINVAL, "no such signal") };
    let new = if a[1] != 0 { Some(uaccess::read::<KernelSigaction>(a[1])?) } else { None };
    if new.is_some() && sig.is_unblockable() {
        return_errno_with_message!(EINVAL, "SIGKILL and SIGSTOP cannot be caught or ignored");
    }
    let old = {
        let mut st = lock(&current().sig);
        let slot = &mut st.actions[usize::from(sig.0 - 1)];
        let old = *slot;
        if let Some(mut n) = new {
            n.flags &= SA_KNOWN;
            n.mask &= !unblockable_bits();
            *slot = n;
        }
        old
    };
    if new.is_some_and(|n| crate::signal::is_discarded(sig, n.handler)) {
        // Setting a disposition that discards a signal drops it if pending.
        lock(&current().sig).pending &= !sig.mask_bit();
    }
    if a[2] != 0 {
        uaccess::write(a[2], &old)?;
    }
    Ok(0)
}

pub fn rt_sigpending(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if a[1] > SIGSET_SIZE {
        return_errno_with_message!(EINVAL, "sigsetsize must be at most 8");
    }
    let st = lock(&current().sig);
    let pending = st.pending & st.mask;
    drop(st);
    let bytes = pending.to_ne_bytes();
    uaccess::write_bytes(a[0], &bytes[..a[1] as usize])?;
    Ok(0)
}

pub fn rt_sigprocmask(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if a[3] != SIGSET_SIZE {
        return_errno_with_message!(EINVAL, "sigsetsize must be 8");
    }
    let set = if a[1] != 0 { Some(uaccess::read::<u64>(a[1])?) } else { None };
    let old = {
        let mut st = lock(&current().sig);
        let old = st.mask;
        if let Some(set) = set {
            let set = set & !unblockable_bits();
            st.mask = match a[0] as u32 {
                g::SIG_BLOCK => old | set,
                g::SIG_UNBLOCK => old & !set,
                g::SIG_SETMASK => set,
                _ => return_errno_with_message!(EINVAL, "how must be SIG_BLOCK, SIG_UNBLOCK or SIG_SETMASK"),
            };
        }
        old
    };
    if a[2] != 0 {
        uaccess::write(a[2], &old)?;
    }
    crate::signal::deliver_unblocked();
    Ok(0)
}

/// The guest's `stack_t` (x86_64 layout: sp, flags + padding, size).
#[derive(Clone, Copy, Default)]
struct StackT {
    sp: u64,
    flags: i32,
    size: u64,
}

static ALT_STACK: std::sync::Mutex<Option<(u64, u64, i32)>> = std::sync::Mutex::new(None);

pub fn sigaltstack(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    const SS_DISABLE: i32 = g::SS_DISABLE as i32;
    const SS_AUTODISARM: i32 = g::SS_AUTODISARM as i32;
    // MINSIGSTKSZ on x86_64.
    const MIN_SIZE: u64 = 2048;
    let old = *lock(&ALT_STACK);
    if a[1] != 0 {
        let o = old.map_or(StackT { flags: SS_DISABLE, ..StackT::default() }, |(sp, size, fl)| StackT { sp, flags: fl, size });
        let mut raw = [0u8; 24];
        raw[..8].copy_from_slice(&o.sp.to_ne_bytes());
        raw[8..12].copy_from_slice(&o.flags.to_ne_bytes());
        raw[16..].copy_from_slice(&o.size.to_ne_bytes());
        uaccess::write_bytes(a[1], &raw)?;
    }
    if a[0] != 0 {
        let raw = uaccess::read_bytes(a[0], 24)?;
        let word = |r: std::ops::Range<usize>| raw.get(r).and_then(|b| b.try_into().ok()).map(u64::from_ne_bytes).unwrap_or(0);
        let sp = word(0..8);
        let flags = word(8..16) as u32 as i32;
        let size = word(16..24);
        let mode = flags & !SS_AUTODISARM;
        if mode != 0 && mode != SS_DISABLE && mode != g::SS_ONSTACK as i32 {
            return_errno_with_message!(EINVAL, "ss_flags must be 0, SS_ONSTACK or SS_DISABLE");
        }
        if mode == SS_DISABLE {
            *lock(&ALT_STACK) = None;
        } else {
            if size < MIN_SIZE {
                return_errno!(ENOMEM);
            }
            *lock(&ALT_STACK) = Some((sp, size, flags & SS_AUTODISARM));
        }
    }
    Ok(0)
}

// Guest signal delivery (frames, rt_sigreturn, waiting for signals) is being
// written; these answer ENOSYS until then.

pub fn rt_sigreturn(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "guest signal frames are not implemented yet"))
}

pub fn rt_sigsuspend(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn pause(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn rt_sigtimedwait(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn rt_sigqueueinfo(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn rt_tgsigqueueinfo(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn alarm(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn setitimer(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn getitimer(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}
