//! ptrace(2) between the tasks of one host process: a tracer that shares
//! its tracees' address space, as LeakSanitizer's stop-the-world has it
//! (a CLONE_VM child attaches to every thread of its parent, waits for
//! each to stop, reads their registers, and detaches).
//!
//! PTRACE_ATTACH asks the thread to stop (`Thread::trace_stop`) and kicks
//! it; at its next return to guest code (`signal::deliver`) it records its
//! registers, thread pointer and FP state, wakes the tracer and parks. A
//! host call it sleeps in is interrupted and restarted after the stop, as
//! Linux restarts a call a ptrace stop interrupted. The tracer's
//! waitpid(tid) reports the stop as Linux reports the SIGSTOP that
//! PTRACE_ATTACH sends (WIFSTOPPED, WSTOPSIG == SIGSTOP). While stopped:
//! PTRACE_GETREGS, PTRACE_GETREGSET (NT_PRSTATUS, NT_FPREGSET),
//! PTRACE_GETFPREGS, PTRACE_PEEKTEXT/PEEKDATA/POKETEXT/POKEDATA (the
//! memory is the tracer's own), PTRACE_CONT and PTRACE_DETACH (with a
//! signal to deliver, or 0), PTRACE_KILL. A tracer that exits lets its
//! tracees go.
//!
//! Divergences from Linux:
//! - A task in another host process (strace, gdb, a parent's
//!   PTRACE_TRACEME child) cannot be traced: EPERM, reported with
//!   `MACTUX_LOG=missing`, as are PTRACE_SEIZE, PTRACE_INTERRUPT, the
//!   syscall and event stops and the register writes.
//! - The stop itself is no SIGSTOP the tracee's process could see: only
//!   the tracer's waitpid reports it, and `waitpid(-1)` does not.

use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::Result;
use crate::task::{lock, Process, Thread, TraceStop};
use crate::trap::{GuestRegs, ThreadCtl};
use crate::uaccess;
use crate::{errno, return_errno_with_message};
use std::sync::atomic::Ordering::{Acquire, Release};
use std::sync::Arc;

const PTRACE_TRACEME: u64 = 0;
const PTRACE_PEEKTEXT: u64 = 1;
const PTRACE_PEEKDATA: u64 = 2;
const PTRACE_POKETEXT: u64 = 4;
const PTRACE_POKEDATA: u64 = 5;
const PTRACE_CONT: u64 = 7;
const PTRACE_KILL: u64 = 8;
const PTRACE_GETREGS: u64 = 12;
const PTRACE_GETFPREGS: u64 = 14;
const PTRACE_ATTACH: u64 = 16;
const PTRACE_DETACH: u64 = 17;
const PTRACE_GETREGSET: u64 = 0x4204;
const NT_PRSTATUS: u64 = 1;
const NT_FPREGSET: u64 = 2;
/// `struct user_regs_struct`: 27 registers.
const USER_REGS_SIZE: usize = 27 * 8;
/// `struct user_fpregs_struct`: the fxsave image.
const FXSAVE_SIZE: usize = 512;
/// A stop by SIGSTOP as wait reports it (`W_STOPCODE(SIGSTOP)`).
const STOPPED_BY_SIGSTOP: i32 = (19 << 8) | 0x7f;
/// How often a parked tracee or a waiting tracer looks whether the other
/// side is gone.
const RECHECK_NS: u64 = 20_000_000;

pub fn ptrace(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (request, pid, addr, data) = (a[0], args::int(a[1]), a[2], a[3]);
    match request {
        PTRACE_TRACEME => Err(super::refuse("ptrace", crate::abi::Errno::EPERM, "PTRACE_TRACEME: a tracer in another host process is not emulated", Some(request))),
        PTRACE_ATTACH => attach(cx, pid),
        PTRACE_PEEKTEXT | PTRACE_PEEKDATA | PTRACE_POKETEXT | PTRACE_POKEDATA | PTRACE_CONT | PTRACE_KILL | PTRACE_GETREGS | PTRACE_GETFPREGS | PTRACE_DETACH | PTRACE_GETREGSET => {
            let (p, t) = tracee_of_caller(pid)?;
            let stop = lock(&t.trace).as_ref().and_then(|s| s.stopped.clone());
            // Every request but the kill needs the tracee stopped (ESRCH).
            let stopped = || stop.clone().ok_or_else(|| errno!(ESRCH, "the tracee is not stopped"));
            match request {
                PTRACE_PEEKTEXT | PTRACE_PEEKDATA => {
                    stopped()?;
                    // The raw call stores the word at `data` (glibc's
                    // wrapper returns it).
                    let word: u64 = uaccess::read(addr).map_err(|_| errno!(EIO, "the tracee has no memory there"))?;
                    uaccess::write(data, &word)?;
                    Ok(0)
                }
                PTRACE_POKETEXT | PTRACE_POKEDATA => {
                    stopped()?;
                    uaccess::write(addr, &data).map_err(|_| errno!(EIO, "the tracee has no writable memory there"))?;
                    Ok(0)
                }
                PTRACE_GETREGS => {
                    uaccess::write_bytes(data, &user_regs(&stopped()?))?;
                    Ok(0)
                }
                PTRACE_GETFPREGS => {
                    let fx = stopped()?.fxsave.ok_or_else(|| errno!(EIO, "the tracee's FP state is not at hand"))?;
                    uaccess::write_bytes(data, &fx)?;
                    Ok(0)
                }
                PTRACE_GETREGSET => getregset(&stopped()?, addr, data),
                PTRACE_CONT | PTRACE_DETACH => {
                    stopped()?;
                    resume(p, &t, data, request == PTRACE_DETACH)
                }
                _ => {
                    // PTRACE_KILL: SIGKILL for the tracee, stopped or not.
                    let _ = resume(p, &t, 0, false);
                    send_from_tracer(p, None, crate::abi::signal::Signal::SIGKILL);
                    Ok(0)
                }
            }
        }
        _ => Err(super::refuse("ptrace", crate::abi::Errno::EIO, "this ptrace request is not emulated", Some(request))),
    }
}

/// The thread `tid` of any process of this host process, with its process.
fn find_thread(tid: i32) -> Option<(&'static Process, Arc<Thread>)> {
    let tid = u32::try_from(tid).ok().filter(|&t| t > 0)?;
    crate::task::host_processes().into_iter().find_map(|p| p.thread(tid).map(|t| (p, t)))
}

fn attach(cx: &mut Ctx<'_>, pid: i32) -> Result<u64> {
    let me = cx.process();
    let Some((p, t)) = find_thread(pid) else {
        if pid > 0 && crate::syscall::proc_model::host_pid_of_task(pid).is_ok() {
            return Err(super::refuse("ptrace", crate::abi::Errno::EPERM, "PTRACE_ATTACH: a task in another host process is not emulated", None));
        }
        return_errno_with_message!(ESRCH, "no such thread");
    };
    if std::ptr::eq(p, me) {
        return_errno_with_message!(EPERM, "a thread cannot trace its own thread group");
    }
    if p.has_exited.load(Acquire) || t.exited.load(Acquire) {
        return_errno_with_message!(ESRCH, "the thread has exited");
    }
    {
        let mut tr = lock(&t.trace);
        if tr.is_some() {
            return_errno_with_message!(EPERM, "the thread is traced already");
        }
        *tr = Some(crate::task::Trace { tracer: me, tracer_thread: cx.thread_arc(), stopped: None, reported: false });
    }
    t.trace_stop.store(true, Release);
    t.kick();
    Ok(0)
}

/// The thread `pid`, with its process, when the calling process traces
/// it; ESRCH otherwise.
fn tracee_of_caller(pid: i32) -> Result<(&'static Process, Arc<Thread>)> {
    let me = crate::task::current();
    let (p, t) = find_thread(pid).ok_or_else(|| errno!(ESRCH, "no such thread"))?;
    let ours = lock(&t.trace).as_ref().is_some_and(|s| std::ptr::eq(s.tracer, me));
    if !ours {
        return_errno_with_message!(ESRCH, "the thread is not traced by this process");
    }
    Ok((p, t))
}

/// Lets a stopped tracee run again (`detach`: no longer traced), with
/// `sig` to deliver when not 0.
fn resume(p: &'static Process, t: &Arc<Thread>, sig: u64, detach: bool) -> Result<u64> {
    let signal = match sig {
        0 => None,
        s => Some(crate::abi::signal::Signal::from_raw(s).ok_or_else(|| errno!(EIO, "not a signal number"))?),
    };
    {
        let mut tr = lock(&t.trace);
        if detach {
            *tr = None;
        } else if let Some(s) = tr.as_mut() {
            s.stopped = None;
            s.reported = false;
        }
    }
    if let Some(sig) = signal {
        send_from_tracer(p, Some(t), sig);
    }
    t.trace_stop.store(false, Release);
    t.parker.unpark();
    Ok(0)
}

/// `sig` from the tracer (SI_USER) to the tracee's thread `t`, or to its
/// whole process.
fn send_from_tracer(p: &'static Process, t: Option<&Thread>, sig: crate::abi::signal::Signal) {
    let me = crate::task::current();
    let info = crate::signal::SigInfo::kill(sig, g::SI_USER as i32, me.pid() as i32, me.cred().uid);
    let mut st = lock(&p.sig);
    crate::signal::send_to_process(p, &mut st, t, info);
}

/// `struct user_regs_struct` of a stop.
fn user_regs(s: &TraceStop) -> Vec<u8> {
    let r = &s.regs;
    // orig_rax -1: not stopped in a syscall; cs and ss the user segments.
    let words: [u64; 27] = [
        r.r15, r.r14, r.r13, r.r12, r.rbp, r.rbx, r.r11, r.r10, r.r9, r.r8, r.rax, r.rcx, r.rdx, r.rsi, r.rdi, u64::MAX, r.rip, 0x33, r.rflags, r.rsp, 0x2b, s.fs_base, 0,
        0, 0, 0, 0,
    ];
    let out: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
    debug_assert_eq!(out.len(), USER_REGS_SIZE);
    out
}

/// PTRACE_GETREGSET: `kind` is the note type, `iov_addr` a `struct iovec`
/// whose length is cut to what was written.
fn getregset(s: &TraceStop, kind: u64, iov_addr: u64) -> Result<u64> {
    let data = match kind {
        NT_PRSTATUS => user_regs(s),
        NT_FPREGSET => s.fxsave.clone().filter(|f| f.len() == FXSAVE_SIZE).ok_or_else(|| errno!(EINVAL, "the tracee's FP state is not at hand"))?,
        _ => return_errno_with_message!(EINVAL, "register set not emulated (NT_PRSTATUS and NT_FPREGSET are)"),
    };
    let [base, len]: [u64; 2] = uaccess::read(iov_addr)?;
    let n = data.len().min(usize::try_from(len).unwrap_or(usize::MAX));
    uaccess::write_bytes(base, &data[..n])?;
    uaccess::write(iov_addr + 8, &(n as u64))?;
    Ok(0)
}

/// In the tracee, at a return to guest code with a stop asked for: records
/// the registers, wakes the tracer and waits to be let go.
pub fn stop(ctl: &mut ThreadCtl, regs: &GuestRegs) {
    let thread = ctl.thread_arc();
    let fxsave = crate::trap::guest_fp_state(ctl).and_then(|f| f.get(..FXSAVE_SIZE)).map(<[u8]>::to_vec);
    let tracer = {
        let mut tr = lock(&thread.trace);
        let Some(s) = tr.as_mut() else {
            thread.trace_stop.store(false, Release);
            return;
        };
        s.stopped = Some(TraceStop { regs: *regs, fs_base: ctl.guest_tls, fxsave });
        s.reported = false;
        s.tracer_thread.clone()
    };
    tracer.parker.unpark();
    loop {
        let seq = thread.parker.seq();
        if !thread.trace_stop.load(Acquire) {
            return;
        }
        // A tracer that is gone lets its tracees go, as Linux detaches them
        // when it exits; a process ending leaves no thread stopped.
        let tracer_gone = lock(&thread.trace).as_ref().is_none_or(|s| s.tracer.has_exited.load(Acquire) || s.tracer_thread.exited.load(Acquire));
        if tracer_gone || crate::task::current().is_group_exiting.load(Acquire) {
            *lock(&thread.trace) = None;
            thread.trace_stop.store(false, Release);
            return;
        }
        thread.parker.park(seq, Some(RECHECK_NS));
    }
}

/// wait4 for `pid` when it is a thread the caller traces: its stop, once
/// (`Ok(Some((pid, status)))`), nothing yet under WNOHANG (`Ok(Some((0,
/// 0)))`); `Ok(None)` when `pid` is no tracee of the caller's.
pub fn wait_tracee(me: &Thread, pid: i32, options: u32) -> Result<Option<(i32, i32)>> {
    if pid <= 0 {
        return Ok(None);
    }
    let Ok((_, t)) = tracee_of_caller(pid) else { return Ok(None) };
    loop {
        let seq = me.parker.seq();
        {
            let mut tr = lock(&t.trace);
            let Some(s) = tr.as_mut() else { return_errno_with_message!(ECHILD, "the thread is no longer traced") };
            if t.exited.load(Acquire) {
                *tr = None;
                return_errno_with_message!(ECHILD, "the traced thread has exited");
            }
            if s.stopped.is_some() && !s.reported {
                s.reported = true;
                return Ok(Some((pid, STOPPED_BY_SIGSTOP)));
            }
        }
        if options & g::WNOHANG != 0 {
            return Ok(Some((0, 0)));
        }
        if crate::trap::calling_thread_interrupted() {
            return Err(errno!(EINTR));
        }
        me.parker.park(seq, Some(RECHECK_NS));
    }
}
