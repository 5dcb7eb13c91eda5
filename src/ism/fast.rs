//! Fast in-silico mutagenesis for one model: each mutant recomputes the local convolution
//! tower only on a short crop around its change (see [`crate::local_tower`]) and runs in
//! full only what sees the whole window (attention, U-net, head).

use candle_core::{Device, Tensor};

use crate::error::{Error, Result};
use crate::local_tower::{Edit, LocalTower, TowerActs};
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
    acts: TowerActs,
}

pub struct FastIsm<'a> {
    model: &'a SeqNN,
    head: HeadView,
    tower: LocalTower,
    seq_len: usize,
    channels: usize,
    device: Device,
}

impl<'a> FastIsm<'a> {
    /// `tracks`: the head's tracks to compute (all when None).
    pub fn new(model: &'a SeqNN, tracks: Option<&[usize]>) -> Result<Self> {
        Ok(FastIsm {
            model,
            head: model.head_view(0, tracks)?,
            tower: LocalTower::new(model),
            seq_len: model.params.seq_length,
            channels: model.in_channels,
            device: model.device(),
        })
    }

    /// Base pairs of input each mutant's local tower recomputes (the whole window when
    /// the model has no local tower to exploit).
    pub fn crop_len(&self) -> usize {
        self.tower.crop_len(1).unwrap_or(self.seq_len)
    }

    pub fn prefix(&self) -> LocalPrefix {
        self.tower.prefix()
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
        let (_, _, mut each) = self.tower.run(self.model, &x)?;
        Ok(Reference { input: input.to_vec(), acts: each.remove(0) })
    }

    /// The reference prediction `[1, bins, tracks]`.
    pub fn predict_reference(&self, r: &Reference) -> Result<Tensor> {
        let (local, saved) = r.acts.parts();
        self.model.run_after_local(local, saved.to_vec(), &self.tower.prefix(), &self.head)
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
        let prefix = self.tower.prefix();
        let (local, saved) = self.model.run_local(&x, &prefix)?;
        self.model.run_after_local(&local, saved, &prefix, &self.head)
    }

    /// Mutant predictions `[B, bins, tracks]`, equal to [`predict_brute`] up to float
    /// rounding, recomputing the local tower on a crop only.
    pub fn predict(&self, r: &Reference, mutants: &[Mutant]) -> Result<Tensor> {
        if self.tower.crop_len(1).is_none() || mutants.is_empty() {
            return self.predict_brute(r, mutants);
        }
        self.check(mutants)?;
        let ch = self.channels;
        let mut rows = vec![0f32; mutants.len() * ch];
        for (m, row) in mutants.iter().zip(rows.chunks_mut(ch)) {
            row.copy_from_slice(&r.input[m.pos * ch..(m.pos + 1) * ch]);
            self.mutate(row, 0, m.base);
        }
        let edits: Vec<Edit> = mutants
            .iter()
            .zip(rows.chunks(ch))
            .map(|(m, row)| Edit { input: &r.input, first: m.pos, last: m.pos, rows: Some(row) })
            .collect();
        let bases = vec![&r.acts; mutants.len()];
        self.tower.predict_edited(self.model, &bases, &edits, &self.head, &self.device)
    }
}
