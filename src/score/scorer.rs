//! The scoring core, free of threads: the planner turns variants into reference windows
//! (clustering neighbours so they share one reference pass), and the predictor runs the
//! ensemble on those windows and computes the statistics.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use candle_core::{Device, Tensor};

use super::allele::{apply, classify, AltEdit, SkipReason};
use super::encode::{base_index, InputLayout};
use super::stats::{compute, compute_from_sums, BinSums, Preds, Stat};
use super::summary::{consequence, Summary};
use super::tracks::Column;
use crate::ensemble::{reverse_complement, unreverse_output};
use crate::error::{Error, Result};
use crate::{formats::contig_alias::ContigResolver, formats::indexed_fasta::Fasta};
use crate::formats::gtf::GeneIndex;
use crate::local_tower::{Edit, LocalTower, TowerActs};
use crate::model::{HeadView, SeqNN};
use crate::formats::targets::Targets;

/// One VCF record as the scorer sees it.
#[derive(Debug, Clone)]
pub struct VariantIn {
    /// Position in the input stream (0-based), for restoring order.
    pub idx: u64,
    pub chrom: String,
    /// 0-based position of the first REF base.
    pub pos0: i64,
    pub reference: String,
    pub alts: Vec<String>,
}

/// The numbers behind one scored (ALT, gene) entry, for `--scores-out`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatrixRow {
    pub alt: String,
    /// 1-based index of the ALT in the record.
    pub allele: u32,
    /// Gene mode: the gene scored.
    pub gene: Option<String>,
    /// Stat-major: `values[s * tracks + k]` for statistic `s` and the `k`-th scored track;
    /// NaN where a track does not count (gene mode, other strand).
    pub values: Vec<f32>,
}

/// What to write for one record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub idx: u64,
    /// `ALT|Consequence|GENE|value|value…` entries.
    pub entries: Vec<String>,
    /// One row per entry, filled only when the matrix is asked for (`ScoreSpec::keep_matrix`).
    pub matrix: Vec<MatrixRow>,
    /// (ALT, reason) for every ALT passed through unscored.
    pub skips: Vec<(String, SkipReason)>,
    /// Leave the record out of the output (`--on-ref-mismatch skip`).
    pub drop: bool,
    /// Gene mode scores a record in several windows: this is piece `part` of `parts`.
    pub part: u32,
    pub parts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnRefMismatch {
    Flag,
    Skip,
    Error,
}

#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub seq_len: usize,
    /// Records within this many bp of a cluster's first record share its window (0: none).
    pub cluster_bp: i64,
    /// Pad windows that run off a contig with N (baskerville) instead of skipping.
    pub pad_ends: bool,
    /// Largest fraction of N in a window that is still scored.
    pub max_n_frac: f64,
    pub on_ref_mismatch: OnRefMismatch,
    /// Zero-shot language-model scoring: SNVs only.
    pub lm: bool,
    /// Gene mode: score each variant against nearby genes' exon bins.
    pub genes: Option<std::sync::Arc<GeneIndex>>,
    /// Base pairs cropped from each side of the window before the output bins.
    pub crop_bp: usize,
}

/// A gene scored with a variant: its exons decide the output bins summed.
#[derive(Debug, Clone)]
pub struct GeneTarget {
    pub id: String,
    pub strand: char,
    pub exons: Vec<(i64, i64)>,
}

/// A record placed in a window.
#[derive(Debug, Clone)]
pub struct Member {
    pub variant: VariantIn,
    /// Index of the first REF base in the window.
    pub offset: usize,
    pub alts: Vec<std::result::Result<AltEdit, SkipReason>>,
    pub gene: Option<GeneTarget>,
    pub part: u32,
    pub parts: u32,
}

/// A reference window and the records scored in it.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub contig: String,
    pub start: i64,
    pub window: Vec<u8>,
    pub members: Vec<Member>,
}

type Alts = Vec<std::result::Result<AltEdit, SkipReason>>;

struct Pending {
    contig: String,
    first_pos0: i64,
    /// The furthest REF end of the members, so a window never cuts a member's REF.
    max_end: i64,
    members: Vec<(VariantIn, Alts)>,
}

/// Gene mode: windows still open for members, by window start.
struct GenePending {
    contig: String,
    windows: std::collections::BTreeMap<i64, Vec<Member>>,
}

/// Where the input stream is, to insist on sorted input in gene mode.
#[derive(Default)]
struct SortCheck {
    contig: Option<String>,
    pos0: i64,
    done: std::collections::HashSet<String>,
}

/// Turns the variant stream into clusters; records that cannot be scored come back at once.
pub struct Planner {
    fasta: Fasta,
    resolver: ContigResolver,
    opts: PlanOptions,
    pending: Option<Pending>,
    gene_pending: Option<GenePending>,
    sort_check: SortCheck,
    /// The input, for error messages.
    pub source: String,
}

fn skip_all(v: &VariantIn, reason: SkipReason) -> Outcome {
    Outcome {
        idx: v.idx,
        skips: v.alts.iter().map(|a| (a.clone(), reason)).collect(),
        part: 0,
        parts: 1,
        ..Default::default()
    }
}

impl Planner {
    pub fn new(fasta: Fasta, resolver: ContigResolver, opts: PlanOptions, source: String) -> Self {
        Planner { fasta, resolver, opts, pending: None, gene_pending: None, sort_check: SortCheck::default(), source }
    }

    fn window_start(&self, lo: i64, hi: i64) -> i64 {
        // baskerville: the window is centred on the (1-based) midpoint of its records.
        let mid = (lo + 1 + hi + 1) / 2;
        mid - (self.opts.seq_len / 2) as i64
    }

    fn fits(&self, contig_len: i64, start: i64) -> bool {
        self.opts.pad_ends || (start >= 0 && start + self.opts.seq_len as i64 <= contig_len)
    }

    /// Takes one record; returns outcomes decided now and clusters ready to predict.
    pub fn add(&mut self, v: VariantIn) -> Result<(Vec<Outcome>, Vec<Cluster>)> {
        let mut outcomes = Vec::new();
        let mut ready = Vec::new();
        if self.opts.genes.is_some() {
            self.check_sorted(&v)?;
        }
        let Some(contig) = self.resolver.resolve(&v.chrom, &self.fasta) else {
            outcomes.push(skip_all(&v, SkipReason::ContigNotInFasta));
            return Ok((outcomes, ready));
        };
        let contig_len = self.fasta.length(&contig).unwrap_or(0) as i64;
        let ref_len = v.reference.len() as i64;
        // POS 0 or past the contig end is a coordinate problem, not a REF disagreement.
        if v.pos0 < 0 || v.pos0.saturating_add(ref_len) > contig_len {
            outcomes.push(skip_all(&v, SkipReason::InvalidPosition));
            return Ok((outcomes, ready));
        }
        let fasta_ref = self.fasta.fetch_padded(&contig, v.pos0, v.pos0 + ref_len)?;
        if !fasta_ref.eq_ignore_ascii_case(v.reference.as_bytes()) {
            match self.opts.on_ref_mismatch {
                OnRefMismatch::Error => {
                    return Err(Error::Input(format!(
                        "{}: record {} ({}:{}): REF {} does not match the FASTA ({})",
                        self.source,
                        v.idx + 1,
                        v.chrom,
                        v.pos0 + 1,
                        v.reference,
                        String::from_utf8_lossy(&fasta_ref)
                    )))
                }
                OnRefMismatch::Skip => {
                    let mut o = skip_all(&v, SkipReason::RefMismatch);
                    o.drop = true;
                    outcomes.push(o);
                }
                OnRefMismatch::Flag => outcomes.push(skip_all(&v, SkipReason::RefMismatch)),
            }
            return Ok((outcomes, ready));
        }
        if fasta_ref.contains(&b'N') {
            outcomes.push(skip_all(&v, SkipReason::RefHasN));
            return Ok((outcomes, ready));
        }
        if !self.fits(contig_len, self.window_start(v.pos0, v.pos0)) {
            outcomes.push(skip_all(&v, SkipReason::NearContigEnd));
            return Ok((outcomes, ready));
        }
        let alts: Vec<_> = v
            .alts
            .iter()
            .map(|a| {
                let edit = classify(v.reference.as_bytes(), a.as_bytes(), self.opts.seq_len)?;
                if self.opts.lm && (edit.indel != 0 || v.reference.len() != 1) {
                    return Err(SkipReason::LmNeedsSnv);
                }
                Ok(edit)
            })
            .collect();
        if alts.iter().all(|a| a.is_err()) {
            outcomes.push(Outcome {
                idx: v.idx,
                skips: v.alts.iter().zip(&alts).map(|(a, r)| (a.clone(), *r.as_ref().unwrap_err())).collect(),
                part: 0,
                parts: 1,
                ..Default::default()
            });
            return Ok((outcomes, ready));
        }
        if self.opts.genes.is_some() {
            return self.add_gene_mode(v, alts, contig, contig_len);
        }
        // Join the open cluster if the window still holds every record and fits the contig.
        // Every member's REF must lie inside the shared window: a --cluster-bp close to the
        // window length would otherwise place a record outside it.
        let end = v.pos0 + ref_len;
        let joins = match &self.pending {
            Some(p) if self.opts.cluster_bp > 0 && p.contig == contig && v.pos0 >= p.first_pos0 && v.pos0 < p.first_pos0 + self.opts.cluster_bp => {
                let hi = p.members.iter().map(|(m, _)| m.pos0).chain(std::iter::once(v.pos0)).max().unwrap_or(v.pos0);
                let start = self.window_start(p.first_pos0, hi);
                self.fits(contig_len, start) && start <= p.first_pos0 && p.max_end.max(end) <= start + self.opts.seq_len as i64
            }
            _ => false,
        };
        if !joins {
            if let Some(p) = self.pending.take() {
                let (o, c) = self.flush(p)?;
                outcomes.extend(o);
                ready.extend(c);
            }
            self.pending = Some(Pending { contig, first_pos0: v.pos0, max_end: end, members: Vec::new() });
        }
        let pending = self.pending.as_mut().expect("set above");
        pending.max_end = pending.max_end.max(end);
        pending.members.push((v, alts));
        Ok((outcomes, ready))
    }

    fn check_sorted(&mut self, v: &VariantIn) -> Result<()> {
        let sc = &mut self.sort_check;
        let unsorted = |what: &str| {
            Error::Input(format!(
                "{}: record {} ({}:{}): input is not sorted ({what}); gene mode needs sorted input (bcftools sort)",
                self.source,
                v.idx + 1,
                v.chrom,
                v.pos0 + 1
            ))
        };
        if sc.contig.as_deref() != Some(v.chrom.as_str()) {
            if sc.done.contains(&v.chrom) {
                return Err(unsorted("contig seen before"));
            }
            if let Some(prev) = sc.contig.replace(v.chrom.clone()) {
                sc.done.insert(prev);
            }
        } else if v.pos0 < sc.pos0 {
            return Err(unsorted("position goes back"));
        }
        sc.pos0 = v.pos0;
        Ok(())
    }

    /// Gene mode: one member per nearby gene, in a gene-centred window when the variant
    /// falls in its output region (shared by every variant near that gene), otherwise in
    /// a window centred on the variant and gene together; a gene too long to share a
    /// window with the variant is scored over its exon bins inside a variant-centred
    /// window (borzoi_sed's gene slice), when any fall there.
    fn add_gene_mode(&mut self, v: VariantIn, alts: Alts, contig: String, contig_len: i64) -> Result<(Vec<Outcome>, Vec<Cluster>)> {
        let mut outcomes = Vec::new();
        let mut ready = Vec::new();
        let (l, crop) = (self.opts.seq_len as i64, self.opts.crop_bp as i64);
        let out_span = l - 2 * crop;
        // Sorted input (checked in `add`) lets windows close as the stream moves past them.
        let state = self.gene_pending.get_or_insert_with(|| GenePending { contig: contig.clone(), windows: Default::default() });
        if state.contig != contig {
            let old = std::mem::take(&mut state.windows);
            let old_contig = std::mem::replace(&mut state.contig, contig.clone());
            for (start, members) in old {
                ready.extend(self.close_window(&old_contig, start, members, &mut outcomes)?);
            }
        }
        let genes = self.opts.genes.as_ref().expect("gene mode");
        let mut placed: Vec<(i64, GeneTarget)> = Vec::new();
        for g in genes.near(&contig, v.pos0, out_span) {
            let inside = |w: i64| {
                let (lo, hi) = (w + crop, w + l - crop);
                v.pos0 >= lo && v.pos0 < hi && g.start() >= lo && g.end() <= hi
            };
            let centred = (g.start() + g.end()) / 2 - l / 2;
            let start = if inside(centred) {
                centred
            } else {
                let (lo, hi) = (g.start().min(v.pos0), g.end().max(v.pos0 + 1));
                (lo + hi) / 2 - l / 2
            };
            let start = if inside(start) {
                start
            } else {
                let centred = v.pos0 - l / 2;
                let (lo, hi) = (centred + crop, centred + l - crop);
                if !g.exons.iter().any(|&(s, e)| s < hi && e > lo) {
                    continue;
                }
                centred
            };
            if self.fits(contig_len, start) {
                placed.push((start, GeneTarget { id: g.id.clone(), strand: g.strand, exons: g.exons.clone() }));
            }
        }
        if placed.is_empty() {
            let mut o = skip_all(&v, SkipReason::NoGeneInRange);
            // ALTs that could never be scored keep their own reason.
            for ((_, reason), a) in o.skips.iter_mut().zip(&alts) {
                if let Err(r) = a {
                    *reason = *r;
                }
            }
            outcomes.push(o);
            return Ok((outcomes, ready));
        }
        let parts = placed.len() as u32;
        let state = self.gene_pending.as_mut().expect("set above");
        for (part, (start, gene)) in placed.into_iter().enumerate() {
            let member = Member {
                variant: v.clone(),
                offset: (v.pos0 - start) as usize,
                alts: alts.clone(),
                gene: Some(gene),
                part: part as u32,
                parts,
            };
            state.windows.entry(start).or_default().push(member);
        }
        // Windows whose output region ends before this record cannot gain members.
        let closed: Vec<i64> = state.windows.keys().copied().filter(|w| w + l - crop <= v.pos0).collect();
        for start in closed {
            let members = self.gene_pending.as_mut().expect("set").windows.remove(&start).expect("listed");
            ready.extend(self.close_window(&contig, start, members, &mut outcomes)?);
        }
        Ok((outcomes, ready))
    }

    fn close_window(&self, contig: &str, start: i64, members: Vec<Member>, outcomes: &mut Vec<Outcome>) -> Result<Option<Cluster>> {
        let window = self.fasta.fetch_padded(contig, start, start + self.opts.seq_len as i64)?;
        let n_frac = window.iter().filter(|b| **b == b'N').count() as f64 / window.len() as f64;
        if n_frac > self.opts.max_n_frac {
            for m in &members {
                let mut o = skip_all(&m.variant, SkipReason::TooManyN);
                o.part = m.part;
                o.parts = m.parts;
                outcomes.push(o);
            }
            return Ok(None);
        }
        Ok(Some(Cluster { contig: contig.to_string(), start, window, members }))
    }

    /// Closes the open cluster at the end of the input.
    pub fn finish(&mut self) -> Result<(Vec<Outcome>, Vec<Cluster>)> {
        let mut outcomes = Vec::new();
        let mut ready = Vec::new();
        if let Some(state) = self.gene_pending.take() {
            for (start, members) in state.windows {
                ready.extend(self.close_window(&state.contig, start, members, &mut outcomes)?);
            }
        }
        if let Some(p) = self.pending.take() {
            let (o, c) = self.flush(p)?;
            outcomes.extend(o);
            ready.extend(c);
        }
        Ok((outcomes, ready))
    }

    fn flush(&mut self, p: Pending) -> Result<(Vec<Outcome>, Vec<Cluster>)> {
        let lo = p.members.iter().map(|(v, _)| v.pos0).min().expect("non-empty");
        let hi = p.members.iter().map(|(v, _)| v.pos0).max().expect("non-empty");
        let start = self.window_start(lo, hi);
        let window = self.fasta.fetch_padded(&p.contig, start, start + self.opts.seq_len as i64)?;
        let n_frac = window.iter().filter(|b| **b == b'N').count() as f64 / window.len() as f64;
        if n_frac > self.opts.max_n_frac {
            let outcomes = p.members.iter().map(|(v, _)| skip_all(v, SkipReason::TooManyN)).collect();
            return Ok((outcomes, Vec::new()));
        }
        let members = p
            .members
            .into_iter()
            .map(|(variant, alts)| Member {
                offset: (variant.pos0 - start) as usize,
                variant,
                alts,
                gene: None,
                part: 0,
                parts: 1,
            })
            .collect();
        Ok((Vec::new(), vec![Cluster { contig: p.contig, start, window, members }]))
    }
}

/// How predictions are turned into scores.
pub struct ScoreSpec {
    pub stats: Vec<Stat>,
    /// The tracks scored (sorted, distinct sheet indices): the summary's domain and the
    /// matrix's columns.
    pub tracks: Vec<usize>,
    /// The INFO summary per statistic (largest-magnitude track, group means); see `summary`.
    pub summary: Summary,
    /// Per-column INFO values on explicit request (`--info-tracks`); each column's tracks
    /// are among `tracks`.
    pub columns: Vec<Column>,
    /// Fill `Outcome::matrix` (only when a side output needs it).
    pub keep_matrix: bool,
    pub shifts: Vec<i64>,
    pub rc: bool,
    pub strand_pair: Option<Vec<usize>>,
    pub lm: bool,
    /// Undo the sheet's output transforms (soft clip, sqrt) before scoring.
    pub targets: Option<Targets>,
    /// Columns stand for strand pairs (see [`super::tracks::collapse_strand_pairs`]): a
    /// pair's scores are summed, or in gene mode taken from the gene's strand.
    pub strand_sum: bool,
}

/// A strand pair's score from its two tracks' scores, as baskerville's strand transform:
/// summed, or for the L2 distances the root of the summed squares.
fn combine_pair(stat: Stat, a: f64, b: f64) -> f64 {
    match stat {
        Stat::D2 | Stat::LogD2 => (a * a + b * b).sqrt(),
        _ => a + b,
    }
}

/// Runs the fold ensemble on clusters and scores every ALT.
pub struct Predictor {
    pub models: Vec<SeqNN>,
    pub layout: InputLayout,
    pub spec: ScoreSpec,
    pub device: Device,
    pub batch_size: usize,
    /// Tracks predicted (union of the columns), in output order.
    selected: Vec<usize>,
    /// Per model, the head as computed: narrowed, when the run needs only some of the head's
    /// tracks, to `selected` and their strand partners (for reverse-complement passes), so the
    /// final layer multiplies only those columns; else whole.
    views: Vec<HeadView>,
    /// How the computed columns map back: strand pairs among them, and where `selected` is.
    computed_pairs: Option<Vec<usize>>,
    selected_at: Tensor,
    /// Per model, its local tower: a substitution's passes recompute it only around the change.
    towers: Vec<LocalTower>,
    reuse_local: bool,
    passes: PassCounts,
    bins: usize,
    bin_bp: usize,
    crop_bp: usize,
    seq_len: usize,
}

/// Sequence passes run per model (each orientation counts), and how many of them reused a
/// reference pass's local tower.
#[derive(Debug, Default)]
pub struct PassCounts {
    pub full: AtomicU64,
    pub local_reuse: AtomicU64,
}

/// One sequence to predict: a window, shifted, possibly with a masked site.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Request {
    cluster: usize,
    /// None: reference; Some((member, alt)).
    allele: Option<(usize, usize)>,
    shift: i64,
    mask: Option<usize>,
}

/// What one pass of a cluster is reduced to when every statistic needs only bin sums
/// ([`Stat::from_bin_sums`]): per bin set scored (every bin, or one gene's exon bins) and per
/// segment between the cuts (0, each indel's variant bin, the end), per track Σ x and
/// Σ log2(x+1). A pass then costs `sets x segments x 2 x tracks` numbers instead of
/// `bins x tracks`, however long the window and however many variants share it.
struct Reduction {
    /// Sorted bins of each set.
    sets: Vec<Vec<usize>>,
    /// Per member, its set.
    member_set: Vec<usize>,
    /// Sorted, distinct, from 0 to `bins`.
    cuts: Vec<usize>,
}

/// A pass's predictions for one fold: the full `bins x tracks` matrix (or the 4 site
/// probabilities of a language model), or its [`Reduction`], laid out
/// `[set][segment][Σx, Σlog2(x+1)][track]`.
enum PassOut {
    Full(Vec<f32>),
    Sums(Vec<f64>),
}

impl PassOut {
    fn full(&self) -> &[f32] {
        match self {
            PassOut::Full(v) => v,
            PassOut::Sums(_) => unreachable!("reduced passes are read through sums()"),
        }
    }

    /// Σ x and Σ log2(x+1) per track over set `set` and segments `segs`.
    fn sums(&self, set: usize, nseg: usize, segs: std::ops::Range<usize>, tracks: usize, into: &mut BinSums) {
        let PassOut::Sums(v) = self else { unreachable!("full passes are read through full()") };
        for seg in segs {
            let at = ((set * nseg + seg) * 2) * tracks;
            for t in 0..tracks {
                into.sum[t] += v[at + t];
                into.log_sum[t] += v[at + tracks + t];
            }
        }
    }
}

/// Shifts rows of a `[len x ch]` encoding, zero-filling (baskerville's `shift_sequence`).
fn shift_rows(x: &mut [f32], ch: usize, shift: i64) {
    let len = x.len() / ch;
    let s = shift.unsigned_abs() as usize;
    if shift == 0 {
        return;
    }
    // A shift plus an indel's realignment can exceed the window: everything moves out.
    if s >= len {
        x.fill(0.0);
        return;
    }
    if shift > 0 {
        x.copy_within(0..(len - s) * ch, s * ch);
        x[..s * ch].fill(0.0);
    } else {
        x.copy_within(s * ch..len * ch, 0);
        x[(len - s) * ch..].fill(0.0);
    }
}

/// Joins two prediction sets at `bin`: `left[..bin]` then `right[bin..]`.
fn stitch(left: &[f32], right: &[f32], bin: usize, tracks: usize) -> Vec<f32> {
    let cut = (bin * tracks).min(left.len());
    let mut out = left[..cut].to_vec();
    out.extend_from_slice(&right[cut..]);
    out
}

/// The output bins that overlap any of `exons` (0-based half-open genome intervals) in a
/// window starting at `start` whose `bins` bins of `bin_bp` begin `crop_bp` into it: what
/// gene-mode scores sum over (scorer and ISM alike).
pub fn exon_bins(start: i64, crop_bp: usize, bin_bp: usize, bins: usize, exons: &[(i64, i64)]) -> Vec<usize> {
    (0..bins)
        .filter(|b| {
            let lo = start + (crop_bp + b * bin_bp) as i64;
            let hi = lo + bin_bp as i64;
            exons.iter().any(|&(s, e)| s < hi && e > lo)
        })
        .collect()
}

pub fn format_value(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else {
        format!("{v:.5e}")
    }
}

impl Predictor {
    pub fn new(models: Vec<SeqNN>, layout: InputLayout, spec: ScoreSpec, device: Device, batch_size: usize) -> Result<Self> {
        let first = models.first().ok_or_else(|| Error::Input("no model given".into()))?;
        let head = &first.heads()[0];
        for m in &models[1..] {
            let h = &m.heads()[0];
            if (h.shape, h.bin_bp, h.crop_bp) != (head.shape, head.bin_bp, head.crop_bp) || m.in_channels != first.in_channels {
                return Err(Error::Input("all --model files must share one architecture".into()));
            }
        }
        let mut selected: Vec<usize> = spec.tracks.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
        if spec.lm {
            selected = (0..head.shape.ch).collect();
        } else {
            if selected.len() != spec.tracks.len() || selected != spec.tracks {
                return Err(Error::Other("scored tracks must be sorted and distinct".into()));
            }
            if let Some(t) = spec.columns.iter().flat_map(|c| c.tracks.iter()).find(|t| selected.binary_search(t).is_err()) {
                return Err(Error::Input(format!("--info-tracks: track {t} is not among the scored tracks (--tracks, --track-regex, --track-group)")));
            }
        }
        if let Some(&t) = selected.iter().find(|&&t| t >= head.shape.ch) {
            return Err(Error::Input(format!("track {t} is beyond the model's {} output tracks", head.shape.ch)));
        }
        let computed: Vec<usize> = if spec.lm || selected.len() == head.shape.ch {
            (0..head.shape.ch).collect()
        } else {
            let mut computed: BTreeSet<usize> = selected.iter().copied().collect();
            if let (true, Some(pairs)) = (spec.rc, &spec.strand_pair) {
                computed.extend(selected.iter().map(|&t| pairs[t]));
            }
            computed.into_iter().collect()
        };
        let whole = computed.len() == head.shape.ch;
        let at = |t: usize| computed.binary_search(&t).expect("computed holds it");
        let computed_pairs = match (spec.rc, &spec.strand_pair, spec.lm) {
            (true, _, true) => Some(vec![3, 2, 1, 0]),
            (true, Some(p), false) => Some(computed.iter().map(|&t| at(p[t])).collect()),
            _ => None,
        };
        let selected_at: Vec<u32> = selected.iter().map(|&t| at(t) as u32).collect();
        let views = models.iter().map(|m| m.head_view(0, (!whole).then_some(computed.as_slice()))).collect::<Result<_>>()?;
        let towers = models.iter().map(LocalTower::new).collect();
        Ok(Predictor {
            views,
            computed_pairs,
            selected_at: Tensor::from_vec(selected_at, selected.len(), &device)?,
            towers,
            reuse_local: true,
            passes: PassCounts::default(),
            bins: head.shape.len,
            bin_bp: head.bin_bp,
            crop_bp: head.crop_bp,
            seq_len: first.params.seq_length,
            models,
            layout,
            spec,
            device,
            batch_size: batch_size.max(1),
            selected,
        })
    }

    /// INFO field names after `ALLELE|Consequence|GENE`, in value order: per statistic its
    /// summary fields, then per statistic the `--info-tracks` columns.
    pub fn value_names(&self) -> Vec<String> {
        if self.spec.lm {
            return vec!["LLR".into()];
        }
        let mut raw = Vec::new();
        let suffixes = self.spec.summary.suffixes();
        for s in &self.spec.stats {
            raw.extend(suffixes.iter().map(|x| format!("{s}_{x}")));
        }
        for s in &self.spec.stats {
            raw.extend(self.spec.columns.iter().map(|c| format!("{s}_{}", c.label)));
        }
        super::summary::unique_names(&raw)
    }

    /// Sheet indices of the matrix columns (`MatrixRow::values`), in order.
    pub fn matrix_tracks(&self) -> &[usize] {
        &self.selected
    }

    fn requests(&self, ci: usize, cluster: &Cluster) -> Vec<Request> {
        let mut reqs = BTreeSet::new();
        for &s in &self.spec.shifts {
            if self.spec.lm {
                for m in &cluster.members {
                    reqs.insert(Request { cluster: ci, allele: None, shift: s, mask: Some(m.offset) });
                }
                continue;
            }
            reqs.insert(Request { cluster: ci, allele: None, shift: s, mask: None });
            for (mi, m) in cluster.members.iter().enumerate() {
                for (ai, a) in m.alts.iter().enumerate() {
                    let Ok(edit) = a else { continue };
                    reqs.insert(Request { cluster: ci, allele: Some((mi, ai)), shift: s, mask: None });
                    if edit.indel < 0 {
                        reqs.insert(Request { cluster: ci, allele: None, shift: s + edit.indel, mask: None });
                    } else if edit.indel > 0 {
                        reqs.insert(Request { cluster: ci, allele: Some((mi, ai)), shift: s - edit.indel, mask: None });
                    }
                }
            }
        }
        reqs.into_iter().collect()
    }

    fn encode(&self, clusters: &[Cluster], r: &Request, out: &mut Vec<f32>) {
        let c = &clusters[r.cluster];
        let start = out.len();
        match r.allele {
            None => self.layout.encode_into(&c.window, r.mask, out),
            Some((mi, ai)) => {
                let m = &c.members[mi];
                let edit = m.alts[ai].as_ref().expect("requests only scorable alts");
                let seq = apply(&c.window, m.offset, m.variant.reference.len(), edit);
                self.layout.encode_into(&seq, None, out);
            }
        }
        shift_rows(&mut out[start..], self.layout.channels, r.shift);
    }

    /// Whether passes are reduced to bin sums as soon as they are predicted.
    fn reduces(&self) -> bool {
        !self.spec.lm && self.spec.stats.iter().all(|s| s.from_bin_sums())
    }

    /// The output bins over a gene's exons in the window starting at `start`.
    fn gene_bins(&self, start: i64, gene: &GeneTarget) -> Vec<usize> {
        exon_bins(start, self.crop_bp, self.bin_bp, self.bins, &gene.exons)
    }

    /// The output bin where an indel's predictions are stitched (its first changed base).
    fn variant_bin(&self, m: &Member) -> usize {
        ((m.offset as i64 + 1 - self.crop_bp as i64).div_euclid(self.bin_bp as i64)).clamp(0, self.bins as i64) as usize
    }

    fn reduction(&self, c: &Cluster) -> Reduction {
        let mut sets: Vec<Vec<usize>> = Vec::new();
        let mut member_set = Vec::with_capacity(c.members.len());
        let mut cuts = BTreeSet::from([0, self.bins]);
        for m in &c.members {
            let bins = match &m.gene {
                Some(g) => self.gene_bins(c.start, g),
                None => (0..self.bins).collect(),
            };
            member_set.push(sets.iter().position(|s| *s == bins).unwrap_or_else(|| {
                sets.push(bins);
                sets.len() - 1
            }));
            if m.alts.iter().any(|a| a.as_ref().is_ok_and(|e| e.indel != 0)) {
                cuts.insert(self.variant_bin(m));
            }
        }
        Reduction { sets, member_set, cuts: cuts.into_iter().collect() }
    }

    /// `rows` (`bins x selected`, untransformed) reduced as `red` says.
    fn reduce(&self, rows: &[f32], red: &Reduction) -> Vec<f64> {
        use rayon::prelude::*;
        let nsel = self.selected.len();
        let nseg = red.cuts.len() - 1;
        // Tracks in parallel blocks; each sum still adds its bins in order.
        const TRACKS: usize = 256;
        let blocks: Vec<(usize, Vec<f64>)> = (0..nsel)
            .step_by(TRACKS)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|t0| {
                let w = TRACKS.min(nsel - t0);
                let mut part = vec![0f64; red.sets.len() * nseg * 2 * w];
                for (k, set) in red.sets.iter().enumerate() {
                    let mut seg = 0;
                    for &b in set {
                        while b >= red.cuts[seg + 1] {
                            seg += 1;
                        }
                        let at = ((k * nseg + seg) * 2) * w;
                        for (t, &x) in rows[b * nsel + t0..b * nsel + t0 + w].iter().enumerate() {
                            let x = x as f64;
                            part[at + t] += x;
                            part[at + w + t] += (x + 1.0).log2();
                        }
                    }
                }
                (t0, part)
            })
            .collect();
        let mut out = vec![0f64; red.sets.len() * nseg * 2 * nsel];
        for (t0, part) in blocks {
            let w = TRACKS.min(nsel - t0);
            for (slot, chunk) in part.chunks(w).enumerate() {
                out[slot * nsel + t0..slot * nsel + t0 + w].copy_from_slice(chunk);
            }
        }
        out
    }

    /// For each request, when it is a substitution whose passes can reuse its reference
    /// pass's local tower: that reference request's index and the changed rows of the
    /// (shifted) forward input, inclusive.
    fn reuse_plan(&self, clusters: &[Cluster], reqs: &[Request]) -> Vec<Option<(usize, usize, usize)>> {
        let tower = &self.towers[0];
        reqs.iter()
            .map(|r| {
                let (mi, ai) = r.allele?;
                if !self.reuse_local || r.mask.is_some() {
                    return None;
                }
                let m = &clusters[r.cluster].members[mi];
                let edit = m.alts[ai].as_ref().ok()?;
                if edit.indel != 0 {
                    return None;
                }
                let span = m.variant.reference.len().max(1);
                tower.crop_len(span)?;
                let base = reqs.binary_search(&Request { cluster: r.cluster, allele: None, shift: r.shift, mask: None }).ok()?;
                // Rows the substitution occupies after the shift; one that the shift moved out of
                // the window leaves it unchanged, and any crop then reproduces the reference.
                let last_row = self.seq_len as i64 - 1;
                let first = (m.offset as i64 + r.shift).clamp(0, last_row) as usize;
                let last = (m.offset as i64 + span as i64 - 1 + r.shift).clamp(0, last_row) as usize;
                Some((base, first, last))
            })
            .collect()
    }

    /// Model outputs `[B, bins, computed]` for the forward inputs and, with `--rc`, the
    /// reverse-complement ones mapped back, averaged; then the selected columns.
    /// The forward and (unreversed) reverse-complement predictions averaged, selected
    /// columns only, as host values: `[batch, bins, selected]` flat.
    fn combine(&self, y: Tensor, yr: Option<Tensor>) -> Result<Vec<f32>> {
        if crate::layers::cpu::usable(&[&y]) && yr.as_ref().is_none_or(|t| crate::layers::cpu::usable(&[t]) && t.dims() == y.dims()) {
            return self.combine_cpu(&y, yr.as_ref());
        }
        let y = match yr {
            Some(yr) => ((y + unreverse_output(&yr, self.computed_pairs.as_deref())?)? / 2.0)?,
            None => y,
        };
        Ok(y.index_select(&self.selected_at, 2)?.flatten_all()?.to_vec1()?)
    }

    /// [`Self::combine`] in one parallel pass on the CPU: each output bin reads the
    /// selected columns of the forward pass and of the reverse pass's mirrored bin and
    /// partner strand, as the tensor ops do (`(a + b) * 0.5 + 0`, candle's `/ 2`).
    fn combine_cpu(&self, y: &Tensor, yr: Option<&Tensor>) -> Result<Vec<f32>> {
        use rayon::prelude::*;
        let (batch, bins, tracks) = y.dims3()?;
        let selected: Vec<usize> = self.selected_at.to_vec1::<u32>()?.into_iter().map(|c| c as usize).collect();
        let nsel = selected.len();
        let partner: Vec<usize> = match &self.computed_pairs {
            Some(p) => selected.iter().map(|&c| p[c]).collect(),
            None => selected.clone(),
        };
        if selected.iter().chain(&partner).any(|&c| c >= tracks) {
            return Err(Error::Other(format!("combine: a selected column is outside the {tracks} predicted")));
        }
        let mut out = vec![0f32; batch * bins * nsel];
        let fill = |ys: &[f32], yrs: Option<&[f32]>, out: &mut [f32]| {
            out.par_chunks_mut(nsel).enumerate().for_each(|(row, o)| {
                let (b, bin) = (row / bins, row % bins);
                let fwd = &ys[(b * bins + bin) * tracks..(b * bins + bin + 1) * tracks];
                match yrs {
                    Some(yrs) => {
                        let rev = &yrs[(b * bins + bins - 1 - bin) * tracks..(b * bins + bins - bin) * tracks];
                        for ((o, &c), &p) in o.iter_mut().zip(&selected).zip(&partner) {
                            *o = (fwd[c] + rev[p]) * 0.5 + 0.0;
                        }
                    }
                    None => {
                        for (o, &c) in o.iter_mut().zip(&selected) {
                            *o = fwd[c];
                        }
                    }
                }
            });
        };
        crate::layers::cpu::with_slice(y, |ys| match yr {
            Some(yr) => crate::layers::cpu::with_slice(yr, |yrs| fill(ys, Some(yrs), &mut out)),
            None => {
                fill(ys, None, &mut out);
                Ok(())
            }
        })??;
        Ok(out)
    }

    /// Predictions for each request and fold: `bins x selected` (or 4 site probabilities for
    /// LM), reduced per cluster when `reductions` are given. Reference passes and indels run
    /// the whole model; substitutions then recompute the local tower only around the change
    /// and splice it into their reference pass's (exact: the same numbers as a whole pass).
    fn predict(&self, clusters: &[Cluster], reqs: &[Request], reductions: Option<&[Reduction]>) -> Result<Vec<Vec<PassOut>>> {
        let ch = self.layout.channels;
        let nsel = self.selected.len();
        let mut out: Vec<Vec<PassOut>> = (0..reqs.len()).map(|_| Vec::new()).collect();
        let plan = self.reuse_plan(clusters, reqs);
        let bases: BTreeSet<usize> = plan.iter().flatten().map(|p| p.0).collect();
        let (whole, edited): (Vec<usize>, Vec<usize>) = (0..reqs.len()).partition(|&i| plan[i].is_none());
        let untransform = |rows: &mut [f32]| {
            if let (Some(targets), false) = (&self.spec.targets, self.spec.lm) {
                targets.untransform_rows(&self.selected, rows);
            }
        };
        // `y`: the combined predictions of the chunk, item after item (`bins x selected` each).
        let record = |out: &mut Vec<Vec<PassOut>>, chunk: &[usize], mut y: Vec<f32>| -> Result<()> {
            let per = y.len() / chunk.len().max(1);
            for (k, &i) in chunk.iter().enumerate() {
                let r = &reqs[i];
                let item = &mut y[k * per..(k + 1) * per];
                let pass = match r.mask {
                    Some(site) => {
                        let pos = (site as i64 + r.shift).clamp(0, self.seq_len as i64 - 1) as usize;
                        PassOut::Full(item[pos * nsel..(pos + 1) * nsel].to_vec())
                    }
                    None => {
                        untransform(item);
                        match reductions {
                            Some(red) => PassOut::Sums(self.reduce(item, &red[r.cluster])),
                            None => PassOut::Full(item.to_vec()),
                        }
                    }
                };
                out[i].push(pass);
            }
            Ok(())
        };
        let encode = |chunk: &[usize]| -> Result<(Tensor, Option<Tensor>)> {
            let mut buf = Vec::with_capacity(chunk.len() * self.seq_len * ch);
            for &i in chunk {
                self.encode(clusters, &reqs[i], &mut buf);
            }
            let x = Tensor::from_vec(buf, (chunk.len(), self.seq_len, ch), &self.device)?;
            let x_rc = if self.spec.rc { Some(reverse_complement(&x)?) } else { None };
            Ok((x, x_rc))
        };
        let orientations = if self.spec.rc { 2 } else { 1 };
        for (mi, model) in self.models.iter().enumerate() {
            let (view, tower) = (&self.views[mi], &self.towers[mi]);
            let prefix = tower.prefix();
            // Per reference request the substitutions build on: its local tower, forward and RC.
            let mut kept: HashMap<usize, Vec<TowerActs>> = HashMap::new();
            for chunk in whole.chunks(self.batch_size) {
                let (x, x_rc) = encode(chunk)?;
                let keep = chunk.iter().any(|i| bases.contains(i));
                let mut run = |x: &Tensor| -> Result<Tensor> {
                    if !keep {
                        return model.forward_view(x, view);
                    }
                    let (local, saved, each) = tower.run(model, x)?;
                    for (&i, acts) in chunk.iter().zip(each) {
                        if bases.contains(&i) {
                            kept.entry(i).or_default().push(acts);
                        }
                    }
                    model.run_after_local(&local, saved, &prefix, view)
                };
                let y = run(&x)?;
                let yr = x_rc.as_ref().map(&mut run).transpose()?;
                record(&mut out, chunk, self.combine(y, yr)?)?;
                self.passes.full.fetch_add((chunk.len() * orientations) as u64, Ordering::Relaxed);
            }
            for chunk in edited.chunks(self.batch_size) {
                let (x, x_rc) = encode(chunk)?;
                let run = |x: &Tensor, side: usize| -> Result<Tensor> {
                    let data = x.flatten_all()?.to_vec1::<f32>()?;
                    let rows = self.seq_len * ch;
                    let mut edits = Vec::with_capacity(chunk.len());
                    let mut from = Vec::with_capacity(chunk.len());
                    for (k, &i) in chunk.iter().enumerate() {
                        let (base, first, last) = plan[i].expect("edited requests have a plan");
                        // The reverse complement reads the window backwards.
                        let (first, last) = if side == 0 { (first, last) } else { (self.seq_len - 1 - last, self.seq_len - 1 - first) };
                        edits.push(Edit { input: &data[k * rows..(k + 1) * rows], first, last, rows: None });
                        from.push(&kept[&base][side]);
                    }
                    tower.predict_edited(model, &from, &edits, view, &self.device)
                };
                let y = run(&x, 0)?;
                let yr = x_rc.as_ref().map(|x| run(x, 1)).transpose()?;
                record(&mut out, chunk, self.combine(y, yr)?)?;
                self.passes.local_reuse.fetch_add((chunk.len() * orientations) as u64, Ordering::Relaxed);
            }
        }
        Ok(out)
    }

    /// Sequence passes run so far, per model and orientation.
    pub fn pass_counts(&self) -> (u64, u64) {
        (self.passes.full.load(Ordering::Relaxed), self.passes.local_reuse.load(Ordering::Relaxed))
    }

    /// Whether substitutions reuse their reference pass's local tower (on by default; off
    /// runs every pass whole, for comparison).
    pub fn set_reuse_local(&mut self, on: bool) {
        self.reuse_local = on;
    }

    /// Scores every scorable ALT of every record in `clusters`.
    pub fn score(&self, clusters: &[Cluster]) -> Result<Vec<Outcome>> {
        let mut reqs = Vec::new();
        for (ci, c) in clusters.iter().enumerate() {
            reqs.extend(self.requests(ci, c));
        }
        let reductions: Option<Vec<Reduction>> = self.reduces().then(|| clusters.iter().map(|c| self.reduction(c)).collect());
        let preds = self.predict(clusters, &reqs, reductions.as_deref())?;
        let find = |r: &Request| -> &Vec<PassOut> {
            let i = reqs.binary_search(r).expect("every needed pass was requested");
            &preds[i]
        };
        let nsel = self.selected.len();
        let folds = self.models.len();
        let mut outcomes = Vec::new();
        for (ci, c) in clusters.iter().enumerate() {
            for (mi, m) in c.members.iter().enumerate() {
                let mut o = Outcome { idx: m.variant.idx, part: m.part, parts: m.parts, ..Default::default() };
                // Gene mode: the output bins over the gene's exons.
                let gene_bins: Option<Vec<usize>> = match &reductions {
                    None => m.gene.as_ref().map(|g| self.gene_bins(c.start, g)),
                    Some(_) => None,
                };
                for (ai, a) in m.alts.iter().enumerate() {
                    let alt_name = &m.variant.alts[ai];
                    let edit = match a {
                        Ok(e) => e,
                        Err(reason) => {
                            o.skips.push((alt_name.clone(), *reason));
                            continue;
                        }
                    };
                    let mut values: Vec<String> = Vec::new();
                    let mut row: Vec<f32> = Vec::new();
                    if self.spec.lm {
                        let r_idx = base_index(m.variant.reference.as_bytes()[0]);
                        let a_idx = base_index(edit.alt[0]);
                        let (Some(ri), Some(ai_)) = (r_idx, a_idx) else {
                            o.skips.push((alt_name.clone(), SkipReason::InvalidBases));
                            continue;
                        };
                        let mut llr = 0.0;
                        let mut n = 0;
                        for &s in &self.spec.shifts {
                            let p = find(&Request { cluster: ci, allele: None, shift: s, mask: Some(m.offset) });
                            for fold in p {
                                let fold = fold.full();
                                llr += (fold[ai_] as f64).ln() - (fold[ri] as f64).ln();
                                n += 1;
                            }
                        }
                        values.push(format_value(llr / n as f64));
                        row.push((llr / n as f64) as f32);
                    } else {
                        let bin = self.variant_bin(m);
                        let passes = folds * self.spec.shifts.len();
                        let per_stat: Vec<Vec<f64>> = match &reductions {
                            Some(red) => {
                                let red = &red[ci];
                                let (set, nseg) = (red.member_set[mi], red.cuts.len() - 1);
                                let at_bin = red.cuts.binary_search(&bin).unwrap_or(nseg);
                                let zero = || BinSums { sum: vec![0.0; nsel], log_sum: vec![0.0; nsel] };
                                let (mut rs, mut as_) = (Vec::with_capacity(passes), Vec::with_capacity(passes));
                                for f in 0..folds {
                                    for &s in &self.spec.shifts {
                                        let r0 = &find(&Request { cluster: ci, allele: None, shift: s, mask: None })[f];
                                        let a0 = &find(&Request { cluster: ci, allele: Some((mi, ai)), shift: s, mask: None })[f];
                                        let (mut r, mut a) = (zero(), zero());
                                        // An indel's passes are stitched at its bin: the left part from
                                        // the plain pass, the right from the realigned one.
                                        if edit.indel < 0 {
                                            let r1 = &find(&Request { cluster: ci, allele: None, shift: s + edit.indel, mask: None })[f];
                                            r0.sums(set, nseg, 0..at_bin, nsel, &mut r);
                                            r1.sums(set, nseg, at_bin..nseg, nsel, &mut r);
                                        } else {
                                            r0.sums(set, nseg, 0..nseg, nsel, &mut r);
                                        }
                                        if edit.indel > 0 {
                                            let a1 = &find(&Request { cluster: ci, allele: Some((mi, ai)), shift: s - edit.indel, mask: None })[f];
                                            a0.sums(set, nseg, 0..at_bin, nsel, &mut a);
                                            a1.sums(set, nseg, at_bin..nseg, nsel, &mut a);
                                        } else {
                                            a0.sums(set, nseg, 0..nseg, nsel, &mut a);
                                        }
                                        rs.push(r);
                                        as_.push(a);
                                    }
                                }
                                self.spec.stats.iter().map(|&stat| compute_from_sums(stat, &rs, &as_)).collect()
                            }
                            None => {
                                let mut rp = Vec::with_capacity(passes * self.bins * nsel);
                                let mut ap = Vec::with_capacity(passes * self.bins * nsel);
                                for f in 0..folds {
                                    for &s in &self.spec.shifts {
                                        let r0 = &find(&Request { cluster: ci, allele: None, shift: s, mask: None })[f].full();
                                        let a0 = &find(&Request { cluster: ci, allele: Some((mi, ai)), shift: s, mask: None })[f].full();
                                        if edit.indel < 0 {
                                            let r1 = &find(&Request { cluster: ci, allele: None, shift: s + edit.indel, mask: None })[f].full();
                                            rp.extend(stitch(r0, r1, bin, nsel));
                                        } else {
                                            rp.extend_from_slice(r0);
                                        }
                                        if edit.indel > 0 {
                                            let a1 = &find(&Request { cluster: ci, allele: Some((mi, ai)), shift: s - edit.indel, mask: None })[f].full();
                                            ap.extend(stitch(a0, a1, bin, nsel));
                                        } else {
                                            ap.extend_from_slice(a0);
                                        }
                                    }
                                }
                                let (rp, ap, bins) = match &gene_bins {
                                    None => (rp, ap, self.bins),
                                    Some(keep) => {
                                        let take = |full: &[f32]| -> Vec<f32> {
                                            let mut out = Vec::with_capacity(passes * keep.len() * nsel);
                                            for p in 0..passes {
                                                for &b in keep {
                                                    let at = (p * self.bins + b) * nsel;
                                                    out.extend_from_slice(&full[at..at + nsel]);
                                                }
                                            }
                                            out
                                        };
                                        (take(&rp), take(&ap), keep.len())
                                    }
                                };
                                let rp = Preds { passes, bins, tracks: nsel, data: rp };
                                let ap = Preds { passes, bins, tracks: nsel, data: ap };
                                self.spec.stats.iter().map(|&stat| compute(stat, &rp, &ap)).collect()
                            }
                        };
                        // Gene mode scores only tracks of the gene's strand (and unstranded ones).
                        let strand_ok = |t: usize| match (&m.gene, &self.spec.targets) {
                            (Some(g), Some(tg)) => tg.rows[t].strand.is_none_or(|s| s == g.strand),
                            _ => true,
                        };
                        let unit = |stat: Stat, per_track: &[f64], t: usize| -> Option<f64> {
                            let at = |t: usize| per_track[self.selected.binary_search(&t).expect("selected")];
                            let paired = match (&self.spec.targets, self.spec.strand_sum) {
                                (Some(tg), true) => Some((tg, tg.rows[t].strand_pair)).filter(|(_, p)| *p != t),
                                _ => None,
                            };
                            match (paired, &m.gene) {
                                (None, _) => strand_ok(t).then(|| at(t)),
                                // Gene mode keeps the member on the gene's strand (baskerville's strand mask).
                                (Some((tg, p)), Some(g)) => match (tg.rows[t].strand, tg.rows[p].strand) {
                                    (Some(a), _) if a == g.strand => Some(at(t)),
                                    (_, Some(b)) if b == g.strand => Some(at(p)),
                                    (Some(_), Some(_)) => None,
                                    _ => Some(combine_pair(stat, at(t), at(p))),
                                },
                                (Some((_, p)), None) => Some(combine_pair(stat, at(t), at(p))),
                            }
                        };
                        let ok: Vec<bool> = self.selected.iter().map(|&t| strand_ok(t)).collect();
                        let mut per_column = Vec::new();
                        for (&stat, per_track) in self.spec.stats.iter().zip(&per_stat) {
                            let per_track = per_track.as_slice();
                            values.extend(self.spec.summary.fields(per_track, &ok));
                            for col in &self.spec.columns {
                                let scored: Vec<f64> = col.tracks.iter().filter_map(|&t| unit(stat, per_track, t)).collect();
                                if scored.is_empty() {
                                    per_column.push(".".to_string());
                                    continue;
                                }
                                per_column.push(format_value(scored.iter().sum::<f64>() / scored.len() as f64));
                            }
                            if self.spec.keep_matrix {
                                row.extend(per_track.iter().zip(&ok).map(|(v, ok)| if *ok { *v as f32 } else { f32::NAN }));
                            }
                        }
                        values.extend(per_column);
                    }
                    let gene = m.gene.as_ref().map_or(".", |g| g.id.as_str());
                    let mut entry = format!("{alt_name}|{}|{gene}", consequence(&m.variant.reference, &edit.alt));
                    for v in values {
                        entry.push('|');
                        entry.push_str(&v);
                    }
                    if self.spec.keep_matrix {
                        o.matrix.push(MatrixRow {
                            alt: alt_name.clone(),
                            allele: ai as u32 + 1,
                            gene: m.gene.as_ref().map(|g| g.id.clone()),
                            values: row,
                        });
                    }
                    o.entries.push(entry);
                }
                outcomes.push(o);
            }
        }
        Ok(outcomes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_zero_fill_even_past_the_window() {
        let base: Vec<f32> = (1..=8).map(|v| v as f32).collect();
        let shifted = |shift: i64| {
            let mut x = base.clone();
            shift_rows(&mut x, 2, shift);
            x
        };
        assert_eq!(shifted(0), base);
        assert_eq!(shifted(1), vec![0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(shifted(-1), vec![3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 0.0, 0.0]);
        assert_eq!(shifted(4), vec![0.0; 8]);
        assert_eq!(shifted(-9), vec![0.0; 8]);
    }
}
