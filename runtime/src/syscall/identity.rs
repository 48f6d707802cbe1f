//! Who and where the process is: uname, limits, usage, system figures,
//! randomness, CPUs (credentials: cred.rs).
//!
//! RLIMIT_NOFILE and RLIMIT_AS, which every fd install and every mmap
//! check, are read from the host once and kept until a process of this
//! host process sets a limit. Divergence from Linux: a limit another task
//! lowers with prlimit(2) takes effect for this one's new fds and mappings
//! only after it sets a limit itself or execs.

use super::{args, Ctx};
use crate::abi::Timeval;
use crate::error::{Error, Result};
use crate::host;
use crate::task::{current, lock};
use crate::uaccess;
use crate::{errno, return_errno, return_errno_with_message};
use linux_raw_sys::general as g;
use mactux_proto::{Request, Response, UtsField, UTS_NAME_MAX};

/// The names sethostname(2) and setdomainname(2) gave every task of this
/// user's namespace, which the daemon keeps and publishes in a page the
/// task reads (daemon.rs `uts_names`): (nodename, domainname), each None
/// while never set (or standalone), which leaves the task's default.
fn names_set() -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    if crate::daemon::is_standalone() {
        return (None, None);
    }
    crate::daemon::uts_names()
}

/// The node name by default: configured, or the host's.
fn default_nodename() -> Vec<u8> {
    match &current().config.identity.nodename {
        Some(n) => n.clone().into_bytes(),
        None => host::process::hostname(),
    }
}

/// The node name the guest sees (uname, /proc/sys/kernel/hostname).
pub fn nodename() -> Vec<u8> {
    names_set().0.unwrap_or_else(default_nodename)
}

/// The NIS domain name the guest sees (uname, /proc/sys/kernel/domainname).
pub fn domainname() -> Vec<u8> {
    names_set().1.unwrap_or_else(|| current().config.identity.domainname.clone().into_bytes())
}

fn uts_field(dst: &mut [core::ffi::c_char; 65], s: &[u8]) {
    for (d, &b) in dst.iter_mut().zip(s.iter().take(UTS_NAME_MAX)) {
        *d = b as core::ffi::c_char;
    }
}

pub fn uname(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let id = &current().config.identity;
    let (nodename, domainname) = names_set();
    let mut u: linux_raw_sys::system::new_utsname = uaccess::zeroed();
    uts_field(&mut u.sysname, id.sysname.as_bytes());
    uts_field(&mut u.nodename, &nodename.unwrap_or_else(default_nodename));
    uts_field(&mut u.release, id.release.as_bytes());
    uts_field(&mut u.version, id.version.as_bytes());
    uts_field(&mut u.machine, id.machine.as_bytes());
    uts_field(&mut u.domainname, &domainname.unwrap_or_else(|| id.domainname.clone().into_bytes()));
    uaccess::write(a[0], &u)?;
    Ok(0)
}

/// sethostname(2) and setdomainname(2) (kernel/sys.c): EPERM without
/// CAP_SYS_ADMIN, EINVAL for a length outside 0..=64, then the name
/// (any bytes, no terminator) becomes what every task of the namespace
/// sees. The daemon keeps it; the host's own name is never changed.
fn set_name(field: UtsField, a: [u64; 6]) -> Result<u64> {
    if !current().cred().capable(g::CAP_SYS_ADMIN) {
        return_errno_with_message!(EPERM, "changing the host or domain name needs CAP_SYS_ADMIN");
    }
    let len = usize::try_from(args::int(a[1])).ok().filter(|&n| n <= UTS_NAME_MAX);
    let Some(len) = len else {
        return_errno_with_message!(EINVAL, "a host or domain name has 0 to 64 bytes");
    };
    let name = uaccess::read_bytes(a[0], len)?;
    if crate::daemon::is_standalone() {
        return_errno_with_message!(EPERM, "running standalone: the names belong to mactuxd, which this task does not use");
    }
    match crate::daemon::call(&Request::SetUtsName { field, name }) {
        Ok(Response::Ok) => Ok(0),
        Ok(_) => Err(errno!(EIO, "unexpected answer from mactuxd to SetUtsName")),
        Err(e) => Err(Error::with_message(e.errno, "mactuxd did not take the new name")),
    }
}

pub fn sethostname(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    set_name(UtsField::Hostname, a)
}

pub fn setdomainname(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    set_name(UtsField::Domainname, a)
}

/// The persona (Linux keeps it across execve).
pub fn persona() -> u32 {
    current().persona.load(std::sync::atomic::Ordering::Relaxed)
}

fn adopt_persona(p: u32) {
    current().persona.store(p, std::sync::atomic::Ordering::Relaxed);
}

/// personality(0xffffffff) asks; any other value is set, as Linux sets it,
/// and the old one returned. `setarch -R` and `setarch x86_64` run their
/// program; what a persona would change is not emulated.
pub fn personality(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let old = persona();
    let new = args::uint(a[0]);
    if new != u32::MAX {
        adopt_persona(new);
    }
    Ok(u64::from(old))
}

/// The guest's RLIMIT_AS, once it set one ([`crate::task::Process::guest_as`]),
/// enforced on guest mappings by [`check_address_space`].
fn guest_as() -> std::sync::MutexGuard<'static, Option<(u64, u64)>> {
    lock(&current().guest_as)
}

/// What this module keeps for the process and execve hands on, as Linux
/// keeps it: the guest's own RLIMIT_AS (if it set one), the persona and the
/// scheduling policy and I/O priority.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct KeptAcrossExec {
    pub as_limit: Option<(u64, u64)>,
    pub persona: u32,
    pub sched_policy: u32,
    pub ioprio: u32,
    pub pdeathsig: u8,
}

/// For the execve handover.
pub fn kept_across_exec() -> KeptAcrossExec {
    let ioprio = current().ioprio.load(std::sync::atomic::Ordering::Relaxed);
    let pdeathsig = current().pdeathsig.load(std::sync::atomic::Ordering::Relaxed);
    KeptAcrossExec { as_limit: *guest_as(), persona: persona(), sched_policy: sched_policy(), ioprio, pdeathsig }
}

/// After execve: what the task had.
pub fn adopt_kept(k: KeptAcrossExec) {
    *guest_as() = k.as_limit;
    adopt_persona(k.persona);
    adopt_sched_policy(k.sched_policy);
    current().ioprio.store(k.ioprio, std::sync::atomic::Ordering::Relaxed);
    current().set_parent_death_signal(k.pdeathsig);
}

/// ENOMEM when `extra` more bytes of mappings would take the guest's
/// address space (`total` now) beyond its RLIMIT_AS (may_expand_vm).
pub fn check_address_space(total: u64, extra: u64) -> Result<()> {
    let cur = match *guest_as() {
        Some((cur, _)) => cur,
        None => host_address_space_limit(),
    };
    if cur != u64::MAX && total.saturating_add(extra) > cur {
        return_errno_with_message!(ENOMEM, "the mapping would exceed RLIMIT_AS");
    }
    Ok(())
}

/// The host's RLIMIT_AS soft limit, read once and kept until a process of
/// this host process sets a limit ([`forget_kept_limits`]).
fn host_address_space_limit() -> u64 {
    current().address_space_limit.get(|| host::process::get_rlimit(g::RLIMIT_AS).map_or(u64::MAX, |(cur, _)| cur))
}

/// Forgets the limits every process of this host process keeps (they all
/// have the host process's): one of them set a limit.
fn forget_kept_limits() {
    for p in crate::task::host_processes() {
        p.nofile_limit.forget();
        p.address_space_limit.forget();
    }
}

pub fn get_limit(res: u32) -> Result<(u64, u64)> {
    if res == g::RLIMIT_AS {
        if let Some(l) = *guest_as() {
            return Ok(l);
        }
    }
    host::process::get_rlimit(res).map_err(|e| Error::with_message(e, "unknown resource"))
}

/// A new (soft, hard) pair must keep the soft limit under the hard one.
/// Pure: the syscall_args fuzz target calls it.
pub fn check_soft_hard(cur: u64, max: u64) -> Result<()> {
    if cur > max {
        return_errno_with_message!(EINVAL, "soft limit above hard limit");
    }
    Ok(())
}

fn set_limit(res: u32, cur: u64, max: u64) -> Result<()> {
    check_soft_hard(cur, max)?;
    if res == g::RLIMIT_AS {
        let (_, old_max) = get_limit(res)?;
        if max > old_max && !current().cred().capable(g::CAP_SYS_RESOURCE) {
            return_errno_with_message!(EPERM, "raising a hard limit needs CAP_SYS_RESOURCE");
        }
        *guest_as() = Some((cur, max));
        return Ok(());
    }
    let r = host::process::set_rlimit(res, cur, max).map_err(Error::new);
    forget_kept_limits();
    r
}

pub fn getrlimit(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (cur, max) = get_limit(args::uint(a[0]))?;
    uaccess::write(a[1], &[cur, max])?;
    Ok(0)
}

pub fn setrlimit(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let [cur, max]: [u64; 2] = uaccess::read(a[1])?;
    get_limit(args::uint(a[0]))?;
    set_limit(args::uint(a[0]), cur, max)?;
    Ok(0)
}

/// The host process behind a pid argument that may name another task:
/// host pid 0 for the caller itself (0 or its own pid), ESRCH for no task.
fn host_target(pid: i32) -> Result<i32> {
    if pid == 0 || pid as u32 == current().pid() {
        return Ok(0);
    }
    if pid < 0 {
        return_errno!(ESRCH);
    }
    if is_init(pid) {
        return_errno_with_message!(EPERM, "pid 1 is the namespace's init, kept by the daemon: nothing of it can be changed");
    }
    crate::syscall::proc_model::host_pid_of_task(pid)
}

/// Whether `pid` is the namespace's init (the daemon's subreaper, with no
/// host process): the scheduling and priority queries read it as a
/// process in the defaults (SCHED_OTHER, priority 0, nice 0, every CPU);
/// a change is EPERM, as for a process of another user.
fn is_init(pid: i32) -> bool {
    pid == 1 && current().pid() != 1 && !crate::daemon::is_standalone()
}

/// ESRCH unless `pid` names a task, for the queries that answer the same
/// for every task (init included).
fn check_task(pid: i32) -> Result<()> {
    if !is_init(pid) {
        host_target(pid)?;
    }
    Ok(())
}

pub fn prlimit64(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let res = args::uint(a[1]);
    let host = host_target(args::int(a[0]))?;
    if host != 0 {
        let new = if a[2] != 0 { Some(uaccess::read::<[u64; 2]>(a[2]).map(|[c, m]| (c, m))?) } else { None };
        if let Some((cur, max)) = new {
            check_soft_hard(cur, max)?;
        }
        let old = host::process::prlimit_of(host, res, new).map_err(Error::new)?;
        if new.is_some() {
            // The target may be a process of this host process.
            forget_kept_limits();
        }
        if a[3] != 0 {
            uaccess::write(a[3], &[old.0, old.1])?;
        }
        return Ok(0);
    }
    let old = get_limit(res)?;
    let new = if a[2] != 0 { Some(uaccess::read::<[u64; 2]>(a[2])?) } else { None };
    if let Some([cur, max]) = new {
        set_limit(res, cur, max)?;
    }
    if a[3] != 0 {
        uaccess::write(a[3], &[old.0, old.1])?;
    }
    Ok(0)
}

pub fn getrusage(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let who = args::int(a[0]);
    let mut ru: g::rusage = uaccess::zeroed();
    let of_children = match who {
        w if w == g::RUSAGE_SELF as i32 || w == g::RUSAGE_THREAD as i32 => false,
        w if w == g::RUSAGE_CHILDREN => true,
        _ => return_errno_with_message!(EINVAL, "who must be RUSAGE_SELF, RUSAGE_CHILDREN or RUSAGE_THREAD"),
    };
    let (ut, st, maxrss, minflt, majflt, nvcsw, nivcsw) = host::process::rusage(of_children);
    let tv = |t: Timeval| g::__kernel_old_timeval { tv_sec: t.sec, tv_usec: t.usec };
    ru.ru_utime = tv(ut);
    ru.ru_stime = tv(st);
    ru.ru_maxrss = maxrss;
    ru.ru_minflt = minflt;
    ru.ru_majflt = majflt;
    ru.ru_nvcsw = nvcsw;
    ru.ru_nivcsw = nivcsw;
    uaccess::write(a[1], &ru)?;
    Ok(0)
}

/// times(2): CPU time of the process and of its reaped children in clock
/// ticks (USER_HZ = 100), returning ticks since boot.
pub fn times(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    const USER_HZ: i64 = 100;
    let ticks = |t: Timeval| t.sec.saturating_mul(USER_HZ) + t.usec / (1_000_000 / USER_HZ);
    if a[0] != 0 {
        let (ut, st, ..) = host::process::rusage(false);
        let (cut, cst, ..) = host::process::rusage(true);
        uaccess::write(a[0], &[ticks(ut), ticks(st), ticks(cut), ticks(cst)])?;
    }
    let (up, _) = host::process::uptime_and_load();
    Ok((up * USER_HZ as f64) as u64)
}

pub fn sysinfo(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let m = host::process::mem_info();
    let (up, load) = host::process::uptime_and_load();
    let mut si: crate::abi::Sysinfo = uaccess::zeroed();
    si.uptime = up as _;
    for (dst, l) in si.loads.iter_mut().zip(load) {
        *dst = (l * 65536.0) as _;
    }
    si.totalram = m.total as _;
    si.freeram = m.free as _;
    si.bufferram = m.buffers as _;
    si.sharedram = m.shmem as _;
    si.totalswap = m.swap_total as _;
    si.freeswap = m.swap_free as _;
    si.procs = 1;
    si.mem_unit = 1;
    uaccess::write(a[0], &si)?;
    Ok(0)
}

pub fn getrandom(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let flags = args::flags(a[2], g::GRND_NONBLOCK | g::GRND_RANDOM | g::GRND_INSECURE, "unknown getrandom flags")?;
    if flags & g::GRND_RANDOM != 0 && flags & g::GRND_INSECURE != 0 {
        return_errno_with_message!(EINVAL, "GRND_RANDOM and GRND_INSECURE exclude each other");
    }
    // Linux caps one call at MAX_RW_COUNT bytes and at 33554431 for the random pool.
    let len = args::len(a[1])?.min(0x01ff_ffff);
    let n = uaccess::fill_guest(a[0], len, |piece| host::process::random(piece).map(|()| piece.len()).map_err(Error::new))?;
    Ok(n as u64)
}

pub fn getcpu(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let cpu = host::process::current_cpu();
    if a[0] != 0 {
        uaccess::write(a[0], &cpu)?;
    }
    if a[1] != 0 {
        uaccess::write(a[1], &0u32)?;
    }
    Ok(0)
}

/// What a sched_*affinity call names.
enum AffinityTarget {
    /// The caller (pid 0) or a thread of its process, by tid: its mask is
    /// recorded here.
    Thread(std::sync::Arc<crate::task::Thread>),
    /// Another task, by its host pid: its mask is the host's, where the
    /// host has masks.
    Task(i32),
    /// The namespace's init, which has no host process.
    Init,
}

fn affinity_target(cx: &Ctx<'_>, pid: i32) -> Result<AffinityTarget> {
    if pid == 0 {
        return Ok(AffinityTarget::Thread(cx.thread_arc()));
    }
    if pid > 0 {
        if let Some(t) = current().thread(pid as u32) {
            return Ok(AffinityTarget::Thread(t));
        }
    }
    if is_init(pid) {
        return Ok(AffinityTarget::Init);
    }
    host_target(pid).map(AffinityTarget::Task)
}

pub fn sched_getaffinity(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let target = affinity_target(cx, args::int(a[0]))?;
    let len = args::len(a[1])?;
    let ncpu = host::process::cpu_count() as usize;
    // The kernel copies cpumask_size() bytes: whole longs covering nr_cpu_ids.
    let mask_bytes = ncpu.div_ceil(64) * 8;
    if len < mask_bytes || len % 8 != 0 {
        return Err(errno!(EINVAL, "cpusetsize is too small or not a multiple of sizeof(long)"));
    }
    let set = match target {
        AffinityTarget::Thread(t) => t.affinity.load(std::sync::atomic::Ordering::Relaxed),
        AffinityTarget::Task(host) => match host::process::affinity(host) {
            Some(r) => r.map_err(Error::new)?,
            None => u64::MAX,
        },
        AffinityTarget::Init => u64::MAX,
    };
    let mut mask = vec![0u8; mask_bytes];
    for cpu in 0..ncpu {
        if cpu >= 64 || set >> cpu & 1 == 1 {
            mask[cpu / 8] |= 1 << (cpu % 8);
        }
    }
    uaccess::write_bytes(a[2], &mask)?;
    Ok(mask_bytes as u64)
}

pub fn sched_setaffinity(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let target = affinity_target(cx, args::int(a[0]))?;
    let len = args::len(a[1])?.min(8192);
    let mask = uaccess::read_bytes(a[2], len)?;
    let ncpu = host::process::cpu_count() as usize;
    let online = |c: usize| mask.get(c / 8).is_some_and(|b| b >> (c % 8) & 1 == 1);
    if !(0..ncpu).any(online) {
        return_errno_with_message!(EINVAL, "the mask holds no online CPU");
    }
    // Applied to the host thread where the host lets a process pin its
    // threads (Linux; its kernel checks who may), and recorded for the
    // process's own threads.
    let set = (0..ncpu.min(64)).filter(|&c| online(c)).fold(0u64, |m, c| m | 1 << c);
    let host_err = |e| Error::with_message(e, "the host refused the CPU mask");
    match target {
        AffinityTarget::Thread(t) => {
            if let Some(h) = lock(&t.host).as_ref() {
                if let Some(r) = host::thread::set_affinity_of(h, set) {
                    r.map_err(host_err)?;
                }
            }
            t.affinity.store(set, std::sync::atomic::Ordering::Relaxed);
        }
        AffinityTarget::Task(host) => {
            if let Some(r) = host::process::set_affinity(host, set) {
                r.map_err(host_err)?;
            }
        }
        // Nothing of init can be changed (host_target's EPERM).
        AffinityTarget::Init => {
            host_target(args::int(a[0]))?;
        }
    }
    Ok(0)
}

/// sched_rr_get_interval(2): the time slice of the target's policy. Linux
/// reports the fair scheduler's current slice, which depends on the load;
/// the runtime reports none (0).
pub fn sched_rr_get_interval(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let pid = args::int(a[0]);
    if pid < 0 {
        return_errno!(EINVAL);
    }
    affinity_target(cx, pid)?;
    uaccess::write(a[1], &crate::abi::Timespec { sec: 0, nsec: 0 })?;
    Ok(0)
}

/// The caller's policy as it set it (Linux keeps it across execve).
pub fn sched_policy() -> u32 {
    current().sched_policy.load(std::sync::atomic::Ordering::Relaxed)
}

fn adopt_sched_policy(policy: u32) {
    current().sched_policy.store(policy, std::sync::atomic::Ordering::Relaxed);
}

/// The policy of the task behind `host` (0: the caller): the host
/// thread's own where the host has Linux's policies (with
/// SCHED_RESET_ON_FORK when set); elsewhere the caller's as recorded, and
/// SCHED_OTHER for others.
fn policy_of(host: i32) -> u32 {
    match host::process::sched_policy(host) {
        Some(Ok(p)) => p,
        _ if host == 0 => sched_policy(),
        _ => g::SCHED_NORMAL,
    }
}

/// Sets a normal policy checked by the caller: on the host thread where
/// the host has Linux's policies (its kernel checks who may; a lower one
/// than SCHED_OTHER cannot be left without privilege), and recorded for
/// the caller.
fn set_policy(host: i32, policy: u32) -> Result<()> {
    if let Some(r) = host::process::set_sched_policy(host, policy) {
        r.map_err(|e| Error::with_message(e, "the host refused the scheduling policy"))?;
    }
    if host == 0 {
        adopt_sched_policy(policy & !g::SCHED_RESET_ON_FORK);
    }
    Ok(())
}

pub fn sched_getscheduler(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let pid = args::int(a[0]);
    if pid < 0 {
        return_errno!(EINVAL);
    }
    if is_init(pid) {
        return Ok(u64::from(g::SCHED_NORMAL));
    }
    Ok(u64::from(policy_of(host_target(pid)?)))
}

/// Checks a policy and its priority as sched_setscheduler does.
fn check_policy(policy: u32, prio: i32) -> Result<()> {
    match policy {
        g::SCHED_NORMAL | g::SCHED_BATCH | g::SCHED_IDLE if prio == 0 => Ok(()),
        g::SCHED_FIFO | g::SCHED_RR if (1..=99).contains(&prio) => {
            Err(errno!(EPERM, "real-time scheduling is not emulated"))
        }
        _ => Err(errno!(EINVAL, "unknown policy, or a priority it does not take")),
    }
}

pub fn sched_setscheduler(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let pid = args::int(a[0]);
    let policy = args::int(a[1]);
    if pid < 0 || policy < 0 || a[2] == 0 {
        return_errno!(EINVAL);
    }
    let prio: i32 = uaccess::read(a[2])?;
    let reset = policy as u32 & g::SCHED_RESET_ON_FORK;
    let policy = policy as u32 & !g::SCHED_RESET_ON_FORK;
    let host = host_target(pid)?;
    check_policy(policy, prio)?;
    set_policy(host, policy | reset)?;
    Ok(0)
}

pub fn sched_setparam(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let pid = args::int(a[0]);
    if pid < 0 || a[1] == 0 {
        return_errno!(EINVAL);
    }
    let prio: i32 = uaccess::read(a[1])?;
    check_policy(policy_of(host_target(pid)?) & !g::SCHED_RESET_ON_FORK, prio)?;
    Ok(0)
}

pub fn sched_getparam(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let pid = args::int(a[0]);
    if pid < 0 || a[1] == 0 {
        return_errno!(EINVAL);
    }
    check_task(pid)?;
    uaccess::write(a[1], &0i32)?;
    Ok(0)
}

/// `struct sched_attr` as far as this kernel knows it (SCHED_ATTR_SIZE_VER1).
const SCHED_ATTR_SIZE: usize = 56;
/// The smallest a caller may ask for (SCHED_ATTR_SIZE_VER0).
const SCHED_ATTR_SIZE_VER0: u32 = 48;
/// The largest a caller may ask for (PAGE_SIZE).
const SCHED_ATTR_SIZE_MAX: u32 = 4096;

/// sched_getattr(pid, attr, size, flags) (kernel/sched/syscalls.c): the
/// policy as sched_getscheduler reads it, the nice value as getpriority
/// reads it, priority 0 (no real-time policy is ever set), no deadline
/// parameters, and no utilization clamps (this kernel has none:
/// CONFIG_UCLAMP_TASK off). `size` is min(size, 56); bytes past 56 in a
/// larger buffer are zeroed, as copy_struct_to_user does.
pub fn sched_getattr(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (pid, attr, size, flags) = (args::int(a[0]), a[1], args::uint(a[2]), args::uint(a[3]));
    if attr == 0 || pid < 0 || !(SCHED_ATTR_SIZE_VER0..=SCHED_ATTR_SIZE_MAX).contains(&size) || flags != 0 {
        return_errno_with_message!(EINVAL, "bad pointer, pid, size (48 to 4096) or flags (0)");
    }
    let (policy, nice) = if is_init(pid) {
        (g::SCHED_NORMAL, 0)
    } else {
        let host = host_target(pid)?;
        (policy_of(host), host::process::nice(host).map_err(Error::new)?)
    };
    let size = size as usize;
    let mut out = vec![0u8; size];
    let mut k = [0u8; SCHED_ATTR_SIZE];
    k[0..4].copy_from_slice(&(size.min(SCHED_ATTR_SIZE) as u32).to_ne_bytes());
    k[4..8].copy_from_slice(&(policy & !g::SCHED_RESET_ON_FORK).to_ne_bytes());
    // get_params: SCHED_FLAG_RESET_ON_FORK the only flag; sched_priority
    // (20..24) stays 0.
    let flags: u64 = if policy & g::SCHED_RESET_ON_FORK != 0 { SCHED_FLAG_RESET_ON_FORK } else { 0 };
    k[8..16].copy_from_slice(&flags.to_ne_bytes());
    k[16..20].copy_from_slice(&nice.to_ne_bytes());
    let n = size.min(SCHED_ATTR_SIZE);
    out[..n].copy_from_slice(&k[..n]);
    uaccess::write_bytes(attr, &out)?;
    Ok(0)
}

/// sched_flags bits (include/uapi/linux/sched.h), as the 64-bit field
/// holds them; a caller may pass SCHED_FLAG_ALL and SCHED_FLAG_SUGOV,
/// the kernel-internal bit that uapi does not export.
const SCHED_FLAG_RESET_ON_FORK: u64 = g::SCHED_FLAG_RESET_ON_FORK as u64;
const SCHED_FLAG_KEEP_POLICY: u64 = g::SCHED_FLAG_KEEP_POLICY as u64;
const SCHED_FLAG_KEEP_PARAMS: u64 = g::SCHED_FLAG_KEEP_PARAMS as u64;
const SCHED_FLAG_UTIL_CLAMP: u64 = g::SCHED_FLAG_UTIL_CLAMP as u64;
const SCHED_FLAG_ALL: u64 = g::SCHED_FLAG_ALL as u64;
const SCHED_FLAG_SUGOV: u64 = 0x1000_0000;

/// `struct sched_attr` from the caller as sched_copy_attr reads it: size 0
/// stands for the first version's 48; a size below that or above a page,
/// or non-zero bytes past what this kernel knows, is E2BIG with the
/// kernel's size written back into the caller's `size`.
fn read_sched_attr(uattr: u64) -> Result<[u8; SCHED_ATTR_SIZE]> {
    let mut size: u32 = uaccess::read(uattr)?;
    if size == 0 {
        size = SCHED_ATTR_SIZE_VER0;
    }
    let too_big = || {
        let _ = uaccess::write(uattr, &(SCHED_ATTR_SIZE as u32));
        errno!(E2BIG, "struct sched_attr size below 48, above a page, or with unknown fields set")
    };
    if !(SCHED_ATTR_SIZE_VER0..=SCHED_ATTR_SIZE_MAX).contains(&size) {
        return Err(too_big());
    }
    let size = size as usize;
    let mut k = [0u8; SCHED_ATTR_SIZE];
    let n = size.min(SCHED_ATTR_SIZE);
    k[..n].copy_from_slice(&uaccess::read_bytes(uattr, n)?);
    if size > SCHED_ATTR_SIZE && uaccess::read_bytes(uattr + SCHED_ATTR_SIZE as u64, size - SCHED_ATTR_SIZE)?.iter().any(|&b| b != 0) {
        return Err(too_big());
    }
    if u64_at(&k, 8) & SCHED_FLAG_UTIL_CLAMP != 0 && size < SCHED_ATTR_SIZE {
        return_errno_with_message!(EINVAL, "utilization clamps need the 56-byte struct sched_attr");
    }
    Ok(k)
}

fn u64_at(b: &[u8; SCHED_ATTR_SIZE], off: usize) -> u64 {
    u64::from_ne_bytes(b[off..off + 8].try_into().unwrap_or([0; 8]))
}

fn u32_at(b: &[u8; SCHED_ATTR_SIZE], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().unwrap_or([0; 4]))
}

/// What `__checkparam_dl` accepts: a deadline, a runtime of at least
/// 1024 ns, runtime <= deadline <= period (the deadline when 0), neither
/// with the top bit set, and a period within the default
/// sched_dl_period_min/max (100 us to 2^22 us).
fn deadline_params_hold(runtime: u64, deadline: u64, period: u64) -> bool {
    let period = if period == 0 { deadline } else { period };
    deadline != 0
        && runtime >= 1 << 10
        && (deadline | period) >> 63 == 0
        && runtime <= deadline
        && deadline <= period
        && (100_000..=(1u64 << 22) * 1000).contains(&period)
}

/// sched_setattr(pid, attr, flags) (kernel/sched/syscalls.c, with
/// sched_copy_attr and __sched_setscheduler's checks in their order): a
/// fair policy and its nice value (clamped to -20..19) together;
/// SCHED_FLAG_KEEP_POLICY keeps the policy, SCHED_FLAG_KEEP_PARAMS keeps
/// the parameters and, as in the kernel, the policy too. The policy (with
/// SCHED_FLAG_RESET_ON_FORK) is set as sched_setscheduler sets it
/// (`set_policy`); the nice value is the host's, which refuses a lower one
/// without privilege (EPERM). Real-time and deadline policies are EPERM,
/// utilization clamps EOPNOTSUPP (a kernel without them).
pub fn sched_setattr(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (pid, uattr, flags) = (args::int(a[0]), a[1], args::uint(a[2]));
    if uattr == 0 || pid < 0 || flags != 0 {
        return_errno_with_message!(EINVAL, "bad pointer, pid or flags (0)");
    }
    let k = read_sched_attr(uattr)?;
    let (policy, sched_flags) = (u32_at(&k, 4), u64_at(&k, 8));
    let nice = (u32_at(&k, 16) as i32).clamp(-20, 19);
    let prio = u32_at(&k, 20);
    if (policy as i32) < 0 {
        return_errno_with_message!(EINVAL, "negative policy");
    }
    let host = host_target(pid)?;
    let policy = if sched_flags & SCHED_FLAG_KEEP_POLICY != 0 { policy_of(host) & !g::SCHED_RESET_ON_FORK } else { policy };
    if ![g::SCHED_NORMAL, g::SCHED_FIFO, g::SCHED_RR, g::SCHED_BATCH, g::SCHED_IDLE, g::SCHED_DEADLINE].contains(&policy) {
        return_errno_with_message!(EINVAL, "unknown scheduling policy");
    }
    if sched_flags & !(SCHED_FLAG_ALL | SCHED_FLAG_SUGOV) != 0 {
        return_errno_with_message!(EINVAL, "unknown sched_flags");
    }
    let is_rt = policy == g::SCHED_FIFO || policy == g::SCHED_RR;
    let is_dl = policy == g::SCHED_DEADLINE;
    if prio > 99
        || is_rt != (prio != 0)
        || (is_dl && !deadline_params_hold(u64_at(&k, 24), u64_at(&k, 32), u64_at(&k, 40)))
    {
        return_errno_with_message!(EINVAL, "a priority or deadline parameters the policy does not take");
    }
    if is_rt || is_dl {
        return_errno_with_message!(EPERM, "real-time and deadline scheduling are not emulated");
    }
    if sched_flags & SCHED_FLAG_SUGOV != 0 {
        return_errno_with_message!(EINVAL, "SCHED_FLAG_SUGOV is the kernel's own");
    }
    if sched_flags & SCHED_FLAG_UTIL_CLAMP != 0 {
        return_errno_with_message!(EOPNOTSUPP, "utilization clamping is not emulated");
    }
    if sched_flags & SCHED_FLAG_KEEP_PARAMS == 0 {
        host::process::set_nice(host, nice).map_err(|e| {
            let e = if e == crate::abi::Errno::EACCES { crate::abi::Errno::EPERM } else { e };
            Error::with_message(e, "the host refused the nice value")
        })?;
        let reset = if sched_flags & SCHED_FLAG_RESET_ON_FORK != 0 { g::SCHED_RESET_ON_FORK } else { 0 };
        set_policy(host, policy | reset)?;
    }
    Ok(0)
}

/// include/uapi/linux/ioprio.h.
const IOPRIO_WHO_PROCESS: u32 = 1;
const IOPRIO_WHO_PGRP: u32 = 2;
const IOPRIO_WHO_USER: u32 = 3;
const IOPRIO_CLASS_SHIFT: u32 = 13;
const IOPRIO_CLASS_NONE: u32 = 0;
const IOPRIO_CLASS_RT: u32 = 1;
const IOPRIO_CLASS_BE: u32 = 2;
const IOPRIO_CLASS_IDLE: u32 = 3;

/// The host thread `who` of kind `which` names for the I/O priority
/// calls: Some(0) for the caller (its pid, group or user, or 0 for each),
/// the host pid of another task, None for another group or user (not
/// looked up); ESRCH when it names no task, EINVAL for an unknown `which`.
fn ioprio_target(which: u32, who: i32) -> Result<Option<i32>> {
    match which {
        IOPRIO_WHO_PROCESS => host_target(who).map(Some),
        IOPRIO_WHO_PGRP => {
            let own = crate::syscall::process::pgid_of(0)?;
            if who == 0 || who == own {
                return Ok(Some(0));
            }
            // A group nobody is in: ESRCH, as the kernel finds no task.
            crate::syscall::process::pgid_of(who).map(|_| None).map_err(|_| errno!(ESRCH, "no such process group"))
        }
        IOPRIO_WHO_USER => Ok((who == 0 || who as u32 == current().cred().uid).then_some(0)),
        _ => Err(errno!(EINVAL, "which must be IOPRIO_WHO_PROCESS, IOPRIO_WHO_PGRP or IOPRIO_WHO_USER")),
    }
}

/// ioprio_set(which, who, ioprio) (block/ioprio.c): the class and level
/// checked as ioprio_check_cap does (the real-time class needs
/// CAP_SYS_ADMIN or CAP_SYS_NICE), then set on the host thread behind the
/// task where the host has I/O priorities (Linux: its kernel applies them,
/// keeps them across fork and exec, and checks who may change another
/// task's); elsewhere recorded for the caller, kept across fork and
/// execve, and another task's only checked. Another group or user than
/// the caller's is checked, not changed.
pub fn ioprio_set(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (which, who, prio) = (args::uint(a[0]), args::int(a[1]), args::uint(a[2]));
    let class = (prio >> IOPRIO_CLASS_SHIFT) & 7;
    let level = prio & 7;
    match class {
        IOPRIO_CLASS_RT => {
            let cred = current().cred();
            if !cred.capable(g::CAP_SYS_ADMIN) && !cred.capable(g::CAP_SYS_NICE) {
                return_errno_with_message!(EPERM, "the real-time I/O class needs CAP_SYS_ADMIN or CAP_SYS_NICE");
            }
        }
        IOPRIO_CLASS_BE | IOPRIO_CLASS_IDLE => {}
        IOPRIO_CLASS_NONE if level == 0 => {}
        _ => return_errno_with_message!(EINVAL, "unknown I/O class, or a level for the none class"),
    }
    let prio = prio & 0xffff;
    let Some(host) = ioprio_target(which, who)? else { return Ok(0) };
    if let Some(r) = host::process::set_ioprio(host, prio) {
        r.map_err(|e| Error::with_message(e, "the host refused the I/O priority"))?;
    }
    if host == 0 {
        current().ioprio.store(prio, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(0)
}

/// ioprio_get(which, who): the host's value where it has I/O priorities;
/// elsewhere what the caller set (none, 0, until then), another task
/// reading as none.
pub fn ioprio_get(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (which, who) = (args::uint(a[0]), args::int(a[1]));
    let Some(host) = ioprio_target(which, who)? else { return Ok(0) };
    if let Some(r) = host::process::ioprio(host) {
        return r.map(u64::from).map_err(Error::new);
    }
    Ok(if host == 0 { u64::from(current().ioprio.load(std::sync::atomic::Ordering::Relaxed)) } else { 0 })
}

pub fn sched_get_priority_max(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    match args::uint(a[0]) {
        g::SCHED_FIFO | g::SCHED_RR => Ok(99),
        g::SCHED_NORMAL | g::SCHED_BATCH | g::SCHED_IDLE | g::SCHED_DEADLINE => Ok(0),
        _ => Err(errno!(EINVAL, "unknown scheduling policy")),
    }
}

pub fn sched_get_priority_min(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    match args::uint(a[0]) {
        g::SCHED_FIFO | g::SCHED_RR => Ok(1),
        g::SCHED_NORMAL | g::SCHED_BATCH | g::SCHED_IDLE | g::SCHED_DEADLINE => Ok(0),
        _ => Err(errno!(EINVAL, "unknown scheduling policy")),
    }
}

/// The host process a get/setpriority target names: any task for
/// PRIO_PROCESS; for PRIO_PGRP and PRIO_USER only the caller's own group
/// and user, which stand for the caller.
fn priority_target(which: u32, who: i32) -> Result<i32> {
    match which {
        g::PRIO_PROCESS => host_target(who),
        g::PRIO_USER if who == 0 || who as u32 == current().cred().uid => Ok(0),
        g::PRIO_PGRP if who == 0 || crate::syscall::process::pgid_of(0).is_ok_and(|p| p == who) => Ok(0),
        g::PRIO_USER | g::PRIO_PGRP => Err(errno!(ESRCH, "other process groups and users are not looked up")),
        _ => Err(errno!(EINVAL, "which must be PRIO_PROCESS, PRIO_PGRP or PRIO_USER")),
    }
}

pub fn getpriority(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if args::uint(a[0]) == g::PRIO_PROCESS && is_init(args::int(a[1])) {
        return Ok(20);
    }
    let host = priority_target(args::uint(a[0]), args::int(a[1]))?;
    let nice = host::process::nice(host).map_err(Error::new)?;
    // The raw syscall returns 20 - nice, so that the result is never negative.
    Ok((20 - nice) as u64)
}

pub fn setpriority(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let host = priority_target(args::uint(a[0]), args::int(a[1]))?;
    let nice = args::int(a[2]).clamp(-20, 19);
    host::process::set_nice(host, nice).map_err(Error::new)?;
    Ok(0)
}

pub fn sched_yield(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    host::process::sched_yield();
    Ok(0)
}
