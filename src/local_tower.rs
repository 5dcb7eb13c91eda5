//! Exact reuse of the local convolution tower. A change to a few adjacent bases moves the
//! tower's activations only within its reach, so an edited copy of a window recomputes the
//! tower on a short crop around the change and splices that part into the window's own
//! activations; only what sees the whole window (attention, U-net, head) runs in full.
//! Shared by fast ISM and the scorer's substitution passes.

use candle_core::{Device, Tensor};

use crate::error::{Error, Result};
use crate::model::{HeadView, LocalPrefix, SeqNN};

/// A window's local-tower output and the representations it saved, batch 1.
pub struct TowerActs {
    local: Tensor,
    saved: Vec<Option<Tensor>>,
}

/// An edited copy of a window: rows `first..=last` (inclusive) differ from the window.
pub struct Edit<'a> {
    /// A whole input, `seq_len x channels` row-major: the edited copy itself, or the
    /// unedited window when `rows` holds the edited rows.
    pub input: &'a [f32],
    pub first: usize,
    pub last: usize,
    /// Rows `first..=last` of the edited copy, when `input` is the unedited window.
    pub rows: Option<&'a [f32]>,
}

/// The geometry of one model's local tower.
#[derive(Debug, Clone, Copy)]
pub struct LocalTower {
    prefix: LocalPrefix,
    seq_len: usize,
    channels: usize,
}

impl LocalTower {
    pub fn new(model: &SeqNN) -> Self {
        LocalTower { prefix: model.local_prefix(), seq_len: model.params.seq_length, channels: model.in_channels }
    }

    pub fn prefix(&self) -> LocalPrefix {
        self.prefix
    }

    /// Input rows an edit spanning `span` rows recomputes, or None when that would not be
    /// shorter than the window (or the model has no local tower).
    ///
    /// An activation at stride `s` position `i` reads input `[i s - r, (i + 1) s - 1 + r]`;
    /// the ones an edit of rows `[f, l]` reaches lie within `[f - r - s + 1, l + r]`, so
    /// their inputs lie within `[f - 2r - s + 1, l + 2r + s - 1]`, and a crop whose
    /// start is rounded down to the stride holds them with `span + 4r + 3s` rows.
    pub fn crop_len(&self, span: usize) -> Option<usize> {
        if self.prefix.blocks == 0 {
            return None;
        }
        let (r, s) = (self.prefix.reach.radius, self.prefix.reach.stride);
        let len = (span + 4 * r + 3 * s).div_ceil(s) * s;
        (len < self.seq_len).then_some(len)
    }

    /// Start of a `crop_len`-row crop holding everything an edit of rows `[first, last]` reaches.
    fn crop_start(&self, first: usize, crop_len: usize) -> usize {
        let (r, s) = (self.prefix.reach.radius as i64, self.prefix.reach.stride as i64);
        let ideal = (first as i64 - 2 * r - s + 1).max(0);
        ((ideal / s * s) as usize).min(self.seq_len - crop_len)
    }

    /// Positions of a representation of `len` positions at `stride` bp that an edit of rows
    /// `[first, last]` can reach: inclusive range.
    fn splice_range(&self, first: usize, last: usize, stride: usize, len: usize) -> (usize, usize) {
        let (r, s) = (self.prefix.reach.radius as i64, stride as i64);
        let lo = div_ceil(first as i64 - r - s + 1, s).max(0);
        let hi = (last as i64 + r).div_euclid(s).min(len as i64 - 1);
        (lo.min(hi) as usize, hi as usize)
    }

    /// Runs the local tower on whole windows `x` `[B, seq_len, channels]`: the batched
    /// output and saved representations (for [`SeqNN::run_after_local`]) and each window's
    /// own copy, to splice edits into.
    pub fn run(&self, model: &SeqNN, x: &Tensor) -> Result<(Tensor, Vec<Option<Tensor>>, Vec<TowerActs>)> {
        let (local, saved) = model.run_local(x, &self.prefix)?;
        let mut each = Vec::with_capacity(x.dims()[0]);
        for b in 0..x.dims()[0] {
            each.push(TowerActs {
                local: local.narrow(0, b, 1)?,
                saved: saved.iter().map(|t| t.as_ref().map(|t| t.narrow(0, b, 1)).transpose()).collect::<candle_core::Result<_>>()?,
            });
        }
        Ok((local, saved, each))
    }

    /// The local tower's output and saved representations for each edited window, equal
    /// (up to float rounding) to running it on the whole edited input: recomputed on one
    /// crop per edit and spliced into `bases[b]`, the unedited window's activations.
    pub fn edited(&self, model: &SeqNN, bases: &[&TowerActs], edits: &[Edit], device: &Device) -> Result<(Tensor, Vec<Option<Tensor>>)> {
        if bases.len() != edits.len() || edits.is_empty() {
            return Err(Error::Other(format!("{} windows for {} edits", bases.len(), edits.len())));
        }
        let ch = self.channels;
        if let Some(e) = edits.iter().find(|e| e.input.len() != self.seq_len * ch || e.first > e.last || e.last >= self.seq_len) {
            return Err(Error::Other(format!("edit of rows {}..={} outside a {} bp window", e.first, e.last, self.seq_len)));
        }
        let span = edits.iter().map(|e| e.last + 1 - e.first).max().unwrap_or(1);
        let cl = self.crop_len(span).ok_or_else(|| Error::Other(format!("an edit of {span} bp leaves nothing of the local tower to reuse")))?;
        let mut data = Vec::with_capacity(edits.len() * cl * ch);
        let mut starts = Vec::with_capacity(edits.len());
        for e in edits {
            let a = self.crop_start(e.first, cl);
            starts.push(a);
            let at = data.len();
            data.extend_from_slice(&e.input[a * ch..(a + cl) * ch]);
            if let Some(rows) = e.rows {
                if rows.len() != (e.last + 1 - e.first) * ch {
                    return Err(Error::Other(format!("{} values for edited rows {}..={}", rows.len(), e.first, e.last)));
                }
                data[at + (e.first - a) * ch..at + (e.last + 1 - a) * ch].copy_from_slice(rows);
            }
        }
        let x = Tensor::from_vec(data, (edits.len(), cl, ch), device)?;
        let (local, saved) = model.run_local(&x, &self.prefix)?;
        let splice = |full: &dyn Fn(usize) -> Tensor, crop: &Tensor| -> Result<Tensor> {
            let len = full(0).dims()[1];
            let stride = self.seq_len / len;
            let mut rows = Vec::with_capacity(edits.len());
            for (b, e) in edits.iter().enumerate() {
                let base = full(b);
                let (lo, hi) = self.splice_range(e.first, e.last, stride, len);
                let off = starts[b] / stride;
                let mut parts = Vec::with_capacity(3);
                if lo > 0 {
                    parts.push(base.narrow(1, 0, lo)?);
                }
                parts.push(crop.narrow(0, b, 1)?.narrow(1, lo - off, hi + 1 - lo)?);
                if hi + 1 < len {
                    parts.push(base.narrow(1, hi + 1, len - hi - 1)?);
                }
                rows.push(Tensor::cat(&parts, 1)?);
            }
            Ok(Tensor::cat(&rows, 0)?)
        };
        let spliced_local = splice(&|b| bases[b].local.clone(), &local)?;
        let mut spliced = Vec::with_capacity(bases[0].saved.len());
        for i in 0..bases[0].saved.len() {
            let crop = saved.get(i).and_then(|t| t.as_ref());
            spliced.push(match (&bases[0].saved[i], crop) {
                (Some(_), Some(crop)) => {
                    let full = |b: usize| bases[b].saved[i].clone().expect("every window saves the same representations");
                    Some(splice(&full, crop)?)
                }
                (Some(_), None) => return Err(Error::Other(format!("representation {i} missing from the crop pass"))),
                (None, _) => None,
            });
        }
        Ok((spliced_local, spliced))
    }

    /// Predictions `[B, bins, tracks]` for edited windows, through [`LocalTower::edited`].
    pub fn predict_edited(&self, model: &SeqNN, bases: &[&TowerActs], edits: &[Edit], head: &HeadView, device: &Device) -> Result<Tensor> {
        let (local, saved) = self.edited(model, bases, edits, device)?;
        model.run_after_local(&local, saved, &self.prefix, head)
    }
}

fn div_ceil(a: i64, b: i64) -> i64 {
    -(-a).div_euclid(b)
}

impl TowerActs {
    /// The local tower's output and saved representations.
    pub fn parts(&self) -> (&Tensor, &[Option<Tensor>]) {
        (&self.local, &self.saved)
    }
}
