//! In-silico saturation mutagenesis and gradient saliency.
//!
//! [`fast`] recomputes only the activations a single-base change can reach; [`runner`]
//! spreads that over fold models, shifts and reverse complements; [`score`] turns mutant
//! predictions into the scorer's statistics; [`saliency`] is gradient x input.

pub mod fast;
pub mod job;
pub mod outputs;
pub mod report;
pub mod runner;
pub mod saliency;
pub mod score;
pub mod windows;

pub use fast::{FastIsm, Mutant};
pub use runner::{RunSpec, Runner};
