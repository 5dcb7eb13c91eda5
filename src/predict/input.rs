//! What shorkie-predict predicts: BED regions on an indexed genome, as sorted, merged runs
//! of output bins ([`Segment`]s), or the records of a FASTA stream, each one segment.
//!
//! BED regions need not be sorted. Each is widened to whole bins of the genome-wide grid
//! (bin `i` is `[i·bin_bp, (i+1)·bin_bp)`; the last bin of a contig stops at its end);
//! overlapping, duplicate and touching regions are merged per contig, so every bin is
//! written once. A region on a contig the FASTA lacks, an empty one (start = end) and one
//! ending past its contig are errors naming the file and line.
//!
//! FASTA-input records ([`Records`], read one at a time) may hold A, C, G, T and N (any
//! case); anything else is an error naming the file, line, record and letter. Each record
//! is its own "contig" with its own bin grid from position 0; its tiles are placed so the
//! record sits in their middle (by whole bins), so a record shorter than one window's
//! central bins is N-padded on both sides to the window's centre, and a longer one is tiled
//! like a BED region.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};

use crate::error::{Error, Result};
use crate::formats::bed::BedRecord;
use crate::formats::fasta_stream::FastaRecords;
use crate::formats::indexed_fasta::Fasta;

use super::Geometry;

/// One sequence that can carry output: its name and length (the BigWig chromosome
/// sizes) and where its tile grid starts, in bins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqInfo {
    pub name: String,
    pub len: u64,
    pub origin_bin: i64,
}

impl SeqInfo {
    /// Bin `bin` as `[start, end)`, clipped to the sequence's end.
    pub fn bin_span(&self, bin_bp: usize, bin: i64) -> (u64, u64) {
        let b = bin_bp as u64;
        let start = bin as u64 * b;
        (start, (start + b).min(self.len))
    }
}

/// Output bins `[first_bin, end_bin)` of sequence `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub seq: usize,
    pub first_bin: i64,
    pub end_bin: i64,
}

impl Segment {
    pub fn bins(&self) -> usize {
        (self.end_bin - self.first_bin) as usize
    }
}

/// Merged BED regions on an indexed genome.
pub struct Input {
    /// Every contig of the genome, sorted by name (byte order, as BigWig's chromosome tree).
    pub seqs: Vec<SeqInfo>,
    /// Sorted by sequence then position; never overlapping.
    pub segments: Vec<Segment>,
    /// Regions read (before merging).
    pub regions: usize,
    fasta: Fasta,
}

impl Input {
    /// `len` bases of sequence `seq` from `start` (may be negative), upper-cased, with N
    /// outside the sequence.
    pub fn window(&self, seq: usize, start: i64, len: usize) -> Result<Vec<u8>> {
        self.fasta.fetch_padded(&self.seqs[seq].name, start, start + len as i64)
    }

    /// BED regions (read by [`crate::formats::bed`]; `source` names them in errors) on
    /// the genome of `fasta`.
    pub fn from_bed(regions: &[BedRecord], source: &str, fasta: Fasta, fasta_name: &str, bin_bp: usize) -> Result<Input> {
        let seqs: Vec<SeqInfo> =
            fasta.contigs().into_iter().map(|(name, len)| SeqInfo { name, len, origin_bin: 0 }).collect();
        let index: HashMap<&str, usize> = seqs.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
        if regions.is_empty() {
            return Err(Error::Input(format!("{source}: no regions")));
        }
        let b = bin_bp as u64;
        let mut bins: Vec<(usize, i64, i64)> = Vec::with_capacity(regions.len());
        for BedRecord { line, interval: iv, .. } in regions {
            let bad = |what: String| Error::Input(format!("{source}:{line}: {what}"));
            let Some(&seq) = index.get(iv.contig.as_str()) else {
                return Err(bad(format!("contig {} is not in {fasta_name}", iv.contig)));
            };
            if iv.is_empty() {
                return Err(bad(format!("empty region {iv} (start equals end)")));
            }
            let len = seqs[seq].len;
            if iv.end > len {
                return Err(bad(format!("region {iv} runs past the end of {} ({len} bp)", iv.contig)));
            }
            bins.push((seq, (iv.start / b) as i64, iv.end.div_ceil(b) as i64));
        }
        bins.sort_unstable();
        let mut segments: Vec<Segment> = Vec::new();
        for (seq, first_bin, end_bin) in bins {
            match segments.last_mut() {
                Some(s) if s.seq == seq && first_bin <= s.end_bin => s.end_bin = s.end_bin.max(end_bin),
                _ => segments.push(Segment { seq, first_bin, end_bin }),
            }
        }
        Ok(Input { seqs, segments, regions: regions.len(), fasta })
    }
}

/// One FASTA-input record: its own sequence, tiled so it sits in the middle of its tiles.
pub struct Record {
    pub info: SeqInfo,
    /// Upper case.
    pub bases: Vec<u8>,
}

impl Record {
    /// `len` bases from `start` (may be negative), N outside the record.
    pub fn window(&self, start: i64, len: usize) -> Vec<u8> {
        let mut out = vec![b'N'; len];
        let lo = start.max(0);
        let hi = (start + len as i64).min(self.bases.len() as i64);
        if lo < hi {
            out[(lo - start) as usize..(hi - start) as usize].copy_from_slice(&self.bases[lo as usize..hi as usize]);
        }
        out
    }

    /// Output bins of the record.
    pub fn bins(&self, bin_bp: usize) -> i64 {
        (self.info.len).div_ceil(bin_bp as u64) as i64
    }

    /// Tiles the record needs.
    pub fn tiles(&self, geo: &Geometry) -> i64 {
        (self.bins(geo.bin_bp) + geo.step() - 1) / geo.step()
    }
}

/// The records of a FASTA text stream, read one at a time (name = first word of the
/// header; letters checked and upper-cased by the reader); a repeated name, and a stream
/// with no record, are errors naming the file (and line).
pub struct Records<R: BufRead> {
    records: FastaRecords<R>,
    source: String,
    seen: HashMap<String, usize>,
    geo: Geometry,
    done: bool,
}

impl<R: Read> Records<BufReader<R>> {
    pub fn new(reader: R, source: &str, geo: &Geometry) -> Self {
        Records {
            records: FastaRecords::new(BufReader::new(reader), source),
            source: source.to_string(),
            seen: HashMap::new(),
            geo: *geo,
            done: false,
        }
    }
}

impl<R: BufRead> Records<R> {
    fn next_record(&mut self) -> Result<Option<Record>> {
        let Some(r) = self.records.next().transpose()? else {
            if self.seen.is_empty() {
                return Err(Error::Input(format!("{}: no sequences in the FASTA", self.source)));
            }
            return Ok(None);
        };
        if let Some(first) = self.seen.insert(r.name.clone(), r.line) {
            return Err(Error::Input(format!(
                "{}:{}: duplicate sequence name {} (first on line {first})",
                self.source, r.line, r.name
            )));
        }
        let mut record = Record { info: SeqInfo { name: r.name, len: r.seq.len() as u64, origin_bin: 0 }, bases: r.seq };
        // The spare bins of the record's tiles, half of them before it.
        let spare = record.tiles(&self.geo) * self.geo.step() - record.bins(self.geo.bin_bp);
        record.info.origin_bin = -(spare / 2);
        Ok(Some(record))
    }
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        if self.done {
            return None;
        }
        let next = self.next_record();
        crate::formats::text::stop_after_error(&mut self.done, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo() -> Geometry {
        Geometry { seq_len: 2048, bin_bp: 16, crop_bp: 256, bins: 96, edge_bins: 12 }
    }

    fn records(text: &[u8]) -> Result<Vec<Record>> {
        Records::new(text, "x.fa", &geo()).collect()
    }

    fn error(text: &[u8]) -> String {
        match records(text) {
            Ok(_) => panic!("accepted {}", text.escape_ascii()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn records_are_checked_and_centred() {
        let text = b">b desc\nACGTn\nacg\n>a\nNNNN\n" as &[u8];
        let recs = records(text).unwrap();
        assert_eq!(recs.iter().map(|r| r.info.name.as_str()).collect::<Vec<_>>(), vec!["b", "a"]);
        assert_eq!(recs[0].info.len, 8);
        // One bin in one tile of 72 bins: 35 bins of padding before it.
        assert_eq!(recs[0].info.origin_bin, -35);
        assert_eq!((recs[0].bins(16), recs[0].tiles(&geo())), (1, 1));
        assert_eq!(recs[0].window(-2, 12), b"NNACGTNACGNN".to_vec());
        assert_eq!(
            error(b">s\nACGT\nACRT\n"),
            "x.fa:3: sequence s: invalid letter 'R' at position 7 (only A, C, G, T and N are accepted)"
        );
        assert_eq!(error(b">s\n>t\nA\n"), "x.fa:1: sequence s is empty");
        let e = error(b">s\nA\n>s\nC\n");
        assert!(e.starts_with("x.fa:3: duplicate sequence name s"), "{e}");
        assert_eq!(error(b""), "x.fa: no sequences in the FASTA");
    }

    #[test]
    fn long_records_are_centred_over_their_tiles() {
        // 100 bins need 2 tiles of 72 bins: 44 spare bins, 22 before.
        let seq = vec![b'A'; 1600];
        let text = format!(">r\n{}\n", String::from_utf8(seq).unwrap());
        let recs = records(text.as_bytes()).unwrap();
        assert_eq!(recs[0].info.origin_bin, -22);
        assert_eq!((recs[0].bins(16), recs[0].tiles(&geo())), (100, 2));
    }
}
