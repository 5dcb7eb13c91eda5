//! K-fold assignment. Every strategy reduces to groups that must not be split (a sample
//! alone for a random split, a contig or gene for a group split, a homology cluster for a
//! homology-aware split); whole groups are then dealt to folds greedily, largest first,
//! each to the fold with the fewest samples so far, so fold sizes stay balanced. Equal
//! sizes are taken in a seeded random order, which makes the random split a shuffled
//! round-robin.

use std::collections::HashMap;
use std::hash::Hash;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::sim::rng::Rng;

/// A fold for each sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Folds {
    pub k: usize,
    pub fold_of: Vec<usize>,
    /// Groups (clusters, contigs, or samples) that were kept whole.
    pub n_groups: usize,
    pub largest_group: usize,
}

impl Folds {
    pub fn test_indices(&self, fold: usize) -> Vec<usize> {
        (0..self.fold_of.len()).filter(|&i| self.fold_of[i] == fold).collect()
    }

    pub fn train_indices(&self, fold: usize) -> Vec<usize> {
        (0..self.fold_of.len()).filter(|&i| self.fold_of[i] != fold).collect()
    }

    pub fn sizes(&self) -> Vec<usize> {
        let mut s = vec![0; self.k];
        for &f in &self.fold_of {
            s[f] += 1;
        }
        s
    }
}

/// Folds that keep samples with equal `ids` together (any hashable label).
pub fn group_folds<G: Hash + Eq>(ids: &[G], k: usize, seed: u64) -> Result<Folds> {
    stratified_group_folds(ids, &vec![0; ids.len()], k, seed)
}

/// As [`group_folds`], also spreading each class evenly over the folds. Without it a fold
/// whose test set holds more positives trains on fewer, its predicted base rate drops, and
/// pooled out-of-fold AUROC on uninformative features comes out below 0.5.
pub fn stratified_group_folds<G: Hash + Eq>(ids: &[G], classes: &[usize], k: usize, seed: u64) -> Result<Folds> {
    if k < 2 {
        return Err(Error::Input(format!("folds: need at least 2 folds, got {k}")));
    }
    if ids.is_empty() {
        return Err(Error::Input("folds: no samples to split".into()));
    }
    if classes.len() != ids.len() {
        return Err(Error::Input(format!(
            "folds: {} class labels for {} samples",
            classes.len(),
            ids.len()
        )));
    }
    // Groups numbered by first appearance, so the outcome depends only on the input order.
    let mut index: HashMap<&G, usize> = HashMap::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, g) in ids.iter().enumerate() {
        let next = members.len();
        let gi = *index.entry(g).or_insert(next);
        if gi == next {
            members.push(Vec::new());
        }
        members[gi].push(i);
    }
    if members.len() < k {
        return Err(Error::Input(format!(
            "folds: cannot split {} samples in {} groups into {k} folds (every fold needs a group)",
            ids.len(),
            members.len()
        )));
    }
    let n_classes = classes.iter().max().map_or(0, |m| m + 1);
    let mut totals = vec![0usize; n_classes];
    classes.iter().for_each(|&c| totals[c] += 1);
    let mut rng = Rng::stream(seed, "probe-folds", 0);
    let mut order: Vec<usize> = (0..members.len()).collect();
    rng.shuffle(&mut order);
    // Stable sort keeps the shuffled order among equal sizes.
    order.sort_by_key(|&g| std::cmp::Reverse(members[g].len()));
    let mut load = vec![vec![0usize; n_classes]; k];
    let mut fold_of = vec![0; ids.len()];
    for g in order {
        let mut counts = vec![0usize; n_classes];
        members[g].iter().for_each(|&i| counts[classes[i]] += 1);
        // Where this group's classes are least represented (relative to their totals);
        // then the smallest fold; then the lowest index.
        let cost = |f: usize| -> f64 {
            (0..n_classes).map(|c| counts[c] as f64 * load[f][c] as f64 / totals[c].max(1) as f64).sum()
        };
        let size = |f: usize| load[f].iter().sum::<usize>();
        let f = (0..k)
            .min_by(|&a, &b| cost(a).total_cmp(&cost(b)).then(size(a).cmp(&size(b))))
            .expect("k >= 2");
        for c in 0..n_classes {
            load[f][c] += counts[c];
        }
        for &i in &members[g] {
            fold_of[i] = f;
        }
    }
    Ok(Folds {
        k,
        fold_of,
        n_groups: members.len(),
        largest_group: members.iter().map(Vec::len).max().unwrap_or(0),
    })
}

/// Seeded random folds of (near-)equal size.
pub fn random_folds(n: usize, k: usize, seed: u64) -> Result<Folds> {
    let ids: Vec<usize> = (0..n).collect();
    group_folds(&ids, k, seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_folds_are_balanced_and_seeded() {
        let f = random_folds(103, 5, 1).unwrap();
        let s = f.sizes();
        assert!(s.iter().all(|&c| c == 20 || c == 21), "{s:?}");
        assert_eq!(f, random_folds(103, 5, 1).unwrap());
        assert_ne!(f.fold_of, random_folds(103, 5, 2).unwrap().fold_of);
        let mut all: Vec<usize> = (0..5).flat_map(|k| f.test_indices(k)).collect();
        all.sort();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
        assert_eq!(f.train_indices(0).len() + f.test_indices(0).len(), 103);
    }

    #[test]
    fn group_split_keeps_every_group_in_one_fold() {
        let sizes = [50, 40, 30, 20, 20, 10, 10, 5, 5, 5, 3, 2];
        let ids: Vec<String> = sizes
            .iter()
            .enumerate()
            .flat_map(|(g, &s)| std::iter::repeat_n(format!("chr{g}"), s))
            .collect();
        let f = group_folds(&ids, 3, 7).unwrap();
        let mut fold_of_group: HashMap<&String, usize> = HashMap::new();
        for (i, g) in ids.iter().enumerate() {
            let prev = *fold_of_group.entry(g).or_insert(f.fold_of[i]);
            assert_eq!(prev, f.fold_of[i], "group {g} split across folds");
        }
        assert_eq!((f.n_groups, f.largest_group), (12, 50));
        // Greedy balance: 200 samples over 3 folds, no fold far off 67.
        let s = f.sizes();
        assert!(s.iter().all(|&c| (60..=75).contains(&c)), "{s:?}");
    }

    #[test]
    fn too_few_groups_or_folds_are_errors() {
        let e = random_folds(3, 5, 0).unwrap_err().to_string();
        assert!(e.contains("3 samples") && e.contains("5 folds"), "{e}");
        let e = group_folds(&["a", "a", "b", "b"], 3, 0).unwrap_err().to_string();
        assert!(e.contains("2 groups"), "{e}");
        assert!(random_folds(0, 2, 0).unwrap_err().to_string().contains("no samples"));
        assert!(random_folds(10, 1, 0).unwrap_err().to_string().contains("at least 2 folds"));
        let e = stratified_group_folds(&[1, 2, 3], &[0, 1], 2, 0).unwrap_err().to_string();
        assert!(e.contains("2 class labels for 3 samples"), "{e}");
    }

    #[test]
    fn stratified_folds_balance_each_class() {
        // 37 positives among 200 samples, 5 folds: 7 or 8 positives in every fold.
        let classes: Vec<usize> = (0..200).map(|i| usize::from(i % 11 < 2)).collect();
        let pos = classes.iter().sum::<usize>();
        let ids: Vec<usize> = (0..200).collect();
        let f = stratified_group_folds(&ids, &classes, 5, 3).unwrap();
        for k in 0..5 {
            let p = f.test_indices(k).iter().filter(|&&i| classes[i] == 1).count();
            assert!(p == pos / 5 || p == pos / 5 + 1, "fold {k}: {p} positives of {pos}");
        }
        assert!(f.sizes().iter().all(|&s| s == 40), "{:?}", f.sizes());
    }
}
