//! Syscall arguments and the guest structs some calls read, decoded by the
//! runtime's pure checks: any value must give a result or an errno (never
//! a panic or an integer overflow), and what is accepted must be what the
//! handler then relies on (the invariants below). The input is read as
//! 64-bit words: the registers, then the struct words.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mactux_runtime::abi::signal::Signal;
use mactux_runtime::abi::{Errno, Iovec, Timespec, Timeval, NSEC_PER_SEC};
use mactux_runtime::syscall::{args, attr, identity, mm, poll, read_write, signal, timeout};

/// A relative timeout that was accepted: it is valid, its deadline never
/// overflows, and the time left is a valid timespec no longer than it.
fn timeout_holds(t: Timespec) {
    assert!(t.is_valid(), "{}s {}ns", t.sec, t.nsec);
    if let Some(d) = timeout::deadline(t) {
        let left = timeout::left(d);
        assert!(left.is_valid() && (left.sec, left.nsec) <= (t.sec, t.nsec));
    }
}

fn is(e: &mactux_runtime::error::Error, errnos: &[Errno]) -> bool {
    errnos.contains(&e.errno)
}

fuzz_target!(|data: &[u8]| {
    let mut words = data.chunks(8).map(|c| {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        u64::from_le_bytes(w)
    });
    let mut a = [0u64; 8];
    for slot in a.iter_mut() {
        *slot = words.next().unwrap_or(0);
    }

    // Registers (syscall/mod.rs `args`).
    let _ = (args::fd(a[0]), args::dirfd(a[0]), args::int(a[0]), args::uint(a[0]));
    match args::len(a[1]) {
        Ok(n) => assert_eq!(n as u64, a[1]),
        Err(e) => assert!(is(&e, &[Errno::EINVAL])),
    }
    let known = a[2] as u32;
    match args::flags(a[1], known, "unknown flags") {
        Ok(f) => assert!(f & !known == 0 && u64::from(f) == a[1]),
        Err(e) => assert!(is(&e, &[Errno::EINVAL])),
    }
    if let Some(s) = Signal::from_raw(a[0]) {
        assert!(s.mask_bit() != 0);
    }

    // Time values (timeout.rs, utimensat, poll, setitimer).
    let ts = Timespec { sec: a[3] as i64, nsec: a[4] as i64 };
    match timeout::check_timespec(ts) {
        Ok(t) => timeout_holds(t),
        Err(e) => assert!(is(&e, &[Errno::EINVAL])),
    }
    match timeout::timeval_to_timespec(Timeval { sec: a[3] as i64, usec: a[4] as i64 }) {
        Ok(t) => timeout_holds(t),
        Err(e) => assert!(is(&e, &[Errno::EINVAL])),
    }
    match attr::utime_arg(ts) {
        Ok(Some(Some(t))) => assert!((0..NSEC_PER_SEC).contains(&t.nsec)),
        Ok(_) => {}
        Err(e) => assert!(is(&e, &[Errno::EINVAL])),
    }
    if let Some(t) = poll::poll_timeout(a[4]) {
        timeout_holds(t);
    }
    match signal::itimerval_from([a[3], a[4], a[5], a[6]]) {
        Ok((interval, value)) => {
            for tv in [interval, value] {
                assert!(tv.sec >= 0 && (0..1_000_000).contains(&tv.usec));
            }
        }
        Err(e) => assert!(is(&e, &[Errno::EINVAL])),
    }

    // Signal masks and sizes.
    let _ = poll::check_sigsetsize(a[5]);
    match signal::new_mask(a[5], a[6], a[7]) {
        Ok(m) => assert!(m == a[7] || m == a[6] | a[7] || m == a[6] & !a[7]),
        Err(e) => assert!(is(&e, &[Errno::EINVAL])),
    }

    // Limits and counts.
    assert_eq!(identity::check_soft_hard(a[6], a[7]).is_ok(), a[6] <= a[7]);
    if let Ok(n) = poll::check_nfds(a[1]) {
        assert_eq!(n as u64, a[1]);
    }

    // mmap's arguments.
    match mm::MmapArgs::check(a[0], a[1], a[2], a[3], a[4]) {
        Ok(m) => {
            assert!(m.len >= a[1] && m.len % 4096 == 0 && m.len < 1 << 47);
            assert!(a[4] % 4096 == 0 && a[4].checked_add(m.len).is_some());
            assert!(!(m.is_fixed || m.is_noreplace) || a[0] % 4096 == 0);
        }
        Err(e) => assert!(is(&e, &[Errno::EINVAL, Errno::ENOMEM, Errno::EOVERFLOW, Errno::EOPNOTSUPP])),
    }

    // An iovec array: the count from a register, the entries from the rest.
    match read_write::check_iovcnt(a[0]) {
        Ok(n) => {
            let mut total = 0usize;
            let mut taken = 0u32;
            while taken < n {
                let (Some(base), Some(len)) = (words.next(), words.next()) else { break };
                match read_write::clamp_iovec(Iovec { base, len }, &mut total) {
                    Ok(v) => assert!(v.len <= len && total <= read_write::MAX_RW_COUNT),
                    Err(e) => {
                        assert!(is(&e, &[Errno::EINVAL]));
                        break;
                    }
                }
                taken += 1;
            }
        }
        Err(e) => assert!(is(&e, &[Errno::EINVAL])),
    }
});
