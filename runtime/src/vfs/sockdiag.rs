//! NETLINK_SOCK_DIAG, served by the runtime from the same socket tables as
//! /proc/net (`host::net::inet_sockets`, `unix_sockets`; vfs/procnet.rs):
//! the SOCK_DIAG_BY_FAMILY dumps that `ss` makes (net/core/sock_diag.c,
//! net/ipv4/inet_diag.c, net/unix/diag.c).
//!
//! - AF_INET and AF_INET6 with IPPROTO_TCP or IPPROTO_UDP: one
//!   `inet_diag_msg` per socket in a state the request's bitmask names,
//!   with INET_DIAG_SHUTDOWN; AF_UNIX: one `unix_diag_msg` per socket,
//!   with UNIX_DIAG_NAME and UNIX_DIAG_RQLEN when asked for.
//! - Another family is ENOENT, as Linux answers for one whose diag module
//!   is not there; another inet protocol ends the dump at once with ENOENT
//!   in its NLMSG_DONE (inet_diag looks for its handler once the dump has
//!   started); a request cut short is EINVAL, one for a single socket (no
//!   NLM_F_DUMP) ENOENT.
//!
//! Divergences from Linux: the extensions a request asks for (tcp_info,
//! memory, congestion) are not given, nor the inode of a Unix socket's
//! file; a listener's backlog and a Unix socket's queues and peer are
//! there when the host tells them (a Linux host's own sock_diag; on macOS
//! the backlog and a listener's queues), else 0 and absent; the cookie is
//! the inode number; bytecode filters are not run (ss filters again
//! itself).

use super::rtnetlink::Answer;
use crate::abi::net::n;
use crate::abi::netlink::{self as nl, InetDiagMsg, InetDiagReq, MsgBuilder, NlMsgHdr, UnixDiagMsg, UnixDiagReq};
use crate::abi::Errno;
use crate::host::net::{InetSock, UnixSock};

const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
/// `AF_MAX`: a family at or beyond it is EINVAL.
const AF_MAX: u32 = 46;

/// The dump answering `h` with `body`, or Linux's error.
pub fn answer(h: &NlMsgHdr, body: &[u8], pid: u32) -> Result<Answer, Errno> {
    if h.ty != nl::SOCK_DIAG_BY_FAMILY {
        return Err(Errno::EINVAL);
    }
    let Some(&family) = body.first() else { return Err(Errno::EINVAL) };
    let family = u32::from(family);
    if family >= AF_MAX {
        return Err(Errno::EINVAL);
    }
    if h.flags & nl::NLM_F_DUMP != nl::NLM_F_DUMP {
        return Err(Errno::ENOENT);
    }
    let listed = |states: u32, state: u8| states & (1 << u32::from(state.min(31))) != 0;
    match family {
        n::AF_INET | n::AF_INET6 => {
            let req = InetDiagReq::parse(body).ok_or(Errno::EINVAL)?;
            let udp = match req.protocol {
                IPPROTO_TCP => false,
                IPPROTO_UDP => true,
                // inet_diag finds no handler once the dump has started.
                _ => return Ok(Answer::DumpError(Errno::ENOENT)),
            };
            let socks = super::procnet::guest_inet_sockets(udp, family == n::AF_INET6);
            Ok(Answer::Dump(socks.iter().filter(|s| listed(req.states, s.state)).map(|s| inet_msg(s, family, h.seq, pid)).collect()))
        }
        n::AF_UNIX => {
            let req = UnixDiagReq::parse(body).ok_or(Errno::EINVAL)?;
            let socks = super::procnet::guest_unix_sockets();
            Ok(Answer::Dump(socks.iter().filter(|s| listed(req.states, unix_state(s))).map(|s| unix_msg(s, req.show, h.seq, pid)).collect()))
        }
        _ => Err(Errno::ENOENT),
    }
}

/// `struct inet_diag_msg` and its INET_DIAG_SHUTDOWN.
fn inet_msg(s: &InetSock, family: u32, seq: u32, pid: u32) -> Vec<u8> {
    let addr = |a: &[u8]| {
        let mut b = [0u8; 16];
        b[..a.len().min(16)].copy_from_slice(&a[..a.len().min(16)]);
        b
    };
    let m = InetDiagMsg {
        family: family as u8,
        state: s.state,
        sport: s.local.1,
        dport: s.remote.1,
        src: addr(&s.local.0),
        dst: addr(&s.remote.0),
        cookie: s.inode,
        rqueue: s.rx_queue,
        // A listener's queues are its pending connections and its backlog.
        wqueue: s.backlog.unwrap_or(s.tx_queue),
        uid: s.uid,
        inode: s.inode as u32,
    };
    MsgBuilder::new(nl::SOCK_DIAG_BY_FAMILY, nl::NLM_F_MULTI, seq, pid).put(&m.to_bytes()).attr_u8(nl::INET_DIAG_SHUTDOWN, 0).finish()
}

/// The TCP state Linux reports for a Unix socket.
fn unix_state(s: &UnixSock) -> u8 {
    if s.listening {
        nl::TCP_LISTEN
    } else if s.state == 3 {
        // SS_CONNECTED
        nl::TCP_ESTABLISHED
    } else {
        nl::TCP_CLOSE
    }
}

/// `struct unix_diag_msg` with the attributes `show` asks for that are known.
fn unix_msg(s: &UnixSock, show: u32, seq: u32, pid: u32) -> Vec<u8> {
    let m = UnixDiagMsg { ty: s.ty as u8, state: unix_state(s), inode: s.inode as u32, cookie: s.inode };
    let mut b = MsgBuilder::new(nl::SOCK_DIAG_BY_FAMILY, nl::NLM_F_MULTI, seq, pid).put(&m.to_bytes());
    if show & nl::UDIAG_SHOW_NAME != 0 {
        if let Some(p) = &s.path {
            // A path name as the kernel keeps it, with its terminating
            // NUL; an abstract one is its bytes alone.
            let mut name = p.clone();
            if name.first() != Some(&0) {
                name.push(0);
            }
            b = b.attr(nl::UNIX_DIAG_NAME, &name);
        }
    }
    if show & nl::UDIAG_SHOW_PEER != 0 {
        if let Some(peer) = s.peer {
            b = b.attr_u32(nl::UNIX_DIAG_PEER, peer);
        }
    }
    if show & nl::UDIAG_SHOW_RQLEN != 0 {
        let (r, w) = s.queues.unwrap_or((0, 0));
        let mut q = r.to_ne_bytes().to_vec();
        q.extend_from_slice(&w.to_ne_bytes());
        b = b.attr(nl::UNIX_DIAG_RQLEN, &q);
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(flags: u16) -> NlMsgHdr {
        NlMsgHdr { len: 0, ty: nl::SOCK_DIAG_BY_FAMILY, flags, seq: 5, pid: 0 }
    }

    #[test]
    fn requests_are_checked_as_linux_checks_them() {
        let dump = nl::NLM_F_REQUEST | nl::NLM_F_DUMP;
        let err = |r: Result<Answer, Errno>| r.err();
        assert_eq!(err(answer(&hdr(dump), &[], 1)), Some(Errno::EINVAL), "no family");
        assert_eq!(err(answer(&hdr(dump), &[200], 1)), Some(Errno::EINVAL), "family beyond AF_MAX");
        assert_eq!(err(answer(&hdr(dump), &[n::AF_INET as u8, 6], 1)), Some(Errno::EINVAL), "request cut short");
        let raw = InetDiagReq { family: n::AF_INET as u8, protocol: 255, states: 0 }.to_bytes();
        assert!(matches!(answer(&hdr(dump), &raw, 1), Ok(Answer::DumpError(Errno::ENOENT))), "a protocol without a diag module");
        assert_eq!(err(answer(&hdr(dump), &[n::AF_PACKET as u8, 0, 0, 0], 1)), Some(Errno::ENOENT), "a family without one");
        assert_eq!(err(answer(&hdr(nl::NLM_F_REQUEST), &raw, 1)), Some(Errno::ENOENT), "a single socket");
    }

    #[test]
    fn an_inet_message_is_laid_out_as_inet_diag_msg() {
        let s = InetSock { local: (vec![127, 0, 0, 1], 8080), remote: (vec![0; 4], 0), state: 10, tx_queue: 0, rx_queue: 3, uid: 4242, inode: 77, backlog: Some(128) };
        let m = inet_msg(&s, n::AF_INET, 5, 9);
        let body = &m[nl::NLMSG_HDRLEN..];
        assert_eq!(&body[..4], &[n::AF_INET as u8, 10, 0, 0]);
        assert_eq!(&body[4..6], &8080u16.to_be_bytes());
        assert_eq!(&body[8..12], &[127, 0, 0, 1]);
        // expires, rqueue, wqueue, uid, inode after the 48-byte sockid.
        let word = |o: usize| u32::from_ne_bytes(body[o..o + 4].try_into().unwrap());
        assert_eq!((word(52), word(56), word(60), word(64), word(68)), (0, 3, 128, 4242, 77));
    }
}
