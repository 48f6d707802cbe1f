//! getsockopt(2) and setsockopt(2): socket(7), tcp(7), ip(7), ipv6(7).
//!
//! Options the host has are translated through its table
//! (`host::net::sockopt_to_host`: level, name and value layout); the ones
//! that describe the socket itself (SO_TYPE, SO_DOMAIN, SO_PROTOCOL,
//! SO_PEERCRED, SO_PASSCRED) are answered here, and so are SO_BINDTODEVICE
//! and SO_BINDTOIFINDEX, whose Linux rules (name length, ENODEV, the room
//! to read a name back, CAP_NET_RAW to change a binding) hold on both
//! hosts while the host binds by index. Unknown options fail with
//! ENOPROTOOPT as on Linux.
//!
//! Divergences from Linux:
//! - Changing an interface binding also needs the host's own permission on
//!   a Linux host: a guest with CAP_NET_RAW in a host process without it
//!   gets EPERM. On macOS a Unix socket keeps no binding (it reads back
//!   as unbound).
//! - SO_SNDBUF/SO_RCVBUF read back what the host keeps (Linux doubles the
//!   value set; a Linux host does too, macOS does not).
//! - SO_PEERCRED of an inet socket reports pid 0 and the overflow ids, as
//!   Linux does; of a Unix socket, the peer's Linux pid when it is a task
//!   of this namespace, else its host pid.
//! - Options the host lacks are listed as `// lossy:` rows of its table:
//!   setting them succeeds and does nothing.
//! - IP_MTU and IPV6_MTU fail with ENOPROTOOPT on macOS, which has no
//!   option for a socket's path MTU.

use super::socket::peer_ucred;
use super::{args, Ctx};
use crate::abi::net::{self as an, n};
use crate::abi::{Errno, Timeval};
use crate::error::{Error, Result};
use crate::host::{self, net::OptKind, net::OptValue};
use crate::task::{current, lock};
use linux_raw_sys::general as g;
use crate::uaccess;
use crate::return_errno_with_message;
use std::sync::atomic::Ordering;

/// The Linux "overflow" uid and gid (65534) shown for an unknown owner.
const OVERFLOW_ID: u32 = 65534;

/// A socket whose options are asked: a host socket, or a netlink socket
/// the runtime serves (`netlink.rs`).
enum Opt {
    Host(std::sync::Arc<crate::vfs::file::OpenFile>, crate::host::HostFd),
    Netlink(std::sync::Arc<crate::vfs::file::OpenFile>),
}

fn socket_of(fd: i32) -> Result<Opt> {
    let f = lock(&current().fds).get(fd)?;
    if super::netlink::of(&f).is_some() {
        return Ok(Opt::Netlink(f));
    }
    let Some(h) = f.host_fd() else { return_errno_with_message!(ENOTSOCK, "not a socket") };
    let st = host::fs::fstat(h).map_err(Error::new)?;
    if st.mode & linux_raw_sys::general::S_IFMT != linux_raw_sys::general::S_IFSOCK {
        return_errno_with_message!(ENOTSOCK, "not a socket");
    }
    Ok(Opt::Host(f, h))
}

/// The `_NEW` timeout options carry the same 64-bit timeval on x86_64.
fn canonical(level: u32, name: u32) -> u32 {
    match (level, name) {
        (n::SOL_SOCKET, n::SO_RCVTIMEO_NEW) => n::SO_RCVTIMEO,
        (n::SOL_SOCKET, n::SO_SNDTIMEO_NEW) => n::SO_SNDTIMEO,
        _ => name,
    }
}

/// Reads an int option value, given `optlen` bytes at `optval`: EINVAL
/// when they are fewer than an int.
pub(super) fn read_int(optval: u64, optlen: usize) -> Result<i32> {
    if optlen < 4 {
        return_errno_with_message!(EINVAL, "option value shorter than an int");
    }
    uaccess::read::<i32>(optval)
}

/// Writes an option value (`len = min(*optlen, size)`, then `*optlen = len`).
pub(super) fn put(optval: u64, optlen: u64, bytes: &[u8]) -> Result<u64> {
    let room: i32 = uaccess::read(optlen)?;
    let Ok(room) = usize::try_from(room) else { return_errno_with_message!(EINVAL, "negative option length") };
    let len = room.min(bytes.len());
    uaccess::write_bytes(optval, &bytes[..len])?;
    uaccess::write(optlen, &(len as u32))?;
    Ok(0)
}

pub fn getsockopt(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (file, hfd) = match socket_of(args::fd(a[0]))? {
        Opt::Netlink(f) => return super::netlink::getsockopt(&f, cx, a),
        Opt::Host(f, h) => (f, h),
    };
    let level = args::uint(a[1]);
    let name = canonical(level, args::uint(a[2]));
    let (optval, optlen) = (a[3], a[4]);
    let so = file.ops_as::<crate::vfs::socket::SocketFile>();
    let int = |v: u32| put(optval, optlen, &v.to_ne_bytes());
    if level == n::SOL_SOCKET {
        match name {
            n::SO_TYPE => return int(so.map_or_else(|| host::net::socket_type(hfd).unwrap_or(0), |s| s.ty)),
            n::SO_DOMAIN => return int(so.map_or_else(|| host::net::socket_domain(hfd).unwrap_or(0), |s| s.domain)),
            n::SO_PROTOCOL => {
                let (domain, ty, proto) = so.map_or((n::AF_UNIX, 0, 0), |s| (s.domain, s.ty, s.protocol));
                // inet_create fills in the protocol the type implies.
                let proto = match (domain, ty, proto) {
                    (n::AF_INET | n::AF_INET6, n::SOCK_STREAM, 0) => an::IPPROTO_TCP,
                    (n::AF_INET | n::AF_INET6, n::SOCK_DGRAM, 0) => an::IPPROTO_UDP,
                    _ => proto,
                };
                return int(proto);
            }
            n::SO_PASSCRED => return int(u32::from(so.is_some_and(|s| s.passcred.load(Ordering::Relaxed)))),
            n::SO_BINDTODEVICE => return getbindtodevice(hfd, optval, optlen),
            n::SO_BINDTOIFINDEX => return int(host::net::bound_ifindex(hfd).map_err(Error::new)?),
            n::SO_PEERCRED => {
                let is_unix = so.map_or(true, |s| s.domain == n::AF_UNIX);
                let c = if is_unix {
                    match peer_ucred(hfd) {
                        Ok(c) => c,
                        Err(e) if e.errno == Errno::ENOTCONN => an::Ucred { pid: 0, uid: OVERFLOW_ID, gid: OVERFLOW_ID },
                        Err(e) => return Err(e),
                    }
                } else {
                    an::Ucred { pid: 0, uid: OVERFLOW_ID, gid: OVERFLOW_ID }
                };
                return put(optval, optlen, uaccess::bytes_of(&c));
            }
            _ => {}
        }
    }
    if let Some(name) = udplite_option(so, level, name) {
        return int(host::net::get_int(hfd, an::IPPROTO_UDPLITE as i32, name).map_err(Error::new)? as u32);
    }
    let Some(o) = host::net::sockopt_to_host(level, name) else {
        return Err(unknown(so.map(|s| s.domain), level, name, "getsockopt"));
    };
    match host::net::get_opt(hfd, o).map_err(Error::new)? {
        OptValue::Int(v) => put(optval, optlen, &v.to_ne_bytes()),
        OptValue::Timeval(tv) => put(optval, optlen, uaccess::bytes_of(&tv)),
        OptValue::Linger { on, secs } => put(optval, optlen, uaccess::bytes_of(&an::Linger { onoff: i32::from(on), linger: secs })),
        OptValue::Raw(b) => put(optval, optlen, &b),
    }
}

/// A UDP-Lite checksum coverage option of a UDP-Lite socket, as the host
/// names it: only a host that has UDP-Lite made the socket, and there the
/// level and names are Linux's own.
fn udplite_option(so: Option<&crate::vfs::socket::SocketFile>, level: u32, name: u32) -> Option<i32> {
    let is_udplite = so.is_some_and(|s| s.protocol == an::IPPROTO_UDPLITE);
    let known = level == an::IPPROTO_UDPLITE && matches!(name, an::UDPLITE_SEND_CSCOV | an::UDPLITE_RECV_CSCOV);
    (is_udplite && known).then_some(name as i32)
}

/// The error for an option nobody knows: ENOPROTOOPT, or EOPNOTSUPP for
/// an inet level on a Unix socket.
fn unknown(domain: Option<u32>, level: u32, name: u32, call: &'static str) -> Error {
    if domain == Some(n::AF_UNIX) && level != n::SOL_SOCKET {
        return Error::with_message(Errno::EOPNOTSUPP, "unix sockets have no options at this level");
    }
    super::refuse(call, Errno::ENOPROTOOPT, "unknown socket option", Some(u64::from(level) << 32 | u64::from(name)))
}

pub fn setsockopt(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let (file, hfd) = match socket_of(args::fd(a[0]))? {
        Opt::Netlink(f) => return super::netlink::setsockopt(&f, cx, a),
        Opt::Host(f, h) => (f, h),
    };
    let level = args::uint(a[1]);
    let name = canonical(level, args::uint(a[2]));
    let optval = a[3];
    let Ok(optlen) = usize::try_from(args::int(a[4])) else { return_errno_with_message!(EINVAL, "negative option length") };
    let so = file.ops_as::<crate::vfs::socket::SocketFile>();
    let read_int = || read_int(optval, optlen);
    if level == n::SOL_SOCKET {
        match name {
            n::SO_PASSCRED => {
                let on = read_int()? != 0;
                if let Some(s) = so {
                    s.passcred.store(on, Ordering::Relaxed);
                }
                return Ok(0);
            }
            n::SO_BINDTODEVICE => {
                // sock_setbindtodevice: at most IFNAMSIZ-1 bytes count and the
                // name need not end in NUL; "" or no bytes at all unbinds.
                let raw = uaccess::read_bytes(optval, optlen.min(IFNAMSIZ - 1))?;
                let name: Vec<u8> = raw.into_iter().take_while(|&c| c != 0).collect();
                let index = if name.is_empty() { 0 } else { interface_index(&name)? };
                return bind_to_ifindex(hfd, index);
            }
            n::SO_BINDTOIFINDEX => {
                let Ok(index) = u32::try_from(read_int()?) else { return_errno_with_message!(EINVAL, "negative interface index") };
                return bind_to_ifindex(hfd, index);
            }
            n::SO_TYPE | n::SO_DOMAIN | n::SO_PROTOCOL | n::SO_PEERCRED | n::SO_ERROR | n::SO_ACCEPTCONN | n::SO_INCOMING_NAPI_ID => {
                return Err(Error::with_message(Errno::ENOPROTOOPT, "read-only socket option"));
            }
            _ => {}
        }
    }
    if let Some(name) = udplite_option(so, level, name) {
        host::net::set_int(hfd, an::IPPROTO_UDPLITE as i32, name, read_int()?).map_err(Error::new)?;
        return Ok(0);
    }
    let Some(o) = host::net::sockopt_to_host(level, name) else {
        return Err(unknown(so.map(|s| s.domain), level, name, "setsockopt"));
    };
    let value = match o.kind {
        OptKind::Int | OptKind::Errno | OptKind::Ignored => OptValue::Int(read_int()?),
        OptKind::Byte => {
            // ip_setsockopt takes an int or, for these, a single byte.
            if optlen >= 4 {
                OptValue::Int(read_int()?)
            } else if optlen >= 1 {
                OptValue::Int(i32::from(uaccess::read::<u8>(optval)?))
            } else {
                return_errno_with_message!(EINVAL, "empty option value");
            }
        }
        OptKind::Timeval => {
            if optlen < core::mem::size_of::<Timeval>() {
                return_errno_with_message!(EINVAL, "option value shorter than a timeval");
            }
            let tv: Timeval = uaccess::read(optval)?;
            // sock_set_timeout: a negative time is "no timeout"; usec must be valid.
            if !(0..1_000_000).contains(&tv.usec) {
                return_errno_with_message!(EDOM, "tv_usec out of range");
            }
            let tv = if tv.sec < 0 { Timeval::default() } else { tv };
            if let Some(s) = so {
                let set = tv.sec != 0 || tv.usec != 0;
                let flag = if name == n::SO_RCVTIMEO { &s.has_rcvtimeo } else { &s.has_sndtimeo };
                flag.store(set, Ordering::Relaxed);
            }
            OptValue::Timeval(tv)
        }
        OptKind::Linger => {
            if optlen < core::mem::size_of::<an::Linger>() {
                return_errno_with_message!(EINVAL, "option value shorter than a linger");
            }
            let l: an::Linger = uaccess::read(optval)?;
            OptValue::Linger { on: l.onoff != 0, secs: l.linger }
        }
        OptKind::Raw => OptValue::Raw(uaccess::read_bytes(optval, optlen.min(256))?),
    };
    host::net::set_opt(hfd, o, &value).map_err(Error::new)?;
    Ok(0)
}

/// `IFNAMSIZ`: an interface name and its NUL.
const IFNAMSIZ: usize = n::IFNAMSIZ as usize;

/// The index of the interface named `name`, as the guest sees interfaces.
fn interface_index(name: &[u8]) -> Result<u32> {
    host::net::interfaces().into_iter().find(|i| i.name == name).map(|i| i.index).ok_or_else(|| Error::with_message(Errno::ENODEV, "no such interface"))
}

/// SO_BINDTODEVICE and SO_BINDTOIFINDEX: index 0 unbinds. Changing a
/// binding needs CAP_NET_RAW (sock_bindtoindex_locked), checked against the
/// guest's capabilities because a macOS host has no such rule.
fn bind_to_ifindex(hfd: crate::host::HostFd, index: u32) -> Result<u64> {
    if host::net::bound_ifindex(hfd).map_err(Error::new)? != 0 && !current().cred().capable(g::CAP_NET_RAW) {
        return_errno_with_message!(EPERM, "changing an interface binding needs CAP_NET_RAW");
    }
    host::net::bind_to_ifindex(hfd, index).map_err(Error::new)?;
    Ok(0)
}

/// sock_getbindtodevice: the bound interface's name and its NUL, which needs
/// IFNAMSIZ bytes of room; length 0 for a socket bound to none.
fn getbindtodevice(hfd: crate::host::HostFd, optval: u64, optlen: u64) -> Result<u64> {
    let room: i32 = uaccess::read(optlen)?;
    let Ok(room) = usize::try_from(room) else { return_errno_with_message!(EINVAL, "negative option length") };
    let index = host::net::bound_ifindex(hfd).map_err(Error::new)?;
    if index == 0 {
        uaccess::write(optlen, &0u32)?;
        return Ok(0);
    }
    if room < IFNAMSIZ {
        return_errno_with_message!(EINVAL, "room for fewer than IFNAMSIZ bytes");
    }
    let Some(iface) = host::net::interfaces().into_iter().find(|i| i.index == index) else {
        return_errno_with_message!(ENODEV, "the bound interface is gone");
    };
    let mut name = iface.name;
    name.push(0);
    uaccess::write_bytes(optval, &name)?;
    uaccess::write(optlen, &(name.len() as u32))?;
    Ok(0)
}
