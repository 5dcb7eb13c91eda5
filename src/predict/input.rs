//! What shorkie-predict predicts: BED regions on an indexed genome, or the records of a
//! FASTA file, as sorted, merged runs of output bins ([`Segment`]s).
//!
//! BED regions need not be sorted. Each is widened to whole bins of the genome-wide grid
//! (bin `i` is `[i·bin_bp, (i+1)·bin_bp)`; the last bin of a contig stops at its end);
//! overlapping, duplicate and touching regions are merged per contig, so every bin is
//! written once. A region on a contig the FASTA lacks, an empty one (start = end) and one
//! ending past its contig are errors naming the file and line.
//!
//! FASTA-input records may hold A, C, G, T and N (any case); anything else is an error
//! naming the file, line, record and letter. Each record is its own "contig" with its own
//! bin grid from position 0; its tiles are placed so the record sits in their middle (by
//! whole bins), so a record shorter than one window's central bins is N-padded on both
//! sides to the window's centre, and a longer one is tiled like a BED region.

use std::collections::HashMap;
use std::io::{BufReader, Read};

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

enum Bases {
    Genome(Fasta),
    Records(Vec<Vec<u8>>),
}

pub struct Input {
    /// Every sequence, sorted by name (byte order, as BigWig's chromosome tree).
    pub seqs: Vec<SeqInfo>,
    /// Sorted by sequence then position; never overlapping.
    pub segments: Vec<Segment>,
    /// Regions or records read (before merging).
    pub regions: usize,
    pub bin_bp: usize,
    bases: Bases,
}

impl Input {
    /// `len` bases of sequence `seq` from `start` (may be negative), upper-cased, with N
    /// outside the sequence.
    pub fn window(&self, seq: usize, start: i64, len: usize) -> Result<Vec<u8>> {
        match &self.bases {
            Bases::Genome(fasta) => fasta.fetch_padded(&self.seqs[seq].name, start, start + len as i64),
            Bases::Records(records) => {
                let s = &records[seq];
                let mut out = vec![b'N'; len];
                let lo = start.max(0);
                let hi = (start + len as i64).min(s.len() as i64);
                if lo < hi {
                    out[(lo - start) as usize..(hi - start) as usize].copy_from_slice(&s[lo as usize..hi as usize]);
                }
                Ok(out)
            }
        }
    }

    /// Bin `bin` of sequence `seq` as `[start, end)`, clipped to the sequence's end.
    pub fn bin_span(&self, seq: usize, bin: i64) -> (u64, u64) {
        let b = self.bin_bp as u64;
        let start = bin as u64 * b;
        (start, (start + b).min(self.seqs[seq].len))
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
        Ok(Input { seqs, segments, regions: regions.len(), bin_bp, bases: Bases::Genome(fasta) })
    }

    /// The records of a FASTA text stream (`source` names it in errors).
    pub fn from_fasta_records(reader: impl Read, source: &str, geo: &Geometry) -> Result<Input> {
        let records = read_records(reader, source)?;
        let mut order: Vec<usize> = (0..records.len()).collect();
        order.sort_by(|&a, &b| records[a].0.cmp(&records[b].0));
        let b = geo.bin_bp as u64;
        let step = geo.step();
        let mut seqs = Vec::with_capacity(records.len());
        let mut segments = Vec::with_capacity(records.len());
        let mut bases = Vec::with_capacity(records.len());
        let mut all = records;
        for (i, &r) in order.iter().enumerate() {
            let (name, seq) = std::mem::take(&mut all[r]);
            let nb = (seq.len() as u64).div_ceil(b) as i64;
            let tiles = (nb + step - 1) / step;
            let pad = (tiles * step - nb) / 2;
            seqs.push(SeqInfo { name, len: seq.len() as u64, origin_bin: -pad });
            segments.push(Segment { seq: i, first_bin: 0, end_bin: nb });
            bases.push(seq);
        }
        Ok(Input { regions: seqs.len(), seqs, segments, bin_bp: geo.bin_bp, bases: Bases::Records(bases) })
    }
}

/// FASTA records (name = first word of the header), upper-cased; errors name the line.
fn read_records(reader: impl Read, source: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for record in FastaRecords::new(BufReader::new(reader), source) {
        let record = record?;
        if let Some(first) = seen.insert(record.name.clone(), record.line) {
            return Err(Error::Input(format!(
                "{source}:{}: duplicate sequence name {} (first on line {first})",
                record.line, record.name
            )));
        }
        out.push((record.name, record.seq));
    }
    if out.is_empty() {
        return Err(Error::Input(format!("{source}: no sequences in the FASTA")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo() -> Geometry {
        Geometry { seq_len: 2048, bin_bp: 16, crop_bp: 256, bins: 96, edge_bins: 12 }
    }

    fn error(text: &[u8]) -> String {
        match Input::from_fasta_records(text, "x.fa", &geo()) {
            Ok(_) => panic!("accepted {}", text.escape_ascii()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn records_are_checked_and_centred() {
        let text = b">b desc\nACGTn\nacg\n>a\nNNNN\n" as &[u8];
        let input = Input::from_fasta_records(text, "x.fa", &geo()).unwrap();
        assert_eq!(input.seqs.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(input.seqs[1].len, 8);
        // One bin in one tile of 72 bins: 35 bins of padding before it.
        assert_eq!(input.seqs[1].origin_bin, -35);
        assert_eq!(input.window(1, -2, 12).unwrap(), b"NNACGTNACGNN".to_vec());
        assert_eq!(
            error(b">s\nACGT\nACRT\n"),
            "x.fa:3: sequence s: invalid letter 'R' at position 7 (only A, C, G, T and N are accepted)"
        );
        assert_eq!(error(b">s\n>t\nA\n"), "x.fa:1: sequence s is empty");
        let e = error(b">s\nA\n>s\nC\n");
        assert!(e.starts_with("x.fa:3: duplicate sequence name s"), "{e}");
    }

    #[test]
    fn long_records_are_centred_over_their_tiles() {
        // 100 bins need 2 tiles of 72 bins: 44 spare bins, 22 before.
        let seq = vec![b'A'; 1600];
        let text = format!(">r\n{}\n", String::from_utf8(seq).unwrap());
        let input = Input::from_fasta_records(text.as_bytes(), "x.fa", &geo()).unwrap();
        assert_eq!(input.seqs[0].origin_bin, -22);
        assert_eq!(input.segments[0], Segment { seq: 0, first_bin: 0, end_bin: 100 });
    }
}
