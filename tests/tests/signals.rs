//! Signals sent from outside to a program under `mactux run`, compared with
//! the same program run natively: the default action ends the process by
//! the same signal (a shell reports 130 for SIGINT, 143 for SIGTERM), and
//! handlers of real programs (bash traps, Python's signal module) run and
//! interrupt blocking calls as on Linux.

use mactux_tests::*;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long to wait for a program that prints no "ready" line to settle.
const SETTLE: Duration = Duration::from_millis(500);
const DEADLINE: Duration = Duration::from_secs(30);

/// Runs `argv` (under mactux when `emulated`), waits until it prints `ready`
/// (or for [`SETTLE`] when `wait_ready` is false), sends `sig`, and returns
/// what it printed and how it ended. Its stdin stays open throughout.
fn run_and_signal(argv: &[&str], emulated: bool, wait_ready: bool, sig: i32) -> (String, Termination) {
    let mut full: Vec<OsString> = Vec::new();
    if emulated {
        full.push(mactux_bin().into());
        full.push("run".into());
        full.push("--".into());
    }
    full.extend(argv.iter().map(OsString::from));
    let mut child = Command::new(&full[0])
        .args(&full[1..])
        .env_clear()
        .envs(fixed_env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let _stdin = child.stdin.take();
    let mut out = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut text = String::new();
    if wait_ready {
        let mut line = String::new();
        let _ = out.read_line(&mut line);
        assert_eq!(line.trim(), "ready", "{argv:?} (emulated: {emulated}) did not get ready");
        text.push_str(&line);
        // Let it reach the blocking call that follows "ready": a signal that
        // arrives before it is handled before the call starts, natively too.
        std::thread::sleep(SETTLE);
    } else {
        std::thread::sleep(SETTLE);
    }
    let pid = child.id() as libc::pid_t;
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(pid, sig) };
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            return (text, Termination::Timeout);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = out.read_to_string(&mut text);
    use std::os::unix::process::ExitStatusExt;
    let term = match (status.code(), status.signal()) {
        (Some(c), _) => Termination::Exit(c),
        (None, Some(s)) => Termination::Signal(s),
        _ => Termination::Timeout,
    };
    (text, term)
}

fn same_under_signal(argv: &[&str], wait_ready: bool, sig: i32) -> Termination {
    let native = run_and_signal(argv, false, wait_ready, sig);
    let emulated = run_and_signal(argv, true, wait_ready, sig);
    assert_eq!(native, emulated, "{argv:?} after signal {sig}: native vs mactux");
    native.1
}

#[test]
fn sigint_from_outside_kills_with_sigint() {
    let t = same_under_signal(&["sleep", "30"], false, libc::SIGINT);
    assert_eq!(t, Termination::Signal(libc::SIGINT));
}

#[test]
fn sigterm_from_outside_kills_a_program_blocked_in_read() {
    let t = same_under_signal(&["cat"], false, libc::SIGTERM);
    assert_eq!(t, Termination::Signal(libc::SIGTERM));
}

#[test]
fn bash_trap_interrupts_read() {
    let script = "trap 'echo got TERM; exit 3' TERM; echo ready; read x; echo not reached";
    let t = same_under_signal(&["bash", "-c", script], true, libc::SIGTERM);
    assert_eq!(t, Termination::Exit(3));
}

#[test]
fn python_handler_interrupts_sleep() {
    let code = "import signal, sys, time\n\
                def h(s, f):\n    print('handler', s, flush=True)\n    sys.exit(3)\n\
                signal.signal(signal.SIGUSR1, h)\n\
                print('ready', flush=True)\n\
                time.sleep(30)\n";
    let t = same_under_signal(&["python3", "-c", code], true, libc::SIGUSR1);
    assert_eq!(t, Termination::Exit(3));
}

#[test]
fn python_keyboard_interrupt() {
    let code = "import time\nprint('ready', flush=True)\ntime.sleep(30)\n";
    same_under_signal(&["python3", "-c", code], true, libc::SIGINT);
}

#[test]
fn ignored_signal_does_nothing() {
    // bash's own `read -t` times out on a timer signal of its own.
    let script = "trap '' USR1; echo ready; read -t 1 x; echo alive";
    let t = same_under_signal(&["bash", "-c", script], true, libc::SIGUSR1);
    assert_eq!(t, Termination::Exit(0));
}

/// Job control at a terminal: an interactive bash on a pseudo-terminal,
/// driven as a user would (tests/scripts/job_control.py): ^Z stops the
/// foreground job (SIGTSTP to its group, WUNTRACED), `bg` continues it
/// (SIGCONT), `kill %1` ends it (143), ^C interrupts a foreground job (130),
/// with the terminal's foreground group handed over by tcsetpgrp each time.
#[test]
fn job_control_at_a_terminal() {
    let driver = workspace_root().join("tests/scripts/job_control.py");
    let driver = driver.to_string_lossy().into_owned();
    let bin = mactux_bin();
    // An interactive bash saves its history on exit: to a scratch file, never
    // to the user's ~/.bash_history.
    let dir = ScratchDir::new("job-control");
    let (native, emulated) = (
        run_native(&Run::cmd(&["python3", &driver, "/bin/bash", "--norc", "-i"]).env("HISTFILE", dir.join("history-native"))),
        run_native(
            &Run::cmd(&["python3", &driver, &bin.to_string_lossy(), "run", "/bin/bash", "--norc", "-i"])
                .env("HISTFILE", dir.join("history-mactux")),
        ),
    );
    let expected = "^Z stopped the foreground job\njobs lists it as stopped\nbg resumed it\n\
                    kill %1 ended it with status 143\n^C interrupted the foreground job: 130\nshell exited with 0\n";
    assert_eq!(native.stdout_str(), expected, "native run: {}", native.stderr_str());
    // The steps first: a failed one prints what the terminal showed.
    assert_same("job control in bash on a pty", &native, &emulated, Compare::STDOUT_STATUS);
    for run in ["native", "mactux"] {
        let history = dir.join(format!("history-{run}"));
        assert!(history.exists(), "the {run} bash saved its history elsewhere than {}", history.display());
    }
}

/// tests/signals/clone_vm_child.c built here with gcc: a parent and a child process it
/// made with clone(CLONE_VM | SIGCHLD), which under mactux is a host thread of its
/// parent's host process.
fn clone_vm_child(dir: &ScratchDir) -> std::path::PathBuf {
    let src = workspace_root().join("tests/signals/clone_vm_child.c");
    let out = dir.join("clone_vm_child");
    let built = Command::new("gcc").args(["-O1", "-Wall", "-Wextra", "-Werror", "-o"]).arg(&out).arg(&src).output().expect("run gcc");
    assert!(built.status.success(), "clone_vm_child.c does not build:\n{}", String::from_utf8_lossy(&built.stderr));
    out
}

/// What the program printed, less its "ready PID" line (the pids differ), and how it ended.
fn without_ready_line(out: &str, end: Termination) -> (Vec<String>, Termination) {
    (out.lines().filter(|l| !l.starts_with("ready")).map(|l| l.trim_start_matches("^C").to_string()).collect(), end)
}

/// A signal sent by pid to a CLONE_VM child process reaches it and not its parent:
/// natively with kill(2), under mactux with `mactux kill` (which names the Linux process
/// in the host signal, as a task's kill(2) does). SIGKILL ends the child alone.
#[test]
fn kill_by_pid_reaches_a_clone_vm_child_not_its_parent() {
    let dir = ScratchDir::new("clone-vm-kill");
    let bin = clone_vm_child(&dir);
    for (name, sig) in [("USR1", libc::SIGUSR1), ("KILL", libc::SIGKILL)] {
        let mut runs = Vec::new();
        for emulated in [false, true] {
            let mut s = Server::start(&Run::new(&bin).cwd(dir.path()), emulated);
            let pid: i32 = s.wait_for_line(|l| l.strip_prefix("ready ").and_then(|p| p.trim().parse().ok())).expect("the child's pid");
            if emulated {
                let k = run_mactux_raw(&[OsString::from("kill").as_os_str(), OsString::from(format!("-{name}")).as_os_str(), OsString::from(pid.to_string()).as_os_str()], &Run::new("kill"));
                assert!(k.status == Termination::Exit(0), "mactux kill -{name} {pid}: {}\n{}", k.status, k.stderr_str());
            } else {
                // SAFETY: kill(2) of the live child of the program we started (it waits for it).
                assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill -{name} {pid}");
            }
            s.wait_for_line(|l| l.starts_with("parent got SIGINT").then_some(()));
            let out = s.output();
            runs.push(without_ready_line(&out, s.wait()));
        }
        assert_eq!(runs[0], runs[1], "SIG{name} to the child: native vs mactux");
        let want = if sig == libc::SIGKILL { "child killed by signal 9" } else { "child exited 11" };
        assert!(runs[0].0.iter().any(|l| l == want), "natively: {:?}", runs[0]);
    }
}

/// ^C at a terminal interrupts every process of the foreground group: the CLONE_VM child
/// process gets its own SIGINT beside its parent's (tests/scripts/pty_interrupt.py types
/// it once the child is ready).
#[test]
fn terminal_interrupt_reaches_a_clone_vm_child_and_its_parent() {
    let dir = ScratchDir::new("clone-vm-tty");
    let bin = clone_vm_child(&dir);
    let driver = workspace_root().join("tests/scripts/pty_interrupt.py");
    let (driver, bin, mactux) = (driver.to_string_lossy().into_owned(), bin.to_string_lossy().into_owned(), mactux_bin().to_string_lossy().into_owned());
    let native = run_native(&Run::cmd(&["python3", &driver, &bin]).cwd(dir.path()));
    let emulated = run_native(&Run::cmd(&["python3", &driver, &mactux, "run", &bin]).cwd(dir.path()));
    let (n, e) = (without_ready_line(&native.stdout_str(), native.status.clone()), without_ready_line(&emulated.stdout_str(), emulated.status.clone()));
    assert_eq!(n.1, Termination::Exit(0), "natively: {}", native.stdout_str());
    assert!(n.0.iter().any(|l| l == "child exited 12") && n.0.iter().any(|l| l == "parent got SIGINT: 1"), "natively: {n:?}");
    assert_eq!(n, e, "^C: native vs mactux");
}
