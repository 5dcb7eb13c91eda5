//! Where scored records go: the output type (`-O v|z[0-9]|b[0-9]|u`), how records are
//! encoded (VCF text as bytes, BCF through htslib's encoder), and the byte layer (plain or
//! our own BGZF, see [`crate::bgzf`]) whose every write and final close are checked.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use rust_htslib::bcf;
use rust_htslib::htslib;

use super::scorer::Outcome;
use super::vcf_out::{KEY, SKIP_KEY};
use crate::bgzf;
use crate::error::{Error, Result};

/// The output type, as bcftools names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    /// `v`: plain VCF.
    Vcf,
    /// `z`, `z0`…`z9`: bgzipped VCF at a compression level.
    VcfGz(u32),
    /// `b`, `b0`…`b9`: BCF (BGZF-compressed) at a compression level.
    Bcf(u32),
    /// `u`: uncompressed BCF.
    BcfRaw,
}

impl OutFormat {
    /// `-O` values: `v`, `z`, `z0`…`z9`, `b`, `b0`…`b9`, `u`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || Error::Input(format!("-O {s}: unknown output type; use v, z, z0-z9, b, b0-b9 or u"));
        let mut chars = s.chars();
        let kind = chars.next().ok_or_else(bad)?;
        let rest: String = chars.collect();
        let level = match rest.as_str() {
            "" => None,
            d if d.len() == 1 && d.as_bytes()[0].is_ascii_digit() => Some(u32::from(d.as_bytes()[0] - b'0')),
            _ => return Err(bad()),
        };
        match (kind, level) {
            ('v', None) => Ok(OutFormat::Vcf),
            ('u', None) => Ok(OutFormat::BcfRaw),
            ('z', l) => Ok(OutFormat::VcfGz(l.unwrap_or(bgzf::DEFAULT_LEVEL))),
            ('b', l) => Ok(OutFormat::Bcf(l.unwrap_or(bgzf::DEFAULT_LEVEL))),
            _ => Err(bad()),
        }
    }

    /// The type bcftools infers from an output name: `.vcf`, `.vcf.gz`/`.vcf.bgz`, `.bcf`.
    pub fn from_suffix(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.ends_with(".vcf.gz") || name.ends_with(".vcf.bgz") {
            Some(OutFormat::VcfGz(bgzf::DEFAULT_LEVEL))
        } else if name.ends_with(".bcf") {
            Some(OutFormat::Bcf(bgzf::DEFAULT_LEVEL))
        } else if name.ends_with(".vcf") {
            Some(OutFormat::Vcf)
        } else {
            None
        }
    }

    /// Whether `self` and `other` are the same file type whatever the compression (BCF,
    /// compressed or not, is one type, as `bcftools -Ou -o x.bcf` writes it).
    pub fn same_kind(self, other: OutFormat) -> bool {
        self.is_bcf() && other.is_bcf() || std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }

    pub fn name(self) -> &'static str {
        match self {
            OutFormat::Vcf => "VCF (-O v)",
            OutFormat::VcfGz(_) => "bgzipped VCF (-O z)",
            OutFormat::Bcf(_) => "BCF (-O b)",
            OutFormat::BcfRaw => "uncompressed BCF (-O u)",
        }
    }

    pub fn is_bcf(self) -> bool {
        matches!(self, OutFormat::Bcf(_) | OutFormat::BcfRaw)
    }

    pub fn bgzf_level(self) -> Option<u32> {
        match self {
            OutFormat::VcfGz(l) | OutFormat::Bcf(l) => Some(l),
            _ => None,
        }
    }
}

/// The byte layer over the output file.
pub enum Bytes {
    Plain(std::io::BufWriter<File>),
    Bgzf(bgzf::Writer<File>),
}

impl Bytes {
    /// A writer over `file` positioned where writing continues; `pending` is the start of
    /// the current BGZF block recovered by `--resume`.
    pub fn new(format: OutFormat, file: File, pending: Vec<u8>) -> Self {
        match format.bgzf_level() {
            Some(level) => Bytes::Bgzf(bgzf::Writer::with_pending(file, level, pending)),
            None => Bytes::Plain(std::io::BufWriter::new(file)),
        }
    }

    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Bytes::Plain(w) => w.write_all(b),
            Bytes::Bgzf(w) => w.write_all(b),
        }
    }

    /// Puts everything written so far into the file (ends the BGZF block): for the header,
    /// so that a run killed before its first record leaves a complete header.
    fn sync_point(&mut self) -> std::io::Result<()> {
        match self {
            Bytes::Plain(w) => w.flush(),
            Bytes::Bgzf(w) => w.end_block(),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Bytes::Plain(w) => w.flush(),
            Bytes::Bgzf(w) => w.flush(),
        }
    }

    /// Writes what is buffered (and the BGZF EOF block) and returns the file.
    fn finish(self) -> std::io::Result<File> {
        match self {
            Bytes::Plain(w) => w.into_inner().map_err(|e| e.into_error()),
            Bytes::Bgzf(w) => w.finish(),
        }
    }
}

enum Encoder {
    Vcf,
    Bcf(BcfEncoder),
}

/// Records between forced block ends: a killed run then leaves records in the file for
/// `--resume` however small they are, and the boundaries depend only on the record count.
pub const RECORDS_PER_SYNC: u64 = 16;

/// Annotated records to an output file.
pub struct Sink {
    bytes: Bytes,
    enc: Encoder,
    /// Names the destination in errors.
    shown: String,
    /// Records in the output so far (a resumed partial's included).
    written: u64,
}

/// The header as the output type encodes it: VCF text, or BCF's binary header.
pub fn header_bytes(format: OutFormat, header: &bcf::Header) -> Result<Vec<u8>> {
    if format.is_bcf() {
        Ok(BcfEncoder::new(header)?.1)
    } else {
        vcf_header_text(header)
    }
}

/// The header text htslib would write for `header` (a plain-VCF writer into a scratch file).
fn vcf_header_text(header: &bcf::Header) -> Result<Vec<u8>> {
    let scratch = tempfile::NamedTempFile::new().map_err(|e| Error::io("temporary file", e))?;
    {
        let _w = bcf::Writer::from_path(scratch.path(), header, true, bcf::Format::Vcf)
            .map_err(|e| Error::Other(format!("cannot format the VCF header ({e})")))?;
    }
    std::fs::read(scratch.path()).map_err(|e| Error::io(scratch.path(), e))
}

impl Sink {
    /// A sink writing `format` over `bytes`: continuing a partial that holds
    /// `kept_records`, or, when `None`, a fresh output whose header (`header_bytes`) is
    /// written first and put into the file before any record.
    pub fn new(format: OutFormat, header: &bcf::Header, mut bytes: Bytes, header_bytes: &[u8], kept_records: Option<u64>, shown: String) -> Result<Self> {
        let fresh = kept_records.is_none();
        let enc = if format.is_bcf() { Encoder::Bcf(BcfEncoder::new(header)?.0) } else { Encoder::Vcf };
        if fresh {
            bytes.write_all(header_bytes).map_err(|e| write_err(&shown, e))?;
            bytes.sync_point().map_err(|e| write_err(&shown, e))?;
        }
        Ok(Sink { bytes, enc, shown, written: kept_records.unwrap_or(0) })
    }

    pub fn write(&mut self, rec: &mut bcf::Record, outcome: &Outcome, source: &str, record_no: u64, chrom: &str) -> Result<()> {
        let entries = (!outcome.entries.is_empty()).then(|| outcome.entries.join(","));
        let skips = (!outcome.skips.is_empty()).then(|| {
            outcome.skips.iter().map(|(a, r)| format!("{a}|{}", r.as_str())).collect::<Vec<_>>().join(",")
        });
        let shown = &self.shown;
        let bytes = match &mut self.enc {
            Encoder::Bcf(enc) => {
                if enc.hdr.name2rid(chrom.as_bytes()).is_err() {
                    return Err(Error::Input(format!(
                        "{source}: record {record_no}: contig {chrom} is not declared in the VCF header; BCF output needs ##contig lines (use -O v or -O z, or bcftools reheader)"
                    )));
                }
                unsafe { htslib::bcf_translate(enc.hdr.as_ptr(), rec.header().as_ptr(), rec.inner) };
                // Earlier scores of ours are replaced, never doubled. The record now
                // speaks the output header's dictionary, so INFO is set against that.
                for (key, value) in [(KEY, entries.as_deref()), (SKIP_KEY, skips.as_deref())] {
                    enc.set_info(rec, key, None).map_err(|e| record_err(source, record_no, e))?;
                    if value.is_some() {
                        enc.set_info(rec, key, value).map_err(|e| record_err(source, record_no, e))?;
                    }
                }
                enc.encode(rec).map_err(|e| Error::Other(format!("{source}: record {record_no}: cannot encode as BCF ({e})")))?
            }
            Encoder::Vcf => {
                let line = vcf_line(rec).ok_or_else(|| Error::Other(format!("{source}: record {record_no}: htslib cannot format it as VCF")))?;
                annotate_line(&line, entries.as_deref(), skips.as_deref())
            }
        };
        self.bytes.write_all(&bytes).map_err(|e| write_err(shown, e))?;
        self.written += 1;
        if self.written % RECORDS_PER_SYNC == 0 {
            self.bytes.sync_point().map_err(|e| write_err(shown, e))?;
        }
        Ok(())
    }

    /// Pushes buffered bytes towards the file (not a block boundary).
    pub fn flush(&mut self) -> Result<()> {
        self.bytes.flush().map_err(|e| write_err(&self.shown, e))
    }

    /// Ends the stream, closes the encoder and checks both; returns the file, flushed.
    pub fn finish(self) -> Result<File> {
        let Sink { mut bytes, enc, shown, .. } = self;
        if let Encoder::Bcf(enc) = enc {
            let tail = enc.close().map_err(|e| Error::Other(format!("{shown}: cannot close the BCF encoder ({e})")))?;
            bytes.write_all(&tail).map_err(|e| write_err(&shown, e))?;
        }
        bytes.finish().map_err(|e| write_err(&shown, e))
    }
}

fn record_err(source: &str, record_no: u64, e: impl std::fmt::Display) -> Error {
    Error::Other(format!("{source}: record {record_no}: cannot set INFO ({e})"))
}

/// A write failure on the output, naming it.
pub fn write_err(shown: &str, e: std::io::Error) -> Error {
    Error::io(shown, e)
}

/// The record as htslib formats VCF text, as bytes (ID, FILTER, INFO and sample columns
/// may hold any non-tab bytes, Latin-1 among them).
fn vcf_line(rec: &bcf::Record) -> Option<Vec<u8>> {
    let mut buf = htslib::kstring_t { l: 0, m: 0, s: std::ptr::null_mut() };
    let ret = unsafe { htslib::vcf_format(rec.header().as_ptr(), rec.inner, &mut buf) };
    let bytes = (ret >= 0 && !buf.s.is_null()).then(|| unsafe { std::slice::from_raw_parts(buf.s as *const u8, buf.l).to_vec() });
    if !buf.s.is_null() {
        unsafe { libc::free(buf.s as *mut libc::c_void) };
    }
    bytes
}

/// `line` with our INFO keys replaced by `entries`/`skips` (earlier scores of ours are
/// replaced, never doubled); every other byte is kept.
pub fn annotate_line(line: &[u8], entries: Option<&str>, skips: Option<&str>) -> Vec<u8> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let mut fields: Vec<&[u8]> = line.splitn(9, |b| *b == b'\t').collect();
    let mut info: Vec<Vec<u8>> = fields
        .get(7)
        .copied()
        .unwrap_or(b".")
        .split(|b| *b == b';')
        .filter(|kv| *kv != b"." && !kv.is_empty())
        .filter(|kv| {
            let key = kv.split(|b| *b == b'=').next().unwrap_or(b"");
            key != KEY.as_bytes() && key != SKIP_KEY.as_bytes()
        })
        .map(<[u8]>::to_vec)
        .collect();
    if let Some(e) = entries {
        info.push(format!("{KEY}={e}").into_bytes());
    }
    if let Some(s) = skips {
        info.push(format!("{SKIP_KEY}={s}").into_bytes());
    }
    let info = if info.is_empty() { b".".to_vec() } else { info.join(&b';') };
    if fields.len() >= 8 {
        fields[7] = &info;
    }
    let mut out = fields.join(&b'\t');
    out.push(b'\n');
    out
}

/// htslib's BCF encoder writing uncompressed BCF into a scratch file that is drained
/// after every record; the bytes then go through our checked byte layer.
struct BcfEncoder {
    fp: *mut htslib::htsFile,
    hdr: bcf::header::HeaderView,
    scratch: File,
}

impl BcfEncoder {
    /// The encoder and the header bytes it wrote.
    fn new(header: &bcf::Header) -> Result<(Self, Vec<u8>)> {
        use std::os::fd::AsRawFd;
        let fail = |what: &str| Error::Other(format!("cannot start the BCF encoder ({what})"));
        let scratch = tempfile::tempfile().map_err(|e| Error::io("temporary file", e))?;
        let fd = scratch.as_raw_fd();
        // O_APPEND: after the scratch file is truncated, htslib's next write lands at 0.
        if unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_APPEND) } < 0 {
            return Err(fail("fcntl"));
        }
        let dup = unsafe { libc::dup(fd) };
        if dup < 0 {
            return Err(fail("dup"));
        }
        let hf = unsafe { htslib::hdopen(dup, c"w".as_ptr()) };
        if hf.is_null() {
            unsafe { libc::close(dup) };
            return Err(fail("hdopen"));
        }
        let fp = unsafe { htslib::hts_hopen(hf, c"scratch.bcf".as_ptr(), c"wbu".as_ptr()) };
        if fp.is_null() {
            unsafe { htslib::hclose_abruptly(hf) };
            return Err(fail("hts_hopen"));
        }
        let hdr = unsafe { bcf::header::HeaderView::from_ptr(htslib::bcf_hdr_dup(header.inner_ptr())) };
        let mut enc = BcfEncoder { fp, hdr, scratch };
        if unsafe { htslib::bcf_hdr_write(enc.fp, enc.hdr.as_ptr()) } < 0 || !enc.flush_raw() {
            return Err(fail("header"));
        }
        let head = enc.drain().map_err(|e| Error::io("temporary file", e))?;
        Ok((enc, head))
    }

    fn encode(&mut self, rec: &bcf::Record) -> std::io::Result<Vec<u8>> {
        if unsafe { htslib::bcf_write(self.fp, self.hdr.as_ptr(), rec.inner) } < 0 {
            return Err(std::io::Error::other("bcf_write failed"));
        }
        if !self.flush_raw() {
            return Err(std::io::Error::other("flushing the encoder failed"));
        }
        self.drain()
    }

    /// Flushes htslib's file buffer into the scratch file. (`hts_flush` would call
    /// `bgzf_flush`, which on an uncompressed BGZF handle deflates from a null buffer.)
    fn flush_raw(&self) -> bool {
        unsafe {
            let bgzf = (*self.fp).fp.bgzf;
            !bgzf.is_null() && htslib::hflush((*bgzf).fp) == 0
        }
    }

    /// Sets (or with `None` removes) the string INFO field `key` of a translated record.
    fn set_info(&self, rec: &mut bcf::Record, key: &str, value: Option<&str>) -> std::result::Result<(), String> {
        let key_c = std::ffi::CString::new(key).map_err(|e| e.to_string())?;
        let value_c = std::ffi::CString::new(value.unwrap_or("")).map_err(|_| format!("{key} value holds a NUL byte"))?;
        let n = value.map_or(0, |v| v.len() as i32);
        let ret = unsafe {
            htslib::bcf_update_info(self.hdr.as_ptr(), rec.inner, key_c.as_ptr(), value_c.as_ptr() as *const libc::c_void, n, htslib::BCF_HT_STR as i32)
        };
        if ret < 0 {
            return Err(format!("htslib cannot set INFO/{key}"));
        }
        Ok(())
    }

    fn drain(&mut self) -> std::io::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let len = self.scratch.metadata()?.len() as usize;
        let mut buf = vec![0u8; len];
        self.scratch.read_exact_at(&mut buf, 0)?;
        self.scratch.set_len(0)?;
        Ok(buf)
    }

    /// Closes htslib's side (checked) and returns anything it wrote on closing.
    fn close(mut self) -> std::io::Result<Vec<u8>> {
        let fp = std::mem::replace(&mut self.fp, std::ptr::null_mut());
        if unsafe { htslib::hts_close(fp) } != 0 {
            return Err(std::io::Error::other("hts_close failed"));
        }
        self.drain()
    }
}

impl Drop for BcfEncoder {
    fn drop(&mut self) {
        if !self.fp.is_null() {
            unsafe { htslib::hts_close(self.fp) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_types_parse_as_bcftools_names_them() {
        assert_eq!(OutFormat::parse("v").unwrap(), OutFormat::Vcf);
        assert_eq!(OutFormat::parse("z").unwrap(), OutFormat::VcfGz(6));
        assert_eq!(OutFormat::parse("z0").unwrap(), OutFormat::VcfGz(0));
        assert_eq!(OutFormat::parse("b9").unwrap(), OutFormat::Bcf(9));
        assert_eq!(OutFormat::parse("u").unwrap(), OutFormat::BcfRaw);
        for bad in ["", "x", "z10", "v1", "u3", "zz"] {
            assert!(OutFormat::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(OutFormat::from_suffix(Path::new("a/x.vcf.gz")), Some(OutFormat::VcfGz(6)));
        assert_eq!(OutFormat::from_suffix(Path::new("x.VCF.BGZ")), Some(OutFormat::VcfGz(6)));
        assert_eq!(OutFormat::from_suffix(Path::new("x.bcf")), Some(OutFormat::Bcf(6)));
        assert_eq!(OutFormat::from_suffix(Path::new("x.vcf")), Some(OutFormat::Vcf));
        assert_eq!(OutFormat::from_suffix(Path::new("x.txt")), None);
    }

    #[test]
    fn annotation_keeps_non_utf8_bytes() {
        let line = b"chrI\t5\tid\xe9\tA\tC\t.\tF\xfcl\tX=caf\xe9;SHORKIE=old\tGT\t0/1\n";
        let out = annotate_line(line, Some("C|.|1"), None);
        assert_eq!(out, b"chrI\t5\tid\xe9\tA\tC\t.\tF\xfcl\tX=caf\xe9;SHORKIE=C|.|1\tGT\t0/1\n".to_vec());
    }
}
