//! Linux flag words ↔ host flag words on a Linux host.
//!
//! Most values coincide, but not all (`O_LARGEFILE` is 0 in glibc's x86_64
//! headers), so every word crosses through a row table.

use crate::abi::Errno;
use crate::host::posix::flags::LinuxTermios;
use crate::host::HostResult;
use linux_raw_sys::general as g;

/// The host's poll bit for a peer that shut down its writing side.
pub(crate) const POLLRDHUP: Option<i16> = Some(libc::POLLRDHUP);

/// (Linux bit, host bit). A host bit of 0 means the host needs no flag for it.
pub(crate) const OPEN_FLAGS: &[(u32, i32)] = &[
    (g::O_WRONLY, libc::O_WRONLY),
    (g::O_RDWR, libc::O_RDWR),
    (g::O_CREAT, libc::O_CREAT),
    (g::O_EXCL, libc::O_EXCL),
    (g::O_NOCTTY, libc::O_NOCTTY),
    (g::O_TRUNC, libc::O_TRUNC),
    (g::O_APPEND, libc::O_APPEND),
    (g::O_NONBLOCK, libc::O_NONBLOCK),
    (g::O_DSYNC, libc::O_DSYNC),
    (g::FASYNC, libc::O_ASYNC),
    (g::O_DIRECT, libc::O_DIRECT),
    // The host is 64-bit: large files need no flag (glibc defines it as 0).
    (g::O_LARGEFILE, 0),
    (g::O_DIRECTORY, libc::O_DIRECTORY),
    (g::O_NOFOLLOW, libc::O_NOFOLLOW),
    (g::O_NOATIME, libc::O_NOATIME),
    (g::O_CLOEXEC, libc::O_CLOEXEC),
    // O_SYNC includes the O_DSYNC bit; __O_SYNC is the remaining bit.
    (g::O_SYNC & !g::O_DSYNC, libc::O_SYNC & !libc::O_DSYNC),
    (g::O_PATH, libc::O_PATH),
    (g::O_TMPFILE & !g::O_DIRECTORY, libc::O_TMPFILE & !libc::O_DIRECTORY),
];

/// Linux `open` flags to host flags. Unknown bits are ignored, as Linux does.
pub fn open_to_host(linux: u32) -> HostResult<i32> {
    Ok(OPEN_FLAGS.iter().filter(|(l, _)| linux & l != 0).fold(0, |acc, (_, h)| acc | h))
}

pub fn lock_cmd_to_host(cmd: u32) -> HostResult<i32> {
    Ok(match cmd {
        g::F_GETLK => libc::F_GETLK,
        g::F_SETLK => libc::F_SETLK,
        g::F_SETLKW => libc::F_SETLKW,
        g::F_OFD_GETLK => libc::F_OFD_GETLK,
        g::F_OFD_SETLK => libc::F_OFD_SETLK,
        g::F_OFD_SETLKW => libc::F_OFD_SETLKW,
        _ => return Err(Errno::EINVAL),
    })
}

/// On a Linux host the flag bits and the first 19 control characters coincide
/// with glibc's `struct termios`; only the layout differs.
pub fn termios_from_host(t: &libc::termios) -> LinuxTermios {
    let mut cc = [0u8; 19];
    cc.copy_from_slice(&t.c_cc[..19]);
    LinuxTermios { iflag: t.c_iflag, oflag: t.c_oflag, cflag: t.c_cflag, lflag: t.c_lflag, line: t.c_line, cc }
}

pub fn termios_to_host(l: &LinuxTermios, t: &mut libc::termios) {
    t.c_iflag = l.iflag;
    t.c_oflag = l.oflag;
    t.c_cflag = l.cflag;
    t.c_lflag = l.lflag;
    t.c_line = l.line;
    t.c_cc[..19].copy_from_slice(&l.cc);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_round_trip() {
        for (l, h) in OPEN_FLAGS {
            if *h != 0 && *l != g::O_CLOEXEC {
                assert_eq!(crate::host::flags::open_from_host(open_to_host(*l).unwrap()) & l, *l, "flag {l:#x}");
            }
        }
        assert_eq!(open_to_host(g::O_LARGEFILE | g::O_RDONLY).unwrap(), 0);
    }

    #[test]
    fn access_rejects_unknown_bits() {
        assert_eq!(crate::host::flags::access_to_host(8), Err(Errno::EINVAL));
        assert_eq!(crate::host::flags::access_to_host(g::R_OK | g::X_OK).unwrap(), libc::R_OK | libc::X_OK);
    }
}
