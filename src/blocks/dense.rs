//! Dense blocks: `dense_block` (alias `dense`), the `final` head layer and Keras `Dense`.

use candle_core::Tensor;

use super::norm::{activation, Norm};
use super::{Args, Block, BuildCtx, Reprs, Shape};
use crate::builder::Builder;
use crate::error::Result;
use crate::layers::{Activation, Dense};

pub const DENSE_BLOCK_KEYS: &[&str] = &[
    "units", "activation", "activation_end", "flatten", "dropout", "l2_scale", "l1_scale",
    "residual", "norm_type", "bn_momentum", "norm_gamma", "kernel_initializer",
];

pub const FINAL_KEYS: &[&str] =
    &["units", "activation", "flatten", "kernel_initializer", "l2_scale", "l1_scale"];

pub const KERAS_DENSE_KEYS: &[&str] = &[
    "units", "activation", "use_bias", "kernel_initializer", "bias_initializer",
    "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
    "bias_constraint",
];

/// `[B, L, C] -> [B, 1, L*C]`
fn flatten(x: &Tensor) -> Result<Tensor> {
    let (batch, len, ch) = x.dims3()?;
    Ok(x.reshape((batch, 1, len * ch))?)
}

struct DenseBlock {
    act: Activation,
    flatten: bool,
    dense: Dense,
    norm: Norm,
    residual: bool,
    act_end: Activation,
}

impl Block for DenseBlock {
    fn forward(&self, x: &Tensor, _reprs: &mut Reprs) -> Result<Tensor> {
        let mut y = self.act.forward(x)?;
        if self.flatten {
            y = flatten(&y)?;
        }
        let mut y = self.norm.forward(&self.dense.forward(&y)?)?;
        if self.residual {
            y = (x + y)?;
        }
        self.act_end.forward(&y)
    }
}

fn units(args: &Args, default: usize) -> Result<usize> {
    args.usize_or("units", default)
}

fn input_dim(ctx: &BuildCtx, flat: bool) -> (usize, usize) {
    if flat {
        (1, ctx.shape.len * ctx.shape.ch)
    } else {
        (ctx.shape.len, ctx.shape.ch)
    }
}

pub fn dense_block(b: &Builder, args: &Args, ctx: &mut BuildCtx) -> Result<Box<dyn Block>> {
    let act = activation(args, "activation", Some("relu"))?;
    let flat = args.bool_or("flatten", false)?;
    let (len, in_dim) = input_dim(ctx, flat);
    let out = units(args, in_dim)?;
    let norm_kind = Norm::kind(args)?;
    let dense = Dense::new(&b.pp("dense"), in_dim, out, norm_kind.is_none(), Activation::Linear)?;
    let norm = Norm::new(&b.pp("norm"), args, out)?;
    let residual = args.bool_or("residual", false)?;
    if residual && (flat || out != ctx.shape.ch) {
        return Err(args.err("residual needs units == input channels and no flatten"));
    }
    let act_end = activation(args, "activation_end", None)?;
    ctx.shape = Shape { len, ch: out };
    Ok(Box::new(DenseBlock { act, flatten: flat, dense, norm, residual, act_end }))
}

struct DenseOnly {
    flatten: bool,
    dense: Dense,
}

impl Block for DenseOnly {
    fn select_outputs(&self, idx: &Tensor) -> Result<Option<Box<dyn Block>>> {
        Ok(Some(Box::new(DenseOnly { flatten: self.flatten, dense: self.dense.select_outputs(idx)? })))
    }

    fn forward(&self, x: &Tensor, _reprs: &mut Reprs) -> Result<Tensor> {
        if self.flatten {
            self.dense.forward(&flatten(x)?)
        } else {
            self.dense.forward(x)
        }
    }
}

pub fn final_block(b: &Builder, args: &Args, ctx: &mut BuildCtx) -> Result<Box<dyn Block>> {
    let out = args.opt_usize("units")?.ok_or_else(|| args.err("\"units\" is required"))?;
    let flat = args.bool_or("flatten", false)?;
    let act = activation(args, "activation", Some("linear"))?;
    let (len, in_dim) = input_dim(ctx, flat);
    let dense = Dense::new(&b.pp("dense"), in_dim, out, true, act)?;
    ctx.shape = Shape { len, ch: out };
    Ok(Box::new(DenseOnly { flatten: flat, dense }))
}

pub fn keras_dense(b: &Builder, args: &Args, ctx: &mut BuildCtx) -> Result<Box<dyn Block>> {
    let out = args.opt_usize("units")?.ok_or_else(|| args.err("\"units\" is required"))?;
    let act = activation(args, "activation", None)?;
    let use_bias = args.bool_or("use_bias", true)?;
    let dense = Dense::new(&b.pp("dense"), ctx.shape.ch, out, use_bias, act)?;
    ctx.shape.ch = out;
    Ok(Box::new(DenseOnly { flatten: false, dense }))
}
