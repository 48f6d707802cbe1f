//! Clocks and sleeping (Linux side).

use linux_raw_sys::general as g;

/// Linux clock ids → host clock ids (identical values on a Linux host).
pub fn clock_to_host(clock: u32) -> Option<libc::clockid_t> {
    Some(match clock {
        g::CLOCK_REALTIME => libc::CLOCK_REALTIME,
        g::CLOCK_MONOTONIC => libc::CLOCK_MONOTONIC,
        g::CLOCK_PROCESS_CPUTIME_ID => libc::CLOCK_PROCESS_CPUTIME_ID,
        g::CLOCK_THREAD_CPUTIME_ID => libc::CLOCK_THREAD_CPUTIME_ID,
        g::CLOCK_MONOTONIC_RAW => libc::CLOCK_MONOTONIC_RAW,
        g::CLOCK_REALTIME_COARSE => libc::CLOCK_REALTIME_COARSE,
        g::CLOCK_MONOTONIC_COARSE => libc::CLOCK_MONOTONIC_COARSE,
        g::CLOCK_BOOTTIME => libc::CLOCK_BOOTTIME,
        g::CLOCK_REALTIME_ALARM => libc::CLOCK_REALTIME_ALARM,
        g::CLOCK_BOOTTIME_ALARM => libc::CLOCK_BOOTTIME_ALARM,
        g::CLOCK_TAI => libc::CLOCK_TAI,
        _ => return None,
    })
}


/// The clocks the host vDSO reads from its own time data (lib/vdso/
/// gettimeofday.c: VDSO_HRES, VDSO_COARSE, VDSO_RAW). Linux host ids are
/// the guest's (see `clock_to_host`), so the answers are the emulated ones.
const VDSO_CLOCKS: [u32; 7] = [
    g::CLOCK_REALTIME,
    g::CLOCK_MONOTONIC,
    g::CLOCK_MONOTONIC_RAW,
    g::CLOCK_REALTIME_COARSE,
    g::CLOCK_MONOTONIC_COARSE,
    g::CLOCK_BOOTTIME,
    g::CLOCK_TAI,
];

/// The host's own vDSO functions (found at its AT_SYSINFO_EHDR): they run
/// in any user context, read the kernel's time data and make a real
/// syscall only where that data cannot answer (the syscall then traps and
/// is emulated like any other).
pub fn guest_clock() -> crate::host::GuestClock {
    use crate::abi::vdso;
    let mut out = crate::host::GuestClock::default();
    // SAFETY: getauxval has no preconditions.
    let base = unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) } as usize;
    if base == 0 {
        return out;
    }
    // SAFETY: the kernel maps the vDSO image, whose first page holds the
    // ELF and program headers, readable at AT_SYSINFO_EHDR for the life of
    // the process (arch/x86/entry/vdso/vma.c map_vdso).
    let head = unsafe { std::slice::from_raw_parts(base as *const u8, crate::abi::PAGE_SIZE as usize) };
    let Some(len) = vdso::image_len(head) else { return out };
    // SAFETY: as above; the PT_LOAD segments are all of the mapped image.
    let image = unsafe { std::slice::from_raw_parts(base as *const u8, len) };
    let find = |name| vdso::lookup(image, name, vdso::VERSION).map_or(0, |off| (base + off) as u64);
    out.clock_gettime = find(vdso::CLOCK_GETTIME);
    out.clock_getres = find(vdso::CLOCK_GETRES);
    out.gettimeofday = find(vdso::GETTIMEOFDAY);
    out.time = find(vdso::TIME);
    out.getcpu = find(vdso::GETCPU);
    if out.clock_gettime != 0 {
        out.fast_clocks = VDSO_CLOCKS.iter().fold(0, |m, &c| m | 1 << c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The host's vDSO is found and its clock_gettime answers as the libc call.
    #[test]
    fn host_vdso_functions_are_found_and_answer() {
        // SAFETY: getauxval has no preconditions.
        if unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) } == 0 {
            return; // a kernel booted with vdso=0
        }
        let c = guest_clock();
        assert!(c.clock_gettime != 0 && c.gettimeofday != 0 && c.time != 0 && c.getcpu != 0, "{c:x?}");
        assert_eq!(c.fast_clocks & (1 << g::CLOCK_PROCESS_CPUTIME_ID), 0);
        type ClockGettime = unsafe extern "C" fn(i32, *mut libc::timespec) -> i64;
        // SAFETY: the host vDSO's __vdso_clock_gettime has this signature.
        let f: ClockGettime = unsafe { core::mem::transmute(c.clock_gettime as usize) };
        let mut before = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        let mut ours = before;
        // SAFETY: valid out-parameters.
        unsafe {
            libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut before);
            assert_eq!(f(libc::CLOCK_MONOTONIC, &mut ours), 0);
        }
        assert!((ours.tv_sec, ours.tv_nsec) >= (before.tv_sec, before.tv_nsec));
        // SAFETY: as above; an unknown clock is EINVAL, returned raw.
        assert_eq!(unsafe { f(1000, &mut ours) }, -i64::from(libc::EINVAL));
    }
}
