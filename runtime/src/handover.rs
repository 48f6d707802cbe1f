//! The state a task carries across execve.
//!
//! execve re-executes the mactux binary itself (`mactux __resume FD`) with
//! the task's state in an anonymous host file: the virtual pid and the
//! daemon connection, the fds the guest keeps (close-on-exec ones are gone),
//! cwd, umask, root, ignored signals, the signal mask, the credentials,
//! the children it may still wait for, and the program to load with its argv and envp.

use crate::task::Config;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct FdState {
    pub guest_fd: i32,
    /// Fds with the same number here share one open file description
    /// (dup, inheritance): one file offset, one set of status flags.
    pub open_file: u32,
    /// The host fd, kept open across the host exec (`None`: reopen by path).
    pub host_fd: Option<i32>,
    pub status: u32,
    pub guest_path: String,
    pub is_dir: bool,
    /// The guest-visible inode number when it is not the host's.
    pub ino: Option<u64>,
    /// What a kind the runtime serves carries of itself (an eventfd's
    /// counter, an epoll's interest list...): see `FileOps::exec_state`.
    /// Set on the first fd of each open file description.
    pub kind: Option<KindState>,
    /// Signal-driven I/O's owner and signal (the open file description's,
    /// which execve keeps); a file with O_ASYNC is armed again for the new
    /// image's watcher (task/sigio.rs).
    pub async_owner: crate::vfs::file::AsyncOwner,
    /// Directory notification (F_NOTIFY) of the open file, which execve
    /// keeps: the fd it was set through and its DN_* bits
    /// (task/dnotify.rs). Set on the first fd of each open file.
    pub dnotify: Option<(i32, u32)>,
}

/// One open file description of a kind the runtime serves, as it crosses
/// execve: the kind's name (which finds its restore function in
/// `syscall::EXEC_KINDS`), its own state encoded by itself, and the host
/// fds it keeps open across the host exec (the numbers stay the same).
/// The same state carries a file to another process through SCM_RIGHTS
/// (vfs/in_flight.rs); there its host fds arrive under other numbers.
#[derive(Serialize, Deserialize)]
pub struct KindState {
    pub kind: String,
    pub data: Vec<u8>,
    pub host_fds: Vec<i32>,
    /// Where each of `host_fds` is in this process when the state came from
    /// another process (`(sent, here)`), set by [`KindState::arrived_with`];
    /// None across execve, which keeps the numbers.
    #[serde(skip)]
    renumbered: Option<Vec<(i32, i32)>>,
    /// The renumbered fds the kind's restore took ([`KindState::fd`]), and
    /// whether it asked for one it could not have.
    #[serde(skip)]
    taken: std::sync::Mutex<(Vec<i32>, bool)>,
}

impl KindState {
    /// A kind's state: `state` encoded, with the host fds it needs.
    pub fn new<T: Serialize>(kind: &str, state: &T, host_fds: Vec<i32>) -> Option<KindState> {
        let data = bincode::serde::encode_to_vec(state, config()).ok()?;
        Some(KindState { kind: kind.to_string(), data, host_fds, renumbered: None, taken: Default::default() })
    }

    /// The number in this process of host fd `sent`, which the state names,
    /// for a restore to take over. A state that came from another process
    /// (renumbered) names only fds that came with it, each once: anything
    /// else is -1, which no host call takes, and marks the state
    /// ([`KindState::asked_amiss`]) so that what was made of it is refused.
    pub fn fd(&self, sent: i32) -> i32 {
        let Some(renumbered) = &self.renumbered else { return sent };
        let mut taken = self.taken.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match renumbered.iter().find(|&&(s, _)| s == sent) {
            Some(&(_, here)) if !taken.0.contains(&here) => {
                taken.0.push(here);
                here
            }
            _ => {
                taken.1 = true;
                -1
            }
        }
    }

    /// Whether a restore asked [`KindState::fd`] for an fd that did not
    /// come with the state, or for one twice.
    pub fn asked_amiss(&self) -> bool {
        self.taken.lock().unwrap_or_else(std::sync::PoisonError::into_inner).1
    }

    /// The renumbered fds a restore did not take (a state that names fewer
    /// than came with it), for the caller to close.
    pub fn untaken(&self) -> Vec<i32> {
        let taken = self.taken.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.arrived_fds().into_iter().filter(|h| !taken.0.contains(h)).collect()
    }

    /// Marks the state as come from another process with `here`, the host
    /// fds that came with it, in the order of `host_fds`.
    pub fn arrived_with(&mut self, here: &[i32]) {
        self.renumbered = Some(self.host_fds.iter().copied().zip(here.iter().copied()).collect());
    }

    /// The host fds the state came with from another process.
    pub fn arrived_fds(&self) -> Vec<i32> {
        self.renumbered.iter().flatten().map(|&(_, here)| here).collect()
    }

    /// The kind's own state back, or None when it does not decode.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        bincode::serde::decode_from_slice(&self.data, config()).ok().map(|(t, _)| t)
    }
}

#[derive(Serialize, Deserialize)]
pub struct DaemonState {
    pub fd: i32,
    pub daemon_pid: i32,
    /// The connection's Hello and registration were posted and are not
    /// answered yet (a fork child's first connection, made at its execve).
    pub is_handshake_owed: bool,
    pub pid: i32,
    pub ppid: i32,
    pub pgid: i32,
    pub sid: i32,
}

#[derive(Serialize, Deserialize)]
pub struct Handover {
    pub config: Config,
    pub pid: u32,
    /// The guest path of the program to run (symlinks resolved), the name
    /// it was executed by (for a script's interpreter and AT_EXECFN), and
    /// its argv and envp.
    pub path: String,
    pub execfn: String,
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    pub cwd: String,
    pub umask: u32,
    pub fds: Vec<FdState>,
    pub sig_ignored: u64,
    pub sig_mask: u64,
    /// Pending signals (siginfo bytes, and whether si_pid is still a host
    /// pid): execve keeps them, as it keeps the mask that holds them.
    pub sig_pending: Vec<(Vec<u8>, bool)>,
    /// RLIMIT_AS as the guest set it, personality, scheduling policy.
    pub kept: crate::syscall::identity::KeptAcrossExec,
    /// The credentials before the exec; the loader applies execve's rules
    /// to them for the new program (set-id bits, capabilities).
    pub cred: crate::task::Cred,
    pub daemon: Option<DaemonState>,
    /// Children (pid, host pid) the task may still wait for.
    pub children: Vec<(i32, i32)>,
    pub start_uptime: f64,
}

/// argv and envp may together reach Linux's limit (a quarter of the stack
/// limit); the state file allows more than that.
const MAX_STATE: usize = 64 << 20;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_STATE>()
}

/// A state up to this size goes through a pipe, which holds at least this
/// much on both hosts, so the write never waits for a reader.
const PIPE_STATE: usize = 16 << 10;

/// Writes the state where the re-executed runtime reads it and returns
/// that fd. A small state (the usual case) waits in a pipe across the host
/// exec: no file to create, and the guest's RLIMIT_FSIZE, which this host
/// process carries, cannot refuse the write (nor raise SIGXFSZ). A larger
/// one goes to an anonymous file, positioned at 0.
pub fn write(h: &Handover) -> Result<i32, String> {
    let bytes = bincode::serde::encode_to_vec(h, config()).map_err(|e| format!("cannot encode the task state: {e}"))?;
    if bytes.len() <= PIPE_STATE {
        if let Ok((rd, wr)) = crate::host::fs::pipe() {
            let written = crate::host::fs::write_all(wr, &bytes);
            crate::host::fs::close(wr);
            match written {
                Ok(()) => return Ok(rd),
                Err(_) => crate::host::fs::close(rd),
            }
        }
    }
    let fd = crate::host::fs::anonymous_file(&std::env::temp_dir(), "mactux-handover-").map_err(|e| e.text().to_string())?;
    if let Err(e) = crate::host::fs::write_all(fd, &bytes) {
        crate::host::fs::close(fd);
        return Err(format!("cannot write the task state: {}", e.text()));
    }
    crate::host::fs::lseek(fd, 0, linux_raw_sys::general::SEEK_SET).map_err(|e| e.text().to_string())?;
    Ok(fd)
}

/// Reads the state back in the re-executed runtime and closes the fd.
pub fn read(fd: i32) -> Result<Handover, String> {
    let read = crate::host::fs::read_to_end(fd, MAX_STATE);
    crate::host::fs::close(fd);
    let (data, too_large) = read.map_err(|e| format!("cannot read the task state: {}", e.text()))?;
    if too_large {
        return Err("the task state is too large".into());
    }
    bincode::serde::decode_from_slice(&data, config())
        .map(|(h, _)| h)
        .map_err(|e| format!("the task state is corrupt: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kinds_state_round_trips_and_a_wrong_one_does_not_decode() {
        let k = KindState::new("eventfd", &(true, 7i32, Some((3i32, 4i32))), vec![7, 3, 4]).expect("encodes");
        assert_eq!(k.decode::<(bool, i32, Option<(i32, i32)>)>(), Some((true, 7, Some((3, 4)))));
        let short = KindState { kind: "eventfd".into(), data: vec![1], host_fds: Vec::new(), renumbered: None, taken: Default::default() };
        assert!(short.decode::<(bool, i32, Option<(i32, i32)>)>().is_none());
    }

    #[test]
    fn a_state_from_another_process_names_only_the_fds_it_came_with_once() {
        let mut k = KindState::new("eventfd", &0u8, vec![7, 3, 4]).expect("encodes");
        // Across execve the numbers are kept.
        assert_eq!(k.fd(7), 7);
        assert!(k.arrived_fds().is_empty());
        k.arrived_with(&[20, 21, 22]);
        assert_eq!(k.fd(7), 20);
        assert!(!k.asked_amiss());
        assert_eq!(k.fd(7), -1, "taken twice");
        assert!(k.asked_amiss());
        assert_eq!(k.fd(5), -1, "not among those that came");
        assert_eq!(k.fd(4), 22);
        assert_eq!(k.untaken(), vec![21]);
        assert_eq!(k.arrived_fds(), vec![20, 21, 22]);
    }

    #[test]
    fn every_kind_that_crosses_execve_has_its_own_name() {
        let names: Vec<&str> = crate::syscall::EXEC_KINDS.iter().map(|k| k.name).collect();
        for (i, n) in names.iter().enumerate() {
            assert!(!names[..i].contains(n), "{n} is listed twice");
        }
        let unknown = KindState { kind: "no such kind".into(), data: Vec::new(), host_fds: Vec::new(), renumbered: None, taken: Default::default() };
        assert!(crate::syscall::restore_after_exec(&unknown, &crate::vfs::file::ExecObjects::default()).is_err());
    }
}
