//! Blacklisted regions per contig, as hound_data_read.py's `read_blacklist` builds them.
//!
//! Each BED interval is widened by a buffer on both sides (hound's `black_buffer`, 20 bp;
//! the start is floored at 0). Intervals are kept as given — not merged — because
//! [`crate::coverage::transform`] applies them one by one with hound's slicing (merging
//! would change which ones reach a window; see there). Per contig they are sorted by start.

use std::collections::HashMap;
use std::path::Path;

use crate::formats::bed::{read_bed, Interval};
use crate::error::Result;

/// hound_data_read.py's `black_buffer`: bp added to each side of a blacklist interval.
pub const BLACKLIST_BUFFER: u64 = 20;

#[derive(Debug, Clone, Default)]
pub struct Blacklist {
    by_contig: HashMap<String, Vec<(u64, u64)>>,
}

impl Blacklist {
    /// Reads a blacklist BED, widening each interval by `buffer` bp
    /// ([`BLACKLIST_BUFFER`] reproduces hound_data_read.py).
    pub fn from_bed(path: &Path, buffer: u64) -> Result<Self> {
        Ok(Self::from_intervals(&read_bed(path)?, buffer))
    }

    pub fn from_intervals(intervals: &[Interval], buffer: u64) -> Self {
        let mut by_contig: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
        for iv in intervals {
            let start = iv.start.saturating_sub(buffer);
            let end = iv.end + buffer;
            if start < end {
                by_contig.entry(iv.contig.clone()).or_default().push((start, end));
            }
        }
        for v in by_contig.values_mut() {
            v.sort_unstable();
            // Python's IntervalTree is a set: identical intervals count once.
            v.dedup();
        }
        Blacklist { by_contig }
    }

    /// The sorted intervals on `contig` (empty when it has none), ready for
    /// [`crate::coverage::CoverageSource::read`].
    pub fn get(&self, contig: &str) -> &[(u64, u64)] {
        self.by_contig.get(contig).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn is_empty(&self) -> bool {
        self.by_contig.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_sorts_and_floors_at_zero() {
        let ivs = vec![
            Interval::new("chrI", 100, 200),
            Interval::new("chrI", 5, 10),
            Interval::new("chrII", 50, 60),
            Interval::new("chrI", 100, 200),
        ];
        let b = Blacklist::from_intervals(&ivs, BLACKLIST_BUFFER);
        assert_eq!(b.get("chrI"), &[(0, 30), (80, 220)]);
        assert_eq!(b.get("chrII"), &[(30, 80)]);
        assert!(b.get("chrX").is_empty());
    }
}
