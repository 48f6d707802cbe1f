//! The suite's own hygiene: the check `.ci/run` makes around the whole suite
//! (scripts/host-state.sh) sees a changed mode or owner and names it.

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
