//! The credential calls: get*id, set*id, getgroups/setgroups,
//! setfsuid/setfsgid, capget/capset, and the capability prctl options.
//! man7: credentials(7), capabilities(7), setresuid(2), setreuid(2),
//! setuid(2), setfsuid(2), setgroups(2), capget(2).
//!
//! The rules are in task/cred.rs; these handlers decode arguments and
//! copy results. Divergences from Linux: see task/cred.rs (one set of
//! credentials per process; the host process keeps the host user's ids).

use super::{args, Ctx};
use crate::error::Result;
use crate::task::{current, Cred};
use crate::uaccess;
use crate::{errno, return_errno, return_errno_with_message};
use linux_raw_sys::general as g;
use linux_raw_sys::prctl as pr;

pub fn getuid(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    Ok(u64::from(current().cred().uid))
}
pub fn geteuid(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    Ok(u64::from(current().cred().euid))
}
pub fn getgid(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    Ok(u64::from(current().cred().gid))
}
pub fn getegid(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
    Ok(u64::from(current().cred().egid))
}

pub fn getresuid(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let c = current().cred();
    uaccess::write(a[0], &c.uid)?;
    uaccess::write(a[1], &c.euid)?;
    uaccess::write(a[2], &c.suid)?;
    Ok(0)
}

pub fn getresgid(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let c = current().cred();
    uaccess::write(a[0], &c.gid)?;
    uaccess::write(a[1], &c.egid)?;
    uaccess::write(a[2], &c.sgid)?;
    Ok(0)
}

/// Applies a rule to the caller's credentials. A change is told to the
/// daemon at once, not at the next sleep as fds and maps are: a peer that
/// asks for SO_PEERCRED right after a connect made with the new ids must
/// see them.
fn change(rule: impl FnOnce(&Cred) -> Result<Cred>) -> Result<u64> {
    current().update_cred(rule)?;
    super::publish_now();
    Ok(0)
}

pub fn setuid(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    change(|c| c.setuid(args::uint(a[0])))
}
pub fn setgid(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    change(|c| c.setgid(args::uint(a[0])))
}
pub fn setreuid(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    change(|c| c.setreuid(args::uint(a[0]), args::uint(a[1])))
}
pub fn setregid(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    change(|c| c.setregid(args::uint(a[0]), args::uint(a[1])))
}
pub fn setresuid(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    change(|c| c.setresuid(args::uint(a[0]), args::uint(a[1]), args::uint(a[2])))
}
pub fn setresgid(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    change(|c| c.setresgid(args::uint(a[0]), args::uint(a[1]), args::uint(a[2])))
}

/// setfsuid(2): always the old fs uid, whether or not it changed.
pub fn setfsuid(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let old = current().update_cred(|c| Ok(c.setfsuid(args::uint(a[0]))))?;
    super::publish_now();
    Ok(u64::from(old.fsuid))
}

/// setfsgid(2): always the old fs gid.
pub fn setfsgid(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let old = current().update_cred(|c| Ok(c.setfsgid(args::uint(a[0]))))?;
    super::publish_now();
    Ok(u64::from(old.fsgid))
}

pub fn getgroups(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let size = args::int(a[0]);
    if size < 0 {
        return_errno_with_message!(EINVAL, "size must not be negative");
    }
    let cred = current().cred();
    let groups = &cred.groups;
    if size == 0 {
        return Ok(groups.len() as u64);
    }
    if (size as usize) < groups.len() {
        return_errno_with_message!(EINVAL, "list is smaller than the number of groups");
    }
    let bytes: Vec<u8> = groups.iter().flat_map(|gid| gid.to_ne_bytes()).collect();
    uaccess::write_bytes(a[1], &bytes)?;
    Ok(groups.len() as u64)
}

/// setgroups(2): CAP_SETGID is checked before the size (may_setgroups
/// comes first in the kernel).
pub fn setgroups(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    if !current().cred().capable(g::CAP_SETGID) {
        return_errno_with_message!(EPERM, "setting supplementary groups needs CAP_SETGID");
    }
    let size = args::uint(a[0]);
    if size > linux_raw_sys::general::NGROUPS_MAX {
        return_errno_with_message!(EINVAL, "more groups than NGROUPS_MAX");
    }
    let raw = uaccess::read_bytes(a[1], size as usize * 4)?;
    let groups = raw.chunks_exact(4).map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]])).collect();
    change(|c| c.setgroups(groups))
}

/// The capability header's version: how many 32-bit words of each set
/// travel (cap_validate_magic). An unknown version is answered with the
/// preferred one, written back, and EINVAL.
fn cap_words(header: u64) -> Result<usize> {
    let version: u32 = uaccess::read(header)?;
    match version {
        g::_LINUX_CAPABILITY_VERSION_1 => Ok(g::_LINUX_CAPABILITY_U32S_1 as usize),
        g::_LINUX_CAPABILITY_VERSION_2 | g::_LINUX_CAPABILITY_VERSION_3 => Ok(g::_LINUX_CAPABILITY_U32S_3 as usize),
        _ => {
            uaccess::write(header, &g::_LINUX_CAPABILITY_VERSION_3)?;
            Err(errno!(EINVAL, "unknown capability version (the preferred one was written back)"))
        }
    }
}

/// The (effective, permitted, inheritable) sets of task `pid` (0: the caller).
fn caps_of(pid: i32) -> Result<(u64, u64, u64)> {
    let p = current();
    if pid == 0 || pid as u32 == p.pid() || (pid > 0 && p.thread(pid as u32).is_some()) {
        let c = p.cred();
        return Ok((c.cap_effective, c.cap_permitted, c.cap_inheritable));
    }
    match task_cred(pid) {
        Some(c) => Ok((c.caps[2], c.caps[1], c.caps[0])),
        None => Err(errno!(ESRCH, "no such task")),
    }
}

pub fn capget(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let words = match cap_words(a[0]) {
        // A version probe: no data pointer, and EINVAL turns into success.
        Err(e) if a[1] == 0 && e.errno == crate::abi::Errno::EINVAL => return Ok(0),
        Err(e) => return Err(e),
        Ok(_) if a[1] == 0 => return Ok(0),
        Ok(w) => w,
    };
    let pid: i32 = uaccess::read(a[0] + 4)?;
    if pid < 0 {
        return_errno_with_message!(EINVAL, "pid must not be negative");
    }
    let (eff, prm, inh) = caps_of(pid)?;
    let mut data = Vec::with_capacity(words * 12);
    for w in 0..words {
        for set in [eff, prm, inh] {
            data.extend_from_slice(&((set >> (32 * w)) as u32).to_ne_bytes());
        }
    }
    uaccess::write_bytes(a[1], &data)?;
    Ok(0)
}

pub fn capset(cx: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let words = cap_words(a[0])?;
    let pid: i32 = uaccess::read(a[0] + 4)?;
    if pid != 0 && pid as u32 != cx.thread().tid() {
        return_errno_with_message!(EPERM, "capset changes only the caller");
    }
    let raw = uaccess::read_bytes(a[1], words * 12)?;
    let word = |i: usize| u64::from(u32::from_ne_bytes([raw[i * 4], raw[i * 4 + 1], raw[i * 4 + 2], raw[i * 4 + 3]]));
    let (mut eff, mut prm, mut inh) = (0u64, 0u64, 0u64);
    for w in 0..words {
        eff |= word(w * 3) << (32 * w);
        prm |= word(w * 3 + 1) << (32 * w);
        inh |= word(w * 3 + 2) << (32 * w);
    }
    change(|c| c.capset(eff, prm, inh))
}

/// The prctl options about credentials; `None` for any other option.
pub fn prctl(a: [u64; 6]) -> Option<Result<u64>> {
    let p = current();
    let extra_args_zero = |from: usize| a[from..5].iter().all(|&x| x == 0);
    Some(match args::uint(a[0]) {
        pr::PR_GET_KEEPCAPS => Ok(u64::from(p.cred().keepcaps())),
        pr::PR_SET_KEEPCAPS => change(|c| c.set_keepcaps(a[1])),
        pr::PR_GET_SECUREBITS => Ok(u64::from(p.cred().securebits)),
        pr::PR_SET_SECUREBITS => change(|c| c.set_securebits(a[1])),
        pr::PR_CAPBSET_READ => {
            if !crate::task::cap_valid(a[1]) {
                return Some(Err(errno!(EINVAL, "no such capability")));
            }
            Ok(p.cred().cap_bset >> a[1] & 1)
        }
        pr::PR_CAPBSET_DROP => change(|c| c.capbset_drop(a[1])),
        pr::PR_GET_NO_NEW_PRIVS => {
            if !extra_args_zero(1) {
                return Some(Err(errno!(EINVAL, "unused arguments must be 0")));
            }
            Ok(u64::from(p.cred().no_new_privs))
        }
        pr::PR_SET_NO_NEW_PRIVS => {
            if a[1] != 1 || !extra_args_zero(2) {
                return Some(Err(errno!(EINVAL, "PR_SET_NO_NEW_PRIVS takes 1 and no more")));
            }
            change(|c| Ok(Cred { no_new_privs: true, ..c.clone() }))
        }
        pr::PR_CAP_AMBIENT => ambient(a),
        _ => return None,
    })
}

/// PR_CAP_AMBIENT (cap_task_prctl).
fn ambient(a: [u64; 6]) -> Result<u64> {
    if a[1] == u64::from(pr::PR_CAP_AMBIENT_CLEAR_ALL) {
        if a[2] | a[3] | a[4] != 0 {
            return_errno!(EINVAL);
        }
        return change(|c| Ok(Cred { cap_ambient: 0, ..c.clone() }));
    }
    if !crate::task::cap_valid(a[2]) || a[3] | a[4] != 0 {
        return_errno_with_message!(EINVAL, "no such capability, or unused arguments not 0");
    }
    match args::uint(a[1]) {
        _ if a[1] > u64::from(u32::MAX) => Err(errno!(EINVAL, "unknown PR_CAP_AMBIENT operation")),
        pr::PR_CAP_AMBIENT_IS_SET => Ok(current().cred().cap_ambient >> a[2] & 1),
        pr::PR_CAP_AMBIENT_RAISE => change(|c| c.ambient(true, a[2])),
        pr::PR_CAP_AMBIENT_LOWER => change(|c| c.ambient(false, a[2])),
        _ => Err(errno!(EINVAL, "unknown PR_CAP_AMBIENT operation")),
    }
}

/// The credentials of another task of the namespace, as it last told the
/// daemon (`None`: no such task, or no daemon).
pub fn task_cred(pid: i32) -> Option<mactux_proto::TaskCred> {
    if crate::daemon::is_standalone() {
        return None;
    }
    match crate::daemon::call(&mactux_proto::Request::Get { pid }) {
        Ok(mactux_proto::Response::Task(Some(t))) => Some(t.info.cred),
        _ => None,
    }
}

/// The effective uid and gid a socket peer with Linux pid `pid` reports
/// (SO_PEERCRED, SCM_CREDENTIALS): this task's own, or what another task
/// told the daemon; `None` for a process outside the namespace.
pub fn peer_ids(pid: i32) -> Option<(u32, u32)> {
    let p = current();
    if pid as u32 == p.pid() {
        let c = p.cred();
        return Some((c.euid, c.egid));
    }
    task_cred(pid).map(|c| (c.uids[1], c.gids[1]))
}
