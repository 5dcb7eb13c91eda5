//! `params.json` as typed structs, mirroring baskerville's JSON.
//!
//! The `train` block and the model-level keys are checked strictly: an unknown key is an
//! error naming it. Trunk and head blocks are kept as raw argument maps here and checked
//! by the block registry, which knows each block's keys.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Everything in a baskerville `params.json`.
#[derive(Debug, Clone)]
pub struct Params {
    pub train: Option<TrainParams>,
    pub model: ModelParams,
    /// Where the params came from, for error messages.
    pub source: String,
}

/// The `train` block (optimiser, loss and data settings). Not used for inference, but
/// parsed strictly so a typo is caught before a long training run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainParams {
    pub task: Option<String>,
    pub num_gpu: Option<u32>,
    pub batch_size: Option<usize>,
    pub shuffle_buffer: Option<usize>,
    pub optimizer: Option<String>,
    pub learning_rate: Option<f64>,
    pub momentum: Option<f64>,
    pub loss: Option<String>,
    pub total_weight: Option<f64>,
    pub mask_rate: Option<f64>,
    pub warmup_steps: Option<usize>,
    pub global_clipnorm: Option<f64>,
    pub adam_beta1: Option<f64>,
    pub adam_beta2: Option<f64>,
    pub patience: Option<usize>,
    pub train_epochs_min: Option<usize>,
    pub train_epochs_max: Option<usize>,
    pub steps_per_epoch_max: Option<usize>,
    pub shuffle_records: Option<bool>,
    pub has_targets: Option<bool>,
    pub has_label: Option<bool>,
    pub has_mask: Option<bool>,
    pub has_repeat_mask: Option<bool>,
    pub exon_loss_scale: Option<f64>,
    pub non_exon_loss_scale: Option<f64>,
    pub repeat_loss_scale: Option<f64>,
    pub non_repeat_loss_scale: Option<f64>,
    pub use_bert: Option<bool>,
    pub annotation_loss_weight: Option<f64>,
    pub exon_mut_rate: Option<f64>,
    pub repeat_eval: Option<usize>,
}

/// One block of the trunk or a head: its registry name and its own arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockSpec {
    pub name: String,
    pub args: Map<String, Value>,
}

/// baskerville's global block defaults: set once on the model, handed to every block
/// that takes them unless the block sets its own value (an explicit `null` included).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Globals {
    pub values: Map<String, Value>,
}

/// The keys baskerville's `SeqNN.build_block` passes down from the model to blocks.
pub const GLOBAL_KEYS: &[&str] = &[
    "activation",
    "batch_norm",
    "bn_momentum",
    "norm_type",
    "l2_scale",
    "l1_scale",
    "padding",
    "kernel_initializer",
];

/// The `model` block.
#[derive(Debug, Clone)]
pub struct ModelParams {
    pub seq_length: usize,
    /// Input channels. Not in baskerville's JSON (its input is always 4 channels); the
    /// converter fills it from the H5's input shape, and it may be set here.
    pub num_features: Option<usize>,
    pub augment_rc: bool,
    pub augment_shift: Vec<i64>,
    /// Activation applied to the trunk output (baskerville's "final activation").
    pub activation: String,
    pub globals: Globals,
    pub trunk: Vec<BlockSpec>,
    /// Heads in baskerville's (natural-sorted) key order: (key, blocks).
    pub heads: Vec<(String, Vec<BlockSpec>)>,
}

impl Params {
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json_str(&text, &path.display().to_string())
    }

    pub fn from_json_str(text: &str, source: &str) -> Result<Self> {
        let root: Value = serde_json::from_str(text)
            .map_err(|e| Error::config(source, format!("malformed JSON: {e}")))?;
        let Value::Object(mut root) = root else {
            return Err(Error::config(source, "top level must be a JSON object"));
        };
        let train = match root.remove("train") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                serde_json::from_value::<TrainParams>(v)
                    .map_err(|e| Error::config(source, format!("train: {e}")))?,
            ),
        };
        let model = match root.remove("model") {
            Some(v) => ModelParams::from_value(v, source)?,
            None => return Err(Error::config(source, "missing the \"model\" block")),
        };
        crate::limits::check_model(&model, source)?;
        check_train_sizes(train.as_ref(), source)?;
        if let Some(key) = root.keys().next() {
            return Err(Error::config(
                source,
                format!("unknown top-level key \"{key}\" (expected \"train\" and \"model\")"),
            ));
        }
        Ok(Params { train, model, source: source.to_string() })
    }
}

/// Size bounds of the `train` block (see [`crate::limits`]).
fn check_train_sizes(train: Option<&TrainParams>, source: &str) -> Result<()> {
    let Some(t) = train else { return Ok(()) };
    if let Some(b) = t.batch_size {
        crate::limits::count(b as u64, crate::limits::MAX_BATCH, "train.batch_size").map_err(|e| Error::config(source, e.to_string()))?;
    }
    Ok(())
}

fn take<T: serde::de::DeserializeOwned>(
    map: &mut Map<String, Value>,
    key: &str,
    source: &str,
) -> Result<Option<T>> {
    match map.remove(key) {
        None => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| Error::config(source, format!("model.{key}: {e}"))),
    }
}

fn block_spec(v: Value, source: &str, where_: &str) -> Result<BlockSpec> {
    let Value::Object(mut args) = v else {
        return Err(Error::config(source, format!("{where_}: a block must be a JSON object")));
    };
    let name = match args.remove("name") {
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(Error::config(source, format!("{where_}: block \"name\" must be a string")))
        }
        None => return Err(Error::config(source, format!("{where_}: block has no \"name\""))),
    };
    Ok(BlockSpec { name, args })
}

/// Natural ordering of head keys, as baskerville's `natsorted` gives: `head2` before `head10`.
fn natural_key(s: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            let mut num = String::new();
            while let Some(&d) = chars.peek() {
                if !d.is_ascii_digit() {
                    break;
                }
                num.push(d);
                chars.next();
            }
            out.push((std::mem::take(&mut text), num.parse().unwrap_or(u64::MAX)));
        } else {
            text.push(c);
            chars.next();
        }
    }
    out.push((text, 0));
    out
}

impl ModelParams {
    fn from_value(v: Value, source: &str) -> Result<Self> {
        let Value::Object(mut m) = v else {
            return Err(Error::config(source, "\"model\" must be a JSON object"));
        };
        let seq_length: usize = take(&mut m, "seq_length", source)?
            .ok_or_else(|| Error::config(source, "model.seq_length is required"))?;
        if seq_length == 0 {
            return Err(Error::config(source, "model.seq_length must be positive"));
        }
        let num_features: Option<usize> = take(&mut m, "num_features", source)?;
        let augment_rc: bool = take(&mut m, "augment_rc", source)?.unwrap_or(false);
        let augment_shift = match m.remove("augment_shift") {
            None => vec![0],
            Some(Value::Number(n)) => vec![n
                .as_i64()
                .ok_or_else(|| Error::config(source, "model.augment_shift must be an integer"))?],
            Some(v) => serde_json::from_value(v).map_err(|e| {
                Error::config(source, format!("model.augment_shift: {e}"))
            })?,
        };
        let mut globals = Map::new();
        for key in GLOBAL_KEYS {
            if let Some(v) = m.remove(*key) {
                globals.insert(key.to_string(), v);
            }
        }
        let activation = match globals.get("activation") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => {
                return Err(Error::config(source, "model.activation is required"))
            }
            Some(v) => {
                return Err(Error::config(source, format!("model.activation: expected a string, got {v}")))
            }
        };
        let trunk = match m.remove("trunk") {
            Some(Value::Array(blocks)) => blocks
                .into_iter()
                .enumerate()
                .map(|(i, b)| block_spec(b, source, &format!("model.trunk[{i}]")))
                .collect::<Result<Vec<_>>>()?,
            Some(_) => return Err(Error::config(source, "model.trunk must be a list of blocks")),
            None => return Err(Error::config(source, "model.trunk is required")),
        };
        let mut head_keys: Vec<String> =
            m.keys().filter(|k| k.starts_with("head")).cloned().collect();
        head_keys.sort_by_key(|k| natural_key(k));
        let mut heads = Vec::new();
        for key in head_keys {
            let v = m.remove(&key).expect("key listed above");
            let blocks = match v {
                Value::Array(list) => list
                    .into_iter()
                    .enumerate()
                    .map(|(i, b)| block_spec(b, source, &format!("model.{key}[{i}]")))
                    .collect::<Result<Vec<_>>>()?,
                other => vec![block_spec(other, source, &format!("model.{key}"))?],
            };
            heads.push((key, blocks));
        }
        check_other_model_keys(&mut m, source)?;
        Ok(ModelParams {
            seq_length,
            num_features,
            augment_rc,
            augment_shift,
            activation,
            globals: Globals { values: globals },
            trunk,
            heads,
        })
    }
}

/// Model keys baskerville's `SeqNN` reads that do not change the network we run:
/// `verbose` prints a summary; `strand_pair` (per head) only swaps tracks of
/// reverse-complemented predictions, which we take from the targets sheet's column.
pub const IGNORED_MODEL_KEYS: &[&str] = &["verbose", "strand_pair"];

/// Model keys baskerville's `SeqNN` reads that change the network, and why we refuse them.
const REFUSED_MODEL_KEYS: &[(&str, &str)] = &[
    ("adapter", "transfer-learning adapters (houlsby) change the network and are not implemented"),
    ("adapter_latent", "it configures a transfer-learning adapter, which is not implemented"),
    ("conv_select", "it configures a houlsby_se adapter, which is not implemented"),
    ("se_rank", "it configures a houlsby_se adapter, which is not implemented"),
    ("diagonal_offset", "2D contact-map (upper_tri) outputs are not implemented"),
];

/// Whatever is left of the model block after the known keys were taken: ignored keys
/// go, refused and unknown ones are errors naming the key.
fn check_other_model_keys(m: &mut Map<String, Value>, source: &str) -> Result<()> {
    for key in IGNORED_MODEL_KEYS {
        m.remove(*key);
    }
    if let Some((key, why)) = REFUSED_MODEL_KEYS.iter().find(|(k, _)| m.contains_key(*k)) {
        return Err(Error::config(source, format!("model.{key}: {why}")));
    }
    if let Some(key) = m.keys().next() {
        return Err(Error::config(source, format!("model: unknown key \"{key}\"")));
    }
    Ok(())
}

impl Params {
    /// The same params with only head `index` (in baskerville's natural-sorted order):
    /// baskerville saves each head of a multi-head model as its own file, the shared
    /// trunk plus that head.
    pub fn select_head(&self, index: usize) -> Result<Params> {
        let heads = &self.model.heads;
        let head = heads.get(index).ok_or_else(|| {
            let keys: Vec<&str> = heads.iter().map(|(k, _)| k.as_str()).collect();
            Error::config(
                &self.source,
                format!("no head {index}: the model has {} ({})", heads.len(), keys.join(", ")),
            )
        })?;
        let mut out = self.clone();
        out.model.heads = vec![head.clone()];
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_sort_of_heads() {
        let mut keys = vec!["head10", "head2", "head", "head_human"];
        keys.sort_by_key(|k| natural_key(k));
        assert_eq!(keys, vec!["head", "head2", "head10", "head_human"]);
    }

    #[test]
    fn unknown_model_key_is_named() {
        let err = Params::from_json_str(
            r#"{"model": {"seq_length": 8, "activation": "relu", "trunk": [], "sequence_len": 3}}"#,
            "p.json",
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown key \"sequence_len\""), "{err}");
    }

    #[test]
    fn unknown_train_key_is_named() {
        let err = Params::from_json_str(
            r#"{"train": {"batch_sise": 3}, "model": {"seq_length": 8, "activation": "relu", "trunk": []}}"#,
            "p.json",
        )
        .unwrap_err();
        assert!(err.to_string().contains("batch_sise"), "{err}");
    }

    #[test]
    fn baskerville_model_keys_are_accepted_or_refused_by_name() {
        let p = Params::from_json_str(
            r#"{"model": {"seq_length": 8, "activation": "relu", "trunk": [], "verbose": false,
                "strand_pair": [[1, 0]], "norm_type": "batch-sync", "l2_scale": 2e-8,
                "kernel_initializer": "lecun_normal", "augment_rc": true, "augment_shift": 3,
                "head": {"name": "final", "units": 2}}}"#,
            "p.json",
        )
        .unwrap();
        assert_eq!(p.model.heads.len(), 1);
        let err = Params::from_json_str(
            r#"{"model": {"seq_length": 8, "activation": "relu", "trunk": [], "adapter": "houlsby"}}"#,
            "p.json",
        )
        .unwrap_err();
        assert!(err.to_string().contains("model.adapter") && err.to_string().contains("not implemented"), "{err}");
    }

    #[test]
    fn select_head_keeps_one() {
        let p = Params::from_json_str(
            r#"{"model": {"seq_length": 8, "activation": "relu", "trunk": [],
                "head_mouse": {"name": "final", "units": 2}, "head_human": {"name": "final", "units": 3}}}"#,
            "p.json",
        )
        .unwrap();
        let h = p.select_head(1).unwrap();
        assert_eq!(h.model.heads.len(), 1);
        assert_eq!(h.model.heads[0].0, "head_mouse");
        let err = p.select_head(2).unwrap_err();
        assert!(err.to_string().contains("no head 2") && err.to_string().contains("head_human, head_mouse"), "{err}");
    }

    #[test]
    fn heads_single_or_list() {
        let p = Params::from_json_str(
            r#"{"model": {"seq_length": 8, "activation": "relu", "trunk": [],
                "head_b": [{"name": "final", "units": 2}], "head_a": {"name": "final", "units": 3}}}"#,
            "p.json",
        )
        .unwrap();
        assert_eq!(p.model.heads.len(), 2);
        assert_eq!(p.model.heads[0].0, "head_a");
        assert_eq!(p.model.heads[1].1[0].name, "final");
    }
}
