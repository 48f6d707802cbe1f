//! Syscall-site rewriting (runtime/src/trap/rewrite.rs): a `syscall` site that trapped
//! twice enters the runtime directly afterwards. tests/guest/proc/getpid_loop.c calls
//! getpid through its libc 2,000 times from one site (glibc static, static-pie and
//! dynamic, musl static and dynamic); with `MACTUX_LOG=traps` the runtime reports how
//! many syscalls trapped. With rewriting (the default; these tests set MACTUX_REWRITE=1
//! in case the suite runs with it off) the loop's calls do not trap, so
//! the whole run traps fewer times than the loop calls; with `--no-rewrite` (and with
//! `MACTUX_REWRITE=0`) every one of them does. Either way stdout and status are the
//! native ones, and `--trace` shows every call. (That a rewritten site keeps the syscall ABI, under threads and
//! signals, is tests/guest/signal/syscall_site.c's job; scripts/test.sh runs every test
//! a second time with MACTUX_REWRITE=0 for the trap path.)

use mactux_tests::*;

const LOOP_CALLS: u64 = 2000;

/// The count `MACTUX_LOG=traps` reports at exit.
fn traps_reported(stderr: &str) -> Option<u64> {
    stderr.lines().find_map(|l| l.strip_prefix("mactux: ")?.strip_suffix(" syscall traps")?.parse().ok())
}

/// Runs `bin` natively and under mactux with `opts` and `env`; returns the
/// differences from the native run and the traps the runtime reported.
fn run_counted(what: &str, bin: &std::path::Path, opts: &[&str], env: &[(&str, &str)]) -> (Vec<String>, Option<u64>) {
    let (problems, traps, _) = run_counted_stderr(what, bin, opts, env);
    (problems, traps)
}

/// As [`run_counted`], with mactux's stderr too.
fn run_counted_stderr(what: &str, bin: &std::path::Path, opts: &[&str], env: &[(&str, &str)]) -> (Vec<String>, Option<u64>, String) {
    let dir = ScratchDir::new("rewrite");
    // Rewriting on unless a case turns it off: the suite may run with
    // MACTUX_REWRITE=0 set for everything.
    let mut run = Run::new(bin).cwd(dir.path()).env("MACTUX_LOG", "traps").env("MACTUX_REWRITE", "1");
    for o in opts {
        run = run.mactux_option(o);
    }
    for (k, v) in env {
        run = run.env(k, v);
    }
    let native = run_native(&run);
    assert!(native.is_success(), "{what} fails natively, so the test is broken:\n{}", native.stdout_str());
    let emulated = run_mactux(&run);
    let problems = differences(what, &native, &emulated, Compare::STDOUT_STATUS);
    let stderr = emulated.stderr_str();
    (problems, traps_reported(&stderr), stderr)
}

fn variants(problems: &mut Vec<String>) -> Vec<(String, std::path::PathBuf)> {
    let src = guest_dir().join("proc/getpid_loop.c");
    let mut out = Vec::new();
    for variant in VARIANTS {
        match build_guest(variant, &src) {
            Ok(Built::Binary(bin)) => out.push((format!("getpid_loop [{}]", variant.name), bin)),
            Ok(Built::Skipped(why)) => eprintln!("skipped: {why}"),
            Err(e) => problems.push(e),
        }
    }
    out
}

#[test]
fn a_rewritten_site_does_not_trap_again() {
    let mut problems = Vec::new();
    for (what, bin) in variants(&mut problems) {
        let (p, traps) = run_counted(&what, &bin, &[], &[]);
        problems.extend(p);
        match traps {
            Some(n) if n < LOOP_CALLS => {}
            Some(n) => problems.push(format!("{what}: {n} syscalls trapped for {LOOP_CALLS} getpid calls from one site: the site was not rewritten")),
            None => problems.push(format!("{what}: MACTUX_LOG=traps reported nothing")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_rewrite_and_mactux_rewrite_0_keep_every_call_trapping() {
    let mut problems = Vec::new();
    for (what, bin) in variants(&mut problems) {
        for (opts, env, how) in [(&["--no-rewrite"][..], &[][..], "--no-rewrite"), (&[][..], &[("MACTUX_REWRITE", "0")][..], "MACTUX_REWRITE=0")] {
            let (p, traps) = run_counted(&what, &bin, opts, env);
            problems.extend(p);
            match traps {
                Some(n) if n > LOOP_CALLS => {}
                other => problems.push(format!("{what} with {how}: {other:?} syscalls trapped, want more than {LOOP_CALLS}")),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `read` through the C library is rewritten where its site has a known
/// shape: glibc's (`xor %eax,%eax; syscall`: two bytes before the
/// `syscall`, whose site jumps to the padding after the function's `ret`)
/// in the dynamic and the static build (in the static one the bytes
/// before the `xor` also read as an instruction that would swallow it,
/// from the middle of the one before: set aside, rewrite.rs
/// `falls_through_to_site`), and musl's static one (`mov %rcx,%rdx;
/// syscall` in `__syscall_cp_c`). musl's dynamic read goes through its
/// cancellable `__syscall_cp_asm` (`mov %r11,8(%rsp)`) and keeps trapping.
#[test]
fn libc_read_sites_are_rewritten() {
    let mut problems = Vec::new();
    for (what, traps) in counted_runs("fs/read_loop.c", &["glibc-dynamic", "glibc-static", "musl-static"], &mut problems) {
        match traps {
            Some(n) if n < LOOP_CALLS => {}
            Some(n) => problems.push(format!("{what}: {n} syscalls trapped for {LOOP_CALLS} reads from one site: the site was not rewritten")),
            None => problems.push(format!("{what}: MACTUX_LOG=traps reported nothing")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Builds the guest program `src` in each variant named and runs it with
/// `MACTUX_LOG=traps`: each run's label and trap count; what went wrong
/// goes to `problems`.
fn counted_runs(src: &str, variants: &[&str], problems: &mut Vec<String>) -> Vec<(String, Option<u64>)> {
    let path = guest_dir().join(src);
    let mut out = Vec::new();
    for &name in variants {
        let Some(variant) = VARIANTS.iter().find(|v| v.name == name) else { panic!("no {name} variant") };
        let bin = match build_guest(variant, &path) {
            Ok(Built::Binary(bin)) => bin,
            Ok(Built::Skipped(why)) => {
                eprintln!("skipped: {why}");
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        let what = format!("{src} [{name}]");
        let (p, traps) = run_counted(&what, &bin, &[], &[]);
        problems.extend(p);
        out.push((what, traps));
    }
    out
}

/// glibc's start_thread blocks and restores signals with `lea
/// 0x8f0(%rbx),%rsi; syscall` and `lea sigall_set(%rip),%rsi; syscall`,
/// the call's number set further back: sites whose last instruction sets
/// an argument. Rewritten, a thread's start traps no more; only its exit
/// does (`exit` never returns to be rewritten). tests/guest/threads/many.c
/// makes 1,000 threads: three traps each before these shapes were taken,
/// about one now.
#[test]
fn glibc_thread_start_sites_are_rewritten() {
    const THREADS: u64 = 1000;
    let mut problems = Vec::new();
    for (what, traps) in counted_runs("threads/many.c", &["glibc-dynamic", "glibc-static"], &mut problems) {
        match traps {
            Some(n) if n < 2 * THREADS => {}
            Some(n) => problems.push(format!("{what}: {n} syscalls trapped for {THREADS} threads: their start's sites were not rewritten")),
            None => problems.push(format!("{what}: MACTUX_LOG=traps reported nothing")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Go's `Syscall6` (`MOVQ BX, DI; SYSCALL`: a 3-byte register move before
/// the `SYSCALL`, whose site jumps to the int3 padding after the function)
/// is rewritten: 2,000 reads through os.File trap far fewer times.
#[test]
fn go_syscall6_site_is_rewritten() {
    if !require_tool(GO, "golang-go") {
        return;
    }
    let dir = ScratchDir::new("rewrite-go");
    let out = dir.join("read_loop");
    build_go(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rewrite"), "read_loop.go", &out, &dir);
    let (problems, traps) = run_counted("Go read_loop", &out, &[], &[]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    match traps {
        Some(n) => assert!(n < LOOP_CALLS, "{n} syscalls trapped for {LOOP_CALLS} reads through Syscall6: the site was not rewritten"),
        None => panic!("MACTUX_LOG=traps reported nothing"),
    }
}

/// `--trace` shows every call, the rewritten site's too.
#[test]
fn trace_shows_the_calls_of_a_rewritten_site() {
    let mut problems = Vec::new();
    for (what, bin) in variants(&mut problems) {
        let (p, traps, stderr) = run_counted_stderr(&what, &bin, &["--trace"], &[]);
        problems.extend(p);
        let getpids = stderr.lines().filter(|l| l.starts_with("getpid(")).count() as u64;
        if getpids <= LOOP_CALLS {
            problems.push(format!("{what}: --trace shows {getpids} getpid calls, want more than {LOOP_CALLS}"));
        }
        if !traps.is_some_and(|n| n < LOOP_CALLS) {
            problems.push(format!("{what}: with --trace, {traps:?} syscalls trapped: the site was not rewritten"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
