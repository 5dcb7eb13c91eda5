//! Homology clusters for leakage-aware splits: sequences that share much of their k-mer
//! content (paralogs, repeats, duplicated promoters) must not sit on both sides of a
//! train/test split, or a probe is rewarded for memorising them.
//!
//! Each sequence gets a bottom-s sketch (the s smallest hashes) of its canonical k-mers,
//! the smaller of a k-mer and its reverse complement, so a reverse-complemented copy has
//! the same sketch. Jaccard similarity is estimated from two sketches as Mash does: among
//! the s smallest hashes of their union, the fraction present in both. Any pair with a
//! non-zero estimate shares a sketch hash, so candidate pairs come from an inverted index
//! of hashes, which is exact with respect to the all-pairs estimate but touches only
//! pairs that share something (near-linear for unrelated sequences at k ≥ 12; a small k
//! makes every pair share k-mers and the search quadratic). Pairs at or above the
//! threshold are linked, and clusters are the connected components (union-find), so
//! homology is transitive: A~B and B~C puts A, B, C together.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::dna::base_index;
use crate::error::{Error, Result};

/// A bottom-s sketch: the smallest distinct canonical k-mer hashes, ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sketch(pub Vec<u64>);

/// An invertible 64-bit mix (SplitMix64's finaliser): distinct k-mers (k ≤ 32 fits in 64
/// bits) get distinct hashes, spread uniformly so the smallest ones are a random sample.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn check_params(k: usize, threshold: f64, size: usize) -> Result<()> {
    if !(1..=32).contains(&k) {
        return Err(Error::Input(format!("homology: k-mer length must be 1..=32, got {k}")));
    }
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(Error::Input(format!("homology: Jaccard threshold must be in (0, 1], got {threshold}")));
    }
    if size == 0 {
        return Err(Error::Input("homology: sketch size must be at least 1".into()));
    }
    Ok(())
}

impl Sketch {
    /// Sketch of canonical `k`-mers; windows containing a non-ACGT base are skipped.
    pub fn new(seq: &[u8], k: usize, size: usize) -> Self {
        let mask = if k == 32 { u64::MAX } else { (1u64 << (2 * k)) - 1 };
        let shift = 2 * (k as u32 - 1);
        let (mut fwd, mut rev, mut valid) = (0u64, 0u64, 0usize);
        let mut hashes = Vec::with_capacity(seq.len());
        for &b in seq {
            let Some(c) = base_index(b) else {
                valid = 0;
                continue;
            };
            let c = c as u64;
            fwd = ((fwd << 2) | c) & mask;
            rev = (rev >> 2) | ((3 - c) << shift);
            valid += 1;
            if valid >= k {
                hashes.push(mix(fwd.min(rev)));
            }
        }
        hashes.sort_unstable();
        hashes.dedup();
        hashes.truncate(size);
        Sketch(hashes)
    }

    /// Mash's estimate of the Jaccard index of the two k-mer sets: the shared fraction of
    /// the `size` smallest hashes of the union (exact when both sets fit in the sketch).
    pub fn jaccard(&self, other: &Sketch, size: usize) -> f64 {
        let (a, b) = (&self.0, &other.0);
        let (mut i, mut j, mut union, mut shared) = (0, 0, 0usize, 0usize);
        while union < size && (i < a.len() || j < b.len()) {
            if j == b.len() || (i < a.len() && a[i] < b[j]) {
                i += 1;
            } else if i == a.len() || b[j] < a[i] {
                j += 1;
            } else {
                shared += 1;
                i += 1;
                j += 1;
            }
            union += 1;
        }
        if union == 0 {
            0.0
        } else {
            shared as f64 / union as f64
        }
    }
}

/// Connected components of the similarity graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clusters {
    /// Cluster id per sequence, numbered by first appearance.
    pub cluster_of: Vec<usize>,
    pub n_clusters: usize,
    pub largest: usize,
    /// Pairs at or above the threshold (edges of the graph).
    pub linked_pairs: usize,
}

struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind { parent: (0..n).collect(), size: vec![1; n] }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a;
        self.size[a] += self.size[b];
    }
}

/// Clusters sequences whose estimated k-mer Jaccard is at least `threshold`.
pub fn cluster<S: AsRef<[u8]> + Sync>(seqs: &[S], k: usize, threshold: f64, size: usize) -> Result<Clusters> {
    check_params(k, threshold, size)?;
    if seqs.is_empty() {
        return Err(Error::Input("homology: no sequences to cluster".into()));
    }
    let n = seqs.len();
    let sketches: Vec<Sketch> = seqs.par_iter().map(|s| Sketch::new(s.as_ref(), k, size)).collect();
    let mut index: HashMap<u64, Vec<u32>> = HashMap::new();
    for (i, s) in sketches.iter().enumerate() {
        for &h in &s.0 {
            index.entry(h).or_default().push(i as u32);
        }
    }
    // Each i looks only at partners j > i; per-thread counters of shared hashes.
    let edges: Vec<(usize, usize)> = (0..n)
        .into_par_iter()
        .map_init(
            || (vec![0u32; n], Vec::<usize>::new()),
            |(count, touched), i| {
                for h in &sketches[i].0 {
                    for &j in &index[h] {
                        let j = j as usize;
                        if j > i {
                            if count[j] == 0 {
                                touched.push(j);
                            }
                            count[j] += 1;
                        }
                    }
                }
                let mut out = Vec::new();
                for &j in touched.iter() {
                    // The estimate is at most shared / max(|A|, |B|): skip hopeless pairs.
                    let bound = count[j] as f64 / sketches[i].0.len().max(sketches[j].0.len()) as f64;
                    if bound >= threshold && sketches[i].jaccard(&sketches[j], size) >= threshold {
                        out.push((i, j));
                    }
                    count[j] = 0;
                }
                touched.clear();
                out
            },
        )
        .flatten()
        .collect();
    let mut uf = UnionFind::new(n);
    for &(a, b) in &edges {
        uf.union(a, b);
    }
    let mut id: HashMap<usize, usize> = HashMap::new();
    let mut cluster_of = Vec::with_capacity(n);
    let mut sizes: Vec<usize> = Vec::new();
    for i in 0..n {
        let root = uf.find(i);
        let next = id.len();
        let c = *id.entry(root).or_insert(next);
        if c == sizes.len() {
            sizes.push(0);
        }
        sizes[c] += 1;
        cluster_of.push(c);
    }
    Ok(Clusters {
        cluster_of,
        n_clusters: sizes.len(),
        largest: sizes.iter().copied().max().unwrap_or(0),
        linked_pairs: edges.len(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::probe::split::group_folds;
    use crate::sim::rng::Rng;

    pub(crate) fn random_seq(rng: &mut Rng, len: usize) -> Vec<u8> {
        (0..len).map(|_| b"ACGT"[rng.below(4) as usize]).collect()
    }

    /// A copy with `rate` of positions substituted by a different base.
    pub(crate) fn mutate(rng: &mut Rng, s: &[u8], rate: f64) -> Vec<u8> {
        s.iter()
            .map(|&b| {
                if rng.uniform() < rate {
                    let others: Vec<u8> = b"ACGT".iter().copied().filter(|&c| c != b).collect();
                    others[rng.below(3) as usize]
                } else {
                    b
                }
            })
            .collect()
    }

    /// `pairs` planted near-duplicate pairs (every third reverse-complemented) among
    /// `singles` unrelated sequences, shuffled; returns sequences and the planted pairs.
    pub(crate) fn planted(pairs: usize, singles: usize, len: usize, seed: u64) -> (Vec<Vec<u8>>, Vec<(usize, usize)>) {
        let mut rng = Rng::stream(seed, "homology-planted", 0);
        let mut seqs: Vec<(Vec<u8>, Option<usize>)> = Vec::new();
        for p in 0..pairs {
            let a = random_seq(&mut rng, len);
            let rate = if p % 2 == 0 { 0.01 } else { 0.02 };
            let mut b = mutate(&mut rng, &a, rate);
            if p % 3 == 0 {
                b = crate::dna::reverse_complement(&b);
            }
            seqs.push((a, Some(p)));
            seqs.push((b, Some(p)));
        }
        for _ in 0..singles {
            seqs.push((random_seq(&mut rng, len), None));
        }
        rng.shuffle(&mut seqs);
        let mut first: HashMap<usize, usize> = HashMap::new();
        let mut pair_idx = Vec::new();
        for (i, (_, p)) in seqs.iter().enumerate() {
            if let Some(p) = p {
                match first.get(p) {
                    Some(&j) => pair_idx.push((j, i)),
                    None => {
                        first.insert(*p, i);
                    }
                }
            }
        }
        (seqs.into_iter().map(|(s, _)| s).collect(), pair_idx)
    }

    #[test]
    fn reverse_complement_has_the_same_sketch() {
        let mut rng = Rng::stream(1, "t", 0);
        let s = random_seq(&mut rng, 300);
        assert_eq!(Sketch::new(&s, 15, 64), Sketch::new(&crate::dna::reverse_complement(&s), 15, 64));
        // Lowercase is the same sequence; an N breaks k-mers but nothing else.
        let lower = s.to_ascii_lowercase();
        assert_eq!(Sketch::new(&s, 15, 64), Sketch::new(&lower, 15, 64));
        let small = Sketch::new(b"ACGTNACGT", 3, 100);
        // ACG/CGT are reverse complements of each other: one canonical k-mer.
        assert_eq!(small.0.len(), 1);
    }

    #[test]
    fn jaccard_estimate_is_exact_for_small_sets_and_close_for_large() {
        let a = Sketch(vec![1, 2, 3, 4]);
        let b = Sketch(vec![3, 4, 5, 6]);
        assert!((a.jaccard(&b, 100) - 2.0 / 6.0).abs() < 1e-12);
        assert_eq!(a.jaccard(&a, 100), 1.0);
        // 2000 shared k-mers out of a union of ~4000 per random pair of overlapping halves.
        let mut rng = Rng::stream(2, "t", 0);
        let s = random_seq(&mut rng, 6000);
        let (x, y) = (&s[..4000], &s[2000..]);
        let j = Sketch::new(x, 21, 512).jaccard(&Sketch::new(y, 21, 512), 512);
        let truth = 1980.0 / 5980.0; // shared 21-mers / union
        assert!((j - truth).abs() < 0.06, "{j} vs {truth}");
    }

    #[test]
    fn planted_pairs_stay_together_and_random_sequences_stay_apart() {
        let (seqs, pairs) = planted(40, 400, 500, 3);
        let c = cluster(&seqs, 15, 0.2, 128).unwrap();
        for &(a, b) in &pairs {
            assert_eq!(c.cluster_of[a], c.cluster_of[b], "planted pair {a},{b} in different clusters");
        }
        // Unrelated random sequences: no giant cluster, nearly every one alone.
        assert_eq!(c.largest, 2, "largest cluster {}", c.largest);
        assert_eq!(c.n_clusters, 440);
        let folds = group_folds(&c.cluster_of, 5, 1).unwrap();
        for &(a, b) in &pairs {
            assert_eq!(folds.fold_of[a], folds.fold_of[b], "planted pair {a},{b} split across folds");
        }
        // Transitivity: a chain of copies joins one cluster.
        let mut rng = Rng::stream(4, "t", 0);
        let mut chain = vec![random_seq(&mut rng, 500)];
        for _ in 0..3 {
            let next = mutate(&mut rng, chain.last().unwrap(), 0.01);
            chain.push(next);
        }
        let c = cluster(&chain, 15, 0.2, 128).unwrap();
        assert_eq!((c.n_clusters, c.largest), (1, 4));
    }

    #[test]
    fn bad_parameters_are_errors() {
        let s = vec![b"ACGT".to_vec()];
        assert!(cluster(&s, 0, 0.5, 10).unwrap_err().to_string().contains("1..=32"));
        assert!(cluster(&s, 33, 0.5, 10).is_err());
        assert!(cluster(&s, 5, 0.0, 10).unwrap_err().to_string().contains("threshold"));
        assert!(cluster(&s, 5, 0.5, 0).unwrap_err().to_string().contains("sketch size"));
        let none: Vec<Vec<u8>> = Vec::new();
        assert!(cluster(&none, 5, 0.5, 10).unwrap_err().to_string().contains("no sequences"));
    }

    /// One-off timing at the intended scale:
    /// `cargo test --lib probe::homology -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn time_20k_sequences() {
        let (seqs, pairs) = planted(1000, 18_000, 500, 5);
        let t = std::time::Instant::now();
        let c = cluster(&seqs, 15, 0.2, 128).unwrap();
        let dt = t.elapsed();
        let kept = pairs.iter().filter(|(a, b)| c.cluster_of[*a] == c.cluster_of[*b]).count();
        println!(
            "n={} k=15 s=128: {:.2?}; {} clusters, largest {}, {} links, {kept}/{} planted pairs joined",
            seqs.len(),
            dt,
            c.n_clusters,
            c.largest,
            c.linked_pairs,
            pairs.len()
        );
        let t = std::time::Instant::now();
        let sk: Vec<Sketch> = seqs[..2000].iter().map(|s| Sketch::new(s, 15, 128)).collect();
        let mut hits = 0;
        for i in 0..sk.len() {
            for j in i + 1..sk.len() {
                hits += (sk[i].jaccard(&sk[j], 128) >= 0.2) as usize;
            }
        }
        let per_pair = t.elapsed().as_secs_f64() / (2000.0 * 1999.0 / 2.0);
        println!(
            "exact all-pairs over sketches: {per_pair:.2e} s/pair -> {:.1} s for n=20000 ({hits} hits in 2000)",
            per_pair * 20_000.0 * 19_999.0 / 2.0
        );
    }
}
