//! shorkie-ism: in-silico saturation mutagenesis (and gradient x input) over BED regions
//! or around VCF variants, scored with the scorer's statistics.

use std::path::PathBuf;

use clap::Parser;
use shorkie::ism::job::Job;
use shorkie::model_args::{parse_list, AugmentArgs, ModelArgs, TrackArgs};
use shorkie::score::stats::Stat;

#[derive(Parser, Debug)]
#[command(args_override_self = true, name = "shorkie-ism", version, about = "In-silico saturation mutagenesis and gradient saliency with Shorkie models")]
struct Cli {
    /// BED regions to mutate (each base, all 3 alternatives); `-` for stdin. With --vcf,
    /// a VCF/BCF instead.
    input: String,
    /// The input is VCF/BCF: mutate --flank bases either side of each variant.
    #[arg(long)]
    vcf: bool,
    /// Bases mutated either side of each VCF variant.
    #[arg(short = 'l', long, default_value_t = 10)]
    flank: usize,
    #[command(flatten)]
    model: ModelArgs,
    /// Indexed reference FASTA.
    #[arg(short, long)]
    fasta: PathBuf,
    #[command(flatten)]
    track_args: TrackArgs,
    #[command(flatten)]
    augment: AugmentArgs,
    /// Statistics, comma-separated (as shorkie-score); the first one fills the importance
    /// matrices, tracks and plots.
    #[arg(long, default_value = "logSED,SUM")]
    stats: String,
    /// Genes (GTF), for --gene and for the gene row of --plot.
    #[arg(short = 'g', long)]
    gtf: Option<PathBuf>,
    /// Score over this gene's exon bins (and its strand's tracks) instead of all bins.
    #[arg(long, requires = "gtf")]
    gene: Option<String>,
    /// One column per group of tracks: the first capture group of this regex in each
    /// track's description (e.g. `(\d+)\s*min` for IDEA time points); writes the groups'
    /// distance matrix and heatmap.
    #[arg(long)]
    group_by: Option<String>,
    /// Also gradient x input saliency (mean-centred over bases).
    #[arg(long)]
    saliency: bool,
    /// A locus plot per window: predicted tracks (reference and, for VCF SNVs, the first
    /// ALT), genes, and the ISM logo.
    #[arg(long)]
    plot: bool,
    /// Run the whole model for every mutant instead of reusing the local tower (slow; for checking).
    #[arg(long)]
    brute_force: bool,
    /// Output directory.
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    batch: shorkie::cli::BatchArgs,
    #[command(flatten)]
    common: shorkie::cli::CommonArgs,
}

fn main() {
    shorkie::cli::default_sigpipe();
    shorkie::cli::run_main("shorkie-ism", || {
        let cli: Cli = shorkie::cli::parse();
        shorkie::cli::set_threads(cli.common.threads);
        shorkie::limits::count(cli.batch.batch_size as u64, shorkie::limits::MAX_BATCH, "--batch-size")?;
        let loaded = cli.model.load()?;
        let out_dir = shorkie::io::prepare_output_dir(&cli.output)?;
        shorkie::limits::batch_input(cli.batch.batch_size, loaded.params.model.seq_length, loaded.layout.channels)?;
        let stats: Vec<Stat> = parse_list(&cli.stats, "--stats")?;
        let job = Job {
            input: cli.input,
            vcf: cli.vcf,
            flank: cli.flank,
            fasta: cli.fasta,
            track_args: cli.track_args,
            augment: cli.augment,
            stats,
            gtf: cli.gtf,
            gene: cli.gene,
            group_by: cli.group_by,
            saliency: cli.saliency,
            plot: cli.plot,
            brute_force: cli.brute_force,
            output: cli.output,
            batch_size: cli.batch.batch_size,
            quiet: cli.common.quiet,
        };
        shorkie::ism::job::run(&loaded, &job)?;
        out_dir.keep();
        Ok(())
    })
}
