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
    if let Some(y) = linear_act_cpu(x, kernel, bias, Activation::Linear)? {
        return Ok(y);
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

/// `act(x kernel + bias)` on our CPU kernel ([`crate::layers::cpu::dense_act`]: product,
/// bias and activation block by block on all threads), when this is inference on the CPU
/// and `act` has a per-element form; None otherwise.
fn linear_act_cpu(x: &Tensor, kernel: &Tensor, bias: Option<&Tensor>, act: Activation) -> Result<Option<Tensor>> {
    use crate::layers::cpu;
    let mut parts = vec![x, kernel];
    parts.extend(bias);
    if !cpu::usable(&parts) {
        return Ok(None);
    }
    let mut dims = x.dims().to_vec();
    let in_dim = *dims.last().expect("rank >= 1");
    let rows: usize = dims[..dims.len() - 1].iter().product();
    let n = kernel.dims()[1];
    let out = cpu::with_slice(x, |xs| {
        cpu::with_slice(kernel, |ks| match bias {
            Some(b) => cpu::with_slice(b, |bs| cpu::dense_act(xs, rows, in_dim, ks, n, Some(bs), act)),
            None => Ok(cpu::dense_act(xs, rows, in_dim, ks, n, None, act)),
        })
    })???;
    let Some(out) = out else { return Ok(None) };
    *dims.last_mut().expect("rank >= 1") = n;
    Ok(Some(Tensor::from_vec(out, dims, x.device())?))
}

impl Dense {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // Inference on the CPU: one kernel (candle's element-wise ops are one pass each, on
        // their own thread pool; for Shorkie's 5,215-track softplus head they took twice as
        // long as the matrix product).
        if let Some(y) = linear_act_cpu(x, &self.kernel, self.bias.as_ref(), self.activation)? {
            return Ok(y);
        }
        let y = linear(x, &self.kernel, self.bias.as_ref())?;
        self.activation.forward(&y)
    }
}
