//! Readiness: how poll, select and epoll wait on files of every kind at once.
//!
//! A host object (file, pipe, terminal, socket) is polled by the host. A
//! file the runtime serves (eventfd, timerfd, signalfd, epoll) answers for
//! itself and hands the poller host fds to sleep on that turn ready
//! whenever its answer may change: a [`Notifier`] pipe that is readable
//! exactly while the object is ready, or an inner epoll's own watched fds.
//! A poller therefore always sleeps in one host `poll` over host fds, which
//! a signal interrupts (EINTR) like any other blocking host call, and which
//! another thread or process wakes by changing the host object's state:
//! nothing is lost between a check and the sleep, because the host keeps
//! the state (a level, not an event).

use crate::abi::{gen as g, Timespec};
use crate::error::{Error, Result};
use crate::host::{self, HostFd};
use crate::task::lock;
use std::sync::Mutex;

/// What a file says when asked about readiness.
pub enum Ready {
    /// The host answers and blocks for this host fd.
    Host(HostFd),
    /// The Linux poll events ready now.
    Now(u32),
}

/// The events every poller hears whether asked or not.
pub const ALWAYS: u32 = g::POLLERR | g::POLLHUP | g::POLLNVAL;

/// One file a poller watches: `file` None is a closed fd (POLLNVAL).
pub struct Watch<'a> {
    pub file: Option<&'a super::file::OpenFile>,
    pub events: u32,
    pub revents: u32,
    /// Events no sleeper wakes for ([`probe`] leaves them out of `wake`):
    /// those an edge-triggered epoll registration reported already, whose
    /// file stays ready, must not end every sleep.
    pub quiet: u32,
}

impl<'a> Watch<'a> {
    pub fn new(file: Option<&'a super::file::OpenFile>, events: u32) -> Watch<'a> {
        Watch { file, events, revents: 0, quiet: 0 }
    }
}

/// EINTR when a signal the sleeper may take is already pending (one that
/// came while it was blocked, let through by ppoll's or epoll_pwait's mask):
/// it would not interrupt the host call, having arrived before it.
fn check_signals() -> Result<()> {
    if crate::trap::calling_thread_interrupted() {
        return Err(crate::errno!(EINTR));
    }
    Ok(())
}

/// Milliseconds until `deadline` for the host's poll (0 once past; -1: no
/// deadline).
fn millis_until(deadline: Option<Timespec>) -> i32 {
    let Some(d) = deadline else { return -1 };
    let ns = nanos_until(d);
    if ns <= 0 {
        return 0;
    }
    // Rounded up: never wake before the deadline and spin.
    let ms = (ns + 999_999) / 1_000_000;
    ms.min(i128::from(i32::MAX)) as i32
}

/// Nanoseconds from now to the monotonic `deadline` (negative once past).
fn nanos_until(deadline: Timespec) -> i128 {
    let now = host::time::clock_gettime(g::CLOCK_MONOTONIC).unwrap_or_default();
    (i128::from(deadline.sec) - i128::from(now.sec)) * 1_000_000_000 + i128::from(deadline.nsec - now.nsec)
}

/// Sleeps `ms` milliseconds as [`millis_until`] counts them (-1: until a
/// signal); EINTR when a signal interrupts.
fn sleep_ms(ms: i32) -> Result<()> {
    let t = if ms < 0 {
        Timespec { sec: i64::MAX / 2, nsec: 0 }
    } else {
        Timespec { sec: i64::from(ms / 1000), nsec: i64::from(ms % 1000) * 1_000_000 }
    };
    host::time::sleep(t).map_err(|(e, _)| Error::new(e))
}

/// What is left until the monotonic `deadline`: zero once it has passed.
pub fn time_left(deadline: Timespec) -> Timespec {
    let ns = nanos_until(deadline);
    if ns <= 0 {
        return Timespec::default();
    }
    Timespec { sec: (ns / 1_000_000_000) as i64, nsec: (ns % 1_000_000_000) as i64 }
}

/// The monotonic time `timeout` from now (None: forever).
pub fn deadline_after(timeout: Option<Timespec>) -> Option<Timespec> {
    let t = timeout?;
    let now = host::time::clock_gettime(g::CLOCK_MONOTONIC).unwrap_or_default();
    let mut sec = now.sec.saturating_add(t.sec);
    let mut nsec = now.nsec + t.nsec;
    if nsec >= 1_000_000_000 {
        sec = sec.saturating_add(1);
        nsec -= 1_000_000_000;
    }
    Some(Timespec { sec, nsec })
}

/// A host fd a poller may sleep on: its poll events, the watch it answers
/// for directly (a host object), and the watch it was named for.
struct SleepOn {
    fd: HostFd,
    events: u32,
    owner: Option<usize>,
    source: usize,
}

/// Fills each watch's `revents` once, without sleeping; the host fds to
/// sleep on go to `sleep_on`. Returns how many watches are ready among
/// those answered here.
fn survey(watches: &mut [Watch<'_>], sleep_on: &mut Vec<SleepOn>) -> usize {
    let mut ready = 0;
    let mut wake = Vec::new();
    for (i, w) in watches.iter_mut().enumerate() {
        w.revents = 0;
        let Some(file) = w.file else {
            w.revents = g::POLLNVAL;
            ready += 1;
            continue;
        };
        wake.clear();
        match file.poll(w.events | ALWAYS, &mut wake) {
            Ready::Host(fd) => sleep_on.push(SleepOn { fd, events: w.events, owner: Some(i), source: i }),
            Ready::Now(ev) => {
                w.revents = ev & (w.events | ALWAYS);
                if w.revents != 0 {
                    ready += 1;
                }
            }
        }
        sleep_on.extend(wake.iter().map(|&(fd, events)| SleepOn { fd, events, owner: None, source: i }));
    }
    ready
}

/// Waits until one of `watches` is ready or `deadline` (monotonic) passes;
/// fills every `revents` and returns how many watches are ready. A signal
/// interrupting the sleep is EINTR.
pub fn wait(watches: &mut [Watch<'_>], deadline: Option<Timespec>) -> Result<usize> {
    loop {
        let mut sleep_on = Vec::new();
        let mut ready = survey(watches, &mut sleep_on);
        let ms = if ready > 0 { 0 } else { millis_until(deadline) };
        if sleep_on.is_empty() {
            if ready == 0 && ms != 0 {
                // Nothing to wait on but time (poll(NULL, 0, t) is a sleep).
                check_signals()?;
                sleep_ms(ms)?;
                continue;
            }
            return Ok(ready);
        }
        if ms != 0 {
            check_signals()?;
        }
        let mut req: Vec<(HostFd, u32, u32)> = sleep_on.iter().map(|s| (s.fd, s.events, 0)).collect();
        host::fs::poll(&mut req, ms).map_err(Error::new)?;
        for (s, &(_, _, rev)) in sleep_on.iter().zip(&req) {
            if let Some(i) = s.owner {
                let w = &mut watches[i];
                w.revents = rev & (w.events | ALWAYS);
                if w.revents != 0 {
                    ready += 1;
                }
            }
        }
        if ready > 0 || ms == 0 {
            return Ok(ready);
        }
        // A runtime-served file may have become ready: ask again.
    }
}

/// Asks each watch once without sleeping (host objects with a zero-timeout
/// host poll); fills `revents` and adds to `wake` everything a sleeper
/// would wait on for these files, each with the index of the watch it is
/// for: their own host fds and the fds the runtime's kinds wake through.
/// Returns how many watches are ready.
pub fn probe(watches: &mut [Watch<'_>], wake: &mut Vec<(HostFd, u32, usize)>) -> Result<usize> {
    let mut sleep_on = Vec::new();
    let mut ready = survey(watches, &mut sleep_on);
    let mut req: Vec<(HostFd, u32, u32)> = sleep_on.iter().filter(|s| s.owner.is_some()).map(|s| (s.fd, s.events, 0)).collect();
    if !req.is_empty() {
        host::fs::poll(&mut req, 0).map_err(Error::new)?;
        let owners = sleep_on.iter().filter_map(|s| s.owner);
        for (i, &(_, _, rev)) in owners.zip(&req) {
            let w = &mut watches[i];
            w.revents = rev & (w.events | ALWAYS);
            if w.revents != 0 {
                ready += 1;
            }
        }
    }
    wake.extend(sleep_on.iter().filter_map(|s| {
        let w = &watches[s.source];
        let events = match s.owner {
            // The file's own host fd: only what may still turn ready.
            Some(_) => s.events & !w.quiet,
            // A fd the runtime's kind wakes through, for any change.
            None if w.events & !w.quiet != 0 => s.events,
            None => 0,
        };
        // A hang-up or error already reported would end every sleep.
        let dead = w.revents & ALWAYS != 0 && w.revents & ALWAYS & !w.quiet == 0;
        (events != 0 && !dead).then_some((s.fd, events, s.source))
    }));
    Ok(ready)
}

/// Sleeps until one of `wake` turns ready or `deadline` passes; false when
/// the deadline passed. EINTR when a signal interrupts.
pub fn sleep_on(wake: &[(HostFd, u32)], deadline: Option<Timespec>) -> Result<bool> {
    let ms = millis_until(deadline);
    if ms == 0 {
        return Ok(false);
    }
    check_signals()?;
    if wake.is_empty() {
        sleep_ms(ms)?;
        return Ok(millis_until(deadline) != 0);
    }
    let mut req: Vec<(HostFd, u32, u32)> = wake.iter().map(|&(fd, ev)| (fd, ev, 0)).collect();
    let n = host::fs::poll(&mut req, ms).map_err(Error::new)?;
    Ok(n > 0 || millis_until(deadline) != 0)
}

/// Blocks until `file` is ready for `events` (a read of an empty eventfd,
/// say); EINTR when a signal interrupts.
pub fn wait_for(file: &super::file::OpenFile, events: u32) -> Result<u32> {
    let mut w = [Watch::new(Some(file), events)];
    wait(&mut w, None)?;
    Ok(w[0].revents)
}

/// A host pipe whose read end is readable exactly while the object that
/// owns it says it is ready: what a runtime-served file hands pollers to
/// sleep on. The owner calls [`Notifier::set`] under its own lock after
/// every change of state.
pub struct Notifier(Mutex<Pipe>);

struct Pipe {
    r: HostFd,
    w: HostFd,
    on: bool,
}

impl Pipe {
    fn new() -> Result<Pipe> {
        let (r, w) = host::fs::pipe().map_err(|e| Error::with_message(e, "cannot make the pipe a poller sleeps on"))?;
        for fd in [r, w] {
            let _ = host::fs::set_status_flags(fd, g::O_NONBLOCK);
        }
        Ok(Pipe { r, w, on: false })
    }
}

impl Pipe {
    /// Makes the pipe readable (one byte in it) or empty.
    fn fill(&self, on: bool) {
        if on {
            let _ = host::fs::write(self.w, &[1]);
        } else {
            let mut b = [0u8; 16];
            while matches!(host::fs::read(self.r, &mut b), Ok(n) if n > 0) {}
        }
    }
}

impl Pipe {
    /// While the pipe is readable: new data in it all the same (emptied,
    /// one byte written again), a host edge for an edge-triggered host
    /// watcher (an epoll's edge queue) though a level poller sees no
    /// change. One read empties it: the pipe holds at most a byte or two.
    fn pulse(&self) {
        let mut b = [0u8; 64];
        let _ = host::fs::read(self.r, &mut b);
        let _ = host::fs::write(self.w, &[1]);
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        host::fs::close(self.r);
        host::fs::close(self.w);
    }
}

impl Notifier {
    pub fn new() -> Result<Notifier> {
        Ok(Notifier(Mutex::new(Pipe::new()?)))
    }

    /// What pollers sleep on: the read end, for POLLIN.
    pub fn wake(&self) -> (HostFd, u32) {
        (lock(&self.0).r, g::POLLIN)
    }

    /// Makes the pipe readable (`on`) or empty.
    pub fn set(&self, on: bool) {
        let mut p = lock(&self.0);
        if on == p.on {
            return;
        }
        p.fill(on);
        p.on = on;
    }

    /// A new event while the owner stays ready: see [`Pipe::pulse`];
    /// nothing while the pipe is empty (the owner's next `set` fills it).
    pub fn pulse(&self) {
        let p = lock(&self.0);
        if p.on {
            p.pulse();
        }
    }

    /// After fork, in the child: a pipe of its own, in the same state, so
    /// the parent's object and the child's copy no longer wake each other.
    pub fn renew(&self) {
        let mut p = lock(&self.0);
        if let Ok(mut fresh) = Pipe::new() {
            if p.on {
                fresh.fill(true);
                fresh.on = true;
            }
            *p = fresh;
        }
    }
}

/// A pipe readable while a flag kept by its owner is set: a [`Notifier`]
/// whose state lives with the owner, in memory a fork child shares
/// (`host::mem::SharedWords`), so that parent and child, which share the
/// pipe itself after a fork, keep it right together. The owner calls
/// [`SharedNotifier::set`] under its own lock with its record of the state.
pub struct SharedNotifier(Pipe);

impl SharedNotifier {
    pub fn new() -> Result<SharedNotifier> {
        Ok(SharedNotifier(Pipe::new()?))
    }

    /// What pollers sleep on: the read end, for POLLIN.
    pub fn wake(&self) -> (HostFd, u32) {
        (self.0.r, g::POLLIN)
    }

    /// Makes the pipe readable (`on`) or empty; `was` is the owner's record.
    pub fn set(&self, on: bool, was: bool) {
        if on != was {
            self.0.fill(on);
        }
    }

    /// A new event while the owner stays ready (`on`, the owner's record):
    /// see [`Pipe::pulse`].
    pub fn pulse(&self, on: bool) {
        if on {
            self.0.pulse();
        }
    }

    /// The pipe's two host fds (read, write), to keep across execve: the
    /// owner's other holders (a fork sibling) keep using the same pipe.
    pub fn host_fds(&self) -> (HostFd, HostFd) {
        (self.0.r, self.0.w)
    }

    /// The notifier whose pipe crossed execve as `host_fds` gave it.
    pub fn from_host_fds((r, w): (HostFd, HostFd)) -> SharedNotifier {
        SharedNotifier(Pipe { r, w, on: false })
    }
}
