//! Our vDSO: a small ELF shared object that the loader maps into every
//! guest and names in AT_SYSINFO_EHDR, so that glibc, musl and Go call its
//! `__vdso_clock_gettime` & co. instead of making the syscall, as they do
//! on Linux (man7.org/linux/man-pages/man7/vdso.7.html).
//!
//! The image is written here, by Rust, once per program start: ELF header,
//! program headers (PT_LOAD, PT_DYNAMIC), .hash, .dynsym, .dynstr,
//! .gnu.version, .gnu.version_d, .dynamic, .text, .vvar and section
//! headers, laid out from address 0 as the kernel's vDSO is
//! (arch/x86/entry/vdso/vdso-layout.lds.S), in one page. The functions in
//! .text are hand-encoded position-independent x86_64 (below, with the
//! assembly beside each byte string). They run in guest context (guest
//! stack, guest TLS registers, the trap armed) and call no runtime code:
//! each reads a word of .vvar, which the runtime fills when it builds the
//! image, and either tail-calls the host function that word names (the
//! Linux host's own vDSO: host::time::guest_clock) or, when there is none
//! or the clock id is not one it answers, makes the real `syscall`, which
//! traps and is emulated as without a vDSO. The result is the raw
//! `-errno` of a syscall either way, as the kernel's vDSO returns.
//!
//! Divergences from Linux: no PT_GNU_EH_FRAME (an unwinder stops at a
//! frame inside the vDSO), no `[vvar]` mapping (the data words are in the
//! image), no `__vdso_getrandom`, and calls answered without a trap do not
//! appear in `--trace` (as strace does not show vDSO calls).
//!
//! Not signal context: the loader maps the image before guest code runs.

use crate::abi::vdso::{self as v, elf_hash};
use crate::abi::PAGE_SIZE;
use crate::host::{self, GuestClock, MapRequest, Placement, Prot};
use crate::mm::{Backing, Vma};
use crate::task::{current, lock};
use linux_raw_sys::general as g;

/// The words of .vvar, by offset: what the functions jump to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    ClockGettime = 0,
    ClockGetres = 8,
    Gettimeofday = 16,
    Time = 24,
    Getcpu = 32,
    /// A 32-bit mask of the clock ids the two clock functions pass on.
    FastClocks = 40,
}
const VVAR_LEN: usize = 48;

/// The x86_64 syscall numbers the fallbacks make.
const NR_CLOCK_GETTIME: u32 = g::__NR_clock_gettime;
const NR_CLOCK_GETRES: u32 = g::__NR_clock_getres;
const NR_GETTIMEOFDAY: u32 = g::__NR_gettimeofday;
const NR_TIME: u32 = g::__NR_time;
const NR_GETCPU: u32 = g::__NR_getcpu;

/// Highest clock id the fast-clock mask can name.
const MAX_FAST_CLOCK: u8 = 31;
const _: () = assert!(g::CLOCK_TAI <= MAX_FAST_CLOCK as u32);

/// A function of .text: its offset in .text and its length.
#[derive(Clone, Copy, Debug, Default)]
struct Func {
    at: usize,
    len: usize,
}

/// Just enough of an assembler for the functions below: bytes, rel8
/// branches to a later label, and RIP-relative loads of a .vvar word
/// (resolved once the layout is known).
#[derive(Default)]
struct Asm {
    code: Vec<u8>,
    vvar_refs: Vec<(usize, Slot)>,
}

impl Asm {
    fn bytes(&mut self, b: &[u8]) {
        self.code.extend_from_slice(b);
    }
    /// `op` followed by a rel32 to `slot` (`op` ends with a ModRM of [rip+disp32]).
    fn vvar(&mut self, op: &[u8], slot: Slot) {
        self.bytes(op);
        self.vvar_refs.push((self.code.len(), slot));
        self.bytes(&[0; 4]);
    }
    /// A short conditional (or plain) jump to a label bound later.
    fn jump(&mut self, op: u8) -> usize {
        self.bytes(&[op, 0]);
        self.code.len() - 1
    }
    fn bind(&mut self, rel8_at: usize) {
        let dist = self.code.len() - (rel8_at + 1);
        // Every branch here skips a few bytes of one function.
        self.code[rel8_at] = u8::try_from(dist).expect("a short branch");
    }
    fn start_func(&mut self) -> usize {
        while self.code.len() % 16 != 0 {
            self.code.push(0xcc); // int3
        }
        self.code.len()
    }
    fn end_func(&mut self, at: usize) -> Func {
        Func { at, len: self.code.len() - at }
    }

    /// `mov rax, [rip+slot]; test rax, rax; jz sys; jmp rax;
    /// sys: mov eax, nr; syscall; ret` — the tail every function ends
    /// with; `to_sys` are earlier branches to `sys`.
    fn tail(&mut self, slot: Slot, nr: u32, to_sys: &[usize]) {
        self.vvar(&[0x48, 0x8b, 0x05], slot); // mov rax, [rip+slot]
        self.bytes(&[0x48, 0x85, 0xc0]); // test rax, rax
        let jz = self.jump(0x74); // jz sys
        self.bytes(&[0xff, 0xe0]); // jmp rax
        for &j in to_sys.iter().chain([&jz]) {
            self.bind(j);
        }
        self.bytes(&[0xb8]); // mov eax, nr
        self.bytes(&nr.to_le_bytes());
        self.bytes(&[0x0f, 0x05]); // syscall
        self.bytes(&[0xc3]); // ret
    }

    /// `f(clockid, ts)`: a clock in the fast mask goes to the host function.
    fn clock_fn(&mut self, slot: Slot, nr: u32) -> Func {
        let at = self.start_func();
        self.bytes(&[0x83, 0xff, MAX_FAST_CLOCK]); // cmp edi, 31
        let ja = self.jump(0x77); // ja sys (CPU-time clocks are negative)
        self.vvar(&[0x8b, 0x05], Slot::FastClocks); // mov eax, [rip+fast_clocks]
        self.bytes(&[0x0f, 0xa3, 0xf8]); // bt eax, edi
        let jnc = self.jump(0x73); // jnc sys
        self.tail(slot, nr, &[ja, jnc]);
        self.end_func(at)
    }

    /// `f(out, arg2, ...)` whose second argument the emulated call fills
    /// with zeros (gettimeofday's timezone, getcpu's node): zero it here,
    /// then call the host function without it.
    fn zero_second_arg_fn(&mut self, zero: &[u8], slot: Slot, nr: u32) -> Func {
        let at = self.start_func();
        self.bytes(&[0x48, 0x85, 0xf6]); // test rsi, rsi
        let jz = self.jump(0x74); // jz 1f
        self.bytes(zero); // mov {qword,dword} [rsi], 0
        self.bytes(&[0x31, 0xf6]); // xor esi, esi
        self.bind(jz); // 1:
        self.tail(slot, nr, &[]);
        self.end_func(at)
    }

    fn plain_fn(&mut self, slot: Slot, nr: u32) -> Func {
        let at = self.start_func();
        self.tail(slot, nr, &[]);
        self.end_func(at)
    }
}

/// The exported names, their binding (the plain aliases are weak, as in
/// the kernel's vDSO) and which function each is.
const EXPORTS: [(&str, u8, usize); 10] = [
    (v::CLOCK_GETTIME, v::STB_GLOBAL, 0),
    ("clock_gettime", v::STB_WEAK, 0),
    (v::GETTIMEOFDAY, v::STB_GLOBAL, 1),
    ("gettimeofday", v::STB_WEAK, 1),
    (v::TIME, v::STB_GLOBAL, 2),
    ("time", v::STB_WEAK, 2),
    (v::GETCPU, v::STB_GLOBAL, 3),
    ("getcpu", v::STB_WEAK, 3),
    (v::CLOCK_GETRES, v::STB_GLOBAL, 4),
    ("clock_getres", v::STB_WEAK, 4),
];

fn text() -> (Asm, [Func; 5]) {
    let mut a = Asm::default();
    let funcs = [
        a.clock_fn(Slot::ClockGettime, NR_CLOCK_GETTIME),
        // mov qword [rsi], 0: struct timezone is two ints.
        a.zero_second_arg_fn(&[0x48, 0xc7, 0x06, 0, 0, 0, 0], Slot::Gettimeofday, NR_GETTIMEOFDAY),
        a.plain_fn(Slot::Time, NR_TIME),
        // mov dword [rsi], 0: the node is an unsigned int.
        a.zero_second_arg_fn(&[0xc7, 0x06, 0, 0, 0, 0], Slot::Getcpu, NR_GETCPU),
        a.clock_fn(Slot::ClockGetres, NR_CLOCK_GETRES),
    ];
    (a, funcs)
}

// ELF numbers the image needs beyond abi::vdso's (gABI, from goblin).
use goblin::elf::header::header64::SIZEOF_EHDR as EHDR_LEN;
use goblin::elf::header::{ELFMAG, EM_X86_64, ET_DYN};
use goblin::elf::program_header::program_header64::SIZEOF_PHDR as PHDR_LEN;
use goblin::elf::program_header::{PF_R, PF_X};
use goblin::elf::section_header::section_header64::SIZEOF_SHDR as SHDR_LEN;
use goblin::elf::section_header::{SHF_ALLOC, SHF_EXECINSTR, SHT_DYNAMIC, SHT_DYNSYM, SHT_GNU_VERDEF, SHT_GNU_VERSYM, SHT_HASH, SHT_PROGBITS, SHT_STRTAB};
const VERDEF_LEN: usize = 20;
const VERDAUX_LEN: usize = 8;
/// Version indexes: VER_NDX_GLOBAL (1) is the object itself (its
/// VER_FLG_BASE definition), the next one LINUX_2.6.
use goblin::elf::symver::{VER_NDX_GLOBAL as VER_NDX_BASE, VER_NDX_LOCAL};
const VER_NDX_LINUX_2_6: u16 = VER_NDX_BASE + 1;
const NBUCKET: u32 = 5;

/// Indexes of the sections other headers name, in SECTION_NAMES.
const SH_DYNSYM: u16 = 2;
const SH_DYNSTR: u16 = 3;
const SH_TEXT: u16 = 7;
const SH_SHSTRTAB: u16 = 9;
const SECTION_NAMES: [&str; 10] =
    ["", ".hash", ".dynsym", ".dynstr", ".gnu.version", ".gnu.version_d", ".dynamic", ".text", ".vvar", ".shstrtab"];

/// A string table under construction.
#[derive(Default)]
struct Strtab(Vec<u8>);

impl Strtab {
    fn new() -> Strtab {
        Strtab(vec![0])
    }
    fn add(&mut self, s: &str) -> u32 {
        let at = self.0.len() as u32;
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        at
    }
}

fn put(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(b);
}
fn align(x: usize, a: usize) -> usize {
    x.div_ceil(a) * a
}

/// Writes the image, with .vvar filled from `clock`.
pub fn build(clock: &GuestClock) -> Vec<u8> {
    let (asm, funcs) = text();

    let mut dynstr = Strtab::new();
    let soname = dynstr.add(v::SONAME);
    let version = dynstr.add(v::VERSION);
    let names: Vec<u32> = EXPORTS.iter().map(|(n, _, _)| dynstr.add(n)).collect();
    let nsyms = EXPORTS.len() + 1;

    // .hash: nbucket, nchain, buckets, chains (gABI "Hash Table").
    let mut buckets = vec![0u32; NBUCKET as usize];
    let mut chains = vec![0u32; nsyms];
    for (i, (name, _, _)) in EXPORTS.iter().enumerate() {
        let sym = i as u32 + 1;
        let b = (elf_hash(name.as_bytes()) % NBUCKET) as usize;
        chains[sym as usize] = buckets[b];
        buckets[b] = sym;
    }
    let mut hash = Vec::new();
    for w in [NBUCKET, nsyms as u32].iter().chain(&buckets).chain(&chains) {
        put(&mut hash, &w.to_le_bytes());
    }

    // .gnu.version: symbol 0 is local, every export is LINUX_2.6.
    let mut versym = VER_NDX_LOCAL.to_le_bytes().to_vec();
    for _ in &EXPORTS {
        put(&mut versym, &VER_NDX_LINUX_2_6.to_le_bytes());
    }

    // .gnu.version_d: the base definition (the soname), then LINUX_2.6.
    let mut verdef = Vec::new();
    for (i, (flags, ndx, name, s)) in [(v::VER_FLG_BASE, VER_NDX_BASE, soname, v::SONAME), (0, VER_NDX_LINUX_2_6, version, v::VERSION)]
        .into_iter()
        .enumerate()
    {
        let is_last = i == 1;
        put(&mut verdef, &1u16.to_le_bytes()); // vd_version
        put(&mut verdef, &flags.to_le_bytes());
        put(&mut verdef, &ndx.to_le_bytes());
        put(&mut verdef, &1u16.to_le_bytes()); // vd_cnt
        put(&mut verdef, &elf_hash(s.as_bytes()).to_le_bytes());
        put(&mut verdef, &(VERDEF_LEN as u32).to_le_bytes()); // vd_aux
        let next = if is_last { 0 } else { (VERDEF_LEN + VERDAUX_LEN) as u32 };
        put(&mut verdef, &next.to_le_bytes());
        put(&mut verdef, &name.to_le_bytes()); // vda_name
        put(&mut verdef, &0u32.to_le_bytes()); // vda_next
    }

    let mut shstrtab = Strtab(Vec::new());
    let sh_names: Vec<u32> = SECTION_NAMES.iter().map(|n| shstrtab.add(n)).collect();

    // Layout, from address 0 (file offset == address).
    let phnum = 2usize;
    let hash_at = align(EHDR_LEN + phnum * PHDR_LEN, 8);
    let dynsym_at = align(hash_at + hash.len(), 8);
    let dynsym_len = nsyms * v::SYM_SIZE;
    let dynstr_at = dynsym_at + dynsym_len;
    let versym_at = align(dynstr_at + dynstr.0.len(), 2);
    let verdef_at = align(versym_at + versym.len(), 8);
    let dynamic_at = align(verdef_at + verdef.len(), 8);
    let dynamic: [(u64, u64); 10] = [
        (v::DT_HASH, hash_at as u64),
        (v::DT_STRTAB, dynstr_at as u64),
        (v::DT_SYMTAB, dynsym_at as u64),
        (v::DT_STRSZ, dynstr.0.len() as u64),
        (v::DT_SYMENT, v::SYM_SIZE as u64),
        (v::DT_SONAME, u64::from(soname)),
        (v::DT_VERSYM, versym_at as u64),
        (v::DT_VERDEF, verdef_at as u64),
        (v::DT_VERDEFNUM, 2),
        (v::DT_NULL, 0),
    ];
    let dynamic_len = dynamic.len() * v::DYN_SIZE;
    let text_at = align(dynamic_at + dynamic_len, 16);
    let vvar_at = align(text_at + asm.code.len(), 8);
    let load_end = vvar_at + VVAR_LEN;
    let shstrtab_at = load_end;
    let shdrs_at = align(shstrtab_at + shstrtab.0.len(), 8);
    let total = shdrs_at + SECTION_NAMES.len() * SHDR_LEN;

    let mut img = vec![0u8; total];
    let mut place = |at: usize, b: &[u8]| img[at..at + b.len()].copy_from_slice(b);

    // ELF header.
    let mut eh = Vec::with_capacity(EHDR_LEN);
    put(&mut eh, ELFMAG);
    // ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_SYSV, then padding.
    put(&mut eh, &[2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    put(&mut eh, &ET_DYN.to_le_bytes());
    put(&mut eh, &EM_X86_64.to_le_bytes());
    put(&mut eh, &1u32.to_le_bytes()); // e_version
    put(&mut eh, &0u64.to_le_bytes()); // e_entry
    put(&mut eh, &(EHDR_LEN as u64).to_le_bytes()); // e_phoff
    put(&mut eh, &(shdrs_at as u64).to_le_bytes()); // e_shoff
    put(&mut eh, &0u32.to_le_bytes()); // e_flags
    for h in [EHDR_LEN as u16, PHDR_LEN as u16, phnum as u16, SHDR_LEN as u16, SECTION_NAMES.len() as u16, SH_SHSTRTAB] {
        put(&mut eh, &h.to_le_bytes());
    }
    place(0, &eh);

    // Program headers: one read+exec PT_LOAD of everything the functions
    // use, and a read-only PT_DYNAMIC (glibc then leaves .dynamic alone
    // and adds the load address itself, as for the kernel's vDSO).
    let mut ph = Vec::with_capacity(phnum * PHDR_LEN);
    for (kind, flags, at, len, al) in
        [(v::PT_LOAD, PF_R | PF_X, 0, load_end, PAGE_SIZE as usize), (v::PT_DYNAMIC, PF_R, dynamic_at, dynamic_len, 8)]
    {
        put(&mut ph, &kind.to_le_bytes());
        put(&mut ph, &flags.to_le_bytes());
        for w in [at, at, at, len, len, al] {
            put(&mut ph, &(w as u64).to_le_bytes()); // offset vaddr paddr filesz memsz align
        }
    }
    place(EHDR_LEN, &ph);

    place(hash_at, &hash);
    let mut dynsym = vec![0u8; v::SYM_SIZE];
    for ((_, bind, f), name) in EXPORTS.iter().zip(&names) {
        let func = funcs[*f];
        put(&mut dynsym, &name.to_le_bytes());
        put(&mut dynsym, &[bind << 4 | v::STT_FUNC, 0]); // st_info, st_other (default visibility)
        put(&mut dynsym, &SH_TEXT.to_le_bytes());
        put(&mut dynsym, &((text_at + func.at) as u64).to_le_bytes());
        put(&mut dynsym, &(func.len as u64).to_le_bytes());
    }
    place(dynsym_at, &dynsym);
    place(dynstr_at, &dynstr.0);
    place(versym_at, &versym);
    place(verdef_at, &verdef);
    let dyn_bytes: Vec<u8> = dynamic.iter().flat_map(|(t, v)| t.to_le_bytes().into_iter().chain(v.to_le_bytes())).collect();
    place(dynamic_at, &dyn_bytes);

    let mut code = asm.code.clone();
    for (at, slot) in &asm.vvar_refs {
        let next_ip = (text_at + at + 4) as i64;
        let disp = (vvar_at + *slot as usize) as i64 - next_ip;
        code[*at..*at + 4].copy_from_slice(&(disp as i32).to_le_bytes());
    }
    place(text_at, &code);

    let mut vvar = Vec::with_capacity(VVAR_LEN);
    for w in [clock.clock_gettime, clock.clock_getres, clock.gettimeofday, clock.time, clock.getcpu] {
        put(&mut vvar, &w.to_le_bytes());
    }
    put(&mut vvar, &u64::from(clock.fast_clocks).to_le_bytes());
    debug_assert_eq!(vvar.len(), VVAR_LEN);
    place(vvar_at, &vvar);
    place(shstrtab_at, &shstrtab.0);

    // Section headers: name type flags addr offset size link info addralign entsize.
    let sections: [(u32, u32, usize, usize, u16, u32, u64, u64); 10] = [
        (0, 0, 0, 0, 0, 0, 0, 0),
        (SHT_HASH, SHF_ALLOC, hash_at, hash.len(), SH_DYNSYM, 0, 8, 4),
        // sh_info: index of the first non-local symbol.
        (SHT_DYNSYM, SHF_ALLOC, dynsym_at, dynsym_len, SH_DYNSTR, 1, 8, v::SYM_SIZE as u64),
        (SHT_STRTAB, SHF_ALLOC, dynstr_at, dynstr.0.len(), 0, 0, 1, 0),
        (SHT_GNU_VERSYM, SHF_ALLOC, versym_at, versym.len(), SH_DYNSYM, 0, 2, 2),
        // sh_info: the number of version definitions.
        (SHT_GNU_VERDEF, SHF_ALLOC, verdef_at, verdef.len(), SH_DYNSTR, 2, 8, 0),
        (SHT_DYNAMIC, SHF_ALLOC, dynamic_at, dynamic_len, SH_DYNSTR, 0, 8, v::DYN_SIZE as u64),
        (SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text_at, code.len(), 0, 0, 16, 0),
        (SHT_PROGBITS, SHF_ALLOC, vvar_at, VVAR_LEN, 0, 0, 8, 0),
        (SHT_STRTAB, 0, shstrtab_at, shstrtab.0.len(), 0, 0, 1, 0),
    ];
    let mut sh = Vec::with_capacity(sections.len() * SHDR_LEN);
    for (i, (kind, flags, at, len, link, info, al, entsize)) in sections.into_iter().enumerate() {
        put(&mut sh, &sh_names[i].to_le_bytes());
        put(&mut sh, &kind.to_le_bytes());
        put(&mut sh, &u64::from(flags).to_le_bytes());
        let addr = if flags & SHF_ALLOC != 0 { at as u64 } else { 0 };
        put(&mut sh, &addr.to_le_bytes());
        put(&mut sh, &(at as u64).to_le_bytes());
        put(&mut sh, &(len as u64).to_le_bytes());
        put(&mut sh, &u32::from(link).to_le_bytes());
        put(&mut sh, &info.to_le_bytes());
        put(&mut sh, &al.to_le_bytes());
        put(&mut sh, &entsize.to_le_bytes());
    }
    place(shdrs_at, &sh);
    img
}

/// Maps a fresh vDSO into the guest and returns its address, for
/// AT_SYSINFO_EHDR. Placed anywhere, like the runtime's other mappings;
/// /proc/PID/maps names it `[vdso]`. The guest may munmap or mprotect it
/// as any mapping.
pub fn map() -> Result<u64, String> {
    let clock = if current().config.vdso_uses_host { host::time::guest_clock() } else { GuestClock::default() };
    let img = build(&clock);
    let len = crate::abi::page_round_up(img.len() as u64).unwrap_or(PAGE_SIZE);
    let prot = Prot { read: true, write: false, exec: true };
    let req = MapRequest {
        addr: 0,
        len,
        prot: crate::syscall::mm::host_prot(prot, false),
        is_shared: false,
        placement: Placement::Anywhere,
        file: None,
        noreserve: false,
    };
    let base = host::mem::map(&req).map_err(|e| format!("cannot map the vDSO: {}", e.text()))?;
    crate::uaccess::copy_to_fresh_mapping(base, &img);
    lock(&current().mm).insert(base, Vma { end: base + len, prot, is_shared: false, backing: Backing::Vdso });
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_x86::{Decoder, DecoderOptions, Mnemonic, OpKind};

    const FAKE: GuestClock = GuestClock {
        clock_gettime: 0x1111_0000,
        clock_getres: 0x2222_0000,
        gettimeofday: 0x3333_0000,
        time: 0x4444_0000,
        getcpu: 0x5555_0000,
        fast_clocks: 0b1000_1111_0011,
    };

    fn u16_at(b: &[u8], o: usize) -> u16 {
        u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
    }
    fn u32_at(b: &[u8], o: usize) -> u32 {
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
    }
    fn u64_at(b: &[u8], o: usize) -> u64 {
        u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
    }
    fn cstr(b: &[u8], o: usize) -> &str {
        let end = b[o..].iter().position(|&c| c == 0).unwrap();
        std::str::from_utf8(&b[o..o + end]).unwrap()
    }

    #[test]
    fn fits_in_one_page() {
        assert!(build(&FAKE).len() <= PAGE_SIZE as usize);
    }

    /// The DT_HASH lookup glibc and Go make (abi::vdso::lookup) finds
    /// every export, with its version, at a function of .text.
    #[test]
    fn hash_lookup_finds_every_export() {
        let img = build(&FAKE);
        let (_, funcs) = text();
        let mut seen = Vec::new();
        for (name, _, f) in EXPORTS {
            let at = v::lookup(&img, name, v::VERSION).unwrap_or_else(|| panic!("{name} not found"));
            assert_eq!(at % 16, 0, "{name} is not aligned");
            seen.push((f, at));
            assert_eq!(v::lookup(&img, name, "LINUX_2.5"), None, "{name} found under another version");
        }
        for (f, at) in &seen {
            assert!(seen.iter().all(|(g, b)| (g == f) == (b == at)), "aliases and functions do not pair up: {seen:?}");
        }
        assert_eq!(seen.len(), funcs.len() * 2);
        assert_eq!(v::lookup(&img, "__vdso_getrandom", v::VERSION), None);
    }

    /// musl's `__vdsosym` (src/internal/vdso.c): every symbol up to the
    /// DT_HASH chain count, then `checkver` on the Verdef list.
    #[test]
    fn musl_walk_finds_every_export() {
        let img = build(&FAKE);
        let (bias, dyn_at, _) = v::layout(&img).unwrap();
        assert_eq!(bias, 0);
        let (mut strings, mut syms, mut hash, mut versym, mut verdef) = (0, 0, 0, 0, 0);
        let mut i = dyn_at;
        loop {
            let (tag, val) = (u64_at(&img, i), u64_at(&img, i + 8) as usize);
            match tag {
                v::DT_NULL => break,
                v::DT_STRTAB => strings = val,
                v::DT_SYMTAB => syms = val,
                v::DT_HASH => hash = val,
                v::DT_VERSYM => versym = val,
                v::DT_VERDEF => verdef = val,
                _ => {}
            }
            i += 16;
        }
        assert!(strings != 0 && syms != 0 && hash != 0 && versym != 0 && verdef != 0);
        let checkver = |vsym: u16| {
            let mut def = verdef;
            loop {
                if u16_at(&img, def + 2) & v::VER_FLG_BASE == 0 && u16_at(&img, def + 4) & 0x7fff == vsym & 0x7fff {
                    let aux = def + u32_at(&img, def + 12) as usize;
                    return cstr(&img, strings + u32_at(&img, aux) as usize) == v::VERSION;
                }
                match u32_at(&img, def + 16) {
                    0 => return false,
                    n => def += n as usize,
                }
            }
        };
        for (name, _, _) in EXPORTS {
            let found = (0..u32_at(&img, hash + 4) as usize).find(|&i| {
                let s = syms + i * v::SYM_SIZE;
                let info = img[s + 4];
                matches!(info & 0xf, 0..=2) // NOTYPE OBJECT FUNC
                    && matches!(info >> 4, 1 | 2) // GLOBAL WEAK
                    && u16_at(&img, s + 6) != 0
                    && cstr(&img, strings + u32_at(&img, s) as usize) == name
                    && checkver(u16_at(&img, versym + 2 * i))
            });
            assert!(found.is_some(), "musl does not find {name}");
        }
    }

    /// An independent reader (goblin) sees a well-formed shared object.
    #[test]
    fn goblin_reads_a_shared_object() {
        let img = build(&FAKE);
        let elf = goblin::elf::Elf::parse(&img).expect("goblin parses the image");
        assert_eq!(elf.header.e_type, goblin::elf::header::ET_DYN);
        assert_eq!(elf.header.e_machine, goblin::elf::header::EM_X86_64);
        assert_eq!(elf.soname, Some(v::SONAME));
        let kinds: Vec<u32> = elf.program_headers.iter().map(|p| p.p_type).collect();
        assert_eq!(kinds, [v::PT_LOAD, v::PT_DYNAMIC]);
        let names: Vec<&str> = elf.dynsyms.iter().filter_map(|s| elf.dynstrtab.get_at(s.st_name)).collect();
        for (name, _, _) in EXPORTS {
            assert!(names.contains(&name), "{name} not in .dynsym: {names:?}");
        }
        let shnames: Vec<&str> = elf.section_headers.iter().filter_map(|s| elf.shdr_strtab.get_at(s.sh_name)).collect();
        assert_eq!(shnames, SECTION_NAMES);
        let load = &elf.program_headers[0];
        for s in &elf.section_headers[1..SH_SHSTRTAB as usize] {
            assert!(s.sh_offset + s.sh_size <= load.p_filesz, "section at {:#x} outside PT_LOAD", s.sh_offset);
        }
    }

    /// The functions decode as written: every RIP-relative operand is a
    /// word of .vvar that holds what it should, every branch stays in its
    /// function, and every path ends in `jmp rax` or `syscall; ret`.
    #[test]
    fn functions_decode_and_read_vvar() {
        let img = build(&FAKE);
        let sym = |name| v::lookup(&img, name, v::VERSION).unwrap();
        let cases = [
            (v::CLOCK_GETTIME, FAKE.clock_gettime, NR_CLOCK_GETTIME),
            (v::GETTIMEOFDAY, FAKE.gettimeofday, NR_GETTIMEOFDAY),
            (v::TIME, FAKE.time, NR_TIME),
            (v::GETCPU, FAKE.getcpu, NR_GETCPU),
            (v::CLOCK_GETRES, FAKE.clock_getres, NR_CLOCK_GETRES),
        ];
        for (name, target, nr) in cases {
            let start = sym(name);
            let len = {
                let elf = goblin::elf::Elf::parse(&img).unwrap();
                let s = elf.dynsyms.iter().find(|s| elf.dynstrtab.get_at(s.st_name) == Some(name)).unwrap();
                s.st_size as usize
            };
            let code = &img[start..start + len];
            let mut d = Decoder::with_ip(64, code, start as u64, DecoderOptions::NONE);
            let (mut loads, mut saw_syscall, mut saw_jmp_rax, mut nr_loaded) = (Vec::new(), false, false, None);
            let mut last = Mnemonic::INVALID;
            while d.can_decode() {
                let ins = d.decode();
                assert!(!ins.is_invalid(), "{name}: invalid instruction at {:#x}", ins.ip());
                if ins.is_ip_rel_memory_operand() {
                    let at = ins.ip_rel_memory_address() as usize;
                    loads.push(if ins.op0_register() == iced_x86::Register::RAX { u64_at(&img, at) } else { u64::from(u32_at(&img, at)) });
                }
                if ins.op0_kind() == OpKind::NearBranch64 {
                    let to = ins.near_branch_target() as usize;
                    assert!((start..start + len).contains(&to), "{name}: a branch leaves the function");
                }
                if ins.mnemonic() == Mnemonic::Jmp && ins.op0_kind() == OpKind::Register {
                    saw_jmp_rax = ins.op0_register() == iced_x86::Register::RAX;
                }
                if ins.mnemonic() == Mnemonic::Mov && ins.op0_register() == iced_x86::Register::EAX && !ins.is_ip_rel_memory_operand() {
                    nr_loaded = Some(ins.immediate32());
                }
                saw_syscall |= ins.mnemonic() == Mnemonic::Syscall;
                last = ins.mnemonic();
            }
            assert!(loads.contains(&target), "{name}: does not read its host function from .vvar: {loads:x?}");
            let is_clock = name == v::CLOCK_GETTIME || name == v::CLOCK_GETRES;
            assert_eq!(loads.contains(&u64::from(FAKE.fast_clocks)), is_clock, "{name}: fast-clock mask use");
            assert!(saw_jmp_rax && saw_syscall && last == Mnemonic::Ret, "{name}: not a tail call with a syscall fallback");
            assert_eq!(nr_loaded, Some(nr), "{name}: falls back to the wrong syscall");
        }
    }
}
