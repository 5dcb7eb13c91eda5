//! The masked-language-model training loop: Adam with warm-up and clipping, validation
//! loss and masked-token accuracy each epoch, early stopping, atomic checkpoints that a
//! resumed run continues exactly, `train_log.tsv` and an SVG of the curves.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};

use super::adam::{Adam, AdamConfig};
use super::data::{Batch, Corpus, MaskOptions, Window};
use super::plot::{line_chart, write_chart, Series};
use super::rng::Rng;
use crate::config::Params;
use crate::error::{Error, Result};
use crate::model::{save_model_tensors, SeqNN};

const STREAM_TRAIN: u64 = 1;
const STREAM_VALID: u64 = 2;
const STREAM_INIT: u64 = 3;

pub struct TrainOptions {
    pub out_dir: PathBuf,
    pub seed: u64,
    pub batch_size: usize,
    pub steps_per_epoch: usize,
    pub max_epochs: usize,
    pub min_epochs: usize,
    pub patience: usize,
    pub valid_batches: usize,
    pub mask: MaskOptions,
    pub adam: AdamConfig,
    pub progress: bool,
    /// Stop after this many steps in total (for tests and interrupted runs).
    pub max_steps: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainState {
    pub epoch: usize,
    pub step: u64,
    /// Best validation loss so far (None before the first validation).
    pub best_valid: Option<f64>,
    pub bad_epochs: usize,
    pub finished: bool,
}

/// One epoch's metrics.
#[derive(Debug, Clone)]
pub struct EpochLog {
    pub epoch: usize,
    pub step: u64,
    pub train_loss: f64,
    pub valid_loss: f64,
    pub valid_accuracy: f64,
    pub lr: f64,
    pub seconds: f64,
    pub tokens_per_s: f64,
}

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

/// Re-initialises the randomly initialised weights from the seed (candle's CPU RNG cannot
/// be seeded): He-normal kernels, small normal attention biases. Constant inits stay.
pub fn seeded_init(varmap: &VarMap, seed: u64) -> Result<()> {
    let data = varmap.data().lock().expect("not poisoned");
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for (k, name) in names.iter().enumerate() {
        let var = &data[*name];
        let dims = var.dims().to_vec();
        let std = if name.ends_with("embedding_kernel") {
            continue;
        } else if name.ends_with("kernel") {
            let fan_in: usize = dims[..dims.len() - 1].iter().product();
            (2.0 / fan_in.max(1) as f64).sqrt()
        } else if name.ends_with("r_w_bias") || name.ends_with("r_r_bias") {
            (2.0 / *dims.last().unwrap_or(&1) as f64).sqrt()
        } else {
            continue;
        };
        let mut rng = Rng::derive(seed, k as u64, STREAM_INIT);
        let n: usize = dims.iter().product();
        let values: Vec<f32> = (0..n).map(|_| (rng.normal() * std) as f32).collect();
        var.set(&Tensor::from_vec(values, dims.as_slice(), var.device())?)?;
    }
    Ok(())
}

pub struct Trainer {
    pub model: SeqNN,
    pub varmap: VarMap,
    pub adam: Adam,
    pub corpus: Corpus,
    pub opts: TrainOptions,
    pub state: TrainState,
    device: Device,
    valid_set: Vec<Window>,
}

fn save_varmap(varmap: &VarMap, channels: usize, path: &Path) -> Result<()> {
    let data = varmap.data().lock().expect("not poisoned");
    let tensors: HashMap<String, Tensor> = data.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())).collect();
    save_model_tensors(&tensors, channels, path)
}

fn load_varmap(varmap: &VarMap, path: &Path, device: &Device) -> Result<()> {
    let tensors = candle_core::safetensors::load(path, device)?;
    let data = varmap.data().lock().expect("not poisoned");
    for (name, var) in data.iter() {
        let t = tensors.get(name).ok_or_else(|| Error::Other(format!("{}: no tensor {name}", path.display())))?;
        var.set(t)?;
    }
    Ok(())
}

impl Trainer {
    /// A fresh model (seeded) or, with `resume`, the state of the last checkpoint in `out_dir`.
    pub fn new(params: &Params, corpus: Corpus, opts: TrainOptions, resume: bool, restore: Option<&Path>) -> Result<Self> {
        let device = Device::Cpu;
        let head = SeqNN::fresh(params, corpus.channels(), &device)?;
        let (model, varmap) = head;
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
        seeded_init(&varmap, opts.seed)?;
        if let Some(r) = restore {
            load_varmap(&varmap, r, &device)?;
        }
        let params_list: Vec<(String, candle_core::Var)> = {
            let data = varmap.data().lock().expect("not poisoned");
            let mut v: Vec<(String, candle_core::Var)> = data
                .iter()
                .filter(|(k, _)| !k.ends_with("moving_mean") && !k.ends_with("moving_variance"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        let adam = Adam::new(params_list, opts.adam.clone())?;
        // A fixed validation sample: every window if few, else an evenly spaced subset.
        let want = opts.valid_batches * opts.batch_size;
        let valid_set: Vec<Window> = if corpus.valid.len() <= want {
            corpus.valid.clone()
        } else {
            (0..want).map(|i| corpus.valid[i * corpus.valid.len() / want]).collect()
        };
        let mut trainer = Trainer {
            model,
            varmap,
            adam,
            corpus,
            opts,
            state: TrainState { epoch: 0, step: 0, best_valid: None, bad_epochs: 0, finished: false },
            device,
            valid_set,
        };
        std::fs::create_dir_all(&trainer.opts.out_dir).map_err(|e| Error::io(&trainer.opts.out_dir, e))?;
        let ckpt = trainer.checkpoint_dir();
        if resume {
            if !ckpt.join("state.json").exists() {
                return Err(Error::Input(format!("--resume: no checkpoint in {}", ckpt.display())));
            }
            load_varmap(&trainer.varmap, &ckpt.join("model.safetensors"), &trainer.device)?;
            trainer.adam.load(&ckpt.join("optimizer.safetensors"))?;
            let text = std::fs::read_to_string(ckpt.join("state.json")).map_err(|e| Error::io(ckpt.join("state.json"), e))?;
            trainer.state = serde_json::from_str(&text).map_err(|e| Error::Other(format!("{}: {e}", ckpt.display())))?;
        } else if ckpt.exists() {
            return Err(Error::Input(format!(
                "{} already holds a checkpoint: use --resume to continue it, or another -o",
                trainer.opts.out_dir.display()
            )));
        }
        Ok(trainer)
    }

    pub fn checkpoint_dir(&self) -> PathBuf {
        self.opts.out_dir.join("checkpoint")
    }

    /// Writes weights, optimizer state and loop state into a fresh folder, then swaps it in.
    fn checkpoint(&self) -> Result<()> {
        let dir = self.checkpoint_dir();
        let tmp = self.opts.out_dir.join("checkpoint.tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        save_varmap(&self.varmap, self.corpus.channels(), &tmp.join("model.safetensors"))?;
        self.adam.save(&tmp.join("optimizer.safetensors"))?;
        let state = serde_json::to_string_pretty(&self.state).map_err(|e| Error::Other(e.to_string()))?;
        crate::io::write_atomic(&tmp.join("state.json"), state.as_bytes())?;
        let old = self.opts.out_dir.join("checkpoint.old");
        let _ = std::fs::remove_dir_all(&old);
        if dir.exists() {
            std::fs::rename(&dir, &old).map_err(|e| Error::io(&dir, e))?;
        }
        std::fs::rename(&tmp, &dir).map_err(|e| Error::io(&dir, e))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }

    /// One optimisation step; returns the batch loss.
    pub fn train_step(&mut self) -> Result<f64> {
        let mut rng = Rng::derive(self.opts.seed, self.state.step, STREAM_TRAIN);
        let windows: Vec<Window> = (0..self.opts.batch_size).map(|_| self.corpus.train[rng.below(self.corpus.train.len())]).collect();
        let batch = self.corpus.batch(&windows, &mut rng, &self.opts.mask, &self.device)?;
        if batch.masked == 0 {
            self.state.step += 1;
            return Ok(f64::NAN);
        }
        self.model.set_training(true);
        let probs = self.model.forward(&batch.x);
        self.model.set_training(false);
        let loss = masked_loss(&probs?, &batch)?;
        let value = loss.to_scalar::<f32>()? as f64;
        if !value.is_finite() {
            return Err(Error::Other(format!("training diverged at step {} (loss {value})", self.state.step)));
        }
        let grads = loss.backward()?;
        self.adam.step(&grads)?;
        // Moving averages of batch-norm statistics (Keras: m * old + (1 - m) * batch).
        let data = self.varmap.data().lock().expect("not poisoned");
        for (prefix, mean, var, m) in self.model.take_bn_batches() {
            for (suffix, batch_stat) in [("moving_mean", mean), ("moving_variance", var)] {
                if let Some(v) = data.get(&format!("{prefix}.{suffix}")) {
                    v.set(&((v.as_tensor() * m)? + (batch_stat * (1.0 - m))?)?.detach())?;
                }
            }
        }
        self.state.step += 1;
        Ok(value)
    }

    /// Validation loss and masked-token accuracy on the fixed validation sample.
    pub fn evaluate(&self, windows: &[Window]) -> Result<(f64, f64)> {
        let (mut loss, mut wsum, mut correct, mut n) = (0f64, 0f64, 0usize, 0usize);
        for (i, chunk) in windows.chunks(self.opts.batch_size.max(1)).enumerate() {
            let mut rng = Rng::derive(self.opts.seed, i as u64, STREAM_VALID);
            let mask = MaskOptions { reverse_complement: false, ..self.opts.mask.clone() };
            let batch = self.corpus.batch(chunk, &mut rng, &mask, &self.device)?;
            let probs = self.model.forward(&batch.x)?;
            for t in masked_tokens(&probs, &batch)? {
                loss -= t.weight * t.log_prob;
                wsum += t.weight;
                correct += t.correct as usize;
                n += 1;
            }
        }
        Ok((loss / wsum.max(1e-12), correct as f64 / n.max(1) as f64))
    }

    fn log_epoch(&self, row: &EpochLog) -> Result<()> {
        let path = self.opts.out_dir.join("train_log.tsv");
        let new = !path.exists();
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(|e| Error::io(&path, e))?;
        if new {
            writeln!(f, "epoch\tstep\ttrain_loss\tvalid_loss\tvalid_accuracy\tlearning_rate\tseconds\ttokens_per_s").map_err(|e| Error::io(&path, e))?;
        }
        writeln!(
            f,
            "{}\t{}\t{:.6}\t{:.6}\t{:.6}\t{:.3e}\t{:.2}\t{:.0}",
            row.epoch, row.step, row.train_loss, row.valid_loss, row.valid_accuracy, row.lr, row.seconds, row.tokens_per_s
        )
        .map_err(|e| Error::io(&path, e))?;
        drop(f);
        self.plot()
    }

    /// Redraws `train_curves.svg` from `train_log.tsv`.
    fn plot(&self) -> Result<()> {
        let path = self.opts.out_dir.join("train_log.tsv");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let mut train = Vec::new();
        let mut valid = Vec::new();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split('\t').collect();
            let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
            train.push((num(0), num(2)));
            valid.push((num(0), num(3)));
        }
        let svg = line_chart(
            "masked-token cross-entropy",
            "epoch",
            "loss (nats)",
            &[Series { name: "train", color: "#1f77b4", points: train }, Series { name: "valid", color: "#d62728", points: valid }],
        );
        write_chart(&self.opts.out_dir.join("train_curves.svg"), &svg)
    }

    /// Runs epochs until the maximum, early stopping or `max_steps`.
    pub fn run(&mut self) -> Result<Vec<EpochLog>> {
        let mut logs = Vec::new();
        let tokens_per_step = (self.opts.batch_size * self.corpus.seq_len) as f64;
        while !self.state.finished && self.state.epoch < self.opts.max_epochs {
            let start = Instant::now();
            let bar = self.opts.progress.then(|| {
                let b = indicatif::ProgressBar::new(self.opts.steps_per_epoch as u64);
                b.set_style(
                    indicatif::ProgressStyle::with_template("epoch {prefix} {bar:30} {pos}/{len} {msg}").expect("valid template"),
                );
                b.set_prefix((self.state.epoch + 1).to_string());
                b
            });
            let epoch_start_step = self.state.step;
            let mut sum = 0.0;
            let mut count = 0usize;
            let steps_done_in_epoch = (self.state.step as usize) % self.opts.steps_per_epoch.max(1);
            for _ in steps_done_in_epoch..self.opts.steps_per_epoch {
                if self.opts.max_steps.is_some_and(|m| self.state.step >= m) {
                    break;
                }
                let loss = self.train_step()?;
                if loss.is_finite() {
                    sum += loss;
                    count += 1;
                }
                if let Some(b) = &bar {
                    let secs = start.elapsed().as_secs_f64().max(1e-9);
                    let tps = (self.state.step - epoch_start_step) as f64 * tokens_per_step / secs;
                    b.inc(1);
                    b.set_message(format!("loss {:.4}  {:.0} tokens/s", sum / count.max(1) as f64, tps));
                }
            }
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            let epoch_complete = (self.state.step as usize) % self.opts.steps_per_epoch.max(1) == 0 && self.state.step > 0;
            if !epoch_complete {
                // Interrupted inside an epoch (max_steps): keep the exact position.
                self.checkpoint()?;
                break;
            }
            let (valid_loss, valid_acc) = if self.valid_set.is_empty() { (f64::NAN, f64::NAN) } else { self.evaluate(&self.valid_set.clone())? };
            self.state.epoch += 1;
            let seconds = start.elapsed().as_secs_f64();
            let row = EpochLog {
                epoch: self.state.epoch,
                step: self.state.step,
                train_loss: sum / count.max(1) as f64,
                valid_loss,
                valid_accuracy: valid_acc,
                lr: self.adam.current_lr(),
                seconds,
                tokens_per_s: (self.state.step - epoch_start_step) as f64 * tokens_per_step / seconds.max(1e-9),
            };
            let improved = valid_loss.is_finite() && self.state.best_valid.is_none_or(|b| valid_loss < b);
            if improved {
                self.state.best_valid = Some(valid_loss);
                self.state.bad_epochs = 0;
                save_varmap(&self.varmap, self.corpus.channels(), &self.opts.out_dir.join("best.safetensors"))?;
            } else {
                self.state.bad_epochs += 1;
            }
            if self.state.epoch >= self.opts.min_epochs && self.state.bad_epochs > self.opts.patience {
                self.state.finished = true;
            }
            self.log_epoch(&row)?;
            self.checkpoint()?;
            logs.push(row);
            if self.opts.max_steps.is_some_and(|m| self.state.step >= m) {
                break;
            }
        }
        Ok(logs)
    }

    /// The current weights, as a model file loadable by the other tools.
    pub fn save_weights(&self, path: &Path) -> Result<()> {
        save_varmap(&self.varmap, self.corpus.channels(), path)
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
