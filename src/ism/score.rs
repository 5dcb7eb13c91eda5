//! Scoring one mutant against its reference with the scorer's statistics, averaged over
//! the tracks of each output column.

use crate::score::stats::{compute, Preds, Stat};
use crate::score::tracks::Column;

/// How mutant predictions become numbers: statistics x columns, optionally over some
/// bins only (a gene's exon bins) and some tracks only (the gene's strand).
#[derive(Debug, Clone)]
pub struct Scoring {
    pub stats: Vec<Stat>,
    pub columns: Vec<Column>,
    /// The tracks predictions hold, in order.
    pub tracks: Vec<usize>,
    pub passes: usize,
    pub bins: usize,
    /// Bins to score (all when None).
    pub keep_bins: Option<Vec<usize>>,
    /// Tracks a column may use (all when None): a gene's strand.
    pub allowed: Option<Vec<bool>>,
}

impl Scoring {
    fn take(&self, full: &[f32]) -> Preds {
        let nt = self.tracks.len();
        match &self.keep_bins {
            None => Preds { passes: self.passes, bins: self.bins, tracks: nt, data: full.to_vec() },
            Some(keep) => {
                let mut data = Vec::with_capacity(self.passes * keep.len() * nt);
                for p in 0..self.passes {
                    for &b in keep {
                        let at = (p * self.bins + b) * nt;
                        data.extend_from_slice(&full[at..at + nt]);
                    }
                }
                Preds { passes: self.passes, bins: keep.len(), tracks: nt, data }
            }
        }
    }

    /// Values in stat-major order (`stats x columns`); None where a column has no track.
    pub fn score(&self, reference: &[f32], alt: &[f32]) -> Vec<Option<f64>> {
        let (r, a) = (self.take(reference), self.take(alt));
        let mut out = Vec::with_capacity(self.stats.len() * self.columns.len());
        for &stat in &self.stats {
            let per_track = compute(stat, &r, &a);
            for col in &self.columns {
                let idx: Vec<usize> = col
                    .tracks
                    .iter()
                    .filter(|t| self.allowed.as_ref().is_none_or(|a| a[**t]))
                    .map(|t| self.tracks.iter().position(|x| x == t).expect("column tracks are predicted"))
                    .collect();
                out.push(if idx.is_empty() {
                    None
                } else {
                    Some(idx.iter().map(|&i| per_track[i]).sum::<f64>() / idx.len() as f64)
                });
            }
        }
        out
    }

    /// Output names, `STAT:column`, in the order of [`score`].
    pub fn names(&self) -> Vec<String> {
        self.stats
            .iter()
            .flat_map(|s| self.columns.iter().map(move |c| format!("{}:{}", s.name(), c.label)))
            .collect()
    }
}
