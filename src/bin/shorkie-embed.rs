//! shorkie-embed: FASTA records or BED regions in, one embedding per sequence out (a
//! trunk layer's output, pooled), as TSV, NPY or NPZ.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use shorkie::embed::output::{Format, Writer};
use shorkie::embed::pipeline::{run, RunOptions};
use shorkie::embed::source::{bed_items, fasta_items};
use shorkie::embed::{Embedder, Layer, Pool};
use shorkie::formats::indexed_fasta::Fasta;
use shorkie::model_args::ModelArgs;
use shorkie::formats::text;
use shorkie::Error;

#[derive(Parser, Debug)]
#[command(
    args_override_self = true,
    name = "shorkie-embed",
    version,
    about = "Embed FASTA sequences or BED regions with a Shorkie model: one vector per sequence from a trunk layer",
    long_about = "Embed FASTA sequences or BED regions with a Shorkie model: one vector per sequence from a trunk layer.\n\n\
A sequence no longer than the model input is centred in one window, padded with N (FASTA) or with its genome context \
(BED); longer ones are tiled by consecutive windows from their first base. Only the layer positions overlapping the \
sequence are pooled (mean: position-weighted over all tiles). --pool cls-bin takes the position at the sequence's \
centre from a window centred on it; --pool none writes every covered position.\n\n\
Output: TSV (header `id e0 e1 ...`), NPY [N, dim] float32, or NPZ (`embeddings` [N, dim]; with --pool none one \
`s<index>` [positions, dim] array per sequence). NPY/NPZ come with an ID table (index, id, contig, start, end, length), \
by default the output path with `.ids.tsv` for its extension."
)]
struct Cli {
    /// FASTA records to embed (plain or gzip); `-` or absent for standard input.
    #[arg(conflicts_with = "bed")]
    input: Option<String>,
    /// Embed these BED regions instead (contig, start, end, optional name as the id); `-` for stdin.
    #[arg(long, requires = "fasta")]
    bed: Option<String>,
    /// Indexed reference FASTA for --bed (.fai, and .gzi when bgzipped).
    #[arg(short, long)]
    fasta: Option<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
    /// Layer: `transformer` (the last transformer_tower block), `trunk` (trunk output after
    /// its activation), a trunk block index, or a params.json block name (its last block).
    #[arg(long, default_value = "transformer")]
    layer: String,
    /// Print the model's layers (index, name, positions, channels, bp per position) and exit.
    #[arg(long)]
    list_layers: bool,
    /// Pooling over the positions covering each sequence.
    #[arg(long, value_enum, default_value = "mean")]
    pool: Pool,
    /// Average each window's layer output with its reverse complement's (positions mapped back).
    #[arg(long)]
    rc: bool,
    /// Output format (default: from the -o extension, else tsv).
    #[arg(short = 'O', long = "output-type", value_enum)]
    output_type: Option<Format>,
    /// Output file; `-` or absent for stdout.
    #[arg(short, long)]
    output: Option<String>,
    /// ID table for NPY/NPZ output (default: the output path with `.ids.tsv` as extension).
    #[arg(long)]
    ids: Option<PathBuf>,
    #[command(flatten)]
    batch: shorkie::cli::BatchArgs,
    #[command(flatten)]
    common: shorkie::cli::CommonArgs,
}

fn main() {
    shorkie::cli::default_sigpipe();
    shorkie::cli::run_main("shorkie-embed", || {
        let cli: Cli = shorkie::cli::parse();
        shorkie::cli::set_threads(cli.common.threads);
        shorkie::limits::count(cli.batch.batch_size as u64, shorkie::limits::MAX_BATCH, "--batch-size")?;
        if cli.model.models.len() > 1 {
            return Err(Error::Input(
                "shorkie-embed takes one --model: fold models' layers are trained separately and do not share one embedding space".into(),
            ));
        }
        if cli.fasta.is_some() && cli.bed.is_none() {
            return Err(Error::Input("--fasta is the genome for --bed; give FASTA records to embed as the positional input".into()));
        }
        let loaded = cli.model.load()?;
        shorkie::limits::batch_input(cli.batch.batch_size, loaded.params.model.seq_length, loaded.layout.channels)?;
        let mut models = loaded.models;
        let model = models.remove(0);
        if cli.list_layers {
            let mut out = std::io::stdout().lock();
            writeln!(out, "layer\tname\tpositions\tchannels\tbp_per_position").map_err(|e| Error::io("<stdout>", e))?;
            for line in Layer::listing(&model) {
                writeln!(out, "{line}").map_err(|e| Error::io("<stdout>", e))?;
            }
            return Ok(());
        }
        let layer = Layer::resolve(&model, &cli.layer)?;
        let output = cli.output.as_deref().filter(|o| *o != "-").map(PathBuf::from);
        let format = cli
            .output_type
            .or_else(|| output.as_deref().and_then(Format::from_path))
            .unwrap_or(Format::Tsv);
        let mut writer = Writer::create(format, output.as_deref(), cli.ids.as_deref(), cli.pool, layer.shape.ch)?;
        let embedder = Embedder::new(model, loaded.layout, layer.clone(), cli.pool, cli.rc);
        let planner = embedder.planner();
        let start = Instant::now();
        let opts = RunOptions { batch_size: cli.batch.batch_size, progress: !cli.common.quiet && shorkie::cli::stderr_is_tty() };
        let summary = match (&cli.bed, &cli.fasta) {
            (Some(bed), Some(genome)) => {
                let (bed, genome) = (bed.clone(), genome.clone());
                let source = move || {
                    let fasta = Fasta::open(&genome)?;
                    let regions = shorkie::formats::bed::open(&bed)?;
                    Ok(bed_items(regions, fasta, &genome.display().to_string(), planner))
                };
                run(source, embedder, &opts, |m, e| writer.write(m, e))?
            }
            _ => {
                let input = cli.input.clone().unwrap_or_else(|| "-".into());
                let source = move || {
                    let input = text::open(&input)?;
                    let shown = input.source().to_string();
                    Ok(fasta_items(input, &shown, planner))
                };
                run(source, embedder, &opts, |m, e| writer.write(m, e))?
            }
        };
        writer.finish()?;
        if !cli.common.quiet {
            let secs = start.elapsed().as_secs_f64();
            let _ = writeln!(
                std::io::stderr(),
                "shorkie-embed: {} sequences ({} bp, {} windows) from {} [{} positions x {} channels, {} bp each], pool {}{}, {:.1} s ({:.1} sequences/s)",
                summary.sequences,
                summary.bases,
                summary.windows,
                layer.label,
                layer.shape.len,
                layer.shape.ch,
                layer.stride,
                cli.pool.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default(),
                if cli.rc { " +rc" } else { "" },
                secs,
                summary.sequences as f64 / secs.max(1e-9)
            );
        }
        Ok(())
    })
}
