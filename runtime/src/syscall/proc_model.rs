//! The process model: fork, vfork, clone, execve, wait, process groups and
//! sessions (being written; these answer ENOSYS until then).

use super::Ctx;
use crate::error::Result;

macro_rules! pending {
    ($($name:ident),* $(,)?) => { $(
        pub fn $name(_: &mut Ctx<'_>, _: [u64; 6]) -> Result<u64> {
            Err(crate::errno!(ENOSYS, "not implemented yet"))
        }
    )* };
}

pending!(fork, vfork, clone, execve, execveat, wait4, waitid, setpgid, setsid, mknodat, mknod);
