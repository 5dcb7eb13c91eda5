//! Convolution blocks: `conv_dna`, `conv_block`, `conv_nac` and the towers built from them.

use candle_core::Tensor;

use super::norm::{activation, Norm};
use super::{filters_mult, round_filters, Args, Block, BuildCtx, Reach, Reprs};
use crate::builder::Builder;
use crate::error::Result;
use crate::layers::reshape::max_pool_same;
use crate::layers::{Activation, Conv1D, Scale};

pub const CONV_DNA_KEYS: &[&str] = &[
    "filters", "kernel_size", "activation", "stride", "l2_scale", "residual", "dropout",
    "dropout_residual", "pool_size", "pool_type", "norm_type", "bn_momentum", "norm_gamma",
    "use_bias", "se", "conv_type", "kernel_initializer", "padding",
];

pub const CONV_BLOCK_KEYS: &[&str] = &[
    "filters", "kernel_size", "activation", "activation_end", "stride", "dilation_rate",
    "l2_scale", "dropout", "conv_type", "pool_size", "pool_type", "norm_type", "bn_momentum",
    "norm_gamma", "residual", "kernel_initializer", "padding",
];

pub const CONV_NAC_KEYS: &[&str] = &[
    "filters", "kernel_size", "activation", "stride", "dilation_rate", "l2_scale", "dropout",
    "conv_type", "residual", "pool_size", "pool_type", "norm_type", "bn_momentum", "norm_gamma",
    "kernel_initializer", "padding", "se",
];

const TOWER_KEYS: &[&str] = &["filters_init", "filters_end", "filters_mult", "divisible_by", "repeat"];

pub const CONV_TOWER_KEYS: &[&str] = &[
    "filters_init", "filters_end", "filters_mult", "divisible_by", "repeat",
    "kernel_size", "activation", "activation_end", "stride", "dilation_rate", "l2_scale",
    "dropout", "conv_type", "pool_size", "pool_type", "norm_type", "bn_momentum", "norm_gamma",
    "residual", "kernel_initializer", "padding",
];

pub const CONV_TOWER_NAC_KEYS: &[&str] = &[
    "filters_init", "filters_end", "filters_mult", "divisible_by", "repeat",
    "kernel_size", "activation", "stride", "dilation_rate", "l2_scale", "dropout", "conv_type",
    "residual", "pool_size", "pool_type", "norm_type", "bn_momentum", "norm_gamma",
    "kernel_initializer", "padding", "se",
];

pub const RES_TOWER_KEYS: &[&str] = &[
    "filters_init", "filters_end", "filters_mult", "kernel_size", "dropout", "pool_size",
    "pool_type", "divisible_by", "repeat", "num_convs",
    "activation", "stride", "dilation_rate", "l2_scale", "conv_type", "norm_type",
    "bn_momentum", "norm_gamma", "kernel_initializer", "padding", "se",
];

/// Checks the options every convolution block shares and that we compute only one way.
fn check_common(args: &Args) -> Result<()> {
    args.require("stride", args.usize_or("stride", 1)? == 1, "a stride other than 1")?;
    args.require(
        "conv_type",
        matches!(args.opt_str("conv_type")?, None | Some("standard")),
        "a conv_type other than \"standard\"",
    )?;
    args.require(
        "pool_type",
        matches!(args.opt_str("pool_type")?, None | Some("max")),
        "a pool_type other than \"max\"",
    )?;
    args.require("se", !args.bool_or("se", false)?, "squeeze-excite (se=true)")?;
    Ok(())
}

/// `conv_nac`: norm, activation, convolution (with bias), optional residual, pool.
struct ConvNac {
    norm: Norm,
    act: Activation,
    conv: Conv1D,
    residual: bool,
    pool: usize,
}

impl ConvNac {
    fn new(
        b: &Builder,
        args: &Args,
        in_dim: usize,
        filters: usize,
        width: usize,
        pool: usize,
    ) -> Result<Self> {
        check_common(args)?;
        let norm = Norm::new(&b.pp("norm"), args, in_dim)?;
        let act = activation(args, "activation", Some("relu"))?;
        let dilation = args.usize_or("dilation_rate", 1)?;
        let conv = Conv1D::new(&b.pp("conv"), in_dim, filters, width, dilation, true)?;
        let residual = args.bool_or("residual", false)?;
        if residual && in_dim != filters {
            return Err(args.err(format!("residual needs filters == input channels ({in_dim})")));
        }
        Ok(ConvNac { norm, act, conv, residual, pool })
    }

    fn reach(&self, r: &mut Reach) {
        r.conv(self.conv.span());
        r.pool(self.pool);
    }

    /// `first + scale * forward(first)`, the width-1 residual branch of a res_tower step,
    /// in one fused pass on the CPU when it applies.
    fn forward_scaled_into(&self, first: &Tensor, scale: &Scale) -> Result<Tensor> {
        if !self.residual && self.pool <= 1 {
            if let (Some((s, b)), Some(factors)) = (self.norm.folded_batch()?, scale.cpu_factors()?) {
                if let Some(y) = self.conv.forward_after(first, &s, &b, self.act, Some((first, &factors)))? {
                    return Ok(y);
                }
            }
        }
        scale.add_to(first, &self.forward(first)?)
    }

    /// `forward(max_pool_same(x, pool))`, pooling, normalising and activating in one pass
    /// on the CPU when it applies.
    fn forward_pooled(&self, x: &Tensor, pool: usize) -> Result<Tensor> {
        if !self.residual && crate::layers::cpu::usable(&[x]) {
            if let Some((scale, shift)) = self.norm.folded_batch()? {
                let (batch, len, ch) = x.dims3()?;
                if scale.len() == ch {
                    let act = crate::layers::cpu::with_slice(x, |xs| {
                        crate::layers::cpu::max_pool_scale_shift_act(xs, batch, len, ch, pool, &scale, &shift, self.act)
                    })?;
                    if let Some(act) = act {
                        let y = Tensor::from_vec(act, (batch, len.div_ceil(pool), ch), x.device())?;
                        return max_pool_same(&self.conv.forward(&y)?, self.pool);
                    }
                }
            }
        }
        self.forward(&max_pool_same(x, pool)?)
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let fused = match self.norm.folded_batch()? {
            Some((scale, shift)) => self.conv.forward_after(x, &scale, &shift, self.act, None)?,
            None => None,
        };
        let mut y = match fused {
            Some(y) => y,
            None => self.conv.forward(&self.norm.forward_act(x, self.act)?)?,
        };
        if self.residual {
            y = (x + y)?;
        }
        max_pool_same(&y, self.pool)
    }
}

/// `conv_block`: activation, convolution (bias only without norm), norm, optional
/// residual, end activation, pool.
struct ConvBlock {
    act: Activation,
    conv: Conv1D,
    norm: Norm,
    residual: bool,
    act_end: Activation,
    pool: usize,
}

impl ConvBlock {
    fn new(b: &Builder, args: &Args, in_dim: usize, filters: usize) -> Result<Self> {
        check_common(args)?;
        let act = activation(args, "activation", Some("relu"))?;
        let width = args.usize_or_single("kernel_size", 1)?;
        let dilation = args.usize_or("dilation_rate", 1)?;
        let norm_kind = Norm::kind(args)?;
        let conv = Conv1D::new(&b.pp("conv"), in_dim, filters, width, dilation, norm_kind.is_none())?;
        let norm = Norm::new(&b.pp("norm"), args, filters)?;
        let residual = args.bool_or("residual", false)?;
        if residual && in_dim != filters {
            return Err(args.err(format!("residual needs filters == input channels ({in_dim})")));
        }
        let act_end = activation(args, "activation_end", None)?;
        let pool = args.usize_or("pool_size", 1)?;
        Ok(ConvBlock { act, conv, norm, residual, act_end, pool })
    }

    fn reach(&self, r: &mut Reach) {
        r.conv(self.conv.span());
        r.pool(self.pool);
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.conv.forward(&self.act.forward(x)?)?;
        let mut y = self.norm.forward(&y)?;
        if self.residual {
            y = (x + y)?;
        }
        let y = self.act_end.forward(&y)?;
        max_pool_same(&y, self.pool)
    }
}

fn pooled_len(len: usize, pool: usize) -> usize {
    if pool > 1 {
        len.div_ceil(pool)
    } else {
        len
    }
}

/// `conv_dna`: the first convolution on one-hot DNA, then norm and activation, or a
/// scaled `conv_nac` residual branch.
struct ConvDna {
    conv: Conv1D,
    residual: Option<(ConvNac, Scale)>,
    norm: Norm,
    act: Activation,
    pool: usize,
}

impl Block for ConvDna {
    fn reach(&self, r: &mut Reach) -> bool {
        r.conv(self.conv.span());
        if let Some((branch, _)) = &self.residual {
            branch.reach(r);
        }
        r.pool(self.pool);
        true
    }

    fn forward(&self, x: &Tensor, _reprs: &mut Reprs) -> Result<Tensor> {
        let mut y = self.conv.forward(x)?;
        match &self.residual {
            Some((branch, scale)) => {
                let r = scale.forward(&branch.forward(&y)?)?;
                y = (y + r)?;
            }
            None => {
                y = self.norm.forward_act(&y, self.act)?;
            }
        }
        max_pool_same(&y, self.pool)
    }
}

pub fn conv_dna(b: &Builder, args: &Args, ctx: &mut BuildCtx) -> Result<Box<dyn Block>> {
    check_common(args)?;
    let in_dim = ctx.shape.ch;
    let filters = args.usize_or("filters", in_dim)?;
    let width = args.usize_or_single("kernel_size", 15)?;
    let norm_kind = Norm::kind(args)?;
    let residual = args.bool_or("residual", false)?;
    let use_bias = match args.present_bool("use_bias")? {
        Some(v) => v,
        None => norm_kind.is_none() && !residual,
    };
    let conv = Conv1D::new(&b.pp("conv"), in_dim, filters, width, 1, use_bias)?;
    let (residual, norm) = if residual {
        // The residual branch is a width-1 conv_nac with the block's norm and activation.
        let mut branch_args = args.clone();
        branch_args.values.remove("kernel_size");
        branch_args.values.remove("residual");
        let branch = ConvNac::new(&b.pp("residual"), &branch_args, filters, filters, 1, 1)?;
        let scale = Scale::new(&b.pp("residual_scale"), filters)?;
        (Some((branch, scale)), Norm::None)
    } else {
        (None, Norm::new(&b.pp("norm"), args, filters)?)
    };
    let act = activation(args, "activation", Some("relu"))?;
    let pool = args.usize_or("pool_size", 1)?;
    ctx.shape = super::Shape { len: pooled_len(ctx.shape.len, pool), ch: filters };
    Ok(Box::new(ConvDna { conv, residual, norm, act, pool }))
}

struct Single<T>(T);

impl Block for Single<ConvBlock> {
    fn reach(&self, r: &mut Reach) -> bool {
        self.0.reach(r);
        true
    }

    fn forward(&self, x: &Tensor, _reprs: &mut Reprs) -> Result<Tensor> {
        self.0.forward(x)
    }
}

impl Block for Single<ConvNac> {
    fn reach(&self, r: &mut Reach) -> bool {
        self.0.reach(r);
        true
    }

    fn forward(&self, x: &Tensor, _reprs: &mut Reprs) -> Result<Tensor> {
        self.0.forward(x)
    }
}

pub fn conv_block(b: &Builder, args: &Args, ctx: &mut BuildCtx) -> Result<Box<dyn Block>> {
    let filters = args.usize_or("filters", ctx.shape.ch)?;
    let block = ConvBlock::new(b, args, ctx.shape.ch, filters)?;
    ctx.shape = super::Shape { len: pooled_len(ctx.shape.len, block.pool), ch: filters };
    Ok(Box::new(Single(block)))
}

pub fn conv_nac(b: &Builder, args: &Args, ctx: &mut BuildCtx) -> Result<Box<dyn Block>> {
    let filters = args.usize_or("filters", ctx.shape.ch)?;
    let width = args.usize_or_single("kernel_size", 1)?;
    let pool = args.usize_or("pool_size", 1)?;
    let block = ConvNac::new(b, args, ctx.shape.ch, filters, width, pool)?;
    ctx.shape = super::Shape { len: pooled_len(ctx.shape.len, pool), ch: filters };
    Ok(Box::new(Single(block)))
}

/// The filters of each step of a tower: geometric from `filters_init`, rounded.
fn tower_filters(args: &Args) -> Result<Vec<usize>> {
    let init = args
        .opt_f64("filters_init")?
        .ok_or_else(|| args.err("\"filters_init\" is required"))?;
    let repeat = args.usize_or("repeat", 1)?;
    let divisible_by = args.usize_or("divisible_by", 1)?;
    let mult = filters_mult(args, init, repeat)?;
    let mut filters = init;
    let mut out = Vec::with_capacity(repeat);
    for i in 0..repeat {
        let f = round_filters(filters, divisible_by);
        if f == 0 {
            return Err(args.err(format!("step {i} rounds to 0 filters ({filters:.1} to a multiple of {divisible_by})")));
        }
        out.push(f);
        filters *= mult;
    }
    Ok(out)
}

/// Arguments a tower hands to each of its blocks: the tower's keys taken out.
fn inner_args(args: &Args) -> Args {
    let mut inner = args.clone();
    for key in TOWER_KEYS.iter().chain(["num_convs"].iter()) {
        inner.values.remove(*key);
    }
    inner
}

/// A tower of blocks, each saving its output as a representation.
struct Tower<T> {
    steps: Vec<T>,
}

impl Block for Tower<ConvBlock> {
    fn reach(&self, r: &mut Reach) -> bool {
        self.steps.iter().for_each(|s| s.reach(r));
        true
    }

    fn forward(&self, x: &Tensor, reprs: &mut Reprs) -> Result<Tensor> {
        let mut x = x.clone();
        for step in &self.steps {
            x = step.forward(&x)?;
            reprs.push(&x);
        }
        Ok(x)
    }
}

impl Block for Tower<ConvNac> {
    fn reach(&self, r: &mut Reach) -> bool {
        self.steps.iter().for_each(|s| s.reach(r));
        true
    }

    fn forward(&self, x: &Tensor, reprs: &mut Reprs) -> Result<Tensor> {
        let mut x = x.clone();
        for step in &self.steps {
            x = step.forward(&x)?;
            reprs.push(&x);
        }
        Ok(x)
    }
}

pub fn conv_tower(b: &Builder, args: &Args, ctx: &mut BuildCtx) -> Result<Box<dyn Block>> {
    let inner = inner_args(args);
    let mut steps = Vec::new();
    for (i, filters) in tower_filters(args)?.into_iter().enumerate() {
        let block = ConvBlock::new(&b.pp(i), &inner, ctx.shape.ch, filters)?;
        ctx.shape = super::Shape { len: pooled_len(ctx.shape.len, block.pool), ch: filters };
        ctx.push_repr();
        steps.push(block);
    }
    Ok(Box::new(Tower { steps }))
}

pub fn conv_tower_nac(b: &Builder, args: &Args, ctx: &mut BuildCtx) -> Result<Box<dyn Block>> {
    let inner = inner_args(args);
    let width = args.usize_or_single("kernel_size", 1)?;
    let pool = args.usize_or("pool_size", 1)?;
    let mut steps = Vec::new();
    for (i, filters) in tower_filters(args)?.into_iter().enumerate() {
        let block = ConvNac::new(&b.pp(i), &inner, ctx.shape.ch, filters, width, pool)?;
        ctx.shape = super::Shape { len: pooled_len(ctx.shape.len, pool), ch: filters };
        ctx.push_repr();
        steps.push(block);
    }
    Ok(Box::new(Tower { steps }))
}

/// One residual step of `res_tower`: a wide `conv_nac`, then width-1 `conv_nac`s whose
/// scaled sum is added back, then the pool.
struct ResStep {
    first: ConvNac,
    rest: Vec<ConvNac>,
    scale: Option<Scale>,
    pool: usize,
}

struct ResTower {
    steps: Vec<ResStep>,
}

impl Block for ResTower {
    fn reach(&self, r: &mut Reach) -> bool {
        for step in &self.steps {
            step.first.reach(r);
            step.rest.iter().for_each(|c| c.reach(r));
            r.pool(step.pool);
        }
        true
    }

    fn forward(&self, x: &Tensor, reprs: &mut Reprs) -> Result<Tensor> {
        let batch = x.dim(0)?;
        if batch == 1 || !crate::layers::cpu::usable(&[x]) {
            return self.forward_batch(x, reprs);
        }
        // Inference on the CPU: one sequence at a time. At batch 4 the first steps' tensors
        // are 25 MB each and no longer stay in the last-level cache, which made a sequence
        // in a batch slower than one alone; the layers mix nothing across the batch, so the
        // numbers are the same.
        let keep = reprs.keep_ahead();
        let mut outs = Vec::with_capacity(batch);
        let mut stores = Vec::with_capacity(batch);
        for b in 0..batch {
            let mut own = Reprs::new(keep);
            outs.push(self.forward_batch(&x.narrow(0, b, 1)?, &mut own)?);
            stores.push(own.into_store());
        }
        for i in 0..self.steps.len() {
            let parts: Option<Vec<Tensor>> = stores.iter().map(|s| s.get(i).cloned().flatten()).collect();
            reprs.push_kept(parts.map(|p| Tensor::cat(&p, 0)).transpose()?);
        }
        Ok(Tensor::cat(&outs, 0)?)
    }
}

impl ResTower {
    fn forward_batch(&self, x: &Tensor, reprs: &mut Reprs) -> Result<Tensor> {
        // Each step's pool is applied by the next step's first convolution (fused with its
        // norm and activation), the last one at the end.
        let mut x = x.clone();
        let mut pending_pool = None;
        for step in &self.steps {
            let first = match pending_pool {
                Some(pool) => step.first.forward_pooled(&x, pool)?,
                None => step.first.forward(&x)?,
            };
            let y = match (&step.scale, step.rest.as_slice()) {
                (Some(scale), [only]) => only.forward_scaled_into(&first, scale)?,
                _ => {
                    let mut y = first.clone();
                    for conv in &step.rest {
                        y = conv.forward(&y)?;
                    }
                    match &step.scale {
                        Some(scale) => scale.add_to(&first, &y)?,
                        None => y,
                    }
                }
            };
            reprs.push(&y);
            x = y;
            pending_pool = Some(step.pool);
        }
        match pending_pool {
            Some(pool) => max_pool_same(&x, pool),
            None => Ok(x),
        }
    }
}

pub fn res_tower(b: &Builder, args: &Args, ctx: &mut BuildCtx) -> Result<Box<dyn Block>> {
    let mut inner = inner_args(args);
    for key in ["kernel_size", "dropout", "pool_size", "pool_type"] {
        inner.values.remove(key);
    }
    args.require(
        "pool_type",
        matches!(args.opt_str("pool_type")?, None | Some("max")),
        "a pool_type other than \"max\"",
    )?;
    let width = args.usize_or_single("kernel_size", 1)?;
    let pool = args.usize_or("pool_size", 2)?;
    let num_convs = args.usize_or("num_convs", 2)?;
    if num_convs == 0 {
        return Err(args.err("\"num_convs\" must be at least 1"));
    }
    let mut steps = Vec::new();
    for (i, filters) in tower_filters(args)?.into_iter().enumerate() {
        let sb = b.pp(i);
        let first = ConvNac::new(&sb.pp("conv0"), &inner, ctx.shape.ch, filters, width, 1)?;
        let rest = (1..num_convs)
            .map(|ci| ConvNac::new(&sb.pp(format!("conv{ci}")), &inner, filters, filters, 1, 1))
            .collect::<Result<Vec<_>>>()?;
        let scale = if num_convs > 1 { Some(Scale::new(&sb.pp("scale"), filters)?) } else { None };
        ctx.shape.ch = filters;
        ctx.push_repr();
        ctx.shape.len = pooled_len(ctx.shape.len, pool);
        steps.push(ResStep { first, rest, scale, pool });
    }
    Ok(Box::new(ResTower { steps }))
}
