//! The runtime's error type: a Linux errno, a message that says why, and where.
//!
//! Every failure a syscall handler returns carries a short lowercase message that
//! `--trace` prints after the errno, e.g. `-1 EINVAL (flags must be O_CLOEXEC or 0)`.

use crate::abi::Errno;
use core::panic::Location;

#[derive(Clone, Copy)]
pub struct Error {
    pub errno: Errno,
    /// Why, in our words; `None` means the errno's own text says it all.
    pub msg: Option<&'static str>,
    pub at: &'static Location<'static>,
}

impl Error {
    #[track_caller]
    pub fn new(errno: Errno) -> Error {
        Error { errno, msg: None, at: Location::caller() }
    }

    #[track_caller]
    pub fn with_message(errno: Errno, msg: &'static str) -> Error {
        Error { errno, msg: Some(msg), at: Location::caller() }
    }

    /// The text shown after the errno name.
    pub fn message(&self) -> &'static str {
        self.msg.unwrap_or_else(|| self.errno.text())
    }
}

impl core::fmt::Debug for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({}) at {}:{}", self.errno.name(), self.message(), self.at.file(), self.at.line())
    }
}

impl From<Errno> for Error {
    #[track_caller]
    fn from(errno: Errno) -> Error {
        Error::new(errno)
    }
}

pub type Result<T> = core::result::Result<T, Error>;

/// `return_errno!(EBADF)` returns that errno from the enclosing function.
#[macro_export]
macro_rules! return_errno {
    ($e:ident) => {
        return Err($crate::error::Error::new($crate::abi::Errno::$e))
    };
}

/// `return_errno_with_message!(EINVAL, "why")`.
#[macro_export]
macro_rules! return_errno_with_message {
    ($e:ident, $msg:expr) => {
        return Err($crate::error::Error::with_message($crate::abi::Errno::$e, $msg))
    };
}

/// `errno!(ENOENT)` / `errno!(EINVAL, "why")` builds an [`Error`] value.
#[macro_export]
macro_rules! errno {
    ($e:ident) => {
        $crate::error::Error::new($crate::abi::Errno::$e)
    };
    ($e:ident, $msg:expr) => {
        $crate::error::Error::with_message($crate::abi::Errno::$e, $msg)
    };
}
