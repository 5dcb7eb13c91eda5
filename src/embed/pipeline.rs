//! The streaming shape of `shorkie-embed`, the scorer's shape without its clustering step:
//!
//! ```text
//! reader thread --bounded--> model worker thread --bounded--> writer (main thread)
//! (FASTA records,            (batches of windows,             (in input order)
//!  BED regions + genome)      pooling)
//! ```
//!
//! The worker handles items in arrival order and sends them on in that order, so the
//! writer never waits on a gap; memory is bounded by the channel capacities.

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::error::{Error, Result};

use super::{Embedder, Embedding, Item, Meta};

pub struct RunOptions {
    /// Windows per forward pass.
    pub batch_size: usize,
    pub progress: bool,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub sequences: u64,
    pub windows: u64,
    pub bases: u64,
}

type Done = Result<Vec<(Meta, Embedding, usize)>>;

fn worker(embedder: Embedder, batch_size: usize, items: Receiver<Result<Item>>, done: Sender<Done>) {
    let mut trimmed = std::time::Instant::now();
    while let Ok(first) = items.recv() {
        crate::cli::release_freed_memory(&mut trimmed, std::time::Duration::from_secs(2));
        let mut batch = Vec::new();
        let mut failure = None;
        match first {
            Ok(item) => batch.push(item),
            Err(e) => failure = Some(e),
        }
        // Take what is already waiting, up to about a batch of windows.
        let mut windows: usize = batch.iter().map(|i| i.windows.len()).sum();
        while failure.is_none() && windows < batch_size {
            match items.try_recv() {
                Ok(Ok(item)) => {
                    windows += item.windows.len();
                    batch.push(item);
                }
                Ok(Err(e)) => failure = Some(e),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            let msg = embedder.embed(&batch, batch_size).map(|embs| {
                batch.into_iter().zip(embs).map(|(item, e)| (item.meta, e, item.windows.len())).collect()
            });
            let failed = msg.is_err();
            if done.send(msg).is_err() || failed {
                return;
            }
        }
        if let Some(e) = failure {
            let _ = done.send(Err(e));
            return;
        }
    }
}

/// Embeds every item `source` yields (it runs on its own thread and is built there, so
/// it may hold non-`Send` readers) and hands each embedding to `write` in input order.
pub fn run<S, I>(
    source: S,
    embedder: Embedder,
    opts: &RunOptions,
    mut write: impl FnMut(&Meta, &Embedding) -> Result<()>,
) -> Result<Summary>
where
    S: FnOnce() -> Result<I> + Send + 'static,
    I: Iterator<Item = Result<Item>>,
{
    let batch_size = opts.batch_size.max(1);
    let (item_tx, item_rx) = bounded::<Result<Item>>((batch_size * 4).max(16));
    let (done_tx, done_rx) = bounded::<Done>(4);
    let reader = std::thread::spawn(move || {
        let items = match source() {
            Ok(items) => items,
            Err(e) => {
                let _ = item_tx.send(Err(e));
                return;
            }
        };
        for item in items {
            let stop = item.is_err();
            if item_tx.send(item).is_err() || stop {
                return;
            }
        }
    });
    let worker_h = std::thread::spawn(move || worker(embedder, batch_size, item_rx, done_tx));

    let progress = opts.progress.then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed} {pos} sequences ({per_sec})").expect("valid template"),
        );
        bar
    });
    let mut summary = Summary::default();
    let mut next = 0u64;
    let result: Result<()> = (|| {
        for msg in done_rx.iter() {
            for (meta, emb, windows) in msg? {
                if meta.index != next {
                    return Err(Error::Other(format!("embedding {} arrived where {next} was due", meta.index)));
                }
                write(&meta, &emb)?;
                next += 1;
                summary.sequences += 1;
                summary.windows += windows as u64;
                summary.bases += meta.length as u64;
                if let Some(bar) = &progress {
                    bar.set_position(summary.sequences);
                }
            }
        }
        Ok(())
    })();
    // Dropping the receiver stops the worker, which stops the reader.
    drop(done_rx);
    // A thread that panicked closed its channel early, which looks like the end of the
    // input: its panic must fail the run, or the output would silently lack records.
    let worker_done = crate::threads::join(worker_h, "model worker");
    let reader_done = crate::threads::join(reader, "reader");
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    result?;
    reader_done?;
    worker_done?;
    Ok(summary)
}
