//! The training loop shared by pretraining and fine-tuning: Adam with warm-up and
//! clipping, a validation pass each epoch, early stopping, atomic checkpoints that a
//! resumed run continues exactly, `train_log.tsv` and an SVG of the curves. What is
//! learned (batches, loss, validation metrics) comes from a [`Task`].

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};

use super::adam::{Adam, AdamConfig};
use super::plot::{line_chart, write_chart, Series};
use super::rng::Rng;
use crate::config::Params;
use crate::error::{Error, Result};
use crate::model::{save_model_tensors, SeqNN};

/// Random streams: every draw is a function of (seed, step or index, stream), so a
/// resumed run replays exactly what an uninterrupted one would have drawn.
pub const STREAM_TRAIN: u64 = 1;
pub const STREAM_VALID: u64 = 2;
const STREAM_INIT: u64 = 3;

/// What a training run learns.
pub trait Task {
    /// Input channels of the model (recorded in saved model files).
    fn channels(&self) -> usize;
    /// Fails when the model's output does not fit the task.
    fn check_model(&self, params: &Params, model: &SeqNN) -> Result<()>;
    /// The loss of one training batch of `batch_size` examples drawn with `rng`, the model
    /// in training mode; None when the batch holds nothing to learn from.
    fn train_loss(&self, model: &SeqNN, batch_size: usize, rng: &mut Rng, device: &Device) -> Result<Option<Tensor>>;
    /// Validation metrics named by [`Task::metric_names`]; the first is the loss early
    /// stopping watches (lower is better).
    fn validate(&self, model: &SeqNN, batch_size: usize, seed: u64, device: &Device) -> Result<Vec<f64>>;
    fn metric_names(&self) -> &'static [&'static str];
    /// What one step processes, for throughput: (count per example, unit name).
    fn throughput_unit(&self) -> (f64, &'static str);
    fn loss_label(&self) -> &'static str;
}

pub struct TrainOptions {
    pub out_dir: PathBuf,
    pub seed: u64,
    pub batch_size: usize,
    pub steps_per_epoch: usize,
    pub max_epochs: usize,
    pub min_epochs: usize,
    pub patience: usize,
    pub adam: AdamConfig,
    pub progress: bool,
    /// Stop after this many steps in total (for tests and interrupted runs).
    pub max_steps: Option<u64>,
    /// Where the model trains (`--device`).
    pub device: Device,
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
    /// In the order of [`Task::metric_names`].
    pub valid: Vec<f64>,
    pub lr: f64,
    pub seconds: f64,
    pub per_second: f64,
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

fn save_varmap(varmap: &VarMap, channels: usize, path: &Path) -> Result<()> {
    let data = varmap.data().lock().expect("not poisoned");
    let tensors: HashMap<String, Tensor> = data.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())).collect();
    save_model_tensors(&tensors, channels, path)
}

/// Which weights `--restore` takes from another model file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Restore {
    /// Every weight (same architecture).
    All,
    /// The trunk only (`trunk.*`): fine-tuning a pretrained trunk under new heads. The
    /// donor may have more trunk blocks (the language model's upsampling) and other heads.
    Trunk,
}

fn load_varmap(varmap: &VarMap, path: &Path, device: &Device, which: Restore) -> Result<usize> {
    let tensors = candle_core::safetensors::load(path, device)
        .map_err(|e| Error::Input(format!("{}: cannot read model weights ({e})", path.display())))?;
    let data = varmap.data().lock().expect("not poisoned");
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut loaded = 0;
    for name in names {
        if which == Restore::Trunk && !name.starts_with("trunk.") {
            continue;
        }
        let var = &data[name];
        let t = tensors.get(name).ok_or_else(|| {
            Error::Input(format!("{}: incompatible model: it has no tensor {name}", path.display()))
        })?;
        if t.dims() != var.dims() {
            return Err(Error::Input(format!(
                "{}: incompatible model: {name} is {:?} there, {:?} here",
                path.display(),
                t.dims(),
                var.dims()
            )));
        }
        var.set(t)?;
        loaded += 1;
    }
    Ok(loaded)
}

pub struct Trainer<T: Task> {
    pub model: SeqNN,
    pub varmap: VarMap,
    pub adam: Adam,
    pub task: T,
    pub opts: TrainOptions,
    pub state: TrainState,
    device: Device,
}

impl<T: Task> Trainer<T> {
    /// A fresh model (seeded), optionally with weights restored from another model file,
    /// or, with `resume`, the state of the last checkpoint in `out_dir`.
    pub fn new(params: &Params, task: T, opts: TrainOptions, resume: bool, restore: Option<(&Path, Restore)>) -> Result<Self> {
        let device = opts.device.clone();
        let (model, varmap) = SeqNN::fresh(params, task.channels(), &device)?;
        task.check_model(params, &model)?;
        seeded_init(&varmap, opts.seed)?;
        if let Some((path, which)) = restore {
            load_varmap(&varmap, path, &device, which)?;
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
        let mut trainer = Trainer {
            model,
            varmap,
            adam,
            task,
            opts,
            state: TrainState { epoch: 0, step: 0, best_valid: None, bad_epochs: 0, finished: false },
            device,
        };
        let out_dir = crate::io::prepare_output_dir(&trainer.opts.out_dir)?;
        let ckpt = trainer.checkpoint_dir();
        if resume {
            if !ckpt.join("state.json").exists() {
                return Err(Error::Input(format!("--resume: no checkpoint in {}", ckpt.display())));
            }
            load_varmap(&trainer.varmap, &ckpt.join("model.safetensors"), &trainer.device, Restore::All)?;
            trainer.adam.load(&ckpt.join("optimizer.safetensors"))?;
            let text = std::fs::read_to_string(ckpt.join("state.json")).map_err(|e| Error::io(ckpt.join("state.json"), e))?;
            trainer.state = serde_json::from_str(&text).map_err(|e| Error::Other(format!("{}: {e}", ckpt.display())))?;
        } else if ckpt.exists() {
            return Err(Error::Input(format!(
                "{} already holds a checkpoint: use --resume to continue it, or another -o",
                trainer.opts.out_dir.display()
            )));
        }
        // From here the directory holds the run's resumable state.
        out_dir.keep();
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
        save_varmap(&self.varmap, self.task.channels(), &tmp.join("model.safetensors"))?;
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

    /// One optimisation step; returns the batch loss (NaN when the batch was empty).
    pub fn train_step(&mut self) -> Result<f64> {
        let mut rng = Rng::derive(self.opts.seed, self.state.step, STREAM_TRAIN);
        self.model.set_training(true);
        let loss = self.task.train_loss(&self.model, self.opts.batch_size, &mut rng, &self.device);
        self.model.set_training(false);
        let Some(loss) = loss? else {
            let _ = self.model.take_bn_batches();
            self.state.step += 1;
            return Ok(f64::NAN);
        };
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

    pub fn validate(&self) -> Result<Vec<f64>> {
        self.task.validate(&self.model, self.opts.batch_size, self.opts.seed, &self.device)
    }

    fn log_epoch(&self, row: &EpochLog) -> Result<()> {
        let path = self.opts.out_dir.join("train_log.tsv");
        let new = !path.exists();
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(|e| Error::io(&path, e))?;
        let (_, unit) = self.task.throughput_unit();
        if new {
            let metrics = self.task.metric_names().join("\t");
            writeln!(f, "epoch\tstep\ttrain_loss\t{metrics}\tlearning_rate\tseconds\t{unit}_per_s").map_err(|e| Error::io(&path, e))?;
        }
        let metrics: Vec<String> = row.valid.iter().map(|v| format!("{v:.6}")).collect();
        writeln!(
            f,
            "{}\t{}\t{:.6}\t{}\t{:.3e}\t{:.2}\t{:.0}",
            row.epoch,
            row.step,
            row.train_loss,
            metrics.join("\t"),
            row.lr,
            row.seconds,
            row.per_second
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
            self.task.loss_label(),
            "epoch",
            "loss",
            &[Series { name: "train", color: "#1f77b4", points: train, dots: false }, Series { name: "valid", color: "#d62728", points: valid, dots: false }],
        );
        write_chart(&self.opts.out_dir.join("train_curves.svg"), &svg)
    }

    /// Runs epochs until the maximum, early stopping or `max_steps`.
    pub fn run(&mut self) -> Result<Vec<EpochLog>> {
        let mut logs = Vec::new();
        let (per_example, unit) = self.task.throughput_unit();
        let per_step = self.opts.batch_size as f64 * per_example;
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
                    let rate = (self.state.step - epoch_start_step) as f64 * per_step / secs;
                    b.inc(1);
                    b.set_message(format!("loss {:.4}  {:.0} {unit}/s", sum / count.max(1) as f64, rate));
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
            let valid = self.validate()?;
            let valid_loss = valid.first().copied().unwrap_or(f64::NAN);
            self.state.epoch += 1;
            let seconds = start.elapsed().as_secs_f64();
            let row = EpochLog {
                epoch: self.state.epoch,
                step: self.state.step,
                train_loss: sum / count.max(1) as f64,
                valid,
                lr: self.adam.current_lr(),
                seconds,
                per_second: (self.state.step - epoch_start_step) as f64 * per_step / seconds.max(1e-9),
            };
            let improved = valid_loss.is_finite() && self.state.best_valid.is_none_or(|b| valid_loss < b);
            if improved {
                self.state.best_valid = Some(valid_loss);
                self.state.bad_epochs = 0;
                save_varmap(&self.varmap, self.task.channels(), &self.opts.out_dir.join("best.safetensors"))?;
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
        save_varmap(&self.varmap, self.task.channels(), path)
    }

    /// Finishes a run folder: `model.safetensors` = the best weights by validation loss
    /// (the last ones without validation), and a copy of the params.
    pub fn finish(&self, params_path: &Path) -> Result<()> {
        let out = &self.opts.out_dir;
        let best = out.join("best.safetensors");
        let final_path = out.join("model.safetensors");
        if best.exists() {
            std::fs::copy(&best, &final_path).map_err(|e| Error::io(&final_path, e))?;
        } else {
            self.save_weights(&final_path)?;
        }
        std::fs::copy(params_path, out.join("params.json")).map_err(|e| Error::io(out.join("params.json"), e))?;
        Ok(())
    }
}
