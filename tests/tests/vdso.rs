//! Clocks do not trap: programs that read the clock thousands of times through their
//! libc or language runtime (tests/guest/time/clock_loop.c in every guest variant, and
//! tests/vdso/clock_loop.go built with Debian's Go) run under `mactux run --trace`, and
//! the trace, which shows every syscall that trapped, shows none of those reads: glibc,
//! musl and Go found our vDSO's functions and called them instead. (That the vDSO answers
//! as the syscalls do is tests/guest/time/vdso.c's job.)
//!
//! With `MACTUX_VDSO=syscall` every vDSO function makes the syscall instead, as on a
//! macOS host: the vDSO's answers are then the emulated calls' (time/vdso.c still
//! matches native), and the clock reads are in the trace.
//!
//! Each program runs natively first and must succeed there; under mactux its stdout and
//! status must be the native ones.

use mactux_tests::*;
use std::path::Path;


/// The clock calls the vDSO answers, as `--trace` would begin their lines.
const CLOCK_CALLS: [&str; 4] = ["clock_gettime(", "gettimeofday(", "time(", "clock_getres("];

/// Runs `bin` natively and under `mactux run --trace`; returns the differences and
/// the clock calls the trace shows.
fn traced_clock_calls(what: &str, bin: &Path) -> Vec<String> {
    let (mut problems, trapped) = run_traced(what, bin, false);
    if !trapped.is_empty() {
        problems.push(format!(
            "{what}: {} clock calls trapped (the vDSO was not used); the first: {}",
            trapped.len(),
            trapped[..trapped.len().min(3)].join(" | ")
        ));
    }
    problems
}

/// Runs `bin` natively and under `mactux run --trace` (with `MACTUX_VDSO=syscall` when
/// `syscall_only`); returns the differences from the native run, and the trace's lines
/// of clock calls.
fn run_traced(what: &str, bin: &Path, syscall_only: bool) -> (Vec<String>, Vec<String>) {
    let dir = ScratchDir::new("vdso");
    let mut run = Run::new(bin).cwd(dir.path()).mactux_option("--trace");
    if syscall_only {
        run = run.env("MACTUX_VDSO", "syscall");
    }
    let native = run_native(&run);
    assert!(native.is_success(), "{what} fails natively, so the test is broken:\n{}", native.stdout_str());
    let emulated = run_mactux(&run);
    let mut problems = differences(what, &native, &emulated, Compare::STDOUT_STATUS);
    let trace = emulated.stderr_str();
    if !trace.lines().any(|l| l.starts_with("exit_group(")) {
        problems.push(format!("{what}: the trace is not a trace (no exit_group):\n{trace}"));
    }
    let clock_calls = trace.lines().filter(|l| CLOCK_CALLS.iter().any(|c| l.starts_with(c))).map(str::to_string).collect();
    (problems, clock_calls)
}

/// The built guest `area/name.c` in every variant that could be built.
fn guest_variants(name: &str, problems: &mut Vec<String>) -> Vec<(String, std::path::PathBuf)> {
    let src = guest_dir().join(name);
    let mut out = Vec::new();
    for variant in VARIANTS {
        match build_guest(variant, &src) {
            Ok(Built::Binary(bin)) => out.push((format!("{name} [{}]", variant.name), bin)),
            Ok(Built::Skipped(why)) => eprintln!("skipped: {why}"),
            Err(e) => problems.push(e),
        }
    }
    out
}

/// glibc (static, static-pie, dynamic) and musl (static, dynamic) read the clocks through
/// the vDSO: 4,000 clock_gettime, 1,000 gettimeofday and 1,000 time calls, none trapped.
#[test]
fn libc_clock_reads_do_not_trap() {
    let mut problems = Vec::new();
    for (what, bin) in guest_variants("time/clock_loop.c", &mut problems) {
        problems.extend(traced_clock_calls(&what, &bin));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// With `MACTUX_VDSO=syscall` (what a macOS host does for lack of host functions) the
/// vDSO's functions make the syscall: time/vdso.c's checks of their answers against the
/// syscalls still match native, and clock_loop's reads all show in the trace.
#[test]
fn vdso_without_host_functions_makes_the_syscall() {
    let mut problems = Vec::new();
    for (what, bin) in guest_variants("time/vdso.c", &mut problems) {
        problems.extend(run_traced(&what, &bin, true).0);
    }
    for (what, bin) in guest_variants("time/clock_loop.c", &mut problems) {
        let (diffs, clock_calls) = run_traced(&what, &bin, true);
        problems.extend(diffs);
        // 4,000 clock_gettime, 1,000 gettimeofday and 1,000 time calls, and the
        // runtime's own few.
        if clock_calls.len() < 6000 {
            problems.push(format!("{what}: only {} clock calls in the trace with MACTUX_VDSO=syscall", clock_calls.len()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Go's runtime finds `__vdso_clock_gettime` by its own lookup (DT_HASH, LINUX_2.6;
/// runtime/vdso_linux.go) and reads both clocks through it; without it every time.Now
/// and every scheduler tick would be a clock_gettime syscall.
#[test]
fn go_clock_reads_do_not_trap() {
    if !require_tool(GO, "golang-go") {
        return;
    }
    let dir = ScratchDir::new("vdso-go");
    let out = dir.join("clock_loop");
    build_go(&Path::new(env!("CARGO_MANIFEST_DIR")).join("vdso"), "clock_loop.go", &out, &dir);
    let problems = traced_clock_calls("Go clock_loop", &out);
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
