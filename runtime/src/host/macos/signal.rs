//! Linux signal numbers ↔ macOS signal numbers.
//!
//! Rows are `Linux name = macOS value`; each macOS value is pinned against the
//! libc crate at compile time. Values from
//! <https://github.com/apple-oss-distributions/xnu/blob/main/bsd/sys/signal.h>.

use crate::abi::signal::Signal;

macro_rules! table {
    ($($name:ident = $value:literal,)*) => {
        // Pinned where libc has the macOS values (the darwin check).
        $(#[cfg(target_os = "macos")] const _: () = assert!(libc::$name == $value);)*

        /// The host signal that carries this Linux signal, if the host has one.
        pub fn to_host(sig: Signal) -> Option<i32> {
            match sig {
                $(Signal::$name => Some($value),)*
                // lossy: SIGSTKFLT (unused coprocessor fault) and SIGPWR (power
                // failure) have no macOS signal; kill(2) of them cannot reach a host process.
                Signal::SIGSTKFLT | Signal::SIGPWR => None,
                // lossy: macOS has no real-time signals (32..=64); the runtime
                // queues them for guests itself, but cannot send them to a host process.
                _ => None,
            }
        }

        /// The Linux signal for a host signal number.
        pub fn from_host(sig: i32) -> Option<Signal> {
            match sig {
                $($value => Some(Signal::$name),)*
                // lossy: SIGEMT (7, emulator trap) and SIGINFO (29, ^T status
                // request) have no Linux counterpart; the caller treats them as unknown.
                _ => None,
            }
        }

        #[cfg(test)]
        const ROWS: &[(Signal, i32)] = &[$((Signal::$name, $value),)*];
    };
}

table! {
    SIGHUP = 1,
    SIGINT = 2,
    SIGQUIT = 3,
    SIGILL = 4,
    SIGTRAP = 5,
    SIGABRT = 6,
    SIGBUS = 10,
    SIGFPE = 8,
    SIGKILL = 9,
    SIGUSR1 = 30,
    SIGSEGV = 11,
    SIGUSR2 = 31,
    SIGPIPE = 13,
    SIGALRM = 14,
    SIGTERM = 15,
    SIGCHLD = 20,
    SIGCONT = 19,
    SIGSTOP = 17,
    SIGTSTP = 18,
    SIGTTIN = 21,
    SIGTTOU = 22,
    SIGURG = 16,
    SIGXCPU = 24,
    SIGXFSZ = 25,
    SIGVTALRM = 26,
    SIGPROF = 27,
    SIGWINCH = 28,
    // SIGPOLL is SIGIO on Linux; macOS has SIGIO only.
    SIGIO = 23,
    SIGSYS = 12,
}

#[cfg(target_os = "macos")]
const _: () = assert!(libc::SIGEMT == 7 && libc::SIGINFO == 29);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_signal_is_mapped_or_documented() {
        for s in Signal::NAMED {
            match to_host(*s) {
                Some(h) => assert_eq!(from_host(h), Some(*s)),
                None => assert!(*s == Signal::SIGSTKFLT || *s == Signal::SIGPWR, "{:?}", s.name()),
            }
        }
        assert_eq!(ROWS.len() + 2, Signal::NAMED.len());
        // SIGEMT as macOS numbers it.
        assert_eq!(from_host(7), None);
        assert_eq!(to_host(Signal(crate::abi::signal::SIGRTMIN)), None);
    }
}
