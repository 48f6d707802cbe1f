//! A NETLINK_ROUTE or NETLINK_SOCK_DIAG socket (netlink(7)) served
//! entirely by the runtime: the guest's requests are answered by
//! `rtnetlink.rs` from the host's interfaces, or by `sockdiag.rs` from its
//! socket tables, and the answers wait in the socket's receive queue as
//! datagrams, as the kernel's `sk_receive_queue` holds skbs.
//!
//! Datagrams are shaped as net/netlink/af_netlink.c shapes them: every
//! ACK, error and single answer is one datagram; a dump is packed into
//! datagrams of whole messages, each as large as the reader's largest
//! buffer so far (at least NLMSG_GOODSIZE, at most 32 KiB less the skb
//! overhead: `netlink_dump`, `max_recvmsg_len`), the first queued with
//! the request and each next one when a receive takes a datagram, and its
//! NLMSG_DONE comes alone last. A receive takes one
//! datagram whole: a short buffer gets its start and MSG_TRUNC, and the
//! rest is lost, as on Linux.
//!
//! A [`Notifier`] is readable while a datagram is queued or a dump has
//! more to give, so poll, select, epoll and a blocking receive sleep on it.
//!
//! Port ids: binding to 0 (or sending unbound) takes the process's Linux
//! pid if no other netlink socket of the process holds it, else a random
//! negative id, as `netlink_autobind` does. Ids are unique among the
//! process's open netlink sockets; the runtime sees no others.
//!
//! execve keeps the socket with its port id, groups, options, queued
//! answers and a dump under way (`FileOps::exec_state`).
//!
//! Divergences from Linux: a forked child's copy has its own queue; no
//! control messages are delivered (NETLINK_PKTINFO, SO_PASSCRED are
//! recorded only).
//!
//! Lock order: `state` is a leaf lock, taken after `OpenFile.status`; it
//! is not held while sleeping, nor while the fd table is scanned.

use super::file::{hold, try_hold, ExecIds, ExecKind, ExecObjects, FileOps, ForkHolds, KindState, OpenFile};
use super::poll::{self, Notifier, Ready};
use super::rtnetlink::{self, Answer};
use crate::abi::netlink::{self as nl, NlMsgHdr};
use crate::abi::{gen as g, Errno, Timespec};
use crate::error::{Error, Result};
use crate::host::{HostFd, HostStat};
use crate::task::{current, lock};
use crate::{errno, return_errno_with_message};
use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// `sysctl net.core.rmem_default`/`wmem_default` and the `*_max` values
/// that cap SO_RCVBUF/SO_SNDBUF (Linux doubles what is set).
const RMEM_DEFAULT: u32 = 212_992;
const RMEM_MAX: u32 = 212_992;
/// The most SO_RCVBUFFORCE/SO_SNDBUFFORCE set (before doubling). Linux
/// allows INT_MAX/2; the runtime copies a whole request into its memory, so
/// it stops at 16 MiB.
const MAX_FORCED_BUF: u32 = 16 << 20;
/// `SOCK_MIN_RCVBUF`/`SOCK_MIN_SNDBUF` on x86_64 (2 × the skb truesize of
/// a small buffer).
const SOCK_MIN_BUF: u32 = 4608;

pub struct NetlinkSocket {
    /// `NETLINK_ROUTE` or `NETLINK_SOCK_DIAG`, the protocols served.
    pub protocol: u32,
    /// SOCK_RAW or SOCK_DGRAM (the same on Linux).
    pub ty: u32,
    /// The bound port id; 0 while unbound.
    portid: AtomicU32,
    state: Mutex<State>,
    readable: Notifier,
}

/// The options a guest may set, recorded and read back.
#[derive(Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct Options {
    pub rcvbuf: u32,
    pub sndbuf: u32,
    pub pktinfo: bool,
    pub broadcast_error: bool,
    pub no_enobufs: bool,
    pub cap_ack: bool,
    pub ext_ack: bool,
    pub strict_chk: bool,
    pub passcred: bool,
    /// SO_RCVTIMEO: a blocking receive gives up after this (EAGAIN).
    pub rcvtimeo: Option<Timespec>,
    pub sndtimeo: Option<Timespec>,
}

struct State {
    /// Multicast groups joined (bind's nl_groups, NETLINK_ADD_MEMBERSHIP):
    /// recorded; no notifications come.
    groups: u64,
    /// connect's destination (port id, group).
    dst: (u32, u32),
    queue: VecDeque<Vec<u8>>,
    queued_bytes: usize,
    /// A dump still being read: its messages not yet queued, then DONE.
    dump: Option<Dump>,
    max_recvmsg_len: usize,
    /// An error the next receive reports (ENOBUFS after an overrun).
    pending: Option<Errno>,
    opts: Options,
}

struct Dump {
    msgs: VecDeque<Vec<u8>>,
    done: Vec<u8>,
}

/// What one receive took.
pub struct Received {
    /// The datagram's bytes that fit the reader's buffer.
    pub data: Vec<u8>,
    /// The datagram's whole length.
    pub len: usize,
}

impl NetlinkSocket {
    pub fn new(protocol: u32, ty: u32) -> Result<NetlinkSocket> {
        Ok(NetlinkSocket {
            protocol,
            ty,
            portid: AtomicU32::new(0),
            state: Mutex::new(State {
                groups: 0,
                dst: (0, 0),
                queue: VecDeque::new(),
                queued_bytes: 0,
                dump: None,
                max_recvmsg_len: 0,
                pending: None,
                opts: Options { rcvbuf: RMEM_DEFAULT, sndbuf: RMEM_DEFAULT, ..Options::default() },
            }),
            readable: Notifier::new()?,
        })
    }

    pub fn portid(&self) -> u32 {
        self.portid.load(Ordering::Relaxed)
    }

    pub fn groups(&self) -> u64 {
        lock(&self.state).groups
    }

    pub fn dst(&self) -> (u32, u32) {
        lock(&self.state).dst
    }

    pub fn options(&self) -> Options {
        lock(&self.state).opts
    }

    pub fn set_options(&self, f: impl FnOnce(&mut Options)) {
        f(&mut lock(&self.state).opts);
    }

    /// SO_RCVBUF/SO_SNDBUF as `sock_setsockopt` stores them: doubled,
    /// capped by the sysctl maximum unless forced, at least the minimum.
    pub fn buffer_size(v: i32, forced: bool) -> u32 {
        let v = u32::try_from(v.max(0)).unwrap_or(0);
        let v = if forced { v.min(MAX_FORCED_BUF) } else { v.min(RMEM_MAX) };
        v.saturating_mul(2).max(SOCK_MIN_BUF)
    }

    pub fn join_groups(&self, mask: u64, on: bool) {
        let mut st = lock(&self.state);
        if on {
            st.groups |= mask;
        } else {
            st.groups &= !mask;
        }
    }

    pub fn connect_to(&self, dst: (u32, u32)) {
        lock(&self.state).dst = dst;
    }

    /// The port ids the process's other netlink sockets hold.
    fn ports_in_use(&self) -> Vec<u32> {
        let fds = lock(&current().fds);
        fds.iter()
            .filter_map(|(_, e)| e.file.ops_as::<NetlinkSocket>().filter(|s| !std::ptr::eq(*s, self)).map(NetlinkSocket::portid))
            .filter(|&p| p != 0)
            .collect()
    }

    /// Binds to `pid` (0: the kernel picks, `netlink_autobind`). A bound
    /// socket may only be bound again to its own id (EINVAL).
    pub fn bind(&self, pid: u32, groups: u32) -> Result<()> {
        let cur = self.portid();
        if cur != 0 {
            if pid != cur {
                return_errno_with_message!(EINVAL, "the netlink socket is already bound to another port id");
            }
        } else {
            let used = self.ports_in_use();
            let id = if pid != 0 {
                if used.contains(&pid) {
                    return_errno_with_message!(EADDRINUSE, "another netlink socket holds this port id");
                }
                pid
            } else {
                autobind_id(current().pid(), &used)
            };
            self.portid.store(id, Ordering::Relaxed);
        }
        if groups != 0 {
            self.join_groups(u64::from(groups), true);
        }
        Ok(())
    }

    /// Binds as `netlink_autobind` would when still unbound (send, connect).
    pub fn autobind(&self) -> Result<()> {
        if self.portid() == 0 {
            let id = autobind_id(current().pid(), &self.ports_in_use());
            self.portid.store(id, Ordering::Relaxed);
        }
        Ok(())
    }

    /// An inode number for `socket:[N]`: the host's for the notifier pipe,
    /// unique while the socket lives.
    pub fn ino(&self) -> u64 {
        crate::host::fs::fstat(self.readable.wake().0).map_or(0, |s| s.ino)
    }

    /// Takes the guest's request bytes (`netlink_sendmsg` then
    /// `netlink_rcv_skb`): every whole message in turn; a message whose
    /// length is short or runs past the data ends the walk silently.
    pub fn send(&self, data: &[u8]) -> Result<usize> {
        let sndbuf = lock(&self.state).opts.sndbuf as usize;
        // netlink_sendmsg: EMSGSIZE past sk_sndbuf - 32.
        if data.len() > sndbuf.saturating_sub(32) {
            return_errno_with_message!(EMSGSIZE, "netlink message longer than the send buffer");
        }
        self.autobind()?;
        let pid = self.portid();
        let mut off = 0usize;
        while data.len() - off >= nl::NLMSG_HDRLEN {
            let rest = &data[off..];
            let Some(h) = NlMsgHdr::parse(rest) else { break };
            let len = h.len as usize;
            if len < nl::NLMSG_HDRLEN || len > rest.len() {
                break;
            }
            self.one_request(&rest[..len], &h, pid);
            off += nl::nlmsg_align(len).min(rest.len());
        }
        Ok(data.len())
    }

    fn one_request(&self, msg: &[u8], h: &NlMsgHdr, pid: u32) {
        let wants_ack = h.flags & nl::NLM_F_ACK != 0;
        // Only requests reach the kernel's handler; control messages
        // (types below NLMSG_MIN_TYPE) are only acknowledged.
        let result = if h.flags & nl::NLM_F_REQUEST == 0 || h.ty < nl::NLMSG_MIN_TYPE {
            Ok(Answer::Nothing)
        } else {
            let strict = lock(&self.state).opts.strict_chk;
            let body = &msg[nl::NLMSG_HDRLEN..];
            if self.protocol == nl::nl::NETLINK_SOCK_DIAG {
                super::sockdiag::answer(h, body, pid)
            } else {
                rtnetlink::answer(h, body, pid, strict)
            }
        };
        let mut st = lock(&self.state);
        let cap_ack = st.opts.cap_ack;
        match result {
            Ok(Answer::Dump(msgs)) => {
                if st.dump.is_some() {
                    // netlink_dump_start: one dump at a time.
                    self.enqueue(&mut st, rtnetlink::error_msg(msg, h, Some(Errno::EBUSY), pid, cap_ack));
                } else {
                    st.dump = Some(Dump { msgs: msgs.into(), done: rtnetlink::done_msg(h.seq, pid) });
                    // netlink_dump_start queues the first datagram at once.
                    Self::pack_next(&mut st);
                }
            }
            Ok(Answer::DumpError(e)) => {
                if st.dump.is_some() {
                    self.enqueue(&mut st, rtnetlink::error_msg(msg, h, Some(Errno::EBUSY), pid, cap_ack));
                } else {
                    self.enqueue(&mut st, rtnetlink::done_msg_with(h.seq, pid, -i32::from(e.0)));
                }
            }
            Ok(Answer::Reply(m)) => {
                self.enqueue(&mut st, m);
                if wants_ack {
                    self.enqueue(&mut st, rtnetlink::error_msg(msg, h, None, pid, cap_ack));
                }
            }
            Ok(Answer::Nothing) => {
                if wants_ack {
                    self.enqueue(&mut st, rtnetlink::error_msg(msg, h, None, pid, cap_ack));
                }
            }
            Err(e) => self.enqueue(&mut st, rtnetlink::error_msg(msg, h, Some(e), pid, cap_ack)),
        }
        self.readable.set(Self::has_data(&st));
    }

    /// Queues a datagram, or drops it and notes ENOBUFS when the receive
    /// buffer is full (`netlink_overrun`).
    fn enqueue(&self, st: &mut State, d: Vec<u8>) {
        if st.queued_bytes + d.len() > st.opts.rcvbuf as usize {
            if !st.opts.no_enobufs {
                st.pending = Some(Errno::ENOBUFS);
            }
            return;
        }
        st.queued_bytes += d.len();
        st.queue.push_back(d);
    }

    fn has_data(st: &State) -> bool {
        !st.queue.is_empty() || st.dump.is_some() || st.pending.is_some()
    }

    /// Queues the next datagram of a running dump, packed for the reader's
    /// largest buffer (`netlink_dump`).
    fn pack_next(st: &mut State) {
        let Some(dump) = st.dump.as_mut() else { return };
        let room = st.max_recvmsg_len.clamp(nl::NLMSG_GOODSIZE, nl::NLMSG_MAX_DUMP);
        let mut skb = Vec::new();
        while let Some(m) = dump.msgs.front() {
            if !skb.is_empty() && skb.len() + m.len() > room {
                break;
            }
            skb.extend_from_slice(m);
            dump.msgs.pop_front();
        }
        if skb.is_empty() {
            skb = std::mem::take(&mut dump.done);
            st.dump = None;
        }
        st.queued_bytes += skb.len();
        st.queue.push_back(skb);
    }

    /// Takes (or with `peek` copies) the next datagram, at most `room`
    /// bytes of it; None when there is none now.
    fn try_recv(&self, room: usize, peek: bool) -> Result<Option<Received>> {
        let mut st = lock(&self.state);
        if let Some(e) = st.pending.take() {
            self.readable.set(Self::has_data(&st));
            return Err(Error::with_message(e, "netlink receive queue overran"));
        }
        if st.queue.is_empty() {
            Self::pack_next(&mut st);
        }
        let Some(front) = st.queue.front() else { return Ok(None) };
        let len = front.len();
        let data = front[..room.min(len)].to_vec();
        st.max_recvmsg_len = st.max_recvmsg_len.max(room).min(nl::NLMSG_MAX_DUMP);
        if !peek {
            st.queue.pop_front();
            st.queued_bytes = st.queued_bytes.saturating_sub(len);
        }
        // netlink_recvmsg (a peek too) goes on with a running dump while
        // the queue is at most half the receive buffer: the next datagram
        // lines up behind whatever else is queued.
        if st.queued_bytes <= st.opts.rcvbuf as usize / 2 {
            Self::pack_next(&mut st);
        }
        self.readable.set(Self::has_data(&st));
        Ok(Some(Received { data, len }))
    }

    /// `netlink_recvmsg`: one datagram, waiting for it unless
    /// `nonblocking` (EAGAIN); a signal interrupts the wait (EINTR).
    pub fn recv(&self, f: &OpenFile, room: usize, peek: bool, nonblocking: bool) -> Result<Received> {
        let deadline = poll::deadline_after(lock(&self.state).opts.rcvtimeo);
        loop {
            if let Some(r) = self.try_recv(room, peek)? {
                return Ok(r);
            }
            if nonblocking || f.is_nonblocking() {
                return Err(errno!(EAGAIN));
            }
            let mut w = [poll::Watch::new(Some(f), g::POLLIN)];
            if poll::wait(&mut w, deadline)? == 0 && deadline.is_some() {
                return Err(errno!(EAGAIN, "SO_RCVTIMEO passed"));
            }
        }
    }
}

/// The id `netlink_autobind` picks: the pid, else a negative id below
/// -4096 no other socket holds (as an unsigned number).
fn autobind_id(pid: u32, used: &[u32]) -> u32 {
    if pid != 0 && !used.contains(&pid) {
        return pid;
    }
    // Linux starts at a random id in [S32_MIN, -4097]; any free one will do.
    let seed = crate::host::time::clock_gettime(g::CLOCK_MONOTONIC).map_or(0, |t| t.nsec);
    let mut rover: i32 = -4097 - (seed & 0xffff) as i32;
    while used.contains(&(rover as u32)) {
        rover = rover.wrapping_sub(1);
        if rover >= -4096 {
            rover = -4097;
        }
    }
    rover as u32
}

impl FileOps for NetlinkSocket {
    fn stat(&self, f: &OpenFile) -> Result<HostStat> {
        let mut st = super::file::anon_stat(&f.guest_path);
        st.mode = g::S_IFSOCK | 0o777;
        st.dev = super::makedev(0, 8);
        Ok(st)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn read(&self, f: &OpenFile, buf: &mut [u8]) -> Result<usize> {
        let r = self.recv(f, buf.len(), false, false)?;
        buf[..r.data.len()].copy_from_slice(&r.data);
        Ok(r.data.len())
    }

    fn read_bound(&self) -> usize {
        nl::NLMSG_MAX_DUMP.max(crate::uaccess::BOUNCE_SIZE)
    }

    fn write(&self, _f: &OpenFile, buf: &[u8]) -> Result<usize> {
        self.send(buf)
    }

    fn poll(&self, _f: &OpenFile, _events: u32, wake: &mut Vec<(HostFd, u32)>) -> Ready {
        let st = lock(&self.state);
        let mut ev = g::POLLOUT | g::POLLWRNORM;
        if Self::has_data(&st) {
            ev |= g::POLLIN | g::POLLRDNORM;
        } else {
            wake.push(self.readable.wake());
        }
        if st.pending.is_some() {
            ev |= g::POLLERR;
        }
        Ready::Now(ev)
    }

    fn pollable(&self) -> bool {
        true
    }

    fn hold_for_fork<'a>(&'a self, held: &mut ForkHolds<'a>) -> bool {
        hold(&self.state, held)
    }

    fn after_fork(&self) {
        // Free: the fork held it (`hold_for_fork`); not waited for, for a
        // fork that gave up holding it (the copy then keeps the parent's
        // notifier).
        let Some(_st) = try_hold(&self.state) else { return };
        self.readable.renew();
    }

    fn exec_state(&self, _f: &OpenFile, _ids: &ExecIds<'_>) -> Option<KindState> {
        let st = lock(&self.state);
        let state = ExecState {
            protocol: self.protocol,
            ty: self.ty,
            portid: self.portid(),
            groups: st.groups,
            dst: st.dst,
            queue: st.queue.iter().cloned().collect(),
            dump: st.dump.as_ref().map(|d| (d.msgs.iter().cloned().collect(), d.done.clone())),
            max_recvmsg_len: st.max_recvmsg_len as u64,
            pending: st.pending.map(|e| e.0),
            opts: st.opts,
        };
        KindState::new(EXEC_KIND.name, &state, Vec::new())
    }
}

/// What a netlink socket carries across execve: all of its state.
#[derive(serde::Serialize, serde::Deserialize)]
struct ExecState {
    protocol: u32,
    ty: u32,
    portid: u32,
    groups: u64,
    dst: (u32, u32),
    queue: Vec<Vec<u8>>,
    dump: Option<(Vec<Vec<u8>>, Vec<u8>)>,
    max_recvmsg_len: u64,
    pending: Option<u16>,
    opts: Options,
}

pub const EXEC_KIND: ExecKind = ExecKind { name: "netlink", restore };

fn restore(k: &KindState, _objects: &ExecObjects) -> Result<Box<dyn FileOps>> {
    let x: ExecState = k.decode().ok_or_else(|| errno!(EINVAL, "a netlink socket's state does not decode"))?;
    let s = NetlinkSocket::new(x.protocol, x.ty)?;
    s.portid.store(x.portid, Ordering::Relaxed);
    {
        let mut st = lock(&s.state);
        st.groups = x.groups;
        st.dst = x.dst;
        st.queued_bytes = x.queue.iter().map(Vec::len).sum();
        st.queue = x.queue.into();
        st.dump = x.dump.map(|(msgs, done)| Dump { msgs: msgs.into(), done });
        st.max_recvmsg_len = usize::try_from(x.max_recvmsg_len).unwrap_or(0);
        st.pending = x.pending.map(Errno);
        st.opts = x.opts;
        s.readable.set(NetlinkSocket::has_data(&st));
    }
    Ok(Box::new(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autobind_takes_the_pid_then_negative_ids() {
        assert_eq!(autobind_id(42, &[]), 42);
        let id = autobind_id(42, &[42]) as i32;
        assert!(id < -4096);
        let next = autobind_id(42, &[42, id as u32]) as i32;
        assert!(next < -4096 && next != id);
    }

    fn state_with_dump(msgs: usize, len: usize) -> State {
        State {
            groups: 0,
            dst: (0, 0),
            queue: VecDeque::new(),
            queued_bytes: 0,
            dump: Some(Dump { msgs: (0..msgs).map(|_| vec![0u8; len]).collect(), done: vec![3u8; 20] }),
            max_recvmsg_len: 0,
            pending: None,
            opts: Options::default(),
        }
    }

    #[test]
    fn dumps_pack_whole_messages_by_the_readers_buffer() {
        let mut st = state_with_dump(20, 1000);
        NetlinkSocket::pack_next(&mut st);
        // A fresh socket: NLMSG_GOODSIZE (3776) holds three.
        assert_eq!(st.queue.pop_front().map(|d| d.len()), Some(3000));
        st.max_recvmsg_len = 8192;
        NetlinkSocket::pack_next(&mut st);
        assert_eq!(st.queue.pop_front().map(|d| d.len()), Some(8000));
        let mut sizes = Vec::new();
        while st.dump.is_some() {
            NetlinkSocket::pack_next(&mut st);
            sizes.push(st.queue.pop_front().map_or(0, |d| d.len()));
        }
        // Nine left: eight, one, then NLMSG_DONE alone.
        assert_eq!(sizes, vec![8000, 1000, 20]);
        // A message larger than any datagram goes alone, whole.
        let mut big = state_with_dump(2, 40_000);
        NetlinkSocket::pack_next(&mut big);
        assert_eq!(big.queue.front().map(|d| d.len()), Some(40_000));
    }

    #[test]
    fn buffer_sizes_double_and_clamp() {
        assert_eq!(NetlinkSocket::buffer_size(32768, false), 65536);
        assert_eq!(NetlinkSocket::buffer_size(1 << 30, false), 2 * RMEM_MAX);
        assert_eq!(NetlinkSocket::buffer_size(1 << 24, true), 1 << 25);
        assert_eq!(NetlinkSocket::buffer_size(-5, false), SOCK_MIN_BUF);
    }
}
