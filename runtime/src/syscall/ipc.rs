//! System V IPC: shmget(2), shmat(2), shmdt(2), shmctl(2), semget(2),
//! semop(2), semtimedop(2), semctl(2), msgget(2), msgsnd(2), msgrcv(2),
//! msgctl(2) (https://man7.org/linux/man-pages/man7/sysvipc.7.html).
//!
//! The objects are the daemon's (mactuxd/src/sysv.rs), so that every task
//! of the namespace sees the same keys and ids. Here: the argument checks
//! Linux makes before it looks an object up, guest memory, and the host
//! mapping of a segment, which is the daemon's file mapped MAP_SHARED and
//! recorded as [`Backing::SysvShm`] (so fork children inherit it, counted
//! by the parent before the fork, and exec and exit drop it).
//!
//! A semop, msgsnd or msgrcv that has to wait waits at the daemon, in
//! slices between which the thread looks for signals: a signal for it ends
//! the wait with EINTR (these calls are never restarted after a handler,
//! signal(7)), unless the daemon completed the call first, whose outcome
//! then stands.
//!
//! Divergences from Linux:
//! - shm_nattch counts attaches, not vmas: an attach split by mprotect or
//!   a partial munmap counts once, and is detached when its last piece is
//!   unmapped or replaced (mremap of a piece is not followed).
//! - SETALL learns the set's size with an IPC_STAT first, so it also needs
//!   read permission.
//! - msgrcv's MSG_COPY (for checkpoint/restore) is not implemented (ENOSYS).
//! - Objects live as long as the daemon (see mactuxd/src/sysv.rs); without
//!   a daemon every call fails with ENOSYS.
//! - /proc/sysvipc (vfs/proc.rs) shows a segment's rss and swap as 0.

use super::{args, timeout, Ctx};
use crate::abi::ipc::*;
use crate::abi::{page_round_up, Errno};
use crate::daemon;
use crate::error::{Error, Result};
use crate::host::{self, MapRequest, Placement, Prot};
use crate::mm::{Backing, Vma};
use crate::task::{current, lock, Thread};
use crate::uaccess;
use crate::{errno, return_errno_with_message};
use mactux_proto::{IpcCred, IpcOp, IpcPerm, IpcReply, IpcSet, IpcStat, Request, Response, SemBuf};
use std::time::{Duration, Instant};

/// The caller's credentials, which the daemon checks permissions against
/// (the runtime's credential model: the host process's, see identity.rs).
fn cred() -> IpcCred {
    IpcCred { uid: host::process::euid(), gid: host::process::egid(), groups: host::process::groups() }
}

fn call(op: IpcOp) -> Result<IpcReply> {
    match daemon::call(&Request::Ipc { cred: cred(), op })? {
        Response::Ipc(r) => Ok(r),
        _ => Err(errno!(EIO, "unexpected daemon answer")),
    }
}

/// A call that may wait (semop, msgsnd, msgrcv), made on the connection
/// its wait then uses: the daemon lets only the connection that got a
/// token sleep on it or cancel it.
fn call_pinned(pin: &mut daemon::Pinned, op: IpcOp) -> Result<IpcReply> {
    match pin.call(&Request::Ipc { cred: cred(), op })? {
        Response::Ipc(r) => Ok(r),
        _ => Err(errno!(EIO, "unexpected daemon answer")),
    }
}

fn value(r: IpcReply) -> Result<u64> {
    match r {
        IpcReply::Value(v) => Ok(v as u64),
        _ => Err(errno!(EIO, "unexpected daemon answer")),
    }
}

/// How long one sleep at the daemon lasts before the waiter looks for signals.
const SLICE: Duration = Duration::from_millis(50);

/// Collects the outcome of a call that waits at the daemon (see the
/// module's header): EINTR for a signal, EAGAIN once `deadline` passed.
fn wait(pin: &mut daemon::Pinned, thread: &Thread, first: IpcReply, deadline: Option<Instant>) -> Result<IpcReply> {
    let IpcReply::Pending(token) = first else { return Ok(first) };
    let pin = std::cell::RefCell::new(pin);
    let cancel = |e: Error| -> Result<IpcReply> {
        let answer = pin.borrow_mut().call(&Request::IpcCancel { token })?;
        match answer {
            Response::Ok => Err(e),
            Response::Ipc(r) => Ok(r),
            _ => Err(errno!(EIO, "unexpected daemon answer")),
        }
    };
    loop {
        if crate::signal::interrupts(thread) {
            return cancel(errno!(EINTR, "interrupted by a signal"));
        }
        let now = Instant::now();
        let slice = match deadline {
            Some(d) if now >= d => return cancel(errno!(EAGAIN, "the timeout passed")),
            Some(d) => (d - now).min(SLICE),
            None => SLICE,
        };
        let timeout_ns = u64::try_from(slice.as_nanos()).unwrap_or(u64::MAX);
        let slept = pin.borrow_mut().call(&Request::IpcSleep { token, timeout_ns });
        match slept {
            Ok(Response::Ipc(r)) => return Ok(r),
            Err(e) if e.errno == Errno::ETIMEDOUT => continue,
            // The daemon died during the wait (the pinned connection is
            // lost: EAGAIN), or a new one does not know the token (EINVAL):
            // a new daemon has no IPC objects, so the object is gone.
            Err(e) if e.errno == Errno::EINVAL || e.errno == Errno::EAGAIN => return Err(errno!(EIDRM, "the daemon restarted and the object is gone")),
            Ok(_) => return cancel(errno!(EIO, "unexpected daemon answer")),
            Err(e) => return Err(e),
        }
    }
}

fn perm64(p: &IpcPerm) -> Ipc64Perm {
    Ipc64Perm { key: p.key, uid: p.uid, gid: p.gid, cuid: p.cuid, cgid: p.cgid, mode: p.mode, seq: p.seq, ..Default::default() }
}

fn set_of(p: &Ipc64Perm, qbytes: u64) -> IpcSet {
    IpcSet { uid: p.uid, gid: p.gid, mode: p.mode, qbytes }
}

/// Writes what a STAT or INFO command answered to `buf`; returns its return value.
fn write_reply(buf: u64, r: IpcReply) -> Result<u64> {
    match r {
        IpcReply::Value(v) => Ok(v as u64),
        IpcReply::Stat { ret, stat } => {
            match stat {
                IpcStat::Shm { perm, segsz, atime, dtime, ctime, cpid, lpid, nattch } => {
                    let ds = Shmid64Ds { perm: perm64(&perm), segsz, atime, dtime, ctime, cpid, lpid, nattch, ..Default::default() };
                    uaccess::write(buf, &ds)?;
                }
                IpcStat::Sem { perm, otime, ctime, nsems } => {
                    uaccess::write(buf, &Semid64Ds { perm: perm64(&perm), otime, ctime, nsems, ..Default::default() })?;
                }
                IpcStat::Msg { perm, stime, rtime, ctime, cbytes, qnum, qbytes, lspid, lrpid } => {
                    let ds = Msqid64Ds { perm: perm64(&perm), stime, rtime, ctime, cbytes, qnum, qbytes, lspid, lrpid, ..Default::default() };
                    uaccess::write(buf, &ds)?;
                }
            }
            Ok(ret as u64)
        }
        _ => Err(errno!(EIO, "unexpected daemon answer")),
    }
}

fn field(f: &[u64], i: usize) -> u64 {
    f.get(i).copied().unwrap_or(0)
}

// ---- shared memory ----

pub fn shmget(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    value(call(IpcOp::ShmGet { key: args::int(a[0]), size: a[1], flags: args::int(a[2]) })?)
}

pub fn shmat(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (shmid, flags) = (args::int(a[0]), args::int(a[2]));
    let mut addr = a[1];
    let is_remap = flags & SHM_REMAP != 0;
    // do_shmat(): an address must be SHMLBA-aligned unless SHM_RND rounds it down.
    let is_fixed = addr != 0;
    if is_fixed {
        if addr & (SHMLBA - 1) != 0 {
            if flags & SHM_RND == 0 {
                return_errno_with_message!(EINVAL, "shmaddr is not SHMLBA-aligned and SHM_RND is not set");
            }
            addr &= !(SHMLBA - 1);
            if addr == 0 && is_remap {
                return_errno_with_message!(EINVAL, "SHM_REMAP at address 0");
            }
        }
    } else if is_remap {
        return_errno_with_message!(EINVAL, "SHM_REMAP needs an address");
    }
    let IpcReply::Attached { path, size, key } = call(IpcOp::ShmAttach { shmid, flags })? else {
        return Err(errno!(EIO, "unexpected daemon answer"));
    };
    // From here on the daemon counts the attach: undo it on failure.
    let undo = |e: Error| -> Result<u64> {
        let _ = call(IpcOp::ShmDetach { shmid });
        Err(e)
    };
    match map_segment(shmid, key, &path, size, addr, is_fixed, flags) {
        Ok(got) => Ok(got),
        Err(e) => undo(e),
    }
}

fn map_segment(shmid: i32, key: i32, path: &str, size: u64, addr: u64, is_fixed: bool, flags: i32) -> Result<u64> {
    let is_rdonly = flags & SHM_RDONLY != 0;
    let prot = Prot { read: true, write: !is_rdonly, exec: flags & SHM_EXEC != 0 };
    let len = page_round_up(size).ok_or_else(|| errno!(ENOMEM, "segment too large"))?;
    let cpath = std::ffi::CString::new(path).map_err(|_| errno!(EIO, "segment path with a NUL byte"))?;
    let open_flags = if is_rdonly { crate::abi::gen::O_RDONLY } else { crate::abi::gen::O_RDWR };
    let fd = host::fs::open(&cpath, open_flags, 0).map_err(|e| Error::with_message(e, "cannot open the segment's file"))?;
    let mut replaced = Vec::new();
    let result = (|| {
        let st = host::fs::fstat(fd).map_err(Error::new)?;
        let placement = if is_fixed {
            let end = addr.checked_add(len).ok_or_else(|| errno!(EINVAL, "shmaddr + size overflows"))?;
            let mut mm = lock(&current().mm);
            if mm.overlaps(addr, end) {
                if flags & SHM_REMAP == 0 {
                    return_errno_with_message!(EINVAL, "the range is mapped and SHM_REMAP is not set");
                }
                // Attaches wholly replaced are detached (their vmas close on Linux).
                replaced = mm
                    .iter()
                    .filter(|(s, v)| *s >= addr && v.end <= end)
                    .filter_map(|(_, v)| match v.backing {
                        Backing::SysvShm { shmid, offset: 0, .. } => Some(shmid),
                        _ => None,
                    })
                    .collect();
                super::mm::unmap_guest_pieces(&mut mm, addr, end)?;
            }
            Placement::NoReplace
        } else {
            Placement::Anywhere
        };
        let req = MapRequest {
            addr: if is_fixed { addr } else { 0 },
            len,
            prot: super::mm::host_prot(prot, true),
            is_shared: true,
            placement,
            file: Some((fd, 0)),
            noreserve: false,
        };
        let got = match host::mem::map(&req) {
            Ok(v) => v,
            Err(Errno::EEXIST) => return_errno_with_message!(EINVAL, "the address is taken by the runtime"),
            Err(e) => return Err(Error::new(e)),
        };
        let backing = Backing::SysvShm { shmid, key, offset: 0, dev: st.dev, ino: st.ino };
        lock(&current().mm).insert(got, Vma { end: got + len, prot, is_shared: true, backing });
        Ok(got)
    })();
    host::fs::close(fd);
    for shmid in replaced {
        let _ = call(IpcOp::ShmDetach { shmid });
    }
    result
}

pub fn shmdt(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let addr = a[0];
    if addr & (crate::abi::PAGE_SIZE - 1) != 0 {
        return_errno_with_message!(EINVAL, "shmaddr is not page aligned");
    }
    // do_shmdt(): the first piece of an attach that starts at `addr`
    // (its offset is its distance from there), then the other pieces of
    // the same segment within its size.
    let pieces: Vec<(u64, u64)>;
    let shmid;
    {
        let mut mm = lock(&current().mm);
        let is_piece_of = |s: u64, v: &Vma| matches!(v.backing, Backing::SysvShm { offset, .. } if s - addr == offset);
        let Some((first, id)) = mm.iter().filter(|(s, _)| *s >= addr).find(|(s, v)| is_piece_of(*s, v)).map(|(s, v)| match v.backing {
            Backing::SysvShm { shmid, .. } => (s, shmid),
            _ => (s, -1),
        }) else {
            return_errno_with_message!(EINVAL, "no shared memory segment is attached at this address");
        };
        let _ = first;
        shmid = id;
        pieces = mm
            .iter()
            .filter(|(s, v)| *s >= addr && is_piece_of(*s, v) && matches!(v.backing, Backing::SysvShm { shmid: i, .. } if i == id))
            .map(|(s, v)| (s, v.end))
            .collect();
        for &(s, e) in &pieces {
            host::mem::unmap(s, e - s).map_err(Error::new)?;
            mm.remove(s, e);
        }
    }
    let _ = call(IpcOp::ShmDetach { shmid });
    Ok(0)
}

pub fn shmctl(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (shmid, cmd, buf) = (args::int(a[0]), args::int(a[1]), a[2]);
    let set = if cmd == IPC_SET {
        let ds: Shmid64Ds = uaccess::read(buf)?;
        Some(set_of(&ds.perm, 0))
    } else {
        None
    };
    match call(IpcOp::ShmCtl { shmid, cmd, set })? {
        IpcReply::Info { ret, fields } => {
            if cmd == SHM_INFO {
                let f = |i| field(&fields, i);
                let info = ShmInfo {
                    used_ids: f(0) as i32,
                    pad: 0,
                    shm_tot: f(1),
                    shm_rss: f(2),
                    shm_swp: f(3),
                    swap_attempts: f(4),
                    swap_successes: f(5),
                };
                uaccess::write(buf, &info)?;
            } else {
                let mut info: Shminfo64 = [0; 9];
                for (i, v) in info.iter_mut().enumerate() {
                    *v = field(&fields, i);
                }
                uaccess::write(buf, &info)?;
            }
            Ok(ret as u64)
        }
        r => write_reply(buf, r),
    }
}

/// The attaches (shmid, attach address) with a piece in `[start, end)`,
/// to give to [`detach_unmapped`] once the range is unmapped or replaced.
pub fn attaches_in(start: u64, end: u64) -> Vec<(i32, u64)> {
    let mm = lock(&current().mm);
    let mut v: Vec<(i32, u64)> = mm
        .iter()
        .filter(|(s, vma)| *s < end && vma.end > start)
        .filter_map(|(s, vma)| match vma.backing {
            Backing::SysvShm { shmid, offset, .. } => Some((shmid, s - offset)),
            _ => None,
        })
        .collect();
    v.dedup();
    v
}

/// Detaches the attaches of `touched` of which no piece is left mapped
/// (munmap, or a MAP_FIXED mapping over them: their vmas close on Linux).
pub fn detach_unmapped(touched: Vec<(i32, u64)>) {
    if touched.is_empty() {
        return;
    }
    let gone: Vec<i32> = {
        let mm = lock(&current().mm);
        touched
            .into_iter()
            .filter(|&(id, base)| {
                !mm.iter().any(|(s, v)| matches!(v.backing, Backing::SysvShm { shmid, offset, .. } if shmid == id && s - offset == base))
            })
            .map(|(id, _)| id)
            .collect()
    };
    for shmid in gone {
        let _ = call(IpcOp::ShmDetach { shmid });
    }
}

/// The attaches this process holds: one per piece that starts a segment.
fn attaches() -> Vec<i32> {
    lock(&current().mm)
        .iter()
        .filter_map(|(_, v)| match v.backing {
            Backing::SysvShm { shmid, offset: 0, .. } => Some(shmid),
            _ => None,
        })
        .collect()
}

/// Whether this process has System V shared memory attached (which a fork
/// must tell the daemon of before the child exists, [`before_fork`]).
pub fn has_attaches() -> bool {
    !attaches().is_empty()
}

/// The child about to be forked with pid `child` inherits this process's
/// attaches: the daemon counts them before the fork, so that neither
/// process can see a count without them (fork's shm_open on Linux). A
/// failed fork gives the pid back, and the daemon drops them with it.
pub fn before_fork(child: mactux_proto::Vpid) {
    let shmids = attaches();
    if !shmids.is_empty() {
        let _ = call(IpcOp::ShmInherit { pid: child, shmids });
    }
}

/// execve drops every attach (the new program starts without them).
/// Returns what to give back with [`after_failed_exec`].
pub fn before_exec() -> Vec<i32> {
    let shmids = attaches();
    for &shmid in &shmids {
        let _ = call(IpcOp::ShmDetach { shmid });
    }
    shmids
}

/// The host exec failed: the task keeps its attaches after all.
pub fn after_failed_exec(shmids: Vec<i32>) {
    if !shmids.is_empty() {
        let _ = call(IpcOp::ShmInherit { pid: current().pid() as mactux_proto::Vpid, shmids });
    }
}

// ---- semaphores ----

pub fn semget(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    value(call(IpcOp::SemGet { key: args::int(a[0]), nsems: args::int(a[1]), flags: args::int(a[2]) })?)
}

fn semop_common(cx: &mut Ctx<'_>, semid: i32, sops_ptr: u64, nsops: u64, timeout_ptr: u64) -> Result<u64> {
    // do_semtimedop(): the count, then the operations, then the timeout.
    if nsops < 1 {
        return_errno_with_message!(EINVAL, "nsops must be at least 1");
    }
    if nsops > SEMOPM as u64 {
        return_errno_with_message!(E2BIG, "more than SEMOPM operations");
    }
    let mut sops = Vec::with_capacity(nsops as usize);
    for i in 0..nsops {
        let s: Sembuf = uaccess::read(sops_ptr + i * core::mem::size_of::<Sembuf>() as u64)?;
        sops.push(SemBuf { num: s.num, op: s.op, flags: s.flags });
    }
    let deadline = match timeout::read_optional(timeout_ptr)? {
        Some(t) => Some(timeout::deadline(t)),
        None => None,
    };
    let mut pin = daemon::pinned();
    let first = call_pinned(&mut pin, IpcOp::SemOp { semid, sops })?;
    let thread = cx.thread_arc();
    value(wait(&mut pin, &thread, first, deadline.flatten())?)
}

pub fn semop(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    semop_common(cx, args::int(a[0]), a[1], u64::from(args::uint(a[2])), 0)
}

pub fn semtimedop(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    semop_common(cx, args::int(a[0]), a[1], u64::from(args::uint(a[2])), a[3])
}

fn semctl_op(semid: i32, semnum: i32, cmd: i32) -> IpcOp {
    IpcOp::SemCtl { semid, semnum, cmd, val: 0, vals: Vec::new(), set: None }
}

pub fn semctl(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (semid, semnum, cmd, arg) = (args::int(a[0]), args::int(a[1]), args::int(a[2]), a[3]);
    match cmd {
        // `union semun` is passed by value: an int for SETVAL, else a pointer.
        SETVAL => value(call(IpcOp::SemCtl { semid, semnum, cmd, val: args::int(arg), vals: Vec::new(), set: None })?),
        GETALL => match call(semctl_op(semid, semnum, cmd))? {
            IpcReply::Values(vals) => {
                let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_ne_bytes()).collect();
                uaccess::write_bytes(arg, &bytes)?;
                Ok(0)
            }
            _ => Err(errno!(EIO, "unexpected daemon answer")),
        },
        SETALL => {
            let IpcReply::Stat { stat: IpcStat::Sem { nsems, .. }, .. } = call(semctl_op(semid, 0, IPC_STAT))? else {
                return Err(errno!(EIO, "unexpected daemon answer"));
            };
            let n = usize::try_from(nsems).map_err(|_| errno!(EINVAL))?;
            let raw = uaccess::read_bytes(arg, n * 2)?;
            let vals = raw.chunks_exact(2).map(|c| u16::from_ne_bytes([c[0], c[1]])).collect();
            value(call(IpcOp::SemCtl { semid, semnum, cmd, val: 0, vals, set: None })?)
        }
        IPC_SET => {
            let ds: Semid64Ds = uaccess::read(arg)?;
            value(call(IpcOp::SemCtl { semid, semnum, cmd, val: 0, vals: Vec::new(), set: Some(set_of(&ds.perm, 0)) })?)
        }
        _ => match call(semctl_op(semid, semnum, cmd))? {
            IpcReply::Info { ret, fields } => {
                let mut info: Seminfo = [0; 10];
                for (i, v) in info.iter_mut().enumerate() {
                    *v = field(&fields, i) as i32;
                }
                uaccess::write(arg, &info)?;
                Ok(ret as u64)
            }
            r => write_reply(arg, r),
        },
    }
}

// ---- message queues ----

pub fn msgget(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    value(call(IpcOp::MsgGet { key: args::int(a[0]), flags: args::int(a[1]) })?)
}

/// The size of `long mtype` at the start of `struct msgbuf`.
const MTYPE_LEN: u64 = 8;

pub fn msgsnd(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (msqid, msgp, msgsz, flags) = (args::int(a[0]), a[1], a[2], args::int(a[3]));
    if msgsz > MSGMAX as u64 || msqid < 0 {
        return_errno_with_message!(EINVAL, "msgsz above MSGMAX, or a negative id");
    }
    let mtype: i64 = uaccess::read(msgp)?;
    if mtype < 1 {
        return_errno_with_message!(EINVAL, "mtype must be positive");
    }
    let text = uaccess::read_bytes(msgp.checked_add(MTYPE_LEN).ok_or_else(|| errno!(EFAULT))?, msgsz as usize)?;
    let mut pin = daemon::pinned();
    let first = call_pinned(&mut pin, IpcOp::MsgSnd { msqid, mtype, text, flags })?;
    let thread = cx.thread_arc();
    value(wait(&mut pin, &thread, first, None)?)
}

pub fn msgrcv(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    // `long msgtyp`: the register's bits as a signed value.
    let (msqid, msgp, msgsz, msgtyp, flags) = (args::int(a[0]), a[1], a[2], i64::from_ne_bytes(a[3].to_ne_bytes()), args::int(a[4]));
    if msqid < 0 || i64::try_from(msgsz).is_err() {
        return_errno_with_message!(EINVAL, "a negative id or size");
    }
    if flags & MSG_COPY != 0 {
        return_errno_with_message!(ENOSYS, "MSG_COPY is not implemented");
    }
    let mut pin = daemon::pinned();
    let first = call_pinned(&mut pin, IpcOp::MsgRcv { msqid, size: msgsz, msgtyp, flags })?;
    let thread = cx.thread_arc();
    match wait(&mut pin, &thread, first, None)? {
        IpcReply::Message { mtype, text } => {
            uaccess::write(msgp, &mtype)?;
            uaccess::write_bytes(msgp.checked_add(MTYPE_LEN).ok_or_else(|| errno!(EFAULT))?, &text)?;
            Ok(text.len() as u64)
        }
        _ => Err(errno!(EIO, "unexpected daemon answer")),
    }
}

pub fn msgctl(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (msqid, cmd, buf) = (args::int(a[0]), args::int(a[1]), a[2]);
    let set = if cmd == IPC_SET {
        let ds: Msqid64Ds = uaccess::read(buf)?;
        Some(set_of(&ds.perm, ds.qbytes))
    } else {
        None
    };
    match call(IpcOp::MsgCtl { msqid, cmd, set })? {
        IpcReply::Info { ret, fields } => {
            let mut info = Msginfo::default();
            for (i, v) in info.ints.iter_mut().enumerate() {
                *v = field(&fields, i) as i32;
            }
            info.msgseg = field(&fields, 7) as u16;
            uaccess::write(buf, &info)?;
            Ok(ret as u64)
        }
        r => write_reply(buf, r),
    }
}
