//! The records shorkie-score reads: the whole input, or with `-r/--regions` or
//! `-R/--regions-file` only the records of an indexed input whose POS lies in one of the
//! regions (bcftools `--regions-overlap pos`), in the input's contig order, each once.

use std::io::Read as _;
use std::path::Path;

use rust_htslib::bcf::{self, header::HeaderView, Read, Record};

use crate::error::{Error, Result};

/// A region: contig and 0-based inclusive start and end (`None`: to the contig's end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub contig: String,
    pub start: u64,
    pub end: Option<u64>,
}

/// `-r` text: `chr`, `chr:pos`, `chr:beg-end` or `chr:beg-` (1-based, inclusive),
/// comma-separated.
pub fn parse_regions(list: &str) -> Result<Vec<Region>> {
    list.split(',').filter(|r| !r.trim().is_empty()).map(|r| parse_region(r.trim(), "-r")).collect()
}

fn parse_region(text: &str, what: &str) -> Result<Region> {
    let bad = |why: &str| Error::Input(format!("{what}: {text:?} is not a region ({why}); use CHROM, CHROM:POS or CHROM:BEG-END"));
    let Some((contig, span)) = text.rsplit_once(':') else {
        return Ok(Region { contig: text.to_string(), start: 0, end: None });
    };
    let num = |s: &str| s.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| bad("positions are whole numbers from 1"));
    let (start, end) = match span.split_once('-') {
        None => {
            let p = num(span)?;
            (p, Some(p))
        }
        Some((b, "")) => (num(b)?, None),
        Some((b, e)) => (num(b)?, Some(num(e)?)),
    };
    if end.is_some_and(|e| e < start) {
        return Err(bad("the end is before the start"));
    }
    Ok(Region { contig: contig.to_string(), start: start - 1, end: end.map(|e| e - 1) })
}

/// `-R` file: `CHROM POS` or `CHROM BEG END` per line (1-based, inclusive; tab or space
/// separated; `#` lines skipped), or BED (0-based, half-open) when the name ends in `.bed`
/// or `.bed.gz`. Plain or gzip.
pub fn read_regions_file(path: &Path) -> Result<Vec<Region>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out).map_err(|e| Error::io(path, e))?;
        out
    } else {
        raw
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
    let bed = name.ends_with(".bed") || name.ends_with(".bed.gz");
    let text = String::from_utf8_lossy(&bytes);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') || line.starts_with("track ") || line.starts_with("browser ") {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let bad = |why: &str| Error::Input(format!("{}: line {}: {why}", path.display(), i + 1));
        let num = |s: &str| s.parse::<u64>().map_err(|_| bad(&format!("{s:?} is not a position")));
        let region = match (bed, f.len()) {
            (true, n) if n >= 3 => {
                let (b, e) = (num(f[1])?, num(f[2])?);
                if e <= b {
                    return Err(bad("BED end must be greater than start"));
                }
                Region { contig: f[0].to_string(), start: b, end: Some(e - 1) }
            }
            (false, 2) => {
                let p = num(f[1])?.checked_sub(1).ok_or_else(|| bad("positions start at 1"))?;
                Region { contig: f[0].to_string(), start: p, end: Some(p) }
            }
            (false, n) if n >= 3 => {
                let b = num(f[1])?.checked_sub(1).ok_or_else(|| bad("positions start at 1"))?;
                let e = num(f[2])?.checked_sub(1).ok_or_else(|| bad("positions start at 1"))?;
                if e < b {
                    return Err(bad("the end is before the start"));
                }
                Region { contig: f[0].to_string(), start: b, end: Some(e) }
            }
            _ => return Err(bad(if bed { "a BED line needs CHROM, START and END" } else { "expected CHROM POS or CHROM BEG END" })),
        };
        out.push(region);
    }
    if out.is_empty() {
        return Err(Error::Input(format!("{}: no regions", path.display())));
    }
    Ok(out)
}

/// Regions as (rid, start, end) in the header's contig order, overlaps merged.
fn resolve(regions: &[Region], header: &HeaderView, source: &str) -> Result<Vec<(u32, u64, u64)>> {
    let mut v = Vec::with_capacity(regions.len());
    for r in regions {
        let rid = header.name2rid(r.contig.as_bytes()).map_err(|_| {
            Error::Input(format!("region {}: contig {} is not in the header of {source}", r.contig, r.contig))
        })?;
        v.push((rid, r.start, r.end.unwrap_or(u64::MAX >> 1)));
    }
    v.sort();
    let mut merged: Vec<(u32, u64, u64)> = Vec::with_capacity(v.len());
    for (rid, s, e) in v {
        match merged.last_mut() {
            Some(last) if last.0 == rid && s <= last.2.saturating_add(1) => last.2 = last.2.max(e),
            _ => merged.push((rid, s, e)),
        }
    }
    Ok(merged)
}

pub enum Source {
    Whole(bcf::Reader),
    Regions { reader: bcf::IndexedReader, regions: Vec<(u32, u64, u64)>, next: usize, active: bool },
}

impl Source {
    /// The records of `input` (a path) in `regions`, through its index.
    pub fn indexed(input: &str, regions: &[Region]) -> Result<Source> {
        if input == "-" {
            return Err(Error::Input("-r/-R need an indexed file as input, not standard input".into()));
        }
        if !Path::new(input).is_file() {
            return Err(Error::io(input, std::io::Error::from(std::io::ErrorKind::NotFound)));
        }
        let reader = bcf::IndexedReader::from_path(input).map_err(|_| {
            Error::Input(format!("{input}: -r/-R need a bgzipped VCF or BCF with an index (bcftools index {input})"))
        })?;
        let regions = resolve(regions, reader.header(), input)?;
        Ok(Source::Regions { reader, regions, next: 0, active: false })
    }

    pub fn header(&self) -> &HeaderView {
        match self {
            Source::Whole(r) => r.header(),
            Source::Regions { reader, .. } => reader.header(),
        }
    }

    pub fn empty_record(&self) -> Record {
        match self {
            Source::Whole(r) => r.empty_record(),
            Source::Regions { reader, .. } => reader.empty_record(),
        }
    }

    pub fn read(&mut self, rec: &mut Record) -> Option<rust_htslib::errors::Result<()>> {
        let Source::Regions { reader, regions, next, active } = self else {
            let Source::Whole(r) = self else { return None };
            return r.read(rec);
        };
        loop {
            let &(rid, start, end) = regions.get(*next)?;
            if !*active {
                if let Err(e) = reader.fetch(rid, start, Some(end)) {
                    return Some(Err(e));
                }
                *active = true;
            }
            match reader.read(rec) {
                None => {
                    *active = false;
                    *next += 1;
                }
                Some(Err(e)) => return Some(Err(e)),
                Some(Ok(())) => {
                    let pos = rec.pos().max(0) as u64;
                    if rec.rid() != Some(rid) || pos > end {
                        *active = false;
                        *next += 1;
                    } else if pos >= start {
                        return Some(Ok(()));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_parse_as_bcftools_writes_them() {
        let r = parse_regions("chrI:1000-2000,chrII,chrIII:5,chrIV:7-").unwrap();
        assert_eq!(r[0], Region { contig: "chrI".into(), start: 999, end: Some(1999) });
        assert_eq!(r[1], Region { contig: "chrII".into(), start: 0, end: None });
        assert_eq!(r[2], Region { contig: "chrIII".into(), start: 4, end: Some(4) });
        assert_eq!(r[3], Region { contig: "chrIV".into(), start: 6, end: None });
        assert!(parse_regions("chrI:0-5").is_err());
        assert!(parse_regions("chrI:9-5").is_err());
    }

    #[test]
    fn region_files_in_both_conventions() {
        let dir = tempfile::tempdir().unwrap();
        let tsv = dir.path().join("r.tsv");
        std::fs::write(&tsv, "#c\tp\nchrI\t10\nchrI 20 30\n").unwrap();
        let r = read_regions_file(&tsv).unwrap();
        assert_eq!(r[0], Region { contig: "chrI".into(), start: 9, end: Some(9) });
        assert_eq!(r[1], Region { contig: "chrI".into(), start: 19, end: Some(29) });
        let bed = dir.path().join("r.bed");
        std::fs::write(&bed, "track name=x\nchrI\t19\t30\tname\n").unwrap();
        assert_eq!(read_regions_file(&bed).unwrap()[0], Region { contig: "chrI".into(), start: 19, end: Some(29) });
        std::fs::write(&bed, "chrI\t19\n").unwrap();
        assert!(read_regions_file(&bed).unwrap_err().to_string().contains("line 1"));
    }
}
