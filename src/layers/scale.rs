use candle_core::Tensor;
use candle_nn::Init;

use crate::builder::{Builder, KerasClass};
use crate::error::Result;

/// baskerville's `Scale`: a learned per-channel factor, zero-initialised so a residual
/// branch starts switched off.
#[derive(Debug, Clone)]
pub struct Scale {
    scale: Tensor,
}

impl Scale {
    pub fn new(b: &Builder, dim: usize) -> Result<Self> {
        let w = b.keras_layer(KerasClass::Scale, &[("scale", "scale", vec![dim], Init::Const(0.0))])?;
        Ok(Scale { scale: w[0].clone() })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.broadcast_mul(&self.scale)?)
    }
}
