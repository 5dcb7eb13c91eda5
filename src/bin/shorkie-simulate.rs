//! shorkie-simulate: a planted-grammar benchmark on a real genome (see `shorkie::sim`).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use shorkie::sim::{run, Coverage, Options};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CoverageArg {
    Exons,
    Tss,
}

#[derive(Parser, Debug)]
#[command(
    args_override_self = true,
    name = "shorkie-simulate",
    version,
    about = "Plant a promoter-motif grammar on a genome: stranded RNA-seq BigWigs, causal and null variants with their true effects"
)]
struct Cli {
    /// Indexed reference FASTA (plain or bgzip, with .fai).
    #[arg(short, long)]
    fasta: PathBuf,
    /// Gene annotation (GTF, plain or gzip); exon lines with gene_id.
    #[arg(short, long)]
    gtf: PathBuf,
    /// Output folder (created): rna.plus.bw, rna.minus.bw, targets.txt, genes.tsv, motifs.tsv,
    /// variants.vcf, variants.truth.tsv.
    #[arg(short, long)]
    output: PathBuf,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Promoter length upstream of the gene start (TSS proxy).
    #[arg(long, default_value_t = 400)]
    promoter_bp: u32,
    /// Causal variants (and as many matched nulls).
    #[arg(long, default_value_t = 200)]
    variants: usize,
    /// Coverage per unit of expression (expected depth = 2^log2E * depth).
    #[arg(long, default_value_t = 1.0)]
    depth: f64,
    /// sd of the per-gene log2 expression noise.
    #[arg(long, default_value_t = 0.2)]
    gene_noise: f64,
    /// Variance of the per-base gamma multiplier of the Poisson depth (0: Poisson).
    #[arg(long, default_value_t = 0.1)]
    dispersion: f64,
    /// Where expression shows as coverage: `exons` (every exon base, RNA-seq) or `tss` (the
    /// first --tss-bp bases from the TSS on the gene's strand, a 5'-end signal beside the
    /// promoter that sets it).
    #[arg(long, value_enum, default_value_t = CoverageArg::Exons)]
    coverage: CoverageArg,
    /// Bases covered from the TSS with --coverage tss.
    #[arg(long, default_value_t = 256)]
    tss_bp: u32,
    /// Only these contigs, comma-separated (FASTA names).
    #[arg(long, value_delimiter = ',')]
    contigs: Option<Vec<String>>,
    #[command(flatten)]
    common: shorkie::cli::CommonArgs,
}

fn main() {
    shorkie::cli::default_sigpipe();
    shorkie::cli::run_main("shorkie-simulate", || {
        let cli: Cli = shorkie::cli::parse();
        shorkie::cli::set_threads(cli.common.threads);
        let t0 = Instant::now();
        shorkie::limits::at_most(cli.variants as u64, 10_000_000, "--variants")?;
        for (v, what) in [(cli.depth, "--depth"), (cli.gene_noise, "--gene-noise"), (cli.dispersion, "--dispersion")] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(shorkie::Error::Input(format!("{what} {v} must be a number >= 0")));
            }
        }
        let mut opts = Options::new(&cli.fasta, &cli.gtf, &cli.output);
        opts.seed = cli.seed;
        opts.promoter_bp = cli.promoter_bp;
        opts.variants = cli.variants;
        opts.depth = cli.depth;
        opts.gene_noise = cli.gene_noise;
        opts.dispersion = cli.dispersion;
        opts.coverage = match cli.coverage {
            CoverageArg::Exons => Coverage::Exons,
            CoverageArg::Tss => Coverage::Tss { tss_bp: cli.tss_bp },
        };
        opts.contigs = cli.contigs.map(|v| v.into_iter().map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect());
        let s = run(&opts)?;
        if !cli.common.quiet {
            let _ = writeln!(
                std::io::stderr(),
                "shorkie-simulate: {} genes on {} contig(s), log2 expression {:.2} to {:.2} (sd {:.2}); {} causal + {} null variants; wrote {} files to {} in {:.1} s",
                s.genes,
                s.contigs,
                s.log2_min,
                s.log2_max,
                s.log2_sd,
                s.causal,
                s.null,
                s.files.len(),
                cli.output.display(),
                t0.elapsed().as_secs_f64()
            );
            if s.causal < opts.variants {
                let _ = writeln!(
                    std::io::stderr(),
                    "shorkie-simulate: note: only {} causal variants could be planted (asked for {})",
                    s.causal,
                    opts.variants
                );
            }
        }
        Ok(())
    })
}
