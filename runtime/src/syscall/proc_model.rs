//! The process model: fork, vfork, clone, execve, wait4/waitid, process
//! groups and sessions.
//!
//! Every guest process is a host process: fork is a host fork made from
//! inside the trap (the child returns from the same trap with rax = 0), so
//! guest children are host children and waits are host waits. The daemon
//! owns the Linux pid namespace: it reserves the child's pid while the host
//! forks (the parent reads the answer after the fork and hands the pid to
//! the child through a pipe), the parent then tells it the child's host pid
//! (`Forked`), and the child connects only when it first needs the daemon
//! (docs/daemon.md, Protocol).
//! execve re-executes the mactux binary with the task's state (see
//! `handover.rs`).
//!
//! Divergences from Linux:
//! - `clone(CLONE_VM|CLONE_VFORK)` (posix_spawn) and vfork give the child a
//!   copy of memory, not the parent's: the parent is suspended until the
//!   child execs or exits, as in Linux. When the child exits without
//!   exec, what it left in the parent's stack (from the parent's stack
//!   pointer at the call up to the top of that stack) is copied back before
//!   the parent resumes: glibc's posix_spawn reports a failed exec through a
//!   variable there, and a vfork child's stores to its caller's locals land
//!   there. Writes elsewhere (heap, globals) are not seen by the parent.
//! - Threads (CLONE_THREAD) are syscall/thread.rs, a process sharing its
//!   parent's memory (CLONE_VM without CLONE_THREAD or CLONE_VFORK)
//!   syscall/clone_vm.rs; namespaces are refused (EPERM).
//! - Waiting for a process group polls its members.

use super::{args, Ctx};
use crate::abi::gen as g;
use crate::abi::signal::Signal;
use crate::daemon;
use crate::error::{Error, Result};
use crate::handover::{self, DaemonState, FdState, Handover};
use crate::host;
use crate::task::{current, lock, VforkReturn};
use crate::uaccess;
use crate::{errno, return_errno, return_errno_with_message};
use mactux_proto::{Request, Response, Vpid, WaitTarget};
use std::sync::Arc;

/// Children not yet reaped ([`crate::task::Process::children`]).
fn children() -> std::sync::MutexGuard<'static, Vec<(Vpid, i32)>> {
    lock(&current().children)
}

/// How many reaped children [`crate::task::Process::reaped`] remembers.
const REAPED_KEPT: usize = 32;

/// After execve: the children the task had before.
pub fn adopt_children(list: &[(i32, i32)]) {
    children().extend_from_slice(list);
}

pub fn children_snapshot() -> Vec<(Vpid, i32)> {
    children().clone()
}

/// Clone flags this emulation understands (besides the exit signal).
const CLONE_KNOWN: u32 = g::CLONE_VM
    | g::CLONE_VFORK
    | g::CLONE_SETTLS
    | g::CLONE_PARENT_SETTID
    | g::CLONE_CHILD_SETTID
    | g::CLONE_CHILD_CLEARTID
    | g::CLONE_FS
    | g::CLONE_FILES
    | g::CLONE_SIGHAND
    | g::CLONE_THREAD
    | g::CLONE_SYSVSEM
    | g::CLONE_PTRACE
    | g::CLONE_UNTRACED
    | g::CLONE_PARENT
    | g::CLONE_IO
    | g::CLONE_PIDFD
    // Ignored by Linux since 2.6.2 (musl still passes it for threads).
    | g::CLONE_DETACHED;
const CLONE_NAMESPACES: u32 =
    g::CLONE_NEWNS | g::CLONE_NEWUTS | g::CLONE_NEWIPC | g::CLONE_NEWUSER | g::CLONE_NEWPID | g::CLONE_NEWNET | g::CLONE_NEWCGROUP;

struct CloneArgs {
    flags: u32,
    /// Where CLONE_PIDFD stores the child's pidfd (clone's parent_tid,
    /// clone3's pidfd field).
    pidfd: u64,
    stack: u64,
    parent_tid: u64,
    child_tid: u64,
    tls: u64,
}

/// The flag combinations Linux refuses before anything else
/// (`copy_process`, kernel/fork.c).
fn check_clone_flags(flags: u32) -> Result<()> {
    let both = |a: u32, b: u32| flags & (a | b) == a | b;
    if both(g::CLONE_NEWNS, g::CLONE_FS) || both(g::CLONE_NEWUSER, g::CLONE_FS) {
        return_errno_with_message!(EINVAL, "a new mount or user namespace cannot share the fs context");
    }
    if flags & g::CLONE_THREAD != 0 && flags & g::CLONE_SIGHAND == 0 {
        return_errno_with_message!(EINVAL, "CLONE_THREAD needs CLONE_SIGHAND");
    }
    if flags & g::CLONE_SIGHAND != 0 && flags & g::CLONE_VM == 0 {
        return_errno_with_message!(EINVAL, "CLONE_SIGHAND needs CLONE_VM");
    }
    if flags & g::CLONE_THREAD != 0 && flags & (g::CLONE_NEWUSER | g::CLONE_NEWPID) != 0 {
        return_errno_with_message!(EINVAL, "a thread cannot be in a new user or pid namespace");
    }
    if flags & g::CLONE_PIDFD != 0 && flags & (g::CLONE_DETACHED | g::CLONE_THREAD) != 0 {
        return_errno_with_message!(EINVAL, "CLONE_PIDFD names a process, not a thread");
    }
    Ok(())
}

fn do_clone(cx: &mut Ctx<'_>, c: CloneArgs) -> Result<u64> {
    let flags = c.flags;
    if flags & !(CLONE_KNOWN | g::CSIGNAL | CLONE_NAMESPACES) != 0 {
        return_errno_with_message!(EINVAL, "unknown clone flags");
    }
    check_clone_flags(flags)?;
    if flags & CLONE_NAMESPACES != 0 {
        return Err(super::refuse("clone", crate::abi::Errno::EPERM, "new namespaces are not emulated", Some(u64::from(flags & CLONE_NAMESPACES))));
    }
    if current().vm.is_some() && flags & g::CLONE_THREAD == 0 && (flags & g::CLONE_VM == 0 || flags & g::CLONE_VFORK != 0) {
        // A host fork would copy the other Linux processes' host threads
        // away (syscall/clone_vm.rs).
        return Err(super::refuse("clone", crate::abi::Errno::ENOSYS, "fork and vfork in a process sharing its parent's memory (CLONE_VM) are not emulated", None));
    }
    if flags & g::CLONE_THREAD != 0 {
        let t = super::thread::NewThread {
            flags,
            stack: c.stack,
            parent_tid: c.parent_tid,
            child_tid: c.child_tid,
            tls: c.tls,
        };
        return super::thread::clone_thread(cx, t);
    }
    if flags & g::CLONE_VM != 0 && flags & g::CLONE_VFORK == 0 {
        let c = super::clone_vm::NewProcess { flags, stack: c.stack, parent_tid: c.parent_tid, child_tid: c.child_tid, tls: c.tls };
        return super::clone_vm::clone_vm(cx, c);
    }
    if flags & (g::CLONE_SIGHAND | g::CLONE_FILES | g::CLONE_FS) != 0 && flags & g::CLONE_VFORK == 0 {
        return Err(super::refuse("clone", crate::abi::Errno::ENOSYS, "a process sharing files, fs or handlers with its parent is not emulated", None));
    }
    let is_vfork = flags & g::CLONE_VFORK != 0;
    // The part of the parent's memory a CLONE_VM child's exit hands back.
    let window = if is_vfork && flags & g::CLONE_VM != 0 { stack_window(cx.regs.rsp) } else { None };
    let child_pid = if daemon::is_standalone() {
        ChildPid::Host
    } else if crate::syscall::ipc::has_attaches() {
        // The daemon counts the inherited attaches under the child's pid
        // before the fork.
        let pid = daemon::reserve_child()?;
        crate::syscall::ipc::before_fork(pid);
        ChildPid::Reserved(pid)
    } else {
        let (r, w) = host::fs::pipe().map_err(Error::new)?;
        ChildPid::Asked(daemon::start_reserve_child(), r, w)
    };
    // The vfork parent waits for this pipe to close: on the child's exec
    // (both ends are close-on-exec) or exit.
    let vfork_pipe = if is_vfork { Some(host::fs::pipe().map_err(Error::new)?) } else { None };
    let child = match host_fork(cx.ctl, 0) {
        Ok(c) => c,
        Err(e) => {
            // Give the reserved pid back.
            let reserved = match child_pid {
                ChildPid::Host => None,
                ChildPid::Reserved(pid) => Some(pid),
                ChildPid::Asked(pending, r, w) => {
                    host::fs::close(r);
                    host::fs::close(w);
                    pending.finish().ok()
                }
            };
            if let Some(pid) = reserved {
                let _ = daemon::call(&Request::Reaped { pid });
            }
            if let Some((r, w)) = vfork_pipe {
                host::fs::close(r);
                host::fs::close(w);
            }
            return Err(Error::with_message(e, "host fork failed"));
        }
    };
    if child == 0 {
        // A vfork child that forks: its own child must neither hold the
        // pipe its parent waits on nor answer for that window.
        if let Some(inherited) = lock(&current().vfork_return).take() {
            host::fs::close(inherited.fd);
        }
        if let Some((r, w)) = vfork_pipe {
            host::fs::close(r);
            // The window as it was at the fork, against which the child's
            // own stores are told apart at its exit.
            let original = window.and_then(|(lo, hi)| uaccess::read_bytes(lo, (hi - lo) as usize).ok());
            if let (Some((lo, hi)), Some(original)) = (window, original) {
                *lock(&current().vfork_return) = Some(VforkReturn { fd: w, lo, hi, original });
            }
        }
        if let Err(e) = host::trap::rearm_after_fork(cx.ctl) {
            host::process::fatal(&e);
        }
        let host_pid = host::process::host_pid();
        let is_reserved = !matches!(child_pid, ChildPid::Host);
        let pid = match child_pid {
            ChildPid::Host => host_pid,
            ChildPid::Reserved(pid) => pid,
            ChildPid::Asked(pending, r, w) => {
                // The connection is the parent's (become_child closes it).
                std::mem::forget(pending);
                host::fs::close(w);
                let pid = receive_pid(r);
                host::fs::close(r);
                // No pid: the parent's fork failed after all, and it reaps
                // this process, which has run no guest code.
                pid.unwrap_or_else(|| host::process::exit(NO_PID_EXIT))
            }
        };
        current().vpid.store(pid as u32, std::sync::atomic::Ordering::Relaxed);
        cx.thread().tid.store(pid as u32, std::sync::atomic::Ordering::Relaxed);
        *lock(&cx.thread().host) = Some(host::thread::current());
        crate::signal::after_fork_child(cx.thread());
        if !is_vfork {
            current().timers.after_fork_child();
        }
        if is_reserved {
            daemon::become_child(pid);
        }
        if c.stack != 0 {
            cx.regs.rsp = c.stack;
        }
        if flags & g::CLONE_SETTLS != 0 {
            host::tls::set_guest_tls(cx.ctl, c.tls);
        }
        if flags & g::CLONE_CHILD_SETTID != 0 {
            let _ = uaccess::write(c.child_tid, &pid);
        }
        if flags & g::CLONE_CHILD_CLEARTID != 0 {
            cx.thread().clear_child_tid.store(c.child_tid, std::sync::atomic::Ordering::Relaxed);
        }
        return Ok(0);
    }
    let is_reserved = !matches!(child_pid, ChildPid::Host);
    let pid = match child_pid {
        ChildPid::Host => child,
        ChildPid::Reserved(pid) => pid,
        ChildPid::Asked(pending, r, w) => {
            let reserved = pending.finish();
            if let Ok(pid) = reserved {
                // The read end is still open here: the write can neither
                // block (4 bytes into an empty pipe) nor raise SIGPIPE
                // when the child is already gone.
                let _ = host::fs::write_all(w, &pid.to_le_bytes());
            }
            host::fs::close(w);
            host::fs::close(r);
            match reserved {
                Ok(pid) => pid,
                Err(e) => {
                    // The child waits for its pid and ends at the empty
                    // pipe's close without running guest code: reap it.
                    let _ = host::process::wait(child, 0);
                    if let Some((r, w)) = vfork_pipe {
                        host::fs::close(r);
                        host::fs::close(w);
                    }
                    return Err(e);
                }
            }
        }
    };
    if is_reserved {
        daemon::forked(pid, child);
    }
    children().push((pid, child));
    if flags & g::CLONE_PIDFD != 0 {
        // Linux makes the pidfd before the child runs; here the host fork
        // came first, and a failure leaves the child running without one.
        let file = super::pidfd::open_file(pid, child, false)?;
        let fd = lock(&current().fds).install(file, true)?;
        uaccess::write(c.pidfd, &fd)?;
    }
    if flags & g::CLONE_PARENT_SETTID != 0 {
        let _ = uaccess::write(c.parent_tid, &pid);
    }
    if let Some((r, w)) = vfork_pipe {
        host::fs::close(w);
        let handed_back = read_to_eof(r, window.map_or(0, |(lo, hi)| max_stores_len(hi - lo)));
        host::fs::close(r);
        if let (Some((lo, hi)), Some(data)) = (window, handed_back) {
            take_back_stores(lo, hi, &data);
        }
    }
    Ok(pid as u64)
}

/// A host fork of the calling thread's process, with every runtime lock
/// held across it (or, when no other thread can hold one, only
/// `publishing`, the child taking the rest: `Process::locks_for_fork`), so
/// that the child, where only this thread lives on, inherits none held by
/// another. In the child the caller runs as a
/// fresh `Thread` (tid `tid`, the same mask, name and affinity), the
/// process's only one. The host fork's answer: 0 in the child.
pub(super) fn host_fork(ctl: &mut crate::trap::ThreadCtl, tid: u32) -> host::HostResult<i32> {
    let files = crate::task::ForkFiles::new();
    let locks = current().locks_for_fork(&files);
    let link = daemon::lock_for_fork();
    let forked = host::process::fork();
    drop(link);
    if forked == Ok(0) {
        let mut guard = locks.for_child();
        let t = ctl.thread();
        let comm = t.comm.try_lock().map(|c| c.clone()).unwrap_or_default();
        let fresh = Arc::new(crate::task::Thread::new(tid, t.mask(), comm, t.affinity.load(std::sync::atomic::Ordering::Relaxed)));
        // It runs on the same control region, by which the runtime finds
        // the calling thread deep below a `Ctx` (`trap::calling_tid`: a
        // signalfd's reader, /proc/thread-self).
        fresh.alt_region.store(t.alt_region.load(std::sync::atomic::Ordering::Relaxed), std::sync::atomic::Ordering::Relaxed);
        let left_behind = guard.after_fork_child(fresh.clone());
        drop(guard);
        // Not inherited (copy_process); the host's is not either.
        current().pdeathsig.store(0, std::sync::atomic::Ordering::Relaxed);
        drop(left_behind);
        ctl.replace_thread(fresh);
    }
    forked
}

/// Where a fork child's pid comes from.
enum ChildPid {
    /// Standalone: the child's host pid.
    Host,
    /// Reserved at the daemon before the fork.
    Reserved(Vpid),
    /// Asked for before the fork and read after it, so that the daemon
    /// answers while the host forks (the round trip was a tenth of a
    /// fork+wait); the parent hands the pid on to the child through the
    /// pipe (read end, write end).
    Asked(daemon::PendingReserve, host::HostFd, host::HostFd),
}

/// The exit status of a fork child whose parent could not get it a pid
/// (only the parent's host wait sees it).
const NO_PID_EXIT: i32 = 127;

/// The pid a fork child's parent writes into the pipe; None when the pipe
/// closes without one.
fn receive_pid(fd: host::HostFd) -> Option<Vpid> {
    let mut buf = [0u8; 4];
    let mut got = 0;
    while got < buf.len() {
        match host::fs::read(fd, &mut buf[got..]) {
            Ok(0) => return None,
            Ok(n) => got += n,
            Err(e) if e == crate::abi::Errno::EINTR => {}
            Err(_) => return None,
        }
    }
    Some(Vpid::from_le_bytes(buf)).filter(|&p| p > 0)
}

/// `lo` and `hi` as little-endian u64 in front of the stores.
const WINDOW_HEADER: usize = 16;
/// Each store: its offset in the window and its length (u32 LE), then its bytes.
const STORE_HEADER: usize = 8;

/// How far above the stack pointer a vfork child's stores reach its
/// parent: the frames of the function that called vfork and of its
/// callers (glibc's posix_spawn reports an exec's failure in its frame,
/// a classic vfork child sets its caller's locals). A stack may lie
/// inside a larger mapping (Go's goroutine stacks are in its heap), whose
/// rest is other data that other threads change meanwhile.
const MAX_WINDOW: u64 = 256 << 10;

/// From the stack pointer up, to the end of the mapping that holds it or
/// MAX_WINDOW bytes on.
fn stack_window(sp: u64) -> Option<(u64, u64)> {
    let mm = lock(&current().mm);
    let (_, v) = mm.iter().find(|(start, v)| *start <= sp && sp < v.end)?;
    v.prot.write.then_some((sp, v.end.min(sp.saturating_add(MAX_WINDOW))))
}

/// The longest message a child can send for a window of `len` bytes: at
/// worst every other byte changed, one store each.
fn max_stores_len(len: u64) -> usize {
    WINDOW_HEADER + (len as usize).div_ceil(2) * (STORE_HEADER + 1)
}

/// Reads `fd` to its end; the bytes when some arrived within `limit` (a
/// child that exec'd or died sends nothing).
fn read_to_eof(fd: host::HostFd, limit: usize) -> Option<Vec<u8>> {
    match host::fs::read_to_end(fd, limit) {
        Ok((data, false)) if limit > 0 && data.len() >= WINDOW_HEADER => Some(data),
        _ => None,
    }
}

/// The runs of bytes where `now` differs from `before`, as (offset, length).
fn changed_runs(before: &[u8], now: &[u8]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    let n = before.len().min(now.len());
    while i < n {
        // Whole equal words are skipped at once.
        if i % 8 == 0 && i + 8 <= n && before[i..i + 8] == now[i..i + 8] {
            i += 8;
            continue;
        }
        if before[i] == now[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && before[i] != now[i] {
            i += 1;
        }
        runs.push((start, i - start));
    }
    runs
}

/// Writes the stores a vfork child made in the parent's stack window into
/// the parent's memory, if the message is for the window the parent
/// expects. Only the bytes the child changed are written: what the
/// parent's other threads stored meanwhile elsewhere stays.
fn take_back_stores(lo: u64, hi: u64, data: &[u8]) {
    let (head, mut rest) = data.split_at(WINDOW_HEADER);
    let word = |b: &[u8], i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
    if word(head, 0) != lo || word(head, 8) != hi {
        return;
    }
    // The parent is inside the trap, on the runtime's stack: its guest
    // stack is not in use until it resumes.
    while rest.len() >= STORE_HEADER {
        let field = |i: usize| u32::from_le_bytes(rest[i..i + 4].try_into().unwrap_or([0; 4])) as u64;
        let (off, len) = (field(0), field(4));
        let Some(bytes) = rest.get(STORE_HEADER..STORE_HEADER + len as usize) else { return };
        if off + len > hi - lo {
            return;
        }
        let _ = uaccess::write_bytes(lo + off, bytes);
        rest = &rest[STORE_HEADER + len as usize..];
    }
}

/// Called by a task about to exit: a vfork child that did not exec sends
/// the stores it made in its parent's stack window (see `do_clone`).
pub fn vfork_child_exits() {
    let Some(ret) = lock(&current().vfork_return).take() else { return };
    let len = (ret.hi - ret.lo) as usize;
    let mut msg = Vec::with_capacity(WINDOW_HEADER + 64);
    msg.extend_from_slice(&ret.lo.to_le_bytes());
    msg.extend_from_slice(&ret.hi.to_le_bytes());
    let built = uaccess::with_slice(ret.lo, len, |now| {
        for (off, n) in changed_runs(&ret.original, now) {
            msg.extend_from_slice(&(off as u32).to_le_bytes());
            msg.extend_from_slice(&(n as u32).to_le_bytes());
            msg.extend_from_slice(&now[off..off + n]);
        }
    });
    if built.is_ok() {
        // A parent that went away has nothing to take back.
        let _ = host::fs::write_all(ret.fd, &msg);
    }
    host::fs::close(ret.fd);
}

pub fn fork(cx: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    do_clone(cx, CloneArgs { flags: Signal::SIGCHLD.0.into(), pidfd: 0, stack: 0, parent_tid: 0, child_tid: 0, tls: 0 })
}

pub fn vfork(cx: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    let flags = g::CLONE_VM | g::CLONE_VFORK | u32::from(Signal::SIGCHLD.0);
    do_clone(cx, CloneArgs { flags, pidfd: 0, stack: 0, parent_tid: 0, child_tid: 0, tls: 0 })
}

/// clone(flags, stack, parent_tid, child_tid, tls) — the x86_64 argument order.
/// `struct clone_args` up to `cgroup` (CLONE_ARGS_SIZE_VER2) and the
/// smallest size the kernel accepts (VER0).
const CLONE_ARGS_SIZE_VER2: usize = 88;
const CLONE_ARGS_SIZE_VER0: usize = 64;
/// clone3-only flags (include/uapi/linux/sched.h).
const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

pub fn clone3(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let size = args::len(a[1])?;
    if size < CLONE_ARGS_SIZE_VER0 {
        return_errno_with_message!(EINVAL, "size is smaller than the first struct clone_args");
    }
    if size > crate::abi::PAGE_SIZE as usize {
        return_errno_with_message!(E2BIG, "struct clone_args larger than a page");
    }
    let raw = uaccess::read_bytes(a[0], size)?;
    // Fields this kernel does not know must be zero (copy_struct_from_user).
    if raw.iter().skip(CLONE_ARGS_SIZE_VER2).any(|&b| b != 0) {
        return_errno_with_message!(E2BIG, "unknown struct clone_args fields are set");
    }
    let field = |i: usize| raw.get(i * 8..i * 8 + 8).and_then(|b| b.try_into().ok()).map(u64::from_ne_bytes).unwrap_or(0);
    let (flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls) =
        (field(0), field(1), field(2), field(3), field(4), field(5), field(6), field(7));
    let (set_tid, set_tid_size) = (field(8), field(9));
    let legacy = u64::from(CLONE_KNOWN | CLONE_NAMESPACES);
    if flags & !(legacy | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP) != 0
        || flags & u64::from(g::CSIGNAL | g::CLONE_DETACHED) != 0
    {
        return_errno_with_message!(EINVAL, "unknown clone3 flags");
    }
    if exit_signal & !u64::from(g::CSIGNAL) != 0 || (exit_signal != 0 && Signal::from_raw(exit_signal).is_none()) {
        return_errno_with_message!(EINVAL, "exit_signal is not a signal");
    }
    if flags & u64::from(g::CLONE_THREAD | g::CLONE_PARENT) != 0 && exit_signal != 0 {
        return_errno_with_message!(EINVAL, "a thread or CLONE_PARENT child takes no exit_signal");
    }
    if (stack == 0) != (stack_size == 0) {
        return_errno_with_message!(EINVAL, "stack and stack_size go together");
    }
    if set_tid_size > 32 || (set_tid == 0) != (set_tid_size == 0) {
        return_errno_with_message!(EINVAL, "bad set_tid array");
    }
    if set_tid_size != 0 {
        return_errno_with_message!(EPERM, "choosing the child's pid (set_tid) needs CAP_SYS_ADMIN");
    }
    if flags & (CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP) != 0 {
        return Err(super::refuse("clone3", crate::abi::Errno::ENOSYS, "CLONE_CLEAR_SIGHAND and CLONE_INTO_CGROUP are not emulated", None));
    }
    let flags = flags as u32 | exit_signal as u32;
    // clone3's stack is the lowest address of the area.
    let sp = if stack != 0 { stack.wrapping_add(stack_size) } else { 0 };
    do_clone(cx, CloneArgs { flags, pidfd, stack: sp, parent_tid, child_tid, tls })
}

pub fn clone(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if a[0] > u64::from(u32::MAX) {
        return_errno_with_message!(EINVAL, "unknown clone flags");
    }
    let flags = args::uint(a[0]);
    // clone() returns the pidfd through parent_tid, so both cannot be asked.
    if flags & g::CLONE_PIDFD != 0 && flags & g::CLONE_PARENT_SETTID != 0 {
        return_errno_with_message!(EINVAL, "CLONE_PIDFD and CLONE_PARENT_SETTID share parent_tid");
    }
    do_clone(cx, CloneArgs { flags, pidfd: a[2], stack: a[1], parent_tid: a[2], child_tid: a[3], tls: a[4] })
}

/// Linux's limit on argv + envp (MAX_ARG_STRLEN aside): a quarter of an 8 MiB stack.
const ARG_MAX: usize = 2 << 20;

fn do_execve(cx: &mut Ctx<'_>, dirfd: i32, path_ptr: u64, argv_ptr: u64, envp_ptr: u64, flags: u32) -> Result<u64> {
    // A CLONE_VM child process moves to a host process of its own first
    // (below): the new program must not replace the image its parent runs
    // in (syscall/clone_vm.rs).
    let is_vm_child = current().vm.is_some();
    if is_vm_child && !lock(&current().vm_children).is_empty() {
        return Err(super::refuse("execve", crate::abi::Errno::ENOSYS, "execve in a CLONE_VM child process that has CLONE_VM children of its own is not emulated", None));
    }
    // The host exec would end the CLONE_VM children with the image they
    // share, which on Linux go on in the old memory.
    if !is_vm_child && crate::task::live_vm_processes() > 0 {
        return Err(super::refuse("execve", crate::abi::Errno::ENOSYS, "execve while a CLONE_VM child process runs is not emulated", None));
    }
    let path = args::path(path_ptr)?;
    let argv = uaccess::read_cstr_array(argv_ptr, ARG_MAX)?;
    let envp = uaccess::read_cstr_array(envp_ptr, ARG_MAX)?;
    if argv.iter().chain(envp.iter()).map(|a| a.len() + 1).sum::<usize>() > ARG_MAX {
        return_errno!(E2BIG);
    }
    // The name it is executed by, as the new program will see it
    // (bprm->filename: the path as given, or /dev/fd/N[/path] for execveat).
    let execfn = if path.is_empty() {
        format!("/dev/fd/{dirfd}")
    } else if path[0] == b'/' || dirfd == g::AT_FDCWD {
        crate::vfs::path::from_bytes(&path)
    } else {
        format!("/dev/fd/{dirfd}/{}", crate::vfs::path::from_bytes(&path))
    };
    // The guest path to execute, absolute.
    let guest_path = if path.is_empty() {
        if flags & g::AT_EMPTY_PATH == 0 {
            return_errno!(ENOENT);
        }
        lock(&current().fds).get(dirfd)?.guest_path.clone()
    } else if path[0] == b'/' {
        crate::vfs::path::from_bytes(&path)
    } else {
        let start = crate::vfs::start_dir(dirfd, &path)?;
        format!("{}/{}", start.trim_end_matches('/'), crate::vfs::path::from_bytes(&path))
    };
    if flags & g::AT_SYMLINK_NOFOLLOW != 0 {
        let r = crate::vfs::resolve_at(dirfd, &path, false)?;
        if matches!(r.kind, crate::vfs::Lookup::Symlink(_)) {
            return_errno_with_message!(ELOOP, "AT_SYMLINK_NOFOLLOW and the path is a symlink");
        }
    }
    crate::loader::probe(&guest_path).map_err(|e| Error::new(e.errno))?;
    // Resolve symlinks now: the path may only mean something to this process
    // (/proc/self/exe, /dev/fd/N), not to the re-executed runtime.
    let guest_path = crate::vfs::resolve_existing(g::AT_FDCWD, &crate::vfs::path::to_bytes(&guest_path), true)
        .map(|r| r.guest)
        .unwrap_or(guest_path);

    // From here on, in a CLONE_VM child, this runs in its new host process.
    let exec_host = if is_vm_child { Some(super::clone_vm::leave_for_exec(cx.ctl)?) } else { None };
    let thread = &*cx.ctl.thread_arc();
    let p = current();
    // The fds the new program keeps: their host fds must survive the host
    // exec. Each open file description crosses once: as its kind's own
    // state (FileOps::exec_state), as its host fd, or to be reopened by
    // its path. An open file that fits none of these (no kind today), or
    // whose kind cannot encode its state, is lost: the new program finds
    // its fds closed, and the exec goes on, as Linux's never fails for an
    // fd (the new runtime likewise drops one it cannot make again).
    let mut fds = Vec::new();
    let mut kept_host_fds = Vec::new();
    {
        let table = lock(&p.fds);
        let mut open_files: Vec<*const crate::vfs::file::OpenFile> = Vec::new();
        for (_, entry) in table.iter().filter(|(_, e)| !e.cloexec) {
            let this = Arc::as_ptr(&entry.file);
            if !open_files.contains(&this) {
                open_files.push(this);
            }
        }
        let ids = crate::vfs::file::ExecIds::new(&open_files);
        let mut seen = Vec::new();
        for (gfd, entry) in table.iter().filter(|(_, e)| !e.cloexec) {
            let Some(open_file) = ids.id_of(&entry.file) else { continue };
            // Only the first fd of an open file carries it; the new
            // runtime gives the others that same open file.
            let first = !seen.contains(&open_file);
            seen.push(open_file);
            let kind = if first { entry.file.ops().exec_state(&entry.file, &ids) } else { None };
            let host_fd = if first && kind.is_none() { entry.file.host_fd() } else { None };
            kept_host_fds.extend(host_fd);
            kept_host_fds.extend(kind.iter().flat_map(|k| k.host_fds.iter().copied()));
            fds.push(FdState {
                guest_fd: gfd,
                open_file,
                host_fd,
                status: entry.file.status(),
                guest_path: entry.file.guest_path.clone(),
                is_dir: entry.file.is_dir(),
                ino: entry.file.ino,
                kind,
                async_owner: *lock(&entry.file.async_owner),
                dnotify: if first { p.sigio.dir_mark(&entry.file) } else { None },
            });
        }
    }
    let (sig_ignored, sig_mask) = {
        let st = lock(&p.sig);
        let ignored = st
            .actions
            .iter()
            .enumerate()
            .filter(|(_, a)| a.handler == crate::abi::signal::SIG_IGN)
            .fold(0u64, |m, (i, _)| m | (1 << i));
        (ignored, thread.mask())
    };
    // Linux keeps the process's pending signals and the execing thread's
    // own across execve (the other threads' die with them).
    let sig_pending = {
        let l = crate::signal::lock_state(thread);
        l.shared_queue().iter().chain(l.tp.queue.iter()).map(|i| (i.to_bytes().to_vec(), i.pid_is_host)).collect()
    };
    let mut config = p.config.clone();
    if let Some(t) = &p.trace {
        let fd = lock(t).host_fd;
        kept_host_fds.push(fd);
        config.trace = Some(crate::task::TraceTarget::HostFd(fd));
    }
    // Kept out of the pool until the exec is done or has failed.
    let exec_link = daemon::link_for_exec();
    let daemon_state = match (daemon::identity(), &exec_link) {
        (Some(me), Some(link)) => {
            kept_host_fds.push(link.fd());
            Some(DaemonState {
                fd: link.fd(),
                daemon_pid: link.daemon_pid(),
                is_handshake_owed: link.is_handshake_owed(),
                pid: me.pid,
                ppid: me.ppid,
                pgid: me.pgid,
                sid: me.sid,
            })
        }
        _ => None,
    };
    let (cwd, umask) = {
        let fs = lock(&p.fs);
        // A chroot's root is the new runtime's root.
        if let Some(root) = fs.root.as_ref().and_then(|r| r.host_path()) {
            config.root = root;
        }
        (fs.cwd.clone(), fs.umask)
    };
    let h = Handover {
        config,
        pid: p.pid(),
        execfn,
        path: guest_path,
        argv,
        envp,
        cwd,
        umask,
        fds,
        sig_ignored,
        sig_mask,
        sig_pending,
        kept: crate::syscall::identity::kept_across_exec(),
        cred: (*p.cred()).clone(),
        daemon: daemon_state,
        children: children_snapshot(),
        start_uptime: p.start_uptime,
    };
    let state_fd = match handover::write(&h) {
        Ok(fd) => fd,
        Err(_) => {
            if let Some(eh) = exec_host {
                eh.failed(crate::abi::Errno::ENOMEM);
            }
            return Err(errno!(ENOMEM, "cannot save the task state for execve"));
        }
    };
    kept_host_fds.push(state_fd);
    for &fd in &kept_host_fds {
        let _ = host::fs::set_host_cloexec(fd, false);
    }
    let exe = std::ffi::CString::new(p.config.mactux_exe.as_os_str().as_encoded_bytes()).unwrap_or_default();
    let argv = [
        std::ffi::CString::new("mactux").unwrap_or_default(),
        std::ffi::CString::new("__resume").unwrap_or_default(),
        std::ffi::CString::new(state_fd.to_string()).unwrap_or_default(),
    ];
    // A CLONE_VM child's attaches stay with the memory its parent maps.
    let shm_attaches = if exec_host.is_none() { crate::syscall::ipc::before_exec() } else { Vec::new() };
    crate::signal::prepare_exec(thread);
    let err = host::process::exec(&exe, &argv);
    if let Some(eh) = exec_host {
        eh.failed(err);
    }
    // Still here: the host exec failed; the task lives on.
    crate::signal::after_failed_exec(thread);
    crate::syscall::ipc::after_failed_exec(shm_attaches);
    for &fd in &kept_host_fds {
        let _ = host::fs::set_host_cloexec(fd, true);
    }
    host::fs::close(state_fd);
    drop(exec_link);
    Err(Error::with_message(err, "cannot re-execute the mactux runtime"))
}

pub fn execve(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    do_execve(cx, g::AT_FDCWD, a[0], a[1], a[2], 0)
}

pub fn execveat(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let flags = args::flags(a[4], g::AT_EMPTY_PATH | g::AT_SYMLINK_NOFOLLOW, "unknown execveat flags")?;
    do_execve(cx, args::dirfd(a[0]), a[1], a[2], a[3], flags)
}

/// The host pid of a child, or ECHILD.
fn host_pid_of_child(pid: Vpid) -> Result<i32> {
    children().iter().find(|(v, _)| *v == pid).map(|(_, h)| *h).ok_or_else(|| errno!(ECHILD))
}

/// The pid of a reaped host child.
fn pid_of_host(host_pid: i32) -> Vpid {
    vpid_of_host(host_pid).unwrap_or(host_pid)
}

/// Forgets a child that has been reaped.
fn reaped(pid: Vpid) {
    let mut kids = children();
    if let Some(i) = kids.iter().position(|(v, _)| *v == pid) {
        let child = kids.remove(i);
        let mut gone = lock(&current().reaped);
        if gone.len() == REAPED_KEPT {
            gone.remove(0);
        }
        gone.push(child);
    }
    drop(kids);
    // Posted: the status came from the host wait, and this task's next
    // request to the daemon is answered after the daemon forgot the child.
    daemon::post(&Request::Reaped { pid });
}

/// Whether a Linux wait status says the child is gone (not stopped/continued).
fn is_final(status: i32) -> bool {
    status & 0x7f != 0x7f && status != 0xffff
}

/// The members of a process group among our children.
fn group_children(pgid: Vpid) -> Vec<(Vpid, i32)> {
    match daemon::call(&Request::Children { target: WaitTarget::Pgid(pgid) }) {
        // A CLONE_VM child names this host process: it is waited for
        // apart (syscall/clone_vm.rs).
        Ok(Response::Children(v)) => v.into_iter().filter(|&(_, h)| h != host::process::host_pid()).collect(),
        _ => Vec::new(),
    }
}

/// How long a process-group wait sleeps between polls.
const GROUP_POLL: crate::abi::Timespec = crate::abi::Timespec { sec: 0, nsec: 5_000_000 };

/// Finds a child of `target` with `check(host_pid, options)`, a host wait
/// (reaping or WNOWAIT) that returns `Ok(None)` when nothing is waitable
/// with WNOHANG. A process group is polled member by member, as the host
/// cannot wait for a group its children are not in.
fn find_child<T>(target: WaitTarget, options: u32, check: impl Fn(i32, u32) -> Result<Option<T>>) -> Result<Option<T>> {
    match target {
        WaitTarget::Pid(pid) => check(host_pid_of_child(pid)?, options),
        WaitTarget::Any => check(-1, options),
        WaitTarget::Pgid(pgid) => loop {
            let members = group_children(pgid);
            if members.is_empty() {
                return_errno!(ECHILD);
            }
            for (_, h) in &members {
                if let Some(w) = check(*h, options | g::WNOHANG)? {
                    return Ok(Some(w));
                }
            }
            if options & g::WNOHANG != 0 {
                return Ok(None);
            }
            host::time::sleep(GROUP_POLL).map_err(|(e, _)| Error::new(e))?;
        },
    }
}

/// A wait's result for a CLONE_VM child (no host process, no usage).
fn waited_vm(pid: Vpid, status: i32) -> (Vpid, host::process::Waited) {
    (pid, host::process::Waited::without_usage(0, status))
}

/// A wait that may be for CLONE_VM children as well as host children
/// (syscall/clone_vm.rs): `Ok(None)` when `target` names none that
/// `options` looks for (the host wait alone decides); otherwise what it
/// found, looking at the host children with `host_check` (WNOHANG) in
/// between, and sleeping for a change of either unless WNOHANG.
fn wait_with_vm_children(
    target: WaitTarget,
    options: u32,
    is_peek: bool,
    host_check: impl Fn(WaitTarget, u32) -> Result<Option<(Vpid, host::process::Waited)>>,
) -> Result<Option<Option<(Vpid, host::process::Waited)>>> {
    use super::clone_vm::{find, Found};
    let names_host_children = !matches!(target, WaitTarget::Pid(_));
    loop {
        let seq = super::clone_vm::event_seq();
        match find(target, options, is_peek)? {
            Found::NoneEligible => return Ok(None),
            Found::Ended(pid, status) => return Ok(Some(Some(waited_vm(pid, status)))),
            Found::Running => {}
        }
        let mut has_host_children = false;
        if names_host_children {
            match host_check(target, options | g::WNOHANG) {
                Ok(Some(w)) => return Ok(Some(Some(w))),
                Ok(None) => has_host_children = true,
                Err(e) if e.errno == crate::abi::Errno::ECHILD => {}
                Err(e) => return Err(e),
            }
        }
        if options & g::WNOHANG != 0 {
            return Ok(Some(None));
        }
        super::clone_vm::sleep(seq, has_host_children)?;
    }
}

/// Waits as wait4 does; `Ok(None)` when WNOHANG finds nothing.
fn wait_for(target: WaitTarget, options: u32) -> Result<Option<(Vpid, host::process::Waited)>> {
    if let Some(found) = wait_with_vm_children(target, options, false, wait_for_host)? {
        return Ok(found);
    }
    wait_for_host(target, options)
}

/// [`wait_for`] among the host children.
fn wait_for_host(target: WaitTarget, options: u32) -> Result<Option<(Vpid, host::process::Waited)>> {
    let found = find_child(target, options, |h, o| host::process::wait(h, o).map_err(Error::new))?;
    Ok(found.map(|w| {
        let pid = pid_of_host(w.host_pid);
        if is_final(w.status) {
            reaped(pid);
        }
        (pid, w)
    }))
}

/// waitid with WNOWAIT: what `wait_for` would find, left waitable.
fn peek(target: WaitTarget, options: u32) -> Result<Option<(Vpid, host::process::Waited)>> {
    if let Some(found) = wait_with_vm_children(target, options, true, peek_host)? {
        return Ok(found);
    }
    peek_host(target, options)
}

/// [`peek`] among the host children.
fn peek_host(target: WaitTarget, options: u32) -> Result<Option<(Vpid, host::process::Waited)>> {
    let opts = options & (g::WNOHANG | g::WEXITED | g::WSTOPPED | g::WCONTINUED);
    let found = find_child(target, opts, |h, o| host::process::peek_wait(h, o).map_err(Error::new))?;
    Ok(found.map(|(host_pid, status)| {
        let w = host::process::Waited::without_usage(host_pid, status);
        (pid_of_host(host_pid), w)
    }))
}

const WAIT4_KNOWN: u32 = g::WNOHANG | g::WUNTRACED | g::WCONTINUED | g::__WNOTHREAD | g::__WALL | g::__WCLONE;

pub fn wait4(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let pid = args::int(a[0]);
    let options = args::flags(a[2], WAIT4_KNOWN, "unknown wait options")?;
    if pid == i32::MIN {
        return_errno!(ESRCH);
    }
    // A thread this process traces (syscall/ptrace.rs): its stop.
    if let Some((tid, status)) = super::ptrace::wait_tracee(&cx.thread_arc(), pid, options as u32)? {
        if tid != 0 && a[1] != 0 {
            uaccess::write(a[1], &status)?;
        }
        if tid != 0 && a[3] != 0 {
            uaccess::write(a[3], &uaccess::zeroed::<g::rusage>())?;
        }
        return Ok(tid as u64);
    }
    let target = match pid {
        -1 => WaitTarget::Any,
        0 => WaitTarget::Pgid(super::process::pgid_of(0)?),
        p if p < 0 => WaitTarget::Pgid(-p),
        p => WaitTarget::Pid(p),
    };
    let Some((vpid, w)) = wait_for(target, options)? else { return Ok(0) };
    if a[1] != 0 {
        uaccess::write(a[1], &w.status)?;
    }
    if a[3] != 0 {
        let mut ru: g::rusage = uaccess::zeroed();
        ru.ru_utime = g::__kernel_old_timeval { tv_sec: w.utime_us / 1_000_000, tv_usec: w.utime_us % 1_000_000 };
        ru.ru_stime = g::__kernel_old_timeval { tv_sec: w.stime_us / 1_000_000, tv_usec: w.stime_us % 1_000_000 };
        ru.ru_maxrss = w.maxrss_kib;
        ru.ru_minflt = w.minflt;
        ru.ru_majflt = w.majflt;
        ru.ru_nvcsw = w.nvcsw;
        ru.ru_nivcsw = w.nivcsw;
        uaccess::write(a[3], &ru)?;
    }
    Ok(vpid as u64)
}

/// The child a waitid(P_PIDFD, fd) waits for: EBADF when `fd` is no
/// pidfd, ECHILD when it names no child of the caller.
fn pidfd_target(fd: i32) -> Result<WaitTarget> {
    let file = super::pidfd::get(fd)?;
    let Some(pfd) = file.ops_as::<super::pidfd::PidFd>() else { return_errno!(EBADF) };
    if !children().iter().any(|&(v, h)| v == pfd.pid && h == pfd.host_pid) {
        return_errno_with_message!(ECHILD, "the pidfd names no child of the caller");
    }
    Ok(WaitTarget::Pid(pfd.pid))
}

/// `CLD_*` codes of a SIGCHLD siginfo for a Linux wait status.
pub(crate) fn cld_code_and_status(status: i32) -> (i32, i32) {
    const CLD_EXITED: i32 = 1;
    const CLD_KILLED: i32 = 2;
    const CLD_DUMPED: i32 = 3;
    const CLD_STOPPED: i32 = 5;
    const CLD_CONTINUED: i32 = 6;
    if status == 0xffff {
        (CLD_CONTINUED, Signal::SIGCONT.0.into())
    } else if status & 0x7f == 0x7f {
        (CLD_STOPPED, (status >> 8) & 0xff)
    } else if status & 0x7f == 0 {
        (CLD_EXITED, (status >> 8) & 0xff)
    } else if status & 0x80 != 0 {
        (CLD_DUMPED, status & 0x7f)
    } else {
        (CLD_KILLED, status & 0x7f)
    }
}

pub fn waitid(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let known = g::WNOHANG | g::WSTOPPED | g::WEXITED | g::WCONTINUED | g::WNOWAIT | g::__WNOTHREAD | g::__WALL | g::__WCLONE;
    let options = args::flags(a[3], known, "unknown waitid options")?;
    if options & (g::WEXITED | g::WSTOPPED | g::WCONTINUED) == 0 {
        return_errno_with_message!(EINVAL, "one of WEXITED, WSTOPPED or WCONTINUED is required");
    }
    let id = args::int(a[1]);
    let target = match args::uint(a[0]) {
        g::P_ALL => WaitTarget::Any,
        g::P_PID if id > 0 => WaitTarget::Pid(id),
        g::P_PGID if id == 0 => WaitTarget::Pgid(super::process::pgid_of(0)?),
        g::P_PGID if id > 0 => WaitTarget::Pgid(id),
        g::P_PIDFD => pidfd_target(id)?,
        _ => return_errno!(EINVAL),
    };
    // A nonblocking pidfd waits as WNOHANG does, but finding nothing is
    // EAGAIN (kernel/exit.c, kernel_waitid).
    let pidfd_nonblock =
        args::uint(a[0]) == g::P_PIDFD && options & g::WNOHANG == 0 && super::pidfd::get(id)?.is_nonblocking();
    // WSTOPPED is waitpid's WUNTRACED; exits are always reported here.
    let mut wait_opts = options & (g::WNOHANG | g::WCONTINUED);
    if options & g::WSTOPPED != 0 {
        wait_opts |= g::WUNTRACED;
    }
    if pidfd_nonblock {
        wait_opts |= g::WNOHANG;
    }
    let found = if options & g::WNOWAIT != 0 {
        peek(target, if pidfd_nonblock { options | g::WNOHANG } else { options })?
    } else {
        wait_for(target, wait_opts)?
    };
    if found.is_none() && pidfd_nonblock {
        return_errno_with_message!(EAGAIN, "the pidfd is nonblocking and the child has not changed state");
    }
    // struct siginfo for SIGCHLD (x86_64): signo, errno, code, then
    // pid, uid, status, utime, stime at offsets 16, 20, 24, 32, 40.
    let mut info = [0u8; 128];
    if let Some((pid, w)) = &found {
        let (code, status) = cld_code_and_status(w.status);
        info[0..4].copy_from_slice(&i32::from(Signal::SIGCHLD.0).to_ne_bytes());
        info[8..12].copy_from_slice(&code.to_ne_bytes());
        info[16..20].copy_from_slice(&pid.to_ne_bytes());
        info[20..24].copy_from_slice(&host::process::uid().to_ne_bytes());
        info[24..28].copy_from_slice(&status.to_ne_bytes());
        info[32..40].copy_from_slice(&(w.utime_us / 10_000).to_ne_bytes());
        info[40..48].copy_from_slice(&(w.stime_us / 10_000).to_ne_bytes());
    }
    if a[2] != 0 {
        uaccess::write_bytes(a[2], &info)?;
    }
    Ok(0)
}

/// The Linux pid of a host process in the namespace, if it is a task (the
/// host pid itself when running standalone). Callers choose what an
/// outsider reads as: its host pid, or 0 as Linux shows a process of an
/// outer pid namespace.
pub fn vpid_of_host(host_pid: i32) -> Option<Vpid> {
    if daemon::is_standalone() {
        return Some(host_pid);
    }
    if let Some(&(v, _)) = children().iter().find(|(_, h)| *h == host_pid) {
        return Some(v);
    }
    match daemon::call(&Request::PidOfHost { host_pid }) {
        Ok(Response::Pid(p)) => Some(p),
        _ => lock(&current().reaped).iter().rev().find(|(_, h)| *h == host_pid).map(|&(v, _)| v),
    }
}

/// A host process's controlling terminal as /proc/PID/stat shows it:
/// `tty_nr`, and `tpgid`, the foreground process group by its Linux pid
/// (0 for a group outside the namespace, -1 for no terminal).
pub fn terminal_of(host_pid: i32) -> (u64, Vpid) {
    match host::process::terminal_of(host_pid) {
        None => (0, -1),
        Some((tty, host_tpgid)) if host_tpgid <= 0 => (tty, -1),
        Some((tty, host_tpgid)) => (tty, vpid_of_host(host_tpgid).unwrap_or(0)),
    }
}

/// The host pid of a task of the namespace.
pub fn host_pid_of_task(pid: Vpid) -> Result<i32> {
    if daemon::is_standalone() {
        return Ok(pid);
    }
    match daemon::call(&Request::HostPid { pid })? {
        Response::HostPid(h) => Ok(h),
        _ => Err(errno!(ESRCH)),
    }
}

/// The tasks kill(pid, ...) reaches, as kill(2) reads `pid`.
pub fn kill_targets(pid: i32) -> Result<Vec<(Vpid, i32)>> {
    use mactux_proto::KillTarget;
    let target = match pid {
        i32::MIN => return_errno!(ESRCH),
        -1 => KillTarget::All,
        0 => KillTarget::Pgid(super::process::pgid_of(0)?),
        p if p < 0 => KillTarget::Pgid(-p),
        p => KillTarget::Pid(p),
    };
    match daemon::call(&Request::Resolve { target })? {
        Response::Children(v) => Ok(v),
        _ => Err(errno!(EIO, "unexpected daemon answer")),
    }
}

/// The Linux signal that stands for SIGKILL in a kill for a CLONE_VM child
/// process from another task: SIGKILL itself would end the whole host
/// process, and SIGRTMAX is always caught (host::thread::KICK_SIGNAL).
const SIGKILL_CARRIER: Signal = Signal(64);

/// Sends Linux signal `sig` of a kill(2) (None: only probe) to the task
/// `pid` whose host process is `host_pid`. Where the host carries a value
/// with a signal, the signal names `pid` (`signal::kill_value`): the host
/// process may hold CLONE_VM children besides its first Linux process,
/// which takes the host signals (syscall/clone_vm.rs). Elsewhere the
/// host kill reaches that first process.
pub fn signal_task(pid: Vpid, host_pid: i32, sig: Option<Signal>) -> Result<()> {
    signal_named(pid, host_pid, sig, &mut |r| daemon::call(r).ok())
}

/// [`signal_task`] asking the daemon through `call` (`mactux kill` has a
/// connection of its own): whether `pid` is a CLONE_VM child, whose SIGKILL
/// must stand for itself, is asked only for SIGKILL.
pub fn signal_named(pid: Vpid, host_pid: i32, sig: Option<Signal>, call: &mut dyn FnMut(&Request) -> Option<Response>) -> Result<()> {
    let (Some(s), true) = (sig, host::process::HAS_SIGQUEUE) else { return signal_host(host_pid, sig) };
    let Some(value) = crate::signal::kill_value(s, pid as u32) else { return signal_host(host_pid, sig) };
    if host_pid <= 0 {
        return_errno!(ESRCH);
    }
    // Uncatchable: sent as itself unless `pid` is a CLONE_VM child, whose
    // parent is in the same host process.
    let carrier = if s == Signal::SIGKILL {
        if shares_parent_host_process(pid, host_pid, call) { SIGKILL_CARRIER } else { return signal_host(host_pid, sig) }
    } else {
        s
    };
    let host_sig = host::signal::to_host(carrier).ok_or_else(|| errno!(EINVAL, "this signal has no host counterpart"))?;
    host::process::sigqueue(host_pid, host_sig, g::SI_QUEUE, host::process::uid(), value).map_err(Error::new)
}

/// Whether the task `pid` (in host process `host_pid`) has its parent in
/// the same host process: a CLONE_VM child (syscall/clone_vm.rs).
fn shares_parent_host_process(pid: Vpid, host_pid: i32, call: &mut dyn FnMut(&Request) -> Option<Response>) -> bool {
    let Some(Response::Task(Some(entry))) = call(&Request::Get { pid }) else { return false };
    entry.ppid > 1 && matches!(call(&Request::HostPid { pid: entry.ppid }), Some(Response::HostPid(h)) if h == host_pid)
}

/// Sends Linux signal `sig` (None: only probe) to a host process.
pub fn signal_host(host_pid: i32, sig: Option<Signal>) -> Result<()> {
    if host_pid <= 0 {
        return_errno!(ESRCH);
    }
    let host_sig = match sig {
        None => 0,
        Some(s) => host::signal::to_host(s).ok_or_else(|| errno!(EINVAL, "this signal has no host counterpart"))?,
    };
    host::process::kill(host_pid, host_sig).map_err(Error::new)
}

pub fn setpgid(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    super::clone_vm::refuse_in_child("setpgid", "setpgid in a process sharing its parent's memory (CLONE_VM) is not emulated")?;
    let (pid, pgid) = (args::int(a[0]), args::int(a[1]));
    if pgid < 0 {
        return_errno_with_message!(EINVAL, "pgid must not be negative");
    }
    // Such a child stays in its parent's group, as the host process does
    // (the terminal's signals reach it there, signal/mod.rs).
    if pid > 0 && crate::task::vm_process(pid as u32).is_some() {
        return Err(super::refuse("setpgid", crate::abi::Errno::ENOSYS, "setpgid of a process sharing its parent's memory (CLONE_VM) is not emulated", None));
    }
    if daemon::is_standalone() {
        host::process::setpgid(pid, pgid).map_err(Error::new)?;
        return Ok(0);
    }
    match daemon::call(&Request::SetPgid { pid, pgid })? {
        Response::Ok => {}
        _ => return_errno_with_message!(EIO, "unexpected daemon answer to setpgid"),
    }
    let me = current().pid() as Vpid;
    let target = if pid == 0 { me } else { pid };
    let group = if pgid == 0 { target } else { pgid };
    if target == me {
        daemon::note_ids(Some(group), None);
    }
    // Mirror the group on the host, so terminals and host tools agree.
    let host_of = |v: Vpid| -> Option<i32> {
        if v == me {
            return Some(host::process::host_pid());
        }
        host_pid_of_task(v).ok().filter(|&h| h > 0)
    };
    let host_target = host_of(target);
    // setpgid(pid, 0) and setpgid(pid, pid) name one task: ask once.
    let host_group = if group == target { host_target } else { host_of(group) };
    if let (Some(h), Some(hg)) = (host_target, host_group) {
        let _ = host::process::setpgid(h, hg);
    }
    Ok(0)
}

pub fn setsid(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    super::clone_vm::refuse_in_child("setsid", "setsid in a process sharing its parent's memory (CLONE_VM) is not emulated")?;
    if daemon::is_standalone() {
        return host::process::setsid().map(|s| s as u64).map_err(Error::new);
    }
    let sid = daemon::call_pid(&Request::SetSid)?;
    daemon::note_ids(Some(sid), Some(sid));
    let _ = host::process::setsid();
    Ok(sid as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fork_child_gets_its_pid_or_learns_there_is_none() {
        let (r, w) = host::fs::pipe().expect("a pipe");
        host::fs::write_all(w, &4242i32.to_le_bytes()).expect("write the pid");
        host::fs::close(w);
        assert_eq!(receive_pid(r), Some(4242));
        host::fs::close(r);
        // The parent's reservation failed: the pipe closes empty.
        let (r, w) = host::fs::pipe().expect("a pipe");
        host::fs::close(w);
        assert_eq!(receive_pid(r), None);
        host::fs::close(r);
        // Half a pid is none either.
        let (r, w) = host::fs::pipe().expect("a pipe");
        host::fs::write_all(w, &[7, 0]).expect("write");
        host::fs::close(w);
        assert_eq!(receive_pid(r), None);
        host::fs::close(r);
    }

    #[test]
    fn only_changed_bytes_are_stores() {
        let before: Vec<u8> = (0..64u8).collect();
        let mut now = before.clone();
        assert!(changed_runs(&before, &now).is_empty());
        now[3] = 0xff;
        now[4] = 0xfe;
        now[17] = 0;
        now[63] = 1;
        for b in &mut now[24..40] {
            *b = 0xaa;
        }
        assert_eq!(changed_runs(&before, &now), vec![(3, 2), (17, 1), (24, 16), (63, 1)]);
        // Every other byte changed: the worst case the parent reads for.
        let alternate: Vec<u8> = before.iter().enumerate().map(|(i, &b)| if i % 2 == 0 { !b } else { b }).collect();
        let runs = changed_runs(&before, &alternate);
        let sent: usize = WINDOW_HEADER + runs.iter().map(|&(_, n)| STORE_HEADER + n).sum::<usize>();
        assert!(sent <= max_stores_len(64));
    }
}
