//! What the file handlers (open.rs, read_write.rs, stat.rs, namei.rs ...)
//! share that is about their arguments, not about the VFS: host errors,
//! the umask a create applies, `loff_t` arguments.
//!
//! Paths are resolved by `vfs` (inside the guest root; `vfs::lookup` adds
//! the rules every syscall's path follows); handlers then act on the host
//! location of the result, so the host never resolves a guest symlink. No
//! handler holds the fd table lock across a host call: the open file is
//! cloned out first (`vfs::fd_table::file_of`).

use crate::error::Error;
use crate::task::{current, lock};

/// A host call's errno (already a Linux one: `host/` translates) as an error.
pub(super) fn host_err(e: crate::abi::Errno) -> Error {
    Error::new(e)
}

/// The calling process's umask, which every create applies to its mode.
pub(super) fn umask_now() -> u32 {
    lock(&current().fs).umask
}

/// A `loff_t` (or `long`) argument, as the signed value the kernel sees.
pub(super) fn loff(a: u64) -> i64 {
    a as i64
}
