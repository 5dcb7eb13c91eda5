//! `transformer` and `transformer_tower`: pre-norm attention and a ReLU feed-forward,
//! each added back to its input.

use candle_core::Tensor;

use super::{Args, Block, BuildCtx, Reprs};
use crate::builder::Builder;
use crate::error::Result;
use crate::layers::{Activation, Dense, LayerNorm, MultiheadAttention};

pub const TRANSFORMER_KEYS: &[&str] = &[
    "key_size", "heads", "out_size", "activation", "dense_expansion", "content_position_bias",
    "dropout", "attention_dropout", "position_dropout", "l2_scale", "mha_l2_scale",
    "num_position_features", "qkv_width", "mha_initializer", "kernel_initializer",
    "seqlen_train",
];

pub const TOWER_KEYS: &[&str] = &[
    "repeat", "block_type",
    "key_size", "heads", "out_size", "activation", "dense_expansion", "content_position_bias",
    "dropout", "attention_dropout", "position_dropout", "l2_scale", "mha_l2_scale",
    "num_position_features", "qkv_width", "mha_initializer", "kernel_initializer",
    "seqlen_train",
];

struct Transformer {
    attn_norm: LayerNorm,
    attn: MultiheadAttention,
    dense: Option<(LayerNorm, Dense, Dense)>,
}

impl Transformer {
    fn new(b: &Builder, args: &Args, ch: usize, len: usize) -> Result<Self> {
        let heads = args.usize_or("heads", 1)?;
        if heads == 0 || ch % heads != 0 {
            return Err(args.err(format!("{ch} channels do not split into {heads} heads")));
        }
        if let Some(out) = args.opt_usize("out_size")? {
            args.require("out_size", out == ch, "an out_size other than the input channels")?;
        }
        args.require("qkv_width", args.usize_or("qkv_width", 1)? == 1, "a qkv_width other than 1")?;
        args.require(
            "content_position_bias",
            args.bool_or("content_position_bias", true)?,
            "content_position_bias=false",
        )?;
        let value_size = ch / heads;
        let key_size = args
            .opt_usize("key_size")?
            .ok_or_else(|| args.err("\"key_size\" is required"))?;
        let num_position_features =
            args.opt_usize("num_position_features")?.unwrap_or(value_size / 2 * 2);
        let char_len = args.opt_usize("seqlen_train")?.unwrap_or(len);
        let attn_norm = LayerNorm::new(&b.pp("attn_norm"), ch)?;
        let attn = MultiheadAttention::new(
            &b.pp("attn"),
            ch,
            heads,
            key_size,
            value_size,
            num_position_features,
            char_len,
        )?;
        let expansion = args.f64_or("dense_expansion", 2.0)?;
        let dense = if expansion == 0.0 {
            None
        } else {
            let hidden = (expansion * ch as f64) as usize;
            let norm = LayerNorm::new(&b.pp("ffn_norm"), ch)?;
            let up = Dense::new(&b.pp("ffn_up"), ch, hidden, true, Activation::Relu)?;
            let down = Dense::new(&b.pp("ffn_down"), hidden, ch, true, Activation::Linear)?;
            Some((norm, up, down))
        };
        Ok(Transformer { attn_norm, attn, dense })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = crate::layers::add(x, &self.attn.forward(&self.attn_norm.forward(x)?)?)?;
        match &self.dense {
            None => Ok(x),
            Some((norm, up, down)) => {
                let y = down.forward(&up.forward(&norm.forward(&x)?)?)?;
                crate::layers::add(&x, &y)
            }
        }
    }
}

struct Stack(Vec<Transformer>);

impl Block for Stack {
    fn forward(&self, x: &Tensor, _reprs: &mut Reprs) -> Result<Tensor> {
        let mut x = x.clone();
        for t in &self.0 {
            x = t.forward(&x)?;
        }
        Ok(x)
    }
}

pub fn transformer(b: &Builder, args: &Args, ctx: &mut BuildCtx) -> Result<Box<dyn Block>> {
    Ok(Box::new(Stack(vec![Transformer::new(b, args, ctx.shape.ch, ctx.shape.len)?])))
}

pub fn transformer_tower(b: &Builder, args: &Args, ctx: &mut BuildCtx) -> Result<Box<dyn Block>> {
    args.require(
        "block_type",
        matches!(args.opt_str("block_type")?, None | Some("transformer")),
        "a block_type other than \"transformer\"",
    )?;
    let repeat = args.usize_or("repeat", 2)?;
    let mut inner = args.clone();
    inner.values.remove("repeat");
    inner.values.remove("block_type");
    let blocks = (0..repeat)
        .map(|i| Transformer::new(&b.pp(i), &inner, ctx.shape.ch, ctx.shape.len))
        .collect::<Result<Vec<_>>>()?;
    Ok(Box::new(Stack(blocks)))
}
