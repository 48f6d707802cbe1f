//! poll, ppoll, select, pselect6: readiness of several fds at once.
//!
//! The waiting itself is `vfs::poll::wait`, shared with epoll: host fds are
//! polled by the host, files the runtime serves answer for themselves.
//!
//! Divergences from Linux: ppoll/pselect6 swap the guest's signal mask for
//! the duration of the wait; a signal that arrives is delivered on return.

use super::{args, timeout, Ctx};
use crate::abi::{gen as g, Timespec};
use crate::error::Result;
use crate::task::{current, lock};
use crate::uaccess;
use crate::vfs::{self, file::OpenFile, poll::Watch};
use std::sync::Arc;
use crate::{return_errno, return_errno_with_message};

/// One entry of the guest's `struct pollfd` array.
#[derive(Clone, Copy)]
struct PollFd {
    fd: i32,
    events: u16,
    revents: u16,
}

const POLLFD_SIZE: u64 = 8;

/// Linux's check on poll's nfds (fs/select.c): at most RLIMIT_NOFILE.
/// Pure but for the fd limit it reads (the syscall_args fuzz target calls it).
pub fn check_nfds(n: u64) -> Result<usize> {
    match usize::try_from(n) {
        Ok(n) if n <= crate::vfs::fd_table::FdTable::limit() => Ok(n),
        _ => return_errno_with_message!(EINVAL, "nfds exceeds RLIMIT_NOFILE"),
    }
}

/// Polls `fds` for at most `timeout` (None: forever); fills revents.
fn do_poll(fds: &mut [PollFd], timeout: Option<Timespec>) -> Result<usize> {
    let deadline = vfs::poll::deadline_after(timeout);
    // The files are held for the wait (a close by another thread meanwhile
    // does not end the wait, as on Linux, where poll holds a reference).
    let files: Vec<Option<Arc<OpenFile>>> = {
        let table = lock(&current().fds);
        fds.iter().map(|p| if p.fd < 0 { None } else { table.get(p.fd).ok() }).collect()
    };
    let mut watches: Vec<Watch<'_>> = Vec::with_capacity(fds.len());
    let mut index = Vec::with_capacity(fds.len());
    for (i, (p, f)) in fds.iter_mut().zip(&files).enumerate() {
        p.revents = 0;
        if p.fd < 0 {
            continue;
        }
        watches.push(Watch::new(f.as_deref(), u32::from(p.events)));
        index.push(i);
    }
    let ready = vfs::poll::wait(&mut watches, deadline)?;
    for (w, &i) in watches.iter().zip(&index) {
        fds[i].revents = w.revents as u16;
    }
    Ok(ready)
}

fn read_pollfds(addr: u64, n: usize) -> Result<Vec<PollFd>> {
    let raw = uaccess::read_bytes(addr, n * POLLFD_SIZE as usize)?;
    Ok(raw
        .chunks_exact(8)
        .map(|c| PollFd {
            fd: i32::from_ne_bytes([c[0], c[1], c[2], c[3]]),
            events: u16::from_ne_bytes([c[4], c[5]]),
            revents: 0,
        })
        .collect())
}

fn write_revents(addr: u64, fds: &[PollFd]) -> Result<()> {
    for (i, p) in fds.iter().enumerate() {
        uaccess::write(addr + i as u64 * POLLFD_SIZE + 6, &p.revents)?;
    }
    Ok(())
}

/// Runs `f` with the guest's signal mask temporarily set to `mask`. As with
/// sigsuspend, a handler that ends the wait runs under the temporary mask
/// and its frame records the old one; otherwise the old mask comes back now.
pub(super) fn with_mask<T>(ctl: &mut crate::trap::ThreadCtl, mask: Option<u64>, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let Some(m) = mask else { return f() };
    let thread = ctl.thread_arc();
    {
        let mut l = crate::signal::lock_state(&thread);
        ctl.save_mask(l.mask());
        l.set_mask(m);
    }
    let r = f();
    let mut l = crate::signal::lock_state(&thread);
    if !l.has_deliverable() {
        if let Some(old) = ctl.take_saved_mask() {
            l.set_mask(old);
        }
    }
    r
}

pub fn poll(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let n = check_nfds(a[1])?;
    let mut fds = read_pollfds(a[0], n)?;
    let timeout = poll_timeout(a[2]);
    let ready = do_poll(&mut fds, timeout)?;
    write_revents(a[0], &fds)?;
    Ok(ready as u64)
}

/// poll's `int timeout` in milliseconds: negative waits forever (pure:
/// the syscall_args fuzz target calls it).
pub fn poll_timeout(ms: u64) -> Option<Timespec> {
    let t = args::int(ms);
    (t >= 0).then(|| Timespec { sec: i64::from(t / 1000), nsec: i64::from(t % 1000) * 1_000_000 })
}

pub(super) fn read_sigmask(addr: u64, size: u64) -> Result<Option<u64>> {
    if addr == 0 {
        return Ok(None);
    }
    check_sigsetsize(size)?;
    Ok(Some(uaccess::read::<u64>(addr)?))
}

/// The sigset size ppoll and pselect6 take: 8 (pure: the syscall_args
/// fuzz target calls it).
pub fn check_sigsetsize(size: u64) -> Result<()> {
    if size != 8 {
        return_errno_with_message!(EINVAL, "sigsetsize must be 8");
    }
    Ok(())
}

pub fn ppoll(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let n = check_nfds(a[1])?;
    let mut fds = read_pollfds(a[0], n)?;
    let t = timeout::read_optional(a[2])?;
    let mask = read_sigmask(a[3], a[4])?;
    let ready = timeout::wait_and_write_back(a[2], t, false, || with_mask(cx.ctl, mask, || do_poll(&mut fds, t)))?;
    write_revents(a[0], &fds)?;
    Ok(ready as u64)
}

/// `FD_SETSIZE`: select's fd sets are 1024 bits.
const FD_SETSIZE: u64 = 1024;

fn read_set(addr: u64, nfds: usize) -> Result<Option<Vec<u8>>> {
    if addr == 0 {
        return Ok(None);
    }
    let bytes = nfds.div_ceil(64) * 8;
    Ok(Some(uaccess::read_bytes(addr, bytes)?))
}

fn is_set(set: &Option<Vec<u8>>, fd: usize) -> bool {
    set.as_ref().is_some_and(|s| s[fd / 8] >> (fd % 8) & 1 == 1)
}

fn do_select(
    ctl: &mut crate::trap::ThreadCtl,
    nfds: u64,
    rd: u64,
    wr: u64,
    ex: u64,
    timeout: Option<Timespec>,
    mask: Option<u64>,
) -> Result<u64> {
    if nfds > FD_SETSIZE.max(1 << 20) {
        return_errno!(EINVAL);
    }
    let n = nfds as usize;
    let (rs, ws, es) = (read_set(rd, n)?, read_set(wr, n)?, read_set(ex, n)?);
    let mut fds = Vec::new();
    for fd in 0..n {
        let mut events = 0u16;
        if is_set(&rs, fd) {
            events |= (g::POLLIN | g::POLLRDNORM | g::POLLHUP | g::POLLERR) as u16;
        }
        if is_set(&ws, fd) {
            events |= (g::POLLOUT | g::POLLWRNORM | g::POLLERR) as u16;
        }
        if is_set(&es, fd) {
            events |= g::POLLPRI as u16;
        }
        if events != 0 {
            fds.push(PollFd { fd: fd as i32, events, revents: 0 });
        }
    }
    with_mask(ctl, mask, || do_poll(&mut fds, timeout))?;
    if fds.iter().any(|p| p.revents & g::POLLNVAL as u16 != 0) {
        return_errno!(EBADF);
    }
    let bytes = n.div_ceil(64) * 8;
    let (mut ro, mut wo, mut eo) = (vec![0u8; bytes], vec![0u8; bytes], vec![0u8; bytes]);
    let mut count = 0u64;
    for p in &fds {
        let fd = p.fd as usize;
        let mut mark = |set: &mut Vec<u8>| {
            set[fd / 8] |= 1 << (fd % 8);
            count += 1;
        };
        let rev = u32::from(p.revents);
        if is_set(&rs, fd) && rev & (g::POLLIN | g::POLLRDNORM | g::POLLHUP | g::POLLERR) != 0 {
            mark(&mut ro);
        }
        if is_set(&ws, fd) && rev & (g::POLLOUT | g::POLLWRNORM | g::POLLERR) != 0 {
            mark(&mut wo);
        }
        if is_set(&es, fd) && rev & g::POLLPRI != 0 {
            mark(&mut eo);
        }
    }
    for (addr, set) in [(rd, &ro), (wr, &wo), (ex, &eo)] {
        if addr != 0 {
            uaccess::write_bytes(addr, set)?;
        }
    }
    Ok(count)
}

pub fn select(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let t = if a[4] == 0 { None } else { Some(timeout::read_timeval(a[4])?) };
    timeout::wait_and_write_back(a[4], t, true, || do_select(cx.ctl, a[0], a[1], a[2], a[3], t, None))
}

pub fn pselect6(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let t = timeout::read_optional(a[4])?;
    // The sixth argument points at { const sigset_t *ss; size_t ss_len; }.
    let mask = if a[5] == 0 {
        None
    } else {
        let [ptr, len]: [u64; 2] = uaccess::read(a[5])?;
        read_sigmask(ptr, len)?
    };
    timeout::wait_and_write_back(a[4], t, false, || do_select(cx.ctl, a[0], a[1], a[2], a[3], t, mask))
}
