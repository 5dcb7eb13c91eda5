//! L2-regularised binary logistic regression probe, fitted with L-BFGS. Newton/IRLS would
//! need a d x d Hessian per step (n·d² work for 2k-wide embeddings); L-BFGS needs two
//! matrix-vector products per step. The objective is strictly convex, so the optimum does
//! not depend on the starting point and warm starts along a penalty path only save time.
//! The penalty is per sample as in [`super::ridge`], and the intercept is unpenalised.

use super::linalg::{axpy, check_training, dot, LinearFit, Matrix, Standardizer};
use super::metrics::class_counts;
use crate::error::{Error, Result};

/// Stop when every gradient component is below this (the loss is a per-sample mean, so
/// gradients are O(1) whatever n is).
pub const GRAD_TOL: f64 = 1e-6;
pub const MAX_ITER: usize = 1000;
/// L-BFGS memory (curvature pairs kept).
const MEMORY: usize = 10;

#[derive(Debug, Clone)]
pub struct LogisticProbe {
    pub alpha: f64,
    fit: LinearFit,
    /// Whether the gradient reached [`GRAD_TOL`] within [`MAX_ITER`] iterations.
    pub converged: bool,
    pub iterations: usize,
}

fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Objective and gradient at `theta = [w; b]`.
fn loss_grad(x: &Matrix, y: &[f64], alpha: f64, theta: &[f64]) -> (f64, Vec<f64>) {
    let d = x.cols();
    let n = y.len() as f64;
    let (w, b) = (&theta[..d], theta[d]);
    let z = x.matvec(w);
    let mut f = 0.0;
    let mut r = Vec::with_capacity(y.len());
    for (zi, yi) in z.iter().zip(y) {
        let zi = zi + b;
        f += softplus(zi) - yi * zi;
        r.push((sigmoid(zi) - yi) / n);
    }
    let mut g = x.t_matvec(&r);
    axpy(alpha, w, &mut g);
    g.push(r.iter().sum());
    (f / n + 0.5 * alpha * dot(w, w), g)
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Minimises from `theta` in place; returns (converged, iterations).
fn lbfgs(x: &Matrix, y: &[f64], alpha: f64, theta: &mut [f64]) -> (bool, usize) {
    let (mut f, mut g) = loss_grad(x, y, alpha, theta);
    let mut mem: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::with_capacity(MEMORY);
    for iter in 0..MAX_ITER {
        if inf_norm(&g) < GRAD_TOL {
            return (true, iter);
        }
        // Two-loop recursion: p = −H g.
        let mut q = g.clone();
        let mut a = vec![0.0; mem.len()];
        for (k, (s, yv, rho)) in mem.iter().enumerate().rev() {
            a[k] = rho * dot(s, &q);
            axpy(-a[k], yv, &mut q);
        }
        let gamma = mem.last().map_or(1.0 / inf_norm(&g).max(1.0), |(s, yv, _)| dot(s, yv) / dot(yv, yv));
        q.iter_mut().for_each(|v| *v *= gamma);
        for (k, (s, yv, rho)) in mem.iter().enumerate() {
            let beta = rho * dot(yv, &q);
            axpy(a[k] - beta, s, &mut q);
        }
        let mut p: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&g, &p);
        if slope >= 0.0 {
            mem.clear();
            p = g.iter().map(|v| -v).collect();
            slope = -dot(&g, &g);
        }
        // Backtracking to the Armijo condition.
        let mut t = 1.0;
        let mut accepted = None;
        for _ in 0..60 {
            let trial: Vec<f64> = theta.iter().zip(&p).map(|(th, pi)| th + t * pi).collect();
            let (ft, gt) = loss_grad(x, y, alpha, &trial);
            if ft <= f + 1e-4 * t * slope {
                accepted = Some((trial, ft, gt));
                break;
            }
            t *= 0.5;
        }
        let Some((trial, ft, gt)) = accepted else {
            // No decrease is representable: at the optimum to rounding.
            return (inf_norm(&g) < 1e3 * GRAD_TOL, iter);
        };
        let s: Vec<f64> = trial.iter().zip(theta.iter()).map(|(a, b)| a - b).collect();
        let yv: Vec<f64> = gt.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &yv);
        if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&yv, &yv).sqrt() {
            if mem.len() == MEMORY {
                mem.remove(0);
            }
            mem.push((s, yv, 1.0 / sy));
        }
        theta.copy_from_slice(&trial);
        f = ft;
        g = gt;
    }
    (inf_norm(&g) < GRAD_TOL, MAX_ITER)
}

impl LogisticProbe {
    /// Minimises `(1/n) Σ log-loss + (alpha/2)‖w‖²` on standardised `X`; `y` is 0/1.
    pub fn fit(x: &Matrix, y: &[f64], alpha: f64) -> Result<Self> {
        Ok(Self::fit_path(x, y, &[alpha])?.remove(0))
    }

    /// One fit per penalty (returned in the order given), from the strongest penalty down,
    /// each warm-started from the previous optimum.
    pub fn fit_path(x: &Matrix, y: &[f64], alphas: &[f64]) -> Result<Vec<Self>> {
        check_training("logistic", "labels", x, y)?;
        class_counts("logistic", y)?;
        if let Some(a) = alphas.iter().find(|a| !(**a > 0.0 && a.is_finite())) {
            return Err(Error::Input(format!("logistic: penalty must be positive and finite, got {a}")));
        }
        let standardizer = Standardizer::fit(x);
        let xs = standardizer.apply(x);
        let d = x.cols();
        let mut order: Vec<usize> = (0..alphas.len()).collect();
        order.sort_by(|&i, &j| alphas[j].total_cmp(&alphas[i]));
        let mut theta = vec![0.0; d + 1];
        // Start the intercept at the base-rate logit.
        let rate = y.iter().sum::<f64>() / y.len() as f64;
        theta[d] = (rate / (1.0 - rate)).ln();
        let mut fits: Vec<Option<Self>> = vec![None; alphas.len()];
        for i in order {
            let (converged, iterations) = lbfgs(&xs, y, alphas[i], &mut theta);
            fits[i] = Some(LogisticProbe {
                alpha: alphas[i],
                fit: LinearFit { standardizer: standardizer.clone(), weights: theta[..d].to_vec(), intercept: theta[d] },
                converged,
                iterations,
            });
        }
        Ok(fits.into_iter().map(|f| f.expect("every penalty is fitted")).collect())
    }

    /// Log-odds of class 1.
    pub fn predict_logit(&self, x: &Matrix) -> Result<Vec<f64>> {
        self.fit.score("logistic", x)
    }

    /// Probability of class 1.
    pub fn predict_proba(&self, x: &Matrix) -> Result<Vec<f64>> {
        Ok(self.predict_logit(x)?.into_iter().map(sigmoid).collect())
    }

    /// Coefficients and intercept (log-odds) in the original feature units.
    pub fn coefficients(&self) -> (Vec<f64>, f64) {
        self.fit.coefficients()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::metrics::auroc;
    use crate::sim::rng::Rng;

    fn data(n: usize, d: usize, signal: f64, seed: u64) -> (Matrix, Vec<f64>) {
        let mut rng = Rng::stream(seed, "logistic-data", 0);
        let w: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
        let mut xs = Vec::with_capacity(n * d);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let row: Vec<f64> = (0..d).map(|_| 3.0 * rng.normal() + 1.0).collect();
            let p = sigmoid(signal * dot(&row, &w) - 0.5);
            y.push(if rng.uniform() < p { 1.0 } else { 0.0 });
            xs.extend(row);
        }
        (Matrix::new(n, d, xs).unwrap(), y)
    }

    #[test]
    fn converges_to_a_stationary_point() {
        let (x, y) = data(300, 8, 1.0, 1);
        let fits = LogisticProbe::fit_path(&x, &y, &[1e-3, 1.0, 1e-1]).unwrap();
        for f in &fits {
            assert!(f.converged, "alpha {} after {} iterations", f.alpha, f.iterations);
            // Independent check of optimality: the gradient at the returned point.
            let xs = f.fit.standardizer.apply(&x);
            let mut theta = f.fit.weights.clone();
            theta.push(f.fit.intercept);
            let (_, g) = loss_grad(&xs, &y, f.alpha, &theta);
            assert!(inf_norm(&g) < 1e-5, "{}", inf_norm(&g));
        }
        // A stronger penalty gives smaller weights.
        let norm = |f: &LogisticProbe| dot(&f.fit.weights, &f.fit.weights);
        assert!(norm(&fits[1]) < norm(&fits[2]) && norm(&fits[2]) < norm(&fits[0]));
        // A cold start lands on the same optimum as the warm-started path.
        let cold = LogisticProbe::fit(&x, &y, 0.1).unwrap();
        for (a, b) in cold.fit.weights.iter().zip(&fits[2].fit.weights) {
            assert!((a - b).abs() < 1e-4);
        }
    }

    #[test]
    fn separable_ish_task_is_learned_in_sample() {
        let (x, y) = data(400, 5, 2.0, 2);
        let f = LogisticProbe::fit(&x, &y, 1e-3).unwrap();
        let a = auroc(&y, &f.predict_proba(&x).unwrap()).unwrap();
        assert!(a > 0.95, "{a}");
    }

    #[test]
    fn bad_labels_are_errors() {
        let x = Matrix::zeros(3, 2);
        let e = |y: &[f64]| LogisticProbe::fit(&x, y, 1.0).unwrap_err().to_string();
        assert!(e(&[1.0, 1.0, 1.0]).contains("both classes"));
        assert!(e(&[1.0, 0.0, f64::NAN]).contains("label 2 is NaN"));
        assert!(e(&[1.0, 0.0]).contains("3 feature rows but 2 labels"));
        assert!(LogisticProbe::fit(&x, &[1.0, 0.0, 1.0], 0.0).is_err());
    }
}
