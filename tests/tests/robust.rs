//! Hostile guests: random system calls with bad pointers, absurd lengths,
//! unknown flags and commands (tests/robust/sysfuzz.c) must never make the
//! runtime panic, crash or hang. Outcomes of single calls are not compared
//! with Linux here (the guest tests do that); what is judged is that every
//! run ends as it ends natively, with status 0, and that the daemon still
//! answers afterwards.

use mactux_tests::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Seeds per variant, and calls per run: about 1 s natively per run.
const SEEDS: u64 = 6;
const CALLS: &str = "3000";

fn build(compiler: &str, package: &str, name: &str) -> Option<PathBuf> {
    if !have_program(compiler) {
        let msg = format!("`{compiler}` is missing (Debian package {package}; scripts/install-test-deps.sh installs it)");
        assert!(!require_all(), "{msg}");
        eprintln!("skipped: {msg}");
        return None;
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("robust/sysfuzz.c");
    let dir = workspace_root().join("target/robust");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let out = dir.join(name);
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    let result = Command::new(compiler)
        .args(["-static", "-O1", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&tmp)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
    assert!(result.status.success(), "sysfuzz.c does not compile with {compiler}:\n{}", String::from_utf8_lossy(&result.stderr));
    std::fs::rename(&tmp, &out).unwrap_or_else(|e| panic!("cannot rename to {}: {e}", out.display()));
    Some(out)
}

fn fuzz(bin: &Path) {
    for seed in 1..=SEEDS {
        let seed = seed.to_string();
        let native_dir = ScratchDir::new("sysfuzz-native");
        let run = Run::new(bin).args(&[seed.as_str(), CALLS]);
        let native = run_native(&run.clone().cwd(native_dir.path()));
        assert_eq!(
            native.status,
            Termination::Exit(0),
            "sysfuzz seed {seed} fails natively, so the fuzzer itself is at fault: {}",
            native.stderr_str()
        );
        let dir = ScratchDir::new("sysfuzz");
        let emulated = run_mactux(&run.cwd(dir.path()));
        let err = emulated.stderr_str();
        assert!(
            emulated.status == Termination::Exit(0) && !err.contains("panicked"),
            "sysfuzz seed {seed} under mactux ended with {:?} (natively: exit 0); reproduce with \
             `SYSFUZZ_LOG=/tmp/calls mactux run {} {seed} {CALLS} </dev/null >/dev/null` in an empty directory. stderr:\n{}",
            emulated.status,
            bin.display(),
            err.chars().take(4000).collect::<String>()
        );
    }
    let ps = run_mactux_raw(&[std::ffi::OsStr::new("ps")], &Run::new("ps"));
    assert_eq!(ps.status, Termination::Exit(0), "the daemon does not answer after the fuzz runs: {}", ps.stderr_str());
}

#[test]
fn random_syscalls_glibc() {
    if let Some(bin) = build("gcc", "build-essential", "sysfuzz-glibc") {
        fuzz(&bin);
    }
}

#[test]
fn random_syscalls_musl() {
    if let Some(bin) = build("musl-gcc", "musl-tools", "sysfuzz-musl") {
        fuzz(&bin);
    }
}
