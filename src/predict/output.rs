//! shorkie-predict's outputs: BigWigs (one per output column, written with bigtools) and
//! bedGraph text. Values are written per output bin; BigWig chromosomes are every sequence
//! of the input (the FASTA index, or the FASTA-input records).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use bigtools::Value;
use tempfile::NamedTempFile;

use crate::error::{Error, Result};
use crate::staged::Staged;
use crate::score::tracks::Column;

use super::spool::Spooled;
use super::{Segment, SeqInfo};

/// A file name stem from a track identifier or group name: letters, digits, `.`, `_` and
/// `-` are kept, anything else becomes `_`; a name that is empty, starts with `.`, or
/// repeats an earlier stem gets a suffix (`_2`, `_3`, …) in column order.
pub fn file_stems(columns: &[Column]) -> Vec<String> {
    let mut used: HashSet<String> = HashSet::new();
    columns
        .iter()
        .map(|c| {
            let mut stem: String = c
                .label
                .chars()
                .map(|ch| if ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-') { ch } else { '_' })
                .collect();
            if stem.is_empty() || stem.starts_with('.') {
                stem.insert(0, '_');
            }
            let mut name = stem.clone();
            let mut n = 1;
            while !used.insert(name.clone()) {
                n += 1;
                name = format!("{stem}_{n}");
            }
            name
        })
        .collect()
}

/// The BigWig chromosome sizes.
fn chrom_sizes(seqs: &[SeqInfo]) -> Result<HashMap<String, u32>> {
    seqs
        .iter()
        .map(|s| {
            u32::try_from(s.len)
                .map(|l| (s.name.clone(), l))
                .map_err(|_| Error::Input(format!("sequence {} ({} bp) is too long for a BigWig", s.name, s.len)))
        })
        .collect()
}

/// Column `col` of the spooled segments, one value per bin, in the order of the BigWig's
/// chromosome tree (by name, then position). A spool read that fails ends the values
/// early and is kept in `failed` for the caller.
struct Values<'a> {
    seqs: &'a [SeqInfo],
    bin_bp: usize,
    spool: &'a Spooled,
    col: usize,
    /// Spooled pieces in output order.
    order: &'a [usize],
    /// Position in `order`.
    segment: usize,
    values: Vec<f32>,
    bin: usize,
    failed: &'a std::cell::RefCell<Option<Error>>,
}

impl Iterator for Values<'_> {
    type Item = (String, Value);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let i = *self.order.get(self.segment)?;
            let seg = self.spool.segment(i)?;
            if self.bin == 0 && self.values.is_empty() {
                match self.spool.column(i, self.col) {
                    Ok(v) => self.values = v,
                    Err(e) => {
                        *self.failed.borrow_mut() = Some(e);
                        return None;
                    }
                }
            }
            if self.bin < seg.bins() {
                let info = &self.seqs[seg.seq];
                let (start, end) = info.bin_span(self.bin_bp, seg.first_bin + self.bin as i64);
                let value = self.values[self.bin];
                self.bin += 1;
                let name = info.name.clone();
                return Some((name, Value { start: start as u32, end: end as u32, value }));
            }
            self.segment += 1;
            self.bin = 0;
            self.values.clear();
        }
    }
}

/// The spooled sequences, what their bins are, and the values.
pub struct Predicted<'a> {
    seqs: &'a [SeqInfo],
    bin_bp: usize,
    spool: &'a Spooled,
    /// Spooled pieces in the BigWig's order (by sequence name, then position).
    order: Vec<usize>,
}

impl<'a> Predicted<'a> {
    pub fn new(seqs: &'a [SeqInfo], bin_bp: usize, spool: &'a Spooled) -> Self {
        let key = |i: usize| {
            let seg = spool.segment(i).expect("an index below the spool's length");
            (seqs[seg.seq].name.as_bytes(), seg.first_bin)
        };
        let mut order: Vec<usize> = (0..spool.len()).collect();
        order.sort_by(|&a, &b| key(a).cmp(&key(b)));
        Predicted { seqs, bin_bp, spool, order }
    }
}

/// Writes column `col` of the predictions as a BigWig into `file`; `what` names it in errors.
pub fn write_bigwig(file: &File, p: &Predicted, col: usize, what: &str) -> Result<()> {
    let sizes = chrom_sizes(p.seqs)?;
    let failed = std::cell::RefCell::new(None);
    let values =
        Values { seqs: p.seqs, bin_bp: p.bin_bp, spool: p.spool, col, order: &p.order, segment: 0, values: Vec::new(), bin: 0, failed: &failed };
    let written = crate::bigwig_out::write(file, what, sizes, values);
    if let Some(e) = failed.into_inner() {
        return Err(e);
    }
    written
}

/// One BigWig per column, `DIR/<stem>.bw`: all are staged in `dir` first and renamed into
/// place only when every one is complete, so a failure leaves none behind. Returns the
/// paths written.
pub fn write_bigwig_dir(dir: &Path, p: &Predicted, columns: &[Column]) -> Result<Vec<PathBuf>> {
    let mut staged: Vec<Staged> = Vec::new();
    for (c, stem) in file_stems(columns).into_iter().enumerate() {
        let dest = dir.join(format!("{stem}.bw"));
        let mut out = Staged::new(&dest)?;
        if !out.is_staged() {
            return Err(Error::Input(format!("{}: a BigWig is written with seeks; it must be a regular file", dest.display())));
        }
        write_bigwig(out.file(), p, c, &dest.display().to_string())?;
        staged.push(out);
    }
    let mut written: Vec<PathBuf> = Vec::new();
    for out in staged {
        let dest = out.path().to_path_buf();
        if let Err(e) = out.commit() {
            for p in &written {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
        written.push(dest);
    }
    Ok(written)
}

/// The predictions' one column as a finished BigWig on `out` (staged in a temporary file,
/// as a BigWig is written with seeks).
pub fn write_bigwig_stream(out: &mut dyn Write, p: &Predicted) -> Result<()> {
    let tmp = NamedTempFile::new().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    write_bigwig(tmp.as_file(), p, 0, &tmp.path().display().to_string())?;
    let mut file = File::open(tmp.path()).map_err(|e| Error::io(tmp.path(), e))?;
    std::io::copy(&mut file, out).map_err(|e| Error::io("<stdout>", e))?;
    out.flush().map_err(|e| Error::io("<stdout>", e))?;
    Ok(())
}

/// bedGraph text: `contig start end value` per bin; with several columns, one value
/// column each, after a `#chrom start end <labels>` header line.
pub struct BedGraph<W: Write> {
    out: W,
    ncols: usize,
    line: String,
    /// Names the destination in errors.
    what: String,
}

impl<W: Write> BedGraph<W> {
    pub fn new(mut out: W, columns: &[Column], what: &str) -> Result<Self> {
        if columns.len() > 1 {
            let labels: Vec<&str> = columns.iter().map(|c| c.label.as_str()).collect();
            writeln!(out, "#chrom\tstart\tend\t{}", labels.join("\t")).map_err(|e| Error::io(what, e))?;
        }
        Ok(BedGraph { out, ncols: columns.len(), line: String::new(), what: what.to_string() })
    }

    pub fn segment(&mut self, seq: &SeqInfo, bin_bp: usize, seg: &Segment, values: &[f32]) -> Result<()> {
        use std::fmt::Write as _;
        let name = &seq.name;
        for (i, row) in values.chunks(self.ncols).enumerate() {
            let (start, end) = seq.bin_span(bin_bp, seg.first_bin + i as i64);
            self.line.clear();
            let _ = write!(self.line, "{name}\t{start}\t{end}");
            for v in row {
                let _ = write!(self.line, "\t{v}");
            }
            self.line.push('\n');
            self.out.write_all(self.line.as_bytes()).map_err(|e| Error::io(&self.what, e))?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<W> {
        self.out.flush().map_err(|e| Error::io(&self.what, e))?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_safe_and_unique() {
        let cols: Vec<Column> = ["RNA+", "RNA_", "a/b c", "", ".hidden", "x-1.2"]
            .iter()
            .map(|l| Column { label: l.to_string(), tracks: vec![0] })
            .collect();
        assert_eq!(file_stems(&cols), vec!["RNA_", "RNA__2", "a_b_c", "_", "_.hidden", "x-1.2"]);
    }
}
