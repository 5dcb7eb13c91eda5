use candle_core::{Tensor, D};
use candle_nn::Init;

use crate::builder::{Builder, KerasClass};
use crate::error::Result;

/// Keras `BatchNormalization` at inference: moving statistics, epsilon 1e-3.
#[derive(Debug, Clone)]
pub struct BatchNorm {
    gamma: Tensor,
    beta: Tensor,
    moving_mean: Tensor,
    moving_variance: Tensor,
    eps: f64,
}

impl BatchNorm {
    pub fn new(b: &Builder, dim: usize) -> Result<Self> {
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
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // Fold the statistics into one scale and shift per channel.
        let scale = (&self.gamma / (&self.moving_variance + self.eps)?.sqrt()?)?;
        let shift = (&self.beta - (&self.moving_mean * &scale)?)?;
        Ok(x.broadcast_mul(&scale)?.broadcast_add(&shift)?)
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
        let mean = x.mean_keepdim(D::Minus1)?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centred.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        Ok(normed.broadcast_mul(&self.gamma)?.broadcast_add(&self.beta)?)
    }
}
