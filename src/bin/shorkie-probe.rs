//! shorkie-probe: how much of a label an embedding carries linearly, by nested
//! cross-validation under random, contig and homology-aware splits.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, ValueEnum};
use shorkie::probe::compositional::{compositional, Factors};
use shorkie::probe::input::{match_samples, read_labels, resolve_target, LabelColumns};
use shorkie::probe::plan::{
    contig_groups, load_features, parse_alphas, parse_factor_names, parse_splits, sample_factors, sample_sequences,
    FeatureSource, Features, SequenceSource, SplitKind,
};
use shorkie::probe::report::{compositional_predictions_tsv, predictions_tsv, render, render_compositional, summary_lines, RunInfo, SplitRun};
use shorkie::probe::{compare_splits, nested_cv, CvConfig, ProbeData, SplitStrategy, Task};
use shorkie::Error;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum TaskArg {
    /// two distinct label values: classification; more: regression
    Auto,
    /// ridge regression on numeric labels
    Regression,
    /// L2 logistic regression on two label values
    Classification,
}

const AFTER_HELP: &str = "\
Samples are the ids present in both the labels and the embeddings, in embedding order;
every label id must have an embedding, and embedding ids without a label are left out.

Splits (--split, comma-separated):
  random    every sample on its own
  contig    samples on one contig in one fold (--group-column, else the contig column of
            the ID table, else a contig column in the labels)
  homology  sequences linked by canonical k-mer Jaccard >= --homology-threshold (MinHash,
            transitively) in one fold; needs --sequences or --reference
  compositional
            (alone) train on samples carrying at most one of the two --factors columns,
            test on those carrying both; beside it a random hold-out of the same size and
            class counts, their gap (row random-compositional) and a label-permutation
            test of the compositional score (--permutations)

Report (-o, default stdout): '#' comment lines describing the run, then a TSV table
  split  metric  value  ci_low  ci_high  n  alpha_median
one row per split and metric (metric over all out-of-fold predictions, percentile
bootstrap interval, samples, median chosen penalty), then for each later split a row
per metric named FIRST-OTHER (e.g. random-homology): metric(FIRST) - metric(OTHER) on
the same samples with a paired bootstrap interval; a positive value is what the first
split gains over the other. Metrics: r2, pearson, spearman (regression); auroc, auprc
(classification).

--predictions FILE: id, label, then fold_SPLIT and prediction_SPLIT for each split
(folds from 0; the positive class's probability for classification).";

#[derive(Parser, Debug)]
#[command(
    args_override_self = true,
    name = "shorkie-probe",
    version,
    about = "Linear probes of sequence embeddings: nested cross-validated ridge/logistic scores with bootstrap \
             intervals under random, contig and homology-aware splits",
    after_help = AFTER_HELP
)]
struct Cli {
    /// Embeddings as shorkie-embed writes them: .tsv (id, e0, e1, ...), or .npy / .npz
    /// (array `embeddings`) with the ID table beside it (emb.npy -> emb.ids.tsv).
    #[arg(short, long, required_unless_present = "kmer", conflicts_with = "kmer")]
    embeddings: Option<PathBuf>,
    /// ID table (index, id, contig, start, end, length) instead of the one beside an
    /// .npy/.npz; for a .tsv, gives it contigs and regions.
    #[arg(long, conflicts_with = "kmer")]
    ids: Option<PathBuf>,
    /// Features from the --sequences FASTA instead of embeddings: canonical K-mer
    /// frequencies per sequence (K from 1 to 8; record names are the ids).
    #[arg(long, value_name = "K", requires = "sequences")]
    kmer: Option<usize>,
    /// FASTA of the samples' sequences, records named by id (plain or gzip): for the
    /// homology split, and the source of --kmer features.
    #[arg(long, value_name = "FASTA", conflicts_with = "reference")]
    sequences: Option<PathBuf>,
    /// Indexed genome FASTA: the homology split fetches each id's region from the ID table.
    #[arg(long, value_name = "FASTA")]
    reference: Option<PathBuf>,
    /// Labels TSV with a header row.
    #[arg(short, long)]
    labels: PathBuf,
    /// The labels' id column.
    #[arg(long, default_value = "id")]
    id_column: String,
    /// The label column (default: the first that is not the id, group or `contig` column).
    #[arg(long)]
    label_column: Option<String>,
    /// Labels column of groups kept whole by the contig split (contig, chromosome, gene
    /// family).
    #[arg(long)]
    group_column: Option<String>,
    /// What the probe predicts.
    #[arg(long, value_enum, default_value = "auto")]
    task: TaskArg,
    /// The positive class's label value (default: 1 of 0/1, else true/yes, else the value
    /// that sorts second).
    #[arg(long)]
    positive: Option<String>,
    /// Splits to run: random, contig, homology (default: random,homology with
    /// --sequences/--reference, else random); the first is the baseline of the comparisons.
    #[arg(long, value_name = "LIST")]
    split: Option<String>,
    /// Two binary columns of the labels (1/0, true/false, yes/no) for the compositional
    /// split, e.g. `intron,tata`.
    #[arg(long, value_name = "A,B")]
    factors: Option<String>,
    /// Label permutations for the compositional split's permutation test (0: none).
    #[arg(long, default_value_t = 999)]
    permutations: usize,
    /// K-mer length for homology clusters.
    #[arg(long, default_value_t = 15)]
    homology_k: usize,
    /// Jaccard similarity at or above which two sequences are homologous.
    #[arg(long, default_value_t = 0.2)]
    homology_threshold: f64,
    /// MinHash sketch size (hashes per sequence).
    #[arg(long, default_value_t = 128)]
    sketch: usize,
    /// Outer folds: each sample is predicted once, by a probe that never saw it.
    #[arg(long, default_value_t = 5)]
    outer_folds: usize,
    /// Inner folds that choose the penalty within each outer training set.
    #[arg(long, default_value_t = 4)]
    inner_folds: usize,
    /// Bootstrap resamples for the intervals.
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    /// Seed for the folds and the bootstrap.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Penalty grid LO:HI:N, N values log-spaced (default 1e-4:1e2:13).
    #[arg(long, value_name = "LO:HI:N")]
    alphas: Option<String>,
    /// The report (default: stdout).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Out-of-fold predictions TSV.
    #[arg(long, value_name = "FILE")]
    predictions: Option<PathBuf>,
    #[command(flatten)]
    common: shorkie::cli::CommonArgs,
}

/// Writes to FILE atomically, or to stdout.
fn emit(path: Option<&Path>, text: &str) -> shorkie::Result<()> {
    match path {
        Some(p) if p.as_os_str() != "-" => shorkie::io::write_atomic(p, text.as_bytes()),
        _ => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(|e| Error::io("<stdout>", e))
        }
    }
}

fn main() {
    shorkie::cli::default_sigpipe();
    shorkie::cli::run_main("shorkie-probe", || {
        let cli: Cli = shorkie::cli::parse();
        shorkie::cli::set_threads(cli.common.threads);
        let say = |msg: String| {
            if !cli.common.quiet {
                let _ = writeln!(std::io::stderr(), "shorkie-probe: {msg}");
            }
        };
        let have_sequences = cli.sequences.is_some() || cli.reference.is_some();
        let default_split = if have_sequences { "random,homology" } else { "random" };
        let splits = parse_splits(cli.split.as_deref().unwrap_or(default_split))?;
        let task = match cli.task {
            TaskArg::Auto => None,
            TaskArg::Regression => Some(Task::Regression),
            TaskArg::Classification => Some(Task::Classification),
        };
        let alphas = cli.alphas.as_deref().map(parse_alphas).transpose()?;
        shorkie::limits::at_most(cli.bootstrap as u64, 1_000_000, "--bootstrap")?;
        shorkie::limits::at_most(cli.sketch as u64, 1 << 20, "--sketch")?;
        shorkie::limits::at_most(cli.outer_folds as u64, 1000, "--outer-folds")?;
        shorkie::limits::at_most(cli.inner_folds as u64, 1000, "--inner-folds")?;

        let features = match (cli.kmer, &cli.embeddings, &cli.sequences) {
            (Some(k), _, Some(fasta)) => FeatureSource::Kmers { k, fasta },
            (None, Some(path), _) => FeatureSource::Embeddings { path, ids: cli.ids.as_deref() },
            _ => return Err(Error::Input("give embeddings (-e FILE) or --kmer K with --sequences FASTA".into())),
        };
        let Features { emb, own_sequences, description: source } = load_features(features)?;
        let factor_names = cli.factors.as_deref().map(parse_factor_names).transpose()?;
        if splits.contains(&SplitKind::Compositional) != factor_names.is_some() {
            return Err(Error::Input("--split compositional and --factors A,B go together".into()));
        }
        let columns = LabelColumns {
            id: Some(&cli.id_column),
            label: cli.label_column.as_deref(),
            group: cli.group_column.as_deref(),
            factors: factor_names.as_ref().map(|[a, b]| [a.as_str(), b.as_str()]),
        };
        let labels = read_labels(&cli.labels, &columns)?;
        let samples = match_samples(&emb, &labels)?;
        let target = resolve_target(&labels, &samples, &emb.source, task, cli.positive.as_deref())?;
        say(format!(
            "{} samples, {} features from {source}{}",
            samples.rows.len(),
            emb.x.cols(),
            if samples.unlabelled > 0 {
                format!("; {} embedding ids have no label in {} and are left out", samples.unlabelled, labels.source)
            } else {
                String::new()
            }
        ));
        if let Some(c) = &target.classes {
            say(format!(
                "classification: positive class \"{}\" ({} samples), negative \"{}\" ({}); picked by {}",
                c.positive,
                c.n_positive,
                c.negative,
                c.n_negative,
                c.rule.describe()
            ));
        }

        let x = emb.x.select_rows(&samples.rows);
        let groups = if splits.contains(&SplitKind::Contig) {
            Some(contig_groups(cli.group_column.as_deref(), &emb, &labels, &samples)?)
        } else {
            None
        };
        let sequences = if splits.contains(&SplitKind::Homology) {
            let source = match (&cli.sequences, &cli.reference) {
                (Some(fasta), _) => Some(SequenceSource::Fasta(fasta)),
                (None, Some(genome)) => Some(SequenceSource::Reference(genome)),
                (None, None) => None,
            };
            Some(sample_sequences(source, &emb, own_sequences.as_ref(), &samples)?)
        } else {
            None
        };
        let mut data = ProbeData::new(&x, &target.y);
        if let Some((g, _)) = &groups {
            data = data.with_groups(g);
        }
        if let Some(s) = &sequences {
            data = data.with_sequences(s);
        }
        let mut cfg = CvConfig {
            outer_folds: cli.outer_folds,
            inner_folds: cli.inner_folds,
            bootstrap: cli.bootstrap,
            seed: cli.seed,
            ..CvConfig::new(target.task)
        };
        if let Some(a) = alphas {
            cfg.alphas = a;
        }
        let info = RunInfo {
            version: env!("CARGO_PKG_VERSION"),
            source,
            labels: format!("{}, column {}", labels.source, labels.label_column),
            unlabelled: samples.unlabelled,
            classes: target.classes.as_ref(),
            cfg: &cfg,
        };
        if let Some(names) = &factor_names {
            let (a, b) = sample_factors(&labels, &samples, names)?;
            let factors = Factors { a: &a, b: &b, names: (&names[0], &names[1]) };
            let report = compositional(&data, &factors, &cfg, cli.permutations)?;
            if let Some(path) = &cli.predictions {
                let ids: Vec<&str> = samples.rows.iter().map(|&i| emb.ids[i].as_str()).collect();
                let label_text: Vec<&str> = samples.labels.iter().map(|&j| labels.rows[j].label.as_str()).collect();
                shorkie::io::write_atomic(path, compositional_predictions_tsv(&ids, &label_text, &report).as_bytes())?;
            }
            emit(cli.output.as_deref(), &render_compositional(&info, [&names[0], &names[1]], &report))?;
            let m = cfg.select;
            for (name, h) in [("compositional", &report.compositional), ("random", &report.random)] {
                if let Some(v) = h.metric(m) {
                    say(format!("{name}: {} {:.3} [{:.3}, {:.3}], {} test samples", m.name(), v.estimate, v.lo, v.hi, h.n_test));
                }
            }
            if let Some((_, g)) = report.gaps.iter().find(|(gm, _)| *gm == m) {
                say(format!("random-compositional: {} difference {:+.3} [{:+.3}, {:+.3}]", m.name(), g.estimate, g.lo, g.hi));
            }
            if let Some(p) = &report.permutation {
                say(format!("permutation test: compositional {} {:.3}, p = {:.4} ({} permutations)", p.metric.name(), p.observed, p.p_value, p.permutations));
            }
            return Ok(());
        }
        let strategies: Vec<SplitStrategy> = splits
            .iter()
            .map(|s| match s {
                SplitKind::Random | SplitKind::Compositional => SplitStrategy::Random,
                SplitKind::Contig => SplitStrategy::ByGroup,
                SplitKind::Homology => {
                    SplitStrategy::Homology { k: cli.homology_k, threshold: cli.homology_threshold, sketch: cli.sketch }
                }
            })
            .collect();
        let (reports, differences) = if strategies.len() == 1 {
            (vec![nested_cv(&data, &strategies[0], &cfg)?], Vec::new())
        } else {
            let c = compare_splits(&data, &strategies, &cfg)?;
            (c.reports, c.differences)
        };
        let runs: Vec<SplitRun> = splits
            .iter()
            .zip(reports)
            .map(|(kind, report)| {
                let (detail, unit) = match kind {
                    SplitKind::Random | SplitKind::Compositional => ("every sample on its own".to_string(), "sample"),
                    SplitKind::Contig => {
                        (groups.as_ref().map_or(String::new(), |(_, from)| format!("groups from {from}")), "group")
                    }
                    SplitKind::Homology => (
                        format!(
                            "canonical {}-mer Jaccard >= {}, sketch {}",
                            cli.homology_k, cli.homology_threshold, cli.sketch
                        ),
                        "cluster",
                    ),
                };
                SplitRun { name: kind.name().to_string(), detail, unit, report }
            })
            .collect();

        if let Some(path) = &cli.predictions {
            let ids: Vec<&str> = samples.rows.iter().map(|&i| emb.ids[i].as_str()).collect();
            let label_text: Vec<&str> = samples.labels.iter().map(|&j| labels.rows[j].label.as_str()).collect();
            shorkie::io::write_atomic(path, predictions_tsv(&ids, &label_text, &runs).as_bytes())?;
        }
        emit(cli.output.as_deref(), &render(&info, &runs, &differences))?;
        for r in &runs {
            if r.report.unconverged_fits > 0 {
                say(format!(
                    "warning: {}: {} logistic fits stopped before converging",
                    r.name, r.report.unconverged_fits
                ));
            }
        }
        for line in summary_lines(&runs, &differences) {
            say(line);
        }
        Ok(())
    })
}
