use candle_core::Tensor;
use candle_nn::Init;

use crate::builder::{Builder, KerasClass};
use crate::error::Result;
use crate::layers::cpu;
use crate::layers::dense::{kaiming, linear};

/// Keras `Conv1D`, stride 1, `padding="same"`; kernel `[width, in, out]`.
#[derive(Debug, Clone)]
pub struct Conv1D {
    kernel: Tensor,
    bias: Option<Tensor>,
    dilation: usize,
}

impl Conv1D {
    /// Input positions one output position spans.
    pub fn span(&self) -> usize {
        (self.kernel.dims()[0] - 1) * self.dilation + 1
    }

    pub fn new(
        b: &Builder,
        in_dim: usize,
        out_dim: usize,
        width: usize,
        dilation: usize,
        use_bias: bool,
    ) -> Result<Self> {
        let mut spec =
            vec![("kernel", "kernel", vec![width, in_dim, out_dim], kaiming(width * in_dim))];
        if use_bias {
            spec.push(("bias", "bias", vec![out_dim], Init::Const(0.0)));
        }
        let mut w = b.keras_layer(KerasClass::Conv1D, &spec)?;
        let bias = if use_bias { w.pop() } else { None };
        Ok(Conv1D { kernel: w.pop().expect("kernel"), bias, dilation: dilation.max(1) })
    }

    pub fn out_dim(&self) -> usize {
        self.kernel.dims()[2]
    }

    /// `forward(act(x * scale + shift))` with the per-channel pre-activation (an inference
    /// batch norm and its activation) fused into the convolution on the CPU when the
    /// kernel is width 1, and with `residual = (first, s)` the result `first + s * conv`
    /// (a residual branch's learned scale); None when that fast path does not apply.
    pub fn forward_after(
        &self,
        x: &Tensor,
        scale: &[f32],
        shift: &[f32],
        act: crate::layers::Activation,
        residual: Option<(&Tensor, &[f32])>,
    ) -> Result<Option<Tensor>> {
        let (width, in_dim, out_dim) = self.kernel.dims3()?;
        let mut parts = vec![x, &self.kernel];
        parts.extend(self.bias.as_ref());
        parts.extend(residual.map(|(first, _)| first));
        if width != 1 || !cpu::usable(&parts) || scale.len() != in_dim || shift.len() != in_dim {
            return Ok(None);
        }
        let (batch, len, _) = x.dims3()?;
        if residual.is_some_and(|(first, s)| first.dims() != [batch, len, out_dim] || s.len() != out_dim) {
            return Ok(None);
        }
        let bias = self.bias.as_ref().map(|b| b.to_vec1::<f32>()).transpose()?;
        let run = |xs: &[f32], ks: &[f32], joined: Option<(&[f32], &[f32])>| {
            cpu::pointwise(xs, batch * len, in_dim, ks, out_dim, bias.as_deref(), Some((scale, shift, act)), joined)
        };
        let out = cpu::with_slice(x, |xs| {
            cpu::with_slice(&self.kernel, |ks| match residual {
                Some((first, s)) => cpu::with_slice(first, |fs| run(xs, ks, Some((fs, s)))),
                None => Ok(run(xs, ks, None)),
            })
        })???;
        let Some(out) = out else { return Ok(None) };
        Ok(Some(Tensor::from_vec(out, (batch, len, out_dim), x.device())?))
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (width, in_dim, out_dim) = self.kernel.dims3()?;
        let mut parts = vec![x, &self.kernel];
        parts.extend(self.bias.as_ref());
        if cpu::usable(&parts) {
            let (batch, len, _) = x.dims3()?;
            let out = cpu::with_slice(x, |xs| {
                cpu::with_slice(&self.kernel, |ks| match &self.bias {
                    Some(b) => cpu::with_slice(b, |bs| {
                        cpu::conv1d_same(xs, batch, len, in_dim, ks, width, out_dim, Some(bs), self.dilation)
                    }),
                    None => Ok(cpu::conv1d_same(xs, batch, len, in_dim, ks, width, out_dim, None, self.dilation)),
                })
            })???;
            return Ok(Tensor::from_vec(out, (batch, len, out_dim), x.device())?);
        }
        let cols = im2col_same(x, width, self.dilation)?;
        let kernel = self.kernel.reshape((width * in_dim, out_dim))?;
        linear(&cols, &kernel, self.bias.as_ref())
    }
}

/// TensorFlow's "same" padding for a window of `span` positions: the extra one, if any,
/// goes on the right.
pub fn same_padding(span: usize) -> (usize, usize) {
    let total = span - 1;
    (total / 2, total - total / 2)
}

/// `[B, L, C] -> [B, L, width * C]`, tap-major, zero-padded as "same".
pub fn im2col_same(x: &Tensor, width: usize, dilation: usize) -> Result<Tensor> {
    if width == 1 {
        return Ok(x.clone());
    }
    let (_, len, _) = x.dims3()?;
    let span = (width - 1) * dilation + 1;
    let (left, right) = same_padding(span);
    let padded = x.pad_with_zeros(1, left, right)?;
    let taps = (0..width)
        .map(|t| padded.narrow(1, t * dilation, len))
        .collect::<candle_core::Result<Vec<_>>>()?;
    Ok(Tensor::cat(&taps, 2)?)
}

/// Keras `SeparableConv1D`, depth multiplier 1: a per-channel convolution
/// (`depthwise_kernel [width, C, 1]`), then a pointwise one (`pointwise_kernel [1, C, out]`).
#[derive(Debug, Clone)]
pub struct SeparableConv1D {
    depthwise: Tensor,
    pointwise: Tensor,
    bias: Option<Tensor>,
}

impl SeparableConv1D {
    pub fn new(b: &Builder, in_dim: usize, out_dim: usize, width: usize) -> Result<Self> {
        let w = b.keras_layer(
            KerasClass::SeparableConv1D,
            &[
                ("depthwise_kernel", "depthwise_kernel", vec![width, in_dim, 1], kaiming(width)),
                ("pointwise_kernel", "pointwise_kernel", vec![1, in_dim, out_dim], kaiming(in_dim)),
                ("bias", "bias", vec![out_dim], Init::Const(0.0)),
            ],
        )?;
        Ok(SeparableConv1D {
            depthwise: w[0].clone(),
            pointwise: w[1].clone(),
            bias: Some(w[2].clone()),
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (width, in_dim, _) = self.depthwise.dims3()?;
        let (batch, len, _) = x.dims3()?;
        if cpu::usable(&[x, &self.depthwise]) && x.dim(2)? == in_dim {
            let depth = cpu::with_slice(x, |xs| cpu::with_slice(&self.depthwise, |ks| cpu::depthwise_same(xs, batch, len, in_dim, ks, width)))??;
            let depth = Tensor::from_vec(depth, (batch, len, in_dim), x.device())?;
            let (_, _, out_dim) = self.pointwise.dims3()?;
            return linear(&depth, &self.pointwise.reshape((in_dim, out_dim))?, self.bias.as_ref());
        }
        let (left, right) = same_padding(width);
        let padded = x.pad_with_zeros(1, left, right)?;
        let taps = self.depthwise.reshape((width, in_dim))?;
        let mut acc: Option<Tensor> = None;
        for t in 0..width {
            let term = padded.narrow(1, t, len)?.broadcast_mul(&taps.get(t)?)?;
            acc = Some(match acc {
                None => term,
                Some(a) => (a + term)?,
            });
        }
        let depth = acc.expect("width >= 1");
        let (_, _, out_dim) = self.pointwise.dims3()?;
        let pointwise = self.pointwise.reshape((in_dim, out_dim))?;
        linear(&depth, &pointwise, self.bias.as_ref())
    }
}
