//! BED: the first three columns (contig, start, end) of each line, and the name in the
//! fourth when there is one.
//!
//! Blank lines and `#`, `track` and `browser` header lines are skipped. A line holding a
//! tab is split on tabs (so names may hold spaces); any other line on runs of spaces, as
//! baskerville's scripts do (`line.split()`). `\r\n` endings are accepted. Input is a path
//! or `-` for stdin, plain, gzip or bgzip (see [`super::text`]). Errors name the source
//! and line (`source:line: what`).

use std::io::BufRead;
use std::path::Path;

use super::text::{self, Lines};
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

/// One BED line: its number, interval and name column (None when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BedRecord {
    pub line: usize,
    pub interval: Interval,
    pub name: Option<String>,
}

/// BED records streamed from a text reader.
pub struct BedReader<R> {
    lines: Lines<R>,
    done: bool,
}

impl<R: BufRead> BedReader<R> {
    pub fn new(reader: R, source: &str) -> Self {
        BedReader { lines: Lines::new(reader, source), done: false }
    }

    pub fn source(&self) -> &str {
        self.lines.source()
    }

    fn next_record(&mut self) -> Result<Option<BedRecord>> {
        loop {
            let Some((line, text)) = self.lines.next_line()? else { return Ok(None) };
            match parse_bed_line(text) {
                None => continue,
                Some(Ok((interval, name))) => {
                    return Ok(Some(BedRecord { line, interval, name: name.map(str::to_string) }))
                }
                Some(Err(what)) => return Err(Error::Input(format!("{}:{line}: {what}", self.lines.source()))),
            }
        }
    }
}

impl<R: BufRead> Iterator for BedReader<R> {
    type Item = Result<BedRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_record();
        super::text::stop_after_error(&mut self.done, next)
    }
}

/// Opens a BED (a path or `-` for stdin) as a stream of records.
pub fn open(arg: &str) -> Result<BedReader<Box<dyn BufRead + Send>>> {
    let text = text::open(arg)?;
    let source = text.source().to_string();
    Ok(BedReader::new(text.into_reader(), &source))
}

/// Every record of a BED (a path or `-`), in file order, and the name errors give it.
pub fn read_records(arg: &str) -> Result<(Vec<BedRecord>, String)> {
    let reader = open(arg)?;
    let source = reader.source().to_string();
    Ok((reader.collect::<Result<_>>()?, source))
}

/// Reads the intervals of a BED file, in file order.
pub fn read_bed(path: &Path) -> Result<Vec<Interval>> {
    let text = text::open_path(path)?;
    let source = text.source().to_string();
    BedReader::new(text.into_reader(), &source).map(|r| r.map(|r| r.interval)).collect()
}

/// Parses BED text; `source` names it in errors (`source:line: what`).
pub fn parse_bed(text: &str, source: &str) -> Result<Vec<Interval>> {
    BedReader::new(text.as_bytes(), source).map(|r| r.map(|r| r.interval)).collect()
}

/// One BED line: None for blank and header lines, else the interval and the name column
/// (if any), or what is wrong with the line.
pub fn parse_bed_line(line: &str) -> Option<std::result::Result<(Interval, Option<&str>), String>> {
    let t = line.trim_end_matches(['\r', '\n']).trim_start();
    let first = t.split_whitespace().next()?;
    if first.starts_with('#') || first == "track" || first == "browser" {
        return None;
    }
    let mut cols: Box<dyn Iterator<Item = &str>> =
        if t.contains('\t') { Box::new(t.split('\t').map(str::trim)) } else { Box::new(t.split_whitespace()) };
    let (Some(contig), Some(s), Some(e)) = (cols.next(), cols.next(), cols.next()) else {
        return Some(Err(format!("expected at least 3 columns (contig, start, end), got \"{}\"", t.escape_debug())));
    };
    if contig.is_empty() {
        return Some(Err("empty contig name".to_string()));
    }
    let Ok(start) = s.parse::<u64>() else { return Some(Err(format!("bad start \"{}\" (not a whole number)", s.escape_debug()))) };
    let Ok(end) = e.parse::<u64>() else { return Some(Err(format!("bad end \"{}\" (not a whole number)", e.escape_debug()))) };
    if end < start {
        return Some(Err(format!("end {end} is before start {start}")));
    }
    let name = cols.next().filter(|n| !n.is_empty());
    Some(Ok((Interval::new(contig, start, end), name)))
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
        assert_eq!(e.to_string(), "g.bed:2: bad start \"x\" (not a whole number)");
        let e = parse_bed("chrI\t1\n", "g.bed").unwrap_err();
        assert!(e.to_string().starts_with("g.bed:1: expected at least 3 columns"), "{e}");
        let e = parse_bed("chrI\t9\t3\n", "g.bed").unwrap_err();
        assert_eq!(e.to_string(), "g.bed:1: end 3 is before start 9");
    }

    #[test]
    fn spaces_crlf_names_and_track_like_contigs() {
        let text = "chrI 1 2 n1\r\nchrI\t3\t4\tgene one\t0\r\ntracks\t5\t6\n  \t \n#c\n";
        let r: Vec<BedRecord> = BedReader::new(text.as_bytes(), "s.bed").collect::<Result<_>>().unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].line, r[0].name.as_deref()), (1, Some("n1")));
        assert_eq!((r[1].line, r[1].name.as_deref(), &r[1].interval), (2, Some("gene one"), &Interval::new("chrI", 3, 4)));
        assert_eq!(r[2].interval.contig, "tracks");
        let e = parse_bed("chrI 1 2\nchrI -1 3\n", "s.bed").unwrap_err();
        assert_eq!(e.to_string(), "s.bed:2: bad start \"-1\" (not a whole number)");
    }

    #[test]
    fn reads_files_and_names_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bed");
        std::fs::write(&p, "chrI\t0\t5\n").unwrap();
        assert_eq!(read_bed(&p).unwrap(), vec![Interval::new("chrI", 0, 5)]);
        let e = read_bed(&dir.path().join("missing.bed")).unwrap_err();
        assert!(e.to_string().contains("missing.bed"), "{e}");
        let gz = dir.path().join("a.bed.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, b"chrII\t1\t9\n").unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let (r, source) = read_records(gz.to_str().unwrap()).unwrap();
        assert_eq!((r[0].interval.clone(), source), (Interval::new("chrII", 1, 9), gz.display().to_string()));
    }
}
