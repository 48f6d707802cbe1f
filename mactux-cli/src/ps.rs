//! `mactux ps [--json]`: the tasks of the virtual PID namespace, as `ps -ef`
//! shows them, with the thread count `ps -eLf` adds (UID PID PPID C NLWP
//! STIME TTY TIME CMD). `--json` lists each task's threads (tid, comm, state).
//!
//! Divergences from procps: C (CPU use) is always 0; STIME is HH:MM even for
//! tasks started on an earlier day; TTY is the Linux device number
//! (`tty(major,minor)` unless it is a pts/tty we can name).

use crate::daemon;
use mactux_proto::{Request, Response, TaskEntry, TaskState};
use std::process::ExitCode;

pub fn main(json: bool) -> ExitCode {
    let tasks = match daemon::connect() {
        Ok(mut c) => match c.call(&Request::List) {
            Ok(Response::Tasks(t)) => t,
            Ok(Response::Error { msg, .. }) => {
                eprintln!("mactux ps: the daemon refused the listing: {msg}");
                return ExitCode::FAILURE;
            }
            Ok(other) => {
                eprintln!("mactux ps: unexpected answer from the daemon: {other:?}");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("mactux ps: the daemon did not answer: {e}");
                return ExitCode::FAILURE;
            }
        },
        // No daemon: no Linux tasks.
        Err(mactux_proto::client::ConnectError::Unavailable(_)) => Vec::new(),
        Err(e) => {
            eprintln!("mactux ps: {e}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        let rows: Vec<serde_json::Value> = tasks.iter().map(json_row).collect();
        println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
    } else {
        print!("{}", table(&tasks));
    }
    ExitCode::SUCCESS
}

fn cmd(t: &TaskEntry) -> String {
    if t.info.argv.is_empty() {
        // As procps shows a task without a command line.
        return format!("[{}]", t.info.comm);
    }
    t.info.argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" ")
}

fn state_label(s: TaskState) -> String {
    match s {
        TaskState::Running => "running".into(),
        TaskState::Zombie(status) => format!("zombie({status})"),
    }
}

fn json_row(t: &TaskEntry) -> serde_json::Value {
    serde_json::json!({
        "uid": t.info.uid,
        "user": user_name(t.info.uid),
        "pid": t.pid,
        "ppid": t.ppid,
        "pgid": t.pgid,
        "sid": t.sid,
        "host_pid": t.host_pid,
        "state": state_label(t.state),
        "start_time": t.start_time,
        "tty": t.info.tty,
        "cpu_secs": host_cpu_secs(t.host_pid),
        "comm": t.info.comm,
        "exe": t.info.exe,
        "cwd": t.info.cwd,
        "argv": t.info.argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>(),
        "cmd": cmd(t),
        "nlwp": nlwp(t),
        "threads": t.info.threads.iter().map(|th| serde_json::json!({
            "tid": th.tid,
            "comm": th.comm,
            "state": char::from(th.state).to_string(),
        })).collect::<Vec<_>>(),
    })
}

/// How many threads a task has (a zombie none but its leader, which the
/// daemon lists as the only one; an older entry without a list, one).
fn nlwp(t: &TaskEntry) -> usize {
    t.info.threads.len().max(1)
}

/// A Linux tty device number as ps names it: pts/N (major 136..143), ttyN (major 4).
fn tty_name(dev: u64) -> String {
    if dev == 0 {
        return "?".into();
    }
    // Linux's new_encode_dev layout (include/linux/kdev_t.h).
    let major = (dev >> 8) & 0xfff;
    let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    match major {
        136..=143 => format!("pts/{}", (major - 136) * 256 + minor),
        4 if minor < 64 => format!("tty{minor}"),
        _ => format!("{major}:{minor}"),
    }
}

fn table(tasks: &[TaskEntry]) -> String {
    let mut out = format!("{:<8} {:>7} {:>7} {:>2} {:>4} {:<5} {:<8} {:>8} {}\n", "UID", "PID", "PPID", "C", "NLWP", "STIME", "TTY", "TIME", "CMD");
    for t in tasks {
        let mut command = cmd(t);
        if matches!(t.state, TaskState::Zombie(_)) {
            command = format!("[{}] <defunct>", t.info.comm);
        }
        let cpu = host_cpu_secs(t.host_pid).unwrap_or(0);
        out.push_str(&format!(
            "{:<8} {:>7} {:>7} {:>2} {:>4} {:<5} {:<8} {:>8} {}\n",
            user_name(t.info.uid),
            t.pid,
            t.ppid,
            0,
            nlwp(t),
            hh_mm(t.start_time),
            tty_name(t.info.tty),
            format!("{:02}:{:02}:{:02}", cpu / 3600, cpu / 60 % 60, cpu % 60),
            command
        ));
    }
    out
}

fn user_name(uid: u32) -> String {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: passwd is plain data; getpwuid_r writes into `pw` and `buf` within the given sizes.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the call.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc == 0 && !result.is_null() && !pw.pw_name.is_null() {
        // SAFETY: getpwuid_r filled pw_name with a NUL-terminated string inside buf.
        let name = unsafe { std::ffi::CStr::from_ptr(pw.pw_name) }.to_string_lossy().into_owned();
        if !name.is_empty() && name.len() <= 8 {
            return name;
        }
    }
    uid.to_string()
}

/// Local HH:MM of a start time (seconds since the epoch).
fn hh_mm(start: f64) -> String {
    let t = start as libc::time_t;
    // SAFETY: tm is plain data; localtime_r fills it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return "?".into();
    }
    format!("{:02}:{:02}", tm.tm_hour, tm.tm_min)
}

/// The host CPU time (user + system) of a host process, in whole seconds.
#[cfg(target_os = "linux")]
fn host_cpu_secs(host_pid: i32) -> Option<u64> {
    if host_pid <= 0 {
        return None;
    }
    // proc(5): utime and stime are fields 14 and 15, in clock ticks.
    let stat = std::fs::read_to_string(format!("/proc/{host_pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no memory effects.
    let ticks = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok().filter(|&t| t > 0)?;
    Some((utime + stime) / ticks)
}

#[cfg(target_os = "macos")]
fn host_cpu_secs(host_pid: i32) -> Option<u64> {
    if host_pid <= 0 {
        return None;
    }
    // SAFETY: proc_taskinfo is plain data; proc_pidinfo writes at most `size` bytes.
    let mut info: libc::proc_taskinfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::proc_taskinfo>() as libc::c_int;
    // SAFETY: the buffer is valid for `size` bytes.
    let n = unsafe { libc::proc_pidinfo(host_pid, libc::PROC_PIDTASKINFO, 0, (&mut info as *mut libc::proc_taskinfo).cast(), size) };
    // pti_total_* are in nanoseconds on Intel Macs (mach absolute time units elsewhere).
    (n == size).then(|| (info.pti_total_user + info.pti_total_system) / 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mactux_proto::{TaskInfo, ThreadInfo};

    #[test]
    fn tty_names() {
        assert_eq!(tty_name(0), "?");
        assert_eq!(tty_name((136 << 8) | 3), "pts/3");
        assert_eq!(tty_name((4 << 8) | 1), "tty1");
    }

    #[test]
    fn table_has_ps_ef_columns() {
        let t = TaskEntry {
            pid: 7,
            ppid: 1,
            pgid: 7,
            sid: 7,
            host_pid: 0,
            state: TaskState::Running,
            start_time: 0.0,
            info: TaskInfo {
                comm: "sh".into(),
                argv: vec![b"sh".to_vec(), b"-c".to_vec(), b"true".to_vec()],
                threads: [(7, "sh"), (8, "sh"), (9, "worker")]
                    .iter()
                    .map(|&(tid, comm)| ThreadInfo { tid, comm: comm.into(), state: b'S' })
                    .collect(),
                ..TaskInfo::default()
            },
        };
        let out = table(std::slice::from_ref(&t));
        let mut lines = out.lines();
        assert_eq!(lines.next().unwrap().split_whitespace().collect::<Vec<_>>(), ["UID", "PID", "PPID", "C", "NLWP", "STIME", "TTY", "TIME", "CMD"]);
        let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(&row[1..5], ["7", "1", "0", "3"]);
        assert_eq!(&row[6..], ["?", "00:00:00", "sh", "-c", "true"]);
        let json = json_row(&t);
        assert_eq!(json["nlwp"], 3);
        assert_eq!(json["threads"][2], serde_json::json!({"tid": 9, "comm": "worker", "state": "S"}));
    }
}
