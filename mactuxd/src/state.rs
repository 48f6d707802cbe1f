//! The virtual PID namespace: every task of the user, its place in the
//! parent/child tree, process groups, sessions and exit status.
//!
//! One [`State`] behind one mutex (see lib.rs for why). Everything here is
//! synchronous and bounded; nothing may panic on client input. A request is
//! answered by [`State::handle`], which may ask the caller to wait for a
//! reserved child to attach ([`Reply::WaitAttach`]) and call again.

use crate::linux::*;
use mactux_proto::{KillTarget, Request, Response, TaskEntry, TaskInfo, TaskState, Vpid, WaitTarget, PROTOCOL_VERSION};
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The daemon's own subreaper entry.
pub const INIT_PID: Vpid = 1;
/// The first pid handed to a real task.
pub const FIRST_PID: Vpid = 2;
/// More live entries than this is a runaway client: EAGAIN, as fork(2) says.
pub const MAX_TASKS: usize = 65_536;
/// A reservation nobody attached to within this time is dropped (its fork failed
/// and the parent did not say so).
pub const RESERVATION_TTL: Duration = Duration::from_secs(60);
/// A task whose parent never (re)appeared after a daemon restart is adopted
/// by pid 1 after this time.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(10);
/// The first pipe inode number handed out (any stable increasing sequence will do).
pub const FIRST_PIPE_INO: u64 = 100_000;

pub type ConnId = u64;

struct Task {
    entry: TaskEntry,
    /// The connection the task speaks through, if one is bound to it.
    conn: Option<ConnId>,
    /// Reserved by ReserveChild and not yet attached (host_pid is 0).
    is_reserved: bool,
    /// The task re-executed itself (a Reattach with the same host pid):
    /// its parent may no longer change its process group (setpgid EACCES).
    did_exec: bool,
    /// When the entry was created or last reattached.
    since: Instant,
}

/// What to do with a request's answer.
#[derive(Debug, PartialEq)]
pub enum Reply {
    Send(Response),
    /// Send, then close the connection (Exit, a failed handshake).
    SendAndClose(Response),
    /// The answer needs the host pid of a reserved child that has not attached
    /// yet: wait for an attach (or the deadline) and ask again.
    WaitAttach,
}

/// The per-connection view the state needs.
#[derive(Debug, Default)]
pub struct Conn {
    pub id: ConnId,
    /// The task this connection is bound to.
    pub bound: Option<Vpid>,
}

pub struct State {
    tasks: BTreeMap<Vpid, Task>,
    next_pid: Vpid,
    next_pipe_ino: u64,
    /// The ids standing for host sessions and groups outside the namespace:
    /// (host session or group id, the session a group belongs to, 0 for a
    /// session) → the Linux id (see `outer_id`).
    outer_ids: std::collections::HashMap<(i32, Vpid), Vpid>,
    /// Whether a host pid still runs (replaced in tests).
    host_alive: fn(i32) -> bool,
    pub daemon_pid: i32,
    pub socket: String,
    started: Instant,
}

/// The pid after `pid`, wrapping at PID_MAX_LIMIT.
fn pid_after(pid: Vpid) -> Vpid {
    if pid + 1 >= PID_MAX_LIMIT { FIRST_PID } else { pid + 1 }
}

/// A task without its heavy per-task details.
fn summary(e: &TaskEntry) -> TaskEntry {
    let i = &e.info;
    TaskEntry {
        info: TaskInfo {
            comm: i.comm.clone(),
            argv: i.argv.clone(),
            exe: i.exe.clone(),
            cwd: i.cwd.clone(),
            uid: i.uid,
            gid: i.gid,
            tty: i.tty,
            environ: Vec::new(),
            fds: Vec::new(),
            maps: Vec::new(),
            reaps_children: i.reaps_children,
        },
        ..*e
    }
}

fn err(errno: i32, msg: impl Into<String>) -> Reply {
    Reply::Send(Response::Error { errno, msg: msg.into() })
}

fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl State {
    /// `uid`/`gid`: the daemon's, shown for pid 1.
    pub fn new(daemon_pid: i32, uid: u32, gid: u32, socket: String, host_alive: fn(i32) -> bool) -> State {
        let init = TaskEntry {
            pid: INIT_PID,
            ppid: 0,
            pgid: INIT_PID,
            sid: INIT_PID,
            // The subreaper has no host process of its own: nothing may signal it.
            host_pid: 0,
            state: TaskState::Running,
            start_time: now_secs(),
            info: TaskInfo { comm: "mactux-init".into(), argv: vec![b"mactux-init".to_vec()], uid, gid, ..TaskInfo::default() },
        };
        let mut tasks = BTreeMap::new();
        tasks.insert(INIT_PID, Task { entry: init, conn: None, is_reserved: false, did_exec: false, since: Instant::now() });
        State {
            tasks,
            next_pid: FIRST_PID,
            next_pipe_ino: FIRST_PIPE_INO,
            outer_ids: std::collections::HashMap::new(),
            host_alive,
            daemon_pid,
            socket,
            started: Instant::now(),
        }
    }

    /// Real tasks (pid 1 excluded).
    pub fn task_count(&self) -> usize {
        self.tasks.len() - 1
    }

    /// The caller's task, if the connection is bound to a live entry.
    fn caller(&self, conn: &Conn) -> Option<Vpid> {
        let pid = conn.bound?;
        (self.tasks.get(&pid)?.conn == Some(conn.id)).then_some(pid)
    }

    /// The Linux id standing for a host session or process group outside
    /// the namespace (`host_id` <= 0: a session whose leader the host does
    /// not show, as in a pid namespace). Tasks from the same host session
    /// or group share it for as long as one of them uses it; a group is
    /// only reused within `session`. 0 when no id is free.
    fn outer_id(&mut self, host_id: i32, session: Option<Vpid>) -> Option<Vpid> {
        // Whether a task is in session `id`, or in group `id` of `session`.
        let member = |e: &TaskEntry, id: Vpid| match session {
            None => e.sid == id,
            Some(s) => e.pgid == id && e.sid == s,
        };
        // Led by a task (`mactux run a | mactux run b` from a shell with job
        // control: a leads the group): that task's own id.
        let led = self.tasks.values().find(|t| {
            host_id > 0 && t.entry.host_pid == host_id && t.entry.state == TaskState::Running && member(&t.entry, t.entry.pid)
        });
        if let Some(t) = led {
            return Some(t.entry.pid);
        }
        let key = (host_id.max(0), session.unwrap_or(0));
        if let Some(&id) = self.outer_ids.get(&key) {
            // Never a task's own pid: that number was freed and reused.
            if !self.tasks.contains_key(&id) && self.tasks.values().any(|t| member(&t.entry, id)) {
                return Some(id);
            }
        }
        let id = self.alloc_pid()?;
        self.outer_ids.insert(key, id);
        Some(id)
    }

    /// A fresh pid: never one in the table or used as a process group or
    /// session id (Linux does not reuse those either), wrapping at PID_MAX_LIMIT.
    fn alloc_pid(&mut self) -> Option<Vpid> {
        if self.tasks.len() >= MAX_TASKS {
            return None;
        }
        for _ in FIRST_PID..PID_MAX_LIMIT {
            let pid = self.next_pid;
            self.next_pid = pid_after(pid);
            if !self.tasks.contains_key(&pid) && !self.tasks.values().any(|t| t.entry.pgid == pid || t.entry.sid == pid) {
                return Some(pid);
            }
        }
        None
    }

    fn insert(&mut self, entry: TaskEntry, conn: Option<ConnId>, is_reserved: bool) {
        let task = Task { entry, conn, is_reserved, did_exec: false, since: Instant::now() };
        self.tasks.insert(task.entry.pid, task);
    }

    /// Whether a zombie with this parent is reaped at once: the subreaper
    /// (pid 1) reaps immediately, a parent that ignores SIGCHLD leaves no
    /// zombies, and a parent we do not know cannot wait for it.
    fn parent_reaps_at_once(&self, ppid: Vpid) -> bool {
        ppid == INIT_PID || self.tasks.get(&ppid).is_none_or(|p| p.entry.info.reaps_children)
    }

    /// The task exited (or its host process vanished) with this Linux wait status.
    fn make_zombie(&mut self, pid: Vpid, status: i32) {
        let Some(t) = self.tasks.get_mut(&pid) else { return };
        t.entry.state = TaskState::Zombie(status);
        t.conn = None;
        t.is_reserved = false;
        let ppid = t.entry.ppid;
        self.reparent_children(pid);
        if self.parent_reaps_at_once(ppid) {
            self.tasks.remove(&pid);
        }
    }

    /// Removes an entry and hands its children to pid 1.
    fn remove(&mut self, pid: Vpid) {
        if pid != INIT_PID && self.tasks.remove(&pid).is_some() {
            self.reparent_children(pid);
        }
    }

    /// Orphans go to pid 1, which reaps its zombies at once.
    fn reparent_children(&mut self, pid: Vpid) {
        let kids: Vec<Vpid> = self.tasks.values().filter(|t| t.entry.ppid == pid && t.entry.pid != pid).map(|t| t.entry.pid).collect();
        for kid in kids {
            self.adopt(kid);
        }
    }

    /// pid 1 becomes the task's parent; as the subreaper it reaps a zombie at once.
    fn adopt(&mut self, pid: Vpid) {
        if let Some(t) = self.tasks.get_mut(&pid) {
            t.entry.ppid = INIT_PID;
            if matches!(t.entry.state, TaskState::Zombie(_)) {
                self.tasks.remove(&pid);
            }
        }
    }

    /// Cleans up entries whose host process is gone (marked killed by
    /// SIGKILL), reservations nobody attached to, and orphans whose parent
    /// never came back. `only` limits the host-liveness check to those pids.
    pub fn sweep(&mut self, only: Option<&[Vpid]>) {
        let alive = self.host_alive;
        let mut dead = Vec::new();
        let mut stale = Vec::new();
        let mut orphans = Vec::new();
        for t in self.tasks.values() {
            let pid = t.entry.pid;
            if pid == INIT_PID {
                continue;
            }
            if t.is_reserved {
                if t.since.elapsed() > RESERVATION_TTL {
                    stale.push(pid);
                }
                continue;
            }
            let checked = !matches!(only, Some(o) if !o.contains(&pid));
            // A bound task has a live connection: its process holds it open.
            if checked && t.conn.is_none() && t.entry.state == TaskState::Running && !alive(t.entry.host_pid) {
                dead.push(pid);
            }
            if t.entry.ppid != INIT_PID && !self.tasks.contains_key(&t.entry.ppid) && t.since.elapsed() > ORPHAN_GRACE {
                orphans.push(pid);
            }
        }
        for pid in stale {
            tracing::info!(pid, "dropping a reservation nobody attached to");
            self.remove(pid);
        }
        for pid in dead {
            tracing::info!(pid, "host process gone: marking the task killed by SIGKILL");
            self.make_zombie(pid, STATUS_KILLED_BY_SIGKILL);
        }
        for pid in orphans {
            self.adopt(pid);
        }
    }

    /// The connection closed.
    pub fn disconnect(&mut self, conn: &Conn) {
        let Some(pid) = self.caller(conn) else { return };
        let Some(t) = self.tasks.get_mut(&pid) else { return };
        t.conn = None;
        if t.entry.state == TaskState::Running && !(self.host_alive)(t.entry.host_pid) {
            tracing::info!(pid, "connection closed and host process gone: task killed by SIGKILL");
            self.make_zombie(pid, STATUS_KILLED_BY_SIGKILL);
        }
    }

    /// Answers one request (after the handshake). `may_wait`: the caller can
    /// still wait for reserved children to attach.
    pub fn handle(&mut self, conn: &mut Conn, req: &Request, may_wait: bool) -> Reply {
        let caller = self.caller(conn);
        match *req {
            Request::Hello { .. } => err(EPROTO, "hello sent twice on one connection"),
            Request::Spawn { host_pid, host_pgid, host_sid, ref info } => {
                if caller.is_some() {
                    return err(EBUSY, "this connection is already bound to a task");
                }
                if host_pid <= 0 {
                    return err(EINVAL, "spawn needs the task's host pid");
                }
                let Some(pid) = self.alloc_pid() else { return err(EAGAIN, "no free pid in the namespace") };
                // The session first: a group belongs to one session.
                let Some(sid) = (if host_sid == host_pid { Some(pid) } else { self.outer_id(host_sid, None) }) else {
                    return err(EAGAIN, "no free pid in the namespace");
                };
                let Some(pgid) = (if host_pgid == host_pid { Some(pid) } else { self.outer_id(host_pgid, Some(sid)) }) else {
                    return err(EAGAIN, "no free pid in the namespace");
                };
                let entry = TaskEntry {
                    pid,
                    ppid: INIT_PID,
                    pgid,
                    sid,
                    host_pid,
                    state: TaskState::Running,
                    start_time: now_secs(),
                    info: info.clone(),
                };
                self.insert(entry, Some(conn.id), false);
                conn.bound = Some(pid);
                Reply::Send(Response::Spawned { pid, pgid, sid })
            }
            Request::ReserveChild => {
                let Some(parent) = caller.and_then(|p| self.tasks.get(&p)) else { return err(ESRCH, "reserve needs a bound task") };
                let template = parent.entry.clone();
                let Some(pid) = self.alloc_pid() else { return err(EAGAIN, "no free pid in the namespace") };
                let entry = TaskEntry {
                    pid,
                    ppid: template.pid,
                    pgid: template.pgid,
                    sid: template.sid,
                    host_pid: 0,
                    state: TaskState::Running,
                    start_time: now_secs(),
                    info: template.info,
                };
                self.insert(entry, None, true);
                Reply::Send(Response::Pid(pid))
            }
            Request::AttachChild { pid, host_pid } => {
                if caller.is_some() {
                    return err(EBUSY, "this connection is already bound to a task");
                }
                if host_pid <= 0 {
                    return err(EINVAL, "attach needs the child's host pid");
                }
                let Some(t) = self.tasks.get_mut(&pid) else { return err(ESRCH, format!("pid {pid} was not reserved")) };
                if !t.is_reserved {
                    return err(EBUSY, format!("pid {pid} is not an unattached reservation"));
                }
                t.is_reserved = false;
                t.entry.host_pid = host_pid;
                t.conn = Some(conn.id);
                t.since = Instant::now();
                conn.bound = Some(pid);
                Reply::Send(Response::Ok)
            }
            Request::Reattach { pid, host_pid, ppid, pgid, sid, ref info } => {
                if pid <= INIT_PID || pid >= PID_MAX_LIMIT || host_pid <= 0 || ppid < 0 || pgid <= 0 || sid <= 0 {
                    return err(EINVAL, "reattach needs a pid of 2 or more, a host pid and positive group and session ids");
                }
                if let Some(old) = caller.filter(|&p| p != pid) {
                    return err(EBUSY, format!("this connection is already bound to pid {old}"));
                }
                let ppid = if ppid == 0 { INIT_PID } else { ppid };
                match self.tasks.get_mut(&pid) {
                    Some(t) => {
                        t.did_exec |= t.entry.host_pid == host_pid;
                        t.entry.host_pid = host_pid;
                        t.entry.ppid = ppid;
                        t.entry.pgid = pgid;
                        t.entry.sid = sid;
                        t.entry.info = info.clone();
                        t.entry.state = TaskState::Running;
                        t.is_reserved = false;
                        t.conn = Some(conn.id);
                        t.since = Instant::now();
                    }
                    None => {
                        if self.tasks.len() >= MAX_TASKS {
                            return err(EAGAIN, "too many tasks");
                        }
                        let entry =
                            TaskEntry { pid, ppid, pgid, sid, host_pid, state: TaskState::Running, start_time: now_secs(), info: info.clone() };
                        self.insert(entry, Some(conn.id), false);
                    }
                }
                if pid >= self.next_pid {
                    self.next_pid = pid_after(pid);
                }
                conn.bound = Some(pid);
                Reply::Send(Response::Ok)
            }
            Request::Update { ref info } => match caller.and_then(|p| self.tasks.get_mut(&p)) {
                Some(t) => {
                    t.entry.info = info.clone();
                    Reply::Send(Response::Ok)
                }
                None => err(ESRCH, "update needs a bound task"),
            },
            Request::Exit { status } => {
                let Some(pid) = caller else { return err(ESRCH, "exit needs a bound task") };
                self.make_zombie(pid, status);
                conn.bound = None;
                Reply::SendAndClose(Response::Ok)
            }
            Request::Reaped { pid } => self.reaped(caller, pid),
            Request::GetPpid => match caller.and_then(|p| self.tasks.get(&p)) {
                Some(t) => Reply::Send(Response::Pid(t.entry.ppid)),
                None => err(ESRCH, "getppid needs a bound task"),
            },
            Request::GetPgid { pid } => self.lookup(caller, pid, |e| e.pgid),
            Request::GetSid { pid } => self.lookup(caller, pid, |e| e.sid),
            Request::SetPgid { pid, pgid } => self.setpgid(caller, pid, pgid),
            Request::SetSid => {
                let Some(pid) = caller else { return err(ESRCH, "setsid needs a bound task") };
                // setsid(2): EPERM when any process's group id equals the caller's pid.
                if self.tasks.values().any(|t| t.entry.pgid == pid) {
                    return err(EPERM, "the caller is already a process group leader");
                }
                if let Some(t) = self.tasks.get_mut(&pid) {
                    t.entry.sid = pid;
                    t.entry.pgid = pid;
                    // A new session has no controlling terminal.
                    t.entry.info.tty = 0;
                }
                Reply::Send(Response::Pid(pid))
            }
            Request::HostPid { pid } => match self.tasks.get(&pid) {
                Some(t) if t.entry.pid == INIT_PID => err(ESRCH, "pid 1 is the daemon's subreaper and has no host process"),
                Some(t) if t.is_reserved && may_wait => Reply::WaitAttach,
                Some(t) if t.is_reserved => err(EAGAIN, format!("pid {pid} is reserved and not yet attached")),
                Some(t) => Reply::Send(Response::HostPid(t.entry.host_pid)),
                None => err(ESRCH, format!("no task with pid {pid}")),
            },
            Request::PidOfHost { host_pid } => {
                let mut found = self.tasks.values().filter(|t| host_pid > 0 && t.entry.host_pid == host_pid);
                let best = found.clone().find(|t| t.entry.state == TaskState::Running).or_else(|| found.next());
                match best {
                    Some(t) => Reply::Send(Response::Pid(t.entry.pid)),
                    None => err(ESRCH, format!("no task with host pid {host_pid}")),
                }
            }
            Request::Children { target } => self.children(caller, target, may_wait),
            Request::Resolve { target } => self.resolve(caller, target, may_wait),
            Request::List => {
                self.sweep(None);
                // A listing leaves out what only /proc/PID of one task shows
                // (fds, memory map, environment), so that it stays small
                // with many tasks; `Get` returns a task whole.
                Reply::Send(Response::Tasks(self.tasks.values().map(|t| summary(&t.entry)).collect()))
            }
            Request::Get { pid } => Reply::Send(Response::Task(self.tasks.get(&pid).map(|t| t.entry.clone()))),
            // Answered by the futex queues before the task table is locked.
            Request::FutexQueue { .. } | Request::FutexSleep { .. } | Request::FutexCancel { .. } | Request::FutexWake { .. } => {
                err(EPROTO, "futex requests are not task-table requests")
            }
            Request::NewPipeIno => {
                let ino = self.next_pipe_ino;
                self.next_pipe_ino = self.next_pipe_ino.wrapping_add(1).max(FIRST_PIPE_INO);
                Reply::Send(Response::Ino(ino))
            }
            Request::Status => {
                self.sweep(None);
                Reply::Send(Response::Status {
                    daemon_pid: self.daemon_pid,
                    uptime_secs: self.started.elapsed().as_secs_f64(),
                    socket: self.socket.clone(),
                    tasks: u32::try_from(self.task_count()).unwrap_or(u32::MAX),
                    version: PROTOCOL_VERSION,
                })
            }
            // The connection loop sees Shutdown and stops the daemon after replying.
            Request::Shutdown => Reply::Send(Response::Ok),
        }
    }

    fn lookup(&self, caller: Option<Vpid>, pid: Vpid, field: fn(&TaskEntry) -> Vpid) -> Reply {
        let pid = if pid == 0 {
            match caller {
                Some(p) => p,
                None => return err(ESRCH, "pid 0 means the caller, and this connection is not bound to a task"),
            }
        } else {
            pid
        };
        match self.tasks.get(&pid) {
            Some(t) => Reply::Send(Response::Pid(field(&t.entry))),
            None => err(ESRCH, format!("no task with pid {pid}")),
        }
    }

    fn reaped(&mut self, caller: Option<Vpid>, pid: Vpid) -> Reply {
        let Some(me) = caller else { return err(ESRCH, "reaped needs a bound task") };
        let Some(t) = self.tasks.get(&pid) else { return err(ECHILD, format!("pid {pid} is not a task")) };
        if t.entry.ppid != me || pid == me {
            return err(ECHILD, format!("pid {pid} is not a child of pid {me}"));
        }
        // A Running child may be reaped when its host process is gone (the
        // caller consumed its host exit status) or it never attached (fork failed).
        let is_gone = match t.entry.state {
            TaskState::Zombie(_) => true,
            TaskState::Running => t.is_reserved || !(self.host_alive)(t.entry.host_pid),
        };
        if !is_gone {
            return err(EBUSY, format!("pid {pid} is still running"));
        }
        self.remove(pid);
        Reply::Send(Response::Ok)
    }

    fn setpgid(&mut self, caller: Option<Vpid>, pid: Vpid, pgid: Vpid) -> Reply {
        // setpgid(2), in the order Linux checks (kernel/sys.c).
        let Some(me) = caller else { return err(ESRCH, "setpgid needs a bound task") };
        if pgid < 0 {
            return err(EINVAL, "pgid must not be negative");
        }
        let pid = if pid == 0 { me } else { pid };
        let pgid = if pgid == 0 { pid } else { pgid };
        let (Some(target), Some(mine)) = (self.tasks.get(&pid), self.tasks.get(&me)) else {
            return err(ESRCH, format!("no task with pid {pid}"));
        };
        let my_sid = mine.entry.sid;
        if pid != me {
            if target.entry.ppid != me {
                return err(ESRCH, format!("pid {pid} is neither the caller nor its child"));
            }
            if target.entry.sid != my_sid {
                return err(EPERM, format!("pid {pid} is in another session"));
            }
            if target.did_exec {
                return err(EACCES, format!("pid {pid} has already executed a new program"));
            }
        }
        if target.entry.sid == pid {
            return err(EPERM, format!("pid {pid} is a session leader"));
        }
        if pgid != pid && !self.tasks.values().any(|t| t.entry.pgid == pgid && t.entry.sid == my_sid) {
            return err(EPERM, format!("process group {pgid} does not exist in the caller's session"));
        }
        if let Some(t) = self.tasks.get_mut(&pid) {
            t.entry.pgid = pgid;
        }
        Reply::Send(Response::Ok)
    }

    fn children(&mut self, caller: Option<Vpid>, target: WaitTarget, may_wait: bool) -> Reply {
        let Some(me) = caller else { return err(ESRCH, "children needs a bound task") };
        let my_pgid = self.tasks.get(&me).map_or(0, |t| t.entry.pgid);
        let matches = |t: &Task| match target {
            WaitTarget::Any => true,
            WaitTarget::Pid(p) => t.entry.pid == p,
            // waitpid(0, ...) and waitid(P_PGID, 0): the caller's own group.
            WaitTarget::Pgid(0) => t.entry.pgid == my_pgid,
            WaitTarget::Pgid(g) => t.entry.pgid == g,
        };
        let kids: Vec<&Task> = self.tasks.values().filter(|t| t.entry.ppid == me && t.entry.pid != me && matches(t)).collect();
        if may_wait && kids.iter().any(|t| t.is_reserved) {
            return Reply::WaitAttach;
        }
        Reply::Send(Response::Children(kids.iter().map(|t| (t.entry.pid, t.entry.host_pid)).collect()))
    }

    fn resolve(&mut self, caller: Option<Vpid>, target: KillTarget, may_wait: bool) -> Reply {
        let target = match target {
            KillTarget::Pgid(0) => match caller.and_then(|p| self.tasks.get(&p)) {
                Some(t) => KillTarget::Pgid(t.entry.pgid),
                None => return err(ESRCH, "process group 0 means the caller's, and this connection is not bound to a task"),
            },
            KillTarget::Pid(p) if p <= 0 => return err(EINVAL, format!("pid {p} is not a single process")),
            KillTarget::Pgid(g) if g < 0 => return err(EINVAL, format!("process group {g} is negative")),
            t => t,
        };
        let selects = |t: &Task| match target {
            KillTarget::Pid(p) => t.entry.pid == p,
            KillTarget::Pgid(g) => t.entry.pgid == g,
            KillTarget::All => t.entry.pid != INIT_PID && Some(t.entry.pid) != caller,
        };
        let picked: Vec<Vpid> = self.tasks.values().filter(|t| selects(t)).map(|t| t.entry.pid).collect();
        self.sweep(Some(&picked));
        let picked: Vec<&Task> = self.tasks.values().filter(|t| selects(t)).collect();
        if picked.is_empty() {
            return err(ESRCH, "no such process");
        }
        if may_wait && picked.iter().any(|t| t.is_reserved) {
            return Reply::WaitAttach;
        }
        // Zombies, pid 1 and reservations that never attached are valid
        // targets that nothing is sent to (an empty list is success).
        let live = picked
            .iter()
            .filter(|t| t.entry.pid != INIT_PID && !t.is_reserved && t.entry.state == TaskState::Running && t.entry.host_pid > 0)
            .map(|t| (t.entry.pid, t.entry.host_pid))
            .collect();
        Reply::Send(Response::Children(live))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    thread_local! {
        static DEAD: RefCell<Vec<i32>> = const { RefCell::new(Vec::new()) };
    }
    fn fake_alive(host_pid: i32) -> bool {
        host_pid > 0 && !DEAD.with(|d| d.borrow().contains(&host_pid))
    }
    fn kill_host(host_pid: i32) {
        DEAD.with(|d| d.borrow_mut().push(host_pid));
    }

    fn state() -> State {
        State::new(100, 0, 0, "/tmp/sock".into(), fake_alive)
    }
    fn conn(id: ConnId) -> Conn {
        Conn { id, bound: None }
    }
    fn send(s: &mut State, c: &mut Conn, req: Request) -> Response {
        match s.handle(c, &req, false) {
            Reply::Send(r) | Reply::SendAndClose(r) => r,
            Reply::WaitAttach => panic!("unexpected wait"),
        }
    }
    fn pid(r: Response) -> Vpid {
        match r {
            Response::Pid(p) => p,
            other => panic!("expected a pid, got {other:?}"),
        }
    }
    fn errno(r: Response) -> i32 {
        match r {
            Response::Error { errno, .. } => errno,
            other => panic!("expected an error, got {other:?}"),
        }
    }
    fn spawned(r: Response) -> Vpid {
        match r {
            Response::Spawned { pid, .. } => pid,
            other => panic!("expected Spawned, got {other:?}"),
        }
    }
    fn spawn(s: &mut State, c: &mut Conn, host: i32) -> Vpid {
        spawned(send(s, c, Request::Spawn { host_pid: host, host_pgid: host, host_sid: host, info: TaskInfo::default() }))
    }
    fn fork(s: &mut State, parent: &mut Conn, child: &mut Conn, host: i32) -> Vpid {
        let p = pid(send(s, parent, Request::ReserveChild));
        assert_eq!(send(s, child, Request::AttachChild { pid: p, host_pid: host }), Response::Ok);
        p
    }

    #[test]
    fn spawn_gets_own_session_under_init() {
        let mut s = state();
        let mut a = conn(1);
        let p = spawn(&mut s, &mut a, 1000);
        assert_eq!(p, FIRST_PID);
        assert_eq!(pid(send(&mut s, &mut a, Request::GetPpid)), INIT_PID);
        assert_eq!(pid(send(&mut s, &mut a, Request::GetPgid { pid: 0 })), p);
        assert_eq!(pid(send(&mut s, &mut a, Request::GetSid { pid: p })), p);
        assert_eq!(errno(send(&mut s, &mut a, Request::GetSid { pid: 77 })), ESRCH);
        assert_eq!(errno(send(&mut s, &mut a, Request::Spawn { host_pid: 1, host_pgid: 1, host_sid: 1, info: TaskInfo::default() })), EBUSY);
    }

    #[test]
    fn spawn_joins_the_host_session_and_group() {
        let mut s = state();
        let (mut a, mut b, mut c) = (conn(1), conn(2), conn(3));
        let spawn_in = |s: &mut State, k: &mut Conn, host: i32, host_pgid: i32, host_sid: i32| {
            send(s, k, Request::Spawn { host_pid: host, host_pgid, host_sid, info: TaskInfo::default() })
        };
        // Two programs of one pipeline, started by a shell (host session 500, group 600).
        let Response::Spawned { pid: pa, pgid: ga, sid: sa } = spawn_in(&mut s, &mut a, 601, 600, 500) else { panic!("spawn failed") };
        let pb = spawned(spawn_in(&mut s, &mut b, 602, 600, 500));
        assert_eq!(pid(send(&mut s, &mut a, Request::GetPgid { pid: 0 })), ga, "Spawned tells the group");
        assert_eq!(pid(send(&mut s, &mut a, Request::GetSid { pid: 0 })), sa, "and the session");
        assert!(ga != pa && sa != pa && ga != sa, "neither leader: group {ga}, session {sa}");
        assert_eq!(pid(send(&mut s, &mut b, Request::GetPgid { pid: 0 })), ga, "one host group, one Linux group");
        assert_eq!(pid(send(&mut s, &mut b, Request::GetSid { pid: 0 })), sa);
        // Not a group leader: setpgid(0, 0) and setsid are allowed.
        assert_eq!(send(&mut s, &mut a, Request::SetPgid { pid: 0, pgid: 0 }), Response::Ok);
        assert_eq!(pid(send(&mut s, &mut b, Request::SetSid)), pb);
        // A program that leads its host session leads its own.
        let pc = spawned(spawn_in(&mut s, &mut c, 700, 700, 700));
        assert_eq!(pid(send(&mut s, &mut c, Request::GetSid { pid: 0 })), pc);
        assert_eq!(errno(send(&mut s, &mut c, Request::SetSid)), EPERM);
    }

    #[test]
    fn fork_exit_reap() {
        let mut s = state();
        let (mut a, mut b) = (conn(1), conn(2));
        let parent = spawn(&mut s, &mut a, 1000);
        let child = fork(&mut s, &mut a, &mut b, 1001);
        assert_eq!(pid(send(&mut s, &mut b, Request::GetPpid)), parent);
        assert_eq!(pid(send(&mut s, &mut b, Request::GetPgid { pid: 0 })), parent);
        assert_eq!(send(&mut s, &mut a, Request::Children { target: WaitTarget::Any }), Response::Children(vec![(child, 1001)]));
        assert_eq!(send(&mut s, &mut b, Request::Exit { status: 3 << 8 }), Response::Ok);
        let t = match send(&mut s, &mut a, Request::Get { pid: child }) {
            Response::Task(Some(t)) => t,
            other => panic!("{other:?}"),
        };
        assert_eq!(t.state, TaskState::Zombie(3 << 8));
        assert_eq!(errno(send(&mut s, &mut b, Request::Reaped { pid: child })), ESRCH);
        assert_eq!(send(&mut s, &mut a, Request::Reaped { pid: child }), Response::Ok);
        assert_eq!(send(&mut s, &mut a, Request::Get { pid: child }), Response::Task(None));
        // Attaching twice or to an unknown pid fails.
        let mut c = conn(3);
        assert_eq!(errno(send(&mut s, &mut c, Request::AttachChild { pid: parent, host_pid: 5 })), EBUSY);
        assert_eq!(errno(send(&mut s, &mut c, Request::AttachChild { pid: 999, host_pid: 5 })), ESRCH);
    }

    #[test]
    fn orphans_go_to_init_and_zombies_of_init_vanish() {
        let mut s = state();
        let (mut a, mut b, mut c) = (conn(1), conn(2), conn(3));
        let _parent = spawn(&mut s, &mut a, 1000);
        let child = fork(&mut s, &mut a, &mut b, 1001);
        let grandchild = fork(&mut s, &mut b, &mut c, 1002);
        send(&mut s, &mut c, Request::Exit { status: 0 });
        // The zombie grandchild waits for its parent...
        assert!(matches!(send(&mut s, &mut a, Request::Get { pid: grandchild }), Response::Task(Some(_))));
        // ...until the parent exits: then pid 1 reaps it at once.
        send(&mut s, &mut b, Request::Exit { status: 0 });
        assert_eq!(send(&mut s, &mut a, Request::Get { pid: grandchild }), Response::Task(None));
        assert!(matches!(send(&mut s, &mut a, Request::Get { pid: child }), Response::Task(Some(_))));
        // The top-level task's own zombie is reaped by pid 1.
        send(&mut s, &mut a, Request::Exit { status: 0 });
        assert_eq!(s.task_count(), 0);
    }

    #[test]
    fn crashed_client_becomes_sigkill_zombie() {
        let mut s = state();
        let (mut a, mut b) = (conn(1), conn(2));
        spawn(&mut s, &mut a, 2000);
        let child = fork(&mut s, &mut a, &mut b, 2001);
        kill_host(2001);
        s.disconnect(&b);
        assert!(matches!(send(&mut s, &mut a, Request::Get { pid: child }), Response::Task(Some(TaskEntry { state: TaskState::Zombie(9), .. }))));
        // A connection closing while the host process lives (execve) keeps it running.
        let mut c = conn(3);
        let other = fork(&mut s, &mut a, &mut c, 2002);
        s.disconnect(&c);
        assert!(matches!(send(&mut s, &mut a, Request::Get { pid: other }), Response::Task(Some(TaskEntry { state: TaskState::Running, .. }))));
        let mut d = conn(4);
        let info = TaskInfo { comm: "new".into(), ..TaskInfo::default() };
        let parent = pid(send(&mut s, &mut a, Request::GetPgid { pid: 0 }));
        assert_eq!(send(&mut s, &mut d, Request::Reattach { pid: other, host_pid: 2002, ppid: parent, pgid: parent, sid: parent, info }), Response::Ok);
        assert_eq!(pid(send(&mut s, &mut d, Request::GetPpid)), parent);
        // After execve the parent may not move it (EACCES).
        assert_eq!(errno(send(&mut s, &mut a, Request::SetPgid { pid: other, pgid: 0 })), EACCES);
        // Resolve cleans up a task whose host process is gone without a word.
        s.disconnect(&d);
        kill_host(2002);
        assert_eq!(send(&mut s, &mut a, Request::Resolve { target: KillTarget::Pid(other) }), Response::Children(vec![]));
        assert!(matches!(send(&mut s, &mut a, Request::Get { pid: other }), Response::Task(Some(TaskEntry { state: TaskState::Zombie(9), .. }))));
    }

    #[test]
    fn setpgid_and_setsid_rules() {
        let mut s = state();
        let (mut a, mut b) = (conn(1), conn(2));
        let leader = spawn(&mut s, &mut a, 3000);
        let child = fork(&mut s, &mut a, &mut b, 3001);
        assert_eq!(errno(send(&mut s, &mut a, Request::SetPgid { pid: 0, pgid: -1 })), EINVAL);
        assert_eq!(errno(send(&mut s, &mut a, Request::SetPgid { pid: 0, pgid: 0 })), EPERM, "session leader");
        assert_eq!(errno(send(&mut s, &mut b, Request::SetPgid { pid: leader, pgid: 0 })), ESRCH, "not a child");
        assert_eq!(errno(send(&mut s, &mut a, Request::SetPgid { pid: child, pgid: 4242 })), EPERM, "no such group");
        assert_eq!(send(&mut s, &mut a, Request::SetPgid { pid: child, pgid: 0 }), Response::Ok);
        assert_eq!(pid(send(&mut s, &mut a, Request::GetPgid { pid: child })), child);
        assert_eq!(errno(send(&mut s, &mut b, Request::SetSid)), EPERM, "group leader");
        assert_eq!(send(&mut s, &mut a, Request::SetPgid { pid: child, pgid: leader }), Response::Ok);
        assert_eq!(pid(send(&mut s, &mut b, Request::SetSid)), child);
        assert_eq!(pid(send(&mut s, &mut b, Request::GetSid { pid: 0 })), child);
        assert_eq!(errno(send(&mut s, &mut a, Request::SetPgid { pid: child, pgid: 0 })), EPERM, "other session");
    }

    #[test]
    fn resolve_targets() {
        let mut s = state();
        let (mut a, mut b, mut c) = (conn(1), conn(2), conn(3));
        let p = spawn(&mut s, &mut a, 4000);
        let k = fork(&mut s, &mut a, &mut b, 4001);
        let other = spawn(&mut s, &mut c, 4100);
        let sorted = |r: Response| match r {
            Response::Children(mut v) => {
                v.sort();
                v
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(sorted(send(&mut s, &mut a, Request::Resolve { target: KillTarget::Pgid(0) })), vec![(p, 4000), (k, 4001)]);
        assert_eq!(sorted(send(&mut s, &mut a, Request::Resolve { target: KillTarget::All })), vec![(k, 4001), (other, 4100)]);
        assert_eq!(errno(send(&mut s, &mut a, Request::Resolve { target: KillTarget::Pgid(9999) })), ESRCH);
        assert_eq!(errno(send(&mut s, &mut a, Request::Resolve { target: KillTarget::Pid(9999) })), ESRCH);
        assert_eq!(sorted(send(&mut s, &mut a, Request::Resolve { target: KillTarget::Pid(1) })), vec![]);
        // A reservation makes a resolve wait for the attach.
        let r = pid(send(&mut s, &mut a, Request::ReserveChild));
        assert_eq!(s.handle(&mut a, &Request::Resolve { target: KillTarget::Pid(r) }, true), Reply::WaitAttach);
        assert_eq!(s.handle(&mut a, &Request::Children { target: WaitTarget::Any }, true), Reply::WaitAttach);
        assert_eq!(s.handle(&mut a, &Request::HostPid { pid: r }, true), Reply::WaitAttach);
        // A failed fork releases its reservation with Reaped.
        assert_eq!(send(&mut s, &mut a, Request::Reaped { pid: r }), Response::Ok);
    }

    #[test]
    fn pids_are_not_reused_while_in_use_and_wrap() {
        let mut s = state();
        let mut a = conn(1);
        let p = spawn(&mut s, &mut a, 5000);
        s.next_pid = PID_MAX_LIMIT - 1;
        let mut b = conn(2);
        assert_eq!(spawn(&mut s, &mut b, 5001), PID_MAX_LIMIT - 1);
        let mut c = conn(3);
        let wrapped = spawn(&mut s, &mut c, 5002);
        assert_eq!(wrapped, p + 1, "pid {p} is in use, so the allocator skips it after wrapping");
        let i1 = send(&mut s, &mut a, Request::NewPipeIno);
        let i2 = send(&mut s, &mut a, Request::NewPipeIno);
        assert_eq!((i1, i2), (Response::Ino(FIRST_PIPE_INO), Response::Ino(FIRST_PIPE_INO + 1)));
    }
}
