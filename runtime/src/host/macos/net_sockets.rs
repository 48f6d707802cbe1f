//! The host's sockets as /proc/net lists them, from libproc: every socket
//! fd of every process the user may look at (`proc_listallpids`,
//! `PROC_PIDLISTFDS`, `PROC_PIDFDSOCKETINFO`), each socket once. The
//! layouts are those of xnu's bsd/sys/proc_info.h, written out here since
//! libc does not carry them; the kernel refuses a buffer shorter than its
//! own `struct socket_fdinfo`, so ours has room to spare.

use crate::abi::net::n;
use crate::host::posix_net::{InetSock, UnixSock};

const PROC_PIDLISTFDS: i32 = 1;
const PROC_PIDFDSOCKETINFO: i32 = 3;
const PROX_FDTYPE_SOCKET: u32 = 2;
const SOCKINFO_IN: i32 = 1;
const SOCKINFO_TCP: i32 = 2;
const SOCKINFO_UN: i32 = 3;
/// `SOI_S_ISCONNECTED`, `SOI_S_ISCONNECTING` (soi_state).
const SOI_S_ISCONNECTED: i16 = 0x2;
const SOI_S_ISCONNECTING: i16 = 0x4;
/// `SO_ACCEPTCONN` in soi_options.
const SO_ACCEPTCONN: i16 = 0x2;

#[repr(C)]
#[derive(Clone, Copy)]
struct ProcFdInfo {
    fd: i32,
    fdtype: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct ProcFileInfo {
    openflags: u32,
    status: u32,
    offset: i64,
    ty: i32,
    guardflags: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct VinfoStat {
    dev: u32,
    mode: u16,
    nlink: u16,
    ino: u64,
    uid: u32,
    gid: u32,
    times: [i64; 8],
    size: i64,
    blocks: i64,
    blksize: i32,
    flags: u32,
    gen: u32,
    rdev: u32,
    qspare: [i64; 2],
}

#[repr(C)]
#[derive(Clone, Copy)]
struct SockbufInfo {
    cc: u32,
    hiwat: u32,
    mbcnt: u32,
    mbmax: u32,
    lowat: u32,
    flags: i16,
    timeo: i16,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct InSockInfo {
    fport: i32,
    lport: i32,
    gencnt: u64,
    flags: u32,
    flow: u32,
    vflag: u8,
    ip_ttl: u8,
    rfu_1: u32,
    /// A union of `in4in6_addr` (the IPv4 address in the last word) and
    /// `in6_addr`.
    faddr: [u32; 4],
    laddr: [u32; 4],
    v4_tos: u8,
    v6_hlim: u8,
    v6_cksum: i32,
    v6_ifindex: u16,
    v6_hops: i16,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct TcpSockInfo {
    ini: InSockInfo,
    state: i32,
    timer: [i32; 4],
    mss: i32,
    flags: u32,
    rfu_1: u32,
    tp: u64,
}

/// `SOCK_MAXADDRLEN`.
const MAXADDRLEN: usize = 255;

#[repr(C)]
#[derive(Clone, Copy)]
struct UnSockInfo {
    conn_so: u64,
    conn_pcb: u64,
    /// `struct sockaddr_un` (length, family, path) in a union of 255 bytes.
    addr: [u8; MAXADDRLEN],
    caddr: [u8; MAXADDRLEN],
}

#[repr(C)]
#[derive(Clone, Copy)]
union SocketProto {
    inet: InSockInfo,
    tcp: TcpSockInfo,
    unix: UnSockInfo,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct SocketInfo {
    stat: VinfoStat,
    so: u64,
    pcb: u64,
    ty: i32,
    protocol: i32,
    family: i32,
    options: i16,
    linger: i16,
    state: i16,
    qlen: i16,
    incqlen: i16,
    qlimit: i16,
    timeo: i16,
    error: u16,
    oobmark: u32,
    rcv: SockbufInfo,
    snd: SockbufInfo,
    kind: i32,
    rfu_1: u32,
    proto: SocketProto,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct SocketFdInfo {
    pfi: ProcFileInfo,
    psi: SocketInfo,
    /// Room for a kernel whose struct grew.
    slack: [u8; 512],
}

/// Every socket the user's processes hold, once each.
fn all_sockets() -> Vec<SocketInfo> {
    let mut out: Vec<SocketInfo> = Vec::new();
    // SAFETY: a null buffer asks for the count only.
    let count = unsafe { libc::proc_listallpids(core::ptr::null_mut(), 0) };
    if count <= 0 {
        return out;
    }
    let mut pids = vec![0i32; count as usize + 64];
    // SAFETY: `pids` has room for the byte size given.
    let n = unsafe { libc::proc_listallpids(pids.as_mut_ptr().cast(), (pids.len() * 4) as i32) };
    pids.truncate(n.max(0) as usize);
    for pid in pids {
        // SAFETY: a null buffer asks for the size of the fd list.
        let size = unsafe { libc::proc_pidinfo(pid, PROC_PIDLISTFDS, 0, core::ptr::null_mut(), 0) };
        if size <= 0 {
            continue;
        }
        let mut fds = vec![ProcFdInfo { fd: 0, fdtype: 0 }; size as usize / core::mem::size_of::<ProcFdInfo>() + 16];
        let bytes = (fds.len() * core::mem::size_of::<ProcFdInfo>()) as i32;
        // SAFETY: `fds` has room for `bytes` bytes.
        let got = unsafe { libc::proc_pidinfo(pid, PROC_PIDLISTFDS, 0, fds.as_mut_ptr().cast(), bytes) };
        fds.truncate(got.max(0) as usize / core::mem::size_of::<ProcFdInfo>());
        for fd in fds.iter().filter(|f| f.fdtype == PROX_FDTYPE_SOCKET) {
            // SAFETY: plain data, all zeroes a valid value.
            let mut info: SocketFdInfo = unsafe { core::mem::zeroed() };
            let size = core::mem::size_of::<SocketFdInfo>() as i32;
            // SAFETY: `info` has room for `size` bytes.
            let r = unsafe { libc::proc_pidfdinfo(pid, fd.fd, PROC_PIDFDSOCKETINFO, (&mut info as *mut SocketFdInfo).cast(), size) };
            if r <= 0 || out.iter().any(|s| s.so == info.psi.so) {
                continue;
            }
            out.push(info.psi);
        }
    }
    out
}

/// xnu's `TSI_S_*` TCP state as Linux's `TCP_*`.
fn tcp_state(s: i32) -> u8 {
    match s {
        1 => 10, // LISTEN
        2 => 2,  // SYN_SENT
        3 => 3,  // SYN_RECV
        4 => 1,  // ESTABLISHED
        5 => 8,  // CLOSE_WAIT
        6 => 4,  // FIN_WAIT1
        7 => 11, // CLOSING
        8 => 9,  // LAST_ACK
        9 => 5,  // FIN_WAIT2
        10 => 6, // TIME_WAIT
        _ => 7,  // CLOSE
    }
}

fn addr_bytes(words: &[u32; 4], v6: bool) -> Vec<u8> {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
    if v6 {
        bytes
    } else {
        bytes[12..].to_vec()
    }
}

/// The host's TCP (`udp` false) or UDP sockets of one family.
pub fn inet_sockets(udp: bool, v6: bool) -> Vec<InetSock> {
    let family = if v6 { libc::AF_INET6 } else { libc::AF_INET };
    let (kind, protocol) = if udp { (SOCKINFO_IN, libc::IPPROTO_UDP) } else { (SOCKINFO_TCP, libc::IPPROTO_TCP) };
    all_sockets()
        .into_iter()
        .filter(|s| s.family == family && s.protocol == protocol && s.kind == kind)
        .map(|s| {
            // SAFETY: `kind` says which member the kernel filled.
            let (ini, state) = unsafe {
                if udp {
                    (s.proto.inet, if s.proto.inet.fport != 0 { 1 } else { 7 })
                } else {
                    (s.proto.tcp.ini, tcp_state(s.proto.tcp.state))
                }
            };
            // Ports are kept in network order in an int.
            let port = |p: i32| u16::from_be(p as u16);
            InetSock {
                local: (addr_bytes(&ini.laddr, v6), port(ini.lport)),
                remote: (addr_bytes(&ini.faddr, v6), port(ini.fport)),
                state,
                tx_queue: s.snd.cc,
                rx_queue: s.rcv.cc,
                uid: s.stat.uid,
                inode: s.stat.ino,
                backlog: (s.options & SO_ACCEPTCONN != 0).then_some(s.qlimit.max(0) as u32),
            }
        })
        .collect()
}

/// The host's Unix sockets.
pub fn unix_sockets() -> Vec<UnixSock> {
    all_sockets()
        .into_iter()
        .filter(|s| s.family == libc::AF_UNIX && s.kind == SOCKINFO_UN)
        .map(|s| {
            // SAFETY: SOCKINFO_UN: the kernel filled the Unix member.
            let un = unsafe { s.proto.unix };
            // sockaddr_un: sun_len, sun_family, sun_path.
            let len = usize::from(un.addr[0]).min(MAXADDRLEN);
            let path = un.addr.get(2..len).map(|p| p.split(|&b| b == 0).next().unwrap_or_default().to_vec()).filter(|p| !p.is_empty());
            let connected = s.state & (SOI_S_ISCONNECTED | SOI_S_ISCONNECTING) != 0;
            // Linux's SS_CONNECTED and SS_UNCONNECTED.
            let state = if connected { 3 } else { 1 };
            let ty = match s.ty {
                libc::SOCK_DGRAM => n::SOCK_DGRAM,
                libc::SOCK_SEQPACKET => n::SOCK_SEQPACKET,
                _ => n::SOCK_STREAM,
            };
            let listening = s.options & SO_ACCEPTCONN != 0;
            // A listener's queues: connections waiting to be accepted, and its backlog.
            let queues = listening.then(|| ((s.qlen.max(0) + s.incqlen.max(0)) as u32, s.qlimit.max(0) as u32));
            UnixSock { listening, ty, state, inode: s.stat.ino, path, queues, peer: None }
        })
        .collect()
}
