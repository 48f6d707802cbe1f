//! `mactux kill [-s SIG | -SIG | -NUM] PID...` and `mactux kill -l [SIG]`:
//! kill(1) on the virtual PID namespace, with Linux signal names and numbers.
//!
//! Each pid is resolved by the daemon (`Resolve`), which also cleans up
//! tasks whose host process is gone; the Linux signal is translated to the
//! host's and sent with kill(2) to each host pid. A negative PID names a
//! process group (`--` before it, as with kill(1), or directly).

use crate::daemon;
use mactux_proto::{KillTarget, Request, Response, Vpid};
use mactux_runtime::abi::signal::{Signal, NSIG, SIGRTMIN};
use mactux_runtime::abi::Errno;
use std::process::ExitCode;

/// The Linux name of a signal without "SIG" ("RTMIN+3" for real-time ones).
fn signal_name(sig: Signal) -> Option<String> {
    if let Some(n) = sig.name() {
        return Some(n.trim_start_matches("SIG").to_string());
    }
    match sig.0 {
        n if n == SIGRTMIN => Some("RTMIN".into()),
        n if n == NSIG => Some("RTMAX".into()),
        n if n > SIGRTMIN && n < NSIG => Some(format!("RTMIN+{}", n - SIGRTMIN)),
        _ => None,
    }
}

/// Parses `TERM`, `SIGTERM`, `term`, `15`, `RTMIN+2`.
pub fn parse_signal(s: &str) -> Option<Signal> {
    if let Ok(n) = s.parse::<u64>() {
        return if n == 0 { Some(Signal(0)) } else { Signal::from_raw(n) };
    }
    let upper = s.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    // Aliases Linux accepts.
    let bare = match bare {
        "IOT" => "ABRT",
        "POLL" => "IO",
        "CLD" => "CHLD",
        other => other,
    };
    (1..=NSIG).map(Signal).find(|&sig| signal_name(sig).as_deref() == Some(bare))
}

fn list(arg: Option<&str>) -> ExitCode {
    match arg {
        None => {
            let names: Vec<String> = (1..=NSIG).filter_map(|n| signal_name(Signal(n)).map(|name| format!("{n:>2}) SIG{name}"))).collect();
            for row in names.chunks(5) {
                println!("{}", row.iter().map(|c| format!("{c:<14}")).collect::<String>().trim_end());
            }
            ExitCode::SUCCESS
        }
        Some(a) => {
            // kill -l 137 names the signal of an exit status as well.
            let n = a.parse::<u64>().ok().map(|n| if n > 128 { n - 128 } else { n });
            match n.and_then(Signal::from_raw).or_else(|| parse_signal(a)) {
                Some(sig) if a.parse::<u64>().is_ok() => {
                    println!("{}", signal_name(sig).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                Some(sig) => {
                    println!("{}", sig.0);
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("mactux kill: unknown signal: {a}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: mactux kill [-s SIGNAL | -SIGNAL | -NUMBER] PID...\n       mactux kill -l [SIGNAL]");
    ExitCode::FAILURE
}

pub fn main(args: Vec<String>) -> ExitCode {
    let mut sig = Signal::SIGTERM;
    let mut pids: Vec<&str> = Vec::new();
    let mut i = 0;
    let mut options_done = false;
    while i < args.len() {
        let a = args[i].as_str();
        if options_done || !a.starts_with('-') || (a.len() > 1 && a[1..].parse::<i64>().is_ok() && !pids.is_empty()) {
            pids.push(a);
        } else if a == "--" {
            options_done = true;
        } else if a == "-l" || a == "-L" || a == "--list" {
            return list(args.get(i + 1).map(String::as_str));
        } else if a == "-s" || a == "-n" || a == "--signal" {
            i += 1;
            let Some(name) = args.get(i) else { return usage() };
            match parse_signal(name) {
                Some(s) => sig = s,
                None => {
                    eprintln!("mactux kill: unknown signal: {name}");
                    return ExitCode::FAILURE;
                }
            }
        } else {
            match parse_signal(&a[1..]) {
                Some(s) => sig = s,
                None => {
                    eprintln!("mactux kill: unknown signal: {}", &a[1..]);
                    return ExitCode::FAILURE;
                }
            }
        }
        i += 1;
    }
    if pids.is_empty() {
        return usage();
    }
    let host_sig = if sig.0 == 0 {
        0
    } else {
        match mactux_runtime::host::signal::to_host(sig) {
            Some(s) => s,
            None => {
                eprintln!("mactux kill: SIG{} has no counterpart on this host", signal_name(sig).unwrap_or_default());
                return ExitCode::FAILURE;
            }
        }
    };
    let mut client = match daemon::connect() {
        Ok(c) => Some(c),
        Err(mactux_proto::client::ConnectError::Unavailable(_)) => None,
        Err(e) => {
            eprintln!("mactux kill: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut status = ExitCode::SUCCESS;
    for p in pids {
        let target = match p.parse::<Vpid>() {
            Ok(-1) => KillTarget::All,
            Ok(n) if n < 0 => KillTarget::Pgid(-n),
            Ok(n) if n > 0 => KillTarget::Pid(n),
            _ => {
                eprintln!("mactux kill: ({p}) - Invalid argument: not a process id");
                status = ExitCode::FAILURE;
                continue;
            }
        };
        let resolved = match client.as_mut().map(|c| c.call(&Request::Resolve { target })) {
            None => Err("No such process".to_string()),
            Some(Ok(Response::Children(v))) => Ok(v),
            Some(Ok(Response::Error { errno, msg })) => {
                Err(if errno == mactuxd::linux::ESRCH { "No such process".to_string() } else { msg })
            }
            Some(Ok(other)) => Err(format!("unexpected answer from the daemon: {other:?}")),
            Some(Err(e)) => Err(format!("the daemon did not answer: {e}")),
        };
        match resolved {
            Ok(targets) => {
                for (pid, host_pid) in targets {
                    if host_pid <= 0 {
                        continue;
                    }
                    // As a task's kill(2) sends it: named, so that a CLONE_VM
                    // child process, which lives in its parent's host
                    // process, gets it rather than that parent.
                    // Err: no such process (it ended meanwhile), or why not.
                    let sent: Result<(), Option<String>> = match client.as_mut() {
                        Some(c) if sig.0 != 0 => mactux_runtime::syscall::proc_model::signal_named(pid, host_pid, Some(sig), &mut |r| c.call(r).ok())
                            .map_err(|e| (e.errno != Errno::ESRCH).then(|| e.message().to_string())),
                        // SAFETY: kill has no memory effects; host_pid is a single positive pid.
                        _ => match unsafe { libc::kill(host_pid, host_sig) } {
                            0 => Ok(()),
                            _ => {
                                let e = std::io::Error::last_os_error();
                                Err((e.raw_os_error() != Some(libc::ESRCH)).then(|| e.to_string()))
                            }
                        },
                    };
                    if let Err(Some(why)) = sent {
                        eprintln!("mactux kill: ({p}) - {why}");
                        status = ExitCode::FAILURE;
                    }
                }
            }
            Err(msg) => {
                eprintln!("mactux kill: ({p}) - {msg}");
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_and_numbers() {
        assert_eq!(parse_signal("9"), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("KILL"), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("sigterm"), Some(Signal::SIGTERM));
        assert_eq!(parse_signal("IOT"), Some(Signal::SIGABRT));
        assert_eq!(parse_signal("RTMIN+1"), Some(Signal(SIGRTMIN + 1)));
        assert_eq!(parse_signal("RTMAX"), Some(Signal(NSIG)));
        assert_eq!(parse_signal("NOPE"), None);
        assert_eq!(parse_signal("65"), None);
        assert_eq!(signal_name(Signal::SIGSTKFLT).as_deref(), Some("STKFLT"));
    }
}
