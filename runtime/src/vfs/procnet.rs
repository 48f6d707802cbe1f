//! /proc/net: the network files of the task's network namespace, the
//! host's, as rtnetlink answers from the same interface list
//! (`host::net::links`): `dev` (counters, net/core/net-procfs.c),
//! `if_inet6` (IPv6 addresses, net/ipv6/addrconf.c), and the multicast
//! groups an interface is in, `igmp` and `igmp6` (net/ipv4/igmp.c,
//! net/ipv6/mcast.c). Read by ifconfig, psutil's net_io_counters, Go's
//! net.Interface.MulticastAddrs.
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

use crate::abi::net::n;
use crate::abi::netlink as nl;
use crate::host::net::{IfAddr, Link};
use std::fmt::Write;

/// The entries of /proc/PID/net.
pub const FILES: &[&str] = &["dev", "if_inet6", "igmp", "igmp6"];

/// The content of /proc/net/`name`, if it is one of [`FILES`].
pub fn render(name: &str) -> Option<String> {
    let mut links = crate::host::net::links();
    links.sort_by_key(|l| l.index);
    Some(match name {
        "dev" => dev(&links),
        "if_inet6" => if_inet6(&links),
        "igmp" => igmp(&links),
        "igmp6" => igmp6(&links),
        _ => return None,
    })
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
