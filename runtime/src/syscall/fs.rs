//! File and directory syscalls (placeholder bodies; being written).

use super::Ctx;
use crate::error::Result;

pub fn access(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn chdir(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn chmod(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn chown(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn close(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn close_range(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn copy_file_range(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn creat(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn dup(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn dup2(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn dup3(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn faccessat(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn faccessat2(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn fadvise64(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn fallocate(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn fchdir(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn fchmod(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn fchmodat(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn fchown(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn fchownat(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn fcntl(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn fdatasync(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn fstat(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn fstatfs(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn fsync(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn ftruncate(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn getcwd(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn getdents64(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn ioctl(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn lchown(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn link(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn linkat(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn lseek(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn lstat(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn mkdir(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn mkdirat(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn newfstatat(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn open(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn openat(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn pread64(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn preadv(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn pwrite64(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn pwritev(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn read(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn readlink(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn readlinkat(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn readv(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn rename(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn renameat(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn renameat2(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn rmdir(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn sendfile(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn stat(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn statfs(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn statx(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn symlink(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn symlinkat(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn truncate(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn umask(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn unlink(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn unlinkat(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn utimensat(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn write(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}

pub fn writev(_cx: &mut Ctx<'_>, _a: [u64; 6]) -> Result<u64> {
    Err(crate::errno!(ENOSYS, "not implemented yet"))
}
