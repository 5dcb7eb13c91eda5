//! Ridge regression probe: standardised features, unpenalised intercept, and a penalty
//! `alpha` per training sample (the solver's λ is `alpha · n`), so one grid means the same
//! amount of shrinkage for inner and outer training sets of different sizes.

use super::linalg::{check_training, LinearFit, Matrix, RidgeSystem, Standardizer};
use crate::error::Result;

/// A fitted ridge probe.
#[derive(Debug, Clone)]
pub struct RidgeProbe {
    pub alpha: f64,
    fit: LinearFit,
}

impl RidgeProbe {
    /// Minimises `(1/2n)‖y − b − Xw‖² + (alpha/2)‖w‖²` on standardised `X`.
    pub fn fit(x: &Matrix, y: &[f64], alpha: f64) -> Result<Self> {
        Ok(Self::fit_path(x, y, &[alpha])?.remove(0))
    }

    /// One fit per penalty, sharing the standardisation and the Gram matrix.
    pub fn fit_path(x: &Matrix, y: &[f64], alphas: &[f64]) -> Result<Vec<Self>> {
        check_training("ridge", "targets", x, y)?;
        let standardizer = Standardizer::fit(x);
        let xs = standardizer.apply(x);
        let intercept = y.iter().sum::<f64>() / y.len() as f64;
        let yc: Vec<f64> = y.iter().map(|v| v - intercept).collect();
        let system = RidgeSystem::new(&xs, &yc)?;
        alphas
            .iter()
            .map(|&alpha| {
                let weights = system.solve(alpha * y.len() as f64)?;
                Ok(RidgeProbe { alpha, fit: LinearFit { standardizer: standardizer.clone(), weights, intercept } })
            })
            .collect()
    }

    pub fn predict(&self, x: &Matrix) -> Result<Vec<f64>> {
        self.fit.score("ridge", x)
    }

    /// Coefficients and intercept in the original feature units.
    pub fn coefficients(&self) -> (Vec<f64>, f64) {
        self.fit.coefficients()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::linalg::dot;
    use crate::probe::metrics::r2;
    use crate::sim::rng::Rng;

    /// `y = X w + 3 + noise` with feature scales that differ by 100x.
    fn linear_data(n: usize, d: usize, noise: f64, seed: u64) -> (Matrix, Vec<f64>, Vec<f64>) {
        let mut rng = Rng::stream(seed, "ridge-data", 0);
        let w: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
        let scales: Vec<f64> = (0..d).map(|j| if j % 2 == 0 { 0.1 } else { 10.0 }).collect();
        let mut data = Vec::with_capacity(n * d);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let row: Vec<f64> = scales.iter().map(|s| s * rng.normal()).collect();
            y.push(dot(&row, &w) + 3.0 + noise * rng.normal());
            data.extend(row);
        }
        (Matrix::new(n, d, data).unwrap(), y, w)
    }

    fn cosine(a: &[f64], b: &[f64]) -> f64 {
        dot(a, b) / (dot(a, a) * dot(b, b)).sqrt()
    }

    #[test]
    fn recovers_linear_weights_in_original_units() {
        // Weight j multiplies a feature of scale s_j, so compare w_j s_j (the signal share).
        let (x, y, w) = linear_data(400, 10, 0.1, 1);
        let probe = RidgeProbe::fit(&x, &y, 1e-4).unwrap();
        let (coef, b) = probe.coefficients();
        let scaled = |v: &[f64]| v.iter().enumerate().map(|(j, v)| v * if j % 2 == 0 { 0.1 } else { 10.0 }).collect::<Vec<_>>();
        let c = cosine(&coef, &w);
        assert!(c > 0.99, "cosine {c}");
        let c = cosine(&scaled(&coef), &scaled(&w));
        assert!(c > 0.99, "cosine of signal shares {c}");
        assert!((b - 3.0).abs() < 0.1, "intercept {b}");
        // A huge penalty shrinks to the mean, not to zero: the intercept is unpenalised.
        let flat = RidgeProbe::fit(&x, &y, 1e6).unwrap();
        let p = flat.predict(&x).unwrap();
        let m = y.iter().sum::<f64>() / y.len() as f64;
        assert!(p.iter().all(|v| (v - m).abs() < 0.05), "{:?}", &p[..3]);
        assert!(r2(&y, &probe.predict(&x).unwrap()).unwrap() > 0.99);
    }

    #[test]
    fn path_matches_single_fits_and_checks_shapes() {
        let (x, y, _) = linear_data(30, 50, 0.5, 2); // n < d: the dual system
        let path = RidgeProbe::fit_path(&x, &y, &[0.1, 10.0]).unwrap();
        let one = RidgeProbe::fit(&x, &y, 10.0).unwrap();
        assert_eq!(path[1].predict(&x).unwrap(), one.predict(&x).unwrap());
        let e = RidgeProbe::fit(&x, &y[..29], 1.0).unwrap_err().to_string();
        assert!(e.contains("30 feature rows but 29 targets"), "{e}");
        let narrow = Matrix::zeros(2, 3);
        assert!(one.predict(&narrow).unwrap_err().to_string().contains("50 features"));
    }
}
