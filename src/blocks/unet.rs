//! `unet_conv`: upsample the current track and add a projection of the saved
//! representation at twice its length, then a separable convolution.

use candle_core::Tensor;

use super::norm::{activation, Norm};
use super::{Args, Block, BuildCtx, Reprs, Shape};
use crate::builder::Builder;
use crate::error::Result;
use crate::layers::reshape::upsample;
use crate::layers::{Activation, Dense, SeparableConv1D};

pub const UNET_CONV_KEYS: &[&str] = &[
    "activation", "stride", "l2_scale", "dropout", "norm_type", "bn_momentum", "kernel_size",
    "kernel_initializer", "upsample_conv",
];

struct UnetConv {
    repr: usize,
    norm_up: Norm,
    norm_skip: Norm,
    act: Activation,
    up_proj: Option<Dense>,
    skip_proj: Dense,
    stride: usize,
    conv: SeparableConv1D,
}

impl Block for UnetConv {
    fn forward(&self, x: &Tensor, reprs: &mut Reprs) -> Result<Tensor> {
        let skip = reprs.get(self.repr)?;
        let mut up = self.norm_up.forward_act(x, self.act)?;
        let skip = self.norm_skip.forward_act(skip, self.act)?;
        if let Some(proj) = &self.up_proj {
            up = proj.forward(&up)?;
        }
        let skip = self.skip_proj.forward(&skip)?;
        let y = if crate::layers::cpu::usable(&[&up, &skip]) && skip.dims()[1] == up.dims()[1] * self.stride {
            let ch = up.dim(2)?;
            let out = crate::layers::cpu::with_slice(&up, |u| crate::layers::cpu::with_slice(&skip, |s| crate::layers::cpu::upsample_add(u, s, ch, self.stride)))??;
            Tensor::from_vec(out, skip.shape(), skip.device())?
        } else {
            (upsample(&up, self.stride)? + skip)?
        };
        self.conv.forward(&y)
    }
}

pub fn unet_conv(b: &Builder, args: &Args, ctx: &mut BuildCtx) -> Result<Box<dyn Block>> {
    let Shape { len, ch } = ctx.shape;
    // baskerville looks back through the saved representations, newest first, skipping
    // the one just saved, for the first twice as long as the current one.
    let saved = ctx.reprs.len().saturating_sub(1);
    let repr = (0..saved)
        .rev()
        .find(|&i| ctx.reprs[i].len == len * 2)
        .ok_or_else(|| args.err(format!("no saved representation of length {} to join", len * 2)))?;
    let stride = args.usize_or("stride", 2)?;
    args.require("stride", stride == 2, "a stride other than 2")?;
    let skip_ch = ctx.reprs[repr].ch;
    let norm_up = Norm::new(&b.pp("norm_up"), args, ch)?;
    let norm_skip = Norm::new(&b.pp("norm_skip"), args, skip_ch)?;
    let act = activation(args, "activation", Some("relu"))?;
    let up_proj = if args.bool_or("upsample_conv", false)? {
        Some(Dense::new(&b.pp("up_proj"), ch, ch, true, Activation::Linear)?)
    } else {
        None
    };
    let skip_proj = Dense::new(&b.pp("skip_proj"), skip_ch, ch, true, Activation::Linear)?;
    let width = args.usize_or_single("kernel_size", 1)?;
    let conv = SeparableConv1D::new(&b.pp("conv"), ch, ch, width)?;
    ctx.wanted.push(repr);
    ctx.shape = Shape { len: len * stride, ch };
    Ok(Box::new(UnetConv { repr, norm_up, norm_skip, act, up_proj, skip_proj, stride, conv }))
}
