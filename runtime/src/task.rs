//! The one Linux process this host process hosts, and its per-process state.
//!
//! Lock order (outer first): `fds` → `fs` → `sig` → `mm`. Handlers clone what
//! they need out of a lock before any call that may block.

use crate::abi::signal::KernelSigaction;
use crate::mm::Mm;
use crate::vfs::fd_table::FdTable;
use std::sync::atomic::AtomicU32;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// What the runtime tells the guest about the kernel it runs on (`uname`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    pub sysname: String,
    pub nodename: Option<String>,
    pub release: String,
    pub version: String,
    pub machine: String,
    pub domainname: String,
}

impl Default for Identity {
    fn default() -> Identity {
        Identity {
            sysname: "Linux".into(),
            nodename: None,
            release: "6.6.0-mactux".into(),
            version: "#1 SMP PREEMPT_DYNAMIC MacTux".into(),
            machine: "x86_64".into(),
            domainname: "(none)".into(),
        }
    }
}

/// Where `--trace` output goes.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum TraceTarget {
    Stderr,
    File(std::path::PathBuf),
    /// A host fd inherited across execve.
    HostFd(i32),
}

/// How the user asked the runtime to behave.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Config {
    /// The host directory that is the guest's `/`.
    pub root: std::path::PathBuf,
    pub trace: Option<TraceTarget>,
    /// Report unimplemented syscalls (once each) on stderr.
    pub log_missing: bool,
    pub identity: Identity,
    /// The host path of the mactux binary (re-executed for execve, and to
    /// start the daemon).
    pub mactux_exe: std::path::PathBuf,
    /// Whether to register with the daemon (off only for tests of the runtime alone).
    pub use_daemon: bool,
}

pub struct FsContext {
    /// The guest's working directory, as a normalized guest path.
    pub cwd: String,
    /// The directories `cwd` was walked through, held open, so that a
    /// relative lookup starts there without walking from the root again
    /// (and, as on Linux, in the directory itself even if it is renamed).
    /// Filled on first use; `None` after every change of `cwd`.
    pub cwd_dirs: Option<crate::vfs::path::DirStack<crate::vfs::WalkDir>>,
    pub umask: u32,
}

impl FsContext {
    pub fn new(cwd: String, umask: u32) -> FsContext {
        FsContext { cwd, cwd_dirs: None, umask }
    }

    pub fn set_cwd(&mut self, cwd: String) {
        self.cwd = cwd;
        self.cwd_dirs = None;
    }
}

pub struct SignalState {
    pub actions: [KernelSigaction; 64],
    pub mask: u64,
    /// Signals sent while blocked, waiting for the mask to open.
    pub pending: u64,
}

pub struct Process {
    pub config: Config,
    /// The host directory `config.root`, held open: every guest path is
    /// walked from it (vfs/mod.rs), never by its host name.
    pub root: std::sync::Arc<crate::vfs::DirFd>,
    /// The Linux pid (from the daemon's namespace); changes in a fork child.
    pub vpid: AtomicU32,
    pub mm: Mutex<Mm>,
    pub fds: Mutex<FdTable>,
    pub fs: Mutex<FsContext>,
    pub sig: Mutex<SignalState>,
    /// `comm`, at most 15 bytes.
    pub comm: Mutex<Vec<u8>>,
    /// The guest path of the running program (`/proc/self/exe`).
    pub exe: Mutex<String>,
    pub argv: Mutex<Vec<Vec<u8>>>,
    pub envp: Mutex<Vec<Vec<u8>>>,
    /// Host clock (CLOCK_BOOTTIME-style seconds) when the process started, for /proc.
    pub start_uptime: f64,
    /// How often each unimplemented syscall number was called.
    pub missing: Vec<AtomicU32>,
    pub trace: Option<Mutex<crate::syscall::trace::Sink>>,
    /// `set_tid_address` pointer.
    pub clear_child_tid: Mutex<u64>,
}

impl Process {
    /// The Linux pid of this process.
    pub fn pid(&self) -> u32 {
        self.vpid.load(std::sync::atomic::Ordering::Relaxed)
    }
}

static PROCESS: OnceLock<Process> = OnceLock::new();

/// Set when the fd table or the memory map changed since the task last
/// told the daemon (which shows them in /proc/PID/{fd,maps} to others).
pub static VIEW_CHANGED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

pub fn note_view_changed() {
    VIEW_CHANGED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// The current process. Panics only if called before [`init`], which the
/// runtime does before any guest code runs.
pub fn current() -> &'static Process {
    match PROCESS.get() {
        Some(p) => p,
        None => crate::host::process::fatal("task state used before initialisation"),
    }
}

pub fn init(p: Process) -> &'static Process {
    if PROCESS.set(p).is_err() {
        crate::host::process::fatal("task state initialised twice");
    }
    current()
}

/// Locks a mutex, ignoring poisoning (a panic is already fatal to us).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
