//! Opening a program for execution, and mapping the PT_LOAD segments of an
//! ELF file that `check.rs` accepted.

use super::LoadError;
use crate::abi::{gen as g, page_round_down, page_round_up};
use crate::host::{self, HostFd, MapRequest, Placement, Prot};
use crate::mm::{Backing, Vma};
use crate::task::{current, lock};
use crate::vfs::{self, Lookup, Node};
use super::check::{check_elf, ExecSource, Role, USER_TOP};
use goblin::elf::program_header::{ProgramHeader, PT_PHDR};

/// An executable opened for loading.
pub struct ExecFile {
    pub guest_path: String,
    pub fd: HostFd,
    pub size: u64,
    pub dev: u64,
    pub ino: u64,
    /// Mode, owner and group, for execve's set-user-id and set-group-id rules.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Drop for ExecFile {
    fn drop(&mut self) {
        host::fs::close(self.fd);
    }
}

impl ExecFile {
    pub fn read_at(&self, off: u64, len: usize) -> Result<Vec<u8>, crate::abi::Errno> {
        let mut buf = vec![0u8; len];
        let mut done = 0;
        while done < len {
            let n = host::fs::pread(self.fd, &mut buf[done..], (off + done as u64) as i64)?;
            if n == 0 {
                break;
            }
            done += n;
        }
        buf.truncate(done);
        Ok(buf)
    }
}

/// Opens a program for execution with execve's checks.
pub fn open_exec(path: &str) -> Result<ExecFile, LoadError> {
    let r = vfs::resolve_at(g::AT_FDCWD, &vfs::path::to_bytes(path), true)
        .map_err(|e| LoadError::from_errno(path, e.errno))?;
    match r.kind {
        Lookup::Missing => return Err(LoadError::not_found(path, "No such file or directory")),
        Lookup::Dir => return Err(LoadError::cannot_run(path, "Is a directory")),
        _ => {}
    }
    let Node::Host(hp) = &r.node else { return Err(LoadError::cannot_run(path, "Permission denied")) };
    let (dir, name) = hp.at();
    let mut st = host::fs::stat_at(dir, name).map_err(|e| LoadError::from_errno(path, e))?;
    // An imported root's set-id bits and owners are in its metadata.
    vfs::meta::apply_at(&mut st, dir, name);
    if st.mode & g::S_IFMT != g::S_IFREG {
        return Err(LoadError::cannot_run(path, "Permission denied"));
    }
    // Execute permission for the guest's ids (root needs one x bit), then
    // the host's own check for the host user.
    vfs::perm::may_exec(&current().cred(), &st).map_err(|_| LoadError::cannot_run(path, "Permission denied"))?;
    host::fs::access_at(dir, name, g::X_OK, true).map_err(|_| LoadError::cannot_run(path, "Permission denied"))?;
    let fd = host::fs::open_at(dir, name, g::O_RDONLY, 0).map_err(|e| LoadError::from_errno(path, e))?;
    Ok(ExecFile {
        guest_path: r.guest,
        fd,
        size: st.size.max(0) as u64,
        dev: st.dev,
        ino: st.ino,
        mode: st.mode,
        uid: st.uid,
        gid: st.gid,
    })
}

/// What the stack builder needs to know about a mapped image.
pub struct Image {
    pub base: u64,
    pub entry: u64,
    /// First byte past the highest segment (where brk starts).
    pub end: u64,
    pub phdr: u64,
    pub phnum: u64,
    pub interp: Option<String>,
    /// End of the range reserved after the image for brk (== `end` when none).
    pub brk_limit: u64,
}

/// Address space kept free after the main program for brk, as Linux keeps
/// the heap right after it (reserved, not committed).
const BRK_RESERVE: u64 = 1 << 30;

fn reserve_error(path: &str, span: u64, lo: u64, e: crate::abi::Errno) -> LoadError {
    LoadError::cannot_run(path, &format!("cannot reserve {span:#x} bytes at {lo:#x}: {}", e.text()))
}

impl ExecSource for ExecFile {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_at(&self, off: u64, len: usize) -> Result<Vec<u8>, crate::abi::Errno> {
        ExecFile::read_at(self, off, len)
    }
}

/// Checks (see `check.rs`, the same checks execve made before it
/// committed) and maps an ELF image; `Role::Interpreter` for the dynamic
/// loader.
pub fn load_elf(path: &str, file: &ExecFile, role: Role) -> Result<Image, LoadError> {
    let plan = check_elf(file, role).map_err(|r| LoadError::refused(path, &r))?;
    let (hdr, is_dyn, phdrs, lo, hi) = (&plan.hdr, plan.is_dyn, &plan.phdrs, plan.lo, plan.hi);
    let is_interp = role == Role::Interpreter;
    let loads: Vec<&ProgramHeader> = plan.loads().collect();
    let span = hi - lo;
    let interp = plan.interp.as_deref().map(vfs::path::from_bytes);

    // Reserve the whole span (plus room for brk after the main program),
    // then map each segment over the reservation.
    let reserve_for = |len: u64| MapRequest {
        addr: if is_dyn { 0 } else { lo },
        len,
        prot: Prot::NONE,
        is_shared: false,
        placement: if is_dyn { Placement::Anywhere } else { Placement::NoReplace },
        file: None,
        noreserve: false,
    };
    let tail = if is_interp { 0 } else { BRK_RESERVE };
    let (start, tail) = match host::mem::map(&reserve_for(span + tail)) {
        Ok(s) => (s, tail),
        Err(_) if tail > 0 => (host::mem::map(&reserve_for(span)).map_err(|e| reserve_error(path, span, lo, e))?, 0),
        Err(e) => return Err(reserve_error(path, span, lo, e)),
    };
    let bias = if is_dyn { start - lo } else { 0 };
    let mut mm_records = vec![(start, Vma { end: start + span, prot: Prot::NONE, is_shared: false, backing: Backing::Anon })];

    for p in &loads {
        let prot = Prot { read: p.is_read(), write: p.is_write(), exec: p.is_executable() };
        let hprot = crate::syscall::mm::host_prot(prot, false);
        let seg_start = page_round_down(p.p_vaddr) + bias;
        let file_end = p.p_vaddr + p.p_filesz + bias;
        let mem_end = page_round_up(p.p_vaddr + p.p_memsz).unwrap_or(USER_TOP) + bias;
        let file_map_end = page_round_up(file_end).unwrap_or(USER_TOP);
        let fail = |e: crate::abi::Errno| LoadError::cannot_run(path, &format!("cannot map segment: {}", e.text()));
        if p.p_filesz > 0 {
            let req = MapRequest {
                addr: seg_start,
                len: file_map_end - seg_start,
                prot: Prot { write: true, ..hprot },
                is_shared: false,
                placement: Placement::Replace,
                file: Some((file.fd, page_round_down(p.p_offset))),
                noreserve: false,
            };
            host::mem::map(&req).map_err(fail)?;
            // Zero the tail of the last file page that belongs to .bss.
            if p.p_memsz > p.p_filesz && file_map_end > file_end {
                crate::uaccess::zero_fresh_mapping(file_end, file_map_end - file_end);
            }
            if !hprot.write {
                host::mem::protect(seg_start, file_map_end - seg_start, hprot).map_err(fail)?;
            }
            mm_records.push((
                seg_start,
                Vma {
                    end: file_map_end.min(mem_end.max(file_map_end)),
                    prot,
                    is_shared: false,
                    backing: Backing::File { path: file.guest_path.clone(), offset: page_round_down(p.p_offset), dev: file.dev, ino: file.ino },
                },
            ));
        }
        let anon_start = if p.p_filesz > 0 { file_map_end } else { seg_start };
        if mem_end > anon_start {
            let req = MapRequest { addr: anon_start, len: mem_end - anon_start, prot: hprot, is_shared: false, placement: Placement::Replace, file: None, noreserve: false };
            host::mem::map(&req).map_err(fail)?;
            mm_records.push((anon_start, Vma { end: mem_end, prot, is_shared: false, backing: Backing::Anon }));
        }
    }
    {
        let mut mm = lock(&current().mm);
        for (s, v) in mm_records {
            mm.insert(s, v);
        }
    }

    // Where the program headers are in memory: PT_PHDR, or inside the first
    // segment that maps e_phoff.
    let phdr = phdrs
        .iter()
        .find(|p| p.p_type == PT_PHDR)
        .map(|p| p.p_vaddr.wrapping_add(bias))
        .or_else(|| {
            loads
                .iter()
                .find(|p| p.p_offset <= hdr.e_phoff && hdr.e_phoff < p.p_offset + p.p_filesz)
                .map(|p| p.p_vaddr + (hdr.e_phoff - p.p_offset) + bias)
        })
        .unwrap_or(0);
    Ok(Image {
        base: bias,
        // A wild entry point faults in the guest, as on Linux.
        entry: hdr.e_entry.wrapping_add(bias),
        end: hi + bias,
        phdr,
        phnum: u64::from(hdr.e_phnum),
        interp,
        brk_limit: start + span + tail,
    })
}
