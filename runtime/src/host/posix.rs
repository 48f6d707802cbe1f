//! POSIX calls spelt the same on Linux and macOS. Values cross through the
//! per-host tables (`imp::errno`, `imp::flags`), so this file never sees a
//! host-specific number.

pub mod fs {
    use crate::abi::{Errno, Timespec};
    use crate::host::flags;
    use crate::host::imp::errno;
    use crate::host::{HostFd, HostFlock, HostResult, HostStat, HostStatfs, Winsize};
    use std::ffi::CStr;
    use std::io::{IoSlice, IoSliceMut};

    fn check(r: libc::c_int) -> HostResult<libc::c_int> {
        if r < 0 { Err(errno::last()) } else { Ok(r) }
    }

    fn check_size(r: libc::ssize_t) -> HostResult<usize> {
        if r < 0 { Err(errno::last()) } else { Ok(r as usize) }
    }

    fn check_off(r: libc::off_t) -> HostResult<i64> {
        if r < 0 { Err(errno::last()) } else { Ok(r) }
    }

    /// Retries a call that the host interrupted to run one of our own handlers.
    fn retry<T>(mut f: impl FnMut() -> HostResult<T>) -> HostResult<T> {
        loop {
            match f() {
                Err(Errno::EINTR) => continue,
                r => return r,
            }
        }
    }

    /// The guest's name for a host path that an inherited fd refers to: a
    /// pseudo-terminal becomes /dev/pts/N, other devices keep their name, and
    /// a file under the guest root loses the root prefix.
    pub fn guest_name_of_host_path(s: String) -> String {
        if let Some(n) = crate::host::imp::fs::pts_number(&s) {
            return format!("/dev/pts/{n}");
        }
        let root = crate::vfs::path::from_bytes(crate::task::current().config.root.as_os_str().as_encoded_bytes());
        let root = root.trim_end_matches('/');
        if root.is_empty() || s.starts_with("/dev/") {
            return s;
        }
        match s.strip_prefix(root).filter(|r| r.starts_with('/')) {
            Some(r) => r.to_string(),
            None => s,
        }
    }

    /// Opens `path` with Linux `O_*` flags; the host fd is always close-on-exec,
    /// the guest's own close-on-exec bit lives in the guest fd table.
    pub fn open(path: &CStr, linux_flags: u32, mode: u32) -> HostResult<HostFd> {
        let host_flags = flags::open_to_host(linux_flags)? | libc::O_CLOEXEC;
        // No retry on EINTR: opening a FIFO or a terminal sleeps, and a guest
        // signal must interrupt it (trap::dispatch restarts the call when no
        // guest handler runs, as Linux would never have interrupted it).
        // SAFETY: `path` is a valid NUL-terminated string.
        check(unsafe { libc::open(path.as_ptr(), host_flags, mode as libc::c_uint) })
    }

    pub fn close(fd: HostFd) {
        // SAFETY: closing a host fd we own; errors are meaningless after close.
        unsafe { libc::close(fd) };
    }

    pub fn dup(fd: HostFd) -> HostResult<HostFd> {
        // SAFETY: plain fcntl on an fd.
        check(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) })
    }

    pub fn read(fd: HostFd, buf: &mut [u8]) -> HostResult<usize> {
        // SAFETY: `buf` is a valid writable slice of its length.
        check_size(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })
    }

    pub fn write(fd: HostFd, buf: &[u8]) -> HostResult<usize> {
        // SAFETY: `buf` is a valid readable slice of its length.
        check_size(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })
    }

    /// `read` into memory the runtime does not own: a guest buffer, which
    /// the host kernel checks itself (EFAULT if a racing munmap removed it;
    /// it never faults the runtime).
    ///
    /// # Safety
    /// `[buf, buf+len)` must not be memory the runtime uses for itself.
    pub unsafe fn read_raw(fd: HostFd, buf: u64, len: usize) -> HostResult<usize> {
        // SAFETY: per the contract; the kernel validates the range.
        check_size(unsafe { libc::read(fd, buf as *mut libc::c_void, len) })
    }

    /// `write` from a guest buffer, as [`read_raw`].
    ///
    /// # Safety
    /// As [`read_raw`].
    pub unsafe fn write_raw(fd: HostFd, buf: u64, len: usize) -> HostResult<usize> {
        // SAFETY: per the contract; the kernel validates the range.
        check_size(unsafe { libc::write(fd, buf as *const libc::c_void, len) })
    }

    /// `pread` into a guest buffer, as [`read_raw`].
    ///
    /// # Safety
    /// As [`read_raw`].
    pub unsafe fn pread_raw(fd: HostFd, buf: u64, len: usize, off: i64) -> HostResult<usize> {
        // SAFETY: per the contract; the kernel validates the range.
        check_size(unsafe { libc::pread(fd, buf as *mut libc::c_void, len, off) })
    }

    /// `pwrite` from a guest buffer, as [`read_raw`].
    ///
    /// # Safety
    /// As [`read_raw`].
    pub unsafe fn pwrite_raw(fd: HostFd, buf: u64, len: usize, off: i64) -> HostResult<usize> {
        // SAFETY: per the contract; the kernel validates the range.
        check_size(unsafe { libc::pwrite(fd, buf as *const libc::c_void, len, off) })
    }

    /// Writes all of `buf`, going on after short writes and EINTR.
    pub fn write_all(fd: HostFd, mut buf: &[u8]) -> HostResult<()> {
        while !buf.is_empty() {
            match retry(|| write(fd, buf))? {
                0 => return Err(Errno::EIO),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// One `read` that a signal of ours (a kick) does not cut short.
    pub fn read_retrying(fd: HostFd, buf: &mut [u8]) -> HostResult<usize> {
        retry(|| read(fd, buf))
    }

    /// Reads `fd` to its end (retrying EINTR), keeping at most `limit`
    /// bytes; the flag says whether more than that arrived.
    pub fn read_to_end(fd: HostFd, limit: usize) -> HostResult<(Vec<u8>, bool)> {
        let mut data = Vec::new();
        let mut too_long = false;
        // Small first: what is read here (a handover, a vfork child's
        // stack changes) is a few KiB, and every page of a zeroed buffer
        // is a page fault in a process that has just started. A read that
        // fills the buffer doubles it, up to 64 KiB.
        let mut buf = vec![0u8; 8 * 1024];
        loop {
            match retry(|| read(fd, &mut buf))? {
                0 => return Ok((data, too_long)),
                n => {
                    // Keep draining, so a writer is never left blocked.
                    too_long |= data.len() + n > limit;
                    if !too_long {
                        data.extend_from_slice(&buf[..n]);
                    }
                    if n == buf.len() && buf.len() < 64 * 1024 {
                        buf.resize(buf.len() * 2, 0);
                    }
                }
            }
        }
    }

    pub fn pread(fd: HostFd, buf: &mut [u8], off: i64) -> HostResult<usize> {
        // SAFETY: as `read`.
        check_size(unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), off) })
    }

    pub fn pwrite(fd: HostFd, buf: &[u8], off: i64) -> HostResult<usize> {
        // SAFETY: as `write`.
        check_size(unsafe { libc::pwrite(fd, buf.as_ptr().cast(), buf.len(), off) })
    }

    pub fn readv(fd: HostFd, bufs: &mut [IoSliceMut<'_>]) -> HostResult<usize> {
        let n = bufs.len().min(libc::c_int::MAX as usize) as libc::c_int;
        // SAFETY: IoSliceMut is ABI-compatible with struct iovec on unix hosts.
        check_size(unsafe { libc::readv(fd, bufs.as_mut_ptr().cast(), n) })
    }

    pub fn writev(fd: HostFd, bufs: &[IoSlice<'_>]) -> HostResult<usize> {
        let n = bufs.len().min(libc::c_int::MAX as usize) as libc::c_int;
        // SAFETY: IoSlice is ABI-compatible with struct iovec on unix hosts.
        check_size(unsafe { libc::writev(fd, bufs.as_ptr().cast(), n) })
    }

    pub fn lseek(fd: HostFd, off: i64, linux_whence: u32) -> HostResult<i64> {
        let whence = flags::whence_to_host(linux_whence)?;
        // SAFETY: plain lseek.
        check_off(unsafe { libc::lseek(fd, off, whence) })
    }

    // -----------------------------------------------------------------------
    // Names inside a held directory.
    //
    // The guest's paths are walked by the VFS one component at a time from a
    // directory fd of the guest root (vfs/walk.rs); every call below acts on
    // one name inside such a directory fd and never follows a symlink in that
    // name, so a guest that swaps a directory for a symlink between the walk
    // and the call gets an error, never a file outside its root. `dir` may be
    // [`CWD`] for a trusted absolute host path (a terminal under /dev/pts).

    /// The `dir` of a trusted absolute host path.
    pub const CWD: HostFd = libc::AT_FDCWD;

    /// `name` as the host's *at calls want it: the empty name is the
    /// directory itself.
    fn at_name(name: &CStr) -> &CStr {
        if name.is_empty() { c"." } else { name }
    }

    /// Opens `name` in `dir` with Linux `O_*` flags. A symlink as the last
    /// component is not followed (ELOOP; with O_PATH on Linux hosts, the
    /// link itself). The host fd is always close-on-exec.
    pub fn open_at(dir: HostFd, name: &CStr, linux_flags: u32, mode: u32) -> HostResult<HostFd> {
        let host_flags = flags::open_to_host(linux_flags)? | libc::O_CLOEXEC | libc::O_NOFOLLOW;
        // No retry on EINTR: opening a FIFO or a terminal sleeps, and a guest
        // signal must interrupt it (see `open`).
        // SAFETY: `name` is a valid NUL-terminated string.
        check(unsafe { libc::openat(dir, at_name(name).as_ptr(), host_flags, mode as libc::c_uint) })
    }

    /// A directory handle for walking further down: `name` must be a
    /// directory, not a symlink to one (then ENOTDIR or ELOOP).
    pub fn open_dir_at(dir: HostFd, name: &CStr) -> HostResult<HostFd> {
        let fl = crate::host::imp::fs::WALK_DIR_FLAGS | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: valid C string.
        retry(|| check(unsafe { libc::openat(dir, at_name(name).as_ptr(), fl) }))
    }

    /// Metadata of `name` itself (a symlink is not followed).
    pub fn stat_at(dir: HostFd, name: &CStr) -> HostResult<HostStat> {
        crate::host::imp::fs::stat_nofollow_at(dir, at_name(name))
    }

    pub fn readlink_at(dir: HostFd, name: &CStr) -> HostResult<Vec<u8>> {
        let mut buf = vec![0u8; 4096];
        // SAFETY: buf is writable for its length.
        let n = check_size(unsafe { libc::readlinkat(dir, at_name(name).as_ptr(), buf.as_mut_ptr().cast(), buf.len()) })?;
        buf.truncate(n);
        Ok(buf)
    }

    pub fn mkdir_at(dir: HostFd, name: &CStr, mode: u32) -> HostResult<()> {
        // SAFETY: valid C string.
        check(unsafe { libc::mkdirat(dir, name.as_ptr(), mode as libc::mode_t) }).map(drop)
    }

    pub fn mkfifo_at(dir: HostFd, name: &CStr, mode: u32) -> HostResult<()> {
        // SAFETY: valid C string.
        check(unsafe { libc::mkfifoat(dir, name.as_ptr(), mode as libc::mode_t) }).map(drop)
    }

    pub fn rmdir_at(dir: HostFd, name: &CStr) -> HostResult<()> {
        // SAFETY: valid C string.
        check(unsafe { libc::unlinkat(dir, name.as_ptr(), libc::AT_REMOVEDIR) }).map(drop)
    }

    pub fn unlink_at(dir: HostFd, name: &CStr) -> HostResult<()> {
        // SAFETY: valid C string.
        check(unsafe { libc::unlinkat(dir, name.as_ptr(), 0) }).map(drop)
    }

    /// rename(2) between two names; neither is followed if it is a symlink.
    pub fn rename_at(from: (HostFd, &CStr), to: (HostFd, &CStr)) -> HostResult<()> {
        // SAFETY: valid C strings.
        check(unsafe { libc::renameat(from.0, from.1.as_ptr(), to.0, to.1.as_ptr()) }).map(drop)
    }

    /// RENAME_NOREPLACE for filesystems that lack it: refuse when the target
    /// exists, else rename (not atomic against a concurrent creator).
    pub fn rename_unless_exists(from: (HostFd, &CStr), to: (HostFd, &CStr)) -> HostResult<()> {
        if stat_at(to.0, to.1).is_ok() {
            return Err(Errno::EEXIST);
        }
        rename_at(from, to)
    }

    /// A hard link; `from` is not followed if it is a symlink (linkat without
    /// AT_SYMLINK_FOLLOW, as link(2) on Linux).
    pub fn link_at(from: (HostFd, &CStr), to: (HostFd, &CStr)) -> HostResult<()> {
        // SAFETY: valid C strings.
        check(unsafe { libc::linkat(from.0, at_name(from.1).as_ptr(), to.0, to.1.as_ptr(), 0) }).map(drop)
    }

    /// Creates the symlink `name` in `dir`; `target` is stored as given.
    pub fn symlink_at(target: &CStr, dir: HostFd, name: &CStr) -> HostResult<()> {
        // SAFETY: valid C strings.
        check(unsafe { libc::symlinkat(target.as_ptr(), dir, name.as_ptr()) }).map(drop)
    }

    pub fn fchmod(fd: HostFd, mode: u32) -> HostResult<()> {
        // SAFETY: plain call.
        check(unsafe { libc::fchmod(fd, mode as libc::mode_t) }).map(drop)
    }

    /// chown of `name` itself (lchown: a symlink is not followed). `uid`/`gid`
    /// of `u32::MAX` leave that id unchanged, as in Linux.
    pub fn chown_at(dir: HostFd, name: &CStr, uid: u32, gid: u32) -> HostResult<()> {
        // SAFETY: valid C string.
        check(unsafe { libc::fchownat(dir, at_name(name).as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) }).map(drop)
    }

    pub fn fchown(fd: HostFd, uid: u32, gid: u32) -> HostResult<()> {
        // SAFETY: plain call.
        check(unsafe { libc::fchown(fd, uid, gid) }).map(drop)
    }

    /// Times of `name` itself, as `utimensat` takes them: `None` means
    /// UTIME_OMIT, `Some(None)` UTIME_NOW.
    pub fn utimens_at(dir: HostFd, name: &CStr, times: [Option<Option<Timespec>>; 2]) -> HostResult<()> {
        let ts = times.map(flags::utime_to_host);
        // SAFETY: valid C string and a two-element timespec array.
        check(unsafe { libc::utimensat(dir, at_name(name).as_ptr(), ts.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) }).map(drop)
    }

    pub fn futimens(fd: HostFd, times: [Option<Option<Timespec>>; 2]) -> HostResult<()> {
        let ts = times.map(flags::utime_to_host);
        // SAFETY: two-element timespec array.
        check(unsafe { libc::futimens(fd, ts.as_ptr()) }).map(drop)
    }

    /// truncate(2) of `name`: there is no truncateat, so the file is opened
    /// for writing (what truncate requires anyway) without following a
    /// symlink, and truncated through the fd.
    pub fn truncate_at(dir: HostFd, name: &CStr, len: i64) -> HostResult<()> {
        use linux_raw_sys::general as g;
        let fd = open_at(dir, name, g::O_WRONLY | g::O_NONBLOCK | g::O_NOCTTY, 0)?;
        let r = fstat(fd).and_then(|st| {
            // do_sys_truncate (fs/open.c): only regular files have a length to set.
            if st.mode & g::S_IFMT != g::S_IFREG { Err(Errno::EINVAL) } else { ftruncate(fd, len) }
        });
        close(fd);
        r
    }

    pub fn ftruncate(fd: HostFd, len: i64) -> HostResult<()> {
        // SAFETY: plain call.
        retry(|| check(unsafe { libc::ftruncate(fd, len) })).map(drop)
    }

    pub fn sync_all() {
        // SAFETY: plain call.
        unsafe { libc::sync() };
    }

    pub fn fsync(fd: HostFd) -> HostResult<()> {
        // SAFETY: plain call.
        check(unsafe { libc::fsync(fd) }).map(drop)
    }

    /// access(2) of `name` itself (a symlink is not followed: the VFS has
    /// already followed the ones the guest asked for).
    pub fn access_at(dir: HostFd, name: &CStr, linux_mode: u32, use_effective_ids: bool) -> HostResult<()> {
        let mode = flags::access_to_host(linux_mode)?;
        let fl = libc::AT_SYMLINK_NOFOLLOW | if use_effective_ids { libc::AT_EACCESS } else { 0 };
        // SAFETY: valid C string.
        check(unsafe { libc::faccessat(dir, at_name(name).as_ptr(), mode, fl) }).map(drop)
    }

    /// statfs of the filesystem holding `name` (a symlink is not followed).
    pub fn statfs_at(dir: HostFd, name: &CStr) -> HostResult<HostStatfs> {
        let fd = match open_dir_at(dir, name) {
            Ok(fd) => fd,
            // Not a directory: the file's own filesystem, through a handle that cannot follow a link.
            Err(Errno::ENOTDIR) => crate::host::imp::fs::open_handle_at(dir, at_name(name))?,
            Err(e) => return Err(e),
        };
        let r = fstatfs(fd);
        close(fd);
        r
    }

    /// The file status flags (`F_GETFL`) in Linux terms.
    pub fn get_status_flags(fd: HostFd) -> HostResult<u32> {
        // SAFETY: plain fcntl.
        let host = check(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
        Ok(flags::open_from_host(host))
    }

    /// `F_SETFL` with Linux flags; only the bits Linux lets change are passed on.
    pub fn set_status_flags(fd: HostFd, linux_flags: u32) -> HostResult<()> {
        let host = flags::setfl_to_host(linux_flags);
        // SAFETY: plain fcntl.
        check(unsafe { libc::fcntl(fd, libc::F_SETFL, host) }).map(drop)
    }

    /// `F_GETLK`/`F_SETLK`/`F_SETLKW` with a Linux-valued lock description.
    pub fn record_lock(fd: HostFd, linux_cmd: u32, lock: &mut HostFlock) -> HostResult<()> {
        let cmd = flags::lock_cmd_to_host(linux_cmd)?;
        let mut fl = flags::flock_to_host(lock)?;
        // SAFETY: `fl` is a valid struct flock.
        check(unsafe { libc::fcntl(fd, cmd, &mut fl as *mut libc::flock) })?;
        *lock = flags::flock_from_host(&fl);
        Ok(())
    }

    /// A host pipe: (read end, write end), both close-on-exec.
    pub fn pipe() -> HostResult<(HostFd, HostFd)> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` holds two ints.
        check(unsafe { libc::pipe(fds.as_mut_ptr()) })?;
        for fd in fds {
            // SAFETY: fds we just created.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        Ok((fds[0], fds[1]))
    }

    /// flock(2) with Linux `LOCK_*` bits.
    pub fn whole_file_lock(fd: HostFd, linux_op: u32) -> HostResult<()> {
        use linux_raw_sys::general as g;
        let mut op = match linux_op & !g::LOCK_NB {
            g::LOCK_SH => libc::LOCK_SH,
            g::LOCK_EX => libc::LOCK_EX,
            g::LOCK_UN => libc::LOCK_UN,
            _ => return Err(Errno::EINVAL),
        };
        if linux_op & g::LOCK_NB != 0 {
            op |= libc::LOCK_NB;
        }
        // SAFETY: plain call.
        check(unsafe { libc::flock(fd, op) }).map(drop)
    }

    /// The host fds open in this process right now (what it inherited, when
    /// called first thing), in ascending order.
    pub fn open_fds() -> Vec<HostFd> {
        let mut fds: Vec<HostFd> = match std::fs::read_dir(crate::host::imp::fs::FD_DIR) {
            Ok(dir) => dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect(),
            Err(_) => (0..3).collect(),
        };
        // The listing's own fd is closed by now: keep only fds still open.
        // SAFETY: F_GETFD only queries.
        fds.retain(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0);
        fds.sort_unstable();
        fds
    }

    /// Sets or clears the host close-on-exec flag of a host fd.
    pub fn set_host_cloexec(fd: HostFd, on: bool) -> HostResult<()> {
        // SAFETY: plain fcntl.
        let r = unsafe { libc::fcntl(fd, libc::F_SETFD, if on { libc::FD_CLOEXEC } else { 0 }) };
        check(r).map(drop)
    }

    /// Receives what is already queued on a socket without blocking:
    /// Err(EAGAIN) when nothing is, Ok(0) at end of stream.
    pub fn recv_nowait(fd: HostFd, buf: &mut [u8]) -> HostResult<usize> {
        // SAFETY: `buf` is a valid writable slice of its length.
        check_size(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) })
    }

    /// Takes ownership of a Unix-socket fd handed over across execve.
    pub fn adopt_unix_stream(fd: HostFd) -> std::os::unix::net::UnixStream {
        use std::os::fd::FromRawFd;
        // SAFETY: the caller passes an fd it owns exclusively (inherited
        // across the host exec by number, referenced by nothing else).
        unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd) }
    }

    /// poll(2) over host fds: (fd, Linux events, Linux revents out).
    pub fn poll(fds: &mut [(HostFd, u32, u32)], timeout_ms: i32) -> HostResult<usize> {
        use linux_raw_sys::general as g;
        let mut p: Vec<libc::pollfd> =
            fds.iter().map(|(fd, ev, _)| libc::pollfd { fd: *fd, events: flags::poll_to_host(*ev), revents: 0 }).collect();
        // SAFETY: `p` holds p.len() valid pollfd entries.
        let n = unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, timeout_ms) };
        if n < 0 {
            return Err(errno::last());
        }
        for (slot, hp) in fds.iter_mut().zip(&p) {
            slot.2 = flags::poll_from_host(hp.revents);
            // Without a host bit for it: a readable socket whose next
            // receive would be the end of the stream.
            let readable = hp.revents & (libc::POLLIN | libc::POLLHUP) != 0;
            if flags::POLLRDHUP.is_none() && slot.1 & g::POLLRDHUP != 0 && readable {
                let mut byte = [0u8; 1];
                // SAFETY: `byte` is a valid writable buffer of length 1.
                let r = unsafe { libc::recv(slot.0, byte.as_mut_ptr().cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
                if r == 0 {
                    slot.2 |= g::POLLRDHUP;
                }
            }
        }
        Ok(n as usize)
    }

    /// An anonymous temporary file in `dir` (created, then unlinked), its
    /// short-lived name starting with `prefix`.
    pub fn anonymous_file(dir: &std::path::Path, prefix: &str) -> HostResult<HostFd> {
        let template = dir.join(format!("{prefix}XXXXXX"));
        let mut bytes = template.as_os_str().as_encoded_bytes().to_vec();
        bytes.push(0);
        // SAFETY: `bytes` is a writable NUL-terminated template.
        let fd = check(unsafe { libc::mkstemp(bytes.as_mut_ptr().cast()) })?;
        // SAFETY: the same template, now naming the file.
        unsafe { libc::unlink(bytes.as_ptr().cast()) };
        set_host_cloexec(fd, true)?;
        Ok(fd)
    }

    pub fn isatty(fd: HostFd) -> bool {
        // SAFETY: plain call.
        unsafe { libc::isatty(fd) == 1 }
    }

    pub fn window_size(fd: HostFd) -> HostResult<Winsize> {
        let mut ws: libc::winsize = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: TIOCGWINSZ writes one struct winsize.
        check(unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) })?;
        Ok(Winsize { rows: ws.ws_row, cols: ws.ws_col, xpixel: ws.ws_xpixel, ypixel: ws.ws_ypixel })
    }

    pub fn set_window_size(fd: HostFd, w: Winsize) -> HostResult<()> {
        let ws = libc::winsize { ws_row: w.rows, ws_col: w.cols, ws_xpixel: w.xpixel, ws_ypixel: w.ypixel };
        // SAFETY: TIOCSWINSZ reads one struct winsize.
        check(unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) }).map(drop)
    }

    /// Bytes ready to read (`FIONREAD`).
    pub fn bytes_readable(fd: HostFd) -> HostResult<i32> {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int.
        check(unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) })?;
        Ok(n)
    }

    /// Makes the terminal the caller's controlling terminal (TIOCSCTTY);
    /// `steal` takes it from another session, as root may.
    pub fn set_controlling_terminal(fd: HostFd, steal: bool) -> HostResult<()> {
        // SAFETY: TIOCSCTTY takes an int by value.
        check(unsafe { libc::ioctl(fd, libc::TIOCSCTTY as _, libc::c_int::from(steal)) }).map(drop)
    }

    /// Gives up the caller's controlling terminal (TIOCNOTTY).
    pub fn release_controlling_terminal(fd: HostFd) -> HostResult<()> {
        // SAFETY: TIOCNOTTY takes no argument.
        check(unsafe { libc::ioctl(fd, libc::TIOCNOTTY as _, 0) }).map(drop)
    }

    /// Makes a host process group the terminal's foreground group.
    pub fn set_foreground_pgrp(fd: HostFd, pgrp: i32) -> HostResult<()> {
        // SAFETY: plain call.
        check(unsafe { libc::tcsetpgrp(fd, pgrp) }).map(drop)
    }

    /// Foreground process group of the terminal, as a host pid.
    pub fn foreground_pgrp(fd: HostFd) -> HostResult<i32> {
        // SAFETY: plain call.
        check(unsafe { libc::tcgetpgrp(fd) })
    }

    /// The terminal attributes, already in Linux `struct termios` layout.
    pub fn tcgetattr(fd: HostFd) -> HostResult<flags::LinuxTermios> {
        // SAFETY: zeroed termios is a valid out-parameter.
        let mut t: libc::termios = unsafe { core::mem::zeroed() };
        // SAFETY: `t` is a valid termios.
        check(unsafe { libc::tcgetattr(fd, &mut t) })?;
        Ok(flags::termios_from_host(&t))
    }

    /// `when` is 0, 1 or 2 for `TCSETS`, `TCSETSW`, `TCSETSF`.
    pub fn tcsetattr(fd: HostFd, when: u32, t: &flags::LinuxTermios) -> HostResult<()> {
        // SAFETY: zeroed termios then filled from the guest value.
        let mut host: libc::termios = unsafe { core::mem::zeroed() };
        // SAFETY: `host` is a valid termios.
        check(unsafe { libc::tcgetattr(fd, &mut host) })?;
        flags::termios_to_host(t, &mut host);
        let action = match when {
            0 => libc::TCSANOW,
            1 => libc::TCSADRAIN,
            _ => libc::TCSAFLUSH,
        };
        // SAFETY: `host` is a valid termios.
        check(unsafe { libc::tcsetattr(fd, action, &host) }).map(drop)
    }


    pub fn fstat(fd: HostFd) -> HostResult<HostStat> {
        // SAFETY: zeroed stat is a valid out-parameter.
        let mut s: libc::stat = unsafe { core::mem::zeroed() };
        // SAFETY: `s` is valid for writes.
        check(unsafe { libc::fstat(fd, &mut s) })?;
        Ok(crate::host::imp::fs::from_host_stat(&s))
    }

    pub fn stat(path: &CStr, follow: bool) -> HostResult<HostStat> {
        // SAFETY: zeroed stat is a valid out-parameter.
        let mut s: libc::stat = unsafe { core::mem::zeroed() };
        // SAFETY: valid C string and out-parameter.
        let r = unsafe { if follow { libc::stat(path.as_ptr(), &mut s) } else { libc::lstat(path.as_ptr(), &mut s) } };
        check(r)?;
        Ok(crate::host::imp::fs::from_host_stat(&s))
    }

    pub fn fstatfs(fd: HostFd) -> HostResult<HostStatfs> {
        // SAFETY: zeroed statfs is a valid out-parameter.
        let mut s: libc::statfs = unsafe { core::mem::zeroed() };
        // SAFETY: out-parameter valid.
        check(unsafe { libc::fstatfs(fd, &mut s) })?;
        Ok(crate::host::imp::fs::from_host_statfs(&s))
    }

    /// Positions a directory fd at a cookie a previous [`read_dir`] returned.
    pub fn seek_dir(fd: HostFd, cookie: i64) -> HostResult<()> {
        // SAFETY: plain lseek.
        if unsafe { libc::lseek(fd, cookie, libc::SEEK_SET) } < 0 { Err(crate::host::imp::errno::last()) } else { Ok(()) }
    }
}

/// Flag rows that read the same on both hosts: Linux constant → libc constant,
/// with libc supplying each host's own value.
pub mod flags {
    use crate::abi::{Errno, Timespec};
    use crate::host::{HostFlock, HostResult, Prot};
    use linux_raw_sys::general as g;

    /// The kernel's `struct termios` (what TCGETS/TCSETS carry), 36 bytes;
    /// each host translates its own `termios` to and from it.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct LinuxTermios {
        pub iflag: u32,
        pub oflag: u32,
        pub cflag: u32,
        pub lflag: u32,
        pub line: u8,
        pub cc: [u8; 19],
    }

    /// Linux whence values from host ones (macOS numbers SEEK_HOLE and
    /// SEEK_DATA the other way round).
    fn whence_from_host(w: i16) -> i16 {
        let linux = match i32::from(w) {
            libc::SEEK_CUR => g::SEEK_CUR,
            libc::SEEK_END => g::SEEK_END,
            libc::SEEK_DATA => g::SEEK_DATA,
            libc::SEEK_HOLE => g::SEEK_HOLE,
            _ => g::SEEK_SET,
        };
        linux as i16
    }

    // The F_*LCK constants are `short` on macOS and `int` on Linux.
    #[allow(clippy::unnecessary_cast)]
    fn lock_type_to_host(t: i16) -> HostResult<i16> {
        Ok(match t as u32 {
            g::F_RDLCK => libc::F_RDLCK as i16,
            g::F_WRLCK => libc::F_WRLCK as i16,
            g::F_UNLCK => libc::F_UNLCK as i16,
            _ => return Err(Errno::EINVAL),
        })
    }

    /// A Linux record lock as the host's `struct flock` (fields set by name:
    /// macOS orders them differently).
    pub fn flock_to_host(l: &HostFlock) -> HostResult<libc::flock> {
        Ok(libc::flock {
            l_type: lock_type_to_host(l.l_type)?,
            l_whence: whence_to_host(l.whence as u32)? as i16,
            l_start: l.start,
            l_len: l.len,
            l_pid: l.pid,
        })
    }

    #[allow(clippy::unnecessary_cast)]
    pub fn flock_from_host(f: &libc::flock) -> HostFlock {
        let t = f.l_type as i32;
        let l_type = if t == libc::F_RDLCK as i32 {
            g::F_RDLCK
        } else if t == libc::F_WRLCK as i32 {
            g::F_WRLCK
        } else {
            g::F_UNLCK
        } as i16;
        HostFlock { l_type, whence: whence_from_host(f.l_whence), start: f.l_start, len: f.l_len, pid: f.l_pid }
    }

    /// poll(2) event bits. macOS's POLLWRNORM equals POLLOUT and its
    /// POLLRDBAND/WRBAND differ from Linux's, hence the table.
    const POLL_BITS: &[(u32, i16)] = &[
        (g::POLLIN, libc::POLLIN),
        (g::POLLPRI, libc::POLLPRI),
        (g::POLLOUT, libc::POLLOUT),
        (g::POLLERR, libc::POLLERR),
        (g::POLLHUP, libc::POLLHUP),
        (g::POLLNVAL, libc::POLLNVAL),
        (g::POLLRDNORM, libc::POLLRDNORM),
        (g::POLLRDBAND, libc::POLLRDBAND),
        (g::POLLWRNORM, libc::POLLWRNORM),
        (g::POLLWRBAND, libc::POLLWRBAND),
    ];

    pub fn poll_to_host(linux: u32) -> i16 {
        let bits = POLL_BITS.iter().filter(|(l, _)| linux & l != 0).fold(0, |a, (_, h)| a | h);
        match (linux & g::POLLRDHUP != 0, crate::host::imp::flags::POLLRDHUP) {
            (false, _) => bits,
            (true, Some(rdhup)) => bits | rdhup,
            // The peer's end makes the socket readable (see `fs::poll`).
            (true, None) => bits | libc::POLLIN,
        }
    }

    pub fn poll_from_host(host: i16) -> u32 {
        let bits = POLL_BITS.iter().filter(|(_, h)| host & h == *h && *h != 0).fold(0, |a, (l, _)| a | l);
        match crate::host::imp::flags::POLLRDHUP {
            Some(rdhup) if host & rdhup != 0 => bits | g::POLLRDHUP,
            _ => bits,
        }
    }

    pub fn access_to_host(mode: u32) -> HostResult<i32> {
        const ROWS: &[(u32, i32)] = &[(g::R_OK, libc::R_OK), (g::W_OK, libc::W_OK), (g::X_OK, libc::X_OK)];
        if mode & !(g::R_OK | g::W_OK | g::X_OK) != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(ROWS.iter().filter(|(l, _)| mode & l != 0).fold(libc::F_OK, |a, (_, h)| a | h))
    }

    pub fn prot_to_host(p: Prot) -> i32 {
        (if p.read { libc::PROT_READ } else { 0 })
            | (if p.write { libc::PROT_WRITE } else { 0 })
            | (if p.exec { libc::PROT_EXEC } else { 0 })
    }

    /// Linux MS_SYNC is 4; macOS's is 0x10.
    pub fn msync_to_host(linux: u32) -> HostResult<i32> {
        const ROWS: &[(u32, i32)] =
            &[(g::MS_ASYNC, libc::MS_ASYNC), (g::MS_SYNC, libc::MS_SYNC), (g::MS_INVALIDATE, libc::MS_INVALIDATE)];
        Ok(ROWS.iter().filter(|(l, _)| linux & l != 0).fold(0, |a, (_, h)| a | h))
    }

    /// `None` = UTIME_OMIT, `Some(None)` = UTIME_NOW. Linux uses (1<<30)-2 and
    /// (1<<30)-1, macOS -2 and -1, so these never pass through unchanged.
    pub fn utime_to_host(t: Option<Option<Timespec>>) -> libc::timespec {
        match t {
            None => libc::timespec { tv_sec: 0, tv_nsec: libc::UTIME_OMIT },
            Some(None) => libc::timespec { tv_sec: 0, tv_nsec: libc::UTIME_NOW },
            Some(Some(ts)) => libc::timespec { tv_sec: ts.sec, tv_nsec: ts.nsec },
        }
    }

    /// Host status flags (`F_GETFL`) back to Linux flags.
    pub fn open_from_host(host: i32) -> u32 {
        let mut out = crate::host::imp::flags::OPEN_FLAGS
            .iter()
            .filter(|(_, h)| *h != 0 && host & h == *h)
            .fold(0, |acc, (l, _)| acc | l);
        // Linux reports O_LARGEFILE on every 64-bit open file description.
        out |= g::O_LARGEFILE;
        out
    }

    /// The `F_SETFL` bits Linux lets a caller change.
    pub fn setfl_to_host(linux: u32) -> i32 {
        let settable = g::O_APPEND | g::O_NONBLOCK | g::FASYNC | g::O_DIRECT | g::O_NOATIME;
        crate::host::imp::flags::open_to_host(linux & settable).unwrap_or(0)
    }

    /// macOS numbers SEEK_HOLE 3 and SEEK_DATA 4: the reverse of Linux.
    pub fn whence_to_host(w: u32) -> HostResult<i32> {
        Ok(match w {
            g::SEEK_SET => libc::SEEK_SET,
            g::SEEK_CUR => libc::SEEK_CUR,
            g::SEEK_END => libc::SEEK_END,
            g::SEEK_DATA => libc::SEEK_DATA,
            g::SEEK_HOLE => libc::SEEK_HOLE,
            _ => return Err(Errno::EINVAL),
        })
    }
}

/// Clocks and sleeping; the clock-id table is per host (`imp::time`).
pub mod time {
    use crate::abi::{Errno, Timespec};
    use crate::host::imp::{errno, time::clock_to_host};
    use crate::host::HostResult;

    pub fn clock_gettime(clock: u32) -> HostResult<Timespec> {
        let id = clock_to_host(clock).ok_or(Errno::EINVAL)?;
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: valid out-parameter.
        if unsafe { libc::clock_gettime(id, &mut ts) } < 0 {
            return Err(errno::last());
        }
        Ok(Timespec { sec: ts.tv_sec, nsec: ts.tv_nsec })
    }

    pub fn clock_getres(clock: u32) -> HostResult<Timespec> {
        let id = clock_to_host(clock).ok_or(Errno::EINVAL)?;
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: valid out-parameter.
        if unsafe { libc::clock_getres(id, &mut ts) } < 0 {
            return Err(errno::last());
        }
        Ok(Timespec { sec: ts.tv_sec, nsec: ts.tv_nsec })
    }

    /// Sleeps for `d`; on interruption returns EINTR and the time left.
    pub fn sleep(d: Timespec) -> Result<(), (Errno, Timespec)> {
        let req = libc::timespec { tv_sec: d.sec, tv_nsec: d.nsec };
        let mut rem = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: valid in/out parameters.
        if unsafe { libc::nanosleep(&req, &mut rem) } < 0 {
            return Err((errno::last(), Timespec { sec: rem.tv_sec, nsec: rem.tv_nsec }));
        }
        Ok(())
    }
}

pub mod mem {
    use crate::host::flags;
    use crate::host::imp::errno;
    use crate::host::{HostResult, MapRequest, Placement, Prot};

    /// Maps memory as `req` says; returns the host address (which is the guest address).
    pub fn map(req: &MapRequest) -> HostResult<u64> {
        let prot = flags::prot_to_host(req.prot);
        let mut fl = if req.is_shared { libc::MAP_SHARED } else { libc::MAP_PRIVATE };
        let (fd, off) = match req.file {
            Some((fd, off)) => (fd, off as libc::off_t),
            None => {
                fl |= libc::MAP_ANON;
                (-1, 0)
            }
        };
        if req.placement == Placement::Replace {
            fl |= libc::MAP_FIXED;
        }
        if req.noreserve {
            fl |= libc::MAP_NORESERVE;
        }
        // The host has no portable MAP_FIXED_NOREPLACE: ask for the address as a
        // hint and give it back if the host put the mapping elsewhere.
        // SAFETY: mmap with validated arguments; a fixed mapping only replaces
        // guest memory (the caller checked the range against the guest's map).
        let p = unsafe { libc::mmap(req.addr as *mut libc::c_void, req.len as usize, prot, fl, fd, off) };
        if p == libc::MAP_FAILED {
            return Err(errno::last());
        }
        let got = p as u64;
        if req.placement == Placement::NoReplace && got != req.addr {
            // SAFETY: unmapping what we just mapped.
            unsafe { libc::munmap(p, req.len as usize) };
            return Err(crate::abi::Errno::EEXIST);
        }
        Ok(got)
    }

    pub fn unmap(addr: u64, len: u64) -> HostResult<()> {
        // SAFETY: the caller only unmaps guest memory.
        let r = unsafe { libc::munmap(addr as *mut libc::c_void, len as usize) };
        if r < 0 { Err(errno::last()) } else { Ok(()) }
    }

    pub fn protect(addr: u64, len: u64, prot: Prot) -> HostResult<()> {
        // SAFETY: the caller only changes guest memory.
        let r = unsafe { libc::mprotect(addr as *mut libc::c_void, len as usize, flags::prot_to_host(prot)) };
        if r < 0 { Err(errno::last()) } else { Ok(()) }
    }

    /// mlock(2) or munlock(2) of guest memory (whole pages).
    pub fn lock(addr: u64, len: u64, locked: bool) -> HostResult<()> {
        // SAFETY: locking changes no contents; the caller passes guest memory.
        let r = unsafe {
            if locked {
                libc::mlock(addr as *const libc::c_void, len as usize)
            } else {
                libc::munlock(addr as *const libc::c_void, len as usize)
            }
        };
        if r < 0 { Err(errno::last()) } else { Ok(()) }
    }

    /// `msync` with Linux `MS_*` flags.
    pub fn sync(addr: u64, len: u64, linux_flags: u32) -> HostResult<()> {
        let fl = flags::msync_to_host(linux_flags)?;
        // SAFETY: the caller only syncs guest memory.
        let r = unsafe { libc::msync(addr as *mut libc::c_void, len as usize, fl) };
        if r < 0 { Err(errno::last()) } else { Ok(()) }
    }

    /// Words of memory that a host fork leaves shared between parent and
    /// child: the state of a runtime object that a fork child keeps sharing
    /// with its parent, as Linux shares the open file description (an
    /// eventfd's counter). The page is a host shared-memory fd mapped
    /// MAP_SHARED (`shared_memory_fd`), so that after execve the new runtime
    /// maps the very same page again from the fd it kept
    /// ([`SharedWords::from_fd`]) while a fork sibling still uses it.
    /// Zeroed at first.
    pub struct SharedWords {
        base: *const std::sync::atomic::AtomicU64,
        len: usize,
        fd: crate::host::HostFd,
    }

    // SAFETY: the words are atomics, made for use by any thread (and process).
    unsafe impl Send for SharedWords {}
    // SAFETY: as above; nothing but atomics is reachable through it.
    unsafe impl Sync for SharedWords {}

    /// The page the words live in.
    const PAGE: usize = 4096;

    impl SharedWords {
        /// `len` words (at most a page's worth).
        pub fn new(len: usize) -> HostResult<SharedWords> {
            if len == 0 || len * 8 > PAGE {
                return Err(crate::abi::Errno::EINVAL);
            }
            let fd = crate::host::imp::mem::shared_memory_fd(PAGE)?;
            Self::map(fd, len).inspect_err(|_| crate::host::fs::close(fd))
        }

        /// The words another runtime made, from the fd behind them (see
        /// [`SharedWords::fd`]); takes the fd over. EINVAL when it is not
        /// a page of shared memory whose size no process can change (the
        /// fd may come from another process, which could otherwise cut the
        /// page off under the mapping).
        pub fn from_fd(fd: crate::host::HostFd, len: usize) -> HostResult<SharedWords> {
            Self::map_page(fd, len, |st| crate::host::imp::mem::is_fixed_shared_memory(fd, st))
        }

        /// The words of a page-long file of the user's own state (the
        /// daemon's page of names, `daemon::uts_names`); takes the fd over.
        /// EINVAL when it is shorter than a page.
        pub fn from_file(fd: crate::host::HostFd, len: usize) -> HostResult<SharedWords> {
            Self::map_page(fd, len, |_| true)
        }

        /// Maps `fd` when it holds at least a page and `ok` accepts its stat.
        fn map_page(fd: crate::host::HostFd, len: usize, ok: impl FnOnce(&crate::host::HostStat) -> bool) -> HostResult<SharedWords> {
            let fits = crate::host::fs::fstat(fd).is_ok_and(|st| st.size >= PAGE as i64 && ok(&st));
            if len == 0 || len * 8 > PAGE || !fits {
                return Err(crate::abi::Errno::EINVAL);
            }
            Self::map(fd, len)
        }

        fn map(fd: crate::host::HostFd, len: usize) -> HostResult<SharedWords> {
            // SAFETY: a new shared mapping of the fd's first page, placed by
            // the host; nothing is replaced.
            let p = unsafe { libc::mmap(std::ptr::null_mut(), PAGE, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0) };
            if p == libc::MAP_FAILED {
                return Err(errno::last());
            }
            Ok(SharedWords { base: p.cast(), len, fd })
        }

        /// The host fd behind the page (close-on-exec), to keep across
        /// execve and map again there.
        pub fn fd(&self) -> crate::host::HostFd {
            self.fd
        }

        /// Word `i`; out of range is a runtime bug, answered with the last word
        /// rather than memory outside the mapping.
        pub fn word(&self, i: usize) -> &std::sync::atomic::AtomicU64 {
            let i = i.min(self.len - 1);
            // SAFETY: `i < len` words lie in the page mapped by `map`, which
            // lives as long as `self`; AtomicU64 has u64's layout, and the
            // page is 8-aligned and zeroed at first (a valid AtomicU64
            // everywhere).
            unsafe { &*self.base.add(i) }
        }

        /// Takes the lock word `i` is (0 free, else who holds it: see
        /// [`lock_holder`]), which every process mapping the page shares:
        /// for a few loads and stores only. Spins a little, then yields:
        /// the holder may be another process, or a thread the host
        /// descheduled. A holder that is gone (its process ended, or the
        /// image it ran in was replaced by an execve, which ends every
        /// other thread at once, a timer thread halfway through a timerfd's
        /// state included) no longer stands in the way: the lock is taken
        /// from it. [`Self::unlock`] releases it.
        pub fn lock(&self, i: usize) {
            use std::sync::atomic::Ordering::{Acquire, Relaxed};
            let word = self.word(i);
            let me = lock_holder();
            let mut spins = 0u32;
            loop {
                let held = match word.compare_exchange_weak(0, me, Acquire, Relaxed) {
                    Ok(_) => return,
                    Err(held) => held,
                };
                spins = spins.wrapping_add(1);
                if spins < 100 {
                    std::hint::spin_loop();
                    continue;
                }
                if spins % 64 == 0 && held != 0 && holder_is_gone(held, me) && word.compare_exchange(held, me, Acquire, Relaxed).is_ok() {
                    return;
                }
                std::thread::yield_now();
            }
        }

        pub fn unlock(&self, i: usize) {
            self.word(i).store(0, std::sync::atomic::Ordering::Release);
        }
    }

    /// This runtime image's mark in a lock word it holds: its host pid in
    /// the high half, a number drawn when the image first took a lock in
    /// the low half (never 0). A fork child draws its own (the
    /// `pthread_atfork` hook below forgets the parent's), and so does the
    /// image an execve starts, with the same pid.
    static LOCK_HOLDER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

    extern "C" fn forget_lock_holder() {
        LOCK_HOLDER.store(0, std::sync::atomic::Ordering::Relaxed);
    }

    fn lock_holder() -> u64 {
        use std::sync::atomic::Ordering::Relaxed;
        let id = LOCK_HOLDER.load(Relaxed);
        if id != 0 {
            return id;
        }
        static AT_FORK: std::sync::Once = std::sync::Once::new();
        // SAFETY: registers a plain function for fork children.
        AT_FORK.call_once(|| unsafe {
            libc::pthread_atfork(None, None, Some(forget_lock_holder));
        });
        // Told apart from the image before an execve: the time of day and
        // where this image's statics lie.
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let place = core::ptr::addr_of!(LOCK_HOLDER) as u64;
        let mixed = (nanos ^ place.rotate_left(17)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let draw = ((mixed >> 32) as u32 ^ mixed as u32).max(1);
        // SAFETY: plain call.
        let pid = unsafe { libc::getpid() } as u32;
        let id = u64::from(pid) << 32 | u64::from(draw);
        LOCK_HOLDER.store(id, Relaxed);
        id
    }

    /// Whether the holder `held` of a lock word is gone: an earlier image
    /// of this very process (same pid, another draw), or a process that no
    /// longer exists.
    fn holder_is_gone(held: u64, me: u64) -> bool {
        let pid = (held >> 32) as u32;
        if pid == (me >> 32) as u32 {
            return held != me;
        }
        let Ok(pid) = i32::try_from(pid) else { return false };
        if pid <= 0 {
            return false;
        }
        // SAFETY: signal 0 only checks that the process exists.
        unsafe { libc::kill(pid, 0) == -1 && errno::last() == crate::abi::Errno::ESRCH }
    }

    impl Drop for SharedWords {
        fn drop(&mut self) {
            // SAFETY: the page `map` mapped; no reference to it outlives self.
            unsafe { libc::munmap(self.base as *mut libc::c_void, PAGE) };
            crate::host::fs::close(self.fd);
        }
    }

    /// Residency of each page of the range, one byte per page (bit 0 = resident).
    pub fn residency(addr: u64, len: u64, out: &mut [u8]) -> HostResult<()> {
        // SAFETY: `out` holds one byte per page of the range (checked by the caller).
        let r = unsafe { libc::mincore(addr as *mut libc::c_void, len as usize, out.as_mut_ptr().cast()) };
        if r < 0 { Err(errno::last()) } else { Ok(()) }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::sync::atomic::Ordering::SeqCst;

        #[test]
        fn a_lock_word_left_by_an_earlier_image_of_this_process_is_taken() {
            let w = SharedWords::new(2).expect("a shared page");
            let me = lock_holder();
            // Same pid, another draw: what a thread ended by an execve leaves.
            w.word(0).store(me ^ 1, SeqCst);
            w.lock(0);
            assert_eq!(w.word(0).load(SeqCst), me);
            w.unlock(0);
            assert_eq!(w.word(0).load(SeqCst), 0);
        }

        #[test]
        fn a_lock_word_left_by_a_process_that_ended_is_taken() {
            let w = SharedWords::new(2).expect("a shared page");
            let mut child = std::process::Command::new("true").spawn().expect("spawn true");
            let pid = child.id();
            child.wait().expect("wait for true");
            w.word(1).store(u64::from(pid) << 32 | 7, SeqCst);
            w.lock(1);
            assert_eq!(w.word(1).load(SeqCst), lock_holder());
        }

        #[test]
        fn a_lock_word_of_a_live_holder_is_not_taken() {
            let me = lock_holder();
            assert!(!holder_is_gone(me, me));
            // pid 1 lives for as long as the machine does.
            assert!(!holder_is_gone(1u64 << 32 | 5, me));
        }
    }
}

pub mod process {
    use crate::abi::signal::Signal;
    use crate::abi::Errno;
    use crate::host::imp::errno::errno_location as libc_errno;
    use crate::host::imp::{errno, process::rlimit_resource_to_host};
    use crate::host::HostResult;

    pub fn exit(code: i32) -> ! {
        // SAFETY: ends the process without running host atexit handlers, as
        // the guest's exit_group ends a Linux process.
        unsafe { libc::_exit(code) }
    }

    /// Raises a host signal with its default action and unblocked.
    pub fn raise_default(host_sig: i32) {
        // SAFETY: resetting a disposition and unblocking one signal.
        unsafe {
            let mut sa: libc::sigaction = core::mem::zeroed();
            sa.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(host_sig, &sa, core::ptr::null_mut());
            let mut set: libc::sigset_t = core::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, host_sig);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, core::ptr::null_mut());
            libc::kill(libc::getpid(), host_sig);
        }
    }

    /// Writes raw bytes to the host's stderr, for messages from signal context.
    pub fn write_stderr(msg: &[u8]) {
        let _ = crate::host::fs::write(2, msg);
    }

    /// A broken runtime invariant: say so and abort.
    pub fn fatal(msg: &str) -> ! {
        write_stderr(format!("mactux: internal error: {msg}\n").as_bytes());
        // SAFETY: abort has no preconditions.
        unsafe { libc::abort() }
    }

    pub fn fatal_fault(what: &str, rip: u64, addr: u64) -> ! {
        fatal(&format!("{what} at rip {rip:#x} (address {addr:#x}); please report this with `mactux run --trace`"))
    }

    pub fn host_pid() -> i32 {
        // SAFETY: plain call.
        unsafe { libc::getpid() }
    }

    /// Takes over the process umask: the host's becomes 0 and the old value
    /// is returned, because the runtime applies the guest's umask itself.
    pub fn take_umask() -> u32 {
        // SAFETY: umask is process-wide and changed before any guest code runs.
        // (mode_t is 16 bits on macOS, 32 on Linux.)
        #[allow(clippy::useless_conversion)]
        u32::from(unsafe { libc::umask(0) })
    }

    /// The process group of a host pid (0: the caller).
    pub fn pgid_of(pid: i32) -> HostResult<u32> {
        // SAFETY: plain call.
        let r = unsafe { libc::getpgid(pid) };
        if r < 0 { Err(errno::last()) } else { Ok(r as u32) }
    }

    /// The session of a host pid (0: the caller).
    pub fn sid_of(pid: i32) -> HostResult<u32> {
        // SAFETY: plain call.
        let r = unsafe { libc::getsid(pid) };
        if r < 0 { Err(errno::last()) } else { Ok(r as u32) }
    }

    /// The nice value of the calling process.
    /// The nice value of a host process (0: this one).
    pub fn nice(host_pid: i32) -> HostResult<i32> {
        // getpriority can return -1 legitimately: clear errno first.
        // SAFETY: plain call; errno is checked below.
        let r = unsafe {
            *libc_errno() = 0;
            libc::getpriority(libc::PRIO_PROCESS, host_pid as libc::id_t)
        };
        // SAFETY: reading errno of this thread.
        if r == -1 && unsafe { *libc_errno() } != 0 {
            return Err(errno::last());
        }
        Ok(r)
    }

    pub fn set_nice(host_pid: i32, value: i32) -> HostResult<()> {
        // SAFETY: plain call.
        let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, host_pid as libc::id_t, value) };
        if r < 0 { Err(errno::last()) } else { Ok(()) }
    }

    /// Unblocks the signals the trap runs on (an execve happens inside a
    /// signal handler, where everything is blocked, and the host exec keeps
    /// that mask); the rest of the inherited mask is the guest's to read.
    pub fn unblock_trap_signals() {
        // SAFETY: a set built with sigemptyset/sigaddset; changing our own mask.
        unsafe {
            let mut set: libc::sigset_t = core::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in [libc::SIGSYS, libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGTRAP] {
                libc::sigaddset(&mut set, s);
            }
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, core::ptr::null_mut());
        }
    }

    /// Puts SIGPIPE back to its default action. Rust's runtime ignores it
    /// before `main`, which would otherwise leak into every guest (and make
    /// `mactux ps | head` fail loudly instead of ending quietly).
    pub fn restore_default_sigpipe() {
        // SAFETY: resetting one disposition to SIG_DFL.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }

    /// Forks the host process; 0 in the child.
    pub fn fork() -> HostResult<i32> {
        // SAFETY: the runtime is single-threaded when it forks (threads come
        // later); the child only returns into the trap and on to guest code.
        let r = unsafe { libc::fork() };
        if r < 0 { Err(errno::last()) } else { Ok(r) }
    }

    /// A host wait status in Linux encoding (signal numbers translated).
    pub fn wait_status_to_linux(st: i32) -> i32 {
        let sig = |h: i32| crate::host::signal::from_host(h).map_or(h, |s| i32::from(s.0));
        if libc::WIFEXITED(st) {
            (libc::WEXITSTATUS(st) & 0xff) << 8
        } else if libc::WIFSIGNALED(st) {
            sig(libc::WTERMSIG(st)) | if libc::WCOREDUMP(st) { 0x80 } else { 0 }
        } else if libc::WIFSTOPPED(st) {
            (sig(libc::WSTOPSIG(st)) << 8) | 0x7f
        } else if libc::WIFCONTINUED(st) {
            0xffff
        } else {
            st
        }
    }

    /// waitid(…, WNOWAIT): the child (`host_pid`, or any with -1) that has
    /// a state to report and its Linux wait status, leaving it waitable.
    /// `linux_options` takes WNOHANG, WEXITED, WSTOPPED and WCONTINUED.
    pub fn peek_wait(host_pid: i32, linux_options: u32) -> HostResult<Option<(i32, i32)>> {
        use linux_raw_sys::general as g;
        let (idtype, id) = if host_pid < 0 { (libc::P_ALL, 0) } else { (libc::P_PID, host_pid as libc::id_t) };
        let mut opts = libc::WNOWAIT;
        for (l, h) in [(g::WNOHANG, libc::WNOHANG), (g::WEXITED, libc::WEXITED), (g::WSTOPPED, libc::WSTOPPED), (g::WCONTINUED, libc::WCONTINUED)] {
            if linux_options & l != 0 {
                opts |= h;
            }
        }
        // SAFETY: a zeroed siginfo_t is a valid out-parameter.
        let mut info: libc::siginfo_t = unsafe { core::mem::zeroed() };
        // SAFETY: valid out-parameter.
        if unsafe { libc::waitid(idtype, id, &mut info, opts) } < 0 {
            return Err(errno::last());
        }
        let (pid, code, status) = crate::host::imp::process::siginfo_child(&info);
        if pid == 0 {
            return Ok(None);
        }
        let sig = |h: i32| crate::host::signal::from_host(h).map_or(h, |s| i32::from(s.0));
        let linux = match code {
            libc::CLD_EXITED => (status & 0xff) << 8,
            libc::CLD_KILLED => sig(status),
            libc::CLD_DUMPED => sig(status) | 0x80,
            libc::CLD_STOPPED | libc::CLD_TRAPPED => (sig(status) << 8) | 0x7f,
            _ => 0xffff,
        };
        Ok(Some((pid, linux)))
    }

    /// The outcome of a host wait: host pid, Linux wait status, and the
    /// child's resource usage (times in microseconds, peak RSS in KiB).
    pub struct Waited {
        pub host_pid: i32,
        pub status: i32,
        pub utime_us: i64,
        pub stime_us: i64,
        pub maxrss_kib: i64,
        pub minflt: i64,
        pub majflt: i64,
        pub nvcsw: i64,
        pub nivcsw: i64,
    }

    impl Waited {
        /// A status with no resource usage to report (a WNOWAIT peek, a
        /// child that is no host process of its own).
        pub fn without_usage(host_pid: i32, status: i32) -> Waited {
            Waited { host_pid, status, utime_us: 0, stime_us: 0, maxrss_kib: 0, minflt: 0, majflt: 0, nvcsw: 0, nivcsw: 0 }
        }
    }

    /// waitpid with Linux option bits (WNOHANG, WUNTRACED, WCONTINUED);
    /// `Ok(None)` when WNOHANG finds nothing.
    pub fn wait(host_pid: i32, linux_options: u32) -> HostResult<Option<Waited>> {
        use linux_raw_sys::general as g;
        let mut opts = 0;
        if linux_options & g::WNOHANG != 0 {
            opts |= libc::WNOHANG;
        }
        if linux_options & g::WUNTRACED != 0 {
            opts |= libc::WUNTRACED;
        }
        if linux_options & g::WCONTINUED != 0 {
            opts |= libc::WCONTINUED;
        }
        let mut st = 0;
        // SAFETY: zeroed rusage is a valid out-parameter.
        let mut ru: libc::rusage = unsafe { core::mem::zeroed() };
        // SAFETY: valid out-parameters.
        let r = unsafe { libc::wait4(host_pid, &mut st, opts, &mut ru) };
        if r < 0 {
            return Err(errno::last());
        }
        if r == 0 {
            return Ok(None);
        }
        // tv_usec is 32 bits on macOS, 64 on Linux.
        #[allow(clippy::unnecessary_cast)]
        let us = |t: libc::timeval| t.tv_sec as i64 * 1_000_000 + t.tv_usec as i64;
        Ok(Some(Waited {
            host_pid: r,
            status: wait_status_to_linux(st),
            utime_us: us(ru.ru_utime),
            stime_us: us(ru.ru_stime),
            maxrss_kib: crate::host::imp::process::maxrss_kib(ru.ru_maxrss),
            minflt: ru.ru_minflt,
            majflt: ru.ru_majflt,
            nvcsw: ru.ru_nvcsw,
            nivcsw: ru.ru_nivcsw,
        }))
    }

    /// Sends a host signal (already translated) to a host process.
    pub fn kill(host_pid: i32, host_sig: i32) -> HostResult<()> {
        // SAFETY: plain call.
        let r = unsafe { libc::kill(host_pid, host_sig) };
        if r < 0 { Err(errno::last()) } else { Ok(()) }
    }

    pub fn setpgid(host_pid: i32, host_pgid: i32) -> HostResult<()> {
        // SAFETY: plain call.
        let r = unsafe { libc::setpgid(host_pid, host_pgid) };
        if r < 0 { Err(errno::last()) } else { Ok(()) }
    }

    pub fn setsid() -> HostResult<i32> {
        // SAFETY: plain call.
        let r = unsafe { libc::setsid() };
        if r < 0 { Err(errno::last()) } else { Ok(r) }
    }

    /// Replaces the host process image; returns only on failure.
    pub fn exec(path: &std::ffi::CStr, argv: &[std::ffi::CString]) -> Errno {
        let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        ptrs.push(core::ptr::null());
        extern "C" {
            static environ: *const *const libc::c_char;
        }
        // SAFETY: NULL-terminated argv of valid C strings; the host environment as is.
        unsafe { libc::execve(path.as_ptr(), ptrs.as_ptr(), environ) };
        errno::last()
    }

    pub fn parent_host_pid() -> u32 {
        // SAFETY: plain call.
        unsafe { libc::getppid() as u32 }
    }

    pub fn uid() -> u32 {
        // SAFETY: plain call.
        unsafe { libc::getuid() }
    }

    pub fn euid() -> u32 {
        // SAFETY: plain call.
        unsafe { libc::geteuid() }
    }

    pub fn gid() -> u32 {
        // SAFETY: plain call.
        unsafe { libc::getgid() }
    }

    pub fn egid() -> u32 {
        // SAFETY: plain call.
        unsafe { libc::getegid() }
    }

    pub fn groups() -> Vec<u32> {
        let mut v = vec![0 as libc::gid_t; 256];
        // SAFETY: v holds 256 entries.
        let n = unsafe { libc::getgroups(v.len() as i32, v.as_mut_ptr()) };
        v.truncate(n.max(0) as usize);
        v
    }

    pub fn hostname() -> Vec<u8> {
        let mut buf = [0u8; 256];
        // SAFETY: buf is writable for its length.
        unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        buf[..n].to_vec()
    }

    /// `u64::MAX` is RLIM_INFINITY on both sides.
    pub fn get_rlimit(linux_res: u32) -> HostResult<(u64, u64)> {
        let res = rlimit_resource_to_host(linux_res).ok_or(Errno::EINVAL)?;
        let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: valid out-parameter.
        if unsafe { libc::getrlimit(res as _, &mut rl) } < 0 {
            return Err(errno::last());
        }
        Ok((rl.rlim_cur, rl.rlim_max))
    }

    pub fn set_rlimit(linux_res: u32, cur: u64, max: u64) -> HostResult<()> {
        let res = rlimit_resource_to_host(linux_res).ok_or(Errno::EINVAL)?;
        let rl = libc::rlimit { rlim_cur: cur as _, rlim_max: max as _ };
        // SAFETY: valid in-parameter.
        if unsafe { libc::setrlimit(res as _, &rl) } < 0 {
            return Err(errno::last());
        }
        Ok(())
    }

    pub fn cpu_count() -> u32 {
        // SAFETY: plain call.
        let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        n.max(1) as u32
    }

    pub fn sched_yield() {
        // SAFETY: plain call.
        unsafe { libc::sched_yield() };
    }

    /// Ends the process the way the given Linux signal's default action would.
    pub fn die_by_signal(sig: Signal) -> ! {
        let host = crate::host::signal::to_host(sig).unwrap_or(libc::SIGKILL);
        raise_default(host);
        exit(128 + i32::from(sig.0))
    }
}

/// Host signal dispositions, masks, stops and interval timers: the same
/// The Rust side of the fault-tolerant guest-memory routines whose assembly
/// is in `host/<os>/uaccess.rs` (the scheme is described there).
pub mod uaccess {
    use crate::trap::GuestRegs;

    extern "C" {
        fn mactux_uaccess_copy(dst: *mut u8, src: *const u8, len: usize) -> usize;
        fn mactux_uaccess_cmpxchg32(addr: *mut u32, expected: u32, new: u32, found: *mut u32) -> u32;
        fn mactux_uaccess_cmpxchg8(addr: *mut u8, expected: u8, new: u8, found: *mut u8) -> u32;
        fn mactux_uaccess_load32(addr: *const u32, out: *mut u32) -> u32;
        static mactux_uaccess_copy_insn: u8;
        static mactux_uaccess_copy_fixup: u8;
        static mactux_uaccess_cmpxchg32_insn: u8;
        static mactux_uaccess_cmpxchg32_fixup: u8;
        static mactux_uaccess_cmpxchg8_insn: u8;
        static mactux_uaccess_cmpxchg8_fixup: u8;
        static mactux_uaccess_load32_fixup: u8;
    }

    /// The exception table: (the one instruction of a routine that may fault
    /// on a guest address, where to resume when it does).
    fn table() -> [(u64, u64); 4] {
        let a = |p: *const u8| p as u64;
        [
            (a(&raw const mactux_uaccess_copy_insn), a(&raw const mactux_uaccess_copy_fixup)),
            (a(&raw const mactux_uaccess_cmpxchg32_insn), a(&raw const mactux_uaccess_cmpxchg32_fixup)),
            (a(&raw const mactux_uaccess_cmpxchg8_insn), a(&raw const mactux_uaccess_cmpxchg8_fixup)),
            // The load is the routine's first instruction.
            (mactux_uaccess_load32 as *const () as u64, a(&raw const mactux_uaccess_load32_fixup)),
        ]
    }

    /// Called for a SIGSEGV/SIGBUS that interrupted the runtime itself: if
    /// it faulted in one of the guest-memory routines, sends it to that
    /// routine's fixup (which returns failure to the caller) and says so.
    /// Anything else is a genuine runtime fault.
    pub fn fixup_fault(regs: &mut GuestRegs) -> bool {
        match table().iter().find(|(insn, _)| *insn == regs.rip) {
            Some(&(_, fixup)) => {
                regs.rip = fixup;
                true
            }
            None => false,
        }
    }

    /// Copies `len` bytes from `src` to `dst`; returns how many bytes at the
    /// end were *not* copied because an access faulted (0 on success).
    ///
    /// # Safety
    /// One side must be runtime memory valid for `len` bytes; the other a
    /// guest address the runtime does not use for itself (it may be unmapped
    /// or protected at any moment: that only makes the copy stop early).
    pub unsafe fn copy(dst: *mut u8, src: *const u8, len: usize) -> usize {
        // SAFETY: per the contract; a fault on the guest side is fixed up.
        unsafe { mactux_uaccess_copy(dst, src, len) }
    }

    /// An atomic compare-exchange of the 4-byte word at `addr`: the value it
    /// held (the exchange happened iff that equals `expected`), or None if
    /// the access faulted.
    ///
    /// # Safety
    /// `addr` must be a 4-byte aligned guest address, as for [`copy`].
    pub unsafe fn cmpxchg_u32(addr: u64, expected: u32, new: u32) -> Option<u32> {
        let mut found = 0u32;
        // SAFETY: per the contract; `found` is our own local.
        let failed = unsafe { mactux_uaccess_cmpxchg32(addr as *mut u32, expected, new, &mut found) };
        (failed == 0).then_some(found)
    }

    /// As [`cmpxchg_u32`] for one byte.
    ///
    /// # Safety
    /// `addr` must be a guest address, as for [`copy`].
    pub unsafe fn cmpxchg_u8(addr: u64, expected: u8, new: u8) -> Option<u8> {
        let mut found = 0u8;
        // SAFETY: per the contract; `found` is our own local.
        let failed = unsafe { mactux_uaccess_cmpxchg8(addr as *mut u8, expected, new, &mut found) };
        (failed == 0).then_some(found)
    }

    /// One atomic load of the 4-byte word at `addr`, or None if it faulted.
    ///
    /// # Safety
    /// `addr` must be a 4-byte aligned guest address, as for [`copy`].
    pub unsafe fn load_u32(addr: u64) -> Option<u32> {
        let mut out = 0u32;
        // SAFETY: per the contract; `out` is our own local.
        let failed = unsafe { mactux_uaccess_load32(addr as *const u32, &mut out) };
        (failed == 0).then_some(out)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use core::ffi::c_void;

        /// What the trap does for a fault in the runtime, without the rest
        /// of the trap: fix up, or die of the signal as by default.
        extern "C" fn on_fault(signo: i32, info: *mut libc::siginfo_t, uc: *mut c_void) {
            // SAFETY: the kernel's siginfo and ucontext of this signal.
            let (_, mut regs) = unsafe { crate::host::trap::decode(signo, info.cast(), uc) };
            if fixup_fault(&mut regs) {
                // SAFETY: the same ucontext.
                unsafe { crate::host::trap::store_regs(uc, &regs) };
                return;
            }
            // SAFETY: restoring the default; the fault recurs and kills us.
            unsafe { libc::signal(signo, libc::SIG_DFL) };
        }

        /// The routines on a page that faults: each reports the fault
        /// instead of killing the process, and the copy says how much of
        /// it is missing.
        #[test]
        fn faults_in_the_routines_resume_at_their_fixups() {
            let page = crate::abi::PAGE_SIZE as usize;
            // SAFETY: a test-local mapping and handler, both undone at the end.
            unsafe {
                let mut sa: libc::sigaction = core::mem::zeroed();
                sa.sa_sigaction = on_fault as *const () as usize;
                sa.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
                let mut old_segv: libc::sigaction = core::mem::zeroed();
                let mut old_bus: libc::sigaction = core::mem::zeroed();
                libc::sigaction(libc::SIGSEGV, &sa, &mut old_segv);
                libc::sigaction(libc::SIGBUS, &sa, &mut old_bus);
                let base = libc::mmap(core::ptr::null_mut(), 2 * page, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0);
                assert_ne!(base, libc::MAP_FAILED);
                let base = base as u64;
                let bad = base + page as u64;
                assert_eq!(libc::mprotect(bad as *mut c_void, page, libc::PROT_NONE), 0);
                core::ptr::write_bytes((bad - 16) as *mut u8, 0xab, 16);

                // From guest memory running into the bad page.
                let mut dst = [0u8; 64];
                let left = copy(dst.as_mut_ptr(), (bad - 16) as *const u8, 64);
                assert!((48..=64).contains(&left), "left {left}");
                assert!(dst[..64 - left].iter().all(|&b| b == 0xab));
                // Into the bad page.
                assert_eq!(copy(bad as *mut u8, dst.as_ptr(), 8), 8);
                assert_eq!(cmpxchg_u32(bad, 0, 1), None);
                assert_eq!(cmpxchg_u8(bad, 0, 1), None);
                assert_eq!(load_u32(bad), None);

                // The good page works as plain memory.
                assert_eq!(copy(base as *mut u8, [1u8, 2, 3, 4].as_ptr(), 4), 0);
                assert_eq!(load_u32(base), Some(u32::from_ne_bytes([1, 2, 3, 4])));
                assert_eq!(cmpxchg_u32(base, 0, 9), Some(u32::from_ne_bytes([1, 2, 3, 4])));
                assert_eq!(cmpxchg_u32(base, u32::from_ne_bytes([1, 2, 3, 4]), 9), Some(u32::from_ne_bytes([1, 2, 3, 4])));
                assert_eq!(load_u32(base), Some(9));
                assert_eq!(cmpxchg_u8(base, 9, 0x65), Some(9));
                assert_eq!(load_u32(base), Some(0x65));

                libc::munmap(base as *mut c_void, 2 * page);
                libc::sigaction(libc::SIGSEGV, &old_segv, core::ptr::null_mut());
                libc::sigaction(libc::SIGBUS, &old_bus, core::ptr::null_mut());
            }
        }
    }
}

/// POSIX calls on both hosts (the trap files re-export them).
pub mod sigctl {
    use crate::abi::signal::{Signal, NSIG};
    use crate::abi::Timeval;
    use crate::host::HostResult;
    use crate::trap::HostDisposition;

    extern "C" {
        /// The trap entry of the host's trap.rs (the same symbol on both hosts).
        fn mactux_sig_entry();
    }

    /// The classic signals a guest may receive from outside (sent by another
    /// process, a terminal or a timer); each host adds what it has beyond.
    pub const ASYNC_SIGNALS: &[Signal] = &[
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGPIPE,
        Signal::SIGALRM,
        Signal::SIGTERM,
        Signal::SIGSTKFLT,
        Signal::SIGCHLD,
        Signal::SIGCONT,
        Signal::SIGTSTP,
        Signal::SIGTTIN,
        Signal::SIGTTOU,
        Signal::SIGURG,
        Signal::SIGXCPU,
        Signal::SIGXFSZ,
        Signal::SIGVTALRM,
        Signal::SIGPROF,
        Signal::SIGWINCH,
        Signal::SIGIO,
        Signal::SIGPWR,
    ];

    /// The host disposition last installed per host signal number (+1), to
    /// skip redundant sigaction calls.
    static INSTALLED: [core::sync::atomic::AtomicU8; NSIG as usize + 1] =
        [const { core::sync::atomic::AtomicU8::new(0) }; NSIG as usize + 1];

    pub fn host_sig(sig: Signal) -> Option<i32> {
        crate::host::signal::to_host(sig)
    }

    /// The host's sigaction for the trap entry: siginfo, on the alternate
    /// stack, and no SA_RESTART (a host call the runtime makes must fail
    /// with EINTR). Every signal is blocked while it runs except the
    /// synchronous fault signals, and those not even while their own handler
    /// runs (SA_NODEFER): the runtime's guest-memory copies may fault inside
    /// any entry (a SIGSYS, or a SIGSEGV building the guest's signal frame)
    /// and must reach the fixup in `host::uaccess`. Linux kills a thread
    /// whose synchronous fault signal is blocked instead of running the
    /// handler (`force_sig_info_to_task`, kernel/signal.c); on macOS a
    /// blocked fault signal does not reach the handler either, so the rule
    /// is the same on both hosts.
    fn trap_entry_action() -> libc::sigaction {
        // SAFETY: a zeroed sigaction is valid; we fill handler, flags and mask.
        let mut sa: libc::sigaction = unsafe { core::mem::zeroed() };
        sa.sa_sigaction = mactux_sig_entry as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
        // SAFETY: sa_mask is a valid sigset.
        unsafe { libc::sigfillset(&mut sa.sa_mask) };
        for &sig in SYNCHRONOUS_SIGNALS {
            // SAFETY: valid sigset and signal number.
            unsafe { libc::sigdelset(&mut sa.sa_mask, sig) };
        }
        sa
    }

    /// The signals the CPU raises on the faulting instruction itself; never
    /// blocked in the runtime (see `trap_entry_action`).
    const SYNCHRONOUS_SIGNALS: &[i32] = &[libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGTRAP];

    fn to_tv(t: Timeval) -> libc::timeval {
        #[allow(clippy::unnecessary_cast)] // suseconds_t is i32 on macOS
        libc::timeval { tv_sec: t.sec, tv_usec: t.usec as libc::suseconds_t }
    }

    fn from_tv(t: libc::timeval) -> Timeval {
        #[allow(clippy::unnecessary_cast)] // i32 on macOS
        Timeval { sec: t.tv_sec, usec: t.tv_usec as i64 }
    }

    /// Host signals whose handler is the trap entry from the start.
    const TRAP_SIGNALS: &[i32] = &[libc::SIGSYS, libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGTRAP];

    /// Gives the calling thread its alternate stack in the control region
    /// (`region`, `size` bytes: the control block, a guard page, the stack)
    /// and installs the trap entry for the synchronous signals, once per
    /// process.
    pub fn install_trap_entry(region: u64, size: u64) -> Result<(), String> {
        static INSTALL: std::sync::Once = std::sync::Once::new();
        let page = crate::abi::PAGE_SIZE;
        // The control block takes the first page; the second is a guard page.
        crate::host::mem::protect(region + page, page, crate::host::Prot::NONE)
            .map_err(|e| format!("guard page: {}", e.text()))?;
        // SAFETY: a zeroed stack_t is valid; we fill its fields.
        let mut ss: libc::stack_t = unsafe { core::mem::zeroed() };
        ss.ss_sp = (region + 2 * page) as *mut libc::c_void;
        ss.ss_size = (size - 2 * page) as usize;
        // SAFETY: `ss` describes memory we own for the life of the thread.
        if unsafe { libc::sigaltstack(&ss, core::ptr::null_mut()) } != 0 {
            return Err(format!("sigaltstack: {}", crate::host::imp::errno::last().text()));
        }
        let mut result = Ok(());
        INSTALL.call_once(|| {
            let sa = trap_entry_action();
            // The kick is caught from the start, whatever the guest does
            // with the Linux signal of the same number (see
            // `set_disposition`); an ignored one inherited through exec is
            // remembered for the guest first (`host_ignores`).
            let kick = crate::host::thread::KICK_SIGNAL;
            // SAFETY: a zeroed sigaction is valid storage for the old one.
            let mut old: libc::sigaction = unsafe { core::mem::zeroed() };
            // SAFETY: installing our own handler; `old` is valid storage.
            if unsafe { libc::sigaction(kick, &sa, &mut old) } != 0 {
                result = Err(format!("sigaction({kick}): {}", crate::host::imp::errno::last().text()));
            }
            KICK_WAS_IGNORED.store(old.sa_sigaction == libc::SIG_IGN, core::sync::atomic::Ordering::Relaxed);
            for &sig in TRAP_SIGNALS {
                // SAFETY: installing our own handler.
                if unsafe { libc::sigaction(sig, &sa, core::ptr::null_mut()) } != 0 {
                    result = Err(format!("sigaction({sig}): {}", crate::host::imp::errno::last().text()));
                }
            }
        });
        result
    }

    /// Takes the calling thread's alternate stack away (the thread is
    /// ending; its region is freed next).
    pub fn drop_alt_stack() {
        // SAFETY: a zeroed stack_t with SS_DISABLE is a valid request.
        let mut ss: libc::stack_t = unsafe { core::mem::zeroed() };
        ss.ss_flags = libc::SS_DISABLE;
        // SAFETY: valid stack_t; affects only the calling thread.
        unsafe { libc::sigaltstack(&ss, core::ptr::null_mut()) };
    }

    /// Starts a host thread running `f` with every host signal blocked: it
    /// inherits the mask of its creator, which may be inside the blocking
    /// window of a trap (asynchronous signals open), and a signal taken
    /// before the thread has a control block and an alternate stack would
    /// enter the trap on a stack that is not ours. A guest thread opens
    /// the signals it takes once it is set up.
    pub fn spawn_blocked(stack_size: usize, f: Box<dyn FnOnce() + Send + 'static>) -> HostResult<()> {
        // SAFETY: zeroed sigsets filled by sigfillset / written by the call.
        let mut all: libc::sigset_t = unsafe { core::mem::zeroed() };
        let mut old: libc::sigset_t = unsafe { core::mem::zeroed() };
        // SAFETY: valid sigsets; changes only this thread's mask, restored below.
        unsafe {
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        }
        let r = std::thread::Builder::new().stack_size(stack_size).spawn(f).map(drop).map_err(|_| crate::abi::Errno::EAGAIN);
        // SAFETY: restores the mask saved above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, core::ptr::null_mut()) };
        r
    }

    /// Blocks every host signal on the calling thread (a thread about to
    /// end must not be picked for a process signal).
    pub fn block_all_signals() {
        // SAFETY: zeroed sigset filled by sigfillset.
        let mut set: libc::sigset_t = unsafe { core::mem::zeroed() };
        // SAFETY: valid sigset; changes only this thread's mask.
        unsafe {
            libc::sigfillset(&mut set);
            libc::pthread_sigmask(libc::SIG_SETMASK, &set, core::ptr::null_mut());
        }
    }

    /// Makes the host dispose of `sig` as `how` says. The host signal that
    /// kicks threads (`host::thread::KICK_SIGNAL`, also the Linux signal 64
    /// on a Linux host) stays caught: the entry sorts a guest signal of that
    /// number from a kick, and the guest's disposition applies on delivery.
    pub fn set_disposition(sig: Signal, how: HostDisposition) {
        let Some(h) = host_sig(sig) else { return };
        let how = if h == crate::host::thread::KICK_SIGNAL { HostDisposition::Catch } else { how };
        set_host_disposition(h, how);
    }

    /// Hands the guest's ignored signals to the next image (execve): the
    /// host's own exec keeps an ignored signal ignored. The kick's number
    /// stays caught until the exec: other host threads may still be in the
    /// runtime and kick one another (Go's preemption of a thread that
    /// leaves), and a kick taken by its default action would end the
    /// process. Whether the guest ignores that signal reaches the next
    /// image in the handover.
    pub fn hand_down_disposition(sig: Signal, ignored: bool) {
        let Some(h) = host_sig(sig) else { return };
        if h == crate::host::thread::KICK_SIGNAL {
            return;
        }
        set_host_disposition(h, if ignored { HostDisposition::Ignore } else { HostDisposition::Default });
    }

    fn set_host_disposition(h: i32, how: HostDisposition) {
        let tag = match how {
            HostDisposition::Catch => 1,
            HostDisposition::Default => 2,
            HostDisposition::Ignore => 3,
        };
        if let Some(slot) = INSTALLED.get(h as usize) {
            if slot.swap(tag, core::sync::atomic::Ordering::Relaxed) == tag {
                return;
            }
        }
        let mut sa = trap_entry_action();
        match how {
            HostDisposition::Catch => {}
            HostDisposition::Default => sa.sa_sigaction = libc::SIG_DFL,
            HostDisposition::Ignore => sa.sa_sigaction = libc::SIG_IGN,
        }
        // SAFETY: installing our own handler or a standard disposition.
        unsafe { libc::sigaction(h, &sa, core::ptr::null_mut()) };
    }

    /// Whether the host kick signal was ignored when the runtime started
    /// (before the trap entry took it over).
    static KICK_WAS_IGNORED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

    /// Whether the host ignores `sig` (inherited through exec).
    pub fn host_ignores(sig: Signal) -> bool {
        let Some(h) = host_sig(sig) else { return false };
        if h == crate::host::thread::KICK_SIGNAL {
            return KICK_WAS_IGNORED.load(core::sync::atomic::Ordering::Relaxed);
        }
        // SAFETY: a zeroed sigaction is a valid out-parameter; we only query.
        let mut old: libc::sigaction = unsafe { core::mem::zeroed() };
        // SAFETY: querying only.
        unsafe { libc::sigaction(h, core::ptr::null(), &mut old) };
        old.sa_sigaction == libc::SIG_IGN
    }

    /// The host numbers of the asynchronous signals and their set. The set
    /// never changes, and blocking calls toggle it around every wait, so it
    /// is worked out once.
    fn async_host_signals() -> &'static (Vec<i32>, libc::sigset_t) {
        static ASYNC: std::sync::OnceLock<(Vec<i32>, libc::sigset_t)> = std::sync::OnceLock::new();
        ASYNC.get_or_init(|| {
            let mut numbers: Vec<i32> =
                (1..=NSIG).map(Signal).filter(|&s| crate::host::trap::is_async_signal(s)).filter_map(host_sig).collect();
            // The kick another thread sends must interrupt a wait too.
            if !numbers.contains(&crate::host::thread::KICK_SIGNAL) {
                numbers.push(crate::host::thread::KICK_SIGNAL);
            }
            // SAFETY: a zeroed sigset is valid storage; sigemptyset initialises it.
            let mut set: libc::sigset_t = unsafe { core::mem::zeroed() };
            // SAFETY: valid sigset.
            unsafe { libc::sigemptyset(&mut set) };
            for &h in &numbers {
                // SAFETY: valid sigset and signal number.
                unsafe { libc::sigaddset(&mut set, h) };
            }
            (numbers, set)
        })
    }

    thread_local! {
        /// Set on a host thread that takes no signal sent to the host
        /// process (a thread of a CLONE_VM child process, which shares the
        /// host process with another Linux process that takes them): only
        /// the kick is ever opened to it.
        static KICK_ONLY: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
    }

    /// Makes the calling thread one that only the kick reaches (see
    /// `KICK_ONLY`): the other asynchronous signals are blocked now and
    /// stay so.
    pub fn take_kicks_only() {
        KICK_ONLY.with(|k| k.set(true));
        // SAFETY: valid sigset; changes only this thread's mask.
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &async_host_signals().1, core::ptr::null_mut()) };
    }

    /// The kick alone, as a set.
    fn kick_set() -> libc::sigset_t {
        // SAFETY: a zeroed sigset is valid storage; sigemptyset initialises it.
        let mut set: libc::sigset_t = unsafe { core::mem::zeroed() };
        // SAFETY: valid sigset and signal number.
        unsafe {
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, crate::host::thread::KICK_SIGNAL);
        }
        set
    }

    /// The asynchronous set (see `async_host_signals`) as a kernel sigset:
    /// bit n - 1 for host signal n.
    pub fn async_host_signal_bits() -> u64 {
        async_host_signals().0.iter().filter(|&&h| (1..=64).contains(&h)).fold(0, |m, &h| m | 1u64 << (h - 1))
    }

    /// The calling thread's mask with the asynchronous signals taken out:
    /// what a wait for one of them installs atomically (ppoll/pselect).
    pub fn mask_open_to_async() -> libc::sigset_t {
        // SAFETY: zeroed sigset as out-parameter.
        let mut mask: libc::sigset_t = unsafe { core::mem::zeroed() };
        // SAFETY: querying only.
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, core::ptr::null(), &mut mask) };
        if KICK_ONLY.with(|k| k.get()) {
            // SAFETY: valid sigset and signal number.
            unsafe { libc::sigdelset(&mut mask, crate::host::thread::KICK_SIGNAL) };
            return mask;
        }
        for &h in &async_host_signals().0 {
            // SAFETY: valid sigset and signal number.
            unsafe { libc::sigdelset(&mut mask, h) };
        }
        mask
    }

    thread_local! {
        /// Set while the calling thread handles a call that entered
        /// unmasked (`host::trap::close_unmasked`, Linux): the whole call
        /// is the blocking window, so the window's own changes are none.
        static UNMASKED_CALL: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
    }

    /// Marks the start and the end of the handling of a call that entered
    /// unmasked (see `UNMASKED_CALL`).
    pub fn set_unmasked_call(on: bool) {
        UNMASKED_CALL.with(|u| u.set(on));
    }

    /// Blocks or unblocks, for the calling thread, every signal in the
    /// asynchronous set (the kick alone on a thread that takes only kicks).
    /// Nothing to do in a call that entered unmasked: they are open.
    pub fn set_async_signals_blocked(blocked: bool) {
        if UNMASKED_CALL.with(|u| u.get()) {
            return;
        }
        if KICK_ONLY.with(|k| k.get()) {
            let set = kick_set();
            let how = if blocked { libc::SIG_BLOCK } else { libc::SIG_UNBLOCK };
            // SAFETY: valid sigset; changes only this thread's mask.
            unsafe { libc::pthread_sigmask(how, &set, core::ptr::null_mut()) };
            return;
        }
        let set = &async_host_signals().1;
        let how = if blocked { libc::SIG_BLOCK } else { libc::SIG_UNBLOCK };
        // SAFETY: valid sigset; changes only this thread's mask.
        unsafe { libc::pthread_sigmask(how, set, core::ptr::null_mut()) };
    }

    /// The calling thread's host mask, as a Linux sigset.
    pub fn host_blocked_mask() -> u64 {
        // SAFETY: zeroed sigset as out-parameter.
        let mut cur: libc::sigset_t = unsafe { core::mem::zeroed() };
        // SAFETY: querying only.
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, core::ptr::null(), &mut cur) };
        let mut mask = 0;
        for n in 1..=NSIG {
            if let Some(h) = host_sig(Signal(n)) {
                // SAFETY: valid sigset and signal number.
                if unsafe { libc::sigismember(&cur, h) } == 1 {
                    mask |= Signal(n).mask_bit();
                }
            }
        }
        mask
    }

    /// Sets the calling thread's host mask to the Linux sigset `mask` (before
    /// an exec, so the next image inherits it), with the runtime's kick
    /// signal blocked besides: a kick another thread sends now (a guest
    /// tgkill, Go's preemption) must neither end this image, whose handlers
    /// are being handed down, nor the next one, whose handlers the exec
    /// resets; it stays pending for the next image's kick handler.
    pub fn set_host_blocked_mask(mask: u64) {
        // SAFETY: zeroed sigset initialised by sigemptyset.
        let mut set: libc::sigset_t = unsafe { core::mem::zeroed() };
        // SAFETY: valid sigset.
        unsafe { libc::sigemptyset(&mut set) };
        // SAFETY: valid sigset and signal number.
        unsafe { libc::sigaddset(&mut set, crate::host::thread::KICK_SIGNAL) };
        for n in 1..=NSIG {
            if mask & Signal(n).mask_bit() != 0 {
                if let Some(h) = host_sig(Signal(n)) {
                    // SAFETY: valid sigset and signal number.
                    unsafe { libc::sigaddset(&mut set, h) };
                }
            }
        }
        // SAFETY: valid sigset.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &set, core::ptr::null_mut()) };
    }

    /// Stops the host process the way the default action of `sig` (SIGSTOP,
    /// SIGTSTP, SIGTTIN, SIGTTOU) would, so the parent sees that very signal;
    /// returns once continued. The host discards it for an orphaned process
    /// group, as Linux does.
    pub fn stop_self(sig: Signal) {
        let Some(h) = host_sig(sig) else { return };
        if sig == Signal::SIGSTOP {
            // SAFETY: plain raise; SIGSTOP cannot be caught or blocked.
            unsafe { libc::raise(h) };
            return;
        }
        let prev = INSTALLED.get(h as usize).map_or(0, |s| s.load(core::sync::atomic::Ordering::Relaxed));
        set_disposition(sig, HostDisposition::Default);
        // SAFETY: zeroed sigset initialised by sigemptyset; changes this thread's mask only.
        unsafe {
            let mut one: libc::sigset_t = core::mem::zeroed();
            libc::sigemptyset(&mut one);
            libc::sigaddset(&mut one, h);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &one, core::ptr::null_mut());
            libc::raise(h);
            libc::pthread_sigmask(libc::SIG_BLOCK, &one, core::ptr::null_mut());
        }
        if prev == 1 {
            set_disposition(sig, HostDisposition::Catch);
        }
    }

    fn itimer_which(which: u32) -> libc::c_int {
        use linux_raw_sys::general as g;
        match which {
            g::ITIMER_VIRTUAL => libc::ITIMER_VIRTUAL,
            g::ITIMER_PROF => libc::ITIMER_PROF,
            _ => libc::ITIMER_REAL,
        }
    }

    /// Arms the host interval timer `which` (Linux ITIMER_*) with (interval,
    /// value); returns the previous setting. Its signal reaches the guest
    /// through the trap entry like any other.
    pub fn set_itimer(which: u32, (interval, value): (Timeval, Timeval)) -> HostResult<(Timeval, Timeval)> {
        let new = libc::itimerval { it_interval: to_tv(interval), it_value: to_tv(value) };
        // SAFETY: zeroed itimerval as out-parameter.
        let mut old: libc::itimerval = unsafe { core::mem::zeroed() };
        // SAFETY: valid in/out parameters.
        if unsafe { libc::setitimer(itimer_which(which), &new, &mut old) } < 0 {
            return Err(crate::host::errno::last());
        }
        Ok((from_tv(old.it_interval), from_tv(old.it_value)))
    }

    pub fn get_itimer(which: u32) -> HostResult<(Timeval, Timeval)> {
        // SAFETY: zeroed itimerval as out-parameter.
        let mut cur: libc::itimerval = unsafe { core::mem::zeroed() };
        // SAFETY: valid out-parameter.
        if unsafe { libc::getitimer(itimer_which(which), &mut cur) } < 0 {
            return Err(crate::host::errno::last());
        }
        Ok((from_tv(cur.it_interval), from_tv(cur.it_value)))
    }
}
