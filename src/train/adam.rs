//! Adam / AdamW with linear warm-up and global gradient-norm clipping, with its state
//! saved and restored exactly (Keras' defaults: epsilon 1e-7).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{backprop::GradStore, Tensor, Var};

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub warmup_steps: usize,
    /// Largest global gradient norm; larger gradients are scaled down (0: off).
    pub clip_norm: f64,
}

pub struct Adam {
    pub config: AdamConfig,
    params: Vec<(String, Var)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    pub step: u64,
}

impl Adam {
    pub fn new(params: Vec<(String, Var)>, config: AdamConfig) -> Result<Self> {
        let m = params.iter().map(|(_, p)| p.zeros_like()).collect::<candle_core::Result<Vec<_>>>()?;
        let v = params.iter().map(|(_, p)| p.zeros_like()).collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Adam { config, params, m, v, step: 0 })
    }

    /// The learning rate at the next step (linear warm-up).
    pub fn current_lr(&self) -> f64 {
        let warm = self.config.warmup_steps.max(1) as f64;
        self.config.lr * ((self.step + 1) as f64 / warm).min(1.0)
    }

    /// One update from `grads`; returns the global gradient norm before clipping.
    pub fn step(&mut self, grads: &GradStore) -> Result<f64> {
        let mut sq = 0f64;
        let mut gs = Vec::with_capacity(self.params.len());
        for (_, p) in &self.params {
            // Detached: optimizer state must not keep the step's graph alive.
            let g = match grads.get(p.as_tensor()) {
                Some(g) => g.detach(),
                None => p.zeros_like()?,
            };
            sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
            gs.push(g);
        }
        let norm = sq.sqrt();
        let scale = if self.config.clip_norm > 0.0 && norm > self.config.clip_norm { self.config.clip_norm / norm } else { 1.0 };
        let lr = self.current_lr();
        self.step += 1;
        let t = self.step as i32;
        let (b1, b2) = (self.config.beta1, self.config.beta2);
        let c1 = 1.0 - b1.powi(t);
        let c2 = 1.0 - b2.powi(t);
        for (i, (_, p)) in self.params.iter().enumerate() {
            let g = (&gs[i] * scale)?;
            self.m[i] = ((&self.m[i] * b1)? + (&g * (1.0 - b1))?)?.detach();
            self.v[i] = ((&self.v[i] * b2)? + (g.sqr()? * (1.0 - b2))?)?.detach();
            let mhat = (&self.m[i] / c1)?;
            let vhat = (&self.v[i] / c2)?;
            let mut update = (mhat / (vhat.sqrt()? + self.config.eps)?)?;
            if self.config.weight_decay > 0.0 {
                update = (update + (p.as_tensor() * self.config.weight_decay)?)?;
            }
            p.set(&(p.as_tensor() - (update * lr)?)?.detach())?;
        }
        Ok(norm)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tensors = HashMap::new();
        for (i, (name, _)) in self.params.iter().enumerate() {
            tensors.insert(format!("m.{name}"), self.m[i].clone());
            tensors.insert(format!("v.{name}"), self.v[i].clone());
        }
        let mut meta = HashMap::new();
        meta.insert("adam.step".to_string(), self.step.to_string());
        crate::io::save_tensors(&tensors, meta, path)
    }

    pub fn load(&mut self, path: &Path) -> Result<()> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| Error::Other(format!("{}: not a safetensors file ({e})", path.display())))?;
        let step = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get("adam.step"))
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| Error::Other(format!("{}: no adam.step", path.display())))?;
        let device = self.params.first().map(|(_, p)| p.device().clone()).unwrap_or(candle_core::Device::Cpu);
        let tensors = candle_core::safetensors::load_buffer(&bytes, &device)?;
        for (i, (name, _)) in self.params.iter().enumerate() {
            let get = |k: String| tensors.get(&k).cloned().ok_or_else(|| Error::Other(format!("{}: no {k}", path.display())));
            self.m[i] = get(format!("m.{name}"))?;
            self.v[i] = get(format!("v.{name}"))?;
        }
        self.step = step;
        Ok(())
    }
}
