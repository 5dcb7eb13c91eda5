//! CPU fast paths for inference. candle's generic convolution materialises the whole
//! im2col matrix and runs elementwise ops on one thread; these kernels work in
//! cache-sized row chunks on all threads. They are used only when no gradient is
//! being tracked (training goes through candle's differentiable ops).

use candle_core::{CpuStorage, Storage, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;

use crate::error::Result;

/// Positions per work item: the im2col chunk of a wide layer stays within L2.
const CHUNK: usize = 128;

/// True when `tensors` all live on the CPU as f32 and none of them records autograd ops.
pub fn usable(tensors: &[&Tensor]) -> bool {
    tensors
        .iter()
        .all(|t| t.device().is_cpu() && t.dtype() == candle_core::DType::F32 && !t.track_op())
}

/// Runs `f` on the contiguous f32 data of a CPU tensor.
pub fn with_slice<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| crate::Error::Other("tensor is not contiguous".into()))?;
    match &*storage {
        Storage::Cpu(CpuStorage::F32(v)) => Ok(f(&v[start..end])),
        _ => Err(crate::Error::Other("expected an f32 CPU tensor".into())),
    }
}

/// Row-major `dst[m, n] (+)= a[m, k] * b[k, n]`, single-threaded (callers parallelise).
fn matmul_into(dst: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize, accumulate: bool) {
    debug_assert!(dst.len() >= m * n && a.len() >= m * k && b.len() >= k * n);
    // SAFETY: the slices cover the strided ranges described (checked above in debug),
    // and `dst` does not alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m, n, k,
            dst.as_mut_ptr(), 1, n as isize, accumulate,
            a.as_ptr(), 1, k as isize,
            b.as_ptr(), 1, n as isize,
            1.0, 1.0, false, false, false,
            Parallelism::None,
        );
    }
}

/// Fraction of non-zero inputs below which the convolution goes sparse (one-hot DNA
/// with a few flag channels is far below it).
const SPARSE_DENSITY: f64 = 0.1;

/// "Same"-padded stride-1 convolution over `[batch, len, cin]` with a Keras kernel
/// `[width, cin, cout]`: `[batch, len, cout]`.
#[allow(clippy::too_many_arguments)]
pub fn conv1d_same(
    x: &[f32],
    batch: usize,
    len: usize,
    cin: usize,
    kernel: &[f32],
    width: usize,
    cout: usize,
    bias: Option<&[f32]>,
    dilation: usize,
) -> Vec<f32> {
    let span = (width - 1) * dilation + 1;
    let left = (span - 1) / 2;
    let nonzero = x.par_iter().filter(|v| **v != 0.0).count();
    let mut out = vec![0f32; batch * len * cout];
    if (nonzero as f64) < SPARSE_DENSITY * x.len() as f64 {
        conv_sparse(x, len, cin, kernel, width, cout, bias, dilation, left, &mut out);
        return out;
    }
    let kdim = width * cin;
    out.par_chunks_mut(CHUNK * cout).enumerate().for_each_init(
        || vec![0f32; CHUNK * kdim],
        |cols, (chunk_idx, dst)| {
            let rows = dst.len() / cout;
            let first = chunk_idx * CHUNK;
            // A chunk never straddles sequences when len is a multiple of CHUNK; handle
            // the general case row by row in the column build.
            for r in 0..rows {
                let g = first + r;
                let (b, p) = (g / len, g % len);
                let row = &mut cols[r * kdim..(r + 1) * kdim];
                for t in 0..width {
                    let q = p as isize + (t * dilation) as isize - left as isize;
                    let seg = &mut row[t * cin..(t + 1) * cin];
                    if q < 0 || q >= len as isize {
                        seg.fill(0.0);
                    } else {
                        let src = (b * len + q as usize) * cin;
                        seg.copy_from_slice(&x[src..src + cin]);
                    }
                }
            }
            if let Some(bias) = bias {
                for row in dst.chunks_mut(cout) {
                    row.copy_from_slice(bias);
                }
            }
            matmul_into(dst, &cols[..rows * kdim], kernel, rows, kdim, cout, bias.is_some());
        },
    );
    out
}

/// The same convolution for mostly-zero input: each output row adds the kernel rows of
/// the non-zero inputs it sees.
#[allow(clippy::too_many_arguments)]
fn conv_sparse(
    x: &[f32],
    len: usize,
    cin: usize,
    kernel: &[f32],
    width: usize,
    cout: usize,
    bias: Option<&[f32]>,
    dilation: usize,
    left: usize,
    out: &mut [f32],
) {
    // Non-zeros of each input position: (channel, value).
    let nz: Vec<Vec<(usize, f32)>> = x
        .par_chunks(cin)
        .map(|row| row.iter().enumerate().filter(|(_, v)| **v != 0.0).map(|(c, v)| (c, *v)).collect())
        .collect();
    out.par_chunks_mut(cout).enumerate().for_each(|(g, dst)| {
        let (b, p) = (g / len, g % len);
        match bias {
            Some(bias) => dst.copy_from_slice(bias),
            None => dst.fill(0.0),
        }
        for t in 0..width {
            let q = p as isize + (t * dilation) as isize - left as isize;
            if q < 0 || q >= len as isize {
                continue;
            }
            for &(c, v) in &nz[b * len + q as usize] {
                let w = &kernel[(t * cin + c) * cout..(t * cin + c + 1) * cout];
                for (d, wv) in dst.iter_mut().zip(w) {
                    *d += v * wv;
                }
            }
        }
    });
}

/// `y = act(x * scale + shift)` per channel over `[rows, ch]`, in parallel.
pub fn scale_shift_map(x: &[f32], ch: usize, scale: &[f32], shift: &[f32], act: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    out.par_chunks_mut(CHUNK * ch).zip(x.par_chunks(CHUNK * ch)).for_each(|(o, i)| {
        for (orow, irow) in o.chunks_mut(ch).zip(i.chunks(ch)) {
            for c in 0..ch {
                orow[c] = act(irow[c] * scale[c] + shift[c]);
            }
        }
    });
    out
}

/// Keras' tanh-approximated GELU.
#[inline]
pub fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)).tanh())
}
