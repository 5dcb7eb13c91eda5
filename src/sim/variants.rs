//! Causal promoter SNVs (break or create a motif occurrence) with their true effect, and
//! matched null SNVs that change no motif count.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use super::motifs::{base_mask, Grammar};
use super::rng::Rng;
use super::{fmt_f, Contig, Options, SimGene};
use crate::error::{Error, Result};

/// Width of the TSS-distance bins nulls are matched in.
pub const DISTANCE_BIN: i64 = 50;

const BASES: [u8; 4] = [b'A', b'C', b'G', b'T'];

/// (contig, 0-based position, ALT)
type Snv = (usize, i64, u8);
/// Candidate SNVs by (motif, kind): kind 0 breaks an occurrence, 1 creates one.
type Groups = BTreeMap<(usize, u8), Vec<Snv>>;

#[derive(Debug, Clone)]
pub struct Variant {
    /// `causal_k` / `null_k`, k from 1; null_k is matched to causal_k.
    pub id: String,
    pub causal: bool,
    pub contig: usize,
    /// 0-based.
    pub pos: i64,
    pub ref_base: u8,
    pub alt: u8,
    /// Index of the gene the effect (or the null's distance) refers to.
    pub gene: usize,
    /// Motif count changes for that gene, e.g. `Reb1:-1`; `.` for nulls.
    pub motif: String,
    pub tss_distance: i64,
    pub log2_effect: f64,
}

/// The SNV's effect on every gene whose promoter holds the site.
struct Effect {
    /// (gene, count changes per motif, change in planted log2 expression)
    per_gene: Vec<(usize, Vec<i64>, f64)>,
}

impl Effect {
    fn changes_any_count(&self) -> bool {
        self.per_gene.iter().any(|(_, d, _)| d.iter().any(|&x| x != 0))
    }

    /// The gene with the largest |effect| (first in gene order on ties).
    fn strongest(&self) -> Option<&(usize, Vec<i64>, f64)> {
        self.per_gene.iter().fold(None, |best: Option<&(usize, Vec<i64>, f64)>, x| match best {
            Some(b) if b.2.abs() >= x.2.abs() => Some(b),
            _ => Some(x),
        })
    }
}

/// Genes by contig, for finding the promoters that hold a site.
struct Sites<'a> {
    genes: &'a [SimGene],
    by_contig: Vec<Vec<usize>>,
    grammar: &'a Grammar,
}

impl<'a> Sites<'a> {
    fn new(genes: &'a [SimGene], n_contigs: usize, grammar: &'a Grammar) -> Self {
        let mut by_contig = vec![Vec::new(); n_contigs];
        for (i, g) in genes.iter().enumerate() {
            by_contig[g.contig].push(i);
        }
        Sites { genes, by_contig, grammar }
    }

    fn effect(&self, contig: usize, pos: i64, alt: u8) -> Effect {
        let mut per_gene = Vec::new();
        for &gi in &self.by_contig[contig] {
            let g = &self.genes[gi];
            if pos < g.promoter.0 || pos >= g.promoter.1 {
                continue;
            }
            let mut masks: Vec<u8> = g.promoter_seq.iter().map(|&b| base_mask(b)).collect();
            masks[(pos - g.promoter.0) as usize] = base_mask(alt);
            let counts = self.grammar.counts(&masks);
            let delta: Vec<i64> = counts.iter().zip(&g.counts).map(|(&a, &r)| a as i64 - r as i64).collect();
            // Exactly 0 when no capped count moved (or changes cancel exactly).
            let effect: f64 = self
                .grammar
                .motifs
                .iter()
                .zip(counts.iter().zip(&g.counts))
                .map(|(m, (&a, &r))| m.log2_effect * (a.min(m.cap) as f64 - r.min(m.cap) as f64))
                .sum();
            per_gene.push((gi, delta, effect));
        }
        Effect { per_gene }
    }
}

/// Candidate SNVs from the promoters: those breaking an occurrence (any position the
/// consensus constrains) and those completing a window one mismatch away.
fn candidates(genes: &[SimGene], grammar: &Grammar) -> Groups {
    let mut groups = Groups::new();
    let mut seen: HashSet<Snv> = HashSet::new();
    for g in genes {
        let masks: Vec<u8> = g.promoter_seq.iter().map(|&b| base_mask(b)).collect();
        for (mi, c) in grammar.compiled.iter().enumerate() {
            let l = c.width();
            if masks.len() < l {
                continue;
            }
            for p in 0..=masks.len() - l {
                for pat in c.patterns() {
                    let window = &masks[p..p + l];
                    let mut mismatch = None;
                    let mut n_mis = 0;
                    for (i, (m, b)) in pat.iter().zip(window).enumerate() {
                        if m & b == 0 {
                            n_mis += 1;
                            if n_mis > 1 {
                                break;
                            }
                            mismatch = Some(i);
                        }
                    }
                    let mut push = |kind: u8, i: usize, alt: u8, groups: &mut Groups| {
                        let site = (g.contig, g.promoter.0 + (p + i) as i64, alt);
                        if seen.insert(site) {
                            groups.entry((mi, kind)).or_default().push(site);
                        }
                    };
                    match n_mis {
                        0 => {
                            for (i, &m) in pat.iter().enumerate() {
                                for (bi, &alt) in BASES.iter().enumerate() {
                                    if m & (1 << bi) == 0 {
                                        push(0, i, alt, &mut groups);
                                    }
                                }
                            }
                        }
                        1 => {
                            let i = mismatch.expect("one mismatch");
                            if window[i] == 0 {
                                continue; // N in the genome: no SNV from it
                            }
                            for (bi, &alt) in BASES.iter().enumerate() {
                                if pat[i] & (1 << bi) != 0 {
                                    push(1, i, alt, &mut groups);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    groups
}

fn describe(delta: &[i64], grammar: &Grammar) -> String {
    let parts: Vec<String> = grammar
        .motifs
        .iter()
        .zip(delta)
        .filter(|(_, &d)| d != 0)
        .map(|(m, &d)| format!("{}:{d:+}", m.name))
        .collect();
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join(",")
    }
}

/// Picks `opts.variants` causal SNVs and as many matched nulls.
pub fn pick(genes: &[SimGene], contigs: &[Contig], grammar: &Grammar, opts: &Options) -> Result<Vec<Variant>> {
    let sites = Sites::new(genes, contigs.len(), grammar);
    let mut used: HashSet<(usize, i64)> = HashSet::new();
    let mut out = Vec::new();
    if opts.variants == 0 {
        return Ok(out);
    }

    // Causal: round-robin over (motif, break/create) groups, each shuffled.
    let mut rng = Rng::stream(opts.seed, "causal", 0);
    let mut groups: Vec<std::vec::IntoIter<Snv>> = candidates(genes, grammar)
        .into_values()
        .map(|mut v| {
            rng.shuffle(&mut v);
            v.into_iter()
        })
        .collect();
    let mut causal: Vec<Variant> = Vec::new();
    while causal.len() < opts.variants && !groups.is_empty() {
        groups.retain(|g| g.len() > 0);
        for group in groups.iter_mut() {
            if causal.len() >= opts.variants {
                break;
            }
            // The next usable candidate of this group.
            for (contig, pos, alt) in group.by_ref() {
                if used.contains(&(contig, pos)) {
                    continue;
                }
                let effect = sites.effect(contig, pos, alt);
                let Some((gi, delta, e)) = effect.strongest() else { continue };
                if *e == 0.0 {
                    continue;
                }
                used.insert((contig, pos));
                let g = &genes[*gi];
                causal.push(Variant {
                    id: format!("causal_{}", causal.len() + 1),
                    causal: true,
                    contig,
                    pos,
                    ref_base: g.promoter_seq[(pos - g.promoter.0) as usize],
                    alt,
                    gene: *gi,
                    motif: describe(delta, grammar),
                    tss_distance: g.tss_distance(pos),
                    log2_effect: *e,
                });
                break;
            }
        }
    }

    // Nulls: one per causal, same TSS-distance bin, no motif count changed anywhere.
    let mut rng = Rng::stream(opts.seed, "null", 0);
    let promoter_len = |g: &SimGene| g.promoter.1 - g.promoter.0;
    for c in &causal {
        let bin = (c.tss_distance - 1) / DISTANCE_BIN;
        let (lo, hi) = (bin * DISTANCE_BIN + 1, (bin + 1) * DISTANCE_BIN);
        let eligible: Vec<usize> = (0..genes.len()).filter(|&i| promoter_len(&genes[i]) >= lo).collect();
        let mut found = None;
        for _ in 0..100_000 {
            if eligible.is_empty() {
                break;
            }
            let gi = eligible[rng.below(eligible.len() as u64) as usize];
            let g = &genes[gi];
            let top = hi.min(promoter_len(g));
            let d = lo + rng.below((top - lo + 1) as u64) as i64;
            let pos = if g.strand == '+' { g.tss - d } else { g.tss + d };
            let ref_base = g.promoter_seq[(pos - g.promoter.0) as usize];
            let others: Vec<u8> = BASES.iter().copied().filter(|&b| b != ref_base).collect();
            let alt = others[rng.below(3) as usize];
            if base_mask(ref_base) == 0 || used.contains(&(g.contig, pos)) {
                continue;
            }
            if sites.effect(g.contig, pos, alt).changes_any_count() {
                continue;
            }
            found = Some((gi, pos, ref_base, alt, d));
            break;
        }
        let (gi, pos, ref_base, alt, d) = found.ok_or_else(|| {
            Error::Other(format!(
                "cannot find a null SNV {lo}-{hi} bp upstream of a TSS that changes no motif count (matching {})",
                c.id
            ))
        })?;
        used.insert((genes[gi].contig, pos));
        out.push(Variant {
            id: c.id.replacen("causal", "null", 1),
            causal: false,
            contig: genes[gi].contig,
            pos,
            ref_base,
            alt,
            gene: gi,
            motif: ".".into(),
            tss_distance: d,
            log2_effect: 0.0,
        });
    }
    out.extend(causal);
    out.sort_by_key(|v| (v.contig, v.pos));
    Ok(out)
}

pub fn vcf(variants: &[Variant], contigs: &[Contig], opts: &Options) -> String {
    let mut s = String::from("##fileformat=VCFv4.2\n");
    let _ = writeln!(
        s,
        "##source=shorkie-simulate {} (planted-grammar benchmark; seed={} promoter_bp={} variants={})",
        env!("CARGO_PKG_VERSION"),
        opts.seed,
        opts.promoter_bp,
        opts.variants
    );
    for c in contigs {
        let _ = writeln!(s, "##contig=<ID={},length={}>", c.name, c.len);
    }
    s.push_str("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
    for v in variants {
        let _ = writeln!(
            s,
            "{}\t{}\t{}\t{}\t{}\t.\t.\t.",
            contigs[v.contig].name,
            v.pos + 1,
            v.id,
            v.ref_base as char,
            v.alt as char
        );
    }
    s
}

pub fn truth_tsv(variants: &[Variant], contigs: &[Contig], genes: &[SimGene]) -> String {
    let mut s = String::from("id\tchrom\tpos\tref\talt\tclass\tgene\tmotif\ttss_distance\tlog2_effect\n");
    for v in variants {
        let _ = writeln!(
            s,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            v.id,
            contigs[v.contig].name,
            v.pos + 1,
            v.ref_base as char,
            v.alt as char,
            if v.causal { "causal" } else { "null" },
            genes[v.gene].id,
            v.motif,
            v.tss_distance,
            fmt_f(v.log2_effect)
        );
    }
    s
}
