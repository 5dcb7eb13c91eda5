//! Masked-language-model pretraining as a [`Task`] for the shared training loop: BERT
//! masking over genome windows, weighted cross-entropy on the masked positions, and
//! validation loss plus masked-token accuracy.

use candle_core::{Device, Tensor};

use super::data::{Batch, Corpus, MaskOptions, Window};
use super::rng::Rng;
use super::trainer::{Task, STREAM_VALID};
use crate::config::Params;
use crate::error::{Error, Result};
use crate::model::SeqNN;

/// Weighted cross-entropy over masked positions, from softmax probabilities `[B, L, 4]`.
pub fn masked_loss(probs: &Tensor, batch: &Batch) -> Result<Tensor> {
    let logp = probs.clamp(1e-7f32, 1f32)?.log()?;
    let picked = logp.gather(&batch.targets.unsqueeze(2)?, 2)?.squeeze(2)?;
    let total = batch.weights.sum_all()?;
    Ok(((picked * &batch.weights)?.sum_all()?.neg()? / total)?)
}

/// One masked position of a batch, as evaluation sees it.
struct MaskedToken {
    /// Sequence within the batch, and position within it.
    seq: usize,
    pos: usize,
    target: usize,
    /// ln p(target), probabilities floored at 1e-7.
    log_prob: f64,
    /// The most likely base (first maximum) is the target.
    correct: bool,
    weight: f64,
}

/// The masked positions of `batch` with the model's probabilities `[B, L, 4]` at them.
fn masked_tokens(probs: &Tensor, batch: &Batch) -> Result<Vec<MaskedToken>> {
    let probs: Vec<Vec<Vec<f32>>> = probs.to_vec3()?;
    let t: Vec<Vec<u32>> = batch.targets.to_vec2()?;
    let w: Vec<Vec<f32>> = batch.weights.to_vec2()?;
    let mut out = Vec::new();
    for (seq, (targets, weights)) in t.iter().zip(&w).enumerate() {
        for (pos, (&target, &weight)) in targets.iter().zip(weights).enumerate() {
            if weight > 0.0 {
                let row = &probs[seq][pos];
                let target = target as usize;
                let best = (0..4).fold(0, |a, k| if row[k] > row[a] { k } else { a });
                out.push(MaskedToken {
                    seq,
                    pos,
                    target,
                    log_prob: (row[target].max(1e-7) as f64).ln(),
                    correct: best == target,
                    weight: weight as f64,
                });
            }
        }
    }
    Ok(out)
}

pub struct LmTask {
    pub corpus: Corpus,
    pub mask: MaskOptions,
    /// A fixed validation sample: every window if few, else an evenly spaced subset.
    valid_set: Vec<Window>,
}

impl LmTask {
    pub fn new(corpus: Corpus, mask: MaskOptions, valid_windows: usize) -> Self {
        let valid_set: Vec<Window> = if corpus.valid.len() <= valid_windows {
            corpus.valid.clone()
        } else {
            (0..valid_windows).map(|i| corpus.valid[i * corpus.valid.len() / valid_windows]).collect()
        };
        LmTask { corpus, mask, valid_set }
    }
}

impl LmTask {
    /// Weighted masked-token loss and accuracy on `windows` (no reverse complement; the
    /// masks drawn from `seed` are the same every call).
    pub fn evaluate(&self, model: &SeqNN, windows: &[Window], batch_size: usize, seed: u64, device: &Device) -> Result<(f64, f64)> {
        let (mut loss, mut wsum, mut correct, mut n) = (0f64, 0f64, 0usize, 0usize);
        let mask = MaskOptions { reverse_complement: false, ..self.mask.clone() };
        for (i, chunk) in windows.chunks(batch_size.max(1)).enumerate() {
            let mut rng = Rng::derive(seed, i as u64, STREAM_VALID);
            let batch = self.corpus.batch(chunk, &mut rng, &mask, device)?;
            let probs = model.forward(&batch.x)?;
            for t in masked_tokens(&probs, &batch)? {
                loss -= t.weight * t.log_prob;
                wsum += t.weight;
                correct += t.correct as usize;
                n += 1;
            }
        }
        Ok((loss / wsum.max(1e-12), correct as f64 / n.max(1) as f64))
    }
}

impl Task for LmTask {
    fn channels(&self) -> usize {
        self.corpus.channels()
    }

    fn check_model(&self, params: &Params, model: &SeqNN) -> Result<()> {
        let out = model.output_shape(0);
        if out.ch != 4 || out.len != params.model.seq_length {
            return Err(Error::config(
                &params.source,
                format!(
                    "a language model needs a head predicting 4 bases at each of the {} positions; this one predicts {} x {}",
                    params.model.seq_length, out.len, out.ch
                ),
            ));
        }
        Ok(())
    }

    fn train_loss(&self, model: &SeqNN, batch_size: usize, rng: &mut Rng, device: &Device) -> Result<Option<Tensor>> {
        let windows: Vec<Window> = (0..batch_size).map(|_| self.corpus.train[rng.below(self.corpus.train.len())]).collect();
        let batch = self.corpus.batch(&windows, rng, &self.mask, device)?;
        if batch.masked == 0 {
            return Ok(None);
        }
        Ok(Some(masked_loss(&model.forward(&batch.x)?, &batch)?))
    }

    fn validate(&self, model: &SeqNN, batch_size: usize, seed: u64, device: &Device) -> Result<Vec<f64>> {
        if self.valid_set.is_empty() {
            return Ok(vec![f64::NAN, f64::NAN]);
        }
        let (loss, accuracy) = self.evaluate(model, &self.valid_set, batch_size, seed, device)?;
        Ok(vec![loss, accuracy])
    }

    fn metric_names(&self) -> &'static [&'static str] {
        &["valid_loss", "valid_accuracy"]
    }

    fn throughput_unit(&self) -> (f64, &'static str) {
        (self.corpus.seq_len as f64, "tokens")
    }

    fn loss_label(&self) -> &'static str {
        "masked-token cross-entropy (nats)"
    }
}

/// Result of a masked-token evaluation.
pub struct MaskedEval {
    /// Mean cross-entropy in nats, unweighted.
    pub cross_entropy: f64,
    pub accuracy: f64,
    /// (window index, position, true base) of every token scored.
    pub tokens: Vec<(usize, usize, usize)>,
}

/// Masked-token evaluation of `model` on `windows` (no reverse complement), keeping the
/// tokens so a baseline can be scored on exactly the same ones.
pub fn masked_eval(
    model: &SeqNN,
    corpus: &Corpus,
    windows: &[Window],
    batch_size: usize,
    mask: &MaskOptions,
    seed: u64,
) -> Result<MaskedEval> {
    let mask = MaskOptions { reverse_complement: false, exon_weight: 1.0, repeat_weight: 1.0, ..mask.clone() };
    let (mut ce, mut correct, mut n) = (0f64, 0usize, 0usize);
    let mut tokens = Vec::new();
    for (i, chunk) in windows.chunks(batch_size.max(1)).enumerate() {
        let mut rng = Rng::derive(seed, i as u64, STREAM_VALID);
        let batch = corpus.batch(chunk, &mut rng, &mask, &Device::Cpu)?;
        for t in masked_tokens(&model.forward(&batch.x)?, &batch)? {
            ce -= t.log_prob;
            correct += t.correct as usize;
            n += 1;
            tokens.push((i * batch_size.max(1) + t.seq, t.pos, t.target));
        }
    }
    Ok(MaskedEval { cross_entropy: ce / n.max(1) as f64, accuracy: correct as f64 / n.max(1) as f64, tokens })
}
