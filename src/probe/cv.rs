//! Nested cross-validation. Outer folds give every sample one out-of-fold prediction; in
//! each outer training set an inner K-fold (same strategy, so homologues are kept together
//! there too) scores every penalty of the grid on its pooled inner out-of-fold
//! predictions, the best is refitted on the whole outer training set, and only then is the
//! outer test fold predicted. Pooling the inner predictions (rather than averaging per-fold
//! scores) keeps AUROC defined when an inner fold happens to hold a single class.

use rayon::prelude::*;
use serde::Serialize;

use super::linalg::Matrix;
use super::logistic::LogisticProbe;
use super::metrics::{bootstrap_ci, bootstrap_diff_ci, pick, Interval, Metric};
use super::ridge::RidgeProbe;
use super::split::{stratified_group_folds, Folds};
use super::{Grouping, ProbeData, SplitStrategy, Task};
use crate::error::{Error, Result};

/// `n` penalties log-spaced from `lo` to `hi` inclusive.
pub fn log_grid(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![lo];
    }
    let (a, b) = (lo.ln(), hi.ln());
    (0..n).map(|i| (a + (b - a) * i as f64 / (n - 1) as f64).exp()).collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CvConfig {
    pub task: Task,
    pub outer_folds: usize,
    pub inner_folds: usize,
    /// Per-sample penalties to choose from (see [`super::ridge`]).
    pub alphas: Vec<f64>,
    /// Picks the penalty on the inner folds.
    pub select: Metric,
    /// Bootstrap resamples for the reported intervals.
    pub bootstrap: usize,
    pub level: f64,
    pub seed: u64,
}

impl CvConfig {
    /// 5 outer x 4 inner folds, penalties 1e-4..1e2 by half decades, 1000 resamples, 95%.
    pub fn new(task: Task) -> Self {
        CvConfig {
            task,
            outer_folds: 5,
            inner_folds: 4,
            alphas: log_grid(1e-4, 1e2, 13),
            select: task.default_select(),
            bootstrap: 1000,
            level: 0.95,
            seed: 0,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.outer_folds < 2 || self.inner_folds < 2 {
            return Err(Error::Input(format!(
                "probe: need at least 2 outer and 2 inner folds, got {} and {}",
                self.outer_folds, self.inner_folds
            )));
        }
        if self.alphas.is_empty() {
            return Err(Error::Input("probe: the penalty grid is empty".into()));
        }
        if let Some(a) = self.alphas.iter().find(|a| !(**a > 0.0 && a.is_finite())) {
            return Err(Error::Input(format!("probe: penalties must be positive and finite, got {a}")));
        }
        if !self.task.metrics().contains(&self.select) {
            return Err(Error::Input(format!(
                "probe: {} cannot select the penalty of a {:?} probe",
                self.select.name(),
                self.task
            )));
        }
        Ok(())
    }
}

/// One outer fold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoldResult {
    pub fold: usize,
    pub n_train: usize,
    pub n_test: usize,
    /// The penalty the inner folds chose.
    pub alpha: f64,
    /// Its inner cross-validated score.
    pub inner_score: f64,
    /// The selection metric on this outer test fold alone (None when undefined there,
    /// e.g. one class).
    pub test_score: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricResult {
    pub metric: Metric,
    pub value: Interval,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeReport {
    pub task: Task,
    pub strategy: SplitStrategy,
    pub n_samples: usize,
    pub n_features: usize,
    pub outer_folds: usize,
    pub inner_folds: usize,
    pub select: Metric,
    /// Groups the split kept whole (samples, contigs, or homology clusters).
    pub n_groups: usize,
    pub largest_group: usize,
    pub folds: Vec<FoldResult>,
    /// Every task metric over all out-of-fold predictions, with bootstrap intervals.
    pub metrics: Vec<MetricResult>,
    /// Logistic fits that stopped before the gradient tolerance (0 for ridge).
    pub unconverged_fits: usize,
    pub fold_of: Vec<usize>,
    /// Out-of-fold predictions (probabilities for classification).
    pub predictions: Vec<f64>,
}

impl ProbeReport {
    pub fn metric(&self, m: Metric) -> Option<&Interval> {
        self.metrics.iter().find(|r| r.metric == m).map(|r| &r.value)
    }
}

/// Fits one probe per penalty on the training rows and predicts the test rows with each;
/// also returns how many fits did not converge.
pub(super) fn fit_predict(task: Task, x: &Matrix, y: &[f64], test: &Matrix, alphas: &[f64]) -> Result<(Vec<Vec<f64>>, usize)> {
    match task {
        Task::Regression => {
            let fits = RidgeProbe::fit_path(x, y, alphas)?;
            Ok((fits.iter().map(|f| f.predict(test)).collect::<Result<_>>()?, 0))
        }
        Task::Classification => {
            let fits = LogisticProbe::fit_path(x, y, alphas)?;
            let bad = fits.iter().filter(|f| !f.converged).count();
            Ok((fits.iter().map(|f| f.predict_proba(test)).collect::<Result<_>>()?, bad))
        }
    }
}

/// A seed per outer fold for its inner split.
fn inner_seed(seed: u64, fold: usize) -> u64 {
    seed ^ (fold as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

pub(super) struct OuterResult {
    pub(super) fold: FoldResult,
    pub(super) test: Vec<usize>,
    pub(super) predictions: Vec<f64>,
    pub(super) unconverged: usize,
}

pub(super) fn run_outer(
    data: &ProbeData,
    ids: &[usize],
    classes: &[usize],
    folds: &Folds,
    f: usize,
    cfg: &CvConfig,
) -> Result<OuterResult> {
    let where_ = |e: Error| Error::Input(format!("outer fold {f}: {}", e.one_line()));
    let train = folds.train_indices(f);
    let test = folds.test_indices(f);
    let y_train = pick(data.y, &train);
    let inner = stratified_group_folds(&pick(ids, &train), &pick(classes, &train), cfg.inner_folds, inner_seed(cfg.seed, f))
        .map_err(where_)?;
    let mut inner_pred = vec![vec![0.0; train.len()]; cfg.alphas.len()];
    let mut unconverged = 0;
    for g in 0..cfg.inner_folds {
        let (tr, te) = (inner.train_indices(g), inner.test_indices(g));
        if cfg.task == Task::Classification {
            // Groups kept whole can still leave one class out of an inner training set.
            let pos = tr.iter().filter(|&&i| y_train[i] == 1.0).count();
            if pos == 0 || pos == tr.len() {
                let class = if pos == 0 { "positives" } else { "negatives" };
                return Err(Error::Input(format!(
                    "outer fold {f}, inner fold {g}: the training samples hold no {class}: the {class} sit in too few groups for {}×{} folds (give more samples or fewer --outer-folds/--inner-folds)",
                    cfg.outer_folds, cfg.inner_folds
                )));
            }
        }
        let x_tr = data.x.select_rows(&pick(&train, &tr));
        let x_te = data.x.select_rows(&pick(&train, &te));
        let (preds, bad) = fit_predict(cfg.task, &x_tr, &pick(&y_train, &tr), &x_te, &cfg.alphas)
            .map_err(|e| Error::Input(format!("outer fold {f}, inner fold {g}: {}", e.one_line())))?;
        unconverged += bad;
        for (a, p) in preds.into_iter().enumerate() {
            for (&i, v) in te.iter().zip(p) {
                inner_pred[a][i] = v;
            }
        }
    }
    // Best inner score; ties go to the stronger penalty (the simpler model).
    let mut best: Option<(usize, f64)> = None;
    for (a, p) in inner_pred.iter().enumerate() {
        let Ok(s) = cfg.select.compute(&y_train, p) else { continue };
        let better = match best {
            None => true,
            Some((b, bs)) => s > bs || (s == bs && cfg.alphas[a] > cfg.alphas[b]),
        };
        if better {
            best = Some((a, s));
        }
    }
    let (a, inner_score) = best.ok_or_else(|| {
        Error::Input(format!(
            "outer fold {f}: {} is undefined for every penalty on the inner folds",
            cfg.select.name()
        ))
    })?;
    let alpha = cfg.alphas[a];
    let (mut preds, bad) =
        fit_predict(cfg.task, &data.x.select_rows(&train), &y_train, &data.x.select_rows(&test), &[alpha])
            .map_err(where_)?;
    let predictions = preds.remove(0);
    let test_score = cfg.select.compute(&pick(data.y, &test), &predictions).ok();
    Ok(OuterResult {
        fold: FoldResult { fold: f, n_train: train.len(), n_test: test.len(), alpha, inner_score, test_score },
        test,
        predictions,
        unconverged: unconverged + bad,
    })
}

/// Refuses, before any fit, labels the nested folds cannot work with: too few of a class
/// for every innermost training set to hold both (a fold-level "labels are all 0" does not
/// say what to change), or labels so large that their squares overflow, which leaves every
/// bootstrap resample without a value.
fn check_label_counts(y: &[f64], cfg: &CvConfig) -> Result<()> {
    if cfg.task == Task::Classification {
        let pos = y.iter().filter(|v| **v == 1.0).count();
        let neg = y.len() - pos;
        let (class, n) = if pos <= neg { ("positives", pos) } else { ("negatives", neg) };
        // Stratified folds: an outer test fold takes at most ceil(n / outer) of the class,
        // and the rest must give every inner fold one.
        let enough = |n: usize| n >= cfg.outer_folds && n - n.div_ceil(cfg.outer_folds) >= cfg.inner_folds;
        let need = (1..).find(|&m| enough(m)).expect("a large enough count exists");
        if n < need {
            return Err(Error::Input(format!(
                "probe: too few {class} for {}×{} folds: {n} {class}, need ≥ {need} (give more samples or fewer --outer-folds/--inner-folds)",
                cfg.outer_folds, cfg.inner_folds
            )));
        }
    }
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let ss: f64 = y.iter().map(|v| (v - mean) * (v - mean)).sum();
    if !mean.is_finite() || !ss.is_finite() {
        let largest = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        return Err(Error::Input(format!(
            "probe: the labels overflow: the largest |label| is {largest:e} and their sums of squares exceed the float range; rescale them (e.g. log or z-score)"
        )));
    }
    Ok(())
}

/// Nested cross-validation of the task's probe under one split strategy.
pub fn nested_cv(data: &ProbeData, strategy: &SplitStrategy, cfg: &CvConfig) -> Result<ProbeReport> {
    cfg.validate()?;
    data.validate(cfg.task)?;
    check_label_counts(data.y, cfg)?;
    let grouping = Grouping::new(strategy, data)?;
    // Classification folds are stratified by label; regression folds by nothing.
    let classes: Vec<usize> = match cfg.task {
        Task::Classification => data.y.iter().map(|&v| v as usize).collect(),
        Task::Regression => vec![0; data.y.len()],
    };
    let folds = stratified_group_folds(&grouping.ids, &classes, cfg.outer_folds, cfg.seed)?;
    let outer: Vec<OuterResult> = (0..cfg.outer_folds)
        .into_par_iter()
        .map(|f| run_outer(data, &grouping.ids, &classes, &folds, f, cfg))
        .collect::<Result<_>>()?;
    let mut predictions = vec![0.0; data.y.len()];
    for o in &outer {
        for (&i, &p) in o.test.iter().zip(&o.predictions) {
            predictions[i] = p;
        }
    }
    let metrics = cfg
        .task
        .metrics()
        .iter()
        .map(|&m| {
            let value = bootstrap_ci(data.y, &predictions, |t, p| m.compute(t, p), cfg.bootstrap, cfg.level, cfg.seed)?;
            Ok(MetricResult { metric: m, value })
        })
        .collect::<Result<_>>()?;
    Ok(ProbeReport {
        task: cfg.task,
        strategy: strategy.clone(),
        n_samples: data.y.len(),
        n_features: data.x.cols(),
        outer_folds: cfg.outer_folds,
        inner_folds: cfg.inner_folds,
        select: cfg.select,
        n_groups: folds.n_groups,
        largest_group: folds.largest_group,
        unconverged_fits: outer.iter().map(|o| o.unconverged).sum(),
        folds: outer.into_iter().map(|o| o.fold).collect(),
        metrics,
        fold_of: folds.fold_of,
        predictions,
    })
}

/// `baseline − other` for one metric, with a paired bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitDifference {
    pub baseline: String,
    pub other: String,
    pub metric: Metric,
    pub difference: Interval,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitComparison {
    pub reports: Vec<ProbeReport>,
    pub differences: Vec<SplitDifference>,
}

/// Runs the same probe under each strategy and reports, for every task metric, the first
/// strategy's score minus each other's (e.g. random minus homology-aware: how much a
/// naive split flatters the probe). Both runs predict every sample once, so the
/// difference is bootstrapped over paired samples.
pub fn compare_splits(data: &ProbeData, strategies: &[SplitStrategy], cfg: &CvConfig) -> Result<SplitComparison> {
    if strategies.len() < 2 {
        return Err(Error::Input(format!(
            "probe: comparing splits needs at least 2 strategies, got {}",
            strategies.len()
        )));
    }
    let reports: Vec<ProbeReport> = strategies.iter().map(|s| nested_cv(data, s, cfg)).collect::<Result<_>>()?;
    let base = &reports[0];
    let mut differences = Vec::new();
    for other in &reports[1..] {
        for &m in cfg.task.metrics() {
            let difference = bootstrap_diff_ci(
                data.y,
                &base.predictions,
                &other.predictions,
                |t, p| m.compute(t, p),
                cfg.bootstrap,
                cfg.level,
                cfg.seed,
            )?;
            differences.push(SplitDifference {
                baseline: base.strategy.to_string(),
                other: other.strategy.to_string(),
                metric: m,
                difference,
            });
        }
    }
    Ok(SplitComparison { reports, differences })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dna::reverse_complement;
    use crate::probe::homology::tests::{mutate, random_seq};
    use crate::probe::linalg::dot;
    use crate::sim::rng::Rng;

    fn cfg(task: Task) -> CvConfig {
        CvConfig { alphas: log_grid(1e-4, 1e2, 7), bootstrap: 200, ..CvConfig::new(task) }
    }

    /// `y = X w + noise` (signal variance ≈ d) or pure noise when `w` is zero.
    fn regression(n: usize, d: usize, signal: bool, seed: u64) -> (Matrix, Vec<f64>, Vec<f64>) {
        let mut rng = Rng::stream(seed, "cv-data", 0);
        let w: Vec<f64> = (0..d).map(|_| if signal { rng.normal() } else { 0.0 }).collect();
        let mut data = Vec::new();
        let (mut y, mut s) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let row: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
            s.push(dot(&row, &w));
            y.push(dot(&row, &w) + 2.0 * rng.normal() + 5.0);
            data.extend(row);
        }
        (Matrix::new(n, d, data).unwrap(), y, s)
    }

    fn classification(n: usize, d: usize, signal: f64, seed: u64) -> (Matrix, Vec<f64>) {
        let mut rng = Rng::stream(seed, "cv-class", 0);
        let w: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
        let mut data = Vec::new();
        let mut y = Vec::new();
        for _ in 0..n {
            let row: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
            let z = signal * dot(&row, &w);
            y.push(if rng.uniform() < 1.0 / (1.0 + (-z).exp()) { 1.0 } else { 0.0 });
            data.extend(row);
        }
        (Matrix::new(n, d, data).unwrap(), y)
    }

    #[test]
    fn ridge_out_of_fold_r2_is_near_the_truth() {
        let (x, y, s) = regression(400, 20, true, 1);
        let var = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            v.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / v.len() as f64
        };
        let truth = var(&s) / var(&y);
        let r = nested_cv(&ProbeData::new(&x, &y), &SplitStrategy::Random, &cfg(Task::Regression)).unwrap();
        let r2 = r.metric(Metric::R2).unwrap();
        assert!((r2.estimate - truth).abs() < 0.04, "oof R² {r2:?}, truth {truth}");
        assert!(r2.contains(r2.estimate) && r2.contains(truth), "{r2:?} vs {truth}");
        assert_eq!(r.folds.len(), 5);
        assert_eq!(r.n_groups, 400);
        assert!(r.folds.iter().all(|f| f.alpha < 1.0), "{:?}", r.folds);
        // Deterministic.
        let again = nested_cv(&ProbeData::new(&x, &y), &SplitStrategy::Random, &cfg(Task::Regression)).unwrap();
        assert_eq!(r, again);
    }

    #[test]
    fn ridge_on_noise_scores_nothing() {
        let (x, y, _) = regression(300, 30, false, 2);
        let r = nested_cv(&ProbeData::new(&x, &y), &SplitStrategy::Random, &cfg(Task::Regression)).unwrap();
        let r2 = r.metric(Metric::R2).unwrap();
        assert!(r2.estimate <= 0.05, "{r2:?}");
        // With nothing to learn the inner folds prefer strong penalties.
        assert!(r.folds.iter().filter(|f| f.alpha >= 1.0).count() >= 3, "{:?}", r.folds);
    }

    #[test]
    fn logistic_learns_signal_and_not_noise() {
        let (x, y) = classification(300, 10, 5.0, 3);
        let r = nested_cv(&ProbeData::new(&x, &y), &SplitStrategy::Random, &cfg(Task::Classification)).unwrap();
        let auc = r.metric(Metric::Auroc).unwrap();
        assert!(auc.estimate > 0.95, "{auc:?}");
        assert_eq!(r.unconverged_fits, 0);
        assert!(r.predictions.iter().all(|p| (0.0..=1.0).contains(p)));
        let (x, y) = classification(300, 10, 0.0, 4);
        let r = nested_cv(&ProbeData::new(&x, &y), &SplitStrategy::Random, &cfg(Task::Classification)).unwrap();
        let auc = r.metric(Metric::Auroc).unwrap();
        assert!(auc.contains(0.5) && (auc.estimate - 0.5).abs() < 0.1, "{auc:?}");
    }

    /// 40 families of 4 near-identical sequences (1% substitutions, some reverse
    /// complemented) whose embeddings are a family centroid plus noise and whose label is
    /// a family value unrelated to the centroid's direction: only memorisation predicts it.
    fn families(seed: u64) -> (Vec<Vec<u8>>, Matrix, Vec<f64>) {
        let mut rng = Rng::stream(seed, "cv-families", 0);
        let (d, fams, per) = (60, 40, 4);
        let (mut seqs, mut data, mut y) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..fams {
            let base = random_seq(&mut rng, 300);
            let centroid: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
            let value = rng.normal();
            for c in 0..per {
                let s = mutate(&mut rng, &base, 0.01);
                seqs.push(if c % 2 == 1 { reverse_complement(&s) } else { s });
                data.extend(centroid.iter().map(|v| v + 0.1 * rng.normal()));
                y.push(value + 0.1 * rng.normal());
            }
        }
        (seqs, Matrix::new(fams * per, d, data).unwrap(), y)
    }

    #[test]
    fn random_split_flatters_memorisation_that_homology_split_exposes() {
        let (seqs, x, y) = families(5);
        let data = ProbeData::new(&x, &y).with_sequences(&seqs);
        let homology = SplitStrategy::Homology { k: 15, threshold: 0.2, sketch: 128 };
        let c = compare_splits(&data, &[SplitStrategy::Random, homology.clone()], &cfg(Task::Regression)).unwrap();
        let (rand, hom) = (&c.reports[0], &c.reports[1]);
        assert_eq!((hom.n_groups, hom.largest_group), (40, 4));
        // No family is split across outer folds.
        for f in 0..40 {
            let folds: Vec<usize> = (0..4).map(|i| hom.fold_of[4 * f + i]).collect();
            assert!(folds.iter().all(|&v| v == folds[0]), "family {f}: {folds:?}");
        }
        let r2 = |r: &ProbeReport| r.metric(Metric::R2).unwrap().estimate;
        assert!(r2(rand) > 0.5 && r2(hom) < 0.2, "random {} homology {}", r2(rand), r2(hom));
        let d = c.differences.iter().find(|d| d.metric == Metric::R2).unwrap();
        assert_eq!((d.baseline.as_str(), d.other.as_str()), ("random", homology.to_string().as_str()));
        assert!(d.difference.lo > 0.0, "{d:?}");
    }

    #[test]
    fn group_split_holds_through_nested_cv() {
        let (x, y, _) = regression(120, 5, true, 6);
        let groups: Vec<String> = (0..120).map(|i| format!("chr{}", i % 12)).collect();
        let data = ProbeData::new(&x, &y).with_groups(&groups);
        let r = nested_cv(&data, &SplitStrategy::ByGroup, &cfg(Task::Regression)).unwrap();
        assert_eq!(r.n_groups, 12);
        for i in 0..120 {
            assert_eq!(r.fold_of[i], r.fold_of[i % 12], "sample {i} left its group's fold");
        }
    }

    #[test]
    fn too_few_positives_and_overflowing_labels_are_named_up_front() {
        let (x, mut y) = classification(60, 3, 1.0, 5);
        for (i, v) in y.iter_mut().enumerate() {
            *v = if i < 4 { 1.0 } else { 0.0 };
        }
        let e = nested_cv(&ProbeData::new(&x, &y), &SplitStrategy::Random, &CvConfig::new(Task::Classification)).unwrap_err().to_string();
        assert_eq!(
            e,
            "probe: too few positives for 5×4 folds: 4 positives, need ≥ 5 (give more samples or fewer --outer-folds/--inner-folds)"
        );
        // Five are enough: every outer training set gives each inner fold one.
        for (i, v) in y.iter_mut().enumerate() {
            *v = if i < 5 { 1.0 } else { 0.0 };
        }
        nested_cv(&ProbeData::new(&x, &y), &SplitStrategy::Random, &CvConfig::new(Task::Classification)).unwrap();
        let (x, y, _) = regression(40, 3, true, 7);
        let huge: Vec<f64> = y.iter().map(|v| v * 1e300).collect();
        let e = nested_cv(&ProbeData::new(&x, &huge), &SplitStrategy::Random, &cfg(Task::Regression)).unwrap_err().to_string();
        assert!(e.starts_with("probe: the labels overflow"), "{e}");
    }

    #[test]
    fn bad_inputs_are_clear_errors() {
        let (x, y, _) = regression(20, 3, true, 7);
        let reg = cfg(Task::Regression);
        let run = |d: &ProbeData, s: &SplitStrategy, c: &CvConfig| nested_cv(d, s, c).unwrap_err().to_string();
        let rand = SplitStrategy::Random;
        assert!(run(&ProbeData::new(&x, &y[..19]), &rand, &reg).contains("20 embedding rows but 19 labels"));
        let mut bad = y.clone();
        bad[4] = f64::NAN;
        assert!(run(&ProbeData::new(&x, &bad), &rand, &reg).contains("label 4 is NaN"));
        let empty = Matrix::zeros(0, 3);
        assert!(run(&ProbeData::new(&empty, &[]), &rand, &reg).contains("no samples"));
        let ones = vec![1.0; 20];
        let e = run(&ProbeData::new(&x, &ones), &rand, &cfg(Task::Classification));
        assert!(e.contains("both classes"), "{e}");
        let few = Matrix::zeros(3, 3);
        let e = run(&ProbeData::new(&few, &[1.0, 2.0, 3.0]), &rand, &reg);
        assert!(e.contains("3 samples") && e.contains("5 folds"), "{e}");
        // 20 samples pass the outer split, but 16 training samples cannot fill 20 inner folds.
        let e = run(&ProbeData::new(&x, &y), &rand, &CvConfig { inner_folds: 20, ..reg.clone() });
        assert!(e.contains("outer fold") && e.contains("20 folds"), "{e}");
        assert!(run(&ProbeData::new(&x, &y), &SplitStrategy::ByGroup, &reg).contains("group label per sample"));
        let homology = SplitStrategy::Homology { k: 15, threshold: 0.2, sketch: 128 };
        assert!(run(&ProbeData::new(&x, &y), &homology, &reg).contains("sequence per sample"));
        let groups = vec!["a".to_string(); 19];
        assert!(run(&ProbeData::new(&x, &y).with_groups(&groups), &SplitStrategy::ByGroup, &reg)
            .contains("19 group labels for 20 samples"));
        let e = run(&ProbeData::new(&x, &y), &rand, &CvConfig { select: Metric::Auroc, ..reg.clone() });
        assert!(e.contains("auroc cannot select"), "{e}");
        let e = run(&ProbeData::new(&x, &y), &rand, &CvConfig { alphas: vec![], ..reg.clone() });
        assert!(e.contains("grid is empty"), "{e}");
        let e = compare_splits(&ProbeData::new(&x, &y), &[rand], &reg).unwrap_err().to_string();
        assert!(e.contains("at least 2 strategies"), "{e}");
    }
}
