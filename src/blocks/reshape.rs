use candle_core::Tensor;
use serde_json::Value;

use super::{Args, Block, BuildCtx, Reprs};
use crate::builder::Builder;
use crate::error::Result;
use crate::layers::reshape::crop;

pub const CROPPING_KEYS: &[&str] = &["cropping"];

struct Cropping1D {
    left: usize,
    right: usize,
}

impl Block for Cropping1D {
    fn forward(&self, x: &Tensor, _reprs: &mut Reprs) -> Result<Tensor> {
        crop(x, self.left, self.right)
    }
}

/// Keras `Cropping1D`: `cropping` is one width for both ends or `[left, right]`.
pub fn cropping1d(_b: &Builder, args: &Args, ctx: &mut BuildCtx) -> Result<Box<dyn Block>> {
    let (left, right) = match args.values.get("cropping") {
        Some(Value::Array(pair)) if pair.len() == 2 => {
            match (pair[0].as_u64(), pair[1].as_u64()) {
                (Some(l), Some(r)) => (l as usize, r as usize),
                _ => return Err(args.err("\"cropping\" must hold non-negative integers")),
            }
        }
        Some(Value::Array(_)) => return Err(args.err("\"cropping\" must be one integer or two")),
        _ => {
            let c = args.usize_or("cropping", 1)?;
            (c, c)
        }
    };
    if left + right >= ctx.shape.len {
        return Err(args.err(format!(
            "cropping {left}+{right} leaves nothing of length {}",
            ctx.shape.len
        )));
    }
    ctx.crop_left_bp += left * (ctx.seq_len / ctx.shape.len);
    ctx.shape.len -= left + right;
    Ok(Box::new(Cropping1D { left, right }))
}
