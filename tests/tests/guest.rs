//! Guest C programs (tests/guest/<area>/<behaviour>.c), built in every variant, run natively
//! and under `mactux run`: stdout and exit status (or terminating signal) must be equal.
//! `native_guest_programs_pass` checks that every program does what it expects natively,
//! so a broken test is caught before it is blamed on the runtime.

use mactux_tests::*;
use std::path::PathBuf;
use std::thread;

/// One built guest: its label, variant name, binary and expected native outcome.
type Guest = (String, &'static str, PathBuf, Termination);

/// Build every program of `area` in every variant; returns (label, variant, binary) for the
/// builds that worked, plus messages for the ones that failed and the ones skipped.
fn build_area(area: &str) -> (Vec<Guest>, Vec<String>, Vec<String>) {
    let sources = guest_sources(area);
    assert!(!sources.is_empty(), "no guest programs in tests/guest/{area}");
    let mut built = Vec::new();
    let mut failed = Vec::new();
    let mut skipped = Vec::new();
    for src in &sources {
        let expected = expected_termination(src);
        for variant in VARIANTS {
            match build_guest(variant, src) {
                Ok(Built::Binary(bin)) => built.push((guest_label(src), variant.name, bin, expected.clone())),
                Ok(Built::Skipped(why)) => {
                    if !skipped.contains(&why) {
                        skipped.push(why);
                    }
                }
                Err(e) => failed.push(format!("{} [{}]: build failed: {e}", guest_label(src), variant.name)),
            }
        }
    }
    for why in &skipped {
        eprintln!("skipped: {why}");
    }
    (built, failed, skipped)
}

/// Checks run on each variant's thread; messages of every mismatch are collected.
fn run_all<F>(area: &str, check: F)
where
    F: Fn(&str, &str, &PathBuf, &Termination) -> Vec<String> + Sync,
{
    let (built, mut failures, _) = build_area(area);
    assert!(!built.is_empty() || !failures.is_empty(), "nothing was built for area {area}");
    let results: Vec<Vec<String>> = thread::scope(|s| {
        let handles: Vec<_> = VARIANTS
            .iter()
            .map(|v| {
                let mine: Vec<_> = built.iter().filter(|b| b.1 == v.name).collect();
                let check = &check;
                s.spawn(move || {
                    let mut out = Vec::new();
                    for (label, variant, bin, expected) in mine {
                        out.extend(check(label, variant, bin, expected));
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("checker thread panicked")).collect()
    });
    failures.extend(results.into_iter().flatten());
    if !failures.is_empty() {
        let mut summary = format!("{} mismatch(es) in area `{area}`:\n", failures.len());
        for f in &failures {
            summary.push_str("\n* ");
            summary.push_str(f);
            summary.push('\n');
        }
        panic!("{summary}");
    }
}

/// Native vs mactux for one area.
/// Entries of tests/known-failures.txt: `area/program [variant]` (or `[*]`),
/// each with a reason after `#`. A listed program that fails is reported but
/// does not fail the run; a listed program that passes fails the run, so the
/// list only ever shrinks.
fn known_failures() -> Vec<(String, String)> {
    let path = workspace_root().join("tests/known-failures.txt");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (entry, reason) = l.split_once('#').unwrap_or((l, ""));
            let entry = entry.trim();
            (!entry.is_empty()).then(|| (entry.to_string(), reason.trim().to_string()))
        })
        .collect()
}

fn is_known(known: &[(String, String)], label: &str, variant: &str) -> Option<String> {
    known.iter().find_map(|(e, why)| {
        (e == &format!("{label} [{variant}]") || e == &format!("{label} [*]")).then(|| why.clone())
    })
}

fn compare_area(area: &str) {
    let _ = mactux_bin(); // fail early, with instructions, when the binary is missing
    let known = known_failures();
    run_all(area, |label, variant, bin, expected| {
        let diffs = compare_one(label, variant, bin, expected);
        match is_known(&known, label, variant) {
            Some(why) if !diffs.is_empty() => {
                eprintln!("known failure: {label} [{variant}] ({why})");
                Vec::new()
            }
            Some(_) => vec![format!("{label} [{variant}] now matches native: remove it from tests/known-failures.txt")],
            None => diffs,
        }
    });
}

fn compare_one(label: &str, variant: &str, bin: &PathBuf, expected: &Termination) -> Vec<String> {
    {
        let what = format!("{label} [{variant}]");
        let run = Run::new(bin);
        let native = run_native(&run);
        let mut diffs = Vec::new();
        if native.status != *expected {
            diffs.push(format!("{what}: the native run is broken: {} (expected {expected})", native.status));
        }
        let emulated = run_mactux(&run);
        diffs.extend(differences(&what, &native, &emulated, Compare::STDOUT_STATUS));
        diffs
    }
}

#[test]
fn native_guest_programs_pass() {
    for area in guest_areas() {
        run_all(&area, |label, variant, bin, expected| {
            let native = run_native(&Run::new(bin));
            let mut diffs = Vec::new();
            if native.status != *expected {
                diffs.push(format!(
                    "{label} [{variant}]: native run {} but the program expects {expected}\n{}{}",
                    native.status,
                    native.stdout_str(),
                    native.stderr_str()
                ));
            }
            let has_fail_line = native.stdout_str().lines().any(|l| l.starts_with("FAIL"));
            if has_fail_line && native.status == *expected {
                diffs.push(format!("{label} [{variant}]: prints FAIL lines yet ends as expected"));
            }
            diffs
        });
    }
}

#[test]
fn guest_fs() {
    compare_area("fs");
}

#[test]
fn guest_mem() {
    compare_area("mem");
}

#[test]
fn guest_time() {
    compare_area("time");
}

#[test]
fn guest_proc() {
    compare_area("proc");
}

#[test]
fn guest_tls() {
    compare_area("tls");
}

#[test]
fn guest_net() {
    compare_area("net");
}

#[test]
fn guest_procfs() {
    compare_area("procfs");
}

#[test]
fn guest_signal() {
    compare_area("signal");
}

#[test]
fn guest_threads() {
    compare_area("threads");
}

#[test]
fn guest_events() {
    compare_area("events");
}

#[test]
fn guest_ipc() {
    compare_area("ipc");
}

#[test]
fn guest_creds() {
    compare_area("creds");
}

/// A refused variant of an implemented call (here an unknown futex
/// operation, which threads/futex_pi makes twice) is reported once by name
/// under MACTUX_LOG=missing, and shown by name under --trace.
#[test]
fn refused_variants_are_reported_once() {
    let variant = &VARIANTS[0];
    let src = guest_dir().join("threads/futex_pi.c");
    let Ok(Built::Binary(bin)) = build_guest(variant, &src) else {
        eprintln!("skipped: {} does not build for {}", src.display(), variant.name);
        return;
    };
    let line = "mactux: refused futex variant: unknown futex operation (14); returned ENOSYS";
    let logged = run_mactux(&Run::new(&bin).env("MACTUX_LOG", "missing"));
    assert_eq!(logged.status, Termination::Exit(0), "{}", logged.stderr_str());
    let stderr = logged.stderr_str();
    assert_eq!(stderr.matches(line).count(), 1, "stderr:\n{stderr}");
    let traced = run_mactux(&Run::new(&bin).mactux_option("--trace"));
    let trace = traced.stderr_str();
    assert_eq!(trace.matches(line).count(), 1, "trace:\n{trace}");
    assert!(trace.contains("FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, NULL) = 0"), "trace:\n{trace}");
    assert!(trace.contains("= -1 ENOSYS (unknown futex operation)"), "trace:\n{trace}");
}

/// Every area directory has its test above (a new area must not go unnoticed).
#[test]
fn every_area_has_a_test() {
    let known = ["creds", "events", "fs", "ipc", "mem", "net", "proc", "procfs", "signal", "threads", "time", "tls"];
    for area in guest_areas() {
        assert!(known.contains(&area.as_str()), "tests/guest/{area} has no #[test] in tests/guest.rs");
    }
}
