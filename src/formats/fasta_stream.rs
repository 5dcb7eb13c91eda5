//! FASTA records read one at a time from a text stream (see [`super::text`] for plain,
//! gzip and bgzip), so that a long input never has to sit in memory.
//!
//! A record's name is the first word of its header. By default bases are upper-cased and
//! only A, C, G, T and N are accepted: anything else, an empty record, a nameless header
//! or bases before the first header is an error naming the source, line and record.
//! [`FastaRecords::as_written`] keeps the bases as written (lowercase marks soft-masked
//! repeats) and accepts any IUPAC letter and empty records, for whole genomes.

use std::io::BufRead;

use super::text::Lines;
use crate::error::{Error, Result};

/// One FASTA record and the line its header is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastaRecord {
    pub name: String,
    /// The first word of the header after the name (a RefSeq accession in NCBI files).
    pub accession: Option<String>,
    pub line: usize,
    pub seq: Vec<u8>,
}

/// A header read ahead: name, accession, line.
type Header = (String, Option<String>, usize);

pub struct FastaRecords<R> {
    lines: Lines<R>,
    source: String,
    /// The header of the next record, already read.
    next_header: Option<Header>,
    strict: bool,
    done: bool,
}

impl<R: BufRead> FastaRecords<R> {
    /// Upper-cased records of A, C, G, T and N only.
    pub fn new(reader: R, source: &str) -> Self {
        FastaRecords {
            lines: Lines::new(reader, source),
            source: source.to_string(),
            next_header: None,
            strict: true,
            done: false,
        }
    }

    /// Records as written: case kept, any letter accepted, empty records allowed.
    pub fn as_written(reader: R, source: &str) -> Self {
        FastaRecords { strict: false, ..Self::new(reader, source) }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    fn header(source: &str, header: &[u8], line: usize) -> Result<Header> {
        let text = String::from_utf8_lossy(header);
        let mut words = text.split_whitespace();
        let name = words.next().unwrap_or("").to_string();
        if name.is_empty() {
            return Err(Error::Input(format!("{source}:{line}: sequence without a name")));
        }
        Ok((name, words.next().map(str::to_string), line))
    }

    fn next_record(&mut self) -> Result<Option<FastaRecord>> {
        let (name, accession, line) = match self.next_header.take() {
            Some(h) => h,
            None => loop {
                let Some((n, l)) = self.lines.next_bytes()? else { return Ok(None) };
                if let Some(h) = l.strip_prefix(b">") {
                    let h = h.to_vec();
                    break Self::header(&self.source, &h, n)?;
                }
                if !l.trim_ascii().is_empty() {
                    return Err(Error::Input(format!("{}:{n}: sequence before the first '>' header", self.source)));
                }
            },
        };
        let mut seq = Vec::new();
        let strict = self.strict;
        loop {
            let Some((n, l)) = self.lines.next_bytes()? else { break };
            if let Some(h) = l.strip_prefix(b">") {
                let h = h.to_vec();
                self.next_header = Some(Self::header(&self.source, &h, n)?);
                break;
            }
            let l = l.trim_ascii();
            let bad = if strict {
                l.iter().position(|c| !matches!(c.to_ascii_uppercase(), b'A' | b'C' | b'G' | b'T' | b'N'))
            } else {
                l.iter().position(|c| !c.is_ascii_alphabetic())
            };
            if let Some(k) = bad {
                let only = if strict { "only A, C, G, T and N are accepted" } else { "only letters are accepted" };
                return Err(Error::Input(format!(
                    "{}:{n}: sequence {name}: invalid letter '{}' at position {} ({only})",
                    self.source,
                    l[k].escape_ascii(),
                    seq.len() + k + 1
                )));
            }
            if strict {
                seq.extend(l.iter().map(u8::to_ascii_uppercase));
            } else {
                seq.extend_from_slice(l);
            }
        }
        if seq.is_empty() && strict {
            return Err(Error::Input(format!("{}:{line}: sequence {name} is empty", self.source)));
        }
        Ok(Some(FastaRecord { name, accession, line, seq }))
    }
}

impl<R: BufRead> Iterator for FastaRecords<R> {
    type Item = Result<FastaRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_record();
        super::text::stop_after_error(&mut self.done, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8]) -> Result<Vec<FastaRecord>> {
        FastaRecords::new(text, "x.fa").collect()
    }

    #[test]
    fn records_stream_with_their_lines() {
        let r = all(b"\n>b desc\nACGTn\r\nacg\n>a\nNNNN").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].name.as_str(), r[0].line, r[0].seq.as_slice()), ("b", 2, b"ACGTNACG".as_slice()));
        assert_eq!((r[1].name.as_str(), r[1].line, r[1].seq.as_slice()), ("a", 5, b"NNNN".as_slice()));
        assert!(all(b"").unwrap().is_empty());
    }

    #[test]
    fn bad_records_name_the_line() {
        let e = |t: &[u8]| all(t).unwrap_err().to_string();
        assert_eq!(e(b">s\nACGT\nACRT\n"), "x.fa:3: sequence s: invalid letter 'R' at position 7 (only A, C, G, T and N are accepted)");
        assert_eq!(e(b">s\n>t\nA\n"), "x.fa:1: sequence s is empty");
        assert_eq!(e(b"ACGT\n>s\nA\n"), "x.fa:1: sequence before the first '>' header");
        assert_eq!(e(b">s\nA\n> \nC\n"), "x.fa:3: sequence without a name");
    }

    #[test]
    fn as_written_keeps_case_and_accession() {
        let r: Vec<FastaRecord> =
            FastaRecords::as_written(&b">NC_1 acc.1 more\r\nacgTRY\n>e\n>x\nA\n"[..], "g.fa").collect::<Result<_>>().unwrap();
        assert_eq!((r[0].name.as_str(), r[0].accession.as_deref(), r[0].seq.as_slice()), ("NC_1", Some("acc.1"), b"acgTRY".as_slice()));
        assert!(r[1].seq.is_empty() && r[1].accession.is_none());
        let e = FastaRecords::as_written(&b">s\nAC-G\n"[..], "g.fa").collect::<Result<Vec<_>>>().unwrap_err();
        assert_eq!(e.to_string(), "g.fa:2: sequence s: invalid letter '-' at position 3 (only letters are accepted)");
    }
}
