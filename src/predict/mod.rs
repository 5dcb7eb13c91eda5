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

use std::ops::Range;

use candle_core::{Device, Tensor};

use crate::ensemble::Ensemble;
use crate::error::{Error, Result};
use crate::score::encode::InputLayout;
use crate::score::tracks::Column;
use crate::formats::targets::Targets;
use crate::SeqNN;

pub use input::{Input, Segment};

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

/// The tiles the segments need, in order and each once, and for each segment the index
/// of the last tile it needs.
pub fn plan_tiles(input: &Input, geo: &Geometry) -> (Vec<Tile>, Vec<usize>) {
    let mut tiles: Vec<Tile> = Vec::new();
    let mut last = Vec::with_capacity(input.segments.len());
    for (si, seg) in input.segments.iter().enumerate() {
        let origin = input.seqs[seg.seq].origin_bin;
        for k in geo.tile_of(origin, seg.first_bin)..=geo.tile_of(origin, seg.end_bin - 1) {
            match tiles.last_mut() {
                Some(t) if t.seq == seg.seq && t.k == k => t.segments.end = si + 1,
                _ => tiles.push(Tile { seq: seg.seq, k, segments: si..si + 1 }),
            }
        }
        last.push(tiles.len() - 1);
    }
    (tiles, last)
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
    pub windows: usize,
    pub bins: u64,
}

/// Predicts every segment of `input` and hands each one, complete and in order, to
/// `emit` with its values (`bins × columns`, bin-major).
pub fn predict(
    input: &Input,
    geo: &Geometry,
    ensemble: &Ensemble,
    layout: &InputLayout,
    device: &Device,
    values: &ColumnValues,
    opts: &Options,
    mut emit: impl FnMut(&Segment, Vec<f32>) -> Result<()>,
) -> Result<Summary> {
    let (tiles, last_tile) = plan_tiles(input, geo);
    let ncols = values.columns.len();
    let bar = if opts.progress {
        let b = indicatif::ProgressBar::new(tiles.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} windows ({per_sec}, eta {eta})")
                .expect("valid template"),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut buffers: Vec<Option<Vec<f32>>> = vec![None; input.segments.len()];
    let mut next_emit = 0usize;
    let mut done = 0usize;
    let mut summary = Summary { windows: tiles.len(), bins: 0 };
    let mut x: Vec<f32> = Vec::new();
    let mut trimmed = std::time::Instant::now();
    for chunk in tiles.chunks(opts.batch_size.max(1)) {
        crate::cli::release_freed_memory(&mut trimmed, std::time::Duration::from_secs(2));
        x.clear();
        for t in chunk {
            let start = geo.window_start(input.seqs[t.seq].origin_bin, t.k);
            let bases = input.window(t.seq, start, geo.seq_len)?;
            layout.encode_into(&bases, None, &mut x);
        }
        let xt = Tensor::from_slice(&x, (chunk.len(), geo.seq_len, layout.channels), device)?;
        let y = ensemble.predict(&xt)?;
        let (_, bins, tracks) = y.dims3()?;
        if bins != geo.bins {
            return Err(Error::Other(format!("the model returned {bins} bins per window, expected {}", geo.bins)));
        }
        let y: Vec<f32> = y.flatten_all()?.to_vec1()?;
        for (ti, t) in chunk.iter().enumerate() {
            let base = ti * bins * tracks;
            let first = geo.tile_first_bin(input.seqs[t.seq].origin_bin, t.k);
            for si in t.segments.clone() {
                let seg = &input.segments[si];
                let buf = buffers[si].get_or_insert_with(|| vec![0f32; seg.bins() * ncols]);
                for g in seg.first_bin.max(first)..seg.end_bin.min(first + geo.step()) {
                    let j = (g - first) as usize + geo.edge_bins;
                    let row = &y[base + j * tracks..base + (j + 1) * tracks];
                    let at = (g - seg.first_bin) as usize * ncols;
                    values.fill(row, &mut buf[at..at + ncols]);
                }
            }
        }
        done += chunk.len();
        bar.inc(chunk.len() as u64);
        while next_emit < input.segments.len() && last_tile[next_emit] < done {
            let seg = &input.segments[next_emit];
            let buf = buffers[next_emit].take().expect("every segment has a tile");
            summary.bins += seg.bins() as u64;
            emit(seg, buf)?;
            next_emit += 1;
        }
    }
    bar.finish_and_clear();
    Ok(summary)
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
