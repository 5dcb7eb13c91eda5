//! `-m FILE` takes either our safetensors or a Keras `model_best.h5` as baskerville saves
//! it: an HDF5 file is converted on the fly (head 0 of a multi-head file) and the result
//! cached, so the published folds can be used without a `shorkie-convert` step and the
//! second run starts as fast as from safetensors.
//!
//! The cache is `$SHORKIE_CACHE`, else `$XDG_CACHE_HOME/shorkie`, else `~/.cache/shorkie`;
//! an entry is keyed by the H5's path, size and modification time and the params.json
//! contents. A cache that cannot be written costs only the conversion next time.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use candle_core::Device;

use crate::convert::{convert_head, save_safetensors};
use crate::error::{Error, Result};
use crate::keras_h5::KerasModel;
use crate::{Params, SeqNN};

const HDF5_MAGIC: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Whether `path` starts like an HDF5 file.
pub fn is_hdf5(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 8];
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]).map_err(|e| Error::io(path, e))? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got == head.len() && &head == HDF5_MAGIC)
}

/// The cache folder, if one can be named.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("SHORKIE_CACHE")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("shorkie")))
        .or_else(|| var("HOME").map(|d| d.join(".cache/shorkie")))
}

/// The cache entry for converting `h5` with `params`.
fn cache_entry(h5: &Path, params: &Params) -> Result<Option<PathBuf>> {
    let Some(dir) = cache_dir() else { return Ok(None) };
    let meta = std::fs::metadata(h5).map_err(|e| Error::io(h5, e))?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::fs::canonicalize(h5).unwrap_or_else(|_| h5.to_path_buf()).hash(&mut hasher);
    meta.len().hash(&mut hasher);
    meta.modified().ok().hash(&mut hasher);
    format!("{:?}", params.model).hash(&mut hasher);
    let stem = h5.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
    Ok(Some(dir.join(format!("{stem}-{:016x}.safetensors", hasher.finish()))))
}

/// Loads `path` (safetensors, or a Keras H5 converted through the cache) for `params`.
pub fn load_model(params: &Params, path: &Path, device: &Device) -> Result<SeqNN> {
    if !is_hdf5(path)? {
        return SeqNN::load(params, path, device);
    }
    let entry = cache_entry(path, params)?;
    if let Some(cached) = entry.as_ref().filter(|p| p.is_file()) {
        if let Ok(model) = SeqNN::load(params, cached, device) {
            return Ok(model);
        }
    }
    let keras = KerasModel::open(path)?;
    let converted = convert_head(&keras, params, 0)?;
    if let Some(entry) = &entry {
        let stored = entry.parent().map_or(Ok(()), std::fs::create_dir_all).map_err(|e| Error::io(entry, e)).and_then(|_| save_safetensors(&converted, entry));
        if let Err(e) = stored {
            eprintln!("shorkie: warning: converted {} but cannot cache it: {}", path.display(), e.one_line());
        } else {
            return SeqNN::load(params, entry, device);
        }
    }
    let tensors = converted.tensors.into_iter().map(|(k, v)| Ok((k, v.to_device(device)?))).collect::<Result<_>>()?;
    let selected = match &converted.head {
        Some(h) => params.select_head(h.index)?,
        None => params.clone(),
    };
    let mut model = SeqNN::from_tensors(&selected, converted.in_channels, tensors, device, &path.display().to_string())?;
    model.head_record = converted.head.clone();
    Ok(model)
}
