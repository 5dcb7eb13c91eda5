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

/// Output positions per product of the im2col convolution: the packed kernel is reused
/// over more rows while the column block (rows x width x channels) stays within L2.
const CONV_ROWS: usize = 256;

/// True when this CPU runs AVX2 with FMA: the element-wise kernels below are compiled a
/// second time for it (the default x86-64 target has only SSE2's 4 lanes), and chosen at
/// run time so one binary stays portable. The arithmetic is the same (no contraction into
/// FMA), so both versions give the same bits.
#[inline]
fn wide_simd() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Runs `$body` compiled for AVX2 when the CPU has it, else as is. `$body` must only call
/// `#[inline(always)]` code (and closures) to gain from it.
macro_rules! simd_dispatch {
    (fn $name:ident<$F:ident>($($arg:ident: $ty:ty),*) $body:block) => {
        #[inline(always)]
        fn $name<$F: Fn(f32) -> f32>($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn wide<$F: Fn(f32) -> f32>($($arg: $ty),*) $body
            fn narrow<$F: Fn(f32) -> f32>($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            if wide_simd() {
                // SAFETY: the CPU was just checked for the features `wide` is compiled for.
                unsafe { wide($($arg),*) };
                return;
            }
            narrow($($arg),*)
        }
    };
}

simd_dispatch! {
    fn map_rows<F>(out: &mut [f32], x: &[f32], ch: usize, scale: &[f32], shift: &[f32], act: &F) {
        for (orow, irow) in out.chunks_exact_mut(ch).zip(x.chunks_exact(ch)) {
            for (((o, &v), &s), &b) in orow.iter_mut().zip(irow).zip(scale).zip(shift) {
                *o = act(v * s + b);
            }
        }
    }
}

simd_dispatch! {
    fn shift_map_in_place<F>(buf: &mut [f32], ch: usize, shift: &[f32], act: &F) {
        for row in buf.chunks_exact_mut(ch) {
            for (v, &b) in row.iter_mut().zip(shift) {
                *v = act(*v + b);
            }
        }
    }
}

/// Binds `$f` to `act`'s scalar form (with the vectorisable exponential) and evaluates
/// `$body` with it; None for activations without one (softmax).
macro_rules! with_activation {
    ($act:expr, $f:ident => $body:expr) => {{
        use crate::layers::Activation as A;
        match $act {
            A::Linear => {
                let $f = |v: f32| v;
                Some($body)
            }
            A::Relu => {
                let $f = |v: f32| v.max(0.0);
                Some($body)
            }
            A::Gelu => {
                let $f = gelu_tanh;
                Some($body)
            }
            A::Softplus => {
                let $f = softplus;
                Some($body)
            }
            A::Sigmoid => {
                let $f = |v: f32| 1.0 / (1.0 + exp_f32(-v));
                Some($body)
            }
            A::Exp => {
                let $f = exp_f32;
                Some($body)
            }
            other => match other.scalar() {
                Some($f) => Some($body),
                None => None,
            },
        }
    }};
}

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
    if width == 1 {
        return pointwise(x, batch * len, cin, kernel, cout, bias, None, None).expect("only a pre-activation can lack a per-element form");
    }
    // The density from a sample: either path is exact, and counting every input would
    // cost a pass over it for each convolution.
    let sample = x.iter().step_by(97).take(1 << 16);
    let (nonzero, seen) = sample.fold((0usize, 0usize), |(nz, n), v| (nz + (*v != 0.0) as usize, n + 1));
    let mut out = vec![0f32; batch * len * cout];
    if (nonzero as f64) < SPARSE_DENSITY * seen as f64 {
        conv_sparse(x, len, cin, kernel, width, cout, bias, dilation, left, &mut out);
        return out;
    }
    let kdim = width * cin;
    out.par_chunks_mut(CONV_ROWS * cout).enumerate().for_each_init(
        || vec![0f32; CONV_ROWS * kdim],
        |cols, (chunk_idx, dst)| {
            let rows = dst.len() / cout;
            let first = chunk_idx * CONV_ROWS;
            // A chunk never straddles sequences when len is a multiple of CONV_ROWS; handle
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

/// A width-1 convolution (a dense layer per position) over `[rows, cin]`, optionally on
/// `act(x * scale + shift)` — the preceding batch norm and activation — computed block by
/// block into a cache-sized buffer instead of as a whole tensor of its own, and optionally
/// joined as `first + s * conv` (a residual branch's learned scale). None when `act` has no
/// per-element form (softmax).
pub fn pointwise(
    x: &[f32],
    rows: usize,
    cin: usize,
    kernel: &[f32],
    cout: usize,
    bias: Option<&[f32]>,
    pre: Option<(&[f32], &[f32], crate::layers::Activation)>,
    residual: Option<(&[f32], &[f32])>,
) -> Option<Vec<f32>> {
    assert!(x.len() == rows * cin && kernel.len() == cin * cout);
    assert!(residual.is_none_or(|(first, scale)| first.len() == rows * cout && scale.len() == cout));
    let mut out = vec![0f32; rows * cout];
    let run = |block: usize, dst: &mut [f32], src: &[f32]| {
        let m = dst.len() / cout;
        if let Some(bias) = bias {
            for row in dst.chunks_exact_mut(cout) {
                row.copy_from_slice(bias);
            }
        }
        matmul_into(dst, src, kernel, m, cin, cout, bias.is_some());
        if let Some((first, scale)) = residual {
            let first = &first[block * CHUNK * cout..block * CHUNK * cout + dst.len()];
            for (drow, frow) in dst.chunks_exact_mut(cout).zip(first.chunks_exact(cout)) {
                for ((d, &f), &s) in drow.iter_mut().zip(frow).zip(scale) {
                    *d = f + *d * s;
                }
            }
        }
    };
    match pre {
        None => out
            .par_chunks_mut(CHUNK * cout)
            .zip(x.par_chunks(CHUNK * cin))
            .enumerate()
            .for_each(|(i, (dst, src))| run(i, dst, src)),
        Some((scale, shift, act)) => {
            with_activation!(act, f => {
                out.par_chunks_mut(CHUNK * cout).zip(x.par_chunks(CHUNK * cin)).enumerate().for_each_init(
                    || vec![0f32; CHUNK * cin],
                    |buf, (i, (dst, src))| {
                        let buf = &mut buf[..src.len()];
                        map_rows(buf, src, cin, scale, shift, &f);
                        run(i, dst, buf);
                    },
                )
            })?;
        }
    }
    Some(out)
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
    // Non-zeros of each input position, (channel, value), stored flat per block of
    // positions with each position's start.
    let blocks: Vec<(Vec<usize>, Vec<(usize, f32)>)> = x
        .par_chunks(CHUNK * cin)
        .map(|block| {
            let mut starts = Vec::with_capacity(CHUNK + 1);
            let mut entries = Vec::new();
            for row in block.chunks_exact(cin) {
                starts.push(entries.len());
                entries.extend(row.iter().enumerate().filter(|(_, v)| **v != 0.0).map(|(c, v)| (c, *v)));
            }
            starts.push(entries.len());
            (starts, entries)
        })
        .collect();
    let nonzeros = |pos: usize| {
        let (starts, entries) = &blocks[pos / CHUNK];
        let r = pos % CHUNK;
        &entries[starts[r]..starts[r + 1]]
    };
    out.par_chunks_mut(CHUNK * cout).enumerate().for_each(|(chunk, rows)| {
      for (r, dst) in rows.chunks_exact_mut(cout).enumerate() {
        let g = chunk * CHUNK + r;
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
            for &(c, v) in nonzeros(b * len + q as usize) {
                let w = &kernel[(t * cin + c) * cout..(t * cin + c + 1) * cout];
                for (d, wv) in dst.iter_mut().zip(w) {
                    *d += v * wv;
                }
            }
        }
      }
    });
}

/// `y = act(x * scale + shift)` per channel over `[rows, ch]`, in parallel.
pub fn scale_shift_map(x: &[f32], ch: usize, scale: &[f32], shift: &[f32], act: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    assert!(scale.len() == ch && shift.len() == ch && x.len() % ch == 0);
    let mut out = vec![0f32; x.len()];
    out.par_chunks_mut(CHUNK * ch)
        .zip(x.par_chunks(CHUNK * ch))
        .for_each(|(o, i)| map_rows(o, i, ch, scale, shift, &act));
    out
}

/// `act(x * kernel + bias)` for `x [rows, k]`, `kernel [k, n]`: each block of rows is
/// multiplied and activated while it is still in cache, on all threads (the product and
/// a separate activation pass over Shorkie's 5,215-track head cost twice the product alone).
#[allow(clippy::too_many_arguments)]
pub fn dense_act(x: &[f32], rows: usize, k: usize, kernel: &[f32], n: usize, bias: Option<&[f32]>, act: crate::layers::Activation) -> Option<Vec<f32>> {
    assert!(x.len() == rows * k && kernel.len() == k * n && bias.is_none_or(|b| b.len() == n));
    // Rows per block: enough for the product to run at full speed, few enough that both
    // threads get work for a single sequence.
    const BLOCK: usize = 256;
    let zeros;
    let shift = match bias {
        Some(b) => b,
        None => {
            zeros = vec![0f32; n];
            &zeros
        }
    };
    with_activation!(act, f => {
        let mut out = vec![0f32; rows * n];
        out.par_chunks_mut(BLOCK * n).zip(x.par_chunks(BLOCK * k)).for_each(|(dst, src)| {
            let m = dst.len() / n;
            matmul_into(dst, src, kernel, m, k, n, false);
            // The bias joins in the activation's pass: one trip through the block, not two.
            shift_map_in_place(dst, n, shift, &f);
        });
        out
    })
}

/// `first + y * scale` per channel over `[rows, ch]` (a residual branch's learned scale).
pub fn scaled_add(first: &[f32], y: &[f32], ch: usize, scale: &[f32]) -> Vec<f32> {
    assert!(first.len() == y.len() && scale.len() == ch && y.len() % ch == 0);
    let mut out = vec![0f32; y.len()];
    out.par_chunks_mut(CHUNK * ch)
        .zip(first.par_chunks(CHUNK * ch).zip(y.par_chunks(CHUNK * ch)))
        .for_each(|(o, (f, y))| {
            for ((orow, frow), yrow) in o.chunks_exact_mut(ch).zip(f.chunks_exact(ch)).zip(y.chunks_exact(ch)) {
                for (((o, &a), &b), &s) in orow.iter_mut().zip(frow).zip(yrow).zip(scale) {
                    *o = a + b * s;
                }
            }
        });
    out
}

/// Keras `MaxPool1D(pool, padding="same")` over `[batch, len, ch]`: output length
/// ceil(len / pool); TF pads with the extra position on the right and padding never wins,
/// so each window is the positions it covers inside the sequence.
pub fn max_pool_same(x: &[f32], batch: usize, len: usize, ch: usize, pool: usize) -> Vec<f32> {
    assert!(x.len() == batch * len * ch && pool >= 1);
    let out_len = len.div_ceil(pool);
    let mut out = vec![0f32; batch * out_len * ch];
    out.par_chunks_mut(CHUNK * ch)
        .enumerate()
        .for_each(|(chunk, o)| pool_rows(x, len, ch, pool, chunk * CHUNK, o));
    out
}

/// Output rows `first..` of [`max_pool_same`] into `dst` (whole rows of `ch`).
fn pool_rows(x: &[f32], len: usize, ch: usize, pool: usize, first: usize, dst: &mut [f32]) {
    let out_len = len.div_ceil(pool);
    let left = (out_len * pool - len) / 2;
    for (r, orow) in dst.chunks_exact_mut(ch).enumerate() {
        let g = first + r;
        let (b, j) = (g / out_len, g % out_len);
        let start = (j * pool).saturating_sub(left);
        let end = (j * pool + pool - left).min(len);
        let base = b * len * ch;
        orow.copy_from_slice(&x[base + start * ch..base + (start + 1) * ch]);
        for p in start + 1..end {
            for (o, &v) in orow.iter_mut().zip(&x[base + p * ch..base + (p + 1) * ch]) {
                *o = o.max(v);
            }
        }
    }
}

/// `a + b` element-wise, in parallel (candle's own pool for element-wise ops competes with
/// rayon's threads for the same cores).
pub fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    assert_eq!(a.len(), b.len());
    let mut out = vec![0f32; a.len()];
    out.par_chunks_mut(1 << 14).zip(a.par_chunks(1 << 14).zip(b.par_chunks(1 << 14))).for_each(|(o, (a, b))| {
        for ((o, &x), &y) in o.iter_mut().zip(a).zip(b) {
            *o = x + y;
        }
    });
    out
}

/// Keras `LayerNormalization` over the last axis of `[rows, ch]`: two-pass mean and
/// variance per row, `(x - mean) / sqrt(var + eps) * gamma + beta`.
pub fn layer_norm(x: &[f32], ch: usize, gamma: &[f32], beta: &[f32], eps: f32) -> Vec<f32> {
    assert!(gamma.len() == ch && beta.len() == ch && x.len() % ch == 0);
    let mut out = vec![0f32; x.len()];
    out.par_chunks_mut(CHUNK * ch).zip(x.par_chunks(CHUNK * ch)).for_each(|(o, i)| {
        for (orow, irow) in o.chunks_exact_mut(ch).zip(i.chunks_exact(ch)) {
            let mean = irow.iter().sum::<f32>() / ch as f32;
            let var = irow.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / ch as f32;
            let inv = 1.0 / (var + eps).sqrt();
            for (((o, &v), &g), &b) in orow.iter_mut().zip(irow).zip(gamma).zip(beta) {
                *o = (v - mean) * inv * g + b;
            }
        }
    });
    out
}

/// `up` repeated `stride` times along the length, plus `skip`: `[batch, len, ch]` and
/// `[batch, len * stride, ch]` (the U-net join).
pub fn upsample_add(up: &[f32], skip: &[f32], ch: usize, stride: usize) -> Vec<f32> {
    assert!(skip.len() == up.len() * stride && up.len() % ch == 0);
    let mut out = vec![0f32; skip.len()];
    out.par_chunks_mut(CHUNK * ch).zip(skip.par_chunks(CHUNK * ch)).enumerate().for_each(|(chunk, (o, s))| {
        for (r, (orow, srow)) in o.chunks_exact_mut(ch).zip(s.chunks_exact(ch)).enumerate() {
            let src = (chunk * CHUNK + r) / stride;
            for ((o, &a), &b) in orow.iter_mut().zip(&up[src * ch..(src + 1) * ch]).zip(srow) {
                *o = a + b;
            }
        }
    });
    out
}

/// Per-channel "same" convolution over `[batch, len, ch]` with taps `[width, ch]` (a
/// depthwise convolution, depth multiplier 1), summed tap by tap in order as the
/// reference does.
pub fn depthwise_same(x: &[f32], batch: usize, len: usize, ch: usize, taps: &[f32], width: usize) -> Vec<f32> {
    assert!(x.len() == batch * len * ch && taps.len() == width * ch);
    let left = (width - 1) / 2;
    let mut out = vec![0f32; x.len()];
    out.par_chunks_mut(CHUNK * ch).enumerate().for_each(|(chunk, o)| {
        for (r, orow) in o.chunks_exact_mut(ch).enumerate() {
            let g = chunk * CHUNK + r;
            let (b, p) = (g / len, g % len);
            for t in 0..width {
                let q = p as isize + t as isize - left as isize;
                let tap = &taps[t * ch..(t + 1) * ch];
                if q < 0 || q >= len as isize {
                    continue;
                }
                let src = &x[(b * len + q as usize) * ch..(b * len + q as usize + 1) * ch];
                if t == 0 {
                    for ((o, &v), &w) in orow.iter_mut().zip(src).zip(tap) {
                        *o = v * w;
                    }
                } else {
                    for ((o, &v), &w) in orow.iter_mut().zip(src).zip(tap) {
                        *o += v * w;
                    }
                }
            }
        }
    });
    out
}

/// `act(maxpool(x) * scale + shift)`: [`max_pool_same`] with the next layer's inference
/// batch norm and activation applied as each block is pooled; None for softmax.
#[allow(clippy::too_many_arguments)]
pub fn max_pool_scale_shift_act(
    x: &[f32],
    batch: usize,
    len: usize,
    ch: usize,
    pool: usize,
    scale: &[f32],
    shift: &[f32],
    act: crate::layers::Activation,
) -> Option<Vec<f32>> {
    assert!(x.len() == batch * len * ch && pool >= 1 && scale.len() == ch && shift.len() == ch);
    let out_len = len.div_ceil(pool);
    with_activation!(act, f => {
        let mut out = vec![0f32; batch * out_len * ch];
        out.par_chunks_mut(CHUNK * ch).enumerate().for_each_init(
            || vec![0f32; CHUNK * ch],
            |pooled, (chunk, o)| {
                let pooled = &mut pooled[..o.len()];
                pool_rows(x, len, ch, pool, chunk * CHUNK, pooled);
                map_rows(o, pooled, ch, scale, shift, &f);
            },
        );
        out
    })
}

/// `dst[m, n] = lhs[m, k] rhs[k, n]`, `dst` and `lhs` packed row-major, `rhs` read at
/// column stride `rhs_cs` and row stride `rhs_rs`, on this thread.
///
/// # Safety
/// `rhs` with those strides must address k x n values inside one live allocation.
#[allow(clippy::too_many_arguments)]
unsafe fn product_strided_rhs(dst: &mut [f32], lhs: &[f32], rhs: *const f32, rhs_cs: usize, rhs_rs: usize, m: usize, n: usize, k: usize) {
    assert!(dst.len() >= m * n && lhs.len() >= m * k);
    gemm::gemm(
        m, n, k,
        dst.as_mut_ptr(), 1, n as isize, false,
        lhs.as_ptr(), 1, k as isize,
        rhs, rhs_cs as isize, rhs_rs as isize,
        1.0, 1.0, false, false, false, Parallelism::None,
    );
}

/// Shapes of one relative-position attention call.
pub struct AttentionShape {
    pub batch: usize,
    pub len: usize,
    pub heads: usize,
    pub key: usize,
    pub value: usize,
}

/// Enformer/Transformer-XL attention for every (sequence, head) pair in parallel:
/// `softmax((q s + r_w) k^T + shift((q s + r_r) r_k^T)) v`, with `q, k [B, T, H*K]`,
/// `v [B, T, H*V]`, `r_k [2T-1, H*K]`, biases `[H*K]` and `s = K^-1/2`; `[B, T, H*V]`.
/// Query `i` reads key `j` at distance row `T-1-i+j` of `r_k`.
#[allow(clippy::too_many_arguments)]
pub fn relative_attention(q: &[f32], k: &[f32], v: &[f32], r_k: &[f32], r_w: &[f32], r_r: &[f32], shape: &AttentionShape) -> Vec<f32> {
    let AttentionShape { batch, len: t, heads, key, value } = *shape;
    let (hk, hv, dists) = (heads * key, heads * value, 2 * t - 1);
    assert!(q.len() == batch * t * hk && k.len() == q.len() && v.len() == batch * t * hv);
    assert!(r_k.len() == dists * hk && r_w.len() == hk && r_r.len() == hk);
    let scale = (key as f32).powf(-0.5);
    let jobs: Vec<Vec<f32>> = (0..batch * heads)
        .into_par_iter()
        .map(|job| {
            let (b, h) = (job / heads, job % heads);
            let mut qw = vec![0f32; t * key];
            let mut qr = vec![0f32; t * key];
            for i in 0..t {
                let row = &q[(b * t + i) * hk + h * key..(b * t + i) * hk + (h + 1) * key];
                for d in 0..key {
                    let qs = row[d] * scale;
                    qw[i * key + d] = qs + r_w[h * key + d];
                    qr[i * key + d] = qs + r_r[h * key + d];
                }
            }
            let mut content = vec![0f32; t * t];
            let mut relative = vec![0f32; t * dists];
            // SAFETY: k and r_k are read transposed (column stride hk) from this head's key
            // columns: key x t (resp. key x dists) values inside their slices.
            unsafe {
                product_strided_rhs(&mut content, &qw, k.as_ptr().add(b * t * hk + h * key), hk, 1, t, t, key);
                product_strided_rhs(&mut relative, &qr, r_k.as_ptr().add(h * key), hk, 1, t, dists, key);
            }
            for i in 0..t {
                let row = &mut content[i * t..(i + 1) * t];
                let rel = &relative[i * dists + (t - 1 - i)..i * dists + (t - 1 - i) + t];
                for (c, &r) in row.iter_mut().zip(rel) {
                    *c += r;
                }
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0f32;
                for c in row.iter_mut() {
                    *c = exp_f32(*c - max);
                    sum += *c;
                }
                let inv = 1.0 / sum;
                row.iter_mut().for_each(|c| *c *= inv);
            }
            let mut out = vec![0f32; t * value];
            // SAFETY: v is read as this head's [t, value] block with row stride hv.
            unsafe { product_strided_rhs(&mut out, &content, v.as_ptr().add(b * t * hv + h * value), 1, hv, t, value, t) };
            out
        })
        .collect();
    let mut out = vec![0f32; batch * t * hv];
    for (job, head_out) in jobs.iter().enumerate() {
        let (b, h) = (job / heads, job % heads);
        for i in 0..t {
            out[(b * t + i) * hv + h * value..(b * t + i) * hv + (h + 1) * value].copy_from_slice(&head_out[i * value..(i + 1) * value]);
        }
    }
    out
}

/// `e^x` in f32, written so that loops over it vectorise (no branches, no libm calls):
/// Cody–Waite reduction to `r` in [-ln2/2, ln2/2], Cephes' degree-6 polynomial for `e^r`
/// (about 1 ulp), and `2^n` built in the exponent bits. The input is clamped to
/// [-87.3, 88.3], so the result is a normal float between 1.2e-38 and 2.2e38.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // 1.5 * 2^23: adding and subtracting it rounds to the nearest integer in plain SSE2.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.3, 88.3);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5.000_000_1e-1;
    let er = p * r * r + r + 1.0;
    // t = 1.5 * 2^23 + n exactly, so its low mantissa bits are n: 2^n is built from them
    // with integer ops (Rust's saturating float-to-int cast made the loop twice as slow).
    let n_bits = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    er * f32::from_bits((n_bits.wrapping_add(127) as u32) << 23)
}

/// `ln(1 + t)` for `t` in [0, 1], vectorisable: `2 atanh(s)` with `s = t / (2 + t)` <= 1/3,
/// whose odd series through `s^13` is within 2e-8 relative.
#[inline(always)]
fn ln_1p_unit(t: f32) -> f32 {
    let s = t / (2.0 + t);
    let s2 = s * s;
    let mut p = 1.0f32 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    p = p * s2 + 1.0;
    2.0 * s * p
}

/// `ln(1 + e^x)`, stable for every `x`: `max(x, 0) + ln(1 + e^-|x|)`.
#[inline(always)]
pub fn softplus(x: f32) -> f32 {
    x.max(0.0) + ln_1p_unit(exp_f32(-x.abs()))
}

/// Keras' tanh-approximated GELU, `0.5 x (1 + tanh(z))`, as the equal `x / (1 + e^(-2z))`.
#[inline(always)]
pub fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    let z = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
    let g = x / (1.0 + exp_f32(-2.0 * z));
    // Past z = -40 the exact value is below 1e-33 in magnitude; the clamped exponential
    // would otherwise leave x / 2.2e38, not small for huge |x|. (A select, so it vectorises.)
    if z < -40.0 { 0.0 } else { g }
}

/// `act(x * scale + shift)` per channel, with the activation's code inlined into the loop
/// (so it vectorises); None for activations without a scalar form (softmax).
pub fn scale_shift_act(x: &[f32], ch: usize, scale: &[f32], shift: &[f32], act: crate::layers::Activation) -> Option<Vec<f32>> {
    with_activation!(act, f => scale_shift_map(x, ch, scale, shift, f))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Max relative error against f64 over a dense grid of `lo..hi`.
    fn worst(f: impl Fn(f32) -> f32, exact: impl Fn(f64) -> f64, lo: f32, hi: f32) -> f64 {
        let n = 200_000;
        (0..=n)
            .map(|i| {
                let x = lo + (hi - lo) * i as f32 / n as f32;
                let e = exact(x as f64);
                (f(x) as f64 - e).abs() / e.abs().max(1e-30)
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn fast_exp_softplus_and_gelu_are_within_a_few_ulp() {
        let e = worst(exp_f32, f64::exp, -87.0, 88.0);
        assert!(e < 4e-7, "exp {e}");
        let sp = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
        let e = worst(softplus, sp, -80.0, 80.0);
        assert!(e < 4e-7, "softplus {e}");
        let gelu = |x: f64| 0.5 * x * (1.0 + (0.797_884_560_802_865_4 * (x + 0.044715 * x * x * x)).tanh());
        // Relative error on the left tail grows with |z|: the f32 rounding of the cubic in z is
        // amplified by e^(2z), as in any f32 GELU (TensorFlow's included). Near GELU's zero
        // and far left the absolute error is what matters.
        let e = worst(gelu_tanh, gelu, 0.01, 20.0);
        assert!(e < 1e-6, "gelu {e}");
        let e = worst(gelu_tanh, gelu, -5.0, -0.01);
        assert!(e < 4e-6, "gelu left tail {e}");
        let abs = (0..=100_000).map(|i| -30.0 + 60.0 * i as f32 / 1e5).map(|x| (gelu_tanh(x) as f64 - gelu(x as f64)).abs()).fold(0.0, f64::max);
        assert!(abs < 1e-6, "gelu absolute {abs}");
        assert_eq!(exp_f32(-1000.0), exp_f32(-87.3));
        assert!(exp_f32(1000.0).is_finite() && softplus(1000.0) == 1000.0 && softplus(-1000.0) >= 0.0);
        assert!(gelu_tanh(f32::MIN).abs() < 1e-30 && gelu_tanh(-1e30).is_finite());
    }

    #[test]
    fn the_fused_pass_gives_each_element_the_same_bits_whatever_the_width() {
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 20.0
        };
        let rows = 1000;
        let x4: Vec<f32> = (0..rows * 4).map(|_| next()).collect();
        let shift4 = [0.3f32, -0.2, 0.1, 0.05];
        for act in [crate::layers::Activation::Softplus, crate::layers::Activation::Gelu] {
            let y4 = scale_shift_act(&x4, 4, &[1.0; 4], &shift4, act).unwrap();
            for c in 0..4 {
                let x1: Vec<f32> = x4.iter().skip(c).step_by(4).copied().collect();
                let y1 = scale_shift_act(&x1, 1, &[1.0], &[shift4[c]], act).unwrap();
                for r in 0..rows {
                    assert_eq!(y1[r].to_bits(), y4[r * 4 + c].to_bits(), "{act:?} row {r} column {c}: {} vs {}", y1[r], y4[r * 4 + c]);
                }
            }
        }
    }
}
