//! The guest's file descriptor table: guest fd numbers → open files.
//!
//! Guest fd numbers are the guest's own; host fds are an implementation
//! detail of host-backed kinds (`vfs::host_file`). Close-on-exec is a property of the table entry,
//! as in Linux; everything else belongs to the open file description.

use super::file::OpenFile;
use crate::error::Result;
use crate::task::{current, lock};
use crate::{errno, return_errno};
use std::sync::Arc;

#[derive(Clone)]
pub struct FdEntry {
    pub file: Arc<OpenFile>,
    pub cloexec: bool,
}

/// Cloned for a CLONE_VM child without CLONE_FILES: the same open files
/// under the same numbers (a fork child gets its copy from the host fork).
#[derive(Clone, Default)]
pub struct FdTable {
    slots: Vec<Option<FdEntry>>,
}

impl FdTable {
    /// How many fds a process may have: RLIMIT_NOFILE, which Linux never
    /// lets exceed fs.nr_open (2^20 by default). Read from the host once
    /// and kept (`Process::nofile_limit`) until a limit is set.
    pub fn limit() -> usize {
        let read = || crate::host::process::get_rlimit(linux_raw_sys::general::RLIMIT_NOFILE).map_or(1024, |(cur, _)| cur.min(1 << 20));
        crate::task::try_current().map_or_else(read, |p| p.nofile_limit.get(read)) as usize
    }

    pub fn get(&self, fd: i32) -> Result<Arc<OpenFile>> {
        self.entry(fd).map(|e| e.file.clone())
    }

    pub fn entry(&self, fd: i32) -> Result<&FdEntry> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get(i))
            .and_then(Option::as_ref)
            .ok_or_else(|| errno!(EBADF))
    }

    pub fn entry_mut(&mut self, fd: i32) -> Result<&mut FdEntry> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .and_then(Option::as_mut)
            .ok_or_else(|| errno!(EBADF))
    }

    /// Installs `file` at the lowest free fd ≥ `min`.
    pub fn install_from(&mut self, min: usize, file: Arc<OpenFile>, cloexec: bool) -> Result<i32> {
        let limit = Self::limit();
        if min >= limit {
            return_errno!(EINVAL);
        }
        let idx = (min..limit).find(|&i| self.slots.get(i).is_none_or(Option::is_none));
        let Some(idx) = idx else { return Err(errno!(EMFILE)) };
        if self.slots.len() <= idx {
            self.slots.resize(idx + 1, None);
        }
        self.slots[idx] = Some(FdEntry { file, cloexec });
        crate::task::note_view_changed();
        Ok(idx as i32)
    }

    pub fn install(&mut self, file: Arc<OpenFile>, cloexec: bool) -> Result<i32> {
        self.install_from(0, file, cloexec)
    }

    /// Puts `file` at exactly `fd`, returning what was there (dup2 semantics).
    pub fn install_at(&mut self, fd: i32, file: Arc<OpenFile>, cloexec: bool) -> Result<Option<FdEntry>> {
        let idx = usize::try_from(fd).map_err(|_| errno!(EBADF))?;
        if idx >= Self::limit() {
            return_errno!(EBADF);
        }
        if self.slots.len() <= idx {
            self.slots.resize(idx + 1, None);
        }
        crate::task::note_view_changed();
        Ok(self.slots[idx].replace(FdEntry { file, cloexec }))
    }

    pub fn remove(&mut self, fd: i32) -> Result<FdEntry> {
        crate::task::note_view_changed();
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .and_then(Option::take)
            .ok_or_else(|| errno!(EBADF))
    }

    /// Every open fd in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &FdEntry)> {
        self.slots.iter().enumerate().filter_map(|(i, e)| e.as_ref().map(|e| (i as i32, e)))
    }

    pub fn highest(&self) -> Option<i32> {
        self.iter().last().map(|(fd, _)| fd)
    }
}

/// The open file `fd` names in the calling process's table (Linux's `fget`).
pub fn file_of(fd: i32) -> Result<Arc<OpenFile>> {
    lock(&current().fds).get(fd)
}

/// Installs `file` at the lowest free fd of the calling process's table
/// (Linux's `fd_install`), as a syscall's return value.
pub fn install(file: OpenFile, cloexec: bool) -> Result<u64> {
    let fd = lock(&current().fds).install(Arc::new(file), cloexec)?;
    Ok(fd as u64)
}
