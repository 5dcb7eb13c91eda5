//! File output that never leaves a truncated file behind.

use std::path::Path;

use std::collections::HashMap;

use candle_core::Tensor;

use crate::error::{Error, Result};

/// Makes output directory `dir` (and its parents) if needed and checks that files can be
/// made in it, so a bad destination fails before any work. A run that fails after this
/// leaves no empty directory behind: the returned guard removes the directory, when this
/// call made it and it is still empty, unless [`OutputDir::keep`] is called.
pub fn prepare_output_dir(dir: &Path) -> Result<OutputDir> {
    if dir.as_os_str() == "-" {
        return Err(Error::Input("-o -: this output is a directory of files, not a stream; give a directory".into()));
    }
    let made = !dir.exists();
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Input(format!("{}: cannot create output directory ({e})", dir.display())))?;
    let guard = OutputDir { path: dir.to_path_buf(), made, kept: false };
    tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| Error::Input(format!("{}: output directory is not writable ({e})", dir.display())))?;
    Ok(guard)
}

/// An output directory made for a run; see [`prepare_output_dir`].
#[must_use = "dropping the guard removes a directory it made while it is empty"]
#[derive(Debug)]
pub struct OutputDir {
    path: std::path::PathBuf,
    made: bool,
    kept: bool,
}

impl OutputDir {
    /// The run succeeded (or its directory holds state worth keeping): leave it in place.
    pub fn keep(mut self) {
        self.kept = true;
    }

    /// Whether this run made the directory.
    pub fn made(&self) -> bool {
        self.made
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if self.made && !self.kept {
            // Only an empty directory goes: finished outputs of a partly failed run stay.
            let _ = std::fs::remove_dir(&self.path);
        }
    }
}

pub use crate::staged::{write_atomic, Staged};

/// Saves f32 tensors (sorted by name) with metadata as safetensors, atomically.
pub fn save_tensors(tensors: &HashMap<String, Tensor>, meta: HashMap<String, String>, path: &Path) -> Result<()> {
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    let mut buffers: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for name in names {
        let t = &tensors[name];
        let data: Vec<f32> = t.to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1()?;
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        buffers.push((name.clone(), t.dims().to_vec(), bytes));
    }
    let mut views = Vec::new();
    for (name, shape, bytes) in &buffers {
        let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
            .map_err(|e| Error::Other(format!("{name}: {e}")))?;
        views.push((name.clone(), view));
    }
    let bytes = safetensors::serialize(views, Some(meta)).map_err(|e| Error::Other(format!("cannot serialise tensors: {e}")))?;
    write_atomic(path, &canonical_header(bytes)?)
}

/// The safetensors crate writes the metadata map in hash order and pads the header with
/// trailing spaces. Re-writing the header with sorted keys makes the same weights give the
/// same bytes, and putting the alignment padding inside the JSON object keeps the header
/// ending in `}` (which Galaxy's safetensors sniffer requires; the format allows either).
fn canonical_header(bytes: Vec<u8>) -> Result<Vec<u8>> {
    let bad = || Error::Other("safetensors serialiser wrote an unreadable header".into());
    let n = u64::from_le_bytes(bytes.get(..8).ok_or_else(bad)?.try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(bytes.get(8..8 + n).ok_or_else(bad)?).map_err(|_| bad())?;
    // serde_json's map is ordered by key.
    let mut json = serde_json::to_string(&header).map_err(|_| bad())?;
    let pad = (8 - (8 + json.len()) % 8) % 8;
    json.insert_str(json.len() - 1, &" ".repeat(pad));
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(json.as_bytes());
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_run_removes_only_the_empty_directory_it_made() {
        let tmp = tempfile::tempdir().unwrap();
        // Made and dropped while empty: gone (its parent, made too, stays).
        let made = tmp.path().join("a/b");
        drop(prepare_output_dir(&made).unwrap());
        assert!(!made.exists() && tmp.path().join("a").exists());
        // Made, but outputs were written before the failure: kept with them.
        let partial = tmp.path().join("partial");
        let guard = prepare_output_dir(&partial).unwrap();
        std::fs::write(partial.join("done.tsv"), "x").unwrap();
        drop(guard);
        assert!(partial.join("done.tsv").exists());
        // Kept after success, even empty.
        let ok = tmp.path().join("ok");
        prepare_output_dir(&ok).unwrap().keep();
        assert!(ok.is_dir());
        // There before the run: never removed.
        let existing = tmp.path().join("existing");
        std::fs::create_dir(&existing).unwrap();
        let guard = prepare_output_dir(&existing).unwrap();
        assert!(!guard.made());
        drop(guard);
        assert!(existing.is_dir());
        assert!(prepare_output_dir(Path::new("-")).is_err());
    }

    #[test]
    fn saved_tensors_are_byte_stable_with_a_header_ending_in_a_brace() {
        let dir = tempfile::tempdir().unwrap();
        let mut tensors = HashMap::new();
        tensors.insert("a.kernel".to_string(), Tensor::arange(0f32, 6.0, &candle_core::Device::Cpu).unwrap().reshape((2, 3)).unwrap());
        tensors.insert("b".to_string(), Tensor::new(&[1f32], &candle_core::Device::Cpu).unwrap());
        let meta: HashMap<String, String> = (0..12).map(|i| (format!("key{i}"), format!("v{i}"))).collect();
        let mut files = Vec::new();
        for i in 0..3 {
            let p = dir.path().join(format!("{i}.safetensors"));
            save_tensors(&tensors, meta.clone(), &p).unwrap();
            files.push(std::fs::read(&p).unwrap());
        }
        assert!(files.windows(2).all(|w| w[0] == w[1]), "same weights, same bytes");
        let bytes = &files[0];
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!((8 + n) % 8, 0);
        assert_eq!(bytes[8 + n - 1], b'}');
        let st = safetensors::SafeTensors::deserialize(bytes).unwrap();
        let a = st.tensor("a.kernel").unwrap();
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(&a.data()[4..8], &1f32.to_le_bytes());
        let (_, md) = safetensors::SafeTensors::read_metadata(bytes).unwrap();
        assert_eq!(md.metadata().as_ref().unwrap().get("key7").map(String::as_str), Some("v7"));
    }
}
