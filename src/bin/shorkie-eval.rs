//! shorkie-eval: accuracy of a coverage model on held-out windows, per track and per gene.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Parser;
use shorkie::coverage::blacklist::{Blacklist, BLACKLIST_BUFFER};
use shorkie::coverage::folds::Segment;
use shorkie::gtf::GeneIndex;
use shorkie::targets::Targets;
use shorkie::train::evaluate::{evaluate, Evaluation};
use shorkie::train::plot::{line_chart, write_chart, Series};
use shorkie::train::supervised::{CoverageData, Geometry};
use shorkie::{Error, Params, SeqNN};

#[derive(Parser, Debug)]
#[command(name = "shorkie-eval", version, about = "Evaluate a Shorkie/SeqNN coverage model on a held-out fold")]
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
    #[arg(long, default_value_t = 8)]
    batch_size: usize,
    /// Output folder: eval_tracks.tsv, eval_genes.tsv, gene_sums.tsv, eval_genes.svg.
    #[arg(short, long)]
    output: PathBuf,
    #[arg(long)]
    threads: Option<usize>,
    #[arg(short, long)]
    quiet: bool,
}

fn read_sequences(path: &Path, split: &str) -> shorkie::Result<Vec<Segment>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let bad = |what: &str| Error::Input(format!("{}: line {}: {what}", path.display(), i + 1));
        if f.len() < 4 {
            return Err(bad("expected contig, start, end, split"));
        }
        let start: u64 = f[1].parse().map_err(|_| bad(&format!("bad start \"{}\"", f[1])))?;
        let end: u64 = f[2].parse().map_err(|_| bad(&format!("bad end \"{}\"", f[2])))?;
        if f[3] == split {
            out.push(Segment { contig: f[0].to_string(), start, end });
        }
    }
    if out.is_empty() {
        return Err(Error::Input(format!("{}: no \"{split}\" windows", path.display())));
    }
    Ok(out)
}

fn write_reports(out: &Path, ev: &Evaluation) -> shorkie::Result<()> {
    let mut tracks = String::from("index\tidentifier\tpearson_r\tr2\n");
    for t in &ev.tracks {
        tracks += &format!("{}\t{}\t{:.6}\t{:.6}\n", t.index, t.identifier, t.pearson_r, t.r2);
    }
    shorkie::io::write_atomic(&out.join("eval_tracks.tsv"), tracks.as_bytes())?;
    if ev.genes.is_empty() {
        return Ok(());
    }
    let mut genes = String::from("index\tidentifier\tgenes\tpearson_r\tpearson_r_per_bin\n");
    for g in &ev.genes {
        genes += &format!("{}\t{}\t{}\t{:.6}\t{:.6}\n", g.index, g.identifier, g.genes, g.pearson_r, g.pearson_r_mean);
    }
    shorkie::io::write_atomic(&out.join("eval_genes.tsv"), genes.as_bytes())?;
    let mut sums = String::from("gene\tstrand\tbins\ttrack\tpredicted\tobserved\n");
    for s in &ev.gene_sums {
        for (t, (p, o)) in s.predicted.iter().zip(&s.observed).enumerate() {
            sums += &format!("{}\t{}\t{}\t{}\t{:.4}\t{:.4}\n", s.id, s.strand, s.bins, ev.tracks[t].identifier, p, o);
        }
    }
    shorkie::io::write_atomic(&out.join("gene_sums.tsv"), sums.as_bytes())?;
    // One scatter per track on a shared log scale, each gene on its track's strand.
    const COLORS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
    let series: Vec<Series> = ev
        .genes
        .iter()
        .take(COLORS.len())
        .map(|g| Series {
            name: &g.identifier,
            color: COLORS[g.index % COLORS.len()],
            points: ev
                .gene_sums
                .iter()
                .filter(|s| g.strand.is_none_or(|c| c == s.strand))
                .map(|s| ((s.observed[g.index] + 1.0).log2(), (s.predicted[g.index] + 1.0).log2()))
                .collect(),
            dots: true,
        })
        .collect();
    let svg = line_chart(
        &format!("gene-level coverage, test fold (mean R {:.3})", ev.mean_gene_r()),
        "observed log2(sum + 1)",
        "predicted log2(sum + 1)",
        &series,
    );
    write_chart(&out.join("eval_genes.svg"), &svg)
}

fn main() {
    shorkie::cli::default_sigpipe();
    shorkie::cli::run_main("shorkie-eval", || {
        let cli = Cli::parse();
        shorkie::cli::set_threads(cli.threads);
        let params_path = cli.params.clone().unwrap_or_else(|| cli.model.with_file_name("params.json"));
        let params = Params::from_file(&params_path)?;
        let model = SeqNN::load(&params, &cli.model, &candle_core::Device::Cpu)?;
        let targets = Targets::from_file(&cli.targets)?;
        let geometry = Geometry::of(&model, &targets, cli.species_index)?;
        let blacklist = match &cli.blacklist {
            Some(p) => Blacklist::from_bed(p, BLACKLIST_BUFFER)?,
            None => Blacklist::default(),
        };
        let windows = read_sequences(&cli.sequences, &cli.split)?;
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
        let genes = match &cli.gtf {
            Some(p) => Some(GeneIndex::from_path(p)?),
            None => None,
        };
        let ev = evaluate(&model, &data, &windows, genes.as_ref(), cli.batch_size.max(1), cli.rc)?;
        shorkie::io::prepare_output_dir(&cli.output)?;
        write_reports(&cli.output, &ev)?;
        if !cli.quiet {
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
