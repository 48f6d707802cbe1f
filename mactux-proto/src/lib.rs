//! The mactuxd protocol.
//!
//! A Linux task speaks to the daemon over one or more Unix-socket
//! connections: the one that registered it (`Spawn`, `AttachChild`,
//! `Reattach`) and any number joined to it (`Join`), so that each of its
//! threads can be in a call at once. Each carries length-prefixed frames:
//! a little-endian `u32` byte count, then one bincode-2 encoded message. The
//! first exchange is the version handshake ([`Request::Hello`] →
//! [`Response::Welcome`]); a daemon of another version answers
//! [`Response::VersionMismatch`] and closes. Frames larger than
//! [`MAX_FRAME`] are refused by both sides.
//!
//! The client side ([`client::Client`]) is plain blocking I/O without
//! allocation-heavy machinery, so the runtime can use it from its syscall
//! trap; the daemon speaks the same framing over tokio.

pub mod client;
pub mod frame;
pub mod sysv;

use serde::{Deserialize, Serialize};

/// Bumped whenever a message changes shape or meaning.
pub const PROTOCOL_VERSION: u32 = 12;

/// The largest frame either side sends or accepts.
pub const MAX_FRAME: usize = 1 << 20;

/// A Linux process id in the daemon's namespace.
pub type Vpid = i32;

/// What a task tells the daemon about itself (for /proc and `mactux ps`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskInfo {
    pub comm: String,
    pub argv: Vec<Vec<u8>>,
    pub exe: String,
    pub cwd: String,
    /// The effective uid and gid (what `ps` shows as the user).
    pub uid: u32,
    pub gid: u32,
    /// All of the task's Linux credentials (/proc/PID/status of others,
    /// capget of another pid, SO_PEERCRED).
    pub cred: TaskCred,
    /// The controlling terminal's Linux device number (0: none).
    pub tty: u64,
    /// The environment the program started with (`/proc/PID/environ`);
    /// left empty when it would not fit a frame comfortably.
    pub environ: Vec<Vec<u8>>,
    /// Open fds and what each names (`/proc/PID/fd`), as of the task's last
    /// publication (it publishes when it is about to sleep).
    pub fds: Vec<(i32, Vec<u8>)>,
    /// For the fds that name no path (a socket, a pipe, an anonymous
    /// inode): the Linux mode, device and inode number a stat of the
    /// followed /proc/PID/fd/N link gives (lsof, netstat -p).
    pub fd_nodes: Vec<FdNode>,
    /// The memory map in /proc/PID/maps format, as of the same moment.
    pub maps: Vec<u8>,
    /// The task ignores SIGCHLD: its children never become zombies (Linux
    /// reaps them at once, and its waits answer ECHILD).
    pub reaps_children: bool,
    /// The task's threads, the leader (tid = pid) first. A task publishes
    /// each thread's name and state; the daemon answers with one entry per
    /// tid it handed out (`NewTid`) and not yet released, taking the name
    /// and state from what the task published, else the task's `comm` and
    /// `S` (/proc/PID/task, `ps -L`).
    pub threads: Vec<ThreadInfo>,
}

/// What a stat of another task's /proc/PID/fd/N link, followed, says of
/// an object without a path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdNode {
    pub fd: i32,
    pub mode: u32,
    pub dev: u64,
    pub ino: u64,
}

/// A task's Linux credentials as /proc/PID/status shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskCred {
    /// Real, effective, saved and filesystem uid.
    pub uids: [u32; 4],
    /// Real, effective, saved and filesystem gid.
    pub gids: [u32; 4],
    pub groups: Vec<u32>,
    /// Inheritable, permitted, effective, bounding and ambient capabilities.
    pub caps: [u64; 5],
    pub no_new_privs: bool,
}

/// One thread of a task, as /proc/PID/task/TID shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadInfo {
    pub tid: Vpid,
    /// The thread's `comm` (at most 15 bytes on Linux).
    pub comm: String,
    /// The state letter of /proc/PID/task/TID/stat (`R`, `S`, `T`, `Z` ...).
    pub state: u8,
}

/// One task as the daemon knows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskEntry {
    pub pid: Vpid,
    pub ppid: Vpid,
    pub pgid: Vpid,
    pub sid: Vpid,
    pub host_pid: i32,
    pub state: TaskState,
    /// Start time, seconds since the Unix epoch (with fraction).
    pub start_time: f64,
    pub info: TaskInfo,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskState {
    Running,
    /// Exited, not yet reaped: the Linux wait status.
    Zombie(i32),
}

/// What identifies a shared futex word across processes: the object the
/// shared mapping shows and the word's offset in it (Linux's futex key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FutexKey {
    /// A shared file mapping: device, inode and byte offset in the file.
    File { dev: u64, ino: u64, offset: u64 },
    /// Shared anonymous memory (inherited across fork): its region id and offset.
    Anon { region: u64, offset: u64 },
}

/// Which children a wait looks at (Linux `idtype`/`id` of waitid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WaitTarget {
    Any,
    Pid(Vpid),
    Pgid(Vpid),
}

/// What a kill targets (the sign conventions of kill(2)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KillTarget {
    Pid(Vpid),
    Pgid(Vpid),
    /// Every task the caller may signal except itself and the subreaper.
    All,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// The first frame on every connection.
    Hello { version: u32 },
    /// A new top-level task (from `mactux run`): gets a fresh pid and ppid 1
    /// (the daemon's subreaper). It joins the session and process group its
    /// host process is in (`host_sid`, `host_pgid`), as a program a shell
    /// starts joins the shell's: each host session and group outside the
    /// namespace stands for one Linux id there. When it leads them on the
    /// host, it leads its own.
    /// Answered by `Spawned`.
    Spawn { host_pid: i32, host_pgid: i32, host_sid: i32, info: TaskInfo },
    /// Reserves a pid for a child the caller is about to fork. `token` is the
    /// caller's own number for this fork (not 0 for a retry to count): a
    /// ReserveChild sent again with the same token, because the daemon went
    /// away before answering, gets the pid the first one reserved if a
    /// restarted daemon took it over, rather than a second reservation.
    ReserveChild { token: u64 },
    /// Binds a reserved pid to the forked host process (sent by the child).
    AttachChild { pid: Vpid, host_pid: i32 },
    /// Re-attaches an existing task after execve or a daemon restart. Sent
    /// on a connection already joined to the task, it makes that one the
    /// task's registering connection and the previous one a joined one.
    Reattach { pid: Vpid, host_pid: i32, ppid: Vpid, pgid: Vpid, sid: Vpid, info: TaskInfo },
    /// New comm/argv/exe/cwd after execve, prctl or chdir.
    Update { info: TaskInfo },
    /// The caller exits with this Linux wait status.
    Exit { status: i32 },
    /// A child the caller reaped from the host (its status already consumed).
    Reaped { pid: Vpid },
    GetPpid,
    GetPgid { pid: Vpid },
    SetPgid { pid: Vpid, pgid: Vpid },
    GetSid { pid: Vpid },
    SetSid,
    /// The host pid of a task, for signals and waits.
    HostPid { pid: Vpid },
    /// The pid of a task by host pid (after a host wait).
    PidOfHost { host_pid: i32 },
    /// Children of the caller matching `target`, as (pid, host pid).
    Children { target: WaitTarget },
    /// The tasks a kill(2) of `target` by the caller reaches, as (pid, host
    /// pid); the caller sends the host signal itself. Tasks whose host
    /// process is gone are cleaned up on the way.
    Resolve { target: KillTarget },
    /// Every task of the user (for /proc and `mactux ps`), without their
    /// fds, memory maps and environments (`Get` has those).
    List,
    Get { pid: Vpid },
    /// A stable Linux-style inode number for a new pipe.
    NewPipeIno,
    /// sethostname(2) / setdomainname(2) for every task of the namespace
    /// (the caller checked CAP_SYS_ADMIN). `Error EINVAL` for a name longer
    /// than [`UTS_NAME_MAX`] bytes; never changes the host's own name.
    SetUtsName { field: UtsField, name: Vec<u8> },
    /// The names set so far (answered by `UtsName`); `None`: never set,
    /// the task shows its own default. (Tasks read them from [`UTS_FILE`];
    /// this is for tools and tests.)
    GetUtsName,
    /// Queues the caller on a shared futex; answered at once with a token.
    /// The caller then compares the futex word itself (so a wake between
    /// the compare and the sleep is never lost) and sleeps on the token.
    FutexQueue { key: FutexKey, bitset: u32 },
    /// Sleeps until the token is woken (`Ok`) or `timeout_ns` passes
    /// (`Error ETIMEDOUT`, the token stays queued for another sleep).
    FutexSleep { token: u64, timeout_ns: u64 },
    /// Leaves the queue (after a failed compare, a timeout or a signal).
    FutexCancel { token: u64 },
    /// Wakes up to `count` waiters on `key` whose bitset meets `bitset`.
    FutexWake { key: FutexKey, count: u32, bitset: u32 },
    /// Daemon administration.
    Status,
    Shutdown,
    /// Joins this connection to the running task `pid` whose host process
    /// is `host_pid`, so that another thread of it can call the daemon while
    /// one is in a call. The connection then speaks for the task as the
    /// registering one does; its closing does not mean that the task is
    /// gone (only that its host process is, if it is).
    Join { pid: Vpid, host_pid: i32 },
    /// A tid for a new thread of the caller: a number of the pid namespace,
    /// never handed out again while the thread lives (answered by `Pid`).
    NewTid,
    /// The caller's thread `tid` has exited. A task's tids are also
    /// released when it exits or its host process is gone.
    ReleaseTid { tid: Vpid },
    /// The task a pid or tid belongs to (answered by `Owner`): for kill(2)
    /// of a non-leader thread, which signals its thread group, and for
    /// tgkill(2), which checks that the thread belongs to the group.
    OwnerOf { tid: Vpid },
    /// A System V IPC call (shared memory, semaphores, message queues) by
    /// a caller with these credentials; answered by `Ipc` or `Error`.
    /// A semop, msgsnd or msgrcv that has to wait is answered by
    /// [`IpcReply::Pending`]: the daemon completes it on the caller's
    /// behalf when it can, and the caller collects the outcome with
    /// `IpcSleep` (or gives up with `IpcCancel`).
    Ipc { cred: IpcCred, op: IpcOp },
    /// Waits up to `timeout_ns` for a pending IPC call: its answer, or
    /// `Error ETIMEDOUT` while it still waits (the token stays).
    IpcSleep { token: u64, timeout_ns: u64 },
    /// Stops waiting: answered `Ok` when the call was withdrawn, or with
    /// the call's own answer when it completed first (that outcome stands).
    IpcCancel { token: u64 },
    /// The caller forked host process `host_pid` as its reserved child
    /// `pid` (sent by the parent, posted, right after the host fork). The
    /// child is then a running task, unbound until it calls the daemon
    /// itself (with `Reattach`, accepted for that host pid): a child that
    /// never needs the daemon never connects, and one that exits so is
    /// found gone like any unbound task (the parent's `Reaped` removes it).
    /// ESRCH when `pid` is no task, ECHILD when it is not the caller's
    /// child, EBUSY when it is another host process; a child that lived in
    /// the caller's own host process (a CLONE_VM child) moves to
    /// `host_pid`, the host process its execve runs in.
    Forked { pid: Vpid, host_pid: i32 },
}

/// The longest host or domain name (`__NEW_UTS_LEN`).
pub const UTS_NAME_MAX: usize = 64;

/// The file in the state directory where the daemon publishes the names
/// set, so that a task's uname reads them without a round trip: one page
/// of little-endian u64 words, which tasks map shared and read under a
/// sequence count (word 0, odd while the daemon writes; see [`uts_words`]).
/// Absent until a name is first set. The daemon never truncates or
/// replaces it (a task's mapping would stay on the old file).
pub const UTS_FILE: &str = "mactuxd.uts";
/// The size of [`UTS_FILE`].
pub const UTS_FILE_SIZE: usize = 4096;
/// Words 1.. of [`UTS_FILE`]: a word of flags and lengths, then each name
/// in 8 words.
pub const UTS_WORDS: usize = 1 + 2 * (UTS_NAME_MAX / 8);

/// Words 1..=[`UTS_WORDS`] of [`UTS_FILE`] for these names: word 1 holds
/// bit 0 (nodename set), bit 1 (domainname set) and the lengths in bits
/// 8..16 and 16..24; the nodename's bytes follow, then the domainname's.
/// Names longer than [`UTS_NAME_MAX`] are cut there.
pub fn uts_words(nodename: Option<&[u8]>, domainname: Option<&[u8]>) -> [u64; UTS_WORDS] {
    let mut w = [0u64; UTS_WORDS];
    let mut bytes = [0u8; 2 * UTS_NAME_MAX];
    for (i, name) in [nodename, domainname].into_iter().enumerate() {
        let Some(name) = name else { continue };
        let name = &name[..name.len().min(UTS_NAME_MAX)];
        w[0] |= 1 << i | (name.len() as u64) << (8 + 8 * i);
        bytes[i * UTS_NAME_MAX..i * UTS_NAME_MAX + name.len()].copy_from_slice(name);
    }
    for (k, chunk) in bytes.chunks(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        w[1 + k] = u64::from_le_bytes(b);
    }
    w
}

/// The names back from [`uts_words`]'s words.
pub fn names_of_uts_words(w: &[u64; UTS_WORDS]) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let mut bytes = Vec::with_capacity(2 * UTS_NAME_MAX);
    for word in &w[1..] {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    let name = |i: usize| {
        if w[0] & (1 << i) == 0 {
            return None;
        }
        let len = ((w[0] >> (8 + 8 * i)) & 0xff) as usize;
        Some(bytes[i * UTS_NAME_MAX..i * UTS_NAME_MAX + len.min(UTS_NAME_MAX)].to_vec())
    };
    (name(0), name(1))
}

/// Which name of `struct utsname` a [`Request::SetUtsName`] sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UtsField {
    /// `nodename`: sethostname(2).
    Hostname,
    /// `domainname`: setdomainname(2).
    Domainname,
}

/// Who makes an IPC call, for the permission checks of ipc/util.c.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpcCred {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// One operation of semop(2) (`struct sembuf`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SemBuf {
    pub num: u16,
    pub op: i16,
    pub flags: i16,
}

/// The fields IPC_SET may change (`qbytes`: message queues only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpcSet {
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    pub qbytes: u64,
}

/// The System V IPC calls, with Linux's arguments (flags and commands
/// are Linux values; the daemon checks them as Linux does).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IpcOp {
    ShmGet { key: i32, size: u64, flags: i32 },
    /// Counts an attach (shmat) and names the segment's backing file.
    ShmAttach { shmid: i32, flags: i32 },
    /// A detach (shmdt, or an exec or exit dropping an attach).
    ShmDetach { shmid: i32 },
    /// Attaches task `pid` holds without having made them: a fork
    /// child's inherited ones (sent by the parent before the fork, with the
    /// child's reserved pid), or the caller's own after a failed exec. One
    /// entry per attach.
    ShmInherit { pid: Vpid, shmids: Vec<i32> },
    ShmCtl { shmid: i32, cmd: i32, set: Option<IpcSet> },
    SemGet { key: i32, nsems: i32, flags: i32 },
    SemOp { semid: i32, sops: Vec<SemBuf> },
    /// semctl: `val` for SETVAL, `vals` for SETALL, `set` for IPC_SET.
    SemCtl { semid: i32, semnum: i32, cmd: i32, val: i32, vals: Vec<u16>, set: Option<IpcSet> },
    MsgGet { key: i32, flags: i32 },
    MsgSnd { msqid: i32, mtype: i64, text: Vec<u8>, flags: i32 },
    /// `size`: the room for the text in the caller's buffer.
    MsgRcv { msqid: i32, size: u64, msgtyp: i64, flags: i32 },
    MsgCtl { msqid: i32, cmd: i32, set: Option<IpcSet> },
}

/// `struct ipc64_perm`'s fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpcPerm {
    pub key: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    pub mode: u32,
    pub seq: u16,
}

/// What IPC_STAT (and SHM_STAT, SEM_STAT, MSG_STAT) report; times are
/// seconds since the epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IpcStat {
    Shm { perm: IpcPerm, segsz: u64, atime: i64, dtime: i64, ctime: i64, cpid: i32, lpid: i32, nattch: u64 },
    Sem { perm: IpcPerm, otime: i64, ctime: i64, nsems: u64 },
    Msg { perm: IpcPerm, stime: i64, rtime: i64, ctime: i64, cbytes: u64, qnum: u64, qbytes: u64, lspid: i32, lrpid: i32 },
}

/// An answer to an [`IpcOp`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IpcReply {
    /// The call's return value (an id, a semaphore value, 0 ...).
    Value(i64),
    /// A counted attach: the file backing the segment, its size and key.
    Attached { path: String, size: u64, key: i32 },
    /// The return value (an id for the *_STAT commands) and the status.
    Stat { ret: i64, stat: IpcStat },
    /// IPC_INFO and *_INFO: the return value and the fields of `struct
    /// shminfo64`, `shm_info`, `seminfo` or `msginfo`, in their order.
    Info { ret: i64, fields: Vec<u64> },
    /// GETALL.
    Values(Vec<u16>),
    /// A received message.
    Message { mtype: i64, text: Vec<u8> },
    /// The call waits; collect its answer with `IpcSleep`.
    Pending(u64),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Response {
    Welcome { version: u32, daemon_pid: i32 },
    VersionMismatch { daemon_version: u32 },
    Ok,
    Pid(Vpid),
    /// A new top-level task's pid, and the group and session it joined.
    Spawned { pid: Vpid, pgid: Vpid, sid: Vpid },
    HostPid(i32),
    Task(Option<TaskEntry>),
    Tasks(Vec<TaskEntry>),
    /// (pid, host pid) pairs (answers `Children` and `Resolve`).
    Children(Vec<(Vpid, i32)>),
    Ino(u64),
    /// A futex queue token.
    Token(u64),
    /// How many waiters a futex wake woke.
    Woken(u32),
    Status { daemon_pid: i32, uptime_secs: f64, socket: String, tasks: u32, version: u32 },
    /// A Linux errno value with a message.
    Error { errno: i32, msg: String },
    /// The task a tid belongs to (answers `OwnerOf`): its pid (the thread
    /// group id) and host pid (0 for a zombie: a valid target nothing is
    /// sent to).
    Owner { pid: Vpid, host_pid: i32 },
    /// Answers `Ipc`, `IpcSleep` and `IpcCancel`.
    Ipc(IpcReply),
    /// Answers `GetUtsName`: the host and domain names set in the
    /// namespace, if any.
    UtsName { nodename: Option<Vec<u8>>, domainname: Option<Vec<u8>> },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uts_words_round_trip() {
        assert_eq!(names_of_uts_words(&uts_words(None, None)), (None, None));
        let long = vec![b'x'; UTS_NAME_MAX];
        let got = names_of_uts_words(&uts_words(Some(&long), Some(b"")));
        assert_eq!(got, (Some(long.clone()), Some(Vec::new())));
        let got = names_of_uts_words(&uts_words(None, Some(b"dom.example")));
        assert_eq!(got, (None, Some(b"dom.example".to_vec())));
        // Cut at UTS_NAME_MAX, never beyond the words.
        let too_long = vec![b'y'; UTS_NAME_MAX + 5];
        assert_eq!(names_of_uts_words(&uts_words(Some(&too_long), None)).0.map(|n| n.len()), Some(UTS_NAME_MAX));
    }
}
