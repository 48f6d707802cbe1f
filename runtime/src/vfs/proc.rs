//! `/proc` as the runtime serves it, in the formats procps and psutil parse
//! (Documentation/filesystems/proc.rst, fs/proc/array.c).
//!
//! Divergences from Linux:
//! - Contents are generated when the file is opened, not on each read.
//! - Only the current process is listed until the daemon owns the PID
//!   namespace; its pid is the host pid.
//! - CPU time counters in /proc/stat are not available portably; they are
//!   derived from uptime (idle) and the process's own usage.
//! - /proc/PID/task/TID of a thread other than the leader has its own stat,
//!   status and comm; its other entries are the process's. Another task's
//!   thread list is what the daemon knows (its tids, and the names and
//!   states the task last published); per-thread CPU times are the
//!   process's.

use super::{DirEnt, Synth};
use crate::error::Result;
use crate::host;
use crate::task::{current, lock};
use crate::{errno, return_errno};
use std::fmt::Write;

const DT_DIR: u8 = 4;
/// include/linux/sched.h: a comm holds 15 bytes and a NUL.
const TASK_COMM_LEN: usize = 16;
const DT_REG: u8 = 8;
const DT_LNK: u8 = 10;

fn dir(base: &str, items: &[(&str, u8)]) -> Synth {
    Synth::Dir(
        items
            .iter()
            .map(|(n, t)| DirEnt { name: n.as_bytes().to_vec(), d_type: *t, ino: super::synth_ino(&format!("{base}/{n}")) })
            .collect(),
    )
}

fn file(with_content: bool, f: impl FnOnce() -> String) -> Result<Synth> {
    Ok(Synth::File(if with_content { f().into_bytes() } else { Vec::new() }))
}

fn file_bytes(with_content: bool, f: impl FnOnce() -> Vec<u8>) -> Result<Synth> {
    Ok(Synth::File(if with_content { f() } else { Vec::new() }))
}

/// The entry at `/proc/<rel...>`.
pub fn entry(rel: &[&str], c: bool) -> Result<Synth> {
    let pid = current().pid();
    let pid_s = pid.to_string();
    match rel {
        [] => {
            // Linux lists the fixed entries first, then self, thread-self and
            // every pid in ascending order (ps and top show tasks in that order).
            // (A path walk only needs to know this is a directory.)
            let mut pids: Vec<i32> = if c { other_tasks().iter().map(|t| t.pid).collect() } else { Vec::new() };
            pids.push(pid as i32);
            pids.sort_unstable();
            pids.dedup();
            let pids: Vec<String> = pids.iter().map(i32::to_string).collect();
            let mut items: Vec<(&str, u8)> = Vec::new();
            for n in ["cpuinfo", "meminfo", "vmstat", "version", "uptime", "stat", "filesystems", "loadavg", "cmdline"] {
                items.push((n, DT_REG));
            }
            items.push(("mounts", DT_LNK));
            items.push(("net", DT_LNK));
            items.push(("sys", DT_DIR));
            items.push(("sysvipc", DT_DIR));
            items.push(("self", DT_LNK));
            items.push(("thread-self", DT_LNK));
            items.extend(pids.iter().map(|p| (p.as_str(), DT_DIR)));
            Ok(dir("/proc", &items))
        }
        ["self", ..] if rel.len() == 1 => Ok(Synth::Symlink(pid_s.into_bytes())),
        ["thread-self"] => {
            let tid = crate::trap::calling_tid().unwrap_or(pid);
            Ok(Synth::Symlink(format!("{pid}/task/{tid}").into_bytes()))
        }
        ["mounts"] => Ok(Synth::Symlink(b"self/mounts".to_vec())),
        ["net"] => Ok(Synth::Symlink(b"self/net".to_vec())),
        ["cpuinfo"] => file(c, cpuinfo),
        ["meminfo"] => file(c, meminfo),
        ["vmstat"] => file(c, vmstat),
        ["version"] => file(c, || {
            let id = &current().config.identity;
            format!("Linux version {} (mactux@mactux) (rustc) {}\n", id.release, id.version)
        }),
        ["uptime"] => file(c, || {
            let (up, _) = host::process::uptime_and_load();
            let idle = up * f64::from(host::process::cpu_count());
            format!("{up:.2} {idle:.2}\n")
        }),
        ["loadavg"] => file(c, || {
            let (_, l) = host::process::uptime_and_load();
            // Runnable/total tasks of the namespace and its most recent pid.
            let tasks = other_tasks();
            let total = tasks.len().max(1);
            let last = tasks.iter().map(|t| t.pid).max().unwrap_or(pid as i32);
            format!("{:.2} {:.2} {:.2} 1/{total} {last}\n", l[0], l[1], l[2])
        }),
        ["stat"] => file(c, stat),
        ["cmdline"] => file(c, || "BOOT_IMAGE=mactux\n".into()),
        ["filesystems"] => file(c, || {
            ["nodev\tsysfs", "nodev\ttmpfs", "nodev\tproc", "nodev\tdevtmpfs", "nodev\tdevpts", "nodev\tpipefs", "\text4", "\tapfs"]
                .iter()
                .fold(String::new(), |mut s, l| {
                    let _ = writeln!(s, "{l}");
                    s
                })
        }),
        ["sys", rest @ ..] => sys_entry(rest, c),
        ["sysvipc"] => Ok(dir("/proc/sysvipc", &[("msg", DT_REG), ("sem", DT_REG), ("shm", DT_REG)])),
        ["sysvipc", kind @ ("shm" | "sem" | "msg")] => file(c, || sysvipc(kind)),
        [p, rest @ ..] if *p == pid_s => pid_entry(&format!("/proc/{pid}"), rest, c, true),
        [p, rest @ ..] if p.bytes().all(|b| b.is_ascii_digit()) => match other_task(p) {
            Some(t) => other_entry(&format!("/proc/{p}"), &t, rest, c, true),
            None => return_errno!(ENOENT),
        },
        [p] if *p == "self" => Ok(Synth::Symlink(pid_s.into_bytes())),
        _ => return_errno!(ENOENT),
    }
}

/// /proc/PID/net: every task is in the host's network namespace
/// (vfs/procnet.rs).
fn net_entry(base: &str, rel: &[&str], c: bool) -> Result<Synth> {
    match rel {
        [] => {
            let items: Vec<(&str, u8)> = super::procnet::files().into_iter().map(|f| (f, DT_REG)).collect();
            Ok(dir(&format!("{base}/net"), &items))
        }
        [name] if super::procnet::files().contains(name) => file(c, || super::procnet::render(name).unwrap_or_default()),
        _ => return_errno!(ENOENT),
    }
}

fn sys_entry(rel: &[&str], c: bool) -> Result<Synth> {
    let id = &current().config.identity;
    match rel {
        [] => Ok(dir("/proc/sys", &[("kernel", DT_DIR), ("vm", DT_DIR)])),
        ["kernel"] => Ok(dir(
            "/proc/sys/kernel",
            &[("random", DT_DIR), ("hostname", DT_REG), ("domainname", DT_REG), ("osrelease", DT_REG), ("ostype", DT_REG), ("version", DT_REG), ("pid_max", DT_REG), ("ngroups_max", DT_REG)],
        )),
        ["kernel", "random"] => Ok(dir("/proc/sys/kernel/random", &[("uuid", DT_REG), ("boot_id", DT_REG)])),
        ["kernel", "random", "uuid"] => file(c, random_uuid),
        ["kernel", "random", "boot_id"] => file(c, boot_id),
        ["kernel", "hostname"] => file(c, || format!("{}\n", String::from_utf8_lossy(&crate::syscall::identity::nodename()))),
        ["kernel", "domainname"] => file(c, || format!("{}\n", String::from_utf8_lossy(&crate::syscall::identity::domainname()))),
        ["kernel", "osrelease"] => file(c, || format!("{}\n", id.release)),
        ["kernel", "ostype"] => file(c, || format!("{}\n", id.sysname)),
        ["kernel", "version"] => file(c, || format!("{}\n", id.version)),
        ["kernel", "pid_max"] => file(c, || "4194304\n".into()),
        ["kernel", "ngroups_max"] => file(c, || "65536\n".into()),
        ["vm"] => Ok(dir("/proc/sys/vm", &[("overcommit_memory", DT_REG)])),
        ["vm", "overcommit_memory"] => file(c, || "0\n".into()),
        _ => return_errno!(ENOENT),
    }
}

/// A version-4 UUID in the kernel's text form (drivers/char/random.c).
fn format_uuid(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}\n", h[0..4].concat(), h[4..6].concat(), h[6..8].concat(), h[8..10].concat(), h[10..16].concat())
}

fn random_uuid() -> String {
    let mut b = [0u8; 16];
    let _ = host::process::random(&mut b);
    format_uuid(b)
}

/// Stable for the life of the host boot: derived from the boot time.
fn boot_id() -> String {
    let (up, _) = host::process::uptime_and_load();
    let now = host::time::clock_gettime(crate::abi::gen::CLOCK_REALTIME).map(|t| t.sec).unwrap_or(0);
    let boot = (now - up as i64) as u64;
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&boot.to_le_bytes());
    b[8..].copy_from_slice(&(boot.rotate_left(17) ^ 0x6d61_6374_7578_0000).to_le_bytes());
    format_uuid(b)
}

/// The entries of a /proc/PID directory; `is_self` adds what only the
/// task itself can produce (its memory map, mounts and fd details).
fn pid_dir(base: &str, is_self: bool, with_task: bool) -> Synth {
    const COMMON: &[(&str, u8)] = &[
        ("exe", DT_LNK),
        ("cwd", DT_LNK),
        ("root", DT_LNK),
        ("cmdline", DT_REG),
        ("comm", DT_REG),
        ("environ", DT_REG),
        ("stat", DT_REG),
        ("statm", DT_REG),
        ("status", DT_REG),
        ("fd", DT_DIR),
        ("maps", DT_REG),
        ("cgroup", DT_REG),
        ("ns", DT_DIR),
        ("net", DT_DIR),
    ];
    const SELF_ONLY: &[(&str, u8)] =
        &[("mounts", DT_REG), ("mountinfo", DT_REG), ("fdinfo", DT_DIR), ("limits", DT_REG), ("personality", DT_REG)];
    let mut items = COMMON.to_vec();
    if is_self {
        items.extend_from_slice(SELF_ONLY);
    }
    if with_task {
        items.push(("task", DT_DIR));
    }
    dir(base, &items)
}

/// What /proc/PID/fd/N reads: the file's path, with " (deleted)" once
/// its last name is gone, as Linux's d_path shows an unlinked file; and
/// whether it still has a name to follow.
fn fd_target(file: &super::file::OpenFile) -> (Vec<u8>, bool) {
    let mut target = super::path::to_bytes(&file.guest_path);
    let unlinked = file.host_fd().and_then(|fd| host::fs::fstat(fd).ok()).is_some_and(|st| {
        st.nlink == 0 && st.mode & crate::abi::gen::S_IFMT == crate::abi::gen::S_IFREG
    });
    if unlinked {
        target.extend_from_slice(b" (deleted)");
    }
    (target, !unlinked)
}

fn pid_entry(base: &str, rel: &[&str], c: bool, with_task: bool) -> Result<Synth> {
    let p = current();
    match rel {
        [] => Ok(pid_dir(base, true, with_task)),
        ["exe"] => Ok(Synth::Symlink(super::path::to_bytes(&lock(&p.exe)))),
        ["cwd"] => Ok(Synth::Symlink(super::path::to_bytes(&lock(&p.fs).cwd))),
        ["root"] => Ok(Synth::Symlink(b"/".to_vec())),
        ["net", rest @ ..] => net_entry(base, rest, c),
        ["cmdline"] => file_bytes(c, || nul_joined(&lock(&p.argv))),
        ["environ"] => file_bytes(c, || nul_joined(&lock(&p.envp))),
        ["comm"] => file_bytes(c, || comm_line(&lock(&p.comm))),
        ["maps"] => file(c, || lock(&p.mm).render_maps()),
        ["stat"] => file(c, || {
            let comm = lock(&p.comm).clone();
            pid_stat(p.pid(), &comm)
        }),
        ["statm"] => file(c, || {
            let (vsz, rss) = sizes();
            format!("{} {} 0 0 0 0 0\n", vsz / 4096, rss / 4096)
        }),
        ["status"] => file(c, || {
            let comm = lock(&p.comm).clone();
            pid_status(p.pid(), &comm)
        }),
        ["ns", rest @ ..] => ns_entry(base, rest),
        ["mounts"] => file(c, mounts),
        ["mountinfo"] => file(c, mountinfo),
        ["cgroup"] => file(c, || host::process::cgroup_of(0).unwrap_or_default()),
        ["limits"] => file(c, limits),
        ["personality"] => file(c, || format!("{:08x}\n", crate::syscall::identity::persona())),
        ["fd"] => {
            let fds = lock(&p.fds);
            let names: Vec<String> = fds.iter().map(|(fd, _)| fd.to_string()).collect();
            Ok(Synth::Dir(
                names.iter().map(|n| DirEnt { name: n.clone().into_bytes(), d_type: DT_LNK, ino: super::synth_ino(&format!("{base}/fd/{n}")) }).collect(),
            ))
        }
        ["fd", n] => {
            let fd: i32 = n.parse().map_err(|_| errno!(ENOENT))?;
            let file = lock(&p.fds).get(fd).map_err(|_| errno!(ENOENT))?;
            let (target, by_path) = fd_target(&file);
            Ok(Synth::FdLink { fd, target, by_path })
        }
        ["fdinfo"] => {
            let fds = lock(&p.fds);
            Ok(Synth::Dir(
                fds.iter()
                    .map(|(fd, _)| DirEnt { name: fd.to_string().into_bytes(), d_type: DT_REG, ino: super::synth_ino(&format!("{base}/fdinfo/{fd}")) })
                    .collect(),
            ))
        }
        ["fdinfo", n] => {
            let fd: i32 = n.parse().map_err(|_| errno!(ENOENT))?;
            let entry = lock(&p.fds).entry(fd).map_err(|_| errno!(ENOENT))?.clone();
            file(c, || {
                let pos = entry.file.seek(0, crate::abi::gen::SEEK_CUR).unwrap_or(0);
                let mut flags = entry.file.status();
                if entry.cloexec {
                    flags |= crate::abi::gen::O_CLOEXEC;
                }
                let ino = entry.file.stat().map(|s| s.ino).unwrap_or(0);
                let own = entry.file.ops().fdinfo();
                format!("pos:\t{pos}\nflags:\t0{flags:o}\nmnt_id:\t0\nino:\t{ino}\n{own}")
            })
        }
        ["task"] if with_task => {
            let tids: Vec<String> = crate::task::thread_list().iter().map(|(tid, _)| tid.to_string()).collect();
            let items: Vec<(&str, u8)> = tids.iter().map(|t| (t.as_str(), DT_DIR)).collect();
            Ok(dir(&format!("{base}/task"), &items))
        }
        ["task", t, rest @ ..] if with_task => {
            let threads = crate::task::thread_list();
            let Some((tid, comm)) = threads.into_iter().find(|(tid, _)| tid.to_string() == *t) else { return_errno!(ENOENT) };
            let base = format!("{base}/task/{t}");
            match rest {
                [] => Ok(thread_dir(&base, true)),
                ["stat"] => file(c, || pid_stat(tid, &comm)),
                ["status"] => file(c, || pid_status(tid, &comm)),
                ["comm"] => file_bytes(c, || comm_line(&comm)),
                _ => pid_entry(&base, rest, c, false),
            }
        }
        _ => return_errno!(ENOENT),
    }
}

/// The entries of /proc/PID/task/TID: those of /proc/PID without `task`.
fn thread_dir(base: &str, is_self: bool) -> Synth {
    pid_dir(base, is_self, false)
}

/// /proc/PID/comm: the name and a newline.
fn comm_line(comm: &[u8]) -> Vec<u8> {
    let mut v = comm.to_vec();
    v.push(b'\n');
    v
}

/// Whether `/proc/<rel...>` may be opened for writing: the `comm` of a task
/// or of one of its threads (mode 0644 on Linux).
pub fn is_writable(rel: &[&str]) -> bool {
    let is_id = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match rel {
        [p, "comm"] => is_id(p) || *p == "self" || *p == "thread-self",
        [p, "task", t, "comm"] => (is_id(p) || *p == "self") && is_id(t),
        _ => false,
    }
}

/// A write to `/proc/<rel...>` (one [`is_writable`] allows). Writing a
/// thread's comm sets it, as fs/proc/base.c `comm_write` does: the first
/// 15 bytes, up to a NUL, a newline included (`echo name >` leaves one),
/// and the whole count is reported written. Only the task's own threads
/// can be renamed: EINVAL for another task's, ESRCH for a thread that is gone.
pub fn write(rel: &[&str], data: &[u8]) -> Result<usize> {
    let me = current().pid();
    let own = |p: &str| p == "self" || p.parse::<u32>().is_ok_and(|n| n == me);
    let tid = match rel {
        [p, "comm"] if own(p) => me,
        ["thread-self", "comm"] => crate::trap::calling_tid().unwrap_or(me),
        [p, "task", t, "comm"] if own(p) => t.parse::<u32>().map_err(|_| errno!(ENOENT))?,
        [_, "comm"] | [_, "task", _, "comm"] => {
            return Err(crate::error::Error::with_message(crate::abi::Errno::EINVAL, "only a thread of the writing task can be renamed"))
        }
        _ => return_errno!(EACCES),
    };
    let mut comm = data[..data.len().min(TASK_COMM_LEN - 1)].to_vec();
    if let Some(n) = comm.iter().position(|&b| b == 0) {
        comm.truncate(n);
    }
    crate::task::set_thread_comm(tid, comm)?;
    Ok(data.len())
}

/// Every task of the user, from the daemon (empty when standalone).
fn other_tasks() -> Vec<mactux_proto::TaskEntry> {
    if crate::daemon::is_standalone() {
        return Vec::new();
    }
    match crate::daemon::call(&mactux_proto::Request::List) {
        Ok(mactux_proto::Response::Tasks(t)) => t,
        _ => Vec::new(),
    }
}

fn other_task(pid_s: &str) -> Option<mactux_proto::TaskEntry> {
    let pid: i32 = pid_s.parse().ok()?;
    if crate::daemon::is_standalone() {
        return None;
    }
    match crate::daemon::call(&mactux_proto::Request::Get { pid }) {
        Ok(mactux_proto::Response::Task(t)) => t,
        _ => None,
    }
}

/// Seconds since the epoch at which the host booted.
fn boot_time() -> f64 {
    let (up, _) = host::process::uptime_and_load();
    let now = host::time::clock_gettime(crate::abi::gen::CLOCK_REALTIME).map(|t| t.sec as f64 + t.nsec as f64 / 1e9).unwrap_or(0.0);
    now - up
}

/// /proc/PID for a task of another host process: what the daemon knows of it,
/// plus the host's figures for its CPU time and memory.
fn other_entry(base: &str, t: &mactux_proto::TaskEntry, rel: &[&str], c: bool, with_task: bool) -> Result<Synth> {
    let info = &t.info;
    match rel {
        [] => Ok(pid_dir(base, false, with_task)),
        ["exe"] => Ok(Synth::Symlink(super::path::to_bytes(&info.exe))),
        ["cwd"] => Ok(Synth::Symlink(super::path::to_bytes(&info.cwd))),
        ["root"] => Ok(Synth::Symlink(b"/".to_vec())),
        ["net", rest @ ..] => net_entry(base, rest, c),
        ["cmdline"] => file_bytes(c, || if matches!(t.state, mactux_proto::TaskState::Zombie(_)) { Vec::new() } else { nul_joined(&info.argv) }),
        ["comm"] => file(c, || format!("{}\n", info.comm)),
        ["environ"] => file_bytes(c, || nul_joined(&info.environ)),
        ["stat"] => file(c, || other_stat(t, &leader_of(t))),
        ["statm"] => file(c, || {
            let u = usage_of_task(t);
            format!("{} {} 0 0 0 0 0\n", u.vsize / 4096, u.rss_pages)
        }),
        ["status"] => file(c, || other_status(t, &leader_of(t))),
        // What the task published when it last went to sleep.
        ["fd"] => Ok(Synth::Dir(
            info.fds
                .iter()
                .map(|(fd, _)| DirEnt { name: fd.to_string().into_bytes(), d_type: DT_LNK, ino: super::synth_ino(&format!("{base}/fd/{fd}")) })
                .collect(),
        )),
        ["fd", n] => {
            let fd: i32 = n.parse().map_err(|_| errno!(ENOENT))?;
            let (_, target) = info.fds.iter().find(|(f, _)| *f == fd).ok_or_else(|| errno!(ENOENT))?;
            match info.fd_nodes.iter().find(|n| n.fd == fd) {
                Some(&node) => Ok(Synth::NodeLink { target: target.clone(), node }),
                None => Ok(Synth::Symlink(target.clone())),
            }
        }
        ["maps"] => file_bytes(c, || info.maps.clone()),
        ["cgroup"] => file(c, || host::process::cgroup_of(t.host_pid).unwrap_or_default()),
        ["ns", rest @ ..] => ns_entry(base, rest),
        ["task"] if with_task => {
            let tids: Vec<String> = threads_of(t).iter().map(|th| th.tid.to_string()).collect();
            let items: Vec<(&str, u8)> = tids.iter().map(|t| (t.as_str(), DT_DIR)).collect();
            Ok(dir(&format!("{base}/task"), &items))
        }
        ["task", tid, rest @ ..] if with_task => {
            let Some(th) = threads_of(t).into_iter().find(|th| th.tid.to_string() == *tid) else { return_errno!(ENOENT) };
            let base = format!("{base}/task/{tid}");
            match rest {
                [] => Ok(thread_dir(&base, false)),
                ["stat"] => file(c, || other_stat(t, &th)),
                ["status"] => file(c, || other_status(t, &th)),
                ["comm"] => file(c, || format!("{}\n", th.comm)),
                _ => other_entry(&base, t, rest, c, false),
            }
        }
        _ => return_errno!(ENOENT),
    }
}

/// Another task's threads as the daemon lists them, the leader first (a
/// task the daemon lists no threads for has just its leader).
fn threads_of(t: &mactux_proto::TaskEntry) -> Vec<mactux_proto::ThreadInfo> {
    if t.info.threads.is_empty() {
        return vec![leader_of(t)];
    }
    t.info.threads.clone()
}

/// The leader thread of another task: its pid, its comm.
fn leader_of(t: &mactux_proto::TaskEntry) -> mactux_proto::ThreadInfo {
    t.info.threads.iter().find(|th| th.tid == t.pid).cloned().unwrap_or_else(|| mactux_proto::ThreadInfo {
        tid: t.pid,
        comm: t.info.comm.clone(),
        state: b'S',
    })
}

/// The state letter and its /proc/PID/status form, from the task table and
/// (for a stopped task) its host process's usage `u`.
fn state_char(t: &mactux_proto::TaskEntry, th: &mactux_proto::ThreadInfo, u: &host::TaskUsage) -> (char, &'static str) {
    match t.state {
        mactux_proto::TaskState::Running if u.stopped => ('T', "T (stopped)"),
        mactux_proto::TaskState::Running if th.state == b'R' => ('R', "R (running)"),
        mactux_proto::TaskState::Running => ('S', "S (sleeping)"),
        mactux_proto::TaskState::Zombie(_) => ('Z', "Z (zombie)"),
    }
}

/// Fields 18 and 19 of /proc/PID/stat: priority (20 + nice for a normal
/// task) and nice, from the host process.
fn priority_and_nice(host_pid: i32) -> (i32, i32) {
    let nice = host::process::nice(host_pid).unwrap_or(0);
    (20 + nice, nice)
}

/// Bytes of address space in a /proc/PID/maps text.
fn maps_size(maps: &[u8]) -> u64 {
    maps.split(|&b| b == b'\n')
        .filter_map(|line| {
            let range = line.split(|&b| b == b' ').next()?;
            let range = std::str::from_utf8(range).ok()?;
            let (a, b) = range.split_once('-')?;
            let (a, b) = (u64::from_str_radix(a, 16).ok()?, u64::from_str_radix(b, 16).ok()?);
            b.checked_sub(a)
        })
        .sum()
}

/// CPU time and memory of another task: times and resident memory from its
/// host process; the address-space size from the guest mappings it last
/// published, since the host figure also counts the runtime and the space it
/// keeps in reserve for brk.
fn usage_of_task(t: &mactux_proto::TaskEntry) -> host::TaskUsage {
    let mut u = host::process::usage_of(t.host_pid).unwrap_or_default();
    let guest = maps_size(&t.info.maps);
    if guest > 0 {
        u.vsize = guest;
    }
    u
}

/// /proc/PID/stat of another task, or /proc/PID/task/TID/stat of its thread `th`.
fn other_stat(t: &mactux_proto::TaskEntry, th: &mactux_proto::ThreadInfo) -> String {
    let u = usage_of_task(t);
    let start_ticks = ((t.start_time - boot_time()).max(0.0) * 100.0) as u64;
    let (state, _) = state_char(t, th, &u);
    // A live task's terminal and priority are its host process's; a zombie has
    // neither any more.
    let ((tty, tpgid), (prio, nice)) = match t.state {
        mactux_proto::TaskState::Zombie(_) => ((0, -1), (20, 0)),
        _ => (crate::syscall::proc_model::terminal_of(t.host_pid), priority_and_nice(t.host_pid)),
    };
    format!(
        "{pid} ({comm}) {state} {ppid} {pgid} {sid} {tty} {tpgid} 4194304 0 0 0 0 {ut} {st} 0 0 {prio} {nice} {nlwp} 0 {start_ticks} {vsize} {rss} \
         18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
        pid = th.tid,
        comm = th.comm,
        nlwp = threads_of(t).len(),
        ppid = t.ppid,
        pgid = t.pgid,
        sid = t.sid,
        ut = u.utime_ticks,
        st = u.stime_ticks,
        vsize = u.vsize,
        rss = u.rss_pages,
    )
}

/// The Uid: and Gid: lines of a status file: real, effective, saved, fs.
fn status_ids(c: &mactux_proto::TaskCred) -> String {
    let [u0, u1, u2, u3] = c.uids;
    let [g0, g1, g2, g3] = c.gids;
    format!("Uid:\t{u0}\t{u1}\t{u2}\t{u3}\nGid:\t{g0}\t{g1}\t{g2}\t{g3}\n")
}

/// The Groups: line's list, with the trailing space Linux keeps
/// (fs/proc/array.c task_state), also when there is no group.
fn status_groups(c: &mactux_proto::TaskCred) -> String {
    let list: Vec<String> = c.groups.iter().map(u32::to_string).collect();
    format!("{} ", list.join(" "))
}

/// The capability lines and NoNewPrivs: of a status file.
fn status_caps(c: &mactux_proto::TaskCred) -> String {
    let [inh, prm, eff, bnd, amb] = c.caps;
    format!(
        "CapInh:\t{inh:016x}\nCapPrm:\t{prm:016x}\nCapEff:\t{eff:016x}\nCapBnd:\t{bnd:016x}\nCapAmb:\t{amb:016x}\nNoNewPrivs:\t{}\n",
        u8::from(c.no_new_privs)
    )
}

/// /proc/PID/status of another task, or /proc/PID/task/TID/status of its thread `th`.
fn other_status(t: &mactux_proto::TaskEntry, th: &mactux_proto::ThreadInfo) -> String {
    let u = usage_of_task(t);
    let (_, state) = state_char(t, th, &u);
    format!(
        "Name:\t{comm}\nState:\t{state}\nTgid:\t{tgid}\nPid:\t{pid}\nPPid:\t{ppid}\nTracerPid:\t0\n\
         {ids}FDSize:\t64\nGroups:\t{groups}\nVmSize:\t{vk:8} kB\nVmRSS:\t{rk:8} kB\nThreads:\t{nlwp}\n{caps}",
        comm = th.comm,
        tgid = t.pid,
        pid = th.tid,
        nlwp = threads_of(t).len(),
        ppid = t.ppid,
        ids = status_ids(&t.info.cred),
        groups = status_groups(&t.info.cred),
        caps = status_caps(&t.info.cred),
        vk = u.vsize / 1024,
        rk = u.rss_pages * 4,
    )
}

/// This task's parent, process group and session.
fn own_ids() -> (u32, u32, u32) {
    let ppid = crate::syscall::process::parent_pid();
    let me = current().pid();
    let pg = crate::syscall::process::pgid_of(0).map_or(me, |p| p as u32);
    let sid = crate::syscall::process::sid_of(0).map_or(me, |p| p as u32);
    (ppid, pg, sid)
}

fn nul_joined(v: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for a in v {
        out.extend_from_slice(a);
        out.push(0);
    }
    out
}

/// (virtual size, resident size) in bytes; resident is the host's peak RSS
/// as the closest portable figure.
fn sizes() -> (u64, u64) {
    let vsz: u64 = lock(&current().mm).iter().map(|(s, v)| v.end - s).sum();
    // Resident now; the peak (ru_maxrss) when the host does not say.
    let rss = match host::process::usage_of(host::process::host_pid()) {
        Some(u) if u.rss_pages > 0 => u.rss_pages * 4096,
        _ => host::process::rusage(false).2.max(0) as u64 * 1024,
    };
    (vsz, rss)
}

fn ticks(tv: crate::abi::Timeval) -> u64 {
    (tv.sec.max(0) as u64) * 100 + (tv.usec.max(0) as u64) / 10_000
}

/// /proc/self/limits, in the kernel's layout (proc_pid_limits).
fn limits() -> String {
    use linux_raw_sys::general as g;
    const ROWS: &[(u32, &str, &str)] = &[
        (g::RLIMIT_CPU, "Max cpu time", "seconds"),
        (g::RLIMIT_FSIZE, "Max file size", "bytes"),
        (g::RLIMIT_DATA, "Max data size", "bytes"),
        (g::RLIMIT_STACK, "Max stack size", "bytes"),
        (g::RLIMIT_CORE, "Max core file size", "bytes"),
        (g::RLIMIT_RSS, "Max resident set", "bytes"),
        (g::RLIMIT_NPROC, "Max processes", "processes"),
        (g::RLIMIT_NOFILE, "Max open files", "files"),
        (g::RLIMIT_MEMLOCK, "Max locked memory", "bytes"),
        (g::RLIMIT_AS, "Max address space", "bytes"),
        (g::RLIMIT_LOCKS, "Max file locks", "locks"),
        (g::RLIMIT_SIGPENDING, "Max pending signals", "signals"),
        (g::RLIMIT_MSGQUEUE, "Max msgqueue size", "bytes"),
        (g::RLIMIT_NICE, "Max nice priority", ""),
        (g::RLIMIT_RTPRIO, "Max realtime priority", ""),
        (g::RLIMIT_RTTIME, "Max realtime timeout", "us"),
    ];
    let value = |v: u64| if v == u64::MAX { "unlimited".to_string() } else { v.to_string() };
    let mut out = format!("{:<25} {:<20} {:<20} {:<10}\n", "Limit", "Soft Limit", "Hard Limit", "Units");
    for &(res, name, unit) in ROWS {
        // A resource the host does not have reads as unlimited.
        let (cur, max) = crate::syscall::identity::get_limit(res).unwrap_or((u64::MAX, u64::MAX));
        out.push_str(&format!("{:<25} {:<20} {:<20} ", name, value(cur), value(max)));
        if unit.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&format!("{unit:<10}\n"));
        }
    }
    out
}

/// /proc/self/stat, or /proc/self/task/TID/stat of thread `tid` named `comm`.
fn pid_stat(tid: u32, comm: &[u8]) -> String {
    let p = current();
    let comm = String::from_utf8_lossy(comm).into_owned();
    let nlwp = crate::task::thread_list().len();
    let (ut, st, ..) = host::process::rusage(false);
    let (vsz, rss) = sizes();
    let start_ticks = (p.start_uptime * 100.0) as u64;
    // What the daemon answers first, with no lock held (another thread's
    // mmap must not wait for a round trip).
    let (ppid, pgid, sid) = own_ids();
    let (tty, tpgid) = crate::syscall::proc_model::terminal_of(host::process::host_pid());
    let (prio, nice) = priority_and_nice(0);
    let (start_code, end_code, stack_top, brk_start, brk) = {
        let mm = lock(&p.mm);
        let (start_code, end_code) = mm.iter().find(|(_, v)| v.prot.exec).map(|(s, v)| (s, v.end)).unwrap_or((0, 0));
        (start_code, end_code, mm.stack_top, mm.brk_start, mm.brk)
    };
    format!(
        "{pid} ({comm}) R {ppid} {pgid} {sid} {tty} {tpgid} 4194304 0 0 0 0 {ut} {st} 0 0 {prio} {nice} {nlwp} 0 {start_ticks} {vsz} {rss_pages} \
         18446744073709551615 {start_code} {end_code} {stack} 0 0 0 0 0 0 0 0 0 17 {cpu} 0 0 0 0 0 {brk_start} {brk_start} {brk} 0 0 0 0 0\n",
        pid = tid,
        ut = ticks(ut),
        st = ticks(st),
        rss_pages = rss / 4096,
        stack = stack_top,
        cpu = host::process::current_cpu(),
    )
}

/// /proc/self/status, or /proc/self/task/TID/status of thread `tid` named `comm`.
fn pid_status(tid: u32, comm: &[u8]) -> String {
    let p = current();
    let comm = String::from_utf8_lossy(comm).into_owned();
    let nlwp = crate::task::thread_list().len();
    let (vsz, rss) = sizes();
    let umask = lock(&p.fs).umask;
    let cred = p.cred().to_proto();
    // Asked first, with no lock held.
    let ppid = crate::syscall::process::parent_pid();
    let (mut ign, mut cgt) = (0u64, 0u64);
    let (shdpnd, sigpnd, blk) = {
        let sig = lock(&p.sig);
        for (i, a) in sig.actions.iter().enumerate() {
            if a.handler == crate::abi::signal::SIG_IGN {
                ign |= 1 << i;
            } else if a.handler != crate::abi::signal::SIG_DFL {
                cgt |= 1 << i;
            }
        }
        let thread = p.thread(tid);
        let own = thread.as_ref().map_or(0, |t| t.pending_set.load(std::sync::atomic::Ordering::Relaxed));
        (sig.shared.set, own, thread.map_or(0, |t| t.mask()))
    };
    format!(
        "Name:\t{comm}\nUmask:\t{umask:04o}\nState:\tR (running)\nTgid:\t{tgid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t{ppid}\nTracerPid:\t0\n\
         {ids}FDSize:\t64\nGroups:\t{groups}\n\
         VmPeak:\t{vk:8} kB\nVmSize:\t{vk:8} kB\nVmHWM:\t{rk:8} kB\nVmRSS:\t{rk:8} kB\nThreads:\t{nlwp}\n\
         SigQ:\t0/63536\nSigPnd:\t{sigpnd:016x}\nShdPnd:\t{shdpnd:016x}\nSigBlk:\t{blk:016x}\nSigIgn:\t{ign:016x}\nSigCgt:\t{cgt:016x}\n\
         {caps}Seccomp:\t0\nCpus_allowed_list:\t0-{maxcpu}\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n",
        tgid = p.pid(),
        pid = tid,
        ids = status_ids(&cred),
        groups = status_groups(&cred),
        caps = status_caps(&cred),
        vk = vsz / 1024,
        rk = rss / 1024,
        maxcpu = host::process::cpu_count().saturating_sub(1),
    )
}

/// The namespaces of /proc/PID/ns, in Linux's order, with the inode
/// numbers of the kernel's initial ones (include/linux/proc_ns.h) for
/// those it numbers, and fixed ones for the mount and network namespaces:
/// every task of the user's namespace is in the same ones.
const NAMESPACES: &[(&str, u64)] = &[
    ("cgroup", 0xEFFF_FFFB),
    ("ipc", 0xEFFF_FFFF),
    ("mnt", 0xF000_0000),
    ("net", 0xF000_0098),
    ("pid", 0xEFFF_FFFC),
    ("pid_for_children", 0xEFFF_FFFC),
    ("time", 0xEFFF_FFFA),
    ("time_for_children", 0xEFFF_FFFA),
    ("user", 0xEFFF_FFFD),
    ("uts", 0xEFFF_FFFE),
];

/// /proc/PID/ns and its links (the same for every task).
fn ns_entry(base: &str, rel: &[&str]) -> Result<Synth> {
    match rel {
        [] => {
            let items: Vec<(&str, u8)> = NAMESPACES.iter().map(|(n, _)| (*n, DT_LNK)).collect();
            Ok(dir(&format!("{base}/ns"), &items))
        }
        [name] => {
            let (_, ino) = NAMESPACES.iter().find(|(n, _)| n == name).ok_or_else(|| errno!(ENOENT))?;
            let kind = name.trim_end_matches("_for_children");
            Ok(Synth::NsLink { target: format!("{kind}:[{ino}]").into_bytes(), ino: *ino })
        }
        _ => Err(errno!(ENOTDIR)),
    }
}

/// An open /proc/PID/ns link: the namespace's nsfs inode, which stats and
/// reads as nsfs's do (no read: EINVAL).
pub struct NsFile(pub u64);

impl super::file::FileOps for NsFile {
    fn stat(&self, _f: &super::file::OpenFile) -> Result<host::HostStat> {
        Ok(ns_stat(self.0))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn pread(&self, _f: &super::file::OpenFile, _buf: &mut [u8], _off: u64) -> Result<usize> {
        Err(errno!(EINVAL, "a namespace file cannot be read"))
    }
}

/// What a followed /proc/PID/ns link stats as: the namespace's nsfs inode
/// (nsfs is device 0:4, its inodes read-only regular files).
pub fn ns_stat(ino: u64) -> host::HostStat {
    let mut st = super::file::synth_stat("nsfs", crate::abi::gen::S_IFREG | 0o444, 0);
    st.ino = ino;
    st.dev = super::makedev(0, 4);
    st.nlink = 1;
    st
}

fn mounts() -> String {
    super::mount::proc_mounts()
}

/// /proc/self/mountinfo: the mounts of /proc/self/mounts, each with the
/// device number stat shows for its mount point.
fn mountinfo() -> String {
    super::mount::proc_mountinfo(&|point: &str| {
        let r = super::lookup::resolve_existing(crate::abi::gen::AT_FDCWD, point.as_bytes(), true).ok()?;
        super::lookup::node_stat(&r, true).ok().map(|st| st.dev)
    })
}

fn stat() -> String {
    let (up, _) = host::process::uptime_and_load();
    let now = host::time::clock_gettime(crate::abi::gen::CLOCK_REALTIME).map(|t| t.sec).unwrap_or(0);
    // The host's CPU accounting; should the host refuse it, all time since
    // boot counts as idle.
    let cpu = host::process::cpu_stat().unwrap_or_else(|| {
        let idle = (up * 100.0) as u64;
        host::CpuStat { cpus: vec![[0, 0, 0, idle, 0, 0, 0, 0, 0, 0]; host::process::cpu_count() as usize], ..Default::default() }
    });
    let mut total = [0u64; 10];
    for row in &cpu.cpus {
        for (t, v) in total.iter_mut().zip(row) {
            *t += v;
        }
    }
    let cols = |r: &[u64; 10]| r.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
    let mut s = format!("cpu  {}\n", cols(&total));
    for (i, row) in cpu.cpus.iter().enumerate() {
        let _ = writeln!(s, "cpu{i} {}", cols(row));
    }
    let _ = write!(
        s,
        "intr {}\nctxt {}\nbtime {}\nprocesses {}\nprocs_running 1\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
        cpu.intr,
        cpu.ctxt,
        now - up as i64,
        cpu.forks.max(1)
    );
    s
}

fn meminfo() -> String {
    let m = host::process::mem_info();
    let k = |b: u64| b / 1024;
    format!(
        "MemTotal:       {:8} kB\nMemFree:        {:8} kB\nMemAvailable:   {:8} kB\nBuffers:        {:8} kB\nCached:         {:8} kB\n\
         SwapCached:            0 kB\nActive:                0 kB\nInactive:              0 kB\nSwapTotal:      {:8} kB\nSwapFree:       {:8} kB\n\
         Shmem:          {:8} kB\nSlab:           {:8} kB\nSReclaimable:   {:8} kB\nCommitLimit:    {:8} kB\nCommitted_AS:          0 kB\nVmallocTotal:   34359738367 kB\n\
         HugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n",
        k(m.total),
        k(m.free),
        k(m.available),
        k(m.buffers),
        k(m.cached),
        k(m.swap_total),
        k(m.swap_free),
        k(m.shmem),
        k(m.reclaimable),
        k(m.reclaimable),
        k(m.total / 2 + m.swap_total),
    )
}

/// /proc/vmstat: the page counts procps' vmstat and free read, in pages,
/// and the host's paging counters since boot.
fn vmstat() -> String {
    let m = host::process::mem_info();
    let e = host::process::vm_events();
    let pages = |b: u64| b / 4096;
    let mut s = String::new();
    for (name, v) in [
        ("nr_free_pages", pages(m.free)),
        ("nr_file_pages", pages(m.cached + m.buffers)),
        ("nr_shmem", pages(m.shmem)),
        ("nr_slab_reclaimable", pages(m.reclaimable)),
        ("pgpgin", e.pgpgin),
        ("pgpgout", e.pgpgout),
        ("pswpin", e.pswpin),
        ("pswpout", e.pswpout),
        ("pgfault", e.pgfault),
        ("pgmajfault", e.pgmajfault),
    ] {
        let _ = writeln!(s, "{name} {v}");
    }
    s
}

/// Linux's names for the CPUID feature bits of leaf 1 (edx, ecx) and leaf 7 (ebx).
const FLAGS_1_EDX: &[(u32, &str)] = &[
    (0, "fpu"), (1, "vme"), (2, "de"), (3, "pse"), (4, "tsc"), (5, "msr"), (6, "pae"), (7, "mce"), (8, "cx8"),
    (9, "apic"), (11, "sep"), (12, "mtrr"), (13, "pge"), (14, "mca"), (15, "cmov"), (16, "pat"), (17, "pse36"),
    (19, "clflush"), (23, "mmx"), (24, "fxsr"), (25, "sse"), (26, "sse2"), (28, "ht"),
];
const FLAGS_1_ECX: &[(u32, &str)] = &[
    (0, "pni"), (1, "pclmulqdq"), (9, "ssse3"), (12, "fma"), (13, "cx16"), (19, "sse4_1"), (20, "sse4_2"),
    (22, "movbe"), (23, "popcnt"), (25, "aes"), (26, "xsave"), (28, "avx"), (29, "f16c"), (30, "rdrand"),
];
const FLAGS_7_EBX: &[(u32, &str)] = &[
    (0, "fsgsbase"), (3, "bmi1"), (5, "avx2"), (8, "bmi2"), (9, "erms"), (16, "avx512f"), (18, "rdseed"),
    (19, "adx"), (29, "sha_ni"),
];

fn cpuinfo() -> String {
    use host::cpu::cpuid;
    let l1 = cpuid(1, 0);
    let l7 = if cpuid(0, 0)[0] >= 7 { cpuid(7, 0) } else { [0; 4] };
    let mut flags = Vec::new();
    flags.extend(FLAGS_1_EDX.iter().filter(|(b, _)| l1[3] >> b & 1 == 1).map(|(_, n)| *n));
    flags.extend(FLAGS_1_ECX.iter().filter(|(b, _)| l1[2] >> b & 1 == 1).map(|(_, n)| *n));
    flags.extend(FLAGS_7_EBX.iter().filter(|(b, _)| l7[1] >> b & 1 == 1).map(|(_, n)| *n));
    let flags = flags.join(" ");
    let eax = l1[0];
    let base_family = (eax >> 8) & 0xf;
    let family = if base_family == 0xf { base_family + ((eax >> 20) & 0xff) } else { base_family };
    let model = ((eax >> 4) & 0xf) | if base_family >= 6 { ((eax >> 16) & 0xf) << 4 } else { 0 };
    let stepping = eax & 0xf;
    let (vendor, name) = (host::cpu::vendor(), host::cpu::model_name());
    let n = host::process::cpu_count();
    let mut s = String::new();
    for i in 0..n {
        let _ = write!(
            s,
            "processor\t: {i}\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: {model}\nmodel name\t: {name}\n\
             stepping\t: {stepping}\ncpu MHz\t\t: 0.000\ncache size\t: 0 KB\nphysical id\t: 0\nsiblings\t: {n}\ncore id\t\t: {i}\n\
             cpu cores\t: {n}\napicid\t\t: {i}\nfpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: {lvl}\nwp\t\t: yes\n\
             flags\t\t: {flags}\nbogomips\t: 0.00\nclflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 48 bits physical, 48 bits virtual\npower management:\n\n",
            lvl = cpuid(0, 0)[0],
        );
    }
    s
}

/// /proc/sysvipc/{shm,sem,msg}: every System V object of the namespace, as
/// ipc/{shm,sem,msg}.c print them (ipcs reads these). The objects are the
/// daemon's: their number comes from *_INFO, each one from *_STAT_ANY.
/// Divergence: a segment's rss and swap are shown as 0.
fn sysvipc(kind: &str) -> String {
    use crate::abi::ipc::*;
    use mactux_proto::{IpcCred, IpcOp, IpcReply, IpcStat, Request, Response};
    let mut out = String::from(match kind {
        "shm" => "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n",
        "sem" => "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n",
        _ => "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n",
    });
    let cred = IpcCred { uid: host::process::euid(), gid: host::process::egid(), groups: host::process::groups() };
    let ask = |op: IpcOp| match crate::daemon::call(&Request::Ipc { cred: cred.clone(), op }) {
        Ok(Response::Ipc(r)) => Some(r),
        _ => None,
    };
    let op = |id: i32, cmd: i32| match kind {
        "shm" => IpcOp::ShmCtl { shmid: id, cmd, set: None },
        "sem" => IpcOp::SemCtl { semid: id, semnum: 0, cmd, val: 0, vals: Vec::new(), set: None },
        _ => IpcOp::MsgCtl { msqid: id, cmd, set: None },
    };
    let (info, stat) = match kind {
        "shm" => (SHM_INFO, SHM_STAT_ANY),
        "sem" => (SEM_INFO, SEM_STAT_ANY),
        _ => (MSG_INFO, MSG_STAT_ANY),
    };
    let Some(IpcReply::Info { ret: max_idx, .. }) = ask(op(0, info)) else { return out };
    for idx in 0..=max_idx.clamp(0, i64::from(IPCMNI - 1)) as i32 {
        let Some(IpcReply::Stat { ret: id, stat }) = ask(op(idx, stat)) else { continue };
        let _ = match stat {
            IpcStat::Shm { perm: p, segsz, atime, dtime, ctime, cpid, lpid, nattch } => writeln!(
                out,
                "{:10} {:10}  {:4o} {:21} {:5} {:5}  {:5} {:5} {:5} {:5} {:5} {:10} {:10} {:10} {:21} {:21}",
                p.key, id, p.mode, segsz, cpid, lpid, nattch, p.uid, p.gid, p.cuid, p.cgid, atime, dtime, ctime, 0, 0
            ),
            IpcStat::Sem { perm: p, otime, ctime, nsems } => writeln!(
                out,
                "{:10} {:10}  {:4o} {:10} {:5} {:5} {:5} {:5} {:10} {:10}",
                p.key, id, p.mode, nsems, p.uid, p.gid, p.cuid, p.cgid, otime, ctime
            ),
            IpcStat::Msg { perm: p, stime, rtime, ctime, cbytes, qnum, lspid, lrpid, .. } => writeln!(
                out,
                "{:10} {:10}  {:4o}  {:10} {:10} {:5} {:5} {:5} {:5} {:5} {:5} {:10} {:10} {:10}",
                p.key, id, p.mode, cbytes, qnum, lspid, lrpid, p.uid, p.gid, p.cuid, p.cgid, stime, rtime, ctime
            ),
        };
    }
    out
}
