//! The one way every binary writes an output file.
//!
//! A regular destination `FILE` is written as `FILE.partial.<pid>.<random>` beside it
//! (never shared by two runs), every write checked, flushed and fsynced, then renamed over
//! `FILE`; dropped before [`Staged::commit`], the partial is removed. Destinations that a
//! rename would destroy are not replaced: a FIFO or a character device (a terminal,
//! `/dev/null`) is written directly, and a symbolic link is written through, never
//! replaced: its target file is staged and replaced beside the target, a target device or
//! FIFO (`-o /dev/stdout`) is written directly. `-` is standard output, written directly.
//!
//! `shorkie-score` keeps its resumable partial under a stable, locked name (see
//! `score::resume`); it uses the same rules for what `-o` may point at ([`Target`]).

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What `-o PATH` points at, decided before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `-`: standard output.
    Stdout,
    /// A regular file or a path that does not exist yet: staged and renamed.
    Regular(PathBuf),
    /// A FIFO or a device: written directly, never renamed over.
    Direct(PathBuf),
}

impl Target {
    pub fn of(path: &Path) -> Result<Target> {
        if path.as_os_str() == "-" {
            return Ok(Target::Stdout);
        }
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                check_parent(path)?;
                return Ok(Target::Regular(path.to_path_buf()));
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        let mut ft = meta.file_type();
        if ft.is_symlink() {
            // Written through: a link to a file gets the file staged and replaced beside
            // its target (the link stays), a link to a device or FIFO (`/dev/stdout`) is
            // written directly.
            let target = std::fs::metadata(path).map_err(|e| {
                Error::Input(format!("{}: is a symbolic link whose target cannot be used ({e})", path.display()))
            })?;
            ft = target.file_type();
            if ft.is_file() {
                let real = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
                return Ok(Target::Regular(real));
            }
        }
        if ft.is_dir() {
            return Err(Error::Input(format!("{}: is a directory, not an output file", path.display())));
        }
        if ft.is_file() {
            return Ok(Target::Regular(path.to_path_buf()));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if ft.is_fifo() || ft.is_char_device() {
                return Ok(Target::Direct(path.to_path_buf()));
            }
        }
        Err(Error::Input(format!(
            "{}: is not a regular file, FIFO or character device; refusing to write or replace it",
            path.display()
        )))
    }

    /// How the destination is named in messages.
    pub fn shown(&self) -> String {
        match self {
            Target::Stdout => "<stdout>".into(),
            Target::Regular(p) | Target::Direct(p) => p.display().to_string(),
        }
    }
}

fn check_parent(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, format!("directory {} does not exist", dir.display())),
        ));
    }
    Ok(())
}

pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A name no other run uses: process id and a per-process random number.
fn unique_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the OS once per process.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    format!("{}.{:016x}", std::process::id(), h.finish())
}

/// `FILE.partial.<pid>.<random>`.
pub fn unique_partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".partial.{}", unique_suffix()));
    dest.with_file_name(name)
}

/// Creates `path` exclusively, as an ordinary (umask-governed) file.
pub fn create_new(path: &Path) -> std::io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o666);
    }
    o.open(path)
}

/// fsyncs `path`'s directory so a rename into it survives a crash; file systems that
/// cannot sync a directory are not an error.
pub fn sync_dir(path: &Path) {
    if let Ok(d) = File::open(parent_dir(path)) {
        let _ = d.sync_all();
    }
}

enum Mode {
    Partial { partial: PathBuf },
    Direct,
}

/// An output file being written; see the module comment.
pub struct Staged {
    file: Option<File>,
    mode: Mode,
    dest: Target,
}

impl Staged {
    /// Opens the destination `path` (`-` for standard output).
    pub fn new(path: &Path) -> Result<Self> {
        Self::to(Target::of(path)?)
    }

    pub fn to(dest: Target) -> Result<Self> {
        let (file, mode) = match &dest {
            Target::Stdout => (stdout_file()?, Mode::Direct),
            Target::Direct(p) => {
                let f = std::fs::OpenOptions::new().write(true).open(p).map_err(|e| Error::io(p, e))?;
                (f, Mode::Direct)
            }
            Target::Regular(p) => {
                let partial = unique_partial_path(p);
                let f = create_new(&partial).map_err(|e| Error::io(p, e))?;
                (f, Mode::Partial { partial })
            }
        };
        Ok(Staged { file: Some(file), mode, dest })
    }

    /// The destination (for `-`, the path `-`).
    pub fn path(&self) -> &Path {
        match &self.dest {
            Target::Stdout => Path::new("-"),
            Target::Regular(p) | Target::Direct(p) => p,
        }
    }

    /// The destination as messages name it (`<stdout>` for `-`).
    pub fn shown(&self) -> String {
        self.dest.shown()
    }

    /// Whether the output can be sought and read back (a staged regular file).
    pub fn is_staged(&self) -> bool {
        matches!(self.mode, Mode::Partial { .. })
    }

    /// An I/O error on this output, naming its destination.
    pub fn err(&self, e: std::io::Error) -> Error {
        Error::io(self.shown(), e)
    }

    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("a Staged file is present until commit")
    }

    /// fsyncs the data and renames the partial over the destination (regular files), or
    /// flushes it (direct destinations). Any failure removes the partial.
    pub fn commit(mut self) -> Result<()> {
        let file = self.file.take().expect("a Staged file is present until commit");
        let shown = self.dest.shown();
        match &self.mode {
            Mode::Direct => {
                let mut file = file;
                file.flush().map_err(|e| Error::io(&shown, e))?;
                Ok(())
            }
            Mode::Partial { partial } => {
                let partial = partial.clone();
                let dest = self.path().to_path_buf();
                file.sync_all().map_err(|e| Error::io(&shown, e))?;
                drop(file);
                // The destination may have become a link or a FIFO since we started.
                Target::of(&dest)?;
                std::fs::rename(&partial, &dest).map_err(|e| Error::io(&shown, e))?;
                // Renamed: nothing left for Drop to remove.
                self.mode = Mode::Direct;
                sync_dir(&dest);
                Ok(())
            }
        }
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Mode::Partial { partial } = &self.mode {
            self.file.take();
            let _ = std::fs::remove_file(partial);
        }
    }
}

impl Write for Staged {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file().flush()
    }
}

impl Seek for Staged {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.file().seek(pos)
    }
}

/// Standard output as a `File` (a duplicate of descriptor 1), so every destination is
/// written the same way.
pub fn stdout_file() -> Result<File> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let fd = std::io::stdout().as_fd().try_clone_to_owned().map_err(|e| Error::io("<stdout>", e))?;
        Ok(File::from(fd))
    }
    #[cfg(not(unix))]
    {
        Err(Error::Input("writing files to standard output needs a Unix system".into()))
    }
}

/// Writes `bytes` to `path` (`-` for standard output) through [`Staged`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut staged = Staged::new(path)?;
    let r = staged.file().write_all(bytes);
    r.map_err(|e| staged.err(e))?;
    staged.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_files_are_renamed_on_commit_and_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.txt");
        let mut s = Staged::new(&out).unwrap();
        s.write_all(b"one").unwrap();
        let listing = || std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect::<Vec<_>>();
        let names = listing();
        assert_eq!(names.len(), 1);
        assert!(names[0].starts_with(&format!("a.txt.partial.{}.", std::process::id())), "{names:?}");
        s.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"one");
        assert_eq!(listing(), vec!["a.txt".to_string()]);
        let mut s = Staged::new(&out).unwrap();
        s.write_all(b"two").unwrap();
        drop(s);
        assert_eq!(std::fs::read(&out).unwrap(), b"one");
        assert_eq!(listing(), vec!["a.txt".to_string()]);
    }

    #[test]
    fn two_staged_writers_on_one_destination_never_share_a_partial() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.txt");
        let mut a = Staged::new(&out).unwrap();
        let mut b = Staged::new(&out).unwrap();
        a.write_all(b"aaaa").unwrap();
        b.write_all(b"bb").unwrap();
        a.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"aaaa");
        b.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"bb");
    }

    #[cfg(unix)]
    #[test]
    fn links_are_written_through_and_fifos_written_directly() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.txt");
        std::fs::write(&target, b"keep").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, b"through").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"through");
        let dangling = dir.path().join("dangling.txt");
        std::os::unix::fs::symlink(dir.path().join("nowhere/x"), &dangling).unwrap();
        assert!(write_atomic(&dangling, b"x").unwrap_err().to_string().contains("symbolic link"));

        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_atomic(&fifo, b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    }
}
