//! Signal calls: dispositions, the mask, the alternate stack, waiting for
//! signals, sending to self, interval timers. Delivery itself (frames,
//! default actions) lives in `crate::signal`.
//! <https://man7.org/linux/man-pages/man7/signal.7.html>
//!
//! Divergences from Linux:
//! - rt_sigqueueinfo/rt_tgsigqueueinfo to another task send a host signal:
//!   the receiver sees the sender's real pid whatever `si_pid` said, and
//!   another task's threads are reached through the whole task. On macOS,
//!   which has no sigqueue, `si_value` does not cross (code SI_USER).
//! - si_code -0x4d54 (`CROSS_SIGPOLL_CODE`) cannot be queued to another
//!   task (EPERM): the runtimes use it for signal-driven I/O between tasks.
//! - Interval timers are the host's: ITIMER_VIRTUAL and ITIMER_PROF count
//!   the runtime's CPU time along with the guest's.

use super::{args, timeout, Ctx};
use crate::abi::signal::{KernelSigaction, Signal, SA_KNOWN};
use crate::abi::Timeval;
use crate::host;
use crate::error::{Error, Result};
use crate::signal::{lock_state, SigInfo};
use crate::uaccess;
use crate::{return_errno, return_errno_with_message};
use linux_raw_sys::general as g;

/// `sizeof(sigset_t)` the kernel accepts on x86_64.
const SIGSET_SIZE: u64 = 8;

pub fn rt_sigaction(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if a[3] != SIGSET_SIZE {
        return_errno_with_message!(EINVAL, "sigsetsize must be 8");
    }
    let Some(sig) = Signal::from_raw(a[0]) else { return_errno_with_message!(EINVAL, "no such signal") };
    let new = if a[1] != 0 { Some(uaccess::read::<KernelSigaction>(a[1])?) } else { None };
    if new.is_some() && sig.is_unblockable() {
        return_errno_with_message!(EINVAL, "SIGKILL and SIGSTOP cannot be caught or ignored");
    }
    let old = {
        let mut l = lock_state(cx.thread());
        let slot = &mut l.st.actions[usize::from(sig.0 - 1)];
        let old = *slot;
        if let Some(mut n) = new {
            n.flags &= SA_KNOWN;
            n.mask &= !Signal::unblockable_bits();
            *slot = n;
            // A disposition that discards the signal drops it if pending,
            // blocked or not (sigaction(2), POSIX).
            if crate::signal::is_ignored(sig, n.handler) {
                l.flush(sig);
            }
        }
        old
    };
    if let Some(n) = new {
        crate::signal::disposition_changed(sig, n.handler);
        let ignores = |h: u64| h == crate::abi::signal::SIG_IGN;
        if sig == Signal::SIGCHLD && ignores(n.handler) != ignores(old.handler) && !crate::daemon::is_standalone() {
            // Children of a task that ignores SIGCHLD leave no zombies: the
            // daemon must know before the next child exits.
            crate::daemon::update(crate::task_info(crate::task::current()));
        }
    }
    if a[2] != 0 {
        uaccess::write(a[2], &old)?;
    }
    Ok(0)
}

pub fn rt_sigpending(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if a[1] > SIGSET_SIZE {
        return_errno_with_message!(EINVAL, "sigsetsize must be at most 8");
    }
    let l = lock_state(cx.thread());
    let pending = l.pending() & l.mask();
    drop(l);
    let bytes = pending.to_ne_bytes();
    let len = args::len(a[1])?.min(bytes.len());
    uaccess::write_bytes(a[0], &bytes[..len])?;
    Ok(0)
}

/// The mask `rt_sigprocmask(how, set)` makes of `old` (pure: the
/// syscall_args fuzz target calls it; SIGKILL and SIGSTOP are dropped when
/// the mask is set).
pub fn new_mask(how: u64, old: u64, set: u64) -> Result<u64> {
    Ok(match args::uint(how) {
        g::SIG_BLOCK => old | set,
        g::SIG_UNBLOCK => old & !set,
        g::SIG_SETMASK => set,
        _ => return_errno_with_message!(EINVAL, "how must be SIG_BLOCK, SIG_UNBLOCK or SIG_SETMASK"),
    })
}

pub fn rt_sigprocmask(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if a[3] != SIGSET_SIZE {
        return_errno_with_message!(EINVAL, "sigsetsize must be 8");
    }
    let set = if a[1] != 0 { Some(uaccess::read::<u64>(a[1])?) } else { None };
    let old = {
        let mut l = lock_state(cx.thread());
        let old = l.mask();
        if let Some(set) = set {
            l.set_mask(new_mask(a[0], old, set)?);
        }
        old
    };
    if a[2] != 0 {
        uaccess::write(a[2], &old)?;
    }
    // Signals the new mask lets through are delivered on the way back to the guest.
    Ok(0)
}

/// The guest's `stack_t`: ss_sp at 0, ss_flags (int) at 8, ss_size at 16.
const STACK_T_SIZE: usize = 24;

pub fn sigaltstack(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let cur = cx.ctl.altstack;
    let sp = cx.regs.rsp;
    if a[0] != 0 {
        let raw = uaccess::read_bytes(a[0], STACK_T_SIZE)?;
        let word = |r: std::ops::Range<usize>| raw.get(r).and_then(|b| b.try_into().ok()).map(u64::from_ne_bytes).unwrap_or(0);
        crate::signal::set_altstack(cx.ctl, sp, word(0..8), word(8..16) as u32, word(16..24))?;
    }
    if a[1] != 0 {
        let mut raw = [0u8; STACK_T_SIZE];
        raw[..8].copy_from_slice(&cur.sp.to_ne_bytes());
        raw[8..12].copy_from_slice(&(cur.reported_flags(sp) | cur.flags).to_ne_bytes());
        raw[16..].copy_from_slice(&cur.size.to_ne_bytes());
        uaccess::write_bytes(a[1], &raw)?;
    }
    Ok(0)
}

pub fn rt_sigreturn(cx: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    // The registers are restored wholesale; the value returned is the
    // restored rax, which `handle` writes back unchanged.
    Ok(crate::signal::sigreturn(cx.ctl, cx.regs))
}

/// Sleeps until a signal the mask lets through is pending; always EINTR
/// (the handler runs on the way back; ERESTARTNOHAND).
fn wait_for_deliverable(thread: &crate::task::Thread) -> Result<u64> {
    while !lock_state(thread).has_deliverable() {
        crate::host::trap::wait_signal(None);
    }
    Err(crate::errno!(EINTR))
}

pub fn rt_sigsuspend(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if a[1] != SIGSET_SIZE {
        return_errno_with_message!(EINVAL, "sigsetsize must be 8");
    }
    let mask: u64 = uaccess::read(a[0])?;
    let thread = cx.thread_arc();
    {
        let mut l = lock_state(&thread);
        // The frame of the handler that ends the wait records the old mask,
        // which comes back after it (or at once when no handler runs).
        cx.ctl.save_mask(l.mask());
        l.set_mask(mask);
    }
    wait_for_deliverable(&thread)
}

pub fn pause(cx: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    wait_for_deliverable(cx.thread())
}

pub fn rt_sigtimedwait(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if a[3] != SIGSET_SIZE {
        return_errno_with_message!(EINVAL, "sigsetsize must be 8");
    }
    let set = uaccess::read::<u64>(a[0])? & !Signal::unblockable_bits();
    // None: no timeout, or one beyond the host clock's range.
    let deadline = timeout::read_optional(a[2])?.and_then(timeout::deadline);
    let thread = cx.thread();
    // While it waits, the thread counts as not blocking the signals it
    // waits for, so a signal sent to the process is routed to it (Linux's
    // `real_blocked`, kernel/signal.c `do_sigtimedwait`).
    let real_mask = {
        let l = lock_state(thread);
        thread.sigwait_set.store(set, std::sync::atomic::Ordering::Relaxed);
        l.mask()
    };
    let result = loop {
        let (taken, interrupted) = {
            let mut l = lock_state(thread);
            match l.next_in(set) {
                Some(sig) => (l.dequeue(sig), false),
                None => (None, l.pending() & !real_mask & !set != 0 || l.is_group_exiting()),
            }
        };
        if let Some(info) = taken {
            break Ok(info);
        }
        if interrupted {
            // Another signal's handler runs instead.
            break Err(crate::errno!(EINTR));
        }
        let left = match deadline {
            None => None,
            Some(d) if std::time::Instant::now() >= d => break Err(crate::errno!(EAGAIN)),
            Some(d) => Some(timeout::left(d)),
        };
        crate::host::trap::wait_signal(left);
    };
    thread.sigwait_set.store(0, std::sync::atomic::Ordering::Relaxed);
    let info = result?;
    if a[1] != 0 {
        uaccess::write_bytes(a[1], &info.for_guest().to_bytes())?;
    }
    Ok(info.signo as u64)
}

/// The guest's siginfo for rt_sigqueueinfo, checked as Linux does for a
/// signal sent to oneself (any si_code is allowed then).
fn queued_info(sig: u64, uinfo: u64) -> Result<Option<SigInfo>> {
    let raw = uaccess::read_bytes(uinfo, crate::signal::SIGINFO_SIZE)?;
    if sig == 0 {
        return Ok(None);
    }
    let Some(sig) = Signal::from_raw(sig) else { return_errno!(EINVAL) };
    Ok(Some(SigInfo::from_bytes(sig, &raw)))
}

/// A siginfo another process may be sent: Linux lets a process forge
/// only codes below zero other than SI_TKILL for anyone but itself (the
/// kernel's own codes and kill's SI_USER are not the caller's to claim).
fn check_forged_code(target: i32, info: Option<&SigInfo>) -> Result<()> {
    let forged = info.is_some_and(|i| i.code >= 0 || i.code == g::SI_TKILL);
    if forged && target as u32 != crate::task::current().pid() {
        return_errno_with_message!(EPERM, "only negative si_codes other than SI_TKILL may be sent to another process");
    }
    // Linux would let it through; here it would arrive as signal-driven
    // I/O's siginfo (signal/mod.rs `CROSS_SIGPOLL_CODE`).
    if info.is_some_and(|i| i.code == crate::signal::CROSS_SIGPOLL_CODE) && target as u32 != crate::task::current().pid() {
        return_errno_with_message!(EPERM, "this si_code is the runtime's own between tasks");
    }
    Ok(())
}

/// Queues `info` (None: only probe) on another task, `pid`.
fn queue_to_task(pid: i32, info: Option<SigInfo>) -> Result<u64> {
    if pid <= 0 || crate::daemon::is_standalone() {
        return_errno_with_message!(ESRCH, "no such process");
    }
    let host_pid = super::proc_model::host_pid_of_task(pid)?;
    let Some(info) = info else {
        return super::proc_model::signal_host(host_pid, None).map(|()| 0);
    };
    let Some(host_sig) = host::signal::to_host(info.signal()) else {
        return_errno_with_message!(EINVAL, "this signal has no host counterpart");
    };
    let (uid, value) = info.rt_uid_value();
    host::process::sigqueue(host_pid, host_sig, info.code, uid, value).map_err(Error::new)?;
    Ok(0)
}

pub fn rt_sigqueueinfo(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let info = queued_info(a[1], a[2])?;
    let pid = super::args::int(a[0]);
    check_forged_code(pid, info.as_ref())?;
    if pid as u32 != crate::task::current().pid() {
        return queue_to_task(pid, info);
    }
    if let Some(info) = info {
        crate::signal::send_process(cx.thread(), info);
    }
    Ok(0)
}

pub fn rt_tgsigqueueinfo(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if super::args::int(a[0]) <= 0 || super::args::int(a[1]) <= 0 {
        return_errno!(EINVAL);
    }
    let info = queued_info(a[2], a[3])?;
    let (tgid, tid) = (super::args::int(a[0]), super::args::int(a[1]));
    check_forged_code(tgid, info.as_ref())?;
    if tgid as u32 != crate::task::current().pid() {
        if tgid != tid {
            return_errno_with_message!(ESRCH, "threads of other tasks are reached through their leader only");
        }
        return queue_to_task(tgid, info);
    }
    let Some(target) = crate::task::current().thread(super::args::uint(a[1])) else {
        return Err(crate::errno!(ESRCH, "no such thread in this process"));
    };
    if let Some(info) = info {
        crate::signal::send_thread(cx.thread(), &target, info);
    }
    Ok(0)
}

const USEC_PER_SEC: i64 = 1_000_000;

fn read_itimerval(addr: u64) -> Result<(Timeval, Timeval)> {
    itimerval_from(uaccess::read::<[u64; 4]>(addr)?)
}

/// `struct itimerval` as four words, checked (pure: the syscall_args fuzz
/// target calls it).
pub fn itimerval_from(raw: [u64; 4]) -> Result<(Timeval, Timeval)> {
    let tv = |s: u64, u: u64| Timeval { sec: s as i64, usec: u as i64 };
    let (interval, value) = (tv(raw[0], raw[1]), tv(raw[2], raw[3]));
    for t in [interval, value] {
        if t.sec < 0 || !(0..USEC_PER_SEC).contains(&t.usec) {
            return_errno_with_message!(EINVAL, "tv_usec must be in [0, 999999] and tv_sec non-negative");
        }
    }
    Ok((interval, value))
}

fn write_itimerval(addr: u64, (interval, value): (Timeval, Timeval)) -> Result<()> {
    for (i, v) in [interval.sec, interval.usec, value.sec, value.usec].iter().enumerate() {
        uaccess::write(addr + 8 * i as u64, v)?;
    }
    Ok(())
}

fn check_which(which: u64) -> Result<u32> {
    match u32::try_from(which) {
        Ok(w @ (g::ITIMER_REAL | g::ITIMER_VIRTUAL | g::ITIMER_PROF)) => Ok(w),
        _ => Err(crate::errno!(EINVAL, "which must be ITIMER_REAL, ITIMER_VIRTUAL or ITIMER_PROF")),
    }
}

pub fn setitimer(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let which = check_which(a[0])?;
    // A NULL new value disarms the timer (kernel/time/itimer.c).
    let new = if a[1] != 0 { read_itimerval(a[1])? } else { (Timeval::default(), Timeval::default()) };
    let old = crate::host::trap::set_itimer(which, new).map_err(Error::new)?;
    if a[2] != 0 {
        write_itimerval(a[2], old)?;
    }
    Ok(0)
}

pub fn getitimer(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let which = check_which(a[0])?;
    let cur = crate::host::trap::get_itimer(which).map_err(Error::new)?;
    write_itimerval(a[1], cur)?;
    Ok(0)
}

pub fn alarm(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let secs = args::uint(a[0]);
    let new = (Timeval::default(), Timeval { sec: i64::from(secs), usec: 0 });
    let (_, old) = crate::host::trap::set_itimer(g::ITIMER_REAL, new).map_err(Error::new)?;
    // alarm_setitimer(): round to the nearest second, and never report 0
    // for a timer that was still armed.
    let mut left = old.sec;
    if (left == 0 && old.usec != 0) || old.usec >= USEC_PER_SEC / 2 {
        left += 1;
    }
    Ok(left as u64)
}
