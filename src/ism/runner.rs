//! ISM over an ensemble: fold models x sequence shifts x (forward, reverse complement),
//! as the scorer does. A pass is one model at one shift, the forward and reverse-complement
//! predictions averaged; statistics are computed per pass and averaged.

use crate::ensemble::{reverse_complement, shift_sequence, unreverse_output};
use crate::error::{Error, Result};
use crate::model::SeqNN;
use crate::formats::targets::Targets;

use super::fast::{FastIsm, Mutant, Reference};
use candle_core::Tensor;

/// Which tracks an ISM run computes, and how.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// Tracks whose predictions are handed out, in this order.
    pub tracks: Vec<usize>,
    pub shifts: Vec<i64>,
    pub rc: bool,
    /// Each track's strand partner (the whole sheet), for reverse-complement passes.
    pub strand_pair: Option<Vec<usize>>,
    /// Recompute only what a change can reach (false: whole model per mutant).
    pub fast: bool,
}

/// Predictions for one allele: `passes x bins x tracks`, row-major.
pub type PassPreds = Vec<f32>;

pub struct Runner<'a> {
    engines: Vec<FastIsm<'a>>,
    spec: RunSpec,
    /// Tracks computed: the handed-out ones plus their strand partners.
    computed: Vec<usize>,
    /// Strand partner of each computed track, as an index into `computed`.
    pair_local: Option<Vec<usize>>,
    /// For each handed-out track, its index in `computed`.
    out_idx: Vec<usize>,
    seq_len: usize,
    channels: usize,
    bins: usize,
}

impl<'a> Runner<'a> {
    pub fn new(models: &'a [SeqNN], spec: RunSpec) -> Result<Self> {
        let first = models.first().ok_or_else(|| Error::Input("ISM needs at least one model".into()))?;
        let head = &first.heads()[0];
        let ntracks = head.shape.ch;
        if spec.tracks.is_empty() {
            return Err(Error::Input("ISM needs at least one track".into()));
        }
        if let Some(&t) = spec.tracks.iter().find(|&&t| t >= ntracks) {
            return Err(Error::Input(format!("track {t} is outside the model's {ntracks} tracks")));
        }
        if spec.shifts.is_empty() {
            return Err(Error::Input("--shifts: give at least one shift (0 for none)".into()));
        }
        let mut computed: Vec<usize> = spec.tracks.clone();
        if spec.rc {
            if let Some(pairs) = &spec.strand_pair {
                computed.extend(spec.tracks.iter().map(|&t| pairs[t]));
            }
        }
        computed.sort_unstable();
        computed.dedup();
        let pos = |t: usize| computed.binary_search(&t).expect("computed holds it");
        let pair_local = match (&spec.strand_pair, spec.rc) {
            (Some(pairs), true) => Some(computed.iter().map(|&t| pos(pairs[t])).collect()),
            _ => None,
        };
        let out_idx = spec.tracks.iter().map(|&t| pos(t)).collect();
        let all = computed.len() == ntracks;
        let engines = models
            .iter()
            .map(|m| FastIsm::new(m, if all { None } else { Some(&computed) }))
            .collect::<Result<Vec<_>>>()?;
        Ok(Runner {
            engines,
            computed,
            pair_local,
            out_idx,
            seq_len: first.params.seq_length,
            channels: first.in_channels,
            bins: head.shape.len,
            spec,
        })
    }

    /// The encoding as one pass sees it: shifted, then reverse-complemented when asked
    /// (the ensemble's own transforms).
    fn view_input(&self, input: &[f32], shift: i64, rc: bool) -> Result<Vec<f32>> {
        let x = Tensor::from_vec(input.to_vec(), (1, self.seq_len, self.channels), &candle_core::Device::Cpu)?;
        let mut x = shift_sequence(&x, shift)?;
        if rc {
            x = reverse_complement(&x)?;
        }
        Ok(x.flatten_all()?.to_vec1()?)
    }

    pub fn passes(&self) -> usize {
        self.engines.len() * self.spec.shifts.len()
    }

    pub fn bins(&self) -> usize {
        self.bins
    }

    pub fn tracks(&self) -> &[usize] {
        &self.spec.tracks
    }

    /// Input base pairs each mutant's local tower recomputes.
    pub fn crop_len(&self) -> usize {
        self.engines[0].crop_len()
    }

    /// The reference window's cached activations for every pass and orientation.
    pub fn prepare(&self, input: &[f32]) -> Result<Window> {
        let mut views = Vec::new();
        for engine in &self.engines {
            for &shift in &self.spec.shifts {
                let mut orient = Vec::new();
                for rc in [false, true] {
                    if rc && !self.spec.rc {
                        continue;
                    }
                    let reference = engine.reference(&self.view_input(input, shift, rc)?)?;
                    let pred = engine.predict_reference(&reference)?;
                    orient.push((rc, reference, pred));
                }
                views.push((shift, orient));
            }
        }
        let reference = self.collect(&views.iter().map(|(_, o)| o.iter().map(|(rc, _, p)| (*rc, p.clone())).collect()).collect::<Vec<Vec<_>>>(), 1)?;
        Ok(Window { views, reference: reference.into_iter().next().expect("one row") })
    }

    /// Averages orientations within each pass and keeps the handed-out tracks:
    /// `rows` predictions of `passes x bins x tracks` each.
    fn collect(&self, per_pass: &[Vec<(bool, Tensor)>], rows: usize) -> Result<Vec<PassPreds>> {
        let nt = self.spec.tracks.len();
        let mut out = vec![Vec::with_capacity(self.passes() * self.bins * nt); rows];
        for orient in per_pass {
            let mut sum: Option<Tensor> = None;
            for (rc, y) in orient {
                let y = if *rc { unreverse_output(y, self.pair_local.as_deref())? } else { y.clone() };
                sum = Some(match sum {
                    None => y,
                    Some(s) => (s + y)?,
                });
            }
            let mean = (sum.expect("an orientation") / orient.len() as f64)?;
            let data: Vec<Vec<Vec<f32>>> = mean.to_vec3()?;
            for (row, pred) in out.iter_mut().zip(data) {
                for bin in pred {
                    row.extend(self.out_idx.iter().map(|&i| bin[i]));
                }
            }
        }
        Ok(out)
    }

    /// Predictions for `mutants` of a prepared window, one `passes x bins x tracks` row each.
    pub fn predict(&self, window: &Window, mutants: &[Mutant]) -> Result<Vec<PassPreds>> {
        let mut per_pass = Vec::with_capacity(window.views.len());
        let shifts = self.spec.shifts.len();
        for (vi, (shift, orient)) in window.views.iter().enumerate() {
            let engine = &self.engines[vi / shifts];
            let mut preds = Vec::with_capacity(orient.len());
            for (rc, reference, ref_pred) in orient {
                // Map each mutant into this view; one shifted out of the window leaves the
                // reference unchanged.
                let mut inside = Vec::new();
                let mut rows = Vec::with_capacity(mutants.len());
                for m in mutants {
                    let p = m.pos as i64 + shift;
                    if p < 0 || p >= self.seq_len as i64 {
                        rows.push(None);
                        continue;
                    }
                    let (pos, base) = if *rc { (self.seq_len - 1 - p as usize, 3 - m.base) } else { (p as usize, m.base) };
                    rows.push(Some(inside.len()));
                    inside.push(Mutant { pos, base });
                }
                let y = if inside.is_empty() {
                    None
                } else if self.spec.fast {
                    Some(engine.predict(reference, &inside)?)
                } else {
                    Some(engine.predict_brute(reference, &inside)?)
                };
                let parts = rows
                    .iter()
                    .map(|r| match (r, &y) {
                        (Some(i), Some(y)) => y.narrow(0, *i, 1),
                        _ => Ok(ref_pred.clone()),
                    })
                    .collect::<candle_core::Result<Vec<_>>>()?;
                preds.push((*rc, Tensor::cat(&parts, 0)?));
            }
            per_pass.push(preds);
        }
        self.collect(&per_pass, mutants.len())
    }

    /// Untransforms predictions in place with the sheet (baskerville's untransform).
    pub fn untransform(&self, targets: &Targets, preds: &mut [f32]) {
        targets.untransform_rows(&self.spec.tracks, preds);
    }

    /// The tracks actually computed per pass (the handed-out ones and their strand partners).
    pub fn computed_tracks(&self) -> &[usize] {
        &self.computed
    }
}

/// A reference window prepared for mutants: cached activations per pass and orientation.
pub struct Window {
    views: Vec<(i64, Vec<(bool, Reference, Tensor)>)>,
    /// The reference prediction, `passes x bins x tracks`.
    pub reference: PassPreds,
}
