//! Linux credentials of a task (issue 10 point 1): `id` as the host user,
//! as a chosen user (`mactux run --user`, `-0`), after programs that drop
//! privileges (setpriv, runuser), and how other tasks see them (`ps`,
//! /proc/PID/status), each compared with the native run. The native side
//! of the privilege drops needs root, as the test machine runs them.

use mactux_tests::*;

fn is_root() -> bool {
    run_native(&Run::cmd(&["/usr/bin/id", "-u"])).stdout_str().trim() == "0"
}

#[test]
fn id_as_the_host_user() {
    for args in [&["/usr/bin/id"][..], &["/usr/bin/id", "-u"], &["/usr/bin/id", "-g"], &["/usr/bin/id", "-G"]] {
        check_same(&args.join(" "), &Run::cmd(args));
    }
}

/// `--user 1000:1000` runs the guest as that user and group, with no
/// supplementary groups: what `setpriv --reuid --regid --clear-groups`
/// gives natively.
#[test]
fn run_as_another_user() {
    if !is_root() || !have_program("setpriv") {
        eprintln!("skipped: needs root and setpriv natively");
        return;
    }
    let native = run_native(&Run::cmd(&["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", "/usr/bin/id"]));
    let guest = run_mactux(&Run::cmd(&["/usr/bin/id"]).mactux_option("--user").mactux_option("1000:1000"));
    assert_same("--user 1000:1000 id", &native, &guest, Compare::ALL);
    assert!(guest.stdout_str().starts_with("uid=1000"), "{}", guest.stdout_str());
    assert!(guest.stdout_str().contains(" gid=1000"), "{}", guest.stdout_str());
    let root = run_mactux(&Run::cmd(&["/usr/bin/id", "-u"]).mactux_option("-0"));
    assert_eq!(root.stdout_str(), "0\n");
    let bad = run_mactux(&Run::cmd(&["/usr/bin/id"]).mactux_option("--user").mactux_option("nobody:x"));
    assert_ne!(bad.status, Termination::Exit(0));
}

/// `--user nobody` without a root takes the host's /etc/passwd and
/// /etc/group, with the supplementary groups a login gets: what `runuser -u
/// nobody` gives natively.
#[test]
fn run_as_a_named_user() {
    if !is_root() || !have_program("runuser") {
        eprintln!("skipped: needs root and runuser natively");
        return;
    }
    let native = run_native(&Run::cmd(&["runuser", "-u", "nobody", "--", "/usr/bin/id"]));
    let guest = run_mactux(&Run::cmd(&["/usr/bin/id"]).mactux_option("--user").mactux_option("nobody"));
    assert_same("--user nobody id", &native, &guest, Compare::ALL);
    let bad = run_mactux(&Run::cmd(&["/usr/bin/id"]).mactux_option("--user").mactux_option("no-such-user-here"));
    assert_eq!(bad.status, Termination::Exit(125));
    assert!(bad.stderr_str().contains("no user `no-such-user-here` in /etc/passwd"), "{}", bad.stderr_str());
}

/// Run by host root, `--user nobody` meets root's files as nobody meets
/// them natively: they stay root's (the owner mapping of files without
/// attributes is off for a root host user), so /etc/shadow is unreadable
/// and `find -user root` finds it.
#[test]
fn host_roots_files_stay_roots_under_another_user() {
    if !is_root() || !have_program("runuser") {
        eprintln!("skipped: needs root and runuser natively");
        return;
    }
    let script = "stat -c '%u %g %a' /etc/shadow /etc/passwd; cat /etc/shadow >/dev/null 2>&1; echo read=$?; \
                  find /etc/passwd -user root; test -O /etc/passwd; echo owned=$?";
    let native = run_native(&Run::cmd(&["runuser", "-u", "nobody", "--", "/bin/sh", "-c", script]));
    let guest = run_mactux(&Run::cmd(&["/bin/sh", "-c", script]).mactux_option("--user").mactux_option("nobody"));
    assert_same("--user nobody on root's files", &native, &guest, Compare::STDOUT_STATUS);
    assert!(guest.stdout_str().contains("read=1"), "{}", guest.stdout_str());
}

/// Programs that drop root to nobody before they exec the next one.
#[test]
fn setpriv_and_runuser_drop_to_nobody() {
    if !is_root() {
        eprintln!("skipped: needs root natively");
        return;
    }
    if have_program("setpriv") {
        check_same("setpriv id", &Run::cmd(&["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/id"]));
        check_same(
            "setpriv status",
            &Run::cmd(&["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "grep", "-E", "^(Uid|Gid|Groups|Cap(Prm|Eff|Amb)):", "/proc/self/status"]),
        );
    }
    if have_program("runuser") {
        check_same("runuser id", &Run::cmd(&["runuser", "-u", "nobody", "/usr/bin/id"]));
    }
}

/// Another task's ids as `ps` and /proc/PID/status show them.
#[test]
fn ps_shows_the_ids_of_other_tasks() {
    if !is_root() || !have_program("setpriv") {
        eprintln!("skipped: needs root and setpriv natively");
        return;
    }
    let script = "setpriv --reuid=65534 --regid=65534 --clear-groups sleep 30 & \
                  for i in $(seq 100); do grep -q '^Uid:.65534' /proc/$!/status 2>/dev/null && break; sleep 0.1; done; \
                  ps -o uid,user,gid,comm -p $!; grep -E '^(Uid|Gid|CapEff):' /proc/$!/status; kill $!; wait";
    check_same("ps of a task that dropped root", &Run::cmd(&["/bin/bash", "-c", script]));
}

/// Ambient capabilities the host process starts with are the guest's (the
/// runtime asks the host only about capabilities that can be ambient:
/// permitted and inheritable ones).
#[test]
fn ambient_capabilities_of_the_host_process() {
    if !is_root() || !have_program("setpriv") {
        eprintln!("skipped: needs root and setpriv natively");
        return;
    }
    let with_ambient = ["setpriv", "--inh-caps=+net_raw", "--ambient-caps=+net_raw"];
    let status = ["grep", "-E", "^Cap(Inh|Prm|Eff|Bnd|Amb):", "/proc/self/status"];
    let native = std::process::Command::new(with_ambient[0]).args(&with_ambient[1..]).args(status).output().expect("setpriv runs natively");
    let guest = std::process::Command::new(with_ambient[0])
        .args(&with_ambient[1..])
        .arg(mactux_bin())
        .arg("run")
        .args(status)
        .output()
        .expect("setpriv runs mactux");
    let (native, guest) = (String::from_utf8_lossy(&native.stdout), String::from_utf8_lossy(&guest.stdout));
    assert!(native.contains("CapAmb:\t0000000000002000"), "natively, net_raw is ambient: {native}");
    assert_eq!(guest, native, "the guest sees the host process's capability sets");
}
