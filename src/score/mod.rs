//! Variant-effect scoring: alleles, windows, statistics, track selection, and the
//! streaming pipeline behind `shorkie-score`.

pub mod allele;
pub mod encode;
pub mod pipeline;
pub mod scorer;
pub mod stats;
pub mod tracks;
pub mod vcf_out;
