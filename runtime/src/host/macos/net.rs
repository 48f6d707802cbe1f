//! Linux socket values ↔ macOS socket values.
//!
//! Little coincides beyond the first few numbers: `AF_INET6` is 30,
//! `SOL_SOCKET` is 0xffff and every `SO_*` a bit or a 0x10xx value, the
//! `MSG_*` bits are shuffled, TCP keepalive options have other names,
//! `IPV6_ADD_MEMBERSHIP` is `IPV6_JOIN_GROUP`, each `sockaddr` starts with a
//! length byte and `sun_path` has 104 bytes, not 108. There is no
//! `SOCK_NONBLOCK`/`SOCK_CLOEXEC` (the shared code uses fcntl), no
//! `MSG_NOSIGNAL` (every socket gets `SO_NOSIGPIPE`), and the peer's
//! credentials come from `LOCAL_PEERCRED`/`LOCAL_PEERPID`. Each row's host
//! value is written out and pinned against libc at compile time. Values from
//! <https://github.com/apple-oss-distributions/xnu/blob/main/bsd/sys/socket.h>,
//! `bsd/netinet/in.h`, `bsd/netinet/tcp.h`, `bsd/netinet6/in6.h`, `bsd/net/if.h`.

use crate::abi::net::{self as an, n};
use crate::host::posix_net::{HostOpt, OptKind};
// What only the macOS-side functions use (this file's tables are also
// compiled on Linux, for their tests).
#[cfg(target_os = "macos")]
use crate::abi::net::{SockAddr, UnixAddr};
#[cfg(target_os = "macos")]
use crate::abi::Errno;
#[cfg(target_os = "macos")]
use crate::host::{HostFd, HostResult};
#[cfg(target_os = "macos")]
use std::ffi::CStr;

#[cfg(target_os = "macos")]
#[path = "net_sockets.rs"]
mod sockets;
#[cfg(target_os = "macos")]
pub use sockets::{inet_sockets, unix_sockets};

/// The protocol counter files of /proc/net: macOS keeps its counters in
/// other shapes (netstat -s's structs), so none is shown.
#[cfg(target_os = "macos")]
pub const COUNTER_FILES: &[&str] = &[];

#[cfg(target_os = "macos")]
pub fn counter_file(_name: &str) -> Option<String> {
    None
}

macro_rules! pins {
    ($($name:ident = $value:literal),* $(,)?) => {
        $(#[cfg(target_os = "macos")] const _: () = assert!(libc::$name == $value);)*
    };
}

pins!(AF_UNIX = 1, AF_INET = 2, AF_INET6 = 30, SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3, SOCK_SEQPACKET = 5);
pins!(SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2, SOL_SOCKET = 0xffff, SO_NOSIGPIPE = 0x1022);
pins!(SOL_LOCAL = 0, LOCAL_PEERCRED = 1, LOCAL_PEERPID = 2);

/// macOS's values, named as macOS names them (usable in the tables below
/// on either host: the tables' tests run on Linux too).
mod host {
    pub const AF_UNSPEC: i32 = 0;
    pub const AF_UNIX: i32 = 1;
    pub const AF_INET: i32 = 2;
    pub const AF_INET6: i32 = 30;
    pub const SOCK_STREAM: i32 = 1;
    pub const SOCK_DGRAM: i32 = 2;
    pub const SOCK_RAW: i32 = 3;
    pub const SOCK_SEQPACKET: i32 = 5;
    pub const SOL_SOCKET: i32 = 0xffff;
    pub const IPPROTO_IP: i32 = 0;
    pub const IPPROTO_TCP: i32 = 6;
    pub const IPPROTO_IPV6: i32 = 41;
}

/// (Linux family, host family).
pub const DOMAINS: &[(u32, i32)] = &[(n::AF_UNIX, host::AF_UNIX), (n::AF_INET, host::AF_INET), (n::AF_INET6, host::AF_INET6)];

/// (Linux type, host type).
pub const TYPES: &[(u32, i32)] = &[
    (n::SOCK_STREAM, host::SOCK_STREAM),
    (n::SOCK_DGRAM, host::SOCK_DGRAM),
    (n::SOCK_SEQPACKET, host::SOCK_SEQPACKET),
    (n::SOCK_RAW, host::SOCK_RAW),
];

/// (Linux `SHUT_*`, host `SHUT_*`).
pub const SHUTDOWN_HOWS: &[(u32, i32)] = &[(n::SHUT_RD, 0), (n::SHUT_WR, 1), (n::SHUT_RDWR, 2)];

macro_rules! msg_table {
    ($($linux:ident => $host:ident = $value:literal,)* ; $($(#[$m:meta])* $lossy:ident,)*) => {
        pins!($($host = $value),*);
        /// (Linux `MSG_*` bit, host bit); a host bit of 0 is dropped.
        pub const MSG_FLAGS: &[(u32, i32)] = &[$((n::$linux, $value),)* $((n::$lossy, 0),)*];
    };
}

msg_table! {
    MSG_OOB => MSG_OOB = 0x1,
    MSG_PEEK => MSG_PEEK = 0x2,
    MSG_DONTROUTE => MSG_DONTROUTE = 0x4,
    MSG_EOR => MSG_EOR = 0x8,
    MSG_TRUNC => MSG_TRUNC = 0x10,
    MSG_CTRUNC => MSG_CTRUNC = 0x20,
    MSG_WAITALL => MSG_WAITALL = 0x40,
    MSG_DONTWAIT => MSG_DONTWAIT = 0x80,
    ;
    // lossy: "more data follows" (cork for one call); macOS sends at once.
    MSG_MORE,
    // lossy: ARP reachability confirmation; no macOS counterpart, and no effect on loopback.
    MSG_CONFIRM,
}

/// None: MSG_NOSIGNAL is handled by SO_NOSIGPIPE on every socket.
pub const SEND_ALWAYS: i32 = 0;

/// (Linux `IFF_*` bit, host bit).
// lossy: Linux's IFF_NOTRAILERS, IFF_MASTER/SLAVE, IFF_PORTSEL, IFF_AUTOMEDIA
// and IFF_DYNAMIC have no macOS bits and read as clear.
pub const IFF_FLAGS: &[(u32, i32)] = &[
    (1, 0x1),
    (2, 0x2),
    (4, 0x4),
    (8, 0x8),
    (0x10, 0x10),
    (0x40, 0x40),
    (0x80, 0x80),
    (0x100, 0x100),
    (0x200, 0x200),
    (0x1000, 0x8000),
    // lossy: macOS has no IFF_LOWER_UP (carrier); its IFF_RUNNING is set
    // while the link is active, which is what LOWER_UP tells on Linux.
    (0x10000, 0x40),
];
pins!(IFF_UP = 0x1, IFF_BROADCAST = 0x2, IFF_LOOPBACK = 0x8, IFF_RUNNING = 0x40, IFF_MULTICAST = 0x8000);

/// `IFT_ETHER` and `IFT_LOOP` of bsd/net/if_types.h: the link types with a
/// Linux `ARPHRD_*` twin; the others show as ARPHRD_NONE.
#[cfg(target_os = "macos")]
const IFT_ETHER: u8 = 0x6;
#[cfg(target_os = "macos")]
const IFT_LOOP: u8 = 0x18;

/// The link-layer facts of an AF_LINK entry of getifaddrs: a
/// `sockaddr_dl` (name, then address, in `sdl_data`) and the interface's
/// `struct if_data` in `ifa_data`.
#[cfg(target_os = "macos")]
pub fn link_layer(ifa: &libc::ifaddrs) -> Option<crate::host::posix_net::LinkLayer> {
    use crate::abi::netlink as nl;
    if ifa.ifa_addr.is_null() {
        return None;
    }
    // SAFETY: ifa_addr points at a sockaddr of the list.
    if i32::from(unsafe { (*ifa.ifa_addr).sa_family }) != libc::AF_LINK {
        return None;
    }
    // SAFETY: an AF_LINK address is a sockaddr_dl, `sdl_len` bytes long.
    let sdl = unsafe { &*ifa.ifa_addr.cast::<libc::sockaddr_dl>() };
    let data_off = core::mem::offset_of!(libc::sockaddr_dl, sdl_data);
    let start = data_off + usize::from(sdl.sdl_nlen);
    let end = start + usize::from(sdl.sdl_alen);
    let addr = if end <= usize::from(sdl.sdl_len) {
        // SAFETY: [start, end) lies within the sdl_len bytes of the address.
        unsafe { core::slice::from_raw_parts(ifa.ifa_addr.cast::<u8>().add(start), end - start) }.to_vec()
    } else {
        Vec::new()
    };
    let hw_type = match sdl.sdl_type {
        IFT_ETHER => nl::ARPHRD_ETHER,
        IFT_LOOP => nl::ARPHRD_LOOPBACK,
        _ => nl::ARPHRD_NONE,
    };
    let broadcast = if hw_type == nl::ARPHRD_ETHER { vec![0xff; 6] } else { Vec::new() };
    let (stats, mtu) = if ifa.ifa_data.is_null() {
        (None, None)
    } else {
        // SAFETY: an AF_LINK entry's ifa_data is the interface's struct if_data.
        let d = unsafe { &*ifa.ifa_data.cast::<libc::if_data>() };
        let s = [d.ifi_ipackets, d.ifi_opackets, d.ifi_ibytes, d.ifi_obytes, d.ifi_ierrors, d.ifi_oerrors, d.ifi_iqdrops, 0, d.ifi_imcasts];
        (Some(s.map(u64::from)), Some(d.ifi_mtu))
    };
    Some(crate::host::posix_net::LinkLayer { hw_type, addr, broadcast, stats, mtu })
}

/// The broadcast (or point-to-point peer) address of an entry.
#[cfg(target_os = "macos")]
pub fn ifa_broadaddr(ifa: &libc::ifaddrs) -> *const libc::sockaddr {
    ifa.ifa_dstaddr
}

/// (Linux family, address bytes) of an AF_INET or AF_INET6 sockaddr. A
/// link-local IPv6 address loses the scope id the KAME stack keeps in its
/// second 16-bit word.
#[cfg(target_os = "macos")]
pub fn inet_bytes(sa: *const libc::sockaddr) -> Option<(u32, Vec<u8>)> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: a sockaddr of getifaddrs' list; sa_len says how much is there.
    let (family, len) = unsafe { (i32::from((*sa).sa_family), usize::from((*sa).sa_len)) };
    match family {
        libc::AF_INET if len >= core::mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: a whole sockaddr_in.
            Some((n::AF_INET, unsafe { (*sa.cast::<libc::sockaddr_in>()).sin_addr.s_addr }.to_ne_bytes().to_vec()))
        }
        libc::AF_INET6 if len >= core::mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: a whole sockaddr_in6.
            let mut a = unsafe { (*sa.cast::<libc::sockaddr_in6>()).sin6_addr.s6_addr };
            if a[0] == 0xfe && a[1] & 0xc0 == 0x80 {
                a[2] = 0;
                a[3] = 0;
            }
            Some((n::AF_INET6, a.to_vec()))
        }
        _ => None,
    }
}

/// The `len` address bytes of a netmask: macOS shortens a mask's
/// sockaddr to its non-zero bytes and may leave its family 0.
#[cfg(target_os = "macos")]
pub fn mask_bytes(sa: *const libc::sockaddr, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    if sa.is_null() {
        return out;
    }
    // SAFETY: sa_len bytes of the sockaddr are there.
    let total = usize::from(unsafe { (*sa).sa_len });
    // The address starts at sin_addr (4) or sin6_addr (8).
    let off = if len == 4 { 4 } else { 8 };
    for (i, b) in out.iter_mut().enumerate() {
        if off + i < total {
            // SAFETY: within the sa_len bytes.
            *b = unsafe { *sa.cast::<u8>().add(off + i) };
        }
    }
    out
}

/// macOS keeps nothing beyond getifaddrs that rtnetlink reports.
#[cfg(target_os = "macos")]
pub fn link_extras(_name: &[u8]) -> crate::host::posix_net::LinkExtras {
    crate::host::posix_net::LinkExtras::default()
}

/// Default routes: not read on macOS (its routing table is behind
/// sysctl NET_RT_DUMP); RTM_GETROUTE gives the routes of the addresses.
#[cfg(target_os = "macos")]
pub fn default_routes() -> Vec<crate::host::posix_net::HostRoute> {
    Vec::new()
}

macro_rules! opts {
    ($($level:ident : $linux:ident => $host:ident = $value:literal, $kind:ident;)*
     ; $($(#[$m:meta])* $ilevel:ident : $ignored:ident;)*) => {
        $(#[cfg(target_os = "macos")] const _: () = assert!(libc::$host == $value);)*
        /// The host (level, name) of a Linux socket option, and how its
        /// value crosses; None for options macOS lacks (ENOPROTOOPT).
        pub fn sockopt_to_host(level: u32, name: u32) -> Option<HostOpt> {
            $(if level == linux_level!($level) && name == n::$linux {
                return Some(HostOpt { level: host_level!($level), name: $value, kind: OptKind::$kind });
            })*
            $(if level == linux_level!($ilevel) && name == n::$ignored {
                return Some(HostOpt { level: host_level!($ilevel), name: 0, kind: OptKind::Ignored });
            })*
            None
        }

        #[cfg(test)]
        const ROWS: &[(u32, u32)] = &[$((linux_level!($level), n::$linux),)*];
    };
}

macro_rules! host_level {
    (SOL_SOCKET) => {
        host::SOL_SOCKET
    };
    (TCP) => {
        host::IPPROTO_TCP
    };
    (IP) => {
        host::IPPROTO_IP
    };
    (IPV6) => {
        host::IPPROTO_IPV6
    };
}

opts! {
    SOL_SOCKET: SO_REUSEADDR => SO_REUSEADDR = 0x0004, Int;
    // Linux's SO_REUSEPORT balances connections between sockets; macOS's
    // lets them share the port (the last one bound gets them).
    SOL_SOCKET: SO_REUSEPORT => SO_REUSEPORT = 0x0200, Int;
    SOL_SOCKET: SO_KEEPALIVE => SO_KEEPALIVE = 0x0008, Int;
    SOL_SOCKET: SO_BROADCAST => SO_BROADCAST = 0x0020, Int;
    SOL_SOCKET: SO_DONTROUTE => SO_DONTROUTE = 0x0010, Int;
    SOL_SOCKET: SO_OOBINLINE => SO_OOBINLINE = 0x0100, Int;
    SOL_SOCKET: SO_SNDBUF => SO_SNDBUF = 0x1001, Int;
    SOL_SOCKET: SO_RCVBUF => SO_RCVBUF = 0x1002, Int;
    SOL_SOCKET: SO_SNDLOWAT => SO_SNDLOWAT = 0x1003, Int;
    SOL_SOCKET: SO_RCVLOWAT => SO_RCVLOWAT = 0x1004, Int;
    SOL_SOCKET: SO_SNDTIMEO => SO_SNDTIMEO = 0x1005, Timeval;
    SOL_SOCKET: SO_RCVTIMEO => SO_RCVTIMEO = 0x1006, Timeval;
    SOL_SOCKET: SO_ERROR => SO_ERROR = 0x1007, Errno;
    SOL_SOCKET: SO_TYPE => SO_TYPE = 0x1008, Int;
    SOL_SOCKET: SO_ACCEPTCONN => SO_ACCEPTCONN = 0x0002, Int;
    // macOS's SO_LINGER counts clock ticks; SO_LINGER_SEC counts seconds as Linux does.
    SOL_SOCKET: SO_LINGER => SO_LINGER_SEC = 0x1080, Linger;
    SOL_SOCKET: SO_TIMESTAMP => SO_TIMESTAMP = 0x0400, Int;
    TCP: TCP_NODELAY => TCP_NODELAY = 1, Int;
    TCP: TCP_MAXSEG => TCP_MAXSEG = 2, Int;
    // lossy: TCP_CORK holds partial frames until uncorked; TCP_NOPUSH is the BSD near-equivalent.
    TCP: TCP_CORK => TCP_NOPUSH = 4, Int;
    // Linux's TCP_KEEPIDLE is macOS's TCP_KEEPALIVE (idle seconds before probes).
    TCP: TCP_KEEPIDLE => TCP_KEEPALIVE = 0x10, Int;
    TCP: TCP_KEEPINTVL => TCP_KEEPINTVL = 0x101, Int;
    TCP: TCP_KEEPCNT => TCP_KEEPCNT = 0x102, Int;
    TCP: TCP_FASTOPEN => TCP_FASTOPEN = 0x105, Int;
    IP: IP_TOS => IP_TOS = 3, Int;
    IP: IP_TTL => IP_TTL = 4, Int;
    IP: IP_HDRINCL => IP_HDRINCL = 2, Int;
    IP: IP_RECVTTL => IP_RECVTTL = 24, Int;
    IP: IP_PKTINFO => IP_PKTINFO = 26, Int;
    IP: IP_RECVTOS => IP_RECVTOS = 27, Int;
    IP: IP_MULTICAST_IF => IP_MULTICAST_IF = 9, Raw;
    // macOS takes a u_char where Linux takes an int or a byte.
    IP: IP_MULTICAST_TTL => IP_MULTICAST_TTL = 10, Byte;
    IP: IP_MULTICAST_LOOP => IP_MULTICAST_LOOP = 11, Byte;
    IP: IP_ADD_MEMBERSHIP => IP_ADD_MEMBERSHIP = 12, Raw;
    IP: IP_DROP_MEMBERSHIP => IP_DROP_MEMBERSHIP = 13, Raw;
    IPV6: IPV6_UNICAST_HOPS => IPV6_UNICAST_HOPS = 4, Int;
    IPV6: IPV6_MULTICAST_IF => IPV6_MULTICAST_IF = 9, Int;
    IPV6: IPV6_MULTICAST_HOPS => IPV6_MULTICAST_HOPS = 10, Int;
    IPV6: IPV6_MULTICAST_LOOP => IPV6_MULTICAST_LOOP = 11, Int;
    IPV6: IPV6_ADD_MEMBERSHIP => IPV6_JOIN_GROUP = 12, Raw;
    IPV6: IPV6_DROP_MEMBERSHIP => IPV6_LEAVE_GROUP = 13, Raw;
    IPV6: IPV6_V6ONLY => IPV6_V6ONLY = 27, Int;
    IPV6: IPV6_RECVTCLASS => IPV6_RECVTCLASS = 35, Int;
    IPV6: IPV6_TCLASS => IPV6_TCLASS = 36, Int;
    IPV6: IPV6_RECVPKTINFO => IPV6_RECVPKTINFO = 61, Int;
    IPV6: IPV6_RECVHOPLIMIT => IPV6_RECVHOPLIMIT = 37, Int;
    // IP_MTU and IPV6_MTU (a connected socket's path MTU) have no row: macOS
    // has no such option, so they fail with ENOPROTOOPT, and a DTLS stack
    // such as OpenSSL's falls back to its minimum fragment size.
    ;
    // lossy: queueing priority of outgoing packets; macOS has no per-socket priority.
    SOL_SOCKET: SO_PRIORITY;
    // lossy: the busy-poll (NAPI) queue the last packet came from; macOS has
    // none, and reads 0, as Linux does for a socket with none.
    SOL_SOCKET: SO_INCOMING_NAPI_ID;
    // lossy: delayed-ACK control; macOS decides ACK timing itself.
    TCP: TCP_QUICKACK;
    // lossy: accept only once data arrived; macOS wakes accept at the handshake.
    TCP: TCP_DEFER_ACCEPT;
    // lossy: per-connection retransmission timeout; macOS has only TCP_CONNECTIONTIMEOUT.
    TCP: TCP_USER_TIMEOUT;
    // lossy: a send-buffer low-water mark for poll; macOS keeps the default.
    TCP: TCP_NOTSENT_LOWAT;
    // lossy: extended error queue (MSG_ERRQUEUE); macOS has none, errors come back on the next call.
    IP: IP_RECVERR;
    // lossy: path MTU discovery mode; macOS always discovers.
    IP: IP_MTU_DISCOVER;
    // lossy: binding to an address not (yet) local; macOS refuses the bind instead.
    IP: IP_FREEBIND;
    // lossy: a port-reservation hint for connect-only sockets; macOS binds the port.
    IP: IP_BIND_ADDRESS_NO_PORT;
    // lossy: as IP_RECVERR.
    IPV6: IPV6_RECVERR;
    // lossy: as IP_MTU_DISCOVER.
    IPV6: IPV6_MTU_DISCOVER;
}

/// `sizeof(sun_path)` on macOS.
const HOST_SUN_PATH_LEN: usize = 104;

/// Encodes an address in macOS's layout (a leading length byte, 104-byte
/// `sun_path`). A Unix name is a host path here.
#[cfg(target_os = "macos")]
pub fn encode_addr(a: &SockAddr, out: &mut libc::sockaddr_storage) -> HostResult<libc::socklen_t> {
    // SAFETY: a zeroed sockaddr_storage is valid, and each family's
    // struct fits inside it.
    *out = unsafe { core::mem::zeroed() };
    let p = out as *mut libc::sockaddr_storage;
    let len = match a {
        SockAddr::Unspec => {
            out.ss_family = host::AF_UNSPEC as libc::sa_family_t;
            out.ss_len = 2;
            2
        }
        SockAddr::Inet { port, addr } => {
            // SAFETY: sockaddr_in fits in sockaddr_storage and shares its alignment.
            let sin = unsafe { &mut *p.cast::<libc::sockaddr_in>() };
            sin.sin_len = core::mem::size_of::<libc::sockaddr_in>() as u8;
            sin.sin_family = host::AF_INET as libc::sa_family_t;
            sin.sin_port = port.to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(*addr);
            core::mem::size_of::<libc::sockaddr_in>()
        }
        SockAddr::Inet6 { port, flowinfo, addr, scope_id } => {
            // SAFETY: as above.
            let sin6 = unsafe { &mut *p.cast::<libc::sockaddr_in6>() };
            sin6.sin6_len = core::mem::size_of::<libc::sockaddr_in6>() as u8;
            sin6.sin6_family = host::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = port.to_be();
            sin6.sin6_flowinfo = flowinfo.to_be();
            sin6.sin6_addr.s6_addr = *addr;
            sin6.sin6_scope_id = *scope_id;
            core::mem::size_of::<libc::sockaddr_in6>()
        }
        SockAddr::Unix(u) => {
            // SAFETY: as above.
            let sun = unsafe { &mut *p.cast::<libc::sockaddr_un>() };
            sun.sun_family = host::AF_UNIX as libc::sa_family_t;
            let bytes: &[u8] = match u {
                UnixAddr::Unnamed => &[],
                UnixAddr::Path(p) => p,
                // macOS has no abstract names; the shared code turns them into paths.
                UnixAddr::Abstract(_) => return Err(Errno::EINVAL),
            };
            if bytes.len() >= HOST_SUN_PATH_LEN {
                return Err(Errno::ENAMETOOLONG);
            }
            for (d, s) in sun.sun_path.iter_mut().zip(bytes) {
                *d = *s as libc::c_char;
            }
            let len = 2 + bytes.len() + usize::from(!bytes.is_empty());
            sun.sun_len = len as u8;
            len
        }
    };
    Ok(len as libc::socklen_t)
}

/// Decodes a macOS address; a Unix name stays a host path.
#[cfg(target_os = "macos")]
pub fn decode_addr(a: &libc::sockaddr_storage, len: libc::socklen_t) -> SockAddr {
    if let Some(inet) = crate::host::posix_net::decode_inet(a) {
        return inet;
    }
    let len = len as usize;
    let p = a as *const libc::sockaddr_storage;
    match i32::from(a.ss_family) {
        host::AF_UNIX => {
            // SAFETY: the host wrote a sockaddr_un for this family.
            let sun = unsafe { &*p.cast::<libc::sockaddr_un>() };
            let n = len.saturating_sub(2).min(sun.sun_path.len());
            let raw: Vec<u8> = sun.sun_path[..n].iter().map(|&c| c as u8).take_while(|&c| c != 0).collect();
            if raw.is_empty() { SockAddr::Unix(UnixAddr::Unnamed) } else { SockAddr::Unix(UnixAddr::Path(raw)) }
        }
        _ => SockAddr::Unspec,
    }
}

#[cfg(target_os = "macos")]
extern "C" {
    // macOS 10.15+: bind and connect relative to a directory fd
    // (bsd/sys/socket.h); not in the libc crate.
    fn bindat(dirfd: libc::c_int, s: libc::c_int, addr: *const libc::sockaddr, len: libc::socklen_t) -> libc::c_int;
    fn connectat(dirfd: libc::c_int, s: libc::c_int, addr: *const libc::sockaddr, len: libc::socklen_t) -> libc::c_int;
}

#[cfg(target_os = "macos")]
fn unix_at(fd: HostFd, dir: HostFd, name: &CStr, is_bind: bool) -> HostResult<()> {
    // SAFETY: zeroed storage is valid; encode_addr fills it.
    let mut st: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
    let len = encode_addr(&SockAddr::Unix(UnixAddr::Path(name.to_bytes().to_vec())), &mut st)?;
    let a = (&st as *const libc::sockaddr_storage).cast();
    // SAFETY: `st` holds `len` bytes of a valid sockaddr_un; `dir` is a
    // directory fd the caller holds (or AT_FDCWD).
    let r = unsafe { if is_bind { bindat(dir, fd, a, len) } else { connectat(dir, fd, a, len) } };
    if r < 0 { Err(super::errno::last()) } else { Ok(()) }
}

/// A host path for `name` inside the held directory `dir`, for the calls
/// that take a whole address (sendto): the directory's current path
/// (F_GETPATH) and the name. Unlike `bindat`, a rename racing the call may
/// redirect it; the guest can only reach its own tree's sockets this way.
#[cfg(target_os = "macos")]
pub fn unix_path_at(dir: HostFd, name: &CStr) -> HostResult<Vec<u8>> {
    let mut buf = super::fs::fd_host_path(dir).ok_or_else(super::errno::last)?;
    buf.push(b'/');
    buf.extend_from_slice(name.to_bytes());
    if buf.len() >= HOST_SUN_PATH_LEN {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(buf)
}

/// Binds `fd` to the name `name` inside the held directory `dir`.
#[cfg(target_os = "macos")]
pub fn bind_unix_at(fd: HostFd, dir: HostFd, name: &CStr) -> HostResult<Option<HostFd>> {
    unix_at(fd, dir, name, true).map(|()| None)
}

/// A Linux host's bind through a held directory needs translating back
/// (host/linux/net.rs); bindat records no such name.
#[cfg(target_os = "macos")]
pub fn held_unix_name(_bound: &[u8]) -> Option<Vec<u8>> {
    None
}

#[cfg(target_os = "macos")]
pub fn connect_unix_at(fd: HostFd, dir: HostFd, name: &CStr) -> HostResult<()> {
    unix_at(fd, dir, name, false)
}

/// Every new socket gets SO_NOSIGPIPE: the runtime raises the guest's
/// SIGPIPE itself, and only when the guest did not pass MSG_NOSIGNAL.
#[cfg(target_os = "macos")]
pub fn prepare_socket(fd: HostFd) {
    let one: libc::c_int = 1;
    // SAFETY: `one` is a readable int.
    unsafe {
        libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_NOSIGPIPE, (&one as *const libc::c_int).cast(), 4);
    }
}

/// The peer's (host pid, uid, gid): LOCAL_PEERPID and LOCAL_PEERCRED
/// (whose first group is the effective gid).
#[cfg(target_os = "macos")]
pub fn peer_cred(fd: HostFd) -> HostResult<(i32, u32, u32)> {
    // SAFETY: a zeroed xucred is a valid out-parameter.
    let mut c: libc::xucred = unsafe { core::mem::zeroed() };
    let mut len = core::mem::size_of::<libc::xucred>() as libc::socklen_t;
    // SAFETY: `c`/`len` are valid out-parameters of that size.
    if unsafe { libc::getsockopt(fd, libc::SOL_LOCAL, libc::LOCAL_PEERCRED, (&mut c as *mut libc::xucred).cast(), &mut len) } < 0 {
        return Err(super::errno::last());
    }
    let mut pid: libc::pid_t = 0;
    let mut plen = core::mem::size_of::<libc::pid_t>() as libc::socklen_t;
    // SAFETY: as above.
    if unsafe { libc::getsockopt(fd, libc::SOL_LOCAL, libc::LOCAL_PEERPID, (&mut pid as *mut libc::pid_t).cast(), &mut plen) } < 0 {
        return Err(super::errno::last());
    }
    let gid = if c.cr_ngroups > 0 { c.cr_groups[0] } else { 0 };
    Ok((pid, c.cr_uid, gid))
}

/// A received control message other than SCM_RIGHTS in Linux terms, or
/// None for one no row names. macOS names the IPv4 ones after the options
/// that ask for them and sends TTL and TOS as one byte; its timeval has a
/// 32-bit tv_usec. Values from bsd/netinet/in.h, bsd/netinet6/in6.h and
/// bsd/sys/socket.h.
pub fn cmsg_from_host(level: i32, ty: i32, data: &[u8]) -> Option<crate::host::posix_net::Cmsg> {
    /// macOS's control message types (the pins are in the option table).
    const SCM_TIMESTAMP: i32 = 0x02;
    const IP_RECVTTL: i32 = 24;
    const IP_RECVTOS: i32 = 27;
    const IP_PKTINFO: i32 = 26;
    const IPV6_PKTINFO: i32 = 46;
    const IPV6_HOPLIMIT: i32 = 47;
    const IPV6_TCLASS: i32 = 36;
    let cmsg = |level: u32, ty: u32, data: Vec<u8>| Some(crate::host::posix_net::Cmsg { level, ty, data });
    let byte_as_int = |d: &[u8]| d.first().map(|&b| i32::from(b).to_ne_bytes().to_vec());
    match (level, ty) {
        (host::SOL_SOCKET, SCM_TIMESTAMP) => {
            // struct timeval { long tv_sec; int tv_usec; } (16 bytes with its padding).
            let sec = i64::from_ne_bytes(data.get(..8)?.try_into().ok()?);
            let usec = i64::from(i32::from_ne_bytes(data.get(8..12)?.try_into().ok()?));
            cmsg(n::SOL_SOCKET, n::SCM_TIMESTAMP, [sec.to_ne_bytes(), usec.to_ne_bytes()].concat())
        }
        // Linux's IP_TTL is an int, its IP_TOS one byte.
        (host::IPPROTO_IP, IP_RECVTTL) => cmsg(an::IPPROTO_IP, n::IP_TTL, byte_as_int(data)?),
        (host::IPPROTO_IP, IP_RECVTOS) => cmsg(an::IPPROTO_IP, n::IP_TOS, data.get(..1)?.to_vec()),
        // struct in_pktinfo and struct in6_pktinfo have Linux's layout.
        (host::IPPROTO_IP, IP_PKTINFO) => cmsg(an::IPPROTO_IP, n::IP_PKTINFO, data.to_vec()),
        (host::IPPROTO_IPV6, IPV6_PKTINFO) => cmsg(an::IPPROTO_IPV6, n::IPV6_PKTINFO, data.to_vec()),
        (host::IPPROTO_IPV6, IPV6_HOPLIMIT) => cmsg(an::IPPROTO_IPV6, n::IPV6_HOPLIMIT, data.to_vec()),
        (host::IPPROTO_IPV6, IPV6_TCLASS) => cmsg(an::IPPROTO_IPV6, n::IPV6_TCLASS, data.to_vec()),
        _ => None,
    }
}

/// The host form of a control message the guest sends on an inet socket:
/// the IPv6 ones of RFC 3542 and IP_PKTINFO, renumbered; None (EINVAL) for
/// the others.
pub fn cmsg_to_host(c: &crate::host::posix_net::Cmsg) -> Option<(i32, i32, Vec<u8>)> {
    const IP_PKTINFO: i32 = 26;
    const IPV6_PKTINFO: i32 = 46;
    const IPV6_HOPLIMIT: i32 = 47;
    const IPV6_TCLASS: i32 = 36;
    let ty = match (c.level, c.ty) {
        (an::IPPROTO_IP, n::IP_PKTINFO) => (host::IPPROTO_IP, IP_PKTINFO),
        (an::IPPROTO_IPV6, n::IPV6_PKTINFO) => (host::IPPROTO_IPV6, IPV6_PKTINFO),
        (an::IPPROTO_IPV6, n::IPV6_HOPLIMIT) => (host::IPPROTO_IPV6, IPV6_HOPLIMIT),
        (an::IPPROTO_IPV6, n::IPV6_TCLASS) => (host::IPPROTO_IPV6, IPV6_TCLASS),
        // lossy: macOS has no send-side IP_TTL or IP_TOS message; EINVAL.
        _ => return None,
    };
    Some((ty.0, ty.1, c.data.clone()))
}

/// Binds a socket to the interface with host index `index`, or unbinds it
/// (0). macOS binds by protocol level: IP_BOUND_IF for IPv4 and
/// IPV6_BOUND_IF for IPv6 sockets (bsd/netinet/in.h, bsd/netinet6/in6.h).
#[cfg(target_os = "macos")]
pub fn bind_to_ifindex(fd: HostFd, index: u32) -> HostResult<()> {
    let index = i32::try_from(index).map_err(|_| Errno::EINVAL)?;
    match bound_if_option(fd)? {
        Some((level, name)) => crate::host::posix_net::set_int(fd, level, name, index),
        // lossy: a Unix socket's binding routes nothing on Linux either, but
        // macOS keeps none, so it reads back as unbound.
        None => Ok(()),
    }
}

/// The host index of the interface a socket is bound to, 0 when none.
#[cfg(target_os = "macos")]
pub fn bound_ifindex(fd: HostFd) -> HostResult<u32> {
    let Some((level, name)) = bound_if_option(fd)? else { return Ok(0) };
    let v = crate::host::posix_net::get_int(fd, level, name)?;
    u32::try_from(v).map_err(|_| Errno::EINVAL)
}

/// The (level, name) of the option that binds this socket to an interface.
#[cfg(target_os = "macos")]
fn bound_if_option(fd: HostFd) -> HostResult<Option<(i32, i32)>> {
    pins!(IP_BOUND_IF = 25, IPV6_BOUND_IF = 125);
    Ok(match socket_domain(fd)? {
        n::AF_INET => Some((host::IPPROTO_IP, libc::IP_BOUND_IF)),
        n::AF_INET6 => Some((host::IPPROTO_IPV6, libc::IPV6_BOUND_IF)),
        _ => None,
    })
}

/// The Linux family of a host socket (macOS has no SO_DOMAIN: the local
/// address says it).
#[cfg(target_os = "macos")]
pub fn socket_domain(fd: HostFd) -> HostResult<u32> {
    Ok(crate::host::posix_net::local_addr(fd)?.family())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_messages_take_linux_names_and_layouts() {
        let ttl = cmsg_from_host(host::IPPROTO_IP, 24, &[33]).unwrap();
        assert_eq!((ttl.level, ttl.ty, ttl.data), (an::IPPROTO_IP, n::IP_TTL, 33i32.to_ne_bytes().to_vec()));
        let tos = cmsg_from_host(host::IPPROTO_IP, 27, &[0x10]).unwrap();
        assert_eq!((tos.ty, tos.data), (n::IP_TOS, vec![0x10]));
        let mut tv = 7i64.to_ne_bytes().to_vec();
        tv.extend_from_slice(&250i32.to_ne_bytes());
        tv.extend_from_slice(&[0xff; 4]);
        let ts = cmsg_from_host(host::SOL_SOCKET, 2, &tv).unwrap();
        assert_eq!((ts.level, ts.ty), (n::SOL_SOCKET, n::SCM_TIMESTAMP));
        assert_eq!(ts.data, [7i64.to_ne_bytes(), 250i64.to_ne_bytes()].concat(), "the padding is not part of tv_usec");
        assert_eq!(cmsg_from_host(host::IPPROTO_IPV6, 47, &64i32.to_ne_bytes()).map(|c| c.ty), Some(n::IPV6_HOPLIMIT));
        assert!(cmsg_from_host(host::SOL_SOCKET, 3, &[0; 12]).is_none(), "SCM_CREDS is not passed on");
        assert!(cmsg_from_host(host::IPPROTO_IP, 24, &[]).is_none(), "an empty TTL");
    }

    #[test]
    fn option_rows_are_unique_and_translate() {
        for (i, a) in ROWS.iter().enumerate() {
            assert!(!ROWS[i + 1..].contains(a), "option {a:?} has two rows");
        }
        assert_eq!(sockopt_to_host(n::SOL_SOCKET, n::SO_REUSEADDR), Some(HostOpt { level: 0xffff, name: 4, kind: OptKind::Int }));
        assert_eq!(sockopt_to_host(an::IPPROTO_TCP, n::TCP_KEEPIDLE).map(|o| o.name), Some(0x10));
        assert_eq!(sockopt_to_host(an::IPPROTO_IPV6, n::IPV6_ADD_MEMBERSHIP).map(|o| o.name), Some(12));
        assert_eq!(sockopt_to_host(n::SOL_SOCKET, n::SO_PRIORITY).map(|o| o.kind), Some(OptKind::Ignored));
        assert!(sockopt_to_host(n::SOL_SOCKET, n::SO_PEERCRED).is_none());
    }

    #[test]
    fn msg_flags_are_shuffled() {
        let to_host = |l: u32| MSG_FLAGS.iter().filter(|(b, _)| l & b != 0).fold(0, |a, (_, h)| a | h);
        assert_eq!(to_host(n::MSG_DONTWAIT), 0x80);
        assert_eq!(to_host(n::MSG_WAITALL | n::MSG_TRUNC), 0x40 | 0x10);
        assert_eq!(to_host(n::MSG_MORE), 0);
    }

    #[test]
    fn inet6_is_family_30() {
        assert_eq!(DOMAINS.iter().find(|(l, _)| *l == n::AF_INET6).map(|(_, h)| *h), Some(30));
        assert!(HOST_SUN_PATH_LEN < an::SUN_PATH_LEN);
    }
}
