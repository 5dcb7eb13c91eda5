//! `shorkie-embed` on the shared streaming shape ([`crate::stream`]): the reader yields
//! FASTA records or BED regions with their genome windows, the model worker embeds and
//! pools a batch of windows at a time, and the writer gets each embedding in input order.

use crate::error::{Error, Result};
use crate::stream::Shape;

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

/// Embeds every item `source` yields (it runs on its own thread and is built there, so
/// it may hold non-`Send` readers) and hands each embedding to `write` in input order.
pub fn run<S, I>(
    source: S,
    embedder: Embedder,
    opts: &RunOptions,
    mut write: impl FnMut(&Meta, &Embedding) -> Result<()>,
) -> Result<Summary>
where
    S: FnOnce() -> Result<I> + Send,
    I: Iterator<Item = Result<Item>>,
{
    let batch_size = opts.batch_size.max(1);
    let progress = opts.progress.then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed} {pos} sequences ({per_sec})").expect("valid template"),
        );
        bar
    });
    let mut summary = Summary::default();
    let mut next = 0u64;
    let result = crate::stream::run(
        source,
        |item: &Item| item.windows.len(),
        |batch: Vec<Item>| {
            let embs = embedder.embed(&batch, batch_size)?;
            Ok(batch.into_iter().zip(embs).map(|(item, e)| (item.meta, e, item.windows.len())).collect())
        },
        Shape::for_batch(batch_size),
        |(meta, emb, windows): (Meta, Embedding, usize)| {
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
            Ok(())
        },
    );
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    result?;
    Ok(summary)
}
