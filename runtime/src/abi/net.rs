//! The Linux socket ABI: families, types, protocol numbers and the
//! `struct sockaddr_*` layouts the guest passes, decoded into [`SockAddr`].
//!
//! Layouts from include/uapi/linux/{in.h,in6.h,un.h}: every address starts
//! with a 16-bit `sa_family` (no `sa_len` byte, unlike the BSDs);
//! `sockaddr_in` is 16 bytes, `sockaddr_in6` 28, `sockaddr_un` 110 (108
//! bytes of `sun_path`).

use super::Errno;
pub use linux_raw_sys::net as n;

/// `SOCK_NONBLOCK` and `SOCK_CLOEXEC` share their bits with the `O_*` flags
/// (include/linux/net.h).
pub const SOCK_NONBLOCK: u32 = linux_raw_sys::general::O_NONBLOCK;
pub const SOCK_CLOEXEC: u32 = linux_raw_sys::general::O_CLOEXEC;
/// The bits of a socket type argument that name the type itself.
pub const SOCK_TYPE_MASK: u32 = 0xf;

/// Protocol numbers as plain integers (linux-raw-sys has them as an enum).
pub const IPPROTO_IP: u32 = n::IPPROTO_IP as u32;
pub const IPPROTO_TCP: u32 = n::IPPROTO_TCP as u32;
pub const IPPROTO_UDP: u32 = n::IPPROTO_UDP as u32;
pub const IPPROTO_IPV6: u32 = n::IPPROTO_IPV6 as u32;
pub const IPPROTO_ICMP: u32 = n::IPPROTO_ICMP as u32;
pub const IPPROTO_UDPLITE: u32 = n::IPPROTO_UDPLITE as u32;
/// The UDP-Lite checksum coverage options (`SOL_UDPLITE` level,
/// include/net/udplite.h); the same numbers on a Linux host.
pub const UDPLITE_SEND_CSCOV: u32 = 10;
pub const UDPLITE_RECV_CSCOV: u32 = 11;
const _: () = assert!(IPPROTO_TCP == 6 && IPPROTO_UDP == 17 && IPPROTO_IPV6 == 41 && IPPROTO_IP == 0 && IPPROTO_UDPLITE == 136);

/// `sizeof(sun_path)`.
pub const SUN_PATH_LEN: usize = 108;
/// `sizeof(sa_family_t)`.
const FAMILY_LEN: usize = 2;
pub const SOCKADDR_IN_LEN: usize = 16;
pub const SOCKADDR_IN6_LEN: usize = 28;
/// The RFC 2133 `sockaddr_in6` without `sin6_scope_id`, which Linux still
/// accepts (net/ipv6/af_inet6.c, `SIN6_LEN_RFC2133`).
const SOCKADDR_IN6_RFC2133_LEN: usize = 24;
pub const SOCKADDR_UN_LEN: usize = FAMILY_LEN + SUN_PATH_LEN;
/// `sizeof(struct sockaddr_storage)`: the most any address takes.
pub const SOCKADDR_STORAGE_LEN: usize = 128;

/// A Unix-domain address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnixAddr {
    /// No name (an unbound socket, or a peer that never bound).
    Unnamed,
    /// A filesystem name, without its terminating NUL.
    Path(Vec<u8>),
    /// An abstract name (`sun_path[0] == 0`), without the leading NUL; its
    /// length is part of it (it may hold NULs).
    Abstract(Vec<u8>),
}

/// A socket address, decoded from (or encoded into) Linux layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SockAddr {
    /// `AF_UNSPEC`: dissolves a datagram socket's association in connect.
    Unspec,
    Unix(UnixAddr),
    /// Port in host order; address bytes in network order.
    Inet { port: u16, addr: [u8; 4] },
    Inet6 { port: u16, flowinfo: u32, addr: [u8; 16], scope_id: u32 },
}

impl SockAddr {
    /// Decodes the `addrlen` bytes a guest passed to bind, connect or
    /// sendto, with Linux's checks (each family's `*_addr_len` checks:
    /// EINVAL for a short or long address, EAFNOSUPPORT for a family the
    /// runtime does not carry).
    pub fn from_linux(b: &[u8]) -> Result<SockAddr, Errno> {
        if b.len() < FAMILY_LEN {
            return Err(Errno::EINVAL);
        }
        let family = u32::from(u16::from_ne_bytes([b[0], b[1]]));
        match family {
            n::AF_UNSPEC => Ok(SockAddr::Unspec),
            n::AF_UNIX => {
                if b.len() > SOCKADDR_UN_LEN {
                    return Err(Errno::EINVAL);
                }
                let path = &b[FAMILY_LEN..];
                Ok(SockAddr::Unix(match path.first() {
                    None => UnixAddr::Unnamed,
                    Some(0) => UnixAddr::Abstract(path[1..].to_vec()),
                    // unix_mkname: the name ends at the first NUL, or at addrlen.
                    Some(_) => UnixAddr::Path(path.iter().take_while(|&&c| c != 0).copied().collect()),
                }))
            }
            n::AF_INET => {
                if b.len() < SOCKADDR_IN_LEN {
                    return Err(Errno::EINVAL);
                }
                Ok(SockAddr::Inet { port: u16::from_be_bytes([b[2], b[3]]), addr: [b[4], b[5], b[6], b[7]] })
            }
            n::AF_INET6 => {
                if b.len() < SOCKADDR_IN6_RFC2133_LEN {
                    return Err(Errno::EINVAL);
                }
                let mut addr = [0u8; 16];
                addr.copy_from_slice(&b[8..24]);
                let scope_id = if b.len() >= SOCKADDR_IN6_LEN { u32::from_ne_bytes([b[24], b[25], b[26], b[27]]) } else { 0 };
                Ok(SockAddr::Inet6 {
                    port: u16::from_be_bytes([b[2], b[3]]),
                    flowinfo: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                    addr,
                    scope_id,
                })
            }
            _ => Err(Errno::EAFNOSUPPORT),
        }
    }

    /// The Linux layout, exactly as long as Linux reports it (a Unix path
    /// name counts its NUL; an unnamed Unix address is the family alone).
    pub fn to_linux(&self) -> Vec<u8> {
        let fam = |f: u32| (f as u16).to_ne_bytes().to_vec();
        match self {
            SockAddr::Unspec => fam(n::AF_UNSPEC),
            SockAddr::Unix(u) => {
                let mut v = fam(n::AF_UNIX);
                match u {
                    UnixAddr::Unnamed => {}
                    UnixAddr::Path(p) => {
                        v.extend_from_slice(p);
                        v.push(0);
                    }
                    UnixAddr::Abstract(a) => {
                        v.push(0);
                        v.extend_from_slice(a);
                    }
                }
                v.truncate(SOCKADDR_UN_LEN);
                v
            }
            SockAddr::Inet { port, addr } => {
                let mut v = fam(n::AF_INET);
                v.extend_from_slice(&port.to_be_bytes());
                v.extend_from_slice(addr);
                v.resize(SOCKADDR_IN_LEN, 0);
                v
            }
            SockAddr::Inet6 { port, flowinfo, addr, scope_id } => {
                let mut v = fam(n::AF_INET6);
                v.extend_from_slice(&port.to_be_bytes());
                v.extend_from_slice(&flowinfo.to_be_bytes());
                v.extend_from_slice(addr);
                v.extend_from_slice(&scope_id.to_ne_bytes());
                v
            }
        }
    }

    /// The Linux `AF_*` family of this address.
    pub fn family(&self) -> u32 {
        match self {
            SockAddr::Unspec => n::AF_UNSPEC,
            SockAddr::Unix(_) => n::AF_UNIX,
            SockAddr::Inet { .. } => n::AF_INET,
            SockAddr::Inet6 { .. } => n::AF_INET6,
        }
    }
}

/// `struct ucred` (SO_PEERCRED, SCM_CREDENTIALS).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ucred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// `struct linger`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Linger {
    pub onoff: i32,
    pub linger: i32,
}

/// `struct msghdr` of the x86_64 ABI (56 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct MsgHdr {
    pub name: u64,
    pub namelen: u32,
    pub _pad1: u32,
    pub iov: u64,
    pub iovlen: u64,
    pub control: u64,
    pub controllen: u64,
    pub flags: u32,
    pub _pad2: u32,
}
const _: () = assert!(core::mem::size_of::<MsgHdr>() == 56);

/// `struct mmsghdr`: a msghdr and the length its call transferred.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct MmsgHdr {
    pub hdr: MsgHdr,
    pub len: u32,
    pub _pad: u32,
}
const _: () = assert!(core::mem::size_of::<MmsgHdr>() == 64);

/// `struct cmsghdr` of the x86_64 ABI: a `size_t` length, then level and
/// type; data follows at 16, and each message is padded to 8 bytes.
pub const CMSG_HDR_LEN: usize = 16;
const CMSG_ALIGN_TO: usize = 8;

pub const fn cmsg_align(len: usize) -> usize {
    (len + CMSG_ALIGN_TO - 1) & !(CMSG_ALIGN_TO - 1)
}

/// `CMSG_LEN(data)`.
pub const fn cmsg_len(data: usize) -> usize {
    CMSG_HDR_LEN + data
}

/// `CMSG_SPACE(data)`.
pub const fn cmsg_space(data: usize) -> usize {
    CMSG_HDR_LEN + cmsg_align(data)
}

/// `SCM_MAX_FD`: the most fds one SCM_RIGHTS message carries (include/net/scm.h).
pub const SCM_MAX_FD: usize = 253;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_round_trip() {
        let a = SockAddr::Inet { port: 8080, addr: [127, 0, 0, 1] };
        let b = a.to_linux();
        assert_eq!(b.len(), SOCKADDR_IN_LEN);
        assert_eq!(&b[..4], &[2, 0, 0x1f, 0x90]);
        assert_eq!(SockAddr::from_linux(&b), Ok(a));
        assert_eq!(SockAddr::from_linux(&b[..15]), Err(Errno::EINVAL));
    }

    #[test]
    fn inet6_round_trip_and_rfc2133_length() {
        let a = SockAddr::Inet6 { port: 1, flowinfo: 0, addr: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], scope_id: 0 };
        let b = a.to_linux();
        assert_eq!(b.len(), SOCKADDR_IN6_LEN);
        assert_eq!(SockAddr::from_linux(&b), Ok(a.clone()));
        assert_eq!(SockAddr::from_linux(&b[..24]), Ok(a));
        assert_eq!(SockAddr::from_linux(&b[..23]), Err(Errno::EINVAL));
    }

    #[test]
    fn unix_names() {
        let mut b = vec![1, 0];
        b.extend_from_slice(b"/tmp/s\0garbage");
        assert_eq!(SockAddr::from_linux(&b), Ok(SockAddr::Unix(UnixAddr::Path(b"/tmp/s".to_vec()))));
        assert_eq!(SockAddr::Unix(UnixAddr::Path(b"/tmp/s".to_vec())).to_linux().len(), 2 + 6 + 1);
        let ab = [1, 0, 0, b'x', 0, b'y'];
        assert_eq!(SockAddr::from_linux(&ab), Ok(SockAddr::Unix(UnixAddr::Abstract(b"x\0y".to_vec()))));
        assert_eq!(SockAddr::Unix(UnixAddr::Abstract(b"x\0y".to_vec())).to_linux(), ab.to_vec());
        assert_eq!(SockAddr::from_linux(&[1, 0]), Ok(SockAddr::Unix(UnixAddr::Unnamed)));
        let mut long = vec![1u8, 0];
        long.resize(SOCKADDR_UN_LEN + 1, b'a');
        assert_eq!(SockAddr::from_linux(&long), Err(Errno::EINVAL));
        assert_eq!(SockAddr::from_linux(&[16, 0, 0, 0]), Err(Errno::EAFNOSUPPORT));
        assert_eq!(SockAddr::from_linux(&[1]), Err(Errno::EINVAL));
    }

    #[test]
    fn cmsg_sizes_match_glibc() {
        assert_eq!(cmsg_len(4), 20);
        assert_eq!(cmsg_space(4), 24);
        assert_eq!(cmsg_space(12), 32);
    }
}
