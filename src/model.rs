//! baskerville's `SeqNN`: the trunk blocks, the trunk's final activation, then one or
//! more heads, built from `params.json` through the block registry.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};

use crate::blocks::{build_block, Block, BuildCtx, Reach, Reprs, Shape};
use crate::builder::{Builder, KerasSlot};
use crate::config::{ModelParams, Params};
use crate::error::{Error, Result};
use crate::layers::Activation;

/// Metadata key in our safetensors files holding the model's input channels.
pub const META_INPUT_CHANNELS: &str = "shorkie.input_channels";

/// Metadata keys recording which head of a multi-head params.json the weights hold.
pub const META_HEAD: &str = "shorkie.head";
pub const META_HEAD_KEY: &str = "shorkie.head_key";
pub const META_HEAD_TRACKS: &str = "shorkie.head_tracks";

/// The head of a multi-head params.json that a weights file holds (baskerville saves one
/// file per head: the shared trunk plus that head).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadRecord {
    /// Index in baskerville's natural-sorted head order.
    pub index: usize,
    /// The params.json key (`head_human`).
    pub key: String,
    pub tracks: usize,
}

/// Writes model weights as our safetensors (input channels in the metadata), atomically.
pub fn save_model_tensors(tensors: &HashMap<String, Tensor>, in_channels: usize, path: &Path) -> Result<()> {
    save_model_tensors_with_head(tensors, in_channels, None, path)
}

/// Like [`save_model_tensors`], recording the head a multi-head model's file holds.
pub fn save_model_tensors_with_head(
    tensors: &HashMap<String, Tensor>,
    in_channels: usize,
    head: Option<&HeadRecord>,
    path: &Path,
) -> Result<()> {
    let mut meta = HashMap::new();
    meta.insert(META_INPUT_CHANNELS.to_string(), in_channels.to_string());
    meta.insert("shorkie.format".to_string(), "shorkie-seqnn-v1".to_string());
    if let Some(h) = head {
        meta.insert(META_HEAD.to_string(), h.index.to_string());
        meta.insert(META_HEAD_KEY.to_string(), h.key.clone());
        meta.insert(META_HEAD_TRACKS.to_string(), h.tracks.to_string());
    }
    crate::io::save_tensors(tensors, meta, path)
}

/// The head recorded in safetensors metadata, if any.
fn head_from_meta(meta: Option<&HashMap<String, String>>, werr: &dyn Fn(String) -> Error) -> Result<Option<HeadRecord>> {
    let Some(meta) = meta else { return Ok(None) };
    let Some(index) = meta.get(META_HEAD) else { return Ok(None) };
    let index = index.parse::<usize>().map_err(|_| werr(format!("bad {META_HEAD} \"{index}\"")))?;
    let key = meta.get(META_HEAD_KEY).cloned().unwrap_or_default();
    let tracks = match meta.get(META_HEAD_TRACKS) {
        Some(v) => v.parse::<usize>().map_err(|_| werr(format!("bad {META_HEAD_TRACKS} \"{v}\"")))?,
        None => return Err(werr(format!("{META_HEAD} without {META_HEAD_TRACKS}"))),
    };
    Ok(Some(HeadRecord { index, key, tracks }))
}

/// The local leading part of the trunk (see [`SeqNN::local_prefix`]).
#[derive(Debug, Clone, Copy)]
pub struct LocalPrefix {
    /// Trunk blocks in the prefix.
    pub blocks: usize,
    pub reach: Reach,
}

/// A head computing some of its tracks: the last block narrowed when it can be, else a
/// selection after it.
pub struct HeadView {
    pub head: usize,
    tracks: Option<Tensor>,
    last: Option<Box<dyn Block>>,
}

/// A trunk block as params.json names it, with its output shape `[positions, channels]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkLayer {
    pub index: usize,
    pub name: String,
    pub shape: Shape,
}

pub struct Head {
    pub key: String,
    blocks: Vec<(String, Box<dyn Block>)>,
    pub shape: Shape,
    /// Base pairs per output bin, and base pairs of input before the first output bin.
    pub bin_bp: usize,
    pub crop_bp: usize,
}

pub struct SeqNN {
    pub params: ModelParams,
    pub in_channels: usize,
    trunk: Vec<(String, Box<dyn Block>)>,
    /// Each trunk block's params.json name and output shape.
    trunk_layers: Vec<TrunkLayer>,
    trunk_activation: Activation,
    pub trunk_shape: Shape,
    heads: Vec<Head>,
    /// Which saved representations the forward pass must keep.
    keep: Vec<bool>,
    slots: Vec<KerasSlot>,
    train: std::sync::Arc<crate::builder::TrainCtx>,
    device: Device,
    /// The head of a multi-head params.json these weights hold (their only head).
    pub head_record: Option<HeadRecord>,
}

impl SeqNN {
    /// Builds the model from params, taking weights (or fresh variables) from `vb`.
    pub fn new(params: &Params, in_channels: usize, vb: VarBuilder) -> Result<Self> {
        let model = &params.model;
        let source = params.source.as_str();
        if in_channels == 0 {
            return Err(Error::config(source, "the model needs at least one input channel"));
        }
        let device = vb.device().clone();
        let b = Builder::new(vb);
        let mut ctx = BuildCtx::new(Shape { len: model.seq_length, ch: in_channels });
        let mut trunk = Vec::new();
        let mut trunk_layers = Vec::new();
        for (i, spec) in model.trunk.iter().enumerate() {
            let location = format!("model.trunk[{i}]");
            let block = build_block(&b.pp(format!("trunk.{i}")), spec, &model.globals, &location, source, &mut ctx)?;
            trunk.push((format!("trunk[{i}] {}", spec.name), block));
            trunk_layers.push(TrunkLayer { index: i, name: spec.name.clone(), shape: ctx.shape });
            ctx.push_repr();
        }
        let trunk_activation = Activation::parse(Some(&model.activation))
            .map_err(|e| Error::config(source, format!("model.activation: {e}")))?;
        let trunk_shape = ctx.shape;
        let mut heads = Vec::new();
        for (key, specs) in &model.heads {
            let mut head_ctx = ctx.clone();
            head_ctx.shape = trunk_shape;
            let mut blocks = Vec::new();
            for (j, spec) in specs.iter().enumerate() {
                let location = format!("model.{key}[{j}]");
                let block = build_block(&b.pp(format!("{key}.{j}")), spec, &model.globals, &location, source, &mut head_ctx)?;
                blocks.push((format!("{key}[{j}] {}", spec.name), block));
            }
            ctx.wanted.extend(head_ctx.wanted.iter().copied());
            let bin_bp = (model.seq_length - 2 * head_ctx.crop_left_bp) / head_ctx.shape.len.max(1);
            heads.push(Head {
                key: key.clone(),
                blocks,
                shape: head_ctx.shape,
                bin_bp,
                crop_bp: head_ctx.crop_left_bp,
            });
        }
        if heads.is_empty() {
            return Err(Error::config(source, "model has no head (a \"head\" key)"));
        }
        let mut keep = vec![false; ctx.reprs.len()];
        for i in &ctx.wanted {
            keep[*i] = true;
        }
        Ok(SeqNN {
            params: model.clone(),
            in_channels,
            trunk,
            trunk_layers,
            trunk_activation,
            trunk_shape,
            heads,
            keep,
            slots: b.slots(),
            train: b.train_ctx(),
            device,
            head_record: None,
        })
    }

    /// Loads our safetensors weights; every tensor must belong to the architecture.
    pub fn load(params: &Params, weights: &Path, device: &Device) -> Result<Self> {
        let bytes = std::fs::read(weights).map_err(|e| Error::io(weights, e))?;
        Self::load_bytes(params, &bytes, device, &weights.display().to_string())
    }

    /// Loads safetensors bytes (a file's contents, or an embedded model).
    pub fn load_bytes(params: &Params, bytes: &[u8], device: &Device, origin: &str) -> Result<Self> {
        let wpath = origin.to_string();
        let werr = |msg: String| Error::Weights { path: wpath.clone(), msg };
        let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| werr(format!("not a safetensors file: {e}")))?;
        let tensors = candle_core::safetensors::load_buffer(bytes, device)
            .map_err(|e| werr(format!("cannot read tensors: {e}")))?;
        let in_channels = match meta.metadata().as_ref().and_then(|m| m.get(META_INPUT_CHANNELS)) {
            Some(v) => v.parse::<usize>().map_err(|_| werr(format!("bad {META_INPUT_CHANNELS} \"{v}\"")))?,
            None => params.model.num_features.ok_or_else(|| {
                werr(format!("no {META_INPUT_CHANNELS} metadata and no model.num_features in params"))
            })?,
        };
        let head = head_from_meta(meta.metadata().as_ref(), &werr)?;
        let Some(head) = head else {
            return Self::from_tensors(params, in_channels, tensors, device, &wpath);
        };
        let selected = params.select_head(head.index).map_err(|e| {
            werr(format!("holds head {} ({}) of a multi-head model: {e}", head.index, head.key))
        })?;
        let mut model = Self::from_tensors(&selected, in_channels, tensors, device, &wpath)?;
        let built = model.heads[0].shape.ch;
        if built != head.tracks {
            return Err(werr(format!(
                "holds head {} ({}) with {} tracks, but {} builds {} tracks for it",
                head.index, head.key, head.tracks, params.source, built
            )));
        }
        model.head_record = Some(head);
        Ok(model)
    }

    /// Builds from named tensors, failing on a missing, misshapen or unused tensor.
    pub fn from_tensors(
        params: &Params,
        in_channels: usize,
        tensors: HashMap<String, Tensor>,
        device: &Device,
        origin: &str,
    ) -> Result<Self> {
        let names: Vec<String> = tensors.keys().cloned().collect();
        let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
        let model = Self::new(params, in_channels, vb).map_err(|e| match e {
            Error::Candle(c) => Error::Weights {
                path: origin.to_string(),
                msg: format!("does not fit {}: {}", params.source, crate::error::first_line(&c.to_string())),
            },
            other => other,
        })?;
        let used: std::collections::HashSet<&str> =
            model.slots.iter().flat_map(|s| s.weights.iter().map(|w| w.ours.as_str())).collect();
        let mut unused: Vec<&String> = names.iter().filter(|n| !used.contains(n.as_str())).collect();
        unused.sort();
        if let Some(name) = unused.first() {
            return Err(Error::Weights {
                path: origin.to_string(),
                msg: format!("tensor \"{name}\" is not part of the architecture in {}", params.source),
            });
        }
        Ok(model)
    }

    /// A model with fresh variables (for training, or to plan a conversion).
    pub fn fresh(params: &Params, in_channels: usize, device: &Device) -> Result<(Self, VarMap)> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
        let model = Self::new(params, in_channels, vb)?;
        Ok((model, varmap))
    }

    /// Batch norm uses batch statistics while training; returns the previous mode.
    pub fn set_training(&self, on: bool) -> bool {
        self.train.training.swap(on, std::sync::atomic::Ordering::Relaxed)
    }

    /// Batch statistics seen since the last call: (parameter prefix, mean, variance, momentum).
    pub fn take_bn_batches(&self) -> Vec<(String, Tensor, Tensor, f64)> {
        std::mem::take(&mut *self.train.bn_batches.lock().expect("not poisoned"))
    }

    /// The Keras layers of this architecture, in baskerville's creation order.
    pub fn keras_slots(&self) -> &[KerasSlot] {
        &self.slots
    }

    pub fn heads(&self) -> &[Head] {
        &self.heads
    }

    /// Output shape of head `i`: (bins, tracks).
    pub fn output_shape(&self, head: usize) -> Shape {
        self.heads[head].shape
    }

    fn check_input(&self, x: &Tensor) -> Result<()> {
        let dims = x.dims();
        if dims.len() != 3 {
            return Err(Error::Input(format!(
                "input must be [batch, length, channels], got shape {dims:?}"
            )));
        }
        if dims[2] != self.in_channels {
            return Err(Error::Input(format!(
                "input has {} channels, the model expects {}",
                dims[2], self.in_channels
            )));
        }
        if dims[1] != self.params.seq_length {
            return Err(Error::Input(format!(
                "input has length {}, the model expects {} (model.seq_length)",
                dims[1], self.params.seq_length
            )));
        }
        Ok(())
    }

    fn run_trunk(
        &self,
        x: &Tensor,
        reprs: &mut Reprs,
        timings: Option<&mut Vec<(String, f64)>>,
    ) -> Result<Tensor> {
        self.check_input(x)?;
        self.run_trunk_from(x, 0, reprs, timings)
    }

    /// Trunk blocks `first..`, then the trunk activation.
    fn run_trunk_from(
        &self,
        x: &Tensor,
        first: usize,
        reprs: &mut Reprs,
        mut timings: Option<&mut Vec<(String, f64)>>,
    ) -> Result<Tensor> {
        let mut x = x.clone();
        for (label, block) in &self.trunk[first..] {
            let start = Instant::now();
            x = block.forward(&x, reprs)?;
            reprs.push(&x);
            if let Some(t) = timings.as_deref_mut() {
                t.push((label.clone(), start.elapsed().as_secs_f64()));
            }
        }
        let start = Instant::now();
        let x = self.trunk_activation.forward(&x)?;
        if let Some(t) = timings {
            t.push(("trunk activation".into(), start.elapsed().as_secs_f64()));
        }
        Ok(x)
    }

    /// The leading trunk blocks whose outputs depend only on nearby bases (the
    /// convolution tower before any attention): what a single-base change cannot reach
    /// beyond `reach.radius` bp.
    pub fn local_prefix(&self) -> LocalPrefix {
        let mut reach = Reach::none();
        let mut blocks = 0;
        for (_, block) in &self.trunk {
            let mut r = reach;
            if !block.reach(&mut r) {
                break;
            }
            reach = r;
            blocks += 1;
        }
        LocalPrefix { blocks, reach }
    }

    /// Runs the local prefix on `x` `[B, len, channels]`, any length divisible by the
    /// prefix stride: its output and the representations it saved.
    pub fn run_local(&self, x: &Tensor, prefix: &LocalPrefix) -> Result<(Tensor, Vec<Option<Tensor>>)> {
        let (_, len, ch) = x.dims3()?;
        if ch != self.in_channels {
            return Err(Error::Input(format!("input has {ch} channels, the model expects {}", self.in_channels)));
        }
        if len % prefix.reach.stride != 0 {
            return Err(Error::Input(format!("local input length {len} is not a multiple of {}", prefix.reach.stride)));
        }
        let mut reprs = Reprs::new(&self.keep);
        let mut x = x.clone();
        for (_, block) in &self.trunk[..prefix.blocks] {
            x = block.forward(&x, &mut reprs)?;
            reprs.push(&x);
        }
        Ok((x, reprs.into_store()))
    }

    /// Finishes a forward pass from the local prefix's output and saved representations:
    /// the rest of the trunk, then head `head` (restricted to some tracks when given).
    pub fn run_after_local(
        &self,
        x: &Tensor,
        saved: Vec<Option<Tensor>>,
        prefix: &LocalPrefix,
        head: &HeadView,
    ) -> Result<Tensor> {
        let mut reprs = Reprs::resume(&self.keep, saved);
        let x = self.run_trunk_from(x, prefix.blocks, &mut reprs, None)?;
        self.run_head_view(x, head, &mut reprs)
    }

    /// The head's blocks on the trunk output, computing only the view's tracks.
    fn run_head_view(&self, mut x: Tensor, view: &HeadView, reprs: &mut Reprs) -> Result<Tensor> {
        let blocks = &self.heads[view.head].blocks;
        for (i, (_, block)) in blocks.iter().enumerate() {
            x = match (&view.last, i + 1 == blocks.len()) {
                (Some(last), true) => last.forward(&x, reprs)?,
                _ => block.forward(&x, reprs)?,
            };
        }
        if let (None, Some(idx)) = (&view.last, &view.tracks) {
            x = x.index_select(idx, 2)?;
        }
        Ok(x)
    }

    /// Head `head` computing only `tracks` (all when None).
    pub fn head_view(&self, head: usize, tracks: Option<&[usize]>) -> Result<HeadView> {
        let h = self.heads.get(head).ok_or_else(|| Error::Input(format!("the model has no head {head}")))?;
        let Some(tracks) = tracks else {
            return Ok(HeadView { head, tracks: None, last: None });
        };
        if let Some(&t) = tracks.iter().find(|&&t| t >= h.shape.ch) {
            return Err(Error::Input(format!("track {t} is outside the model's {} tracks", h.shape.ch)));
        }
        let idx: Vec<u32> = tracks.iter().map(|&t| t as u32).collect();
        let idx = Tensor::from_vec(idx, tracks.len(), &self.device)?;
        let last = match h.blocks.last() {
            Some((_, block)) => block.select_outputs(&idx)?,
            None => None,
        };
        Ok(HeadView { head, tracks: Some(idx), last })
    }

    pub fn device(&self) -> Device {
        self.device.clone()
    }

    /// A whole forward pass through `view`'s head, computing only its tracks:
    /// `[batch, bins, view tracks]`, equal to those columns of [`SeqNN::forward_head`].
    pub fn forward_view(&self, x: &Tensor, view: &HeadView) -> Result<Tensor> {
        let mut reprs = Reprs::new(&self.keep);
        let x = self.run_trunk(x, &mut reprs, None)?;
        self.run_head_view(x, view, &mut reprs)
    }

    /// The trunk output (after the final activation): `[batch, bins, channels]`.
    pub fn trunk_forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut reprs = Reprs::new(&self.keep);
        self.run_trunk(x, &mut reprs, None)
    }

    /// The trunk's blocks, in order.
    pub fn trunk_layers(&self) -> &[TrunkLayer] {
        &self.trunk_layers
    }

    /// The output of trunk block `last` (the raw block output, before the trunk's final
    /// activation, which belongs to the trunk as a whole): `[batch, positions, channels]`.
    /// Later blocks are not run.
    pub fn trunk_block_forward(&self, x: &Tensor, last: usize) -> Result<Tensor> {
        if last >= self.trunk.len() {
            return Err(Error::Input(format!("the trunk has {} blocks, no block {last}", self.trunk.len())));
        }
        self.check_input(x)?;
        let mut reprs = Reprs::new(&self.keep);
        let mut x = x.clone();
        for (_, block) in &self.trunk[..=last] {
            x = block.forward(&x, &mut reprs)?;
            reprs.push(&x);
        }
        Ok(x)
    }

    /// Predictions of the first head: `[batch, bins, tracks]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_head(x, 0)
    }

    pub fn forward_head(&self, x: &Tensor, head: usize) -> Result<Tensor> {
        self.forward_inner(x, head, None)
    }

    /// Like `forward`, recording seconds spent in each block (CPU ops are synchronous,
    /// so wall time per block is exact there).
    pub fn forward_profiled(&self, x: &Tensor, timings: &mut Vec<(String, f64)>) -> Result<Tensor> {
        self.forward_inner(x, 0, Some(timings))
    }

    fn forward_inner(
        &self,
        x: &Tensor,
        head: usize,
        mut timings: Option<&mut Vec<(String, f64)>>,
    ) -> Result<Tensor> {
        let head = self
            .heads
            .get(head)
            .ok_or_else(|| Error::Input(format!("the model has no head {head}")))?;
        let mut reprs = Reprs::new(&self.keep);
        let mut x = self.run_trunk(x, &mut reprs, timings.as_deref_mut())?;
        for (label, block) in &head.blocks {
            let start = Instant::now();
            x = block.forward(&x, &mut reprs)?;
            if let Some(t) = timings.as_deref_mut() {
                t.push((label.clone(), start.elapsed().as_secs_f64()));
            }
        }
        Ok(x)
    }
}
