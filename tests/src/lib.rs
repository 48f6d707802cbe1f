//! Harness for the end-to-end tests: run a Linux program natively and under `mactux run`,
//! and compare what an observer of the process sees (stdout, stderr, exit status or
//! terminating signal).
//!
//! - The binary under test is `$MACTUX_BIN`, else `<workspace>/target/release/mactux`.
//! - Guest C programs live in `tests/guest/<area>/<behaviour>.c` and are built on demand
//!   into `<workspace>/target/guest/<variant>/<area>/<behaviour>` for every [`VARIANTS`]
//!   entry whose compiler exists. A missing compiler skips its variant with a note, unless
//!   `MACTUX_REQUIRE_ALL` is set (the scripts set it), in which case it is a failure.
//! - Both runs get the same fixed environment ([`fixed_env`]), the same working directory,
//!   core dumps disabled, and a timeout (60 s, or the run's own [`Run::timeout`];
//!   `MACTUX_TEST_TIMEOUT` seconds overrides both); a run that outlives it is killed and
//!   reported as [`Termination::Timeout`].

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// How long a single run may take before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// After the process exits, how long its output pipes may stay open (held by a descendant
/// such as a daemon that forgot to close them) before we stop reading.
const PIPE_GRACE: Duration = Duration::from_secs(5);

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent directory")
        .to_path_buf()
}

/// True when every variant, tool and package must be present (set by the scripts and CI),
/// so nothing is ever skipped silently.
pub fn require_all() -> bool {
    std::env::var_os("MACTUX_REQUIRE_ALL").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The `mactux` binary under test. Panics with instructions when it does not exist.
pub fn mactux_bin() -> PathBuf {
    let path = match std::env::var_os("MACTUX_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join("target/release/mactux"),
    };
    if !path.is_file() {
        panic!(
            "the mactux binary was not found at {}: run `cargo build --release -p mactux-cli` \
             first (scripts/test.sh does this), or point MACTUX_BIN at a built binary",
            path.display()
        );
    }
    path
}

/// The run's bound: `MACTUX_TEST_TIMEOUT` seconds when set (to give a slow machine or a
/// traced run more time), else the run's own, else [`DEFAULT_TIMEOUT`].
fn timeout(run: &Run) -> Duration {
    std::env::var("MACTUX_TEST_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .or(run.timeout)
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// The environment both runs get. Passed through from ours: HOME, USER, LOGNAME,
/// XDG_RUNTIME_DIR (where the runtime may look for its daemon) and every MACTUX_* and
/// RUST_LOG variable, so the native and emulated runs always see the same environment.
pub fn fixed_env() -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = vec![
        ("PATH".into(), "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin".into()),
        ("LC_ALL".into(), "C".into()),
        ("TZ".into(), "UTC".into()),
    ];
    for (key, value) in std::env::vars_os() {
        let k = key.to_string_lossy();
        let passed = matches!(&*k, "HOME" | "USER" | "LOGNAME" | "XDG_RUNTIME_DIR" | "RUST_LOG")
            || k.starts_with("MACTUX_");
        if passed {
            env.push((key, value));
        }
    }
    env
}

/// How a process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Termination {
    /// Exited with this status.
    Exit(i32),
    /// Killed by this signal number.
    Signal(i32),
    /// Outlived the timeout and was killed by the harness.
    Timeout,
    /// Could not be started at all.
    SpawnError(String),
}

impl fmt::Display for Termination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Termination::Exit(code) => write!(f, "exit {code}"),
            Termination::Signal(sig) => write!(f, "killed by signal {sig} ({})", signal_name(*sig)),
            Termination::Timeout => write!(f, "timed out and was killed"),
            Termination::SpawnError(e) => write!(f, "could not be started: {e}"),
        }
    }
}

/// Name of a Linux signal number, for messages.
pub fn signal_name(sig: i32) -> &'static str {
    const NAMES: [&str; 32] = [
        "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
        "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
        "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
        "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ];
    usize::try_from(sig).ok().and_then(|i| NAMES.get(i)).copied().unwrap_or("real-time or unknown")
}

/// Everything an observer sees of one run.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub status: Termination,
    /// Anything odd the harness noticed (e.g. output pipes held open after exit).
    pub note: Option<String>,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    pub fn is_success(&self) -> bool {
        self.status == Termination::Exit(0)
    }
}

/// One command to run natively and under mactux.
#[derive(Clone, Debug)]
pub struct Run {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub stdin: Vec<u8>,
    pub cwd: Option<PathBuf>,
    /// Extra environment on top of [`fixed_env`].
    pub env: Vec<(OsString, OsString)>,
    /// Options for `mactux run` placed before `--` (e.g. `--trace`).
    pub mactux_options: Vec<OsString>,
    /// When set, stdin, stdout and stderr are the files `stdin`, `stdout` and
    /// `stderr` in this directory (made afresh, mode 0600) instead of pipes:
    /// for programs that change what their fds refer to (a fuzzer's fchmod),
    /// which must never be a device or a terminal of the host's.
    pub stdio_dir: Option<PathBuf>,
    /// How long the run may take before it is killed, when not [`DEFAULT_TIMEOUT`]: for
    /// programs that take a second natively but may wait forever under a runtime that
    /// lacks what they need.
    pub timeout: Option<Duration>,
    /// Run as this host uid and gid with no supplementary groups (the
    /// test runs as root), see [`OrdinaryUser`].
    pub user: Option<(u32, u32)>,
    /// The mactux binary, when not [`mactux_bin`] (one the user can reach).
    pub mactux: Option<PathBuf>,
}

impl Run {
    pub fn new(program: impl AsRef<OsStr>) -> Run {
        Run {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            stdin: Vec::new(),
            cwd: None,
            env: Vec::new(),
            mactux_options: Vec::new(),
            stdio_dir: None,
            timeout: None,
            user: None,
            mactux: None,
        }
    }
    /// `Run::cmd(&["ls", "-la", "/usr/bin"])`.
    pub fn cmd(argv: &[&str]) -> Run {
        Run::new(argv[0]).args(&argv[1..])
    }
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Run {
        self.args.push(a.as_ref().to_owned());
        self
    }
    pub fn args<S: AsRef<OsStr>>(mut self, a: &[S]) -> Run {
        self.args.extend(a.iter().map(|s| s.as_ref().to_owned()));
        self
    }
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Run {
        self.stdin = data.into();
        self
    }
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Run {
        self.cwd = Some(dir.into());
        self
    }
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Run {
        self.env.push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }
    /// Stdin, stdout and stderr as files in `dir` (see [`Run::stdio_dir`]).
    pub fn stdio_files(mut self, dir: impl Into<PathBuf>) -> Run {
        self.stdio_dir = Some(dir.into());
        self
    }
    /// Kill the run after `limit` instead of [`DEFAULT_TIMEOUT`] (see [`Run::timeout`]).
    pub fn timeout(mut self, limit: Duration) -> Run {
        self.timeout = Some(limit);
        self
    }
    pub fn mactux_option(mut self, opt: impl AsRef<OsStr>) -> Run {
        self.mactux_options.push(opt.as_ref().to_owned());
        self
    }
    /// A short printable form for messages.
    pub fn display(&self) -> String {
        let mut s = self.program.to_string_lossy().into_owned();
        for a in &self.args {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        s
    }
}

/// Run natively.
pub fn run_native(run: &Run) -> Outcome {
    execute(&native_argv(run), run)
}

/// Run under `mactux run [options] -- PROG ARGS...`.
pub fn run_mactux(run: &Run) -> Outcome {
    execute(&mactux_argv(run), run)
}

fn native_argv(run: &Run) -> Vec<OsString> {
    let mut argv = vec![run.program.clone()];
    argv.extend(run.args.iter().cloned());
    argv
}

fn mactux_of(run: &Run) -> PathBuf {
    run.mactux.clone().unwrap_or_else(mactux_bin)
}

fn mactux_argv(run: &Run) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![mactux_of(run).into(), "run".into()];
    argv.extend(run.mactux_options.iter().cloned());
    argv.push("--".into());
    argv.push(run.program.clone());
    argv.extend(run.args.iter().cloned());
    argv
}

/// Run `mactux` with arbitrary arguments (no `run --` added), e.g. to test its own errors.
pub fn run_mactux_raw(args: &[&OsStr], run: &Run) -> Outcome {
    let mut argv: Vec<OsString> = vec![mactux_of(run).into()];
    argv.extend(args.iter().map(|a| a.to_os_string()));
    execute(&argv, run)
}

/// The command that runs argv through `sh -c 'ulimit -c 0; exec "$0" "$@"'` in the run's
/// environment and working directory.
fn command(argv: &[OsString], run: &Run) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg("ulimit -c 0 2>/dev/null; exec \"$0\" \"$@\"").args(argv);
    cmd.env_clear().envs(fixed_env()).envs(run.env.iter().cloned());
    if let Some(dir) = &run.cwd {
        cmd.current_dir(dir);
    }
    if let Some((uid, gid)) = run.user {
        use std::os::unix::process::CommandExt;
        // Run by root, std also drops the supplementary groups.
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// Spawn argv through `sh -c 'ulimit -c 0; exec "$0" "$@"'` (no core files from crashing
/// guests; exec keeps the pid and the status), feed stdin, collect output, enforce the
/// timeout.
fn execute(argv: &[OsString], run: &Run) -> Outcome {
    let start = Instant::now();
    let mut cmd = command(argv, run);
    let spawn_error = |e: String| Outcome {
        stdout: Vec::new(),
        stderr: Vec::new(),
        status: Termination::SpawnError(e),
        note: None,
        elapsed: start.elapsed(),
    };
    match &run.stdio_dir {
        None => {
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        Some(dir) => match stdio_files(dir, &run.stdin) {
            Ok([i, o, e]) => {
                cmd.stdin(i).stdout(o).stderr(e);
            }
            Err(e) => return spawn_error(e),
        },
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return spawn_error(e.to_string()),
    };

    // With stdio files there is nothing to feed or read until the end.
    let pipes = child.stdin.take().zip(child.stdout.take()).zip(child.stderr.take());
    let pipes = pipes.map(|((mut stdin, stdout), stderr)| {
        let input = run.stdin.clone();
        // A program that exits without reading its input gets EPIPE here; that is fine.
        let writer = thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        (writer, spawn_reader(stdout), spawn_reader(stderr))
    });

    let deadline = start + timeout(run);
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Outcome {
                    stdout: Vec::new(),
                    stderr: Vec::new(),
                    status: Termination::SpawnError(format!("wait failed: {e}")),
                    note: None,
                    elapsed: start.elapsed(),
                };
            }
        }
    };
    let (stdout, stderr, note) = match (pipes, &run.stdio_dir) {
        (Some((writer, out, err)), _) => {
            let _ = writer.join();
            let grace_end = Instant::now() + PIPE_GRACE;
            let out_done = out.wait_until(grace_end);
            let err_done = err.wait_until(grace_end);
            let note = (!out_done || !err_done).then(|| {
                "stdout or stderr was still open 5 s after the process ended (a descendant kept it)"
                    .to_string()
            });
            (out.take(), err.take(), note)
        }
        (None, Some(dir)) => {
            let read = |name: &str| std::fs::read(dir.join(name)).unwrap_or_default();
            (read("stdout"), read("stderr"), None)
        }
        (None, None) => unreachable!("without stdio files, stdin, stdout and stderr are piped"),
    };
    let status = match status {
        None => Termination::Timeout,
        Some(st) => match (st.code(), st.signal()) {
            (Some(code), _) => Termination::Exit(code),
            (None, Some(sig)) => Termination::Signal(sig),
            (None, None) => Termination::SpawnError(format!("unknown status {st:?}")),
        },
    };
    Outcome { stdout, stderr, status, note, elapsed: start.elapsed() }
}

/// Creates `dir/stdin` holding `input`, and empty `dir/stdout` and `dir/stderr`,
/// all new files of mode 0600 (an existing one is an error: never reuse a file
/// someone else put there), and opens them for a child's stdin, stdout and stderr.
fn stdio_files(dir: &Path, input: &[u8]) -> Result<[std::fs::File; 3], String> {
    use std::os::unix::fs::OpenOptionsExt;
    let create = |name: &str| {
        let path = dir.join(name);
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))
    };
    let mut stdin = create("stdin")?;
    stdin.write_all(input).map_err(|e| format!("cannot write {}: {e}", dir.join("stdin").display()))?;
    drop(stdin);
    let stdin = std::fs::File::open(dir.join("stdin")).map_err(|e| format!("cannot open {}/stdin: {e}", dir.display()))?;
    Ok([stdin, create("stdout")?, create("stderr")?])
}

struct Reader {
    buf: Arc<Mutex<Vec<u8>>>,
    done: Arc<Mutex<bool>>,
}

impl Reader {
    fn wait_until(&self, end: Instant) -> bool {
        loop {
            if *self.done.lock().unwrap() {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.buf.lock().unwrap())
    }
}

fn spawn_reader(mut pipe: impl Read + Send + 'static) -> Reader {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(Mutex::new(false));
    let (b, d) = (buf.clone(), done.clone());
    thread::spawn(move || {
        let mut chunk = [0u8; 65536];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => b.lock().unwrap().extend_from_slice(&chunk[..n]),
            }
        }
        *d.lock().unwrap() = true;
    });
    Reader { buf, done }
}

// ---------------------------------------------------------------------------------------
// Comparison

/// What to compare between a native and an emulated run.
#[derive(Clone, Copy, Debug)]
pub struct Compare {
    pub stdout: bool,
    pub stderr: bool,
    pub status: bool,
}

impl Compare {
    /// stdout and exit status/signal (the default for all tests).
    pub const STDOUT_STATUS: Compare = Compare { stdout: true, stderr: false, status: true };
    pub const ALL: Compare = Compare { stdout: true, stderr: true, status: true };
}

/// Differences between a native and an emulated run, one message per aspect; empty when
/// they agree. `what` names the run in each message.
pub fn differences(what: &str, native: &Outcome, emulated: &Outcome, cmp: Compare) -> Vec<String> {
    let mut diffs = Vec::new();
    if let Termination::Timeout | Termination::SpawnError(_) = native.status {
        diffs.push(format!("{what}: the native run itself {}", native.status));
    }
    if cmp.status && native.status != emulated.status {
        diffs.push(format!(
            "{what}: status differs: native {}, mactux {}{}",
            native.status,
            emulated.status,
            stderr_hint(emulated)
        ));
    }
    if cmp.stdout && native.stdout != emulated.stdout {
        diffs.push(format!(
            "{what}: stdout differs:\n{}{}",
            text_diff(&native.stdout, &emulated.stdout),
            stderr_hint(emulated)
        ));
    }
    if cmp.stderr && native.stderr != emulated.stderr {
        diffs.push(format!("{what}: stderr differs:\n{}", text_diff(&native.stderr, &emulated.stderr)));
    }
    if let Some(note) = &emulated.note {
        diffs.push(format!("{what}: under mactux {note}"));
    }
    diffs
}

/// Panic with a readable report unless the two runs agree.
pub fn assert_same(what: &str, native: &Outcome, emulated: &Outcome, cmp: Compare) {
    let diffs = differences(what, native, emulated, cmp);
    if !diffs.is_empty() {
        panic!("{}", diffs.join("\n\n"));
    }
}

/// Run natively and under mactux, assert that stdout and status agree, return both.
pub fn check_same(what: &str, run: &Run) -> (Outcome, Outcome) {
    let native = run_native(run);
    let emulated = run_mactux(run);
    assert_same(what, &native, &emulated, Compare::STDOUT_STATUS);
    (native, emulated)
}

fn stderr_hint(o: &Outcome) -> String {
    if o.stderr.is_empty() {
        return String::new();
    }
    let text = o.stderr_str();
    let lines: Vec<&str> = text.lines().collect();
    let shown = lines.len().min(15);
    let mut s = format!("\n  mactux stderr (first {shown} of {} lines):", lines.len());
    for line in &lines[..shown] {
        s.push_str("\n    ");
        s.push_str(&truncate(line, 200));
    }
    s
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}...")
    }
}

/// A compact line diff: the first differing line with some context and the line counts.
pub fn text_diff(native: &[u8], emulated: &[u8]) -> String {
    let a = String::from_utf8_lossy(native);
    let b = String::from_utf8_lossy(emulated);
    let la: Vec<&str> = a.split_inclusive('\n').collect();
    let lb: Vec<&str> = b.split_inclusive('\n').collect();
    let first = la.iter().zip(lb.iter()).take_while(|(x, y)| x == y).count();
    let mut s = format!(
        "  native {} bytes / {} lines, mactux {} bytes / {} lines; first difference at line {}\n",
        native.len(),
        la.len(),
        emulated.len(),
        lb.len(),
        first + 1
    );
    let from = first.saturating_sub(2);
    for line in &la[from..first] {
        s.push_str(&format!("    {}\n", truncate(&show(line), 200)));
    }
    for line in la.iter().skip(first).take(8) {
        s.push_str(&format!("  - {}\n", truncate(&show(line), 200)));
    }
    for line in lb.iter().skip(first).take(8) {
        s.push_str(&format!("  + {}\n", truncate(&show(line), 200)));
    }
    s.push_str("  (- native, + mactux)");
    s
}

/// A line with its newline (or its absence) made visible.
fn show(line: &str) -> String {
    match line.strip_suffix('\n') {
        Some(body) => body.escape_debug().to_string(),
        None => format!("{}<no newline at end>", line.escape_debug()),
    }
}

// ---------------------------------------------------------------------------------------
// Guest programs

/// One way of building a guest program.
#[derive(Clone, Copy, Debug)]
pub struct Variant {
    pub name: &'static str,
    pub compiler: &'static str,
    pub flags: &'static [&'static str],
    /// The Debian package that provides the compiler.
    pub package: &'static str,
}

/// All build variants: static, static-pie and dynamic glibc; static and dynamic musl.
pub const VARIANTS: &[Variant] = &[
    Variant { name: "glibc-static", compiler: "gcc", flags: &["-static"], package: "build-essential" },
    Variant { name: "glibc-static-pie", compiler: "gcc", flags: &["-static-pie"], package: "build-essential" },
    Variant { name: "glibc-dynamic", compiler: "gcc", flags: &[], package: "build-essential" },
    Variant { name: "musl-static", compiler: "musl-gcc", flags: &["-static"], package: "musl-tools" },
    Variant { name: "musl-dynamic", compiler: "musl-gcc", flags: &[], package: "musl-tools" },
];

/// The directory of guest sources, `tests/guest`.
pub fn guest_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("guest")
}

/// Areas: the subdirectories of `tests/guest`, sorted.
pub fn guest_areas() -> Vec<String> {
    let mut areas: Vec<String> = std::fs::read_dir(guest_dir())
        .expect("tests/guest exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    areas.sort();
    areas
}

/// The `.c` sources of one area, sorted.
pub fn guest_sources(area: &str) -> Vec<PathBuf> {
    let dir = guest_dir().join(area);
    let mut srcs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    srcs.sort();
    srcs
}

/// `area/name` of a guest source, for messages.
pub fn guest_label(src: &Path) -> String {
    let name = src.file_stem().unwrap_or_default().to_string_lossy();
    let area = src
        .parent()
        .and_then(|p| p.file_name())
        .unwrap_or_default()
        .to_string_lossy();
    format!("{area}/{name}")
}

/// The directives of a guest source: its leading `// ` lines, each `key: value`.
fn guest_directives(src: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(src).unwrap_or_default();
    text.lines()
        .map_while(|l| l.strip_prefix("// "))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// The native outcome a guest program must have: `// expect: exit N` or
/// `// expect: signal N` among its leading `//` lines, else exit 0.
pub fn expected_termination(src: &Path) -> Termination {
    for (key, value) in guest_directives(src) {
        if key != "expect" {
            continue;
        }
        let parse = |prefix: &str| value.strip_prefix(prefix).and_then(|n| n.trim().parse::<i32>().ok());
        if let Some(code) = parse("exit ") {
            return Termination::Exit(code);
        }
        if let Some(sig) = parse("signal ") {
            return Termination::Signal(sig);
        }
    }
    Termination::Exit(0)
}

/// Extra compiler flags a guest source asks for with `// build: FLAGS` among its
/// leading `//` lines (e.g. `-pthread`), given to every variant's compiler.
pub fn guest_build_flags(src: &Path) -> Vec<String> {
    guest_directives(src)
        .into_iter()
        .filter(|(key, _)| key == "build")
        .flat_map(|(_, value)| value.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// Is an executable of this name on PATH?
pub fn have_program(name: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path).any(|d| d.join(name).is_file())
}

/// Result of building one guest program in one variant.
#[derive(Debug)]
pub enum Built {
    Binary(PathBuf),
    /// The variant's compiler is missing and MACTUX_REQUIRE_ALL is not set.
    Skipped(String),
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Build `src` for `variant` (unless an up-to-date binary exists). Errors are compile
/// failures, or a missing compiler when everything is required.
pub fn build_guest(variant: &Variant, src: &Path) -> Result<Built, String> {
    if !have_program(variant.compiler) {
        let msg = format!(
            "variant {} needs `{}`, which is missing (Debian package {}; scripts/install-test-deps.sh installs it)",
            variant.name, variant.compiler, variant.package
        );
        return if require_all() { Err(msg) } else { Ok(Built::Skipped(msg)) };
    }
    let label = guest_label(src);
    let out = workspace_root().join("target/guest").join(variant.name).join(&label);
    // The binary is up to date when newer than its source, test.h and the
    // headers beside the source (an area's own, such as creds/creds.h).
    let area_headers = src.parent().and_then(|d| std::fs::read_dir(d).ok()).into_iter().flatten().flatten().map(|e| e.path());
    let headers: Vec<PathBuf> = std::iter::once(guest_dir().join("test.h")).chain(area_headers.filter(|p| p.extension().is_some_and(|x| x == "h"))).collect();
    let newest_header = headers.iter().map(|h| mtime(h)).try_fold(SystemTime::UNIX_EPOCH, |m, t| t.map(|t| m.max(t)));
    if let (Some(bin), Some(s), Some(h)) = (mtime(&out), mtime(src), newest_header) {
        if bin >= s && bin >= h {
            return Ok(Built::Binary(out));
        }
    }
    let dir = out.parent().expect("output has a parent");
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // Build to a unique name and rename, so concurrent tests never see a partial binary.
    let tmp = dir.join(format!(
        ".{}.tmp.{}.{}",
        out.file_name().unwrap().to_string_lossy(),
        std::process::id(),
        UNIQUE.fetch_add(1, Ordering::Relaxed)
    ));
    let extra = guest_build_flags(src);
    let result = Command::new(variant.compiler)
        .args(variant.flags)
        .args(["-O1", "-g", "-Wall", "-Wextra", "-o"])
        .arg(&tmp)
        .arg(src)
        .args(&extra)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", variant.compiler))?;
    if !result.status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "{label} does not compile for {} ({} {} {}):\n{}",
            variant.name,
            variant.compiler,
            variant.flags.join(" "),
            extra.join(" "),
            String::from_utf8_lossy(&result.stderr)
        ));
    }
    std::fs::rename(&tmp, &out).map_err(|e| format!("cannot rename to {}: {e}", out.display()))?;
    Ok(Built::Binary(out))
}

/// Builds `tests/robust/<source>` statically (and with `-pthread`: the
/// fuzzer has a threaded mode) with `compiler` into `target/robust/<name>`:
/// the hostile guests, which need no library from a guest root. `None` (with a skip note) when the compiler is missing and not
/// everything is required.
pub fn build_robust(compiler: &str, package: &str, source: &str, name: &str) -> Option<PathBuf> {
    if !have_program(compiler) {
        let msg = format!("`{compiler}` is missing (Debian package {package}; scripts/install-test-deps.sh installs it)");
        assert!(!require_all(), "{msg}");
        eprintln!("skipped: {msg}");
        return None;
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("robust").join(source);
    let dir = workspace_root().join("target/robust");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let out = dir.join(name);
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    let result = Command::new(compiler)
        .args(["-static", "-pthread", "-O1", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&tmp)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
    assert!(result.status.success(), "{source} does not compile with {compiler}:\n{}", String::from_utf8_lossy(&result.stderr));
    std::fs::rename(&tmp, &out).unwrap_or_else(|e| panic!("cannot rename to {}: {e}", out.display()));
    Some(out)
}

// ---------------------------------------------------------------------------------------
// Servers

/// How long a [`Server`] may take to print what [`Server::wait_for_line`] waits for, or to
/// end after [`Server::stop`] or in [`Server::wait`].
pub const SERVER_WAIT: Duration = Duration::from_secs(30);

/// A program that keeps running beside the test (a server, or a client the test talks
/// to while it runs), started natively or under `mactux run` in the same environment as
/// [`run_native`] and [`run_mactux`]. Its stdin is a pipe that gets the run's `stdin`
/// and then stays open until [`Server::close_stdin`] (for programs that end at EOF);
/// its stdout and stderr lines are collected as they come. Dropping it ends it
/// (SIGTERM, then SIGKILL), so a failing test leaves no process behind.
pub struct Server {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    what: String,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    /// Starts `run` natively, or under mactux when `under_mactux`.
    pub fn start(run: &Run, under_mactux: bool) -> Server {
        let argv = if under_mactux { mactux_argv(run) } else { native_argv(run) };
        let what = format!("{}{}", if under_mactux { "under mactux: " } else { "natively: " }, run.display());
        let mut cmd = command(&argv, run);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let stdin = child.stdin.take();
        let (tx, lines) = std::sync::mpsc::channel();
        let out = child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>);
        let err = child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>);
        for pipe in [out, err].into_iter().flatten() {
            let tx = tx.clone();
            thread::spawn(move || {
                for line in std::io::BufRead::lines(std::io::BufReader::new(pipe)) {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let mut server = Server { child, what, stdin, lines, seen: Vec::new() };
        server.send(&run.stdin);
        server
    }

    /// Writes `data` to the program's stdin. A program that already closed its stdin
    /// (or ended) does not get it, which the test sees in what the program does next.
    pub fn send(&mut self, data: &[u8]) {
        if let Some(stdin) = &mut self.stdin {
            // A pipe buffer holds what tests send; a program that stops reading
            // would block this write, so tests send only what it reads.
            let _ = stdin.write_all(data).and_then(|()| stdin.flush());
        }
    }

    /// Closes the program's stdin: it reads EOF.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The first line of stdout or stderr (from the start) for which `pick` gives a value,
    /// waiting at most [`SERVER_WAIT`]; `None` when the server ended without printing one.
    /// Panics, showing what the server printed, when the wait runs out.
    pub fn wait_for_line<T>(&mut self, mut pick: impl FnMut(&str) -> Option<T>) -> Option<T> {
        if let Some(v) = self.seen.iter().find_map(|l| pick(l)) {
            return Some(v);
        }
        let deadline = Instant::now() + SERVER_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let v = pick(&line);
                    self.seen.push(line);
                    if v.is_some() {
                        return v;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return None,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    let out = self.output();
                    panic!("{} printed nothing expected within {SERVER_WAIT:?}:\n{out}", self.what)
                }
            }
        }
    }

    /// Everything the server printed so far, stdout and stderr lines interleaved.
    pub fn output(&mut self) -> String {
        self.seen.extend(self.lines.try_iter());
        self.seen.join("\n")
    }

    /// Waits at most [`SERVER_WAIT`] for the server to end by itself; kills it and
    /// returns [`Termination::Timeout`] when it does not.
    pub fn wait(mut self) -> Termination {
        self.wait_inner()
    }

    /// Sends SIGTERM and waits for the server to end, as [`Server::wait`] does.
    pub fn stop(mut self) -> Termination {
        self.terminate();
        self.wait_inner()
    }

    fn terminate(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) with our own child's pid, which is not yet reaped (we hold
            // the Child and have not waited for it to end), so it names no other process.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }

    fn wait_inner(&mut self) -> Termination {
        let deadline = Instant::now() + SERVER_WAIT;
        loop {
            match self.child.try_wait() {
                Ok(Some(st)) => {
                    return match (st.code(), st.signal()) {
                        (Some(code), _) => Termination::Exit(code),
                        (None, Some(sig)) => Termination::Signal(sig),
                        (None, None) => Termination::SpawnError(format!("unknown status {st:?}")),
                    }
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return Termination::Timeout;
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
            let _ = self.wait_inner();
        }
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago, for servers that cannot be told
/// to take an ephemeral port and report it (git daemon): another process may take it
/// before the server binds it, so callers retry with a fresh one when the bind fails.
pub fn unused_loopback_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("the listener's address").port()
}

// ---------------------------------------------------------------------------------------
// Host tools and scratch space

/// Is `path` present? When it is missing: with MACTUX_REQUIRE_ALL, panic naming the Debian
/// package to install; otherwise print a skip note and return false.
pub fn require_tool(path: &str, package: &str) -> bool {
    if Path::new(path).exists() {
        return true;
    }
    let msg = format!(
        "{path} is missing: install the Debian package `{package}` (scripts/install-test-deps.sh)"
    );
    if require_all() {
        panic!("{msg}");
    }
    eprintln!("skipped: {msg}");
    false
}

/// A private directory under the system temp dir (mode 0700, made afresh like
/// mkdtemp(3): never one that already exists, which someone else may own or
/// have planted as a symlink), removed (recursively) on drop.
/// Debian's Go toolchain.
pub const GO: &str = "/usr/bin/go";

/// Builds the Go program `file` of the directory `src` into `out` with a
/// static toolchain setup of its own in `scratch` (home, caches, temporary
/// files): nothing outside the scratch directory is written, nothing is
/// fetched. Panics with go's output when the build fails.
pub fn build_go(src: &Path, file: &str, out: &Path, scratch: &ScratchDir) {
    let sub = |name: &str| {
        let p = scratch.join(name);
        std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("cannot create {}: {e}", p.display()));
        p
    };
    let built = std::process::Command::new(GO)
        .args(["build", "-o"])
        .arg(out)
        .arg(file)
        .current_dir(src)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", sub("home"))
        .env("GOCACHE", sub("gocache"))
        .env("GOPATH", sub("gopath"))
        .env("GOTMPDIR", sub("gotmp"))
        .env("TMPDIR", sub("gotmp"))
        .env("GOENV", "off")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOTELEMETRY", "off")
        .env("CGO_ENABLED", "0")
        .output()
        .unwrap_or_else(|e| panic!("cannot run go build: {e}"));
    assert!(built.status.success(), "go build of {file} failed:\n{}", String::from_utf8_lossy(&built.stderr));
}

pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    pub fn new(tag: &str) -> ScratchDir {
        let path = private_temp_dir(&format!("mactux-test-{tag}"))
            .unwrap_or_else(|e| panic!("cannot create a scratch directory for {tag}: {e}"));
        ScratchDir { path }
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.path.join(p)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if std::fs::remove_dir_all(&self.path).is_ok() {
            return;
        }
        // A guest may have left directories without permissions: give them back first.
        fn open_up(dir: &Path) {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
            let Ok(rd) = std::fs::read_dir(dir) else { return };
            for entry in rd.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    open_up(&entry.path());
                }
            }
        }
        open_up(&self.path);
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// An unprivileged host user, for the tests that run MacTux as every Mac
/// user does: uid and gid 65534 (nobody, which needs no change to /etc),
/// with a home of its own in a scratch directory holding its daemon's
/// state directory, its `MACTUX_HOME` and a working directory, and a copy
/// of the mactux binary it can reach wherever the checkout is. Its daemon
/// is stopped and everything removed on drop.
pub struct OrdinaryUser {
    pub uid: u32,
    pub gid: u32,
    scratch: ScratchDir,
    bin: PathBuf,
}

impl OrdinaryUser {
    /// `None` when the test does not run as root: the suite is then an
    /// ordinary user's already, and cannot become another.
    pub fn new(tag: &str) -> Option<OrdinaryUser> {
        use std::os::unix::fs::{chown, PermissionsExt};
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("{tag}: skipped (the suite runs as an ordinary user already)");
            return None;
        }
        let (uid, gid) = (65534, 65534);
        let scratch = ScratchDir::new(&format!("user-{tag}"));
        // Others may enter the scratch directory, to reach the binary.
        std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o711)).expect("open up the scratch directory");
        let bin = scratch.join("mactux");
        std::fs::copy(mactux_bin(), &bin).expect("copy the mactux binary for the ordinary user");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("make the binary executable");
        let home = scratch.join("home");
        for dir in [home.clone(), home.join("state"), home.join("work")] {
            std::fs::create_dir(&dir).expect("create the ordinary user's directories");
            chown(&dir, Some(uid), Some(gid)).expect("give the ordinary user its directories");
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("make the user's directories private");
        }
        Some(OrdinaryUser { uid, gid, scratch, bin })
    }

    /// Its home directory (HOME), owned by it.
    pub fn home(&self) -> PathBuf {
        self.scratch.join("home")
    }

    /// A directory it owns, where runs start.
    pub fn work(&self) -> PathBuf {
        self.home().join("work")
    }

    /// `run` as this user, with its home, state directory and binary (the
    /// native run too: a comparison sees the same user on both sides).
    pub fn run(&self, mut run: Run) -> Run {
        let home = self.home();
        run.user = Some((self.uid, self.gid));
        run.mactux = Some(self.bin.clone());
        if run.cwd.is_none() {
            run.cwd = Some(self.work());
        }
        run.env("HOME", &home).env("USER", "nobody").env("LOGNAME", "nobody").env("MACTUX_STATE_DIR", home.join("state")).env("MACTUX_HOME", home.join("mactux"))
    }
}

impl Drop for OrdinaryUser {
    fn drop(&mut self) {
        let _ = run_mactux_raw(&[OsStr::new("daemon"), OsStr::new("stop")], &self.run(Run::new("mactux")));
    }
}

/// Creates a new directory `<temp dir>/<prefix>-<unique>` of mode 0700 and
/// returns its path. Like mkdtemp(3) it never takes a name that exists.
pub fn private_temp_dir(prefix: &str) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let mut last = None;
    for _ in 0..100 {
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}-{nanos:08x}",
            std::process::id(),
            UNIQUE.fetch_add(1, Ordering::Relaxed)
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free name")))
}

/// A sorted listing of a tree: one line per entry, `d path`, `f path <contents>` or
/// `l path -> target`, paths relative to `root`.
pub fn tree_listing(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for entry in rd.flatten() {
            let p = entry.path();
            let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
            let Ok(meta) = std::fs::symlink_metadata(&p) else { continue };
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&p).map(|t| t.display().to_string()).unwrap_or_default();
                out.push(format!("l {rel} -> {target}"));
            } else if meta.is_dir() {
                out.push(format!("d {rel}"));
                walk(root, &p, out);
            } else {
                let data = std::fs::read(&p).unwrap_or_default();
                out.push(format!("f {rel} {}", String::from_utf8_lossy(&data).escape_debug()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_runner_reports_exit_signal_and_output() {
        let o = run_native(&Run::cmd(&["sh", "-c", "echo out; echo err >&2; exit 3"]));
        assert_eq!(o.stdout, b"out\n");
        assert_eq!(o.stderr, b"err\n");
        assert_eq!(o.status, Termination::Exit(3));
        let o = run_native(&Run::cmd(&["sh", "-c", "kill -SEGV $$"]));
        assert_eq!(o.status, Termination::Signal(11));
        let o = run_native(&Run::cmd(&["cat"]).stdin("abc"));
        assert_eq!(o.stdout, b"abc");
    }

    #[test]
    fn a_run_outliving_its_own_timeout_is_killed() {
        if std::env::var_os("MACTUX_TEST_TIMEOUT").is_some() {
            return; // the variable overrides every run's own bound
        }
        let o = run_native(&Run::cmd(&["sleep", "30"]).timeout(Duration::from_millis(200)));
        assert_eq!(o.status, Termination::Timeout);
    }

    #[test]
    fn native_runner_with_stdio_files() {
        let d = ScratchDir::new("stdio");
        let o = run_native(&Run::cmd(&["sh", "-c", "cat; echo err >&2; ls -l /proc/self/fd/0 >&2; exit 4"]).stdin("in\n").stdio_files(d.path()));
        assert_eq!(o.stdout, b"in\n");
        assert!(o.stderr_str().starts_with("err\n") && o.stderr_str().contains(&d.join("stdin").display().to_string()), "{}", o.stderr_str());
        assert_eq!(o.status, Termination::Exit(4));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(d.join("stdout")).unwrap().permissions().mode() & 0o7777, 0o600);
        // A second run into the same directory must not reuse the files.
        let o = run_native(&Run::cmd(&["true"]).stdio_files(d.path()));
        assert!(matches!(o.status, Termination::SpawnError(ref e) if e.contains("stdin")), "{:?}", o.status);
    }

    #[test]
    fn scratch_dirs_are_private_and_new() {
        use std::os::unix::fs::PermissionsExt;
        let a = ScratchDir::new("private");
        let b = ScratchDir::new("private");
        assert_ne!(a.path(), b.path());
        let meta = std::fs::symlink_metadata(a.path()).unwrap();
        assert!(meta.is_dir(), "a real directory, not a symlink");
        assert_eq!(meta.permissions().mode() & 0o7777, 0o700);
        let kept = a.path().to_path_buf();
        drop(a);
        assert!(!kept.exists(), "removed on drop");
    }

    #[test]
    fn expectation_comment_is_parsed() {
        let d = ScratchDir::new("expect");
        let f = d.join("x.c");
        std::fs::write(&f, "// expect: signal 11\nint main(void){}\n").unwrap();
        assert_eq!(expected_termination(&f), Termination::Signal(11));
        std::fs::write(&f, "// expect: exit 42\n").unwrap();
        assert_eq!(expected_termination(&f), Termination::Exit(42));
        std::fs::write(&f, "/* nothing */\n").unwrap();
        assert_eq!(expected_termination(&f), Termination::Exit(0));
        std::fs::write(&f, "// build: -pthread -lrt\n// expect: exit 3\nint main(void){}\n// build: -lm\n").unwrap();
        assert_eq!(expected_termination(&f), Termination::Exit(3));
        assert_eq!(guest_build_flags(&f), ["-pthread", "-lrt"], "only the leading comment lines count");
    }

    #[test]
    fn diff_names_the_first_differing_line() {
        let d = text_diff(b"a\nb\nc\n", b"a\nB\nc\n");
        assert!(d.contains("first difference at line 2"), "{d}");
        assert!(d.contains("- b") && d.contains("+ B"), "{d}");
    }
}
