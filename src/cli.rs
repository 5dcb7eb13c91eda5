//! What every binary shares: error printing, exit codes, quiet SIGPIPE.

use std::io::Write;

/// Runs a binary's main body: errors go to stderr as one line `prog: error: ...` with exit
/// status 1; a closed stdout (EPIPE) exits quietly.
pub fn run_main(prog: &str, body: impl FnOnce() -> crate::Result<()>) -> ! {
    match body() {
        Ok(()) => std::process::exit(0),
        Err(crate::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            std::process::exit(0)
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{prog}: error: {}", e.one_line());
            std::process::exit(1)
        }
    }
}
