//! The command-line options every training binary shares (`shorkie-pretrain`,
//! `shorkie-train`): loop length, early stopping, optimiser, resume. Each falls back to the
//! params.json `train` block, then to a default.

use std::path::Path;

use super::adam::AdamConfig;
use super::trainer::TrainOptions;
use crate::config::TrainParams;

#[derive(clap::Args, Debug, Clone)]
pub struct LoopArgs {
    /// Continue the run in -o from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long)]
    pub batch_size: Option<usize>,
    #[arg(long)]
    pub steps_per_epoch: Option<usize>,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long)]
    pub min_epochs: Option<usize>,
    #[arg(long)]
    pub patience: Option<usize>,
    #[arg(long)]
    pub lr: Option<f64>,
    #[arg(long)]
    pub warmup_steps: Option<usize>,
    /// Validation batches per epoch.
    #[arg(long, default_value_t = 8)]
    pub valid_batches: usize,
    /// Stop after this many steps in total (the checkpoint keeps the exact position).
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Use AdamW with this weight decay (0: Adam).
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    #[arg(long, value_name = "DEVICE", default_value = "auto", help = crate::cli::DEVICE_HELP)]
    pub device: String,
}

impl LoopArgs {
    /// Bounds on the loop options (see [`crate::limits`]): sizes that would exhaust memory
    /// and rates that are not numbers are refused before anything is loaded.
    pub fn check(&self, train: &TrainParams) -> crate::Result<()> {
        use crate::limits::{at_most, count, MAX_BATCH};
        count(self.batch_size(train) as u64, MAX_BATCH, "--batch-size")?;
        if let Some(b) = self.batch_size {
            count(b as u64, MAX_BATCH, "--batch-size")?;
        }
        at_most(self.valid_batches as u64, 1 << 20, "--valid-batches")?;
        if let Some(lr) = self.lr {
            if !(lr.is_finite() && lr > 0.0) {
                return Err(crate::Error::Input(format!("--lr {lr} must be a positive number")));
            }
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(crate::Error::Input(format!("--weight-decay {} must be a number >= 0", self.weight_decay)));
        }
        crate::device::parse_device(&self.device)?;
        Ok(())
    }

    pub fn batch_size(&self, train: &TrainParams) -> usize {
        self.batch_size.or(train.batch_size).unwrap_or(8).max(1)
    }

    /// Windows in the fixed validation sample.
    pub fn valid_windows(&self, train: &TrainParams) -> usize {
        self.valid_batches.max(1) * self.batch_size(train)
    }

    pub fn options(&self, train: &TrainParams, out_dir: &Path, quiet: bool) -> crate::Result<TrainOptions> {
        Ok(TrainOptions {
            out_dir: out_dir.to_path_buf(),
            seed: self.seed,
            batch_size: self.batch_size(train),
            steps_per_epoch: self.steps_per_epoch.or(train.steps_per_epoch_max).unwrap_or(100).max(1),
            max_epochs: self.epochs.or(train.train_epochs_max).unwrap_or(10),
            min_epochs: self.min_epochs.or(train.train_epochs_min).unwrap_or(1),
            patience: self.patience.or(train.patience).unwrap_or(5),
            adam: AdamConfig {
                lr: self.lr.or(train.learning_rate).unwrap_or(1e-4),
                beta1: train.adam_beta1.unwrap_or(0.9),
                beta2: train.adam_beta2.unwrap_or(0.999),
                eps: 1e-7,
                weight_decay: self.weight_decay,
                warmup_steps: self.warmup_steps.or(train.warmup_steps).unwrap_or(0),
                clip_norm: train.global_clipnorm.unwrap_or(0.0),
            },
            progress: !quiet && crate::cli::stderr_is_tty(),
            max_steps: self.max_steps,
            device: crate::device::parse_device(&self.device)?,
        })
    }
}
