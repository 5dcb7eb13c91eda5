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

    pub fn forward(self, x: &Tensor) -> Result<Tensor> {
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
            Activation::Softmax => candle_nn::ops::softmax_last_dim(x)?,
        })
    }
}
