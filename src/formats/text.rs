//! Text inputs: a path, or `-` for stdin, holding plain, gzip or bgzip text. The
//! compression is told from the first bytes rather than the name, so pipes, FIFOs and
//! process substitution (`<(zcat x.gz)`) read like files.
//!
//! [`Lines`] reads numbered lines with `\n` or `\r\n` endings; errors name the source and
//! the line.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// What stdin is called in errors.
pub const STDIN: &str = "<stdin>";

/// An open text input and the name errors give it.
pub struct Text {
    reader: Box<dyn BufRead + Send>,
    source: String,
}

/// Opens `arg`: `-` is stdin, anything else a path.
pub fn open(arg: &str) -> Result<Text> {
    if arg == "-" {
        Text::from_reader(std::io::stdin(), STDIN)
    } else {
        open_path(Path::new(arg))
    }
}

/// Opens a file (or FIFO); a directory or a missing path is an error naming it.
pub fn open_path(path: &Path) -> Result<Text> {
    if path.is_dir() {
        return Err(Error::io(path, std::io::Error::new(std::io::ErrorKind::InvalidInput, "is a directory, not a file")));
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    Text::from_reader(file, &path.display().to_string())
}

/// Reads a whole text input (path or `-`) as UTF-8.
pub fn read_to_string(arg: &str) -> Result<(String, String)> {
    let text = open(arg)?;
    let source = text.source.clone();
    Ok((text.read_to_string()?, source))
}

/// Whether `head` starts a gzip member (gzip and bgzip alike).
fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

impl Text {
    /// Wraps a reader, decompressing it when it starts with gzip's magic bytes.
    pub fn from_reader(mut inner: impl Read + Send + 'static, source: &str) -> Result<Text> {
        let mut head = [0u8; 2];
        let mut got = 0;
        while got < head.len() {
            match inner.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Input(format!("{source}: cannot read ({e})"))),
            }
        }
        let whole = std::io::Cursor::new(head[..got].to_vec()).chain(inner);
        let reader: Box<dyn BufRead + Send> = if is_gzip(&head[..got]) {
            Box::new(BufReader::with_capacity(1 << 16, flate2::read::MultiGzDecoder::new(whole)))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, whole))
        };
        Ok(Text { reader, source: source.to_string() })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The decompressed bytes, for parsers that take a reader.
    pub fn into_reader(self) -> Box<dyn BufRead + Send> {
        self.reader
    }

    /// Numbered lines.
    pub fn lines(self) -> Lines<Box<dyn BufRead + Send>> {
        Lines::new(self.reader, &self.source)
    }

    /// The whole input as UTF-8 text.
    pub fn read_to_string(mut self) -> Result<String> {
        let mut bytes = Vec::new();
        self.reader
            .read_to_end(&mut bytes)
            .map_err(|e| Error::Input(format!("{}: cannot read ({e})", self.source)))?;
        String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            Error::Input(format!("{}:{line}: not UTF-8 text (byte offset {at})", self.source))
        })
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Text").field("source", &self.source).finish_non_exhaustive()
    }
}

impl Read for Text {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(buf)
    }
}

impl BufRead for Text {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.reader.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.reader.consume(amt)
    }
}

/// Lines of a text stream, numbered from 1, without their `\n` or `\r\n`.
pub struct Lines<R> {
    reader: R,
    source: String,
    lineno: usize,
    buf: Vec<u8>,
    /// The length of the last line read, without its ending.
    end: usize,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R, source: &str) -> Self {
        Lines { reader, source: source.to_string(), lineno: 0, buf: Vec::new(), end: 0 }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The number of the line last read (0 before the first).
    pub fn line_number(&self) -> usize {
        self.lineno
    }

    /// Reads the next line into the buffer; false at the end.
    fn advance(&mut self) -> Result<bool> {
        self.buf.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| Error::Input(format!("{}:{}: cannot read ({e})", self.source, self.lineno + 1)))?;
        if n == 0 {
            return Ok(false);
        }
        self.lineno += 1;
        let mut line = &self.buf[..];
        line = line.strip_suffix(b"\n").unwrap_or(line);
        line = line.strip_suffix(b"\r").unwrap_or(line);
        self.end = line.len();
        Ok(true)
    }

    /// The next line's number and bytes, or None at the end.
    pub fn next_bytes(&mut self) -> Result<Option<(usize, &[u8])>> {
        Ok(self.advance()?.then(|| (self.lineno, &self.buf[..self.end])))
    }

    /// The next line as UTF-8 text, or None at the end.
    pub fn next_line(&mut self) -> Result<Option<(usize, &str)>> {
        if !self.advance()? {
            return Ok(None);
        }
        match std::str::from_utf8(&self.buf[..self.end]) {
            Ok(s) => Ok(Some((self.lineno, s))),
            Err(e) => Err(Error::Input(format!(
                "{}:{}: not UTF-8 text (byte {} of the line)",
                self.source,
                self.lineno,
                e.valid_up_to() + 1
            ))),
        }
    }
}

/// Lines of an in-memory text, numbered from 1, without their `\n` or `\r\n`.
pub fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    // A final newline ends the last line; it does not start another.
    let body = text.strip_suffix('\n').unwrap_or(text);
    let empty = text.is_empty();
    body.split('\n')
        .filter(move |_| !empty)
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
}

/// One step of a reader's record iterator: `Ok(None)` (the end) and any error end it, so
/// a caller never reads past a bad line.
pub(crate) fn stop_after_error<T>(done: &mut bool, next: Result<Option<T>>) -> Option<Result<T>> {
    let r = next.transpose();
    if !matches!(r, Some(Ok(_))) {
        *done = true;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn all_lines(text: Text) -> Vec<(usize, String)> {
        let mut lines = text.lines();
        let mut out = Vec::new();
        while let Some((n, l)) = lines.next_line().unwrap() {
            out.push((n, l.to_string()));
        }
        out
    }

    #[test]
    fn plain_gzip_and_concatenated_members_read_alike() {
        let want = vec![(1, "a b".to_string()), (2, "".to_string()), (3, "c".to_string())];
        let plain = Text::from_reader(std::io::Cursor::new(b"a b\r\n\nc".to_vec()), "p").unwrap();
        assert_eq!(all_lines(plain), want);
        let one = Text::from_reader(std::io::Cursor::new(gz(b"a b\r\n\nc")), "g").unwrap();
        assert_eq!(all_lines(one), want);
        // bgzip writes many members; a reader must not stop after the first.
        let mut two = gz(b"a b\r\n\n");
        two.extend(gz(b"c"));
        assert_eq!(all_lines(Text::from_reader(std::io::Cursor::new(two), "b").unwrap()), want);
        assert!(all_lines(Text::from_reader(std::io::empty(), "e").unwrap()).is_empty());
        // One byte only: too short for a magic number, still text.
        assert_eq!(Text::from_reader(std::io::Cursor::new(b"x".to_vec()), "x").unwrap().read_to_string().unwrap(), "x");
    }

    #[test]
    fn errors_name_the_source_and_line() {
        let bad = Text::from_reader(std::io::Cursor::new(b"ok\nbad \xff\n".to_vec()), "t.txt").unwrap();
        let mut lines = bad.lines();
        assert!(lines.next_line().unwrap().is_some());
        assert_eq!(lines.next_line().unwrap_err().to_string(), "t.txt:2: not UTF-8 text (byte 5 of the line)");
        let bad = Text::from_reader(std::io::Cursor::new(b"ok\nbad \xff\n".to_vec()), "t.txt").unwrap();
        assert_eq!(bad.read_to_string().unwrap_err().to_string(), "t.txt:2: not UTF-8 text (byte offset 7)");
        let mut cut = gz(b"some text that is long enough");
        cut.truncate(cut.len() - 10);
        let e = Text::from_reader(std::io::Cursor::new(cut), "c.gz").unwrap().read_to_string().unwrap_err();
        assert!(e.to_string().starts_with("c.gz: cannot read"), "{e}");
    }

    #[test]
    fn paths_directories_and_fifos() {
        let dir = tempfile::tempdir().unwrap();
        let e = open_path(dir.path()).unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
        let e = open_path(&dir.path().join("missing.txt")).unwrap_err().to_string();
        assert!(e.contains("missing.txt"), "{e}");
        let p = dir.path().join("x.gz");
        std::fs::write(&p, gz(b"hello\n")).unwrap();
        assert_eq!(read_to_string(p.to_str().unwrap()).unwrap().0, "hello\n");
        // A FIFO (as process substitution makes) is read like a file.
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(fifo, gz(b"piped\n")).unwrap())
        };
        assert_eq!(read_to_string(fifo.to_str().unwrap()).unwrap().0, "piped\n");
        writer.join().unwrap();
    }

    #[test]
    fn numbered_lines_drop_the_final_newline_only() {
        let v: Vec<_> = numbered_lines("a\r\n\nb\n").collect();
        assert_eq!(v, vec![(1, "a"), (2, ""), (3, "b")]);
        let v: Vec<_> = numbered_lines("a\nb").collect();
        assert_eq!(v, vec![(1, "a"), (2, "b")]);
        assert_eq!(numbered_lines("").count(), 0);
    }
}
