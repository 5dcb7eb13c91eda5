//! The streaming shape the model-running tools share (embed, predict, ISM):
//!
//! ```text
//! reader thread --bounded--> model worker thread --bounded--> writer (the caller's thread)
//! (parses input,             (takes what is waiting, up to   (gets each result once,
//!  builds work items)         a batch of units; one pass)     in input order)
//! ```
//!
//! Memory is bounded by the two channels, never by the length of the input. The writer
//! restores input order with [`Reorder`] (the scorer, whose batcher regroups variants
//! into clusters and splits gene-mode records into pieces, uses it on its own).
//! Every thread's failure reaches the caller: a reader error arrives after the items
//! before it, a worker error or panic fails the run, and a writer error stops both
//! threads through their closed channels.

use std::collections::BTreeMap;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::error::{Error, Result};

/// How items are batched and how many may wait between the threads.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Work units (model windows) per batch: the worker stops taking items once the
    /// batch holds this many. An item larger than a batch goes alone.
    pub batch_units: usize,
    /// Items that may wait for the worker.
    pub queued: usize,
}

impl Shape {
    /// `batch_units` per batch and four batches' worth of single-unit items queued.
    pub fn for_batch(batch_units: usize) -> Self {
        let batch_units = batch_units.max(1);
        Shape { batch_units, queued: (batch_units * 4).max(16) }
    }
}

/// Results of one batch, each with the index of the item it came from.
type Done<R> = Result<Vec<(u64, R)>>;

/// Runs `work` over every item `source` yields and hands each result to `write` in input
/// order; returns the number written. `source` runs on the reader thread and is built
/// there, so it may hold readers that cannot cross threads; `work` gets a batch of items
/// and must return one result per item, in order. `units` says how much of a batch an
/// item fills.
pub fn run<T, R, I>(
    source: impl FnOnce() -> Result<I> + Send,
    units: impl Fn(&T) -> usize + Send,
    work: impl FnMut(Vec<T>) -> Result<Vec<R>> + Send,
    shape: Shape,
    mut write: impl FnMut(R) -> Result<()>,
) -> Result<u64>
where
    I: Iterator<Item = Result<T>>,
    T: Send,
    R: Send,
{
    let (item_tx, item_rx) = bounded::<Result<(u64, T)>>(shape.queued.max(1));
    let (done_tx, done_rx) = bounded::<Done<R>>(2);
    std::thread::scope(|scope| {
        let reader = std::thread::Builder::new()
            .name("reader".into())
            .spawn_scoped(scope, move || read(source, item_tx))
            .map_err(|e| Error::Other(format!("cannot start the reader thread: {e}")))?;
        let worker = std::thread::Builder::new()
            .name("model worker".into())
            .spawn_scoped(scope, move || batch_and_work(units, work, shape.batch_units.max(1), item_rx, done_tx))
            .map_err(|e| Error::Other(format!("cannot start the model worker thread: {e}")))?;
        let mut order = Reorder::new(0);
        let mut written = 0u64;
        let result: Result<()> = (|| {
            for done in done_rx.iter() {
                for (idx, r) in done? {
                    order.insert(idx, r)?;
                }
                while let Some((_, r)) = order.pop() {
                    write(r)?;
                    written += 1;
                }
            }
            if order.waiting() > 0 {
                return Err(Error::Other(format!("result {} never arrived", order.next())));
            }
            Ok(())
        })();
        // Dropping the receiver stops the worker, which stops the reader.
        drop(done_rx);
        // A thread that panicked closed its channel early, which looks like the end of the
        // input: its panic must fail the run, or the output would silently lack records.
        let worker_done = crate::threads::join_scoped(worker, "model worker");
        let reader_done = crate::threads::join_scoped(reader, "reader");
        result?;
        worker_done?;
        reader_done?;
        Ok(written)
    })
}

fn read<T, I>(source: impl FnOnce() -> Result<I>, items: Sender<Result<(u64, T)>>)
where
    I: Iterator<Item = Result<T>>,
{
    let iter = match source() {
        Ok(iter) => iter,
        Err(e) => {
            let _ = items.send(Err(e));
            return;
        }
    };
    for (idx, item) in (0u64..).zip(iter) {
        let stop = item.is_err();
        if items.send(item.map(|t| (idx, t))).is_err() || stop {
            return;
        }
    }
}

fn batch_and_work<T, R>(
    units: impl Fn(&T) -> usize,
    mut work: impl FnMut(Vec<T>) -> Result<Vec<R>>,
    batch_units: usize,
    items: Receiver<Result<(u64, T)>>,
    done: Sender<Done<R>>,
) {
    let mut trimmed = std::time::Instant::now();
    while let Ok(first) = items.recv() {
        crate::cli::release_freed_memory(&mut trimmed, std::time::Duration::from_secs(2));
        let mut batch: Vec<(u64, T)> = Vec::new();
        let mut failure = None;
        match first {
            Ok(item) => batch.push(item),
            Err(e) => failure = Some(e),
        }
        let mut filled: usize = batch.iter().map(|(_, t)| units(t)).sum();
        while failure.is_none() && filled < batch_units {
            match items.try_recv() {
                Ok(Ok(item)) => {
                    filled += units(&item.1);
                    batch.push(item);
                }
                Ok(Err(e)) => failure = Some(e),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            let (idx, batch): (Vec<u64>, Vec<T>) = batch.into_iter().unzip();
            let n = batch.len();
            let msg = work(batch).and_then(|results| {
                if results.len() != n {
                    return Err(Error::Other(format!("the model worker returned {} results for {n} items", results.len())));
                }
                Ok(idx.into_iter().zip(results).collect())
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

/// Restores input order: results are filed under their item index as they arrive and
/// taken out only in sequence.
#[derive(Debug)]
pub struct Reorder<T> {
    next: u64,
    waiting: BTreeMap<u64, T>,
}

impl<T> Reorder<T> {
    /// Expects index `first` first.
    pub fn new(first: u64) -> Self {
        Reorder { next: first, waiting: BTreeMap::new() }
    }

    /// Files `item` under `idx`; an index already taken out or already waiting is a bug
    /// upstream, reported rather than silently overwriting a result.
    pub fn insert(&mut self, idx: u64, item: T) -> Result<()> {
        if idx < self.next || self.waiting.contains_key(&idx) {
            return Err(Error::Other(format!("result {idx} arrived twice")));
        }
        self.waiting.insert(idx, item);
        Ok(())
    }

    /// The next result in sequence, if it has arrived.
    pub fn pop(&mut self) -> Option<(u64, T)> {
        let item = self.waiting.remove(&self.next)?;
        self.next += 1;
        Some((self.next - 1, item))
    }

    /// The index due next.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Results that arrived ahead of a gap.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn numbers(n: u64) -> impl FnOnce() -> Result<std::vec::IntoIter<Result<u64>>> + Send {
        move || Ok((0..n).map(Ok).collect::<Vec<_>>().into_iter())
    }

    #[test]
    fn every_item_once_in_order_in_batches_of_units() {
        let sizes = std::sync::Mutex::new(Vec::new());
        let mut out = Vec::new();
        let n = run(
            numbers(1000),
            |_| 1,
            |batch: Vec<u64>| {
                sizes.lock().unwrap().push(batch.len());
                Ok(batch.into_iter().map(|x| x * 2).collect())
            },
            Shape::for_batch(8),
            |r| {
                out.push(r);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(n, 1000);
        assert_eq!(out, (0..1000).map(|x| x * 2).collect::<Vec<_>>());
        let sizes = sizes.into_inner().unwrap();
        assert!(sizes.iter().all(|&s| (1..=8).contains(&s)), "{sizes:?}");
        assert_eq!(sizes.iter().sum::<usize>(), 1000);
    }

    #[test]
    fn an_item_larger_than_a_batch_goes_alone() {
        let sizes = std::sync::Mutex::new(Vec::new());
        let units = |x: &u64| if *x == 3 { 50 } else { 1 };
        run(
            numbers(10),
            units,
            |batch: Vec<u64>| {
                sizes.lock().unwrap().push(batch.clone());
                Ok(batch)
            },
            Shape { batch_units: 4, queued: 100 },
            |_| Ok(()),
        )
        .unwrap();
        for b in sizes.into_inner().unwrap() {
            let filled: usize = b.iter().map(units).sum();
            // A batch stops growing once it is full, so only its last item can overflow it.
            let before_last: usize = b[..b.len() - 1].iter().map(units).sum();
            assert!(before_last < 4 || b.len() == 1, "{b:?} filled {filled}");
        }
    }

    #[test]
    fn a_reader_error_arrives_after_the_items_before_it() {
        let source = || Ok((0..10u64).map(|i| if i == 6 { Err(Error::Input("x.bed: line 7: bad".into())) } else { Ok(i) }));
        let mut out = Vec::new();
        let e = run(source, |_| 1, |b: Vec<u64>| Ok(b), Shape::for_batch(4), |r| {
            out.push(r);
            Ok(())
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "x.bed: line 7: bad");
        assert_eq!(out, vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_worker_error_or_panic_fails_the_run() {
        let e = run(numbers(100), |_| 1, |b: Vec<u64>| {
            if b.contains(&40) {
                return Err(Error::Other("out of memory".into()));
            }
            Ok(b)
        }, Shape::for_batch(4), |_| Ok(()))
        .unwrap_err();
        assert_eq!(e.to_string(), "out of memory");
        let e = run(numbers(100), |_| 1, |b: Vec<u64>| {
            assert!(!b.contains(&40), "bad batch");
            Ok(b)
        }, Shape::for_batch(4), |_| Ok(()))
        .unwrap_err();
        assert_eq!(e.to_string(), "the model worker thread panicked: bad batch");
        let e = run(numbers(100), |_| 1, |b: Vec<u64>| Ok(b[1..].to_vec()), Shape::for_batch(4), |_| Ok(())).unwrap_err();
        assert!(e.to_string().contains("results for"), "{e}");
    }

    #[test]
    fn a_writer_error_stops_an_endless_reader_which_never_runs_far_ahead() {
        let produced = AtomicU64::new(0);
        let source = || Ok((0u64..).map(|i| {
            produced.fetch_add(1, Ordering::SeqCst);
            Ok(i)
        }));
        let shape = Shape { batch_units: 4, queued: 8 };
        let mut seen = 0;
        let e = run(source, |_| 1, |b: Vec<u64>| Ok(b), shape, |r| {
            // The reader may be ahead by what the channels and the batch in hand hold.
            let ahead = produced.load(Ordering::SeqCst) - r;
            assert!(ahead <= 8 + 4 + 2 * 4 + 4 + 2, "the reader ran {ahead} items ahead");
            seen += 1;
            if seen == 50 {
                return Err(Error::io("out.tsv", std::io::Error::other("disk full")));
            }
            Ok(())
        })
        .unwrap_err();
        assert!(e.to_string().contains("disk full"), "{e}");
    }

    #[test]
    fn reorder_releases_in_sequence_and_refuses_a_repeat() {
        let mut r = Reorder::new(0);
        r.insert(2, 'c').unwrap();
        r.insert(1, 'b').unwrap();
        assert_eq!(r.pop(), None);
        r.insert(0, 'a').unwrap();
        assert_eq!((r.pop(), r.pop(), r.pop(), r.pop()), (Some((0, 'a')), Some((1, 'b')), Some((2, 'c')), None));
        assert!(r.insert(1, 'x').is_err());
        r.insert(4, 'e').unwrap();
        assert!(r.insert(4, 'e').is_err());
        assert_eq!((r.next(), r.waiting()), (3, 1));
    }
}
