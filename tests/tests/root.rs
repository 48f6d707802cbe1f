//! `--root` holds against a guest that races its own path lookups
//! (tests/robust/root_race.c): a directory swapped for a symlink to a host
//! directory outside the root, while every kind of path call goes through
//! it. Nothing outside the root may be read, written, created or removed.

use mactux_tests::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Rounds of calls per symlink target; each round is about 40 path calls.
const ROUNDS: &str = "1500";

/// Everything about a tree that a call could change: type, mode, owner,
/// size, times, contents and link targets, one line per entry.
fn snapshot(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, p: &Path, out: &mut Vec<String>) {
        let Ok(m) = std::fs::symlink_metadata(p) else { return };
        let rel = p.strip_prefix(base).unwrap_or(p).display().to_string();
        let mut line = format!(
            "{rel:?} mode={:o} uid={} gid={} size={} mtime={}.{} atime-unchanged-not-checked",
            m.mode(),
            m.uid(),
            m.gid(),
            m.size(),
            m.mtime(),
            m.mtime_nsec()
        );
        if m.file_type().is_symlink() {
            line.push_str(&format!(" -> {:?}", std::fs::read_link(p).unwrap_or_default()));
        } else if m.is_file() {
            line.push_str(&format!(" data={:?}", String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default())));
        }
        out.push(line);
        if m.is_dir() {
            let mut names: Vec<PathBuf> =
                std::fs::read_dir(p).map(|rd| rd.flatten().map(|e| e.path()).collect()).unwrap_or_default();
            names.sort();
            for n in names {
                walk(base, &n, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn a_guest_racing_its_lookups_stays_inside_its_root() {
    let Some(racer) = build_robust("gcc", "build-essential", "root_race.c", "root_race") else { return };
    let scratch = ScratchDir::new("root-race");
    let root = scratch.join("root");
    let outside = scratch.join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(outside.join("doomed-dir")).unwrap();
    let big = format!("OUTSIDE secret\n{}", "-".repeat(4096));
    for name in ["secret", "victim", "doomed", "outside-only"] {
        std::fs::write(outside.join(name), &big).unwrap();
        std::fs::set_permissions(outside.join(name), std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    std::os::unix::fs::symlink("OUTSIDE-LINK", outside.join("lnk")).unwrap();
    std::fs::copy(&racer, outside.join("prog")).unwrap();
    std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o751)).unwrap();
    std::fs::copy(&racer, root.join("root_race")).unwrap();
    let before = snapshot(&outside);

    let run = Run::new("/root_race")
        .arg(&outside)
        .arg(ROUNDS)
        .mactux_option("--root")
        .mactux_option(&root)
        .cwd(&root);
    let o = run_mactux(&run);
    let after = snapshot(&outside);
    let stdout = o.stdout_str();
    assert_eq!(
        o.status,
        Termination::Exit(0),
        "the racing guest did not run to its end; stdout:\n{stdout}\nstderr:\n{}",
        o.stderr_str()
    );
    assert!(
        stdout.ends_with("escapes: 0\n") && !stdout.contains("ESCAPE"),
        "the guest saw files outside its root:\n{}",
        stdout.lines().take(40).collect::<Vec<_>>().join("\n")
    );
    let changed: Vec<String> = before
        .iter()
        .filter(|l| !after.contains(l))
        .map(|l| format!("- {l}"))
        .chain(after.iter().filter(|l| !before.contains(l)).map(|l| format!("+ {l}")))
        .collect();
    assert!(changed.is_empty(), "the guest changed files outside its root:\n{}", changed.join("\n"));
    let mut top: Vec<String> =
        std::fs::read_dir(scratch.path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    top.sort();
    assert_eq!(top, ["outside", "root"], "the guest created files beside its root");
}
