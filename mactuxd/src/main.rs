//! `mactuxd`: the per-user MacTux daemon in the foreground. `mactux daemon
//! serve` does the same from the single `mactux` binary; this one exists for
//! service managers that prefer a dedicated executable.

fn main() -> std::process::ExitCode {
    mactuxd::run(std::env::args().skip(1).any(|a| a == "--detach"), "mactuxd")
}
