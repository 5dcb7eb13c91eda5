//! Outputs written beside the VCF, in record order: the full score matrix
//! (`--scores-out FILE.h5` in baskerville's `scores.h5` layout, or `FILE.tsv[.gz]` in long
//! format). Like the VCF they are staged as `FILE.partial` and renamed when complete.
//!
//! Each keeps a checkpoint log, `FILE.partial.done`: one `records<TAB>units` line each
//! time its data up to a record boundary is on disk. `--resume` trims every output (the
//! VCF included) back to the largest record count all of them hold, then carries on.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use super::scorer::MatrixRow;
use super::scores_h5::H5Scores;
use super::scores_tsv::TsvScores;
use crate::error::{Error, Result};

/// One VCF record as the side outputs see it.
pub struct RecordMeta<'a> {
    pub chrom: &'a str,
    /// 1-based.
    pub pos: u64,
    pub id: &'a str,
    pub reference: &'a str,
}

/// What the matrix holds: its statistics and tracks.
#[derive(Debug, Clone)]
pub struct MatrixSpec {
    pub stats: Vec<String>,
    pub target_ids: Vec<String>,
    pub target_labels: Vec<String>,
    pub gene_mode: bool,
}

/// One side output.
pub(crate) trait SideOutput {
    /// The largest record count not above `limit` this output can be trimmed back to exactly.
    fn held(&self, limit: u64) -> u64;
    /// Trims to exactly `records` records (a value `held` returned).
    fn trim(&mut self, records: u64) -> Result<()>;
    fn record(&mut self, meta: &RecordMeta, rows: &[MatrixRow]) -> Result<()>;
    /// Completes the staged file and renames it into place.
    fn finish(self: Box<Self>) -> Result<()>;
    /// The final path, to remove the staged files after a failure.
    fn path(&self) -> &Path;
}

/// The side outputs of one run (none by default).
#[derive(Default)]
pub struct SideOutputs {
    requested: Vec<PathBuf>,
    spec: Option<MatrixSpec>,
    open: Vec<Box<dyn SideOutput>>,
}

/// The kind of side output a path asks for, from its suffix.
fn kind(path: &Path) -> Result<&'static str> {
    let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    if name.ends_with(".h5") || name.ends_with(".hdf5") {
        Ok("h5")
    } else if name.ends_with(".tsv.gz") || name.ends_with(".tsv.bgz") {
        Ok("tsv.gz")
    } else if name.ends_with(".tsv") {
        Ok("tsv")
    } else {
        Err(Error::Input(format!(
            "--scores-out {}: give a path ending in .h5 (baskerville's scores.h5 layout), .tsv or .tsv.gz (long format)",
            path.display()
        )))
    }
}

/// `FILE.partial.done`, the checkpoint log of a staged side output.
pub(crate) fn done_path(partial: &Path) -> PathBuf {
    let mut name = partial.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".done");
    partial.with_file_name(name)
}

/// Checkpoints `(records, units)` of an earlier run, oldest first; a torn last line is ignored.
pub(crate) fn read_checkpoints(done: &Path) -> Result<Vec<(u64, u64)>> {
    let f = match std::fs::File::open(done) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(done, e)),
    };
    let mut out = Vec::new();
    for line in std::io::BufReader::new(f).lines() {
        let line = line.map_err(|e| Error::io(done, e))?;
        let mut it = line.split('\t');
        if let (Some(Ok(r)), Some(Ok(u)), None) = (it.next().map(str::parse), it.next().map(str::parse), it.next()) {
            out.push((r, u));
        }
    }
    Ok(out)
}

/// Appends one checkpoint.
pub(crate) fn checkpoint(done: &Path, records: u64, units: u64) -> Result<()> {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(done).map_err(|e| Error::io(done, e))?;
    writeln!(f, "{records}\t{units}").map_err(|e| Error::io(done, e))
}

/// Rewrites the checkpoint log as the single checkpoint `(records, units)`.
pub(crate) fn reset_checkpoints(done: &Path, records: u64, units: u64) -> Result<()> {
    std::fs::write(done, format!("{records}\t{units}\n")).map_err(|e| Error::io(done, e))
}

impl SideOutputs {
    /// Side outputs at `paths` (suffix decides the kind) holding the matrix `spec`.
    pub fn new(paths: Vec<PathBuf>, spec: MatrixSpec) -> Result<Self> {
        for p in &paths {
            kind(p)?;
        }
        Ok(SideOutputs { requested: paths, spec: Some(spec), open: Vec::new() })
    }

    pub fn is_empty(&self) -> bool {
        self.requested.is_empty()
    }

    /// Opens every output: fresh, or (`resume`) continuing its staged file. Returns the
    /// record count all of them hold, at most `limit` (`limit` itself when there are none
    /// or when not resuming).
    pub fn open(&mut self, resume: bool, limit: u64) -> Result<u64> {
        let Some(spec) = &self.spec else { return Ok(limit) };
        for p in &self.requested {
            let out: Box<dyn SideOutput> = match kind(p)? {
                "h5" => Box::new(H5Scores::open(p, spec, resume)?),
                k => Box::new(TsvScores::open(p, spec, k == "tsv.gz", resume)?),
            };
            self.open.push(out);
        }
        if !resume || self.open.is_empty() {
            return Ok(limit);
        }
        // Each output can only go back to some record counts; settle on one all share.
        let mut held = limit;
        loop {
            let next = self.open.iter().map(|o| o.held(held)).min().unwrap_or(held);
            if next == held {
                break;
            }
            held = next;
        }
        for o in &mut self.open {
            o.trim(held)?;
        }
        Ok(held)
    }

    pub fn record(&mut self, meta: &RecordMeta, rows: &[MatrixRow]) -> Result<()> {
        for o in &mut self.open {
            o.record(meta, rows)?;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        for o in self.open {
            o.finish()?;
        }
        Ok(())
    }

    /// After a failure: no staged file is left to look finished.
    pub fn abort(self) {
        for o in self.open {
            let partial = crate::score::resume::partial_path(o.path());
            for p in [done_path(&partial), super::scores_h5::rows_path(&partial), partial] {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}
