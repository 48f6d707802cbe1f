//! Multi-threaded programs nobody here wrote, under `mactux run`, compared with running
//! them natively: Debian's python3 (threading, queue, concurrent.futures, multiprocessing,
//! subprocess timeouts), xz, zstd and pigz compressing with two threads, `sort --parallel`,
//! and small programs built here with Debian's Go (static, and cgo by default), the
//! machine's rustc (dynamic and static-pie), tokio (tests/src/bin/tokio_probe.rs) and
//! Debian's default JDK.
//!
//! Every case runs natively first and must succeed there, so a broken test is never
//! blamed on the runtime; then under mactux, where stdout and the exit status must be the
//! same. Each run is bounded by [`RUN_TIMEOUT`]. Programs and toolchains come from
//! scripts/install-test-deps.sh; the sources the tests build are in `tests/threads/`.
//! Everything a test writes (builds, Go's cache, Java classes) goes to its own scratch
//! directory, which is also the working directory of every run (a JVM that cannot start
//! writes hs_err_pid*.log there); the JVM runs with `-XX:-UsePerfData` so it leaves no
//! /tmp/hsperfdata_* file.
//!
//! Two cases would pass without threads in the runtime, and say so: GNU sort sorts in one
//! thread when pthread_create fails, and Python's subprocess timeouts poll without threads.

use mactux_tests::*;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Natively each case takes a second or two. Under a runtime whose thread creation fails,
/// some programs wait forever for a thread that never started (pigz does), so the bound
/// is well below the harness's 60 s default.
const RUN_TIMEOUT: Duration = Duration::from_secs(20);

const PYTHON: &str = "/usr/bin/python3";
/// Debian's default JDK (default-jdk-headless), whatever version that is: a fresh
/// machine gets it from scripts/install-test-deps.sh, and `java` on PATH may be another.
const JAVA_HOME: &str = "/usr/lib/jvm/default-java";

/// `tests/threads`, where the programs the tests run or build live.
fn sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("threads")
}

/// Runs `run` natively, which must succeed, then under mactux; returns both outcomes.
/// The run must have a scratch directory as its working directory: whatever a program
/// drops there (a JVM's crash report) goes away with it.
fn native_then_mactux(what: &str, run: &Run) -> (Outcome, Outcome) {
    assert!(run.cwd.is_some(), "{what}: the test must give the run a scratch working directory");
    let run = run.clone().timeout(RUN_TIMEOUT);
    let native = run_native(&run);
    assert!(
        native.is_success(),
        "{what} fails natively, so the test itself is broken: {}\nstdout:\n{}\nstderr:\n{}",
        native.status,
        native.stdout_str(),
        native.stderr_str()
    );
    let emulated = run_mactux(&run);
    (native, emulated)
}

/// Runs `run` natively and under mactux and asserts that stdout and status agree.
fn same(what: &str, run: &Run) -> Outcome {
    let (native, emulated) = native_then_mactux(what, run);
    assert_same(what, &native, &emulated, Compare::STDOUT_STATUS);
    native
}

/// Asserts that every line of `want` is a line of the native output: the program did
/// what the test means it to do.
fn assert_lines(what: &str, native: &Outcome, want: &[&str]) {
    let out = native.stdout_str();
    for line in want {
        assert!(out.lines().any(|l| l == *line), "{what}: natively no line {line:?} in:\n{out}");
    }
}

// --- python3 --------------------------------------------------------------------------

/// `python3 -B tests/threads/python/<script>` in a scratch directory (-B: never write a
/// .pyc next to a system module).
fn python(script: &str, want: &[&str]) {
    if !require_tool(PYTHON, "python3") {
        return;
    }
    let dir = ScratchDir::new("threads-py");
    let path = sources().join("python").join(script);
    let run = Run::new(PYTHON).arg("-B").arg(&path).cwd(dir.path());
    let native = same(&format!("python3 {script}"), &run);
    assert_lines(script, &native, want);
}

#[test]
fn python_threading_lock_event_condition() {
    python(
        "threading_primitives.py",
        &[
            "counter 160000 of 160000",
            "distinct native thread ids True",
            "event woke [0, 1, 2, 3]",
            "condition turns 01010101010101010101",
            "barrier and thread-local [0, 10, 20] False",
            "active threads at the end 1",
        ],
    );
}

#[test]
fn python_queue_producers_and_consumers() {
    python(
        "queue_producers.py",
        &["consumed 10000 items, sum 49995000 expected 49995000", "consumers finished 3", "get on an empty queue timed out"],
    );
}

#[test]
fn python_thread_and_process_pool_executors() {
    python(
        "futures_pools.py",
        &[
            "thread pool as_completed 8",
            "thread pool raised: item 7 refused",
            "process pool map [0, 1, 8, 27, 64, 125, 216, 343, 512, 729, 1000, 1331]",
            "process pool ran outside the parent True",
        ],
    );
}

#[test]
fn python_multiprocessing_pool_map() {
    python(
        "multiprocessing_pool.py",
        &["starmap [1024, 81, 1000]", "apply_async 10", "workers are other processes True", "pool closed"],
    );
}

/// Passes without threads in the runtime: on Linux, subprocess waits with a timeout by
/// polling (waitpid WNOHANG, poll on the pipes), not in a thread.
#[test]
fn python_subprocess_run_with_timeout() {
    python(
        "subprocess_timeout.py",
        &[
            "timed out: ['/bin/sleep', '10'] after 0.5 s",
            "returncode 0 stdout b'finished\\n'",
            "timed out without pipes: /bin/sleep",
        ],
    );
}

// --- parallel compressors and sort ----------------------------------------------------

/// About `len` bytes of text lines from a fixed pseudo-random sequence: compressible
/// like text, the same in every run.
fn generated_text(len: usize) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "thread", "futex", "clone", "mutex", "signal", "daemon", "guest", "host", "trap", "stack",
        "queue", "wake", "wait", "join", "spawn", "exit",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = Vec::with_capacity(len + 64);
    while out.len() < len {
        let r = next();
        let words = 3 + (r % 6) as usize;
        for w in 0..words {
            let pick = next();
            if w > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(WORDS[(pick % 16) as usize].as_bytes());
            out.extend_from_slice(format!("{}", pick % 1000).as_bytes());
        }
        out.push(b'\n');
    }
    out
}

/// "<bytes> bytes, sha256 <hex>" of `data`, by the host's sha256sum.
fn digest(data: &[u8]) -> String {
    let o = run_native(&Run::cmd(&["sha256sum"]).stdin(data.to_vec()));
    assert!(o.is_success(), "sha256sum natively: {}", o.stderr_str());
    let hex = o.stdout_str().split_whitespace().next().unwrap_or_default().to_string();
    format!("{} bytes, sha256 {hex}\n", data.len())
}

/// The outcome with its stdout replaced by [`digest`]: megabytes of compressed data
/// compare the same, and a difference reads as two short lines.
fn digested(o: &Outcome) -> Outcome {
    Outcome { stdout: digest(&o.stdout).into_bytes(), ..o.clone() }
}

/// Runs `argv` on `input` natively and under mactux, compares status and the digest of
/// stdout, and returns the native stdout.
fn same_digest(argv: &[&str], input: &[u8]) -> Vec<u8> {
    let what = argv.join(" ");
    let dir = ScratchDir::new("threads-compress");
    let (native, emulated) = native_then_mactux(&what, &Run::cmd(argv).stdin(input.to_vec()).cwd(dir.path()));
    assert_same(&what, &digested(&native), &digested(&emulated), Compare::STDOUT_STATUS);
    native.stdout
}

/// Compresses 3 MiB of text with two threads and decompresses it, natively and under
/// mactux: the compressed streams are the same (the tools' multi-threaded output depends
/// only on the block size and thread count), and both round trips give the input back.
fn compress_round_trip(tool: &str, package: &str, compress: &[&str], decompress: &[&str]) {
    if !require_tool(tool, package) {
        return;
    }
    let input = generated_text(3 << 20);
    let compressed = same_digest(compress, &input);
    assert!(compressed.len() < input.len(), "{}: natively the output is not smaller than the input", compress.join(" "));
    let restored = same_digest(decompress, &compressed);
    assert_eq!(digest(&restored), digest(&input), "{}: natively the round trip changed the data", decompress.join(" "));
}

/// Blocks of 1 MiB so that both threads get work (xz's default block is three times the
/// dictionary, 24 MiB at -6); xz 5.4 decompresses such a stream in threads too.
#[test]
fn xz_two_threads() {
    compress_round_trip(
        "/usr/bin/xz",
        "xz-utils",
        &["xz", "-T2", "-3", "--block-size=1MiB", "-c"],
        &["xz", "-T2", "-d", "-c"],
    );
}

/// `-B1MiB`: jobs of 1 MiB, so both workers compress.
#[test]
fn zstd_two_threads() {
    compress_round_trip("/usr/bin/zstd", "zstd", &["zstd", "-T2", "-B1MiB", "-q", "-c"], &["zstd", "-d", "-q", "-c"]);
}

/// `-n`: no name or time stamp in the header, so the stream depends on the data alone.
#[test]
fn pigz_two_threads() {
    compress_round_trip("/usr/bin/pigz", "pigz", &["pigz", "-p", "2", "-n", "-c"], &["pigz", "-p", "2", "-d", "-c"]);
}

/// `-S 1M` makes sort spill sorted runs and merge them, `--parallel=2` sorts in two
/// threads. Passes without threads in the runtime: when pthread_create fails, GNU sort
/// sorts in the calling thread.
#[test]
fn sort_parallel() {
    let input = generated_text(3 << 20);
    let dir = ScratchDir::new("threads-sort");
    // sort's temporary files go to the scratch directory, not /tmp.
    let run = Run::cmd(&["sort", "--parallel=2", "-S", "1M", "-T"]).arg(dir.path()).stdin(input.clone()).cwd(dir.path());
    let (native, emulated) = native_then_mactux("sort --parallel=2 -S 1M", &run);
    assert_same("sort --parallel=2 -S 1M", &digested(&native), &digested(&emulated), Compare::STDOUT_STATUS);
    let mut lines: Vec<&[u8]> = input.split_inclusive(|&b| b == b'\n').collect();
    lines.sort_unstable();
    assert_eq!(digest(&native.stdout), digest(&lines.concat()), "sort natively did not sort bytewise");
}

// --- programs built here ----------------------------------------------------------------

/// Runs `cmd` (a build step), panicking with its output when it fails.
fn build(what: &str, cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Does the ELF file at `path` name a program interpreter (PT_INTERP), i.e. is it
/// dynamically linked?
fn has_interpreter(path: &Path) -> bool {
    const PT_INTERP: u32 = 3;
    let elf = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(elf.len() >= 64 && elf.starts_with(b"\x7fELF") && elf[4] == 2, "{} is not a 64-bit ELF file", path.display());
    let u16_at = |o: usize| usize::from(u16::from_le_bytes([elf[o], elf[o + 1]]));
    let phoff = usize::try_from(u64::from_le_bytes(elf[32..40].try_into().unwrap())).unwrap();
    let (phentsize, phnum) = (u16_at(54), u16_at(56));
    (0..phnum).any(|i| {
        let at = phoff + i * phentsize;
        elf.get(at..at + 4).is_some_and(|t| u32::from_le_bytes(t.try_into().unwrap()) == PT_INTERP)
    })
}

/// Runs each built variant natively and under mactux and panics at the end with every
/// difference, so one variant failing does not hide the other. Each variant comes with
/// the line its native output must contain and whether it must be dynamically linked.
fn compare_variants(what: &str, dir: &ScratchDir, variants: &[(&str, PathBuf, &str, bool)], want: &[&str]) {
    let mut diffs = Vec::new();
    for (variant, bin, variant_line, dynamic) in variants {
        let label = format!("{what} ({variant})");
        assert_eq!(has_interpreter(bin), *dynamic, "{label}: dynamically linked should be {dynamic}");
        let (native, emulated) = native_then_mactux(&label, &Run::new(bin).cwd(dir.path()));
        assert_lines(&label, &native, want);
        assert_lines(&label, &native, &[variant_line]);
        diffs.extend(differences(&label, &native, &emulated, Compare::STDOUT_STATUS));
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
}

/// tests/threads/go built with Debian's Go: with CGO_ENABLED=0 (static; the Go runtime
/// makes its threads with raw clone) and as Go builds by default (cgo on, because
/// tests/threads/go/cgo.go uses it: dynamic, threads from pthread_create). Go's caches,
/// its temporary files and $HOME are all in the scratch directory. Besides threads the Go
/// runtime needs epoll: its first timer starts the netpoller (epoll_create1, a pipe,
/// epoll_ctl; /usr/lib/go-1.19/src/runtime/netpoll_epoll.go), which os/exec's pipes use
/// too, and os/exec waits for its child with waitid(WNOWAIT) before it reaps it.
#[test]
fn go_goroutines_static_and_cgo() {
    if !require_tool(GO, "golang-go") {
        return;
    }
    let dir = ScratchDir::new("threads-go");
    let scratch = |name: &str| {
        let p = dir.join(name);
        std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("cannot create {}: {e}", p.display()));
        p
    };
    let go_env: Vec<(&str, OsString)> = vec![
        ("PATH", "/usr/bin:/bin".into()),
        ("HOME", scratch("home").into()),
        ("GOCACHE", scratch("gocache").into()),
        ("GOPATH", scratch("gopath").into()),
        ("GOTMPDIR", scratch("gotmp").into()),
        ("TMPDIR", scratch("gotmp").into()),
        ("GOENV", "off".into()),
        ("GOPROXY", "off".into()),
        ("GOTOOLCHAIN", "local".into()),
        ("GOTELEMETRY", "off".into()),
    ];
    let mut variants = Vec::new();
    for (variant, cgo, line, dynamic) in [("CGO_ENABLED=0", Some("0"), "cgo: off", false), ("default build", None, "cgo: on, C sums [40 41 42 43]", true)] {
        let out = dir.join(if cgo.is_some() { "threads-static" } else { "threads-default" });
        let mut cmd = Command::new(GO);
        cmd.args(["build", "-o"]).arg(&out).arg(".").current_dir(sources().join("go")).env_clear().envs(go_env.iter().cloned());
        if let Some(v) = cgo {
            cmd.env("CGO_ENABLED", v);
        }
        build(&format!("go build ({variant})"), &mut cmd);
        variants.push((variant, out, line, dynamic));
    }
    compare_variants(
        "Go goroutines",
        &dir,
        &variants,
        &[
            "GOMAXPROCS 2",
            "sum of squares 1..1000: 333833500",
            "counter: 80000",
            "distinct thread ids of locked goroutines: 4",
            "slept at least 20ms: true",
            "time.After fired",
            "worker answered",
            "os/exec: hello from /bin/echo",
            "http: 200 pong to /a",
            "http: 200 pong to /b",
        ],
    );
}

/// tests/threads/rust/threads.rs built with the machine's rustc (`$RUSTC`, else the one on
/// PATH), dynamic as rustc links by default and static-pie with `+crt-static`.
#[test]
fn rust_std_thread_dynamic_and_static_pie() {
    let dir = ScratchDir::new("threads-rust");
    let src = sources().join("rust/threads.rs");
    let mut variants = Vec::new();
    for (variant, flags, dynamic) in [("dynamic", &[][..], true), ("static-pie", &["-C", "target-feature=+crt-static"][..], false)] {
        let out = dir.join(format!("threads-{variant}"));
        let mut cmd = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()));
        cmd.args(["-O", "--edition", "2021"]).args(flags).arg("-o").arg(&out).arg(&src).current_dir(dir.path()).env("TMPDIR", dir.path());
        build(&format!("rustc ({variant})"), &mut cmd);
        // The last line is the same in both builds; the variant is checked by linking.
        variants.push((variant, out, "thread-locals: main 7 other 99", dynamic));
    }
    compare_variants(
        "Rust std::thread",
        &dir,
        &variants,
        &[
            "sum 1..=1000000 = 500000500000; threads summer-0,summer-1,summer-2,summer-3",
            "join of a panicking thread is an error: true",
            "mpsc: 300 values, all distinct: true",
            "sync_channel sum: 15",
            "Arc<Mutex> counter: 80000",
            "condvar: handed over",
            "barrier leaders: 1",
            "scoped threads: sum 2500",
        ],
    );
}

/// tests/threads/c/asan_leaks.c built with gcc's AddressSanitizer: at exit LeakSanitizer
/// stops the world (a CLONE_VM child ptrace-attaches to each thread, reads its registers
/// and detaches; syscall/ptrace.rs) while threads wait on a condition variable, block in
/// read() and spin. Without an argument nothing leaks (exit 0); with one, the 77-byte
/// block main dropped is reported and the exit status is ASan's 1, as natively. Without
/// ptrace the check fails with "LeakSanitizer has encountered a fatal error".
#[test]
fn address_sanitizer_leak_check_stops_every_thread() {
    if !require_tool("/usr/bin/gcc", "build-essential") {
        return;
    }
    let dir = ScratchDir::new("threads-asan");
    let bin = dir.join("asan_leaks");
    let mut cmd = Command::new("gcc");
    cmd.args(["-fsanitize=address", "-g", "-O0", "-pthread", "-o"]).arg(&bin).arg(sources().join("c/asan_leaks.c")).current_dir(dir.path());
    build("gcc -fsanitize=address", &mut cmd);
    for leak in [false, true] {
        let what = if leak { "ASan with a leak" } else { "ASan without a leak" };
        let mut run = Run::new(&bin).cwd(dir.path()).timeout(RUN_TIMEOUT);
        if leak {
            run = run.arg("leak");
        }
        let native = run_native(&run);
        let emulated = run_mactux(&run);
        assert_lines(what, &native, &["exiting with three threads running"]);
        assert_same(what, &native, &emulated, Compare::STDOUT_STATUS);
        let report = "SUMMARY: AddressSanitizer: 77 byte(s) leaked in 1 allocation(s).";
        for (side, o) in [("natively", &native), ("under mactux", &emulated)] {
            let err = o.stderr_str();
            assert_eq!(err.contains(report), leak, "{what} {side}: the leak report should be there: {leak}\n{err}");
            assert!(!err.contains("fatal error"), "{what} {side}: LeakSanitizer failed:\n{err}");
        }
    }
}

/// tests/src/bin/tokio_probe.rs, built with the suite against the workspace's tokio: the
/// multi-threaded runtime most Rust servers run on. Its idle workers sleep in epoll_wait
/// and are woken by mio's waker, an eventfd registered edge-triggered that is written at
/// each wake and never read, so every wake after the first is a new edge of a file that
/// stays readable; it hung (its watchdog ended it) while such an edge did not wake a
/// thread already asleep.
#[test]
fn rust_tokio_multi_thread_runtime() {
    let dir = ScratchDir::new("threads-tokio");
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_tokio_probe"));
    compare_variants(
        "tokio",
        &dir,
        &[("dynamic", bin, "echo: 8 clients, 400 messages, 7920 bytes", true)],
        &["spawn_blocking: 200 results, sum 1333300", "channel after timers: sum 1225", "signals: 3 SIGUSR1 received"],
    );
}

fn jdk_tool(name: &str) -> Option<PathBuf> {
    let path = Path::new(JAVA_HOME).join("bin").join(name);
    require_tool(path.to_str().expect("a UTF-8 path"), "default-jdk-headless").then_some(path)
}

/// `java` with options that keep its files in `dir`: no hsperfdata in /tmp, and a crash
/// report (a JVM that cannot start its threads writes one) in the scratch directory.
fn java_run(java: &Path, dir: &ScratchDir) -> Run {
    Run::new(java)
        .arg("-XX:-UsePerfData")
        .arg(format!("-XX:ErrorFile={}/hs_err_pid%p.log", dir.path().display()))
        .cwd(dir.path())
}

/// `java -version` prints to stderr: the exit status must agree and mactux's stderr must
/// name the same version. The JVM starts a dozen threads (GC, JIT compilers, reference
/// handler) before it prints anything.
#[test]
fn java_version() {
    let Some(java) = jdk_tool("java") else { return };
    let dir = ScratchDir::new("threads-java-version");
    let run = java_run(&java, &dir).arg("-version");
    let (native, emulated) = native_then_mactux("java -version", &run);
    assert_same("java -version", &native, &emulated, Compare::STDOUT_STATUS);
    let native_err = native.stderr_str();
    let version = native_err.lines().next().unwrap_or_default();
    assert!(version.contains(" version \""), "java -version natively printed no version line: {native_err}");
    assert!(
        emulated.stderr_str().lines().any(|l| l == version),
        "java -version under mactux does not print {version:?}; stderr:\n{}",
        emulated.stderr_str()
    );
}

/// tests/threads/java/Threads.java compiled with Debian's javac into the scratch
/// directory: an ExecutorService of four threads, a synchronized counter, Thread.join and
/// a CountDownLatch.
#[test]
fn java_executor_synchronized_join() {
    let (Some(java), Some(javac)) = (jdk_tool("java"), jdk_tool("javac")) else { return };
    let dir = ScratchDir::new("threads-java");
    build(
        "javac Threads.java",
        Command::new(&javac).current_dir(dir.path()).arg("-J-XX:-UsePerfData").arg("-d").arg(dir.path()).arg(sources().join("java/Threads.java")),
    );
    let run = java_run(&java, &dir).arg("-cp").arg(dir.path()).arg("Threads");
    let native = same("java Threads", &run);
    assert_lines(
        "java Threads",
        &native,
        &[
            "executor sum 1..1000000 = 500000500000",
            "executor terminated: true",
            "synchronized counter = 100000",
            "after join: set by helper",
            "latch reached zero: true",
        ],
    );
}
