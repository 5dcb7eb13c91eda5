//! Weightless length operations: max pooling, upsampling and cropping.

use candle_core::Tensor;

use crate::error::Result;

/// Keras `MaxPool1D(pool, padding="same")`: output length ceil(L / pool); a short last
/// window takes the max of what it has.
pub fn max_pool_same(x: &Tensor, pool: usize) -> Result<Tensor> {
    if pool <= 1 {
        return Ok(x.clone());
    }
    let (batch, len, ch) = x.dims3()?;
    if crate::layers::cpu::usable(&[x]) {
        let out = crate::layers::cpu::with_slice(x, |xs| crate::layers::cpu::max_pool_same(xs, batch, len, ch, pool))?;
        return Ok(Tensor::from_vec(out, (batch, len.div_ceil(pool), ch), x.device())?);
    }
    let out_len = len.div_ceil(pool);
    let pad = out_len * pool - len;
    // TF splits "same" padding with the extra position on the right and never lets it
    // win the max; repeating the edge positions is equivalent.
    let (left, right) = (pad / 2, pad - pad / 2);
    let mut parts = Vec::with_capacity(3);
    if left > 0 {
        parts.push(x.narrow(1, 0, 1)?.repeat((1, left, 1))?);
    }
    parts.push(x.clone());
    if right > 0 {
        parts.push(x.narrow(1, len - 1, 1)?.repeat((1, right, 1))?);
    }
    let x = if parts.len() == 1 { x.clone() } else { Tensor::cat(&parts, 1)? };
    Ok(x.reshape((batch, out_len, pool, ch))?.max(2)?)
}

/// Keras `UpSampling1D(size)`: each position repeated `size` times.
pub fn upsample(x: &Tensor, size: usize) -> Result<Tensor> {
    let (batch, len, ch) = x.dims3()?;
    Ok(x
        .unsqueeze(2)?
        .broadcast_as((batch, len, size, ch))?
        .reshape((batch, len * size, ch))?)
}

/// Keras `Cropping1D((left, right))`.
pub fn crop(x: &Tensor, left: usize, right: usize) -> Result<Tensor> {
    let (_, len, _) = x.dims3()?;
    Ok(x.narrow(1, left, len - left - right)?)
}
