//! baskerville's `MultiheadAttention`: Enformer-style attention with relative position
//! features (central-mask basis, symmetric and sign-asymmetric halves) and the
//! Transformer-XL content/position biases `r_w_bias` and `r_r_bias`.

use candle_core::{DType, Device, Tensor, D};
use candle_nn::Init;

use crate::builder::{Builder, KerasClass};
use crate::error::Result;
use crate::layers::cpu;
use crate::layers::dense::{kaiming, linear};

#[derive(Debug, Clone)]
pub struct MultiheadAttention {
    heads: usize,
    key_size: usize,
    value_size: usize,
    num_position_features: usize,
    /// The length the position basis is scaled to (baskerville's `seqlen_train`).
    basis_len: usize,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    embedding: Tensor,
    embedding_bias: Tensor,
    r_k: Tensor,
    r_w_bias: Tensor,
    r_r_bias: Tensor,
}

impl MultiheadAttention {
    pub fn new(
        b: &Builder,
        in_dim: usize,
        heads: usize,
        key_size: usize,
        value_size: usize,
        num_position_features: usize,
        basis_len: usize,
    ) -> Result<Self> {
        let key_proj = key_size * heads;
        let embed = value_size * heads;
        let w = b.keras_layer(
            KerasClass::MultiheadAttention,
            &[
                ("r_w_bias", "r_w_bias", vec![1, heads, 1, key_size], kaiming(key_size)),
                ("r_r_bias", "r_r_bias", vec![1, heads, 1, key_size], kaiming(key_size)),
                ("q_layer/kernel", "q_kernel", vec![in_dim, key_proj], kaiming(in_dim)),
                ("k_layer/kernel", "k_kernel", vec![in_dim, key_proj], kaiming(in_dim)),
                ("v_layer/kernel", "v_kernel", vec![in_dim, embed], kaiming(in_dim)),
                ("embedding_layer/kernel", "embedding_kernel", vec![embed, embed], Init::Const(0.0)),
                ("embedding_layer/bias", "embedding_bias", vec![embed], Init::Const(0.0)),
                (
                    "r_k_layer/kernel",
                    "r_k_kernel",
                    vec![num_position_features, key_proj],
                    kaiming(num_position_features),
                ),
            ],
        )?;
        Ok(MultiheadAttention {
            heads,
            key_size,
            value_size,
            num_position_features,
            basis_len,
            r_w_bias: w[0].clone(),
            r_r_bias: w[1].clone(),
            q: w[2].clone(),
            k: w[3].clone(),
            v: w[4].clone(),
            embedding: w[5].clone(),
            embedding_bias: w[6].clone(),
            r_k: w[7].clone(),
        })
    }

    /// `[B, T, C] -> [B, H, T, size]`
    fn split_heads(&self, x: &Tensor, size: usize) -> Result<Tensor> {
        let (batch, len, _) = x.dims3()?;
        Ok(x.reshape((batch, len, self.heads, size))?.transpose(1, 2)?.contiguous()?)
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (batch, len, _) = x.dims3()?;
        let weights = [x, &self.q, &self.k, &self.v, &self.r_k, &self.r_w_bias, &self.r_r_bias];
        if self.num_position_features > 0 && cpu::usable(&weights) {
            return self.forward_cpu(x, batch, len);
        }
        let q = self.split_heads(&linear(x, &self.q, None)?, self.key_size)?;
        let k = self.split_heads(&linear(x, &self.k, None)?, self.key_size)?;
        let v = self.split_heads(&linear(x, &self.v, None)?, self.value_size)?;
        let q = (q * (self.key_size as f64).powf(-0.5))?;

        let k_t = k.transpose(2, 3)?.contiguous()?;
        let content = q.broadcast_add(&self.r_w_bias)?.matmul(&k_t)?;

        let logits = if self.num_position_features == 0 {
            content
        } else {
            let features =
                positional_features(len, self.basis_len, self.num_position_features, x.device())?.to_dtype(x.dtype())?;
            // [2T-1, H*K] -> [1, H, 2T-1, K]
            let r_k = linear(&features.unsqueeze(0)?, &self.r_k, None)?;
            let r_k = self.split_heads(&r_k, self.key_size)?;
            let r_k_t = r_k.transpose(2, 3)?.contiguous()?;
            let relative = q.broadcast_add(&self.r_r_bias)?.broadcast_matmul(&r_k_t)?;
            let relative = relative_shift(&relative, len)?;
            crate::layers::add(&content, &relative)?
        };

        let weights = crate::layers::activation::softmax(&logits)?;
        let out = weights.matmul(&v)?; // [B, H, T, V]
        let out = out.transpose(1, 2)?.reshape((batch, len, self.heads * self.value_size))?;
        linear(&out, &self.embedding, Some(&self.embedding_bias))
    }
}

impl MultiheadAttention {
    /// Inference on the CPU: the projections as block-parallel products, then every
    /// (sequence, head) attention as one task (candle's path makes ~20 tensors per layer).
    fn forward_cpu(&self, x: &Tensor, batch: usize, len: usize) -> Result<Tensor> {
        let q = linear(x, &self.q, None)?;
        let k = linear(x, &self.k, None)?;
        let v = linear(x, &self.v, None)?;
        let features = positional_features(len, self.basis_len, self.num_position_features, x.device())?;
        let r_k = linear(&features, &self.r_k, None)?;
        let shape = cpu::AttentionShape { batch, len, heads: self.heads, key: self.key_size, value: self.value_size };
        let r_w: Vec<f32> = self.r_w_bias.flatten_all()?.to_vec1()?;
        let r_r: Vec<f32> = self.r_r_bias.flatten_all()?.to_vec1()?;
        let out = cpu::with_slice(&q, |q| {
            cpu::with_slice(&k, |k| {
                cpu::with_slice(&v, |v| cpu::with_slice(&r_k, |rk| cpu::relative_attention(q, k, v, rk, &r_w, &r_r, &shape)))
            })
        })????;
        let out = Tensor::from_vec(out, (batch, len, self.heads * self.value_size), x.device())?;
        linear(&out, &self.embedding, Some(&self.embedding_bias))
    }
}

/// Relative position features for distances `-(T-1) ..= T-1`: `[2T-1, features]`.
/// First half: 1 where the distance lies inside a central window whose widths grow
/// geometrically up to `basis_len`; second half: the same times sign(distance).
pub fn positional_features(
    len: usize,
    basis_len: usize,
    features: usize,
    device: &Device,
) -> Result<Tensor> {
    let basis = features / 2;
    // Computed in f32 like the reference, so window edges fall on the same positions.
    let pow_rate = ((basis_len as f64 + 1.0).ln() / basis as f64).exp() as f32;
    let widths: Vec<f32> = (1..=basis).map(|i| pow_rate.powf(i as f32) - 1.0).collect();
    let n = 2 * len - 1;
    let mut out = vec![0f32; n * features];
    for (row, chunk) in out.chunks_mut(features).enumerate() {
        let distance = row as f32 - (len as f32 - 1.0);
        let sign = if distance > 0.0 { 1.0 } else if distance < 0.0 { -1.0 } else { 0.0 };
        for (i, w) in widths.iter().enumerate() {
            let inside = if *w > distance.abs() { 1.0 } else { 0.0 };
            chunk[i] = inside;
            chunk[basis + i] = sign * inside;
        }
    }
    Ok(Tensor::from_vec(out, (n, features), device)?)
}

/// Transformer-XL's shift: `[.., T, 2T-1]` logits over distances -> `[.., T, T]` logits
/// over keys, where query `i` and key `j` read distance `j - i`.
pub fn relative_shift(x: &Tensor, len: usize) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let mut index = Vec::with_capacity(len * len);
    for i in 0..len {
        for j in 0..len {
            index.push((len - 1 - i + j) as u32);
        }
    }
    let index = Tensor::from_vec(index, (len, len), x.device())?.to_dtype(DType::U32)?;
    let mut idx_dims = dims.clone();
    *idx_dims.last_mut().expect("rank 4") = len;
    let lead: usize = dims[..dims.len() - 2].iter().product();
    let index = index.unsqueeze(0)?.broadcast_as((lead, len, len))?.reshape(idx_dims)?.contiguous()?;
    Ok(x.contiguous()?.gather(&index, D::Minus1)?)
}
