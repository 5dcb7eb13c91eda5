//! Gradient x input saliency: the gradient of a summed prediction with respect to the
//! one-hot input, mean-centred over the four bases at each position (as baskerville's
//! gradient scripts do) so it reads like a hypothetical contribution of every base.

use candle_core::{Tensor, Var};

use crate::error::{Error, Result};
use crate::model::SeqNN;

/// What the gradient is taken of: the mean over `tracks` of head 0's output summed over
/// `bins` (all bins when None).
#[derive(Debug, Clone)]
pub struct Objective {
    pub tracks: Vec<usize>,
    pub bins: Option<Vec<usize>>,
}

/// The objective's value on `input` (`seq_len x channels`, row-major).
pub fn objective(model: &SeqNN, input: &[f32], obj: &Objective) -> Result<f64> {
    let x = Tensor::from_vec(input.to_vec(), (1, model.params.seq_length, model.in_channels), &model.device())?;
    let y = select(model, &model.forward(&x)?, obj)?;
    Ok(y.to_scalar::<f32>()? as f64)
}

fn select(model: &SeqNN, y: &Tensor, obj: &Objective) -> Result<Tensor> {
    let (_, bins, tracks) = y.dims3()?;
    if obj.tracks.is_empty() {
        return Err(Error::Input("saliency needs at least one track".into()));
    }
    if let Some(&t) = obj.tracks.iter().find(|&&t| t >= tracks) {
        return Err(Error::Input(format!("track {t} is outside the model's {tracks} tracks")));
    }
    let dev = model.device();
    let idx = Tensor::from_vec(obj.tracks.iter().map(|&t| t as u32).collect::<Vec<_>>(), obj.tracks.len(), &dev)?;
    let mut y = y.index_select(&idx, 2)?;
    if let Some(b) = &obj.bins {
        if b.is_empty() || b.iter().any(|&i| i >= bins) {
            return Err(Error::Input(format!("saliency bins must be a non-empty subset of the {bins} output bins")));
        }
        let idx = Tensor::from_vec(b.iter().map(|&i| i as u32).collect::<Vec<_>>(), b.len(), &dev)?;
        y = y.index_select(&idx, 1)?;
    }
    Ok((y.sum_all()? / obj.tracks.len() as f64)?)
}

/// The raw gradient of the objective with respect to the four DNA channels: `[L][4]`.
pub fn gradient(model: &SeqNN, input: &[f32], obj: &Objective) -> Result<Vec<[f32; 4]>> {
    let (len, ch) = (model.params.seq_length, model.in_channels);
    if input.len() != len * ch {
        return Err(Error::Input(format!("input has {} values, expected {len} x {ch}", input.len())));
    }
    let x = Var::from_tensor(&Tensor::from_vec(input.to_vec(), (1, len, ch), &model.device())?)?;
    let y = select(model, &model.forward(x.as_tensor())?, obj)?;
    let grads = y.backward()?;
    let g = grads
        .get(x.as_tensor())
        .ok_or_else(|| Error::Other("the objective does not depend on the input".into()))?;
    let g: Vec<f32> = g.flatten_all()?.to_vec1()?;
    Ok((0..len).map(|i| [g[i * ch], g[i * ch + 1], g[i * ch + 2], g[i * ch + 3]]).collect())
}

/// Mean-centres each position's four values (hypothetical contributions).
pub fn mean_centre(g: &[[f32; 4]]) -> Vec<[f32; 4]> {
    g.iter()
        .map(|v| {
            let m = v.iter().sum::<f32>() / 4.0;
            [v[0] - m, v[1] - m, v[2] - m, v[3] - m]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::mean_centre;

    #[test]
    fn centring_removes_the_mean() {
        let c = mean_centre(&[[1.0, 2.0, 3.0, 6.0]]);
        assert_eq!(c[0], [-2.0, -1.0, 0.0, 3.0]);
    }
}
