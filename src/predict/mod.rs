//! Predicted coverage over BED regions or FASTA sequences (shorkie-predict).
//!
//! Every sequence (a genome contig, or one FASTA-input record) carries a grid of output
//! bins of `bin_bp` starting at its position 0, and a grid of *tiles*: tile `k` is the
//! model window whose central bins (all but `edge_bins` at each edge of the model's output)
//! are the sequence bins `[origin + k·step, origin + (k+1)·step)`, `step = bins − 2·edge_bins`.
//! A bin is always predicted by the one tile whose central part holds it, so regions that
//! overlap, and the tiles inside a long region, agree exactly. Genome contigs have their
//! tile grid at origin 0; a FASTA-input record's grid is shifted by whole bins so the
//! record sits in the middle of the tiles it needs ([`input`]). Window bases outside a
//! sequence are N (all-zero one-hot).

pub mod input;
pub mod output;
pub mod spool;

use std::ops::Range;

use candle_core::{Device, Tensor};

use crate::ensemble::Ensemble;
use crate::error::{Error, Result};
use crate::score::encode::InputLayout;
use crate::score::tracks::Column;
use crate::formats::targets::Targets;
use crate::formats::text::Text;
use crate::SeqNN;

pub use input::{Input, SeqInfo, Segment};

/// Where a model window's output bins lie and which of them a tile keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Input length (`model.seq_length`).
    pub seq_len: usize,
    pub bin_bp: usize,
    /// Input base pairs before the first output bin.
    pub crop_bp: usize,
    /// Output bins per window.
    pub bins: usize,
    /// Output bins dropped at each edge of a window when stitching.
    pub edge_bins: usize,
}

impl Geometry {
    /// The default share of a window's bins dropped at each edge: one eighth, so the
    /// central three quarters of every window are used.
    pub fn default_edge_bins(bins: usize) -> usize {
        bins / 8
    }

    /// The geometry of the first head of `model`; `edge_bins` defaults to
    /// [`Geometry::default_edge_bins`].
    pub fn new(model: &SeqNN, edge_bins: Option<usize>) -> Result<Self> {
        let head = &model.heads()[0];
        let (seq_len, bins, bin_bp, crop_bp) = (model.params.seq_length, head.shape.len, head.bin_bp, head.crop_bp);
        if bins == 0 || bin_bp == 0 || crop_bp + bins * bin_bp > seq_len {
            return Err(Error::Input(format!(
                "the model's output ({bins} bins of {bin_bp} bp after {crop_bp} bp) does not fit its {seq_len} bp input"
            )));
        }
        let edge_bins = edge_bins.unwrap_or_else(|| Self::default_edge_bins(bins));
        if edge_bins.saturating_mul(2) >= bins {
            return Err(Error::Input(format!(
                "--edge-bins {edge_bins}: the model predicts {bins} bins per window, so at most {} can be dropped at each edge",
                (bins - 1) / 2
            )));
        }
        Ok(Geometry { seq_len, bin_bp, crop_bp, bins, edge_bins })
    }

    /// Sequence bins each tile contributes.
    pub fn step(&self) -> i64 {
        (self.bins - 2 * self.edge_bins) as i64
    }

    /// The tile whose central bins hold `bin`, on a grid starting at `origin_bin`.
    pub fn tile_of(&self, origin_bin: i64, bin: i64) -> i64 {
        (bin - origin_bin).div_euclid(self.step())
    }

    /// The first sequence bin that tile `k` contributes.
    pub fn tile_first_bin(&self, origin_bin: i64, k: i64) -> i64 {
        origin_bin + k * self.step()
    }

    /// The sequence position of tile `k`'s first input base (negative before the start).
    pub fn window_start(&self, origin_bin: i64, k: i64) -> i64 {
        (self.tile_first_bin(origin_bin, k) - self.edge_bins as i64) * self.bin_bp as i64 - self.crop_bp as i64
    }
}

/// One model window and the segments it feeds (a contiguous range: segments are sorted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    pub seq: usize,
    pub k: i64,
    pub segments: Range<usize>,
}

/// The tiles the segments need, in order and each once.
pub fn plan_tiles(input: &Input, geo: &Geometry) -> Vec<Tile> {
    let mut tiles: Vec<Tile> = Vec::new();
    for (si, seg) in input.segments.iter().enumerate() {
        let origin = input.seqs[seg.seq].origin_bin;
        for k in geo.tile_of(origin, seg.first_bin)..=geo.tile_of(origin, seg.end_bin - 1) {
            match tiles.last_mut() {
                Some(t) if t.seq == seg.seq && t.k == k => t.segments.end = si + 1,
                _ => tiles.push(Tile { seq: seg.seq, k, segments: si..si + 1 }),
            }
        }
    }
    tiles
}

/// How model outputs become the values of the output columns.
pub struct ColumnValues<'a> {
    pub columns: &'a [Column],
    /// The sheet whose transforms are undone (ignored with `raw`).
    pub sheet: &'a Targets,
    /// Keep the model's (transformed) outputs.
    pub raw: bool,
}

impl ColumnValues<'_> {
    /// Each column's value for one output bin (`row` holds every track): the mean over
    /// the column's tracks of the untransformed (or raw) predictions.
    pub fn fill(&self, row: &[f32], out: &mut [f32]) {
        for (c, col) in self.columns.iter().enumerate() {
            let sum: f64 = col
                .tracks
                .iter()
                .map(|&t| if self.raw { row[t] as f64 } else { self.sheet.untransform(t, row[t]) as f64 })
                .sum();
            out[c] = (sum / col.tracks.len() as f64) as f32;
        }
    }
}

pub struct Options {
    /// Windows per forward pass.
    pub batch_size: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// BED regions or FASTA records read.
    pub regions: usize,
    /// Merged intervals predicted.
    pub segments: usize,
    pub windows: usize,
    pub bins: u64,
}

/// What shorkie-predict predicts.
pub enum Source<'a> {
    /// Merged BED regions on an indexed genome.
    Regions(&'a Input),
    /// FASTA records, read and predicted one at a time, in input order.
    Records(Text),
}

/// A tile as the writer needs it.
struct Placement {
    origin_bin: i64,
    k: i64,
    /// The segments it feeds.
    segments: Range<usize>,
    /// A streamed record's sequence and segment, on its first tile.
    announce: Option<(SeqInfo, Segment)>,
}

/// Predicts every segment of `source` and hands its bins to `emit` in order, one window's
/// worth at a time, as pieces of the segment with their sequence and values (`bins ×
/// columns`, bin-major); returns the counts and every sequence (the BigWig chromosomes; a
/// piece's `seq` indexes them). Windows are fetched on a reader thread, encoded and
/// run on a model worker thread ([`crate::stream`]), so memory holds the windows in
/// flight, whatever the length of the input or of its regions.
#[allow(clippy::too_many_arguments)]
pub fn predict(
    source: Source,
    geo: &Geometry,
    ensemble: &Ensemble,
    layout: &InputLayout,
    device: &Device,
    values: &ColumnValues,
    opts: &Options,
    mut emit: impl FnMut(&SeqInfo, &Segment, Vec<f32>) -> Result<()>,
) -> Result<(Summary, Vec<SeqInfo>)> {
    let ncols = values.columns.len();
    let step = geo.step() as usize;
    // Regions are planned up front (so the progress bar knows the total); records as they come.
    let (mut seqs, mut segments, regions, planned) = match &source {
        Source::Regions(input) => (input.seqs.clone(), input.segments.clone(), input.regions, Some(plan_tiles(input, geo))),
        Source::Records(_) => (Vec::new(), Vec::new(), 0, None),
    };
    let streamed = planned.is_none();
    let bar = match (opts.progress, planned.as_ref().map(Vec::len)) {
        (false, _) => indicatif::ProgressBar::hidden(),
        (true, Some(n)) => {
            let b = indicatif::ProgressBar::new(n as u64);
            b.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} windows ({per_sec}, eta {eta})")
                    .expect("valid template"),
            );
            b
        }
        (true, None) => {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_style(indicatif::ProgressStyle::with_template("{spinner} {elapsed} {pos} windows ({per_sec})").expect("valid template"));
            b
        }
    };
    // The reader: every tile's window bases (encoded by the worker: a window's encoding is
    // ~40 times its bases with Shorkie's 170 channels), with where its bins go.
    let windows = || -> Result<Box<dyn Iterator<Item = Result<(Placement, Vec<u8>)>> + '_>> {
        match source {
            Source::Regions(input) => {
                let tiles = planned.unwrap_or_else(|| plan_tiles(input, geo));
                Ok(Box::new(tiles.into_iter().map(move |t| {
                    let origin_bin = input.seqs[t.seq].origin_bin;
                    let bases = input.window(t.seq, geo.window_start(origin_bin, t.k), geo.seq_len)?;
                    let place = Placement { origin_bin, k: t.k, segments: t.segments, announce: None };
                    Ok((place, bases))
                })))
            }
            Source::Records(text) => {
                let name = text.source().to_string();
                let records = input::Records::new(text, &name, geo);
                Ok(Box::new(records.enumerate().flat_map(move |(i, record)| -> Box<dyn Iterator<Item = Result<(Placement, Vec<u8>)>>> {
                    let record = match record {
                        Ok(r) => std::rc::Rc::new(r),
                        Err(e) => return Box::new(std::iter::once(Err(e))),
                    };
                    let tiles = record.tiles(geo);
                    let segment = Segment { seq: i, first_bin: 0, end_bin: record.bins(geo.bin_bp) };
                    Box::new((0..tiles).map(move |k| {
                        let origin_bin = record.info.origin_bin;
                        let place = Placement {
                            origin_bin,
                            k,
                            segments: i..i + 1,
                            announce: (k == 0).then(|| (record.info.clone(), segment.clone())),
                        };
                        Ok((place, record.window(geo.window_start(origin_bin, k), geo.seq_len)))
                    }))
                })))
            }
        }
    };
    // The model worker: a batch of windows into each tile's central bins, as columns.
    let run_model = |batch: Vec<(Placement, Vec<u8>)>| -> Result<Vec<(Placement, Vec<f32>)>> {
        let n = batch.len();
        let mut x = Vec::with_capacity(n * geo.seq_len * layout.channels);
        for (_, bases) in &batch {
            layout.encode_into(bases, None, &mut x);
        }
        let xt = Tensor::from_vec(x, (n, geo.seq_len, layout.channels), device)?;
        let y = ensemble.predict(&xt)?;
        let (_, bins, tracks) = y.dims3()?;
        if bins != geo.bins {
            return Err(Error::Other(format!("the model returned {bins} bins per window, expected {}", geo.bins)));
        }
        let y: Vec<f32> = y.flatten_all()?.to_vec1()?;
        Ok(batch
            .into_iter()
            .enumerate()
            .map(|(i, (place, _))| {
                let mut central = vec![0f32; step * ncols];
                for (j, out) in central.chunks_mut(ncols).enumerate() {
                    let at = (i * bins + geo.edge_bins + j) * tracks;
                    values.fill(&y[at..at + tracks], out);
                }
                (place, central)
            })
            .collect())
    };
    // The writer: each tile's bins go on at once, a piece of each segment it feeds. Tiles
    // arrive in order, so the pieces do too, and nothing waits for a segment to finish.
    let mut summary = Summary { regions, ..Default::default() };
    let mut place = |(place, central): (Placement, Vec<f32>)| -> Result<()> {
        if let Some((seq, segment)) = place.announce {
            seqs.push(seq);
            segments.push(segment);
        }
        let first = geo.tile_first_bin(place.origin_bin, place.k);
        for seg in &segments[place.segments] {
            let lo = seg.first_bin.max(first);
            let hi = seg.end_bin.min(first + step as i64);
            if lo < hi {
                let from = (lo - first) as usize * ncols;
                let piece = Segment { seq: seg.seq, first_bin: lo, end_bin: hi };
                emit(&seqs[seg.seq], &piece, central[from..from + (hi - lo) as usize * ncols].to_vec())?;
                summary.bins += (hi - lo) as u64;
                if hi == seg.end_bin {
                    summary.segments += 1;
                }
            }
        }
        summary.windows += 1;
        bar.inc(1);
        Ok(())
    };
    let result = crate::stream::run(windows, |_| 1, run_model, crate::stream::Shape::for_batch(opts.batch_size), &mut place);
    bar.finish_and_clear();
    result?;
    if streamed {
        summary.regions = seqs.len();
    }
    Ok((summary, seqs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo(bins: usize, edge: usize) -> Geometry {
        Geometry { seq_len: 2048, bin_bp: 16, crop_bp: 256, bins, edge_bins: edge }
    }

    #[test]
    fn tiles_cover_each_bin_once_from_their_centres() {
        let g = geo(96, 12);
        assert_eq!(g.step(), 72);
        assert_eq!(g.tile_of(0, 0), 0);
        assert_eq!(g.tile_of(0, 71), 0);
        assert_eq!(g.tile_of(0, 72), 1);
        assert_eq!(g.tile_of(0, -1), -1);
        assert_eq!(g.tile_of(-5, -5), 0);
        // Tile 0's window starts 12 bins before bin 0 and 256 bp of crop before that.
        assert_eq!(g.window_start(0, 0), -12 * 16 - 256);
        assert_eq!(g.window_start(0, 2), (144 - 12) * 16 - 256);
        // The central bins of tile k sit at output index edge_bins.. of its window.
        let k = 3;
        let first_output_bp = g.window_start(0, k) + g.crop_bp as i64;
        assert_eq!(first_output_bp + (g.edge_bins * g.bin_bp) as i64, g.tile_first_bin(0, k) * 16);
    }
}
