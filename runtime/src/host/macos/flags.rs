//! Linux flag words ↔ macOS flag words.
//!
//! Almost nothing coincides: open flags (`O_CREAT` is 0x200 on macOS),
//! `SEEK_HOLE`/`SEEK_DATA` (swapped), `struct flock` field order, and the
//! whole of `struct termios`. Every word crosses through a row table; rows the
//! host cannot express say `// lossy: why`. macOS values come from
//! <https://github.com/apple-oss-distributions/xnu/blob/main/bsd/sys/fcntl.h>
//! and `bsd/sys/termios.h`, pinned below against the libc crate.

use crate::abi::Errno;
use crate::host::posix::flags::LinuxTermios;
use crate::host::HostResult;
use linux_raw_sys::general as g;

// The macOS values this file relies on most, pinned.
const _: () = assert!(libc::O_CREAT == 0x200 && libc::O_TRUNC == 0x400 && libc::O_EXCL == 0x800);
const _: () = assert!(libc::O_NONBLOCK == 0x4 && libc::O_APPEND == 0x8 && libc::O_CLOEXEC == 0x0100_0000);
const _: () = assert!(libc::O_DIRECTORY == 0x0010_0000 && libc::O_NOFOLLOW == 0x100);
const _: () = assert!(libc::SEEK_HOLE == 3 && libc::SEEK_DATA == 4);
const _: () = assert!(libc::F_GETLK == 7 && libc::F_SETLK == 8 && libc::F_SETLKW == 9);
const _: () = assert!(libc::F_RDLCK == 1 && libc::F_UNLCK == 2 && libc::F_WRLCK == 3);
const _: () = assert!(libc::NCCS == 20);

/// macOS has no poll bit for a peer that shut down its writing side:
/// `fs::poll` asks for readability and looks (MSG_PEEK) for the end.
pub(crate) const POLLRDHUP: Option<i16> = None;

/// (Linux bit, host bit). A host bit of 0 means the host needs no flag for it
/// or cannot express it.
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
    // lossy: macOS has no O_DIRECT (fcntl F_NOCACHE is the nearest); the page cache is used.
    (g::O_DIRECT, 0),
    // The host is 64-bit: large files need no flag.
    (g::O_LARGEFILE, 0),
    (g::O_DIRECTORY, libc::O_DIRECTORY),
    (g::O_NOFOLLOW, libc::O_NOFOLLOW),
    // lossy: macOS has no O_NOATIME; reads may update atime.
    (g::O_NOATIME, 0),
    (g::O_CLOEXEC, libc::O_CLOEXEC),
    // Linux O_SYNC includes the O_DSYNC bit; __O_SYNC is the remaining bit.
    (g::O_SYNC & !g::O_DSYNC, libc::O_SYNC),
    // lossy: macOS has no O_PATH; the file is opened for reading instead, which
    // fails where Linux would succeed on an unreadable file.
    (g::O_PATH, 0),
];

/// Linux `open` flags to host flags. Unknown bits are ignored, as Linux does.
pub fn open_to_host(linux: u32) -> HostResult<i32> {
    // lossy: macOS has no O_TMPFILE; Linux reports EOPNOTSUPP on filesystems
    // without it, and callers (glibc's tmpfile, systemd) fall back to a named file.
    let tmpfile = g::O_TMPFILE & !g::O_DIRECTORY;
    if linux & tmpfile != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(OPEN_FLAGS.iter().filter(|(l, _)| linux & l != 0).fold(0, |acc, (_, h)| acc | h))
}

pub fn lock_cmd_to_host(cmd: u32) -> HostResult<i32> {
    Ok(match cmd {
        g::F_GETLK => libc::F_GETLK,
        g::F_SETLK => libc::F_SETLK,
        g::F_SETLKW => libc::F_SETLKW,
        // lossy: macOS has no open-file-description locks; Linux before 3.15
        // answered EINVAL too, which is what callers (e.g. SQLite, QEMU) probe for.
        g::F_OFD_GETLK | g::F_OFD_SETLK | g::F_OFD_SETLKW => return Err(Errno::EINVAL),
        _ => return Err(Errno::EINVAL),
    })
}

type Tcflag = libc::tcflag_t;

/// (Linux bit, macOS bit) for `c_iflag`.
// lossy: IUCLC (map upper case to lower) has no macOS bit and is dropped.
const IFLAG: &[(u32, Tcflag)] = &[
    (g::IGNBRK, libc::IGNBRK),
    (g::BRKINT, libc::BRKINT),
    (g::IGNPAR, libc::IGNPAR),
    (g::PARMRK, libc::PARMRK),
    (g::INPCK, libc::INPCK),
    (g::ISTRIP, libc::ISTRIP),
    (g::INLCR, libc::INLCR),
    (g::IGNCR, libc::IGNCR),
    (g::ICRNL, libc::ICRNL),
    (g::IXON, libc::IXON),
    (g::IXANY, libc::IXANY),
    (g::IXOFF, libc::IXOFF),
    (g::IMAXBEL, libc::IMAXBEL),
    (g::IUTF8, libc::IUTF8),
];

/// (Linux bit, macOS bit) for `c_oflag`.
// lossy: OLCUC and the output delay fields (NLDLY, CRDLY, TABDLY, BSDLY,
// VTDLY, FFDLY) are dropped; modern terminals ignore delays.
const OFLAG: &[(u32, Tcflag)] = &[
    (g::OPOST, libc::OPOST),
    (g::ONLCR, libc::ONLCR),
    (g::OCRNL, libc::OCRNL),
    (g::ONOCR, libc::ONOCR),
    (g::ONLRET, libc::ONLRET),
    (g::OFILL, libc::OFILL),
    (g::OFDEL, libc::OFDEL),
];

/// (Linux bit, macOS bit) for `c_cflag`; CSIZE and the speed are translated apart.
// lossy: CMSPAR and the Linux input-speed field CIBAUD are dropped.
const CFLAG: &[(u32, Tcflag)] = &[
    (g::CSTOPB, libc::CSTOPB),
    (g::CREAD, libc::CREAD),
    (g::PARENB, libc::PARENB),
    (g::PARODD, libc::PARODD),
    (g::HUPCL, libc::HUPCL),
    (g::CLOCAL, libc::CLOCAL),
    (g::CRTSCTS, libc::CRTSCTS),
];

/// (Linux CSIZE value, macOS CSIZE value).
const CSIZE: &[(u32, Tcflag)] = &[(g::CS5, libc::CS5), (g::CS6, libc::CS6), (g::CS7, libc::CS7), (g::CS8, libc::CS8)];

/// (Linux bit, macOS bit) for `c_lflag`.
// lossy: XCASE has no macOS bit and is dropped.
const LFLAG: &[(u32, Tcflag)] = &[
    (g::ISIG, libc::ISIG),
    (g::ICANON, libc::ICANON),
    (g::ECHO, libc::ECHO),
    (g::ECHOE, libc::ECHOE),
    (g::ECHOK, libc::ECHOK),
    (g::ECHONL, libc::ECHONL),
    (g::NOFLSH, libc::NOFLSH),
    (g::TOSTOP, libc::TOSTOP),
    (g::ECHOCTL, libc::ECHOCTL),
    (g::ECHOPRT, libc::ECHOPRT),
    (g::ECHOKE, libc::ECHOKE),
    (g::FLUSHO, libc::FLUSHO),
    (g::PENDIN, libc::PENDIN),
    (g::IEXTEN, libc::IEXTEN),
    (g::EXTPROC, libc::EXTPROC),
];

/// (Linux `c_cc` index, macOS `c_cc` index).
// lossy: VSWTC (Linux index 7, unused by the Linux tty layer) has no macOS slot;
// macOS's VDSUSP and VSTATUS have no Linux slot and keep their host values.
const CC: &[(u32, usize)] = &[
    (g::VINTR, libc::VINTR),
    (g::VQUIT, libc::VQUIT),
    (g::VERASE, libc::VERASE),
    (g::VKILL, libc::VKILL),
    (g::VEOF, libc::VEOF),
    (g::VTIME, libc::VTIME),
    (g::VMIN, libc::VMIN),
    (g::VSTART, libc::VSTART),
    (g::VSTOP, libc::VSTOP),
    (g::VSUSP, libc::VSUSP),
    (g::VEOL, libc::VEOL),
    (g::VREPRINT, libc::VREPRINT),
    (g::VDISCARD, libc::VDISCARD),
    (g::VWERASE, libc::VWERASE),
    (g::VLNEXT, libc::VLNEXT),
    (g::VEOL2, libc::VEOL2),
];

/// "Disabled" control character: 0 on Linux, 0xff (`_POSIX_VDISABLE`) on macOS.
const LINUX_VDISABLE: u8 = 0;
const HOST_VDISABLE: u8 = 0xff;

/// Linux encodes the line speed as a `Bnnn` code in `c_cflag`; macOS keeps the
/// number of bits per second in `c_ispeed`/`c_ospeed`.
const SPEEDS: &[(u32, libc::speed_t)] = &[
    (g::B0, 0),
    (g::B50, 50),
    (g::B75, 75),
    (g::B110, 110),
    (g::B134, 134),
    (g::B150, 150),
    (g::B200, 200),
    (g::B300, 300),
    (g::B600, 600),
    (g::B1200, 1200),
    (g::B1800, 1800),
    (g::B2400, 2400),
    (g::B4800, 4800),
    (g::B9600, 9600),
    (g::B19200, 19200),
    (g::B38400, 38400),
    (g::B57600, 57600),
    (g::B115200, 115200),
    (g::B230400, 230400),
    (g::B460800, 460800),
    (g::B500000, 500000),
    (g::B576000, 576000),
    (g::B921600, 921600),
    (g::B1000000, 1000000),
    (g::B1152000, 1152000),
    (g::B1500000, 1500000),
    (g::B2000000, 2000000),
    (g::B2500000, 2500000),
    (g::B3000000, 3000000),
    (g::B3500000, 3500000),
    (g::B4000000, 4000000),
];

fn bits_from_host(host: Tcflag, rows: &[(u32, Tcflag)]) -> u32 {
    rows.iter().filter(|(_, h)| host & h == *h).fold(0, |a, (l, _)| a | l)
}

fn bits_to_host(linux: u32, rows: &[(u32, Tcflag)]) -> Tcflag {
    rows.iter().filter(|(l, _)| linux & l == *l).fold(0, |a, (_, h)| a | h)
}

pub fn termios_from_host(t: &libc::termios) -> LinuxTermios {
    let size = CSIZE.iter().find(|(_, h)| t.c_cflag & libc::CSIZE == *h).map_or(g::CS8, |(l, _)| *l);
    // lossy: a speed with no Linux `Bnnn` code reads as B38400, the Linux
    // convention for "custom speed" (setserial spd_cust).
    let speed = SPEEDS.iter().find(|(_, h)| *h == t.c_ospeed).map_or(g::B38400, |(l, _)| *l);
    let mut cc = [LINUX_VDISABLE; 19];
    for &(l, h) in CC {
        let v = t.c_cc[h];
        let is_char = l != g::VMIN && l != g::VTIME;
        cc[l as usize] = if is_char && v == HOST_VDISABLE { LINUX_VDISABLE } else { v };
    }
    LinuxTermios {
        iflag: bits_from_host(t.c_iflag, IFLAG),
        oflag: bits_from_host(t.c_oflag, OFLAG),
        cflag: bits_from_host(t.c_cflag, CFLAG) | size | speed,
        lflag: bits_from_host(t.c_lflag, LFLAG),
        // lossy: line discipline; macOS has only the termios one (N_TTY = 0).
        line: 0,
        cc,
    }
}

/// Overwrites the translatable parts of `t`; host-only bits keep their values.
pub fn termios_to_host(l: &LinuxTermios, t: &mut libc::termios) {
    let all = |rows: &[(u32, Tcflag)]| rows.iter().fold(0, |a, (_, h)| a | h);
    t.c_iflag = (t.c_iflag & !all(IFLAG)) | bits_to_host(l.iflag, IFLAG);
    t.c_oflag = (t.c_oflag & !all(OFLAG)) | bits_to_host(l.oflag, OFLAG);
    let size = CSIZE.iter().find(|(lv, _)| l.cflag & g::CSIZE == *lv).map_or(libc::CS8, |(_, h)| *h);
    t.c_cflag = (t.c_cflag & !(all(CFLAG) | libc::CSIZE)) | bits_to_host(l.cflag, CFLAG) | size;
    t.c_lflag = (t.c_lflag & !all(LFLAG)) | bits_to_host(l.lflag, LFLAG);
    if let Some((_, speed)) = SPEEDS.iter().find(|(code, _)| l.cflag & g::CBAUD == *code) {
        t.c_ispeed = *speed;
        t.c_ospeed = *speed;
    }
    for &(li, h) in CC {
        let v = l.cc[li as usize];
        let is_char = li != g::VMIN && li != g::VTIME;
        t.c_cc[h] = if is_char && v == LINUX_VDISABLE { HOST_VDISABLE } else { v };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_round_trip() {
        for (l, h) in OPEN_FLAGS {
            if *h != 0 && *l != g::O_CLOEXEC {
                assert_eq!(open_from_host(open_to_host(*l).unwrap()) & l, *l, "flag {l:#x}");
            }
        }
        assert_eq!(open_to_host(g::O_CREAT).unwrap(), 0x200);
        assert_eq!(open_to_host(g::O_TMPFILE | g::O_RDWR), Err(Errno::EOPNOTSUPP));
    }

    #[test]
    fn seek_hole_and_data_swap() {
        assert_eq!(whence_to_host(g::SEEK_DATA).unwrap(), 4);
        assert_eq!(whence_to_host(g::SEEK_HOLE).unwrap(), 3);
    }

    #[test]
    fn termios_round_trips_common_bits() {
        // SAFETY: a zeroed termios is a valid value.
        let mut host: libc::termios = unsafe { core::mem::zeroed() };
        let mut lt = LinuxTermios {
            iflag: g::ICRNL | g::IXON,
            oflag: g::OPOST | g::ONLCR,
            cflag: g::CS8 | g::CREAD | g::B9600,
            lflag: g::ISIG | g::ICANON | g::ECHO,
            ..Default::default()
        };
        lt.cc[g::VINTR as usize] = 3;
        lt.cc[g::VMIN as usize] = 1;
        termios_to_host(&lt, &mut host);
        assert_eq!(host.c_ospeed, 9600);
        let back = termios_from_host(&host);
        assert_eq!((back.iflag, back.oflag, back.cflag, back.lflag), (lt.iflag, lt.oflag, lt.cflag, lt.lflag));
        assert_eq!(back.cc, lt.cc);
    }
}
