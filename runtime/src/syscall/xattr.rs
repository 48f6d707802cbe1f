//! Extended attributes: setxattr, lsetxattr, fsetxattr, getxattr,
//! lgetxattr, fgetxattr, listxattr, llistxattr, flistxattr, removexattr,
//! lremovexattr, fremovexattr (Linux's fs/xattr.c).
//!
//! man7: xattr.7, getxattr.2, setxattr.2, listxattr.2, removexattr.2
//! (<https://man7.org/linux/man-pages/man7/xattr.7.html>).
//!
//! The attributes are the host file's own: the calls check what Linux
//! checks before it reaches a file (flags, the name's length, the value's
//! size, the guest pointers, the path) in Linux's order, then ask the host
//! (`host::fs::xattr`), which applies the namespace and permission rules
//! of its file system for the host user, and the guest's own permission
//! checks add refusals as for other calls (`vfs::perm`).
//!
//! In a root imported with Linux metadata (docs/rootfs.md), the archive's
//! own attributes are kept in `user.mactux.xattr.NAME`: there the guest's
//! NAME is that host attribute, listed by NAME, and the kernel's rules for
//! its namespace are applied here (trusted.* only with CAP_SYS_ADMIN,
//! writing security.* with CAP_SYS_ADMIN, security.capability with
//! CAP_SETFCAP), since the host sees only `user.` names.
//!
//! Divergences from Linux:
//! - The runtime's own attributes (`user.mactux.*`, the Linux owner and
//!   mode of an imported root's files: vfs/meta.rs) are hidden: they are
//!   not listed, read or removed (ENODATA), nor set (EPERM).
//! - In a root imported with metadata, POSIX ACLs (`system.posix_acl_*`)
//!   are not kept (EOPNOTSUPP, as a file system mounted without them).
//! - Files the runtime makes up (/proc, /sys, /dev) have none: listing
//!   finds nothing, the other calls are EOPNOTSUPP, as procfs answers.
//! - On macOS, whose names have no namespace, `user.` names are stored as
//!   they are (host attributes without that prefix, `com.apple.*`, are not
//!   listed), and the other namespaces are empty (ENODATA) and take
//!   nothing (EOPNOTSUPP).

use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::{Error, Result};
use crate::host::{self, XattrAt, XattrOp};
use crate::vfs::fd_table::file_of;
use crate::vfs::lookup::resolve_existing;
use crate::vfs::{self, Node};
use crate::{errno, return_errno_with_message, uaccess};
use std::ffi::CString;

/// include/uapi/linux/limits.h.
const XATTR_NAME_MAX: usize = 255;
const XATTR_SIZE_MAX: usize = 65536;
const XATTR_LIST_MAX: usize = 65536;
/// include/uapi/linux/xattr.h.
const XATTR_CREATE: u32 = 1;
const XATTR_REPLACE: u32 = 2;

/// The prefix of the runtime's own attributes (vfs/meta.rs).
const PRIVATE: &[u8] = b"user.mactux.";

fn is_private(name: &CString) -> bool {
    name.as_bytes().starts_with(PRIVATE)
}

/// Where a root imported with metadata keeps the archive's attributes.
const STORED: &[u8] = b"user.mactux.xattr.";

/// The host attribute behind the guest's `name`: itself, or in a root
/// imported with metadata its stored name, once the kernel's namespace
/// rules (which the host cannot apply to it) allow the access.
fn host_name(name: &CString, need: Need) -> Result<CString> {
    if !vfs::meta::enabled() {
        return Ok(name.clone());
    }
    let n = name.as_bytes();
    let cred = crate::task::current().cred();
    let refused = |what: &'static str| if need == Need::Write { errno!(EPERM, what) } else { errno!(ENODATA, what) };
    if n.starts_with(b"trusted.") {
        if !cred.capable(g::CAP_SYS_ADMIN) {
            return Err(refused("trusted attributes need CAP_SYS_ADMIN"));
        }
    } else if n.starts_with(b"security.") {
        let cap = if n == b"security.capability" { g::CAP_SETFCAP } else { g::CAP_SYS_ADMIN };
        if need == Need::Write && !cred.capable(cap) {
            return_errno_with_message!(EPERM, "writing a security attribute needs privilege");
        }
    } else if !n.starts_with(b"user.") {
        return_errno_with_message!(EOPNOTSUPP, "this root keeps user, trusted and security attributes only");
    }
    let mut stored = STORED.to_vec();
    stored.extend_from_slice(n);
    CString::new(stored).map_err(|_| errno!(ERANGE))
}

/// The attribute name, as import_xattr_name reads it: ERANGE when empty
/// or longer than XATTR_NAME_MAX.
fn name_arg(ptr: u64) -> Result<CString> {
    let name = uaccess::read_cstr(ptr, XATTR_NAME_MAX).map_err(|e| {
        if e.errno == crate::abi::Errno::ENAMETOOLONG { errno!(ERANGE, "attribute name longer than 255 bytes") } else { e }
    })?;
    if name.is_empty() {
        return_errno_with_message!(ERANGE, "empty attribute name");
    }
    CString::new(name).map_err(|_| errno!(ERANGE))
}

/// How a call names its file.
#[derive(Clone, Copy)]
enum Target {
    /// A path, its last symlink followed or not (the `l` calls).
    Path(u64, bool),
    Fd(i32),
}

/// What the guest's permission checks ask of the file before the host is
/// asked (xattr_permission: reading or writing for `user.`).
#[derive(Clone, Copy, PartialEq)]
enum Need {
    Nothing,
    Read,
    Write,
}

/// Runs `f` on where the target lives on the host; None for a file the
/// runtime makes up.
fn with_target<R>(t: Target, name: Option<&CString>, need: Need, f: impl FnOnce(XattrAt<'_>) -> Result<R>) -> Result<Option<R>> {
    match t {
        Target::Path(ptr, follow) => {
            let path = args::path(ptr)?;
            let r = resolve_existing(g::AT_FDCWD, &path, follow)?;
            let Node::Host(hp) = &r.node else { return Ok(None) };
            if need != Need::Nothing && name.is_some_and(is_user) {
                user_rules(vfs::lookup::node_stat(&r, follow)?.mode, need)?;
                let mask = if need == Need::Read { vfs::perm::MAY_READ } else { vfs::perm::MAY_WRITE };
                vfs::perm::may_access(&crate::task::current().cred(), &r, mask, follow)?;
            }
            let (dir, leaf) = hp.at();
            f(XattrAt::Name(dir, leaf)).map(Some)
        }
        Target::Fd(fd) => {
            let file = file_of(fd)?;
            file.require_not_path()?;
            match file.host_fd() {
                Some(h) => {
                    if need != Need::Nothing && name.is_some_and(is_user) {
                        user_rules(file.stat()?.mode, need)?;
                    }
                    f(XattrAt::Fd(h)).map(Some)
                }
                // The runtime's own kinds of file (an eventfd, a signalfd
                // ...) are anonymous inodes, which take no attributes.
                None => Err(errno!(EOPNOTSUPP, "this kind of file has no extended attributes")),
            }
        }
    }
}

fn is_user(name: &CString) -> bool {
    name.as_bytes().starts_with(b"user.")
}

/// xattr_permission's rule for the user namespace, whatever the host
/// allows (macOS takes them on symlinks): only regular files and
/// directories carry them; reading another kind's finds none (ENODATA),
/// writing is EPERM. (The sticky-directory rule is the host's.)
fn user_rules(mode: u32, need: Need) -> Result<()> {
    let kind = mode & g::S_IFMT;
    if kind != g::S_IFREG && kind != g::S_IFDIR {
        return Err(if need == Need::Write {
            errno!(EPERM, "user attributes are for regular files and directories")
        } else {
            errno!(ENODATA, "user attributes are for regular files and directories")
        });
    }
    Ok(())
}

fn host_err(e: crate::abi::Errno) -> Error {
    Error::with_message(e, "the host refused the extended attribute call")
}

fn do_set(t: Target, a: [u64; 6]) -> Result<u64> {
    let (value_ptr, size, flags) = (a[2], a[3] as usize, args::uint(a[4]));
    // setxattr_copy: flags, then the name, then the value.
    if flags & !(XATTR_CREATE | XATTR_REPLACE) != 0 {
        return_errno_with_message!(EINVAL, "flags other than XATTR_CREATE and XATTR_REPLACE");
    }
    let name = name_arg(a[1])?;
    if size > XATTR_SIZE_MAX {
        return_errno_with_message!(E2BIG, "an attribute value is at most 64 KiB");
    }
    let value = if size > 0 { uaccess::read_bytes(value_ptr, size)? } else { Vec::new() };
    let done = with_target(t, Some(&name), Need::Write, |at| {
        if is_private(&name) {
            return_errno_with_message!(EPERM, "user.mactux.* attributes are the runtime's own");
        }
        host::fs::xattr(at, XattrOp::Set(&host_name(&name, Need::Write)?, &value, flags)).map_err(host_err)
    })?;
    match done {
        Some(_) => Ok(0),
        None => Err(errno!(EOPNOTSUPP, "files the runtime makes up have no extended attributes")),
    }
}

fn do_get(t: Target, a: [u64; 6]) -> Result<u64> {
    let (value_ptr, size) = (a[2], (a[3] as usize).min(XATTR_SIZE_MAX));
    let name = name_arg(a[1])?;
    let got = with_target(t, Some(&name), Need::Read, |at| {
        if is_private(&name) {
            return_errno_with_message!(ENODATA, "no such attribute");
        }
        let hn = host_name(&name, Need::Read)?;
        let mut buf = vec![0u8; size];
        let n = host::fs::xattr(at, XattrOp::Get(&hn, &mut buf)).map_err(|e| {
            // getxattr: a value too big for the largest buffer is E2BIG.
            if e == crate::abi::Errno::ERANGE && size >= XATTR_SIZE_MAX { errno!(E2BIG) } else { host_err(e) }
        })?;
        buf.truncate(n.min(size));
        Ok((n, buf))
    })?;
    let Some((n, buf)) = got else { return Err(errno!(EOPNOTSUPP, "files the runtime makes up have no extended attributes")) };
    if size > 0 {
        uaccess::write_bytes(value_ptr, &buf)?;
    }
    Ok(n as u64)
}

fn do_list(t: Target, a: [u64; 6]) -> Result<u64> {
    let (list_ptr, size) = (a[1], (a[2] as usize).min(XATTR_LIST_MAX));
    // The whole list, to leave the runtime's own names out of it.
    let got = with_target(t, None, Need::Nothing, |at| {
        let mut buf = vec![0u8; XATTR_LIST_MAX];
        let n = host::fs::xattr(at, XattrOp::List(&mut buf)).map_err(|e| if e == crate::abi::Errno::ERANGE { errno!(E2BIG) } else { host_err(e) })?;
        let stored = vfs::meta::enabled();
        let may_trusted = crate::task::current().cred().capable(g::CAP_SYS_ADMIN);
        let mut out = Vec::with_capacity(n);
        for name in buf[..n.min(buf.len())].split_inclusive(|&c| c == 0) {
            match name.strip_prefix(STORED) {
                // trusted_xattr_list: listed only for CAP_SYS_ADMIN.
                Some(guest) if stored && (may_trusted || !guest.starts_with(b"trusted.")) => out.extend_from_slice(guest),
                _ if !stored && !name.starts_with(PRIVATE) => out.extend_from_slice(name),
                _ => {}
            }
        }
        Ok(out)
    })?;
    let list = got.unwrap_or_default();
    if size == 0 {
        return Ok(list.len() as u64);
    }
    if list.len() > size {
        return_errno_with_message!(ERANGE, "the list does not fit the buffer");
    }
    uaccess::write_bytes(list_ptr, &list)?;
    Ok(list.len() as u64)
}

fn do_remove(t: Target, a: [u64; 6]) -> Result<u64> {
    let name = name_arg(a[1])?;
    let done = with_target(t, Some(&name), Need::Write, |at| {
        if is_private(&name) {
            return_errno_with_message!(ENODATA, "no such attribute");
        }
        host::fs::xattr(at, XattrOp::Remove(&host_name(&name, Need::Write)?)).map_err(host_err)
    })?;
    match done {
        Some(_) => Ok(0),
        None => Err(errno!(EOPNOTSUPP, "files the runtime makes up have no extended attributes")),
    }
}

pub fn setxattr(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    do_set(Target::Path(a[0], true), a)
}

pub fn lsetxattr(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    do_set(Target::Path(a[0], false), a)
}

pub fn fsetxattr(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    do_set(Target::Fd(args::fd(a[0])), a)
}

pub fn getxattr(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    do_get(Target::Path(a[0], true), a)
}

pub fn lgetxattr(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    do_get(Target::Path(a[0], false), a)
}

pub fn fgetxattr(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    do_get(Target::Fd(args::fd(a[0])), a)
}

pub fn listxattr(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    do_list(Target::Path(a[0], true), a)
}

pub fn llistxattr(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    do_list(Target::Path(a[0], false), a)
}

pub fn flistxattr(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    do_list(Target::Fd(args::fd(a[0])), a)
}

pub fn removexattr(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    do_remove(Target::Path(a[0], true), a)
}

pub fn lremovexattr(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    do_remove(Target::Path(a[0], false), a)
}

pub fn fremovexattr(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    do_remove(Target::Fd(args::fd(a[0])), a)
}
