//! FASTA records read one at a time from a text stream (plain, gzip or bgzip through the
//! caller's reader), so that a long input never has to sit in memory.
//!
//! A record's name is the first word of its header; bases are upper-cased. Only A, C, G,
//! T and N are accepted: anything else, an empty record, a nameless header or bases
//! before the first header is an error naming the source, line and record.

use std::io::BufRead;

use crate::error::{Error, Result};

/// One FASTA record and the line its header is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastaRecord {
    pub name: String,
    pub line: usize,
    pub seq: Vec<u8>,
}

pub struct FastaRecords<R> {
    reader: R,
    source: String,
    lineno: usize,
    /// The header of the next record, already read.
    next_header: Option<(String, usize)>,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> FastaRecords<R> {
    pub fn new(reader: R, source: &str) -> Self {
        FastaRecords { reader, source: source.to_string(), lineno: 0, next_header: None, buf: Vec::new(), done: false }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The next line without its line ending, or None at the end.
    fn read_line(&mut self) -> Result<Option<&[u8]>> {
        self.buf.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| Error::Input(format!("{}:{}: cannot read ({e})", self.source, self.lineno + 1)))?;
        if n == 0 {
            return Ok(None);
        }
        self.lineno += 1;
        let mut line = &self.buf[..];
        line = line.strip_suffix(b"\n").unwrap_or(line);
        line = line.strip_suffix(b"\r").unwrap_or(line);
        Ok(Some(line))
    }

    fn header_name(&self, header: &[u8]) -> Result<String> {
        let name = String::from_utf8_lossy(header).split_whitespace().next().unwrap_or("").to_string();
        if name.is_empty() {
            return Err(Error::Input(format!("{}:{}: sequence without a name", self.source, self.lineno)));
        }
        Ok(name)
    }

    fn next_record(&mut self) -> Result<Option<FastaRecord>> {
        let (name, line) = match self.next_header.take() {
            Some(h) => h,
            None => loop {
                let Some(l) = self.read_line()? else { return Ok(None) };
                if let Some(h) = l.strip_prefix(b">") {
                    let h = h.to_vec();
                    break (self.header_name(&h)?, self.lineno);
                }
                if !l.trim_ascii().is_empty() {
                    return Err(Error::Input(format!("{}:{}: sequence before the first '>' header", self.source, self.lineno)));
                }
            },
        };
        let mut seq = Vec::new();
        loop {
            let Some(l) = self.read_line()? else { break };
            if let Some(h) = l.strip_prefix(b">") {
                let h = h.to_vec();
                self.next_header = Some((self.header_name(&h)?, self.lineno));
                break;
            }
            for &c in l.trim_ascii() {
                let u = c.to_ascii_uppercase();
                if !matches!(u, b'A' | b'C' | b'G' | b'T' | b'N') {
                    return Err(Error::Input(format!(
                        "{}:{}: sequence {name}: invalid letter '{}' at position {} (only A, C, G, T and N are accepted)",
                        self.source,
                        self.lineno,
                        c.escape_ascii(),
                        seq.len() + 1
                    )));
                }
                seq.push(u);
            }
        }
        if seq.is_empty() {
            return Err(Error::Input(format!("{}:{line}: sequence {name} is empty", self.source)));
        }
        Ok(Some(FastaRecord { name, line, seq }))
    }
}

impl<R: BufRead> Iterator for FastaRecords<R> {
    type Item = Result<FastaRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.next_record().transpose();
        if !matches!(r, Some(Ok(_))) {
            self.done = true;
        }
        r
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
}
