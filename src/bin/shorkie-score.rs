//! shorkie-score: VCF/BCF in, the same records out with Shorkie variant-effect scores.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use shorkie::fasta::{ContigResolver, Fasta};
use shorkie::score::pipeline::{run, OutFormat, RunOptions};
use shorkie::score::scorer::{OnRefMismatch, PlanOptions, Planner, Predictor, ScoreSpec};
use shorkie::score::stats::Stat;
use shorkie::model_args::{parse_list, Aggregate, AugmentArgs, ModelArgs, TrackArgs};
use shorkie::score::side::{MatrixSpec, SideOutputs};
use shorkie::score::summary::Summary;
use shorkie::score::tracks::{info_columns, Column};
use shorkie::score::vcf_out::{header_lines, Provenance};
use shorkie::Error;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Fmt {
    /// uncompressed VCF
    V,
    /// bgzip-compressed VCF
    Z,
    /// compressed BCF
    B,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RefMismatch {
    /// pass the record through unscored with reason ref_mismatch
    Flag,
    /// leave the record out (counted on stderr)
    Skip,
    /// stop with an error naming the record
    Error,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
enum Mode {
    /// LM zero-shot when the head is a 4-way softmax over every position, tracks otherwise
    Auto,
    Tracks,
    Lm,
}

#[derive(Parser, Debug)]
#[command(name = "shorkie-score", version, about = "Score VCF/BCF variants with Shorkie models; writes the records back with INFO scores")]
struct Cli {
    /// VCF, VCF.gz or BCF; `-` for standard input.
    #[arg(default_value = "-")]
    input: String,
    #[command(flatten)]
    model: ModelArgs,
    /// Indexed reference FASTA (.fai, and .gzi when bgzipped).
    #[arg(short, long)]
    fasta: PathBuf,
    /// Gene mode: score each variant against the exons of nearby genes (GTF; needs sorted input).
    #[arg(short = 'g', long)]
    gtf: Option<PathBuf>,
    /// Two-column file mapping VCF contig names to FASTA names.
    #[arg(long)]
    contig_alias: Option<PathBuf>,
    /// Statistics, comma-separated: SUM, logSUM, logSED, D1, D2, logD2, JS, SAX, REF, ALT.
    #[arg(long, default_value = "logSED,SUM")]
    stats: String,
    #[command(flatten)]
    track_args: TrackArgs,
    /// Per-track INFO values for these scored tracks, beside the default summary: `all`,
    /// indices/ranges like `0-9`, or a regex on identifier and description. Keep it small.
    #[arg(long)]
    info_tracks: Option<String>,
    /// Also write every scored (ALT, gene) row x scored track x statistic: FILE.h5
    /// (baskerville's scores.h5 layout) or FILE.tsv / FILE.tsv.gz (long format). Repeatable.
    #[arg(long)]
    scores_out: Vec<PathBuf>,
    /// Write the run's counts (records, ALTs scored, skipped by reason, batches, seconds)
    /// as MultiQC custom content; name it *_mqc.json for MultiQC to find it.
    #[arg(long)]
    stats_json: Option<PathBuf>,
    /// The sample name in --stats-json (default: the input's file name without .vcf/.bcf/.gz).
    #[arg(long)]
    stats_name: Option<String>,
    #[command(flatten)]
    augment: AugmentArgs,
    /// Records within this many bp of a window's first record share its reference pass.
    #[arg(long, default_value_t = 0)]
    cluster_bp: i64,
    /// Score variants near contig ends with N padding (baskerville) instead of skipping them.
    #[arg(long)]
    pad_ends: bool,
    /// Skip windows with a larger fraction of N.
    #[arg(long, default_value_t = 0.5)]
    max_n_frac: f64,
    #[arg(long, value_enum, default_value = "flag")]
    on_ref_mismatch: RefMismatch,
    #[arg(long, value_enum, default_value = "auto")]
    mode: Mode,
    /// Sequences per forward pass.
    #[arg(long, default_value_t = 8)]
    batch_size: usize,
    /// Compute threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Output file (written as FILE.partial, renamed when complete); default stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'O', long = "output-type", value_enum, default_value = "v")]
    output_type: Fmt,
    /// Index the output (tabix for -O z, CSI for -O b).
    #[arg(long)]
    write_index: bool,
    /// Continue a killed `-o FILE -O v` run from FILE.partial.
    #[arg(long)]
    resume: bool,
    /// No progress bar or summary.
    #[arg(short, long)]
    quiet: bool,
}

fn main() {
    shorkie::cli::default_sigpipe();
    shorkie::cli::run_main("shorkie-score", || {
        let started = std::time::Instant::now();
        let cli = Cli::parse();
        shorkie::cli::set_threads(cli.threads);
        let command = std::env::args().collect::<Vec<_>>().join(" ");
        let loaded = cli.model.load()?;
        let looks_lm = loaded.looks_lm();
        let lm = match cli.mode {
            Mode::Auto => looks_lm,
            Mode::Lm if !looks_lm => {
                return Err(Error::Input("--mode lm needs a model predicting 4 bases at every position".into()))
            }
            Mode::Lm => true,
            Mode::Tracks => false,
        };
        let stats: Vec<Stat> = parse_list(&cli.stats, "--stats")?;
        if stats.is_empty() {
            return Err(Error::Input("--stats: give at least one statistic".into()));
        }
        let shifts = cli.augment.shift_list()?;
        let aggregate = cli.track_args.aggregate == Aggregate::Group;
        // The scored tracks: what --tracks/--track-regex/--track-group choose, one by one.
        let scored = loaded.columns(&TrackArgs { aggregate: Aggregate::None, ..cli.track_args.clone() })?;
        let mut tracks: Vec<usize> = scored.iter().flat_map(|c| c.tracks.iter().copied()).collect();
        tracks.sort_unstable();
        tracks.dedup();
        let sheet = loaded.sheet()?;
        let summary = Summary::new(&sheet, &tracks);
        let columns: Vec<Column> = match (&cli.info_tracks, aggregate) {
            (Some(spec), _) => info_columns(&sheet, &tracks, spec, aggregate)?,
            (None, true) => {
                return Err(Error::Input(
                    "--aggregate group averages the --info-tracks columns per group; give --info-tracks (the default summary already holds each group's mean)".into(),
                ))
            }
            (None, false) => Vec::new(),
        };
        if lm && !cli.scores_out.is_empty() {
            return Err(Error::Input("--scores-out holds track scores; a language model's LLR is in the VCF".into()));
        }
        let side = SideOutputs::new(
            cli.scores_out.clone(),
            MatrixSpec {
                stats: stats.iter().map(|s| s.name().to_string()).collect(),
                target_ids: tracks.iter().map(|&t| sheet.rows[t].identifier.clone()).collect(),
                target_labels: tracks
                    .iter()
                    .map(|&t| {
                        let r = &sheet.rows[t];
                        if r.description.is_empty() { r.identifier.clone() } else { r.description.clone() }
                    })
                    .collect(),
                gene_mode: cli.gtf.is_some(),
            },
        )?;
        if cli.resume && !side.is_empty() && cli.output.is_none() {
            return Err(Error::Input("--resume needs -o FILE".into()));
        }
        let strand_pair = loaded.strand_pair();
        let layout = loaded.layout;
        let fasta = Fasta::open(&cli.fasta)?;
        let aliases = match &cli.contig_alias {
            Some(p) => ContigResolver::read_aliases(p)?,
            None => Default::default(),
        };
        let genes = match &cli.gtf {
            Some(p) if !lm => Some(std::sync::Arc::new(shorkie::gtf::GeneIndex::from_path(p)?)),
            Some(_) => return Err(Error::Input("--gtf applies to track models, not the language model".into())),
            None => None,
        };
        let source = if cli.input == "-" { "<stdin>".to_string() } else { cli.input.clone() };
        let planner = Planner::new(
            fasta,
            ContigResolver::new(aliases),
            PlanOptions {
                seq_len: loaded.params.model.seq_length,
                cluster_bp: cli.cluster_bp.max(0),
                pad_ends: cli.pad_ends,
                max_n_frac: cli.max_n_frac,
                on_ref_mismatch: match cli.on_ref_mismatch {
                    RefMismatch::Flag => OnRefMismatch::Flag,
                    RefMismatch::Skip => OnRefMismatch::Skip,
                    RefMismatch::Error => OnRefMismatch::Error,
                },
                lm,
                genes,
                crop_bp: loaded.models[0].heads()[0].crop_bp,
            },
            source,
        );
        let track_desc = if lm {
            "4-way base softmax".to_string()
        } else {
            let groups = if summary.groups.is_empty() { "no groups".to_string() } else { format!("{} group(s)", summary.groups.len()) };
            let info = if columns.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} --info-tracks column(s){}",
                    columns.len(),
                    if aggregate { ", averaged per group" } else { "" }
                )
            };
            format!("{} scored track(s), {groups}{info}", tracks.len())
        };
        let ensemble = format!(
            "{} fold model(s), shifts {}, reverse complement {}",
            loaded.models.len(),
            cli.augment.shifts,
            if cli.augment.rc { "on" } else { "off" }
        );
        let shorkie::model_args::Loaded { models, targets, device, names: model_names, .. } = loaded;
        let predictor = Predictor::new(
            models,
            layout,
            ScoreSpec {
                stats: stats.clone(),
                tracks,
                summary,
                columns,
                keep_matrix: !side.is_empty(),
                shifts,
                rc: cli.augment.rc,
                strand_pair,
                lm,
                targets,
            },
            device,
            cli.batch_size,
        )?;
        let lines = header_lines(&Provenance {
            value_names: predictor.value_names(),
            stats,
            lm,
            tracks: track_desc,
            models: model_names,
            ensemble,
            command,
            gene_mode: cli.gtf.is_some(),
        });
        let summary = run(
            RunOptions {
                input: cli.input.clone(),
                output: cli.output.clone(),
                format: match cli.output_type {
                    Fmt::V => OutFormat::Vcf,
                    Fmt::Z => OutFormat::VcfGz,
                    Fmt::B => OutFormat::Bcf,
                },
                write_index: cli.write_index,
                resume: cli.resume,
                header_lines: lines,
                progress: !cli.quiet && shorkie::cli::stderr_is_tty(),
                batch_size: cli.batch_size,
                side,
            },
            planner,
            predictor,
        )?;
        if let Some(path) = &cli.stats_json {
            let name = cli.stats_name.clone().unwrap_or_else(|| shorkie::score::report::sample_name(&cli.input));
            shorkie::score::report::write_stats_json(path, &name, &summary, started.elapsed().as_secs_f64())?;
        }
        if !cli.quiet {
            let mut reasons: Vec<_> = summary.skipped.iter().collect();
            reasons.sort();
            let skipped: Vec<String> = reasons.iter().map(|(r, n)| format!("{}={n}", r.as_str())).collect();
            let _ = writeln!(
                std::io::stderr(),
                "shorkie-score: {} records, {} alleles scored, {} skipped ({}), {} records left out, {} resumed, {} model batches",
                summary.records,
                summary.alleles_scored,
                summary.skipped.values().sum::<u64>(),
                if skipped.is_empty() { "none".to_string() } else { skipped.join(", ") },
                summary.dropped,
                summary.resumed,
                summary.reference_passes
            );
        }
        Ok(())
    })
}
