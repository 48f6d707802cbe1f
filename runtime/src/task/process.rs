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
use std::sync::{Arc, Mutex, MutexGuard};

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
    /// Whether our vDSO may jump to the host's trap-free clock functions;
    /// off (`MACTUX_VDSO=syscall`), each of its functions makes the
    /// syscall, as on a macOS host (loader/vdso.rs).
    pub vdso_uses_host: bool,
    /// Whether a `syscall` site that trapped is rewritten into a direct
    /// entry (trap/rewrite.rs); on unless `MACTUX_REWRITE=0` or
    /// `mactux run --no-rewrite`.
    #[serde(default = "default_true")]
    pub rewrite_syscalls: bool,
    /// Report, when the process exits, how many syscalls trapped
    /// (`MACTUX_LOG=traps`): the rewritten sites' calls do not.
    #[serde(default)]
    pub log_traps: bool,
    /// Whether the root's files carry Linux owners, modes and device
    /// numbers in extended attributes, which stat then shows (vfs/meta.rs;
    /// an imported root: `mactux rootfs import`).
    pub linux_metadata: bool,
    /// Who the guest starts as (`mactux run --user`, `--root-user`);
    /// `None`: the host user's ids. Read only when a task starts: after an
    /// execve the task's own credentials come through the handover.
    pub user: Option<GuestUser>,
    /// Host directories mounted into the guest's tree (`--mount HOST:GUEST`).
    #[serde(default)]
    pub mounts: Vec<HostMount>,
}

fn default_true() -> bool {
    true
}

/// The ids a guest starts with when they are not the host user's.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct GuestUser {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// A host directory the guest sees at `guest`, as a bind mount
/// (`vfs/mount.rs`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct HostMount {
    /// An absolute, normalized guest path other than `/`.
    pub guest: String,
    /// The host directory, absolute.
    pub host: std::path::PathBuf,
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
    /// The root chroot(2) set (guest paths start there); None: the
    /// process's own (`Process::root`, the run's `--root`).
    pub root: Option<Arc<crate::vfs::DirFd>>,
}

impl FsContext {
    pub fn new(cwd: String, umask: u32) -> FsContext {
        FsContext { cwd, cwd_dirs: None, umask, root: None }
    }

    pub fn set_cwd(&mut self, cwd: String) {
        self.cwd = cwd;
        self.cwd_dirs = None;
    }
}

pub struct SignalState {
    pub actions: [KernelSigaction; 64],
    /// Signals sent to the process (kill, the terminal, a timer, a child),
    /// waiting for a thread whose mask lets them through: the shared
    /// pending set of signal(7). Each thread's own set is in its `Thread`.
    pub shared: crate::task::ThreadPending,
    /// The open signalfds (weakly), told of every change of a pending set
    /// (signal/mod.rs, "Pending watchers"). Kept in a fork child, whose
    /// signalfds are copies that read the child's own signals.
    pub watchers: Vec<std::sync::Weak<dyn crate::signal::PendingWatch>>,
    /// How many signals were queued, to any thread or the process (each
    /// wakes the process's signalfds on Linux, `signalfd_notify`: a new
    /// edge for EPOLLET); a standard signal already pending is none.
    pub queued: u64,
}

pub struct Process {
    pub config: Config,
    /// The host directory `config.root`, held open: every guest path is
    /// walked from it (vfs/mod.rs), never by its host name.
    pub root: std::sync::Arc<crate::vfs::DirFd>,
    /// The Linux pid (from the daemon's namespace); changes in a fork child.
    pub vpid: AtomicU32,
    /// Guards the guest's memory map as the runtime records it (mmap,
    /// brk, mprotect; /proc/self/maps). Shared with the processes of this
    /// host process that share memory with it (CLONE_VM, [`VmLink`]).
    pub mm: Arc<Mutex<Mm>>,
    /// Guards the fd table: which guest fd names which open file. Shared
    /// with a CLONE_VM child only under CLONE_FILES.
    pub fds: Arc<Mutex<FdTable>>,
    /// Guards the working directory (and the directories held open for it)
    /// and the umask. Shared with a CLONE_VM child only under CLONE_FS.
    pub fs: Arc<Mutex<FsContext>>,
    /// Guards the signal actions and the process-directed pending signals;
    /// held while any thread's mask or pending set changes (the kernel's
    /// siglock).
    pub sig: Mutex<SignalState>,
    /// What the host signal handler records and reads without a lock.
    pub host_sig: crate::signal::HostSignals,
    /// Guards the list of live threads, the leader first.
    pub threads: Mutex<Vec<std::sync::Arc<crate::task::Thread>>>,
    /// Guards the tids of ended threads, oldest first, kept for new threads
    /// (syscall/thread.rs); a leaf.
    pub tid_pool: Mutex<std::collections::VecDeque<u32>>,
    /// Guards the host threads waiting for a guest thread to run
    /// (syscall/thread.rs); a leaf. Emptied in a fork child.
    pub idle_hosts: Mutex<Vec<Arc<crate::task::IdleHost>>>,
    /// The POSIX timers (timer_create) and the thread that fires them;
    /// `timers.table` guards them (task/timer.rs). A fork child has none;
    /// execve deletes them (the new image starts with an empty table).
    pub timers: crate::task::Timers,
    /// The files armed for signal-driven I/O and the thread that signals
    /// their owners (task/sigio.rs). A fork child keeps the files (copies
    /// of the parent's) but not the thread.
    pub sigio: crate::task::Sigio,
    /// Guards the private futex wait queues (syscall/futex.rs); shared with
    /// CLONE_VM children, as Linux keys a private futex by its memory.
    pub futexes: Arc<Mutex<crate::task::FutexTable>>,
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
    /// Guards the refused variants of implemented calls already reported
    /// (`syscall::refuse`): message and variant number.
    pub refused: Mutex<Vec<(&'static str, Option<u64>)>>,
    /// Guards the `--trace` sink, so that one call's line is written whole.
    pub trace: Option<Mutex<crate::syscall::trace::Sink>>,
    /// The persona (personality(2)): PER_LINUX and flags. Linux keeps it
    /// across fork and execve.
    pub persona: AtomicU32,
    /// Guards the guest's own RLIMIT_AS (soft, hard), once it set one
    /// (before: the host's). It is not applied to the host process, whose
    /// address space also holds the runtime and what it keeps in reserve:
    /// a guest's `ulimit -v` made the runtime itself fail; the runtime
    /// enforces it on guest mappings instead (syscall/identity.rs). Kept
    /// across fork and execve.
    pub guest_as: Arc<Mutex<Option<(u64, u64)>>>,
    /// Guards the task's Linux credentials (ids, groups, capabilities):
    /// the guest's own, not the host process's (task/cred.rs). Copied by
    /// fork, handed over across execve, which applies its rules to them
    /// (loader/mod.rs). A leaf.
    pub cred: Mutex<std::sync::Arc<crate::task::Cred>>,
    /// The scheduling policy the process set (one of the normal ones);
    /// Linux keeps it across fork and execve.
    pub sched_policy: AtomicU32,
    /// The I/O priority the guest set with ioprio_set (0: none, the
    /// kernel's default), kept across fork and execve as the io context's.
    pub ioprio: AtomicU32,
    /// The signal PR_SET_PDEATHSIG asked for when the parent ends (0:
    /// none): cleared in a fork child and by a change of the effective or
    /// filesystem ids or a gain of capabilities, kept across execve
    /// ([`Process::set_parent_death_signal`]).
    pub pdeathsig: std::sync::atomic::AtomicU8,
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
    /// The leader's exit status once it has exited (bit 16 set), which
    /// the process ends with if its last thread exits without exit_group.
    pub leader_exit: std::sync::atomic::AtomicI32,
    /// The membarrier commands the process registered for.
    pub membarrier_registered: AtomicU32,
    /// Guards the parker of the task's publisher thread, once started
    /// (syscall/mod.rs `publish_view`); a leaf. Emptied in a fork child,
    /// which has no such thread.
    pub publisher: Mutex<Option<Arc<crate::task::Parker>>>,
    /// Set when a publication was asked of the publisher and it has not
    /// looked since: a call that may sleep asks once, not at every call
    /// (syscall/mod.rs `publish_view`).
    pub publish_asked: AtomicBool,
    /// RLIMIT_NOFILE's and RLIMIT_AS's soft limits as read from the host,
    /// which every fd install and every mmap checks (the latter when the
    /// guest set none of its own); forgotten when a process of this host
    /// process sets a limit (syscall/identity.rs).
    pub nofile_limit: KeptLimit,
    pub address_space_limit: KeptLimit,
    /// Held while the publisher tells the daemon, and by exit_group from
    /// its exit notice on.
    pub publishing: Mutex<()>,
    /// Set when the fd table or the memory map changed since the task last
    /// told the daemon (which shows them in /proc/PID/{fd,maps} to others).
    pub view_changed: AtomicBool,
    /// Since when reads of a pipe, socket or terminal have found data at
    /// once while `view_changed` was set (syscall::fd_may_sleep): after a
    /// while the task publishes without sleeping. A leaf.
    pub ready_since: Mutex<Option<std::time::Instant>>,
    /// Guards the syscall sites rewritten and their stubs' memory
    /// (trap/rewrite.rs); a leaf. Fork children share the rewritten code
    /// and keep it.
    pub syscall_sites: Arc<Mutex<crate::trap::rewrite::Sites>>,
    /// Guards the open files sent through SCM_RIGHTS as carriers and not
    /// received yet (vfs/in_flight.rs); a leaf. Shared with the CLONE_VM
    /// children, whose address space holds the same open files.
    pub in_flight: Arc<Mutex<crate::vfs::in_flight::InFlight>>,
    /// Syscalls that entered the runtime by a host trap (SIGSYS), not by
    /// a rewritten site (`MACTUX_LOG=traps`).
    pub syscall_traps: std::sync::atomic::AtomicU64,
    /// Set for a process that shares its parent's memory without being a
    /// thread of it (clone with CLONE_VM, without CLONE_THREAD): a host
    /// thread of its parent's host process (syscall/clone_vm.rs).
    pub vm: Option<VmLink>,
    /// Guards the CLONE_VM children this process made and has not reaped
    /// (syscall/clone_vm.rs); a leaf.
    pub vm_children: Mutex<Vec<VmChild>>,
    /// Woken when one of `vm_children` changes state (a wait sleeps on it).
    pub vm_child_event: crate::task::Parker,
    /// Set once the process has ended (its status is with its parent).
    pub has_exited: AtomicBool,
    /// A CLONE_VM child process that moved to a host process of its own
    /// for an execve (syscall/clone_vm.rs `leave_for_exec`): that host
    /// process's pid, where a signal for it goes from then on; 0 before.
    /// Set with `sig` held.
    pub moved_for_exec: std::sync::atomic::AtomicI32,
    /// Set when one thread ends the process and the others must leave
    /// (Linux's SIGNAL_GROUP_EXIT): each does at its next return to guest
    /// code or wait (syscall/clone_vm.rs `zap_other_threads`). Only a
    /// process whose end is not the host process's end needs it.
    pub is_group_exiting: AtomicBool,
}

/// A host resource limit's soft value, read from the host at its first
/// use and kept until forgotten.
#[derive(Default)]
pub struct KeptLimit {
    value: std::sync::atomic::AtomicU64,
    known: AtomicBool,
}

impl KeptLimit {
    /// The kept value, or what `read` gives, kept from then on.
    pub fn get(&self, read: impl FnOnce() -> u64) -> u64 {
        use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
        if self.known.load(Acquire) {
            return self.value.load(Relaxed);
        }
        let v = read();
        self.value.store(v, Relaxed);
        self.known.store(true, Release);
        v
    }

    pub fn forget(&self) {
        self.known.store(false, std::sync::atomic::Ordering::Release);
    }
}

/// What a CLONE_VM child knows of its parent.
pub struct VmLink {
    pub parent: &'static Process,
    /// The signal the parent gets at the child's end (0: none).
    pub exit_signal: u8,
}

/// A CLONE_VM child as its parent sees it.
pub struct VmChild {
    pub process: &'static Process,
    pub pid: Vpid,
    /// Its exit signal; a child whose signal is not SIGCHLD is a "clone"
    /// child that only a __WCLONE or __WALL wait finds (wait(2)).
    pub exit_signal: u8,
    /// Its Linux wait status once it has ended.
    pub status: Option<i32>,
}

/// What a vfork child that shares memory with its parent owes it on exit:
/// the bytes it changed in the parent's stack window `lo..hi` (against
/// `original`, the window as it was at the fork), sent through `fd` (see
/// `do_clone` in syscall/proc_model.rs).
pub struct VforkReturn {
    pub fd: crate::host::HostFd,
    pub lo: u64,
    pub hi: u64,
    pub original: Vec<u8>,
}

impl Process {
    /// The credentials as they are now (the lock is taken alone, briefly).
    /// Shared, never changed in place: every path walk and permission check
    /// reads them, a set*id call replaces them.
    pub fn cred(&self) -> std::sync::Arc<crate::task::Cred> {
        crate::task::lock(&self.cred).clone()
    }

    /// Applies one of the rules of task/cred.rs to the credentials under
    /// their lock (so that two threads' changes do not undo each other)
    /// and has the daemon told of a change (other tasks' /proc/PID/status,
    /// `ps`). Returns the credentials as they were.
    pub fn update_cred(
        &self,
        rule: impl FnOnce(&crate::task::Cred) -> crate::error::Result<crate::task::Cred>,
    ) -> crate::error::Result<crate::task::Cred> {
        let mut c = crate::task::lock(&self.cred);
        let new = rule(&c)?;
        if new != **c {
            self.view_changed.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        // commit_creds (kernel/cred.c): a new effective or filesystem id,
        // or capabilities the old set did not hold, clear the parent-death
        // signal.
        let gains_caps = new.cap_permitted & !c.cap_permitted != 0;
        if new.euid != c.euid || new.egid != c.egid || new.fsuid != c.fsuid || new.fsgid != c.fsgid || gains_caps {
            self.set_parent_death_signal(0);
        }
        let old = std::mem::replace(&mut *c, std::sync::Arc::new(new));
        Ok(std::sync::Arc::unwrap_or_clone(old))
    }

    /// PR_SET_PDEATHSIG: `sig` (0: none) is raised in this process when the
    /// parent ends. The host raises it (host::process::set_parent_death_signal:
    /// the host's own parent-death signal on Linux, whose parent is the host
    /// thread that forked this process as the guest's is; on macOS a watch of
    /// the parent host process's exit), and it arrives as any signal from
    /// outside does. A value the process has already costs no host call (an
    /// execve and a credential change set one).
    pub fn set_parent_death_signal(&self, sig: u8) {
        if self.pdeathsig.swap(sig, std::sync::atomic::Ordering::Relaxed) == sig {
            return;
        }
        let host_sig = crate::abi::signal::Signal::from_raw(u64::from(sig)).and_then(crate::host::signal::to_host).unwrap_or(0);
        crate::host::process::set_parent_death_signal(host_sig);
    }

    /// The Linux pid of this process.
    pub fn pid(&self) -> u32 {
        self.vpid.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The live threads, leader first (a snapshot).
    pub fn thread_list(&self) -> Vec<std::sync::Arc<crate::task::Thread>> {
        crate::task::lock(&self.threads).clone()
    }

    /// The live thread with Linux id `tid`.
    pub fn thread(&self, tid: u32) -> Option<std::sync::Arc<crate::task::Thread>> {
        crate::task::lock(&self.threads).iter().find(|t| t.tid() == tid).cloned()
    }
}

/// Every process-wide lock of the runtime, held across a host fork by the
/// thread that forks ([`Process::lock_for_fork`]), so that the child,
/// where only that thread lives on, inherits none of them held by a thread
/// that no longer exists. Taken in the order of the tree in task/mod.rs.
///
/// A thread's own locks are not among them: its `pending` is only ever
/// taken with `sig` held, which the forking thread holds; the child gives
/// its one thread a fresh `Thread` (`after_fork_child`), so the others'
/// `comm` and `host` locks are left behind with them.
#[allow(dead_code)] // the guards are held, not read
pub struct ForkGuard<'a> {
    /// The open files' own locks, taken last (`OpenFile::hold_for_fork`).
    files: crate::vfs::file::ForkHolds<'a>,
    publishing: MutexGuard<'a, ()>,
    comm: MutexGuard<'a, Vec<u8>>,
    argv: MutexGuard<'a, Vec<Vec<u8>>>,
    exe: MutexGuard<'a, String>,
    fs: MutexGuard<'a, FsContext>,
    envp: MutexGuard<'a, Vec<Vec<u8>>>,
    fds: MutexGuard<'a, FdTable>,
    futexes: MutexGuard<'a, crate::task::FutexTable>,
    mm: MutexGuard<'a, Mm>,
    guest_as: MutexGuard<'a, Option<(u64, u64)>>,
    children: MutexGuard<'a, Vec<(Vpid, i32)>>,
    reaped: MutexGuard<'a, Vec<(Vpid, i32)>>,
    sig: MutexGuard<'a, SignalState>,
    timers: MutexGuard<'a, crate::task::TimerTable>,
    sigio: MutexGuard<'a, crate::task::SigioState>,
    threads: MutexGuard<'a, Vec<Arc<crate::task::Thread>>>,
    idle_hosts: MutexGuard<'a, Vec<Arc<crate::task::IdleHost>>>,
    tid_pool: MutexGuard<'a, std::collections::VecDeque<u32>>,
    publisher: MutexGuard<'a, Option<Arc<crate::task::Parker>>>,
    ppid_cache: MutexGuard<'a, Option<(u32, u32)>>,
    vfork_return: MutexGuard<'a, Option<VforkReturn>>,
    vm_children: MutexGuard<'a, Vec<VmChild>>,
    vm_processes: MutexGuard<'a, Vec<&'static Process>>,
    refused: MutexGuard<'a, Vec<(&'static str, Option<u64>)>>,
    cred: MutexGuard<'a, std::sync::Arc<crate::task::Cred>>,
    syscall_sites: MutexGuard<'a, crate::trap::rewrite::Sites>,
    in_flight: MutexGuard<'a, crate::vfs::in_flight::InFlight>,
    trace: Option<MutexGuard<'a, crate::syscall::trace::Sink>>,
}

impl ForkGuard<'_> {
    /// In the fork child, before the locks are released: only `thread`
    /// lives on, it waits on no futex, nothing is pending, and it has no
    /// timers (fork(2)); the timer thread stayed behind with the others.
    /// Returns the fd tables of the CLONE_VM child processes that stayed
    /// behind, for the caller to drop once the locks are released: their
    /// host fds are not the fork child's to keep open.
    #[must_use]
    pub fn after_fork_child(&mut self, thread: Arc<crate::task::Thread>) -> Vec<FdTable> {
        self.threads.clear();
        self.threads.push(thread);
        self.idle_hosts.clear();
        // Those tids are the parent's.
        self.tid_pool.clear();
        *self.publisher = None;
        self.futexes.clear();
        self.sig.shared = Default::default();
        self.timers.clear();
        self.sigio.after_fork_child();
        self.children.clear();
        // The files' own locks first: `after_fork` takes them, alone now.
        self.files.clear();
        // Files whose state is the runtime's own become the child's copies.
        for (_, e) in self.fds.iter() {
            e.file.ops().after_fork();
        }
        // The CLONE_VM children are host threads that stayed behind. Their
        // own fd tables go with them (a table shared with this process,
        // CLONE_FILES, is held by this guard, and one a vanished thread
        // held is left alone); the files only they had are dropped as
        // they are, without `after_fork`, whose locks the fork did not
        // take.
        self.vm_children.clear();
        let mut left_behind = Vec::new();
        for p in self.vm_processes.drain(..) {
            if let Ok(mut t) = p.fds.try_lock() {
                left_behind.push(std::mem::take(&mut *t));
            }
        }
        left_behind
    }
}

/// The locks a host fork holds ([`Process::locks_for_fork`]).
pub enum ForkLocks<'a> {
    All(ForkGuard<'a>),
    /// No other thread can take a lock: only `publishing` is held.
    Alone(&'a Process, MutexGuard<'a, ()>),
}

impl<'a> ForkLocks<'a> {
    /// In the fork child: every lock, for `ForkGuard::after_fork_child`
    /// (the child's only thread takes those the fork did not hold).
    pub fn for_child(self) -> ForkGuard<'a> {
        match self {
            ForkLocks::All(g) => g,
            ForkLocks::Alone(p, publishing) => p.lock_rest_for_fork(publishing),
        }
    }
}

/// How many times a fork tries to find every open file's locks free
/// before it forks without holding them (`Process::lock_for_fork`).
const FORK_ATTEMPTS: usize = 1000;

type ForkList = std::cell::OnceCell<Vec<Arc<crate::vfs::file::OpenFile>>>;

/// The open files each attempt of a fork found (the table may change
/// between attempts, which let every lock go): kept here, with the caller,
/// for the guards of the attempt that holds to borrow from. The first
/// attempt's list is here from the start; the retries' slots are made only
/// when a fork has to try again, which is rare.
pub struct ForkFiles {
    first: ForkList,
    retries: std::cell::OnceCell<Vec<ForkList>>,
}

impl ForkFiles {
    pub fn new() -> ForkFiles {
        ForkFiles { first: ForkList::new(), retries: std::cell::OnceCell::new() }
    }

    /// The list slot of attempt `n` (below [`FORK_ATTEMPTS`]).
    fn slot(&self, n: usize) -> &ForkList {
        match n.checked_sub(1) {
            None => &self.first,
            Some(i) => &self.retries.get_or_init(|| (1..FORK_ATTEMPTS).map(|_| ForkList::new()).collect())[i],
        }
    }
}

impl Process {
    /// What a host fork holds across it: every lock ([`lock_for_fork`]),
    /// or only `publishing` when no other thread can hold one.
    ///
    /// The caller alone: it is the process's only host thread but for the
    /// publisher, which takes every lock it takes under `publishing`
    /// (syscall/mod.rs `publish_now`). Holding the others would then only
    /// cost the parent and the child a copy-on-write fault for each page a
    /// lock word is on; the child takes them after the fork instead
    /// ([`ForkLocks::for_child`]).
    ///
    /// [`lock_for_fork`]: Process::lock_for_fork
    pub fn locks_for_fork<'a>(&'a self, files: &'a ForkFiles) -> ForkLocks<'a> {
        let publishing = crate::task::lock(&self.publishing);
        let publisher = u32::from(crate::task::lock(&self.publisher).is_some());
        if crate::host::process::thread_count() == Some(1 + publisher) {
            for (_, e) in crate::task::lock(&self.fds).iter() {
                e.file.ops().before_fork();
            }
            return ForkLocks::Alone(self, publishing);
        }
        drop(publishing);
        ForkLocks::All(self.lock_for_fork(files))
    }

    /// Takes every lock for a host fork (see [`ForkGuard`]): the
    /// process-wide ones in the order of the tree in task/mod.rs, then
    /// every open file's own (`OpenFile::hold_for_fork`) without waiting.
    /// Those are taken outside some process-wide locks elsewhere (epoll's
    /// under none, then `threads` and `sig` under it), so a file lock
    /// found held makes the fork let everything go, give the holder time
    /// to finish, and start again. The last of [`FORK_ATTEMPTS`] forks
    /// with the file locks it could take; the kinds' `after_fork` do not
    /// wait for the others then.
    pub fn lock_for_fork<'a>(&'a self, files: &'a ForkFiles) -> ForkGuard<'a> {
        let mut attempt = 0;
        loop {
            let mut guard = self.lock_process_for_fork();
            let list = files.slot(attempt).get_or_init(|| {
                // A file open at several fds is held once.
                let mut seen = std::collections::HashSet::new();
                guard.fds.iter().filter(|(_, e)| seen.insert(Arc::as_ptr(&e.file))).map(|(_, e)| e.file.clone()).collect()
            });
            let mut held = Vec::new();
            if list.iter().all(|f| f.hold_for_fork(&mut held)) || attempt + 1 == FORK_ATTEMPTS {
                guard.files = held;
                for (_, e) in guard.fds.iter() {
                    e.file.ops().before_fork();
                }
                return guard;
            }
            drop(held);
            drop(guard);
            // The holder may be waiting for a lock the fork held.
            if attempt < 10 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(std::time::Duration::from_micros(100));
            }
            attempt += 1;
        }
    }

    /// Takes every process-wide lock for a host fork, in order.
    fn lock_process_for_fork(&self) -> ForkGuard<'_> {
        // First: the publisher holds it while it takes the locks below
        // (task_info).
        self.lock_rest_for_fork(crate::task::lock(&self.publishing))
    }

    /// Takes every process-wide lock after `publishing`, in order.
    fn lock_rest_for_fork<'a>(&'a self, publishing: MutexGuard<'a, ()>) -> ForkGuard<'a> {
        use crate::task::lock;
        let comm = lock(&self.comm);
        let argv = lock(&self.argv);
        let exe = lock(&self.exe);
        let fs = lock(&self.fs);
        let envp = lock(&self.envp);
        let fds = lock(&self.fds);
        let futexes = lock(&self.futexes);
        let mm = lock(&self.mm);
        let guest_as = lock(&self.guest_as);
        let children = lock(&self.children);
        let reaped = lock(&self.reaped);
        let sig = lock(&self.sig);
        let timers = lock(&self.timers.table);
        let sigio = lock(&self.sigio.state);
        let threads = lock(&self.threads);
        let idle_hosts = lock(&self.idle_hosts);
        let tid_pool = lock(&self.tid_pool);
        let publisher = lock(&self.publisher);
        let ppid_cache = lock(&self.ppid_cache);
        let vfork_return = lock(&self.vfork_return);
        let vm_children = lock(&self.vm_children);
        let vm_processes = crate::task::lock_vm_processes();
        let refused = lock(&self.refused);
        let cred = lock(&self.cred);
        let syscall_sites = lock(&self.syscall_sites);
        let in_flight = lock(&self.in_flight);
        let trace = self.trace.as_ref().map(lock);
        ForkGuard {
            files: Vec::new(),
            publishing,
            comm,
            argv,
            exe,
            fs,
            envp,
            fds,
            futexes,
            mm,
            guest_as,
            children,
            reaped,
            sig,
            timers,
            sigio,
            threads,
            idle_hosts,
            tid_pool,
            publisher,
            ppid_cache,
            vfork_return,
            vm_children,
            vm_processes,
            refused,
            cred,
            syscall_sites,
            in_flight,
            trace,
        }
    }
}
