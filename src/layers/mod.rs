//! Keras layers used by baskerville's blocks, channels-last: activations are
//! `[batch, length, channels]` throughout, and weights keep their Keras layouts.

pub mod activation;
pub mod attention;
pub mod conv;
pub mod cpu;
pub mod dense;
pub mod norm;
pub mod reshape;
pub mod scale;

pub use activation::Activation;
pub use attention::MultiheadAttention;
pub use conv::{Conv1D, SeparableConv1D};
pub use dense::Dense;
pub use norm::{BatchNorm, LayerNorm};
pub use scale::Scale;

use candle_core::Tensor;

/// `a + b` for tensors of one shape: one parallel pass at inference on the CPU, candle's
/// (differentiable) add otherwise.
pub fn add(a: &Tensor, b: &Tensor) -> crate::error::Result<Tensor> {
    if a.dims() == b.dims() && cpu::usable(&[a, b]) {
        let out = cpu::with_slice(a, |a| cpu::with_slice(b, |b| cpu::add(a, b)))??;
        return Ok(Tensor::from_vec(out, a.shape(), a.device())?);
    }
    Ok((a + b)?)
}
