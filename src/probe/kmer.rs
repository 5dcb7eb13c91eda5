//! K-mer frequency features: the baseline a learned embedding has to beat. Each sequence
//! becomes the frequencies of its canonical k-mers (the smaller of a k-mer and its reverse
//! complement), so a sequence and its reverse complement get the same features, as they
//! would from a strand-symmetric model. Frequencies rather than counts keep sequences of
//! different lengths comparable.

use rayon::prelude::*;

use super::linalg::Matrix;
use crate::dna::base_index;
use crate::error::{Error, Result};

/// The largest k: 4^8 / 2 ≈ 33k features already makes a dense matrix of a few GB for
/// tens of thousands of sequences.
pub const MAX_K: usize = 8;

/// The canonical k-mers of one length and the feature column of each.
#[derive(Debug, Clone)]
pub struct KmerSpace {
    k: usize,
    /// Column of every 2-bit-encoded k-mer (A=0, C=1, G=2, T=3, first base most
    /// significant); a k-mer and its reverse complement share one.
    column: Vec<u32>,
    /// The canonical code of each column, ascending.
    canonical: Vec<u32>,
}

fn reverse_complement_code(code: u32, k: usize) -> u32 {
    let mut rc = 0;
    let mut c = code;
    for _ in 0..k {
        rc = (rc << 2) | (3 - (c & 3));
        c >>= 2;
    }
    rc
}

impl KmerSpace {
    pub fn new(k: usize) -> Result<Self> {
        if !(1..=MAX_K).contains(&k) {
            return Err(Error::Input(format!("k-mer features: k must be 1..={MAX_K}, got {k}")));
        }
        let total = 1u32 << (2 * k);
        let mut column = vec![0u32; total as usize];
        let mut canonical = Vec::new();
        for code in 0..total {
            let rc = reverse_complement_code(code, k);
            if code <= rc {
                column[code as usize] = canonical.len() as u32;
                canonical.push(code);
            } else {
                // rc < code, so its column was assigned earlier in this loop.
                column[code as usize] = column[rc as usize];
            }
        }
        Ok(KmerSpace { k, column, canonical })
    }

    pub fn k(&self) -> usize {
        self.k
    }

    /// Number of features (canonical k-mers).
    pub fn len(&self) -> usize {
        self.canonical.len()
    }

    pub fn is_empty(&self) -> bool {
        self.canonical.is_empty()
    }

    /// The canonical k-mer of each column.
    pub fn names(&self) -> Vec<String> {
        self.canonical
            .iter()
            .map(|&code| (0..self.k).rev().map(|i| b"ACGT"[((code >> (2 * i)) & 3) as usize] as char).collect())
            .collect()
    }

    /// Counts per column and the number of k-mers counted; windows with a base other than
    /// A, C, G, T (either case) are skipped.
    pub fn counts(&self, seq: &[u8]) -> (Vec<u32>, usize) {
        let mask = (1u32 << (2 * self.k)) - 1;
        let mut counts = vec![0u32; self.len()];
        let (mut code, mut valid, mut total) = (0u32, 0usize, 0usize);
        for &b in seq {
            let Some(c) = base_index(b) else {
                valid = 0;
                continue;
            };
            code = ((code << 2) | c as u32) & mask;
            valid += 1;
            if valid >= self.k {
                counts[self.column[code as usize] as usize] += 1;
                total += 1;
            }
        }
        (counts, total)
    }

    /// Frequencies summing to 1, or None when the sequence has no complete k-mer.
    pub fn frequencies(&self, seq: &[u8]) -> Option<Vec<f64>> {
        let (counts, total) = self.counts(seq);
        (total > 0).then(|| counts.iter().map(|&c| c as f64 / total as f64).collect())
    }
}

/// One row of canonical k-mer frequencies per sequence. `ids` name the sequences and
/// `source` their file in the error for a sequence without a complete k-mer.
pub fn kmer_matrix<S: AsRef<[u8]> + Sync>(ids: &[String], seqs: &[S], k: usize, source: &str) -> Result<Matrix> {
    let space = KmerSpace::new(k)?;
    let rows: Vec<Option<Vec<f64>>> = seqs.par_iter().map(|s| space.frequencies(s.as_ref())).collect();
    let mut data = Vec::with_capacity(rows.len() * space.len());
    for (i, row) in rows.into_iter().enumerate() {
        let row = row.ok_or_else(|| {
            Error::Input(format!(
                "{source}: sequence {} has no complete {k}-mer of A/C/G/T (shorter than {k} bases, or too many N)",
                ids.get(i).map_or("?", String::as_str)
            ))
        })?;
        data.extend(row);
    }
    Matrix::new(seqs.len(), space.len(), data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_kmer_counts_follow_the_formula() {
        // Odd k: no k-mer is its own reverse complement, 4^k / 2. Even k: 4^(k/2)
        // palindromes, (4^k + 4^(k/2)) / 2.
        for k in 1..=6 {
            let all = 4usize.pow(k as u32);
            let expected = if k % 2 == 1 { all / 2 } else { (all + 4usize.pow(k as u32 / 2)) / 2 };
            assert_eq!(KmerSpace::new(k).unwrap().len(), expected, "k={k}");
        }
        assert_eq!(KmerSpace::new(1).unwrap().names(), vec!["A", "C"]);
        assert_eq!(
            KmerSpace::new(2).unwrap().names(),
            vec!["AA", "AC", "AG", "AT", "CA", "CC", "CG", "GA", "GC", "TA"]
        );
    }

    #[test]
    fn frequencies_by_hand() {
        let space = KmerSpace::new(2).unwrap();
        let names = space.names();
        let col = |k: &str| names.iter().position(|n| n == k).unwrap();
        // ACGT: AC, CG, GT; GT is AC's reverse complement.
        let f = space.frequencies(b"ACGT").unwrap();
        assert!((f[col("AC")] - 2.0 / 3.0).abs() < 1e-12);
        assert!((f[col("CG")] - 1.0 / 3.0).abs() < 1e-12);
        assert!((f.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // An N breaks the window; lowercase counts: ac, then TT (= AA).
        let (counts, total) = space.counts(b"acNTT");
        assert_eq!(total, 2);
        assert_eq!((counts[col("AC")], counts[col("AA")]), (1, 1));
        assert!(space.frequencies(b"A").is_none());
        assert!(space.frequencies(b"ANA").is_none());
    }

    #[test]
    fn reverse_complement_has_the_same_features() {
        let seq = b"ACGGTTACGATCGATCGGGATCCAGTNNACGTAGCTAGCTTTTAGGC".to_vec();
        for k in [1, 3, 4, 5] {
            let space = KmerSpace::new(k).unwrap();
            assert_eq!(space.frequencies(&seq), space.frequencies(&crate::dna::reverse_complement(&seq)), "k={k}");
        }
    }

    #[test]
    fn matrix_rows_and_errors() {
        let ids = vec!["a".to_string(), "b".to_string()];
        let m = kmer_matrix(&ids, &[b"ACGTAC".to_vec(), b"TTTT".to_vec()], 3, "x.fa").unwrap();
        assert_eq!((m.rows(), m.cols()), (2, 32));
        for i in 0..2 {
            assert!((m.row(i).iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        let e = kmer_matrix(&ids, &[b"ACGTAC".to_vec(), b"NN".to_vec()], 3, "x.fa").unwrap_err().to_string();
        assert!(e.contains("x.fa") && e.contains("sequence b") && e.contains("3-mer"), "{e}");
        assert!(KmerSpace::new(0).is_err());
        assert!(KmerSpace::new(MAX_K + 1).unwrap_err().to_string().contains("k must be"));
    }
}
