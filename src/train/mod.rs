//! Training: masked-language-model pretraining over genomes (`shorkie-pretrain`).

pub mod adam;
pub mod data;
pub mod kmer;
pub mod lm;
pub mod plot;
pub mod rng;
