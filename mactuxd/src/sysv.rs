//! System V IPC: shared memory segments, semaphore sets and message queues,
//! shared by every task of the namespace as Linux's IPC namespace shares
//! them (ipc/shm.c, ipc/sem.c, ipc/msg.c, ipc/util.c).
//!
//! - **Ids** are built as Linux builds them: an index allocated cyclically
//!   (`idr_alloc_cyclic` below `max(in_use * 3 / 2, 64)`), plus a sequence
//!   number times `IPCMNI` that grows each time the index wraps.
//! - **Permissions** are `ipcperms()`: owner, group or other bits of the
//!   object's mode against the caller's credentials (sent with each call),
//!   uid 0 passing everything (CAP_IPC_OWNER, CAP_SYS_ADMIN).
//! - **Shared memory**: each segment is a file in the daemon's state
//!   directory (`sysv-shm/`), sized in whole pages, which the runtime maps
//!   MAP_SHARED. The daemon counts attaches per task (shm_nattch), and
//!   removes the file when the segment is destroyed: at IPC_RMID, or at the
//!   last detach after it (SHM_DEST), as Linux does.
//! - **Waiting calls** (semop, msgsnd, msgrcv that cannot complete) are
//!   queued with a token, in arrival order. Each change of a set or queue
//!   retries its queue, oldest first, and completes for a waiter what now
//!   can complete (the kernel's update_queue and pipelined_send); the
//!   waiter collects the outcome with its token. IPC_RMID completes every
//!   waiter with EIDRM.
//! - **Task ends** (exit, a vanished host process): its attaches are
//!   detached and its SEM_UNDO adjustments applied (exit_sem).
//!
//! Divergences from Linux:
//! - Objects live as long as the daemon: a daemon restart forgets them and
//!   deletes the segment files (tasks keep mappings they have).
//! - shm_rss reports every page of every segment as resident.

use crate::linux::*;
use mactux_proto::sysv::*;
use mactux_proto::{IpcCred, IpcOp, IpcPerm, IpcReply, IpcSet, IpcStat, Response, SemBuf, Vpid};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

type R<T> = Result<T, (i32, String)>;

fn fail<T>(errno: i32, msg: impl Into<String>) -> R<T> {
    Err((errno, msg.into()))
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

const PAGE: u64 = 4096;
/// `ipcid_seq_max()`: INT_MAX >> IPCMNI_SHIFT.
const SEQ_MAX: u32 = (i32::MAX >> 15) as u32;
/// `ipc_min_cycle` (RADIX_TREE_MAP_SIZE): indexes cycle through at least this many.
const MIN_CYCLE: usize = 64;

fn is_root(c: &IpcCred) -> bool {
    c.uid == 0
}

fn in_group(c: &IpcCred, gid: u32) -> bool {
    c.gid == gid || c.groups.contains(&gid)
}

/// ipc/util.c `ipcperms()`: may `c` have the access `flag` asks for
/// (its rwx bits, in any of the three positions)?
fn may(perm: &IpcPerm, c: &IpcCred, flag: u32) -> bool {
    let requested = (flag >> 6) | (flag >> 3) | flag;
    let mut granted = perm.mode;
    if c.uid == perm.cuid || c.uid == perm.uid {
        granted >>= 6;
    } else if in_group(c, perm.cgid) || in_group(c, perm.gid) {
        granted >>= 3;
    }
    requested & !granted & 0o7 == 0 || is_root(c)
}

fn check(perm: &IpcPerm, c: &IpcCred, flag: u32) -> R<()> {
    if may(perm, c, flag) {
        Ok(())
    } else {
        fail(EACCES, "the object's mode does not grant this access")
    }
}

/// ipc/util.c `ipcctl_obtain_check()`: IPC_SET and IPC_RMID need the
/// creator or owner (or CAP_SYS_ADMIN).
fn check_owner(perm: &IpcPerm, c: &IpcCred) -> R<()> {
    if is_root(c) || c.uid == perm.cuid || c.uid == perm.uid {
        Ok(())
    } else {
        fail(EPERM, "only the creator or owner may change or remove the object")
    }
}

const S_IRUGO: u32 = 0o444;
const S_IWUGO: u32 = 0o222;

trait Obj {
    fn perm(&self) -> &IpcPerm;
}

/// One kind's objects by index (`struct ipc_ids`).
struct Ids<T> {
    slots: BTreeMap<i32, T>,
    /// `idr_next`: where the cyclic search for a free index starts.
    next: i32,
    last_idx: i32,
    seq: u32,
    /// How many may exist (SHMMNI, SEMMNI, MSGMNI).
    limit: usize,
}

impl<T: Obj> Ids<T> {
    fn new(limit: usize) -> Ids<T> {
        Ids { slots: BTreeMap::new(), next: 0, last_idx: -1, seq: 0, limit }
    }

    /// `ipc_idr_alloc()`: the index and sequence number of a new object.
    fn alloc(&mut self) -> R<(i32, u16)> {
        if self.slots.len() >= self.limit {
            return fail(ENOSPC, "the system-wide limit on objects of this kind is reached");
        }
        let end = (self.slots.len() * 3 / 2).max(MIN_CYCLE).min(IPCMNI as usize) as i32;
        let from = self.next.max(0);
        let free = |i: &i32| !self.slots.contains_key(i);
        let Some(idx) = (from..end).find(free).or_else(|| (0..from.min(end)).find(free)) else {
            return fail(ENOSPC, "no free index");
        };
        self.next = idx + 1;
        if idx <= self.last_idx {
            self.seq += 1;
            if self.seq >= SEQ_MAX {
                self.seq = 0;
            }
        }
        self.last_idx = idx;
        Ok((idx, self.seq as u16))
    }

    fn id_of(idx: i32, seq: u16) -> i32 {
        idx + i32::from(seq) * IPCMNI
    }

    /// `ipc_obtain_object_check()`: the object an id names (EINVAL for an
    /// id nothing has, or whose sequence number is stale).
    fn index_of(&self, id: i32) -> R<i32> {
        if id < 0 {
            return fail(EINVAL, "negative id");
        }
        let idx = id % IPCMNI;
        match self.slots.get(&idx) {
            Some(o) if i32::from(o.perm().seq) == id / IPCMNI => Ok(idx),
            _ => fail(EINVAL, format!("no object with id {id}")),
        }
    }

    fn get(&mut self, id: i32) -> R<(i32, &mut T)> {
        let idx = self.index_of(id)?;
        match self.slots.get_mut(&idx) {
            Some(o) => Ok((idx, o)),
            None => fail(EINVAL, "no such object"),
        }
    }

    /// The object at index `idx` (the *_STAT commands name objects so;
    /// like `ipcid_to_idx()`, an id names its index).
    fn at(&mut self, idx: i32) -> R<&mut T> {
        match self.slots.get_mut(&(idx % IPCMNI)) {
            Some(o) => Ok(o),
            None => fail(EINVAL, format!("no object at index {idx}")),
        }
    }

    fn by_key(&self, key: i32) -> Option<i32> {
        if key == IPC_PRIVATE {
            return None;
        }
        self.slots.iter().find(|(_, o)| o.perm().key == key).map(|(i, _)| *i)
    }

    /// `ipc_get_maxidx()`, as the *_INFO commands return it (0 when empty).
    fn max_idx(&self) -> i64 {
        self.slots.keys().next_back().map_or(0, |i| i64::from(*i))
    }

    fn id_at(&self, idx: i32) -> i32 {
        let idx = idx % IPCMNI;
        self.slots.get(&idx).map_or(-1, |o| Self::id_of(idx, o.perm().seq))
    }

    /// `ipcget()`: finds or creates by key, with Linux's order of checks.
    /// `more` checks an existing object (a size or count larger than it
    /// has); `create` builds a new one from its permission block.
    fn get_or_create(
        &mut self,
        key: i32,
        flags: i32,
        c: &IpcCred,
        more: impl FnOnce(&T) -> R<()>,
        create: impl FnOnce(IpcPerm) -> R<T>,
    ) -> R<i64> {
        if let Some(idx) = self.by_key(key) {
            if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 {
                return fail(EEXIST, format!("key {key:#x} exists and IPC_CREAT|IPC_EXCL asks for a new one"));
            }
            let o = self.at(idx)?;
            more(o)?;
            check(o.perm(), c, flags as u32)?;
            return Ok(i64::from(Self::id_of(idx, o.perm().seq)));
        }
        if key != IPC_PRIVATE && flags & IPC_CREAT == 0 {
            return fail(ENOENT, format!("no object with key {key:#x} and no IPC_CREAT"));
        }
        let (idx, seq) = self.alloc()?;
        let mode = (flags as u32) & 0o777;
        let perm = IpcPerm { key, uid: c.uid, gid: c.gid, cuid: c.uid, cgid: c.gid, mode, seq };
        let o = create(perm)?;
        self.slots.insert(idx, o);
        Ok(i64::from(Self::id_of(idx, seq)))
    }
}

fn apply_set(p: &mut IpcPerm, s: &IpcSet) {
    p.uid = s.uid;
    p.gid = s.gid;
    p.mode = (p.mode & !0o777) | (s.mode & 0o777);
}

struct Seg {
    perm: IpcPerm,
    size: u64,
    path: PathBuf,
    cpid: i32,
    lpid: i32,
    atime: i64,
    dtime: i64,
    ctime: i64,
    nattch: u64,
}

struct Sem {
    val: i32,
    pid: i32,
}

struct SemSet {
    perm: IpcPerm,
    sems: Vec<Sem>,
    otime: i64,
    ctime: i64,
}

struct Queue {
    perm: IpcPerm,
    msgs: VecDeque<(i64, Vec<u8>)>,
    cbytes: u64,
    qbytes: u64,
    lspid: i32,
    lrpid: i32,
    stime: i64,
    rtime: i64,
    ctime: i64,
}

macro_rules! obj {
    ($($t:ty),*) => { $(
        impl Obj for $t {
            fn perm(&self) -> &IpcPerm { &self.perm }
        }
    )* };
}
obj!(Seg, SemSet, Queue);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sem,
    Msg,
}

/// A call that waits for a change of a set or queue.
struct Pending {
    conn: u64,
    pid: Vpid,
    op: IpcOp,
    kind: Kind,
    idx: i32,
    /// The semaphore and whether it waits for zero (GETNCNT, GETZCNT).
    blocking: Option<(u16, bool)>,
    outcome: Option<Response>,
    notify: Arc<Notify>,
}

struct Inner {
    /// Where segment files are made (None: unit tests without files).
    dir: Option<PathBuf>,
    shm: Ids<Seg>,
    sem: Ids<SemSet>,
    msg: Ids<Queue>,
    /// Attaches per task: shmid → count.
    attaches: HashMap<Vpid, HashMap<i32, u32>>,
    /// SEM_UNDO adjustments per task: semid → one per semaphore.
    undos: HashMap<Vpid, HashMap<i32, Vec<i32>>>,
    pending: BTreeMap<u64, Pending>,
    next_token: u64,
    next_file: u64,
}

pub struct Sysv {
    inner: Mutex<Inner>,
}

/// How a sleep on a pending call ended.
pub enum Slept {
    Done(Response),
    TimedOut,
    Unknown,
}

fn ok(v: i64) -> R<IpcReply> {
    Ok(IpcReply::Value(v))
}

impl Sysv {
    /// Segments get files in `dir`, which is emptied first (segments of a
    /// previous daemon are gone with it).
    pub fn new(dir: Option<PathBuf>) -> Sysv {
        if let Some(d) = &dir {
            let _ = std::fs::remove_dir_all(d);
            use std::os::unix::fs::DirBuilderExt;
            if let Err(e) = std::fs::DirBuilder::new().mode(0o700).create(d) {
                tracing::warn!("cannot create {}: {e}; shared memory segments will fail", d.display());
            }
        }
        Sysv {
            inner: Mutex::new(Inner {
                dir,
                shm: Ids::new(SHMMNI as usize),
                sem: Ids::new(SEMMNI as usize),
                msg: Ids::new(MSGMNI as usize),
                attaches: HashMap::new(),
                undos: HashMap::new(),
                pending: BTreeMap::new(),
                next_token: 1,
                next_file: 1,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One call by task `pid` (0: a connection bound to no task) on connection `conn`.
    pub fn call(&self, conn: u64, pid: Vpid, cred: &IpcCred, op: &IpcOp) -> Response {
        let mut s = self.lock();
        match s.call(conn, pid, cred, op) {
            Ok(r) => Response::Ipc(r),
            Err((errno, msg)) => Response::Error { errno, msg },
        }
    }

    /// Waits up to `timeout` for a pending call of this connection.
    pub async fn sleep(&self, conn: u64, token: u64, timeout: Duration) -> Slept {
        let notify = {
            let mut s = self.lock();
            match s.pending.get(&token) {
                Some(p) if p.conn != conn => return Slept::Unknown,
                Some(p) if p.outcome.is_some() => return s.take(token),
                Some(p) => p.notify.clone(),
                None => return Slept::Unknown,
            }
        };
        let _ = tokio::time::timeout(timeout, notify.notified()).await;
        let mut s = self.lock();
        match s.pending.get(&token) {
            Some(p) if p.outcome.is_some() => s.take(token),
            Some(_) => Slept::TimedOut,
            None => Slept::Unknown,
        }
    }

    /// Withdraws a pending call: `Ok`, or its outcome if it completed first.
    pub fn cancel(&self, conn: u64, token: u64) -> Response {
        let mut s = self.lock();
        match s.pending.get(&token) {
            Some(p) if p.conn == conn => match s.pending.remove(&token).and_then(|p| p.outcome) {
                Some(r) => r,
                None => Response::Ok,
            },
            _ => Response::Error { errno: EINVAL, msg: "unknown IPC token".into() },
        }
    }

    /// Forgets the pending calls of a closed connection.
    pub fn disconnect(&self, conn: u64) {
        self.lock().pending.retain(|_, p| p.conn != conn);
    }

    /// The tasks that hold attaches or undo adjustments.
    pub fn tracked(&self) -> Vec<Vpid> {
        let s = self.lock();
        let mut v: Vec<Vpid> = s.attaches.keys().chain(s.undos.keys()).copied().collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Task `pid` is gone: detach its segments, apply its SEM_UNDO adjustments.
    pub fn task_gone(&self, pid: Vpid) {
        self.lock().task_gone(pid);
    }

    /// How many segments, sets, queues and waiting calls exist.
    #[cfg(test)]
    fn counts(&self) -> (usize, usize, usize, usize) {
        let s = self.lock();
        (s.shm.slots.len(), s.sem.slots.len(), s.msg.slots.len(), s.pending.len())
    }
}

impl Inner {
    fn take(&mut self, token: u64) -> Slept {
        match self.pending.remove(&token).and_then(|p| p.outcome) {
            Some(r) => Slept::Done(r),
            None => Slept::Unknown,
        }
    }

    fn call(&mut self, conn: u64, pid: Vpid, c: &IpcCred, op: &IpcOp) -> R<IpcReply> {
        match op {
            IpcOp::ShmGet { key, size, flags } => self.shmget(pid, c, *key, *size, *flags),
            IpcOp::ShmAttach { shmid, flags } => self.shmat(pid, c, *shmid, *flags),
            IpcOp::ShmDetach { shmid } => self.shmdt(pid, *shmid),
            IpcOp::ShmInherit { pid: holder, shmids } => {
                if pid == 0 || *holder <= 0 {
                    return fail(ESRCH, "attaches need a bound task");
                }
                // A task that is gone or never was is cleaned up by the
                // daemon's next look at the tracked tasks.
                let pid = *holder;
                let t = now();
                let mut kept = 0;
                for id in shmids {
                    if let Ok((_, seg)) = self.shm.get(*id) {
                        seg.nattch += 1;
                        seg.atime = t;
                        seg.lpid = pid;
                        *self.attaches.entry(pid).or_default().entry(*id).or_default() += 1;
                        kept += 1;
                    }
                }
                ok(kept)
            }
            IpcOp::ShmCtl { shmid, cmd, set } => self.shmctl(pid, c, *shmid, *cmd, set.as_ref()),
            IpcOp::SemGet { key, nsems, flags } => self.semget(c, *key, *nsems, *flags),
            IpcOp::SemOp { semid, sops } => self.semop(conn, pid, c, *semid, sops, op),
            IpcOp::SemCtl { semid, semnum, cmd, val, vals, set } => {
                self.semctl(pid, c, *semid, *semnum, *cmd, *val, vals, set.as_ref())
            }
            IpcOp::MsgGet { key, flags } => {
                let t = now();
                self.msg.get_or_create(*key, *flags, c, |_| Ok(()), |perm| {
                    Ok(Queue {
                        perm,
                        msgs: VecDeque::new(),
                        cbytes: 0,
                        qbytes: MSGMNB as u64,
                        lspid: 0,
                        lrpid: 0,
                        stime: 0,
                        rtime: 0,
                        ctime: t,
                    })
                })
                .map(IpcReply::Value)
            }
            IpcOp::MsgSnd { msqid, .. } | IpcOp::MsgRcv { msqid, .. } => {
                if let IpcOp::MsgSnd { mtype, text, .. } = op {
                    // The runtime checks these first; a hostile peer is held to them too.
                    if text.len() > MSGMAX as usize || *mtype < 1 {
                        return fail(EINVAL, "msgsz above MSGMAX or mtype below 1");
                    }
                }
                let (idx, q) = self.msg.get(*msqid)?;
                let is_snd = matches!(op, IpcOp::MsgSnd { .. });
                check(&q.perm, c, if is_snd { S_IWUGO } else { S_IRUGO })?;
                match try_msg(q, pid, op)? {
                    Some(r) => {
                        self.retry(Kind::Msg, idx);
                        Ok(r)
                    }
                    None => {
                        let flags = match op {
                            IpcOp::MsgSnd { flags, .. } | IpcOp::MsgRcv { flags, .. } => *flags,
                            _ => 0,
                        };
                        if flags & IPC_NOWAIT != 0 {
                            return if is_snd {
                                fail(EAGAIN, "the queue is full and IPC_NOWAIT is set")
                            } else {
                                fail(ENOMSG, "no message of the wanted type and IPC_NOWAIT is set")
                            };
                        }
                        Ok(self.queue(conn, pid, op, Kind::Msg, idx, None))
                    }
                }
            }
            IpcOp::MsgCtl { msqid, cmd, set } => self.msgctl(c, *msqid, *cmd, set.as_ref()),
        }
    }

    fn queue(&mut self, conn: u64, pid: Vpid, op: &IpcOp, kind: Kind, idx: i32, blocking: Option<(u16, bool)>) -> IpcReply {
        let token = self.next_token;
        self.next_token += 1;
        self.pending.insert(
            token,
            Pending { conn, pid, op: op.clone(), kind, idx, blocking, outcome: None, notify: Arc::new(Notify::new()) },
        );
        IpcReply::Pending(token)
    }

    /// Completes, oldest first, the waiters of set or queue `idx` that now
    /// can complete; again while one of them changed it.
    fn retry(&mut self, kind: Kind, idx: i32) {
        loop {
            let tokens: Vec<u64> =
                self.pending.iter().filter(|(_, p)| p.kind == kind && p.idx == idx && p.outcome.is_none()).map(|(t, _)| *t).collect();
            let mut changed = false;
            for t in tokens {
                let Some(p) = self.pending.get(&t) else { continue };
                let (pid, op) = (p.pid, p.op.clone());
                let result = match (kind, &op) {
                    (Kind::Sem, IpcOp::SemOp { sops, .. }) => match self.sem.slots.get_mut(&idx) {
                        Some(set) => {
                            let semid = Ids::<SemSet>::id_of(idx, set.perm.seq);
                            let undo = self.undos.get_mut(&pid).and_then(|u| u.get_mut(&semid));
                            match try_semop(set, undo, pid, sops) {
                                Ok(Tried::Done) => {
                                    changed |= sops.iter().any(|s| s.op != 0);
                                    Some(Ok(IpcReply::Value(0)))
                                }
                                Ok(Tried::Blocked(b, _)) => {
                                    if let Some(p) = self.pending.get_mut(&t) {
                                        p.blocking = Some(b);
                                    }
                                    None
                                }
                                Err(e) => Some(Err(e)),
                            }
                        }
                        None => Some(fail(EIDRM, "the semaphore set was removed")),
                    },
                    (Kind::Msg, _) => match self.msg.slots.get_mut(&idx) {
                        Some(q) => match try_msg(q, pid, &op) {
                            Ok(Some(r)) => {
                                changed = true;
                                Some(Ok(r))
                            }
                            Ok(None) => None,
                            Err(e) => Some(Err(e)),
                        },
                        None => Some(fail(EIDRM, "the message queue was removed")),
                    },
                    _ => Some(fail(EINVAL, "not a waiting call")),
                };
                if let Some(r) = result {
                    self.complete(t, r);
                }
            }
            if !changed {
                break;
            }
        }
    }

    fn complete(&mut self, token: u64, r: R<IpcReply>) {
        if let Some(p) = self.pending.get_mut(&token) {
            p.outcome = Some(match r {
                Ok(r) => Response::Ipc(r),
                Err((errno, msg)) => Response::Error { errno, msg },
            });
            // notify_one keeps a permit for a sleeper not yet waiting.
            p.notify.notify_one();
        }
    }

    /// Every waiter of a removed set or queue gets EIDRM.
    fn removed(&mut self, kind: Kind, idx: i32) {
        let tokens: Vec<u64> =
            self.pending.iter().filter(|(_, p)| p.kind == kind && p.idx == idx && p.outcome.is_none()).map(|(t, _)| *t).collect();
        for t in tokens {
            self.complete(t, fail(EIDRM, "the object was removed while the call waited"));
        }
    }

    // ---- shared memory (ipc/shm.c) ----

    fn shmget(&mut self, pid: Vpid, c: &IpcCred, key: i32, size: u64, flags: i32) -> R<IpcReply> {
        let dir = self.dir.clone();
        let n = self.next_file;
        let t = now();
        let r = self.shm.get_or_create(
            key,
            flags,
            c,
            |seg| if seg.size < size { fail(EINVAL, "the segment is smaller than the size asked for") } else { Ok(()) },
            |perm| {
                if !(SHMMIN..=SHMMAX).contains(&size) {
                    return fail(EINVAL, "size out of range [SHMMIN, SHMMAX]");
                }
                let pages = size.div_ceil(PAGE);
                let Some(dir) = dir else { return fail(ENOMEM, "no directory for segments") };
                let path = dir.join(format!("shm-{n}"));
                let made = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .and_then(|f| f.set_len(pages * PAGE));
                if let Err(e) = made {
                    let _ = std::fs::remove_file(&path);
                    return fail(ENOSPC, format!("cannot make the segment's file {}: {e}", path.display()));
                }
                Ok(Seg { perm, size, path, cpid: pid, lpid: 0, atime: 0, dtime: 0, ctime: t, nattch: 0 })
            },
        )?;
        self.next_file += 1;
        ok(r)
    }

    fn shmat(&mut self, pid: Vpid, c: &IpcCred, shmid: i32, flags: i32) -> R<IpcReply> {
        if pid == 0 {
            return fail(ESRCH, "attaches need a bound task");
        }
        let (_, seg) = self.shm.get(shmid)?;
        let mut acc = if flags & SHM_RDONLY != 0 { S_IRUGO } else { S_IRUGO | S_IWUGO };
        if flags & SHM_EXEC != 0 {
            acc |= 0o111;
        }
        check(&seg.perm, c, acc)?;
        seg.nattch += 1;
        seg.atime = now();
        seg.lpid = pid;
        let r = IpcReply::Attached { path: seg.path.display().to_string(), size: seg.size, key: seg.perm.key };
        *self.attaches.entry(pid).or_default().entry(shmid).or_default() += 1;
        Ok(r)
    }

    fn shmdt(&mut self, pid: Vpid, shmid: i32) -> R<IpcReply> {
        let Some(count) = self.attaches.get_mut(&pid).and_then(|m| m.get_mut(&shmid)) else {
            return fail(EINVAL, "the task has no attach of this segment");
        };
        *count -= 1;
        if *count == 0 {
            if let Some(m) = self.attaches.get_mut(&pid) {
                m.remove(&shmid);
                if m.is_empty() {
                    self.attaches.remove(&pid);
                }
            }
        }
        let Ok((idx, seg)) = self.shm.get(shmid) else { return ok(0) };
        seg.nattch = seg.nattch.saturating_sub(1);
        seg.dtime = now();
        seg.lpid = pid;
        if seg.nattch == 0 && seg.perm.mode & SHM_DEST != 0 {
            self.destroy_shm(idx);
        }
        ok(0)
    }

    fn destroy_shm(&mut self, idx: i32) {
        if let Some(seg) = self.shm.slots.remove(&idx) {
            let _ = std::fs::remove_file(&seg.path);
        }
    }

    fn shm_stat(seg: &Seg) -> IpcStat {
        IpcStat::Shm {
            perm: seg.perm,
            segsz: seg.size,
            atime: seg.atime,
            dtime: seg.dtime,
            ctime: seg.ctime,
            cpid: seg.cpid,
            lpid: seg.lpid,
            nattch: seg.nattch,
        }
    }

    fn shmctl(&mut self, pid: Vpid, c: &IpcCred, shmid: i32, cmd: i32, set: Option<&IpcSet>) -> R<IpcReply> {
        let _ = pid;
        if cmd < 0 || shmid < 0 {
            return fail(EINVAL, "negative id or command");
        }
        match cmd {
            IPC_INFO => Ok(IpcReply::Info {
                ret: self.shm.max_idx(),
                fields: vec![SHMMAX, SHMMIN, SHMMNI, SHMMNI, SHMALL, 0, 0, 0, 0],
            }),
            SHM_INFO => {
                let pages: u64 = self.shm.slots.values().map(|s| s.size.div_ceil(PAGE)).sum();
                Ok(IpcReply::Info { ret: self.shm.max_idx(), fields: vec![self.shm.slots.len() as u64, pages, pages, 0, 0, 0] })
            }
            SHM_STAT | SHM_STAT_ANY => {
                let id = self.shm.id_at(shmid);
                let seg = self.shm.at(shmid)?;
                if cmd == SHM_STAT {
                    check(&seg.perm, c, S_IRUGO)?;
                }
                Ok(IpcReply::Stat { ret: i64::from(id), stat: Self::shm_stat(seg) })
            }
            IPC_STAT => {
                let (_, seg) = self.shm.get(shmid)?;
                check(&seg.perm, c, S_IRUGO)?;
                Ok(IpcReply::Stat { ret: 0, stat: Self::shm_stat(seg) })
            }
            IPC_SET => {
                let Some(set) = set else { return fail(EFAULT_PLACEHOLDER, "IPC_SET without its values") };
                let (_, seg) = self.shm.get(shmid)?;
                check_owner(&seg.perm, c)?;
                apply_set(&mut seg.perm, set);
                seg.ctime = now();
                ok(0)
            }
            IPC_RMID => {
                let (idx, seg) = self.shm.get(shmid)?;
                check_owner(&seg.perm, c)?;
                if seg.nattch == 0 {
                    self.destroy_shm(idx);
                } else {
                    seg.perm.mode |= SHM_DEST;
                    seg.perm.key = IPC_PRIVATE;
                }
                ok(0)
            }
            SHM_LOCK | SHM_UNLOCK => {
                let (_, seg) = self.shm.get(shmid)?;
                check_owner(&seg.perm, c)?;
                if cmd == SHM_LOCK {
                    seg.perm.mode |= SHM_LOCKED;
                } else {
                    seg.perm.mode &= !SHM_LOCKED;
                }
                ok(0)
            }
            _ => fail(EINVAL, format!("unknown shmctl command {cmd}")),
        }
    }

    // ---- semaphores (ipc/sem.c) ----

    fn semget(&mut self, c: &IpcCred, key: i32, nsems: i32, flags: i32) -> R<IpcReply> {
        if !(0..=SEMMSL).contains(&nsems) {
            return fail(EINVAL, "nsems out of range [0, SEMMSL]");
        }
        let used: usize = self.sem.slots.values().map(|s| s.sems.len()).sum();
        let t = now();
        let r = self.sem.get_or_create(
            key,
            flags,
            c,
            |set| if (set.sems.len() as i32) < nsems { fail(EINVAL, "the set has fewer semaphores than asked for") } else { Ok(()) },
            |perm| {
                if nsems == 0 {
                    return fail(EINVAL, "a new set needs at least one semaphore");
                }
                if used + nsems as usize > SEMMNS as usize {
                    return fail(ENOSPC, "SEMMNS semaphores exist already");
                }
                Ok(SemSet { perm, sems: (0..nsems).map(|_| Sem { val: 0, pid: 0 }).collect(), otime: 0, ctime: t })
            },
        )?;
        ok(r)
    }

    fn semop(&mut self, conn: u64, pid: Vpid, c: &IpcCred, semid: i32, sops: &[SemBuf], op: &IpcOp) -> R<IpcReply> {
        if sops.is_empty() {
            return fail(EINVAL, "no operations");
        }
        if sops.len() > SEMOPM as usize {
            return fail(E2BIG, "more than SEMOPM operations");
        }
        let (idx, set) = self.sem.get(semid)?;
        let max = sops.iter().map(|s| s.num).max().unwrap_or(0);
        if usize::from(max) >= set.sems.len() {
            return fail(EFBIG, "sem_num beyond the set");
        }
        let alter = sops.iter().any(|s| s.op != 0);
        check(&set.perm, c, if alter { S_IWUGO } else { S_IRUGO })?;
        let nsems = set.sems.len();
        let has_undo = sops.iter().any(|s| s.flags & SEM_UNDO != 0);
        if has_undo && pid != 0 {
            self.undos.entry(pid).or_default().entry(semid).or_insert_with(|| vec![0; nsems]);
        }
        let Some(set) = self.sem.slots.get_mut(&idx) else { return fail(EINVAL, "no such set") };
        let undo = self.undos.get_mut(&pid).and_then(|u| u.get_mut(&semid));
        match try_semop(set, undo, pid, sops)? {
            Tried::Done => {
                if alter {
                    self.retry(Kind::Sem, idx);
                }
                ok(0)
            }
            Tried::Blocked(_, true) => fail(EAGAIN, "the operation would wait and IPC_NOWAIT is set"),
            Tried::Blocked(b, false) => Ok(self.queue(conn, pid, op, Kind::Sem, idx, Some(b))),
        }
    }

    fn sem_stat(set: &SemSet) -> IpcStat {
        IpcStat::Sem { perm: set.perm, otime: set.otime, ctime: set.ctime, nsems: set.sems.len() as u64 }
    }

    /// GETNCNT / GETZCNT: the waiters blocked on semaphore `num` (to
    /// decrement, or for zero).
    fn waiters(&self, idx: i32, num: u16, zero: bool) -> i64 {
        self.pending.values().filter(|p| p.kind == Kind::Sem && p.idx == idx && p.outcome.is_none() && p.blocking == Some((num, zero))).count()
            as i64
    }

    #[allow(clippy::too_many_arguments)]
    fn semctl(&mut self, pid: Vpid, c: &IpcCred, semid: i32, semnum: i32, cmd: i32, val: i32, vals: &[u16], set: Option<&IpcSet>) -> R<IpcReply> {
        if semid < 0 {
            return fail(EINVAL, "negative id");
        }
        match cmd {
            IPC_INFO | SEM_INFO => {
                let (mut usz, mut aem) = (SEMUSZ as u64, SEMAEM as u64);
                if cmd == SEM_INFO {
                    usz = self.sem.slots.len() as u64;
                    aem = self.sem.slots.values().map(|s| s.sems.len() as u64).sum();
                }
                let f = |v: i32| v as u64;
                Ok(IpcReply::Info {
                    ret: self.sem.max_idx(),
                    fields: vec![f(SEMMAP), f(SEMMNI), f(SEMMNS), f(SEMMNU), f(SEMMSL), f(SEMOPM), f(SEMUME), usz, f(SEMVMX), aem],
                })
            }
            SEM_STAT | SEM_STAT_ANY => {
                let id = self.sem.id_at(semid);
                let s = self.sem.at(semid)?;
                if cmd == SEM_STAT {
                    check(&s.perm, c, S_IRUGO)?;
                }
                Ok(IpcReply::Stat { ret: i64::from(id), stat: Self::sem_stat(s) })
            }
            IPC_STAT => {
                let (_, s) = self.sem.get(semid)?;
                check(&s.perm, c, S_IRUGO)?;
                Ok(IpcReply::Stat { ret: 0, stat: Self::sem_stat(s) })
            }
            IPC_SET => {
                let Some(set) = set else { return fail(EFAULT_PLACEHOLDER, "IPC_SET without its values") };
                let (_, s) = self.sem.get(semid)?;
                check_owner(&s.perm, c)?;
                apply_set(&mut s.perm, set);
                s.ctime = now();
                ok(0)
            }
            IPC_RMID => {
                let (idx, s) = self.sem.get(semid)?;
                check_owner(&s.perm, c)?;
                self.sem.slots.remove(&idx);
                for u in self.undos.values_mut() {
                    u.remove(&semid);
                }
                self.undos.retain(|_, u| !u.is_empty());
                self.removed(Kind::Sem, idx);
                ok(0)
            }
            SETVAL => {
                if !(0..=SEMVMX).contains(&val) {
                    return fail(ERANGE, "value out of range [0, SEMVMX]");
                }
                let (idx, s) = self.sem.get(semid)?;
                let Some(n) = usize::try_from(semnum).ok().filter(|n| *n < s.sems.len()) else {
                    return fail(EINVAL, "semnum beyond the set");
                };
                check(&s.perm, c, S_IWUGO)?;
                s.sems[n].val = val;
                s.sems[n].pid = pid;
                s.ctime = now();
                for u in self.undos.values_mut() {
                    if let Some(adj) = u.get_mut(&semid) {
                        adj[n] = 0;
                    }
                }
                self.retry(Kind::Sem, idx);
                ok(0)
            }
            SETALL => {
                let (idx, s) = self.sem.get(semid)?;
                check(&s.perm, c, S_IWUGO)?;
                if vals.len() != s.sems.len() {
                    return fail(EINVAL, "SETALL needs one value per semaphore");
                }
                if vals.iter().any(|v| i32::from(*v) > SEMVMX) {
                    return fail(ERANGE, "value above SEMVMX");
                }
                for (sem, v) in s.sems.iter_mut().zip(vals) {
                    sem.val = i32::from(*v);
                    sem.pid = pid;
                }
                s.ctime = now();
                for u in self.undos.values_mut() {
                    if let Some(adj) = u.get_mut(&semid) {
                        adj.iter_mut().for_each(|a| *a = 0);
                    }
                }
                self.retry(Kind::Sem, idx);
                ok(0)
            }
            GETALL | GETVAL | GETPID | GETNCNT | GETZCNT => {
                let (idx, s) = self.sem.get(semid)?;
                check(&s.perm, c, S_IRUGO)?;
                if cmd == GETALL {
                    return Ok(IpcReply::Values(s.sems.iter().map(|x| x.val as u16).collect()));
                }
                let Some(n) = usize::try_from(semnum).ok().filter(|n| *n < s.sems.len()) else {
                    return fail(EINVAL, "semnum beyond the set");
                };
                let v = match cmd {
                    GETVAL => i64::from(s.sems[n].val),
                    GETPID => i64::from(s.sems[n].pid),
                    _ => self.waiters(idx, n as u16, cmd == GETZCNT),
                };
                ok(v)
            }
            _ => fail(EINVAL, format!("unknown semctl command {cmd}")),
        }
    }

    // ---- message queues (ipc/msg.c) ----

    fn msg_stat(q: &Queue) -> IpcStat {
        IpcStat::Msg {
            perm: q.perm,
            stime: q.stime,
            rtime: q.rtime,
            ctime: q.ctime,
            cbytes: q.cbytes,
            qnum: q.msgs.len() as u64,
            qbytes: q.qbytes,
            lspid: q.lspid,
            lrpid: q.lrpid,
        }
    }

    fn msgctl(&mut self, c: &IpcCred, msqid: i32, cmd: i32, set: Option<&IpcSet>) -> R<IpcReply> {
        if msqid < 0 || cmd < 0 {
            return fail(EINVAL, "negative id or command");
        }
        match cmd {
            IPC_INFO | MSG_INFO => {
                let f = |v: i32| v as u64;
                let (pool, map, tql) = if cmd == MSG_INFO {
                    let msgs: u64 = self.msg.slots.values().map(|q| q.msgs.len() as u64).sum();
                    let bytes: u64 = self.msg.slots.values().map(|q| q.cbytes).sum();
                    (self.msg.slots.len() as u64, msgs.min(i32::MAX as u64), bytes.min(i32::MAX as u64))
                } else {
                    (f(MSGPOOL), f(MSGMAP), f(MSGTQL))
                };
                Ok(IpcReply::Info { ret: self.msg.max_idx(), fields: vec![pool, map, f(MSGMAX), f(MSGMNB), f(MSGMNI), f(MSGSSZ), tql, f(MSGSEG)] })
            }
            MSG_STAT | MSG_STAT_ANY => {
                let id = self.msg.id_at(msqid);
                let q = self.msg.at(msqid)?;
                if cmd == MSG_STAT {
                    check(&q.perm, c, S_IRUGO)?;
                }
                Ok(IpcReply::Stat { ret: i64::from(id), stat: Self::msg_stat(q) })
            }
            IPC_STAT => {
                let (_, q) = self.msg.get(msqid)?;
                check(&q.perm, c, S_IRUGO)?;
                Ok(IpcReply::Stat { ret: 0, stat: Self::msg_stat(q) })
            }
            IPC_SET => {
                let Some(set) = set else { return fail(EFAULT_PLACEHOLDER, "IPC_SET without its values") };
                let (idx, q) = self.msg.get(msqid)?;
                check_owner(&q.perm, c)?;
                if set.qbytes > MSGMNB as u64 && !is_root(c) {
                    return fail(EPERM, "raising msg_qbytes beyond MSGMNB needs CAP_SYS_RESOURCE");
                }
                q.qbytes = set.qbytes;
                apply_set(&mut q.perm, set);
                q.ctime = now();
                // A larger queue may let waiting senders in.
                self.retry(Kind::Msg, idx);
                ok(0)
            }
            IPC_RMID => {
                let (idx, q) = self.msg.get(msqid)?;
                check_owner(&q.perm, c)?;
                self.msg.slots.remove(&idx);
                self.removed(Kind::Msg, idx);
                ok(0)
            }
            _ => fail(EINVAL, format!("unknown msgctl command {cmd}")),
        }
    }

    fn task_gone(&mut self, pid: Vpid) {
        if let Some(att) = self.attaches.remove(&pid) {
            for (shmid, n) in att {
                if let Ok((idx, seg)) = self.shm.get(shmid) {
                    seg.nattch = seg.nattch.saturating_sub(u64::from(n));
                    seg.dtime = now();
                    seg.lpid = pid;
                    if seg.nattch == 0 && seg.perm.mode & SHM_DEST != 0 {
                        self.destroy_shm(idx);
                    }
                }
            }
        }
        if let Some(undos) = self.undos.remove(&pid) {
            for (semid, adj) in undos {
                let Ok((idx, set)) = self.sem.get(semid) else { continue };
                for (sem, a) in set.sems.iter_mut().zip(&adj) {
                    if *a != 0 {
                        sem.val = (sem.val + a).clamp(0, SEMVMX);
                        sem.pid = pid;
                    }
                }
                set.otime = now();
                self.retry(Kind::Sem, idx);
            }
        }
    }
}

/// IPC_SET without its values cannot come from the runtime, which reads
/// them from the guest first; a malformed request gets EFAULT.
const EFAULT_PLACEHOLDER: i32 = linux_raw_sys::errno::EFAULT as i32;

enum Tried {
    Done,
    /// Would wait: on which semaphore (and for zero?), and whether that
    /// operation carries IPC_NOWAIT.
    Blocked((u16, bool), bool),
}

/// `perform_atomic_semop_slow()`: all the operations or none, each seeing
/// the values the ones before it left.
fn try_semop(set: &mut SemSet, undo: Option<&mut Vec<i32>>, pid: Vpid, sops: &[SemBuf]) -> R<Tried> {
    let mut vals: Vec<i32> = set.sems.iter().map(|s| s.val).collect();
    let mut adj: Option<Vec<i32>> = undo.as_ref().map(|u| u.to_vec());
    for s in sops {
        let n = usize::from(s.num);
        let Some(cur) = vals.get(n).copied() else { return fail(EFBIG, "sem_num beyond the set") };
        let op = i32::from(s.op);
        if op == 0 && cur != 0 {
            return Ok(Tried::Blocked((s.num, true), s.flags & IPC_NOWAIT as i16 != 0));
        }
        let result = cur + op;
        if result < 0 {
            return Ok(Tried::Blocked((s.num, false), s.flags & IPC_NOWAIT as i16 != 0));
        }
        if result > SEMVMX {
            return fail(ERANGE, "the result would exceed SEMVMX");
        }
        if s.flags & SEM_UNDO != 0 {
            if let Some(a) = adj.as_mut().and_then(|a| a.get_mut(n)) {
                let u = *a - op;
                if u < -SEMAEM - 1 || u > SEMAEM {
                    return fail(ERANGE, "the undo adjustment would exceed SEMAEM");
                }
                *a = u;
            }
        }
        vals[n] = result;
    }
    for s in sops {
        if let Some(sem) = set.sems.get_mut(usize::from(s.num)) {
            sem.pid = pid;
        }
    }
    for (sem, v) in set.sems.iter_mut().zip(vals) {
        sem.val = v;
    }
    if let (Some(u), Some(a)) = (undo, adj) {
        *u = a;
    }
    set.otime = now();
    Ok(Tried::Done)
}

/// A msgsnd or msgrcv on queue `q`: its answer, or None when it must wait.
fn try_msg(q: &mut Queue, pid: Vpid, op: &IpcOp) -> R<Option<IpcReply>> {
    match op {
        IpcOp::MsgSnd { mtype, text, .. } => {
            let len = text.len() as u64;
            if len + q.cbytes > q.qbytes || q.msgs.len() as u64 + 1 > q.qbytes {
                return Ok(None);
            }
            q.msgs.push_back((*mtype, text.clone()));
            q.cbytes += len;
            q.lspid = pid;
            q.stime = now();
            Ok(Some(IpcReply::Value(0)))
        }
        IpcOp::MsgRcv { size, msgtyp, flags, .. } => {
            let except = flags & MSG_EXCEPT != 0;
            let t = *msgtyp;
            let found = if t < 0 {
                // The lowest type not above |msgtyp|, the oldest of those.
                let limit = t.checked_neg().unwrap_or(i64::MAX);
                let mut best: Option<(usize, i64)> = None;
                for (i, (mt, _)) in q.msgs.iter().enumerate() {
                    if *mt <= limit && best.is_none_or(|(_, b)| *mt < b) {
                        best = Some((i, *mt));
                    }
                }
                best.map(|(i, _)| i)
            } else {
                q.msgs.iter().position(|(mt, _)| t == 0 || (if except { *mt != t } else { *mt == t }))
            };
            let Some(i) = found else { return Ok(None) };
            let len = q.msgs[i].1.len() as u64;
            if len > *size && flags & MSG_NOERROR == 0 {
                return fail(E2BIG, "the message is longer than the buffer and MSG_NOERROR is not set");
            }
            let Some((mtype, mut text)) = q.msgs.remove(i) else { return Ok(None) };
            q.cbytes -= len;
            text.truncate(usize::try_from(*size).unwrap_or(usize::MAX));
            q.lrpid = pid;
            q.rtime = now();
            Ok(Some(IpcReply::Message { mtype, text }))
        }
        _ => fail(EINVAL, "not a message call"),
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> IpcCred {
        IpcCred { uid: 0, gid: 0, groups: vec![] }
    }

    fn user(uid: u32) -> IpcCred {
        IpcCred { uid, gid: uid, groups: vec![] }
    }

    fn val(r: Response) -> i64 {
        match r {
            Response::Ipc(IpcReply::Value(v)) => v,
            other => panic!("{other:?}"),
        }
    }

    fn errno(r: Response) -> i32 {
        match r {
            Response::Error { errno, .. } => errno,
            other => panic!("{other:?}"),
        }
    }

    fn dir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("mactuxd-sysv-{}-{name}", std::process::id()))
    }

    #[test]
    fn ids_keys_and_creation_errors() {
        let s = Sysv::new(None);
        let c = root();
        let a = val(s.call(1, 10, &c, &IpcOp::MsgGet { key: 0x1234, flags: IPC_CREAT | 0o600 }));
        assert_eq!(a, 0, "the first index, sequence 0");
        assert_eq!(val(s.call(1, 10, &c, &IpcOp::MsgGet { key: 0x1234, flags: 0 })), a);
        assert_eq!(errno(s.call(1, 10, &c, &IpcOp::MsgGet { key: 0x1234, flags: IPC_CREAT | IPC_EXCL })), EEXIST);
        assert_eq!(errno(s.call(1, 10, &c, &IpcOp::MsgGet { key: 0x999, flags: 0 })), ENOENT);
        let b = val(s.call(1, 10, &c, &IpcOp::MsgGet { key: IPC_PRIVATE, flags: 0 }));
        assert_eq!(b, 1);
        assert_ne!(val(s.call(1, 10, &c, &IpcOp::MsgGet { key: IPC_PRIVATE, flags: 0 })), b, "IPC_PRIVATE is always new");
        // Removing and creating moves on cyclically; a stale id is EINVAL.
        assert_eq!(val(s.call(1, 10, &c, &IpcOp::MsgCtl { msqid: a as i32, cmd: IPC_RMID, set: None })), 0);
        assert_eq!(errno(s.call(1, 10, &c, &IpcOp::MsgCtl { msqid: a as i32, cmd: IPC_STAT, set: None })), EINVAL);
        assert_eq!(val(s.call(1, 10, &c, &IpcOp::MsgGet { key: IPC_PRIVATE, flags: 0 })), 3);
        assert_eq!(errno(s.call(1, 10, &c, &IpcOp::SemGet { key: 1, nsems: 0, flags: IPC_CREAT })), EINVAL);
        assert_eq!(errno(s.call(1, 10, &c, &IpcOp::SemGet { key: 1, nsems: -1, flags: IPC_CREAT })), EINVAL);
        let sem = val(s.call(1, 10, &c, &IpcOp::SemGet { key: 1, nsems: 2, flags: IPC_CREAT })) as i32;
        assert_eq!(errno(s.call(1, 10, &c, &IpcOp::SemGet { key: 1, nsems: 3, flags: 0 })), EINVAL);
        assert_eq!(val(s.call(1, 10, &c, &IpcOp::SemGet { key: 1, nsems: 0, flags: 0 })), i64::from(sem));
    }

    #[test]
    fn sequence_grows_when_the_index_wraps() {
        let mut ids: Ids<Queue> = Ids::new(10);
        let mk = |perm| Ok(Queue { perm, msgs: VecDeque::new(), cbytes: 0, qbytes: 1, lspid: 0, lrpid: 0, stime: 0, rtime: 0, ctime: 0 });
        let c = root();
        for i in 0..MIN_CYCLE as i64 {
            assert_eq!(ids.get_or_create(0, 0, &c, |_| Ok(()), mk).unwrap(), i);
            ids.slots.clear();
        }
        assert_eq!(ids.get_or_create(0, 0, &c, |_| Ok(()), mk).unwrap(), i64::from(IPCMNI), "index 0 again, sequence 1");
    }

    #[test]
    fn permissions() {
        let s = Sysv::new(None);
        let owner = user(1000);
        let q = val(s.call(1, 10, &owner, &IpcOp::MsgGet { key: 5, flags: IPC_CREAT | 0o640 })) as i32;
        let mut grp = user(1001);
        grp.groups.push(1000);
        assert_eq!(val(s.call(1, 11, &grp, &IpcOp::MsgGet { key: 5, flags: 0o040 })), i64::from(q));
        assert_eq!(errno(s.call(1, 11, &grp, &IpcOp::MsgGet { key: 5, flags: 0o020 })), EACCES);
        assert_eq!(errno(s.call(1, 11, &grp, &IpcOp::MsgSnd { msqid: q, mtype: 1, text: vec![1], flags: 0 })), EACCES);
        let other = user(2000);
        assert_eq!(errno(s.call(1, 12, &other, &IpcOp::MsgCtl { msqid: q, cmd: IPC_STAT, set: None })), EACCES);
        assert_eq!(errno(s.call(1, 12, &other, &IpcOp::MsgCtl { msqid: q, cmd: IPC_RMID, set: None })), EPERM);
        assert_eq!(val(s.call(1, 10, &owner, &IpcOp::MsgSnd { msqid: q, mtype: 1, text: vec![1], flags: 0 })), 0);
        assert_eq!(val(s.call(1, 12, &root(), &IpcOp::MsgCtl { msqid: q, cmd: IPC_RMID, set: None })), 0);
    }

    #[tokio::test]
    async fn semaphores_wait_undo_and_removal() {
        let s = Sysv::new(None);
        let c = root();
        let id = val(s.call(1, 10, &c, &IpcOp::SemGet { key: 0, nsems: 1, flags: 0o600 })) as i32;
        let down = IpcOp::SemOp { semid: id, sops: vec![SemBuf { num: 0, op: -1, flags: 0 }] };
        let token = match s.call(2, 11, &c, &down) {
            Response::Ipc(IpcReply::Pending(t)) => t,
            other => panic!("{other:?}"),
        };
        let ncnt = IpcOp::SemCtl { semid: id, semnum: 0, cmd: GETNCNT, val: 0, vals: vec![], set: None };
        assert_eq!(val(s.call(1, 10, &c, &ncnt)), 1);
        // An up by a task with SEM_UNDO lets the waiter through.
        let up = IpcOp::SemOp { semid: id, sops: vec![SemBuf { num: 0, op: 1, flags: SEM_UNDO }] };
        assert_eq!(val(s.call(1, 10, &c, &up)), 0);
        assert!(matches!(s.sleep(2, token, Duration::from_millis(10)).await, Slept::Done(Response::Ipc(IpcReply::Value(0)))));
        assert_eq!(val(s.call(1, 10, &c, &ncnt)), 0);
        let getpid = IpcOp::SemCtl { semid: id, semnum: 0, cmd: GETPID, val: 0, vals: vec![], set: None };
        assert_eq!(val(s.call(1, 10, &c, &getpid)), 11, "the waiter's decrement was the last operation");
        // The up's task exits: its undo takes 1 away, clamped at 0.
        assert_eq!(s.tracked(), vec![10]);
        s.task_gone(10);
        let getval = IpcOp::SemCtl { semid: id, semnum: 0, cmd: GETVAL, val: 0, vals: vec![], set: None };
        assert_eq!(val(s.call(1, 10, &c, &getval)), 0);
        // Removal wakes a waiter with EIDRM.
        let token = match s.call(2, 11, &c, &down) {
            Response::Ipc(IpcReply::Pending(t)) => t,
            other => panic!("{other:?}"),
        };
        assert!(matches!(s.sleep(2, token, Duration::from_millis(1)).await, Slept::TimedOut));
        assert_eq!(val(s.call(1, 10, &c, &IpcOp::SemCtl { semid: id, semnum: 0, cmd: IPC_RMID, val: 0, vals: vec![], set: None })), 0);
        match s.sleep(2, token, Duration::from_millis(10)).await {
            Slept::Done(r) => assert_eq!(errno(r), EIDRM),
            _ => panic!("not woken"),
        }
        let (_, sems, _, pending) = s.counts();
        assert_eq!((sems, pending), (0, 0));
    }

    #[tokio::test]
    async fn messages_by_type_and_cancel() {
        let s = Sysv::new(None);
        let c = root();
        let q = val(s.call(1, 10, &c, &IpcOp::MsgGet { key: 0, flags: 0o600 })) as i32;
        for (t, b) in [(3, b"c"), (1, b"a"), (2, b"b")] {
            assert_eq!(val(s.call(1, 10, &c, &IpcOp::MsgSnd { msqid: q, mtype: t, text: b.to_vec(), flags: 0 })), 0);
        }
        let rcv = |msgtyp: i64, flags: i32, size: u64| IpcOp::MsgRcv { msqid: q, size, msgtyp, flags };
        let got = |r: Response| match r {
            Response::Ipc(IpcReply::Message { mtype, text }) => (mtype, text),
            other => panic!("{other:?}"),
        };
        assert_eq!(got(s.call(1, 10, &c, &rcv(-2, 0, 8))), (1, b"a".to_vec()));
        assert_eq!(got(s.call(1, 10, &c, &rcv(3, MSG_EXCEPT, 8))), (2, b"b".to_vec()));
        assert_eq!(errno(s.call(1, 10, &c, &rcv(2, IPC_NOWAIT, 8))), ENOMSG);
        assert_eq!(errno(s.call(1, 10, &c, &rcv(0, 0, 0))), E2BIG);
        assert_eq!(got(s.call(1, 10, &c, &rcv(0, MSG_NOERROR, 0))), (3, vec![]));
        // A waiting receiver gets the next message; a cancelled one does not.
        let t1 = match s.call(2, 11, &c, &rcv(0, 0, 8)) {
            Response::Ipc(IpcReply::Pending(t)) => t,
            other => panic!("{other:?}"),
        };
        assert_eq!(s.cancel(2, t1), Response::Ok);
        let t2 = match s.call(2, 11, &c, &rcv(7, 0, 8)) {
            Response::Ipc(IpcReply::Pending(t)) => t,
            other => panic!("{other:?}"),
        };
        assert_eq!(val(s.call(1, 10, &c, &IpcOp::MsgSnd { msqid: q, mtype: 7, text: b"x".to_vec(), flags: 0 })), 0);
        assert_eq!(got(s.cancel(2, t2)), (7, b"x".to_vec()), "completed before the cancel: the message is the caller's");
        // A full queue: EAGAIN with IPC_NOWAIT.
        let set = IpcSet { uid: 0, gid: 0, mode: 0o600, qbytes: 1 };
        assert_eq!(val(s.call(1, 10, &c, &IpcOp::MsgCtl { msqid: q, cmd: IPC_SET, set: Some(set) })), 0);
        assert_eq!(val(s.call(1, 10, &c, &IpcOp::MsgSnd { msqid: q, mtype: 1, text: vec![1], flags: 0 })), 0);
        assert_eq!(errno(s.call(1, 10, &c, &IpcOp::MsgSnd { msqid: q, mtype: 1, text: vec![1], flags: IPC_NOWAIT })), EAGAIN);
    }

    #[test]
    fn segments_live_until_the_last_detach() {
        let d = dir("shm");
        let s = Sysv::new(Some(d.clone()));
        let c = root();
        let id = val(s.call(1, 10, &c, &IpcOp::ShmGet { key: 42, size: 100, flags: IPC_CREAT | 0o600 })) as i32;
        assert_eq!(errno(s.call(1, 10, &c, &IpcOp::ShmGet { key: 42, size: 5000, flags: 0 })), EINVAL);
        assert_eq!(errno(s.call(1, 10, &c, &IpcOp::ShmGet { key: 43, size: 0, flags: IPC_CREAT })), EINVAL);
        let path = match s.call(1, 10, &c, &IpcOp::ShmAttach { shmid: id, flags: 0 }) {
            Response::Ipc(IpcReply::Attached { path, size: 100, key: 42 }) => PathBuf::from(path),
            other => panic!("{other:?}"),
        };
        assert_eq!(std::fs::metadata(&path).unwrap().len(), PAGE);
        assert_eq!(val(s.call(1, 11, &c, &IpcOp::ShmInherit { pid: 11, shmids: vec![id, 12345] })), 1);
        assert_eq!(val(s.call(1, 10, &c, &IpcOp::ShmCtl { shmid: id, cmd: IPC_RMID, set: None })), 0);
        match s.call(1, 10, &c, &IpcOp::ShmCtl { shmid: id, cmd: IPC_STAT, set: None }) {
            Response::Ipc(IpcReply::Stat { stat: IpcStat::Shm { nattch: 2, perm, .. }, .. }) => {
                assert_eq!((perm.key, perm.mode & SHM_DEST), (IPC_PRIVATE, SHM_DEST))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(val(s.call(1, 10, &c, &IpcOp::ShmDetach { shmid: id })), 0);
        assert_eq!(errno(s.call(1, 10, &c, &IpcOp::ShmDetach { shmid: id })), EINVAL);
        assert!(path.exists());
        s.task_gone(11);
        assert!(!path.exists(), "the last detach destroyed it");
        assert_eq!(errno(s.call(1, 10, &c, &IpcOp::ShmCtl { shmid: id, cmd: IPC_STAT, set: None })), EINVAL);
        let _ = std::fs::remove_dir_all(&d);
    }
}
