//! The suite's own hygiene: the check `.ci/run` makes around the whole suite
//! (scripts/host-state.sh) sees a changed mode or owner and names it, and the
//! binary under test panics the way a release build does.

use mactux_tests::*;
use std::process::Command;

fn host_state(args: &[&str]) -> std::process::Output {
    let script = workspace_root().join("scripts/host-state.sh");
    Command::new("bash").arg(&script).args(args).output().unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()))
}

#[test]
fn host_state_check_names_what_changed() {
    let dir = ScratchDir::new("host-state");
    let snapshot = dir.join("before");
    let snapshot = snapshot.to_str().expect("a UTF-8 scratch path");
    let out = host_state(&["snapshot", snapshot]);
    assert!(out.status.success(), "snapshot: {}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(snapshot).expect("read the snapshot");
    for path in ["/dev/null", "/dev/zero", "/tmp", "/etc", "/etc/passwd"] {
        assert!(text.lines().any(|l| l.ends_with(&format!(" {path}"))), "the snapshot lacks {path}:\n{text}");
    }

    let out = host_state(&["compare", snapshot]);
    assert!(out.status.success(), "nothing changed, yet: {}", String::from_utf8_lossy(&out.stderr));

    // A snapshot in which /dev/null had another mode: as if a test had changed it.
    let doctored: String = text
        .lines()
        .map(|l| match l.split_once(' ') {
            Some((mode, rest)) if l.ends_with(" /dev/null") => {
                let other = if mode == "666" { "622" } else { "666" };
                format!("{other} {rest}\n")
            }
            _ => format!("{l}\n"),
        })
        .collect();
    std::fs::write(snapshot, doctored).expect("write the doctored snapshot");
    let out = host_state(&["compare", snapshot]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a change must fail the check: {err}");
    assert!(err.contains("host files changed") && err.lines().filter(|l| l.ends_with(" /dev/null")).count() == 2, "{err}");

    let out = host_state(&["bogus"]);
    assert_eq!(out.status.code(), Some(2));
}

/// scripts/test.sh builds the binary under test with dependencies compiled
/// for unwinding (shared with `cargo test`) and links it with panic=abort: a
/// panic must abort as in a release build, never unwind through the trap
/// handler. A binary with the unwinding runtime imports _Unwind_RaiseException.
#[test]
fn binary_under_test_aborts_on_panic() {
    if !have_program("nm") {
        assert!(!require_all(), "nm comes with binutils (build-essential)");
        eprintln!("skipped: nm is missing");
        return;
    }
    let bin = mactux_bin();
    let out = Command::new("nm").arg("-D").arg(&bin).output().expect("run nm");
    assert!(out.status.success(), "nm -D {}: {}", bin.display(), String::from_utf8_lossy(&out.stderr));
    let symbols = String::from_utf8_lossy(&out.stdout);
    assert!(
        // `U _Unwind_RaiseException@GCC_3.0`
        !symbols.lines().any(|l| l.split_whitespace().last().and_then(|s| s.split('@').next()) == Some("_Unwind_RaiseException")),
        "{} links the unwinding panic runtime: build it with `-C panic=abort` (see scripts/test.sh)",
        bin.display()
    );
}
