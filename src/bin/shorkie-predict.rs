//! shorkie-predict: BED regions or FASTA sequences in, predicted coverage out as BigWig or
//! bedGraph.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, ValueEnum};
use shorkie::ensemble::Ensemble;
use shorkie::formats::indexed_fasta::Fasta;
use shorkie::model_args::{AugmentArgs, ModelArgs, TrackArgs};
use shorkie::formats::{bed, text};
use shorkie::predict::output::{write_bigwig_dir, write_bigwig_stream, BedGraph, Predicted};
use shorkie::predict::spool::Spool;
use shorkie::predict::{predict, ColumnValues, Geometry, Input, Options, Segment, SeqInfo, Source};
use shorkie::Error;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum OutType {
    /// one BigWig per output column into -o DIR, or a single one to -o -
    Bigwig,
    /// bedGraph text to stdout (or -o FILE)
    Bedgraph,
}

#[derive(Parser, Debug)]
#[command(
    args_override_self = true,
    name = "shorkie-predict",
    version,
    about = "Predict coverage over BED regions or FASTA sequences with Shorkie models; writes BigWig or bedGraph"
)]
struct Cli {
    /// BED regions (plain or gzip; need not be sorted); `-` for standard input (the default
    /// without --fasta-input).
    #[arg(conflicts_with = "fasta_input")]
    regions: Option<String>,
    /// Predict over the records of this FASTA instead (plain or gzip; `-` for stdin).
    #[arg(long, conflicts_with = "fasta")]
    fasta_input: Option<String>,
    /// Indexed reference FASTA for BED regions (.fai, and .gzi when bgzipped).
    #[arg(short, long)]
    fasta: Option<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    track_args: TrackArgs,
    #[command(flatten)]
    augment: AugmentArgs,
    /// Output bins dropped at each edge of every window when stitching (default: an
    /// eighth of the model's output bins).
    #[arg(long)]
    edge_bins: Option<usize>,
    /// Write the model's outputs as they are, without undoing the sheet's transforms.
    #[arg(long)]
    raw: bool,
    /// Output format.
    #[arg(short = 'O', long = "output-type", value_enum, default_value = "bigwig")]
    output_type: OutType,
    /// BigWig: a directory (one file per column) or `-` (one column, to stdout).
    /// bedGraph: a file, or `-`/absent for stdout.
    #[arg(short, long)]
    output: Option<String>,
    #[command(flatten)]
    batch: shorkie::cli::BatchArgs,
    #[command(flatten)]
    common: shorkie::cli::CommonArgs,
}

/// Where the predictions go, prepared before any model work so that a bad destination
/// fails early.
enum Dest {
    /// The directory, and whether this run made it (removed again if the run fails).
    BigWigDir(PathBuf, bool),
    BigWigStdout,
    BedGraphStdout,
    BedGraphFile(shorkie::io::Staged),
}

fn destination(cli: &Cli, columns: usize) -> shorkie::Result<Dest> {
    Ok(match (cli.output_type, cli.output.as_deref()) {
        (OutType::Bigwig, None) => {
            return Err(Error::Input(
                "BigWig output needs -o DIR (one file per track or group) or -o - (one BigWig on stdout); \
                 -O bedgraph writes text to stdout"
                    .into(),
            ))
        }
        (OutType::Bigwig, Some("-")) => {
            if columns != 1 {
                return Err(Error::Input(format!(
                    "-o - writes one BigWig, but the track options select {columns} columns: choose one with \
                     --tracks/--track-regex/--track-group, or use -o DIR or -O bedgraph"
                )));
            }
            Dest::BigWigStdout
        }
        (OutType::Bigwig, Some(dir)) => {
            // The BigWig writer removes a directory it made, with its contents, on failure.
            let out_dir = shorkie::io::prepare_output_dir(Path::new(dir))?;
            let made = out_dir.made();
            out_dir.keep();
            Dest::BigWigDir(PathBuf::from(dir), made)
        }
        (OutType::Bedgraph, None | Some("-")) => Dest::BedGraphStdout,
        (OutType::Bedgraph, Some(file)) => Dest::BedGraphFile(shorkie::io::Staged::new(Path::new(file))?),
    })
}

fn main() {
    shorkie::cli::default_sigpipe();
    shorkie::cli::run_main("shorkie-predict", || {
        let cli: Cli = shorkie::cli::parse();
        shorkie::cli::set_threads(cli.common.threads);
        shorkie::limits::count(cli.batch.batch_size as u64, shorkie::limits::MAX_BATCH, "--batch-size")?;
        let loaded = cli.model.load()?;
        shorkie::limits::batch_input(cli.batch.batch_size, loaded.params.model.seq_length, loaded.layout.channels)?;
        let geo = Geometry::new(&loaded.models[0], cli.edge_bins)?;
        let columns = loaded.columns(&cli.track_args)?;
        let sheet = loaded.sheet()?;
        let shifts = cli.augment.shift_list(loaded.params.model.seq_length)?;
        let passes = shifts.len() * if cli.augment.rc { 2 } else { 1 };
        let genome = match &cli.fasta_input {
            Some(_) => None,
            None => {
                let fasta_path = cli
                    .fasta
                    .as_ref()
                    .ok_or_else(|| Error::Input("BED regions need --fasta (the indexed genome)".into()))?;
                let fasta = Fasta::open(fasta_path)?;
                let (regions, source) = bed::read_records(cli.regions.as_deref().unwrap_or("-"))?;
                Some(Input::from_bed(&regions, &source, fasta, &fasta_path.display().to_string(), geo.bin_bp)?)
            }
        };
        let dest = destination(&cli, columns.len())?;
        let ensemble = Ensemble {
            models: &loaded.models,
            reverse_complement: cli.augment.rc,
            shifts,
            strand_pair: loaded.strand_pair(),
        };
        let values = ColumnValues { columns: &columns, sheet: &sheet, raw: cli.raw };
        let opts = Options { batch_size: cli.batch.batch_size, progress: !cli.common.quiet && shorkie::cli::stderr_is_tty() };
        // FASTA-input records are opened here, so a missing file fails before any output.
        let mut records = cli.fasta_input.as_deref().map(text::open).transpose()?;
        let mut run = |emit: &mut dyn FnMut(&SeqInfo, &Segment, Vec<f32>) -> shorkie::Result<()>| {
            let source = match (&genome, records.take()) {
                (Some(input), _) => Source::Regions(input),
                (None, Some(text)) => Source::Records(text),
                (None, None) => return Err(Error::Other("no input to predict".into())),
            };
            predict(source, &geo, &ensemble, &loaded.layout, &loaded.device, &values, &opts, emit)
        };
        let bin_bp = geo.bin_bp;
        let (summary, wrote) = match dest {
            Dest::BigWigDir(dir, made) => {
                let mut spool = Spool::new(columns.len())?;
                let written = run(&mut |_, seg, v| spool.push(seg, &v)).and_then(|(s, seqs)| {
                    let files = write_bigwig_dir(&dir, &Predicted::new(&seqs, bin_bp, &spool.finish()?), &columns)?;
                    Ok((s, files))
                });
                // Streamed input can fail after the directory was made; a failed run leaves
                // no empty directory of its own behind.
                if written.is_err() && made {
                    let _ = std::fs::remove_dir(&dir);
                }
                let (s, files) = written?;
                (s, format!("{} BigWig(s) in {}", files.len(), dir.display()))
            }
            Dest::BigWigStdout => {
                let mut spool = Spool::new(columns.len())?;
                let (s, seqs) = run(&mut |_, seg, v| spool.push(seg, &v))?;
                write_bigwig_stream(&mut std::io::stdout().lock(), &Predicted::new(&seqs, bin_bp, &spool.finish()?))?;
                (s, "a BigWig on stdout".to_string())
            }
            Dest::BedGraphStdout => {
                let out = std::io::BufWriter::new(std::io::stdout().lock());
                let mut bg = BedGraph::new(out, &columns, "<stdout>")?;
                let (s, _) = run(&mut |seq, seg, v| bg.segment(seq, bin_bp, seg, &v))?;
                bg.finish()?;
                (s, "bedGraph on stdout".to_string())
            }
            Dest::BedGraphFile(mut staged) => {
                let what = staged.shown();
                let mut bg = BedGraph::new(std::io::BufWriter::new(&mut staged), &columns, &what)?;
                let (s, _) = run(&mut |seq, seg, v| bg.segment(seq, bin_bp, seg, &v))?;
                bg.finish()?;
                staged.commit()?;
                (s, format!("bedGraph {what}"))
            }
        };
        if !cli.common.quiet {
            let _ = writeln!(
                std::io::stderr(),
                "shorkie-predict: {} region(s) as {} interval(s), {} bins from {} windows ({} model(s) x {} pass(es)); {} column(s) -> {}",
                summary.regions,
                summary.segments,
                summary.bins,
                summary.windows,
                loaded.models.len(),
                passes,
                columns.len(),
                wrote
            );
        }
        Ok(())
    })
}
