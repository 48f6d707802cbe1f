//! MacTux as every Mac user runs it: started by an ordinary host user
//! (uid 65534 here, with a home, a daemon and a state directory of its
//! own; see `OrdinaryUser`), not by root as the rest of the suite is.
//! Debian's programs compared with the same user's native run, guest root
//! (`-0`) that drops its privileges again, and the host's own checks that
//! still hold underneath: guest root is never more than the host user.
//! The imported-root half (import and chown as guest root, kept in
//! attributes) is in rootfs.rs, beside its Debian fixture.

use mactux_tests::*;

/// Everyday programs, as the same user natively and under mactux.
#[test]
fn debian_programs_as_an_ordinary_user() {
    let Some(u) = OrdinaryUser::new("programs") else { return };
    let runs: [&[&str]; 4] = [
        &["/usr/bin/id"],
        &["/bin/bash", "-c", "echo \"$HOME\" | wc -c; umask; rm -rf d f; touch f && ls -ln f | cut -d' ' -f1-4; mkdir d && stat -c '%a %u %g' d"],
        &["/bin/sh", "-c", "grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb):' /proc/self/status"],
        // The host refuses what this user may not read, under mactux too.
        &["/usr/bin/python3", "-c", "import os; print(os.getuid(), os.geteuid(), os.getgroups()); open('/etc/shadow')"],
    ];
    for argv in runs {
        let (native, _) = check_same(&argv.join(" "), &u.run(Run::cmd(argv)));
        assert!(native.stdout_str().contains("65534") || argv[0] != "/usr/bin/id", "the native run is not the ordinary user's: {}", native.stdout_str());
    }
}

/// Guest root of an ordinary user: `id` says root, a privilege drop with
/// setpriv gives what it gives natively (run by root there), and files the
/// host user cannot read stay unreadable.
#[test]
fn guest_root_drops_privileges_and_stays_the_host_user() {
    let Some(u) = OrdinaryUser::new("guest-root") else { return };
    let root = run_mactux(&u.run(Run::cmd(&["/usr/bin/id"])).mactux_option("-0"));
    assert_eq!(root.stdout_str(), "uid=0(root) gid=0(root) groups=0(root)\n", "{}", root.stderr_str());
    if have_program("setpriv") {
        let drop = ["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", "/bin/sh", "-c", "id; grep -E '^(Uid|Gid|CapEff):' /proc/self/status"];
        let native = run_native(&Run::cmd(&drop));
        let guest = run_mactux(&u.run(Run::cmd(&drop)).mactux_option("-0"));
        assert_same("setpriv as guest root", &native, &guest, Compare::ALL);
    }
    let shadow = run_mactux(&u.run(Run::cmd(&["/bin/cat", "/etc/shadow"])).mactux_option("-0"));
    assert_eq!(shadow.status, Termination::Exit(1), "guest root read /etc/shadow: {}", shadow.stdout_str());
    assert!(shadow.stderr_str().contains("Permission denied"), "{}", shadow.stderr_str());
    // Nothing outside its own directories is writable either.
    let write = run_mactux(&u.run(Run::cmd(&["/bin/sh", "-c", "echo x > /etc/mactux-must-not-exist"])).mactux_option("-0"));
    assert_ne!(write.status, Termination::Exit(0));
    assert!(!std::path::Path::new("/etc/mactux-must-not-exist").exists());
}

/// What the runs below do with the files they make in a directory `d`:
/// stat, `find -user -group`, `test -O -G`, `ls -ln`, a chmod and a read
/// of a 0600 file (the permission checks see the owner stat shows), and a
/// chown to the owner stat shows. /etc/passwd is root's, natively and on
/// the host, whoever runs.
const OWN_FILES: &str = "umask 022; rm -rf d && mkdir d && cd d && touch f && echo hi > g && chmod 600 g && cat g \
     && stat -c '%n %u %g' f g . /etc/passwd && find . -user \"$1\" -group \"$1\" | sort \
     && test -O f && test -G f && echo owned && ls -ln f | cut -d' ' -f3,4 && chown \"$1:$1\" f && echo chown-same";

/// A host user's own files belong, inside, to the user the guest was
/// started as (issue 10 point 3, as proot -0 shows them): as uid 65534
/// with `-0` they are root's, as natively a file root made is, and a
/// privilege drop with setpriv does not change their owner (Linux keeps
/// a file's owner when a process changes its ids); with `--user
/// 4321:4321` they are that user's, as natively a file that user made is.
/// Files of other host users (root's /etc/passwd) are shown as they are.
#[test]
fn own_files_belong_to_the_guest_user() {
    use std::os::unix::fs::PermissionsExt;
    let Some(u) = OrdinaryUser::new("own-files") else { return };
    let native_dir = ScratchDir::new("own-files-native");
    let as_root = |run: Run| run.arg("sh").arg("root");
    let script = ["/bin/sh", "-c", OWN_FILES];
    let native = run_native(&as_root(Run::cmd(&script)).cwd(native_dir.path()));
    let guest = run_mactux(&as_root(u.run(Run::cmd(&script))).mactux_option("-0"));
    assert_same("-0: own files", &native, &guest, Compare::ALL);
    assert!(native.stdout_str().contains("f 0 0\n"), "natively root's: {}", native.stdout_str());
    if have_program("setpriv") {
        // The owner stays the run's user after the guest changed its ids.
        let drop = "umask 022; rm -rf e && mkdir e && touch e/f && setpriv --reuid=1000 --regid=1000 --clear-groups stat -c '%n %u %g' e/f e";
        check_same_as("-0 then setpriv: owners", &Run::cmd(&["/bin/sh", "-c", drop]).cwd(native_dir.path()), &u.run(Run::cmd(&["/bin/sh", "-c", drop])).mactux_option("-0"));
    }
    // Natively, the same user made them, in a directory of its own.
    // (Others may pass its scratch directory: `cd` names the whole path.)
    std::fs::set_permissions(native_dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let theirs = native_dir.join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(4321), Some(4321)).unwrap();
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o700)).unwrap();
    let as_4321 = |run: Run| run.arg("sh").arg("4321");
    let drop = ["setpriv", "--reuid=4321", "--regid=4321", "--clear-groups", "/bin/sh", "-c", OWN_FILES];
    if have_program("setpriv") {
        let native = run_native(&as_4321(Run::cmd(&drop)).cwd(&theirs));
        let guest = run_mactux(&as_4321(u.run(Run::cmd(&script))).mactux_option("--user").mactux_option("4321:4321"));
        assert_same("--user 4321:4321: own files", &native, &guest, Compare::ALL);
        assert!(native.stdout_str().contains("f 4321 4321\n"), "natively the user's: {}", native.stdout_str());
    }
}

/// Runs `native` natively and `guest` under mactux; both must match.
fn check_same_as(what: &str, native: &Run, guest: &Run) {
    assert_same(what, &run_native(native), &run_mactux(guest), Compare::ALL);
}
