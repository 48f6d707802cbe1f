//! The Linux netlink ABI (netlink(7), rtnetlink(7)): message headers,
//! route attributes and the `sockaddr_nl` layout, with the constants from
//! linux-raw-sys (its `netlink` and `if_arp` modules; the enum-typed ones
//! as plain integers here).
//!
//! Alignment is Linux's exactly: `NLMSG_ALIGN` and `RTA_ALIGN` round to 4;
//! a message's `nlmsg_len` counts its last attribute's padding, as
//! `nlmsg_end` measures it (include/net/netlink.h).

use linux_raw_sys::if_arp as ia;
pub use linux_raw_sys::netlink as nl;

/// `struct nlmsghdr` is 16 bytes (`NLMSG_HDRLEN`).
pub const NLMSG_HDRLEN: usize = core::mem::size_of::<nl::nlmsghdr>();
/// `struct rtattr`'s header (`RTA_LENGTH(0)`).
pub const RTA_HDRLEN: usize = core::mem::size_of::<nl::rtattr>();
/// `struct sockaddr_nl`: family, pad, pid, groups.
pub const SOCKADDR_NL_LEN: usize = core::mem::size_of::<nl::sockaddr_nl>();
pub const IFINFOMSG_LEN: usize = core::mem::size_of::<nl::ifinfomsg>();
pub const IFADDRMSG_LEN: usize = core::mem::size_of::<nl::ifaddrmsg>();
pub const RTMSG_LEN: usize = core::mem::size_of::<nl::rtmsg>();
/// `struct nlmsgerr`: the negative errno, then the request's header.
pub const NLMSGERR_LEN: usize = core::mem::size_of::<nl::nlmsgerr>();
const _: () = assert!(NLMSG_HDRLEN == 16 && RTA_HDRLEN == 4 && SOCKADDR_NL_LEN == 12);
const _: () = assert!(IFINFOMSG_LEN == 16 && IFADDRMSG_LEN == 8 && RTMSG_LEN == 12 && NLMSGERR_LEN == 20);

/// `NLMSG_ALIGN`.
pub const fn nlmsg_align(len: usize) -> usize {
    (len + nl::NLMSG_ALIGNTO as usize - 1) & !(nl::NLMSG_ALIGNTO as usize - 1)
}

/// `RTA_ALIGN`.
pub const fn rta_align(len: usize) -> usize {
    (len + nl::RTA_ALIGNTO as usize - 1) & !(nl::RTA_ALIGNTO as usize - 1)
}

// Message types (include/uapi/linux/rtnetlink.h), enum-typed in linux-raw-sys.
pub const RTM_NEWLINK: u16 = nl::RTM_NEWLINK as u16;
pub const RTM_GETLINK: u16 = nl::RTM_GETLINK as u16;
pub const RTM_NEWADDR: u16 = nl::RTM_NEWADDR as u16;
pub const RTM_GETADDR: u16 = nl::RTM_GETADDR as u16;
pub const RTM_NEWROUTE: u16 = nl::RTM_NEWROUTE as u16;
pub const RTM_GETROUTE: u16 = nl::RTM_GETROUTE as u16;
/// `RTM_BASE`: the first rtnetlink type.
pub const RTM_BASE: u16 = RTM_NEWLINK;
/// `RTM_MAX`: `((__RTM_MAX + 3) & ~3) - 1`; larger types are EOPNOTSUPP.
pub const RTM_MAX: u16 = ((nl::__RTM_MAX as u16 + 3) & !3) - 1;
const _: () = assert!(RTM_NEWLINK == 16 && RTM_GETLINK == 18 && RTM_GETADDR == 22 && RTM_GETROUTE == 26);

pub const NLMSG_ERROR: u16 = nl::NLMSG_ERROR as u16;
pub const NLMSG_DONE: u16 = nl::NLMSG_DONE as u16;
pub const NLMSG_MIN_TYPE: u16 = nl::NLMSG_MIN_TYPE as u16;

pub const NLM_F_REQUEST: u16 = nl::NLM_F_REQUEST as u16;
pub const NLM_F_MULTI: u16 = nl::NLM_F_MULTI as u16;
pub const NLM_F_ACK: u16 = nl::NLM_F_ACK as u16;
pub const NLM_F_DUMP: u16 = nl::NLM_F_DUMP as u16;
pub const NLM_F_CAPPED: u16 = nl::NLM_F_CAPPED as u16;

// Link attributes.
pub const IFLA_ADDRESS: u16 = nl::IFLA_ADDRESS as u16;
pub const IFLA_BROADCAST: u16 = nl::IFLA_BROADCAST as u16;
pub const IFLA_IFNAME: u16 = nl::IFLA_IFNAME as u16;
pub const IFLA_MTU: u16 = nl::IFLA_MTU as u16;
pub const IFLA_QDISC: u16 = nl::IFLA_QDISC as u16;
pub const IFLA_STATS: u16 = nl::IFLA_STATS as u16;
pub const IFLA_TXQLEN: u16 = nl::IFLA_TXQLEN as u16;
pub const IFLA_OPERSTATE: u16 = nl::IFLA_OPERSTATE as u16;
pub const IFLA_LINKMODE: u16 = nl::IFLA_LINKMODE as u16;
pub const IFLA_STATS64: u16 = nl::IFLA_STATS64 as u16;
pub const IFLA_GROUP: u16 = nl::IFLA_GROUP as u16;
pub const IFLA_PROMISCUITY: u16 = nl::IFLA_PROMISCUITY as u16;
pub const IFLA_CARRIER: u16 = nl::IFLA_CARRIER as u16;
pub const IFLA_NUM_TX_QUEUES: u16 = nl::IFLA_NUM_TX_QUEUES as u16;
pub const IFLA_NUM_RX_QUEUES: u16 = nl::IFLA_NUM_RX_QUEUES as u16;
pub const IFLA_ALT_IFNAME: u16 = nl::IFLA_ALT_IFNAME as u16;
/// `sizeof(struct rtnl_link_stats)` and `sizeof(struct rtnl_link_stats64)`.
pub const LINK_STATS_LEN: usize = core::mem::size_of::<nl::rtnl_link_stats>();
pub const LINK_STATS64_LEN: usize = core::mem::size_of::<nl::rtnl_link_stats64>();
/// `IFNAMSIZ`: a name is at most 15 bytes and its NUL.
pub const IFNAMSIZ: usize = 16;

// Address attributes.
pub const IFA_ADDRESS: u16 = nl::IFA_ADDRESS as u16;
pub const IFA_LOCAL: u16 = nl::IFA_LOCAL as u16;
pub const IFA_LABEL: u16 = nl::IFA_LABEL as u16;
pub const IFA_BROADCAST: u16 = nl::IFA_BROADCAST as u16;
pub const IFA_CACHEINFO: u16 = nl::IFA_CACHEINFO as u16;
pub const IFA_FLAGS: u16 = nl::IFA_FLAGS as u16;
/// `INFINITY_LIFE_TIME` (include/net/addrconf.h): "forever".
pub const INFINITY_LIFE_TIME: u32 = 0xFFFF_FFFF;

// Route attributes and values.
pub const RTA_DST: u16 = nl::rtattr_type_t::RTA_DST as u16;
pub const RTA_OIF: u16 = nl::rtattr_type_t::RTA_OIF as u16;
pub const RTA_GATEWAY: u16 = nl::rtattr_type_t::RTA_GATEWAY as u16;
pub const RTA_PRIORITY: u16 = nl::rtattr_type_t::RTA_PRIORITY as u16;
pub const RTA_PREFSRC: u16 = nl::rtattr_type_t::RTA_PREFSRC as u16;
pub const RTA_TABLE: u16 = nl::rtattr_type_t::RTA_TABLE as u16;
pub const RTA_PREF: u16 = nl::rtattr_type_t::RTA_PREF as u16;
pub const RTN_UNICAST: u8 = nl::RTN_UNICAST as u8;
pub const RT_TABLE_MAIN: u8 = nl::rt_class_t::RT_TABLE_MAIN as u8;
pub const RT_SCOPE_UNIVERSE: u8 = nl::rt_scope_t::RT_SCOPE_UNIVERSE as u8;
pub const RT_SCOPE_LINK: u8 = nl::rt_scope_t::RT_SCOPE_LINK as u8;
pub const RT_SCOPE_HOST: u8 = nl::rt_scope_t::RT_SCOPE_HOST as u8;
pub const RTPROT_KERNEL: u8 = nl::RTPROT_KERNEL as u8;
pub const RTPROT_BOOT: u8 = nl::RTPROT_BOOT as u8;
/// `ICMPV6_ROUTER_PREF_MEDIUM` (include/uapi/linux/icmpv6.h): what
/// `ip -6 route` shows as `pref medium`.
pub const ICMPV6_ROUTER_PREF_MEDIUM: u8 = 0;

// Link types and states.
pub const ARPHRD_ETHER: u16 = ia::ARPHRD_ETHER as u16;
pub const ARPHRD_LOOPBACK: u16 = ia::ARPHRD_LOOPBACK as u16;
pub const ARPHRD_NONE: u16 = ia::ARPHRD_NONE as u16;
pub const IF_OPER_UNKNOWN: u8 = ia::IF_OPER_UNKNOWN as u8;
pub const IF_OPER_NOTPRESENT: u8 = ia::IF_OPER_NOTPRESENT as u8;
pub const IF_OPER_DOWN: u8 = ia::IF_OPER_DOWN as u8;
pub const IF_OPER_LOWERLAYERDOWN: u8 = ia::IF_OPER_LOWERLAYERDOWN as u8;
pub const IF_OPER_TESTING: u8 = ia::IF_OPER_TESTING as u8;
pub const IF_OPER_DORMANT: u8 = ia::IF_OPER_DORMANT as u8;
pub const IF_OPER_UP: u8 = ia::IF_OPER_UP as u8;
pub const IF_LINK_MODE_DEFAULT: u8 = ia::IF_LINK_MODE_DEFAULT as u8;
pub const IFF_UP: u32 = ia::net_device_flags::IFF_UP as u32;
pub const IFF_BROADCAST: u32 = ia::net_device_flags::IFF_BROADCAST as u32;
pub const IFF_LOOPBACK: u32 = ia::net_device_flags::IFF_LOOPBACK as u32;
pub const IFF_RUNNING: u32 = ia::net_device_flags::IFF_RUNNING as u32;
pub const IFF_LOWER_UP: u32 = ia::net_device_flags::IFF_LOWER_UP as u32;
const _: () = assert!(IFF_UP == 1 && IFF_LOOPBACK == 8 && IFF_RUNNING == 0x40 && IFF_LOWER_UP == 0x10000);

/// `NLMSG_GOODSIZE` on x86_64: a page less the `skb_shared_info` (320
/// bytes) — the size of a dump's first datagram (net/netlink/af_netlink.c,
/// `netlink_dump`).
pub const NLMSG_GOODSIZE: usize = 4096 - 320;
/// `SKB_WITH_OVERHEAD(32768)`: the most a reader's buffer size makes a
/// dump datagram grow to.
pub const NLMSG_MAX_DUMP: usize = 32768 - 320;

/// A message header read from guest bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NlMsgHdr {
    pub len: u32,
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
}

impl NlMsgHdr {
    /// The header at the start of `b`, if 16 bytes are there.
    pub fn parse(b: &[u8]) -> Option<NlMsgHdr> {
        let h = b.get(..NLMSG_HDRLEN)?;
        Some(NlMsgHdr {
            len: u32::from_ne_bytes([h[0], h[1], h[2], h[3]]),
            ty: u16::from_ne_bytes([h[4], h[5]]),
            flags: u16::from_ne_bytes([h[6], h[7]]),
            seq: u32::from_ne_bytes([h[8], h[9], h[10], h[11]]),
            pid: u32::from_ne_bytes([h[12], h[13], h[14], h[15]]),
        })
    }

    pub fn to_bytes(&self) -> [u8; NLMSG_HDRLEN] {
        let mut b = [0u8; NLMSG_HDRLEN];
        b[0..4].copy_from_slice(&self.len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.ty.to_ne_bytes());
        b[6..8].copy_from_slice(&self.flags.to_ne_bytes());
        b[8..12].copy_from_slice(&self.seq.to_ne_bytes());
        b[12..16].copy_from_slice(&self.pid.to_ne_bytes());
        b
    }
}

/// One message under construction: the header, a fixed family header
/// (`ifinfomsg`...), then attributes, each padded to `RTA_ALIGN`.
pub struct MsgBuilder {
    buf: Vec<u8>,
}

impl MsgBuilder {
    pub fn new(ty: u16, flags: u16, seq: u32, pid: u32) -> MsgBuilder {
        let h = NlMsgHdr { len: 0, ty, flags, seq, pid };
        MsgBuilder { buf: h.to_bytes().to_vec() }
    }

    /// Appends raw payload bytes, padded to `NLMSG_ALIGN`.
    pub fn put(mut self, data: &[u8]) -> MsgBuilder {
        self.buf.extend_from_slice(data);
        self.buf.resize(nlmsg_align(self.buf.len()), 0);
        self
    }

    /// Appends one attribute (`nla_put`): `rta_len` counts the header and
    /// the data, the padding after it is zero.
    pub fn attr(mut self, ty: u16, data: &[u8]) -> MsgBuilder {
        let len = RTA_HDRLEN + data.len();
        // An attribute is at most 64 KiB; ours are a few hundred bytes.
        let rta_len = u16::try_from(len).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&rta_len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(self.buf.len() - len + rta_align(len), 0);
        self
    }

    pub fn attr_u8(self, ty: u16, v: u8) -> MsgBuilder {
        self.attr(ty, &[v])
    }

    pub fn attr_u32(self, ty: u16, v: u32) -> MsgBuilder {
        self.attr(ty, &v.to_ne_bytes())
    }

    /// A NUL-terminated string attribute (`nla_put_string`).
    pub fn attr_str(self, ty: u16, s: &[u8]) -> MsgBuilder {
        let mut v = s.to_vec();
        v.push(0);
        self.attr(ty, &v)
    }

    /// The finished message with its `nlmsg_len`.
    pub fn finish(mut self) -> Vec<u8> {
        let len = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// The attributes in `b` (`nla_for_each_attr`): (type without the
/// nested/byte-order bits, payload). Stops at the first malformed one, as
/// the kernel's walk does.
pub fn attrs(mut b: &[u8]) -> Vec<(u16, &[u8])> {
    /// `NLA_TYPE_MASK`: drops NLA_F_NESTED and NLA_F_NET_BYTEORDER.
    const NLA_TYPE_MASK: u16 = 0x3fff;
    let mut out = Vec::new();
    while b.len() >= RTA_HDRLEN {
        let len = usize::from(u16::from_ne_bytes([b[0], b[1]]));
        let ty = u16::from_ne_bytes([b[2], b[3]]) & NLA_TYPE_MASK;
        if len < RTA_HDRLEN || len > b.len() {
            break;
        }
        out.push((ty, &b[RTA_HDRLEN..len]));
        b = &b[rta_align(len).min(b.len())..];
    }
    out
}

/// A `sockaddr_nl` in Linux layout.
pub fn sockaddr_nl(pid: u32, groups: u32) -> [u8; SOCKADDR_NL_LEN] {
    let mut b = [0u8; SOCKADDR_NL_LEN];
    let family = linux_raw_sys::net::AF_NETLINK as u16;
    b[0..2].copy_from_slice(&family.to_ne_bytes());
    b[4..8].copy_from_slice(&pid.to_ne_bytes());
    b[8..12].copy_from_slice(&groups.to_ne_bytes());
    b
}

/// (family, pid, groups) of a guest's `sockaddr_nl` bytes, if long enough.
pub fn parse_sockaddr_nl(b: &[u8]) -> Option<(u32, u32, u32)> {
    let b = b.get(..SOCKADDR_NL_LEN)?;
    Some((
        u32::from(u16::from_ne_bytes([b[0], b[1]])),
        u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        u32::from_ne_bytes([b[8], b[9], b[10], b[11]]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_and_counted() {
        let m = MsgBuilder::new(RTM_NEWLINK, NLM_F_MULTI, 7, 42).put(&[0; IFINFOMSG_LEN]).attr_str(IFLA_IFNAME, b"lo").attr_u8(IFLA_OPERSTATE, 0).finish();
        // 16 + 16 + (4+3 -> 8) + (4+1 -> 8)
        assert_eq!(m.len(), 48);
        let h = NlMsgHdr::parse(&m).unwrap();
        assert_eq!((h.len, h.ty, h.flags, h.seq, h.pid), (48, RTM_NEWLINK, NLM_F_MULTI, 7, 42));
        let a = attrs(&m[32..]);
        assert_eq!(a, vec![(IFLA_IFNAME, &b"lo\0"[..]), (IFLA_OPERSTATE, &[0u8][..])]);
        // rta_len excludes the padding.
        assert_eq!(u16::from_ne_bytes([m[32], m[33]]), 7);
    }

    #[test]
    fn malformed_attributes_end_the_walk() {
        assert!(attrs(&[3, 0, 1, 0]).is_empty());
        assert!(attrs(&[200, 0, 1, 0, 1]).is_empty());
        assert_eq!(attrs(&[5, 0, 1, 0, 9]), vec![(1, &[9u8][..])]);
        assert!(attrs(&[1, 2]).is_empty());
    }

    #[test]
    fn rtm_max_matches_the_kernel() {
        // __RTM_MAX 123 in 6.x: RTM_MAX is 123 rounded to a group of four, less one.
        assert_eq!(RTM_MAX % 4, 3);
        assert!(RTM_MAX >= RTM_GETROUTE);
    }
}

// sock_diag (include/uapi/linux/{sock_diag,inet_diag,unix_diag}.h): the
// requests and answers of NETLINK_SOCK_DIAG, which the runtime both
// serves (vfs/sockdiag.rs) and, on Linux hosts, asks the host
// (host/linux/net.rs).

/// `SOCK_DIAG_BY_FAMILY`.
pub const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `INET_DIAG_SHUTDOWN`.
pub const INET_DIAG_SHUTDOWN: u16 = 8;
/// `UDIAG_SHOW_NAME`, `UDIAG_SHOW_PEER`, `UDIAG_SHOW_RQLEN`.
pub const UDIAG_SHOW_NAME: u32 = 0x1;
pub const UDIAG_SHOW_PEER: u32 = 0x4;
pub const UDIAG_SHOW_RQLEN: u32 = 0x10;
/// `UNIX_DIAG_NAME`, `UNIX_DIAG_PEER`, `UNIX_DIAG_RQLEN`.
pub const UNIX_DIAG_NAME: u16 = 0;
pub const UNIX_DIAG_PEER: u16 = 2;
pub const UNIX_DIAG_RQLEN: u16 = 4;
/// The TCP states sock_diag reports (a Unix socket's too).
pub const TCP_ESTABLISHED: u8 = 1;
pub const TCP_CLOSE: u8 = 7;
pub const TCP_LISTEN: u8 = 10;

fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    b.get(o..o + 4).map(|w| u32::from_ne_bytes([w[0], w[1], w[2], w[3]]))
}

/// `struct inet_diag_req_v2` (the socket id left zero: a dump).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InetDiagReq {
    pub family: u8,
    pub protocol: u8,
    /// One bit per TCP state to list.
    pub states: u32,
}

impl InetDiagReq {
    pub const LEN: usize = 56;

    pub fn to_bytes(self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0] = self.family;
        b[1] = self.protocol;
        b[4..8].copy_from_slice(&self.states.to_ne_bytes());
        b
    }

    pub fn parse(b: &[u8]) -> Option<InetDiagReq> {
        (b.len() >= Self::LEN).then(|| InetDiagReq { family: b[0], protocol: b[1], states: u32_at(b, 4).unwrap_or(0) })
    }
}

/// `struct unix_diag_req` (every inode: a dump).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnixDiagReq {
    pub states: u32,
    /// `UDIAG_SHOW_*`: the attributes to add.
    pub show: u32,
}

impl UnixDiagReq {
    pub const LEN: usize = 24;

    pub fn to_bytes(self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0] = linux_raw_sys::net::AF_UNIX as u8;
        b[4..8].copy_from_slice(&self.states.to_ne_bytes());
        b[12..16].copy_from_slice(&self.show.to_ne_bytes());
        b
    }

    pub fn parse(b: &[u8]) -> Option<UnixDiagReq> {
        (b.len() >= Self::LEN).then(|| UnixDiagReq { states: u32_at(b, 4).unwrap_or(0), show: u32_at(b, 12).unwrap_or(0) })
    }
}

/// `struct inet_diag_msg`: addresses in network order (an IPv4 one in the
/// first 4 bytes), ports in host order here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InetDiagMsg {
    pub family: u8,
    pub state: u8,
    pub sport: u16,
    pub dport: u16,
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub cookie: u64,
    pub rqueue: u32,
    pub wqueue: u32,
    pub uid: u32,
    pub inode: u32,
}

impl InetDiagMsg {
    pub const LEN: usize = 72;

    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0] = self.family;
        b[1] = self.state;
        b[4..6].copy_from_slice(&self.sport.to_be_bytes());
        b[6..8].copy_from_slice(&self.dport.to_be_bytes());
        b[8..24].copy_from_slice(&self.src);
        b[24..40].copy_from_slice(&self.dst);
        // The interface (40..44) and expires (52..56) stay 0.
        b[44..48].copy_from_slice(&(self.cookie as u32).to_ne_bytes());
        b[48..52].copy_from_slice(&((self.cookie >> 32) as u32).to_ne_bytes());
        for (i, v) in [self.rqueue, self.wqueue, self.uid, self.inode].into_iter().enumerate() {
            b[56 + 4 * i..60 + 4 * i].copy_from_slice(&v.to_ne_bytes());
        }
        b
    }

    pub fn parse(b: &[u8]) -> Option<InetDiagMsg> {
        let b = b.get(..Self::LEN)?;
        let port = |o: usize| u16::from_be_bytes([b[o], b[o + 1]]);
        Some(InetDiagMsg {
            family: b[0],
            state: b[1],
            sport: port(4),
            dport: port(6),
            src: b[8..24].try_into().ok()?,
            dst: b[24..40].try_into().ok()?,
            cookie: u64::from(u32_at(b, 44)?) | u64::from(u32_at(b, 48)?) << 32,
            rqueue: u32_at(b, 56)?,
            wqueue: u32_at(b, 60)?,
            uid: u32_at(b, 64)?,
            inode: u32_at(b, 68)?,
        })
    }
}

/// `struct unix_diag_msg`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnixDiagMsg {
    /// `SOCK_*`.
    pub ty: u8,
    /// A TCP state: TCP_LISTEN, TCP_ESTABLISHED or TCP_CLOSE.
    pub state: u8,
    pub inode: u32,
    pub cookie: u64,
}

impl UnixDiagMsg {
    pub const LEN: usize = 16;

    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0] = linux_raw_sys::net::AF_UNIX as u8;
        b[1] = self.ty;
        b[2] = self.state;
        b[4..8].copy_from_slice(&self.inode.to_ne_bytes());
        b[8..12].copy_from_slice(&(self.cookie as u32).to_ne_bytes());
        b[12..16].copy_from_slice(&((self.cookie >> 32) as u32).to_ne_bytes());
        b
    }

    pub fn parse(b: &[u8]) -> Option<UnixDiagMsg> {
        let b = b.get(..Self::LEN)?;
        Some(UnixDiagMsg { ty: b[1], state: b[2], inode: u32_at(b, 4)?, cookie: u64::from(u32_at(b, 8)?) | u64::from(u32_at(b, 12)?) << 32 })
    }
}

#[cfg(test)]
mod sock_diag_tests {
    use super::*;

    #[test]
    fn diag_messages_round_trip_in_the_kernel_layout() {
        let m = InetDiagMsg { family: 2, state: TCP_LISTEN, sport: 8080, src: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], cookie: 77, rqueue: 3, wqueue: 128, uid: 1000, inode: 77, ..InetDiagMsg::default() };
        let b = m.to_bytes();
        assert_eq!(&b[4..6], &8080u16.to_be_bytes());
        assert_eq!(u32::from_ne_bytes(b[60..64].try_into().unwrap()), 128);
        assert_eq!(InetDiagMsg::parse(&b), Some(m));
        let u = UnixDiagMsg { ty: 1, state: TCP_ESTABLISHED, inode: 9, cookie: 9 };
        assert_eq!(UnixDiagMsg::parse(&u.to_bytes()), Some(u));
        let r = InetDiagReq { family: 10, protocol: 6, states: 1 << 10 };
        assert_eq!(InetDiagReq::parse(&r.to_bytes()), Some(r));
        let r = UnixDiagReq { states: u32::MAX, show: UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN };
        assert_eq!(UnixDiagReq::parse(&r.to_bytes()), Some(r));
        assert_eq!(InetDiagReq::parse(&[2, 6]), None, "cut short");
    }
}
