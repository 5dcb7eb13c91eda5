//! The planted grammar: real yeast promoter motifs as IUPAC consensus strings, each with a
//! log2 effect on expression and a cap on how many copies count.
//!
//! A motif occurs at a start position when the window matches the consensus on either
//! strand; a position is counted once even when both strands match (palindromes such as
//! RRPE). Bases other than A, C, G, T in the genome match nothing, not even `N`.

/// One motif of the grammar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Motif {
    pub name: &'static str,
    /// The factor(s) binding it.
    pub factor: &'static str,
    /// IUPAC consensus (A C G T R Y S W K M B D H V N).
    pub consensus: &'static str,
    /// Added to log2 expression per counted copy (negative: repressor).
    pub log2_effect: f64,
    /// Copies beyond this add nothing.
    pub cap: u32,
    pub note: &'static str,
}

/// log2 expression of a promoter without any motif.
pub const BASE_LOG2: f64 = 3.0;

/// The grammar. Effects are chosen so that planted log2 expression spreads widely over
/// S288C's 6,371 genes (400-bp promoters: sd 1.7, 5th to 95th percentile 1.5 to 7.5,
/// range -1.5 to 13.5). Rap1 (ribosomal-protein genes) is the strongest activator, Mig1
/// the one repressor.
pub const MOTIFS: &[Motif] = &[
    Motif {
        name: "Rap1",
        factor: "Rap1",
        consensus: "ACCCRTACA",
        log2_effect: 3.0,
        cap: 2,
        note: "core of the ribosomal-protein-gene UAS (ACACCCATACATTT)",
    },
    Motif {
        name: "Abf1",
        factor: "Abf1",
        consensus: "RTCRYNNNNNACG",
        log2_effect: 1.5,
        cap: 2,
        note: "general regulatory factor, bipartite site",
    },
    Motif {
        name: "Reb1",
        factor: "Reb1",
        consensus: "TTACCCG",
        log2_effect: 1.5,
        cap: 2,
        note: "general regulatory factor",
    },
    Motif {
        name: "TATA",
        factor: "TBP",
        consensus: "TATAWAWR",
        log2_effect: 1.5,
        cap: 2,
        note: "TATA box",
    },
    Motif {
        name: "PAC",
        factor: "Pbf1/Pbf2",
        consensus: "GCGATGAG",
        log2_effect: 2.0,
        cap: 2,
        note: "polymerase A and C box of ribosome-biogenesis genes",
    },
    Motif {
        name: "RRPE",
        factor: "Stb3",
        consensus: "AAAAWTTTT",
        log2_effect: 1.0,
        cap: 3,
        note: "rRNA-processing element (palindromic)",
    },
    Motif {
        name: "Mig1",
        factor: "Mig1",
        consensus: "SYGGGG",
        log2_effect: -1.5,
        cap: 3,
        note: "glucose-repression site (repressor)",
    },
];

/// Bit mask of the bases an IUPAC letter stands for (A=1, C=2, G=4, T=8); 0 if not IUPAC.
pub fn iupac_mask(c: u8) -> u8 {
    match c.to_ascii_uppercase() {
        b'A' => 1,
        b'C' => 2,
        b'G' => 4,
        b'T' | b'U' => 8,
        b'R' => 1 | 4,
        b'Y' => 2 | 8,
        b'S' => 2 | 4,
        b'W' => 1 | 8,
        b'K' => 4 | 8,
        b'M' => 1 | 2,
        b'B' => 2 | 4 | 8,
        b'D' => 1 | 4 | 8,
        b'H' => 1 | 2 | 8,
        b'V' => 1 | 2 | 4,
        b'N' => 15,
        _ => 0,
    }
}

/// Genome base -> single-bit mask; anything but A, C, G, T -> 0 (matches nothing).
pub fn base_mask(b: u8) -> u8 {
    match b.to_ascii_uppercase() {
        b'A' => 1,
        b'C' => 2,
        b'G' => 4,
        b'T' => 8,
        _ => 0,
    }
}

fn complement_mask(m: u8) -> u8 {
    ((m & 1) << 3) | ((m & 2) << 1) | ((m & 4) >> 1) | ((m & 8) >> 3)
}

/// A motif as per-position masks for both strands.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub fwd: Vec<u8>,
    /// Reverse complement of `fwd`; None for palindromes (same as `fwd`).
    pub rev: Option<Vec<u8>>,
}

impl Compiled {
    pub fn new(consensus: &str) -> Self {
        let fwd: Vec<u8> = consensus.bytes().map(iupac_mask).collect();
        assert!(fwd.iter().all(|&m| m != 0), "bad IUPAC consensus {consensus}");
        let rev: Vec<u8> = fwd.iter().rev().map(|&m| complement_mask(m)).collect();
        Compiled { rev: (rev != fwd).then_some(rev), fwd }
    }

    /// Motif length.
    pub fn width(&self) -> usize {
        self.fwd.len()
    }

    /// The strand patterns to scan (one for palindromes).
    pub fn patterns(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(self.fwd.as_slice()).chain(self.rev.as_deref())
    }

    /// Whether the window of base masks starting at `p` matches on either strand.
    pub fn matches_at(&self, seq: &[u8], p: usize) -> bool {
        self.patterns().any(|pat| pat.iter().zip(&seq[p..p + pat.len()]).all(|(m, b)| m & b != 0))
    }

    /// Start positions matching on either strand, each counted once.
    pub fn count(&self, seq: &[u8]) -> u32 {
        if seq.len() < self.width() {
            return 0;
        }
        (0..=seq.len() - self.width()).filter(|&p| self.matches_at(seq, p)).count() as u32
    }
}

/// The grammar compiled for scanning.
#[derive(Debug, Clone)]
pub struct Grammar {
    pub motifs: Vec<Motif>,
    pub compiled: Vec<Compiled>,
    pub base: f64,
}

impl Default for Grammar {
    fn default() -> Self {
        Grammar {
            motifs: MOTIFS.to_vec(),
            compiled: MOTIFS.iter().map(|m| Compiled::new(m.consensus)).collect(),
            base: BASE_LOG2,
        }
    }
}

impl Grammar {
    /// Counts of every motif in a sequence of base masks (see [`base_mask`]).
    pub fn counts(&self, masks: &[u8]) -> Vec<u32> {
        self.compiled.iter().map(|c| c.count(masks)).collect()
    }

    /// base + sum of effect * min(count, cap).
    pub fn log2_expression(&self, counts: &[u32]) -> f64 {
        self.base
            + self.motifs.iter().zip(counts).map(|(m, &c)| m.log2_effect * c.min(m.cap) as f64).sum::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masks(s: &str) -> Vec<u8> {
        s.bytes().map(base_mask).collect()
    }

    #[test]
    fn both_strands_once_per_position() {
        let reb1 = Compiled::new("TTACCCG");
        assert_eq!(reb1.count(&masks("GTTACCCGA")), 1);
        assert_eq!(reb1.count(&masks("ACGGGTAAT")), 1);
        let rrpe = Compiled::new("AAAAWTTTT");
        assert!(rrpe.rev.is_none(), "RRPE is palindromic");
        assert_eq!(rrpe.count(&masks("CAAAATTTTTC")), 1);
        // N in the genome matches nothing, even the consensus N.
        let abf1 = Compiled::new("RTCRYNNNNNACG");
        assert_eq!(abf1.count(&masks("ATCATAAAAAACG")), 1);
        assert_eq!(abf1.count(&masks("ATCATAANAAACG")), 0);
    }

    #[test]
    fn expression_caps_copies() {
        let g = Grammar::default();
        let mut counts = vec![0; g.motifs.len()];
        assert_eq!(g.log2_expression(&counts), BASE_LOG2);
        let i = g.motifs.iter().position(|m| m.name == "Reb1").unwrap();
        counts[i] = 5;
        assert!((g.log2_expression(&counts) - (BASE_LOG2 + 2.0 * 1.5)).abs() < 1e-12);
    }
}
