//! Planted-grammar benchmark: synthetic RNA-seq coverage and causal variants on a real genome.
//!
//! Design (`shorkie-simulate`):
//! - **Grammar** ([`motifs`]): seven real yeast promoter motifs (Rap1, Abf1, Reb1, TATA, PAC,
//!   RRPE, Mig1) as IUPAC consensus strings, each with a log2 effect and a cap on counted
//!   copies. Both strands are scanned; a start position counts once.
//! - **Promoter**: the `promoter_bp` bases upstream of the gene's first exon base on its
//!   strand (GTF exons are CDS spans, so the gene start stands in for the TSS), clipped at
//!   the contig ends; only motif windows lying wholly inside it count.
//! - **Expression**: `log2 E = base + Σ effect × min(count, cap)` (the planted grammar,
//!   `log2_grammar`) plus a per-gene normal draw with sd `gene_noise` (`log2_expression`).
//! - **Coverage**: stranded tracks; every base of a gene's (merged) exons gets the
//!   expected depth `E × depth` on its strand's track (overlapping genes add), then a
//!   per-base gamma-Poisson draw (gamma multiplier of mean 1 and variance `dispersion`,
//!   plain Poisson when 0). Written as complete BigWigs (zero runs included) with
//!   bigtools, contigs in name order, sizes from the FASTA index.
//! - **Variants**: causal SNVs inside promoters that break a motif occurrence or create
//!   one, balanced round-robin over (motif, break/create); the true effect is the change
//!   of the planted log2 expression, recomputed with the ALT for every gene whose promoter
//!   holds the site (the largest |effect| is reported; it is never 0). Each `causal_k` has
//!   a `null_k` in the same 50-bp bin of distance to its gene's TSS, also in a promoter,
//!   where the SNV changes no motif count of any gene (effect exactly 0). One SNV per
//!   position.
//! - **Randomness**: one seed, separate streams per purpose ([`rng`]), so outputs are
//!   byte-identical for the same inputs, options and seed.

pub mod motifs;
pub mod rng;
pub mod tracks;
pub mod variants;

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::formats::indexed_fasta::Fasta;
use crate::formats::gtf::GeneIndex;
use crate::io::write_atomic;

use motifs::{base_mask, Grammar};
use rng::Rng;

/// Where a gene's planted expression shows as coverage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Every base of the gene's exons (RNA-seq).
    Exons,
    /// The first `tss_bp` bases downstream of the TSS on the gene's strand (a 5'-end,
    /// CAGE-like signal), right beside the promoter that sets it.
    Tss { tss_bp: u32 },
}

/// File names inside the output folder.
pub const PLUS_BW: &str = "rna.plus.bw";
pub const MINUS_BW: &str = "rna.minus.bw";
pub const TARGETS: &str = "targets.txt";
pub const GENES: &str = "genes.tsv";
pub const MOTIFS_TSV: &str = "motifs.tsv";
pub const VCF: &str = "variants.vcf";
pub const TRUTH: &str = "variants.truth.tsv";

#[derive(Debug, Clone)]
pub struct Options {
    pub fasta: PathBuf,
    pub gtf: PathBuf,
    pub out_dir: PathBuf,
    pub seed: u64,
    pub promoter_bp: u32,
    /// Causal variants wanted (and as many nulls).
    pub variants: usize,
    /// Coverage per unit of expression.
    pub depth: f64,
    /// sd of the per-gene log2 expression noise.
    pub gene_noise: f64,
    /// Variance of the per-base gamma multiplier (0: Poisson).
    pub dispersion: f64,
    /// Restrict to these contigs (FASTA names).
    pub contigs: Option<Vec<String>>,
    pub coverage: Coverage,
}

impl Options {
    pub fn new(fasta: impl Into<PathBuf>, gtf: impl Into<PathBuf>, out_dir: impl Into<PathBuf>) -> Self {
        Options {
            fasta: fasta.into(),
            gtf: gtf.into(),
            out_dir: out_dir.into(),
            seed: 1,
            promoter_bp: 400,
            variants: 200,
            depth: 1.0,
            gene_noise: 0.2,
            dispersion: 0.1,
            contigs: None,
            coverage: Coverage::Exons,
        }
    }
}

/// A contig of the run, in FASTA order.
#[derive(Debug, Clone)]
pub struct Contig {
    pub name: String,
    pub len: u64,
}

/// A gene with its promoter, motif counts and planted expression.
#[derive(Debug, Clone)]
pub struct SimGene {
    pub id: String,
    pub name: Option<String>,
    pub contig: usize,
    pub strand: char,
    /// Merged exons, 0-based half-open.
    pub exons: Vec<(i64, i64)>,
    /// 0-based TSS proxy: first exon base on the gene's strand.
    pub tss: i64,
    /// Promoter, 0-based half-open (may be empty at a contig end).
    pub promoter: (i64, i64),
    /// Promoter bases (upper case) and their masks.
    pub promoter_seq: Vec<u8>,
    pub counts: Vec<u32>,
    pub log2_grammar: f64,
    pub log2_expression: f64,
}

impl SimGene {
    /// Distance (>= 1) from the TSS to a promoter position, upstream on the gene's strand.
    pub fn tss_distance(&self, pos: i64) -> i64 {
        if self.strand == '+' {
            self.tss - pos
        } else {
            pos - self.tss
        }
    }

    /// The 0-based half-open spans that carry this gene's coverage, within `0..contig_len`.
    pub fn covered_spans(&self, coverage: Coverage, contig_len: i64) -> Vec<(i64, i64)> {
        match coverage {
            Coverage::Exons => self.exons.clone(),
            Coverage::Tss { tss_bp } => {
                let n = tss_bp as i64;
                let span = if self.strand == '+' { (self.tss, self.tss + n) } else { (self.tss + 1 - n, self.tss + 1) };
                vec![(span.0.max(0), span.1.min(contig_len))]
            }
        }
    }

    pub fn exon_bp(&self) -> i64 {
        self.exons.iter().map(|(s, e)| e - s).sum()
    }
}

/// What a run produced, for the summary line.
#[derive(Debug, Clone)]
pub struct Summary {
    pub contigs: usize,
    pub genes: usize,
    pub causal: usize,
    pub null: usize,
    pub log2_min: f64,
    pub log2_max: f64,
    pub log2_sd: f64,
    pub files: Vec<PathBuf>,
}

fn merge(mut exons: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    exons.sort();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(exons.len());
    for (s, e) in exons {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Loads contigs and genes, scans promoters and draws expression.
pub fn load(opts: &Options, grammar: &Grammar) -> Result<(Vec<Contig>, Vec<SimGene>)> {
    let fasta = Fasta::open(&opts.fasta)?;
    let all: Vec<Contig> =
        fasta.contigs_in_file_order().into_iter().map(|(name, len)| Contig { name, len }).collect();
    let contigs: Vec<Contig> = match &opts.contigs {
        None => all,
        Some(wanted) => {
            let mut out = Vec::new();
            for w in wanted {
                let c = all.iter().find(|c| &c.name == w).ok_or_else(|| {
                    Error::Input(format!("--contigs: {w} is not in {}", opts.fasta.display()))
                })?;
                if !out.iter().any(|o: &Contig| o.name == c.name) {
                    out.push(c.clone());
                }
            }
            // FASTA order whatever the order given.
            out.sort_by_key(|c| all.iter().position(|a| a.name == c.name));
            out
        }
    };
    let index = GeneIndex::from_path(&opts.gtf)?;
    // Every GTF contig must be in the FASTA (only the selected ones with --contigs).
    let mut gtf_contigs: Vec<&String> = index.by_contig.keys().collect();
    gtf_contigs.sort();
    for name in gtf_contigs {
        let selected = opts.contigs.as_ref().is_none_or(|w| w.contains(name));
        if selected && !fasta.has(name) {
            let gene = &index.by_contig[name][0].id;
            return Err(Error::Input(format!(
                "{}: contig {name} (gene {gene}) is not in {}",
                opts.gtf.display(),
                opts.fasta.display()
            )));
        }
    }
    let p = opts.promoter_bp as i64;
    let mut genes = Vec::new();
    for (ci, contig) in contigs.iter().enumerate() {
        let Some(list) = index.by_contig.get(&contig.name) else { continue };
        let len = contig.len as i64;
        for g in list {
            let exons = merge(g.exons.clone());
            let (start, end) = (exons[0].0, exons.last().expect("exons").1);
            if end > len {
                return Err(Error::Input(format!(
                    "{}: gene {} ends at {end}, beyond {} (length {len} in {})",
                    opts.gtf.display(),
                    g.id,
                    contig.name,
                    opts.fasta.display()
                )));
            }
            let (tss, promoter) = if g.strand == '+' {
                (start, ((start - p).max(0), start))
            } else {
                (end - 1, (end, (end + p).min(len)))
            };
            let promoter_seq = fasta.fetch_padded(&contig.name, promoter.0, promoter.1)?;
            let masks: Vec<u8> = promoter_seq.iter().map(|&b| base_mask(b)).collect();
            let counts = grammar.counts(&masks);
            let log2_grammar = grammar.log2_expression(&counts);
            genes.push(SimGene {
                id: g.id.clone(),
                name: g.name.clone(),
                contig: ci,
                strand: g.strand,
                exons,
                tss,
                promoter,
                promoter_seq,
                counts,
                log2_grammar,
                log2_expression: log2_grammar,
            });
        }
    }
    if genes.is_empty() {
        let on = match &opts.contigs {
            Some(w) => format!(" on {}", w.join(",")),
            None => String::new(),
        };
        return Err(Error::Input(format!("{}: no genes (exon lines with gene_id){on}", opts.gtf.display())));
    }
    genes.sort_by(|a, b| {
        (a.contig, a.exons[0].0, a.exons.last().map(|e| e.1), &a.id).cmp(&(b.contig, b.exons[0].0, b.exons.last().map(|e| e.1), &b.id))
    });
    let mut rng = Rng::stream(opts.seed, "gene-noise", 0);
    for g in &mut genes {
        let z = rng.normal();
        if opts.gene_noise > 0.0 {
            g.log2_expression = g.log2_grammar + opts.gene_noise * z;
        }
    }
    Ok((contigs, genes))
}

fn check_options(opts: &Options) -> Result<()> {
    let bad = |what: String| Err(Error::Input(what));
    if opts.promoter_bp == 0 {
        return bad("--promoter-bp must be at least 1".into());
    }
    if !(opts.depth.is_finite() && opts.depth > 0.0) {
        return bad(format!("--depth {} must be a positive number", opts.depth));
    }
    if !(opts.gene_noise.is_finite() && opts.gene_noise >= 0.0) {
        return bad(format!("--gene-noise {} must be >= 0", opts.gene_noise));
    }
    if !(opts.dispersion.is_finite() && opts.dispersion >= 0.0) {
        return bad(format!("--dispersion {} must be >= 0", opts.dispersion));
    }
    if opts.coverage == (Coverage::Tss { tss_bp: 0 }) {
        return bad("--tss-bp must be at least 1".into());
    }
    Ok(())
}

fn fmt_f(x: f64) -> String {
    let s = format!("{x:.6}");
    // -0.000000 -> 0.000000
    if s.trim_start_matches('-').trim_start_matches(['0', '.']).is_empty() {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

fn genes_tsv(genes: &[SimGene], contigs: &[Contig], grammar: &Grammar, depth: f64) -> String {
    let mut s = String::from(
        "gene_id\tgene_name\tcontig\tstrand\ttss\tpromoter_start\tpromoter_end\texon_bp\tlog2_grammar\tlog2_expression\tdepth",
    );
    for m in &grammar.motifs {
        s.push('\t');
        s.push_str(m.name);
    }
    s.push('\n');
    for g in genes {
        let _ = write!(
            s,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{:.4}",
            g.id,
            g.name.as_deref().unwrap_or("."),
            contigs[g.contig].name,
            g.strand,
            g.tss + 1,
            g.promoter.0 + 1,
            g.promoter.1,
            g.exon_bp(),
            fmt_f(g.log2_grammar),
            fmt_f(g.log2_expression),
            g.log2_expression.exp2() * depth
        );
        for c in &g.counts {
            let _ = write!(s, "\t{c}");
        }
        s.push('\n');
    }
    s
}

fn motifs_tsv(grammar: &Grammar, opts: &Options) -> String {
    let mut s = format!(
        "# log2_grammar = base + sum(log2_effect * min(count, cap)); base_log2={} promoter_bp={} gene_noise={} depth={} dispersion={} seed={} coverage={}\n",
        grammar.base,
        opts.promoter_bp,
        opts.gene_noise,
        opts.depth,
        opts.dispersion,
        opts.seed,
        match opts.coverage {
            Coverage::Exons => "exons".to_string(),
            Coverage::Tss { tss_bp } => format!("tss:{tss_bp}"),
        }
    );
    s.push_str("name\tfactor\tconsensus\tlog2_effect\tcap\tnote\n");
    for m in &grammar.motifs {
        let _ = writeln!(s, "{}\t{}\t{}\t{}\t{}\t{}", m.name, m.factor, m.consensus, m.log2_effect, m.cap, m.note);
    }
    s
}

/// The sheet's `strand` column lets gene-level scoring and evaluation match each gene to
/// the track of its own strand.
///
/// TSS coverage is trained on square roots (`sum_sqrt`, soft clip 384), as baskerville's RNA
/// tracks are: bin sums span about 4 to 200,000 over the planted expression range, and their
/// square roots a range a Poisson loss can fit at both ends.
fn targets_txt(coverage: Coverage) -> String {
    let (what, stat, clip, clip_soft) = match coverage {
        Coverage::Exons => ("RNA-seq".to_string(), "sum", 1000000, 100000),
        Coverage::Tss { tss_bp } => (format!("5' RNA-seq (first {tss_bp} bp from the TSS)"), "sum_sqrt", 100000, 384),
    };
    let mut s = String::from("index\tidentifier\tfile\tclip\tclip_soft\tscale\tsum_stat\tstrand_pair\tdescription\tgroup\tstrand\n");
    s.push_str(&format!("0\tsim_rna+\t{PLUS_BW}\t{clip}\t{clip_soft}\t1.0\t{stat}\t1\tsimulated {what}, plus strand\tRNA\t+\n"));
    s.push_str(&format!("1\tsim_rna-\t{MINUS_BW}\t{clip}\t{clip_soft}\t1.0\t{stat}\t0\tsimulated {what}, minus strand\tRNA\t-\n"));
    s
}

/// Runs the whole simulation and writes every output file into `opts.out_dir`.
pub fn run(opts: &Options) -> Result<Summary> {
    check_options(opts)?;
    let grammar = Grammar::default();
    let (contigs, genes) = load(opts, &grammar)?;
    let picked = variants::pick(&genes, &contigs, &grammar, opts)?;

    let out_dir = crate::io::prepare_output_dir(&opts.out_dir)?;
    let out = |name: &str| opts.out_dir.join(name);
    let mut files = Vec::new();
    for (strand, name) in [('+', PLUS_BW), ('-', MINUS_BW)] {
        tracks::write_track(&out(name), &contigs, &genes, strand, opts)?;
        files.push(out(name));
    }
    let texts: [(&str, String); 5] = [
        (TARGETS, targets_txt(opts.coverage)),
        (GENES, genes_tsv(&genes, &contigs, &grammar, opts.depth)),
        (MOTIFS_TSV, motifs_tsv(&grammar, opts)),
        (VCF, variants::vcf(&picked, &contigs, opts)),
        (TRUTH, variants::truth_tsv(&picked, &contigs, &genes)),
    ];
    for (name, text) in texts {
        write_atomic(&out(name), text.as_bytes())?;
        files.push(out(name));
    }

    let vals: Vec<f64> = genes.iter().map(|g| g.log2_expression).collect();
    let n = vals.len() as f64;
    let mean = vals.iter().sum::<f64>() / n;
    let sd = (vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    let used: std::collections::HashSet<usize> = genes.iter().map(|g| g.contig).collect();
    out_dir.keep();
    Ok(Summary {
        contigs: used.len(),
        genes: genes.len(),
        causal: picked.iter().filter(|v| v.causal).count(),
        null: picked.iter().filter(|v| !v.causal).count(),
        log2_min: vals.iter().copied().fold(f64::INFINITY, f64::min),
        log2_max: vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        log2_sd: sd,
        files,
    })
}
