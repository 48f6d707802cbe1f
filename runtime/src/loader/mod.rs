//! The loader: maps a Linux ELF program (static, static-pie, or dynamic via
//! its PT_INTERP) or a `#!` script into the guest address space and builds
//! the initial stack of the x86_64 psABI (section 3.4.1).
//!
//! Not signal context: runs once, before guest code. Errors are user-facing:
//! they name the file and carry the status a shell would report (127 for a
//! missing program, 126 for one that cannot be run).

pub mod check;
pub mod elf;
pub mod stack;
pub mod vdso;

use check::{Refusal, Role, BINPRM_BUF_SIZE};

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
    /// The path could not be looked up or opened: the call's errno, and
    /// a shell's status for it (127 for a missing file, else 126).
    pub fn from_errno(path: &str, errno: crate::abi::Errno) -> LoadError {
        let status = if errno == crate::abi::Errno::ENOENT { 127 } else { 126 };
        LoadError { status, msg: format!("{}: {}", vfs::path::display(path), errno.text()), errno }
    }
    /// A file `check.rs` refused, with its errno.
    pub fn refused(path: &str, r: &Refusal) -> LoadError {
        let status = if r.errno == crate::abi::Errno::ENOENT { 127 } else { 126 };
        let why = match r.errno {
            crate::abi::Errno::ENOEXEC => format!("cannot execute binary file: Exec format error ({})", r.why),
            e => format!("{} ({})", e.text(), r.why),
        };
        LoadError { status, msg: format!("{}: {why}", vfs::path::display(path)), errno: r.errno }
    }
    /// `path`'s ELF interpreter `interp` cannot be opened: its errno.
    fn interpreter(path: &str, interp: &str, e: LoadError) -> LoadError {
        let msg = format!("{}: cannot load the ELF interpreter {}: {}", vfs::path::display(path), vfs::path::display(interp), e.errno.text());
        LoadError { status: e.status, msg, errno: e.errno }
    }
    /// `path`'s `#!` interpreter `interp` cannot be opened: its errno.
    fn script_interpreter(path: &str, interp: &str, e: LoadError) -> LoadError {
        let msg = format!("{}: bad interpreter {}: {}", vfs::path::display(path), vfs::path::display(interp), e.errno.text());
        LoadError { status: e.status, msg, errno: e.errno }
    }
}

/// How many `#!` scripts may run one another: `exec_binprm` gives up with
/// ELOOP when a sixth would be needed.
const MAX_SCRIPT_DEPTH: usize = 5;

fn too_many_scripts(path: &str) -> LoadError {
    let msg = format!("{}: too many levels of #! interpreters", vfs::path::display(path));
    LoadError { status: 126, msg, errno: crate::abi::Errno::ELOOP }
}

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

/// What `path` runs as: an ELF file (with the interpreter its PT_INTERP
/// names, checked too) or, for a `#!` script, the interpreter its first
/// line names, with that line's one optional argument.
enum Next {
    Elf,
    Script { interp: String, arg: Option<Vec<u8>> },
}

/// The first look at an opened file (`search_binary_handler`): a script
/// names what runs next (ENOEXEC when its line does not); an ELF file is
/// checked whole, its interpreter opened and checked too.
fn examine(path: &str, file: &elf::ExecFile) -> Result<Next, LoadError> {
    let head = file.read_at(0, BINPRM_BUF_SIZE).map_err(|e| LoadError::cannot_run(path, e.text()))?;
    if check::is_script(&head) {
        let line = check::parse_shebang(&head).map_err(|r| LoadError::refused(path, &r))?;
        let interp = vfs::path::from_bytes(&line.interp);
        return Ok(Next::Script { interp, arg: line.arg });
    }
    let plan = check::check_elf(file, Role::Program).map_err(|r| LoadError::refused(path, &r))?;
    if let Some(interp) = &plan.interp {
        let interp = vfs::path::from_bytes(interp);
        let ifile = elf::open_exec(&interp).map_err(|e| LoadError::interpreter(path, &interp, e))?;
        check::check_elf(&ifile, Role::Interpreter).map_err(|r| LoadError::refused(&interp, &r))?;
    }
    Ok(Next::Elf)
}

/// execve(2)'s checks before the point of no return: everything [`load`]
/// checks, so that a file that cannot run fails execve with Linux's errno
/// in a task that lives on, rather than after the runtime re-executed.
pub fn probe(path: &str) -> Result<(), LoadError> {
    let mut path = path.to_string();
    for _ in 0..=MAX_SCRIPT_DEPTH {
        let file = elf::open_exec(&path)?;
        match examine(&path, &file)? {
            Next::Elf => return Ok(()),
            Next::Script { interp, .. } => {
                elf::open_exec(&interp).map_err(|e| LoadError::script_interpreter(&path, &interp, e))?;
                path = interp;
            }
        }
    }
    Err(too_many_scripts(&path))
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
        if let Next::Script { interp, arg } = examine(&path, &file)? {
            let mut new_argv = vec![vfs::path::to_bytes(&interp)];
            new_argv.extend(arg);
            new_argv.push(vfs::path::to_bytes(&name));
            new_argv.extend(argv.into_iter().skip(1));
            argv = new_argv;
            elf::open_exec(&interp).map_err(|e| LoadError::script_interpreter(&path, &interp, e))?;
            name = interp.clone();
            path = interp;
            continue;
        }
        let image = elf::load_elf(&path, &file, Role::Program)?;
        let (entry, interp_base) = match &image.interp {
            Some(interp_path) => {
                let ifile = elf::open_exec(interp_path).map_err(|e| LoadError::interpreter(&path, interp_path, e))?;
                let interp = elf::load_elf(interp_path, &ifile, Role::Interpreter)?;
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
        // The credentials the program runs with (bprm_creds_from_file): the
        // set-id bits of the file that runs (a script's interpreter, not the
        // script), and the capability rules for root.
        let (cred, is_secure) = current().cred().exec(file.mode, file.uid, file.gid);
        let _ = current().update_cred(|_| Ok(cred.clone()));
        let vdso_base = vdso::map().map_err(|e| LoadError::cannot_run(&path, &e))?;
        let sp = stack::build(&image, interp_base, vdso_base, &argv, envp, &execfn, &cred, is_secure)
            .map_err(|e| LoadError::cannot_run(&path, &e))?;
        return Ok(Loaded { entry, sp, exe: file.guest_path.clone(), argv });
    }
    Err(too_many_scripts(&execfn))
}
