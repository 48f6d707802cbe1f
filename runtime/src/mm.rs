//! The guest's address space as the runtime knows it: every guest mapping,
//! its Linux protection and what backs it. Guest pointers are checked against
//! this map (see `uaccess.rs`), and /proc/self/maps is rendered from it.
//!
//! Lock order: `Mm` is a leaf lock; never call into the VFS while holding it.

use crate::host::Prot;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backing {
    Anon,
    /// A file mapping: the guest path, offset of the mapping start, device and inode.
    File { path: String, offset: u64, dev: u64, ino: u64 },
    Heap,
    Stack,
    /// The vDSO image the loader maps (loader/vdso.rs).
    Vdso,
    /// Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS): a region id that
    /// fork children share, and this piece's offset in the region. Shared
    /// futexes on it are keyed by both.
    SharedAnon { region: u64, offset: u64 },
    /// A System V shared memory attach (syscall/ipc.rs): the segment's id
    /// and key (/proc/PID/maps shows them as Linux does), this piece's
    /// offset in the segment, and the host device and inode of the
    /// daemon's file behind it, which key shared futexes on it.
    SysvShm { shmid: i32, key: i32, offset: u64, dev: u64, ino: u64 },
}

impl Backing {
    /// The backing of the part of a mapping that starts `delta` bytes later.
    fn advanced(&self, delta: u64) -> Backing {
        let mut b = self.clone();
        match &mut b {
            Backing::File { offset, .. } | Backing::SharedAnon { offset, .. } | Backing::SysvShm { offset, .. } => *offset += delta,
            _ => {}
        }
        b
    }
}

/// The device number /proc/PID/maps shows for System V segments (00:01).
const SYSV_SHM_DEV: u64 = 1;

#[derive(Clone, Debug)]
pub struct Vma {
    pub end: u64,
    /// The protection the guest asked for (the host may have more, see loader).
    pub prot: Prot,
    pub is_shared: bool,
    pub backing: Backing,
}

#[derive(Default)]
pub struct Mm {
    vmas: BTreeMap<u64, Vma>,
    /// The program break: start of the heap and its current end.
    pub brk_start: u64,
    pub brk: u64,
    /// End of the address range reserved (PROT_NONE, not guest memory) for
    /// the heap to grow into.
    pub brk_limit: u64,
    /// Lowest address of the main stack mapping and the initial stack pointer.
    pub stack_top: u64,
    pub exe_end: u64,
}

impl Mm {
    /// Removes `[start, end)` from the map, splitting mappings that straddle it.
    pub fn remove(&mut self, start: u64, end: u64) {
        crate::task::note_view_changed();
        let overlapping: Vec<u64> = self.vmas.range(..end).filter(|(_, v)| v.end > start).map(|(s, _)| *s).collect();
        for s in overlapping {
            let Some(v) = self.vmas.remove(&s) else { continue };
            if s < start {
                let mut head = v.clone();
                head.end = start;
                self.vmas.insert(s, head);
            }
            if v.end > end {
                let mut tail = v.clone();
                tail.backing = v.backing.advanced(end - s);
                tail.end = v.end;
                self.vmas.insert(end, tail);
            }
        }
    }

    /// Records a new mapping, replacing whatever the range held.
    pub fn insert(&mut self, start: u64, vma: Vma) {
        crate::task::note_view_changed();
        self.remove(start, vma.end);
        self.vmas.insert(start, vma);
    }

    /// Changes the protection of `[start, end)`, which must be fully mapped.
    pub fn protect(&mut self, start: u64, end: u64, prot: Prot) -> bool {
        crate::task::note_view_changed();
        if !self.is_mapped(start, end) {
            return false;
        }
        let parts: Vec<(u64, Vma)> =
            self.vmas.range(..end).filter(|(_, v)| v.end > start).map(|(s, v)| (*s, v.clone())).collect();
        for (s, v) in parts {
            let lo = s.max(start);
            let hi = v.end.min(end);
            let mut mid = v.clone();
            mid.end = hi;
            mid.prot = prot;
            mid.backing = v.backing.advanced(lo - s);
            self.insert(lo, mid);
        }
        true
    }

    /// Whether every byte of `[start, end)` is mapped.
    pub fn is_mapped(&self, start: u64, end: u64) -> bool {
        self.check(start, end, |_| true)
    }

    /// Whether every byte of `[start, end)` is mapped with a protection `ok` accepts.
    pub fn check(&self, start: u64, end: u64, ok: impl Fn(&Vma) -> bool) -> bool {
        let mut at = start;
        while at < end {
            match self.vmas.range(..=at).next_back() {
                Some((_, v)) if v.end > at && ok(v) => at = v.end,
                _ => return false,
            }
        }
        true
    }

    /// Whether any byte of `[start, end)` is mapped.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.vmas.range(..end).any(|(_, v)| v.end > start)
    }

    /// The mapping containing `addr`.
    pub fn find(&self, addr: u64) -> Option<(u64, &Vma)> {
        self.vmas.range(..=addr).next_back().filter(|(_, v)| v.end > addr).map(|(s, v)| (*s, v))
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, &Vma)> {
        self.vmas.iter().map(|(s, v)| (*s, v))
    }

    /// Bytes mapped in [start, end) (all of the address space: 0, u64::MAX).
    pub fn mapped_bytes(&self, start: u64, end: u64) -> u64 {
        self.vmas.range(..end).filter(|(_, v)| v.end > start).map(|(s, v)| v.end.min(end) - (*s).max(start)).sum()
    }

    /// Renders /proc/self/maps.
    pub fn render_maps(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for (s, v) in self.iter() {
            let p = |b: bool, c: char| if b { c } else { '-' };
            let (off, dev, ino, name) = match &v.backing {
                Backing::File { path, offset, dev, ino } => (*offset, *dev, *ino, path.clone()),
                Backing::Heap => (0, 0, 0, "[heap]".to_string()),
                Backing::Stack => (0, 0, 0, "[stack]".to_string()),
                Backing::Vdso => (0, 0, 0, "[vdso]".to_string()),
                Backing::Anon => (0, 0, 0, String::new()),
                // Linux shows shared anonymous memory as a deleted /dev/zero.
                Backing::SharedAnon { offset, .. } => (*offset, 0, 0, "/dev/zero (deleted)".to_string()),
                // Linux names a segment after its key, on the internal shm
                // mount (device 00:01), with the id as the inode number.
                Backing::SysvShm { shmid, key, offset, .. } => {
                    (*offset, SYSV_SHM_DEV, u64::from(*shmid as u32), format!("/SYSV{:08x} (deleted)", *key as u32))
                }
            };
            let line = format!(
                "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {}",
                s,
                v.end,
                p(v.prot.read, 'r'),
                p(v.prot.write, 'w'),
                p(v.prot.exec, 'x'),
                if v.is_shared { 's' } else { 'p' },
                off,
                crate::vfs::dev_major(dev),
                crate::vfs::dev_minor(dev),
                ino
            );
            if name.is_empty() {
                let _ = writeln!(out, "{line}");
            } else {
                let _ = writeln!(out, "{line:<72} {name}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(end: u64, prot: Prot) -> Vma {
        Vma { end, prot, is_shared: false, backing: Backing::Anon }
    }

    #[test]
    fn split_and_protect() {
        let mut mm = Mm::default();
        mm.insert(0x1000, anon(0x5000, Prot::RW));
        assert!(mm.is_mapped(0x1000, 0x5000));
        mm.remove(0x2000, 0x3000);
        assert!(!mm.is_mapped(0x1000, 0x5000));
        assert!(mm.is_mapped(0x3000, 0x5000));
        assert!(mm.protect(0x3000, 0x4000, Prot::NONE));
        assert!(!mm.check(0x3000, 0x5000, |v| v.prot.read));
        assert!(mm.check(0x4000, 0x5000, |v| v.prot.write));
        assert!(!mm.protect(0x1000, 0x3000, Prot::NONE));
        assert_eq!(mm.iter().count(), 3);
    }
}
