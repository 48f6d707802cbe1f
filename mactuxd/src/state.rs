//! The virtual PID namespace: every task of the user, its place in the
//! parent/child tree, process groups, sessions and exit status.
//!
//! One [`State`] behind one mutex (see lib.rs for why). Everything here is
//! synchronous and bounded; nothing may panic on client input. A request is
//! answered by [`State::handle`], which may ask the caller to wait for a
//! reserved child to attach ([`Reply::WaitAttach`]) and call again.
//!
//! Threads: a task's tids come from the same number space as pids
//! (`NewTid`), are never handed out while their thread lives, and go with
//! the task (exit, or its host process gone). A task may speak through
//! several connections, one per thread in a call: the one that registered
//! it (`conn`) and those joined to it (`Join`).
//!
//! The namespace outlives the daemon: [`State::restore`] takes over what the
//! previous daemon saved (persist.rs), so no pid a task still holds is handed
//! out again, and a re-registration never replaces another task's entry.

use crate::host::HostProc;
use crate::linux::*;
use crate::persist::{self, Loaded, SavedTask, Store};
use crate::ratelimit::warn_limited;
use mactux_proto::{KillTarget, Request, Response, TaskEntry, TaskInfo, TaskState, ThreadInfo, Vpid, WaitTarget, PROTOCOL_VERSION};
use std::collections::{BTreeMap, BTreeSet, HashMap};
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
/// A reservation taken over from the previous daemon that nobody attached
/// to within this time is dropped: a fork in flight during the restart
/// attaches within seconds; one that stays was answered by the previous
/// daemon too late, and its parent asked again.
pub const RESTORED_RESERVATION_TTL: Duration = Duration::from_secs(10);
/// A task whose parent never (re)appeared after a daemon restart is adopted
/// by pid 1 after this time.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(10);
/// The first pipe inode number handed out (any stable increasing sequence will do).
pub const FIRST_PIPE_INO: u64 = 100_000;
/// More threads than this in one task is a runaway client (Linux's default
/// threads-max is far above; a mactux task is one host process).
pub const MAX_THREADS_PER_TASK: usize = 16_384;
/// The state letter of a thread whose task published none for it.
const THREAD_STATE_SLEEPING: u8 = b'S';

pub type ConnId = u64;

struct Task {
    entry: TaskEntry,
    /// The connection that registered the task (Spawn, AttachChild,
    /// Reattach), if it is still open.
    conn: Option<ConnId>,
    /// Further connections of the same host process (`Join`): one per
    /// thread that was in a call while the others were busy. Their closing
    /// does not end the task.
    joined: Vec<ConnId>,
    /// The tids of the task's threads other than the leader (`NewTid`),
    /// those of threads that ended included: a task keeps ended threads'
    /// tids a while before it reuses them, as Linux cycles pids.
    tids: BTreeSet<Vpid>,
    /// The tids handed out (`NewTid`) since the task last published its
    /// threads (`Update`): alive for all the daemon knows.
    fresh: BTreeSet<Vpid>,
    /// Reserved by ReserveChild and not yet attached (host_pid is 0).
    is_reserved: bool,
    /// The parent's token for the ReserveChild that made the reservation.
    token: u64,
    /// The task re-executed itself: its parent may no longer change its
    /// process group (setpgid EACCES). Kept across daemon restarts; a
    /// re-registration does not set it (execve keeps the connection, so a
    /// task re-registers only when the daemon it spoke to went away).
    did_exec: bool,
    /// When the entry was created or last reattached.
    since: Instant,
    /// Taken over from the previous daemon's saved table and not heard of
    /// since: its task may have exited, been reaped or attached while the
    /// save was pending (see `sweep`).
    is_restored: bool,
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
    /// Every tid handed out and not yet released → the pid of its task.
    tid_owner: HashMap<Vpid, Vpid>,
    next_pid: Vpid,
    next_pipe_ino: u64,
    /// The names sethostname(2) and setdomainname(2) gave the namespace
    /// (None: never set; each task shows its default). Saved with the
    /// table, so a restarted daemon keeps them, as Linux keeps them until
    /// reboot.
    nodename: Option<Vec<u8>>,
    domainname: Option<Vec<u8>>,
    /// The ids standing for host sessions and groups outside the namespace:
    /// (host session or group id, the session a group belongs to, 0 for a
    /// session) → the Linux id (see `outer_id`).
    outer_ids: std::collections::HashMap<(i32, Vpid), Vpid>,
    /// What became of a host pid (replaced in tests).
    host: fn(i32) -> HostProc,
    pub daemon_pid: i32,
    pub socket: String,
    started: Instant,
    /// Where the namespace is saved (None: not saved, as in unit tests).
    store: Option<Store>,
    /// Pids the allocator may still step through before it must save a new
    /// lease (see persist.rs).
    pid_budget: u32,
    /// Pipe inode numbers left in the lease.
    ino_budget: u64,
    /// The table changed since it was last saved.
    dirty: bool,
    /// The request being answered changed what a task was told in a way
    /// that must be saved before the answer goes out (see `handle`).
    must_save: bool,
}

/// The pid after `pid`, wrapping at PID_MAX_LIMIT.
fn pid_after(pid: Vpid) -> Vpid {
    if pid + 1 >= PID_MAX_LIMIT { FIRST_PID } else { pid + 1 }
}

/// The pid `n` steps of the allocator after `pid`, wrapping as [`pid_after`] does.
fn pid_advanced(pid: Vpid, n: u32) -> Vpid {
    let span = i64::from(PID_MAX_LIMIT - FIRST_PID);
    let at = (i64::from(pid.clamp(FIRST_PID, PID_MAX_LIMIT - 1) - FIRST_PID) + i64::from(n)) % span;
    FIRST_PID + at as Vpid
}

fn valid_pid(pid: Vpid) -> bool {
    (FIRST_PID..PID_MAX_LIMIT).contains(&pid)
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
            cred: i.cred.clone(),
            tty: i.tty,
            environ: Vec::new(),
            fds: Vec::new(),
            fd_nodes: Vec::new(),
            maps: Vec::new(),
            reaps_children: i.reaps_children,
            threads: i.threads.clone(),
        },
        ..*e
    }
}

/// The task's threads as the daemon answers them: the leader, then each
/// tid it holds that its last publication listed or that it took since
/// (a thread newer than the publication), each with the name and state
/// the task last published for it (else the task's comm, sleeping). A tid
/// held but left out of the publication is an ended thread's, kept for
/// reuse: not shown.
fn threads_of(t: &Task) -> Vec<ThreadInfo> {
    let published = &t.entry.info.threads;
    let shown = |tid: &Vpid| t.fresh.contains(tid) || published.iter().any(|p| p.tid == *tid);
    listed(t, t.tids.iter().copied().filter(shown))
}

/// The leader and `tids` with their published names and states.
fn listed(t: &Task, tids: impl Iterator<Item = Vpid>) -> Vec<ThreadInfo> {
    let published = &t.entry.info.threads;
    std::iter::once(t.entry.pid)
        .chain(tids)
        .map(|tid| match published.iter().find(|p| p.tid == tid) {
            Some(p) => p.clone(),
            None => ThreadInfo { tid, comm: t.entry.info.comm.clone(), state: THREAD_STATE_SLEEPING },
        })
        .collect()
}

/// A task's entry as it is answered: with its thread list.
fn entry_of(t: &Task) -> TaskEntry {
    let mut e = t.entry.clone();
    e.info.threads = threads_of(t);
    e
}

/// A task's entry as it is saved: with every tid it holds, so that a
/// daemon started after this one hands none of them to another thread.
fn saved_entry_of(t: &Task) -> TaskEntry {
    let mut e = t.entry.clone();
    e.info.threads = listed(t, t.tids.iter().copied());
    e
}

fn err(errno: i32, msg: impl Into<String>) -> Reply {
    Reply::Send(Response::Error { errno, msg: msg.into() })
}

fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl State {
    /// `uid`/`gid`: the daemon's, shown for pid 1.
    pub fn new(daemon_pid: i32, uid: u32, gid: u32, socket: String, host: fn(i32) -> HostProc) -> State {
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
        tasks.insert(
            INIT_PID,
            Task { entry: init, conn: None, joined: Vec::new(), tids: BTreeSet::new(), fresh: BTreeSet::new(), is_reserved: false, token: 0, did_exec: false, since: Instant::now(), is_restored: false },
        );
        State {
            tasks,
            tid_owner: HashMap::new(),
            next_pid: FIRST_PID,
            next_pipe_ino: FIRST_PIPE_INO,
            nodename: None,
            domainname: None,
            outer_ids: std::collections::HashMap::new(),
            host,
            daemon_pid,
            socket,
            started: Instant::now(),
            store: None,
            // Without a store nothing is saved, so nothing needs renewing.
            pid_budget: u32::MAX,
            ino_budget: u64::MAX,
            dirty: false,
            must_save: false,
        }
    }

    /// Takes over the namespace the previous daemon saved in `store`, then
    /// claims a fresh lease and saves the table there before any request is
    /// served. Damaged or missing files are logged, never fatal: the table
    /// is then rebuilt from the tasks that re-register.
    pub fn restore(&mut self, mut store: Store) {
        let had_lease = match store.load_lease() {
            Loaded::Found(l) if valid_pid(l.next_pid) => {
                self.next_pid = l.next_pid;
                self.next_pipe_ino = l.next_pipe_ino.max(FIRST_PIPE_INO);
                true
            }
            Loaded::Found(l) => {
                tracing::warn!(next_pid = l.next_pid, "the saved pid lease names no valid pid; ignoring it");
                false
            }
            Loaded::Missing => false,
            Loaded::OtherBoot => {
                tracing::info!("the saved pid lease is from before the host booted; starting afresh");
                false
            }
            Loaded::Bad(why) => {
                tracing::warn!("the saved pid lease is unusable: {why}");
                false
            }
        };
        let restored = match store.load_table() {
            Loaded::Found(t) => {
                self.nodename = t.nodename;
                self.domainname = t.domainname;
                self.adopt_saved(t.tasks, t.outer_ids)
            }
            Loaded::Missing => 0,
            Loaded::OtherBoot => {
                tracing::info!("the saved task table is from before the host booted; starting afresh");
                0
            }
            Loaded::Bad(why) => {
                tracing::warn!("the saved task table is unusable, rebuilding it from the tasks that re-register: {why}");
                0
            }
        };
        if !had_lease && restored > 0 {
            // Without the lease, pids handed out after the table was saved
            // are unknown; they followed the highest saved one, so leave
            // a lease's worth of room after it.
            let highest = self.tasks.keys().copied().max().unwrap_or(FIRST_PID);
            self.next_pid = pid_advanced(highest, persist::PID_LEASE + 1);
        }
        if restored > 0 || had_lease {
            tracing::info!(tasks = restored, next_pid = self.next_pid, "took over the namespace of the previous daemon");
        }
        self.store = Some(store);
        // Published even while no name was ever set (the page then says
        // so): a task maps it once, at its first uname, and never looks
        // for it again.
        if let Err(e) = self.publish_uts() {
            tracing::warn!("cannot publish the host and domain names: {e}");
        }
        self.renew_lease();
        self.save_table();
    }

    /// Publishes the names for tasks to read (`UTS_FILE`); nothing to do
    /// without a state directory (unit tests).
    fn publish_uts(&self) -> Result<(), String> {
        match &self.store {
            Some(store) => store.publish_uts(self.nodename.as_deref(), self.domainname.as_deref()),
            None => Ok(()),
        }
    }

    /// Inserts saved tasks that pass every check a live entry satisfies;
    /// returns how many.
    fn adopt_saved(&mut self, saved: Vec<SavedTask>, outer_ids: Vec<((i32, Vpid), Vpid)>) -> usize {
        let mut count = 0;
        for SavedTask { entry, is_reserved, token, did_exec } in saved {
            let e = &entry;
            let sane = valid_pid(e.pid)
                && (e.ppid == INIT_PID || valid_pid(e.ppid))
                && (e.pgid == INIT_PID || valid_pid(e.pgid))
                && (e.sid == INIT_PID || valid_pid(e.sid))
                && (if is_reserved { e.host_pid == 0 } else { e.host_pid > 0 })
                && !self.tasks.contains_key(&e.pid)
                && self.tasks.len() < MAX_TASKS;
            if !sane {
                warn_limited!("persist", pid = e.pid, ppid = e.ppid, pgid = e.pgid, sid = e.sid, host_pid = e.host_pid, "dropping an impossible saved task");
                continue;
            }
            let pid = entry.pid;
            let saved_tids: Vec<Vpid> = entry.info.threads.iter().map(|t| t.tid).filter(|&tid| tid != pid).collect();
            let task = Task { entry, conn: None, joined: Vec::new(), tids: BTreeSet::new(), fresh: BTreeSet::new(), is_reserved, token, did_exec, since: Instant::now(), is_restored: true };
            self.tasks.insert(pid, task);
            for tid in saved_tids {
                self.add_tid(pid, tid);
            }
            count += 1;
        }
        // A tid saved before a task of the same number was: the task wins.
        let clashes: Vec<Vpid> = self.tid_owner.keys().copied().filter(|tid| self.tasks.contains_key(tid)).collect();
        for tid in clashes {
            if let Some(owner) = self.tid_owner.remove(&tid) {
                if let Some(t) = self.tasks.get_mut(&owner) {
                    t.tids.remove(&tid);
                }
            }
        }
        self.outer_ids = outer_ids.into_iter().filter(|&(_, id)| valid_pid(id)).collect();
        count
    }

    /// Saves where the allocators will stand [`persist::PID_LEASE`] pids
    /// (and [`persist::INO_LEASE`] inode numbers) from now, before any of
    /// them is handed out.
    fn renew_lease(&mut self) {
        let Some(store) = &self.store else { return };
        let lease = persist::Lease {
            boot: store.boot().to_string(),
            next_pid: pid_advanced(self.next_pid, persist::PID_LEASE),
            next_pipe_ino: self.next_pipe_ino.saturating_add(persist::INO_LEASE),
        };
        if let Err(e) = store.save_lease(&lease) {
            // Still serve: pids stay unique while this daemon lives; only a
            // restart could then reuse one.
            warn_limited!("persist", "cannot save the pid lease: {e}");
        }
        self.pid_budget = persist::PID_LEASE;
        self.ino_budget = persist::INO_LEASE;
    }

    /// Saves the table (every entry but pid 1, without the heavy details).
    pub fn save_table(&mut self) {
        self.prune_outer_ids();
        let Some(store) = &mut self.store else { return };
        let mut table = persist::Table {
            boot: store.boot().to_string(),
            generation: 0,
            tasks: self
                .tasks
                .values()
                .filter(|t| t.entry.pid != INIT_PID)
                .map(|t| SavedTask { entry: summary(&saved_entry_of(t)), is_reserved: t.is_reserved, token: t.token, did_exec: t.did_exec })
                .collect(),
            outer_ids: self.outer_ids.iter().map(|(&k, &v)| (k, v)).collect(),
            nodename: self.nodename.clone(),
            domainname: self.domainname.clone(),
        };
        if let Err(e) = store.save_table(&mut table) {
            warn_limited!("persist", "cannot save the task table: {e}");
        }
        self.dirty = false;
    }

    /// Whether the table changed since it was last saved.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Saves the table if it changed.
    pub fn flush(&mut self) {
        if self.dirty {
            self.save_table();
        }
    }

    fn host_alive(&self, host_pid: i32) -> bool {
        (self.host)(host_pid) == HostProc::Running
    }

    /// Real tasks (pid 1 excluded).
    pub fn task_count(&self) -> usize {
        self.tasks.len() - 1
    }

    /// The caller's task, if the connection is bound (registering or
    /// joined) to a live entry.
    /// The running task a connection speaks for, if any.
    pub fn caller_pid(&self, conn: &Conn) -> Option<Vpid> {
        self.caller(conn)
    }

    /// Whether `pid` is a task that has not exited (a reserved pid counts).
    pub fn is_running(&self, pid: Vpid) -> bool {
        self.tasks.get(&pid).is_some_and(|t| t.entry.state == TaskState::Running)
    }

    fn caller(&self, conn: &Conn) -> Option<Vpid> {
        let pid = conn.bound?;
        let t = self.tasks.get(&pid)?;
        (t.conn == Some(conn.id) || t.joined.contains(&conn.id)).then_some(pid)
    }

    /// Records `tid` as a thread of `pid`, if it is free: not a task's pid
    /// and not another thread's tid. Returns whether it was recorded.
    fn add_tid(&mut self, pid: Vpid, tid: Vpid) -> bool {
        if !valid_pid(tid) || tid == pid || self.tasks.contains_key(&tid) || self.tid_owner.get(&tid).is_some_and(|&o| o != pid) {
            return false;
        }
        let Some(t) = self.tasks.get_mut(&pid) else { return false };
        if t.tids.len() >= MAX_THREADS_PER_TASK && !t.tids.contains(&tid) {
            return false;
        }
        t.tids.insert(tid);
        self.tid_owner.insert(tid, pid);
        self.dirty = true;
        true
    }

    /// Releases every tid of `pid` (its threads are gone with it).
    fn release_tids(&mut self, pid: Vpid) {
        let Some(t) = self.tasks.get_mut(&pid) else { return };
        t.fresh.clear();
        for tid in std::mem::take(&mut t.tids) {
            self.tid_owner.remove(&tid);
            self.dirty = true;
        }
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

    /// Forgets the outer ids no task is in any more: `outer_id` would not
    /// hand them out again, and each `mactux run` from a shell with job
    /// control brings a host group of its own, so a daemon that runs for
    /// weeks would otherwise keep, and save at every fork, one for each.
    fn prune_outer_ids(&mut self) {
        if self.outer_ids.is_empty() {
            return;
        }
        let used: std::collections::HashSet<Vpid> = self.tasks.values().flat_map(|t| [t.entry.pgid, t.entry.sid]).collect();
        self.outer_ids.retain(|_, id| used.contains(id));
    }

    /// A fresh pid: never one in the table or used as a process group or
    /// session id (Linux does not reuse those either), wrapping at PID_MAX_LIMIT.
    fn alloc_pid(&mut self) -> Option<Vpid> {
        if self.tasks.len() >= MAX_TASKS {
            return None;
        }
        for _ in FIRST_PID..PID_MAX_LIMIT {
            if self.pid_budget == 0 {
                self.renew_lease();
            }
            self.pid_budget -= 1;
            let pid = self.next_pid;
            self.next_pid = pid_after(pid);
            if !self.tasks.contains_key(&pid)
                && !self.tid_owner.contains_key(&pid)
                && !self.tasks.values().any(|t| t.entry.pgid == pid || t.entry.sid == pid)
            {
                self.dirty = true;
                return Some(pid);
            }
        }
        None
    }

    fn insert(&mut self, entry: TaskEntry, conn: Option<ConnId>, is_reserved: bool, token: u64) {
        self.dirty = true;
        let task =
            Task { entry, conn, joined: Vec::new(), tids: BTreeSet::new(), fresh: BTreeSet::new(), is_reserved, token, did_exec: false, since: Instant::now(), is_restored: false };
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
        // A zombie has no threads left (Linux: only the leader lingers).
        self.release_tids(pid);
        let Some(t) = self.tasks.get_mut(&pid) else { return };
        self.dirty = true;
        t.entry.state = TaskState::Zombie(status);
        t.conn = None;
        t.joined.clear();
        t.is_reserved = false;
        let ppid = t.entry.ppid;
        self.reparent_children(pid);
        if self.parent_reaps_at_once(ppid) {
            self.tasks.remove(&pid);
        }
    }

    /// Removes an entry and hands its children to pid 1.
    fn remove(&mut self, pid: Vpid) {
        self.release_tids(pid);
        if pid != INIT_PID && self.tasks.remove(&pid).is_some() {
            self.dirty = true;
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
            self.dirty = true;
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
        let mut dead = Vec::new();
        let mut stale = Vec::new();
        let mut orphans = Vec::new();
        let mut reaped = Vec::new();
        for t in self.tasks.values() {
            let pid = t.entry.pid;
            if pid == INIT_PID {
                continue;
            }
            if t.is_reserved {
                if t.since.elapsed() > if t.is_restored { RESTORED_RESERVATION_TTL } else { RESERVATION_TTL } {
                    stale.push(pid);
                }
                continue;
            }
            let checked = !matches!(only, Some(o) if !o.contains(&pid));
            // A bound task has a live connection: its process holds it open.
            if checked && t.conn.is_none() && t.joined.is_empty() && t.entry.state == TaskState::Running && !self.host_alive(t.entry.host_pid) {
                dead.push(pid);
            }
            // A zombie kept for a parent that is also its host parent (a
            // fork child): once the host process is gone altogether, the
            // parent has waited for it. Only a restored zombie can still be
            // here then: the Reaped that followed went to the previous
            // daemon after its last save.
            if checked && t.is_restored && matches!(t.entry.state, TaskState::Zombie(_)) && (self.host)(t.entry.host_pid) == HostProc::Gone {
                reaped.push(pid);
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
        for pid in reaped {
            tracing::info!(pid, "a zombie of the previous daemon was reaped meanwhile: removing it");
            self.remove(pid);
        }
        for pid in orphans {
            self.adopt(pid);
        }
    }

    /// The connection closed. Whichever of a task's connections it was,
    /// the task ends only when its host process is gone: a thread's
    /// connection closes when its thread exits, and the registering one is
    /// closed by the execve that re-executes the runtime (which keeps
    /// another open).
    pub fn disconnect(&mut self, conn: &Conn) {
        let Some(pid) = self.caller(conn) else { return };
        let Some(t) = self.tasks.get_mut(&pid) else { return };
        if t.conn == Some(conn.id) {
            t.conn = None;
        }
        t.joined.retain(|&c| c != conn.id);
        if t.entry.state == TaskState::Running && (self.host)(t.entry.host_pid) != HostProc::Running {
            tracing::info!(pid, "connection closed and host process gone: task killed by SIGKILL");
            self.make_zombie(pid, STATUS_KILLED_BY_SIGKILL);
        }
    }

    /// Answers one request (after the handshake). `may_wait`: the caller can
    /// still wait for reserved children to attach.
    ///
    /// Most changes are saved a moment later, together (lib.rs). Those that
    /// make a task known or final, or that the task keeps its own copy of,
    /// are saved before the answer: a new pid (Spawn, ReserveChild), an
    /// attach, a Reattach the table did not know, an exit status, a group or
    /// session. Otherwise a task that never calls the daemon again (a child
    /// that execs `sleep`) would be unknown to the next daemon, a parent's
    /// kill of the child it just forked would find no such process, a
    /// zombie would lose its status, and a re-registering task would take
    /// back a group it has left. A lost Reaped or Update is harmless: the
    /// zombie is dropped once its host process is gone (`sweep`), the task
    /// sends its details again.
    pub fn handle(&mut self, conn: &mut Conn, req: &Request, may_wait: bool) -> Reply {
        self.must_save = false;
        let reply = self.answer(conn, req, may_wait);
        if self.must_save {
            self.save_table();
        }
        reply
    }

    fn answer(&mut self, conn: &mut Conn, req: &Request, may_wait: bool) -> Reply {
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
                // The same request again: the daemon that registered this
                // process went away before answering (a host pid names one
                // live process, and a task's process never spawns again).
                let again = self.tasks.values_mut().find(|t| {
                    t.is_restored && t.conn.is_none() && t.joined.is_empty() && t.entry.host_pid == host_pid && t.entry.state == TaskState::Running && t.entry.ppid == INIT_PID
                });
                if let Some(t) = again {
                    t.conn = Some(conn.id);
                    t.is_restored = false;
                    t.entry.info = info.clone();
                    let (pid, pgid, sid) = (t.entry.pid, t.entry.pgid, t.entry.sid);
                    conn.bound = Some(pid);
                    self.dirty = true;
                    return Reply::Send(Response::Spawned { pid, pgid, sid });
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
                self.insert(entry, Some(conn.id), false, 0);
                self.must_save = true;
                conn.bound = Some(pid);
                Reply::Send(Response::Spawned { pid, pgid, sid })
            }
            Request::ReserveChild { token } => {
                let Some(parent) = caller.and_then(|p| self.tasks.get(&p)) else { return err(ESRCH, "reserve needs a bound task") };
                // The same request again: the daemon that took it went away
                // before answering, and this one took its reservation over.
                let again = self.tasks.values().find(|t| token != 0 && t.is_reserved && t.token == token && t.entry.ppid == parent.entry.pid);
                if let Some(t) = again {
                    return Reply::Send(Response::Pid(t.entry.pid));
                }
                let template = parent.entry.clone();
                let Some(pid) = self.alloc_pid() else { return err(EAGAIN, "no free pid in the namespace") };
                // Saved before the answer: the child is told this pid, and
                // its parent may signal or wait for it before it attaches.
                self.must_save = true;
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
                self.insert(entry, None, true, token);
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
                t.token = 0;
                t.is_restored = false;
                t.entry.host_pid = host_pid;
                t.conn = Some(conn.id);
                t.since = Instant::now();
                self.must_save = true;
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
                        // The same task: the host process that holds the pid,
                        // or the forked child of a reservation whose attach
                        // was lost with the previous daemon. Anything else is
                        // another task's pid, which must not change hands.
                        let is_same = t.entry.host_pid == host_pid || (t.is_reserved && t.entry.ppid == ppid);
                        if !is_same {
                            let holder = t.entry.host_pid;
                            let what = match t.entry.state {
                                TaskState::Zombie(_) => "a zombie not yet reaped",
                                TaskState::Running if t.is_reserved => "a reservation of another parent",
                                TaskState::Running => "another running task",
                            };
                            warn_limited!("reattach", pid, host_pid, holder_host_pid = holder, "refusing a re-registration: the pid belongs to {what}");
                            return err(EEXIST, format!("pid {pid} belongs to {what} (host pid {holder})"));
                        }
                        // The daemon's parent, group and session stand: the
                        // task's copies miss what others changed (a parent's
                        // setpgid, its reparenting to pid 1).
                        t.entry.host_pid = host_pid;
                        t.entry.info = info.clone();
                        t.entry.state = TaskState::Running;
                        t.is_reserved = false;
                        t.token = 0;
                        t.is_restored = false;
                        // Sent on a joined connection (the task made it its
                        // registering one): the previous one stays joined.
                        t.joined.retain(|&c| c != conn.id);
                        if let Some(old) = t.conn.filter(|&c| c != conn.id) {
                            t.joined.push(old);
                        }
                        t.conn = Some(conn.id);
                        t.since = Instant::now();
                        self.dirty = true;
                    }
                    None => {
                        if self.tasks.len() >= MAX_TASKS {
                            return err(EAGAIN, "too many tasks");
                        }
                        if let Some(&owner) = self.tid_owner.get(&pid) {
                            warn_limited!("reattach", pid, host_pid, "refusing a re-registration: the pid is a thread of task {owner}");
                            return err(EEXIST, format!("pid {pid} is a thread of task {owner}"));
                        }
                        let entry =
                            TaskEntry { pid, ppid, pgid, sid, host_pid, state: TaskState::Running, start_time: now_secs(), info: info.clone() };
                        self.insert(entry, Some(conn.id), false, 0);
                        self.must_save = true;
                        if pid >= self.next_pid {
                            // Pids near a task nobody saved are likely in
                            // use too; the lease must then be renewed.
                            self.next_pid = pid_after(pid);
                            self.pid_budget = 0;
                        }
                    }
                }
                // The task knows its threads: after a daemon restart, those
                // it lists keep their tids (a task re-registering without a
                // list keeps what the daemon has).
                if !info.threads.is_empty() {
                    self.release_tids(pid);
                    for tid in info.threads.iter().map(|t| t.tid).filter(|&tid| tid != pid) {
                        if !self.add_tid(pid, tid) {
                            warn_limited!("reattach", pid, tid, "a thread's tid is held by another task; it is not listed");
                        }
                    }
                }
                conn.bound = Some(pid);
                Reply::Send(Response::Ok)
            }
            Request::Join { pid, host_pid } => {
                if let Some(old) = caller {
                    return err(EBUSY, format!("this connection is already bound to pid {old}"));
                }
                let Some(t) = self.tasks.get_mut(&pid) else { return err(ESRCH, format!("no task with pid {pid}")) };
                if t.is_reserved || t.entry.state != TaskState::Running {
                    return err(ESRCH, format!("pid {pid} is not a running task"));
                }
                if host_pid <= 0 || t.entry.host_pid != host_pid {
                    return err(EPERM, format!("pid {pid} is not hosted by host pid {host_pid}"));
                }
                t.joined.push(conn.id);
                conn.bound = Some(pid);
                Reply::Send(Response::Ok)
            }
            Request::NewTid => {
                let Some(pid) = caller else { return err(ESRCH, "a tid needs a bound task") };
                if self.tasks.get(&pid).is_some_and(|t| t.tids.len() >= MAX_THREADS_PER_TASK) {
                    return err(EAGAIN, "too many threads in one task");
                }
                let Some(tid) = self.alloc_pid() else { return err(EAGAIN, "no free pid in the namespace") };
                if self.add_tid(pid, tid) {
                    if let Some(t) = self.tasks.get_mut(&pid) {
                        t.fresh.insert(tid);
                    }
                }
                Reply::Send(Response::Pid(tid))
            }
            Request::ReleaseTid { tid } => {
                let Some(pid) = caller else { return err(ESRCH, "releasing a tid needs a bound task") };
                if self.tid_owner.get(&tid) != Some(&pid) {
                    return err(ESRCH, format!("tid {tid} is not a thread of pid {pid}"));
                }
                self.tid_owner.remove(&tid);
                if let Some(t) = self.tasks.get_mut(&pid) {
                    t.tids.remove(&tid);
                    t.fresh.remove(&tid);
                    // Its published name goes with it.
                    t.entry.info.threads.retain(|th| th.tid != tid);
                }
                self.dirty = true;
                Reply::Send(Response::Ok)
            }
            Request::OwnerOf { tid } => {
                let pid = self.tid_owner.get(&tid).copied().unwrap_or(tid);
                match self.tasks.get(&pid) {
                    Some(t) if pid == INIT_PID => Reply::Send(Response::Owner { pid: t.entry.pid, host_pid: 0 }),
                    Some(t) if t.is_reserved && may_wait => Reply::WaitAttach,
                    Some(t) if t.is_reserved => err(EAGAIN, format!("pid {pid} is reserved and not yet attached")),
                    Some(t) => {
                        let host_pid = if t.entry.state == TaskState::Running { t.entry.host_pid } else { 0 };
                        Reply::Send(Response::Owner { pid, host_pid })
                    }
                    None => err(ESRCH, format!("no task or thread with id {tid}")),
                }
            }
            Request::Update { ref info } => match caller.and_then(|p| self.tasks.get_mut(&p)) {
                Some(t) => {
                    t.entry.info = info.clone();
                    // The publication lists the threads alive when it was made.
                    t.fresh.clear();
                    self.dirty = true;
                    Reply::Send(Response::Ok)
                }
                None => err(ESRCH, "update needs a bound task"),
            },
            Request::Exit { status } => {
                let Some(pid) = caller else { return err(ESRCH, "exit needs a bound task") };
                self.make_zombie(pid, status);
                self.must_save = true;
                conn.bound = None;
                Reply::SendAndClose(Response::Ok)
            }
            Request::Reaped { pid } => self.reaped(caller, pid),
            Request::Forked { pid, host_pid } => {
                let Some(me) = caller else { return err(ESRCH, "forked needs a bound task") };
                if host_pid <= 0 {
                    return err(EINVAL, "forked needs the child's host pid");
                }
                let Some(t) = self.tasks.get_mut(&pid) else { return err(ESRCH, format!("pid {pid} was not reserved")) };
                if t.entry.ppid != me || pid == me {
                    return err(ECHILD, format!("pid {pid} is not a child of the caller"));
                }
                if t.is_reserved {
                    t.is_reserved = false;
                    t.token = 0;
                    t.is_restored = false;
                    t.entry.host_pid = host_pid;
                    t.since = Instant::now();
                    // Saved at once: a child that never calls the daemon
                    // is known to the next one only from this.
                    self.must_save = true;
                } else if t.entry.host_pid != host_pid {
                    // A child that lived in the caller's own host process
                    // (a CLONE_VM child) moves to the host process the
                    // caller forked for its execve.
                    let callers_host = self.tasks.get(&me).map(|c| c.entry.host_pid);
                    let Some(t) = self.tasks.get_mut(&pid).filter(|t| Some(t.entry.host_pid) == callers_host) else {
                        // The child registered itself first (Reattach): the
                        // same process, or another one.
                        let holder = self.tasks.get(&pid).map_or(0, |t| t.entry.host_pid);
                        return err(EBUSY, format!("pid {pid} is host process {holder}"));
                    };
                    t.entry.host_pid = host_pid;
                    t.since = Instant::now();
                    self.must_save = true;
                }
                Reply::Send(Response::Ok)
            }
            Request::GetPpid => match caller.and_then(|p| self.tasks.get(&p)) {
                Some(t) => Reply::Send(Response::Pid(t.entry.ppid)),
                None => err(ESRCH, "getppid needs a bound task"),
            },
            Request::GetPgid { pid } => self.lookup(caller, pid, |e| e.pgid),
            Request::GetSid { pid } => self.lookup(caller, pid, |e| e.sid),
            Request::SetPgid { pid, pgid } => {
                let reply = self.setpgid(caller, pid, pgid);
                // A task re-registering after a restart keeps the daemon's
                // group, never its own copy: the daemon's must be current.
                self.must_save = reply == Reply::Send(Response::Ok);
                reply
            }
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
                self.must_save = true;
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
                Reply::Send(Response::Tasks(self.tasks.values().map(|t| summary(&entry_of(t))).collect()))
            }
            Request::Get { pid } => Reply::Send(Response::Task(self.tasks.get(&pid).map(entry_of))),
            // Answered by the futex queues before the task table is locked.
            Request::FutexQueue { .. } | Request::FutexSleep { .. } | Request::FutexCancel { .. } | Request::FutexWake { .. } => {
                err(EPROTO, "futex requests are not task-table requests")
            }
            // Answered by the System V IPC tables (sysv.rs).
            Request::Ipc { .. } | Request::IpcSleep { .. } | Request::IpcCancel { .. } => {
                err(EPROTO, "IPC requests are not task-table requests")
            }
            Request::NewPipeIno => {
                if self.ino_budget == 0 {
                    self.renew_lease();
                }
                self.ino_budget -= 1;
                let ino = self.next_pipe_ino;
                self.next_pipe_ino = self.next_pipe_ino.wrapping_add(1).max(FIRST_PIPE_INO);
                Reply::Send(Response::Ino(ino))
            }
            Request::SetUtsName { ref name, .. } if name.len() > mactux_proto::UTS_NAME_MAX => {
                err(EINVAL, format!("a host or domain name has at most {} bytes", mactux_proto::UTS_NAME_MAX))
            }
            Request::SetUtsName { field, ref name } => {
                match field {
                    mactux_proto::UtsField::Hostname => self.nodename = Some(name.clone()),
                    mactux_proto::UtsField::Domainname => self.domainname = Some(name.clone()),
                }
                // Saved before the answer: a daemon restarted next keeps it.
                self.must_save = true;
                match self.publish_uts() {
                    Ok(()) => Reply::Send(Response::Ok),
                    Err(e) => err(EIO, format!("the name is kept but tasks cannot see it: {e}")),
                }
            }
            Request::GetUtsName => {
                Reply::Send(Response::UtsName { nodename: self.nodename.clone(), domainname: self.domainname.clone() })
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
            TaskState::Running => t.is_reserved || !self.host_alive(t.entry.host_pid),
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
        // kill(2) of a thread's tid signals its thread group, as Linux does.
        let target = match target {
            KillTarget::Pid(p) => KillTarget::Pid(self.tid_owner.get(&p).copied().unwrap_or(p)),
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
    fn fake_host(host_pid: i32) -> HostProc {
        if host_pid > 0 && !DEAD.with(|d| d.borrow().contains(&host_pid)) {
            HostProc::Running
        } else {
            HostProc::Gone
        }
    }
    fn kill_host(host_pid: i32) {
        DEAD.with(|d| d.borrow_mut().push(host_pid));
    }

    fn state() -> State {
        State::new(100, 0, 0, "/tmp/sock".into(), fake_host)
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
        let p = pid(send(s, parent, Request::ReserveChild { token: 0 }));
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
    fn outer_ids_nobody_is_in_are_forgotten() {
        let mut s = state();
        // A shell with job control (host session 500) runs one program
        // after another, each in a host group of its own.
        for n in 0..50 {
            let mut k = conn(10 + n);
            let host = 1000 + n as i32;
            let Response::Spawned { pgid, sid, .. } = send(&mut s, &mut k, Request::Spawn { host_pid: host, host_pgid: host - 500, host_sid: 500, info: TaskInfo::default() }) else {
                panic!("spawn failed")
            };
            assert!(s.outer_ids.values().any(|&id| id == pgid) && s.outer_ids.values().any(|&id| id == sid));
            send(&mut s, &mut k, Request::Exit { status: 0 });
            s.save_table();
        }
        // What is left: nothing but what the table still names.
        assert!(s.outer_ids.is_empty(), "{} outer ids kept", s.outer_ids.len());
        // One that a running task is in stays, and is handed out again.
        let (mut a, mut b) = (conn(1), conn(2));
        let Response::Spawned { pgid: ga, .. } = send(&mut s, &mut a, Request::Spawn { host_pid: 601, host_pgid: 600, host_sid: 500, info: TaskInfo::default() }) else { panic!() };
        s.save_table();
        let Response::Spawned { pgid: gb, .. } = send(&mut s, &mut b, Request::Spawn { host_pid: 602, host_pgid: 600, host_sid: 500, info: TaskInfo::default() }) else { panic!() };
        assert_eq!(ga, gb);
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
        // Re-registering is not an execve: the parent may still move it.
        assert_eq!(send(&mut s, &mut a, Request::SetPgid { pid: other, pgid: 0 }), Response::Ok);
        assert_eq!(send(&mut s, &mut a, Request::SetPgid { pid: other, pgid: parent }), Response::Ok);
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
        let r = pid(send(&mut s, &mut a, Request::ReserveChild { token: 0 }));
        assert_eq!(s.handle(&mut a, &Request::Resolve { target: KillTarget::Pid(r) }, true), Reply::WaitAttach);
        assert_eq!(s.handle(&mut a, &Request::Children { target: WaitTarget::Any }, true), Reply::WaitAttach);
        assert_eq!(s.handle(&mut a, &Request::HostPid { pid: r }, true), Reply::WaitAttach);
        // A failed fork releases its reservation with Reaped.
        assert_eq!(send(&mut s, &mut a, Request::Reaped { pid: r }), Response::Ok);
    }

    #[test]
    fn forked_names_the_host_process_of_a_child_that_never_connects() {
        let mut s = state();
        let (mut a, mut b, mut c) = (conn(1), conn(2), conn(3));
        let p = spawn(&mut s, &mut a, 5000);
        let other = spawn(&mut s, &mut b, 5100);
        let k = pid(send(&mut s, &mut a, Request::ReserveChild { token: 3 }));
        // Only the parent names its child, a host pid is needed, and the pid must be a task.
        assert_eq!(errno(send(&mut s, &mut b, Request::Forked { pid: k, host_pid: 5001 })), ECHILD);
        assert_eq!(errno(send(&mut s, &mut c, Request::Forked { pid: k, host_pid: 5001 })), ESRCH, "unbound connection");
        assert_eq!(errno(send(&mut s, &mut a, Request::Forked { pid: k, host_pid: 0 })), EINVAL);
        assert_eq!(errno(send(&mut s, &mut a, Request::Forked { pid: k, host_pid: -7 })), EINVAL);
        assert_eq!(errno(send(&mut s, &mut a, Request::Forked { pid: 4_000_000, host_pid: 5001 })), ESRCH);
        assert_eq!(errno(send(&mut s, &mut a, Request::Forked { pid: p, host_pid: 5000 })), ECHILD, "not its own child");
        assert_eq!(errno(send(&mut s, &mut a, Request::Forked { pid: other, host_pid: 5100 })), ECHILD);
        assert_eq!(send(&mut s, &mut a, Request::Forked { pid: k, host_pid: 5001 }), Response::Ok);
        // Sent twice (the same fork) it stands; another host process does not.
        assert_eq!(send(&mut s, &mut a, Request::Forked { pid: k, host_pid: 5001 }), Response::Ok);
        assert_eq!(errno(send(&mut s, &mut a, Request::Forked { pid: k, host_pid: 5002 })), EBUSY);
        // No one waits for an attach now: the child is a running task.
        assert_eq!(s.handle(&mut b, &Request::Resolve { target: KillTarget::Pid(k) }, true), Reply::Send(Response::Children(vec![(k, 5001)])));
        assert_eq!(s.handle(&mut b, &Request::HostPid { pid: k }, true), Reply::Send(Response::HostPid(5001)));
        assert_eq!(s.handle(&mut a, &Request::Children { target: WaitTarget::Pgid(0) }, true), Reply::Send(Response::Children(vec![(k, 5001)])));
        // Nor is it a reservation to drop or to hand out again for the token.
        assert_ne!(pid(send(&mut s, &mut a, Request::ReserveChild { token: 3 })), k);
        // Its first call registers it (Reattach, for the same host pid).
        let re = |host_pid| Request::Reattach { pid: k, host_pid, ppid: p, pgid: p, sid: p, info: TaskInfo::default() };
        assert_eq!(errno(send(&mut s, &mut c, re(5009))), EEXIST, "another host process");
        assert_eq!(send(&mut s, &mut c, re(5001)), Response::Ok);
        assert_eq!(pid(send(&mut s, &mut c, Request::GetPpid)), p);
        // A child that exits without a word: found gone, then reaped by its parent.
        let quiet = pid(send(&mut s, &mut a, Request::ReserveChild { token: 4 }));
        assert_eq!(send(&mut s, &mut a, Request::Forked { pid: quiet, host_pid: 5003 }), Response::Ok);
        kill_host(5003);
        assert_eq!(send(&mut s, &mut a, Request::Reaped { pid: quiet }), Response::Ok);
        assert_eq!(errno(send(&mut s, &mut a, Request::HostPid { pid: quiet })), ESRCH, "gone from the table");
        // An orphan found gone by the sweep goes with it.
        let orphan = pid(send(&mut s, &mut a, Request::ReserveChild { token: 5 }));
        assert_eq!(send(&mut s, &mut a, Request::Forked { pid: orphan, host_pid: 5004 }), Response::Ok);
        assert_eq!(send(&mut s, &mut a, Request::Exit { status: 0 }), Response::Ok);
        assert_eq!(s.handle(&mut b, &Request::HostPid { pid: orphan }, true), Reply::Send(Response::HostPid(5004)), "reparented, still running");
        kill_host(5004);
        s.sweep(None);
        assert_eq!(errno(send(&mut s, &mut b, Request::HostPid { pid: orphan })), ESRCH, "pid 1 reaped it");
    }

    #[test]
    fn forked_moves_a_clone_vm_child_out_of_its_parents_host_process() {
        let mut s = state();
        let (mut a, mut c) = (conn(1), conn(2));
        let p = spawn(&mut s, &mut a, 6000);
        // A CLONE_VM child: a task in its parent's own host process.
        let k = pid(send(&mut s, &mut a, Request::ReserveChild { token: 1 }));
        assert_eq!(send(&mut s, &mut a, Request::Forked { pid: k, host_pid: 6000 }), Response::Ok);
        // Its execve forks a host process of its own, which the parent names.
        assert_eq!(send(&mut s, &mut a, Request::Forked { pid: k, host_pid: 6001 }), Response::Ok);
        assert_eq!(s.handle(&mut a, &Request::HostPid { pid: k }, true), Reply::Send(Response::HostPid(6001)));
        assert_eq!(s.handle(&mut a, &Request::Children { target: WaitTarget::Any }, true), Reply::Send(Response::Children(vec![(k, 6001)])));
        // Only out of the caller's own host process: not from one to another.
        assert_eq!(errno(send(&mut s, &mut a, Request::Forked { pid: k, host_pid: 6002 })), EBUSY);
        // The new program registers from there.
        let re = Request::Reattach { pid: k, host_pid: 6001, ppid: p, pgid: p, sid: p, info: TaskInfo::default() };
        assert_eq!(send(&mut s, &mut c, re), Response::Ok);
        assert_eq!(pid(send(&mut s, &mut c, Request::GetPpid)), p);
    }

    #[test]
    fn uts_names_are_shared_and_checked() {
        use mactux_proto::UtsField;
        let mut s = state();
        let mut a = conn(1);
        spawn(&mut s, &mut a, 5000);
        let mut b = conn(2);
        spawn(&mut s, &mut b, 5001);
        assert_eq!(send(&mut s, &mut b, Request::GetUtsName), Response::UtsName { nodename: None, domainname: None });
        assert_eq!(send(&mut s, &mut a, Request::SetUtsName { field: UtsField::Hostname, name: b"box".to_vec() }), Response::Ok);
        assert_eq!(send(&mut s, &mut a, Request::SetUtsName { field: UtsField::Domainname, name: Vec::new() }), Response::Ok);
        let too_long = Request::SetUtsName { field: UtsField::Hostname, name: vec![b'x'; 65] };
        assert_eq!(errno(send(&mut s, &mut a, too_long)), EINVAL);
        assert_eq!(
            send(&mut s, &mut b, Request::GetUtsName),
            Response::UtsName { nodename: Some(b"box".to_vec()), domainname: Some(Vec::new()) }
        );
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

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("mactuxd-state-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A daemon on `dir`: what serve() does before it serves.
    fn daemon_on(dir: &std::path::Path) -> State {
        let mut s = state();
        s.restore(Store::new(dir, "boot".into()));
        s
    }

    fn reattach(s: &mut State, c: &mut Conn, pid: Vpid, host_pid: i32, ppid: Vpid) -> Response {
        send(s, c, Request::Reattach { pid, host_pid, ppid, pgid: ppid.max(pid), sid: ppid.max(pid), info: TaskInfo::default() })
    }

    #[test]
    fn a_restarted_daemon_hands_out_no_pid_a_task_holds() {
        let dir = scratch("restart");
        let mut s = daemon_on(&dir);
        let (mut a, mut b, mut c) = (conn(1), conn(2), conn(3));
        let parent = spawn(&mut s, &mut a, 7000);
        let child = fork(&mut s, &mut a, &mut b, 7001);
        let zombie = fork(&mut s, &mut a, &mut c, 7002);
        send(&mut s, &mut c, Request::Exit { status: 5 << 8 });
        s.flush();
        // A fork in flight: reserved, not yet attached when the daemon dies.
        let in_flight = pid(send(&mut s, &mut a, Request::ReserveChild { token: 0 }));
        drop(s); // killed: nothing more is written

        let mut s = daemon_on(&dir);
        let mut n = conn(10);
        let fresh = spawn(&mut s, &mut n, 7100);
        assert!(![parent, child, zombie, in_flight].contains(&fresh), "pid {fresh} was handed out again");
        // The saved tasks are known before they re-register: kill and ps work.
        let mut admin = conn(11);
        assert_eq!(send(&mut s, &mut admin, Request::HostPid { pid: child }), Response::HostPid(7001));
        assert!(matches!(send(&mut s, &mut admin, Request::Get { pid: zombie }), Response::Task(Some(TaskEntry { state: TaskState::Zombie(0x500), ppid, .. })) if ppid == parent));
        // Each task re-registers under its pid; the daemon's tree stands.
        let (mut a2, mut b2, mut d2) = (conn(20), conn(21), conn(22));
        assert_eq!(reattach(&mut s, &mut a2, parent, 7000, 0), Response::Ok);
        assert_eq!(reattach(&mut s, &mut b2, child, 7001, 4242), Response::Ok);
        assert_eq!(pid(send(&mut s, &mut b2, Request::GetPpid)), parent, "the saved parent, not the task's stale copy");
        // The parent's kill of the child in flight waits for its attach
        // (rather than finding no such process); then it attaches here.
        assert_eq!(s.handle(&mut a2, &Request::Resolve { target: KillTarget::Pid(in_flight) }, true), Reply::WaitAttach);
        assert_eq!(send(&mut s, &mut d2, Request::AttachChild { pid: in_flight, host_pid: 7003 }), Response::Ok);
        assert_eq!(pid(send(&mut s, &mut d2, Request::GetPpid)), parent);
        assert_eq!(send(&mut s, &mut a2, Request::Resolve { target: KillTarget::Pid(in_flight) }), Response::Children(vec![(in_flight, 7003)]));
        // A restored zombie stays while its host process does: the parent
        // has not waited for it...
        s.sweep(None);
        assert!(matches!(send(&mut s, &mut admin, Request::Get { pid: zombie }), Response::Task(Some(_))));
        // ...and goes when the host process is gone altogether: the parent
        // waited, and its Reaped went to the daemon that died.
        kill_host(7002);
        s.sweep(None);
        assert_eq!(send(&mut s, &mut admin, Request::Get { pid: zombie }), Response::Task(None));
        assert_eq!(errno(send(&mut s, &mut a2, Request::Reaped { pid: zombie })), ECHILD);
        let mut e = conn(23);
        let next = fork(&mut s, &mut a2, &mut e, 7004);
        assert!(![parent, child, in_flight, fresh].contains(&next));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_re_registration_never_replaces_another_task() {
        let dir = scratch("conflict");
        let mut s = daemon_on(&dir);
        let (mut a, mut b) = (conn(1), conn(2));
        let p = spawn(&mut s, &mut a, 8000);
        let r = pid(send(&mut s, &mut a, Request::ReserveChild { token: 0 }));
        // Another process claiming a running task's pid, or a reservation of
        // another parent, is refused; the holder keeps its entry.
        assert_eq!(errno(reattach(&mut s, &mut b, p, 8999, 0)), EEXIST);
        assert_eq!(errno(reattach(&mut s, &mut b, r, 8998, 77)), EEXIST);
        assert_eq!(send(&mut s, &mut a, Request::HostPid { pid: p }), Response::HostPid(8000));
        assert_eq!(pid(send(&mut s, &mut a, Request::GetPpid)), INIT_PID, "the holder's connection is still bound");
        // The forked child of the reservation, whose attach was lost, is let in.
        assert_eq!(reattach(&mut s, &mut b, r, 8001, p), Response::Ok);
        assert_eq!(send(&mut s, &mut a, Request::Children { target: WaitTarget::Any }), Response::Children(vec![(r, 8001)]));
        // A zombie holds its pid until its parent reaps it.
        send(&mut s, &mut b, Request::Exit { status: 0 });
        let mut c = conn(3);
        assert_eq!(errno(reattach(&mut s, &mut c, r, 8997, p)), EEXIST);
        assert_eq!(send(&mut s, &mut a, Request::Reaped { pid: r }), Response::Ok);
        assert_eq!(reattach(&mut s, &mut c, r, 8997, p), Response::Ok, "free again once reaped");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn damaged_state_files_are_rebuilt_from_re_registrations() {
        let dir = scratch("damaged");
        let mut s = daemon_on(&dir);
        let (mut a, mut b) = (conn(1), conn(2));
        let p = spawn(&mut s, &mut a, 9000);
        let k = fork(&mut s, &mut a, &mut b, 9001);
        s.flush();
        drop(s);
        // A damaged table alone: the lease still keeps new pids clear of old ones.
        for slot in persist::TABLE_SLOTS {
            let table = dir.join(slot);
            let bytes = std::fs::read(&table).unwrap();
            std::fs::write(&table, &bytes[..bytes.len() / 2]).unwrap();
        }
        let mut s = daemon_on(&dir);
        assert_eq!(s.task_count(), 0);
        let mut n = conn(3);
        let fresh = spawn(&mut s, &mut n, 9100);
        assert!(fresh != p && fresh != k);
        assert_eq!(reattach(&mut s, &mut conn(4), p, 9000, 0), Response::Ok);
        assert_eq!(reattach(&mut s, &mut conn(5), k, 9001, p), Response::Ok);
        drop(s);
        // Both files garbage: the daemon still starts, and re-registrations rebuild it.
        for slot in persist::TABLE_SLOTS {
            std::fs::write(dir.join(slot), b"garbage").unwrap();
        }
        std::fs::write(dir.join(persist::LEASE_FILE), b"").unwrap();
        let mut s = daemon_on(&dir);
        assert_eq!(s.task_count(), 0);
        assert_eq!(reattach(&mut s, &mut conn(6), k, 9001, p), Response::Ok);
        let mut x = conn(7);
        let after = spawn(&mut s, &mut x, 9200);
        assert!(after > k, "the allocator moves past re-registered pids");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_pid_lease_is_renewed_before_it_runs_out() {
        let dir = scratch("lease");
        let mut s = daemon_on(&dir);
        let mut a = conn(1);
        let p = spawn(&mut s, &mut a, 9500);
        let mut last = p;
        for _ in 0..persist::PID_LEASE + 5 {
            last = pid(send(&mut s, &mut a, Request::ReserveChild { token: 0 }));
            assert_eq!(send(&mut s, &mut a, Request::Reaped { pid: last }), Response::Ok);
        }
        drop(s);
        let mut s = daemon_on(&dir);
        let mut b = conn(2);
        assert!(spawn(&mut s, &mut b, 9501) > last, "after every pid the old daemon handed out");
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn owner(r: Response) -> (Vpid, i32) {
        match r {
            Response::Owner { pid, host_pid } => (pid, host_pid),
            other => panic!("expected an owner, got {other:?}"),
        }
    }
    fn tids_listed(s: &mut State, c: &mut Conn, p: Vpid) -> Vec<Vpid> {
        match send(s, c, Request::Get { pid: p }) {
            Response::Task(Some(t)) => t.info.threads.iter().map(|t| t.tid).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tids_come_from_the_pid_space_and_go_with_the_task() {
        let mut s = state();
        let (mut a, mut b, mut admin) = (conn(1), conn(2), conn(3));
        let p = spawn(&mut s, &mut a, 1100);
        let t1 = pid(send(&mut s, &mut a, Request::NewTid));
        let t2 = pid(send(&mut s, &mut a, Request::NewTid));
        assert!(t1 != p && t2 != p && t1 != t2);
        assert_eq!(tids_listed(&mut s, &mut admin, p), vec![p, t1, t2], "the leader first, then each tid");
        // Another task never gets a tid that is in use.
        let other = spawn(&mut s, &mut b, 1101);
        assert!(other != t1 && other != t2);
        // Which task a tid belongs to: for kill(tid) and tgkill(tgid, tid).
        assert_eq!(owner(send(&mut s, &mut admin, Request::OwnerOf { tid: t1 })), (p, 1100));
        assert_eq!(owner(send(&mut s, &mut admin, Request::OwnerOf { tid: p })), (p, 1100));
        assert_eq!(errno(send(&mut s, &mut admin, Request::OwnerOf { tid: 4242 })), ESRCH);
        // kill(2) of a thread's tid reaches its thread group.
        assert_eq!(send(&mut s, &mut b, Request::Resolve { target: KillTarget::Pid(t2) }), Response::Children(vec![(p, 1100)]));
        // Only the owner releases a tid, once.
        assert_eq!(errno(send(&mut s, &mut b, Request::ReleaseTid { tid: t1 })), ESRCH);
        assert_eq!(send(&mut s, &mut a, Request::ReleaseTid { tid: t1 }), Response::Ok);
        assert_eq!(errno(send(&mut s, &mut a, Request::ReleaseTid { tid: t1 })), ESRCH);
        assert_eq!(errno(send(&mut s, &mut admin, Request::OwnerOf { tid: t1 })), ESRCH);
        assert_eq!(tids_listed(&mut s, &mut admin, p), vec![p, t2]);
        // The published names and states show; a tid not published shows the task's comm.
        let info = TaskInfo {
            comm: "srv".into(),
            threads: vec![ThreadInfo { tid: p, comm: "srv".into(), state: b'R' }, ThreadInfo { tid: t2, comm: "worker".into(), state: b'S' }],
            ..TaskInfo::default()
        };
        assert_eq!(send(&mut s, &mut a, Request::Update { info }), Response::Ok);
        let t3 = pid(send(&mut s, &mut a, Request::NewTid));
        let Response::Tasks(all) = send(&mut s, &mut admin, Request::List) else { panic!("no list") };
        let mine = all.iter().find(|t| t.pid == p).unwrap();
        let shown: Vec<(Vpid, &str, u8)> = mine.info.threads.iter().map(|t| (t.tid, t.comm.as_str(), t.state)).collect();
        assert_eq!(shown, vec![(p, "srv", b'R'), (t2, "worker", b'S'), (t3, "srv", b'S')]);
        // A thread that ended keeps its tid at the task (for reuse) but is
        // no longer shown once the task publishes without it; the saved
        // table still holds the tid.
        let info = TaskInfo { comm: "srv".into(), threads: vec![ThreadInfo { tid: p, comm: "srv".into(), state: b'S' }, ThreadInfo { tid: t3, comm: "srv".into(), state: b'S' }], ..TaskInfo::default() };
        assert_eq!(send(&mut s, &mut a, Request::Update { info }), Response::Ok);
        assert_eq!(tids_listed(&mut s, &mut admin, p), vec![p, t3]);
        assert_eq!(owner(send(&mut s, &mut admin, Request::OwnerOf { tid: t2 })), (p, 1100));
        let saved: Vec<Vpid> = saved_entry_of(&s.tasks[&p]).info.threads.iter().map(|t| t.tid).collect();
        assert_eq!(saved, vec![p, t2, t3]);
        // A task's tids go when it exits.
        assert_eq!(send(&mut s, &mut a, Request::Exit { status: 0 }), Response::Ok);
        assert_eq!(errno(send(&mut s, &mut admin, Request::OwnerOf { tid: t2 })), ESRCH);
        assert_eq!(errno(send(&mut s, &mut admin, Request::OwnerOf { tid: t3 })), ESRCH);
        // ...and when its host process vanishes.
        let t4 = pid(send(&mut s, &mut b, Request::NewTid));
        kill_host(1101);
        s.disconnect(&b);
        assert_eq!(errno(send(&mut s, &mut admin, Request::OwnerOf { tid: t4 })), ESRCH);
        assert!(s.tid_owner.is_empty());
    }

    #[test]
    fn joined_connections_speak_for_the_task_and_close_without_ending_it() {
        let mut s = state();
        let (mut a, mut b, mut c, mut d) = (conn(1), conn(2), conn(3), conn(4));
        let p = spawn(&mut s, &mut a, 1200);
        assert_eq!(errno(send(&mut s, &mut b, Request::Join { pid: p, host_pid: 9999 })), EPERM, "another host process");
        assert_eq!(errno(send(&mut s, &mut b, Request::Join { pid: 4242, host_pid: 1200 })), ESRCH);
        assert_eq!(send(&mut s, &mut b, Request::Join { pid: p, host_pid: 1200 }), Response::Ok);
        assert_eq!(errno(send(&mut s, &mut b, Request::Join { pid: p, host_pid: 1200 })), EBUSY);
        assert_eq!(pid(send(&mut s, &mut b, Request::GetPgid { pid: 0 })), p, "the joined connection is the task");
        let t = pid(send(&mut s, &mut b, Request::NewTid));
        assert_eq!(send(&mut s, &mut a, Request::ReleaseTid { tid: t }), Response::Ok, "one task, whichever connection");
        // A joined connection closing while the process lives ends nothing.
        s.disconnect(&b);
        assert!(matches!(send(&mut s, &mut d, Request::Get { pid: p }), Response::Task(Some(TaskEntry { state: TaskState::Running, .. }))));
        assert_eq!(pid(send(&mut s, &mut a, Request::GetPpid)), INIT_PID);
        // The task makes a joined connection its registering one (its own
        // was lost): the old one stays joined, and its closing ends nothing.
        assert_eq!(send(&mut s, &mut c, Request::Join { pid: p, host_pid: 1200 }), Response::Ok);
        let re = Request::Reattach { pid: p, host_pid: 1200, ppid: 0, pgid: p, sid: p, info: TaskInfo::default() };
        assert_eq!(send(&mut s, &mut c, re), Response::Ok);
        assert_eq!(pid(send(&mut s, &mut a, Request::GetPpid)), INIT_PID, "the old registering connection still speaks");
        s.disconnect(&c);
        assert_eq!(pid(send(&mut s, &mut a, Request::GetPpid)), INIT_PID);
        // A joined connection that closes with its host process gone ends the task.
        let mut e = conn(5);
        assert_eq!(send(&mut s, &mut e, Request::Join { pid: p, host_pid: 1200 }), Response::Ok);
        kill_host(1200);
        s.disconnect(&e);
        assert!(matches!(send(&mut s, &mut d, Request::Get { pid: p }), Response::Task(None) | Response::Task(Some(TaskEntry { state: TaskState::Zombie(9), .. }))));
        // Zombies and reservations cannot be joined.
        let mut f = conn(6);
        let q = spawn(&mut s, &mut f, 1201);
        let r = pid(send(&mut s, &mut f, Request::ReserveChild { token: 0 }));
        assert_eq!(errno(send(&mut s, &mut conn(7), Request::Join { pid: r, host_pid: 1201 })), ESRCH);
        let _ = q;
    }

    #[test]
    fn tids_survive_a_restart() {
        let dir = scratch("tids");
        let mut s = daemon_on(&dir);
        let mut a = conn(1);
        let p = spawn(&mut s, &mut a, 1300);
        let t = pid(send(&mut s, &mut a, Request::NewTid));
        s.flush();
        // Handed out after the last save: the lease keeps it clear too.
        let late = pid(send(&mut s, &mut a, Request::NewTid));
        drop(s);
        let mut s = daemon_on(&dir);
        let mut admin = conn(2);
        assert_eq!(owner(send(&mut s, &mut admin, Request::OwnerOf { tid: t })), (p, 1300));
        let fresh = spawn(&mut s, &mut conn(3), 1301);
        assert!(![p, t, late].contains(&fresh));
        // The task re-registers listing its threads: the late one is known again.
        let threads = [p, t, late].iter().map(|&tid| ThreadInfo { tid, comm: "x".into(), state: b'S' }).collect();
        let re = Request::Reattach { pid: p, host_pid: 1300, ppid: 0, pgid: p, sid: p, info: TaskInfo { threads, ..TaskInfo::default() } };
        assert_eq!(send(&mut s, &mut conn(4), re), Response::Ok);
        assert_eq!(owner(send(&mut s, &mut admin, Request::OwnerOf { tid: late })), (p, 1300));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn requests_sent_again_after_a_restart_are_answered_once() {
        let dir = scratch("again");
        let mut s = daemon_on(&dir);
        let mut a = conn(1);
        let p = spawn(&mut s, &mut a, 6000);
        let r = pid(send(&mut s, &mut a, Request::ReserveChild { token: 7 }));
        drop(s); // killed before either answer arrived
        let mut s = daemon_on(&dir);
        let mut a2 = conn(10);
        assert_eq!(spawn(&mut s, &mut a2, 6000), p, "the same process spawning again is the same task");
        assert_eq!(pid(send(&mut s, &mut a2, Request::ReserveChild { token: 7 })), r, "the same fork");
        let other = pid(send(&mut s, &mut a2, Request::ReserveChild { token: 8 }));
        assert_ne!(other, r, "another fork");
        assert_eq!(s.task_count(), 3);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
