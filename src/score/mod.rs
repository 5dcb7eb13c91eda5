//! Variant-effect scoring: alleles, windows, statistics, track selection, and the
//! streaming pipeline behind `shorkie-score`.

pub mod allele;
pub mod encode;
pub mod pipeline;
pub mod report;
pub mod resume;
pub mod scorer;
pub mod scores_h5;
pub mod scores_tsv;
pub mod side;
pub mod sink;
pub mod source;
pub mod stats;
pub mod summary;
pub mod tracks;
pub mod vcf_out;
