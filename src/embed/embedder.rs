//! Runs a model's trunk up to the chosen layer on batches of windows and pools the
//! positions into one embedding per sequence.

use candle_core::Tensor;

use crate::ensemble::{reverse_complement, unreverse_output};
use crate::error::{Error, Result};
use crate::score::encode::InputLayout;
use crate::SeqNN;

use super::source::{Item, Planner};
use super::{Layer, Pool};

/// One sequence's embedding: `rows` vectors of `dim` values (one row when pooled, one per
/// covered position with `--pool none`).
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    pub rows: usize,
    pub dim: usize,
    pub data: Vec<f32>,
}

pub struct Embedder {
    model: SeqNN,
    layout: InputLayout,
    pub layer: Layer,
    pub pool: Pool,
    pub rc: bool,
}

impl Embedder {
    pub fn new(model: SeqNN, layout: InputLayout, layer: Layer, pool: Pool, rc: bool) -> Self {
        Embedder { model, layout, layer, pool, rc }
    }

    pub fn seq_len(&self) -> usize {
        self.model.params.seq_length
    }

    pub fn dim(&self) -> usize {
        self.layer.shape.ch
    }

    pub fn planner(&self) -> Planner {
        Planner { seq_len: self.seq_len(), stride: self.layer.stride, pool: self.pool }
    }

    /// The layer's output for a batch of encoded windows `[B, seq_len, channels]`.
    pub fn layer_output(&self, x: &Tensor) -> Result<Tensor> {
        let run = |x: &Tensor| match self.layer.block {
            Some(b) => self.model.trunk_block_forward(x, b),
            None => self.model.trunk_forward(x),
        };
        let y = run(x)?;
        if !self.rc {
            return Ok(y);
        }
        let back = unreverse_output(&run(&reverse_complement(x)?)?, None)?;
        Ok(((y + back)? * 0.5)?)
    }

    /// Layer outputs of windows given as bases: `[windows × positions × dim]`, flat.
    fn run_windows(&self, windows: &[Vec<u8>]) -> Result<Vec<f32>> {
        let seq_len = self.seq_len();
        let mut buf = Vec::with_capacity(windows.len() * seq_len * self.layout.channels);
        for w in windows {
            self.layout.encode_into(w, None, &mut buf);
        }
        let x = Tensor::from_vec(buf, (windows.len(), seq_len, self.layout.channels), &self.model.device())?;
        let y = self.layer_output(&x)?;
        let (_, p, d) = y.dims3()?;
        if p != self.layer.shape.len || d != self.dim() {
            return Err(Error::Other(format!(
                "layer {} gave [{p}, {d}], expected [{}, {}]",
                self.layer.label, self.layer.shape.len, self.layer.shape.ch
            )));
        }
        Ok(y.flatten_all()?.to_vec1::<f32>()?)
    }

    /// Embeddings of `items`, in order; windows go through the model `batch_size` at a time.
    pub fn embed(&self, items: &[Item], batch_size: usize) -> Result<Vec<Embedding>> {
        let seq_len = self.seq_len();
        let (p, d) = (self.layer.shape.len, self.dim());
        let jobs: Vec<(usize, usize)> =
            items.iter().enumerate().flat_map(|(i, it)| (0..it.windows.len()).map(move |w| (i, w))).collect();
        let mut out: Vec<Accumulator> = items.iter().map(|_| Accumulator::new(self.pool, d)).collect();
        for chunk in jobs.chunks(batch_size.max(1)) {
            let bases: Vec<Vec<u8>> =
                chunk.iter().map(|&(i, w)| items[i].window_bases(&items[i].windows[w], seq_len)).collect();
            let values = self.run_windows(&bases)?;
            for (k, &(i, w)) in chunk.iter().enumerate() {
                let window = &values[k * p * d..(k + 1) * p * d];
                for pos in items[i].windows[w].positions.clone() {
                    out[i].add(&window[pos * d..(pos + 1) * d]);
                }
            }
        }
        Ok(out.into_iter().map(Accumulator::finish).collect())
    }
}

/// Pools position vectors as they arrive.
struct Accumulator {
    pool: Pool,
    dim: usize,
    rows: usize,
    data: Vec<f32>,
}

impl Accumulator {
    fn new(pool: Pool, dim: usize) -> Self {
        let data = match pool {
            Pool::Mean => vec![0.0; dim],
            Pool::Max => vec![f32::NEG_INFINITY; dim],
            Pool::ClsBin | Pool::None => Vec::new(),
        };
        Accumulator { pool, dim, rows: 0, data }
    }

    fn add(&mut self, v: &[f32]) {
        match self.pool {
            Pool::Mean => self.data.iter_mut().zip(v).for_each(|(a, b)| *a += b),
            Pool::Max => self.data.iter_mut().zip(v).for_each(|(a, b)| *a = a.max(*b)),
            Pool::ClsBin | Pool::None => self.data.extend_from_slice(v),
        }
        self.rows += 1;
    }

    fn finish(mut self) -> Embedding {
        match self.pool {
            Pool::Mean => {
                let n = self.rows.max(1) as f32;
                self.data.iter_mut().for_each(|a| *a /= n);
                Embedding { rows: 1, dim: self.dim, data: self.data }
            }
            Pool::Max | Pool::ClsBin => Embedding { rows: 1, dim: self.dim, data: self.data },
            Pool::None => Embedding { rows: self.rows, dim: self.dim, data: self.data },
        }
    }
}
