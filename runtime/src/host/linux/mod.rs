//! The Linux host: Syscall User Dispatch for the trap, `wrfsbase` for TLS.

pub mod errno;
pub mod flags;
pub mod fs;
pub mod mem;
pub mod net;
pub mod process;
pub mod signal;
pub mod thread;
pub mod time;
pub mod tls;
pub mod trap;
pub mod uaccess;
pub mod sigio;
pub mod watch;
