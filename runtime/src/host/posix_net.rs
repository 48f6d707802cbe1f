//! Socket calls spelt the same on Linux and macOS. Every number crosses
//! through the per-host tables (`imp::net`: families, types, `MSG_*`,
//! socket options, `sockaddr` layouts), so this file never sees a
//! host-specific value. Addresses are Linux's [`SockAddr`]; a Unix name in
//! one is a *host* path (the VFS resolves the guest's first).
//!
//! Host sockets never raise SIGPIPE (Linux hosts: `MSG_NOSIGNAL` on every
//! send; macOS: `SO_NOSIGPIPE` at creation); the caller decides.

use crate::abi::net::{n, SockAddr};
use crate::abi::{Errno, Timeval};
use crate::host::imp::errno;
use crate::host::imp::net as t;
use crate::host::{HostFd, HostResult};
use std::io::{IoSlice, IoSliceMut};

/// Decodes a host AF_INET or AF_INET6 address, whose fields are laid out
/// alike on both hosts (macOS adds a length byte the field names skip);
/// `None` for another family, which the host's `decode_addr` handles.
pub(crate) fn decode_inet(a: &libc::sockaddr_storage) -> Option<SockAddr> {
    let p = a as *const libc::sockaddr_storage;
    match i32::from(a.ss_family) {
        libc::AF_INET => {
            // SAFETY: the host wrote a sockaddr_in for this family.
            let sin = unsafe { &*p.cast::<libc::sockaddr_in>() };
            Some(SockAddr::Inet { port: u16::from_be(sin.sin_port), addr: sin.sin_addr.s_addr.to_ne_bytes() })
        }
        libc::AF_INET6 => {
            // SAFETY: the host wrote a sockaddr_in6 for this family.
            let sin6 = unsafe { &*p.cast::<libc::sockaddr_in6>() };
            Some(SockAddr::Inet6 {
                port: u16::from_be(sin6.sin6_port),
                flowinfo: u32::from_be(sin6.sin6_flowinfo),
                addr: sin6.sin6_addr.s6_addr,
                scope_id: sin6.sin6_scope_id,
            })
        }
        _ => None,
    }
}

/// How a socket option's value crosses the boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptKind {
    /// An `int` on both sides.
    Int,
    /// An `int` for Linux, one byte for the host (macOS's IP_MULTICAST_TTL).
    Byte,
    /// `struct timeval`, whose field widths differ between hosts.
    Timeval,
    /// `struct linger` (macOS: the seconds variant, SO_LINGER_SEC).
    Linger,
    /// A host errno, translated (SO_ERROR).
    Errno,
    /// Bytes of a struct laid out alike on both hosts (`ip_mreq`...).
    Raw,
    /// A hint the host has no equivalent of: setting it succeeds and does
    /// nothing, reading it gives 0 (each such row says `// lossy:`).
    Ignored,
}

/// A socket option as the host names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostOpt {
    pub level: i32,
    pub name: i32,
    pub kind: OptKind,
}

/// An option's value in Linux terms.
#[derive(Clone, Debug)]
pub enum OptValue {
    Int(i32),
    Timeval(Timeval),
    Linger { on: bool, secs: i32 },
    Raw(Vec<u8>),
}

/// What one host receive returned.
#[derive(Debug, Default)]
pub struct Received {
    pub len: usize,
    /// The sender's address, when asked for and the host gave one.
    pub addr: Option<SockAddr>,
    /// Host fds that arrived with SCM_RIGHTS (now ours, close-on-exec).
    pub fds: Vec<HostFd>,
    /// Linux `MSG_*` bits the host set (MSG_TRUNC, MSG_CTRUNC, MSG_EOR, MSG_OOB).
    pub flags: u32,
    /// The other control messages, in Linux terms and in the host's order.
    pub cmsgs: Vec<Cmsg>,
}

/// A control message other than SCM_RIGHTS, in Linux terms: the level, the
/// type and the data of its Linux layout.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cmsg {
    pub level: u32,
    pub ty: u32,
    pub data: Vec<u8>,
}

/// Room in the host's control buffer for the control messages besides
/// SCM_RIGHTS that a receive may carry (a timestamp and the IP and IPv6
/// ones of [`t::cmsg_from_host`] take about 120 bytes).
const OTHER_CMSG_ROOM: usize = 256;

/// One network interface of the host, with Linux `IFF_*` flags.
#[derive(Clone, Debug, Default)]
pub struct Iface {
    pub name: Vec<u8>,
    pub index: u32,
    pub flags: u32,
    /// The first IPv4 address, if any.
    pub addr: Option<[u8; 4]>,
}

fn check(r: libc::c_int) -> HostResult<libc::c_int> {
    if r < 0 { Err(errno::last()) } else { Ok(r) }
}

fn check_size(r: libc::ssize_t) -> HostResult<usize> {
    if r < 0 { Err(errno::last()) } else { Ok(r as usize) }
}

pub fn domain_to_host(linux: u32) -> Option<i32> {
    t::DOMAINS.iter().find(|(l, _)| *l == linux).map(|(_, h)| *h)
}

pub fn type_to_host(linux: u32) -> Option<i32> {
    t::TYPES.iter().find(|(l, _)| *l == linux).map(|(_, h)| *h)
}

fn type_from_host(host: i32) -> u32 {
    t::TYPES.iter().find(|(_, h)| *h == host).map_or(0, |(l, _)| *l)
}

/// Linux `MSG_*` bits to the host's; bits the host lacks are dropped
/// (the table says why for each).
pub fn msg_to_host(linux: u32) -> i32 {
    t::MSG_FLAGS.iter().filter(|(l, _)| linux & l != 0).fold(0, |a, (_, h)| a | h)
}

pub fn msg_from_host(host: i32) -> u32 {
    t::MSG_FLAGS.iter().filter(|(_, h)| *h != 0 && host & h != 0).fold(0, |a, (l, _)| a | l)
}

/// Makes a host fd close-on-exec and sets its non-blocking mode.
fn set_modes(fd: HostFd, nonblocking: bool) -> HostResult<()> {
    // SAFETY: plain fcntl calls on an fd we own.
    unsafe {
        check(libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC))?;
        let fl = check(libc::fcntl(fd, libc::F_GETFL))?;
        let fl = if nonblocking { fl | libc::O_NONBLOCK } else { fl & !libc::O_NONBLOCK };
        check(libc::fcntl(fd, libc::F_SETFL, fl))?;
    }
    Ok(())
}

/// `socket(2)` with Linux family, type (without flag bits) and protocol.
/// The host fd is close-on-exec; `SOCK_NONBLOCK` is applied with fcntl,
/// as macOS has no type flags.
pub fn socket(domain: u32, ty: u32, protocol: u32, nonblocking: bool) -> HostResult<HostFd> {
    let d = domain_to_host(domain).ok_or(Errno::EAFNOSUPPORT)?;
    let ty = type_to_host(ty).ok_or(Errno::ESOCKTNOSUPPORT)?;
    let proto = i32::try_from(protocol).map_err(|_| Errno::EPROTONOSUPPORT)?;
    // SAFETY: plain socket call.
    let fd = check(unsafe { libc::socket(d, ty, proto) })?;
    if let Err(e) = set_modes(fd, nonblocking) {
        crate::host::fs::close(fd);
        return Err(e);
    }
    t::prepare_socket(fd);
    Ok(fd)
}

pub fn socketpair(domain: u32, ty: u32, protocol: u32, nonblocking: bool) -> HostResult<(HostFd, HostFd)> {
    let d = domain_to_host(domain).ok_or(Errno::EAFNOSUPPORT)?;
    let ty = type_to_host(ty).ok_or(Errno::ESOCKTNOSUPPORT)?;
    let proto = i32::try_from(protocol).map_err(|_| Errno::EPROTONOSUPPORT)?;
    let mut sv = [0; 2];
    // SAFETY: `sv` is a valid out-array of two ints.
    check(unsafe { libc::socketpair(d, ty, proto, sv.as_mut_ptr()) })?;
    for fd in sv {
        if let Err(e) = set_modes(fd, nonblocking) {
            crate::host::fs::close(sv[0]);
            crate::host::fs::close(sv[1]);
            return Err(e);
        }
        t::prepare_socket(fd);
    }
    Ok((sv[0], sv[1]))
}

pub fn bind(fd: HostFd, a: &SockAddr) -> HostResult<()> {
    // SAFETY: zeroed storage is valid; encode_addr fills it.
    let mut st: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
    let len = t::encode_addr(a, &mut st)?;
    // SAFETY: `st` holds `len` bytes of a valid address.
    check(unsafe { libc::bind(fd, (&st as *const libc::sockaddr_storage).cast(), len) }).map(drop)
}

/// `connect(2)`; EINTR is returned as is (the caller decides on restart).
pub fn connect(fd: HostFd, a: &SockAddr) -> HostResult<()> {
    // SAFETY: as in `bind`.
    let mut st: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
    let len = t::encode_addr(a, &mut st)?;
    // SAFETY: as in `bind`.
    check(unsafe { libc::connect(fd, (&st as *const libc::sockaddr_storage).cast(), len) }).map(drop)
}

pub fn listen(fd: HostFd, backlog: i32) -> HostResult<()> {
    // SAFETY: plain listen call.
    check(unsafe { libc::listen(fd, backlog) }).map(drop)
}

/// `accept(2)`: the new host fd (close-on-exec, blocking mode as asked:
/// BSD accept inherits O_NONBLOCK from the listener, Linux's does not) and
/// the peer's address.
pub fn accept(fd: HostFd, nonblocking: bool) -> HostResult<(HostFd, SockAddr)> {
    // SAFETY: zeroed storage is a valid out-parameter.
    let mut st: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
    let mut len = core::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `st`/`len` are valid out-parameters of that size.
    let nfd = check(unsafe { libc::accept(fd, (&mut st as *mut libc::sockaddr_storage).cast(), &mut len) })?;
    if let Err(e) = set_modes(nfd, nonblocking) {
        crate::host::fs::close(nfd);
        return Err(e);
    }
    t::prepare_socket(nfd);
    Ok((nfd, t::decode_addr(&st, len)))
}

pub fn shutdown(fd: HostFd, how: u32) -> HostResult<()> {
    let how = t::SHUTDOWN_HOWS.iter().find(|(l, _)| *l == how).map(|(_, h)| *h).ok_or(Errno::EINVAL)?;
    // SAFETY: plain shutdown call.
    check(unsafe { libc::shutdown(fd, how) }).map(drop)
}

fn name_of(fd: HostFd, peer: bool) -> HostResult<SockAddr> {
    // SAFETY: zeroed storage is a valid out-parameter.
    let mut st: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
    let mut len = core::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let p = (&mut st as *mut libc::sockaddr_storage).cast();
    // SAFETY: `st`/`len` are valid out-parameters of that size.
    check(unsafe { if peer { libc::getpeername(fd, p, &mut len) } else { libc::getsockname(fd, p, &mut len) } })?;
    Ok(t::decode_addr(&st, len))
}

pub fn local_addr(fd: HostFd) -> HostResult<SockAddr> {
    name_of(fd, false)
}

pub fn peer_addr(fd: HostFd) -> HostResult<SockAddr> {
    name_of(fd, true)
}

/// `sendmsg(2)` of `bufs`, to `to` if given, passing the host fds `rights`
/// with SCM_RIGHTS. `linux_flags` are Linux `MSG_*` bits.
pub fn send(fd: HostFd, bufs: &[IoSlice<'_>], to: Option<&SockAddr>, rights: &[HostFd], others: &[Cmsg], linux_flags: u32) -> HostResult<usize> {
    // SAFETY: zeroed storage and msghdr are valid starting values.
    let mut st: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
    if let Some(a) = to {
        msg.msg_namelen = t::encode_addr(a, &mut st)?;
        msg.msg_name = (&mut st as *mut libc::sockaddr_storage).cast();
    }
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len() as _;
    // The host's control messages: SCM_RIGHTS first, then the others as
    // the host names and lays them out (EINVAL for one it has no form of).
    let mut messages: Vec<(i32, i32, Vec<u8>)> = Vec::new();
    if !rights.is_empty() {
        messages.push((libc::SOL_SOCKET, libc::SCM_RIGHTS, rights.iter().flat_map(|h| h.to_ne_bytes()).collect()));
    }
    for c in others {
        messages.push(t::cmsg_to_host(c).ok_or(Errno::EINVAL)?);
    }
    let mut space = 0usize;
    for (_, _, data) in &messages {
        let len = u32::try_from(data.len()).map_err(|_| Errno::EINVAL)?;
        // SAFETY: CMSG_SPACE only computes a size.
        space += unsafe { libc::CMSG_SPACE(len) } as usize;
    }
    // u64 elements keep the control buffer aligned for cmsghdr.
    let mut control = vec![0u64; space.div_ceil(8)];
    if !messages.is_empty() {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: msg_control points at `space` writable (zeroed) bytes, the
        // sum of each message's CMSG_SPACE: FIRSTHDR and NXTHDR (which reads
        // the cmsg_len just written) stay within it, and each header is
        // followed by room for its data.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            for (level, ty, data) in &messages {
                if c.is_null() {
                    return Err(Errno::EINVAL);
                }
                (*c).cmsg_level = *level;
                (*c).cmsg_type = *ty;
                (*c).cmsg_len = libc::CMSG_LEN(data.len() as u32) as _;
                core::ptr::copy_nonoverlapping(data.as_ptr(), libc::CMSG_DATA(c), data.len());
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
    }
    let flags = msg_to_host(linux_flags) | t::SEND_ALWAYS;
    // SAFETY: every pointer in `msg` refers to live buffers of the stated sizes
    // (IoSlice is ABI-compatible with struct iovec).
    check_size(unsafe { libc::sendmsg(fd, &msg, flags) })
}

/// `recvmsg(2)` into `bufs`. `want_addr` asks for the sender's address.
/// With `want_control`, up to `max_fds` passed fds are accepted (more are
/// closed by the host or here, and MSG_CTRUNC is set), made close-on-exec,
/// and the other control messages the host table translates
/// (`cmsg_from_host`) are kept; without it, none.
pub fn recv(fd: HostFd, bufs: &mut [IoSliceMut<'_>], linux_flags: u32, want_addr: bool, want_control: bool, max_fds: usize) -> HostResult<Received> {
    // SAFETY: zeroed storage and msghdr are valid starting values.
    let mut st: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
    if want_addr {
        msg.msg_name = (&mut st as *mut libc::sockaddr_storage).cast();
        msg.msg_namelen = core::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    }
    msg.msg_iov = bufs.as_mut_ptr().cast();
    msg.msg_iovlen = bufs.len() as _;
    let max_fds = max_fds.min(crate::abi::net::SCM_MAX_FD);
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE((max_fds * core::mem::size_of::<HostFd>()) as u32) } as usize + OTHER_CMSG_ROOM;
    let mut control = vec![0u64; if want_control { space.div_ceil(8) } else { 0 }];
    if want_control {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
    }
    let flags = msg_to_host(linux_flags);
    // SAFETY: every pointer in `msg` refers to live buffers of the stated sizes.
    let len = check_size(unsafe { libc::recvmsg(fd, &mut msg, flags) })?;
    let mut out = Received { len, flags: msg_from_host(msg.msg_flags), ..Received::default() };
    if want_addr && msg.msg_namelen > 0 {
        out.addr = Some(t::decode_addr(&st, msg.msg_namelen));
    }
    if !msg.msg_control.is_null() && msg.msg_controllen > 0 {
        // SAFETY: the host filled `msg_controllen` bytes of our buffer with
        // well-formed control messages; the CMSG macros walk within it, and
        // each message's data (cmsg_len, cut to the buffer by the host when
        // it truncates) lies inside it.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                let data = libc::CMSG_DATA(c);
                let data_len = ((*c).cmsg_len as usize).saturating_sub(data as usize - c as usize);
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let n = data_len / core::mem::size_of::<HostFd>();
                    for i in 0..n {
                        let hfd = core::ptr::read_unaligned(data.cast::<HostFd>().add(i));
                        let _ = libc::fcntl(hfd, libc::F_SETFD, libc::FD_CLOEXEC);
                        out.fds.push(hfd);
                    }
                } else {
                    let bytes = core::slice::from_raw_parts(data, data_len);
                    out.cmsgs.extend(t::cmsg_from_host((*c).cmsg_level, (*c).cmsg_type, bytes));
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
    }
    Ok(out)
}

pub fn get_int(fd: HostFd, level: i32, name: i32) -> HostResult<i32> {
    let mut v: libc::c_int = 0;
    let mut len = core::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v`/`len` are valid out-parameters of that size.
    check(unsafe { libc::getsockopt(fd, level, name, (&mut v as *mut libc::c_int).cast(), &mut len) })?;
    Ok(v)
}

/// Sets an `int` option by its host level and name.
pub fn set_int(fd: HostFd, level: i32, name: i32, v: i32) -> HostResult<()> {
    set_raw(fd, level, name, &v.to_ne_bytes())
}

fn set_raw(fd: HostFd, level: i32, name: i32, bytes: &[u8]) -> HostResult<()> {
    // SAFETY: `bytes` is readable for its length.
    check(unsafe { libc::setsockopt(fd, level, name, bytes.as_ptr().cast(), bytes.len() as libc::socklen_t) }).map(drop)
}

/// Reads a socket option the table knows, in Linux terms.
pub fn get_opt(fd: HostFd, o: HostOpt) -> HostResult<OptValue> {
    if o.kind == OptKind::Ignored {
        return Ok(OptValue::Int(0));
    }
    let mut buf = [0u8; 256];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: `buf`/`len` are valid out-parameters of that size.
    check(unsafe { libc::getsockopt(fd, o.level, o.name, buf.as_mut_ptr().cast(), &mut len) })?;
    let got = &buf[..(len as usize).min(buf.len())];
    let int = |b: &[u8]| {
        let mut w = [0u8; 4];
        let k = b.len().min(4);
        w[..k].copy_from_slice(&b[..k]);
        i32::from_ne_bytes(w)
    };
    Ok(match o.kind {
        OptKind::Int => OptValue::Int(int(got)),
        OptKind::Byte => OptValue::Int(if got.len() == 1 { i32::from(got[0]) } else { int(got) }),
        OptKind::Errno => {
            let e = int(got);
            OptValue::Int(if e == 0 { 0 } else { i32::from(errno::from_host(e).0) })
        }
        OptKind::Timeval => {
            // SAFETY: the host wrote a struct timeval (its own layout).
            let tv: libc::timeval = unsafe { core::ptr::read_unaligned(buf.as_ptr().cast()) };
            OptValue::Timeval(Timeval { sec: tv.tv_sec, usec: i64::from(tv.tv_usec) })
        }
        OptKind::Linger => {
            // SAFETY: the host wrote a struct linger.
            let l: libc::linger = unsafe { core::ptr::read_unaligned(buf.as_ptr().cast()) };
            OptValue::Linger { on: l.l_onoff != 0, secs: l.l_linger }
        }
        OptKind::Raw => OptValue::Raw(got.to_vec()),
        OptKind::Ignored => OptValue::Int(0),
    })
}

/// Sets a socket option the table knows, from Linux terms.
pub fn set_opt(fd: HostFd, o: HostOpt, v: &OptValue) -> HostResult<()> {
    match (o.kind, v) {
        (OptKind::Int | OptKind::Errno, OptValue::Int(i)) => set_raw(fd, o.level, o.name, &i.to_ne_bytes()),
        (OptKind::Byte, OptValue::Int(i)) => {
            // Linux takes an int or a byte; the host wants the byte.
            let b = u8::try_from(*i).map_err(|_| Errno::EINVAL)?;
            set_raw(fd, o.level, o.name, &[b])
        }
        (OptKind::Timeval, OptValue::Timeval(tv)) => {
            // SAFETY: a zeroed timeval is valid.
            let mut h: libc::timeval = unsafe { core::mem::zeroed() };
            h.tv_sec = tv.sec;
            h.tv_usec = tv.usec.try_into().map_err(|_| Errno::EDOM)?;
            // SAFETY: `h` is a plain struct; its bytes are what the host reads.
            let b = unsafe { core::slice::from_raw_parts((&h as *const libc::timeval).cast::<u8>(), core::mem::size_of::<libc::timeval>()) };
            set_raw(fd, o.level, o.name, b)
        }
        (OptKind::Linger, OptValue::Linger { on, secs }) => {
            let l = libc::linger { l_onoff: i32::from(*on), l_linger: *secs };
            // SAFETY: as above.
            let b = unsafe { core::slice::from_raw_parts((&l as *const libc::linger).cast::<u8>(), core::mem::size_of::<libc::linger>()) };
            set_raw(fd, o.level, o.name, b)
        }
        (OptKind::Raw, OptValue::Raw(b)) => set_raw(fd, o.level, o.name, b),
        (OptKind::Ignored, _) => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// The Linux type of a host socket (`SO_TYPE`), 0 if unknown.
pub fn socket_type(fd: HostFd) -> HostResult<u32> {
    let o = t::sockopt_to_host(n::SOL_SOCKET, n::SO_TYPE).ok_or(Errno::ENOPROTOOPT)?;
    Ok(type_from_host(get_int(fd, o.level, o.name)?))
}

/// The pending error of a socket (`SO_ERROR`, which clears it), translated.
pub fn take_error(fd: HostFd) -> HostResult<Option<Errno>> {
    let o = t::sockopt_to_host(n::SOL_SOCKET, n::SO_ERROR).ok_or(Errno::ENOPROTOOPT)?;
    match get_opt(fd, o)? {
        OptValue::Int(0) => Ok(None),
        OptValue::Int(e) => Ok(Some(Errno(u16::try_from(e).unwrap_or(Errno::EIO.0)))),
        _ => Ok(None),
    }
}

/// The host's network interfaces (getifaddrs), with Linux flags and the
/// first IPv4 address of each (the ioctls of netdevice(7)).
pub fn interfaces() -> Vec<Iface> {
    links()
        .into_iter()
        .map(|l| Iface {
            addr: l.addrs.iter().find(|a| a.family == n::AF_INET).and_then(|a| a.addr.as_slice().try_into().ok()),
            name: l.name,
            index: l.index,
            flags: l.flags,
        })
        .collect()
}

/// One network interface in Linux terms, with its addresses: what
/// rtnetlink's RTM_NEWLINK and RTM_NEWADDR messages tell about it.
#[derive(Clone, Debug, Default)]
pub struct Link {
    pub name: Vec<u8>,
    pub index: u32,
    /// Linux `IFF_*` flags.
    pub flags: u32,
    /// Linux `ARPHRD_*` type of the hardware address.
    pub hw_type: u16,
    pub hw_addr: Vec<u8>,
    pub hw_broadcast: Vec<u8>,
    pub mtu: u32,
    /// What the host tells beyond getifaddrs (a Linux host: /sys/class/net).
    pub txqlen: Option<u32>,
    /// Linux `IF_OPER_*`.
    pub operstate: Option<u8>,
    /// The first counters of `struct rtnl_link_stats64`, in its order:
    /// rx/tx packets, rx/tx bytes, rx/tx errors, rx/tx dropped, multicast.
    pub stats: [u64; 9],
    pub addrs: Vec<IfAddr>,
}

/// An IPv4 or IPv6 address of an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfAddr {
    /// Linux `AF_INET` or `AF_INET6`.
    pub family: u32,
    /// 4 or 16 bytes, network order.
    pub addr: Vec<u8>,
    pub prefix_len: u8,
    /// The IPv4 broadcast address of a broadcast interface.
    pub broadcast: Option<[u8; 4]>,
}

/// What a link-layer entry of getifaddrs says (Linux: AF_PACKET, macOS:
/// AF_LINK).
#[derive(Clone, Debug, Default)]
pub struct LinkLayer {
    pub hw_type: u16,
    pub addr: Vec<u8>,
    pub broadcast: Vec<u8>,
    pub stats: Option<[u64; 9]>,
    pub mtu: Option<u32>,
}

/// Facts the host keeps outside getifaddrs.
#[derive(Clone, Debug, Default)]
pub struct LinkExtras {
    pub mtu: Option<u32>,
    pub txqlen: Option<u32>,
    pub operstate: Option<u8>,
    /// 64-bit counters, in the order of [`Link::stats`].
    pub stats: Option<[u64; 9]>,
}

/// A default route of the host's main table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRoute {
    /// Linux `AF_INET` or `AF_INET6`.
    pub family: u32,
    pub gateway: Vec<u8>,
    pub index: u32,
    pub metric: u32,
}

/// The prefix length of a netmask (its one bits).
fn prefix_len(mask: &[u8]) -> u8 {
    mask.iter().map(|b| b.count_ones() as u8).sum()
}

/// The host's interfaces with their link-layer facts and addresses
/// (getifaddrs, in the host's order), Linux numbering and names as the
/// host gives them.
pub fn links() -> Vec<Link> {
    let mut head: *mut libc::ifaddrs = core::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Vec::new();
    }
    let mut out: Vec<Link> = Vec::new();
    let mut p = head;
    while !p.is_null() {
        // SAFETY: `p` walks the list getifaddrs returned, live until freeifaddrs.
        let ifa = unsafe { &*p };
        p = ifa.ifa_next;
        if ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string of the list.
        let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) };
        let idx = match out.iter().position(|l| l.name == name.to_bytes()) {
            Some(i) => i,
            None => {
                // SAFETY: a valid C string.
                let index = unsafe { libc::if_nametoindex(ifa.ifa_name) };
                let flags = t::IFF_FLAGS.iter().filter(|(_, h)| ifa.ifa_flags as i32 & h != 0).fold(0, |a, (l, _)| a | l);
                out.push(Link { name: name.to_bytes().to_vec(), index, flags, ..Link::default() });
                out.len() - 1
            }
        };
        let link = &mut out[idx];
        if let Some(ll) = t::link_layer(ifa) {
            link.hw_type = ll.hw_type;
            link.hw_addr = ll.addr;
            link.hw_broadcast = ll.broadcast;
            if let Some(s) = ll.stats {
                link.stats = s;
            }
            if let Some(m) = ll.mtu {
                link.mtu = m;
            }
            continue;
        }
        if let Some((family, addr)) = t::inet_bytes(ifa.ifa_addr) {
            let mask = t::mask_bytes(ifa.ifa_netmask, addr.len());
            let broadcast = match t::inet_bytes(t::ifa_broadaddr(ifa)) {
                Some((_, b)) if family == n::AF_INET && link.flags & crate::abi::netlink::IFF_BROADCAST != 0 => b.try_into().ok(),
                _ => None,
            };
            link.addrs.push(IfAddr { family, addr, prefix_len: prefix_len(&mask), broadcast });
        }
    }
    // SAFETY: frees the list getifaddrs allocated, once.
    unsafe { libc::freeifaddrs(head) };
    for link in &mut out {
        let x = t::link_extras(&link.name);
        if let Some(m) = x.mtu {
            link.mtu = m;
        }
        link.txqlen = x.txqlen;
        link.operstate = x.operstate;
        if let Some(s) = x.stats {
            link.stats = s;
        }
    }
    out
}

/// One of the host's TCP or UDP sockets, in Linux terms: what a row of
/// /proc/net/{tcp,udp}[6] says of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InetSock {
    /// Addresses (4 or 16 bytes, network order) and ports.
    pub local: (Vec<u8>, u16),
    pub remote: (Vec<u8>, u16),
    /// Linux `TCP_*` state (UDP: TCP_ESTABLISHED when connected, else TCP_CLOSE).
    pub state: u8,
    pub tx_queue: u32,
    pub rx_queue: u32,
    /// The host's uid of the socket's owner.
    pub uid: u32,
    /// The host's inode number of the socket (what fstat gives).
    pub inode: u64,
    /// A listener's backlog (listen(2)'s, as the host caps it), when the
    /// host tells it.
    pub backlog: Option<u32>,
}

/// One of the host's Unix sockets: what a row of /proc/net/unix says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnixSock {
    pub listening: bool,
    /// Linux `SOCK_*` type.
    pub ty: u32,
    /// Linux `SS_*` state of the socket.
    pub state: u8,
    pub inode: u64,
    /// The bound name as the host holds it (`sun_path` bytes; a leading
    /// NUL for an abstract one), if bound.
    pub path: Option<Vec<u8>>,
    /// What sock_diag's UNIX_DIAG_RQLEN says (for a listener: pending
    /// connections and backlog; else bytes queued to read and to send)
    /// and the peer's inode, when the host tells them.
    pub queues: Option<(u32, u32)>,
    pub peer: Option<u32>,
}
