//! Keras H5 -> our safetensors: the H5's weight-carrying layers, ordered by Keras'
//! creation counter within each class, are matched one to one with the layers our
//! builder creates from params.json (the same order baskerville creates them).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{Device, Tensor};

use crate::builder::KerasClass;
use crate::config::Params;
use crate::error::{Error, Result};
use crate::keras_h5::KerasModel;
use crate::model::{save_model_tensors_with_head, HeadRecord, SeqNN};

/// Layer classes that carry no weights in a SeqNN and are skipped.
const WEIGHTLESS: &[&str] = &[
    "InputLayer", "StochasticShift", "StochasticReverseComplement", "SwitchReverse",
    "TFOpLambda", "Activation", "ReLU", "Dropout", "Add", "MaxPooling1D", "UpSampling1D",
    "Cropping1D", "Softplus", "Flatten", "Reshape",
];

/// Keras' default layer name for a class (its `to_snake_case`):
/// `MultiheadAttention` -> `multihead_attention`, `Conv1D` -> `conv1d`.
fn snake_case(class: &str) -> String {
    static WORD: std::sync::OnceLock<(regex::Regex, regex::Regex)> = std::sync::OnceLock::new();
    let (words, humps) = WORD.get_or_init(|| {
        (
            regex::Regex::new("(.)([A-Z][a-z0-9]+)").expect("valid regex"),
            regex::Regex::new("([a-z])([A-Z])").expect("valid regex"),
        )
    });
    let first = words.replace_all(class, "${1}_${2}");
    humps.replace_all(&first, "${1}_${2}").to_lowercase()
}

/// The creation counter Keras appended to a default name (`conv1d_7` -> 7, `conv1d` -> 0).
fn creation_index(name: &str, class: &str) -> Option<u64> {
    let base = snake_case(class);
    if name == base {
        return Some(0);
    }
    name.strip_prefix(&base)?.strip_prefix('_')?.parse().ok()
}

/// The converted weights, keyed by our parameter names.
pub struct Converted {
    pub tensors: HashMap<String, Tensor>,
    pub in_channels: usize,
    /// Which head of a multi-head params.json the file held (None for one head).
    pub head: Option<HeadRecord>,
    /// Output tracks of the (first) head.
    pub tracks: usize,
}

/// Converts the file holding head `head` of `params` (baskerville saves each head of a
/// multi-head model as its own file: the shared trunk plus that head). When the file
/// does not fit that head but fits another, the error names the one it fits.
pub fn convert_head(keras: &KerasModel, params: &Params, head: usize) -> Result<Converted> {
    let selected = params.select_head(head)?;
    let first = match convert(keras, &selected) {
        Ok(mut c) => {
            if params.model.heads.len() > 1 {
                let key = params.model.heads[head].0.clone();
                c.head = Some(HeadRecord { index: head, key, tracks: c.tracks });
            }
            return Ok(c);
        }
        Err(e) => e,
    };
    for other in (0..params.model.heads.len()).filter(|&i| i != head) {
        let alt = params.select_head(other)?;
        if convert(keras, &alt).is_ok() {
            let key = &params.model.heads[other].0;
            return Err(Error::Keras {
                path: keras.path.clone(),
                msg: format!("holds head {other} ({key}) of {}, not head {head}: use --head {other}", params.source),
            });
        }
    }
    Err(first)
}

pub fn convert(keras: &KerasModel, params: &Params) -> Result<Converted> {
    let fail = |msg: String| Error::Keras { path: keras.path.clone(), msg };
    let in_channels = keras
        .channels()
        .ok_or_else(|| fail("model input has no fixed channel count".into()))?;
    if let Some(n) = params.model.num_features {
        if n != in_channels {
            return Err(fail(format!(
                "input has {in_channels} channels but {} sets model.num_features = {n}",
                params.source
            )));
        }
    }
    if let Some(len) = keras.seq_length() {
        if len != params.model.seq_length {
            return Err(fail(format!(
                "input length is {len} but {} has model.seq_length = {}",
                params.source, params.model.seq_length
            )));
        }
    }

    // The layers our params.json builds, in creation order.
    let (plan, _) = SeqNN::fresh(params, in_channels, &Device::Cpu)?;
    let mut wanted: BTreeMap<KerasClass, Vec<&crate::builder::KerasSlot>> = BTreeMap::new();
    for slot in plan.keras_slots() {
        wanted.entry(slot.class).or_default().push(slot);
    }

    // The H5's weight-carrying layers, per class, in creation order.
    let mut found: BTreeMap<KerasClass, Vec<(Option<u64>, &str)>> = BTreeMap::new();
    for layer in &keras.layers {
        match KerasClass::from_class_name(&layer.class_name) {
            Some(class) => found.entry(class).or_default().push((
                creation_index(&layer.name, &layer.class_name),
                layer.name.as_str(),
            )),
            None if WEIGHTLESS.contains(&layer.class_name.as_str()) => {}
            None => {
                return Err(fail(format!(
                    "layer \"{}\" of class {} is not part of a baskerville SeqNN this tool reads",
                    layer.name, layer.class_name
                )))
            }
        }
    }
    for layers in found.values_mut() {
        if layers.iter().all(|(idx, _)| idx.is_some()) {
            layers.sort_by_key(|(idx, _)| idx.expect("checked"));
        }
    }

    let classes: std::collections::BTreeSet<KerasClass> =
        wanted.keys().chain(found.keys()).copied().collect();
    for class in &classes {
        let n_want = wanted.get(class).map_or(0, Vec::len);
        let n_found = found.get(class).map_or(0, Vec::len);
        if n_want != n_found {
            return Err(fail(format!(
                "has {n_found} {} layers but {} builds {n_want}: a different architecture",
                class.class_name(),
                params.source
            )));
        }
    }

    let mut tensors = HashMap::new();
    for class in &classes {
        let slots = &wanted[class];
        let layers = &found[class];
        for (slot, (_, layer_name)) in slots.iter().zip(layers.iter()) {
            let mut stored: HashMap<String, crate::keras_h5::KerasWeight> = keras
                .weights(layer_name)?
                .into_iter()
                .map(|w| (w.name.clone(), w))
                .collect();
            for w in &slot.weights {
                let got = stored.remove(w.keras).ok_or_else(|| {
                    fail(format!(
                        "layer \"{layer_name}\" ({}) has no \"{}\" weight, needed for {}",
                        class.class_name(),
                        w.keras,
                        w.ours
                    ))
                })?;
                if got.shape != w.shape {
                    return Err(fail(format!(
                        "layer \"{layer_name}\" weight \"{}\" has shape {:?}, {} needs {:?} for {}: a different architecture",
                        w.keras, got.shape, params.source, w.shape, w.ours
                    )));
                }
                let t = Tensor::from_vec(got.data, got.shape.as_slice(), &Device::Cpu)?;
                tensors.insert(w.ours.clone(), t);
            }
            if let Some(extra) = stored.keys().next() {
                return Err(fail(format!(
                    "layer \"{layer_name}\" weight \"{extra}\" has no place in the architecture of {}",
                    params.source
                )));
            }
        }
    }
    let tracks = plan.heads()[0].shape.ch;
    Ok(Converted { tensors, in_channels, head: None, tracks })
}

/// Writes weights as safetensors, through a temporary file renamed into place.
pub fn save_safetensors(converted: &Converted, path: &Path) -> Result<()> {
    save_model_tensors_with_head(&converted.tensors, converted.in_channels, converted.head.as_ref(), path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_default_names() {
        assert_eq!(snake_case("MultiheadAttention"), "multihead_attention");
        assert_eq!(snake_case("Conv1D"), "conv1d");
        assert_eq!(snake_case("SeparableConv1D"), "separable_conv1d");
        assert_eq!(snake_case("BatchNormalization"), "batch_normalization");
        assert_eq!(creation_index("conv1d_12", "Conv1D"), Some(12));
        assert_eq!(creation_index("conv1d", "Conv1D"), Some(0));
        assert_eq!(creation_index("dense_1", "Conv1D"), None);
    }
}
