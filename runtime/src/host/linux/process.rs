//! The host process: exit, identity, limits, system figures (Linux side).

use crate::abi::{Errno, Timeval};
use crate::host::{CpuStat, HostResult, MemInfo, TaskUsage, VmEvents};

pub use crate::host::posix_process::*;

/// Another host process's limit of resource `res`, set to `new` first if given
/// (prlimit(2)); returns the limit before.
pub fn prlimit_of(host_pid: i32, res: u32, new: Option<(u64, u64)>) -> HostResult<(u64, u64)> {
    let res = rlimit_resource_to_host(res).ok_or(Errno::EINVAL)?;
    let new = new.map(|(cur, max)| libc::rlimit64 { rlim_cur: cur, rlim_max: max });
    let mut old = libc::rlimit64 { rlim_cur: 0, rlim_max: 0 };
    let new_ptr = new.as_ref().map_or(core::ptr::null(), |n| n as *const libc::rlimit64);
    // SAFETY: valid in/out parameters (the new limit may be null).
    let r = unsafe { libc::prlimit64(host_pid, res as libc::__rlimit_resource_t, new_ptr, &mut old) };
    if r < 0 { Err(super::errno::last()) } else { Ok((old.rlim_cur, old.rlim_max)) }
}

/// Linux resource numbers are the host's on a Linux host.
pub fn rlimit_resource_to_host(res: u32) -> Option<i32> {
    use linux_raw_sys::general as g;
    let host = match res {
        g::RLIMIT_CPU => libc::RLIMIT_CPU,
        g::RLIMIT_FSIZE => libc::RLIMIT_FSIZE,
        g::RLIMIT_DATA => libc::RLIMIT_DATA,
        g::RLIMIT_STACK => libc::RLIMIT_STACK,
        g::RLIMIT_CORE => libc::RLIMIT_CORE,
        g::RLIMIT_RSS => libc::RLIMIT_RSS,
        g::RLIMIT_NPROC => libc::RLIMIT_NPROC,
        g::RLIMIT_NOFILE => libc::RLIMIT_NOFILE,
        g::RLIMIT_MEMLOCK => libc::RLIMIT_MEMLOCK,
        g::RLIMIT_AS => libc::RLIMIT_AS,
        g::RLIMIT_LOCKS => libc::RLIMIT_LOCKS,
        g::RLIMIT_SIGPENDING => libc::RLIMIT_SIGPENDING,
        g::RLIMIT_MSGQUEUE => libc::RLIMIT_MSGQUEUE,
        g::RLIMIT_NICE => libc::RLIMIT_NICE,
        g::RLIMIT_RTPRIO => libc::RLIMIT_RTPRIO,
        g::RLIMIT_RTTIME => libc::RLIMIT_RTTIME,
        _ => return None,
    };
    Some(host as i32)
}

pub fn mem_info() -> MemInfo {
    // The host kernel's own accounting: /proc/meminfo of the Linux host has
    // the page-cache and availability figures sysinfo(2) lacks.
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
    };
    // SAFETY: zeroed sysinfo is a valid out-parameter.
    let mut si: libc::sysinfo = unsafe { core::mem::zeroed() };
    // SAFETY: valid out-parameter.
    unsafe { libc::sysinfo(&mut si) };
    let unit = u64::from(si.mem_unit.max(1));
    let free = field("MemFree").unwrap_or(si.freeram * unit);
    let buffers = field("Buffers").unwrap_or(si.bufferram * unit);
    MemInfo {
        total: field("MemTotal").unwrap_or(si.totalram * unit),
        free,
        available: field("MemAvailable").unwrap_or(free + buffers),
        buffers,
        cached: field("Cached").unwrap_or(0),
        swap_total: field("SwapTotal").unwrap_or(si.totalswap * unit),
        swap_free: field("SwapFree").unwrap_or(si.freeswap * unit),
        shmem: field("Shmem").unwrap_or(si.sharedram * unit),
        reclaimable: field("SReclaimable").unwrap_or(0),
    }
}

/// The host kernel's paging counters, from its /proc/vmstat.
pub fn vm_events() -> VmEvents {
    let vmstat = std::fs::read_to_string("/proc/vmstat").unwrap_or_default();
    let event = |name: &str| -> u64 {
        vmstat
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    VmEvents {
        pgpgin: event("pgpgin"),
        pgpgout: event("pgpgout"),
        pswpin: event("pswpin"),
        pswpout: event("pswpout"),
        pgfault: event("pgfault"),
        pgmajfault: event("pgmajfault"),
    }
}

/// Fills `buf` with random bytes from the host kernel.
pub fn random(buf: &mut [u8]) -> HostResult<()> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: writes within buf.
        let n = unsafe { libc::getrandom(buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) };
        if n < 0 {
            let e = super::errno::last();
            if e == Errno::EINTR {
                continue;
            }
            return Err(e);
        }
        done += n as usize;
    }
    Ok(())
}

/// The CPU the calling thread runs on, if the host says.
pub fn current_cpu() -> u32 {
    // SAFETY: plain call.
    let c = unsafe { libc::sched_getcpu() };
    c.max(0) as u32
}

/// A host ru_maxrss in KiB (Linux's own unit).
pub fn maxrss_kib(raw: i64) -> i64 {
    raw
}

/// Resource usage of the whole host process.
/// Resource usage of the whole host process, or of its reaped children
/// (which are the guest's reaped children: every guest process is a host one).
pub fn rusage(of_children: bool) -> (Timeval, Timeval, i64, i64, i64, i64, i64) {
    let who = if of_children { libc::RUSAGE_CHILDREN } else { libc::RUSAGE_SELF };
    // SAFETY: zeroed rusage is a valid out-parameter.
    let mut ru: libc::rusage = unsafe { core::mem::zeroed() };
    // SAFETY: valid out-parameter.
    unsafe { libc::getrusage(who, &mut ru) };
    (
        Timeval { sec: ru.ru_utime.tv_sec, usec: ru.ru_utime.tv_usec },
        Timeval { sec: ru.ru_stime.tv_sec, usec: ru.ru_stime.tv_usec },
        ru.ru_maxrss,
        ru.ru_minflt,
        ru.ru_majflt,
        ru.ru_nvcsw,
        ru.ru_nivcsw,
    )
}

/// The fields of a host process's /proc/PID/stat after the parenthesised
/// comm (which may contain spaces): the first one is field 3, the state.
fn stat_fields(host_pid: i32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{host_pid}/stat")).ok()?;
    let rest = text.get(text.rfind(')')? + 2..)?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// The I/O priority of a host thread (0: the calling one), in Linux's
/// encoding: the host's own. Some on Linux hosts.
pub fn ioprio(host_pid: i32) -> Option<HostResult<u32>> {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    // SAFETY: plain syscall without pointers.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, libc::c_long::from(host_pid)) };
    Some(u32::try_from(r).map_err(|_| super::errno::last()))
}

/// Sets the I/O priority of a host thread (0: the calling one); Some on
/// Linux hosts, whose kernel checks the caller's privilege.
pub fn set_ioprio(host_pid: i32, prio: u32) -> Option<HostResult<()>> {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    // SAFETY: plain syscall without pointers.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, libc::c_long::from(host_pid), libc::c_long::from(prio)) };
    Some(if r < 0 { Err(super::errno::last()) } else { Ok(()) })
}

/// The scheduling policy of a host thread (0: the calling one), with
/// SCHED_RESET_ON_FORK when set: the host's own. Some on Linux hosts.
pub fn sched_policy(host_pid: i32) -> Option<HostResult<u32>> {
    // SAFETY: plain call.
    let r = unsafe { libc::sched_getscheduler(host_pid) };
    Some(u32::try_from(r).map_err(|_| super::errno::last()))
}

/// Sets a normal scheduling policy (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE,
/// with SCHED_RESET_ON_FORK if given) on a host thread (0: the calling
/// one); Some on Linux hosts, whose kernel checks who may.
pub fn set_sched_policy(host_pid: i32, policy: u32) -> Option<HostResult<()>> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: a valid sched_param.
    let r = unsafe { libc::sched_setscheduler(host_pid, policy as libc::c_int, &param) };
    Some(if r < 0 { Err(super::errno::last()) } else { Ok(()) })
}

/// The CPUs (the first 64) a host thread (0: the calling one) may run
/// on: the host's own mask. Some on Linux hosts.
pub fn affinity(host_pid: i32) -> Option<HostResult<u64>> {
    // SAFETY: a zeroed cpu_set_t is a valid out-parameter of its size.
    let mut set: libc::cpu_set_t = unsafe { core::mem::zeroed() };
    // SAFETY: `set` is valid for its size.
    let r = unsafe { libc::sched_getaffinity(host_pid, core::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r < 0 {
        return Some(Err(super::errno::last()));
    }
    // SAFETY: CPU_ISSET reads within the set.
    Some(Ok((0..64).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) }).fold(0u64, |m, c| m | 1 << c)))
}

/// Restricts a host thread (0: the calling one) to the CPUs of `cpus`
/// (the first 64); Some on Linux hosts, whose kernel checks who may.
pub fn set_affinity(host_pid: i32, cpus: u64) -> Option<HostResult<()>> {
    // SAFETY: a zeroed cpu_set_t is an empty set.
    let mut set: libc::cpu_set_t = unsafe { core::mem::zeroed() };
    for c in (0..64).filter(|c| cpus >> c & 1 == 1) {
        // SAFETY: c is below the set's capacity.
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    // SAFETY: `set` is valid for its size.
    let r = unsafe { libc::sched_setaffinity(host_pid, core::mem::size_of::<libc::cpu_set_t>(), &set) };
    Some(if r < 0 { Err(super::errno::last()) } else { Ok(()) })
}

/// The control groups of a host process (0: this one), as its
/// /proc/PID/cgroup lists them: a guest runs in its runtime's.
pub fn cgroup_of(host_pid: i32) -> Option<String> {
    let path = if host_pid == 0 { "/proc/self/cgroup".to_string() } else { format!("/proc/{host_pid}/cgroup") };
    std::fs::read_to_string(path).ok()
}

/// How many threads the calling host process has: procfs counts the live
/// ones into the link count of /proc/self/task (two more than them). None
/// when that cannot be read.
pub fn thread_count() -> Option<u32> {
    // SAFETY: a zeroed stat is a valid out-parameter.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: NUL-terminated path, valid out-parameter.
    let r = unsafe { libc::stat(c"/proc/self/task".as_ptr(), &mut st) };
    (r == 0).then(|| u32::try_from(st.st_nlink.saturating_sub(2)).unwrap_or(u32::MAX))
}

/// CPU time, memory and stopped state of another host process, from the
/// Linux host's /proc.
pub fn usage_of(host_pid: i32) -> Option<TaskUsage> {
    let f = stat_fields(host_pid)?;
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // stat(5): utime is field 14, stime 15, vsize 23, rss 24; `rest` starts at field 3.
    // The state (field 3) is T or t when stopped.
    let stopped = f.first().is_some_and(|s| s == "T" || s == "t");
    Some(TaskUsage { utime_ticks: num(11), stime_ticks: num(12), vsize: num(20), rss_pages: num(21), stopped })
}

/// The host kernel's CPU accounting, from its /proc/stat (already in
/// USER_HZ ticks, the unit Linux guests expect).
pub fn cpu_stat() -> Option<CpuStat> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let mut st = CpuStat::default();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some(key) = f.next() else { continue };
        let first = || line.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        match key {
            "ctxt" => st.ctxt = first(),
            "intr" => st.intr = first(),
            "processes" => st.forks = first(),
            k if k.len() > 3 && k.starts_with("cpu") => {
                let mut row = [0u64; 10];
                for (slot, v) in row.iter_mut().zip(f) {
                    *slot = v.parse().unwrap_or(0);
                }
                st.cpus.push(row);
            }
            _ => {}
        }
    }
    (!st.cpus.is_empty()).then_some(st)
}

/// The controlling terminal of a host process: its Linux device number in
/// /proc/PID/stat's `tty_nr` encoding, and the host process group in the
/// terminal's foreground (or -1). None when the process has no terminal.
pub fn terminal_of(host_pid: i32) -> Option<(u64, i32)> {
    let f = stat_fields(host_pid)?;
    // stat(5): tty_nr is field 7 and tpgid field 8; `rest` starts at field 3.
    let tty: u64 = f.get(4)?.parse().ok()?;
    let tpgid: i32 = f.get(5)?.parse().ok()?;
    (tty != 0).then_some((tty, tpgid))
}

/// Seconds since the host booted, and the 1/5/15-minute load averages.
pub fn uptime_and_load() -> (f64, [f64; 3]) {
    // SAFETY: zeroed sysinfo is a valid out-parameter.
    let mut si: libc::sysinfo = unsafe { core::mem::zeroed() };
    // SAFETY: valid out-parameter.
    unsafe { libc::sysinfo(&mut si) };
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid out-parameter.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    let load = si.loads.map(|l| l as f64 / 65536.0);
    (ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9, load)
}

/// The child, `si_code` (CLD_*) and status of a waitid siginfo.
pub fn siginfo_child(info: &libc::siginfo_t) -> (i32, i32, i32) {
    // SAFETY: the kernel filled a SIGCHLD siginfo (or left it zeroed).
    unsafe { (info.si_pid(), info.si_code, info.si_status()) }
}

/// The host process's own capability sets as (effective, permitted,
/// inheritable, bounding, ambient), so that a guest that runs as the host
/// user starts with what the host gave it (a container's root may lack some).
pub fn capabilities() -> Option<[u64; 5]> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    let mut h = Header { version: linux_raw_sys::general::_LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let mut d = [0u32; 6];
    // SAFETY: a v3 header and room for two `__user_cap_data_struct`s.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut h as *mut Header, d.as_mut_ptr()) };
    if r != 0 {
        return None;
    }
    let join = |lo: u32, hi: u32| u64::from(lo) | u64::from(hi) << 32;
    let (mut bnd, mut amb) = (0u64, 0u64);
    // A capability is ambient only if it is permitted and inheritable
    // (capabilities(7)), so only those are asked about: usually none, which
    // saves a prctl per capability at every start.
    let may_be_ambient = join(d[1], d[4]) & join(d[2], d[5]);
    for c in 0..=linux_raw_sys::general::CAP_LAST_CAP {
        let c = libc::c_ulong::from(c);
        // SAFETY: plain prctl queries.
        if unsafe { libc::prctl(libc::PR_CAPBSET_READ, c, 0, 0, 0) } == 1 {
            bnd |= 1 << c;
        }
        // SAFETY: as above.
        if may_be_ambient & (1 << c) != 0 && unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_IS_SET, c, 0, 0) } == 1 {
            amb |= 1 << c;
        }
    }
    Some([join(d[0], d[3]), join(d[1], d[4]), join(d[2], d[5]), bnd, amb])
}

/// Whether [`sigqueue`] carries its code and value to the receiver.
pub const HAS_SIGQUEUE: bool = true;

/// Queues host signal `sig` on the process `host_pid` with a Linux siginfo
/// of code `code` (below zero, not SI_TKILL: the kernel refuses others),
/// sent by us, with `uid` and `value` in `_rt`.
pub fn sigqueue(host_pid: i32, sig: i32, code: i32, uid: u32, value: u64) -> HostResult<()> {
    let mut raw = [0u8; 128];
    raw[0..4].copy_from_slice(&sig.to_ne_bytes());
    raw[8..12].copy_from_slice(&code.to_ne_bytes());
    // SAFETY: getpid has no preconditions.
    raw[16..20].copy_from_slice(&unsafe { libc::getpid() }.to_ne_bytes());
    raw[20..24].copy_from_slice(&uid.to_ne_bytes());
    raw[24..32].copy_from_slice(&value.to_ne_bytes());
    // SAFETY: `raw` is a complete 128-byte siginfo the kernel only reads.
    let r = unsafe { libc::syscall(libc::SYS_rt_sigqueueinfo, host_pid, sig, raw.as_ptr()) };
    if r < 0 { Err(crate::host::errno::last()) } else { Ok(()) }
}

/// Has the host raise `host_sig` (0: none) in this process when its parent
/// thread ends: the host's PR_SET_PDEATHSIG, which a fork child does not
/// inherit and an execve keeps, as the guest's.
pub fn set_parent_death_signal(host_sig: i32) {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, host_sig as libc::c_ulong, 0, 0, 0) };
}
