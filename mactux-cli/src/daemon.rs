//! `mactux daemon ...`: run, start, stop and inspect mactuxd, and install it
//! as a LaunchAgent (macOS) or a socket-activated systemd user unit (Linux).
//!
//! The single `mactux` binary carries the daemon (`mactux daemon serve` calls
//! `mactuxd::serve`), so autostart spawns `<current exe> daemon serve --detach`.
//! The service templates live in launchd/ and are embedded here.

use clap::{Subcommand, ValueEnum};
use mactux_proto::client::{self, Client, ConnectError};
use mactux_proto::{Request, Response};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

const PLIST_TEMPLATE: &str = include_str!("../../launchd/com.mactux.mactuxd.plist.in");
const SOCKET_UNIT_TEMPLATE: &str = include_str!("../../launchd/mactuxd.socket.in");
const SERVICE_UNIT_TEMPLATE: &str = include_str!("../../launchd/mactuxd.service.in");
pub const LAUNCHD_LABEL: &str = "com.mactux.mactuxd";
/// How long `daemon stop` waits for the daemon to go.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Subcommand)]
pub enum DaemonCommand {
    /// Run the daemon in the foreground (what launchd, systemd and autostart run).
    #[command(hide = true)]
    Serve {
        /// Fork into the background once listening (autostart uses this).
        #[arg(long)]
        detach: bool,
    },
    /// Start the daemon in the background unless it runs already.
    Start,
    /// Ask the daemon to exit, and wait until it has.
    Stop,
    /// Print the daemon's pid, uptime, socket, number of tasks and protocol version.
    Status,
    /// Time round trips to the daemon from this process, outside any guest
    /// (no syscall trap), and print their percentiles in microseconds.
    Ping {
        /// How many timed requests (after 200 untimed ones).
        #[arg(short = 'n', long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
        count: u32,
    },
    /// Install the daemon as a LaunchAgent (macOS) or systemd user units (Linux).
    Install {
        /// Print the files and commands instead of writing and running them.
        #[arg(long)]
        dry_run: bool,
        /// The service manager (default: launchd on macOS, systemd elsewhere).
        #[arg(long, value_enum)]
        manager: Option<Manager>,
    },
    /// Remove what `install` wrote and unload it.
    Uninstall {
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum)]
        manager: Option<Manager>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Manager {
    Launchd,
    Systemd,
}

impl Manager {
    fn host_default() -> Manager {
        if cfg!(target_os = "macos") {
            Manager::Launchd
        } else {
            Manager::Systemd
        }
    }
}

pub fn main(cmd: DaemonCommand) -> ExitCode {
    match cmd {
        DaemonCommand::Serve { detach } => serve(detach),
        DaemonCommand::Start => start(),
        DaemonCommand::Stop => stop(),
        DaemonCommand::Status => status(),
        DaemonCommand::Ping { count } => ping(count),
        DaemonCommand::Install { dry_run, manager } => install(manager.unwrap_or_else(Manager::host_default), dry_run),
        DaemonCommand::Uninstall { dry_run, manager } => uninstall(manager.unwrap_or_else(Manager::host_default), dry_run),
    }
}

pub fn uid() -> u32 {
    mactux_runtime::host::process::euid()
}

/// Connects to the daemon, starting it when none runs.
pub fn connect_or_start() -> Result<Client, ConnectError> {
    client::connect_or_start(uid(), || client::spawn_daemon(&std::env::current_exe()?))
}

/// Connects to a running daemon only.
pub fn connect() -> Result<Client, ConnectError> {
    Client::connect(&client::socket_path(uid()))
}

fn serve(detach: bool) -> ExitCode {
    mactuxd::run(detach, "mactux daemon")
}

fn query_status(c: &mut Client) -> Result<(i32, f64, String, u32, u32), String> {
    match c.call(&Request::Status) {
        Ok(Response::Status { daemon_pid, uptime_secs, socket, tasks, version }) => Ok((daemon_pid, uptime_secs, socket, tasks, version)),
        Ok(other) => Err(format!("unexpected answer to Status: {other:?}")),
        Err(e) => Err(format!("the daemon did not answer: {e}")),
    }
}

fn start() -> ExitCode {
    match connect_or_start().map_err(|e| e.to_string()).and_then(|mut c| query_status(&mut c)) {
        Ok((pid, _, socket, _, _)) => {
            println!("mactuxd is running (pid {pid}, socket {socket})");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mactux daemon start: {e}");
            ExitCode::FAILURE
        }
    }
}

fn format_uptime(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h {m}m {s}s")
    } else if h > 0 {
        format!("{h}h {m}m {s}s")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

fn status() -> ExitCode {
    let socket = client::socket_path(uid());
    let mut c = match connect() {
        Ok(c) => c,
        Err(ConnectError::Unavailable(_)) => {
            println!("mactuxd is not running (socket {})", socket.display());
            // LSB: 3 = program is not running.
            return ExitCode::from(3);
        }
        Err(e) => {
            eprintln!("mactux daemon status: {e}");
            return ExitCode::FAILURE;
        }
    };
    match query_status(&mut c) {
        Ok((pid, uptime, socket, tasks, version)) => {
            println!("mactuxd is running");
            println!("pid: {pid}");
            println!("uptime: {}", format_uptime(uptime));
            println!("socket: {socket}");
            println!("tasks: {tasks}");
            println!("protocol: {version}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mactux daemon status: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn pid_gone(pid: i32) -> bool {
    // SAFETY: signal 0 only probes for existence.
    pid <= 0 || unsafe { libc::kill(pid, 0) } != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Sends Shutdown and waits until the daemon's socket is gone or its process
/// has exited. `Ok(None)`: no daemon ran.
fn shutdown_daemon() -> Result<Option<i32>, String> {
    let socket = client::socket_path(uid());
    let mut c = match connect() {
        Ok(c) => c,
        Err(ConnectError::Unavailable(_)) => return Ok(None),
        // A daemon of another version does not take our Shutdown: ask it
        // by signal, through the pid it wrote into its lock file.
        Err(ConnectError::VersionMismatch { .. }) => return stop_by_signal(&socket),
        Err(e) => return Err(e.to_string()),
    };
    let pid = c.daemon_pid;
    match c.call(&Request::Shutdown) {
        Ok(Response::Ok) => {}
        Ok(other) => return Err(format!("unexpected answer to Shutdown: {other:?}")),
        Err(e) => return Err(format!("the daemon did not answer: {e}")),
    }
    drop(c);
    wait_until_gone(&socket, pid)
}

/// Waits until the daemon `pid` has exited (or at least removed its socket).
fn wait_until_gone(socket: &std::path::Path, pid: i32) -> Result<Option<i32>, String> {
    let deadline = Instant::now() + STOP_TIMEOUT;
    while socket.exists() && !pid_gone(pid) {
        if Instant::now() >= deadline {
            return Err(format!("mactuxd (pid {pid}) did not exit within {STOP_TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Some(pid))
}

/// Stops a daemon that does not speak our protocol: SIGTERM to the pid in
/// its lock file, then wait for it to go.
fn stop_by_signal(socket: &std::path::Path) -> Result<Option<i32>, String> {
    let lock = client::state_dir(uid()).join("mactuxd.lock");
    let pid: i32 = std::fs::read_to_string(&lock)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("the running mactuxd speaks another protocol and {} does not name it; stop it by hand", lock.display()))?;
    // SAFETY: sending SIGTERM to the daemon process named by the lock file.
    if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
        return Err(format!("cannot signal mactuxd (pid {pid}): {}", std::io::Error::last_os_error()));
    }
    wait_until_gone(socket, pid)
}

fn stop() -> ExitCode {
    match shutdown_daemon() {
        Ok(Some(pid)) => {
            println!("mactuxd (pid {pid}) stopped");
            ExitCode::SUCCESS
        }
        Ok(None) => {
            println!("mactuxd is not running");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mactux daemon stop: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------- install

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

/// The LaunchAgent plist for `mactux` at `exe`, listening on `socket`.
pub fn render_plist(exe: &Path, socket: &Path, state_dir: &Path) -> String {
    PLIST_TEMPLATE
        .replace("@MACTUX@", &xml_escape(&exe.to_string_lossy()))
        .replace("@SOCKET@", &xml_escape(&socket.to_string_lossy()))
        .replace("@STATE_DIR@", &xml_escape(&state_dir.to_string_lossy()))
}

/// One ExecStart word, quoted as systemd.service(5) reads it, `%` doubled.
fn systemd_word(s: &str) -> String {
    let s = s.replace('%', "%%");
    if s.chars().any(|c| c.is_whitespace() || c == '"' || c == '\\' || c == '\'') {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s
    }
}

pub fn render_socket_unit() -> String {
    SOCKET_UNIT_TEMPLATE.to_string()
}

pub fn render_service_unit(exe: &Path) -> String {
    SERVICE_UNIT_TEMPLATE.replace("@MACTUX@", &systemd_word(&exe.to_string_lossy()))
}

fn home() -> Result<PathBuf, String> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from).ok_or_else(|| "HOME is not set".to_string())
}

struct Plan {
    files: Vec<(PathBuf, String)>,
    remove: Vec<PathBuf>,
    commands: Vec<Vec<String>>,
    notes: Vec<String>,
}

fn install_plan(manager: Manager) -> Result<Plan, String> {
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| format!("cannot find the mactux executable: {e}"))?;
    let uid = uid();
    let mut notes = Vec::new();
    match manager {
        Manager::Launchd => {
            let path = home()?.join("Library/LaunchAgents").join(format!("{LAUNCHD_LABEL}.plist"));
            let text = render_plist(&exe, &client::socket_path(uid), &client::state_dir(uid));
            // Never install a file launchd cannot read.
            plist::Value::from_reader_xml(text.as_bytes()).map_err(|e| format!("the generated plist does not parse: {e}"))?;
            Ok(Plan {
                commands: vec![
                    vec!["launchctl".into(), "bootout".into(), format!("gui/{uid}/{LAUNCHD_LABEL}")],
                    vec!["launchctl".into(), "bootstrap".into(), format!("gui/{uid}"), path.display().to_string()],
                ],
                files: vec![(path, text)],
                remove: vec![],
                notes,
            })
        }
        Manager::Systemd => {
            let dir = systemd_user_dir()?;
            if std::env::var_os("MACTUX_STATE_DIR").is_some() || std::env::var_os("XDG_RUNTIME_DIR").is_none() {
                notes.push(format!(
                    "note: the unit listens on $XDG_RUNTIME_DIR/mactux/mactuxd.sock, but this shell's clients use {}",
                    client::socket_path(uid).display()
                ));
            }
            Ok(Plan {
                files: vec![(dir.join("mactuxd.socket"), render_socket_unit()), (dir.join("mactuxd.service"), render_service_unit(&exe))],
                remove: vec![],
                commands: vec![
                    vec!["systemctl".into(), "--user".into(), "daemon-reload".into()],
                    vec!["systemctl".into(), "--user".into(), "enable".into(), "--now".into(), "mactuxd.socket".into()],
                ],
                notes,
            })
        }
    }
}

fn systemd_user_dir() -> Result<PathBuf, String> {
    let config = match std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => home()?.join(".config"),
    };
    Ok(config.join("systemd/user"))
}

fn uninstall_plan(manager: Manager) -> Result<Plan, String> {
    let uid = uid();
    match manager {
        Manager::Launchd => Ok(Plan {
            files: vec![],
            commands: vec![vec!["launchctl".into(), "bootout".into(), format!("gui/{uid}/{LAUNCHD_LABEL}")]],
            remove: vec![home()?.join("Library/LaunchAgents").join(format!("{LAUNCHD_LABEL}.plist"))],
            notes: vec![],
        }),
        Manager::Systemd => {
            let dir = systemd_user_dir()?;
            Ok(Plan {
                files: vec![],
                commands: vec![
                    vec![
                        "systemctl".into(),
                        "--user".into(),
                        "disable".into(),
                        "--now".into(),
                        "mactuxd.socket".into(),
                        "mactuxd.service".into(),
                    ],
                    vec!["systemctl".into(), "--user".into(), "daemon-reload".into()],
                ],
                remove: vec![dir.join("mactuxd.socket"), dir.join("mactuxd.service")],
                notes: vec![],
            })
        }
    }
}

fn have_command(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

/// Prints (`dry_run`) or carries out a plan. Dry-run output: `==> write PATH`
/// followed by the file, `==> remove PATH`, `==> run CMD...`.
fn carry_out(plan: Plan, dry_run: bool, is_uninstall: bool) -> ExitCode {
    for n in &plan.notes {
        eprintln!("{n}");
    }
    if dry_run {
        for (path, text) in &plan.files {
            println!("==> write {}", path.display());
            print!("{text}");
        }
        for path in &plan.remove {
            println!("==> remove {}", path.display());
        }
        for cmd in &plan.commands {
            println!("==> run {}", cmd.join(" "));
        }
        return ExitCode::SUCCESS;
    }
    // An on-demand daemon would hold the socket path the service manager wants.
    if let Err(e) = shutdown_daemon() {
        eprintln!("mactux daemon: could not stop the running daemon first: {e}");
    }
    if !is_uninstall {
        if let Err(e) = mactuxd::prepare_state_dir(&client::state_dir(uid()), uid()) {
            eprintln!("mactux daemon install: {e}");
            return ExitCode::FAILURE;
        }
    }
    for (path, text) in &plan.files {
        let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(path, text));
        if let Err(e) = written {
            eprintln!("mactux daemon install: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote {}", path.display());
    }
    let tool = plan.commands.first().map(|c| c[0].clone()).unwrap_or_default();
    if !tool.is_empty() && !have_command(&tool) {
        println!("{tool} is not available here; run these yourself:");
        for cmd in &plan.commands {
            println!("    {}", cmd.join(" "));
        }
    } else {
        for cmd in &plan.commands {
            // Unloading something that is not loaded fails harmlessly.
            let is_optional = is_uninstall || cmd.get(1).is_some_and(|a| a == "bootout");
            match Command::new(&cmd[0]).args(&cmd[1..]).status() {
                Ok(s) if s.success() => {}
                Ok(_) | Err(_) if is_optional => {}
                Ok(s) => {
                    eprintln!("mactux daemon: `{}` failed ({s})", cmd.join(" "));
                    return ExitCode::FAILURE;
                }
                Err(e) => {
                    eprintln!("mactux daemon: cannot run `{}`: {e}", cmd.join(" "));
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    for path in &plan.remove {
        match std::fs::remove_file(path) {
            Ok(()) => println!("removed {}", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                eprintln!("mactux daemon uninstall: cannot remove {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

fn install(manager: Manager, dry_run: bool) -> ExitCode {
    match install_plan(manager) {
        Ok(plan) => carry_out(plan, dry_run, false),
        Err(e) => {
            eprintln!("mactux daemon install: {e}");
            ExitCode::FAILURE
        }
    }
}

fn uninstall(manager: Manager, dry_run: bool) -> ExitCode {
    match uninstall_plan(manager) {
        Ok(plan) => carry_out(plan, dry_run, true),
        Err(e) => {
            eprintln!("mactux daemon uninstall: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plist_parses_back_with_every_key() {
        let text = render_plist(Path::new("/Apps/Mac & Tux/mactux"), Path::new("/Users/a/S p/mactuxd.sock"), Path::new("/Users/a/S p"));
        let v = plist::Value::from_reader_xml(text.as_bytes()).expect("plist parses");
        let d = v.as_dictionary().expect("a dictionary");
        assert_eq!(d.get("Label").and_then(|v| v.as_string()), Some(LAUNCHD_LABEL));
        let args: Vec<&str> = d.get("ProgramArguments").and_then(|v| v.as_array()).unwrap().iter().filter_map(|v| v.as_string()).collect();
        assert_eq!(args, ["/Apps/Mac & Tux/mactux", "daemon", "serve"]);
        assert_eq!(d.get("RunAtLoad").and_then(|v| v.as_boolean()), Some(true));
        assert_eq!(d.get("KeepAlive").and_then(|v| v.as_boolean()), Some(true));
        let l = d.get("Sockets").and_then(|v| v.as_dictionary()).and_then(|s| s.get("Listeners")).and_then(|v| v.as_dictionary()).unwrap();
        assert_eq!(l.get("SockPathName").and_then(|v| v.as_string()), Some("/Users/a/S p/mactuxd.sock"));
        assert_eq!(l.get("SockPathMode").and_then(|v| v.as_signed_integer()), Some(0o600));
    }

    #[test]
    fn systemd_units_have_the_fields() {
        let socket = render_socket_unit();
        for line in ["ListenStream=%t/mactux/mactuxd.sock", "SocketMode=0600", "DirectoryMode=0700", "WantedBy=sockets.target"] {
            assert!(socket.lines().any(|l| l == line), "{line} missing from\n{socket}");
        }
        let service = render_service_unit(Path::new("/opt/mac tux/100%/mactux"));
        assert!(service.lines().any(|l| l == "ExecStart=\"/opt/mac tux/100%%/mactux\" daemon serve"), "{service}");
        assert!(render_service_unit(Path::new("/usr/bin/mactux")).lines().any(|l| l == "ExecStart=/usr/bin/mactux daemon serve"));
    }

    #[test]
    fn uptime_reads_well() {
        assert_eq!(format_uptime(5.2), "5s");
        assert_eq!(format_uptime(3725.0), "1h 2m 5s");
        assert_eq!(format_uptime(90_061.0), "1d 1h 1m 1s");
    }
}

/// Percentile `p` of sorted `v` (nearest rank).
fn percentile(v: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// The daemon's share of a round trip: a getpgid of pid 1 on a connection
/// of its own, timed request by request, as a task's client sends it but
/// without the trap and the runtime around it.
fn ping(count: u32) -> ExitCode {
    let mut c = match connect() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mactux daemon ping: {e} (start it with `mactux daemon start`)");
            return ExitCode::FAILURE;
        }
    };
    let req = Request::GetPgid { pid: 1 };
    let one = |c: &mut Client| -> Result<f64, String> {
        let t = Instant::now();
        match c.call(&req) {
            Ok(Response::Pid(_)) => Ok(t.elapsed().as_secs_f64() * 1e6),
            Ok(other) => Err(format!("unexpected answer to getpgid(1): {other:?}")),
            Err(e) => Err(format!("the daemon did not answer: {e}")),
        }
    };
    let mut times = Vec::with_capacity(count as usize);
    for i in 0..200 + count {
        match one(&mut c) {
            Ok(us) if i >= 200 => times.push(us),
            Ok(_) => {}
            Err(e) => {
                eprintln!("mactux daemon ping: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "daemon_ping: N={count} mean_us={mean:.2} p50_us={:.2} p90_us={:.2} p99_us={:.2} p999_us={:.2} max_us={:.2}",
        percentile(&times, 50.0),
        percentile(&times, 90.0),
        percentile(&times, 99.0),
        percentile(&times, 99.9),
        times[times.len() - 1]
    );
    ExitCode::SUCCESS
}
