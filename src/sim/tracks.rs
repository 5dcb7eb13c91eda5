//! Stranded RNA-seq-like coverage: expected depth over each gene's covered spans (its
//! exons, or its TSS-proximal bases), per-base gamma-Poisson noise, written as a BigWig
//! with bigtools.

use std::collections::HashMap;
use std::path::Path;

use bigtools::Value;

use super::rng::Rng;
use super::{Contig, Options, SimGene};
use crate::error::{Error, Result};

/// Noisy per-base coverage of one strand of one contig.
pub fn contig_coverage(contig_index: usize, len: u64, genes: &[SimGene], strand: char, opts: &Options) -> Vec<f32> {
    let mut expected = vec![0f64; len as usize];
    for g in genes.iter().filter(|g| g.contig == contig_index && g.strand == strand) {
        let depth = g.log2_expression.exp2() * opts.depth;
        for (s, e) in g.covered_spans(opts.coverage, len as i64) {
            for x in &mut expected[s as usize..e as usize] {
                *x += depth;
            }
        }
    }
    let tag = if strand == '+' { "coverage+" } else { "coverage-" };
    let mut rng = Rng::stream(opts.seed, tag, contig_index as u64);
    let shape = if opts.dispersion > 0.0 { 1.0 / opts.dispersion } else { 0.0 };
    expected
        .iter()
        .map(|&lambda| {
            if lambda <= 0.0 {
                return 0.0;
            }
            let lambda = if shape > 0.0 { lambda * rng.gamma(shape) / shape } else { lambda };
            rng.poisson(lambda) as f32
        })
        .collect()
}

/// Runs of equal value covering the whole contig.
fn runs(cov: &[f32]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut start = 0usize;
    for i in 1..=cov.len() {
        if i == cov.len() || cov[i] != cov[start] {
            out.push(Value { start: start as u32, end: i as u32, value: cov[start] });
            start = i;
        }
    }
    out
}

/// Contigs one at a time, in name order (the order the BigWig chromosome tree needs).
struct TrackIter<'a> {
    order: Vec<usize>,
    next: usize,
    contigs: &'a [Contig],
    genes: &'a [SimGene],
    strand: char,
    opts: &'a Options,
    current: Option<(usize, std::vec::IntoIter<Value>)>,
}

impl<'a> Iterator for TrackIter<'a> {
    type Item = (&'a str, Value);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((ci, it)) = &mut self.current {
                if let Some(v) = it.next() {
                    return Some((self.contigs[*ci].name.as_str(), v));
                }
            }
            let ci = *self.order.get(self.next)?;
            self.next += 1;
            let cov = contig_coverage(ci, self.contigs[ci].len, self.genes, self.strand, self.opts);
            self.current = Some((ci, runs(&cov).into_iter()));
        }
    }
}

/// Writes one strand's BigWig atomically (temporary file beside it, then renamed).
pub fn write_track(path: &Path, contigs: &[Contig], genes: &[SimGene], strand: char, opts: &Options) -> Result<()> {
    for c in contigs {
        if c.len > u32::MAX as u64 {
            return Err(Error::Input(format!("{}: contig {} is too long for a BigWig", opts.fasta.display(), c.name)));
        }
    }
    let mut out = crate::staged::Staged::new(path)?;
    let sizes: HashMap<String, u32> = contigs.iter().map(|c| (c.name.clone(), c.len as u32)).collect();
    let mut order: Vec<usize> = (0..contigs.len()).collect();
    order.sort_by(|&a, &b| contigs[a].name.as_bytes().cmp(contigs[b].name.as_bytes()));
    let iter = TrackIter { order, next: 0, contigs, genes, strand, opts, current: None };
    crate::bigwig_out::write_staged(&mut out, sizes, iter)?;
    out.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_everything() {
        let r = runs(&[0.0, 0.0, 3.0, 3.0, 1.0, 0.0]);
        let got: Vec<(u32, u32, f32)> = r.iter().map(|v| (v.start, v.end, v.value)).collect();
        assert_eq!(got, vec![(0, 2, 0.0), (2, 4, 3.0), (4, 5, 1.0), (5, 6, 0.0)]);
    }
}
