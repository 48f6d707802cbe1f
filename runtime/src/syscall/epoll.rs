//! epoll(7): epoll_create, epoll_create1, epoll_ctl, epoll_wait,
//! epoll_pwait, epoll_pwait2.
//!
//! An epoll instance is a file of its own ([`Epoll`]) holding its interest
//! list. A registration is keyed, as on Linux, by the open file description
//! and the fd number it was added with; it holds the description weakly, so
//! it lives on after `close(fd)` while a dup keeps the description open, and
//! goes when the last reference does. A wait asks every registered file for
//! its readiness and sleeps in `vfs::poll::wait` until one is ready, so any
//! kind of fd can be watched, epoll fds included (nesting: ELOOP past
//! Linux's depth of 5 or on a cycle).
//!
//! Level-triggered registrations report for as long as the file is ready.
//! Edge-triggered ones (EPOLLET) keep, per event, what they reported: an
//! event is a new edge when it turns ready after it was seen not ready
//! (data arriving on a socket whose writability was reported is reported,
//! with everything ready then), and an event reported before is one again
//! once the guest has used that side of the file since (a read, recv or
//! accept for the reading events, a write or send for the writing ones).
//! EPOLLONESHOT disables the registration after one report until
//! EPOLL_CTL_MOD re-arms it.
//!
//! On host objects (pipes, FIFOs, sockets, terminals) the host itself
//! tells of each new edge: the instance keeps a host edge queue
//! (`host::watch::queue`: an edge-triggered host epoll on Linux, a
//! kqueue with EV_CLEAR on macOS) with their host fds in it, and a
//! registration whose host object had an edge since its last report is
//! armed again, so more data arriving on a socket or pipe still readable
//! is a new edge, as each arrival wakes an EPOLLET waiter on Linux, and a
//! read that leaves data behind is none. A sleeper also sleeps on the
//! queue.
//!
//! A sleeper does not poll the registrations' host fds themselves: a host
//! poll holds each file it sleeps on, so a listening socket another
//! thread closes would stay bound until the wait ended. The instance keeps
//! a second, level-triggered host queue with them, and the sleeper polls
//! that (an epoll wait on Linux holds no file either).
//!
//! On the runtime's own kinds, a kind that counts its wake-ups
//! (`FileOps::read_wakeups`: an eventfd's writes, the signals queued for
//! a signalfd, an inotify fd's queued events) makes each a new edge of the
//! reading side, as Linux's wake-up readies the registration again. Such
//! a kind also names a host fd that gets new data at each wake-up
//! (`FileOps::edge_fd`), which the host edge queue watches, so a thread
//! already asleep in a wait wakes for the edge (mio's waker, an eventfd
//! written at each wake and never read, relies on it).
//!
//! Divergences from Linux:
//! - On the runtime's own kinds edge triggering is otherwise derived from
//!   readiness levels and the guest's own use of the file (see above):
//!   after a read that leaves it ready, it is reported again though
//!   nothing new happened; the writing side of an eventfd is not made a
//!   new edge by a read from another process.
//! - On host objects, data that arrives while a wait is looking at the
//!   file may be reported by that wait and once more by the next.
//! - EPOLLEXCLUSIVE wakes every waiter, not one (allowed by epoll_ctl(2):
//!   "one or more").
//! - EPOLLWAKEUP is accepted and has no effect (there is no autosleep).
//! - After fork the child's instance is a copy of the parent's interest
//!   list, not the same instance.
//!
//! execve keeps an epoll fd with the registrations whose open file crosses
//! too (`FileOps::exec_state`: each names its file by the handover's
//! number, and keeps its fd number, events, data and EPOLLONESHOT/EPOLLET
//! state); those of files closed by the exec go, as Linux drops a
//! registration when its file's last reference does.

use super::{args, poll as syspoll, timeout, Ctx};
use crate::abi::{gen as g, Timespec};
use crate::error::Result;
use crate::host::{HostFd, HostStat};
use crate::task::{current, lock};
use crate::uaccess;
use crate::vfs::file::{hold, try_hold, ExecIds, ExecKind, ExecObjects, FileOps, ForkHolds, KindState, OpenFile};
use crate::task::Thread;
use crate::vfs::poll::{self, Notifier, Ready, Watch};
use crate::{errno, return_errno_with_message};
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};

const EPOLL_CTL_ADD: u32 = 1;
const EPOLL_CTL_DEL: u32 = 2;
const EPOLL_CTL_MOD: u32 = 3;

const EPOLLIN: u32 = 0x1;
const EPOLLOUT: u32 = 0x4;
const EPOLLERR: u32 = 0x8;
const EPOLLHUP: u32 = 0x10;
const EPOLLEXCLUSIVE: u32 = 1 << 28;
const EPOLLWAKEUP: u32 = 1 << 29;
const EPOLLONESHOT: u32 = 1 << 30;
const EPOLLET: u32 = 1 << 31;

/// The flags of a registration that are not poll events.
const EP_PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/// What EPOLLEXCLUSIVE may be combined with (fs/eventpoll.c EPOLLEXCLUSIVE_OK_BITS).
const EXCLUSIVE_OK_BITS: u32 = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/// How deep epoll instances may nest (fs/eventpoll.c EP_MAX_NESTS).
const EP_MAX_NESTS: usize = 4;
/// `struct epoll_event` is packed on x86_64: u32 events, u64 data.
const EVENT_SIZE: usize = 12;
/// The most events one wait may ask for (fs/eventpoll.c EP_MAX_EVENTS).
const EP_MAX_EVENTS: i32 = (i32::MAX as usize / EVENT_SIZE) as i32;

struct Reg {
    fd: i32,
    file: Weak<OpenFile>,
    events: u32,
    data: u64,
    /// EPOLLONESHOT reported: quiet until EPOLL_CTL_MOD.
    disabled: bool,
    /// EPOLLET: the events reported and seen ready since, quiet until
    /// seen not ready or until the guest uses their side of the file...
    reported: u32,
    /// ...which it has done this often (reads, writes) by the report;
    /// and how often a runtime-served file had woken its readers by then
    /// (`FileOps::read_wakeups`: each time since is a new edge).
    uses_then: (u64, u64),
    wakes_then: u64,
}

/// The events a read, a recv or an accept re-arms.
const READ_SIDE: u32 = g::POLLIN | g::POLLPRI | g::POLLRDNORM | g::POLLRDBAND;
/// The events a write or a send re-arms.
const WRITE_SIDE: u32 = g::POLLOUT | g::POLLWRNORM | g::POLLWRBAND;

impl Reg {
    fn key(&self) -> *const OpenFile {
        self.file.as_ptr()
    }

    /// The events this registration stays quiet about (EPOLLET): those it
    /// reported, less the side the guest has used since and the reading
    /// side if the file woke its readers since (`wakes`: its
    /// `read_wakeups` now); for a host object whose edges the host reports
    /// (`has_edges`), those it reported until the next edge.
    fn quiet(&self, file: &OpenFile, has_edges: bool, wakes: u64) -> u32 {
        if self.events & EPOLLET == 0 {
            return 0;
        }
        if has_edges {
            return self.reported;
        }
        let (reads, writes) = file.uses();
        let mut quiet = self.reported;
        if reads != self.uses_then.0 || wakes != self.wakes_then {
            quiet &= !READ_SIDE;
        }
        if writes != self.uses_then.1 {
            quiet &= !WRITE_SIDE;
        }
        quiet
    }
}

pub struct Epoll {
    regs: Mutex<Vec<Reg>>,
    /// Where the next wait starts looking, so that level-triggered files
    /// ready all the time do not starve the others when maxevents is small.
    cursor: Mutex<usize>,
    /// The threads sleeping in a wait on this instance: a change of the
    /// interest list makes their wake pipes readable, so they look again
    /// (a file added while they sleep is watched from then on).
    sleepers: Mutex<Vec<Arc<Thread>>>,
    /// After execve, until every open file is back: the registrations
    /// that crossed, by their files' handover numbers.
    crossed: Mutex<Vec<CrossedReg>>,
    /// The host's edges of the EPOLLET registrations on host objects
    /// (taken under `regs`).
    edges: Mutex<HostSet>,
    /// What sleepers wait on for the registrations (taken alone).
    level: Mutex<HostSet>,
}

impl Default for Epoll {
    fn default() -> Epoll {
        Epoll {
            regs: Mutex::default(),
            cursor: Mutex::default(),
            sleepers: Mutex::default(),
            crossed: Mutex::default(),
            edges: Mutex::new(HostSet::new(true)),
            level: Mutex::new(HostSet::new(false)),
        }
    }
}

/// The poll events whose edges a host edge queue watches.
const EDGE_EVENTS: u32 = g::POLLIN | g::POLLPRI | g::POLLOUT | g::POLLRDNORM | g::POLLRDBAND | g::POLLWRNORM | g::POLLWRBAND | g::POLLRDHUP;

/// A host watch queue (`host::watch::queue`) and what is watched in it:
/// host fd, the open file it was watched for (its `OpenFile::serial`: a
/// host fd number, like an address, may be another file's later), events.
/// Two per instance: the host's edges of the EPOLLET registrations on host
/// objects (`edge`: it turns readable at each new edge of one, on Linux
/// each arrival of data on a socket or pipe still readable, which makes
/// such a registration report again); and what a sleeper waits on for
/// the registrations, level-triggered, which it polls in place of their
/// host fds: a host poll holds a reference to each file it sleeps on, and
/// would keep a socket the guest closed meanwhile bound and listening
/// until the wait ends (an epoll wait on Linux holds none).
struct HostSet {
    queue: Option<HostFd>,
    watched: Want,
    edge: bool,
    /// The list the last [`HostSet::sync_list`] was given, and what the
    /// host would not watch of it: a wait that finds the same (the common
    /// case: nothing registered or closed since) costs one comparison.
    last: Vec<(HostFd, u64, u32)>,
    last_loose: Vec<(HostFd, u32)>,
}

/// What a host queue is to watch: events by (host fd, file serial).
type Want = HashMap<(HostFd, u64), u32>;

impl Drop for HostSet {
    fn drop(&mut self) {
        if let Some(q) = self.queue.take() {
            crate::host::fs::close(q);
        }
    }
}

impl HostSet {
    fn new(edge: bool) -> HostSet {
        HostSet { queue: None, watched: HashMap::new(), edge, last: Vec::new(), last_loose: Vec::new() }
    }

    /// [`HostSet::sync`] for a list of (host fd, file serial, events), an
    /// fd and file possibly more than once.
    fn sync_list(&mut self, list: Vec<(HostFd, u64, u32)>) -> Option<(HostFd, Vec<HostFd>, Vec<(HostFd, u32)>)> {
        if let Some(q) = self.queue.filter(|_| list == self.last) {
            let edged = if self.edge { crate::host::watch::edge_take(q) } else { Vec::new() };
            return Some((q, edged, self.last_loose.clone()));
        }
        let mut want = Want::with_capacity(list.len());
        for &(h, key, events) in &list {
            *want.entry((h, key)).or_insert(0) |= events;
        }
        let r = self.sync(&want)?;
        self.last = list;
        self.last_loose = r.2.clone();
        Some(r)
    }

    /// Watches exactly `want`. Returns the queue, with what had an edge
    /// since the last call for an edge queue, and the entries the host
    /// would not watch (to poll directly); `None` when the host gives no
    /// queue. Linear in the registrations: a server's thousands of
    /// connections are compared, not searched for one by one.
    fn sync(&mut self, want: &Want) -> Option<(HostFd, Vec<HostFd>, Vec<(HostFd, u32)>)> {
        use crate::host::watch;
        if want.is_empty() && self.watched.is_empty() {
            return self.queue.map(|q| (q, Vec::new(), Vec::new()));
        }
        if self.queue.is_none() {
            self.queue = watch::queue().ok();
        }
        let mut q = self.queue?;
        let mut edged = Vec::new();
        let mut loose = Vec::new();
        if &self.watched != want {
            // What no registration wants any more (deleted, disabled, its
            // file gone) goes: its host fd may still be open elsewhere, and
            // its readiness would wake sleepers for nothing. A watch the
            // host cannot take back (its fd closed, or the number another
            // file's now) may live on while the old file is open in a fork
            // child, and wake sleepers for nothing: the queue is then made
            // anew.
            let wanted_fds: HashSet<HostFd> = want.keys().map(|k| k.0).collect();
            let gone: Vec<(HostFd, u64)> = self.watched.keys().filter(|k| !want.contains_key(k)).copied().collect();
            let mut stale = false;
            for k in gone {
                self.watched.remove(&k);
                stale |= wanted_fds.contains(&k.0) || watch::queue_unwatch(q, k.0).is_err();
            }
            if stale {
                if let Ok(fresh) = watch::queue() {
                    if self.edge {
                        edged = watch::edge_take(q);
                    }
                    crate::host::fs::close(q);
                    self.queue = Some(fresh);
                    self.watched.clear();
                    q = fresh;
                }
            }
            for (&(h, key), &events) in want {
                if self.watched.get(&(h, key)) == Some(&events) {
                    continue;
                }
                if watch::queue_watch(q, h, events, self.edge).is_ok() {
                    self.watched.insert((h, key), events);
                } else {
                    self.watched.remove(&(h, key));
                    loose.push((h, events));
                }
            }
        }
        if self.edge {
            edged.extend(watch::edge_take(q));
        }
        Some((q, edged, loose))
    }

    fn is_watched(&self, h: HostFd, key: u64) -> bool {
        self.watched.contains_key(&(h, key))
    }
}

/// A registration as it crosses execve.
#[derive(serde::Serialize, serde::Deserialize)]
struct CrossedReg {
    file: u32,
    fd: i32,
    events: u32,
    data: u64,
    disabled: bool,
    reported: u32,
}

/// One ready registration found by a survey.
struct Found {
    index: usize,
    events: u32,
    data: u64,
}

impl Epoll {
    /// The live registrations that may report (dead ones are dropped).
    /// Each with its events and what it is quiet about.
    fn live(&self) -> Vec<(usize, Arc<OpenFile>, u32, u32, u64)> {
        let mut regs = lock(&self.regs);
        regs.retain(|r| r.file.strong_count() > 0);
        // The host's edges: a registration whose host object had one since
        // is armed again (it reports if ready, though still ready since).
        let host_of = |r: &Reg| {
            let f = r.file.upgrade()?;
            Some((f.host_fd()?, f.serial()))
        };
        let mut want = Vec::new();
        for r in regs.iter().filter(|r| r.events & EPOLLET != 0 && !r.disabled) {
            let Some((h, key)) = host_of(r) else {
                // A runtime kind's wake-ups: each puts new data in its
                // edge fd, so a sleeper wakes for the next survey, which
                // tells the edge by `read_wakeups`.
                if let Some(f) = r.file.upgrade() {
                    if let Some(h) = f.edge_fd() {
                        want.push((h, f.serial(), g::POLLIN));
                    }
                }
                continue;
            };
            want.push((h, key, r.events & EDGE_EVENTS));
        }
        let mut edges = lock(&self.edges);
        let edged = edges.sync_list(want).map(|(_, edged, _)| edged).unwrap_or_default();
        for r in regs.iter_mut().filter(|r| r.events & EPOLLET != 0) {
            if host_of(r).is_some_and(|(h, _)| edged.contains(&h)) {
                r.reported = 0;
            }
        }
        regs.iter()
            .enumerate()
            .filter(|(_, r)| !r.disabled)
            .filter_map(|(i, r)| {
                let f = r.file.upgrade()?;
                let has_edges = f.host_fd().is_some_and(|h| edges.is_watched(h, f.serial()));
                // Asked before the look below: a wake-up after it is a
                // new edge for the next.
                let wakes = if r.events & EPOLLET != 0 && !has_edges { f.read_wakeups() } else { 0 };
                let quiet = r.quiet(&f, has_edges, wakes);
                Some((i, f, r.events, quiet, wakes))
            })
            .collect()
    }

    /// What a sleeper waits on for the host's edges.
    fn edge_wake(&self) -> Option<(HostFd, u32)> {
        lock(&self.edges).queue.map(|q| (q, g::POLLIN))
    }

    /// Asks every registration once; returns those that may report now and
    /// leaves in `wake` what to sleep on for the rest. An edge registration
    /// reports when an event it is not quiet about is ready; an event seen
    /// not ready is armed again (its next readiness is a new edge).
    fn survey(&self, wake: &mut Vec<(HostFd, u32)>) -> Result<Vec<Found>> {
        let live = self.live();
        let mut watches: Vec<Watch<'_>> = live
            .iter()
            .map(|(_, f, ev, quiet, _)| Watch {
                file: Some(f),
                events: ev & !EP_PRIVATE_BITS,
                revents: 0,
                // Reported on this edge: no sleeper wakes for these.
                quiet: *quiet,
            })
            .collect();
        let mut tagged = Vec::new();
        poll::probe(&mut watches, &mut tagged)?;
        let want: Vec<(HostFd, u64, u32)> = tagged.iter().map(|&(h, events, i)| (h, live[i].1.serial(), events)).collect();
        match lock(&self.level).sync_list(want) {
            Some((q, _, loose)) => {
                wake.push((q, g::POLLIN));
                wake.extend(loose);
            }
            None => wake.extend(tagged.iter().map(|&(h, events, _)| (h, events))),
        }
        wake.extend(self.edge_wake());
        let mut regs = lock(&self.regs);
        let mut found = Vec::new();
        for ((i, f, _, quiet, wakes), w) in live.iter().zip(&watches) {
            let Some(r) = regs.get_mut(*i).filter(|r| r.key() == Arc::as_ptr(f)) else { continue };
            if r.events & EPOLLET != 0 {
                r.reported = quiet & w.revents;
                r.uses_then = f.uses();
                r.wakes_then = *wakes;
            }
            if w.revents & !r.reported != 0 {
                found.push(Found { index: *i, events: w.revents, data: r.data });
            }
        }
        Ok(found)
    }

    /// One pass: the events ready now, at most `max`; marks what it
    /// reports (EPOLLET: quiet about those events; EPOLLONESHOT:
    /// disabled).
    fn collect(&self, max: usize, wake: &mut Vec<(HostFd, u32)>) -> Result<Vec<Found>> {
        let mut found = self.survey(wake)?;
        if found.is_empty() {
            return Ok(found);
        }
        let mut cursor = lock(&self.cursor);
        let start = *cursor % found.len();
        found.rotate_left(start);
        found.truncate(max);
        *cursor = start + found.len();
        drop(cursor);
        let mut regs = lock(&self.regs);
        for f in &found {
            let Some(r) = regs.get_mut(f.index) else { continue };
            if r.events & EPOLLONESHOT != 0 {
                r.disabled = true;
            }
            if r.events & EPOLLET != 0 {
                r.reported = f.events;
            }
        }
        Ok(found)
    }

    /// Whether `target` (an epoll instance) is this one or watches it,
    /// at any depth; and how deep the nesting below this one goes.
    fn reaches(&self, target: *const Epoll, depth: usize) -> (bool, usize) {
        if std::ptr::eq(self, target) {
            return (true, depth);
        }
        let inner: Vec<Arc<OpenFile>> = lock(&self.regs).iter().filter_map(|r| r.file.upgrade()).collect();
        let mut deepest = depth;
        for f in inner {
            if let Some(ep) = f.ops_as::<Epoll>() {
                if depth >= EP_MAX_NESTS + 1 {
                    return (false, depth + 1);
                }
                let (hit, d) = ep.reaches(target, depth + 1);
                if hit {
                    return (true, d);
                }
                deepest = deepest.max(d);
            }
        }
        (false, deepest)
    }
}

impl FileOps for Epoll {
    fn stat(&self, f: &OpenFile) -> Result<HostStat> {
        Ok(crate::vfs::file::anon_stat(&f.guest_path))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    /// Readable while some registration would report (an epoll inside
    /// another, or in poll/select).
    fn poll(&self, _f: &OpenFile, _events: u32, wake: &mut Vec<(HostFd, u32)>) -> Ready {
        match self.survey(wake) {
            Ok(found) if !found.is_empty() => Ready::Now(g::POLLIN | g::POLLRDNORM),
            _ => Ready::Now(0),
        }
    }

    fn pollable(&self) -> bool {
        true
    }

    /// Every lock of the instance: a thread inside epoll_ctl or
    /// epoll_wait at a fork would leave the child's copy locked.
    fn hold_for_fork<'a>(&'a self, held: &mut ForkHolds<'a>) -> bool {
        hold(&self.regs, held) && hold(&self.cursor, held) && hold(&self.sleepers, held) && hold(&self.crossed, held) && hold(&self.edges, held) && hold(&self.level, held)
    }

    /// In a fork child: the host edge queue is the parent's (the child's
    /// instance is a copy), so the child watches with one of its own; the
    /// sleepers are the parent's threads, which are not in the child (and
    /// whose wake pipes' locks one of them may have held at the fork: an
    /// epoll_ctl of the child would wait for them). The fork held these locks
    /// (`hold_for_fork`), so the child's copies are free; `try_hold`
    /// still, for a fork that gave up holding them (task/process.rs).
    fn after_fork(&self) {
        // The host queues are the parent's (on macOS a kqueue is not
        // inherited at all): the child's copy watches with its own.
        for (set, edge) in [(&self.edges, true), (&self.level, false)] {
            if let Some(mut set) = try_hold(set) {
                *set = HostSet::new(edge);
            }
        }
        if let Some(mut sleepers) = try_hold(&self.sleepers) {
            sleepers.clear();
        }
    }

    fn exec_state(&self, _f: &OpenFile, ids: &ExecIds<'_>) -> Option<KindState> {
        let regs = lock(&self.regs);
        let crossed: Vec<CrossedReg> = regs
            .iter()
            .filter_map(|r| {
                let file = ids.id_of(&*r.file.upgrade()?)?;
                Some(CrossedReg { file, fd: r.fd, events: r.events, data: r.data, disabled: r.disabled, reported: r.reported })
            })
            .collect();
        KindState::new(EXEC_KIND.name, &crossed, Vec::new())
    }

    fn after_exec(&self, files: &dyn Fn(u32) -> Option<Arc<OpenFile>>) {
        let crossed = std::mem::take(&mut *lock(&self.crossed));
        let mut regs = lock(&self.regs);
        for c in crossed {
            let Some(file) = files(c.file) else { continue };
            // The new open file has counted no use yet.
            let uses_then = file.uses();
            let wakes_then = file.read_wakeups();
            regs.push(Reg { fd: c.fd, file: Arc::downgrade(&file), events: c.events, data: c.data, disabled: c.disabled, reported: c.reported, uses_then, wakes_then });
        }
    }
}

pub const EXEC_KIND: ExecKind = ExecKind { name: "epoll", restore };

/// An epoll instance after execve: its registrations wait for their files
/// (`after_exec`).
fn restore(k: &KindState, _objects: &ExecObjects) -> Result<Box<dyn FileOps>> {
    let crossed: Vec<CrossedReg> = k.decode().ok_or_else(|| errno!(EINVAL, "an epoll's state does not decode"))?;
    Ok(Box::new(Epoll { crossed: Mutex::new(crossed), ..Epoll::default() }))
}

fn install_epoll(cloexec: bool) -> Result<u64> {
    let file = OpenFile::new("anon_inode:[eventpoll]".into(), Epoll::default(), g::O_RDWR);
    let fd = lock(&current().fds).install(Arc::new(file), cloexec)?;
    Ok(fd as u64)
}

pub fn epoll_create(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if args::int(a[0]) <= 0 {
        return_errno_with_message!(EINVAL, "size must be positive");
    }
    install_epoll(false)
}

pub fn epoll_create1(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let flags = args::flags(a[0], g::O_CLOEXEC, "flags must be 0 or EPOLL_CLOEXEC")?;
    install_epoll(flags != 0)
}

fn epoll_of(file: &OpenFile) -> Result<&Epoll> {
    file.ops_as::<Epoll>().ok_or_else(|| errno!(EINVAL, "epfd is not an epoll file descriptor"))
}

pub fn epoll_ctl(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (epfd, op, fd) = (args::fd(a[0]), args::uint(a[1]), args::fd(a[2]));
    // The event is read first, as Linux does (EFAULT before EBADF).
    let event = if op != EPOLL_CTL_DEL {
        let raw = uaccess::read_bytes(a[3], EVENT_SIZE)?;
        let events = u32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let data = u64::from_ne_bytes([raw[4], raw[5], raw[6], raw[7], raw[8], raw[9], raw[10], raw[11]]);
        Some((events, data))
    } else {
        None
    };
    let (ep_file, target) = {
        let fds = lock(&current().fds);
        (fds.get(epfd)?, fds.get(fd)?)
    };
    if !target.ops().pollable() {
        return_errno_with_message!(EPERM, "the target file does not support epoll (a regular file or directory?)");
    }
    if Arc::ptr_eq(&ep_file, &target) {
        return_errno_with_message!(EINVAL, "an epoll instance cannot watch itself");
    }
    let ep = epoll_of(&ep_file)?;
    let key = Arc::as_ptr(&target);
    let find = |regs: &[Reg]| regs.iter().position(|r| r.fd == fd && r.key() == key);
    match op {
        EPOLL_CTL_ADD => {
            let (mut events, data) = event.unwrap_or_default();
            if events & EPOLLEXCLUSIVE != 0 {
                if events & !EXCLUSIVE_OK_BITS != 0 {
                    return_errno_with_message!(EINVAL, "EPOLLEXCLUSIVE with EPOLLONESHOT or other flags");
                }
                if target.ops_as::<Epoll>().is_some() {
                    return_errno_with_message!(EINVAL, "EPOLLEXCLUSIVE on an epoll file descriptor");
                }
            }
            if let Some(inner) = target.ops_as::<Epoll>() {
                let (cycle, depth) = inner.reaches(ep, 1);
                if cycle || depth > EP_MAX_NESTS {
                    return_errno_with_message!(ELOOP, "epoll instances would nest in a cycle or too deep");
                }
            }
            // EPOLLERR and EPOLLHUP are always reported.
            events |= EPOLLERR | EPOLLHUP;
            let mut regs = lock(&ep.regs);
            regs.retain(|r| r.file.strong_count() > 0);
            if find(&regs).is_some() {
                return_errno_with_message!(EEXIST, "fd is already registered");
            }
            regs.push(Reg { fd, file: Arc::downgrade(&target), events, data, disabled: false, reported: 0, uses_then: (0, 0), wakes_then: 0 });
        }
        EPOLL_CTL_MOD => {
            let (mut events, data) = event.unwrap_or_default();
            if events & EPOLLEXCLUSIVE != 0 {
                return_errno_with_message!(EINVAL, "EPOLLEXCLUSIVE cannot be set by EPOLL_CTL_MOD");
            }
            let mut regs = lock(&ep.regs);
            let i = find(&regs).ok_or_else(|| errno!(ENOENT, "fd is not registered"))?;
            if regs[i].events & EPOLLEXCLUSIVE != 0 {
                return_errno_with_message!(EINVAL, "an EPOLLEXCLUSIVE registration cannot be modified");
            }
            events |= EPOLLERR | EPOLLHUP;
            let r = &mut regs[i];
            r.events = events;
            r.data = data;
            r.disabled = false;
            r.reported = 0;
        }
        EPOLL_CTL_DEL => {
            let mut regs = lock(&ep.regs);
            let i = find(&regs).ok_or_else(|| errno!(ENOENT, "fd is not registered"))?;
            regs.remove(i);
        }
        _ => return_errno_with_message!(EINVAL, "op must be EPOLL_CTL_ADD, EPOLL_CTL_MOD or EPOLL_CTL_DEL"),
    }
    for t in lock(&ep.sleepers).iter() {
        if let Some(w) = t.wake_pipe() {
            w.set(true);
        }
    }
    Ok(0)
}

/// The wait shared by the three calls: until an event, the deadline, or a
/// signal (EINTR).
fn do_wait(thread: &Arc<Thread>, epfd: i32, events_addr: u64, max: i32, timeout: Option<Timespec>) -> Result<u64> {
    if max <= 0 || max > EP_MAX_EVENTS {
        return_errno_with_message!(EINVAL, "maxevents must be between 1 and INT_MAX / 12");
    }
    // Linux checks only that the buffer lies in user space (access_ok);
    // an unmapped one fails when events are copied out.
    let max = max as usize;
    let file = lock(&current().fds).get(epfd)?;
    let ep = epoll_of(&file)?;
    let deadline = poll::deadline_after(timeout);
    let pipe = thread.wake_pipe().ok_or_else(|| errno!(ENOMEM, "cannot make the thread's wake pipe"))?;
    lock(&ep.sleepers).push(thread.clone());
    let r = wait_loop(ep, pipe, events_addr, max, timeout, deadline);
    let mut sleepers = lock(&ep.sleepers);
    if let Some(i) = sleepers.iter().position(|t| Arc::ptr_eq(t, thread)) {
        sleepers.swap_remove(i);
    }
    r
}

fn wait_loop(ep: &Epoll, pipe: &Notifier, events_addr: u64, max: usize, timeout: Option<Timespec>, deadline: Option<Timespec>) -> Result<u64> {
    loop {
        // Cleared before looking: a change from here on is seen by the
        // look, or wakes the sleep below.
        pipe.set(false);
        let mut wake = vec![pipe.wake()];
        let found = ep.collect(max, &mut wake)?;
        if !found.is_empty() {
            let mut out = Vec::with_capacity(found.len() * EVENT_SIZE);
            for f in &found {
                out.extend_from_slice(&f.events.to_ne_bytes());
                out.extend_from_slice(&f.data.to_ne_bytes());
            }
            uaccess::write_bytes(events_addr, &out)?;
            return Ok(found.len() as u64);
        }
        if timeout.is_some_and(|t| t.sec == 0 && t.nsec == 0) {
            return Ok(0);
        }
        // Sleep until something the registrations depend on changes.
        if !poll::sleep_on(&wake, deadline)? {
            return Ok(0);
        }
    }
}

/// epoll_wait's `int timeout` in milliseconds: negative waits forever.
fn ms_timeout(a: u64) -> Option<Timespec> {
    syspoll::poll_timeout(a)
}

pub fn epoll_wait(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    do_wait(&cx.thread_arc(), args::fd(a[0]), a[1], args::int(a[2]), ms_timeout(a[3]))
}

pub fn epoll_pwait(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let mask = syspoll::read_sigmask(a[4], a[5])?;
    let t = ms_timeout(a[3]);
    let thread = cx.thread_arc();
    syspoll::with_mask(cx.ctl, mask, || do_wait(&thread, args::fd(a[0]), a[1], args::int(a[2]), t))
}

pub fn epoll_pwait2(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let t = timeout::read_optional(a[3])?;
    let mask = syspoll::read_sigmask(a[4], a[5])?;
    let thread = cx.thread_arc();
    syspoll::with_mask(cx.ctl, mask, || do_wait(&thread, args::fd(a[0]), a[1], args::int(a[2]), t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fs;

    fn pipe() -> (HostFd, HostFd) {
        fs::pipe().expect("a host pipe")
    }

    /// The host fds with an edge since the last call.
    fn take(e: &mut HostSet, want: &[(HostFd, u64, u32)]) -> Option<Vec<HostFd>> {
        let want: Want = want.iter().map(|&(h, key, ev)| ((h, key), ev)).collect();
        e.sync(&want).map(|(_, edged, _)| edged)
    }

    /// A host fd closed and made again for another open file is watched
    /// for that one: the host dropped the first watch with the fd.
    #[test]
    fn a_host_fd_number_another_file_has_now_is_watched_again() {
        let mut e = HostSet::new(true);
        let (r1, w1) = pipe();
        assert_eq!(take(&mut e, &[(r1, 1, g::POLLIN)]), Some(vec![]));
        fs::close(r1);
        fs::close(w1);
        let (r2, w2) = pipe();
        if r2 != r1 {
            // Another test took the fd meanwhile: nothing to show here.
            fs::close(r2);
            fs::close(w2);
            return;
        }
        assert_eq!(take(&mut e, &[(r2, 2, g::POLLIN)]), Some(vec![]));
        assert_eq!(fs::write(w2, b"x"), Ok(1));
        assert_eq!(take(&mut e, &[(r2, 2, g::POLLIN)]), Some(vec![r2]));
        fs::close(r2);
        fs::close(w2);
    }

    /// What no registration wants any more stops waking the queue.
    #[test]
    fn an_unwanted_host_fd_is_no_longer_watched() {
        let mut e = HostSet::new(true);
        let (r, w) = pipe();
        let (other_r, other_w) = pipe();
        assert_eq!(take(&mut e, &[(r, 7, g::POLLIN)]), Some(vec![]));
        assert_eq!(take(&mut e, &[(other_r, 8, g::POLLIN)]), Some(vec![]));
        assert!(!e.is_watched(r, 7));
        assert_eq!(fs::write(w, b"x"), Ok(1));
        assert_eq!(take(&mut e, &[(other_r, 8, g::POLLIN)]), Some(vec![]), "no edge from a file nobody watches");
        for fd in [r, w, other_r, other_w] {
            fs::close(fd);
        }
    }

    /// A sleeper's set watches levels, and holds no reference to the files
    /// it watches: closing the last fd of a pipe's read end leaves no
    /// reader, as it would on Linux while an epoll wait sleeps on it.
    #[test]
    fn a_level_set_wakes_while_ready_and_pins_no_file() {
        let mut set = HostSet::new(false);
        let (r, w) = pipe();
        let (q, _, loose) = set.sync(&Want::from([((r, 1), g::POLLIN)])).expect("a host queue");
        assert!(loose.is_empty());
        let ready = |q| {
            let mut req = [(q, g::POLLIN, 0)];
            fs::poll(&mut req, 0).expect("poll of the queue") == 1
        };
        assert!(!ready(q), "nothing to read yet");
        assert_eq!(fs::write(w, b"x"), Ok(1));
        assert!(ready(q), "readable while the pipe is");
        assert!(ready(q), "still: levels, not edges");
        fs::close(r);
        assert_eq!(fs::write(w, b"x"), Err(crate::abi::Errno::EPIPE), "the read end is gone");
        // The closed fd goes from the set; the queue is made anew when
        // the host cannot say it went.
        let (q, _, _) = set.sync(&Want::new()).expect("a host queue");
        assert!(!ready(q));
        assert!(set.watched.is_empty());
        fs::close(w);
    }
}
