//! One track's coverage for one sequence, turned into training targets exactly as
//! baskerville's `hound_data_read.py` does it (default "new" transform; no `--transform_old`,
//! no `-i` NaN interpolation — both off by default in hound_data.py).
//!
//! Steps, in hound's order, for base-level values `x` of the window `[start, end)`:
//!
//! 1. Read: pyBigWig `values(...)` (float32, NaN where the BigWig has no data) then
//!    `astype("float16")` and back to float32 — every base value is rounded to half
//!    precision (values from 65520 up become inf). Done by the caller ([`round_f16`]).
//! 2. Baseline: if the pooled length `(len - 2*crop) / pool_width` is at least 8, the
//!    float32 `np.percentile(x, 50)` of the *uncropped* window (NaN as soon as any base is
//!    NaN), through `np.nan_to_num` — so any missing base makes the baseline 0. Otherwise 0.
//! 3. Blacklist: each blacklist interval overlapping the window clips its bases to
//!    `[-baseline, baseline]` (NaN stays NaN). The slice is Python's
//!    `x[b.start - start : b.end - start]`: an interval that starts before the window gives
//!    a negative start index, which Python counts from the end — so such an interval
//!    touches nothing unless it starts more than a window length before the window (then
//!    the slice starts at 0). Reproduced as is.
//! 4. NaN (no data) bases are set to the baseline.
//! 5. Crop `crop_bp` from each end.
//! 6. Scale: `x * scale` in float32.
//! 7. Pool each run of `pool_width` bases by `sum_stat` (float32 throughout):
//!    `sum`; `sum_sqrt` = `-1 + sqrt(1 + sum)`; `sum_exp75` = `-1 + (1 + sum)^0.75`;
//!    `mean`/`avg`; `mean_sqrt`/`avg_sqrt` = `-1 + sqrt(1 + mean)`; `max`;
//!    `peak` = `clip(sqrt(4 * mean), 0, 1)`; `median` (hound calls `ndarray.median`,
//!    which numpy lacks, so it crashes there; here it is `np.median`). Sums and means use
//!    numpy's pairwise float32 summation.
//! 8. Soft clip: values above `clip_soft` become `clip_soft - 1 + sqrt(x - clip_soft + 1)`.
//! 9. Hard clip to `[-clip, clip]`.
//! 10. Clip to the float16 range `[-65504, 65504]` and round to float16 (hound stores
//!     float16 targets; they come back to float32 exactly).
//!
//! `scale`, `clip` and `clip_soft` reach hound_data_read.py through hound_data.py's
//! `"%f"` formatting, i.e. rounded to 6 decimals; [`TrackTransform::from_target`] does
//! the same. Two dataset-wide steps are not part of a single read: hound_data_read's final
//! `np.percentile(targets, 100*0.9999999)` clip over all sequences of a track (with numpy
//! ≥ 2 the float16 quantile rounds to 1.0, the maximum, so it changes nothing), and
//! hound_data_write's unmappable clip (see [`super::umap`]; off by default).

use super::numeric::{mean_f32, median_f32, nan_to_num_f32, percentile_f32, round_f16, sum_f32, F16_MAX};
use crate::error::{Error, Result};
use crate::formats::targets::Target;

/// hound_data_read.py's `--black_pct` default: the baseline is this quantile of the window.
pub const BLACKLIST_PCT: f64 = 0.5;

/// How bases are summarised in each pooled bin (hound_data_read's `-u`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SumStat {
    Sum,
    SumSqrt,
    SumExp75,
    Mean,
    MeanSqrt,
    Median,
    Max,
    Peak,
}

impl SumStat {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "sum" => SumStat::Sum,
            "sum_sqrt" => SumStat::SumSqrt,
            "sum_exp75" => SumStat::SumExp75,
            "mean" | "avg" => SumStat::Mean,
            "mean_sqrt" | "avg_sqrt" => SumStat::MeanSqrt,
            "median" => SumStat::Median,
            "max" => SumStat::Max,
            "peak" => SumStat::Peak,
            _ => return None,
        })
    }

    /// Pools one bin of float32 values.
    pub fn pool(self, bin: &[f32]) -> f32 {
        match self {
            SumStat::Sum => sum_f32(bin),
            SumStat::SumSqrt => -1.0 + (1.0 + sum_f32(bin)).sqrt(),
            SumStat::SumExp75 => -1.0 + (1.0 + sum_f32(bin)).powf(0.75),
            SumStat::Mean => mean_f32(bin),
            SumStat::MeanSqrt => -1.0 + (1.0 + mean_f32(bin)).sqrt(),
            SumStat::Median => median_f32(bin),
            SumStat::Max => {
                bin.iter()
                    .copied()
                    .fold(f32::NEG_INFINITY, |m, x| if m.is_nan() || x.is_nan() { f32::NAN } else { m.max(x) })
            }
            SumStat::Peak => clip((mean_f32(bin) * 4.0).sqrt(), 0.0, 1.0),
        }
    }
}

/// `np.clip` for one float32: NaN passes through.
fn clip(x: f32, lo: f32, hi: f32) -> f32 {
    if x.is_nan() {
        x
    } else {
        x.max(lo).min(hi)
    }
}

/// A track's pooling and transform parameters (hound_data_read's `-u`, `-s`, `-c`,
/// `--clip_soft`).
#[derive(Debug, Clone, PartialEq)]
pub struct TrackTransform {
    pub sum_stat: SumStat,
    pub scale: f64,
    pub clip: Option<f64>,
    pub clip_soft: Option<f64>,
}

/// A number as hound_data.py hands it to hound_data_read.py: `"%f" % x`, parsed back.
pub fn hound_arg(x: f64) -> f64 {
    format!("{x:.6}").parse().unwrap_or(x)
}

impl TrackTransform {
    /// The transform of a targets-sheet row, with hound_data.py's `"%f"` rounding of
    /// `scale`, `clip` and `clip_soft`. `where_` names the row in errors.
    pub fn from_target(t: &Target, where_: &str) -> Result<Self> {
        let sum_stat = SumStat::parse(&t.sum_stat).ok_or_else(|| {
            Error::Input(format!(
                "{where_}: unknown sum_stat \"{}\" (hound_data_read.py knows sum, sum_sqrt, sum_exp75, mean, avg, mean_sqrt, avg_sqrt, median, max, peak)",
                t.sum_stat
            ))
        })?;
        Ok(TrackTransform {
            sum_stat,
            scale: hound_arg(t.scale),
            clip: t.clip.map(hound_arg),
            clip_soft: t.clip_soft.map(hound_arg),
        })
    }

    /// Turns base values of one window into pooled targets (steps 2-10 of the module
    /// docs). `x` holds the float16-rounded base values of `[win_start, win_start +
    /// x.len())` with NaN for no data; it is modified in place. `blacklist` is this
    /// contig's blacklist (any order). Returns `(x.len() - 2*crop) / pool_width` values.
    pub fn apply(
        &self,
        x: &mut [f32],
        win_start: u64,
        pool_width: usize,
        crop: usize,
        blacklist: &[(u64, u64)],
    ) -> Vec<f32> {
        let len = x.len();
        if pool_width == 0 || len <= 2 * crop {
            return Vec::new();
        }
        let target_len = (len - 2 * crop) / pool_width;
        baseline_and_blacklist(x, win_start, target_len, blacklist);
        let x = &mut x[crop..len - crop];
        let scale = self.scale as f32;
        for v in x.iter_mut() {
            *v *= scale;
        }
        x.chunks_exact(pool_width).take(target_len).map(|bin| self.finish(self.sum_stat.pool(bin))).collect()
    }

    /// Steps 8-10 on one pooled value.
    pub fn finish(&self, mut v: f32) -> f32 {
        if let Some(cs) = self.clip_soft {
            let cs32 = cs as f32;
            if v > cs32 {
                v = (cs - 1.0) as f32 + ((v - cs32) + 1.0).sqrt();
            }
        }
        if let Some(c) = self.clip {
            let c = c as f32;
            v = clip(v, -c, c);
        }
        round_f16(clip(v, -F16_MAX, F16_MAX))
    }
}

/// Steps 2-4: baseline from the uncropped window, blacklist clipped to it, NaN set to it.
fn baseline_and_blacklist(x: &mut [f32], win_start: u64, target_len: usize, blacklist: &[(u64, u64)]) {
    let len = x.len();
    let baseline = if target_len >= 8 { nan_to_num_f32(percentile_f32(x, BLACKLIST_PCT)) } else { 0.0 };
    let win_end = win_start + len as u64;
    for &(bs, be) in blacklist {
        if bs < win_end && be > win_start {
            let r = py_slice(len, bs as i64 - win_start as i64, be as i64 - win_start as i64);
            for v in &mut x[r] {
                *v = clip(*v, -baseline, baseline);
            }
        }
    }
    for v in x.iter_mut() {
        if v.is_nan() {
            *v = baseline;
        }
    }
}

/// The index range Python's `seq[a:b]` selects from a sequence of length `len`.
fn py_slice(len: usize, a: i64, b: i64) -> std::ops::Range<usize> {
    let norm = |i: i64| -> usize {
        let i = if i < 0 { i + len as i64 } else { i };
        i.clamp(0, len as i64) as usize
    };
    let (a, b) = (norm(a), norm(b));
    a..b.max(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tt(stat: &str, scale: f64, clip: Option<f64>, clip_soft: Option<f64>) -> TrackTransform {
        TrackTransform { sum_stat: SumStat::parse(stat).unwrap(), scale, clip, clip_soft }
    }

    #[test]
    fn pools_by_each_sum_stat() {
        let x = [1.0f32, 2.0, 3.0, 10.0, 0.0, 0.0, 4.0, 4.0];
        let pool = |stat: &str| {
            let mut v = x.to_vec();
            tt(stat, 1.0, None, None).apply(&mut v, 0, 4, 0, &[])
        };
        assert_eq!(pool("sum"), vec![16.0, 8.0]);
        assert_eq!(pool("mean"), vec![4.0, 2.0]);
        assert_eq!(pool("avg"), vec![4.0, 2.0]);
        assert_eq!(pool("max"), vec![10.0, 4.0]);
        assert_eq!(pool("median"), vec![2.5, 2.0]);
        assert_eq!(pool("sum_sqrt"), vec![round_f16(-1.0 + 17f32.sqrt()), 2.0]);
        assert_eq!(pool("mean_sqrt"), vec![round_f16(-1.0 + 5f32.sqrt()), round_f16(-1.0 + 3f32.sqrt())]);
        assert_eq!(pool("sum_exp75"), vec![round_f16(-1.0 + 17f32.powf(0.75)), round_f16(-1.0 + 9f32.powf(0.75))]);
        assert_eq!(pool("peak"), vec![1.0, 1.0]);
        let mut v = vec![0.01f32, 0.03, 0.0, 0.0];
        assert_eq!(tt("peak", 1.0, None, None).apply(&mut v, 0, 4, 0, &[]), vec![round_f16(0.04f32.sqrt())]);
        assert!(SumStat::parse("mode").is_none());
    }

    #[test]
    fn scale_before_pooling_then_soft_then_hard_clip() {
        // scale 2: bins sum to 32 and 16; soft clip at 20: 19 + sqrt(13); hard clip 15.
        let mut v = [1.0f32, 2.0, 3.0, 10.0, 0.0, 0.0, 4.0, 4.0];
        let out = tt("sum", 2.0, None, Some(20.0)).apply(&mut v, 0, 4, 0, &[]);
        assert_eq!(out, vec![round_f16(19.0 + 13f32.sqrt()), 16.0]);
        let mut v = [1.0f32, 2.0, 3.0, 10.0, 0.0, 0.0, 4.0, 4.0];
        let out = tt("sum", 2.0, Some(15.0), Some(20.0)).apply(&mut v, 0, 4, 0, &[]);
        assert_eq!(out, vec![15.0, 15.0]);
        // Everything beyond the float16 range saturates at 65504.
        let mut v = [60000.0f32, 60000.0];
        assert_eq!(tt("sum", 1.0, None, None).apply(&mut v, 0, 2, 0, &[]), vec![65504.0]);
    }

    #[test]
    fn crop_comes_after_baseline_and_nan_fill() {
        // 4 bins of 1 after cropping 2 from each end of 8 bases: target_len < 8, baseline 0.
        let mut v = [9.0f32, 9.0, 1.0, f32::NAN, 3.0, 4.0, 9.0, 9.0];
        assert_eq!(tt("sum", 1.0, None, None).apply(&mut v, 0, 1, 2, &[]), vec![1.0, 0.0, 3.0, 4.0]);
    }

    #[test]
    fn baseline_is_window_median_without_nan() {
        // 12 bins of 1: baseline = median of the window = 2.5 (values 0..=5 twice).
        let base: Vec<f32> = (0..12).map(|i| (i % 6) as f32).collect();
        let mut v = base.clone();
        // Blacklist [2, 6) (already buffered): values clipped to [-2.5, 2.5].
        let out = tt("sum", 1.0, None, None).apply(&mut v, 100, 1, 0, &[(102, 106)]);
        let mut want = base.clone();
        for w in &mut want[2..6] {
            *w = w.min(2.5);
        }
        assert_eq!(out, want);
        // One NaN anywhere: baseline 0, so the NaN and the blacklisted bases become 0.
        let mut v = base.clone();
        v[11] = f32::NAN;
        let out = tt("sum", 1.0, None, None).apply(&mut v, 100, 1, 0, &[(102, 106)]);
        let mut want = base.clone();
        want[2..6].fill(0.0);
        want[11] = 0.0;
        assert_eq!(out, want);
    }

    #[test]
    fn blacklist_before_the_window_follows_python_slicing() {
        let base: Vec<f32> = (0..16).map(|i| 25.0 - i as f32).collect();
        // Starts 3 bp before the window: x[-3:4] is empty in Python.
        let mut v = base.clone();
        let out = tt("sum", 1.0, None, None).apply(&mut v, 100, 1, 0, &[(97, 104)]);
        assert_eq!(out, base);
        // Starts more than a window before: x[-20:4] = x[0:4].
        let mut v = base.clone();
        let out = tt("sum", 1.0, None, None).apply(&mut v, 100, 1, 0, &[(80, 104)]);
        let median = 17.5;
        let mut want = base.clone();
        for w in &mut want[..4] {
            *w = w.min(median);
        }
        assert_eq!(out, want);
        assert_eq!(py_slice(10, -3, 4), 7..7);
        assert_eq!(py_slice(10, 8, 40), 8..10);
    }

    #[test]
    fn sheet_numbers_pass_through_percent_f() {
        assert_eq!(hound_arg(0.1234567), 0.123457);
        assert_eq!(hound_arg(384.0), 384.0);
        assert_eq!(hound_arg(1e-7), 0.0);
    }
}
