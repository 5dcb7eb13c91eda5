//! baskerville's targets sheet: one row per output track (tab-separated, header row).
//!
//! Columns as baskerville's `hound_data.py` reads them (`pd.read_csv(index_col=0)`): a
//! first index column (unnamed or `index`), then `identifier`, `file`, `sum_stat`, `clip`,
//! `clip_soft`, `scale`, `strand_pair`, `description`, `group` (and `strand`, used by the
//! scorer). Only `identifier` is required here. Missing columns take hound's defaults:
//! `sum_stat` "sum" (hound_data_read's `-u` default), `clip` and `clip_soft` None, `scale`
//! 1, `strand_pair` the row itself. Empty or NaN cells in `sum_stat`, `clip`, `clip_soft`
//! and `scale` take the same defaults (pandas would pass NaN on to hound_data_read, where a
//! NaN clip or scale turns every target into NaN).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::table::Table;
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
    /// The coverage file (column `file`); a relative path is resolved against the sheet's
    /// directory by [`Targets::from_file`].
    pub file: Option<PathBuf>,
    /// Hard clip of the pooled values to `[-clip, clip]` (column `clip`; None when the
    /// column is absent or the cell is empty / NaN).
    pub clip: Option<f64>,
    /// Multiplier applied to base-level coverage before pooling (column `scale`; 1 when
    /// the column is absent or the cell is empty / NaN).
    pub scale: f64,
}

#[derive(Debug, Clone)]
pub struct Targets {
    pub rows: Vec<Target>,
    /// Where the sheet came from (its path, or the name given to [`Targets::parse`]), for
    /// error messages.
    pub source: String,
}

impl Targets {
    /// Reads a sheet (plain, gzip or bgzip); relative `file` paths are resolved against
    /// the sheet's directory.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = super::text::open_path(path)?.read_to_string()?;
        let mut t = Self::parse(&text, &path.display().to_string())?;
        let dir = path.parent().unwrap_or(Path::new(""));
        for row in &mut t.rows {
            if let Some(f) = &mut row.file {
                if f.is_relative() {
                    *f = dir.join(&*f);
                }
            }
        }
        Ok(t)
    }

    /// Parses a sheet; every row must have the header's fields, and errors name the line
    /// and the field.
    pub fn parse(text: &str, source: &str) -> Result<Self> {
        let table = Table::parse(text, source).ok_or_else(|| Error::Input(format!("{source}: empty targets sheet")))?;
        let find = |name: &str| table.column(name);
        // The index column is unnamed in pandas-written sheets and "index" in others.
        let index_col = find("index").or_else(|| (table.columns.first() == Some(&"")).then_some(0));
        let id_col = find("identifier").ok_or_else(|| {
            Error::Input(format!("{source}: line {}: no \"identifier\" column", table.header_line))
        })?;
        let desc_col = find("description");
        let group_col = find("group");
        let pair_col = find("strand_pair");
        let sum_stat_col = find("sum_stat");
        let clip_soft_col = find("clip_soft");
        let strand_col = find("strand");
        let file_col = find("file");
        let clip_col = find("clip");
        let scale_col = find("scale");
        let mut rows = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for row in table.rows() {
            let row = row?;
            let lineno = row.line;
            let at = |c: usize| row.fields[c];
            let bad = |what: String| Error::Input(format!("{source}: line {lineno}: {what}"));
            let n = rows.len();
            let index = match index_col {
                Some(c) => at(c).parse().map_err(|_| bad(format!("bad index \"{}\"", at(c))))?,
                None => n,
            };
            if index != n {
                return Err(bad(format!("index {index} out of order (expected {n})")));
            }
            let strand_pair = match pair_col {
                Some(c) => at(c).parse().map_err(|_| bad(format!("bad strand_pair \"{}\"", at(c))))?,
                None => n,
            };
            let number = |col: Option<usize>, name: &str| -> Result<Option<f64>> {
                match col.map(at) {
                    None => Ok(None),
                    Some(v) if is_missing(v) => Ok(None),
                    Some(v) => match v.parse::<f64>() {
                        Ok(x) if x.is_nan() => Ok(None),
                        Ok(x) => Ok(Some(x)),
                        Err(_) => Err(bad(format!("bad {name} \"{v}\""))),
                    },
                }
            };
            let clip_soft = number(clip_soft_col, "clip_soft")?;
            let clip = number(clip_col, "clip")?;
            let scale = number(scale_col, "scale")?.unwrap_or(1.0);
            let identifier = at(id_col).to_string();
            if identifier.is_empty() {
                return Err(bad("empty identifier".to_string()));
            }
            if let Some(first) = seen.insert(identifier.clone(), lineno) {
                return Err(bad(format!("duplicate identifier \"{identifier}\" (first on line {first})")));
            }
            let sum_stat = match sum_stat_col.map(at) {
                None => "sum".to_string(),
                Some(v) if is_missing(v) => "sum".to_string(),
                Some(v) => v.to_string(),
            };
            let strand = match strand_col.map(at) {
                None => None,
                Some("+") => Some('+'),
                Some("-") => Some('-'),
                Some(v) if v == "." || is_missing(v) => None,
                Some(v) => return Err(bad(format!("bad strand \"{v}\" (expected +, - or . for unstranded)"))),
            };
            let file = file_col.map(at).filter(|v| !is_missing(v)).map(PathBuf::from);
            rows.push(Target {
                index,
                sum_stat,
                clip_soft,
                clip,
                scale,
                file,
                strand,
                identifier,
                description: desc_col.map(|c| at(c).to_string()).unwrap_or_default(),
                group: group_col.map(|c| at(c).to_string()),
                strand_pair,
            });
        }
        let n = rows.len();
        if strand_col.is_none() {
            derive_strands(&mut rows);
        }
        for t in &rows {
            if t.strand_pair >= n || rows[t.strand_pair].strand_pair != t.index {
                return Err(Error::Input(format!(
                    "{source}: track {} has strand_pair {} which does not pair back",
                    t.index, t.strand_pair
                )));
            }
        }
        Ok(Targets { rows, source: source.to_string() })
    }

    /// Undoes the soft clip and square-root transforms of track `t` on one prediction
    /// (baskerville's `untransform_preds`, without unscaling).
    pub fn untransform(&self, t: usize, x: f32) -> f32 {
        self.untransform_of(t).apply(x)
    }

    /// Untransforms `values`, rows of one prediction per track of `tracks`, in place and in
    /// parallel blocks of rows.
    pub fn untransform_rows(&self, tracks: &[usize], values: &mut [f32]) {
        use rayon::prelude::*;
        let inverses: Vec<Untransform> = tracks.iter().map(|&t| self.untransform_of(t)).collect();
        let width = inverses.len().max(1);
        values.par_chunks_mut(width * 64).for_each(|block| {
            for row in block.chunks_mut(width) {
                for (x, inv) in row.iter_mut().zip(&inverses) {
                    *x = inv.apply(*x);
                }
            }
        });
    }

    /// Track `t`'s untransform, read once for applying to many predictions.
    fn untransform_of(&self, t: usize) -> Untransform {
        let row = &self.rows[t];
        Untransform { clip_soft: row.clip_soft, sqrt: row.sum_stat.contains("_sqrt") }
    }

    pub fn strand_pairs(&self) -> Vec<usize> {
        self.rows.iter().map(|t| t.strand_pair).collect()
    }
}

/// One track's inverse of its training transforms.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Untransform {
    clip_soft: Option<f64>,
    sqrt: bool,
}

impl Untransform {
    fn apply(self, x: f32) -> f32 {
        let mut x = x as f64;
        if let Some(cs) = self.clip_soft {
            if x > cs {
                x = cs - 1.0 + (x - cs + 1.0).powi(2);
            }
        }
        if self.sqrt {
            x = -1.0 + (x + 1.0).powi(2);
        }
        x as f32
    }
}

/// An empty cell or one pandas reads as NaN.
/// Without a `strand` column, a paired track's strand is its identifier's last character
/// (`+` or `-`), as baskerville's `targets_prep_strand` reads Borzoi's sheets.
fn derive_strands(rows: &mut [Target]) {
    for t in rows.iter_mut().filter(|t| t.strand_pair != t.index) {
        t.strand = match t.identifier.chars().last() {
            Some('+') => Some('+'),
            Some('-') => Some('-'),
            _ => None,
        };
    }
}

fn is_missing(v: &str) -> bool {
    matches!(v, "" | "nan" | "NaN" | "NA" | "N/A" | "null" | "None")
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
    fn strands_of_paired_tracks_come_from_identifiers_without_a_strand_column() {
        let t = Targets::parse("\tidentifier\tstrand_pair\n0\tCNhs1+\t1\n1\tCNhs1-\t0\n2\tDNASE+\t2\n", "t").unwrap();
        let strands: Vec<Option<char>> = t.rows.iter().map(|r| r.strand).collect();
        assert_eq!(strands, vec![Some('+'), Some('-'), None]);
    }

    #[test]
    fn broken_pair_is_named() {
        let e = Targets::parse("\tidentifier\tstrand_pair\n0\ta\t1\n1\tb\t1\n", "t.txt").unwrap_err();
        assert!(e.to_string().contains("track 0 has strand_pair 1"), "{e}");
    }

    #[test]
    fn hound_columns_and_defaults() {
        let sheet = "\tidentifier\tfile\tsum_stat\tclip\tclip_soft\tscale\tstrand_pair\tdescription\n\
                     0\ta\ta.bw\tsum_sqrt\t384\t320\t0.3\t0\tA\n\
                     1\tb\t/abs/b.bw\t\t\tnan\t\t1\tB\n";
        let t = Targets::parse(sheet, "s.txt").unwrap();
        let (a, b) = (&t.rows[0], &t.rows[1]);
        assert_eq!(a.file.as_deref(), Some(Path::new("a.bw")));
        assert_eq!((a.sum_stat.as_str(), a.clip, a.clip_soft, a.scale), ("sum_sqrt", Some(384.0), Some(320.0), 0.3));
        assert_eq!((b.sum_stat.as_str(), b.clip, b.clip_soft, b.scale), ("sum", None, None, 1.0));
        assert_eq!(t.source, "s.txt");
        // No optional columns at all.
        let t = Targets::parse("index\tidentifier\n0\tx\n", "s").unwrap();
        let x = &t.rows[0];
        assert_eq!((x.sum_stat.as_str(), x.clip, x.clip_soft, x.scale, x.file.is_none()), ("sum", None, None, 1.0, true));
        let e = Targets::parse("index\tidentifier\tscale\n0\tx\tbig\n", "s.txt").unwrap_err();
        assert!(e.to_string().contains("s.txt: line 2: bad scale \"big\""), "{e}");
    }

    #[test]
    fn short_rows_and_unknown_strands_are_named() {
        let sheet = "\tidentifier\tfile\tstrand\n0\ta\ta.bw\t+\n1\tb\n";
        let e = Targets::parse(sheet, "s.txt").unwrap_err().to_string();
        assert_eq!(e, "s.txt:3: 2 fields, the header on line 1 has 4 (no \"file\" field)");
        let e = Targets::parse("\tidentifier\tstrand\n0\ta\tplus\n", "s.txt").unwrap_err().to_string();
        assert_eq!(e, "s.txt: line 2: bad strand \"plus\" (expected +, - or . for unstranded)");
        let t = Targets::parse("\tidentifier\tstrand\r\n0\ta\t.\r\n1\tb\t-\r\n", "s.txt").unwrap();
        assert_eq!((t.rows[0].strand, t.rows[1].strand), (None, Some('-')));
        let e = Targets::parse("\tidentifier\n0\t\n", "s.txt").unwrap_err().to_string();
        assert_eq!(e, "s.txt: line 2: empty identifier");
    }

    #[test]
    fn relative_files_resolve_against_the_sheet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("targets.txt");
        std::fs::write(&path, "\tidentifier\tfile\n0\ta\tcov/a.bw\n1\tb\t/data/b.bw\n").unwrap();
        let t = Targets::from_file(&path).unwrap();
        assert_eq!(t.rows[0].file.as_deref(), Some(dir.path().join("cov/a.bw").as_path()));
        assert_eq!(t.rows[1].file.as_deref(), Some(Path::new("/data/b.bw")));
    }

    #[test]
    fn duplicate_identifier_is_named() {
        let e = Targets::parse("\tidentifier\n0\tx\n1\ty\n2\tx\n", "sheet.txt").unwrap_err();
        assert_eq!(e.to_string(), "sheet.txt: line 4: duplicate identifier \"x\" (first on line 2)");
    }

    #[test]
    fn real_shorkie_sheet_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/shorkie/targets_sheet.txt");
        if !path.exists() {
            eprintln!("NOTE: {} is absent; not checked", path.display());
            return;
        }
        let t = Targets::from_file(&path).unwrap();
        assert_eq!(t.rows.len(), 5215);
        let r = &t.rows[0];
        assert_eq!(r.identifier, "AAP1_S0");
        assert_eq!(r.file.as_deref(), Some(path.parent().unwrap().join("AAP1_S0_coverage.bw").as_path()));
        assert_eq!((r.sum_stat.as_str(), r.clip_soft, r.clip, r.scale), ("sum", Some(100000.0), None, 1.0));
    }
}
