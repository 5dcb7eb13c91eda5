//! Reads the Keras H5 files baskerville's `SeqNN.save` writes: the `model_config`
//! attribute (layer classes, names, input shape) and the `model_weights` group.
//! Pure Rust (hdf5-reader), so users need neither Python nor libhdf5.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// One layer of the Keras functional model.
#[derive(Debug, Clone)]
pub struct KerasLayer {
    pub name: String,
    pub class_name: String,
    pub config: Value,
}

/// A weight tensor of a layer, as stored.
#[derive(Debug, Clone)]
pub struct KerasWeight {
    /// The weight's name inside its layer, without the `:0` suffix: `kernel`, `q_layer/kernel`.
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

pub struct KerasModel {
    pub path: String,
    pub layers: Vec<KerasLayer>,
    /// `[batch, length, channels]` of the model's input, `None` for free dimensions.
    pub input_shape: Vec<Option<usize>>,
    file: hdf5_reader::Hdf5File,
}

impl KerasModel {
    fn err(&self, msg: impl Into<String>) -> Error {
        Error::Keras { path: self.path.clone(), msg: msg.into() }
    }

    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let fail = |msg: String| Error::Keras { path: shown.clone(), msg };
        if !path.exists() {
            return Err(Error::io(path, std::io::Error::from(std::io::ErrorKind::NotFound)));
        }
        let file = hdf5_reader::Hdf5File::open(path)
            .map_err(|e| fail(format!("not a readable HDF5 file ({e})")))?;
        // Like libhdf5, refuse a file shorter than the end address its superblock records.
        let size = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
        let sb = file.superblock();
        let stored_eof = sb.base_address.saturating_add(sb.eof_address);
        if size < stored_eof {
            return Err(fail(format!(
                "truncated HDF5 file: {size} bytes, the superblock records {stored_eof}"
            )));
        }
        let root = file.root_group().map_err(|e| fail(format!("cannot read the root group ({e})")))?;
        let config_text = root
            .attribute("model_config")
            .map_err(|_| fail("no \"model_config\" attribute: not a Keras model file".into()))?
            .read_string()
            .map_err(|e| fail(format!("cannot read model_config ({e})")))?;
        let config: Value = serde_json::from_str(&config_text)
            .map_err(|e| fail(format!("model_config is not valid JSON ({e})")))?;
        let layer_list = config
            .pointer("/config/layers")
            .and_then(Value::as_array)
            .ok_or_else(|| fail("model_config has no config.layers list".into()))?;
        let mut layers = Vec::new();
        let mut input_shape = Vec::new();
        for l in layer_list {
            let class_name = l.get("class_name").and_then(Value::as_str).unwrap_or("").to_string();
            let lc = l.get("config").cloned().unwrap_or(Value::Null);
            let name = lc.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            if class_name == "InputLayer" {
                if let Some(dims) = lc.get("batch_input_shape").and_then(Value::as_array) {
                    input_shape = dims.iter().map(|d| d.as_u64().map(|n| n as usize)).collect();
                }
            }
            layers.push(KerasLayer { name, class_name, config: lc });
        }
        if input_shape.len() != 3 {
            return Err(fail(format!(
                "model_config input shape {input_shape:?} is not [batch, length, channels]"
            )));
        }
        Ok(KerasModel { path: shown, layers, input_shape, file })
    }

    pub fn seq_length(&self) -> Option<usize> {
        self.input_shape[1]
    }

    pub fn channels(&self) -> Option<usize> {
        self.input_shape[2]
    }

    /// The stored weights of one layer, in the layer's own `weight_names` order.
    pub fn weights(&self, layer: &str) -> Result<Vec<KerasWeight>> {
        let group = self
            .file
            .group(&format!("/model_weights/{layer}"))
            .map_err(|e| self.err(format!("layer \"{layer}\" has no weights group ({e})")))?;
        let names = match group.attribute("weight_names") {
            Ok(a) => {
                if a.num_elements().unwrap_or(0) == 0 {
                    Vec::new()
                } else {
                    a.read_strings()
                        .or_else(|_| a.read_vlen_strings(&[], 8))
                        .map_err(|e| self.err(format!("layer \"{layer}\": unreadable weight_names ({e})")))?
                }
            }
            Err(_) => Vec::new(),
        };
        let mut out = Vec::new();
        for full in names {
            let dataset = self
                .file
                .dataset(&format!("/model_weights/{layer}/{full}"))
                .map_err(|e| self.err(format!("layer \"{layer}\": weight \"{full}\" is missing ({e})")))?;
            let shape: Vec<usize> = dataset.shape().iter().map(|&d| d as usize).collect();
            let array = dataset
                .read_array::<f32>()
                .map_err(|e| self.err(format!("layer \"{layer}\": cannot read \"{full}\" ({e})")))?;
            let data: Vec<f32> = array.iter().copied().collect();
            let expected: usize = shape.iter().product();
            if data.len() != expected {
                return Err(self.err(format!(
                    "layer \"{layer}\": \"{full}\" holds {} values for shape {shape:?}",
                    data.len()
                )));
            }
            // "conv1d/kernel:0" -> "kernel"; "multihead_attention/q_layer/kernel:0" -> "q_layer/kernel"
            let trimmed = full.strip_suffix(":0").unwrap_or(&full);
            let name = trimmed.split_once('/').map(|(_, rest)| rest).unwrap_or(trimmed).to_string();
            out.push(KerasWeight { name, shape, data });
        }
        Ok(out)
    }
}
