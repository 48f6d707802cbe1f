//! File calls that differ between hosts (Linux side).

use crate::abi::{Errno, Timespec};
use crate::host::{HostDirent, HostFd, HostResult, HostStat, HostStatfs};
use std::ffi::CStr;

/// Where the host lists a process's open fds.
pub const FD_DIR: &str = "/proc/self/fd";

/// A path naming `name` inside the held directory `dir` (the directory
/// itself for an empty name) through its /proc/self/fd link, for the host
/// calls that take no directory fd: the call lands in exactly that
/// directory whatever happens to the path above it. `name` alone for
/// AT_FDCWD.
pub(crate) fn path_in(dir: HostFd, name: &[u8]) -> Vec<u8> {
    if dir == libc::AT_FDCWD {
        return name.to_vec();
    }
    let mut p = format!("{FD_DIR}/{dir}").into_bytes();
    if !name.is_empty() {
        p.push(b'/');
        p.extend_from_slice(name);
    }
    p
}

/// `path_in` as a C string, for the file `fd` itself when `name` is empty.
fn c_path_in(dir: HostFd, name: &[u8]) -> HostResult<std::ffi::CString> {
    std::ffi::CString::new(path_in(dir, name)).map_err(|_| Errno::EINVAL)
}

fn check(r: libc::c_int) -> HostResult<()> {
    if r < 0 { Err(super::errno::last()) } else { Ok(()) }
}

pub(crate) fn from_host_stat(s: &libc::stat) -> HostStat {
    HostStat {
        dev: s.st_dev,
        ino: s.st_ino,
        mode: s.st_mode,
        nlink: s.st_nlink,
        uid: s.st_uid,
        gid: s.st_gid,
        rdev: s.st_rdev,
        size: s.st_size,
        blksize: s.st_blksize,
        blocks: s.st_blocks,
        atime: Timespec { sec: s.st_atime, nsec: s.st_atime_nsec },
        mtime: Timespec { sec: s.st_mtime, nsec: s.st_mtime_nsec },
        ctime: Timespec { sec: s.st_ctime, nsec: s.st_ctime_nsec },
        btime: None,
    }
}

/// Metadata of `name` in `dir` itself (a symlink is not followed), with
/// the birth time where the filesystem records it: one statx, so that
/// statx(2) of a guest needs no second call for `stx_btime`. `name` is
/// never empty (the caller passes `.` for `dir` itself).
pub(crate) fn stat_nofollow_at(dir: HostFd, name: &CStr) -> HostResult<HostStat> {
    // SAFETY: zeroed statx is a valid out-parameter.
    let mut sx: libc::statx = unsafe { core::mem::zeroed() };
    // fstatat's behaviour: no automount of the last component.
    let flags = libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT;
    // SAFETY: valid C string and out-parameter.
    let r = unsafe { libc::statx(dir, name.as_ptr(), flags, libc::STATX_BASIC_STATS | libc::STATX_BTIME, &mut sx) };
    if r < 0 {
        return match super::errno::last() {
            // Linux before 4.11.
            Errno::ENOSYS => {
                // SAFETY: zeroed stat is a valid out-parameter.
                let mut st: libc::stat = unsafe { core::mem::zeroed() };
                // SAFETY: valid C string and out-parameter.
                if unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } < 0 {
                    return Err(super::errno::last());
                }
                Ok(from_host_stat(&st))
            }
            e => Err(e),
        };
    }
    let ts = |t: libc::statx_timestamp| Timespec { sec: t.tv_sec, nsec: i64::from(t.tv_nsec) };
    Ok(HostStat {
        dev: libc::makedev(sx.stx_dev_major, sx.stx_dev_minor),
        ino: sx.stx_ino,
        mode: u32::from(sx.stx_mode),
        nlink: u64::from(sx.stx_nlink),
        uid: sx.stx_uid,
        gid: sx.stx_gid,
        rdev: libc::makedev(sx.stx_rdev_major, sx.stx_rdev_minor),
        size: sx.stx_size as i64,
        blksize: i64::from(sx.stx_blksize),
        blocks: sx.stx_blocks as i64,
        atime: ts(sx.stx_atime),
        mtime: ts(sx.stx_mtime),
        ctime: ts(sx.stx_ctime),
        btime: (sx.stx_mask & libc::STATX_BTIME != 0).then(|| ts(sx.stx_btime)),
    })
}

/// Birth time of `name` in `dir` where the host records it (statx on Linux).
pub fn birth_time_at(dir: HostFd, name: &CStr) -> Option<Timespec> {
    let name = if name.is_empty() { c"." } else { name };
    // SAFETY: zeroed statx is a valid out-parameter.
    let mut sx: libc::statx = unsafe { core::mem::zeroed() };
    // SAFETY: valid C string and out-parameter.
    let r = unsafe { libc::statx(dir, name.as_ptr(), libc::AT_SYMLINK_NOFOLLOW, libc::STATX_BTIME, &mut sx) };
    (r == 0 && sx.stx_mask & libc::STATX_BTIME != 0)
        .then(|| Timespec { sec: sx.stx_btime.tv_sec, nsec: i64::from(sx.stx_btime.tv_nsec) })
}

/// Whether the host kernel has the *xattrat calls (Linux 6.13); cleared
/// at their first ENOSYS.
static XATTRAT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// `struct xattr_args` (include/uapi/linux/xattr.h).
#[repr(C)]
struct XattrArgs {
    value: u64,
    size: u32,
    flags: u32,
}

/// The host path of the directory open as `fd` (its /proc/self/fd link).
pub fn dir_path(fd: HostFd) -> Option<std::path::PathBuf> {
    std::fs::read_link(format!("{FD_DIR}/{fd}")).ok()
}

/// An extended-attribute call (getxattr(2) and its kin), for the guest
/// and for the runtime's own Linux metadata (vfs/meta.rs): the bytes a Get
/// or List wrote or needs, 0 for Set and Remove; names and flags are
/// Linux's already. A name in a directory (a symlink itself, not
/// followed; an empty name is the directory) goes relative to the
/// directory with the *xattrat calls where the host has them (a walk no
/// longer than a stat's); the rest, and every call on a kernel before
/// 6.13, goes through the /proc/self/fd link, which also serves an O_PATH
/// fd (which fgetxattr and AT_EMPTY_PATH refuse).
pub fn xattr(at: crate::host::XattrAt<'_>, mut op: crate::host::XattrOp<'_>) -> HostResult<usize> {
    use crate::host::{XattrAt, XattrOp};
    use linux_raw_sys::general as g;
    use std::sync::atomic::Ordering::Relaxed;
    if let (true, XattrAt::Name(dfd, name)) = (XATTRAT.load(Relaxed), at) {
        // The directory itself by a walk to ".", as its fd is O_PATH.
        let (path, at_flags) = if name.is_empty() { (c".", 0) } else { (name, libc::AT_SYMLINK_NOFOLLOW) };
        let (p, f) = (path.as_ptr(), at_flags as libc::c_uint);
        // SAFETY: valid C strings; each buffer's address and length, and
        // the args struct with its size, are passed together.
        let r = unsafe {
            match &mut op {
                XattrOp::Get(n, b) => {
                    let mut a = XattrArgs { value: b.as_mut_ptr() as u64, size: b.len() as u32, flags: 0 };
                    libc::syscall(g::__NR_getxattrat as libc::c_long, dfd, p, f, n.as_ptr(), &mut a as *mut XattrArgs, core::mem::size_of::<XattrArgs>())
                }
                XattrOp::Set(n, v, fl) => {
                    let a = XattrArgs { value: v.as_ptr() as u64, size: v.len() as u32, flags: *fl };
                    libc::syscall(g::__NR_setxattrat as libc::c_long, dfd, p, f, n.as_ptr(), &a as *const XattrArgs, core::mem::size_of::<XattrArgs>())
                }
                XattrOp::List(b) => libc::syscall(g::__NR_listxattrat as libc::c_long, dfd, p, f, b.as_mut_ptr(), b.len()),
                XattrOp::Remove(n) => libc::syscall(g::__NR_removexattrat as libc::c_long, dfd, p, f, n.as_ptr()),
            }
        };
        match usize::try_from(r) {
            Ok(n) => return Ok(n),
            Err(_) => {
                let e = super::errno::last();
                if e != Errno::ENOSYS {
                    return Err(e);
                }
                XATTRAT.store(false, Relaxed);
            }
        }
    }
    let (path, follow) = match at {
        XattrAt::Name(dir, name) => (c_path_in(dir, name.to_bytes())?, name.is_empty()),
        XattrAt::Fd(fd) => (c_path_in(fd, b"")?, true),
    };
    let p = path.as_ptr();
    // SAFETY: valid C strings; each buffer's length is passed with it.
    let r = unsafe {
        match (op, follow) {
            (XattrOp::Get(n, b), true) => libc::getxattr(p, n.as_ptr(), b.as_mut_ptr().cast(), b.len()),
            (XattrOp::Get(n, b), false) => libc::lgetxattr(p, n.as_ptr(), b.as_mut_ptr().cast(), b.len()),
            (XattrOp::Set(n, v, f), true) => libc::setxattr(p, n.as_ptr(), v.as_ptr().cast(), v.len(), f as i32) as isize,
            (XattrOp::Set(n, v, f), false) => libc::lsetxattr(p, n.as_ptr(), v.as_ptr().cast(), v.len(), f as i32) as isize,
            (XattrOp::List(b), true) => libc::listxattr(p, b.as_mut_ptr().cast(), b.len()),
            (XattrOp::List(b), false) => libc::llistxattr(p, b.as_mut_ptr().cast(), b.len()),
            (XattrOp::Remove(n), true) => libc::removexattr(p, n.as_ptr()) as isize,
            (XattrOp::Remove(n), false) => libc::lremovexattr(p, n.as_ptr()) as isize,
        }
    };
    usize::try_from(r).map_err(|_| super::errno::last())
}

/// How a directory is opened only to walk through it: O_PATH needs no
/// permission on the directory itself, as a Linux path walk needs none.
pub(crate) const WALK_DIR_FLAGS: libc::c_int = libc::O_PATH;

/// Opens the directory `rel` (names separated by `/`, none of them `..`)
/// under `dir` in one host call that refuses every symlink on the way, the
/// last one too (openat2 with RESOLVE_NO_SYMLINKS, Linux 5.6+): a path walk
/// of several names at the cost of one. `None` when this kernel has no
/// openat2; the caller then walks name by name.
pub fn open_dir_beneath(dir: HostFd, rel: &CStr) -> Option<HostResult<HostFd>> {
    use core::sync::atomic::{AtomicBool, Ordering::Relaxed};
    use linux_raw_sys::general as k;
    static MISSING: AtomicBool = AtomicBool::new(false);
    if MISSING.load(Relaxed) {
        return None;
    }
    let how = k::open_how {
        flags: (WALK_DIR_FLAGS | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: u64::from(k::RESOLVE_NO_SYMLINKS | k::RESOLVE_BENEATH),
    };
    // SAFETY: a valid C string and an open_how of the size passed.
    let r = unsafe { libc::syscall(libc::SYS_openat2, dir, rel.as_ptr(), &how, core::mem::size_of::<k::open_how>()) };
    if r >= 0 {
        return Some(Ok(r as HostFd));
    }
    match super::errno::last() {
        crate::abi::Errno::ENOSYS => {
            MISSING.store(true, Relaxed);
            None
        }
        e => Some(Err(e)),
    }
}

/// A handle on `name` itself that can be fstat'ed or fstatfs'ed, whatever
/// its type and permissions (O_PATH; a symlink is not followed).
pub(crate) fn open_handle_at(dir: HostFd, name: &CStr) -> HostResult<HostFd> {
    let fl = libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: valid C string.
    let fd = unsafe { libc::openat(dir, name.as_ptr(), fl) };
    if fd < 0 { Err(super::errno::last()) } else { Ok(fd) }
}

/// chmod of `name` itself. fchmodat(2) always follows a symlink in the last
/// component, so it cannot be used on a name the guest may swap; Linux 6.6+
/// has fchmodat2 with AT_SYMLINK_NOFOLLOW. Older hosts: chmod through an
/// O_PATH handle's /proc/self/fd entry, which names the pinned inode.
pub fn chmod_at(dir: HostFd, name: &CStr, mode: u32) -> HostResult<()> {
    let at = if name.is_empty() { c"." } else { name };
    // SAFETY: valid C string; fchmodat2 takes (dirfd, path, mode, flags).
    let r = unsafe { libc::syscall(libc::SYS_fchmodat2, dir, at.as_ptr(), mode, libc::AT_SYMLINK_NOFOLLOW) };
    if r == 0 {
        return Ok(());
    }
    let e = super::errno::last();
    if e != Errno::ENOSYS {
        return Err(e);
    }
    let fd = open_handle_at(dir, at)?;
    let r = crate::host::fs::fstat(fd).and_then(|st| {
        if st.mode & libc::S_IFMT == libc::S_IFLNK {
            return Err(Errno::EOPNOTSUPP);
        }
        let proc_path = c_path_in(fd, b"")?;
        // SAFETY: valid C string.
        check(unsafe { libc::chmod(proc_path.as_ptr(), mode as libc::mode_t) })
    });
    crate::host::fs::close(fd);
    r
}

pub(crate) fn from_host_statfs(s: &libc::statfs) -> HostStatfs {
    // SAFETY: fsid_t is two ints on Linux.
    let fsid: [i32; 2] = unsafe { core::mem::transmute(s.f_fsid) };
    HostStatfs {
        fs_type: s.f_type,
        bsize: s.f_bsize,
        blocks: s.f_blocks,
        bfree: s.f_bfree,
        bavail: s.f_bavail,
        files: s.f_files,
        ffree: s.f_ffree,
        fsid,
        namelen: s.f_namelen,
        frsize: s.f_frsize,
        flags: 0,
    }
}

/// Reads directory entries from the host directory fd's current position.
/// Returns an empty vector at the end.
pub fn read_dir(fd: HostFd) -> HostResult<Vec<HostDirent>> {
    let mut buf = vec![0u8; 32 * 1024];
    // SAFETY: getdents64 writes at most buf.len() bytes into buf.
    let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
    if n < 0 {
        return Err(super::errno::last());
    }
    let mut out = Vec::new();
    let mut off = 0usize;
    while off + 19 <= n as usize {
        let ino = u64::from_ne_bytes(buf[off..off + 8].try_into().unwrap_or_default());
        let next = i64::from_ne_bytes(buf[off + 8..off + 16].try_into().unwrap_or_default());
        let reclen = usize::from(u16::from_ne_bytes([buf[off + 16], buf[off + 17]]));
        let d_type = buf[off + 18];
        if reclen == 0 || off + reclen > n as usize {
            break;
        }
        let name_bytes = &buf[off + 19..off + reclen];
        let len = name_bytes.iter().position(|&b| b == 0).unwrap_or(name_bytes.len());
        out.push(HostDirent { ino, d_type, name: name_bytes[..len].to_vec(), next });
        off += reclen;
    }
    Ok(out)
}

pub fn fdatasync(fd: HostFd) -> HostResult<()> {
    // SAFETY: plain call.
    check(unsafe { libc::fdatasync(fd) })
}

/// sync_file_range(2) with Linux's flags, which are the host's.
pub fn sync_file_range(fd: HostFd, off: i64, len: i64, flags: u32) -> HostResult<()> {
    // SAFETY: plain call.
    check(unsafe { libc::sync_file_range(fd, off, len, flags) })
}

/// `fallocate` with Linux mode bits.
pub fn fallocate(fd: HostFd, mode: u32, off: i64, len: i64) -> HostResult<()> {
    // The FALLOC_FL_* values are the same on the Linux host.
    // SAFETY: plain call.
    check(unsafe { libc::fallocate(fd, mode as i32, off, len) })
}

/// `renameat2` semantics: `noreplace` fails with EEXIST, `exchange` swaps.
pub fn rename2_at(from: (HostFd, &CStr), to: (HostFd, &CStr), noreplace: bool, exchange: bool) -> HostResult<()> {
    let mut fl = 0u32;
    if noreplace {
        fl |= libc::RENAME_NOREPLACE;
    }
    if exchange {
        fl |= libc::RENAME_EXCHANGE;
    }
    // SAFETY: valid C strings.
    let r = unsafe { libc::renameat2(from.0, from.1.as_ptr(), to.0, to.1.as_ptr(), fl) };
    if r < 0 {
        let e = super::errno::last();
        // Some host filesystems lack RENAME_NOREPLACE; emulate it there.
        if e == Errno::EINVAL && noreplace && !exchange {
            return crate::host::fs::rename_unless_exists(from, to);
        }
        return Err(e);
    }
    Ok(())
}

/// The guest-visible name of an inherited host fd (a terminal's device path,
/// or the file's path when it lies under the guest root).
pub fn fd_guest_name(fd: HostFd) -> Option<String> {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    Some(crate::host::fs::guest_name_of_host_path(crate::vfs::path::from_bytes(link.as_os_str().as_encoded_bytes())))
}

/// The host device behind the guest's /dev/pts/N: the same name on Linux.
pub fn pts_host_path(n: u32) -> String {
    format!("/dev/pts/{n}")
}

/// N for a host pseudo-terminal path that the guest calls /dev/pts/N.
pub fn pts_number(host_path: &str) -> Option<u32> {
    host_path.strip_prefix("/dev/pts/")?.parse().ok()
}

/// The host path of a pseudo-terminal master's replica (ptsname_r).
pub fn pty_replica_path(master: HostFd) -> HostResult<String> {
    let mut buf = [0u8; 64];
    // SAFETY: ptsname_r writes at most buf.len() bytes, NUL-terminated.
    let r = unsafe { libc::ptsname_r(master, buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return Err(super::errno::from_host(r));
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..len]).into_owned())
}

/// Locks or unlocks a pseudo-terminal master's replica (TIOCSPTLCK).
pub fn pty_set_lock(master: HostFd, locked: bool) -> HostResult<()> {
    let v: libc::c_int = locked.into();
    // SAFETY: TIOCSPTLCK reads one int.
    check(unsafe { libc::ioctl(master, libc::TIOCSPTLCK, &v) })
}

/// The numbers of the host's pseudo-terminals, in ascending order.
pub fn pts_numbers() -> Vec<u32> {
    let mut v: Vec<u32> = std::fs::read_dir("/dev/pts")
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    v.sort_unstable();
    v
}

/// Flushes the filesystem holding `fd` (`syncfs`).
pub fn syncfs(fd: HostFd) -> HostResult<()> {
    // SAFETY: plain call.
    check(unsafe { libc::syncfs(fd) })
}

/// tee(2) between two host pipes: copies up to `len` bytes of `fd_in`'s
/// data into `fd_out` without consuming them.
pub fn tee(fd_in: HostFd, fd_out: HostFd, len: usize, nonblock: bool) -> HostResult<usize> {
    let flags = if nonblock { libc::SPLICE_F_NONBLOCK } else { 0 };
    // SAFETY: plain call on two fds.
    let n = unsafe { libc::tee(fd_in, fd_out, len, flags) };
    if n < 0 { Err(super::errno::last()) } else { Ok(n as usize) }
}

/// A host pipe's capacity in bytes (fcntl F_GETPIPE_SZ).
pub fn pipe_size(fd: HostFd) -> HostResult<u32> {
    // SAFETY: plain call.
    let n = unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) };
    if n < 0 { Err(super::errno::last()) } else { Ok(n as u32) }
}

/// Sets a host pipe's capacity (fcntl F_SETPIPE_SZ); returns the size
/// the kernel chose.
pub fn set_pipe_size(fd: HostFd, bytes: u32) -> HostResult<u32> {
    // SAFETY: plain call.
    let n = unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, bytes as libc::c_int) };
    if n < 0 { Err(super::errno::last()) } else { Ok(n as u32) }
}
