//! shorkie-ism: in-silico saturation mutagenesis (and gradient x input) over BED regions
//! or around VCF variants, scored with the scorer's statistics.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use shorkie::ism::report::{self, Matrix};
use shorkie::ism::runner::PassPreds;
use shorkie::ism::saliency::{gradient, Objective};
use shorkie::ism::score::Scoring;
use shorkie::ism::windows;
use shorkie::ism::{Mutant, RunSpec, Runner};
use shorkie::model_args::{parse_list, AugmentArgs, ModelArgs, TrackArgs};
use shorkie::score::encode::base_index;
use shorkie::score::scorer::format_value;
use shorkie::score::stats::Stat;
use shorkie::score::tracks::Column;
use shorkie::viz;
use shorkie::Error;

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

/// Mean over passes and over a column's tracks, per bin.
fn column_profile(preds: &[f32], passes: usize, bins: usize, tracks: &[usize], col: &Column) -> Vec<f32> {
    let nt = tracks.len();
    let idx: Vec<usize> = col.tracks.iter().map(|t| tracks.iter().position(|x| x == t).expect("predicted")).collect();
    (0..bins)
        .map(|b| {
            let mut s = 0f64;
            for p in 0..passes {
                for &i in &idx {
                    s += preds[(p * bins + b) * nt + i] as f64;
                }
            }
            (s / (passes * idx.len()) as f64) as f32
        })
        .collect()
}

fn main() {
    shorkie::cli::default_sigpipe();
    shorkie::cli::run_main("shorkie-ism", || {
        let cli: Cli = shorkie::cli::parse();
        shorkie::cli::set_threads(cli.common.threads);
        shorkie::limits::count(cli.batch.batch_size as u64, shorkie::limits::MAX_BATCH, "--batch-size")?;
        shorkie::io::prepare_output_dir(&cli.output)?;
        let loaded = cli.model.load()?;
        shorkie::limits::batch_input(cli.batch.batch_size, loaded.params.model.seq_length, loaded.layout.channels)?;
        if loaded.looks_lm() {
            return Err(Error::Input(
                "shorkie-ism needs a track model (the language model's zero-shot scores come from shorkie-score)".into(),
            ));
        }
        let stats: Vec<Stat> = parse_list(&cli.stats, "--stats")?;
        if stats.is_empty() {
            return Err(Error::Input("--stats: give at least one statistic".into()));
        }
        let mut columns = loaded.columns(&cli.track_args)?;
        if let Some(pattern) = &cli.group_by {
            let targets = loaded.targets.as_ref().ok_or_else(|| Error::Input("--group-by needs --targets".into()))?;
            let mut chosen: Vec<usize> = columns.iter().flat_map(|c| c.tracks.iter().copied()).collect();
            chosen.sort_unstable();
            chosen.dedup();
            let (groups, unmatched) = report::group_tracks(targets, &chosen, pattern)?;
            if !unmatched.is_empty() && !cli.common.quiet {
                let _ = writeln!(std::io::stderr(), "shorkie-ism: --group-by left out {} track(s) it does not match", unmatched.len());
            }
            columns = groups;
        }
        let mut tracks: Vec<usize> = columns.iter().flat_map(|c| c.tracks.iter().copied()).collect();
        tracks.sort_unstable();
        tracks.dedup();
        let fasta = shorkie::formats::indexed_fasta::Fasta::open(&cli.fasta)?;
        let seq_len = loaded.params.model.seq_length;
        shorkie::limits::at_most(cli.flank as u64, seq_len as u64, "--flank")?;
        let wins = if cli.vcf {
            windows::from_vcf(&cli.input, &fasta, seq_len, cli.flank)?
        } else {
            windows::from_bed(&cli.input, &fasta, seq_len)?
        };
        let genes = match &cli.gtf {
            Some(p) => {
                let genes = shorkie::formats::gtf::GeneIndex::from_path(p)?;
                genes.check_contigs(p, &fasta)?;
                Some(genes)
            }
            None => None,
        };
        let runner = Runner::new(&loaded.models, RunSpec {
            tracks: tracks.clone(),
            shifts: cli.augment.shift_list(seq_len)?,
            rc: cli.augment.rc,
            strand_pair: loaded.strand_pair(),
            fast: !cli.brute_force,
        })?;
        let head = &loaded.models[0].heads()[0];
        let (bins, bin_bp, crop_bp) = (head.shape.len, head.bin_bp, head.crop_bp);
        let mut scoring = Scoring {
            stats: stats.clone(),
            columns: columns.clone(),
            tracks: tracks.clone(),
            passes: runner.passes(),
            bins,
            keep_bins: None,
            allowed: None,
        };
        let names = scoring.names();
        let mut tsv = format!("#name\tchrom\tpos\tref\talt\t{}\n", names.join("\t"));
        let ncols = columns.len();
        let mut ism: Vec<Vec<Matrix>> = vec![Vec::new(); ncols];
        let mut sal: Vec<Vec<Matrix>> = vec![Vec::new(); ncols];
        let mut skipped_bases = 0usize;
        let mut progress = (!cli.common.quiet && shorkie::cli::stderr_is_tty()).then(|| {
            let total: u64 = wins.iter().map(|w| w.len() as u64).sum();
            indicatif::ProgressBar::new(total)
        });
        let bs = cli.batch.batch_size;
        let mut outputs = shorkie::ism::outputs::Outputs::new(&cli.output);
        let sheet = loaded.sheet()?;
        for w in &wins {
            let mut input = Vec::new();
            loaded.layout.encode_into(&w.seq, None, &mut input);
            if let (Some(id), Some(g)) = (&cli.gene, &genes) {
                let gene = g
                    .by_contig
                    .get(&w.contig)
                    .and_then(|v| v.iter().find(|x| &x.id == id || x.name.as_deref() == Some(id.as_str())))
                    .ok_or_else(|| Error::Input(format!("--gene {id}: not on {} in the GTF", w.contig)))?;
                let keep: Vec<usize> = (0..bins)
                    .filter(|b| {
                        let lo = w.start + (crop_bp + b * bin_bp) as i64;
                        gene.exons.iter().any(|&(s, e)| s < lo + bin_bp as i64 && e > lo)
                    })
                    .collect();
                if keep.is_empty() {
                    return Err(Error::Input(format!("{}: gene {id} has no exon in the window's output bins", w.name)));
                }
                scoring.keep_bins = Some(keep);
                scoring.allowed = Some(sheet.rows.iter().map(|r| r.strand.is_none_or(|s| s == gene.strand)).collect());
            }
            let prepared = runner.prepare(&input)?;
            let mut reference: PassPreds = prepared.reference.clone();
            if let Some(t) = &loaded.targets {
                runner.untransform(t, &mut reference);
            }
            let mut mats: Vec<Matrix> = (0..ncols)
                .map(|_| Matrix {
                    contig: w.contig.clone(),
                    start: w.start + w.lo as i64,
                    seq: w.seq[w.lo..w.hi].to_vec(),
                    values: vec![[0.0; 4]; w.len()],
                })
                .collect();
            let mut mutants = Vec::new();
            for pos in w.lo..w.hi {
                match base_index(w.seq[pos]) {
                    Some(r) => mutants.extend((0..4).filter(|&b| b != r).map(|base| Mutant { pos, base })),
                    None => skipped_bases += 1,
                }
            }
            for chunk in mutants.chunks(bs) {
                let preds = runner.predict(&prepared, chunk)?;
                for (m, mut p) in chunk.iter().zip(preds) {
                    if let Some(t) = &loaded.targets {
                        runner.untransform(t, &mut p);
                    }
                    let values = scoring.score(&reference, &p);
                    let gpos = w.start + m.pos as i64 + 1;
                    tsv.push_str(&format!("{}\t{}\t{gpos}\t{}\t{}", w.name, w.contig, w.seq[m.pos] as char, b"ACGT"[m.base] as char));
                    for v in &values {
                        tsv.push('\t');
                        tsv.push_str(&v.map_or(".".to_string(), format_value));
                    }
                    tsv.push('\n');
                    for (c, mat) in mats.iter_mut().enumerate() {
                        mat.values[m.pos - w.lo][m.base] = values[c].map_or(f32::NAN, |v| v as f32);
                    }
                }
                if let Some(pb) = &mut progress {
                    pb.inc((chunk.len() / 3) as u64);
                }
            }
            if cli.saliency {
                for (c, col) in columns.iter().enumerate() {
                    let obj = Objective { tracks: col.tracks.clone(), bins: scoring.keep_bins.clone() };
                    let mut sum = vec![[0f32; 4]; seq_len];
                    for model in &loaded.models {
                        for (acc, g) in sum.iter_mut().zip(gradient(model, &input, &obj)?) {
                            for k in 0..4 {
                                acc[k] += g[k] / loaded.models.len() as f32;
                            }
                        }
                    }
                    sal[c].push(Matrix { values: sum[w.lo..w.hi].to_vec(), ..mats[c].clone() });
                }
            }
            if cli.plot {
                let alt = w.site.as_ref().and_then(|s| {
                    let a = s.alts.first()?;
                    (s.reference.len() == 1 && a.len() == 1).then_some(())?;
                    Some(Mutant { pos: (s.pos0 - w.start) as usize, base: base_index(a.as_bytes()[0])? })
                });
                let alt_pred = match alt {
                    Some(m) => {
                        let mut p = runner.predict(&prepared, &[m])?.remove(0);
                        if let Some(t) = &loaded.targets {
                            runner.untransform(t, &mut p);
                        }
                        Some(p)
                    }
                    None => None,
                };
                let passes = runner.passes();
                let rows = columns
                    .iter()
                    .map(|col| viz::TrackRow {
                        name: col.label.clone(),
                        reference: column_profile(&reference, passes, bins, &tracks, col),
                        alternate: alt_pred.as_ref().map(|p| column_profile(p, passes, bins, &tracks, col)),
                    })
                    .collect();
                let out_start = w.start + crop_bp as i64;
                let out_end = out_start + (bins * bin_bp) as i64;
                let gene_models = genes
                    .as_ref()
                    .map(|g| {
                        g.near(&w.contig, (out_start + out_end) / 2, (out_end - out_start) / 2)
                            .into_iter()
                            .map(|x| viz::GeneModel { id: x.name.clone().unwrap_or(x.id.clone()), strand: x.strand, exons: x.exons.clone() })
                            .collect()
                    })
                    .unwrap_or_default();
                let logo = viz::Logo {
                    start: mats[0].start,
                    scores: mats[0]
                        .projected()
                        .iter()
                        .zip(&mats[0].seq)
                        .map(|(v, b)| {
                            let mut s = [0f32; 4];
                            if let Some(k) = base_index(*b) {
                                s[k] = *v;
                            }
                            s
                        })
                        .collect(),
                };
                let plot = viz::LocusPlot {
                    contig: w.contig.clone(),
                    start: out_start,
                    bin_bp,
                    tracks: rows,
                    genes: gene_models,
                    variant: w.site.as_ref().map(|s| viz::Variant {
                        pos0: s.pos0,
                        reference: s.reference.clone(),
                        alternate: s.alts.first().cloned().unwrap_or_default(),
                        id: Some(w.name.clone()),
                    }),
                    logo: Some(logo),
                    title: format!("{} — {} ({} importance: {})", w.name, w.contig, stats[0].name(), columns[0].label),
                };
                let dir = cli.output.join("plots");
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                let svg = outputs.path(format!("plots/{}.svg", report::file_label(&w.name)));
                viz::write_svg(&svg, &viz::render_locus(&plot))?;
            }
            for (c, m) in mats.into_iter().enumerate() {
                ism[c].push(m);
            }
        }
        if let Some(pb) = progress {
            pb.finish_and_clear();
        }
        shorkie::io::write_atomic(&outputs.path("ism.tsv"), tsv.as_bytes())?;
        for (c, col) in columns.iter().enumerate() {
            let label = report::file_label(&col.label);
            report::write_modisco_npz(&outputs.path(format!("ism.{label}.npz")), &ism[c])?;
            let track = report::importance_track(&ism[c]);
            report::write_bedgraph(&outputs.path(format!("ism.{label}.bedgraph")), &track, &format!("ISM {} {}", stats[0].name(), col.label))?;
            if cli.saliency {
                report::write_modisco_npz(&outputs.path(format!("saliency.{label}.npz")), &sal[c])?;
                let track = report::importance_track(&sal[c]);
                report::write_bedgraph(&outputs.path(format!("saliency.{label}.bedgraph")), &track, &format!("gradient x input {}", col.label))?;
            }
        }
        if cli.group_by.is_some() {
            let labels: Vec<String> = columns.iter().map(|c| c.label.clone()).collect();
            let profiles: Vec<Vec<f64>> = (0..ncols)
                .map(|c| ism[c].iter().flat_map(|m| m.projected()).map(|v| v as f64).collect())
                .collect();
            let d = report::distance_matrix(&profiles);
            report::write_distance_tsv(&outputs.path("groups.distance.tsv"), &labels, &d)?;
            viz::write_svg(
                &outputs.path("groups.heatmap.svg"),
                &viz::render_heatmap("ISM profile distance between track groups", &labels, &d, "Euclidean distance"),
            )?;
            let x_start = ism[0].first().map_or(0, |m| m.start);
            viz::write_svg(
                &outputs.path("groups.profiles.svg"),
                &viz::render_profiles(&format!("ISM importance ({}) per group", stats[0].name()), x_start, &labels, &profiles),
            )?;
        }
        let removed = outputs.finish()?;
        if !cli.common.quiet && !removed.is_empty() {
            let _ = writeln!(
                std::io::stderr(),
                "shorkie-ism: removed {} file(s) of the previous run in {} that this run did not write",
                removed.len(),
                cli.output.display()
            );
        }
        if !cli.common.quiet {
            let n: usize = wins.iter().map(|w| w.len()).sum();
            let _ = writeln!(
                std::io::stderr(),
                "shorkie-ism: {} window(s), {n} positions, {} mutants scored, {skipped_bases} non-ACGT reference base(s) not mutated; local tower recomputed on {} of {seq_len} bp per mutant",
                wins.len(),
                (n - skipped_bases) * 3,
                if cli.brute_force { seq_len } else { runner.crop_len() }
            );
        }
        Ok(())
    })
}
