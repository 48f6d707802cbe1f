//! /proc/net: the network files of the task's network namespace, the
//! host's, as rtnetlink answers from the same interface list
//! (`host::net::links`): `dev` (counters, net/core/net-procfs.c),
//! `if_inet6` (IPv6 addresses, net/ipv6/addrconf.c), and the multicast
//! groups an interface is in, `igmp` and `igmp6` (net/ipv4/igmp.c,
//! net/ipv6/mcast.c), and `route`, the IPv4 routes rtnetlink gives
//! (net/ipv4/fib_trie.c). Read by ifconfig, netstat -r, psutil's
//! net_io_counters, Go's net.Interface.MulticastAddrs.
//!
//! The protocol counters (`snmp`, `snmp6`, `netstat`, `sockstat`,
//! `sockstat6`: netstat -s, ss -s) are the host's on a Linux host, which
//! keeps them in this very format; macOS hosts have no such files.
//!
//! The socket tables `tcp`, `tcp6`, `udp`, `udp6` and `unix` list the
//! host's sockets (`host::net::inet_sockets`, `unix_sockets`: on Linux
//! hosts the host's own tables, on macOS every socket of the user's
//! processes), in the kernel's formats (net/ipv4/tcp_ipv4.c,
//! net/ipv6/tcp_ipv6.c, net/ipv4/udp.c, net/ipv6/datagram.c,
//! net/unix/af_unix.c). The inode is the host's, which is what the
//! guest's /proc/PID/fd shows as `socket:[N]`, so netstat -p, lsof, ss
//! (which reads these when NETLINK_SOCK_DIAG is refused) and psutil tie
//! sockets to processes. Read by netstat, ss, lsof, psutil.net_connections.
//!
//! Divergences from Linux:
//! - The groups are the ones Linux joins by itself: all-hosts (224.0.0.1)
//!   on an interface with an IPv4 address; all-nodes (ff02::1, ff01::1)
//!   and each unicast address's solicited-node group on one with an IPv6
//!   address. Groups programs joined are not listed, nor are interfaces
//!   without addresses.
//! - An address's flags in `if_inet6` are always IFA_F_PERMANENT; the
//!   error, fifo, frame, collision and carrier columns of `dev` beyond
//!   what the host counts are 0.
//! - In the socket tables the timer, retransmit and probe columns are 0,
//!   the kernel pointers are 0 (as Linux shows them without CAP_SYSLOG),
//!   and the TCP columns after the inode are a fresh socket's (rto 100,
//!   ato 0, cwnd 10); a reference count is 1 for TCP, 2 for UDP and Unix.
//!   The host user's uid shows as the guest's (as in stat). On macOS
//!   only the sockets of the user's own processes are listed.

use crate::abi::net::n;
use crate::abi::netlink as nl;
use crate::host::net::{IfAddr, InetSock, Link, UnixSock};
use std::fmt::Write;

/// The entries of /proc/PID/net.
pub const FILES: &[&str] = &["dev", "if_inet6", "igmp", "igmp6", "route", "tcp", "tcp6", "udp", "udp6", "unix"];

/// The entries of /proc/PID/net: [`FILES`], and the protocol counters
/// the host keeps in Linux's own format (`host::net::COUNTER_FILES`).
pub fn files() -> Vec<&'static str> {
    FILES.iter().chain(crate::host::net::COUNTER_FILES).copied().collect()
}

/// The content of /proc/net/`name`, if it is one of [`files`].
pub fn render(name: &str) -> Option<String> {
    if crate::host::net::COUNTER_FILES.contains(&name) {
        return crate::host::net::counter_file(name);
    }
    let table = |udp, v6| inet_table(&guest_inet_sockets(udp, v6), udp, v6);
    match name {
        "tcp" => return Some(table(false, false)),
        "tcp6" => return Some(table(false, true)),
        "udp" => return Some(table(true, false)),
        "udp6" => return Some(table(true, true)),
        "unix" => return Some(unix_table(&guest_unix_sockets())),
        _ => {}
    }
    let mut links = crate::host::net::links();
    links.sort_by_key(|l| l.index);
    Some(match name {
        "dev" => dev(&links),
        "if_inet6" => if_inet6(&links),
        "igmp" => igmp(&links),
        "igmp6" => igmp6(&links),
        "route" => route(&links, &crate::host::net::default_routes()),
        _ => return None,
    })
}

/// The host's TCP (`udp` false) or UDP sockets of one family as the guest
/// sees them, in these tables and in sock_diag's dumps: the host user's
/// uid as stat shows it.
pub(super) fn guest_inet_sockets(udp: bool, v6: bool) -> Vec<InetSock> {
    let mut socks = crate::host::net::inet_sockets(udp, v6);
    for s in &mut socks {
        s.uid = super::meta::guest_uid_of(s.uid);
    }
    socks
}

/// The host's Unix sockets as the guest sees them: each name as a peer's
/// address is shown (a guest path, an emulated abstract name).
pub(super) fn guest_unix_sockets() -> Vec<UnixSock> {
    let mut socks = crate::host::net::unix_sockets();
    for s in &mut socks {
        s.path = s.path.take().map(crate::syscall::socket::guest_unix_path);
    }
    socks
}

/// The kernel's native number for 4 bytes in network order (x86_64's
/// little-endian), as /proc/net prints addresses and masks.
fn native_word(b: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    for (d, s) in w.iter_mut().zip(b) {
        *d = *s;
    }
    u32::from_le_bytes(w)
}

/// /proc/net/route (fib_route_seq_show): the IPv4 routes of the main table
/// that `ip route` lists (rtnetlink derives both from the same addresses
/// and default routes), each line padded to 127 bytes, addresses and
/// masks as the kernel's native numbers.
fn route(links: &[Link], defaults: &[crate::host::net::HostRoute]) -> String {
    const RTF_UP: u32 = 0x1;
    const RTF_GATEWAY: u32 = 0x2;
    let mut out = format!("{:<127}\n", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT");
    for r in super::rtnetlink::routes(links, defaults, n::AF_INET) {
        let iface = links.iter().find(|l| l.index == r.oif).map_or_else(|| "*".to_string(), name);
        let mask = if r.dst_len == 0 { 0 } else { native_word(&(u32::MAX << (32 - u32::from(r.dst_len.min(32)))).to_be_bytes()) };
        let flags = RTF_UP | if r.gateway.is_some() { RTF_GATEWAY } else { 0 };
        let gw = r.gateway.as_deref().map_or(0, native_word);
        let line = format!("{iface}\t{:08X}\t{gw:08X}\t{flags:04X}\t0\t0\t{}\t{mask:08X}\t0\t0\t0", native_word(&r.dst), r.priority);
        let _ = writeln!(out, "{line:<127}");
    }
    out
}

/// An address as the socket tables print it: each 32-bit word as the
/// kernel's native number, in hexadecimal, then the port.
fn table_addr((addr, port): &(Vec<u8>, u16)) -> String {
    let mut s: String = addr.chunks(4).map(|w| format!("{:08X}", native_word(w))).collect();
    let _ = write!(s, ":{port:04X}");
    s
}

/// /proc/net/{tcp,udp}[6]: the IPv4 tables' lines are padded to a fixed
/// width (seq_setwidth/seq_pad: 149 for TCP, 127 for UDP), the IPv6 ones
/// are not; UDP's slot column is one wider.
fn inet_table(socks: &[InetSock], udp: bool, v6: bool) -> String {
    let width = if v6 { 0 } else if udp { 127 } else { 149 };
    let head = match (udp, v6) {
        (false, false) => "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
        (true, false) => "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
        (false, true) => "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
        (true, true) => "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
    };
    let mut out = format!("{head:<width$}\n");
    let want = if v6 { 16 } else { 4 };
    for (i, s) in socks.iter().filter(|s| s.local.0.len() == want && s.remote.0.len() == want).enumerate() {
        let slot = if udp { format!("{i:>5}") } else { format!("{i:>4}") };
        let tail = if udp { "2 0000000000000000 0".to_string() } else { "1 0000000000000000 100 0 0 10 0".to_string() };
        let line = format!(
            "{slot}: {} {} {:02X} {:08X}:{:08X} 00:00000000 00000000 {:>5} {:>8} {} {tail}",
            table_addr(&s.local),
            table_addr(&s.remote),
            s.state,
            s.tx_queue,
            s.rx_queue,
            s.uid,
            0,
            s.inode
        );
        let _ = writeln!(out, "{line:<width$}");
    }
    out
}

/// /proc/net/unix: `__SO_ACCEPTCON` marks a listening socket; an abstract
/// name shows its NULs as `@`.
fn unix_table(socks: &[UnixSock]) -> String {
    const ACCEPTCON: u32 = 1 << 16;
    let mut out = String::from("Num       RefCount Protocol Flags    Type St Inode Path\n");
    for s in socks {
        let flags = if s.listening { ACCEPTCON } else { 0 };
        let _ = write!(out, "0000000000000000: {:08X} {:08X} {flags:08X} {:04X} {:02X} {:5}", 2, 0, s.ty, s.state, s.inode);
        if let Some(p) = &s.path {
            let shown: Vec<u8> = p.iter().map(|&b| if b == 0 { b'@' } else { b }).collect();
            out.push(' ');
            out.push_str(&String::from_utf8_lossy(&shown));
        }
        out.push('\n');
    }
    out
}

fn name(l: &Link) -> String {
    String::from_utf8_lossy(&l.name).into_owned()
}

fn dev(links: &[Link]) -> String {
    let mut s = String::from(
        "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    );
    for l in links {
        // Link::stats: rx/tx packets, rx/tx bytes, rx/tx errors, rx/tx dropped, multicast.
        let st = &l.stats;
        let _ = writeln!(
            s,
            "{:>6}: {:>7} {:>7} {:>4} {:>4} {:>4} {:>5} {:>10} {:>9} {:>8} {:>7} {:>4} {:>4} {:>4} {:>5} {:>7} {:>10}",
            name(l), st[2], st[0], st[4], st[6], 0, 0, 0, st[8], st[3], st[1], st[5], st[7], 0, 0, 0, 0
        );
    }
    s
}

fn hex(addr: &[u8]) -> String {
    addr.iter().map(|b| format!("{b:02x}")).collect()
}

fn v6_addrs(l: &Link) -> impl Iterator<Item = &IfAddr> {
    l.addrs.iter().filter(|a| a.family == n::AF_INET6 && a.addr.len() == 16)
}

/// The kernel's scope of an IPv6 address (ipv6_addr_scope): host for ::1,
/// link for fe80::/10, else global.
fn v6_scope(a: &[u8]) -> u8 {
    const IFA_HOST: u8 = 0x10;
    const IFA_LINK: u8 = 0x20;
    if a[..15].iter().all(|&b| b == 0) && a[15] == 1 {
        IFA_HOST
    } else if a[0] == 0xfe && a[1] & 0xc0 == 0x80 {
        IFA_LINK
    } else {
        0
    }
}

fn if_inet6(links: &[Link]) -> String {
    const IFA_F_PERMANENT: u8 = 0x80;
    let mut s = String::new();
    for l in links {
        for a in v6_addrs(l) {
            let _ = writeln!(s, "{} {:02x} {:02x} {:02x} {:02x} {:>8}", hex(&a.addr), l.index, a.prefix_len, v6_scope(&a.addr), IFA_F_PERMANENT, name(l));
        }
    }
    s
}

fn igmp(links: &[Link]) -> String {
    let mut s = String::from("Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n");
    for l in links.iter().filter(|l| l.addrs.iter().any(|a| a.family == n::AF_INET)) {
        let _ = writeln!(s, "{}\t{:<10}: {:>5} {:>7}", l.index, name(l), 1, "V3");
        // 224.0.0.1 as the kernel prints a __be32 with %08X on little-endian.
        let _ = writeln!(s, "\t\t\t\t{:08X} {:>5} {}:{:08X}\t\t{}", u32::from_le_bytes([224, 0, 0, 1]), 1, 0, 0, 0);
    }
    s
}

fn igmp6(links: &[Link]) -> String {
    // mca_flags: MAF_NOREPORT (8) on ff01::1, with MAF_LAST_REPORTER (4) on
    // ff02::1; a solicited-node group has the reporter bit alone.
    let mut s = String::new();
    for l in links {
        let unicast: Vec<&[u8]> = v6_addrs(l).map(|a| a.addr.as_slice()).collect();
        if unicast.is_empty() {
            continue;
        }
        let mut groups: Vec<([u8; 16], u32)> = Vec::new();
        if l.flags & nl::IFF_LOOPBACK == 0 {
            // ff02::1:ffXX:XXXX of each address, newest joined first.
            let mut solicited: Vec<[u8; 16]> = unicast
                .iter()
                .map(|a| {
                    let mut g = [0u8; 16];
                    g[0] = 0xff;
                    g[1] = 0x02;
                    g[11] = 1;
                    g[12] = 0xff;
                    g[13..].copy_from_slice(&a[13..]);
                    g
                })
                .collect();
            solicited.sort_unstable();
            solicited.dedup();
            groups.extend(solicited.into_iter().rev().map(|g| (g, 4)));
        }
        let all = |scope: u8| {
            let mut g = [0u8; 16];
            g[0] = 0xff;
            g[1] = scope;
            g[15] = 1;
            g
        };
        groups.push((all(0x02), 0xc));
        groups.push((all(0x01), 0x8));
        for (g, flags) in groups {
            let _ = writeln!(s, "{:<4} {:<15} {} {:>5} {:08X} {}", l.index, name(l), hex(&g), 1, flags, 0);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(index: u32, name: &str, flags: u32, addrs: Vec<IfAddr>) -> Link {
        Link { name: name.as_bytes().to_vec(), index, flags, addrs, ..Link::default() }
    }

    fn v6(s: [u16; 8], prefix_len: u8) -> IfAddr {
        IfAddr { family: n::AF_INET6, addr: s.iter().flat_map(|w| w.to_be_bytes()).collect(), prefix_len, broadcast: None }
    }

    #[test]
    fn files_read_as_linux_writes_them() {
        let lo = link(1, "lo", nl::IFF_LOOPBACK | nl::IFF_UP, vec![
            IfAddr { family: n::AF_INET, addr: vec![127, 0, 0, 1], prefix_len: 8, broadcast: None },
            v6([0, 0, 0, 0, 0, 0, 0, 1], 128),
        ]);
        let eth = link(4, "eth0", nl::IFF_UP, vec![
            IfAddr { family: n::AF_INET, addr: vec![10, 0, 0, 2], prefix_len: 24, broadcast: Some([10, 0, 0, 255]) },
            v6([0xfe80, 0, 0, 0, 0xfc, 0xff, 0xfe00, 1], 64),
            v6([0xfd00, 0, 0, 0, 0, 0, 0, 2], 64),
        ]);
        let links = [lo, eth];
        assert_eq!(
            if_inet6(&links),
            "00000000000000000000000000000001 01 80 10 80       lo\n\
             fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n\
             fd000000000000000000000000000002 04 40 00 80     eth0\n"
        );
        assert_eq!(
            igmp6(&links),
            "1    lo              ff020000000000000000000000000001     1 0000000C 0\n\
             1    lo              ff010000000000000000000000000001     1 00000008 0\n\
             4    eth0            ff0200000000000000000001ff000002     1 00000004 0\n\
             4    eth0            ff0200000000000000000001ff000001     1 00000004 0\n\
             4    eth0            ff020000000000000000000000000001     1 0000000C 0\n\
             4    eth0            ff010000000000000000000000000001     1 00000008 0\n"
        );
        assert_eq!(
            igmp(&links),
            "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n\
             1\tlo        :     1      V3\n\t\t\t\t010000E0     1 0:00000000\t\t0\n\
             4\teth0      :     1      V3\n\t\t\t\t010000E0     1 0:00000000\t\t0\n"
        );
        let d = dev(&links);
        assert!(d.lines().nth(2).unwrap().starts_with("    lo:       0       0    0    0    0     0          0         0        0"));
    }
}
