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
