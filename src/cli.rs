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

/// Returns freed heap pages to the system, at most every `every`: glibc keeps the pages
/// of freed blocks inside its heaps, so over a long stream of batches whose buffers are
/// freed in a different order than allocated, resident memory creeps up. Called by the
/// streaming workers between batches; costs a heap walk, not the page faults a fixed mmap
/// threshold costs every batch (25% of a full-size Shorkie pass, measured).
pub fn release_freed_memory(last: &mut std::time::Instant, every: std::time::Duration) {
    if last.elapsed() < every {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
    *last = std::time::Instant::now();
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

/// `--threads` and `-q/--quiet`: one meaning and one help text in every binary.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CommonArgs {
    /// Compute threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Nothing on stderr but errors and warnings: no progress bar, no summary.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `--batch-size`, in every binary that runs a model.
#[derive(clap::Args, Debug, Clone)]
pub struct BatchArgs {
    /// Sequences per forward pass (at least 1).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub batch_size: usize,
}

/// The help text of `--device`, wherever a binary runs a model.
pub const DEVICE_HELP: &str = "auto (the first GPU when built with CUDA and one is present, else the CPU), cpu, cuda or cuda:N (cuda needs a build with --features cuda)";

/// A binary whose input defaults to standard input, started at a terminal with nothing
/// piped in, prints its usage and exits 2 instead of silently waiting for typed input.
pub fn usage_if_stdin_is_a_terminal(input: &str, cmd: clap::Command) {
    use std::io::IsTerminal;
    if input == "-" && std::io::stdin().is_terminal() {
        let name = cmd.get_name().to_string();
        let mut cmd = cmd;
        let _ = writeln!(std::io::stderr(), "{}\n\n{name}: no input: give a file, or pipe one in (`-` reads standard input); --help for more", cmd.render_usage());
        std::process::exit(2);
    }
}

/// Parses a binary's command line, first answering two hidden requests that print what
/// `scripts/install-docs` installs, generated from the same clap definition:
/// `--generate-completions bash|zsh|fish|elvish|powershell` and `--generate-man`.
pub fn parse<C: clap::Parser>() -> C {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut cmd = C::command();
    let name = cmd.get_name().to_string();
    let mut out = std::io::stdout().lock();
    match args.get(1).and_then(|a| a.to_str()) {
        Some("--generate-completions") if args.len() == 3 => {
            let shell: clap_complete::Shell = match args[2].to_str().and_then(|s| s.parse().ok()) {
                Some(s) => s,
                None => {
                    let _ = writeln!(std::io::stderr(), "{name}: error: --generate-completions: expected bash, zsh, fish, elvish or powershell");
                    std::process::exit(2);
                }
            };
            clap_complete::generate(shell, &mut cmd, name, &mut out);
            std::process::exit(0);
        }
        Some("--generate-man") if args.len() == 2 => {
            let code = match clap_mangen::Man::new(cmd).render(&mut out).and_then(|_| out.flush()) {
                Ok(()) => 0,
                Err(e) => {
                    let _ = writeln!(std::io::stderr(), "{name}: error: writing the man page: {e}");
                    1
                }
            };
            std::process::exit(code);
        }
        _ => C::parse(),
    }
}
