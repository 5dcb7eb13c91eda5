//! Compositional generalisation (the mRNABench split): the probe trains on samples that
//! carry at most one of two elements A and B and is tested on the samples that carry
//! both, a combination it never saw. Beside it runs a random hold-out of the same size
//! (and, for classification, the same class counts) trained on everything else; the gap
//! `random − compositional` says how much the unseen combination costs. A linear probe on
//! features in which A and B act additively loses little; an interaction between them is
//! invisible from single-element samples, so the gap opens.
//!
//! Both hold-outs choose the penalty by inner cross-validation on their training rows,
//! exactly as one outer fold of [`super::cv::nested_cv`] does. A label-permutation test on
//! the compositional hold-out says whether its score beats chance at all, so that a null
//! claim ("the probe cannot generalise to A+B") rests on more than an interval: training
//! labels are permuted, the probe refitted at the penalty the real run chose, and the test
//! set scored; p = (1 + #{null ≥ observed}) / (1 + permutations).

use rayon::prelude::*;
use serde::Serialize;

use super::cv::{fit_predict, run_outer, CvConfig, MetricResult};
use super::metrics::{bootstrap_ci, bootstrap_unpaired_diff_ci, pick, Interval, Metric};
use super::split::Folds;
use super::{ProbeData, Task};
use crate::error::{Error, Result};
use crate::sim::rng::Rng;

/// Which samples carry element A and element B.
#[derive(Debug, Clone, Copy)]
pub struct Factors<'a> {
    pub a: &'a [bool],
    pub b: &'a [bool],
    /// The factors' names, for messages (e.g. the labels file's column names).
    pub names: (&'a str, &'a str),
}

/// One train/test hold-out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Holdout {
    pub n_train: usize,
    pub n_test: usize,
    pub alpha: f64,
    pub inner_score: f64,
    pub metrics: Vec<MetricResult>,
    pub test: Vec<usize>,
    pub predictions: Vec<f64>,
    pub unconverged_fits: usize,
}

impl Holdout {
    pub fn metric(&self, m: Metric) -> Option<&Interval> {
        self.metrics.iter().find(|r| r.metric == m).map(|r| &r.value)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PermutationTest {
    pub metric: Metric,
    pub observed: f64,
    pub permutations: usize,
    /// Permutations whose fit gave a defined score (a permuted training set can lose a class).
    pub scored: usize,
    pub p_value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompositionalReport {
    pub task: Task,
    pub n_features: usize,
    /// Samples with: neither element, only A, only B, both.
    pub counts: [usize; 4],
    pub compositional: Holdout,
    pub random: Holdout,
    /// `random − compositional` per task metric, unpaired bootstrap over both test sets.
    pub gaps: Vec<(Metric, Interval)>,
    /// On the compositional hold-out, for the selection metric; None with 0 permutations.
    pub permutation: Option<PermutationTest>,
}

/// Runs the compositional hold-out, its random twin and the permutation test.
pub fn compositional(data: &ProbeData, factors: &Factors, cfg: &CvConfig, permutations: usize) -> Result<CompositionalReport> {
    data.validate(cfg.task)?;
    let n = data.y.len();
    let (na, nb) = factors.names;
    for (name, f) in [(na, factors.a), (nb, factors.b)] {
        if f.len() != n {
            return Err(Error::Input(format!("compositional split: factor {name} has {} values for {n} samples", f.len())));
        }
    }
    let mut counts = [0usize; 4];
    for i in 0..n {
        counts[usize::from(factors.a[i]) + 2 * usize::from(factors.b[i])] += 1;
    }
    let [neither, only_a, only_b, both] = [counts[0], counts[1], counts[2], counts[3]];
    if only_a == 0 || only_b == 0 || both == 0 {
        return Err(Error::Input(format!(
            "compositional split: needs samples with only {na}, only {nb} and both; have {only_a} with only {na}, \
             {only_b} with only {nb}, {both} with both, {neither} with neither"
        )));
    }
    let classes: Vec<usize> = match cfg.task {
        Task::Classification => data.y.iter().map(|&v| v as usize).collect(),
        Task::Regression => vec![0; n],
    };
    let test: Vec<bool> = (0..n).map(|i| factors.a[i] && factors.b[i]).collect();
    if cfg.task == Task::Classification {
        let positives = (0..n).filter(|&i| test[i] && classes[i] == 1).count();
        if positives == 0 || positives == both {
            return Err(Error::Input(format!(
                "compositional split: the {both} samples with both {na} and {nb} are all of one class; \
                 their metrics are undefined"
            )));
        }
    }
    let compositional = holdout(data, &classes, &test, cfg, 0)?;
    let random_test = matched_random(&classes, &test, cfg.seed);
    let random = holdout(data, &classes, &random_test, cfg, 1)?;
    let mut gaps = Vec::new();
    for &m in cfg.task.metrics() {
        let (rt, ct) = (pick(data.y, &random.test), pick(data.y, &compositional.test));
        let gap = bootstrap_unpaired_diff_ci(
            (&rt, &random.predictions),
            (&ct, &compositional.predictions),
            |t, p| m.compute(t, p),
            cfg.bootstrap,
            cfg.level,
            cfg.seed,
        )?;
        gaps.push((m, gap));
    }
    let permutation = if permutations > 0 {
        Some(permutation_test(data, &compositional, cfg, permutations)?)
    } else {
        None
    };
    Ok(CompositionalReport { task: cfg.task, n_features: data.x.cols(), counts, compositional, random, gaps, permutation })
}

/// Trains on the rows where `test` is false (penalty by inner CV) and predicts the rest.
fn holdout(data: &ProbeData, classes: &[usize], test: &[bool], cfg: &CvConfig, which: u64) -> Result<Holdout> {
    let folds = Folds {
        k: 2,
        fold_of: test.iter().map(|&t| usize::from(!t)).collect(),
        n_groups: test.len(),
        largest_group: 1,
    };
    let ids: Vec<usize> = (0..test.len()).collect();
    let run_cfg = CvConfig { seed: cfg.seed ^ which, ..cfg.clone() };
    let outer = run_outer(data, &ids, classes, &folds, 0, &run_cfg)?;
    let truth = pick(data.y, &outer.test);
    let metrics = cfg
        .task
        .metrics()
        .iter()
        .map(|&m| {
            let value = bootstrap_ci(&truth, &outer.predictions, |t, p| m.compute(t, p), cfg.bootstrap, cfg.level, cfg.seed)?;
            Ok(MetricResult { metric: m, value })
        })
        .collect::<Result<_>>()?;
    Ok(Holdout {
        n_train: outer.fold.n_train,
        n_test: outer.fold.n_test,
        alpha: outer.fold.alpha,
        inner_score: outer.fold.inner_score,
        metrics,
        test: outer.test,
        predictions: outer.predictions,
        unconverged_fits: outer.unconverged,
    })
}

/// A random test set with as many samples of each class as `test` has.
fn matched_random(classes: &[usize], test: &[bool], seed: u64) -> Vec<bool> {
    let n_classes = classes.iter().max().map_or(1, |m| m + 1);
    let mut rng = Rng::stream(seed, "probe-compositional-random", 0);
    let mut out = vec![false; classes.len()];
    for c in 0..n_classes {
        let mut members: Vec<usize> = (0..classes.len()).filter(|&i| classes[i] == c).collect();
        let want = members.iter().filter(|&&i| test[i]).count();
        rng.shuffle(&mut members);
        for &i in &members[..want] {
            out[i] = true;
        }
    }
    out
}

fn permutation_test(data: &ProbeData, held: &Holdout, cfg: &CvConfig, permutations: usize) -> Result<PermutationTest> {
    let metric = cfg.select;
    let truth = pick(data.y, &held.test);
    let observed = metric.compute(&truth, &held.predictions)?;
    let is_test: Vec<bool> = {
        let mut v = vec![false; data.y.len()];
        held.test.iter().for_each(|&i| v[i] = true);
        v
    };
    let train: Vec<usize> = (0..data.y.len()).filter(|&i| !is_test[i]).collect();
    let x_train = data.x.select_rows(&train);
    let x_test = data.x.select_rows(&held.test);
    let y_train = pick(data.y, &train);
    let null: Vec<f64> = (0..permutations as u64)
        .into_par_iter()
        .filter_map(|p| {
            let mut rng = Rng::stream(cfg.seed, "probe-permutation", p);
            let mut y = y_train.clone();
            rng.shuffle(&mut y);
            let (mut preds, _) = fit_predict(cfg.task, &x_train, &y, &x_test, &[held.alpha]).ok()?;
            metric.compute(&truth, &preds.remove(0)).ok().filter(|v| v.is_finite())
        })
        .collect();
    if null.len() * 2 < permutations {
        return Err(Error::Input(format!(
            "permutation test: only {} of {permutations} permuted fits gave a {}",
            null.len(),
            metric.name()
        )));
    }
    let at_least = null.iter().filter(|&&v| v >= observed).count();
    Ok(PermutationTest {
        metric,
        observed,
        permutations,
        scored: null.len(),
        p_value: (1 + at_least) as f64 / (1 + null.len()) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::cv::log_grid;
    use crate::probe::linalg::Matrix;

    /// Features: A, B, five informative columns z and five noise columns, each observed
    /// with noise; label `z·w + A + B + interaction·A·B + noise`. Samples are spread evenly
    /// over the four A/B combinations.
    fn planted(n: usize, interaction: f64, seed: u64) -> (Matrix, Vec<f64>, Vec<bool>, Vec<bool>) {
        let mut rng = Rng::stream(seed, "compositional-test", 0);
        let w: Vec<f64> = (0..5).map(|_| rng.normal()).collect();
        let (mut x, mut y, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let (fa, fb) = (i % 2 == 1, (i / 2) % 2 == 1);
            let z: Vec<f64> = (0..5).map(|_| rng.normal()).collect();
            let (va, vb) = (f64::from(u8::from(fa)), f64::from(u8::from(fb)));
            x.push(va + 0.05 * rng.normal());
            x.push(vb + 0.05 * rng.normal());
            x.extend(z.iter().map(|v| v + 0.05 * rng.normal()));
            x.extend((0..5).map(|_| rng.normal()));
            let signal: f64 = z.iter().zip(&w).map(|(p, q)| p * q).sum();
            y.push(signal + 2.0 * va + 2.0 * vb + interaction * va * vb + 0.3 * rng.normal());
            a.push(fa);
            b.push(fb);
        }
        (Matrix::new(n, 12, x).unwrap(), y, a, b)
    }

    fn cfg() -> CvConfig {
        CvConfig { alphas: log_grid(1e-4, 1e2, 7), bootstrap: 300, ..CvConfig::new(Task::Regression) }
    }

    fn run(interaction: f64) -> CompositionalReport {
        let (x, y, a, b) = planted(400, interaction, 3);
        let f = Factors { a: &a, b: &b, names: ("A", "B") };
        compositional(&ProbeData::new(&x, &y), &f, &cfg(), 99).unwrap()
    }

    #[test]
    fn an_additive_pair_generalises_and_an_interaction_opens_the_gap() {
        let additive = run(0.0);
        let gap = &additive.gaps.iter().find(|(m, _)| *m == Metric::R2).unwrap().1;
        assert!(gap.contains(0.0) || gap.hi < 0.05, "no interaction, no gap: {gap:?}");
        assert!(additive.compositional.metric(Metric::R2).unwrap().estimate > 0.8);
        assert_eq!(additive.counts, [100, 100, 100, 100]);
        assert_eq!(additive.compositional.n_test, 100);
        assert_eq!(additive.random.n_test, 100);

        let interacting = run(-3.0);
        let gap = &interacting.gaps.iter().find(|(m, _)| *m == Metric::R2).unwrap().1;
        assert!(gap.lo > 0.5, "an A x B interaction the probe never saw costs the compositional split: {gap:?}");
        // The random split saw both elements together and keeps most of its score.
        assert!(interacting.random.metric(Metric::R2).unwrap().estimate > 0.6);
    }

    #[test]
    fn the_permutation_test_separates_signal_from_noise() {
        let signal = run(0.0).permutation.unwrap();
        assert!(signal.p_value <= 0.02, "{signal:?}");
        let (x, _, a, b) = planted(400, 0.0, 5);
        let mut rng = Rng::stream(9, "noise-labels", 0);
        let noise: Vec<f64> = (0..400).map(|_| rng.normal()).collect();
        let f = Factors { a: &a, b: &b, names: ("A", "B") };
        let null = compositional(&ProbeData::new(&x, &noise), &f, &cfg(), 99).unwrap().permutation.unwrap();
        assert!(null.p_value > 0.05, "labels unrelated to the features: {null:?}");
    }

    #[test]
    fn the_test_set_is_exactly_the_samples_with_both() {
        let r = run(0.0);
        let (_, _, a, b) = planted(400, 0.0, 3);
        assert!(r.compositional.test.iter().all(|&i| a[i] && b[i]));
        assert!(!r.random.test.iter().all(|&i| a[i] && b[i]));
    }

    #[test]
    fn missing_combinations_are_named() {
        let (x, y, a, _) = planted(40, 0.0, 1);
        let b = a.clone();
        let f = Factors { a: &a, b: &b, names: ("intron", "tata") };
        let e = compositional(&ProbeData::new(&x, &y), &f, &cfg(), 0).unwrap_err().to_string();
        assert!(e.contains("0 with only intron") && e.contains("only tata"), "{e}");
    }
}
