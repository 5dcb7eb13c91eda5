//! BGZF (blocked gzip, as bgzip and htslib write it), written by us so that every write
//! and the close are checked and block boundaries are a pure function of the data: blocks
//! hold exactly [`BLOCK`] uncompressed bytes except where the caller ends one with
//! [`Writer::end_block`] (after a header) and at the end. That is what lets `--resume`
//! truncate a killed run's output at a block boundary and continue it into the same bytes
//! an uninterrupted run writes.

use std::io::{Read, Write};

/// Uncompressed bytes per block (htslib's BGZF_BLOCK_SIZE).
pub const BLOCK: usize = 0xff00;
/// The empty block that ends every BGZF file.
pub const EOF_BLOCK: [u8; 28] = [
    0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 0x06, 0, 0x42, 0x43, 0x02, 0, 0x1b, 0, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];
const HEADER_LEN: usize = 18;
const MAX_BLOCK: usize = 65536;

/// zlib's default level, as bgzip uses.
pub const DEFAULT_LEVEL: u32 = 6;

pub struct Writer<W: Write> {
    inner: W,
    buf: Vec<u8>,
    level: u32,
}

impl<W: Write> Writer<W> {
    pub fn new(inner: W, level: u32) -> Self {
        Self::with_pending(inner, level, Vec::new())
    }

    /// Continues a stream whose current (unwritten) block already holds `pending`.
    pub fn with_pending(inner: W, level: u32, mut pending: Vec<u8>) -> Self {
        pending.reserve(BLOCK);
        Writer { inner, buf: pending, level: level.min(9) }
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Compresses and writes the buffered bytes as one block (if any), so that they are
    /// in the file: a header written this way survives a kill before the first record.
    pub fn end_block(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            let data = std::mem::take(&mut self.buf);
            self.emit(&data)?;
            self.buf = data;
            self.buf.clear();
        }
        self.inner.flush()
    }

    fn emit(&mut self, data: &[u8]) -> std::io::Result<()> {
        let block = compress_block(data, self.level)?;
        self.inner.write_all(&block)
    }

    /// Ends the last block, writes the EOF marker and flushes; returns the inner writer
    /// for the caller to close (and check).
    pub fn finish(mut self) -> std::io::Result<W> {
        self.end_block()?;
        self.inner.write_all(&EOF_BLOCK)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for Writer<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut rest = data;
        while !rest.is_empty() {
            let room = BLOCK - self.buf.len();
            let n = room.min(rest.len());
            self.buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if self.buf.len() == BLOCK {
                let full = std::mem::take(&mut self.buf);
                self.emit(&full)?;
                self.buf = full;
                self.buf.clear();
            }
        }
        Ok(data.len())
    }

    /// Flushes what is already compressed; a partly filled block stays buffered, so that
    /// block boundaries do not depend on when flushes happen.
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// One BGZF block holding `data` (at most [`BLOCK`] bytes).
pub fn compress_block(data: &[u8], level: u32) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::with_capacity(data.len() / 2 + 64), flate2::Compression::new(level));
    enc.write_all(data)?;
    let cdata = enc.finish()?;
    let total = HEADER_LEN + cdata.len() + 8;
    if total > MAX_BLOCK {
        return Err(std::io::Error::other("BGZF block too large after compression"));
    }
    let mut crc = flate2::Crc::new();
    crc.update(data);
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&[0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 0x06, 0, b'B', b'C', 0x02, 0]);
    out.extend_from_slice(&((total - 1) as u16).to_le_bytes());
    out.extend_from_slice(&cdata);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Ok(out)
}

/// The next complete, valid block of `r`: its size in the file and its data. `None` at
/// the end of the file or at a truncated or damaged block (where a killed run stopped).
pub fn read_block(r: &mut impl Read) -> std::io::Result<Option<(usize, Vec<u8>)>> {
    let mut head = [0u8; HEADER_LEN];
    if !read_full(r, &mut head)? {
        return Ok(None);
    }
    if head[..4] != [0x1f, 0x8b, 0x08, 0x04] || u16::from_le_bytes([head[10], head[11]]) != 6 || head[12..14] != *b"BC" {
        return Ok(None);
    }
    let total = u16::from_le_bytes([head[16], head[17]]) as usize + 1;
    if total < HEADER_LEN + 8 {
        return Ok(None);
    }
    let mut rest = vec![0u8; total - HEADER_LEN];
    if !read_full(r, &mut rest)? {
        return Ok(None);
    }
    let (cdata, tail) = rest.split_at(rest.len() - 8);
    let crc_want = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let isize = u32::from_le_bytes([tail[4], tail[5], tail[6], tail[7]]) as usize;
    if isize > MAX_BLOCK {
        return Ok(None);
    }
    let mut data = Vec::with_capacity(isize);
    if flate2::read::DeflateDecoder::new(cdata).read_to_end(&mut data).is_err() || data.len() != isize {
        return Ok(None);
    }
    let mut crc = flate2::Crc::new();
    crc.update(&data);
    if crc.sum() != crc_want {
        return Ok(None);
    }
    Ok(Some((total, data)))
}

/// Fills `buf`; false when the input ends first.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => return Ok(false),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_and_are_independent_of_write_sizes() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let write = |chunks: usize| {
            let mut w = Writer::new(Vec::new(), 6);
            w.write_all(&data[..100]).unwrap();
            w.end_block().unwrap();
            for c in data[100..].chunks(chunks) {
                w.write_all(c).unwrap();
                w.flush().unwrap();
            }
            w.finish().unwrap()
        };
        let a = write(7);
        assert_eq!(a, write(5000));
        assert!(a.ends_with(&EOF_BLOCK));
        let mut r = &a[..];
        let mut back = Vec::new();
        let mut sizes = Vec::new();
        while let Some((_, d)) = read_block(&mut r).unwrap() {
            sizes.push(d.len());
            back.extend(d);
        }
        assert_eq!(back, data);
        assert_eq!(sizes[0], 100);
        assert_eq!(sizes[1], BLOCK);
        assert_eq!(*sizes.last().unwrap(), 0);
        // A truncated last block is not returned.
        let mut r = &a[..a.len() - 40];
        let mut n = 0;
        while read_block(&mut r).unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, sizes.len() - 2);
    }
}
