//! File output that never leaves a truncated file behind.

use std::io::Write;
use std::path::Path;

use std::collections::HashMap;

use candle_core::Tensor;

use crate::error::{Error, Result};

/// Makes output directory `dir` (and its parents) if needed and checks that files can be
/// made in it, so a bad destination fails before any work.
pub fn prepare_output_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Input(format!("{}: cannot create output directory ({e})", dir.display())))?;
    tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| Error::Input(format!("{}: output directory is not writable ({e})", dir.display())))?;
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(Error::io(path, std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("directory {} does not exist", dir.display()),
        )));
    }
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| Error::io(path, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    // tempfile creates 0600 files; outputs are ordinary files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perms = std::fs::Permissions::from_mode(0o644);
        tmp.as_file().set_permissions(perms).map_err(|e| Error::io(path, e))?;
    }
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

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
    write_atomic(path, &bytes)
}
