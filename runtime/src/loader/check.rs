//! What execve checks before it commits: a `#!` line, and an ELF file's
//! header, program header table, loadable segments and PT_INTERP, judged
//! from the file's bytes alone, each refusal with the errno Linux gives.
//!
//! These are pure functions over an [`ExecSource`] (an open file, or a byte
//! slice under the fuzzer, `fuzz/fuzz_targets/elf_check.rs`): nothing is
//! mapped and no path is opened, so execve runs them before the point of no
//! return, and the loader runs the very same ones before it maps anything,
//! so the two cannot disagree. execve runs them from its handler, in the
//! trap's signal context, where they allocate as other handlers do: at most
//! the program header table (64 KiB) and PT_INTERP (4 KiB); they take no
//! lock, and their only host calls are preads of the opened file.
//!
//! The errnos and limits are those of Linux 6.x:
//! <https://elixir.bootlin.com/linux/v6.12/source/fs/binfmt_elf.c> (`load_elf_binary`,
//! `load_elf_phdrs`, `elf_read`) and
//! <https://elixir.bootlin.com/linux/v6.12/source/fs/binfmt_script.c> (`load_script`).
//!
//! Divergences from Linux:
//! - The loadable segments (there is one; `p_filesz <= p_memsz`; inside
//!   the file and the user address space; offset and address congruent
//!   modulo the page; ascending without overlap) and an interpreter's
//!   `e_type` are checked here. Linux finds a bad segment only after the
//!   point of no return (the task dies of SIGSEGV) or not at all (a segment
//!   past the end of the file faults with SIGBUS when touched); MacTux
//!   refuses the file up front: ENOEXEC for the program, ELIBBAD for its
//!   interpreter.
//! - `EI_CLASS` must be ELFCLASS64 and `EI_DATA` little-endian (ENOEXEC):
//!   the x86_64 `elf_check_arch` looks at `e_machine` only, and a 32-bit
//!   file goes to the compat loader, which MacTux does not have.

use crate::abi::{page_round_down, page_round_up, Errno, PAGE_SIZE};
use goblin::elf::header;
use goblin::elf::program_header::{ProgramHeader, PT_INTERP, PT_LOAD};
use goblin::elf64::header::{Header, SIZEOF_EHDR};
use goblin::elf64::program_header::SIZEOF_PHDR;

/// `BINPRM_BUF_SIZE`: how many bytes of the file execve reads first, and
/// all of a `#!` line that Linux looks at.
pub const BINPRM_BUF_SIZE: usize = 256;

/// `load_elf_phdrs`: at most 64 KiB of program headers.
const MAX_PHDRS_SIZE: usize = 65536;

/// `PATH_MAX`: the longest PT_INTERP `load_elf_binary` accepts.
const MAX_INTERP_SIZE: u64 = 4096;

/// The highest user address on x86_64 with 4-level paging.
pub const USER_TOP: u64 = 1 << 47;

/// A file to check: its size and positioned reads.
pub trait ExecSource {
    fn size(&self) -> u64;
    /// Up to `len` bytes at `off`; fewer only at the end of the file.
    fn read_at(&self, off: u64, len: usize) -> Result<Vec<u8>, Errno>;
}

impl ExecSource for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn read_at(&self, off: u64, len: usize) -> Result<Vec<u8>, Errno> {
        let start = usize::try_from(off).unwrap_or(usize::MAX).min(self.len());
        let end = start.saturating_add(len).min(self.len());
        Ok(self[start..end].to_vec())
    }
}

/// Why a file cannot be executed: the errno execve returns, and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub errno: Errno,
    pub why: String,
}

impl Refusal {
    fn new(errno: Errno, why: impl Into<String>) -> Refusal {
        Refusal { errno, why: why.into() }
    }
}

/// Whether the ELF is the program execve was given or the interpreter its
/// PT_INTERP names: Linux reads and judges them differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Program,
    Interpreter,
}

/// What the loader needs from a checked ELF file.
#[derive(Debug)]
pub struct ElfPlan {
    pub hdr: Header,
    /// ET_DYN: placed anywhere, with a bias; ET_EXEC: at its addresses.
    pub is_dyn: bool,
    pub phdrs: Vec<ProgramHeader>,
    /// The page-aligned span of the PT_LOAD segments, `lo < hi <= USER_TOP`.
    pub lo: u64,
    pub hi: u64,
    /// The interpreter PT_INTERP names, up to its first NUL (programs only).
    pub interp: Option<Vec<u8>>,
}

impl ElfPlan {
    /// The PT_LOAD segments, in file order (which is address order).
    pub fn loads(&self) -> impl Iterator<Item = &ProgramHeader> {
        self.phdrs.iter().filter(|p| p.p_type == PT_LOAD)
    }
}

/// Exactly `len` bytes at `off`, or `None` when the file ends first
/// (`elf_read`'s short read).
fn read_exact(src: &(impl ExecSource + ?Sized), off: u64, len: usize) -> Result<Option<Vec<u8>>, Refusal> {
    if off.checked_add(len as u64).is_none_or(|end| end > src.size()) {
        return Ok(None);
    }
    let bytes = src.read_at(off, len).map_err(|e| Refusal::new(e, format!("cannot read the file: {}", e.text())))?;
    Ok((bytes.len() == len).then_some(bytes))
}

/// Checks an ELF file as `load_elf_binary` does before its point of no
/// return, and its segments as MacTux needs them (see the module's
/// divergences). For a program, PT_INTERP is read but the interpreter is
/// not opened: the caller opens it and checks it with `Role::Interpreter`.
pub fn check_elf(src: &(impl ExecSource + ?Sized), role: Role) -> Result<ElfPlan, Refusal> {
    let is_interp = role == Role::Interpreter;
    // What every refusal of the header, the table and the segments returns:
    // a program is not in a format any binfmt takes; an interpreter is a
    // bad library (ELIBBAD).
    let bad = |why: &str| Refusal::new(if is_interp { Errno::ELIBBAD } else { Errno::ENOEXEC }, why.to_string());

    // execve sees the first BINPRM_BUF_SIZE bytes of the program, padded
    // with zeros; an interpreter's header is read whole or not at all (EIO).
    let raw = if is_interp {
        read_exact(src, 0, SIZEOF_EHDR)?.ok_or_else(|| Refusal::new(Errno::EIO, "the file is shorter than an ELF header"))?
    } else {
        let mut raw = src.read_at(0, SIZEOF_EHDR).map_err(|e| Refusal::new(e, format!("cannot read the file: {}", e.text())))?;
        raw.resize(SIZEOF_EHDR, 0);
        raw
    };
    if raw[..header::SELFMAG] != header::ELFMAG[..] {
        return Err(bad("not an ELF file"));
    }
    match raw[header::EI_CLASS] {
        header::ELFCLASS64 => {}
        header::ELFCLASS32 => return Err(bad("a 32-bit ELF; MacTux runs x86_64 programs only")),
        _ => return Err(bad("an unknown ELF class")),
    }
    if raw[header::EI_DATA] != header::ELFDATA2LSB {
        return Err(bad("a big-endian ELF"));
    }
    let raw: &[u8; SIZEOF_EHDR] = raw[..].try_into().map_err(|_| bad("a truncated ELF header"))?;
    let hdr = *Header::from_bytes(raw);
    if hdr.e_machine != header::EM_X86_64 {
        let arch = header::machine_to_str(hdr.e_machine);
        return Err(bad(&format!("built for {arch}, not x86_64")));
    }
    let is_dyn = match hdr.e_type {
        header::ET_EXEC => false,
        header::ET_DYN => true,
        _ => return Err(bad("not an executable or a shared object")),
    };

    // The program header table (load_elf_phdrs).
    let ph_len = usize::from(hdr.e_phnum) * SIZEOF_PHDR;
    if usize::from(hdr.e_phentsize) != SIZEOF_PHDR {
        return Err(bad("e_phentsize is not the size of an ELF64 program header"));
    }
    if ph_len == 0 || ph_len > MAX_PHDRS_SIZE {
        return Err(bad("e_phnum is 0 or the program headers exceed 64 KiB"));
    }
    let ph_raw = read_exact(src, hdr.e_phoff, ph_len)?.ok_or_else(|| bad("the program headers lie outside the file"))?;
    let ctx = goblin::container::Ctx::new(goblin::container::Container::Big, goblin::container::Endian::Little);
    let phdrs =
        ProgramHeader::parse(&ph_raw, 0, usize::from(hdr.e_phnum), ctx).map_err(|_| bad("corrupt program headers"))?;

    // PT_INTERP: the first one counts; an interpreter's own is ignored.
    let interp = match phdrs.iter().find(|p| p.p_type == PT_INTERP) {
        Some(p) if !is_interp => Some(read_interp(src, p)?),
        _ => None,
    };

    // The loadable segments (MacTux's checks, see the divergences).
    let mut lo = None;
    let mut prev_end = 0u64;
    for p in phdrs.iter().filter(|p| p.p_type == PT_LOAD) {
        let end = p.p_vaddr.checked_add(p.p_memsz);
        let file_end = p.p_offset.checked_add(p.p_filesz);
        if p.p_filesz > p.p_memsz {
            return Err(bad("a segment has more bytes in the file than in memory"));
        }
        if end.is_none_or(|e| e > USER_TOP) {
            return Err(bad("a segment lies outside the user address space"));
        }
        if file_end.is_none_or(|e| e > src.size()) {
            return Err(bad("a segment lies outside the file"));
        }
        if p.p_vaddr % PAGE_SIZE != p.p_offset % PAGE_SIZE {
            return Err(bad("a segment's address and file offset differ modulo the page size"));
        }
        if page_round_down(p.p_vaddr) < prev_end {
            return Err(bad("segments overlap or are out of order"));
        }
        lo.get_or_insert(page_round_down(p.p_vaddr));
        prev_end = end.and_then(page_round_up).unwrap_or(USER_TOP);
    }
    let lo = lo.ok_or_else(|| bad("no loadable segment"))?;
    if prev_end <= lo {
        return Err(bad("the loadable segments are empty"));
    }
    Ok(ElfPlan { hdr, is_dyn, phdrs, lo, hi: prev_end, interp })
}

/// PT_INTERP as `load_elf_binary` reads it: 2 to PATH_MAX bytes
/// (ENOEXEC), all inside the file (EIO), ending in a NUL (ENOEXEC); the
/// name is what precedes the first NUL.
fn read_interp(src: &(impl ExecSource + ?Sized), p: &ProgramHeader) -> Result<Vec<u8>, Refusal> {
    if p.p_filesz > MAX_INTERP_SIZE || p.p_filesz < 2 {
        return Err(Refusal::new(Errno::ENOEXEC, "PT_INTERP is shorter than 2 bytes or longer than PATH_MAX"));
    }
    let len = usize::try_from(p.p_filesz).unwrap_or(usize::MAX);
    let mut name = read_exact(src, p.p_offset, len)?
        .ok_or_else(|| Refusal::new(Errno::EIO, "PT_INTERP lies outside the file"))?;
    if name.last() != Some(&0) {
        return Err(Refusal::new(Errno::ENOEXEC, "PT_INTERP is not NUL-terminated"));
    }
    let n = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    name.truncate(n);
    if name.is_empty() {
        return Err(empty_name());
    }
    Ok(name)
}

/// `open_exec("")` walks no component and opens the working directory,
/// which cannot be executed: an interpreter named by the empty string (a
/// PT_INTERP or a `#!` name that starts with a NUL) fails with EACCES.
fn empty_name() -> Refusal {
    Refusal::new(Errno::EACCES, "the interpreter's name is empty, which names the working directory")
}

/// A `#!` line: the interpreter and its one optional argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shebang {
    pub interp: Vec<u8>,
    pub arg: Option<Vec<u8>>,
}

/// Whether execve would hand the file to `load_script`.
pub fn is_script(head: &[u8]) -> bool {
    head.starts_with(b"#!")
}

fn is_spacetab(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn is_terminator(c: u8) -> bool {
    is_spacetab(c) || c == 0
}

/// Splits a `#!` line as `load_script` does, from the first
/// [`BINPRM_BUF_SIZE`] bytes of the file (`head`; a shorter file is padded
/// with NULs). The line ends at the first newline; without one in those
/// bytes, the interpreter's name must end (blank or NUL) inside them, or
/// the file is refused rather than run with a truncated name, while the
/// argument may be cut. Blanks around the name and the argument are
/// dropped; the argument is the rest of the line, blanks included; a NUL
/// ends either. Refusals are ENOEXEC, but EACCES for a name a NUL cuts to
/// nothing (`empty_name`).
pub fn parse_shebang(head: &[u8]) -> Result<Shebang, Refusal> {
    let no = |why: &str| Refusal::new(Errno::ENOEXEC, why.to_string());
    let mut buf = [0u8; BINPRM_BUF_SIZE];
    let n = head.len().min(BINPRM_BUF_SIZE);
    buf[..n].copy_from_slice(&head[..n]);
    if !is_script(&buf) {
        return Err(no("not a #! script"));
    }
    let last = BINPRM_BUF_SIZE - 1;
    // Inclusive searches over buf[first..=last], as the kernel's helpers.
    let non_spacetab = |first: usize, last: usize| (first..=last).find(|&i| !is_spacetab(buf[i]));
    let terminator = |first: usize, last: usize| (first..=last).find(|&i| is_terminator(buf[i]));

    let mut end = match buf.iter().position(|&c| c == b'\n') {
        Some(i) => i,
        None => {
            let name = non_spacetab(2, last).ok_or_else(|| no("the #! line is all blanks"))?;
            if terminator(name, last).is_none() {
                return Err(no("the #! interpreter's name is longer than the line execve reads"));
            }
            last
        }
    };
    // buf[1] is '!', so this stops at 2 at the latest.
    while is_spacetab(buf[end - 1]) {
        end -= 1;
    }
    let name = match non_spacetab(2, end) {
        Some(i) if i != end => i,
        _ => return Err(no("the #! line names no interpreter")),
    };
    let sep = terminator(name, end);
    let arg = match sep {
        Some(s) if buf[s] != 0 => non_spacetab(s, end),
        _ => None,
    };
    // The kernel writes NULs at `end` and, when there is an argument, at
    // `sep`, then takes both as C strings.
    let c_str = |from: usize, to: usize| {
        let s = &buf[from..to];
        s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())].to_vec()
    };
    let name_end = match (sep, arg) {
        (Some(s), Some(_)) => s,
        _ => end,
    };
    let interp = c_str(name, name_end);
    if interp.is_empty() {
        return Err(empty_name());
    }
    Ok(Shebang { interp, arg: arg.map(|a| c_str(a, end)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shebang(head: &[u8]) -> Option<(String, Option<String>)> {
        let s = parse_shebang(head).ok()?;
        let text = |b: Vec<u8>| String::from_utf8(b).expect("test lines are ASCII");
        Some((text(s.interp), s.arg.map(text)))
    }

    #[test]
    fn shebang_lines() {
        assert_eq!(shebang(b"#!/bin/sh\necho"), Some(("/bin/sh".into(), None)));
        assert_eq!(shebang(b"#! /usr/bin/python3 -S -u \n"), Some(("/usr/bin/python3".into(), Some("-S -u".into()))));
        assert_eq!(shebang(b"#!/bin/sh\t \n"), Some(("/bin/sh".into(), None)));
        assert_eq!(shebang(b"#!/bin/sh"), Some(("/bin/sh".into(), None)));
        // A NUL ends the name, and what follows it is no argument.
        assert_eq!(shebang(b"#!/bin/sh\0 -x\n"), Some(("/bin/sh".into(), None)));
        // A NUL right after the blank: Linux passes an empty argument.
        assert_eq!(shebang(b"#!/bin/sh \0x\n"), Some(("/bin/sh".into(), Some("".into()))));
        assert_eq!(shebang(b"#!\n"), None);
        assert_eq!(shebang(b"#!  \t\n"), None);
        assert_eq!(shebang(b"echo\n"), None);
    }

    #[test]
    fn empty_interpreter_names_are_the_working_directory() {
        // Found by the elf_check fuzz target: "#! \0" named "" (Linux: EACCES).
        assert_eq!(parse_shebang(b"#! \0@\xff9").map_err(|r| r.errno), Err(Errno::EACCES));
        assert_eq!(errno(&elf(Some(b"\0\0")), Role::Program), Some(Errno::EACCES));
    }

    #[test]
    fn shebang_without_newline_in_the_buffer() {
        // A name running past the buffer would be truncated: refused.
        let mut long = b"#!/".to_vec();
        long.resize(400, b'a');
        assert_eq!(parse_shebang(&long).map_err(|r| r.errno), Err(Errno::ENOEXEC));
        let mut blanks = b"#!".to_vec();
        blanks.resize(400, b' ');
        assert_eq!(parse_shebang(&blanks).map_err(|r| r.errno), Err(Errno::ENOEXEC));
        // The name ends inside it; the argument is cut at the buffer's last byte.
        let mut cut = b"#!/bin/sh ".to_vec();
        cut.resize(400, b'x');
        let s = parse_shebang(&cut).expect("the name fits");
        assert_eq!(s.interp, b"/bin/sh");
        assert_eq!(s.arg.map(|a| a.len()), Some(BINPRM_BUF_SIZE - 1 - 10));
    }

    /// A valid ELF: one PT_LOAD of `code_len` bytes after the headers,
    /// optionally a PT_INTERP first.
    fn elf(interp: Option<&[u8]>) -> Vec<u8> {
        let nph: u16 = if interp.is_some() { 2 } else { 1 };
        let interp_at = SIZEOF_EHDR + usize::from(nph) * SIZEOF_PHDR;
        let interp_len = interp.map_or(0, |i| i.len());
        let total = interp_at + interp_len + 16;
        let mut f = vec![0u8; total];
        f[..4].copy_from_slice(header::ELFMAG);
        f[header::EI_CLASS] = header::ELFCLASS64;
        f[header::EI_DATA] = header::ELFDATA2LSB;
        f[16..18].copy_from_slice(&header::ET_EXEC.to_le_bytes());
        f[18..20].copy_from_slice(&header::EM_X86_64.to_le_bytes());
        f[24..32].copy_from_slice(&(0x40_0000u64 + total as u64 - 16).to_le_bytes());
        f[32..40].copy_from_slice(&(SIZEOF_EHDR as u64).to_le_bytes());
        f[54..56].copy_from_slice(&(SIZEOF_PHDR as u16).to_le_bytes());
        f[56..58].copy_from_slice(&nph.to_le_bytes());
        let mut at = SIZEOF_EHDR;
        let mut ph = |ty: u32, off: u64, vaddr: u64, size: u64| {
            f[at..at + 4].copy_from_slice(&ty.to_le_bytes());
            f[at + 8..at + 16].copy_from_slice(&off.to_le_bytes());
            f[at + 16..at + 24].copy_from_slice(&vaddr.to_le_bytes());
            f[at + 32..at + 40].copy_from_slice(&size.to_le_bytes());
            f[at + 40..at + 48].copy_from_slice(&size.to_le_bytes());
            at += SIZEOF_PHDR;
        };
        if let Some(i) = interp {
            ph(PT_INTERP, interp_at as u64, 0x40_0000 + interp_at as u64, i.len() as u64);
        }
        ph(PT_LOAD, 0, 0x40_0000, total as u64);
        if let Some(i) = interp {
            f[interp_at..interp_at + i.len()].copy_from_slice(i);
        }
        f
    }

    fn errno(f: &[u8], role: Role) -> Option<Errno> {
        check_elf(f, role).err().map(|r| r.errno)
    }

    #[test]
    fn valid_elves_pass() {
        let plan = check_elf(&elf(None)[..], Role::Program).expect("valid");
        assert_eq!((plan.lo, plan.hi, plan.is_dyn, plan.interp), (0x40_0000, 0x40_1000, false, None));
        let plan = check_elf(&elf(Some(b"/lib/ld.so\0"))[..], Role::Program).expect("valid");
        assert_eq!(plan.interp.as_deref(), Some(&b"/lib/ld.so"[..]));
        assert!(check_elf(&elf(None)[..], Role::Interpreter).is_ok());
    }

    #[test]
    fn header_refusals() {
        assert_eq!(errno(b"", Role::Program), Some(Errno::ENOEXEC));
        assert_eq!(errno(b"", Role::Interpreter), Some(Errno::EIO));
        assert_eq!(errno(&elf(None)[..40], Role::Program), Some(Errno::ENOEXEC));
        assert_eq!(errno(&elf(None)[..40], Role::Interpreter), Some(Errno::EIO));
        let mut arm = elf(None);
        arm[18..20].copy_from_slice(&header::EM_AARCH64.to_le_bytes());
        assert_eq!(errno(&arm, Role::Program), Some(Errno::ENOEXEC));
        assert_eq!(errno(&arm, Role::Interpreter), Some(Errno::ELIBBAD));
        let mut text = b"#!/bin/sh\n".to_vec();
        text.resize(100, b'#');
        assert_eq!(errno(&text, Role::Interpreter), Some(Errno::ELIBBAD));
    }

    #[test]
    fn program_header_refusals() {
        for (at, value) in [(54, 32u16), (54, 0), (56, 0), (56, 1171)] {
            let mut f = elf(None);
            f.resize(70_000, 0);
            f[at..at + 2].copy_from_slice(&value.to_le_bytes());
            assert_eq!(errno(&f, Role::Program), Some(Errno::ENOEXEC), "offset {at} = {value}");
            assert_eq!(errno(&f, Role::Interpreter), Some(Errno::ELIBBAD), "offset {at} = {value}");
        }
        let mut f = elf(None);
        f[32..40].copy_from_slice(&(u64::MAX - 8).to_le_bytes());
        assert_eq!(errno(&f, Role::Program), Some(Errno::ENOEXEC));
    }

    #[test]
    fn pt_interp_refusals() {
        assert_eq!(errno(&elf(Some(b"/lib/ld.so")), Role::Program), Some(Errno::ENOEXEC));
        assert_eq!(errno(&elf(Some(b"\0")), Role::Program), Some(Errno::ENOEXEC));
        let mut f = elf(Some(b"/lib/ld.so\0"));
        f[SIZEOF_EHDR + 8..SIZEOF_EHDR + 16].copy_from_slice(&(1u64 << 20).to_le_bytes());
        assert_eq!(errno(&f, Role::Program), Some(Errno::EIO));
        // An interpreter's own PT_INTERP is not read.
        assert!(check_elf(&elf(Some(b"/lib/ld.so"))[..], Role::Interpreter).is_ok());
    }

    #[test]
    fn segment_refusals() {
        // p_filesz beyond the file.
        let mut f = elf(None);
        f[SIZEOF_EHDR + 32..SIZEOF_EHDR + 40].copy_from_slice(&4096u64.to_le_bytes());
        assert_eq!(errno(&f, Role::Program), Some(Errno::ENOEXEC));
        // No PT_LOAD at all.
        let mut f = elf(None);
        f[SIZEOF_EHDR..SIZEOF_EHDR + 4].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(errno(&f, Role::Interpreter), Some(Errno::ELIBBAD));
    }
}
