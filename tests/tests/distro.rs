//! Debian's own binaries under `mactux run`, compared with running them natively:
//! same stdout and the same exit status. Also the runtime's emulation tells (`uname -r`,
//! `/proc/self/exe`), `--trace`, and the loader's errors for files that are not runnable.

use mactux_tests::*;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn same(argv: &[&str]) -> (Outcome, Outcome) {
    check_same(&argv.join(" "), &Run::cmd(argv))
}

fn same_run(run: Run) -> (Outcome, Outcome) {
    check_same(&run.display(), &run)
}

fn write_executable(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

const SAMPLE: &str = "pear\napple\nfig\nbanana\napple\ncherry\n";

// --- coreutils and friends -------------------------------------------------------------

#[test]
fn echo() {
    same(&["/bin/echo", "hello", "world"]);
}

#[test]
fn ls_usr_bin() {
    let (native, _) = same(&["ls", "-la", "/usr/bin"]);
    assert!(native.stdout.len() > 1000, "ls -la /usr/bin printed too little natively");
}

#[test]
fn cat_file() {
    let dir = ScratchDir::new("cat");
    let f = dir.join("in.txt");
    std::fs::write(&f, SAMPLE.repeat(200)).unwrap();
    same_run(Run::new("cat").arg(&f));
    same_run(Run::cmd(&["cat", "-n", "-"]).stdin(SAMPLE));
}

#[test]
fn sort_wc_head() {
    same_run(Run::cmd(&["sort"]).stdin(SAMPLE));
    same_run(Run::cmd(&["sort", "-u", "-r"]).stdin(SAMPLE));
    same_run(Run::cmd(&["wc"]).stdin(SAMPLE));
    same_run(Run::cmd(&["wc", "-l", "/etc/passwd"]));
    same_run(Run::cmd(&["head", "-n", "3"]).stdin(SAMPLE));
    same(&["head", "-n", "3", "/etc/passwd"]);
}

#[test]
fn cut_passwd() {
    same(&["cut", "-d:", "-f1", "/etc/passwd"]);
}

#[test]
fn sha256sum_of_a_file() {
    let dir = ScratchDir::new("sha");
    let f = dir.join("data.bin");
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&f, data).unwrap();
    let (native, _) = same_run(Run::new("sha256sum").arg(&f));
    assert!(native.stdout_str().starts_with(|c: char| c.is_ascii_hexdigit()));
}

#[test]
fn failing_command_status() {
    let (native, _) = same(&["ls", "/nonexistent-directory-for-mactux-tests"]);
    assert_eq!(native.status, Termination::Exit(2));
    same(&["false"]);
    same(&["true"]);
}

/// mkdir -p, cp -r, mv and rm -r under mactux build the same tree as natively.
#[test]
fn file_tree_commands() {
    let native_dir = ScratchDir::new("tree-native");
    let emu_dir = ScratchDir::new("tree-mactux");
    let steps: &[&[&str]] = &[
        &["mkdir", "-p", "a/b/c", "x"],
        &["sh", "-c", "echo one > a/b/c/one.txt"],
        &["cp", "a/b/c/one.txt", "a/two.txt"],
        &["cp", "-r", "a", "copy"],
        &["mv", "copy/two.txt", "x/moved.txt"],
        &["ln", "-s", "../a/two.txt", "x/link"],
        &["rm", "-r", "copy/b"],
        &["mkdir", "-p", "a/b/c"],
    ];
    for step in steps {
        // The file-writing step uses the host shell in both trees: only the commands under
        // test run under mactux.
        let run = Run::cmd(step);
        let native = run_native(&run.clone().cwd(native_dir.path()));
        assert!(native.is_success(), "native {step:?} failed: {}", native.stderr_str());
        let emulated = if step[0] == "sh" {
            run_native(&run.cwd(emu_dir.path()))
        } else {
            run_mactux(&run.cwd(emu_dir.path()))
        };
        assert_same(&step.join(" "), &native, &emulated, Compare::ALL);
    }
    let (want, got) = (tree_listing(native_dir.path()), tree_listing(emu_dir.path()));
    assert_eq!(got, want, "tree built under mactux differs from the native one");
    assert!(want.contains(&"f x/moved.txt one\\n".to_string()), "{want:?}");
}

#[test]
fn env_prints_the_environment() {
    // `env -i A=1 /usr/bin/env` needs execve, which comes with the process issue.
    let (native, _) = same(&["env"]);
    assert!(native.stdout_str().contains("LC_ALL=C\n"), "{}", native.stdout_str());
}

#[test]
fn date_epoch() {
    let (native, _) = same(&["date", "-u", "-d", "@0"]);
    assert_eq!(native.stdout_str(), "Thu Jan  1 00:00:00 UTC 1970\n");
}

// --- emulation tells ------------------------------------------------------------------

/// uname agrees with the host except the release, which says it is emulated.
#[test]
fn uname() {
    same(&["uname", "-s"]);
    same(&["uname", "-m"]);
    same(&["uname", "-o"]);
    same(&["uname", "-n"]);
    let native_release = run_native(&Run::cmd(&["uname", "-r"]));
    assert!(!native_release.stdout_str().trim_end().ends_with("-mactux"));
    let release = run_mactux(&Run::cmd(&["uname", "-r"]));
    assert!(release.is_success(), "uname -r under mactux: {}", release.status);
    assert!(
        release.stdout_str().trim_end().ends_with("-mactux"),
        "uname -r under mactux should end in -mactux, got {:?}",
        release.stdout_str()
    );
    let all = run_mactux(&Run::cmd(&["uname", "-a"]));
    assert!(all.is_success(), "uname -a under mactux: {}", all.status);
    let text = all.stdout_str();
    assert!(text.starts_with("Linux "), "uname -a: {text:?}");
    assert!(text.contains("-mactux ") && text.trim_end().ends_with("x86_64 GNU/Linux"), "uname -a: {text:?}");
}

#[test]
fn proc_self_exe_is_the_guest() {
    let (native, emulated) = same(&["readlink", "/proc/self/exe"]);
    assert_eq!(native.stdout_str(), "/usr/bin/readlink\n");
    assert_eq!(emulated.stdout_str(), "/usr/bin/readlink\n");
}

#[test]
fn trace_prints_syscalls() {
    let run = Run::cmd(&["cat", "/etc/hostname"]).mactux_option("--trace");
    let native = run_native(&run);
    let emulated = run_mactux(&run);
    assert_same("cat /etc/hostname with --trace", &native, &emulated, Compare::STDOUT_STATUS);
    let trace = emulated.stderr_str();
    assert!(
        trace.lines().any(|l| l.starts_with("openat(") && l.contains("\"/etc/hostname\"") && l.contains(") = ")),
        "--trace shows no openat of /etc/hostname with a result:\n{trace}"
    );
    assert!(trace.lines().any(|l| l.contains(" = ")), "--trace shows no results:\n{trace}");
    assert!(trace.lines().any(|l| l.starts_with("exit_group(")), "--trace shows no exit_group:\n{trace}");
    // The table's markers: `noreturn` shows exit_group before it runs,
    // `ret = Addr` shows what brk and mmap return in hex.
    assert!(trace.lines().any(|l| l.starts_with("exit_group(0) = ?")), "exit_group is not shown as `= ?`:\n{trace}");
    for call in ["brk(", "mmap("] {
        assert!(
            trace.lines().any(|l| l.starts_with(call) && l.contains(") = 0x")),
            "{call}...) does not show its address in hex:\n{trace}"
        );
    }
    assert!(
        trace.lines().any(|l| l.contains(" = -1 E")) || !trace.contains("= -"),
        "errors should print as `= -1 ENAME (message)`:\n{trace}"
    );
}

#[test]
fn trace_file() {
    let dir = ScratchDir::new("trace");
    let log = dir.join("trace.log");
    let run = Run::cmd(&["cat", "/nonexistent-file-for-mactux"])
        .mactux_option("--trace-file")
        .mactux_option(&log);
    let native = run_native(&run);
    let emulated = run_mactux(&run);
    assert_same("cat of a missing file with --trace-file", &native, &emulated, Compare::ALL);
    let trace = std::fs::read_to_string(&log).expect("--trace-file wrote no file");
    assert!(
        trace.lines().any(|l| l.contains("\"/nonexistent-file-for-mactux\"") && l.contains("= -1 ENOENT (")),
        "the trace file should show the failing open as `= -1 ENOENT (...)`:\n{trace}"
    );
}

// --- python3 --------------------------------------------------------------------------

const PYTHON_SCRIPT: &str = r#"
import hashlib, json, os, sys
d = sys.argv[1]
with open(os.path.join(d, "data.json"), "w") as f:
    json.dump({"b": [1, 2, 3], "a": {"x": None, "y": 1.5}, "s": "caf\u00e9"}, f, sort_keys=True)
with open(os.path.join(d, "data.json")) as f:
    obj = json.load(f)
print(json.dumps(obj, sort_keys=True))
print(hashlib.sha256(b"mactux" * 1000).hexdigest())
for i in range(5):
    open(os.path.join(d, "f%d" % i), "wb").write(bytes(range(i * 10)))
print(sorted(os.listdir(d)))
print(sum(os.path.getsize(os.path.join(d, n)) for n in os.listdir(d) if n.startswith("f")))
print(sys.version_info[0], sys.platform, os.uname().sysname)
"#;

#[test]
fn python3_files_json_hashlib() {
    if !require_tool("/usr/bin/python3", "python3") {
        return;
    }
    let native_dir = ScratchDir::new("py-native");
    let emu_dir = ScratchDir::new("py-mactux");
    let run = |dir: &ScratchDir| Run::cmd(&["/usr/bin/python3", "-c", PYTHON_SCRIPT]).arg(dir.path());
    let native = run_native(&run(&native_dir));
    let emulated = run_mactux(&run(&emu_dir));
    assert!(native.is_success(), "python3 natively: {}", native.stderr_str());
    assert_same("python3 script", &native, &emulated, Compare::STDOUT_STATUS);
    assert_eq!(tree_listing(native_dir.path()), tree_listing(emu_dir.path()));
}

#[test]
fn shebang_with_interpreter_argument() {
    if !require_tool("/usr/bin/python3", "python3") {
        return;
    }
    let dir = ScratchDir::new("shebang");
    let script = dir.join("show-argv");
    write_executable(&script, b"#!/usr/bin/python3 -S\nimport sys\nprint(sys.argv)\nprint('site' in sys.modules)\n");
    let (native, _) = same_run(Run::new(&script).args(&["one", "two words"]));
    assert!(native.stdout_str().contains("'two words'"));
}

// --- busybox (static) -----------------------------------------------------------------

#[test]
fn busybox_applets() {
    if !require_tool("/bin/busybox", "busybox-static") {
        return;
    }
    let dir = ScratchDir::new("busybox");
    let f = dir.join("data.txt");
    std::fs::write(&f, SAMPLE.repeat(50)).unwrap();
    let f = f.to_str().unwrap();
    same(&["/bin/busybox", "echo", "hello", "busybox"]);
    same(&["/bin/busybox", "ls", "/"]);
    same_run(Run::cmd(&["/bin/busybox", "wc"]).stdin(SAMPLE));
    same(&["/bin/busybox", "wc", "-l", f]);
    same(&["/bin/busybox", "sha256sum", f]);
    same(&["/bin/busybox", "cat", f]);
    same(&["/bin/busybox", "seq", "1", "5"]);
    same(&["/bin/busybox", "uname", "-s"]);
    same(&["/bin/busybox", "basename", "/a/b/c"]);
}

// --- timers: timeout(1) and flock -w ---------------------------------------------------

/// coreutils `timeout` arms a POSIX timer (timer_create, SIGALRM) and kills
/// its child when it fires: 124, as natively. (Without timer_create it
/// quietly falls back to alarm(2), so the trace shows which one it used.)
#[test]
fn timeout_kills_a_slow_command() {
    let dir = ScratchDir::new("timeout");
    let log = dir.join("trace.log");
    let run = Run::cmd(&["timeout", "1", "sleep", "5"])
        .mactux_option("--trace-file")
        .mactux_option(&log)
        .timeout(std::time::Duration::from_secs(30));
    let (native, _) = same_run(run);
    assert_eq!(native.status, Termination::Exit(124));
    let trace = std::fs::read_to_string(&log).expect("--trace-file wrote no file");
    assert!(
        trace.lines().any(|l| l.starts_with("timer_create(") && l.ends_with(" = 0")),
        "timeout should arm its POSIX timer:\n{trace}"
    );
    same(&["timeout", "5", "true"]);
}

/// util-linux `script` runs the command on a new pseudo-terminal and waits
/// for it by reading SIGCHLD (with SIGWINCH, SIGTERM and others, all
/// blocked) from a signalfd polled beside the terminal: it ends, with the
/// command's status (-e), when the SIGCHLD sent by the child, another
/// process, makes the signalfd readable.
#[test]
fn script_reads_sigchld_from_a_signalfd() {
    let dir = ScratchDir::new("script");
    let log = dir.join("trace.log");
    let run = Run::cmd(&["script", "-qec", "echo hi; sleep 0.1; exit 3", "typescript"])
        .cwd(dir.path())
        .mactux_option("--trace-file")
        .mactux_option(&log)
        .timeout(std::time::Duration::from_secs(30));
    let (native, _) = same_run(run);
    assert_eq!(native.status, Termination::Exit(3));
    let trace = std::fs::read_to_string(&log).expect("--trace-file wrote no file");
    assert!(
        trace.lines().any(|l| l.starts_with("signalfd4(") && !l.contains(" = -1")),
        "script should make its signalfd:\n{trace}"
    );
}

/// util-linux `flock -w` bounds its wait with a POSIX timer (timer_create on
/// CLOCK_MONOTONIC, SIGALRM interrupting the blocked flock(2)): with the
/// lock held elsewhere it gives up with status 1; with the lock free it
/// runs the command.
#[test]
fn flock_wait_gives_up() {
    let dir = ScratchDir::new("flock");
    let path = dir.join("lockfile");
    let holder = std::fs::File::create(&path).unwrap();
    holder.lock().unwrap();
    let run = |dir: &ScratchDir| {
        Run::cmd(&["flock", "-w", "0.3", "lockfile", "-c", "echo ran"])
            .cwd(dir.path())
            .timeout(std::time::Duration::from_secs(30))
    };
    let (native, _) = same_run(run(&dir));
    assert_eq!(native.status, Termination::Exit(1));
    assert_eq!(native.stdout_str(), "");
    holder.unlock().unwrap();
    let (native, _) = same_run(run(&dir));
    assert_eq!(native.stdout_str(), "ran\n");
}

// --- inotify: tail -f and inotifywait --------------------------------------------------

/// coreutils `tail -f` follows a file with inotify: the reader appends a
/// line only after tail printed the one before, so nothing depends on
/// timing. `-s 1000` makes the polling fallback (used when inotify fails)
/// sleep far past the timeout, so the run only ends well through inotify;
/// tail exits once the reader has gone and its output pipe is closed.
#[test]
fn tail_follows_appends() {
    let dir = ScratchDir::new("tail");
    let script = "echo first > log; \
        timeout 20 tail -s 1000 -n +1 -f log | { \
            read l; echo \"got $l\"; echo second >> log; \
            read l; echo \"got $l\"; echo third >> log; \
            read l; echo \"got $l\"; }; \
        echo \"status ${PIPESTATUS[0]}\"";
    let run = Run::cmd(&["bash", "-c", script]).cwd(dir.path()).timeout(std::time::Duration::from_secs(60));
    let (native, _) = same_run(run);
    assert!(native.stdout_str().starts_with("got first\ngot second\ngot third\n"), "{}", native.stdout_str());
}

/// inotify-tools' `inotifywait` reports a creation, a modification and a
/// deletion made by another process once it says its watches are set.
#[test]
fn inotifywait_reports_changes() {
    if !require_tool("/usr/bin/inotifywait", "inotify-tools") {
        return;
    }
    let dir = ScratchDir::new("inotifywait");
    // Both runs use the same directory: each starts afresh.
    let script = "rm -rf w events ready; mkdir w; \
        inotifywait -m -e create,modify,delete,moved_to --format '%e %f' w > events 2> ready & \
        for i in $(seq 400); do grep -q established ready && break; sleep 0.05; done; \
        echo data > w/a; mv w/a w/b; rm w/b; mkdir w/d; \
        for i in $(seq 400); do grep -q 'DELETE b' events && grep -q ISDIR events && break; sleep 0.05; done; \
        kill %1; wait; cat events";
    let run = Run::cmd(&["bash", "-c", script]).cwd(dir.path()).timeout(std::time::Duration::from_secs(60));
    let (native, _) = same_run(run);
    assert_eq!(native.stdout_str(), "CREATE a\nMODIFY a\nMOVED_TO b\nDELETE b\nCREATE,ISDIR d\n");
}

// --- sqlite3 --------------------------------------------------------------------------

const SQL: &str = "\
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
INSERT INTO t(id, name, v) SELECT i, 'row' || i, i * 1.5 FROM n;
COMMIT;
SELECT count(*), sum(id), sum(v) FROM t;
SELECT id, name FROM t ORDER BY v DESC LIMIT 5;
SELECT name FROM t WHERE id % 17 = 0 ORDER BY name;
CREATE INDEX t_name ON t(name);
SELECT count(*) FROM t WHERE name > 'row5';
PRAGMA integrity_check;
";

#[test]
fn sqlite3_database() {
    if !require_tool("/usr/bin/sqlite3", "sqlite3") {
        return;
    }
    let native_dir = ScratchDir::new("sqlite-native");
    let emu_dir = ScratchDir::new("sqlite-mactux");
    let run = |dir: &ScratchDir| Run::cmd(&["sqlite3", "test.db"]).stdin(SQL).cwd(dir.path());
    let native = run_native(&run(&native_dir));
    let emulated = run_mactux(&run(&emu_dir));
    assert!(native.is_success(), "sqlite3 natively: {}", native.stderr_str());
    assert_same("sqlite3 script", &native, &emulated, Compare::ALL);
    assert!(native.stdout_str().starts_with("100|5050|7575.0\n"), "{}", native.stdout_str());
    // The database written under mactux reads back natively.
    let check = Run::cmd(&["sqlite3", "test.db", "SELECT count(*) FROM t;"]).cwd(emu_dir.path());
    assert_eq!(run_native(&check).stdout_str(), "100\n");
}

// --- files that cannot be run ---------------------------------------------------------

/// `mactux run` on something that is not runnable: the shell's status (127 missing,
/// 126 not executable), one line on stderr naming the file, never a crash.
fn assert_run_error(path: &OsStr, want_status: i32) {
    let run = Run::new(path);
    let o = run_mactux(&run);
    let name = path.to_string_lossy();
    assert_eq!(
        o.status,
        Termination::Exit(want_status),
        "mactux run {name}: want exit {want_status}; stderr: {}",
        o.stderr_str()
    );
    let err = o.stderr_str();
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "mactux run {name}: want exactly one line on stderr, got:\n{err}");
    assert!(lines[0].contains(&*name), "mactux run {name}: the error should name the file: {}", lines[0]);
    assert!(o.stdout.is_empty(), "mactux run {name}: nothing should reach stdout");
}

/// A minimal ELF header: class, machine, type ET_EXEC, and a program header table that
/// points nowhere useful. Enough for a loader to decide that it cannot run the file.
fn elf_header(class64: bool, machine: u16) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = if class64 { 2 } else { 1 };
    h[5] = 1; // little endian
    h[6] = 1; // EV_CURRENT
    h[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    h[18..20].copy_from_slice(&machine.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h
}

/// An unknown option before the program is a usage error (status 2, as
/// for every other usage error), not a program named `--bogus`; options
/// after the program are the program's.
#[test]
fn unknown_run_option_is_a_usage_error() {
    let args = ["run", "--bogus", "/bin/echo", "hi"].map(OsStr::new);
    let o = run_mactux_raw(&args, &Run::new("mactux"));
    let err = o.stderr_str();
    assert_eq!(o.status, Termination::Exit(2), "mactux run --bogus PROG: want the usage status 2; stderr: {err}");
    assert!(err.contains("'--bogus'") && err.contains("Usage: mactux run"), "the error should name the option and show the usage: {err}");
    assert!(o.stdout.is_empty(), "nothing should reach stdout: {}", o.stdout_str());
    // After PROG, options belong to the guest, `--` included.
    same(&["/bin/echo", "--bogus", "-x", "--", "y"]);
    // `--` lets a program whose name starts with `-` through as PROG.
    let o = run_mactux_raw(&["run", "--", "-no-such-program"].map(OsStr::new), &Run::new("mactux"));
    assert_eq!(o.status, Termination::Exit(127), "mactux run -- -no-such-program: {}", o.stderr_str());
}

#[test]
fn missing_program_is_127() {
    assert_run_error(OsStr::new("/nonexistent/mactux-test-program"), 127);
    assert_run_error(OsStr::new("no-such-program-for-mactux-tests"), 127);
}

#[test]
fn directory_is_126() {
    let dir = ScratchDir::new("isdir");
    assert_run_error(dir.path().as_os_str(), 126);
}

#[test]
fn unrunnable_files_are_126() {
    let dir = ScratchDir::new("noexec");
    let text = dir.join("plain-text");
    write_executable(&text, b"this is not a program\n");
    assert_run_error(text.as_os_str(), 126);

    let elf32 = dir.join("elf32-i386");
    write_executable(&elf32, &elf_header(false, 3)); // EM_386
    assert_run_error(elf32.as_os_str(), 126);

    let arm = dir.join("elf64-aarch64");
    write_executable(&arm, &elf_header(true, 183)); // EM_AARCH64
    assert_run_error(arm.as_os_str(), 126);

    let truncated = dir.join("elf-truncated");
    write_executable(&truncated, &elf_header(true, 62)[..20]); // EM_X86_64, cut short
    assert_run_error(truncated.as_os_str(), 126);

    let empty = dir.join("empty");
    write_executable(&empty, b"");
    assert_run_error(empty.as_os_str(), 126);

    let no_x = dir.join("not-executable");
    std::fs::copy("/bin/true", &no_x).unwrap();
    std::fs::set_permissions(&no_x, std::fs::Permissions::from_mode(0o644)).unwrap();
    // execve needs an x bit even for root.
    assert_run_error(no_x.as_os_str(), 126);
}

/// Program headers of a 64-bit ELF image: (offset of the header in the file, p_type).
fn program_headers(elf: &[u8]) -> Vec<(usize, u32)> {
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]);
    let phoff = u64::from_le_bytes(elf[32..40].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (usize::from(u16_at(54)), usize::from(u16_at(56)));
    (0..phnum)
        .map(|i| {
            let at = phoff + i * phentsize;
            (at, u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()))
        })
        .collect()
}

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;

/// Writes a broken copy of /bin/true and checks that mactux refuses it cleanly.
fn refuses_broken_copy(dir: &ScratchDir, name: &str, want_status: i32, corrupt: impl Fn(&mut Vec<u8>)) {
    let mut elf = std::fs::read("/bin/true").expect("read /bin/true");
    corrupt(&mut elf);
    let path = dir.join(name);
    write_executable(&path, &elf);
    assert_run_error(path.as_os_str(), want_status);
}

#[test]
fn broken_elf_images_are_refused() {
    let dir = ScratchDir::new("broken-elf");
    // PT_INTERP names a loader that does not exist: Linux's execve fails with ENOENT.
    refuses_broken_copy(&dir, "missing-interpreter", 127, |elf| {
        let (at, _) = program_headers(elf).into_iter().find(|p| p.1 == PT_INTERP).expect("dynamic /bin/true");
        let off = u64::from_le_bytes(elf[at + 8..at + 16].try_into().unwrap()) as usize;
        let len = u64::from_le_bytes(elf[at + 32..at + 40].try_into().unwrap()) as usize;
        let missing = b"/nonexistent/ld.so";
        elf[off..off + len].fill(0);
        elf[off..off + missing.len()].copy_from_slice(missing);
    });
    // The second PT_LOAD starts where the first does.
    refuses_broken_copy(&dir, "overlapping-segments", 126, |elf| {
        let loads: Vec<usize> = program_headers(elf).into_iter().filter(|p| p.1 == PT_LOAD).map(|p| p.0).collect();
        let first_vaddr: [u8; 8] = elf[loads[0] + 16..loads[0] + 24].try_into().unwrap();
        let first_offset: [u8; 8] = elf[loads[0] + 8..loads[0] + 16].try_into().unwrap();
        elf[loads[1] + 16..loads[1] + 24].copy_from_slice(&first_vaddr);
        elf[loads[1] + 8..loads[1] + 16].copy_from_slice(&first_offset);
    });
    // A segment whose file part runs far past the end of the file.
    refuses_broken_copy(&dir, "absurd-filesz", 126, |elf| {
        let (at, _) = program_headers(elf).into_iter().find(|p| p.1 == PT_LOAD).unwrap();
        elf[at + 32..at + 40].copy_from_slice(&(1u64 << 40).to_le_bytes());
        elf[at + 40..at + 48].copy_from_slice(&(1u64 << 40).to_le_bytes());
    });
    // A segment above the top of the user address space.
    refuses_broken_copy(&dir, "kernel-address", 126, |elf| {
        let (at, _) = program_headers(elf).into_iter().find(|p| p.1 == PT_LOAD).unwrap();
        elf[at + 16..at + 24].copy_from_slice(&0xffff_8000_0000_0000u64.to_le_bytes());
    });
    // The program header table lies outside the file.
    refuses_broken_copy(&dir, "phdrs-outside", 126, |elf| {
        elf[32..40].copy_from_slice(&(1u64 << 32).to_le_bytes());
    });
    // Cut off in the middle of the program header table.
    refuses_broken_copy(&dir, "truncated-phdrs", 126, |elf| elf.truncate(100));
}
