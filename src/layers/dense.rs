use candle_core::Tensor;
use candle_nn::Init;

use crate::builder::{Builder, KerasClass};
use crate::error::Result;
use crate::layers::Activation;

/// Keras `Dense` on the last axis; kernel `[in, out]`.
#[derive(Debug, Clone)]
pub struct Dense {
    kernel: Tensor,
    bias: Option<Tensor>,
    activation: Activation,
}

impl Dense {
    pub fn new(
        b: &Builder,
        in_dim: usize,
        out_dim: usize,
        use_bias: bool,
        activation: Activation,
    ) -> Result<Self> {
        let mut spec = vec![("kernel", "kernel", vec![in_dim, out_dim], kaiming(in_dim))];
        if use_bias {
            spec.push(("bias", "bias", vec![out_dim], Init::Const(0.0)));
        }
        let mut w = b.keras_layer(KerasClass::Dense, &spec)?;
        let bias = if use_bias { w.pop() } else { None };
        Ok(Dense { kernel: w.pop().expect("kernel"), bias, activation })
    }

    pub fn from_tensors(kernel: Tensor, bias: Option<Tensor>, activation: Activation) -> Self {
        Dense { kernel, bias, activation }
    }

    /// Keeps output units `idx` only.
    pub fn select_outputs(&self, idx: &Tensor) -> Result<Self> {
        let kernel = self.kernel.index_select(idx, 1)?.contiguous()?;
        let bias = self.bias.as_ref().map(|b| b.index_select(idx, 0)).transpose()?;
        Ok(Dense { kernel, bias, activation: self.activation })
    }

    pub fn out_dim(&self) -> usize {
        self.kernel.dims()[1]
    }
}

/// He-normal initialisation for a layer with `fan_in` inputs.
pub fn kaiming(fan_in: usize) -> Init {
    Init::Randn { mean: 0.0, stdev: (2.0 / fan_in.max(1) as f64).sqrt() }
}

/// `[.., in] x [in, out] -> [.., out]`, flattening the leading axes into one matmul.
pub fn linear(x: &Tensor, kernel: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let in_dim = *dims.last().expect("rank >= 1");
    let rows: usize = dims[..dims.len() - 1].iter().product();
    let out_dim = kernel.dims()[1];
    let mut parts = vec![x, kernel];
    parts.extend(bias);
    if crate::layers::cpu::usable(&parts) {
        let bias = bias.map(|b| b.to_vec1::<f32>()).transpose()?;
        let out = crate::layers::cpu::with_slice(x, |xs| {
            crate::layers::cpu::with_slice(kernel, |ks| crate::layers::cpu::dense_act(xs, rows, in_dim, ks, out_dim, bias.as_deref(), crate::layers::Activation::Linear))
        })??;
        if let Some(out) = out {
            let mut out_dims = dims;
            *out_dims.last_mut().expect("rank >= 1") = out_dim;
            return Ok(Tensor::from_vec(out, out_dims, x.device())?);
        }
    }
    let y = x.reshape((rows, in_dim))?.matmul(kernel)?;
    let y = match bias {
        Some(b) => y.broadcast_add(b)?,
        None => y,
    };
    let mut out_dims = dims;
    *out_dims.last_mut().expect("rank >= 1") = out_dim;
    Ok(y.reshape(out_dims)?)
}

impl Dense {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // Inference on the CPU: product, bias and activation block by block on all threads
        // (candle's element-wise ops are one pass each, on one thread; for Shorkie's
        // 5,215-track softplus head they took twice as long as the matrix product).
        let mut parts = vec![x, &self.kernel];
        parts.extend(self.bias.as_ref());
        if crate::layers::cpu::usable(&parts) {
            let dims = x.dims().to_vec();
            let in_dim = *dims.last().expect("rank >= 1");
            let rows: usize = dims[..dims.len() - 1].iter().product();
            let n = self.out_dim();
            let out = crate::layers::cpu::with_slice(x, |xs| {
                crate::layers::cpu::with_slice(&self.kernel, |ks| match &self.bias {
                    Some(b) => crate::layers::cpu::with_slice(b, |bs| crate::layers::cpu::dense_act(xs, rows, in_dim, ks, n, Some(bs), self.activation)),
                    None => Ok(crate::layers::cpu::dense_act(xs, rows, in_dim, ks, n, None, self.activation)),
                })
            })???;
            if let Some(out) = out {
                let mut out_dims = dims;
                *out_dims.last_mut().expect("rank >= 1") = n;
                return Ok(Tensor::from_vec(out, out_dims, x.device())?);
            }
        }
        let y = linear(x, &self.kernel, self.bias.as_ref())?;
        self.activation.forward(&y)
    }
}
