//! The probe report as text: a `#` comment block describing the run, then one TSV table
//!
//! ```text
//! split  metric  value  ci_low  ci_high  n  alpha_median
//! ```
//!
//! with a row per split and metric (`value` is the metric over all out-of-fold
//! predictions, `ci_low`/`ci_high` its percentile bootstrap interval, `n` the samples,
//! `alpha_median` the median penalty the inner folds chose), then a row per later split
//! and metric whose `split` is `FIRST-OTHER`: metric(FIRST) − metric(OTHER) on the same
//! samples, with a paired bootstrap interval (`alpha_median` is `.`). Also the
//! out-of-fold predictions table and the one-line summaries for stderr.

use std::fmt::Write;

use super::compositional::CompositionalReport;
use super::cv::{CvConfig, ProbeReport, SplitDifference};
use super::input::Classes;
use super::metrics::Interval;
use super::Task;

/// One split's name as the user gave it (`random`, `contig`, `homology`), what it kept
/// together (for the header), and its result.
#[derive(Debug, Clone)]
pub struct SplitRun {
    pub name: String,
    /// E.g. "k=15, threshold=0.2, sketch=128" or "groups from contig of ids.tsv".
    pub detail: String,
    /// What one group is: "sample", "contig", "cluster".
    pub unit: &'static str,
    pub report: ProbeReport,
}

/// What the header says about the run besides the splits.
#[derive(Debug, Clone)]
pub struct RunInfo<'a> {
    pub version: &'a str,
    /// Where the features came from, e.g. "emb.npy" or "4-mer frequencies of seqs.fa".
    pub source: String,
    /// The labels file and column.
    pub labels: String,
    pub unlabelled: usize,
    pub classes: Option<&'a Classes>,
    pub cfg: &'a CvConfig,
}

pub const TABLE_HEADER: &str = "split\tmetric\tvalue\tci_low\tci_high\tn\talpha_median";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn task_name(t: Task) -> &'static str {
    match t {
        Task::Regression => "regression (ridge)",
        Task::Classification => "classification (L2 logistic)",
    }
}

/// The name of a comparison row, from the strategies compare_splits names.
fn difference_name(d: &SplitDifference, runs: &[SplitRun]) -> String {
    let name = |s: &str| {
        runs.iter().find(|r| r.report.strategy.to_string() == s).map_or_else(|| s.to_string(), |r| r.name.clone())
    };
    format!("{}-{}", name(&d.baseline), name(&d.other))
}

fn interval_cells(i: &Interval) -> String {
    format!("{:.6}\t{:.6}\t{:.6}", i.estimate, i.lo, i.hi)
}

/// The `#` lines every report starts with: version, inputs, samples, task and CV settings.
fn run_header(info: &RunInfo, n_samples: usize, n_features: usize, task: Task) -> String {
    let mut out = String::new();
    let cfg = info.cfg;
    let _ = writeln!(out, "# shorkie-probe {}", info.version);
    let _ = writeln!(out, "# embeddings: {}", info.source);
    let _ = writeln!(out, "# labels: {}", info.labels);
    let _ = writeln!(out, "# samples: {n_samples} ({} embedding ids without a label left out)", info.unlabelled);
    let _ = writeln!(out, "# features: {n_features}");
    let _ = writeln!(out, "# task: {}", task_name(task));
    if let Some(c) = info.classes {
        let _ = writeln!(
            out,
            "# positive_class: {} ({} samples; negative class {}: {}; picked by {})",
            c.positive,
            c.n_positive,
            c.negative,
            c.n_negative,
            c.rule.describe()
        );
    }
    let (lo, hi) = cfg.alphas.iter().fold((f64::INFINITY, 0.0f64), |(l, h), &a| (l.min(a), h.max(a)));
    let _ = writeln!(
        out,
        "# cv: {} outer x {} inner folds; {} penalties {lo:.1e}..{hi:.1e} chosen by {}; \
         {} bootstrap resamples; {}% intervals; seed {}",
        cfg.outer_folds,
        cfg.inner_folds,
        cfg.alphas.len(),
        cfg.select.name(),
        cfg.bootstrap,
        cfg.level * 100.0,
        cfg.seed
    );
    out
}

/// The compositional report: the same header and table, with rows `compositional`
/// (trained without any sample carrying both factors, tested on those that do), `random`
/// (a class-matched random hold-out of the same size) and `random-compositional` (the gap,
/// unpaired bootstrap), plus the permutation test in the header.
pub fn render_compositional(info: &RunInfo, factors: [&str; 2], r: &CompositionalReport) -> String {
    let n = r.counts.iter().sum();
    let mut out = run_header(info, n, r.n_features, r.task);
    let [a, b] = factors;
    let [neither, only_a, only_b, both] = r.counts;
    let _ = writeln!(
        out,
        "# split compositional: factors {a}, {b}; train on {} samples with at most one ({neither} neither, \
         {only_a} only {a}, {only_b} only {b}), test on the {both} with both; inner folds only (one hold-out)",
        neither + only_a + only_b
    );
    let _ = writeln!(
        out,
        "# split random: {} random samples held out (as many of each class as the compositional test set)",
        r.random.n_test
    );
    if let Some(p) = &r.permutation {
        let _ = writeln!(
            out,
            "# permutation test (compositional, {}): observed {:.6}, p = {:.4} over {} permutations of the training labels \
             ({} scored; penalty fixed at the chosen {:.3e})",
            p.metric.name(),
            p.observed,
            p.p_value,
            p.permutations,
            p.scored,
            r.compositional.alpha
        );
    }
    for (name, h) in [("compositional", &r.compositional), ("random", &r.random)] {
        if h.unconverged_fits > 0 {
            let _ = writeln!(out, "# warning: split {name}: {} logistic fits stopped before converging", h.unconverged_fits);
        }
    }
    let _ = writeln!(
        out,
        "# rows: one per hold-out and metric on its test set; random-compositional is metric(random) - \
         metric(compositional) (unpaired bootstrap over both test sets)"
    );
    let _ = writeln!(out, "{TABLE_HEADER}");
    for (name, h) in [("compositional", &r.compositional), ("random", &r.random)] {
        for m in &h.metrics {
            let _ = writeln!(out, "{name}\t{}\t{}\t{}\t{:.3e}", m.metric.name(), interval_cells(&m.value), h.n_test, h.alpha);
        }
    }
    for (m, gap) in &r.gaps {
        let _ = writeln!(out, "random-compositional\t{}\t{}\t{}\t.", m.name(), interval_cells(gap), r.compositional.n_test);
    }
    out
}

/// The whole report.
pub fn render(info: &RunInfo, runs: &[SplitRun], differences: &[SplitDifference]) -> String {
    let first = &runs[0].report;
    let mut out = run_header(info, first.n_samples, first.n_features, first.task);
    for r in runs {
        let _ = writeln!(
            out,
            "# split {}: {}; {} {}s, largest {}",
            r.name, r.detail, r.report.n_groups, r.unit, r.report.largest_group
        );
        if r.report.unconverged_fits > 0 {
            let _ = writeln!(
                out,
                "# warning: split {}: {} logistic fits stopped before converging",
                r.name, r.report.unconverged_fits
            );
        }
    }
    if differences.is_empty() {
        let _ = writeln!(out, "# rows: one per split and metric (value over all out-of-fold predictions)");
    } else {
        let _ = writeln!(
            out,
            "# rows: one per split and metric; a split A-B row is metric(A) - metric(B) on the same samples \
             (paired bootstrap)"
        );
    }
    let _ = writeln!(out, "{TABLE_HEADER}");
    for r in runs {
        let alpha = median(r.report.folds.iter().map(|f| f.alpha).collect());
        for m in &r.report.metrics {
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}\t{alpha:.3e}",
                r.name,
                m.metric.name(),
                interval_cells(&m.value),
                r.report.n_samples
            );
        }
    }
    for d in differences {
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t.",
            difference_name(d, runs),
            d.metric.name(),
            interval_cells(&d.difference),
            first.n_samples
        );
    }
    out
}

/// Out-of-fold predictions: `id label` then `fold_SPLIT prediction_SPLIT` per split
/// (folds from 0; probabilities of the positive class for classification).
pub fn predictions_tsv(ids: &[&str], labels: &[&str], runs: &[SplitRun]) -> String {
    let mut out = String::from("id\tlabel");
    for r in runs {
        let _ = write!(out, "\tfold_{0}\tprediction_{0}", r.name);
    }
    out.push('\n');
    for (i, (id, label)) in ids.iter().zip(labels).enumerate() {
        let _ = write!(out, "{id}\t{label}");
        for r in runs {
            let _ = write!(out, "\t{}\t{}", r.report.fold_of[i], r.report.predictions[i]);
        }
        out.push('\n');
    }
    out
}

/// `--predictions` of a compositional run: id, label, then for each hold-out whether the
/// sample was in its training or test set and its prediction (`.` when trained on).
pub fn compositional_predictions_tsv(ids: &[&str], labels: &[&str], r: &CompositionalReport) -> String {
    let by_sample = |h: &super::compositional::Holdout| {
        let mut v = vec![None; ids.len()];
        h.test.iter().zip(&h.predictions).for_each(|(&i, &p)| v[i] = Some(p));
        v
    };
    let (comp, rand) = (by_sample(&r.compositional), by_sample(&r.random));
    let cell = |p: Option<f64>| p.map_or(("train".to_string(), ".".to_string()), |v| ("test".to_string(), v.to_string()));
    let mut out = String::from("id\tlabel\tset_compositional\tprediction_compositional\tset_random\tprediction_random\n");
    for (i, (id, label)) in ids.iter().zip(labels).enumerate() {
        let (cs, cp) = cell(comp[i]);
        let (rs, rp) = cell(rand[i]);
        let _ = writeln!(out, "{id}\t{label}\t{cs}\t{cp}\t{rs}\t{rp}");
    }
    out
}

/// One line per split with the headline (selection) metric, and one per comparison of it.
pub fn summary_lines(runs: &[SplitRun], differences: &[SplitDifference]) -> Vec<String> {
    let mut lines = Vec::new();
    for r in runs {
        let m = r.report.select;
        if let Some(v) = r.report.metric(m) {
            let kept = if r.unit == "sample" {
                String::new()
            } else {
                format!(" in {} {}s (largest {})", r.report.n_groups, r.unit, r.report.largest_group)
            };
            lines.push(format!(
                "{}: {} {:.3} [{:.3}, {:.3}], {} samples{kept}",
                r.name,
                m.name(),
                v.estimate,
                v.lo,
                v.hi,
                r.report.n_samples
            ));
        }
    }
    let select = runs[0].report.select;
    for d in differences.iter().filter(|d| d.metric == select) {
        let v = &d.difference;
        lines.push(format!(
            "{}: {} difference {:+.3} [{:+.3}, {:+.3}]",
            difference_name(d, runs),
            d.metric.name(),
            v.estimate,
            v.lo,
            v.hi
        ));
    }
    lines
}
