//! Averaging predictions over fold models, reverse complements and sequence shifts,
//! as baskerville's `build_ensemble` does.

use candle_core::{DType, Tensor};

use crate::error::{Error, Result};
use crate::model::SeqNN;

fn reversed_index(n: usize, device: &candle_core::Device) -> Result<Tensor> {
    let idx: Vec<u32> = (0..n as u32).rev().collect();
    Ok(Tensor::from_vec(idx, n, device)?)
}

/// Reverse-complements `[B, L, C]` one-hot input: reverses the length axis and swaps
/// A<->T, C<->G in the first four channels; any further channels (mask flag, species)
/// only follow the reversal.
pub fn reverse_complement(x: &Tensor) -> Result<Tensor> {
    let (_, len, ch) = x.dims3()?;
    if ch < 4 {
        return Err(Error::Input(format!("reverse complement needs 4 DNA channels, input has {ch}")));
    }
    if crate::layers::cpu::usable(&[x]) {
        use rayon::prelude::*;
        let batch = x.dim(0)?;
        let mut out = vec![0f32; batch * len * ch];
        crate::layers::cpu::with_slice(x, |xs| {
            out.par_chunks_mut(ch).enumerate().for_each(|(row, o)| {
                let (b, p) = (row / len, row % len);
                let src = &xs[(b * len + len - 1 - p) * ch..(b * len + len - p) * ch];
                o[..4].copy_from_slice(&[src[3], src[2], src[1], src[0]]);
                o[4..].copy_from_slice(&src[4..]);
            })
        })?;
        return Ok(Tensor::from_vec(out, (batch, len, ch), x.device())?);
    }
    let reversed = x.index_select(&reversed_index(len, x.device())?, 1)?;
    let mut order: Vec<u32> = vec![3, 2, 1, 0];
    order.extend(4..ch as u32);
    let order = Tensor::from_vec(order, ch, x.device())?;
    Ok(reversed.index_select(&order, 2)?)
}

/// Maps predictions made on a reverse complement back to forward coordinates: reverses
/// the bin axis and swaps each stranded track with its pair.
pub fn unreverse_output(y: &Tensor, strand_pair: Option<&[usize]>) -> Result<Tensor> {
    let (_, bins, tracks) = y.dims3()?;
    let y = y.index_select(&reversed_index(bins, y.device())?, 1)?;
    match strand_pair {
        None => Ok(y),
        Some(pairs) => {
            if pairs.len() != tracks {
                return Err(Error::Input(format!(
                    "strand pairs list {} tracks, the model predicts {tracks}",
                    pairs.len()
                )));
            }
            let idx: Vec<u32> = pairs.iter().map(|&p| p as u32).collect();
            let idx = Tensor::from_vec(idx, tracks, y.device())?;
            Ok(y.index_select(&idx, 2)?)
        }
    }
}

/// Shifts `[B, L, C]` along the length by `shift` (positive: right), zero-filling the gap
/// (baskerville's `shift_sequence` with pad value 0).
pub fn shift_sequence(x: &Tensor, shift: i64) -> Result<Tensor> {
    let (_, len, _) = x.dims3()?;
    let s = shift.unsigned_abs() as usize;
    if shift == 0 {
        return Ok(x.clone());
    }
    if s >= len {
        return Err(Error::Input(format!("shift {shift} is not shorter than the sequence ({len})")));
    }
    Ok(if shift > 0 {
        x.narrow(1, 0, len - s)?.pad_with_zeros(1, s, 0)?
    } else {
        x.narrow(1, s, len - s)?.pad_with_zeros(1, 0, s)?
    })
}

/// Several models (folds) with test-time augmentation; predictions are averaged.
pub struct Ensemble<'a> {
    pub models: &'a [SeqNN],
    pub reverse_complement: bool,
    pub shifts: Vec<i64>,
    pub strand_pair: Option<Vec<usize>>,
}

impl<'a> Ensemble<'a> {
    pub fn new(models: &'a [SeqNN]) -> Self {
        Ensemble { models, reverse_complement: false, shifts: vec![0], strand_pair: None }
    }

    /// Mean prediction over models x shifts x orientations: `[B, bins, tracks]`.
    pub fn predict(&self, x: &Tensor) -> Result<Tensor> {
        if self.models.is_empty() {
            return Err(Error::Input("an ensemble needs at least one model".into()));
        }
        let mut sum: Option<Tensor> = None;
        let mut count = 0usize;
        let mut add = |y: Tensor| -> Result<()> {
            sum = Some(match sum.take() {
                None => y,
                Some(s) => (s + y)?,
            });
            count += 1;
            Ok(())
        };
        for shift in &self.shifts {
            let shifted = shift_sequence(x, *shift)?;
            let rc = if self.reverse_complement { Some(reverse_complement(&shifted)?) } else { None };
            for model in self.models {
                add(model.forward(&shifted)?)?;
                if let Some(rc) = &rc {
                    let y = model.forward(rc)?;
                    add(unreverse_output(&y, self.strand_pair.as_deref())?)?;
                }
            }
        }
        let sum = sum.ok_or_else(|| Error::Input("nothing to predict with: no model or no shift".into()))?;
        Ok((sum.to_dtype(DType::F32)? / count as f64)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn no_shift_is_an_error_not_a_panic() {
        let p = crate::Params::from_json_str(
            r#"{"model": {"seq_length": 8, "activation": "relu", "trunk": [{"name": "conv_dna", "filters": 2, "kernel_size": 3}], "head": {"name": "final", "units": 1}}}"#,
            "p.json",
        )
        .unwrap();
        let (m, _) = SeqNN::fresh(&p, 4, &Device::Cpu).unwrap();
        let models = [m];
        let mut e = Ensemble::new(&models);
        e.shifts.clear();
        let x = Tensor::zeros((1, 8, 4), DType::F32, &Device::Cpu).unwrap();
        assert!(e.predict(&x).unwrap_err().to_string().contains("no shift"));
    }

    #[test]
    fn reverse_complement_swaps_bases_and_keeps_extra_channels() {
        // A C at position 0, G at position 1; channel 4 flags position 0.
        let x = Tensor::from_vec(
            vec![0f32, 1., 0., 0., 1., 0., 0., 1., 0., 0.],
            (1, 2, 5),
            &Device::Cpu,
        )
        .unwrap();
        let rc: Vec<Vec<f32>> = reverse_complement(&x).unwrap().squeeze(0).unwrap().to_vec2().unwrap();
        // Reversed: G (position 1) first, complemented to C; then C -> G.
        assert_eq!(rc[0], vec![0., 1., 0., 0., 0.]);
        assert_eq!(rc[1], vec![0., 0., 1., 0., 1.]);
        let back = reverse_complement(&reverse_complement(&x).unwrap()).unwrap();
        assert_eq!(back.to_vec3::<f32>().unwrap(), x.to_vec3::<f32>().unwrap());
    }

    #[test]
    fn unreverse_swaps_strand_pairs() {
        let y = Tensor::from_vec(vec![1f32, 2., 3., 4., 5., 6.], (1, 2, 3), &Device::Cpu).unwrap();
        let out = unreverse_output(&y, Some(&[1, 0, 2])).unwrap().to_vec3::<f32>().unwrap();
        assert_eq!(out[0], vec![vec![5., 4., 6.], vec![2., 1., 3.]]);
    }

    #[test]
    fn shifts_fill_with_zeros() {
        let x = Tensor::from_vec(vec![1f32, 2., 3., 4.], (1, 4, 1), &Device::Cpu).unwrap();
        let r: Vec<f32> = shift_sequence(&x, 1).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(r, vec![0., 1., 2., 3.]);
        let l: Vec<f32> = shift_sequence(&x, -2).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(l, vec![3., 4., 0., 0.]);
        assert!(shift_sequence(&x, 4).is_err());
    }
}
