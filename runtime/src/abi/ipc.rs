//! System V IPC structures of the x86_64 ABI (linux-raw-sys has none):
//! `struct ipc64_perm` (include/uapi/asm-generic/ipcbuf.h), `shmid64_ds`
//! (arch/x86/include/uapi/asm/shmbuf.h), `semid64_ds`
//! (arch/x86/include/uapi/asm/sembuf.h), `msqid64_ds`
//! (include/uapi/asm-generic/msgbuf.h), and the *info structures. The
//! constants are the protocol's ([`mactux_proto::sysv`]), which carries
//! Linux values.

pub use mactux_proto::sysv::*;

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Ipc64Perm {
    pub key: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    pub mode: u32,
    pub seq: u16,
    pub pad2: u16,
    /// The alignment gap before `unused1`, explicit so that no byte is undefined.
    pub pad3: u32,
    pub unused1: u64,
    pub unused2: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Shmid64Ds {
    pub perm: Ipc64Perm,
    pub segsz: u64,
    pub atime: i64,
    pub dtime: i64,
    pub ctime: i64,
    pub cpid: i32,
    pub lpid: i32,
    pub nattch: u64,
    pub unused4: u64,
    pub unused5: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Semid64Ds {
    pub perm: Ipc64Perm,
    pub otime: i64,
    pub unused1: u64,
    pub ctime: i64,
    pub unused2: u64,
    pub nsems: u64,
    pub unused3: u64,
    pub unused4: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Msqid64Ds {
    pub perm: Ipc64Perm,
    pub stime: i64,
    pub rtime: i64,
    pub ctime: i64,
    pub cbytes: u64,
    pub qnum: u64,
    pub qbytes: u64,
    pub lspid: i32,
    pub lrpid: i32,
    pub unused4: u64,
    pub unused5: u64,
}

/// `struct shminfo64`: shmmax, shmmin, shmmni, shmseg, shmall, 4 unused.
pub type Shminfo64 = [u64; 9];

/// `struct shm_info`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct ShmInfo {
    pub used_ids: i32,
    pub pad: u32,
    pub shm_tot: u64,
    pub shm_rss: u64,
    pub shm_swp: u64,
    pub swap_attempts: u64,
    pub swap_successes: u64,
}

/// `struct seminfo`: semmap, semmni, semmns, semmnu, semmsl, semopm,
/// semume, semusz, semvmx, semaem.
pub type Seminfo = [i32; 10];

/// `struct msginfo`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Msginfo {
    /// msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql.
    pub ints: [i32; 7],
    pub msgseg: u16,
    pub pad: u16,
}

/// `struct sembuf`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Sembuf {
    pub num: u16,
    pub op: i16,
    pub flags: i16,
}

// The sizes glibc and musl lay these out with on x86_64.
const _: () = assert!(core::mem::size_of::<Ipc64Perm>() == 48);
const _: () = assert!(core::mem::size_of::<Shmid64Ds>() == 112);
const _: () = assert!(core::mem::size_of::<Semid64Ds>() == 104);
const _: () = assert!(core::mem::size_of::<Msqid64Ds>() == 120);
const _: () = assert!(core::mem::size_of::<ShmInfo>() == 48);
const _: () = assert!(core::mem::size_of::<Msginfo>() == 32);
const _: () = assert!(core::mem::size_of::<Sembuf>() == 6);
