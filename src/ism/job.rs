//! One ISM run as the binary asks for it: windows from BED or VCF, every mutant scored with
//! the scorer's statistics, importance matrices, bedGraphs, optional saliency, locus plots
//! and track-group comparisons, written into one output folder.

use std::io::Write;
use std::path::PathBuf;

use super::report::{self, Matrix};
use super::runner::PassPreds;
use super::saliency::{gradient, Objective};
use super::score::Scoring;
use super::windows::{self, IsmWindow};
use super::{Mutant, RunSpec, Runner};
use crate::error::{Error, Result};
use crate::model_args::{AugmentArgs, Loaded, TrackArgs};
use crate::score::encode::base_index;
use crate::score::scorer::format_value;
use crate::score::stats::Stat;
use crate::score::tracks::Column;
use crate::viz;

/// What to mutate, how to score it and where the results go.
pub struct Job {
    /// BED regions, or with `vcf` a VCF/BCF; `-` for stdin.
    pub input: String,
    pub vcf: bool,
    /// Bases mutated either side of each VCF variant.
    pub flank: usize,
    pub fasta: PathBuf,
    pub track_args: TrackArgs,
    pub augment: AugmentArgs,
    /// The first fills the importance matrices, tracks and plots.
    pub stats: Vec<Stat>,
    pub gtf: Option<PathBuf>,
    /// Score over this gene's exon bins (and its strand's tracks).
    pub gene: Option<String>,
    /// Regex whose first capture group groups tracks into columns.
    pub group_by: Option<String>,
    pub saliency: bool,
    pub plot: bool,
    /// The whole model for every mutant instead of reusing the local tower.
    pub brute_force: bool,
    pub output: PathBuf,
    pub batch_size: usize,
    pub quiet: bool,
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

/// Runs `job` with the loaded models (a track model, not a language model).
pub fn run(loaded: &Loaded, job: &Job) -> Result<()> {
    if loaded.looks_lm() {
        return Err(Error::Input(
            "shorkie-ism needs a track model (the language model's zero-shot scores come from shorkie-score)".into(),
        ));
    }
    if job.stats.is_empty() {
        return Err(Error::Input("--stats: give at least one statistic".into()));
    }
    let stats = job.stats.clone();
    let mut columns = loaded.columns(&job.track_args)?;
    if let Some(pattern) = &job.group_by {
        let targets = loaded.targets.as_ref().ok_or_else(|| Error::Input("--group-by needs --targets".into()))?;
        let mut chosen: Vec<usize> = columns.iter().flat_map(|c| c.tracks.iter().copied()).collect();
        chosen.sort_unstable();
        chosen.dedup();
        let (groups, unmatched) = report::group_tracks(targets, &chosen, pattern)?;
        if !unmatched.is_empty() && !job.quiet {
            let _ = writeln!(std::io::stderr(), "shorkie-ism: --group-by left out {} track(s) it does not match", unmatched.len());
        }
        columns = groups;
    }
    let mut tracks: Vec<usize> = columns.iter().flat_map(|c| c.tracks.iter().copied()).collect();
    tracks.sort_unstable();
    tracks.dedup();
    let fasta = crate::formats::indexed_fasta::Fasta::open(&job.fasta)?;
    let seq_len = loaded.params.model.seq_length;
    crate::limits::at_most(job.flank as u64, seq_len as u64, "--flank")?;
    let genes = match &job.gtf {
        Some(p) => {
            let genes = crate::formats::gtf::GeneIndex::from_path(p)?;
            genes.check_contigs(p, &fasta)?;
            Some(genes)
        }
        None => None,
    };
    let runner = Runner::new(&loaded.models, RunSpec {
        tracks: tracks.clone(),
        shifts: job.augment.shift_list(seq_len)?,
        rc: job.augment.rc,
        strand_pair: loaded.strand_pair(),
        fast: !job.brute_force,
    })?;
    let head = &loaded.models[0].heads()[0];
    let (bins, bin_bp, crop_bp) = (head.shape.len, head.bin_bp, head.crop_bp);
    let scoring = Scoring {
        stats: stats.clone(),
        columns: columns.clone(),
        tracks: tracks.clone(),
        passes: runner.passes(),
        bins,
        keep_bins: None,
        allowed: None,
    };
    let names = scoring.names();
    let ncols = columns.len();
    let sheet = loaded.sheet()?;
    let mut outputs = crate::ism::outputs::Outputs::new(&job.output);
    let mut tsv_out = crate::staged::Staged::new(&outputs.path("ism.tsv"))?;
    let tsv_shown = tsv_out.shown();
    let mut tsv = std::io::BufWriter::new(&mut tsv_out);
    writeln!(tsv, "#name\tchrom\tpos\tref\talt\t{}", names.join("\t")).map_err(|e| Error::io(&tsv_shown, e))?;
    // The matrices (16 bytes per mutated base and column) stay for the npz files and
    // importance tracks written at the end; the windows and the TSV stream.
    let mut ism: Vec<Vec<Matrix>> = vec![Vec::new(); ncols];
    let mut sal: Vec<Vec<Matrix>> = vec![Vec::new(); ncols];
    let (mut nwindows, mut positions, mut skipped_bases) = (0usize, 0usize, 0usize);
    let progress = (!job.quiet && crate::cli::stderr_is_tty()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed} {pos} windows ({per_sec}) {msg}").expect("valid template"),
        );
        bar
    });
    let mut ctx = WindowContext {
        loaded,
        job,
        runner: &runner,
        scoring,
        genes: genes.as_ref(),
        sheet: &sheet,
        columns: &columns,
        tracks: &tracks,
        geometry: (bins, bin_bp, crop_bp),
    };
    let windows = || {
        if job.vcf {
            windows::from_vcf(&job.input, &fasta, seq_len, job.flank)
        } else {
            windows::from_bed(&job.input, &fasta, seq_len)
        }
    };
    // One window per batch: its mutants are batched inside (`--batch-size`).
    let shape = crate::stream::Shape { batch_units: 1, queued: 2 };
    crate::stream::run(windows, |_| 1, |batch: Vec<IsmWindow>| batch.iter().map(|w| ctx.window(w)).collect(), shape, |done: WindowDone| {
        tsv.write_all(done.tsv.as_bytes()).map_err(|e| Error::io(&tsv_shown, e))?;
        if let Some((label, svg)) = &done.plot {
            let dir = job.output.join("plots");
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            viz::write_svg(&outputs.path(format!("plots/{}.svg", report::file_label(label))), svg)?;
        }
        for (c, m) in done.ism.into_iter().enumerate() {
            ism[c].push(m);
        }
        for (c, m) in done.saliency.into_iter().enumerate() {
            sal[c].push(m);
        }
        nwindows += 1;
        positions += done.positions;
        skipped_bases += done.skipped_bases;
        if let Some(bar) = &progress {
            bar.set_position(nwindows as u64);
            bar.set_message(format!("{} mutants", (positions - skipped_bases) * 3));
        }
        Ok(())
    })?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    tsv.flush().map_err(|e| Error::io(&tsv_shown, e))?;
    drop(tsv);
    tsv_out.commit()?;
    for (c, col) in columns.iter().enumerate() {
        let label = report::file_label(&col.label);
        report::write_modisco_npz(&outputs.path(format!("ism.{label}.npz")), &ism[c])?;
        let track = report::importance_track(&ism[c]);
        report::write_bedgraph(&outputs.path(format!("ism.{label}.bedgraph")), &track, &format!("ISM {} {}", stats[0].name(), col.label))?;
        if job.saliency {
            report::write_modisco_npz(&outputs.path(format!("saliency.{label}.npz")), &sal[c])?;
            let track = report::importance_track(&sal[c]);
            report::write_bedgraph(&outputs.path(format!("saliency.{label}.bedgraph")), &track, &format!("gradient x input {}", col.label))?;
        }
    }
    if job.group_by.is_some() {
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
    if !job.quiet && !removed.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "shorkie-ism: removed {} file(s) of the previous run in {} that this run did not write",
            removed.len(),
            job.output.display()
        );
    }
    if !job.quiet {
        let _ = writeln!(
            std::io::stderr(),
            "shorkie-ism: {nwindows} window(s), {positions} positions, {} mutants scored, {skipped_bases} non-ACGT reference base(s) not mutated; local tower recomputed on {} of {seq_len} bp per mutant",
            (positions - skipped_bases) * 3,
            if job.brute_force { seq_len } else { runner.crop_len() }
        );
    }
    Ok(())
}

/// What the model worker needs to score one window.
struct WindowContext<'a> {
    loaded: &'a Loaded,
    job: &'a Job,
    runner: &'a Runner<'a>,
    scoring: Scoring,
    genes: Option<&'a crate::formats::gtf::GeneIndex>,
    sheet: &'a crate::formats::targets::Targets,
    columns: &'a [Column],
    tracks: &'a [usize],
    /// Output bins, bin size and crop of the first head.
    geometry: (usize, usize, usize),
}

/// One window's results, in the order the writer puts them out.
struct WindowDone {
    tsv: String,
    /// Per column.
    ism: Vec<Matrix>,
    saliency: Vec<Matrix>,
    /// The window's name and its locus plot.
    plot: Option<(String, String)>,
    positions: usize,
    skipped_bases: usize,
}

impl WindowContext<'_> {
    fn window(&mut self, w: &IsmWindow) -> Result<WindowDone> {
        let (loaded, job, runner) = (self.loaded, self.job, self.runner);
        let (bins, bin_bp, crop_bp) = self.geometry;
        let seq_len = loaded.params.model.seq_length;
        let ncols = self.columns.len();
        let mut input = Vec::new();
        loaded.layout.encode_into(&w.seq, None, &mut input);
        if let (Some(id), Some(g)) = (&job.gene, self.genes) {
            let gene = g
                .by_contig
                .get(&w.contig)
                .and_then(|v| v.iter().find(|x| &x.id == id || x.name.as_deref() == Some(id.as_str())))
                .ok_or_else(|| Error::Input(format!("--gene {id}: not on {} in the GTF", w.contig)))?;
            let keep = crate::score::scorer::exon_bins(w.start, crop_bp, bin_bp, bins, &gene.exons);
            if keep.is_empty() {
                return Err(Error::Input(format!("{}: gene {id} has no exon in the window's output bins", w.name)));
            }
            self.scoring.keep_bins = Some(keep);
            self.scoring.allowed = Some(self.sheet.rows.iter().map(|r| r.strand.is_none_or(|s| s == gene.strand)).collect());
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
        let mut skipped_bases = 0;
        for pos in w.lo..w.hi {
            match base_index(w.seq[pos]) {
                Some(r) => mutants.extend((0..4).filter(|&b| b != r).map(|base| Mutant { pos, base })),
                None => skipped_bases += 1,
            }
        }
        let mut tsv = String::new();
        for chunk in mutants.chunks(job.batch_size.max(1)) {
            let preds = runner.predict(&prepared, chunk)?;
            for (m, mut p) in chunk.iter().zip(preds) {
                if let Some(t) = &loaded.targets {
                    runner.untransform(t, &mut p);
                }
                let values = self.scoring.score(&reference, &p);
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
        }
        let mut saliency = Vec::new();
        if job.saliency {
            for (c, col) in self.columns.iter().enumerate() {
                let obj = Objective { tracks: col.tracks.clone(), bins: self.scoring.keep_bins.clone() };
                let mut sum = vec![[0f32; 4]; seq_len];
                for model in &loaded.models {
                    for (acc, g) in sum.iter_mut().zip(gradient(model, &input, &obj)?) {
                        for k in 0..4 {
                            acc[k] += g[k] / loaded.models.len() as f32;
                        }
                    }
                }
                saliency.push(Matrix { values: sum[w.lo..w.hi].to_vec(), ..mats[c].clone() });
            }
        }
        let plot = if job.plot { Some((w.name.clone(), self.plot(w, &prepared, &reference, &mats[0])?)) } else { None };
        Ok(WindowDone { tsv, ism: mats, saliency, plot, positions: w.len(), skipped_bases })
    }

    /// The locus plot of a window: predicted tracks (reference and, for VCF SNVs, the
    /// first ALT), genes, and the ISM logo of the first column.
    fn plot(&self, w: &IsmWindow, prepared: &super::runner::Window, reference: &[f32], first: &Matrix) -> Result<String> {
        let (loaded, runner) = (self.loaded, self.runner);
        let (bins, bin_bp, crop_bp) = self.geometry;
        let alt = w.site.as_ref().and_then(|s| {
            let a = s.alts.first()?;
            (s.reference.len() == 1 && a.len() == 1).then_some(())?;
            Some(Mutant { pos: (s.pos0 - w.start) as usize, base: base_index(a.as_bytes()[0])? })
        });
        let alt_pred = match alt {
            Some(m) => {
                let mut p = runner.predict(prepared, &[m])?.remove(0);
                if let Some(t) = &loaded.targets {
                    runner.untransform(t, &mut p);
                }
                Some(p)
            }
            None => None,
        };
        let passes = runner.passes();
        let rows = self
            .columns
            .iter()
            .map(|col| viz::TrackRow {
                name: col.label.clone(),
                reference: column_profile(reference, passes, bins, self.tracks, col),
                alternate: alt_pred.as_ref().map(|p| column_profile(p, passes, bins, self.tracks, col)),
            })
            .collect();
        let out_start = w.start + crop_bp as i64;
        let out_end = out_start + (bins * bin_bp) as i64;
        let gene_models = self
            .genes
            .map(|g| {
                g.near(&w.contig, (out_start + out_end) / 2, (out_end - out_start) / 2)
                    .into_iter()
                    .map(|x| viz::GeneModel { id: x.name.clone().unwrap_or(x.id.clone()), strand: x.strand, exons: x.exons.clone() })
                    .collect()
            })
            .unwrap_or_default();
        let logo = viz::Logo {
            start: first.start,
            scores: first
                .projected()
                .iter()
                .zip(&first.seq)
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
            title: format!("{} — {} ({} importance: {})", w.name, w.contig, self.scoring.stats[0].name(), self.columns[0].label),
        };
        Ok(viz::render_locus(&plot))
    }
}
