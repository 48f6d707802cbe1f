//! Linux signal numbers ↔ host signal numbers on a Linux host.

use crate::abi::signal::{Signal, NSIG};

macro_rules! table {
    ($($name:ident,)*) => {
        $(const _: () = assert!(libc::$name as u32 == linux_raw_sys::general::$name);)*

        /// The host signal that carries this Linux signal, if the host has one.
        pub fn to_host(sig: Signal) -> Option<i32> {
            match sig {
                $(Signal::$name => Some(libc::$name),)*
                // Real-time signals keep their numbers on a Linux host.
                Signal(n) if n <= NSIG => Some(i32::from(n)),
                _ => None,
            }
        }

        /// The Linux signal for a host signal number.
        pub fn from_host(sig: i32) -> Option<Signal> {
            match sig {
                $(libc::$name => Some(Signal::$name),)*
                n if (1..=i32::from(NSIG)).contains(&n) => Some(Signal(n as u8)),
                _ => None,
            }
        }
    };
}

table! {
    SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1,
    SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGCHLD, SIGCONT, SIGSTOP,
    SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH,
    SIGIO, SIGPWR, SIGSYS,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signal_round_trips() {
        for n in 1..=NSIG {
            let s = Signal(n);
            let h = to_host(s).expect("linux host carries every signal");
            assert_eq!(from_host(h), Some(s));
        }
    }
}
