//! A process that shares its parent's memory without being a thread of it:
//! clone with CLONE_VM and neither CLONE_THREAD nor CLONE_VFORK.
//! <https://man7.org/linux/man-pages/man2/clone.2.html>
//!
//! Its memory must be its parent's, so it runs as a host thread of its
//! parent's host process, with its own Linux pid and its own `Process`
//! (leaked: a host process makes few, and threads, files and signals may
//! name it after it ended). The host threads of such a child find it as
//! their current process (`task::enter`). It shares with its parent the
//! memory map, the private futexes, the rewritten syscall sites and the
//! guest's RLIMIT_AS; the fd table under CLONE_FILES and the fs context
//! under CLONE_FS (copies otherwise); its dispositions are a copy.
//!
//! Its pid comes from the daemon as a fork child's does (`ReserveChild`,
//! then `Forked` naming this host process), so other tasks see it as the
//! caller's child. Its end is told to its parent here, not by a host wait:
//! the parent's wait4/waitid find it in `Process::vm_children`
//! ([`wait`]), and its exit signal (if any) is queued to the parent. As on
//! Linux, a child whose exit signal is not SIGCHLD is found only by a
//! __WCLONE or __WALL wait. Its threads are host threads too; its
//! exit_group (or a fatal signal) has the others leave at their next
//! return to guest code or wait ([`zap_other_threads`]). The host process
//! ends with its last Linux process: the host leader's exit_group has its
//! own other threads leave so and waits for its CLONE_VM children to end
//! ([`wait_for_all`]). An execve in such a child first moves it to a host
//! process of its own, a host fork by its calling thread
//! ([`leave_for_exec`]), since the new program must not replace the image
//! its parent runs in; its parent then waits for that host process as for
//! a forked child. A signal for the child that reaches this host process
//! after the fork (a kill from its parent, or from a task that looked its
//! pid up before the daemon named the new host process) is forwarded
//! there ([`moved_host`]): the new program takes it.
//!
//! Divergences from Linux:
//! - Host signals go to the host process, whose first Linux process takes
//!   them: a CLONE_VM child's host threads keep every host signal blocked
//!   but the runtime's own kick. A kill(2), tkill(2) or tgkill(2) from a
//!   process of the same host process is queued on the right one; one
//!   from another task or from `mactux kill` names its Linux process in
//!   the host signal's value on Linux hosts (proc_model.rs
//!   `signal_named`), and the first process hands it on. On macOS (no
//!   sigqueue) such a kill is the first process's. A terminal's signal to
//!   the foreground group (^C, ^Z, a resize, a hang-up) reaches every
//!   Linux process of the host process (signal/mod.rs `is_from_terminal`):
//!   they are all in its group, since setpgid in or of such a child is
//!   refused; a group the first process moved to later takes them all
//!   along. A SIGSTOP stops them all.
//! - Refused (ENOSYS, reported by `MACTUX_LOG=missing`): CLONE_SIGHAND
//!   (shared handlers), CLONE_PARENT, CLONE_PIDFD, and running without a
//!   daemon; in such a child, fork, vfork, setsid and setpgid, and an
//!   execve while it has CLONE_VM children of its own; setpgid of such a
//!   child by its parent. A fork would copy the other Linux processes'
//!   host threads away. Refused too: an execve of the host leader while
//!   such a child runs (Linux lets the child go on in the old memory).
//! - The host leader's exit_group waits for its CLONE_VM children to end
//!   before the host process ends, and its parent sees it end only then;
//!   a fatal signal of the host leader ends them all at once. A child
//!   whose parent ended still reads that parent's pid from getppid.
//! - A fatal signal ends such a child without a core dump.

use super::Ctx;
use crate::abi::gen as g;
use crate::abi::signal::Signal;
use crate::error::{Error, Result};
use crate::task::{current, lock, Process, Thread, VmChild, VmLink};
use crate::{daemon, errno, host, trap, uaccess};
use mactux_proto::{Request, Vpid, WaitTarget};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
use std::sync::{Arc, Mutex};

/// Host stack of the child's host side (trap handlers run on the
/// alternate stack).
const HOST_STACK_SIZE: usize = 256 * 1024;

/// What clone was asked for.
pub struct NewProcess {
    pub flags: u32,
    pub stack: u64,
    pub parent_tid: u64,
    pub child_tid: u64,
    pub tls: u64,
}

fn refused(what: &'static str) -> Error {
    super::refuse("clone", crate::abi::Errno::ENOSYS, what, None)
}

/// Refuses `call` in a CLONE_VM child process (see the module header).
pub fn refuse_in_child(call: &'static str, what: &'static str) -> Result<()> {
    if current().vm.is_some() {
        return Err(super::refuse(call, crate::abi::Errno::ENOSYS, what, None));
    }
    Ok(())
}

/// Creates the process (clone with CLONE_VM, without CLONE_THREAD or
/// CLONE_VFORK): returns its pid.
pub fn clone_vm(cx: &mut Ctx<'_>, c: NewProcess) -> Result<u64> {
    if c.flags & g::CLONE_SIGHAND != 0 {
        return Err(refused("a process sharing its parent's signal handlers (CLONE_VM|CLONE_SIGHAND without CLONE_THREAD) is not emulated"));
    }
    if c.flags & (g::CLONE_PARENT | g::CLONE_PIDFD) != 0 {
        return Err(refused("CLONE_PARENT and CLONE_PIDFD with CLONE_VM without CLONE_THREAD are not emulated"));
    }
    if daemon::is_standalone() {
        return Err(refused("a process sharing memory needs the daemon for its pid"));
    }
    let exit_signal = (c.flags & g::CSIGNAL) as u8;
    let parent = current();
    let pid = daemon::reserve_child()?;
    daemon::forked(pid, host::process::host_pid());
    let creator = cx.thread();
    let comm = lock(&creator.comm).clone();
    let thread = Arc::new(Thread::new(pid as u32, creator.mask(), comm, creator.affinity.load(Relaxed)));
    if c.flags & g::CLONE_CHILD_CLEARTID != 0 {
        thread.clear_child_tid.store(c.child_tid, Relaxed);
    }
    let child: &'static Process = Box::leak(Box::new(new_process(parent, pid as u32, c.flags, exit_signal, thread.clone())));
    // As Linux, failures to store the pid are ignored; the memory is
    // shared, so the child's store is made here.
    if c.flags & g::CLONE_PARENT_SETTID != 0 {
        let _ = uaccess::write(c.parent_tid, &pid);
    }
    if c.flags & g::CLONE_CHILD_SETTID != 0 {
        let _ = uaccess::write(c.child_tid, &pid);
    }
    let mut regs: trap::GuestRegs = *cx.regs;
    regs.rax = 0;
    if c.stack != 0 {
        regs.rsp = c.stack;
    }
    let tls = if c.flags & g::CLONE_SETTLS != 0 { c.tls } else { cx.ctl.guest_tls };
    crate::task::add_vm_process(child);
    lock(&parent.vm_children).push(VmChild { process: child, pid, exit_signal, status: None });
    let start = crate::task::ThreadStart { process: child, thread, regs, tls };
    if let Err(e) = host::thread::spawn(HOST_STACK_SIZE, Box::new(move || child_main(child, start))) {
        lock(&parent.vm_children).retain(|k| !std::ptr::eq(k.process, child));
        crate::task::remove_vm_process(child);
        child.has_exited.store(true, Relaxed);
        daemon::post(&Request::Reaped { pid });
        return Err(Error::with_message(e, "cannot start a host thread"));
    }
    Ok(pid as u64)
}

/// The child's `Process`: what it shares with `parent`, and copies of the
/// rest (copy_process, kernel/fork.c).
fn new_process(parent: &'static Process, pid: u32, flags: u32, exit_signal: u8, thread: Arc<Thread>) -> Process {
    let fds = if flags & g::CLONE_FILES != 0 {
        parent.fds.clone()
    } else {
        Arc::new(Mutex::new(lock(&parent.fds).clone()))
    };
    let fs = if flags & g::CLONE_FS != 0 {
        parent.fs.clone()
    } else {
        let f = lock(&parent.fs);
        let mut copy = crate::task::FsContext::new(f.cwd.clone(), f.umask);
        copy.root = f.root.clone();
        Arc::new(Mutex::new(copy))
    };
    let actions = lock(&parent.sig).actions;
    Process {
        config: parent.config.clone(),
        root: parent.root.clone(),
        vpid: AtomicU32::new(pid),
        mm: parent.mm.clone(),
        fds,
        fs,
        sig: Mutex::new(crate::task::SignalState { actions, shared: Default::default(), watchers: Vec::new(), queued: 0 }),
        host_sig: Default::default(),
        threads: Mutex::new(vec![thread]),
        tid_pool: Mutex::new(Default::default()),
        idle_hosts: Mutex::new(Vec::new()),
        timers: Default::default(),
        sigio: Default::default(),
        futexes: parent.futexes.clone(),
        comm: Mutex::new(lock(&parent.comm).clone()),
        exe: Mutex::new(lock(&parent.exe).clone()),
        argv: Mutex::new(lock(&parent.argv).clone()),
        envp: Mutex::new(lock(&parent.envp).clone()),
        start_uptime: parent.start_uptime,
        missing: (0..super::table::NR_LIMIT).map(|_| AtomicU32::new(0)).collect(),
        refused: Mutex::new(Vec::new()),
        trace: parent.trace.as_ref().map(|t| Mutex::new(super::trace::Sink { host_fd: lock(t).host_fd })),
        persona: AtomicU32::new(parent.persona.load(Relaxed)),
        guest_as: parent.guest_as.clone(),
        cred: Mutex::new(parent.cred()),
        sched_policy: AtomicU32::new(parent.sched_policy.load(Relaxed)),
        ioprio: AtomicU32::new(parent.ioprio.load(Relaxed)),
        // A new process: as after fork (copy_process clears it).
        pdeathsig: std::sync::atomic::AtomicU8::new(0),
        children: Mutex::new(Vec::new()),
        reaped: Mutex::new(Vec::new()),
        vfork_return: Mutex::new(None),
        ppid_cache: Mutex::new(None),
        leader_exit: Default::default(),
        membarrier_registered: AtomicU32::new(0),
        publisher: Mutex::new(None),
        publish_asked: AtomicBool::new(false),
        nofile_limit: Default::default(),
        address_space_limit: Default::default(),
        publishing: Mutex::new(()),
        view_changed: AtomicBool::new(false),
        ready_since: Mutex::new(None),
        syscall_sites: parent.syscall_sites.clone(),
        in_flight: parent.in_flight.clone(),
        syscall_traps: AtomicU64::new(0),
        vm: Some(VmLink { parent, exit_signal }),
        vm_children: Mutex::new(Vec::new()),
        vm_child_event: Default::default(),
        has_exited: AtomicBool::new(false),
        moved_for_exec: std::sync::atomic::AtomicI32::new(0),
        is_group_exiting: AtomicBool::new(false),
    }
}

/// The child's host thread: its trap, then guest code from the clone's
/// registers; it ends with the child.
fn child_main(p: &'static Process, start: crate::task::ThreadStart) {
    crate::task::enter(p);
    // Before anything can arrive: the host process's signals are its
    // first Linux process's (see the module header).
    host::trap::take_kicks_only();
    let ctl = match trap::setup_thread(start.thread.clone()) {
        Ok(c) => c,
        Err(e) => host::process::fatal(&format!("a CLONE_VM child could not start: {e}")),
    };
    host::tls::set_guest_tls(ctl, start.tls);
    *lock(&start.thread.host) = Some(host::thread::current());
    host::process::unblock_trap_signals();
    crate::signal::init_thread();
    crate::signal::lock_state(&start.thread).update_blocked();
    let regs = start.regs;
    drop(start);
    trap::run_guest(ctl, &regs);
    host::trap::block_all_signals();
    trap::end_thread(ctl);
}

/// Ends the calling CLONE_VM child process with Linux wait status
/// `status` (its exit_group, its last thread's exit, a fatal signal):
/// what Linux's do_exit does for it, then its parent is told.
pub fn end_process(ctl: &mut trap::ThreadCtl, status: i32) -> ! {
    let p = current();
    if !zap_other_threads(ctl.thread()) {
        // Another thread is ending the process already.
        leave_group_exit(ctl);
    }
    finish(ctl, p, status)
}

/// The end of the calling process `p`, whose other threads have left:
/// [`release`], then its parent is told.
fn finish(ctl: &mut trap::ThreadCtl, p: &'static Process, status: i32) -> ! {
    release(ctl, p);
    if let Some(link) = &p.vm {
        tell_parent(p, link, status);
    }
    // The host leader may be waiting for its last CLONE_VM child.
    crate::task::host_leader().vm_child_event.unpark();
    trap::leave_guest(ctl)
}

/// What the end of the calling process `p` (its last thread, the caller)
/// lets go here: its robust mutexes and PI futexes, its
/// CLONE_CHILD_CLEARTID word (cleared and woken: the memory is shared with
/// the parent, mm_release), its fd table and fs context unless shared; it
/// is marked ended.
fn release(ctl: &mut trap::ThreadCtl, p: &'static Process) {
    let thread = ctl.thread_arc();
    super::thread::exit_robust_lists();
    super::futex::exit_pi_state_list(thread.tid());
    lock(&p.threads).clear();
    thread.exited.store(true, Relaxed);
    let ctid = thread.clear_child_tid.load(Relaxed);
    if ctid != 0 && uaccess::write(ctid, &0u32).is_ok() {
        super::futex::wake_word(ctid, 1);
    }
    *lock(&thread.host) = None;
    drop(thread);
    // Its own fd table closes with it (a shared one stays with the others).
    if Arc::strong_count(&p.fds) == 1 {
        let table = std::mem::take(&mut *lock(&p.fds));
        drop(table);
    }
    if Arc::strong_count(&p.fs) == 1 {
        lock(&p.fs).cwd_dirs = None;
    }
    p.has_exited.store(true, Relaxed);
}

/// In the new host process [`leave_for_exec`] made: where it reports an
/// exec that failed (its errno); close-on-exec, so a successful exec
/// closes it with nothing written.
pub struct ExecHost {
    result_fd: host::HostFd,
}

impl ExecHost {
    /// The exec failed here: the old host process ends the child (it is
    /// past the point of no return), and this one, which must run no guest
    /// code (it is a copy of memory the child no longer owns), ends.
    pub fn failed(self, errno: crate::abi::Errno) -> ! {
        let _ = host::fs::write_all(self.result_fd, &i32::from(errno.0).to_le_bytes());
        host::process::exit(127)
    }
}

/// execve in a CLONE_VM child process: the new program must not replace
/// the image its parent runs in, so the child first moves to a host
/// process of its own, a host fork made by its calling thread (its other
/// threads are ended first, as Linux's de_thread ends them). Returns in
/// that new host process only, where the exec goes on under the same pid
/// (the daemon now names the new host process for it, `Forked`; the new
/// program registers with `Reattach`). In this host process the child
/// then leaves without an exit: its parent waits for the new host process
/// as for a forked child, and its CLONE_CHILD_CLEARTID word is cleared as
/// at an exec. A host exec that fails after the fork ends the child with
/// SIGSEGV, as Linux does past the point of no return. Errors before the
/// fork come back to the caller.
pub fn leave_for_exec(ctl: &mut trap::ThreadCtl) -> Result<ExecHost> {
    let p = current();
    let Some(link) = &p.vm else { return Err(errno!(EINVAL, "not a CLONE_VM child process")) };
    let pid = p.pid() as Vpid;
    if !zap_other_threads(ctl.thread()) {
        leave_group_exit(ctl);
    }
    // An error before the fork returns to the child, single-threaded now.
    let fail = |e: Error| -> Result<ExecHost> {
        p.is_group_exiting.store(false, Relaxed);
        Err(e)
    };
    // go: the parent side lets the new host process on once the daemon
    // knows it; result: the new host process's answer.
    let (go_r, go_w) = match host::fs::pipe() {
        Ok(p) => p,
        Err(e) => return fail(Error::with_message(e, "cannot make the pipe an execve waits on")),
    };
    let (res_r, res_w) = match host::fs::pipe() {
        Ok(p) => p,
        Err(e) => {
            host::fs::close(go_r);
            host::fs::close(go_w);
            return fail(Error::with_message(e, "cannot make the pipe an execve waits on"));
        }
    };
    // What is pending at the fork goes with the new host process (its
    // copy of this one); what comes later is forwarded to it.
    let pending_at_fork = (lock(&p.sig).shared.set, ctl.thread().pending_set.load(Relaxed));
    match super::proc_model::host_fork(ctl, pid as u32) {
        Ok(0) => {
            *lock(&ctl.thread().host) = Some(host::thread::current());
            daemon::become_child(pid);
            host::fs::close(go_w);
            host::fs::close(res_r);
            // Nothing comes: the parent side could not bind this host
            // process to the pid, and gave up.
            // One read, not to the end: a copy of the write end that a
            // concurrent fork took must not hold this process up.
            let mut b = [0u8; 1];
            if !matches!(host::fs::read_retrying(go_r, &mut b), Ok(1)) {
                host::process::exit(127);
            }
            host::fs::close(go_r);
            Ok(ExecHost { result_fd: res_w })
        }
        Ok(new_host) => {
            host::fs::close(go_r);
            host::fs::close(res_w);
            // Before the new host process may register under the pid.
            let bound = daemon::call(&Request::Forked { pid, host_pid: new_host });
            if !matches!(bound, Ok(mactux_proto::Response::Ok)) {
                host::fs::close(go_w);
                host::fs::close(res_r);
                reap(new_host);
                return fail(super::refuse("execve", crate::abi::Errno::ENOSYS, "the daemon would not move a CLONE_VM child process to a host process of its own", None));
            }
            forward_from_now(ctl.thread(), p, new_host, pending_at_fork);
            let _ = host::fs::write_all(go_w, &[1]);
            host::fs::close(go_w);
            // Nothing and the end of the pipe: the exec closed it.
            let mut answer = [0u8; 4];
            let failed = matches!(host::fs::read_retrying(res_r, &mut answer), Ok(4));
            host::fs::close(res_r);
            if failed {
                reap(new_host);
                finish(ctl, p, Signal::SIGSEGV.0 as i32);
            }
            // The exec is done there: this process is that host process's
            // now, its parent's forked child.
            release(ctl, p);
            lock(&link.parent.vm_children).retain(|k| !std::ptr::eq(k.process, p));
            crate::task::remove_vm_process(p);
            lock(&link.parent.children).push((pid, new_host));
            wake_waiters(link.parent);
            crate::task::host_leader().vm_child_event.unpark();
            trap::leave_guest(ctl)
        }
        Err(e) => {
            for fd in [go_r, go_w, res_r, res_w] {
                host::fs::close(fd);
            }
            fail(Error::with_message(e, "host fork for execve failed"))
        }
    }
}

/// From now on a signal for `p` goes to `new_host`, which the daemon names
/// for its pid already: the new program runs there. A signal queued here
/// since the fork (pending then: `at_fork`, the shared set and the
/// thread's), by a kill from this host process or from another task that
/// still named this one, is forwarded to it; it would be lost here.
fn forward_from_now(thread: &Thread, p: &'static Process, new_host: i32, at_fork: (u64, u64)) {
    let late = {
        let _st = lock(&p.sig);
        p.moved_for_exec.store(new_host, std::sync::atomic::Ordering::Release);
        (_st.shared.set & !at_fork.0) | (thread.pending_set.load(Relaxed) & !at_fork.1)
    };
    for nr in 1..=64u64 {
        if late & (1 << (nr - 1)) != 0 {
            if let Some(sig) = Signal::from_raw(nr) {
                forward_signal(p, new_host, sig);
            }
        }
    }
}

/// Sends `sig` for `p` to the host process it moved to for an execve, as a
/// kill from another task (that host process holds no parent of it, so
/// the daemon need not be asked about a SIGKILL).
fn forward_signal(p: &Process, host_pid: i32, sig: Signal) {
    let _ = super::proc_model::signal_named(p.pid() as Vpid, host_pid, Some(sig), &mut |_| None);
}

/// The host process `p` moved to for an execve, once it has.
fn moved_host(p: &Process) -> Option<i32> {
    Some(p.moved_for_exec.load(std::sync::atomic::Ordering::Acquire)).filter(|&h| h > 0)
}

/// Reaps the host process [`leave_for_exec`] forked, which ends by itself
/// (it had no pid to run under, or its exec failed).
fn reap(host_pid: i32) {
    while matches!(host::process::wait(host_pid, 0), Err(e) if e == crate::abi::Errno::EINTR) {}
}

/// How long the thread that ends its process sleeps at most between looks
/// at the threads still leaving.
const ZAP_POLL_NS: u64 = 10_000_000;

/// Has every other thread of the caller's process leave (Linux's
/// zap_other_threads; each leaves at its next return to guest code or
/// wait, [`leave_group_exit`]) and waits until they have. False when
/// another thread is ending the process already.
pub fn zap_other_threads(me: &Thread) -> bool {
    let p = current();
    if p.is_group_exiting.swap(true, std::sync::atomic::Ordering::AcqRel) {
        return false;
    }
    loop {
        let seq = me.parker.seq();
        let others: Vec<Arc<Thread>> = p.thread_list().into_iter().filter(|t| !std::ptr::eq(&**t, me)).collect();
        if others.is_empty() {
            return true;
        }
        for t in &others {
            t.kick();
        }
        me.parker.park(seq, Some(ZAP_POLL_NS));
    }
}

/// Ends the calling thread because another one ends its process: as its
/// own exit would for the thread (its robust mutexes, PI futexes and
/// CLONE_CHILD_CLEARTID word), without ending the process through it.
pub fn leave_group_exit(ctl: &mut trap::ThreadCtl) -> ! {
    let p = current();
    let thread = ctl.thread_arc();
    super::thread::exit_robust_list(&thread);
    super::futex::exit_pi_state_list(thread.tid());
    lock(&p.threads).retain(|t| !Arc::ptr_eq(t, &thread));
    thread.exited.store(true, Relaxed);
    let ctid = thread.clear_child_tid.load(Relaxed);
    if ctid != 0 && uaccess::write(ctid, &0u32).is_ok() {
        super::futex::wake_word(ctid, 1);
    }
    *lock(&thread.host) = None;
    drop(thread);
    // The thread ending the process waits for the list to empty.
    for t in p.thread_list() {
        t.parker.unpark();
    }
    trap::leave_guest(ctl)
}

/// [`end_process`] for a caller below any `Ctx` (signal::terminate).
pub fn end_calling_process(status: i32) -> ! {
    trap::with_calling_ctl(|ctl| end_process(ctl, status))
}

/// do_notify_parent (kernel/signal.c): the status goes to the parent's
/// list (or the child is reaped at once when the parent ignores SIGCHLD),
/// then the exit signal.
fn tell_parent(p: &'static Process, link: &VmLink, status: i32) {
    let parent = link.parent;
    let pid = p.pid() as Vpid;
    let sigchld = Signal::SIGCHLD.0;
    let ignores_sigchld = {
        let st = lock(&parent.sig);
        let act = st.actions[usize::from(sigchld - 1)];
        act.handler == crate::abi::signal::SIG_IGN || act.flags & u64::from(g::SA_NOCLDWAIT) != 0
    };
    let auto_reap = link.exit_signal == sigchld && ignores_sigchld;
    {
        let mut kids = lock(&parent.vm_children);
        if auto_reap {
            kids.retain(|k| !std::ptr::eq(k.process, p));
        } else if let Some(k) = kids.iter_mut().find(|k| std::ptr::eq(k.process, p)) {
            k.status = Some(status);
        }
    }
    if auto_reap {
        crate::task::remove_vm_process(p);
        daemon::post(&Request::Reaped { pid });
    }
    // The status is in place before the signal: a parent the signal wakes
    // from its wait finds the child ended (as Linux's do_wait looks for a
    // zombie before it looks for a signal).
    if link.exit_signal != 0 && !parent.has_exited.load(Relaxed) {
        if let Some(sig) = Signal::from_raw(u64::from(link.exit_signal)) {
            let (code, value) = super::proc_model::cld_code_and_status(status);
            let info = crate::signal::SigInfo::child(sig, code, pid, p.cred().uid, value);
            let mut st = lock(&parent.sig);
            crate::signal::send_to_process(parent, &mut st, None, info);
        }
    }
    wake_waiters(parent);
}

/// Wakes whichever thread of `p` waits for a child: each parks on its own
/// parker (which a signal's kick also ends), so each is woken, and the
/// others look again at what they wait for and sleep on.
fn wake_waiters(p: &Process) {
    for t in p.thread_list() {
        t.parker.unpark();
    }
    p.vm_child_event.unpark();
}

/// Whether a child with exit signal `exit_signal` is one a wait with
/// `options` looks for (`eligible_child`, kernel/exit.c).
fn is_eligible(exit_signal: u8, options: u32) -> bool {
    if options & g::__WALL != 0 {
        return true;
    }
    let is_clone = exit_signal != Signal::SIGCHLD.0;
    is_clone == (options & g::__WCLONE != 0)
}

/// What [`wait`] found among the caller's CLONE_VM children.
pub enum Found {
    /// None of them is one the wait looks for: the host wait decides.
    NoneEligible,
    /// Some are, none has ended yet.
    Running,
    /// This one has ended (pid, Linux wait status); reaped unless peeked.
    Ended(Vpid, i32),
}

/// Looks for a CLONE_VM child of the caller that `target` and `options`
/// name and that has ended; reaps it unless `is_peek` (WNOWAIT).
pub fn find(target: WaitTarget, options: u32, is_peek: bool) -> Result<Found> {
    let p = current();
    if lock(&p.vm_children).is_empty() {
        return Ok(Found::NoneEligible);
    }
    // Such a child stays in its parent's process group (it cannot leave it).
    let group_matches = match target {
        WaitTarget::Pgid(g) => super::process::pgid_of(0)? == g,
        _ => true,
    };
    let mut kids = lock(&p.vm_children);
    let matches = |k: &VmChild| {
        is_eligible(k.exit_signal, options)
            && match target {
                WaitTarget::Pid(pid) => k.pid == pid,
                WaitTarget::Any => true,
                WaitTarget::Pgid(_) => group_matches,
            }
    };
    let Some(i) = kids.iter().position(|k| matches(k) && k.status.is_some()) else {
        return Ok(if kids.iter().any(matches) { Found::Running } else { Found::NoneEligible });
    };
    let (pid, status) = (kids[i].pid, kids[i].status.unwrap_or(0));
    if !is_peek {
        let k = kids.remove(i);
        drop(kids);
        crate::task::remove_vm_process(k.process);
        daemon::post(&Request::Reaped { pid });
    }
    Ok(Found::Ended(pid, status))
}

/// How often a wait that also looks for host children polls them while it
/// sleeps for a CLONE_VM child.
const HOST_POLL_NS: u64 = 10_000_000;

/// Sleeps until a CLONE_VM child of the caller changes state, a signal
/// for the caller arrives, or `HOST_POLL_NS` passes when `polls_host`;
/// EINTR when a signal is already there. `seq` was read before the caller
/// looked at its children, which it looks at again after the sleep, before
/// a signal counts (do_wait, kernel/exit.c).
pub fn sleep(seq: u32, polls_host: bool) -> Result<()> {
    let Some(me) = trap::calling_thread() else { crate::return_errno_with_message!(EINTR, "no calling thread to wait on") };
    if crate::signal::interrupts(&me) {
        crate::return_errno_with_message!(EINTR, "a signal arrived while waiting for a child");
    }
    me.parker.park(seq, polls_host.then_some(HOST_POLL_NS));
    Ok(())
}

/// What a wait for a CLONE_VM child sleeps on (the calling thread's
/// parker), read before it looks at its children.
pub fn event_seq() -> u32 {
    trap::calling_thread().map_or(0, |t| t.parker.seq())
}

/// In the host leader's exit_group: the host process ends with its last
/// Linux process, so it waits for the CLONE_VM children still running.
pub fn wait_for_all() {
    let leader = crate::task::host_leader();
    loop {
        let seq = leader.vm_child_event.seq();
        if crate::task::live_vm_processes() == 0 {
            return;
        }
        leader.vm_child_event.park(seq, Some(100_000_000));
    }
}

/// The other Linux process of this host process with pid `pid`, if any
/// (not the caller's own): a signal for it is queued here, not sent as a
/// host signal, which the host leader would take.
pub fn local_process(pid: i32) -> Option<&'static Process> {
    let me = current();
    let pid = u32::try_from(pid).ok()?;
    let p = match crate::task::vm_process(pid) {
        Some(p) => p,
        None => {
            let leader = crate::task::host_leader();
            if leader.pid() != pid || leader.has_exited.load(Relaxed) {
                return None;
            }
            leader
        }
    };
    (!std::ptr::eq(p, me)).then_some(p)
}

/// Queues `sig` (None: only probe) from the caller to the process `p` of
/// this host process, or to its thread `tid`. A process that ended and
/// was not yet reaped takes nothing (a zombie), as on Linux.
pub fn signal_local(p: &'static Process, tid: Option<u32>, sig: Option<Signal>, code: i32) -> Result<u64> {
    let target = match tid {
        Some(t) => match p.thread(t) {
            Some(th) => Some(th),
            None => crate::return_errno_with_message!(ESRCH, "no such thread"),
        },
        None => None,
    };
    let Some(sig) = sig else { return Ok(0) };
    if p.has_exited.load(Relaxed) {
        return Ok(0);
    }
    let me = current();
    queue_local(p, target.as_deref(), crate::signal::SigInfo::kill(sig, code, me.pid() as i32, me.cred().uid));
    Ok(0)
}

/// Queues `info` on `p`, a process of this host process (on its thread
/// `target`, if given), or, once `p` has moved to a host process of its
/// own for an execve, sends it there ([`moved_host`]).
pub fn queue_local(p: &'static Process, target: Option<&Thread>, info: crate::signal::SigInfo) {
    let mut st = lock(&p.sig);
    match moved_host(p) {
        Some(host_pid) => {
            drop(st);
            forward_signal(p, host_pid, info.signal());
        }
        None => {
            crate::signal::send_to_process(p, &mut st, target, info);
        }
    }
}

/// getppid in a CLONE_VM child: its parent, known here.
pub fn parent_pid() -> Option<u32> {
    current().vm.as_ref().map(|l| l.parent.pid())
}

/// exit_group of the caller, `code` & 0xff: a CLONE_VM child ends here
/// alone. The host leader returns to end the host process, once its other
/// threads have left and its CLONE_VM children have ended (if it has any:
/// otherwise the host exit ends its threads).
pub fn exit_group(cx: &mut Ctx<'_>, code: i32) {
    if current().vm.is_some() {
        end_process(cx.ctl, (code & 0xff) << 8);
    }
    if crate::task::live_vm_processes() > 0 {
        if !zap_other_threads(cx.thread()) {
            leave_group_exit(cx.ctl);
        }
        wait_for_all();
    }
}
