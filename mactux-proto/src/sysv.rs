//! The Linux System V IPC constants the protocol's [`IpcOp`](crate::IpcOp)
//! carries (linux-raw-sys does not export them). Values from the x86_64
//! uapi headers: include/uapi/linux/ipc.h, shm.h, sem.h, msg.h
//! (https://elixir.bootlin.com/linux/v6.6/source/include/uapi/linux/ipc.h).

/// `key_t` IPC_PRIVATE: always a new object.
pub const IPC_PRIVATE: i32 = 0;
pub const IPC_CREAT: i32 = 0o1000;
pub const IPC_EXCL: i32 = 0o2000;
pub const IPC_NOWAIT: i32 = 0o4000;

pub const IPC_RMID: i32 = 0;
pub const IPC_SET: i32 = 1;
pub const IPC_STAT: i32 = 2;
pub const IPC_INFO: i32 = 3;
/// The "new layout" flag of 32-bit ABIs; x86_64 calls carry no version
/// bits, and a command with it set is EINVAL there.
pub const IPC_64: i32 = 0x100;

pub const SHM_RDONLY: i32 = 0o10000;
pub const SHM_RND: i32 = 0o20000;
pub const SHM_REMAP: i32 = 0o40000;
pub const SHM_EXEC: i32 = 0o100000;
pub const SHM_LOCK: i32 = 11;
pub const SHM_UNLOCK: i32 = 12;
pub const SHM_STAT: i32 = 13;
pub const SHM_INFO: i32 = 14;
pub const SHM_STAT_ANY: i32 = 15;
/// shm_perm.mode bits Linux shows: destroyed when the last attach goes,
/// and locked in memory.
pub const SHM_DEST: u32 = 0o1000;
pub const SHM_LOCKED: u32 = 0o2000;
/// The attach address granularity on x86_64 (the page size).
pub const SHMLBA: u64 = 4096;

pub const SEM_UNDO: i16 = 0x1000;
pub const GETPID: i32 = 11;
pub const GETVAL: i32 = 12;
pub const GETALL: i32 = 13;
pub const GETNCNT: i32 = 14;
pub const GETZCNT: i32 = 15;
pub const SETVAL: i32 = 16;
pub const SETALL: i32 = 17;
pub const SEM_STAT: i32 = 18;
pub const SEM_INFO: i32 = 19;
pub const SEM_STAT_ANY: i32 = 20;

pub const MSG_STAT: i32 = 11;
pub const MSG_INFO: i32 = 12;
pub const MSG_STAT_ANY: i32 = 13;
pub const MSG_NOERROR: i32 = 0o10000;
pub const MSG_EXCEPT: i32 = 0o20000;
pub const MSG_COPY: i32 = 0o40000;

/// Default limits of a fresh Linux IPC namespace
/// (include/uapi/linux/shm.h, sem.h, msg.h).
pub const SHMMIN: u64 = 1;
pub const SHMMAX: u64 = u64::MAX - (1 << 24);
pub const SHMALL: u64 = u64::MAX - (1 << 24);
pub const SHMMNI: u64 = 4096;
pub const SEMMNI: i32 = 32000;
pub const SEMMSL: i32 = 32000;
pub const SEMMNS: i32 = SEMMNI * SEMMSL;
pub const SEMOPM: i32 = 500;
pub const SEMVMX: i32 = 32767;
pub const SEMAEM: i32 = SEMVMX;
pub const SEMUME: i32 = SEMOPM;
pub const SEMMNU: i32 = SEMMNS;
pub const SEMMAP: i32 = SEMMNS;
pub const SEMUSZ: i32 = 20;
pub const MSGMNI: i32 = 32000;
pub const MSGMAX: i32 = 8192;
pub const MSGMNB: i32 = 16384;
pub const MSGPOOL: i32 = MSGMNI * MSGMNB / 1024;
pub const MSGTQL: i32 = MSGMNB;
pub const MSGMAP: i32 = MSGMNB;
pub const MSGSSZ: i32 = 16;
pub const MSGSEG: i32 = 0xffff;
/// An id is `index + seq * IPCMNI` (ipc/util.h, without ipcmni_extend).
pub const IPCMNI: i32 = 32768;
