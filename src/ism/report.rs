//! What an ISM run writes besides its TSV: importance matrices for tfmodisco-lite, a
//! per-base importance track, and the group-by-regex comparison.

use std::collections::BTreeMap;
use std::path::Path;

use regex::Regex;

use crate::error::{Error, Result};
use crate::score::tracks::Column;
use crate::formats::targets::Targets;

/// A window's ISM (or saliency) matrix over its mutated positions: `[len][4]`, A C G T.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub contig: String,
    /// Genome coordinate of the first row.
    pub start: i64,
    /// Reference bases (upper case) of the rows.
    pub seq: Vec<u8>,
    pub values: Vec<[f32; 4]>,
}

impl Matrix {
    /// Mean-centred over the four bases (hypothetical contributions).
    pub fn centred(&self) -> Vec<[f32; 4]> {
        crate::ism::saliency::mean_centre(&self.values)
    }

    /// The centred value of the reference base at each row (0 where it is not A/C/G/T).
    pub fn projected(&self) -> Vec<f32> {
        self.centred()
            .iter()
            .zip(&self.seq)
            .map(|(v, b)| crate::score::encode::base_index(*b).map_or(0.0, |i| v[i]))
            .collect()
    }
}

/// File-name-safe form of a column label.
pub fn file_label(label: &str) -> String {
    let s: String = label.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    if s.is_empty() {
        "column".into()
    } else {
        s
    }
}

/// `hyp_scores` (mean-centred) and one-hot `seqs`, `[N, L, 4]`, as tfmodisco-lite reads
/// them; windows shorter than the longest are zero-padded at the end.
pub fn write_modisco_npz(path: &Path, matrices: &[Matrix]) -> Result<()> {
    let n = matrices.len();
    let len = matrices.iter().map(|m| m.values.len()).max().unwrap_or(0);
    let mut hyp = vec![0f32; n * len * 4];
    let mut seqs = vec![0f32; n * len * 4];
    for (i, m) in matrices.iter().enumerate() {
        for (j, (v, b)) in m.centred().iter().zip(&m.seq).enumerate() {
            let at = (i * len + j) * 4;
            hyp[at..at + 4].copy_from_slice(v);
            if let Some(k) = crate::score::encode::base_index(*b) {
                seqs[at + k] = 1.0;
            }
        }
    }
    crate::npz::write_npz(path, &[("hyp_scores", vec![n, len, 4], &hyp), ("seqs", vec![n, len, 4], &seqs)])
}

/// Per-base importance on the reference, sorted; bases covered by several windows get
/// the mean. Returns `(contig, start, end, value)` runs of single bases.
pub fn importance_track(matrices: &[Matrix]) -> Vec<(String, i64, f32)> {
    let mut acc: BTreeMap<(String, i64), (f64, u32)> = BTreeMap::new();
    for m in matrices {
        for (j, v) in m.projected().iter().enumerate() {
            let e = acc.entry((m.contig.clone(), m.start + j as i64)).or_insert((0.0, 0));
            e.0 += *v as f64;
            e.1 += 1;
        }
    }
    acc.into_iter().map(|((c, p), (s, n))| (c, p, (s / n as f64) as f32)).collect()
}

pub fn write_bedgraph(path: &Path, track: &[(String, i64, f32)], name: &str) -> Result<()> {
    let mut text = format!("track type=bedGraph name=\"{}\"\n", name.replace('"', "'"));
    for (c, p, v) in track {
        text.push_str(&format!("{c}\t{p}\t{}\t{v}\n", p + 1));
    }
    crate::io::write_atomic(path, text.as_bytes())
}

/// Groups the chosen tracks by the first capture group of `pattern` in their description
/// (the identifier when the description is empty), in order of first appearance. Tracks
/// the pattern does not match are left out; returns them too so the caller can say so.
pub fn group_tracks(targets: &Targets, tracks: &[usize], pattern: &str) -> Result<(Vec<Column>, Vec<usize>)> {
    let re = Regex::new(pattern).map_err(|e| Error::Input(format!("--group-by: bad regex ({e})")))?;
    let mut groups: Vec<Column> = Vec::new();
    let mut unmatched = Vec::new();
    for &t in tracks {
        let row = &targets.rows[t];
        let text = if row.description.is_empty() { &row.identifier } else { &row.description };
        let Some(caps) = re.captures(text) else {
            unmatched.push(t);
            continue;
        };
        let key = caps.get(1).or_else(|| caps.get(0)).map(|m| m.as_str().to_string()).unwrap_or_default();
        match groups.iter_mut().find(|g| g.label == key) {
            Some(g) => g.tracks.push(t),
            None => groups.push(Column { label: key, tracks: vec![t] }),
        }
    }
    if groups.is_empty() {
        return Err(Error::Input(format!("--group-by: \"{pattern}\" matches none of the chosen tracks")));
    }
    Ok((groups, unmatched))
}

/// Euclidean distances between profiles.
pub fn distance_matrix(profiles: &[Vec<f64>]) -> Vec<Vec<f64>> {
    profiles
        .iter()
        .map(|a| profiles.iter().map(|b| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt()).collect())
        .collect()
}

pub fn write_distance_tsv(path: &Path, labels: &[String], d: &[Vec<f64>]) -> Result<()> {
    let mut text = format!("group\t{}\n", labels.join("\t"));
    for (l, row) in labels.iter().zip(d) {
        text.push_str(l);
        for v in row {
            text.push_str(&format!("\t{v}"));
        }
        text.push('\n');
    }
    crate::io::write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_takes_the_centred_reference_base() {
        let m = Matrix { contig: "c".into(), start: 10, seq: b"AN".to_vec(), values: vec![[0.0, -1.0, -2.0, -1.0], [0.0; 4]] };
        assert_eq!(m.projected(), vec![1.0, 0.0]);
        let t = importance_track(&[m.clone(), Matrix { start: 11, ..m }]);
        assert_eq!(t, vec![("c".into(), 10, 1.0), ("c".into(), 11, 0.5), ("c".into(), 12, 0.0)]);
    }

    #[test]
    fn groups_by_capture_and_distances() {
        let sheet = "identifier\tdescription\na\tIDEA 0min\nb\tIDEA 5min\nc\tIDEA 0min\nd\tother\n";
        let t = Targets::parse(sheet, "s").unwrap();
        let (g, un) = group_tracks(&t, &[0, 1, 2, 3], r"IDEA (\d+min)").unwrap();
        assert_eq!(g.iter().map(|c| c.label.as_str()).collect::<Vec<_>>(), vec!["0min", "5min"]);
        assert_eq!(g[0].tracks, vec![0, 2]);
        assert_eq!(un, vec![3]);
        assert!(group_tracks(&t, &[3], r"IDEA (\d+)").is_err());
        let d = distance_matrix(&[vec![0.0, 0.0], vec![3.0, 4.0]]);
        assert_eq!(d, vec![vec![0.0, 5.0], vec![5.0, 0.0]]);
        assert_eq!(file_label("a b/c"), "a_b_c");
    }
}
