//! `--trace`: each emulated call, strace-style, arguments decoded by kind.
//!
//! `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3`
//! `openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory)`

use super::table::{Arg, Ret, Row};
use crate::abi::gen as g;
use crate::error::Result;
use crate::host::{self, HostFd};
use std::fmt::Write;
use std::sync::Mutex;

pub struct Sink {
    pub host_fd: HostFd,
}

pub fn write_line(t: &Mutex<Sink>, line: &[u8]) {
    let s = crate::task::lock(t);
    let mut rest = line;
    while !rest.is_empty() {
        match host::fs::write(s.host_fd, rest) {
            // A signal the call runs open to (a blocking window) is no
            // reason to lose the rest of the line.
            Err(crate::abi::Errno::EINTR) => {}
            Ok(0) | Err(_) => break,
            Ok(n) => rest = &rest[n..],
        }
    }
}

fn flag_names(v: u64, table: &[(u64, &str)], zero: Option<&str>) -> String {
    let mut parts = Vec::new();
    let mut rest = v;
    for (bit, name) in table {
        if *bit != 0 && rest & bit == *bit {
            parts.push((*name).to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    if parts.is_empty() {
        return zero.map_or_else(|| "0".to_string(), str::to_string);
    }
    parts.join("|")
}

macro_rules! bits {
    ($($n:ident),* $(,)?) => { &[$((g::$n as u64, stringify!($n))),*] };
}

const OPEN_BITS: &[(u64, &str)] = bits!(
    O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND, O_NONBLOCK, O_DSYNC, O_DIRECT, O_LARGEFILE,
    O_DIRECTORY, O_NOFOLLOW, O_NOATIME, O_CLOEXEC, O_PATH
);
const AT_BITS: &[(u64, &str)] = bits!(AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_NO_AUTOMOUNT, AT_EMPTY_PATH, AT_EACCESS);
const PROT_BITS: &[(u64, &str)] = bits!(PROT_READ, PROT_WRITE, PROT_EXEC);
const MAP_BITS: &[(u64, &str)] = bits!(
    MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS, MAP_GROWSDOWN, MAP_DENYWRITE, MAP_NORESERVE, MAP_POPULATE,
    MAP_STACK, MAP_FIXED_NOREPLACE
);

fn quoted(bytes: &[u8], max: usize) -> String {
    let mut s = String::from("\"");
    for &b in bytes.iter().take(max) {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\{b:o}");
            }
        }
    }
    s.push('"');
    if bytes.len() > max {
        s.push_str("...");
    }
    s
}

fn decode(kind: Arg, v: u64, next: u64) -> String {
    match kind {
        Arg::Fd | Arg::Int => (v as i32).to_string(),
        Arg::DirFd if v as i32 == g::AT_FDCWD => "AT_FDCWD".into(),
        Arg::DirFd => (v as i32).to_string(),
        Arg::Path => match crate::uaccess::read_cstr(v, 4095) {
            Ok(p) => quoted(&p, 4096),
            Err(_) => format!("{v:#x}"),
        },
        Arg::InBuf => match crate::uaccess::read_bytes(v, (next as usize).min(32)) {
            Ok(b) => {
                let mut s = quoted(&b, 32);
                if next > 32 && !s.ends_with("...") {
                    s.push_str("...");
                }
                s
            }
            Err(_) => format!("{v:#x}"),
        },
        Arg::Len => v.to_string(),
        Arg::Octal | Arg::Mode => format!("{:#o}", v as u32),
        Arg::Hex | Arg::Ptr | Arg::OutBuf if v == 0 => "NULL".into(),
        Arg::Hex | Arg::Ptr | Arg::OutBuf => format!("{v:#x}"),
        Arg::OpenFlags => {
            let acc = match v as u32 & g::O_ACCMODE {
                g::O_WRONLY => "O_WRONLY",
                g::O_RDWR => "O_RDWR",
                _ => "O_RDONLY",
            };
            let rest = flag_names(v & !u64::from(g::O_ACCMODE), OPEN_BITS, None);
            if rest == "0" { acc.to_string() } else { format!("{acc}|{rest}") }
        }
        Arg::AtFlags => flag_names(v, AT_BITS, Some("0")),
        Arg::Prot => flag_names(v, PROT_BITS, Some("PROT_NONE")),
        Arg::MapFlags => flag_names(v, MAP_BITS, Some("0")),
        Arg::Whence => match v as u32 {
            g::SEEK_SET => "SEEK_SET".into(),
            g::SEEK_CUR => "SEEK_CUR".into(),
            g::SEEK_END => "SEEK_END".into(),
            other => other.to_string(),
        },
        Arg::Signal => crate::abi::signal::Signal::from_raw(v)
            .and_then(|s| s.name())
            .map_or_else(|| v.to_string(), str::to_string),
        Arg::Clock => match v as u32 {
            g::CLOCK_REALTIME => "CLOCK_REALTIME".into(),
            g::CLOCK_MONOTONIC => "CLOCK_MONOTONIC".into(),
            g::CLOCK_PROCESS_CPUTIME_ID => "CLOCK_PROCESS_CPUTIME_ID".into(),
            g::CLOCK_THREAD_CPUTIME_ID => "CLOCK_THREAD_CPUTIME_ID".into(),
            g::CLOCK_BOOTTIME => "CLOCK_BOOTTIME".into(),
            other => other.to_string(),
        },
        Arg::Fcntl => match v as u32 {
            g::F_DUPFD => "F_DUPFD".into(),
            g::F_GETFD => "F_GETFD".into(),
            g::F_SETFD => "F_SETFD".into(),
            g::F_GETFL => "F_GETFL".into(),
            g::F_SETFL => "F_SETFL".into(),
            g::F_GETLK => "F_GETLK".into(),
            g::F_SETLK => "F_SETLK".into(),
            g::F_SETLKW => "F_SETLKW".into(),
            g::F_DUPFD_CLOEXEC => "F_DUPFD_CLOEXEC".into(),
            other => other.to_string(),
        },
        Arg::FutexOp => {
            let op = v as u32;
            let cmd = op & !(g::FUTEX_PRIVATE_FLAG | g::FUTEX_CLOCK_REALTIME);
            let name = match cmd {
                g::FUTEX_WAIT => "FUTEX_WAIT",
                g::FUTEX_WAKE => "FUTEX_WAKE",
                g::FUTEX_FD => "FUTEX_FD",
                g::FUTEX_REQUEUE => "FUTEX_REQUEUE",
                g::FUTEX_CMP_REQUEUE => "FUTEX_CMP_REQUEUE",
                g::FUTEX_WAKE_OP => "FUTEX_WAKE_OP",
                g::FUTEX_LOCK_PI => "FUTEX_LOCK_PI",
                g::FUTEX_UNLOCK_PI => "FUTEX_UNLOCK_PI",
                g::FUTEX_TRYLOCK_PI => "FUTEX_TRYLOCK_PI",
                g::FUTEX_WAIT_BITSET => "FUTEX_WAIT_BITSET",
                g::FUTEX_WAKE_BITSET => "FUTEX_WAKE_BITSET",
                g::FUTEX_WAIT_REQUEUE_PI => "FUTEX_WAIT_REQUEUE_PI",
                g::FUTEX_CMP_REQUEUE_PI => "FUTEX_CMP_REQUEUE_PI",
                g::FUTEX_LOCK_PI2 => "FUTEX_LOCK_PI2",
                _ => return format!("{op:#x}"),
            };
            let mut s = name.to_string();
            if op & g::FUTEX_PRIVATE_FLAG != 0 {
                s.push_str("_PRIVATE");
            }
            if op & g::FUTEX_CLOCK_REALTIME != 0 {
                s.push_str("|FUTEX_CLOCK_REALTIME");
            }
            s
        }
        Arg::Ioctl => {
            use linux_raw_sys::ioctl as io;
            let name = match v as u32 {
                io::TCGETS => "TCGETS",
                io::TCSETS => "TCSETS",
                io::TCSETSW => "TCSETSW",
                io::TCSETSF => "TCSETSF",
                io::TIOCGWINSZ => "TIOCGWINSZ",
                io::TIOCSWINSZ => "TIOCSWINSZ",
                io::TIOCGPGRP => "TIOCGPGRP",
                io::TIOCSPGRP => "TIOCSPGRP",
                io::TIOCSCTTY => "TIOCSCTTY",
                io::TIOCNOTTY => "TIOCNOTTY",
                io::TIOCGPTN => "TIOCGPTN",
                io::TIOCSPTLCK => "TIOCSPTLCK",
                io::TIOCGPTPEER => "TIOCGPTPEER",
                io::FIONREAD => "FIONREAD",
                io::FIONBIO => "FIONBIO",
                io::FIOCLEX => "FIOCLEX",
                io::FIONCLEX => "FIONCLEX",
                other => return format!("{other:#x}"),
            };
            name.into()
        }
    }
}

fn format_call(name: &str, kinds: &[Arg], args: &[u64; 6]) -> String {
    let mut s = format!("{name}(");
    for (i, k) in kinds.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&decode(*k, args[i], args.get(i + 1).copied().unwrap_or(0)));
    }
    s.push(')');
    s
}

/// Prints one call; `result` is `None` for calls that do not return.
pub fn record(t: &Mutex<Sink>, row: &Row, args: &[u64; 6], result: Option<&Result<u64>>) {
    let kinds: &[Arg] = if row.args.is_empty() && row.status.handler().is_none() {
        &[Arg::Hex, Arg::Hex, Arg::Hex]
    } else {
        row.args
    };
    let mut line = format_call(row.name, kinds, args);
    match result {
        None => line.push_str(" = ?"),
        Some(Ok(v)) => {
            let shown = if row.markers.ret == Ret::Addr { format!("{v:#x}") } else { (*v as i64).to_string() };
            let _ = write!(line, " = {shown}");
        }
        Some(Err(e)) => {
            let _ = write!(line, " = -1 {} ({})", e.errno.name(), e.message());
        }
    }
    line.push('\n');
    write_line(t, line.as_bytes());
}

pub fn record_unknown(t: &Mutex<Sink>, nr: u64, args: &[u64; 6]) {
    let line = format!("syscall_{nr}({:#x}, {:#x}, {:#x}) = -1 ENOSYS (no such syscall on x86_64)\n", args[0], args[1], args[2]);
    write_line(t, line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn futex_operations_are_named() {
        assert_eq!(decode(Arg::FutexOp, u64::from(g::FUTEX_LOCK_PI | g::FUTEX_PRIVATE_FLAG), 0), "FUTEX_LOCK_PI_PRIVATE");
        assert_eq!(
            decode(Arg::FutexOp, u64::from(g::FUTEX_WAIT_BITSET | g::FUTEX_PRIVATE_FLAG | g::FUTEX_CLOCK_REALTIME), 0),
            "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME"
        );
        assert_eq!(decode(Arg::FutexOp, 14, 0), "0xe");
    }
}
