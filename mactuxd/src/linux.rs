//! The Linux ABI values the daemon answers with: errno numbers and the wait
//! status of a task killed by SIGKILL. Every number comes from linux-raw-sys;
//! the protocol always carries Linux values, never the host's (macOS EAGAIN
//! is 35, Linux's is 11).

use linux_raw_sys::errno as e;
use linux_raw_sys::general as g;

pub const EPERM: i32 = e::EPERM as i32;
pub const ESRCH: i32 = e::ESRCH as i32;
pub const ECHILD: i32 = e::ECHILD as i32;
pub const EAGAIN: i32 = e::EAGAIN as i32;
pub const EINVAL: i32 = e::EINVAL as i32;
pub const ETIMEDOUT: i32 = e::ETIMEDOUT as i32;
pub const EACCES: i32 = e::EACCES as i32;
pub const EEXIST: i32 = e::EEXIST as i32;
pub const EBUSY: i32 = e::EBUSY as i32;
pub const E2BIG: i32 = e::E2BIG as i32;
pub const EPROTO: i32 = e::EPROTO as i32;
pub const EIO: i32 = e::EIO as i32;

/// The wait status of a task killed by SIGKILL: the signal number in the low
/// 7 bits, no core flag (`WIFSIGNALED`, `WTERMSIG == 9`; see wait(2)).
pub const STATUS_KILLED_BY_SIGKILL: i32 = g::SIGKILL as i32;

/// `PID_MAX_LIMIT` on 64-bit Linux (include/linux/threads.h): pids are below it.
pub const PID_MAX_LIMIT: i32 = 4 * 1024 * 1024;
pub const ENOENT: i32 = e::ENOENT as i32;
pub const ENOMEM: i32 = e::ENOMEM as i32;
pub const ENOSPC: i32 = e::ENOSPC as i32;
pub const EIDRM: i32 = e::EIDRM as i32;
pub const ENOMSG: i32 = e::ENOMSG as i32;
pub const EFBIG: i32 = e::EFBIG as i32;
pub const ERANGE: i32 = e::ERANGE as i32;
pub const ENOSYS: i32 = e::ENOSYS as i32;
