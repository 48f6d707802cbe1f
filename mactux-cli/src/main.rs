//! `mactux`: run Linux x86_64 programs; inspect the syscall table; manage
//! the daemon and the tasks of its virtual PID namespace.

mod daemon;
mod kill;
mod ps;
mod rootfs;
mod user;

use clap::{Parser, Subcommand};
use mactux_runtime::syscall::table::{Status, TABLE};
use mactux_runtime::{Config, Identity, TraceTarget};
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "mactux", version, about = "Run unmodified Linux x86_64 programs in-process")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `mactux run` alone: the parser a run takes, so that starting a program
/// does not build the whole command tree first (clap builds every
/// subcommand's arguments before it parses). Its arguments, help and
/// errors are `Command::Run`'s.
#[derive(Parser)]
#[command(name = "mactux", version, about = "Run unmodified Linux x86_64 programs in-process")]
struct RunCli {
    #[command(subcommand)]
    command: RunOnly,
}

#[derive(Subcommand)]
enum RunOnly {
    /// Run a Linux program: mactux run [OPTIONS] PROG [ARGS...]
    Run(RunArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Print each emulated syscall, strace-style, to stderr.
    #[arg(long)]
    trace: bool,
    /// Write the trace to FILE instead of stderr (implies --trace).
    #[arg(long, value_name = "FILE")]
    trace_file: Option<PathBuf>,
    /// The guest's `/`: a host directory, or the NAME of a root from
    /// `mactux rootfs import` (default: `root` in ~/.mactux/config.toml,
    /// else / on Linux, ~/.mactux/rootfs on macOS).
    #[arg(long, value_name = "DIR|NAME")]
    root: Option<PathBuf>,
    /// Mount the host directory HOST at GUEST in the guest's tree
    /// (repeatable; also `mounts` in ~/.mactux/config.toml).
    #[arg(long = "mount", value_name = "HOST:GUEST")]
    mounts: Vec<String>,
    /// The kernel release `uname -r` reports.
    #[arg(long, value_name = "RELEASE")]
    kernel_release: Option<String>,
    /// Run as Linux user USER (and group GROUP), each a number or a
    /// name from the guest root's /etc/passwd and /etc/group (the
    /// host's when no root is chosen). Without GROUP, the user's group
    /// in /etc/passwd, else GID = UID. A named user gets the
    /// supplementary groups /etc/group lists it in, as login does; a
    /// number none. Only the guest's ids change: the host process
    /// keeps the host user's.
    #[arg(long, value_name = "USER[:GROUP]", value_parser = user::parse, conflicts_with = "root_user")]
    user: Option<user::UserSpec>,
    /// Run as uid 0 (root, with every capability) inside, as package
    /// managers expect; same as --user 0:0.
    #[arg(short = '0', long)]
    root_user: bool,
    /// Never rewrite a trapping `syscall` site into a direct entry
    /// (every syscall traps), as MACTUX_REWRITE=0 does.
    #[arg(long)]
    no_rewrite: bool,
    /// The program, then its arguments. Options for mactux come before
    /// PROG; everything after PROG is the program's, `--flags` included.
    /// A PROG that starts with `-` is not taken for a mistyped option
    /// unless `--` comes before it.
    #[arg(required = true, trailing_var_arg = true, value_name = "PROG [ARGS]...")]
    argv: Vec<std::ffi::OsString>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a Linux program: mactux run [OPTIONS] PROG [ARGS...]
    Run(RunArgs),
    /// Continue a Linux task after its execve (used by the runtime itself).
    #[command(hide = true, name = "__resume")]
    Resume {
        /// The host fd holding the task's state.
        fd: i32,
    },
    /// Print the syscall table: number, name, status and notes.
    Syscalls {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Markdown, as docs/compat.md holds it.
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
    },
    /// Manage mactuxd, the per-user daemon (start, stop, status, install ...).
    Daemon {
        #[command(subcommand)]
        command: daemon::DaemonCommand,
    },
    /// List the Linux tasks of the virtual PID namespace, like `ps -ef`.
    Ps {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Send a signal to Linux tasks: mactux kill [-s SIG | -SIG | -NUM] PID... | -l [SIG]
    #[command(disable_help_flag = true)]
    Kill {
        /// Options and pids, as kill(1) takes them.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0.., value_name = "ARGS")]
        args: Vec<String>,
    },
    /// Import, list and remove guest root filesystems (~/.mactux/roots).
    Rootfs {
        #[command(subcommand)]
        command: rootfs::RootfsCommand,
    },
}

fn default_root() -> PathBuf {
    if cfg!(target_os = "macos") {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/"));
        home.join(".mactux/rootfs")
    } else {
        PathBuf::from("/")
    }
}

fn run(
    trace: bool,
    trace_file: Option<PathBuf>,
    root: Option<PathBuf>,
    mounts: Vec<String>,
    release: Option<String>,
    user: Option<user::UserSpec>,
    no_rewrite: bool,
    argv: Vec<std::ffi::OsString>,
) -> ExitCode {
    let guest_fs = rootfs::guest_root(root.as_deref()).and_then(|root| Ok((root, rootfs::host_mounts(&mounts)?)));
    let (root, linux_metadata, mounts, etc) = match guest_fs {
        Ok((root, mounts)) => {
            // Names are the chosen root's; without one, the host's.
            let etc = root.as_ref().map_or_else(|| PathBuf::from("/etc"), |(r, _)| r.join("etc"));
            let (root, metadata) = root.unwrap_or_else(|| (default_root(), false));
            (root, metadata, mounts, etc)
        }
        Err(msg) => {
            eprintln!("mactux: {msg}");
            return ExitCode::from(125);
        }
    };
    let user = match user.map(|u| user::resolve(&u, &etc)).transpose() {
        Ok(u) => u,
        Err(msg) => {
            eprintln!("mactux: {msg}");
            return ExitCode::from(125);
        }
    };
    match std::fs::metadata(&root) {
        Ok(m) if m.is_dir() => {}
        _ => {
            eprintln!("mactux: the guest root {} is not a directory; pass --root DIR with a Linux root filesystem", root.display());
            return ExitCode::from(125);
        }
    }
    let trace = match (trace, trace_file) {
        (_, Some(f)) => Some(TraceTarget::File(f)),
        (true, None) => Some(TraceTarget::Stderr),
        (false, None) => None,
    };
    let log = std::env::var("MACTUX_LOG").unwrap_or_default();
    let mut identity = Identity::default();
    if let Some(r) = release {
        identity.release = r;
    }
    let mactux_exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("mactux"));
    let config = Config {
        root,
        trace,
        log_missing: log.split(',').any(|w| w == "missing" || w == "all"),
        identity,
        mactux_exe,
        use_daemon: std::env::var_os("MACTUX_NO_DAEMON").is_none(),
        vdso_uses_host: std::env::var_os("MACTUX_VDSO").map_or(true, |v| v != "syscall"),
        rewrite_syscalls: !no_rewrite && std::env::var_os("MACTUX_REWRITE").map_or(true, |v| v != "0"),
        log_traps: log.split(',').any(|w| w == "traps" || w == "all"),
        linux_metadata,
        user,
        mounts,
    };
    let envp: Vec<Vec<u8>> = std::env::vars_os()
        .filter(|(k, _)| k != "MACTUX_LOG")
        .map(|(k, v)| {
            let mut e = k.into_vec();
            e.push(b'=');
            e.extend(v.into_vec());
            e
        })
        .collect();
    // Any bytes, as a Linux argv may hold.
    let argv: Vec<Vec<u8>> = argv.into_iter().map(std::os::unix::ffi::OsStringExt::into_vec).collect();
    let (prog, args) = argv.split_first().expect("clap requires PROG");
    let err = mactux_runtime::run(config, prog, args, envp);
    eprintln!("mactux: {}", err.msg);
    ExitCode::from(u8::try_from(err.status).unwrap_or(1))
}

fn syscalls(json: bool, markdown: bool) -> ExitCode {
    if json {
        let rows: Vec<serde_json::Value> = TABLE
            .iter()
            .map(|r| serde_json::json!({"nr": r.nr, "name": r.name, "status": r.status.label(), "note": r.status.note()}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
    } else if markdown {
        print!("{}", compat_markdown());
    } else {
        for r in TABLE {
            let note = r.status.note().unwrap_or_default();
            println!("{:>3}  {:<24} {:<8} {}", r.nr, r.name, r.status.label(), note);
        }
    }
    ExitCode::SUCCESS
}

fn compat_markdown() -> String {
    let count = |f: fn(&Status) -> bool| TABLE.iter().filter(|r| f(&r.status)).count();
    let full = count(|s| matches!(s, Status::Full(_)));
    let partial = count(|s| matches!(s, Status::Partial(..)));
    let stub = count(|s| matches!(s, Status::Stub(..)));
    let missing = count(|s| matches!(s, Status::Missing));
    let mut s = String::from(
        "# Syscall compatibility\n\n<!-- Generated by `mactux syscalls --markdown` from runtime/src/syscall/table.rs. Do not edit. -->\n\n",
    );
    s.push_str(&format!(
        "{} x86_64 syscalls: {full} full, {partial} partial, {stub} stub, {missing} missing (ENOSYS).\n\n",
        TABLE.len()
    ));
    s.push_str("| nr | name | status | notes |\n|---:|---|---|---|\n");
    for r in TABLE {
        let note = r.status.note().unwrap_or_default().replace('|', "\\|");
        s.push_str(&format!("| {} | `{}` | {} | {} |\n", r.nr, r.name, r.status.label(), note));
    }
    s
}

fn resume(fd: i32) -> ExitCode {
    let err = mactux_runtime::resume(fd);
    eprintln!("mactux: {}", err.msg);
    ExitCode::from(u8::try_from(err.status).unwrap_or(1))
}

fn run_command(a: RunArgs) -> ExitCode {
    let RunArgs { trace, trace_file, root, mounts, kernel_release, user, root_user, no_rewrite, argv } = a;
    let user = if root_user { Some(user::UserSpec { user: "0".into(), group: Some("0".into()) }) } else { user };
    run(trace, trace_file, root, mounts, kernel_release, user, no_rewrite, argv)
}

fn main() -> ExitCode {
    mactux_runtime::host::process::restore_default_sigpipe();
    let mut args = std::env::args_os().skip(1);
    match (args.next(), args.next(), args.next()) {
        (Some(c), ..) if c == "run" => {
            let RunOnly::Run(a) = RunCli::parse().command;
            return run_command(a);
        }
        // The runtime's own re-execution at every execve: no parser at all.
        (Some(c), Some(fd), None) if c == "__resume" => {
            if let Some(fd) = fd.to_str().and_then(|f| f.parse().ok()) {
                return resume(fd);
            }
        }
        _ => {}
    }
    match Cli::parse().command {
        Command::Run(a) => run_command(a),
        Command::Syscalls { json, markdown } => syscalls(json, markdown),
        Command::Daemon { command } => daemon::main(command),
        Command::Ps { json } => ps::main(json),
        Command::Kill { args } => kill::main(args),
        Command::Rootfs { command } => rootfs::main(command),
        Command::Resume { fd } => resume(fd),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn run_argv(args: &[&str]) -> Vec<std::ffi::OsString> {
        let run_only = RunCli::try_parse_from(args).map(|c| match c.command {
            RunOnly::Run(a) => a.argv,
        });
        match Cli::try_parse_from(args).map(|c| c.command) {
            Ok(Command::Run(a)) => {
                assert_eq!(run_only.ok(), Some(a.argv.clone()), "{args:?}: `run` alone parses as the whole tree does");
                a.argv
            }
            Ok(_) => panic!("{args:?} is not parsed as `run`"),
            Err(e) => panic!("{args:?}: {e}"),
        }
    }

    #[test]
    fn unknown_run_option_is_a_usage_error() {
        let e = Cli::try_parse_from(["mactux", "run", "--bogus", "/bin/true"]).err().expect("--bogus must be refused");
        assert_eq!(e.kind(), ErrorKind::UnknownArgument);
        assert_eq!(e.exit_code(), 2);
        let e = Cli::try_parse_from(["mactux", "run", "-x", "/bin/true"]).err().expect("-x must be refused");
        assert_eq!(e.kind(), ErrorKind::UnknownArgument);
    }

    #[test]
    fn options_after_the_program_are_the_programs() {
        assert_eq!(run_argv(&["mactux", "run", "prog", "--flag", "-x", "--", "y"]), ["prog", "--flag", "-x", "--", "y"]);
        assert_eq!(run_argv(&["mactux", "run", "--trace", "prog", "--trace"]), ["prog", "--trace"]);
        assert_eq!(run_argv(&["mactux", "run", "--", "-prog", "a"]), ["-prog", "a"]);
    }
}
