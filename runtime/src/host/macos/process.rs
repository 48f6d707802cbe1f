//! The host process: exit, identity, limits, system figures (macOS side).

use crate::abi::{Errno, Timeval};
use crate::host::{CpuStat, HostResult, MemInfo, TaskUsage, VmEvents};

pub use crate::host::posix_process::*;

/// Another host process's limits: macOS has no prlimit, so only the
/// calling process's own limits are reachable.
pub fn prlimit_of(_host_pid: i32, _res: u32, _new: Option<(u64, u64)>) -> HostResult<(u64, u64)> {
    Err(Errno::EPERM)
}

/// Linux resource numbers → macOS ones (which differ from RLIMIT_AS on).
pub fn rlimit_resource_to_host(res: u32) -> Option<i32> {
    use linux_raw_sys::general as g;
    let host = match res {
        g::RLIMIT_CPU => libc::RLIMIT_CPU,
        g::RLIMIT_FSIZE => libc::RLIMIT_FSIZE,
        g::RLIMIT_DATA => libc::RLIMIT_DATA,
        g::RLIMIT_STACK => libc::RLIMIT_STACK,
        g::RLIMIT_CORE => libc::RLIMIT_CORE,
        // lossy: macOS RLIMIT_RSS is an alias of RLIMIT_AS; Linux ignores RSS anyway.
        g::RLIMIT_RSS => libc::RLIMIT_RSS,
        g::RLIMIT_NPROC => libc::RLIMIT_NPROC,
        g::RLIMIT_NOFILE => libc::RLIMIT_NOFILE,
        g::RLIMIT_MEMLOCK => libc::RLIMIT_MEMLOCK,
        g::RLIMIT_AS => libc::RLIMIT_AS,
        // lossy: LOCKS, SIGPENDING, MSGQUEUE, NICE, RTPRIO and RTTIME are Linux-only.
        _ => return None,
    };
    Some(host)
}

const _: () = assert!(libc::RLIMIT_AS == 5 && libc::RLIMIT_MEMLOCK == 6 && libc::RLIMIT_NPROC == 7);
const _: () = assert!(libc::RLIMIT_NOFILE == 8);

extern "C" {
    /// The host port of this machine (mach/mach_init.h); the libc crate marks
    /// its Mach items deprecated.
    fn mach_host_self() -> libc::mach_port_t;
}

/// Reads a fixed-size sysctl value by name.
fn sysctl_value<T: Copy + Default>(name: &core::ffi::CStr) -> Option<T> {
    let mut v = T::default();
    let mut len = core::mem::size_of::<T>();
    // SAFETY: `v` is valid for `len` bytes of writes; no new value is set.
    let r = unsafe {
        libc::sysctlbyname(name.as_ptr(), (&mut v as *mut T).cast(), &mut len, core::ptr::null_mut(), 0)
    };
    (r == 0 && len == core::mem::size_of::<T>()).then_some(v)
}

/// `struct xsw_usage` (sys/sysctl.h), the value of `vm.swapusage`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct XswUsage {
    total: u64,
    avail: u64,
    used: u64,
    pagesize: u32,
    encrypted: u32,
}

/// The host's virtual-memory statistics and its page size.
fn vm_statistics() -> (Option<libc::vm_statistics64>, u64) {
    // SAFETY: plain call.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    // SAFETY: a zeroed vm_statistics64 is a valid out-parameter.
    let mut vm: libc::vm_statistics64 = unsafe { core::mem::zeroed() };
    let mut count = (core::mem::size_of::<libc::vm_statistics64>() / core::mem::size_of::<libc::integer_t>()) as u32;
    // SAFETY: `vm` holds `count` integers; mach_host_self is a send right we may leak.
    let kr = unsafe {
        libc::host_statistics64(mach_host_self(), libc::HOST_VM_INFO64, (&mut vm as *mut libc::vm_statistics64).cast(), &mut count)
    };
    ((kr == 0).then_some(vm), page)
}

pub fn mem_info() -> MemInfo {
    let total = sysctl_value::<u64>(c"hw.memsize").unwrap_or(0);
    let (vm, page) = vm_statistics();
    let (free, cached) = match vm {
        // lossy: macOS "speculative" pages are free-for-the-taking; count them as free.
        // lossy: file-backed (external) pages play the part of Linux's page cache.
        Some(vm) => ((u64::from(vm.free_count) + u64::from(vm.speculative_count)) * page, u64::from(vm.external_page_count) * page),
        None => (0, 0),
    };
    let swap = sysctl_value::<XswUsage>(c"vm.swapusage").unwrap_or_default();
    MemInfo {
        total,
        free,
        // lossy: MemAvailable ≈ free + reclaimable file cache, as Linux estimates it.
        available: free + cached,
        buffers: 0,
        cached,
        swap_total: swap.total,
        swap_free: swap.avail,
        // lossy: macOS reports neither shared memory nor reclaimable kernel caches this way.
        shmem: 0,
        reclaimable: 0,
    }
}

/// The host's paging counters, from host_statistics64.
pub fn vm_events() -> VmEvents {
    let (Some(vm), page) = vm_statistics() else { return VmEvents::default() };
    // lossy: Mach counts page-ins and page-outs in pages; Linux's pgpgin and
    // pgpgout are KiB. A page-in is a fault that went to disk, which is what
    // Linux calls a major fault.
    VmEvents {
        pgpgin: vm.pageins * page / 1024,
        pgpgout: vm.pageouts * page / 1024,
        pswpin: vm.swapins,
        pswpout: vm.swapouts,
        pgfault: vm.faults,
        pgmajfault: vm.pageins,
    }
}

/// Fills `buf` with random bytes from the host kernel (`getentropy` takes at
/// most 256 bytes per call).
pub fn random(buf: &mut [u8]) -> HostResult<()> {
    const GETENTROPY_MAX: usize = 256;
    for chunk in buf.chunks_mut(GETENTROPY_MAX) {
        // SAFETY: writes within chunk.
        if unsafe { libc::getentropy(chunk.as_mut_ptr().cast(), chunk.len()) } < 0 {
            let e = super::errno::last();
            return Err(if e == Errno::EINTR { Errno::EAGAIN } else { e });
        }
    }
    Ok(())
}

/// The CPU the calling thread runs on, if the host says.
pub fn current_cpu() -> u32 {
    // lossy: macOS has no sched_getcpu for x86_64 processes; report CPU 0.
    0
}

/// A host ru_maxrss in KiB, Linux's unit (macOS counts bytes).
pub fn maxrss_kib(raw: i64) -> i64 {
    raw / 1024
}

/// Resource usage of the whole host process, or of its reaped children
/// (which are the guest's reaped children: every guest process is a host one).
pub fn rusage(of_children: bool) -> (Timeval, Timeval, i64, i64, i64, i64, i64) {
    let who = if of_children { libc::RUSAGE_CHILDREN } else { libc::RUSAGE_SELF };
    // SAFETY: zeroed rusage is a valid out-parameter.
    let mut ru: libc::rusage = unsafe { core::mem::zeroed() };
    // SAFETY: valid out-parameter.
    unsafe { libc::getrusage(who, &mut ru) };
    (
        Timeval { sec: ru.ru_utime.tv_sec, usec: i64::from(ru.ru_utime.tv_usec) },
        Timeval { sec: ru.ru_stime.tv_sec, usec: i64::from(ru.ru_stime.tv_usec) },
        maxrss_kib(ru.ru_maxrss),
        ru.ru_minflt,
        ru.ru_majflt,
        ru.ru_nvcsw,
        ru.ru_nivcsw,
    )
}

/// CPU time, memory and stopped state of another host process, from proc_pidinfo.
pub fn usage_of(host_pid: i32) -> Option<TaskUsage> {
    // SAFETY: a zeroed proc_taskinfo is a valid out-parameter.
    let mut ti: libc::proc_taskinfo = unsafe { core::mem::zeroed() };
    let size = core::mem::size_of::<libc::proc_taskinfo>() as i32;
    // SAFETY: `ti` is valid for `size` bytes of writes.
    let got = unsafe { libc::proc_pidinfo(host_pid, libc::PROC_PIDTASKINFO, 0, (&mut ti as *mut libc::proc_taskinfo).cast(), size) };
    if got != size {
        return None;
    }
    // lossy: the task times are nanoseconds on Intel Macs (and under Rosetta,
    // which reports them for the translated process); Linux wants 1/100 s.
    let ticks = |ns: u64| ns / 10_000_000;
    Some(TaskUsage {
        utime_ticks: ticks(ti.pti_total_user),
        stime_ticks: ticks(ti.pti_total_system),
        vsize: ti.pti_virtual_size,
        rss_pages: ti.pti_resident_size / 4096,
        stopped: is_stopped(host_pid),
    })
}

/// The I/O priority of a host process in Linux's encoding: None, macOS
/// has no such per-process value (the runtime keeps the guest's).
pub fn ioprio(_host_pid: i32) -> Option<HostResult<u32>> {
    None
}

/// See [`ioprio`]: None, the runtime keeps what the guest sets.
pub fn set_ioprio(_host_pid: i32, _prio: u32) -> Option<HostResult<()>> {
    None
}

/// The scheduling policy of a host thread: None, macOS has no Linux
/// policies (the runtime keeps the guest's).
pub fn sched_policy(_host_pid: i32) -> Option<HostResult<u32>> {
    None
}

/// See [`sched_policy`]: None, the runtime keeps what the guest sets.
pub fn set_sched_policy(_host_pid: i32, _policy: u32) -> Option<HostResult<()>> {
    None
}

/// The CPUs a host thread may run on: None, macOS does not let a
/// process restrict its threads to CPUs (the runtime keeps the guest's
/// masks).
pub fn affinity(_host_pid: i32) -> Option<HostResult<u64>> {
    None
}

/// See [`affinity`]: None.
pub fn set_affinity(_host_pid: i32, _cpus: u64) -> Option<HostResult<()>> {
    None
}

/// The control groups of a host process: macOS has none, so every task
/// is in the root of a unified (version 2) hierarchy, as in a Linux
/// without cgroup controllers set up.
pub fn cgroup_of(_host_pid: i32) -> Option<String> {
    Some("0::/\n".to_string())
}

/// How many threads the calling host process has (its task's thread
/// count). None when that cannot be read.
pub fn thread_count() -> Option<u32> {
    // SAFETY: a zeroed proc_taskinfo is a valid out-parameter.
    let mut ti: libc::proc_taskinfo = unsafe { core::mem::zeroed() };
    let size = core::mem::size_of::<libc::proc_taskinfo>() as i32;
    // SAFETY: `ti` is valid for `size` bytes of writes.
    let got = unsafe { libc::proc_pidinfo(libc::getpid(), libc::PROC_PIDTASKINFO, 0, (&mut ti as *mut libc::proc_taskinfo).cast(), size) };
    (got == size).then(|| u32::try_from(ti.pti_threadnum).unwrap_or(u32::MAX))
}

/// Whether a host process is stopped (SSTOP in its BSD info).
fn is_stopped(host_pid: i32) -> bool {
    // SAFETY: a zeroed proc_bsdinfo is a valid out-parameter.
    let mut bi: libc::proc_bsdinfo = unsafe { core::mem::zeroed() };
    let size = core::mem::size_of::<libc::proc_bsdinfo>() as i32;
    // SAFETY: `bi` is valid for `size` bytes of writes.
    let got = unsafe { libc::proc_pidinfo(host_pid, libc::PROC_PIDTBSDINFO, 0, (&mut bi as *mut libc::proc_bsdinfo).cast(), size) };
    got == size && bi.pbi_status == libc::SSTOP
}

/// The controlling terminal of a host process, from proc_pidinfo: the
/// Linux device number a guest expects for it in /proc/PID/stat's `tty_nr`
/// encoding (a /dev/ttysN replica is Linux's /dev/pts/N, the console is
/// /dev/console), and the host process group in its foreground (or -1).
/// None when the process has no terminal.
pub fn terminal_of(host_pid: i32) -> Option<(u64, i32)> {
    // SAFETY: a zeroed proc_bsdinfo is a valid out-parameter.
    let mut bi: libc::proc_bsdinfo = unsafe { core::mem::zeroed() };
    let size = core::mem::size_of::<libc::proc_bsdinfo>() as i32;
    // SAFETY: `bi` is valid for `size` bytes of writes.
    let got = unsafe { libc::proc_pidinfo(host_pid, libc::PROC_PIDTBSDINFO, 0, (&mut bi as *mut libc::proc_bsdinfo).cast(), size) };
    // NODEV (-1) when there is no controlling terminal.
    if got != size || bi.e_tdev == u32::MAX {
        return None;
    }
    // SAFETY: devname returns NULL or a pointer to a static NUL-terminated name.
    let name = unsafe { libc::devname(bi.e_tdev as libc::dev_t, libc::S_IFCHR) };
    if name.is_null() {
        return None;
    }
    // SAFETY: non-null, NUL-terminated (above).
    let name = unsafe { core::ffi::CStr::from_ptr(name) }.to_string_lossy().into_owned();
    let (major, minor) = match crate::host::fs::pts_number(&format!("/dev/{name}")) {
        Some(n) => (136 + u64::from(n) / 256, u64::from(n) % 256),
        None if name == "console" => (5, 1),
        // lossy: other terminals have no Linux name; they show as tty0.
        None => (4, 0),
    };
    let tpgid = if bi.e_tpgid == 0 { -1 } else { bi.e_tpgid as i32 };
    Some(((minor & 0xff) | (major << 8) | ((minor & !0xff) << 12), tpgid))
}

/// The host's per-CPU tick counters, from host_processor_info.
pub fn cpu_stat() -> Option<CpuStat> {
    let mut ncpu: libc::natural_t = 0;
    let mut info: libc::processor_info_array_t = core::ptr::null_mut();
    let mut count: libc::mach_msg_type_number_t = 0;
    // SAFETY: out-parameters; on success the kernel hands us `count` integers
    // at `info`, which we give back with vm_deallocate below.
    let kr = unsafe { libc::host_processor_info(mach_host_self(), libc::PROCESSOR_CPU_LOAD_INFO, &mut ncpu, &mut info, &mut count) };
    if kr != 0 || info.is_null() {
        return None;
    }
    let per = libc::CPU_STATE_MAX as usize;
    let n = (ncpu as usize).min(count as usize / per);
    // SAFETY: the kernel returned `count` >= n * per integers at `info`.
    let ticks = unsafe { core::slice::from_raw_parts(info.cast::<u32>(), n * per) };
    let st = CpuStat {
        // Mach counts user, system, idle and nice ticks at 100 Hz, Linux's
        // USER_HZ. lossy: iowait, irq, softirq and steal are not kept apart.
        cpus: ticks
            .chunks_exact(per)
            .map(|t| {
                let v = |i: i32| u64::from(t[i as usize]);
                [v(libc::CPU_STATE_USER), v(libc::CPU_STATE_NICE), v(libc::CPU_STATE_SYSTEM), v(libc::CPU_STATE_IDLE), 0, 0, 0, 0, 0, 0]
            })
            .collect(),
        // lossy: macOS exports no context-switch, interrupt or fork counters.
        ctxt: 0,
        intr: 0,
        forks: 0,
    };
    // SAFETY: `info` and its size are exactly what host_processor_info returned;
    // mach_task_self_ is this task's own port.
    unsafe {
        #[allow(deprecated)]
        libc::vm_deallocate(libc::mach_task_self(), info as libc::vm_address_t, count as usize * core::mem::size_of::<libc::integer_t>());
    }
    Some(st)
}

/// Seconds since the host booted, and the 1/5/15-minute load averages.
pub fn uptime_and_load() -> (f64, [f64; 3]) {
    let boot = sysctl_value::<libc::timeval>(c"kern.boottime");
    let mut now = libc::timeval { tv_sec: 0, tv_usec: 0 };
    // SAFETY: valid out-parameter.
    unsafe { libc::gettimeofday(&mut now, core::ptr::null_mut()) };
    // lossy: wall-clock difference since boot, so it includes sleep like Linux
    // CLOCK_BOOTTIME but also jumps when the clock is set.
    let up = boot.map_or(0.0, |b| {
        (now.tv_sec - b.tv_sec) as f64 + f64::from(now.tv_usec - b.tv_usec) / 1e6
    });
    let mut load = [0f64; 3];
    // SAFETY: `load` holds three doubles.
    unsafe { libc::getloadavg(load.as_mut_ptr(), 3) };
    (up.max(0.0), load)
}

/// The child, `si_code` (CLD_*) and status of a waitid siginfo.
pub fn siginfo_child(info: &libc::siginfo_t) -> (i32, i32, i32) {
    (info.si_pid, info.si_code, info.si_status)
}

/// macOS has no capabilities: a guest that runs as the host user starts
/// with Linux's defaults for its uid.
pub fn capabilities() -> Option<[u64; 5]> {
    None
}

/// Whether [`sigqueue`] carries its code and value to the receiver: not
/// on macOS.
pub const HAS_SIGQUEUE: bool = false;

/// Sends host signal `sig` to the process `host_pid`. macOS has no
/// sigqueue: lossy: the receiver sees SI_USER, and `code`, `uid` and
/// `value` are lost.
pub fn sigqueue(host_pid: i32, sig: i32, _code: i32, _uid: u32, _value: u64) -> HostResult<()> {
    kill(host_pid, sig)
}

/// The host signal to raise when the parent host process ends (0: none).
static PARENT_DEATH_SIGNAL: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
/// The host pid whose watcher thread is running (0: none). A fork child
/// has no such thread, and a pid not its own tells it so.
static WATCHER_OF: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Has `host_sig` (0: none) raised in this process when its parent ends.
/// macOS has no parent-death signal: a runtime thread waits for the
/// parent's exit (kqueue EVFILT_PROC NOTE_EXIT) and then signals this
/// process. Unlike Linux it watches the parent process, not the thread
/// that forked.
pub fn set_parent_death_signal(host_sig: i32) {
    use std::sync::atomic::Ordering::SeqCst;
    PARENT_DEATH_SIGNAL.store(host_sig, SeqCst);
    // SAFETY: plain calls.
    let (me, parent) = unsafe { (libc::getpid(), libc::getppid()) };
    if host_sig == 0 || WATCHER_OF.swap(me, SeqCst) == me || parent <= 1 {
        return;
    }
    let watch = move || {
        // SAFETY: a new kqueue, one EVFILT_PROC change on the parent's pid,
        // then a wait for its one event; the fd is closed after.
        unsafe {
            let kq = libc::kqueue();
            if kq < 0 {
                return;
            }
            let mut ev: libc::kevent = core::mem::zeroed();
            ev.ident = parent as libc::uintptr_t;
            ev.filter = libc::EVFILT_PROC;
            ev.flags = libc::EV_ADD | libc::EV_ONESHOT;
            ev.fflags = libc::NOTE_EXIT;
            let mut out: libc::kevent = core::mem::zeroed();
            let n = libc::kevent(kq, &ev, 1, &mut out, 1, core::ptr::null());
            libc::close(kq);
            // ESRCH at registration: the parent was gone already.
            if n >= 0 || *libc::__error() == libc::ESRCH {
                let sig = PARENT_DEATH_SIGNAL.load(SeqCst);
                if sig != 0 && libc::getpid() == me {
                    libc::kill(me, sig);
                }
            }
        }
    };
    if crate::host::thread::spawn(64 * 1024, Box::new(watch)).is_err() {
        WATCHER_OF.store(0, SeqCst);
    }
}
