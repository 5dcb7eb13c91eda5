//! Predicted values, kept on disk until the BigWigs are written.
//!
//! A BigWig cannot be written as predictions arrive (one file per column, each written
//! whole with bigtools), and holding every value in memory until the end would make memory
//! grow with the input. So each predicted piece of a segment (a window's worth of bins)
//! goes into an unnamed temporary file, column-major, and each column is later read back
//! one piece at a time.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;

use crate::error::{Error, Result};

use super::Segment;

/// Where one segment's values lie in the spool.
#[derive(Debug, Clone)]
struct Entry {
    segment: Segment,
    offset: u64,
}

/// Segments' values (`bins × columns`, bin-major as [`super::predict`] emits them),
/// appended in output order.
pub struct Spool {
    out: BufWriter<File>,
    entries: Vec<Entry>,
    ncols: usize,
    written: u64,
    column_major: Vec<u8>,
}

impl Spool {
    /// An empty spool in the temporary directory (`TMPDIR`).
    pub fn new(ncols: usize) -> Result<Self> {
        let file = tempfile::tempfile().map_err(|e| Error::io(std::env::temp_dir(), e))?;
        Ok(Spool { out: BufWriter::with_capacity(1 << 20, file), entries: Vec::new(), ncols, written: 0, column_major: Vec::new() })
    }

    pub fn push(&mut self, segment: &Segment, values: &[f32]) -> Result<()> {
        let bins = segment.bins();
        if values.len() != bins * self.ncols {
            return Err(Error::Other(format!("{} values for {bins} bins x {} columns", values.len(), self.ncols)));
        }
        self.column_major.clear();
        for c in 0..self.ncols {
            for b in 0..bins {
                self.column_major.extend_from_slice(&values[b * self.ncols + c].to_le_bytes());
            }
        }
        self.out.write_all(&self.column_major).map_err(|e| Error::io(spool_name(), e))?;
        self.entries.push(Entry { segment: segment.clone(), offset: self.written });
        self.written += self.column_major.len() as u64;
        Ok(())
    }

    /// Everything pushed, ready to read back.
    pub fn finish(self) -> Result<Spooled> {
        let file = self.out.into_inner().map_err(|e| Error::io(spool_name(), e.into_error()))?;
        Ok(Spooled { file, entries: self.entries })
    }
}

fn spool_name() -> String {
    format!("the prediction spool in {}", std::env::temp_dir().display())
}

/// A finished spool.
pub struct Spooled {
    file: File,
    entries: Vec<Entry>,
}

impl Spooled {
    /// The `i`-th segment pushed.
    pub fn segment(&self, i: usize) -> Option<&Segment> {
        self.entries.get(i).map(|e| &e.segment)
    }

    /// Column `col` of the `i`-th segment pushed, one value per bin.
    pub fn column(&self, i: usize, col: usize) -> Result<Vec<f32>> {
        let e = &self.entries[i];
        let bins = e.segment.bins();
        let mut bytes = vec![0u8; bins * 4];
        self.file
            .read_exact_at(&mut bytes, e.offset + (col * bins * 4) as u64)
            .map_err(|err| Error::io(spool_name(), err))?;
        Ok(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_come_back_per_segment() {
        let mut spool = Spool::new(3).unwrap();
        let a = Segment { seq: 0, first_bin: 5, end_bin: 7 };
        let b = Segment { seq: 2, first_bin: 0, end_bin: 3 };
        // bin-major: bin 0 = (1, 2, 3), bin 1 = (4, 5, 6)
        spool.push(&a, &[1., 2., 3., 4., 5., 6.]).unwrap();
        spool.push(&b, &[10., 20., 30., 11., 21., 31., 12., 22., 32.]).unwrap();
        assert!(spool.push(&b, &[1.0]).is_err());
        let s = spool.finish().unwrap();
        assert_eq!((s.len(), s.segment(1), s.segment(2)), (2, Some(&b), None));
        assert_eq!(s.segment(0), Some(&a));
        assert_eq!(s.column(0, 0).unwrap(), vec![1., 4.]);
        assert_eq!(s.column(0, 2).unwrap(), vec![3., 6.]);
        assert_eq!(s.column(1, 1).unwrap(), vec![20., 21., 22.]);
        assert_eq!(s.column(1, 2).unwrap(), vec![30., 31., 32.]);
    }
}
