//! Linux signal numbers (x86_64) and the guest-visible `struct sigaction`.

use linux_raw_sys::general as g;

/// A Linux signal number, 1..=64.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Signal(pub u8);

macro_rules! signals {
    ($($name:ident,)*) => {
        impl Signal {
            $(pub const $name: Signal = Signal(g::$name as u8);)*

            /// The classic signals by name, for completeness tests and `kill -l`.
            pub const NAMED: &'static [Signal] = &[$(Signal::$name,)*];

            pub fn name(self) -> Option<&'static str> {
                match self.0 as u32 {
                    $(g::$name => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

signals! {
    SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1,
    SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGCHLD, SIGCONT, SIGSTOP,
    SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH,
    SIGIO, SIGPWR, SIGSYS,
}

/// `_NSIG` on x86_64: signals are numbered 1..=64.
pub const NSIG: u8 = 64;
pub const SIGRTMIN: u8 = g::SIGRTMIN as u8;

impl Signal {
    pub fn from_raw(v: u64) -> Option<Signal> {
        (1..=u64::from(NSIG)).contains(&v).then_some(Signal(v as u8))
    }

    /// The bit of this signal in a Linux `sigset_t`.
    pub fn mask_bit(self) -> u64 {
        1u64 << (self.0 - 1)
    }

    /// Signals whose disposition and mask bit cannot be changed.
    pub fn is_unblockable(self) -> bool {
        self == Signal::SIGKILL || self == Signal::SIGSTOP
    }

    /// The mask bits of the unblockable signals, which every mask a
    /// program sets loses silently (sigprocmask(2), signalfd(2)).
    pub fn unblockable_bits() -> u64 {
        Signal::SIGKILL.mask_bit() | Signal::SIGSTOP.mask_bit()
    }
}

/// The guest's `struct sigaction` as `rt_sigaction` passes it (kernel layout).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct KernelSigaction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;
/// Every `SA_*` bit the kernel accepts on x86_64 (`SA_RESTORER` included).
pub const SA_KNOWN: u64 = (g::SA_NOCLDSTOP
    | g::SA_NOCLDWAIT
    | g::SA_SIGINFO
    | g::SA_ONSTACK
    | g::SA_RESTART
    | g::SA_NODEFER
    | g::SA_RESETHAND
    | g::SA_RESTORER) as u64;
