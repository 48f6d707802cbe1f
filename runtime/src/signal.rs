//! Signals that end the guest: faults in guest code and signals the guest
//! sends itself.
//!
//! Until guest handlers are run (the signal-delivery issue), a signal ends
//! the process exactly as Linux's default action would: the host process is
//! killed by the same signal, so a shell reports "Segmentation fault" and
//! status 139 for SIGSEGV. A disposition of SIG_IGN for a fault signal is
//! ignored, as Linux does for synchronous faults (force_sig_fault).

use crate::abi::signal::Signal;
use crate::trap::{GuestRegs, ThreadCtl};

/// A fault in guest code at `addr`.
pub fn deliver_fault(_ctl: &mut ThreadCtl, _regs: &mut GuestRegs, sig: Signal, _addr: u64) {
    terminate(sig)
}

/// Whether a signal with this disposition is simply discarded.
pub fn is_discarded(sig: Signal, handler: u64) -> bool {
    use crate::abi::signal::{SIG_DFL, SIG_IGN};
    let ignored_by_default = [Signal::SIGCHLD, Signal::SIGURG, Signal::SIGWINCH, Signal::SIGCONT];
    (handler == SIG_IGN && !sig.is_unblockable()) || (handler == SIG_DFL && ignored_by_default.contains(&sig))
}

/// Sends `sig` to this process: discarded, held pending while blocked, or acted on.
pub fn send_self(sig: Signal) {
    let mut st = crate::task::lock(&crate::task::current().sig);
    let handler = st.actions[usize::from(sig.0 - 1)].handler;
    if is_discarded(sig, handler) {
        return;
    }
    if st.mask & sig.mask_bit() != 0 && !sig.is_unblockable() {
        st.pending |= sig.mask_bit();
        return;
    }
    drop(st);
    terminate(sig)
}

/// Acts on pending signals the mask no longer blocks (after a mask or
/// disposition change).
pub fn deliver_unblocked() {
    let mut st = crate::task::lock(&crate::task::current().sig);
    let ready = st.pending & !st.mask;
    for n in 1..=crate::abi::signal::NSIG {
        let sig = Signal(n);
        if ready & sig.mask_bit() == 0 {
            continue;
        }
        st.pending &= !sig.mask_bit();
        if !is_discarded(sig, st.actions[usize::from(n - 1)].handler) {
            drop(st);
            terminate(sig);
        }
    }
}

/// Ends the process by `sig`'s default action.
pub fn terminate(sig: Signal) -> ! {
    crate::host::process::die_by_signal(sig)
}
