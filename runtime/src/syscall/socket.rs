//! Sockets: socket(2), socketpair(2), bind(2), listen(2), accept(2),
//! accept4(2), connect(2), shutdown(2), getsockname(2), getpeername(2),
//! sendto(2)/recvfrom(2), sendmsg(2)/recvmsg(2), sendmmsg(2)/recvmmsg(2);
//! the options are in `sockopt.rs`. See
//! <https://man7.org/linux/man-pages/man7/socket.7.html>, unix(7), ip(7).
//!
//! Every guest socket is a host socket of the same family and type. Linux
//! values (families, `MSG_*`, `sockaddr` layouts) cross through the host's
//! tables (`host::net`); the data goes through a runtime buffer copied with
//! the fault-safe `uaccess` routines, so a bad guest pointer is EFAULT.
//!
//! Unix-domain names are guest paths: bind and connect resolve them through
//! the guest's root like open does, and act on the last component inside
//! the directory the walk holds (`HostLoc`: a Linux host names it through
//! `/proc/self/fd/N/name`, macOS through `bindat`/`connectat`), so a bind
//! lands in the guest's tree and never outside it. getsockname, getpeername
//! and accept give back the guest's own name for the socket.
//!
//! Abstract names (`sun_path[0] == 0`) exist only on Linux. They are
//! emulated the same way on both hosts, isolated from the host's own
//! abstract namespace: a socket file named by a hash of the name in the
//! per-user directory `<daemon state dir>/abstract/`, with a lock file
//! beside it whose `flock` says whether the name is bound (it goes away
//! with the last holder, as the abstract name does, even after a crash).
//! The guest sees the abstract name.
//!
//! SIGPIPE: host sockets never raise it; a send that fails with EPIPE
//! queues SIGPIPE for the calling thread unless MSG_NOSIGNAL was given.
//!
//! Divergences from Linux:
//! - AF_NETLINK is served by the runtime itself (`netlink.rs`, NETLINK_ROUTE
//!   only); other families than AF_UNIX/AF_INET/AF_INET6/AF_NETLINK fail
//!   with EAFNOSUPPORT (reported once).
//! - The address of a *bound* Unix peer that accept, recvfrom or
//!   getpeername of an accepted socket report is the host's name for it
//!   with the guest root stripped. A Linux host binds through
//!   `/proc/PID/fd/N/name`, N a copy of the held directory the socket
//!   keeps, and a peer reads the directory's path back from it: the name
//!   is the absolute path of the socket, where Linux gives the path as
//!   the binder spelt it (relative, if it was); once the binding process
//!   has ended, the `/proc` name itself.
//! - Autobind takes the lowest free name, where Linux starts from a
//!   random one.
//! - The last component of a Unix path must fit the host's `sun_path`
//!   together with the held directory's name for it (Linux hosts:
//!   `/proc/self/fd/N/`, about 90 bytes left; macOS: 103 bytes), else
//!   ENAMETOOLONG.
//! - getpeername of a connected Unix socket gives the path it connected
//!   to; Linux gives the name the server bound, which differs only when
//!   the two spelt the path differently.
//! - SCM_CREDENTIALS is checked on send (it must be the sender's own) but
//!   not forwarded; with SO_PASSCRED the receiver gets the connected peer's
//!   credentials (SO_PEERCRED), with the peer's Linux pid. A task peer's
//!   uid and gid are its guest credentials as they are now (what it last
//!   told the daemon), not as they were at connect() or socketpair().
//! - SCM_RIGHTS passes a file the runtime serves (/dev/null, an eventfd,
//!   a /proc file...) as a carrier (vfs/in_flight.rs): received in the
//!   same host process, it is the same open file; in another process, a
//!   file with a path is opened again by it (its own offset and flags),
//!   and one without (eventfd, timerfd, signalfd, epoll, inotify, pidfd)
//!   is dropped with MSG_CTRUNC.
//! - Of the control messages an inet socket receives, SCM_TIMESTAMP(NS),
//!   IP_TTL, IP_TOS, IP_PKTINFO, IPV6_HOPLIMIT, IPV6_TCLASS and
//!   IPV6_PKTINFO reach the guest (`host::net::cmsg_from_host`); others the
//!   host gives are dropped. Sent IP and IPv6 messages are checked by the
//!   host (on macOS only IP_PKTINFO and the IPv6 ones have a form: others
//!   are EINVAL).

use super::{args, Ctx};
use crate::abi::net::{self as an, n, MmsgHdr, MsgHdr, SockAddr, UnixAddr};
use crate::abi::{Errno, Iovec};
use crate::error::{Error, Result};
use crate::host::{self, HostFd};
use crate::task::{current, lock};
use crate::uaccess;
use crate::vfs::file::OpenFile;
use crate::vfs::host_file::HostFile;
use crate::vfs::socket::SocketFile;
use crate::{errno, return_errno, return_errno_with_message};
use std::io::{IoSlice, IoSliceMut};
use std::sync::Arc;

fn herr(e: Errno) -> Error {
    Error::new(e)
}

/// The most one host send or receive moves through the runtime buffer; a
/// stream call goes on in pieces of this size.
const CHUNK: usize = 1 << 20;
/// The largest datagram the runtime buffers (larger ones are EMSGSIZE on
/// both hosts anyway).
const MAX_DATAGRAM: usize = 4 << 20;

/// A guest fd's socket: the open file, and what the runtime knows of it.
/// Sockets the runtime did not create (inherited, or handed over by
/// execve) are described from the host each time.
struct Sock {
    file: Arc<OpenFile>,
    described: Option<SocketFile>,
}

impl Sock {
    fn get(&self) -> &SocketFile {
        match (self.file.ops_as::<SocketFile>(), &self.described) {
            (Some(s), _) => s,
            (None, Some(s)) => s,
            // `sock_of` fills one of the two.
            (None, None) => unreachable!("a Sock always has a socket"),
        }
    }

    fn fd(&self) -> HostFd {
        self.get().host_fd
    }

    fn is_nonblocking(&self) -> bool {
        self.file.status() & linux_raw_sys::general::O_NONBLOCK != 0
    }
}

/// What a socket call acts on: a host socket, or a netlink socket the
/// runtime serves (`netlink.rs`).
enum Target {
    Host(Sock),
    Netlink(Arc<OpenFile>),
}

fn target(fd: i32) -> Result<Target> {
    let file = lock(&current().fds).get(fd)?;
    if super::netlink::of(&file).is_some() {
        return Ok(Target::Netlink(file));
    }
    sock_of_file(file).map(Target::Host)
}

/// The host socket of `$fd`, or the netlink handler `$nl`'s answer.
macro_rules! host_sock {
    ($fd:expr, $nl:expr) => {
        match target($fd)? {
            Target::Netlink(f) => return $nl(&f),
            Target::Host(s) => s,
        }
    };
}

fn sock_of_file(file: Arc<OpenFile>) -> Result<Sock> {
    if file.ops_as::<SocketFile>().is_some() {
        return Ok(Sock { file, described: None });
    }
    let Some(hfd) = file.host_fd() else { return_errno!(ENOTSOCK) };
    let st = host::fs::fstat(hfd).map_err(herr)?;
    if st.mode & linux_raw_sys::general::S_IFMT != linux_raw_sys::general::S_IFSOCK {
        return_errno!(ENOTSOCK);
    }
    let ty = host::net::socket_type(hfd).map_err(herr)?;
    let domain = host::net::socket_domain(hfd).map_err(herr)?;
    Ok(Sock { file, described: Some(SocketFile::describe(hfd, domain, ty, 0)) })
}

/// Installs a new socket open file for `host_fd`.
fn install(sock: SocketFile, status: u32, cloexec: bool) -> Result<i32> {
    let ino = host::fs::fstat(sock.host_fd).map(|s| s.ino).unwrap_or(0);
    let f = OpenFile::new(format!("socket:[{ino}]"), sock, status);
    lock(&current().fds).install(Arc::new(f), cloexec)
}

const TYPE_FLAGS: u32 = an::SOCK_NONBLOCK | an::SOCK_CLOEXEC;
/// `SOCK_MAX`: types at or beyond it are EINVAL (net/socket.c).
const SOCK_MAX: u32 = 11;

/// Splits a socket type argument into the type and its flags, as
/// `__sys_socket` does.
fn split_type(a: u64) -> Result<(u32, u32)> {
    let raw = args::uint(a);
    let flags = raw & !an::SOCK_TYPE_MASK;
    if flags & !TYPE_FLAGS != 0 {
        return_errno_with_message!(EINVAL, "unknown socket type flags");
    }
    let ty = raw & an::SOCK_TYPE_MASK;
    if ty == 0 || ty >= SOCK_MAX {
        return_errno_with_message!(EINVAL, "no such socket type");
    }
    Ok((ty, flags))
}

/// Checks family, type and protocol as Linux's `*_create` functions do.
fn check_family(domain: u32, ty: u32, protocol: u32) -> Result<u32> {
    match domain {
        n::AF_UNIX => {
            if protocol != 0 && protocol != n::AF_UNIX {
                return_errno_with_message!(EPROTONOSUPPORT, "unix sockets take protocol 0");
            }
            match ty {
                n::SOCK_STREAM | n::SOCK_DGRAM | n::SOCK_SEQPACKET => Ok(ty),
                // unix_create: SOCK_RAW is quietly a datagram socket.
                n::SOCK_RAW => Ok(n::SOCK_DGRAM),
                _ => Err(errno!(ESOCKTNOSUPPORT, "unix sockets are stream, datagram or seqpacket")),
            }
        }
        n::AF_INET | n::AF_INET6 => {
            let ok = match ty {
                n::SOCK_STREAM => matches!(protocol, 0 | an::IPPROTO_TCP),
                // UDP-Lite goes to the host, which has it (Linux) or
                // answers EPROTONOSUPPORT, as a Linux built without it.
                n::SOCK_DGRAM => matches!(protocol, 0 | an::IPPROTO_UDP | an::IPPROTO_ICMP | an::IPPROTO_UDPLITE) || protocol == 58,
                n::SOCK_RAW => true,
                _ => return_errno_with_message!(ESOCKTNOSUPPORT, "no such inet socket type"),
            };
            if !ok {
                return_errno_with_message!(EPROTONOSUPPORT, "protocol does not fit the socket type");
            }
            Ok(ty)
        }
        n::AF_NETLINK => super::netlink::check_create(ty, protocol),
        _ => Err(super::refuse("socket", Errno::EAFNOSUPPORT, "address family not supported", Some(u64::from(domain)))),
    }
}

pub fn socket(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let domain = args::uint(a[0]);
    let (ty, flags) = split_type(a[1])?;
    let protocol = args::uint(a[2]);
    let ty = check_family(domain, ty, protocol)?;
    if domain == n::AF_NETLINK {
        return super::netlink::socket(ty, protocol, flags);
    }
    let is_nonblocking = flags & an::SOCK_NONBLOCK != 0;
    let hfd = host::net::socket(domain, ty, protocol, is_nonblocking).map_err(herr)?;
    let status = linux_raw_sys::general::O_RDWR | (flags & an::SOCK_NONBLOCK);
    let fd = install(SocketFile::new(hfd, domain, ty, protocol), status, flags & an::SOCK_CLOEXEC != 0)?;
    Ok(fd as u64)
}

pub fn socketpair(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let domain = args::uint(a[0]);
    let (ty, flags) = split_type(a[1])?;
    let protocol = args::uint(a[2]);
    let ty = check_family(domain, ty, protocol)?;
    if domain != n::AF_UNIX {
        return_errno_with_message!(EOPNOTSUPP, "only unix sockets come in pairs");
    }
    uaccess::check_writable(a[3], 8)?;
    let is_nonblocking = flags & an::SOCK_NONBLOCK != 0;
    let (h0, h1) = host::net::socketpair(domain, ty, protocol, is_nonblocking).map_err(herr)?;
    let status = linux_raw_sys::general::O_RDWR | (flags & an::SOCK_NONBLOCK);
    let cloexec = flags & an::SOCK_CLOEXEC != 0;
    let fd0 = match install(SocketFile::new(h0, domain, ty, protocol), status, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            host::fs::close(h1);
            return Err(e);
        }
    };
    let fd1 = match install(SocketFile::new(h1, domain, ty, protocol), status, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = lock(&current().fds).remove(fd0);
            return Err(e);
        }
    };
    if let Err(e) = uaccess::write(a[3], &[fd0, fd1]) {
        let mut fds = lock(&current().fds);
        let _ = fds.remove(fd0);
        let _ = fds.remove(fd1);
        return Err(e);
    }
    Ok(0)
}

/// Reads a guest address of `len` bytes (`move_addr_to_kernel`).
fn read_addr(addr: u64, len: u64) -> Result<SockAddr> {
    let len = args::int(len);
    let Ok(len) = usize::try_from(len) else { return_errno_with_message!(EINVAL, "negative address length") };
    if len > an::SOCKADDR_STORAGE_LEN {
        return_errno_with_message!(EINVAL, "address longer than sockaddr_storage");
    }
    let bytes = uaccess::read_bytes(addr, len)?;
    SockAddr::from_linux(&bytes).map_err(|e| Error::with_message(e, "bad socket address"))
}

/// Writes an address for the guest (`move_addr_to_user`): at most
/// `*len_ptr` bytes, and the full length into `*len_ptr`.
fn write_addr(addr: u64, len_ptr: u64, a: &SockAddr) -> Result<()> {
    if addr == 0 || len_ptr == 0 {
        return Ok(());
    }
    let room: i32 = uaccess::read(len_ptr)?;
    let Ok(room) = usize::try_from(room) else { return_errno_with_message!(EINVAL, "negative address length") };
    let bytes = a.to_linux();
    let n = room.min(bytes.len());
    uaccess::write_bytes(addr, &bytes[..n])?;
    uaccess::write(len_ptr, &(bytes.len() as u32))?;
    Ok(())
}

/// How the guest sees a Unix name the host holds (a /proc/net/unix row):
/// the bytes Linux would keep in `sun_path`, an abstract name with its
/// leading NUL.
pub(crate) fn guest_unix_path(host: Vec<u8>) -> Vec<u8> {
    if host.first() == Some(&0) {
        return host;
    }
    match guest_view(SockAddr::Unix(UnixAddr::Path(host))) {
        SockAddr::Unix(UnixAddr::Path(p)) => p,
        SockAddr::Unix(UnixAddr::Abstract(name)) => [&[0u8][..], &name].concat(),
        _ => Vec::new(),
    }
}

/// The guest's view of an address the host reported: a Unix path loses
/// the guest root's prefix, an emulated abstract name becomes abstract.
fn guest_view(a: SockAddr) -> SockAddr {
    match a {
        SockAddr::Unix(UnixAddr::Path(p)) => {
            if let Some(name) = abstract_ns::name_of_host_path(&p) {
                return SockAddr::Unix(UnixAddr::Abstract(name));
            }
            // A runtime's bind through a held directory (a Linux host's).
            let p = host::net::held_unix_name(&p).unwrap_or(p);
            let s = String::from_utf8_lossy(&p).into_owned();
            SockAddr::Unix(UnixAddr::Path(host::fs::guest_name_of_host_path(s).into_bytes()))
        }
        // A native abstract peer on a Linux host.
        other => other,
    }
}

/// Checks that an address fits the socket's family (Linux: EINVAL for
/// Unix sockets, EAFNOSUPPORT for inet ones).
fn check_addr_family(s: &SocketFile, a: &SockAddr, allow_unspec: bool) -> Result<()> {
    if a.family() == s.domain || (allow_unspec && matches!(a, SockAddr::Unspec)) {
        return Ok(());
    }
    // An IPv6 socket may name IPv4 destinations only as mapped addresses;
    // the host gives the exact error.
    if s.domain == n::AF_UNIX {
        return_errno_with_message!(EINVAL, "address family does not match the unix socket");
    }
    return_errno_with_message!(EAFNOSUPPORT, "address family does not match the socket")
}

/// Reaching a named unix socket needs write permission on it
/// (unix_find_socket_byname in net/unix/af_unix.c).
fn may_write_socket(r: &crate::vfs::Resolved) -> Result<()> {
    crate::vfs::perm::may_access(&crate::task::current().cred(), r, crate::vfs::perm::MAY_WRITE, true)
}

pub fn bind(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let s = host_sock!(args::fd(a[0]), |f: &OpenFile| super::netlink::bind(f, a));
    let addr = read_addr(a[1], a[2])?;
    let so = s.get();
    check_addr_family(so, &addr, so.domain == n::AF_INET)?;
    match &addr {
        SockAddr::Unix(UnixAddr::Path(p)) => {
            let r = crate::vfs::resolve_at(linux_raw_sys::general::AT_FDCWD, p, false)?;
            if r.kind != crate::vfs::Lookup::Missing {
                return_errno_with_message!(EADDRINUSE, "the socket path exists");
            }
            let loc = crate::vfs::host_only(&r, "cannot bind a socket in a synthetic directory")?;
            // unix_bind makes a node: may_create's rule.
            crate::vfs::perm::may_create(&crate::task::current().cred(), loc)?;
            let (dir, name) = loc.at();
            if let Some(held) = host::net::bind_unix_at(s.fd(), dir, name).map_err(herr)? {
                so.keep_name_lock(held);
            }
            so.set_local_name(addr.clone());
        }
        SockAddr::Unix(UnixAddr::Abstract(name)) => {
            // unix_bind_abstract: a named socket is EINVAL before the name is looked up.
            if so.local_name().is_some() {
                return_errno_with_message!(EINVAL, "the socket already has a name");
            }
            let lfd = abstract_ns::bind(s.fd(), name)?;
            so.keep_name_lock(lfd);
            so.set_local_name(addr.clone());
        }
        // unix_autobind: an abstract name of five hex digits; a socket that
        // has a name keeps it.
        SockAddr::Unix(UnixAddr::Unnamed) => {
            if so.local_name().is_none() {
                autobind(&s)?;
            }
        }
        _ => host::net::bind(s.fd(), &addr).map_err(herr)?,
    }
    Ok(0)
}

/// Gives an unnamed Unix socket an abstract name of its own (unix_autobind).
fn autobind(s: &Sock) -> Result<()> {
    let so = s.get();
    let (name, lfd) = abstract_ns::autobind(s.fd())?;
    so.keep_name_lock(lfd);
    so.set_local_name(SockAddr::Unix(UnixAddr::Abstract(name)));
    Ok(())
}

/// A Unix socket that passes credentials is named before it connects or
/// sends a datagram, so its peer can tell who it is (unix_stream_connect,
/// unix_dgram_connect, unix_dgram_sendmsg: `unix_may_passcred`).
fn autobind_if_passcred(s: &Sock) -> Result<()> {
    let so = s.get();
    if so.domain == n::AF_UNIX && so.passcred.load(std::sync::atomic::Ordering::Relaxed) && so.local_name().is_none() {
        autobind(s)?;
    }
    Ok(())
}

pub fn listen(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let s = host_sock!(args::fd(a[0]), |_: &OpenFile| Err(errno!(EOPNOTSUPP, "netlink sockets do not listen")));
    // Linux clamps the backlog to somaxconn; a negative one means the maximum.
    let backlog = args::int(a[1]).clamp(0, 4096);
    let backlog = if args::int(a[1]) < 0 { 4096 } else { backlog };
    host::net::listen(s.fd(), backlog).map_err(herr)?;
    Ok(0)
}

/// Waits for an interrupted connect that the host still carries out, and
/// reports its result (the restarted call of an interrupted blocking connect).
fn finish_connect(s: &Sock) -> Result<u64> {
    let mut p = [(s.fd(), linux_raw_sys::general::POLLOUT, 0u32)];
    host::fs::poll(&mut p, -1).map_err(herr)?;
    s.get().connecting.store(false, std::sync::atomic::Ordering::Relaxed);
    match host::net::take_error(s.fd()).map_err(herr)? {
        None => Ok(0),
        Some(e) => Err(Error::with_message(e, "connect failed")),
    }
}

pub fn connect(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let s = host_sock!(args::fd(a[0]), |f: &OpenFile| super::netlink::connect(f, a));
    let r = connect_on(cx, &s, a);
    timed(cx, &s, true, r)
}

fn connect_on(_cx: &Ctx<'_>, s: &Sock, a: [u64; 6]) -> Result<u64> {
    let addr = read_addr(a[1], a[2])?;
    let so = s.get();
    check_addr_family(so, &addr, true)?;
    if so.connecting.load(std::sync::atomic::Ordering::Relaxed) && !s.is_nonblocking() {
        return finish_connect(s);
    }
    if matches!(addr, SockAddr::Unix(UnixAddr::Path(_) | UnixAddr::Abstract(_))) {
        autobind_if_passcred(s)?;
    }
    let r = match &addr {
        SockAddr::Unix(UnixAddr::Path(p)) => {
            let r = crate::vfs::resolve_existing(linux_raw_sys::general::AT_FDCWD, p, true)?;
            let loc = crate::vfs::host_only(&r, "no socket in a synthetic directory")?;
            may_write_socket(&r)?;
            let (dir, name) = loc.at();
            host::net::connect_unix_at(s.fd(), dir, name)
        }
        SockAddr::Unix(UnixAddr::Abstract(name)) => abstract_ns::connect(s.fd(), name),
        SockAddr::Unix(UnixAddr::Unnamed) => return_errno_with_message!(EINVAL, "no name to connect to"),
        _ => host::net::connect(s.fd(), &addr),
    };
    match r {
        Ok(()) => {}
        Err(Errno::EINTR) => {
            // The host goes on connecting; the restarted call waits for it.
            so.connecting.store(true, std::sync::atomic::Ordering::Relaxed);
            return Err(herr(Errno::EINTR));
        }
        Err(e) => return Err(herr(e)),
    }
    so.set_peer_name(match addr {
        SockAddr::Unix(_) => Some(addr),
        _ => None,
    });
    Ok(0)
}

fn do_accept(s: &Sock, addr: u64, len_ptr: u64, flags: u32) -> Result<u64> {
    if addr != 0 && len_ptr != 0 {
        uaccess::check_writable(len_ptr, 4)?;
    }
    s.file.touch_read();
    let so = s.get();
    let is_nonblocking = flags & an::SOCK_NONBLOCK != 0;
    let (hfd, peer) = host::net::accept(s.fd(), is_nonblocking).map_err(herr)?;
    let new = SocketFile::new(hfd, so.domain, so.ty, so.protocol);
    // The accepted socket's own name is the listener's (getsockname).
    if let Some(local) = so.local_name() {
        new.set_local_name(local);
    }
    // SO_PASSCRED passes to the accepted socket (unix_sock_inherit_flags).
    new.passcred.store(so.passcred.load(std::sync::atomic::Ordering::Relaxed), std::sync::atomic::Ordering::Relaxed);
    let status = linux_raw_sys::general::O_RDWR | (flags & an::SOCK_NONBLOCK);
    let nfd = install(new, status, flags & an::SOCK_CLOEXEC != 0)?;
    if let Err(e) = write_addr(addr, len_ptr, &guest_view(peer)) {
        let _ = lock(&current().fds).remove(nfd);
        return Err(e);
    }
    Ok(nfd as u64)
}

pub fn accept(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let s = host_sock!(args::fd(a[0]), |_: &OpenFile| Err(errno!(EOPNOTSUPP, "netlink sockets do not accept")));
    let r = do_accept(&s, a[1], a[2], 0);
    timed(cx, &s, false, r)
}

pub fn accept4(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let flags = args::flags(a[3], TYPE_FLAGS, "accept4 takes SOCK_NONBLOCK and SOCK_CLOEXEC")?;
    let s = host_sock!(args::fd(a[0]), |_: &OpenFile| Err(errno!(EOPNOTSUPP, "netlink sockets do not accept")));
    let r = do_accept(&s, a[1], a[2], flags);
    timed(cx, &s, false, r)
}

/// An interrupted call on a socket whose timeout (SO_RCVTIMEO for
/// receives and accept, SO_SNDTIMEO for sends and connect) is set fails
/// with EINTR even under SA_RESTART (`sock_intr_errno`, net/core/sock.c).
fn timed(cx: &Ctx<'_>, s: &Sock, is_send: bool, r: Result<u64>) -> Result<u64> {
    if let Err(e) = &r {
        if e.errno == Errno::EINTR && s.get().timeout_set(is_send) {
            cx.thread().eintr_is_final.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    r
}

pub fn shutdown(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let s = host_sock!(args::fd(a[0]), |_: &OpenFile| Err(errno!(EOPNOTSUPP, "netlink sockets do not shut down")));
    let how = args::uint(a[1]);
    if how > n::SHUT_RDWR {
        return_errno_with_message!(EINVAL, "how must be SHUT_RD, SHUT_WR or SHUT_RDWR");
    }
    host::net::shutdown(s.fd(), how).map_err(herr)?;
    Ok(0)
}

pub fn getsockname(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let s = host_sock!(args::fd(a[0]), |f: &OpenFile| super::netlink::getsockname(f, a));
    let name = match s.get().local_name() {
        Some(n) => n,
        None => guest_view(host::net::local_addr(s.fd()).map_err(herr)?),
    };
    uaccess::check_writable(a[2], 4)?;
    write_addr(a[1], a[2], &name)?;
    Ok(0)
}

pub fn getpeername(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let s = host_sock!(args::fd(a[0]), |f: &OpenFile| super::netlink::getpeername(f, a));
    // The host says whether there is a peer at all (ENOTCONN).
    let host_peer = host::net::peer_addr(s.fd()).map_err(herr)?;
    let name = s.get().peer_name().unwrap_or_else(|| guest_view(host_peer));
    uaccess::check_writable(a[2], 4)?;
    write_addr(a[1], a[2], &name)?;
    Ok(0)
}

// ---------------------------------------------------------------------------
// Data.

/// Queues SIGPIPE for the calling thread after a send failed with EPIPE,
/// as Linux's `sk_stream_error` does unless MSG_NOSIGNAL.
fn raise_sigpipe(cx: &Ctx<'_>) {
    let p = current();
    let info = crate::signal::SigInfo::kill(crate::abi::signal::Signal::SIGPIPE, linux_raw_sys::general::SI_USER as i32, p.pid() as i32, p.cred().uid);
    let t = cx.thread_arc();
    crate::signal::send_thread(&t, &t, info);
}

/// What a guest message says to send besides the data.
#[derive(Default)]
struct SendControl {
    /// Host fds to pass (borrowed from the guest's open files, which
    /// `_files` keeps open during the call).
    rights: Vec<HostFd>,
    _files: Vec<Arc<OpenFile>>,
    /// The carriers among `rights`, this call's own.
    carriers: Vec<HostFd>,
    /// Protocol-level messages of an inet socket (IP_PKTINFO, IPV6_HOPLIMIT
    /// ...), for the host to check and apply.
    others: Vec<host::net::Cmsg>,
}

impl Drop for SendControl {
    fn drop(&mut self) {
        // Sent or not, the sender's copy goes: the host holds one in flight.
        for &c in &self.carriers {
            host::fs::close(c);
        }
    }
}

/// Reads the guest's control messages (`__scm_send`; ip_cmsg_send and
/// ip6_datagram_send_ctl for an inet socket's own levels, which a Unix
/// socket skips).
fn read_control(addr: u64, len: u64, domain: u32) -> Result<SendControl> {
    let mut out = SendControl::default();
    if len == 0 {
        return Ok(out);
    }
    let len = usize::try_from(len).map_err(|_| errno!(ENOBUFS, "control data too long"))?;
    // Linux refuses more than sysctl_optmem_max (20 KiB by default).
    if len > 20 * 1024 {
        return_errno_with_message!(ENOBUFS, "control data longer than optmem_max");
    }
    let buf = uaccess::read_bytes(addr, len)?;
    let mut off = 0;
    while off + an::CMSG_HDR_LEN <= buf.len() {
        let h = &buf[off..off + an::CMSG_HDR_LEN];
        let cmsg_len = u64::from_ne_bytes(h[0..8].try_into().unwrap_or_default());
        let level = u32::from_ne_bytes(h[8..12].try_into().unwrap_or_default());
        let ty = u32::from_ne_bytes(h[12..16].try_into().unwrap_or_default());
        let Ok(cmsg_len) = usize::try_from(cmsg_len) else { return_errno!(EINVAL) };
        if cmsg_len < an::CMSG_HDR_LEN || cmsg_len > buf.len() - off {
            return_errno_with_message!(EINVAL, "bad cmsg_len");
        }
        let data = &buf[off + an::CMSG_HDR_LEN..off + cmsg_len];
        match (level, ty) {
            (n::SOL_SOCKET, n::SCM_RIGHTS) => {
                let count = data.len() / 4;
                if count == 0 {
                    // Linux ignores an empty SCM_RIGHTS.
                } else if count + out._files.len() > an::SCM_MAX_FD {
                    return_errno_with_message!(EINVAL, "more than SCM_MAX_FD fds");
                }
                for (i, c) in data.chunks_exact(4).enumerate() {
                    let gfd = i32::from_ne_bytes(c.try_into().unwrap_or_default());
                    let f = lock(&current().fds).get(gfd)?;
                    match f.host_fd() {
                        Some(h) => out.rights.push(h),
                        None => {
                            // A file the runtime serves goes as a carrier
                            // (vfs/in_flight.rs), closed after the send,
                            // followed by the host fds of its state; those
                            // may take what the fds still to come leave.
                            let room = an::SCM_MAX_FD.saturating_sub(out.rights.len() + (count - i));
                            let (c, state_fds) = crate::vfs::in_flight::carrier(&f, room)?;
                            out.carriers.push(c);
                            out.rights.push(c);
                            out.rights.extend(state_fds);
                        }
                    }
                    out._files.push(f);
                }
            }
            (n::SOL_SOCKET, n::SCM_CREDENTIALS) => {
                if data.len() < core::mem::size_of::<an::Ucred>() {
                    return_errno_with_message!(EINVAL, "short SCM_CREDENTIALS");
                }
                let pid = i32::from_ne_bytes(data[0..4].try_into().unwrap_or_default());
                let uid = u32::from_ne_bytes(data[4..8].try_into().unwrap_or_default());
                let gid = u32::from_ne_bytes(data[8..12].try_into().unwrap_or_default());
                // An unprivileged sender may only claim its own identity (scm_check_creds).
                let me = current();
                if !me.cred().may_send(pid == me.pid() as i32, uid, gid) {
                    return_errno_with_message!(EPERM, "SCM_CREDENTIALS must be the sender's own");
                }
            }
            (n::SOL_SOCKET, _) => return_errno_with_message!(EINVAL, "unsupported control message"),
            _ if domain == n::AF_UNIX => {}
            _ => out.others.push(host::net::Cmsg { level, ty, data: data.to_vec() }),
        }
        off += an::cmsg_align(cmsg_len);
    }
    Ok(out)
}

/// Sends the bytes of `iov` (and control) to `to`.
fn send_iov(cx: &Ctx<'_>, s: &Sock, iov: &[Iovec], to: Option<&SockAddr>, ctl: &SendControl, flags: u32) -> Result<usize> {
    s.file.touch_write();
    let so = s.get();
    let total: usize = iov.iter().map(|v| v.len as usize).sum();
    // An IPv6 datagram socket may send to IPv4 addresses; the host decides.
    if let Some(a) = to.filter(|_| so.domain == n::AF_UNIX) {
        check_addr_family(so, a, false)?;
    }
    if !so.is_stream() {
        autobind_if_passcred(s)?;
    }
    // The host address of a Unix destination. On a Linux host it names
    // the resolved directory by its held fd (/proc/self/fd/N/name), so the
    // resolution is held (to the end of this function) while sends go.
    let mut _held_dir = None;
    let host_to = match to {
        Some(SockAddr::Unix(UnixAddr::Path(p))) => {
            let r = crate::vfs::resolve_existing(linux_raw_sys::general::AT_FDCWD, p, true)?;
            let path = host_path_of(crate::vfs::host_only(&r, "no socket in a synthetic directory")?)?;
            may_write_socket(&r)?;
            _held_dir = Some(r);
            Some(SockAddr::Unix(UnixAddr::Path(path)))
        }
        Some(SockAddr::Unix(UnixAddr::Abstract(name))) => Some(SockAddr::Unix(UnixAddr::Path(abstract_ns::host_path(name)?))),
        Some(a) => Some(a.clone()),
        None => None,
    };
    let piece = if so.is_stream() { CHUNK } else { MAX_DATAGRAM };
    if !so.is_stream() && total > MAX_DATAGRAM {
        return_errno_with_message!(EMSGSIZE, "datagram too large");
    }
    let mut sent = 0usize;
    let mut flat = Flat::new(iov);
    loop {
        let buf = flat.read_next(piece)?;
        let (rights, others) = if sent == 0 { (&ctl.rights[..], &ctl.others[..]) } else { (&[][..], &[][..]) };
        match host::net::send(s.fd(), &[IoSlice::new(&buf)], host_to.as_ref(), rights, others, flags) {
            Ok(k) => {
                sent += k;
                if k < buf.len() || sent >= total {
                    return Ok(sent);
                }
            }
            Err(_) if sent > 0 => return Ok(sent),
            Err(Errno::EPIPE) => {
                if flags & n::MSG_NOSIGNAL == 0 {
                    raise_sigpipe(cx);
                }
                return Err(herr(Errno::EPIPE));
            }
            Err(e) => return Err(herr(e)),
        }
    }
}

/// The host path of a resolved guest name, for the calls that take a
/// whole address (sendto): the directory's /proc link or the trusted path.
fn host_path_of(loc: &crate::vfs::HostLoc) -> Result<Vec<u8>> {
    let (dir, name) = loc.at();
    if dir == host::fs::CWD {
        return Ok(name.to_bytes().to_vec());
    }
    host::net::unix_path_at(dir, name).map_err(herr)
}

/// Guest iovecs read piece by piece.
pub(super) struct Flat<'a> {
    iov: &'a [Iovec],
    idx: usize,
    off: u64,
}

impl<'a> Flat<'a> {
    pub(super) fn new(iov: &'a [Iovec]) -> Flat<'a> {
        Flat { iov, idx: 0, off: 0 }
    }

    /// The next at most `max` bytes of guest data.
    pub(super) fn read_next(&mut self, max: usize) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        while out.len() < max && self.idx < self.iov.len() {
            let v = self.iov[self.idx];
            let left = (v.len - self.off) as usize;
            let k = left.min(max - out.len());
            out.extend_from_slice(&uaccess::read_bytes(v.base.wrapping_add(self.off), k)?);
            self.off += k as u64;
            if self.off == v.len {
                self.idx += 1;
                self.off = 0;
            }
        }
        Ok(out)
    }

    /// Writes `data` into the next guest bytes.
    pub(super) fn write_next(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() && self.idx < self.iov.len() {
            let v = self.iov[self.idx];
            let left = (v.len - self.off) as usize;
            let k = left.min(data.len());
            uaccess::write_bytes(v.base.wrapping_add(self.off), &data[..k])?;
            data = &data[k..];
            self.off += k as u64;
            if self.off == v.len {
                self.idx += 1;
                self.off = 0;
            }
        }
        Ok(())
    }
}

/// What one receive gave the guest.
struct Got {
    len: usize,
    addr: Option<SockAddr>,
    flags: u32,
    control: Vec<u8>,
}

const RECV_FLAGS: u32 = n::MSG_OOB | n::MSG_PEEK | n::MSG_TRUNC | n::MSG_DONTWAIT | n::MSG_WAITALL | n::MSG_CMSG_CLOEXEC | n::MSG_ERRQUEUE;

/// Receives into `iov`; `control_room` bytes of guest control buffer.
fn recv_iov(s: &Sock, iov: &[Iovec], flags: u32, want_addr: bool, control_room: usize) -> Result<Got> {
    s.file.touch_read();
    let so = s.get();
    if flags & n::MSG_ERRQUEUE != 0 {
        return_errno_with_message!(EAGAIN, "no error queue");
    }
    for v in iov {
        uaccess::check_writable(v.base, v.len as usize)?;
    }
    let total: usize = iov.iter().map(|v| v.len as usize).sum();
    let room = if so.is_stream() { total.min(CHUNK) } else { total.min(MAX_DATAGRAM) };
    // Room for every host fd a message can bring: a carrier's state brings
    // host fds beyond the guest's (vfs/in_flight.rs), and what does not fit
    // the guest's buffer is closed here, as the kernel closes it.
    let max_fds = if control_room > 0 { an::SCM_MAX_FD } else { 0 };
    let host_flags = flags & !(n::MSG_CMSG_CLOEXEC | n::MSG_WAITALL);
    let mut buf = vec![0u8; room];
    let mut flat = Flat::new(iov);
    let mut got = 0usize;
    let mut first: Option<host::net::Received> = None;
    // MSG_WAITALL on a stream: piece after piece until full (or EOF, an
    // error, a signal); every piece is copied out as it comes.
    loop {
        let want = (total - got).min(room);
        let r = host::net::recv(s.fd(), &mut [IoSliceMut::new(&mut buf[..want])], host_flags, want_addr && first.is_none(), control_room > 0 && first.is_none(), max_fds);
        let r = match r {
            Ok(r) => r,
            Err(_) if got > 0 => break,
            Err(e) => return Err(herr(e)),
        };
        let k = r.len.min(want);
        flat.write_next(&buf[..k])?;
        got += k;
        let more = so.is_stream() && flags & n::MSG_WAITALL != 0 && flags & n::MSG_PEEK == 0 && r.len > 0 && got < total;
        if first.is_none() {
            // A datagram's real length with MSG_TRUNC.
            if !so.is_stream() {
                got = if flags & n::MSG_TRUNC != 0 { r.len } else { k };
            }
            first = Some(r);
        }
        if !more {
            break;
        }
    }
    let r = first.unwrap_or_default();
    let cloexec = flags & n::MSG_CMSG_CLOEXEC != 0;
    let (control, ctrunc) = build_control(so, s.fd(), r.cmsgs, r.fds, control_room, cloexec)?;
    let mut out_flags = r.flags & (n::MSG_TRUNC | n::MSG_CTRUNC | n::MSG_EOR | n::MSG_OOB);
    if ctrunc {
        out_flags |= n::MSG_CTRUNC;
    }
    let addr = r.addr.map(guest_view);
    Ok(Got { len: got, addr, flags: out_flags, control })
}

/// Appends one control message (`put_cmsg`): returns false when it did not
/// fit whole (then as much as fits is written and MSG_CTRUNC is due).
fn put_cmsg(out: &mut Vec<u8>, room: usize, level: u32, ty: u32, data: &[u8]) -> bool {
    let left = room.saturating_sub(out.len());
    if left < an::CMSG_HDR_LEN {
        return false;
    }
    let full = an::cmsg_len(data.len());
    let len = full.min(left);
    out.extend_from_slice(&(len as u64).to_ne_bytes());
    out.extend_from_slice(&level.to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(&data[..len - an::CMSG_HDR_LEN]);
    let padded = an::cmsg_space(data.len()).min(left);
    out.resize(out.len() + (padded - len), 0);
    len == full
}

/// The guest's control messages for what arrived: the protocol's own
/// (timestamps, IP and IPv6), SCM_CREDENTIALS (with SO_PASSCRED), then SCM_RIGHTS with the received host fds installed as
/// guest fds (those that do not fit are closed, as `scm_detach_fds` does).
fn build_control(so: &SocketFile, hfd: HostFd, others: Vec<host::net::Cmsg>, fds: Vec<HostFd>, room: usize, cloexec: bool) -> Result<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    let mut truncated = false;
    // Timestamps and the IP and IPv6 messages come before SCM_CREDENTIALS
    // and SCM_RIGHTS (sock_recv_timestamp, ip_cmsg_recv before scm_recv);
    // once one is cut, the rest are dropped as put_cmsg drops them.
    for c in others {
        if truncated {
            break;
        }
        truncated |= !put_cmsg(&mut out, room, c.level, c.ty, &c.data);
    }
    if so.passcred.load(std::sync::atomic::Ordering::Relaxed) && so.domain == n::AF_UNIX {
        if let Ok(c) = peer_ucred(hfd) {
            truncated |= !put_cmsg(&mut out, room, n::SOL_SOCKET, n::SCM_CREDENTIALS, uaccess::bytes_of(&c));
        }
    }
    if !fds.is_empty() {
        let left = room.saturating_sub(out.len());
        let fit = left.saturating_sub(an::CMSG_HDR_LEN) / 4;
        let mut installed: Vec<u8> = Vec::new();
        let mut fds = fds.into_iter();
        let mut sent = 0usize;
        while let Some(h) = fds.next() {
            // A carrier is followed by the host fds of its file's state.
            let carried = crate::vfs::in_flight::Carried::arrived(h);
            let extra: Vec<HostFd> = fds.by_ref().take(carried.as_ref().map_or(0, |c| c.extra_fds())).collect();
            sent += 1;
            if sent > fit {
                match carried {
                    Some(c) => drop(c),
                    None => host::fs::close(h),
                }
                extra.into_iter().for_each(host::fs::close);
                truncated = true;
                continue;
            }
            let file = match carried {
                Some(c) => open_carried(c, extra).and_then(|f| lock(&current().fds).install(f, cloexec)),
                None => install_received(h, cloexec),
            };
            match file {
                Ok(g) => installed.extend_from_slice(&g.to_ne_bytes()),
                Err(_) => truncated = true,
            }
        }
        if !installed.is_empty() {
            truncated |= !put_cmsg(&mut out, room, n::SOL_SOCKET, n::SCM_RIGHTS, &installed);
        }
    }
    Ok((out, truncated))
}

/// The open file a carrier that arrived stands for (vfs/in_flight.rs);
/// `extra` the host fds that came with it, taken over.
fn open_carried(c: crate::vfs::in_flight::Carried, extra: Vec<HostFd>) -> Result<Arc<OpenFile>> {
    use crate::vfs::in_flight::Arrived;
    match c.open(extra)? {
        Arrived::File(f) => Ok(f),
        Arrived::State { state, name, status } => {
            let ops = match super::restore_after_exec(&state, &crate::vfs::file::ExecObjects::default()) {
                Ok(ops) => ops,
                Err(e) => {
                    // A restore that fails takes nothing over.
                    state.arrived_fds().into_iter().for_each(host::fs::close);
                    return Err(e);
                }
            };
            // Fds the state came with and does not name are the sender's
            // surplus.
            state.untaken().into_iter().for_each(host::fs::close);
            // The sender's word names the kind and its fds: only a kind that
            // crosses processes, made of fds that came with it, is taken
            // (dropping another closes what it took).
            if !ops.crosses_processes() {
                return_errno_with_message!(EBADF, "a carried fd's kind cannot reach another process");
            }
            if state.asked_amiss() {
                return_errno_with_message!(EBADF, "a carried fd's state names host fds that did not come with it");
            }
            Ok(Arc::new(OpenFile::with_ops(name, ops, status)))
        }
    }
}

/// A host fd that arrived with SCM_RIGHTS (not a carrier), as a new guest fd.
fn install_received(h: HostFd, cloexec: bool) -> Result<i32> {
    let st = host::fs::fstat(h).map_err(|e| {
        host::fs::close(h);
        herr(e)
    })?;
    let flags = host::fs::get_status_flags(h).unwrap_or(linux_raw_sys::general::O_RDWR);
    let g = linux_raw_sys::general::S_IFMT & st.mode;
    let is_dir = g == linux_raw_sys::general::S_IFDIR;
    let name = match g {
        linux_raw_sys::general::S_IFIFO => format!("pipe:[{}]", st.ino),
        linux_raw_sys::general::S_IFSOCK => format!("socket:[{}]", st.ino),
        _ => host::fs::fd_guest_name(h).unwrap_or_else(|| format!("anon_inode:[{}]", st.ino)),
    };
    let f = if g == linux_raw_sys::general::S_IFSOCK {
        let ty = host::net::socket_type(h).unwrap_or(n::SOCK_STREAM);
        let domain = host::net::socket_domain(h).unwrap_or(n::AF_UNIX);
        OpenFile::new(name, SocketFile::new(h, domain, ty, 0), flags)
    } else {
        OpenFile::new(name, HostFile::new(h, is_dir), flags)
    };
    lock(&current().fds).install(Arc::new(f), cloexec)
}

/// The connected peer's credentials with its Linux pid (the daemon knows
/// which task a host pid is; an outsider keeps its host pid).
pub(super) fn peer_ucred(hfd: HostFd) -> Result<an::Ucred> {
    let (host_pid, uid, gid) = host::net::peer_cred(hfd).map_err(herr)?;
    let Some(pid) = super::proc_model::vpid_of_host(host_pid) else {
        return Ok(an::Ucred { pid: host_pid, uid, gid });
    };
    // A task's ids are its guest credentials (an outsider keeps its host ids).
    let (uid, gid) = super::cred::peer_ids(pid).unwrap_or((uid, gid));
    Ok(an::Ucred { pid, uid, gid })
}

fn one_iov(base: u64, len: u64) -> Result<Vec<Iovec>> {
    let mut total = 0;
    Ok(vec![super::read_write::clamp_iovec(Iovec { base, len }, &mut total)?])
}

const SEND_FLAGS: u32 = n::MSG_OOB
    | n::MSG_DONTROUTE
    | n::MSG_DONTWAIT
    | n::MSG_EOR
    | n::MSG_NOSIGNAL
    | n::MSG_MORE
    | n::MSG_CONFIRM
    | n::MSG_WAITALL
    | n::MSG_PEEK
    | n::MSG_TRUNC
    | n::MSG_CTRUNC
    | 0x0400_0000 // MSG_ZEROCOPY: a hint; the copy is made anyway.
    | 0x2000_0000; // MSG_FASTOPEN: plain connect-then-send semantics.

fn send_flags(a: u64) -> u32 {
    // Linux ignores send flags it does not know (they are a bit set).
    args::uint(a) & SEND_FLAGS
}

pub fn sendto(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let s = host_sock!(args::fd(a[0]), |f: &OpenFile| super::netlink::sendto(f, a));
    let r = sendto_on(cx, &s, a);
    timed(cx, &s, true, r)
}

fn sendto_on(cx: &Ctx<'_>, s: &Sock, a: [u64; 6]) -> Result<u64> {
    let iov = one_iov(a[1], a[2])?;
    let to = if a[4] != 0 { Some(read_addr(a[4], a[5])?) } else { None };
    let n = send_iov(cx, s, &iov, to.as_ref(), &SendControl::default(), send_flags(a[3]))?;
    Ok(n as u64)
}

pub fn recvfrom(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let s = host_sock!(args::fd(a[0]), |f: &OpenFile| super::netlink::recvfrom(f, a));
    let r = recvfrom_on(cx, &s, a);
    timed(cx, &s, false, r)
}

fn recvfrom_on(_cx: &Ctx<'_>, s: &Sock, a: [u64; 6]) -> Result<u64> {
    let iov = one_iov(a[1], a[2])?;
    let flags = args::uint(a[3]) & RECV_FLAGS;
    if a[4] != 0 && a[5] != 0 {
        uaccess::check_writable(a[5], 4)?;
    }
    let got = recv_iov(s, &iov, flags, a[4] != 0, 0)?;
    if let Some(addr) = &got.addr {
        write_addr(a[4], a[5], addr)?;
    } else if a[4] != 0 && a[5] != 0 {
        // A connected stream reports no address: length 0.
        uaccess::write(a[5], &0u32)?;
    }
    Ok(got.len as u64)
}

fn sendmsg_one(cx: &Ctx<'_>, s: &Sock, hdr: &MsgHdr, flags: u32) -> Result<usize> {
    let iov = super::read_write::read_iovecs(hdr.iov, hdr.iovlen)?;
    let to = if hdr.name != 0 && hdr.namelen != 0 { Some(read_addr(hdr.name, u64::from(hdr.namelen))?) } else { None };
    let ctl = read_control(hdr.control, hdr.controllen, s.get().domain)?;
    send_iov(cx, s, &iov, to.as_ref(), &ctl, flags)
}

/// Receives one message and fills the guest's header at `hdr_addr`.
fn recvmsg_one(s: &Sock, hdr_addr: u64, flags: u32) -> Result<usize> {
    let hdr: MsgHdr = uaccess::read(hdr_addr)?;
    let iov = super::read_write::read_iovecs(hdr.iov, hdr.iovlen)?;
    let room = usize::try_from(hdr.controllen).unwrap_or(usize::MAX).min(64 * 1024);
    let got = recv_iov(s, &iov, flags, hdr.name != 0, if hdr.control != 0 { room } else { 0 })?;
    let mut out = hdr;
    if hdr.name != 0 {
        let bytes = got.addr.as_ref().map(SockAddr::to_linux).unwrap_or_default();
        let n = (hdr.namelen as usize).min(bytes.len());
        uaccess::write_bytes(hdr.name, &bytes[..n])?;
        out.namelen = bytes.len() as u32;
    }
    if hdr.control != 0 && !got.control.is_empty() {
        uaccess::write_bytes(hdr.control, &got.control)?;
    }
    out.controllen = got.control.len() as u64;
    // ____sys_recvmsg starts msg_flags from the caller's MSG_CMSG_CLOEXEC.
    out.flags = got.flags | (flags & n::MSG_CMSG_CLOEXEC);
    uaccess::write(hdr_addr, &out)?;
    Ok(got.len)
}

pub fn sendmsg(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let s = host_sock!(args::fd(a[0]), |f: &OpenFile| super::netlink::sendmsg(f, a));
    let r = sendmsg_on(cx, &s, a);
    timed(cx, &s, true, r)
}

fn sendmsg_on(cx: &Ctx<'_>, s: &Sock, a: [u64; 6]) -> Result<u64> {
    let hdr: MsgHdr = uaccess::read(a[1])?;
    Ok(sendmsg_one(cx, s, &hdr, send_flags(a[2]))? as u64)
}

pub fn recvmsg(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let s = host_sock!(args::fd(a[0]), |f: &OpenFile| super::netlink::recvmsg(f, a));
    let r = recvmsg_on(cx, &s, a);
    timed(cx, &s, false, r)
}

fn recvmsg_on(_cx: &Ctx<'_>, s: &Sock, a: [u64; 6]) -> Result<u64> {
    let flags = args::uint(a[2]) & RECV_FLAGS;
    Ok(recvmsg_one(s, a[1], flags)? as u64)
}

/// `MSG_WAITFORONE` (include/linux/socket.h; not in linux-raw-sys).
const MSG_WAITFORONE: u32 = 0x10000;

/// `UIO_MAXIOV`: the most messages one sendmmsg/recvmmsg handles.
const MMSG_MAX: u32 = 1024;

pub fn sendmmsg(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let s = host_sock!(args::fd(a[0]), |f: &OpenFile| super::netlink::sendmmsg(f, a));
    let r = sendmmsg_on(cx, &s, a);
    timed(cx, &s, true, r)
}

fn sendmmsg_on(cx: &Ctx<'_>, s: &Sock, a: [u64; 6]) -> Result<u64> {
    let vlen = args::uint(a[2]).min(MMSG_MAX);
    let flags = send_flags(a[3]);
    let mut done = 0u32;
    while done < vlen {
        let at = a[1].wrapping_add(u64::from(done) * core::mem::size_of::<MmsgHdr>() as u64);
        let m: MmsgHdr = match uaccess::read(at) {
            Ok(m) => m,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        match sendmsg_one(cx, s, &m.hdr, flags) {
            Ok(k) => uaccess::write(at.wrapping_add(core::mem::offset_of!(MmsgHdr, len) as u64), &(k as u32))?,
            Err(e) if done == 0 => return Err(e),
            // Linux reports the messages sent; the error waits for the next call.
            Err(_) => break,
        }
        done += 1;
    }
    Ok(u64::from(done))
}

pub fn recvmmsg(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let s = host_sock!(args::fd(a[0]), |f: &OpenFile| super::netlink::recvmmsg(f, a));
    let r = recvmmsg_on(cx, &s, a);
    // With a timeout, an interrupted recvmmsg fails with EINTR whatever
    // SA_RESTART says, as with SO_RCVTIMEO (table.rs, above the rows).
    if a[4] != 0 && matches!(&r, Err(e) if e.errno == Errno::EINTR) {
        cx.thread().eintr_is_final.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    timed(cx, &s, false, r)
}

fn recvmmsg_on(_cx: &Ctx<'_>, s: &Sock, a: [u64; 6]) -> Result<u64> {
    let vlen = args::uint(a[2]).min(MMSG_MAX);
    let mut flags = args::uint(a[3]);
    let wait_for_one = flags & MSG_WAITFORONE != 0;
    flags &= RECV_FLAGS;
    // As Linux (recvmmsg(2), BUGS): the timeout is looked at only after
    // each datagram, so a wait for the first is not bounded by it; what is
    // left of it is written back when a datagram was received.
    let deadline = if a[4] != 0 {
        let ts: crate::abi::Timespec = uaccess::read(a[4])?;
        if !ts.is_valid() {
            return_errno_with_message!(EINVAL, "bad timeout");
        }
        crate::vfs::poll::deadline_after(Some(ts))
    } else {
        None
    };
    let mut left = None;
    let mut done = 0u32;
    while done < vlen {
        let at = a[1].wrapping_add(u64::from(done) * core::mem::size_of::<MmsgHdr>() as u64);
        match recvmsg_one(s, at, flags) {
            Ok(k) => uaccess::write(at.wrapping_add(core::mem::offset_of!(MmsgHdr, len) as u64), &(k as u32))?,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
        done += 1;
        if wait_for_one {
            flags |= n::MSG_DONTWAIT;
        }
        if let Some(d) = deadline {
            let rest = crate::vfs::poll::time_left(d);
            left = Some(rest);
            if rest == crate::abi::Timespec::default() {
                break;
            }
        }
    }
    if let Some(rest) = left {
        uaccess::write(a[4], &rest)?;
    }
    Ok(u64::from(done))
}

/// Socket ioctls beyond the generic ones (FIONREAD and FIONBIO are handled
/// with every host fd's): the interface queries of netdevice(7).
pub fn ioctl(req: u32, arg: u64) -> Result<Option<u64>> {
    use linux_raw_sys::ioctl as io;
    /// `struct ifreq`: a 16-byte name, then a 24-byte union.
    const IFREQ_LEN: usize = 40;
    const IFNAMSIZ: usize = 16;
    let read_name = |arg: u64| -> Result<Vec<u8>> {
        let b = uaccess::read_bytes(arg, IFNAMSIZ)?;
        Ok(b.into_iter().take_while(|&c| c != 0).collect())
    };
    let find = |name: &[u8]| host::net::interfaces().into_iter().find(|i| i.name == name).ok_or_else(|| errno!(ENODEV, "no such interface"));
    let put = |arg: u64, off: usize, data: &[u8]| uaccess::write_bytes(arg.wrapping_add(off as u64), data);
    match req {
        io::SIOCGIFINDEX => {
            let i = find(&read_name(arg)?)?;
            put(arg, IFNAMSIZ, &(i.index as i32).to_ne_bytes())?;
        }
        io::SIOCGIFFLAGS => {
            let i = find(&read_name(arg)?)?;
            put(arg, IFNAMSIZ, &(i.flags as u16).to_ne_bytes())?;
        }
        io::SIOCGIFADDR => {
            let i = find(&read_name(arg)?)?;
            let Some(addr) = i.addr else { return_errno_with_message!(EADDRNOTAVAIL, "the interface has no IPv4 address") };
            put(arg, IFNAMSIZ, &SockAddr::Inet { port: 0, addr }.to_linux())?;
        }
        io::SIOCGIFNAME => {
            let index: i32 = uaccess::read(arg.wrapping_add(IFNAMSIZ as u64))?;
            let i = host::net::interfaces().into_iter().find(|i| i.index as i32 == index).ok_or_else(|| errno!(ENODEV, "no such interface"))?;
            let mut name = i.name.clone();
            name.resize(IFNAMSIZ, 0);
            put(arg, 0, &name)?;
        }
        io::SIOCGIFCONF => {
            // struct ifconf { int ifc_len; (pad) union { char *buf; } } — 16 bytes.
            let len: i32 = uaccess::read(arg)?;
            let buf: u64 = uaccess::read(arg.wrapping_add(8))?;
            let list: Vec<_> = host::net::interfaces().into_iter().filter(|i| i.addr.is_some()).collect();
            let mut written = 0usize;
            for i in &list {
                if buf == 0 {
                    written += IFREQ_LEN;
                    continue;
                }
                if written + IFREQ_LEN > usize::try_from(len).unwrap_or(0) {
                    break;
                }
                let mut rec = i.name.clone();
                rec.resize(IFNAMSIZ, 0);
                rec.extend_from_slice(&SockAddr::Inet { port: 0, addr: i.addr.unwrap_or_default() }.to_linux());
                rec.resize(IFREQ_LEN, 0);
                uaccess::write_bytes(buf.wrapping_add(written as u64), &rec)?;
                written += IFREQ_LEN;
            }
            uaccess::write(arg, &(written as i32))?;
        }
        _ => return Ok(None),
    }
    Ok(Some(0))
}

/// The emulated abstract namespace (see the header).
mod abstract_ns {
    use super::*;
    use std::ffi::CString;

    /// The per-user directory of emulated abstract names.
    fn dir() -> Result<std::path::PathBuf> {
        let d = mactux_proto::client::state_dir(host::process::uid()).join("abstract");
        if std::fs::create_dir_all(&d).is_err() {
            return_errno_with_message!(EACCES, "cannot create the abstract socket directory");
        }
        Ok(d)
    }

    /// The file name for an abstract name: a stable hash (FNV-1a, 64 bits,
    /// twice with different seeds) so any name, NULs included, fits.
    fn file_name(name: &[u8]) -> String {
        let h = |seed: u64| {
            let mut h = seed;
            for &b in name {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            h
        };
        format!("{:016x}{:016x}", h(0xcbf2_9ce4_8422_2325), h(0x8422_2325_cbf2_9ce4))
    }

    /// The host path of the socket file of `name`.
    pub fn host_path(name: &[u8]) -> Result<Vec<u8>> {
        let p = dir()?.join(file_name(name));
        Ok(p.into_os_string().into_encoded_bytes())
    }

    /// The abstract name behind a host path of the directory, from the
    /// `.name` file written at bind.
    pub fn name_of_host_path(p: &[u8]) -> Option<Vec<u8>> {
        let d = mactux_proto::client::state_dir(host::process::uid()).join("abstract");
        let d = d.as_os_str().as_encoded_bytes();
        let rest = p.strip_prefix(d)?.strip_prefix(b"/")?;
        let file = std::str::from_utf8(rest).ok()?;
        std::fs::read(std::path::Path::new(std::str::from_utf8(p).ok()?).with_file_name(format!("{file}.name"))).ok()
    }

    /// Binds `fd` to the abstract `name`: EADDRINUSE while another socket
    /// holds it (its lock), otherwise a stale file is replaced.
    /// Returns the lock's host fd, which the socket keeps.
    pub fn bind(fd: HostFd, name: &[u8]) -> Result<HostFd> {
        let d = dir()?;
        let base = file_name(name);
        let c = |s: &str| CString::new(d.join(s).into_os_string().into_encoded_bytes()).map_err(|_| errno!(EINVAL));
        let lock_path = c(&format!("{base}.lock"))?;
        let lfd = host::fs::open(&lock_path, linux_raw_sys::general::O_RDWR | linux_raw_sys::general::O_CREAT, 0o600).map_err(herr)?;
        if host::fs::whole_file_lock(lfd, linux_raw_sys::general::LOCK_EX | linux_raw_sys::general::LOCK_NB).is_err() {
            host::fs::close(lfd);
            return_errno_with_message!(EADDRINUSE, "the abstract name is in use");
        }
        let sock_path = c(&base)?;
        let _ = host::fs::unlink_at(host::fs::CWD, &sock_path);
        let _ = std::fs::write(d.join(format!("{base}.name")), name);
        if let Err(e) = host::net::bind(fd, &SockAddr::Unix(UnixAddr::Path(sock_path.into_bytes()))) {
            host::fs::close(lfd);
            return Err(herr(e));
        }
        Ok(lfd)
    }

    /// Autobind (unix_autobind in net/unix/af_unix.c): the first of the
    /// 2^20 names `%05x` that nobody holds; ENOSPC when every one is taken.
    /// Returns the name and its lock's host fd. Linux starts the search at
    /// a random name; starting at 00000 instead reuses the files of names
    /// no longer held (they outlive their sockets), so the directory holds
    /// no more names than were ever held at once.
    pub fn autobind(fd: HostFd) -> Result<(Vec<u8>, HostFd)> {
        const NAMES: u32 = 1 << 20;
        for i in 0..NAMES {
            let name = format!("{i:05x}").into_bytes();
            match bind(fd, &name) {
                Ok(lfd) => return Ok((name, lfd)),
                Err(e) if e.errno == Errno::EADDRINUSE => continue,
                Err(e) => return Err(e),
            }
        }
        return_errno_with_message!(ENOSPC, "every autobind name is in use")
    }

    pub fn connect(fd: HostFd, name: &[u8]) -> std::result::Result<(), Errno> {
        let p = host_path(name).map_err(|e| e.errno)?;
        // A name nobody holds is ECONNREFUSED, as on Linux.
        host::net::connect(fd, &SockAddr::Unix(UnixAddr::Path(p))).map_err(|e| if e == Errno::ENOENT { Errno::ECONNREFUSED } else { e })
    }
}
