//! Training targets read from BigWig coverage, one file per targets-sheet row, processed
//! as baskerville's `hound_data_read.py` does (see [`super::transform`] for the steps).

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use bigtools::utils::reopen::ReopenableFile;
use bigtools::{BBIFileInfo, BigWigRead};
use rayon::prelude::*;

use super::numeric::round_f16;
use super::transform::TrackTransform;
use crate::error::{Error, Result};
use crate::formats::targets::Targets;

/// One BigWig file (several sheet rows may share it).
struct BwFile {
    path: PathBuf,
    info: BBIFileInfo,
    /// Contig lengths as the BigWig's header gives them.
    lengths: HashMap<String, u32>,
    /// An open handle, kept between reads for the first files (see `max_open`).
    reader: Option<BigWigRead<ReopenableFile>>,
}

struct Track {
    file: usize,
    transform: TrackTransform,
}

/// Every track's BigWig, opened and checked against the FASTA; [`CoverageSource::read`]
/// turns a genomic window into `[bins × tracks]` targets.
///
/// Files are opened once in [`CoverageSource::open`] (header and contig list kept); at
/// most a few hundred handles stay open between reads (half the open-file limit, at most
/// 1024), the rest are reopened for each read, so sheets with thousands of tracks work
/// under the usual `ulimit -n`.
pub struct CoverageSource {
    files: Vec<BwFile>,
    tracks: Vec<Track>,
    identifiers: Vec<String>,
    fasta: HashMap<String, u64>,
}

const _: fn() = || {
    fn send<T: Send>() {}
    send::<CoverageSource>();
};

impl CoverageSource {
    /// Opens the BigWig of every row of `targets` (column `file`). Errors, one line each,
    /// name the sheet row, its identifier and the file: no file given, unknown `sum_stat`,
    /// a file that is missing or not a BigWig, or a BigWig none of whose contigs is in
    /// `fasta_contigs` (name, length). A BigWig lacking only some FASTA contigs is fine:
    /// those read as zero coverage.
    pub fn open(targets: &Targets, fasta_contigs: &[(String, u64)]) -> Result<Self> {
        let sheet = &targets.source;
        let fasta: HashMap<String, u64> = fasta_contigs.iter().cloned().collect();
        let max_open = max_open_files();
        let mut files: Vec<BwFile> = Vec::new();
        let mut by_path: HashMap<PathBuf, usize> = HashMap::new();
        let mut tracks = Vec::with_capacity(targets.rows.len());
        for (i, row) in targets.rows.iter().enumerate() {
            let where_ = format!("{sheet}: row {i} ({})", row.identifier);
            let transform = TrackTransform::from_target(row, &where_)?;
            let path = row.file.as_ref().ok_or_else(|| {
                Error::Input(format!("{where_}: no coverage file (column \"file\" is missing or empty)"))
            })?;
            let file = match by_path.get(path) {
                Some(&f) => f,
                None => {
                    let mut bw = open_bigwig(path).map_err(|e| Error::Input(format!("{where_}: {e}")))?;
                    check_contigs(&bw, fasta_contigs).map_err(|e| Error::Input(format!("{where_}: {e}")))?;
                    if files.len() >= max_open {
                        bw.reader = None;
                    }
                    files.push(bw);
                    by_path.insert(path.clone(), files.len() - 1);
                    files.len() - 1
                }
            };
            tracks.push(Track { file, transform });
        }
        let identifiers = targets.rows.iter().map(|r| r.identifier.clone()).collect();
        Ok(CoverageSource { files, tracks, identifiers, fasta })
    }

    pub fn num_tracks(&self) -> usize {
        self.tracks.len()
    }

    /// Track identifiers, in sheet order (the column order of [`CoverageSource::read`]).
    pub fn identifiers(&self) -> &[String] {
        &self.identifiers
    }

    /// Targets for the window `contig:[start, end)`: row-major `[bins × tracks]` float32
    /// with `bins = (end - start - 2*crop_bp) / pool_width`, each track processed as
    /// hound_data_read.py does (see [`super::transform`]). `blacklist` is this contig's
    /// (buffered) blacklist, e.g. [`super::Blacklist::get`].
    ///
    /// hound_data.py itself calls hound_data_read.py on the already cropped window
    /// (`seq_length - 2*crop` long) with crop 0; pass that window and `crop_bp = 0` to get
    /// its targets exactly (the baseline quantile is taken over the window as read).
    ///
    /// Bases with no data in the BigWig are NaN (then the baseline); so are bases past the
    /// end of the BigWig's contig (pyBigWig would raise there). A contig the BigWig lacks
    /// reads as zeros.
    pub fn read(
        &mut self,
        contig: &str,
        start: u64,
        end: u64,
        pool_width: usize,
        crop_bp: usize,
        blacklist: &[(u64, u64)],
    ) -> Result<Vec<f32>> {
        let window = format!("{contig}:{start}-{end}");
        if !self.fasta.contains_key(contig) {
            return Err(Error::Input(format!("{window}: contig {contig} is not in the FASTA")));
        }
        if end <= start || end > u32::MAX as u64 {
            return Err(Error::Input(format!("{window}: not a valid window")));
        }
        let len = (end - start) as usize;
        if pool_width == 0 || len <= 2 * crop_bp || (len - 2 * crop_bp) % pool_width != 0 {
            return Err(Error::Input(format!(
                "{window}: {len} bp less 2 × crop {crop_bp} is not a positive multiple of the pool width {pool_width}"
            )));
        }
        let bins = (len - 2 * crop_bp) / pool_width;
        let ntracks = self.tracks.len();
        let mut tracks_of: Vec<Vec<usize>> = vec![Vec::new(); self.files.len()];
        for (t, tr) in self.tracks.iter().enumerate() {
            tracks_of[tr.file].push(t);
        }
        let tracks = &self.tracks;
        let pooled: Vec<Vec<(usize, Vec<f32>)>> = self
            .files
            .par_iter_mut()
            .zip(tracks_of.par_iter())
            .map(|(bw, ts)| -> Result<Vec<(usize, Vec<f32>)>> {
                let bases = bw.bases(contig, start as u32, end as u32)?;
                Ok(ts
                    .iter()
                    .map(|&t| {
                        let mut x = bases.clone();
                        (t, tracks[t].transform.apply(&mut x, start, pool_width, crop_bp, blacklist))
                    })
                    .collect())
            })
            .collect::<Result<_>>()?;
        let mut out = vec![0f32; bins * ntracks];
        for (t, v) in pooled.into_iter().flatten() {
            for (b, x) in v.into_iter().enumerate() {
                out[b * ntracks + t] = x;
            }
        }
        Ok(out)
    }
}

impl CoverageSource {
    /// The contigs of `contigs` on which no track's BigWig has any data (absent from every
    /// BigWig, or listed without a single value): windows there would be all baseline, and
    /// metrics over them undefined.
    pub fn contigs_without_data(&mut self, contigs: &[String]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for contig in contigs {
            let mut any = false;
            for bw in &mut self.files {
                if bw.has_data(contig)? {
                    any = true;
                    break;
                }
            }
            if !any {
                out.push(contig.clone());
            }
        }
        Ok(out)
    }
}

impl BwFile {
    /// Whether the BigWig holds at least one value on `contig`.
    fn has_data(&mut self, contig: &str) -> Result<bool> {
        let Some(&clen) = self.lengths.get(contig) else {
            return Ok(false);
        };
        let path = self.path.clone();
        let err = |e: String| Error::Input(format!("{}: reading {contig}: {e}", path.display()));
        let keep = self.reader.is_some();
        let mut reader = match self.reader.take() {
            Some(r) => r,
            None => {
                let file = File::open(&path).map_err(|e| err(e.to_string()))?;
                BigWigRead::with_info(self.info.clone(), ReopenableFile { path: path.clone(), file })
            }
        };
        let first = reader.get_interval(contig, 0, clen).map_err(|e| err(e.to_string()))?.next();
        let found = match first {
            None => false,
            Some(Ok(_)) => true,
            Some(Err(e)) => return Err(err(e.to_string())),
        };
        if keep {
            self.reader = Some(reader);
        }
        Ok(found)
    }

    /// Base values of `[start, end)` rounded to float16 (hound's `astype("float16")`),
    /// NaN where there is no data.
    fn bases(&mut self, contig: &str, start: u32, end: u32) -> Result<Vec<f32>> {
        let len = (end - start) as usize;
        let Some(&clen) = self.lengths.get(contig) else {
            return Ok(vec![0.0; len]);
        };
        let mut out = vec![f32::NAN; len];
        let stop = end.min(clen);
        if start < stop {
            let path = &self.path;
            let err = |e: String| Error::Input(format!("{}: reading {contig}:{start}-{stop}: {e}", path.display()));
            let keep = self.reader.is_some();
            let mut reader = match self.reader.take() {
                Some(r) => r,
                None => {
                    let file = File::open(path).map_err(|e| err(e.to_string()))?;
                    BigWigRead::with_info(self.info.clone(), ReopenableFile { path: path.clone(), file })
                }
            };
            let vals = reader.values(contig, start, stop).map_err(|e| err(e.to_string()))?;
            out[..vals.len()].copy_from_slice(&vals);
            if keep {
                self.reader = Some(reader);
            }
        }
        for v in &mut out {
            *v = round_f16(*v);
        }
        Ok(out)
    }
}

/// Opens and parses a BigWig's header (without bigtools' own stderr message on failure).
fn open_bigwig(path: &Path) -> std::result::Result<BwFile, String> {
    let file = File::open(path).map_err(|e| format!("{}: cannot open BigWig: {e}", path.display()))?;
    let reader = BigWigRead::open(ReopenableFile { path: path.to_path_buf(), file })
        .map_err(|e| format!("{}: not a readable BigWig: {e}", path.display()))?;
    let info = reader.info().clone();
    let lengths = reader.chroms().iter().map(|c| (c.name.clone(), c.length)).collect();
    Ok(BwFile { path: path.to_path_buf(), info, lengths, reader: Some(reader) })
}

/// A BigWig must share at least one contig name with the FASTA.
fn check_contigs(bw: &BwFile, fasta: &[(String, u64)]) -> std::result::Result<(), String> {
    if fasta.iter().any(|(name, _)| bw.lengths.contains_key(name)) {
        return Ok(());
    }
    let bw_names: Vec<&str> = bw.info.chrom_info.iter().map(|c| c.name.as_str()).collect();
    let fa_names: Vec<&str> = fasta.iter().map(|(n, _)| n.as_str()).collect();
    Err(format!(
        "{}: no contig in common with the FASTA: the BigWig has {} but the FASTA has {}",
        bw.path.display(),
        list(&bw_names),
        list(&fa_names)
    ))
}

/// The first few names, comma-separated, "…" for the rest.
fn list(names: &[&str]) -> String {
    if names.is_empty() {
        return "no contigs".into();
    }
    let mut s = names.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    if names.len() > 5 {
        s.push_str(&format!(", … ({} in all)", names.len()));
    }
    s
}

/// How many BigWig handles may stay open between reads: half the soft open-file limit,
/// between 16 and 1024.
fn max_open_files() -> usize {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit only writes the struct it is given.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 { lim.rlim_cur } else { 1024 };
    (soft / 2).clamp(16, 1024) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_short() {
        assert_eq!(list(&["a", "b"]), "a, b");
        assert_eq!(list(&["1", "2", "3", "4", "5", "6", "7"]), "1, 2, 3, 4, 5, … (7 in all)");
    }

    #[test]
    fn rows_without_a_file_are_named() {
        let t = Targets::parse("\tidentifier\n0\tx\n", "sheet.txt").unwrap();
        let e = CoverageSource::open(&t, &[("chrI".into(), 100)]).err().unwrap();
        assert_eq!(e.to_string(), "sheet.txt: row 0 (x): no coverage file (column \"file\" is missing or empty)");
        let t = Targets::parse("\tidentifier\tfile\n0\tx\t/nonexistent/x.bw\n", "sheet.txt").unwrap();
        let e = CoverageSource::open(&t, &[("chrI".into(), 100)]).err().unwrap();
        assert!(e.to_string().starts_with("sheet.txt: row 0 (x): /nonexistent/x.bw: cannot open BigWig:"), "{e}");
    }
}
