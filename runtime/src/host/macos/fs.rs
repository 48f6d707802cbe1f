//! File calls that differ between hosts (macOS side).
//!
//! Directory reading uses `__getdirentries64`, the call macOS's own
//! `readdir(3)` is built on: like Linux `getdents64` it reads from the fd's
//! file offset and each record carries the seek cookie of the entry after it,
//! so the cookie/lseek protocol of [`read_dir`]/[`seek_dir`] is the same on
//! both hosts (a `DIR*` from `fdopendir` would keep its own buffered position,
//! and `telldir` cookies are only valid for the `DIR*` that made them).

/// Where the host lists a process's open fds (fdesc).
pub const FD_DIR: &str = "/dev/fd";

use crate::abi::{Errno, Timespec};
use crate::host::{HostDirent, HostFd, HostResult, HostStat, HostStatfs};
use linux_raw_sys::general as g;
use std::ffi::CStr;

fn check(r: libc::c_int) -> HostResult<()> {
    if r < 0 { Err(super::errno::last()) } else { Ok(()) }
}

/// macOS `dev_t` is `major << 24 | minor` in 32 bits; Linux encodes differently.
fn dev_from_host(d: libc::dev_t) -> u64 {
    let major = libc::major(d) as u32;
    let minor = libc::minor(d) as u32;
    crate::vfs::makedev(u64::from(major), u64::from(minor))
}

pub(crate) fn from_host_stat(s: &libc::stat) -> HostStat {
    HostStat {
        dev: dev_from_host(s.st_dev),
        ino: s.st_ino,
        // The S_IF* type bits and permission bits coincide with Linux.
        mode: u32::from(s.st_mode),
        nlink: u64::from(s.st_nlink),
        uid: s.st_uid,
        gid: s.st_gid,
        rdev: dev_from_host(s.st_rdev),
        size: s.st_size,
        blksize: i64::from(s.st_blksize),
        blocks: s.st_blocks,
        atime: Timespec { sec: s.st_atime, nsec: s.st_atime_nsec },
        mtime: Timespec { sec: s.st_mtime, nsec: s.st_mtime_nsec },
        ctime: Timespec { sec: s.st_ctime, nsec: s.st_ctime_nsec },
        btime: Some(Timespec { sec: s.st_birthtime, nsec: s.st_birthtime_nsec }),
    }
}

const _: () = assert!(libc::S_IFMT == 0o170000 && libc::S_IFDIR == 0o040000 && libc::S_IFLNK == 0o120000);

/// Metadata of `name` in `dir` itself (a symlink is not followed), birth
/// time included (`st_birthtime`). `name` is never empty.
pub(crate) fn stat_nofollow_at(dir: HostFd, name: &CStr) -> HostResult<HostStat> {
    // SAFETY: zeroed stat is a valid out-parameter.
    let mut s: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: valid C string and out-parameter.
    if unsafe { libc::fstatat(dir, name.as_ptr(), &mut s, libc::AT_SYMLINK_NOFOLLOW) } < 0 {
        return Err(super::errno::last());
    }
    Ok(from_host_stat(&s))
}

/// Birth time: every macOS `struct stat` carries `st_birthtime`.
pub fn birth_time_at(dir: HostFd, name: &CStr) -> Option<Timespec> {
    crate::host::fs::stat_at(dir, name).ok().and_then(|s| s.btime)
}

/// How a directory is opened only to walk through it: O_SEARCH (O_EXEC |
/// O_DIRECTORY) needs search permission only, like a Linux path walk.
pub(crate) const WALK_DIR_FLAGS: libc::c_int = libc::O_SEARCH;

/// Opens the directory `rel` (names separated by `/`, none of them `..`)
/// under `dir` in one host call that refuses every symlink on the way, the
/// last one too (O_NOFOLLOW_ANY, macOS 11+): a path walk of several names
/// at the cost of one. Always `Some` here: the caller walks name by name
/// only after an error.
pub fn open_dir_beneath(dir: HostFd, rel: &CStr) -> Option<HostResult<HostFd>> {
    let fl = WALK_DIR_FLAGS | libc::O_DIRECTORY | libc::O_NOFOLLOW_ANY | libc::O_CLOEXEC;
    // SAFETY: valid C string.
    let fd = unsafe { libc::openat(dir, rel.as_ptr(), fl) };
    Some(if fd < 0 { Err(super::errno::last()) } else { Ok(fd) })
}

/// A handle on `name` itself that can be fstat'ed or fstatfs'ed (a symlink
/// is not followed).
// lossy: macOS has no O_PATH, so this needs read permission on the file.
pub(crate) fn open_handle_at(dir: HostFd, name: &CStr) -> HostResult<HostFd> {
    let fl = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: valid C string.
    let fd = unsafe { libc::openat(dir, name.as_ptr(), fl) };
    if fd < 0 { Err(super::errno::last()) } else { Ok(fd) }
}

/// chmod of `name` itself: macOS's fchmodat honours AT_SYMLINK_NOFOLLOW.
pub fn chmod_at(dir: HostFd, name: &CStr, mode: u32) -> HostResult<()> {
    let at = if name.is_empty() { c"." } else { name };
    // SAFETY: valid C string.
    check(unsafe { libc::fchmodat(dir, at.as_ptr(), mode as libc::mode_t, libc::AT_SYMLINK_NOFOLLOW) })
}

/// `HFSPLUS_SUPER_MAGIC` (Linux fs/hfsplus/hfsplus_raw.h), not exported by linux-raw-sys.
const HFSPLUS_SUPER_MAGIC: u32 = 0x482b;
/// APFS container superblock magic "NXSB" (Apple File System Reference, nx_magic).
const APFS_NX_MAGIC: u32 = 0x4253_584e;
/// The longest file name component on every macOS filesystem (`NAME_MAX`).
const HOST_NAME_MAX: i64 = 255;

/// `f_fstypename` → Linux `f_type` magic.
const FS_TYPES: &[(&[u8], u32)] = &[
    // lossy: Linux has no in-tree APFS driver; report the APFS on-disk magic.
    (b"apfs", APFS_NX_MAGIC),
    (b"hfs", HFSPLUS_SUPER_MAGIC),
    (b"msdos", g::MSDOS_SUPER_MAGIC),
    (b"exfat", g::EXFAT_SUPER_MAGIC),
    (b"cd9660", g::ISOFS_SUPER_MAGIC),
    (b"nfs", g::NFS_SUPER_MAGIC),
    (b"smbfs", g::CIFS_SUPER_MAGIC),
    // lossy: macOS devfs plays the part of Linux devtmpfs, which reports TMPFS_MAGIC.
    (b"devfs", g::TMPFS_MAGIC),
    (b"tmpfs", g::TMPFS_MAGIC),
    (b"macfuse", g::FUSE_SUPER_MAGIC),
    (b"osxfuse", g::FUSE_SUPER_MAGIC),
];

fn fs_type_from_host(name: &[libc::c_char; 16]) -> i64 {
    let bytes: Vec<u8> = name.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    let magic = FS_TYPES.iter().find(|(n, _)| *n == bytes.as_slice()).map(|(_, m)| *m);
    // lossy: any other filesystem reads as ext4, which most guest code treats as
    // "an ordinary local disk".
    i64::from(magic.unwrap_or(g::EXT4_SUPER_MAGIC))
}

pub(crate) fn from_host_statfs(s: &libc::statfs) -> HostStatfs {
    // SAFETY: fsid_t is two ints on macOS.
    let fsid: [i32; 2] = unsafe { core::mem::transmute(s.f_fsid) };
    HostStatfs {
        fs_type: fs_type_from_host(&s.f_fstypename),
        bsize: i64::from(s.f_bsize),
        blocks: s.f_blocks,
        bfree: s.f_bfree,
        bavail: s.f_bavail,
        files: s.f_files,
        ffree: s.f_ffree,
        fsid,
        // lossy: macOS statfs has no name length; every macOS filesystem allows 255 bytes.
        namelen: HOST_NAME_MAX,
        frsize: i64::from(s.f_bsize),
        flags: 0,
    }
}

extern "C" {
    /// libsystem_kernel's wrapper of the `getdirentries64` syscall (what
    /// Libc's `readdir` calls); not in the SDK headers, stable since 10.6.
    fn __getdirentries64(fd: libc::c_int, buf: *mut libc::c_char, nbytes: libc::size_t, basep: *mut libc::off_t) -> libc::ssize_t;
}

/// `struct direntry` (sys/dirent.h, 64-bit inodes): d_ino u64, d_seekoff u64,
/// d_reclen u16, d_namlen u16, d_type u8, then the name.
const DIRENT_NAME_OFF: usize = 21;

// DT_* values coincide with Linux's; pinned so a row table is not needed.
const _: () = assert!(libc::DT_REG as u32 == g::DT_REG && libc::DT_DIR as u32 == g::DT_DIR);
const _: () = assert!(libc::DT_LNK as u32 == g::DT_LNK && libc::DT_CHR as u32 == g::DT_CHR);
const _: () = assert!(libc::DT_BLK as u32 == g::DT_BLK && libc::DT_FIFO as u32 == g::DT_FIFO);
const _: () = assert!(libc::DT_SOCK as u32 == g::DT_SOCK && libc::DT_UNKNOWN as u32 == g::DT_UNKNOWN);

/// Reads directory entries from the host directory fd's current position.
/// Returns an empty vector at the end.
pub fn read_dir(fd: HostFd) -> HostResult<Vec<HostDirent>> {
    let mut buf = vec![0u8; 32 * 1024];
    let mut base: libc::off_t = 0;
    // SAFETY: the call writes at most buf.len() bytes into buf and one off_t into base.
    let n = unsafe { __getdirentries64(fd, buf.as_mut_ptr().cast(), buf.len(), &mut base) };
    if n < 0 {
        return Err(super::errno::last());
    }
    let n = n as usize;
    let mut out = Vec::new();
    let mut off = 0usize;
    while off + DIRENT_NAME_OFF <= n {
        let ino = u64::from_ne_bytes(buf[off..off + 8].try_into().unwrap_or_default());
        let next = i64::from_ne_bytes(buf[off + 8..off + 16].try_into().unwrap_or_default());
        let reclen = usize::from(u16::from_ne_bytes([buf[off + 16], buf[off + 17]]));
        let namlen = usize::from(u16::from_ne_bytes([buf[off + 18], buf[off + 19]]));
        let d_type = buf[off + 20];
        if reclen == 0 || off + reclen > n || DIRENT_NAME_OFF + namlen > reclen {
            break;
        }
        let name = buf[off + DIRENT_NAME_OFF..off + DIRENT_NAME_OFF + namlen].to_vec();
        // Entries with inode 0 are deleted slots some filesystems still return.
        if ino != 0 {
            out.push(HostDirent { ino, d_type, name, next });
        }
        off += reclen;
    }
    Ok(out)
}

/// macOS `fsync` does not flush the drive's cache; `F_FULLFSYNC` does, which
/// is what Linux `fdatasync` promises. Filesystems without it get `fsync`.
pub fn fdatasync(fd: HostFd) -> HostResult<()> {
    // SAFETY: plain fcntl.
    if unsafe { libc::fcntl(fd, libc::F_FULLFSYNC) } == 0 {
        return Ok(());
    }
    // SAFETY: plain call.
    check(unsafe { libc::fsync(fd) })
}

/// sync_file_range(2) with Linux's flags. macOS cannot start the writeback
/// of a range alone: writing and then waiting (what makes the data
/// durable on Linux) is an `fsync` of the file; the other combinations
/// only start or wait for writeback, which the host does by itself.
pub fn sync_file_range(fd: HostFd, _off: i64, _len: i64, flags: u32) -> HostResult<()> {
    let durable = g::SYNC_FILE_RANGE_WRITE | g::SYNC_FILE_RANGE_WAIT_AFTER;
    if flags & durable != durable {
        return Ok(());
    }
    // SAFETY: plain call.
    check(unsafe { libc::fsync(fd) })
}

/// `fallocate` with Linux mode bits: mode 0 and `FALLOC_FL_KEEP_SIZE` use
/// `F_PREALLOCATE` (plus `ftruncate` to extend the size for mode 0).
pub fn fallocate(fd: HostFd, mode: u32, off: i64, len: i64) -> HostResult<()> {
    if mode & !g::FALLOC_FL_KEEP_SIZE != 0 {
        // lossy: punch/zero/collapse/insert ranges have no macOS equivalent
        // here; EOPNOTSUPP is what Linux filesystems without them return.
        return Err(Errno::EOPNOTSUPP);
    }
    if off < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    let end = off.checked_add(len).ok_or(Errno::EFBIG)?;
    let size = crate::host::fs::fstat(fd)?.size;
    if end <= size {
        return Ok(());
    }
    // F_PEOFPOSMODE allocates `fst_length` bytes past the physical end of file.
    let mut store = libc::fstore_t {
        fst_flags: libc::F_ALLOCATEALL,
        fst_posmode: libc::F_PEOFPOSMODE,
        fst_offset: 0,
        fst_length: end - size,
        fst_bytesalloc: 0,
    };
    // SAFETY: `store` is a valid fstore_t for F_PREALLOCATE.
    let r = unsafe { libc::fcntl(fd, libc::F_PREALLOCATE, &mut store as *mut libc::fstore_t) };
    if r < 0 {
        let e = super::errno::last();
        // lossy: filesystems without preallocation still get the size change,
        // so later writes may fail with ENOSPC where Linux guaranteed space.
        if e != Errno::EOPNOTSUPP {
            return Err(e);
        }
    }
    if mode & g::FALLOC_FL_KEEP_SIZE == 0 {
        crate::host::fs::ftruncate(fd, end)?;
    }
    Ok(())
}

/// `renameat2` semantics via `renameatx_np`: `noreplace` is RENAME_EXCL,
/// `exchange` is RENAME_SWAP.
pub fn rename2_at(from: (HostFd, &CStr), to: (HostFd, &CStr), noreplace: bool, exchange: bool) -> HostResult<()> {
    if noreplace && exchange {
        return Err(Errno::EINVAL);
    }
    let mut fl: libc::c_uint = 0;
    if noreplace {
        fl |= libc::RENAME_EXCL;
    }
    if exchange {
        fl |= libc::RENAME_SWAP;
    }
    // SAFETY: valid C strings.
    let r = unsafe { libc::renameatx_np(from.0, from.1.as_ptr(), to.0, to.1.as_ptr(), fl) };
    if r < 0 {
        let e = super::errno::last();
        // Filesystems without RENAME_EXCL (some network ones) answer ENOTSUP; emulate it.
        if e == Errno::EOPNOTSUPP && noreplace {
            return crate::host::fs::rename_unless_exists(from, to);
        }
        return Err(e);
    }
    Ok(())
}

/// The guest-visible name of an inherited host fd (a terminal's device path,
/// or the file's path when it lies under the guest root), from `F_GETPATH`.
/// An extended-attribute call (getxattr(2) and its kin), for the guest
/// and for the runtime's own Linux metadata (vfs/meta.rs): the bytes a Get
/// or List wrote or needs, 0 for Set and Remove. macOS names carry no
/// namespace: a `user.` name is kept as it is (as `mactux rootfs import`
/// writes the metadata), a host name without one is not listed, and the
/// other namespaces hold nothing (ENODATA) and take nothing (EOPNOTSUPP,
/// as a file system without their handlers answers). By path (F_GETPATH)
/// for a name in a directory, as macOS has no *xattrat calls.
pub fn xattr(at: crate::host::XattrAt<'_>, op: crate::host::XattrOp<'_>) -> HostResult<usize> {
    use crate::host::{XattrAt, XattrOp};
    const USER: &[u8] = b"user.";
    let is_set = matches!(op, XattrOp::Set(..));
    let user_only = |n: &CStr| -> HostResult<()> {
        match n.to_bytes().starts_with(USER) {
            true => Ok(()),
            false if is_set => Err(Errno::EOPNOTSUPP),
            false => Err(Errno::ENODATA),
        }
    };
    let (path, fd, options) = match at {
        XattrAt::Name(dir, name) => {
            let mut path = fd_host_path(dir).ok_or(Errno::EBADF)?;
            if !name.is_empty() {
                path.push(b'/');
                path.extend_from_slice(name.to_bytes());
            }
            (Some(std::ffi::CString::new(path).map_err(|_| Errno::EINVAL)?), -1, if name.is_empty() { 0 } else { libc::XATTR_NOFOLLOW })
        }
        XattrAt::Fd(fd) => (None, fd, 0),
    };
    let p = path.as_ref().map_or(core::ptr::null(), |p| p.as_ptr());
    let flags = |f: u32| (if f & 1 != 0 { libc::XATTR_CREATE } else { 0 }) | (if f & 2 != 0 { libc::XATTR_REPLACE } else { 0 });
    let r = match op {
        XattrOp::Get(n, b) => {
            user_only(n)?;
            if p.is_null() {
                // SAFETY: valid C string; the buffer's length is passed.
                unsafe { libc::fgetxattr(fd, n.as_ptr(), b.as_mut_ptr().cast(), b.len(), 0, options) }
            } else {
                // SAFETY: valid C strings; the buffer's length is passed.
                unsafe { libc::getxattr(p, n.as_ptr(), b.as_mut_ptr().cast(), b.len(), 0, options) }
            }
        }
        XattrOp::Set(n, v, f) => {
            user_only(n)?;
            let o = options | flags(f);
            let r = if p.is_null() {
                // SAFETY: valid C string; the value's length is passed.
                unsafe { libc::fsetxattr(fd, n.as_ptr(), v.as_ptr().cast(), v.len(), 0, o) }
            } else {
                // SAFETY: valid C strings; the value's length is passed.
                unsafe { libc::setxattr(p, n.as_ptr(), v.as_ptr().cast(), v.len(), 0, o) }
            };
            r as isize
        }
        XattrOp::Remove(n) => {
            user_only(n)?;
            let r = if p.is_null() {
                // SAFETY: valid C string.
                unsafe { libc::fremovexattr(fd, n.as_ptr(), options) }
            } else {
                // SAFETY: valid C strings.
                unsafe { libc::removexattr(p, n.as_ptr(), options) }
            };
            r as isize
        }
        XattrOp::List(b) => {
            let mut raw = vec![0u8; 64 * 1024];
            let n = if p.is_null() {
                // SAFETY: the buffer's length is passed.
                unsafe { libc::flistxattr(fd, raw.as_mut_ptr().cast(), raw.len(), options) }
            } else {
                // SAFETY: valid C string; the buffer's length is passed.
                unsafe { libc::listxattr(p, raw.as_mut_ptr().cast(), raw.len(), options) }
            };
            let n = usize::try_from(n).map_err(|_| super::errno::last())?;
            let mut out = Vec::new();
            for name in raw[..n].split_inclusive(|&c| c == 0).filter(|s| s.starts_with(USER)) {
                out.extend_from_slice(name);
            }
            if b.is_empty() {
                return Ok(out.len());
            }
            if out.len() > b.len() {
                return Err(Errno::ERANGE);
            }
            b[..out.len()].copy_from_slice(&out);
            return Ok(out.len());
        }
    };
    usize::try_from(r).map_err(|_| super::errno::last())
}

/// The host path of the directory open as `fd` (F_GETPATH).
pub fn dir_path(fd: HostFd) -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    fd_host_path(fd).map(|b| std::path::PathBuf::from(std::ffi::OsString::from_vec(b)))
}

/// The host path of what `fd` names (F_GETPATH), as bytes.
pub(crate) fn fd_host_path(fd: HostFd) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; libc::MAXPATHLEN as usize];
    // SAFETY: F_GETPATH writes at most MAXPATHLEN bytes, NUL-terminated.
    if unsafe { libc::fcntl(fd, libc::F_GETPATH, buf.as_mut_ptr()) } < 0 {
        return None;
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf.truncate(len);
    Some(buf)
}

pub fn fd_guest_name(fd: HostFd) -> Option<String> {
    let path = fd_host_path(fd)?;
    Some(crate::host::fs::guest_name_of_host_path(crate::vfs::path::from_bytes(&path)))
}

/// The host device behind the guest's /dev/pts/N: macOS names its
/// pseudo-terminal replicas /dev/ttysNNN.
pub fn pts_host_path(n: u32) -> String {
    format!("/dev/ttys{n:03}")
}

/// N for a host pseudo-terminal path that the guest calls /dev/pts/N.
pub fn pts_number(host_path: &str) -> Option<u32> {
    let digits = host_path.strip_prefix("/dev/ttys")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The host path of a pseudo-terminal master's replica (TIOCPTYGNAME, the
/// reentrant form of ptsname).
pub fn pty_replica_path(master: HostFd) -> HostResult<String> {
    let mut buf = [0u8; 128];
    // SAFETY: TIOCPTYGNAME writes a NUL-terminated name of at most 128 bytes.
    check(unsafe { libc::ioctl(master, libc::TIOCPTYGNAME as libc::c_ulong, buf.as_mut_ptr()) })?;
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..len]).into_owned())
}

/// Unlocks a pseudo-terminal master's replica. macOS first needs the
/// replica granted to the caller, which Linux's devpts does at open.
/// lossy: macOS cannot lock a replica again; that request is refused.
pub fn pty_set_lock(master: HostFd, locked: bool) -> HostResult<()> {
    if locked {
        return Err(Errno::EINVAL);
    }
    // SAFETY: plain calls on a master fd.
    check(unsafe { libc::grantpt(master) })?;
    // SAFETY: as above.
    check(unsafe { libc::unlockpt(master) })
}

/// The numbers of the host's pseudo-terminals, in ascending order.
pub fn pts_numbers() -> Vec<u32> {
    let mut v: Vec<u32> = std::fs::read_dir("/dev")
        .map(|d| d.filter_map(|e| pts_number(&format!("/dev/{}", e.ok()?.file_name().to_str()?))).collect())
        .unwrap_or_default();
    v.sort_unstable();
    v
}

/// Flushes the filesystem holding `fd`: macOS has no per-filesystem sync.
pub fn syncfs(fd: HostFd) -> HostResult<()> {
    // lossy: sync(2) flushes every filesystem, a superset of what Linux does.
    let _ = fd;
    // SAFETY: plain call.
    unsafe { libc::sync() };
    Ok(())
}

/// tee(2) between two host pipes: macOS has no way to read a pipe's data
/// without consuming it.
pub fn tee(_fd_in: HostFd, _fd_out: HostFd, _len: usize, _nonblock: bool) -> HostResult<usize> {
    Err(crate::abi::Errno::ENOSYS)
}

/// A host pipe's capacity: macOS grows a pipe's buffer up to 64 KiB on
/// its own and has no call to ask it; 64 KiB is Linux's default too.
pub fn pipe_size(_fd: HostFd) -> HostResult<u32> {
    Ok(64 * 1024)
}

/// Linux's answer to F_SETPIPE_SZ (the size rounded up to a power of two
/// pages, at most /proc/sys/fs/pipe-max-size), which macOS cannot apply.
// lossy: the pipe keeps macOS's own sizing, and pipe_size still says 64 KiB.
pub fn set_pipe_size(_fd: HostFd, bytes: u32) -> HostResult<u32> {
    const PIPE_MAX_SIZE: u32 = 1 << 20;
    if bytes > PIPE_MAX_SIZE {
        return Err(Errno::EPERM);
    }
    Ok(bytes.max(4096).next_power_of_two())
}
