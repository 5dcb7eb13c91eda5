//! Genome segments and cross-validation folds, as baskerville's hound_data.py builds them
//! (`data.split_contigs`, `data.break_large_contigs`, `divide_contigs_folds`,
//! `data.rejoin_large_contigs`) and westminster's fold training uses them (fold K is the
//! test set, fold K+1 mod N the validation set, the rest train).
//!
//! hound_data.py's order: [`split_at_gaps`] (FASTA contigs minus assembly gaps) →
//! [`drop_short`] (segments shorter than the cropped sequence length go) →
//! [`break_large`] (halve until none is longer than `--break`, default [`BREAK_T`]) →
//! [`assign_folds`] → per fold [`rejoin`] → [`super::tile`]. [`fold_segments`] does the
//! first three, [`split`] the fold selection and the rejoining.
//!
//! The fold draw follows `divide_contigs_folds`: segments in descending length (ties:
//! descending contig name, then start), each drawn into a fold with probability
//! proportional to how far that fold is below `ceil(total / folds)` bp. numpy's Mersenne
//! twister is not reproduced; the draw uses the crate's SplitMix64 with the given seed, so
//! it is reproducible but not identical to a Python run's folds.

use std::collections::HashMap;

use crate::formats::bed::Interval;
pub use super::tile::{tile, tile_snapped};
use crate::error::{Error, Result};
use crate::train::rng::Rng;

/// A stretch of a contig: `[start, end)`.
pub type Segment = Interval;

/// hound_data.py's `--break` default (bp).
pub const BREAK_T: u64 = 786_432;

/// The FASTA contigs `(name, length)` minus the gaps (gaps on other contigs are ignored;
/// overlapping gaps merge; empty pieces are dropped), in FASTA order then position.
pub fn split_at_gaps(contigs: &[(String, u64)], gaps: &[Interval]) -> Vec<Segment> {
    let mut by_contig: HashMap<&str, Vec<(u64, u64)>> = HashMap::new();
    for g in gaps {
        by_contig.entry(g.contig.as_str()).or_default().push((g.start, g.end));
    }
    let mut out = Vec::new();
    for (name, len) in contigs {
        let mut gs = by_contig.remove(name.as_str()).unwrap_or_default();
        gs.sort_unstable();
        let mut pos = 0u64;
        for (gs, ge) in gs {
            let gs = gs.min(*len);
            if gs > pos {
                out.push(Segment::new(name.clone(), pos, gs));
            }
            pos = pos.max(ge.min(*len));
        }
        if *len > pos {
            out.push(Segment::new(name.clone(), pos, *len));
        }
    }
    out
}

/// Drops segments shorter than `min_len` (hound keeps those at least the cropped sequence
/// length, `seq_length - 2*crop`).
pub fn drop_short(segments: Vec<Segment>, min_len: u64) -> Vec<Segment> {
    segments.into_iter().filter(|s| s.len() >= min_len).collect()
}

/// Halves segments (at `start + len / 2`) until none is longer than `max_len`; the result
/// is ordered like the input, each segment's pieces by position.
pub fn break_large(segments: Vec<Segment>, max_len: u64) -> Vec<Segment> {
    fn halve(s: Segment, max_len: u64, out: &mut Vec<Segment>) {
        if s.len() > max_len && max_len > 0 {
            let mid = s.start + s.len() / 2;
            halve(Segment::new(s.contig.clone(), s.start, mid), max_len, out);
            halve(Segment::new(s.contig, mid, s.end), max_len, out);
        } else {
            out.push(s);
        }
    }
    let mut out = Vec::new();
    for s in segments {
        halve(s, max_len, &mut out);
    }
    out
}

/// hound_data.py's segments before the fold split: [`split_at_gaps`], [`drop_short`] at
/// `min_len`, [`break_large`] at `max_len`.
pub fn fold_segments(contigs: &[(String, u64)], gaps: &[Interval], min_len: u64, max_len: u64) -> Vec<Segment> {
    break_large(drop_short(split_at_gaps(contigs, gaps), min_len), max_len)
}

/// The fold (0..folds) of each segment, balanced by length and reproducible from `seed`
/// (see the module docs).
pub fn assign_folds(segments: &[Segment], folds: usize, seed: u64) -> Vec<usize> {
    let folds = folds.max(1);
    let mut order: Vec<usize> = (0..segments.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&segments[a], &segments[b]);
        (y.len(), &y.contig, y.start, y.end).cmp(&(x.len(), &x.contig, x.start, x.end))
    });
    let total: u64 = segments.iter().map(Segment::len).sum();
    let aim = total.div_ceil(folds as u64);
    let mut filled = vec![0u64; folds];
    let mut out = vec![0usize; segments.len()];
    let mut rng = Rng::new(seed);
    for i in order {
        let gaps: Vec<u64> = filled.iter().map(|&f| aim.saturating_sub(f)).collect();
        let sum: u64 = gaps.iter().sum();
        let fold = if sum == 0 {
            rng.below(folds)
        } else {
            let r = (rng.uniform() * sum as f64) as u64;
            let mut acc = 0u64;
            let mut pick = folds - 1;
            for (f, &g) in gaps.iter().enumerate() {
                acc += g;
                if r < acc {
                    pick = f;
                    break;
                }
            }
            pick
        };
        out[i] = fold;
        filled[fold] += segments[i].len();
    }
    out
}

/// Joins segments that touch end to start on the same contig (baskerville's
/// `rejoin_large_contigs`); the result is grouped by contig in first-seen order, sorted by
/// start.
pub fn rejoin(segments: &[Segment]) -> Vec<Segment> {
    let mut contigs: Vec<&str> = Vec::new();
    let mut by_contig: HashMap<&str, Vec<&Segment>> = HashMap::new();
    for s in segments {
        by_contig
            .entry(s.contig.as_str())
            .or_insert_with(|| {
                contigs.push(s.contig.as_str());
                Vec::new()
            })
            .push(s);
    }
    let mut out: Vec<Segment> = Vec::new();
    for c in contigs {
        let mut v = by_contig.remove(c).unwrap_or_default();
        v.sort_by_key(|s| s.start);
        let mut cur = v[0].clone();
        for s in &v[1..] {
            if cur.end == s.start {
                cur.end = s.end;
            } else {
                out.push(std::mem::replace(&mut cur, (*s).clone()));
            }
        }
        out.push(cur);
    }
    out
}

/// Train, validation and test segments for one fold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FoldSplit {
    pub train: Vec<Segment>,
    pub valid: Vec<Segment>,
    pub test: Vec<Segment>,
}

/// Fold `fold_k` is the test set, fold `(fold_k + 1) % folds` the validation set, all
/// others train. Each fold's segments are [`rejoin`]ed within that fold (as hound_data.py
/// does before tiling), so tiles never straddle two folds.
pub fn split(segments: &[Segment], assignment: &[usize], folds: usize, fold_k: usize) -> Result<FoldSplit> {
    if folds < 3 {
        return Err(Error::Input(format!(
            "--folds {folds} leaves no training fold (fold K tests, fold K+1 validates): use at least 3"
        )));
    }
    if fold_k >= folds {
        return Err(Error::Input(format!(
            "fold {fold_k} is out of range: --folds {folds} gives folds 0-{}",
            folds - 1
        )));
    }
    if assignment.len() != segments.len() {
        return Err(Error::Input(format!(
            "fold assignment has {} entries for {} segments",
            assignment.len(),
            segments.len()
        )));
    }
    if let Some(&bad) = assignment.iter().find(|&&f| f >= folds) {
        return Err(Error::Input(format!(
            "fold assignment holds fold {bad}, but --folds {folds} gives folds 0-{}",
            folds - 1
        )));
    }
    let valid_k = (fold_k + 1) % folds;
    let mut out = FoldSplit::default();
    for f in 0..folds {
        let mine: Vec<Segment> =
            segments.iter().zip(assignment).filter(|(_, &a)| a == f).map(|(s, _)| s.clone()).collect();
        if mine.is_empty() {
            continue;
        }
        let joined = rejoin(&mine);
        match f {
            f if f == fold_k => out.test.extend(joined),
            f if f == valid_k => out.valid.extend(joined),
            _ => out.train.extend(joined),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(c: &str, s: u64, e: u64) -> Segment {
        Segment::new(c, s, e)
    }

    #[test]
    fn gaps_split_contigs() {
        let contigs = vec![("chrI".to_string(), 1000), ("chrII".to_string(), 500)];
        let gaps = vec![
            seg("chrI", 100, 200),
            seg("chrI", 150, 250), // overlaps the first: merged
            seg("chrI", 900, 1000),
            seg("chrII", 0, 10),
            seg("chrX", 0, 10),
        ];
        assert_eq!(
            split_at_gaps(&contigs, &gaps),
            vec![seg("chrI", 0, 100), seg("chrI", 250, 900), seg("chrII", 10, 500)]
        );
        assert_eq!(drop_short(split_at_gaps(&contigs, &gaps), 491), vec![seg("chrI", 250, 900)]);
    }

    #[test]
    fn break_halves_until_small_enough() {
        let v = break_large(vec![seg("a", 0, 1000), seg("b", 5, 105)], 300);
        assert_eq!(
            v,
            vec![seg("a", 0, 250), seg("a", 250, 500), seg("a", 500, 750), seg("a", 750, 1000), seg("b", 5, 105)]
        );
        // Odd lengths: the left half is the shorter one (start + len / 2).
        assert_eq!(break_large(vec![seg("a", 0, 7)], 3), vec![seg("a", 0, 3), seg("a", 3, 5), seg("a", 5, 7)]);
        assert_eq!(rejoin(&break_large(vec![seg("a", 0, 1000)], 300)), vec![seg("a", 0, 1000)]);
    }

    #[test]
    fn folds_are_balanced_and_reproducible() {
        let contigs: Vec<(String, u64)> = (0..16).map(|i| (format!("chr{i}"), 200_000 + 61_237 * i as u64)).collect();
        let segs = fold_segments(&contigs, &[], 10_000, 100_000);
        let a = assign_folds(&segs, 4, 44);
        assert_eq!(a, assign_folds(&segs, 4, 44));
        assert_ne!(a, assign_folds(&segs, 4, 45));
        let total: u64 = segs.iter().map(Segment::len).sum();
        let aim = total.div_ceil(4);
        let longest = segs.iter().map(Segment::len).max().unwrap();
        for f in 0..4 {
            let nt: u64 = segs.iter().zip(&a).filter(|(_, &x)| x == f).map(|(s, _)| s.len()).sum();
            assert!(nt <= aim + longest && nt + 3 * longest >= aim, "fold {f}: {nt} bp, aim {aim}");
        }
    }

    #[test]
    fn split_rejoins_within_folds_and_checks_range() {
        let segs = vec![seg("a", 0, 10), seg("a", 10, 20), seg("a", 20, 30), seg("b", 0, 10), seg("c", 0, 10)];
        let assign = vec![0, 0, 1, 2, 3];
        let s = split(&segs, &assign, 4, 0).unwrap();
        assert_eq!(s.test, vec![seg("a", 0, 20)]);
        assert_eq!(s.valid, vec![seg("a", 20, 30)]);
        assert_eq!(s.train, vec![seg("b", 0, 10), seg("c", 0, 10)]);
        let s = split(&segs, &assign, 4, 3).unwrap();
        assert_eq!(s.test, vec![seg("c", 0, 10)]);
        assert_eq!(s.valid, vec![seg("a", 0, 20)]);
        let e = split(&segs, &assign, 4, 7).unwrap_err();
        assert_eq!(e.to_string(), "fold 7 is out of range: --folds 4 gives folds 0-3");
        assert!(split(&segs, &assign, 2, 0).is_err());
    }
}
