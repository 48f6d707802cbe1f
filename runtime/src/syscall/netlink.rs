//! The socket calls on an AF_NETLINK socket (netlink(7)), which the
//! runtime serves itself (`vfs/netlink.rs`, answers in `vfs/rtnetlink.rs`
//! and `vfs/sockdiag.rs`):
//! socket, bind, connect, getsockname, getpeername, sendto/sendmsg,
//! recvfrom/recvmsg (and the mmsg forms), getsockopt/setsockopt. The
//! generic socket entry points in `socket.rs` and `sockopt.rs` hand a
//! netlink fd here. Checks and errors follow net/netlink/af_netlink.c.
//!
//! Divergences from Linux:
//! - Only NETLINK_ROUTE and NETLINK_SOCK_DIAG exist; other protocols (NETLINK_AUDIT,
//!   NETLINK_KOBJECT_UEVENT, ...) are EPROTONOSUPPORT, as on a kernel
//!   without them.
//! - Sending to another port or to a multicast group is EPERM, as for an
//!   unprivileged Linux user, whatever the guest's credentials.
//! - Control messages are neither read on send nor produced on receive.
//! - SO_RCVBUFFORCE/SO_SNDBUFFORCE stop at 16 MiB (Linux: INT_MAX/2).

use super::socket::Flat;
use super::{args, Ctx};
use crate::abi::net::{self as an, n, MmsgHdr, MsgHdr};
use crate::abi::netlink as nl;
use crate::error::Result;
use crate::task::{current, lock};
use crate::uaccess;
use crate::vfs::file::OpenFile;
use crate::vfs::netlink::NetlinkSocket;
use crate::{return_errno, return_errno_with_message};
use std::sync::Arc;

/// `MAX_LINKS`: protocols at or beyond it are EPROTONOSUPPORT.
const MAX_LINKS: u32 = 32;

/// Checks a netlink socket's type and protocol (`netlink_create`).
pub fn check_create(ty: u32, protocol: u32) -> Result<u32> {
    if ty != n::SOCK_RAW && ty != n::SOCK_DGRAM {
        return_errno_with_message!(ESOCKTNOSUPPORT, "netlink sockets are SOCK_RAW or SOCK_DGRAM");
    }
    if protocol >= MAX_LINKS {
        return_errno_with_message!(EPROTONOSUPPORT, "no such netlink protocol");
    }
    if protocol != nl::nl::NETLINK_ROUTE && protocol != nl::nl::NETLINK_SOCK_DIAG {
        return Err(super::refuse("socket", crate::abi::Errno::EPROTONOSUPPORT, "netlink protocols other than NETLINK_ROUTE and NETLINK_SOCK_DIAG are not supported", Some(u64::from(protocol))));
    }
    Ok(ty)
}

/// socket(AF_NETLINK, ty, protocol) with the SOCK_* flags `flags`.
pub fn socket(ty: u32, protocol: u32, flags: u32) -> Result<u64> {
    let s = NetlinkSocket::new(protocol, ty)?;
    let ino = s.ino();
    let mut f = OpenFile::new(format!("socket:[{ino}]"), s, crate::abi::gen::O_RDWR | (flags & an::SOCK_NONBLOCK));
    f.ino = Some(ino);
    let fd = lock(&current().fds).install(Arc::new(f), flags & an::SOCK_CLOEXEC != 0)?;
    Ok(fd as u64)
}

/// The netlink socket behind `file`, if it is one.
pub fn of(file: &OpenFile) -> Option<&NetlinkSocket> {
    file.ops_as::<NetlinkSocket>()
}

fn sock(file: &OpenFile) -> Result<&NetlinkSocket> {
    of(file).ok_or_else(|| crate::errno!(ENOTSOCK))
}

/// The guest's address bytes (`move_addr_to_kernel`).
fn read_addr(addr: u64, len: u64) -> Result<Vec<u8>> {
    let Ok(len) = usize::try_from(args::int(len)) else { return_errno_with_message!(EINVAL, "negative address length") };
    if len > an::SOCKADDR_STORAGE_LEN {
        return_errno_with_message!(EINVAL, "address longer than sockaddr_storage");
    }
    uaccess::read_bytes(addr, len)
}

/// Writes a `sockaddr_nl` for the guest (`move_addr_to_user`).
fn write_addr(addr: u64, len_ptr: u64, pid: u32, groups: u32) -> Result<()> {
    if addr == 0 || len_ptr == 0 {
        return Ok(());
    }
    let room: i32 = uaccess::read(len_ptr)?;
    let Ok(room) = usize::try_from(room) else { return_errno_with_message!(EINVAL, "negative address length") };
    let b = nl::sockaddr_nl(pid, groups);
    uaccess::write_bytes(addr, &b[..room.min(b.len())])?;
    uaccess::write(len_ptr, &(b.len() as u32))
}

/// (pid, groups) of a `sockaddr_nl` the guest passed: EINVAL when short
/// or of another family.
fn nl_addr(b: &[u8]) -> Result<(u32, u32)> {
    match nl::parse_sockaddr_nl(b) {
        Some((family, pid, groups)) if family == n::AF_NETLINK => Ok((pid, groups)),
        _ => Err(crate::errno!(EINVAL, "not a sockaddr_nl")),
    }
}

pub fn bind(file: &OpenFile, a: [u64; 6]) -> Result<u64> {
    let s = sock(file)?;
    let b = read_addr(a[1], a[2])?;
    let (pid, groups) = nl_addr(&b)?;
    s.bind(pid, groups)?;
    Ok(0)
}

pub fn connect(file: &OpenFile, a: [u64; 6]) -> Result<u64> {
    let s = sock(file)?;
    let b = read_addr(a[1], a[2])?;
    if b.len() < 2 {
        return_errno_with_message!(EINVAL, "address shorter than its family");
    }
    if u32::from(u16::from_ne_bytes([b[0], b[1]])) == n::AF_UNSPEC {
        s.connect_to((0, 0));
        return Ok(0);
    }
    let (pid, groups) = nl_addr(&b)?;
    if pid != 0 || groups != 0 {
        return_errno_with_message!(EPERM, "only the kernel may be a netlink destination here");
    }
    s.autobind()?;
    s.connect_to((0, 0));
    Ok(0)
}

pub fn getsockname(file: &OpenFile, a: [u64; 6]) -> Result<u64> {
    let s = sock(file)?;
    uaccess::check_writable(a[2], 4)?;
    write_addr(a[1], a[2], s.portid(), s.groups() as u32)?;
    Ok(0)
}

pub fn getpeername(file: &OpenFile, a: [u64; 6]) -> Result<u64> {
    let s = sock(file)?;
    uaccess::check_writable(a[2], 4)?;
    let (pid, group) = s.dst();
    let mask = if group == 0 { 0 } else { 1u32.checked_shl(group - 1).unwrap_or(0) };
    write_addr(a[1], a[2], pid, mask)?;
    Ok(0)
}

/// `netlink_sendmsg`: the destination must be the kernel.
fn send(s: &NetlinkSocket, iov: &[crate::abi::Iovec], to: Option<Vec<u8>>, flags: u32) -> Result<usize> {
    if flags & n::MSG_OOB != 0 {
        return_errno_with_message!(EOPNOTSUPP, "no out-of-band data on netlink");
    }
    if let Some(b) = to {
        let (pid, groups) = nl_addr(&b)?;
        if pid != 0 || groups != 0 {
            return_errno_with_message!(EPERM, "only the kernel may be a netlink destination here");
        }
    }
    let total: usize = iov.iter().map(|v| v.len as usize).sum();
    let limit = s.options().sndbuf as usize;
    if total > limit {
        return_errno_with_message!(EMSGSIZE, "netlink message longer than the send buffer");
    }
    let data = Flat::new(iov).read_next(total)?;
    s.send(&data)
}

/// One receive into `iov`: (bytes the call returns, whether truncated).
fn recv(file: &OpenFile, s: &NetlinkSocket, iov: &[crate::abi::Iovec], flags: u32) -> Result<(usize, bool)> {
    if flags & n::MSG_OOB != 0 {
        return_errno_with_message!(EOPNOTSUPP, "no out-of-band data on netlink");
    }
    if flags & n::MSG_ERRQUEUE != 0 {
        return_errno!(EAGAIN);
    }
    for v in iov {
        uaccess::check_writable(v.base, v.len as usize)?;
    }
    let room: usize = iov.iter().map(|v| v.len as usize).sum();
    let r = s.recv(file, room, flags & n::MSG_PEEK != 0, flags & n::MSG_DONTWAIT != 0)?;
    file.touch_read();
    Flat::new(iov).write_next(&r.data)?;
    let truncated = r.data.len() < r.len;
    Ok((if flags & n::MSG_TRUNC != 0 { r.len } else { r.data.len() }, truncated))
}

pub fn sendto(file: &OpenFile, a: [u64; 6]) -> Result<u64> {
    let s = sock(file)?;
    let mut total = 0;
    let iov = [super::read_write::clamp_iovec(crate::abi::Iovec { base: a[1], len: a[2] }, &mut total)?];
    let to = if a[4] != 0 { Some(read_addr(a[4], a[5])?) } else { None };
    file.touch_write();
    Ok(send(s, &iov, to, args::uint(a[3]))? as u64)
}

pub fn recvfrom(file: &OpenFile, a: [u64; 6]) -> Result<u64> {
    let s = sock(file)?;
    let mut total = 0;
    let iov = [super::read_write::clamp_iovec(crate::abi::Iovec { base: a[1], len: a[2] }, &mut total)?];
    if a[4] != 0 && a[5] != 0 {
        uaccess::check_writable(a[5], 4)?;
    }
    let (n, _) = recv(file, s, &iov, args::uint(a[3]))?;
    // Every datagram comes from the kernel: port 0, no group.
    write_addr(a[4], a[5], 0, 0)?;
    Ok(n as u64)
}

fn sendmsg_one(file: &OpenFile, s: &NetlinkSocket, hdr: &MsgHdr, flags: u32) -> Result<usize> {
    let iov = super::read_write::read_iovecs(hdr.iov, hdr.iovlen)?;
    let to = if hdr.name != 0 && hdr.namelen != 0 { Some(read_addr(hdr.name, u64::from(hdr.namelen))?) } else { None };
    file.touch_write();
    send(s, &iov, to, flags)
}

fn recvmsg_one(file: &OpenFile, s: &NetlinkSocket, hdr_addr: u64, flags: u32) -> Result<usize> {
    let hdr: MsgHdr = uaccess::read(hdr_addr)?;
    let iov = super::read_write::read_iovecs(hdr.iov, hdr.iovlen)?;
    let (n, truncated) = recv(file, s, &iov, flags)?;
    let mut out = hdr;
    if hdr.name != 0 {
        let b = nl::sockaddr_nl(0, 0);
        uaccess::write_bytes(hdr.name, &b[..(hdr.namelen as usize).min(b.len())])?;
        out.namelen = b.len() as u32;
    }
    out.controllen = 0;
    out.flags = if truncated { n::MSG_TRUNC } else { 0 };
    uaccess::write(hdr_addr, &out)?;
    Ok(n)
}

pub fn sendmsg(file: &OpenFile, a: [u64; 6]) -> Result<u64> {
    let s = sock(file)?;
    let hdr: MsgHdr = uaccess::read(a[1])?;
    Ok(sendmsg_one(file, s, &hdr, args::uint(a[2]))? as u64)
}

pub fn recvmsg(file: &OpenFile, a: [u64; 6]) -> Result<u64> {
    let s = sock(file)?;
    Ok(recvmsg_one(file, s, a[1], args::uint(a[2]))? as u64)
}

/// `UIO_MAXIOV`: the most messages one sendmmsg/recvmmsg handles.
const MMSG_MAX: u32 = 1024;
/// `MSG_WAITFORONE` (include/linux/socket.h).
const MSG_WAITFORONE: u32 = 0x10000;

fn mmsg_at(base: u64, i: u32) -> u64 {
    base.wrapping_add(u64::from(i) * core::mem::size_of::<MmsgHdr>() as u64)
}

fn put_mmsg_len(at: u64, k: usize) -> Result<()> {
    uaccess::write(at.wrapping_add(core::mem::offset_of!(MmsgHdr, len) as u64), &(k as u32))
}

pub fn sendmmsg(file: &OpenFile, a: [u64; 6]) -> Result<u64> {
    let s = sock(file)?;
    let vlen = args::uint(a[2]).min(MMSG_MAX);
    let mut done = 0u32;
    while done < vlen {
        let at = mmsg_at(a[1], done);
        let r = uaccess::read::<MmsgHdr>(at).and_then(|m| sendmsg_one(file, s, &m.hdr, args::uint(a[3])));
        match r {
            Ok(k) => put_mmsg_len(at, k)?,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
        done += 1;
    }
    Ok(u64::from(done))
}

pub fn recvmmsg(file: &OpenFile, a: [u64; 6]) -> Result<u64> {
    let s = sock(file)?;
    let vlen = args::uint(a[2]).min(MMSG_MAX);
    let mut flags = args::uint(a[3]);
    let mut done = 0u32;
    while done < vlen {
        let at = mmsg_at(a[1], done);
        match recvmsg_one(file, s, at, flags & !MSG_WAITFORONE) {
            Ok(k) => put_mmsg_len(at, k)?,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
        done += 1;
        if flags & MSG_WAITFORONE != 0 {
            flags |= n::MSG_DONTWAIT;
        }
    }
    Ok(u64::from(done))
}

/// Writes an int option value (`len = sizeof(int)`).
fn put_int(optval: u64, optlen: u64, v: u32) -> Result<u64> {
    super::sockopt::put(optval, optlen, &v.to_ne_bytes())
}

fn put_timeval(optval: u64, optlen: u64, t: Option<crate::abi::Timespec>) -> Result<u64> {
    let tv = t.map_or(crate::abi::Timeval::default(), |t| crate::abi::Timeval { sec: t.sec, usec: t.nsec / 1000 });
    super::sockopt::put(optval, optlen, uaccess::bytes_of(&tv))
}

pub fn getsockopt(file: &OpenFile, _cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let s = sock(file)?;
    let (level, name, optval, optlen) = (args::uint(a[1]), args::uint(a[2]), a[3], a[4]);
    let o = s.options();
    if level == n::SOL_SOCKET {
        let v = match name {
            n::SO_TYPE => s.ty,
            n::SO_DOMAIN => n::AF_NETLINK,
            n::SO_PROTOCOL => s.protocol,
            n::SO_RCVBUF => o.rcvbuf,
            n::SO_SNDBUF => o.sndbuf,
            n::SO_ERROR | n::SO_ACCEPTCONN => 0,
            n::SO_PASSCRED => u32::from(o.passcred),
            n::SO_RCVTIMEO | n::SO_RCVTIMEO_NEW => return put_timeval(optval, optlen, o.rcvtimeo),
            n::SO_SNDTIMEO | n::SO_SNDTIMEO_NEW => return put_timeval(optval, optlen, o.sndtimeo),
            _ => return Err(super::refuse("getsockopt", crate::abi::Errno::ENOPROTOOPT, "unknown netlink socket option", Some(u64::from(level) << 32 | u64::from(name)))),
        };
        return put_int(optval, optlen, v);
    }
    if level != n::SOL_NETLINK {
        return_errno_with_message!(ENOPROTOOPT, "netlink sockets have options at SOL_SOCKET and SOL_NETLINK");
    }
    let room: i32 = uaccess::read(optlen)?;
    if room < 4 {
        return_errno_with_message!(EINVAL, "option buffer shorter than an int");
    }
    let v = match name {
        nl::nl::NETLINK_PKTINFO => o.pktinfo,
        nl::nl::NETLINK_BROADCAST_ERROR => o.broadcast_error,
        nl::nl::NETLINK_NO_ENOBUFS => o.no_enobufs,
        nl::nl::NETLINK_CAP_ACK => o.cap_ack,
        nl::nl::NETLINK_EXT_ACK => o.ext_ack,
        nl::nl::NETLINK_GET_STRICT_CHK => o.strict_chk,
        nl::nl::NETLINK_LISTEN_ALL_NSID => false,
        nl::nl::NETLINK_LIST_MEMBERSHIPS => {
            // The group bitmap, in u32 words (two cover rtnetlink's groups).
            let b = s.groups().to_ne_bytes();
            uaccess::write_bytes(optval, &b[..(room as usize).min(b.len())])?;
            uaccess::write(optlen, &(b.len() as u32))?;
            return Ok(0);
        }
        _ => return_errno_with_message!(ENOPROTOOPT, "unknown netlink option"),
    };
    put_int(optval, optlen, u32::from(v))
}

pub fn setsockopt(file: &OpenFile, _cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let s = sock(file)?;
    let (level, name, optval) = (args::uint(a[1]), args::uint(a[2]), a[3]);
    let Ok(optlen) = usize::try_from(args::int(a[4])) else { return_errno_with_message!(EINVAL, "negative option length") };
    let read_int = || super::sockopt::read_int(optval, optlen);
    if level == n::SOL_SOCKET {
        match name {
            n::SO_RCVBUF | n::SO_RCVBUFFORCE => {
                let v = NetlinkSocket::buffer_size(read_int()?, name == n::SO_RCVBUFFORCE);
                s.set_options(|o| o.rcvbuf = v);
            }
            n::SO_SNDBUF | n::SO_SNDBUFFORCE => {
                let v = NetlinkSocket::buffer_size(read_int()?, name == n::SO_SNDBUFFORCE);
                s.set_options(|o| o.sndbuf = v);
            }
            n::SO_PASSCRED => {
                let on = read_int()? != 0;
                s.set_options(|o| o.passcred = on);
            }
            n::SO_RCVTIMEO | n::SO_RCVTIMEO_NEW | n::SO_SNDTIMEO | n::SO_SNDTIMEO_NEW => {
                if optlen < core::mem::size_of::<crate::abi::Timeval>() {
                    return_errno_with_message!(EINVAL, "option value shorter than a timeval");
                }
                let tv: crate::abi::Timeval = uaccess::read(optval)?;
                if !(0..1_000_000).contains(&tv.usec) {
                    return_errno_with_message!(EDOM, "tv_usec out of range");
                }
                let t = (tv.sec > 0 || tv.sec == 0 && tv.usec > 0).then_some(crate::abi::Timespec { sec: tv.sec, nsec: tv.usec * 1000 });
                let is_rcv = matches!(name, n::SO_RCVTIMEO | n::SO_RCVTIMEO_NEW);
                s.set_options(|o| if is_rcv { o.rcvtimeo = t } else { o.sndtimeo = t });
            }
            n::SO_TYPE | n::SO_DOMAIN | n::SO_PROTOCOL | n::SO_PEERCRED | n::SO_ERROR | n::SO_ACCEPTCONN => {
                return_errno_with_message!(ENOPROTOOPT, "read-only socket option");
            }
            // Other generic options (SO_ATTACH_FILTER, SO_PRIORITY...) are
            // accepted and have no effect on the runtime's answers.
            _ => {}
        }
        return Ok(0);
    }
    if level != n::SOL_NETLINK {
        return_errno_with_message!(ENOPROTOOPT, "netlink sockets have options at SOL_SOCKET and SOL_NETLINK");
    }
    // netlink_setsockopt: a short value reads as 0.
    let val = if optlen >= 4 { uaccess::read::<u32>(optval)? } else { 0 };
    let on = val != 0;
    match name {
        nl::nl::NETLINK_PKTINFO => s.set_options(|o| o.pktinfo = on),
        nl::nl::NETLINK_BROADCAST_ERROR => s.set_options(|o| o.broadcast_error = on),
        nl::nl::NETLINK_NO_ENOBUFS => s.set_options(|o| o.no_enobufs = on),
        nl::nl::NETLINK_CAP_ACK => s.set_options(|o| o.cap_ack = on),
        nl::nl::NETLINK_EXT_ACK => s.set_options(|o| o.ext_ack = on),
        nl::nl::NETLINK_GET_STRICT_CHK => s.set_options(|o| o.strict_chk = on),
        nl::nl::NETLINK_ADD_MEMBERSHIP | nl::nl::NETLINK_DROP_MEMBERSHIP => {
            /// The groups a membership may name (rtnetlink has fewer).
            const GROUPS: u32 = 64;
            if val == 0 || val > GROUPS {
                return_errno_with_message!(EINVAL, "no such netlink group");
            }
            s.autobind()?;
            s.join_groups(1u64 << (val - 1), name == nl::nl::NETLINK_ADD_MEMBERSHIP);
        }
        nl::nl::NETLINK_LISTEN_ALL_NSID => return_errno_with_message!(EPERM, "NETLINK_LISTEN_ALL_NSID needs CAP_NET_BROADCAST"),
        _ => return_errno_with_message!(ENOPROTOOPT, "unknown netlink option"),
    }
    Ok(0)
}
