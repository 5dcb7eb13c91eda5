//! Where embeddings go: TSV text, NPY (`[N, dim]` float32) or NPZ, and for NPY/NPZ an ID
//! table beside them. Files are staged under temporary names and renamed when complete;
//! NPY and NPZ to stdout are staged in a temporary file and copied out at the end (their
//! headers need the final row count).
//!
//! - TSV: a header `id  e0 … e{dim-1}` (with `--pool none`: `id  position  e0 …`), then one
//!   row per embedding (per position).
//! - NPY: `[N, dim]`; `--pool none` is refused (rows differ in length).
//! - NPZ: `embeddings` `[N, dim]`, or with `--pool none` one `s{index}` `[positions, dim]`
//!   array per sequence.
//! - ID table (`.ids.tsv`): `index  id  contig  start  end  length`, in embedding order;
//!   contig/start/end are `.` for FASTA records, the BED region (0-based, end exclusive)
//!   otherwise.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::Staged;
use crate::npz::{npy_bytes, npy_header};

use super::{Embedding, Meta, Pool};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Tsv,
    Npy,
    Npz,
}

impl Format {
    /// The format a file name implies, if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("npy") => Some(Format::Npy),
            Some("npz") => Some(Format::Npz),
            Some("tsv") | Some("txt") => Some(Format::Tsv),
            _ => None,
        }
    }
}

/// The ID table's default path: the output with its extension replaced by `.ids.tsv`.
pub fn default_ids_path(output: &Path) -> PathBuf {
    output.with_extension("ids.tsv")
}

/// A fixed header length for streamed NPY files, rewritten in place at the end.
const NPY_HEADER_LEN: usize = 128;

/// A file being written: staged beside its destination, or a scratch file for stdout.
enum Dest {
    File(Staged),
    Stdout(tempfile::NamedTempFile),
}

impl Dest {
    fn new(path: Option<&Path>) -> Result<Self> {
        match path {
            Some(p) => Ok(Dest::File(Staged::new(p)?)),
            None => tempfile::NamedTempFile::new().map(Dest::Stdout).map_err(|e| Error::io("temporary file", e)),
        }
    }

    fn file(&mut self) -> &mut File {
        match self {
            Dest::File(s) => s.file(),
            Dest::Stdout(t) => t.as_file_mut(),
        }
    }

    fn shown(&self) -> String {
        match self {
            Dest::File(s) => s.path().display().to_string(),
            Dest::Stdout(_) => "<stdout>".into(),
        }
    }

    fn commit(self) -> Result<()> {
        match self {
            Dest::File(s) => s.commit(),
            Dest::Stdout(mut t) => {
                let f = t.as_file_mut();
                f.seek(SeekFrom::Start(0)).map_err(|e| Error::io("temporary file", e))?;
                let mut out = std::io::stdout().lock();
                std::io::copy(f, &mut out).map_err(|e| Error::io("<stdout>", e))?;
                out.flush().map_err(|e| Error::io("<stdout>", e))
            }
        }
    }
}

enum Body {
    TsvFile(BufWriter<File>, Staged),
    TsvStdout(BufWriter<std::io::Stdout>),
    Npy(BufWriter<File>, Dest),
    /// `embeddings` rows staged until their count is known, then the archive.
    NpzPooled { rows: BufWriter<File>, rows_file: tempfile::NamedTempFile, dest: Dest },
    NpzPerSequence(zip::ZipWriter<File>, Dest),
}

pub struct Writer {
    body: Body,
    ids: Option<(BufWriter<File>, Staged)>,
    pool: Pool,
    dim: usize,
    pub written: u64,
}

fn werr(what: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(what, e)
}

impl Writer {
    /// Opens the outputs (before any model work, so a bad destination fails early).
    pub fn create(format: Format, output: Option<&Path>, ids: Option<&Path>, pool: Pool, dim: usize) -> Result<Self> {
        if format == Format::Npy && pool == Pool::None {
            return Err(Error::Input("--pool none gives each sequence its own number of rows: use -O npz or -O tsv".into()));
        }
        let ids_path = match (ids, format, output) {
            (Some(p), _, _) => Some(p.to_path_buf()),
            (None, Format::Tsv, _) => None,
            (None, _, Some(out)) => Some(default_ids_path(out)),
            (None, _, None) => {
                return Err(Error::Input("NPY/NPZ to stdout: give --ids FILE for the ID table".into()))
            }
        };
        if let (Some(i), Some(o)) = (&ids_path, output) {
            if i == o {
                return Err(Error::Input(format!("--ids {} is the output file too", i.display())));
            }
        }
        let body = match format {
            Format::Tsv => match output {
                Some(p) => {
                    let mut s = Staged::new(p)?;
                    let f = s.file().try_clone().map_err(|e| Error::io(p, e))?;
                    Body::TsvFile(BufWriter::new(f), s)
                }
                None => Body::TsvStdout(BufWriter::new(std::io::stdout())),
            },
            Format::Npy => {
                let mut dest = Dest::new(output)?;
                let mut f = dest.file().try_clone().map_err(werr("output"))?;
                f.write_all(&npy_header(&[0, dim], NPY_HEADER_LEN)).map_err(werr("output"))?;
                Body::Npy(BufWriter::new(f), dest)
            }
            Format::Npz => {
                let mut dest = Dest::new(output)?;
                if pool == Pool::None {
                    let f = dest.file().try_clone().map_err(werr("output"))?;
                    Body::NpzPerSequence(zip::ZipWriter::new(f), dest)
                } else {
                    let rows_file = tempfile::NamedTempFile::new().map_err(werr("temporary file"))?;
                    let rows = BufWriter::new(rows_file.reopen().map_err(werr("temporary file"))?);
                    Body::NpzPooled { rows, rows_file, dest }
                }
            }
        };
        let ids = match ids_path {
            Some(p) => {
                let mut s = Staged::new(&p)?;
                let mut f = BufWriter::new(s.file().try_clone().map_err(|e| Error::io(&p, e))?);
                writeln!(f, "index\tid\tcontig\tstart\tend\tlength").map_err(|e| Error::io(&p, e))?;
                Some((f, s))
            }
            None => None,
        };
        let mut w = Writer { body, ids, pool, dim, written: 0 };
        w.tsv_header()?;
        Ok(w)
    }

    fn tsv_header(&mut self) -> Result<()> {
        let mut line = String::from("id");
        if self.pool == Pool::None {
            line.push_str("\tposition");
        }
        for j in 0..self.dim {
            line.push_str(&format!("\te{j}"));
        }
        line.push('\n');
        match &mut self.body {
            Body::TsvFile(f, s) => f.write_all(line.as_bytes()).map_err(werr(&s.path().display().to_string())),
            Body::TsvStdout(f) => f.write_all(line.as_bytes()).map_err(werr("<stdout>")),
            _ => Ok(()),
        }
    }

    pub fn write(&mut self, meta: &Meta, emb: &Embedding) -> Result<()> {
        if emb.dim != self.dim {
            return Err(Error::Other(format!("embedding of {} has {} values, expected {}", meta.id, emb.dim, self.dim)));
        }
        let tsv_rows = |out: &mut dyn Write| -> std::io::Result<()> {
            for r in 0..emb.rows {
                let mut line = meta.id.clone();
                if self.pool == Pool::None {
                    line.push_str(&format!("\t{r}"));
                }
                for v in &emb.data[r * emb.dim..(r + 1) * emb.dim] {
                    line.push('\t');
                    line.push_str(&v.to_string());
                }
                line.push('\n');
                out.write_all(line.as_bytes())?;
            }
            Ok(())
        };
        let raw = |out: &mut dyn Write| -> std::io::Result<()> {
            let mut bytes = Vec::with_capacity(emb.data.len() * 4);
            emb.data.iter().for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
            out.write_all(&bytes)
        };
        match &mut self.body {
            Body::TsvFile(f, s) => tsv_rows(f).map_err(werr(&s.path().display().to_string()))?,
            Body::TsvStdout(f) => tsv_rows(f).map_err(werr("<stdout>"))?,
            Body::Npy(f, d) => raw(f).map_err(werr(&d.shown()))?,
            Body::NpzPooled { rows, .. } => raw(rows).map_err(werr("temporary file"))?,
            Body::NpzPerSequence(zip, d) => {
                let fail = |e: String| Error::Other(format!("{}: {e}", d.shown()));
                let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
                zip.start_file(format!("s{}.npy", meta.index), opts).map_err(|e| fail(e.to_string()))?;
                zip.write_all(&npy_bytes(&[emb.rows, emb.dim], &emb.data)).map_err(|e| fail(e.to_string()))?;
            }
        }
        if let Some((f, s)) = &mut self.ids {
            let (contig, start, end) = match &meta.origin {
                Some(iv) => (iv.contig.clone(), iv.start.to_string(), iv.end.to_string()),
                None => (".".into(), ".".into(), ".".into()),
            };
            writeln!(f, "{}\t{}\t{contig}\t{start}\t{end}\t{}", meta.index, meta.id, meta.length)
                .map_err(werr(&s.path().display().to_string()))?;
        }
        self.written += 1;
        Ok(())
    }

    /// Completes every file and moves it into place.
    pub fn finish(self) -> Result<()> {
        let n = self.written as usize;
        match self.body {
            Body::TsvFile(mut f, s) => {
                f.flush().map_err(werr(&s.path().display().to_string()))?;
                drop(f);
                s.commit()?;
            }
            Body::TsvStdout(mut f) => f.flush().map_err(werr("<stdout>"))?,
            Body::Npy(f, dest) => {
                let mut f = f.into_inner().map_err(|e| Error::io(dest.shown(), e.into_error()))?;
                f.seek(SeekFrom::Start(0)).map_err(werr(&dest.shown()))?;
                f.write_all(&npy_header(&[n, self.dim], NPY_HEADER_LEN)).map_err(werr(&dest.shown()))?;
                dest.commit()?;
            }
            Body::NpzPooled { rows, rows_file, mut dest } => {
                rows.into_inner().map_err(|e| Error::io("temporary file", e.into_error()))?;
                let f = dest.file().try_clone().map_err(werr("output"))?;
                let mut zip = zip::ZipWriter::new(f);
                let fail = |e: String| Error::Other(format!("{}: {e}", dest.shown()));
                let opts = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .large_file(n * self.dim * 4 > u32::MAX as usize / 2);
                zip.start_file("embeddings.npy", opts).map_err(|e| fail(e.to_string()))?;
                zip.write_all(&npy_header(&[n, self.dim], 0)).map_err(|e| fail(e.to_string()))?;
                let mut src = rows_file.reopen().map_err(werr("temporary file"))?;
                std::io::copy(&mut src, &mut zip).map_err(|e| fail(e.to_string()))?;
                zip.finish().map_err(|e| fail(e.to_string()))?;
                dest.commit()?;
            }
            Body::NpzPerSequence(zip, dest) => {
                zip.finish().map_err(|e| Error::Other(format!("{}: {e}", dest.shown())))?;
                dest.commit()?;
            }
        }
        if let Some((mut f, s)) = self.ids {
            f.flush().map_err(werr(&s.path().display().to_string()))?;
            drop(f);
            s.commit()?;
        }
        Ok(())
    }
}
