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
