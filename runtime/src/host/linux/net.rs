//! Linux socket values ↔ host socket values on a Linux host.
//!
//! The numbers coincide, but they still cross through these tables so the
//! shared code (`host/posix_net.rs`) never assumes it; every row is pinned
//! against linux-raw-sys at compile time. What differs on macOS is listed in
//! `macos/net.rs`.

use std::os::unix::ffi::{OsStrExt, OsStringExt};
use crate::host::posix_net::{HostOpt, HostRoute, LinkExtras, LinkLayer, OptKind};
use crate::abi::net::{self as an, n, SockAddr, UnixAddr};
use crate::abi::Errno;
use crate::host::{HostFd, HostResult};
use std::ffi::CStr;

macro_rules! pinned {
    ($($name:ident),* $(,)?) => {
        $(const _: () = assert!(libc::$name as u32 == n::$name);)*
    };
}

pinned!(AF_UNIX, AF_INET, AF_INET6, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW, SHUT_RD, SHUT_WR, SHUT_RDWR);

/// (Linux family, host family): the families the runtime carries.
pub const DOMAINS: &[(u32, i32)] = &[(n::AF_UNIX, libc::AF_UNIX), (n::AF_INET, libc::AF_INET), (n::AF_INET6, libc::AF_INET6)];

/// (Linux type, host type).
pub const TYPES: &[(u32, i32)] = &[
    (n::SOCK_STREAM, libc::SOCK_STREAM),
    (n::SOCK_DGRAM, libc::SOCK_DGRAM),
    (n::SOCK_SEQPACKET, libc::SOCK_SEQPACKET),
    (n::SOCK_RAW, libc::SOCK_RAW),
];

/// (Linux `SHUT_*`, host `SHUT_*`).
pub const SHUTDOWN_HOWS: &[(u32, i32)] = &[(n::SHUT_RD, libc::SHUT_RD), (n::SHUT_WR, libc::SHUT_WR), (n::SHUT_RDWR, libc::SHUT_RDWR)];

/// (Linux `MSG_*` bit, host bit) for the flags of send and receive calls.
pub const MSG_FLAGS: &[(u32, i32)] = &[
    (n::MSG_OOB, libc::MSG_OOB),
    (n::MSG_PEEK, libc::MSG_PEEK),
    (n::MSG_DONTROUTE, libc::MSG_DONTROUTE),
    (n::MSG_CTRUNC, libc::MSG_CTRUNC),
    (n::MSG_TRUNC, libc::MSG_TRUNC),
    (n::MSG_DONTWAIT, libc::MSG_DONTWAIT),
    (n::MSG_EOR, libc::MSG_EOR),
    (n::MSG_WAITALL, libc::MSG_WAITALL),
    (n::MSG_CONFIRM, libc::MSG_CONFIRM),
    (n::MSG_MORE, libc::MSG_MORE),
];
pinned!(MSG_OOB, MSG_PEEK, MSG_DONTROUTE, MSG_CTRUNC, MSG_TRUNC, MSG_DONTWAIT, MSG_EOR, MSG_WAITALL, MSG_CONFIRM, MSG_MORE, MSG_NOSIGNAL);

/// Added to every host send: the host never raises SIGPIPE for a socket;
/// the runtime queues the guest's own SIGPIPE (see `syscall/socket.rs`).
pub const SEND_ALWAYS: i32 = libc::MSG_NOSIGNAL;

/// (Linux `IFF_*` bit, host bit).
pub const IFF_FLAGS: &[(u32, i32)] = &[
    (1, libc::IFF_UP),
    (2, libc::IFF_BROADCAST),
    (4, libc::IFF_DEBUG),
    (8, libc::IFF_LOOPBACK),
    (0x10, libc::IFF_POINTOPOINT),
    (0x40, libc::IFF_RUNNING),
    (0x80, libc::IFF_NOARP),
    (0x100, libc::IFF_PROMISC),
    (0x200, libc::IFF_ALLMULTI),
    (0x1000, libc::IFF_MULTICAST),
    (0x20, libc::IFF_NOTRAILERS),
    (0x400, libc::IFF_MASTER),
    (0x800, libc::IFF_SLAVE),
    (0x2000, libc::IFF_PORTSEL),
    (0x4000, libc::IFF_AUTOMEDIA),
    (0x8000, libc::IFF_DYNAMIC),
    (0x10000, libc::IFF_LOWER_UP),
    (0x20000, libc::IFF_DORMANT),
    (0x40000, libc::IFF_ECHO),
];

macro_rules! opts {
    ($($level:ident : $name:ident => $kind:ident,)*) => {
        $(const _: () = assert!(libc::$name as u32 == n::$name);)*
        /// The host (level, name) of a Linux socket option, and how its
        /// value crosses.
        pub fn sockopt_to_host(level: u32, name: u32) -> Option<HostOpt> {
            $(if level == linux_level!($level) && name == n::$name {
                return Some(HostOpt { level: host_level!($level), name: libc::$name, kind: OptKind::$kind });
            })*
            None
        }
    };
}

macro_rules! host_level {
    (SOL_SOCKET) => {
        libc::SOL_SOCKET
    };
    (TCP) => {
        libc::IPPROTO_TCP
    };
    (IP) => {
        libc::IPPROTO_IP
    };
    (IPV6) => {
        libc::IPPROTO_IPV6
    };
}

opts! {
    SOL_SOCKET: SO_REUSEADDR => Int,
    SOL_SOCKET: SO_REUSEPORT => Int,
    SOL_SOCKET: SO_KEEPALIVE => Int,
    SOL_SOCKET: SO_BROADCAST => Int,
    SOL_SOCKET: SO_DONTROUTE => Int,
    SOL_SOCKET: SO_OOBINLINE => Int,
    SOL_SOCKET: SO_SNDBUF => Int,
    SOL_SOCKET: SO_RCVBUF => Int,
    SOL_SOCKET: SO_RCVLOWAT => Int,
    SOL_SOCKET: SO_SNDLOWAT => Int,
    SOL_SOCKET: SO_RCVTIMEO => Timeval,
    SOL_SOCKET: SO_SNDTIMEO => Timeval,
    SOL_SOCKET: SO_LINGER => Linger,
    SOL_SOCKET: SO_ERROR => Errno,
    SOL_SOCKET: SO_TYPE => Int,
    SOL_SOCKET: SO_ACCEPTCONN => Int,
    SOL_SOCKET: SO_PRIORITY => Int,
    SOL_SOCKET: SO_TIMESTAMP => Int,
    SOL_SOCKET: SO_INCOMING_NAPI_ID => Int,
    TCP: TCP_NODELAY => Int,
    TCP: TCP_MAXSEG => Int,
    TCP: TCP_CORK => Int,
    TCP: TCP_KEEPIDLE => Int,
    TCP: TCP_KEEPINTVL => Int,
    TCP: TCP_KEEPCNT => Int,
    TCP: TCP_USER_TIMEOUT => Int,
    TCP: TCP_NOTSENT_LOWAT => Int,
    TCP: TCP_FASTOPEN => Int,
    TCP: TCP_QUICKACK => Int,
    TCP: TCP_DEFER_ACCEPT => Int,
    IP: IP_TOS => Int,
    IP: IP_TTL => Int,
    IP: IP_HDRINCL => Int,
    IP: IP_RECVTOS => Int,
    IP: IP_RECVTTL => Int,
    IP: IP_PKTINFO => Int,
    IP: IP_RECVERR => Int,
    IP: IP_MTU_DISCOVER => Int,
    IP: IP_MTU => Int,
    IP: IP_FREEBIND => Int,
    IP: IP_BIND_ADDRESS_NO_PORT => Int,
    IP: IP_MULTICAST_TTL => Byte,
    IP: IP_MULTICAST_LOOP => Byte,
    IP: IP_MULTICAST_IF => Raw,
    IP: IP_ADD_MEMBERSHIP => Raw,
    IP: IP_DROP_MEMBERSHIP => Raw,
    IPV6: IPV6_V6ONLY => Int,
    IPV6: IPV6_UNICAST_HOPS => Int,
    IPV6: IPV6_MULTICAST_IF => Int,
    IPV6: IPV6_MULTICAST_HOPS => Int,
    IPV6: IPV6_MULTICAST_LOOP => Int,
    IPV6: IPV6_ADD_MEMBERSHIP => Raw,
    IPV6: IPV6_DROP_MEMBERSHIP => Raw,
    IPV6: IPV6_TCLASS => Int,
    IPV6: IPV6_RECVTCLASS => Int,
    IPV6: IPV6_RECVPKTINFO => Int,
    IPV6: IPV6_RECVHOPLIMIT => Int,
    IPV6: IPV6_RECVERR => Int,
    IPV6: IPV6_MTU_DISCOVER => Int,
    IPV6: IPV6_MTU => Int,
}

/// Encodes an address in the host's `sockaddr` layout. A Unix name is a
/// host path here (the caller resolved the guest's).
pub fn encode_addr(a: &SockAddr, out: &mut libc::sockaddr_storage) -> HostResult<libc::socklen_t> {
    // SAFETY: a zeroed sockaddr_storage is valid, and each family's
    // struct fits inside it (that is its purpose).
    *out = unsafe { core::mem::zeroed() };
    let p = out as *mut libc::sockaddr_storage;
    let len = match a {
        SockAddr::Unspec => {
            out.ss_family = libc::AF_UNSPEC as libc::sa_family_t;
            core::mem::size_of::<libc::sa_family_t>()
        }
        SockAddr::Inet { port, addr } => {
            // SAFETY: sockaddr_in fits in sockaddr_storage and shares its alignment.
            let sin = unsafe { &mut *p.cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = port.to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(*addr);
            core::mem::size_of::<libc::sockaddr_in>()
        }
        SockAddr::Inet6 { port, flowinfo, addr, scope_id } => {
            // SAFETY: as above.
            let sin6 = unsafe { &mut *p.cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = port.to_be();
            sin6.sin6_flowinfo = flowinfo.to_be();
            sin6.sin6_addr.s6_addr = *addr;
            sin6.sin6_scope_id = *scope_id;
            core::mem::size_of::<libc::sockaddr_in6>()
        }
        SockAddr::Unix(u) => {
            // SAFETY: as above.
            let sun = unsafe { &mut *p.cast::<libc::sockaddr_un>() };
            sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
            let base = core::mem::size_of::<libc::sa_family_t>();
            let bytes: &[u8] = match u {
                UnixAddr::Unnamed => &[],
                UnixAddr::Path(p) => p,
                // The shared code turns abstract names into paths first.
                UnixAddr::Abstract(_) => return Err(Errno::EINVAL),
            };
            if bytes.len() >= sun.sun_path.len() {
                return Err(Errno::ENAMETOOLONG);
            }
            for (d, s) in sun.sun_path.iter_mut().zip(bytes) {
                *d = *s as libc::c_char;
            }
            if bytes.is_empty() { base } else { base + bytes.len() + 1 }
        }
    };
    Ok(len as libc::socklen_t)
}

/// Decodes a host address (`len` bytes of `a`); a Unix name stays a host path.
pub fn decode_addr(a: &libc::sockaddr_storage, len: libc::socklen_t) -> SockAddr {
    if let Some(inet) = crate::host::posix_net::decode_inet(a) {
        return inet;
    }
    let len = len as usize;
    let p = a as *const libc::sockaddr_storage;
    match i32::from(a.ss_family) {
        libc::AF_UNIX => {
            // SAFETY: the host wrote a sockaddr_un for this family.
            let sun = unsafe { &*p.cast::<libc::sockaddr_un>() };
            let base = core::mem::size_of::<libc::sa_family_t>();
            let n = len.saturating_sub(base).min(sun.sun_path.len());
            let raw: Vec<u8> = sun.sun_path[..n].iter().map(|&c| c as u8).collect();
            match raw.first() {
                None => SockAddr::Unix(UnixAddr::Unnamed),
                // A host abstract name (autobind, or a native peer's).
                Some(0) => SockAddr::Unix(UnixAddr::Abstract(raw[1..].to_vec())),
                Some(_) => SockAddr::Unix(UnixAddr::Path(raw.into_iter().take_while(|&c| c != 0).collect())),
            }
        }
        _ => SockAddr::Unspec,
    }
}

/// The host path naming `name` inside the held directory `dir`: the
/// directory's /proc magic link, so the bind or connect lands in exactly
/// that directory whatever a racing guest does to the path above it.
pub fn unix_path_at(dir: HostFd, name: &CStr) -> HostResult<Vec<u8>> {
    let path = super::fs::path_in(dir, name.to_bytes());
    if path.len() >= an::SUN_PATH_LEN {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(path)
}

/// Binds `fd` to `name` inside the held directory `dir`. The host records
/// the path a bind gives as the socket's address, which its peers read
/// (recvfrom, accept): the bind goes through `/proc/PID/fd/N/name` with
/// this process's pid and a copy N of `dir` that the socket keeps (the fd
/// returned), so that a peer can read the directory back from it
/// ([`held_unix_name`]).
pub fn bind_unix_at(fd: HostFd, dir: HostFd, name: &CStr) -> HostResult<Option<HostFd>> {
    let held = if dir == libc::AT_FDCWD { super::fs::open_handle_at(dir, c".")? } else { crate::host::fs::dup(dir)? };
    let mut path = format!("/proc/{}/fd/{held}/", crate::host::process::host_pid()).into_bytes();
    path.extend_from_slice(name.to_bytes());
    let bound = if path.len() >= an::SUN_PATH_LEN {
        Err(Errno::ENAMETOOLONG)
    } else {
        crate::host::posix_net::bind(fd, &SockAddr::Unix(UnixAddr::Path(path)))
    };
    match bound {
        Ok(()) => Ok(Some(held)),
        Err(e) => {
            crate::host::fs::close(held);
            Err(e)
        }
    }
}

/// The host path of a socket bound by [`bind_unix_at`] (here or in another
/// runtime), from the name it was bound with: the held directory's path,
/// read from its /proc link while its socket lives, and the last
/// component. None for any other name, or once the directory is gone.
pub fn held_unix_name(bound: &[u8]) -> Option<Vec<u8>> {
    let rest = bound.strip_prefix(b"/proc/")?;
    let slash = rest.iter().position(|&c| c == b'/')?;
    let (pid, rest) = rest.split_at(slash);
    let rest = rest.strip_prefix(b"/fd/")?;
    let slash = rest.iter().position(|&c| c == b'/')?;
    let (n, name) = rest.split_at(slash);
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if !digits(pid) || !digits(n) || name.len() < 2 || name[1..].contains(&b'/') {
        return None;
    }
    let link = [&b"/proc/"[..], pid, b"/fd/", n].concat();
    let mut dir = std::fs::read_link(std::ffi::OsStr::from_bytes(&link)).ok()?.into_os_string().into_vec();
    if dir.first() != Some(&b'/') || dir.ends_with(b" (deleted)") {
        return None;
    }
    dir.extend_from_slice(name);
    Some(dir)
}

pub fn connect_unix_at(fd: HostFd, dir: HostFd, name: &CStr) -> HostResult<()> {
    crate::host::posix_net::connect(fd, &SockAddr::Unix(UnixAddr::Path(unix_path_at(dir, name)?)))
}

/// Host-side setup of every new socket (none needed on Linux: sends carry
/// MSG_NOSIGNAL).
pub fn prepare_socket(_fd: HostFd) {}

/// The peer's (host pid, uid, gid) of a connected Unix socket.
pub fn peer_cred(fd: HostFd) -> HostResult<(i32, u32, u32)> {
    // SAFETY: a zeroed ucred is a valid out-parameter.
    let mut c: libc::ucred = unsafe { core::mem::zeroed() };
    let mut len = core::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `c` and `len` are valid out-parameters of that size.
    let r = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_PEERCRED, (&mut c as *mut libc::ucred).cast(), &mut len) };
    if r < 0 {
        return Err(super::errno::last());
    }
    Ok((c.pid, c.uid, c.gid))
}

/// A received control message other than SCM_RIGHTS in Linux terms, or
/// None for one the guest must not see as the host gave it (SCM_CREDENTIALS
/// and SCM_PIDFD carry host pids and fds) or that no row names. The host is
/// Linux: the rows keep level, type and layout.
pub fn cmsg_from_host(level: i32, ty: i32, data: &[u8]) -> Option<crate::host::posix_net::Cmsg> {
    const PASSED: &[(i32, u32)] = &[
        (libc::SOL_SOCKET, n::SCM_TIMESTAMP),
        (libc::SOL_SOCKET, n::SCM_TIMESTAMPNS),
        (libc::IPPROTO_IP, n::IP_TTL),
        (libc::IPPROTO_IP, n::IP_TOS),
        (libc::IPPROTO_IP, n::IP_PKTINFO),
        (libc::IPPROTO_IPV6, n::IPV6_PKTINFO),
        (libc::IPPROTO_IPV6, n::IPV6_HOPLIMIT),
        (libc::IPPROTO_IPV6, n::IPV6_TCLASS),
    ];
    let ty = u32::try_from(ty).ok()?;
    PASSED.iter().any(|&(l, t)| l == level && t == ty).then(|| crate::host::posix_net::Cmsg {
        level: u32::try_from(level).unwrap_or_default(),
        ty,
        data: data.to_vec(),
    })
}

/// The host form of a control message the guest sends on an inet socket:
/// the host is Linux and checks the IP and IPv6 ones itself, so they pass
/// as they are.
pub fn cmsg_to_host(c: &crate::host::posix_net::Cmsg) -> Option<(i32, i32, Vec<u8>)> {
    let level = i32::try_from(c.level).ok()?;
    let ty = i32::try_from(c.ty).ok()?;
    (level != libc::SOL_SOCKET).then(|| (level, ty, c.data.clone()))
}

/// Binds a socket to the interface with host index `index`, or unbinds it
/// (0): SO_BINDTOIFINDEX, which takes the index SO_BINDTODEVICE looks up.
/// The host's own rule stands: changing a binding needs the host
/// process's CAP_NET_RAW.
pub fn bind_to_ifindex(fd: HostFd, index: u32) -> HostResult<()> {
    let index = i32::try_from(index).map_err(|_| Errno::EINVAL)?;
    crate::host::posix_net::set_int(fd, libc::SOL_SOCKET, SO_BINDTOIFINDEX, index)
}

/// The host index of the interface a socket is bound to, 0 when none.
pub fn bound_ifindex(fd: HostFd) -> HostResult<u32> {
    let v = crate::host::posix_net::get_int(fd, libc::SOL_SOCKET, SO_BINDTOIFINDEX)?;
    u32::try_from(v).map_err(|_| Errno::EINVAL)
}

/// socket(7)'s SO_BINDTOIFINDEX (Linux 5.0), which the libc crate does not
/// name: the host is Linux, so it is Linux's value.
const SO_BINDTOIFINDEX: i32 = n::SO_BINDTOIFINDEX as i32;

/// The Linux family of a host socket.
pub fn socket_domain(fd: HostFd) -> HostResult<u32> {
    let v = crate::host::posix_net::get_int(fd, libc::SOL_SOCKET, libc::SO_DOMAIN)?;
    Ok(DOMAINS.iter().find(|(_, h)| *h == v).map_or(n::AF_UNSPEC, |(l, _)| *l))
}

/// The link-layer facts of an AF_PACKET entry of getifaddrs: glibc puts
/// the hardware address and its broadcast address in `sockaddr_ll`s and
/// the kernel's `struct rtnl_link_stats` in `ifa_data`.
pub fn link_layer(ifa: &libc::ifaddrs) -> Option<LinkLayer> {
    if ifa.ifa_addr.is_null() {
        return None;
    }
    // SAFETY: ifa_addr points at a sockaddr of the list.
    if i32::from(unsafe { (*ifa.ifa_addr).sa_family }) != libc::AF_PACKET {
        return None;
    }
    let hw = |sa: *const libc::sockaddr| -> Vec<u8> {
        if sa.is_null() {
            return Vec::new();
        }
        // SAFETY: an AF_PACKET entry's addresses are sockaddr_ll.
        let sll = unsafe { &*sa.cast::<libc::sockaddr_ll>() };
        sll.sll_addr[..usize::from(sll.sll_halen).min(sll.sll_addr.len())].to_vec()
    };
    // SAFETY: as above.
    let hw_type = unsafe { (*ifa.ifa_addr.cast::<libc::sockaddr_ll>()).sll_hatype };
    let stats = if ifa.ifa_data.is_null() {
        None
    } else {
        // SAFETY: glibc's ifa_data of an AF_PACKET entry is the link's
        // struct rtnl_link_stats, whose first nine fields are these u32s.
        let s = unsafe { &*ifa.ifa_data.cast::<[u32; 9]>() };
        Some(s.map(u64::from))
    };
    Some(LinkLayer { hw_type, addr: hw(ifa.ifa_addr), broadcast: hw(ifa.ifa_ifu), stats, mtu: None })
}

/// The broadcast (or point-to-point peer) address of an entry.
pub fn ifa_broadaddr(ifa: &libc::ifaddrs) -> *const libc::sockaddr {
    ifa.ifa_ifu
}

/// (Linux family, address bytes) of an AF_INET or AF_INET6 sockaddr.
pub fn inet_bytes(sa: *const libc::sockaddr) -> Option<(u32, Vec<u8>)> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: a sockaddr of getifaddrs' list; its family says its size.
    match i32::from(unsafe { (*sa).sa_family }) {
        // SAFETY: an AF_INET address is a sockaddr_in.
        libc::AF_INET => Some((n::AF_INET, unsafe { (*sa.cast::<libc::sockaddr_in>()).sin_addr.s_addr }.to_ne_bytes().to_vec())),
        // SAFETY: an AF_INET6 address is a sockaddr_in6.
        libc::AF_INET6 => Some((n::AF_INET6, unsafe { (*sa.cast::<libc::sockaddr_in6>()).sin6_addr.s6_addr }.to_vec())),
        _ => None,
    }
}

/// The `len` address bytes of a netmask (all zero when there is none).
pub fn mask_bytes(sa: *const libc::sockaddr, len: usize) -> Vec<u8> {
    inet_bytes(sa).map(|(_, b)| b).filter(|b| b.len() == len).unwrap_or_else(|| vec![0; len])
}

/// What /sys/class/net/NAME tells of a link that getifaddrs does not.
pub fn link_extras(name: &[u8]) -> LinkExtras {
    use crate::abi::netlink as nl;
    let Ok(name) = std::str::from_utf8(name) else { return LinkExtras::default() };
    if name.contains('/') || name.starts_with('.') {
        return LinkExtras::default();
    }
    let read = |what: &str| std::fs::read_to_string(format!("/sys/class/net/{name}/{what}")).ok().map(|s| s.trim().to_string());
    let num = |what: &str| read(what).and_then(|s| s.parse::<u32>().ok());
    let operstate = read("operstate").map(|s| match s.as_str() {
        "notpresent" => nl::IF_OPER_NOTPRESENT,
        "down" => nl::IF_OPER_DOWN,
        "lowerlayerdown" => nl::IF_OPER_LOWERLAYERDOWN,
        "testing" => nl::IF_OPER_TESTING,
        "dormant" => nl::IF_OPER_DORMANT,
        "up" => nl::IF_OPER_UP,
        _ => nl::IF_OPER_UNKNOWN,
    });
    // The 64-bit counters (getifaddrs gives the 32-bit ones), in the order of
    // struct rtnl_link_stats64.
    let counters = ["rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors", "rx_dropped", "tx_dropped", "multicast"];
    let stats: Vec<u64> = counters.iter().filter_map(|c| read(&format!("statistics/{c}")).and_then(|s| s.parse().ok())).collect();
    LinkExtras { mtu: num("mtu"), txqlen: num("tx_queue_len"), operstate, stats: stats.try_into().ok() }
}

/// The default routes of the host's main table, from /proc/net/route and
/// /proc/net/ipv6_route (proc(5)).
pub fn default_routes() -> Vec<HostRoute> {
    /// `RTF_GATEWAY` (include/uapi/linux/route.h).
    const RTF_GATEWAY: u32 = 0x2;
    let index = |name: &str| std::ffi::CString::new(name).ok().map_or(0, |c| {
        // SAFETY: a valid C string.
        unsafe { libc::if_nametoindex(c.as_ptr()) }
    });
    let hex = |s: &str| u32::from_str_radix(s, 16).ok();
    let mut out = Vec::new();
    if let Ok(text) = std::fs::read_to_string("/proc/net/route") {
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [name, dst, gw, flags, _, _, metric, mask, ..] = f[..] else { continue };
            let (Some(dst), Some(gw), Some(flags), Some(mask)) = (hex(dst), hex(gw), hex(flags), hex(mask)) else { continue };
            if dst == 0 && mask == 0 && flags & RTF_GATEWAY != 0 {
                // The file prints the network-order address as a host-order number.
                out.push(HostRoute { family: n::AF_INET, gateway: gw.to_le_bytes().to_vec(), index: index(name), metric: metric.parse().unwrap_or(0) });
            }
        }
    }
    if let Ok(text) = std::fs::read_to_string("/proc/net/ipv6_route") {
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [dst, plen, _, _, gw, metric, _, _, _, name] = f[..] else { continue };
            let bytes = |s: &str| (0..16).map(|i| s.get(2 * i..2 * i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()).unwrap_or(0)).collect::<Vec<u8>>();
            let gw = bytes(gw);
            if dst.bytes().all(|c| c == b'0') && plen == "00" && gw.iter().any(|&b| b != 0) && name != "lo" {
                out.push(HostRoute { family: n::AF_INET6, gateway: gw, index: index(name), metric: hex(metric).unwrap_or(0) });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_option_table_is_found() {
        assert_eq!(sockopt_to_host(n::SOL_SOCKET, n::SO_REUSEADDR).map(|o| o.name), Some(libc::SO_REUSEADDR));
        assert_eq!(sockopt_to_host(an::IPPROTO_TCP, n::TCP_NODELAY).map(|o| o.level), Some(libc::IPPROTO_TCP));
        assert!(sockopt_to_host(n::SOL_SOCKET, 9999).is_none());
        assert_eq!(cmsg_from_host(libc::IPPROTO_IPV6, 52, &[64, 0, 0, 0]).map(|c| (c.level, c.ty, c.data)), Some((an::IPPROTO_IPV6, n::IPV6_HOPLIMIT, vec![64, 0, 0, 0])));
        assert!(cmsg_from_host(libc::SOL_SOCKET, libc::SCM_CREDENTIALS, &[0; 12]).is_none(), "host pids stay out");
    }

    #[test]
    fn unix_address_round_trip() {
        // SAFETY: zeroed storage is valid.
        let mut st: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
        let a = SockAddr::Unix(UnixAddr::Path(b"/tmp/x".to_vec()));
        let len = encode_addr(&a, &mut st).unwrap();
        assert_eq!(decode_addr(&st, len), a);
        let i = SockAddr::Inet { port: 80, addr: [127, 0, 0, 1] };
        let len = encode_addr(&i, &mut st).unwrap();
        assert_eq!(decode_addr(&st, len), i);
    }
}

/// The protocol counters a Linux host keeps in /proc/net in the format
/// Linux guests read (netstat -s, ss -s): the guest shares its network.
pub const COUNTER_FILES: &[&str] = &["netstat", "snmp", "snmp6", "sockstat", "sockstat6"];

/// The host's /proc/net/`name`, one of [`COUNTER_FILES`].
pub fn counter_file(name: &str) -> Option<String> {
    COUNTER_FILES.contains(&name).then(|| std::fs::read_to_string(format!("/proc/net/{name}")).ok()).flatten()
}

/// The host's TCP (`udp` false) or UDP sockets of one family: from the
/// host's NETLINK_SOCK_DIAG, which also tells a listener's backlog, else
/// from /proc/net/{tcp,udp}[6] (proc(5)).
pub fn inet_sockets(udp: bool, v6: bool) -> Vec<crate::host::posix_net::InetSock> {
    if let Some(socks) = diag::inet(udp, v6) {
        return socks;
    }
    let name = format!("/proc/net/{}{}", if udp { "udp" } else { "tcp" }, if v6 { "6" } else { "" });
    std::fs::read_to_string(name).map(|t| parse_inet_table(&t)).unwrap_or_default()
}

/// The host's own NETLINK_SOCK_DIAG (net/core/sock_diag.c): dumps of every
/// TCP, UDP or Unix socket, in the layouts of include/uapi/linux/
/// {inet_diag,unix_diag}.h. `None` when the host has no such socket or
/// refuses the dump.
mod diag {
    use crate::abi::netlink::{self as nl, InetDiagMsg, InetDiagReq, MsgBuilder, NlMsgHdr, UnixDiagMsg, UnixDiagReq};
    use crate::host::posix_net::{InetSock, UnixSock};

    const NETLINK_SOCK_DIAG: i32 = 4;

    /// Sends one dump request with `req` as its body and returns the
    /// bodies of its answers.
    fn dump(req: &[u8]) -> Option<Vec<Vec<u8>>> {
        // SAFETY: plain socket call.
        let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, NETLINK_SOCK_DIAG) };
        if fd < 0 {
            return None;
        }
        let out = dump_on(fd, req);
        crate::host::fs::close(fd);
        out
    }

    fn dump_on(fd: i32, req: &[u8]) -> Option<Vec<Vec<u8>>> {
        let msg = MsgBuilder::new(nl::SOCK_DIAG_BY_FAMILY, nl::NLM_F_REQUEST | nl::NLM_F_DUMP, 0, 0).put(req).finish();
        // SAFETY: a valid buffer of `msg.len()` bytes.
        if unsafe { libc::send(fd, msg.as_ptr().cast(), msg.len(), 0) } != msg.len() as isize {
            return None;
        }
        let mut bodies = Vec::new();
        let mut buf = vec![0u8; 32 << 10];
        loop {
            let mut p = [(fd, crate::abi::gen::POLLIN, 0)];
            if crate::host::fs::poll(&mut p, 1000).ok()? != 1 {
                return None;
            }
            // SAFETY: `buf` is a valid out-buffer of its length.
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
            if n <= 0 {
                return None;
            }
            let mut data = &buf[..n as usize];
            while let Some(h) = NlMsgHdr::parse(data) {
                let len = h.len as usize;
                if len < nl::NLMSG_HDRLEN || len > data.len() {
                    return None;
                }
                let body = &data[nl::NLMSG_HDRLEN..len];
                match h.ty {
                    // The dump's error, if any, is NLMSG_DONE's int.
                    nl::NLMSG_DONE => return body.get(..4).is_none_or(|e| e == [0u8; 4]).then_some(bodies),
                    nl::NLMSG_ERROR => return None,
                    _ => bodies.push(body.to_vec()),
                }
                data = &data[nl::nlmsg_align(len).min(data.len())..];
            }
        }
    }

    pub fn inet(udp: bool, v6: bool) -> Option<Vec<InetSock>> {
        let family = if v6 { libc::AF_INET6 } else { libc::AF_INET } as u8;
        let protocol = if udp { libc::IPPROTO_UDP } else { libc::IPPROTO_TCP } as u8;
        let req = InetDiagReq { family, protocol, states: u32::MAX };
        let alen = if v6 { 16 } else { 4 };
        let socks = dump(&req.to_bytes())?
            .iter()
            .filter_map(|b| InetDiagMsg::parse(b))
            .map(|m| {
                let listening = m.state == nl::TCP_LISTEN && !udp;
                InetSock {
                    local: (m.src[..alen].to_vec(), m.sport),
                    remote: (m.dst[..alen].to_vec(), m.dport),
                    state: m.state,
                    // As /proc/net shows them: a listener's pending
                    // connections to accept, nothing to send.
                    rx_queue: m.rqueue,
                    tx_queue: if listening { 0 } else { m.wqueue },
                    uid: m.uid,
                    inode: u64::from(m.inode),
                    backlog: listening.then_some(m.wqueue),
                }
            })
            .collect();
        Some(socks)
    }

    pub fn unix() -> Option<Vec<UnixSock>> {
        let req = UnixDiagReq { states: u32::MAX, show: nl::UDIAG_SHOW_NAME | nl::UDIAG_SHOW_PEER | nl::UDIAG_SHOW_RQLEN };
        let word = |v: &[u8], o: usize| v.get(o..o + 4).map(|w| u32::from_ne_bytes([w[0], w[1], w[2], w[3]]));
        let socks = dump(&req.to_bytes())?
            .iter()
            .filter_map(|b| {
                let m = UnixDiagMsg::parse(b)?;
                let mut s = UnixSock {
                    listening: m.state == nl::TCP_LISTEN,
                    ty: u32::from(m.ty),
                    // Linux's SS_CONNECTED for an established one, else SS_UNCONNECTED.
                    state: if m.state == nl::TCP_ESTABLISHED { 3 } else { 1 },
                    inode: u64::from(m.inode),
                    path: None,
                    queues: None,
                    peer: None,
                };
                for (t, v) in nl::attrs(&b[UnixDiagMsg::LEN..]) {
                    match t {
                        nl::UNIX_DIAG_NAME => {
                            let mut p = v.to_vec();
                            if p.first() != Some(&0) {
                                while p.last() == Some(&0) {
                                    p.pop();
                                }
                            }
                            s.path = Some(p).filter(|p| !p.is_empty());
                        }
                        nl::UNIX_DIAG_PEER => s.peer = word(v, 0),
                        nl::UNIX_DIAG_RQLEN => s.queues = word(v, 0).zip(word(v, 4)),
                        _ => {}
                    }
                }
                Some(s)
            })
            .collect();
        Some(socks)
    }
}

/// The rows of a /proc/net/{tcp,udp}[6] text: each address is printed as
/// 32-bit words in the kernel's (this host's) byte order, the port in host
/// order, all in hexadecimal.
fn parse_inet_table(text: &str) -> Vec<crate::host::posix_net::InetSock> {
    let addr = |s: &str| -> Option<(Vec<u8>, u16)> {
        let (a, port) = s.split_once(':')?;
        if a.len() % 8 != 0 || a.is_empty() {
            return None;
        }
        let mut bytes = Vec::with_capacity(a.len() / 2);
        for i in (0..a.len()).step_by(8) {
            bytes.extend_from_slice(&u32::from_str_radix(a.get(i..i + 8)?, 16).ok()?.to_ne_bytes());
        }
        Some((bytes, u16::from_str_radix(port, 16).ok()?))
    };
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [_, local, remote, state, queues, _, _, uid, _, inode, ..] = f[..] else { continue };
        let (Some(local), Some(remote), Ok(state), Some((tx, rx)), Ok(uid), Ok(inode)) =
            (addr(local), addr(remote), u8::from_str_radix(state, 16), queues.split_once(':'), uid.parse(), inode.parse())
        else {
            continue;
        };
        let (Ok(tx_queue), Ok(rx_queue)) = (u32::from_str_radix(tx, 16), u32::from_str_radix(rx, 16)) else { continue };
        out.push(crate::host::posix_net::InetSock { local, remote, state, tx_queue, rx_queue, uid, inode, backlog: None });
    }
    out
}

/// The host's Unix sockets: from the host's NETLINK_SOCK_DIAG, else from
/// /proc/net/unix.
pub fn unix_sockets() -> Vec<crate::host::posix_net::UnixSock> {
    if let Some(socks) = diag::unix() {
        return socks;
    }
    std::fs::read_to_string("/proc/net/unix").map(|t| parse_unix_table(&t)).unwrap_or_default()
}

/// The rows of a /proc/net/unix text ("Num RefCount Protocol Flags Type St
/// Inode Path"); an abstract name's leading `@` is its NUL again.
fn parse_unix_table(text: &str) -> Vec<crate::host::posix_net::UnixSock> {
    /// `__SO_ACCEPTCON`, the flag of a listening socket.
    const ACCEPTCON: u32 = 1 << 16;
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let mut rest = line;
        let mut f = Vec::with_capacity(7);
        for _ in 0..7 {
            rest = rest.trim_start_matches(' ');
            let end = rest.find(' ').unwrap_or(rest.len());
            f.push(&rest[..end]);
            rest = &rest[end..];
        }
        let [_, _, _, flags, ty, state, inode] = f[..] else { continue };
        let (Ok(flags), Ok(ty), Ok(state), Ok(inode)) = (u32::from_str_radix(flags, 16), u32::from_str_radix(ty, 16), u8::from_str_radix(state, 16), inode.parse()) else {
            continue;
        };
        let path = rest.strip_prefix(' ').filter(|p| !p.is_empty()).map(|p| match p.strip_prefix('@') {
            Some(name) => [&[0u8][..], name.as_bytes()].concat(),
            None => p.as_bytes().to_vec(),
        });
        out.push(crate::host::posix_net::UnixSock { listening: flags & ACCEPTCON != 0, ty, state, inode, path, queues: None, peer: None });
    }
    out
}

#[cfg(test)]
mod table_tests {
    use super::*;

    #[test]
    fn proc_net_rows_parse_as_the_kernel_prints_them() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000002 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0\n";
        let rows = parse_inet_table(tcp);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].local, (vec![127, 0, 0, 1], 8080));
        assert_eq!((rows[0].state, rows[0].rx_queue, rows[0].uid, rows[0].inode), (0x0a, 2, 1000, 4242));
        let unix = "Num       RefCount Protocol Flags    Type St Inode Path\n0000000000000000: 00000002 00000000 00010000 0001 01 77 /tmp/a b\n0000000000000000: 00000002 00000000 00000000 0002 01 78 @name\n0000000000000000: 00000003 00000000 00000000 0001 03 79\n";
        let rows = parse_unix_table(unix);
        assert_eq!(rows.len(), 3);
        assert!(rows[0].listening && rows[0].path.as_deref() == Some(&b"/tmp/a b"[..]));
        assert_eq!(rows[1].path.as_deref(), Some(&b"\0name"[..]));
        assert_eq!((rows[2].state, rows[2].inode, rows[2].path.is_none()), (3, 79, true));
    }
}
