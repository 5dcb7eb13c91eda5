use candle_core::{Tensor, D};
use candle_nn::Init;

use crate::builder::{Builder, KerasClass};
use crate::error::Result;
use crate::layers::{cpu, Activation};

/// Keras `BatchNormalization` at inference: moving statistics, epsilon 1e-3.
#[derive(Debug, Clone)]
pub struct BatchNorm {
    gamma: Tensor,
    beta: Tensor,
    moving_mean: Tensor,
    moving_variance: Tensor,
    eps: f64,
    momentum: f64,
    prefix: String,
    train: std::sync::Arc<crate::builder::TrainCtx>,
}

impl BatchNorm {
    pub fn new(b: &Builder, dim: usize, momentum: f64) -> Result<Self> {
        let w = b.keras_layer(
            KerasClass::BatchNormalization,
            &[
                ("gamma", "gamma", vec![dim], Init::Const(1.0)),
                ("beta", "beta", vec![dim], Init::Const(0.0)),
                ("moving_mean", "moving_mean", vec![dim], Init::Const(0.0)),
                ("moving_variance", "moving_variance", vec![dim], Init::Const(1.0)),
            ],
        )?;
        Ok(BatchNorm {
            gamma: w[0].clone(),
            beta: w[1].clone(),
            moving_mean: w[2].clone(),
            moving_variance: w[3].clone(),
            eps: 1e-3,
            momentum,
            prefix: b.prefix(),
            train: b.train_ctx(),
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_act(x, Activation::Linear)
    }

    /// The inference-time normalisation as one scale and shift per channel; None while
    /// training (batch statistics).
    pub fn folded(&self) -> Result<Option<(Vec<f32>, Vec<f32>)>> {
        if self.train.is_training() {
            return Ok(None);
        }
        let (scale, shift) = self.fold()?;
        Ok(Some((scale.to_dtype(candle_core::DType::F32)?.to_vec1()?, shift.to_dtype(candle_core::DType::F32)?.to_vec1()?)))
    }

    /// The moving statistics folded into one scale and shift per channel.
    fn fold(&self) -> Result<(Tensor, Tensor)> {
        let scale = (&self.gamma / (&self.moving_variance + self.eps)?.sqrt()?)?;
        let shift = (&self.beta - (&self.moving_mean * &scale)?)?;
        Ok((scale, shift))
    }

    /// Normalisation followed by `act`, fused into one pass on the CPU.
    pub fn forward_act(&self, x: &Tensor, act: Activation) -> Result<Tensor> {
        if self.train.is_training() {
            // Batch statistics over batch and length; the moving averages are updated by
            // the trainer after the step (Keras' momentum rule).
            let mean = x.mean_keepdim(0)?.mean_keepdim(1)?;
            let centred = x.broadcast_sub(&mean)?;
            let var = centred.sqr()?.mean_keepdim(0)?.mean_keepdim(1)?;
            let normed = centred.broadcast_div(&(&var + self.eps)?.sqrt()?)?;
            let y = normed.broadcast_mul(&self.gamma)?.broadcast_add(&self.beta)?;
            self.train.bn_batches.lock().expect("not poisoned").push((
                self.prefix.clone(),
                mean.flatten_all()?.detach(),
                var.flatten_all()?.detach(),
                self.momentum,
            ));
            return act.forward(&y);
        }
        let (scale, shift) = self.fold()?;
        if let (true, Some(_)) = (cpu::usable(&[x, &scale, &shift]), act.scalar()) {
            let ch = scale.dim(0)?;
            let scale: Vec<f32> = scale.to_vec1()?;
            let shift: Vec<f32> = shift.to_vec1()?;
            if let Some(out) = cpu::with_slice(x, |xs| cpu::scale_shift_act(xs, ch, &scale, &shift, act))? {
                return Ok(Tensor::from_vec(out, x.shape(), x.device())?);
            }
        }
        act.forward(&x.broadcast_mul(&scale)?.broadcast_add(&shift)?)
    }
}

/// Keras `LayerNormalization` over the channel axis, epsilon 1e-3.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    gamma: Tensor,
    beta: Tensor,
    eps: f64,
}

impl LayerNorm {
    pub fn new(b: &Builder, dim: usize) -> Result<Self> {
        let w = b.keras_layer(
            KerasClass::LayerNormalization,
            &[
                ("gamma", "gamma", vec![dim], Init::Const(1.0)),
                ("beta", "beta", vec![dim], Init::Const(0.0)),
            ],
        )?;
        Ok(LayerNorm { gamma: w[0].clone(), beta: w[1].clone(), eps: 1e-3 })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if cpu::usable(&[x, &self.gamma, &self.beta]) {
            let ch = self.gamma.dim(0)?;
            let gamma: Vec<f32> = self.gamma.to_vec1()?;
            let beta: Vec<f32> = self.beta.to_vec1()?;
            let out = cpu::with_slice(x, |xs| cpu::layer_norm(xs, ch, &gamma, &beta, self.eps as f32))?;
            return Ok(Tensor::from_vec(out, x.shape(), x.device())?);
        }
        let mean = x.mean_keepdim(D::Minus1)?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centred.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        Ok(normed.broadcast_mul(&self.gamma)?.broadcast_add(&self.beta)?)
    }
}
