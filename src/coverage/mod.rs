//! Supervised training data from coverage tracks, following baskerville's hound_data
//! scripts: the targets sheet ([`crate::formats::targets`]), BigWig coverage pooled into targets
//! exactly as `hound_data_read.py` computes them ([`CoverageSource`], steps in
//! [`transform`]), blacklist and unmappable regions ([`Blacklist`], [`umap`]), and the
//! genome split into segments, cross-validation folds and model windows ([`folds`],
//! [`tile()`]).

pub mod bigwig;
pub mod blacklist;
pub mod folds;
pub mod numeric;
pub mod tile;
pub mod transform;
pub mod umap;

pub use bigwig::CoverageSource;
pub use blacklist::{Blacklist, BLACKLIST_BUFFER};
pub use folds::{
    assign_folds, break_large, drop_short, fold_segments, rejoin, split, split_at_gaps, FoldSplit, Segment, BREAK_T,
};
pub use tile::{tile, tile_snapped};
pub use transform::{SumStat, TrackTransform};
pub use umap::{clip_unmappable, keep_sequence, unmappable_bins, unmappable_fraction, UMAP_CLIP, UMAP_T};
