//! Supervised fine-tuning on coverage tracks as a [`Task`] for the shared training loop:
//! genome windows in, pooled BigWig coverage out (read on the fly as baskerville's
//! hound_data_read prepares it), baskerville's `poisson_mn` loss, reverse-complement and
//! shift augmentation, and validation loss plus mean per-track Pearson R.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use candle_core::{Device, Tensor};

use super::data::read_fasta;
use super::rng::Rng;
use super::trainer::Task;
use crate::config::Params;
use crate::coverage::blacklist::Blacklist;
use crate::coverage::folds::Segment;
use crate::coverage::{clip_unmappable, unmappable_bins, unmappable_fraction, CoverageSource};
use crate::error::{Error, Result};
use crate::model::SeqNN;
use crate::score::encode::InputLayout;
use crate::formats::targets::Targets;

/// baskerville's `poisson_multinomial` (position weights 1, no rescale), averaged over
/// batch and tracks: for each sequence and track, with sums over the L bins,
/// `-Σ (y+ε) ln((ŷ+ε)/Σŷ) / L  +  total_weight · (Σŷ − Σy · ln(Σŷ+ε)) / L`, ε = 1e-7.
pub fn poisson_multinomial(pred: &Tensor, target: &Tensor, total_weight: f64) -> Result<Tensor> {
    const EPS: f64 = 1e-7;
    let len = pred.dim(1)? as f64;
    let s_true = target.sum(1)?;
    let s_pred = pred.sum(1)?;
    let poisson = ((&s_pred - (&s_true * (&s_pred + EPS)?.log()?)?)? / len)?;
    let p_pred = (pred + EPS)?.broadcast_div(&s_pred.unsqueeze(1)?)?;
    let multinomial = (((target + EPS)? * p_pred.log()?)?.sum(1)?.neg()? / len)?;
    Ok((multinomial + (poisson * total_weight)?)?.mean_all()?)
}

/// Window geometry and input encoding of a supervised model.
#[derive(Debug, Clone)]
pub struct Geometry {
    pub seq_len: usize,
    /// Base pairs per output bin and cropped from each end before the first bin.
    pub pool_width: usize,
    pub crop_bp: usize,
    pub bins: usize,
    pub layout: InputLayout,
}

impl Geometry {
    /// The geometry of `model`'s first head, checked against the targets sheet.
    pub fn of(model: &SeqNN, targets: &Targets, species: Option<usize>) -> Result<Self> {
        let head = &model.heads()[0];
        if head.shape.ch != targets.rows.len() {
            return Err(Error::Input(format!(
                "the model predicts {} tracks, the targets sheet lists {}",
                head.shape.ch,
                targets.rows.len()
            )));
        }
        Ok(Geometry {
            seq_len: model.params.seq_length,
            pool_width: head.bin_bp,
            crop_bp: head.crop_bp,
            bins: head.shape.len,
            layout: InputLayout::new(model.in_channels, species)?,
        })
    }
}

/// How one example is augmented: reverse complement, and a shift of the sequence inside
/// its window (positive: right, zero-padded; targets stay put, as baskerville's
/// StochasticShift).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Augment {
    pub rc: bool,
    pub shift: i64,
}

/// A genome held in memory and the coverage tracks over it.
pub struct CoverageData {
    contigs: HashMap<String, Vec<u8>>,
    order: Vec<(String, u64)>,
    source: Mutex<CoverageSource>,
    pub targets: Targets,
    blacklist: Blacklist,
    /// Unmappable regions and hound_data_write's `umap_clip` (1: off).
    unmap: Blacklist,
    umap_clip: f64,
    pub geometry: Geometry,
}

impl CoverageData {
    pub fn load(
        fasta: &Path,
        targets: Targets,
        blacklist: Blacklist,
        geometry: Geometry,
    ) -> Result<Self> {
        let records = read_fasta(fasta)?;
        let order: Vec<(String, u64)> = records.iter().map(|r| (r.name.clone(), r.seq.len() as u64)).collect();
        let source = CoverageSource::open(&targets, &order)?;
        let contigs = records.into_iter().map(|r| (r.name, r.seq)).collect();
        Ok(CoverageData {
            contigs,
            order,
            source: Mutex::new(source),
            targets,
            blacklist,
            unmap: Blacklist::default(),
            umap_clip: 1.0,
            geometry,
        })
    }

    /// Unmappable regions: `unmappable_fraction` then tells which windows hound_data.py
    /// would drop, and with `umap_clip` < 1 targets in unmappable bins are clipped to that
    /// quantile of their window's track (hound_data_write.py).
    pub fn with_unmappable(mut self, unmap: Blacklist, umap_clip: f64) -> Self {
        self.unmap = unmap;
        self.umap_clip = umap_clip;
        self
    }

    fn unmappable_mask(&self, w: &Segment) -> Vec<bool> {
        let g = &self.geometry;
        let (start, end) = (w.start + g.crop_bp as u64, w.end - g.crop_bp as u64);
        unmappable_bins(start, end, g.pool_width as u64, self.unmap.get(&w.contig))
    }

    /// Fraction of a window's output bins that are unmappable.
    pub fn unmappable_fraction(&self, w: &Segment) -> f64 {
        unmappable_fraction(&self.unmappable_mask(w))
    }

    /// Refuses windows on contigs where no track has data: every target there is the
    /// baseline, and the correlations reported over them would be NaN. `what` names the
    /// windows (e.g. "test") in the error.
    pub fn check_windows_have_data(&self, windows: &[Segment], what: &str) -> Result<()> {
        let mut contigs: Vec<String> = windows.iter().map(|w| w.contig.clone()).collect();
        contigs.sort();
        contigs.dedup();
        let empty = self.source.lock().map_err(|_| Error::Other("coverage reader lock poisoned".into()))?.contigs_without_data(&contigs)?;
        if empty.is_empty() {
            return Ok(());
        }
        Err(Error::Input(format!(
            "{}: no BigWig has data on the {what} contig(s) {} ({} {what} window(s) there); metrics over them would be NaN: check the contig names of the BigWigs against the FASTA",
            self.targets.source,
            empty.join(", "),
            windows.iter().filter(|w| empty.contains(&w.contig)).count()
        )))
    }

    /// Contig names and lengths in FASTA order.
    pub fn contig_sizes(&self) -> &[(String, u64)] {
        &self.order
    }

    /// Fraction of N in a window.
    pub fn n_fraction(&self, w: &Segment) -> f64 {
        let seq = &self.contigs[&w.contig][w.start as usize..w.end as usize];
        seq.iter().filter(|b| crate::dna::base_index(**b).is_none()).count() as f64 / seq.len().max(1) as f64
    }

    /// One-hot inputs `[B, L, C]`.
    pub fn inputs(&self, windows: &[Segment], aug: &[Augment], device: &Device) -> Result<Tensor> {
        let l = self.geometry.seq_len;
        let mut out = Vec::with_capacity(windows.len() * l * self.geometry.layout.channels);
        let mut bytes = vec![b'N'; l];
        for (w, a) in windows.iter().zip(aug) {
            let seq = self.contigs.get(&w.contig).ok_or_else(|| Error::Input(format!("no contig {} in the FASTA", w.contig)))?;
            for (i, slot) in bytes.iter_mut().enumerate() {
                let j = i as i64 - a.shift;
                *slot = if (0..l as i64).contains(&j) { seq[w.start as usize + j as usize] } else { b'N' };
            }
            if a.rc {
                bytes.reverse();
                bytes.iter_mut().for_each(|b| *b = crate::dna::complement(*b));
            }
            self.geometry.layout.encode_into(&bytes, None, &mut out);
        }
        Ok(Tensor::from_vec(out, (windows.len(), l, self.geometry.layout.channels), device)?)
    }

    /// Pooled targets `[B, bins, tracks]`, reversed with strands swapped for RC examples.
    pub fn targets(&self, windows: &[Segment], aug: &[Augment], device: &Device) -> Result<Tensor> {
        let g = &self.geometry;
        let t = self.targets.rows.len();
        let mut out = Vec::with_capacity(windows.len() * g.bins * t);
        let pairs = self.targets.strand_pairs();
        let mut source = self.source.lock().expect("not poisoned");
        for (w, a) in windows.iter().zip(aug) {
            let bl = self.blacklist.get(&w.contig);
            let mut y = source.read(&w.contig, w.start, w.end, g.pool_width, g.crop_bp, bl)?;
            if y.len() != g.bins * t {
                return Err(Error::Other(format!(
                    "{}:{}-{}: {} target values, the model predicts {} bins x {t} tracks",
                    w.contig,
                    w.start,
                    w.end,
                    y.len(),
                    g.bins
                )));
            }
            if self.umap_clip < 1.0 {
                clip_unmappable(&mut y, t, &self.unmappable_mask(w), self.umap_clip);
            }
            if a.rc {
                for b in (0..g.bins).rev() {
                    out.extend(pairs.iter().map(|&p| y[b * t + p]));
                }
            } else {
                out.extend_from_slice(&y);
            }
        }
        Ok(Tensor::from_vec(out, (windows.len(), g.bins, t), device)?)
    }
}

/// Streaming Pearson correlation per track.
#[derive(Debug, Clone)]
pub struct PearsonAcc {
    n: Vec<f64>,
    sx: Vec<f64>,
    sy: Vec<f64>,
    sxx: Vec<f64>,
    syy: Vec<f64>,
    sxy: Vec<f64>,
}

impl PearsonAcc {
    pub fn new(tracks: usize) -> Self {
        let z = vec![0f64; tracks];
        PearsonAcc { n: z.clone(), sx: z.clone(), sy: z.clone(), sxx: z.clone(), syy: z.clone(), sxy: z }
    }

    /// Adds (prediction, observation) for `track`.
    pub fn add(&mut self, track: usize, x: f64, y: f64) {
        self.n[track] += 1.0;
        self.sx[track] += x;
        self.sy[track] += y;
        self.sxx[track] += x * x;
        self.syy[track] += y * y;
        self.sxy[track] += x * y;
    }

    /// Adds `[B, bins, tracks]` predictions and targets.
    pub fn add_batch(&mut self, pred: &Tensor, target: &Tensor) -> Result<()> {
        let t = pred.dim(2)?;
        let p: Vec<f32> = pred.flatten_all()?.to_vec1()?;
        let y: Vec<f32> = target.flatten_all()?.to_vec1()?;
        for (i, (a, b)) in p.iter().zip(&y).enumerate() {
            self.add(i % t, *a as f64, *b as f64);
        }
        Ok(())
    }

    pub fn pearson(&self, track: usize) -> f64 {
        let n = self.n[track];
        let cov = self.sxy[track] - self.sx[track] * self.sy[track] / n;
        let vx = self.sxx[track] - self.sx[track] * self.sx[track] / n;
        let vy = self.syy[track] - self.sy[track] * self.sy[track] / n;
        cov / (vx * vy).sqrt()
    }

    /// Coefficient of determination of the predictions: 1 − SS_res / SS_tot.
    pub fn r2(&self, track: usize) -> f64 {
        let n = self.n[track];
        let ss_res = self.syy[track] - 2.0 * self.sxy[track] + self.sxx[track];
        let ss_tot = self.syy[track] - self.sy[track] * self.sy[track] / n;
        1.0 - ss_res / ss_tot
    }

    pub fn tracks(&self) -> usize {
        self.n.len()
    }

    /// Mean Pearson R over the tracks where it is defined.
    pub fn mean_pearson(&self) -> f64 {
        let r: Vec<f64> = (0..self.tracks()).map(|t| self.pearson(t)).filter(|r| r.is_finite()).collect();
        if r.is_empty() {
            f64::NAN
        } else {
            r.iter().sum::<f64>() / r.len() as f64
        }
    }
}

pub struct CoverageTask {
    pub data: CoverageData,
    pub train: Vec<Segment>,
    valid: Vec<Segment>,
    pub augment_rc: bool,
    /// Shifts drawn uniformly for each training example ([0]: none).
    pub shifts: Vec<i64>,
    pub total_weight: f64,
}

/// baskerville's `augment_shift`: one number s means every shift in -s..=s, a list means
/// those shifts.
pub fn shift_choices(augment_shift: &[i64]) -> Vec<i64> {
    match augment_shift {
        [] => vec![0],
        [s] => (-s.abs()..=s.abs()).collect(),
        list => list.to_vec(),
    }
}

impl CoverageTask {
    /// `valid_windows` caps the validation sample (evenly spaced over the fold).
    pub fn new(data: CoverageData, train: Vec<Segment>, valid: Vec<Segment>, valid_windows: usize) -> Result<Self> {
        if train.is_empty() {
            return Err(Error::Input("no training windows: every segment is held out, too short or too full of N".into()));
        }
        let valid = if valid.len() <= valid_windows {
            valid
        } else {
            (0..valid_windows).map(|i| valid[i * valid.len() / valid_windows].clone()).collect()
        };
        Ok(CoverageTask { data, train, valid, augment_rc: false, shifts: vec![0], total_weight: 1.0 })
    }

    /// Loss and mean per-track Pearson R of `model` on `windows` (no augmentation).
    pub fn evaluate(&self, model: &SeqNN, windows: &[Segment], batch_size: usize, device: &Device) -> Result<(f64, f64)> {
        let mut acc = PearsonAcc::new(self.data.targets.rows.len());
        let (mut loss, mut n) = (0f64, 0usize);
        for chunk in windows.chunks(batch_size.max(1)) {
            let aug = vec![Augment::default(); chunk.len()];
            let x = self.data.inputs(chunk, &aug, device)?;
            let y = self.data.targets(chunk, &aug, device)?;
            let pred = model.forward(&x)?;
            loss += poisson_multinomial(&pred, &y, self.total_weight)?.to_scalar::<f32>()? as f64 * chunk.len() as f64;
            n += chunk.len();
            acc.add_batch(&pred, &y)?;
        }
        Ok((loss / n.max(1) as f64, acc.mean_pearson()))
    }
}

impl Task for CoverageTask {
    fn channels(&self) -> usize {
        self.data.geometry.layout.channels
    }

    fn check_model(&self, _params: &Params, model: &SeqNN) -> Result<()> {
        let g = Geometry::of(model, &self.data.targets, self.data.geometry.layout.species)?;
        if g.bins != self.data.geometry.bins || g.pool_width != self.data.geometry.pool_width {
            return Err(Error::Input("the model's output geometry changed".into()));
        }
        Ok(())
    }

    fn train_loss(&self, model: &SeqNN, batch_size: usize, rng: &mut Rng, device: &Device) -> Result<Option<Tensor>> {
        let mut windows = Vec::with_capacity(batch_size);
        let mut aug = Vec::with_capacity(batch_size);
        for _ in 0..batch_size {
            windows.push(self.train[rng.below(self.train.len())].clone());
            let rc = self.augment_rc && rng.uniform() < 0.5;
            let shift = if self.shifts.len() > 1 { self.shifts[rng.below(self.shifts.len())] } else { self.shifts[0] };
            aug.push(Augment { rc, shift });
        }
        let x = self.data.inputs(&windows, &aug, device)?;
        let y = self.data.targets(&windows, &aug, device)?;
        Ok(Some(poisson_multinomial(&model.forward(&x)?, &y, self.total_weight)?))
    }

    fn validate(&self, model: &SeqNN, batch_size: usize, _seed: u64, device: &Device) -> Result<Vec<f64>> {
        if self.valid.is_empty() {
            return Ok(vec![f64::NAN, f64::NAN]);
        }
        let (loss, r) = self.evaluate(model, &self.valid, batch_size, device)?;
        Ok(vec![loss, r])
    }

    fn metric_names(&self) -> &'static [&'static str] {
        &["valid_loss", "valid_pearson_r"]
    }

    fn throughput_unit(&self) -> (f64, &'static str) {
        (1.0, "sequences")
    }

    fn loss_label(&self) -> &'static str {
        "poisson_mn loss"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_multinomial_matches_the_formula() {
        // Two sequences, three bins, two tracks, computed term by term in f64.
        let pred = [[[1.0, 0.5], [2.0, 0.1], [0.3, 4.0]], [[0.2, 0.2], [0.9, 1.5], [3.0, 0.7]]];
        let obs = [[[0.0, 1.0], [3.0, 0.0], [1.0, 2.0]], [[0.5, 0.0], [0.0, 2.0], [4.0, 1.0]]];
        let tw = 0.2;
        let eps = 1e-7;
        let mut total = 0.0;
        for b in 0..2 {
            for t in 0..2 {
                let sp: f64 = (0..3).map(|l| pred[b][l][t]).sum();
                let so: f64 = (0..3).map(|l| obs[b][l][t]).sum();
                let pois = (sp - so * (sp + eps).ln()) / 3.0;
                let mn: f64 = -(0..3).map(|l| (obs[b][l][t] + eps) * ((pred[b][l][t] + eps) / sp).ln()).sum::<f64>() / 3.0;
                total += mn + tw * pois;
            }
        }
        let flat = |a: &[[[f64; 2]; 3]; 2]| a.iter().flatten().flatten().map(|v| *v as f32).collect::<Vec<f32>>();
        let p = Tensor::from_vec(flat(&pred), (2, 3, 2), &Device::Cpu).unwrap();
        let o = Tensor::from_vec(flat(&obs), (2, 3, 2), &Device::Cpu).unwrap();
        let got = poisson_multinomial(&p, &o, tw).unwrap().to_scalar::<f32>().unwrap() as f64;
        assert!((got - total / 4.0).abs() < 1e-5, "{got} vs {}", total / 4.0);
    }

    #[test]
    fn pearson_and_r2() {
        let mut acc = PearsonAcc::new(1);
        for (x, y) in [(1.0, 2.0), (2.0, 4.1), (3.0, 5.9), (4.0, 8.0)] {
            acc.add(0, x, y);
        }
        // numpy: corrcoef 0.9995412, 1 - SS_res/SS_tot -0.5198777 (half-scale predictions).
        assert!((acc.pearson(0) - 0.9995412).abs() < 1e-6, "{}", acc.pearson(0));
        assert!((acc.r2(0) + 0.5198777).abs() < 1e-6, "{}", acc.r2(0));
        let mut same = PearsonAcc::new(1);
        for v in [1.0, 3.0, 2.0] {
            same.add(0, v, v);
        }
        assert!((same.r2(0) - 1.0).abs() < 1e-12);
    }
}
