//! Hostile guests: random system calls with bad pointers, absurd lengths,
//! unknown flags and commands (tests/robust/sysfuzz.c) must never make the
//! runtime panic, crash or hang. Outcomes of single calls are not compared
//! with Linux here (the guest tests do that); what is judged is that every
//! run ends as it ends natively, with status 0, and that the daemon still
//! answers afterwards.
//!
//! The threaded runs (`sysfuzz SEED CALLS 4`) make the random calls from four
//! threads at once, while two more race a read() into a buffer against its
//! munmap, remap and mprotect: the runtime must neither crash nor hang when
//! guest memory goes away under a call another thread is in.
//!
//! The tests run as root, so the fuzzer must not be able to damage the host:
//! it fuzzes only fds and paths it made itself (see the top of sysfuzz.c),
//! and the harness gives it files of a scratch directory as stdin, stdout and
//! stderr. Each run checks that those files and /dev/null, /dev/zero,
//! /dev/tty and /tmp kept their modes and owners (an fchmod through an
//! inherited fd once left the host's /dev/null at mode 0200).

use mactux_tests::*;
use std::path::Path;

/// Seeds per variant, and calls per run: about 1 s natively per run.
const SEEDS: u64 = 6;
const CALLS: &str = "3000";

/// The threaded runs: seeds per variant, fuzzing threads, and calls per
/// thread (about 1 s natively per run).
const THREADED_SEEDS: u64 = 4;
const THREADS: &str = "4";
const THREAD_CALLS: &str = "2000";

/// Mode and owner of a path, for the before/after comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ModeOwner {
    mode: u32,
    uid: u32,
    gid: u32,
}

impl std::fmt::Display for ModeOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "mode {:04o} uid {} gid {}", self.mode, self.uid, self.gid)
    }
}

fn mode_owner(path: &Path) -> Option<ModeOwner> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| ModeOwner { mode: m.mode() & 0o7777, uid: m.uid(), gid: m.gid() })
}

/// Host files the fuzzer must never reach, with their modes and owners now.
fn host_files() -> Vec<(&'static str, Option<ModeOwner>)> {
    ["/dev/null", "/dev/zero", "/dev/tty", "/tmp"].into_iter().map(|p| (p, mode_owner(Path::new(p)))).collect()
}

/// One run of the fuzzer in `dir`: its stdin, stdout and stderr are files the
/// harness made in `dir/stdio-<what>` (never a host device or terminal, which
/// an fchmod as root would damage), and their modes and owners, and those of
/// the host files, must be the same afterwards. The fuzzer works in a
/// directory of its own below `dir`.
fn run_checked(what: &str, dir: &ScratchDir, run: &Run, runner: fn(&Run) -> Outcome) -> Outcome {
    let stdio = dir.join(format!("stdio-{what}"));
    std::fs::create_dir(&stdio).unwrap_or_else(|e| panic!("cannot create {}: {e}", stdio.display()));
    // The harness creates the stdio files as it creates this directory: ours.
    let dir_owner = mode_owner(&stdio).expect("stat the stdio directory");
    let want = ModeOwner { mode: 0o600, ..dir_owner };
    let host_before = host_files();
    let outcome = runner(&run.clone().cwd(dir.path()).stdio_files(&stdio));
    for name in ["stdin", "stdout", "stderr"] {
        let now = mode_owner(&stdio.join(name));
        assert!(
            now == Some(want),
            "sysfuzz {} ({what}) changed the mode or owner of its {name}, a file it inherited: {} instead of {want}",
            run.display(),
            now.map_or("missing".to_string(), |m| m.to_string())
        );
    }
    assert_eq!(host_files(), host_before, "sysfuzz {} ({what}) changed host files outside its scratch directory", run.display());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with("sysfuzz.")).collect())
        .unwrap_or_default();
    if outcome.status == Termination::Exit(0) {
        assert!(left.is_empty(), "sysfuzz ({what}) ended well but left its scratch directory behind: {left:?}");
    }
    outcome
}

/// Runs `bin SEED ARGS...` for each seed natively, then under mactux.
fn fuzz(bin: &Path, seeds: u64, args: &[&str]) {
    for seed in 1..=seeds {
        let seed = seed.to_string();
        let run = Run::new(bin).arg(&seed).args(args);
        let dir = ScratchDir::new("sysfuzz");
        let native = run_checked("native", &dir, &run, run_native);
        assert_eq!(
            native.status,
            Termination::Exit(0),
            "sysfuzz seed {seed} fails natively, so the fuzzer itself is at fault: {}",
            native.stderr_str()
        );
        let emulated = run_checked("mactux", &dir, &run, run_mactux);
        let err = emulated.stderr_str();
        assert!(
            emulated.status == Termination::Exit(0) && !err.contains("panicked"),
            "sysfuzz seed {seed} under mactux ended with {:?} (natively: exit 0); reproduce it in a scratch \
             directory, with stdin, stdout and stderr files of its own (never /dev/null or a terminal): \
             `cd \"$(mktemp -d)\" && : > in && SYSFUZZ_LOG=$PWD/calls mactux run {} {seed} {} <in >out 2>err`. \
             stderr:\n{}",
            emulated.status,
            bin.display(),
            args.join(" "),
            err.chars().take(4000).collect::<String>()
        );
    }
    let ps = run_mactux_raw(&[std::ffi::OsStr::new("ps")], &Run::new("ps"));
    assert_eq!(ps.status, Termination::Exit(0), "the daemon does not answer after the fuzz runs: {}", ps.stderr_str());
}

#[test]
fn random_syscalls_glibc() {
    if let Some(bin) = build_robust("gcc", "build-essential", "sysfuzz.c", "sysfuzz-glibc") {
        fuzz(&bin, SEEDS, &[CALLS]);
    }
}

#[test]
fn random_syscalls_musl() {
    if let Some(bin) = build_robust("musl-gcc", "musl-tools", "sysfuzz.c", "sysfuzz-musl") {
        fuzz(&bin, SEEDS, &[CALLS]);
    }
}

#[test]
fn random_syscalls_threads_glibc() {
    if let Some(bin) = build_robust("gcc", "build-essential", "sysfuzz.c", "sysfuzz-threads-glibc") {
        fuzz(&bin, THREADED_SEEDS, &[THREAD_CALLS, THREADS]);
    }
}

#[test]
fn random_syscalls_threads_musl() {
    if let Some(bin) = build_robust("musl-gcc", "musl-tools", "sysfuzz.c", "sysfuzz-threads-musl") {
        fuzz(&bin, THREADED_SEEDS, &[THREAD_CALLS, THREADS]);
    }
}
