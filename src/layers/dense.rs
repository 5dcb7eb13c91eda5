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
        // Inference on the CPU: bias and activation in one parallel pass over the product
        // (candle's element-wise ops are one pass each, on one thread; for Shorkie's
        // 5,215-track softplus head they took twice as long as the matrix product).
        if let (true, Some(_)) = (crate::layers::cpu::usable(&[x, &self.kernel]), self.activation.scalar()) {
            if self.bias.as_ref().is_none_or(|b| crate::layers::cpu::usable(&[b])) {
                let y = linear(x, &self.kernel, None)?;
                let ch = self.out_dim();
                let shift: Vec<f32> = match &self.bias {
                    Some(b) => b.to_vec1()?,
                    None => vec![0.0; ch],
                };
                let scale = vec![1.0f32; ch];
                let out = crate::layers::cpu::with_slice(&y, |ys| crate::layers::cpu::scale_shift_act(ys, ch, &scale, &shift, self.activation))?;
                if let Some(out) = out {
                    return Ok(Tensor::from_vec(out, y.shape(), y.device())?);
                }
            }
        }
        let y = linear(x, &self.kernel, self.bias.as_ref())?;
        self.activation.forward(&y)
    }
}
