//! syslog(2), the kernel log (Linux's kernel/printk/printk.c `do_syslog`).
//!
//! The guest's kernel is the runtime, which logs nothing there: the log is
//! empty, so `dmesg` prints nothing, and a blocking read waits until a
//! signal. Permissions are Linux's with `kernel.dmesg_restrict` set (Debian's
//! default): every action needs CAP_SYSLOG (EPERM otherwise).
//! Divergence: CAP_SYS_ADMIN alone passes without the kernel's warning.

use super::Ctx;
use crate::abi::gen as g;
use crate::error::Result;
use crate::task::current;
use crate::{return_errno_with_message, uaccess};

const SYSLOG_ACTION_CLOSE: i32 = 0;
const SYSLOG_ACTION_OPEN: i32 = 1;
const SYSLOG_ACTION_READ: i32 = 2;
const SYSLOG_ACTION_READ_ALL: i32 = 3;
const SYSLOG_ACTION_READ_CLEAR: i32 = 4;
const SYSLOG_ACTION_CLEAR: i32 = 5;
const SYSLOG_ACTION_CONSOLE_OFF: i32 = 6;
const SYSLOG_ACTION_CONSOLE_ON: i32 = 7;
const SYSLOG_ACTION_CONSOLE_LEVEL: i32 = 8;
const SYSLOG_ACTION_SIZE_UNREAD: i32 = 9;
const SYSLOG_ACTION_SIZE_BUFFER: i32 = 10;

/// The size the log buffer reports (CONFIG_LOG_BUF_SHIFT=17, Debian's).
const LOG_BUF_LEN: u64 = 1 << 17;

/// The table's `sleeps_if`: SYSLOG_ACTION_READ waits (for ever here).
pub fn sleeps(a: &[u64; 6]) -> bool {
    a[0] as i32 == SYSLOG_ACTION_READ
}

pub fn syslog(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (action, buf, len) = (a[0] as i32, a[1], a[2] as i32);
    // Checked first, for unknown actions too (check_syslog_permissions);
    // CAP_SYS_ADMIN still passes, as the kernel's deprecated fallback.
    let cred = current().cred();
    if !cred.capable(g::CAP_SYSLOG) && !cred.capable(g::CAP_SYS_ADMIN) {
        return_errno_with_message!(EPERM, "the kernel log needs CAP_SYSLOG (dmesg_restrict is 1)");
    }
    match action {
        SYSLOG_ACTION_READ | SYSLOG_ACTION_READ_ALL | SYSLOG_ACTION_READ_CLEAR => {
            if buf == 0 || len < 0 {
                return_errno_with_message!(EINVAL, "a read needs a buffer and a length of 0 or more");
            }
            if len == 0 {
                return Ok(0);
            }
            uaccess::check_writable(buf, len as usize)?;
            if action == SYSLOG_ACTION_READ {
                // Nothing is ever logged: the read waits for a signal.
                return super::signal::pause(cx, a);
            }
            Ok(0)
        }
        SYSLOG_ACTION_CONSOLE_LEVEL if !(1..=8).contains(&len) => {
            return_errno_with_message!(EINVAL, "the console level must be 1 to 8")
        }
        SYSLOG_ACTION_SIZE_BUFFER => Ok(LOG_BUF_LEN),
        SYSLOG_ACTION_CLOSE | SYSLOG_ACTION_OPEN | SYSLOG_ACTION_CLEAR | SYSLOG_ACTION_CONSOLE_OFF | SYSLOG_ACTION_CONSOLE_ON
        | SYSLOG_ACTION_CONSOLE_LEVEL | SYSLOG_ACTION_SIZE_UNREAD => Ok(0),
        _ => return_errno_with_message!(EINVAL, "unknown syslog action"),
    }
}
