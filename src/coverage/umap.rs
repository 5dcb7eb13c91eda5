//! Unmappable regions, as baskerville's hound_data.py (`-u`, `--umap_t`) and
//! hound_data_write.py (`--umap_clip`) use them.
//!
//! 1. [`unmappable_bins`] (baskerville `data.annotate_unmap`): for a sequence window and
//!    the unmappable intervals overlapping it, mark the pooled bins each overlap covers —
//!    from `floor((ov_start - start) / w)` to `ceil((ov_end - start) / w)` — dropping the
//!    first and the last of those bins when the overlap covers less than 10% of the bin.
//!    The window is the (cropped) sequence hound writes to sequences.bed.
//! 2. [`unmappable_fraction`] and [`keep_sequence`]: hound_data.py drops a sequence unless
//!    the mean of its mask is strictly below `umap_t` (default [`UMAP_T`] = 0.5).
//! 3. [`clip_unmappable`] (hound_data_write.py): only when `umap_clip < 1` (default
//!    [`UMAP_CLIP`] = 1, i.e. off): per track, the `umap_clip` quantile of that sequence's
//!    float16 targets (numpy "linear" percentile, NaN if any target is NaN); targets in
//!    masked bins become `min(target, quantile)`, rounded to float16.

use super::numeric::{round_f16, virtual_index};

/// hound_data.py's `--umap_t` default.
pub const UMAP_T: f64 = 0.5;
/// hound_data.py's `--umap_clip` default (1 = no clipping).
pub const UMAP_CLIP: f64 = 1.0;

/// The unmappable mask of the pooled bins of `[start, end)`: `(end - start) / pool_width`
/// booleans. `unmap` holds the unmappable intervals of the window's contig (any order).
pub fn unmappable_bins(start: u64, end: u64, pool_width: u64, unmap: &[(u64, u64)]) -> Vec<bool> {
    let nbins = ((end - start) / pool_width) as usize;
    let mut mask = vec![false; nbins];
    let w = pool_width as i64;
    for &(us, ue) in unmap {
        // bedtools intersect -wo: at least 1 bp of overlap.
        let os = start.max(us);
        let oe = end.min(ue);
        if os >= oe {
            continue;
        }
        let (rs, re) = ((os - start) as i64, (oe - start) as i64);
        let mut first = rs.div_euclid(w);
        let mut last = (re + w - 1).div_euclid(w);
        // Skip minor overlaps with the first and last bins (less than 10% of a bin).
        let first_overlap = (first + 1) * w - rs;
        if (first_overlap as f64) < 0.1 * w as f64 {
            first += 1;
        }
        let last_overlap = re - (last - 1) * w;
        if (last_overlap as f64) < 0.1 * w as f64 {
            last -= 1;
        }
        let (a, b) = (first.clamp(0, nbins as i64) as usize, last.clamp(0, nbins as i64) as usize);
        for m in mask.iter_mut().take(b).skip(a) {
            *m = true;
        }
    }
    mask
}

/// The fraction of unmappable bins (numpy `mask.mean()`; 0 for an empty mask).
pub fn unmappable_fraction(mask: &[bool]) -> f64 {
    if mask.is_empty() {
        return 0.0;
    }
    mask.iter().filter(|&&m| m).count() as f64 / mask.len() as f64
}

/// hound_data.py's filter: keep a sequence when its unmappable fraction is below `umap_t`.
pub fn keep_sequence(mask: &[bool], umap_t: f64) -> bool {
    unmappable_fraction(mask) < umap_t
}

/// hound_data_write.py's unmappable clip on one sequence's row-major `[bins × tracks]`
/// targets; does nothing unless `umap_clip < 1`.
pub fn clip_unmappable(targets: &mut [f32], tracks: usize, mask: &[bool], umap_clip: f64) {
    if umap_clip >= 1.0 || tracks == 0 || !mask.iter().any(|&m| m) {
        return;
    }
    let bins = targets.len() / tracks;
    assert_eq!(mask.len(), bins, "unmappable mask has {} bins, targets {bins}", mask.len());
    for t in 0..tracks {
        let col: Vec<f32> = (0..bins).map(|b| targets[b * tracks + t]).collect();
        let null = percentile_f16(&col, umap_clip);
        for (b, &m) in mask.iter().enumerate() {
            if m {
                let x = &mut targets[b * tracks + t];
                *x = round_f16(if x.is_nan() || null.is_nan() { f32::NAN } else { (*x as f64).min(null) as f32 });
            }
        }
    }
}

/// `np.percentile(x_f16, [100*q], axis=0)` for one column of float16 values: the
/// difference of the neighbours in float16, the blend in float64 (a list quantile is not
/// weak in numpy's promotion).
fn percentile_f16(col: &[f32], q: f64) -> f64 {
    let n = col.len();
    if n == 0 || col.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    let (prev, next, t) = virtual_index(n, q);
    let mut v = col.to_vec();
    let (_, &mut lo, rest) = v.select_nth_unstable_by(prev, f32::total_cmp);
    let hi = if next == prev { lo } else { rest.iter().copied().fold(f32::INFINITY, f32::min) };
    let diff = round_f16(hi - lo) as f64;
    if t >= 0.5 {
        hi as f64 - diff * (1.0 - t)
    } else {
        lo as f64 + diff * t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_follow_annotate_unmap() {
        // Window [1000, 1320), 10 bins of 32.
        // [1010, 1070): bins 0..3 (ceil(70/32) = 3); last overlap 70 - 64 = 6 >= 3.2.
        assert_eq!(unmappable_bins(1000, 1320, 32, &[(1010, 1070)]).iter().filter(|&&m| m).count(), 3);
        // [1030, 1066): first overlap 2 < 3.2 drops bin 0, last overlap 2 < 3.2 drops bin 2.
        let m = unmappable_bins(1000, 1320, 32, &[(1030, 1066)]);
        assert_eq!(m[..3], [false, true, false]);
        // Overlaps clipped to the window; outside intervals ignored.
        let m = unmappable_bins(1000, 1320, 32, &[(900, 1064), (1300, 2000), (5, 10)]);
        assert_eq!(m, vec![true, true, false, false, false, false, false, false, false, true]);
        assert!((unmappable_fraction(&m) - 0.3).abs() < 1e-12);
        assert!(keep_sequence(&m, UMAP_T));
        assert!(!keep_sequence(&[true, false], 0.5));
    }

    #[test]
    fn clip_only_below_one_and_only_masked_bins() {
        // 4 bins × 2 tracks.
        let orig = vec![1.0f32, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0];
        let mask = [false, true, false, true];
        let mut t = orig.clone();
        clip_unmappable(&mut t, 2, &mask, UMAP_CLIP);
        assert_eq!(t, orig);
        // Quantile 0.25 per track: 1.75 and 17.5.
        clip_unmappable(&mut t, 2, &mask, 0.25);
        assert_eq!(t, vec![1.0, 10.0, 1.75, 17.5, 3.0, 30.0, 1.75, 17.5]);
    }
}
