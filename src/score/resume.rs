//! shorkie-score's output file and `--resume`.
//!
//! A run with `-o FILE` (a regular file) writes `FILE.partial` under an exclusive lock
//! (`flock`), so a second run on the same `-o` fails at once instead of interleaving
//! records into the same partial; the name is stable so that a killed run can be found
//! and continued. The header, which records the input's identity and the command line
//! (without `--resume`), is put into the file before the first record. `--resume` accepts
//! a partial only if its header is byte for byte the header this run would write (same
//! input, same options, same version), keeps its complete records (lines for VCF, BCF
//! records, and for BGZF output the complete blocks, continuing inside the last one) and
//! continues from there, so the result equals an uninterrupted run's output.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::sink::OutFormat;
use crate::bgzf;
use crate::error::{Error, Result};
use crate::staged::Target;

/// The partial output a killed `-o FILE` run leaves behind.
pub fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    out.with_file_name(name)
}

/// A header line naming the input: its size and a hash of its first MiB (a path alone
/// would not notice a file replaced under the same name).
pub fn input_identity(input: &str) -> Result<String> {
    if input == "-" {
        return Ok("##shorkie_scoreInput=<stdin>".into());
    }
    let mut f = File::open(input).map_err(|e| Error::io(input, e))?;
    let size = f.metadata().map_err(|e| Error::io(input, e))?.len();
    let mut head = Vec::new();
    (&mut f).take(1 << 20).read_to_end(&mut head).map_err(|e| Error::io(input, e))?;
    // FNV-1a: stable across builds, unlike std's hasher.
    let hash = head.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100000001b3));
    Ok(format!("##shorkie_scoreInput=<Size={size},FirstMiBFNV1a={hash:016x}>"))
}

/// The command line as the header records it: without `--resume`, which does not change
/// the output.
pub fn command_line(args: &[String]) -> String {
    args.iter().filter(|a| a.as_str() != "--resume").cloned().collect::<Vec<_>>().join(" ")
}

/// The opened destination of a run.
pub struct Output {
    pub target: Target,
    /// Where writing continues.
    pub file: File,
    /// The locked `FILE.partial` of a regular destination.
    pub partial: Option<PathBuf>,
    /// Records already in a resumed partial.
    pub records: u64,
    /// The start of the current BGZF block, recovered from a resumed partial.
    pub pending: Vec<u8>,
    /// Whether the header still has to be written.
    pub fresh: bool,
}

impl Output {
    pub fn open(target: Target, format: OutFormat, header: &[u8], resume: bool) -> Result<Output> {
        let direct = |file: File, target: Target| Output { target, file, partial: None, records: 0, pending: Vec::new(), fresh: true };
        match target {
            Target::Stdout | Target::Direct(_) if resume => {
                Err(Error::Input(format!("--resume needs -o FILE (a regular file), not {}", target.shown())))
            }
            Target::Stdout => Ok(direct(crate::staged::stdout_file()?, target)),
            Target::Direct(p) => {
                let f = std::fs::OpenOptions::new().write(true).open(&p).map_err(|e| Error::io(&p, e))?;
                Ok(direct(f, Target::Direct(p)))
            }
            Target::Regular(dest) => {
                let partial = partial_path(&dest);
                let mut file = lock(&partial, &dest)?;
                let shown = partial.display().to_string();
                let len = file.metadata().map_err(|e| Error::io(&partial, e))?.len();
                let mut out = Output { target: Target::Regular(dest), file: file.try_clone().map_err(|e| Error::io(&partial, e))?, partial: Some(partial.clone()), records: 0, pending: Vec::new(), fresh: true };
                if resume && len > 0 {
                    let kept = recover(&mut file, format, header, &shown)?;
                    file.set_len(kept.file_len).map_err(|e| Error::io(&partial, e))?;
                    out.records = kept.records;
                    out.pending = kept.pending;
                    out.fresh = false;
                } else {
                    // Nothing to keep (a fresh run, or a killed run that wrote nothing).
                    file.set_len(0).map_err(|e| Error::io(&partial, e))?;
                }
                out.file.seek(SeekFrom::End(0)).map_err(|e| Error::io(&partial, e))?;
                Ok(out)
            }
        }
    }

    /// Removes the partial of a failed run.
    pub fn discard(&self) {
        if let Some(p) = &self.partial {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Opens `partial` (never through a link) and takes its exclusive lock.
fn lock(partial: &Path, dest: &Path) -> Result<File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    for _ in 0..10 {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o666)
            .custom_flags(libc::O_NOFOLLOW)
            .open(partial)
            .map_err(|e| Error::io(partial, e))?;
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::WouldBlock {
                return Err(Error::Input(format!(
                    "{}: another run is writing this output (its {} is locked); wait for it to finish or choose another -o",
                    dest.display(),
                    partial.display()
                )));
            }
            return Err(Error::io(partial, e));
        }
        // A run that held the lock may have renamed or removed the file meanwhile: the
        // lock counts only if the name still leads to the locked file.
        let held = f.metadata().map_err(|e| Error::io(partial, e))?;
        match std::fs::symlink_metadata(partial) {
            Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => return Ok(f),
            _ => continue,
        }
    }
    Err(Error::Input(format!("{}: cannot lock {} (it keeps being replaced)", dest.display(), partial.display())))
}

#[derive(Debug)]
struct Kept {
    records: u64,
    file_len: u64,
    pending: Vec<u8>,
}

/// Tracks the complete records of an output stream fed in pieces.
struct Framer<'a> {
    header: &'a [u8],
    bcf: bool,
    /// Stream bytes fed so far.
    pos: u64,
    /// End of the last complete record (or of the header).
    end: u64,
    records: u64,
    /// BCF: the record-length bytes collected so far, and bytes left to skip.
    lens: Vec<u8>,
    skip: u64,
}

impl Framer<'_> {
    fn feed(&mut self, mut data: &[u8], shown: &str) -> Result<()> {
        let hlen = self.header.len() as u64;
        if self.pos < hlen {
            let n = ((hlen - self.pos) as usize).min(data.len());
            let want = &self.header[self.pos as usize..self.pos as usize + n];
            if let Some(i) = want.iter().zip(&data[..n]).position(|(a, b)| a != b) {
                return Err(mismatch(shown, self.header, self.pos as usize + i));
            }
            self.pos += n as u64;
            self.end = self.pos;
            data = &data[n..];
        }
        for (i, b) in data.iter().enumerate() {
            let at = self.pos + i as u64 + 1;
            if !self.bcf {
                if *b == b'\n' {
                    self.records += 1;
                    self.end = at;
                }
                continue;
            }
            if self.skip > 0 {
                self.skip -= 1;
            } else {
                self.lens.push(*b);
                if self.lens.len() == 8 {
                    let l = &self.lens;
                    let shared = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as u64;
                    let indiv = u32::from_le_bytes([l[4], l[5], l[6], l[7]]) as u64;
                    self.skip = shared + indiv;
                    self.lens.clear();
                }
                if !self.lens.is_empty() || self.skip > 0 {
                    continue;
                }
            }
            if self.skip == 0 && self.lens.is_empty() {
                self.records += 1;
                self.end = at;
            }
        }
        self.pos += data.len() as u64;
        Ok(())
    }

    fn header_complete(&self) -> bool {
        self.pos >= self.header.len() as u64
    }
}

/// The header line of ours that a partial disagrees with.
fn mismatch(shown: &str, header: &[u8], at: usize) -> Error {
    let start = header[..at].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let end = header[at..].iter().position(|b| *b == b'\n').map_or(header.len(), |i| at + i);
    let line = String::from_utf8_lossy(&header[start..end]);
    let line: String = line.chars().filter(|c| !c.is_control()).take(200).collect();
    Error::Input(format!(
        "{shown}: was written from another input or with other options (its header differs from this run's at \"{line}\"); remove it, or run without --resume to start over"
    ))
}

fn recover(file: &mut File, format: OutFormat, header: &[u8], shown: &str) -> Result<Kept> {
    let ioerr = |e: std::io::Error| Error::io(shown, e);
    file.seek(SeekFrom::Start(0)).map_err(ioerr)?;
    let mut framer = Framer { header, bcf: format.is_bcf(), pos: 0, end: 0, records: 0, lens: Vec::new(), skip: 0 };
    let no_header = || {
        Error::Input(format!(
            "{shown}: has no complete header (the earlier run stopped before its first record, or this is not our output); remove it, or run without --resume to start over"
        ))
    };
    let kept = if format.bgzf_level().is_none() {
        let mut r = BufReader::with_capacity(1 << 20, &mut *file);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = r.read(&mut buf).map_err(ioerr)?;
            if n == 0 {
                break;
            }
            framer.feed(&buf[..n], shown)?;
        }
        if !framer.header_complete() {
            return Err(no_header());
        }
        Kept { records: framer.records, file_len: framer.end, pending: Vec::new() }
    } else {
        // (file offset, stream offset) of each complete block.
        let mut blocks: Vec<(u64, u64)> = Vec::new();
        let mut r = BufReader::with_capacity(1 << 20, &mut *file);
        let mut file_off = 0u64;
        while let Some((size, data)) = bgzf::read_block(&mut r).map_err(ioerr)? {
            if data.is_empty() {
                break;
            }
            blocks.push((file_off, framer.pos));
            framer.feed(&data, shown)?;
            file_off += size as u64;
        }
        if !framer.header_complete() {
            return Err(no_header());
        }
        let end = framer.end;
        // The last block starting before the kept stream's end: when the stream ends
        // inside it, continue inside it (its kept start becomes the pending block).
        let k = blocks.iter().rposition(|(_, start)| *start < end).unwrap_or(0);
        let (off, start) = blocks[k];
        let block_end = blocks.get(k + 1).map_or(framer.pos, |(_, s)| *s);
        if block_end == end {
            let file_len = blocks.get(k + 1).map_or(file_off, |(o, _)| *o);
            Kept { records: framer.records, file_len, pending: Vec::new() }
        } else {
            drop(r);
            file.seek(SeekFrom::Start(off)).map_err(ioerr)?;
            let (_, data) = bgzf::read_block(&mut *file)
                .map_err(ioerr)?
                .ok_or_else(|| Error::Other(format!("{shown}: cannot re-read a block")))?;
            Kept { records: framer.records, file_len: off, pending: data[..(end - start) as usize].to_vec() }
        }
    };
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn recovered(format: OutFormat, bytes: &[u8], header: &[u8]) -> Result<Kept> {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        recover(&mut f, format, header, "x.partial")
    }

    #[test]
    fn plain_partials_keep_complete_lines_after_a_matching_header() {
        let h = b"##fileformat=VCFv4.2\n#CHROM\n";
        let k = recovered(OutFormat::Vcf, b"##fileformat=VCFv4.2\n#CHROM\nr1\nr2\nr", h).unwrap();
        assert_eq!((k.records, k.file_len), (2, h.len() as u64 + 6));
        assert!(recovered(OutFormat::Vcf, b"##fileformat=VCFv4.2\n#CHR", h).unwrap_err().to_string().contains("no complete header"));
        let e = recovered(OutFormat::Vcf, b"##fileformat=VCFv4.3\n#CHROM\nr1\n", h).unwrap_err().to_string();
        assert!(e.contains("another input or with other options") && e.contains("##fileformat=VCFv4.2"), "{e}");
    }

    #[test]
    fn bgzf_partials_continue_inside_the_last_complete_block() {
        let h = b"#H\n".to_vec();
        let mut body = Vec::new();
        for i in 0..30_000 {
            body.extend(format!("record {i}\n").bytes());
        }
        let mut w = bgzf::Writer::new(Vec::new(), 6);
        w.write_all(&h).unwrap();
        w.end_block().unwrap();
        w.write_all(&body).unwrap();
        let full = w.finish().unwrap();
        for cut in [full.len() - 28, full.len() - 100, full.len() / 2, 40] {
            let k = recovered(OutFormat::VcfGz(6), &full[..cut], &h).unwrap();
            // Continuing from what was kept gives the same bytes.
            let mut kept = full[..k.file_len as usize].to_vec();
            let done = h.len() as u64 + body.split(|b| *b == b'\n').take(k.records as usize).map(|l| l.len() as u64 + 1).sum::<u64>();
            let mut w = bgzf::Writer::with_pending(Vec::new(), 6, k.pending.clone());
            w.write_all(&body[(done - h.len() as u64) as usize..]).unwrap();
            kept.extend(w.finish().unwrap());
            assert_eq!(kept, full, "cut at {cut}");
        }
    }

    #[test]
    fn bcf_framing_counts_whole_records() {
        let h = b"BCF\x02\x02hdr".to_vec();
        let rec = |n: u8| {
            let mut r = 3u32.to_le_bytes().to_vec();
            r.extend(1u32.to_le_bytes());
            r.extend([n; 4]);
            r
        };
        let mut bytes = h.clone();
        bytes.extend(rec(1));
        bytes.extend(rec(2));
        bytes.extend(&rec(3)[..5]);
        let k = recovered(OutFormat::BcfRaw, &bytes, &h).unwrap();
        assert_eq!((k.records, k.file_len), (2, h.len() as u64 + 24));
    }
}
