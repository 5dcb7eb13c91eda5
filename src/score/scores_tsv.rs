//! `--scores-out FILE.tsv[.gz]`: the full matrix in long format, one line per
//! (ALT, gene, track, statistic), for spreadsheets and Galaxy. Tracks that do not count for
//! a row (gene mode, other strand) have no line. `.gz` output is BGZF (gzip-compatible).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::scorer::MatrixRow;
use super::side::{checkpoint, done_path, read_checkpoints, reset_checkpoints, MatrixSpec, RecordMeta, SideOutput};
use crate::error::{Error, Result};

pub const HEADER: &str = "chrom\tpos\tid\tref\talt\tgene\ttrack\tstatistic\tvalue\n";

/// Text written between checkpoints.
const CHECKPOINT_BYTES: u64 = 1 << 20;

pub struct TsvScores {
    path: PathBuf,
    partial: PathBuf,
    done: PathBuf,
    out: Box<dyn Write>,
    stats: Vec<String>,
    target_ids: Vec<String>,
    /// Uncompressed bytes written.
    bytes: u64,
    records: u64,
    last_checkpoint: u64,
    checkpoints: Vec<(u64, u64)>,
    /// A slow run still checkpoints every second.
    checkpointed_at: std::time::Instant,
    line: String,
}

fn open_writer(path: &Path, gz: bool, append: bool) -> Result<Box<dyn Write>> {
    if gz {
        let w = rust_htslib::bgzf::Writer::from_path(path)
            .map_err(|e| Error::Input(format!("{}: cannot write ({e})", path.display())))?;
        return Ok(Box::new(w));
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    Ok(Box::new(std::io::BufWriter::new(f)))
}

impl TsvScores {
    pub fn open(path: &Path, spec: &MatrixSpec, gz: bool, resume: bool) -> Result<Self> {
        let partial = super::resume::partial_path(path);
        let done = done_path(&partial);
        let checkpoints = if resume && partial.exists() { read_checkpoints(&done)? } else { Vec::new() };
        let (out, bytes, records): (Box<dyn Write>, u64, u64) = match checkpoints.last() {
            Some(&(records, bytes)) if gz => {
                // BGZF cannot be cut in place: the checkpointed text is copied into a new file.
                let old = partial.with_extension("old");
                std::fs::rename(&partial, &old).map_err(|e| Error::io(&partial, e))?;
                let mut reader = rust_htslib::bgzf::Reader::from_path(&old)
                    .map_err(|e| Error::Input(format!("{}: cannot read the staged scores ({e})", partial.display())))?;
                let mut out = open_writer(&partial, true, false)?;
                let mut left = bytes;
                let mut buf = vec![0u8; 1 << 16];
                while left > 0 {
                    let want = buf.len().min(left as usize);
                    let got = reader.read(&mut buf[..want]).map_err(|e| Error::io(&old, e))?;
                    if got == 0 {
                        return Err(Error::Input(format!("{}: the staged scores end before their checkpoint; remove the .partial files to start over", partial.display())));
                    }
                    out.write_all(&buf[..got]).map_err(|e| Error::io(&partial, e))?;
                    left -= got as u64;
                }
                let _ = std::fs::remove_file(&old);
                (out, bytes, records)
            }
            Some(&(records, bytes)) => {
                let f = std::fs::OpenOptions::new().write(true).open(&partial).map_err(|e| Error::io(&partial, e))?;
                f.set_len(bytes).map_err(|e| Error::io(&partial, e))?;
                (open_writer(&partial, false, true)?, bytes, records)
            }
            None => {
                let _ = std::fs::remove_file(&done);
                let mut out = open_writer(&partial, gz, false)?;
                out.write_all(HEADER.as_bytes()).map_err(|e| Error::io(&partial, e))?;
                (out, HEADER.len() as u64, 0)
            }
        };
        let mut me = TsvScores {
            path: path.to_path_buf(),
            partial,
            done,
            out,
            stats: spec.stats.clone(),
            target_ids: spec.target_ids.iter().map(|t| t.replace(['\t', '\n'], " ")).collect(),
            bytes,
            records,
            last_checkpoint: bytes,
            checkpoints,
            checkpointed_at: std::time::Instant::now(),
            line: String::new(),
        };
        if me.checkpoints.is_empty() {
            me.out.flush().map_err(|e| Error::io(&me.partial, e))?;
            checkpoint(&me.done, 0, me.bytes)?;
            me.checkpoints.push((0, me.bytes));
        }
        Ok(me)
    }
}

impl SideOutput for TsvScores {
    fn held(&self, limit: u64) -> u64 {
        self.checkpoints.iter().map(|c| c.0).filter(|r| *r <= limit).max().unwrap_or(0)
    }

    fn trim(&mut self, records: u64) -> Result<()> {
        if records == self.records {
            return Ok(());
        }
        let Some(&(_, bytes)) = self.checkpoints.iter().find(|c| c.0 == records) else {
            return Err(Error::Other(format!("{}: no checkpoint at record {records}", self.partial.display())));
        };
        // Only a plain file can be cut where it stands; BGZF is copied anew.
        self.out.flush().map_err(|e| Error::io(&self.partial, e))?;
        let gz = !self.path.extension().is_some_and(|e| e == "tsv");
        reset_checkpoints(&self.done, records, bytes)?;
        let spec = MatrixSpec { stats: self.stats.clone(), target_ids: self.target_ids.clone(), target_labels: Vec::new(), gene_mode: false };
        // Reopening from the single checkpoint now in the log cuts the file there.
        let out = std::mem::replace(&mut self.out, Box::new(std::io::sink()));
        drop(out);
        *self = TsvScores::open(&self.path.clone(), &spec, gz, true)?;
        Ok(())
    }

    fn record(&mut self, meta: &RecordMeta, rows: &[MatrixRow]) -> Result<()> {
        let nt = self.target_ids.len();
        for r in rows {
            let gene = r.gene.as_deref().unwrap_or(".");
            for (s, stat) in self.stats.iter().enumerate() {
                for (k, track) in self.target_ids.iter().enumerate() {
                    let Some(v) = r.values.get(s * nt + k) else { continue };
                    if v.is_nan() {
                        continue;
                    }
                    self.line.clear();
                    use std::fmt::Write as _;
                    let _ = writeln!(self.line, "{}\t{}\t{}\t{}\t{}\t{gene}\t{track}\t{stat}\t{v}", meta.chrom, meta.pos, meta.id, meta.reference, r.alt);
                    self.out.write_all(self.line.as_bytes()).map_err(|e| Error::io(&self.partial, e))?;
                    self.bytes += self.line.len() as u64;
                }
            }
        }
        self.records += 1;
        if self.bytes - self.last_checkpoint >= CHECKPOINT_BYTES || (self.bytes > self.last_checkpoint && self.checkpointed_at.elapsed().as_secs() >= 1) {
            self.out.flush().map_err(|e| Error::io(&self.partial, e))?;
            checkpoint(&self.done, self.records, self.bytes)?;
            self.checkpoints.push((self.records, self.bytes));
            self.last_checkpoint = self.bytes;
            self.checkpointed_at = std::time::Instant::now();
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.partial, e))?;
        let TsvScores { out, partial, path, done, .. } = *self;
        // Dropping the BGZF writer writes its end-of-file block.
        drop(out);
        std::fs::rename(&partial, &path).map_err(|e| Error::io(&path, e))?;
        let _ = std::fs::remove_file(done);
        Ok(())
    }

    fn path(&self) -> &Path {
        &self.path
    }
}
