//! Probe metrics over (truth, prediction) pairs and percentile bootstrap intervals for
//! them. Degenerate inputs (a constant vector for a correlation, one class for AUROC) are
//! errors rather than NaN so that a report never carries a silent NaN; the bootstrap
//! skips resamples that hit them.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sim::rng::Rng;

/// The metrics a probe report can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Metric {
    R2,
    Pearson,
    Spearman,
    Auroc,
    Auprc,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::R2 => "r2",
            Metric::Pearson => "pearson",
            Metric::Spearman => "spearman",
            Metric::Auroc => "auroc",
            Metric::Auprc => "auprc",
        }
    }

    pub fn compute(self, y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
        match self {
            Metric::R2 => r2(y_true, y_pred),
            Metric::Pearson => pearson(y_true, y_pred),
            Metric::Spearman => spearman(y_true, y_pred),
            Metric::Auroc => auroc(y_true, y_pred),
            Metric::Auprc => auprc(y_true, y_pred),
        }
    }
}

fn check_pair(what: &str, a: &[f64], b: &[f64]) -> Result<()> {
    if a.len() != b.len() {
        return Err(Error::Input(format!(
            "{what}: {} truths but {} predictions",
            a.len(),
            b.len()
        )));
    }
    if a.is_empty() {
        return Err(Error::Input(format!("{what}: no values")));
    }
    for (name, v) in [("truth", a), ("prediction", b)] {
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::Input(format!("{what}: {name} {i} is {}", v[i])));
        }
    }
    Ok(())
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

pub fn pearson(a: &[f64], b: &[f64]) -> Result<f64> {
    check_pair("pearson", a, b)?;
    let (ma, mb) = (mean(a), mean(b));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa <= 0.0 || sbb <= 0.0 {
        return Err(Error::Input("pearson: a vector is constant, correlation undefined".into()));
    }
    Ok((sab / (saa * sbb).sqrt()).clamp(-1.0, 1.0))
}

/// Ranks from 1, ties sharing the average of the ranks they span.
pub fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Pearson correlation of average ranks.
pub fn spearman(a: &[f64], b: &[f64]) -> Result<f64> {
    check_pair("spearman", a, b)?;
    pearson(&ranks(a), &ranks(b)).map_err(|_| Error::Input("spearman: a vector is constant, correlation undefined".into()))
}

/// Coefficient of determination `1 − SS_res / SS_tot` (negative when the predictions are
/// worse than the truth's mean).
pub fn r2(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    check_pair("r2", y_true, y_pred)?;
    let m = mean(y_true);
    let ss_tot: f64 = y_true.iter().map(|y| (y - m) * (y - m)).sum();
    if ss_tot <= 0.0 {
        return Err(Error::Input("r2: truth is constant, R² undefined".into()));
    }
    let ss_res: f64 = y_true.iter().zip(y_pred).map(|(y, p)| (y - p) * (y - p)).sum();
    Ok(1.0 - ss_res / ss_tot)
}

/// Positives and negatives of 0/1 labels; anything else is an error.
pub(crate) fn class_counts(what: &str, y: &[f64]) -> Result<(usize, usize)> {
    let mut pos = 0;
    for (i, &v) in y.iter().enumerate() {
        if v == 1.0 {
            pos += 1;
        } else if v != 0.0 {
            return Err(Error::Input(format!("{what}: label {i} is {v}, expected 0 or 1")));
        }
    }
    let neg = y.len() - pos;
    if pos == 0 || neg == 0 {
        return Err(Error::Input(format!(
            "{what}: labels are all {}, both classes are needed",
            if pos == 0 { 0 } else { 1 }
        )));
    }
    Ok((pos, neg))
}

/// Area under the ROC curve as the Mann–Whitney U statistic over average ranks, so a tie
/// between a positive and a negative counts one half.
pub fn auroc(y_true: &[f64], score: &[f64]) -> Result<f64> {
    check_pair("auroc", y_true, score)?;
    let (pos, neg) = class_counts("auroc", y_true)?;
    let r = ranks(score);
    let rank_sum: f64 = r.iter().zip(y_true).filter(|(_, y)| **y == 1.0).map(|(r, _)| r).sum();
    let u = rank_sum - (pos * (pos + 1)) as f64 / 2.0;
    Ok(u / (pos as f64 * neg as f64))
}

/// The ROC curve as (false positive rate, true positive rate) points from (0, 0), one per
/// distinct score threshold from the highest down (tied scores enter together).
pub fn roc_curve(y_true: &[f64], score: &[f64]) -> Result<Vec<(f64, f64)>> {
    check_pair("roc", y_true, score)?;
    let (pos, neg) = class_counts("roc", y_true)?;
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut out = vec![(0.0, 0.0)];
    for (k, &i) in order.iter().enumerate() {
        if y_true[i] == 1.0 {
            tp += 1;
        } else {
            fp += 1;
        }
        if order.get(k + 1).is_none_or(|&next| score[next] != score[i]) {
            out.push((fp as f64 / neg as f64, tp as f64 / pos as f64));
        }
    }
    Ok(out)
}

/// Average precision, `Σ (R_k − R_{k−1}) P_k` over distinct score thresholds from the
/// highest down (tied scores enter together), as scikit-learn's `average_precision_score`;
/// unlike trapezoidal PR-AUC it does not interpolate optimistically.
pub fn auprc(y_true: &[f64], score: &[f64]) -> Result<f64> {
    check_pair("auprc", y_true, score)?;
    let (pos, _) = class_counts("auprc", y_true)?;
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&i, &j| score[j].total_cmp(&score[i]));
    let (mut tp, mut fp, mut prev_recall, mut ap) = (0usize, 0usize, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let s = score[order[i]];
        while i < order.len() && score[order[i]] == s {
            if y_true[order[i]] == 1.0 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let recall = tp as f64 / pos as f64;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
    }
    Ok(ap)
}

/// A point estimate with a percentile bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub estimate: f64,
    pub lo: f64,
    pub hi: f64,
    pub level: f64,
    /// Resamples that gave a value (those with e.g. a single class are skipped).
    pub resamples: usize,
}

impl Interval {
    pub fn contains(&self, v: f64) -> bool {
        self.lo <= v && v <= self.hi
    }

    pub fn width(&self) -> f64 {
        self.hi - self.lo
    }
}

/// Linear-interpolated quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn check_bootstrap(resamples: usize, level: f64) -> Result<()> {
    if resamples < 2 {
        return Err(Error::Input(format!("bootstrap: need at least 2 resamples, got {resamples}")));
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(Error::Input(format!("bootstrap: level must be in (0, 1), got {level}")));
    }
    Ok(())
}

/// Draws `resamples` index sets (each resample has its own stream, so the result does not
/// depend on the thread count) and evaluates `stat` on each; failures are dropped.
fn resample<F>(n: usize, resamples: usize, seed: u64, stat: F) -> Vec<f64>
where
    F: Fn(&[usize]) -> Result<f64> + Sync,
{
    let mut vals: Vec<f64> = (0..resamples as u64)
        .into_par_iter()
        .filter_map(|b| {
            let mut rng = Rng::stream(seed, "probe-bootstrap", b);
            let idx: Vec<usize> = (0..n).map(|_| rng.below(n as u64) as usize).collect();
            stat(&idx).ok().filter(|v| v.is_finite())
        })
        .collect();
    vals.sort_by(f64::total_cmp);
    vals
}

fn interval(estimate: f64, vals: Vec<f64>, resamples: usize, level: f64) -> Result<Interval> {
    if vals.len() * 2 < resamples {
        return Err(Error::Input(format!(
            "bootstrap: only {} of {resamples} resamples gave a value (too few samples or one class)",
            vals.len()
        )));
    }
    let tail = (1.0 - level) / 2.0;
    Ok(Interval {
        estimate,
        lo: quantile(&vals, tail),
        hi: quantile(&vals, 1.0 - tail),
        level,
        resamples: vals.len(),
    })
}

/// The elements of `v` at `idx`, in that order (a resample, or one fold's samples).
pub(super) fn pick<T: Copy>(v: &[T], idx: &[usize]) -> Vec<T> {
    idx.iter().map(|&i| v[i]).collect()
}

/// Percentile bootstrap over (truth, prediction) pairs for any metric.
pub fn bootstrap_ci<F>(
    y_true: &[f64],
    y_pred: &[f64],
    metric: F,
    resamples: usize,
    level: f64,
    seed: u64,
) -> Result<Interval>
where
    F: Fn(&[f64], &[f64]) -> Result<f64> + Sync,
{
    check_bootstrap(resamples, level)?;
    let estimate = metric(y_true, y_pred)?;
    let vals = resample(y_true.len(), resamples, seed, |idx| {
        let t = pick(y_true, idx);
        let p = pick(y_pred, idx);
        metric(&t, &p)
    });
    interval(estimate, vals, resamples, level)
}

/// Paired bootstrap of `metric(truth, a) − metric(truth, b)`: both prediction sets are
/// resampled with the same indices, so the interval reflects only how the two differ on
/// the same samples.
pub fn bootstrap_diff_ci<F>(
    y_true: &[f64],
    pred_a: &[f64],
    pred_b: &[f64],
    metric: F,
    resamples: usize,
    level: f64,
    seed: u64,
) -> Result<Interval>
where
    F: Fn(&[f64], &[f64]) -> Result<f64> + Sync,
{
    check_bootstrap(resamples, level)?;
    check_pair("bootstrap difference", pred_a, pred_b)?;
    let estimate = metric(y_true, pred_a)? - metric(y_true, pred_b)?;
    let vals = resample(y_true.len(), resamples, seed, |idx| {
        let t = pick(y_true, idx);
        let a = pick(pred_a, idx);
        let b = pick(pred_b, idx);
        Ok(metric(&t, &a)? - metric(&t, &b)?)
    });
    interval(estimate, vals, resamples, level)
}

/// Unpaired bootstrap of `metric(truth_a, a) − metric(truth_b, b)` for two different
/// test sets: each is resampled on its own, so the interval carries both sets' noise.
pub fn bootstrap_unpaired_diff_ci<F>(
    (truth_a, pred_a): (&[f64], &[f64]),
    (truth_b, pred_b): (&[f64], &[f64]),
    metric: F,
    resamples: usize,
    level: f64,
    seed: u64,
) -> Result<Interval>
where
    F: Fn(&[f64], &[f64]) -> Result<f64> + Sync,
{
    check_bootstrap(resamples, level)?;
    check_pair("bootstrap difference (first set)", truth_a, pred_a)?;
    check_pair("bootstrap difference (second set)", truth_b, pred_b)?;
    let estimate = metric(truth_a, pred_a)? - metric(truth_b, pred_b)?;
    let (na, nb) = (truth_a.len(), truth_b.len());
    let mut vals: Vec<f64> = (0..resamples as u64)
        .into_par_iter()
        .filter_map(|r| {
            let mut rng = Rng::stream(seed, "probe-bootstrap-unpaired", r);
            let ia: Vec<usize> = (0..na).map(|_| rng.below(na as u64) as usize).collect();
            let ib: Vec<usize> = (0..nb).map(|_| rng.below(nb as u64) as usize).collect();
            let a = metric(&pick(truth_a, &ia), &pick(pred_a, &ia)).ok()?;
            let b = metric(&pick(truth_b, &ib), &pick(pred_b, &ib)).ok()?;
            Some(a - b).filter(|v| v.is_finite())
        })
        .collect();
    vals.sort_by(f64::total_cmp);
    interval(estimate, vals, resamples, level)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[10.0, 20.0, 20.0, 5.0, 20.0]), vec![2.0, 4.0, 4.0, 1.0, 4.0]);
    }

    #[test]
    fn correlations_and_r2_match_hand_values() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [2.0, 4.0, 5.0, 9.0];
        // mean b = 5; deviations a: -1.5 -.5 .5 1.5, b: -3 -1 0 4; sab = 4.5+.5+0+6 = 11,
        // saa = 5, sbb = 26.
        assert!(close(pearson(&a, &b).unwrap(), 11.0 / (5.0f64 * 26.0).sqrt()));
        // Spearman with ties: x = [1,2,2,3] -> ranks [1,2.5,2.5,4]; y = [1,3,2,4] ranks
        // as is. Deviations x: -1.5 0 0 1.5, y: -1.5 .5 -.5 1.5 -> sxy = 4.5, sxx = 4.5,
        // syy = 5.
        let s = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]).unwrap();
        assert!(close(s, 4.5 / (4.5f64 * 5.0).sqrt()), "{s}");
        // R²: ss_tot = 5, ss_res = 0.25 * 4 = 1.
        let r = r2(&a, &[1.5, 1.5, 3.5, 4.5]).unwrap();
        assert!(close(r, 1.0 - 1.0 / 5.0), "{r}");
        assert!(r2(&a, &[10.0; 4]).unwrap() < 0.0);
    }

    #[test]
    fn auroc_counts_ties_as_half() {
        // pos scores {0.8, 0.5}, neg {0.5, 0.2}: pairs (0.8>0.5)=1, (0.8>0.2)=1,
        // (0.5=0.5)=0.5, (0.5>0.2)=1 -> 3.5/4.
        let a = auroc(&[1.0, 1.0, 0.0, 0.0], &[0.8, 0.5, 0.5, 0.2]).unwrap();
        assert!(close(a, 0.875), "{a}");
        assert!(close(auroc(&[1.0, 0.0], &[0.0, 1.0]).unwrap(), 0.0));
        assert!(close(auroc(&[1.0, 0.0, 1.0], &[3.0, 3.0, 3.0]).unwrap(), 0.5));
    }

    #[test]
    fn roc_curve_steps_once_per_distinct_score() {
        let roc = roc_curve(&[1.0, 0.0, 1.0], &[0.9, 0.8, 0.1]).unwrap();
        assert_eq!(roc, vec![(0.0, 0.0), (0.0, 0.5), (1.0, 0.5), (1.0, 1.0)]);
        // A tie between a positive and a negative is one diagonal step.
        let tied = roc_curve(&[1.0, 0.0, 1.0, 0.0], &[0.8, 0.5, 0.5, 0.2]).unwrap();
        assert_eq!(tied, vec![(0.0, 0.0), (0.0, 0.5), (0.5, 1.0), (1.0, 1.0)]);
        assert!(roc_curve(&[1.0, 1.0], &[0.3, 0.2]).is_err());
    }

    #[test]
    fn auprc_matches_average_precision() {
        // scikit-learn's documented example: 0.8333...
        let ap = auprc(&[0.0, 0.0, 1.0, 1.0], &[0.1, 0.4, 0.35, 0.8]).unwrap();
        assert!(close(ap, 5.0 / 6.0), "{ap}");
        // A tie across classes enters as one threshold: scores [0.9 (1), 0.5 (1), 0.5 (0),
        // 0.1 (0)] -> thresholds 0.9: R=.5 P=1; 0.5: R=1 P=2/3 -> .5 + .5*2/3.
        let ap = auprc(&[1.0, 1.0, 0.0, 0.0], &[0.9, 0.5, 0.5, 0.1]).unwrap();
        assert!(close(ap, 0.5 + 1.0 / 3.0), "{ap}");
    }

    #[test]
    fn degenerate_and_bad_inputs_are_errors() {
        let e = |r: Result<f64>| r.unwrap_err().to_string();
        assert!(e(pearson(&[1.0, 2.0], &[1.0])).contains("2 truths but 1 predictions"));
        assert!(e(r2(&[], &[])).contains("no values"));
        assert!(e(pearson(&[1.0, f64::NAN], &[1.0, 2.0])).contains("truth 1 is NaN"));
        assert!(e(pearson(&[1.0, 1.0], &[1.0, 2.0])).contains("constant"));
        assert!(e(auroc(&[1.0, 1.0], &[0.2, 0.3])).contains("both classes"));
        assert!(e(auprc(&[1.0, 2.0], &[0.2, 0.3])).contains("label 1 is 2"));
    }

    #[test]
    fn bootstrap_contains_estimate_and_narrows_with_more_data() {
        let mut rng = Rng::stream(3, "test", 0);
        let mut make = |n: usize| {
            let t: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            let p: Vec<f64> = t.iter().map(|v| v + rng.normal()).collect();
            (t, p)
        };
        let (t1, p1) = make(100);
        let (t2, p2) = make(1600);
        let small = bootstrap_ci(&t1, &p1, pearson, 300, 0.95, 1).unwrap();
        let large = bootstrap_ci(&t2, &p2, pearson, 300, 0.95, 1).unwrap();
        assert!(small.contains(small.estimate) && large.contains(large.estimate));
        assert!(large.width() < 0.5 * small.width(), "{small:?} {large:?}");
        // Same seed, same interval.
        assert_eq!(small, bootstrap_ci(&t1, &p1, pearson, 300, 0.95, 1).unwrap());
        // A paired difference of a prediction with itself is exactly zero.
        let d = bootstrap_diff_ci(&t1, &p1, &p1, r2, 100, 0.9, 2).unwrap();
        assert_eq!((d.estimate, d.lo, d.hi), (0.0, 0.0, 0.0));
        assert!(bootstrap_ci(&t1, &p1, pearson, 1, 0.95, 1).is_err());
    }
}
