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

/// Ends the process by `sig`'s default action.
pub fn terminate(sig: Signal) -> ! {
    crate::host::process::die_by_signal(sig)
}
