//! Writing a BigWig (bigtools) into a [`Staged`] output with every failure as an error.
//!
//! bigtools panics on some write failures (a full disk makes its writer task fail and the
//! caller `unwrap` the result), so the write runs under `catch_unwind` with the panic
//! message silenced, and the first I/O error the file saw is what the message reports.

use std::collections::HashMap;
use std::io::{Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use bigtools::beddata::BedParserStreamingIterator;
use bigtools::{BigWigWrite, Value};

use crate::error::{Error, Result};
use crate::staged::Staged;

/// A file that remembers the first error of any write or seek.
struct Latched {
    file: std::fs::File,
    first: Arc<Mutex<Option<std::io::Error>>>,
}

impl Latched {
    fn note<T>(&self, r: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &r {
            if let Ok(mut g) = self.first.lock() {
                if g.is_none() {
                    *g = Some(std::io::Error::new(e.kind(), e.to_string()));
                }
            }
        }
        r
    }
}

impl Write for Latched {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let r = self.file.write(buf);
        self.note(r)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let r = self.file.flush();
        self.note(r)
    }
}

impl Seek for Latched {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let r = self.file.seek(pos);
        self.note(r)
    }
}

/// Runs `f`, turning a panic into `Err` without printing it.
fn quietly<T>(f: impl FnOnce() -> T + std::panic::UnwindSafe) -> std::thread::Result<T> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(f);
    std::panic::set_hook(previous);
    r
}

/// Writes `values` (sorted by chromosome, then position) as a BigWig with chromosome
/// `sizes` into `out` (left uncommitted: the caller commits or drops it).
pub fn write_staged<C, I>(out: &mut Staged, sizes: HashMap<String, u32>, values: I) -> Result<()>
where
    C: Into<String> + for<'a> PartialEq<&'a str>,
    I: Iterator<Item = (C, Value)>,
{
    let shown = out.shown();
    if !out.is_staged() {
        return Err(Error::Input(format!("{shown}: a BigWig is written with seeks; give a regular file")));
    }
    write(out.file(), &shown, sizes, values)
}

/// Writes a BigWig into `file` (a seekable file); `shown` names it in errors.
pub fn write<C, I>(file: &std::fs::File, shown: &str, sizes: HashMap<String, u32>, values: I) -> Result<()>
where
    C: Into<String> + for<'a> PartialEq<&'a str>,
    I: Iterator<Item = (C, Value)>,
{
    let file = file.try_clone().map_err(|e| Error::io(shown, e))?;
    let first = Arc::new(Mutex::new(None));
    let latched = Latched { file, first: first.clone() };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .map_err(|e| Error::Other(format!("cannot start the BigWig writer runtime: {e}")))?;
    let data = BedParserStreamingIterator::wrap_infallible_iter(values, false);
    let outcome = quietly(std::panic::AssertUnwindSafe(move || BigWigWrite::new(latched, sizes).write(data, runtime).map_err(|e| e.to_string())));
    let io_error = first.lock().ok().and_then(|mut g| g.take());
    match (outcome, io_error) {
        (Ok(Ok(())), None) => Ok(()),
        (_, Some(e)) => Err(Error::io(shown, e)),
        (Ok(Err(e)), None) => Err(Error::Other(format!("{shown}: cannot write BigWig ({})", crate::error::first_line(&e)))),
        (Err(_), None) => Err(Error::Other(format!("{shown}: cannot write BigWig (the BigWig writer failed)"))),
    }
}
