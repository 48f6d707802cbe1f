//! mactuxd: the per-user MacTux daemon.
//!
//! It will own what Linux tasks share: the virtual PID namespace (pids, the
//! parent/child tree, process groups, sessions, exit statuses), the /proc
//! view of every task, and the registries of shared futexes and of pipes and
//! FIFOs. It is started by launchd at login on macOS (see `launchd/`), by a
//! systemd user unit or on demand by `mactux` elsewhere. Until the daemon
//! issue lands, every `mactux run` process is a single self-contained task.

fn main() -> std::process::ExitCode {
    eprintln!(
        "mactuxd {}: the daemon is not implemented yet; `mactux run` works without it (protocol version {})",
        env!("CARGO_PKG_VERSION"),
        mactux_proto::PROTOCOL_VERSION
    );
    std::process::ExitCode::from(69)
}
