//! shorkie-score: VCF/BCF in, the same records out with Shorkie variant-effect scores.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use shorkie::device::parse_device;
use shorkie::fasta::{ContigResolver, Fasta};
use shorkie::score::encode::InputLayout;
use shorkie::score::pipeline::{run, OutFormat, RunOptions};
use shorkie::score::scorer::{OnRefMismatch, PlanOptions, Planner, Predictor, ScoreSpec};
use shorkie::score::stats::Stat;
use shorkie::score::tracks::{select, Column, TrackQuery};
use shorkie::score::vcf_out::{header_lines, Provenance};
use shorkie::targets::Targets;
use shorkie::{Error, Params, SeqNN};

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

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
enum Aggregate {
    None,
    Group,
}

#[derive(Parser, Debug)]
#[command(name = "shorkie-score", version, about = "Score VCF/BCF variants with Shorkie models; writes the records back with INFO scores")]
struct Cli {
    /// VCF, VCF.gz or BCF; `-` for standard input.
    #[arg(default_value = "-")]
    input: String,
    /// Model weights (safetensors from shorkie-convert or shorkie-pretrain); repeat for
    /// fold ensembles. Without --model, the embedded default language model is used.
    #[arg(short, long = "model")]
    models: Vec<PathBuf>,
    /// The models' params.json (required with --model).
    #[arg(short, long)]
    params: Option<PathBuf>,
    /// Targets sheet (track names, groups, strand pairs, output transforms).
    #[arg(short, long)]
    targets: Option<PathBuf>,
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
    /// Tracks to score: `all` or indices/ranges like `0,5-9`.
    #[arg(long, default_value = "all")]
    tracks: String,
    /// Keep tracks whose identifier or description matches this regex.
    #[arg(long)]
    track_regex: Option<String>,
    /// Keep tracks of this group (targets sheet `group` column).
    #[arg(long)]
    track_group: Option<String>,
    /// Average scores over the tracks of each group.
    #[arg(long, value_enum, default_value = "none")]
    aggregate: Aggregate,
    /// Average with the reverse-complement prediction.
    #[arg(long)]
    rc: bool,
    /// Sequence shifts to average over, comma-separated (e.g. `-1,0,1`).
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    shifts: String,
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
    /// Species channel for multi-species models (Shorkie: 109 = S. cerevisiae R64, the default).
    #[arg(long)]
    species_index: Option<usize>,
    #[arg(long, value_enum, default_value = "auto")]
    mode: Mode,
    /// Sequences per forward pass.
    #[arg(long, default_value_t = 8)]
    batch_size: usize,
    /// Compute threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
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

fn parse_list<T>(s: &str, what: &str) -> shorkie::Result<Vec<T>>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| x.parse::<T>().map_err(|e| Error::Input(format!("{what}: bad value \"{x}\" ({e})"))))
        .collect()
}

fn main() {
    shorkie::cli::default_sigpipe();
    shorkie::cli::run_main("shorkie-score", || {
        let cli = Cli::parse();
        shorkie::cli::set_threads(cli.threads);
        let command = std::env::args().collect::<Vec<_>>().join(" ");
        let device = parse_device(&cli.device)?;
        let (params, models, default_species) = if cli.models.is_empty() {
            if cli.params.is_some() {
                return Err(Error::Input("--params needs --model (the default model brings its own)".into()));
            }
            let (params, model) = shorkie::default_model::load(&device)?;
            (params, vec![model], Some(shorkie::default_model::DEFAULT_SPECIES_INDEX))
        } else {
            let path = cli.params.as_ref().ok_or_else(|| Error::Input("--model needs --params".into()))?;
            let params = Params::from_file(path)?;
            let models = cli
                .models
                .iter()
                .map(|m| SeqNN::load(&params, m, &device))
                .collect::<shorkie::Result<Vec<_>>>()?;
            (params, models, None)
        };
        let head = &models[0].heads()[0];
        let looks_lm = head.shape.ch == 4 && head.shape.len == params.model.seq_length;
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
        let shifts: Vec<i64> = parse_list(&cli.shifts, "--shifts")?;
        if shifts.is_empty() {
            return Err(Error::Input("--shifts: give at least one shift (0 for none)".into()));
        }
        let targets = match &cli.targets {
            Some(p) => Some(Targets::from_file(p)?),
            None => None,
        };
        let tracks = head.shape.ch;
        let columns: Vec<Column> = match &targets {
            Some(t) => {
                if t.rows.len() != tracks {
                    return Err(Error::Input(format!(
                        "{}: {} tracks, the model predicts {tracks}",
                        cli.targets.as_ref().expect("some").display(),
                        t.rows.len()
                    )));
                }
                select(t, &TrackQuery {
                    indices: Some(cli.tracks.clone()),
                    regex: cli.track_regex.clone(),
                    group: cli.track_group.clone(),
                    aggregate_group: cli.aggregate == Aggregate::Group,
                })?
            }
            None => {
                if cli.track_regex.is_some() || cli.track_group.is_some() || cli.aggregate == Aggregate::Group {
                    return Err(Error::Input("--track-regex, --track-group and --aggregate need --targets".into()));
                }
                let sheet = Targets::parse(
                    &std::iter::once("identifier".to_string()).chain((0..tracks).map(|t| format!("t{t}"))).collect::<Vec<_>>().join("\n"),
                    "tracks",
                )?;
                select(&sheet, &TrackQuery { indices: Some(cli.tracks.clone()), ..Default::default() })?
            }
        };
        let strand_pair = targets.as_ref().map(|t| t.strand_pairs());
        let layout = InputLayout::new(models[0].in_channels, cli.species_index.or(default_species))?;
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
                seq_len: params.model.seq_length,
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
                crop_bp: models[0].heads()[0].crop_bp,
            },
            source,
        );
        let track_desc = if lm {
            "4-way base softmax".to_string()
        } else {
            let n: usize = columns.iter().map(|c| c.tracks.len()).sum();
            format!(
                "{} column(s) over {n} track(s){}",
                columns.len(),
                if cli.aggregate == Aggregate::Group { ", scores averaged per group" } else { "" }
            )
        };
        let ensemble = format!(
            "{} fold model(s), shifts {}, reverse complement {}",
            models.len(),
            cli.shifts,
            if cli.rc { "on" } else { "off" }
        );
        let model_names: Vec<String> = if cli.models.is_empty() {
            vec![format!("embedded default LM (shorkie {})", env!("CARGO_PKG_VERSION"))]
        } else {
            cli.models.iter().map(|m| m.display().to_string()).collect()
        };
        let predictor = Predictor::new(
            models,
            layout,
            ScoreSpec { stats: stats.clone(), columns, shifts, rc: cli.rc, strand_pair, lm, targets },
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
            },
            planner,
            predictor,
        )?;
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
