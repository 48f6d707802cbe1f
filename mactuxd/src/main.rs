//! `mactuxd`: the per-user MacTux daemon in the foreground. `mactux daemon
//! serve` does the same from the single `mactux` binary; this one exists for
//! service managers that prefer a dedicated executable.

fn main() -> std::process::ExitCode {
    let mut opts = mactuxd::ServeOpts::for_current_user();
    if std::env::args().skip(1).any(|a| a == "--detach") {
        match mactuxd::detach() {
            Ok(ready) => opts.ready = Some(ready),
            Err(e) => {
                eprintln!("mactuxd: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    match mactuxd::serve(opts) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mactuxd: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
