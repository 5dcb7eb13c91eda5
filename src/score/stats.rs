//! Variant-effect statistics, as baskerville's `snps.compute_scores`, on untransformed
//! predictions. Inputs are `[passes][bins][tracks]` for reference and alternative, where
//! passes are the ensemble members (fold x shift); every statistic is averaged over passes.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stat {
    /// Σ_bins (alt − ref)  (baskerville SUM / SAD)
    Sum,
    /// Σ_bins [log2(alt+1) − log2(ref+1)]
    LogSum,
    /// log2(Σ_bins alt + 1) − log2(Σ_bins ref + 1)
    LogSed,
    /// Σ_bins |alt − ref|
    D1,
    /// sqrt(Σ_bins (alt − ref)²)
    D2,
    /// sqrt(Σ_bins [log2(alt+1) − log2(ref+1)]²)
    LogD2,
    /// Jensen-Shannon-style symmetric KL of bin profiles (25th-percentile pseudocount)
    Js,
    /// (alt − ref) at the bin of largest |alt − ref|
    Sax,
    /// Σ_bins ref
    Ref,
    /// Σ_bins alt
    Alt,
}

pub const ALL_STATS: &[Stat] = &[
    Stat::Sum, Stat::LogSum, Stat::LogSed, Stat::D1, Stat::D2, Stat::LogD2, Stat::Js, Stat::Sax,
    Stat::Ref, Stat::Alt,
];

impl Stat {
    pub fn name(self) -> &'static str {
        match self {
            Stat::Sum => "SUM",
            Stat::LogSum => "logSUM",
            Stat::LogSed => "logSED",
            Stat::D1 => "D1",
            Stat::D2 => "D2",
            Stat::LogD2 => "logD2",
            Stat::Js => "JS",
            Stat::Sax => "SAX",
            Stat::Ref => "REF",
            Stat::Alt => "ALT",
        }
    }

    /// The formula, for the VCF header.
    pub fn formula(self) -> &'static str {
        match self {
            Stat::Sum => "SUM=sum_bins(alt-ref)",
            Stat::LogSum => "logSUM=sum_bins(log2(alt+1)-log2(ref+1))",
            Stat::LogSed => "logSED=log2(sum_bins(alt)+1)-log2(sum_bins(ref)+1)",
            Stat::D1 => "D1=sum_bins|alt-ref|",
            Stat::D2 => "D2=sqrt(sum_bins(alt-ref)^2)",
            Stat::LogD2 => "logD2=sqrt(sum_bins(log2(alt+1)-log2(ref+1))^2)",
            Stat::Js => "JS=(KL(r||a)+KL(a||r))/2 of bin profiles normalised with the 25th-percentile ref pseudocount",
            Stat::Sax => "SAX=(alt-ref) at the bin of max|alt-ref|",
            Stat::Ref => "REF=sum_bins(ref)",
            Stat::Alt => "ALT=sum_bins(alt)",
        }
    }
}

impl FromStr for Stat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ALL_STATS
            .iter()
            .copied()
            .find(|st| st.name().eq_ignore_ascii_case(s) || (s == "SAD" && *st == Stat::Sum))
            .ok_or_else(|| {
                let names: Vec<&str> = ALL_STATS.iter().map(|s| s.name()).collect();
                Error::Input(format!("unknown statistic \"{s}\" (known: {})", names.join(", ")))
            })
    }
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Predictions of one allele: `passes x bins x tracks`, row-major.
#[derive(Debug, Clone)]
pub struct Preds {
    pub passes: usize,
    pub bins: usize,
    pub tracks: usize,
    pub data: Vec<f32>,
}

impl Preds {
    #[inline]
    fn at(&self, p: usize, b: usize, t: usize) -> f64 {
        self.data[(p * self.bins + b) * self.tracks + t] as f64
    }
}

fn log2p1(x: f64) -> f64 {
    (x + 1.0).log2()
}

/// NumPy's default (linear) percentile of `v` (sorted in place).
fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let pos = q / 100.0 * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// x ln(x / y), 0 for x = 0 (scipy's rel_entr).
fn rel_entr(x: f64, y: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else {
        x * (x / y).ln()
    }
}

/// One value per track for `stat`, averaged over passes.
pub fn compute(stat: Stat, reference: &Preds, alt: &Preds) -> Vec<f64> {
    assert_eq!((reference.passes, reference.bins, reference.tracks), (alt.passes, alt.bins, alt.tracks));
    let (np, nb, nt) = (reference.passes, reference.bins, reference.tracks);
    let mut out = vec![0f64; nt];
    for (t, slot) in out.iter_mut().enumerate() {
        let mut acc = 0.0;
        for p in 0..np {
            let r = |b| reference.at(p, b, t);
            let a = |b| alt.at(p, b, t);
            acc += match stat {
                Stat::Sum => (0..nb).map(|b| a(b) - r(b)).sum::<f64>(),
                Stat::LogSum => (0..nb).map(|b| log2p1(a(b)) - log2p1(r(b))).sum::<f64>(),
                Stat::LogSed => {
                    log2p1((0..nb).map(a).sum::<f64>()) - log2p1((0..nb).map(r).sum::<f64>())
                }
                Stat::D1 => (0..nb).map(|b| (a(b) - r(b)).abs()).sum::<f64>(),
                Stat::D2 => (0..nb).map(|b| (a(b) - r(b)).powi(2)).sum::<f64>().sqrt(),
                Stat::LogD2 => {
                    (0..nb).map(|b| (log2p1(a(b)) - log2p1(r(b))).powi(2)).sum::<f64>().sqrt()
                }
                Stat::Sax => {
                    let mut best = 0.0f64;
                    let mut best_abs = -1.0f64;
                    for b in 0..nb {
                        let d = a(b) - r(b);
                        // First maximum wins, as numpy's argmax.
                        if d.abs() > best_abs {
                            best_abs = d.abs();
                            best = d;
                        }
                    }
                    best
                }
                Stat::Js => {
                    let mut rv: Vec<f64> = (0..nb).map(r).collect();
                    let pc = percentile(&mut rv, 25.0);
                    let rs: f64 = (0..nb).map(|b| r(b) + pc).sum();
                    let as_: f64 = (0..nb).map(|b| a(b) + pc).sum();
                    let mut kl_ra = 0.0;
                    let mut kl_ar = 0.0;
                    for b in 0..nb {
                        let rn = (r(b) + pc) / rs;
                        let an = (a(b) + pc) / as_;
                        kl_ra += rel_entr(rn, an);
                        kl_ar += rel_entr(an, rn);
                    }
                    (kl_ra + kl_ar) / 2.0
                }
                Stat::Ref => (0..nb).map(r).sum::<f64>(),
                Stat::Alt => (0..nb).map(a).sum::<f64>(),
            };
        }
        *slot = acc / np as f64;
    }
    out
}

impl Stat {
    /// Whether the statistic depends on each allele's predictions only through their
    /// per-track bin sums (Σ x and Σ log2(x+1)), so a pass can be reduced to those sums as
    /// soon as it is predicted instead of keeping its `bins x tracks` matrix.
    pub fn from_bin_sums(self) -> bool {
        matches!(self, Stat::Sum | Stat::LogSum | Stat::LogSed | Stat::Ref | Stat::Alt)
    }
}

/// One allele's predictions in one pass, reduced over the scored bins: per track Σ x and
/// Σ log2(x+1).
#[derive(Debug, Clone, PartialEq)]
pub struct BinSums {
    pub sum: Vec<f64>,
    pub log_sum: Vec<f64>,
}

/// One value per track for a statistic with [`Stat::from_bin_sums`], averaged over passes:
/// the same numbers as [`compute`] on the full predictions, summed in another order.
pub fn compute_from_sums(stat: Stat, reference: &[BinSums], alt: &[BinSums]) -> Vec<f64> {
    assert!(stat.from_bin_sums() && reference.len() == alt.len() && !reference.is_empty());
    let nt = reference[0].sum.len();
    let mut out = vec![0f64; nt];
    for (r, a) in reference.iter().zip(alt) {
        for (t, slot) in out.iter_mut().enumerate() {
            *slot += match stat {
                Stat::Sum => a.sum[t] - r.sum[t],
                Stat::LogSum => a.log_sum[t] - r.log_sum[t],
                Stat::LogSed => log2p1(a.sum[t]) - log2p1(r.sum[t]),
                Stat::Ref => r.sum[t],
                Stat::Alt => a.sum[t],
                _ => unreachable!("asserted above"),
            };
        }
    }
    let np = reference.len() as f64;
    out.iter_mut().for_each(|v| *v /= np);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preds(passes: usize, bins: usize, tracks: usize, data: Vec<f32>) -> Preds {
        Preds { passes, bins, tracks, data }
    }

    #[test]
    fn formulas_on_a_small_case() {
        // 1 pass, 3 bins, 1 track.
        let r = preds(1, 3, 1, vec![1.0, 3.0, 0.0]);
        let a = preds(1, 3, 1, vec![2.0, 1.0, 0.0]);
        let v = |s| compute(s, &r, &a)[0];
        assert!((v(Stat::Sum) - (-1.0)).abs() < 1e-12);
        assert!((v(Stat::LogSed) - (4f64.log2() - 5f64.log2())).abs() < 1e-12);
        assert!((v(Stat::LogSum) - (3f64.log2() - 2f64.log2() + 2f64.log2() - 4f64.log2())).abs() < 1e-12);
        assert!((v(Stat::D1) - 3.0).abs() < 1e-12);
        assert!((v(Stat::D2) - 5f64.sqrt()).abs() < 1e-12);
        assert!((v(Stat::Sax) - (-2.0)).abs() < 1e-12);
        assert!((v(Stat::Ref) - 4.0).abs() < 1e-12);
        assert!(v(Stat::Js) > 0.0);
        assert_eq!(compute(Stat::Js, &r, &r)[0], 0.0);
    }

    #[test]
    fn averages_over_passes() {
        let r = preds(2, 1, 1, vec![1.0, 3.0]);
        let a = preds(2, 1, 1, vec![2.0, 3.0]);
        assert!((compute(Stat::Sum, &r, &a)[0] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn bin_sums_give_the_same_statistics() {
        let r = preds(2, 3, 2, vec![1.0, 0.5, 3.0, 2.0, 0.0, 4.0, 2.0, 1.0, 1.0, 0.0, 5.0, 2.5]);
        let a = preds(2, 3, 2, vec![2.0, 0.5, 1.0, 2.5, 0.0, 4.0, 1.0, 1.5, 1.0, 0.5, 4.0, 2.5]);
        let sums = |p: &Preds| -> Vec<BinSums> {
            (0..p.passes)
                .map(|k| BinSums {
                    sum: (0..p.tracks).map(|t| (0..p.bins).map(|b| p.at(k, b, t)).sum()).collect(),
                    log_sum: (0..p.tracks).map(|t| (0..p.bins).map(|b| log2p1(p.at(k, b, t))).sum()).collect(),
                })
                .collect()
        };
        for &stat in ALL_STATS.iter().filter(|s| s.from_bin_sums()) {
            let (full, reduced) = (compute(stat, &r, &a), compute_from_sums(stat, &sums(&r), &sums(&a)));
            for (x, y) in full.iter().zip(&reduced) {
                assert!((x - y).abs() <= 1e-12 * x.abs().max(1.0), "{stat}: {x} vs {y}");
            }
        }
        assert!(!Stat::D1.from_bin_sums() && !Stat::Js.from_bin_sums() && !Stat::Sax.from_bin_sums());
    }

    #[test]
    fn numpy_percentile() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        assert!((percentile(&mut v, 25.0) - 1.75).abs() < 1e-12);
    }

    #[test]
    fn parses_names() {
        assert_eq!("logsed".parse::<Stat>().unwrap(), Stat::LogSed);
        assert_eq!("SAD".parse::<Stat>().unwrap(), Stat::Sum);
        assert!("nope".parse::<Stat>().unwrap_err().to_string().contains("known:"));
    }
}
