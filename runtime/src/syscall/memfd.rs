//! memfd_create(2) and file sealing (fcntl F_ADD_SEALS, F_GET_SEALS).
//! https://man7.org/linux/man-pages/man2/memfd_create.2.html
//!
//! A memfd is a host temporary file, unlinked as soon as it is made
//! (`host::fs::anonymous_file` in the host's temp dir): read, write, mmap,
//! ftruncate and fstat are the host file's. The runtime adds the name
//! (`/memfd:NAME (deleted)` in /proc/PID/fd) and the seals, checked before
//! each write, resize and shared writable mapping as Linux's shmem checks
//! them (mm/memfd.c, mm/shmem.c).
//!
//! Divergences from Linux:
//! - MFD_HUGETLB is EINVAL: guest memory is never backed by huge pages.
//! - The seals live in the runtime, in a page a fork leaves shared and
//!   execve keeps (`FileOps::exec_state`), so every process holding the
//!   memfd sees one set. A write checks them under a lock of its own
//!   process: a seal another process adds while the write runs does not
//!   stop it (Linux holds the inode's lock). F_SEAL_EXEC is recorded (and adds
//!   the write seals on an executable memfd, as Linux does) but fchmod is
//!   not refused.
//! - F_SEAL_WRITE is EBUSY while this process has a shared mapping of the
//!   memfd (Linux: a shared mapping through a writable fd, in any process);
//!   mprotect does not stop a read-only shared mapping from becoming
//!   writable after F_SEAL_WRITE; sendfile and copy_file_range into a sealed
//!   memfd are not refused.
//! - A memfd reopened through /proc/self/fd has its own access mode and
//!   shares the seals, but also shares the file position with the original.

use super::{args, Ctx};
use crate::abi::gen as g;
use crate::error::{Error, Result};
use crate::host::mem::SharedWords;
use crate::host::{self, HostFd, HostStat};
use crate::task::{current, lock};
use crate::vfs::file::{ExecIds, ExecKind, ExecObjects, FileOps, HostFile, KindState, OpenFile};
use crate::vfs::poll::Ready;
use crate::vfs::DirEnt;
use crate::{errno, return_errno_with_message};
use std::any::Any;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

/// The longest name, without its NUL (MFD_NAME_MAX_LEN: NAME_MAX minus
/// the "memfd:" prefix).
const MFD_NAME_MAX_LEN: usize = 255 - 6;
const MFD_ALL_FLAGS: u32 = g::MFD_CLOEXEC | g::MFD_ALLOW_SEALING | g::MFD_HUGETLB | g::MFD_NOEXEC_SEAL | g::MFD_EXEC;
const F_ALL_SEALS: u32 =
    g::F_SEAL_SEAL | g::F_SEAL_SHRINK | g::F_SEAL_GROW | g::F_SEAL_WRITE | g::F_SEAL_FUTURE_WRITE | g::F_SEAL_EXEC;
const WRITE_SEALS: u32 = g::F_SEAL_WRITE | g::F_SEAL_FUTURE_WRITE;

/// What every open file description of one memfd shares.
struct Inner {
    host: HostFile,
    /// `F_SEAL_*` in word [`W_SEALS`] of a page a fork leaves shared and
    /// execve maps again, so every process holding the memfd sees one set
    /// of seals, as Linux keeps them on the inode.
    shared: SharedWords,
    /// Held across a checked write in this process, so that a seal added
    /// by another of its threads meanwhile cannot let the write through.
    writing: Mutex<()>,
}

const W_SEALS: usize = 0;
const WORDS: usize = 1;

impl Inner {
    fn seals(&self) -> u32 {
        self.shared.word(W_SEALS).load(Relaxed) as u32
    }
}

pub struct Memfd(Arc<Inner>);

impl Memfd {
    fn host_fd(&self) -> HostFd {
        self.0.host.host_fd().unwrap_or(-1)
    }

    pub fn size(&self) -> Result<u64> {
        let st = host::fs::fstat(self.host_fd()).map_err(Error::new)?;
        Ok(u64::try_from(st.size).unwrap_or(0))
    }

    pub fn seals(&self) -> u32 {
        self.0.seals()
    }

    /// How much of a `len`-byte write at `off` (None: the file position)
    /// the seals let through: EPERM under a write seal, or for a write that
    /// starts at or past the end under F_SEAL_GROW (shmem_write_begin).
    fn writable_len(&self, seals: u32, f: &OpenFile, len: usize, off: Option<u64>) -> Result<usize> {
        if seals & WRITE_SEALS != 0 {
            return_errno_with_message!(EPERM, "the memfd is sealed against writes");
        }
        if seals & g::F_SEAL_GROW == 0 || len == 0 {
            return Ok(len);
        }
        let size = self.size()?;
        let at = match off {
            Some(off) => off,
            None if f.status() & g::O_APPEND != 0 => size,
            None => u64::try_from(self.0.host.seek(f, 0, g::SEEK_CUR)?).unwrap_or(0),
        };
        if at >= size {
            return_errno_with_message!(EPERM, "the memfd is sealed against growing");
        }
        Ok(len.min(usize::try_from(size - at).unwrap_or(usize::MAX)))
    }

    /// ftruncate and fallocate to `new_len` bytes: EPERM when a seal
    /// forbids that change of size.
    pub fn check_resize(&self, new_len: u64) -> Result<()> {
        let seals = self.seals();
        let size = self.size()?;
        if new_len < size && seals & g::F_SEAL_SHRINK != 0 {
            return_errno_with_message!(EPERM, "the memfd is sealed against shrinking");
        }
        if new_len > size && seals & g::F_SEAL_GROW != 0 {
            return_errno_with_message!(EPERM, "the memfd is sealed against growing");
        }
        Ok(())
    }

    /// fallocate's hole punching writes: refused under a write seal.
    pub fn check_write(&self) -> Result<()> {
        if self.seals() & WRITE_SEALS != 0 {
            return_errno_with_message!(EPERM, "the memfd is sealed against writes");
        }
        Ok(())
    }

    /// mmap: a shared writable mapping is EPERM under a write seal
    /// (shmem_mmap's memfd_check_seals_mmap).
    pub fn check_map(&self, is_shared_writable: bool) -> Result<()> {
        if is_shared_writable && self.seals() & WRITE_SEALS != 0 {
            return_errno_with_message!(EPERM, "the memfd is sealed against writes");
        }
        Ok(())
    }

    /// fcntl(F_ADD_SEALS) through open file `f` (memfd_add_seals).
    pub fn add_seals(&self, f: &OpenFile, seals: u32) -> Result<()> {
        if f.status() & g::O_ACCMODE == g::O_RDONLY {
            return_errno_with_message!(EPERM, "seals are added through a writable fd");
        }
        if seals & !F_ALL_SEALS != 0 {
            return_errno_with_message!(EINVAL, "unknown seals");
        }
        let _writing = lock(&self.0.writing);
        let word = self.0.shared.word(W_SEALS);
        // Another process holding the memfd may add seals at the same time:
        // the new set is stored only over the one these checks saw.
        loop {
            let cur = word.load(Relaxed) as u32;
            if cur & g::F_SEAL_SEAL != 0 {
                return_errno_with_message!(EPERM, "the memfd is sealed against new seals");
            }
            let mut add = seals;
            if add & g::F_SEAL_WRITE != 0 && cur & g::F_SEAL_WRITE == 0 && self.is_mapped_shared()? {
                return_errno_with_message!(EBUSY, "the memfd has a shared mapping that may write");
            }
            // F_SEAL_EXEC implies the write seals on an executable memfd (W^X).
            let st = host::fs::fstat(self.host_fd()).map_err(Error::new)?;
            if add & g::F_SEAL_EXEC != 0 && st.mode & 0o111 != 0 {
                add |= g::F_SEAL_SHRINK | g::F_SEAL_GROW | WRITE_SEALS;
            }
            if word.compare_exchange(u64::from(cur), u64::from(cur | add), Relaxed, Relaxed).is_ok() {
                return Ok(());
            }
        }
    }

    /// Whether this process maps the memfd shared (a mapping through a
    /// writable fd, which all but a /proc reopen are, may turn writable).
    fn is_mapped_shared(&self) -> Result<bool> {
        let st = host::fs::fstat(self.host_fd()).map_err(Error::new)?;
        let mm = lock(&current().mm);
        let found = mm.iter().any(|(_, v)| {
            v.is_shared && matches!(v.backing, crate::mm::Backing::File { dev, ino, .. } if dev == st.dev && ino == st.ino)
        });
        Ok(found)
    }
}

impl FileOps for Memfd {
    fn stat(&self, f: &OpenFile) -> Result<HostStat> {
        self.0.host.stat(f)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn host_fd(&self) -> Option<HostFd> {
        self.0.host.host_fd()
    }

    fn read(&self, f: &OpenFile, buf: &mut [u8]) -> Result<usize> {
        self.0.host.read(f, buf)
    }

    fn pread(&self, f: &OpenFile, buf: &mut [u8], off: u64) -> Result<usize> {
        self.0.host.pread(f, buf, off)
    }

    fn read_guest(&self, f: &OpenFile, addr: u64, len: usize, off: Option<u64>) -> Result<usize> {
        self.0.host.read_guest(f, addr, len, off)
    }

    fn write(&self, f: &OpenFile, buf: &[u8]) -> Result<usize> {
        let _writing = lock(&self.0.writing);
        let n = self.writable_len(self.seals(), f, buf.len(), None)?;
        self.0.host.write(f, &buf[..n])
    }

    fn pwrite(&self, f: &OpenFile, buf: &[u8], off: u64) -> Result<usize> {
        let _writing = lock(&self.0.writing);
        let n = self.writable_len(self.seals(), f, buf.len(), Some(off))?;
        self.0.host.pwrite(f, &buf[..n], off)
    }

    fn write_guest(&self, f: &OpenFile, addr: u64, len: usize, off: Option<u64>) -> Result<usize> {
        let _writing = lock(&self.0.writing);
        let n = self.writable_len(self.seals(), f, len, off)?;
        self.0.host.write_guest(f, addr, n, off)
    }

    fn seek(&self, f: &OpenFile, off: i64, whence: u32) -> Result<i64> {
        self.0.host.seek(f, off, whence)
    }

    fn read_dir(&self, f: &OpenFile, fits: &mut dyn FnMut(&DirEnt, i64) -> bool) -> Result<usize> {
        self.0.host.read_dir(f, fits)
    }

    fn poll(&self, f: &OpenFile, events: u32, wake: &mut Vec<(HostFd, u32)>) -> Ready {
        self.0.host.poll(f, events, wake)
    }

    fn reopen(&self) -> Option<Box<dyn FileOps>> {
        Some(Box::new(Memfd(self.0.clone())))
    }

    /// The host file and the seals' page cross as host fds, once per
    /// memfd: the other open files of it (reopens through /proc) find it
    /// again by its number.
    fn exec_state(&self, _f: &OpenFile, ids: &ExecIds<'_>) -> Option<KindState> {
        let (object, first) = ids.object(&self.0);
        let fd = self.0.host.host_fd()?;
        let page = self.0.shared.fd();
        let host_fds = if first { vec![fd, page] } else { Vec::new() };
        KindState::new(EXEC_KIND.name, &ExecState { object, fd, page }, host_fds)
    }
}

/// What a memfd carries across execve: its host file and seals' page, and
/// the number of the memfd among the objects that cross.
#[derive(serde::Serialize, serde::Deserialize)]
struct ExecState {
    object: u32,
    fd: HostFd,
    page: HostFd,
}

pub const EXEC_KIND: ExecKind = ExecKind { name: "memfd", restore };

fn restore(k: &KindState, objects: &ExecObjects) -> Result<Box<dyn FileOps>> {
    let st: ExecState = k.decode().ok_or_else(|| errno!(EINVAL, "a memfd's state does not decode"))?;
    if let Some(inner) = objects.get::<Inner>(st.object) {
        return Ok(Box::new(Memfd(inner)));
    }
    if !k.host_fds.contains(&st.fd) {
        return_errno_with_message!(EINVAL, "a memfd crossed without its file");
    }
    let shared = SharedWords::from_fd(st.page, WORDS).map_err(|e| Error::with_message(e, "cannot map a memfd's seals again"))?;
    let inner = Arc::new(Inner { host: HostFile::new(st.fd, false), shared, writing: Mutex::new(()) });
    objects.put(st.object, inner.clone());
    Ok(Box::new(Memfd(inner)))
}

pub fn memfd_create(_: &mut Ctx<'_>, a: [u64; 6]) -> Result<u64> {
    let huge_sizes = g::MFD_HUGE_MASK << g::MFD_HUGE_SHIFT;
    let raw = a[1];
    let known = if raw & u64::from(g::MFD_HUGETLB) != 0 { MFD_ALL_FLAGS | huge_sizes } else { MFD_ALL_FLAGS };
    let flags = args::flags(raw, known, "unknown memfd_create flags")?;
    if flags & g::MFD_EXEC != 0 && flags & g::MFD_NOEXEC_SEAL != 0 {
        return_errno_with_message!(EINVAL, "MFD_EXEC and MFD_NOEXEC_SEAL contradict each other");
    }
    let name = uaccess_name(a[0])?;
    if flags & g::MFD_HUGETLB != 0 {
        return Err(super::refuse("memfd_create", crate::abi::Errno::EINVAL, "MFD_HUGETLB: guest memory has no huge pages", None));
    }
    let fd = host::fs::anonymous_file(&std::env::temp_dir(), "mactux-memfd-").map_err(|e| Error::with_message(e, "cannot make the host file behind a memfd"))?;
    let host = HostFile::new(fd, false);
    let is_noexec = flags & g::MFD_NOEXEC_SEAL != 0;
    // Linux's memfd is mode 0777, or 0666 with MFD_NOEXEC_SEAL.
    host::fs::fchmod(fd, if is_noexec { 0o666 } else { 0o777 }).map_err(Error::new)?;
    // A memfd is sealed against sealing unless asked (shmem files start so).
    let seals = if is_noexec {
        g::F_SEAL_EXEC
    } else if flags & g::MFD_ALLOW_SEALING != 0 {
        0
    } else {
        g::F_SEAL_SEAL
    };
    let shared = SharedWords::new(WORDS).map_err(|e| Error::with_message(e, "cannot map a memfd's seals"))?;
    shared.word(W_SEALS).store(u64::from(seals), Relaxed);
    let memfd = Memfd(Arc::new(Inner { host, shared, writing: Mutex::new(()) }));
    let guest_path = format!("/memfd:{}", crate::vfs::path::from_bytes(&name));
    let file = OpenFile::new(guest_path, memfd, g::O_RDWR | g::O_LARGEFILE);
    let fd = lock(&current().fds).install(Arc::new(file), flags & g::MFD_CLOEXEC != 0)?;
    Ok(fd as u64)
}

/// The name argument: at most MFD_NAME_MAX_LEN bytes before its NUL.
fn uaccess_name(addr: u64) -> Result<Vec<u8>> {
    match crate::uaccess::read_cstr(addr, MFD_NAME_MAX_LEN) {
        Err(e) if e.errno == crate::abi::Errno::ENAMETOOLONG => {
            return_errno_with_message!(EINVAL, "a memfd name is at most 249 bytes")
        }
        other => other,
    }
}

/// The memfd behind an open file, for fcntl's seal commands: EINVAL for
/// any other kind (F_GET_SEALS on a file that cannot be sealed).
pub fn of(file: &OpenFile) -> Result<&Memfd> {
    file.ops_as::<Memfd>().ok_or_else(|| errno!(EINVAL, "only a memfd has seals"))
}
