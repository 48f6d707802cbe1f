//! MacTux's in-process Linux personality.
//!
//! A Linux x86_64 program runs inside this host process. Its `syscall`
//! instructions trap (SIGSYS: Syscall User Dispatch on Linux hosts, an
//! invalid BSD syscall on macOS), and [`trap`] hands them to [`syscall`],
//! which emulates Linux on top of [`host`]. See docs/architecture.md.
#![deny(unsafe_code)]

pub mod abi;
pub mod daemon;
pub mod handover;
pub mod error;
pub mod host;
pub mod loader;
pub mod mm;
pub mod signal;
pub mod syscall;
pub mod task;
pub mod trap;
pub mod uaccess;
pub mod vfs;

pub use task::{Config, GuestUser, HostMount, Identity, TraceTarget};

use crate::task::{lock, FsContext, Process, SignalState};
use crate::vfs::file::{HostFile, OpenFile};
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::{Arc, Mutex};

/// A failure before the guest starts: message and shell-like exit status.
#[derive(Debug)]
pub struct StartError {
    pub status: i32,
    pub msg: String,
}

fn start_err(status: i32, msg: impl Into<String>) -> StartError {
    StartError { status, msg: msg.into() }
}

/// How the host's standard streams look from inside (/proc/self/fd targets).
fn describe_host_fd(fd: host::HostFd) -> Option<(String, bool, u32)> {
    let st = host::fs::fstat(fd).ok()?;
    let flags = host::fs::get_status_flags(fd).unwrap_or(abi::gen::O_RDWR);
    let is_dir = st.mode & abi::gen::S_IFMT == abi::gen::S_IFDIR;
    let name = match st.mode & abi::gen::S_IFMT {
        abi::gen::S_IFIFO => format!("pipe:[{}]", st.ino),
        abi::gen::S_IFSOCK => format!("socket:[{}]", st.ino),
        _ => host::fs::fd_guest_name(fd).unwrap_or_else(|| format!("anon_inode:[{}]", st.ino)),
    };
    Some((name, is_dir, flags))
}

fn open_trace(target: &Option<TraceTarget>) -> Result<Option<Mutex<syscall::trace::Sink>>, StartError> {
    Ok(match target {
        None => None,
        Some(TraceTarget::Stderr) => match host::fs::dup(2) {
            Ok(fd) => Some(Mutex::new(syscall::trace::Sink { host_fd: fd })),
            Err(e) => return Err(start_err(70, format!("cannot duplicate stderr for --trace: {}", e.text()))),
        },
        Some(TraceTarget::File(p)) => {
            let c = std::ffi::CString::new(p.as_os_str().to_string_lossy().as_bytes()).unwrap_or_default();
            let fl = abi::gen::O_WRONLY | abi::gen::O_CREAT | abi::gen::O_TRUNC;
            match host::fs::open(&c, fl, 0o644) {
                Ok(fd) => Some(Mutex::new(syscall::trace::Sink { host_fd: fd })),
                Err(e) => return Err(start_err(70, format!("cannot open trace file {}: {}", p.display(), e.text()))),
            }
        }
        Some(TraceTarget::HostFd(fd)) => {
            let _ = host::fs::set_host_cloexec(*fd, true);
            Some(Mutex::new(syscall::trace::Sink { host_fd: *fd }))
        }
    })
}

/// Process state common to a fresh start and a resumed execve.
struct Start {
    config: Config,
    pid: u32,
    cwd: String,
    umask: u32,
    envp: Vec<Vec<u8>>,
    start_uptime: f64,
    /// The credentials before the program's exec rules apply.
    cred: task::Cred,
}

fn init_process(st: Start) -> Result<&'static Process, StartError> {
    if let Err(e) = host::trap::check_support() {
        return Err(start_err(70, e));
    }
    host::process::unblock_trap_signals();
    // While the process has this one thread (see the function).
    host::thread::register_barriers();
    let trace = open_trace(&st.config.trace)?;
    let root = match vfs::DirFd::open_trusted(&st.config.root) {
        Ok(d) => Arc::new(d),
        Err(e) => {
            let msg = format!("cannot open the guest root {}: {}; check --root", st.config.root.display(), e.text());
            return Err(start_err(70, msg));
        }
    };
    let process = Process {
        config: st.config,
        root,
        vpid: AtomicU32::new(st.pid),
        mm: Arc::new(Mutex::new(mm::Mm::default())),
        fds: Arc::new(Mutex::new(vfs::fd_table::FdTable::default())),
        fs: Arc::new(Mutex::new(FsContext::new(st.cwd, st.umask))),
        sig: Mutex::new(SignalState { actions: [abi::signal::KernelSigaction::default(); 64], shared: Default::default(), watchers: Vec::new(), queued: 0 }),
        host_sig: Default::default(),
        threads: Mutex::new(Vec::new()),
        idle_hosts: Mutex::new(Vec::new()),
        tid_pool: Mutex::new(Default::default()),
        publisher: Mutex::new(None),
        publish_asked: AtomicBool::new(false),
        nofile_limit: Default::default(),
        address_space_limit: Default::default(),
        publishing: Mutex::new(()),
        futexes: Default::default(),
        timers: Default::default(),
        sigio: Default::default(),
        comm: Mutex::new(Vec::new()),
        exe: Mutex::new(String::new()),
        argv: Mutex::new(Vec::new()),
        envp: Mutex::new(st.envp),
        start_uptime: st.start_uptime,
        missing: (0..syscall::table::NR_LIMIT).map(|_| AtomicU32::new(0)).collect(),
        refused: Mutex::new(Vec::new()),
        trace,
        persona: AtomicU32::new(0),
        cred: Mutex::new(Arc::new(st.cred)),
        guest_as: Default::default(),
        sched_policy: AtomicU32::new(abi::gen::SCHED_NORMAL),
        ioprio: AtomicU32::new(0),
        pdeathsig: std::sync::atomic::AtomicU8::new(0),
        children: Mutex::new(Vec::new()),
        reaped: Mutex::new(Vec::new()),
        vfork_return: Mutex::new(None),
        ppid_cache: Mutex::new(None),
        leader_exit: std::sync::atomic::AtomicI32::new(0),
        membarrier_registered: AtomicU32::new(0),
        // A new task has not told the daemon its fds and maps yet.
        view_changed: AtomicBool::new(true),
        ready_since: Mutex::new(None),
        syscall_sites: Default::default(),
        in_flight: Default::default(),
        syscall_traps: Default::default(),
        vm: None,
        vm_children: Mutex::new(Vec::new()),
        vm_child_event: Default::default(),
        has_exited: AtomicBool::new(false),
        moved_for_exec: std::sync::atomic::AtomicI32::new(0),
        is_group_exiting: AtomicBool::new(false),
    };
    let p = task::init(process);
    // The first thread: its tid is the pid.
    // The host's mask where it has one (what `taskset -c 0 mactux run`,
    // or a guest's sched_setaffinity before its execve, left on this
    // host thread), else every CPU.
    let cpus = match host::process::affinity(0) {
        Some(Ok(set)) if set & all_cpus_mask() != 0 => set & all_cpus_mask(),
        _ => all_cpus_mask(),
    };
    let first = Arc::new(task::Thread::new(p.pid(), 0, Vec::new(), cpus));
    lock(&p.threads).push(first);
    Ok(p)
}

/// Every online CPU, one bit each (as far as 64).
pub(crate) fn all_cpus_mask() -> u64 {
    match host::process::cpu_count() {
        n if n >= 64 => u64::MAX,
        n => (1u64 << n) - 1,
    }
}

/// The thread the process started with (before any clone).
fn first_thread(p: &Process) -> Arc<task::Thread> {
    match lock(&p.threads).first() {
        Some(t) => t.clone(),
        None => host::process::fatal("the process has no thread"),
    }
}

/// How much environment a task publishes for /proc/PID/environ of others.
const MAX_PUBLISHED_ENVIRON: usize = 256 * 1024;

/// The environment as /proc/PID/environ of other tasks shows it: all of it,
/// or nothing when it is too large to travel in a daemon frame.
fn published_environ(envp: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let size: usize = envp.iter().map(|e| e.len() + 1).sum();
    if size > MAX_PUBLISHED_ENVIRON { Vec::new() } else { envp.to_vec() }
}

/// The daemon's view of this task. Each lock is taken alone, one after the
/// other (another thread may hold any of them meanwhile).
pub(crate) fn task_info(p: &Process) -> mactux_proto::TaskInfo {
    let comm = String::from_utf8_lossy(&lock(&p.comm)).into_owned();
    let argv = lock(&p.argv).clone();
    let exe = lock(&p.exe).clone();
    let cwd = lock(&p.fs).cwd.clone();
    let environ = published_environ(&lock(&p.envp));
    let cred = p.cred();
    let (fds, fd_nodes) = published_fds(p);
    let maps = lock(&p.mm).render_maps().into_bytes();
    let reaps_children =
        lock(&p.sig).actions[usize::from(abi::signal::Signal::SIGCHLD.0 - 1)].handler == abi::signal::SIG_IGN;
    // Published when the task is about to sleep: its threads are then
    // asleep or about to be, as far as another task can tell.
    let threads = task::thread_list()
        .into_iter()
        .map(|(tid, comm)| mactux_proto::ThreadInfo {
            tid: tid as mactux_proto::Vpid,
            comm: String::from_utf8_lossy(&comm).into_owned(),
            state: b'S',
        })
        .collect();
    mactux_proto::TaskInfo {
        comm,
        argv,
        exe,
        cwd,
        uid: cred.euid,
        gid: cred.egid,
        cred: cred.to_proto(),
        tty: host::process::terminal_of(host::process::host_pid()).map_or(0, |(tty, _)| tty),
        environ,
        fds,
        fd_nodes,
        maps,
        reaps_children,
        threads,
    }
}

/// The fds as /proc/PID/fd shows them to other tasks: each with what its
/// link reads, and for an object without a path (a socket, a pipe, an
/// anonymous inode) what a stat of the followed link gives. Those stats
/// are taken under the fd table's lock (an fstat of a pipe or socket, or
/// none at all): a file held outside it would stay open after the guest
/// closed its last fd, until the publication let go of it, and a pipe's
/// writer would meanwhile see its reader still there (no EPOLLERR, no
/// EPIPE).
fn published_fds(p: &Process) -> (Vec<(i32, Vec<u8>)>, Vec<mactux_proto::FdNode>) {
    let table = lock(&p.fds);
    let mut nodes = Vec::new();
    let fds = table
        .iter()
        .map(|(fd, e)| {
            let file = &e.file;
            if !file.guest_path.starts_with('/') {
                if let Ok(st) = file.stat() {
                    nodes.push(mactux_proto::FdNode { fd, mode: st.mode, dev: st.dev, ino: st.ino });
                }
            }
            (fd, vfs::path::to_bytes(&file.guest_path))
        })
        .collect();
    (fds, nodes)
}

/// Loads `path` into this (fresh) process and jumps to it. `spawn_as`: a
/// new task, registered with the daemon as this host process once its
/// program is loaded; otherwise the task (if it has a daemon) publishes what
/// it runs now. `is_new`: a new task (`run`), not one re-executed for its
/// execve (`resume`).
fn exec_into(p: &'static Process, path: &str, execfn: &str, argv: Vec<Vec<u8>>, envp: &[Vec<u8>], spawn_as: Option<i32>, is_new: bool) -> StartError {
    let loaded = match loader::load(path, execfn, argv, envp) {
        Ok(l) => l,
        Err(e) => return start_err(e.status, e.msg),
    };
    // The name it was executed by, not the file a symlink leads to
    // (`python3`, not `python3.11`), as begin_new_exec names the task
    // after bprm->filename; a script's own name, not its interpreter's.
    let comm: Vec<u8> = vfs::path::to_bytes(execfn).rsplit(|&b| b == b'/').next().unwrap_or_default().iter().copied().take(15).collect();
    let thread = first_thread(p);
    *lock(&thread.comm) = comm.clone();
    *lock(&p.comm) = comm;
    *lock(&p.exe) = loaded.exe.clone();
    *lock(&p.argv) = loaded.argv.clone();
    if let Some(host_pid) = spawn_as {
        match daemon::spawn(host_pid, task_info(p)) {
            Ok(vpid) => p.vpid.store(vpid as u32, std::sync::atomic::Ordering::Relaxed),
            Err(e) => host::process::write_stderr(format!("mactux: running without the daemon: {e}\n").as_bytes()),
        }
    } else if !daemon::is_standalone() {
        // Posted: what the task runs now need not hold up its start.
        daemon::update_later(task_info(p));
    }
    thread.tid.store(p.pid(), std::sync::atomic::Ordering::Relaxed);
    let ctl = match trap::setup_thread(thread.clone()) {
        Ok(c) => c,
        Err(e) => return start_err(70, e),
    };
    *lock(&thread.host) = Some(host::thread::current());
    signal::init_process(&thread, is_new);
    drop(thread);
    trap::run_guest(ctl, &trap::start_regs(loaded.entry, loaded.sp));
    // The first thread ended (exit) while others run on. Its host thread
    // is the process's main thread, whose end would end them all: it
    // sleeps instead, with every host signal blocked, until the last
    // thread ends the process.
    host::trap::block_all_signals();
    loop {
        std::thread::park();
    }
}

/// Runs `program` as a Linux process in this host process. Returns only if
/// the program could not be started.
pub fn run(config: Config, program: &[u8], args: &[Vec<u8>], envp: Vec<Vec<u8>>) -> StartError {
    // What the guest inherits: every fd open now, before the runtime opens its own.
    let inherited = host::fs::open_fds();
    let cwd = std::env::current_dir().ok().and_then(|d| {
        let root = config.root.canonicalize().ok()?;
        let rel = d.strip_prefix(&root).ok()?;
        Some(format!("/{}", rel.to_string_lossy()).trim_end_matches('/').to_string())
    });
    let cwd = match cwd {
        Some(c) if !c.is_empty() => c,
        _ => "/".to_string(),
    };
    let host_pid = host::process::host_pid();
    let use_daemon = config.use_daemon;
    let cred = match &config.user {
        Some(u) => task::Cred::new(u.uid, u.uid, u.gid, u.gid, u.groups.clone()),
        None => task::Cred::of_host_process(),
    };
    let start = Start {
        cred,
        config,
        pid: host_pid as u32,
        cwd,
        umask: host::process::take_umask(),
        envp: envp.clone(),
        start_uptime: host::process::uptime_and_load().0,
    };
    let p = match init_process(start) {
        Ok(p) => p,
        Err(e) => return e,
    };

    // The guest inherits the host process's open fds under the same numbers,
    // as a Linux process inherits its parent's.
    {
        let mut fds = lock(&p.fds);
        for fd in inherited {
            if let Some((name, is_dir, flags)) = describe_host_fd(fd) {
                let _ = host::fs::set_host_cloexec(fd, true);
                let file = OpenFile::new(name, HostFile::new(fd, is_dir), flags);
                let _ = fds.install_at(fd, Arc::new(file), false);
            }
        }
    }

    let path_var = envp.iter().find_map(|e| e.strip_prefix(b"PATH=")).map(|v| String::from_utf8_lossy(v).into_owned());
    let prog = match loader::find_program(&vfs::path::from_bytes(program), path_var.as_deref()) {
        Ok(p) => p,
        Err(e) => return start_err(e.status, e.msg),
    };
    let mut argv: Vec<Vec<u8>> = vec![program.to_vec()];
    argv.extend(args.iter().cloned());

    exec_into(p, &prog, &prog, argv, &envp, use_daemon.then_some(host_pid), true)
}

/// Continues a task after its execve: the state comes from `fd` (see `handover.rs`).
pub fn resume(fd: i32) -> StartError {
    let h = match handover::read(fd) {
        Ok(h) => h,
        Err(e) => return start_err(70, e),
    };
    let start = Start {
        config: h.config,
        pid: h.pid,
        cwd: h.cwd,
        umask: h.umask,
        envp: h.envp.clone(),
        start_uptime: h.start_uptime,
        cred: h.cred,
    };
    // The runtime applies the guest's umask itself.
    host::process::take_umask();
    let p = match init_process(start) {
        Ok(p) => p,
        Err(e) => return e,
    };
    // The daemon first: reopening a /proc file of another task needs it.
    if let Some(d) = h.daemon {
        let _ = host::fs::set_host_cloexec(d.fd, true);
        let client = daemon::client_from_fd(d.fd, d.daemon_pid, d.is_handshake_owed);
        daemon::adopt(
            // What it runs is published once the program is loaded.
            daemon::Identity { pid: d.pid, ppid: d.ppid, pgid: d.pgid, sid: d.sid, info: mactux_proto::TaskInfo::default() },
            Some(client),
        );
    }
    {
        let mut fds = lock(&p.fds);
        // One OpenFile per open file description, shared again by the fds
        // that shared it before the exec.
        let mut open_files: Vec<(u32, Arc<OpenFile>)> = Vec::new();
        let objects = vfs::file::ExecObjects::default();
        // The open files seen so far: a later fd of one either shares it
        // or, when it could not be made again, is lost with it.
        let mut seen: Vec<u32> = Vec::new();
        for f in &h.fds {
            if seen.contains(&f.open_file) {
                if let Some((_, file)) = open_files.iter().find(|(id, _)| *id == f.open_file) {
                    let _ = fds.install_at(f.guest_fd, file.clone(), false);
                }
                continue;
            }
            seen.push(f.open_file);
            let file = if let Some(k) = &f.kind {
                for &hfd in &k.host_fds {
                    let _ = host::fs::set_host_cloexec(hfd, true);
                }
                match syscall::restore_after_exec(k, &objects) {
                    Ok(ops) => {
                        let mut file = OpenFile::with_ops(f.guest_path.clone(), ops, f.status);
                        file.ino = f.ino;
                        file
                    }
                    Err(_) => {
                        // The kind could not be made again (its state did
                        // not decode, or a host resource is gone): the fd is
                        // lost, the exec goes on, as Linux's never fails
                        // for an fd. Its host fds go with it.
                        for &hfd in &k.host_fds {
                            host::fs::close(hfd);
                        }
                        continue;
                    }
                }
            } else {
                match f.host_fd {
                    Some(hfd) => {
                        let _ = host::fs::set_host_cloexec(hfd, true);
                        let mut file = OpenFile::new(f.guest_path.clone(), HostFile::new(hfd, f.is_dir), f.status);
                        file.ino = f.ino;
                        file
                    }
                    // Only a path names a file to reopen (an anonymous
                    // kind's name, `anon_inode:[...]`, is no path).
                    None if f.guest_path.starts_with('/') => match vfs::reopen(&f.guest_path, f.status) {
                        Ok(file) => file,
                        Err(_) => continue,
                    },
                    None => continue,
                }
            };
            *lock(&file.async_owner) = f.async_owner;
            let file = Arc::new(file);
            if f.status & abi::gen::FASYNC != 0 {
                // The host fd's events went to the old image's watcher.
                if let Some(hfd) = file.host_fd() {
                    let _ = p.sigio.arm(&file, hfd);
                }
            }
            if let Some((fd, mask)) = f.dnotify {
                // F_NOTIFY outlives execve with its open file.
                let _ = p.sigio.dir_notify(&file, fd, mask);
            }
            open_files.push((f.open_file, file.clone()));
            let _ = fds.install_at(f.guest_fd, file, false);
        }
        // Kinds that refer to other open files (an epoll's interest list)
        // find them now that all are back.
        let find = |id: u32| open_files.iter().find(|(i, _)| *i == id).map(|(_, f)| f.clone());
        for (_, file) in &open_files {
            file.ops().after_exec(&find);
        }
    }
    {
        let mut sig = lock(&p.sig);
        for (i, a) in sig.actions.iter_mut().enumerate() {
            if h.sig_ignored & (1 << i) != 0 {
                a.handler = abi::signal::SIG_IGN;
            }
        }
    }
    {
        let thread = first_thread(p);
        let mut l = signal::lock_state(&thread);
        l.set_mask(h.sig_mask);
        for (raw, pid_is_host) in &h.sig_pending {
            let signo = raw.get(..4).and_then(|b| b.try_into().ok()).map(i32::from_ne_bytes).unwrap_or(0);
            let Some(sig) = u64::try_from(signo).ok().and_then(abi::signal::Signal::from_raw) else { continue };
            let mut info = signal::SigInfo::from_bytes(sig, raw);
            info.pid_is_host = *pid_is_host;
            l.enqueue(info);
        }
    }
    syscall::proc_model::adopt_children(&h.children);
    syscall::identity::adopt_kept(h.kept);
    exec_into(p, &h.path, &h.execfn, h.argv, &h.envp, None, false)
}
