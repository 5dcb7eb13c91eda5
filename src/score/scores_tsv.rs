//! `--scores-out FILE.tsv[.gz]`: the full matrix in long format, one line per
//! (ALT, gene, track, statistic), for spreadsheets and Galaxy. Tracks that do not count for
//! a row (gene mode, other strand) have no line. `.gz` output is BGZF (gzip-compatible).

use std::io::Write;
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
    out: Out,
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

/// The staged file: plain text, or BGZF whose blocks end at every checkpoint so that a
/// checkpoint is always a block boundary in the file.
enum Out {
    Plain(std::io::BufWriter<std::fs::File>),
    Gz(crate::bgzf::Writer<std::io::BufWriter<std::fs::File>>),
    Closed,
}

impl Out {
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Out::Plain(w) => w.write_all(data),
            Out::Gz(w) => w.write_all(data),
            Out::Closed => Err(std::io::Error::other("write after close")),
        }
    }

    /// Puts everything written so far into the file (a kill after this loses none of it).
    fn sync_point(&mut self) -> std::io::Result<()> {
        match self {
            Out::Plain(w) => w.flush(),
            Out::Gz(w) => w.end_block(),
            Out::Closed => Ok(()),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        let file = match self {
            Out::Plain(w) => w.into_inner().map_err(|e| e.into_error())?,
            Out::Gz(w) => w.finish()?.into_inner().map_err(|e| e.into_error())?,
            Out::Closed => return Ok(()),
        };
        file.sync_all()
    }
}

fn open_writer(path: &Path, gz: bool, append: bool) -> Result<Out> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let w = std::io::BufWriter::new(f);
    Ok(if gz { Out::Gz(crate::bgzf::Writer::new(w, crate::bgzf::DEFAULT_LEVEL)) } else { Out::Plain(w) })
}

/// The compressed length of the leading blocks of `path` that hold exactly `text_bytes`
/// uncompressed bytes, or `None` when no block boundary falls there.
fn bgzf_offset_of(path: &Path, text_bytes: u64) -> Result<Option<u64>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut r = std::io::BufReader::new(f);
    let (mut text, mut offset) = (0u64, 0u64);
    while text < text_bytes {
        match crate::bgzf::read_block(&mut r).map_err(|e| Error::io(path, e))? {
            Some((size, data)) => {
                text += data.len() as u64;
                offset += size as u64;
            }
            None => return Ok(None),
        }
    }
    Ok((text == text_bytes).then_some(offset))
}

impl TsvScores {
    pub fn open(path: &Path, spec: &MatrixSpec, gz: bool, resume: bool) -> Result<Self> {
        let partial = super::resume::partial_path(path);
        let done = done_path(&partial);
        let checkpoints = if resume && partial.exists() { read_checkpoints(&done)? } else { Vec::new() };
        let (out, bytes, records): (Out, u64, u64) = match checkpoints.last() {
            Some(&(records, bytes)) => {
                // Checkpoints are block boundaries of a BGZF file: both kinds are cut in place.
                let cut = if gz {
                    bgzf_offset_of(&partial, bytes)?.ok_or_else(|| {
                        Error::Input(format!("{}: the staged scores end before their checkpoint; remove the .partial files to start over", partial.display()))
                    })?
                } else {
                    bytes
                };
                let f = std::fs::OpenOptions::new().write(true).open(&partial).map_err(|e| Error::io(&partial, e))?;
                if f.metadata().map_err(|e| Error::io(&partial, e))?.len() < cut {
                    return Err(Error::Input(format!("{}: the staged scores end before their checkpoint; remove the .partial files to start over", partial.display())));
                }
                f.set_len(cut).map_err(|e| Error::io(&partial, e))?;
                (open_writer(&partial, gz, true)?, bytes, records)
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
            me.out.sync_point().map_err(|e| Error::io(&me.partial, e))?;
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
        self.out.sync_point().map_err(|e| Error::io(&self.partial, e))?;
        let gz = !self.path.extension().is_some_and(|e| e == "tsv");
        reset_checkpoints(&self.done, records, bytes)?;
        let spec = MatrixSpec { stats: self.stats.clone(), target_ids: self.target_ids.clone(), target_labels: Vec::new(), gene_mode: false };
        // Reopening from the single checkpoint now in the log cuts the file there.
        let out = std::mem::replace(&mut self.out, Out::Closed);
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
            self.out.sync_point().map_err(|e| Error::io(&self.partial, e))?;
            checkpoint(&self.done, self.records, self.bytes)?;
            self.checkpoints.push((self.records, self.bytes));
            self.last_checkpoint = self.bytes;
            self.checkpointed_at = std::time::Instant::now();
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let TsvScores { out, partial, path, done, .. } = *self;
        out.finish().map_err(|e| Error::io(&partial, e))?;
        std::fs::rename(&partial, &path).map_err(|e| Error::io(&path, e))?;
        let _ = std::fs::remove_file(done);
        Ok(())
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> MatrixSpec {
        MatrixSpec { stats: vec!["logSED".into()], target_ids: (0..100).map(|t| format!("t{t}")).collect(), target_labels: Vec::new(), gene_mode: false }
    }

    fn write(out: &mut TsvScores, range: std::ops::Range<u64>) {
        for i in range {
            let id = format!("v{i}");
            let meta = RecordMeta { chrom: "chrI", pos: 1000 + i, id: &id, reference: "A" };
            let values = (0..100).map(|k| (i * 100 + k) as f32 / 7.0).collect();
            out.record(&meta, &[MatrixRow { alt: "C".into(), allele: 1, gene: None, values }]).unwrap();
        }
    }

    fn text(path: &Path) -> String {
        let mut r = std::io::BufReader::new(std::fs::File::open(path).unwrap());
        let mut s = Vec::new();
        while let Some((_, data)) = crate::bgzf::read_block(&mut r).unwrap() {
            s.extend(data);
        }
        String::from_utf8(s).unwrap()
    }

    /// A run killed after a checkpoint, with a torn block after it, resumes into the same text.
    #[test]
    fn killed_bgzf_scores_resume_from_their_last_checkpoint() {
        let tmp = tempfile::tempdir().unwrap();
        let full = tmp.path().join("full.tsv.gz");
        let mut out = TsvScores::open(&full, &spec(), true, false).unwrap();
        write(&mut out, 0..600);
        Box::new(out).finish().unwrap();

        let killed = tmp.path().join("killed.tsv.gz");
        let mut out = TsvScores::open(&killed, &spec(), true, false).unwrap();
        write(&mut out, 0..450);
        let partial = out.partial.clone();
        drop(out);
        let mut f = std::fs::OpenOptions::new().append(true).open(&partial).unwrap();
        f.write_all(&[0x1f, 0x8b, 0x08, 0x04, 0, 0, 0]).unwrap();
        drop(f);

        let mut out = TsvScores::open(&killed, &spec(), true, true).unwrap();
        let held = out.held(450);
        assert!(held > 0 && held < 450, "a checkpoint past the header: {held}");
        out.trim(held).unwrap();
        write(&mut out, held..600);
        Box::new(out).finish().unwrap();
        assert!(!partial.exists());
        assert_eq!(text(&killed), text(&full));
        assert!(text(&full).lines().count() == 1 + 600 * 100);
    }
}
