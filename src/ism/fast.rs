//! Fast in-silico mutagenesis for one model: a single-base change moves the local
//! convolution tower's activations only within its reach, so each mutant recomputes that
//! tower on a short crop around the change, splices the exact part into the reference's
//! activations, and runs only what sees the whole window (attention, U-net, head).

use candle_core::{Device, Tensor};

use crate::error::{Error, Result};
use crate::model::{HeadView, LocalPrefix, SeqNN};

/// One single-base substitution: window position and base (0..4 = A, C, G, T).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mutant {
    pub pos: usize,
    pub base: usize,
}

/// A reference window's encoded input and the local tower's activations on it.
pub struct Reference {
    input: Vec<f32>,
    local: Tensor,
    saved: Vec<Option<Tensor>>,
}

pub struct FastIsm<'a> {
    model: &'a SeqNN,
    head: HeadView,
    prefix: LocalPrefix,
    seq_len: usize,
    channels: usize,
    /// Crop of input each mutant's local tower runs on (0: the tower is not local).
    crop_len: usize,
    device: Device,
}

fn div_floor(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

fn div_ceil(a: i64, b: i64) -> i64 {
    -(-a).div_euclid(b)
}

impl<'a> FastIsm<'a> {
    /// `tracks`: the head's tracks to compute (all when None).
    pub fn new(model: &'a SeqNN, tracks: Option<&[usize]>) -> Result<Self> {
        let prefix = model.local_prefix();
        let seq_len = model.params.seq_length;
        let (r, s) = (prefix.reach.radius, prefix.reach.stride);
        // Wide enough that every activation the change can reach is computed from a crop
        // holding its whole receptive field (see `splice_range`).
        let crop_len = if prefix.blocks == 0 { 0 } else { (4 * r + 4 * s).div_ceil(s) * s };
        let crop_len = if crop_len >= seq_len { 0 } else { crop_len };
        Ok(FastIsm {
            model,
            head: model.head_view(0, tracks)?,
            prefix,
            seq_len,
            channels: model.in_channels,
            crop_len,
            device: model.device(),
        })
    }

    /// Base pairs of input each mutant's local tower recomputes (the whole window when
    /// the model has no local tower to exploit).
    pub fn crop_len(&self) -> usize {
        if self.crop_len == 0 {
            self.seq_len
        } else {
            self.crop_len
        }
    }

    pub fn prefix(&self) -> LocalPrefix {
        self.prefix
    }

    /// Runs the local tower once on the reference window (`seq_len x channels`, row-major).
    pub fn reference(&self, input: &[f32]) -> Result<Reference> {
        if input.len() != self.seq_len * self.channels {
            return Err(Error::Input(format!(
                "reference input has {} values, expected {} x {}",
                input.len(),
                self.seq_len,
                self.channels
            )));
        }
        let x = Tensor::from_vec(input.to_vec(), (1, self.seq_len, self.channels), &self.device)?;
        let (local, saved) = self.model.run_local(&x, &self.prefix)?;
        Ok(Reference { input: input.to_vec(), local, saved })
    }

    /// The reference prediction `[1, bins, tracks]`.
    pub fn predict_reference(&self, r: &Reference) -> Result<Tensor> {
        self.model.run_after_local(&r.local, r.saved.clone(), &self.prefix, &self.head)
    }

    fn mutate(&self, row: &mut [f32], pos: usize, base: usize) {
        let at = pos * self.channels;
        for c in 0..4 {
            row[at + c] = if c == base { 1.0 } else { 0.0 };
        }
    }

    fn check(&self, mutants: &[Mutant]) -> Result<()> {
        if let Some(m) = mutants.iter().find(|m| m.pos >= self.seq_len || m.base >= 4) {
            return Err(Error::Input(format!("mutant {m:?} is outside the {} bp window or not a base", self.seq_len)));
        }
        Ok(())
    }

    /// Mutant predictions `[B, bins, tracks]` by running the whole model on each mutant.
    pub fn predict_brute(&self, r: &Reference, mutants: &[Mutant]) -> Result<Tensor> {
        self.check(mutants)?;
        let mut data = Vec::with_capacity(mutants.len() * r.input.len());
        for m in mutants {
            let start = data.len();
            data.extend_from_slice(&r.input);
            self.mutate(&mut data[start..], m.pos, m.base);
        }
        let x = Tensor::from_vec(data, (mutants.len(), self.seq_len, self.channels), &self.device)?;
        let (local, saved) = self.model.run_local(&x, &self.prefix)?;
        self.model.run_after_local(&local, saved, &self.prefix, &self.head)
    }

    /// Start of the crop around window position `pos`.
    fn crop_start(&self, pos: usize) -> usize {
        let s = self.prefix.reach.stride;
        let a = (pos as i64 - (self.crop_len / 2) as i64).max(0) as usize / s * s;
        a.min(self.seq_len - self.crop_len)
    }

    /// Positions of a representation at `stride` bp per position (of `len`) that a change
    /// at `pos` can reach: inclusive range.
    fn splice_range(&self, pos: usize, stride: usize, len: usize) -> (usize, usize) {
        let (q, r, s) = (pos as i64, self.prefix.reach.radius as i64, stride as i64);
        let lo = div_ceil(q - r - s + 1, s).max(0);
        let hi = div_floor(q + r, s).min(len as i64 - 1);
        (lo as usize, hi as usize)
    }

    /// Mutant predictions `[B, bins, tracks]`, equal to [`predict_brute`] up to float
    /// rounding, recomputing the local tower on a crop only.
    pub fn predict(&self, r: &Reference, mutants: &[Mutant]) -> Result<Tensor> {
        if self.crop_len == 0 || mutants.is_empty() {
            return self.predict_brute(r, mutants);
        }
        self.check(mutants)?;
        let (cl, ch) = (self.crop_len, self.channels);
        let mut data = Vec::with_capacity(mutants.len() * cl * ch);
        let mut starts = Vec::with_capacity(mutants.len());
        for m in mutants {
            let a = self.crop_start(m.pos);
            starts.push(a);
            let at = data.len();
            data.extend_from_slice(&r.input[a * ch..(a + cl) * ch]);
            self.mutate(&mut data[at..], m.pos - a, m.base);
        }
        let x = Tensor::from_vec(data, (mutants.len(), cl, ch), &self.device)?;
        let (local, saved) = self.model.run_local(&x, &self.prefix)?;
        let splice = |full: &Tensor, crop: &Tensor| -> Result<Tensor> {
            let len = full.dims()[1];
            let stride = self.seq_len / len;
            let mut rows = Vec::with_capacity(mutants.len());
            for (b, m) in mutants.iter().enumerate() {
                let (lo, hi) = self.splice_range(m.pos, stride, len);
                let off = starts[b] / stride;
                let mut parts = Vec::with_capacity(3);
                if lo > 0 {
                    parts.push(full.narrow(1, 0, lo)?);
                }
                parts.push(crop.narrow(0, b, 1)?.narrow(1, lo - off, hi + 1 - lo)?);
                if hi + 1 < len {
                    parts.push(full.narrow(1, hi + 1, len - hi - 1)?);
                }
                rows.push(Tensor::cat(&parts, 1)?);
            }
            Ok(Tensor::cat(&rows, 0)?)
        };
        let local = splice(&r.local, &local)?;
        let mut spliced = Vec::with_capacity(r.saved.len());
        for (i, full) in r.saved.iter().enumerate() {
            spliced.push(match (full, saved.get(i).and_then(|t| t.as_ref())) {
                (Some(full), Some(crop)) => Some(splice(full, crop)?),
                (Some(_), None) => return Err(Error::Other(format!("representation {i} missing from the crop pass"))),
                (None, _) => None,
            });
        }
        self.model.run_after_local(&local, spliced, &self.prefix, &self.head)
    }
}
