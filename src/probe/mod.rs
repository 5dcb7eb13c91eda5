//! Linear probes of model embeddings: how much of a label a frozen embedding carries
//! linearly, measured by nested cross-validation so that the penalty is never tuned on the
//! samples it is scored on, and with splits that can keep homologous sequences (or whole
//! contigs) on one side, so that memorised near-duplicates do not pass for generalisation.
//!
//! [`linalg`] holds the dense algebra; [`ridge`] and [`logistic`] the two probes;
//! [`metrics`] the scores and bootstrap intervals; [`split`] and [`homology`] the fold
//! assignment; [`cv`] the nested cross-validation and the split comparison. [`input`]
//! reads embeddings, labels and sequences from files, [`kmer`] makes k-mer frequency
//! features, [`plan`] turns a run's options into splits, features, groups and sequences,
//! and [`report`] writes what `shorkie-probe` prints.

pub mod compositional;
pub mod cv;
pub mod homology;
pub mod input;
pub mod kmer;
pub mod linalg;
pub mod logistic;
pub mod metrics;
pub mod plan;
pub mod report;
pub mod ridge;
pub mod split;

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use cv::{compare_splits, log_grid, nested_cv, CvConfig, FoldResult, MetricResult, ProbeReport, SplitComparison, SplitDifference};
pub use linalg::Matrix;
pub use metrics::{Interval, Metric};

use crate::error::{Error, Result};

/// What the probe predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    /// A continuous label, ridge regression.
    Regression,
    /// A 0/1 label, L2 logistic regression.
    Classification,
}

impl Task {
    /// The metric that picks the penalty unless the configuration says otherwise.
    pub fn default_select(self) -> Metric {
        match self {
            Task::Regression => Metric::R2,
            Task::Classification => Metric::Auroc,
        }
    }

    /// The metrics a report carries.
    pub fn metrics(self) -> &'static [Metric] {
        match self {
            Task::Regression => &[Metric::R2, Metric::Pearson, Metric::Spearman],
            Task::Classification => &[Metric::Auroc, Metric::Auprc],
        }
    }
}

/// How samples are kept together when folds are drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SplitStrategy {
    /// Every sample on its own (seeded shuffle).
    Random,
    /// Samples with the same [`ProbeData::groups`] label (contig, chromosome, gene family)
    /// go to one fold.
    ByGroup,
    /// Sequences linked by k-mer Jaccard ≥ `threshold` (bottom-`sketch` MinHash of
    /// canonical `k`-mers, transitively) go to one fold.
    Homology { k: usize, threshold: f64, sketch: usize },
}

impl fmt::Display for SplitStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SplitStrategy::Random => write!(f, "random"),
            SplitStrategy::ByGroup => write!(f, "group"),
            SplitStrategy::Homology { k, threshold, sketch } => {
                write!(f, "homology(k={k},threshold={threshold},sketch={sketch})")
            }
        }
    }
}

/// A probe's inputs: one embedding row and one label per sample, plus what the split
/// strategy needs (group labels for [`SplitStrategy::ByGroup`], sequences for
/// [`SplitStrategy::Homology`]).
#[derive(Debug, Clone, Copy)]
pub struct ProbeData<'a> {
    pub x: &'a Matrix,
    pub y: &'a [f64],
    pub groups: Option<&'a [String]>,
    pub sequences: Option<&'a [Vec<u8>]>,
}

impl<'a> ProbeData<'a> {
    pub fn new(x: &'a Matrix, y: &'a [f64]) -> Self {
        ProbeData { x, y, groups: None, sequences: None }
    }

    pub fn with_groups(mut self, groups: &'a [String]) -> Self {
        self.groups = Some(groups);
        self
    }

    pub fn with_sequences(mut self, sequences: &'a [Vec<u8>]) -> Self {
        self.sequences = Some(sequences);
        self
    }

    /// Shapes and values: rows match labels, everything finite, 0/1 labels with both
    /// classes for classification, per-sample groups and sequences where given.
    pub fn validate(&self, task: Task) -> Result<()> {
        let n = self.y.len();
        if n == 0 {
            return Err(Error::Input("probe: no samples".into()));
        }
        if self.x.rows() != n {
            return Err(Error::Input(format!(
                "probe: {} embedding rows but {n} labels",
                self.x.rows()
            )));
        }
        if self.x.cols() == 0 {
            return Err(Error::Input("probe: embeddings have no features".into()));
        }
        if let Some(i) = self.y.iter().position(|v| !v.is_finite()) {
            return Err(Error::Input(format!("probe: label {i} is {}", self.y[i])));
        }
        self.x.check_finite("probe embeddings")?;
        if task == Task::Classification {
            metrics::class_counts("probe labels", self.y)?;
        }
        if let Some(g) = self.groups {
            if g.len() != n {
                return Err(Error::Input(format!("probe: {} group labels for {n} samples", g.len())));
            }
        }
        if let Some(s) = self.sequences {
            if s.len() != n {
                return Err(Error::Input(format!("probe: {} sequences for {n} samples", s.len())));
            }
        }
        Ok(())
    }
}

/// The groups a strategy keeps whole, as one id per sample.
#[derive(Debug, Clone)]
pub(crate) struct Grouping {
    pub ids: Vec<usize>,
}

impl Grouping {
    pub(crate) fn new(strategy: &SplitStrategy, data: &ProbeData) -> Result<Self> {
        let n = data.y.len();
        let ids = match strategy {
            SplitStrategy::Random => (0..n).collect(),
            SplitStrategy::ByGroup => {
                let g = data
                    .groups
                    .ok_or_else(|| Error::Input("probe: the group split needs a group label per sample".into()))?;
                let mut index: HashMap<&str, usize> = HashMap::new();
                g.iter()
                    .map(|s| {
                        let next = index.len();
                        *index.entry(s.as_str()).or_insert(next)
                    })
                    .collect()
            }
            SplitStrategy::Homology { k, threshold, sketch } => {
                let s = data
                    .sequences
                    .ok_or_else(|| Error::Input("probe: the homology split needs a sequence per sample".into()))?;
                homology::cluster(s, *k, *threshold, *sketch)?.cluster_of
            }
        };
        Ok(Grouping { ids })
    }
}
