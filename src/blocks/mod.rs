//! baskerville's block registry: one table maps each params.json block name to the keys
//! it takes and the Rust builder that makes it. Unknown names and keys are errors.

pub mod args;
mod conv;
mod dense;
mod norm;
mod reshape;
mod transformer;
mod unet;

use candle_core::Tensor;
use serde_json::Value;

pub use args::Args;

use crate::builder::Builder;
use crate::config::{BlockSpec, Globals, GLOBAL_KEYS};
use crate::error::{Error, Result};

/// The length and channels flowing between blocks, known while building.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub len: usize,
    pub ch: usize,
}

/// What the builders share: the current shape and the saved representations
/// (baskerville's `reprs`, which U-net blocks reach back to).
#[derive(Debug, Clone)]
pub struct BuildCtx {
    pub shape: Shape,
    pub reprs: Vec<Shape>,
    /// Indexes into `reprs` that some block reads at run time.
    pub wanted: Vec<usize>,
    /// Input length, and base pairs cropped from the left of the output so far.
    pub seq_len: usize,
    pub crop_left_bp: usize,
}

impl BuildCtx {
    pub fn new(shape: Shape) -> Self {
        BuildCtx { shape, reprs: Vec::new(), wanted: Vec::new(), seq_len: shape.len, crop_left_bp: 0 }
    }

    pub fn push_repr(&mut self) -> usize {
        self.reprs.push(self.shape);
        self.reprs.len() - 1
    }
}

/// Representations saved during a forward pass; only those some block reads are kept.
pub struct Reprs<'a> {
    keep: &'a [bool],
    store: Vec<Option<Tensor>>,
}

impl<'a> Reprs<'a> {
    pub fn new(keep: &'a [bool]) -> Self {
        Reprs { keep, store: Vec::with_capacity(keep.len()) }
    }

    pub fn push(&mut self, t: &Tensor) {
        self.push_kept(Some(t.clone()));
    }

    /// Which of the representations still to come are kept, in order.
    pub fn keep_ahead(&self) -> &'a [bool] {
        self.keep.get(self.store.len()..).unwrap_or(&[])
    }

    /// Records the next representation as computed elsewhere: `t` when it is kept.
    pub fn push_kept(&mut self, t: Option<Tensor>) {
        let i = self.store.len();
        let keep = self.keep.get(i).copied().unwrap_or(false);
        self.store.push(if keep { t } else { None });
    }

    /// Continues a pass from representations saved by an earlier one.
    pub fn resume(keep: &'a [bool], store: Vec<Option<Tensor>>) -> Self {
        Reprs { keep, store }
    }

    pub fn into_store(self) -> Vec<Option<Tensor>> {
        self.store
    }

    pub fn get(&self, i: usize) -> Result<&Tensor> {
        self.store
            .get(i)
            .and_then(|t| t.as_ref())
            .ok_or_else(|| Error::Other(format!("representation {i} was not saved")))
    }
}

/// How far a stack of local layers reaches: an output position covers its own `stride`
/// input base pairs plus at most `radius` bp on either side. Fast ISM relies on it being
/// an upper bound (and its tests on it being exact enough to matter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    pub radius: usize,
    pub stride: usize,
}

impl Reach {
    pub fn none() -> Self {
        Reach { radius: 0, stride: 1 }
    }

    /// A "same"-padded convolution spanning `span` positions at the current resolution:
    /// `span / 2` on the longer side (Keras puts an even span's extra tap on the right).
    pub fn conv(&mut self, span: usize) {
        self.radius += span / 2 * self.stride;
    }

    /// A pool of `size` positions with stride `size`: each output covers exactly its
    /// inputs' footprint, so only the stride grows.
    pub fn pool(&mut self, size: usize) {
        if size > 1 {
            self.stride *= size;
        }
    }
}

/// A built block.
pub trait Block: Send + Sync {
    fn forward(&self, x: &Tensor, reprs: &mut Reprs) -> Result<Tensor>;

    /// For blocks whose every output position depends only on nearby input positions:
    /// extends `reach` by this block and returns true. Global blocks (attention, flatten)
    /// return false.
    fn reach(&self, _reach: &mut Reach) -> bool {
        false
    }

    /// The same block computing only output channels `idx` (a head restricted to the
    /// tracks a score needs); None when the block cannot.
    fn select_outputs(&self, _idx: &Tensor) -> Result<Option<Box<dyn Block>>> {
        Ok(None)
    }
}

type BuildFn = fn(&Builder, &Args, &mut BuildCtx) -> Result<Box<dyn Block>>;

struct BlockDef {
    name: &'static str,
    /// The block's own keys; baskerville's globals are accepted on top.
    keys: &'static [&'static str],
    /// Keras layer blocks (capitalised) receive only the globals their constructor names.
    keras_globals: Option<&'static [&'static str]>,
    build: BuildFn,
}

const REGISTRY: &[BlockDef] = &[
    BlockDef { name: "conv_dna", keys: conv::CONV_DNA_KEYS, keras_globals: None, build: conv::conv_dna },
    BlockDef { name: "conv_block", keys: conv::CONV_BLOCK_KEYS, keras_globals: None, build: conv::conv_block },
    BlockDef { name: "conv_nac", keys: conv::CONV_NAC_KEYS, keras_globals: None, build: conv::conv_nac },
    BlockDef { name: "conv_tower", keys: conv::CONV_TOWER_KEYS, keras_globals: None, build: conv::conv_tower },
    BlockDef { name: "conv_tower_nac", keys: conv::CONV_TOWER_NAC_KEYS, keras_globals: None, build: conv::conv_tower_nac },
    BlockDef { name: "res_tower", keys: conv::RES_TOWER_KEYS, keras_globals: None, build: conv::res_tower },
    BlockDef { name: "transformer", keys: transformer::TRANSFORMER_KEYS, keras_globals: None, build: transformer::transformer },
    BlockDef { name: "transformer_tower", keys: transformer::TOWER_KEYS, keras_globals: None, build: transformer::transformer_tower },
    BlockDef { name: "unet_conv", keys: unet::UNET_CONV_KEYS, keras_globals: None, build: unet::unet_conv },
    BlockDef { name: "dense_block", keys: dense::DENSE_BLOCK_KEYS, keras_globals: None, build: dense::dense_block },
    // `dense` is our short name for `dense_block`.
    BlockDef { name: "dense", keys: dense::DENSE_BLOCK_KEYS, keras_globals: None, build: dense::dense_block },
    BlockDef { name: "final", keys: dense::FINAL_KEYS, keras_globals: None, build: dense::final_block },
    BlockDef {
        name: "Dense",
        keys: dense::KERAS_DENSE_KEYS,
        keras_globals: Some(&["activation", "kernel_initializer"]),
        build: dense::keras_dense,
    },
    BlockDef { name: "Cropping1D", keys: reshape::CROPPING_KEYS, keras_globals: Some(&[]), build: reshape::cropping1d },
];

/// The block names this build understands.
pub fn known_blocks() -> Vec<&'static str> {
    REGISTRY.iter().map(|d| d.name).collect()
}

/// baskerville passes a global only when it is truthy (`if gv_value:`).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().map(|f| f != 0.0).unwrap_or(true),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Builds one block from its spec, checking its name and keys.
pub fn build_block(
    b: &Builder,
    spec: &BlockSpec,
    globals: &Globals,
    location: &str,
    source: &str,
    ctx: &mut BuildCtx,
) -> Result<Box<dyn Block>> {
    let location = format!("{location} ({})", spec.name);
    let Some(def) = REGISTRY.iter().find(|d| d.name == spec.name) else {
        return Err(Error::config(
            source,
            format!(
                "{location}: unknown block \"{}\" (known: {})",
                spec.name,
                known_blocks().join(", ")
            ),
        ));
    };
    for key in spec.args.keys() {
        let global_ok = def.keras_globals.is_none() && GLOBAL_KEYS.contains(&key.as_str());
        if !def.keys.contains(&key.as_str()) && !global_ok {
            return Err(Error::config(source, format!("{location}: unknown key \"{key}\"")));
        }
    }
    let mut values = serde_json::Map::new();
    for (key, value) in &globals.values {
        let wanted = match def.keras_globals {
            None => true,
            Some(list) => list.contains(&key.as_str()),
        };
        if wanted && truthy(value) {
            values.insert(key.clone(), value.clone());
        }
    }
    for (key, value) in &spec.args {
        values.insert(key.clone(), value.clone());
    }
    let args = Args { location, source: source.to_string(), values };
    (def.build)(b, &args, ctx)
}

/// baskerville's `np.round(x / d) * d`, with NumPy's round-half-to-even.
pub fn round_filters(x: f64, divisible_by: usize) -> usize {
    let d = divisible_by.max(1) as f64;
    ((x / d).round_ties_even() * d) as usize
}

/// The per-step filter multiplier of a tower going from `init` to `end` in `repeat` steps.
pub fn filters_mult(args: &Args, init: f64, repeat: usize) -> Result<f64> {
    if let Some(m) = args.opt_f64("filters_mult")? {
        return Ok(m);
    }
    match args.opt_f64("filters_end")? {
        Some(end) if repeat > 1 => Ok(((end / init).ln() / (repeat - 1) as f64).exp()),
        Some(_) => Ok(1.0),
        None => Err(args.err("needs \"filters_end\" or \"filters_mult\"")),
    }
}
