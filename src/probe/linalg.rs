//! Dense f64 linear algebra for the probes: row-major matrices, standardisation, and ridge
//! solves through the normal equations. Embedding probes are at most ~20k samples by ~2k
//! features, so a d×d (or n×n) Gram matrix and a Cholesky factor fit in memory and are
//! far cheaper than iterative solvers; the Gram product goes through `gemm`, which the
//! crate already uses for its CPU kernels.

use gemm::Parallelism;

use crate::error::{Error, Result};

/// A dense row-major matrix (rows are samples, columns features).
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Result<Self> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(Error::Input(format!(
                "matrix: {} values do not make {rows} rows x {cols} columns",
                data.len()
            )));
        }
        Ok(Matrix { rows, cols, data })
    }

    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix { rows, cols, data: vec![0.0; rows * cols] }
    }

    /// From equal-length rows (e.g. one embedding per sequence).
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<Self> {
        let cols = rows.first().map_or(0, |r| r.len());
        let mut data = Vec::with_capacity(rows.len() * cols);
        for (i, r) in rows.iter().enumerate() {
            if r.len() != cols {
                return Err(Error::Input(format!(
                    "matrix: row {i} has {} values, row 0 has {cols}",
                    r.len()
                )));
            }
            data.extend_from_slice(r);
        }
        Ok(Matrix { rows: rows.len(), cols, data })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn data(&self) -> &[f64] {
        &self.data
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }

    /// The rows at `idx`, in that order (a fold's training or test set).
    pub fn select_rows(&self, idx: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(idx.len() * self.cols);
        for &i in idx {
            data.extend_from_slice(self.row(i));
        }
        Matrix { rows: idx.len(), cols: self.cols, data }
    }

    /// Errors at the first NaN or infinity, naming its row and column.
    pub fn check_finite(&self, what: &str) -> Result<()> {
        match self.data.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(p) => Err(Error::Input(format!(
                "{what}: non-finite value {} at row {}, column {}",
                self.data[p],
                p / self.cols.max(1),
                p % self.cols.max(1)
            ))),
        }
    }

    /// `X v`.
    pub fn matvec(&self, v: &[f64]) -> Vec<f64> {
        debug_assert_eq!(v.len(), self.cols);
        (0..self.rows).map(|i| dot(self.row(i), v)).collect()
    }

    /// `Xᵀ v`.
    pub fn t_matvec(&self, v: &[f64]) -> Vec<f64> {
        debug_assert_eq!(v.len(), self.rows);
        let mut out = vec![0.0; self.cols];
        for (i, &vi) in v.iter().enumerate() {
            if vi != 0.0 {
                axpy(vi, self.row(i), &mut out);
            }
        }
        out
    }
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `y += a x`.
pub fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// Per-feature centring and scaling learned on a training set and applied unchanged to
/// its test set, so that no test statistics leak into the fit. Standardising makes one
/// penalty mean the same for every feature, whatever the embedding's units.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    pub mean: Vec<f64>,
    /// Population standard deviation; 1 for (near-)constant features, which centre to zero
    /// on the training set and so get a zero weight under any penalty.
    pub scale: Vec<f64>,
}

impl Standardizer {
    pub fn fit(x: &Matrix) -> Self {
        let (n, d) = (x.rows(), x.cols());
        let mut mean = vec![0.0; d];
        for i in 0..n {
            axpy(1.0, x.row(i), &mut mean);
        }
        mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
        let mut var = vec![0.0; d];
        for i in 0..n {
            for ((v, xi), m) in var.iter_mut().zip(x.row(i)).zip(&mean) {
                *v += (xi - m) * (xi - m);
            }
        }
        let scale = var
            .iter()
            .zip(&mean)
            .map(|(v, m)| {
                let sd = (v / n.max(1) as f64).sqrt();
                // Relative cut: a feature whose spread is rounding noise is constant.
                if sd > 1e-12 * m.abs().max(1.0) {
                    sd
                } else {
                    1.0
                }
            })
            .collect();
        Standardizer { mean, scale }
    }

    pub fn apply(&self, x: &Matrix) -> Matrix {
        let mut out = x.clone();
        for row in out.data.chunks_mut(x.cols().max(1)) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = (*v - m) / s;
            }
        }
        out
    }
}

/// Checks that a probe's training set has one label per feature row and is not empty;
/// `probe` and `labels` name the probe and its kind of label in the message.
pub fn check_training(probe: &str, labels: &str, x: &Matrix, y: &[f64]) -> Result<()> {
    if x.rows() != y.len() {
        return Err(Error::Input(format!("{probe}: {} feature rows but {} {labels}", x.rows(), y.len())));
    }
    if y.is_empty() {
        return Err(Error::Input(format!("{probe}: no training samples")));
    }
    Ok(())
}

/// What ridge and logistic probes share once fitted: weights on standardised features and
/// an unpenalised intercept, `score = standardise(x) · w + b`.
#[derive(Debug, Clone)]
pub struct LinearFit {
    pub standardizer: Standardizer,
    pub weights: Vec<f64>,
    pub intercept: f64,
}

impl LinearFit {
    /// The linear score of every row; `probe` names the probe in the error.
    pub fn score(&self, probe: &str, x: &Matrix) -> Result<Vec<f64>> {
        if x.cols() != self.weights.len() {
            return Err(Error::Input(format!(
                "{probe}: fitted on {} features, asked to predict from {}",
                self.weights.len(),
                x.cols()
            )));
        }
        let xs = self.standardizer.apply(x);
        Ok((0..xs.rows()).map(|i| dot(xs.row(i), &self.weights) + self.intercept).collect())
    }

    /// Coefficients and intercept in the original feature units.
    pub fn coefficients(&self) -> (Vec<f64>, f64) {
        let w: Vec<f64> = self.weights.iter().zip(&self.standardizer.scale).map(|(w, s)| w / s).collect();
        let b = self.intercept - dot(&w, &self.standardizer.mean);
        (w, b)
    }
}

/// `dst (rows x cols) = lhs (rows x inner) * rhs (inner x cols)` with explicit strides.
#[allow(clippy::too_many_arguments)]
fn product(
    rows: usize,
    cols: usize,
    inner: usize,
    lhs: &[f64],
    lhs_cs: isize,
    lhs_rs: isize,
    rhs: &[f64],
    rhs_cs: isize,
    rhs_rs: isize,
) -> Matrix {
    let mut out = Matrix::zeros(rows, cols);
    if rows == 0 || cols == 0 || inner == 0 {
        return out;
    }
    // SAFETY: callers pass strides that stay within `lhs` and `rhs` (both are whole
    // row-major matrices read as themselves or transposed), and `out` is a fresh buffer of
    // rows x cols that aliases neither.
    unsafe {
        gemm::gemm(
            rows,
            cols,
            inner,
            out.data.as_mut_ptr(),
            1,
            cols as isize,
            false,
            lhs.as_ptr(),
            lhs_cs,
            lhs_rs,
            rhs.as_ptr(),
            rhs_cs,
            rhs_rs,
            0.0,
            1.0,
            false,
            false,
            false,
            Parallelism::Rayon(0),
        );
    }
    out
}

/// `Xᵀ X` (d x d).
pub fn gram(x: &Matrix) -> Matrix {
    let d = x.cols() as isize;
    // Xᵀ[i, k] = X[k, i]: column stride d, row stride 1.
    product(x.cols(), x.cols(), x.rows(), &x.data, d, 1, &x.data, 1, d)
}

/// `X Xᵀ` (n x n), the dual system's kernel.
pub fn kernel(x: &Matrix) -> Matrix {
    let d = x.cols() as isize;
    product(x.rows(), x.rows(), x.cols(), &x.data, 1, d, &x.data, d, 1)
}

/// The lower Cholesky factor of a symmetric positive-definite matrix.
#[derive(Debug, Clone)]
pub struct Cholesky {
    l: Matrix,
}

impl Cholesky {
    /// Factors `a + shift I` (the ridge penalty goes on the diagonal without copying the
    /// Gram matrix per penalty). Only the lower triangle of `a` is read.
    pub fn factor(a: &Matrix, shift: f64) -> Result<Self> {
        let d = a.rows();
        if a.cols() != d {
            return Err(Error::Input(format!("cholesky: matrix is {d} x {}, not square", a.cols())));
        }
        let mut l = Matrix::zeros(d, d);
        for i in 0..d {
            for j in 0..=i {
                // Rows i and j of L up to column j are final: a contiguous dot product.
                let s = dot(&l.data[i * d..i * d + j], &l.data[j * d..j * d + j]);
                let aij = a.data[i * d + j] + if i == j { shift } else { 0.0 };
                if i == j {
                    let v = aij - s;
                    if v <= 0.0 || !v.is_finite() {
                        return Err(Error::Input(format!(
                            "cholesky: matrix is not positive definite (pivot {i} is {v:e}); \
                             use a larger penalty"
                        )));
                    }
                    l.data[i * d + i] = v.sqrt();
                } else {
                    l.data[i * d + j] = (aij - s) / l.data[j * d + j];
                }
            }
        }
        Ok(Cholesky { l })
    }

    /// Solves `(L Lᵀ) x = b`.
    pub fn solve(&self, b: &[f64]) -> Vec<f64> {
        let d = self.l.rows();
        let l = &self.l.data;
        let mut y = b.to_vec();
        for i in 0..d {
            let s = dot(&l[i * d..i * d + i], &y[..i]);
            y[i] = (y[i] - s) / l[i * d + i];
        }
        for i in (0..d).rev() {
            let mut s = y[i];
            for k in i + 1..d {
                s -= l[k * d + i] * y[k];
            }
            y[i] = s / l[i * d + i];
        }
        y
    }
}

/// Ridge regression on centred features and targets (so no intercept column is needed and
/// the intercept stays unpenalised), set up once per training set and solved for many
/// penalties: the Gram matrix is the expensive part, each penalty costs one Cholesky.
/// Uses the d x d primal system `(XᵀX + λI) w = Xᵀy`, or the n x n dual
/// `w = Xᵀ (XXᵀ + λI)⁻¹ y` when there are fewer samples than features.
#[derive(Debug, Clone)]
pub enum RidgeSystem {
    Primal { gram: Matrix, xty: Vec<f64> },
    Dual { x: Matrix, kernel: Matrix, y: Vec<f64> },
}

impl RidgeSystem {
    /// `x` and `y` must already be centred (see [`Standardizer`]).
    pub fn new(x: &Matrix, y: &[f64]) -> Result<Self> {
        if x.rows() != y.len() {
            return Err(Error::Input(format!(
                "ridge: {} feature rows but {} targets",
                x.rows(),
                y.len()
            )));
        }
        if x.rows() < x.cols() {
            Ok(RidgeSystem::Dual { x: x.clone(), kernel: kernel(x), y: y.to_vec() })
        } else {
            Ok(RidgeSystem::Primal { gram: gram(x), xty: x.t_matvec(y) })
        }
    }

    /// The weights minimising `‖y − Xw‖² + λ‖w‖²`; `lambda` > 0.
    pub fn solve(&self, lambda: f64) -> Result<Vec<f64>> {
        if !(lambda > 0.0 && lambda.is_finite()) {
            return Err(Error::Input(format!("ridge: penalty must be positive and finite, got {lambda}")));
        }
        match self {
            RidgeSystem::Primal { gram, xty } => Ok(Cholesky::factor(gram, lambda)?.solve(xty)),
            RidgeSystem::Dual { x, kernel, y } => {
                let a = Cholesky::factor(kernel, lambda)?.solve(y);
                Ok(x.t_matvec(&a))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(rows: usize, cols: usize, v: &[f64]) -> Matrix {
        Matrix::new(rows, cols, v.to_vec()).unwrap()
    }

    #[test]
    fn gram_and_kernel_match_hand_products() {
        let x = m(3, 2, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(gram(&x).data(), &[35.0, 44.0, 44.0, 56.0]);
        assert_eq!(kernel(&x).data(), &[5.0, 11.0, 17.0, 11.0, 25.0, 39.0, 17.0, 39.0, 61.0]);
    }

    #[test]
    fn cholesky_solves_and_rejects_indefinite() {
        let a = m(2, 2, &[4.0, 2.0, 2.0, 3.0]);
        let x = Cholesky::factor(&a, 0.0).unwrap().solve(&[2.0, 1.0]);
        // 4x + 2y = 2, 2x + 3y = 1  =>  x = 0.5, y = 0
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12, "{x:?}");
        let bad = m(2, 2, &[1.0, 2.0, 2.0, 1.0]);
        let e = Cholesky::factor(&bad, 0.0).unwrap_err().to_string();
        assert!(e.contains("not positive definite"), "{e}");
    }

    #[test]
    fn standardizer_handles_constant_features_and_uses_train_statistics() {
        let train = m(3, 2, &[1.0, 7.0, 2.0, 7.0, 3.0, 7.0]);
        let s = Standardizer::fit(&train);
        let z = s.apply(&train);
        assert!(z.data().iter().all(|v| v.is_finite()));
        assert_eq!(z.get(0, 1), 0.0);
        let sd = (2.0f64 / 3.0).sqrt();
        assert!((z.get(0, 0) + 1.0 / sd).abs() < 1e-12);
        let test = m(1, 2, &[4.0, 8.0]);
        let zt = s.apply(&test);
        assert!((zt.get(0, 0) - 2.0 / sd).abs() < 1e-12);
        assert_eq!(zt.get(0, 1), 1.0);
    }

    #[test]
    fn primal_and_dual_ridge_agree() {
        // 4 samples, 6 features: the dual path; the same data with rows repeated twice
        // (8 x 6) would be primal, so compare each against a direct primal solve instead.
        let v: Vec<f64> = (0..24).map(|i| ((i * 7 % 11) as f64 - 5.0) / 3.0).collect();
        let x = m(4, 6, &v);
        let y = [1.0, -2.0, 0.5, 0.5];
        let dual = RidgeSystem::new(&x, &y).unwrap();
        assert!(matches!(dual, RidgeSystem::Dual { .. }));
        let primal = RidgeSystem::Primal { gram: gram(&x), xty: x.t_matvec(&y) };
        for lambda in [0.01, 1.0, 100.0] {
            let a = dual.solve(lambda).unwrap();
            let b = primal.solve(lambda).unwrap();
            for (p, q) in a.iter().zip(&b) {
                assert!((p - q).abs() < 1e-8, "lambda {lambda}: {a:?} vs {b:?}");
            }
        }
        assert!(dual.solve(0.0).unwrap_err().to_string().contains("positive"));
    }

    #[test]
    fn shape_errors_say_where() {
        assert!(Matrix::new(2, 3, vec![0.0; 5]).unwrap_err().to_string().contains("2 rows x 3 columns"));
        let e = Matrix::from_rows(&[vec![1.0, 2.0], vec![1.0]]).unwrap_err().to_string();
        assert!(e.contains("row 1"), "{e}");
        let e = m(2, 2, &[0.0, 1.0, f64::NAN, 0.0]).check_finite("embeddings").unwrap_err().to_string();
        assert!(e.contains("embeddings") && e.contains("row 1, column 0"), "{e}");
    }
}
