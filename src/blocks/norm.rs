use candle_core::Tensor;

use super::Args;
use crate::builder::Builder;
use crate::error::Result;
use crate::layers::{Activation, BatchNorm, LayerNorm};

/// baskerville's `norm_type` switch.
pub enum Norm {
    None,
    Batch(BatchNorm),
    Layer(LayerNorm),
}

impl Norm {
    /// Reads `norm_type`; `batch-sync` is plain batch norm at inference.
    pub fn kind(args: &Args) -> Result<Option<&'static str>> {
        match args.opt_str("norm_type")? {
            None => Ok(None),
            Some("batch") | Some("batch-sync") => Ok(Some("batch")),
            Some("layer") => Ok(Some("layer")),
            Some(other) => Err(args.err(format!("unknown norm_type \"{other}\""))),
        }
    }

    /// The block's `norm_type` over `dim` channels, with its `bn_momentum`.
    pub fn new(b: &Builder, args: &Args, dim: usize) -> Result<Self> {
        let momentum = args.f64_or("bn_momentum", 0.99)?;
        Ok(match Self::kind(args)? {
            None => Norm::None,
            Some("layer") => Norm::Layer(LayerNorm::new(b, dim)?),
            Some(_) => Norm::Batch(BatchNorm::new(b, dim, momentum)?),
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_act(x, Activation::Linear)
    }

    /// Batch norm at inference as a per-channel scale and shift, for kernels that fuse it.
    pub fn folded_batch(&self) -> Result<Option<(Vec<f32>, Vec<f32>)>> {
        match self {
            Norm::Batch(n) => n.folded(),
            _ => Ok(None),
        }
    }

    /// Normalisation then `act` (fused for batch norm).
    pub fn forward_act(&self, x: &Tensor, act: Activation) -> Result<Tensor> {
        match self {
            Norm::None => act.forward(x),
            Norm::Batch(n) => n.forward_act(x, act),
            Norm::Layer(n) => act.forward(&n.forward(x)?),
        }
    }
}

/// The block's `activation`, with the block function's own default when absent.
pub fn activation(args: &Args, key: &str, default: Option<&str>) -> Result<Activation> {
    let name = args.str_or(key, default)?;
    Activation::parse(name).map_err(|e| args.err(e))
}
