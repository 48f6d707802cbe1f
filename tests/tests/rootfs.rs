//! `mactux rootfs import/list/remove` and `mactux run --root NAME`, with a
//! small Debian root built here from the machine's own package sources
//! (`apt-get download` + `dpkg -x`, no root privileges needed for either),
//! packed as .tar.gz, .tar.xz and .tar.zst, and as a `docker save` and an
//! OCI image layout of two layers with whiteouts. Then archives that must
//! be refused: truncated, `../` members, a symlink pointing out followed by
//! a file written through it, an existing name, a directory holding files.
//!
//! Every test has a `MACTUX_HOME` of its own in a scratch directory; the
//! downloaded .debs stay in the fixture's scratch directory.

use mactux_tests::*;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// What `bash -c`, `ls -l /`, `id`, `cat`, `dpkg -l`, `apt-get --version`,
/// `su` (util-linux, with PAM), `find` and `sudo` need in bookworm.
const PACKAGES: &[&str] = &[
    "base-files", "libc6", "bash", "dash", "coreutils", "libtinfo6", "libselinux1", "libpcre2-8-0", "libacl1", "libattr1",
    "libgmp10", "libcap2", "dpkg", "zlib1g", "liblzma5", "libzstd1", "libbz2-1.0", "libmd0", "tar", "grep", "sed",
    "apt", "libapt-pkg6.0", "libstdc++6", "libgcc-s1", "libgcrypt20", "libgpg-error0", "liblz4-1", "libsystemd0",
    "libudev1", "libxxhash0", "util-linux", "login", "libpam0g", "libpam-modules", "libpam-modules-bin", "libpam-runtime",
    "libaudit1", "libaudit-common", "libcap-ng0", "libcrypt1", "libdb5.3", "libnsl2", "libtirpc3", "libtirpc-common",
    "libgssapi-krb5-2", "libkrb5-3", "libk5crypto3", "libkrb5support0", "libcom-err2", "libkeyutils1", "libssl3",
    "libblkid1", "libmount1", "libsmartcols1", "libuuid1", "findutils", "sudo",
];

struct Fixture {
    dir: PathBuf,
    /// The staging tree and its plain tarball.
    tar: PathBuf,
    debian_version: String,
}

fn sh(cmd: &str, dir: &Path) {
    let out = Command::new("/bin/sh").arg("-ec").arg(cmd).current_dir(dir).output().expect("run /bin/sh");
    assert!(out.status.success(), "`{cmd}` failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

static FIXTURE_DIR: OnceLock<ScratchDir> = OnceLock::new();

extern "C" fn remove_fixture() {
    if let Some(d) = FIXTURE_DIR.get() {
        let _ = std::fs::remove_dir_all(d.path());
    }
}

/// Builds the Debian tree and its archives once for all tests of this file;
/// `None` (skip) when apt cannot download, unless MACTUX_REQUIRE_ALL.
fn fixture() -> Option<&'static Fixture> {
    static F: OnceLock<Option<Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        for (tool, pkg) in [("/usr/bin/apt-get", "apt"), ("/usr/bin/dpkg-deb", "dpkg"), ("/usr/bin/python3", "python3"), ("/usr/bin/zstd", "zstd"), ("/usr/bin/xz", "xz-utils")] {
            if !require_tool(tool, pkg) {
                return None;
            }
        }
        // A static is never dropped: the scratch directory is removed when
        // the test binary exits instead.
        let scratch = ScratchDir::new("rootfs");
        let dir = scratch.path().to_path_buf();
        let _ = FIXTURE_DIR.set(scratch);
        // SAFETY: registers a plain function without arguments.
        unsafe { libc::atexit(remove_fixture) };
        let debs = dir.join("debs");
        std::fs::create_dir(&debs).unwrap();
        let out = Command::new("apt-get").arg("download").args(PACKAGES).current_dir(&debs).output().expect("run apt-get");
        if !out.status.success() {
            let msg = format!("apt-get download failed (no package lists? run apt-get update): {}", String::from_utf8_lossy(&out.stderr));
            if require_all() {
                panic!("{msg}");
            }
            eprintln!("skipped: {msg}");
            return None;
        }
        // Unpack each package, and write dpkg's status file from the
        // packages' own control fields so `dpkg -l` lists them.
        sh(
            r##"mkdir -p root/var/lib/dpkg/info root/var/lib/dpkg/updates root/etc root/tmp root/root root/opt/app
               : > root/var/lib/dpkg/available
               for d in debs/*.deb; do
                   dpkg-deb -x "$d" root
                   dpkg-deb -f "$d" | sed '1a Status: install ok installed' >> root/var/lib/dpkg/status
                   echo >> root/var/lib/dpkg/status
               done
               printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > root/etc/passwd
               printf 'root:x:0:\nshadow:x:42:\nnogroup:x:65534:\n' > root/etc/group
               printf 'root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n' > root/etc/shadow
               chmod 640 root/etc/shadow
               # What pam-auth-update writes when libpam-runtime is configured.
               printf 'auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\nauth required pam_permit.so\n' > root/etc/pam.d/common-auth
               printf 'account [success=1 new_authtok_reqd=done default=ignore] pam_unix.so\naccount requisite pam_deny.so\naccount required pam_permit.so\n' > root/etc/pam.d/common-account
               printf 'password [success=1 default=ignore] pam_unix.so obscure yescrypt\npassword requisite pam_deny.so\npassword required pam_permit.so\n' > root/etc/pam.d/common-password
               printf 'session [default=1] pam_permit.so\nsession requisite pam_deny.so\nsession required pam_permit.so\nsession required pam_unix.so\n' > root/etc/pam.d/common-session
               cp root/etc/pam.d/common-session root/etc/pam.d/common-session-noninteractive
               # The mode sudo's postinst gives it.
               chmod 440 root/etc/sudoers
               echo lower-a > root/opt/app/a; echo lower-b > root/opt/app/b; echo doomed > root/etc/gone
               tar -C root --numeric-owner --owner=0 --group=0 -cf debian.tar .
               gzip -1 -c debian.tar > debian.tar.gz
               xz -1 -T0 -c debian.tar > debian.tar.xz
               zstd -q -1 -c debian.tar > debian.tar.zst"##,
            &dir,
        );
        let debian_version = std::fs::read_to_string(dir.join("root/etc/debian_version")).unwrap();
        Some(Fixture { tar: dir.join("debian.tar"), dir, debian_version })
    })
    .as_ref()
}

/// A `MACTUX_HOME` of one test's own.
struct Home {
    scratch: ScratchDir,
}

impl Home {
    fn new(tag: &str) -> Home {
        Home { scratch: ScratchDir::new(tag) }
    }
    fn home(&self) -> PathBuf {
        self.scratch.join("home")
    }
    fn roots(&self) -> PathBuf {
        self.home().join("roots")
    }
    fn mactux(&self, args: &[&str]) -> Outcome {
        let a: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        run_mactux_raw(&a, &Run::new("mactux").env("MACTUX_HOME", self.home()).timeout(std::time::Duration::from_secs(120)))
    }
    fn import(&self, file: &Path, name: &str) -> Outcome {
        self.mactux(&["rootfs", "import", file.to_str().unwrap(), "--name", name])
    }
    fn run_in(&self, name: &str, argv: &[&str]) -> Outcome {
        run_mactux(&Run::cmd(argv).env("MACTUX_HOME", self.home()).mactux_option("--root").mactux_option(name))
    }
    /// Everything in roots/ (hidden scratch directories included).
    fn roots_listing(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.roots())
            .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }
}

fn ok(what: &str, o: &Outcome) -> String {
    assert_eq!(o.status, Termination::Exit(0), "{what}: stdout {}\nstderr {}", o.stdout_str(), o.stderr_str());
    o.stdout_str()
}

fn refused(what: &str, o: &Outcome, needle: &str) {
    assert_ne!(o.status, Termination::Exit(0), "{what} must fail: {}", o.stderr_str());
    assert!(o.stderr_str().contains(needle), "{what}: the error should mention {needle:?}: {}", o.stderr_str());
}

/// The programs the issue names, inside the imported root.
fn check_debian(h: &Home, name: &str, f: &Fixture) {
    assert_eq!(ok("bash -c", &h.run_in(name, &["/bin/bash", "-c", "echo ok"])), "ok\n");
    assert_eq!(ok("cat", &h.run_in(name, &["/bin/cat", "/etc/debian_version"])), f.debian_version);
    let ls = ok("ls /", &h.run_in(name, &["/bin/ls", "/"]));
    for d in ["bin", "etc", "lib", "usr", "var"] {
        assert!(ls.lines().any(|l| l == d), "ls / lacks {d}: {ls}");
    }
    let ls_l = ok("ls -l /", &h.run_in(name, &["/bin/ls", "-l", "/"]));
    assert!(ls_l.lines().any(|l| l.starts_with('d') && l.ends_with(" etc")), "ls -l /: {ls_l}");
    assert!(ok("id", &h.run_in(name, &["/usr/bin/id"])).starts_with("uid="));
    // As root inside (`-0`), named by the root's own /etc/passwd.
    let root_id = run_mactux(&Run::cmd(&["/usr/bin/id"]).env("MACTUX_HOME", h.home()).mactux_option("-0").mactux_option("--root").mactux_option(name));
    assert_eq!(ok("-0 id", &root_id), "uid=0(root) gid=0(root) groups=0(root)\n");
    // su through PAM (pam_rootok, pam_unix and its unix_chkpwd helper):
    // root becomes nobody, as `su` does on Debian.
    let su = run_mactux(
        &Run::cmd(&["/bin/su", "nobody", "-s", "/bin/sh", "-c", "id"]).env("MACTUX_HOME", h.home()).mactux_option("-0").mactux_option("--root").mactux_option(name),
    );
    assert_eq!(ok("-0 su nobody", &su), "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n");
    // A login shell reads base-files' /etc/profile.
    assert_eq!(ok("bash -lc", &h.run_in(name, &["/bin/bash", "-lc", "echo \"$PATH\" | grep -c /usr/bin"])), "1\n");
    assert!(ok("apt-get --version", &h.run_in(name, &["/usr/bin/apt-get", "--version"])).starts_with("apt "));
    let dpkg = ok("dpkg -l", &h.run_in(name, &["/bin/bash", "-c", "dpkg -l | grep '^ii  bash '"]));
    assert!(dpkg.contains("bash"), "dpkg -l: {dpkg}");
    // The host's resolver configuration, as a file of its own.
    let resolv = h.roots().join(name).join("etc/resolv.conf");
    if Path::new("/etc/resolv.conf").exists() {
        assert!(std::fs::symlink_metadata(&resolv).unwrap().is_file());
        assert_eq!(std::fs::read(&resolv).unwrap(), std::fs::read("/etc/resolv.conf").unwrap());
    }
}

#[test]
fn compressed_debian_roots_import_and_run() {
    let Some(f) = fixture() else { return };
    let h = Home::new("rootfs-compressed");
    for ext in ["tar.gz", "tar.xz", "tar.zst"] {
        let name = format!("deb-{}", ext.replace('.', "-"));
        // A name that says nothing: the format comes from the magic bytes.
        let file = f.dir.join(format!("{name}.archive"));
        std::fs::copy(f.dir.join(format!("debian.{ext}")), &file).unwrap();
        let out = h.import(&file, &name);
        ok(&format!("import {ext}"), &out);
        assert!(out.stderr_str().contains(&format!("imported '{name}'")), "no summary line: {}", out.stderr_str());
        check_debian(&h, &name, f);
    }
    let list = ok("rootfs list", &h.mactux(&["rootfs", "list"]));
    for name in ["deb-tar-gz", "deb-tar-xz", "deb-tar-zst"] {
        let line = list.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("list lacks {name}: {list}"));
        assert!(line.contains("MiB"), "no size: {line}");
        assert!(line.contains("20"), "no date: {line}");
    }
    // remove, and names with a '/' are refused.
    refused("remove ../x", &h.mactux(&["rootfs", "remove", "../deb-tar-gz"]), "not a root name");
    ok("remove", &h.mactux(&["rootfs", "remove", "deb-tar-gz"]));
    assert!(!h.roots().join("deb-tar-gz").exists());
    assert!(!h.roots_listing().iter().any(|n| n.contains("deb-tar-gz")), "{:?}", h.roots_listing());
    refused("run in a removed root", &h.run_in("deb-tar-gz", &["/bin/true"]), "neither a directory nor an imported root");
}

#[test]
fn plain_tar_keeps_owners_modes_and_devices_in_xattrs() {
    let Some(f) = fixture() else { return };
    let h = Home::new("rootfs-meta");
    // The Debian tree plus what an ordinary user cannot create: a device
    // node, a FIFO, a set-uid root program, a hard link and an xattr.
    let extra = f.dir.join("meta.tar");
    python(
        &format!(
            r##"
import tarfile, io, shutil
shutil.copy({tar:?}, {out:?})
t = tarfile.open({out:?}, "a", format=tarfile.PAX_FORMAT)
def add(name, type, mode, data=b"", **kw):
    i = tarfile.TarInfo(name); i.type = type; i.mode = mode; i.uid = kw.get("uid", 0); i.gid = kw.get("gid", 0)
    i.devmajor = kw.get("major", 0); i.devminor = kw.get("minor", 0); i.linkname = kw.get("link", "")
    i.pax_headers = kw.get("pax", {{}}); i.size = len(data)
    t.addfile(i, io.BytesIO(data) if data else None)
add("./dev/null", tarfile.CHRTYPE, 0o666, major=1, minor=3)
add("./dev/initctl", tarfile.FIFOTYPE, 0o600)
add("./srv/tty0", tarfile.CHRTYPE, 0o620, major=4, minor=0, gid=5)
add("./srv/fifo", tarfile.FIFOTYPE, 0o640, uid=7, gid=7)
add("./usr/bin/suid", tarfile.REGTYPE, 0o4755, b"#!/bin/sh\necho suid\n", uid=0, gid=50)
add("./usr/bin/suid-link", tarfile.LNKTYPE, 0o4755, link="./usr/bin/suid")
add("./usr/bin/cap", tarfile.REGTYPE, 0o755, b"x", pax={{"SCHILY.xattr.security.capability": "\x01\x00\x00\x02"}})
add("/abs/file", tarfile.REGTYPE, 0o644, b"inside\n")
t.close()
"##,
            tar = f.tar,
            out = extra
        ),
        &f.dir,
    );
    let out = h.import(&extra, "meta");
    ok("import tar", &out);
    // GNU tar's rule for absolute names: the leading '/' goes, with a note.
    assert!(out.stderr_str().contains("removing leading '/'"), "{}", out.stderr_str());
    let root = h.roots().join("meta");
    assert_eq!(std::fs::read_to_string(root.join("abs/file")).unwrap(), "inside\n");
    assert!(!Path::new("/abs/file").exists());
    check_debian(&h, "meta", f);

    let get = |p: &str, n: &str| {
        xattr::get(root.join(p), format!("user.mactux.{n}")).unwrap().map(|v| String::from_utf8_lossy(&v).into_owned())
    };
    assert_eq!(get("dev/null", "mode").as_deref(), Some("20666"));
    assert_eq!(get("dev/null", "rdev").as_deref(), Some("1:3"));
    assert!(std::fs::symlink_metadata(root.join("dev/null")).unwrap().is_file());
    assert_eq!(get("dev/initctl", "mode").as_deref(), Some("10600"));
    assert_eq!(get("usr/bin/suid", "mode").as_deref(), Some("104755"));
    assert_eq!(get("usr/bin/suid", "uid").as_deref(), Some("0"));
    assert_eq!(get("usr/bin/suid", "gid").as_deref(), Some("50"));
    assert_eq!(get("etc/debian_version", "mode").as_deref(), Some("100644"));
    assert_eq!(get("usr/bin/cap", "xattr.security.capability").as_deref(), Some("\x01\x00\x00\x02"));
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (std::fs::metadata(root.join("usr/bin/suid")).unwrap(), std::fs::metadata(root.join("usr/bin/suid-link")).unwrap());
    assert_eq!(a.ino(), b.ino(), "the hard link is one inode");
    // The host file keeps no set-id bit; its owner can read and write it.
    assert_eq!(a.mode() & 0o7777, 0o755);
    assert_eq!(ok("suid", &h.run_in("meta", &["/usr/bin/suid"])), "suid\n");
    // Inside the root, stat shows the archive's owners, modes and device
    // numbers (vfs/meta.rs), not the host file's: the host has owner 0,
    // group 0, mode 0755 or 0644 and plain files there. (The guest's /dev
    // is the runtime's own, so the nodes are looked at under /srv.)
    let shown = ok(
        "stat inside the root",
        &h.run_in("meta", &["/usr/bin/stat", "-c", "%n %a %u %g %F %t:%T", "/srv/tty0", "/srv/fifo", "/usr/bin/suid", "/usr/bin/suid-link"]),
    );
    assert_eq!(
        shown,
        "/srv/tty0 620 0 5 character special file 4:0\n/srv/fifo 640 7 7 fifo 0:0\n/usr/bin/suid 4755 0 50 regular file 0:0\n/usr/bin/suid-link 4755 0 50 regular file 0:0\n"
    );
    // getdents says the stored type too (find -type trusts d_type).
    // getdents says the stored type too (what `find -type` trusts): a
    // static lister, built here and put into the root, prints d_type.
    let lister = f.dir.join("dtypes.c");
    std::fs::write(
        &lister,
        "#include <dirent.h>\n#include <stdio.h>\n#include <string.h>\nint main(int c, char **v) { DIR *d = opendir(v[1]); struct dirent *e; \
         if (!d) return 1; while ((e = readdir(d))) if (e->d_name[0] != '.') printf(\"%s %d\\n\", e->d_name, e->d_type); return 0; }\n",
    )
    .unwrap();
    let built = Command::new("cc").args(["-static", "-O2", "-o"]).arg(root.join("dtypes")).arg(&lister).status().expect("run cc");
    assert!(built.success(), "cc of the d_type lister");
    let mut types: Vec<String> = ok("d_type inside the root", &h.run_in("meta", &["/dtypes", "/srv"])).lines().map(String::from).collect();
    types.sort();
    assert_eq!(types, ["fifo 1", "tty0 2"]);
    // The archive's own attributes are the guest's: security.capability
    // reads back, a user attribute set inside is stored beside it, the
    // runtime's own are hidden, a stored FIFO takes no user attribute and
    // POSIX ACLs are not kept (syscall/xattr.rs).
    let checker = f.dir.join("xattrs.c");
    std::fs::write(
        &checker,
        r#"#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
static int has(const char *l, ssize_t n, const char *name) { for (ssize_t i = 0; i < n; i += strlen(l + i) + 1) if (!strcmp(l + i, name)) return 1; return 0; }
static void names(const char *p) { char l[512]; ssize_t n = listxattr(p, l, sizeof l);
  printf("list %zd cap %d note %d\n", n, has(l, n, "security.capability"), has(l, n, "user.note")); }
static void fails(const char *what, long r) { int e = errno; printf("%s %ld %d\n", what, r, e); }
int main(void) { unsigned char b[64]; ssize_t n = getxattr("/usr/bin/cap", "security.capability", b, sizeof b);
  printf("cap %zd %02x%02x%02x%02x\n", n, b[0], b[1], b[2], b[3]);
  printf("set %d\n", setxattr("/usr/bin/cap", "user.note", "hi", 2, 0)); names("/usr/bin/cap");
  n = getxattr("/usr/bin/cap", "user.note", b, sizeof b); printf("note %zd %.2s\n", n, b);
  fails("hidden", getxattr("/usr/bin/cap", "user.mactux.uid", b, sizeof b));
  fails("fifo", setxattr("/srv/fifo", "user.note", "x", 1, 0));
  fails("acl", getxattr("/usr/bin/cap", "system.posix_acl_access", b, sizeof b));
  printf("remove %d\n", removexattr("/usr/bin/cap", "user.note")); names("/usr/bin/cap"); return 0; }
"#,
    )
    .unwrap();
    let built = Command::new("cc").args(["-static", "-O2", "-o"]).arg(root.join("xattrs")).arg(&checker).status().expect("run cc");
    assert!(built.success(), "cc of the xattr checker");
    let shown = ok("xattrs inside the root", &h.run_in("meta", &["/xattrs"]));
    assert_eq!(
        shown,
        format!(
            "cap 4 01000002\nset 0\nlist 30 cap 1 note 1\nnote 2 hi\nhidden -1 {}\nfifo -1 {}\nacl -1 {}\nremove 0\nlist 20 cap 1 note 0\n",
            libc::ENODATA,
            libc::EPERM,
            libc::EOPNOTSUPP
        )
    );
    // The same through an open file (fstat), as `stat -L` of /dev/stdin does.
    let fstat = ok("fstat inside the root", &h.run_in("meta", &["/bin/sh", "-c", "exec 3</usr/bin/suid; /usr/bin/stat -L -c '%a %g' /proc/self/fd/3"]));
    assert_eq!(fstat, "4755 50\n");
    // chmod and chown change the stored metadata, by Linux's rules: a
    // chown drops the set-user-id bit of a file.
    let changed = ok(
        "chmod and chown inside the root",
        &h.run_in(
            "meta",
            &[
                "/bin/sh",
                "-c",
                "chmod 2750 /usr/bin/suid && stat -c '%a %g' /usr/bin/suid && chown 3:4 /srv/fifo && stat -c '%u %g %a %F' /srv/fifo \
                 && chmod 4755 /usr/bin/suid && chown 0 /usr/bin/suid && stat -c '%a' /usr/bin/suid",
            ],
        ),
    );
    assert_eq!(changed, "2750 50\n3 4 640 fifo\n755\n");
    // The host file keeps its host owner and the plain permission bits.
    assert_eq!(std::fs::metadata(root.join("usr/bin/suid")).unwrap().mode() & 0o7777, 0o755);
    // Only the owner may chmod, only a privileged task may chown.
    let denied = run_mactux(
        &Run::cmd(&["/bin/sh", "-c", "chmod 777 /srv/fifo; echo $?; chown 1000 /srv/fifo; echo $?; stat -c '%u %a' /srv/fifo"])
            .env("MACTUX_HOME", h.home())
            .mactux_option("--root")
            .mactux_option("meta")
            .mactux_option("--user")
            .mactux_option("1000:1000"),
    );
    assert_eq!(denied.stdout_str(), "1\n1\n3 640\n", "{}", denied.stderr_str());
    assert!(denied.stderr_str().contains("Operation not permitted"), "{}", denied.stderr_str());
    // What the guest makes there gets metadata too: its owner, and a device
    // node made by mknod.
    let made = ok(
        "mkdir, create and mknod inside the root",
        &h.run_in(
            "meta",
            &[
                "/bin/sh",
                "-c",
                "umask 022 && mkdir /etc/newdir && : > /etc/newdir/f && chown 3:4 /etc/newdir/f && mknod /etc/newdir/null2 c 1 3 \
                 && stat -c '%n %u %g %a %F %t:%T' /etc/newdir /etc/newdir/f /etc/newdir/null2",
            ],
        ),
    );
    assert_eq!(
        made,
        "/etc/newdir 0 0 755 directory 0:0\n/etc/newdir/f 3 4 644 regular empty file 0:0\n/etc/newdir/null2 0 0 644 character special file 1:3\n"
    );
    // Another user may not make a name in root's 0755 directory (EACCES,
    // the stored mode decides), nor a device node anywhere (EPERM, no
    // CAP_MKNOD), as vfs_mknod checks in that order.
    ok("a world-writable directory", &h.run_in("meta", &["/bin/sh", "-c", "mkdir -m 1777 /etc/newdir/pub"]));
    let no_mknod = run_mactux(
        &Run::cmd(&["/bin/sh", "-c", "mknod /etc/newdir/null3 c 1 3; mknod /etc/newdir/pub/null3 c 1 3"])
            .env("MACTUX_HOME", h.home())
            .mactux_option("--root")
            .mactux_option("meta")
            .mactux_option("--user")
            .mactux_option("1000:1000"),
    );
    let stderr = no_mknod.stderr_str();
    assert!(stderr.contains("/etc/newdir/null3: Permission denied"), "{stderr}");
    assert!(stderr.contains("/etc/newdir/pub/null3: Operation not permitted"), "{stderr}");
    assert!(!root.join("etc/newdir/null3").exists() && !root.join("etc/newdir/pub/null3").exists());
}

/// A static program for the tiny root below: `devs` opens each path and
/// reads and writes it (after a mknod of /srv/made, c 1:5); `open` opens
/// each path for reading; `ids` prints the real ids and groups.
const PROBE_C: &str = r#"#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
static void dev(const char *p) {
    int fd = open(p, O_RDWR);
    if (fd < 0) { printf("%s: open %s\n", p, strerror(errno)); return; }
    char buf[8]; memset(buf, 'x', sizeof buf);
    ssize_t r = read(fd, buf, sizeof buf);
    int zeros = 0; for (int i = 0; i < 8; i++) zeros += buf[i] == 0;
    ssize_t w = write(fd, "abc", 3);
    printf("%s: read %zd allzero %s write %s\n", p, r, zeros == 8 ? "yes" : "no", w < 0 ? strerror(errno) : "ok");
    close(fd);
}
int main(int c, char **v) {
    if (c > 1 && !strcmp(v[1], "devs")) {
        if (mknod("/srv/made", S_IFCHR | 0666, makedev(1, 5)) != 0) printf("mknod %s\n", strerror(errno));
        for (int i = 2; i < c; i++) dev(v[i]);
        dev("/srv/made");
    } else if (c > 1 && !strcmp(v[1], "open")) {
        for (int i = 2; i < c; i++) { int fd = open(v[i], O_RDONLY); printf("%s: %s\n", v[i], fd < 0 ? strerror(errno) : "ok"); }
    } else if (c > 1 && !strcmp(v[1], "ids")) {
        gid_t g[64]; int n = getgroups(64, g);
        printf("uid %u gid %u groups", getuid(), getgid());
        for (int i = 0; i < n; i++) printf(" %u", g[i]);
        printf("\n");
    }
    return 0;
}
"#;

/// An imported root of one static program (no Debian, so it takes well
/// under a second): its stored device nodes, its stored owners and modes,
/// its /etc/passwd and /etc/group.
fn tiny_root(h: &Home) -> Option<()> {
    if !require_tool("/usr/bin/python3", "python3") || !have_program("cc") {
        return None;
    }
    let src = h.scratch.join("probe.c");
    std::fs::write(&src, PROBE_C).unwrap();
    let probe = h.scratch.join("probe");
    let built = Command::new("cc").args(["-static", "-O2", "-o"]).arg(&probe).arg(&src).status().expect("run cc");
    assert!(built.success(), "cc of the probe");
    let tar = h.scratch.join("tiny.tar");
    python(
        &format!(
            r##"
import tarfile, io
t = tarfile.open({tar:?}, "w", format=tarfile.PAX_FORMAT)
def add(name, type, mode, data=b"", **kw):
    i = tarfile.TarInfo(name); i.type = type; i.mode = mode; i.uid = kw.get("uid", 0); i.gid = kw.get("gid", 0)
    i.devmajor = kw.get("major", 0); i.devminor = kw.get("minor", 0); i.size = len(data)
    t.addfile(i, io.BytesIO(data) if data else None)
add("./", tarfile.DIRTYPE, 0o755)
for d in ["etc", "srv"]: add("./" + d, tarfile.DIRTYPE, 0o755)
add("./probe", tarfile.REGTYPE, 0o755, open({probe:?}, "rb").read())
add("./etc/passwd", tarfile.REGTYPE, 0o644, b"root:x:0:0::/:/probe\nalice:x:1001:1001::/:/probe\n")
add("./etc/group", tarfile.REGTYPE, 0o644, b"root:x:0:\nusers:x:100:alice\nalice:x:1001:\naudio:x:29:bob,alice\n")
for name, major, minor in [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("urandom", 1, 9), ("nodrv", 4, 64)]:
    add("./srv/" + name, tarfile.CHRTYPE, 0o666, major=major, minor=minor)
add("./srv/disk", tarfile.BLKTYPE, 0o666, major=8, minor=0)
add("./srv/secret", tarfile.REGTYPE, 0o600, b"root only\n")
add("./srv/shared", tarfile.REGTYPE, 0o644, b"for all\n")
add("./srv/audio", tarfile.REGTYPE, 0o640, b"group audio\n", gid=29)
t.close()
"##,
            tar = tar,
            probe = probe
        ),
        h.scratch.path(),
    );
    ok("import the tiny root", &h.import(&tar, "tiny"));
    Some(())
}

/// A device node stored in an imported root opens as the device the
/// runtime emulates for its number (the archive's and one mknod made);
/// a number without one is ENXIO, as Linux gives for a device no driver
/// claims.
#[test]
fn stored_device_nodes_open_as_their_devices() {
    let h = Home::new("rootfs-devs");
    let Some(()) = tiny_root(&h) else { return };
    let paths = ["/srv/null", "/srv/zero", "/srv/full", "/srv/urandom", "/srv/nodrv", "/srv/disk"];
    let argv: Vec<&str> = ["/probe", "devs"].iter().chain(paths.iter()).copied().collect();
    assert_eq!(
        ok("devices in the tiny root", &h.run_in("tiny", &argv)),
        "/srv/null: read 0 allzero no write ok\n\
         /srv/zero: read 8 allzero yes write ok\n\
         /srv/full: read 8 allzero yes write No space left on device\n\
         /srv/urandom: read 8 allzero no write ok\n\
         /srv/nodrv: open No such device or address\n\
         /srv/disk: open No such device or address\n\
         /srv/made: read 8 allzero yes write ok\n"
    );
    // Nothing was written into the host files that stand for the nodes.
    assert_eq!(std::fs::metadata(h.roots().join("tiny/srv/null")).unwrap().len(), 0);
}

/// `--user NAME` takes the imported root's /etc/passwd and /etc/group (with
/// the supplementary groups they list), and the stored owners and modes
/// decide what that user may open.
#[test]
fn named_users_of_the_root_meet_its_stored_modes() {
    let h = Home::new("rootfs-user");
    let Some(()) = tiny_root(&h) else { return };
    let as_user = |user: &str, argv: &[&str]| {
        run_mactux(&Run::cmd(argv).env("MACTUX_HOME", h.home()).mactux_option("--root").mactux_option("tiny").mactux_option("--user").mactux_option(user))
    };
    assert_eq!(ok("ids of alice", &as_user("alice", &["/probe", "ids"])), "uid 1001 gid 1001 groups 29 100 1001\n");
    assert_eq!(ok("ids of alice:audio", &as_user("alice:audio", &["/probe", "ids"])), "uid 1001 gid 29 groups 29 100\n");
    assert_eq!(
        ok("alice opens", &as_user("alice", &["/probe", "open", "/srv/secret", "/srv/shared", "/srv/audio"])),
        "/srv/secret: Permission denied\n/srv/shared: ok\n/srv/audio: ok\n"
    );
    assert_eq!(ok("root opens", &h.run_in("tiny", &["/probe", "open", "/srv/secret"])), "/srv/secret: ok\n");
    let unknown = as_user("carol", &["/probe", "ids"]);
    assert_eq!(unknown.status, Termination::Exit(125));
    let passwd = h.roots().join("tiny/etc/passwd");
    assert!(unknown.stderr_str().contains(&format!("no user `carol` in {}", passwd.display())), "{}", unknown.stderr_str());
    let no_group = as_user("alice:wheel", &["/probe", "ids"]);
    assert_eq!(no_group.status, Termination::Exit(125));
    assert!(no_group.stderr_str().contains("no group `wheel` in"), "{}", no_group.stderr_str());
}

/// The whole path as an ordinary host user, as a Mac user takes it: the
/// import, Debian's programs inside, and guest root's chown kept in the
/// attributes of files the host user owns (issue 10 point 5).
#[test]
fn an_ordinary_user_imports_a_root_and_owns_it_as_guest_root() {
    use std::os::unix::fs::MetadataExt;
    let Some(f) = fixture() else { return };
    let Some(u) = OrdinaryUser::new("rootfs") else { return };
    let archive = u.work().join("debian.tar.xz");
    std::fs::copy(f.dir.join("debian.tar.xz"), &archive).unwrap();
    std::os::unix::fs::chown(&archive, Some(u.uid), Some(u.gid)).unwrap();
    let import = run_mactux_raw(
        &[OsStr::new("rootfs"), OsStr::new("import"), archive.as_os_str(), OsStr::new("--name"), OsStr::new("deb")],
        &u.run(Run::new("mactux")).timeout(std::time::Duration::from_secs(120)),
    );
    ok("import as an ordinary user", &import);
    let run_in = |argv: &[&str], as_root: bool| {
        let run = u.run(Run::cmd(argv)).mactux_option("--root").mactux_option("deb");
        run_mactux(&if as_root { run.mactux_option("-0") } else { run })
    };
    let root = u.home().join("mactux/roots/deb");
    // The host files are the user's; inside they are the archive's (root's).
    assert_eq!(std::fs::metadata(root.join("etc/passwd")).unwrap().uid(), u.uid);
    let ls = ok("ls -ln /", &run_in(&["/bin/ls", "-ln", "/"], false));
    for line in ls.lines().skip(1) {
        let owner: Vec<&str> = line.split_whitespace().skip(2).take(2).collect();
        assert_eq!(owner, ["0", "0"], "ls -ln /: {ls}");
    }
    assert_eq!(ok("id", &run_in(&["/usr/bin/id"], false)), "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n");
    assert_eq!(ok("-0 id", &run_in(&["/usr/bin/id"], true)), "uid=0(root) gid=0(root) groups=0(root)\n");
    assert!(ok("dpkg -l", &run_in(&["/bin/bash", "-c", "dpkg -l | grep '^ii  bash '"], false)).contains("bash"));
    let chowned = ok("chown as guest root", &run_in(&["/bin/sh", "-c", "echo hi > /tmp/f && chown 123:45 /tmp/f && stat -c '%u %g' /tmp/f"], true));
    assert_eq!(chowned, "123 45\n");
    let host = std::fs::metadata(root.join("tmp/f")).unwrap();
    assert_eq!((host.uid(), host.gid()), (u.uid, u.gid), "the host file stays the user's");
    let stored = xattr::get(root.join("tmp/f"), "user.mactux.uid").unwrap().map(|v| String::from_utf8_lossy(&v).into_owned());
    assert_eq!(stored.as_deref(), Some("123"));
    // Without guest root, the same chown is refused as Linux refuses it.
    let denied = run_in(&["/bin/chown", "65534", "/tmp/f"], false);
    assert_eq!(denied.status, Termination::Exit(1));
    assert!(denied.stderr_str().contains("Operation not permitted"), "{}", denied.stderr_str());
}

/// The file programs of issue 10 point 6, run by root in a directory `w`
/// of the current one: `install -o -g -m` (a file and a sticky
/// directory), `mknod` of a character and a block device, `mkfifo`,
/// `chown -R`, `chown -h`, `cp -a` of a tree with a set-user-id file, a
/// set-group-id directory, a symlink, a device node and a FIFO (owners,
/// modes, times and symlinks kept), `tar -x --same-owner` of a root-owned
/// and of a mixed-owner archive (whose `./` member gives the target
/// directory its owner), then `ls -lnR`, `stat` and `find
/// -user/-group/-type` of the result, and chown and chmod of `.` (a
/// directory named by a path with no last name). Directory sizes (the host
/// file system's) and the times of what was made now are left out. `$1`
/// and `$2` are the owners given to the symlinks and to a FIFO, which
/// cannot carry attributes on a Linux host (see
/// `file_programs_of_an_ordinary_users_guest_root`).
const FILE_PROGRAMS: &str = r#"umask 022
rm -rf w && mkdir w && cd w || exit 1
mkdir src src/sub && echo data > src/file && echo y > src/sub/y
chown -R 123:45 src && chmod 4750 src/file && chmod 2755 src/sub && ln -s file src/link && chown -h "$1" src/link
touch -d '2001-02-03 04:05:06' src/file src/sub/y src/sub && touch -h -d '2002-03-04 05:06:07' src/link
install -o 7 -g 8 -m 2755 src/file inst && install -d -o 9 -g 10 -m 1777 instdir
mknod cdev c 1 3 && mknod -m 600 bdev b 8 1 && mkfifo -m 640 fifo && mkfifo fifo2 && chown "$2" fifo2
cp -a src dst && cp -a cdev fifo dst/
tar --numeric-owner --owner=0 --group=0 -cf root.tar -C src . && tar --numeric-owner -cf mixed.tar -C src .
mkdir xr xm && tar -x --same-owner -f root.tar -C xr && tar -x --same-owner -f mixed.tar -C xm
cp -a src re && chown -R 200:300 re/sub re/file && chown -h "$2" re/link
echo "== ls -ln"
ls -lnR --time-style=+- . | grep -v '^total' | tr -s ' ' | sed -E 's/^(d[^ ]* [^ ]* [^ ]* [^ ]*) [0-9]+/\1 -/'
echo "== stat"
stat -c '%n %a %u %g %F %t:%T %Y' src/file src/sub src/link dst/file dst/sub dst/sub/y dst/link xm/file xm/link xr/file re/link
stat -c '%n %a %u %g %F %t:%T' dst/cdev dst/fifo
echo "== find"
find . -user 123 | sort; find . -group 8 -o -user 9 | sort; find . -user root -type c | sort; find . -type p | sort
echo "== dot"
cd xm && stat -c '%n %u %g %a' . ../xm && chown 77:88 . && chmod 711 . && stat -c '%n %u %g %a' . ../xm && cd sub && stat -c '%n %u %g %a' ..
"#;

/// [`FILE_PROGRAMS`] natively as root in a scratch directory and through
/// `guest` (given the script, run in the guest's /tmp), with the owners
/// `args` for symlinks and FIFOs: the same output, and the stored
/// attributes of what was made in `root` (the imported root's host
/// directory).
fn compare_file_programs(args: [&str; 2], root: &Path, guest: impl FnOnce(&[&str]) -> Outcome) {
    let native_dir = ScratchDir::new("rootfs-programs-native");
    let argv = ["/bin/sh", "-c", FILE_PROGRAMS, "sh", args[0], args[1]];
    let native = run_native(&Run::cmd(&argv).cwd(native_dir.path()));
    assert_eq!(native.status, Termination::Exit(0), "natively: {}", native.stderr_str());
    let script = format!("cd /tmp && {FILE_PROGRAMS}");
    let guest = guest(&["/bin/sh", "-c", &script, "sh", args[0], args[1]]);
    assert_same("file programs as guest root", &native, &guest, Compare::ALL);
    // What root made there is stored in attributes of host files.
    let w = root.join("tmp/w");
    let get = |p: &str, n: &str| xattr::get(w.join(p), format!("user.mactux.{n}")).unwrap().map(|v| String::from_utf8_lossy(&v).into_owned());
    assert_eq!((get("dst/file", "uid").as_deref(), get("dst/file", "mode").as_deref()), (Some("123"), Some("104750")));
    assert_eq!((get("xm", "uid").as_deref(), get("xm", "mode").as_deref()), (Some("77"), Some("40711")), "chown and chmod of `.`");
    assert_eq!(get("bdev", "rdev").as_deref(), Some("8:1"));
}

/// Issue 10 point 6: the file programs above as guest root (`-0`) in an
/// imported root, where owners, set-id bits and device nodes are kept in
/// attributes, print what they print natively as root in a scratch
/// directory. (The host is root here, so symlinks and FIFOs get their
/// owners from the host.)
#[test]
fn file_programs_as_guest_root_match_native() {
    let Some(f) = fixture() else { return };
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: the native side of the comparison needs root");
        return;
    }
    let h = Home::new("rootfs-programs");
    ok("import", &h.import(&f.tar, "deb"));
    compare_file_programs(["123:45", "201:300"], &h.roots().join("deb"), |argv| {
        run_mactux(&Run::cmd(argv).env("MACTUX_HOME", h.home()).mactux_option("--root").mactux_option("deb").mactux_option("-0"))
    });
}

/// The same as an ordinary host user (uid 65534), as a Mac user runs them.
/// Symlinks and FIFOs cannot carry `user.` attributes on a Linux host and
/// the host refuses this user a chown of them, so they are given root, the
/// owner the user's own files show to guest root; every other owner is
/// stored in attributes.
#[test]
fn file_programs_of_an_ordinary_users_guest_root() {
    let Some(f) = fixture() else { return };
    let Some(u) = OrdinaryUser::new("rootfs-programs") else { return };
    let archive = u.work().join("debian.tar");
    std::fs::copy(&f.tar, &archive).unwrap();
    std::os::unix::fs::chown(&archive, Some(u.uid), Some(u.gid)).unwrap();
    let import = run_mactux_raw(
        &[OsStr::new("rootfs"), OsStr::new("import"), archive.as_os_str(), OsStr::new("--name"), OsStr::new("deb")],
        &u.run(Run::new("mactux")).timeout(std::time::Duration::from_secs(120)),
    );
    ok("import as an ordinary user", &import);
    compare_file_programs(["0:0", "0:0"], &u.home().join("mactux/roots/deb"), |argv| {
        run_mactux(&u.run(Run::cmd(argv)).mactux_option("--root").mactux_option("deb").mactux_option("-0"))
    });
    // What the host cannot hold is refused as the host refuses it.
    let refused = run_mactux(&u.run(Run::cmd(&["/bin/sh", "-c", "cd /tmp/w && chown -h 5 src/link; chown 5 fifo; stat -c '%u' src/link fifo"])).mactux_option("--root").mactux_option("deb").mactux_option("-0"));
    assert_eq!(refused.stdout_str(), "0\n0\n", "{}", refused.stderr_str());
    assert!(refused.stderr_str().contains("Operation not permitted"), "{}", refused.stderr_str());
}

/// `sudo -n true` of a user who has no password to give fails as it does
/// natively: "a password is required", status 1, whether the guest starts
/// as nobody (`--user nobody`, the set-user-id root sudo of the imported
/// root raising it) or as root dropping to nobody with setpriv. Natively it
/// runs in a chroot of a copy of the same Debian tree (as root, dropping to
/// nobody the same way): sudo writes its timestamp under /run/sudo, which
/// must not happen on the host, and the host need not have sudo.
#[test]
fn sudo_without_a_password_fails_as_natively() {
    let Some(f) = fixture() else { return };
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !have_program("chroot") {
        eprintln!("skipped: the native side needs root and chroot");
        return;
    }
    let h = Home::new("rootfs-sudo");
    ok("import", &h.import(&f.tar, "deb"));
    let native_root = h.scratch.join("native-root");
    sh(&format!("cp -a {:?} {:?} && cp /etc/hosts {:?}/etc/hosts", f.dir.join("root"), native_root, native_root), h.scratch.path());
    let drop = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/sudo", "-n", "true"];
    let native = run_native(&Run::new("chroot").arg(&native_root).args(&drop));
    assert_eq!((&native.status, native.stderr_str().as_str()), (&Termination::Exit(1), "sudo: a password is required\n"), "natively");
    let in_root = |run: Run| run.env("MACTUX_HOME", h.home()).mactux_option("--root").mactux_option("deb");
    let dropped = run_mactux(&in_root(Run::cmd(&drop)).mactux_option("-0"));
    assert_same("-0, setpriv to nobody, sudo -n true", &native, &dropped, Compare::ALL);
    let nobody = run_mactux(&in_root(Run::cmd(&["/usr/bin/sudo", "-n", "true"])).mactux_option("--user").mactux_option("nobody"));
    assert_same("--user nobody sudo -n true", &native, &nobody, Compare::ALL);
}

fn python(script: &str, dir: &Path) {
    let out = Command::new("python3").arg("-c").arg(script).current_dir(dir).output().expect("run python3");
    assert!(out.status.success(), "python3: {}", String::from_utf8_lossy(&out.stderr));
}

/// Two layers: the Debian tree, then one that adds a file, deletes
/// /etc/gone with a whiteout and makes /opt/app opaque.
fn make_images(f: &Fixture) -> (PathBuf, PathBuf) {
    static DONE: OnceLock<()> = OnceLock::new();
    let docker = f.dir.join("image-docker.tar");
    let oci = f.dir.join("image-oci.tar");
    DONE.get_or_init(|| {
        python(
            &format!(
                r##"
import tarfile, io, json, hashlib, subprocess, os
def layer2():
    b = io.BytesIO(); t = tarfile.open(fileobj=b, mode="w")
    def add(name, data=b""):
        i = tarfile.TarInfo(name); i.size = len(data); i.mode = 0o644; t.addfile(i, io.BytesIO(data))
    add("etc/.wh.gone")
    add("opt/app/c", b"upper-c\n")
    add("opt/app/.wh..wh..opq")
    add("etc/layer2", b"second layer\n")
    t.close(); return b.getvalue()
l1 = open({tar:?}, "rb").read(); l2 = layer2()
# docker save: manifest.json and <id>/layer.tar, uncompressed.
t = tarfile.open({docker:?}, "w")
def put(t, name, data):
    i = tarfile.TarInfo(name); i.size = len(data); i.mode = 0o644; t.addfile(i, io.BytesIO(data))
put(t, "aaa/layer.tar", l1); put(t, "bbb/layer.tar", l2)
put(t, "config.json", b"{{}}")
put(t, "manifest.json", json.dumps([{{"Config": "config.json", "RepoTags": ["t:1"], "Layers": ["aaa/layer.tar", "bbb/layer.tar"]}}]).encode())
t.close()
# OCI image layout: a gzip layer and a zstd layer, an index and a manifest.
gz = subprocess.run(["gzip", "-1", "-c"], input=l1, capture_output=True, check=True).stdout
zs = subprocess.run(["zstd", "-q", "-1", "-c"], input=l2, capture_output=True, check=True).stdout
t = tarfile.open({oci:?}, "w")
def blob(data):
    d = hashlib.sha256(data).hexdigest(); put(t, "blobs/sha256/" + d, data); return "sha256:" + d
layers = [{{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": blob(gz), "size": len(gz)}},
          {{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": blob(zs), "size": len(zs)}}]
cfg = blob(b"{{}}")
man = json.dumps({{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg, "size": 2}}, "layers": layers}}).encode()
md = blob(man)
put(t, "oci-layout", b'{{"imageLayoutVersion": "1.0.0"}}')
put(t, "index.json", json.dumps({{"schemaVersion": 2, "manifests": [{{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(man)}}]}}).encode())
t.close()
"##,
                tar = f.tar,
                docker = docker,
                oci = oci
            ),
            &f.dir,
        );
    });
    (docker, oci)
}

#[test]
fn docker_and_oci_images_apply_layers_and_whiteouts() {
    let Some(f) = fixture() else { return };
    let (docker, oci) = make_images(f);
    let h = Home::new("rootfs-image");
    for (file, name) in [(&docker, "docker"), (&oci, "oci")] {
        ok(&format!("import {name}"), &h.import(file, name));
        check_debian(&h, name, f);
        assert_eq!(ok("ls /opt/app", &h.run_in(name, &["/bin/ls", "/opt/app"])), "c\n", "{name}: the opaque directory keeps only the upper layer's file");
        assert_eq!(ok("cat layer2", &h.run_in(name, &["/bin/cat", "/etc/layer2"])), "second layer\n");
        let gone = h.run_in(name, &["/bin/cat", "/etc/gone"]);
        assert_ne!(gone.status, Termination::Exit(0), "{name}: /etc/gone was whited out");
        let root = h.roots().join(name);
        assert!(!root.join("manifest.json").exists() && !root.join("blobs").exists(), "{name}: the layout itself is not the root");
    }
    assert_eq!(h.roots_listing().iter().filter(|n| n.contains("importing") || n.contains("layers")).count(), 0, "{:?}", h.roots_listing());
}

/// A refused import leaves nothing under roots/ but what was there.
fn assert_no_leftover(h: &Home, before: &[String]) {
    assert_eq!(h.roots_listing(), before, "a refused import left files behind");
}

#[test]
fn bad_archives_are_refused_and_leave_nothing() {
    let Some(f) = fixture() else { return };
    let h = Home::new("rootfs-bad");
    std::fs::create_dir_all(h.roots()).unwrap();
    let dir = h.scratch.path();
    let outside = dir.join("outside");
    std::fs::create_dir(&outside).unwrap();

    // Truncated: half of the gzip file, and half of the plain tar.
    let gz = std::fs::read(f.dir.join("debian.tar.gz")).unwrap();
    std::fs::write(dir.join("cut.tar.gz"), &gz[..gz.len() / 2]).unwrap();
    let plain = std::fs::read(&f.tar).unwrap();
    std::fs::write(dir.join("cut.tar"), &plain[..plain.len() / 2 + 100]).unwrap();
    python(
        &format!(
            r##"
import tarfile, io
def make(path, entries):
    t = tarfile.open(path, "w")
    for name, kind, arg in entries:
        i = tarfile.TarInfo(name); i.mode = 0o644
        if kind == "file":
            i.size = len(arg); t.addfile(i, io.BytesIO(arg))
        else:
            i.type = tarfile.SYMTYPE; i.linkname = arg; t.addfile(i)
    t.close()
make("dotdot.tar", [("etc/ok", "file", b"x"), ("../outside/evil", "file", b"evil")])
make("escape.tar", [("etc/ok", "file", b"x"), ("evil", "link", "../../../../../../../..{outside}"), ("evil/planted", "file", b"evil")])
make("inside.tar", [("etc/ok", "file", b"x"), ("abs", "link", "/etc"), ("abs/via-link", "file", b"inside")])
"##,
            outside = outside.display()
        ),
        dir,
    );
    let before = h.roots_listing();
    let cases = [
        ("cut.tar.gz", "cut.tar.gz"),
        ("cut.tar", "truncated"),
        ("dotdot.tar", "'../outside/evil' has a '..' component"),
        ("escape.tar", "entry 'evil/planted' would be written through the symlink"),
    ];
    for (file, needle) in cases {
        let out = h.import(&dir.join(file), "bad");
        refused(file, &out, needle);
        assert!(out.stderr_str().contains(file), "{file}: the error names the archive: {}", out.stderr_str());
        assert_no_leftover(&h, &before);
    }
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "nothing written outside the root");

    // A symlink that stays inside the root is followed inside it.
    ok("inside", &h.import(&dir.join("inside.tar"), "inside"));
    assert_eq!(std::fs::read_to_string(h.roots().join("inside/etc/via-link")).unwrap(), "inside");

    // An existing name, a directory holding files, a name with '/'.
    refused("existing name", &h.import(&dir.join("inside.tar"), "inside"), "a root named 'inside' already exists");
    std::fs::create_dir(h.roots().join("mine")).unwrap();
    std::fs::write(h.roots().join("mine/keep"), "mine").unwrap();
    refused("non-empty target", &h.import(&dir.join("inside.tar"), "mine"), "already holds files");
    assert_eq!(std::fs::read_to_string(h.roots().join("mine/keep")).unwrap(), "mine");
    refused("name with /", &h.import(&dir.join("inside.tar"), "a/b"), "not a root name");
    // --replace swaps the new root in only after a successful import.
    ok("replace", &h.mactux(&["rootfs", "import", dir.join("inside.tar").to_str().unwrap(), "--name", "mine", "--replace"]));
    assert!(!h.roots().join("mine/keep").exists());
    assert!(!h.roots_listing().iter().any(|n| n.contains(".old-") || n.contains("importing")), "{:?}", h.roots_listing());
}

#[test]
fn a_configured_default_root_and_directories_still_work() {
    let Some(f) = fixture() else { return };
    let h = Home::new("rootfs-default");
    ok("import", &h.import(&f.dir.join("debian.tar.zst"), "deb"));
    std::fs::write(h.home().join("config.toml"), "root = \"deb\"\n").unwrap();
    let out = run_mactux(&Run::cmd(&["/bin/cat", "/etc/debian_version"]).env("MACTUX_HOME", h.home()));
    assert_eq!(ok("default root", &out), f.debian_version);
    // A path is still a path.
    let dir = h.roots().join("deb");
    let out = run_mactux(&Run::cmd(&["/bin/cat", "/etc/debian_version"]).mactux_option("--root").mactux_option(&dir));
    assert_eq!(ok("--root DIR", &out), f.debian_version);
    refused("unknown name", &h.run_in("nosuch", &["/bin/true"]), "neither a directory nor an imported root");
}

/// `run --root DIR` on a volume that folds case is refused, naming DIR and
/// the way out; a directory whose names differ in case runs on. A hard link
/// under the other case's name stands in for a folding volume, which a test
/// may not make (this kernel has no casefold directories).
#[test]
fn a_root_directory_on_a_case_insensitive_volume_is_refused() {
    let dir = ScratchDir::new("rootfs-case");
    let folding = dir.join("folding");
    std::fs::create_dir_all(&folding).unwrap();
    std::fs::write(folding.join("probe"), b"x").unwrap();
    std::fs::hard_link(folding.join("probe"), folding.join("PROBE")).unwrap();
    let out = run_mactux(&Run::cmd(&["/bin/true"]).mactux_option("--root").mactux_option(&folding));
    refused("case-folding root", &out, "lies on a case-insensitive volume");
    assert!(out.stderr_str().contains(&folding.display().to_string()), "{}", out.stderr_str());
    // Two files whose names differ only in case: a case-sensitive volume.
    let sensitive = dir.join("sensitive");
    std::fs::create_dir_all(&sensitive).unwrap();
    std::fs::write(sensitive.join("probe"), b"x").unwrap();
    std::fs::write(sensitive.join("PROBE"), b"y").unwrap();
    let out = run_mactux(&Run::cmd(&["/bin/true"]).mactux_option("--root").mactux_option(&sensitive));
    assert!(!out.stderr_str().contains("case-insensitive"), "{}", out.stderr_str());
}

/// The fixture and a home of the test's own, for a test that mounts `what`
/// over that home in a mount namespace of its own: `None` (skipped, said
/// on stderr) without root or unshare(1).
fn with_a_mount(tag: &str, what: &str) -> Option<(&'static Fixture, Home)> {
    let f = fixture()?;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !Path::new("/usr/bin/unshare").exists() {
        eprintln!("skipped: mounting {what} needs root and unshare(1)");
        return None;
    }
    let h = Home::new(tag);
    std::fs::create_dir_all(h.home()).unwrap();
    Some((f, h))
}

/// Runs `script` with /bin/sh in a mount namespace of its own, with the
/// home as MACTUX_HOME: its stdout and stderr.
fn in_own_mounts(h: &Home, script: &str) -> (String, String) {
    let out = Command::new("/usr/bin/unshare")
        .args(["-m", "--propagation", "private", "/bin/sh", "-c", script])
        .env("MACTUX_HOME", h.home())
        .output()
        .unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A disk that fills up mid-import: a 2 MiB tmpfs as MACTUX_HOME, mounted
/// in a mount namespace of the import's own (`unshare -m`, so nothing is
/// mounted for anyone else and it goes away with the process). Needs root.
#[test]
fn a_full_disk_is_reported_with_the_path_and_leaves_nothing() {
    let Some((f, h)) = with_a_mount("rootfs-full", "a small tmpfs") else { return };
    let script = format!(
        "mount -t tmpfs -o size=2m mactux-test {home} && {bin} rootfs import {tar} --name full; echo \"rc=$?\"; ls -a {home}/roots",
        home = h.home().display(),
        bin = mactux_bin().display(),
        tar = f.dir.join("debian.tar.zst").display()
    );
    let (stdout, stderr) = in_own_mounts(&h, &script);
    assert!(stdout.contains("rc=1"), "the import must fail: {stdout} {stderr}");
    assert!(stderr.contains("no space left on device") && stderr.contains("/roots/.full.importing-"), "{stderr}");
    assert_eq!(stdout.lines().filter(|l| !l.starts_with("rc=")).collect::<Vec<_>>(), [".", ".."], "leftovers: {stdout}");
}

/// `--mount HOST:GUEST` and `mounts` in config.toml: a host directory seen
/// inside an imported root, written through, left with `..`, not removable.
#[test]
fn host_directories_mount_into_an_imported_root() {
    let Some(f) = fixture() else { return };
    let h = Home::new("rootfs-mount");
    ok("import", &h.import(&f.dir.join("debian.tar.gz"), "deb"));
    let host = h.scratch.join("shared");
    std::fs::create_dir_all(host.join("sub")).unwrap();
    std::fs::write(host.join("f"), "from the host\n").unwrap();
    let spec = format!("{}:/opt/host", host.display());
    let run = |script: &str| {
        run_mactux(
            &Run::cmd(&["/bin/bash", "-c", script])
                .env("MACTUX_HOME", h.home())
                .mactux_option("--root")
                .mactux_option("deb")
                .mactux_option("--mount")
                .mactux_option(&spec),
        )
    };
    assert_eq!(ok("cat", &run("cat /opt/host/f")), "from the host\n");
    assert_eq!(ok("ls", &run("ls /opt/host")), "f\nsub\n");
    assert_eq!(ok("cd", &run("cd /opt/host/sub && pwd && cd ../.. && pwd && cat host/../app/a")), "/opt/host/sub\n/opt\nlower-a\n");
    ok("write", &run("echo written > /opt/host/new"));
    assert_eq!(std::fs::read_to_string(host.join("new")).unwrap(), "written\n");
    let busy = run("rmdir /opt/host");
    refused("rmdir of the mount point", &busy, "busy");
    assert!(host.is_dir());
    assert!(ok("mounts", &run("cat /proc/self/mounts")).contains(&format!("{} /opt/host ", host.display())));
    let info = ok("mountinfo", &run("cat /proc/self/mountinfo"));
    assert!(info.lines().any(|l| l.contains(" / /opt/host rw,relatime - ") && l.ends_with(&format!(" {} rw", host.display()))), "{info}");

    // The same from config.toml, beside the default root.
    std::fs::write(h.home().join("config.toml"), format!("root = \"deb\"\nmounts = [\"{}:/opt/cfg\"]\n", host.display())).unwrap();
    let out = run_mactux(&Run::cmd(&["/bin/cat", "/opt/cfg/f"]).env("MACTUX_HOME", h.home()));
    assert_eq!(ok("config mount", &out), "from the host\n");
    let bad = run_mactux(&Run::cmd(&["/bin/true"]).env("MACTUX_HOME", h.home()).mactux_option("--mount").mactux_option("relative:/x"));
    refused("a missing host directory", &bad, "relative");
    let bad = run_mactux(&Run::cmd(&["/bin/true"]).env("MACTUX_HOME", h.home()).mactux_option("--mount").mactux_option(format!("{}:/proc/x", host.display())));
    refused("a mount in /proc", &bad, "/proc and /dev are the runtime's");
}

/// A volume without extended attributes (ramfs, in a mount namespace of
/// its own): the import says so before it starts and writes nothing;
/// `--no-xattrs` imports anyway. Needs root.
#[test]
fn a_volume_without_xattrs_is_named_before_the_import_starts() {
    let Some((f, h)) = with_a_mount("rootfs-noxattr", "a ramfs") else { return };
    let script = format!(
        "mount -t ramfs mactux-test {home} && {bin} rootfs import {tar} --name a; echo \"rc=$?\"; ls -a {home}/roots; \
         {bin} rootfs import {tar} --name b --no-xattrs >/dev/null 2>&1; echo \"rc=$?\"; cat {home}/roots/b/etc/debian_version",
        home = h.home().display(),
        bin = mactux_bin().display(),
        tar = f.dir.join("debian.tar.gz").display()
    );
    let (stdout, stderr) = in_own_mounts(&h, &script);
    assert!(stderr.contains("cannot store extended attributes") && stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(stdout, format!("rc=1\n.\n..\nrc=0\n{}", f.debian_version), "{stderr}");
}
