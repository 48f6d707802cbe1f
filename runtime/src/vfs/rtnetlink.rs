//! The runtime's rtnetlink "kernel side": what Linux's rtnetlink_rcv_msg
//! answers to a NETLINK_ROUTE request, built from the host's interfaces
//! (`host::net::links`) and default routes. rtnetlink(7); the message
//! contents follow net/core/rtnetlink.c (`rtnl_fill_ifinfo`),
//! net/ipv4/devinet.c (`inet_fill_ifaddr`), net/ipv6/addrconf.c
//! (`inet6_fill_ifaddr`), net/ipv4/fib_semantics.c (`fib_dump_info`) and
//! net/ipv6/route.c (`rt6_fill_node`), attribute order included.
//!
//! Divergences from Linux:
//! - Only RTM_GETLINK (dump and by index or name), RTM_GETADDR dumps and
//!   RTM_GETROUTE dumps are answered; other GET requests are EOPNOTSUPP, as
//!   Linux answers a type nobody registered. RTM_NEW*/RTM_DEL*/RTM_SET*
//!   are EPERM, as for an unprivileged Linux user, whatever the guest's
//!   credentials: the runtime never changes the host's network setup.
//! - The route dump holds the main table only: the prefix route of each
//!   address of an up, non-loopback interface (proto kernel) and the
//!   host's default routes (Linux hosts; proto boot). No local table, no
//!   cache, no `ip route get`.
//! - Address flags are IFA_F_PERMANENT (no "dynamic", "nodad" or
//!   "temporary": getifaddrs does not tell them); lifetimes are forever
//!   and the cache-info time stamps 0.
//! - IFLA_QDISC is "noqueue" for loopback devices and absent for others;
//!   IFLA_TXQLEN and IFLA_OPERSTATE come from the host where it tells them
//!   (Linux: /sys/class/net); counters beyond the first nine are 0.
//! - No notifications: a socket bound to multicast groups never hears of
//!   a change.

use crate::abi::net::n;
use crate::abi::netlink::{self as nl, MsgBuilder, NlMsgHdr};
use crate::abi::Errno;
use crate::host::net::{HostRoute, Link};

/// What one request asks of the socket.
pub enum Answer {
    /// Messages to queue, one datagram each (a single object).
    Reply(Vec<u8>),
    /// A dump: its messages (packed into datagrams as the reader reads)
    /// and the NLMSG_DONE that ends it. The request gets no ACK, as a
    /// started dump gets none on Linux (`netlink_dump_start` answers -EINTR).
    Dump(Vec<Vec<u8>>),
    /// A dump that ends at once, its NLMSG_DONE carrying the error (a
    /// dump callback's error, as `netlink_dump` reports it).
    DumpError(Errno),
    /// Nothing besides the ACK or error the caller adds.
    Nothing,
}

/// The `kind` of an rtnetlink type: its low two bits (`rtnl_msgtype_kind`).
const KIND_GET: u16 = 2;

/// Answers one request (`rtnetlink_rcv_msg`): `body` is the payload after
/// the header. `pid` is the requester's port id, which the answers carry.
pub fn answer(h: &NlMsgHdr, body: &[u8], pid: u32, strict: bool) -> Result<Answer, Errno> {
    if h.ty > nl::RTM_MAX {
        return Err(Errno::EOPNOTSUPP);
    }
    // "All the messages must have at least 1 byte length": shorter ones
    // are dropped silently.
    let Some(&family) = body.first() else { return Ok(Answer::Nothing) };
    let family = u32::from(family);
    if h.ty.wrapping_sub(nl::RTM_BASE) & 3 != KIND_GET {
        return Err(Errno::EPERM);
    }
    let links = crate::host::net::links();
    if h.flags & nl::NLM_F_DUMP != 0 {
        let msgs = match h.ty {
            nl::RTM_GETLINK => links.iter().map(|l| link_msg(l, nl::NLM_F_MULTI, h.seq, pid)).collect(),
            nl::RTM_GETADDR => addr_dump(&links, family, body, h.seq, pid, strict)?,
            nl::RTM_GETROUTE => route_dump(&links, &crate::host::net::default_routes(), family, body, h.seq, pid, strict),
            _ => return Err(Errno::EOPNOTSUPP),
        };
        return Ok(Answer::Dump(msgs));
    }
    match h.ty {
        nl::RTM_GETLINK => get_link(&links, body, h.seq, pid).map(Answer::Reply),
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// The NLMSG_DONE that ends a dump: an int 0, NLM_F_MULTI.
pub fn done_msg(seq: u32, pid: u32) -> Vec<u8> {
    done_msg_with(seq, pid, 0)
}

/// An NLMSG_DONE carrying `err` (0, or a negative errno).
pub fn done_msg_with(seq: u32, pid: u32, err: i32) -> Vec<u8> {
    MsgBuilder::new(nl::NLMSG_DONE, nl::NLM_F_MULTI, seq, pid).put(&err.to_ne_bytes()).finish()
}

/// An NLMSG_ERROR for `req` (`netlink_ack`): `errno` 0 is an ACK, which
/// carries only the request's header (NLM_F_CAPPED), as does an error
/// with NETLINK_CAP_ACK; other errors carry the whole request.
pub fn error_msg(req: &[u8], h: &NlMsgHdr, errno: Option<Errno>, pid: u32, cap_ack: bool) -> Vec<u8> {
    let err = errno.map_or(0i32, |e| -i32::from(e.0));
    let whole = err != 0 && !cap_ack;
    let flags = if whole { 0 } else { nl::NLM_F_CAPPED };
    let echoed = if whole { &req[..(h.len as usize).min(req.len())] } else { &req[..nl::NLMSG_HDRLEN.min(req.len())] };
    let mut payload = err.to_ne_bytes().to_vec();
    payload.extend_from_slice(echoed);
    MsgBuilder::new(nl::NLMSG_ERROR, flags, h.seq, pid).put(&payload).finish()
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

/// RTM_GETLINK for one link (`rtnl_getlink`): by `ifi_index`, else by
/// IFLA_IFNAME or IFLA_ALT_IFNAME; ENODEV when there is none.
fn get_link(links: &[Link], body: &[u8], seq: u32, pid: u32) -> Result<Vec<u8>, Errno> {
    if body.len() < nl::IFINFOMSG_LEN {
        return Err(Errno::EINVAL);
    }
    let index = u32_at(body, 4).unwrap_or(0) as i32;
    let link = if index > 0 {
        links.iter().find(|l| l.index as i32 == index)
    } else {
        let name = nl::attrs(&body[nl::IFINFOMSG_LEN..])
            .into_iter()
            .find(|(t, _)| *t == nl::IFLA_IFNAME || *t == nl::IFLA_ALT_IFNAME)
            .map(|(_, v)| v.iter().copied().take_while(|&c| c != 0).collect::<Vec<u8>>());
        let Some(name) = name else { return Err(Errno::EINVAL) };
        links.iter().find(|l| l.name == name)
    };
    let link = link.ok_or(Errno::ENODEV)?;
    Ok(link_msg(link, 0, seq, pid))
}

/// The operational state Linux would report when the host does not say.
fn operstate(l: &Link) -> u8 {
    if l.flags & nl::IFF_LOOPBACK != 0 {
        nl::IF_OPER_UNKNOWN
    } else if l.flags & nl::IFF_UP != 0 && l.flags & (nl::IFF_LOWER_UP | nl::IFF_RUNNING) != 0 {
        nl::IF_OPER_UP
    } else {
        nl::IF_OPER_DOWN
    }
}

/// An RTM_NEWLINK message for `l`.
pub fn link_msg(l: &Link, flags: u16, seq: u32, pid: u32) -> Vec<u8> {
    let mut ifi = [0u8; nl::IFINFOMSG_LEN];
    ifi[0] = n::AF_UNSPEC as u8;
    ifi[2..4].copy_from_slice(&l.hw_type.to_ne_bytes());
    ifi[4..8].copy_from_slice(&l.index.to_ne_bytes());
    ifi[8..12].copy_from_slice(&l.flags.to_ne_bytes());
    let mut m = MsgBuilder::new(nl::RTM_NEWLINK, flags, seq, pid).put(&ifi).attr_str(nl::IFLA_IFNAME, &l.name);
    if let Some(q) = l.txqlen {
        m = m.attr_u32(nl::IFLA_TXQLEN, q);
    }
    m = m
        .attr_u8(nl::IFLA_OPERSTATE, l.operstate.unwrap_or_else(|| operstate(l)))
        .attr_u8(nl::IFLA_LINKMODE, nl::IF_LINK_MODE_DEFAULT)
        .attr_u32(nl::IFLA_MTU, l.mtu)
        .attr_u32(nl::IFLA_GROUP, 0)
        .attr_u32(nl::IFLA_PROMISCUITY, 0)
        .attr_u8(nl::IFLA_CARRIER, u8::from(l.flags & nl::IFF_LOWER_UP != 0));
    if l.flags & nl::IFF_LOOPBACK != 0 {
        // A Linux loopback device has no queue (IFF_NO_QUEUE).
        m = m.attr_str(nl::IFLA_QDISC, b"noqueue");
    }
    if !l.hw_addr.is_empty() {
        m = m.attr(nl::IFLA_ADDRESS, &l.hw_addr);
        if !l.hw_broadcast.is_empty() {
            m = m.attr(nl::IFLA_BROADCAST, &l.hw_broadcast);
        }
    }
    let mut s64 = vec![0u8; nl::LINK_STATS64_LEN];
    let mut s32 = vec![0u8; nl::LINK_STATS_LEN];
    for (i, v) in l.stats.iter().enumerate() {
        s64[i * 8..i * 8 + 8].copy_from_slice(&v.to_ne_bytes());
        // The 32-bit copy wraps as the kernel's does.
        s32[i * 4..i * 4 + 4].copy_from_slice(&(*v as u32).to_ne_bytes());
    }
    m.attr(nl::IFLA_STATS64, &s64).attr(nl::IFLA_STATS, &s32).finish()
}

/// The scope Linux gives an address: host for loopback, link for
/// link-local, else universe ("global").
fn addr_scope(family: u32, a: &[u8]) -> u8 {
    match (family, a) {
        (n::AF_INET, [127, ..]) => nl::RT_SCOPE_HOST,
        (n::AF_INET, [169, 254, ..]) => nl::RT_SCOPE_LINK,
        (n::AF_INET6, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]) => nl::RT_SCOPE_HOST,
        (n::AF_INET6, [0xfe, b, ..]) if b & 0xc0 == 0x80 => nl::RT_SCOPE_LINK,
        _ => nl::RT_SCOPE_UNIVERSE,
    }
}

/// An RTM_NEWADDR message.
fn addr_msg(l: &Link, a: &crate::host::net::IfAddr, seq: u32, pid: u32) -> Vec<u8> {
    let flags = nl::nl::IFA_F_PERMANENT;
    let ifa = [a.family as u8, a.prefix_len, flags as u8, addr_scope(a.family, &a.addr)];
    let mut hdr = ifa.to_vec();
    hdr.extend_from_slice(&l.index.to_ne_bytes());
    let forever = nl::INFINITY_LIFE_TIME.to_ne_bytes();
    let cacheinfo = [forever, forever, [0; 4], [0; 4]].concat();
    let m = MsgBuilder::new(nl::RTM_NEWADDR, nl::NLM_F_MULTI, seq, pid).put(&hdr).attr(nl::IFA_ADDRESS, &a.addr);
    if a.family == n::AF_INET {
        let mut m = m.attr(nl::IFA_LOCAL, &a.addr);
        if let Some(b) = a.broadcast {
            m = m.attr(nl::IFA_BROADCAST, &b);
        }
        m.attr_str(nl::IFA_LABEL, &l.name).attr_u32(nl::IFA_FLAGS, flags).attr(nl::IFA_CACHEINFO, &cacheinfo).finish()
    } else {
        m.attr(nl::IFA_CACHEINFO, &cacheinfo).attr_u32(nl::IFA_FLAGS, flags).finish()
    }
}

/// The families a dump of `family` covers (`rtnl_dump_all` for any family
/// without a handler of its own: IPv4, then IPv6).
fn families(family: u32) -> Vec<u32> {
    match family {
        n::AF_INET | n::AF_INET6 => vec![family],
        _ => vec![n::AF_INET, n::AF_INET6],
    }
}

/// An RTM_GETADDR dump. With NETLINK_GET_STRICT_CHK the header is checked
/// and `ifa_index` filters, as `inet_valid_dump_ifaddr_req` does.
fn addr_dump(links: &[Link], family: u32, body: &[u8], seq: u32, pid: u32, strict: bool) -> Result<Vec<Vec<u8>>, Errno> {
    let mut index = 0;
    if strict && matches!(family, n::AF_INET | n::AF_INET6) {
        if body.len() < nl::IFADDRMSG_LEN || body[1] != 0 || body[2] != 0 || body[3] != 0 {
            return Err(Errno::EINVAL);
        }
        index = u32_at(body, 4).unwrap_or(0);
        if index != 0 && !links.iter().any(|l| l.index == index) {
            return Err(Errno::ENODEV);
        }
    }
    let mut out = Vec::new();
    for f in families(family) {
        for l in links.iter().filter(|l| index == 0 || l.index == index) {
            for a in l.addrs.iter().filter(|a| a.family == f) {
                out.push(addr_msg(l, a, seq, pid));
            }
        }
    }
    Ok(out)
}

/// One route of the main table, before encoding.
pub(super) struct Route {
    family: u32,
    pub(super) dst: Vec<u8>,
    pub(super) dst_len: u8,
    protocol: u8,
    scope: u8,
    pub(super) priority: u32,
    prefsrc: Option<Vec<u8>>,
    pub(super) gateway: Option<Vec<u8>>,
    pub(super) oif: u32,
}

/// The routes Linux derives from the addresses of `f` (`fib_add_ifaddr`,
/// `addrconf_prefix_route`), then the host's default routes.
pub(super) fn routes(links: &[Link], defaults: &[HostRoute], f: u32) -> Vec<Route> {
    /// The metric IPv6 prefix routes get (IP6_RT_PRIO_ADDRCONF).
    const IP6_RT_PRIO_ADDRCONF: u32 = 256;
    let mut out = Vec::new();
    for l in links.iter().filter(|l| l.flags & nl::IFF_UP != 0 && l.flags & nl::IFF_LOOPBACK == 0) {
        for a in l.addrs.iter().filter(|a| a.family == f) {
            let bits = usize::from(a.prefix_len);
            if bits >= a.addr.len() * 8 {
                continue;
            }
            let dst: Vec<u8> = a.addr.iter().enumerate().map(|(i, b)| {
                let keep = bits.saturating_sub(i * 8).min(8);
                if keep == 0 { 0 } else { b & (0xffu8 << (8 - keep)) }
            }).collect();
            if out.iter().any(|r: &Route| r.dst == dst && r.dst_len == a.prefix_len && r.oif == l.index) {
                continue;
            }
            let v4 = f == n::AF_INET;
            out.push(Route {
                family: f,
                dst,
                dst_len: a.prefix_len,
                protocol: nl::RTPROT_KERNEL,
                scope: if v4 { nl::RT_SCOPE_LINK } else { nl::RT_SCOPE_UNIVERSE },
                priority: if v4 { 0 } else { IP6_RT_PRIO_ADDRCONF },
                prefsrc: v4.then(|| a.addr.clone()),
                gateway: None,
                oif: l.index,
            });
        }
    }
    let zero = vec![0u8; if f == n::AF_INET { 4 } else { 16 }];
    let defaults = defaults.iter().filter(|d| d.family == f).map(|d| Route {
        family: f,
        dst: zero.clone(),
        dst_len: 0,
        protocol: nl::RTPROT_BOOT,
        scope: nl::RT_SCOPE_UNIVERSE,
        priority: d.metric,
        prefsrc: None,
        gateway: Some(d.gateway.clone()),
        oif: d.index,
    });
    if f == n::AF_INET {
        // The FIB trie walks in address order: the default route first.
        let mut all: Vec<Route> = defaults.collect();
        all.extend(out);
        all.sort_by(|a, b| (&a.dst, a.dst_len).cmp(&(&b.dst, b.dst_len)));
        all
    } else {
        out.extend(defaults);
        out
    }
}

fn route_msg(r: &Route, seq: u32, pid: u32) -> Vec<u8> {
    let rtm = [r.family as u8, r.dst_len, 0, 0, nl::RT_TABLE_MAIN, r.protocol, r.scope, nl::RTN_UNICAST, 0, 0, 0, 0];
    let mut m = MsgBuilder::new(nl::RTM_NEWROUTE, nl::NLM_F_MULTI, seq, pid).put(&rtm).attr_u32(nl::RTA_TABLE, u32::from(nl::RT_TABLE_MAIN));
    if r.dst_len != 0 {
        m = m.attr(nl::RTA_DST, &r.dst);
    }
    let v4 = r.family == n::AF_INET;
    if v4 && r.priority != 0 {
        m = m.attr_u32(nl::RTA_PRIORITY, r.priority);
    }
    if let Some(s) = &r.prefsrc {
        m = m.attr(nl::RTA_PREFSRC, s);
    }
    if let Some(g) = &r.gateway {
        m = m.attr(nl::RTA_GATEWAY, g);
    }
    m = m.attr_u32(nl::RTA_OIF, r.oif);
    if !v4 {
        m = m.attr_u32(nl::RTA_PRIORITY, r.priority).attr_u8(nl::RTA_PREF, nl::ICMPV6_ROUTER_PREF_MEDIUM);
    }
    m.finish()
}

/// An RTM_GETROUTE dump of the main table. With NETLINK_GET_STRICT_CHK an
/// RTA_TABLE other than main and a cache dump (RTM_F_CLONED) are empty,
/// and RTA_OIF filters (`ip_valid_fib_dump_req`).
fn route_dump(links: &[Link], defaults: &[HostRoute], family: u32, body: &[u8], seq: u32, pid: u32, strict: bool) -> Vec<Vec<u8>> {
    let mut oif = 0;
    if strict && body.len() >= nl::RTMSG_LEN {
        let table = body[4];
        let rtm_flags = u32_at(body, 8).unwrap_or(0);
        if rtm_flags & nl::nl::RTM_F_CLONED != 0 || (table != 0 && table != nl::RT_TABLE_MAIN) {
            return Vec::new();
        }
        for (t, v) in nl::attrs(&body[nl::RTMSG_LEN..]) {
            match t {
                nl::RTA_TABLE if u32_at(v, 0).is_some_and(|t| t != 0 && t != u32::from(nl::RT_TABLE_MAIN)) => return Vec::new(),
                nl::RTA_OIF => oif = u32_at(v, 0).unwrap_or(0),
                _ => {}
            }
        }
    }
    families(family)
        .into_iter()
        .flat_map(|f| routes(links, defaults, f))
        .filter(|r| oif == 0 || r.oif == oif)
        .map(|r| route_msg(&r, seq, pid))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::net::IfAddr;

    fn eth0() -> Link {
        Link {
            name: b"eth0".to_vec(),
            index: 4,
            flags: nl::IFF_UP | nl::IFF_BROADCAST | nl::IFF_RUNNING | nl::IFF_LOWER_UP,
            hw_type: nl::ARPHRD_ETHER,
            hw_addr: vec![2, 0xfc, 0, 0, 0, 1],
            hw_broadcast: vec![0xff; 6],
            mtu: 1400,
            addrs: vec![
                IfAddr { family: n::AF_INET, addr: vec![192, 0, 2, 2], prefix_len: 24, broadcast: Some([192, 0, 2, 255]) },
                IfAddr { family: n::AF_INET6, addr: vec![0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0xfc, 0, 0xff, 0xfe, 0, 0, 1], prefix_len: 64, broadcast: None },
            ],
            ..Link::default()
        }
    }

    #[test]
    fn prefix_and_default_routes() {
        let d = [HostRoute { family: n::AF_INET, gateway: vec![192, 0, 2, 1], index: 4, metric: 0 }];
        let r = routes(&[eth0()], &d, n::AF_INET);
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].dst_len, r[0].gateway.clone()), (0, Some(vec![192, 0, 2, 1])));
        assert_eq!((r[1].dst.clone(), r[1].dst_len, r[1].scope), (vec![192, 0, 2, 0], 24, nl::RT_SCOPE_LINK));
        let r6 = routes(&[eth0()], &[], n::AF_INET6);
        assert_eq!(r6[0].dst, vec![0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn errors_echo_the_request_and_acks_its_header() {
        let req = MsgBuilder::new(200, nl::NLM_F_REQUEST | nl::NLM_F_ACK, 9, 0).put(&[1, 2, 3, 4]).finish();
        let h = NlMsgHdr::parse(&req).unwrap();
        let e = error_msg(&req, &h, Some(Errno::EOPNOTSUPP), 77, false);
        let eh = NlMsgHdr::parse(&e).unwrap();
        assert_eq!((eh.ty, eh.seq, eh.pid, eh.flags, eh.len as usize), (nl::NLMSG_ERROR, 9, 77, 0, 16 + 4 + req.len()));
        assert_eq!(i32::from_ne_bytes(e[16..20].try_into().unwrap()), -i32::from(Errno::EOPNOTSUPP.0));
        let ack = error_msg(&req, &h, None, 77, false);
        assert_eq!((NlMsgHdr::parse(&ack).unwrap().flags, ack.len()), (nl::NLM_F_CAPPED, 36));
    }

    #[test]
    fn unprivileged_changes_and_unknown_types() {
        let h = |ty| NlMsgHdr { len: 17, ty, flags: nl::NLM_F_REQUEST, seq: 1, pid: 0 };
        assert!(matches!(answer(&h(nl::RTM_NEWADDR), &[2], 1, false), Err(Errno::EPERM)));
        assert!(matches!(answer(&h(nl::RTM_MAX + 1), &[2], 1, false), Err(Errno::EOPNOTSUPP)));
        assert!(matches!(answer(&h(nl::RTM_GETLINK), &[], 1, false), Ok(Answer::Nothing)));
    }
}
