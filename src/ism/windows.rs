//! Where ISM runs: BED regions (every base of the region mutated, the model window
//! centred on it) or VCF records (`flank` bases either side of the variant mutated, the
//! window placed as the scorer places it, so the variant's own scores agree).


use rust_htslib::bcf::{self, Read as _};

use crate::error::{Error, Result};
use crate::formats::bed::{BedRecord, Interval};
use crate::formats::indexed_fasta::Fasta;

/// The variant a window was made for.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub pos0: i64,
    pub reference: String,
    pub alts: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct IsmWindow {
    pub name: String,
    pub contig: String,
    /// Genome coordinate of the window's first base (negative: N padding before the contig).
    pub start: i64,
    /// The window's bases, upper case, N beyond the contig.
    pub seq: Vec<u8>,
    /// Window positions mutated: `lo..hi`.
    pub lo: usize,
    pub hi: usize,
    pub site: Option<Site>,
}

impl IsmWindow {
    pub fn len(&self) -> usize {
        self.hi - self.lo
    }

    pub fn is_empty(&self) -> bool {
        self.hi == self.lo
    }
}

/// Windows in input order, each fetched when taken.
pub type Windows<'a> = Box<dyn Iterator<Item = Result<IsmWindow>> + 'a>;

fn window(fasta: &Fasta, contig: &str, start: i64, seq_len: usize) -> Result<Vec<u8>> {
    Ok(fasta.fetch_padded(contig, start, start + seq_len as i64)?.to_ascii_uppercase())
}

/// BED regions (`-` for stdin); each must fit one model window. The regions are read and
/// checked first (they are small, and a bad one fails the run before any model work);
/// each window's bases are fetched as it is taken.
pub fn from_bed<'a>(path: &str, fasta: &'a Fasta, seq_len: usize) -> Result<Windows<'a>> {
    let (records, source) = crate::formats::bed::read_records(path)?;
    if records.is_empty() {
        return Err(Error::Input(format!("{source}: no regions")));
    }
    let windows = records.into_iter().map(|r| bed_window(r, &source, fasta, seq_len)).collect::<Result<Vec<_>>>()?;
    Ok(Box::new(windows.into_iter().map(move |mut w| {
        w.seq = window(fasta, &w.contig, w.start, seq_len)?;
        Ok(w)
    })))
}

/// A BED region's window, its bases not yet fetched.
fn bed_window(record: BedRecord, source: &str, fasta: &Fasta, seq_len: usize) -> Result<IsmWindow> {
    let BedRecord { line, interval, name } = record;
    let at = format!("{source}:{line}");
    let Interval { contig, start: s, end: e } = interval;
    let Some(clen) = fasta.length(&contig) else {
        return Err(Error::Input(format!("{at}: contig \"{contig}\" is not in the FASTA")));
    };
    if e <= s {
        return Err(Error::Input(format!("{at}: region {contig}:{s}-{e} is empty or inverted")));
    }
    if e > clen {
        return Err(Error::Input(format!("{at}: region {contig}:{s}-{e} runs past the end of {contig} ({clen} bp)")));
    }
    let len = (e - s) as usize;
    if len > seq_len {
        return Err(Error::Input(format!(
            "{at}: region of {len} bp is longer than the model's {seq_len} bp window; split it"
        )));
    }
    // Within the contig, so within i64.
    let (s, e) = (s as i64, e as i64);
    let start = s + (len as i64) / 2 - (seq_len / 2) as i64;
    let name = name.unwrap_or(format!("{contig}:{}-{e}", s + 1));
    Ok(IsmWindow {
        name,
        seq: Vec::new(),
        contig,
        start,
        lo: (s - start) as usize,
        hi: (e - start) as usize,
        site: None,
    })
}

/// VCF/BCF records (`-` for stdin), read as they are taken: `flank` bases either side
/// of each variant.
pub fn from_vcf<'a>(path: &str, fasta: &'a Fasta, seq_len: usize, flank: usize) -> Result<Windows<'a>> {
    let source = if path == "-" { "<stdin>".to_string() } else { path.to_string() };
    let mut reader = if path == "-" { bcf::Reader::from_stdin() } else { bcf::Reader::from_path(path) }
        .map_err(|e| Error::Input(format!("{source}: cannot read as VCF/BCF ({e})")))?;
    let header = reader.header().clone();
    let mut read = 0usize;
    let mut done = false;
    Ok(Box::new(std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut rec = reader.empty_record();
        let next = match reader.read(&mut rec) {
            None if read == 0 => Err(Error::Input(format!("{source}: no records"))),
            None => Ok(None),
            Some(r) => {
                read += 1;
                let at = format!("{source}: record {read}");
                r.map_err(|e| Error::Input(format!("{at}: {e}")))
                    .and_then(|()| vcf_window(&rec, &header, &at, fasta, seq_len, flank))
                    .map(Some)
            }
        };
        crate::formats::text::stop_after_error(&mut done, next)
    })))
}

fn vcf_window(rec: &bcf::Record, header: &bcf::header::HeaderView, at: &str, fasta: &Fasta, seq_len: usize, flank: usize) -> Result<IsmWindow> {
    let rid = rec.rid().ok_or_else(|| Error::Input(format!("{at}: no CHROM")))?;
    let contig = String::from_utf8_lossy(header.rid2name(rid).map_err(|e| Error::Input(format!("{at}: {e}")))?).to_string();
    let alleles: Vec<String> = rec.alleles().iter().map(|a| String::from_utf8_lossy(a).to_ascii_uppercase()).collect();
    let pos0 = rec.pos();
    let Some(clen) = fasta.length(&contig) else {
        return Err(Error::Input(format!("{at}: contig \"{contig}\" is not in the FASTA")));
    };
    let reference = alleles.first().cloned().unwrap_or_default();
    if pos0 < 0 || pos0.saturating_add(reference.len() as i64) > clen as i64 || reference.is_empty() {
        return Err(Error::Input(format!(
            "{at} ({contig}:{}): invalid position: REF \"{reference}\" does not lie within {contig} (1-{clen})",
            pos0 + 1
        )));
    }
    let fasta_ref = fasta.fetch_padded(&contig, pos0, pos0 + reference.len() as i64)?.to_ascii_uppercase();
    if fasta_ref != reference.as_bytes() {
        return Err(Error::Input(format!(
            "{at} ({contig}:{}): REF {reference} does not match the FASTA ({})",
            pos0 + 1,
            String::from_utf8_lossy(&fasta_ref)
        )));
    }
    // As the scorer: the window is centred on the variant's 1-based position.
    let start = pos0 + 1 - (seq_len / 2) as i64;
    let lo = (pos0 - flank as i64).max(0).max(start);
    let hi = (pos0 + reference.len() as i64 + flank as i64).min(clen as i64).min(start + seq_len as i64);
    let id = String::from_utf8_lossy(&rec.id()).to_string();
    let alts: Vec<String> = alleles.get(1..).unwrap_or_default().to_vec();
    let name = if id != "." && !id.is_empty() { id } else { format!("{contig}:{}:{reference}:{}", pos0 + 1, alts.join(",")) };
    Ok(IsmWindow {
        name,
        seq: window(fasta, &contig, start, seq_len)?,
        contig,
        start,
        lo: (lo - start) as usize,
        hi: (hi - start) as usize,
        site: Some(Site { pos0, reference, alts }),
    })
}
