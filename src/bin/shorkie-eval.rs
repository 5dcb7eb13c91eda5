//! shorkie-eval: accuracy of a coverage model on held-out windows, per track and per gene.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use shorkie::coverage::blacklist::{Blacklist, BLACKLIST_BUFFER};
use shorkie::formats::gtf::GeneIndex;
use shorkie::formats::targets::Targets;
use shorkie::train::evaluate::{evaluate, read_split_windows, write_reports};
use shorkie::train::supervised::{CoverageData, Geometry};
use shorkie::{Error, Params};

#[derive(Parser, Debug)]
#[command(args_override_self = true, name = "shorkie-eval", version, about = "Evaluate a Shorkie/SeqNN coverage model on a held-out fold")]
struct Cli {
    /// Model weights (safetensors, e.g. run/model.safetensors).
    #[arg(short, long)]
    model: PathBuf,
    /// The model's params.json (default: params.json beside the model).
    #[arg(short, long)]
    params: Option<PathBuf>,
    #[arg(long)]
    targets: PathBuf,
    #[arg(long)]
    fasta: PathBuf,
    /// Windows with their split (contig, start, end, split), as shorkie-train writes them.
    #[arg(long)]
    sequences: PathBuf,
    /// Which split of --sequences to evaluate.
    #[arg(long, default_value = "test")]
    split: String,
    /// Genes (GTF) for gene-level accuracy.
    #[arg(long)]
    gtf: Option<PathBuf>,
    /// Average predictions of the sequence and its reverse complement.
    #[arg(long)]
    rc: bool,
    #[arg(long)]
    blacklist: Option<PathBuf>,
    /// Unmappable regions (BED) and the quantile their bins' targets are clipped to, as
    /// given to shorkie-train.
    #[arg(long)]
    umap: Option<PathBuf>,
    #[arg(long, default_value_t = shorkie::coverage::UMAP_CLIP)]
    umap_clip: f64,
    #[arg(long)]
    species_index: Option<usize>,
    #[command(flatten)]
    batch: shorkie::cli::BatchArgs,
    #[arg(long, value_name = "DEVICE", default_value = "auto", help = shorkie::cli::DEVICE_HELP)]
    device: String,
    /// Output folder: eval_tracks.tsv, eval_genes.tsv, gene_sums.tsv, eval_genes.svg.
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    common: shorkie::cli::CommonArgs,
}

fn main() {
    shorkie::cli::default_sigpipe();
    shorkie::cli::run_main("shorkie-eval", || {
        let cli: Cli = shorkie::cli::parse();
        shorkie::cli::set_threads(cli.common.threads);
        shorkie::limits::count(cli.batch.batch_size as u64, shorkie::limits::MAX_BATCH, "--batch-size")?;
        shorkie::limits::fraction(cli.umap_clip, "--umap-clip")?;
        let params_path = cli.params.clone().unwrap_or_else(|| cli.model.with_file_name("params.json"));
        let device = shorkie::device::parse_device(&cli.device)?;
        let params = Params::from_file(&params_path)?;
        let model = shorkie::weights_file::load_model(&params, &cli.model, &device)?;
        let targets = Targets::from_file(&cli.targets)?;
        let geometry = Geometry::of(&model, &targets, cli.species_index)?;
        let blacklist = match &cli.blacklist {
            Some(p) => Blacklist::from_bed(p, BLACKLIST_BUFFER)?,
            None => Blacklist::default(),
        };
        let windows = read_split_windows(&cli.sequences, &cli.split)?;
        if let Some(w) = windows.iter().find(|w| w.end - w.start != geometry.seq_len as u64) {
            return Err(Error::Input(format!(
                "{}: window {}:{}-{} is {} bp, the model reads {} bp",
                cli.sequences.display(),
                w.contig,
                w.start,
                w.end,
                w.end - w.start,
                geometry.seq_len
            )));
        }
        let unmap = match &cli.umap {
            Some(p) => Blacklist::from_bed(p, 0)?,
            None => Blacklist::default(),
        };
        let data = CoverageData::load(&cli.fasta, targets, blacklist, geometry)?.with_unmappable(unmap, cli.umap_clip);
        let sizes: std::collections::HashMap<&str, u64> = data.contig_sizes().iter().map(|(n, l)| (n.as_str(), *l)).collect();
        for w in &windows {
            match sizes.get(w.contig.as_str()) {
                Some(&len) if w.end <= len => {}
                Some(&len) => {
                    return Err(Error::Input(format!(
                        "{}: window {}:{}-{} runs past the end of {} ({len} bp in {})",
                        cli.sequences.display(),
                        w.contig,
                        w.start,
                        w.end,
                        w.contig,
                        cli.fasta.display()
                    )))
                }
                None => {
                    return Err(Error::Input(format!(
                        "{}: window {}:{}-{}: contig {} is not in {}",
                        cli.sequences.display(),
                        w.contig,
                        w.start,
                        w.end,
                        w.contig,
                        cli.fasta.display()
                    )))
                }
            }
        }
        data.check_windows_have_data(&windows, &cli.split)?;
        let genes = match &cli.gtf {
            Some(p) => {
                let genes = GeneIndex::from_path(p)?;
                let names: Vec<String> = data.contig_sizes().iter().map(|(n, _)| n.clone()).collect();
                genes.check_contig_names(p, &cli.fasta, &names)?;
                Some(genes)
            }
            None => None,
        };
        let ev = evaluate(&model, &data, &windows, genes.as_ref(), cli.batch.batch_size, cli.rc, &device)?;
        let out_dir = shorkie::io::prepare_output_dir(&cli.output)?;
        write_reports(&cli.output, &ev)?;
        out_dir.keep();
        let undefined: Vec<&str> = ev.tracks.iter().filter(|t| !t.pearson_r.is_finite()).map(|t| t.identifier.as_str()).collect();
        if !undefined.is_empty() {
            // Never a silent NaN: say which tracks have no R and why.
            let _ = writeln!(
                std::io::stderr(),
                "shorkie-eval: warning: {} of {} track(s) have constant targets on the {} windows (no data there?), their R is NaN and left out of the mean: {}{}",
                undefined.len(),
                ev.tracks.len(),
                cli.split,
                undefined.iter().take(5).copied().collect::<Vec<_>>().join(", "),
                if undefined.len() > 5 { ", …" } else { "" }
            );
        }
        if !cli.common.quiet {
            let mut err = std::io::stderr();
            let _ = writeln!(
                err,
                "shorkie-eval: {} {} windows; mean per-track Pearson R {:.4} over bins",
                ev.windows,
                cli.split,
                ev.mean_track_r()
            );
            if !ev.genes.is_empty() {
                let _ = writeln!(
                    err,
                    "shorkie-eval: {} genes; mean gene-level Pearson R {:.4} (log2 exon sums), {:.4} (log2 mean per exon bin)",
                    ev.gene_sums.len(),
                    ev.mean_gene_r(),
                    ev.mean_gene_r_per_bin()
                );
            }
        }
        Ok(())
    })
}
