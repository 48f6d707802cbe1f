//! Threads: creating one (clone with CLONE_THREAD), ending one (exit), and
//! the calls that are per thread: gettid, set_tid_address, the robust futex
//! list, membarrier.
//! <https://man7.org/linux/man-pages/man2/clone.2.html>
//!
//! A guest thread is a host thread of the runtime's process, started here
//! with the registers its creator trapped with (rax = 0, the new stack,
//! the new thread pointer) and entering guest code through
//! `trap::run_guest`; it shares the `Process` (memory, fds, fs context,
//! dispositions) and owns a `task::Thread`. A host thread whose guest
//! thread exited waits a while for the next one (`Process::idle_hosts`),
//! so creating threads in a loop costs no host thread creation.
//!
//! Divergences from Linux:
//! - A thread starts with the default FP/SSE state, not a copy of its
//!   creator's (MXCSR and the x87 control word at their defaults).
//! - A signal sent to a thread in the moment between its creation and
//!   its first instruction waits until its first syscall (a signal for
//!   the process goes to another thread meanwhile).
//! - The robust mutexes of a process killed by a signal it does not
//!   handle, sent from outside while no thread blocks it (SIGKILL, or a
//!   SIGTERM left at its default), are not released: the host kills the
//!   process before the runtime can walk the lists. exit, exit_group and
//!   a fatal signal the runtime delivers itself release them.
//! - A thread without CLONE_FS or CLONE_FILES is refused (ENOSYS): a
//!   thread shares its process's fd table and fs context. (CLONE_VM
//!   without CLONE_THREAD, a process sharing memory, is syscall/clone_vm.rs.)

use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::Result;
use crate::task::{current, lock, IdleHost, Thread, ThreadStart};
use crate::trap::GuestRegs;
use crate::{host, return_errno, return_errno_with_message, trap, uaccess};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// The flags a thread must share with its creator here.
pub const THREAD_FLAGS: u32 = g::CLONE_VM | g::CLONE_FS | g::CLONE_FILES | g::CLONE_SIGHAND | g::CLONE_THREAD;

/// Host stack of a thread's host side: it runs only the thread's start and
/// end (trap handlers run on the alternate stack).
const HOST_STACK_SIZE: usize = 256 * 1024;

/// What clone and clone3 were asked for, decoded.
pub struct NewThread {
    pub flags: u32,
    pub stack: u64,
    pub parent_tid: u64,
    pub child_tid: u64,
    pub tls: u64,
}

/// How many tids of ended threads the process keeps before it hands the
/// oldest to a new thread. The daemon allocates tids for the task and
/// frees them all when the task ends (`daemon::new_tid`); reusing them
/// here saves two round trips per thread, and the delay keeps a tid that
/// was just seen to end from naming a new thread at once (Linux allocates
/// pids cyclically).
const TID_REUSE_DEPTH: usize = 32;

/// A thread id from the pid namespace.
fn alloc_tid() -> Result<u32> {
    {
        let mut pool = lock(&current().tid_pool);
        if pool.len() > TID_REUSE_DEPTH {
            if let Some(t) = pool.pop_front() {
                return Ok(t);
            }
        }
    }
    crate::daemon::new_tid().map(|t| t as u32)
}

fn release_tid(tid: u32) {
    lock(&current().tid_pool).push_back(tid);
}

/// Creates a thread (clone with CLONE_THREAD): returns its tid.
pub fn clone_thread(cx: &mut Ctx<'_>, c: NewThread) -> Result<u64> {
    if c.flags & THREAD_FLAGS != THREAD_FLAGS {
        let what = "a thread that does not share fs and files with its creator is not emulated";
        return Err(super::refuse("clone", crate::abi::Errno::ENOSYS, what, None));
    }
    if c.flags & g::CLONE_VFORK != 0 {
        return Err(super::refuse("clone", crate::abi::Errno::ENOSYS, "CLONE_VFORK with CLONE_THREAD is not emulated", None));
    }
    let p = current();
    let tid = alloc_tid()?;
    let parent = cx.thread();
    let comm = lock(&parent.comm).clone();
    let thread = Arc::new(Thread::new(tid, parent.mask(), comm, parent.affinity.load(Relaxed)));
    if c.flags & g::CLONE_CHILD_CLEARTID != 0 {
        thread.clear_child_tid.store(c.child_tid, Relaxed);
    }
    let mut regs: GuestRegs = *cx.regs;
    regs.rax = 0;
    if c.stack != 0 {
        regs.rsp = c.stack;
    }
    let tls = if c.flags & g::CLONE_SETTLS != 0 { c.tls } else { cx.ctl.guest_tls };
    // As Linux, failures to store the tid are ignored.
    if c.flags & g::CLONE_PARENT_SETTID != 0 {
        let _ = uaccess::write(c.parent_tid, &tid);
    }
    if c.flags & g::CLONE_CHILD_SETTID != 0 {
        let _ = uaccess::write(c.child_tid, &tid);
    }
    lock(&p.threads).push(thread.clone());
    crate::signal::lock_state(parent).update_blocked();
    let job = ThreadStart { process: p, thread: thread.clone(), regs, tls };
    // A host thread whose guest thread ended waits for the next one: a
    // thread starts without a host thread being made (or its control
    // block and alternate stack mapped) most of the time.
    let job = match lock(&p.idle_hosts).pop() {
        Some(idle) => {
            *lock(&idle.job) = Some(job);
            idle.parker.unpark();
            None
        }
        None => Some(job),
    };
    let spawned = match job {
        Some(job) => host::thread::spawn(HOST_STACK_SIZE, Box::new(move || thread_main(job))),
        None => Ok(()),
    };
    if let Err(e) = spawned {
        lock(&p.threads).retain(|t| !Arc::ptr_eq(t, &thread));
        thread.exited.store(true, Relaxed);
        crate::signal::lock_state(cx.thread()).update_blocked();
        release_tid(tid);
        return Err(crate::error::Error::with_message(e, "cannot start a host thread"));
    }
    p.view_changed.store(true, Relaxed);
    Ok(u64::from(tid))
}

/// How long a host thread waits for another guest thread before it ends.
const IDLE_HOST_NS: u64 = 2_000_000_000;

/// How long a host thread whose guest thread ended keeps looking for the
/// next one, yielding its CPU between looks, before it sleeps. A program
/// that starts threads one after another (create and join in a loop, a
/// pool that replaces a worker) then hands the next one over without
/// waking a sleeping thread, whose CPU has often gone idle meanwhile:
/// waking an idle CPU costs tens of microseconds on a virtual machine.
const IDLE_SPIN: std::time::Duration = std::time::Duration::from_micros(50);

/// The host side of a thread: sets up its trap, runs guest threads (the
/// first, then whichever `clone_thread` hands it while it waits idle), and
/// frees what it held when none came for a while.
fn thread_main(first: ThreadStart) {
    // A host thread runs the threads of one process (its idle list is
    // that process's): a CLONE_VM child process's take no host signal
    // but the kick (syscall/clone_vm.rs).
    crate::task::enter(first.process);
    if !crate::task::is_host_leader(first.process) {
        host::trap::take_kicks_only();
    }
    let ctl = match trap::setup_thread(first.thread.clone()) {
        Ok(c) => c,
        Err(e) => host::process::fatal(&format!("a new thread could not start: {e}")),
    };
    let mut job = first;
    loop {
        host::tls::set_guest_tls(ctl, job.tls);
        *lock(&job.thread.host) = Some(host::thread::current());
        // The host thread starts with its creator's mask inside a trap
        // handler (everything blocked), and waits idle with everything
        // blocked; guest code needs the trap signals and the asynchronous
        // ones open.
        host::process::unblock_trap_signals();
        crate::signal::init_thread();
        let regs = job.regs;
        drop(job);
        trap::run_guest(ctl, &regs);
        host::trap::block_all_signals();
        match wait_for_job() {
            Some(next) => {
                ctl.reuse_for(next.thread.clone());
                job = next;
            }
            None => break,
        }
    }
    trap::end_thread(ctl);
}

/// Offers this host thread for the next guest thread; the job, or None
/// after [`IDLE_HOST_NS`] without one.
fn wait_for_job() -> Option<ThreadStart> {
    let p = current();
    let me = Arc::new(IdleHost::default());
    let offered = me.parker.seq();
    lock(&p.idle_hosts).push(me.clone());
    let now = std::time::Instant::now();
    let deadline = now + std::time::Duration::from_nanos(IDLE_HOST_NS);
    while me.parker.seq() == offered && now.elapsed() < IDLE_SPIN {
        std::thread::yield_now();
    }
    loop {
        let seq = me.parker.seq();
        if let Some(job) = lock(&me.job).take() {
            return Some(job);
        }
        let now = std::time::Instant::now();
        if now >= deadline {
            let mut idle = lock(&p.idle_hosts);
            // Taken off the list: no job can come any more. Still on it
            // means a creator is handing one over right now.
            match idle.iter().position(|h| Arc::ptr_eq(h, &me)) {
                Some(i) => {
                    idle.remove(i);
                    return None;
                }
                None => {
                    drop(idle);
                    me.parker.park(seq, Some(1_000_000));
                    continue;
                }
            }
        }
        me.parker.park(seq, Some(u64::try_from((deadline - now).as_nanos()).unwrap_or(u64::MAX)));
    }
}

pub fn gettid(cx: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    Ok(u64::from(cx.thread().tid()))
}

pub fn set_tid_address(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    cx.thread().clear_child_tid.store(a[0], Relaxed);
    Ok(u64::from(cx.thread().tid()))
}

/// sizeof(struct robust_list_head) on x86_64.
const ROBUST_LIST_HEAD_LEN: u64 = 24;

pub fn set_robust_list(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if a[1] != ROBUST_LIST_HEAD_LEN {
        return_errno_with_message!(EINVAL, "len must be sizeof(struct robust_list_head)");
    }
    cx.thread().robust_list.store(a[0], Relaxed);
    Ok(0)
}

pub fn get_robust_list(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let pid = args::int(a[0]);
    let head = if pid == 0 {
        cx.thread().robust_list.load(Relaxed)
    } else {
        match current().thread(pid as u32) {
            Some(t) => t.robust_list.load(Relaxed),
            None => return_errno_with_message!(ESRCH, "no such thread in this process"),
        }
    };
    uaccess::write(a[1], &head)?;
    uaccess::write(a[2], &ROBUST_LIST_HEAD_LEN)?;
    Ok(0)
}

/// `exit`: ends the calling thread; the last one to end ends the process.
pub fn exit(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let code = args::int(a[0]) & 0xff;
    let p = current();
    let thread = cx.thread_arc();
    let is_last = {
        let mut threads = lock(&p.threads);
        threads.retain(|t| !Arc::ptr_eq(t, &thread));
        thread.exited.store(true, Relaxed);
        threads.is_empty()
    };
    let tid = thread.tid();
    let is_leader = tid == p.pid();
    if is_leader {
        p.leader_exit.store(code | LEADER_EXITED, Relaxed);
    }
    exit_robust_list(&thread);
    // PI futexes it still owns go to their oldest waiter (the kernel's
    // exit_pi_state_list).
    super::futex::exit_pi_state_list(tid);
    if is_last {
        // The status the parent sees is the leader's (wait_task_zombie
        // reads the leader's exit code).
        let leader = p.leader_exit.load(Relaxed);
        let status = if leader & LEADER_EXITED != 0 { leader & 0xff } else { code };
        return super::process::exit_group(cx, [status as u64, 0, 0, 0, 0, 0]);
    }
    let ctid = thread.clear_child_tid.load(Relaxed);
    if ctid != 0 && uaccess::write(ctid, &0u32).is_ok() {
        super::futex::wake_word(ctid, 1);
    }
    *lock(&thread.host) = None;
    // Process signals this thread was picked for go to another one.
    crate::signal::thread_gone(&thread);
    if !is_leader {
        release_tid(tid);
    }
    p.view_changed.store(true, Relaxed);
    drop(thread);
    trap::leave_guest(cx.ctl)
}

/// When the whole process ends (exit_group, a fatal signal): the robust
/// mutexes every thread still holds are released as each thread's exit
/// would (Linux runs `exit_robust_list` for every exiting task), so a
/// process-shared one is EOWNERDEAD for the next locker in another process.
pub fn exit_robust_lists() {
    for t in current().thread_list() {
        exit_robust_list(&t);
    }
}

/// Set in `Process::leader_exit` once the leader has exited.
pub const LEADER_EXITED: i32 = 1 << 16;

/// Linux's bound on a robust list walk (ROBUST_LIST_LIMIT, futex.h).
const ROBUST_LIST_LIMIT: usize = 2048;
const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

/// `exit_robust_list` (kernel/futex/core.c): every robust mutex the dying
/// thread still holds is marked FUTEX_OWNER_DIED and one waiter woken, so
/// the next locker gets EOWNERDEAD. Bad pointers end the walk quietly.
pub(crate) fn exit_robust_list(thread: &Thread) {
    let head = thread.robust_list.load(Relaxed);
    if head == 0 {
        return;
    }
    let tid = thread.tid();
    let read_u64 = |addr: u64| uaccess::read::<u64>(addr).ok();
    let (Some(first), Some(offset), Some(pending)) = (read_u64(head), read_u64(head + 8), read_u64(head + 16)) else {
        return;
    };
    let offset = offset as i64;
    let mut entry = first & !1;
    let pending = pending & !1;
    let mut seen = 0;
    while entry != head && entry != 0 && seen < ROBUST_LIST_LIMIT {
        let Some(next) = read_u64(entry) else { return };
        // The pending entry is handled last, as Linux does.
        if entry != pending {
            futex_owner_died(entry.wrapping_add_signed(offset), tid);
        }
        entry = next & !1;
        seen += 1;
    }
    if pending != 0 {
        futex_owner_died(pending.wrapping_add_signed(offset), tid);
    }
}

/// `handle_futex_death`: if the word still names `tid` as owner, mark the
/// owner dead (keeping the waiters bit) and wake one waiter.
fn futex_owner_died(addr: u64, tid: u32) {
    if addr % 4 != 0 {
        return;
    }
    loop {
        let Ok(cur) = uaccess::read::<u32>(addr) else { return };
        if cur & FUTEX_TID_MASK != tid {
            return;
        }
        let new = (cur & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        match uaccess::cmpxchg_u32(addr, cur, new) {
            Ok(v) if v == cur => {
                if cur & FUTEX_WAITERS != 0 {
                    super::futex::wake_word(addr, 1);
                }
                return;
            }
            Ok(_) => continue,
            Err(_) => return,
        }
    }
}

/// membarrier(2): the commands glibc, Go and .NET use. Guest threads are
/// host threads of this process, so the host's own process-wide barrier
/// (host::thread::membarrier) makes every one of them pass a full memory
/// barrier before the call returns, as the expedited commands promise.
pub fn membarrier(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    const QUERY: u32 = 0;
    const GLOBAL: u32 = 1;
    const GLOBAL_EXPEDITED: u32 = 1 << 1;
    const REGISTER_GLOBAL_EXPEDITED: u32 = 1 << 2;
    const PRIVATE_EXPEDITED: u32 = 1 << 3;
    const REGISTER_PRIVATE_EXPEDITED: u32 = 1 << 4;
    const PRIVATE_EXPEDITED_SYNC_CORE: u32 = 1 << 5;
    const REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: u32 = 1 << 6;
    const SUPPORTED: u32 = GLOBAL
        | GLOBAL_EXPEDITED
        | REGISTER_GLOBAL_EXPEDITED
        | PRIVATE_EXPEDITED
        | REGISTER_PRIVATE_EXPEDITED
        | PRIVATE_EXPEDITED_SYNC_CORE
        | REGISTER_PRIVATE_EXPEDITED_SYNC_CORE;
    let cmd = args::uint(a[0]);
    let flags = args::uint(a[1]);
    if flags != 0 {
        return_errno_with_message!(EINVAL, "flags must be 0 for these commands");
    }
    let p = current();
    match cmd {
        QUERY => Ok(u64::from(SUPPORTED)),
        GLOBAL | GLOBAL_EXPEDITED => {
            host::thread::membarrier();
            Ok(0)
        }
        REGISTER_GLOBAL_EXPEDITED => Ok(0),
        REGISTER_PRIVATE_EXPEDITED => {
            p.membarrier_registered.fetch_or(PRIVATE_EXPEDITED, Relaxed);
            Ok(0)
        }
        REGISTER_PRIVATE_EXPEDITED_SYNC_CORE => {
            p.membarrier_registered.fetch_or(PRIVATE_EXPEDITED_SYNC_CORE, Relaxed);
            Ok(0)
        }
        PRIVATE_EXPEDITED | PRIVATE_EXPEDITED_SYNC_CORE => {
            if p.membarrier_registered.load(Relaxed) & cmd == 0 {
                return_errno_with_message!(EPERM, "the process did not register for this membarrier command");
            }
            host::thread::membarrier();
            Ok(0)
        }
        _ => return_errno!(EINVAL),
    }
}
