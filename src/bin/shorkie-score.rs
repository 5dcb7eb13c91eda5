//! shorkie-score: VCF/BCF in, the same records out with Shorkie variant-effect scores.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use shorkie::formats::{contig_alias::ContigResolver, indexed_fasta::Fasta};
use shorkie::score::pipeline::{run, IndexKind, OutFormat, RunOptions};
use shorkie::score::resume::{command_line, input_identity};
use shorkie::score::scorer::{OnRefMismatch, PlanOptions, Planner, Predictor, ScoreSpec};
use shorkie::score::stats::Stat;
use shorkie::model_args::{parse_list, Aggregate, AugmentArgs, ModelArgs, TrackArgs};
use shorkie::score::side::{MatrixSpec, SideOutputs};
use shorkie::score::summary::Summary;
use shorkie::score::tracks::{info_columns, Column};
use shorkie::score::vcf_out::{header_lines, Provenance};
use shorkie::Error;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum IndexArg {
    Csi,
    Tbi,
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

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
enum StrandPairs {
    /// one column per track
    Each,
    /// one column per strand pair (the sheet's strand_pair column), named by its first
    /// track: the pair's scores summed, or in gene mode taken from the gene's strand
    /// (baskerville/Borzoi scoring)
    Sum,
}

#[derive(Parser, Debug)]
#[command(args_override_self = true, name = "shorkie-score", version, about = "Score VCF/BCF variants with Shorkie models; writes the records back with INFO scores")]
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
    /// Stranded tracks (pairs in the targets sheet): scored one by one, or per pair in the --info-tracks columns.
    #[arg(long, value_enum, default_value = "each")]
    strand_pairs: StrandPairs,
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
    /// Run every pass through the whole model. By default a substitution's passes recompute
    /// the local convolution tower only around the change and reuse the rest from its
    /// reference pass: the same scores, faster. This flag is for checking that.
    #[arg(long)]
    whole_passes: bool,
    /// Skip windows with a larger fraction of N.
    #[arg(long, default_value_t = 0.5)]
    max_n_frac: f64,
    #[arg(long, value_enum, default_value = "flag")]
    on_ref_mismatch: RefMismatch,
    #[arg(long, value_enum, default_value = "auto")]
    mode: Mode,
    #[command(flatten)]
    batch: shorkie::cli::BatchArgs,
    #[command(flatten)]
    common: shorkie::cli::CommonArgs,
    /// Output file, `-` for standard output (the default). A regular file is written as
    /// FILE.partial (locked: one run per output) and renamed when complete.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Output type: v (VCF), z (bgzipped VCF), b (BCF), u (uncompressed BCF); z0-z9 and
    /// b0-b9 set the compression level. Default: from the -o suffix (.vcf, .vcf.gz,
    /// .vcf.bgz, .bcf), else v. A type that contradicts the suffix is an error.
    #[arg(short = 'O', long = "output-type")]
    output_type: Option<String>,
    /// Index the output (-O z or -O b): CSI by default, or -W=tbi / --write-index=tbi
    /// (tabix, -O z only). The index is built before the output is renamed into place.
    #[arg(short = 'W', long = "write-index", num_args = 0..=1, require_equals = true, default_missing_value = "csi", value_enum)]
    write_index: Option<IndexArg>,
    /// Score only records whose POS is in these regions (CHROM, CHROM:POS, CHROM:BEG-END,
    /// comma-separated; 1-based); the input must be indexed (bcftools index).
    #[arg(short = 'r', long, conflicts_with = "regions_file")]
    regions: Option<String>,
    /// As -r, from a file: CHROM POS or CHROM BEG END per line (1-based), or BED (.bed).
    #[arg(short = 'R', long)]
    regions_file: Option<PathBuf>,
    /// Continue a killed `-o FILE` run from FILE.partial (any output type), after checking
    /// that it was written from the same input with the same options.
    #[arg(long)]
    resume: bool,
}

/// The output type from `-O` and the `-o` suffix, as bcftools picks it; an explicit type
/// that contradicts the suffix is refused (a `.vcf.gz` holding plain text misleads every
/// tool that opens it).
fn output_format(explicit: Option<&str>, output: Option<&std::path::Path>) -> shorkie::Result<OutFormat> {
    let by_suffix = output.filter(|p| p.as_os_str() != "-").and_then(OutFormat::from_suffix);
    let Some(t) = explicit else {
        return Ok(by_suffix.unwrap_or(OutFormat::Vcf));
    };
    let format = OutFormat::parse(t)?;
    if let (Some(s), Some(p)) = (by_suffix, output) {
        if !s.same_kind(format) {
            return Err(Error::Input(format!(
                "-O {t} writes {} but -o {} names {}; drop -O to follow the suffix, or rename the output",
                format.name(),
                p.display(),
                s.name()
            )));
        }
    }
    Ok(format)
}

fn main() {
    shorkie::cli::default_sigpipe();
    shorkie::cli::run_main("shorkie-score", || {
        let started = std::time::Instant::now();
        let cli: Cli = shorkie::cli::parse();
        shorkie::cli::usage_if_stdin_is_a_terminal(&cli.input, <Cli as clap::CommandFactory>::command());
        shorkie::cli::set_threads(cli.common.threads);
        let command = command_line(&std::env::args().collect::<Vec<_>>());
        let format = output_format(cli.output_type.as_deref(), cli.output.as_deref())?;
        let regions = match (&cli.regions, &cli.regions_file) {
            (Some(r), _) => shorkie::score::source::parse_regions(r)?,
            (None, Some(p)) => shorkie::score::source::read_regions_file(p)?,
            (None, None) => Vec::new(),
        };
        let index = match cli.write_index {
            None => None,
            Some(IndexArg::Csi) => Some(IndexKind::Csi),
            Some(IndexArg::Tbi) if matches!(format, OutFormat::VcfGz(_)) => Some(IndexKind::Tbi),
            Some(IndexArg::Tbi) => return Err(Error::Input("-W=tbi (tabix) indexes bgzipped VCF (-O z) only; use -W=csi".into())),
        };

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
        let seq_len = loaded.params.model.seq_length;
        let shifts = cli.augment.shift_list(seq_len)?;
        if !(0..=seq_len as i64).contains(&cli.cluster_bp) {
            return Err(Error::Input(format!(
                "--cluster-bp {} must be between 0 and the model's input length ({seq_len} bp)",
                cli.cluster_bp
            )));
        }
        shorkie::limits::fraction(cli.max_n_frac, "--max-n-frac")?;
        shorkie::limits::batch_input(cli.batch.batch_size, seq_len, loaded.layout.channels)?;
        let aggregate = cli.track_args.aggregate == Aggregate::Group;
        // The scored tracks: what --tracks/--track-regex/--track-group choose, one by one.
        let scored = loaded.columns(&TrackArgs { aggregate: Aggregate::None, ..cli.track_args.clone() })?;
        let mut tracks: Vec<usize> = scored.iter().flat_map(|c| c.tracks.iter().copied()).collect();
        let strand_sum = cli.strand_pairs == StrandPairs::Sum && !lm;
        if strand_sum {
            // A pair's value combines both members, so both are scored.
            let pairs = loaded
                .targets
                .as_ref()
                .ok_or_else(|| Error::Input("--strand-pairs sum needs --targets (the sheet's strand_pair column)".into()))?
                .strand_pairs();
            let partners: Vec<usize> = tracks.iter().filter_map(|&t| pairs.get(t).copied()).collect();
            tracks.extend(partners);
        }
        tracks.sort_unstable();
        tracks.dedup();
        let sheet = loaded.sheet()?;
        let summary = Summary::new(&sheet, &tracks);
        let mut columns: Vec<Column> = match (&cli.info_tracks, aggregate) {
            (Some(spec), _) => info_columns(&sheet, &tracks, spec, aggregate)?,
            (None, true) => {
                return Err(Error::Input(
                    "--aggregate group averages the --info-tracks columns per group; give --info-tracks (the default summary already holds each group's mean)".into(),
                ))
            }
            (None, false) => Vec::new(),
        };
        if strand_sum {
            if let Some(targets) = loaded.targets.as_ref() {
                columns = shorkie::score::tracks::collapse_strand_pairs(columns, targets);
            }
        }
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
            Some(p) => ContigResolver::read_aliases(p, &fasta)?,
            None => Default::default(),
        };
        let genes = match &cli.gtf {
            Some(p) if !lm => {
                let genes = shorkie::formats::gtf::GeneIndex::from_path(p)?;
                genes.check_contigs(p, &fasta)?;
                Some(std::sync::Arc::new(genes))
            }
            Some(_) => return Err(Error::Input("--gtf applies to track models, not the language model".into())),
            None => None,
        };
        let source = if cli.input == "-" { "<stdin>".to_string() } else { cli.input.clone() };
        let planner = Planner::new(
            fasta,
            ContigResolver::new(aliases),
            PlanOptions {
                seq_len,
                cluster_bp: cli.cluster_bp,
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
                    "; {} --info-tracks column(s){}{}",
                    columns.len(),
                    if strand_sum { " standing for strand pairs (summed; in gene mode the gene's strand)" } else { "" },
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
        let mut predictor = Predictor::new(
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
                strand_sum,
            },
            device,
            cli.batch.batch_size,
        )?;
        predictor.set_reuse_local(!cli.whole_passes);
        let mut lines = header_lines(&Provenance {
            value_names: predictor.value_names(),
            stats,
            lm,
            tracks: track_desc,
            models: model_names,
            ensemble,
            command,
            gene_mode: cli.gtf.is_some(),
        });
        if cli.input == "-" || std::path::Path::new(&cli.input).is_file() {
            lines.push(input_identity(&cli.input)?);
        }
        let summary = run(
            RunOptions {
                input: cli.input.clone(),
                output: cli.output.clone(),
                format,
                index,
                resume: cli.resume,
                regions,
                may_drop: matches!(cli.on_ref_mismatch, RefMismatch::Skip),
                header_lines: lines,
                progress: !cli.common.quiet && shorkie::cli::stderr_is_tty(),
                batch_size: cli.batch.batch_size,
                side,
            },
            planner,
            predictor,
        )?;
        if let Some(path) = &cli.stats_json {
            let name = cli.stats_name.clone().unwrap_or_else(|| shorkie::score::report::sample_name(&cli.input));
            shorkie::score::report::write_stats_json(path, &name, &summary, started.elapsed().as_secs_f64())?;
        }
        if !cli.common.quiet {
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
