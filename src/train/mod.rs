//! Training: masked-language-model pretraining over genomes (`shorkie-pretrain`) and
//! supervised fine-tuning on coverage tracks (`shorkie-train`), through one loop.

pub mod adam;
pub mod data;
pub mod evaluate;
pub mod kmer;
pub mod lm;
pub mod loop_args;
pub mod plot;
pub mod rng;
pub mod supervised;
pub mod trainer;
