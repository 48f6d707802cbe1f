//! Any file execve may be given: `loader::check` must accept it or refuse
//! it with an errno, never panic, and what it accepts must be what the
//! loader can map without overflow (the plan's invariants below). The same
//! bytes are also tried as a `#!` line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mactux_runtime::abi::Errno;
use mactux_runtime::loader::check::{check_elf, is_script, parse_shebang, Role, BINPRM_BUF_SIZE, USER_TOP};

fuzz_target!(|data: &[u8]| {
    for role in [Role::Program, Role::Interpreter] {
        match check_elf(data, role) {
            Ok(plan) => {
                assert!(plan.lo < plan.hi && plan.hi <= USER_TOP, "span {:#x}..{:#x}", plan.lo, plan.hi);
                assert!(plan.loads().count() > 0);
                for p in plan.loads() {
                    // What the loader adds up when it maps a segment.
                    assert!(p.p_vaddr + p.p_memsz <= USER_TOP);
                    assert!(p.p_offset + p.p_filesz <= data.len() as u64);
                    assert!(p.p_filesz <= p.p_memsz);
                }
                match (&plan.interp, role) {
                    (Some(i), Role::Program) => assert!(i.len() < 4096 && !i.contains(&0)),
                    (Some(_), Role::Interpreter) => panic!("an interpreter's PT_INTERP is read"),
                    (None, _) => {}
                }
            }
            Err(r) => {
                let allowed: &[Errno] = match role {
                    Role::Program => &[Errno::ENOEXEC, Errno::EIO, Errno::EACCES],
                    Role::Interpreter => &[Errno::ELIBBAD, Errno::EIO],
                };
                assert!(allowed.contains(&r.errno), "{role:?} refused with {:?}: {}", r.errno, r.why);
            }
        }
    }
    match parse_shebang(data) {
        Ok(s) => {
            assert!(is_script(data));
            assert!(!s.interp.is_empty() && s.interp.len() < BINPRM_BUF_SIZE);
            assert!(!s.interp.iter().any(|&c| c == 0 || c == b' ' || c == b'\t' || c == b'\n'));
            // The argument may be empty: a NUL right after the blank (Linux
            // passes "" then).
            if let Some(a) = &s.arg {
                assert!(!a.contains(&0) && !a.contains(&b'\n'));
            }
        }
        Err(r) => assert!(r.errno == Errno::ENOEXEC || r.errno == Errno::EACCES),
    }
});
