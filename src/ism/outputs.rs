//! The files one `shorkie-ism` run leaves in its output directory.
//!
//! Which files a run writes depends on its options (one per track column, saliency, plots,
//! groups), so a rerun into the same directory would leave files of the earlier run beside
//! the new `ism.tsv`, looking as if they belonged to it. Each run lists what it wrote in
//! `shorkie-ism.files`; the next run, once all its own files are in place, removes the
//! files the earlier list names and it did not write. Only names from that list are ever
//! removed (never anything else in the directory, which may be shared with other files),
//! and only plain files inside the directory.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The list of the last completed run's files, relative to the output directory.
pub const MANIFEST: &str = "shorkie-ism.files";
const HEADER: &str = "# files written by the last shorkie-ism run in this directory; a rerun removes those it does not write";

/// The files of one run, relative to its output directory.
#[derive(Debug, Default)]
pub struct Outputs {
    dir: PathBuf,
    written: BTreeSet<PathBuf>,
}

impl Outputs {
    pub fn new(dir: &Path) -> Self {
        Outputs { dir: dir.to_path_buf(), written: BTreeSet::new() }
    }

    /// The path of `name` in the directory, recorded as written by this run.
    pub fn path(&mut self, name: impl AsRef<Path>) -> PathBuf {
        self.written.insert(name.as_ref().to_path_buf());
        self.dir.join(name)
    }

    /// After every file is in place: removes the earlier run's files this run did not
    /// write, then records this run's list. Returns the names removed.
    pub fn finish(self) -> Result<Vec<PathBuf>> {
        let manifest = self.dir.join(MANIFEST);
        let earlier = match std::fs::read_to_string(&manifest) {
            Ok(text) => parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io(&manifest, e)),
        };
        let mut removed = Vec::new();
        for name in earlier.into_iter().filter(|n| !self.written.contains(n)) {
            let path = self.dir.join(&name);
            // Only a plain file is ours to remove (not a directory or a link put there since).
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_file() => {
                    std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                    removed.push(name);
                }
                _ => {}
            }
        }
        let mut text = format!("{HEADER}\n");
        for name in &self.written {
            text.push_str(&name.to_string_lossy());
            text.push('\n');
        }
        crate::io::write_atomic(&manifest, text.as_bytes())?;
        Ok(removed)
    }
}

/// The names of a manifest; anything that is not a plain relative path inside the
/// directory (absolute, `..`, empty) is ignored, so an edited list cannot reach outside.
fn parse(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(PathBuf::from)
        .filter(|p| p.components().all(|c| matches!(c, Component::Normal(_))) && p.components().next().is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rerun_removes_only_listed_files_it_did_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut first = Outputs::new(d);
        for name in ["ism.tsv", "ism.a.npz", "saliency.a.npz", "plots/w1.svg"] {
            let p = first.path(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        assert!(first.finish().unwrap().is_empty());
        std::fs::write(d.join("notes.txt"), "user file").unwrap();
        let mut second = Outputs::new(d);
        for name in ["ism.tsv", "ism.b.npz"] {
            std::fs::write(second.path(name), "y").unwrap();
        }
        let removed = second.finish().unwrap();
        assert_eq!(removed, vec![PathBuf::from("ism.a.npz"), PathBuf::from("plots/w1.svg"), PathBuf::from("saliency.a.npz")]);
        assert!(d.join("notes.txt").exists() && d.join("ism.b.npz").exists() && d.join("ism.tsv").exists());
        assert!(!d.join("ism.a.npz").exists() && !d.join("plots/w1.svg").exists());
        let listed = std::fs::read_to_string(d.join(MANIFEST)).unwrap();
        assert!(listed.ends_with("ism.b.npz\nism.tsv\n"), "{listed}");
    }

    #[test]
    fn names_outside_the_directory_are_ignored() {
        assert_eq!(parse("# h\n../x\n/etc/passwd\n\nplots/a.svg\n"), vec![PathBuf::from("plots/a.svg")]);
    }
}
