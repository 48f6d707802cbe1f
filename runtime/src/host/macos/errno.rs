//! macOS errno → Linux errno.
//!
//! Each row is `HOST_NAME = host value => Linux name`. The host value is
//! written out and pinned against the libc crate at compile time, so a row can
//! neither drift nor be mistyped; the test checks that every macOS errno from
//! 1 to `ELAST` has exactly one row. Values from
//! <https://github.com/apple-oss-distributions/xnu/blob/main/bsd/sys/errno.h>.

use crate::abi::Errno;

macro_rules! table {
    ($($host:ident = $value:literal => $linux:ident,)*) => {
        // The pins are checked where libc has the macOS values (the darwin
        // check); on Linux this file is compiled only for its tests.
        $(#[cfg(target_os = "macos")] const _: () = assert!(libc::$host == $value);)*

        /// Translates a host errno value to the guest's numbering.
        pub fn from_host(e: i32) -> Errno {
            match e {
                $($value => Errno::$linux,)*
                // lossy: an errno newer than this table (beyond ELAST).
                _ => Errno::EIO,
            }
        }

        #[cfg(test)]
        const ROWS: &[(i32, Errno)] = &[$(($value, Errno::$linux),)*];
    };
}

table! {
    EPERM = 1 => EPERM,
    ENOENT = 2 => ENOENT,
    ESRCH = 3 => ESRCH,
    EINTR = 4 => EINTR,
    EIO = 5 => EIO,
    ENXIO = 6 => ENXIO,
    E2BIG = 7 => E2BIG,
    ENOEXEC = 8 => ENOEXEC,
    EBADF = 9 => EBADF,
    ECHILD = 10 => ECHILD,
    EDEADLK = 11 => EDEADLK,
    ENOMEM = 12 => ENOMEM,
    EACCES = 13 => EACCES,
    EFAULT = 14 => EFAULT,
    ENOTBLK = 15 => ENOTBLK,
    EBUSY = 16 => EBUSY,
    EEXIST = 17 => EEXIST,
    EXDEV = 18 => EXDEV,
    ENODEV = 19 => ENODEV,
    ENOTDIR = 20 => ENOTDIR,
    EISDIR = 21 => EISDIR,
    EINVAL = 22 => EINVAL,
    ENFILE = 23 => ENFILE,
    EMFILE = 24 => EMFILE,
    ENOTTY = 25 => ENOTTY,
    ETXTBSY = 26 => ETXTBSY,
    EFBIG = 27 => EFBIG,
    ENOSPC = 28 => ENOSPC,
    ESPIPE = 29 => ESPIPE,
    EROFS = 30 => EROFS,
    EMLINK = 31 => EMLINK,
    EPIPE = 32 => EPIPE,
    EDOM = 33 => EDOM,
    ERANGE = 34 => ERANGE,
    EAGAIN = 35 => EAGAIN,
    EINPROGRESS = 36 => EINPROGRESS,
    EALREADY = 37 => EALREADY,
    ENOTSOCK = 38 => ENOTSOCK,
    EDESTADDRREQ = 39 => EDESTADDRREQ,
    EMSGSIZE = 40 => EMSGSIZE,
    EPROTOTYPE = 41 => EPROTOTYPE,
    ENOPROTOOPT = 42 => ENOPROTOOPT,
    EPROTONOSUPPORT = 43 => EPROTONOSUPPORT,
    ESOCKTNOSUPPORT = 44 => ESOCKTNOSUPPORT,
    // Linux's ENOTSUP is EOPNOTSUPP (both 95); macOS keeps two values.
    ENOTSUP = 45 => EOPNOTSUPP,
    EPFNOSUPPORT = 46 => EPFNOSUPPORT,
    EAFNOSUPPORT = 47 => EAFNOSUPPORT,
    EADDRINUSE = 48 => EADDRINUSE,
    EADDRNOTAVAIL = 49 => EADDRNOTAVAIL,
    ENETDOWN = 50 => ENETDOWN,
    ENETUNREACH = 51 => ENETUNREACH,
    ENETRESET = 52 => ENETRESET,
    ECONNABORTED = 53 => ECONNABORTED,
    ECONNRESET = 54 => ECONNRESET,
    ENOBUFS = 55 => ENOBUFS,
    EISCONN = 56 => EISCONN,
    ENOTCONN = 57 => ENOTCONN,
    ESHUTDOWN = 58 => ESHUTDOWN,
    ETOOMANYREFS = 59 => ETOOMANYREFS,
    ETIMEDOUT = 60 => ETIMEDOUT,
    ECONNREFUSED = 61 => ECONNREFUSED,
    ELOOP = 62 => ELOOP,
    ENAMETOOLONG = 63 => ENAMETOOLONG,
    EHOSTDOWN = 64 => EHOSTDOWN,
    EHOSTUNREACH = 65 => EHOSTUNREACH,
    ENOTEMPTY = 66 => ENOTEMPTY,
    // lossy: "too many processes"; Linux fork/clone report EAGAIN for RLIMIT_NPROC.
    EPROCLIM = 67 => EAGAIN,
    EUSERS = 68 => EUSERS,
    EDQUOT = 69 => EDQUOT,
    ESTALE = 70 => ESTALE,
    EREMOTE = 71 => EREMOTE,
    // lossy: Sun RPC errors (NFS client) have no Linux errno; a bad reply is a protocol error.
    EBADRPC = 72 => EPROTO,
    // lossy: RPC version mismatch; protocol error.
    ERPCMISMATCH = 73 => EPROTO,
    // lossy: RPC program not available; the remote end lacks the service.
    EPROGUNAVAIL = 74 => EPROTO,
    // lossy: RPC program version wrong; protocol error.
    EPROGMISMATCH = 75 => EPROTO,
    // lossy: RPC procedure unavailable; protocol error.
    EPROCUNAVAIL = 76 => EPROTO,
    ENOLCK = 77 => ENOLCK,
    ENOSYS = 78 => ENOSYS,
    // lossy: "inappropriate file type or format"; EINVAL is what Linux returns for a wrong file kind.
    EFTYPE = 79 => EINVAL,
    // lossy: NFS authentication error; permission denied.
    EAUTH = 80 => EACCES,
    // lossy: NFS needs an authenticator; permission denied.
    ENEEDAUTH = 81 => EACCES,
    // lossy: device powered off; Linux drivers report EIO.
    EPWROFF = 82 => EIO,
    // lossy: device error (e.g. printer on fire); EIO.
    EDEVERR = 83 => EIO,
    EOVERFLOW = 84 => EOVERFLOW,
    // lossy: bad executable; Linux execve says ENOEXEC.
    EBADEXEC = 85 => ENOEXEC,
    // lossy: wrong CPU type in executable; Linux execve says ENOEXEC.
    EBADARCH = 86 => ENOEXEC,
    // lossy: shared library version mismatch; ELIBBAD (corrupted shared library) is closest.
    ESHLIBVERS = 87 => ELIBBAD,
    // lossy: malformed Mach-O; Linux execve says ENOEXEC.
    EBADMACHO = 88 => ENOEXEC,
    ECANCELED = 89 => ECANCELED,
    EIDRM = 90 => EIDRM,
    ENOMSG = 91 => ENOMSG,
    EILSEQ = 92 => EILSEQ,
    // lossy: macOS's "attribute not found" from the xattr calls; Linux uses ENODATA.
    ENOATTR = 93 => ENODATA,
    EBADMSG = 94 => EBADMSG,
    EMULTIHOP = 95 => EMULTIHOP,
    ENODATA = 96 => ENODATA,
    ENOLINK = 97 => ENOLINK,
    ENOSR = 98 => ENOSR,
    ENOSTR = 99 => ENOSTR,
    EPROTO = 100 => EPROTO,
    ETIME = 101 => ETIME,
    EOPNOTSUPP = 102 => EOPNOTSUPP,
    // lossy: no policy registered (MAC framework); the operation is refused.
    ENOPOLICY = 103 => EPERM,
    ENOTRECOVERABLE = 104 => ENOTRECOVERABLE,
    EOWNERDEAD = 105 => EOWNERDEAD,
    // lossy: interface output queue full; Linux reports ENOBUFS.
    EQFULL = 106 => ENOBUFS,
    // lossy: capability mode (sandbox) denied the call; permission denied.
    ENOTCAPABLE = 107 => EPERM,
}

/// The highest errno this table covers; pinned so a newer libc grows the table.
const HOST_ELAST: i32 = 107;
#[cfg(target_os = "macos")]
const _: () = assert!(libc::ELAST == HOST_ELAST);

/// The calling thread's host errno variable.
#[cfg(target_os = "macos")]
pub fn errno_location() -> *mut i32 {
    // SAFETY: libsystem's __error always returns this thread's errno.
    unsafe { libc::__error() }
}

/// The host errno left by the last failed libc call, translated.
#[cfg(target_os = "macos")]
pub fn last() -> Errno {
    from_host(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_host_errno_has_exactly_one_row() {
        for v in 1..=HOST_ELAST {
            let n = ROWS.iter().filter(|(h, _)| *h == v).count();
            assert_eq!(n, 1, "macOS errno {v} has {n} rows");
        }
        assert_eq!(ROWS.len(), HOST_ELAST as usize);
    }

    #[test]
    fn same_named_errnos_keep_their_meaning() {
        // EAGAIN, ENOTSUP and ELOOP as macOS numbers them.
        assert_eq!(from_host(35), Errno::EAGAIN);
        assert_eq!(from_host(45), Errno::EOPNOTSUPP);
        assert_eq!(from_host(62), Errno::ELOOP);
    }
}
