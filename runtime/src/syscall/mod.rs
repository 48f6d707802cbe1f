//! Syscall dispatch: from the trapped registers to a handler and back.
//!
//! Contract of a handler: it receives the six raw argument registers, decodes
//! and validates them itself (unknown flag bits → EINVAL, bad pointers →
//! EFAULT through `uaccess`), and returns the value for `rax` or an [`Error`]
//! whose errno the guest sees negated in `rax`. Handlers run in signal
//! context (see `trap/mod.rs`).

pub mod access;
pub mod attr;
pub mod clone_vm;
pub mod cred;
pub mod cwd;
pub mod epoll;
pub mod eventfd;
pub mod fadvise;
pub mod fcntl;
mod fs_common;
pub mod futex;
pub mod getdents;
pub mod identity;
pub mod inotify;
pub mod ioctl;
pub mod ipc;
pub mod locks;
pub mod memfd;
pub mod mlock;
pub mod mm;
pub mod namei;
pub mod netlink;
pub mod open;
pub mod pidfd;
pub mod pipe;
pub mod poll;
pub mod proc_model;
pub mod ptrace;
pub mod process;
pub mod read_write;
pub mod sendfile;
pub mod signal;
pub mod signalfd;
pub mod socket;
pub mod sockopt;
pub mod splice;
pub mod stat;
pub mod statfs;
pub mod sync;
pub mod syslog;
pub mod table;
pub mod thread;
pub mod time;
pub mod timeout;
pub mod timer;
pub mod timerfd;
pub mod trace;
pub mod truncate;
pub mod xattr;

use crate::abi::Errno;
use crate::error::{Error, Result};
use crate::task::current;
use crate::trap::{GuestRegs, ThreadCtl};
use std::sync::atomic::Ordering;

/// What a handler sees of the calling thread.
pub struct Ctx<'a> {
    pub ctl: &'a mut ThreadCtl,
    pub regs: &'a mut GuestRegs,
}

impl Ctx<'_> {
    /// The process (thread group) the caller belongs to.
    pub fn process(&self) -> &'static crate::task::Process {
        current()
    }

    /// The calling thread.
    pub fn thread(&self) -> &crate::task::Thread {
        self.ctl.thread()
    }

    /// The calling thread, counted (to keep while `ctl` is borrowed mutably).
    pub fn thread_arc(&self) -> std::sync::Arc<crate::task::Thread> {
        self.ctl.thread_arc()
    }
}

pub type Handler = fn(&mut Ctx<'_>, [u64; 6]) -> Result<u64>;

/// Whether call `nr`, one that may block, acts on the fd in its first
/// argument and that fd's file never sleeps (`FileOps::never_sleeps`: a
/// regular file or directory): the call then needs no blocking window.
pub fn on_file_that_never_sleeps(nr: u64, first_arg: u64) -> bool {
    use linux_raw_sys::general as k;
    let Ok(nr) = u32::try_from(nr) else { return false };
    let fd_calls = [
        k::__NR_read,
        k::__NR_write,
        k::__NR_pread64,
        k::__NR_pwrite64,
        k::__NR_readv,
        k::__NR_writev,
        k::__NR_preadv,
        k::__NR_pwritev,
        k::__NR_preadv2,
        k::__NR_pwritev2,
    ];
    if !fd_calls.contains(&nr) {
        return false;
    }
    crate::vfs::fd_table::file_of(args::fd(first_arg)).is_ok_and(|f| f.ops().never_sleeps())
}

/// `sleeps_if` of read, readv, the receives and accept: whether the call
/// is about to sleep in a task whose fds or maps changed since it last
/// told the daemon (the publication it then makes shows them in /proc to
/// lsof and netstat, say, while it waits). Its fd is a pipe, socket or
/// terminal with nothing to read now (a zero-timeout host poll), or a kind
/// the runtime serves. One atomic load when nothing changed; a regular
/// file never asks.
///
/// A task that never sleeps would poll before every such read for as
/// long as it runs (only a publication clears the flag): once its reads
/// have found data at once for [`READY_BEFORE_PUBLISHING`], the call
/// publishes all the same, and the reads after it make no poll until the
/// view changes again.
pub fn fd_may_sleep(a: &[u64; 6]) -> bool {
    let p = current();
    if !p.view_changed.load(Ordering::Relaxed) {
        return false;
    }
    let Ok(f) = crate::vfs::fd_table::file_of(args::fd(a[0])) else { return false };
    if f.ops().never_sleeps() {
        return false;
    }
    let Some(h) = f.host_fd() else { return true };
    let mut req = [(h, linux_raw_sys::general::POLLIN, 0)];
    let sleeps = crate::host::fs::poll(&mut req, 0).is_ok_and(|n| n == 0);
    let mut since = crate::task::lock(&p.ready_since);
    if sleeps {
        *since = None;
        return true;
    }
    let now = std::time::Instant::now();
    match *since {
        Some(t) if now.saturating_duration_since(t) >= READY_BEFORE_PUBLISHING => {
            *since = None;
            true
        }
        Some(_) => false,
        None => {
            *since = Some(now);
            false
        }
    }
}

/// How long reads that find data at once, after the task's view changed,
/// go on before the task publishes without sleeping ([`fd_may_sleep`]): a
/// task whose fds keep changing between reads (tar writing the files of an
/// archive it reads from a pipe) publishes at most this often.
const READY_BEFORE_PUBLISHING: std::time::Duration = std::time::Duration::from_millis(100);

/// The kinds of open file the runtime serves that cross execve as state
/// of their own (`FileOps::exec_state`), one row per kind: the
/// re-executed runtime finds each one's restore function here by name.
pub const EXEC_KINDS: &[crate::vfs::file::ExecKind] = &[
    eventfd::EXEC_KIND,
    signalfd::EXEC_KIND,
    timerfd::EXEC_KIND,
    epoll::EXEC_KIND,
    inotify::EXEC_KIND,
    memfd::EXEC_KIND,
    pidfd::EXEC_KIND,
    crate::vfs::netlink::EXEC_KIND,
];

/// Makes an open file of a kind in [`EXEC_KINDS`] again from the state it
/// crossed execve with.
pub fn restore_after_exec(k: &crate::handover::KindState, objects: &crate::vfs::file::ExecObjects) -> Result<Box<dyn crate::vfs::file::FileOps>> {
    match EXEC_KINDS.iter().find(|e| e.name == k.kind) {
        Some(e) => (e.restore)(k, objects),
        None => Err(crate::errno!(EINVAL, "no such kind of file to restore after execve")),
    }
}

/// Encodes a handler result the way the kernel returns it in `rax`.
fn encode(r: &Result<u64>) -> u64 {
    match r {
        Ok(v) => *v,
        Err(e) => (-i64::from(e.errno.0)) as u64,
    }
}

/// Emulates the syscall the guest thread trapped on.
pub fn handle(ctl: &mut ThreadCtl, regs: &mut GuestRegs) {
    let nr = regs.rax;
    let args = [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9];
    let row = table::row(nr);
    let p = current();
    if let (Some(t), Some(r)) = (&p.trace, row) {
        // Calls that do not return are shown before they run.
        if r.markers.noreturn {
            trace::record(t, r, &args, None);
        }
    }
    // The moments another task is likely to look at this one's
    // /proc/PID/{fd,maps}.
    if row.is_some_and(|r| r.markers.sleeps.at(&args)) {
        publish_view();
    }
    let result = match row.map(|r| r.status) {
        Some(table::Status::Full(h)) | Some(table::Status::Partial(h, _)) => {
            let mut ctx = Ctx { ctl, regs };
            h(&mut ctx, args)
        }
        Some(table::Status::Stub(errno, why)) => Err(Error::with_message(errno, why)),
        Some(table::Status::Missing) | None => {
            note_missing(nr, row);
            Err(crate::errno!(ENOSYS, "not implemented by MacTux"))
        }
    };
    match &result {
        Err(e) if e.errno == Errno::ERESTARTNOINTR => {
            // Issued again after the signal that interrupted it (the
            // return to the guest delivers it), whatever SA_RESTART says.
            regs.rip = regs.rip.wrapping_sub(SYSCALL_INSN_LEN);
            regs.rax = nr;
        }
        _ => regs.rax = encode(&result),
    }
    if let Some(t) = &p.trace {
        match row {
            Some(r) => trace::record(t, r, &args, Some(&result)),
            None => trace::record_unknown(t, nr, &args),
        }
    }
}

/// The length of the `syscall` instruction (0f 05), which a restarted call
/// returns to.
const SYSCALL_INSN_LEN: u64 = 2;

/// Has the daemon told the task's fds, memory map and threads, if they
/// changed since it last was, so that other tasks see them in /proc/PID.
/// The round trip (and rendering the maps) is made by the task's
/// publisher, a runtime thread, not by the guest thread about to sleep: a
/// threaded program waits on futexes all the time, and a thread created
/// and joined in a loop paid a publication per join (about 70 us of 200).
/// The publisher tells the daemon at most every [`PUBLISH_INTERVAL`], the
/// last change always included.
fn publish_view() {
    let p = current();
    // A CLONE_VM child's link to the daemon is its host leader's (it
    // publishes nothing of its own; syscall/clone_vm.rs).
    if !p.view_changed.load(Ordering::Relaxed) || crate::daemon::is_standalone() || p.vm.is_some() {
        return;
    }
    let parker = {
        let mut slot = crate::task::lock(&p.publisher);
        match &*slot {
            Some(parker) => parker.clone(),
            None => {
                let parker = std::sync::Arc::new(crate::task::Parker::default());
                let started = parker.clone();
                if crate::host::thread::spawn(PUBLISHER_STACK, Box::new(move || publisher_main(started))).is_err() {
                    // No thread to spare: tell the daemon from here.
                    drop(slot);
                    publish_now();
                    return;
                }
                *slot = Some(parker.clone());
                parker
            }
        }
    };
    // Once until the publisher looks again: a read loop after an open
    // makes no host call per read.
    if !p.publish_asked.swap(true, Ordering::AcqRel) {
        parker.unpark();
    }
}

/// The shortest time between two publications of one task.
const PUBLISH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(5);
const PUBLISHER_STACK: usize = 256 * 1024;

/// Tells the daemon now, on the calling thread (a credential change, which
/// a peer's SO_PEERCRED must see at once).
pub(crate) fn publish_now() {
    let p = current();
    if p.vm.is_some() {
        return;
    }
    let _quiet = crate::task::lock(&p.publishing);
    if p.view_changed.swap(false, Ordering::Relaxed) {
        crate::daemon::update(crate::task_info(p));
    }
}

/// The publisher thread: no guest code, every host signal blocked (it
/// starts so, `host::thread::spawn`).
fn publisher_main(parker: std::sync::Arc<crate::task::Parker>) {
    loop {
        let seq = parker.seq();
        current().publish_asked.store(false, Ordering::Release);
        if current().view_changed.load(Ordering::Relaxed) {
            publish_now();
            std::thread::sleep(PUBLISH_INTERVAL);
            continue;
        }
        parker.park(seq, None);
    }
}

/// Before the task tells the daemon it exits: waits for a publication in
/// flight and keeps any other from starting, so none arrives after the exit.
pub fn stop_publishing() -> std::sync::MutexGuard<'static, ()> {
    crate::task::lock(&current().publishing)
}

/// Counts an unimplemented call and reports it the first time, when asked to.
fn note_missing(nr: u64, row: Option<&table::Row>) {
    let p = current();
    let first = match usize::try_from(nr).ok().and_then(|i| p.missing.get(i)) {
        Some(c) => c.fetch_add(1, Ordering::Relaxed) == 0,
        None => true,
    };
    if first && (p.config.log_missing || p.trace.is_some()) {
        let name = row.map_or("unknown", |r| r.name);
        let msg = format!("mactux: unimplemented syscall {name} ({nr}) returned ENOSYS\n");
        match &p.trace {
            Some(t) => trace::write_line(t, msg.as_bytes()),
            None => crate::host::process::write_stderr(msg.as_bytes()),
        }
    }
}

/// A variant of an implemented call that the runtime refuses (an
/// operation, a flag, a kind of memory it does not emulate): the error to
/// return, with `what` as its message (shown by `--trace`), reported once
/// per variant like a missing call (MACTUX_LOG=missing, `--trace`).
/// `variant` tells apart the values of a numbered variant (an unknown
/// operation's number) that share one message.
#[track_caller]
pub fn refuse(call: &'static str, errno: Errno, what: &'static str, variant: Option<u64>) -> Error {
    let p = current();
    let first = {
        let mut seen = crate::task::lock(&p.refused);
        let key = (what, variant);
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    };
    if first && (p.config.log_missing || p.trace.is_some()) {
        let shown = match variant {
            Some(v) => format!("{what} ({v})"),
            None => what.to_string(),
        };
        let msg = format!("mactux: refused {call} variant: {shown}; returned {}\n", errno.name());
        match &p.trace {
            Some(t) => trace::write_line(t, msg.as_bytes()),
            None => crate::host::process::write_stderr(msg.as_bytes()),
        }
    }
    Error::with_message(errno, what)
}

/// Argument helpers shared by the handler families.
pub mod args {
    use crate::error::Result;
    use crate::return_errno;

    /// A file descriptor argument (`unsigned int fd` in the kernel).
    pub fn fd(a: u64) -> i32 {
        a as u32 as i32
    }

    /// A dirfd argument (`int dfd`: AT_FDCWD is negative).
    pub fn dirfd(a: u64) -> i32 {
        a as u32 as i32
    }

    /// An `int` argument (the kernel ignores the upper 32 bits).
    pub fn int(a: u64) -> i32 {
        a as u32 as i32
    }

    /// An `unsigned int` argument (the kernel ignores the upper 32 bits).
    pub fn uint(a: u64) -> u32 {
        a as u32
    }

    /// A `size_t` length that must fit the host's `usize`.
    pub fn len(a: u64) -> Result<usize> {
        match usize::try_from(a) {
            Ok(v) => Ok(v),
            Err(_) => return_errno!(EINVAL),
        }
    }

    /// Flags argument: fails with EINVAL when bits outside `known` are set.
    pub fn flags(a: u64, known: u32, msg: &'static str) -> Result<u32> {
        let v = a as u32;
        if a > u64::from(u32::MAX) || v & !known != 0 {
            return Err(crate::errno!(EINVAL, msg));
        }
        Ok(v)
    }

    /// A path argument, read from guest memory.
    pub fn path(a: u64) -> Result<Vec<u8>> {
        crate::uaccess::read_cstr(a, crate::vfs::path::PATH_MAX - 1)
    }
}
