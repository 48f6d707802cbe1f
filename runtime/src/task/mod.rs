//! The one Linux process this host process hosts, and its per-process state.
//!
//! [`Process`] (process.rs) is the one home of process state: handler files
//! keep none of their own. Reach it through [`current`].
//!
//! Lock order (outer first): `fds` → `fs` → `sig` → `mm`. Handlers clone what
//! they need out of a lock before any call that may block.

mod process;

pub use process::*;

use std::sync::{Mutex, MutexGuard, OnceLock};

static PROCESS: OnceLock<Process> = OnceLock::new();

/// Marks the fd table or the memory map as changed since the task last told
/// the daemon ([`Process::view_changed`]). Before [`init`] (and in unit tests
/// of `Mm` and `FdTable`) there is no process, and nothing has been told yet.
pub fn note_view_changed() {
    if let Some(p) = PROCESS.get() {
        p.view_changed.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The current process. Panics only if called before [`init`], which the
/// runtime does before any guest code runs.
pub fn current() -> &'static Process {
    match PROCESS.get() {
        Some(p) => p,
        None => crate::host::process::fatal("task state used before initialisation"),
    }
}

pub fn init(p: Process) -> &'static Process {
    if PROCESS.set(p).is_err() {
        crate::host::process::fatal("task state initialised twice");
    }
    current()
}

/// Locks a mutex, ignoring poisoning (a panic is already fatal to us).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
