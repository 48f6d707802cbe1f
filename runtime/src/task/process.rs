//! What one Linux process (thread group) holds: its configuration, memory
//! map, fds, filesystem context, signal state and the bookkeeping that the
//! process model, identity and scheduling calls keep for it.
//!
//! Fork: the host fork copies this memory, so a child starts with a copy of
//! every field; `do_clone` (syscall/proc_model.rs) then resets what a child
//! must not keep (its pid, children, a vfork return). Execve: a fresh
//! runtime builds a new `Process` (lib.rs `init_process`) and takes back
//! what Linux keeps from the handover (handover.rs).

use crate::abi::signal::KernelSigaction;
use crate::mm::Mm;
use crate::vfs::fd_table::FdTable;
use mactux_proto::Vpid;
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::Mutex;

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
    /// Guards the guest's memory map as the runtime records it (mmap,
    /// brk, mprotect; /proc/self/maps).
    pub mm: Mutex<Mm>,
    /// Guards the fd table: which guest fd names which open file.
    pub fds: Mutex<FdTable>,
    /// Guards the working directory (and the directories held open for it)
    /// and the umask.
    pub fs: Mutex<FsContext>,
    /// Guards the signal actions, the signal mask and the blocked-pending set.
    pub sig: Mutex<SignalState>,
    /// `comm`, at most 15 bytes.
    pub comm: Mutex<Vec<u8>>,
    /// The guest path of the running program (`/proc/self/exe`).
    pub exe: Mutex<String>,
    /// The running program's argv (`/proc/self/cmdline`).
    pub argv: Mutex<Vec<Vec<u8>>>,
    /// The environment the program started with (`/proc/self/environ`).
    pub envp: Mutex<Vec<Vec<u8>>>,
    /// Host clock (CLOCK_BOOTTIME-style seconds) when the process started, for /proc.
    pub start_uptime: f64,
    /// How often each unimplemented syscall number was called.
    pub missing: Vec<AtomicU32>,
    /// Guards the `--trace` sink, so that one call's line is written whole.
    pub trace: Option<Mutex<crate::syscall::trace::Sink>>,
    /// `set_tid_address` pointer.
    pub clear_child_tid: Mutex<u64>,
    /// The persona (personality(2)): PER_LINUX and flags. Linux keeps it
    /// across fork and execve.
    pub persona: AtomicU32,
    /// Guards the guest's own RLIMIT_AS (soft, hard), once it set one
    /// (before: the host's). It is not applied to the host process, whose
    /// address space also holds the runtime and what it keeps in reserve:
    /// a guest's `ulimit -v` made the runtime itself fail; the runtime
    /// enforces it on guest mappings instead (syscall/identity.rs). Kept
    /// across fork and execve.
    pub guest_as: Mutex<Option<(u64, u64)>>,
    /// The scheduling policy the process set (one of the normal ones);
    /// Linux keeps it across fork and execve.
    pub sched_policy: AtomicU32,
    /// Guards the children not yet reaped: (pid, host pid). Emptied in a
    /// fork child; handed over across execve.
    pub children: Mutex<Vec<(Vpid, i32)>>,
    /// Guards the last children reaped: (pid, host pid), at most
    /// `REAPED_KEPT` (syscall/proc_model.rs). A signal a child sent just
    /// before it exited is often delivered after the parent reaped it, when
    /// the daemon no longer knows its host pid; si_pid still names it.
    pub reaped: Mutex<Vec<(Vpid, i32)>>,
    /// Guards what a vfork child owes its parent on exit. Set only in a
    /// vfork child until it execs (the pipe is close-on-exec) or exits.
    pub vfork_return: Mutex<Option<VforkReturn>>,
    /// Guards the last answer of the daemon to getppid, with the host
    /// parent it was valid for: (host ppid, Linux ppid).
    pub ppid_cache: Mutex<Option<(u32, u32)>>,
    /// Set when the fd table or the memory map changed since the task last
    /// told the daemon (which shows them in /proc/PID/{fd,maps} to others).
    pub view_changed: AtomicBool,
}

/// What a vfork child that shares memory with its parent owes it on exit:
/// the parent's stack window `lo..hi`, sent through `fd` (see `do_clone`
/// in syscall/proc_model.rs).
pub struct VforkReturn {
    pub fd: crate::host::HostFd,
    pub lo: u64,
    pub hi: u64,
}

impl Process {
    /// The Linux pid of this process.
    pub fn pid(&self) -> u32 {
        self.vpid.load(std::sync::atomic::Ordering::Relaxed)
    }
}
