//! The macOS host: every Linux syscall number is an invalid BSD syscall and
//! raises SIGSYS (no Syscall User Dispatch needed); `_thread_set_tsd_base`
//! switches the gs base between the host's TSD and the guest's thread pointer.
//!
//! Same file names and items as `linux/`; see `docs/macos.md` for what only a
//! real Mac can verify.

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
