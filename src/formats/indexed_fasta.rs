//! Indexed reference FASTA: plain, or bgzip with its `.gzi`, and the `.fai` beside it
//! (noodles' index record and BGZF reader).
//!
//! An index that does not describe its file gives wrong bases without a word, so it is
//! checked: on open, every `.fai` line must have its five numeric columns, line widths
//! must fit the line lengths, contigs must not overlap, and the file must reach the last
//! base the index names (a truncated FASTA is refused there); a plain gzip FASTA, which
//! cannot be read by position, is refused. On a contig's first fetch its line layout is
//! checked at the header and at both ends, and every fetch checks that line ends fall
//! where the index says and nowhere else. Each failure is a one-line error naming the
//! file, the contig and the byte offset.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::num::NonZero;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use noodles_bgzf as bgzf;
use noodles_fasta::fai;

use crate::error::{Error, Result};

/// What `samtools faidx` fixes.
const REINDEX: &str = "re-run samtools faidx";

enum Data {
    Plain { file: File, size: u64 },
    Bgzf(Mutex<Blocks>),
}

/// How many decompressed BGZF blocks (64 KiB each at most) are kept: nearby fetches, as
/// a sorted VCF or BED makes, then decompress each block once.
const CACHED_BLOCKS: usize = 16;

/// Random access into a BGZF file through its `.gzi`, with the blocks last read kept.
struct Blocks {
    reader: bgzf::io::Reader<File>,
    /// (compressed, uncompressed) start of every block, the first (0, 0) included.
    starts: Vec<(u64, u64)>,
    /// Most recently used first: a block's compressed start and its data.
    cache: Vec<(u64, Vec<u8>)>,
}

impl Blocks {
    fn new(file: File, index: &bgzf::gzi::Index) -> Self {
        let mut starts = vec![(0, 0)];
        starts.extend_from_slice(index.as_ref());
        Blocks { reader: bgzf::io::Reader::new(file), starts, cache: Vec::new() }
    }

    /// The data of the block starting at compressed offset `c`, read once.
    fn block(&mut self, c: u64) -> std::io::Result<&[u8]> {
        if let Some(i) = self.cache.iter().position(|(at, _)| *at == c) {
            let hit = self.cache.remove(i);
            self.cache.insert(0, hit);
        } else {
            let pos = bgzf::VirtualPosition::try_from((c, 0))
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            self.reader.seek(pos)?;
            let data = self.reader.fill_buf()?.to_vec();
            self.cache.truncate(CACHED_BLOCKS - 1);
            self.cache.insert(0, (c, data));
        }
        Ok(&self.cache[0].1)
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let pos = offset + done as u64;
            let i = self.starts.partition_point(|s| s.1 <= pos).saturating_sub(1);
            let (c, u) = self.starts[i];
            let data = self.block(c)?;
            let within = (pos - u) as usize;
            let Some(rest) = data.get(within..).filter(|r| !r.is_empty()) else {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("uncompressed byte {pos} is past the end of the data"),
                ));
            };
            let n = rest.len().min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&rest[..n]);
            done += n;
        }
        Ok(())
    }
}

struct Contig {
    record: fai::Record,
    name: String,
    /// The `.fai` line, for errors.
    line: usize,
    /// The result of the first fetch's layout check, kept for later fetches.
    layout: OnceLock<std::result::Result<(), String>>,
}

impl Contig {
    fn bases(&self) -> u64 {
        self.record.line_base_count().get()
    }

    fn width(&self) -> u64 {
        self.record.line_width().get()
    }

    /// The byte offset of base `i` (0-based); callers keep `i` below the length, which
    /// [`Fasta::open`] has checked does not overflow.
    fn offset_of(&self, i: u64) -> u64 {
        self.record.position() + i / self.bases() * self.width() + i % self.bases()
    }
}

pub struct Fasta {
    path: PathBuf,
    data: Data,
    /// In `.fai` order.
    contigs: Vec<Contig>,
    by_name: HashMap<String, usize>,
}

fn input(msg: String) -> Error {
    Error::Input(msg)
}

/// `path` + `suffix` (`x.fa` → `x.fa.fai`).
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// A sidecar index must be a readable regular file.
fn check_index_file(index: &Path, what: &str, fasta: &Path) -> Result<()> {
    match std::fs::metadata(index) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(input(format!(
            "{}: no index {} (make one with `samtools faidx`)",
            fasta.display(),
            index.display()
        ))),
        Err(e) => Err(Error::io(index, e)),
        Ok(m) if m.is_dir() => Err(input(format!("{}: is a directory, not a {what} index ({REINDEX})", index.display()))),
        Ok(_) => Ok(()),
    }
}

/// Parses a `.fai`: `name length offset line_bases line_width`, tab-separated.
fn read_fai(fai_path: &Path) -> Result<Vec<Contig>> {
    let shown = fai_path.display();
    let bytes = std::fs::read(fai_path).map_err(|e| Error::io(fai_path, e))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| input(format!("{shown}: not a FASTA index (binary data at byte {}; {REINDEX})", e.utf8_error().valid_up_to())))?;
    let mut out: Vec<Contig> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (line, row) in crate::formats::text::numbered_lines(&text) {
        if row.trim().is_empty() {
            continue;
        }
        let bad = |what: String| input(format!("{shown}: line {line}: {what} ({REINDEX})"));
        let f: Vec<&str> = row.split('\t').collect();
        if f.len() != 5 {
            return Err(bad(format!(
                "expected 5 tab-separated columns (name, length, offset, line bases, line width), got {}",
                f.len()
            )));
        }
        let name = f[0];
        if name.is_empty() {
            return Err(bad("empty sequence name".into()));
        }
        let number = |i: usize, what: &str| -> Result<u64> {
            f[i].parse::<u64>().map_err(|_| bad(format!("{what} \"{}\" is not a whole number", f[i].escape_debug())))
        };
        let (length, offset) = (number(1, "length")?, number(2, "offset")?);
        let (bases, width) = (number(3, "line bases")?, number(4, "line width")?);
        // samtools leaves empty sequences out of the index.
        if length == 0 {
            return Err(bad(format!("sequence {name} has length 0")));
        }
        let (Some(nz_bases), Some(nz_width)) = (NonZero::new(bases), NonZero::new(width)) else {
            return Err(bad(format!("sequence {name}: line bases {bases} and line width {width} must be positive")));
        };
        // A line holds its bases then "\n" or "\r\n" (no `bases + 1`: bases may be u64::MAX).
        if !matches!(width.checked_sub(bases), Some(1 | 2)) {
            return Err(bad(format!(
                "sequence {name}: line width {width} does not fit {bases} bases per line (it must be {} or {})",
                u128::from(bases) + 1,
                u128::from(bases) + 2
            )));
        }
        let last = (length - 1) / bases;
        let end = last
            .checked_mul(width)
            .and_then(|x| x.checked_add(offset))
            .and_then(|x| x.checked_add((length - 1) % bases));
        if end.is_none() {
            return Err(bad(format!("sequence {name}: offset {offset} and length {length} pass any file size")));
        }
        if let Some(first) = seen.insert(name.to_string(), line) {
            return Err(bad(format!("sequence {name} is listed twice (first on line {first})")));
        }
        out.push(Contig {
            record: fai::Record::new(name, length, offset, nz_bases, nz_width),
            name: name.to_string(),
            line,
            layout: OnceLock::new(),
        });
    }
    if out.is_empty() {
        return Err(input(format!("{shown}: empty index, no sequences ({REINDEX})")));
    }
    Ok(out)
}

/// Reads a `.gzi`; its length is checked against its entry count first, as a junk count
/// would otherwise be an allocation of any size.
fn read_gzi(gzi_path: &Path, compressed_size: u64) -> Result<bgzf::gzi::Index> {
    let shown = gzi_path.display();
    let bytes = std::fs::read(gzi_path).map_err(|e| Error::io(gzi_path, e))?;
    let count = bytes.get(..8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    let expected = count.and_then(|n| n.checked_mul(16)).and_then(|n| n.checked_add(8));
    if expected != Some(bytes.len() as u64) {
        return Err(input(format!("{shown}: not a .gzi index ({} bytes, not 8 + 16 per block; {REINDEX})", bytes.len())));
    }
    let index = bgzf::gzi::io::Reader::new(&bytes[..])
        .read_index()
        .map_err(|e| input(format!("{shown}: not a .gzi index ({e}; {REINDEX})")))?;
    let mut prev = (0u64, 0u64);
    for (i, &(c, u)) in index.as_ref().iter().enumerate() {
        if c <= prev.0 || u <= prev.1 || c >= compressed_size {
            return Err(input(format!(
                "{shown}: block {} at compressed offset {c} does not fit a {compressed_size}-byte file; the index does not belong to it ({REINDEX})",
                i + 1
            )));
        }
        prev = (c, u);
    }
    Ok(index)
}

/// What the first bytes say the file is.
enum Compression {
    None,
    Bgzf,
    Gzip,
}

fn sniff(file: &mut File) -> std::io::Result<Compression> {
    let mut head = [0u8; 16];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..])? {
            0 => break,
            n => got += n,
        }
    }
    file.seek(SeekFrom::Start(0))?;
    let head = &head[..got];
    if !head.starts_with(&[0x1f, 0x8b]) {
        return Ok(Compression::None);
    }
    // BGZF: FEXTRA set and a "BC" subfield first (SAM spec 4.1).
    let bgzf = head.len() >= 14 && head[3] & 4 != 0 && head[12] == b'B' && head[13] == b'C';
    Ok(if bgzf { Compression::Bgzf } else { Compression::Gzip })
}

fn is_line_end(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

impl Fasta {
    pub fn open(path: &Path) -> Result<Self> {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if !meta.is_file() {
            return Err(input(format!("{shown}: not a regular file (an indexed FASTA must be a file)")));
        }
        let fai_path = beside(path, ".fai");
        check_index_file(&fai_path, ".fai", path)?;
        let contigs = read_fai(&fai_path)?;
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let compression = sniff(&mut file).map_err(|e| Error::io(path, e))?;
        let data = match compression {
            Compression::None => Data::Plain { file, size: meta.len() },
            Compression::Gzip => {
                return Err(input(format!(
                    "{shown}: compressed with plain gzip, which cannot be read by position: bgzip it and run samtools faidx"
                )))
            }
            Compression::Bgzf => {
                let gzi_path = beside(path, ".gzi");
                if !gzi_path.exists() {
                    return Err(input(format!(
                        "{shown}: bgzip-compressed but there is no {} (run samtools faidx to make it)",
                        gzi_path.display()
                    )));
                }
                check_index_file(&gzi_path, ".gzi", path)?;
                let index = read_gzi(&gzi_path, meta.len())?;
                Data::Bgzf(Mutex::new(Blocks::new(file, &index)))
            }
        };
        let by_name = contigs.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        let fasta = Fasta { path: path.to_path_buf(), data, contigs, by_name };
        fasta.check_extent(&fai_path)?;
        Ok(fasta)
    }

    /// Contigs must not overlap, and the file must reach the last base of the last one.
    fn check_extent(&self, fai_path: &Path) -> Result<()> {
        let mut spans: Vec<(u64, u64, &Contig)> =
            self.contigs.iter().map(|c| (c.record.position(), c.offset_of(c.record.length() - 1), c)).collect();
        spans.sort_by_key(|s| s.0);
        for pair in spans.windows(2) {
            let ((_, end, a), (start, _, b)) = (pair[0], pair[1]);
            if start <= end {
                return Err(input(format!(
                    "{}: lines {} and {}: sequences {} and {} overlap in the file (bytes {end} and {start}); the index does not belong to {} ({REINDEX})",
                    fai_path.display(),
                    a.line,
                    b.line,
                    a.name,
                    b.name,
                    self.path.display()
                )));
            }
        }
        let Some(&(_, end, last)) = spans.last() else { return Ok(()) };
        let shorter = |size: String| {
            input(format!(
                "{}: shorter than its index {} says: sequence {} ends at byte {}, but the file {size} (truncated? {REINDEX})",
                self.path.display(),
                fai_path.display(),
                last.name,
                end + 1,
            ))
        };
        match &self.data {
            Data::Plain { size, .. } => {
                if end >= *size {
                    return Err(shorter(format!("has {size} bytes")));
                }
            }
            Data::Bgzf(_) => {
                let mut byte = [0u8; 1];
                if let Err(e) = self.read_at(end, &mut byte) {
                    return Err(shorter(format!("ends before it ({e})")));
                }
            }
        }
        Ok(())
    }

    /// Fills `buf` from uncompressed byte `offset`.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        match &self.data {
            Data::Plain { file, .. } => file.read_exact_at(buf, offset),
            Data::Bgzf(blocks) => blocks
                .lock()
                .map_err(|_| std::io::Error::other("reader poisoned by a failed thread"))?
                .read_at(offset, buf),
        }
    }

    /// Up to `buf.len()` bytes from `offset`; fewer only at the end of the data.
    fn read_upto(&self, offset: u64, buf: &mut [u8]) -> usize {
        for n in (1..=buf.len()).rev() {
            if self.read_at(offset, &mut buf[..n]).is_ok() {
                return n;
            }
        }
        0
    }

    fn mismatch(&self, c: &Contig, offset: u64, what: &str, found: &[u8]) -> String {
        format!(
            "{}: sequence {}: byte {offset}: {what} (the .fai says {} bases per line, {} bytes with the line end), found '{}'; the index does not match the file ({REINDEX})",
            self.path.display(),
            c.name,
            c.bases(),
            c.width(),
            found.escape_ascii()
        )
    }

    /// The line end after the line holding base `i` must be at its place.
    fn check_line_end(&self, c: &Contig, i: u64) -> std::result::Result<(), String> {
        let at = c.offset_of(i) + 1;
        let n = (c.width() - c.bases()) as usize;
        let mut buf = [0u8; 2];
        self.read_at(at, &mut buf[..n]).map_err(|e| self.read_error(c, at, e))?;
        let want: &[u8] = if n == 1 { b"\n" } else { b"\r\n" };
        if &buf[..n] != want {
            return Err(self.mismatch(c, at, "expected the end of a line", &buf[..n]));
        }
        Ok(())
    }

    /// Where the index puts the header's end, the first line's end and the last line.
    fn check_layout(&self, c: &Contig) -> std::result::Result<(), String> {
        let (len, bases) = (c.record.length(), c.bases());
        let start = c.record.position();
        if start > 0 {
            let mut b = [0u8; 1];
            self.read_at(start - 1, &mut b).map_err(|e| self.read_error(c, start - 1, e))?;
            if b[0] != b'\n' {
                return Err(self.mismatch(c, start - 1, "expected the end of the header line", &b));
            }
        }
        let lines = len.div_ceil(bases);
        if lines > 1 {
            self.check_line_end(c, bases - 1)?;
            self.check_line_end(c, (lines - 1) * bases - 1)?;
        }
        // After the last base: a line end, or the end of the file.
        let after = c.offset_of(len - 1) + 1;
        let mut b = [0u8; 1];
        if self.read_upto(after, &mut b) == 1 && !is_line_end(b[0]) {
            return Err(self.mismatch(c, after, "expected the end of the sequence's last line", &b));
        }
        Ok(())
    }

    fn read_error(&self, c: &Contig, offset: u64, e: std::io::Error) -> String {
        format!("{}: sequence {}: cannot read byte {offset} ({e}; truncated? {REINDEX})", self.path.display(), c.name)
    }

    pub fn length(&self, contig: &str) -> Option<u64> {
        self.by_name.get(contig).map(|&i| self.contigs[i].record.length())
    }

    /// Every contig's name and length (from the `.fai`), sorted by name.
    pub fn contigs(&self) -> Vec<(String, u64)> {
        let mut v = self.contigs_in_file_order();
        v.sort();
        v
    }

    /// Every contig's name and length in `.fai` order (the FASTA's order).
    pub fn contigs_in_file_order(&self) -> Vec<(String, u64)> {
        self.contigs.iter().map(|c| (c.name.clone(), c.record.length())).collect()
    }

    pub fn has(&self, contig: &str) -> bool {
        self.by_name.contains_key(contig)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bases `[start, end)` (0-based), upper-cased; positions outside the contig are N.
    pub fn fetch_padded(&self, contig: &str, start: i64, end: i64) -> Result<Vec<u8>> {
        let &i = self
            .by_name
            .get(contig)
            .ok_or_else(|| input(format!("{}: no contig {contig}", self.path.display())))?;
        let c = &self.contigs[i];
        let len = i64::try_from(c.record.length()).unwrap_or(i64::MAX);
        let want = usize::try_from(end.saturating_sub(start).max(0))
            .map_err(|_| input(format!("{}: {contig}:{start}-{end} is too long to fetch", self.path.display())))?;
        let mut out = Vec::new();
        out.try_reserve_exact(want)
            .map_err(|_| input(format!("{}: {contig}:{start}-{end} is too long to fetch", self.path.display())))?;
        if start < 0 {
            out.resize(want.min(start.unsigned_abs() as usize), b'N');
        }
        let (lo, hi) = (start.max(0), end.min(len));
        if lo < hi {
            c.layout.get_or_init(|| self.check_layout(c)).clone().map_err(Error::Input)?;
            self.fetch_into(c, lo as u64, hi as u64, &mut out).map_err(Error::Input)?;
        }
        out.resize(want, b'N');
        Ok(out)
    }

    /// Appends bases `[lo, hi)` of `c` (within it), checking each line end on the way.
    fn fetch_into(&self, c: &Contig, lo: u64, hi: u64, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        let first = c.offset_of(lo);
        let span = (c.offset_of(hi - 1) + 1 - first) as usize;
        let mut raw = vec![0u8; span];
        self.read_at(first, &mut raw).map_err(|e| self.read_error(c, first, e))?;
        let (bases, gap) = (c.bases(), (c.width() - c.bases()) as usize);
        let want: &[u8] = if gap == 1 { b"\n" } else { b"\r\n" };
        let (mut pos, mut at) = (lo, 0usize);
        while pos < hi {
            let take = ((pos / bases + 1) * bases).min(hi) - pos;
            let seg = &raw[at..at + take as usize];
            if let Some(k) = seg.iter().position(|&b| is_line_end(b) || b == b'>') {
                let what = if seg[k] == b'>' { "a header inside a sequence" } else { "a line end inside a line" };
                return Err(self.mismatch(c, first + (at + k) as u64, what, &seg[k..k + 1]));
            }
            out.extend(seg.iter().map(u8::to_ascii_uppercase));
            at += take as usize;
            pos += take;
            if pos < hi {
                let end = &raw[at..at + gap];
                if end != want {
                    return Err(self.mismatch(c, first + at as u64, "expected the end of a line", end));
                }
                at += gap;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// A FASTA of two contigs written `width` bases per line, and its correct `.fai`.
    fn genome(dir: &Path, width: usize) -> (PathBuf, String, String) {
        let a: String = (0..50).map(|i| ['A', 'C', 'G', 'T'][i * 7 % 4]).collect();
        let b: String = (0..23).map(|i| ['g', 't', 'c', 'a'][i % 4]).collect();
        let mut text = String::new();
        let mut fai = String::new();
        for (name, seq) in [("chrA", &a), ("chrB", &b)] {
            text += &format!(">{name} description\n");
            fai += &format!("{name}\t{}\t{}\t{width}\t{}\n", seq.len(), text.len(), width + 1);
            for chunk in seq.as_bytes().chunks(width) {
                text += std::str::from_utf8(chunk).unwrap();
                text += "\n";
            }
        }
        let p = write(dir, "g.fa", text.as_bytes());
        write(dir, "g.fa.fai", fai.as_bytes());
        (p, a, b.to_uppercase())
    }

    fn err(r: Result<impl Sized>) -> String {
        match r {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn fetches_across_lines_with_padding() {
        let dir = tempfile::tempdir().unwrap();
        let (p, a, b) = genome(dir.path(), 7);
        let f = Fasta::open(&p).unwrap();
        assert_eq!(f.contigs(), vec![("chrA".to_string(), 50), ("chrB".to_string(), 23)]);
        assert_eq!(f.length("chrB"), Some(23));
        assert!(f.has("chrA") && !f.has("chrC"));
        for (lo, hi) in [(0, 50), (6, 8), (7, 14), (13, 14), (49, 50), (3, 45)] {
            assert_eq!(f.fetch_padded("chrA", lo, hi).unwrap(), a.as_bytes()[lo as usize..hi as usize].to_vec());
        }
        assert_eq!(f.fetch_padded("chrB", -2, 3).unwrap(), format!("NN{}", &b[..3]).into_bytes());
        assert_eq!(f.fetch_padded("chrB", 20, 26).unwrap(), format!("{}NNN", &b[20..]).into_bytes());
        assert_eq!(f.fetch_padded("chrB", 30, 32).unwrap(), b"NN".to_vec());
        assert_eq!(f.fetch_padded("chrB", 5, 5).unwrap(), Vec::<u8>::new());
        assert!(err(f.fetch_padded("chrC", 0, 1)).contains("no contig chrC"));
    }

    #[test]
    fn crlf_lines_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "c.fa", b">s\r\nACGT\r\nTT\r\n");
        write(dir.path(), "c.fa.fai", b"s\t6\t4\t4\t6\n");
        assert_eq!(Fasta::open(&p).unwrap().fetch_padded("s", 0, 6).unwrap(), b"ACGTTT".to_vec());
    }

    #[test]
    fn bgzip_with_gzi_reads_like_plain() {
        let fa = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/chrI.fa.gz");
        let f = Fasta::open(&fa).unwrap();
        let len = f.length("chrI").unwrap() as i64;
        let all = f.fetch_padded("chrI", 0, len).unwrap();
        assert_eq!(all.len() as i64, len);
        assert!(all.iter().all(|b| b"ACGTN".contains(b)));
        assert_eq!(f.fetch_padded("chrI", 100_000, 100_300).unwrap(), all[100_000..100_300].to_vec());
    }

    #[test]
    fn broken_indexes_are_one_line_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _, _) = genome(dir.path(), 7);
        let fai = beside(&p, ".fai");
        let good = std::fs::read_to_string(&fai).unwrap();
        let cases: Vec<(String, &str)> = vec![
            ("junk\n".into(), "line 1: expected 5 tab-separated columns"),
            ("\x00\x01\x02\x7f binary \u{1}\n".into(), "expected 5 tab-separated columns"),
            ("chrA\tfifty\t19\t7\t8\n".into(), "line 1: length \"fifty\" is not a whole number"),
            ("chrA\t50\t19\t7\t10\n".into(), "line width 10 does not fit 7 bases per line"),
            ("chrA\t50\t19\t0\t1\n".into(), "must be positive"),
            ("chrA\t18446744073709551615\t19\t7\t8\n".into(), "pass any file size"),
            (format!("{good}chrA\t2\t1\t7\t8\n"), "line 3: sequence chrA is listed twice (first on line 1)"),
            ("".into(), "empty index"),
            ("chrA\t50\t19\t7\t8\nchrB\t23\t40\t7\t8\n".into(), "sequences chrA and chrB overlap"),
            ("chrA\t5000\t19\t7\t8\n".into(), "shorter than its index"),
        ];
        for (text, want) in cases {
            std::fs::write(&fai, &text).unwrap();
            let e = match Fasta::open(&p) {
                Ok(_) => panic!("accepted {text:?}"),
                Err(e) => e.to_string(),
            };
            assert!(e.contains(want), "{text:?}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        std::fs::remove_file(&fai).unwrap();
        assert!(err(Fasta::open(&p)).contains("no index"));
        std::fs::create_dir(&fai).unwrap();
        assert!(err(Fasta::open(&p)).contains("is a directory, not a .fai index"));
    }

    #[test]
    fn truncated_fasta_is_refused_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _, _) = genome(dir.path(), 7);
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 10]).unwrap();
        let e = err(Fasta::open(&p));
        assert!(e.contains("g.fa: shorter than its index") && e.contains("sequence chrB ends at byte"), "{e}");
    }

    #[test]
    fn wrong_line_width_is_caught_not_fetched() {
        let dir = tempfile::tempdir().unwrap();
        // The file has 7 bases per line; indexes claiming 10 or 5 are wrong but fit its size.
        let (p, _, _) = genome(dir.path(), 7);
        let fai = beside(&p, ".fai");
        let good = std::fs::read_to_string(&fai).unwrap();
        for (bases, width) in [(10, 11), (5, 6)] {
            let text = good.replacen("\t7\t8\n", &format!("\t{bases}\t{width}\n"), 1);
            std::fs::write(&fai, text).unwrap();
            let f = Fasta::open(&p).unwrap();
            let e = err(f.fetch_padded("chrA", 0, 3));
            assert!(e.contains("sequence chrA: byte") && e.contains("the index does not match the file"), "{e}");
            assert_eq!(e.lines().count(), 1);
        }
        // A layout that passes the per-contig checks still fails where a fetch crosses a
        // line end the index misplaces.
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "m.fa", b">m\nACGTACGTAC\nACGT\nACGTA\n");
        write(dir.path(), "m.fa.fai", b"m\t20\t3\t10\t11\n");
        let f = Fasta::open(&p).unwrap();
        let e = err(f.fetch_padded("m", 8, 20));
        assert!(e.contains("m.fa: sequence m: byte 18: a line end inside a line"), "{e}");
    }

    #[test]
    fn gzip_without_bgzf_and_missing_gzi_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _, _) = genome(dir.path(), 7);
        let plain = std::fs::read(&p).unwrap();
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&plain).unwrap();
        let gz = write(dir.path(), "z.fa.gz", &e.finish().unwrap());
        std::fs::copy(beside(&p, ".fai"), beside(&gz, ".fai")).unwrap();
        assert!(err(Fasta::open(&gz)).contains("plain gzip, which cannot be read by position: bgzip it and run samtools faidx"));

        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/chrI.fa.gz");
        let bg = dir.path().join("b.fa.gz");
        std::fs::copy(&src, &bg).unwrap();
        std::fs::copy(beside(&src, ".fai"), beside(&bg, ".fai")).unwrap();
        assert!(err(Fasta::open(&bg)).contains("bgzip-compressed but there is no"));
        std::fs::write(beside(&bg, ".gzi"), b"\xff\xff\xff\xff\xff\xff\xff\x7fjunk").unwrap();
        assert!(err(Fasta::open(&bg)).contains("not a .gzi index"));
        std::fs::copy(beside(&src, ".gzi"), beside(&bg, ".gzi")).unwrap();
        let bytes = std::fs::read(&src).unwrap();
        std::fs::write(&bg, &bytes[..bytes.len() / 2]).unwrap();
        let e = err(Fasta::open(&bg));
        assert!(e.contains("does not fit a") || e.contains("shorter than its index"), "{e}");
    }
}
