//! A minimal BED reader: the first three columns (contig, start, end) of each line.
//!
//! Blank lines and `#`, `track` and `browser` header lines are skipped; columns are split
//! on whitespace, as baskerville's scripts do (`line.split()`). Files ending in `.gz` are
//! read through htslib's BGZF reader (which also takes plain gzip).

use std::io::{BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// A half-open interval `[start, end)` on one contig.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Interval {
    pub contig: String,
    pub start: u64,
    pub end: u64,
}

impl Interval {
    pub fn new(contig: impl Into<String>, start: u64, end: u64) -> Self {
        Interval { contig: contig.into(), start, end }
    }

    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}-{}", self.contig, self.start, self.end)
    }
}

/// Reads the intervals of a BED file, in file order.
pub fn read_bed(path: &Path) -> Result<Vec<Interval>> {
    let name = path.display().to_string();
    let reader: Box<dyn Read> = if name.ends_with(".gz") {
        let r = rust_htslib::bgzf::Reader::from_path(path)
            .map_err(|e| Error::Input(format!("{name}: cannot open: {e}")))?;
        Box::new(r)
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| Error::io(path, e))?)
    };
    let mut text = String::new();
    BufReader::new(reader).read_to_string(&mut text).map_err(|e| Error::io(path, e))?;
    parse_bed(&text, &name)
}

/// Parses BED text; `source` names it in errors (`source:line: what`).
pub fn parse_bed(text: &str, source: &str) -> Result<Vec<Interval>> {
    Ok(parse_bed_numbered(text, source)?.into_iter().map(|(_, iv)| iv).collect())
}

/// As [`parse_bed`], each interval with its 1-based line number (for callers' own errors).
pub fn parse_bed_numbered(text: &str, source: &str) -> Result<Vec<(usize, Interval)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match parse_bed_line(line) {
            None => {}
            Some(Ok((iv, _))) => out.push((i + 1, iv)),
            Some(Err(what)) => return Err(Error::Input(format!("{source}:{}: {what}", i + 1))),
        }
    }
    Ok(out)
}

/// One BED line: None for blank and header lines, else the interval and the name column
/// (if any), or what is wrong with the line.
pub fn parse_bed_line(line: &str) -> Option<std::result::Result<(Interval, Option<&str>), String>> {
    let t = line.trim_end_matches('\r').trim_start();
    if t.is_empty() || t.starts_with('#') || t.starts_with("track") || t.starts_with("browser") {
        return None;
    }
    let mut cols = t.split_whitespace();
    let (Some(contig), Some(s), Some(e)) = (cols.next(), cols.next(), cols.next()) else {
        return Some(Err(format!("expected at least 3 columns (contig, start, end), got \"{t}\"")));
    };
    let Ok(start) = s.parse::<u64>() else { return Some(Err(format!("bad start \"{s}\""))) };
    let Ok(end) = e.parse::<u64>() else { return Some(Err(format!("bad end \"{e}\""))) };
    if end < start {
        return Some(Err(format!("end {end} is before start {start}")));
    }
    Some(Ok((Interval::new(contig, start, end), cols.next())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_headers_and_reads_three_columns() {
        let text = "track name=x\nbrowser position chrI\n# comment\n\nchrI\t10\t20\tname\t0\t+\nchrII 5 6\n";
        let v = parse_bed(text, "g.bed").unwrap();
        assert_eq!(v, vec![Interval::new("chrI", 10, 20), Interval::new("chrII", 5, 6)]);
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse_bed("chrI\t1\t2\nchrI\tx\t3\n", "g.bed").unwrap_err();
        assert_eq!(e.to_string(), "g.bed:2: bad start \"x\"");
        let e = parse_bed("chrI\t1\n", "g.bed").unwrap_err();
        assert!(e.to_string().starts_with("g.bed:1: expected at least 3 columns"), "{e}");
        let e = parse_bed("chrI\t9\t3\n", "g.bed").unwrap_err();
        assert_eq!(e.to_string(), "g.bed:1: end 3 is before start 9");
    }

    #[test]
    fn reads_files_and_names_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bed");
        std::fs::write(&p, "chrI\t0\t5\n").unwrap();
        assert_eq!(read_bed(&p).unwrap(), vec![Interval::new("chrI", 0, 5)]);
        let e = read_bed(&dir.path().join("missing.bed")).unwrap_err();
        assert!(e.to_string().contains("missing.bed"), "{e}");
    }
}
