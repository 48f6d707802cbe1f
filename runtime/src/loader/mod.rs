//! The loader: maps a Linux ELF program (static, static-pie, or dynamic via
//! its PT_INTERP) or a `#!` script into the guest address space and builds
//! the initial stack of the x86_64 psABI (section 3.4.1).
//!
//! Not signal context: runs once, before guest code. Errors are user-facing:
//! they name the file and carry the status a shell would report (127 for a
//! missing program, 126 for one that cannot be run).

pub mod elf;
pub mod stack;

use crate::task::{current, lock};
use crate::vfs::{self, Lookup};

/// A program that cannot be started, with the exit status a shell uses.
#[derive(Debug)]
pub struct LoadError {
    pub status: i32,
    pub msg: String,
    /// What execve(2) returns for this failure.
    pub errno: crate::abi::Errno,
}

impl LoadError {
    pub fn not_found(path: &str, why: &str) -> LoadError {
        LoadError { status: 127, msg: format!("{}: {why}", vfs::path::display(path)), errno: crate::abi::Errno::ENOENT }
    }
    pub fn cannot_run(path: &str, why: &str) -> LoadError {
        LoadError { status: 126, msg: format!("{}: {why}", vfs::path::display(path)), errno: crate::abi::Errno::EACCES }
    }
    pub fn bad_format(path: &str, why: &str) -> LoadError {
        LoadError { status: 126, msg: format!("{}: {why}", vfs::path::display(path)), errno: crate::abi::Errno::ENOEXEC }
    }
}

/// Linux's limit on nested `#!` interpreters.
const MAX_SCRIPT_DEPTH: usize = 4;
/// `BINPRM_BUF_SIZE`: how much of a script's first line Linux reads.
const BINPRM_BUF_SIZE: usize = 256;

pub struct Loaded {
    pub entry: u64,
    pub sp: u64,
    /// The guest path of the program that actually runs (the interpreter of a script).
    pub exe: String,
    pub argv: Vec<Vec<u8>>,
}

/// Finds `prog` the way a shell does: as given when it has a slash, else in PATH.
pub fn find_program(prog: &str, path_var: Option<&str>) -> Result<String, LoadError> {
    if prog.contains('/') {
        return Ok(prog.to_string());
    }
    let path_var = path_var.unwrap_or("/usr/local/bin:/usr/bin:/bin");
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = format!("{dir}/{prog}");
        if let Ok(r) = vfs::resolve_at(linux_raw_sys::general::AT_FDCWD, &vfs::path::to_bytes(&candidate), true) {
            if r.kind == Lookup::File {
                return Ok(candidate);
            }
        }
    }
    Err(LoadError::not_found(prog, "command not found"))
}

/// execve(2)'s checks before the point of no return, so that a failing
/// execve returns an errno to a task that lives on.
pub fn probe(path: &str) -> Result<(), LoadError> {
    let mut path = path.to_string();
    for _ in 0..=MAX_SCRIPT_DEPTH {
        let file = elf::open_exec(&path)?;
        let head = file.read_at(0, BINPRM_BUF_SIZE).map_err(|e| LoadError::cannot_run(&path, e.text()))?;
        if head.starts_with(b"#!") {
            let (interp, _) = parse_shebang(&head).ok_or_else(|| LoadError::bad_format(&path, "bad interpreter line"))?;
            path = interp;
            continue;
        }
        return elf::probe_elf(&path, &file);
    }
    Err(LoadError { status: 126, msg: format!("{path}: too many levels of #! interpreters"), errno: crate::abi::Errno::ELOOP })
}

/// Loads `path` with `argv` and `envp` and returns where to start.
/// `execfn` is the name the program was executed by (execve's filename as
/// given), which Linux puts in AT_EXECFN and hands a `#!` interpreter as
/// the script's name; `path` is where the file is.
pub fn load(path: &str, execfn: &str, argv: Vec<Vec<u8>>, envp: &[Vec<u8>]) -> Result<Loaded, LoadError> {
    let mut path = path.to_string();
    let mut argv = argv;
    let execfn = execfn.to_string();
    // What the next interpreter is told it runs (bprm->interp).
    let mut name = execfn.clone();
    for _ in 0..=MAX_SCRIPT_DEPTH {
        let file = elf::open_exec(&path)?;
        let head = file.read_at(0, BINPRM_BUF_SIZE).map_err(|e| LoadError::cannot_run(&path, e.text()))?;
        if head.starts_with(b"#!") {
            let (interp, arg) = parse_shebang(&head).ok_or_else(|| LoadError::cannot_run(&path, "bad interpreter line"))?;
            let mut new_argv = vec![vfs::path::to_bytes(&interp)];
            if let Some(a) = arg {
                new_argv.push(a.into_bytes());
            }
            new_argv.push(vfs::path::to_bytes(&name));
            new_argv.extend(argv.into_iter().skip(1));
            argv = new_argv;
            if elf::open_exec(&interp).is_err() {
                return Err(LoadError::not_found(&path, &format!("bad interpreter {interp}: No such file or directory")));
            }
            name = interp.clone();
            path = interp;
            continue;
        }
        let image = elf::load_elf(&path, &file, false)?;
        let (entry, interp_base) = match &image.interp {
            Some(interp_path) => {
                let ifile = elf::open_exec(interp_path)
                    .map_err(|_| LoadError::not_found(&path, &format!("cannot load the ELF interpreter {interp_path}")))?;
                let interp = elf::load_elf(interp_path, &ifile, true)?;
                (interp.entry, interp.base)
            }
            None => (image.entry, 0),
        };
        let brk_limit = image.brk_limit;
        {
            let mut mm = lock(&current().mm);
            mm.brk_start = image.end;
            mm.brk = image.end;
            mm.brk_limit = brk_limit;
            mm.exe_end = image.end;
        }
        let sp = stack::build(&image, interp_base, &argv, envp, &execfn)
            .map_err(|e| LoadError::cannot_run(&path, &e))?;
        return Ok(Loaded { entry, sp, exe: file.guest_path.clone(), argv });
    }
    Err(LoadError::cannot_run(&execfn, "too many levels of #! interpreters"))
}

/// `#!interp [one optional argument]`, as fs/binfmt_script.c splits it.
fn parse_shebang(head: &[u8]) -> Option<(String, Option<String>)> {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let line = std::str::from_utf8(&head[2..line_end]).ok()?;
    let line = line.trim_matches(|c| c == ' ' || c == '\t');
    if line.is_empty() {
        return None;
    }
    let (interp, rest) = match line.find([' ', '\t']) {
        Some(i) => (&line[..i], line[i..].trim_matches(|c| c == ' ' || c == '\t')),
        None => (line, ""),
    };
    Some((interp.to_string(), (!rest.is_empty()).then(|| rest.to_string())))
}

#[cfg(test)]
mod tests {
    use super::parse_shebang;

    #[test]
    fn shebang_lines() {
        assert_eq!(parse_shebang(b"#!/bin/sh\necho"), Some(("/bin/sh".into(), None)));
        assert_eq!(parse_shebang(b"#! /usr/bin/python3 -S -u \n"), Some(("/usr/bin/python3".into(), Some("-S -u".into()))));
        assert_eq!(parse_shebang(b"#!\n"), None);
    }
}
