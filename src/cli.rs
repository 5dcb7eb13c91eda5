//! What every binary shares: error printing, exit codes, quiet SIGPIPE.

use std::io::Write;

/// Runs a binary's main body: errors go to stderr as one line `prog: error: ...` with exit
/// status 1; a closed stdout (EPIPE) exits quietly.
pub fn run_main(prog: &str, body: impl FnOnce() -> crate::Result<()>) -> ! {
    crate::threads::install_panic_hook();
    let result = body();
    // A worker thread that failed without being joined must still fail the run.
    let result = match (result, crate::threads::take_worker_panics().first()) {
        (Ok(()), Some(p)) => Err(crate::Error::Other(format!("internal error: a worker thread panicked at {p}"))),
        (r, _) => r,
    };
    match result {
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

/// Unix convention: a closed stdout ends the program quietly (Rust ignores SIGPIPE by
/// default; htslib writes would otherwise report an error).
pub fn default_sigpipe() {
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Sets the compute threads for candle and rayon; call before any model work.
pub fn set_threads(n: Option<usize>) {
    if let Some(n) = n.filter(|n| *n > 0) {
        // candle reads the same variable as rayon for its GEMM threads.
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
    }
}

/// Whether stderr is a terminal (progress bars only then).
pub fn stderr_is_tty() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}
