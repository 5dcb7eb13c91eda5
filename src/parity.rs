//! Comparing our predictions with a reference implementation's.

use candle_core::{Device, Tensor};

use crate::error::{Error, Result};
use crate::model::SeqNN;
use crate::npz::Array;

/// max |ours - reference| / max |reference|, and the two maxima.
#[derive(Debug, Clone, Copy)]
pub struct Deviation {
    pub max_abs_diff: f32,
    pub max_abs_ref: f32,
}

impl Deviation {
    pub fn relative(&self) -> f32 {
        if self.max_abs_ref == 0.0 {
            self.max_abs_diff
        } else {
            self.max_abs_diff / self.max_abs_ref
        }
    }
}

pub fn deviation(ours: &[f32], reference: &[f32]) -> Result<Deviation> {
    if ours.len() != reference.len() {
        return Err(Error::Input(format!(
            "prediction has {} values, reference {}",
            ours.len(),
            reference.len()
        )));
    }
    let mut max_abs_diff = 0f32;
    let mut max_abs_ref = 0f32;
    for (a, b) in ours.iter().zip(reference) {
        if !a.is_finite() {
            return Err(Error::Input("prediction holds a non-finite value".into()));
        }
        max_abs_diff = max_abs_diff.max((a - b).abs());
        max_abs_ref = max_abs_ref.max(b.abs());
    }
    Ok(Deviation { max_abs_diff, max_abs_ref })
}

/// Runs `input` through the model in batches of `batch` and compares with `output`.
pub fn check(model: &SeqNN, input: &Array, output: &Array, batch: usize, device: &Device) -> Result<Deviation> {
    if input.shape.len() != 3 {
        return Err(Error::Input(format!("input must be [batch, length, channels], got {:?}", input.shape)));
    }
    let (n, len, ch) = (input.shape[0], input.shape[1], input.shape[2]);
    let x = Tensor::from_vec(input.data.clone(), (n, len, ch), device)?;
    let mut preds = Vec::with_capacity(output.data.len());
    let mut start = 0;
    while start < n {
        let take = batch.max(1).min(n - start);
        let y = model.forward(&x.narrow(0, start, take)?)?;
        if start == 0 {
            let want = &output.shape[1..];
            if y.dims()[1..] != *want {
                return Err(Error::Input(format!(
                    "model predicts {:?} per sequence, the reference has {:?}",
                    &y.dims()[1..],
                    want
                )));
            }
        }
        preds.extend(y.flatten_all()?.to_vec1::<f32>()?);
        start += take;
    }
    deviation(&preds, &output.data)
}
