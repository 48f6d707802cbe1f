//! The one Linux process this host process hosts, and its per-process state.
//!
//! [`Process`] (process.rs) is the one home of process state: handler files
//! keep none of their own. Reach it through [`current`].
//!
//! # Lock order
//!
//! Every lock the runtime has, and how they nest today (outer first; an
//! arrow means "is held while taking"). Found by reading each place that
//! takes two at once; a lock not under an arrow is never held while another
//! is taken. A `MutexGuard` in a struct literal or a function's tail
//! expression lives to the end of it: `task_info` (lib.rs) holds all of its
//! locks at once.
//!
//! ```text
//! OpenFile.pos (the directory being listed)
//! └─ OpenFile SynthDir entries (same file)
//!    └─ whatever regenerating its /proc listing takes, below
//! (a synthetic file's content is made again with none of its own locks
//! held: /proc/self/fdinfo/N reads fd N's `pos` and status, and fd N may be
//! that very file)
//! futex QUEUE (syscall/futex.rs; WAKEUP is its condvar)
//! └─ mm                            (reads the futex word: uaccess)
//! comm → argv → exe → fs → envp → fds → mm → sig   (task_info, lib.rs)
//! fds
//! └─ OpenFile.status               (build_handover: file.status())
//! mm
//! ├─ guest_as                      (mmap, brk, mremap: RLIMIT_AS check)
//! ├─ children, reaped (one by one) (/proc/self/stat: terminal_of)
//! ├─ ppid_cache                    (/proc/self/stat: own_ids)
//! └─ daemon LINK                   (/proc/self/stat: getppid/getpgid/getsid)
//! sig
//! ├─ signal QUEUE                  (signal::lock_state, always both)
//! ├─ ppid_cache                    (/proc/self/status: parent_pid)
//! └─ daemon LINK                   (/proc/self/status: parent_pid)
//! children → reaped                (wait: `reaped`)
//! ```
//!
//! - `mm` is also taken, briefly and innermost, by every guest memory access
//!   (uaccess.rs), so no lock above it may be held while touching guest
//!   memory except those listed as outer to it.
//! - Leaves, only ever taken alone: `trace` (the `--trace` sink),
//!   `clear_child_tid`, `vfork_return`, `OpenFile.dir_pending`, and daemon
//!   LINK itself (held for a whole round trip; it takes no other lock).
//! - `fs` and `fds` are never both held by path resolution (vfs/mod.rs);
//!   only `task_info` holds both, in the order above. `comm`, `argv`,
//!   `exe` and `envp` are otherwise taken alone.
//! - One-time initialisation, never held across anything: `PROCESS` below,
//!   daemon.rs `SEVERAL_CPUS`, host/posix.rs `INSTALL` and `ASYNC`.
//! - Not locks, but shared state a signal handler touches: signal/mod.rs
//!   INBOX, QUEUED, BLOCKED, SLOTS and CLASS are atomics, written by the
//!   host signal handler, which takes no lock.
//!
//! Departures from the rule that no lock is held across a daemon round trip
//! or a host call that sleeps, as the code stands: /proc/self/stat holds
//! `mm`, /proc/self/status holds `sig`, and a re-listing of a synthetic
//! directory holds its `pos` and entries, each while asking the daemon. (brk,
//! mprotect and a fixed mmap also hold `mm` across the host calls that
//! change the mapping, which do not sleep.) With one thread per process
//! none of these can deadlock; threads must change them first.

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
