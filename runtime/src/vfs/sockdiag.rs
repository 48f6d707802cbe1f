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

use crate::abi::net::n;
use super::rtnetlink::Answer;
use crate::abi::netlink::{self as nl, MsgBuilder, NlMsgHdr};
use crate::abi::Errno;
use crate::host::net::{InetSock, UnixSock};

/// `SOCK_DIAG_BY_FAMILY` (include/uapi/linux/sock_diag.h).
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `struct inet_diag_req_v2` and `struct unix_diag_req`.
const INET_REQ_LEN: usize = 56;
const UNIX_REQ_LEN: usize = 24;
/// `INET_DIAG_SHUTDOWN`, `UNIX_DIAG_NAME`, `UNIX_DIAG_RQLEN`.
const INET_DIAG_SHUTDOWN: u16 = 8;
const UNIX_DIAG_NAME: u16 = 0;
const UNIX_DIAG_RQLEN: u16 = 4;
/// `UDIAG_SHOW_NAME`, `UDIAG_SHOW_PEER`, `UDIAG_SHOW_RQLEN`.
const UDIAG_SHOW_NAME: u32 = 0x1;
const UDIAG_SHOW_PEER: u32 = 0x4;
const UDIAG_SHOW_RQLEN: u32 = 0x10;
/// `UNIX_DIAG_PEER`.
const UNIX_DIAG_PEER: u16 = 2;
/// Linux TCP states a Unix socket reports.
const TCP_ESTABLISHED: u8 = 1;
const TCP_CLOSE: u8 = 7;
const TCP_LISTEN: u8 = 10;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
/// `AF_MAX`: a family at or beyond it is EINVAL.
const AF_MAX: u32 = 46;

/// The dump answering `h` with `body`, or Linux's error.
pub fn answer(h: &NlMsgHdr, body: &[u8], pid: u32) -> Result<Answer, Errno> {
    if h.ty != SOCK_DIAG_BY_FAMILY {
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
    let u32_at = |o: usize| body.get(o..o + 4).map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    match family {
        n::AF_INET | n::AF_INET6 => {
            if body.len() < INET_REQ_LEN {
                return Err(Errno::EINVAL);
            }
            let udp = match body[1] {
                IPPROTO_TCP => false,
                IPPROTO_UDP => true,
                // inet_diag finds no handler once the dump has started.
                _ => return Ok(Answer::DumpError(Errno::ENOENT)),
            };
            let states = u32_at(4);
            let socks = crate::host::net::inet_sockets(udp, family == n::AF_INET6);
            Ok(Answer::Dump(
                socks.iter().filter(|s| states & (1 << u32::from(s.state.min(31))) != 0).map(|s| inet_msg(s, family, h.seq, pid)).collect(),
            ))
        }
        n::AF_UNIX => {
            if body.len() < UNIX_REQ_LEN {
                return Err(Errno::EINVAL);
            }
            let (states, show) = (u32_at(4), u32_at(12));
            let socks = crate::host::net::unix_sockets();
            Ok(Answer::Dump(
                socks
                    .into_iter()
                    .map(|mut s| {
                        s.path = s.path.take().map(crate::syscall::socket::guest_unix_path);
                        s
                    })
                    .filter(|s| states & (1 << u32::from(unix_state(s))) != 0)
                    .map(|s| unix_msg(&s, show, h.seq, pid))
                    .collect(),
            ))
        }
        _ => Err(Errno::ENOENT),
    }
}

/// `struct inet_diag_msg` and its INET_DIAG_SHUTDOWN.
fn inet_msg(s: &InetSock, family: u32, seq: u32, pid: u32) -> Vec<u8> {
    let uid = super::meta::guest_uid_of(s.uid);
    let addr = |a: &[u8]| {
        let mut b = [0u8; 16];
        b[..a.len().min(16)].copy_from_slice(&a[..a.len().min(16)]);
        b
    };
    let cookie = s.inode;
    let mut m = vec![family as u8, s.state, 0, 0];
    m.extend_from_slice(&s.local.1.to_be_bytes());
    m.extend_from_slice(&s.remote.1.to_be_bytes());
    m.extend_from_slice(&addr(&s.local.0));
    m.extend_from_slice(&addr(&s.remote.0));
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&(cookie as u32).to_ne_bytes());
    m.extend_from_slice(&((cookie >> 32) as u32).to_ne_bytes());
    // A listener's queues are its pending connections and its backlog.
    let wqueue = s.backlog.unwrap_or(s.tx_queue);
    for v in [0, s.rx_queue, wqueue, uid, s.inode as u32] {
        m.extend_from_slice(&v.to_ne_bytes());
    }
    MsgBuilder::new(SOCK_DIAG_BY_FAMILY, nl::NLM_F_MULTI, seq, pid).put(&m).attr_u8(INET_DIAG_SHUTDOWN, 0).finish()
}

/// The TCP state Linux reports for a Unix socket.
fn unix_state(s: &UnixSock) -> u8 {
    if s.listening {
        TCP_LISTEN
    } else if s.state == 3 {
        // SS_CONNECTED
        TCP_ESTABLISHED
    } else {
        TCP_CLOSE
    }
}

/// `struct unix_diag_msg` with the attributes `show` asks for that are known.
fn unix_msg(s: &UnixSock, show: u32, seq: u32, pid: u32) -> Vec<u8> {
    let mut m = vec![n::AF_UNIX as u8, s.ty as u8, unix_state(s), 0];
    m.extend_from_slice(&(s.inode as u32).to_ne_bytes());
    m.extend_from_slice(&(s.inode as u32).to_ne_bytes());
    m.extend_from_slice(&((s.inode >> 32) as u32).to_ne_bytes());
    let mut b = MsgBuilder::new(SOCK_DIAG_BY_FAMILY, nl::NLM_F_MULTI, seq, pid).put(&m);
    if show & UDIAG_SHOW_NAME != 0 {
        if let Some(p) = &s.path {
            // A path name as the kernel keeps it, with its terminating
            // NUL; an abstract one is its bytes alone.
            let mut name = p.clone();
            if name.first() != Some(&0) {
                name.push(0);
            }
            b = b.attr(UNIX_DIAG_NAME, &name);
        }
    }
    if show & UDIAG_SHOW_PEER != 0 {
        if let Some(peer) = s.peer {
            b = b.attr_u32(UNIX_DIAG_PEER, peer);
        }
    }
    if show & UDIAG_SHOW_RQLEN != 0 {
        let (r, w) = s.queues.unwrap_or((0, 0));
        let mut q = r.to_ne_bytes().to_vec();
        q.extend_from_slice(&w.to_ne_bytes());
        b = b.attr(UNIX_DIAG_RQLEN, &q);
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(flags: u16) -> NlMsgHdr {
        NlMsgHdr { len: 0, ty: SOCK_DIAG_BY_FAMILY, flags, seq: 5, pid: 0 }
    }

    #[test]
    fn requests_are_checked_as_linux_checks_them() {
        let dump = nl::NLM_F_REQUEST | nl::NLM_F_DUMP;
        let err = |r: Result<Answer, Errno>| r.err();
        assert_eq!(err(answer(&hdr(dump), &[], 1)), Some(Errno::EINVAL), "no family");
        assert_eq!(err(answer(&hdr(dump), &[200], 1)), Some(Errno::EINVAL), "family beyond AF_MAX");
        assert_eq!(err(answer(&hdr(dump), &[n::AF_INET as u8, 6], 1)), Some(Errno::EINVAL), "request cut short");
        let mut raw = vec![0u8; INET_REQ_LEN];
        raw[0] = n::AF_INET as u8;
        raw[1] = 255;
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
        assert_eq!((word(52), word(56), word(60), word(68)), (0, 3, 128, 77));
    }
}
