//! Clocks do not trap: programs that read the clock thousands of times through their
//! libc or language runtime (tests/guest/time/clock_loop.c in every guest variant, and
//! tests/vdso/clock_loop.go built with Debian's Go) run under `mactux run --trace`, and
//! the trace, which shows every syscall that trapped, shows none of those reads: glibc,
//! musl and Go found our vDSO's functions and called them instead. (That the vDSO answers
//! as the syscalls do is tests/guest/time/vdso.c's job.)
//!
//! Each program runs natively first and must succeed there; under mactux its stdout and
//! status must be the native ones.

use mactux_tests::*;
use std::path::Path;
use std::process::Command;

const GO: &str = "/usr/bin/go";

/// The clock calls the vDSO answers, as `--trace` would begin their lines.
const CLOCK_CALLS: [&str; 4] = ["clock_gettime(", "gettimeofday(", "time(", "clock_getres("];

/// Runs `bin` natively and under `mactux run --trace`; returns the differences and
/// the clock calls the trace shows.
fn traced_clock_calls(what: &str, bin: &Path) -> Vec<String> {
    let dir = ScratchDir::new("vdso");
    let run = Run::new(bin).cwd(dir.path()).mactux_option("--trace");
    let native = run_native(&run);
    assert!(native.is_success(), "{what} fails natively, so the test is broken:\n{}", native.stdout_str());
    let emulated = run_mactux(&run);
    let mut problems = differences(what, &native, &emulated, Compare::STDOUT_STATUS);
    let trace = emulated.stderr_str();
    let trapped: Vec<&str> = trace.lines().filter(|l| CLOCK_CALLS.iter().any(|c| l.starts_with(c))).collect();
    if !trapped.is_empty() {
        problems.push(format!(
            "{what}: {} clock calls trapped (the vDSO was not used); the first: {}",
            trapped.len(),
            trapped.iter().take(3).copied().collect::<Vec<_>>().join(" | ")
        ));
    }
    if !trace.lines().any(|l| l.starts_with("exit_group(")) {
        problems.push(format!("{what}: the trace is not a trace (no exit_group):\n{trace}"));
    }
    problems
}

/// glibc (static, static-pie, dynamic) and musl (static, dynamic) read the clocks through
/// the vDSO: 4,000 clock_gettime, 1,000 gettimeofday and 1,000 time calls, none trapped.
#[test]
fn libc_clock_reads_do_not_trap() {
    let src = guest_dir().join("time/clock_loop.c");
    let mut problems = Vec::new();
    for variant in VARIANTS {
        match build_guest(variant, &src) {
            Ok(Built::Binary(bin)) => problems.extend(traced_clock_calls(&format!("clock_loop [{}]", variant.name), &bin)),
            Ok(Built::Skipped(why)) => eprintln!("skipped: {why}"),
            Err(e) => problems.push(e),
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
    let scratch = |name: &str| {
        let p = dir.join(name);
        std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("cannot create {}: {e}", p.display()));
        p
    };
    let out = dir.join("clock_loop");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("vdso");
    let built = Command::new(GO)
        .args(["build", "-o"])
        .arg(&out)
        .arg("clock_loop.go")
        .current_dir(&src)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", scratch("home"))
        .env("GOCACHE", scratch("gocache"))
        .env("GOPATH", scratch("gopath"))
        .env("GOTMPDIR", scratch("gotmp"))
        .env("TMPDIR", scratch("gotmp"))
        .env("GOENV", "off")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOTELEMETRY", "off")
        .env("CGO_ENABLED", "0")
        .output()
        .unwrap_or_else(|e| panic!("cannot run go build: {e}"));
    assert!(built.status.success(), "go build failed:\n{}", String::from_utf8_lossy(&built.stderr));
    let problems = traced_clock_calls("Go clock_loop", &out);
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
