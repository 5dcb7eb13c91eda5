//! The float semantics hound_data_read.py gets from numpy, reproduced bit for bit where
//! it matters for float32 targets:
//!
//! - `arr.sum(dtype="float32")` sums by numpy's pairwise scheme (blocks of up to 128
//!   values with 8 interleaved float32 accumulators, halves recursively above that), not
//!   left to right: [`sum_f32`].
//! - `arr.mean(dtype="float32")` is that sum divided by the count: [`mean_f32`].
//! - `np.percentile(arr, q)` (method "linear") propagates NaN, and interpolates with
//!   numpy's `_lerp` in the array's dtype: [`percentile_f32`].
//! - `astype("float16")` rounds to nearest-even half precision, overflowing to ±inf:
//!   [`round_f16`].

/// numpy's pairwise summation of float32 values (what `np.add.reduce` does along a
/// contiguous axis), starting from the identity 0.
pub fn sum_f32(a: &[f32]) -> f32 {
    0.0 + pairwise(a)
}

fn pairwise(a: &[f32]) -> f32 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0f32;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0f32; 8];
        r.copy_from_slice(&a[..8]);
        let whole = n - n % 8;
        let mut i = 8;
        while i < whole {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[whole..] {
            res += x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise(&a[..n2]) + pairwise(&a[n2..])
    }
}

/// `a.mean(dtype="float32")`: the float32 pairwise sum divided by the count (numpy divides
/// in float64 and stores float32, which equals a float32 division).
pub fn mean_f32(a: &[f32]) -> f32 {
    (sum_f32(a) as f64 / a.len() as f64) as f32
}

/// `np.median(a)` for float32 rows: NaN if any value is NaN, else the middle value, or
/// the float32 mean of the two middle values.
pub fn median_f32(a: &[f32]) -> f32 {
    if a.is_empty() || a.iter().any(|x| x.is_nan()) {
        return f32::NAN;
    }
    let mut v = a.to_vec();
    let n = v.len();
    let hi = n / 2;
    let (_, &mut b, _) = v.select_nth_unstable_by(hi, f32::total_cmp);
    if n % 2 == 1 {
        return b;
    }
    let a_lo = v[..hi].iter().copied().fold(f32::NEG_INFINITY, f32::max);
    mean_f32(&[a_lo, b])
}

/// `np.percentile(a, 100 * q)` with a scalar `q` and numpy's default "linear" method on a
/// float32 array: NaN when any value is NaN; otherwise the order statistics `lo`, `hi`
/// around the virtual index `(n - 1) * q` blended by numpy's `_lerp` —
/// `lo + (hi - lo) * t` for `t < 0.5`, `hi - (hi - lo) * (1 - t)` otherwise — in float32
/// (numpy ≥ 2 keeps a Python-float quantile weak), so infinities give NaN as in numpy.
pub fn percentile_f32(a: &[f32], q: f64) -> f32 {
    let n = a.len();
    if n == 0 || a.iter().any(|x| x.is_nan()) {
        return f32::NAN;
    }
    let (prev, next, t) = virtual_index(n, q);
    let t = t as f32;
    let mut v = a.to_vec();
    let (_, &mut lo, rest) = v.select_nth_unstable_by(prev, f32::total_cmp);
    let hi = if next == prev { lo } else { rest.iter().copied().fold(f32::INFINITY, f32::min) };
    let diff = hi - lo;
    if t >= 0.5 {
        hi - diff * (1.0 - t)
    } else {
        lo + diff * t
    }
}

/// numpy's neighbouring order-statistic indices and weight for quantile `q` of `n` values
/// (`_get_indexes`, `_get_gamma`): `(prev, next, t)`.
pub(crate) fn virtual_index(n: usize, q: f64) -> (usize, usize, f64) {
    let vi = (n - 1) as f64 * q;
    if vi >= (n - 1) as f64 {
        (n - 1, n - 1, vi - (n - 1) as f64)
    } else if vi < 0.0 {
        (0, 0, 0.0)
    } else {
        let p = vi.floor();
        (p as usize, p as usize + 1, vi - p)
    }
}

/// `np.nan_to_num` on a float32 scalar: NaN to 0, ±inf to the largest finite float32.
pub fn nan_to_num_f32(x: f32) -> f32 {
    if x.is_nan() {
        0.0
    } else if x == f32::INFINITY {
        f32::MAX
    } else if x == f32::NEG_INFINITY {
        f32::MIN
    } else {
        x
    }
}

/// The largest finite float16, `np.finfo(np.float16).max`.
pub const F16_MAX: f32 = 65504.0;

/// Rounds a float32 to the nearest float16 (ties to even), as `astype("float16")` does,
/// and returns it as float32. Magnitudes from 65520 up become ±inf; NaN stays NaN.
pub fn round_f16(x: f32) -> f32 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let a = x.abs();
    if a >= 65520.0 {
        return f32::INFINITY.copysign(x);
    }
    // Spacing of float16 values around `a`: 2^-24 for subnormals, else 2^(e - 10).
    let exp = if a < 6.103_515_6e-5 { -14 } else { ((a.to_bits() >> 23) & 0xff) as i32 - 127 };
    let quantum = 2f64.powi(exp - 10);
    let r = ((a as f64 / quantum).round_ties_even() * quantum) as f32;
    r.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_differs_from_left_to_right_like_numpy() {
        // 1e8 then eight 3s: numpy's float32 sum is 100000016 (eight interleaved
        // accumulators, then the tail); left to right each 3 is lost and it stays 1e8.
        let mut v = vec![1e8f32];
        v.extend([3.0f32; 8]);
        assert_eq!(v.iter().fold(0f32, |s, x| s + x), 1e8);
        assert_eq!(sum_f32(&v), 100_000_016.0);
        // Small rows are summed in order; long rows are halved at multiples of 8.
        assert_eq!(sum_f32(&[1.0, 2.0, 3.5]), 6.5);
        let long: Vec<f32> = (0..300).map(|i| i as f32 * 0.25).collect();
        assert_eq!(sum_f32(&long), (0..300).map(|i| i as f64 * 0.25).sum::<f64>() as f32);
        assert_eq!(mean_f32(&[1.0, 2.0, 4.0]), 7.0f32 / 3.0);
    }

    #[test]
    fn percentile_matches_numpy_linear() {
        // np.percentile([4, 1, 3, 2], 50) == 2.5; odd length picks the middle value.
        assert_eq!(percentile_f32(&[4.0, 1.0, 3.0, 2.0], 0.5), 2.5);
        assert_eq!(percentile_f32(&[5.0, 1.0, 3.0], 0.5), 3.0);
        assert_eq!(percentile_f32(&[7.0], 0.5), 7.0);
        // np.percentile([0, 10], 25) == 2.5; 75 uses the upper form b - (b - a) * 0.25.
        assert_eq!(percentile_f32(&[0.0, 10.0], 0.25), 2.5);
        assert_eq!(percentile_f32(&[0.0, 10.0], 0.75), 7.5);
        assert!(percentile_f32(&[1.0, f32::NAN, 3.0], 0.5).is_nan());
        // numpy gives NaN for [1, inf, inf] (inf - inf in the lerp).
        assert!(percentile_f32(&[1.0, f32::INFINITY, f32::INFINITY], 0.5).is_nan());
        assert_eq!(nan_to_num_f32(f32::NAN), 0.0);
        assert_eq!(median_f32(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median_f32(&[4.0, 1.0, 3.0]), 3.0);
    }

    #[test]
    fn float16_rounding() {
        assert_eq!(round_f16(1.0), 1.0);
        // 1 + 2^-11 is a tie between 1 and 1 + 2^-10: to even (1).
        assert_eq!(round_f16(1.0 + 2f32.powi(-11)), 1.0);
        assert_eq!(round_f16(1.0 + 3.0 * 2f32.powi(-11)), 1.0 + 2.0 * 2f32.powi(-10));
        assert_eq!(round_f16(0.1), 0.099975586);
        assert_eq!(round_f16(-2049.0), -2048.0);
        assert_eq!(round_f16(2051.0), 2052.0);
        assert_eq!(round_f16(65504.0), 65504.0);
        assert_eq!(round_f16(65519.0), 65504.0);
        assert_eq!(round_f16(65520.0), f32::INFINITY);
        assert_eq!(round_f16(-70000.0), f32::NEG_INFINITY);
        // Subnormals step by 2^-24; half of the smallest rounds to 0 (tie to even).
        assert_eq!(round_f16(2f32.powi(-24) * 3.0), 2f32.powi(-24) * 3.0);
        assert_eq!(round_f16(2f32.powi(-25)), 0.0);
        assert!(round_f16(f32::NAN).is_nan());
    }
}
