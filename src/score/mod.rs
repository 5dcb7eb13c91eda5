//! Variant-effect scoring: alleles, windows, statistics, track selection, and the
//! streaming pipeline behind `shorkie-score`.

pub mod allele;
pub mod encode;
pub mod pipeline;
pub mod resume;
pub mod scorer;
pub mod sink;
pub mod source;
pub mod stats;
pub mod tracks;
pub mod vcf_out;
