use candle_core::Tensor;

use crate::error::{Error, Result};

/// baskerville's `layers.activate` names, plus `softmax` for Dense heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Linear,
    Relu,
    /// Keras `gelu(approximate=True)`: the tanh approximation.
    Gelu,
    Sigmoid,
    Tanh,
    Exp,
    Softplus,
    Softmax,
}

impl Activation {
    pub fn parse(name: Option<&str>) -> Result<Self> {
        Ok(match name {
            None | Some("linear") => Activation::Linear,
            Some("relu") => Activation::Relu,
            Some("gelu") => Activation::Gelu,
            Some("sigmoid") => Activation::Sigmoid,
            Some("tanh") => Activation::Tanh,
            Some("exp") => Activation::Exp,
            Some("softplus") => Activation::Softplus,
            Some("softmax") => Activation::Softmax,
            Some(other) => return Err(Error::Other(format!("unknown activation \"{other}\""))),
        })
    }

    /// The activation as a function of one value (all but softmax).
    pub fn scalar(self) -> Option<fn(f32) -> f32> {
        Some(match self {
            Activation::Linear => |x| x,
            Activation::Relu => |x: f32| x.max(0.0),
            Activation::Gelu => crate::layers::cpu::gelu_tanh,
            Activation::Sigmoid => |x: f32| 1.0 / (1.0 + (-x).exp()),
            Activation::Tanh => f32::tanh,
            Activation::Exp => f32::exp,
            Activation::Softplus => crate::layers::cpu::softplus,
            Activation::Softmax => return None,
        })
    }

    pub fn forward(self, x: &Tensor) -> Result<Tensor> {
        if self != Activation::Linear && self != Activation::Softmax && crate::layers::cpu::usable(&[x]) {
            let ch = x.dims().last().copied().unwrap_or(1).max(1);
            let (ones, zeros) = (vec![1f32; ch], vec![0f32; ch]);
            if let Some(out) = crate::layers::cpu::with_slice(x, |xs| crate::layers::cpu::scale_shift_act(xs, ch, &ones, &zeros, self))? {
                return Ok(Tensor::from_vec(out, x.shape(), x.device())?);
            }
        }
        Ok(match self {
            Activation::Linear => x.clone(),
            Activation::Relu => x.relu()?,
            Activation::Gelu => x.gelu()?,
            Activation::Sigmoid => candle_nn::ops::sigmoid(x)?,
            Activation::Tanh => x.tanh()?,
            Activation::Exp => x.exp()?,
            // Stable form: max(x, 0) + log(1 + exp(-|x|)), equal to log(1 + exp(x)).
            Activation::Softplus => {
                let pos = x.relu()?;
                let tail = (x.abs()?.neg()?.exp()? + 1.0)?.log()?;
                (pos + tail)?
            }
            Activation::Softmax => softmax(x)?,
        })
    }
}

/// Softmax over the last axis: candle's fused kernel for inference, the composed (and
/// differentiable) form while gradients are tracked.
pub fn softmax(x: &Tensor) -> Result<Tensor> {
    if x.track_op() {
        Ok(candle_nn::ops::softmax(x, candle_core::D::Minus1)?)
    } else {
        Ok(candle_nn::ops::softmax_last_dim(x)?)
    }
}
