//! baskerville's targets sheet: one row per output track (tab-separated, header row).

use std::path::Path;

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Target {
    pub index: usize,
    pub identifier: String,
    pub description: String,
    pub group: Option<String>,
    /// The track holding the opposite strand (itself for unstranded tracks).
    pub strand_pair: usize,
    /// baskerville's target transforms, undone before scoring.
    pub sum_stat: String,
    pub clip_soft: Option<f64>,
    /// `+`, `-`, or None for unstranded tracks (sheet column `strand`).
    pub strand: Option<char>,
}

#[derive(Debug, Clone)]
pub struct Targets {
    pub rows: Vec<Target>,
}

impl Targets {
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, source: &str) -> Result<Self> {
        let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
        let (_, header) = lines.next().ok_or_else(|| Error::Input(format!("{source}: empty targets sheet")))?;
        let cols: Vec<&str> = header.split('\t').collect();
        let find = |name: &str| cols.iter().position(|c| *c == name);
        // The index column is unnamed in pandas-written sheets and "index" in others.
        let index_col = find("index").or_else(|| (cols.first() == Some(&"")).then_some(0));
        let id_col = find("identifier")
            .ok_or_else(|| Error::Input(format!("{source}: line 1: no \"identifier\" column")))?;
        let desc_col = find("description");
        let group_col = find("group");
        let pair_col = find("strand_pair");
        let sum_stat_col = find("sum_stat");
        let clip_soft_col = find("clip_soft");
        let strand_col = find("strand");
        let mut rows = Vec::new();
        for (lineno, line) in lines {
            let fields: Vec<&str> = line.split('\t').collect();
            let at = |c: usize| fields.get(c).copied().unwrap_or("");
            let bad = |what: String| Error::Input(format!("{source}: line {}: {what}", lineno + 1));
            let row = rows.len();
            let index = match index_col {
                Some(c) => at(c).trim().parse().map_err(|_| bad(format!("bad index \"{}\"", at(c))))?,
                None => row,
            };
            if index != row {
                return Err(bad(format!("index {index} out of order (expected {row})")));
            }
            let strand_pair = match pair_col {
                Some(c) => at(c).trim().parse().map_err(|_| bad(format!("bad strand_pair \"{}\"", at(c))))?,
                None => row,
            };
            let clip_soft = match clip_soft_col.map(at).map(str::trim) {
                None | Some("") | Some("nan") | Some("NaN") => None,
                Some(v) => Some(v.parse::<f64>().map_err(|_| bad(format!("bad clip_soft \"{v}\"")))?),
            };
            rows.push(Target {
                index,
                sum_stat: sum_stat_col.map(|c| at(c).trim().to_string()).unwrap_or_else(|| "sum".into()),
                clip_soft,
                strand: strand_col.and_then(|c| match at(c).trim() {
                    "+" => Some('+'),
                    "-" => Some('-'),
                    _ => None,
                }),
                identifier: at(id_col).to_string(),
                description: desc_col.map(|c| at(c).to_string()).unwrap_or_default(),
                group: group_col.map(|c| at(c).to_string()),
                strand_pair,
            });
        }
        let n = rows.len();
        for t in &rows {
            if t.strand_pair >= n || rows[t.strand_pair].strand_pair != t.index {
                return Err(Error::Input(format!(
                    "{source}: track {} has strand_pair {} which does not pair back",
                    t.index, t.strand_pair
                )));
            }
        }
        Ok(Targets { rows })
    }

    /// Undoes the soft clip and square-root transforms of track `t` on one prediction
    /// (baskerville's `untransform_preds`, without unscaling).
    pub fn untransform(&self, t: usize, x: f32) -> f32 {
        let row = &self.rows[t];
        let mut x = x as f64;
        if let Some(cs) = row.clip_soft {
            if x > cs {
                x = cs - 1.0 + (x - cs + 1.0).powi(2);
            }
        }
        if row.sum_stat.contains("_sqrt") {
            x = -1.0 + (x + 1.0).powi(2);
        }
        x as f32
    }

    pub fn strand_pairs(&self) -> Vec<usize> {
        self.rows.iter().map(|t| t.strand_pair).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_strand_pairs_and_defaults() {
        let t = Targets::parse("\tidentifier\tstrand_pair\n0\ta+\t1\n1\ta-\t0\n2\tb\t2\n", "t").unwrap();
        assert_eq!(t.strand_pairs(), vec![1, 0, 2]);
        let t = Targets::parse("index\tidentifier\tgroup\n0\tx\tRNA\n1\ty\tChIP\n", "t").unwrap();
        assert_eq!(t.strand_pairs(), vec![0, 1]);
        assert_eq!(t.rows[1].group.as_deref(), Some("ChIP"));
    }

    #[test]
    fn broken_pair_is_named() {
        let e = Targets::parse("\tidentifier\tstrand_pair\n0\ta\t1\n1\tb\t1\n", "t.txt").unwrap_err();
        assert!(e.to_string().contains("track 0 has strand_pair 1"), "{e}");
    }
}
