//! The k-mer context baseline for masked-token prediction: the masked base predicted from
//! the k bases on each side, with counts from the training contigs (add-alpha smoothing).

use super::data::{Corpus, Window};

use crate::dna::base_index as code;

pub struct KmerModel {
    pub k: usize,
    pub alpha: f64,
    counts: Vec<u32>,
}

impl KmerModel {
    /// Context index of the k bases left and right of `pos`, if all are ACGT.
    fn context(seq: &[u8], pos: usize, k: usize) -> Option<usize> {
        if pos < k || pos + k >= seq.len() {
            return None;
        }
        let mut idx = 0usize;
        for &b in seq[pos - k..pos].iter().chain(&seq[pos + 1..pos + 1 + k]) {
            idx = idx * 4 + code(b)?;
        }
        Some(idx)
    }

    /// Counts over every position of the training windows' contigs (each contig once).
    pub fn train(corpus: &Corpus, k: usize, alpha: f64) -> Self {
        let mut counts = vec![0u32; 4usize.pow(2 * k as u32) * 4];
        let mut seen = std::collections::HashSet::new();
        for w in &corpus.train {
            if !seen.insert((w.genome, w.contig)) {
                continue;
            }
            let seq = &corpus.genomes[w.genome].contigs[w.contig].seq;
            for pos in 0..seq.len() {
                if let (Some(ctx), Some(b)) = (Self::context(seq, pos, k), code(seq[pos])) {
                    counts[ctx * 4 + b] += 1;
                }
            }
        }
        KmerModel { k, alpha, counts }
    }

    /// ln p(base | context) for the base at `pos` of `w` (uniform without a full context).
    pub fn log_prob(&self, corpus: &Corpus, w: &Window, pos: usize, base: usize) -> f64 {
        let seq = &corpus.genomes[w.genome].contigs[w.contig].seq;
        match Self::context(seq, w.start + pos, self.k) {
            None => (0.25f64).ln(),
            Some(ctx) => {
                let c = &self.counts[ctx * 4..ctx * 4 + 4];
                let total: f64 = c.iter().map(|v| *v as f64).sum::<f64>() + 4.0 * self.alpha;
                ((c[base] as f64 + self.alpha) / total).ln()
            }
        }
    }

    /// The most likely base at `pos` of `w`.
    pub fn predict(&self, corpus: &Corpus, w: &Window, pos: usize) -> usize {
        (0..4)
            .map(|b| (b, self.log_prob(corpus, w, pos, b)))
            .fold((0, f64::MIN), |acc, x| if x.1 > acc.1 { x } else { acc })
            .0
    }
}
