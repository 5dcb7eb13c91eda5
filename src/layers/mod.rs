//! Keras layers used by baskerville's blocks, channels-last: activations are
//! `[batch, length, channels]` throughout, and weights keep their Keras layouts.

pub mod activation;
pub mod attention;
pub mod conv;
pub mod cpu;
pub mod dense;
pub mod norm;
pub mod reshape;
pub mod scale;

pub use activation::Activation;
pub use attention::MultiheadAttention;
pub use conv::{Conv1D, SeparableConv1D};
pub use dense::Dense;
pub use norm::{BatchNorm, LayerNorm};
pub use scale::Scale;
