//! Worker threads whose failure always reaches the caller: [`join`] turns a panic into an
//! error naming the thread, and the binaries' panic hook ([`install_panic_hook`]) keeps a
//! worker's panic off stderr as a multi-line report and remembers it, so `run_main` can
//! fail even when some thread was never joined.

use std::sync::Mutex;
use std::thread::{JoinHandle, ScopedJoinHandle};

use crate::error::{Error, Result};

/// Panics seen on threads other than `main`, with their location.
static WORKER_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "no message".to_string()
    }
}

/// Waits for `handle`; a panic becomes an error naming `what` (e.g. "reader").
pub fn join<T>(handle: JoinHandle<T>, what: &str) -> Result<T> {
    handle.join().map_err(|payload| panicked(payload.as_ref(), what))
}

/// [`join`] for a thread of a `std::thread::scope`.
pub fn join_scoped<T>(handle: ScopedJoinHandle<'_, T>, what: &str) -> Result<T> {
    handle.join().map_err(|payload| panicked(payload.as_ref(), what))
}

fn panicked(payload: &(dyn std::any::Any + Send), what: &str) -> Error {
    let msg = panic_message(payload);
    // The hook already recorded it; it is reported here, so do not report it twice.
    if let Ok(mut seen) = WORKER_PANICS.lock() {
        seen.retain(|s| !s.ends_with(&msg));
    }
    Error::Other(format!("the {what} thread panicked: {}", msg.lines().next().unwrap_or("")))
}

/// Joins a thread returning `Result`: its error or its panic, whichever happened.
pub fn join_result<T>(handle: JoinHandle<Result<T>>, what: &str) -> Result<T> {
    join(handle, what)?
}

/// Panics recorded on worker threads and not reported through [`join`].
pub fn take_worker_panics() -> Vec<String> {
    WORKER_PANICS.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default()
}

/// Binaries: a panic on the main thread is reported as Rust does; one on any other thread
/// is recorded (message and location) for [`join`] or `run_main` to report as one line.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some("main") {
            default(info);
            return;
        }
        let msg = panic_message(info.payload());
        let at = info.location().map(|l| format!("{}:{}: ", l.file(), l.line())).unwrap_or_default();
        if let Ok(mut seen) = WORKER_PANICS.lock() {
            seen.push(format!("{at}{msg}"));
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_thread_is_an_error() {
        let h = std::thread::spawn(|| -> Result<u32> { panic!("bad record") });
        let e = join_result(h, "reader").unwrap_err().to_string();
        assert_eq!(e, "the reader thread panicked: bad record");
        let h = std::thread::spawn(|| -> Result<u32> { Err(Error::Input("x.fa: line 3: bad".into())) });
        assert_eq!(join_result(h, "reader").unwrap_err().to_string(), "x.fa: line 3: bad");
        let h = std::thread::spawn(|| -> Result<u32> { Ok(7) });
        assert_eq!(join_result(h, "reader").unwrap(), 7);
    }
}
