//! A task's Linux credentials (credentials(7), capabilities(7)) and the
//! rules by which they change: the set*id calls of kernel/sys.c, the
//! capability calls of kernel/capability.c and security/commoncap.c, and
//! what execve does to them.
//!
//! Pure: each rule takes the old credentials and returns the new ones (or
//! Linux's errno), so that the handlers (syscall/cred.rs) only decode
//! arguments and the rules are unit-tested here.
//!
//! Divergences from Linux:
//! - One set of credentials per process, not per thread: a raw set*id
//!   syscall in one thread changes them for all (glibc's setxid broadcast,
//!   which repeats the call in every thread, then changes nothing more).
//! - They are the guest's only: the host process keeps the host user's ids.
//!   The runtime checks file permissions with them (vfs/perm.rs), and the
//!   host still applies its own rules for the host user underneath.
//! - No user namespaces (every id is valid but (u32)-1), no RLIMIT_NPROC
//!   check on a change of the real uid, no file capabilities (security.capability
//!   is not read at execve), no LSM.

use crate::error::Result;
use crate::return_errno_with_message;
use linux_raw_sys::general as g;

/// Every capability up to CAP_LAST_CAP (include/linux/capability.h CAP_VALID_MASK).
pub const CAP_VALID_MASK: u64 = (1u64 << (g::CAP_LAST_CAP + 1)) - 1;

/// The capabilities a change of the fs uid away from or back to 0 drops or
/// raises (include/linux/capability.h CAP_FS_MASK).
const CAP_FS_MASK: u64 = cap(g::CAP_CHOWN)
    | cap(g::CAP_MKNOD)
    | cap(g::CAP_LINUX_IMMUTABLE)
    | cap(g::CAP_DAC_OVERRIDE)
    | cap(g::CAP_DAC_READ_SEARCH)
    | cap(g::CAP_FOWNER)
    | cap(g::CAP_FSETID)
    | cap(g::CAP_MAC_OVERRIDE);

/// include/uapi/linux/securebits.h (linux-raw-sys does not carry it).
pub const SECURE_NOROOT: u32 = 0;
pub const SECURE_NO_SETUID_FIXUP: u32 = 2;
pub const SECURE_KEEP_CAPS: u32 = 4;
pub const SECURE_KEEP_CAPS_LOCKED: u32 = 5;
pub const SECURE_NO_CAP_AMBIENT_RAISE: u32 = 6;
/// The four settable bits, and the lock bit above each.
pub const SECURE_ALL_BITS: u32 = 0x55;
pub const SECURE_ALL_LOCKS: u32 = 0xaa;

/// "Leave unchanged" in every set*id call.
const UNCHANGED: u32 = u32::MAX;
const ROOT: u32 = 0;

/// The bit of capability `c`.
pub const fn cap(c: u32) -> u64 {
    1u64 << c
}

/// Whether `c` names a capability (cap_valid).
pub fn cap_valid(c: u64) -> bool {
    c <= u64::from(g::CAP_LAST_CAP)
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cred {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub fsuid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub fsgid: u32,
    /// Supplementary groups, sorted (groups_sort), duplicates kept as given.
    pub groups: Vec<u32>,
    pub cap_inheritable: u64,
    pub cap_permitted: u64,
    pub cap_effective: u64,
    pub cap_bset: u64,
    pub cap_ambient: u64,
    pub securebits: u32,
    /// PR_SET_NO_NEW_PRIVS: set-id bits are not honoured by execve; never cleared.
    pub no_new_privs: bool,
}

impl Cred {
    /// A task of user `uid` and group `gid`: root holds every capability,
    /// as init's children do on Linux; anyone else none. The bounding set
    /// is full for both.
    pub fn new(uid: u32, euid: u32, gid: u32, egid: u32, groups: Vec<u32>) -> Cred {
        let caps = if euid == ROOT { CAP_VALID_MASK } else { 0 };
        let mut groups = groups;
        groups.sort_unstable();
        Cred {
            uid,
            euid,
            suid: euid,
            fsuid: euid,
            gid,
            egid,
            sgid: egid,
            fsgid: egid,
            groups,
            cap_inheritable: 0,
            cap_permitted: caps,
            cap_effective: caps,
            cap_bset: CAP_VALID_MASK,
            cap_ambient: 0,
            securebits: 0,
            no_new_privs: false,
        }
    }

    /// Takes the capability sets a host process has (effective, permitted,
    /// inheritable, bounding, ambient), when it runs as the host user.
    pub fn with_caps(mut self, caps: [u64; 5]) -> Cred {
        let [eff, prm, inh, bnd, amb] = caps.map(|c| c & CAP_VALID_MASK);
        self.cap_effective = eff;
        self.cap_permitted = prm;
        self.cap_inheritable = inh;
        self.cap_bset = bnd;
        self.cap_ambient = amb;
        self
    }

    /// The host process's own ids, groups and capabilities: what the host
    /// checks its calls with.
    pub fn of_host_process() -> Cred {
        use crate::host::process as hp;
        let c = Cred::new(hp::uid(), hp::euid(), hp::gid(), hp::egid(), hp::groups());
        match hp::capabilities() {
            Some(caps) => c.with_caps(caps),
            None => c,
        }
    }

    /// What the daemon is told (other tasks' /proc/PID/status, capget, SO_PEERCRED).
    pub fn to_proto(&self) -> mactux_proto::TaskCred {
        mactux_proto::TaskCred {
            uids: [self.uid, self.euid, self.suid, self.fsuid],
            gids: [self.gid, self.egid, self.sgid, self.fsgid],
            groups: self.groups.clone(),
            caps: [self.cap_inheritable, self.cap_permitted, self.cap_effective, self.cap_bset, self.cap_ambient],
            no_new_privs: self.no_new_privs,
        }
    }

    /// scm_check_creds: the credentials a process may put in an
    /// SCM_CREDENTIALS message: its own pid (or CAP_SYS_ADMIN), one of its
    /// uids (or CAP_SETUID) and one of its gids (or CAP_SETGID).
    pub fn may_send(&self, is_own_pid: bool, uid: u32, gid: u32) -> bool {
        (is_own_pid || self.capable(g::CAP_SYS_ADMIN))
            && ([self.uid, self.euid, self.suid].contains(&uid) || self.capable(g::CAP_SETUID))
            && ([self.gid, self.egid, self.sgid].contains(&gid) || self.capable(g::CAP_SETGID))
    }

    /// ns_capable(): the capability is in the effective set.
    pub fn capable(&self, c: u32) -> bool {
        self.cap_effective & cap(c) != 0
    }

    fn issecure(&self, bit: u32) -> bool {
        self.securebits & (1 << bit) != 0
    }

    /// Whether `gid` is the fs gid or a supplementary group (in_group_p).
    pub fn in_group(&self, gid: u32) -> bool {
        self.fsgid == gid || self.groups.contains(&gid)
    }

    /// The credentials access(2) and faccessat(2) check with
    /// (access_override_creds in fs/open.c): the real ids as fs ids, and
    /// for a real uid other than 0 no capabilities (root's permitted ones
    /// otherwise). AT_EACCESS keeps the caller's own.
    pub fn access_override(&self) -> Cred {
        let mut c = self.clone();
        c.fsuid = c.uid;
        c.fsgid = c.gid;
        if !c.issecure(SECURE_NO_SETUID_FIXUP) {
            c.cap_effective = if c.uid == ROOT { c.cap_permitted } else { 0 };
        }
        c
    }

    /// cap_emulate_setxuid (security/commoncap.c): leaving uid 0 in all of
    /// real, effective and saved drops the permitted and effective sets
    /// (unless SECURE_KEEP_CAPS) and the ambient one; the effective uid
    /// leaving 0 clears the effective set, returning to 0 restores it.
    fn fix_setuid(&mut self, old: &Cred) {
        if self.issecure(SECURE_NO_SETUID_FIXUP) {
            return;
        }
        let was_root = old.uid == ROOT || old.euid == ROOT || old.suid == ROOT;
        let is_root = self.uid == ROOT || self.euid == ROOT || self.suid == ROOT;
        if was_root && !is_root {
            if !self.issecure(SECURE_KEEP_CAPS) {
                self.cap_permitted = 0;
                self.cap_effective = 0;
            }
            self.cap_ambient = 0;
        }
        if old.euid == ROOT && self.euid != ROOT {
            self.cap_effective = 0;
        }
        if old.euid != ROOT && self.euid == ROOT {
            self.cap_effective = self.cap_permitted;
        }
    }

    /// The LSM_SETID_FS case of cap_task_fix_setuid: the fs uid leaving 0
    /// drops the file-system capabilities from the effective set, returning
    /// raises those that are permitted.
    fn fix_setfsuid(&mut self, old: &Cred) {
        if self.issecure(SECURE_NO_SETUID_FIXUP) {
            return;
        }
        if old.fsuid == ROOT && self.fsuid != ROOT {
            self.cap_effective &= !CAP_FS_MASK;
        }
        if old.fsuid != ROOT && self.fsuid == ROOT {
            self.cap_effective |= self.cap_permitted & CAP_FS_MASK;
        }
    }

    /// setuid(2) (__sys_setuid).
    pub fn setuid(&self, uid: u32) -> Result<Cred> {
        if uid == UNCHANGED {
            return_errno_with_message!(EINVAL, "uid -1 is not a valid id");
        }
        let mut new = self.clone();
        if self.capable(g::CAP_SETUID) {
            new.uid = uid;
            new.suid = uid;
        } else if uid != self.uid && uid != self.suid {
            return_errno_with_message!(EPERM, "not the real or saved uid, and no CAP_SETUID");
        }
        new.euid = uid;
        new.fsuid = uid;
        new.fix_setuid(self);
        Ok(new)
    }

    /// setreuid(2) (__sys_setreuid).
    pub fn setreuid(&self, ruid: u32, euid: u32) -> Result<Cred> {
        let mut new = self.clone();
        let may = self.capable(g::CAP_SETUID);
        if ruid != UNCHANGED {
            if ruid != self.uid && ruid != self.euid && !may {
                return_errno_with_message!(EPERM, "real uid not the real or effective one, and no CAP_SETUID");
            }
            new.uid = ruid;
        }
        if euid != UNCHANGED {
            if euid != self.uid && euid != self.euid && euid != self.suid && !may {
                return_errno_with_message!(EPERM, "effective uid not the real, effective or saved one, and no CAP_SETUID");
            }
            new.euid = euid;
        }
        if ruid != UNCHANGED || (euid != UNCHANGED && euid != self.uid) {
            new.suid = new.euid;
        }
        new.fsuid = new.euid;
        new.fix_setuid(self);
        Ok(new)
    }

    /// setresuid(2) (__sys_setresuid).
    pub fn setresuid(&self, ruid: u32, euid: u32, suid: u32) -> Result<Cred> {
        let is_noop = (ruid == UNCHANGED || ruid == self.uid)
            && (euid == UNCHANGED || (euid == self.euid && euid == self.fsuid))
            && (suid == UNCHANGED || suid == self.suid);
        if is_noop {
            return Ok(self.clone());
        }
        let is_new = |id: u32| id != UNCHANGED && id != self.uid && id != self.euid && id != self.suid;
        if (is_new(ruid) || is_new(euid) || is_new(suid)) && !self.capable(g::CAP_SETUID) {
            return_errno_with_message!(EPERM, "a new uid that is none of real, effective or saved, and no CAP_SETUID");
        }
        let mut new = self.clone();
        if ruid != UNCHANGED {
            new.uid = ruid;
        }
        if euid != UNCHANGED {
            new.euid = euid;
        }
        if suid != UNCHANGED {
            new.suid = suid;
        }
        new.fsuid = new.euid;
        new.fix_setuid(self);
        Ok(new)
    }

    /// setfsuid(2): the new credentials, changed or not (the call returns
    /// the old fs uid either way, and never fails).
    pub fn setfsuid(&self, fsuid: u32) -> Cred {
        let mut new = self.clone();
        let allowed = [self.uid, self.euid, self.suid, self.fsuid].contains(&fsuid) || self.capable(g::CAP_SETUID);
        if fsuid != UNCHANGED && allowed && fsuid != self.fsuid {
            new.fsuid = fsuid;
            new.fix_setfsuid(self);
        }
        new
    }

    /// setgid(2) (__sys_setgid).
    pub fn setgid(&self, gid: u32) -> Result<Cred> {
        if gid == UNCHANGED {
            return_errno_with_message!(EINVAL, "gid -1 is not a valid id");
        }
        let mut new = self.clone();
        if self.capable(g::CAP_SETGID) {
            new.gid = gid;
            new.egid = gid;
            new.sgid = gid;
            new.fsgid = gid;
        } else if gid == self.gid || gid == self.sgid {
            new.egid = gid;
            new.fsgid = gid;
        } else {
            return_errno_with_message!(EPERM, "not the real or saved gid, and no CAP_SETGID");
        }
        Ok(new)
    }

    /// setregid(2) (__sys_setregid).
    pub fn setregid(&self, rgid: u32, egid: u32) -> Result<Cred> {
        let mut new = self.clone();
        let may = self.capable(g::CAP_SETGID);
        if rgid != UNCHANGED {
            if rgid != self.gid && rgid != self.egid && !may {
                return_errno_with_message!(EPERM, "real gid not the real or effective one, and no CAP_SETGID");
            }
            new.gid = rgid;
        }
        if egid != UNCHANGED {
            if egid != self.gid && egid != self.egid && egid != self.sgid && !may {
                return_errno_with_message!(EPERM, "effective gid not the real, effective or saved one, and no CAP_SETGID");
            }
            new.egid = egid;
        }
        if rgid != UNCHANGED || (egid != UNCHANGED && egid != self.gid) {
            new.sgid = new.egid;
        }
        new.fsgid = new.egid;
        Ok(new)
    }

    /// setresgid(2) (__sys_setresgid).
    pub fn setresgid(&self, rgid: u32, egid: u32, sgid: u32) -> Result<Cred> {
        let is_noop = (rgid == UNCHANGED || rgid == self.gid)
            && (egid == UNCHANGED || (egid == self.egid && egid == self.fsgid))
            && (sgid == UNCHANGED || sgid == self.sgid);
        if is_noop {
            return Ok(self.clone());
        }
        let is_new = |id: u32| id != UNCHANGED && id != self.gid && id != self.egid && id != self.sgid;
        if (is_new(rgid) || is_new(egid) || is_new(sgid)) && !self.capable(g::CAP_SETGID) {
            return_errno_with_message!(EPERM, "a new gid that is none of real, effective or saved, and no CAP_SETGID");
        }
        let mut new = self.clone();
        if rgid != UNCHANGED {
            new.gid = rgid;
        }
        if egid != UNCHANGED {
            new.egid = egid;
        }
        if sgid != UNCHANGED {
            new.sgid = sgid;
        }
        new.fsgid = new.egid;
        Ok(new)
    }

    /// setfsgid(2), as [`Cred::setfsuid`].
    pub fn setfsgid(&self, fsgid: u32) -> Cred {
        let mut new = self.clone();
        let allowed = [self.gid, self.egid, self.sgid, self.fsgid].contains(&fsgid) || self.capable(g::CAP_SETGID);
        if fsgid != UNCHANGED && allowed {
            new.fsgid = fsgid;
        }
        new
    }

    /// setgroups(2): needs CAP_SETGID (may_setgroups); the list is kept sorted.
    pub fn setgroups(&self, groups: Vec<u32>) -> Result<Cred> {
        if !self.capable(g::CAP_SETGID) {
            return_errno_with_message!(EPERM, "setting supplementary groups needs CAP_SETGID");
        }
        let mut new = self.clone();
        new.groups = groups;
        new.groups.sort_unstable();
        Ok(new)
    }

    /// capset(2) on the caller (cap_capset): the new inheritable set stays
    /// within the old inheritable and permitted ones (unless CAP_SETPCAP)
    /// and within the bounding set, the permitted set only shrinks, and the
    /// effective set is within the new permitted one.
    pub fn capset(&self, effective: u64, permitted: u64, inheritable: u64) -> Result<Cred> {
        let (effective, permitted, inheritable) =
            (effective & CAP_VALID_MASK, permitted & CAP_VALID_MASK, inheritable & CAP_VALID_MASK);
        let is_subset = |a: u64, b: u64| a & !b == 0;
        if !self.capable(g::CAP_SETPCAP) && !is_subset(inheritable, self.cap_inheritable | self.cap_permitted) {
            return_errno_with_message!(EPERM, "inheritable capabilities beyond the permitted ones need CAP_SETPCAP");
        }
        if !is_subset(inheritable, self.cap_inheritable | self.cap_bset) {
            return_errno_with_message!(EPERM, "inheritable capabilities beyond the bounding set");
        }
        if !is_subset(permitted, self.cap_permitted) {
            return_errno_with_message!(EPERM, "the permitted set can only shrink");
        }
        if !is_subset(effective, permitted) {
            return_errno_with_message!(EPERM, "effective capabilities must be permitted");
        }
        let mut new = self.clone();
        new.cap_effective = effective;
        new.cap_permitted = permitted;
        new.cap_inheritable = inheritable;
        new.cap_ambient &= permitted & inheritable;
        Ok(new)
    }

    /// PR_CAPBSET_DROP (cap_prctl_drop).
    pub fn capbset_drop(&self, c: u64) -> Result<Cred> {
        if !self.capable(g::CAP_SETPCAP) {
            return_errno_with_message!(EPERM, "dropping from the bounding set needs CAP_SETPCAP");
        }
        if !cap_valid(c) {
            return_errno_with_message!(EINVAL, "no such capability");
        }
        let mut new = self.clone();
        new.cap_bset &= !(1u64 << c);
        Ok(new)
    }

    /// PR_SET_KEEPCAPS.
    pub fn set_keepcaps(&self, on: u64) -> Result<Cred> {
        if on > 1 {
            return_errno_with_message!(EINVAL, "PR_SET_KEEPCAPS takes 0 or 1");
        }
        if self.issecure(SECURE_KEEP_CAPS_LOCKED) {
            return_errno_with_message!(EPERM, "SECBIT_KEEP_CAPS is locked");
        }
        let mut new = self.clone();
        new.securebits &= !(1 << SECURE_KEEP_CAPS);
        if on == 1 {
            new.securebits |= 1 << SECURE_KEEP_CAPS;
        }
        Ok(new)
    }

    /// PR_GET_KEEPCAPS.
    pub fn keepcaps(&self) -> bool {
        self.issecure(SECURE_KEEP_CAPS)
    }

    /// PR_SET_SECUREBITS: no locked bit changes, no lock is released, no
    /// unknown bit, and the caller has CAP_SETPCAP.
    pub fn set_securebits(&self, bits: u64) -> Result<Cred> {
        let old = u64::from(self.securebits);
        let locks = u64::from(SECURE_ALL_LOCKS);
        if ((old & locks) >> 1) & (old ^ bits) != 0
            || old & locks & !bits != 0
            || bits & !u64::from(SECURE_ALL_LOCKS | SECURE_ALL_BITS) != 0
            || !self.capable(g::CAP_SETPCAP)
        {
            return_errno_with_message!(EPERM, "securebits: a locked bit, an unknown bit, or no CAP_SETPCAP");
        }
        let mut new = self.clone();
        new.securebits = bits as u32;
        Ok(new)
    }

    /// PR_CAP_AMBIENT_RAISE / _LOWER of capability `c` (already checked valid).
    pub fn ambient(&self, raise: bool, c: u64) -> Result<Cred> {
        let bit = 1u64 << c;
        if raise
            && (self.cap_permitted & bit == 0
                || self.cap_inheritable & bit == 0
                || self.issecure(SECURE_NO_CAP_AMBIENT_RAISE))
        {
            return_errno_with_message!(EPERM, "an ambient capability must be permitted and inheritable");
        }
        let mut new = self.clone();
        if raise {
            new.cap_ambient |= bit;
        } else {
            new.cap_ambient &= !bit;
        }
        Ok(new)
    }

    /// What execve makes of the credentials for a program file with this
    /// `mode`, owner and group (bprm_fill_uid, cap_bprm_creds_from_file
    /// without file capabilities), and whether the exec is secure
    /// (AT_SECURE). Set-id bits are not honoured under no_new_privs.
    pub fn exec(&self, mode: u32, file_uid: u32, file_gid: u32) -> (Cred, bool) {
        let mut new = self.clone();
        if !self.no_new_privs {
            if mode & g::S_ISUID != 0 {
                new.euid = file_uid;
            }
            if mode & (g::S_ISGID | g::S_IXGRP) == g::S_ISGID | g::S_IXGRP {
                new.egid = file_gid;
            }
        }
        // get_file_caps starts from an empty permitted set.
        new.cap_permitted = 0;
        let mut effective = false;
        if !self.issecure(SECURE_NOROOT) {
            // handle_privileged_root: root runs every program as if it had
            // all file capabilities, limited by the bounding set.
            if new.euid == ROOT || new.uid == ROOT {
                new.cap_permitted = self.cap_bset | self.cap_inheritable;
            }
            effective = new.euid == ROOT;
        }
        let is_setid = new.euid != self.uid || new.egid != self.gid;
        // Under no_new_privs an exec gains nothing it did not have.
        if self.no_new_privs && (is_setid || new.cap_permitted & !self.cap_permitted != 0) {
            new.cap_permitted &= self.cap_permitted;
        }
        new.suid = new.euid;
        new.fsuid = new.euid;
        new.sgid = new.egid;
        new.fsgid = new.egid;
        if is_setid {
            new.cap_ambient = 0;
        }
        new.cap_permitted |= new.cap_ambient;
        new.cap_effective = if effective { new.cap_permitted } else { new.cap_ambient };
        new.securebits &= !(1 << SECURE_KEEP_CAPS);
        let grew = new.cap_permitted & !new.cap_ambient != 0;
        let secure = is_setid || (new.uid != ROOT && (effective || grew));
        (new, secure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> Cred {
        Cred::new(0, 0, 0, 0, vec![0])
    }

    #[test]
    fn access_checks_with_the_real_ids() {
        let mut c = root().setresuid(1000, u32::MAX, u32::MAX).unwrap();
        assert_eq!((c.uid, c.euid, c.cap_effective), (1000, 0, CAP_VALID_MASK));
        c.gid = 7;
        let a = c.access_override();
        assert_eq!((a.fsuid, a.fsgid, a.cap_effective), (1000, 7, 0));
        assert_eq!(root().access_override().cap_effective, CAP_VALID_MASK);
    }

    fn ids(c: &Cred) -> [u32; 4] {
        [c.uid, c.euid, c.suid, c.fsuid]
    }

    #[test]
    fn root_drops_to_nobody_for_good() {
        let c = root().setuid(65534).unwrap();
        assert_eq!(ids(&c), [65534; 4]);
        assert_eq!((c.cap_permitted, c.cap_effective), (0, 0));
        assert_eq!(c.setuid(0).unwrap_err().errno, crate::abi::Errno::EPERM);
    }

    #[test]
    fn seteuid_keeps_the_saved_root() {
        let c = root().setresuid(UNCHANGED, 1000, UNCHANGED).unwrap();
        assert_eq!(ids(&c), [0, 1000, 0, 1000]);
        assert_eq!(c.cap_effective, 0);
        assert_eq!(c.cap_permitted, CAP_VALID_MASK);
        let back = c.setresuid(UNCHANGED, 0, UNCHANGED).unwrap();
        assert_eq!(back.cap_effective, CAP_VALID_MASK);
        // Without CAP_SETUID, setuid changes only the effective uid.
        let d = c.setuid(0).unwrap();
        assert_eq!(ids(&d), [0, 0, 0, 0]);
    }

    #[test]
    fn setreuid_sets_saved_as_linux_does() {
        let c = root().setresuid(1000, 2000, 3000).unwrap();
        assert_eq!(ids(&c), [1000, 2000, 3000, 2000]);
        // Swapping real and effective: saved follows the new effective.
        let s = c.setreuid(2000, 1000).unwrap();
        assert_eq!(ids(&s), [2000, 1000, 1000, 1000]);
        // Effective to the saved uid only: saved stays, as it is not the real uid.
        let e = c.setreuid(UNCHANGED, 3000).unwrap();
        assert_eq!(ids(&e), [1000, 3000, 3000, 3000]);
        let e = c.setreuid(UNCHANGED, 1000).unwrap();
        assert_eq!(ids(&e), [1000, 1000, 3000, 1000]);
        assert!(c.setreuid(4000, UNCHANGED).is_err());
        assert!(c.setreuid(3000, UNCHANGED).is_err());
    }

    #[test]
    fn setfsuid_answers_and_drops_fs_caps() {
        let c = root().setfsuid(1000);
        assert_eq!(c.fsuid, 1000);
        assert_eq!(c.cap_effective & CAP_FS_MASK, 0);
        assert_ne!(c.cap_effective, 0);
        assert_eq!(c.setfsuid(0).cap_effective, CAP_VALID_MASK);
        let n = Cred::new(1000, 1000, 1000, 1000, vec![]);
        assert_eq!(n.setfsuid(0).fsuid, 1000);
    }

    #[test]
    fn capset_rules() {
        let r = root();
        let c = r.capset(0, cap(g::CAP_SETUID), 0).unwrap();
        assert_eq!(c.cap_permitted, cap(g::CAP_SETUID));
        assert!(c.capset(0, cap(g::CAP_SETGID), 0).is_err());
        assert!(c.capset(cap(g::CAP_SETGID), cap(g::CAP_SETUID), 0).is_err());
        assert!(c.capset(0, 0, cap(g::CAP_KILL)).is_err());
        assert!(c.capset(0, cap(g::CAP_SETUID), cap(g::CAP_SETUID)).is_ok());
    }

    #[test]
    fn exec_gives_root_everything_and_others_nothing() {
        let (c, secure) = root().exec(0o755, 0, 0);
        assert_eq!((c.cap_effective, secure), (CAP_VALID_MASK, false));
        let user = root().setresuid(1000, 1000, 1000).unwrap();
        let (c, secure) = user.exec(0o755, 0, 0);
        assert_eq!((c.cap_permitted, secure), (0, false));
        let (c, secure) = user.exec(0o4755, 0, 0);
        assert_eq!((ids(&c), secure), ([1000, 0, 0, 0], true));
        assert_eq!(c.cap_effective, CAP_VALID_MASK);
        // no_new_privs: set-id bits are ignored, and root gains nothing it dropped.
        let nnp = Cred { no_new_privs: true, ..user.clone() };
        let (c, secure) = nnp.exec(0o4755, 0, 0);
        assert_eq!((ids(&c), c.cap_permitted, secure), ([1000; 4], 0, false));
        let dropped = Cred { no_new_privs: true, ..root().capset(0, 0, 0).unwrap() };
        assert_eq!(dropped.exec(0o755, 0, 0).0.cap_permitted, 0);
        let keep = root().set_keepcaps(1).unwrap().setuid(1000).unwrap();
        assert_eq!(keep.cap_permitted, CAP_VALID_MASK);
        assert!(!keep.exec(0o755, 0, 0).0.keepcaps());
    }
}
