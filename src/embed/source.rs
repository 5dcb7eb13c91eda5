//! What shorkie-embed reads: the records of a FASTA stream, or BED regions on an indexed
//! genome, each turned into an [`Item`] carrying the bases its windows need.

use std::collections::HashMap;
use std::io::BufRead;

use crate::formats::bed::{BedReader, BedRecord, Interval};
use crate::error::{Error, Result};
use crate::formats::indexed_fasta::Fasta;
use crate::formats::fasta_stream::FastaRecords;

use super::plan::{plan_windows, Window};
use super::Pool;

/// What identifies an embedding in the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// 0-based position in the input.
    pub index: u64,
    /// The FASTA record name, or the BED name column (`contig:start-end` without one).
    pub id: String,
    /// The BED region (0-based, end exclusive); None for FASTA records.
    pub origin: Option<Interval>,
    pub length: usize,
}

/// One sequence ready for the model: its windows and the bases they cover.
#[derive(Debug, Clone)]
pub struct Item {
    pub meta: Meta,
    pub windows: Vec<Window>,
    /// Bases from `context_start` (relative to the sequence's first base); windows read
    /// N outside them.
    context: Vec<u8>,
    context_start: i64,
}

impl Item {
    /// The `seq_len` bases of window `w`.
    pub fn window_bases(&self, w: &Window, seq_len: usize) -> Vec<u8> {
        (0..seq_len as i64)
            .map(|i| {
                let at = w.start + i - self.context_start;
                if at < 0 {
                    b'N'
                } else {
                    self.context.get(at as usize).copied().unwrap_or(b'N')
                }
            })
            .collect()
    }
}

/// How sequences become windows: the model length and the layer's stride.
#[derive(Debug, Clone, Copy)]
pub struct Planner {
    pub seq_len: usize,
    pub stride: usize,
    pub pool: Pool,
}

impl Planner {
    fn windows(&self, len: usize) -> Vec<Window> {
        plan_windows(len, self.seq_len, self.stride, self.pool)
    }

    /// The span `[from, to)` relative to the sequence start that the windows read.
    fn span(&self, windows: &[Window]) -> (i64, i64) {
        let from = windows.iter().map(|w| w.start).min().unwrap_or(0);
        let to = windows.iter().map(|w| w.start + self.seq_len as i64).max().unwrap_or(0);
        (from, to)
    }
}

/// Remembers ids so that a repeated one is an error naming both places.
struct Ids {
    seen: HashMap<String, usize>,
}

impl Ids {
    fn check(&mut self, id: &str, source: &str, line: usize, what: &str) -> Result<()> {
        match self.seen.insert(id.to_string(), line) {
            Some(first) => Err(Error::Input(format!(
                "{source}:{line}: duplicate {what} {id} (first on line {first}); embeddings need unique ids"
            ))),
            None => Ok(()),
        }
    }
}

/// The records of a FASTA stream, N-padded into their windows.
pub fn fasta_items(reader: impl BufRead, source: &str, planner: Planner) -> impl Iterator<Item = Result<Item>> {
    let mut ids = Ids { seen: HashMap::new() };
    let source_name = source.to_string();
    let mut index = 0u64;
    let mut any = false;
    let mut records = FastaRecords::new(reader, source);
    std::iter::from_fn(move || {
        let record = match records.next() {
            None if !any => {
                any = true;
                return Some(Err(Error::Input(format!("{source_name}: no sequences in the FASTA"))));
            }
            None => return None,
            Some(Err(e)) => return Some(Err(e)),
            Some(Ok(r)) => r,
        };
        any = true;
        if let Err(e) = ids.check(&record.name, &source_name, record.line, "sequence name") {
            return Some(Err(e));
        }
        let windows = planner.windows(record.seq.len());
        let meta = Meta { index, id: record.name, origin: None, length: record.seq.len() };
        index += 1;
        Some(Ok(Item { meta, windows, context: record.seq, context_start: 0 }))
    })
    .fuse()
}

/// BED regions (first three columns, an optional name in the fourth), each embedded in
/// its genome context; errors name the file and line.
pub fn bed_items<R: BufRead>(
    regions: BedReader<R>,
    fasta: Fasta,
    fasta_name: &str,
    planner: Planner,
) -> impl Iterator<Item = Result<Item>> {
    let mut ids = Ids { seen: HashMap::new() };
    let source = regions.source().to_string();
    let fasta_name = fasta_name.to_string();
    let mut regions = regions;
    let mut index = 0u64;
    let mut any = false;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let record = match regions.next() {
            None => {
                done = true;
                return (!any).then(|| Err(Error::Input(format!("{source}: no regions"))));
            }
            Some(Err(e)) => {
                done = true;
                return Some(Err(e));
            }
            Some(Ok(r)) => r,
        };
        any = true;
        let BedRecord { line: lineno, interval: iv, name } = record;
        let item = (|| -> std::result::Result<Item, String> {
            let Some(contig_len) = fasta.length(&iv.contig) else {
                return Err(format!("contig {} is not in {fasta_name}", iv.contig));
            };
            if iv.is_empty() {
                return Err(format!("empty region {iv} (start equals end)"));
            }
            if iv.end > contig_len {
                return Err(format!("region {iv} runs past the end of {} ({contig_len} bp)", iv.contig));
            }
            let id = match name {
                Some(name) if name != "." => name,
                _ => iv.to_string(),
            };
            let len = iv.len() as usize;
            let windows = planner.windows(len);
            let (from, to) = planner.span(&windows);
            let start = iv.start as i64;
            let context = fasta.fetch_padded(&iv.contig, start + from, start + to).map_err(|e| e.to_string())?;
            Ok(Item { meta: Meta { index, id, origin: Some(iv.clone()), length: len }, windows, context, context_start: from })
        })();
        let checked = item
            .map_err(|what| Error::Input(format!("{source}:{lineno}: {what}")))
            .and_then(|item| ids.check(&item.meta.id, &source, lineno, "region name").map(|()| item));
        match checked {
            Ok(item) => {
                index += 1;
                Some(Ok(item))
            }
            Err(e) => {
                done = true;
                Some(Err(e))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planner(pool: Pool) -> Planner {
        Planner { seq_len: 64, stride: 8, pool }
    }

    #[test]
    fn fasta_records_become_padded_windows() {
        let items: Vec<Item> = fasta_items(b">a\nACGT\n>b\n".as_slice(), "x.fa", planner(Pool::Mean))
            .take(1)
            .collect::<Result<_>>()
            .unwrap();
        let w = &items[0].windows[0];
        assert_eq!(w.start, -30);
        let bases = items[0].window_bases(w, 64);
        assert_eq!(&bases[28..36], b"NNACGTNN");
        assert_eq!(items[0].meta, Meta { index: 0, id: "a".into(), origin: None, length: 4 });
    }

    #[test]
    fn input_errors_name_the_place() {
        let err = |text: &[u8]| {
            fasta_items(text, "x.fa", planner(Pool::Mean)).find_map(|r| r.err()).map(|e| e.to_string()).unwrap()
        };
        assert_eq!(err(b""), "x.fa: no sequences in the FASTA");
        assert_eq!(
            err(b">a\nAC\n>a\nGT\n"),
            "x.fa:3: duplicate sequence name a (first on line 1); embeddings need unique ids"
        );
    }
}
