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

    /// The factors as f32 values, when this is inference on the CPU.
    pub fn cpu_factors(&self) -> Result<Option<Vec<f32>>> {
        if crate::layers::cpu::usable(&[&self.scale]) {
            Ok(Some(self.scale.to_vec1()?))
        } else {
            Ok(None)
        }
    }

    /// `first + forward(y)`, the residual join, in one parallel pass on the CPU.
    pub fn add_to(&self, first: &Tensor, y: &Tensor) -> Result<Tensor> {
        if crate::layers::cpu::usable(&[first, y, &self.scale]) && first.dims() == y.dims() {
            let ch = self.scale.dim(0)?;
            let scale: Vec<f32> = self.scale.to_vec1()?;
            let out = crate::layers::cpu::with_slice(first, |f| {
                crate::layers::cpu::with_slice(y, |y| crate::layers::cpu::scaled_add(f, y, ch, &scale))
            })??;
            return Ok(Tensor::from_vec(out, y.shape(), y.device())?);
        }
        Ok((first + self.forward(y)?)?)
    }
}
