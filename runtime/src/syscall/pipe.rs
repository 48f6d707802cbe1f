//! pipe(2) and pipe2(2): host pipes behind guest fds.
//!
//! Divergences from Linux: the pipe's inode number (what `pipe:[N]` shows)
//! is the host's until the daemon's pipe registry gives Linux-style numbers.

use super::Ctx;
use crate::abi::gen as g;
use crate::error::{Error, Result};
use crate::host;
use crate::task::{current, lock};
use crate::uaccess;
use crate::vfs::file::OpenFile;
use std::sync::Arc;

pub fn pipe2(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let flags = super::args::flags(a[1], g::O_CLOEXEC | g::O_NONBLOCK | g::O_DIRECT, "flags must be O_CLOEXEC, O_NONBLOCK or O_DIRECT")?;
    // Check the destination before creating anything.
    uaccess::check_writable(a[0], 8)?;
    let (r, w) = host::fs::pipe().map_err(Error::new)?;
    // Linux-style pipe inode numbers come from the daemon's registry.
    let ino = match crate::daemon::call(&mactux_proto::Request::NewPipeIno) {
        Ok(mactux_proto::Response::Ino(i)) => i,
        _ => host::fs::fstat(r).map(|s| s.ino).unwrap_or(0),
    };
    let keep = flags & (g::O_NONBLOCK | g::O_DIRECT);
    if keep & g::O_NONBLOCK != 0 {
        for fd in [r, w] {
            host::fs::set_status_flags(fd, g::O_NONBLOCK).map_err(Error::new)?;
        }
    }
    let name = format!("pipe:[{ino}]");
    let end = |fd, access| {
        let mut f = OpenFile::host(name.clone(), fd, access | keep);
        f.ino = Some(ino);
        Arc::new(f)
    };
    let (read_end, write_end) = (end(r, g::O_RDONLY), end(w, g::O_WRONLY));
    let is_cloexec = flags & g::O_CLOEXEC != 0;
    let mut fds = lock(&current().fds);
    let rfd = fds.install(read_end, is_cloexec)?;
    let wfd = match fds.install(write_end, is_cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = fds.remove(rfd);
            return Err(e);
        }
    };
    drop(fds);
    let pair = [rfd, wfd];
    if let Err(e) = uaccess::write(a[0], &[pair[0], pair[1]]) {
        let mut fds = lock(&current().fds);
        let _ = fds.remove(rfd);
        let _ = fds.remove(wfd);
        return Err(e);
    }
    Ok(0)
}

pub fn pipe(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    pipe2(cx, [a[0], 0, 0, 0, 0, 0])
}
