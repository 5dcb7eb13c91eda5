//! Test-fold evaluation of a coverage model (`shorkie-eval`): per-track Pearson R and R²
//! over every bin of the windows (the training scale, as baskerville's hound_eval), and
//! gene-level accuracy as borzoi_test_genes: per gene and track, the sum over the gene's
//! exon bins of untransformed coverage, log2(x + 1), Pearson R across genes.

use std::collections::HashSet;
use std::path::Path;

use candle_core::Device;

use super::plot::{line_chart, write_chart, Series};
use super::supervised::{Augment, CoverageData, PearsonAcc};
use crate::coverage::folds::Segment;
use crate::ensemble::unreverse_output;
use crate::error::{Error, Result};
use crate::formats::gtf::{Gene, GeneIndex};
use crate::model::SeqNN;

#[derive(Debug, Clone)]
pub struct TrackMetric {
    pub index: usize,
    pub identifier: String,
    pub pearson_r: f64,
    pub r2: f64,
}

#[derive(Debug, Clone)]
pub struct GeneMetric {
    pub index: usize,
    pub identifier: String,
    /// The track's strand (None: unstranded, every gene counts).
    pub strand: Option<char>,
    /// Genes on the track's strand (all genes for unstranded tracks) with exon bins in the windows.
    pub genes: usize,
    pub pearson_r: f64,
    /// The same on the mean per exon bin: gene length no longer helps, so this measures
    /// how well expression itself is predicted.
    pub pearson_r_mean: f64,
}

/// One gene's summed exon coverage, predicted and observed, per track.
#[derive(Debug, Clone)]
pub struct GeneSums {
    pub id: String,
    pub strand: char,
    pub bins: usize,
    pub predicted: Vec<f64>,
    pub observed: Vec<f64>,
}

pub struct Evaluation {
    pub windows: usize,
    pub tracks: Vec<TrackMetric>,
    pub genes: Vec<GeneMetric>,
    pub gene_sums: Vec<GeneSums>,
}

impl Evaluation {
    pub fn mean_track_r(&self) -> f64 {
        mean(self.tracks.iter().map(|t| t.pearson_r))
    }

    pub fn mean_gene_r(&self) -> f64 {
        mean(self.genes.iter().map(|g| g.pearson_r))
    }

    pub fn mean_gene_r_per_bin(&self) -> f64 {
        mean(self.genes.iter().map(|g| g.pearson_r_mean))
    }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// A track's strand: the sheet's `strand` column, else a trailing `+`/`-` on a stranded
/// track's identifier.
fn track_strand(data: &CoverageData, t: usize) -> Option<char> {
    let row = &data.targets.rows[t];
    row.strand.or_else(|| {
        if row.strand_pair == t {
            return None;
        }
        match row.identifier.chars().last() {
            Some(c @ ('+' | '-')) => Some(c),
            _ => None,
        }
    })
}

/// Predicts every window (averaging forward and reverse complement with `rc`) and
/// measures the predictions against the targets; with `genes`, also gene-level accuracy.
pub fn evaluate(
    model: &SeqNN,
    data: &CoverageData,
    windows: &[Segment],
    genes: Option<&GeneIndex>,
    batch_size: usize,
    rc: bool,
    device: &Device,
) -> Result<Evaluation> {
    let g = &data.geometry;
    let tracks = data.targets.rows.len();
    let mut acc = PearsonAcc::new(tracks);
    let gene_list: Vec<&Gene> = match genes {
        Some(index) => {
            let mut v: Vec<&Gene> = index.by_contig.values().flatten().collect();
            v.sort_by(|a, b| (&a.chrom, a.start(), &a.id).cmp(&(&b.chrom, b.start(), &b.id)));
            v
        }
        None => Vec::new(),
    };
    let mut sums: Vec<GeneSums> = gene_list
        .iter()
        .map(|gene| GeneSums { id: gene.id.clone(), strand: gene.strand, bins: 0, predicted: vec![0.0; tracks], observed: vec![0.0; tracks] })
        .collect();
    // A genomic bin counts once per gene, whichever window saw it first.
    let mut seen: HashSet<(usize, u64)> = HashSet::new();
    let pairs = data.targets.strand_pairs();
    for chunk in windows.chunks(batch_size.max(1)) {
        let fwd = vec![Augment::default(); chunk.len()];
        let x = data.inputs(chunk, &fwd, device)?;
        let y = data.targets(chunk, &fwd, device)?;
        let mut pred = model.forward(&x)?;
        if rc {
            let back = vec![Augment { rc: true, shift: 0 }; chunk.len()];
            let pr = unreverse_output(&model.forward(&data.inputs(chunk, &back, device)?)?, Some(&pairs))?;
            pred = ((pred + pr)? * 0.5)?;
        }
        acc.add_batch(&pred, &y)?;
        if gene_list.is_empty() {
            continue;
        }
        let p: Vec<Vec<Vec<f32>>> = pred.to_vec3()?;
        let o: Vec<Vec<Vec<f32>>> = y.to_vec3()?;
        for (k, w) in chunk.iter().enumerate() {
            let first = w.start + g.crop_bp as u64;
            let last = first + (g.bins * g.pool_width) as u64;
            for (gi, gene) in gene_list.iter().enumerate() {
                if gene.chrom != w.contig || gene.end() <= first as i64 || gene.start() >= last as i64 {
                    continue;
                }
                for &(s, e) in &gene.exons {
                    let (s, e) = (s.max(first as i64) as u64, (e.min(last as i64)).max(0) as u64);
                    if s >= e {
                        continue;
                    }
                    let b0 = ((s - first) / g.pool_width as u64) as usize;
                    let b1 = ((e - 1 - first) / g.pool_width as u64) as usize;
                    for b in b0..=b1 {
                        let genomic = first + (b * g.pool_width) as u64;
                        if !seen.insert((gi, genomic)) {
                            continue;
                        }
                        sums[gi].bins += 1;
                        for t in 0..tracks {
                            sums[gi].predicted[t] += data.targets.untransform(t, p[k][b][t]) as f64;
                            sums[gi].observed[t] += data.targets.untransform(t, o[k][b][t]) as f64;
                        }
                    }
                }
            }
        }
    }
    let track_metrics = (0..tracks)
        .map(|t| TrackMetric {
            index: t,
            identifier: data.targets.rows[t].identifier.clone(),
            pearson_r: acc.pearson(t),
            r2: acc.r2(t),
        })
        .collect();
    sums.retain(|s| s.bins > 0);
    let mut gene_metrics = Vec::new();
    if genes.is_some() {
        for t in 0..tracks {
            let strand = track_strand(data, t);
            let mut gacc = PearsonAcc::new(2);
            let mut n = 0;
            for s in sums.iter().filter(|s| strand.is_none_or(|c| c == s.strand)) {
                gacc.add(0, (s.predicted[t] + 1.0).log2(), (s.observed[t] + 1.0).log2());
                let bins = s.bins as f64;
                gacc.add(1, (s.predicted[t] / bins + 1.0).log2(), (s.observed[t] / bins + 1.0).log2());
                n += 1;
            }
            gene_metrics.push(GeneMetric {
                index: t,
                identifier: data.targets.rows[t].identifier.clone(),
                strand,
                genes: n,
                pearson_r: if n > 1 { gacc.pearson(0) } else { f64::NAN },
                pearson_r_mean: if n > 1 { gacc.pearson(1) } else { f64::NAN },
            });
        }
    }
    Ok(Evaluation { windows: windows.len(), tracks: track_metrics, genes: gene_metrics, gene_sums: sums })
}

/// hound's sequences.bed: contig, start, end and the split (`train`, `valid`, `test`) as
/// the BED name column; the windows of `split`.
pub fn read_split_windows(path: &Path, split: &str) -> Result<Vec<Segment>> {
    let (records, source) = crate::formats::bed::read_records(&path.display().to_string())?;
    let mut out = Vec::new();
    for r in records {
        match r.name.as_deref() {
            None => {
                return Err(Error::Input(format!(
                    "{source}:{}: no split column (expected contig, start, end, split)",
                    r.line
                )))
            }
            Some(s) if s == split => out.push(r.interval),
            Some(_) => {}
        }
    }
    if out.is_empty() {
        return Err(Error::Input(format!("{source}: no \"{split}\" windows")));
    }
    Ok(out)
}

/// The reports of `shorkie-eval` in `out`: eval_tracks.tsv, and with genes eval_genes.tsv,
/// gene_sums.tsv and the eval_genes.svg scatter.
pub fn write_reports(out: &Path, ev: &Evaluation) -> Result<()> {
    let mut tracks = String::from("index\tidentifier\tpearson_r\tr2\n");
    for t in &ev.tracks {
        tracks += &format!("{}\t{}\t{:.6}\t{:.6}\n", t.index, t.identifier, t.pearson_r, t.r2);
    }
    crate::io::write_atomic(&out.join("eval_tracks.tsv"), tracks.as_bytes())?;
    if ev.genes.is_empty() {
        return Ok(());
    }
    let mut genes = String::from("index\tidentifier\tgenes\tpearson_r\tpearson_r_per_bin\n");
    for g in &ev.genes {
        genes += &format!("{}\t{}\t{}\t{:.6}\t{:.6}\n", g.index, g.identifier, g.genes, g.pearson_r, g.pearson_r_mean);
    }
    crate::io::write_atomic(&out.join("eval_genes.tsv"), genes.as_bytes())?;
    let mut sums = String::from("gene\tstrand\tbins\ttrack\tpredicted\tobserved\n");
    for s in &ev.gene_sums {
        for (t, (p, o)) in s.predicted.iter().zip(&s.observed).enumerate() {
            sums += &format!("{}\t{}\t{}\t{}\t{:.4}\t{:.4}\n", s.id, s.strand, s.bins, ev.tracks[t].identifier, p, o);
        }
    }
    crate::io::write_atomic(&out.join("gene_sums.tsv"), sums.as_bytes())?;
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
