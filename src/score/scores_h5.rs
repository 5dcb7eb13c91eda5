//! `--scores-out FILE.h5`: the full matrix in baskerville's `scores.h5` layout (as
//! `hound_snp.py` writes it), so notebooks written for baskerville read it unchanged:
//! fixed-length byte strings `snp`, `chr`, `ref_allele`, `alt_allele`, `target_ids`,
//! `target_labels`, uint32 `pos`, and one float16 `[rows, targets]` dataset per statistic;
//! plus uint32 `allele` (1-based ALT index, rows being per ALT) and, in gene mode, `gene`.
//!
//! Numbers go into chunked datasets that grow by whole blocks of rows as records arrive,
//! so memory stays flat. The per-row strings wait in a text file beside the staged HDF5
//! (their fixed width is only known at the end) and are written when the run completes.

use std::ffi::c_void;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use half::f16;
use hdf5::types::TypeDescriptor;
use hdf5::{Dataset, File};

use super::scorer::MatrixRow;
use super::side::{checkpoint, done_path, read_checkpoints, reset_checkpoints, MatrixSpec, RecordMeta, SideOutput};
use crate::error::{Error, Result};

/// `FILE.partial.rows`: one `record<TAB>snp<TAB>chr<TAB>ref<TAB>alt<TAB>gene` line per row.
pub(crate) fn rows_path(partial: &Path) -> PathBuf {
    let mut name = partial.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".rows");
    partial.with_file_name(name)
}

fn h5err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Input(format!("{}: cannot write the scores HDF5 ({e})", path.display()))
}

/// Rows waiting to be written as one block.
#[derive(Default)]
struct Block {
    lines: String,
    pos: Vec<u32>,
    allele: Vec<u32>,
    /// Per statistic, row-major `[rows, tracks]`.
    values: Vec<Vec<u16>>,
    rows: usize,
}

pub struct H5Scores {
    path: PathBuf,
    partial: PathBuf,
    rows_file: PathBuf,
    done: PathBuf,
    file: File,
    pos: Dataset,
    allele: Dataset,
    stats: Vec<Dataset>,
    tracks: usize,
    block_rows: usize,
    /// Rows in the HDF5 datasets.
    rows: usize,
    /// Records seen (written or waiting in `block`).
    records: u64,
    /// The last checkpoint's record count.
    checkpointed: u64,
    block: Block,
    /// When the last block went to disk: a slow run still checkpoints every second.
    written_at: std::time::Instant,
    rows_out: BufWriter<std::fs::File>,
    gene_mode: bool,
}

/// Writes `n` rows of `cols` values from `buf` (the dataset's own memory type) at row `row0`.
fn write_rows(ds: &Dataset, row0: usize, n: usize, cols: usize, buf: *const c_void) -> std::result::Result<(), String> {
    use hdf5_sys::h5d::{H5Dget_space, H5Dwrite};
    use hdf5_sys::h5p::H5P_DEFAULT;
    use hdf5_sys::h5s::{H5S_seloper_t, H5Sclose, H5Screate_simple, H5Sselect_hyperslab};
    if n == 0 {
        return Ok(());
    }
    let dtype = ds.dtype().map_err(|e| e.to_string())?;
    let rank = ds.ndim();
    hdf5::sync::sync(|| unsafe {
        let fspace = H5Dget_space(ds.id());
        if fspace < 0 {
            return Err("no dataspace".to_string());
        }
        let start = [row0 as u64, 0];
        let count = [n as u64, cols as u64];
        let mut ok = H5Sselect_hyperslab(fspace, H5S_seloper_t::H5S_SELECT_SET, start.as_ptr(), std::ptr::null(), count.as_ptr(), std::ptr::null()) >= 0;
        let mdims = [(n * if rank > 1 { cols } else { 1 }) as u64];
        let mspace = H5Screate_simple(1, mdims.as_ptr(), std::ptr::null());
        ok = ok && mspace >= 0 && H5Dwrite(ds.id(), dtype.id(), mspace, fspace, H5P_DEFAULT, buf) >= 0;
        if mspace >= 0 {
            H5Sclose(mspace);
        }
        H5Sclose(fspace);
        if ok {
            Ok(())
        } else {
            Err(format!("writing {} rows at row {row0} failed", n))
        }
    })
}

/// A dataset of fixed-length byte strings (numpy `S`), as h5py writes `np.array(x, "S")`.
fn write_strings(file: &File, name: &str, values: &mut dyn Iterator<Item = std::result::Result<String, String>>, n: usize, width: usize) -> std::result::Result<(), String> {
    let width = width.max(1);
    let ds = file
        .new_dataset_builder()
        .empty_as(&TypeDescriptor::FixedAscii(width))
        .shape(n)
        .create(name)
        .map_err(|e| e.to_string())?;
    // Blocks of rows keep memory flat however many rows there are.
    let per_block = (1 << 20) / width + 1;
    let mut row0 = 0;
    let mut buf: Vec<u8> = Vec::new();
    let mut in_block = 0;
    for v in values {
        let v = v?;
        let start = buf.len();
        buf.extend_from_slice(v.as_bytes());
        buf.resize(start + width, 0);
        in_block += 1;
        if in_block == per_block {
            write_rows(&ds, row0, in_block, 1, buf.as_ptr() as *const c_void)?;
            row0 += in_block;
            in_block = 0;
            buf.clear();
        }
    }
    write_rows(&ds, row0, in_block, 1, buf.as_ptr() as *const c_void)?;
    if row0 + in_block != n {
        return Err(format!("{name}: {} rows, expected {n}", row0 + in_block));
    }
    Ok(())
}

/// float16 as baskerville stores scores: clipped to the float16 range (NaN kept).
fn to_f16(v: f32) -> u16 {
    f16::from_f32(v.clamp(-65504.0, 65504.0)).to_bits()
}

impl H5Scores {
    pub fn open(path: &Path, spec: &MatrixSpec, resume: bool) -> Result<Self> {
        let partial = super::resume::partial_path(path);
        let rows_file = rows_path(&partial);
        let done = done_path(&partial);
        let tracks = spec.target_ids.len();
        // About 256 KB of float16 per chunk: a few rows of a 5,215-track model, many of a small one.
        let block_rows = (262_144 / (2 * tracks.max(1))).clamp(1, 4096);
        let checkpoints = if resume && partial.exists() { read_checkpoints(&done)? } else { Vec::new() };
        let err = |e: hdf5::Error| h5err(&partial, e);
        let (file, rows, checkpointed) = match checkpoints.last() {
            Some(&(records, rows)) => {
                let file = File::open_rw(&partial).map_err(|e| {
                    Error::Input(format!("{}: cannot continue the staged scores HDF5 ({e}); remove it and its .partial.* files to start over", partial.display()))
                })?;
                (file, rows as usize, records)
            }
            None => {
                let file = File::create(&partial).map_err(err)?;
                for p in [&rows_file, &done] {
                    let _ = std::fs::remove_file(p);
                }
                (file, 0, 0)
            }
        };
        let (pos, allele, stats) = if checkpointed > 0 || file.link_exists("pos") {
            let get = |n: &str| file.dataset(n).map_err(err);
            let stats = spec.stats.iter().map(|s| get(s)).collect::<Result<Vec<_>>>()?;
            let (pos, allele) = (get("pos")?, get("allele")?);
            for ds in stats.iter().chain([&pos, &allele]) {
                let want = if ds.ndim() == 2 { vec![ds.shape()[1]] } else { vec![] };
                if ds.ndim() == 2 && want != vec![tracks] {
                    return Err(Error::Input(format!(
                        "{}: the staged scores hold {} tracks, this run scores {tracks}; --resume needs the same options",
                        partial.display(),
                        want[0]
                    )));
                }
                if ds.ndim() == 2 { ds.resize((rows, tracks)) } else { ds.resize(rows) }.map_err(err)?;
            }
            (pos, allele, stats)
        } else {
            let vec1 = |name: &str| file.new_dataset::<u32>().chunk(block_rows.max(1024)).shape(0..).create(name).map_err(err);
            let (pos, allele) = (vec1("pos")?, vec1("allele")?);
            let stats = spec
                .stats
                .iter()
                .map(|s| {
                    file.new_dataset::<f16>().chunk((block_rows, tracks.max(1))).shape((0.., tracks)).create(s.as_str()).map_err(err)
                })
                .collect::<Result<Vec<_>>>()?;
            let ids = spec.target_ids.iter().map(|s| Ok(s.clone()));
            let width = spec.target_ids.iter().map(String::len).max().unwrap_or(1);
            write_strings(&file, "target_ids", &mut ids.into_iter(), tracks, width).map_err(|e| h5err(&partial, e))?;
            let width = spec.target_labels.iter().map(String::len).max().unwrap_or(1);
            write_strings(&file, "target_labels", &mut spec.target_labels.iter().map(|s| Ok(s.clone())), tracks, width)
                .map_err(|e| h5err(&partial, e))?;
            (pos, allele, stats)
        };
        // The row strings of an earlier run: exactly the checkpointed rows stay.
        if checkpointed > 0 {
            truncate_lines(&rows_file, rows)?;
        }
        let rows_out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&rows_file)
            .map_err(|e| Error::io(&rows_file, e))?;
        Ok(H5Scores {
            path: path.to_path_buf(),
            partial,
            rows_file,
            done,
            file,
            pos,
            allele,
            stats,
            tracks,
            block_rows,
            rows,
            records: checkpointed,
            checkpointed,
            block: Block { values: vec![Vec::new(); spec.stats.len()], ..Default::default() },
            written_at: std::time::Instant::now(),
            rows_out: BufWriter::new(rows_out),
            gene_mode: spec.gene_mode,
        })
    }

    fn write_block(&mut self) -> Result<()> {
        let n = self.block.rows;
        let (r0, t) = (self.rows, self.tracks);
        let err = |e: String| h5err(&self.partial, e);
        if n > 0 {
            self.pos.resize(r0 + n).map_err(|e| err(e.to_string()))?;
            self.allele.resize(r0 + n).map_err(|e| err(e.to_string()))?;
            write_rows(&self.pos, r0, n, 1, self.block.pos.as_ptr() as *const c_void).map_err(err)?;
            write_rows(&self.allele, r0, n, 1, self.block.allele.as_ptr() as *const c_void).map_err(err)?;
            for (ds, v) in self.stats.iter().zip(&self.block.values) {
                ds.resize((r0 + n, t)).map_err(|e| err(e.to_string()))?;
                write_rows(ds, r0, n, t, v.as_ptr() as *const c_void).map_err(err)?;
            }
            self.rows_out.write_all(self.block.lines.as_bytes()).map_err(|e| Error::io(&self.rows_file, e))?;
        }
        self.rows_out.flush().map_err(|e| Error::io(&self.rows_file, e))?;
        self.file.flush().map_err(|e| err(e.to_string()))?;
        self.rows += n;
        let values = std::mem::take(&mut self.block.values).into_iter().map(|mut v| {
            v.clear();
            v
        });
        self.block = Block { values: values.collect(), ..Default::default() };
        checkpoint(&self.done, self.records, self.rows as u64)?;
        self.checkpointed = self.records;
        self.written_at = std::time::Instant::now();
        Ok(())
    }

    /// Max byte width of each string column in the rows file, and its row count.
    fn widths(&self) -> Result<([usize; 5], usize)> {
        let mut w = [1usize; 5];
        let mut n = 0;
        for line in std::io::BufReader::new(std::fs::File::open(&self.rows_file).map_err(|e| Error::io(&self.rows_file, e))?).lines() {
            let line = line.map_err(|e| Error::io(&self.rows_file, e))?;
            for (k, f) in line.split('\t').skip(1).enumerate().take(5) {
                w[k] = w[k].max(f.len());
            }
            n += 1;
        }
        Ok((w, n))
    }
}

/// Keeps the first `n` lines of `path`.
fn truncate_lines(path: &Path, n: usize) -> Result<()> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = std::io::BufReader::new(f);
    let mut keep = 0u64;
    let mut line = Vec::new();
    for _ in 0..n {
        line.clear();
        let got = reader.read_until(b'\n', &mut line).map_err(|e| Error::io(path, e))?;
        if got == 0 || line.last() != Some(&b'\n') {
            return Err(Error::Input(format!("{}: the staged scores lack rows the checkpoint names; remove the .partial files to start over", path.display())));
        }
        keep += got as u64;
    }
    let f = std::fs::OpenOptions::new().write(true).open(path).map_err(|e| Error::io(path, e))?;
    f.set_len(keep).map_err(|e| Error::io(path, e))
}

impl SideOutput for H5Scores {
    fn held(&self, limit: u64) -> u64 {
        self.checkpointed.min(limit)
    }

    fn trim(&mut self, records: u64) -> Result<()> {
        if records == self.checkpointed {
            return Ok(());
        }
        // Rows of the first `records` records: the rows file names each row's record.
        let f = std::fs::File::open(&self.rows_file).map_err(|e| Error::io(&self.rows_file, e))?;
        let mut rows = 0usize;
        for line in std::io::BufReader::new(f).lines() {
            let line = line.map_err(|e| Error::io(&self.rows_file, e))?;
            match line.split('\t').next().and_then(|r| r.parse::<u64>().ok()) {
                Some(r) if r < records => rows += 1,
                _ => break,
            }
        }
        self.rows_out.flush().map_err(|e| Error::io(&self.rows_file, e))?;
        truncate_lines(&self.rows_file, rows)?;
        let err = |e: hdf5::Error| h5err(&self.partial, e);
        self.pos.resize(rows).map_err(err)?;
        self.allele.resize(rows).map_err(err)?;
        for ds in &self.stats {
            ds.resize((rows, self.tracks)).map_err(err)?;
        }
        self.file.flush().map_err(err)?;
        self.rows = rows;
        self.records = records;
        self.checkpointed = records;
        reset_checkpoints(&self.done, records, rows as u64)
    }

    fn record(&mut self, meta: &RecordMeta, rows: &[MatrixRow]) -> Result<()> {
        let idx = self.records;
        for r in rows {
            let gene = r.gene.as_deref().unwrap_or("");
            // baskerville's `snp` is the VCF ID.
            self.block.lines.push_str(&format!("{idx}\t{}\t{}\t{}\t{}\t{gene}\n", meta.id, meta.chrom, meta.reference, r.alt));
            self.block.pos.push(meta.pos.min(u32::MAX as u64) as u32);
            self.block.allele.push(r.allele);
            let t = self.tracks;
            for (s, dst) in self.block.values.iter_mut().enumerate() {
                match r.values.get(s * t..(s + 1) * t) {
                    Some(v) => dst.extend(v.iter().map(|x| to_f16(*x))),
                    None => return Err(Error::Other(format!("{}: a matrix row has {} values, expected {}", self.path.display(), r.values.len(), t * (s + 1)))),
                }
            }
            self.block.rows += 1;
        }
        self.records += 1;
        if self.block.rows >= self.block_rows || self.written_at.elapsed().as_secs() >= 1 {
            self.write_block()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.write_block()?;
        let (widths, n) = self.widths()?;
        if n != self.rows {
            return Err(h5err(&self.partial, format!("{} row strings for {} rows", n, self.rows)));
        }
        let mut names = vec!["snp", "chr", "ref_allele", "alt_allele"];
        if self.gene_mode {
            names.push("gene");
        }
        for (k, name) in names.iter().enumerate() {
            let f = std::fs::File::open(&self.rows_file).map_err(|e| Error::io(&self.rows_file, e))?;
            let mut values = std::io::BufReader::new(f)
                .lines()
                .map(|l| l.map(|l| l.split('\t').nth(k + 1).unwrap_or("").to_string()).map_err(|e| e.to_string()));
            write_strings(&self.file, name, &mut values, n, widths[k]).map_err(|e| h5err(&self.partial, e))?;
        }
        let H5Scores { file, partial, path, rows_file, done, .. } = *self;
        file.close().map_err(|e| h5err(&partial, e))?;
        std::fs::rename(&partial, &path).map_err(|e| Error::io(&path, e))?;
        for p in [rows_file, done] {
            let _ = std::fs::remove_file(p);
        }
        Ok(())
    }

    fn path(&self) -> &Path {
        &self.path
    }
}
