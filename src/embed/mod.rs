//! Embeddings of sequences (shorkie-embed): one vector per FASTA record or BED region,
//! taken from a chosen trunk layer of a model and pooled over the layer positions that
//! cover the sequence.
//!
//! **Layers.** A layer is a trunk block of params.json (`conv_dna`, `res_tower`,
//! `transformer_tower`, `unet_conv`, …) by index or by name (the last block of that
//! name), or `trunk`, the trunk output after the model's final activation. The default,
//! `transformer`, is the output of the last `transformer_tower` block: the deepest layer
//! that still sees the whole window before the U-net upsamples back towards base
//! resolution. Intermediate blocks are taken as the block returns them (no activation).
//!
//! **Windows.** A layer position covers `stride` bases (`seq_length / positions`). A
//! sequence no longer than the model input sits in the middle of one window, padded with
//! N (all-zero one-hot) on both sides — or, for BED regions, with the genome around it;
//! only the positions overlapping the sequence are pooled. A longer sequence is cut into
//! consecutive windows from its first base (the last one runs past its end, into N or the
//! genome); every position overlapping the sequence is pooled once, so `mean` is the
//! position-weighted average over the tiles. See [`plan`].
//!
//! **Pooling.** `mean` and `max` over the covered positions; `cls-bin` the one position at
//! the sequence's centre, from a window centred on it; `none` every covered position in
//! order (variable length, so NPZ or TSV output only). `--rc` averages each window with
//! its reverse complement's output, positions mapped back to forward order.

pub mod embedder;
pub mod layer;
pub mod output;
pub mod pipeline;
pub mod plan;
pub mod source;

pub use embedder::{Embedder, Embedding};
pub use layer::Layer;
pub use plan::{plan_windows, Window};
pub use source::{Item, Meta};

/// How layer positions become one embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Pool {
    /// Average over the positions covering the sequence.
    Mean,
    /// Element-wise maximum over those positions.
    Max,
    /// The position at the sequence's centre.
    ClsBin,
    /// Every covered position (an array per sequence).
    None,
}
