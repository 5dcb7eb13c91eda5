//! Running one input: in the worker process (restarted whenever an input kills it), or as
//! a child binary. Either way the result is an [`Outcome`]: a clean result, or a crash
//! with a key that tells distinct crashes apart.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::targets::{self, Exec, Target};

/// Marks the worker's replies among whatever else the test harness prints.
const REPLY: &str = "@@fuzz ";
/// Ends each input's stderr in the worker.
const DONE_LINE: &str = "@@fuzz-done";
/// Marks the worker's note of a panic on stderr.
const PANIC_LINE: &str = "@@fuzz-panic ";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crash {
    /// What distinguishes this crash from others of the target: a panic's location, a
    /// signal, an exit status, a hang.
    pub key: String,
    /// The message, for the report.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// A clean, reported failure (the parser refused the input).
    Error(String),
    Crash(Crash),
}

/// Limits for one execution.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    /// Address-space limit of the worker, so a size taken from a file that asks for
    /// gigabytes fails the allocation (a crash) instead of swapping the machine.
    pub memory_mb: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { timeout: Duration::from_secs(20), memory_mb: 3072 }
    }
}

/// Panic locations inside dependencies, shortened to `crate-version/src/file.rs:line`.
fn short_location(loc: &str) -> String {
    match loc.find("/registry/src/") {
        Some(i) => {
            let rest = &loc[i + "/registry/src/".len()..];
            rest.split_once('/').map(|(_, r)| r.to_string()).unwrap_or_else(|| rest.to_string())
        }
        None => loc.to_string(),
    }
}

/// A panic inside the standard library (an overflow in `Iterator::product`, an index into a
/// slice) is named by the first frame of a backtrace outside it: the caller at fault.
pub fn blame(loc: &str, backtrace: &str) -> String {
    if !loc.starts_with("/rustc/") {
        return short_location(loc);
    }
    backtrace
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("at "))
        // Past the standard library and this harness's panic hook.
        .find(|at| !at.starts_with("/rustc/") && !at.contains("tests/fuzz/exec.rs"))
        .map(|at| {
            let at = at.trim().trim_start_matches("./");
            // file:line:column -> file:line
            let at = match at.rsplit_once(':') {
                Some((head, col)) if col.chars().all(|c| c.is_ascii_digit()) => head,
                _ => at,
            };
            short_location(at)
        })
        .unwrap_or_else(|| short_location(loc))
}

fn one_line(s: &str) -> String {
    s.replace('\n', " | ").chars().take(400).collect()
}

// ---- worker side -------------------------------------------------------------------------

/// Descriptors a worker may gain before one more counts as a leak.
pub const LEAK_MARGIN: usize = 8;

fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

static LAST_PANIC: Mutex<Option<(String, String)>> = Mutex::new(None);

/// The worker's loop: read `name length\n` then the bytes, run, reply on one line.
pub fn worker_main() {
    if let Ok(mb) = std::env::var("SHORKIE_FUZZ_MEMORY_MB").map(|v| v.parse::<u64>().unwrap_or(3072)) {
        let bytes = mb.saturating_mul(1 << 20);
        let lim = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
        // SAFETY: setrlimit only reads the struct we pass.
        unsafe {
            libc::setrlimit(libc::RLIMIT_AS, &lim);
        }
    }
    std::panic::set_hook(Box::new(|info| {
        let loc = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let loc = if loc.starts_with("/rustc/") {
            blame(&loc, &std::backtrace::Backtrace::force_capture().to_string())
        } else {
            short_location(&loc)
        };
        // Also on stderr: a panic that cannot unwind (inside a C callback, or in a drop while
        // unwinding) aborts the worker, and then this line is what names the crash.
        eprintln!("{PANIC_LINE}{loc}\t{}", one_line(&msg));
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some((loc, msg));
    }));
    let scratch = tempfile::tempdir().expect("worker scratch dir");
    let baseline = open_files();
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let all = targets::all();
    let mut line = String::new();
    loop {
        line.clear();
        if stdin.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (Some(name), Some(len)) = (parts.next(), parts.next().and_then(|n| n.parse::<usize>().ok())) else {
            return;
        };
        let mut input = vec![0u8; len];
        if stdin.read_exact(&mut input).is_err() {
            return;
        }
        let reply = match all.iter().find(|t| t.name == name) {
            Some(Target { exec: Exec::InProcess(f), file_name, .. }) => {
                let dir = scratch.path().join("run");
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).expect("scratch");
                let path = dir.join(file_name);
                std::fs::write(&path, &input).expect("write input");
                let before = open_files();
                let result = std::panic::catch_unwind(AssertUnwindSafe(|| f(&input, &path, &dir)));
                let after = open_files();
                match result {
                    // A reader that keeps its file open leaks a descriptor per input (first
                    // uses, such as a cached /dev/urandom, stay under the margin).
                    _ if after > before && after > baseline + LEAK_MARGIN => {
                        format!("leak {}", after - baseline)
                    }
                    Ok(Ok(())) => "ok".to_string(),
                    Ok(Err(msg)) => format!("err {}", one_line(&msg)),
                    Err(_) => {
                        let (loc, msg) = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_default();
                        format!("panic {loc}\t{}", one_line(&msg))
                    }
                }
            }
            _ => format!("err harness: no in-process target {name}"),
        };
        // Marks the end of this input's stderr, so that a later death is named only by
        // what the input that killed the worker printed.
        eprintln!("{DONE_LINE}");
        let _ = writeln!(stdout, "{REPLY}{reply}");
        let _ = stdout.flush();
    }
}

// ---- harness side -------------------------------------------------------------------------

struct Worker {
    child: Child,
    stdin: ChildStdin,
    replies: Receiver<String>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    stderr_reader: std::thread::JoinHandle<()>,
}

impl Worker {
    fn spawn(limits: &Limits) -> Worker {
        let exe = std::env::current_exe().expect("test binary");
        let mut child = Command::new(exe)
            .args(["worker", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env("SHORKIE_FUZZ_WORKER", "1")
            .env("SHORKIE_FUZZ_MEMORY_MB", limits.memory_mb.to_string())
            .env("RAYON_NUM_THREADS", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the fuzz worker");
        let stdin = child.stdin.take().expect("worker stdin");
        let stdout = child.stdout.take().expect("worker stdout");
        let stderr = child.stderr.take().expect("worker stderr");
        let (tx, replies) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest's "test worker ... " precedes the first reply on its line.
                if let Some(i) = line.find(REPLY) {
                    if tx.send(line[i + REPLY.len()..].to_string()).is_err() {
                        break;
                    }
                }
            }
        });
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let tail = stderr_tail.clone();
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
                if line.contains(DONE_LINE) {
                    t.clear();
                    continue;
                }
                t.push_back(line);
                if t.len() > 20 {
                    t.pop_front();
                }
            }
        });
        Worker { child, stdin, replies, stderr_tail, stderr_reader }
    }

    /// How the worker died, and the last line it wrote on stderr.
    fn death(mut self, timed_out: bool) -> Crash {
        if timed_out {
            let _ = self.child.kill();
        }
        let status = self.child.wait().ok();
        // The dying words: everything the worker wrote on stderr, up to its end.
        drop(self.stdin);
        let _ = self.stderr_reader.join();
        let tail = self.stderr_tail.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if timed_out {
            return Crash { key: "hang".into(), detail: "no result within the time limit".into() };
        }
        let panic = tail.iter().rev().find_map(|l| l.split_once(PANIC_LINE).map(|(_, p)| p.to_string()));
        let last = tail
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty() && !l.contains(PANIC_LINE) && !l.starts_with("running "))
            .cloned()
            .unwrap_or_default();
        use std::os::unix::process::ExitStatusExt;
        let how = match status.and_then(|s| s.signal()) {
            Some(sig) => format!("signal {sig}"),
            None => format!("worker exit {:?}", status.and_then(|s| s.code())),
        };
        match panic {
            Some(p) => {
                let (loc, msg) = p.split_once('\t').unwrap_or((&p, ""));
                Crash { key: format!("{how} after a panic at {loc}"), detail: one_line(msg) }
            }
            None => match tail.iter().find(|l| l.contains("memory allocation of")) {
                Some(l) => Crash { key: format!("{how} (allocation failure)"), detail: one_line(l) },
                None => Crash { key: how, detail: one_line(&last) },
            },
        }
    }
}

/// Runs inputs of in-process targets in a worker, and binary targets as children.
pub struct Runner {
    worker: Option<Worker>,
    pub limits: Limits,
    scratch: tempfile::TempDir,
}

impl Runner {
    pub fn new(limits: Limits) -> Runner {
        Runner { worker: None, limits, scratch: tempfile::tempdir().expect("scratch dir") }
    }

    pub fn run(&mut self, target: &Target, input: &[u8]) -> Outcome {
        match &target.exec {
            Exec::InProcess(_) => self.run_in_worker(target.name, input),
            Exec::Binary(args) => self.run_binary(target, input, *args),
        }
    }

    fn run_in_worker(&mut self, name: &str, input: &[u8]) -> Outcome {
        let limits = self.limits;
        let worker = self.worker.get_or_insert_with(|| Worker::spawn(&limits));
        let sent = worker
            .stdin
            .write_all(format!("{name} {}\n", input.len()).as_bytes())
            .and_then(|_| worker.stdin.write_all(input))
            .and_then(|_| worker.stdin.flush());
        let reply = match sent {
            Ok(()) => worker.replies.recv_timeout(self.limits.timeout),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        };
        match reply {
            Ok(r) => {
                if r == "ok" {
                    Outcome::Ok
                } else if let Some(msg) = r.strip_prefix("err ") {
                    Outcome::Error(msg.to_string())
                } else if let Some(n) = r.strip_prefix("leak ") {
                    // A fresh worker before the leak exhausts descriptors (the same worker
                    // until then, so that minimising sees the leak again).
                    if n.parse::<usize>().unwrap_or(0) > 256 {
                        if let Some(mut w) = self.worker.take() {
                            let _ = w.child.kill();
                            let _ = w.child.wait();
                        }
                    }
                    Outcome::Crash(Crash {
                        key: "file descriptor leak".into(),
                        detail: format!("{n} more files open than at the worker's start, one more after this input"),
                    })
                } else if let Some(p) = r.strip_prefix("panic ") {
                    let (loc, msg) = p.split_once('\t').unwrap_or((p, ""));
                    Outcome::Crash(Crash { key: format!("panic at {loc}"), detail: msg.to_string() })
                } else {
                    Outcome::Error(r)
                }
            }
            Err(e) => {
                let w = self.worker.take().expect("worker");
                Outcome::Crash(w.death(matches!(e, RecvTimeoutError::Timeout)))
            }
        }
    }

    fn run_binary(&mut self, target: &Target, input: &[u8], args: fn(&Path) -> (PathBuf, Vec<std::ffi::OsString>)) -> Outcome {
        let dir = self.scratch.path().join("run");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch");
        let path = dir.join(target.file_name);
        std::fs::write(&path, input).expect("write input");
        let (bin, argv) = args(&path);
        let mut child = Command::new(bin)
            .args(argv)
            .current_dir(&dir)
            .env("RAYON_NUM_THREADS", "1")
            // A panic in the standard library is then named by its caller (see `blame`).
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the binary");
        let mut stderr = child.stderr.take().expect("stderr");
        let reader = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = stderr.read_to_end(&mut s);
            String::from_utf8_lossy(&s).to_string()
        });
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break Some(st),
                Ok(None) if start.elapsed() > self.limits.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => break None,
            }
        };
        let stderr = reader.join().unwrap_or_default();
        classify_exit(status, &stderr)
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Some(mut w) = self.worker.take() {
            let _ = w.child.kill();
            let _ = w.child.wait();
        }
    }
}

/// A binary's result: a signal, an exit status other than 0 or 1, or a panic message is a
/// crash; exit 1 is a clean error.
pub fn classify_exit(status: Option<std::process::ExitStatus>, stderr: &str) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    let Some(status) = status else {
        return Outcome::Crash(Crash { key: "hang".into(), detail: "no exit within the time limit".into() });
    };
    if let Some(i) = stderr.find("panicked at ") {
        let rest = &stderr[i + "panicked at ".len()..];
        let loc = rest.split(|c: char| c == '\n' || c == ' ').next().unwrap_or("").trim_end_matches(':');
        let loc = loc.rsplitn(2, ':').nth(1).unwrap_or(loc);
        let msg = rest.lines().nth(1).unwrap_or("");
        return Outcome::Crash(Crash { key: format!("panic at {}", blame(loc, rest)), detail: one_line(msg) });
    }
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string();
    if let Some(sig) = status.signal() {
        return Outcome::Crash(Crash { key: format!("signal {sig}"), detail: one_line(&last) });
    }
    match status.code() {
        Some(0) => Outcome::Ok,
        Some(1) => Outcome::Error(one_line(&last)),
        code => Outcome::Crash(Crash { key: format!("exit {code:?}"), detail: one_line(&last) }),
    }
}
